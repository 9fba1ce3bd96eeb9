//! The virtual-time simulator on children, continue-as-new, execution timeouts, input checks and determinism.

mod sim_support;

use serde_json::{Value as Json, json};
use sim_support::*;
use stave::runtime::sim::{ChildStatus, MockReply, SimStatus};

// --- children ------------------------------------------------------------------------------

const PARENT: &str = r#"
stave: 1
workflow: parent
defaults:
  timeout: 1m
steps:
  - id: review
    workflow: review
    input: { order: "${ input.order }" }
  - id: fraud
    workflow: fraud-check
    input: { order: "${ input.order }" }
output: "${ {'review': steps.review, 'fraud': steps.fraud} }"
"#;

const REVIEW: &str = r#"
stave: 1
workflow: review
defaults:
  timeout: 1m
  retry: { max_attempts: 2 }
steps:
  - id: score
    activity: review.score
    input: { order: "${ input.order }" }
output: "${ {'order': input.order, 'score': steps.score.score} }"
"#;

#[test]
fn a_real_child_runs_in_the_same_virtual_time_and_a_mocked_one_answers() {
    let sim = simulator(&[PARENT, REVIEW]);
    let mut mocks = Script::default()
        .on("score", vec![ok(json!({"score": 0.2}), 2_000)])
        .child("fraud-check", ok(json!({"verdict": "clean"}), 3_000));
    let result = sim.run(&case("parent", json!({"order": "o-1"})), &mut mocks);
    assert_eq!(
        completed(&result),
        json!({"review": {"order": "o-1", "score": 0.2}, "fraud": {"verdict": "clean"}})
    );
    assert_eq!(result.virtual_ms, 5_000);
    // The child's activity ran under the child's id (`{parent id}/{step}` by default).
    assert_eq!(result.attempts.len(), 1);
    assert_eq!(result.attempts[0].workflow_id, "parent-test/review");
    assert_eq!(result.attempts[0].input, json!({"order": "o-1"}));
    let children: Vec<(&str, &str, bool, &ChildStatus, u64)> = result
        .children
        .iter()
        .map(|c| {
            (
                c.workflow_type.as_str(),
                c.workflow_id.as_str(),
                c.mocked,
                &c.status,
                c.at_ms,
            )
        })
        .collect();
    assert_eq!(
        children,
        [
            (
                "review",
                "parent-test/review",
                false,
                &ChildStatus::Completed {
                    output: json!({"order": "o-1", "score": 0.2})
                },
                0
            ),
            (
                "fraud-check",
                "parent-test/fraud",
                true,
                &ChildStatus::Completed {
                    output: json!({"verdict": "clean"})
                },
                2_000
            ),
        ]
    );
    assert!(
        result.coverage.contains_key("review"),
        "{:?}",
        result.coverage
    );
}

#[test]
fn a_child_failure_reaches_the_parent_with_its_type() {
    let sim = simulator(&[PARENT, REVIEW]);
    let mut mocks = Script::default()
        .on("score", vec![err("ScoringDown", 100)])
        .child("fraud-check", ok(json!({}), 0));
    let result = sim.run(&case("parent", json!({"order": "o-2"})), &mut mocks);
    assert_eq!(failed(&result).0, "ScoringDown");
    assert!(matches!(
        &result.children[0].status,
        ChildStatus::Failed { error_type, .. } if error_type == "ScoringDown"
    ));
    // A mocked child's error is the parent's error too.
    let mut mocks = Script::default()
        .on("score", vec![ok(json!({"score": 0}), 0)])
        .child("fraud-check", err("Suspicious", 10));
    let result = sim.run(&case("parent", json!({"order": "o-3"})), &mut mocks);
    assert_eq!(failed(&result).0, "Suspicious");
}

#[test]
fn an_unknown_child_type_that_is_not_mocked_is_stuck() {
    let sim = simulator(&[PARENT, REVIEW]);
    let mut mocks = Script::default().on("score", vec![ok(json!({"score": 0}), 0)]);
    let result = sim.run(&case("parent", json!({"order": "o-4"})), &mut mocks);
    match &result.status {
        SimStatus::Stuck { reason } => assert!(reason.contains("`fraud-check`"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_child_with_a_taken_id_fails_to_start() {
    let text = r#"
stave: 1
workflow: clash
defaults:
  timeout: 1m
steps:
  - try:
      - id: twin
        workflow: review
        workflow_id: "${ workflow.id }"
    catch:
      - errors: [ChildWorkflowStartFailed]
        steps: [ { return: "clash" } ]
"#;
    let sim = simulator(&[text, REVIEW]);
    let result = sim.run(&case("clash", json!(null)), &mut Script::default());
    assert_eq!(completed(&result), json!("clash"));
    assert_eq!(
        result.children[0].status,
        ChildStatus::StartFailed {
            cause: "WorkflowAlreadyExists".into()
        }
    );
}

// --- continue-as-new, timeouts, input ------------------------------------------------------

const POLLER: &str = r#"
stave: 1
workflow: poller
continue_as_new_after: 40
vars: { n: 0 }
defaults:
  timeout: 1m
steps:
  - id: poll
    while: "${ vars.n < 10 }"
    max_iterations: 100
    steps:
      - id: check
        activity: status.check
        input: { n: "${ vars.n }" }
      - set: { n: "${ vars.n + 1 }" }
output: "${ {'n': vars.n, 'checks': steps.poll} }"
"#;

#[test]
fn continue_as_new_is_followed_transparently() {
    let sim = simulator(&[POLLER]);
    let mut mocks = Script::default().on("check", vec![ok(json!("up"), 1_000)]);
    let result = sim.run(&case("poller", json!(null)), &mut mocks);
    assert_eq!(completed(&result)["n"], json!(10));
    assert!(
        result.runs > 1,
        "{} runs\n{}",
        result.runs,
        result.trace.join("\n")
    );
    assert_eq!(result.history_lengths.len() as u32, result.runs);
    // Each run stops soon after passing the threshold.
    assert!(
        result.history_lengths.iter().all(|h| *h <= 60),
        "{:?}",
        result.history_lengths
    );
    let inputs: Vec<Json> = result
        .attempts
        .iter()
        .map(|a| a.input["n"].clone())
        .collect();
    assert_eq!(inputs, (0..10).map(|n| json!(n)).collect::<Vec<_>>());
    assert!(result.trace.iter().any(|l| l.contains("continued as new")));
}

#[test]
fn the_execution_timeout_ends_the_workflow() {
    let text = r#"
stave: 1
workflow: slow
timeout: 1h
steps:
  - sleep: 2h
"#;
    let sim = simulator(&[text]);
    let result = sim.run(&case("slow", json!(null)), &mut Script::default());
    assert_eq!(result.status, SimStatus::TimedOut);
    assert_eq!(result.virtual_ms, 3_600_000);
}

#[test]
fn input_failing_the_schema_is_rejected() {
    let text = r#"
stave: 1
workflow: typed
input:
  type: object
  required: [order_id]
  properties: { order_id: { type: string } }
steps:
  - set: {}
"#;
    let sim = simulator(&[text]);
    let result = sim.run(
        &case("typed", json!({"order_id": 7})),
        &mut Script::default(),
    );
    match &result.status {
        SimStatus::Rejected { message } => {
            assert!(message.contains("input.order_id"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(result.attempts.is_empty());
    let result = sim.run(&case("typo", json!({})), &mut Script::default());
    assert!(
        matches!(&result.status, SimStatus::Rejected { message } if message.contains("`typo`"))
    );
}

#[test]
fn the_same_case_gives_the_same_result() {
    let sim = simulator(&[PARENT, REVIEW, APPROVAL]);
    let mut c = case("parent", json!({"order": "o-9"}));
    c.events = vec![at(500, query("__stave_status"))];
    let play = || {
        let mut mocks = Script::default()
            .on(
                "score",
                vec![err("Flaky", 300), ok(json!({"score": 1}), 700)],
            )
            .child("fraud-check", ok(json!({"verdict": "ok"}), 1_500));
        sim.run(&c, &mut mocks)
    };
    let first = play();
    assert_eq!(first, play());
    assert!(!first.trace.is_empty());
    let mut a = case("approval", json!({}));
    a.events = vec![
        at(10, signal("approve", json!({"by": "x"}))),
        at(10, query("status")),
    ];
    let approval = || sim.run(&a, &mut Script::default());
    assert_eq!(approval(), approval());
}

const WAITER: &str = r#"
stave: 1
workflow: waiter
defaults:
  timeout: 1m
  retry: { max_attempts: 1 }
signals:
  go: {}
steps:
  - id: setup
    activity: env.setup
    compensate: { activity: env.teardown }
  - id: hold
    wait: go
"#;

#[test]
fn a_cancelled_child_winds_down_on_its_own() {
    let racer = r#"
stave: 1
workflow: racer
defaults:
  timeout: 1m
steps:
  - id: first
    parallel:
      quick: [ { id: fast, activity: quick.check } ]
      long: [ { id: helper, workflow: waiter } ]
    race: true
  - id: after
    activity: quick.after
output: "${ steps.first.branch }"
"#;
    let sim = simulator(&[racer, WAITER]);
    let mut mocks = Script::default()
        .on("fast", vec![ok(json!(1), 5_000)])
        .on("after", vec![ok(json!(2), 10_000)]);
    let result = sim.run(&case("racer", json!(null)), &mut mocks);
    assert_eq!(completed(&result), json!("quick"));
    assert_eq!(result.virtual_ms, 15_000);
    assert_eq!(result.children[0].status, ChildStatus::Cancelled);
    let runs: Vec<(&str, &str, u64)> = result
        .attempts
        .iter()
        .map(|a| (a.activity.as_str(), a.workflow_id.as_str(), a.at_ms))
        .collect();
    assert_eq!(
        runs,
        [
            ("quick.check", "racer-test", 0),
            ("env.setup", "racer-test/helper", 0),
            ("quick.after", "racer-test", 5_000),
            ("env.teardown", "racer-test/helper", 5_000),
        ]
    );
}

#[test]
fn children_get_their_parent_close_policy() {
    let boss = r#"
stave: 1
workflow: boss
timeout: 1h
steps:
  - id: all
    parallel:
      a: [ { id: term, workflow: waiter } ]
      b: [ { id: left, workflow: waiter, parent_close: abandon } ]
      c: [ { id: asked, workflow: waiter, parent_close: request_cancel } ]
"#;
    let sim = simulator(&[boss, WAITER]);
    let result = sim.run(&case("boss", json!(null)), &mut Script::default());
    assert_eq!(result.status, SimStatus::TimedOut);
    assert_eq!(result.virtual_ms, 3_600_000);
    let statuses: Vec<(&str, &ChildStatus)> = result
        .children
        .iter()
        .map(|c| (c.workflow_id.as_str(), &c.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("boss-test/term", &ChildStatus::Terminated),
            ("boss-test/left", &ChildStatus::Running),
            ("boss-test/asked", &ChildStatus::Cancelled),
        ]
    );
    // Only the child asked to cancel ran its compensation.
    let teardowns: Vec<(&str, u64)> = result
        .attempts
        .iter()
        .filter(|a| a.activity == "env.teardown")
        .map(|a| (a.workflow_id.as_str(), a.at_ms))
        .collect();
    assert_eq!(teardowns, [("boss-test/asked", 3_600_000)]);
}

#[test]
fn a_child_retry_policy_starts_new_runs() {
    let text = r#"
stave: 1
workflow: retrier
steps:
  - id: job
    workflow: worker
    retry: { max_attempts: 3, initial_interval: 2s }
output: "${ steps.job }"
"#;
    let worker = r#"
stave: 1
workflow: worker
defaults:
  timeout: 1m
  retry: { max_attempts: 1 }
steps:
  - id: work
    activity: job.work
output: "${ {'attempt': workflow.attempt, 'result': steps.work} }"
"#;
    let sim = simulator(&[text, worker]);
    let mut mocks = Script::default().queue(
        "work",
        vec![err("Broken", 0), err("Broken", 0), ok(json!(7), 0)],
    );
    let result = sim.run(&case("retrier", json!(null)), &mut mocks);
    assert_eq!(completed(&result), json!({"attempt": 3, "result": 7}));
    // Backoff 2s, then 4s, between runs of the child.
    let at: Vec<u64> = result.attempts.iter().map(|a| a.at_ms).collect();
    assert_eq!(at, [0, 2_000, 6_000]);
    assert_eq!(
        result.children[0].status,
        ChildStatus::Completed {
            output: json!({"attempt": 3, "result": 7})
        }
    );
}

#[test]
fn a_mocked_child_that_never_answers_times_out() {
    let text = r#"
stave: 1
workflow: asker
steps:
  - try:
      - id: ask
        workflow: oracle
        timeout: 30s
    catch:
      - errors: [Timeout]
        steps: [ { return: "${ err.type }" } ]
"#;
    let sim = simulator(&[text]);
    let mut mocks = Script::default().child("oracle", MockReply::Timeout);
    let result = sim.run(&case("asker", json!(null)), &mut mocks);
    assert_eq!(completed(&result), json!("Timeout"));
    assert_eq!(result.virtual_ms, 30_000);
    assert_eq!(result.children[0].status, ChildStatus::TimedOut);
}

#[test]
fn runs_are_at_least_a_second_apart() {
    // Each run's iterations take no virtual time: the server still spaces runs by 1s.
    let sim = simulator(&[POLLER]);
    let result = sim.run(&case("poller", json!(null)), &mut Script::default());
    assert_eq!(completed(&result)["n"], json!(10));
    assert!(result.runs > 1);
    assert_eq!(result.virtual_ms, u64::from(result.runs - 1) * 1_000);
}

#[test]
fn history_length_counts_events_like_the_server() {
    // 1 started; task 1: scheduled, started, completed, 2 version markers, memo, activity
    // scheduled; activity started, completed; task 2: 3; workflow completed.
    let text = r#"
stave: 1
workflow: one
steps:
  - { id: only, activity: x.y, timeout: 5s }
"#;
    let sim = simulator(&[text]);
    let result = sim.run(&case("one", json!(null)), &mut Script::default());
    assert_eq!(result.history_lengths, [14]);
    // A signal adds its event and a task; a timer its start and fire, then a task.
    let text = r#"
stave: 1
workflow: two
signals:
  go: {}
steps:
  - { id: hold, wait: go }
  - sleep: 1m
"#;
    let sim = simulator(&[text]);
    let mut c = case("two", json!(null));
    c.events = vec![at(5, signal("go", json!(null)))];
    let result = sim.run(&c, &mut Script::default());
    assert_eq!(result.history_lengths, [7 + 4 + 1 + 4 + 1]);
    // A signal at the start joins the first task (as signal-with-start does).
    c.events = vec![at(0, signal("go", json!(null)))];
    let result = sim.run(&c, &mut Script::default());
    assert_eq!(result.history_lengths, [1 + 1 + 6 + 1 + 1 + 3 + 1]);
    assert_eq!(result.virtual_ms, 60_000);
}

#[test]
fn closing_a_deep_chain_of_children_does_not_recurse() {
    // Each level starts the next and waits; the top's timeout terminates the whole chain.
    let text = r#"
stave: 1
workflow: nest
timeout: 1h
steps:
  - id: deeper
    if: "${ input.depth > 0 }"
    workflow: nest
    input: { depth: "${ input.depth - 1 }" }
  - sleep: 2h
"#;
    let sim = simulator(&[text]);
    let result = sim.run(
        &case("nest", json!({"depth": 3000})),
        &mut Script::default(),
    );
    assert_eq!(result.status, SimStatus::TimedOut);
    assert_eq!(result.children.len(), 3000);
    assert!(
        result
            .children
            .iter()
            .all(|c| c.status == ChildStatus::Terminated)
    );
}
