//! Health: the worker's readiness (for `/readyz`) and the server check behind `stave health`.
//!
//! Readiness means: connected to the server, pollers running on every served task queue,
//! and not shutting down. Liveness (`/healthz`) is only "the process answers", so a worker
//! that waits for an unreachable server is restarted by nobody but kept out of rotation.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use temporalio_client::tonic::IntoRequest as _;
use temporalio_common::protos::temporal::api::workflowservice::v1::DescribeNamespaceRequest;

use crate::runtime::connect::{ConnectArgs, Retry};

/// Timeout of `stave health`'s whole check (connect and describe).
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Shared readiness state: written by the worker, read by `/readyz`.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    connected: bool,
    /// Why the worker is not connected (the last connection error), for `/readyz`'s body.
    problem: Option<String>,
    expected: BTreeSet<String>,
    polling: BTreeSet<String>,
    stopping: bool,
    /// Why the worker serves less than the whole project (refused workflow files).
    degraded: Option<String>,
}

impl Readiness {
    pub fn new() -> Readiness {
        Readiness::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain flags behind: keep using them.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The task queues whose pollers must run before the worker is ready.
    pub fn expect(&self, task_queues: impl IntoIterator<Item = String>) {
        self.state().expected.extend(task_queues);
    }

    /// The connection to the server works (at start, or again after an outage).
    pub fn connected(&self) {
        let mut state = self.state();
        state.connected = true;
        state.problem = None;
    }

    /// The server cannot be reached; `why` is shown by `/readyz`.
    pub fn disconnected(&self, why: impl Into<String>) {
        let mut state = self.state();
        state.connected = false;
        state.problem = Some(why.into());
    }

    /// The pollers of `task_queue` run.
    pub fn polling(&self, task_queue: &str) {
        self.state().polling.insert(task_queue.to_owned());
    }

    /// The worker serves, but not everything: `/readyz` stays ready (the served workflows
    /// run) and says "degraded" with `why`.
    pub fn degraded(&self, why: impl Into<String>) {
        self.state().degraded = Some(why.into());
    }

    /// Shutdown started: no longer ready, whatever else holds.
    pub fn stopping(&self) {
        self.state().stopping = true;
    }

    /// `Ok(summary)` when ready, `Err(reason)` otherwise; both are one line for people.
    pub fn check(&self) -> Result<String, String> {
        let state = self.state();
        if state.stopping {
            return Err("shutting down".to_owned());
        }
        if !state.connected {
            return Err(match &state.problem {
                Some(why) => format!("not connected to the Temporal server: {why}"),
                None => "connecting to the Temporal server".to_owned(),
            });
        }
        if state.expected.is_empty() {
            return Err("no task queue planned yet".to_owned());
        }
        let missing: Vec<&str> = state
            .expected
            .difference(&state.polling)
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(format!("pollers not running yet on {}", missing.join(", ")));
        }
        let queues: Vec<&str> = state.polling.iter().map(String::as_str).collect();
        match &state.degraded {
            Some(why) => Ok(format!("degraded: {why}; polling {}", queues.join(", "))),
            None => Ok(format!("ready: polling {}", queues.join(", "))),
        }
    }
}

/// What `stave health` reports.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServerHealth {
    pub healthy: bool,
    pub namespace: String,
    /// The server address as resolved from flags, env and profile.
    pub address: String,
    /// Why the check failed (unreachable, unknown namespace, timeout).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Time the check took.
    pub elapsed_ms: u64,
}

/// Connects and describes the namespace, all within `timeout`. Never fails: a problem is an
/// unhealthy report naming it.
pub async fn check_server(
    connect: &ConnectArgs,
    project_namespace: Option<&str>,
    timeout: Duration,
) -> ServerHealth {
    let started = Instant::now();
    let endpoint = match connect.resolve(project_namespace) {
        Ok(endpoint) => endpoint,
        Err(e) => {
            return ServerHealth {
                healthy: false,
                namespace: connect
                    .namespace
                    .clone()
                    .or_else(|| project_namespace.map(str::to_owned))
                    .unwrap_or_else(|| crate::runtime::connect::DEFAULT_NAMESPACE.to_owned()),
                address: connect.address.clone().unwrap_or_default(),
                error: Some(e.to_string()),
                elapsed_ms: elapsed_ms(started),
            };
        }
    };
    let namespace = endpoint.namespace.clone();
    let probe = async {
        let connected = endpoint
            .connect("", Retry::Once)
            .await
            .map_err(|e| e.to_string())?;
        let request = DescribeNamespaceRequest {
            namespace: namespace.clone(),
            ..Default::default()
        };
        connected
            .connection
            .workflow_service()
            .describe_namespace(request.into_request())
            .await
            .map(|_| ())
            .map_err(|status| {
                format!(
                    "describe namespace `{namespace}` failed: {} ({:?})",
                    status.message(),
                    status.code()
                )
            })
    };
    let error = match tokio::time::timeout(timeout, probe).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e),
        Err(_) => Some(format!(
            "no answer from {} within {}s",
            endpoint.address,
            timeout.as_secs_f64()
        )),
    };
    ServerHealth {
        healthy: error.is_none(),
        namespace,
        address: endpoint.address.clone(),
        error,
        elapsed_ms: elapsed_ms(started),
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_connected_and_every_queue_polls() {
        let r = Readiness::new();
        assert_eq!(r.check(), Err("connecting to the Temporal server".into()));
        r.disconnected("connection refused");
        assert!(r.check().unwrap_err().contains("connection refused"));
        r.connected();
        assert_eq!(r.check(), Err("no task queue planned yet".into()));
        r.expect(["a".to_owned(), "b".to_owned()]);
        r.polling("a");
        assert_eq!(r.check(), Err("pollers not running yet on b".into()));
        r.polling("b");
        assert_eq!(r.check(), Ok("ready: polling a, b".into()));
        r.stopping();
        assert_eq!(r.check(), Err("shutting down".into()));
    }
}
