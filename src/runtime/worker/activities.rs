//! Activity tasks of one task queue: run each registered function concurrently, report once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use prost::Message;
use serde_json::Value as Json;
use temporalio_common::protos::coresdk::activity_result::ActivityExecutionResult;
use temporalio_common::protos::coresdk::activity_task::{
    ActivityCancelReason, ActivityTask, Start, activity_task,
};
use temporalio_common::protos::coresdk::{ActivityHeartbeat, ActivityTaskCompletion};
use temporalio_common::protos::temporal::api::failure::v1::{
    ApplicationFailureInfo, Failure, failure::FailureInfo,
};
use temporalio_sdk_core::{PollError, Worker};
use tokio::task::JoinSet;

use crate::runtime::activity::{
    ActivityContext, ActivityError, ActivityInfo, CancelReason, Canceller, INVALID_INPUT,
    PAYLOAD_TOO_LARGE, Registry,
};
use crate::runtime::egress::HttpPolicy;
use crate::runtime::payload;
use crate::runtime::secrets::{Resolved, Secrets};

/// The error type of an activity whose input names a secret no provider has (retryable).
pub const SECRET_UNAVAILABLE: &str = "SecretUnavailable";

/// What the worker gives every activity besides its input.
#[derive(Clone)]
pub struct Given {
    /// Where secret references in the input are resolved.
    pub secrets: Secrets,
    /// Where `http.request` may connect.
    pub http: Arc<HttpPolicy>,
}

/// Polls activity tasks until core reports shutdown, then waits for the running ones.
pub async fn serve(
    worker: Arc<Worker>,
    registry: Registry,
    payload_limit: usize,
    observer: crate::runtime::metrics::Observer,
    given: Given,
) -> Result<(), PollError> {
    let running: Arc<Mutex<HashMap<Vec<u8>, Canceller>>> = Arc::default();
    let mut tasks = JoinSet::new();
    let result = loop {
        let task = match worker.poll_activity_task().await {
            Ok(task) => task,
            Err(PollError::ShutDown) => break Ok(()),
            Err(e) => break Err(e),
        };
        while tasks.try_join_next().is_some() {}
        let ActivityTask {
            task_token,
            variant,
        } = task;
        match variant {
            Some(activity_task::Variant::Start(start)) => {
                let note = observer.activity(&worker.get_config().task_queue, &start);
                let worker = Arc::downgrade(&worker);
                let registry = registry.clone();
                let running = running.clone();
                let given = given.clone();
                tasks.spawn(async move {
                    let result = note
                        .run(execute(
                            &worker,
                            &registry,
                            &running,
                            task_token.clone(),
                            start,
                            payload_limit,
                            &given,
                        ))
                        .await;
                    if let Ok(mut running) = running.lock() {
                        running.remove(&task_token);
                    }
                    if let Some(worker) = worker.upgrade() {
                        let completion = ActivityTaskCompletion {
                            task_token,
                            result: Some(result),
                        };
                        if let Err(e) = worker.complete_activity_task(completion).await {
                            tracing::error!("cannot report an activity result: {e}");
                        }
                    }
                });
            }
            Some(activity_task::Variant::Cancel(cancel)) => {
                let reason = match ActivityCancelReason::try_from(cancel.reason) {
                    Ok(ActivityCancelReason::Cancelled) => CancelReason::Cancelled,
                    Ok(ActivityCancelReason::TimedOut) => CancelReason::TimedOut,
                    Ok(ActivityCancelReason::WorkerShutdown) => CancelReason::WorkerShutdown,
                    Ok(ActivityCancelReason::NotFound) => CancelReason::NotFound,
                    _ => CancelReason::Other,
                };
                if let Ok(running) = running.lock()
                    && let Some(canceller) = running.get(&task_token)
                {
                    canceller.cancel(reason);
                }
            }
            None => {}
        }
    };
    // In-flight activities finish (or notice the shutdown cancellation) before we return.
    while tasks.join_next().await.is_some() {}
    result
}

async fn execute(
    worker: &Weak<Worker>,
    registry: &Registry,
    running: &Mutex<HashMap<Vec<u8>, Canceller>>,
    task_token: Vec<u8>,
    start: Start,
    payload_limit: usize,
    given: &Given,
) -> ActivityExecutionResult {
    let task_queue = worker
        .upgrade()
        .map(|w| w.get_config().task_queue.clone())
        .unwrap_or_default();
    let info = info_of(&start, &task_queue);
    let activity_type = info.activity_type.clone();
    let input = match payload::decode_args(&start.input) {
        Ok(input) => input,
        Err(e) => {
            return failure(
                ActivityError::new(
                    INVALID_INPUT,
                    format!("input of activity `{activity_type}`: {e}"),
                )
                .non_retryable(),
            );
        }
    };
    // Secret references become values here, and the values references again in everything
    // the activity hands back: its result, its failure and its heartbeats.
    let resolved = if registry.resolves_secrets(&activity_type) {
        match given.secrets.resolve(&input) {
            Ok(resolved) => resolved,
            // Retryable: the operator can provide the secret and the next attempt finds it.
            Err(e) => {
                return failure(ActivityError::new(
                    SECRET_UNAVAILABLE,
                    format!("activity `{activity_type}`: {e}"),
                ));
            }
        }
    } else {
        Resolved {
            value: input,
            ..Resolved::default()
        }
    };
    let redactor = Arc::new(resolved.redactor());
    let heartbeat_worker = worker.clone();
    let heartbeat_token = task_token.clone();
    let heartbeat_redactor = redactor.clone();
    let (ctx, canceller) = ActivityContext::new(info, move |details: Json| {
        if let Some(worker) = heartbeat_worker.upgrade() {
            worker.record_activity_heartbeat(ActivityHeartbeat {
                task_token: heartbeat_token.clone(),
                details: vec![payload::encode(&heartbeat_redactor.redact_json(&details))],
            });
        }
    });
    let ctx = ctx.with_http_policy(given.http.clone());
    if let Ok(mut running) = running.lock() {
        running.insert(task_token, canceller);
    }
    let cancelled = ctx.clone();
    match registry.run(&activity_type, ctx, resolved.value).await {
        Ok(output) => {
            let output = redactor.redact_json(&output);
            let encoded = payload::encode(&output);
            let size = encoded.encoded_len();
            if size > payload_limit {
                return failure(
                    ActivityError::new(
                        PAYLOAD_TOO_LARGE,
                        format!(
                            "activity `{activity_type}` returned {:.1} MiB, over the namespace's payload \
                             limit of {:.1} MiB; return a reference (a URL or object key) instead of the data",
                            size as f64 / 1048576.0,
                            payload_limit as f64 / 1048576.0
                        ),
                    )
                    .non_retryable(),
                );
            }
            ActivityExecutionResult::ok(encoded)
        }
        // Stopped by a worker shutdown: a retryable failure, so another worker runs it again
        // (a cancellation would end it for good).
        Err(e)
            if cancelled.cancel_reason() == Some(CancelReason::WorkerShutdown)
                && (e.is_cancelled() || !e.non_retryable) =>
        {
            failure(ActivityError::new(
                "WorkerShutdown",
                format!("the worker shut down before activity `{activity_type}` finished"),
            ))
        }
        Err(e) if e.is_cancelled() || (cancelled.is_cancelled() && !e.non_retryable) => {
            ActivityExecutionResult::cancel_from_details(None)
        }
        Err(mut e) => {
            e.message = redactor.redact(&e.message);
            e.details = e.details.map(|d| Box::new(redactor.redact_json(&d)));
            if e.error_type == crate::runtime::activity::UNKNOWN_ACTIVITY {
                tracing::error!(activity_type = %activity_type, "{}", e.message);
            } else {
                tracing::debug!(activity_type = %activity_type, "activity failed: {e}");
            }
            failure(e)
        }
    }
}

/// The Temporal failure of an activity error.
pub fn to_failure(e: ActivityError) -> Failure {
    Failure {
        message: e.message,
        failure_info: Some(FailureInfo::ApplicationFailureInfo(
            ApplicationFailureInfo {
                r#type: e.error_type,
                non_retryable: e.non_retryable,
                details: e.details.as_deref().map(|d| payload::encode_payloads([d])),
                next_retry_delay: e.next_retry_delay.and_then(|d| d.try_into().ok()),
                ..Default::default()
            },
        )),
        ..Default::default()
    }
}

fn failure(e: ActivityError) -> ActivityExecutionResult {
    ActivityExecutionResult::fail(to_failure(e))
}

fn info_of(start: &Start, task_queue: &str) -> ActivityInfo {
    let duration = |d: &Option<prost_wkt_types::Duration>| -> Option<Duration> {
        d.as_ref().and_then(|d| Duration::try_from(*d).ok())
    };
    let execution = start.workflow_execution.clone().unwrap_or_default();
    ActivityInfo {
        activity_type: start.activity_type.clone(),
        activity_id: start.activity_id.clone(),
        workflow_id: execution.workflow_id,
        run_id: execution.run_id,
        workflow_type: start.workflow_type.clone(),
        namespace: start.workflow_namespace.clone(),
        task_queue: task_queue.to_owned(),
        attempt: start.attempt,
        step: crate::runtime::logging::step_of(&start.header_fields),
        heartbeat_details: payload::decode_args(&start.heartbeat_details)
            .ok()
            .filter(|d| !d.is_null()),
        scheduled_ms: start.scheduled_time.as_ref().map(epoch_ms),
        attempt_scheduled_ms: start.current_attempt_scheduled_time.as_ref().map(epoch_ms),
        started_ms: start.started_time.as_ref().map(epoch_ms),
        schedule_to_close_timeout: duration(&start.schedule_to_close_timeout),
        start_to_close_timeout: duration(&start.start_to_close_timeout),
        heartbeat_timeout: duration(&start.heartbeat_timeout),
    }
}

/// A server timestamp in epoch milliseconds.
fn epoch_ms(ts: &prost_wkt_types::Timestamp) -> i64 {
    ts.seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(ts.nanos / 1_000_000))
}
