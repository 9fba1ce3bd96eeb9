//! What expressions see: the run's data plus a strand's locals (loop variable, caught error,
//! a `foreach` iteration's own step results), and the replay-safe `now()`/`uuid()`.

use std::cell::Cell;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Map, Value as Json};

use crate::expr::{self, Bindings, Budget, Expr, Host, TemplatePart};
use crate::ir::{Step, Value, Workflow};

use super::failure::{EXPRESSION_ERROR, Fault, WfError};
use super::state::{Shared, State, uuid_from};

/// A strand's local scope, a chain from the innermost construct outwards.
#[derive(Default)]
pub struct Locals {
    pub parent: Option<Arc<Locals>>,
    /// A loop variable or a caught error's name and value.
    pub binding: Option<(String, Json)>,
    /// The error a `catch` caught, for `rethrow`.
    pub caught: Option<Arc<WfError>>,
    /// A `foreach` iteration's own step results: ids in the body are visible only inside it.
    pub overlay: Option<Mutex<Map<String, Json>>>,
    /// The iteration number of an enclosing loop (for default child workflow ids).
    pub iteration: Option<u64>,
}

impl Locals {
    fn ancestors(&self) -> impl Iterator<Item = &Locals> {
        std::iter::successors(Some(self), |l| l.parent.as_deref())
    }

    fn find(&self, name: &str) -> Option<&Json> {
        self.ancestors().find_map(|l| match &l.binding {
            Some((n, v)) if n == name => Some(v),
            _ => None,
        })
    }

    /// Iteration numbers of the enclosing loops, outermost first.
    pub fn iterations(&self) -> Vec<u64> {
        let mut all: Vec<u64> = self.ancestors().filter_map(|l| l.iteration).collect();
        all.reverse();
        all
    }

    /// The innermost caught error (for `rethrow`).
    pub fn caught(&self) -> Option<&Arc<WfError>> {
        self.ancestors().find_map(|l| l.caught.as_ref())
    }

    fn overlays(&self) -> Vec<&Mutex<Map<String, Json>>> {
        let mut all: Vec<_> = self
            .ancestors()
            .filter_map(|l| l.overlay.as_ref())
            .collect();
        all.reverse();
        all
    }

    fn innermost_overlay(&self) -> Option<&Mutex<Map<String, Json>>> {
        self.ancestors().find_map(|l| l.overlay.as_ref())
    }
}

/// Where an expression sits, for error messages.
#[derive(Clone, Copy)]
pub enum Site<'a> {
    Step(&'a Step),
    Var(&'a str),
    Output,
    Signal(&'a str),
    Update(&'a str),
    Validator(&'a str),
    Query(&'a str),
    SearchAttribute(&'a str),
    Memo(&'a str),
}

impl Site<'_> {
    pub fn describe(&self, program: &Workflow) -> String {
        match self {
            Site::Step(step) => format!(
                "step `{}` ({}:{}:{})",
                step.name(),
                program.source,
                step.loc.line,
                step.loc.col
            ),
            Site::Var(name) => format!("initial value of var `{name}`"),
            Site::Output => "workflow output".to_string(),
            Site::Signal(name) => format!("handler of signal `{name}`"),
            Site::Update(name) => format!("handler of update `{name}`"),
            Site::Validator(name) => format!("validator of update `{name}`"),
            Site::Query(name) => format!("query `{name}`"),
            Site::SearchAttribute(name) => format!("search attribute `{name}`"),
            Site::Memo(name) => format!("memo field `{name}`"),
        }
    }
}

/// A strand's context: the shared run and its locals. Cheap to clone.
#[derive(Clone)]
pub struct Cx {
    pub sh: Arc<Shared>,
    pub locals: Arc<Locals>,
}

impl Cx {
    pub fn root(sh: Arc<Shared>) -> Cx {
        Cx {
            sh,
            locals: Arc::new(Locals::default()),
        }
    }

    fn child(&self, locals: Locals) -> Cx {
        Cx {
            sh: self.sh.clone(),
            locals: Arc::new(Locals {
                parent: Some(self.locals.clone()),
                ..locals
            }),
        }
    }

    /// A scope with `name` bound to `value`.
    pub fn bind(&self, name: &str, value: Json) -> Cx {
        self.child(Locals {
            binding: Some((name.to_string(), value)),
            ..Locals::default()
        })
    }

    /// A catch clause's scope: the error bound under `name`, kept for `rethrow`.
    pub fn catch_scope(&self, name: &str, error: WfError) -> Cx {
        self.child(Locals {
            binding: Some((name.to_string(), error.to_json())),
            caught: Some(Arc::new(error)),
            ..Locals::default()
        })
    }

    /// A `foreach` iteration: the loop variable, the iteration number, and an overlay holding
    /// the body's step ids (null until they run).
    pub fn iteration(&self, var: &str, item: Json, index: u64, body_ids: &[String]) -> Cx {
        let overlay: Map<String, Json> =
            body_ids.iter().map(|id| (id.clone(), Json::Null)).collect();
        self.child(Locals {
            binding: Some((var.to_string(), item)),
            overlay: Some(Mutex::new(overlay)),
            iteration: Some(index),
            ..Locals::default()
        })
    }

    /// A `while` iteration: only its number (for default child workflow ids).
    pub fn loop_iteration(&self, index: u64) -> Cx {
        self.child(Locals {
            iteration: Some(index),
            ..Locals::default()
        })
    }

    /// Records a step's result where later expressions of the same scope find it.
    pub fn record(&self, id: &str, value: Json) {
        match self.locals.innermost_overlay() {
            Some(overlay) => {
                lock(overlay).insert(id.to_string(), value);
            }
            None => {
                if let Json::Object(steps) = &mut self.sh.st().steps {
                    steps.insert(id.to_string(), value);
                }
            }
        }
    }

    /// Evaluates a value slot in this scope.
    pub fn eval(&self, value: &Value, site: Site<'_>) -> Result<Json, Fault> {
        if let Value::Literal(v) = value {
            return Ok(v.clone());
        }
        let mut st = self.sh.st();
        let result = self.with_env(&mut st, |env, host| eval_value(value, env, host));
        result.map_err(|e| self.expression_error(site, &e))
    }

    /// Evaluates a condition; anything but a boolean is an expression error.
    pub fn eval_bool(&self, value: &Value, site: Site<'_>) -> Result<bool, Fault> {
        match self.eval(value, site)? {
            Json::Bool(b) => Ok(b),
            other => Err(self.error(
                site,
                &format!(
                    "condition must be a boolean, got {}",
                    crate::jsonschema::type_name(&other)
                ),
            )),
        }
    }

    /// Runs `f` with the state locked and this strand's overlays swapped into `steps`.
    pub fn with_env<R>(
        &self,
        st: &mut MutexGuard<'_, State>,
        f: impl FnOnce(&Env<'_>, &RunHost<'_>) -> R,
    ) -> R {
        let overlays = self.locals.overlays();
        let mut guards: Vec<MutexGuard<'_, Map<String, Json>>> =
            overlays.iter().map(|m| lock(m)).collect();
        for guard in guards.iter_mut() {
            swap_overlay(&mut st.steps, guard);
        }
        let (result, counter) = {
            let host = RunHost::new(st);
            let env = Env {
                st,
                locals: &self.locals,
            };
            (f(&env, &host), host.counter.get())
        };
        st.uuid_counter = counter;
        for guard in guards.iter_mut().rev() {
            swap_overlay(&mut st.steps, guard);
        }
        result
    }

    /// An `ExpressionError` naming the site and the expression.
    pub fn expression_error(&self, site: Site<'_>, failure: &EvalFailure) -> Fault {
        let text = format!(
            "{}: `{}`: {}",
            site.describe(&self.sh.program),
            failure.expr,
            failure.message
        );
        Fault::error(WfError::new(EXPRESSION_ERROR, text).non_retryable())
    }

    /// An `ExpressionError` about a value of the wrong shape at `site`.
    pub fn error(&self, site: Site<'_>, message: &str) -> Fault {
        let text = format!("{}: {message}", site.describe(&self.sh.program));
        Fault::error(WfError::new(EXPRESSION_ERROR, text).non_retryable())
    }
}

/// Swaps an overlay's entries with the same keys of `steps` (doing it twice restores both).
fn swap_overlay(steps: &mut Json, overlay: &mut Map<String, Json>) {
    let Json::Object(steps) = steps else { return };
    for (id, value) in overlay.iter_mut() {
        // Every id is pre-declared in `steps` at start; an unknown one stays local.
        if let Some(slot) = steps.get_mut(id) {
            std::mem::swap(slot, value);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Expression bindings: locals first, then `input`, `vars`, `steps`, `workflow`.
pub struct Env<'a> {
    pub st: &'a State,
    pub locals: &'a Locals,
}

impl Bindings for Env<'_> {
    fn lookup(&self, root: &str) -> Option<&Json> {
        if let Some(v) = self.locals.find(root) {
            return Some(v);
        }
        match root {
            "input" => Some(&self.st.input),
            "vars" => Some(&self.st.vars),
            "steps" => Some(&self.st.steps),
            "workflow" => Some(&self.st.info),
            _ => None,
        }
    }
}

/// `now()` is the workflow-task time; `uuid()` counts from the run's random seed.
pub struct RunHost<'a> {
    now: &'a str,
    seed: u64,
    pub counter: Cell<u64>,
}

impl<'a> RunHost<'a> {
    /// A host at the state's time and `uuid()` counter; whoever evaluates decides whether
    /// the counter it ends at is kept (steps) or dropped (queries, which change nothing).
    pub fn new(st: &'a State) -> RunHost<'a> {
        RunHost {
            now: &st.now_text,
            seed: st.seed,
            counter: Cell::new(st.uuid_counter),
        }
    }
}

impl Host for RunHost<'_> {
    fn now(&self) -> String {
        self.now.to_string()
    }

    fn uuid(&self) -> String {
        let n = self.counter.get();
        self.counter.set(n + 1);
        uuid_from(self.seed, n)
    }
}

/// A failed evaluation: the expression (canonical text) and what went wrong.
pub struct EvalFailure {
    pub expr: String,
    pub message: String,
}

/// Evaluates a value slot; on error, the failing expression with its error.
pub fn eval_value(value: &Value, env: &dyn Bindings, host: &dyn Host) -> Result<Json, EvalFailure> {
    let run = |e: &Expr| {
        let mut budget = Budget::default();
        expr::eval(e, env, host, &mut budget).map_err(|err| EvalFailure {
            expr: e.to_string(),
            message: err.message,
        })
    };
    match value {
        Value::Literal(v) => Ok(v.clone()),
        Value::Expr(e) => run(e),
        Value::Interp(parts) => {
            let mut out = String::new();
            for part in parts {
                match part {
                    TemplatePart::Text(t) => out.push_str(t),
                    TemplatePart::Expr(e) => match run(e)? {
                        Json::String(s) => out.push_str(&s),
                        other => out.push_str(&other.to_string()),
                    },
                }
            }
            Ok(Json::String(out))
        }
        Value::List(items) => items
            .iter()
            .map(|v| eval_value(v, env, host))
            .collect::<Result<Vec<_>, _>>()
            .map(Json::Array),
        Value::Map(entries) => {
            let mut map = Map::with_capacity(entries.len());
            for (k, v) in entries {
                map.insert(k.clone(), eval_value(v, env, host)?);
            }
            Ok(Json::Object(map))
        }
    }
}
