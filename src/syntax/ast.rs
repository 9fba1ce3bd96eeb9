//! The surface syntax tree that both the YAML form and the text form produce, with spans.
//!
//! It mirrors what the author wrote (durations already read, names unchecked); `check` resolves
//! names against the project and lowers it into `ir`.

use crate::diagnostics::{FileId, Span, Spanned};
use crate::expr::{Expr, Template};
use std::time::Duration;

/// A name as written, with its span.
pub type Name = Spanned<String>;

/// A value position: data with embedded templates (YAML) or bare expressions (text form).
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub kind: ValueKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A YAML string: a literal, exactly one `${ expr }`, or an interpolation.
    Str(Template),
    /// A bare expression (text form).
    Expr(Expr),
    List(Vec<Value>),
    Map(Vec<(Name, Value)>),
}

/// One workflow file: the workflows it defines and the fragments they share.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    pub file: FileId,
    pub span: Span,
    /// `stave: 1`, the language version (also copied into each workflow).
    pub version: Option<Spanned<i64>>,
    /// In the order written; a file defines at least one.
    pub workflows: Vec<Workflow>,
    /// Named lists of steps, inserted where a step says `use: NAME`.
    pub fragments: Vec<Fragment>,
}

impl File {
    /// The workflow written at byte `offset`, else the first.
    pub fn workflow_at(&self, offset: usize) -> Option<&Workflow> {
        self.workflows
            .iter()
            .find(|w| w.span.start as usize <= offset && offset <= w.span.end as usize)
            .or(self.workflows.first())
    }

    pub fn fragment(&self, name: &str) -> Option<&Fragment> {
        self.fragments.iter().find(|f| f.name.value == name)
    }
}

/// `fragments: NAME: [steps]`, text form `fragment NAME { steps }`: steps written once and
/// inserted, at lowering, wherever a step says `use: NAME`.
#[derive(Debug, Clone, PartialEq)]
pub struct Fragment {
    pub name: Name,
    pub steps: Vec<Step>,
    pub span: Span,
}

/// One workflow of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    pub file: FileId,
    pub span: Span,
    /// `stave: 1`, the language version.
    pub version: Option<Spanned<i64>>,
    pub name: Name,
    pub description: Option<Spanned<String>>,
    /// Project queue of the workflow task.
    pub queue: Option<Name>,
    /// Workflow execution timeout.
    pub timeout: Option<Spanned<Duration>>,
    /// JSON Schema of the workflow input.
    pub input: Option<Spanned<serde_json::Value>>,
    pub vars: Vec<(Name, Value)>,
    pub defaults: Option<ActivityOptions>,
    pub signals: Vec<Signal>,
    pub updates: Vec<Update>,
    pub queries: Vec<(Name, Value)>,
    pub steps: Vec<Step>,
    pub output: Option<Value>,
    pub schedules: Vec<Schedule>,
    pub search_attributes: Vec<(Name, Value)>,
    pub memo: Vec<(Name, Value)>,
    pub continue_as_new_after: Option<Spanned<u64>>,
    /// Priority of the workflow's runs, set by `stave start` (expressions over `input`).
    pub priority: Option<Value>,
    /// `expose_status: true`: the built-in `__stave_status` query includes the variables.
    pub expose_status: Option<Spanned<bool>>,
}

impl Workflow {
    /// A workflow with its name and nothing else, filled in clause by clause by the text
    /// form's readers.
    pub fn named(file: FileId, name: Name, span: Span) -> Workflow {
        Workflow {
            file,
            span,
            version: None,
            name,
            description: None,
            queue: None,
            timeout: None,
            input: None,
            vars: Vec::new(),
            defaults: None,
            signals: Vec::new(),
            updates: Vec::new(),
            queries: Vec::new(),
            steps: Vec::new(),
            output: None,
            schedules: Vec::new(),
            search_attributes: Vec::new(),
            memo: Vec::new(),
            continue_as_new_after: None,
            priority: None,
            expose_status: None,
        }
    }
}

/// `signals: NAME: { set: {...} }`: a handler run on every arrival.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    pub name: Name,
    /// The text form's `signal NAME(a, b)`: names the handler reads as `signal.a`, already
    /// rewritten so in `set`; kept so that hints can list them. Printers write `signal.a`.
    pub params: Vec<Name>,
    pub set: Vec<(Name, Value)>,
    pub span: Span,
}

/// `updates: NAME: { validate:, message:, set:, result: }`: a Temporal update handler.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub name: Name,
    /// The text form's `update add(amount)`: read as `update.amount`, already rewritten so.
    pub params: Vec<Name>,
    /// A condition on `update` and the state; false rejects the update before it is written
    /// to history.
    pub validate: Option<Value>,
    /// The rejection's message (may interpolate); a default names the validator.
    pub message: Option<Value>,
    pub set: Vec<(Name, Value)>,
    /// Steps run after `set` (activities, timers, waits…): the handler's own strand, beside
    /// the main body. A `return` among them ends the handler with its value.
    pub steps: Vec<Step>,
    /// What the caller receives, evaluated after `set` and `steps` (text form: a last
    /// `return`; see [`Update::normalise`]).
    pub result: Option<Value>,
    pub span: Span,
}

impl Update {
    /// One tree for one meaning, whichever form wrote it: a last step that is a plain
    /// `return` (no id, no guard) is the handler's `result`, as the text form reads it.
    pub fn normalise(&mut self) {
        if self.result.is_none()
            && let Some(last) = self.steps.last()
            && last.id.is_none()
            && last.when.is_none()
            && let StepKind::Return(_) = &last.kind
            && let Some(Step {
                kind: StepKind::Return(value),
                ..
            }) = self.steps.pop()
        {
            self.result = Some(value);
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub id: Name,
    pub cron: Option<Spanned<String>>,
    pub every: Option<Spanned<Duration>>,
    pub timezone: Option<Spanned<String>>,
    pub overlap: Option<Name>,
    pub paused: Option<Spanned<bool>>,
    pub input: Option<Value>,
    pub span: Span,
}

impl Schedule {
    /// A schedule with its id and no clauses yet.
    pub fn new(id: Name, span: Span) -> Schedule {
        Schedule {
            id,
            cron: None,
            every: None,
            timezone: None,
            overlap: None,
            paused: None,
            input: None,
            span,
        }
    }
}

/// Options shared by activity steps and `defaults:`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ActivityOptions {
    /// Project queue for the activity task.
    pub queue: Option<Name>,
    /// Raw Temporal task queue (activities served outside the project).
    pub task_queue: Option<Name>,
    /// Start-to-close timeout.
    pub timeout: Option<Spanned<Duration>>,
    pub schedule_to_close: Option<Spanned<Duration>>,
    pub schedule_to_start: Option<Spanned<Duration>>,
    pub heartbeat: Option<Spanned<Duration>>,
    pub retry: Option<Retry>,
    pub summary: Option<Value>,
    /// Temporal priority: a priority key, or `{key, fairness, weight}`.
    pub priority: Option<Value>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Retry {
    pub max_attempts: Option<Spanned<i64>>,
    pub initial_interval: Option<Spanned<Duration>>,
    pub backoff: Option<Spanned<f64>>,
    pub max_interval: Option<Spanned<Duration>>,
    pub non_retryable: Vec<Name>,
    pub span: Span,
}

/// One step; `if` and `id` are allowed on every kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub id: Option<Name>,
    /// `if:` — for a `Block`, its condition; for other kinds, a guard (skipped → null result).
    pub when: Option<Value>,
    pub kind: StepKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    Activity(ActivityCall),
    Workflow(ChildCall),
    /// `steps:` (with `if:` and optional `else:`), text form `if c { } else { }`.
    Block {
        steps: Vec<Step>,
        else_steps: Option<Vec<Step>>,
    },
    Switch {
        arms: Vec<SwitchArm>,
        default: Option<Vec<Step>>,
    },
    Parallel {
        branches: Vec<(Name, Vec<Step>)>,
        race: bool,
    },
    Foreach {
        over: Value,
        item: Option<Name>,
        concurrency: Option<Spanned<i64>>,
        steps: Vec<Step>,
    },
    While {
        cond: Value,
        max_iterations: Option<Spanned<i64>>,
        steps: Vec<Step>,
    },
    Wait {
        /// The message waited for: a signal or an update (the first, with `any`/`all`).
        signal: Name,
        /// The other names of `any`/`all`.
        others: Vec<Name>,
        mode: WaitMode,
        until: Option<Value>,
        timeout: Option<Spanned<Duration>>,
        on_timeout: Option<Name>,
    },
    Sleep(Sleep),
    Set(Vec<(Name, Value)>),
    Try {
        steps: Vec<Step>,
        catches: Vec<Catch>,
    },
    Fail {
        error_type: Value,
        message: Option<Value>,
        details: Option<Value>,
    },
    Return(Value),
    Rethrow,
    /// `use: NAME`: the steps of fragment NAME, inserted here when the file is lowered
    /// (wrapped in a block when the step has an `id` or `if`).
    Use(Name),
}

/// How a `wait` treats its names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WaitMode {
    /// `wait: NAME`: one message; the result is its payload.
    #[default]
    One,
    /// `wait: { any: [..] }`: the first to arrive; the result is `{name, payload}`.
    Any,
    /// `wait: { all: [..] }`: one of each; the result maps each name to its payload.
    All,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SwitchArm {
    pub when: Value,
    pub steps: Vec<Step>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Sleep {
    /// `sleep: 5m`
    For(Spanned<Duration>),
    /// `sleep: "${ expr }"` — a duration string or a number of seconds.
    Expr(Value),
    /// `sleep: { until: "${ timestamp }" }`
    Until(Value),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Catch {
    /// Error types; empty = any.
    pub errors: Vec<Name>,
    pub when: Option<Value>,
    /// Name of the caught error in scope (`err` when absent).
    pub name: Option<Name>,
    pub steps: Vec<Step>,
    pub span: Span,
}

/// `activity:` steps and `compensate:`.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityCall {
    pub activity: Name,
    pub input: Option<Value>,
    /// Positional arguments, for activities outside the project.
    pub args: Option<Spanned<Vec<Value>>>,
    pub options: ActivityOptions,
    pub compensate: Option<Box<ActivityCall>>,
}

/// `workflow:` steps: a child workflow.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildCall {
    pub workflow: Name,
    pub input: Option<Value>,
    pub args: Option<Spanned<Vec<Value>>>,
    /// The child's workflow id (`workflow_id:`); default derived from the parent's.
    pub workflow_id: Option<Value>,
    pub queue: Option<Name>,
    pub task_queue: Option<Name>,
    pub timeout: Option<Spanned<Duration>>,
    pub parent_close: Option<Name>,
    pub retry: Option<Retry>,
    pub priority: Option<Value>,
}

/// Visits every value of `steps` (guards, inputs, options, conditions, nested steps) with the
/// names the steps around it bind (loop items, caught errors) — for rewrites that must respect
/// shadowing, like the text form's message parameters.
pub fn for_each_value_mut(
    steps: &mut [Step],
    bound: &mut Vec<String>,
    f: &mut impl FnMut(&mut Value, &[String]),
) {
    fn call(
        c: &mut ActivityCall,
        bound: &mut Vec<String>,
        f: &mut impl FnMut(&mut Value, &[String]),
    ) {
        let args = c.args.iter_mut().flat_map(|a| a.value.iter_mut());
        let options = [&mut c.options.summary, &mut c.options.priority];
        for v in c
            .input
            .iter_mut()
            .chain(args)
            .chain(options.into_iter().flatten())
        {
            f(v, bound);
        }
        if let Some(comp) = &mut c.compensate {
            call(comp, bound, f);
        }
    }
    fn scoped(
        name: Option<&str>,
        steps: &mut [Step],
        bound: &mut Vec<String>,
        f: &mut impl FnMut(&mut Value, &[String]),
    ) {
        bound.extend(name.map(String::from));
        for_each_value_mut(steps, bound, f);
        if name.is_some() {
            bound.pop();
        }
    }
    for step in steps {
        if let Some(v) = &mut step.when {
            f(v, bound);
        }
        match &mut step.kind {
            StepKind::Activity(c) => call(c, bound, f),
            StepKind::Workflow(c) => {
                let args = c.args.iter_mut().flat_map(|a| a.value.iter_mut());
                let rest = [&mut c.workflow_id, &mut c.priority];
                for v in c
                    .input
                    .iter_mut()
                    .chain(args)
                    .chain(rest.into_iter().flatten())
                {
                    f(v, bound);
                }
            }
            StepKind::Block { steps, else_steps } => {
                for_each_value_mut(steps, bound, f);
                if let Some(e) = else_steps {
                    for_each_value_mut(e, bound, f);
                }
            }
            StepKind::Switch { arms, default } => {
                for arm in arms {
                    f(&mut arm.when, bound);
                    for_each_value_mut(&mut arm.steps, bound, f);
                }
                if let Some(d) = default {
                    for_each_value_mut(d, bound, f);
                }
            }
            StepKind::Parallel { branches, .. } => {
                for (_, b) in branches {
                    for_each_value_mut(b, bound, f);
                }
            }
            StepKind::Foreach {
                over, item, steps, ..
            } => {
                f(over, bound);
                let item = item
                    .as_ref()
                    .map_or("item", |i| i.value.as_str())
                    .to_string();
                scoped(Some(&item), steps, bound, f);
            }
            StepKind::While { cond, steps, .. } => {
                f(cond, bound);
                for_each_value_mut(steps, bound, f);
            }
            StepKind::Wait { until, .. } => {
                if let Some(v) = until {
                    f(v, bound);
                }
            }
            StepKind::Sleep(Sleep::Expr(v) | Sleep::Until(v)) | StepKind::Return(v) => f(v, bound),
            StepKind::Sleep(Sleep::For(_)) | StepKind::Rethrow | StepKind::Use(_) => {}
            StepKind::Set(set) => set.iter_mut().for_each(|(_, v)| f(v, bound)),
            StepKind::Try { steps, catches } => {
                for_each_value_mut(steps, bound, f);
                for c in catches {
                    let name = c
                        .name
                        .as_ref()
                        .map_or("err", |n| n.value.as_str())
                        .to_string();
                    bound.push(name);
                    if let Some(w) = &mut c.when {
                        f(w, bound);
                    }
                    for_each_value_mut(&mut c.steps, bound, f);
                    bound.pop();
                }
            }
            StepKind::Fail {
                error_type,
                message,
                details,
            } => {
                f(error_type, bound);
                for v in [message, details].into_iter().flatten() {
                    f(v, bound);
                }
            }
        }
    }
}

impl ChildCall {
    /// A call of `workflow` with its input and arguments, and no clauses yet.
    pub fn new(
        workflow: Name,
        input: Option<Value>,
        args: Option<Spanned<Vec<Value>>>,
    ) -> ChildCall {
        ChildCall {
            workflow,
            input,
            args,
            workflow_id: None,
            queue: None,
            task_queue: None,
            timeout: None,
            parent_close: None,
            retry: None,
            priority: None,
        }
    }
}
