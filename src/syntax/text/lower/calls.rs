//! Activity and child workflow calls, with their activity options and retry policies.
//!
//! The input and positional arguments, each option at most once (E063), the child's own
//! clauses.

use super::{Lower, P, parts};
use crate::diagnostics::{Span, Spanned};
use crate::syntax::ast::*;
use crate::syntax::text::Rule;

impl Lower {
    /// The `option` pairs of an activity call or of `defaults`, spanning `span`.
    pub(super) fn options<'i>(
        &mut self,
        span: Span,
        pairs: impl Iterator<Item = P<'i>>,
    ) -> ActivityOptions {
        let mut options = ActivityOptions {
            span,
            ..ActivityOptions::default()
        };
        let mut seen = Vec::new();
        for o in pairs {
            self.option(o, &mut options, &mut seen);
        }
        options
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
            Rule::kw_priority => "priority",
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
            "priority" => o.priority = Some(self.value(arg)),
            _ => o.summary = Some(self.value(arg)),
        }
    }

    fn retry(&mut self, p: P<'_>) -> Retry {
        let mut r = Retry {
            span: self.span(&p),
            ..Retry::default()
        };
        let mut seen: Vec<Rule> = Vec::new();
        for clause in parts(p) {
            let Some((span, kw, arg)) = self.clause(clause) else {
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

    pub(super) fn activity_call(&mut self, p: P<'_>, span: Span) -> Option<ActivityCall> {
        let mut it = parts(p);
        let activity = self.name(&it.next()?);
        let (input, args) = self.call_input(it.next()?);
        let options = self.options(span, it);
        Some(ActivityCall {
            activity,
            input,
            args,
            options,
            compensate: None,
        })
    }

    pub(super) fn child(&mut self, p: P<'_>) -> Option<ChildCall> {
        let mut it = parts(p);
        let workflow = self.name(&it.next()?);
        let (input, args) = self.call_input(it.next()?);
        let mut c = ChildCall::new(workflow, input, args);
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
                Rule::kw_priority => {
                    let v = Some(self.value(arg));
                    self.once(&mut c.priority, v, cspan, "`priority`");
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
