//! Names, values, calls and options, spelt so that the grammar reads them back unchanged.

use crate::diagnostics::{Span, Spanned};
use crate::expr::{Expr, ExprKind, Template, TemplatePart};
use crate::syntax::ast::*;
use crate::syntax::duration;
use std::time::Duration;

/// A name the grammar reads as `tname`.
fn is_tname(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// A name the grammar reads as `name`.
fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A CEL string literal.
pub(super) fn quote(s: &str) -> String {
    Expr::new(ExprKind::String(s.to_string()), Span::default()).to_string()
}

/// A `key`: bare when the grammar reads it back as a name, else quoted.
pub(super) fn key(s: &str) -> String {
    if is_tname(s) { s.to_string() } else { quote(s) }
}

fn float(f: f64) -> String {
    if f.is_finite() {
        format!("{f:?}")
    } else if f.is_nan() {
        "double(\"NaN\")".into()
    } else if f > 0.0 {
        "double(\"Infinity\")".into()
    } else {
        "double(\"-Infinity\")".into()
    }
}

/// A template in backquotes: `` `text ${ expr }` ``.
fn template(parts: &[TemplatePart]) -> String {
    let mut out = String::from("`");
    for p in parts {
        match p {
            TemplatePart::Text(t) => out.push_str(
                &t.replace('\\', "\\\\")
                    .replace('`', "\\`")
                    .replace("${", "$${"),
            ),
            TemplatePart::Expr(e) => out.push_str(&format!("${{ {e} }}")),
        }
    }
    out.push('`');
    out
}

/// A value as the grammar's `value` reads it back.
pub fn value(v: &Value) -> String {
    match &v.kind {
        ValueKind::Null => "null".into(),
        ValueKind::Bool(b) => b.to_string(),
        ValueKind::Int(i) => i.to_string(),
        ValueKind::Float(f) => float(*f),
        ValueKind::Str(Template::Literal(s)) => quote(s),
        ValueKind::Str(Template::Expr(e)) | ValueKind::Expr(e) => e.to_string(),
        ValueKind::Str(Template::Interp(parts)) => template(parts),
        ValueKind::List(items) => {
            let items: Vec<String> = items.iter().map(value).collect();
            format!("[{}]", items.join(", "))
        }
        ValueKind::Map(entries) => {
            let entries: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}: {}", quote(&k.value), value(v)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
    }
}

/// The error type of `fail`: a bare name when it is a constant name.
pub(super) fn fail_type(v: &Value) -> String {
    match &v.kind {
        ValueKind::Str(Template::Literal(s)) if is_tname(s) => s.clone(),
        ValueKind::Expr(Expr {
            kind: ExprKind::String(s),
            ..
        }) if is_tname(s) => s.clone(),
        ValueKind::Str(Template::Literal(s))
        | ValueKind::Expr(Expr {
            kind: ExprKind::String(s),
            ..
        }) => quote(s),
        ValueKind::Str(Template::Interp(parts)) => template(parts),
        _ => format!("({})", value(v)),
    }
}

pub(super) fn dur(d: &Spanned<Duration>) -> String {
    duration::format(d.value)
}

pub(super) fn name_or_string(n: &Name) -> String {
    if is_tname(&n.value) {
        n.value.clone()
    } else {
        quote(&n.value)
    }
}

/// `f(a: x, b: y)`, `f(x)`, `f()`, `f args [..]`.
pub(super) fn call(
    name: &str,
    input: &Option<Value>,
    args: &Option<Spanned<Vec<Value>>>,
) -> String {
    let mut out = name.to_string();
    match input {
        Some(Value {
            kind: ValueKind::Map(entries),
            ..
        }) if !entries.is_empty() && entries.iter().all(|(k, _)| is_name(&k.value)) => {
            let named: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}: {}", k.value, value(v)))
                .collect();
            out.push_str(&format!("({})", named.join(", ")));
        }
        Some(v) => out.push_str(&format!("({})", value(v))),
        None if args.is_none() => out.push_str("()"),
        None => {}
    }
    if let Some(args) = args {
        let items: Vec<String> = args.value.iter().map(value).collect();
        out.push_str(&format!(" args [{}]", items.join(", ")));
    }
    out
}

pub(super) fn retry(r: &Retry) -> String {
    let mut parts = Vec::new();
    if let Some(m) = &r.max_attempts {
        parts.push(format!("max_attempts {}", m.value));
    }
    if let Some(d) = &r.initial_interval {
        parts.push(format!("initial_interval {}", dur(d)));
    }
    if let Some(b) = &r.backoff {
        parts.push(format!("backoff {}", float(b.value)));
    }
    if let Some(d) = &r.max_interval {
        parts.push(format!("max_interval {}", dur(d)));
    }
    if !r.non_retryable.is_empty() {
        let names: Vec<&str> = r.non_retryable.iter().map(|n| n.value.as_str()).collect();
        parts.push(format!("non_retryable [{}]", names.join(", ")));
    }
    if parts.is_empty() {
        "retry {}".into()
    } else {
        format!("retry {{ {} }}", parts.join(" "))
    }
}

/// The options of an activity or of `defaults`, one clause each.
pub(super) fn options(o: &ActivityOptions) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(q) = &o.queue {
        out.push(format!("queue {}", q.value));
    }
    if let Some(q) = &o.task_queue {
        out.push(format!("task_queue {}", name_or_string(q)));
    }
    if let Some(d) = &o.timeout {
        out.push(format!("timeout {}", dur(d)));
    }
    if let Some(d) = &o.schedule_to_close {
        out.push(format!("schedule_to_close {}", dur(d)));
    }
    if let Some(d) = &o.schedule_to_start {
        out.push(format!("schedule_to_start {}", dur(d)));
    }
    if let Some(d) = &o.heartbeat {
        out.push(format!("heartbeat {}", dur(d)));
    }
    if let Some(r) = &o.retry {
        out.push(retry(r));
    }
    if let Some(s) = &o.summary {
        out.push(format!("summary {}", value(s)));
    }
    if let Some(p) = &o.priority {
        out.push(format!("priority {}", value(p)));
    }
    out
}

pub(super) fn activity_head(a: &ActivityCall) -> String {
    call(&a.activity.value, &a.input, &a.args)
}
