//! The worker against a real dev server: bad input fails only the run it belongs to, graceful
//! shutdown lets in-flight activities finish, and runs stay pinned across an edit and restart.
//!
//! Workers run in-process (`stave::runtime::worker::run`) with test activities; the CLI's own
//! paths (`stave worker` flags, manifest export, an unreachable server) run the binary.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use stave::runtime::activity::{ActivityContext, ActivityError, Registry};
use stave::runtime::client::{Client, Outcome, StartOptions};
use stave::runtime::connect::{ConnectArgs, Retry};
use stave::runtime::egress::HttpPolicy;
use stave::runtime::versions::VersionStore;
use stave::runtime::worker::{self, Summary, WorkerError, WorkerOptions};
use support::{Proc, TestProject, TestServer, unique_id};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const LIMIT: Duration = Duration::from_secs(60);

#[derive(Deserialize, JsonSchema)]
struct Charge {
    amount: f64,
}

#[derive(Serialize, JsonSchema)]
struct Charged {
    charged: f64,
}

/// Test activities; `started` is set when `test.slow` begins.
fn registry(started: Arc<AtomicBool>) -> Registry {
    Registry::with_builtins()
        .activity(
            "test.typed",
            |_ctx: ActivityContext, input: Charge| async move {
                Ok::<_, ActivityError>(Charged {
                    charged: input.amount,
                })
            },
        )
        .activity(
            "test.big",
            |_ctx: ActivityContext, _input: Json| async move {
                Ok::<_, ActivityError>("x".repeat(3 * 1024 * 1024))
            },
        )
        .activity("test.slow", move |_ctx: ActivityContext, ms: u64| {
            let started = started.clone();
            async move {
                started.store(true, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok::<_, ActivityError>("slept")
            }
        })
}

/// A worker running inside the test process until `stop`.
struct InProcess {
    stop: oneshot::Sender<()>,
    handle: JoinHandle<Result<Summary, WorkerError>>,
}

impl InProcess {
    async fn start(server: &TestServer, dir: &Path, registry: Registry) -> InProcess {
        let bundle = support::load_bundle(dir);
        let plans = worker::plan(&bundle, &registry, None).expect("plan");
        let connected = ConnectArgs {
            address: Some(server.address()),
            namespace: Some("default".into()),
            ..ConnectArgs::default()
        }
        .connect(None, "worker-e2e", Retry::Once)
        .await
        .expect("connect");
        let project = dir.to_path_buf();
        let store = Arc::new(
            VersionStore::new(dir.join(".stave/versions")).with_source(Arc::new(move || {
                stave::check::load_project(&project)
                    .bundle
                    .map(|b| b.workflows)
                    .unwrap_or_default()
            })),
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(worker::run(
            connected,
            plans,
            registry,
            store,
            WorkerOptions {
                http: HttpPolicy::new(&bundle.project.http),
                ..WorkerOptions::default()
            },
            async move {
                let _ = stopped.await;
            },
        ));
        InProcess { stop, handle }
    }

    async fn stop(self) -> Summary {
        let _ = self.stop.send(());
        tokio::time::timeout(LIMIT, self.handle)
            .await
            .expect("the worker drains in time")
            .expect("the worker task")
            .expect("the worker stops cleanly")
    }
}

async fn start(client: &Client, project: &TestProject, workflow: &str, id: &str, input: Json) {
    let options = StartOptions {
        workflow_type: workflow.into(),
        workflow_id: id.into(),
        task_queue: project.task_queue("standard"),
        input,
        memo: Vec::new(),
        execution_timeout: None,
        priority: None,
    };
    client.start(&options).await.expect("start");
}

async fn outcome(client: &Client, id: &str) -> Outcome {
    client
        .result(id, None, Some(LIMIT))
        .await
        .unwrap_or_else(|e| panic!("{id}: {e}"))
        .outcome
}

fn root_failure(outcome: &Outcome) -> (String, String) {
    match outcome {
        Outcome::Failed { failure } => {
            let root = failure.root();
            (root.error_type.clone(), root.message.clone())
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

const CALLS: &str = r#"stave: 1
workflow: NAME
queue: standard
defaults:
  timeout: 10s
  retry: { max_attempts: 3, initial_interval: 100ms }
steps:
  - { id: call, activity: ACTIVITY, input: INPUT }
output: "${ steps.call }"
"#;

fn calling(name: &str, activity: &str, input: &str) -> String {
    CALLS
        .replace("NAME", name)
        .replace("ACTIVITY", activity)
        .replace("INPUT", input)
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_fails_only_its_run_and_the_worker_keeps_serving() {
    let server = TestServer::shared();
    let project = TestProject::new("wk-bad");
    project.write(
        "ok.stave.yaml",
        &calling("wk-ok", "test.typed", "{ amount: 12.5 }"),
    );
    project.write(
        "shape.stave.yaml",
        &calling("wk-shape", "test.typed", "{ amount: lots }"),
    );
    project.write(
        "missing.stave.yaml",
        &calling("wk-missing", "nope.missing", "{}"),
    );
    project.write("big.stave.yaml", &calling("wk-big", "test.big", "{}"));
    project.write(
        "denied.stave.yaml",
        &calling(
            "wk-denied",
            "http.request",
            "{ url: 'http://169.254.169.254/latest/meta-data?token=abc' }",
        ),
    );
    let worker = InProcess::start(server, project.path(), registry(Arc::default())).await;
    let client = support::client(server).await;

    let ids: Vec<String> = ["ok", "shape", "missing", "big", "ghost", "ok2", "denied"]
        .iter()
        .map(|k| unique_id(&format!("wk-{k}")))
        .collect();
    start(&client, &project, "wk-ok", &ids[0], Json::Null).await;
    start(&client, &project, "wk-shape", &ids[1], Json::Null).await;
    start(&client, &project, "wk-missing", &ids[2], Json::Null).await;
    start(&client, &project, "wk-big", &ids[3], Json::Null).await;
    start(&client, &project, "wk-ghost", &ids[4], Json::Null).await;
    start(&client, &project, "wk-ok", &ids[5], Json::Null).await;
    start(&client, &project, "wk-denied", &ids[6], Json::Null).await;

    assert_eq!(
        outcome(&client, &ids[0]).await,
        Outcome::Completed {
            result: json!({"charged": 12.5})
        }
    );
    let (kind, message) = root_failure(&outcome(&client, &ids[1]).await);
    assert_eq!(kind, "InvalidActivityInput");
    assert!(message.contains("at `amount`"), "{message}");
    let (kind, message) = root_failure(&outcome(&client, &ids[2]).await);
    assert_eq!(kind, "UnknownActivity");
    assert!(
        message.contains("`nope.missing` is not registered"),
        "{message}"
    );
    let (kind, message) = root_failure(&outcome(&client, &ids[3]).await);
    assert_eq!(kind, "PayloadTooLarge");
    assert!(message.contains("test.big"), "{message}");
    // The metadata address is denied by the default egress policy, at once (not retried),
    // and the token in its query string is not in the failure.
    let (kind, message) = root_failure(&outcome(&client, &ids[6]).await);
    assert_eq!(kind, "HttpDenied");
    assert!(
        message.contains("169.254.169.254") && message.contains("link-local"),
        "{message}"
    );
    assert!(!message.contains("abc"), "{message}");
    // The worker kept serving: a run started after all of them completes.
    assert!(outcome(&client, &ids[5]).await.is_success());

    // The unknown workflow type is not failed: its task is retried until a worker knows it.
    let described = client.describe(&ids[4], None).await.expect("describe");
    assert_eq!(described.status, "running");
    worker.stop().await;
    project.write(
        "ghost.stave.yaml",
        &calling("wk-ghost", "test.typed", "{ amount: 1 }"),
    );
    let worker = InProcess::start(server, project.path(), registry(Arc::default())).await;
    assert_eq!(
        outcome(&client, &ids[4]).await,
        Outcome::Completed {
            result: json!({"charged": 1.0})
        }
    );
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_lets_the_in_flight_activity_finish() {
    let server = TestServer::shared();
    let project = TestProject::new("wk-drain");
    project.write("slow.stave.yaml", &calling("wk-slow", "test.slow", "1500"));
    let started = Arc::new(AtomicBool::new(false));
    let worker = InProcess::start(server, project.path(), registry(started.clone())).await;
    let client = support::client(server).await;
    let id = unique_id("wk-slow");
    start(&client, &project, "wk-slow", &id, Json::Null).await;
    support::wait_until("the slow activity to start", LIMIT, || {
        started.load(Ordering::SeqCst).then_some(())
    });
    let summary = worker.stop().await;
    // Activities are served on every project queue, workflows on their own.
    assert!(
        summary
            .task_queues
            .contains(&project.task_queue("standard")),
        "{summary:?}"
    );
    // The activity's result reached the server before the worker exited; the run finishes
    // as soon as any worker takes its next workflow task.
    let worker = InProcess::start(server, project.path(), registry(Arc::default())).await;
    assert_eq!(
        outcome(&client, &id).await,
        Outcome::Completed {
            result: json!("slept")
        }
    );
    worker.stop().await;
}

const PINNED_V1: &str = r#"stave: 1
workflow: wk-pinned
queue: standard
vars: { phase: waiting }
signals:
  go: { set: { phase: released } }
queries:
  phase: "${ vars.phase }"
defaults:
  timeout: 10s
  retry: { max_attempts: 3 }
steps:
  - { id: first, activity: log, input: { message: "version 1" } }
  - id: gate
    wait: { signal: go, timeout: 5m }
output: "${ {'version': 1, 'phase': vars.phase} }"
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_run_started_under_version_1_finishes_on_version_1_after_an_edit_and_restart() {
    let server = TestServer::shared();
    let project = TestProject::new("wk-pin");
    project.write("pinned.stave.yaml", PINNED_V1);
    let worker = InProcess::start(server, project.path(), registry(Arc::default())).await;
    let client = support::client(server).await;
    // Started without a memo (as any Temporal client would): the worker records the pin.
    let old = unique_id("wk-pinned-old");
    start(&client, &project, "wk-pinned", &old, Json::Null).await;
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        let phase = client
            .query(&old, None, "phase", None, Duration::from_secs(10))
            .await;
        if matches!(&phase, Ok(p) if p == &json!("waiting")) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never waiting: {phase:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let described = client.describe(&old, None).await.expect("describe");
    let v1 = support::load_bundle(project.path()).workflows[0]
        .hash
        .clone();
    assert_eq!(described.version, Some(format!("{v1}@1")));
    worker.stop().await;

    // Version 2: a different first step and output. Replaying the old run against it would
    // be nondeterministic; the restarted worker must use version 1 from its store.
    let v2 = PINNED_V1
        .replace(
            "steps:\n",
            "steps:\n  - { id: zeroth, activity: test.typed, input: { amount: 2 } }\n",
        )
        .replace("'version': 1", "'version': 2");
    project.write("pinned.stave.yaml", &v2);
    let worker = InProcess::start(server, project.path(), registry(Arc::default())).await;
    client.signal(&old, None, "go", None).await.expect("signal");
    assert_eq!(
        outcome(&client, &old).await,
        Outcome::Completed {
            result: json!({"version": 1, "phase": "released"})
        }
    );
    let new = unique_id("wk-pinned-new");
    start(&client, &project, "wk-pinned", &new, Json::Null).await;
    client.signal(&new, None, "go", None).await.expect("signal");
    assert_eq!(
        outcome(&client, &new).await,
        Outcome::Completed {
            result: json!({"version": 2, "phase": "released"})
        }
    );
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_pinned_at_start_to_a_version_edited_in_after_the_worker_started_runs() {
    let server = TestServer::shared();
    let project = TestProject::new("wk-edit");
    project.write("pinned.stave.yaml", PINNED_V1);
    let worker = InProcess::start(server, project.path(), registry(Arc::default())).await;
    let client = support::client(server).await;
    // Edited while the worker runs; `stave start` pins the run to the file as it is now.
    project.write(
        "pinned.stave.yaml",
        &PINNED_V1.replace("'version': 1", "'version': 3"),
    );
    let bundle = support::load_bundle(project.path());
    let id = unique_id("wk-edited");
    support::start_pinned(&client, &bundle, "wk-pinned", &id, Json::Null).await;
    client.signal(&id, None, "go", None).await.expect("signal");
    assert_eq!(
        outcome(&client, &id).await,
        Outcome::Completed {
            result: json!({"version": 3, "phase": "released"})
        }
    );
    worker.stop().await;
}

#[test]
fn an_unreachable_server_at_start_names_the_address_and_the_fix() {
    let project = TestProject::new("wk-unreachable");
    project.write("ok.stave.yaml", &calling("wk-ok", "log", "{ message: hi }"));
    let out = std::process::Command::new(support::stave_bin())
        .args([
            "worker",
            "--project",
            &project.path_string(),
            "--address",
            "127.0.0.1:1",
            "--wait-for-server",
            "1s",
        ])
        .env_remove("TEMPORAL_ADDRESS")
        .env("TEMPORAL_CONFIG_FILE", "/nonexistent/temporal.toml")
        .output()
        .expect("run stave worker");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot reach the Temporal server at http://127.0.0.1:1/"),
        "{stderr}"
    );
    assert!(stderr.contains("stave dev"), "{stderr}");
}

#[test]
fn export_manifest_writes_the_registered_activities() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("activities.json");
    let out = std::process::Command::new(support::stave_bin())
        .args(["worker", "--export-manifest", &file.display().to_string()])
        .output()
        .expect("run stave worker");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&file).expect("manifest written");
    let manifest = stave::manifest::Manifest::from_json(&text).expect("a manifest");
    let http = manifest.get("http.request").expect("http.request");
    assert!(http.errors.contains(&"HttpServerError".to_string()));
    assert_eq!(
        http.input.as_ref().expect("schema")["required"],
        json!(["url"])
    );
    assert!(manifest.get("log").is_some());
}

#[test]
fn the_project_ai_worker_exports_its_activities() {
    let out = std::process::Command::new(support::example_bin("project-ai"))
        .args(["worker", "--export-manifest", "-"])
        .output()
        .expect("run the project-ai worker");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest = stave::manifest::Manifest::from_json(&String::from_utf8_lossy(&out.stdout))
        .expect("a manifest");
    let charge = manifest.get("payments.charge").expect("payments.charge");
    assert!(charge.errors.contains(&"CardDeclined".to_string()));
    assert!(
        manifest.get("http.request").is_some(),
        "built-ins stay registered"
    );
}

/// A worker-only binary (`stave::cli::worker_main_with`, the `bench-worker-lean` example)
/// takes `stave worker`'s arguments at the top level, has no other command, and serves a
/// workflow end to end with its own activity.
#[tokio::test(flavor = "multi_thread")]
async fn a_worker_only_binary_serves_a_workflow_with_its_own_activity() {
    let lean = support::example_bin("bench-worker-lean");
    let help = std::process::Command::new(&lean)
        .arg("--help")
        .output()
        .expect("run the lean worker");
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("--task-queue") && !help.contains("Commands:"),
        "{help}"
    );
    let lint = std::process::Command::new(&lean)
        .arg("lint")
        .output()
        .expect("run the lean worker");
    assert_eq!(
        lint.status.code(),
        Some(2),
        "not a CLI: `lint` is an unknown argument"
    );

    // The benchmark's `seq3` (three `inc` in a row) on a task queue of this test's own.
    let server = TestServer::shared();
    let project = TestProject::new("lean");
    let task_queue = project.task_queue("bench");
    project.write(
        "stave.yaml",
        &format!("namespace: default\nqueues:\n  bench: {{ task_queue: {task_queue} }}\n"),
    );
    let seq3 = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/stave/seq3.stave.yaml"),
    )
    .expect("read bench/stave/seq3.stave.yaml");
    project.write("seq3.stave.yaml", &seq3);
    let dir = project.path_string();
    let mut worker = Proc::spawn_in(&lean, &["--project", &dir], Some(project.path()), server);
    let client = support::client(server).await;
    let bundle = support::load_bundle(project.path());
    let id = unique_id("lean");
    support::start_pinned(&client, &bundle, "seq3", &id, json!({"n": 0})).await;
    let finished = client
        .result(&id, None, Some(Duration::from_secs(60)))
        .await
        .unwrap_or_else(|e| panic!("{id}: {e}\n{}", worker.log()));
    assert!(
        matches!(&finished.outcome, Outcome::Completed { result } if result == &json!({"n": 3})),
        "{:?}\n{}",
        finished.outcome,
        worker.log()
    );
    worker.kill_hard();
}
