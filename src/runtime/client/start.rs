//! Starting a run: `StartWorkflowExecution` (or signal-with-start, or update-with-start) with `json/plain` input and memo.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value as Json;
use temporalio_client::tonic::{Code, IntoRequest as _};
use temporalio_common::protos::temporal::api::common::v1::{Memo, WorkflowType};
use temporalio_common::protos::temporal::api::enums::v1::{
    TaskQueueKind, WorkflowIdConflictPolicy, WorkflowIdReusePolicy,
};
use temporalio_common::protos::temporal::api::taskqueue::v1::TaskQueue;
use temporalio_common::protos::temporal::api::workflowservice::v1::{
    ExecuteMultiOperationRequest, SignalWithStartWorkflowExecutionRequest,
    StartWorkflowExecutionRequest, execute_multi_operation_request,
    execute_multi_operation_response,
};

use super::ids::request_id;
use super::{Client, ClientError, payloads};
use crate::runtime::payload;

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
    /// Temporal priority of the run (its activities and children inherit it).
    pub priority: Option<temporalio_common::protos::temporal::api::common::v1::Priority>,
}

/// A started run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Started {
    pub workflow_id: String,
    pub run_id: String,
}

impl Client {
    /// Starts a run. An id still running is an error; a closed one may be reused.
    pub async fn start(&self, options: &StartOptions) -> Result<Started, ClientError> {
        let request = self.start_request(options);
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

    /// Update-with-start: sends update `name` (payload `input`) to the run with
    /// `options.workflow_id`, starting it first unless one is running (then that one takes the
    /// update). One atomic request: a client never sees a run started without its update.
    /// Returns the run and the update's result, or its rejection message.
    pub async fn update_with_start(
        &self,
        options: &StartOptions,
        name: &str,
        input: Option<&Json>,
        limit: Duration,
    ) -> Result<(Started, Result<Json, String>), ClientError> {
        use execute_multi_operation_request::{Operation, operation};
        use execute_multi_operation_response::response;
        let mut start = self.start_request(options);
        start.workflow_id_conflict_policy = WorkflowIdConflictPolicy::UseExisting as i32;
        let update = self.update_request(&options.workflow_id, None, name, input);
        let request = ExecuteMultiOperationRequest {
            namespace: self.namespace.clone(),
            operations: vec![
                Operation {
                    operation: Some(operation::Operation::StartWorkflow(start)),
                },
                Operation {
                    operation: Some(operation::Operation::UpdateWorkflow(update.clone())),
                },
            ],
            ..Default::default()
        };
        let mut service = self.connection.workflow_service();
        let call = service.execute_multi_operation(request.into_request());
        let responses = match tokio::time::timeout(limit, call).await {
            Ok(Ok(response)) => response.into_inner().responses,
            Ok(Err(status)) => {
                return Err(self.rpc_error("update-with-start", &options.workflow_id, status));
            }
            Err(_) => {
                return Err(ClientError::Update {
                    id: options.workflow_id.clone(),
                    name: name.to_string(),
                    message: format!(
                        "no answer within {limit:?}; is a worker polling the run's task queue?"
                    ),
                });
            }
        };
        let mut run_id = String::new();
        let mut first = None;
        for r in responses {
            match r.response {
                Some(response::Response::StartWorkflow(started)) => run_id = started.run_id,
                Some(response::Response::UpdateWorkflow(updated)) => {
                    first = updated.outcome.and_then(|o| o.value);
                }
                None => {}
            }
        }
        // The server answers once the update is accepted or its own wait ends; the same
        // update id then fetches the outcome.
        let outcome = self.await_update(update, first, limit).await?;
        Ok((
            Started {
                workflow_id: options.workflow_id.clone(),
                run_id,
            },
            outcome,
        ))
    }

    /// Starts a run with signal `signal` (one argument, `input`) already in its history, so
    /// its first workflow task sees it. A run with the id still open just gets the signal.
    pub async fn signal_with_start(
        &self,
        options: &StartOptions,
        signal: &str,
        input: &Json,
    ) -> Result<Started, ClientError> {
        let start = self.start_request(options);
        let request = SignalWithStartWorkflowExecutionRequest {
            namespace: start.namespace,
            workflow_id: start.workflow_id,
            workflow_type: start.workflow_type,
            task_queue: start.task_queue,
            input: start.input,
            workflow_execution_timeout: start.workflow_execution_timeout,
            identity: start.identity,
            request_id: start.request_id,
            workflow_id_reuse_policy: start.workflow_id_reuse_policy,
            memo: start.memo,
            priority: start.priority,
            signal_name: signal.to_string(),
            signal_input: Some(payloads(input)),
            ..Default::default()
        };
        let response = self
            .connection
            .workflow_service()
            .signal_with_start_workflow_execution(request.into_request())
            .await
            .map_err(|status| self.rpc_error("signal-with-start", &options.workflow_id, status))?
            .into_inner();
        Ok(Started {
            workflow_id: options.workflow_id.clone(),
            run_id: response.run_id,
        })
    }
}

fn duration(d: Duration) -> prost_wkt_types::Duration {
    prost_wkt_types::Duration {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

impl Client {
    /// The request that starts a run with `options`; a signal-with-start takes its fields.
    fn start_request(&self, options: &StartOptions) -> StartWorkflowExecutionRequest {
        StartWorkflowExecutionRequest {
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
            memo: memo(options),
            priority: options.priority.clone(),
            ..Default::default()
        }
    }
}

/// The start memo of `options`, if it has one.
fn memo(options: &StartOptions) -> Option<Memo> {
    (!options.memo.is_empty()).then(|| Memo {
        fields: options
            .memo
            .iter()
            .map(|(k, v)| (k.clone(), payload::encode(v)))
            .collect(),
    })
}

/// The workflow's own `priority:`, evaluated by the starter over `input` and
/// `workflow.id`/`workflow.type` (the run has no state yet).
pub fn priority_for_start(
    priority: &crate::ir::Priority,
    input: &Json,
    workflow_id: &str,
    workflow_type: &str,
) -> Result<temporalio_common::protos::temporal::api::common::v1::Priority, String> {
    struct Starter;
    impl crate::expr::Host for Starter {
        fn now(&self) -> String {
            let ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            crate::runtime::time::format_rfc3339(ms)
        }
        fn uuid(&self) -> String {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            let seed =
                crate::runtime::interpreter::splitmix64(nanos ^ u64::from(std::process::id()));
            crate::runtime::interpreter::uuid_v4(
                seed,
                crate::runtime::interpreter::splitmix64(seed),
            )
        }
    }
    let mut bindings = serde_json::Map::new();
    bindings.insert("input".into(), input.clone());
    bindings.insert(
        "workflow".into(),
        serde_json::json!({"id": workflow_id, "type": workflow_type}),
    );
    let eval = |v: &Option<crate::ir::Value>| -> Result<Option<Json>, String> {
        v.as_ref()
            .map(|v| {
                crate::runtime::interpreter::eval_value(v, &bindings, &Starter)
                    .map_err(|e| format!("the workflow's priority: `{}`: {}", e.expr, e.message))
            })
            .transpose()
    };
    let (key, fairness, weight) = (
        eval(&priority.key)?,
        eval(&priority.fairness)?,
        eval(&priority.weight)?,
    );
    crate::runtime::priority::to_proto(key.as_ref(), fairness.as_ref(), weight.as_ref())
        .map_err(|e| format!("the workflow's priority: {e}"))
}
