//! End to end: runs carry their own program, so no worker needs a shared version store.
//!
//! Two workers with separate, empty version directories serve one task queue. Runs start
//! both ways a run can: by `stave start` (the program rides in the start memo) and by a
//! foreign client that knows nothing of Stave (the worker records the program on the run's
//! first task). Then one worker is redeployed with an edited file and an emptied version
//! directory, and the other is killed: the redeployed worker alone finishes every run on the
//! definition it started with, and new runs get the edited one.

mod support;

use serde_json::{Value as Json, json};
use stave::runtime::client::{Outcome, StartOptions};
use std::time::Duration;
use support::{Proc, TestProject, TestServer, stave_bin, unique_id};

const LIMIT: Duration = Duration::from_secs(120);
const WORKFLOW: &str = "e2e-durable";

fn worker(project: &TestProject, versions: &std::path::Path, server: &TestServer) -> Proc {
    Proc::spawn_in(
        &stave_bin(),
        &[
            "worker",
            "--project",
            &project.path_string(),
            "--versions-dir",
            &versions.display().to_string(),
        ],
        Some(project.path()),
        server,
    )
}

fn empty(dir: &std::path::Path) {
    for entry in std::fs::read_dir(dir).expect("versions dir") {
        std::fs::remove_file(entry.expect("entry").path()).expect("remove a version file");
    }
}

/// Signals the runs and checks each completes with the first definition's output.
async fn finish(client: &stave::runtime::client::Client, worker: &Proc, runs: &[(String, usize)]) {
    for (id, _) in runs {
        client.signal(id, None, "go", None).await.expect("signal");
    }
    for (id, n) in runs {
        let finished = client
            .result(id, None, Some(LIMIT))
            .await
            .unwrap_or_else(|e| panic!("{id}: {e}\nworker log:\n{}", worker.log()));
        let expected = json!({"n": n, "double": n * 2, "phase": "slept", "version": 1});
        match &finished.outcome {
            Outcome::Completed { result } => assert_eq!(result, &expected, "{id}"),
            other => panic!("{id}: {other:?}\nworker log:\n{}", worker.log()),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_resume_on_a_worker_that_never_saw_their_version() {
    let server = TestServer::shared();
    let a = TestProject::new("selfdesc");
    let b = TestProject::new("selfdesc-b");
    // One task queue: B uses A's settings.
    b.write(
        "stave.yaml",
        &std::fs::read_to_string(a.file("stave.yaml")).expect("A's settings"),
    );
    let v1_source = support::workflow_source(WORKFLOW);
    a.write("flow.stave.yaml", &v1_source);
    b.write("flow.stave.yaml", &v1_source);
    let (versions_a, versions_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut worker_a = worker(&a, versions_a.path(), server);
    let mut worker_b = worker(&b, versions_b.path(), server);
    let client = support::client(server).await;
    let v1 = support::load_bundle(a.path());
    let v1_program = v1.workflows.iter().find(|w| w.name == WORKFLOW).unwrap();

    // Three runs as `stave start` starts them, three from a client that sets no memo.
    let pinned: Vec<String> = (0..3).map(|_| unique_id("selfdesc-cli")).collect();
    let foreign: Vec<String> = (0..3).map(|_| unique_id("selfdesc-foreign")).collect();
    for (n, id) in pinned.iter().enumerate() {
        support::start_pinned(&client, &v1, WORKFLOW, id, json!({ "n": n })).await;
    }
    for (n, id) in foreign.iter().enumerate() {
        let options = StartOptions {
            workflow_type: WORKFLOW.into(),
            workflow_id: id.clone(),
            task_queue: v1_program.task_queue.clone(),
            input: json!({ "n": n + 10 }),
            memo: Vec::new(),
            execution_timeout: None,
            priority: None,
        };
        client.start(&options).await.expect("a foreign start");
    }
    let all: Vec<(String, usize)> = pinned
        .iter()
        .enumerate()
        .map(|(n, id)| (id.clone(), n))
        .chain(
            foreign
                .iter()
                .enumerate()
                .map(|(n, id)| (id.clone(), n + 10)),
        )
        .collect();
    for (id, _) in &all {
        support::wait_for_query(&client, id, "phase", &json!("gate"), LIMIT, &worker_a).await;
    }

    // Redeploy B with an edited file and nothing in its store; A dies for good.
    worker_b.kill_hard();
    b.write("flow.stave.yaml", &support::durable_v2_source());
    empty(versions_b.path());
    worker_b.restart();
    worker_a.kill_hard();

    // The foreign runs first: nothing but their own history can tell B their program.
    finish(&client, &worker_b, &all[3..]).await;
    let log = worker_b.log();
    assert!(
        log.contains("read the run's pinned program from its history"),
        "worker B log:\n{log}"
    );
    // B keeps what it read as a cache for its next start.
    assert!(
        versions_b
            .path()
            .join(format!("{}.json", v1_program.hash))
            .exists()
    );
    // Runs started by `stave start` carry their program from the start.
    finish(&client, &worker_b, &all[..3]).await;

    // A run started now gets the edited definition.
    let v2 = support::load_bundle(b.path());
    let id = unique_id("selfdesc-v2");
    support::start_pinned(&client, &v2, WORKFLOW, &id, json!({"n": 7})).await;
    support::wait_for_query(&client, &id, "phase", &json!("gate"), LIMIT, &worker_b).await;
    client.signal(&id, None, "go", None).await.expect("signal");
    let finished = client.result(&id, None, Some(LIMIT)).await.expect("v2");
    let Outcome::Completed { result } = &finished.outcome else {
        panic!("v2 run: {:?}\n{}", finished.outcome, worker_b.log());
    };
    assert_eq!(result["version"], Json::from(2));
}
