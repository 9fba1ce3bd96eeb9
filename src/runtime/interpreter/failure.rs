//! Workflow errors (typed, catchable) and how they map to and from Temporal `Failure` protos.

use serde_json::{Value as Json, json};
use temporalio_common::protos::temporal::api::failure::v1::{
    ApplicationFailureInfo, Failure, failure::FailureInfo,
};

use crate::runtime::payload;

pub use crate::ir::errors::{
    CANCELLED, CHILD_START_FAILED, EXPRESSION_ERROR, GENERIC_ERROR, INVALID_INPUT,
    MAX_ITERATIONS_EXCEEDED, TERMINATED, TIMEOUT, WAIT_TIMEOUT,
};

/// A typed error inside a run: what `catch` matches and what fails the workflow.
#[derive(Debug, Clone, PartialEq)]
pub struct WfError {
    pub error_type: String,
    pub message: String,
    pub details: Json,
    pub non_retryable: bool,
    /// The failure Temporal reported, kept as the cause of the workflow failure.
    pub cause: Option<Failure>,
}

impl WfError {
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        WfError {
            error_type: error_type.into(),
            message: message.into(),
            details: Json::Null,
            non_retryable: false,
            cause: None,
        }
    }

    pub fn non_retryable(mut self) -> Self {
        self.non_retryable = true;
        self
    }

    /// The value a `catch` binds: `{type, message, details}`.
    pub fn to_json(&self) -> Json {
        json!({"type": self.error_type, "message": self.message, "details": self.details})
    }

    /// The error an activity or child failure stands for: the innermost cause that says what
    /// went wrong (an application failure's type, a timeout, a cancellation), not the
    /// `ActivityFailure`/`ChildWorkflowFailure` wrappers around it.
    pub fn from_failure(failure: &Failure) -> WfError {
        let mut current = failure;
        while matches!(
            current.failure_info,
            Some(FailureInfo::ActivityFailureInfo(_))
                | Some(FailureInfo::ChildWorkflowExecutionFailureInfo(_))
        ) {
            match current.cause.as_deref() {
                Some(cause) => current = cause,
                None => break,
            }
        }
        let (error_type, details, non_retryable) = match &current.failure_info {
            Some(FailureInfo::ApplicationFailureInfo(info)) => {
                let details = info
                    .details
                    .as_ref()
                    .map(|d| payload::decode_args(&d.payloads).unwrap_or(Json::Null))
                    .unwrap_or(Json::Null);
                let error_type = if info.r#type.is_empty() {
                    GENERIC_ERROR.to_string()
                } else {
                    info.r#type.clone()
                };
                (error_type, details, info.non_retryable)
            }
            Some(FailureInfo::TimeoutFailureInfo(info)) => (
                TIMEOUT.to_string(),
                json!({"timeout_type": info.timeout_type().as_str_name()}),
                false,
            ),
            Some(FailureInfo::CanceledFailureInfo(_)) => (CANCELLED.to_string(), Json::Null, false),
            Some(FailureInfo::TerminatedFailureInfo(_)) => {
                (TERMINATED.to_string(), Json::Null, false)
            }
            _ => (GENERIC_ERROR.to_string(), Json::Null, false),
        };
        let message = if current.message.is_empty() {
            failure.message.clone()
        } else {
            current.message.clone()
        };
        WfError {
            error_type,
            message,
            details,
            non_retryable,
            cause: Some(failure.clone()),
        }
    }

    /// The `Failure` that fails the workflow: an application failure of this error's type,
    /// with Temporal's original failure (if any) as its cause.
    pub fn to_failure(&self) -> Failure {
        let details = if self.details.is_null() {
            None
        } else {
            Some(payload::encode_payloads([&self.details]))
        };
        Failure {
            message: self.message.clone(),
            source: "stave".to_string(),
            cause: self.cause.clone().map(Box::new),
            failure_info: Some(FailureInfo::ApplicationFailureInfo(
                ApplicationFailureInfo {
                    r#type: self.error_type.clone(),
                    non_retryable: self.non_retryable,
                    details,
                    ..Default::default()
                },
            )),
            ..Default::default()
        }
    }
}

/// Why a strand stopped early.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// A typed error: catchable by `try`, else the saga unwinds and the workflow fails.
    Error(Box<WfError>),
    /// A `return` step: the workflow completes with this output.
    Return(Json),
    /// The run continues as new at a loop boundary (see `carry`).
    ContinueAsNew(Box<super::carry::Carry>),
    /// A bug or an impossible history (nondeterminism): fails the workflow task.
    Internal(String),
}

impl Fault {
    pub fn error(e: WfError) -> Fault {
        Fault::Error(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use temporalio_common::protos::temporal::api::failure::v1::ActivityFailureInfo;

    #[test]
    fn unwraps_activity_failure_to_the_application_cause() {
        let app = Failure {
            message: "card declined".into(),
            failure_info: Some(FailureInfo::ApplicationFailureInfo(
                ApplicationFailureInfo {
                    r#type: "CardDeclined".into(),
                    non_retryable: true,
                    details: Some(payload::encode_payloads([&json!({"code": 51})])),
                    ..Default::default()
                },
            )),
            ..Default::default()
        };
        let wrapped = Failure {
            message: "activity error".into(),
            cause: Some(Box::new(app)),
            failure_info: Some(FailureInfo::ActivityFailureInfo(
                ActivityFailureInfo::default(),
            )),
            ..Default::default()
        };
        let e = WfError::from_failure(&wrapped);
        assert_eq!(e.error_type, "CardDeclined");
        assert_eq!(e.message, "card declined");
        assert_eq!(e.details, json!({"code": 51}));
        assert!(e.non_retryable);
        let back = e.to_failure();
        assert_eq!(back.message, "card declined");
        assert!(back.cause.is_some());
    }
}
