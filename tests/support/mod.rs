//! The end-to-end test harness: a real Temporal dev server, stave processes, test projects.
//!
//! Each test binary shares one server (`TestServer::shared()`); tests isolate themselves with a
//! project of their own (`TestProject`, unique task queues) and unique workflow ids. Tests
//! synchronise by polling with bounded waits (`wait_until`), never by fixed sleeps.

// Every test binary compiles this module but uses only part of it.
#![allow(dead_code, unused_imports)]

pub mod activities;
pub mod process;
pub mod project;
pub mod runs;
pub mod server;
pub mod tls;
pub mod worker;

pub use process::{
    HttpAnswer, Proc, command, example_bin, http_call, http_get, run_bounded, run_stave, stave_bin,
    stdout_ok,
};
pub use project::TestProject;
pub use runs::{
    client, durable_v2_source, load_bundle, record_history, start_pinned, wait_for_query,
    workflow_source,
};
pub use server::{INSTALL_HINT, ServerOptions, TestServer, free_ports, require_temporal_cli};
pub use worker::{InProcessWorker, SharedWorker};

use std::time::{Duration, Instant};

/// Polls `probe` every 50 ms until it yields a value, or panics after `limit` naming `what`.
pub fn wait_until<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        if Instant::now() > deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The async form of [`wait_until`]: polls `probe` every 50 ms, bounded by `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        if Instant::now() > deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A workflow id unique to this test process and call: `PREFIX-PID-N`.
pub fn unique_id(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}
