//! Evaluation of expressions over JSON values: pure, deterministic and fuel-bounded.
//!
//! Values read from the environment are borrowed, never cloned, until a new value has to be
//! built from them; every value built counts against the byte budget, every node visited and
//! every element iterated against the fuel.
//!
//! This file walks the tree (names, fields, indexes, `&&`/`||`, conditionals, macros);
//! `operators` computes the other operators, `functions` the built-in functions and methods,
//! `convert` the conversions.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

use crate::diagnostics::Span;

use super::ast::{BinaryOp, Expr, ExprKind, MacroKind, Template, TemplatePart, UnaryOp};
use operators::{Num, double_value, int_value, num};

mod convert;
mod functions;
mod operators;

/// What evaluation may ask of the workflow: both answers come from history, so replay-safe.
pub trait Host {
    /// The current workflow task's time, RFC 3339.
    fn now(&self) -> String;
    /// A UUID derived from the run's random seed.
    fn uuid(&self) -> String;
}

/// The values of the root names (`input`, `vars`, `steps`, …).
pub trait Bindings {
    fn lookup(&self, root: &str) -> Option<&Value>;
}

impl Bindings for BTreeMap<String, Value> {
    fn lookup(&self, root: &str) -> Option<&Value> {
        self.get(root)
    }
}

impl Bindings for Map<String, Value> {
    fn lookup(&self, root: &str) -> Option<&Value> {
        self.get(root)
    }
}

/// `parent` with one more name bound, e.g. a loop variable; nothing is copied.
pub struct Layered<'a> {
    pub parent: &'a dyn Bindings,
    pub name: &'a str,
    pub value: &'a Value,
}

impl Bindings for Layered<'_> {
    fn lookup(&self, root: &str) -> Option<&Value> {
        if root == self.name {
            Some(self.value)
        } else {
            self.parent.lookup(root)
        }
    }
}

/// What an evaluation may still spend. Evaluation subtracts from it, so one budget shared by
/// several evaluations bounds them together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Steps: one per node visited and per element iterated (string functions: per 64 bytes).
    pub fuel: u64,
    /// Bytes of values produced (strings, lists, maps, copies of environment values).
    pub max_bytes: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            fuel: 100_000,
            max_bytes: 1 << 20,
        }
    }
}

/// A run-time failure of an expression; the message names the path or operator involved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    pub span: Span,
    pub message: String,
}

/// Evaluates `expr` against `env`.
pub fn eval(
    expr: &Expr,
    env: &dyn Bindings,
    host: &dyn Host,
    budget: &mut Budget,
) -> Result<Value, EvalError> {
    let mut ev = Evaluator {
        env,
        host,
        budget,
        locals: Vec::new(),
    };
    ev.eval(expr).map(Cow::into_owned).map_err(|f| f.error)
}

/// Evaluates a template: a literal as a string, `${ e }` as `e`'s value, and interpolation as
/// a string in which non-string values appear as compact JSON.
pub fn eval_template(
    t: &Template,
    env: &dyn Bindings,
    host: &dyn Host,
    budget: &mut Budget,
) -> Result<Value, EvalError> {
    match t {
        Template::Literal(s) => Ok(Value::String(s.clone())),
        Template::Expr(e) => eval(e, env, host, budget),
        Template::Interp(parts) => {
            let mut ev = Evaluator {
                env,
                host,
                budget,
                locals: Vec::new(),
            };
            let mut out = String::new();
            for part in parts {
                match part {
                    TemplatePart::Text(s) => out.push_str(s),
                    TemplatePart::Expr(e) => {
                        let v = ev.eval(e).map_err(|f| f.error)?;
                        let before = out.len();
                        match v.as_ref() {
                            Value::String(s) => out.push_str(s),
                            other => out.push_str(&other.to_string()),
                        }
                        ev.charge(out.len() - before, e.span).map_err(|f| f.error)?;
                    }
                }
            }
            Ok(Value::String(out))
        }
    }
}

/// A failure; `fatal` failures (an exhausted budget) are never absorbed by `&&`, `||`,
/// `exists` or `all`.
struct Fail {
    error: EvalError,
    fatal: bool,
}

type Res<T> = Result<T, Fail>;
type Val<'a> = Cow<'a, Value>;

fn fail<T>(span: Span, message: impl Into<String>) -> Res<T> {
    Err(Fail {
        error: EvalError {
            span,
            message: message.into(),
        },
        fatal: false,
    })
}

struct Evaluator<'a, 'b> {
    env: &'a dyn Bindings,
    host: &'b dyn Host,
    budget: &'b mut Budget,
    /// Macro variables, innermost last.
    locals: Vec<(&'a str, Val<'a>)>,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) => match num(n) {
            Num::Int(_) => "int",
            Num::Double(_) => "double",
        },
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

/// The expression's canonical text, shortened for messages.
fn path(e: &Expr) -> String {
    let text = e.to_string();
    if text.chars().count() <= 60 {
        return text;
    }
    let cut: String = text.chars().take(57).collect();
    format!("{cut}…")
}

/// Approximate heap size of a value, for the byte budget.
fn size_of(v: &Value) -> usize {
    match v {
        Value::String(s) => 24 + s.len(),
        Value::Array(items) => 24 + items.iter().map(size_of).sum::<usize>(),
        Value::Object(m) => {
            24 + m
                .iter()
                .map(|(k, v)| 24 + k.len() + size_of(v))
                .sum::<usize>()
        }
        _ => 8,
    }
}

impl<'a> Evaluator<'a, '_> {
    fn tick(&mut self, n: u64, span: Span) -> Res<()> {
        if self.budget.fuel < n {
            self.budget.fuel = 0;
            return Err(self.exhausted(span));
        }
        self.budget.fuel -= n;
        Ok(())
    }

    fn charge(&mut self, bytes: usize, span: Span) -> Res<()> {
        if self.budget.max_bytes < bytes {
            self.budget.max_bytes = 0;
            return Err(self.exhausted(span));
        }
        self.budget.max_bytes -= bytes;
        Ok(())
    }

    fn exhausted(&self, span: Span) -> Fail {
        Fail {
            error: EvalError {
                span,
                message: "expression exceeded its evaluation budget".into(),
            },
            fatal: true,
        }
    }

    /// An owned copy, charged to the byte budget when it has to be cloned.
    fn own(&mut self, v: Val<'a>, span: Span) -> Res<Value> {
        match v {
            Cow::Owned(v) => Ok(v),
            Cow::Borrowed(v) => {
                self.charge(size_of(v), span)?;
                Ok(v.clone())
            }
        }
    }

    fn eval(&mut self, e: &'a Expr) -> Res<Val<'a>> {
        self.tick(1, e.span)?;
        let v = match &e.kind {
            ExprKind::Null => Value::Null,
            ExprKind::Bool(b) => Value::Bool(*b),
            ExprKind::Int(i) => Value::Number((*i).into()),
            ExprKind::Double(d) => double_value(e.span, *d, "double literal")?,
            ExprKind::String(s) => {
                self.charge(24 + s.len(), e.span)?;
                Value::String(s.clone())
            }
            ExprKind::List(items) => {
                self.charge(24 + 8 * items.len(), e.span)?;
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let v = self.eval(item)?;
                    out.push(self.own(v, item.span)?);
                }
                Value::Array(out)
            }
            ExprKind::Map(entries) => {
                let mut out = Map::with_capacity(entries.len());
                for (k, v) in entries {
                    let key = match self.eval(k)?.into_owned() {
                        Value::String(s) => s,
                        other => {
                            return fail(
                                k.span,
                                format!(
                                    "map keys must be strings, but this key is {}",
                                    type_name(&other)
                                ),
                            );
                        }
                    };
                    if out.contains_key(&key) {
                        return fail(k.span, format!("map literal has the key {key:?} twice"));
                    }
                    let value = self.eval(v)?;
                    let value = self.own(value, v.span)?;
                    self.charge(24 + key.len(), k.span)?;
                    out.insert(key, value);
                }
                Value::Object(out)
            }
            ExprKind::Ident(name) => return self.ident(name, e.span),
            ExprKind::Member { target, field } => {
                let t = self.eval(target)?;
                return self.field(t, &field.name, target, e.span);
            }
            ExprKind::Index { target, index } => {
                let t = self.eval(target)?;
                let i = self.eval(index)?;
                return self.index(t, &i, target, e.span);
            }
            ExprKind::Call {
                target,
                function,
                args,
            } => return self.call(target.as_deref(), &function.name, args, e.span),
            ExprKind::Unary { op, operand } => {
                let v = self.eval(operand)?;
                match (op, v.as_ref()) {
                    (UnaryOp::Not, Value::Bool(b)) => Value::Bool(!b),
                    (UnaryOp::Neg, Value::Number(n)) => match num(n) {
                        Num::Int(i) => int_value(e.span, -i)?,
                        Num::Double(d) => double_value(e.span, -d, "negation")?,
                    },
                    (op, v) => {
                        return fail(
                            e.span,
                            format!(
                                "no matching overload for `{}` on {}",
                                op.as_str(),
                                type_name(v)
                            ),
                        );
                    }
                }
            }
            ExprKind::Binary { op, lhs, rhs } => match op {
                BinaryOp::And | BinaryOp::Or => Value::Bool(self.logic(*op, lhs, rhs)?),
                _ => {
                    let l = self.eval(lhs)?;
                    let r = self.eval(rhs)?;
                    return self.binary(*op, l, r, e.span);
                }
            },
            ExprKind::Cond {
                cond,
                then,
                otherwise,
            } => {
                return match self.eval(cond)?.as_ref() {
                    Value::Bool(true) => self.eval(then),
                    Value::Bool(false) => self.eval(otherwise),
                    v => fail(
                        cond.span,
                        format!(
                            "the condition of `? :` must be a bool, not {}",
                            type_name(v)
                        ),
                    ),
                };
            }
            ExprKind::Has { target, field } => {
                let t = self.eval(target)?;
                match t.as_ref() {
                    Value::Object(m) => Value::Bool(m.contains_key(&field.name)),
                    // Divergence from CEL (which fails): `has(steps.x.f)` must be usable as a
                    // guard when step `x` did not run and its result is null.
                    Value::Null => Value::Bool(false),
                    v => {
                        return fail(
                            e.span,
                            format!(
                                "`has` needs a map, but `{}` is {}",
                                path(target),
                                type_name(v)
                            ),
                        );
                    }
                }
            }
            ExprKind::Macro {
                kind,
                target,
                var,
                filter,
                body,
            } => {
                return self.comprehension(
                    *kind,
                    target,
                    &var.name,
                    filter.as_deref(),
                    body,
                    e.span,
                );
            }
        };
        Ok(Cow::Owned(v))
    }

    fn ident(&mut self, name: &str, span: Span) -> Res<Val<'a>> {
        if let Some(i) = self.locals.iter().rposition(|(n, _)| *n == name) {
            let v = match &self.locals[i].1 {
                Cow::Borrowed(v) => return Ok(Cow::Borrowed(*v)),
                Cow::Owned(v) => v.clone(),
            };
            self.charge(size_of(&v), span)?;
            return Ok(Cow::Owned(v));
        }
        match self.env.lookup(name) {
            Some(v) => Ok(Cow::Borrowed(v)),
            None => fail(span, format!("unknown name `{name}`")),
        }
    }

    fn field(&mut self, t: Val<'a>, field: &str, target: &Expr, span: Span) -> Res<Val<'a>> {
        let missing = |span| fail(span, format!("no field `{field}` in `{}`", path(target)));
        match t {
            Cow::Borrowed(Value::Object(m)) => match m.get(field) {
                Some(v) => Ok(Cow::Borrowed(v)),
                None => missing(span),
            },
            Cow::Owned(Value::Object(mut m)) => match m.remove(field) {
                Some(v) => Ok(Cow::Owned(v)),
                None => missing(span),
            },
            t => fail(
                span,
                match t.as_ref() {
                    Value::Null => {
                        format!("`{}` is null, so it has no field `{field}`", path(target))
                    }
                    v => format!(
                        "cannot read field `{field}` of {} `{}`",
                        type_name(v),
                        path(target)
                    ),
                },
            ),
        }
    }

    fn index(&mut self, t: Val<'a>, i: &Value, target: &Expr, span: Span) -> Res<Val<'a>> {
        let missing = |key: &str| fail(span, format!("no key {key:?} in `{}`", path(target)));
        match (t, i) {
            (Cow::Borrowed(Value::Array(items)), Value::Number(n)) => {
                let at = list_position(items.len(), n, target, span)?;
                Ok(Cow::Borrowed(&items[at]))
            }
            (Cow::Owned(Value::Array(mut items)), Value::Number(n)) => {
                let at = list_position(items.len(), n, target, span)?;
                Ok(Cow::Owned(items.swap_remove(at)))
            }
            (Cow::Borrowed(Value::Object(m)), Value::String(key)) => match m.get(key) {
                Some(v) => Ok(Cow::Borrowed(v)),
                None => missing(key),
            },
            (Cow::Owned(Value::Object(mut m)), Value::String(key)) => match m.remove(key) {
                Some(v) => Ok(Cow::Owned(v)),
                None => missing(key),
            },
            (t, _) if t.is_null() => fail(
                span,
                format!("`{}` is null, so it cannot be indexed", path(target)),
            ),
            (t, i) => fail(
                span,
                format!(
                    "cannot index {} `{}` with {}",
                    type_name(&t),
                    path(target),
                    type_name(i)
                ),
            ),
        }
    }

    /// `&&` and `||` with CEL's commutative error absorption: `false && error` is false
    /// whichever side fails, and a non-bool operand counts as an error.
    fn logic(&mut self, op: BinaryOp, lhs: &'a Expr, rhs: &'a Expr) -> Res<bool> {
        let absorbing = op == BinaryOp::Or;
        let left = self.operand(op, lhs)?;
        if left.as_ref().ok() == Some(&absorbing) {
            return Ok(absorbing);
        }
        let right = self.operand(op, rhs)?;
        match (left, right) {
            (_, Ok(b)) if b == absorbing => Ok(absorbing),
            (Ok(_), Ok(b)) => Ok(b),
            (Err(e), _) | (_, Err(e)) => Err(Fail {
                error: e,
                fatal: false,
            }),
        }
    }

    /// One operand of `&&`/`||`: `Err(Fail)` only for fatal failures, `Ok(Err(_))` for errors
    /// that the other operand may absorb.
    fn operand(&mut self, op: BinaryOp, e: &'a Expr) -> Res<Result<bool, EvalError>> {
        match self.eval(e) {
            Ok(v) => match v.as_ref() {
                Value::Bool(b) => Ok(Ok(*b)),
                v => Ok(Err(EvalError {
                    span: e.span,
                    message: format!(
                        "no matching overload for `{}` on {}",
                        op.as_str(),
                        type_name(v)
                    ),
                })),
            },
            Err(f) if f.fatal => Err(f),
            Err(f) => Ok(Err(f.error)),
        }
    }

    /// `map`, `filter`, `exists`, `all`, `exists_one` over a list's elements or a map's keys.
    fn comprehension(
        &mut self,
        kind: MacroKind,
        target: &'a Expr,
        var: &'a str,
        filter: Option<&'a Expr>,
        body: &'a Expr,
        span: Span,
    ) -> Res<Val<'a>> {
        let t = self.eval(target)?;
        let items: Vec<Val<'a>> = match t {
            Cow::Borrowed(Value::Array(items)) => items.iter().map(Cow::Borrowed).collect(),
            Cow::Owned(Value::Array(items)) => items.into_iter().map(Cow::Owned).collect(),
            Cow::Borrowed(Value::Object(m)) => {
                self.charge(m.keys().map(|k| 24 + k.len()).sum(), span)?;
                m.keys()
                    .map(|k| Cow::Owned(Value::String(k.clone())))
                    .collect()
            }
            Cow::Owned(Value::Object(m)) => m
                .into_iter()
                .map(|(k, _)| Cow::Owned(Value::String(k)))
                .collect(),
            t => {
                return fail(
                    span,
                    format!(
                        "`{}` needs a list or a map, but `{}` is {}",
                        kind.as_str(),
                        path(target),
                        type_name(&t)
                    ),
                );
            }
        };
        let mut out = Vec::new();
        let mut count = 0usize;
        let mut deferred: Option<EvalError> = None;
        for item in items {
            self.tick(1, span)?;
            self.locals.push((var, item));
            let result = self.step(kind, filter, body);
            let item = self.locals.pop().map(|(_, v)| v);
            match (kind, result?) {
                (MacroKind::Map, Step::Value(v)) => {
                    let v = self.own(v, body.span)?;
                    self.charge(8, span)?;
                    out.push(v);
                }
                (MacroKind::Map, Step::Skip) => {}
                (MacroKind::Filter, Step::Bool(true)) => {
                    if let Some(item) = item {
                        let v = self.own(item, span)?;
                        self.charge(8, span)?;
                        out.push(v);
                    }
                }
                (MacroKind::Exists, Step::Bool(true)) => return Ok(Cow::Owned(Value::Bool(true))),
                (MacroKind::All, Step::Bool(false)) => return Ok(Cow::Owned(Value::Bool(false))),
                (MacroKind::ExistsOne, Step::Bool(true)) => count += 1,
                (MacroKind::Exists | MacroKind::All, Step::Error(e)) => {
                    deferred.get_or_insert(e);
                }
                (_, Step::Error(e)) => {
                    return Err(Fail {
                        error: e,
                        fatal: false,
                    });
                }
                _ => {}
            }
        }
        if let Some(e) = deferred {
            return Err(Fail {
                error: e,
                fatal: false,
            });
        }
        Ok(Cow::Owned(match kind {
            MacroKind::Map | MacroKind::Filter => Value::Array(out),
            MacroKind::Exists => Value::Bool(false),
            MacroKind::All => Value::Bool(true),
            MacroKind::ExistsOne => Value::Bool(count == 1),
        }))
    }

    /// One iteration of a macro with the variable bound.
    fn step(&mut self, kind: MacroKind, filter: Option<&'a Expr>, body: &'a Expr) -> Res<Step<'a>> {
        if kind == MacroKind::Map {
            if let Some(f) = filter {
                match self.eval(f)?.as_ref() {
                    Value::Bool(true) => {}
                    Value::Bool(false) => return Ok(Step::Skip),
                    v => {
                        return fail(
                            f.span,
                            format!("the filter of `map` must be a bool, not {}", type_name(v)),
                        );
                    }
                }
            }
            return Ok(Step::Value(self.eval(body)?));
        }
        match self.eval(body) {
            Ok(v) => Ok(match v.as_ref() {
                Value::Bool(b) => Step::Bool(*b),
                v => Step::Error(EvalError {
                    span: body.span,
                    message: format!(
                        "the condition of `{}` must be a bool, not {}",
                        kind.as_str(),
                        type_name(v)
                    ),
                }),
            }),
            Err(f) if f.fatal => Err(f),
            Err(f) => Ok(Step::Error(f.error)),
        }
    }
}

enum Step<'a> {
    Value(Val<'a>),
    Bool(bool),
    Skip,
    Error(EvalError),
}

/// The element a number selects in a list of `len`: an int, or a double that is a whole
/// number (CEL accepts `[7, 8][1.0]`).
fn list_position(len: usize, n: &Number, target: &Expr, span: Span) -> Res<usize> {
    let at = match num(n) {
        Num::Int(i) => i,
        Num::Double(d) if d.fract() == 0.0 && d.abs() < 1e18 => d as i128,
        Num::Double(_) => return fail(span, format!("list index {n} is not a whole number")),
    };
    match usize::try_from(at).ok().filter(|a| *a < len) {
        Some(at) => Ok(at),
        None => fail(
            span,
            format!(
                "index {at} is out of range for `{}`, a list of size {len}",
                path(target)
            ),
        ),
    }
}

#[cfg(test)]
mod tests;
