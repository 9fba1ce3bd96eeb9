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

mod observer;
mod task_queue;

use std::fmt;
use std::sync::Arc;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};
use thiserror::Error;

pub use observer::{ActivationNote, ActivityNote, Observer};
pub use task_queue::watch_task_queues;

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
    pub const FILES_REFUSED: &str = "stave_workflow_files_refused";
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
    refused: prometheus::IntGauge,
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
        let refused = prometheus::IntGauge::new(
            names::FILES_REFUSED,
            "Workflow files with errors this worker refused to serve (the rest are served).",
        )?;
        registry.register(Box::new(processed.clone()))?;
        registry.register(Box::new(refused.clone()))?;
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
                refused,
            }),
        })
    }

    /// How many workflow files the worker refused (0 when it serves the whole project).
    pub fn refused_files(&self, count: usize) {
        self.families
            .refused
            .set(i64::try_from(count).unwrap_or(i64::MAX));
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
}
