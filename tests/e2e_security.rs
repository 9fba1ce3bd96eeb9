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

/// The echo server listens on loopback, which `http.request` reaches only when allowed.
fn allow_loopback(project: &TestProject) {
    let settings = std::fs::read_to_string(project.file("stave.yaml")).expect("stave.yaml");
    project.write(
        "stave.yaml",
        &format!("{settings}http: {{ allow_hosts: [127.0.0.1] }}\n"),
    );
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
    allow_loopback(&project);
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
    allow_loopback(&project);
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

// ---------------------------------------------------------------------------------------------
// Payload encryption.

const SEALED: &str = r#"stave: 1
workflow: sealed
queue: standard
input: { type: object, required: [card], properties: { card: { type: string } } }
vars: { by: null }
defaults: { timeout: 10s, retry: { max_attempts: 3 } }
signals:
  go: { set: { by: "${ signal.by }" } }
queries:
  who: "${ vars.by }"
steps:
  - id: note
    activity: log
    input: { message: "${ 'charging ' + input.card }" }
  - wait: { signal: go, until: "${ vars.by != null }", timeout: 1h }
output: "${ {'card': input.card, 'by': vars.by} }"
"#;

fn key(byte: u8) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode([byte; 32])
}

/// `stave ARGS` with extra environment variables, to completion.
fn stave_env(server: &TestServer, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let mut cmd = support::command(&stave_bin(), server);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    support::run_bounded(cmd, Duration::from_secs(120))
}

/// Every payload of a history (objects with an `encoding` in their metadata), as
/// (encoding, key id) decoded from base64 — except core's own: its patch markers and the
/// `TemporalChangeVersion` search attribute hold patch ids, and search attributes must stay
/// readable to the server.
fn payloads(history: &serde_json::Value) -> Vec<(String, Option<String>)> {
    use base64::Engine as _;
    let b64 = |v: &serde_json::Value| {
        v.as_str()
            .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    };
    fn walk(v: &serde_json::Value, out: &mut Vec<serde_json::Value>) {
        match v {
            serde_json::Value::Object(map) => {
                if map
                    .get("metadata")
                    .is_some_and(|m| m.get("encoding").is_some())
                {
                    out.push(v.clone());
                }
                map.iter()
                    .filter(|(k, _)| *k != "searchAttributes" && *k != "patch-data")
                    .for_each(|(_, v)| walk(v, out));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(history, &mut found);
    found
        .iter()
        .map(|p| {
            (
                b64(&p["metadata"]["encoding"]).unwrap_or_default(),
                b64(&p["metadata"]["encryption-key-id"]),
            )
        })
        .collect()
}

/// The input payloads of a history's first event, in protobuf JSON.
fn start_input(history: &serde_json::Value) -> serde_json::Value {
    history["events"][0]["workflowExecutionStartedEventAttributes"]["input"].clone()
}

#[test]
fn encrypted_payloads_are_ciphertext_in_history_and_plaintext_through_the_codec() {
    let server = TestServer::shared();
    let project = TestProject::new("sealed");
    let settings = std::fs::read_to_string(project.file("stave.yaml")).unwrap();
    project.write(
        "stave.yaml",
        &format!("{settings}encryption: {{ key: payload/k1 }}\n"),
    );
    project.write("sealed.stave.yaml", SEALED);
    let (k1, k2) = (key(1), key(2));
    let env_k1 = [("STAVE_SECRET_PAYLOAD_K1", k1.as_str())];
    let p = project.path_string();
    let mut worker = Proc::spawn_with_env(
        &stave_bin(),
        &["worker", "--project", &p],
        Some(project.path()),
        &env_k1,
        server,
    );
    worker.wait_for_log("stave worker ready", Duration::from_secs(60));

    // A run: input, activity input, signal, query answer and result all pass through the codec.
    let id = unique_id("sealed");
    stdout_ok(&stave_env(
        server,
        &env_k1,
        &[
            "start",
            "sealed",
            "--id",
            &id,
            "--input",
            r#"{"card":"MARKER-4242"}"#,
            "--project",
            &p,
        ],
    ));
    stdout_ok(&stave_env(
        server,
        &env_k1,
        &[
            "signal",
            &id,
            "go",
            "--input",
            r#"{"by":"MARKER-SIG"}"#,
            "--project",
            &p,
        ],
    ));
    let result = stdout_ok(&stave_env(
        server,
        &env_k1,
        &["result", &id, "--project", &p],
    ));
    assert!(
        result.contains("MARKER-4242") && result.contains("MARKER-SIG"),
        "{result}\nworker log:\n{}",
        worker.log()
    );
    let who = stdout_ok(&stave_env(
        server,
        &env_k1,
        &["query", &id, "who", "--project", &p],
    ));
    assert!(who.contains("MARKER-SIG"), "{who}");

    // The history holds ciphertext only: every payload is encrypted with key k1.
    let history = history_json(server, &id);
    assert_clean_of("the history", &history_text(&history), "MARKER-");
    let all = payloads(&history);
    assert!(
        all.len() >= 5,
        "input, memo, activity input and result, signal, output: {all:?}"
    );
    for (encoding, key_id) in &all {
        assert_eq!(encoding, "binary/encrypted", "{all:?}");
        assert_eq!(key_id.as_deref(), Some("payload/k1"), "{all:?}");
    }

    // Without the project's keys a client says what it needs instead of printing ciphertext.
    let outside = tempfile::tempdir().unwrap();
    let mut cmd = support::command(&stave_bin(), server);
    cmd.args(["result", &id]).current_dir(outside.path());
    let out = support::run_bounded(cmd, Duration::from_secs(60));
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        shown.contains("encrypted") && shown.contains("--project"),
        "{shown}"
    );
    assert_clean_of("`stave result` without keys", &shown, "MARKER-");

    // The codec server decrypts for the Web UI: token required, CORS for the UI's origin.
    let port = support::free_ports(1)[0];
    let listen = format!("127.0.0.1:{port}");
    let mut codec = Proc::spawn_with_env(
        &stave_bin(),
        &[
            "codec-server",
            "--project",
            &p,
            "--listen",
            &listen,
            "--cors-origin",
            "http://localhost:8233",
        ],
        Some(project.path()),
        &[
            ("STAVE_SECRET_PAYLOAD_K1", &k1),
            ("STAVE_CODEC_TOKEN", "ui-token"),
        ],
        server,
    );
    codec.wait_for_log("listening", Duration::from_secs(30));
    let body = start_input(&history).to_string();
    let json = [
        ("Content-Type", "application/json"),
        ("X-Namespace", "default"),
    ];
    let refused = support::http_call(&listen, "POST", "/decode", &json, &body).unwrap();
    assert_eq!(refused.status, 401, "{refused:?}");
    let mut authorised = json.to_vec();
    authorised.push(("Authorization", "Bearer ui-token"));
    let decoded = support::http_call(&listen, "POST", "/decode", &authorised, &body).unwrap();
    assert_eq!(decoded.status, 200, "{decoded:?}");
    let decoded: serde_json::Value = serde_json::from_str(&decoded.body).unwrap();
    assert_eq!(
        payloads(&decoded),
        vec![("json/plain".to_string(), None)],
        "{decoded}"
    );
    assert!(history_text(&decoded).contains("MARKER-4242"), "{decoded}");
    let preflight = support::http_call(
        &listen,
        "OPTIONS",
        "/decode",
        &[
            ("Origin", "http://localhost:8233"),
            ("Access-Control-Request-Method", "POST"),
        ],
        "",
    )
    .unwrap();
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("http://localhost:8233")
    );
    let foreign = support::http_call(
        &listen,
        "OPTIONS",
        "/decode",
        &[("Origin", "http://evil.test")],
        "",
    )
    .unwrap();
    assert_eq!(foreign.header("access-control-allow-origin"), None);
    // Temporal's own CLI reads the history through it: the codec protocol is Temporal's.
    let shown = std::process::Command::new("temporal")
        .args(["workflow", "show", "--workflow-id", &id, "--output", "json"])
        .args(["--address", &server.address()])
        .args(["--codec-endpoint", &format!("http://{listen}")])
        .args(["--codec-auth", "Bearer ui-token"])
        .output()
        .expect("run temporal workflow show");
    let shown = match serde_json::from_slice(&shown.stdout) {
        Ok(history) => history_text(&history),
        Err(_) => String::from_utf8_lossy(&shown.stderr).into_owned(),
    };
    assert!(
        shown.contains("MARKER-4242") && shown.contains("MARKER-SIG"),
        "temporal workflow show through the codec server:\n{shown}\n{}",
        codec.log()
    );
    codec.terminate(Duration::from_secs(10));

    // Rotation: k2 writes, k1 still reads; dropping k1 from decrypt_with says to add it back.
    project.write(
        "stave.yaml",
        &format!("{settings}encryption: {{ key: payload/k2, decrypt_with: [payload/k1] }}\n"),
    );
    let both = [
        ("STAVE_SECRET_PAYLOAD_K1", k1.as_str()),
        ("STAVE_SECRET_PAYLOAD_K2", k2.as_str()),
    ];
    worker.terminate(Duration::from_secs(20));
    let mut rotated = Proc::spawn_with_env(
        &stave_bin(),
        &["worker", "--project", &p],
        Some(project.path()),
        &both,
        server,
    );
    rotated.wait_for_log("stave worker ready", Duration::from_secs(60));
    let old = stdout_ok(&stave_env(server, &both, &["result", &id, "--project", &p]));
    assert!(old.contains("MARKER-4242"), "{old}");
    let id2 = unique_id("sealed-k2");
    stdout_ok(&stave_env(
        server,
        &both,
        &[
            "start",
            "sealed",
            "--id",
            &id2,
            "--input",
            r#"{"card":"MARKER-2"}"#,
            "--project",
            &p,
        ],
    ));
    stdout_ok(&stave_env(
        server,
        &both,
        &[
            "signal",
            &id2,
            "go",
            "--input",
            r#"{"by":"b"}"#,
            "--project",
            &p,
        ],
    ));
    let new = stdout_ok(&stave_env(
        server,
        &both,
        &["result", &id2, "--project", &p],
    ));
    assert!(new.contains("MARKER-2"), "{new}\n{}", rotated.log());
    let history2 = history_json(server, &id2);
    for (encoding, key_id) in payloads(&history2) {
        assert_eq!(encoding, "binary/encrypted");
        assert_eq!(key_id.as_deref(), Some("payload/k2"));
    }
    project.write(
        "stave.yaml",
        &format!("{settings}encryption: {{ key: payload/k2 }}\n"),
    );
    let out = stave_env(server, &both, &["result", &id, "--project", &p]);
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        shown.contains("payload/k1") && shown.contains("decrypt_with"),
        "{shown}"
    );
    assert_clean_of("`stave result` without the old key", &shown, "MARKER-");
    rotated.terminate(Duration::from_secs(20));
}

fn assert_clean_of(what: &str, text: &str, needle: &str) {
    assert!(!text.contains(needle), "{what} holds {needle:?}:\n{text}");
}
