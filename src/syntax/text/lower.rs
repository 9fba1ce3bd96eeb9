//! pest pairs → [`ast::Workflow`], the same tree the YAML loader builds, with byte spans.
//!
//! The grammar has already fixed the shape, so this walks children by rule; it checks what a
//! grammar cannot: durations (E008), names that are reserved words (E062), things given twice
//! (E063), compact input types (E064), numbers out of range (E065), and each expression,
//! parsed by [`crate::expr::parse_expr`].

use super::Rule;
use crate::diagnostics::{Code, Diagnostic, FileId, Span, Spanned, did_you_mean};
use crate::expr::{self, Expr, ExprKind, Template, TemplatePart};
use crate::syntax::ast::*;
use crate::syntax::duration;
use pest::iterators::Pair;
use serde_json::{Map, Value as Json, json};
use std::time::Duration;

type P<'i> = Pair<'i, Rule>;

/// Words CEL reserves: a variable, step id or loop name spelt so could not be read back in an
/// expression (`steps.if` does not parse).
pub const RESERVED: &[&str] = &[
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// The types of the compact input form, and the JSON Schema each stands for.
pub const SCHEMA_TYPES: &[&str] = &[
    "string", "number", "integer", "boolean", "null", "list", "map", "any",
];

/// Lowers the `file` pair.
pub(super) fn workflow_file(file: FileId, pair: P<'_>) -> (Option<Workflow>, Vec<Diagnostic>) {
    let mut cx = Lower {
        file,
        diagnostics: Vec::new(),
    };
    let mut version = None;
    let mut workflow = None;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::version => version = p.into_inner().nth(1).and_then(|n| cx.int(&n)),
            Rule::workflow => workflow = Some(cx.workflow(p)),
            _ => {}
        }
    }
    let workflow = workflow.map(|mut w| {
        w.version = version;
        w
    });
    (workflow, cx.diagnostics)
}

struct Lower {
    file: FileId,
    diagnostics: Vec<Diagnostic>,
}

/// Punctuation and keywords carry no content: walks skip them.
fn is_token(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::lbrace
            | Rule::rbrace
            | Rule::lparen
            | Rule::rparen
            | Rule::lbracket
            | Rule::rbracket
            | Rule::eq
            | Rule::colon
            | Rule::comma
            | Rule::question
            | Rule::EOI
            | Rule::kw_stave
            | Rule::kw_workflow
            | Rule::kw_on
            | Rule::kw_queue
            | Rule::kw_task_queue
            | Rule::kw_timeout
            | Rule::kw_schedule_to_close
            | Rule::kw_schedule_to_start
            | Rule::kw_heartbeat
            | Rule::kw_retry
            | Rule::kw_max_attempts
            | Rule::kw_initial_interval
            | Rule::kw_backoff
            | Rule::kw_max_interval
            | Rule::kw_non_retryable
            | Rule::kw_summary
            | Rule::kw_args
            | Rule::kw_compensate
            | Rule::kw_description
            | Rule::kw_input
            | Rule::kw_schema
            | Rule::kw_var
            | Rule::kw_defaults
            | Rule::kw_signal
            | Rule::kw_query
            | Rule::kw_search_attributes
            | Rule::kw_memo
            | Rule::kw_continue_as_new_after
            | Rule::kw_output
            | Rule::kw_schedule
            | Rule::kw_cron
            | Rule::kw_every
            | Rule::kw_timezone
            | Rule::kw_overlap
            | Rule::kw_paused
            | Rule::kw_step
            | Rule::kw_when
            | Rule::kw_if
            | Rule::kw_else
            | Rule::kw_block
            | Rule::kw_switch
            | Rule::kw_case
            | Rule::kw_default
            | Rule::kw_parallel
            | Rule::kw_race
            | Rule::kw_for
            | Rule::kw_in
            | Rule::kw_concurrency
            | Rule::kw_while
            | Rule::kw_max_iterations
            | Rule::kw_wait
            | Rule::kw_until
            | Rule::kw_on_timeout
            | Rule::kw_sleep
            | Rule::kw_set
            | Rule::kw_try
            | Rule::kw_catch
            | Rule::kw_as
            | Rule::kw_fail
            | Rule::kw_message
            | Rule::kw_details
            | Rule::kw_return
            | Rule::kw_rethrow
            | Rule::kw_workflow_id
            | Rule::kw_parent_close
    )
}

/// The children of `p` that carry content.
fn parts(p: P<'_>) -> impl Iterator<Item = P<'_>> {
    p.into_inner().filter(|c| !is_token(c.as_rule()))
}

impl Lower {
    /// The span of `p` without the whitespace and comments pest skipped at its end (before an
    /// optional part that did not match): the end of its last token.
    fn span(&self, p: &P<'_>) -> Span {
        let mut end = p.as_span().end();
        let mut last = p.clone().into_inner().last();
        while let Some(child) = last {
            end = child.as_span().end();
            last = child.into_inner().last();
        }
        Span::new(self.file, p.as_span().start(), end)
    }

    fn name(&self, p: &P<'_>) -> Name {
        Spanned::new(p.as_str().to_string(), self.span(p))
    }

    /// A name that appears in expressions: a reserved word there is E062.
    fn binding(&mut self, p: &P<'_>, what: &str) -> Name {
        let name = self.name(p);
        if RESERVED.contains(&name.value.as_str()) {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::E062,
                    name.span,
                    format!("`{}` is a reserved word and cannot name {what}", name.value),
                )
                .label("reserved word")
                .help(format!("rename it, e.g. `{}_`", name.value)),
            );
        }
        name
    }

    fn twice(&mut self, span: Span, what: &str) {
        self.diagnostics.push(
            Diagnostic::new(Code::E063, span, format!("{what} is given twice"))
                .label("given again here")
                .help("keep one of them"),
        );
    }

    /// Sets `slot` unless it is already set (E063).
    fn once<T>(&mut self, slot: &mut Option<T>, value: Option<T>, span: Span, what: &str) {
        if slot.is_some() {
            self.twice(span, what);
        } else {
            *slot = value;
        }
    }

    fn int(&mut self, p: &P<'_>) -> Option<Spanned<i64>> {
        match p.as_str().parse::<i64>() {
            Ok(i) => Some(Spanned::new(i, self.span(p))),
            Err(_) => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::E065,
                        self.span(p),
                        format!("`{}` is too large for an integer", p.as_str()),
                    )
                    .label("out of range")
                    .help("integers must lie between -9223372036854775808 and 9223372036854775807"),
                );
                None
            }
        }
    }

    fn number(&mut self, p: &P<'_>) -> Option<Spanned<f64>> {
        match p.as_str().parse::<f64>() {
            Ok(f) if f.is_finite() => Some(Spanned::new(f, self.span(p))),
            _ => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::E065,
                        self.span(p),
                        format!("`{}` is out of range for a number", p.as_str()),
                    )
                    .label("out of range")
                    .help("write a smaller number"),
                );
                None
            }
        }
    }

    fn duration(&mut self, p: &P<'_>, what: &str) -> Option<Spanned<Duration>> {
        match duration::parse(p.as_str()) {
            Ok(d) => Some(Spanned::new(d, self.span(p))),
            Err(why) => {
                self.diagnostics.push(
                    Diagnostic::new(Code::E008, self.span(p), format!("invalid duration for {what}: {why}"))
                        .label("not a duration")
                        .help("write durations as `500ms`, `30s`, `5m`, `2h`, `1d`, `1h30m` or ISO 8601 `PT30S`"),
                );
                None
            }
        }
    }

    /// Parses the text of `p` (a `cel` pair) as an expression; comments inside are blanked so
    /// that offsets stay those of the file.
    fn expr(&mut self, p: &P<'_>) -> Option<Expr> {
        let start = p.as_span().start();
        let comments: Vec<(usize, usize)> = p
            .clone()
            .into_inner()
            .flatten()
            .filter(|c| c.as_rule() == Rule::cel_comment)
            .map(|c| (c.as_span().start() - start, c.as_span().end() - start))
            .collect();
        let result = if comments.is_empty() {
            expr::parse_expr(p.as_str(), self.file, start)
        } else {
            let mut bytes = p.as_str().as_bytes().to_vec();
            for (s, e) in comments {
                bytes[s..e].fill(b' ');
            }
            // Comments end at a line end, so blanking them keeps UTF-8 boundaries intact.
            let owned = String::from_utf8_lossy(&bytes).into_owned();
            expr::parse_expr(&owned, self.file, start)
        };
        result.map_err(|d| self.diagnostics.push(d)).ok()
    }

    /// A string literal, decoded by the expression parser (one set of escape rules).
    fn string(&mut self, p: &P<'_>) -> Option<Spanned<String>> {
        let e = self.expr(p)?;
        match e.kind {
            ExprKind::String(s) => Some(Spanned::new(s, self.span(p))),
            _ => {
                self.diagnostics.push(
                    Diagnostic::new(Code::E004, self.span(p), "expected a text string here")
                        .label("not a text string")
                        .help("write the text in double quotes, e.g. \"nightly\""),
                );
                None
            }
        }
    }

    /// A `key`: a name or a string.
    fn key(&mut self, p: P<'_>) -> Option<Name> {
        let inner = p.into_inner().next()?;
        match inner.as_rule() {
            Rule::string => self.string(&inner),
            _ => Some(self.name(&inner)),
        }
    }

    fn template(&mut self, p: &P<'_>) -> ValueKind {
        let raw = p.as_str();
        let content = &raw[1..raw.len() - 1];
        let whole = self.span(p);
        let start = p.as_span().start() + 1;
        let parsed = if content.contains('\\') {
            let mut out = String::with_capacity(content.len());
            let mut chars = content.chars();
            while let Some(c) = chars.next() {
                match (c, chars.clone().next()) {
                    ('\\', Some(n @ ('`' | '\\'))) => {
                        out.push(n);
                        chars.next();
                    }
                    _ => out.push(c),
                }
            }
            expr::parse_template(&out, self.file, None, whole)
        } else {
            expr::parse_template(content, self.file, Some(start), whole)
        };
        match parsed {
            Ok(t) => ValueKind::Str(t),
            Err(d) => {
                self.diagnostics.push(d);
                ValueKind::Null
            }
        }
    }

    /// A `value` pair.
    fn value(&mut self, p: P<'_>) -> Value {
        let span = self.span(&p);
        let Some(inner) = p.into_inner().next() else {
            return Value {
                kind: ValueKind::Null,
                span,
            };
        };
        let kind = match inner.as_rule() {
            Rule::template => self.template(&inner),
            Rule::cel => self.expr(&inner).map_or(ValueKind::Null, ValueKind::Expr),
            Rule::data_map => ValueKind::Map(
                parts(inner)
                    .filter_map(|entry| {
                        let mut it = parts(entry);
                        let key = it.next().and_then(|k| self.string(&k));
                        let value = it.next().map(|v| self.value(v));
                        key.zip(value)
                    })
                    .collect(),
            ),
            Rule::data_list => ValueKind::List(parts(inner).map(|v| self.value(v)).collect()),
            _ => ValueKind::Null,
        };
        Value { kind, span }
    }

    fn workflow(&mut self, p: P<'_>) -> Workflow {
        let span = self.span(&p);
        let mut children = parts(p);
        let name = children
            .next()
            .map(|n| self.name(&n))
            .unwrap_or_else(|| Spanned::new(String::new(), span));
        let mut w = Workflow {
            file: self.file,
            span,
            version: None,
            name,
            description: None,
            queue: None,
            timeout: None,
            input: None,
            vars: Vec::new(),
            defaults: None,
            signals: Vec::new(),
            queries: Vec::new(),
            steps: Vec::new(),
            output: None,
            schedules: Vec::new(),
            search_attributes: Vec::new(),
            memo: Vec::new(),
            continue_as_new_after: None,
        };
        let mut search_attributes = None;
        let mut memo = None;
        for c in children {
            match c.as_rule() {
                Rule::header_clause => {
                    let span = self.span(&c);
                    let is_queue =
                        c.clone().into_inner().next().map(|k| k.as_rule()) == Some(Rule::kw_on);
                    let Some(arg) = parts(c).next() else { continue };
                    if is_queue {
                        let q = Some(self.name(&arg));
                        self.once(&mut w.queue, q, span, "the workflow's queue");
                    } else {
                        let d = self.duration(&arg, "the workflow `timeout`");
                        self.once(&mut w.timeout, d, span, "the workflow's timeout");
                    }
                }
                Rule::declaration => {
                    if let Some(d) = c.into_inner().next() {
                        self.declaration(d, &mut w, &mut search_attributes, &mut memo);
                    }
                }
                Rule::statement => {
                    if let Some(s) = self.statement(c) {
                        w.steps.push(s);
                    }
                }
                _ => {}
            }
        }
        w.search_attributes = search_attributes.unwrap_or_default();
        w.memo = memo.unwrap_or_default();
        self.check_unique(w.vars.iter().map(|(n, _)| n), "variable");
        self.check_unique(w.signals.iter().map(|s| &s.name), "signal");
        self.check_unique(w.queries.iter().map(|(n, _)| n), "query");
        self.check_unique(w.schedules.iter().map(|s| &s.id), "schedule");
        w
    }

    fn check_unique<'n>(&mut self, names: impl Iterator<Item = &'n Name>, what: &str) {
        let mut seen: Vec<&Name> = Vec::new();
        for n in names {
            if let Some(first) = seen.iter().find(|s| s.value == n.value) {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::E063,
                        n.span,
                        format!("{what} `{}` is declared twice", n.value),
                    )
                    .label("declared again here")
                    .with_label(first.span, "first declared here")
                    .help("rename one of them, or delete one"),
                );
            } else {
                seen.push(n);
            }
        }
    }

    fn declaration(
        &mut self,
        d: P<'_>,
        w: &mut Workflow,
        search_attributes: &mut Option<Vec<(Name, Value)>>,
        memo: &mut Option<Vec<(Name, Value)>>,
    ) {
        let span = self.span(&d);
        let rule = d.as_rule();
        let mut it = parts(d);
        match rule {
            Rule::description_decl => {
                let s = it.next().and_then(|s| self.string(&s));
                self.once(&mut w.description, s, span, "`description`");
            }
            Rule::input_decl => {
                let schema = it.next().and_then(|s| self.schema(s));
                self.once(&mut w.input, schema, span, "`input`");
            }
            Rule::var_decl => {
                if let (Some(n), Some(v)) = (it.next(), it.next()) {
                    let name = self.binding(&n, "a variable");
                    let value = self.value(v);
                    w.vars.push((name, value));
                }
            }
            Rule::defaults_decl => {
                let mut options = ActivityOptions {
                    span,
                    ..ActivityOptions::default()
                };
                let mut seen = Vec::new();
                for o in it {
                    self.option(o, &mut options, &mut seen);
                }
                self.once(&mut w.defaults, Some(options), span, "`defaults`");
            }
            Rule::signal_decl => {
                let Some(n) = it.next() else { return };
                let name = self.name(&n);
                let mut params = Vec::new();
                let mut set = Vec::new();
                for c in it {
                    match c.as_rule() {
                        Rule::signal_params => {
                            params = parts(c)
                                .map(|p| self.binding(&p, "a signal parameter"))
                                .collect();
                        }
                        Rule::assignments => set = self.assignments(c),
                        _ => {}
                    }
                }
                let params: Vec<String> = params.into_iter().map(|p| p.value).collect();
                if !params.is_empty() {
                    for (_, v) in &mut set {
                        rewrite_params_in_value(v, &params);
                    }
                }
                w.signals.push(Signal { name, set, span });
            }
            Rule::query_decl => {
                if let (Some(n), Some(v)) = (it.next(), it.next()) {
                    let name = self.name(&n);
                    let value = self.value(v);
                    w.queries.push((name, value));
                }
            }
            Rule::search_attributes_decl => {
                let entries = it.next().map(|k| self.keyed_values(k));
                self.once(search_attributes, entries, span, "`search_attributes`");
            }
            Rule::memo_decl => {
                let entries = it.next().map(|k| self.keyed_values(k));
                self.once(memo, entries, span, "`memo`");
            }
            Rule::continue_decl => {
                let n = it
                    .next()
                    .and_then(|n| self.int(&n))
                    .map(|i| Spanned::new(i.value.max(0) as u64, i.span));
                self.once(
                    &mut w.continue_as_new_after,
                    n,
                    span,
                    "`continue_as_new_after`",
                );
            }
            Rule::output_decl => {
                let v = it.next().map(|v| self.value(v));
                self.once(&mut w.output, v, span, "`output`");
            }
            Rule::schedule_decl => {
                if let Some(s) = self.schedule(span, it) {
                    w.schedules.push(s);
                }
            }
            _ => {}
        }
    }

    fn keyed_values(&mut self, p: P<'_>) -> Vec<(Name, Value)> {
        let mut out: Vec<(Name, Value)> = Vec::new();
        for entry in parts(p) {
            let mut it = parts(entry);
            let key = it.next().and_then(|k| self.key(k));
            let value = it.next().map(|v| self.value(v));
            if let (Some(k), Some(v)) = (key, value) {
                if out.iter().any(|(o, _)| o.value == k.value) {
                    self.twice(k.span, &format!("`{}`", k.value));
                    continue;
                }
                out.push((k, v));
            }
        }
        out
    }

    fn schedule<'i>(
        &mut self,
        span: Span,
        mut it: impl Iterator<Item = P<'i>>,
    ) -> Option<Schedule> {
        let id = self.name(&it.next()?);
        let mut s = Schedule {
            id,
            cron: None,
            every: None,
            timezone: None,
            overlap: None,
            paused: None,
            input: None,
            span,
        };
        for clause in it {
            let cspan = self.span(&clause);
            let mut inner = clause.into_inner();
            let (Some(kw), Some(arg)) = (inner.next(), inner.next()) else {
                continue;
            };
            match kw.as_rule() {
                Rule::kw_cron => {
                    let v = self.string(&arg);
                    self.once(&mut s.cron, v, cspan, "`cron`");
                }
                Rule::kw_every => {
                    let v = self.duration(&arg, "`every`");
                    self.once(&mut s.every, v, cspan, "`every`");
                }
                Rule::kw_timezone => {
                    let v = self.string(&arg);
                    self.once(&mut s.timezone, v, cspan, "`timezone`");
                }
                Rule::kw_overlap => {
                    let v = Some(self.name(&arg));
                    self.once(&mut s.overlap, v, cspan, "`overlap`");
                }
                Rule::kw_paused => {
                    let v = Some(Spanned::new(arg.as_str() == "true", self.span(&arg)));
                    self.once(&mut s.paused, v, cspan, "`paused`");
                }
                Rule::kw_input => {
                    let v = Some(self.value(arg));
                    self.once(&mut s.input, v, cspan, "the schedule's `input`");
                }
                _ => {}
            }
        }
        Some(s)
    }

    fn schema(&mut self, p: P<'_>) -> Option<Spanned<Json>> {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::json => match serde_json::from_str::<Json>(p.as_str()) {
                Ok(v) => Some(Spanned::new(v, span)),
                Err(e) => {
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::E060,
                            span,
                            format!("the input schema is not valid JSON: {e}"),
                        )
                        .label("not JSON")
                        .help("write JSON: double-quoted strings, no trailing commas"),
                    );
                    None
                }
            },
            _ => Some(Spanned::new(self.schema_object(p), span)),
        }
    }

    fn schema_object(&mut self, p: P<'_>) -> Json {
        let mut required = Vec::new();
        let mut properties = Map::new();
        for field in parts(p) {
            let optional = field
                .clone()
                .into_inner()
                .any(|c| c.as_rule() == Rule::question);
            let mut it = parts(field);
            let (Some(k), Some(t)) = (it.next(), it.next()) else {
                continue;
            };
            let Some(key) = self.key(k) else { continue };
            let ty = self.schema_type(t);
            if properties.contains_key(&key.value) {
                self.twice(key.span, &format!("field `{}`", key.value));
                continue;
            }
            if !optional {
                required.push(Json::String(key.value.clone()));
            }
            properties.insert(key.value, ty);
        }
        let mut out = Map::new();
        out.insert("type".into(), json!("object"));
        if !required.is_empty() {
            out.insert("required".into(), Json::Array(required));
        }
        out.insert("properties".into(), Json::Object(properties));
        Json::Object(out)
    }

    fn schema_type(&mut self, p: P<'_>) -> Json {
        let Some(inner) = p.into_inner().next() else {
            return json!({});
        };
        match inner.as_rule() {
            Rule::schema_object => self.schema_object(inner),
            Rule::schema_list => {
                let items = parts(inner)
                    .next()
                    .map_or(json!({}), |t| self.schema_type(t));
                json!({"type": "array", "items": items})
            }
            _ => match inner.as_str() {
                "list" => json!({"type": "array"}),
                "map" => json!({"type": "object"}),
                "any" => json!({}),
                t @ ("string" | "number" | "integer" | "boolean" | "null") => json!({ "type": t }),
                other => {
                    let mut d = Diagnostic::new(
                        Code::E064,
                        self.span(&inner),
                        format!("`{other}` is not a type of the compact input form"),
                    )
                    .label("unknown type");
                    d.help = Some(
                        did_you_mean(other, SCHEMA_TYPES.iter().copied()).unwrap_or_else(|| {
                            format!(
                                "use one of {}, `[T]` for a list of T, `{{ … }}` for an object, or \
                             `input schema {{ … }}` with a JSON Schema",
                                SCHEMA_TYPES.join(", ")
                            )
                        }),
                    );
                    self.diagnostics.push(d);
                    json!({})
                }
            },
        }
    }

    /// Applies one `option` pair; `seen` holds the options already given (E063 on repeats).
    fn option(&mut self, p: P<'_>, o: &mut ActivityOptions, seen: &mut Vec<&'static str>) {
        let span = self.span(&p);
        let mut inner = p.into_inner();
        let Some(first) = inner.next() else { return };
        if first.as_rule() == Rule::retry {
            if seen.contains(&"retry") {
                self.twice(span, "`retry`");
            } else {
                seen.push("retry");
                o.retry = Some(self.retry(first));
            }
            return;
        }
        let Some(arg) = inner.next() else { return };
        let key: &'static str = match first.as_rule() {
            Rule::kw_queue => "queue",
            Rule::kw_task_queue => "task_queue",
            Rule::kw_timeout => "timeout",
            Rule::kw_schedule_to_close => "schedule_to_close",
            Rule::kw_schedule_to_start => "schedule_to_start",
            Rule::kw_heartbeat => "heartbeat",
            _ => "summary",
        };
        if seen.contains(&key) {
            self.twice(span, &format!("`{key}`"));
            return;
        }
        seen.push(key);
        let what = format!("`{key}`");
        match key {
            "queue" => o.queue = Some(self.name(&arg)),
            "task_queue" => o.task_queue = self.name_or_string(&arg),
            "timeout" => o.timeout = self.duration(&arg, &what),
            "schedule_to_close" => o.schedule_to_close = self.duration(&arg, &what),
            "schedule_to_start" => o.schedule_to_start = self.duration(&arg, &what),
            "heartbeat" => o.heartbeat = self.duration(&arg, &what),
            _ => o.summary = Some(self.value(arg)),
        }
    }

    fn name_or_string(&mut self, p: &P<'_>) -> Option<Name> {
        match p.as_rule() {
            Rule::string => self.string(p),
            _ => Some(self.name(p)),
        }
    }

    fn retry(&mut self, p: P<'_>) -> Retry {
        let mut r = Retry {
            span: self.span(&p),
            ..Retry::default()
        };
        let mut seen: Vec<Rule> = Vec::new();
        for clause in parts(p) {
            let span = self.span(&clause);
            let mut inner = clause.into_inner();
            let (Some(kw), Some(arg)) = (inner.next(), inner.next()) else {
                continue;
            };
            if seen.contains(&kw.as_rule()) {
                self.twice(span, &format!("`{}`", kw.as_str()));
                continue;
            }
            seen.push(kw.as_rule());
            match kw.as_rule() {
                Rule::kw_max_attempts => r.max_attempts = self.int(&arg),
                Rule::kw_initial_interval => {
                    r.initial_interval = self.duration(&arg, "`initial_interval`")
                }
                Rule::kw_backoff => r.backoff = self.number(&arg),
                Rule::kw_max_interval => r.max_interval = self.duration(&arg, "`max_interval`"),
                _ => r.non_retryable = parts(arg).map(|n| self.name(&n)).collect(),
            }
        }
        r
    }

    fn assignments(&mut self, p: P<'_>) -> Vec<(Name, Value)> {
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

    fn assignment(&mut self, p: P<'_>) -> Option<(Name, Value)> {
        let mut it = parts(p);
        let name = self.binding(&it.next()?, "a variable");
        let value = self.value(it.next()?);
        Some((name, value))
    }

    fn block(&mut self, p: P<'_>) -> Vec<Step> {
        parts(p).filter_map(|s| self.statement(s)).collect()
    }

    fn guard(&mut self, p: P<'_>) -> Option<Value> {
        parts(p).next().map(|v| self.value(v))
    }

    fn statement(&mut self, p: P<'_>) -> Option<Step> {
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
                let mut item = None;
                let mut over = None;
                let mut concurrency = None;
                let mut steps = Vec::new();
                for c in parts(p) {
                    match c.as_rule() {
                        Rule::name => item = Some(self.binding(&c, "a loop variable")),
                        Rule::value => over = Some(self.value(c)),
                        Rule::int => concurrency = self.int(&c),
                        _ => steps = self.block(c),
                    }
                }
                StepKind::Foreach {
                    over: over?,
                    item,
                    concurrency,
                    steps,
                }
            }
            Rule::while_step => {
                let mut cond = None;
                let mut max_iterations = None;
                let mut steps = Vec::new();
                for c in parts(p) {
                    match c.as_rule() {
                        Rule::value => cond = Some(self.value(c)),
                        Rule::int => max_iterations = self.int(&c),
                        _ => steps = self.block(c),
                    }
                }
                StepKind::While {
                    cond: cond?,
                    max_iterations,
                    steps,
                }
            }
            Rule::wait_step => {
                let mut it = parts(p);
                let signal = self.name(&it.next()?);
                let (mut until, mut timeout, mut on_timeout) = (None, None, None);
                for clause in it {
                    let cspan = self.span(&clause);
                    let mut inner = clause.into_inner();
                    let (Some(kw), Some(arg)) = (inner.next(), inner.next()) else {
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
                    let cspan = self.span(&clause);
                    let mut inner = clause.into_inner();
                    let (Some(kw), Some(arg)) = (inner.next(), inner.next()) else {
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

    /// `call_input`: the input and the positional arguments.
    fn call_input(&mut self, p: P<'_>) -> (Option<Value>, Option<Spanned<Vec<Value>>>) {
        let mut input = None;
        let mut args = None;
        for c in parts(p) {
            match c.as_rule() {
                Rule::named_args => {
                    let span = self.span(&c);
                    let mut entries: Vec<(Name, Value)> = Vec::new();
                    for arg in parts(c) {
                        let mut it = parts(arg);
                        let (Some(k), Some(v)) = (it.next(), it.next()) else {
                            continue;
                        };
                        let key = self.name(&k);
                        let value = self.value(v);
                        if entries.iter().any(|(n, _)| n.value == key.value) {
                            self.twice(key.span, &format!("input `{}`", key.value));
                            continue;
                        }
                        entries.push((key, value));
                    }
                    input = Some(Value {
                        kind: ValueKind::Map(entries),
                        span,
                    });
                }
                Rule::value => input = Some(self.value(c)),
                Rule::args_clause => {
                    let span = self.span(&c);
                    let items = parts(c).map(|v| self.value(v)).collect();
                    args = Some(Spanned::new(items, span));
                }
                _ => {}
            }
        }
        (input, args)
    }

    fn activity_call(&mut self, p: P<'_>, span: Span) -> Option<ActivityCall> {
        let mut it = parts(p);
        let activity = self.name(&it.next()?);
        let (input, args) = self.call_input(it.next()?);
        let mut options = ActivityOptions {
            span,
            ..ActivityOptions::default()
        };
        let mut seen = Vec::new();
        for o in it {
            self.option(o, &mut options, &mut seen);
        }
        Some(ActivityCall {
            activity,
            input,
            args,
            options,
            compensate: None,
        })
    }

    fn child(&mut self, p: P<'_>) -> Option<ChildCall> {
        let mut it = parts(p);
        let workflow = self.name(&it.next()?);
        let (input, args) = self.call_input(it.next()?);
        let mut c = ChildCall {
            workflow,
            input,
            args,
            workflow_id: None,
            queue: None,
            task_queue: None,
            timeout: None,
            parent_close: None,
            retry: None,
        };
        for clause in it {
            let cspan = self.span(&clause);
            let mut inner = clause.into_inner();
            let Some(kw) = inner.next() else { continue };
            if kw.as_rule() == Rule::retry {
                let r = Some(self.retry(kw));
                self.once(&mut c.retry, r, cspan, "`retry`");
                continue;
            }
            let Some(arg) = inner.next() else { continue };
            match kw.as_rule() {
                Rule::kw_workflow_id => {
                    let v = Some(self.value(arg));
                    self.once(&mut c.workflow_id, v, cspan, "`workflow_id`");
                }
                Rule::kw_queue => {
                    let v = Some(self.name(&arg));
                    self.once(&mut c.queue, v, cspan, "`queue`");
                }
                Rule::kw_task_queue => {
                    let v = self.name_or_string(&arg);
                    self.once(&mut c.task_queue, v, cspan, "`task_queue`");
                }
                Rule::kw_timeout => {
                    let v = self.duration(&arg, "the child workflow `timeout`");
                    self.once(&mut c.timeout, v, cspan, "`timeout`");
                }
                _ => {
                    let v = Some(self.name(&arg));
                    self.once(&mut c.parent_close, v, cspan, "`parent_close`");
                }
            }
        }
        Some(c)
    }
}

/// `signal approve(by) { approver = by }`: a parameter is a field of the signal's payload, so
/// every free `by` becomes `signal.by` (with the span of the `by` it replaces).
fn rewrite_params_in_value(v: &mut Value, params: &[String]) {
    match &mut v.kind {
        ValueKind::Expr(e) => rewrite_params(e, params, &mut Vec::new()),
        ValueKind::Str(Template::Expr(e)) => rewrite_params(e, params, &mut Vec::new()),
        ValueKind::Str(Template::Interp(parts)) => {
            for part in parts {
                if let TemplatePart::Expr(e) = part {
                    rewrite_params(e, params, &mut Vec::new());
                }
            }
        }
        ValueKind::List(items) => items
            .iter_mut()
            .for_each(|i| rewrite_params_in_value(i, params)),
        ValueKind::Map(entries) => entries
            .iter_mut()
            .for_each(|(_, i)| rewrite_params_in_value(i, params)),
        _ => {}
    }
}

fn rewrite_params(e: &mut Expr, params: &[String], bound: &mut Vec<String>) {
    match &mut e.kind {
        ExprKind::Ident(name) if params.contains(name) && !bound.contains(name) => {
            let field = expr::ast::Name {
                name: name.clone(),
                span: e.span,
            };
            let target = Expr::new(ExprKind::Ident("signal".into()), e.span);
            e.kind = ExprKind::Member {
                target: Box::new(target),
                field,
            };
        }
        ExprKind::Null
        | ExprKind::Bool(_)
        | ExprKind::Int(_)
        | ExprKind::Double(_)
        | ExprKind::String(_)
        | ExprKind::Ident(_) => {}
        ExprKind::List(items) => items
            .iter_mut()
            .for_each(|i| rewrite_params(i, params, bound)),
        ExprKind::Map(entries) => {
            for (k, v) in entries {
                rewrite_params(k, params, bound);
                rewrite_params(v, params, bound);
            }
        }
        ExprKind::Member { target, .. } | ExprKind::Has { target, .. } => {
            rewrite_params(target, params, bound)
        }
        ExprKind::Index { target, index } => {
            rewrite_params(target, params, bound);
            rewrite_params(index, params, bound);
        }
        ExprKind::Call { target, args, .. } => {
            if let Some(t) = target {
                rewrite_params(t, params, bound);
            }
            args.iter_mut()
                .for_each(|a| rewrite_params(a, params, bound));
        }
        ExprKind::Unary { operand, .. } => rewrite_params(operand, params, bound),
        ExprKind::Binary { lhs, rhs, .. } => {
            rewrite_params(lhs, params, bound);
            rewrite_params(rhs, params, bound);
        }
        ExprKind::Cond {
            cond,
            then,
            otherwise,
        } => {
            rewrite_params(cond, params, bound);
            rewrite_params(then, params, bound);
            rewrite_params(otherwise, params, bound);
        }
        ExprKind::Macro {
            target,
            var,
            filter,
            body,
            ..
        } => {
            rewrite_params(target, params, bound);
            bound.push(var.name.clone());
            if let Some(f) = filter {
                rewrite_params(f, params, bound);
            }
            rewrite_params(body, params, bound);
            bound.pop();
        }
    }
}
