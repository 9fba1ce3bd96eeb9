//! The JSON Schema of the YAML form (`stave schema`): editors complete and validate
//! `*.stave.yaml` and `stave.yaml` with it.
//!
//! Built from the loader's own key tables (`syntax::yaml::keys`), so a key added to the loader
//! appears here; `tests/schema.rs` probes the loader with every key to prove both agree.
//! Draft-07, which VS Code's YAML extension reads fully.

mod project;
mod shapes;
mod steps;
mod testfile;
mod workflow;

pub use crate::syntax::yaml::keys::STEP_SHAPES;
use crate::syntax::yaml::keys::{FILE_KEYS, LISTED_WORKFLOW_KEYS, PROJECT_KEYS, WORKFLOW_KEYS};
use project::project_field;
use serde_json::{Map, Value as Json, json};
use shapes::object;
use steps::{catch_object, step_kind, step_union, switch_case};
use workflow::{options_object, retry_object, schedule_object, workflow_field};

/// The JSON Schema dialect of the generated schemas.
pub const DRAFT: &str = "http://json-schema.org/draft-07/schema#";

/// Durations as `syntax::duration::parse` reads them: number-unit pairs (`1h30m`, `1.5s`,
/// `500ms`) or ISO 8601 (`PT30S`). Unit order and overflow are left to lint (E008).
pub const DURATION_PATTERN: &str =
    r"^\s*(([0-9.]+\s*(ms|d|h|m|s)\s*)+|[Pp][0-9.,TtWwDdHhMmSs]+\s*)$";
/// Step ids, variables, loop and error names: they appear in expressions.
pub const IDENT_PATTERN: &str = "^[a-z_][a-z0-9_]*$";
/// Workflow, activity, signal, query, queue and schedule names: Temporal names.
pub const TEMPORAL_NAME_PATTERN: &str = "^[A-Za-z_][A-Za-z0-9_.-]*$";

const STEP_REF: &str = "#/definitions/step";
const DURATION_MESSAGE: &str = "a duration such as 500ms, 30s, 5m, 2h, 1d, 1h30m or PT30S";
const IDENT_MESSAGE: &str =
    "lower-case letters, digits and `_`, starting with a letter or `_` (expressions refer to it)";
const TEMPORAL_NAME_MESSAGE: &str =
    "letters, digits, `_`, `.` and `-`, starting with a letter or `_`";

/// The schema of a workflow file (`*.stave.yaml`).
pub fn workflow_schema() -> Json {
    let mut definitions = Map::new();
    definitions.insert("step".into(), step_union());
    for (kind, keys) in STEP_SHAPES {
        definitions.insert(format!("{kind}_step"), step_kind(kind, keys));
    }
    definitions.insert(
        "activity_options".into(),
        options_object(
            "Activity options inherited by every step of this file (a step's own options win).",
        ),
    );
    definitions.insert("retry".into(), retry_object());
    definitions.insert("catch".into(), catch_object());
    definitions.insert("switch_case".into(), switch_case());
    definitions.insert("schedule".into(), schedule_object());
    let mut listed = object(LISTED_WORKFLOW_KEYS, workflow_field, &["workflow", "steps"]);
    listed["description"] = json!("One workflow of a file that defines several.");
    listed["examples"] = json!([{"workflow": "order-express", "vars": {"tier": "express"}, "steps": [{"use": "fulfil"}]}]);
    definitions.insert("workflow".into(), listed);
    let head = json!({
        "$schema": DRAFT,
        "title": "Stave workflow (*.stave.yaml)",
        "description": "Stave workflows in the YAML form: one workflow (its name, queue, input schema, state, signals, queries and steps) at the top, or several under `workflows:`, and the `fragments:` they share. See docs/language.md.",
    });
    let keys: Vec<&str> = WORKFLOW_KEYS
        .iter()
        .chain(["workflows"].iter())
        .copied()
        .collect();
    let mut body = object(&keys, workflow_field, &[]);
    // A file lists its workflows under `workflows:` and then holds nothing else of one.
    body["dependencies"] = json!({"workflows": {"propertyNames": {"enum": FILE_KEYS}}});
    body["anyOf"] = json!([{"required": ["workflows"]}, {"required": ["workflow", "steps"]}]);
    let mut schema = merge(head, body);
    schema["definitions"] = Json::Object(definitions);
    schema
}

/// The schema of test files (`*.test.yaml`).
pub fn test_schema() -> Json {
    let head = json!({
        "$schema": DRAFT,
        "title": "Stave test file (*.test.yaml)",
        "description": "Test cases of one workflow for `stave test`: input, mocked activities, signals and queries at virtual times, expectations. See docs/testing.md.",
    });
    let mut schema = merge(
        head,
        object(
            crate::syntax::yaml::testfile::FILE_KEYS,
            testfile::file_field,
            &["stave_test", "workflow", "cases"],
        ),
    );
    schema["definitions"] = json!({
        "case": object(testfile::case_keys(), testfile::case_field, &[]),
        "mock": object(testfile::mock_keys(), testfile::mock_field, &["respond"]),
        "response": object(testfile::response_keys(), testfile::response_field, &[]),
    });
    schema
}

/// The schema of the project settings file (`stave.yaml`).
pub fn project_schema() -> Json {
    let head = json!({
        "$schema": DRAFT,
        "title": "Stave project settings (stave.yaml)",
        "description": "Project settings: the Temporal namespace, the task queues, defaults for every workflow, where the activity manifest and the workflow files are.",
    });
    let mut schema = merge(head, object(PROJECT_KEYS, project_field, &[]));
    schema["definitions"] = json!({"retry": retry_object()});
    schema
}

/// `head`'s entries first, then `body`'s: keeps `$schema` and the title on top of the file.
fn merge(head: Json, body: Json) -> Json {
    match (head, body) {
        (Json::Object(mut head), Json::Object(body)) => {
            head.extend(body);
            Json::Object(head)
        }
        (_, body) => body,
    }
}

/// A schema as committed: pretty JSON with a final newline.
pub fn to_text(schema: &Json) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every property of every object in the schema has a description and examples.
    fn undocumented(schema: &Json, path: &str, out: &mut Vec<String>) {
        match schema {
            Json::Object(map) => {
                if let Some(Json::Object(props)) = map.get("properties") {
                    for (key, prop) in props {
                        let documented = prop.get("description").is_some()
                            && prop
                                .get("examples")
                                .is_some_and(|e| e.as_array().is_some_and(|a| !a.is_empty()));
                        if !documented {
                            out.push(format!("{path}.{key}"));
                        }
                    }
                }
                // Examples are data (an input schema has `properties` of its own), not schema.
                for (key, child) in map.iter().filter(|(k, _)| *k != "examples") {
                    undocumented(child, &format!("{path}/{key}"), out);
                }
            }
            Json::Array(items) => items.iter().for_each(|i| undocumented(i, path, out)),
            _ => {}
        }
    }

    #[test]
    fn every_field_has_a_description_and_examples() {
        for schema in [workflow_schema(), project_schema()] {
            let mut missing = Vec::new();
            undocumented(&schema, "#", &mut missing);
            assert!(missing.is_empty(), "undocumented fields: {missing:?}");
        }
    }

    #[test]
    fn the_duration_pattern_accepts_what_the_parser_reads() {
        let pattern = regex::Regex::new(DURATION_PATTERN).expect("valid regex");
        for ok in [
            "500ms", "30s", "5m", "2h", "1d", "1h30m", "1.5h", "1h 30m", "PT30S", "P1D", "pt1h",
        ] {
            assert!(crate::syntax::duration::parse(ok).is_ok(), "{ok} parses");
            assert!(pattern.is_match(ok), "{ok} matches");
        }
        for bad in ["30", "thirty seconds", "5 minutes", ""] {
            assert!(
                crate::syntax::duration::parse(bad).is_err(),
                "{bad} does not parse"
            );
            assert!(!pattern.is_match(bad), "{bad} does not match");
        }
    }
}
