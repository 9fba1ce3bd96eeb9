//! The input declaration, printed compact (`input { … }`) when it can be, else as JSON.
//!
//! The compact form is used only when the schema is exactly one that form writes, so that
//! reading it back gives the same schema.

use super::WIDTH;
use super::values::key;
use serde_json::Value as Json;

/// The fields of `input { a: string, b?: number }` when the schema is exactly what the
/// compact form writes.
pub(super) fn compact_fields(schema: &Json) -> Option<Vec<String>> {
    let obj = schema.as_object()?;
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    if keys != ["type", "properties"] && keys != ["type", "required", "properties"] {
        return None;
    }
    if obj.get("type")? != "object" {
        return None;
    }
    let properties = obj.get("properties")?.as_object()?;
    let required: Vec<&str> = match obj.get("required") {
        Some(r) => r
            .as_array()?
            .iter()
            .map(Json::as_str)
            .collect::<Option<_>>()?,
        None => Vec::new(),
    };
    if obj.contains_key("required") && required.is_empty() {
        return None;
    }
    // The compact form lists `required` in field order, each once.
    let in_order: Vec<&str> = properties
        .keys()
        .map(String::as_str)
        .filter(|k| required.contains(k))
        .collect();
    if in_order != required {
        return None;
    }
    let mut fields = Vec::new();
    for (k, t) in properties {
        let optional = if required.contains(&k.as_str()) {
            ""
        } else {
            "?"
        };
        fields.push(format!("{}{optional}: {}", key(k), compact_type(t)?));
    }
    Some(fields)
}

fn compact_object(schema: &Json) -> Option<String> {
    let fields = compact_fields(schema)?;
    if fields.is_empty() {
        return Some("{}".into());
    }
    Some(format!("{{ {} }}", fields.join(", ")))
}

fn compact_type(t: &Json) -> Option<String> {
    let obj = t.as_object()?;
    if obj.is_empty() {
        return Some("any".into());
    }
    let ty = obj.get("type")?.as_str()?;
    match (obj.len(), ty) {
        (1, "array") => Some("list".into()),
        (1, "object") => Some("map".into()),
        (1, "string" | "number" | "integer" | "boolean" | "null") => Some(ty.into()),
        (2, "array") => {
            let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
            (keys == ["type", "items"]).then_some(())?;
            Some(format!("[{}]", compact_type(obj.get("items")?)?))
        }
        _ => compact_object(t),
    }
}

/// JSON laid out for `input schema`: compact when short, else indented by `indent`.
pub(super) fn json_text(v: &Json, indent: usize) -> String {
    let compact = v.to_string();
    if indent + compact.len() + 13 <= WIDTH {
        return compact;
    }
    let pretty = serde_json::to_string_pretty(v).unwrap_or(compact);
    let pad = " ".repeat(indent);
    pretty.replace('\n', &format!("\n{pad}"))
}
