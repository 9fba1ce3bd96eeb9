//! Child processes of a test: the `stave` binary or an example worker, killable with SIGKILL.

use super::server::{TestServer, kill_group};
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// Path of the `stave` binary cargo built for this test run.
pub fn stave_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_stave"))
}

/// Path of an example binary (`cargo test` builds examples next to the binaries).
pub fn example_bin(name: &str) -> PathBuf {
    let bin = stave_bin();
    let dir = bin.parent().unwrap_or(Path::new("."));
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "example binary {} is not built; run `cargo build --examples`",
        path.display()
    );
    path
}

/// A command for `program` pointed at `server` through `TEMPORAL_ADDRESS`, with the
/// environment cleaned of settings that would send it elsewhere.
pub fn command(program: &Path, server: &TestServer) -> Command {
    let mut cmd = Command::new(program);
    cmd.env("TEMPORAL_ADDRESS", server.address())
        .env("TEMPORAL_NAMESPACE", "default")
        .env_remove("TEMPORAL_API_KEY")
        .env_remove("TEMPORAL_PROFILE")
        .env_remove("TEMPORAL_TLS")
        .env("NO_COLOR", "1");
    cmd
}

/// Runs `stave ARGS` to completion against `server` (bounded: a hung client fails the test).
pub fn run_stave(server: &TestServer, args: &[&str]) -> Output {
    let mut cmd = command(&stave_bin(), server);
    cmd.args(args);
    run_bounded(cmd, Duration::from_secs(120))
}

/// Runs a command to completion, killing it after `limit`.
pub fn run_bounded(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let out = child.wait_with_output().expect("collect output");
                panic!(
                    "{cmd:?} did not finish within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("cannot wait for {cmd:?}: {e}"),
        }
    }
    child.wait_with_output().expect("collect output")
}

/// Stdout of a successful run; panics with both streams otherwise.
pub fn stdout_ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "command failed ({}):\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A long-running child (a worker), in its own process group, with its output in a file.
/// Dropping it kills the group.
pub struct Proc {
    program: PathBuf,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    dir: Option<PathBuf>,
    child: Option<Child>,
    log: PathBuf,
    _log_dir: tempfile::TempDir,
}

impl Proc {
    /// Starts `program ARGS` against `server`.
    pub fn spawn(program: &Path, args: &[&str], server: &TestServer) -> Proc {
        Proc::spawn_in(program, args, None, server)
    }

    /// Starts `program ARGS` in directory `dir` against `server`.
    pub fn spawn_in(
        program: &Path,
        args: &[&str],
        dir: Option<&Path>,
        server: &TestServer,
    ) -> Proc {
        Proc::spawn_with_env(program, args, dir, &[], server)
    }

    /// Starts `program ARGS` in directory `dir` against `server`, with extra environment
    /// variables `env` (set after the server's, so they may override them).
    pub fn spawn_with_env(
        program: &Path,
        args: &[&str],
        dir: Option<&Path>,
        env: &[(&str, &str)],
        server: &TestServer,
    ) -> Proc {
        let log_dir = tempfile::tempdir().expect("temp dir");
        let mut envs: Vec<(String, String)> = vec![
            ("TEMPORAL_ADDRESS".into(), server.address()),
            ("TEMPORAL_NAMESPACE".into(), "default".into()),
            ("NO_COLOR".into(), "1".into()),
        ];
        envs.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let mut proc = Proc {
            program: program.to_path_buf(),
            args: args.iter().map(|s| s.to_string()).collect(),
            envs,
            dir: dir.map(Path::to_path_buf),
            child: None,
            log: log_dir.path().join("proc.log"),
            _log_dir: log_dir,
        };
        proc.start();
        proc
    }

    /// Starts the `stave` binary with `args` against `server`.
    pub fn stave(args: &[&str], server: &TestServer) -> Proc {
        Proc::spawn(&stave_bin(), args, server)
    }

    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open the process log");
        let log_err = log.try_clone().expect("clone the log");
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .env_remove("TEMPORAL_API_KEY")
            .env_remove("TEMPORAL_PROFILE")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .process_group(0);
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.program.display()));
        self.child = Some(child);
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// SIGKILL, no goodbye: what a crashed or OOM-killed worker looks like to the server.
    pub fn kill_hard(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_group(child.id());
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGINT (Ctrl-C), then waits up to `limit` for a graceful exit; returns whether it exited.
    pub fn interrupt(&mut self, limit: Duration) -> bool {
        let Some(child) = self.child.as_mut() else {
            return true;
        };
        let _ = Command::new("kill")
            .args(["-s", "INT", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                self.child = None;
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// SIGTERM (what Kubernetes and systemd send), then waits up to `limit` for the exit;
    /// returns the exit status, or `None` when it still runs (or was not running).
    pub fn terminate(&mut self, limit: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let _ = Command::new("kill")
            .args(["-s", "TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Starts the same program again (after `kill_hard`).
    pub fn restart(&mut self) {
        self.kill_hard();
        self.start();
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Everything the process printed so far (every incarnation).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle` (bounded), for readiness lines.
    pub fn wait_for_log(&mut self, needle: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            if self.log().contains(needle) {
                return;
            }
            if !self.is_running() {
                panic!(
                    "{} exited before printing {needle:?}:\n{}",
                    self.program.display(),
                    self.log()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "{} did not print {needle:?} within {limit:?}:\n{}",
                    self.program.display(),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

/// GET http://ADDR/PATH → (status, body), blocking, bounded.
pub fn http_get(addr: &str, path: &str) -> Result<(u16, String), String> {
    request(addr, "GET", path, &[], "", Duration::from_secs(5)).map(|a| (a.status, a.body))
}

/// An HTTP/1.1 answer: status, headers (names lower-case), body.
#[derive(Debug)]
pub struct HttpAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpAnswer {
    /// The first header called `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `METHOD http://ADDR/PATH` with `headers` and `body`, blocking, bounded.
pub fn http_call(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<HttpAnswer, String> {
    request(addr, method, path, headers, body, Duration::from_secs(10))
}

fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
    limit: Duration,
) -> Result<HttpAnswer, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(limit))
        .map_err(|e| e.to_string())?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or((response.as_str(), ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("malformed response: {response:?}"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(HttpAnswer {
        status,
        headers,
        body: body.to_string(),
    })
}
