//! Evaluation of expressions over JSON values: pure, deterministic and fuel-bounded.
//!
//! Values read from the environment are borrowed, never cloned, until a new value has to be
//! built from them; every value built counts against the byte budget, every node visited and
//! every element iterated against the fuel.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

use crate::diagnostics::Span;

use super::ast::{BinaryOp, Expr, ExprKind, MacroKind, Template, TemplatePart, UnaryOp};

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

/// A JSON number as CEL sees it. Ints beyond `i64` (a `u64` from JSON) compare exactly but
/// overflow in arithmetic.
#[derive(Clone, Copy)]
enum Num {
    Int(i128),
    Double(f64),
}

fn num(n: &Number) -> Num {
    if let Some(i) = n.as_i64() {
        Num::Int(i.into())
    } else if let Some(u) = n.as_u64() {
        Num::Int(u.into())
    } else {
        Num::Double(n.as_f64().unwrap_or(f64::NAN))
    }
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

fn int_value(span: Span, i: i128) -> Res<Value> {
    match i64::try_from(i) {
        Ok(i) => Ok(Value::Number(i.into())),
        Err(_) => fail(span, "integer overflow"),
    }
}

fn double_value(span: Span, d: f64, what: &str) -> Res<Value> {
    match Number::from_f64(d) {
        Some(n) => Ok(Value::Number(n)),
        // JSON has no infinity or NaN, so results stay finite; CEL would return them.
        None => fail(span, format!("{what}: the result is not a finite number")),
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

    fn binary(&mut self, op: BinaryOp, l: Val<'a>, r: Val<'a>, span: Span) -> Res<Val<'a>> {
        let v = match op {
            BinaryOp::Eq => Value::Bool(self.equals(&l, &r, span)?),
            BinaryOp::Ne => Value::Bool(!self.equals(&l, &r, span)?),
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                let Some(ord) = compare(&l, &r) else {
                    return no_overload(op, &l, &r, span);
                };
                use std::cmp::Ordering::*;
                // `None` inside: a NaN operand, for which every ordering is false.
                Value::Bool(match (op, ord) {
                    (_, None) => false,
                    (BinaryOp::Lt, Some(o)) => o == Less,
                    (BinaryOp::Le, Some(o)) => o != Greater,
                    (BinaryOp::Gt, Some(o)) => o == Greater,
                    (_, Some(o)) => o != Less,
                })
            }
            BinaryOp::In => match r.as_ref() {
                Value::Array(items) => {
                    let mut found = false;
                    for item in items {
                        self.tick(1, span)?;
                        if self.equals(&l, item, span)? {
                            found = true;
                            break;
                        }
                    }
                    Value::Bool(found)
                }
                Value::Object(m) => {
                    Value::Bool(matches!(l.as_ref(), Value::String(k) if m.contains_key(k)))
                }
                _ => return no_overload(op, &l, &r, span),
            },
            BinaryOp::Add => match (l, r) {
                (Cow::Owned(Value::String(mut a)), r) if r.is_string() => {
                    let b = r.as_str().unwrap_or_default();
                    self.charge(a.len() + b.len(), span)?;
                    a.push_str(b);
                    Value::String(a)
                }
                (l, r) if l.is_string() && r.is_string() => {
                    let (a, b) = (
                        l.as_str().unwrap_or_default(),
                        r.as_str().unwrap_or_default(),
                    );
                    self.charge(24 + a.len() + b.len(), span)?;
                    Value::String([a, b].concat())
                }
                (l, r) if l.is_array() && r.is_array() => {
                    let mut a = self.own(l, span)?;
                    let b = self.own(r, span)?;
                    if let (Value::Array(a), Value::Array(b)) = (&mut a, b) {
                        self.charge(8 * (a.len() + b.len()), span)?;
                        a.extend(b);
                    }
                    a
                }
                (l, r) => self.arith(op, &l, &r, span)?,
            },
            _ => self.arith(op, &l, &r, span)?,
        };
        Ok(Cow::Owned(v))
    }

    fn arith(&mut self, op: BinaryOp, l: &Value, r: &Value, span: Span) -> Res<Value> {
        let (Value::Number(a), Value::Number(b)) = (l, r) else {
            return no_overload(op, l, r, span);
        };
        match (num(a), num(b)) {
            // In i64 when both fit, so that overflow (`MIN % -1` included) is caught exactly as
            // CEL catches it; wider ints (a large `u64` from JSON) go through `i128`.
            (Num::Int(a), Num::Int(b)) if i64::try_from(a).is_ok() && i64::try_from(b).is_ok() => {
                let (a, b) = (a as i64, b as i64);
                let v = match op {
                    BinaryOp::Add => a.checked_add(b),
                    BinaryOp::Sub => a.checked_sub(b),
                    BinaryOp::Mul => a.checked_mul(b),
                    BinaryOp::Div | BinaryOp::Rem if b == 0 => {
                        let what = if op == BinaryOp::Div {
                            "division"
                        } else {
                            "modulus"
                        };
                        return fail(span, format!("{what} by zero"));
                    }
                    BinaryOp::Div => a.checked_div(b),
                    _ => a.checked_rem(b),
                };
                match v {
                    Some(v) => Ok(Value::Number(v.into())),
                    None => fail(span, "integer overflow"),
                }
            }
            (Num::Int(a), Num::Int(b)) => {
                let v = match op {
                    BinaryOp::Add => a.checked_add(b),
                    BinaryOp::Sub => a.checked_sub(b),
                    BinaryOp::Mul => a.checked_mul(b),
                    BinaryOp::Div | BinaryOp::Rem if b == 0 => {
                        let what = if op == BinaryOp::Div {
                            "division"
                        } else {
                            "modulus"
                        };
                        return fail(span, format!("{what} by zero"));
                    }
                    BinaryOp::Div => a.checked_div(b),
                    _ => a.checked_rem(b),
                };
                match v {
                    Some(v) => int_value(span, v),
                    None => fail(span, "integer overflow"),
                }
            }
            (Num::Double(a), Num::Double(b)) => {
                let v = match op {
                    BinaryOp::Add => a + b,
                    BinaryOp::Sub => a - b,
                    BinaryOp::Mul => a * b,
                    BinaryOp::Div if b == 0.0 => return fail(span, "division by zero"),
                    BinaryOp::Div => a / b,
                    _ => return no_overload(op, l, r, span),
                };
                double_value(span, v, "double arithmetic overflowed")
            }
            _ => fail(
                span,
                format!(
                    "no matching overload for `{}` on {} and {}; convert one side with `double(…)` or `int(…)`",
                    op.as_str(),
                    type_name(l),
                    type_name(r)
                ),
            ),
        }
    }

    /// CEL equality: numbers compare across int and double, containers element-wise, values
    /// of different types are unequal. Costs one fuel per container element compared.
    fn equals(&mut self, a: &Value, b: &Value, span: Span) -> Res<bool> {
        Ok(match (a, b) {
            (Value::Number(x), Value::Number(y)) => {
                compare_num(num(x), num(y)) == Some(std::cmp::Ordering::Equal)
            }
            (Value::Array(x), Value::Array(y)) => {
                if x.len() != y.len() {
                    return Ok(false);
                }
                for (x, y) in x.iter().zip(y) {
                    self.tick(1, span)?;
                    if !self.equals(x, y, span)? {
                        return Ok(false);
                    }
                }
                true
            }
            (Value::Object(x), Value::Object(y)) => {
                if x.len() != y.len() {
                    return Ok(false);
                }
                for (k, xv) in x {
                    self.tick(1, span)?;
                    match y.get(k) {
                        Some(yv) if self.equals(xv, yv, span)? => {}
                        _ => return Ok(false),
                    }
                }
                true
            }
            _ => a == b,
        })
    }

    fn call(
        &mut self,
        target: Option<&'a Expr>,
        name: &str,
        args: &'a [Expr],
        span: Span,
    ) -> Res<Val<'a>> {
        let Some(target) = target else {
            return self.function(name, args, span);
        };
        let t = self.eval(target)?;
        let mut vals = Vec::with_capacity(args.len());
        for a in args {
            vals.push(self.eval(a)?);
        }
        let arity = |n: usize| -> Res<()> {
            if vals.len() == n {
                Ok(())
            } else {
                fail(
                    span,
                    format!(
                        "`{name}` takes {n} argument{}",
                        if n == 1 { "" } else { "s" }
                    ),
                )
            }
        };
        let v = match (name, t.as_ref()) {
            ("size", _) => {
                arity(0)?;
                self.size(&t, span)?
            }
            ("join", Value::Array(items)) => {
                let sep = match vals.as_slice() {
                    [] => "",
                    [sep] => str_arg(name, sep, span)?,
                    _ => return fail(span, "`join` takes 0 or 1 arguments"),
                };
                let mut out = String::new();
                for (i, item) in items.iter().enumerate() {
                    let Value::String(s) = item else {
                        return fail(
                            span,
                            format!(
                                "`join` needs a list of strings, but element {i} is {}",
                                type_name(item)
                            ),
                        );
                    };
                    if i > 0 {
                        out.push_str(sep);
                    }
                    out.push_str(s);
                }
                self.tick(1 + items.len() as u64, span)?;
                self.charge(24 + out.len(), span)?;
                Value::String(out)
            }
            (_, Value::String(s)) => {
                return self.string_method(name, s, &vals, span).map(Cow::Owned);
            }
            (_, v) if STRING_METHODS.contains(&name) || name == "join" => {
                let wants = if name == "join" {
                    "a list of strings"
                } else {
                    "a string"
                };
                return fail(
                    span,
                    format!(
                        "`{name}` is a method of {wants}, but `{}` is {}",
                        path(target),
                        type_name(v)
                    ),
                );
            }
            _ => return fail(span, format!("unknown method `{name}`")),
        };
        Ok(Cow::Owned(v))
    }

    fn size(&mut self, v: &Value, span: Span) -> Res<Value> {
        let n = match v {
            Value::String(s) => {
                self.tick(s.len() as u64 / 64, span)?;
                s.chars().count()
            }
            Value::Array(items) => items.len(),
            Value::Object(m) => m.len(),
            v => {
                return fail(
                    span,
                    format!("`size` needs a string, list or map, not {}", type_name(v)),
                );
            }
        };
        Ok(Value::Number((n as u64).into()))
    }

    fn string_method(&mut self, name: &str, s: &str, args: &[Val<'a>], span: Span) -> Res<Value> {
        self.tick(s.len() as u64 / 64, span)?;
        let arity = |n: usize| -> Res<()> {
            if args.len() == n {
                Ok(())
            } else {
                fail(
                    span,
                    format!(
                        "`{name}` takes {n} argument{}",
                        if n == 1 { "" } else { "s" }
                    ),
                )
            }
        };
        let owned = |this: &mut Self, out: String| -> Res<Value> {
            this.charge(24 + out.len(), span)?;
            Ok(Value::String(out))
        };
        match name {
            "contains" | "startsWith" | "endsWith" | "matches" => {
                arity(1)?;
                let arg = str_arg(name, &args[0], span)?;
                Ok(Value::Bool(match name {
                    "contains" => s.contains(arg),
                    "startsWith" => s.starts_with(arg),
                    "endsWith" => s.ends_with(arg),
                    _ => regex_matches(s, arg, span)?,
                }))
            }
            "lowerAscii" => {
                arity(0)?;
                owned(self, s.to_ascii_lowercase())
            }
            "upperAscii" => {
                arity(0)?;
                owned(self, s.to_ascii_uppercase())
            }
            "trim" => {
                arity(0)?;
                owned(self, s.trim().to_owned())
            }
            "split" => {
                let (sep, limit) = match args {
                    [sep] => (str_arg(name, sep, span)?, -1),
                    [sep, n] => match n.as_ref() {
                        Value::Number(n) => match num(n) {
                            Num::Int(n) => (str_arg(name, sep, span)?, n),
                            Num::Double(_) => {
                                return fail(span, "the limit of `split` must be an int");
                            }
                        },
                        _ => return fail(span, "the limit of `split` must be an int"),
                    },
                    _ => return fail(span, "`split` takes 1 or 2 arguments"),
                };
                let parts = split(s, sep, limit);
                self.tick(parts.len() as u64, span)?;
                self.charge(24 + parts.iter().map(|p| 24 + p.len()).sum::<usize>(), span)?;
                Ok(Value::Array(
                    parts
                        .into_iter()
                        .map(|p| Value::String(p.to_owned()))
                        .collect(),
                ))
            }
            _ => fail(span, format!("unknown method `{name}`")),
        }
    }

    fn function(&mut self, name: &str, args: &'a [Expr], span: Span) -> Res<Val<'a>> {
        let expected = match name {
            "size" | "int" | "double" | "string" => 1,
            "matches" => 2,
            "now" | "uuid" => 0,
            _ => return fail(span, format!("unknown function `{name}`")),
        };
        if args.len() != expected {
            return fail(
                span,
                format!(
                    "`{name}` takes {expected} argument{}",
                    if expected == 1 { "" } else { "s" }
                ),
            );
        }
        let mut vals = Vec::with_capacity(args.len());
        for a in args {
            vals.push(self.eval(a)?);
        }
        let v = match (name, vals.as_slice()) {
            ("size", [v]) => self.size(v, span)?,
            ("matches", [s, re]) => {
                let s = str_arg(name, s, span)?;
                self.tick(s.len() as u64 / 64, span)?;
                Value::Bool(regex_matches(s, str_arg(name, re, span)?, span)?)
            }
            ("int", [v]) => to_int(v, span)?,
            ("double", [v]) => to_double(v, span)?,
            ("string", [v]) => {
                let s = to_string(v, span)?;
                self.charge(24 + s.len(), span)?;
                Value::String(s)
            }
            ("now", []) => Value::String(self.host.now()),
            _ => Value::String(self.host.uuid()),
        };
        Ok(Cow::Owned(v))
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

/// The string methods, for "is a method of a string" messages.
const STRING_METHODS: &[&str] = &[
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "lowerAscii",
    "upperAscii",
    "trim",
    "split",
];

fn no_overload<T>(op: BinaryOp, l: &Value, r: &Value, span: Span) -> Res<T> {
    fail(
        span,
        format!(
            "no matching overload for `{}` on {} and {}",
            op.as_str(),
            type_name(l),
            type_name(r)
        ),
    )
}

fn str_arg<'v>(name: &str, v: &'v Value, span: Span) -> Res<&'v str> {
    match v {
        Value::String(s) => Ok(s),
        v => fail(
            span,
            format!("`{name}` takes a string argument, not {}", type_name(v)),
        ),
    }
}

/// Int and double compare numerically (an int converts to double, as in CEL); `Some(None)`
/// for a NaN.
fn compare_num(a: Num, b: Num) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
        (Num::Int(a), Num::Double(b)) => (a as f64).partial_cmp(&b),
        (Num::Double(a), Num::Int(b)) => a.partial_cmp(&(b as f64)),
        (Num::Double(a), Num::Double(b)) => a.partial_cmp(&b),
    }
}

/// Ordering for `< <= > >=`: numbers, strings (by code point) and bools; `None` when the
/// operator has no overload for the two types.
fn compare(a: &Value, b: &Value) -> Option<Option<std::cmp::Ordering>> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => Some(compare_num(num(x), num(y))),
        (Value::String(x), Value::String(y)) => Some(Some(x.cmp(y))),
        (Value::Bool(x), Value::Bool(y)) => Some(Some(x.cmp(y))),
        _ => None,
    }
}

/// Go's `strings.SplitN`, which CEL's `split` follows: a limit of 0 gives no parts, a
/// negative one all parts; an empty separator splits into characters.
fn split<'s>(s: &'s str, sep: &str, limit: i128) -> Vec<&'s str> {
    if limit == 0 {
        return Vec::new();
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if sep.is_empty() {
        let mut parts: Vec<&str> = Vec::new();
        let mut rest = s;
        while let Some(c) = rest.chars().next() {
            if parts.len() + 1 == limit {
                break;
            }
            parts.push(&rest[..c.len_utf8()]);
            rest = &rest[c.len_utf8()..];
        }
        if !rest.is_empty() {
            parts.push(rest);
        }
        return parts;
    }
    s.splitn(limit, sep).collect()
}

/// Compiles (with a small per-thread cache) and searches; CEL's `matches` is unanchored.
fn regex_matches(s: &str, pattern: &str, span: Span) -> Res<bool> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static CACHE: RefCell<HashMap<String, regex::Regex>> = RefCell::new(HashMap::new());
    }
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(re) = cache.get(pattern) {
            return Ok(re.is_match(s));
        }
        let re = match compile_regex(pattern) {
            Ok(re) => re,
            Err(e) => return fail(span, format!("invalid regular expression: {e}")),
        };
        let matched = re.is_match(s);
        if cache.len() >= 64 {
            cache.clear();
        }
        cache.insert(pattern.to_owned(), re);
        Ok(matched)
    })
}

/// The regex engine with the size limit evaluation and the checker share.
pub(crate) fn compile_regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| match e {
            regex::Error::Syntax(s) => {
                let last = s.lines().last().unwrap_or("syntax error").trim();
                last.strip_prefix("error: ").unwrap_or(last).to_owned()
            }
            regex::Error::CompiledTooBig(_) => "the pattern is too large".to_owned(),
            _ => e.to_string(),
        })
}

fn to_int(v: &Value, span: Span) -> Res<Value> {
    match v {
        Value::Number(n) => match num(n) {
            Num::Int(i) => int_value(span, i),
            // CEL: the double must lie strictly inside the int range, after truncation.
            Num::Double(d) if d.is_finite() && d > i64::MIN as f64 && d < -(i64::MIN as f64) => {
                Ok(Value::Number((d as i64).into()))
            }
            Num::Double(d) => fail(
                span,
                format!("`int` of {} is out of the int range", format_double(d)),
            ),
        },
        Value::String(s) => match s.parse::<i64>() {
            Ok(i) => Ok(Value::Number(i.into())),
            Err(_) => fail(span, format!("`int` cannot read {s:?} as an integer")),
        },
        v => fail(
            span,
            format!("no matching overload for `int` on {}", type_name(v)),
        ),
    }
}

fn to_double(v: &Value, span: Span) -> Res<Value> {
    match v {
        Value::Number(n) => match num(n) {
            Num::Int(i) => double_value(span, i as f64, "double"),
            Num::Double(_) => Ok(v.clone()),
        },
        Value::String(s) => match s.parse::<f64>() {
            Ok(d) => double_value(span, d, "double"),
            Err(_) => fail(span, format!("`double` cannot read {s:?} as a number")),
        },
        v => fail(
            span,
            format!("no matching overload for `double` on {}", type_name(v)),
        ),
    }
}

fn to_string(v: &Value, span: Span) -> Res<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(match num(n) {
            Num::Int(i) => i.to_string(),
            Num::Double(d) => format_double(d),
        }),
        v => fail(
            span,
            format!("no matching overload for `string` on {}", type_name(v)),
        ),
    }
}

/// Formats a double as CEL's reference implementation does (Go's `%g` with the shortest
/// representation): `123.456`, `-0.0045`, `1e+06`, `1.5e-07`.
pub(crate) fn format_double(d: f64) -> String {
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // `{:e}` gives the shortest round-trip digits: `1.2345e6`, `-4.5e-3`.
    let sci = format!("{d:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    // Go switches to an exponent below 1e-4 and, for the shortest form, from 1e+06 up.
    if !(-4..6).contains(&exp) {
        return go_exponent(sign, &digits, exp);
    }
    if exp < 0 {
        let zeros = "0".repeat((-exp - 1) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let int_len = exp as usize + 1;
    if digits.len() <= int_len {
        format!("{sign}{digits}{}", "0".repeat(int_len - digits.len()))
    } else {
        format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
    }
}

fn go_exponent(sign: &str, digits: &str, exp: i32) -> String {
    let (first, rest) = digits.split_at(1);
    let frac = if rest.is_empty() {
        String::new()
    } else {
        format!(".{rest}")
    };
    let esign = if exp < 0 { '-' } else { '+' };
    format!("{sign}{first}{frac}e{esign}{:02}", exp.abs())
}

#[cfg(test)]
mod tests;
