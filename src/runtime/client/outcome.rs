//! How a run ended: waiting for its close event (across continue-as-new) and decoding failures.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value as Json;
use temporalio_client::tonic::{Code, IntoRequest as _};
use temporalio_common::protos::temporal::api::enums::v1::HistoryEventFilterType;
use temporalio_common::protos::temporal::api::failure::v1::{Failure, failure::FailureInfo};
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
use temporalio_common::protos::temporal::api::workflowservice::v1::GetWorkflowExecutionHistoryRequest;

use super::{Client, ClientError, execution, first_payload};

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

impl Client {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
