//! An in-process, virtual-time simulator: the real interpreter driven by activations built from a virtual clock instead of a server.
//!
//! `Simulator::run` plays one [`Case`]: it starts the case's workflow, feeds its `Run` (the
//! interpreter of `runtime::interpreter`, unchanged) the activations Temporal core would hand a
//! worker, and answers its commands the way the Temporal server and core would — activities by
//! asking the [`Mocks`], timers by moving a virtual clock, children by running the project's
//! programs in the same virtual time. Nothing reads the wall clock or sleeps: a case with a 24 h
//! wait ends in milliseconds, and the same case always gives the same [`SimResult`].
//!
//! What is reproduced, and where it was read from (server `temporalio/temporal` 1.31, core
//! `temporalio-sdk-core` 0.10.1):
//! - **Workflow tasks** (`world.rs`): every event due at one virtual instant goes into one
//!   activation, jobs ordered as core orders them (start, signals, then the rest in arrival
//!   order). Queries get activations of their own, after the task of their instant, and move
//!   neither the clock nor the history.
//! - **History length** (`world.rs`, approximate but monotone): a run starts at 1 event
//!   (started); each workflow task adds 3 (scheduled, started, completed) and
//!   `history_length` is the started event's id, as core reports it; each command recorded in
//!   history adds 1 (schedule activity, timer, child, cancel requests, markers, upserts, the
//!   closing command); an activity's result adds 2 (started + closed: retried attempts are not
//!   in history); a fired timer, a signal, a cancel request, a child's start and close add 1.
//!   The worker's own commands on a run's first task (two version markers, plus the memo
//!   upsert on a run that is not a continuation) are counted too, so `continue_as_new_after`
//!   triggers where it would on a server. The server's continue-as-new suggestion comes at
//!   4,096 events (its default); size is not modelled.
//! - **Activities** (`activity.rs`, `retry.rs`): attempts start the instant they are
//!   scheduled (no schedule-to-start latency, so that timeout never fires); the mock's delay
//!   is how long an attempt runs. Retry policy, timeouts and the failure each outcome gives
//!   the workflow follow the server exactly; see `retry.rs`. Heartbeats are not simulated
//!   (mocks cannot heartbeat), so a heartbeat timeout never fires, and an error's
//!   `next_retry_delay` cannot be set by a mock.
//! - **Children** (`child.rs`): mocked by type through [`Mocks::child`], or run for real as
//!   nested executions in the same virtual time, with their own retry policy, execution
//!   timeout, cancellation and parent-close policy. A type that is neither mocked nor in the
//!   project makes the case stuck (Temporal does not check types at start: the child would
//!   wait for a worker that defines it).
//! - **Continue-as-new and retries of a run** (`runs.rs`, `commands.rs`): a new run (new run
//!   id, history reset), its first task no sooner than one second after the previous run's
//!   first task, as the server enforces (`ContinueAsNewMinBackoff`).
//! - **Execution timeout** across continue-as-new, and the top workflow's input schema,
//!   checked as `stave start` checks it.
//! - **Workflow-task failures** (the interpreter's `TaskFailure`, options the server refuses):
//!   a server retries the task until the execution timeout; the case stops at once as
//!   [`SimStatus::Stuck`] with the message.
//!
//! The simulator runs the interpreter, not the whole worker: version pinning, the program
//! memo and the payload size guard of `worker::workflows` are not exercised. Timing has the
//! virtual clock's resolution, one millisecond.

mod activity;
mod child;
mod commands;
mod retry;
mod runs;
mod shapes;
mod world;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value as Json;

use crate::ir;
use crate::runtime::interpreter::CoveragePoint;

/// Virtual start of a case unless it says otherwise: 2026-01-01T00:00:00Z.
pub const DEFAULT_START_TIME_MS: i64 = 1_767_225_600_000;
/// How much virtual time a case may take unless it says otherwise: ten years of 365 days.
pub const DEFAULT_MAX_VIRTUAL_MS: u64 = 10 * 365 * 86_400_000;
/// Most events (workflow tasks, attempts, timers, messages) one case may process; past it the
/// case is [`SimStatus::Stuck`]. Bounds a program that loops forever in zero virtual time.
pub const MAX_EVENTS: u64 = 500_000;

/// The project's programs by workflow type: every workflow a case may start or a parent may
/// start as a child that is not mocked.
pub struct Simulator {
    programs: BTreeMap<String, Arc<ir::Workflow>>,
}

/// One scenario: which workflow, with what, and what happens to it from outside.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The workflow type (`workflow:` of a file).
    pub workflow: String,
    pub workflow_id: String,
    pub input: Json,
    /// Virtual epoch milliseconds of the start ([`DEFAULT_START_TIME_MS`] by default).
    pub start_time_ms: i64,
    /// Signals, updates, queries and cancellation at virtual offsets from the start.
    pub events: Vec<Timed>,
    /// Past this much virtual time the case gives up ([`SimStatus::Stuck`]).
    pub max_virtual_ms: u64,
}

impl Case {
    /// A case of `workflow` with `input`, id `{workflow}-test`, defaults otherwise.
    pub fn new(workflow: impl Into<String>, input: Json) -> Case {
        let workflow = workflow.into();
        Case {
            workflow_id: format!("{workflow}-test"),
            workflow,
            input,
            start_time_ms: DEFAULT_START_TIME_MS,
            events: Vec::new(),
            max_virtual_ms: DEFAULT_MAX_VIRTUAL_MS,
        }
    }
}

impl Default for Case {
    fn default() -> Case {
        Case::new(String::new(), Json::Null)
    }
}

/// An event from outside at a virtual offset from the start.
#[derive(Debug, Clone, PartialEq)]
pub struct Timed {
    pub at_ms: u64,
    pub event: Event,
}

/// What a client may do to a running workflow.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A signal with one argument (its payload).
    Signal { name: String, payload: Json },
    /// An update with one argument; its answer (or rejection) goes to [`SimResult::updates`].
    Update { name: String, payload: Json },
    /// A query; its answer goes to [`SimResult::queries`].
    Query { name: String },
    /// A cancellation request.
    Cancel,
}

/// What activities and children do in a case.
pub trait Mocks {
    /// One activity attempt. `step` is the step name from the `stave-step` header the
    /// interpreter puts on ScheduleActivity (see `runtime::logging::step_headers`).
    fn activity(&mut self, call: &ActivityAttempt) -> MockReply;
    /// A child workflow start: Some(reply) mocks it by type; None runs the project's program
    /// for real (a nested run in the same virtual time, with the same Mocks).
    fn child(&mut self, call: &ChildStart) -> Option<MockReply>;
}

/// One activity attempt, as a mock sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivityAttempt {
    pub activity: String,
    pub step: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The first argument; a list when the step passes several (`args:`).
    pub input: Json,
    /// Virtual offset of the attempt's start.
    pub at_ms: u64,
    /// The workflow that scheduled it (a child's own id for a child's activities).
    pub workflow_id: String,
}

/// A child workflow start, as a mock sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChildStart {
    pub workflow_type: String,
    pub workflow_id: String,
    pub input: Json,
    pub at_ms: u64,
}

/// What an activity attempt or a mocked child does.
#[derive(Debug, Clone, PartialEq)]
pub enum MockReply {
    /// Succeeds with `value` after `delay_ms`.
    Output { value: Json, delay_ms: u64 },
    /// Fails after `delay_ms` with an application error, retried by the retry policy unless
    /// `non_retryable` or its type is listed as non-retryable.
    Error {
        error_type: String,
        message: String,
        details: Json,
        non_retryable: bool,
        delay_ms: u64,
    },
    /// Never answers: the attempt's start-to-close (or schedule-to-close) timeout fires; a
    /// mocked child runs until its execution timeout, if it has one.
    Timeout,
}

/// How a case ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SimStatus {
    Completed {
        output: Json,
    },
    Failed {
        error_type: String,
        message: String,
        details: Json,
    },
    Cancelled,
    /// The workflow's execution timeout passed.
    TimedOut,
    /// Never started: the input fails the workflow's `input:` schema (as `stave start`
    /// checks it), or the case names a workflow the project does not have.
    Rejected {
        message: String,
    },
    /// Not finished and never will be: nothing left to happen, `max_virtual_ms` or
    /// [`MAX_EVENTS`] passed, or a workflow task failed (a server would retry it forever).
    Stuck {
        reason: String,
    },
}

impl SimStatus {
    /// The status as test files name it: `completed`, `failed`, `cancelled`, `timed_out`,
    /// `rejected` (and `stuck`, which no file expects).
    pub fn name(&self) -> &'static str {
        match self {
            SimStatus::Completed { .. } => "completed",
            SimStatus::Failed { .. } => "failed",
            SimStatus::Cancelled => "cancelled",
            SimStatus::TimedOut => "timed_out",
            SimStatus::Rejected { .. } => "rejected",
            SimStatus::Stuck { .. } => "stuck",
        }
    }

    /// One line for reports, without the output: "failed: CardDeclined: declined".
    pub fn summary(&self) -> String {
        match self {
            SimStatus::Failed {
                error_type,
                message,
                ..
            } => format!("failed: {error_type}: {message}"),
            SimStatus::Rejected { message } => format!("rejected: {message}"),
            SimStatus::Stuck { reason } => format!("stuck: {reason}"),
            SimStatus::TimedOut => "timed out".into(),
            other => other.name().into(),
        }
    }
}

/// One activity attempt and how it went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttemptRecord {
    pub workflow_id: String,
    pub activity: String,
    pub step: String,
    pub attempt: u32,
    pub input: Json,
    /// Virtual offset of the attempt's start.
    pub at_ms: u64,
    /// Virtual offset of its end; None while unfinished.
    pub end_ms: Option<u64>,
    pub outcome: AttemptOutcome,
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AttemptOutcome {
    Completed {
        output: Json,
    },
    Failed {
        error_type: String,
        message: String,
    },
    /// `StartToClose` or `ScheduleToClose`.
    TimedOut {
        timeout_type: String,
    },
    /// The workflow cancelled the activity while the attempt ran (its answer is dropped).
    Cancelled,
    /// The run closed, or the case ended, first.
    Unfinished,
}

/// A query and its answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryRecord {
    pub at_ms: u64,
    pub name: String,
    pub result: Result<Json, String>,
}

/// An update and its outcome: the handler's result, or the rejection's message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpdateRecord {
    pub at_ms: u64,
    pub name: String,
    pub result: Result<Json, String>,
}

/// A child workflow some run started.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChildRecord {
    pub workflow_type: String,
    pub workflow_id: String,
    pub parent_workflow_id: String,
    pub mocked: bool,
    pub at_ms: u64,
    pub status: ChildStatus,
}

/// Where a child ended up.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ChildStatus {
    /// Still running when the case ended (or abandoned by its closed parent).
    Running,
    Completed {
        output: Json,
    },
    Failed {
        error_type: String,
        message: String,
        details: Json,
    },
    Cancelled,
    TimedOut,
    /// Terminated when its parent closed (parent-close policy `terminate`).
    Terminated,
    /// The start failed (`WorkflowAlreadyExists`: a running workflow has the id).
    StartFailed {
        cause: String,
    },
}

/// Everything a case did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimResult {
    pub status: SimStatus,
    /// Virtual duration from the start to the end (or to where the case gave up).
    pub virtual_ms: u64,
    /// Every activity attempt, in start order, children's included.
    pub attempts: Vec<AttemptRecord>,
    pub queries: Vec<QueryRecord>,
    pub updates: Vec<UpdateRecord>,
    pub children: Vec<ChildRecord>,
    /// Runs of the top workflow: 1 + continue-as-new count.
    pub runs: u32,
    /// Simulated history length at the end of each run of the top workflow.
    pub history_lengths: Vec<u32>,
    /// A human-readable timeline, for failure reports.
    pub trace: Vec<String>,
    /// Coverage points reached, per workflow type, over every run (continuations, children).
    pub coverage: BTreeMap<String, BTreeSet<CoveragePoint>>,
}

impl SimResult {
    /// The result of a case that never started: its input fails the workflow's schema.
    pub fn rejected(message: String) -> SimResult {
        SimResult {
            status: SimStatus::Rejected { message },
            virtual_ms: 0,
            attempts: Vec::new(),
            queries: Vec::new(),
            updates: Vec::new(),
            children: Vec::new(),
            runs: 0,
            history_lengths: Vec::new(),
            trace: Vec::new(),
            coverage: BTreeMap::new(),
        }
    }
}

impl Simulator {
    /// A simulator of these programs; a later program of the same name replaces an earlier one.
    pub fn new(programs: impl IntoIterator<Item = Arc<ir::Workflow>>) -> Simulator {
        Simulator {
            programs: programs.into_iter().map(|p| (p.name.clone(), p)).collect(),
        }
    }

    /// Every program, by workflow type.
    pub fn programs(&self) -> impl Iterator<Item = &Arc<ir::Workflow>> {
        self.programs.values()
    }

    /// The program of a workflow type.
    pub fn program(&self, workflow_type: &str) -> Option<&Arc<ir::Workflow>> {
        self.programs.get(workflow_type)
    }

    /// Plays one case to its end. Deterministic: the same case and mock replies give the
    /// same result. Never panics, whatever the program or the mocks do.
    pub fn run(&self, case: &Case, mocks: &mut dyn Mocks) -> SimResult {
        let Some(program) = self.programs.get(&case.workflow) else {
            let known: Vec<&str> = self.programs.keys().map(String::as_str).collect();
            return SimResult::rejected(format!(
                "unknown workflow `{}`; the project has: {}",
                case.workflow,
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ));
        };
        if let Some(schema) = &program.input_schema {
            let errors = crate::jsonschema::validate(schema, &case.input, "input");
            if !errors.is_empty() {
                let problems: Vec<String> = errors.iter().map(ToString::to_string).collect();
                return SimResult::rejected(format!(
                    "invalid input for `{}`: {}",
                    program.name,
                    problems.join("; ")
                ));
            }
        }
        world::World::new(&self.programs, mocks, case).play(program.clone(), case)
    }
}
