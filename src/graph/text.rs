//! Readable label text for the graph: IR values, expressions and durations as a person writes them.

use crate::expr::TemplatePart;
use crate::ir::Value;
use serde_json::Value as Json;

/// The longest label line; longer text is cut with `…` so nodes stay readable.
const MAX_LINE: usize = 60;

/// A value as the author would write it: expressions bare, templates as quoted text with
/// `${ … }`, data as compact JSON-like text.
pub fn value(v: &Value) -> String {
    match v {
        Value::Literal(json) => literal(json),
        Value::Expr(e) => e.to_string(),
        Value::Interp(parts) => {
            let mut out = String::from("\"");
            for part in parts {
                match part {
                    TemplatePart::Text(t) => out.push_str(t),
                    TemplatePart::Expr(e) => {
                        out.push_str("${ ");
                        out.push_str(&e.to_string());
                        out.push_str(" }");
                    }
                }
            }
            out.push('"');
            out
        }
        Value::List(items) => {
            let items: Vec<String> = items.iter().map(value).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Map(entries) => {
            let entries: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{k}: {}", value(v)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
    }
}

/// A condition: like [`value`], but a literal string shows without quotes.
pub fn condition(v: &Value) -> String {
    match v {
        Value::Literal(Json::String(s)) => s.clone(),
        _ => value(v),
    }
}

/// JSON with a space after `,` and `:`, as people write it.
fn literal(json: &Json) -> String {
    match json {
        Json::Array(items) => {
            let items: Vec<String> = items.iter().map(literal).collect();
            format!("[{}]", items.join(", "))
        }
        Json::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", Json::from(k.as_str()), literal(v)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
        scalar => scalar.to_string(),
    }
}

/// Milliseconds as a Stave duration: `24h`, `1h30m`, `500ms`.
pub fn duration(ms: u64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    const DAY: u64 = 86_400_000;
    // Whole days read better as days (`7d`), but a day as `24h`, as authors write it.
    if ms.is_multiple_of(DAY) && ms >= 2 * DAY {
        return format!("{}d", ms / DAY);
    }
    const UNITS: &[(u64, &str)] = &[(3_600_000, "h"), (60_000, "m"), (1_000, "s"), (1, "ms")];
    let mut rest = ms;
    let mut out = String::new();
    for &(size, unit) in UNITS {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

/// Cuts a line to [`MAX_LINE`] characters, marking the cut with `…`.
pub fn clip(line: &str) -> String {
    // Newlines inside values would break the one-line-per-entry layout of labels.
    let line = line.replace(['\n', '\r'], " ");
    if line.chars().count() <= MAX_LINE {
        line
    } else {
        let mut cut: String = line.chars().take(MAX_LINE - 1).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_the_source() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(500), "500ms");
        assert_eq!(duration(7 * 86_400_000), "7d");
        assert_eq!(duration(5_400_000), "1h30m");
        assert_eq!(duration(24 * 3_600_000), "24h");
        assert_eq!(duration(36 * 3_600_000), "36h");
        assert_eq!(duration(90_500), "1m30s500ms");
    }

    #[test]
    fn long_lines_are_clipped() {
        let long = "x".repeat(100);
        let clipped = clip(&long);
        assert_eq!(clipped.chars().count(), MAX_LINE);
        assert!(clipped.ends_with('…'));
        assert_eq!(clip("a\nb"), "a b");
    }

    #[test]
    fn values_read_like_the_source() {
        let v = Value::Map(vec![
            ("a".into(), Value::Literal(Json::from(1))),
            (
                "b".into(),
                Value::List(vec![Value::Literal(Json::from("x"))]),
            ),
        ]);
        assert_eq!(value(&v), "{a: 1, b: [\"x\"]}");
        assert_eq!(
            value(&Value::Literal(
                serde_json::json!({"a": [1, "x"], "b": null})
            )),
            "{\"a\": [1, \"x\"], \"b\": null}"
        );
        assert_eq!(condition(&Value::Literal(Json::from("yes"))), "yes");
        assert_eq!(condition(&Value::Literal(Json::Bool(true))), "true");
    }
}
