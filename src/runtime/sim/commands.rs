//! A workflow task's commands, applied as the server records them: timers, activities, children, and the command that ends a run.
//!
//! A cancel of something the same completion scheduled never reaches the server (core drops
//! both commands and resolves the operation as cancelled). A failed run of a child with a
//! retry policy starts again as a new run (same input, attempt + 1) after the policy's
//! backoff, as the server retries workflows; a continue-as-new starts the next run with the
//! command's arguments and headers (the `stave-continue` state among them).

use std::collections::BTreeSet;

use temporalio_common::protos::coresdk::workflow_activation::{
    FireTimer, workflow_activation_job::Variant as Job,
};
use temporalio_common::protos::coresdk::workflow_commands::{
    ContinueAsNewWorkflowExecution, UpdateResponse, WorkflowCommand, update_response::Response,
    workflow_command::Variant,
};
use temporalio_common::protos::temporal::api::common::v1::Memo;
use temporalio_common::protos::temporal::api::enums::v1::RetryState;
use temporalio_common::protos::temporal::api::failure::v1::Failure;

use super::child::ChildLink;
use super::retry::{Next, duration_ms};
use super::shapes;
use super::world::{Closure, Ev, StartArgs, World, compact, fmt_ms};
use crate::runtime::payload;

/// What the workflow task in progress scheduled, by seq: core sends a task's commands
/// together when its last activation completes, so cancelling one of these drops both.
#[derive(Default)]
pub(super) struct Fresh {
    activities: BTreeSet<u32>,
    timers: BTreeSet<u32>,
    children: BTreeSet<u32>,
}

impl World<'_> {
    /// An update's answer: accepted and completed each add an event; a rejection before
    /// acceptance leaves none (the validator keeps it out of history).
    fn update_response(&mut self, exec: usize, r: UpdateResponse) {
        let Some((index, accepted)) = self.open_updates.get(&r.protocol_instance_id).copied()
        else {
            return;
        };
        let (result, shown) = match r.response {
            Some(Response::Accepted(())) => {
                self.execs[exec].history += 1;
                self.open_updates
                    .insert(r.protocol_instance_id, (index, true));
                return;
            }
            Some(Response::Completed(p)) => match payload::decode_opt(Some(&p)) {
                Ok(v) => (Ok(v.clone()), format!("→ {}", compact(&v))),
                Err(e) => (Err(e.to_string()), format!("failed: {e}")),
            },
            Some(Response::Rejected(f)) => {
                let message = crate::runtime::interpreter::describe_update_failure(&f);
                let shown = format!("rejected: {message}");
                (Err(message), shown)
            }
            None => return,
        };
        if accepted || result.is_ok() {
            self.execs[exec].history += 1;
        }
        self.open_updates.remove(&r.protocol_instance_id);
        let name = self.updates[index].name.clone();
        self.note(exec, format!("update {name} {shown}"));
        self.updates[index].result = result;
    }

    /// Applies one activation's commands to the execution's current run.
    pub fn apply(&mut self, exec: usize, commands: Vec<WorkflowCommand>, fresh: &mut Fresh) {
        let run = self.execs[exec].run_no;
        for command in commands {
            let e = &self.execs[exec];
            if self.stuck.is_some() || !e.open || e.run_no != run {
                return;
            }
            let Some(variant) = command.variant else {
                continue;
            };
            match variant {
                Variant::ScheduleActivity(cmd) => {
                    let seq = cmd.seq;
                    match self.schedule_activity(exec, cmd) {
                        Ok(()) => {
                            fresh.activities.insert(seq);
                        }
                        Err(message) => self.task_failed(exec, &message),
                    }
                }
                Variant::RequestCancelActivity(c) => {
                    self.cancel_activity(exec, c.seq, fresh.activities.contains(&c.seq));
                }
                Variant::StartTimer(t) => {
                    match duration_ms(t.start_to_fire_timeout.as_ref(), "StartToFireTimeout") {
                        Ok(ms) => {
                            fresh.timers.insert(t.seq);
                            self.start_timer(exec, t.seq, ms.unwrap_or(0));
                        }
                        Err(message) => self.task_failed(exec, &message),
                    }
                }
                Variant::CancelTimer(t) => {
                    let e = &mut self.execs[exec];
                    if e.timers.remove(&t.seq).is_some() {
                        if fresh.timers.contains(&t.seq) {
                            e.history = e.history.saturating_sub(1);
                        } else {
                            // TimerCanceled.
                            e.history += 1;
                        }
                    }
                }
                Variant::StartChildWorkflowExecution(c) => {
                    let seq = c.seq;
                    let e = &mut self.execs[exec];
                    e.history += 1;
                    e.children.insert(seq, ChildLink::Starting(Box::new(c)));
                    fresh.children.insert(seq);
                    self.push(self.now, Ev::ChildStart { exec, run, seq });
                }
                Variant::CancelChildWorkflowExecution(c) => {
                    let seq = c.child_workflow_seq;
                    self.cancel_child(exec, seq, &c.reason, fresh.children.contains(&seq));
                }
                Variant::CompleteWorkflowExecution(c) => {
                    self.execs[exec].history += 1;
                    self.close(exec, Closure::Completed(c.result));
                }
                Variant::FailWorkflowExecution(f) => {
                    self.execs[exec].history += 1;
                    self.fail_run(exec, f.failure.unwrap_or_default());
                }
                Variant::CancelWorkflowExecution(_) => {
                    self.execs[exec].history += 1;
                    self.close(exec, Closure::Cancelled);
                }
                Variant::ContinueAsNewWorkflowExecution(c) => {
                    self.execs[exec].history += 1;
                    self.continue_as_new(exec, c);
                }
                // Query answers are read by the query activation.
                Variant::RespondToQuery(_) => {}
                Variant::UpdateResponse(r) => self.update_response(exec, r),
                Variant::SetPatchMarker(_)
                | Variant::UpsertWorkflowSearchAttributes(_)
                | Variant::ModifyWorkflowProperties(_) => self.execs[exec].history += 1,
                other => {
                    // Stave does not issue these; a server would record them.
                    self.execs[exec].history += 1;
                    self.note(
                        exec,
                        format!("command not simulated: {}", command_name(&other)),
                    );
                }
            }
        }
    }

    fn start_timer(&mut self, exec: usize, seq: u32, ms: u64) {
        let token = self.token();
        let e = &mut self.execs[exec];
        e.timers.insert(seq, token);
        e.history += 1;
        let run = e.run_no;
        self.note(exec, format!("timer {seq} started ({})", fmt_ms(ms)));
        self.push(
            self.now.saturating_add(ms),
            Ev::Timer {
                exec,
                run,
                seq,
                token,
            },
        );
    }

    /// A timer fires, unless it was cancelled or its run is over.
    pub fn timer_fired(&mut self, exec: usize, run: u32, seq: u32, token: u64) {
        let e = &mut self.execs[exec];
        if !e.open || e.run_no != run || e.timers.get(&seq) != Some(&token) {
            return;
        }
        e.timers.remove(&seq);
        e.history += 1;
        self.note(exec, format!("timer {seq} fired"));
        self.deliver(exec, Job::FireTimer(FireTimer { seq }));
    }

    /// `FailWorkflowExecution`: the run fails; a child with a retry policy may start again.
    fn fail_run(&mut self, exec: usize, failure: Failure) {
        let e = &self.execs[exec];
        let state = match &e.retry {
            None => RetryState::RetryPolicyNotSet,
            Some(policy) => match policy.next(e.attempt, self.now, e.deadline, &failure) {
                Next::Retry { after_ms } => {
                    self.retry_run(exec, &failure, after_ms);
                    return;
                }
                Next::Stop(state) => state,
            },
        };
        self.close(exec, Closure::Failed(Box::new(failure), state));
    }

    /// The server retries a failed run: a new run with the same start, attempt + 1.
    fn retry_run(&mut self, exec: usize, failure: &Failure, after_ms: u64) {
        let (error_type, message, _) = shapes::describe_failure(failure);
        self.note(
            exec,
            format!(
                "run failed {error_type}: {message}; retry in {}",
                fmt_ms(after_ms)
            ),
        );
        let previous = self.execs[exec].run_id.clone();
        let program = self.execs[exec].run.program().clone();
        let start = self.execs[exec].start.clone();
        self.end_run(exec);
        let at = self.next_run_at(exec, after_ms);
        self.execs[exec].attempt += 1;
        self.begin_run(exec, program, start, Some((previous, 2)), at);
    }

    /// `ContinueAsNewWorkflowExecution`: this run ends, the next starts with the command's
    /// arguments, headers and memo.
    fn continue_as_new(&mut self, exec: usize, cmd: ContinueAsNewWorkflowExecution) {
        let e = &self.execs[exec];
        let program = if cmd.workflow_type.is_empty() || cmd.workflow_type == e.workflow_type {
            e.run.program().clone()
        } else if let Some(program) = self.programs.get(&cmd.workflow_type) {
            program.clone()
        } else {
            let message = format!(
                "continue-as-new to workflow `{}`, which the project does not define",
                cmd.workflow_type
            );
            self.task_failed(exec, &message);
            return;
        };
        let backoff = match duration_ms(cmd.backoff_start_interval.as_ref(), "BackoffStartInterval")
        {
            Ok(ms) => ms.unwrap_or(0),
            Err(message) => {
                self.task_failed(exec, &message);
                return;
            }
        };
        let start = StartArgs {
            arguments: cmd.arguments,
            headers: cmd.headers,
            memo: if cmd.memo.is_empty() {
                e.start.memo.clone()
            } else {
                Some(Memo { fields: cmd.memo })
            },
            search_attributes: cmd
                .search_attributes
                .or_else(|| e.start.search_attributes.clone()),
        };
        let previous = e.run_id.clone();
        if exec == 0 {
            self.history_lengths.push(e.history);
        }
        self.note(exec, "continued as new".to_owned());
        self.end_run(exec);
        let at = self.next_run_at(exec, backoff);
        self.execs[exec].attempt = 1;
        self.begin_run(exec, program, start, Some((previous, 1)), at);
    }
}

fn command_name(variant: &Variant) -> &'static str {
    match variant {
        Variant::RequestCancelExternalWorkflowExecution(_) => {
            "RequestCancelExternalWorkflowExecution"
        }
        Variant::SignalExternalWorkflowExecution(_) => "SignalExternalWorkflowExecution",
        Variant::CancelSignalWorkflow(_) => "CancelSignalWorkflow",
        Variant::ScheduleLocalActivity(_) => "ScheduleLocalActivity",
        Variant::RequestCancelLocalActivity(_) => "RequestCancelLocalActivity",
        Variant::ScheduleNexusOperation(_) => "ScheduleNexusOperation",
        Variant::RequestCancelNexusOperation(_) => "RequestCancelNexusOperation",
        _ => "command",
    }
}
