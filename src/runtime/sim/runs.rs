//! Runs of an execution: the first, each continue-as-new or retry after it, and the close.
//!
//! A run starts with `InitializeWorkflow` as core builds it from the started event (start
//! time, attempt, parent, execution deadline, the run it continues); its run id is a stable
//! UUID-shaped string from the workflow id and the run number, and its randomness seed comes
//! from its run id, as core derives it. Closing a run keeps its coverage, drops its pending
//! work and applies its children's parent-close policy.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value as Json;
use temporalio_common::protos::coresdk::common::NamespacedWorkflowExecution;
use temporalio_common::protos::coresdk::workflow_activation::{
    InitializeWorkflow, workflow_activation_job::Variant as Job,
};

use super::SimStatus;
use super::child::ParentLink;
use super::retry::{Policy, duration};
use super::shapes::{self, NAMESPACE};
use super::world::{Closure, Ev, Exec, StartArgs, World, compact};
use crate::ir::Workflow;
use crate::runtime::interpreter::{Run, splitmix64, uuid_v4};
use crate::runtime::payload;

/// A new run of an execution starts no sooner than this after the previous run's first task
/// (`history.workflowIdReuseMinimalInterval`, enforced by `ContinueAsNewMinBackoff`).
pub const MIN_RUN_INTERVAL_MS: u64 = 1_000;
/// Events the worker adds on a run's first task: the `stave.version` and `stave.program`
/// markers, and the memo upsert a run that is not a continuation needs.
const FIRST_TASK_EVENTS: u32 = 3;
const CONTINUED_FIRST_TASK_EVENTS: u32 = 2;

impl World<'_> {
    /// Creates an execution and its first run; its first task is due now.
    pub fn spawn(
        &mut self,
        program: Arc<Workflow>,
        workflow_id: String,
        start: StartArgs,
        parent: Option<ParentLink>,
        execution_timeout_ms: Option<u64>,
        retry: Option<Policy>,
    ) -> usize {
        let draining = parent.as_ref().is_some_and(|p| self.execs[p.exec].draining);
        let deadline = execution_timeout_ms.map(|ms| self.now.saturating_add(ms));
        self.execs.push(Exec {
            workflow_type: program.name.clone(),
            workflow_id,
            run: Run::new(program.clone()),
            run_no: 0,
            run_id: String::new(),
            first_run_id: String::new(),
            history: 0,
            preamble: 0,
            jobs: Vec::new(),
            local_jobs: Vec::new(),
            task_at: None,
            activities: BTreeMap::new(),
            timers: BTreeMap::new(),
            children: BTreeMap::new(),
            open: true,
            cancel_requested: false,
            parent,
            execution_timeout_ms,
            deadline,
            run_timeout_ms: execution_timeout_ms,
            attempt: 1,
            retry,
            start: start.clone(),
            run_started: self.now,
            record: None,
            draining,
        });
        let exec = self.execs.len() - 1;
        if let Some(at) = deadline {
            self.push(at, Ev::Deadline { exec });
        }
        self.begin_run(exec, program, start, None, self.now);
        exec
    }

    /// Starts the execution's next run: its start event now, its first task at
    /// `first_task_at`. `continued` names the run it continues and how (1 = continue-as-new,
    /// 2 = retry, core's `ContinueAsNewInitiator`).
    pub fn begin_run(
        &mut self,
        exec: usize,
        program: Arc<Workflow>,
        start: StartArgs,
        continued: Option<(String, i32)>,
        first_task_at: u64,
    ) {
        let start_time = self.timestamp(self.now);
        let expiration = self.execs[exec].deadline.map(|d| self.timestamp(d));
        let parent_info = self.execs[exec].parent.as_ref().map(|p| {
            let parent = &self.execs[p.exec];
            NamespacedWorkflowExecution {
                namespace: NAMESPACE.to_owned(),
                workflow_id: parent.workflow_id.clone(),
                run_id: parent.run_id.clone(),
            }
        });
        let e = &mut self.execs[exec];
        e.run_no += 1;
        e.run_id = run_id(&e.workflow_id, e.run_no);
        if e.run_no == 1 {
            e.first_run_id = e.run_id.clone();
        }
        let mut run = Run::new(program.clone());
        run.enable_coverage();
        e.run = run;
        e.workflow_type = program.name.clone();
        e.history = 1;
        e.preamble = if matches!(continued, Some((_, 1))) {
            CONTINUED_FIRST_TASK_EVENTS
        } else {
            FIRST_TASK_EVENTS
        };
        e.run_started = first_task_at;
        e.cancel_requested = false;
        let (continued_from, initiator) = continued.unwrap_or_default();
        let init = InitializeWorkflow {
            workflow_type: program.name.clone(),
            workflow_id: e.workflow_id.clone(),
            arguments: start.arguments.clone(),
            randomness_seed: seed(&e.run_id),
            headers: start.headers.clone(),
            identity: "stave-sim".to_owned(),
            parent_workflow_info: parent_info,
            workflow_execution_timeout: e.execution_timeout_ms.map(duration),
            workflow_run_timeout: e.run_timeout_ms.map(duration),
            continued_from_execution_run_id: continued_from,
            continued_initiator: initiator,
            first_execution_run_id: e.first_run_id.clone(),
            attempt: i32::try_from(e.attempt).unwrap_or(i32::MAX),
            workflow_execution_expiration_time: expiration,
            memo: start.memo.clone(),
            search_attributes: start.search_attributes.clone(),
            start_time: Some(start_time),
            original_execution_run_id: e.run_id.clone(),
            ..Default::default()
        };
        e.start = start;
        e.jobs = vec![Job::InitializeWorkflow(init)];
        e.task_at = None;
        let what = match e.run_no {
            1 => format!("started {}", e.workflow_type),
            n => format!("run {n} of {} started", e.workflow_type),
        };
        self.note(exec, what);
        self.schedule_task(exec, first_task_at);
    }

    /// When a new run may have its first task: no sooner than [`MIN_RUN_INTERVAL_MS`] after
    /// the previous run's, and after `backoff` (`ContinueAsNewMinBackoff`).
    pub fn next_run_at(&self, exec: usize, backoff_ms: u64) -> u64 {
        let lifetime = self.now.saturating_sub(self.execs[exec].run_started);
        let wait = if lifetime.saturating_add(backoff_ms) < MIN_RUN_INTERVAL_MS {
            MIN_RUN_INTERVAL_MS - lifetime
        } else {
            backoff_ms
        };
        self.now.saturating_add(wait)
    }

    /// The run of `exec` ends (closed, continued or retried): its coverage is kept, its
    /// pending work dropped, and its children get their parent-close policy.
    pub fn end_run(&mut self, exec: usize) {
        let e = &mut self.execs[exec];
        let points = e.run.coverage();
        self.coverage
            .entry(e.workflow_type.clone())
            .or_default()
            .extend(points);
        e.activities.clear();
        e.timers.clear();
        e.jobs.clear();
        e.local_jobs.clear();
        e.task_at = None;
        let children = std::mem::take(&mut e.children);
        self.orphans.extend(children.into_values());
        // Iterative, not recursive: closing a child may orphan its own children, and
        // nesting has no fixed depth.
        if !self.settling {
            self.settling = true;
            while let Some(link) = self.orphans.pop_front() {
                self.parent_closed(link);
            }
            self.settling = false;
        }
    }

    /// The execution closes: the top workflow's end, or a child's result for its parent.
    pub fn close(&mut self, exec: usize, closure: Closure) {
        self.end_run(exec);
        self.execs[exec].open = false;
        if exec == 0 {
            let status = match &closure {
                Closure::Completed(result) => SimStatus::Completed {
                    output: payload::decode_opt(result.as_ref()).unwrap_or(Json::Null),
                },
                Closure::Failed(failure, _) => {
                    let (error_type, message, details) = shapes::describe_failure(failure);
                    SimStatus::Failed {
                        error_type,
                        message,
                        details,
                    }
                }
                Closure::Cancelled => SimStatus::Cancelled,
                Closure::TimedOut => SimStatus::TimedOut,
                Closure::Terminated => SimStatus::Stuck {
                    reason: "terminated".to_owned(),
                },
            };
            self.note(
                0,
                match &status {
                    SimStatus::Completed { output } => {
                        format!("closed: completed {}", compact(output))
                    }
                    other => format!("closed: {}", other.summary()),
                },
            );
            self.history_lengths.push(self.execs[0].history);
            self.top_end = Some((status, self.now));
        } else {
            self.child_closed(exec, closure);
        }
    }
}

/// A deterministic run id in UUID form, from the workflow id and the run number.
pub fn run_id(workflow_id: &str, run_no: u32) -> String {
    let hi = splitmix64(fnv1a(workflow_id.as_bytes()) ^ u64::from(run_no));
    uuid_v4(hi, splitmix64(hi ^ 0x5eed))
}

/// The randomness seed of a run: fixed by its run id, as core derives it from the run id.
fn seed(run_id: &str) -> u64 {
    splitmix64(fnv1a(run_id.as_bytes()))
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_stable_distinct_uuids() {
        let a = run_id("order-1", 1);
        assert_eq!(a, run_id("order-1", 1));
        assert_ne!(a, run_id("order-1", 2));
        assert_ne!(a, run_id("order-2", 1));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }
}
