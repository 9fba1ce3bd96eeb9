//! Task-queue pools: which of the project's queues a worker serves (`--queues`), and for what.
//!
//! A worker serving project queue `standard` runs the workflows whose task runs on
//! `standard` *and* polls every project task queue those workflows schedule activities on
//! (`queue: high-priority` on a step), since a queue that only receives activities still needs
//! a poller. Such an extra queue is polled for activities only: its own workflows belong to the
//! workers that serve it. Raw `task_queue:` steps name queues outside the project (served by
//! Python or Go workers) and are never polled here. Each pool keeps its queue's limits from
//! stave.yaml: slots, and `rate_limit` as the task queue's activities-per-second limit.

use std::collections::BTreeSet;

use thiserror::Error;

use crate::diagnostics::did_you_mean;
use crate::ir::{ActivityCall, Bundle, StepKind, Workflow};
use crate::runtime::activity::Registry;
use crate::runtime::worker::{self, QueuePlan, WorkerError};

/// Why the requested queues cannot be served.
#[derive(Debug, Error)]
pub enum PoolError {
    /// `--queues hi-priority` when stave.yaml declares `high-priority`.
    #[error("unknown queue `{name}` in --queues{hint}; the project declares: {known}")]
    UnknownQueue {
        name: String,
        hint: String,
        known: String,
    },
    /// `--queues standard --task-queue x`.
    #[error("--queues and --task-queue select queues in two ways; pass only one of them")]
    Conflict,
    /// `--queues scheduled` for a queue without workflows, run by a binary without activities.
    #[error(
        "queue `{name}` has nothing to serve: no workflow runs on it and this worker registers no activity"
    )]
    Empty { name: String },
    #[error(transparent)]
    Worker(#[from] WorkerError),
}

/// The pools of a worker: every queue by default, or the named project queues (plus the
/// queues their workflows' activities run on, activities only).
pub fn select(
    bundle: &Bundle,
    registry: &Registry,
    only_task_queue: Option<&str>,
    queues: &[String],
) -> Result<Vec<QueuePlan>, PoolError> {
    if queues.is_empty() {
        return Ok(worker::plan(bundle, registry, only_task_queue)?);
    }
    if only_task_queue.is_some() {
        return Err(PoolError::Conflict);
    }
    let mut selected = BTreeSet::new();
    for name in queues {
        let Some(queue) = bundle.project.queue(name) else {
            let names: Vec<&str> = bundle
                .project
                .queues
                .iter()
                .map(|q| q.name.as_str())
                .collect();
            return Err(PoolError::UnknownQueue {
                name: name.clone(),
                hint: did_you_mean(name, names.iter().copied())
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default(),
                known: names.join(", "),
            });
        };
        selected.insert(queue.task_queue.clone());
    }
    let all = worker::plan(bundle, registry, None)?;
    let served: Vec<&Workflow> = all
        .iter()
        .filter(|p| selected.contains(&p.queue.task_queue))
        .flat_map(|p| p.workflows.iter().map(|w| w.as_ref()))
        .collect();
    let activity_queues = activity_task_queues(&served);
    // `plan` leaves out queues with neither workflows nor activities to serve.
    for name in queues {
        let served = bundle
            .project
            .queue(name)
            .is_some_and(|q| all.iter().any(|p| p.queue.task_queue == q.task_queue));
        if !served {
            return Err(PoolError::Empty { name: name.clone() });
        }
    }
    let mut pools = Vec::new();
    for plan in all {
        if selected.contains(&plan.queue.task_queue) {
            pools.push(plan);
        } else if plan.activities && activity_queues.contains(&plan.queue.task_queue) {
            pools.push(QueuePlan {
                workflows: Vec::new(),
                ..plan
            });
        }
    }
    Ok(pools)
}

/// While some workflow files are refused (their errors keep them out of `bundle`), polls
/// workflow tasks on every queue this worker serves — `--task-queue`, the `--queues`
/// selection, or every project queue — so runs of the refused workflows already in flight
/// resume on their pinned versions even where no valid workflow shares their queue. (A
/// refused file's own queue is unknown: its text may not even parse.)
pub fn resume_refused(
    plans: &mut Vec<QueuePlan>,
    bundle: &Bundle,
    only_task_queue: Option<&str>,
    queues: &[String],
) {
    let served = bundle
        .project
        .queues
        .iter()
        .filter(|q| match only_task_queue {
            Some(only) => q.task_queue == only,
            None => queues.is_empty() || queues.contains(&q.name),
        });
    for queue in served {
        match plans
            .iter_mut()
            .find(|p| p.queue.task_queue == queue.task_queue)
        {
            Some(plan) => plan.resume_pinned = true,
            None => plans.push(QueuePlan {
                queue: queue.clone(),
                workflows: Vec::new(),
                activities: false,
                resume_pinned: true,
            }),
        }
    }
}

/// Every task queue the activities (and compensations) of `workflows` are scheduled on.
pub fn activity_task_queues(workflows: &[&Workflow]) -> BTreeSet<String> {
    fn add(call: &ActivityCall, out: &mut BTreeSet<String>) {
        out.insert(call.task_queue.clone());
        if let Some(compensate) = &call.compensate {
            add(compensate, out);
        }
    }
    let mut out = BTreeSet::new();
    for workflow in workflows {
        workflow.walk(&mut |step| {
            if let StepKind::Activity(call) = &step.kind {
                add(call, &mut out);
            }
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::activity::{ActivityContext, ActivityError};
    use serde_json::Value as Json;

    fn bundle() -> Bundle {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("stave.yaml"),
            "namespace: default\nqueues:\n  standard: { task_queue: tq-standard, max_concurrent_activities: 2 }\n  \
             high-priority: { task_queue: tq-high, rate_limit: 5 }\n  background: { task_queue: tq-background }\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("order.stave.yaml"),
            "stave: 1\nworkflow: order\nqueue: standard\nsteps:\n  - id: charge\n    activity: log\n    \
             queue: high-priority\n    timeout: 5s\n    retry: { max_attempts: 1 }\n    input: { message: hi }\n",
        )
        .unwrap();
        let load = crate::check::load_project(dir.path());
        assert!(!load.has_errors(), "{:?}", load.diagnostics);
        load.bundle.unwrap()
    }

    fn registry() -> Registry {
        Registry::new().activity("log", |_ctx: ActivityContext, input: Json| async move {
            Ok::<Json, ActivityError>(input)
        })
    }

    fn summary(pools: &[QueuePlan]) -> Vec<(String, usize, bool)> {
        pools
            .iter()
            .map(|p| (p.queue.task_queue.clone(), p.workflows.len(), p.activities))
            .collect()
    }

    #[test]
    fn default_serves_every_queue() {
        let pools = select(&bundle(), &registry(), None, &[]).unwrap();
        assert_eq!(
            summary(&pools),
            vec![
                ("tq-background".into(), 0, true),
                ("tq-high".into(), 0, true),
                ("tq-standard".into(), 1, true),
            ]
        );
        assert_eq!(pools[1].queue.rate_limit, Some(5.0));
    }

    #[test]
    fn a_subset_also_polls_the_queues_of_its_activities() {
        let pools = select(&bundle(), &registry(), None, &["standard".into()]).unwrap();
        assert_eq!(
            summary(&pools),
            vec![("tq-high".into(), 0, true), ("tq-standard".into(), 1, true)]
        );
        let pools = select(&bundle(), &registry(), None, &["background".into()]).unwrap();
        assert_eq!(summary(&pools), vec![("tq-background".into(), 0, true)]);
    }

    #[test]
    fn unknown_queues_and_conflicts_are_clear_errors() {
        let err = select(&bundle(), &registry(), None, &["standrad".into()]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("unknown queue `standrad`"), "{text}");
        assert!(text.contains("standard"), "{text}");
        let err = select(
            &bundle(),
            &registry(),
            Some("tq-high"),
            &["standard".into()],
        )
        .unwrap_err();
        assert!(matches!(err, PoolError::Conflict));
        let err = select(&bundle(), &Registry::new(), None, &["background".into()]).unwrap_err();
        assert!(err.to_string().contains("nothing to serve"), "{err}");
    }

    #[test]
    fn refused_files_make_every_served_queue_poll_workflow_tasks() {
        let polls = |pools: &[QueuePlan]| -> Vec<(String, bool)> {
            pools
                .iter()
                .map(|p| (p.queue.task_queue.clone(), p.polls_workflows()))
                .collect()
        };
        let bundle = bundle();
        let mut pools = select(&bundle, &Registry::new(), None, &["standard".into()]).unwrap();
        assert_eq!(polls(&pools), vec![("tq-standard".into(), true)]);
        resume_refused(
            &mut pools,
            &bundle,
            None,
            &["standard".into(), "background".into()],
        );
        assert_eq!(
            polls(&pools),
            vec![("tq-standard".into(), true), ("tq-background".into(), true)]
        );
        assert!(!pools[1].activities);
        let mut pools = select(&bundle, &registry(), None, &[]).unwrap();
        assert!(!pools[0].polls_workflows());
        resume_refused(&mut pools, &bundle, None, &[]);
        assert!(pools.iter().all(QueuePlan::polls_workflows));
        let mut pools = select(&bundle, &registry(), Some("tq-high"), &[]).unwrap();
        resume_refused(&mut pools, &bundle, Some("tq-high"), &[]);
        assert_eq!(polls(&pools), vec![("tq-high".into(), true)]);
    }
}
