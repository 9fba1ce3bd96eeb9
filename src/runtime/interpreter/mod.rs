//! The interpreter: a deterministic function of (IR, activation jobs) → workflow commands.
//!
//! A run is one future per strand of the program (`exec`), polled by a tiny single-threaded
//! executor: each activation's jobs resolve pending operations (`state`) and wake the strands
//! waiting on them; the run then polls until nothing more can move. Concurrent strands
//! (`parallel`, `foreach`) are polled by `group::Group` in event order. Commands get
//! per-kind sequence numbers in the order they are issued, so the same activations always give
//! the same commands: nothing reads the clock (time is the activation's timestamp), randomness
//! (`uuid()` counts from the run's seed) or hash-map order.
//!
//! Glossary: *activation* — the jobs core hands over for one workflow task; *job* — one event
//! (timer fired, activity resolved, signal); *command* — what the workflow asks core to do;
//! *strand* — a sequence of steps running on its own (the main body, a branch, an iteration).
//!
//! Choices where LANGUAGE.md leaves room (the contract for workers and tests):
//! - Activity ids are the activity seq (`"1"`, `"2"`, …); child workflow ids default to
//!   `{workflow id}/{step name}` plus `/{i}` per enclosing loop iteration.
//! - Cancelling a strand (a failed or lost `parallel` branch, workflow cancellation) drops it:
//!   its activities get `RequestCancelActivity` (`TRY_CANCEL`), timers `CancelTimer`, children
//!   `CancelChildWorkflowExecution` (`TRY_CANCEL`); late resolutions are ignored.
//! - `race`: the first branch to finish wins, whether it succeeded or failed.
//! - `wait` without `until` takes the oldest unconsumed arrival of its signal. With `until`
//!   it takes one buffered arrival when it starts, then every arrival during the wait, and
//!   ends when `until` holds (checked at start, after each signal and after each `set`); its
//!   result is the last arrival it took, or null. A signal and the timeout in one activation:
//!   the signal wins.
//! - A signal's payload is its one argument (none → null, several → a list); a payload that
//!   is not JSON is ignored with a warning. A failing handler expression fails the run.
//!   Only signals some `wait` consumes are queued, at most [`MAX_QUEUED_SIGNALS`] per name;
//!   one more fails the run with `SignalQueueFull` (state stays bounded however fast clients
//!   send).
//! - A `compensate`'s arguments are evaluated when its step completes (the step's result
//!   and the iteration's item in scope). Compensations run one at a time, newest first; a
//!   failed one does not stop the rest, and the run still fails with the original error.
//! - Errors from Temporal keep their application type; timeouts are `Timeout` (details:
//!   `timeout_type`), cancellations `Cancelled`, an unstartable child
//!   `ChildWorkflowStartFailed`, a non-JSON result `PayloadError`. Errors Stave raises itself
//!   (`fail`, `InvalidInput`, `ExpressionError`, `MaxIterationsExceeded`) are non-retryable;
//!   all are catchable except `InvalidInput` (raised before any step).
//! - `now()` is the activation's timestamp; query-only activations do not move it. `uuid()`
//!   is the n-th UUID of the run's `randomness_seed`; queries use it without consuming it.
//! - Search attributes and memo are evaluated and sent at start and after each `set` or
//!   signal handler, only when they changed.
//! - Updates (`update.rs`): the validator runs only when core asks (not on replay); an
//!   accepted update's handler applies `set` like a signal handler, runs its steps (if any)
//!   as a strand polled after the main body's, then answers with its `result`. A failing
//!   expression or step fails the update, not the run. An accepted update is an arrival like
//!   a signal's for `wait`s that name it once its handler has ended, answered or failed. A run whose body ends while handlers run waits for
//!   them (taking no new update) before it completes or continues as new; a run that fails or
//!   is cancelled rejects their updates.
//! - `wait` on several names: `any` takes the first buffered arrival in the order the names
//!   are written; `all` takes one per name.

mod carry;
mod exec;
mod failure;
mod group;
mod metadata;
mod ops;
mod query;
mod scope;
mod state;
mod update;

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use serde_json::{Map, Value as Json, json};
use temporalio_common::protos::coresdk::{
    workflow_activation::{
        InitializeWorkflow, SignalWorkflow, WorkflowActivation,
        workflow_activation_job::Variant as Job,
    },
    workflow_commands::{
        CancelWorkflowExecution, CompleteWorkflowExecution, ContinueAsNewWorkflowExecution,
        FailWorkflowExecution, WorkflowCommand, workflow_command::Variant,
    },
};

pub use crate::ir::CoveragePoint;
use crate::ir::{StepKind, Workflow};
use crate::runtime::payload;

pub use carry::{CARRY_VERSION, CarriedCompensation, Carry, HEADER as CARRY_HEADER};
pub use exec::PAYLOAD_ERROR;
pub use failure::{
    CANCELLED, CHILD_START_FAILED, EXPRESSION_ERROR, GENERIC_ERROR, INVALID_INPUT,
    MAX_ITERATIONS_EXCEEDED, TERMINATED, TIMEOUT, WAIT_TIMEOUT,
};
pub use scope::{EvalFailure, eval_value};
pub use update::describe_update_failure;

use carry::Resume;
use failure::{Fault, WfError};
use scope::{Cx, Site};
use state::{Compensation, Shared};
pub use state::{splitmix64, uuid_v4};

/// The built-in query answered by every Stave workflow: `{state, current_steps}`, plus
/// `vars` when the workflow sets `expose_status: true` (variables hold data: whoever may query
/// the run would read them).
pub const STATUS_QUERY: &str = "__stave_status";
/// Temporal's built-in query the Web UI sends for a workflow's definition (its queries,
/// signals and updates) and current details.
pub const METADATA_QUERY: &str = "__temporal_workflow_metadata";

/// What completes one activation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Complete the activation with these commands (possibly none).
    Commands(Vec<WorkflowCommand>),
    /// Fail the workflow *task* (a bug or nondeterminism): the server retries it. The run's
    /// state is then unreliable: drop it (core evicts the run and replays it from history).
    TaskFailure(String),
}

/// Where a run stands, as the status query (`stave describe`) reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// No activation applied yet.
    NotStarted,
    Running,
    /// Running the saga's compensations before failing or cancelling.
    Compensating,
    Completed,
    Failed,
    Cancelled,
    ContinuedAsNew,
}

/// Observable state of a run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunStatus {
    pub state: RunState,
    /// Names (`Step::name`) of the steps waiting right now, in program order.
    pub current_steps: Vec<String>,
}

type RootFut = Pin<Box<dyn Future<Output = Result<Json, Fault>> + Send>>;
type UnwindFut = Pin<Box<dyn Future<Output = ()> + Send>>;

enum Phase {
    NotStarted,
    Running(RootFut),
    /// The main body ended normally (`Ok`, `return`, continue-as-new) while update handlers
    /// were running: the run ends as the result says once they have answered.
    Draining(Result<Json, Fault>),
    /// Compensations run, then the run ends as `End` says.
    Unwinding(UnwindFut, End),
    Done(RunState),
}

enum End {
    Fail(Box<WfError>),
    Cancel,
}

/// Set whenever any strand was woken: the run polls again.
#[derive(Default)]
struct RootWake(AtomicBool);

impl Wake for RootWake {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// One workflow run of one program.
pub struct Run {
    sh: Arc<Shared>,
    phase: Phase,
    wake: Arc<RootWake>,
    waker: Waker,
    cancel_requested: bool,
    /// An error raised outside the strands (a signal handler's expression): fails the run.
    pending_fault: Option<Fault>,
    /// Signal names some `wait` consumes: only these are queued (and carried).
    consumed: BTreeSet<String>,
    /// Accepted updates whose handlers are running steps, in the order accepted.
    handlers: Vec<update::Handler>,
}

/// Most unconsumed arrivals of one signal name a run holds. A client sending faster than the
/// workflow's `wait`s consume would otherwise grow its state (and the state continue-as-new
/// carries) without bound; the arrival past the limit fails the run with
/// [`SIGNAL_QUEUE_FULL`].
pub const MAX_QUEUED_SIGNALS: usize = 1_000;
pub use crate::ir::errors::SIGNAL_QUEUE_FULL;

impl Run {
    /// A run of `program`; created on the run's first activation (which holds InitializeWorkflow).
    pub fn new(program: Arc<Workflow>) -> Run {
        let wake = Arc::new(RootWake::default());
        let mut consumed = BTreeSet::new();
        program.walk(&mut |step| {
            consumed.extend(step.kind.wait_names().into_iter().map(String::from));
        });
        Run {
            consumed,
            sh: Arc::new(Shared::new(program)),
            phase: Phase::NotStarted,
            waker: Waker::from(wake.clone()),
            wake,
            cancel_requested: false,
            pending_fault: None,
            handlers: Vec::new(),
        }
    }

    /// Applies one activation's jobs, returns the commands to complete it with (possibly empty).
    /// Never panics; an internal error becomes a workflow-task failure.
    pub fn activate(&mut self, activation: &WorkflowActivation) -> Outcome {
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| self.apply(activation)));
        match result {
            Ok(Ok(commands)) => Outcome::Commands(commands),
            Ok(Err(message)) => Outcome::TaskFailure(message),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_string());
                Outcome::TaskFailure(format!("the Stave interpreter failed: {message}"))
            }
        }
    }

    /// Observable state for `stave describe` and metrics: current step names, status.
    pub fn status(&self) -> RunStatus {
        let state = match &self.phase {
            Phase::NotStarted => RunState::NotStarted,
            Phase::Running(_) | Phase::Draining(_) => RunState::Running,
            Phase::Unwinding(..) => RunState::Compensating,
            Phase::Done(state) => *state,
        };
        RunStatus {
            state,
            current_steps: self.sh.st().current_steps(),
        }
    }

    /// Records the coverage points this run reaches from now on (for `stave test`).
    pub fn enable_coverage(&mut self) {
        let mut st = self.sh.st();
        if st.coverage.is_none() {
            st.coverage = Some(BTreeSet::new());
        }
        self.sh.covering.store(true, Ordering::Relaxed);
    }

    /// The coverage points reached so far (empty unless [`Run::enable_coverage`] was called).
    pub fn coverage(&self) -> BTreeSet<CoveragePoint> {
        self.sh.st().coverage.clone().unwrap_or_default()
    }

    /// The program this run interprets.
    pub fn program(&self) -> &Arc<Workflow> {
        &self.sh.program
    }

    fn apply(&mut self, activation: &WorkflowActivation) -> Result<Vec<WorkflowCommand>, String> {
        let jobs: Vec<&Job> = activation
            .jobs
            .iter()
            .filter_map(|j| j.variant.as_ref())
            .collect();
        // Queries are not in history: their activations must not move the run's clock.
        if jobs.iter().any(|j| !matches!(j, Job::QueryWorkflow(_))) {
            let mut st = self.sh.st();
            if let Some(ts) = &activation.timestamp {
                st.set_now(ts.seconds * 1000 + i64::from(ts.nanos) / 1_000_000);
            }
            st.history_length = activation.history_length;
            st.continue_as_new_suggested = activation.continue_as_new_suggested;
        }
        // The start comes first whatever the order: signals-with-start need the state.
        for job in &jobs {
            if let Job::InitializeWorkflow(init) = job {
                self.sh.tick();
                self.initialize(init, &activation.run_id)?;
            }
        }
        let mut queries = Vec::new();
        for job in jobs {
            self.sh.tick();
            match job {
                Job::InitializeWorkflow(_) => {}
                Job::FireTimer(fire) => {
                    if let Some(slot) = self.sh.st().timers.get_mut(&fire.seq) {
                        slot.resolve(());
                    }
                }
                Job::ResolveActivity(resolve) => {
                    let mut st = self.sh.st();
                    if let (Some(slot), Some(result)) =
                        (st.activities.get_mut(&resolve.seq), &resolve.result)
                    {
                        slot.resolve(result.clone());
                    }
                }
                Job::ResolveChildWorkflowExecutionStart(start) => {
                    let mut st = self.sh.st();
                    if let (Some(slot), Some(status)) =
                        (st.children.get_mut(&start.seq), &start.status)
                    {
                        slot.resolve_start(status.clone());
                    }
                }
                Job::ResolveChildWorkflowExecution(done) => {
                    let mut st = self.sh.st();
                    if let (Some(slot), Some(result)) =
                        (st.children.get_mut(&done.seq), &done.result)
                    {
                        slot.resolve(result.clone());
                    }
                }
                Job::SignalWorkflow(signal) => self.signal(signal),
                Job::QueryWorkflow(query) => queries.push(query),
                Job::CancelWorkflow(_) => {
                    self.cancel_requested = true;
                    self.wake.0.store(true, Ordering::Relaxed);
                }
                Job::UpdateRandomSeed(seed) => self.sh.st().seed = seed.randomness_seed,
                Job::DoUpdate(update) => self.update(update),
                // Patches are the worker's business (version pinning); eviction is handled
                // by the worker dropping this run; nothing else is issued by Stave.
                Job::NotifyHasPatch(_)
                | Job::RemoveFromCache(_)
                | Job::ResolveSignalExternalWorkflow(_)
                | Job::ResolveRequestCancelExternalWorkflow(_)
                | Job::ResolveNexusOperationStart(_)
                | Job::ResolveNexusOperation(_) => {}
            }
        }
        self.drive()?;
        for query in queries {
            self.answer(query);
        }
        Ok(std::mem::take(&mut self.sh.st().commands))
    }

    fn initialize(&mut self, init: &InitializeWorkflow, run_id: &str) -> Result<(), String> {
        if !matches!(self.phase, Phase::NotStarted) {
            return Err("InitializeWorkflow arrived for a run that already started".into());
        }
        let program = self.sh.program.clone();
        let carried = match carry::from_init(init) {
            Some(Ok(c)) => Some(c),
            Some(Err(e)) => return Err(e),
            None => None,
        };
        // A run continued by an earlier release names the version-1 hash of the same program.
        if let Some(c) = &carried
            && c.program != program.hash
            && program.v1_alias().as_ref() != Some(&c.program)
        {
            return Err(format!(
                "this run continued a run of program {} but is being interpreted by program {} \
                 of `{}`: continued runs must be pinned to the program they carry",
                c.program, program.hash, program.name
            ));
        }
        {
            let mut st = self.sh.st();
            st.workflow_id = init.workflow_id.clone();
            st.seed = init.randomness_seed;
            let start_ms = init
                .start_time
                .as_ref()
                .map(|t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000)
                .unwrap_or(st.now_ms);
            st.info = json!({
                "id": init.workflow_id,
                "run_id": run_id,
                "type": init.workflow_type,
                "start_time": crate::runtime::time::format_rfc3339(start_ms),
                "attempt": init.attempt,
            });
            let mut steps = Map::new();
            program.walk(&mut |step| {
                if let Some(id) = &step.id {
                    steps.insert(id.clone(), Json::Null);
                }
            });
            st.steps = Json::Object(steps);
            st.resumable = carry::resumable_loops(&program);
            st.results_read = carry::results_read(&program);
        }
        let input = match payload::decode_args(&init.arguments) {
            Ok(input) => input,
            Err(e) => {
                self.fail_now(WfError::new(INVALID_INPUT, format!("input: {e}")).non_retryable());
                return Ok(());
            }
        };
        if carried.is_none()
            && let Some(schema) = &program.input_schema
        {
            let errors = crate::jsonschema::validate(schema, &input, "input");
            if !errors.is_empty() {
                let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
                let mut error = WfError::new(
                    INVALID_INPUT,
                    format!("invalid input of `{}`: {}", program.name, list.join("; ")),
                )
                .non_retryable();
                error.details = json!({"errors": list});
                self.fail_now(error);
                return Ok(());
            }
        }
        self.sh.st().input = input;
        let cx = Cx::root(self.sh.clone());
        match carried {
            Some(c) => self.restore(c),
            None => {
                for (name, value) in &program.vars {
                    match cx.eval(value, Site::Var(name)) {
                        Ok(v) => {
                            if let Json::Object(vars) = &mut self.sh.st().vars {
                                vars.insert(name.clone(), v);
                            }
                        }
                        Err(fault) => return self.finish(Err(fault)),
                    }
                }
            }
        }
        if let Err(fault) = exec::upsert_properties(&cx) {
            return self.finish(Err(fault));
        }
        let sh = self.sh.clone();
        self.phase = Phase::Running(Box::pin(async move {
            let program = sh.program.clone();
            let cx = Cx::root(sh);
            exec::exec_block(&cx, &program.steps).await
        }));
        self.wake.0.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// A continued run takes over the carried state and heads back to its loop.
    fn restore(&mut self, carry: Carry) {
        let program = self.sh.program.clone();
        let mut calls = HashMap::new();
        program.walk(&mut |step| {
            if let StepKind::Activity(call) = &step.kind
                && let Some(compensate) = &call.compensate
            {
                calls.insert(step.index, (step.name(), (**compensate).clone()));
            }
        });
        let mut st = self.sh.st();
        st.vars = carry.vars.clone();
        if let (Json::Object(steps), Json::Object(carried)) = (&mut st.steps, &carry.steps) {
            for (k, v) in carried {
                steps.insert(k.clone(), v.clone());
            }
        }
        st.signals = carry
            .signals
            .iter()
            .map(|(k, v)| (k.clone(), v.iter().cloned().collect()))
            .collect();
        st.compensations = carry
            .compensations
            .iter()
            .filter_map(|c| {
                calls.get(&c.step).map(|(name, call)| Compensation {
                    step_index: c.step,
                    step_name: name.as_str().into(),
                    call: call.clone(),
                    args: c.args.clone(),
                    summary: c.summary.clone(),
                    priority: c.priority.clone(),
                })
            })
            .collect();
        st.uuid_counter = carry.uuid_counter;
        st.generation = carry.generation;
        st.resume = Some(Resume {
            path: carry.path.iter().copied().collect(),
            carry,
        });
        self.sh.resuming.store(true, Ordering::Relaxed);
    }

    fn signal(&mut self, signal: &SignalWorkflow) {
        if matches!(self.phase, Phase::Done(_) | Phase::NotStarted) {
            return;
        }
        let name = signal.signal_name.as_str();
        let value = match payload::decode_args(&signal.input) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(signal = name, error = %e, "ignoring a signal with an unreadable payload");
                return;
            }
        };
        let program = self.sh.program.clone();
        if let Some(handler) = program.signals.iter().find(|h| h.name == name) {
            let cx = Cx::root(self.sh.clone()).bind("signal", value.clone());
            let mut values = Vec::with_capacity(handler.set.len());
            for (var, expr) in &handler.set {
                match cx.eval(expr, Site::Signal(name)) {
                    Ok(v) => values.push((var, v)),
                    Err(fault) => {
                        self.pending_fault.get_or_insert(fault);
                        self.wake.0.store(true, Ordering::Relaxed);
                        return;
                    }
                }
            }
            if let Json::Object(vars) = &mut self.sh.st().vars {
                for (var, v) in values {
                    vars.insert(var.clone(), v);
                }
            }
            if let Err(fault) = exec::upsert_properties(&cx) {
                self.pending_fault.get_or_insert(fault);
            }
        }
        self.arrive(name, value);
    }

    /// Queues an arrival for the `wait`s that consume its name and wakes them.
    fn arrive(&mut self, name: &str, value: Json) {
        let mut st = self.sh.st();
        // Arrivals no `wait` consumes would only pile up: their handler (if any) has run.
        if self.consumed.contains(name) {
            let queue = st.signals.entry(name.to_string()).or_default();
            if queue.len() >= MAX_QUEUED_SIGNALS {
                let error = WfError::new(
                    SIGNAL_QUEUE_FULL,
                    format!(
                        "signal `{name}` arrived with {MAX_QUEUED_SIGNALS} arrivals already waiting to be \
                         consumed by a `wait`; send it no faster than the workflow waits for it"
                    ),
                )
                .non_retryable();
                self.pending_fault.get_or_insert(Fault::error(error));
            } else {
                queue.push_back(value);
            }
        }
        st.wake_signal_waiters();
        drop(st);
        self.wake.0.store(true, Ordering::Relaxed);
    }

    /// Polls until no strand can move.
    fn drive(&mut self) -> Result<(), String> {
        loop {
            if matches!(self.phase, Phase::Running(_) | Phase::Draining(_)) {
                if let Some(fault) = self.pending_fault.take() {
                    // Dropping the main strand cancels whatever it had in flight.
                    self.phase = Phase::NotStarted;
                    self.abandon_handlers("the run failed");
                    self.finish(Err(fault))?;
                    continue;
                }
                if self.cancel_requested {
                    self.phase = Phase::NotStarted;
                    self.abandon_handlers("the run was cancelled");
                    self.begin_unwind(End::Cancel);
                    continue;
                }
            }
            if matches!(self.phase, Phase::Draining(_)) && self.handlers.is_empty() {
                if let Phase::Draining(result) =
                    std::mem::replace(&mut self.phase, Phase::NotStarted)
                {
                    self.finish(result)?;
                }
                continue;
            }
            if !self.wake.0.swap(false, Ordering::Relaxed) {
                return Ok(());
            }
            let waker = self.waker.clone();
            let mut cx = Context::from_waker(&waker);
            match std::mem::replace(&mut self.phase, Phase::NotStarted) {
                Phase::Running(mut fut) => match fut.as_mut().poll(&mut cx) {
                    Poll::Pending => self.phase = Phase::Running(fut),
                    Poll::Ready(result) => {
                        drop(fut);
                        match result {
                            // A run waits for its handlers before it completes or continues.
                            Ok(_) | Err(Fault::Return(_) | Fault::ContinueAsNew(_))
                                if !self.handlers.is_empty() =>
                            {
                                self.phase = Phase::Draining(result);
                            }
                            _ => {
                                self.abandon_handlers("the run failed");
                                self.finish(result)?;
                            }
                        }
                    }
                },
                Phase::Unwinding(mut fut, end) => match fut.as_mut().poll(&mut cx) {
                    Poll::Pending => self.phase = Phase::Unwinding(fut, end),
                    Poll::Ready(()) => {
                        drop(fut);
                        self.end(end);
                    }
                },
                other => self.phase = other,
            }
            if matches!(self.phase, Phase::Running(_) | Phase::Draining(_)) {
                self.poll_handlers(&mut cx)?;
            }
        }
    }

    /// The main strand ended: complete, unwind the saga, or continue as new.
    fn finish(&mut self, result: Result<Json, Fault>) -> Result<(), String> {
        match result {
            // Without `output` (or `return`) a workflow returns null, not its last result.
            Ok(_) => {
                let program = self.sh.program.clone();
                match &program.output {
                    None => self.complete(Json::Null),
                    Some(output) => {
                        let cx = Cx::root(self.sh.clone());
                        match cx.eval(output, Site::Output) {
                            Ok(value) => self.complete(value),
                            Err(fault) => return self.finish(Err(fault)),
                        }
                    }
                }
            }
            Err(Fault::Return(value)) => self.complete(value),
            Err(Fault::Error(error)) => self.begin_unwind(End::Fail(error)),
            Err(Fault::ContinueAsNew(mut carried)) => {
                let mut st = self.sh.st();
                // Update handlers the run waited for may have changed the state since.
                carried.take_state(&st);
                let mut headers = HashMap::new();
                let carried = serde_json::to_value(&*carried)
                    .map_err(|e| format!("cannot serialise the continue-as-new state: {e}"))?;
                headers.insert(CARRY_HEADER.to_string(), payload::encode(&carried));
                let command = ContinueAsNewWorkflowExecution {
                    workflow_type: self.sh.program.name.clone(),
                    arguments: vec![payload::encode(&st.input)],
                    headers,
                    ..Default::default()
                };
                st.push(Variant::ContinueAsNewWorkflowExecution(command));
                st.terminal = true;
                self.phase = Phase::Done(RunState::ContinuedAsNew);
            }
            Err(Fault::Internal(message)) => return Err(message),
        }
        Ok(())
    }

    fn complete(&mut self, value: Json) {
        let mut st = self.sh.st();
        st.push(Variant::CompleteWorkflowExecution(
            CompleteWorkflowExecution {
                result: Some(payload::encode(&value)),
            },
        ));
        st.terminal = true;
        self.phase = Phase::Done(RunState::Completed);
    }

    /// Fails the run before any step ran (bad input): no saga to unwind.
    fn fail_now(&mut self, error: WfError) {
        self.end(End::Fail(Box::new(error)));
    }

    /// Runs every compensation, newest first, then ends the run.
    fn begin_unwind(&mut self, end: End) {
        let compensations = std::mem::take(&mut self.sh.st().compensations);
        if compensations.is_empty() {
            self.end(end);
            return;
        }
        let sh = self.sh.clone();
        let fut: UnwindFut = Box::pin(async move {
            for c in compensations.into_iter().rev() {
                sh.cover(CoveragePoint::Compensated { step: c.step_index });
                let summary = ops::step_summary(
                    &format!("{} (compensation)", c.step_name),
                    c.summary.as_ref(),
                );
                let op = ops::ActivityOp::schedule(
                    &sh,
                    (c.step_index, c.step_name.clone()),
                    &c.call,
                    &c.args,
                    summary.as_ref(),
                    c.priority.as_ref(),
                );
                // A failed compensation does not stop the others: each gets its chance,
                // and the run still ends with the original error.
                let _ = op.await;
            }
        });
        self.phase = Phase::Unwinding(fut, end);
        self.wake.0.store(true, Ordering::Relaxed);
    }

    fn end(&mut self, end: End) {
        let mut st = self.sh.st();
        let state = match end {
            End::Fail(error) => {
                st.push(Variant::FailWorkflowExecution(FailWorkflowExecution {
                    failure: Some(error.to_failure()),
                }));
                RunState::Failed
            }
            End::Cancel => {
                st.push(Variant::CancelWorkflowExecution(
                    CancelWorkflowExecution::default(),
                ));
                RunState::Cancelled
            }
        };
        st.terminal = true;
        self.phase = Phase::Done(state);
    }
}

// A run is `Send`, so a worker can keep its runs in a map owned by a tokio task.
const _: fn() = || {
    fn is_send<T: Send>() {}
    is_send::<Run>();
};
