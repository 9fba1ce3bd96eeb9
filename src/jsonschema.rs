//! A small JSON Schema validator for workflow input; errors name the JSON path.
//!
//! Its JSON types (`type_name`, `matches_type`) are the crate's only definition of them: the
//! checker uses them too, so what lint accepts the validator accepts.
//!
//! Supported keywords: `type` (one or a list; `integer` accepts whole numbers), `required`,
//! `properties`, `additionalProperties` (bool or schema), `items` (a schema), `enum`, `const`,
//! `minimum`/`maximum`, `exclusiveMinimum`/`exclusiveMaximum` (numeric form), `minLength`/
//! `maxLength` (in characters), `minItems`/`maxItems`, `pattern` (unanchored regex, as in JSON
//! Schema), `anyOf`/`oneOf`/`allOf`. Annotations (`description`, `title`, `format`,
//! `$schema`, …) are ignored. Any other keyword (`$ref`, `if`, `uniqueItems`, …) is not
//! checked: [`unchecked`] names it, so the checker says so (E043 in an input schema, W011 in
//! the manifest). `true` accepts anything and `false` nothing.

use std::fmt;

use serde_json::Value as Json;

/// One violation: where in the instance, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// The instance path, starting with the root name: `input.items[2].sku`.
    pub path: String,
    pub message: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for SchemaError {}

/// The keywords `validate` checks.
pub const CHECKED_KEYWORDS: &[&str] = &[
    "type",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "pattern",
    "anyOf",
    "oneOf",
    "allOf",
];

/// Keywords that only annotate (documentation, formats shown to people): never checked, and
/// nothing to warn about.
pub const ANNOTATIONS: &[&str] = &[
    "description",
    "title",
    "format",
    "$schema",
    "$id",
    "$comment",
    "examples",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
];

/// What in `schema` `validate` would not check as written: keywords it does not implement
/// (so they accept anything, `$ref` included) and `pattern`s that are not valid regular
/// expressions (every value would then fail). Each names its place, from `root`.
pub fn unchecked(schema: &Json, root: &str) -> Vec<String> {
    fn walk(s: &Json, path: &str, out: &mut Vec<String>) {
        let Json::Object(map) = s else {
            return;
        };
        for key in map.keys() {
            if CHECKED_KEYWORDS.contains(&key.as_str()) || ANNOTATIONS.contains(&key.as_str()) {
                continue;
            }
            out.push(if key == "$ref" {
                format!("{path}: `$ref` is not resolved, so this part accepts anything; inline the definition")
            } else if key == "$defs" || key == "definitions" {
                format!("{path}: `{key}` is only reachable through `$ref`, which is not resolved; inline the definitions")
            } else {
                format!("{path}: the keyword `{key}` is not checked, so it accepts anything")
            });
        }
        if let Some(Json::String(pattern)) = map.get("pattern")
            && let Err(e) = regex::Regex::new(pattern)
        {
            let why = e.to_string();
            let why = why.lines().last().unwrap_or_default().trim().to_string();
            out.push(format!(
                "{path}: the pattern `{pattern}` is not a valid regular expression ({why})"
            ));
        }
        if let Some(Json::Object(props)) = map.get("properties") {
            for (k, v) in props {
                walk(v, &format!("{path}.{k}"), out);
            }
        }
        if let Some(items) = map.get("items") {
            walk(items, &format!("{path}[]"), out);
        }
        if let Some(extra) = map.get("additionalProperties") {
            walk(extra, &format!("{path}.*"), out);
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            if let Some(Json::Array(options)) = map.get(key) {
                for (i, option) in options.iter().enumerate() {
                    walk(option, &format!("{path} ({key} {})", i + 1), out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(schema, root, &mut out);
    out
}

/// Validates `instance` against `schema`; `root` names the instance in paths (`input`).
/// Returns every violation found, in document order (empty when valid).
pub fn validate(schema: &Json, instance: &Json, root: &str) -> Vec<SchemaError> {
    let mut errors = Vec::new();
    let mut path = root.to_string();
    check(schema, instance, &mut path, &mut errors);
    errors
}

/// Validates and returns the first violation, if any.
pub fn first_error(schema: &Json, instance: &Json, root: &str) -> Option<SchemaError> {
    validate(schema, instance, root).into_iter().next()
}

/// The type names of JSON Schema's `type` keyword.
pub const TYPES: &[&str] = &[
    "object", "array", "string", "number", "integer", "boolean", "null",
];

/// The JSON Schema type name of a value (`integer` for whole numbers).
pub fn type_name(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(n) if is_integer(n) => "integer",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// JSON Schema's integer: a number with a zero fractional part (`1.0` and `1e300` are ones).
fn is_integer(n: &serde_json::Number) -> bool {
    n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
}

/// Whether `value` has the JSON Schema type `name`; an unknown name matches nothing.
pub fn matches_type(name: &str, value: &Json) -> bool {
    match (name, value) {
        ("null", Json::Null) | ("boolean", Json::Bool(_)) | ("number", Json::Number(_)) => true,
        ("integer", Json::Number(n)) => is_integer(n),
        ("string", Json::String(_)) | ("array", Json::Array(_)) | ("object", Json::Object(_)) => {
            true
        }
        _ => false,
    }
}

fn push(errors: &mut Vec<SchemaError>, path: &str, message: String) {
    errors.push(SchemaError {
        path: path.to_string(),
        message,
    });
}

fn short(value: &Json) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 {
        let cut: String = text.chars().take(37).collect();
        format!("{cut}...")
    } else {
        text
    }
}

fn check(schema: &Json, value: &Json, path: &mut String, errors: &mut Vec<SchemaError>) {
    let rules = match schema {
        Json::Bool(true) => return,
        Json::Bool(false) => {
            push(errors, path, "no value is allowed here".into());
            return;
        }
        Json::Object(rules) => rules,
        // A malformed schema is the program's problem, caught by lint; accept rather than
        // fail every run.
        _ => return,
    };

    if let Some(expected) = rules.get("type") {
        let names: Vec<&str> = match expected {
            Json::String(s) => vec![s.as_str()],
            Json::Array(list) => list.iter().filter_map(Json::as_str).collect(),
            _ => Vec::new(),
        };
        if !names.is_empty() && !names.iter().any(|n| matches_type(n, value)) {
            let got = match value {
                Json::Number(_) if names.contains(&"integer") => "number",
                other => type_name(other),
            };
            push(
                errors,
                path,
                format!("expected {}, got {got}", names.join(" or ")),
            );
            // The other keywords would only repeat the type mismatch.
            return;
        }
    }

    if let Some(Json::Array(options)) = rules.get("enum")
        && !options.contains(value)
    {
        let list: Vec<String> = options.iter().map(short).collect();
        push(
            errors,
            path,
            format!("{} is not one of {}", short(value), list.join(", ")),
        );
    }
    if let Some(constant) = rules.get("const")
        && constant != value
    {
        push(
            errors,
            path,
            format!("expected {}, got {}", short(constant), short(value)),
        );
    }

    match value {
        Json::Number(n) => check_number(rules, n, path, errors),
        Json::String(s) => check_string(rules, s, path, errors),
        Json::Array(items) => check_array(rules, items, path, errors),
        Json::Object(map) => check_object(rules, map, path, errors),
        _ => {}
    }

    if let Some(Json::Array(all)) = rules.get("allOf") {
        for sub in all {
            check(sub, value, path, errors);
        }
    }
    if let Some(Json::Array(any)) = rules.get("anyOf") {
        let mut firsts = Vec::new();
        let matched = any.iter().any(|sub| {
            let found = probe(sub, value, path);
            let ok = found.is_empty();
            firsts.extend(found.into_iter().next());
            ok
        });
        if !matched {
            let reasons: Vec<String> = firsts.iter().map(|e| e.message.clone()).collect();
            push(
                errors,
                path,
                format!("matches none of anyOf ({})", reasons.join("; ")),
            );
        }
    }
    if let Some(Json::Array(one)) = rules.get("oneOf") {
        let matching = one
            .iter()
            .filter(|sub| probe(sub, value, path).is_empty())
            .count();
        if matching != 1 {
            push(
                errors,
                path,
                format!(
                    "must match exactly one of oneOf ({} of {} match)",
                    matching,
                    one.len()
                ),
            );
        }
    }
}

fn probe(schema: &Json, value: &Json, path: &str) -> Vec<SchemaError> {
    let mut errors = Vec::new();
    let mut path = path.to_string();
    check(schema, value, &mut path, &mut errors);
    errors
}

fn check_number(
    rules: &serde_json::Map<String, Json>,
    n: &serde_json::Number,
    path: &str,
    errors: &mut Vec<SchemaError>,
) {
    let Some(x) = n.as_f64() else { return };
    let bound = |key: &str| rules.get(key).and_then(Json::as_f64);
    if let Some(min) = bound("minimum")
        && x < min
    {
        push(errors, path, format!("{n} is less than the minimum {min}"));
    }
    if let Some(max) = bound("maximum")
        && x > max
    {
        push(
            errors,
            path,
            format!("{n} is greater than the maximum {max}"),
        );
    }
    if let Some(min) = bound("exclusiveMinimum")
        && x <= min
    {
        push(errors, path, format!("{n} must be greater than {min}"));
    }
    if let Some(max) = bound("exclusiveMaximum")
        && x >= max
    {
        push(errors, path, format!("{n} must be less than {max}"));
    }
}

fn check_string(
    rules: &serde_json::Map<String, Json>,
    s: &str,
    path: &str,
    errors: &mut Vec<SchemaError>,
) {
    let len = s.chars().count() as u64;
    if let Some(min) = rules.get("minLength").and_then(Json::as_u64)
        && len < min
    {
        push(
            errors,
            path,
            format!("string of length {len} is shorter than minLength {min}"),
        );
    }
    if let Some(max) = rules.get("maxLength").and_then(Json::as_u64)
        && len > max
    {
        push(
            errors,
            path,
            format!("string of length {len} is longer than maxLength {max}"),
        );
    }
    if let Some(Json::String(pattern)) = rules.get("pattern") {
        match regex::Regex::new(pattern) {
            Ok(re) if !re.is_match(s) => push(
                errors,
                path,
                format!(
                    "{} does not match the pattern `{pattern}`",
                    short(&Json::from(s))
                ),
            ),
            Ok(_) => {}
            // `unchecked` reports it where the schema is written (E043, W011).
            Err(_) => push(
                errors,
                path,
                format!("the schema's pattern `{pattern}` is not a valid regular expression"),
            ),
        }
    }
}

fn check_array(
    rules: &serde_json::Map<String, Json>,
    items: &[Json],
    path: &mut String,
    errors: &mut Vec<SchemaError>,
) {
    let len = items.len() as u64;
    if let Some(min) = rules.get("minItems").and_then(Json::as_u64)
        && len < min
    {
        push(
            errors,
            path,
            format!("{len} items, fewer than minItems {min}"),
        );
    }
    if let Some(max) = rules.get("maxItems").and_then(Json::as_u64)
        && len > max
    {
        push(
            errors,
            path,
            format!("{len} items, more than maxItems {max}"),
        );
    }
    if let Some(item_schema) = rules.get("items") {
        let base = path.len();
        for (i, item) in items.iter().enumerate() {
            path.push_str(&format!("[{i}]"));
            check(item_schema, item, path, errors);
            path.truncate(base);
        }
    }
}

fn check_object(
    rules: &serde_json::Map<String, Json>,
    map: &serde_json::Map<String, Json>,
    path: &mut String,
    errors: &mut Vec<SchemaError>,
) {
    let base = path.len();
    if let Some(Json::Array(required)) = rules.get("required") {
        for name in required.iter().filter_map(Json::as_str) {
            if !map.contains_key(name) {
                push_field(path, name);
                push(errors, path, "required field is missing".into());
                path.truncate(base);
            }
        }
    }
    let properties = rules.get("properties").and_then(Json::as_object);
    for (name, field) in map {
        push_field(path, name);
        match properties.and_then(|p| p.get(name)) {
            Some(field_schema) => check(field_schema, field, path, errors),
            None => match rules.get("additionalProperties") {
                Some(Json::Bool(false)) => {
                    let known: Vec<&str> = properties
                        .map(|p| p.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    let hint = if known.is_empty() {
                        String::new()
                    } else {
                        format!(" (known fields: {})", known.join(", "))
                    };
                    push(errors, path, format!("unknown field{hint}"));
                }
                Some(extra) => check(extra, field, path, errors),
                None => {}
            },
        }
        path.truncate(base);
    }
}

fn push_field(path: &mut String, name: &str) {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        path.push('.');
        path.push_str(name);
    } else {
        path.push_str(&format!("[{}]", Json::from(name)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errs(schema: Json, value: Json) -> Vec<String> {
        validate(&schema, &value, "input")
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn names_the_field_with_a_wrong_type() {
        let schema = json!({"type": "object", "properties": {"amount": {"type": "number"}}});
        assert_eq!(
            errs(schema, json!({"amount": "12"})),
            ["input.amount: expected number, got string"]
        );
    }

    #[test]
    fn reports_missing_required_and_unknown_fields() {
        let schema = json!({
            "type": "object",
            "required": ["order_id", "amount"],
            "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}},
            "additionalProperties": false
        });
        assert_eq!(
            errs(schema, json!({"order_id": "a", "amonut": 1})),
            [
                "input.amount: required field is missing",
                "input.amonut: unknown field (known fields: order_id, amount)"
            ]
        );
    }

    #[test]
    fn checks_items_with_their_index() {
        let schema = json!({"type": "array", "items": {"type": "object", "required": ["sku"]},
                            "minItems": 1});
        assert_eq!(
            errs(schema.clone(), json!([{"sku": 1}, {}])),
            ["input[1].sku: required field is missing"]
        );
        assert_eq!(
            errs(schema, json!([])),
            ["input: 0 items, fewer than minItems 1"]
        );
    }

    #[test]
    fn integer_accepts_whole_numbers_only() {
        assert!(errs(json!({"type": "integer"}), json!(3)).is_empty());
        assert!(errs(json!({"type": "integer"}), json!(3.0)).is_empty());
        assert_eq!(
            errs(json!({"type": "integer"}), json!(3.5)),
            ["input: expected integer, got number"]
        );
    }

    #[test]
    fn an_integer_is_a_number_with_no_fractional_part() {
        let cases = [
            (json!(1), true),
            (json!(-1), true),
            (json!(1.0), true),
            (json!(1.5), false),
            (json!(u64::MAX), true),
            (json!(1e300), true),
        ];
        for (value, integer) in cases {
            assert_eq!(matches_type("integer", &value), integer, "{value}");
            assert_eq!(type_name(&value) == "integer", integer, "{value}");
            assert!(matches_type("number", &value), "{value}");
        }
    }

    #[test]
    fn checks_bounds_lengths_enum_const_and_pattern() {
        assert_eq!(
            errs(json!({"minimum": 1, "maximum": 3}), json!(5)),
            ["input: 5 is greater than the maximum 3"]
        );
        assert_eq!(
            errs(json!({"minLength": 2}), json!("é")),
            ["input: string of length 1 is shorter than minLength 2"]
        );
        assert_eq!(
            errs(json!({"enum": ["a", "b"]}), json!("c")),
            [r#"input: "c" is not one of "a", "b""#]
        );
        assert_eq!(
            errs(json!({"const": 1}), json!(2)),
            ["input: expected 1, got 2"]
        );
        assert_eq!(
            errs(json!({"pattern": "^[A-Z]+$"}), json!("abc")),
            ["input: \"abc\" does not match the pattern `^[A-Z]+$`"]
        );
    }

    #[test]
    fn combines_schemas() {
        let any = json!({"anyOf": [{"type": "string"}, {"type": "number"}]});
        assert!(errs(any.clone(), json!(1)).is_empty());
        assert_eq!(
            errs(any, json!(true)),
            [
                "input: matches none of anyOf (expected string, got boolean; expected number, got boolean)"
            ]
        );
        let one = json!({"oneOf": [{"type": "number"}, {"type": "integer"}]});
        assert_eq!(
            errs(one, json!(2)),
            ["input: must match exactly one of oneOf (2 of 2 match)"]
        );
        let all = json!({"allOf": [{"type": "number"}, {"minimum": 3}]});
        assert_eq!(errs(all, json!(2)), ["input: 2 is less than the minimum 3"]);
    }

    #[test]
    fn quotes_field_names_that_are_not_identifiers() {
        let schema = json!({"properties": {"a b": {"type": "string"}}});
        assert_eq!(
            errs(schema, json!({"a b": 1})),
            [r#"input["a b"]: expected string, got integer"#]
        );
    }

    #[test]
    fn boolean_schemas() {
        assert!(errs(json!(true), json!({"x": 1})).is_empty());
        assert_eq!(
            errs(json!({"properties": {"x": false}}), json!({"x": 1})),
            ["input.x: no value is allowed here"]
        );
    }

    #[test]
    fn unchecked_keywords_and_bad_patterns_are_named_with_their_place() {
        let schema = json!({
            "type": "object",
            "description": "fine",
            "properties": {
                "email": {"type": "string", "format": "email", "pattern": "(["},
                "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}, "uniqueItems": true},
                "kind": {"anyOf": [{"const": "a"}, {"if": {"const": "b"}}]}
            },
            "$defs": {"tag": {"type": "string"}}
        });
        let found = unchecked(&schema, "input");
        assert_eq!(found.len(), 5, "{found:#?}");
        assert!(
            found[0].starts_with("input: `$defs` is only reachable through `$ref`"),
            "{found:#?}"
        );
        assert!(
            found.iter().any(|f| f
                .starts_with("input.email: the pattern `([` is not a valid regular expression")),
            "{found:#?}"
        );
        assert!(
            found.iter().any(|f| f
                == "input.tags: the keyword `uniqueItems` is not checked, so it accepts anything"),
            "{found:#?}"
        );
        assert!(
            found
                .iter()
                .any(|f| f.starts_with("input.tags[]: `$ref` is not resolved")),
            "{found:#?}"
        );
        assert!(
            found.iter().any(|f| f
                == "input.kind (anyOf 2): the keyword `if` is not checked, so it accepts anything"),
            "{found:#?}"
        );
        assert!(unchecked(&json!({"type": "object", "title": "t", "properties": {"n": {"type": "integer", "minimum": 1}}}), "input").is_empty());
    }
}
