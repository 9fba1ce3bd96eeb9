//! Expected vs actual: JSON matching (exact, inclusion, expression) and the comparison of one
//! case's expectations with what the simulated run did, one [`Mismatch`] per difference.

use serde_json::{Map, Value as Json};

use crate::diagnostics::Span;
use crate::expr::{Budget, Host, Template};
use crate::runtime::sim::{SimResult, SimStatus};
use crate::syntax::yaml::testfile::{Case, Matcher, Status};

/// One expectation the run did not meet.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Mismatch {
    /// What was compared: "status", "output", "query `status` at 2h", "attempts of `charge`".
    pub what: String,
    pub expected: String,
    pub actual: String,
    /// Where the difference is inside the value (`output.items[1].sku`), when it is one.
    pub path: Option<String>,
    /// The expectation in the test file.
    #[serde(skip)]
    pub at: Span,
}

/// Equal as JSON, numbers by value (`1` equals `1.0`).
pub fn json_equal(a: &Json, b: &Json) -> bool {
    first_difference(a, b, false, "").is_none()
}

/// The first place where `actual` fails `expected` — exactly, or by inclusion (every key
/// given is present with a matching value; lists match element by element, same length).
pub fn first_difference(
    expected: &Json,
    actual: &Json,
    inclusion: bool,
    path: &str,
) -> Option<(String, Json, Json)> {
    let differ = || Some((path.to_string(), expected.clone(), actual.clone()));
    match (expected, actual) {
        (Json::Number(a), Json::Number(b)) => {
            let same = match (a.as_i64(), b.as_i64()) {
                (Some(x), Some(y)) => x == y,
                _ => a.as_f64() == b.as_f64(),
            };
            if same { None } else { differ() }
        }
        (Json::Object(e), Json::Object(a)) => {
            for (k, ev) in e {
                let sub = format!("{path}.{k}");
                match a.get(k) {
                    Some(av) => {
                        if let Some(d) = first_difference(ev, av, inclusion, &sub) {
                            return Some(d);
                        }
                    }
                    None => return Some((sub, ev.clone(), Json::Null)),
                }
            }
            if !inclusion && let Some(extra) = a.keys().find(|k| !e.contains_key(*k)) {
                return Some((format!("{path}.{extra}"), Json::Null, a[extra].clone()));
            }
            None
        }
        (Json::Array(e), Json::Array(a)) => {
            if e.len() != a.len() {
                return differ();
            }
            e.iter().zip(a).enumerate().find_map(|(i, (ev, av))| {
                first_difference(ev, av, inclusion, &format!("{path}[{i}]"))
            })
        }
        _ if expected == actual => None,
        _ => differ(),
    }
}

/// Expressions in test files see no clock and no randomness.
struct TestHost;

impl Host for TestHost {
    fn now(&self) -> String {
        "2026-01-01T00:00:00Z".to_string()
    }

    fn uuid(&self) -> String {
        "00000000-0000-4000-8000-000000000000".to_string()
    }
}

/// Evaluates a matcher expression with `bindings`; Err is the message to report.
pub fn eval_bool(template: &Template, bindings: &Map<String, Json>) -> Result<bool, String> {
    let mut budget = Budget::default();
    match crate::expr::eval_template(template, bindings, &TestHost, &mut budget) {
        Ok(Json::Bool(b)) => Ok(b),
        Ok(other) => Err(format!("the expression gave {other}, not true or false")),
        Err(e) => Err(e.message),
    }
}

/// Whether `actual` satisfies `matcher`; on failure, the mismatch (without `what`).
fn matches(
    matcher: &Matcher,
    actual: &Json,
    name: &str,
    extra: &Map<String, Json>,
) -> Option<Mismatch> {
    let failed = |expected: String, path: Option<String>, actual: String| Mismatch {
        what: String::new(),
        expected,
        actual,
        path,
        at: matcher.span(),
    };
    match matcher {
        Matcher::Exact(e) | Matcher::Includes(e) => {
            let inclusion = matches!(matcher, Matcher::Includes(_));
            first_difference(&e.value, actual, inclusion, name).map(|(path, exp, act)| {
                let whole = path == name;
                failed(
                    if whole {
                        pretty(&e.value)
                    } else {
                        pretty(&exp)
                    },
                    (!whole).then_some(path),
                    if whole { pretty(actual) } else { pretty(&act) },
                )
            })
        }
        Matcher::Expr(template, _) => {
            let mut bindings = extra.clone();
            bindings.insert(name.to_string(), actual.clone());
            match eval_bool(template, &bindings) {
                Ok(true) => None,
                Ok(false) => Some(failed(
                    format!("{} to hold", template_text(template)),
                    None,
                    pretty(actual),
                )),
                Err(e) => Some(failed(
                    format!("{} to hold", template_text(template)),
                    None,
                    format!("{} (the expression failed: {e})", pretty(actual)),
                )),
            }
        }
    }
}

fn template_text(template: &Template) -> String {
    match template {
        Template::Expr(e) => format!("${{ {e} }}"),
        _ => "the expression".to_string(),
    }
}

/// A virtual time or duration as files write it (`2h`, `1m30s`, `0s`).
pub fn format_ms(ms: u64) -> String {
    crate::syntax::duration::format(std::time::Duration::from_millis(ms))
}

/// Compact JSON for one-line messages, pretty beyond 80 characters.
pub fn pretty(value: &Json) -> String {
    let compact = value.to_string();
    if compact.len() <= 80 {
        compact
    } else {
        serde_json::to_string_pretty(value).unwrap_or(compact)
    }
}

/// How a run ended, with its output when it completed.
pub fn describe_status(status: &SimStatus) -> String {
    match status {
        SimStatus::Completed { output } => format!("completed with {}", pretty(output)),
        other => other.summary(),
    }
}

/// Every expectation of `case` that `result` does not meet.
pub fn compare(case: &Case, result: &SimResult) -> Vec<Mismatch> {
    compare_within(case, result, 0)
}

/// [`compare`], with `duration` met within `tolerance_ms` either way: on a server, workflow
/// and activity tasks take real time that the simulator's virtual clock does not have.
pub fn compare_within(case: &Case, result: &SimResult, tolerance_ms: u64) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let expect = &case.expect;
    let wanted = match &expect.status {
        Some(s) => s.value,
        None if expect.error_type.is_some() || expect.error_message.is_some() => Status::Failed,
        None => Status::Completed,
    };
    if result.status.name() != wanted.as_str() {
        out.push(Mismatch {
            what: "status".into(),
            expected: wanted.as_str().into(),
            actual: describe_status(&result.status),
            path: None,
            at: expect.status.as_ref().map_or(case.name.span, |s| s.span),
        });
    }
    if let Some(matcher) = &expect.output {
        let actual = match &result.status {
            SimStatus::Completed { output } => Some(output),
            _ => None,
        };
        match actual {
            Some(output) => {
                let mut extra = Map::new();
                extra.insert("input".into(), case.input.value.clone());
                if let Some(mut m) = matches(matcher, output, "output", &extra) {
                    m.what = "output".into();
                    out.push(m);
                }
            }
            None => out.push(Mismatch {
                what: "output".into(),
                expected: "an output".into(),
                actual: describe_status(&result.status),
                path: None,
                at: matcher.span(),
            }),
        }
    }
    if expect.error_type.is_some() || expect.error_message.is_some() {
        let (actual_type, actual_message) = match &result.status {
            SimStatus::Failed {
                error_type,
                message,
                ..
            } => (error_type.as_str(), message.as_str()),
            _ => ("", ""),
        };
        if let Some(t) = &expect.error_type
            && t.value != actual_type
        {
            out.push(Mismatch {
                what: "error type".into(),
                expected: t.value.clone(),
                actual: if actual_type.is_empty() {
                    describe_status(&result.status)
                } else {
                    actual_type.to_string()
                },
                path: None,
                at: t.span,
            });
        }
        if let Some(m) = &expect.error_message
            && !actual_message.contains(&m.value)
        {
            out.push(Mismatch {
                what: "error message".into(),
                expected: format!("a message containing {:?}", m.value),
                actual: if actual_message.is_empty() {
                    describe_status(&result.status)
                } else {
                    format!("{actual_message:?}")
                },
                path: None,
                at: m.span,
            });
        }
    }
    if let Some(d) = &expect.duration_ms
        && d.value.abs_diff(result.virtual_ms) > tolerance_ms
    {
        out.push(Mismatch {
            what: "virtual duration".into(),
            expected: if tolerance_ms == 0 {
                format_ms(d.value)
            } else {
                format!("{} (± {})", format_ms(d.value), format_ms(tolerance_ms))
            },
            actual: format_ms(result.virtual_ms),
            path: None,
            at: d.span,
        });
    }
    for query in &case.queries {
        let Some(matcher) = &query.expect else {
            continue;
        };
        let what = format!("query `{}` at {}", query.name.value, format_ms(query.at_ms));
        let answer = result
            .queries
            .iter()
            .find(|q| q.name == query.name.value && q.at_ms == query.at_ms);
        match answer.map(|q| &q.result) {
            Some(Ok(value)) => {
                if let Some(mut m) = matches(matcher, value, "result", &Map::new()) {
                    m.what = what;
                    out.push(m);
                }
            }
            Some(Err(message)) => out.push(Mismatch {
                what,
                expected: "an answer".into(),
                actual: format!("failed: {message}"),
                path: None,
                at: matcher.span(),
            }),
            None => out.push(Mismatch {
                what,
                expected: "an answer".into(),
                actual: "the run had ended before".into(),
                path: None,
                at: matcher.span(),
            }),
        }
    }
    for (i, update) in case.updates.iter().enumerate() {
        let what = format!(
            "update `{}` at {}",
            update.name.value,
            format_ms(update.at_ms)
        );
        let same = |u: &&crate::syntax::yaml::testfile::Update| {
            u.name.value == update.name.value && u.at_ms == update.at_ms
        };
        let nth = case.updates[..i].iter().filter(same).count();
        let answer = result
            .updates
            .iter()
            .filter(|u| u.name == update.name.value && u.at_ms == update.at_ms)
            .nth(nth)
            .map(|u| &u.result);
        let at = update.span;
        match (&update.expect, &update.rejected, answer) {
            (Some(matcher), _, Some(Ok(value))) => {
                if let Some(mut m) = matches(matcher, value, "result", &Map::new()) {
                    m.what = what;
                    out.push(m);
                }
            }
            (Some(matcher), _, Some(Err(message))) => out.push(Mismatch {
                what,
                expected: "a result".into(),
                actual: format!("rejected: {message}"),
                path: None,
                at: matcher.span(),
            }),
            (_, Some(wanted), Some(Ok(value))) => out.push(Mismatch {
                what,
                expected: format!("rejected with a message containing {:?}", wanted.value),
                actual: format!("accepted, result {value}"),
                path: None,
                at: wanted.span,
            }),
            (_, Some(wanted), Some(Err(message))) if !message.contains(&wanted.value) => {
                out.push(Mismatch {
                    what,
                    expected: format!("rejected with a message containing {:?}", wanted.value),
                    actual: format!("rejected: {message}"),
                    path: None,
                    at: wanted.span,
                })
            }
            (Some(_), _, None) | (_, Some(_), None) => out.push(Mismatch {
                what,
                expected: "an answer".into(),
                actual: "the update was never sent (the case ended before)".into(),
                path: None,
                at,
            }),
            _ => {}
        }
    }
    for activity in &expect.activities {
        let name = &activity.name.value;
        let attempts: Vec<&crate::runtime::sim::AttemptRecord> = result
            .attempts
            .iter()
            .filter(|a| match name.strip_prefix("step:") {
                Some(step) => a.step == step,
                None => &a.activity == name,
            })
            .collect();
        if let Some(n) = &activity.attempts
            && attempts.len() as u64 != n.value
        {
            out.push(Mismatch {
                what: format!("attempts of `{name}`"),
                expected: n.value.to_string(),
                actual: attempts.len().to_string(),
                path: None,
                at: n.span,
            });
        }
        if let Some(inputs) = &activity.inputs {
            for (i, expected) in inputs.iter().enumerate() {
                let what = format!("input of `{name}` attempt {}", i + 1);
                match attempts.get(i) {
                    Some(a) => {
                        if let Some((path, exp, act)) =
                            first_difference(&expected.value, &a.input, true, "input")
                        {
                            out.push(Mismatch {
                                what,
                                expected: pretty(&exp),
                                actual: pretty(&act),
                                path: (path != "input").then_some(path),
                                at: expected.span,
                            });
                        }
                    }
                    None => out.push(Mismatch {
                        what,
                        expected: pretty(&expected.value),
                        actual: "no such attempt".into(),
                        path: None,
                        at: expected.span,
                    }),
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_compare_by_value_and_inclusion_ignores_extra_keys() {
        assert!(json_equal(&json!({"a": 1}), &json!({"a": 1.0})));
        assert!(!json_equal(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
        assert_eq!(
            first_difference(&json!({"a": 1}), &json!({"a": 1, "b": 2}), true, "output"),
            None
        );
        assert_eq!(
            first_difference(
                &json!({"items": [{"sku": "a"}, {"sku": "b"}]}),
                &json!({"items": [{"sku": "a", "n": 1}, {"sku": "c"}]}),
                true,
                "output"
            ),
            Some(("output.items[1].sku".into(), json!("b"), json!("c")))
        );
        assert!(first_difference(&json!([1]), &json!([1, 2]), true, "x").is_some());
    }
}
