//! Driving runs from tests: connect, start pinned runs, poll queries, record histories.

use super::process::Proc;
use super::server::TestServer;
use serde_json::Value as Json;
use stave::ir::Bundle;
use stave::runtime::client::Client;
use stave::runtime::connect::{ConnectArgs, Retry};
use std::path::Path;
use std::time::{Duration, Instant};

/// The text of a test workflow under `tests/support/workflows/`.
pub fn workflow_source(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support/workflows")
        .join(format!("{name}.stave.yaml"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// `e2e-durable` edited as a redeploy would: a new first step and output `version: 2`.
/// Replaying a run of the original against it would be nondeterministic.
pub fn durable_v2_source() -> String {
    workflow_source("e2e-durable")
        .replace(
            "steps:\n",
            "steps:\n  - { id: zeroth, activity: log, input: { message: \"v2\" } }\n",
        )
        .replace("'version': 1", "'version': 2")
}

/// A library client of `server`'s `default` namespace.
pub async fn client(server: &TestServer) -> Client {
    let args = ConnectArgs {
        address: Some(server.address()),
        namespace: Some("default".into()),
        ..ConnectArgs::default()
    };
    let connected = args
        .connect(None, "stave-e2e", Retry::Once)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test server: {e}"));
    Client::new(connected)
}

/// Loads and checks a project; panics with the rendered diagnostics when it has errors.
pub fn load_bundle(dir: &Path) -> Bundle {
    let load = stave::check::load_project(dir);
    if let Some(bundle) = load.bundle.clone().filter(|_| !load.has_errors()) {
        return bundle;
    }
    let rendered: String = load
        .diagnostics
        .iter()
        .map(|d| {
            stave::diagnostics::render::render_human(
                &load.sources,
                d,
                stave::diagnostics::render::Style {
                    color: false,
                    ..Default::default()
                },
            )
        })
        .collect();
    panic!("the project in {} has errors:\n{rendered}", dir.display());
}

/// Starts `workflow` the way `stave start` does (its queue, timeout and pinned version).
pub async fn start_pinned(client: &Client, bundle: &Bundle, workflow: &str, id: &str, input: Json) {
    let wf = bundle
        .workflows
        .iter()
        .find(|w| w.name == workflow)
        .unwrap_or_else(|| panic!("no workflow `{workflow}` in the bundle"));
    let mut options = stave::cli::start::start_options(wf, input);
    options.workflow_id = id.to_string();
    client
        .start(&options)
        .await
        .unwrap_or_else(|e| panic!("cannot start {workflow} as {id}: {e}"));
}

/// Polls query `name` of run `id` until it answers `expected` (bounded); shows the worker's
/// log when it never does.
pub async fn wait_for_query(
    client: &Client,
    id: &str,
    name: &str,
    expected: &Json,
    limit: Duration,
    worker: &Proc,
) {
    let deadline = Instant::now() + limit;
    let mut last = String::new();
    while Instant::now() < deadline {
        match client
            .query(id, None, name, None, Duration::from_secs(10))
            .await
        {
            Ok(answer) if &answer == expected => return,
            Ok(answer) => last = answer.to_string(),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "query `{name}` of {id} never answered {expected} within {limit:?} (last: {last})\nworker log:\n{}",
        worker.log()
    );
}

/// With `STAVE_RECORD_HISTORIES=1`, saves run `id`'s history (Temporal's JSON, as
/// `temporal workflow show --output json` writes it) to `tests/histories/NAME.json` (NAME
/// starts with `e2e-`) for the replay tests, and the versions the project's worker served
/// (`PROJECT/.stave/versions/*.json`) to `tests/histories/e2e-versions/`, so the pinned IR
/// travels with the history. Off by default so test runs never modify the tree.
pub fn record_history(server: &TestServer, id: &str, name: &str, project: &Path) {
    if std::env::var("STAVE_RECORD_HISTORIES").as_deref() != Ok("1") {
        return;
    }
    let out = workflow_show(server, id);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/histories");
    std::fs::create_dir_all(&dir).expect("create tests/histories");
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, &out).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    let versions = dir.join("e2e-versions");
    std::fs::create_dir_all(&versions).expect("create tests/histories/e2e-versions");
    let served = project.join(stave::runtime::versions::DEFAULT_DIR);
    for entry in std::fs::read_dir(&served).into_iter().flatten().flatten() {
        let file = entry.path();
        if file.extension().is_some_and(|e| e == "json") {
            let target = versions.join(entry.file_name());
            std::fs::copy(&file, &target)
                .unwrap_or_else(|e| panic!("cannot copy {}: {e}", file.display()));
        }
    }
}

/// The full history of run `id` as `temporal workflow show --output json` prints it.
pub fn history_json(server: &TestServer, id: &str) -> Json {
    serde_json::from_slice(&workflow_show(server, id)).expect("temporal workflow show prints JSON")
}

/// `temporal workflow show --output json` of run `id`: its stdout.
fn workflow_show(server: &TestServer, id: &str) -> Vec<u8> {
    temporal_json(server, "show", id)
}

/// What Temporal's CLI (as the Web UI) reads through the built-in
/// `__temporal_workflow_metadata` query of run `id`: `{definition, currentDetails}`.
pub fn workflow_metadata(server: &TestServer, id: &str) -> Json {
    let out = temporal_json(server, "metadata", id);
    let answer: Json =
        serde_json::from_slice(&out).expect("temporal workflow metadata prints JSON");
    answer["queryResult"][0].clone()
}

/// `temporal workflow COMMAND --workflow-id ID --output json`: its stdout.
fn temporal_json(server: &TestServer, command: &str, id: &str) -> Vec<u8> {
    let out = std::process::Command::new("temporal")
        .args(["workflow", command, "--workflow-id", id, "--output", "json"])
        .arg("--address")
        .arg(server.address())
        .output()
        .unwrap_or_else(|e| panic!("run temporal workflow {command}: {e}"));
    assert!(
        out.status.success(),
        "temporal workflow {command} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Every text a history holds, searchable: the history JSON itself, then every payload's
/// `data` decoded from base64 (where the CLI prints payloads in their wire form).
pub fn history_text(history: &Json) -> String {
    use base64::Engine as _;
    fn walk(value: &Json, out: &mut String) {
        match value {
            Json::Object(map) => {
                if let Some(Json::String(data)) = map.get("data")
                    && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(data)
                {
                    out.push('\n');
                    out.push_str(&String::from_utf8_lossy(&bytes));
                }
                map.values().for_each(|v| walk(v, out));
            }
            Json::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = history.to_string();
    walk(history, &mut out);
    out
}
