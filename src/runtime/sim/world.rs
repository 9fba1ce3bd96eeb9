//! The discrete-event loop: a virtual clock, a queue of due events, and one state per workflow execution.
//!
//! The queue orders events by virtual time, then by insertion: never by hash order, so a case
//! replays identically. An event for an execution puts jobs on it and schedules a workflow
//! task at the same instant, queued behind every event already due then: all jobs of one
//! instant meet in one activation, as they would in one workflow task on a server.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use serde_json::Value as Json;
use temporalio_common::protos::coresdk::workflow_activation::{
    CancelWorkflow, DoUpdate, QueryWorkflow, SignalWorkflow, WorkflowActivation,
    WorkflowActivationJob, workflow_activation_job::Variant as Job,
};
use temporalio_common::protos::coresdk::workflow_commands::{query_result, workflow_command};
use temporalio_common::protos::temporal::api::common::v1::{Memo, Payload, SearchAttributes};
use temporalio_common::protos::temporal::api::enums::v1::RetryState;
use temporalio_common::protos::temporal::api::failure::v1::Failure;

use super::activity::{Activity, AttemptEnd};
use super::child::{ChildLink, MockEnd, MockedChild, ParentLink};
use super::commands::Fresh;
use super::retry::Policy;
use super::{
    AttemptRecord, Case, ChildRecord, Event, MAX_EVENTS, Mocks, QueryRecord, SimResult, SimStatus,
    Timed, UpdateRecord,
};
use crate::ir::{CoveragePoint, Workflow};
use crate::runtime::interpreter::{Outcome, Run};
use crate::runtime::payload;

/// The server suggests continue-as-new from this many history events on
/// (`limit.historyCount.suggestContinueAsNew`).
pub const SUGGEST_CONTINUE_AS_NEW_EVENTS: u32 = 4 * 1024;
/// The trace keeps this many lines (a runaway case would otherwise write millions).
pub const MAX_TRACE_LINES: usize = 10_000;

/// Something due at a virtual instant.
pub(super) enum Ev {
    /// A workflow task of an execution: its pending jobs in one activation.
    Task {
        exec: usize,
    },
    /// Event `index` of the case.
    Case {
        index: usize,
    },
    AttemptStart {
        exec: usize,
        run: u32,
        seq: u32,
        token: u64,
    },
    AttemptEnd {
        exec: usize,
        run: u32,
        seq: u32,
        token: u64,
        end: AttemptEnd,
    },
    Timer {
        exec: usize,
        run: u32,
        seq: u32,
        token: u64,
    },
    ChildStart {
        exec: usize,
        run: u32,
        seq: u32,
    },
    MockChildEnd {
        index: usize,
        end: MockEnd,
    },
    /// The execution timeout of an execution.
    Deadline {
        exec: usize,
    },
}

/// What a run starts with (kept for a retry, which starts again with the same).
#[derive(Clone, Default)]
pub(super) struct StartArgs {
    pub arguments: Vec<Payload>,
    pub headers: HashMap<String, Payload>,
    pub memo: Option<Memo>,
    pub search_attributes: Option<SearchAttributes>,
}

/// One workflow execution (a workflow id) across its runs.
pub(super) struct Exec {
    pub workflow_type: String,
    pub workflow_id: String,
    pub run: Run,
    /// 1 for the first run; +1 per continue-as-new or retry.
    pub run_no: u32,
    pub run_id: String,
    pub first_run_id: String,
    /// History events of the current run so far.
    pub history: u32,
    /// Worker events still to count on the run's first task.
    pub preamble: u32,
    /// Jobs for the next workflow task.
    pub jobs: Vec<Job>,
    /// Jobs core resolves by itself (cancellations): an activation right after this one.
    pub local_jobs: Vec<Job>,
    /// When the queued workflow task is due, if one is.
    pub task_at: Option<u64>,
    pub activities: BTreeMap<u32, Activity>,
    /// Running timers: seq → token of their fire event.
    pub timers: BTreeMap<u32, u64>,
    pub children: BTreeMap<u32, ChildLink>,
    pub open: bool,
    pub cancel_requested: bool,
    pub parent: Option<ParentLink>,
    pub execution_timeout_ms: Option<u64>,
    pub deadline: Option<u64>,
    /// The server's run timeout: the execution timeout (Stave sets no run timeout).
    pub run_timeout_ms: Option<u64>,
    pub attempt: u32,
    pub retry: Option<Policy>,
    pub start: StartArgs,
    /// When the current run's first task was due (for the minimal interval between runs).
    pub run_started: u64,
    /// This execution's entry in [`SimResult::children`], for a child.
    pub record: Option<usize>,
    /// Still simulated after the top workflow closed: a child asked to cancel by the
    /// parent-close policy winds down (its compensations run).
    pub draining: bool,
}

/// How an execution closed.
pub(super) enum Closure {
    Completed(Option<Payload>),
    Failed(Box<Failure>, RetryState),
    Cancelled,
    TimedOut,
    Terminated,
}

pub(super) struct World<'a> {
    pub programs: &'a BTreeMap<String, Arc<Workflow>>,
    pub mocks: &'a mut dyn Mocks,
    pub start_ms: i64,
    pub now: u64,
    queue: BTreeMap<(u64, u64), Ev>,
    next_seq: u64,
    next_token: u64,
    pub execs: Vec<Exec>,
    pub mocked: Vec<MockedChild>,
    pub attempts: Vec<AttemptRecord>,
    pub queries: Vec<QueryRecord>,
    pub updates: Vec<UpdateRecord>,
    /// Updates in flight by protocol instance id: their record, and whether accepted.
    pub open_updates: BTreeMap<String, (usize, bool)>,
    pub children: Vec<ChildRecord>,
    pub trace: Vec<String>,
    pub history_lengths: Vec<u32>,
    pub coverage: BTreeMap<String, BTreeSet<CoveragePoint>>,
    /// How the top workflow ended, and when.
    pub top_end: Option<(SimStatus, u64)>,
    /// Why the case cannot go on (a failed workflow task, a child no one defines).
    pub stuck: Option<String>,
    /// Children of closed runs waiting for their parent-close policy.
    pub orphans: VecDeque<ChildLink>,
    pub settling: bool,
    events: Vec<Timed>,
    limit_ms: u64,
    next_query: u64,
}

impl<'a> World<'a> {
    pub fn new(
        programs: &'a BTreeMap<String, Arc<Workflow>>,
        mocks: &'a mut dyn Mocks,
        case: &Case,
    ) -> World<'a> {
        World {
            programs,
            mocks,
            start_ms: case.start_time_ms,
            now: 0,
            queue: BTreeMap::new(),
            next_seq: 0,
            next_token: 0,
            execs: Vec::new(),
            mocked: Vec::new(),
            attempts: Vec::new(),
            queries: Vec::new(),
            updates: Vec::new(),
            open_updates: BTreeMap::new(),
            children: Vec::new(),
            trace: Vec::new(),
            history_lengths: Vec::new(),
            coverage: BTreeMap::new(),
            top_end: None,
            stuck: None,
            orphans: VecDeque::new(),
            settling: false,
            events: case.events.clone(),
            limit_ms: case.max_virtual_ms,
            next_query: 0,
        }
    }

    /// Starts the case's workflow and runs the loop to the end.
    pub fn play(mut self, program: Arc<Workflow>, case: &Case) -> SimResult {
        // Case events go in first: those at 0 join the first activation, as with
        // signal-with-start.
        for index in 0..self.events.len() {
            let at = self.events[index].at_ms;
            self.push(at, Ev::Case { index });
        }
        let start = StartArgs {
            arguments: vec![payload::encode(&case.input)],
            ..StartArgs::default()
        };
        let timeout = program.execution_timeout_ms.filter(|ms| *ms > 0);
        self.spawn(
            program,
            case.workflow_id.clone(),
            start,
            None,
            timeout,
            None,
        );
        self.run_loop();
        self.finish()
    }

    fn run_loop(&mut self) {
        let mut processed = 0u64;
        while self.stuck.is_none() {
            let Some(((at, _), ev)) = self.queue.pop_first() else {
                break;
            };
            if at > self.limit_ms {
                if self.top_end.is_none() {
                    self.now = self.limit_ms;
                    self.stuck = Some(format!(
                        "still running after {} of virtual time (the case's max_virtual_ms)",
                        fmt_ms(self.limit_ms)
                    ));
                }
                break;
            }
            processed += 1;
            if processed > MAX_EVENTS {
                self.stuck = Some(format!(
                    "more than {MAX_EVENTS} events by t={}: the case does not end (a loop, or \
                     an activity retried without a limit: Temporal's default policy has none)",
                    fmt_ms(at)
                ));
                break;
            }
            self.now = at;
            if self.top_end.is_some() && !self.matters_after_end(&ev) {
                continue;
            }
            self.handle(ev);
        }
    }

    /// Once the top workflow closed, only the case's own events (queries answer from the
    /// final state) and children winding down after a cancel request still matter.
    fn matters_after_end(&self, ev: &Ev) -> bool {
        let exec = match ev {
            Ev::Case { .. } => return true,
            Ev::MockChildEnd { .. } => return false,
            Ev::Task { exec }
            | Ev::AttemptStart { exec, .. }
            | Ev::AttemptEnd { exec, .. }
            | Ev::Timer { exec, .. }
            | Ev::ChildStart { exec, .. }
            | Ev::Deadline { exec } => *exec,
        };
        self.execs.get(exec).is_some_and(|e| e.draining)
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Task { exec } => self.task(exec),
            Ev::Case { index } => self.case_event(index),
            Ev::AttemptStart {
                exec,
                run,
                seq,
                token,
            } => self.attempt_start(exec, run, seq, token),
            Ev::AttemptEnd {
                exec,
                run,
                seq,
                token,
                end,
            } => self.attempt_end(exec, run, seq, token, end),
            Ev::Timer {
                exec,
                run,
                seq,
                token,
            } => self.timer_fired(exec, run, seq, token),
            Ev::ChildStart { exec, run, seq } => self.start_child(exec, run, seq),
            Ev::MockChildEnd { index, end } => self.mock_child_end(index, end),
            Ev::Deadline { exec } => {
                let due = self.execs[exec].open && self.execs[exec].deadline == Some(self.now);
                if due {
                    self.execs[exec].history += 1;
                    self.note(exec, "execution timeout".to_owned());
                    self.close(exec, Closure::TimedOut);
                }
            }
        }
    }

    /// Queues `ev` at virtual time `at`, behind everything already due then.
    pub fn push(&mut self, at: u64, ev: Ev) {
        self.queue.insert((at, self.next_seq), ev);
        self.next_seq += 1;
    }

    pub fn token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

    /// Adds a job for the execution's next workflow task, scheduling one now if none is due.
    pub fn deliver(&mut self, exec: usize, job: Job) {
        self.execs[exec].jobs.push(job);
        self.schedule_task(exec, self.now);
    }

    pub fn schedule_task(&mut self, exec: usize, at: u64) {
        if self.execs[exec].task_at.is_none() {
            self.execs[exec].task_at = Some(at);
            self.push(at, Ev::Task { exec });
        }
    }

    /// One workflow task: the pending jobs in one activation, then the commands applied;
    /// cancellations core resolves by itself follow in activations of the same task.
    fn task(&mut self, exec: usize) {
        if self.execs[exec].task_at != Some(self.now) {
            return;
        }
        self.execs[exec].task_at = None;
        if !self.execs[exec].open || self.execs[exec].jobs.is_empty() {
            return;
        }
        let mut jobs = std::mem::take(&mut self.execs[exec].jobs);
        sort_jobs(&mut jobs);
        let e = &mut self.execs[exec];
        e.history += 2;
        let history_length = e.history;
        e.history += 1 + std::mem::take(&mut e.preamble);
        let run_no = e.run_no;
        let mut activation = self.activation(exec, jobs, history_length);
        let mut fresh = Fresh::default();
        loop {
            match self.execs[exec].run.activate(&activation) {
                Outcome::TaskFailure(message) => {
                    self.task_failed(exec, &message);
                    return;
                }
                Outcome::Commands(commands) => self.apply(exec, commands, &mut fresh),
            }
            let stuck = self.stuck.is_some();
            let e = &mut self.execs[exec];
            if stuck || !e.open || e.run_no != run_no || e.local_jobs.is_empty() {
                e.local_jobs.clear();
                return;
            }
            let jobs = std::mem::take(&mut e.local_jobs);
            activation = self.activation(exec, jobs, history_length);
        }
    }

    fn activation(&self, exec: usize, jobs: Vec<Job>, history_length: u32) -> WorkflowActivation {
        WorkflowActivation {
            run_id: self.execs[exec].run_id.clone(),
            timestamp: Some(self.timestamp(self.now)),
            is_replaying: false,
            history_length,
            jobs: jobs
                .into_iter()
                .map(|j| WorkflowActivationJob { variant: Some(j) })
                .collect(),
            continue_as_new_suggested: history_length >= SUGGEST_CONTINUE_AS_NEW_EVENTS,
            ..Default::default()
        }
    }

    /// A failed workflow task: a server retries it forever, so the case is stuck.
    pub fn task_failed(&mut self, exec: usize, message: &str) {
        let e = &self.execs[exec];
        let whose = if exec == 0 {
            format!("workflow `{}`", e.workflow_type)
        } else {
            format!("child workflow `{}` ({})", e.workflow_type, e.workflow_id)
        };
        self.note(exec, format!("workflow task failed: {message}"));
        self.stuck = Some(format!(
            "a workflow task of {whose} failed (a server retries it forever): {message}"
        ));
    }

    fn case_event(&mut self, index: usize) {
        let Some(Timed { event, .. }) = self.events.get(index).cloned() else {
            return;
        };
        match event {
            Event::Signal { name, payload } => {
                if !self.execs[0].open {
                    self.note(0, format!("signal {name} rejected: the workflow is closed"));
                    return;
                }
                self.note(0, format!("signal {name} {}", compact(&payload)));
                self.execs[0].history += 1;
                let job = Job::SignalWorkflow(SignalWorkflow {
                    signal_name: name,
                    input: vec![payload::encode(&payload)],
                    identity: "stave-sim".to_owned(),
                    ..Default::default()
                });
                self.deliver(0, job);
            }
            Event::Update { name, payload } => {
                if !self.execs[0].open {
                    self.note(0, format!("update {name} rejected: the workflow is closed"));
                    self.updates.push(UpdateRecord {
                        at_ms: self.now,
                        name,
                        result: Err("the workflow is closed".to_owned()),
                    });
                    return;
                }
                self.note(0, format!("update {name} {}", compact(&payload)));
                let id = format!("update-{}", self.updates.len() + 1);
                self.open_updates
                    .insert(id.clone(), (self.updates.len(), false));
                self.updates.push(UpdateRecord {
                    at_ms: self.now,
                    name: name.clone(),
                    result: Err("the workflow never answered".to_owned()),
                });
                let job = Job::DoUpdate(DoUpdate {
                    id: id.clone(),
                    protocol_instance_id: id,
                    name,
                    input: vec![payload::encode(&payload)],
                    run_validator: true,
                    ..Default::default()
                });
                self.deliver(0, job);
            }
            Event::Cancel => {
                if !self.execs[0].open {
                    self.note(0, "cancel rejected: the workflow is closed".to_owned());
                } else if !self.execs[0].cancel_requested {
                    self.note(0, "cancel requested".to_owned());
                    self.execs[0].cancel_requested = true;
                    self.execs[0].history += 1;
                    let job = Job::CancelWorkflow(CancelWorkflow {
                        reason: "cancelled by the test case".to_owned(),
                    });
                    self.deliver(0, job);
                }
            }
            Event::Query { name } => {
                // A query waits for the workflow task of its instant, as the server holds
                // it until the task in flight completes.
                if self.execs[0].task_at == Some(self.now) {
                    self.push(self.now, Ev::Case { index });
                    return;
                }
                self.query(name);
            }
        }
    }

    /// A query-only activation: answered from the state, moving neither clock nor history.
    fn query(&mut self, name: String) {
        self.next_query += 1;
        let query_id = format!("q{}", self.next_query);
        let e = &self.execs[0];
        let jobs = vec![Job::QueryWorkflow(QueryWorkflow {
            query_id: query_id.clone(),
            query_type: name.clone(),
            ..Default::default()
        })];
        let activation = self.activation(0, jobs, e.history);
        let result = match self.execs[0].run.activate(&activation) {
            Outcome::TaskFailure(message) => Err(message),
            Outcome::Commands(commands) => commands
                .into_iter()
                .filter_map(|c| match c.variant {
                    Some(workflow_command::Variant::RespondToQuery(r))
                        if r.query_id == query_id =>
                    {
                        r.variant
                    }
                    _ => None,
                })
                .next()
                .map_or_else(
                    || Err("the workflow gave no answer".to_owned()),
                    |answer| match answer {
                        query_result::Variant::Succeeded(s) => {
                            payload::decode_opt(s.response.as_ref()).map_err(|e| e.to_string())
                        }
                        query_result::Variant::Failed(f) => Err(f.message),
                    },
                ),
        };
        let shown = match &result {
            Ok(v) => compact(v),
            Err(e) => format!("failed: {e}"),
        };
        self.note(0, format!("query {name} → {shown}"));
        self.queries.push(QueryRecord {
            at_ms: self.now,
            name,
            result,
        });
    }

    /// A line of the trace: `t=2s …`, children's lines tagged with their workflow id.
    pub fn note(&mut self, exec: usize, what: String) {
        if self.trace.len() > MAX_TRACE_LINES {
            return;
        }
        if self.trace.len() == MAX_TRACE_LINES {
            self.trace
                .push(format!("t={} … (the trace stops here)", fmt_ms(self.now)));
            return;
        }
        let line = match exec {
            0 => format!("t={} {what}", fmt_ms(self.now)),
            _ => format!(
                "t={} [{}] {what}",
                fmt_ms(self.now),
                self.execs.get(exec).map_or("?", |e| e.workflow_id.as_str())
            ),
        };
        self.trace.push(line);
    }

    pub fn timestamp(&self, at: u64) -> prost_wkt_types::Timestamp {
        let ms = self
            .start_ms
            .saturating_add(i64::try_from(at).unwrap_or(i64::MAX));
        prost_wkt_types::Timestamp {
            seconds: ms.div_euclid(1000),
            nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
        }
    }

    fn finish(mut self) -> SimResult {
        for exec in 0..self.execs.len() {
            let e = &self.execs[exec];
            if e.open {
                let points = e.run.coverage();
                self.coverage
                    .entry(e.workflow_type.clone())
                    .or_default()
                    .extend(points);
            }
        }
        let (status, virtual_ms) = match (self.top_end.take(), self.stuck.take()) {
            (Some((status, at)), _) => (status, at),
            (None, Some(reason)) => (SimStatus::Stuck { reason }, self.now),
            (None, None) => {
                let steps = self.execs[0].run.status().current_steps;
                let waiting = if steps.is_empty() {
                    String::new()
                } else {
                    format!(" (waiting in {})", steps.join(", "))
                };
                let reason =
                    format!("nothing left to happen and the workflow is still open{waiting}");
                (SimStatus::Stuck { reason }, self.now)
            }
        };
        if self.execs[0].open {
            self.history_lengths.push(self.execs[0].history);
        }
        SimResult {
            status,
            virtual_ms,
            attempts: self.attempts,
            queries: self.queries,
            updates: self.updates,
            children: self.children,
            runs: self.execs[0].run_no,
            history_lengths: self.history_lengths,
            trace: self.trace,
            coverage: self.coverage,
        }
    }
}

/// Core's job order within an activation (`worker/workflow/mod.rs`, a stable sort): the
/// start, then signals, then everything else in arrival order.
fn sort_jobs(jobs: &mut [Job]) {
    jobs.sort_by_key(|job| match job {
        Job::InitializeWorkflow(_) => 0,
        Job::NotifyHasPatch(_) => 1,
        Job::UpdateRandomSeed(_) => 2,
        Job::SignalWorkflow(_) | Job::DoUpdate(_) => 3,
        Job::QueryWorkflow(_) => 6,
        Job::RemoveFromCache(_) => 7,
        _ => 4,
    });
}

/// `1m30s`, `250ms`, `0s`.
pub fn fmt_ms(ms: u64) -> String {
    crate::syntax::duration::format(std::time::Duration::from_millis(ms))
}

/// Compact JSON for the trace, cut to a readable length.
pub fn compact(value: &Json) -> String {
    let text = value.to_string();
    if text.chars().count() > 80 {
        let cut: String = text.chars().take(77).collect();
        format!("{cut}...")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_orders_start_and_signals_first() {
        let mut jobs = vec![
            Job::FireTimer(Default::default()),
            Job::SignalWorkflow(SignalWorkflow {
                signal_name: "a".into(),
                ..Default::default()
            }),
            Job::CancelWorkflow(Default::default()),
            Job::InitializeWorkflow(Default::default()),
            Job::SignalWorkflow(SignalWorkflow {
                signal_name: "b".into(),
                ..Default::default()
            }),
        ];
        sort_jobs(&mut jobs);
        let order: Vec<String> = jobs
            .iter()
            .map(|j| match j {
                Job::InitializeWorkflow(_) => "init".to_owned(),
                Job::SignalWorkflow(s) => s.signal_name.clone(),
                Job::FireTimer(_) => "timer".to_owned(),
                Job::CancelWorkflow(_) => "cancel".to_owned(),
                _ => "other".to_owned(),
            })
            .collect();
        assert_eq!(order, ["init", "a", "b", "timer", "cancel"]);
    }
}
