//! Operators on values: CEL's numbers over JSON (int and double, exact overflow), arithmetic,
//! `+` on strings and lists, equality, ordering and `in`.

use std::borrow::Cow;

use serde_json::{Number, Value};

use super::{Evaluator, Res, Val, fail, type_name};
use crate::diagnostics::Span;
use crate::expr::ast::BinaryOp;

/// A JSON number as CEL sees it. Ints beyond `i64` (a `u64` from JSON) compare exactly but
/// overflow in arithmetic.
#[derive(Clone, Copy)]
pub(super) enum Num {
    Int(i128),
    Double(f64),
}

pub(super) fn num(n: &Number) -> Num {
    if let Some(i) = n.as_i64() {
        Num::Int(i.into())
    } else if let Some(u) = n.as_u64() {
        Num::Int(u.into())
    } else {
        Num::Double(n.as_f64().unwrap_or(f64::NAN))
    }
}

pub(super) fn int_value(span: Span, i: i128) -> Res<Value> {
    match i64::try_from(i) {
        Ok(i) => Ok(Value::Number(i.into())),
        Err(_) => fail(span, "integer overflow"),
    }
}

pub(super) fn double_value(span: Span, d: f64, what: &str) -> Res<Value> {
    match Number::from_f64(d) {
        Some(n) => Ok(Value::Number(n)),
        // JSON has no infinity or NaN, so results stay finite; CEL would return them.
        None => fail(span, format!("{what}: the result is not a finite number")),
    }
}

impl<'a> Evaluator<'a, '_> {
    pub(super) fn binary(
        &mut self,
        op: BinaryOp,
        l: Val<'a>,
        r: Val<'a>,
        span: Span,
    ) -> Res<Val<'a>> {
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
            // In i128, which holds any two JSON ints (a large `u64` included) and their results;
            // a result outside i64 overflows as in CEL, and so does `MIN % -1`, which is 0 in
            // i128 but overflows in CEL's i64.
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
                    _ if a == i128::from(i64::MIN) && b == -1 => None,
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
}

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
