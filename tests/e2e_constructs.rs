//! End to end on a real dev server: every construct, retries, saga order, signals and queries
//! through the `stave` binary, and the client commands' errors.
//!
//! One server and one in-process worker (with the test activities) serve every test of this
//! binary; each test uses its own workflow ids, which also key what the activities record.

mod support;

use serde_json::{Value as Json, json};
use stave::runtime::client::{Client, Finished, Outcome};
use std::time::{Duration, Instant};
use support::{SharedWorker, TestServer, run_stave, stdout_ok, unique_id, wait_until};

const RESULT_LIMIT: Duration = Duration::from_secs(60);

fn worker() -> &'static SharedWorker {
    SharedWorker::get()
}

/// Starts `workflow` with `input` through the library client, waits, returns how it ended.
async fn run(workflow: &str, id: &str, input: Json) -> Finished {
    let client = worker().client().await;
    worker().start(&client, workflow, id, input).await;
    result(&client, id).await
}

async fn result(client: &Client, id: &str) -> Finished {
    client
        .result(id, None, Some(RESULT_LIMIT))
        .await
        .unwrap_or_else(|e| panic!("no result for {id}: {e}\n{}", worker().log_hint()))
}

/// Keeps the run's history for the replay tests (only with `STAVE_RECORD_HISTORIES=1`).
fn record(id: &str, name: &str) {
    support::record_history(TestServer::shared(), id, name, worker().project.path());
}

fn completed(finished: &Finished) -> &Json {
    match &finished.outcome {
        Outcome::Completed { result } => result,
        other => panic!(
            "{} did not complete: {other:?}\n{}",
            finished.workflow_id,
            worker().log_hint()
        ),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn activity_set_output_and_query() {
    let id = unique_id("basics");
    let finished = run("e2e-basics", &id, json!({"name": "ada"})).await;
    assert_eq!(
        completed(&finished),
        &json!({"greeting": "hello ada", "status": "echoed", "type": "e2e-basics"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn if_else_switch_and_skipped_guard() {
    let big_red = run(
        "e2e-branches",
        &unique_id("branches"),
        json!({"n": 42, "color": "red"}),
    )
    .await;
    assert_eq!(
        completed(&big_red),
        &json!({"size": "big", "kind": "warm", "negative": null})
    );
    let small_other = run(
        "e2e-branches",
        &unique_id("branches"),
        json!({"n": 3, "color": "green"}),
    )
    .await;
    assert_eq!(
        completed(&small_other),
        &json!({"size": "small", "kind": "other", "negative": null})
    );
    let negative_blue = run(
        "e2e-branches",
        &unique_id("branches"),
        json!({"n": -1, "color": "blue"}),
    )
    .await;
    assert_eq!(
        completed(&negative_blue),
        &json!({"size": "small", "kind": "cold", "negative": "negative"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn parallel_and_foreach_keep_order_under_the_concurrency_cap() {
    let id = unique_id("fanout");
    let items = json!([1, 2, 3, 4, 5, 6]);
    let finished = run("e2e-fanout", &id, json!({ "items": items })).await;
    assert_eq!(
        completed(&finished),
        &json!({
            "both": {"left": {"side": "left"}, "right": {"side": "right"}},
            "each": [10, 20, 30, 40, 50, 60],
        })
    );
    // Six 500 ms bodies with `concurrency: 2`: two at a time, never more.
    assert_eq!(worker().journal.max_in_flight(&id), 2);
    record(&id, "e2e-fanout");
}

#[tokio::test(flavor = "multi_thread")]
async fn while_loop_then_durable_timer() {
    let id = unique_id("loop");
    let started = Instant::now();
    let finished = run("e2e-loop", &id, json!({"until": 4})).await;
    assert_eq!(completed(&finished), &json!({"count": 4, "last": 300}));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the 1s sleep did not wait"
    );
    // The Web UI's timeline reads as the file does: each activity and timer carries a summary
    // (Temporal user metadata) naming its step.
    let history = support::runs::history_json(TestServer::shared(), &id);
    let summaries: Vec<(String, String)> = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| {
            let data = e["userMetadata"]["summary"]["data"].as_str()?;
            let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, data)
                .expect("base64");
            let text: Json = serde_json::from_slice(&bytes).expect("a JSON summary");
            Some((
                e["eventType"].as_str().unwrap_or_default().to_string(),
                text.as_str().unwrap_or_default().to_string(),
            ))
        })
        .collect();
    let scheduled = "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED".to_string();
    let mut expected: Vec<(String, String)> =
        (0..4).map(|_| (scheduled.clone(), "tick".into())).collect();
    expected.push(("EVENT_TYPE_TIMER_STARTED".into(), "sleep 1s".into()));
    assert_eq!(summaries, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn signals_waits_and_queries_through_the_binary() {
    let server = TestServer::shared();
    let project = worker().project.path_string();
    let id = unique_id("signals");
    stdout_ok(&run_stave(
        server,
        &["start", "e2e-signals", "--project", &project, "--id", &id],
    ));
    let query = || {
        let out = run_stave(server, &["query", &id, "state", "--project", &project]);
        serde_json::from_slice::<Json>(&out.stdout).ok()
    };
    for _ in 0..2 {
        stdout_ok(&run_stave(
            server,
            &["signal", &id, "note", "--project", &project],
        ));
    }
    wait_until("both notes to be handled", RESULT_LIMIT, || {
        query().filter(|s| s["notes"] == json!(2))
    });
    // Temporal's own CLI (as the Web UI) reads the workflow's definition and current details
    // through the built-in `__temporal_workflow_metadata` query.
    let metadata = &support::runs::workflow_metadata(server, &id);
    let definition = &metadata["definition"];
    assert_eq!(definition["type"], json!("e2e-signals"), "{metadata:#}");
    let names = |key: &str| -> Vec<String> {
        definition[key]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| d["name"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(names("signalDefinitions"), ["approve", "note", "late"]);
    assert_eq!(names("queryDefinitions"), ["state", "__stave_status"]);
    assert_eq!(
        definition["signalDefinitions"][0]["description"],
        json!("sets approved, approver")
    );
    assert_eq!(
        definition["queryDefinitions"][0]["description"],
        json!("`{'approved': vars.approved, 'approver': vars.approver, 'notes': vars.notes}`")
    );
    let details = metadata["currentDetails"].as_str().unwrap_or_default();
    assert!(details.contains("approval"), "{metadata:#}");
    // A signal whose handler leaves `until` false does not end the wait.
    stdout_ok(&run_stave(
        server,
        &[
            "signal",
            &id,
            "approve",
            "--input",
            r#"{"ok": false, "by": "bob"}"#,
        ],
    ));
    let state = wait_until("bob's refusal to be handled", RESULT_LIMIT, || {
        query().filter(|s| s["approver"] == json!("bob"))
    });
    assert_eq!(state["approved"], json!(false));
    stdout_ok(&run_stave(
        server,
        &[
            "signal",
            &id,
            "approve",
            "--input",
            r#"{"ok": true, "by": "ana"}"#,
        ],
    ));
    let out = run_stave(server, &["result", &id, "--timeout", "60", "--json"]);
    let finished: Json = serde_json::from_str(&stdout_ok(&out)).expect("result --json");
    assert_eq!(finished["status"], json!("completed"));
    assert_eq!(
        finished["result"],
        json!({
            "approver": "ana",
            "notes": 2,
            "approval": {"ok": true, "by": "ana"},
            "buffered": null,
            "optional": null,
            "timed_out": "WaitTimeout",
            "late": false,
        })
    );
    record(&id, "e2e-signals");
}

#[tokio::test(flavor = "multi_thread")]
async fn updates_validate_answer_and_end_a_wait_through_the_binary() {
    let server = TestServer::shared();
    let project = worker().project.path_string();
    let id = unique_id("updates");
    stdout_ok(&run_stave(
        server,
        &["start", "e2e-updates", "--project", &project, "--id", &id],
    ));
    let update = |name: &str, input: &str| {
        run_stave(
            server,
            &["update", &id, name, "--input", input, "--project", &project],
        )
    };
    // The validator says no: exit 4, its message on stderr, nothing in history.
    let rejected = update("add", r#"{"amount": -3}"#);
    let stderr = String::from_utf8_lossy(&rejected.stderr);
    assert_eq!(rejected.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("update `add` rejected")
            && stderr.contains("amount must be positive, got -3"),
        "{stderr}"
    );
    // Accepted: the handler sets the var and answers.
    let added = stdout_ok(&update("add", r#"{"amount": 5}"#));
    assert_eq!(
        serde_json::from_str::<Json>(&added).expect("update prints JSON"),
        json!({"total": 5})
    );
    let query = run_stave(server, &["query", &id, "total", "--project", &project]);
    assert_eq!(stdout_ok(&query).trim(), "5");
    // A handler with steps: the answer waits for its activity and timer.
    let deposited = stdout_ok(&update("deposit", r#"{"amount": 7}"#));
    assert_eq!(
        serde_json::from_str::<Json>(&deposited).expect("update prints JSON"),
        json!({"total": 12, "echoed": {"amount": 7}})
    );
    // The Web UI's view of the updates: what each checks, sets, runs and returns.
    let metadata = support::runs::workflow_metadata(server, &id);
    let described: Vec<(String, String)> = metadata["definition"]["updateDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let text = |k: &str| d[k].as_str().unwrap_or_default().to_string();
            (text("name"), text("description"))
        })
        .collect();
    assert_eq!(
        described[..2],
        [
            (
                "add".to_string(),
                "accepted when `update.amount > 0`; sets total; returns `{'total': vars.total}`"
                    .to_string()
            ),
            (
                "deposit".to_string(),
                "accepted when `update.amount > 0`; runs test.echo; returns `{'total': vars.total, 'echoed': steps.echoed}`"
                    .to_string()
            ),
        ],
        "{metadata:#}"
    );
    // A failing step fails the update (exit 4, the activity's error), not the run; the
    // handler's `set` before its steps stays applied.
    let refused = update("refuse", r#""no""#);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("Refused: refused no"), "{stderr}");
    // An update ends the wait on any of a signal and it.
    let finished = stdout_ok(&update("finish", r#"{"note": "done"}"#));
    assert_eq!(finished.trim(), "112");
    let out = run_stave(server, &["result", &id, "--timeout", "60", "--json"]);
    let result: Json = serde_json::from_str(&stdout_ok(&out)).expect("result --json");
    assert_eq!(result["status"], json!("completed"));
    assert_eq!(
        result["result"],
        json!({"total": 112, "which": "finish", "payload": {"note": "done"}})
    );
    let history = support::runs::history_json(server, &id);
    let events = history["events"].as_array().cloned().unwrap_or_default();
    let count = |kind: &str| {
        events
            .iter()
            .filter(|e| {
                e["eventType"] == json!(format!("EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_{kind}"))
            })
            .count()
    };
    let (accepted, completed_updates) = (count("ACCEPTED"), count("COMPLETED"));
    assert_eq!((accepted, completed_updates), (4, 4), "{history:#}");
    // The deposit's activity and timer are in the run's history, between its acceptance
    // and its completion.
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|e| e["eventType"].as_str())
        .collect();
    let position = |kind: &str| kinds.iter().position(|k| k.ends_with(kind));
    let (scheduled, fired) = (position("ACTIVITY_TASK_SCHEDULED"), position("TIMER_FIRED"));
    assert!(
        scheduled.is_some() && fired.is_some() && scheduled < fired,
        "{kinds:?}"
    );
    let text = support::runs::history_text(&history);
    assert!(
        !text.contains("must be positive") && !text.contains(r#""amount":-3"#),
        "the rejected update left a trace: {text}"
    );
    record(&id, "e2e-updates");
}

/// Update-with-start (`stave start --update`): the first call starts the run and updates it
/// in one request; the second finds it running and only updates it; a rejected update
/// exits 4 and starts nothing new.
#[tokio::test(flavor = "multi_thread")]
async fn update_with_start_starts_once_then_updates_the_running_run() {
    let server = TestServer::shared();
    let project = worker().project.path_string();
    let id = unique_id("uws");
    let call = |amount: i64| {
        let input = format!(r#"{{"amount": {amount}}}"#);
        run_stave(
            server,
            &[
                "start",
                "e2e-updates",
                "--project",
                &project,
                "--id",
                &id,
                "--update",
                "add",
                "--update-input",
                &input,
                "--json",
            ],
        )
    };
    let first: Json = serde_json::from_str(&stdout_ok(&call(4))).expect("JSON");
    assert_eq!(first["result"], json!({"total": 4}), "{first}");
    let second: Json = serde_json::from_str(&stdout_ok(&call(6))).expect("JSON");
    assert_eq!(second["result"], json!({"total": 10}), "{second}");
    assert_eq!(
        first["run_id"], second["run_id"],
        "the running run took the second update"
    );
    let rejected = call(-1);
    assert_eq!(rejected.status.code(), Some(4));
    let answer: Json = serde_json::from_slice(&rejected.stdout).expect("JSON");
    assert_eq!(
        answer["rejected"],
        json!("amount must be positive, got -1"),
        "{answer}"
    );
    assert_eq!(answer["run_id"], first["run_id"]);
    stdout_ok(&run_stave(
        server,
        &["update", &id, "finish", "--project", &project],
    ));
    let finished = result(&worker().client().await, &id).await;
    assert_eq!(completed(&finished)["total"], json!(10));
}

#[tokio::test(flavor = "multi_thread")]
async fn try_catch_binds_the_error_and_fail_is_typed() {
    let caught = json!({"type": "Boom", "message": "it broke", "details": {"code": 7}});
    let ok = run("e2e-errors", &unique_id("errors"), json!({"mode": "catch"})).await;
    assert_eq!(completed(&ok), &caught);
    let failed = run("e2e-errors", &unique_id("errors"), json!({"mode": "fail"})).await;
    let Outcome::Failed { failure } = &failed.outcome else {
        panic!("expected a failure, got {:?}", failed.outcome);
    };
    let root = failure.root();
    assert_eq!(root.error_type, "OrderRejected");
    assert_eq!(root.message, "rejected in mode fail");
    assert_eq!(root.details, caught);
}

#[tokio::test(flavor = "multi_thread")]
async fn race_cancels_the_loser_rethrow_reaches_the_outer_catch_and_return_ends_early() {
    let started = Instant::now();
    let late = run("e2e-more", &unique_id("more"), json!({"early": false})).await;
    let early = run("e2e-more", &unique_id("more"), json!({"early": true})).await;
    let expected = |early: bool| {
        json!({
            "early": early,
            "race": {"branch": "fast", "result": "hare"},
            "seen": "inner failure / rethrown Outer",
        })
    };
    assert_eq!(completed(&late), &expected(false));
    assert_eq!(completed(&early), &expected(true));
    // The losing branch is a 30 s activity: both runs ending well before means it was
    // cancelled, not awaited.
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "the race waited for its loser ({:?})",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_happen_on_the_server() {
    let id = unique_id("retry");
    let finished = run("e2e-retry", &id, json!({"fail_times": 2, "strict": false})).await;
    assert_eq!(completed(&finished), &json!({"attempt": 3}));
    assert_eq!(worker().journal.attempts(&id), 3);
    record(&id, "e2e-retry");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_non_retryable_error_type_stops_retries() {
    let id = unique_id("strict");
    let finished = run("e2e-retry", &id, json!({"fail_times": 2, "strict": true})).await;
    let Outcome::Failed { failure } = &finished.outcome else {
        panic!("expected a failure, got {:?}", finished.outcome);
    };
    assert_eq!(failure.root().error_type, "Flaky");
    assert_eq!(
        worker().journal.attempts(&id),
        1,
        "retried a non-retryable type"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn saga_compensates_in_reverse_then_fails_with_the_original_error() {
    let id = unique_id("saga");
    let finished = run("e2e-saga", &id, json!(null)).await;
    let Outcome::Failed { failure } = &finished.outcome else {
        panic!("expected a failure, got {:?}", finished.outcome);
    };
    assert_eq!(failure.root().error_type, "PaymentFailed");
    assert_eq!(failure.root().message, "card expired");
    assert_eq!(
        worker().journal.records(&id),
        ["do-a", "do-b", "do-c", "undo-c", "undo-do-b", "undo-a"]
    );
    record(&id, "e2e-saga");
}

#[tokio::test(flavor = "multi_thread")]
async fn child_workflows_alone_and_in_a_loop() {
    let id = unique_id("parent");
    let finished = run("e2e-parent", &id, json!({"n": 21})).await;
    assert_eq!(
        completed(&finished),
        &json!({
            "kid": {"doubled": 42},
            "kids": [{"doubled": 2}, {"doubled": 4}],
        })
    );
    record(&id, "e2e-parent-children");
}

#[tokio::test(flavor = "multi_thread")]
async fn start_wait_prints_the_result_and_describe_shows_the_pinned_version() {
    let server = TestServer::shared();
    let project = worker().project.path_string();
    let id = unique_id("cli");
    let out = run_stave(
        server,
        &[
            "start",
            "e2e-basics",
            "--project",
            &project,
            "--id",
            &id,
            "--input",
            r#"{"name": "cli"}"#,
            "--wait",
            "--json",
        ],
    );
    let finished: Json = serde_json::from_str(&stdout_ok(&out)).expect("start --wait --json");
    assert_eq!(finished["result"]["greeting"], json!("hello cli"));

    let out = run_stave(server, &["describe", &id, "--json"]);
    let description: Json = serde_json::from_str(&stdout_ok(&out)).expect("describe --json");
    assert_eq!(description["status"], json!("completed"));
    assert_eq!(description["workflow_type"], json!("e2e-basics"));
    let version = description["version"].as_str().expect("a pinned version");
    assert_eq!(version, worker().pin_of("e2e-basics"));

    let human = stdout_ok(&run_stave(server, &["describe", &id]));
    assert!(human.contains("status        completed"), "{human}");
    assert!(human.contains("(pinned)"), "{human}");
}

#[tokio::test(flavor = "multi_thread")]
async fn describe_a_running_run_shows_its_current_step_and_cancel_stops_it() {
    let server = TestServer::shared();
    let project = worker().project.path_string();
    let id = unique_id("running");
    stdout_ok(&run_stave(
        server,
        &["start", "e2e-signals", "--project", &project, "--id", &id],
    ));
    let description = wait_until("a progress report", RESULT_LIMIT, || {
        let out = run_stave(server, &["describe", &id, "--json"]);
        let d: Json = serde_json::from_slice(&out.stdout).ok()?;
        (!d["progress"].is_null()).then_some(d)
    });
    assert_eq!(description["status"], json!("running"));
    let progress = description["progress"].to_string();
    assert!(
        progress.contains("approval"),
        "no current step in {progress}"
    );
    // The workflow does not set `expose_status`: its variables stay in the run, and the
    // human form says so.
    assert!(!progress.contains("\"vars\""), "{progress}");
    let human = stdout_ok(&run_stave(server, &["describe", &id]));
    assert!(human.contains("vars          not exposed"), "{human}");

    stdout_ok(&run_stave(
        server,
        &["cancel", &id, "--reason", "test over"],
    ));
    let out = run_stave(server, &["result", &id, "--timeout", "60"]);
    assert_eq!(out.status.code(), Some(3), "a canceled run exits 3");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("canceled"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_interrupts_a_heartbeating_activity_and_compensates() {
    let client = worker().client().await;
    let id = unique_id("cancel");
    worker()
        .start(&client, "e2e-cancel", &id, json!(null))
        .await;
    let journal = &worker().journal;
    support::eventually("the slow activity to start", RESULT_LIMIT, || async {
        if journal.records(&id) != ["reserved"] {
            return None;
        }
        let description = client.describe(&id, None).await.ok()?;
        description
            .pending_activities
            .iter()
            .any(|a| a.activity_type == "test.slow")
            .then_some(())
    })
    .await;
    client
        .cancel(&id, None, "test: stop the slow step")
        .await
        .expect("cancel");
    let finished = result(&client, &id).await;
    assert!(
        matches!(finished.outcome, Outcome::Canceled { .. }),
        "expected a canceled run, got {:?}",
        finished.outcome
    );
    assert_eq!(journal.records(&id), ["reserved", "released"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn client_errors_name_the_problem_and_the_fix() {
    let server = TestServer::shared();
    let project = worker().project.path_string();

    let out = run_stave(server, &["start", "e2e-basic", "--project", &project]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown workflow `e2e-basic`"), "{stderr}");
    assert!(stderr.contains("did you mean `e2e-basics`?"), "{stderr}");

    let out = run_stave(
        server,
        &[
            "start",
            "e2e-basics",
            "--project",
            &project,
            "--input",
            r#"{"name": 5}"#,
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid input for `e2e-basics`"),
        "{stderr}"
    );
    assert!(stderr.contains("input.name"), "{stderr}");

    let out = run_stave(server, &["signal", "no-such-run", "approve"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("workflow `no-such-run` not found"),
        "{stderr}"
    );

    let port = support::free_ports(1)[0];
    let address = format!("127.0.0.1:{port}");
    let out = run_stave(server, &["describe", "x", "--address", &address]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&address), "{stderr}");
    assert!(stderr.contains("stave dev"), "{stderr}");
    assert!(stderr.contains("TEMPORAL_ADDRESS"), "{stderr}");
}

/// `priority:` reaches Temporal: the run's (from `stave start`, over its input), an activity's
/// (evaluated per step) and a child's, as the server records them.
#[tokio::test(flavor = "multi_thread")]
async fn priority_and_fairness_reach_the_server() {
    let server = TestServer::shared();
    let project = worker().project.path_string();
    let id = unique_id("priority");
    let out = stdout_ok(&run_stave(
        server,
        &[
            "start",
            "e2e-priority",
            "--project",
            &project,
            "--id",
            &id,
            "--input",
            r#"{"tenant": "acme", "urgent": true}"#,
            "--wait",
            "--json",
        ],
    ));
    assert!(out.contains("acme"), "{out}");
    let history = support::runs::history_json(server, &id);
    let events = history["events"].as_array().expect("events");
    let find = |kind: &str, attributes: &str| -> Json {
        events
            .iter()
            .find(|e| e["eventType"] == json!(kind))
            .map(|e| e[attributes]["priority"].clone())
            .unwrap_or_else(|| panic!("no {kind} in {history:#}"))
    };
    assert_eq!(
        find(
            "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
            "workflowExecutionStartedEventAttributes"
        ),
        json!({"priorityKey": 2, "fairnessKey": "acme"})
    );
    assert_eq!(
        find(
            "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED",
            "activityTaskScheduledEventAttributes"
        ),
        json!({"priorityKey": 1, "fairnessKey": "acme", "fairnessWeight": 2.5})
    );
    assert_eq!(
        find(
            "EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED",
            "startChildWorkflowExecutionInitiatedEventAttributes"
        ),
        json!({"priorityKey": 5})
    );
    // The file's search attributes are set on the run: the Web UI's list (a visibility
    // query) finds it by them.
    let listed = wait_until("the run in a visibility query", RESULT_LIMIT, || {
        let out = std::process::Command::new("temporal")
            .args(["workflow", "list", "--output", "json", "--query"])
            .arg(format!(
                "Tenant = 'acme' AND OrderTotal = 12.5 AND WorkflowId = '{id}'"
            ))
            .args(["--address", &server.address()])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.contains(&id).then_some(text)
    });
    assert!(listed.contains("e2e-priority"), "{listed}");
}
