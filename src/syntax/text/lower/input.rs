//! The input declaration → JSON Schema, from raw JSON or the compact form.
//!
//! `input schema { JSON }` is taken as written; the compact form
//! `input { id: string, tags?: [string] }` is translated (an unknown type is E064).

use super::{Lower, P, parts};
use crate::diagnostics::{Code, Diagnostic, Spanned, did_you_mean};
use crate::syntax::text::Rule;
use serde_json::{Map, Value as Json, json};

/// The types of the compact input form, and the JSON Schema each stands for.
pub const SCHEMA_TYPES: &[&str] = &[
    "string", "number", "integer", "boolean", "null", "list", "map", "any",
];

impl Lower {
    pub(super) fn schema(&mut self, p: P<'_>) -> Option<Spanned<Json>> {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::json => match serde_json::from_str::<Json>(p.as_str()) {
                Ok(v) => Some(Spanned::new(v, span)),
                Err(e) => {
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::E060,
                            span,
                            format!("the input schema is not valid JSON: {e}"),
                        )
                        .label("not JSON")
                        .help("write JSON: double-quoted strings, no trailing commas"),
                    );
                    None
                }
            },
            _ => Some(Spanned::new(self.schema_object(p), span)),
        }
    }

    fn schema_object(&mut self, p: P<'_>) -> Json {
        let mut required = Vec::new();
        let mut properties = Map::new();
        for field in parts(p) {
            let optional = field
                .clone()
                .into_inner()
                .any(|c| c.as_rule() == Rule::question);
            let mut it = parts(field);
            let (Some(k), Some(t)) = (it.next(), it.next()) else {
                continue;
            };
            let Some(key) = self.key(k) else { continue };
            let ty = self.schema_type(t);
            if properties.contains_key(&key.value) {
                self.twice(key.span, &format!("field `{}`", key.value));
                continue;
            }
            if !optional {
                required.push(Json::String(key.value.clone()));
            }
            properties.insert(key.value, ty);
        }
        object_schema(required, properties)
    }

    fn schema_type(&mut self, p: P<'_>) -> Json {
        let Some(inner) = p.into_inner().next() else {
            return json!({});
        };
        match inner.as_rule() {
            Rule::schema_object => self.schema_object(inner),
            Rule::schema_list => {
                let items = parts(inner)
                    .next()
                    .map_or(json!({}), |t| self.schema_type(t));
                json!({"type": "array", "items": items})
            }
            _ => match compact_type(inner.as_str()) {
                Some(t) => t,
                None => {
                    let other = inner.as_str();
                    let mut d = Diagnostic::new(
                        Code::E064,
                        self.span(&inner),
                        format!("`{other}` is not a type of the compact input form"),
                    )
                    .label("unknown type");
                    d.help = Some(
                        did_you_mean(other, SCHEMA_TYPES.iter().copied()).unwrap_or_else(|| {
                            format!(
                                "use one of {}, `[T]` for a list of T, `{{ … }}` for an object, or \
                             `input schema {{ … }}` with a JSON Schema",
                                SCHEMA_TYPES.join(", ")
                            )
                        }),
                    );
                    self.diagnostics.push(d);
                    json!({})
                }
            },
        }
    }
}

/// The JSON Schema of a type name of the compact input form, if it is one.
pub(in crate::syntax::text) fn compact_type(name: &str) -> Option<Json> {
    Some(match name {
        "list" => json!({"type": "array"}),
        "map" => json!({"type": "object"}),
        "any" => json!({}),
        t @ ("string" | "number" | "integer" | "boolean" | "null") => json!({ "type": t }),
        _ => return None,
    })
}

/// The JSON Schema of a compact `{ … }`: its properties, and the names of those required.
pub(in crate::syntax::text) fn object_schema(
    required: Vec<Json>,
    properties: Map<String, Json>,
) -> Json {
    let mut out = Map::new();
    out.insert("type".into(), json!("object"));
    if !required.is_empty() {
        out.insert("required".into(), Json::Array(required));
    }
    out.insert("properties".into(), Json::Object(properties));
    Json::Object(out)
}
