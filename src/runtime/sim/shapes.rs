//! The jobs and failures core hands a workflow, shaped exactly as core 0.10.1 shapes them.
//!
//! Sources: `worker/workflow/machines/activity_state_machine.rs` (`new_failure`,
//! `new_timeout_failure`, `new_cancel_failure`) and `child_workflow_state_machine.rs`
//! (`Started::on_child_workflow_execution_*`, `resolve_cancelled_msg`, `on_cancelled`);
//! server-made timeout failures from `common/failure/failure.go` (`NewTimeoutFailure`, source
//! `Server`) and the messages of `common/util.go`.

use serde_json::Value as Json;
use temporalio_common::protos::coresdk::{
    activity_result::{self, ActivityResolution, activity_resolution},
    child_workflow::{self, ChildWorkflowResult, StartChildWorkflowExecutionFailedCause},
    workflow_activation::{
        ResolveActivity, ResolveChildWorkflowExecution, ResolveChildWorkflowExecutionStart,
        ResolveChildWorkflowExecutionStartCancelled, ResolveChildWorkflowExecutionStartFailure,
        ResolveChildWorkflowExecutionStartSuccess, resolve_child_workflow_execution_start,
        workflow_activation_job::Variant as Job,
    },
};
use temporalio_common::protos::temporal::api::common::v1::{
    ActivityType, Payload, WorkflowExecution, WorkflowType,
};
use temporalio_common::protos::temporal::api::enums::v1::{RetryState, TimeoutType};
use temporalio_common::protos::temporal::api::failure::v1::{
    ActivityFailureInfo, ApplicationFailureInfo, CanceledFailureInfo,
    ChildWorkflowExecutionFailureInfo, Failure, TimeoutFailureInfo, failure::FailureInfo,
};

use super::retry::timeout_type_name;
use crate::runtime::payload;

/// Namespace the simulated runs live in.
pub const NAMESPACE: &str = "default";
/// Server message of a timeout that leaves no time for another attempt (1.31,
/// `FailureReasonActivityRetryScheduleToCloseTimeout`).
pub const NO_TIME_TO_RETRY: &str = "Not enough time to schedule next retry before activity ScheduleToClose timeout, giving up retrying";

/// The failure an activity worker reports for an application error (as Stave's
/// `worker::activities::to_failure` builds it).
pub fn application_failure(
    error_type: &str,
    message: &str,
    details: &Json,
    non_retryable: bool,
) -> Failure {
    Failure {
        message: message.to_owned(),
        failure_info: Some(FailureInfo::ApplicationFailureInfo(
            ApplicationFailureInfo {
                r#type: error_type.to_owned(),
                non_retryable,
                details: (!details.is_null()).then(|| payload::encode_payloads([details])),
                ..Default::default()
            },
        )),
        ..Default::default()
    }
}

/// A server-made timeout failure (`activity StartToClose timeout`).
pub fn timeout_failure(message: String, kind: TimeoutType, cause: Option<Failure>) -> Failure {
    Failure {
        message,
        source: "Server".to_owned(),
        cause: cause.map(Box::new),
        failure_info: Some(FailureInfo::TimeoutFailureInfo(TimeoutFailureInfo {
            timeout_type: kind as i32,
            last_heartbeat_details: None,
        })),
        ..Default::default()
    }
}

/// The timeout failure of an attempt's own timer (`activity StartToClose timeout`).
pub fn attempt_timeout(kind: TimeoutType) -> Failure {
    timeout_failure(
        format!("activity {} timeout", timeout_type_name(kind)),
        kind,
        None,
    )
}

/// Which activity a failure is about.
pub struct ActivityRef<'a> {
    pub seq: u32,
    pub activity_type: &'a str,
}

fn activity_info(a: &ActivityRef<'_>, retry_state: RetryState) -> FailureInfo {
    FailureInfo::ActivityFailureInfo(ActivityFailureInfo {
        activity_type: Some(ActivityType {
            name: a.activity_type.to_owned(),
        }),
        // The interpreter's activity ids are their seq.
        activity_id: a.seq.to_string(),
        retry_state: retry_state as i32,
        ..Default::default()
    })
}

/// `ResolveActivity` with the activity's result.
pub fn activity_completed(seq: u32, value: &Json) -> Job {
    resolve_activity(
        seq,
        activity_resolution::Status::Completed(activity_result::Success {
            result: Some(payload::encode(value)),
        }),
    )
}

/// `ResolveActivity` failed: the `ActivityFailure` wrapper around `cause`, "Activity task
/// failed" for a failed attempt, "Activity task timed out" for a timeout.
pub fn activity_failed(a: &ActivityRef<'_>, cause: Failure, retry_state: RetryState) -> Job {
    let timed_out = matches!(cause.failure_info, Some(FailureInfo::TimeoutFailureInfo(_)));
    let failure = Failure {
        message: if timed_out {
            "Activity task timed out"
        } else {
            "Activity task failed"
        }
        .to_owned(),
        cause: Some(Box::new(cause)),
        failure_info: Some(activity_info(a, retry_state)),
        ..Default::default()
    };
    resolve_activity(
        a.seq,
        activity_resolution::Status::Failed(activity_result::Failure {
            failure: Some(failure),
            ..Default::default()
        }),
    )
}

/// `ResolveActivity` cancelled, which core pushes at once for a `TRY_CANCEL` request.
pub fn activity_cancelled(a: &ActivityRef<'_>) -> Job {
    let failure = Failure {
        message: "Activity cancelled".to_owned(),
        cause: Some(Box::new(cancelled_cause())),
        failure_info: Some(activity_info(a, RetryState::CancelRequested)),
        ..Default::default()
    };
    resolve_activity(
        a.seq,
        activity_resolution::Status::Cancelled(activity_result::Cancellation {
            failure: Some(failure),
        }),
    )
}

fn resolve_activity(seq: u32, status: activity_resolution::Status) -> Job {
    Job::ResolveActivity(ResolveActivity {
        seq,
        result: Some(ActivityResolution {
            status: Some(status),
        }),
        is_local: false,
    })
}

fn cancelled_cause() -> Failure {
    Failure {
        failure_info: Some(FailureInfo::CanceledFailureInfo(
            CanceledFailureInfo::default(),
        )),
        ..Default::default()
    }
}

/// Which child a resolution is about.
pub struct ChildRef<'a> {
    pub seq: u32,
    pub workflow_type: &'a str,
    pub workflow_id: &'a str,
    pub run_id: &'a str,
}

fn child_info(c: &ChildRef<'_>, retry_state: RetryState) -> FailureInfo {
    FailureInfo::ChildWorkflowExecutionFailureInfo(ChildWorkflowExecutionFailureInfo {
        namespace: NAMESPACE.to_owned(),
        workflow_execution: Some(WorkflowExecution {
            workflow_id: c.workflow_id.to_owned(),
            run_id: c.run_id.to_owned(),
        }),
        workflow_type: Some(WorkflowType {
            name: c.workflow_type.to_owned(),
        }),
        retry_state: retry_state as i32,
        ..Default::default()
    })
}

/// The child started.
pub fn child_started(seq: u32, run_id: &str) -> Job {
    resolve_start(
        seq,
        resolve_child_workflow_execution_start::Status::Succeeded(
            ResolveChildWorkflowExecutionStartSuccess {
                run_id: run_id.to_owned(),
            },
        ),
    )
}

/// The child could not start: a running workflow has its id.
pub fn child_start_failed(c: &ChildRef<'_>) -> Job {
    resolve_start(
        c.seq,
        resolve_child_workflow_execution_start::Status::Failed(
            ResolveChildWorkflowExecutionStartFailure {
                workflow_id: c.workflow_id.to_owned(),
                workflow_type: c.workflow_type.to_owned(),
                cause: StartChildWorkflowExecutionFailedCause::WorkflowAlreadyExists as i32,
            },
        ),
    )
}

/// The start was cancelled in the activation that issued it (core drops the command).
pub fn child_start_cancelled(c: &ChildRef<'_>, reason: &str) -> Job {
    let failure = Failure {
        message: format!("Child Workflow Execution cancelled before scheduled: {reason}"),
        cause: Some(Box::new(cancelled_cause())),
        failure_info: Some(child_info(c, RetryState::NonRetryableFailure)),
        ..Default::default()
    };
    resolve_start(
        c.seq,
        resolve_child_workflow_execution_start::Status::Cancelled(
            ResolveChildWorkflowExecutionStartCancelled {
                failure: Some(failure),
            },
        ),
    )
}

fn resolve_start(seq: u32, status: resolve_child_workflow_execution_start::Status) -> Job {
    Job::ResolveChildWorkflowExecutionStart(ResolveChildWorkflowExecutionStart {
        seq,
        status: Some(status),
    })
}

/// The child completed with `result`.
pub fn child_completed(seq: u32, result: Option<Payload>) -> Job {
    resolve_child(
        seq,
        child_workflow::child_workflow_result::Status::Completed(child_workflow::Success {
            result,
        }),
    )
}

/// The child failed with `failure` (its own `FailWorkflowExecution` failure).
pub fn child_failed(c: &ChildRef<'_>, failure: Failure, retry_state: RetryState) -> Job {
    let failure = Failure {
        message: "Child Workflow execution failed".to_owned(),
        failure_info: Some(child_info(c, retry_state)),
        cause: Some(Box::new(failure)),
        ..Default::default()
    };
    resolve_child(
        c.seq,
        child_workflow::child_workflow_result::Status::Failed(child_workflow::Failure {
            failure: Some(failure),
        }),
    )
}

/// The child timed out (core reports a `StartToClose` timeout whatever the server said).
pub fn child_timed_out(c: &ChildRef<'_>, retry_state: RetryState) -> Job {
    let failure = Failure {
        message: "Child Workflow execution timed out".to_owned(),
        cause: Some(Box::new(Failure {
            message: "Timed out".to_owned(),
            failure_info: Some(FailureInfo::TimeoutFailureInfo(TimeoutFailureInfo {
                last_heartbeat_details: None,
                timeout_type: TimeoutType::StartToClose as i32,
            })),
            ..Default::default()
        })),
        failure_info: Some(child_info(c, retry_state)),
        ..Default::default()
    };
    resolve_child(
        c.seq,
        child_workflow::child_workflow_result::Status::Failed(child_workflow::Failure {
            failure: Some(failure),
        }),
    )
}

/// The child was cancelled (core resolves a `TRY_CANCEL` at once, and a child that ended
/// cancelled the same way).
pub fn child_cancelled(c: &ChildRef<'_>) -> Job {
    let failure = Failure {
        message: "Child Workflow execution cancelled".to_owned(),
        cause: Some(Box::new(cancelled_cause())),
        failure_info: Some(child_info(c, RetryState::NonRetryableFailure)),
        ..Default::default()
    };
    resolve_child(
        c.seq,
        child_workflow::child_workflow_result::Status::Cancelled(child_workflow::Cancellation {
            failure: Some(failure),
        }),
    )
}

fn resolve_child(seq: u32, status: child_workflow::child_workflow_result::Status) -> Job {
    Job::ResolveChildWorkflowExecution(ResolveChildWorkflowExecution {
        seq,
        result: Some(ChildWorkflowResult {
            status: Some(status),
        }),
    })
}

/// Type, message and details of a workflow's failure (an application failure, as Stave
/// writes them; anything else is `Error` with its message).
pub fn describe_failure(failure: &Failure) -> (String, String, Json) {
    match &failure.failure_info {
        Some(FailureInfo::ApplicationFailureInfo(info)) => {
            let details = info
                .details
                .as_ref()
                .and_then(|d| payload::decode_args(&d.payloads).ok())
                .unwrap_or(Json::Null);
            let error_type = if info.r#type.is_empty() {
                "Error".to_owned()
            } else {
                info.r#type.clone()
            };
            (error_type, failure.message.clone(), details)
        }
        _ => ("Error".to_owned(), failure.message.clone(), Json::Null),
    }
}
