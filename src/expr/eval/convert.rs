//! The conversions `int`, `double` and `string`, and doubles printed as CEL prints them.

use serde_json::Value;

use super::operators::{Num, double_value, int_value, num};
use super::{Res, fail, type_name};
use crate::diagnostics::Span;

pub(super) fn to_int(v: &Value, span: Span) -> Res<Value> {
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

pub(super) fn to_double(v: &Value, span: Span) -> Res<Value> {
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

pub(super) fn to_string(v: &Value, span: Span) -> Res<String> {
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
fn format_double(d: f64) -> String {
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
