//! Workflow activations of one task queue: pin each run to its version, interpret, guard sizes.
//!
//! [`Workflows::activate`] is synchronous and server-free: the polling loop calls it once per
//! activation and completes the activation with what it returns — exactly once, eviction-only
//! activations included.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use prost::Message;
use temporalio_common::protos::coresdk::workflow_activation::{
    InitializeWorkflow, WorkflowActivation, workflow_activation_job::Variant as Job,
};
use temporalio_common::protos::coresdk::workflow_commands::{
    FailWorkflowExecution, ModifyWorkflowProperties, QueryResult, SetPatchMarker, WorkflowCommand,
    query_result, workflow_command::Variant as Command,
};
use temporalio_common::protos::coresdk::workflow_completion::{
    self, WorkflowActivationCompletion, workflow_activation_completion,
};
use temporalio_common::protos::temporal::api::common::v1::{Memo, Payload};
use temporalio_common::protos::temporal::api::failure::v1::{
    ApplicationFailureInfo, Failure, failure::FailureInfo,
};

use super::definitions::Definitions;
use crate::ir::Workflow;
use crate::ir::coverage::CoveragePoint;
use crate::runtime::activity::PAYLOAD_TOO_LARGE;
use crate::runtime::interpreter::{Outcome, Run, RunStatus};
use crate::runtime::payload;
use crate::runtime::versions::{
    MEMO_KEY, PROGRAM_MEMO_KEY, PROGRAM_PATCH, Pin, VersionStore, decode_program, encode_program,
};

/// Temporal's default per-payload limit (`limit.blobSize.error`), used until the namespace
/// tells the worker its own.
pub const DEFAULT_PAYLOAD_LIMIT: usize = 2 * 1024 * 1024;
/// Most bytes of commands one workflow-task completion may carry: gRPC's default message
/// limit (4 MiB) less room for the request's other fields. Each command can be under the
/// payload limit while a wide fan-out's commands together are not.
pub const COMPLETION_LIMIT: usize = 4 * 1024 * 1024 - 64 * 1024;

/// The workflow types served on one task queue and the state of their cached runs.
pub struct Workflows {
    task_queue: String,
    /// Current definitions, which new runs without a pin get (`stave dev` replaces them).
    current: Definitions,
    store: Arc<VersionStore>,
    runs: HashMap<String, Cached>,
    payload_limit: usize,
    /// Each program's `stave.program` memo payload, deflated once per version rather than
    /// once per run (deflating is most of a short run's first-task cost).
    recorded: std::sync::Mutex<HashMap<String, Payload>>,
    choice: ProgramChoice,
    /// Record the coverage points each new run reaches (`stave graph --run`).
    coverage: bool,
}

/// Which program a run executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgramChoice {
    /// The version the run is pinned to (the worker's rule).
    #[default]
    Pinned,
    /// The current definition of the run's type, whatever its pin says (`stave replay
    /// --current`: would this edit break runs if they were not pinned?). The recorded pin is
    /// still what the commands record, so only the program's own commands are compared.
    Current,
}

struct Cached {
    run: Run,
    pin: Pin,
    program: Arc<Workflow>,
    workflow_type: String,
}

/// A run seen for the first time whose pinned program this worker does not hold in memory:
/// the polling loop resolves it (store directory, the run's own record, the project files)
/// off the activation path, then activates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingProgram {
    pub workflow_type: String,
    pub workflow_id: String,
    pub run_id: String,
    pub pin: Pin,
}

impl Workflows {
    /// Serves `current` (each already recorded in `store`) on `task_queue`.
    pub fn new(
        task_queue: impl Into<String>,
        current: impl IntoIterator<Item = Arc<Workflow>>,
        store: Arc<VersionStore>,
    ) -> Workflows {
        let task_queue = task_queue.into();
        let current = Definitions::on_one_queue(&task_queue, current);
        Workflows::serving(task_queue, current, store)
    }

    /// Serves what `current` holds for `task_queue` at each new run's first task; whoever
    /// shares `current` may replace it (each version recorded in `store` first).
    pub fn serving(
        task_queue: impl Into<String>,
        current: Definitions,
        store: Arc<VersionStore>,
    ) -> Workflows {
        Workflows {
            task_queue: task_queue.into(),
            current,
            store,
            runs: HashMap::new(),
            payload_limit: DEFAULT_PAYLOAD_LIMIT,
            recorded: Default::default(),
            choice: ProgramChoice::Pinned,
            coverage: false,
        }
    }

    /// Records the coverage points (steps reached, branches taken) of every run started from
    /// now on, for [`Workflows::coverage`].
    pub fn enable_coverage(&mut self) {
        self.coverage = true;
    }

    /// The coverage points a cached run reached so far (empty unless enabled).
    pub fn coverage(&self, run_id: &str) -> Option<BTreeSet<CoveragePoint>> {
        self.runs.get(run_id).map(|c| c.run.coverage())
    }

    /// Chooses which program runs execute (default: their pinned version).
    pub fn set_program_choice(&mut self, choice: ProgramChoice) {
        self.choice = choice;
    }

    /// Uses the namespace's payload limit (from `Worker::validate`); 0 keeps the default.
    pub fn set_payload_limit(&mut self, bytes: usize) {
        if bytes > 0 {
            self.payload_limit = bytes;
        }
    }

    /// Number of runs whose state is cached.
    pub fn cached(&self) -> usize {
        self.runs.len()
    }

    /// The pin and status of a cached run (for the run's log lines, replay verdicts and tests).
    pub fn status(&self, run_id: &str) -> Option<(Pin, RunStatus)> {
        self.runs
            .get(run_id)
            .map(|c| (c.pin.clone(), c.run.status()))
    }

    /// Applies one activation; the returned completion must be sent to core.
    pub fn activate(&mut self, activation: &WorkflowActivation) -> WorkflowActivationCompletion {
        let run_id = activation.run_id.clone();
        let evicted = activation
            .jobs
            .iter()
            .any(|j| matches!(j.variant, Some(Job::RemoveFromCache(_))));
        if evicted {
            // Core sends eviction alone; the run's state goes, a replay rebuilds it if needed.
            self.runs.remove(&run_id);
            return WorkflowActivationCompletion::empty(run_id);
        }
        let (outcome, preamble) = match self.runs.get_mut(&run_id) {
            Some(cached) => (cached.run.activate(activation), Vec::new()),
            None => match self.start(activation) {
                Ok((cached, preamble)) => {
                    let cached = self.runs.entry(run_id.clone()).or_insert(cached);
                    (cached.run.activate(activation), preamble)
                }
                Err(message) => (Outcome::TaskFailure(message), Vec::new()),
            },
        };
        match outcome {
            Outcome::Commands(commands) => {
                let mut all = preamble;
                all.extend(commands);
                let workflow_type = self
                    .runs
                    .get(&run_id)
                    .map(|c| c.workflow_type.clone())
                    .unwrap_or_default();
                let all = self.carry_pin(&run_id, all);
                let all = self.guard_sizes(&workflow_type, all);
                successful(run_id, all)
            }
            Outcome::TaskFailure(message) => {
                tracing::warn!(run_id = %run_id, task_queue = %self.task_queue, "workflow task failed: {message}");
                WorkflowActivationCompletion::fail(
                    run_id,
                    Failure::application_failure(message, false),
                    None,
                )
            }
        }
    }

    /// Creates the state of a run seen for the first time: finds its pin, its program, and the
    /// commands that record the pin. Err is a workflow-task failure message.
    /// What the polling loop must resolve before `activation` can be applied: Some for a run
    /// not cached here whose pinned program is neither in memory nor in its start memo.
    pub fn missing_program(&self, activation: &WorkflowActivation) -> Option<MissingProgram> {
        if self.choice != ProgramChoice::Pinned || self.runs.contains_key(&activation.run_id) {
            return None;
        }
        let init = initialize(activation)?;
        if start_memo_field(init, PROGRAM_MEMO_KEY).is_some() {
            return None;
        }
        let notified = notified_patches(activation);
        let pin =
            memo_pin(init).or_else(|| notified.iter().find_map(|id| Pin::from_patch_id(id)))?;
        (!self.store.is_cached(&pin)).then(|| MissingProgram {
            workflow_type: init.workflow_type.clone(),
            workflow_id: init.workflow_id.clone(),
            run_id: activation.run_id.clone(),
            pin,
        })
    }

    fn start(
        &self,
        activation: &WorkflowActivation,
    ) -> Result<(Cached, Vec<WorkflowCommand>), String> {
        let init = initialize(activation).ok_or_else(|| {
            format!(
                "activation for run {} arrived without its start and no state is cached for it; \
                     the task is retried from the full history",
                activation.run_id
            )
        })?;
        let workflow_type = init.workflow_type.as_str();
        let from_memo = memo_pin(init);
        let notified = notified_patches(activation);
        let from_marker = notified.iter().find_map(|id| Pin::from_patch_id(id));
        let recorded = from_memo.clone().or(from_marker);
        let current = || {
            self.current
                .get(&self.task_queue, workflow_type)
                .ok_or_else(|| self.unknown(workflow_type))
        };
        let (pin, program) = match (self.choice, recorded) {
            (ProgramChoice::Pinned, Some(pin)) => {
                // A starter that recorded the program (stave start, schedules,
                // continue-as-new) makes the run self-contained.
                if !self.store.is_cached(&pin)
                    && let Some(recorded) = start_memo_field(init, PROGRAM_MEMO_KEY)
                {
                    match decode_program(recorded, &pin) {
                        Ok(program) => self.store.remember(program),
                        Err(e) => tracing::warn!(run_id = %activation.run_id, "{e}"),
                    }
                }
                let program = self
                    .store
                    .get(workflow_type, &pin)
                    .map_err(|e| e.to_string())?;
                (pin, program)
            }
            (ProgramChoice::Current, Some(pin)) => (pin, current()?),
            (_, None) => {
                let program = current()?;
                (Pin::of(&program), program)
            }
        };
        // As Temporal's SDKs do with patches: the marker is written on first execution, and
        // on replay only when history has it (core announced it), so a history recorded
        // without it (another semantics, a failed first task) replays without it too.
        let mut preamble = Vec::new();
        let mut memo = Memo::default();
        let patch_id = pin.patch_id();
        if !activation.is_replaying || notified.contains(&patch_id.as_str()) {
            preamble.push(patch_marker(patch_id));
            if from_memo.is_none() {
                memo.fields.insert(
                    MEMO_KEY.to_owned(),
                    payload::encode(&serde_json::Value::String(pin.to_string())),
                );
            }
        }
        // The program goes into the run's memo behind its own marker, so histories recorded
        // before programs were recorded replay without it.
        if !activation.is_replaying || notified.contains(&PROGRAM_PATCH) {
            preamble.push(patch_marker(PROGRAM_PATCH.to_owned()));
            if start_memo_field(init, PROGRAM_MEMO_KEY).is_none() {
                memo.fields
                    .insert(PROGRAM_MEMO_KEY.to_owned(), self.recorded_program(&program));
            }
        }
        if !memo.fields.is_empty() {
            preamble.push(command(Command::ModifyWorkflowProperties(
                ModifyWorkflowProperties {
                    upserted_memo: Some(memo),
                },
            )));
        }
        let mut run = Run::new(program.clone());
        if self.coverage {
            run.enable_coverage();
        }
        let cached = Cached {
            run,
            pin,
            program,
            workflow_type: workflow_type.to_owned(),
        };
        Ok((cached, preamble))
    }

    fn unknown(&self, workflow_type: &str) -> String {
        let known = self.current.names(&self.task_queue);
        let known = if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        };
        format!(
            "workflow type `{workflow_type}` is not defined in this project for task queue `{}` \
             (served here: {known}); the task is retried, and the run continues once a worker \
             that defines `{workflow_type}` polls `{}`",
            self.task_queue, self.task_queue
        )
    }

    /// Replaces commands carrying a payload over the limit: a query answer becomes a failed
    /// query; anything else fails the workflow with `PayloadTooLarge`, instead of a workflow
    /// task the server would reject again on every retry. Deterministic: replay makes the same
    /// replacement.
    fn guard_sizes(
        &self,
        workflow_type: &str,
        commands: Vec<WorkflowCommand>,
    ) -> Vec<WorkflowCommand> {
        let limit = self.payload_limit;
        let mut out = Vec::with_capacity(commands.len());
        // Query answers travel in their own responses; everything else in one completion.
        let mut completion = 0usize;
        for cmd in commands {
            let size = cmd.encoded_len();
            let is_query = matches!(cmd.variant, Some(Command::RespondToQuery(_)));
            if !is_query {
                completion += size;
            }
            if size <= limit && completion <= COMPLETION_LIMIT {
                out.push(cmd);
                continue;
            }
            let message = if size > limit {
                format!(
                    "{} in workflow `{workflow_type}` is {} — over the namespace's payload limit of {}; \
                     pass a reference (a URL or object key) instead of the data",
                    describe_command(cmd.variant.as_ref()),
                    mib(size),
                    mib(limit)
                )
            } else {
                format!(
                    "one workflow task of workflow `{workflow_type}` issues over {} of commands — more \
                     than a task completion may carry; start fewer activities at once (lower \
                     `concurrency` of a `foreach`) or pass references instead of data",
                    mib(COMPLETION_LIMIT)
                )
            };
            if let Some(Command::RespondToQuery(answer)) = &cmd.variant {
                out.push(command(Command::RespondToQuery(QueryResult {
                    query_id: answer.query_id.clone(),
                    variant: Some(query_result::Variant::Failed(Failure {
                        message,
                        ..Default::default()
                    })),
                })));
                continue;
            }
            // Keep what was issued before (the version marker), drop the rest, fail the run.
            let failure = Failure {
                message,
                failure_info: Some(FailureInfo::ApplicationFailureInfo(
                    ApplicationFailureInfo {
                        r#type: PAYLOAD_TOO_LARGE.to_owned(),
                        non_retryable: true,
                        ..Default::default()
                    },
                )),
                ..Default::default()
            };
            out.retain(|c: &WorkflowCommand| {
                matches!(
                    c.variant,
                    Some(Command::SetPatchMarker(_)) | Some(Command::ModifyWorkflowProperties(_))
                )
            });
            out.push(command(Command::FailWorkflowExecution(
                FailWorkflowExecution {
                    failure: Some(failure),
                },
            )));
            return out;
        }
        out
    }

    /// Continue-as-new of the same workflow type keeps the run's version: the pin rides along
    /// in the new run's start memo.
    /// The memo payload recording `program`, encoded on first use.
    fn recorded_program(&self, program: &Workflow) -> Payload {
        let mut recorded = self.recorded.lock().unwrap_or_else(|e| e.into_inner());
        recorded
            .entry(program.hash.clone())
            .or_insert_with(|| encode_program(program))
            .clone()
    }

    fn carry_pin(&self, run_id: &str, mut commands: Vec<WorkflowCommand>) -> Vec<WorkflowCommand> {
        let Some(cached) = self.runs.get(run_id) else {
            return commands;
        };
        for cmd in &mut commands {
            if let Some(Command::ContinueAsNewWorkflowExecution(can)) = &mut cmd.variant
                && (can.workflow_type.is_empty() || can.workflow_type == cached.workflow_type)
            {
                can.memo.entry(MEMO_KEY.to_owned()).or_insert_with(|| {
                    payload::encode(&serde_json::Value::String(cached.pin.to_string()))
                });
                can.memo
                    .entry(PROGRAM_MEMO_KEY.to_owned())
                    .or_insert_with(|| self.recorded_program(&cached.program));
            }
        }
        commands
    }
}

fn initialize(activation: &WorkflowActivation) -> Option<&InitializeWorkflow> {
    activation.jobs.iter().find_map(|j| match &j.variant {
        Some(Job::InitializeWorkflow(init)) => Some(init),
        _ => None,
    })
}

/// Patch ids core announced (markers already in the run's history).
fn notified_patches(activation: &WorkflowActivation) -> Vec<&str> {
    activation
        .jobs
        .iter()
        .filter_map(|j| match &j.variant {
            Some(Job::NotifyHasPatch(p)) => Some(p.patch_id.as_str()),
            _ => None,
        })
        .collect()
}

fn start_memo_field<'a>(init: &'a InitializeWorkflow, key: &str) -> Option<&'a Payload> {
    init.memo.as_ref()?.fields.get(key)
}

fn memo_pin(init: &InitializeWorkflow) -> Option<Pin> {
    match payload::decode(start_memo_field(init, MEMO_KEY)?) {
        Ok(serde_json::Value::String(text)) => Pin::parse(&text),
        _ => None,
    }
}

fn patch_marker(patch_id: String) -> WorkflowCommand {
    command(Command::SetPatchMarker(SetPatchMarker {
        patch_id,
        deprecated: false,
    }))
}

fn command(variant: Command) -> WorkflowCommand {
    WorkflowCommand {
        variant: Some(variant),
        ..Default::default()
    }
}

fn successful(run_id: String, commands: Vec<WorkflowCommand>) -> WorkflowActivationCompletion {
    WorkflowActivationCompletion {
        run_id,
        status: Some(workflow_activation_completion::Status::Successful(
            workflow_completion::Success {
                commands,
                ..Default::default()
            },
        )),
        ..Default::default()
    }
}

fn describe_command(variant: Option<&Command>) -> String {
    match variant {
        Some(Command::ScheduleActivity(a)) => {
            format!(
                "the input of activity `{}` (id `{}`)",
                a.activity_type, a.activity_id
            )
        }
        Some(Command::CompleteWorkflowExecution(_)) => "the workflow output".to_owned(),
        Some(Command::FailWorkflowExecution(_)) => "the workflow's failure".to_owned(),
        Some(Command::StartChildWorkflowExecution(c)) => {
            format!("the input of child workflow `{}`", c.workflow_type)
        }
        Some(Command::ContinueAsNewWorkflowExecution(_)) => "the continue-as-new state".to_owned(),
        Some(Command::RespondToQuery(_)) => "the query answer".to_owned(),
        Some(Command::SignalExternalWorkflowExecution(s)) => {
            format!("the signal `{}`", s.signal_name)
        }
        Some(Command::UpsertWorkflowSearchAttributes(_)) => "the search attributes".to_owned(),
        Some(Command::ModifyWorkflowProperties(_)) => "the memo".to_owned(),
        _ => "a command".to_owned(),
    }
}

fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests;
