//! Activity attempts: each starts the instant it is due, runs for its mock's delay or until a timeout, and ends in a result, a retry or a final failure.
//!
//! What the workflow sees follows the server (1.31) and core (0.10.1) exactly:
//! - a failed attempt that is not retried: `ActivityFailure` ("Activity task failed", retry
//!   state `NON_RETRYABLE_FAILURE`, `MAXIMUM_ATTEMPTS_REACHED` or — when the next attempt
//!   would start after the schedule-to-close deadline — `TIMEOUT`) around the application
//!   failure itself (`respondactivitytaskfailed/api.go`);
//! - a timed-out attempt that is not retried: "Activity task timed out" around the server's
//!   timeout failure, whose cause is the last retried attempt's failure
//!   (`AddActivityTaskTimedOutEvent` sets `RetryLastFailure`). When the schedule-to-close
//!   deadline is what ends it — its timer fired, or no retry fits before it — the timeout is
//!   `ScheduleToClose` with the message "Not enough time to schedule next retry…"
//!   (`processSingleActivityTimeoutTask`); the interpreter reads all of these as `Timeout`.
//! - An attempt ends with its reply only if the reply comes strictly before its timeout.
//! - Cancellation is `TRY_CANCEL`, the only kind Stave issues (`ops.rs`): resolved at once.

use serde_json::Value as Json;
use temporalio_common::protos::coresdk::workflow_commands::ScheduleActivity;
use temporalio_common::protos::temporal::api::enums::v1::{RetryState, TimeoutType};
use temporalio_common::protos::temporal::api::failure::v1::{Failure, failure::FailureInfo};

use super::retry::{Next, Policy, Timeouts, activity_timeouts, timeout_type_name};
use super::shapes::{self, ActivityRef};
use super::world::{Ev, World, compact, fmt_ms};
use super::{ActivityAttempt, AttemptOutcome, AttemptRecord, MockReply};
use crate::runtime::payload;

/// A scheduled activity of a run, between its scheduling and its resolution.
pub(super) struct Activity {
    pub activity_type: String,
    pub step: String,
    pub input: Json,
    pub policy: Policy,
    pub timeouts: Timeouts,
    pub scheduled_at: u64,
    /// The attempt running or about to start (1-based).
    pub attempt: u32,
    /// Names the event the activity waits for: its next start or its running attempt's end.
    pub token: u64,
    /// The running attempt's entry in `attempts`.
    pub record: Option<usize>,
    /// The failure of the last attempt that was retried (the server's `RetryLastFailure`).
    pub last_failure: Option<Failure>,
}

impl Activity {
    /// How the trace names it: the step, else the activity type.
    fn name(&self) -> &str {
        if self.step.is_empty() {
            &self.activity_type
        } else {
            &self.step
        }
    }

    fn deadline(&self) -> Option<u64> {
        self.timeouts
            .schedule_to_close_ms
            .map(|ms| self.scheduled_at.saturating_add(ms))
    }
}

/// How a running attempt ends.
pub(super) enum AttemptEnd {
    /// The mock answered in time.
    Reply(MockReply),
    StartToClose,
    ScheduleToClose,
}

impl World<'_> {
    /// `ScheduleActivity`: the server checks its options (Err fails the workflow task), and
    /// attempt 1 is due at once.
    pub fn schedule_activity(&mut self, exec: usize, cmd: ScheduleActivity) -> Result<(), String> {
        let policy = Policy::effective(cmd.retry_policy.as_ref())
            .map_err(|e| format!("activity `{}`: {e}", cmd.activity_type))?;
        let timeouts = activity_timeouts(
            cmd.start_to_close_timeout.as_ref(),
            cmd.schedule_to_close_timeout.as_ref(),
            self.execs[exec].run_timeout_ms,
        )
        .map_err(|e| format!("activity `{}`: {e}", cmd.activity_type))?;
        let token = self.token();
        let activity = Activity {
            step: crate::runtime::logging::step_of(&cmd.headers),
            input: payload::decode_args(&cmd.arguments).unwrap_or(Json::Null),
            activity_type: cmd.activity_type,
            policy,
            timeouts,
            scheduled_at: self.now,
            attempt: 1,
            token,
            record: None,
            last_failure: None,
        };
        let e = &mut self.execs[exec];
        e.history += 1;
        e.activities.insert(cmd.seq, activity);
        let run = e.run_no;
        self.push(
            self.now,
            Ev::AttemptStart {
                exec,
                run,
                seq: cmd.seq,
                token,
            },
        );
        Ok(())
    }

    fn activity_mut(
        &mut self,
        exec: usize,
        run: u32,
        seq: u32,
        token: u64,
    ) -> Option<&mut Activity> {
        let e = self.execs.get_mut(exec)?;
        if !e.open || e.run_no != run {
            return None;
        }
        e.activities.get_mut(&seq).filter(|a| a.token == token)
    }

    /// An attempt starts: the mock says how it goes, the queue gets its end.
    pub fn attempt_start(&mut self, exec: usize, run: u32, seq: u32, token: u64) {
        let now = self.now;
        let workflow_id = self.execs[exec].workflow_id.clone();
        let Some(a) = self.activity_mut(exec, run, seq, token) else {
            return;
        };
        let call = ActivityAttempt {
            activity: a.activity_type.clone(),
            step: a.step.clone(),
            attempt: a.attempt,
            input: a.input.clone(),
            at_ms: now,
            workflow_id,
        };
        let stc_end = now.saturating_add(a.timeouts.start_to_close_ms);
        let timeout = match a.deadline() {
            Some(deadline) if deadline <= stc_end => (deadline, AttemptEnd::ScheduleToClose),
            _ => (stc_end, AttemptEnd::StartToClose),
        };
        let line = format!("activity {} attempt {} started", a.name(), a.attempt);
        let reply = self.mocks.activity(&call);
        let reply_end = match &reply {
            MockReply::Output { delay_ms, .. } | MockReply::Error { delay_ms, .. } => {
                Some(now.saturating_add(*delay_ms))
            }
            MockReply::Timeout => None,
        };
        let (at, end) = match reply_end {
            Some(at) if at < timeout.0 => (at, AttemptEnd::Reply(reply)),
            _ => timeout,
        };
        self.attempts.push(AttemptRecord {
            workflow_id: call.workflow_id,
            activity: call.activity,
            step: call.step,
            attempt: call.attempt,
            input: call.input,
            at_ms: now,
            end_ms: None,
            outcome: AttemptOutcome::Unfinished,
        });
        let record = self.attempts.len() - 1;
        let token = self.token();
        if let Some(a) = self.execs[exec].activities.get_mut(&seq) {
            a.token = token;
            a.record = Some(record);
        }
        self.note(exec, line);
        self.push(
            at,
            Ev::AttemptEnd {
                exec,
                run,
                seq,
                token,
                end,
            },
        );
    }

    /// A running attempt ends: a result, a retry, or a final failure.
    pub fn attempt_end(&mut self, exec: usize, run: u32, seq: u32, token: u64, end: AttemptEnd) {
        let now = self.now;
        let Some(a) = self.activity_mut(exec, run, seq, token) else {
            return;
        };
        let record = a.record.take();
        let (outcome, failure) = match end {
            AttemptEnd::Reply(MockReply::Output { value, .. }) => {
                (AttemptOutcome::Completed { output: value }, None)
            }
            AttemptEnd::Reply(MockReply::Error {
                error_type,
                message,
                details,
                non_retryable,
                ..
            }) => {
                let failure =
                    shapes::application_failure(&error_type, &message, &details, non_retryable);
                (
                    AttemptOutcome::Failed {
                        error_type,
                        message,
                    },
                    Some(failure),
                )
            }
            AttemptEnd::Reply(MockReply::Timeout) | AttemptEnd::StartToClose => (
                AttemptOutcome::TimedOut {
                    timeout_type: timeout_type_name(TimeoutType::StartToClose).to_owned(),
                },
                Some(shapes::attempt_timeout(TimeoutType::StartToClose)),
            ),
            AttemptEnd::ScheduleToClose => (
                AttemptOutcome::TimedOut {
                    timeout_type: timeout_type_name(TimeoutType::ScheduleToClose).to_owned(),
                },
                Some(shapes::attempt_timeout(TimeoutType::ScheduleToClose)),
            ),
        };
        let name = a.name().to_owned();
        let attempt = a.attempt;
        if let Some(r) = record.and_then(|r| self.attempts.get_mut(r)) {
            r.end_ms = Some(now);
            r.outcome = outcome.clone();
        }
        match (outcome, failure) {
            (AttemptOutcome::Completed { output }, _) => {
                self.note(
                    exec,
                    format!(
                        "activity {name} attempt {attempt} completed {}",
                        compact(&output)
                    ),
                );
                self.resolve_activity(exec, seq, shapes::activity_completed(seq, &output));
            }
            (_, Some(failure)) => self.attempt_failed(exec, seq, &name, failure),
            (_, None) => {}
        }
    }

    /// After a failed or timed-out attempt: the next one, or the activity's final failure.
    fn attempt_failed(&mut self, exec: usize, seq: u32, name: &str, failure: Failure) {
        let now = self.now;
        let run = self.execs[exec].run_no;
        let Some(a) = self.execs[exec].activities.get_mut(&seq) else {
            return;
        };
        let attempt = a.attempt;
        let what = describe(&failure);
        let timer = match &failure.failure_info {
            Some(FailureInfo::TimeoutFailureInfo(info)) => Some(info.timeout_type()),
            _ => None,
        };
        // A schedule-to-close timer is final: the server does not consult the policy.
        let next = if timer == Some(TimeoutType::ScheduleToClose) {
            Next::Stop(RetryState::Timeout)
        } else {
            a.policy.next(attempt, now, a.deadline(), &failure)
        };
        match next {
            Next::Retry { after_ms } => {
                a.last_failure = Some(failure);
                a.attempt += 1;
                let token = self.token();
                if let Some(a) = self.execs[exec].activities.get_mut(&seq) {
                    a.token = token;
                }
                self.note(
                    exec,
                    format!(
                        "activity {name} attempt {attempt} {what}, retry in {}",
                        fmt_ms(after_ms)
                    ),
                );
                self.push(
                    now.saturating_add(after_ms),
                    Ev::AttemptStart {
                        exec,
                        run,
                        seq,
                        token,
                    },
                );
            }
            Next::Stop(state) => {
                let last = a.last_failure.take();
                let activity_type = a.activity_type.clone();
                let cause = match timer {
                    None => failure,
                    Some(_) if state == RetryState::Timeout => shapes::timeout_failure(
                        shapes::NO_TIME_TO_RETRY.to_owned(),
                        TimeoutType::ScheduleToClose,
                        last,
                    ),
                    Some(_) => Failure {
                        cause: last.map(Box::new),
                        ..failure
                    },
                };
                self.note(
                    exec,
                    format!(
                        "activity {name} attempt {attempt} {what}, no retry ({})",
                        retry_state_name(state)
                    ),
                );
                let job = shapes::activity_failed(
                    &ActivityRef {
                        seq,
                        activity_type: &activity_type,
                    },
                    cause,
                    state,
                );
                self.resolve_activity(exec, seq, job);
            }
        }
    }

    /// The activity's result reaches history (started + closed events) and the workflow.
    fn resolve_activity(
        &mut self,
        exec: usize,
        seq: u32,
        job: temporalio_common::protos::coresdk::workflow_activation::workflow_activation_job::Variant,
    ) {
        let e = &mut self.execs[exec];
        e.activities.remove(&seq);
        e.history += 2;
        self.deliver(exec, job);
    }

    /// `RequestCancelActivity` (`TRY_CANCEL`): core resolves the activity as cancelled at
    /// once, in an activation of its own; a running attempt's answer is dropped. An activity
    /// scheduled by the same completion never reaches the server.
    pub fn cancel_activity(&mut self, exec: usize, seq: u32, fresh: bool) {
        let now = self.now;
        let Some(a) = self.execs[exec].activities.remove(&seq) else {
            return;
        };
        let e = &mut self.execs[exec];
        if fresh {
            e.history = e.history.saturating_sub(1);
        } else {
            // ActivityTaskCancelRequested.
            e.history += 1;
        }
        e.local_jobs.push(shapes::activity_cancelled(&ActivityRef {
            seq,
            activity_type: &a.activity_type,
        }));
        if let Some(r) = a.record.and_then(|r| self.attempts.get_mut(r)) {
            r.end_ms = Some(now);
            r.outcome = AttemptOutcome::Cancelled;
        }
        self.note(exec, format!("activity {} cancelled", a.name()));
    }
}

fn describe(failure: &Failure) -> String {
    match &failure.failure_info {
        Some(FailureInfo::TimeoutFailureInfo(info)) => {
            format!("timed out ({})", timeout_type_name(info.timeout_type()))
        }
        Some(FailureInfo::ApplicationFailureInfo(info)) => {
            format!("failed: {}: {}", info.r#type, failure.message)
        }
        _ => format!("failed: {}", failure.message),
    }
}

fn retry_state_name(state: RetryState) -> &'static str {
    match state {
        RetryState::NonRetryableFailure => "non-retryable",
        RetryState::MaximumAttemptsReached => "maximum attempts reached",
        RetryState::Timeout => "schedule-to-close timeout",
        RetryState::CancelRequested => "cancel requested",
        _ => "stopped",
    }
}
