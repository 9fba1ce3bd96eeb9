//! Statements → [`Step`]s: every step kind with its blocks.
//!
//! Assignments, `step ID =`, guards, `if`/`else if` chains, loops, `try`/`catch`, `fail`.

use super::{Lower, P, parts};
use crate::diagnostics::{Span, Spanned};
use crate::expr::{Expr, ExprKind};
use crate::syntax::ast::*;
use crate::syntax::text::Rule;

impl Lower {
    pub(super) fn assignments(&mut self, p: P<'_>) -> Vec<(Name, Value)> {
        let mut out: Vec<(Name, Value)> = Vec::new();
        for a in parts(p) {
            if let Some((name, value)) = self.assignment(a) {
                if out.iter().any(|(n, _)| n.value == name.value) {
                    self.twice(name.span, &format!("variable `{}`", name.value));
                    continue;
                }
                out.push((name, value));
            }
        }
        out
    }

    pub(super) fn assignment(&mut self, p: P<'_>) -> Option<(Name, Value)> {
        let mut it = parts(p);
        let name = self.binding(&it.next()?, "a variable");
        let value = self.value(it.next()?);
        Some((name, value))
    }

    /// `fragment NAME { … }`.
    pub(super) fn fragment(&mut self, p: P<'_>) -> Fragment {
        let span = self.span(&p);
        let mut it = parts(p);
        let name = it
            .next()
            .map(|n| self.name(&n))
            .unwrap_or_else(|| Spanned::new(String::new(), span));
        let steps = it.next().map(|b| self.block(b)).unwrap_or_default();
        Fragment { name, steps, span }
    }

    fn block(&mut self, p: P<'_>) -> Vec<Step> {
        parts(p).filter_map(|s| self.statement(s)).collect()
    }

    fn guard(&mut self, p: P<'_>) -> Option<Value> {
        parts(p).next().map(|v| self.value(v))
    }

    pub(super) fn statement(&mut self, p: P<'_>) -> Option<Step> {
        let inner = p.into_inner().next()?;
        let span = self.span(&inner);
        match inner.as_rule() {
            Rule::assign_step => {
                let mut it = parts(inner);
                let (name, value) = self.assignment(it.next()?)?;
                let when = it.next().and_then(|g| self.guard(g));
                Some(Step {
                    id: None,
                    when,
                    kind: StepKind::Set(vec![(name, value)]),
                    span,
                })
            }
            _ => self.step(inner, span),
        }
    }

    fn step(&mut self, p: P<'_>, span: Span) -> Option<Step> {
        let mut id = None;
        let mut when = None;
        let mut kind = None;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::step_id => id = parts(c).next().map(|n| self.binding(&n, "a step")),
                Rule::guard => when = self.guard(c),
                Rule::if_step => {
                    let (cond, k) = self.if_step(c);
                    when = Some(cond);
                    kind = Some(k);
                }
                _ => kind = self.step_kind(c),
            }
        }
        Some(Step {
            id,
            when,
            kind: kind?,
            span,
        })
    }

    /// `if c { } else { }`: the condition (the step's `when`) and the block.
    fn if_step(&mut self, p: P<'_>) -> (Value, StepKind) {
        let span = self.span(&p);
        let mut cond = Value {
            kind: ValueKind::Null,
            span,
        };
        let mut steps = Vec::new();
        let mut else_steps = None;
        let mut seen_block = false;
        for c in parts(p) {
            match c.as_rule() {
                Rule::value => cond = self.value(c),
                Rule::block if !seen_block => {
                    seen_block = true;
                    steps = self.block(c);
                }
                Rule::block => else_steps = Some(self.block(c)),
                Rule::else_if => {
                    let espan = self.span(&c);
                    if let Some(inner) = c.into_inner().next() {
                        let (econd, ekind) = self.if_step(inner);
                        else_steps = Some(vec![Step {
                            id: None,
                            when: Some(econd),
                            kind: ekind,
                            span: espan,
                        }]);
                    }
                }
                _ => {}
            }
        }
        (cond, StepKind::Block { steps, else_steps })
    }

    fn step_kind(&mut self, p: P<'_>) -> Option<StepKind> {
        let rule = p.as_rule();
        let span = self.span(&p);
        Some(match rule {
            Rule::block_step => {
                let mut blocks = parts(p);
                let steps = blocks.next().map(|b| self.block(b)).unwrap_or_default();
                let else_steps = blocks.next().map(|b| self.block(b));
                StepKind::Block { steps, else_steps }
            }
            Rule::switch_step => {
                let mut arms = Vec::new();
                let mut default = None;
                for c in parts(p) {
                    let cspan = self.span(&c);
                    let rule = c.as_rule();
                    let mut it = parts(c);
                    if rule == Rule::case_arm {
                        let (Some(v), Some(b)) = (it.next(), it.next()) else {
                            continue;
                        };
                        let when = self.value(v);
                        let steps = self.block(b);
                        arms.push(SwitchArm {
                            when,
                            steps,
                            span: cspan,
                        });
                    } else {
                        default = it.next().map(|b| self.block(b));
                    }
                }
                StepKind::Switch { arms, default }
            }
            Rule::parallel_step | Rule::race_step => {
                let branches_pair = parts(p).next()?;
                let mut branches: Vec<(Name, Vec<Step>)> = Vec::new();
                for b in parts(branches_pair) {
                    let mut it = parts(b);
                    let (Some(k), Some(body)) = (it.next(), it.next()) else {
                        continue;
                    };
                    let Some(name) = self.key(k) else { continue };
                    let steps = self.block(body);
                    if branches.iter().any(|(n, _)| n.value == name.value) {
                        self.twice(name.span, &format!("branch `{}`", name.value));
                        continue;
                    }
                    branches.push((name, steps));
                }
                StepKind::Parallel {
                    branches,
                    race: rule == Rule::race_step,
                }
            }
            Rule::for_step => {
                let (item, over, concurrency, steps) = self.loop_parts(p);
                StepKind::Foreach {
                    over: over?,
                    item,
                    concurrency,
                    steps,
                }
            }
            Rule::while_step => {
                let (_, cond, max_iterations, steps) = self.loop_parts(p);
                StepKind::While {
                    cond: cond?,
                    max_iterations,
                    steps,
                }
            }
            Rule::wait_step => {
                let mut it = parts(p);
                let first = it.next()?;
                let (signal, others, mode) = if first.as_rule() == Rule::wait_names {
                    let mode = match first.clone().into_inner().next().map(|k| k.as_rule()) {
                        Some(Rule::kw_all) => WaitMode::All,
                        _ => WaitMode::Any,
                    };
                    let mut names: Vec<Name> = parts(first).map(|n| self.name(&n)).collect();
                    if names.is_empty() {
                        return None;
                    }
                    let first = names.remove(0);
                    (first, names, mode)
                } else {
                    (self.name(&first), Vec::new(), WaitMode::One)
                };
                let (mut until, mut timeout, mut on_timeout) = (None, None, None);
                for clause in it {
                    let Some((cspan, kw, arg)) = self.clause(clause) else {
                        continue;
                    };
                    match kw.as_rule() {
                        Rule::kw_until => {
                            let v = Some(self.value(arg));
                            self.once(&mut until, v, cspan, "`until`");
                        }
                        Rule::kw_timeout => {
                            let v = self.duration(&arg, "the wait `timeout`");
                            self.once(&mut timeout, v, cspan, "`timeout`");
                        }
                        _ => {
                            let v = Some(self.name(&arg));
                            self.once(&mut on_timeout, v, cspan, "`on_timeout`");
                        }
                    }
                }
                StepKind::Wait {
                    signal,
                    others,
                    mode,
                    until,
                    timeout,
                    on_timeout,
                }
            }
            Rule::sleep_step => {
                let arg = parts(p).next()?;
                StepKind::Sleep(match arg.as_rule() {
                    Rule::sleep_until => Sleep::Until(self.value(parts(arg).next()?)),
                    Rule::sleep_duration => Sleep::For(self.duration(&arg, "`sleep`")?),
                    _ => Sleep::Expr(self.value(arg)),
                })
            }
            Rule::set_step => StepKind::Set(self.assignments(parts(p).next()?)),
            Rule::try_step => {
                let mut it = parts(p);
                let steps = self.block(it.next()?);
                let catches = it.map(|c| self.catch(c)).collect();
                StepKind::Try { steps, catches }
            }
            Rule::fail_step => {
                let mut it = parts(p);
                let error_type = self.fail_type(it.next()?)?;
                let (mut message, mut details) = (None, None);
                for clause in it {
                    let Some((cspan, kw, arg)) = self.clause(clause) else {
                        continue;
                    };
                    let v = Some(self.value(arg));
                    if kw.as_rule() == Rule::kw_message {
                        self.once(&mut message, v, cspan, "`message`");
                    } else {
                        self.once(&mut details, v, cspan, "`details`");
                    }
                }
                StepKind::Fail {
                    error_type,
                    message,
                    details,
                }
            }
            Rule::return_step => StepKind::Return(self.value(parts(p).next()?)),
            Rule::rethrow_step => StepKind::Rethrow,
            Rule::use_step => StepKind::Use(self.name(&parts(p).next()?)),
            Rule::child_step => StepKind::Workflow(self.child(p)?),
            Rule::activity_step => {
                let mut it = parts(p);
                let mut call = self.activity_call(it.next()?, span)?;
                call.compensate = it
                    .next()
                    .and_then(|c| parts(c).next())
                    .and_then(|c| {
                        let cspan = self.span(&c);
                        self.activity_call(c, cspan)
                    })
                    .map(Box::new);
                StepKind::Activity(call)
            }
            _ => return None,
        })
    }

    /// A loop's parts: `for NAME in VALUE concurrency INT { }`, `while VALUE max_iterations
    /// INT { }` (a `while` has no name).
    fn loop_parts(
        &mut self,
        p: P<'_>,
    ) -> (Option<Name>, Option<Value>, Option<Spanned<i64>>, Vec<Step>) {
        let (mut name, mut value, mut limit, mut steps) = (None, None, None, Vec::new());
        for c in parts(p) {
            match c.as_rule() {
                Rule::name => name = Some(self.binding(&c, "a loop variable")),
                Rule::value => value = Some(self.value(c)),
                Rule::int => limit = self.int(&c),
                _ => steps = self.block(c),
            }
        }
        (name, value, limit, steps)
    }

    fn catch(&mut self, p: P<'_>) -> Catch {
        let span = self.span(&p);
        let mut c = Catch {
            errors: Vec::new(),
            when: None,
            name: None,
            steps: Vec::new(),
            span,
        };
        for part in parts(p) {
            match part.as_rule() {
                Rule::error_types => c.errors = parts(part).map(|n| self.name(&n)).collect(),
                Rule::name => c.name = Some(self.binding(&part, "the caught error")),
                Rule::value => c.when = Some(self.value(part)),
                _ => c.steps = self.block(part),
            }
        }
        c
    }

    fn fail_type(&mut self, p: P<'_>) -> Option<Value> {
        let span = self.span(&p);
        let inner = parts(p).next()?;
        Some(match inner.as_rule() {
            Rule::string => Value {
                kind: self.expr(&inner).map_or(ValueKind::Null, ValueKind::Expr),
                span,
            },
            Rule::template => Value {
                kind: self.template(&inner),
                span,
            },
            Rule::value => self.value(inner),
            _ => Value {
                kind: ValueKind::Expr(Expr::new(
                    ExprKind::String(inner.as_str().to_string()),
                    span,
                )),
                span,
            },
        })
    }
}
