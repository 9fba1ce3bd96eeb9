//! What the client sends to a running run: signals, updates, queries, cancellation requests and termination.

use std::time::Duration;

use serde_json::Value as Json;
use temporalio_client::tonic::{Code, IntoRequest as _};
use temporalio_common::protos::temporal::api::enums::v1::{
    UpdateWorkflowExecutionLifecycleStage, WorkflowExecutionStatus,
};
use temporalio_common::protos::temporal::api::query::v1::WorkflowQuery;
use temporalio_common::protos::temporal::api::update::v1::{
    Input as UpdateInput, Meta as UpdateMeta, Request as UpdateRequest, WaitPolicy, outcome,
};
use temporalio_common::protos::temporal::api::workflowservice::v1::{
    QueryWorkflowRequest, RequestCancelWorkflowExecutionRequest, SignalWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest, UpdateWorkflowExecutionRequest,
};

use super::describe::status_name;
use super::ids::request_id;
use super::{Client, ClientError, decode_payload, execution, payloads};

impl Client {
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

    /// Sends update `name` with `input` and waits until it completes: `Ok(Ok(result))`, or
    /// `Ok(Err(message))` when the workflow rejected it (its validator, or a failed handler).
    /// Bounded by `limit`: with no worker polling, the update would wait to be admitted.
    pub async fn update(
        &self,
        id: &str,
        run_id: Option<&str>,
        name: &str,
        input: Option<&Json>,
        limit: Duration,
    ) -> Result<Result<Json, String>, ClientError> {
        let request = self.update_request(id, run_id, name, input);
        self.await_update(request, None, limit).await
    }

    /// The request that sends update `name` and waits for it to complete; its update id is
    /// fixed, so sending it again returns the first outcome instead of running it twice.
    pub(super) fn update_request(
        &self,
        id: &str,
        run_id: Option<&str>,
        name: &str,
        input: Option<&Json>,
    ) -> UpdateWorkflowExecutionRequest {
        UpdateWorkflowExecutionRequest {
            namespace: self.namespace.clone(),
            workflow_execution: Some(execution(id, run_id)),
            wait_policy: Some(WaitPolicy {
                lifecycle_stage: UpdateWorkflowExecutionLifecycleStage::Completed as i32,
            }),
            request: Some(UpdateRequest {
                meta: Some(UpdateMeta {
                    update_id: request_id(),
                    identity: self.connection.identity().to_string(),
                }),
                input: Some(UpdateInput {
                    name: name.to_string(),
                    args: input.map(payloads),
                    ..Default::default()
                }),
                request_id: request_id(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// The outcome of `request`: `first` if an earlier call already brought it, else the
    /// update is (re)sent until it completes or `limit` passes.
    pub(super) async fn await_update(
        &self,
        request: UpdateWorkflowExecutionRequest,
        first: Option<outcome::Value>,
        limit: Duration,
    ) -> Result<Result<Json, String>, ClientError> {
        let id = request
            .workflow_execution
            .as_ref()
            .map(|e| e.workflow_id.clone())
            .unwrap_or_default();
        let name = request
            .request
            .as_ref()
            .and_then(|r| r.input.as_ref())
            .map(|i| i.name.clone())
            .unwrap_or_default();
        let id = id.as_str();
        let error = |message: String| ClientError::Update {
            id: id.to_string(),
            name: name.clone(),
            message,
        };
        let done = |value: outcome::Value| match value {
            outcome::Value::Success(result) => Ok(result
                .payloads
                .first()
                .map(decode_payload)
                .unwrap_or(Json::Null)),
            outcome::Value::Failure(failure) => Err(
                crate::runtime::interpreter::describe_update_failure(&failure),
            ),
        };
        if let Some(value) = first {
            return Ok(done(value));
        }
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let mut service = self.connection.workflow_service();
            let call = service.update_workflow_execution(request.clone().into_request());
            let response = match tokio::time::timeout_at(deadline, call).await {
                Ok(Ok(response)) => response.into_inner(),
                Ok(Err(status)) => {
                    return Err(match status.code() {
                        Code::NotFound => self.not_found(id),
                        Code::Unavailable => self.unavailable("update", &status),
                        _ => error(status.message().to_string()),
                    });
                }
                Err(_) => {
                    return Err(error(format!(
                        "no answer within {limit:?}; is a worker polling the run's task queue?"
                    )));
                }
            };
            // Without an outcome the server's own wait ran out first: ask again.
            match response.outcome.and_then(|o| o.value) {
                Some(value) => return Ok(done(value)),
                None if tokio::time::Instant::now() >= deadline => {
                    return Err(error(format!("not completed within {limit:?}")));
                }
                None => {}
            }
        }
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

    /// Terminates the run at once: no compensation, no cleanup (`stave test` on a server
    /// ends the runs a case left open this way).
    pub async fn terminate(
        &self,
        id: &str,
        run_id: Option<&str>,
        reason: &str,
    ) -> Result<(), ClientError> {
        let request = TerminateWorkflowExecutionRequest {
            namespace: self.namespace.clone(),
            workflow_execution: Some(execution(id, run_id)),
            reason: reason.to_string(),
            identity: self.connection.identity().to_string(),
            ..Default::default()
        };
        self.connection
            .workflow_service()
            .terminate_workflow_execution(request.into_request())
            .await
            .map_err(|status| self.rpc_error("terminate", id, status))?;
        Ok(())
    }
}
