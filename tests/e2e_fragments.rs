//! End to end: one file (text form) defines two workflow types that share a fragment; the
//! stock `stave worker` serves both, `stave start` starts each by its type, and each run
//! completes with its own variables through the shared steps.

mod support;

use serde_json::{Value as Json, json};
use std::time::Duration;
use support::{Proc, TestProject, TestServer, run_stave, stave_bin, stdout_ok, unique_id};

const FAMILY: &str = r#"stave 1

fragment greet {
  greeting = `${ vars.salutation } ${ input.name }`
  sleep 1s
  count = vars.count + 1
}

workflow greet-formal {
  var salutation = "Good day,"
  var greeting = ""
  var count = 0
  use greet
  output {"greeting": vars.greeting, "count": vars.count, "type": workflow.type}
}

workflow greet-casual {
  var salutation = "Hi"
  var greeting = ""
  var count = 10
  use greet
  step again = use greet when input.twice
  output {"greeting": vars.greeting, "count": vars.count, "type": workflow.type}
}
"#;

fn result(server: &TestServer, worker: &Proc, id: &str) -> Json {
    let out = run_stave(server, &["result", id, "--timeout", "60", "--json"]);
    let finished: Json = serde_json::from_str(&stdout_ok(&out))
        .unwrap_or_else(|e| panic!("{id}: {e}\nworker log:\n{}", worker.log()));
    assert_eq!(finished["status"], json!("completed"), "{finished}");
    finished["result"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_workflow_types_from_one_file_run_their_shared_steps() {
    let server = TestServer::shared();
    let project = TestProject::new("family");
    project.write("greetings.stave", FAMILY);
    let mut worker = Proc::spawn_in(
        &stave_bin(),
        &["worker", "--project", &project.path_string()],
        Some(project.path()),
        server,
    );
    worker.wait_for_log("stave worker ready", Duration::from_secs(60));
    let runs = [
        (
            "greet-formal",
            json!({"name": "Ada"}),
            json!({"greeting": "Good day, Ada", "count": 1, "type": "greet-formal"}),
        ),
        (
            "greet-casual",
            json!({"name": "Bo", "twice": true}),
            json!({"greeting": "Hi Bo", "count": 12, "type": "greet-casual"}),
        ),
    ];
    let mut ids = Vec::new();
    for (workflow, input, _) in &runs {
        let id = unique_id(workflow);
        let input = input.to_string();
        stdout_ok(&run_stave(
            server,
            &[
                "start",
                workflow,
                "--project",
                &project.path_string(),
                "--id",
                &id,
                "--input",
                &input,
            ],
        ));
        ids.push(id);
    }
    for ((_, _, expected), id) in runs.iter().zip(&ids) {
        assert_eq!(&result(server, &worker, id), expected, "{id}");
    }
}
