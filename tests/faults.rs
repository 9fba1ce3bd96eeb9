//! Faults the suite proves, against real dev servers this file starts and kills: a worker and
//! a server killed mid-flight while the definition changes (runs keep their pinned version),
//! a server outage a connected worker rides out, a SIGTERM drain, continue-as-new.
//!
//! The tests run one at a time (`SERIAL`): each starts its own server, and two SQLite dev
//! servers plus workers at once would starve a 2-core CI box.

mod support;

use futures::future::join_all;
use serde_json::{Value as Json, json};
use stave::ir::Bundle;
use stave::runtime::client::{Client, ClientError, Outcome};
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use support::{Proc, ServerOptions, TestProject, TestServer, stave_bin, unique_id};
use temporalio_client::tonic::IntoRequest as _;
use temporalio_common::protos::temporal::api::common::v1::WorkflowExecution;
use temporalio_common::protos::temporal::api::enums::v1::HistoryEventFilterType;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
use temporalio_common::protos::temporal::api::workflowservice::v1::GetWorkflowExecutionHistoryRequest;

/// Runs of the chaos test, half started before the edit, half after.
const CHAOS_RUNS: usize = 200;
/// How long the chaos runs get, after the last fault, to finish.
const CHAOS_DEADLINE: Duration = Duration::from_secs(150);
/// Bound of every other wait (a worker start, a server start, a run).
const LIMIT: Duration = Duration::from_secs(90);
/// The line a `stave worker` prints once it polls.
const READY_LINE: &str = "stave worker ready";

/// A run waits at a signal gate — so it is in flight while the faults happen — then logs
/// once. Its output names the version it ran.
const GATE_V1: &str = r#"stave: 1
workflow: faults-gate
description: waits for `go`, logs once; the output names the definition's version.
queue: standard
input:
  type: object
  required: [n]
  properties: { n: { type: integer } }
vars: { go: false }
defaults:
  timeout: 5s
  retry: { max_attempts: 30, initial_interval: 200ms, max_interval: 2s }
signals:
  go: { set: { go: true } }
steps:
  - id: gate
    wait: { signal: go, until: "${ vars.go }", timeout: 10m }
  - { id: done, activity: log, input: { message: "v1 ${ input.n }" } }
output: "${ {'n': input.n, 'version': 1} }"
"#;

/// The edited definition: a different log line and output.
fn gate_v2() -> String {
    GATE_V1
        .replace("\"v1 ${ input.n }\"", "\"v2 ${ input.n }\"")
        .replace("'version': 1", "'version': 2")
}

/// Held for the whole of each test. An async mutex: the guard lives across awaits, and a
/// failed test does not poison it for the next.
async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    SERIAL.lock().await
}

/// A project holding `files`, served on its `standard` queue only.
fn project(name: &str, files: &[(&str, &str)]) -> TestProject {
    let project = TestProject::new(name);
    for (file, text) in files {
        project.write(file, text);
    }
    project
}

/// `stave worker` for `project`'s `standard` queue (unless `extra` names `--queues`), plus
/// `extra` flags.
fn spawn_worker(project: &TestProject, server: &TestServer, extra: &[&str]) -> Proc {
    let dir = project.path_string();
    let mut args = vec!["worker", "--project", &dir];
    if !extra.contains(&"--queues") {
        args.extend(["--queues", "standard"]);
    }
    args.extend_from_slice(extra);
    let mut worker = Proc::spawn_in(&stave_bin(), &args, Some(project.path()), server);
    wait_ready(&mut worker, 1);
    worker
}

/// Waits until the worker's log (every incarnation) holds `count` ready lines.
fn wait_ready(worker: &mut Proc, count: usize) {
    wait_with_log("the worker to poll", worker, |w| {
        w.log().matches(READY_LINE).count() >= count
    });
}

/// Polls `done` every 50 ms while the worker runs; fails with the worker's log when the
/// worker exits or [`LIMIT`] passes.
fn wait_with_log(what: &str, worker: &mut Proc, mut done: impl FnMut(&Proc) -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !done(worker) {
        assert!(
            worker.is_running(),
            "the worker exited while waiting for {what}:\n{}",
            worker.log()
        );
        assert!(
            Instant::now() < deadline,
            "timed out after {LIMIT:?} waiting for {what}\n--- worker log ---\n{}",
            worker.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Retries `call` while it fails (a client call may meet a server that just restarted).
async fn retrying<T, F, Fut>(what: &str, mut call: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClientError>>,
{
    let deadline = Instant::now() + LIMIT;
    loop {
        match call().await {
            Ok(value) => return value,
            Err(e) if Instant::now() > deadline => panic!("{what}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// Starts `workflow` of `bundle` as `id`, pinned like `stave start`; a retry that finds the
/// run already started (the first attempt went through) counts as started.
async fn start(client: &Client, bundle: &Bundle, workflow: &str, id: &str, input: Json) -> String {
    let wf = bundle
        .workflows
        .iter()
        .find(|w| w.name == workflow)
        .unwrap_or_else(|| panic!("no workflow `{workflow}` in the bundle"));
    let mut options = stave::cli::start::start_options(wf, input);
    options.workflow_id = id.to_string();
    retrying(&format!("start {id}"), || async {
        match client.start(&options).await {
            Ok(started) => Ok(started.run_id),
            Err(ClientError::AlreadyRunning { run_id, .. }) => Ok(run_id),
            Err(e) => Err(e),
        }
    })
    .await
}

/// Starts runs `first..first+count` of `faults-gate`, eight at a time; returns their ids.
async fn start_gated(client: &Client, bundle: &Bundle, first: usize, count: usize) -> Vec<String> {
    let ids: Vec<String> = (0..count).map(|_| unique_id("faults-gate")).collect();
    for chunk in ids.chunks(8).enumerate() {
        let (c, chunk) = chunk;
        join_all(chunk.iter().enumerate().map(|(k, id)| {
            let n = first + c * 8 + k;
            async move { start(client, bundle, "faults-gate", id, json!({ "n": n })).await }
        }))
        .await;
    }
    ids
}

/// Sends `go` to every run of `ids`, eight at a time.
async fn open_gates(client: &Client, ids: &[String]) {
    for chunk in ids.chunks(8) {
        join_all(chunk.iter().map(|id| async move {
            let what = format!("signal {id}");
            retrying(&what, || client.signal(id, None, "go", None)).await
        }))
        .await;
    }
}

/// How a run ended by `deadline`: `None` when it was still open (stuck).
async fn outcome_by(client: &Client, id: &str, deadline: Instant) -> Option<Outcome> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        match client.result(id, None, Some(left)).await {
            Ok(finished) => return Some(finished.outcome),
            Err(ClientError::Timeout { .. }) => return None,
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// Completed / failed / stuck counts of a set of runs against their expected outputs.
#[derive(Debug, Default)]
struct Tally {
    completed: usize,
    failed: usize,
    stuck: usize,
    /// One line per run that did not complete with its expected output.
    problems: Vec<String>,
}

async fn tally(client: &Client, runs: &[(String, Json)], deadline: Instant) -> Tally {
    let outcomes = join_all(runs.iter().map(|(id, _)| outcome_by(client, id, deadline))).await;
    let mut tally = Tally::default();
    for ((id, expected), outcome) in runs.iter().zip(outcomes) {
        match outcome {
            Some(Outcome::Completed { result }) if &result == expected => tally.completed += 1,
            Some(other) => {
                tally.failed += 1;
                tally
                    .problems
                    .push(format!("{id}: {other:?}, expected {expected}"));
            }
            None => {
                tally.stuck += 1;
                let state = match client.describe(id, None).await {
                    Ok(d) => format!(
                        "{} (history {}, pending {:?}, progress {:?})",
                        d.status, d.history_length, d.pending_activities, d.progress
                    ),
                    Err(e) => e.to_string(),
                };
                tally.problems.push(format!("{id}: still open: {state}"));
            }
        }
    }
    tally
}

/// 200 runs in flight through a worker SIGKILL, a server SIGKILL (restarted on the same
/// SQLite file) and a redeploy with an edited definition: every run completes with the output
/// of the definition it started with.
#[tokio::test(flavor = "multi_thread")]
async fn chaos_runs_survive_killed_worker_killed_server_and_an_edit() {
    let _serial = serial().await;
    let began = Instant::now();
    let mut server = TestServer::start_with(ServerOptions {
        sqlite: true,
        ..ServerOptions::default()
    });
    let project = project("chaos", &[("faults-gate.stave.yaml", GATE_V1)]);
    let mut worker = spawn_worker(&project, &server, &[]);
    let client = support::client(&server).await;
    let v1 = support::load_bundle(project.path());
    let half = CHAOS_RUNS / 2;

    let quarter = CHAOS_RUNS / 8;

    // Half the runs start on v1. A quarter of those pass their gate and the worker dies with
    // their workflow and activity tasks in flight; another quarter is signalled while no
    // worker lives. The server keeps it all.
    let old = start_gated(&client, &v1, 0, half).await;
    open_gates(&client, &old[..quarter]).await;
    worker.kill_hard();
    open_gates(&client, &old[quarter..2 * quarter]).await;
    worker.restart();
    wait_ready(&mut worker, 2);

    // Redeploy: the file changes between a SIGKILL and a restart. Runs started from now on
    // are pinned to v2; the old ones must keep running v1 (from the version store).
    project.write("faults-gate.stave.yaml", &gate_v2());
    let v2 = support::load_bundle(project.path());
    assert_ne!(
        v1.workflows[0].hash, v2.workflows[0].hash,
        "the edit changed nothing"
    );
    worker.kill_hard();
    worker.restart();
    wait_ready(&mut worker, 3);
    let new = start_gated(&client, &v2, half, half).await;
    open_gates(&client, &new[..half / 2]).await;

    // All 200 runs are open — v1 and v2 mixed, fifty just signalled — when the
    // server dies under the worker; it comes back on the same SQLite file.
    server.kill_hard();
    server.restart();
    open_gates(&client, &old[2 * quarter..]).await;
    open_gates(&client, &new[half / 2..]).await;
    let faults_done = began.elapsed();

    let expected: Vec<(String, Json)> = old
        .iter()
        .enumerate()
        .map(|(n, id)| (id.clone(), json!({"n": n, "version": 1})))
        .chain(
            new.iter()
                .enumerate()
                .map(|(n, id)| (id.clone(), json!({"n": half + n, "version": 2}))),
        )
        .collect();
    let tally = tally(&client, &expected, Instant::now() + CHAOS_DEADLINE).await;
    println!(
        "chaos: {} runs: {} completed, {} failed, {} stuck (faults done after {:.0?}, all \
         settled after {:.0?})",
        expected.len(),
        tally.completed,
        tally.failed,
        tally.stuck,
        faults_done,
        began.elapsed()
    );
    assert!(
        tally.failed == 0 && tally.stuck == 0,
        "{} failed, {} stuck:\n{}\n--- worker log (tail) ---\n{}",
        tally.failed,
        tally.stuck,
        tally.problems.join("\n"),
        tail(&worker.log(), 60)
    );
    assert_eq!(tally.completed, CHAOS_RUNS);
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Polls `/readyz` until it answers `status`; returns the body. Fails with the last answer
/// and the worker's log.
async fn readyz_becomes(addr: &str, status: u16, worker: &Proc) -> String {
    let deadline = Instant::now() + LIMIT;
    loop {
        let probe = addr.to_string();
        let answer = tokio::task::spawn_blocking(move || support::http_get(&probe, "/readyz"))
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
        match answer {
            Ok((s, body)) if s == status => return body,
            last if Instant::now() > deadline => panic!(
                "/readyz did not answer {status} within {LIMIT:?} (last: {last:?})\n\
                 --- worker log ---\n{}",
                worker.log()
            ),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// A server SIGKILLed under a connected worker: the worker stays up, `/readyz` turns 503
/// while the server is down and 200 once it is back, and runs — one in flight across the
/// outage, one started after — complete without a worker restart.
#[tokio::test(flavor = "multi_thread")]
async fn worker_rides_out_a_server_restart() {
    let _serial = serial().await;
    let began = Instant::now();
    let mut server = TestServer::start_with(ServerOptions {
        sqlite: true,
        ..ServerOptions::default()
    });
    let project = project("outage", &[("faults-gate.stave.yaml", GATE_V1)]);
    let health = format!("127.0.0.1:{}", support::free_ports(1)[0]);
    let mut worker = spawn_worker(
        &project,
        &server,
        &["--health-addr", &health, "--queue-depth-interval", "1s"],
    );
    let pid = worker.pid();
    readyz_becomes(&health, 200, &worker).await;
    let client = support::client(&server).await;
    let bundle = support::load_bundle(project.path());

    let across = unique_id("outage");
    start(&client, &bundle, "faults-gate", &across, json!({"n": 1})).await;
    let status = |n: u64| json!({"n": n, "version": 1});

    server.kill_hard();
    let killed = Instant::now();
    assert!(
        support::server::probe(&server.url()).is_err(),
        "the server still answers after SIGKILL"
    );
    let down = readyz_becomes(&health, 503, &worker).await;
    let not_ready_after = killed.elapsed();
    assert!(down.contains("not ready"), "{down}");
    assert!(worker.is_running(), "the worker exited:\n{}", worker.log());

    server.restart();
    let restarted = Instant::now();
    readyz_becomes(&health, 200, &worker).await;
    let ready_after = restarted.elapsed();
    assert!(worker.is_running(), "the worker exited:\n{}", worker.log());
    assert_eq!(worker.pid(), pid, "the worker was restarted");
    assert_eq!(
        worker.log().matches(READY_LINE).count(),
        1,
        "{}",
        worker.log()
    );

    let after = unique_id("outage");
    start(&client, &bundle, "faults-gate", &after, json!({"n": 2})).await;
    open_gates(&client, &[across.clone(), after.clone()]).await;
    let runs = [(across, status(1)), (after, status(2))];
    let tally = tally(&client, &runs, Instant::now() + LIMIT).await;
    println!(
        "outage: /readyz 503 {not_ready_after:.1?} after the kill ({}), 200 {ready_after:.1?} \
         after the restart; {} completed, {} failed, {} stuck in {:.0?}",
        down.trim(),
        tally.completed,
        tally.failed,
        tally.stuck,
        began.elapsed()
    );
    assert_eq!(
        tally.completed,
        2,
        "{}\n--- worker log ---\n{}",
        tally.problems.join("\n"),
        worker.log()
    );
    assert!(worker.is_running(), "the worker exited:\n{}", worker.log());
}

/// How long the slow endpoint holds each request.
const HOLD: Duration = Duration::from_secs(3);

/// An HTTP endpoint answering `200 ok` after [`HOLD`], counting requests begun and answered.
struct SlowEndpoint {
    url: String,
    begun: Arc<AtomicUsize>,
    answered: Arc<AtomicUsize>,
}

impl SlowEndpoint {
    fn start() -> SlowEndpoint {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the slow endpoint");
        let url = format!("http://{}/slow", listener.local_addr().expect("address"));
        let begun = Arc::new(AtomicUsize::new(0));
        let answered = Arc::new(AtomicUsize::new(0));
        let (b, a) = (begun.clone(), answered.clone());
        // The accept loop lives as long as the test process; it holds nothing else.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (b, a) = (b.clone(), a.clone());
                std::thread::spawn(move || answer_slowly(stream, &b, &a));
            }
        });
        SlowEndpoint {
            url,
            begun,
            answered,
        }
    }
}

fn answer_slowly(mut stream: TcpStream, begun: &AtomicUsize, answered: &AtomicUsize) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    begun.fetch_add(1, Ordering::SeqCst);
    std::thread::sleep(HOLD);
    let response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    if stream.write_all(response.as_bytes()).is_ok() {
        answered.fetch_add(1, Ordering::SeqCst);
    }
}

const SLOW: &str = r#"stave: 1
workflow: faults-slow
description: one slow HTTP call.
queue: standard
input:
  type: object
  required: [n, url]
  properties: { n: { type: integer }, url: { type: string } }
defaults:
  timeout: 30s
  retry: { max_attempts: 5, initial_interval: 200ms }
steps:
  - { id: call, activity: http.request, input: { url: "${ input.url }", timeout: 20s } }
output: "${ {'n': input.n, 'status': steps.call.status, 'body': steps.call.body} }"
"#;

/// SIGTERM to a worker with activities in flight: it finishes them, exits 0, and a worker
/// started afterwards completes every run — none fails.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_in_flight_activities_and_exits_zero() {
    let _serial = serial().await;
    let began = Instant::now();
    let server = TestServer::start();
    let endpoint = SlowEndpoint::start();
    let project = project("drain", &[("faults-slow.stave.yaml", SLOW)]);
    project.allow_loopback_http();
    let mut worker = spawn_worker(&project, &server, &["--shutdown-grace", "30s"]);
    let client = support::client(&server).await;
    let bundle = support::load_bundle(project.path());

    const RUNS: usize = 4;
    let mut runs = Vec::new();
    for n in 0..RUNS {
        let id = unique_id("drain");
        let input = json!({"n": n, "url": endpoint.url});
        start(&client, &bundle, "faults-slow", &id, input).await;
        runs.push((id, json!({"n": n, "status": 200, "body": "ok"})));
    }
    wait_with_log("every activity to reach the endpoint", &mut worker, |_| {
        endpoint.begun.load(Ordering::SeqCst) >= RUNS
    });
    let in_flight =
        endpoint.begun.load(Ordering::SeqCst) - endpoint.answered.load(Ordering::SeqCst);

    let status = worker.terminate(Duration::from_secs(60));
    let answered_at_exit = endpoint.answered.load(Ordering::SeqCst);
    let log = worker.log();
    let status = status.unwrap_or_else(|| panic!("no exit within 60 s of SIGTERM:\n{log}"));
    assert_eq!(status.code(), Some(0), "exit status {status}:\n{log}");
    assert!(log.contains("stave worker stopped"), "{log}");

    let mut successor = spawn_worker(&project, &server, &[]);
    let tally = tally(&client, &runs, Instant::now() + LIMIT).await;
    println!(
        "drain: {in_flight} activities in flight at SIGTERM, {answered_at_exit} answered by \
         the exit (exit code {:?}), {} requests in all; {} completed, {} failed, {} stuck in \
         {:.0?}",
        status.code(),
        endpoint.begun.load(Ordering::SeqCst),
        tally.completed,
        tally.failed,
        tally.stuck,
        began.elapsed()
    );
    assert_eq!(
        tally.completed,
        RUNS,
        "{}\n--- draining worker ---\n{log}\n--- successor ---\n{}",
        tally.problems.join("\n"),
        successor.log()
    );
    successor.kill_hard();
}

const LOOP: &str = r#"stave: 1
workflow: faults-loop
description: a while loop that continues as new every few iterations.
queue: standard
input:
  type: object
  required: [until]
  properties: { until: { type: integer } }
vars: { count: 0, sum: 0 }
continue_as_new_after: 20
defaults:
  timeout: 5s
  retry: { max_attempts: 3, initial_interval: 200ms }
steps:
  - id: loop
    while: "${ vars.count < input.until }"
    max_iterations: 100
    steps:
      - { id: tick, activity: log, input: { message: "tick ${ vars.count }" } }
      - set: { count: "${ vars.count + 1 }", sum: "${ vars.sum + vars.count }" }
output: "${ {'count': vars.count, 'sum': vars.sum} }"
"#;

/// The runs of workflow `id` from `first_run` on, following continue-as-new: each run's id
/// and how it closed.
async fn chain(client: &Client, id: &str, first_run: &str) -> Vec<(String, &'static str)> {
    let mut runs = Vec::new();
    let mut run_id = first_run.to_string();
    while runs.len() < 100 {
        let request = GetWorkflowExecutionHistoryRequest {
            namespace: client.namespace().to_string(),
            execution: Some(WorkflowExecution {
                workflow_id: id.to_string(),
                run_id: run_id.clone(),
            }),
            history_event_filter_type: HistoryEventFilterType::CloseEvent as i32,
            ..Default::default()
        };
        let history = client
            .connection()
            .workflow_service()
            .get_workflow_execution_history(request.into_request())
            .await
            .unwrap_or_else(|e| panic!("history of {id}/{run_id}: {e}"))
            .into_inner();
        let close = history
            .history
            .and_then(|h| h.events.into_iter().last())
            .and_then(|e| e.attributes);
        match close {
            Some(Attributes::WorkflowExecutionContinuedAsNewEventAttributes(a)) => {
                runs.push((run_id, "continued_as_new"));
                run_id = a.new_execution_run_id;
            }
            Some(Attributes::WorkflowExecutionCompletedEventAttributes(_)) => {
                runs.push((run_id, "completed"));
                break;
            }
            other => {
                runs.push((run_id, if other.is_some() { "closed" } else { "open" }));
                break;
            }
        }
    }
    runs
}

/// A `while` loop past `continue_as_new_after` continues as new on a real server, carrying
/// its state: the last run completes with the output of the whole loop.
#[tokio::test(flavor = "multi_thread")]
async fn while_loop_continues_as_new_on_a_real_server() {
    let _serial = serial().await;
    let began = Instant::now();
    let server = TestServer::start();
    let project = project("can", &[("faults-loop.stave.yaml", LOOP)]);
    let worker = spawn_worker(&project, &server, &[]);
    let client = support::client(&server).await;
    let bundle = support::load_bundle(project.path());

    let id = unique_id("can");
    let first_run = start(&client, &bundle, "faults-loop", &id, json!({"until": 12})).await;
    let finished = client
        .result(&id, None, Some(LIMIT))
        .await
        .unwrap_or_else(|e| panic!("{id}: {e}\n{}", worker.log()));
    let Outcome::Completed { result } = &finished.outcome else {
        panic!("{id}: {:?}\n{}", finished.outcome, worker.log());
    };
    assert_eq!(result, &json!({"count": 12, "sum": 66}));

    let runs = chain(&client, &id, &first_run).await;
    println!(
        "continue-as-new: 12 iterations over {} runs ({:?}) in {:.0?}",
        runs.len(),
        runs.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
        began.elapsed()
    );
    assert!(runs.len() > 1, "no continue-as-new: {runs:?}");
    assert_eq!(
        runs.last().map(|r| r.0.as_str()),
        Some(finished.run_id.as_str())
    );
    assert!(
        runs[..runs.len() - 1]
            .iter()
            .all(|(_, s)| *s == "continued_as_new"),
        "{runs:?}"
    );
    let first = client
        .describe(&id, Some(&first_run))
        .await
        .expect("describe");
    assert_eq!(first.status, "continued_as_new");
}

/// One broken file in a deploy does not take the project offline: the worker serves every
/// valid workflow, `/readyz` says "degraded" naming the file, the metric counts it, and a run
/// of the broken workflow already in flight finishes on its pinned version — on a queue no
/// valid workflow shares. `--strict` refuses to start instead.
#[tokio::test(flavor = "multi_thread")]
async fn a_broken_file_is_refused_and_the_rest_served() {
    let _serial = serial().await;
    let server = TestServer::start();
    let hello = support::workflow_source("e2e-hello");
    // The gate runs alone on `background`: only the refused file's runs need its poller.
    let gate = GATE_V1.replace("queue: standard", "queue: background");
    let project = project(
        "degraded",
        &[
            ("faults-gate.stave.yaml", &gate),
            ("hello.stave.yaml", &hello),
        ],
    );
    let mut worker = spawn_worker(&project, &server, &["--queues", "standard,background"]);
    let client = support::client(&server).await;
    let bundle = support::load_bundle(project.path());
    let in_flight = unique_id("degraded-gate");
    start(&client, &bundle, "faults-gate", &in_flight, json!({"n": 1})).await;
    wait_with_log("the gated run's first task", &mut worker, |w| {
        w.log()
            .contains(&format!("run started workflow_id={in_flight}"))
    });

    // A deploy breaks the gate's file.
    worker.kill_hard();
    project.write(
        "faults-gate.stave.yaml",
        &gate.replace("timeout: 10m", "timeout: forever"),
    );
    let strict = support::run_bounded(
        {
            let mut cmd = support::command(&stave_bin(), &server);
            cmd.args(["worker", "--project", &project.path_string(), "--strict"]);
            cmd
        },
        LIMIT,
    );
    assert_ne!(
        strict.status.code(),
        Some(0),
        "--strict started a broken project"
    );

    let addr = format!("127.0.0.1:{}", support::free_ports(1)[0]);
    let dir = project.path_string();
    let mut degraded = Proc::spawn_in(
        &stave_bin(),
        &[
            "worker",
            "--project",
            &dir,
            "--queues",
            "standard,background",
            "--metrics-addr",
            &addr,
        ],
        Some(project.path()),
        &server,
    );
    wait_ready(&mut degraded, 1);
    let body = readyz_becomes(&addr, 200, &degraded).await;
    assert!(body.contains("degraded"), "{body}");
    assert!(body.contains("faults-gate.stave.yaml"), "{body}");
    let metrics = tokio::task::spawn_blocking({
        let addr = addr.clone();
        move || support::http_get(&addr, "/metrics")
    })
    .await
    .expect("join")
    .expect("GET /metrics");
    assert!(
        metrics.1.contains("stave_workflow_files_refused 1"),
        "{}",
        metrics.1
    );

    // The valid workflow runs; the in-flight run of the broken one finishes on its version.
    let hello_id = unique_id("degraded-hello");
    start(
        &client,
        &bundle,
        "e2e-hello",
        &hello_id,
        json!({"name": "still here"}),
    )
    .await;
    client
        .signal(&in_flight, None, "go", None)
        .await
        .expect("signal");
    let deadline = Instant::now() + LIMIT;
    for (id, expected) in [
        (&hello_id, json!({"hello": "still here"})),
        (&in_flight, json!({"n": 1, "version": 1})),
    ] {
        match outcome_by(&client, id, deadline).await {
            Some(Outcome::Completed { result }) => assert_eq!(result, expected, "{id}"),
            other => panic!("{id}: {other:?}\n{}", tail(&degraded.log(), 40)),
        }
    }
    println!(
        "degraded: 1 file refused, /readyz 200 \"{}\"; 2 completed, 0 failed, 0 stuck",
        body.trim()
    );
}
