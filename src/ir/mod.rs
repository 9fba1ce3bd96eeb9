//! The checked, serialisable, versioned program that the runtime interprets.
//!
//! Architecture invariant: the IR holds everything the runtime needs — durations in
//! milliseconds, task queues resolved, retry policies merged, expressions parsed — so the
//! runtime never sees YAML, the text form or the AST. Spans survive (`loc`, expression spans)
//! for error messages, but they are not part of a program's identity: the content hash is
//! taken over the IR with its position fields and source path removed (`hash.rs`).

pub mod coverage;
pub mod errors;
mod hash;
mod legacy;

pub use coverage::CoveragePoint;

use crate::expr::{Expr, TemplatePart};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// Version of the IR format; bumped on any incompatible change. Version 2 changed only the
/// content hash: positions are removed by type, never by key name inside data (`hash.rs`);
/// version-1 programs still load and verify with the hash they were pinned with (`legacy.rs`).
pub const IR_VERSION: u32 = 2;

/// Version of the interpreter's semantics; a run pins (content hash, semantics version).
pub const SEMANTICS_VERSION: u32 = 1;

/// Where a step was written: 1-based line and column in `Workflow::source`; 0:0 when unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Loc {
    pub line: u32,
    pub col: u32,
}

impl Loc {
    /// True for the position-free `0:0`, which is not serialised.
    pub fn is_unknown(&self) -> bool {
        *self == Loc::default()
    }
}

/// A value slot: a literal, an expression, an interpolated string, or data with expressions
/// inside. Lowering folds all-literal data into `Literal`, and CEL list/map literals with
/// constant string keys into `List`/`Map`, so both forms lower to the same value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    Literal(Json),
    Expr(Expr),
    Interp(Vec<TemplatePart>),
    List(Vec<Value>),
    Map(Vec<(String, Value)>),
}

impl Value {
    pub fn null() -> Value {
        Value::Literal(Json::Null)
    }

    pub fn as_literal(&self) -> Option<&Json> {
        match self {
            Value::Literal(v) => Some(v),
            _ => None,
        }
    }
}

/// One workflow file, checked and lowered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workflow {
    pub ir_version: u32,
    /// sha256 of the span-free canonical IR, hex; see [`Workflow::compute_hash`].
    pub hash: String,
    /// Path of the file it was compiled from, as given to the compiler.
    pub source: String,
    /// Temporal workflow type.
    pub name: String,
    pub description: Option<String>,
    /// Project queue name of the workflow task, and its Temporal task queue.
    pub queue: String,
    pub task_queue: String,
    pub execution_timeout_ms: Option<u64>,
    /// JSON Schema of the input, checked at start.
    pub input_schema: Option<Json>,
    /// Declared state and initial values, in declaration order.
    pub vars: Vec<(String, Value)>,
    pub signals: Vec<SignalHandler>,
    /// Temporal update handlers; absent from older programs (and from their hashes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub updates: Vec<UpdateHandler>,
    pub queries: Vec<(String, Value)>,
    pub steps: Vec<Step>,
    pub output: Option<Value>,
    pub schedules: Vec<Schedule>,
    pub search_attributes: Vec<(String, Value)>,
    pub memo: Vec<(String, Value)>,
    /// History length after which loops continue as new.
    pub continue_as_new_after: u64,
    /// The built-in status query includes the variables (`expose_status: true`); otherwise
    /// it answers only the run's state and current steps.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expose_status: bool,
    /// Number of steps (the largest `Step::index` + 1).
    pub step_count: u32,
    /// Priority of the workflow's runs, evaluated over `input` by the starter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalHandler {
    pub name: String,
    /// Assignments evaluated against the state before the signal, then applied together.
    pub set: Vec<(String, Value)>,
}

/// An update: validated (on first delivery, not on replay), then `set` applied like a signal
/// handler's, then `result` evaluated and returned to the caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateHandler {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validate: Option<Validator>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set: Vec<(String, Value)>,
    /// Run after `set`, as a strand of their own beside the main body; a `return` among them
    /// answers the update. Absent from the IR when empty (handlers without steps keep the
    /// hashes they had).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
    /// Evaluated after `set` and `steps`; null when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
}

/// A validator: `cond` false (or failing) rejects the update with `message`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validator {
    pub cond: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub id: String,
    pub spec: ScheduleSpec,
    /// IANA zone name, sent as `ScheduleSpec.timezone_name`: `timezone:`, else the zone of a
    /// `CRON_TZ=` prefix (lowering refuses the two when they differ), else `UTC`.
    pub timezone: String,
    pub overlap: Overlap,
    pub paused: bool,
    pub input: Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleSpec {
    /// A Temporal cron string, sent as `ScheduleSpec.cron_string` unchanged: 5 to 7 fields, a
    /// shorthand (`@daily`), or `@every 1h[/15m]`, which the server turns into an interval
    /// with a phase; a `# comment` may follow. Never a `CRON_TZ=`/`TZ=` prefix: lowering
    /// moves its zone to [`Schedule::timezone`] and keeps the rest, since the server refuses a
    /// prefix zone that differs from `timezone_name`.
    Cron(String),
    /// `every:`, sent as an `IntervalSpec` without a phase.
    EveryMs(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overlap {
    Skip,
    BufferOne,
    BufferAll,
    AllowAll,
    CancelOther,
    TerminateOther,
}

/// A step: a stable pre-order `index` (unique in the file), an optional id, a guard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub index: u32,
    pub id: Option<String>,
    /// When present and false, the step is skipped and its result is null.
    pub guard: Option<Value>,
    pub kind: StepKind,
    #[serde(default, skip_serializing_if = "Loc::is_unknown")]
    pub loc: Loc,
}

impl Step {
    /// The id, or `kind#index` for anonymous steps: how messages and metrics name it.
    pub fn name(&self) -> String {
        match &self.id {
            Some(id) => id.clone(),
            None => format!("{}#{}", self.kind.keyword(), self.index),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Activity(ActivityCall),
    Child(ChildCall),
    /// A plain sequence of steps (`steps:` without `if:`).
    Sequence(Vec<Step>),
    If {
        cond: Value,
        then: Vec<Step>,
        otherwise: Vec<Step>,
    },
    Switch {
        arms: Vec<SwitchArm>,
        default: Vec<Step>,
    },
    Parallel {
        branches: Vec<Branch>,
        race: bool,
    },
    Foreach {
        over: Value,
        item: String,
        concurrency: Option<u32>,
        steps: Vec<Step>,
    },
    While {
        cond: Value,
        max_iterations: u64,
        steps: Vec<Step>,
    },
    Wait {
        /// A signal or update name (the first of `any`/`all`).
        signal: String,
        /// The further names of `any`/`all`; absent from older programs.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        others: Vec<String>,
        #[serde(default, skip_serializing_if = "WaitMode::is_one")]
        mode: WaitMode,
        until: Option<Value>,
        timeout_ms: Option<u64>,
        on_timeout: OnTimeout,
    },
    Sleep(Sleep),
    Set(Vec<(String, Value)>),
    Try {
        steps: Vec<Step>,
        catches: Vec<Catch>,
    },
    Fail {
        error_type: Value,
        message: Value,
        details: Value,
    },
    Return(Value),
    Rethrow,
}

impl StepKind {
    /// The construct's keyword, as the YAML form spells it.
    pub fn keyword(&self) -> &'static str {
        match self {
            StepKind::Activity(_) => "activity",
            StepKind::Child(_) => "workflow",
            StepKind::Sequence(_) => "steps",
            StepKind::If { .. } => "if",
            StepKind::Switch { .. } => "switch",
            StepKind::Parallel { .. } => "parallel",
            StepKind::Foreach { .. } => "foreach",
            StepKind::While { .. } => "while",
            StepKind::Wait { .. } => "wait",
            StepKind::Sleep(_) => "sleep",
            StepKind::Set(_) => "set",
            StepKind::Try { .. } => "try",
            StepKind::Fail { .. } => "fail",
            StepKind::Return(_) => "return",
            StepKind::Rethrow => "rethrow",
        }
    }

    /// Nested step lists, in order (for walks that do not care about the construct).
    pub fn children(&self) -> Vec<&[Step]> {
        match self {
            StepKind::Sequence(s) => vec![s],
            StepKind::If {
                then, otherwise, ..
            } => vec![then, otherwise],
            StepKind::Switch { arms, default } => arms
                .iter()
                .map(|a| a.steps.as_slice())
                .chain([default.as_slice()])
                .collect(),
            StepKind::Parallel { branches, .. } => {
                branches.iter().map(|b| b.steps.as_slice()).collect()
            }
            StepKind::Foreach { steps, .. } | StepKind::While { steps, .. } => vec![steps],
            StepKind::Try { steps, catches } => std::iter::once(steps.as_slice())
                .chain(catches.iter().map(|c| c.steps.as_slice()))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The nested step lists, mutably, in the order of [`StepKind::children`].
    pub fn children_mut(&mut self) -> Vec<&mut Vec<Step>> {
        match self {
            StepKind::Sequence(s) => vec![s],
            StepKind::If {
                then, otherwise, ..
            } => vec![then, otherwise],
            StepKind::Switch { arms, default } => arms
                .iter_mut()
                .map(|a| &mut a.steps)
                .chain([default])
                .collect(),
            StepKind::Parallel { branches, .. } => {
                branches.iter_mut().map(|b| &mut b.steps).collect()
            }
            StepKind::Foreach { steps, .. } | StepKind::While { steps, .. } => vec![steps],
            StepKind::Try { steps, catches } => std::iter::once(steps)
                .chain(catches.iter_mut().map(|c| &mut c.steps))
                .collect(),
            _ => Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwitchArm {
    pub when: Value,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Branch {
    pub name: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catch {
    /// Error types that match; empty = any.
    pub errors: Vec<String>,
    pub when: Option<Value>,
    /// Name of the caught error in scope: `{type, message, details}`.
    pub name: String,
    pub steps: Vec<Step>,
}

/// How a `wait` treats its names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WaitMode {
    /// One name; the result is the payload.
    #[default]
    One,
    /// The first of several; the result is `{name, payload}`.
    Any,
    /// One arrival of each; the result is `{NAME: payload, ..}`.
    All,
}

impl WaitMode {
    pub fn is_one(&self) -> bool {
        *self == WaitMode::One
    }
}

impl StepKind {
    /// The message names a `wait` consumes, in the order written.
    pub fn wait_names(&self) -> Vec<&str> {
        match self {
            StepKind::Wait { signal, others, .. } => std::iter::once(signal.as_str())
                .chain(others.iter().map(String::as_str))
                .collect(),
            _ => Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnTimeout {
    /// Raise the catchable error `WaitTimeout`.
    Fail,
    /// Go on with a null result.
    Continue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sleep {
    ForMs(u64),
    /// A duration string (`"5m"`) or a number of seconds.
    For(Value),
    /// An RFC 3339 timestamp.
    Until(Value),
}

/// The argument(s) of an activity or child workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Args {
    /// One argument (Stave activities take one JSON input; null when absent).
    Input(Value),
    /// Positional arguments, for activities and workflows outside the project.
    Positional(Vec<Value>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityCall {
    /// Temporal activity type.
    pub activity: String,
    pub args: Args,
    /// Temporal task queue the activity is scheduled on.
    pub task_queue: String,
    pub start_to_close_ms: Option<u64>,
    pub schedule_to_close_ms: Option<u64>,
    pub schedule_to_start_ms: Option<u64>,
    pub heartbeat_ms: Option<u64>,
    /// None: Temporal's default policy (unlimited attempts).
    pub retry: Option<RetryPolicy>,
    pub summary: Option<Value>,
    pub compensate: Option<Box<ActivityCall>>,
    /// Absent when the file sets none (the activity inherits the workflow's): older IR, and
    /// its hash, stay as they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
}

/// Temporal's `Priority` of a task: its priority key (1 runs first; the server's default
/// range is 1–5), the fairness key it is balanced by (a tenant) and that key's weight. Each is
/// evaluated when the command is issued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Priority {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fairness: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RetryPolicy {
    pub initial_interval_ms: Option<u64>,
    pub backoff: Option<f64>,
    pub max_interval_ms: Option<u64>,
    /// 0 = unlimited, as in Temporal.
    pub max_attempts: u32,
    pub non_retryable: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildCall {
    /// Temporal workflow type of the child.
    pub workflow: String,
    pub args: Args,
    /// Child workflow id; None = `{parent id}/{step name}` (plus the iteration in loops).
    pub workflow_id: Option<Value>,
    pub task_queue: String,
    pub execution_timeout_ms: Option<u64>,
    pub parent_close: ParentClose,
    pub retry: Option<RetryPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParentClose {
    Terminate,
    Abandon,
    RequestCancel,
}

/// Project settings, lowered: queues with their limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub namespace: String,
    pub queues: Vec<Queue>,
    /// Where the activity worker reads secret values (`secrets:` of stave.yaml).
    #[serde(default, skip_serializing_if = "SecretSettings::is_default")]
    pub secrets: SecretSettings,
    /// Payload encryption (`encryption:` of stave.yaml): keys named by secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Encryption>,
    /// Where `http.request` may connect (`http:` of stave.yaml).
    #[serde(default, skip_serializing_if = "HttpSettings::is_default")]
    pub http: HttpSettings,
}

/// `http:` of stave.yaml: the hosts `http.request` may call, and whether they may resolve to
/// loopback, link-local or private addresses. The default calls any public host and no
/// private address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpSettings {
    /// Host names (`api.example.com`), `*.` suffix patterns (`*.internal.example`: any
    /// subdomain) or IP addresses; when not empty, no other host is called. A listed host
    /// may resolve to private addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_hosts: Vec<String>,
    /// Any allowed host may resolve to loopback, link-local or private addresses.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_private: bool,
}

impl HttpSettings {
    pub fn is_default(&self) -> bool {
        *self == HttpSettings::default()
    }
}

/// `secrets:` of stave.yaml: a directory of secret files, then environment variables.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretSettings {
    /// `DIR/NAME` holds secret NAME (a mounted Kubernetes secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
    /// Environment variables holding secrets start with this (default `STAVE_SECRET_`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_prefix: Option<String>,
}

impl SecretSettings {
    pub fn is_default(&self) -> bool {
        *self == SecretSettings::default()
    }
}

/// `encryption:` of stave.yaml: every payload Stave writes is encrypted with `key`; payloads
/// written with `key` or any of `decrypt_with` are read. Keys are secrets (32 random bytes,
/// base64); their names are the key ids written beside each payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encryption {
    pub key: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decrypt_with: Vec<String>,
}

impl Project {
    pub fn queue(&self, name: &str) -> Option<&Queue> {
        self.queues.iter().find(|q| q.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Queue {
    pub name: String,
    pub task_queue: String,
    pub max_concurrent_workflow_tasks: Option<u32>,
    pub max_concurrent_activities: Option<u32>,
    pub max_workers: Option<u32>,
    /// Activities per second for the whole task queue.
    pub rate_limit: Option<f64>,
}

/// Everything a worker loads: the project and every workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    pub ir_version: u32,
    pub project: Project,
    pub workflows: Vec<Workflow>,
}

/// Visits `steps` and the steps nested in them, depth first, in pre-order.
pub fn walk_steps<'a>(steps: &'a [Step], f: &mut impl FnMut(&'a Step)) {
    for step in steps {
        f(step);
        for child in step.kind.children() {
            walk_steps(child, f);
        }
    }
}

impl Workflow {
    /// Visits every step, depth first, in pre-order: the main body, then each update handler's.
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Step)) {
        walk_steps(&self.steps, f);
        for handler in &self.updates {
            walk_steps(&handler.steps, f);
        }
    }

    /// Visits every step mutably, in the order of [`Workflow::walk`].
    pub fn walk_mut(&mut self, f: &mut impl FnMut(&mut Step)) {
        fn go(steps: &mut [Step], f: &mut impl FnMut(&mut Step)) {
            for step in steps {
                f(step);
                for child in step.kind.children_mut() {
                    go(child, f);
                }
            }
        }
        go(&mut self.steps, f);
        for handler in &mut self.updates {
            go(&mut handler.steps, f);
        }
    }
}

/// A minimal program for unit tests of the stages that handle whole programs.
#[cfg(test)]
pub(crate) fn test_program(ir_version: u32, name: &str, output: Json) -> Workflow {
    let mut program: Workflow = serde_json::from_value(serde_json::json!({
        "ir_version": ir_version, "hash": "", "source": format!("{name}.stave.yaml"),
        "name": name, "description": null, "queue": "default", "task_queue": "default",
        "execution_timeout_ms": null, "input_schema": null, "vars": [], "signals": [],
        "queries": [], "steps": [], "output": {"literal": output}, "schedules": [],
        "search_attributes": [], "memo": [], "continue_as_new_after": 10000, "step_count": 0
    }))
    .unwrap_or_else(|e| panic!("the test program deserialises: {e}"));
    program.hash = program.compute_hash();
    program
}
