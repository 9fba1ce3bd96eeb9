//! Prometheus metrics of a worker, and the [`Observer`] hooks the activation loops call to feed them.
//!
//! Semantics (the operator's view is in docs/operations.md):
//! - `temporal_workflow_execution_count{workflow_type,status}`: runs that closed on this
//!   worker, counted once: when core accepts the completion that closes the run and that
//!   completion was produced while *not* replaying. A replay — after a cache eviction, a
//!   worker restart, or a query on a closed run — produces the same closing command with
//!   `is_replaying` set and is not counted. `status` is `completed`, `failed`, `canceled` or
//!   `continued_as_new`; timeouts and terminations happen on the server and never reach a
//!   worker.
//! - `temporal_workflow_duration_seconds{workflow_type}`: from the run's start time in
//!   history (the `WorkflowExecutionStarted` event time) to the history time of the workflow
//!   task that closed it — not from when this worker happened to load the run.
//! - `temporal_active_workflows{workflow_type}`: open runs whose state this worker holds
//!   (its sticky cache): +1 when a run is loaded, −1 when it closes or is evicted.
//! - `temporal_activity_execution_count{activity_name,status}` and
//!   `temporal_activity_duration_seconds{activity_name}`: activity attempts this worker ran;
//!   `status` is `completed`, `failed` or `canceled`.
//! - `temporal_task_queue_depth{queue_name}`: the server's backlog of the Temporal task queue
//!   (DescribeTaskQueue `approximate_backlog_count`, workflow plus activity tasks), refreshed
//!   every `--queue-depth-interval`.
//! - `temporal_task_queue_processed_total{queue_name}`: tasks this worker completed on the
//!   task queue: workflow activations (eviction-only ones excluded) and activity attempts.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};
use temporalio_client::Connection;
use temporalio_client::tonic::{Code, IntoRequest as _};
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
use temporalio_common::protos::temporal::api::enums::v1::{TaskQueueKind, TaskQueueType};
use temporalio_common::protos::temporal::api::failure::v1::failure::FailureInfo;
use temporalio_common::protos::temporal::api::taskqueue::v1::TaskQueue;
use temporalio_common::protos::temporal::api::workflowservice::v1::DescribeTaskQueueRequest;
use temporalio_common::telemetry::metrics::CoreMeter;
use thiserror::Error;
use tracing::Instrument as _;

use crate::runtime::health::Readiness;
use crate::runtime::logging;
use crate::runtime::worker::Workflows;

/// Buckets of `temporal_workflow_duration_seconds`.
pub const WORKFLOW_DURATION_BUCKETS: [f64; 6] = [1.0, 10.0, 60.0, 300.0, 1800.0, 3600.0];
/// Buckets of `temporal_activity_duration_seconds`.
pub const ACTIVITY_DURATION_BUCKETS: [f64; 7] = [0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0];

/// Metric names, as scraped.
pub mod names {
    pub const WORKFLOW_EXECUTION_COUNT: &str = "temporal_workflow_execution_count";
    pub const WORKFLOW_DURATION: &str = "temporal_workflow_duration_seconds";
    pub const ACTIVE_WORKFLOWS: &str = "temporal_active_workflows";
    pub const ACTIVITY_EXECUTION_COUNT: &str = "temporal_activity_execution_count";
    pub const ACTIVITY_DURATION: &str = "temporal_activity_duration_seconds";
    pub const TASK_QUEUE_DEPTH: &str = "temporal_task_queue_depth";
    pub const TASK_QUEUE_PROCESSED: &str = "temporal_task_queue_processed_total";
}

/// Why the metrics could not be set up.
#[derive(Debug, Error)]
pub enum MetricsError {
    /// Two families with one name: only possible if a custom worker registers a metric named
    /// like Stave's in the registry it passes in.
    #[error("cannot register metric: {0}")]
    Register(#[from] prometheus::Error),
}

/// The worker's metric families in their own registry (cheap to clone).
#[derive(Clone)]
pub struct Metrics {
    families: Arc<Families>,
}

struct Families {
    registry: Registry,
    workflows: IntCounterVec,
    workflow_seconds: HistogramVec,
    active: IntGaugeVec,
    activities: IntCounterVec,
    activity_seconds: HistogramVec,
    depth: IntGaugeVec,
    processed: IntCounterVec,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Every family, registered in a fresh registry.
    pub fn new() -> Result<Metrics, MetricsError> {
        let registry = Registry::new();
        let workflows = IntCounterVec::new(
            Opts::new(
                names::WORKFLOW_EXECUTION_COUNT,
                "Workflow runs closed by this worker, counted once (replays are not counted).",
            ),
            &["workflow_type", "status"],
        )?;
        let workflow_seconds = HistogramVec::new(
            HistogramOpts::new(
                names::WORKFLOW_DURATION,
                "Run duration from its start time in history to the task that closed it.",
            )
            .buckets(WORKFLOW_DURATION_BUCKETS.to_vec()),
            &["workflow_type"],
        )?;
        let active = IntGaugeVec::new(
            Opts::new(
                names::ACTIVE_WORKFLOWS,
                "Open runs whose state this worker holds.",
            ),
            &["workflow_type"],
        )?;
        let activities = IntCounterVec::new(
            Opts::new(
                names::ACTIVITY_EXECUTION_COUNT,
                "Activity attempts run by this worker.",
            ),
            &["activity_name", "status"],
        )?;
        let activity_seconds = HistogramVec::new(
            HistogramOpts::new(
                names::ACTIVITY_DURATION,
                "Duration of activity attempts run by this worker.",
            )
            .buckets(ACTIVITY_DURATION_BUCKETS.to_vec()),
            &["activity_name"],
        )?;
        let depth = IntGaugeVec::new(
            Opts::new(
                names::TASK_QUEUE_DEPTH,
                "Backlog of the task queue on the server (workflow + activity tasks).",
            ),
            &["queue_name"],
        )?;
        let processed = IntCounterVec::new(
            Opts::new(
                names::TASK_QUEUE_PROCESSED,
                "Workflow activations and activity attempts this worker completed on the task queue.",
            ),
            &["queue_name"],
        )?;
        registry.register(Box::new(workflows.clone()))?;
        registry.register(Box::new(workflow_seconds.clone()))?;
        registry.register(Box::new(active.clone()))?;
        registry.register(Box::new(activities.clone()))?;
        registry.register(Box::new(activity_seconds.clone()))?;
        registry.register(Box::new(depth.clone()))?;
        registry.register(Box::new(processed.clone()))?;
        Ok(Metrics {
            families: Arc::new(Families {
                registry,
                workflows,
                workflow_seconds,
                active,
                activities,
                activity_seconds,
                depth,
                processed,
            }),
        })
    }

    /// Creates the series of the served task queues and workflow types at zero, so dashboards
    /// and `rate()` see them before the first task (Prometheus omits families without series).
    pub fn declare(&self, task_queues: &[String], workflow_types: &[String]) {
        let f = &self.families;
        for task_queue in task_queues {
            f.processed.with_label_values(&[task_queue.as_str()]);
            f.depth.with_label_values(&[task_queue.as_str()]);
        }
        for workflow_type in workflow_types {
            f.active.with_label_values(&[workflow_type.as_str()]);
        }
    }

    /// The registry, for custom workers that add their own families.
    pub fn registry(&self) -> &Registry {
        &self.families.registry
    }

    /// The text exposition format (what `/metrics` serves).
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        let encoder = TextEncoder::new();
        if let Err(e) = encoder.encode(&self.families.registry.gather(), &mut buffer) {
            tracing::warn!("cannot encode metrics: {e}");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }

    /// Runs of `workflow_type` closed with `status` so far.
    pub fn workflow_count(&self, workflow_type: &str, status: &str) -> u64 {
        self.families
            .workflows
            .with_label_values(&[workflow_type, status])
            .get()
    }

    /// Current value of the active-runs gauge of `workflow_type`.
    pub fn active(&self, workflow_type: &str) -> i64 {
        self.families
            .active
            .with_label_values(&[workflow_type])
            .get()
    }

    /// Attempts of `activity_name` that ended with `status` so far.
    pub fn activity_count(&self, activity_name: &str, status: &str) -> u64 {
        self.families
            .activities
            .with_label_values(&[activity_name, status])
            .get()
    }

    /// Tasks completed on `task_queue` so far.
    pub fn processed(&self, task_queue: &str) -> u64 {
        self.families
            .processed
            .with_label_values(&[task_queue])
            .get()
    }

    fn workflow_closed(&self, workflow_type: &str, status: &str, seconds: Option<f64>) {
        let f = &self.families;
        f.workflows
            .with_label_values(&[workflow_type, status])
            .inc();
        if let Some(seconds) = seconds {
            f.workflow_seconds
                .with_label_values(&[workflow_type])
                .observe(seconds);
        }
    }

    fn active_add(&self, workflow_type: &str, delta: i64) {
        self.families
            .active
            .with_label_values(&[workflow_type])
            .add(delta);
    }

    fn activity_finished(&self, activity_name: &str, status: &str, seconds: f64) {
        let f = &self.families;
        f.activities
            .with_label_values(&[activity_name, status])
            .inc();
        f.activity_seconds
            .with_label_values(&[activity_name])
            .observe(seconds);
    }

    fn task_processed(&self, task_queue: &str) {
        self.families
            .processed
            .with_label_values(&[task_queue])
            .inc();
    }

    fn set_depth(&self, task_queue: &str, depth: i64) {
        self.families
            .depth
            .with_label_values(&[task_queue])
            .set(depth);
    }
}

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
    pub fn activate(
        &self,
        task_queue: &str,
        workflows: &mut Workflows,
        activation: &WorkflowActivation,
    ) -> (WorkflowActivationCompletion, ActivationNote) {
        let run_id = activation.run_id.clone();
        let evicted = activation
            .jobs
            .iter()
            .any(|j| matches!(j.variant, Some(Job::RemoveFromCache(_))));
        let entry = self.load(activation);
        let steps_before = workflows
            .status(&run_id)
            .map(|(_, status)| status.current_steps.join(","))
            .unwrap_or_default();
        let (workflow_id, workflow_type) = entry
            .as_ref()
            .map(|e| (e.workflow_id.clone(), e.workflow_type.clone()))
            .unwrap_or_default();
        let span = tracing::info_span!(
            "run",
            workflow_id = %workflow_id,
            run_id = %run_id,
            workflow_type = %workflow_type,
            step = %steps_before,
            task_queue = %task_queue,
        );
        let completion = span.in_scope(|| workflows.activate(activation));
        let mut note = ActivationNote {
            observer: self.clone(),
            task_queue: task_queue.to_owned(),
            run_id: run_id.clone(),
            workflow_id,
            workflow_type,
            closing: None,
            processed: !evicted,
        };
        if evicted {
            self.unload(&run_id);
            return (completion, note);
        }
        let steps_after = workflows
            .status(&run_id)
            .map(|(_, status)| status.current_steps.join(","))
            .unwrap_or_default();
        if let Some(status) = closing_status(&completion) {
            if activation.is_replaying {
                // The run closed in history long ago; replaying it only rebuilds its state.
                self.close(&run_id);
            } else {
                note.closing = Some(Closing {
                    status,
                    seconds: entry.as_ref().and_then(|e| {
                        let end = activation.timestamp.as_ref().map(seconds_of)?;
                        Some((end - e.start?).max(0.0))
                    }),
                    step: steps_before,
                });
            }
        } else if !activation.is_replaying && !steps_after.is_empty() {
            tracing::debug!(
                workflow_id = %note.workflow_id,
                run_id = %run_id,
                workflow_type = %note.workflow_type,
                step = %steps_after,
                "run waiting"
            );
        }
        (completion, note)
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

/// Refreshes `temporal_task_queue_depth` of `task_queues` every `interval` and, as a side
/// effect, keeps `readiness`'s connection state current (the describe call doubles as a
/// connectivity probe). Runs until aborted.
pub fn watch_task_queues(
    connection: Connection,
    namespace: String,
    task_queues: Vec<String>,
    interval: Duration,
    metrics: Option<Metrics>,
    readiness: Option<Readiness>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut warned = false;
        loop {
            let mut unreachable = None;
            for task_queue in &task_queues {
                match backlog(&connection, &namespace, task_queue).await {
                    Ok(depth) => {
                        if let Some(metrics) = &metrics {
                            metrics.set_depth(task_queue, depth);
                        }
                    }
                    Err(DepthError::Unreachable(why)) => {
                        unreachable = Some(why);
                        break;
                    }
                    Err(DepthError::Refused(why)) => {
                        // The server answers but cannot report stats (an old server): the
                        // gauge stays absent rather than wrong; say so once.
                        if !warned {
                            tracing::warn!(task_queue = %task_queue, "task queue depth unavailable: {why}");
                            warned = true;
                        }
                    }
                }
            }
            if let Some(readiness) = &readiness {
                match unreachable {
                    Some(why) => readiness.disconnected(why),
                    None => readiness.connected(),
                }
            }
            tokio::time::sleep(interval).await;
        }
    })
}

enum DepthError {
    Unreachable(String),
    Refused(String),
}

/// Workflow plus activity backlog of `task_queue`.
async fn backlog(
    connection: &Connection,
    namespace: &str,
    task_queue: &str,
) -> Result<i64, DepthError> {
    let mut total = 0;
    for kind in [TaskQueueType::Workflow, TaskQueueType::Activity] {
        let request = DescribeTaskQueueRequest {
            namespace: namespace.to_owned(),
            task_queue: Some(TaskQueue {
                name: task_queue.to_owned(),
                kind: TaskQueueKind::Normal as i32,
                ..Default::default()
            }),
            task_queue_type: kind as i32,
            report_stats: true,
            ..Default::default()
        };
        let mut service = connection.workflow_service();
        let call = service.describe_task_queue(request.into_request());
        let response = match tokio::time::timeout(Duration::from_secs(5), call).await {
            Err(_) => {
                return Err(DepthError::Unreachable(
                    "describe task queue timed out".into(),
                ));
            }
            Ok(Err(status)) => {
                let why = format!("{} ({:?})", status.message(), status.code());
                return Err(match status.code() {
                    Code::Unavailable
                    | Code::DeadlineExceeded
                    | Code::Unknown
                    | Code::Cancelled => DepthError::Unreachable(why),
                    _ => DepthError::Refused(why),
                });
            }
            Ok(Ok(response)) => response.into_inner(),
        };
        total += response
            .stats
            .map(|s| s.approximate_backlog_count)
            .unwrap_or(0);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_have_the_documented_names_labels_and_buckets() {
        let metrics = Metrics::new().unwrap();
        metrics.workflow_closed("order", "completed", Some(12.0));
        metrics.active_add("order", 1);
        metrics.activity_finished("payments.charge", "failed", 0.2);
        metrics.set_depth("tq", 3);
        metrics.task_processed("tq");
        let text = metrics.render();
        for line in [
            "temporal_workflow_execution_count{status=\"completed\",workflow_type=\"order\"} 1",
            "temporal_workflow_duration_seconds_bucket{workflow_type=\"order\",le=\"10\"} 0",
            "temporal_workflow_duration_seconds_bucket{workflow_type=\"order\",le=\"60\"} 1",
            "temporal_workflow_duration_seconds_bucket{workflow_type=\"order\",le=\"3600\"} 1",
            "temporal_active_workflows{workflow_type=\"order\"} 1",
            "temporal_activity_execution_count{activity_name=\"payments.charge\",status=\"failed\"} 1",
            "temporal_activity_duration_seconds_bucket{activity_name=\"payments.charge\",le=\"0.1\"} 0",
            "temporal_activity_duration_seconds_bucket{activity_name=\"payments.charge\",le=\"0.5\"} 1",
            "temporal_activity_duration_seconds_bucket{activity_name=\"payments.charge\",le=\"60\"} 1",
            "temporal_task_queue_depth{queue_name=\"tq\"} 3",
            "temporal_task_queue_processed_total{queue_name=\"tq\"} 1",
        ] {
            assert!(text.contains(line), "missing `{line}` in:\n{text}");
        }
        let buckets = |name: &str| {
            text.lines()
                .filter(|l| l.starts_with(&format!("{name}_bucket")))
                .count()
        };
        // The listed buckets plus +Inf.
        assert_eq!(buckets(names::WORKFLOW_DURATION), 7);
        assert_eq!(buckets(names::ACTIVITY_DURATION), 8);
    }

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
