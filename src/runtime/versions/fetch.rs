//! Reads a run's recorded program back from the server, for a worker that lacks its version.

use temporalio_client::Connection;
use temporalio_client::tonic::IntoRequest as _;
use temporalio_common::protos::temporal::api::common::v1::WorkflowExecution;
use temporalio_common::protos::temporal::api::workflowservice::v1::DescribeWorkflowExecutionRequest;

use super::program::{PROGRAM_MEMO_KEY, decode_program};
use super::{Pin, VersionError};
use crate::ir::Workflow;

/// The program run `run_id` of `workflow_id` recorded on its first task, verified against
/// `pin`. One `DescribeWorkflowExecution`: the current memo includes what the run upserted.
pub async fn fetch_program(
    connection: &Connection,
    namespace: &str,
    workflow_id: &str,
    run_id: &str,
    pin: &Pin,
) -> Result<Workflow, VersionError> {
    let request = DescribeWorkflowExecutionRequest {
        namespace: namespace.to_owned(),
        execution: Some(WorkflowExecution {
            workflow_id: workflow_id.to_owned(),
            run_id: run_id.to_owned(),
        }),
    };
    let response = connection
        .clone()
        .workflow_service()
        .describe_workflow_execution(request.into_request())
        .await
        .map_err(|status| VersionError::Fetch {
            pin: pin.clone(),
            workflow_id: workflow_id.to_owned(),
            reason: status.message().to_owned(),
        })?
        .into_inner();
    let recorded = response
        .workflow_execution_info
        .and_then(|info| info.memo)
        .and_then(|memo| memo.fields.get(PROGRAM_MEMO_KEY).cloned())
        .ok_or_else(|| VersionError::NotRecorded {
            pin: pin.clone(),
            workflow_id: workflow_id.to_owned(),
        })?;
    decode_program(&recorded, pin)
}
