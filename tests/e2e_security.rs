//! End to end on a real dev server: what a run that uses secrets leaves behind.
//!
//! A `stave worker` process gets a secret from its environment (`STAVE_SECRET_*`); the workflow
//! sends it as a bearer token to a local HTTP server that echoes it back in its body and
//! headers, once with success and once with a 400 that the workflow catches into a variable.
//! The server must have seen the real token; the run's full history (payloads decoded), the
//! worker's log, `stave start --wait`, `stave query` and `stave describe` must hold only the
//! reference `⟦secret:api/token⟧`, never the value.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::runs::{history_json, history_text};
use support::{Proc, TestProject, TestServer, run_stave, stave_bin, stdout_ok, unique_id};

/// The secret's value: long and unusual, so a hit is never a coincidence.
const TOKEN: &str = "tok-7f3a9c1e-never-in-history-51d2";
const REFERENCE: &str = "⟦secret:api/token⟧";

const WORKFLOW: &str = r#"stave: 1
workflow: secret-call
queue: standard
input: { type: object, required: [base], properties: { base: { type: string } } }
vars: { status: started, failure: null }
defaults: { timeout: 10s }
queries:
  status: "${ vars }"
steps:
  - id: call
    activity: http.request
    input:
      url: "${ input.base + '/ok' }"
      headers: { Authorization: "Bearer ${ secret('api/token') }" }
  - id: announce
    activity: log
    input: { message: "calling with ${ secret('api/token') }" }
  - try:
      - id: refused
        activity: http.request
        retry: { max_attempts: 1 }
        input:
          url: "${ input.base + '/fail' }"
          headers: { Authorization: "Bearer ${ secret('api/token') }" }
    catch:
      - as: err
        steps: [ { set: { failure: "${ err }" } } ]
  - set: { status: done }
output: "${ {'body': steps.call.body, 'headers': steps.call.headers, 'failure': vars.failure} }"
"#;

/// A local HTTP server that records each request's `Authorization` header and echoes it:
/// `/ok` answers 200 with it in the body and an `x-seen` header; anything else answers 400
/// with it in the body.
fn echo_server() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the echo server");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut auth = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("authorization")
                {
                    auth = value.trim().to_string();
                }
            }
            log.lock().unwrap().push(auth.clone());
            let ok = request_line.split_whitespace().nth(1) == Some("/ok");
            let (status, body) = if ok {
                ("200 OK", format!("{{\"seen\": \"{auth}\"}}"))
            } else {
                ("400 Bad Request", format!("refused: {auth}"))
            };
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\nx-seen: {auth}\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let mut stream = stream;
            let _ = stream.write_all(response.as_bytes());
        }
    });
    (base, seen)
}

fn assert_clean(what: &str, text: &str) {
    assert!(
        !text.contains(TOKEN),
        "{what} holds the secret's value:\n{text}"
    );
}

#[test]
fn a_secret_reaches_the_server_and_nothing_else() {
    let server = TestServer::shared();
    let project = TestProject::new("secrets");
    project.write("flow.stave.yaml", WORKFLOW);
    let (base, seen) = echo_server();
    let mut worker = Proc::spawn_with_env(
        &stave_bin(),
        &["worker", "--project", &project.path_string()],
        Some(project.path()),
        &[("STAVE_SECRET_API_TOKEN", TOKEN)],
        server,
    );
    worker.wait_for_log("stave worker ready", Duration::from_secs(60));

    let id = unique_id("secret-call");
    let input = serde_json::json!({ "base": base }).to_string();
    let start = run_stave(
        server,
        &[
            "start",
            "secret-call",
            "--id",
            &id,
            "--input",
            &input,
            "--wait",
            "--json",
            "--project",
            &project.path_string(),
        ],
    );
    let started = stdout_ok(&start);
    assert_clean("stave start --wait", &started);
    assert_clean(
        "stave start --wait (stderr)",
        &String::from_utf8_lossy(&start.stderr),
    );

    // The server saw the real token on both calls.
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![format!("Bearer {TOKEN}"), format!("Bearer {TOKEN}")],
        "worker log:\n{}",
        worker.log()
    );

    // The result holds the echo, redacted back to the reference.
    let result: serde_json::Value = serde_json::from_str(&started).expect("start --json");
    let output = &result["result"];
    assert_eq!(
        output["body"],
        serde_json::json!(format!("{{\"seen\": \"Bearer {REFERENCE}\"}}")),
        "{result:#}"
    );
    assert_eq!(
        output["headers"]["x-seen"],
        serde_json::json!(format!("Bearer {REFERENCE}")),
        "{result:#}"
    );
    let failure = output["failure"].to_string();
    assert!(failure.contains("HttpClientError"), "{failure}");
    assert!(
        failure.contains(REFERENCE),
        "the caught error keeps the reference: {failure}"
    );

    // The full history, every payload decoded.
    let history = history_text(&history_json(server, &id));
    assert_clean("the run's history", &history);
    assert!(
        history.contains(REFERENCE),
        "the history holds the reference"
    );

    // Queries and describe.
    let query = run_stave(
        server,
        &["query", &id, "status", "--project", &project.path_string()],
    );
    let answer = stdout_ok(&query);
    assert_clean("stave query", &answer);
    assert!(answer.contains("done"), "{answer}");
    let describe = run_stave(server, &["describe", &id, "--json"]);
    assert_clean("stave describe", &stdout_ok(&describe));

    // The worker's own log, including the `log` step, which receives the reference.
    let log = worker.log();
    assert_clean("the worker log", &log);
    assert!(
        log.contains(&format!("calling with {REFERENCE}")),
        "the log step prints the reference:\n{log}"
    );
    worker.terminate(Duration::from_secs(10));
}

#[test]
fn a_missing_secret_fails_the_activity_clearly_and_the_run_waits() {
    let server = TestServer::shared();
    let project = TestProject::new("secrets-missing");
    project.write("flow.stave.yaml", WORKFLOW);
    let (base, seen) = echo_server();
    // No STAVE_SECRET_API_TOKEN: the worker cannot resolve the reference.
    let mut worker = Proc::spawn_in(
        &stave_bin(),
        &["worker", "--project", &project.path_string()],
        Some(project.path()),
        server,
    );
    worker.wait_for_log("stave worker ready", Duration::from_secs(60));
    let id = unique_id("secret-missing");
    let input = serde_json::json!({ "base": base }).to_string();
    stdout_ok(&run_stave(
        server,
        &[
            "start",
            "secret-call",
            "--id",
            &id,
            "--input",
            &input,
            "--project",
            &project.path_string(),
        ],
    ));
    // The activity fails retryably (an operator can add the secret) and says where it looked;
    // the run keeps waiting for it rather than failing.
    let describe = support::wait_until(
        "the missing secret in the run's pending activity",
        Duration::from_secs(60),
        || {
            let out = run_stave(server, &["describe", &id, "--json"]);
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            (text.contains("SecretUnavailable") && text.contains("STAVE_SECRET_API_TOKEN"))
                .then_some(text)
        },
    );
    assert!(describe.contains("\"status\": \"running\""), "{describe}");
    assert!(seen.lock().unwrap().is_empty(), "no request went out");
    let _ = run_stave(server, &["cancel", &id]);
    worker.terminate(Duration::from_secs(10));
}
