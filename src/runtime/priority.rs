//! A file's `priority:`, evaluated, as Temporal's `Priority` message (checked against the server's limits).

use serde_json::Value as Json;
use temporalio_common::protos::temporal::api::common::v1::Priority;

/// Longest fairness key the server accepts, in bytes.
const MAX_FAIRNESS_KEY: usize = 64;

/// The evaluated parts of a priority (`key`, `fairness`, `weight`) as a `Priority`; `Err`
/// says which part is wrong and how.
pub fn to_proto(
    key: Option<&Json>,
    fairness: Option<&Json>,
    weight: Option<&Json>,
) -> Result<Priority, String> {
    let mut out = Priority::default();
    match key {
        None | Some(Json::Null) => {}
        Some(v) => {
            let k = v
                .as_i64()
                .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .ok_or_else(|| format!("a priority key is an integer, not {v}"))?;
            if !(1..=i64::from(i32::MAX)).contains(&k) {
                return Err(format!(
                    "priority key {k} is out of range: 1 runs first (the server's default range is 1 to 5)"
                ));
            }
            out.priority_key = k as i32;
        }
    }
    match fairness {
        None | Some(Json::Null) => {}
        Some(Json::String(s)) if s.len() <= MAX_FAIRNESS_KEY => out.fairness_key = s.clone(),
        Some(Json::String(s)) => {
            return Err(format!(
                "a fairness key is at most {MAX_FAIRNESS_KEY} bytes; this one is {}",
                s.len()
            ));
        }
        Some(v) => return Err(format!("a fairness key is a string, not {v}")),
    }
    match weight {
        None | Some(Json::Null) => {}
        Some(v) => {
            let w = v
                .as_f64()
                .ok_or_else(|| format!("a fairness weight is a number, not {v}"))?;
            if !(0.001..=1000.0).contains(&w) {
                return Err(format!(
                    "fairness weight {w} is out of range: the server accepts 0.001 to 1000"
                ));
            }
            out.fairness_weight = w as f32;
        }
    }
    Ok(out)
}

/// A priority's evaluated parts as one JSON object (how a saga keeps them until it unwinds).
pub fn parts(value: &Json) -> Result<Priority, String> {
    to_proto(value.get("key"), value.get("fairness"), value.get("weight"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parts_map_onto_the_message_within_the_servers_limits() {
        let p = to_proto(Some(&json!(2)), Some(&json!("acme")), Some(&json!(1.5))).unwrap();
        assert_eq!(
            (p.priority_key, p.fairness_key.as_str(), p.fairness_weight),
            (2, "acme", 1.5)
        );
        assert_eq!(to_proto(None, None, None).unwrap(), Priority::default());
        assert!(
            to_proto(Some(&json!(0)), None, None)
                .unwrap_err()
                .contains("out of range")
        );
        assert!(
            to_proto(Some(&json!("high")), None, None)
                .unwrap_err()
                .contains("integer")
        );
        let long = "t".repeat(65);
        assert!(
            to_proto(None, Some(&json!(long)), None)
                .unwrap_err()
                .contains("64 bytes")
        );
        assert!(
            to_proto(None, None, Some(&json!(5000)))
                .unwrap_err()
                .contains("0.001 to 1000")
        );
        assert_eq!(parts(&json!({"key": 1})).unwrap().priority_key, 1);
    }
}
