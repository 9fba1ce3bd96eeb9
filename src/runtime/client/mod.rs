//! The client side of runs: start, signal, query, wait for the result, describe, cancel.
//!
//! Everything goes through the raw workflow service, because workflow types, signal and
//! query names are runtime strings from workflow files. Payloads are `json/plain`, the
//! encoding the Temporal Web UI and CLI show readably.
//!
//! One file per concern: `start`, `messages` (signal, query, cancel, terminate), `outcome`
//! (waiting for the result, failure decoding), `describe`, `history` (a workflow's runs),
//! `links` (Web UI), `ids`; `devserver` runs `temporal server start-dev`, `testserver`
//! Temporal's time-skipping test server and its clock.

mod describe;
pub mod devserver;
mod history;
mod ids;
mod links;
mod messages;
mod outcome;
mod start;
pub mod testserver;

use crate::runtime::connect::Connected;
use crate::runtime::payload;
use serde_json::Value as Json;
use std::time::Duration;
use temporalio_client::Connection;
use temporalio_client::tonic::{Code, Status};
use temporalio_common::protos::temporal::api::common::v1::{Payload, Payloads, WorkflowExecution};
use thiserror::Error;

pub use describe::{Description, PendingActivity, status_name};
pub use history::RunSummary;
pub use ids::new_workflow_id;
pub use links::web_ui_link;
pub use outcome::{Finished, Outcome, RunFailure, run_failure};
pub use start::{StartOptions, Started, priority_for_start};

/// The built-in query every Stave run answers with its progress (current steps, vars).
pub use crate::runtime::interpreter::STATUS_QUERY;
/// Server timestamps as `describe` and `schedules list` print them.
pub use crate::runtime::time::format_timestamp as rfc3339;
/// Memo key holding the version a run is pinned to (`HASH@SEMANTICS`, see `versions`).
pub use crate::runtime::versions::MEMO_KEY as VERSION_MEMO_KEY;

/// What can go wrong talking to the server about a run.
#[derive(Debug, Error)]
pub enum ClientError {
    /// `stave signal order-42 approve` when no run `order-42` exists in the namespace.
    #[error("workflow `{id}` not found in namespace `{namespace}`; check the id (and --namespace)")]
    NotFound { id: String, namespace: String },
    /// `stave start … --id order-42` while `order-42` is still running.
    #[error(
        "workflow `{id}` is already running (run {run_id}); pick another --id, or wait for it with `stave result {id}`"
    )]
    AlreadyRunning { id: String, run_id: String },
    /// `stave query order-42 nonexistent`, or a query while no worker polls the queue.
    #[error("query `{name}` on `{id}` failed: {message}")]
    Query {
        id: String,
        name: String,
        message: String,
    },
    /// `stave update order-42 nonexistent` on a run without workers, or a server refusal.
    #[error("update `{name}` on `{id}` failed: {message}")]
    Update {
        id: String,
        name: String,
        message: String,
    },
    /// `stave result order-42 --timeout 1s` on a run that takes longer.
    #[error("workflow `{id}` did not finish within {waited:?}; it is still running")]
    Timeout { id: String, waited: Duration },
    /// The server went away mid-call (restart, network).
    #[error(
        "cannot reach the Temporal server at {address} ({what}): {message}\n  help: start a local server with `stave dev`, or point TEMPORAL_ADDRESS / --address at a running one"
    )]
    Unavailable {
        address: String,
        what: &'static str,
        message: String,
    },
    /// Any other refusal by the server, with its code: permissions, bad names, limits.
    #[error("the server refused to {what} `{id}`: {message} ({code:?})")]
    Rpc {
        what: &'static str,
        id: String,
        code: Code,
        message: String,
    },
}

/// A client bound to one namespace of one server.
#[derive(Clone)]
pub struct Client {
    connection: Connection,
    namespace: String,
    address: String,
}

impl Client {
    pub fn new(connected: Connected) -> Client {
        Client {
            connection: connected.connection,
            namespace: connected.namespace,
            address: connected.address,
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    fn rpc_error(&self, what: &'static str, id: &str, status: Status) -> ClientError {
        match status.code() {
            Code::NotFound => self.not_found(id),
            Code::Unavailable => self.unavailable(what, &status),
            code => ClientError::Rpc {
                what,
                id: id.to_string(),
                code,
                message: status.message().to_string(),
            },
        }
    }

    fn not_found(&self, id: &str) -> ClientError {
        ClientError::NotFound {
            id: id.to_string(),
            namespace: self.namespace.clone(),
        }
    }

    fn unavailable(&self, what: &'static str, status: &Status) -> ClientError {
        ClientError::Unavailable {
            address: self.address.clone(),
            what,
            message: status.message().to_string(),
        }
    }
}

fn payloads(value: &Json) -> Payloads {
    payload::encode_payloads([value])
}

/// A payload as JSON for display: never an error, output must show what is there.
fn decode_payload(p: &Payload) -> Json {
    payload::decode(p).unwrap_or_else(|e| Json::String(format!("<{e}>")))
}

fn first_payload(payloads: Option<&Payloads>) -> Json {
    payloads
        .and_then(|p| p.payloads.first())
        .map(decode_payload)
        .unwrap_or(Json::Null)
}

fn execution(id: &str, run_id: Option<&str>) -> WorkflowExecution {
    WorkflowExecution {
        workflow_id: id.to_string(),
        run_id: run_id.unwrap_or_default().to_string(),
    }
}
