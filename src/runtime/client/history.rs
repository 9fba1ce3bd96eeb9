//! A workflow's runs as its history records them: start and close times, history length and the last workflow-task failure of each run, following continue-as-new and retries; and the activities a run left running.

use temporalio_client::tonic::IntoRequest as _;
use temporalio_common::protos::temporal::api::enums::v1::PendingActivityState;
use temporalio_common::protos::temporal::api::history::v1::HistoryEvent;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
use temporalio_common::protos::temporal::api::workflowservice::v1::GetWorkflowExecutionHistoryRequest;

use super::{Client, ClientError, execution};

/// One run of a workflow, from its history.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunSummary {
    pub run_id: String,
    /// When the run started, epoch milliseconds of the server's clock.
    pub start_ms: Option<i64>,
    /// When it closed; None while it runs.
    pub close_ms: Option<i64>,
    /// Events in its history so far.
    pub history_length: u64,
    /// The message of its last failed workflow task (a bug, a nondeterminism, a missing
    /// program), if any.
    pub task_failure: Option<String>,
}

impl Client {
    /// The runs of workflow `id` from `first_run_id` on: each run's history, read once (no
    /// waiting), then the run its close event names next, until one is still open or closed
    /// for good.
    pub async fn runs(&self, id: &str, first_run_id: &str) -> Result<Vec<RunSummary>, ClientError> {
        let mut out = Vec::new();
        let mut run_id = first_run_id.to_string();
        // A chain longer than this is a loop in what the server returned, not a workflow.
        while out.len() < 10_000 {
            let events = self.events(id, &run_id).await?;
            let mut summary = RunSummary {
                run_id: run_id.clone(),
                history_length: events.len() as u64,
                ..RunSummary::default()
            };
            let mut next = String::new();
            for event in &events {
                let at = event.event_time.as_ref().map(|t| {
                    t.seconds
                        .saturating_mul(1000)
                        .saturating_add(i64::from(t.nanos / 1_000_000))
                });
                match &event.attributes {
                    Some(Attributes::WorkflowExecutionStartedEventAttributes(_)) => {
                        summary.start_ms = at;
                    }
                    Some(Attributes::WorkflowTaskFailedEventAttributes(a)) => {
                        summary.task_failure = a.failure.as_ref().map(|f| f.message.clone());
                    }
                    Some(attributes) => {
                        if let Some(new_run) = closing(attributes) {
                            summary.close_ms = at;
                            next = new_run;
                        }
                    }
                    None => {}
                }
            }
            out.push(summary);
            if next.is_empty() {
                break;
            }
            run_id = next;
        }
        Ok(out)
    }

    /// The types of the activities run `run_id` still has started (or asked to cancel):
    /// after the run closed, attempts that can no longer report to it.
    pub async fn running_activities(
        &self,
        id: &str,
        run_id: &str,
    ) -> Result<Vec<String>, ClientError> {
        let (response, _) = self.describe_raw(id, Some(run_id)).await?;
        Ok(response
            .pending_activities
            .into_iter()
            .filter(|a| {
                matches!(
                    PendingActivityState::try_from(a.state),
                    Ok(PendingActivityState::Started | PendingActivityState::CancelRequested)
                )
            })
            .map(|a| a.activity_type.map(|t| t.name).unwrap_or_default())
            .collect())
    }

    async fn events(&self, id: &str, run_id: &str) -> Result<Vec<HistoryEvent>, ClientError> {
        let mut events = Vec::new();
        let mut page_token = Vec::new();
        loop {
            let request = GetWorkflowExecutionHistoryRequest {
                namespace: self.namespace.clone(),
                execution: Some(execution(id, Some(run_id))),
                next_page_token: page_token,
                skip_archival: true,
                ..Default::default()
            };
            let response = self
                .connection
                .workflow_service()
                .get_workflow_execution_history(request.into_request())
                .await
                .map_err(|status| self.rpc_error("read the history of", id, status))?
                .into_inner();
            events.extend(response.history.map(|h| h.events).unwrap_or_default());
            if response.next_page_token.is_empty() {
                return Ok(events);
            }
            page_token = response.next_page_token;
        }
    }
}

/// For a close event: the run it hands over to (empty when none).
fn closing(attributes: &Attributes) -> Option<String> {
    Some(match attributes {
        Attributes::WorkflowExecutionCompletedEventAttributes(a) => a.new_execution_run_id.clone(),
        Attributes::WorkflowExecutionFailedEventAttributes(a) => a.new_execution_run_id.clone(),
        Attributes::WorkflowExecutionTimedOutEventAttributes(a) => a.new_execution_run_id.clone(),
        Attributes::WorkflowExecutionContinuedAsNewEventAttributes(a) => {
            a.new_execution_run_id.clone()
        }
        Attributes::WorkflowExecutionCanceledEventAttributes(_)
        | Attributes::WorkflowExecutionTerminatedEventAttributes(_) => String::new(),
        _ => return None,
    })
}
