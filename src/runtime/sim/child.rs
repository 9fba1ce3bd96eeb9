//! Child workflows: mocked by type, or run for real as nested executions in the same virtual time; their cancellation and parent-close policies.
//!
//! As on a server: the start is initiated by the parent's command and takes effect right after
//! its workflow task (a running workflow with the same id fails it with
//! `WorkflowAlreadyExists`); the parent hears of the start, then of the close. Cancelling a
//! child (`TRY_CANCEL`) resolves it as cancelled at once in the parent while the child gets a
//! cancellation request and winds down on its own. When a run closes (or continues as new),
//! each child still open gets its parent-close policy: terminated, asked to cancel, or left
//! running. A child type that is neither mocked nor a program of the project makes the case
//! stuck: Temporal does not check workflow types at start, so on a server the child would
//! start and wait for a worker that defines it.

use serde_json::Value as Json;
use temporalio_common::protos::coresdk::child_workflow::ParentClosePolicy;
use temporalio_common::protos::coresdk::workflow_activation::{
    CancelWorkflow, workflow_activation_job::Variant as Job,
};
use temporalio_common::protos::coresdk::workflow_commands::StartChildWorkflowExecution;
use temporalio_common::protos::temporal::api::common::v1::Memo;
use temporalio_common::protos::temporal::api::enums::v1::RetryState;

use super::retry::{Policy, duration_ms};
use super::runs::run_id;
use super::shapes::{self, ChildRef};
use super::world::{Closure, Ev, StartArgs, World, compact};
use super::{ChildRecord, ChildStart, ChildStatus, MockReply};
use crate::runtime::payload;

/// A parent run's hold on one of its children, by the child's seq.
pub(super) enum ChildLink {
    /// Initiated by this workflow task; the server starts it right after.
    Starting(Box<StartChildWorkflowExecution>),
    /// A real child execution. `cancelled`: the parent cancelled it and was resolved at once;
    /// the child's close is recorded but no longer reported.
    Real {
        exec: usize,
        cancelled: bool,
    },
    Mocked {
        index: usize,
        cancelled: bool,
    },
}

/// A child's way back to the run that started it.
#[derive(Clone, Copy)]
pub(super) struct ParentLink {
    pub exec: usize,
    pub run: u32,
    pub seq: u32,
    pub policy: ParentClosePolicy,
}

/// A child answered by the mocks.
pub(super) struct MockedChild {
    pub workflow_type: String,
    pub workflow_id: String,
    pub run_id: String,
    pub parent: ParentLink,
    pub record: usize,
    pub open: bool,
    pub has_retry_policy: bool,
}

/// How a mocked child ends.
pub(super) enum MockEnd {
    Reply(MockReply),
    /// Its execution timeout passed without an answer.
    TimedOut,
}

impl World<'_> {
    /// Whether a running workflow has this id (a start with it fails).
    fn id_in_use(&self, workflow_id: &str) -> bool {
        self.execs
            .iter()
            .any(|e| e.open && e.workflow_id == workflow_id)
            || self
                .mocked
                .iter()
                .any(|m| m.open && m.workflow_id == workflow_id)
    }

    /// The server starts a child the parent initiated.
    pub fn start_child(&mut self, exec: usize, run: u32, seq: u32) {
        let e = &self.execs[exec];
        if !e.open || e.run_no != run {
            return;
        }
        let Some(ChildLink::Starting(cmd)) = e.children.get(&seq) else {
            return;
        };
        let cmd = (**cmd).clone();
        let policy = ParentClosePolicy::try_from(cmd.parent_close_policy)
            .ok()
            .filter(|p| *p != ParentClosePolicy::Unspecified)
            .unwrap_or(ParentClosePolicy::Terminate);
        let parent = ParentLink {
            exec,
            run,
            seq,
            policy,
        };
        let mut record = ChildRecord {
            workflow_type: cmd.workflow_type.clone(),
            workflow_id: cmd.workflow_id.clone(),
            parent_workflow_id: e.workflow_id.clone(),
            mocked: false,
            at_ms: self.now,
            status: ChildStatus::Running,
        };
        if self.id_in_use(&cmd.workflow_id) {
            record.status = ChildStatus::StartFailed {
                cause: "WorkflowAlreadyExists".to_owned(),
            };
            self.children.push(record);
            let e = &mut self.execs[exec];
            e.children.remove(&seq);
            e.history += 1;
            let job = shapes::child_start_failed(&ChildRef {
                seq,
                workflow_type: &cmd.workflow_type,
                workflow_id: &cmd.workflow_id,
                run_id: "",
            });
            self.note(
                exec,
                format!(
                    "child {} ({}) not started: a workflow with this id is running",
                    cmd.workflow_type, cmd.workflow_id
                ),
            );
            self.deliver(exec, job);
            return;
        }
        let call = ChildStart {
            workflow_type: cmd.workflow_type.clone(),
            workflow_id: cmd.workflow_id.clone(),
            input: payload::decode_args(&cmd.input).unwrap_or(Json::Null),
            at_ms: self.now,
        };
        let (link, child_run_id) = match self.mocks.child(&call) {
            Some(reply) => {
                record.mocked = true;
                self.children.push(record);
                let index = self.mocked.len();
                let child_run_id = run_id(&cmd.workflow_id, 1);
                self.mocked.push(MockedChild {
                    workflow_type: cmd.workflow_type.clone(),
                    workflow_id: cmd.workflow_id.clone(),
                    run_id: child_run_id.clone(),
                    parent,
                    record: self.children.len() - 1,
                    open: true,
                    has_retry_policy: cmd.retry_policy.is_some(),
                });
                let timeout = duration_ms(cmd.workflow_execution_timeout.as_ref(), "")
                    .ok()
                    .flatten();
                let end = match reply {
                    MockReply::Output { delay_ms, .. } | MockReply::Error { delay_ms, .. } => {
                        Some((delay_ms, MockEnd::Reply(reply)))
                    }
                    MockReply::Timeout => timeout.map(|ms| (ms, MockEnd::TimedOut)),
                };
                // A reply that comes after the child's execution timeout never arrives.
                let end = match (end, timeout) {
                    (Some((delay, _)), Some(limit)) if delay >= limit => {
                        Some((limit, MockEnd::TimedOut))
                    }
                    (end, _) => end,
                };
                if let Some((delay, end)) = end {
                    self.push(
                        self.now.saturating_add(delay),
                        Ev::MockChildEnd { index, end },
                    );
                }
                self.note(
                    exec,
                    format!(
                        "child {} ({}) started, mocked",
                        cmd.workflow_type, cmd.workflow_id
                    ),
                );
                (
                    ChildLink::Mocked {
                        index,
                        cancelled: false,
                    },
                    child_run_id,
                )
            }
            None => {
                let Some(program) = self.programs.get(&cmd.workflow_type).cloned() else {
                    self.stuck = Some(format!(
                        "child workflow `{}` ({}) is neither a workflow of the project nor \
                         mocked: on a server it would start and wait for a worker that defines it",
                        cmd.workflow_type, cmd.workflow_id
                    ));
                    return;
                };
                let retry = match cmd
                    .retry_policy
                    .as_ref()
                    .map(|p| Policy::effective(Some(p)))
                {
                    None => None,
                    Some(Ok(policy)) => Some(policy),
                    Some(Err(e)) => {
                        let message = format!("child workflow `{}`: {e}", cmd.workflow_type);
                        self.task_failed(exec, &message);
                        return;
                    }
                };
                let timeout = match duration_ms(
                    cmd.workflow_execution_timeout.as_ref(),
                    "WorkflowExecutionTimeout",
                ) {
                    Ok(timeout) => timeout,
                    Err(e) => {
                        self.task_failed(exec, &e);
                        return;
                    }
                };
                self.children.push(record);
                let start = StartArgs {
                    arguments: cmd.input.clone(),
                    headers: cmd.headers.clone(),
                    memo: (!cmd.memo.is_empty()).then(|| Memo {
                        fields: cmd.memo.clone(),
                    }),
                    search_attributes: cmd.search_attributes.clone(),
                };
                let child = self.spawn(
                    program,
                    cmd.workflow_id.clone(),
                    start,
                    Some(parent),
                    timeout,
                    retry,
                );
                self.execs[child].record = Some(self.children.len() - 1);
                let child_run_id = self.execs[child].run_id.clone();
                (
                    ChildLink::Real {
                        exec: child,
                        cancelled: false,
                    },
                    child_run_id,
                )
            }
        };
        let e = &mut self.execs[exec];
        e.children.insert(seq, link);
        // ChildWorkflowExecutionStarted.
        e.history += 1;
        self.deliver(exec, shapes::child_started(seq, &child_run_id));
    }

    /// A mocked child answers (or times out).
    pub fn mock_child_end(&mut self, index: usize, end: MockEnd) {
        let Some(m) = self.mocked.get_mut(index).filter(|m| m.open) else {
            return;
        };
        m.open = false;
        let (parent, record, has_retry_policy) = (m.parent, m.record, m.has_retry_policy);
        let (workflow_type, workflow_id, child_run_id) = (
            m.workflow_type.clone(),
            m.workflow_id.clone(),
            m.run_id.clone(),
        );
        let child = ChildRef {
            seq: parent.seq,
            workflow_type: &workflow_type,
            workflow_id: &workflow_id,
            run_id: &child_run_id,
        };
        let (status, job) = match end {
            MockEnd::Reply(MockReply::Output { value, .. }) => {
                let job = shapes::child_completed(parent.seq, Some(payload::encode(&value)));
                (ChildStatus::Completed { output: value }, job)
            }
            MockEnd::Reply(MockReply::Error {
                error_type,
                message,
                details,
                non_retryable,
                ..
            }) => {
                let failure =
                    shapes::application_failure(&error_type, &message, &details, non_retryable);
                // The mock's error is the child's final one, after whatever retries it had.
                let state = match (has_retry_policy, non_retryable) {
                    (false, _) => RetryState::RetryPolicyNotSet,
                    (true, true) => RetryState::NonRetryableFailure,
                    (true, false) => RetryState::MaximumAttemptsReached,
                };
                let job = shapes::child_failed(&child, failure, state);
                let status = ChildStatus::Failed {
                    error_type,
                    message,
                    details,
                };
                (status, job)
            }
            MockEnd::Reply(MockReply::Timeout) | MockEnd::TimedOut => (
                ChildStatus::TimedOut,
                shapes::child_timed_out(&child, RetryState::Timeout),
            ),
        };
        self.note(
            parent.exec,
            format!(
                "child {workflow_type} ({workflow_id}) {}",
                describe(&status)
            ),
        );
        if let Some(r) = self.children.get_mut(record) {
            r.status = status;
        }
        let reported = matches!(
            self.live_link(parent),
            Some(ChildLink::Mocked { index: i, cancelled: false }) if *i == index
        );
        self.report_to_parent(parent, reported.then_some(job));
    }

    /// A real child execution closed: its record, and its result for the parent.
    pub fn child_closed(&mut self, exec: usize, closure: Closure) {
        let status = match &closure {
            Closure::Completed(result) => ChildStatus::Completed {
                output: payload::decode_opt(result.as_ref()).unwrap_or(Json::Null),
            },
            Closure::Failed(failure, _) => {
                let (error_type, message, details) = shapes::describe_failure(failure);
                ChildStatus::Failed {
                    error_type,
                    message,
                    details,
                }
            }
            Closure::Cancelled => ChildStatus::Cancelled,
            Closure::TimedOut => ChildStatus::TimedOut,
            Closure::Terminated => ChildStatus::Terminated,
        };
        self.note(exec, format!("closed: {}", describe(&status)));
        let e = &self.execs[exec];
        let (record, parent) = (e.record, e.parent);
        let (workflow_type, workflow_id, first_run_id) = (
            e.workflow_type.clone(),
            e.workflow_id.clone(),
            e.first_run_id.clone(),
        );
        if let Some(r) = record.and_then(|r| self.children.get_mut(r)) {
            r.status = status;
        }
        let Some(parent) = parent else {
            return;
        };
        let child = ChildRef {
            seq: parent.seq,
            workflow_type: &workflow_type,
            workflow_id: &workflow_id,
            run_id: &first_run_id,
        };
        let job = match closure {
            Closure::Completed(result) => Some(shapes::child_completed(parent.seq, result)),
            Closure::Failed(failure, state) => Some(shapes::child_failed(&child, *failure, state)),
            Closure::TimedOut => Some(shapes::child_timed_out(&child, RetryState::Timeout)),
            Closure::Cancelled => Some(shapes::child_cancelled(&child)),
            // Only its parent's closing terminates a child: no one is left to tell.
            Closure::Terminated => None,
        };
        let reported = matches!(
            self.live_link(parent),
            Some(ChildLink::Real { exec: x, cancelled: false }) if *x == exec
        );
        self.report_to_parent(parent, job.filter(|_| reported));
    }

    /// The parent run's link to a child, if that run is still the parent's current one.
    fn live_link(&self, parent: ParentLink) -> Option<&ChildLink> {
        let p = self.execs.get(parent.exec)?;
        if !p.open || p.run_no != parent.run {
            return None;
        }
        p.children.get(&parent.seq)
    }

    /// The child's close reaches the parent's history; `job` (if any) reaches the workflow.
    fn report_to_parent(&mut self, parent: ParentLink, job: Option<Job>) {
        if self.live_link(parent).is_none() {
            return;
        }
        let p = &mut self.execs[parent.exec];
        p.children.remove(&parent.seq);
        p.history += 1;
        if let Some(job) = job {
            self.deliver(parent.exec, job);
        }
    }

    /// `CancelChildWorkflowExecution` (`TRY_CANCEL`): resolved at once in the parent; the
    /// child is asked to cancel. A start issued by the same completion never happens.
    pub fn cancel_child(&mut self, exec: usize, seq: u32, reason: &str, fresh: bool) {
        let e = &mut self.execs[exec];
        let Some(link) = e.children.get_mut(&seq) else {
            return;
        };
        match link {
            ChildLink::Starting(cmd) => {
                let job = shapes::child_start_cancelled(
                    &ChildRef {
                        seq,
                        workflow_type: &cmd.workflow_type,
                        workflow_id: &cmd.workflow_id,
                        run_id: "",
                    },
                    reason,
                );
                e.children.remove(&seq);
                if fresh {
                    e.history = e.history.saturating_sub(1);
                }
                e.local_jobs.push(job);
            }
            ChildLink::Real {
                exec: child,
                cancelled,
            } => {
                if *cancelled {
                    return;
                }
                *cancelled = true;
                let child = *child;
                // RequestCancelExternalWorkflowExecutionInitiated.
                e.history += 1;
                let c = &self.execs[child];
                let job = shapes::child_cancelled(&ChildRef {
                    seq,
                    workflow_type: &c.workflow_type,
                    workflow_id: &c.workflow_id,
                    run_id: &c.first_run_id,
                });
                self.execs[exec].local_jobs.push(job);
                self.request_cancel(child, reason);
            }
            ChildLink::Mocked { index, cancelled } => {
                if *cancelled {
                    return;
                }
                *cancelled = true;
                let index = *index;
                e.history += 1;
                self.cancel_mocked(exec, index, true);
            }
        }
    }

    /// A mocked child asked to cancel is taken to honour it.
    fn cancel_mocked(&mut self, exec: usize, index: usize, report: bool) {
        let Some(m) = self.mocked.get_mut(index).filter(|m| m.open) else {
            return;
        };
        m.open = false;
        let (record, seq) = (m.record, m.parent.seq);
        let (workflow_type, workflow_id, child_run_id) = (
            m.workflow_type.clone(),
            m.workflow_id.clone(),
            m.run_id.clone(),
        );
        if let Some(r) = self.children.get_mut(record) {
            r.status = ChildStatus::Cancelled;
        }
        self.note(
            exec,
            format!("child {workflow_type} ({workflow_id}) cancelled"),
        );
        if report {
            let job = shapes::child_cancelled(&ChildRef {
                seq,
                workflow_type: &workflow_type,
                workflow_id: &workflow_id,
                run_id: &child_run_id,
            });
            self.execs[exec].local_jobs.push(job);
        }
    }

    /// A cancellation request reaches a real child (its history, then its next task).
    fn request_cancel(&mut self, child: usize, reason: &str) {
        let c = &mut self.execs[child];
        c.draining = true;
        if !c.open || c.cancel_requested {
            return;
        }
        c.cancel_requested = true;
        c.history += 1;
        self.note(child, "cancel requested".to_owned());
        self.deliver(
            child,
            Job::CancelWorkflow(CancelWorkflow {
                reason: reason.to_owned(),
            }),
        );
    }

    /// The run holding `link` closed: the child gets its parent-close policy.
    pub fn parent_closed(&mut self, link: ChildLink) {
        match link {
            ChildLink::Starting(_) => {}
            ChildLink::Real { exec: child, .. } => {
                let c = &self.execs[child];
                if !c.open {
                    return;
                }
                match c.parent.map(|p| p.policy) {
                    Some(ParentClosePolicy::Abandon) => {
                        self.note(child, "abandoned by its closed parent".to_owned());
                    }
                    Some(ParentClosePolicy::RequestCancel) => {
                        self.request_cancel(child, "its parent closed");
                    }
                    _ => {
                        self.execs[child].history += 1;
                        self.note(child, "terminated: its parent closed".to_owned());
                        self.close(child, Closure::Terminated);
                    }
                }
            }
            ChildLink::Mocked { index, .. } => {
                let Some(m) = self.mocked.get_mut(index).filter(|m| m.open) else {
                    return;
                };
                let (policy, parent, record) = (m.parent.policy, m.parent.exec, m.record);
                match policy {
                    ParentClosePolicy::Abandon => {}
                    ParentClosePolicy::RequestCancel => self.cancel_mocked(parent, index, false),
                    _ => {
                        m.open = false;
                        if let Some(r) = self.children.get_mut(record) {
                            r.status = ChildStatus::Terminated;
                        }
                    }
                }
            }
        }
    }
}

fn describe(status: &ChildStatus) -> String {
    match status {
        ChildStatus::Running => "running".to_owned(),
        ChildStatus::Completed { output } => format!("completed {}", compact(output)),
        ChildStatus::Failed {
            error_type,
            message,
            ..
        } => format!("failed {error_type}: {message}"),
        ChildStatus::Cancelled => "cancelled".to_owned(),
        ChildStatus::TimedOut => "timed out".to_owned(),
        ChildStatus::Terminated => "terminated".to_owned(),
        ChildStatus::StartFailed { cause } => format!("not started: {cause}"),
    }
}
