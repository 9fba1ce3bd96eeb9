//! `stave replay` on histories recorded from a real server (tests/histories/worker-*.json).
//!
//! `worker-greet-v1.json` was recorded while `tests/fixtures/worker-replay/worker-greet.stave.yaml`
//! was at version 1; the file has since been edited (a new first step). The run is pinned to
//! version 1, kept in the fixture's versions store, so it replays cleanly; replayed against the
//! edited file (`--current`) it is nondeterministic, and the gate says where.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use stave::runtime::replay::{self, Verdict};
use stave::runtime::versions::VersionStore;
use stave::runtime::worker::ProgramChoice;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn project() -> PathBuf {
    root().join("tests/fixtures/worker-replay")
}

fn history(name: &str) -> String {
    root()
        .join("tests/histories")
        .join(name)
        .display()
        .to_string()
}

fn stave(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stave"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run stave")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_run_started_under_version_1_replays_after_the_file_is_edited() {
    let project = project();
    let out = stave(&[
        "replay",
        "--project",
        &project.display().to_string(),
        "--history",
        &history("worker-greet-v1.json"),
        "--history",
        &history("worker-fanout.json"),
    ]);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(shown.contains("ok    "), "{shown}");
    assert!(shown.contains("2 replayed, 0 failed"), "{shown}");
}

#[test]
fn replaying_against_the_edited_file_reports_nondeterminism_with_the_event() {
    let out = stave(&[
        "replay",
        "--project",
        &project().display().to_string(),
        "--history",
        &history("worker-greet-v1.json"),
        "--current",
    ]);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(shown.contains("FAIL"), "{shown}");
    assert!(shown.contains("Nondeterminism"), "{shown}");
    assert!(
        shown.contains("HistoryEvent(id: 14, TimerStarted)"),
        "{shown}"
    );
}

#[test]
fn a_missing_version_fails_and_says_how_to_restore_it() {
    let empty = tempfile::tempdir().expect("temp dir");
    let out = stave(&[
        "replay",
        "--project",
        &project().display().to_string(),
        "--versions-dir",
        &empty.path().display().to_string(),
        "--history",
        &history("worker-greet-v1.json"),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    assert_eq!(report["failed"], 1);
    let error = report["histories"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("does not have"), "{error}");
    assert!(
        error.contains("5c4475f1b6e2607a74a6e3c022147da61fd3ce7fb2e4d34547b5d08a2ff4ebe4.json"),
        "{error}"
    );
}

#[test]
fn unreadable_histories_exit_2_naming_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"events\": 3}").expect("write");
    let out = stave(&[
        "replay",
        "--project",
        &project().display().to_string(),
        "--history",
        &bad.display().to_string(),
    ]);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert!(
        shown.contains("bad.json: not a Temporal history"),
        "{shown}"
    );
}

#[tokio::test]
async fn the_library_reports_the_pinned_version_per_history() {
    let load = stave::check::load_project(&project());
    let bundle = load.bundle.expect("the fixture project is clean");
    let current = bundle.workflows.into_iter().map(Arc::new).collect();
    let store = Arc::new(VersionStore::new(project().join(".stave/versions")));
    let mut histories = Vec::new();
    for name in ["worker-greet-v1.json", "worker-fanout.json"] {
        let path = history(name);
        let text = std::fs::read_to_string(Path::new(&path)).expect("read history");
        histories.push(replay::parse_history(&path, &text).expect("parse history"));
    }
    let outcomes = replay::replay(histories, current, store, ProgramChoice::Pinned)
        .await
        .expect("replay");
    assert_eq!(outcomes.len(), 2);
    assert_eq!(outcomes[0].workflow_type, "worker-greet");
    assert_eq!(outcomes[0].verdict, Verdict::Replayed);
    assert_eq!(
        outcomes[0].version.as_deref(),
        Some("5c4475f1b6e2607a74a6e3c022147da61fd3ce7fb2e4d34547b5d08a2ff4ebe4@1")
    );
    assert_eq!(outcomes[1].verdict, Verdict::Replayed);
}
