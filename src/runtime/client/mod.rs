//! The client side of runs: start, signal, query, wait for the result, describe, cancel.
//!
//! Everything goes through the raw workflow service, because workflow types, signal and
//! query names are runtime strings from workflow files. Payloads are `json/plain`, the
//! encoding the Temporal Web UI and CLI show readably.

pub mod devserver;

use crate::runtime::connect::Connected;
use crate::runtime::payload;
use serde::Serialize;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use temporalio_client::Connection;
use temporalio_client::tonic::{Code, IntoRequest as _, Status};
use temporalio_common::protos::temporal::api::common::v1::{
    Memo, Payload, Payloads, WorkflowExecution, WorkflowType,
};
use temporalio_common::protos::temporal::api::enums::v1::{
    HistoryEventFilterType, TaskQueueKind, WorkflowExecutionStatus, WorkflowIdReusePolicy,
};
use temporalio_common::protos::temporal::api::failure::v1::{Failure, failure::FailureInfo};
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
use temporalio_common::protos::temporal::api::query::v1::WorkflowQuery;
use temporalio_common::protos::temporal::api::taskqueue::v1::TaskQueue;
use temporalio_common::protos::temporal::api::workflowservice::v1::{
    DescribeWorkflowExecutionRequest, GetWorkflowExecutionHistoryRequest, QueryWorkflowRequest,
    RequestCancelWorkflowExecutionRequest, SignalWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
};
use thiserror::Error;

/// Memo key holding the version a run is pinned to (`HASH@SEMANTICS`, see `versions`).
pub use crate::runtime::versions::MEMO_KEY as VERSION_MEMO_KEY;

/// The built-in query every Stave run answers with its progress (current steps, vars).
pub const STATUS_QUERY: &str = "__stave_status";

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

/// What `start` needs.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    pub workflow_type: String,
    pub workflow_id: String,
    pub task_queue: String,
    pub input: Json,
    /// Memo fields (the pinned version among them).
    pub memo: Vec<(String, Json)>,
    pub execution_timeout: Option<Duration>,
}

/// A started run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Started {
    pub workflow_id: String,
    pub run_id: String,
}

/// A failure as the server recorded it: type, message, details, and its cause chain.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunFailure {
    /// Application error type (`CardDeclined`), or the failure kind (`ActivityFailure`,
    /// `TimeoutFailure`, …) when the failure is not an application error.
    #[serde(rename = "type")]
    pub error_type: String,
    pub message: String,
    #[serde(skip_serializing_if = "Json::is_null")]
    pub details: Json,
    pub non_retryable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<Box<RunFailure>>,
}

impl RunFailure {
    /// The innermost application failure: what the user's code raised.
    pub fn root(&self) -> &RunFailure {
        let mut current = self;
        while let Some(cause) = &current.cause {
            current = cause;
        }
        current
    }
}

impl std::fmt::Display for RunFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)?;
        let mut cause = self.cause.as_deref();
        while let Some(c) = cause {
            write!(f, "\n  caused by {}: {}", c.error_type, c.message)?;
            cause = c.cause.as_deref();
        }
        Ok(())
    }
}

/// How a run ended.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Completed {
        result: Json,
    },
    Failed {
        failure: RunFailure,
    },
    Canceled {
        #[serde(skip_serializing_if = "Json::is_null")]
        details: Json,
    },
    Terminated {
        reason: String,
    },
    TimedOut,
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Completed { .. })
    }
}

/// The final outcome and the run that produced it (the last of a continue-as-new chain).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Finished {
    pub workflow_id: String,
    pub run_id: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// An activity the run is waiting on.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PendingActivity {
    pub activity_id: String,
    pub activity_type: String,
    pub attempt: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<String>,
}

/// What `describe` shows.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Description {
    pub workflow_id: String,
    pub run_id: String,
    pub workflow_type: String,
    /// `running`, `completed`, `failed`, `canceled`, `terminated`, `continued_as_new`,
    /// `timed_out`.
    pub status: String,
    pub task_queue: String,
    pub start_time: Option<String>,
    pub close_time: Option<String>,
    pub history_length: i64,
    /// The version the run is pinned to (memo `stave.version`, `HASH@SEMANTICS`), if Stave
    /// started or served it.
    pub version: Option<String>,
    pub memo: serde_json::Map<String, Json>,
    pub pending_activities: Vec<PendingActivity>,
    pub pending_children: Vec<String>,
    /// The answer of the `__stave_status` query (current steps, vars), when a worker gave one.
    pub progress: Option<Json>,
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

    /// Starts a run. An id still running is an error; a closed one may be reused.
    pub async fn start(&self, options: &StartOptions) -> Result<Started, ClientError> {
        let memo = (!options.memo.is_empty()).then(|| Memo {
            fields: options
                .memo
                .iter()
                .map(|(k, v)| (k.clone(), payload::encode(v)))
                .collect(),
        });
        let request = StartWorkflowExecutionRequest {
            namespace: self.namespace.clone(),
            workflow_id: options.workflow_id.clone(),
            workflow_type: Some(WorkflowType {
                name: options.workflow_type.clone(),
            }),
            task_queue: Some(TaskQueue {
                name: options.task_queue.clone(),
                kind: TaskQueueKind::Normal as i32,
                ..Default::default()
            }),
            input: Some(payloads(&options.input)),
            workflow_execution_timeout: options.execution_timeout.map(duration),
            identity: self.connection.identity().to_string(),
            request_id: request_id(),
            workflow_id_reuse_policy: WorkflowIdReusePolicy::AllowDuplicate as i32,
            memo,
            ..Default::default()
        };
        let result = self
            .connection
            .workflow_service()
            .start_workflow_execution(request.into_request())
            .await;
        let response = match result {
            Ok(response) => response.into_inner(),
            Err(status) if status.code() == Code::AlreadyExists => {
                let run_id = match self.describe_raw(&options.workflow_id, None).await {
                    Ok((_, run_id)) => run_id,
                    Err(_) => "unknown".to_string(),
                };
                return Err(ClientError::AlreadyRunning {
                    id: options.workflow_id.clone(),
                    run_id,
                });
            }
            Err(status) => return Err(self.rpc_error("start", &options.workflow_id, status)),
        };
        Ok(Started {
            workflow_id: options.workflow_id.clone(),
            run_id: response.run_id,
        })
    }

    /// Sends signal `name` with `input` (no argument when `None`).
    pub async fn signal(
        &self,
        id: &str,
        run_id: Option<&str>,
        name: &str,
        input: Option<&Json>,
    ) -> Result<(), ClientError> {
        let request = SignalWorkflowExecutionRequest {
            namespace: self.namespace.clone(),
            workflow_execution: Some(execution(id, run_id)),
            signal_name: name.to_string(),
            input: input.map(payloads),
            identity: self.connection.identity().to_string(),
            request_id: request_id(),
            ..Default::default()
        };
        self.connection
            .workflow_service()
            .signal_workflow_execution(request.into_request())
            .await
            .map_err(|status| self.rpc_error("signal", id, status))?;
        Ok(())
    }

    /// Asks query `name` and returns its answer. Bounded by `limit`: with no worker polling,
    /// the server would otherwise hold the call.
    pub async fn query(
        &self,
        id: &str,
        run_id: Option<&str>,
        name: &str,
        args: Option<&Json>,
        limit: Duration,
    ) -> Result<Json, ClientError> {
        let request = QueryWorkflowRequest {
            namespace: self.namespace.clone(),
            execution: Some(execution(id, run_id)),
            query: Some(WorkflowQuery {
                query_type: name.to_string(),
                query_args: args.map(payloads),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut service = self.connection.workflow_service();
        let call = service.query_workflow(request.into_request());
        let response = match tokio::time::timeout(limit, call).await {
            Ok(Ok(response)) => response.into_inner(),
            Ok(Err(status)) => {
                return Err(match status.code() {
                    Code::NotFound => self.not_found(id),
                    Code::Unavailable => self.unavailable("query", &status),
                    _ => ClientError::Query {
                        id: id.to_string(),
                        name: name.to_string(),
                        message: status.message().to_string(),
                    },
                });
            }
            Err(_) => {
                return Err(ClientError::Query {
                    id: id.to_string(),
                    name: name.to_string(),
                    message: format!(
                        "no answer within {limit:?}; is a worker polling the run's task queue?"
                    ),
                });
            }
        };
        if let Some(rejected) = response.query_rejected {
            let status = WorkflowExecutionStatus::try_from(rejected.status)
                .map(status_name)
                .unwrap_or("unknown");
            return Err(ClientError::Query {
                id: id.to_string(),
                name: name.to_string(),
                message: format!("rejected: the run is {status}"),
            });
        }
        Ok(response
            .query_result
            .as_ref()
            .and_then(|p| p.payloads.first())
            .map(decode_payload)
            .unwrap_or(Json::Null))
    }

    /// Waits for the run to close (following continue-as-new) and returns how it ended.
    pub async fn result(
        &self,
        id: &str,
        run_id: Option<&str>,
        limit: Option<Duration>,
    ) -> Result<Finished, ClientError> {
        let wait = self.wait_for_close(id, run_id);
        match limit {
            Some(limit) => {
                tokio::time::timeout(limit, wait)
                    .await
                    .map_err(|_| ClientError::Timeout {
                        id: id.to_string(),
                        waited: limit,
                    })?
            }
            None => wait.await,
        }
    }

    async fn wait_for_close(
        &self,
        id: &str,
        run_id: Option<&str>,
    ) -> Result<Finished, ClientError> {
        let mut run_id = run_id.unwrap_or_default().to_string();
        let mut page_token = Vec::new();
        loop {
            let request = GetWorkflowExecutionHistoryRequest {
                namespace: self.namespace.clone(),
                execution: Some(execution(id, Some(&run_id))),
                next_page_token: page_token.clone(),
                wait_new_event: true,
                history_event_filter_type: HistoryEventFilterType::CloseEvent as i32,
                skip_archival: true,
                ..Default::default()
            };
            let response = match self
                .connection
                .workflow_service()
                .get_workflow_execution_history(request.into_request())
                .await
            {
                Ok(response) => response.into_inner(),
                // The long poll ends with DeadlineExceeded on some servers; poll again.
                Err(status) if status.code() == Code::DeadlineExceeded => continue,
                Err(status) => return Err(self.rpc_error("wait for", id, status)),
            };
            let events = response.history.map(|h| h.events).unwrap_or_default();
            let Some(attributes) = events.into_iter().rev().find_map(|e| e.attributes) else {
                // An empty page: the long poll timed out; go on from where it stopped.
                page_token = response.next_page_token;
                continue;
            };
            page_token.clear();
            let outcome = match attributes {
                Attributes::WorkflowExecutionCompletedEventAttributes(a) => {
                    if !a.new_execution_run_id.is_empty() {
                        run_id = a.new_execution_run_id;
                        continue;
                    }
                    Outcome::Completed {
                        result: first_payload(a.result.as_ref()),
                    }
                }
                Attributes::WorkflowExecutionFailedEventAttributes(a) => {
                    if !a.new_execution_run_id.is_empty() {
                        run_id = a.new_execution_run_id;
                        continue;
                    }
                    Outcome::Failed {
                        failure: a
                            .failure
                            .as_ref()
                            .map(run_failure)
                            .unwrap_or_else(unknown_failure),
                    }
                }
                Attributes::WorkflowExecutionTimedOutEventAttributes(a) => {
                    if !a.new_execution_run_id.is_empty() {
                        run_id = a.new_execution_run_id;
                        continue;
                    }
                    Outcome::TimedOut
                }
                Attributes::WorkflowExecutionContinuedAsNewEventAttributes(a) => {
                    run_id = a.new_execution_run_id;
                    continue;
                }
                Attributes::WorkflowExecutionCanceledEventAttributes(a) => Outcome::Canceled {
                    details: first_payload(a.details.as_ref()),
                },
                Attributes::WorkflowExecutionTerminatedEventAttributes(a) => {
                    Outcome::Terminated { reason: a.reason }
                }
                // The close-event filter returns only close events; anything else means the
                // run is still open and the poll returned early.
                _ => continue,
            };
            if run_id.is_empty() {
                run_id = self.describe_raw(id, None).await?.1;
            }
            return Ok(Finished {
                workflow_id: id.to_string(),
                run_id,
                outcome,
            });
        }
    }

    /// Status, times, queue, pinned version, pending work and (when a worker answers quickly)
    /// the run's own progress report.
    pub async fn describe(
        &self,
        id: &str,
        run_id: Option<&str>,
    ) -> Result<Description, ClientError> {
        let (response, run_id) = self.describe_raw(id, run_id).await?;
        let info = response.workflow_execution_info.unwrap_or_default();
        let status = WorkflowExecutionStatus::try_from(info.status)
            .unwrap_or(WorkflowExecutionStatus::Unspecified);
        let memo: serde_json::Map<String, Json> = {
            let mut fields: Vec<(String, Json)> = info
                .memo
                .map(|m| {
                    m.fields
                        .into_iter()
                        .map(|(k, v)| (k, decode_payload(&v)))
                        .collect()
                })
                .unwrap_or_default();
            // The memo is a hash map on the wire: sort for stable output.
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            fields.into_iter().collect()
        };
        let version = memo
            .get(VERSION_MEMO_KEY)
            .and_then(Json::as_str)
            .map(str::to_string);
        let pending_activities = response
            .pending_activities
            .into_iter()
            .map(|a| PendingActivity {
                activity_id: a.activity_id,
                activity_type: a.activity_type.map(|t| t.name).unwrap_or_default(),
                attempt: a.attempt,
                last_failure: a.last_failure.map(|f| run_failure(&f).to_string()),
            })
            .collect();
        let pending_children = response
            .pending_children
            .into_iter()
            .map(|c| format!("{} ({})", c.workflow_id, c.workflow_type_name))
            .collect();
        // Progress comes from the worker; a run with no worker (or a closed, evicted one)
        // still describes, just without it.
        let progress = if status == WorkflowExecutionStatus::Running {
            self.query(
                id,
                Some(&run_id),
                STATUS_QUERY,
                None,
                Duration::from_secs(5),
            )
            .await
            .ok()
        } else {
            None
        };
        Ok(Description {
            workflow_id: id.to_string(),
            run_id,
            workflow_type: info.r#type.map(|t| t.name).unwrap_or_default(),
            status: status_name(status).to_string(),
            task_queue: info.task_queue,
            start_time: info.start_time.as_ref().map(rfc3339),
            close_time: info.close_time.as_ref().map(rfc3339),
            history_length: info.history_length,
            version,
            memo,
            pending_activities,
            pending_children,
            progress,
        })
    }

    async fn describe_raw(
        &self,
        id: &str,
        run_id: Option<&str>,
    ) -> Result<
        (
            temporalio_common::protos::temporal::api::workflowservice::v1::DescribeWorkflowExecutionResponse,
            String,
        ),
        ClientError,
    >{
        let request = DescribeWorkflowExecutionRequest {
            namespace: self.namespace.clone(),
            execution: Some(execution(id, run_id)),
        };
        let response = self
            .connection
            .workflow_service()
            .describe_workflow_execution(request.into_request())
            .await
            .map_err(|status| self.rpc_error("describe", id, status))?
            .into_inner();
        let run_id = response
            .workflow_execution_info
            .as_ref()
            .and_then(|i| i.execution.as_ref())
            .map(|e| e.run_id.clone())
            .unwrap_or_default();
        Ok((response, run_id))
    }

    /// Requests cancellation; the run decides how to wind down (compensations run).
    pub async fn cancel(
        &self,
        id: &str,
        run_id: Option<&str>,
        reason: &str,
    ) -> Result<(), ClientError> {
        let request = RequestCancelWorkflowExecutionRequest {
            namespace: self.namespace.clone(),
            workflow_execution: Some(execution(id, run_id)),
            identity: self.connection.identity().to_string(),
            request_id: request_id(),
            reason: reason.to_string(),
            ..Default::default()
        };
        self.connection
            .workflow_service()
            .request_cancel_workflow_execution(request.into_request())
            .await
            .map_err(|status| self.rpc_error("cancel", id, status))?;
        Ok(())
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

/// The Web UI page of a run, when the UI's address is known or can be inferred: a local dev
/// server serves it on the gRPC port + 1000; Temporal Cloud on cloud.temporal.io.
pub fn web_ui_link(
    ui_base: Option<&str>,
    address: &str,
    namespace: &str,
    started: &Started,
) -> Option<String> {
    let base = match ui_base {
        Some(base) => base.trim_end_matches('/').to_string(),
        None => infer_ui_base(address)?,
    };
    Some(format!(
        "{base}/namespaces/{namespace}/workflows/{}/{}/history",
        started.workflow_id, started.run_id
    ))
}

fn infer_ui_base(address: &str) -> Option<String> {
    let host_port = address
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/');
    let (host, port) = host_port.rsplit_once(':')?;
    if host.ends_with(".tmprl.cloud") {
        return Some("https://cloud.temporal.io".to_string());
    }
    if matches!(host, "localhost" | "127.0.0.1" | "0.0.0.0" | "[::1]") {
        let port: u16 = port.parse().ok()?;
        return Some(format!("http://localhost:{}", port.checked_add(1000)?));
    }
    None
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

/// A server failure in readable form, keeping the cause chain.
pub fn run_failure(failure: &Failure) -> RunFailure {
    let (error_type, non_retryable, details) = match &failure.failure_info {
        Some(FailureInfo::ApplicationFailureInfo(info)) => (
            if info.r#type.is_empty() {
                "Error".to_string()
            } else {
                info.r#type.clone()
            },
            info.non_retryable,
            first_payload(info.details.as_ref()),
        ),
        Some(FailureInfo::TimeoutFailureInfo(_)) => ("TimeoutFailure".into(), false, Json::Null),
        Some(FailureInfo::CanceledFailureInfo(info)) => (
            "CanceledFailure".into(),
            false,
            first_payload(info.details.as_ref()),
        ),
        Some(FailureInfo::TerminatedFailureInfo(_)) => {
            ("TerminatedFailure".into(), false, Json::Null)
        }
        Some(FailureInfo::ServerFailureInfo(info)) => {
            ("ServerFailure".into(), info.non_retryable, Json::Null)
        }
        Some(FailureInfo::ActivityFailureInfo(info)) => (
            format!(
                "ActivityFailure({})",
                info.activity_type
                    .as_ref()
                    .map(|t| t.name.as_str())
                    .unwrap_or("?")
            ),
            false,
            Json::Null,
        ),
        Some(FailureInfo::ChildWorkflowExecutionFailureInfo(info)) => (
            format!(
                "ChildWorkflowFailure({})",
                info.workflow_type
                    .as_ref()
                    .map(|t| t.name.as_str())
                    .unwrap_or("?")
            ),
            false,
            Json::Null,
        ),
        _ => ("Error".into(), false, Json::Null),
    };
    RunFailure {
        error_type,
        message: failure.message.clone(),
        details,
        non_retryable,
        cause: failure.cause.as_deref().map(|c| Box::new(run_failure(c))),
    }
}

fn unknown_failure() -> RunFailure {
    RunFailure {
        error_type: "Error".into(),
        message: "the run failed without a recorded failure".into(),
        details: Json::Null,
        non_retryable: false,
        cause: None,
    }
}

/// Lower-case status names, as `describe` prints them.
pub fn status_name(status: WorkflowExecutionStatus) -> &'static str {
    match status {
        WorkflowExecutionStatus::Unspecified => "unknown",
        WorkflowExecutionStatus::Running => "running",
        WorkflowExecutionStatus::Completed => "completed",
        WorkflowExecutionStatus::Failed => "failed",
        WorkflowExecutionStatus::Canceled => "canceled",
        WorkflowExecutionStatus::Terminated => "terminated",
        WorkflowExecutionStatus::ContinuedAsNew => "continued_as_new",
        WorkflowExecutionStatus::TimedOut => "timed_out",
        WorkflowExecutionStatus::Paused => "paused",
    }
}

fn execution(id: &str, run_id: Option<&str>) -> WorkflowExecution {
    WorkflowExecution {
        workflow_id: id.to_string(),
        run_id: run_id.unwrap_or_default().to_string(),
    }
}

fn duration(d: Duration) -> prost_wkt_types::Duration {
    prost_wkt_types::Duration {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

/// A request id for idempotent retries of one call: unique per call, not random-crate based.
fn request_id() -> String {
    unique_hex(32)
}

/// A fresh workflow id for `stave start` without `--id`: `TYPE-` plus 12 hex digits.
pub fn new_workflow_id(workflow_type: &str) -> String {
    format!("{workflow_type}-{}", unique_hex(12))
}

fn unique_hex(len: usize) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let digest = Sha256::digest(format!("{now}:{}:{count}", std::process::id()));
    digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
        .chars()
        .take(len)
        .collect()
}

/// RFC 3339 UTC, second precision plus milliseconds.
pub fn rfc3339(ts: &prost_wkt_types::Timestamp) -> String {
    let secs = ts.seconds;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ts.nanos / 1_000_000
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_render_as_rfc3339() {
        let ts = prost_wkt_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 123_000_000,
        };
        assert_eq!(rfc3339(&ts), "2023-11-14T22:13:20.123Z");
        let epoch = prost_wkt_types::Timestamp {
            seconds: 0,
            nanos: 0,
        };
        assert_eq!(rfc3339(&epoch), "1970-01-01T00:00:00.000Z");
        let leap = prost_wkt_types::Timestamp {
            seconds: 951_782_400,
            nanos: 0,
        };
        assert_eq!(rfc3339(&leap), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn ui_link_is_inferred_for_local_and_cloud_servers() {
        let started = Started {
            workflow_id: "w".into(),
            run_id: "r".into(),
        };
        assert_eq!(
            web_ui_link(None, "http://localhost:7233/", "default", &started).as_deref(),
            Some("http://localhost:8233/namespaces/default/workflows/w/r/history")
        );
        assert_eq!(
            web_ui_link(
                None,
                "https://ns.acct.tmprl.cloud:7233/",
                "ns.acct",
                &started
            )
            .as_deref(),
            Some("https://cloud.temporal.io/namespaces/ns.acct/workflows/w/r/history")
        );
        assert_eq!(
            web_ui_link(None, "http://temporal.internal:7233/", "x", &started),
            None
        );
        assert_eq!(
            web_ui_link(
                Some("https://ui.example/"),
                "http://temporal.internal:7233/",
                "x",
                &started
            )
            .as_deref(),
            Some("https://ui.example/namespaces/x/workflows/w/r/history")
        );
    }

    #[test]
    fn failures_keep_type_message_and_cause_chain() {
        use temporalio_common::protos::temporal::api::common::v1::ActivityType;
        use temporalio_common::protos::temporal::api::failure::v1::{
            ActivityFailureInfo, ApplicationFailureInfo,
        };
        let failure = Failure {
            message: "activity failed".into(),
            failure_info: Some(FailureInfo::ActivityFailureInfo(ActivityFailureInfo {
                activity_type: Some(ActivityType {
                    name: "payments.charge".into(),
                }),
                ..Default::default()
            })),
            cause: Some(Box::new(Failure {
                message: "card declined".into(),
                failure_info: Some(FailureInfo::ApplicationFailureInfo(
                    ApplicationFailureInfo {
                        r#type: "CardDeclined".into(),
                        non_retryable: true,
                        ..Default::default()
                    },
                )),
                ..Default::default()
            })),
            ..Default::default()
        };
        let f = run_failure(&failure);
        assert_eq!(f.error_type, "ActivityFailure(payments.charge)");
        assert_eq!(f.root().error_type, "CardDeclined");
        assert!(f.root().non_retryable);
        assert_eq!(
            f.to_string(),
            "ActivityFailure(payments.charge): activity failed\n  caused by CardDeclined: card declined"
        );
    }

    #[test]
    fn generated_ids_are_unique_and_prefixed() {
        let a = new_workflow_id("order-fulfilment");
        let b = new_workflow_id("order-fulfilment");
        assert_ne!(a, b);
        assert!(a.starts_with("order-fulfilment-"));
        assert_eq!(a.len(), "order-fulfilment-".len() + 12);
    }
}
