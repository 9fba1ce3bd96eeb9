//! `describe`: a run's status, times, queue, pinned version, pending work and progress.

use crate::runtime::versions::PROGRAM_MEMO_KEY;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value as Json;
use temporalio_client::tonic::IntoRequest as _;
use temporalio_common::protos::temporal::api::enums::v1::WorkflowExecutionStatus;
use temporalio_common::protos::temporal::api::workflowservice::v1::{
    DescribeWorkflowExecutionRequest, DescribeWorkflowExecutionResponse,
};

use super::outcome::run_failure;
use super::{Client, ClientError, STATUS_QUERY, VERSION_MEMO_KEY, decode_payload, execution};
use crate::runtime::time::format_timestamp;

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

impl Client {
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
                        .map(|(k, v)| {
                            // The recorded program is for workers; people see its size.
                            let shown = if k == PROGRAM_MEMO_KEY {
                                Json::String(format!("<program, {} bytes>", v.data.len()))
                            } else {
                                decode_payload(&v)
                            };
                            (k, shown)
                        })
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
            start_time: info.start_time.as_ref().map(format_timestamp),
            close_time: info.close_time.as_ref().map(format_timestamp),
            history_length: info.history_length,
            version,
            memo,
            pending_activities,
            pending_children,
            progress,
        })
    }

    /// The server's description of the run and its run id (the latest run when `run_id` is
    /// `None`).
    pub(super) async fn describe_raw(
        &self,
        id: &str,
        run_id: Option<&str>,
    ) -> Result<(DescribeWorkflowExecutionResponse, String), ClientError> {
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
