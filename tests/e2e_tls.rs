//! mTLS end to end: `stave` worker and client through a client-certificate proxy, and its failures.
//!
//! The dev server speaks plain gRPC, so `support::tls::TlsProxy` terminates TLS in front of
//! it with test certificates (a CA, a server certificate for `localhost`, a client
//! certificate). A workflow runs to completion through it; a wrong CA, an expired server
//! certificate and a missing client certificate each fail fast, naming the cause and the fix.

mod support;

use std::process::Output;
use std::time::{Duration, Instant};

use support::tls::{PemFiles, TestCa, TlsProxy, Validity};
use support::{Proc, TestProject, TestServer, run_stave, stave_bin, stdout_ok, unique_id};

const HELLO: &str = include_str!("support/workflows/e2e-hello.stave.yaml");

/// A failure must come well within this: certificate errors are not worth retrying.
const FAIL_FAST: Duration = Duration::from_secs(20);

/// The certificates of one test: a CA, its server certificate and client certificate, as
/// files `stave` reads.
struct Pki {
    ca: TestCa,
    files: PemFiles,
    ca_pem: String,
    client_cert: String,
    client_key: String,
}

impl Pki {
    fn new() -> Pki {
        let ca = TestCa::new("stave test CA");
        let files = PemFiles::new();
        let client = ca.client("stave-worker");
        Pki {
            ca_pem: files.write("ca.pem", &ca.cert_pem()),
            client_cert: files.write("client.pem", &client.cert_pem),
            client_key: files.write("client.key", &client.key_pem),
            ca,
            files,
        }
    }

    /// A proxy presenting a `localhost` certificate of this CA (or an expired one).
    fn proxy(&self, server: &TestServer, validity: Validity) -> TlsProxy {
        TlsProxy::start(
            &self.ca.server("localhost", validity),
            &self.ca,
            server.port(),
        )
    }
}

/// The connection flags for `proxy`, trusting `ca` and presenting the client certificate
/// when `client` is set.
fn tls_flags(proxy: &TlsProxy, ca: &str, client: Option<&Pki>) -> Vec<String> {
    let mut flags = vec![
        "--address".to_owned(),
        proxy.address(),
        "--tls-ca".to_owned(),
        ca.to_owned(),
        "--tls-server-name".to_owned(),
        "localhost".to_owned(),
    ];
    if let Some(pki) = client {
        flags.extend([
            "--tls-cert".to_owned(),
            pki.client_cert.clone(),
            "--tls-key".to_owned(),
            pki.client_key.clone(),
        ]);
    }
    flags
}

fn hello_project() -> TestProject {
    let project = TestProject::new("tls");
    project.write("workflows/e2e-hello.stave.yaml", HELLO);
    project
}

/// `stave start e2e-hello --wait` with `flags`, timed.
fn start_hello(server: &TestServer, project: &TestProject, flags: &[String]) -> (Output, Duration) {
    let id = unique_id("tls-hello");
    let dir = project.path_string();
    let mut args = vec![
        "start",
        "e2e-hello",
        "--input",
        r#"{"name":"tls"}"#,
        "--id",
        &id,
        "--wait",
        "--project",
        &dir,
    ];
    args.extend(flags.iter().map(String::as_str));
    let began = Instant::now();
    let out = run_stave(server, &args);
    (out, began.elapsed())
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A clear failure: exit 1, no panic, in bounded time, the message containing every `needle`.
fn assert_clear_failure(out: &Output, took: Duration, needles: &[&str]) {
    let text = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    assert!(took < FAIL_FAST, "took {took:?}: {text}");
    for needle in needles {
        assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
    }
}

#[test]
fn worker_and_client_run_a_workflow_over_mtls() {
    let server = TestServer::shared();
    let pki = Pki::new();
    let proxy = pki.proxy(server, Validity::Current);
    let project = hello_project();
    let flags = tls_flags(&proxy, &pki.ca_pem, Some(&pki));
    let dir = project.path_string();
    let mut args = vec!["worker", "--project", &dir];
    args.extend(flags.iter().map(String::as_str));
    let mut worker = Proc::spawn(&stave_bin(), &args, server);
    worker.wait_for_log("stave worker ready", Duration::from_secs(60));
    assert!(
        worker
            .log()
            .contains(&format!("https://{}", proxy.address())),
        "{}",
        worker.log()
    );

    let (out, _) = start_hello(server, &project, &flags);
    let stdout = stdout_ok(&out);
    assert!(stdout.contains(r#""hello": "tls""#), "{stdout}");
    // The worker and the client each went through the proxy.
    assert!(proxy.handshakes() >= 2, "{} handshakes", proxy.handshakes());
}

#[test]
fn a_server_certificate_from_another_ca_is_refused_with_the_fix() {
    let server = TestServer::shared();
    let pki = Pki::new();
    let proxy = pki.proxy(server, Validity::Current);
    let other = TestCa::new("some other CA");
    let other_pem = pki.files.write("other-ca.pem", &other.cert_pem());
    let (out, took) = start_hello(
        server,
        &hello_project(),
        &tls_flags(&proxy, &other_pem, Some(&pki)),
    );
    assert_clear_failure(
        &out,
        took,
        &[
            &proxy.address(),
            "UnknownIssuer",
            "not signed by a CA",
            "--tls-ca",
        ],
    );
    assert_eq!(proxy.handshakes(), 0);
}

#[test]
fn an_expired_server_certificate_is_refused_with_the_fix() {
    let server = TestServer::shared();
    let pki = Pki::new();
    let proxy = pki.proxy(server, Validity::Expired);
    let (out, took) = start_hello(
        server,
        &hello_project(),
        &tls_flags(&proxy, &pki.ca_pem, Some(&pki)),
    );
    assert_clear_failure(
        &out,
        took,
        &[&proxy.address(), "certificate expired", "renew it"],
    );
}

#[test]
fn a_missing_client_certificate_is_refused_with_the_fix() {
    let server = TestServer::shared();
    let pki = Pki::new();
    let proxy = pki.proxy(server, Validity::Current);
    let flags = tls_flags(&proxy, &pki.ca_pem, None);
    let (out, took) = start_hello(server, &hello_project(), &flags);
    assert_clear_failure(
        &out,
        took,
        &[
            &proxy.address(),
            "requires a client certificate",
            "--tls-cert",
        ],
    );

    // The worker retries, since a dropped connection can be transient, then says the same.
    let project = hello_project();
    let dir = project.path_string();
    let mut args = vec!["worker", "--project", &dir, "--wait-for-server", "2s"];
    args.extend(flags.iter().map(String::as_str));
    let mut cmd = support::command(&stave_bin(), server);
    cmd.args(&args);
    let began = Instant::now();
    let out = support::run_bounded(cmd, Duration::from_secs(90));
    assert_clear_failure(
        &out,
        began.elapsed(),
        &["requires a client certificate", "--tls-cert"],
    );
}
