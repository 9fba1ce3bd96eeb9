//! The generic worker: one core worker per served task queue, polling workflows and activities.
//!
//! Architecture invariant: every activation gets exactly one completion, and an error in one
//! run (unknown type, missing version, bad input, oversized payload) fails that run's task or
//! activity only — the worker keeps serving every other run.

pub mod activities;
mod definitions;
pub mod memory;
mod resolve;
pub mod workflows;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use temporalio_common::protos::coresdk::workflow_activation::WorkflowActivation;
use temporalio_common::protos::coresdk::workflow_completion::WorkflowActivationCompletion;
use temporalio_common::worker::WorkerTaskTypes;
use temporalio_sdk_core::{
    CoreRuntime, PollError, PollerBehavior, RuntimeOptions, Worker, WorkerConfig,
    WorkerVersioningStrategy, init_worker,
};
use thiserror::Error;
use tokio::task::JoinSet;

use crate::ir::{Bundle, Queue, Workflow};
use crate::runtime::activity::Registry;
use crate::runtime::connect::Connected;
use crate::runtime::metrics::{ActivationNote, Observer};
use crate::runtime::versions::{VersionError, VersionStore};
use resolve::Resolver;

pub use definitions::Definitions;
pub use workflows::{DEFAULT_PAYLOAD_LIMIT, ProgramChoice, Workflows};

/// Settings of a worker process beyond the project itself.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Runs kept in memory between tasks (sticky cache); 0 replays every task from history.
    pub max_cached_workflows: usize,
    /// How long in-flight activities get after a shutdown request before core cancels them.
    pub graceful_shutdown: Duration,
    /// Shown in the server's poller list; empty = `stave@HOST:PID`.
    pub identity: String,
    /// Activities per second each core worker starts at most (core's per-worker limit).
    pub worker_activities_per_second: Option<f64>,
    /// Metrics, readiness and log spans (`stave worker --metrics-addr …`).
    pub observer: Observer,
    /// Where activity inputs' secret references are resolved (`secrets:` of stave.yaml).
    pub secrets: crate::runtime::secrets::Secrets,
    /// Where `http.request` may connect (`http:` of stave.yaml).
    pub http: std::sync::Arc<crate::runtime::egress::HttpPolicy>,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            max_cached_workflows: 1000,
            graceful_shutdown: Duration::from_secs(30),
            identity: String::new(),
            worker_activities_per_second: None,
            observer: Observer::default(),
            secrets: crate::runtime::secrets::Secrets::from_settings(&Default::default()),
            http: crate::runtime::egress::HttpPolicy::shared_default(),
        }
    }
}

/// What one core worker serves.
#[derive(Debug, Clone)]
pub struct QueuePlan {
    pub queue: Queue,
    /// Workflow types whose workflow task runs on this task queue.
    pub workflows: Vec<Arc<Workflow>>,
    /// Whether activity tasks are polled (there are registered activities).
    pub activities: bool,
    /// Poll workflow tasks even without a served workflow: while some workflow files are
    /// refused, their runs in flight on this queue resume on their pinned versions.
    pub resume_pinned: bool,
}

impl QueuePlan {
    /// Whether workflow tasks are polled on this queue.
    pub fn polls_workflows(&self) -> bool {
        !self.workflows.is_empty() || self.resume_pinned
    }
}

/// Why the worker could not start or stopped with an error.
#[derive(Debug, Error)]
pub enum WorkerError {
    /// `--task-queue bench` when no queue of stave.yaml maps to `bench`.
    #[error(
        "no queue of the project maps to task queue `{task_queue}` (project task queues: {known}); fix stave.yaml's `queues` or --task-queue"
    )]
    UnknownTaskQueue { task_queue: String, known: String },
    /// A project without workflows, run by a binary without activities.
    #[error(
        "nothing to serve: the project defines no workflow and this worker registers no activity"
    )]
    NothingToServe,
    /// A workflow on a queue that stave.yaml does not declare (the loader should prevent it).
    #[error(
        "workflow `{workflow}` runs on task queue `{task_queue}`, which no queue of stave.yaml declares"
    )]
    UndeclaredQueue {
        workflow: String,
        task_queue: String,
    },
    #[error(transparent)]
    Version(#[from] VersionError),
    /// Invalid limits in stave.yaml (e.g. max_concurrent_workflow_tasks: 1 with a cache).
    #[error("worker settings for task queue `{task_queue}`: {reason}")]
    Config { task_queue: String, reason: String },
    /// The namespace does not exist, or the credentials may not use it.
    #[error(
        "cannot use namespace `{namespace}`: {reason}; create it (`temporal operator namespace create {namespace}`) or fix --namespace"
    )]
    Namespace { namespace: String, reason: String },
    /// A fatal poll error (core already retried transient ones).
    #[error("polling task queue `{task_queue}` failed: {reason}")]
    Poll { task_queue: String, reason: String },
    /// Core's runtime could not start.
    #[error("cannot start Temporal core: {0}")]
    Runtime(String),
    /// A polling loop panicked (a bug): the worker stops and exits non-zero so that its
    /// supervisor restarts it, instead of running on with a queue nobody polls.
    #[error("a polling loop of the worker panicked: {0}; the worker stops (please report this)")]
    Panicked(String),
}

/// The error a finished polling loop ends the worker with, panics included.
fn loop_error(
    ended: Result<Result<(), WorkerError>, tokio::task::JoinError>,
) -> Option<WorkerError> {
    match ended {
        Ok(result) => result.err(),
        Err(join) if join.is_panic() => {
            let panic = join.into_panic();
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Some(WorkerError::Panicked(message))
        }
        // Cancelled: only at shutdown, which is not an error.
        Err(_) => None,
    }
}

/// Groups the project by task queue: which workflows and whether activities run on each.
pub fn plan(
    bundle: &Bundle,
    registry: &Registry,
    only_task_queue: Option<&str>,
) -> Result<Vec<QueuePlan>, WorkerError> {
    let mut plans: BTreeMap<String, QueuePlan> = BTreeMap::new();
    for queue in &bundle.project.queues {
        plans
            .entry(queue.task_queue.clone())
            .or_insert_with(|| QueuePlan {
                queue: queue.clone(),
                workflows: Vec::new(),
                activities: !registry.is_empty(),
                resume_pinned: false,
            });
    }
    for workflow in &bundle.workflows {
        let plan =
            plans
                .get_mut(&workflow.task_queue)
                .ok_or_else(|| WorkerError::UndeclaredQueue {
                    workflow: workflow.name.clone(),
                    task_queue: workflow.task_queue.clone(),
                })?;
        plan.workflows.push(Arc::new(workflow.clone()));
    }
    if let Some(only) = only_task_queue {
        let known = plans.keys().cloned().collect::<Vec<_>>().join(", ");
        let plan = plans
            .remove(only)
            .ok_or_else(|| WorkerError::UnknownTaskQueue {
                task_queue: only.to_owned(),
                known,
            })?;
        return Ok(vec![plan]);
    }
    let plans: Vec<QueuePlan> = plans
        .into_values()
        .filter(|p| !p.workflows.is_empty() || p.activities)
        .collect();
    if plans.is_empty() {
        return Err(WorkerError::NothingToServe);
    }
    Ok(plans)
}

/// Core worker settings for one queue: the queue's limits when stave.yaml sets them, core's
/// defaults otherwise, and a sticky cache (which needs ≥ 2 workflow pollers and slots).
pub fn worker_config(
    namespace: &str,
    plan: &QueuePlan,
    options: &WorkerOptions,
) -> Result<WorkerConfig, WorkerError> {
    let queue = &plan.queue;
    let config_error = |reason: String| WorkerError::Config {
        task_queue: queue.task_queue.clone(),
        reason,
    };
    let task_types = WorkerTaskTypes {
        enable_workflows: plan.polls_workflows(),
        enable_local_activities: false,
        enable_remote_activities: plan.activities,
        enable_nexus: false,
    };
    let workflow_slots = queue
        .max_concurrent_workflow_tasks
        .map_or(100, |n| n as usize);
    let cache = if workflow_slots < 2 {
        0
    } else {
        options.max_cached_workflows
    };
    let builder = WorkerConfig::builder()
        .namespace(namespace)
        .task_queue(queue.task_queue.clone())
        .task_types(task_types)
        .versioning_strategy(WorkerVersioningStrategy::None {
            build_id: format!("stave-{}", env!("CARGO_PKG_VERSION")),
        })
        .max_cached_workflows(cache)
        .max_outstanding_workflow_tasks(workflow_slots)
        .max_outstanding_activities(queue.max_concurrent_activities.map_or(100, |n| n as usize))
        .workflow_task_poller_behavior(PollerBehavior::SimpleMaximum(5))
        .activity_task_poller_behavior(PollerBehavior::SimpleMaximum(5))
        .graceful_shutdown_period(options.graceful_shutdown)
        .maybe_max_task_queue_activities_per_second(queue.rate_limit)
        .maybe_max_worker_activities_per_second(options.worker_activities_per_second)
        .maybe_client_identity_override(
            (!options.identity.is_empty()).then(|| options.identity.clone()),
        );
    builder.build().map_err(config_error)
}

/// What ran, for the caller's closing line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub task_queues: Vec<String>,
}

/// Runs one core worker per plan until `shutdown` resolves, then drains: polls continue until
/// core reports `ShutDown`, in-flight activities finish (cancelled after the grace period),
/// every activation is completed, and each worker is finalised.
pub async fn run(
    connected: Connected,
    plans: Vec<QueuePlan>,
    registry: Registry,
    store: Arc<VersionStore>,
    options: WorkerOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<Summary, WorkerError> {
    let current = Definitions::default();
    run_serving(
        connected, plans, current, registry, store, options, shutdown,
    )
    .await
}

/// [`run`], with new runs getting their definitions from `current`, which the caller may
/// replace while the worker runs (`stave dev` reloads): it is filled with the plans'
/// workflows first. Replacing it changes neither the task queues polled nor their limits.
pub async fn run_serving(
    connected: Connected,
    plans: Vec<QueuePlan>,
    current: Definitions,
    registry: Registry,
    store: Arc<VersionStore>,
    options: WorkerOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<Summary, WorkerError> {
    for plan in &plans {
        for workflow in &plan.workflows {
            store.record(workflow)?;
        }
    }
    current.replace(plans.iter().flat_map(|p| p.workflows.iter().cloned()));
    memory::tune_allocator();
    let mut runtime = CoreRuntime::new_assume_tokio(RuntimeOptions::default())
        .map_err(|e| WorkerError::Runtime(e.to_string()))?;
    if let Some(meter) = options.observer.core_meter() {
        runtime.telemetry_mut().attach_late_init_metrics(meter);
    }
    let mut started: Vec<(String, Arc<Worker>)> = Vec::new();
    let mut loops: JoinSet<Result<(), WorkerError>> = JoinSet::new();
    for plan in &plans {
        let config = worker_config(&connected.namespace, plan, &options)?;
        let worker = init_worker(&runtime, config, connected.connection.clone())
            .map_err(|e| WorkerError::Runtime(e.to_string()))?;
        let info = worker
            .validate()
            .await
            .map_err(|e| WorkerError::Namespace {
                namespace: connected.namespace.clone(),
                reason: e.to_string(),
            })?;
        let limit = info
            .limits
            .map(|l| usize::try_from(l.blob_size_limit_error).unwrap_or(0))
            .filter(|l| *l > 0)
            .unwrap_or(DEFAULT_PAYLOAD_LIMIT);
        let worker = Arc::new(worker);
        let task_queue = plan.queue.task_queue.clone();
        if plan.polls_workflows() {
            let mut state = Workflows::serving(&task_queue, current.clone(), store.clone());
            state.set_payload_limit(limit);
            let worker = worker.clone();
            let task_queue = task_queue.clone();
            let observer = options.observer.clone();
            let resolver = Resolver {
                connection: connected.connection.clone(),
                namespace: connected.namespace.clone(),
                store: store.clone(),
            };
            loops.spawn(async move {
                serve_workflows(worker, state, observer, task_queue.clone(), resolver)
                    .await
                    .map_err(|e| poll_error(&task_queue, e))
            });
        }
        if plan.activities {
            let worker = worker.clone();
            let registry = registry.clone();
            let task_queue = task_queue.clone();
            let observer = options.observer.clone();
            let given = activities::Given {
                secrets: options.secrets.clone(),
                http: options.http.clone(),
            };
            loops.spawn(async move {
                activities::serve(worker, registry, limit, observer, given)
                    .await
                    .map_err(|e| poll_error(&task_queue, e))
            });
        }
        tracing::info!(
            task_queue = %task_queue,
            namespace = %connected.namespace,
            workflows = %plan.workflows.iter().map(|w| w.name.as_str()).collect::<Vec<_>>().join(","),
            activities = plan.activities,
            "worker polling"
        );
        options.observer.polling(&task_queue);
        started.push((task_queue, worker));
    }

    // Wait for the shutdown request or a loop that ends by itself (a fatal poll error).
    let mut first_error = None;
    tokio::select! {
        () = shutdown => {}
        Some(ended) = loops.join_next() => {
            first_error = loop_error(ended);
        }
    }
    options.observer.stopping();
    for (_, worker) in &started {
        worker.initiate_shutdown();
    }
    while let Some(ended) = loops.join_next().await {
        if let Some(e) = loop_error(ended) {
            first_error.get_or_insert(e);
        }
    }
    let summary = Summary {
        task_queues: started.iter().map(|(q, _)| q.clone()).collect(),
    };
    for (task_queue, worker) in started {
        match Arc::try_unwrap(worker) {
            Ok(worker) => worker.finalize_shutdown().await,
            Err(worker) => {
                tracing::warn!(task_queue = %task_queue, "worker still referenced at shutdown; shutting it down in place");
                worker.shutdown().await;
            }
        }
    }
    drop(runtime);
    match first_error {
        Some(e) => Err(e),
        None => Ok(summary),
    }
}

fn poll_error(task_queue: &str, e: PollError) -> WorkerError {
    WorkerError::Poll {
        task_queue: task_queue.to_owned(),
        reason: e.to_string(),
    }
}

/// The activation loop of one core worker: activations come from a poller task, completions
/// go out in their own tasks (a completion may wait on the server), until core reports
/// `ShutDown`. A run whose pinned program is not in memory is resolved in a task of its own
/// and comes back through `resolved`; the loop serves other runs meanwhile.
async fn serve_workflows(
    worker: Arc<Worker>,
    mut state: Workflows,
    observer: Observer,
    task_queue: String,
    resolver: Resolver,
) -> Result<(), PollError> {
    // Polling in its own task: the loop below can then wait on two channels at once without
    // ever dropping a poll in flight.
    let (polled_tx, mut polled) = tokio::sync::mpsc::channel(1);
    let poller = {
        let worker = worker.clone();
        tokio::spawn(async move {
            loop {
                let next = worker.poll_workflow_activation().await;
                let last = next.is_err();
                if polled_tx.send(next).await.is_err() || last {
                    break;
                }
            }
        })
    };
    let (resolved_tx, mut resolved) = tokio::sync::mpsc::unbounded_channel();
    let mut completions = JoinSet::new();
    let result = loop {
        let activation = tokio::select! {
            biased;
            Some(activation) = resolved.recv() => activation,
            next = polled.recv() => match next {
                Some(Ok(activation)) => {
                    if let Some(missing) = state.missing_program(&activation) {
                        let (resolver, back) = (resolver.clone(), resolved_tx.clone());
                        tokio::spawn(async move {
                            resolver.resolve(&missing).await;
                            let _ = back.send(activation);
                        });
                        continue;
                    }
                    activation
                }
                Some(Err(PollError::ShutDown)) | None => break Ok(()),
                Some(Err(e)) => break Err(e),
            },
        };
        let (completion, note) = activate(&observer, &task_queue, &mut state, &activation);
        let worker = worker.clone();
        completions.spawn(async move {
            match worker.complete_workflow_activation(completion).await {
                Ok(()) => note.accepted(),
                Err(e) => tracing::error!("cannot complete a workflow activation: {e}"),
            }
        });
        while completions.try_join_next().is_some() {}
    };
    poller.abort();
    while completions.join_next().await.is_some() {}
    result
}

/// Applies `activation` to `state` inside the run's log span and tells `observer` what it
/// did; the note is for once core accepted the completion.
fn activate(
    observer: &Observer,
    task_queue: &str,
    state: &mut Workflows,
    activation: &WorkflowActivation,
) -> (WorkflowActivationCompletion, ActivationNote) {
    let steps = |state: &Workflows| {
        state
            .status(&activation.run_id)
            .map(|(_, status)| status.current_steps.join(","))
            .unwrap_or_default()
    };
    let watch = observer.begin_activation(task_queue, activation, steps(state));
    let completion = watch.span().in_scope(|| state.activate(activation));
    let note = watch.applied(&completion, steps(state));
    (completion, note)
}

/// Resolves on SIGINT or SIGTERM (Ctrl-C only where there are no Unix signals).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::metrics::Metrics;
    use crate::runtime::versions::tests::workflow;
    use temporalio_common::protos::coresdk::workflow_activation::{
        InitializeWorkflow, RemoveFromCache, WorkflowActivationJob,
        workflow_activation_job::Variant as Job,
    };

    fn activation(replaying: bool, job: Job) -> WorkflowActivation {
        WorkflowActivation {
            run_id: "r1".into(),
            is_replaying: replaying,
            jobs: vec![WorkflowActivationJob { variant: Some(job) }],
            ..Default::default()
        }
    }

    fn init() -> Job {
        Job::InitializeWorkflow(InitializeWorkflow {
            workflow_type: "greet".into(),
            workflow_id: "wf-1".into(),
            ..Default::default()
        })
    }

    #[test]
    fn the_observer_counts_a_closed_run_once_across_eviction_and_replay() {
        let dir = tempfile::tempdir().unwrap();
        let greet = workflow("greet", "hi");
        let store = Arc::new(VersionStore::new(dir.path()));
        store.record(&greet).unwrap();
        let mut state = Workflows::new("tq", [greet], store);
        let metrics = Metrics::new().unwrap();
        let observer = Observer::new(Some(metrics.clone()), None, None);

        // The run completes in its first activation; it counts once core accepted that.
        let (_, note) = activate(&observer, "tq", &mut state, &activation(false, init()));
        assert_eq!(metrics.active("greet"), 1);
        assert_eq!(metrics.workflow_count("greet", "completed"), 0);
        note.accepted();
        assert_eq!(metrics.workflow_count("greet", "completed"), 1);
        assert_eq!(metrics.active("greet"), 0);
        assert_eq!(metrics.processed("tq"), 1);

        // Evicted (not a processed task), then replayed from history: not counted again.
        let evict = Job::RemoveFromCache(RemoveFromCache::default());
        let (_, note) = activate(&observer, "tq", &mut state, &activation(false, evict));
        note.accepted();
        let (_, note) = activate(&observer, "tq", &mut state, &activation(true, init()));
        note.accepted();
        assert_eq!(metrics.workflow_count("greet", "completed"), 1);
        assert_eq!(metrics.active("greet"), 0);
        assert_eq!(metrics.processed("tq"), 2);
    }

    #[tokio::test]
    async fn a_panicking_loop_is_an_error_not_a_clean_exit() {
        let panicked = tokio::spawn(async {
            if std::hint::black_box(true) {
                panic!("boom in the loop");
            }
            Ok::<(), WorkerError>(())
        })
        .await;
        let error = loop_error(panicked).expect("a panic is an error");
        assert!(matches!(&error, WorkerError::Panicked(m) if m.contains("boom in the loop")));
        assert!(loop_error(Ok(Ok(()))).is_none());
    }
}
