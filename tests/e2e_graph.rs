//! End to end: `stave graph --run ID` colours a run's graph by what it did — a retried
//! activity, a failure caught by try/catch, a branch not taken, a wait still running — from
//! the run's history and its own pinned program, on a real server.

mod support;

use serde_json::{Value as Json, json};
use stave::runtime::client::{Outcome, STATUS_QUERY};
use std::sync::Arc;
use std::time::Duration;
use support::activities::{Journal, registry};
use support::{InProcessWorker, TestProject, TestServer, unique_id};

const LIMIT: Duration = Duration::from_secs(60);

const WORKFLOW: &str = r#"stave: 1
workflow: e2e-graph
description: a retried activity, a caught failure, a branch not taken and a wait.
queue: standard
vars: { go: false, caught: false }
signals:
  go: { set: { go: true } }
defaults:
  timeout: 10s
steps:
  - id: flaky
    activity: test.flaky
    input: { key: "${ workflow.id }", fail_times: 2 }
    retry: { max_attempts: 5, initial_interval: 100ms, backoff: 1.0 }
  - id: guarded
    try:
      - id: boom
        activity: test.fail
        input: { type: Boom, non_retryable: true }
    catch:
      - errors: [Boom]
        steps: [ { set: { caught: true } } ]
  - id: branch
    if: "${ vars.caught }"
    steps:
      - { id: handled, activity: test.echo, input: handled }
    else:
      - { id: unhandled, activity: test.echo, input: unhandled }
  - id: gate
    wait: { signal: go, until: "${ vars.go }", timeout: 5m }
  - { id: after, activity: test.echo, input: after }
output: "${ vars.caught }"
"#;

/// `stave graph --run ID --project DIR [--format dot]`, its stdout with the ids normalised.
fn graph_of_run(server: &TestServer, project: &TestProject, id: &str, format: &str) -> String {
    let dir = project.path_string();
    let out = support::run_stave(
        server,
        &["graph", "--run", id, "--project", &dir, "--format", format],
    );
    let text = support::stdout_ok(&out);
    let run_id = regex::Regex::new("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
        .expect("valid regex");
    run_id
        .replace_all(&text.replace(id, "[ID]"), "[RUN]")
        .into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn graph_run_colours_what_the_run_did() {
    let server = TestServer::shared();
    let project = TestProject::new("graph-run");
    project.write("e2e-graph.stave.yaml", WORKFLOW);
    let bundle = support::load_bundle(project.path());
    let journal = Arc::new(Journal::default());
    let _worker = InProcessWorker::start(server, project.path(), bundle.clone(), registry(journal));
    let client = support::client(server).await;
    let id = unique_id("graph");
    support::start_pinned(&client, &bundle, "e2e-graph", &id, Json::Null).await;
    support::eventually("the run waits at `gate`", LIMIT, || async {
        let status = client
            .query(&id, None, STATUS_QUERY, None, Duration::from_secs(5))
            .await
            .ok()?;
        (status["current_steps"] == json!(["gate"])).then_some(())
    })
    .await;

    // Mid-run: `flaky` retried (3 attempts), `boom` failed and was caught, `unhandled` not
    // reached, `gate` running, `after` and `done` not reached yet.
    let mermaid = graph_of_run(server, &project, &id, "mermaid");
    insta::assert_snapshot!("graph_run_mermaid_waiting", mermaid);
    let dot = graph_of_run(server, &project, &id, "dot");
    insta::assert_snapshot!("graph_run_dot_waiting", dot);

    client
        .signal(&id, None, "go", None)
        .await
        .expect("signal go");
    let finished = client
        .result(&id, None, Some(LIMIT))
        .await
        .expect("the run's result");
    assert!(
        matches!(&finished.outcome, Outcome::Completed { result } if result == &json!(true)),
        "{:?}",
        finished.outcome
    );
    let mermaid = graph_of_run(server, &project, &id, "mermaid");
    assert!(
        mermaid.contains("title: \"e2e-graph · [ID] (run [RUN]) · completed\""),
        "{mermaid}"
    );
    let completed: Vec<&str> = mermaid
        .lines()
        .find_map(|l| {
            l.trim_start()
                .strip_prefix("class ")?
                .strip_suffix(" run_completed")
        })
        .unwrap_or_else(|| panic!("no completed class line:\n{mermaid}"))
        .split(',')
        .collect();
    for node in ["s7", "s8", "done"] {
        assert!(
            completed.contains(&node),
            "{node} is not completed: {completed:?}"
        );
    }
}

/// `--run` of an id the server does not know names it and says what to do.
#[test]
fn graph_run_of_an_unknown_id_is_an_error() {
    let server = TestServer::shared();
    let project = TestProject::new("graph-unknown");
    let dir = project.path_string();
    let out = support::run_stave(
        server,
        &["graph", "--run", "no-such-run", "--project", &dir],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no-such-run"), "{stderr}");
}
