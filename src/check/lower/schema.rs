//! The workflow's `input:` schema: a JSON Schema the checker and the validator can read.

use super::Lowerer;
use crate::diagnostics::{Code, Diagnostic, Span};
use crate::jsonschema::TYPES;
use serde_json::Value as Json;

impl Lowerer<'_> {
    /// E043 for each part of the schema that `Ty::from_json_schema` and `jsonschema` would
    /// misread: unknown type names, a non-list `required`, non-mapping `properties`, keywords
    /// the validator does not check (they would accept anything), invalid `pattern`s.
    pub(super) fn check_schema(&mut self, schema: &Json, span: Span) {
        let mut problems = Vec::new();
        fn walk(s: &Json, path: &str, problems: &mut Vec<String>) {
            let Json::Object(map) = s else {
                if !s.is_boolean() {
                    problems.push(format!("{path} must be a mapping"));
                }
                return;
            };
            match map.get("type") {
                Some(Json::String(t)) if !TYPES.contains(&t.as_str()) => problems.push(format!(
                    "{path}: unknown type `{t}` (use one of {})",
                    TYPES.join(", ")
                )),
                Some(Json::Array(ts)) => {
                    for t in ts {
                        if !t.as_str().is_some_and(|t| TYPES.contains(&t)) {
                            problems.push(format!("{path}: unknown type {t}"));
                        }
                    }
                }
                Some(Json::String(_)) | None => {}
                Some(other) => {
                    problems.push(format!("{path}: `type` must be a string, found {other}"))
                }
            }
            if let Some(req) = map.get("required")
                && !req
                    .as_array()
                    .is_some_and(|r| r.iter().all(Json::is_string))
            {
                problems.push(format!("{path}: `required` must be a list of field names"));
            }
            match map.get("properties") {
                Some(Json::Object(props)) => {
                    for (k, v) in props {
                        walk(v, &format!("{path}.{k}"), problems);
                    }
                }
                Some(_) => problems.push(format!("{path}: `properties` must be a mapping")),
                None => {}
            }
            if let Some(items) = map.get("items") {
                walk(items, &format!("{path}[]"), problems);
            }
        }
        walk(schema, "input", &mut problems);
        problems.extend(crate::jsonschema::unchecked(schema, "input"));
        for p in problems {
            self.error(
                Diagnostic::new(Code::E043, span, format!("invalid input schema: {p}"))
                    .help("use JSON Schema: `type: object`, `required: [..]`, `properties: {..}`"),
            );
        }
    }
}
