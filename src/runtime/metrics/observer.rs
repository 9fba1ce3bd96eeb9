//! [`Observer`]: what the worker's loops report to — metrics, readiness, run log lines.
//!
//! The worker owns the calls: it applies each activation itself and tells the observer what
//! happened ([`Observer::begin_activation`]); the observer never calls the interpreter. An
//! activity attempt is handed to [`ActivityNote::run`], which times it inside its log span.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use temporalio_common::protos::coresdk::activity_result::{
    ActivityExecutionResult, activity_execution_result,
};
use temporalio_common::protos::coresdk::activity_task::Start;
use temporalio_common::protos::coresdk::workflow_activation::{
    WorkflowActivation, workflow_activation_job::Variant as Job,
};
use temporalio_common::protos::coresdk::workflow_commands::workflow_command::Variant as Command;
use temporalio_common::protos::coresdk::workflow_completion::{
    WorkflowActivationCompletion, workflow_activation_completion,
};
use temporalio_common::protos::temporal::api::failure::v1::failure::FailureInfo;
use temporalio_common::telemetry::metrics::CoreMeter;
use tracing::Instrument as _;

use super::Metrics;
use crate::runtime::health::Readiness;
use crate::runtime::logging;

/// What the worker's loops report to: metrics (when enabled), readiness (when served), and
/// the run identities that every log line about a run carries. The default observes nothing
/// but still logs with run identities.
#[derive(Clone, Default)]
pub struct Observer {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    metrics: Option<Metrics>,
    readiness: Option<Readiness>,
    core_meter: Option<Arc<dyn CoreMeter>>,
    runs: Mutex<HashMap<String, RunEntry>>,
}

/// What the observer remembers of a run whose state the worker holds.
#[derive(Debug, Clone)]
struct RunEntry {
    workflow_id: String,
    workflow_type: String,
    /// Seconds since the epoch of the run's start in history.
    start: Option<f64>,
    /// The run closed (counted, or seen closing during a replay): the gauge no longer holds it.
    closed: bool,
}

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Observer")
            .field("metrics", &self.inner.metrics.is_some())
            .field("readiness", &self.inner.readiness.is_some())
            .field("core_metrics", &self.inner.core_meter.is_some())
            .finish_non_exhaustive()
    }
}

impl Observer {
    /// An observer feeding `metrics` and `readiness`; `core_meter` receives core's own SDK
    /// metrics (see [`crate::runtime::http::Ops`]).
    pub fn new(
        metrics: Option<Metrics>,
        readiness: Option<Readiness>,
        core_meter: Option<Arc<dyn CoreMeter>>,
    ) -> Observer {
        Observer {
            inner: Arc::new(Inner {
                metrics,
                readiness,
                core_meter,
                runs: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn metrics(&self) -> Option<&Metrics> {
        self.inner.metrics.as_ref()
    }

    /// The meter core's runtime should report its SDK metrics to, if any.
    pub fn core_meter(&self) -> Option<Arc<dyn CoreMeter>> {
        self.inner.core_meter.clone()
    }

    /// The pollers of `task_queue` run.
    pub fn polling(&self, task_queue: &str) {
        if let Some(readiness) = &self.inner.readiness {
            readiness.polling(task_queue);
        }
    }

    /// The worker begins to shut down.
    pub fn stopping(&self) {
        if let Some(readiness) = &self.inner.readiness {
            readiness.stopping();
        }
    }

    fn runs(&self) -> std::sync::MutexGuard<'_, HashMap<String, RunEntry>> {
        self.inner.runs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `activation` to `workflows` inside the run's log span and notes what it means
    /// for the metrics. Call [`ActivationNote::accepted`] once core accepted the completion.
    /// Starts the observation of one workflow activation of `task_queue`: notes the run when
    /// the activation starts it and opens the run's log span. `steps` are the run's current
    /// steps before the activation. The worker applies the activation inside
    /// [`ActivationWatch::span`] and reports its completion to [`ActivationWatch::applied`].
    pub(crate) fn begin_activation(
        &self,
        task_queue: &str,
        activation: &WorkflowActivation,
        steps: String,
    ) -> ActivationWatch {
        let run_id = activation.run_id.clone();
        let evicted = activation
            .jobs
            .iter()
            .any(|j| matches!(j.variant, Some(Job::RemoveFromCache(_))));
        let entry = self.load(activation);
        let (workflow_id, workflow_type) = entry
            .as_ref()
            .map(|e| (e.workflow_id.clone(), e.workflow_type.clone()))
            .unwrap_or_default();
        let span = tracing::info_span!(
            "run",
            workflow_id = %workflow_id,
            run_id = %run_id,
            workflow_type = %workflow_type,
            step = %steps,
            task_queue = %task_queue,
        );
        ActivationWatch {
            note: ActivationNote {
                observer: self.clone(),
                task_queue: task_queue.to_owned(),
                run_id,
                workflow_id,
                workflow_type,
                closing: None,
                processed: !evicted,
            },
            evicted,
            replaying: activation.is_replaying,
            start: entry.and_then(|e| e.start),
            end: activation.timestamp.as_ref().map(seconds_of),
            steps_before: steps,
            span,
        }
    }

    /// Records a run's identity when its activation carries its start; returns what is known.
    fn load(&self, activation: &WorkflowActivation) -> Option<RunEntry> {
        let init = activation.jobs.iter().find_map(|j| match &j.variant {
            Some(Job::InitializeWorkflow(init)) => Some(init),
            _ => None,
        });
        let mut runs = self.runs();
        if let Some(init) = init
            && !runs.contains_key(&activation.run_id)
        {
            let entry = RunEntry {
                workflow_id: init.workflow_id.clone(),
                workflow_type: init.workflow_type.clone(),
                start: init
                    .start_time
                    .as_ref()
                    .or(activation.timestamp.as_ref())
                    .map(seconds_of),
                closed: false,
            };
            if let Some(metrics) = &self.inner.metrics {
                metrics.active_add(&entry.workflow_type, 1);
            }
            if !activation.is_replaying {
                tracing::info!(
                    workflow_id = %entry.workflow_id,
                    run_id = %activation.run_id,
                    workflow_type = %entry.workflow_type,
                    step = "",
                    "run started"
                );
            }
            runs.insert(activation.run_id.clone(), entry);
        }
        runs.get(&activation.run_id).cloned()
    }

    /// The run left the cache: the gauge no longer holds it, unless it already closed.
    fn unload(&self, run_id: &str) {
        let removed = self.runs().remove(run_id);
        if let (Some(entry), Some(metrics)) = (removed, &self.inner.metrics)
            && !entry.closed
        {
            metrics.active_add(&entry.workflow_type, -1);
        }
    }

    /// Marks the run closed; true when it was open until now.
    fn close(&self, run_id: &str) -> bool {
        let mut runs = self.runs();
        let Some(entry) = runs.get_mut(run_id) else {
            return true;
        };
        if entry.closed {
            return false;
        }
        entry.closed = true;
        if let Some(metrics) = &self.inner.metrics {
            metrics.active_add(&entry.workflow_type, -1);
        }
        true
    }

    /// Prepares the observation of one activity attempt; see [`ActivityNote::run`].
    pub fn activity(&self, task_queue: &str, start: &Start) -> ActivityNote {
        let execution = start.workflow_execution.clone().unwrap_or_default();
        let step = logging::step_of(&start.header_fields);
        let span = tracing::info_span!(
            "activity",
            workflow_id = %execution.workflow_id,
            run_id = %execution.run_id,
            workflow_type = %start.workflow_type,
            step = %step,
            activity_type = %start.activity_type,
            activity_id = %start.activity_id,
            attempt = start.attempt,
            task_queue = %task_queue,
        );
        ActivityNote {
            observer: self.clone(),
            task_queue: task_queue.to_owned(),
            activity_type: start.activity_type.clone(),
            span,
        }
    }
}

/// How a run closed, when the activation's commands close it.
fn closing_status(completion: &WorkflowActivationCompletion) -> Option<&'static str> {
    let Some(workflow_activation_completion::Status::Successful(success)) = &completion.status
    else {
        return None;
    };
    success.commands.iter().find_map(|c| match &c.variant {
        Some(Command::CompleteWorkflowExecution(_)) => Some("completed"),
        Some(Command::FailWorkflowExecution(_)) => Some("failed"),
        Some(Command::CancelWorkflowExecution(_)) => Some("canceled"),
        Some(Command::ContinueAsNewWorkflowExecution(_)) => Some("continued_as_new"),
        _ => None,
    })
}

fn seconds_of(ts: &prost_wkt_types::Timestamp) -> f64 {
    ts.seconds as f64 + f64::from(ts.nanos) / 1e9
}

/// One workflow activation under observation, from [`Observer::begin_activation`] until the
/// worker applied it.
pub(crate) struct ActivationWatch {
    note: ActivationNote,
    evicted: bool,
    replaying: bool,
    /// Seconds since the epoch of the run's start in history, when known.
    start: Option<f64>,
    /// Seconds since the epoch of the activation's workflow task.
    end: Option<f64>,
    steps_before: String,
    span: tracing::Span,
}

impl ActivationWatch {
    /// The run's log span: the worker applies the activation inside it.
    pub(crate) fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// The worker answered the activation with `completion`; `steps` are the run's current
    /// steps now. Call [`ActivationNote::accepted`] on the result once core accepted the
    /// completion.
    pub(crate) fn applied(
        self,
        completion: &WorkflowActivationCompletion,
        steps: String,
    ) -> ActivationNote {
        let mut note = self.note;
        if self.evicted {
            note.observer.unload(&note.run_id);
            return note;
        }
        if let Some(status) = closing_status(completion) {
            if self.replaying {
                // The run closed in history long ago; replaying it only rebuilds its state.
                note.observer.close(&note.run_id);
            } else {
                note.closing = Some(Closing {
                    status,
                    seconds: self
                        .end
                        .zip(self.start)
                        .map(|(end, start)| (end - start).max(0.0)),
                    step: self.steps_before,
                });
            }
        } else if !self.replaying && !steps.is_empty() {
            tracing::debug!(
                workflow_id = %note.workflow_id,
                run_id = %note.run_id,
                workflow_type = %note.workflow_type,
                step = %steps,
                "run waiting"
            );
        }
        note
    }
}

struct Closing {
    status: &'static str,
    seconds: Option<f64>,
    step: String,
}

/// What one workflow activation means for the metrics, applied once core accepted it.
#[must_use = "call `accepted` once core accepted the completion"]
pub struct ActivationNote {
    observer: Observer,
    task_queue: String,
    run_id: String,
    workflow_id: String,
    workflow_type: String,
    closing: Option<Closing>,
    processed: bool,
}

impl ActivationNote {
    /// Core accepted the completion: count the task and, if it closed the run, the run.
    /// A completion core rejects is not counted; its retry produces a new note.
    pub fn accepted(self) {
        let metrics = self.observer.inner.metrics.as_ref();
        if self.processed
            && let Some(metrics) = metrics
        {
            metrics.task_processed(&self.task_queue);
        }
        let Some(closing) = self.closing else {
            return;
        };
        if !self.observer.close(&self.run_id) {
            return;
        }
        if let Some(metrics) = metrics {
            metrics.workflow_closed(&self.workflow_type, closing.status, closing.seconds);
        }
        tracing::info!(
            workflow_id = %self.workflow_id,
            run_id = %self.run_id,
            workflow_type = %self.workflow_type,
            step = %closing.step,
            status = closing.status,
            duration_s = closing.seconds.unwrap_or(0.0),
            "run closed"
        );
    }
}

/// The observation of one activity attempt.
pub struct ActivityNote {
    observer: Observer,
    task_queue: String,
    activity_type: String,
    span: tracing::Span,
}

impl ActivityNote {
    /// Runs the attempt inside its log span, then records its status and duration.
    pub async fn run(
        self,
        attempt: impl Future<Output = ActivityExecutionResult>,
    ) -> ActivityExecutionResult {
        let started = Instant::now();
        let result = attempt.instrument(self.span.clone()).await;
        let seconds = started.elapsed().as_secs_f64();
        let (status, error_type) = match &result.status {
            Some(activity_execution_result::Status::Completed(_)) => ("completed", String::new()),
            Some(activity_execution_result::Status::Failed(f)) => (
                "failed",
                f.failure
                    .as_ref()
                    .and_then(|f| match &f.failure_info {
                        Some(FailureInfo::ApplicationFailureInfo(info)) => {
                            Some(info.r#type.clone())
                        }
                        _ => None,
                    })
                    .unwrap_or_default(),
            ),
            Some(activity_execution_result::Status::Cancelled(_)) => ("canceled", String::new()),
            // Async completion: the attempt ends elsewhere; nothing to count here.
            Some(activity_execution_result::Status::WillCompleteAsync(_)) | None => {
                return result;
            }
        };
        if let Some(metrics) = &self.observer.inner.metrics {
            metrics.activity_finished(&self.activity_type, status, seconds);
            metrics.task_processed(&self.task_queue);
        }
        self.span.in_scope(|| match status {
            "completed" => tracing::debug!(duration_s = seconds, "activity completed"),
            "failed" => {
                tracing::info!(duration_s = seconds, error_type = %error_type, "activity failed")
            }
            _ => tracing::info!(duration_s = seconds, "activity canceled"),
        });
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_completions_that_close_a_run_have_a_status() {
        use temporalio_common::protos::coresdk::workflow_commands::{
            CompleteWorkflowExecution, StartTimer,
        };
        let timer = WorkflowActivationCompletion::from_cmds(
            "r",
            vec![Command::StartTimer(StartTimer::default())],
        );
        assert_eq!(closing_status(&timer), None);
        let done = WorkflowActivationCompletion::from_cmds(
            "r",
            vec![Command::CompleteWorkflowExecution(
                CompleteWorkflowExecution::default(),
            )],
        );
        assert_eq!(closing_status(&done), Some("completed"));
        assert_eq!(
            closing_status(&WorkflowActivationCompletion::empty("r")),
            None
        );
    }
}
