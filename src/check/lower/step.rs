//! Steps: each kind lowered in turn, step ids made visible to the expressions that follow.

use super::scope::Scope;
use super::value::lower_value;
use super::{Lowerer, ms};
use crate::diagnostics::{Code, Diagnostic, Spanned, did_you_mean, list_names};
use crate::expr::Ty;
use crate::expr::types::{FieldTy, ObjectTy, Ran};
use crate::ir;
use crate::syntax::ast::{self, Name};
use crate::syntax::duration;
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Step ids (with their result types) that escape a nested block into the enclosing one.
type Escaped = BTreeMap<String, FieldTy>;

impl Lowerer<'_> {
    /// Lowers a block; ids of its steps become visible in `scope` as they complete.
    pub(super) fn block(&mut self, steps: &[ast::Step], scope: &mut Scope) -> Vec<ir::Step> {
        steps.iter().map(|s| self.step(s, scope)).collect()
    }

    /// Lowers a nested block; its ids are visible inside it and returned, not left in `scope`.
    fn nested(&mut self, steps: &[ast::Step], scope: &mut Scope) -> (Vec<ir::Step>, Escaped) {
        let mark = scope.mark();
        let lowered = self.block(steps, scope);
        (lowered, scope.take_since(mark))
    }

    /// Lowers one step, then makes its id (and ids escaping its nested blocks) visible to the
    /// steps after it.
    fn step(&mut self, step: &ast::Step, scope: &mut Scope) -> ir::Step {
        let index = self.next_index;
        self.next_index += 1;
        if let Some(id) = &step.id {
            self.step_id(id);
        }
        let mut guard = step
            .when
            .as_ref()
            .map(|w| self.condition(w, scope, "a condition"));
        let conditional = guard.is_some();
        let conditioned = scope.condition_on(step.when.iter().flat_map(step_refs));
        // Ids of nested steps that escape, and whether they surely ran.
        let mut escaped: Escaped = BTreeMap::new();
        let mut maybe = conditional;
        let mut result_ty = Ty::Dyn;
        let kind = match &step.kind {
            ast::StepKind::Activity(call) => {
                let (call, ty) = self.activity(call, step.id.as_ref(), scope, true);
                result_ty = ty;
                ir::StepKind::Activity(call)
            }
            ast::StepKind::Workflow(call) => ir::StepKind::Child(self.child(call, scope)),
            ast::StepKind::Block { steps, else_steps } => {
                let else_steps = else_steps.as_deref();
                self.if_or_sequence(step, steps, else_steps, guard.take(), scope, &mut escaped)
            }
            ast::StepKind::Switch { arms, default } => {
                maybe = true;
                self.switch(arms, default.as_deref(), scope, &mut escaped)
            }
            ast::StepKind::Parallel { branches, race } => {
                let (kind, ty) = self.parallel(branches, *race, scope, &mut escaped);
                result_ty = ty;
                kind
            }
            ast::StepKind::Foreach {
                over,
                item,
                concurrency,
                steps,
            } => {
                result_ty = Ty::List(Box::new(Ty::Dyn));
                self.foreach(over, item.as_ref(), concurrency.as_ref(), steps, scope)
            }
            ast::StepKind::While {
                cond,
                max_iterations,
                steps,
            } => {
                maybe = true;
                let max_iterations = max_iterations.as_ref();
                self.while_loop(step, cond, max_iterations, steps, scope, &mut escaped)
            }
            ast::StepKind::Wait {
                signal,
                others,
                mode,
                until,
                timeout,
                on_timeout,
            } => self.wait(
                step,
                (signal, others, *mode),
                until.as_ref(),
                timeout.as_ref(),
                on_timeout.as_ref(),
                scope,
            ),
            ast::StepKind::Sleep(sleep) => ir::StepKind::Sleep(self.sleep(sleep, scope)),
            ast::StepKind::Set(set) => ir::StepKind::Set(self.assignments(set, scope)),
            ast::StepKind::Try { steps, catches } => {
                self.try_catch(steps, catches, scope, &mut escaped)
            }
            ast::StepKind::Fail {
                error_type,
                message,
                details,
            } => ir::StepKind::Fail {
                error_type: self.value(error_type, scope),
                message: message
                    .as_ref()
                    .map_or(ir::Value::Literal(Json::String(String::new())), |m| {
                        self.value(m, scope)
                    }),
                details: details
                    .as_ref()
                    .map_or(ir::Value::null(), |d| self.value(d, scope)),
            },
            ast::StepKind::Return(v) => ir::StepKind::Return(self.value(v, scope)),
            ast::StepKind::Rethrow => {
                if !scope.in_catch {
                    self.error(
                        Diagnostic::new(
                            Code::E042,
                            step.span,
                            "`rethrow` outside a `catch` clause",
                        )
                        .help("move it into a `catch` clause's steps, or use `fail`"),
                    );
                }
                ir::StepKind::Rethrow
            }
            // `check::fragments` expands every `use` before lowering and reports those it
            // cannot (E052, E053): one left here inserts nothing.
            ast::StepKind::Use(_) => ir::StepKind::Sequence(Vec::new()),
        };
        scope.end_condition(conditioned);
        for (k, mut v) in escaped {
            if maybe {
                v.ran = v.ran.may_skip(&k);
            }
            scope.add_step(k, v);
        }
        if let Some(id) = &step.id {
            let ran = if conditional || matches!(kind, ir::StepKind::If { .. }) {
                Ran::Maybe(id.value.clone())
            } else {
                Ran::Surely
            };
            let ty = if matches!(
                kind,
                ir::StepKind::If { .. } | ir::StepKind::Switch { .. } | ir::StepKind::Try { .. }
            ) {
                Ty::Dyn
            } else {
                result_ty
            };
            if let Some(index) = &mut self.index {
                index.results.insert(
                    id.value.clone(),
                    FieldTy {
                        ty: ty.clone(),
                        ran: ran.clone(),
                    },
                );
            }
            scope.add_step(id.value.clone(), FieldTy { ty, ran });
        }
        ir::Step {
            index,
            id: step.id.as_ref().map(|i| i.value.clone()),
            guard,
            kind,
            loc: self.loc(step.span),
        }
    }

    /// A step id must be an identifier, unique in the whole file.
    fn step_id(&mut self, id: &Name) {
        self.check_ident(id, "step id");
        if let Some(first) = self.step_ids.get(&id.value).copied() {
            self.error(
                Diagnostic::new(
                    Code::E034,
                    id.span,
                    format!("duplicate step id `{}`", id.value),
                )
                .label("second use")
                .with_label(first, "first used here")
                .help("step ids are unique in a workflow (fragments it uses included): rename one of them"),
            );
        } else {
            self.step_ids.insert(id.value.clone(), id.span);
        }
    }

    /// `steps:` with an `if:` (the guard becomes the condition) or a plain sequence.
    fn if_or_sequence(
        &mut self,
        step: &ast::Step,
        steps: &[ast::Step],
        else_steps: Option<&[ast::Step]>,
        guard: Option<ir::Value>,
        scope: &mut Scope,
        escaped: &mut Escaped,
    ) -> ir::StepKind {
        let (then, a) = self.nested(steps, scope);
        match guard {
            Some(cond) => {
                let else_steps = else_steps.unwrap_or(&[]);
                let (otherwise, b) = self.nested(else_steps, scope);
                // A branch that always ends the run leaves its ids null after the `if`,
                // when the other branch lets the run reach that point.
                let (then_ends, else_ends) = (ends_abruptly(steps), ends_abruptly(else_steps));
                escaped.extend(never_if(a, then_ends && !else_ends));
                escaped.extend(never_if(b, else_ends && !then_ends));
                ir::StepKind::If {
                    cond,
                    then,
                    otherwise,
                }
            }
            None => {
                escaped.extend(a);
                if let Some(e) = else_steps {
                    let at = e.first().map_or(step.span, |s| s.span);
                    self.error(
                        Diagnostic::new(Code::E006, at, "`else` without `if`")
                            .help("add `if: \"${ cond }\"` to the step, or drop `else`"),
                    );
                }
                ir::StepKind::Sequence(then)
            }
        }
    }

    fn switch(
        &mut self,
        arms: &[ast::SwitchArm],
        default: Option<&[ast::Step]>,
        scope: &mut Scope,
        escaped: &mut Escaped,
    ) -> ir::StepKind {
        let mut lowered = Vec::new();
        let mut ids = Vec::new();
        // A case runs when its condition holds and every earlier one did not: all of them
        // decide it, and the default.
        let mut conditioned = Vec::new();
        for arm in arms {
            let when = self.condition(&arm.when, scope, "a switch case's condition");
            conditioned.push(scope.condition_on(step_refs(&arm.when)));
            let (steps, a) = self.nested(&arm.steps, scope);
            ids.push((a, ends_abruptly(&arm.steps)));
            lowered.push(ir::SwitchArm { when, steps });
        }
        let default_steps = default.unwrap_or(&[]);
        let (default, b) = self.nested(default_steps, scope);
        ids.push((b, ends_abruptly(default_steps)));
        for saved in conditioned.into_iter().rev() {
            scope.end_condition(saved);
        }
        // A case that always ends the run leaves its ids null after the `switch`, when
        // another case (or no case: the default, even an empty one) goes on.
        let ending = ids.iter().filter(|(_, ends)| *ends).count();
        for (a, ends) in ids {
            escaped.extend(never_if(a, ends && ending < arms.len() + 1));
        }
        ir::StepKind::Switch {
            arms: lowered,
            default,
        }
    }

    /// Returns the step with the type of its result: an object of the branches' results,
    /// unless it is a race.
    fn parallel(
        &mut self,
        branches: &[(Name, Vec<ast::Step>)],
        race: bool,
        scope: &mut Scope,
        escaped: &mut Escaped,
    ) -> (ir::StepKind, Ty) {
        let mut names = BTreeSet::new();
        let mut lowered = Vec::new();
        let mut fields = BTreeMap::new();
        for (name, steps) in branches {
            self.check_ident(name, "branch name");
            if !names.insert(name.value.clone()) {
                self.error(Diagnostic::new(
                    Code::E003,
                    name.span,
                    format!("branch `{}` is declared twice", name.value),
                ));
            }
            // Branches run concurrently: none sees another's steps. A race cancels the
            // losers wherever they are, even between a step and the `fail` after it.
            let (steps, a) = self.nested(steps, scope);
            escaped.extend(a.into_iter().map(|(k, mut v)| {
                if race {
                    v.ran = v.ran.at_most_maybe(&k);
                }
                (k, v)
            }));
            fields.insert(name.value.clone(), FieldTy::new(Ty::Dyn));
            lowered.push(ir::Branch {
                name: name.value.clone(),
                steps,
            });
        }
        let ty = if race {
            Ty::Dyn
        } else {
            Ty::Object(ObjectTy {
                fields,
                closed: true,
                origin: "the parallel step's branches".into(),
            })
        };
        let kind = ir::StepKind::Parallel {
            branches: lowered,
            race,
        };
        (kind, ty)
    }

    fn foreach(
        &mut self,
        over: &ast::Value,
        item: Option<&Name>,
        concurrency: Option<&Spanned<i64>>,
        steps: &[ast::Step],
        scope: &mut Scope,
    ) -> ir::StepKind {
        let over_refs = step_refs(over);
        let over = self.list(over, scope, "what a `foreach` iterates over");
        let item_name = item.map_or_else(
            || "item".to_string(),
            |i| {
                self.check_ident(i, "loop variable");
                i.value.clone()
            },
        );
        let concurrency = concurrency.and_then(|c| {
            if c.value < 1 || c.value > 10_000 {
                self.error(
                    Diagnostic::new(
                        Code::E044,
                        c.span,
                        "`concurrency` must be between 1 and 10000",
                    )
                    .help("write e.g. `concurrency: 10`"),
                );
                None
            } else {
                Some(c.value as u32)
            }
        });
        let previous = scope.bind_local(&item_name, Ty::Dyn);
        // Ids inside the body are visible only inside the body, which runs once per item.
        let conditioned = scope.condition_on(over_refs);
        let (steps, _) = self.nested(steps, scope);
        scope.end_condition(conditioned);
        scope.restore_local(&item_name, previous);
        ir::StepKind::Foreach {
            over,
            item: item_name,
            concurrency,
            steps,
        }
    }

    fn while_loop(
        &mut self,
        step: &ast::Step,
        cond: &ast::Value,
        max_iterations: Option<&Spanned<i64>>,
        steps: &[ast::Step],
        scope: &mut Scope,
        escaped: &mut Escaped,
    ) -> ir::StepKind {
        let max_iterations = match max_iterations {
            Some(m) if m.value >= 1 => m.value as u64,
            Some(m) => {
                self.error(Diagnostic::new(
                    Code::E044,
                    m.span,
                    "`max_iterations` must be at least 1",
                ));
                1
            }
            None => {
                self.error(
                    Diagnostic::new(Code::E006, step.span, "`while` needs `max_iterations:`")
                        .help("bound the loop: add `max_iterations: 100`"),
                );
                1
            }
        };
        let conditioned = scope.condition_on(step_refs(cond));
        let (body, a) = self.nested(steps, scope);
        scope.end_condition(conditioned);
        // The condition sees the body's results of the previous iteration.
        let mark = scope.mark();
        for (k, mut v) in a.clone() {
            v.ran = v.ran.at_most_maybe(&k);
            scope.add_step(k, v);
        }
        let cond = self.condition(cond, scope, "a `while` condition");
        scope.take_since(mark);
        escaped.extend(a);
        ir::StepKind::While {
            cond,
            max_iterations,
            steps: body,
        }
    }

    fn wait(
        &mut self,
        step: &ast::Step,
        (signal, others, mode): (&Name, &[Name], ast::WaitMode),
        until: Option<&ast::Value>,
        timeout: Option<&Spanned<Duration>>,
        on_timeout: Option<&Name>,
        scope: &Scope,
    ) -> ir::StepKind {
        let mut seen = BTreeSet::new();
        for name in std::iter::once(signal).chain(others) {
            self.message_name(name);
            if !seen.insert(name.value.as_str()) {
                self.error(
                    Diagnostic::new(
                        Code::E048,
                        name.span,
                        format!("`wait` names `{}` twice", name.value),
                    )
                    .label("named again here")
                    .help("list each signal or update once"),
                );
            }
        }
        let on_timeout = match on_timeout.map(|o| o.value.as_str()) {
            None | Some("fail") => ir::OnTimeout::Fail,
            Some("continue") => ir::OnTimeout::Continue,
            Some(other) => {
                let span = on_timeout.map_or(step.span, |o| o.span);
                self.error(
                    Diagnostic::new(
                        Code::E044,
                        span,
                        format!("unknown `on_timeout` value `{other}`"),
                    )
                    .help("use `fail` (raise WaitTimeout) or `continue` (go on with null)"),
                );
                ir::OnTimeout::Fail
            }
        };
        ir::StepKind::Wait {
            signal: signal.value.clone(),
            others: others.iter().map(|n| n.value.clone()).collect(),
            mode: match mode {
                ast::WaitMode::One => ir::WaitMode::One,
                ast::WaitMode::Any => ir::WaitMode::Any,
                ast::WaitMode::All => ir::WaitMode::All,
            },
            until: until.map(|u| self.condition(u, scope, "an `until` condition")),
            timeout_ms: timeout.map(|t| ms(t.value)),
            on_timeout,
        }
    }

    /// A `wait`'s name must be a declared signal or update (E035).
    fn message_name(&mut self, signal: &Name) {
        if self.signals.contains(&signal.value) || self.updates.contains(&signal.value) {
            return;
        }
        let mut d = Diagnostic::new(
            Code::E035,
            signal.span,
            format!("unknown signal `{}`", signal.value),
        )
        .label(if self.updates.is_empty() {
            "not declared under `signals:`"
        } else {
            "not declared under `signals:` or `updates:`"
        });
        let mut signals: Vec<&str> = self
            .signals
            .iter()
            .chain(&self.updates)
            .map(String::as_str)
            .collect();
        signals.sort_unstable();
        let signals = signals.into_iter();
        let what = if self.updates.is_empty() {
            "signals"
        } else {
            "signals and updates"
        };
        d.help = Some(
            match (
                did_you_mean(&signal.value, signals.clone()),
                list_names(signals),
            ) {
                (Some(hint), Some(listed)) => format!("{hint} the {what} are {listed}"),
                (None, Some(listed)) => format!(
                    "the {what} are {listed}; declare `{}` under `signals:` (`signal {}` in the text form)",
                    signal.value, signal.value
                ),
                (_, None) => format!("declare it: `signals: {{ {}: {{}} }}`", signal.value),
            },
        );
        self.error(d);
    }

    /// A literal duration (a string or a number of seconds) is folded to milliseconds.
    fn sleep(&mut self, sleep: &ast::Sleep, scope: &Scope) -> ir::Sleep {
        match sleep {
            ast::Sleep::For(d) => ir::Sleep::ForMs(ms(d.value)),
            ast::Sleep::Expr(v) => match lower_value(v) {
                ir::Value::Literal(Json::String(s)) => match duration::parse(&s) {
                    Ok(d) => ir::Sleep::ForMs(ms(d)),
                    Err(why) => {
                        self.error(Diagnostic::new(
                            Code::E008,
                            v.span,
                            format!("invalid duration for `sleep`: {why}"),
                        ));
                        ir::Sleep::ForMs(0)
                    }
                },
                ir::Value::Literal(Json::Number(n)) => {
                    ir::Sleep::ForMs((n.as_f64().unwrap_or(0.0) * 1000.0).max(0.0) as u64)
                }
                _ => ir::Sleep::For(self.value(v, scope)),
            },
            ast::Sleep::Until(v) => ir::Sleep::Until(self.value(v, scope)),
        }
    }

    /// `try` with its `catch` clauses; each clause binds the caught error and allows `rethrow`.
    fn try_catch(
        &mut self,
        steps: &[ast::Step],
        catches: &[ast::Catch],
        scope: &mut Scope,
        escaped: &mut Escaped,
    ) -> ir::StepKind {
        let (body, a) = self.nested(steps, scope);
        // After a `try` whose every catch ends the run, the body surely ran; otherwise a
        // catch may have taken over anywhere in it, after any of its steps.
        let catches_end = catches.iter().all(|c| ends_abruptly(&c.steps));
        escaped.extend(a.into_iter().map(|(k, mut v)| {
            if !catches_end {
                v.ran = v.ran.at_most_maybe(&k);
            }
            (k, v)
        }));
        // The `try` goes on after its body or after a catch that does not end the run.
        let goes_on = !ends_abruptly(steps) || !catches_end;
        // Error types can be checked only when everything the body calls declares what it
        // raises: a manifest exported from another SDK lists no `errors`, and a child
        // workflow may raise any type. Silence then means "unknown", not "none".
        let mut closed = self.manifest.is_some();
        crate::lint::walk_steps(steps, &mut |step| match &step.kind {
            ast::StepKind::Activity(call) => {
                let declares = self
                    .manifest
                    .and_then(|m| m.get(&call.activity.value))
                    .is_some_and(|spec| !spec.errors.is_empty());
                closed &= declares;
            }
            ast::StepKind::Workflow(_) => closed = false,
            _ => {}
        });
        let mut lowered = Vec::new();
        for c in catches {
            for e in &c.errors {
                if closed && !self.known_errors.contains(&e.value) {
                    let mut d = Diagnostic::new(
                        Code::E037,
                        e.span,
                        format!("unknown error type `{}`", e.value),
                    )
                    .label("no activity raises it");
                    d.help = Some(did_you_mean(&e.value, self.known_errors.iter().map(String::as_str)).unwrap_or_else(|| "use an error type listed under an activity's `errors` in activities.json, or one Stave raises (WaitTimeout, Timeout, Cancelled, ...)".into()));
                    self.error(d);
                }
            }
            let name = c.name.as_ref().map_or_else(
                || "err".to_string(),
                |n| {
                    self.check_ident(n, "error name");
                    n.value.clone()
                },
            );
            let was_in_catch = std::mem::replace(&mut scope.in_catch, true);
            let previous = scope.bind_local(&name, error_ty());
            let when = c
                .when
                .as_ref()
                .map(|w| self.condition(w, scope, "a catch's condition"));
            let conditioned = scope.condition_on(c.when.iter().flat_map(step_refs));
            let (steps, b) = self.nested(&c.steps, scope);
            scope.end_condition(conditioned);
            scope.restore_local(&name, previous);
            scope.in_catch = was_in_catch;
            // A catch's ids may not have run; one that always ends the run leaves them null
            // after the `try` (the other catches never take over from it).
            let never = ends_abruptly(&c.steps) && goes_on;
            for (k, v) in never_if(b, never) {
                let ran = v.ran.may_skip(&k);
                escaped.insert(k, FieldTy { ran, ..v });
            }
            lowered.push(ir::Catch {
                errors: c.errors.iter().map(|e| e.value.clone()).collect(),
                when,
                name,
                steps,
            });
        }
        ir::StepKind::Try {
            steps: body,
            catches: lowered,
        }
    }
}

/// Whether a block surely never completes normally, whatever the conditions: it reaches an
/// unguarded `fail`, `rethrow` or `return`, an `if` whose two branches both end so, a
/// `switch` whose cases and default all do, or a `try` whose body and catches all do.
/// (Loops may run no iteration; a `parallel` is left out.)
fn ends_abruptly(steps: &[ast::Step]) -> bool {
    steps.iter().any(|s| match &s.kind {
        ast::StepKind::Block { steps, else_steps } => match (&s.when, else_steps) {
            (None, _) => ends_abruptly(steps),
            (Some(_), Some(e)) => ends_abruptly(steps) && ends_abruptly(e),
            (Some(_), None) => false,
        },
        _ if s.when.is_some() => false,
        ast::StepKind::Fail { .. } | ast::StepKind::Rethrow | ast::StepKind::Return(_) => true,
        ast::StepKind::Switch {
            arms,
            default: Some(default),
        } => arms.iter().all(|a| ends_abruptly(&a.steps)) && ends_abruptly(default),
        ast::StepKind::Try { steps, catches } => {
            ends_abruptly(steps) && catches.iter().all(|c| ends_abruptly(&c.steps))
        }
        _ => false,
    })
}

/// The ids of a branch, made "never ran" when `never`.
fn never_if(ids: Escaped, never: bool) -> impl Iterator<Item = (String, FieldTy)> {
    ids.into_iter().map(move |(k, v)| {
        let ran = if never { Ran::Never(k.clone()) } else { v.ran };
        (k, FieldTy { ran, ..v })
    })
}

/// Ids `X` that a condition reads as `steps.X`.
fn step_refs(v: &ast::Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    crate::lint::for_each_expr(v, &mut |t| out.extend(t.step_refs()));
    out
}

/// The type of the name a `catch` binds (`err`).
fn error_ty() -> Ty {
    Ty::Object(ObjectTy {
        fields: [
            ("type", Ty::String),
            ("message", Ty::String),
            ("details", Ty::Dyn),
        ]
        .into_iter()
        .map(|(k, ty)| (k.to_string(), FieldTy::new(ty)))
        .collect(),
        closed: true,
        origin: "the caught error".into(),
    })
}

#[cfg(test)]
mod tests;
