//! Building blocks of the schemas: closed mappings and the documented shapes of slots.
//!
//! Slots are durations, names, value slots, step lists, named values.

use super::{
    DURATION_MESSAGE, DURATION_PATTERN, IDENT_MESSAGE, IDENT_PATTERN, STEP_REF,
    TEMPORAL_NAME_MESSAGE, TEMPORAL_NAME_PATTERN,
};
use serde_json::{Map, Value as Json, json};

/// A closed mapping: the given keys, each documented by `field`, nothing else.
pub(super) fn object(keys: &[&str], field: impl Fn(&str) -> Json, required: &[&str]) -> Json {
    let properties: Map<String, Json> = keys.iter().map(|k| (k.to_string(), field(k))).collect();
    let mut schema =
        json!({"type": "object", "properties": properties, "additionalProperties": false});
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

/// Adds a description and examples to a schema.
pub(super) fn doc(mut schema: Json, description: &str, examples: Json) -> Json {
    schema["description"] = json!(description);
    schema["examples"] = examples;
    schema
}

// `patternErrorMessage` is the YAML extension's message for a failed `pattern`; validators
// ignore it.
pub(super) fn duration(description: &str, examples: Json) -> Json {
    doc(
        json!({"type": "string", "pattern": DURATION_PATTERN, "patternErrorMessage": DURATION_MESSAGE}),
        description,
        examples,
    )
}

pub(super) fn string(description: &str, examples: Json) -> Json {
    doc(json!({"type": "string"}), description, examples)
}

pub(super) fn temporal_name(description: &str, examples: Json) -> Json {
    doc(
        json!({"type": "string", "pattern": TEMPORAL_NAME_PATTERN, "patternErrorMessage": TEMPORAL_NAME_MESSAGE}),
        description,
        examples,
    )
}

pub(super) fn ident(description: &str, examples: Json) -> Json {
    doc(
        json!({"type": "string", "pattern": IDENT_PATTERN, "patternErrorMessage": IDENT_MESSAGE}),
        description,
        examples,
    )
}

/// `priority:`: a priority key, an expression, or `{ key, fairness, weight }` (E051 checks
/// the rest).
pub(super) fn priority(description: &str) -> Json {
    let expr = json!({"type": "string", "pattern": "^\\$\\{.*\\}$"});
    let key = doc(
        json!({"oneOf": [{"type": "integer", "minimum": 1}, expr.clone()]}),
        "Priority key: 1 runs first (the server's default range is 1 to 5).",
        json!([1, "${ input.urgent ? 1 : 3 }"]),
    );
    let fairness = doc(
        json!({"type": "string"}),
        "Fairness key (a tenant, a tier): tasks are balanced across keys by weight; at most 64 bytes.",
        json!(["${ input.tenant }", "free-tier"]),
    );
    let weight = doc(
        json!({"oneOf": [{"type": "number", "minimum": 0.001, "maximum": 1000}, expr.clone()]}),
        "Weight of the fairness key (default 1; 0.001 to 1000).",
        json!([2.5]),
    );
    doc(
        json!({"oneOf": [
            {"type": "integer", "minimum": 1},
            expr,
            {"type": "object", "additionalProperties": false,
             "properties": {"key": key, "fairness": fairness, "weight": weight}}
        ]}),
        description,
        json!([1, {"key": 2, "fairness": "${ input.tenant }", "weight": 1.5}]),
    )
}

/// A value slot: any YAML; a string that is exactly `${ expr }` is the expression's value,
/// `${ }` among other text interpolates.
pub(super) fn value(description: &str, examples: Json) -> Json {
    doc(json!({}), description, examples)
}

/// A list of steps (the loader reads an empty entry as no steps).
pub(super) fn steps(description: &str, examples: Json) -> Json {
    doc(
        json!({"type": ["array", "null"], "items": {"$ref": STEP_REF}}),
        description,
        examples,
    )
}

/// A mapping of names to values (the loader reads an empty entry as none).
pub(super) fn named_values(
    description: &str,
    names: Option<&str>,
    values: Json,
    examples: Json,
) -> Json {
    let mut schema = json!({"type": ["object", "null"], "additionalProperties": values});
    if let Some(pattern) = names {
        schema["propertyNames"] = json!({"pattern": pattern});
    }
    doc(schema, description, examples)
}

/// One name or a list of names (error types).
pub(super) fn names(description: &str, examples: Json) -> Json {
    let name = json!({"type": "string", "pattern": TEMPORAL_NAME_PATTERN});
    doc(
        json!({"anyOf": [name, {"type": ["array", "null"], "items": name}]}),
        description,
        examples,
    )
}
