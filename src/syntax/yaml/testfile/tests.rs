//! Unit tests of the test-file reader: cases, mocks, expectations, and their diagnostics.

use super::*;

fn read(text: &str) -> (Option<TestFile>, Vec<String>) {
    let (file, diagnostics) = load(FileId(0), text);
    (
        file,
        diagnostics
            .iter()
            .map(|d| format!("{}: {}", d.code, d.message))
            .collect(),
    )
}

#[test]
fn a_full_case_reads() {
    let (file, errors) = read(
        r#"stave_test: 1
workflow: order
mocks:
  - activity: payments.charge
    respond: [ { error: { type: Flaky }, delay: 2s }, { output: { id: ch_1 } } ]
cases:
  - name: ships
    input: { amount: 5 }
    mocks:
      - { step: ship, when: "${ input.sku == 'a' }", respond: { timeout: true } }
      - { workflow: review, respond: { output: clean } }
    signals: [ { at: 1h, name: approve, payload: { by: ann } } ]
    queries: [ { at: 2h, name: status, expect_includes: { state: ok } } ]
    expect:
      status: completed
      output_matches: "${ output.n > 1 }"
      duration: 2h
      activities: { payments.charge: { attempts: 2, inputs: [ { amount: 5 } ] } }
"#,
    );
    assert!(errors.is_empty(), "{errors:?}");
    let file = file.expect("file");
    assert_eq!(file.workflow.value, "order");
    assert_eq!(file.mocks[0].responses.len(), 2);
    assert_eq!(file.mocks[0].responses[0].delay_ms, 2000);
    let case = &file.cases[0];
    assert!(matches!(case.mocks[0].when, Some(Matcher::Expr(..))));
    assert_eq!(case.mocks[0].responses[0].kind, ResponseKind::Timeout);
    assert_eq!(case.signals[0].at_ms, 3_600_000);
    assert!(matches!(case.queries[0].expect, Some(Matcher::Includes(_))));
    assert_eq!(
        case.expect.status.as_ref().map(|s| s.value),
        Some(Status::Completed)
    );
    assert_eq!(
        case.expect.duration_ms.as_ref().map(|d| d.value),
        Some(7_200_000)
    );
    assert_eq!(
        case.expect.activities[0].attempts.as_ref().map(|a| a.value),
        Some(2)
    );
}

#[test]
fn every_mistake_is_reported_at_its_place() {
    let (_, errors) = read(
        r#"stave_test: 2
workflow: order
cases:
  - name: x
    mocks:
      - { activity: a, step: b, respond: { output: 1 } }
      - { activity: a }
      - { activity: a, respond: { output: 1, timeout: true } }
    signals: [ { at: soon, name: go } ]
    expect: { status: done, outptu: 1 }
"#,
    );
    let text = errors.join("\n");
    for needle in [
        "E080: unsupported test file version",
        "E080: a mock names exactly one of",
        "E080: the mock of `a` gives no response",
        "E080: a mock response is one of `output:`, `error:` or `timeout: true`, found output and timeout",
        "E008: invalid duration",
        "E080: unknown status `done`",
        "E005: unknown key `outptu`",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn updates_read_with_their_result_or_rejection() {
    let (file, errors) = read(
        r#"stave_test: 1
workflow: report
cases:
  - name: add then a bad add
    input: {}
    updates:
      - { at: 1m, name: add, payload: { amount: 5 }, expect: { total: 5 } }
      - { at: 2m, name: add, payload: { amount: -1 }, rejected: must be positive }
      - { name: both, expect: 1, rejected: no }
"#,
    );
    assert_eq!(
        errors,
        ["E080: an update either answers (`expect`) or is rejected (`rejected`), not both"],
    );
    let case = &file.expect("file").cases[0];
    assert_eq!(case.updates.len(), 3);
    assert_eq!(case.updates[0].at_ms, 60_000);
    assert_eq!(case.updates[0].payload, serde_json::json!({"amount": 5}));
    assert!(matches!(case.updates[0].expect, Some(Matcher::Exact(_))));
    assert_eq!(
        case.updates[1].rejected.as_ref().map(|r| r.value.as_str()),
        Some("must be positive")
    );
}
