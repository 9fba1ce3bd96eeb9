//! The virtual-time simulator on activities, waits, signals, queries, races and sagas: exact timings and results, no server.

mod sim_support;

use serde_json::{Value as Json, json};
use sim_support::*;
use stave::ir::StepKind;
use stave::runtime::sim::Simulator;
use stave::runtime::sim::{AttemptOutcome, Event, MockReply, SimStatus};
use std::sync::Arc;

// --- activities: retries and timeouts ------------------------------------------------------

const CHARGE: &str = r#"
stave: 1
workflow: charge
defaults:
  timeout: 10s
steps:
  - id: charge
    activity: payments.charge
    input: { amount: "${ input.amount }" }
    retry: { max_attempts: 4, initial_interval: 1s, backoff: 2.0, max_interval: 3s, non_retryable: [CardDeclined] }
output: "${ steps.charge }"
"#;

#[test]
fn retries_wait_out_the_backoff_capped_at_the_maximum_interval() {
    let sim = simulator(&[CHARGE]);
    let mut mocks = Script::default().on(
        "charge",
        vec![
            err("Flaky", 500),
            err("Flaky", 500),
            err("Flaky", 500),
            ok(json!({"id": "ch_1"}), 100),
        ],
    );
    let result = sim.run(&case("charge", json!({"amount": 5})), &mut mocks);
    assert_eq!(completed(&result), json!({"id": "ch_1"}));
    // Backoff after attempt n: 1s × 2^(n−1), capped at 3s: starts 0, 1.5s, 4s, 7.5s.
    assert_eq!(
        starts(&result),
        [
            ("charge".to_owned(), 1, 0),
            ("charge".to_owned(), 2, 1_500),
            ("charge".to_owned(), 3, 4_000),
            ("charge".to_owned(), 4, 7_500),
        ]
    );
    assert_eq!(result.virtual_ms, 7_600);
    assert_eq!(result.attempts[0].end_ms, Some(500));
    assert_eq!(
        result.attempts[0].outcome,
        AttemptOutcome::Failed {
            error_type: "Flaky".into(),
            message: "Flaky happened".into()
        }
    );
    assert_eq!(mocks.calls[1].input, json!({"amount": 5}));
    assert_eq!(mocks.calls[1].workflow_id, "charge-test");
    assert!(
        result.trace.contains(
            &"t=500ms activity charge attempt 1 failed: Flaky: Flaky happened, retry in 1s"
                .to_owned()
        ),
        "{:#?}",
        result.trace
    );
}

#[test]
fn maximum_attempts_end_with_the_last_error() {
    let sim = simulator(&[CHARGE]);
    let mut mocks = Script::default().on("charge", vec![err("Flaky", 0)]);
    let result = sim.run(&case("charge", json!({"amount": 5})), &mut mocks);
    assert_eq!(failed(&result).0, "Flaky");
    assert_eq!(result.attempts.len(), 4);
    assert_eq!(result.virtual_ms, 1_000 + 2_000 + 3_000);
}

#[test]
fn non_retryable_errors_are_not_retried() {
    let sim = simulator(&[CHARGE]);
    // Listed in the policy's `non_retryable`.
    let mut mocks = Script::default().on("charge", vec![err("CardDeclined", 200)]);
    let result = sim.run(&case("charge", json!({"amount": 5})), &mut mocks);
    assert_eq!(failed(&result).0, "CardDeclined");
    assert_eq!(result.attempts.len(), 1);
    assert_eq!(result.virtual_ms, 200);
    // Flagged non-retryable by the activity itself.
    let flagged = MockReply::Error {
        error_type: "Fatal".into(),
        message: "no".into(),
        details: json!({"code": 7}),
        non_retryable: true,
        delay_ms: 0,
    };
    let mut mocks = Script::default().on("charge", vec![flagged]);
    let result = sim.run(&case("charge", json!({"amount": 5})), &mut mocks);
    assert_eq!(
        failed(&result),
        ("Fatal".into(), "no".into(), json!({"code": 7}))
    );
    assert_eq!(result.attempts.len(), 1);
}

const TIMED: &str = r#"
stave: 1
workflow: timed
steps:
  - id: fetch
    activity: data.fetch
    timeout: 2s
    retry: { max_attempts: 3, initial_interval: 1s, backoff: 2.0 }
output: "${ steps.fetch }"
"#;

#[test]
fn a_start_to_close_timeout_is_retried() {
    let sim = simulator(&[TIMED]);
    let mut mocks = Script::default().on(
        "fetch",
        vec![MockReply::Timeout, ok(json!(1), 5_000), ok(json!(2), 300)],
    );
    let result = sim.run(&case("timed", json!(null)), &mut mocks);
    assert_eq!(completed(&result), json!(2));
    // Attempt 1 times out at 2s, attempt 2 (a 5s reply) at 5s; attempt 3 starts at 7s.
    let at: Vec<u64> = result.attempts.iter().map(|a| a.at_ms).collect();
    assert_eq!(at, [0, 3_000, 7_000]);
    assert_eq!(
        result.attempts[1].outcome,
        AttemptOutcome::TimedOut {
            timeout_type: "StartToClose".into()
        }
    );
    assert_eq!(result.virtual_ms, 7_300);
}

#[test]
fn attempts_that_all_time_out_fail_with_a_timeout() {
    let sim = simulator(&[TIMED]);
    let mut mocks = Script::default().on("fetch", vec![MockReply::Timeout]);
    let result = sim.run(&case("timed", json!(null)), &mut mocks);
    let (error_type, message, details) = failed(&result);
    assert_eq!(error_type, "Timeout");
    assert_eq!(message, "activity StartToClose timeout");
    assert_eq!(
        details,
        json!({"timeout_type": "TIMEOUT_TYPE_START_TO_CLOSE"})
    );
    assert_eq!(result.attempts.len(), 3);
    assert_eq!(result.virtual_ms, 2_000 + 1_000 + 2_000 + 2_000 + 2_000);
}

const BOUNDED: &str = r#"
stave: 1
workflow: bounded
steps:
  - id: sync
    activity: data.sync
    timeout: 2s
    schedule_to_close: 5s
    retry: { initial_interval: 1s, backoff: 1.0 }
"#;

#[test]
fn schedule_to_close_ends_the_retries_with_a_schedule_to_close_timeout() {
    let sim = simulator(&[BOUNDED]);
    let mut mocks = Script::default().on("sync", vec![MockReply::Timeout]);
    let result = sim.run(&case("bounded", json!(null)), &mut mocks);
    let (error_type, message, details) = failed(&result);
    // Attempt 2 starts at 3s; the 5s deadline comes with its own start-to-close end.
    assert_eq!(error_type, "Timeout");
    assert_eq!(
        message,
        "Not enough time to schedule next retry before activity ScheduleToClose timeout, giving up retrying"
    );
    assert_eq!(
        details,
        json!({"timeout_type": "TIMEOUT_TYPE_SCHEDULE_TO_CLOSE"})
    );
    let at: Vec<u64> = result.attempts.iter().map(|a| a.at_ms).collect();
    assert_eq!(at, [0, 3_000]);
    assert_eq!(result.virtual_ms, 5_000);
}

#[test]
fn an_error_with_no_time_left_to_retry_stays_that_error() {
    // The server fails the activity with the attempt's own error (retry state TIMEOUT) when
    // the next attempt would start after the schedule-to-close deadline.
    let sim = simulator(&[BOUNDED]);
    let mut mocks = Script::default().on("sync", vec![err("Flaky", 1_600)]);
    let result = sim.run(&case("bounded", json!(null)), &mut mocks);
    assert_eq!(failed(&result).0, "Flaky");
    let at: Vec<u64> = result.attempts.iter().map(|a| a.at_ms).collect();
    // 0–1.6s, 2.6–4.2s; a third would start at 5.2s, after the 5s deadline.
    assert_eq!(at, [0, 2_600]);
    assert_eq!(result.virtual_ms, 4_200);
    // A retry due exactly at the deadline still starts, and the deadline ends it at once.
    let mut mocks = Script::default().on("sync", vec![err("Flaky", 1_500)]);
    let result = sim.run(&case("bounded", json!(null)), &mut mocks);
    assert_eq!(failed(&result).0, "Timeout");
    let at: Vec<u64> = result.attempts.iter().map(|a| a.at_ms).collect();
    assert_eq!(at, [0, 2_500, 5_000]);
    assert_eq!(
        result.attempts[2].outcome,
        AttemptOutcome::TimedOut {
            timeout_type: "ScheduleToClose".into()
        }
    );
}

// --- signals, waits, queries ---------------------------------------------------------------

#[test]
fn a_day_long_wait_takes_milliseconds() {
    let sim = simulator(&[APPROVAL]);
    let clock = std::time::Instant::now();
    let result = sim.run(&case("approval", json!({})), &mut Script::default());
    let real = clock.elapsed();
    assert_eq!(
        completed(&result),
        json!({"status": "expired", "decision": null})
    );
    assert_eq!(result.virtual_ms, 86_400_000);
    assert!(real.as_millis() < 2_000, "took {real:?}");
}

#[test]
fn a_signal_ends_the_wait_and_one_before_it_is_buffered() {
    let sim = simulator(&[APPROVAL]);
    let mut early = case("approval", json!({}));
    // The activity runs 5s; the signal comes at 1s, before the wait starts.
    early.events = vec![at(1_000, signal("approve", json!({"by": "ann"})))];
    let mut mocks = Script::default().on("prepare", vec![ok(json!("doc"), 5_000)]);
    let result = sim.run(&early, &mut mocks);
    assert_eq!(
        completed(&result),
        json!({"status": "approved", "decision": {"by": "ann"}})
    );
    assert_eq!(result.virtual_ms, 5_000);
    // During the wait.
    let mut late = case("approval", json!({}));
    late.events = vec![at(3_600_000, signal("approve", json!({"by": "bob"})))];
    let result = sim.run(&late, &mut Script::default());
    assert_eq!(completed(&result)["decision"], json!({"by": "bob"}));
    assert_eq!(result.virtual_ms, 3_600_000);
}

#[test]
fn queries_answer_at_their_virtual_time_without_moving_anything() {
    let sim = simulator(&[APPROVAL]);
    let mut c = case("approval", json!({}));
    c.events = vec![
        at(0, query("status")),
        at(2_000, query("status")),
        at(60_000, signal("approve", json!({"by": "cy"}))),
        at(60_000, query("approver")),
        at(90_000, query("status")),
        at(90_000, query("nope")),
    ];
    let mut mocks = Script::default().on("prepare", vec![ok(json!("doc"), 1_000)]);
    let result = sim.run(&c, &mut mocks);
    assert_eq!(result.virtual_ms, 60_000);
    let answers: Vec<(u64, &str, Result<Json, String>)> = result
        .queries
        .iter()
        .map(|q| (q.at_ms, q.name.as_str(), q.result.clone()))
        .collect();
    assert_eq!(answers[0], (0, "status", Ok(json!("new"))));
    assert_eq!(answers[1], (2_000, "status", Ok(json!("waiting"))));
    // A query at the signal's instant sees the task that handled it.
    assert_eq!(answers[2], (60_000, "approver", Ok(json!("cy"))));
    // After the end it answers from the final state.
    assert_eq!(answers[3], (90_000, "status", Ok(json!("approved"))));
    assert!(
        answers[4]
            .2
            .as_ref()
            .is_err_and(|e| e.contains("unknown query `nope`"))
    );
    // Queries are not in history: the same case without them has the same history.
    let mut quiet = c.clone();
    quiet
        .events
        .retain(|e| !matches!(e.event, Event::Query { .. }));
    let mut mocks = Script::default().on("prepare", vec![ok(json!("doc"), 1_000)]);
    let without = sim.run(&quiet, &mut mocks);
    assert_eq!(without.history_lengths, result.history_lengths);
}

#[test]
fn a_wait_nothing_answers_is_stuck() {
    let text = r#"
stave: 1
workflow: forever
signals:
  approve: {}
steps:
  - id: decision
    wait: approve
"#;
    let sim = simulator(&[text]);
    let result = sim.run(&case("forever", json!(null)), &mut Script::default());
    match &result.status {
        SimStatus::Stuck { reason } => {
            assert!(reason.contains("nothing left to happen"), "{reason}");
            assert!(reason.contains("decision"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // With a signal at 10 years and a day, the case gives up at its limit first.
    let mut c = case("forever", json!(null));
    c.events = vec![at(
        c.max_virtual_ms + 86_400_000,
        signal("approve", json!(1)),
    )];
    let result = sim.run(&c, &mut Script::default());
    assert!(
        matches!(&result.status, SimStatus::Stuck { reason } if reason.contains("max_virtual_ms"))
    );
    assert_eq!(result.virtual_ms, c.max_virtual_ms);
}

// --- parallel, saga, cancellation ----------------------------------------------------------

#[test]
fn the_race_loser_is_cancelled() {
    let text = r#"
stave: 1
workflow: racing
defaults:
  timeout: 1m
steps:
  - id: first
    parallel:
      fast: [ { id: quick, activity: lookup.cache } ]
      slow: [ { id: thorough, activity: lookup.db } ]
    race: true
output: "${ steps.first }"
"#;
    let sim = simulator(&[text]);
    let mut mocks = Script::default()
        .on("quick", vec![ok(json!("cached"), 1_000)])
        .on("thorough", vec![ok(json!("fresh"), 10_000)]);
    let result = sim.run(&case("racing", json!(null)), &mut mocks);
    assert_eq!(
        completed(&result),
        json!({"branch": "fast", "result": "cached"})
    );
    assert_eq!(result.virtual_ms, 1_000);
    let loser = &result.attempts[1];
    assert_eq!(loser.step, "thorough");
    assert_eq!(loser.outcome, AttemptOutcome::Cancelled);
    assert_eq!(loser.end_ms, Some(1_000));
}

const SAGA: &str = r#"
stave: 1
workflow: saga
defaults:
  timeout: 1m
  retry: { max_attempts: 1 }
steps:
  - id: reserve
    activity: stock.reserve
    compensate: { activity: stock.release, input: { id: "${ steps.reserve.id }" } }
  - id: charge
    activity: payments.charge
    compensate: { activity: payments.refund, input: { id: "${ steps.charge.id }" } }
  - id: wait_a_bit
    sleep: 1h
  - id: ship
    activity: shipping.ship
"#;

fn saga_mocks() -> Script {
    Script::default()
        .on("stock.reserve", vec![ok(json!({"id": "r1"}), 100)])
        .on("payments.charge", vec![ok(json!({"id": "c1"}), 100)])
}

#[test]
fn a_late_failure_compensates_newest_first() {
    let sim = simulator(&[SAGA]);
    // Keyed by activity type: a compensation runs under its step's name.
    let mut mocks = saga_mocks().on("shipping.ship", vec![err("NoCarrier", 500)]);
    let result = sim.run(&case("saga", json!(null)), &mut mocks);
    assert_eq!(failed(&result).0, "NoCarrier");
    let order: Vec<(&str, u64)> = result
        .attempts
        .iter()
        .map(|a| (a.activity.as_str(), a.at_ms))
        .collect();
    assert_eq!(
        order,
        [
            ("stock.reserve", 0),
            ("payments.charge", 100),
            ("shipping.ship", 3_600_200),
            ("payments.refund", 3_600_700),
            ("stock.release", 3_600_700),
        ]
    );
    assert_eq!(result.attempts[3].input, json!({"id": "c1"}));
    assert_eq!(result.attempts[4].input, json!({"id": "r1"}));
}

#[test]
fn cancellation_stops_the_work_and_compensates() {
    let sim = simulator(&[SAGA]);
    let mut c = case("saga", json!(null));
    c.events = vec![at(60_000, Event::Cancel)];
    let mut mocks = saga_mocks();
    let result = sim.run(&c, &mut mocks);
    assert_eq!(result.status, SimStatus::Cancelled);
    let order: Vec<&str> = result
        .attempts
        .iter()
        .map(|a| a.activity.as_str())
        .collect();
    assert_eq!(
        order,
        [
            "stock.reserve",
            "payments.charge",
            "payments.refund",
            "stock.release"
        ]
    );
    assert_eq!(result.virtual_ms, 60_000);
}

#[test]
fn options_the_server_rejects_fail_the_workflow_task_and_the_case_is_stuck() {
    // The checker refuses a backoff coefficient below 1; a program built otherwise gets the
    // server's answer: the workflow task fails (and is retried forever).
    let text = r#"
stave: 1
workflow: untimed
steps:
  - { id: call, activity: x.y, timeout: 5s, retry: { backoff: 1.5 } }
"#;
    let mut ir = (*program(text)).clone();
    if let StepKind::Activity(call) = &mut ir.steps[0].kind
        && let Some(retry) = call.retry.as_mut()
    {
        retry.backoff = Some(0.5);
    }
    let sim = Simulator::new([Arc::new(ir)]);
    let result = sim.run(&case("untimed", json!(null)), &mut Script::default());
    match &result.status {
        SimStatus::Stuck { reason } => assert!(
            reason.contains("BackoffCoefficient cannot be less than 1"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(result.attempts.is_empty());
}
