//! AST → the text form in its canonical layout: the formatter (`stave fmt`) and the YAML → text
//! half of `stave convert`.
//!
//! Canonical means: a fixed order of declarations, two-space indentation, one step per line
//! with its options on the same line while it fits in [`WIDTH`] columns and one option per
//! continuation line otherwise, expressions in their canonical `Display`. Comments of a
//! formatted file are kept: each is written before the first item that follows it in the
//! source, or at the end of the line it followed.

use super::ast::*;
use super::duration;
use super::text::{self, Comment};
use crate::diagnostics::{Diagnostic, FileId, Span, Spanned};
use crate::expr::{Expr, ExprKind, Template, TemplatePart};
use serde_json::Value as Json;
use std::time::Duration;

/// Line width the layout aims for.
pub const WIDTH: usize = 100;

/// Prints a workflow in the canonical text layout, without comments.
pub fn print_text(w: &Workflow) -> String {
    Printer::new(&[]).workflow(w)
}

/// Prints a workflow, writing `comments` (from [`text::scan::scan`] of the source the
/// workflow was parsed from) near the items they preceded.
pub fn print_text_with_comments(w: &Workflow, comments: &[Comment]) -> String {
    Printer::new(comments).workflow(w)
}

/// Formats `.stave` source: the canonical layout with the comments kept. None when the file
/// has errors that stop it from being read (the diagnostics say which).
pub fn format(file: FileId, source: &str) -> (Option<String>, Vec<Diagnostic>) {
    let (w, diagnostics) = text::parse(file, source);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return (None, diagnostics);
    }
    let Some(w) = w else {
        return (None, diagnostics);
    };
    let comments = text::scan::scan(source).comments;
    (Some(print_text_with_comments(&w, &comments)), diagnostics)
}

struct Printer<'c> {
    out: String,
    comments: &'c [Comment],
    next: usize,
}

/// A name the grammar reads as `tname`.
pub(crate) fn is_tname(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// A name the grammar reads as `name`.
pub(crate) fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A CEL string literal.
pub(crate) fn quote(s: &str) -> String {
    Expr::new(ExprKind::String(s.to_string()), Span::default()).to_string()
}

/// A `key`: bare when the grammar reads it back as a name, else quoted.
fn key(s: &str) -> String {
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
fn fail_type(v: &Value) -> String {
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

fn dur(d: &Spanned<Duration>) -> String {
    duration::format(d.value)
}

fn name_or_string(n: &Name) -> String {
    if is_tname(&n.value) {
        n.value.clone()
    } else {
        quote(&n.value)
    }
}

/// `f(a: x, b: y)`, `f(x)`, `f()`, `f args [..]`.
fn call(name: &str, input: &Option<Value>, args: &Option<Spanned<Vec<Value>>>) -> String {
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

fn retry(r: &Retry) -> String {
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
fn options(o: &ActivityOptions) -> Vec<String> {
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
    out
}

fn activity_head(a: &ActivityCall) -> String {
    call(&a.activity.value, &a.input, &a.args)
}

/// The fields of `input { a: string, b?: number }` when the schema is exactly what the
/// compact form writes.
fn compact_fields(schema: &Json) -> Option<Vec<String>> {
    let obj = schema.as_object()?;
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    if keys != ["type", "properties"] && keys != ["type", "required", "properties"] {
        return None;
    }
    if obj.get("type")? != "object" {
        return None;
    }
    let properties = obj.get("properties")?.as_object()?;
    let required: Vec<&str> = match obj.get("required") {
        Some(r) => r
            .as_array()?
            .iter()
            .map(Json::as_str)
            .collect::<Option<_>>()?,
        None => Vec::new(),
    };
    if obj.contains_key("required") && required.is_empty() {
        return None;
    }
    // The compact form lists `required` in field order, each once.
    let in_order: Vec<&str> = properties
        .keys()
        .map(String::as_str)
        .filter(|k| required.contains(k))
        .collect();
    if in_order != required {
        return None;
    }
    let mut fields = Vec::new();
    for (k, t) in properties {
        let optional = if required.contains(&k.as_str()) {
            ""
        } else {
            "?"
        };
        fields.push(format!("{}{optional}: {}", key(k), compact_type(t)?));
    }
    Some(fields)
}

fn compact_object(schema: &Json) -> Option<String> {
    let fields = compact_fields(schema)?;
    if fields.is_empty() {
        return Some("{}".into());
    }
    Some(format!("{{ {} }}", fields.join(", ")))
}

fn compact_type(t: &Json) -> Option<String> {
    let obj = t.as_object()?;
    if obj.is_empty() {
        return Some("any".into());
    }
    let ty = obj.get("type")?.as_str()?;
    match (obj.len(), ty) {
        (1, "array") => Some("list".into()),
        (1, "object") => Some("map".into()),
        (1, "string" | "number" | "integer" | "boolean" | "null") => Some(ty.into()),
        (2, "array") => {
            let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
            (keys == ["type", "items"]).then_some(())?;
            Some(format!("[{}]", compact_type(obj.get("items")?)?))
        }
        _ => compact_object(t),
    }
}

/// JSON laid out for `input schema`: compact when short, else indented by `indent`.
fn json_text(v: &Json, indent: usize) -> String {
    let compact = v.to_string();
    if indent + compact.len() + 13 <= WIDTH {
        return compact;
    }
    let pretty = serde_json::to_string_pretty(v).unwrap_or(compact);
    let pad = " ".repeat(indent);
    pretty.replace('\n', &format!("\n{pad}"))
}

impl<'c> Printer<'c> {
    fn new(comments: &'c [Comment]) -> Self {
        Printer {
            out: String::new(),
            comments,
            next: 0,
        }
    }

    fn pad(&mut self, indent: usize) {
        for _ in 0..indent {
            self.out.push(' ');
        }
    }

    fn line(&mut self, indent: usize, text: &str) {
        self.pad(indent);
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn blank(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with("\n\n") && !self.out.ends_with("{\n") {
            self.out.push('\n');
        }
    }

    /// Writes the comments that come before `offset` in the source.
    fn comments_before(&mut self, offset: u32, indent: usize) {
        while let Some(c) = self.comments.get(self.next) {
            if c.start as u32 >= offset {
                break;
            }
            if !c.own_line && self.out.ends_with('\n') {
                // A trailing comment stays at the end of the last line written, above any
                // blank line already separating the next group.
                let kept = self.out.trim_end_matches('\n').len();
                let newlines = self.out.len() - kept;
                self.out.truncate(kept);
                self.out.push_str("  ");
                self.out.push_str(&c.text);
                for _ in 0..newlines {
                    self.out.push('\n');
                }
            } else {
                self.line(indent, &c.text);
            }
            self.next += 1;
        }
    }

    fn rest_of_comments(&mut self, indent: usize) {
        self.comments_before(u32::MAX, indent);
    }

    fn workflow(mut self, w: &Workflow) -> String {
        let first = w
            .version
            .as_ref()
            .map_or(w.span.start, |v| v.span.start.min(w.span.start));
        self.comments_before(first, 0);
        if let Some(v) = &w.version {
            self.line(0, &format!("stave {}", v.value));
            self.out.push('\n');
        }
        let mut header = format!("workflow {}", w.name.value);
        if let Some(q) = &w.queue {
            header.push_str(&format!(" on queue {}", q.value));
        }
        if let Some(t) = &w.timeout {
            header.push_str(&format!(" timeout {}", dur(t)));
        }
        header.push_str(" {");
        self.line(0, &header);
        let i = 2;
        if let Some(d) = &w.description {
            self.comments_before(d.span.start, i);
            self.line(i, &format!("description {}", quote(&d.value)));
        }
        if let Some(input) = &w.input {
            self.comments_before(input.span.start, i);
            match compact_fields(&input.value) {
                Some(fields) if fields.is_empty() => self.line(i, "input {}"),
                Some(fields) => {
                    let one = format!("input {{ {} }}", fields.join(", "));
                    if i + one.len() <= WIDTH {
                        self.line(i, &one);
                    } else {
                        self.line(i, "input {");
                        for f in &fields {
                            self.line(i + 2, f);
                        }
                        self.line(i, "}");
                    }
                }
                None => self.line(i, &format!("input schema {}", json_text(&input.value, i))),
            }
        }
        if !w.vars.is_empty() {
            self.blank();
            for (n, v) in &w.vars {
                self.comments_before(n.span.start, i);
                self.line(i, &format!("var {} = {}", n.value, value(v)));
            }
        }
        if let Some(d) = &w.defaults {
            self.blank();
            self.comments_before(d.span.start, i);
            let opts = options(d);
            let one = format!("defaults {{ {} }}", opts.join(" "));
            if opts.is_empty() {
                self.line(i, "defaults {}");
            } else if i + one.len() <= WIDTH {
                self.line(i, &one);
            } else {
                self.line(i, "defaults {");
                for o in &opts {
                    self.line(i + 2, o);
                }
                self.line(i, "}");
            }
        }
        if !w.signals.is_empty() || !w.queries.is_empty() {
            self.blank();
        }
        for s in &w.signals {
            self.comments_before(s.name.span.start, i);
            self.assignments(i, &format!("signal {}", s.name.value), &s.set, true);
        }
        for (n, v) in &w.queries {
            self.comments_before(n.span.start, i);
            self.line(i, &format!("query {} = {}", n.value, value(v)));
        }
        if !w.search_attributes.is_empty()
            || !w.memo.is_empty()
            || w.continue_as_new_after.is_some()
        {
            self.blank();
        }
        if !w.search_attributes.is_empty() {
            self.comments_before(w.search_attributes[0].0.span.start, i);
            self.keyed(i, "search_attributes", &w.search_attributes);
        }
        if !w.memo.is_empty() {
            self.comments_before(w.memo[0].0.span.start, i);
            self.keyed(i, "memo", &w.memo);
        }
        if let Some(n) = &w.continue_as_new_after {
            self.comments_before(n.span.start, i);
            self.line(i, &format!("continue_as_new_after {}", n.value));
        }
        if !w.steps.is_empty() {
            self.blank();
            self.steps(i, &w.steps);
        }
        if let Some(o) = &w.output {
            self.blank();
            self.comments_before(o.span.start, i);
            self.line(i, &format!("output {}", value(o)));
        }
        if !w.schedules.is_empty() {
            self.blank();
        }
        for s in &w.schedules {
            self.comments_before(s.span.start, i);
            self.schedule(i, s);
        }
        self.comments_before(w.span.end, i);
        self.line(0, "}");
        self.rest_of_comments(0);
        self.out
    }

    /// `HEAD { a = 1; b = 2 }` on one line when it fits, else one assignment per line.
    /// With `bare_when_empty`, no assignments print as `HEAD` alone.
    fn assignments(
        &mut self,
        indent: usize,
        head: &str,
        set: &[(Name, Value)],
        bare_when_empty: bool,
    ) {
        if set.is_empty() {
            self.line(
                indent,
                &if bare_when_empty {
                    head.to_string()
                } else {
                    format!("{head} {{}}")
                },
            );
            return;
        }
        let items: Vec<String> = set
            .iter()
            .map(|(n, v)| format!("{} = {}", n.value, value(v)))
            .collect();
        let one = format!("{head} {{ {} }}", items.join("; "));
        if indent + one.len() <= WIDTH {
            self.line(indent, &one);
        } else {
            self.line(indent, &format!("{head} {{"));
            for it in &items {
                self.line(indent + 2, it);
            }
            self.line(indent, "}");
        }
    }

    fn keyed(&mut self, indent: usize, head: &str, entries: &[(Name, Value)]) {
        let items: Vec<String> = entries
            .iter()
            .map(|(k, v)| format!("{}: {}", key(&k.value), value(v)))
            .collect();
        let one = format!("{head} {{ {} }}", items.join(", "));
        if indent + one.len() <= WIDTH {
            self.line(indent, &one);
        } else {
            self.line(indent, &format!("{head} {{"));
            for it in &items {
                self.line(indent + 2, it);
            }
            self.line(indent, "}");
        }
    }

    fn schedule(&mut self, indent: usize, s: &Schedule) {
        let mut clauses = Vec::new();
        if let Some(c) = &s.cron {
            clauses.push(format!("cron {}", quote(&c.value)));
        }
        if let Some(e) = &s.every {
            clauses.push(format!("every {}", dur(e)));
        }
        if let Some(t) = &s.timezone {
            clauses.push(format!("timezone {}", quote(&t.value)));
        }
        if let Some(o) = &s.overlap {
            clauses.push(format!("overlap {}", o.value));
        }
        if let Some(p) = &s.paused {
            clauses.push(format!("paused {}", p.value));
        }
        if let Some(i) = &s.input {
            clauses.push(format!("input {}", value(i)));
        }
        let head = format!("schedule {}", s.id.value);
        let one = format!("{head} {{ {} }}", clauses.join(" "));
        if clauses.is_empty() {
            self.line(indent, &format!("{head} {{}}"));
        } else if indent + one.len() <= WIDTH {
            self.line(indent, &one);
        } else {
            self.line(indent, &format!("{head} {{"));
            for c in &clauses {
                self.line(indent + 2, c);
            }
            self.line(indent, "}");
        }
    }

    fn steps(&mut self, indent: usize, steps: &[Step]) {
        for s in steps {
            self.step(indent, s);
        }
    }

    /// `{`, the steps, the comments left inside, `}` + `tail`.
    fn block(&mut self, indent: usize, steps: &[Step], end: u32, tail: &str) {
        let comment_inside = self
            .comments
            .get(self.next)
            .is_some_and(|c| (c.start as u32) < end);
        if steps.is_empty() && !comment_inside {
            self.out.push_str(" {}");
            self.out.push_str(tail);
            return;
        }
        self.out.push_str(" {\n");
        self.steps(indent + 2, steps);
        self.comments_before(end, indent + 2);
        self.pad(indent);
        self.out.push('}');
        self.out.push_str(tail);
    }

    fn step(&mut self, indent: usize, s: &Step) {
        self.comments_before(s.span.start, indent);
        let prefix =
            s.id.as_ref()
                .map_or(String::new(), |id| format!("step {} = ", id.value));
        let guard = s.when.as_ref().map(|w| format!("when {}", value(w)));
        // The end of the step in the source: comments before it stay inside its blocks.
        let end = s.span.end.saturating_sub(1);
        match &s.kind {
            StepKind::Activity(a) => {
                let mut clauses = options(&a.options);
                if let Some(c) = &a.compensate {
                    let mut comp = format!("compensate {}", activity_head(c));
                    for o in options(&c.options) {
                        comp.push(' ');
                        comp.push_str(&o);
                    }
                    clauses.push(comp);
                }
                clauses.extend(guard);
                self.clauses(indent, &format!("{prefix}{}", activity_head(a)), &clauses);
            }
            StepKind::Workflow(c) => {
                let mut clauses = Vec::new();
                if let Some(v) = &c.workflow_id {
                    clauses.push(format!("workflow_id {}", value(v)));
                }
                if let Some(q) = &c.queue {
                    clauses.push(format!("queue {}", q.value));
                }
                if let Some(q) = &c.task_queue {
                    clauses.push(format!("task_queue {}", name_or_string(q)));
                }
                if let Some(t) = &c.timeout {
                    clauses.push(format!("timeout {}", dur(t)));
                }
                if let Some(p) = &c.parent_close {
                    clauses.push(format!("parent_close {}", p.value));
                }
                if let Some(r) = &c.retry {
                    clauses.push(retry(r));
                }
                clauses.extend(guard);
                let head = format!(
                    "{prefix}workflow {}",
                    call(&c.workflow.value, &c.input, &c.args)
                );
                self.clauses(indent, &head, &clauses);
            }
            StepKind::Block { steps, else_steps } => {
                self.pad(indent);
                match &s.when {
                    Some(cond) => {
                        self.out.push_str(&format!("{prefix}if {}", value(cond)));
                        self.if_rest(indent, steps, else_steps.as_deref(), end);
                    }
                    None => {
                        self.out.push_str(&format!("{prefix}block"));
                        match else_steps {
                            Some(e) => {
                                self.block(indent, steps, end, " else");
                                self.block(indent, e, end, "\n");
                            }
                            None => self.block(indent, steps, end, "\n"),
                        }
                    }
                }
            }
            StepKind::Switch { arms, default } => {
                self.line(indent, &format!("{prefix}switch {{"));
                for arm in arms {
                    self.comments_before(arm.span.start, indent + 2);
                    self.pad(indent + 2);
                    self.out.push_str(&format!("case {}", value(&arm.when)));
                    self.block(indent + 2, &arm.steps, arm.span.end.saturating_sub(1), "\n");
                }
                if let Some(d) = default {
                    self.pad(indent + 2);
                    self.out.push_str("default");
                    self.block(indent + 2, d, end, "\n");
                }
                self.comments_before(end, indent + 2);
                self.pad(indent);
                self.out.push('}');
                self.tail(&guard);
            }
            StepKind::Parallel { branches, race } => {
                let kw = if *race { "race" } else { "parallel" };
                self.line(indent, &format!("{prefix}{kw} {{"));
                for (name, body) in branches {
                    self.comments_before(name.span.start, indent + 2);
                    self.pad(indent + 2);
                    self.out.push_str(&key(&name.value));
                    let body_end = body.last().map_or(name.span.end, |b| b.span.end);
                    self.block(indent + 2, body, body_end, "\n");
                }
                self.comments_before(end, indent + 2);
                self.pad(indent);
                self.out.push('}');
                self.tail(&guard);
            }
            StepKind::Foreach {
                over,
                item,
                concurrency,
                steps,
            } => {
                self.pad(indent);
                let item = item.as_ref().map_or("item", |i| i.value.as_str());
                self.out
                    .push_str(&format!("{prefix}for {item} in {}", value(over)));
                if let Some(c) = concurrency {
                    self.out.push_str(&format!(" concurrency {}", c.value));
                }
                self.block(indent, steps, end, "");
                self.tail(&guard);
            }
            StepKind::While {
                cond,
                max_iterations,
                steps,
            } => {
                self.pad(indent);
                self.out.push_str(&format!("{prefix}while {}", value(cond)));
                if let Some(m) = max_iterations {
                    self.out.push_str(&format!(" max_iterations {}", m.value));
                }
                self.block(indent, steps, end, "");
                self.tail(&guard);
            }
            StepKind::Wait {
                signal,
                until,
                timeout,
                on_timeout,
            } => {
                let mut clauses = Vec::new();
                if let Some(u) = until {
                    clauses.push(format!("until {}", value(u)));
                }
                if let Some(t) = timeout {
                    clauses.push(format!("timeout {}", dur(t)));
                }
                if let Some(o) = on_timeout {
                    clauses.push(format!("on_timeout {}", o.value));
                }
                clauses.extend(guard);
                self.clauses(indent, &format!("{prefix}wait {}", signal.value), &clauses);
            }
            StepKind::Sleep(sleep) => {
                let head = match sleep {
                    Sleep::For(d) => format!("{prefix}sleep {}", dur(d)),
                    Sleep::Expr(v) => format!("{prefix}sleep {}", value(v)),
                    Sleep::Until(v) => format!("{prefix}sleep until {}", value(v)),
                };
                self.clauses(indent, &head, &guard.into_iter().collect::<Vec<_>>());
            }
            StepKind::Set(set) => {
                if let ([(n, v)], true) = (set.as_slice(), s.id.is_none()) {
                    let head = format!("{} = {}", n.value, value(v));
                    self.clauses(indent, &head, &guard.into_iter().collect::<Vec<_>>());
                } else {
                    self.assignments(indent, &format!("{prefix}set"), set, false);
                    if let Some(g) = guard {
                        // The guard goes after the closing brace, before the newline.
                        self.out.pop();
                        self.out.push_str(&format!(" {g}\n"));
                    }
                }
            }
            StepKind::Try { steps, catches } => {
                self.pad(indent);
                self.out.push_str(&format!("{prefix}try"));
                let try_end = catches.first().map_or(end, |c| c.span.start);
                self.block(indent, steps, try_end, "");
                for c in catches {
                    let mut head = String::from(" catch");
                    if !c.errors.is_empty() {
                        let names: Vec<&str> = c.errors.iter().map(|n| n.value.as_str()).collect();
                        head.push(' ');
                        head.push_str(&names.join(", "));
                    }
                    if let Some(n) = &c.name {
                        head.push_str(&format!(" as {}", n.value));
                    }
                    if let Some(w) = &c.when {
                        head.push_str(&format!(" when {}", value(w)));
                    }
                    self.out.push_str(&head);
                    self.block(indent, &c.steps, c.span.end.saturating_sub(1), "");
                }
                self.tail(&guard);
            }
            StepKind::Fail {
                error_type,
                message,
                details,
            } => {
                let mut clauses = Vec::new();
                if let Some(m) = message {
                    clauses.push(format!("message {}", value(m)));
                }
                if let Some(d) = details {
                    clauses.push(format!("details {}", value(d)));
                }
                clauses.extend(guard);
                self.clauses(
                    indent,
                    &format!("{prefix}fail {}", fail_type(error_type)),
                    &clauses,
                );
            }
            StepKind::Return(v) => {
                let head = format!("{prefix}return {}", value(v));
                self.clauses(indent, &head, &guard.into_iter().collect::<Vec<_>>());
            }
            StepKind::Rethrow => {
                self.clauses(
                    indent,
                    &format!("{prefix}rethrow"),
                    &guard.into_iter().collect::<Vec<_>>(),
                );
            }
        }
    }

    /// After `if COND`: the block, and `else` with its block or a chained `else if`.
    fn if_rest(&mut self, indent: usize, steps: &[Step], else_steps: Option<&[Step]>, end: u32) {
        match else_steps {
            None => self.block(indent, steps, end, "\n"),
            Some(e) => {
                let else_start = e.first().map_or(end, |s| s.span.start);
                self.block(indent, steps, else_start, " else");
                match e {
                    [
                        Step {
                            id: None,
                            when: Some(cond),
                            kind: StepKind::Block { steps, else_steps },
                            span,
                        },
                    ] => {
                        self.out.push_str(&format!(" if {}", value(cond)));
                        self.if_rest(
                            indent,
                            steps,
                            else_steps.as_deref(),
                            span.end.saturating_sub(1),
                        );
                    }
                    _ => self.block(indent, e, end, "\n"),
                }
            }
        }
    }

    /// Ends a block step's line with its guard.
    fn tail(&mut self, guard: &Option<String>) {
        if let Some(g) = guard {
            self.out.push(' ');
            self.out.push_str(g);
        }
        self.out.push('\n');
    }

    /// `HEAD c1 c2 …` on one line when it fits, else one clause per continuation line.
    fn clauses(&mut self, indent: usize, head: &str, clauses: &[String]) {
        let one = std::iter::once(head.to_string())
            .chain(clauses.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        if indent + one.len() <= WIDTH || clauses.is_empty() {
            self.line(indent, &one);
        } else {
            self.line(indent, head);
            for c in clauses {
                self.line(indent + 4, c);
            }
        }
    }
}
