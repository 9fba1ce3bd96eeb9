//! End to end: every sample workflow in `workflows/` runs to completion on a real dev server,
//! served by a worker with the `project-ai` example's activities (the samples' stand-ins),
//! driven through the `stave` binary.
//!
//! The worker runs in-process with the example's own activity code (compiled in from
//! `examples/project_ai/activities.rs`): `cargo test --test e2e_samples` does not build
//! examples, and a stale example binary would test old code.

mod support;

#[path = "../examples/project_ai/activities.rs"]
mod project_ai;

use serde_json::{Value as Json, json};
use stave::runtime::activity::Registry;
use std::path::Path;
use std::time::Duration;
use support::{InProcessWorker, TestProject, TestServer, run_stave, stdout_ok, wait_until};

/// An input for each sample, and the signals a run needs to finish (sent after the start;
/// handlers run on arrival and waits consume buffered arrivals). A new sample without an
/// entry here fails `every_sample_completes`, so the table keeps up with `workflows/`.
fn sample_runs(name: &str) -> Option<(Json, Vec<(&'static str, Json)>)> {
    let order = |amount: f64| {
        json!({
            "order_id": "o-1001", "amount": amount, "card": "tok_visa", "email": "ada@example.com",
            "items": [{"sku": "KB-101", "qty": 1}, {"sku": "MS-220", "qty": 2}],
        })
    };
    Some(match name {
        "order-fulfilment" => (order(249.5), vec![]),
        "fraud-review" => (json!({"order_id": "o-77", "amount": 7200}), vec![]),
        "ai-inference" => (json!({"prompt": "Summarise the release notes"}), vec![]),
        "data-analysis" => (
            json!({"url": "https://data.example/sales.csv", "analyses": ["mean", "trend"]}),
            vec![],
        ),
        "image-generation" => (
            json!({"prompt": "a lighthouse at dusk", "user_id": "u-1", "variants": 2}),
            vec![],
        ),
        "learning-path" => (
            json!({"user_id": "u-2", "goal": "rust"}),
            vec![("accept", json!(null))],
        ),
        "nightly-cleanup" => (json!({"older_than_days": 30}), vec![]),
        // Messages named `update:NAME` are Temporal updates (`stave update`), sent in order.
        "expense-report" => (
            json!({"employee": "ada"}),
            vec![
                ("update:add_line", json!({"amount_cents": 1250})),
                ("update:add_line", json!({"amount_cents": 399})),
                ("update:submit", json!(null)),
                ("update:approve", json!(null)),
            ],
        ),
        "scheduled-report" => (
            json!({"period": "2026-10", "recipients": ["ops@example.com", "cto@example.com"]}),
            vec![],
        ),
        _ => return None,
    })
}

struct Samples {
    project: TestProject,
    _worker: InProcessWorker,
}

fn samples() -> &'static Samples {
    static SAMPLES: std::sync::OnceLock<Samples> = std::sync::OnceLock::new();
    SAMPLES.get_or_init(|| {
        let server = TestServer::shared();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let project = TestProject::copy_of("samples", root);
        let bundle = support::load_bundle(project.path());
        let registry = project_ai::register(Registry::with_builtins());
        let worker = InProcessWorker::start(server, project.path(), bundle, registry);
        Samples {
            project,
            _worker: worker,
        }
    })
}

fn start(name: &str, id: &str, input: &Json) {
    let server = TestServer::shared();
    let dir = samples().project.path_string();
    let input = input.to_string();
    stdout_ok(&run_stave(
        server,
        &[
            "start",
            name,
            "--project",
            &dir,
            "--id",
            id,
            "--input",
            &input,
        ],
    ));
}

fn result(id: &str) -> Json {
    let server = TestServer::shared();
    let out = run_stave(server, &["result", id, "--timeout", "90", "--json"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    serde_json::from_str(&text).unwrap_or_else(|_| {
        panic!(
            "no result for {id}: {}\n{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn every_sample_completes() {
    let server = TestServer::shared();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = stave::check::workflow_files(&root.join("workflows")).expect("list workflows/");
    let bundle = support::load_bundle(samples().project.path());
    assert!(!bundle.workflows.is_empty(), "no samples in workflows/");
    // Each sample is written in both forms; both lower to one workflow type.
    let mut names: Vec<&str> = bundle.workflows.iter().map(|w| w.name.as_str()).collect();
    names.sort();
    names.dedup();
    assert!(files.len() >= names.len());
    let mut started = Vec::new();
    for name in &names {
        let (input, signals) = sample_runs(name)
            .unwrap_or_else(|| panic!("sample `{name}` has no input in tests/e2e_samples.rs"));
        let id = support::unique_id(&format!("sample-{name}"));
        start(name, &id, &input);
        for (message, payload) in signals {
            let payload = payload.to_string();
            let (command, name) = match message.strip_prefix("update:") {
                Some(update) => ("update", update),
                None => ("signal", message),
            };
            stdout_ok(&run_stave(
                server,
                &[command, &id, name, "--input", &payload],
            ));
        }
        started.push((name.to_string(), id));
    }
    for (name, id) in started {
        let finished = result(&id);
        assert_eq!(
            finished["status"],
            json!("completed"),
            "sample `{name}` ({id}) did not complete: {finished}"
        );
        assert!(
            !finished["result"].is_null(),
            "sample `{name}` returned null"
        );
        check_output(&name, &finished["result"]);
    }
}

/// What the workflow logic itself determines (not the stand-ins' invented values).
fn check_output(name: &str, output: &Json) {
    match name {
        "expense-report" => {
            assert_eq!(
                output,
                &json!({"employee": "ada", "total_cents": 1649}),
                "{output}"
            );
        }
        "order-fulfilment" => {
            assert_eq!(output["order_id"], json!("o-1001"), "{output}");
            assert_eq!(output["status"], json!("shipped"), "{output}");
            assert_eq!(
                output["tracking"].as_array().map(Vec::len),
                Some(2),
                "{output}"
            );
        }
        "fraud-review" => assert_eq!(output["order_id"], json!("o-77"), "{output}"),
        "learning-path" => assert_eq!(output["status"], json!("enrolled"), "{output}"),
        "image-generation" => {
            assert_eq!(
                output["images"].as_array().map(Vec::len),
                Some(2),
                "{output}"
            )
        }
        "scheduled-report" => assert_eq!(output["sent"], json!(2), "{output}"),
        _ => {}
    }
}

#[test]
fn large_order_waits_for_approval_signalled_through_the_binary() {
    let server = TestServer::shared();
    let dir = samples().project.path_string();
    let id = support::unique_id("sample-big-order");
    let input = json!({
        "order_id": "o-2002", "amount": 2500, "card": "tok_visa", "email": "bo@example.com",
        "items": [{"sku": "TV-55", "qty": 1}],
    });
    start("order-fulfilment", &id, &input);
    wait_until("the order to be charged", Duration::from_secs(60), || {
        let out = run_stave(server, &["query", &id, "status", "--project", &dir]);
        let status: Json = serde_json::from_slice(&out.stdout).ok()?;
        (status == json!("charged")).then_some(())
    });
    stdout_ok(&run_stave(
        server,
        &[
            "signal",
            &id,
            "approve",
            "--input",
            r#"{"by": "ana"}"#,
            "--project",
            &dir,
        ],
    ));
    let finished = result(&id);
    assert_eq!(finished["status"], json!("completed"), "{finished}");
    assert_eq!(finished["result"]["order_id"], json!("o-2002"));
    let approver = run_stave(server, &["query", &id, "approver", "--project", &dir]);
    assert_eq!(
        serde_json::from_slice::<Json>(&approver.stdout).ok(),
        Some(json!("ana"))
    );
}
