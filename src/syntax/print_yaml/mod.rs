//! AST → a readable `.stave.yaml`, through a YAML node tree that `layout` writes out.
//!
//! This file builds the tree: `${ }` around expressions, a literal `${` escaped as `$${`.

mod layout;

use super::ast::*;
use super::duration;
use super::print_text;
use crate::diagnostics::Spanned;
use crate::expr::{Expr, ExprKind, Template, TemplatePart};
use layout::entry;
use serde_json::Value as Json;
use std::time::Duration;

/// Prints a workflow file as a `.stave.yaml` file: `stave:`, `fragments:`, then one
/// workflow's keys, or several workflows under `workflows:`.
pub fn print_yaml(f: &File) -> String {
    let mut top: Vec<(String, Y)> = Vec::new();
    if let Some(v) = &f.version {
        top.push(("stave".into(), raw(v.value.to_string())));
    }
    if !f.fragments.is_empty() {
        let fragments = f
            .fragments
            .iter()
            .map(|g| (g.name.value.clone(), steps(&g.steps)))
            .collect();
        top.push(("fragments".into(), Y::Map(fragments, true)));
    }
    match f.workflows.as_slice() {
        [one] => {
            if let Y::Map(entries, _) = workflow(one) {
                top.extend(entries);
            }
        }
        several => top.push((
            "workflows".into(),
            Y::Seq(several.iter().map(workflow).collect(), true),
        )),
    }
    let mut out = String::new();
    for (k, v) in &top {
        entry(&mut out, 0, k, v);
    }
    out
}

/// How a string is written.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Style {
    /// Verbatim text (names, durations, JSON Schema strings): quoted only when needed.
    Verbatim,
    /// A `${ }` template: always quoted, as LANGUAGE.md writes them.
    Template,
}

/// A YAML node before layout.
#[derive(Debug, Clone)]
enum Y {
    /// `null`, booleans and numbers, already spelt.
    Raw(String),
    Str(String, Style),
    /// Items; `true` = always block style (step lists).
    Seq(Vec<Y>, bool),
    Map(Vec<(String, Y)>, bool),
}

fn raw(s: impl Into<String>) -> Y {
    Y::Raw(s.into())
}

fn name(s: &str) -> Y {
    Y::Str(s.to_string(), Style::Verbatim)
}

fn dur(d: &Spanned<Duration>) -> Y {
    name(&duration::format(d.value))
}

/// A literal string in a value slot: `${` is written `$${` so that it stays literal.
fn literal(s: &str) -> Y {
    Y::Str(s.replace("${", "$${"), Style::Verbatim)
}

fn float(f: f64) -> Y {
    raw(if f.is_nan() {
        ".nan".to_string()
    } else if f.is_infinite() {
        if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        }
    } else {
        format!("{f:?}")
    })
}

fn template(e: &Expr) -> Y {
    Y::Str(format!("${{ {e} }}"), Style::Template)
}

fn value(v: &Value) -> Y {
    match &v.kind {
        ValueKind::Null => raw("null"),
        ValueKind::Bool(b) => raw(b.to_string()),
        ValueKind::Int(i) => raw(i.to_string()),
        ValueKind::Float(f) => float(*f),
        ValueKind::Str(Template::Literal(s)) => literal(s),
        ValueKind::Str(Template::Expr(e)) => template(e),
        ValueKind::Str(Template::Interp(parts)) => {
            let mut s = String::new();
            for p in parts {
                match p {
                    TemplatePart::Text(t) => s.push_str(&t.replace("${", "$${")),
                    TemplatePart::Expr(e) => s.push_str(&format!("${{ {e} }}")),
                }
            }
            Y::Str(s, Style::Template)
        }
        ValueKind::Expr(e) => expr(e),
        ValueKind::List(items) => Y::Seq(items.iter().map(value).collect(), false),
        ValueKind::Map(entries) => Y::Map(
            entries
                .iter()
                .map(|(k, v)| (k.value.clone(), value(v)))
                .collect(),
            false,
        ),
    }
}

/// A bare expression: literal data becomes YAML data (the lowering folds both the same way),
/// anything else a `${ }` template.
fn expr(e: &Expr) -> Y {
    match &e.kind {
        ExprKind::Null => raw("null"),
        ExprKind::Bool(b) => raw(b.to_string()),
        ExprKind::Int(i) => raw(i.to_string()),
        ExprKind::Double(f) => float(*f),
        ExprKind::String(s) => literal(s),
        ExprKind::List(items) => Y::Seq(items.iter().map(expr).collect(), false),
        ExprKind::Map(entries) => {
            let keys: Option<Vec<&String>> = entries
                .iter()
                .map(|(k, _)| match &k.kind {
                    ExprKind::String(s) => Some(s),
                    _ => None,
                })
                .collect();
            match keys {
                Some(keys) if unique(&keys) => Y::Map(
                    keys.into_iter()
                        .zip(entries)
                        .map(|(k, (_, v))| (k.clone(), expr(v)))
                        .collect(),
                    false,
                ),
                _ => template(e),
            }
        }
        _ => template(e),
    }
}

fn unique(keys: &[&String]) -> bool {
    keys.iter().enumerate().all(|(i, k)| !keys[..i].contains(k))
}

fn json(j: &Json) -> Y {
    match j {
        Json::Null => raw("null"),
        Json::Bool(b) => raw(b.to_string()),
        Json::Number(n) => raw(n.to_string()),
        Json::String(s) => name(s),
        Json::Array(items) => Y::Seq(items.iter().map(json).collect(), false),
        Json::Object(m) => Y::Map(m.iter().map(|(k, v)| (k.clone(), json(v))).collect(), false),
    }
}

fn named(entries: &[(Name, Value)]) -> Y {
    Y::Map(
        entries
            .iter()
            .map(|(k, v)| (k.value.clone(), value(v)))
            .collect(),
        false,
    )
}

fn retry(r: &Retry) -> Y {
    let mut m = Vec::new();
    if let Some(a) = &r.max_attempts {
        m.push(("max_attempts".into(), raw(a.value.to_string())));
    }
    if let Some(d) = &r.initial_interval {
        m.push(("initial_interval".into(), dur(d)));
    }
    if let Some(b) = &r.backoff {
        m.push(("backoff".into(), float(b.value)));
    }
    if let Some(d) = &r.max_interval {
        m.push(("max_interval".into(), dur(d)));
    }
    if !r.non_retryable.is_empty() {
        let names = r.non_retryable.iter().map(|n| name(&n.value)).collect();
        m.push(("non_retryable".into(), Y::Seq(names, false)));
    }
    Y::Map(m, false)
}

fn options(m: &mut Vec<(String, Y)>, o: &ActivityOptions) {
    if let Some(q) = &o.queue {
        m.push(("queue".into(), name(&q.value)));
    }
    if let Some(q) = &o.task_queue {
        m.push(("task_queue".into(), name(&q.value)));
    }
    for (key, d) in [
        ("timeout", &o.timeout),
        ("schedule_to_close", &o.schedule_to_close),
        ("schedule_to_start", &o.schedule_to_start),
        ("heartbeat", &o.heartbeat),
    ] {
        if let Some(d) = d {
            m.push((key.into(), dur(d)));
        }
    }
    if let Some(r) = &o.retry {
        m.push(("retry".into(), retry(r)));
    }
    if let Some(s) = &o.summary {
        m.push(("summary".into(), value(s)));
    }
    if let Some(p) = &o.priority {
        m.push(("priority".into(), value(p)));
    }
}

fn call_input(m: &mut Vec<(String, Y)>, input: &Option<Value>, args: &Option<Spanned<Vec<Value>>>) {
    if let Some(i) = input {
        m.push(("input".into(), value(i)));
    }
    if let Some(a) = args {
        m.push((
            "args".into(),
            Y::Seq(a.value.iter().map(value).collect(), false),
        ));
    }
}

fn activity(m: &mut Vec<(String, Y)>, a: &ActivityCall) {
    m.push(("activity".into(), name(&a.activity.value)));
    call_input(m, &a.input, &a.args);
    options(m, &a.options);
    if let Some(c) = &a.compensate {
        let mut cm = Vec::new();
        activity(&mut cm, c);
        m.push(("compensate".into(), Y::Map(cm, false)));
    }
}

fn steps(list: &[Step]) -> Y {
    Y::Seq(list.iter().map(step).collect(), true)
}

fn step(s: &Step) -> Y {
    let mut m: Vec<(String, Y)> = Vec::new();
    if let Some(id) = &s.id {
        m.push(("id".into(), name(&id.value)));
    }
    if let Some(w) = &s.when {
        m.push(("if".into(), value(w)));
    }
    match &s.kind {
        StepKind::Activity(a) => activity(&mut m, a),
        StepKind::Workflow(c) => {
            m.push(("workflow".into(), name(&c.workflow.value)));
            call_input(&mut m, &c.input, &c.args);
            if let Some(v) = &c.workflow_id {
                m.push(("workflow_id".into(), value(v)));
            }
            if let Some(q) = &c.queue {
                m.push(("queue".into(), name(&q.value)));
            }
            if let Some(q) = &c.task_queue {
                m.push(("task_queue".into(), name(&q.value)));
            }
            if let Some(t) = &c.timeout {
                m.push(("timeout".into(), dur(t)));
            }
            if let Some(p) = &c.parent_close {
                m.push(("parent_close".into(), name(&p.value)));
            }
            if let Some(p) = &c.priority {
                m.push(("priority".into(), value(p)));
            }
            if let Some(r) = &c.retry {
                m.push(("retry".into(), retry(r)));
            }
        }
        StepKind::Block {
            steps: body,
            else_steps,
        } => {
            m.push(("steps".into(), steps(body)));
            if let Some(e) = else_steps {
                m.push(("else".into(), steps(e)));
            }
        }
        StepKind::Switch { arms, default } => {
            let mut cases: Vec<Y> = arms
                .iter()
                .map(|a| {
                    Y::Map(
                        vec![
                            ("when".into(), value(&a.when)),
                            ("steps".into(), steps(&a.steps)),
                        ],
                        true,
                    )
                })
                .collect();
            if let Some(d) = default {
                cases.push(Y::Map(vec![("default".into(), steps(d))], true));
            }
            m.push(("switch".into(), Y::Seq(cases, true)));
        }
        StepKind::Parallel { branches, race } => {
            let b = branches
                .iter()
                .map(|(n, body)| (n.value.clone(), steps(body)))
                .collect();
            m.push(("parallel".into(), Y::Map(b, true)));
            if *race {
                m.push(("race".into(), raw("true")));
            }
        }
        StepKind::Foreach {
            over,
            item,
            concurrency,
            steps: body,
        } => {
            m.push(("foreach".into(), value(over)));
            if let Some(i) = item {
                m.push(("as".into(), name(&i.value)));
            }
            if let Some(c) = concurrency {
                m.push(("concurrency".into(), raw(c.value.to_string())));
            }
            m.push(("steps".into(), steps(body)));
        }
        StepKind::While {
            cond,
            max_iterations,
            steps: body,
        } => {
            m.push(("while".into(), value(cond)));
            if let Some(n) = max_iterations {
                m.push(("max_iterations".into(), raw(n.value.to_string())));
            }
            m.push(("steps".into(), steps(body)));
        }
        StepKind::Wait {
            signal,
            others,
            mode,
            until,
            timeout,
            on_timeout,
        } => {
            let simple = until.is_none() && timeout.is_none() && on_timeout.is_none();
            if simple && *mode == WaitMode::One {
                m.push(("wait".into(), name(&signal.value)));
            } else {
                let mut w = match mode {
                    WaitMode::One => vec![("signal".into(), name(&signal.value))],
                    WaitMode::Any | WaitMode::All => {
                        let key = if *mode == WaitMode::Any { "any" } else { "all" };
                        let names = std::iter::once(signal)
                            .chain(others)
                            .map(|n| name(&n.value))
                            .collect();
                        vec![(key.into(), Y::Seq(names, false))]
                    }
                };
                if let Some(u) = until {
                    w.push(("until".into(), value(u)));
                }
                if let Some(t) = timeout {
                    w.push(("timeout".into(), dur(t)));
                }
                if let Some(o) = on_timeout {
                    w.push(("on_timeout".into(), name(&o.value)));
                }
                m.push(("wait".into(), Y::Map(w, false)));
            }
        }
        StepKind::Sleep(sleep) => {
            let y = match sleep {
                Sleep::For(d) => dur(d),
                Sleep::Until(v) => Y::Map(vec![("until".into(), value(v))], false),
                // The loader reads a number or a `${ }` string as an expression, anything else
                // as a duration: keep it an expression.
                Sleep::Expr(v) => match value(v) {
                    Y::Raw(r) if r.parse::<f64>().is_ok() => Y::Raw(r),
                    y @ Y::Str(_, Style::Template) => y,
                    _ => Y::Str(format!("${{ {} }}", print_text::value(v)), Style::Template),
                },
            };
            m.push(("sleep".into(), y));
        }
        StepKind::Set(set) => m.push(("set".into(), named(set))),
        StepKind::Try {
            steps: body,
            catches,
        } => {
            m.push(("try".into(), steps(body)));
            let cs = catches
                .iter()
                .map(|c| {
                    let mut cm = Vec::new();
                    if !c.errors.is_empty() {
                        cm.push((
                            "errors".into(),
                            Y::Seq(c.errors.iter().map(|e| name(&e.value)).collect(), false),
                        ));
                    }
                    if let Some(w) = &c.when {
                        cm.push(("when".into(), value(w)));
                    }
                    if let Some(n) = &c.name {
                        cm.push(("as".into(), name(&n.value)));
                    }
                    cm.push(("steps".into(), steps(&c.steps)));
                    Y::Map(cm, true)
                })
                .collect();
            m.push(("catch".into(), Y::Seq(cs, true)));
        }
        StepKind::Fail {
            error_type,
            message,
            details,
        } => {
            let mut f = vec![("type".into(), value(error_type))];
            if let Some(msg) = message {
                f.push(("message".into(), value(msg)));
            }
            if let Some(d) = details {
                f.push(("details".into(), value(d)));
            }
            m.push(("fail".into(), Y::Map(f, false)));
        }
        StepKind::Return(v) => m.push(("return".into(), value(v))),
        StepKind::Rethrow => m.push(("rethrow".into(), raw("true"))),
        StepKind::Use(n) => m.push(("use".into(), name(&n.value))),
    }
    Y::Map(m, true)
}

fn workflow(w: &Workflow) -> Y {
    let mut m: Vec<(String, Y)> = Vec::new();
    m.push(("workflow".into(), name(&w.name.value)));
    if let Some(d) = &w.description {
        m.push(("description".into(), name(&d.value)));
    }
    if let Some(q) = &w.queue {
        m.push(("queue".into(), name(&q.value)));
    }
    if let Some(t) = &w.timeout {
        m.push(("timeout".into(), dur(t)));
    }
    if let Some(p) = &w.priority {
        m.push(("priority".into(), value(p)));
    }
    if let Some(i) = &w.input {
        m.push(("input".into(), json(&i.value)));
    }
    if !w.vars.is_empty() {
        m.push(("vars".into(), named(&w.vars)));
    }
    if let Some(d) = &w.defaults {
        let mut dm = Vec::new();
        options(&mut dm, d);
        m.push(("defaults".into(), Y::Map(dm, false)));
    }
    if !w.signals.is_empty() {
        let signals = w
            .signals
            .iter()
            .map(|s| {
                let handler = if s.set.is_empty() {
                    Y::Map(Vec::new(), false)
                } else {
                    Y::Map(vec![("set".into(), named(&s.set))], false)
                };
                (s.name.value.clone(), handler)
            })
            .collect();
        m.push(("signals".into(), Y::Map(signals, true)));
    }
    if !w.updates.is_empty() {
        let updates = w
            .updates
            .iter()
            .map(|u| {
                let mut h = Vec::new();
                if let Some(v) = &u.validate {
                    h.push(("validate".into(), value(v)));
                }
                if let Some(v) = &u.message {
                    h.push(("message".into(), value(v)));
                }
                if !u.set.is_empty() {
                    h.push(("set".into(), named(&u.set)));
                }
                if !u.steps.is_empty() {
                    h.push(("steps".into(), steps(&u.steps)));
                }
                if let Some(v) = &u.result {
                    h.push(("result".into(), value(v)));
                }
                (u.name.value.clone(), Y::Map(h, false))
            })
            .collect();
        m.push(("updates".into(), Y::Map(updates, true)));
    }
    if !w.queries.is_empty() {
        m.push(("queries".into(), named(&w.queries)));
    }
    if !w.search_attributes.is_empty() {
        m.push(("search_attributes".into(), named(&w.search_attributes)));
    }
    if !w.memo.is_empty() {
        m.push(("memo".into(), named(&w.memo)));
    }
    if let Some(n) = &w.continue_as_new_after {
        m.push(("continue_as_new_after".into(), raw(n.value.to_string())));
    }
    if let Some(b) = &w.expose_status {
        m.push(("expose_status".into(), raw(b.value.to_string())));
    }
    m.push(("steps".into(), steps(&w.steps)));
    if let Some(o) = &w.output {
        m.push(("output".into(), value(o)));
    }
    if !w.schedules.is_empty() {
        let schedules = w
            .schedules
            .iter()
            .map(|s| {
                let mut sm = vec![("id".into(), name(&s.id.value))];
                if let Some(c) = &s.cron {
                    sm.push(("cron".into(), name(&c.value)));
                }
                if let Some(e) = &s.every {
                    sm.push(("every".into(), dur(e)));
                }
                if let Some(t) = &s.timezone {
                    sm.push(("timezone".into(), name(&t.value)));
                }
                if let Some(o) = &s.overlap {
                    sm.push(("overlap".into(), name(&o.value)));
                }
                if let Some(p) = &s.paused {
                    sm.push(("paused".into(), raw(p.value.to_string())));
                }
                if let Some(i) = &s.input {
                    sm.push(("input".into(), value(i)));
                }
                Y::Map(sm, false)
            })
            .collect();
        m.push(("schedules".into(), Y::Seq(schedules, true)));
    }
    Y::Map(m, true)
}
