//! Activity and child workflow calls: the input, positional arguments, activity options,
//! retry policies and the child's own clauses.
//!
//! Invariant (the reader's): a call is answered only as `activity_step`, `child_step` and
//! `option` in the grammar, lowered, answer it; an option's keyword without its argument,
//! or an option given twice, gives up.

use super::{Reader, once};
use crate::diagnostics::Spanned;
use crate::syntax::ast::*;

/// What an input and positional arguments read to.
type CallInput = (Option<Value>, Option<Spanned<Vec<Value>>>);

impl Reader<'_> {
    /// `activity_call ~ (compensate activity_call)?`.
    pub(super) fn activity_step(&mut self) -> Option<StepKind> {
        let start = self.pos;
        let mut call = self.activity_call()?;
        if self.kw("compensate") {
            let at = self.pos;
            let mut c = self.activity_call()?;
            c.options.span = self.span(at);
            call.compensate = Some(Box::new(c));
        }
        call.options.span = self.span(start);
        Some(StepKind::Activity(call))
    }

    /// `NAME call_input option*` (the options' span is the caller's to set).
    fn activity_call(&mut self) -> Option<ActivityCall> {
        let activity = self.tname()?;
        let (input, args) = self.call_input()?;
        let mut options = ActivityOptions::default();
        let mut seen = Vec::new();
        while self.option(&mut options, &mut seen)? {}
        Some(ActivityCall {
            activity,
            input,
            args,
            options,
            compensate: None,
        })
    }

    /// `call_input`: `(input)`, `(a: x, b: y)` or `()`, then `args [..]`; or `args [..]`.
    fn call_input(&mut self) -> Option<CallInput> {
        if self.punct(b'(').is_none() {
            return Some((None, Some(self.args_clause()?)));
        }
        let input = if self.punct(b')').is_some() {
            None
        } else {
            let v = if self.named_start() {
                self.named_args()?
            } else {
                self.value()?
            };
            self.punct(b')')?;
            Some(v)
        };
        let args = if self.is_kw("args") {
            Some(self.args_clause()?)
        } else {
            None
        };
        Some((input, args))
    }

    /// `named_start`: a name, ASCII whitespace and `:`.
    fn named_start(&self) -> bool {
        if !self.peek().is_some_and(super::is_ident_start) {
            return false;
        }
        let name = self.run(self.pos + 1, super::is_ident);
        let colon = self.run(name, |c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'));
        self.at(colon) == Some(b':')
    }

    /// `named_args`: `a: x, b: y` as a map, each name once.
    fn named_args(&mut self) -> Option<Value> {
        let start = self.pos;
        let mut entries: Vec<(Name, Value)> = Vec::new();
        loop {
            let key = self.name()?;
            self.punct(b':')?;
            let value = self.value()?;
            if entries.iter().any(|(k, _)| k.value == key.value) {
                return None;
            }
            entries.push((key, value));
            if self.punct(b',').is_none() || self.peek() == Some(b')') {
                break;
            }
        }
        Some(Value {
            kind: ValueKind::Map(entries),
            span: self.span(start),
        })
    }

    /// `args [v, …]`.
    fn args_clause(&mut self) -> Option<Spanned<Vec<Value>>> {
        let start = self.pos;
        self.kw("args").then_some(())?;
        self.punct(b'[')?;
        let items = self.items(b']', Self::value)?;
        Some(Spanned::new(items, self.span(start)))
    }

    /// One `option` into `o`: `Some(false)` when none starts here, `None` to give up (an
    /// option without its argument, or given twice).
    pub(super) fn option(
        &mut self,
        o: &mut ActivityOptions,
        seen: &mut Vec<&'static str>,
    ) -> Option<bool> {
        const KEYS: &[&str] = &[
            "timeout",
            "retry",
            "queue",
            "task_queue",
            "heartbeat",
            "schedule_to_close",
            "schedule_to_start",
            "summary",
            "priority",
        ];
        let Some(&key) = KEYS.iter().find(|k| self.is_kw(k)) else {
            return Some(false);
        };
        if seen.contains(&key) {
            return None;
        }
        seen.push(key);
        if key == "retry" {
            o.retry = Some(self.retry()?);
            return Some(true);
        }
        self.kw(key);
        match key {
            "timeout" => o.timeout = Some(self.duration()?),
            "queue" => o.queue = Some(self.tname()?),
            "task_queue" => o.task_queue = Some(self.name_or_string()?),
            "heartbeat" => o.heartbeat = Some(self.duration()?),
            "schedule_to_close" => o.schedule_to_close = Some(self.duration()?),
            "schedule_to_start" => o.schedule_to_start = Some(self.duration()?),
            "summary" => o.summary = Some(self.value()?),
            _ => o.priority = Some(self.value()?),
        }
        Some(true)
    }

    /// `retry { clauses }`, each clause once.
    fn retry(&mut self) -> Option<Retry> {
        let start = self.pos;
        self.kw("retry");
        self.punct(b'{')?;
        let mut r = Retry::default();
        let mut non_retryable = None;
        while self.punct(b'}').is_none() {
            if self.semi() {
                continue;
            }
            if self.kw("max_attempts") {
                once(&mut r.max_attempts, self.int()?)?;
            } else if self.kw("initial_interval") {
                once(&mut r.initial_interval, self.duration()?)?;
            } else if self.kw("backoff") {
                once(&mut r.backoff, self.number()?)?;
            } else if self.kw("max_interval") {
                once(&mut r.max_interval, self.duration()?)?;
            } else if self.kw("non_retryable") {
                self.punct(b'[')?;
                once(&mut non_retryable, self.items(b']', Self::tname)?)?;
            } else {
                return None;
            }
        }
        r.non_retryable = non_retryable.unwrap_or_default();
        r.span = self.span(start);
        Some(r)
    }

    /// `workflow NAME call_input clauses`, the keyword read.
    pub(super) fn child(&mut self) -> Option<ChildCall> {
        let workflow = self.tname()?;
        let (input, args) = self.call_input()?;
        let mut c = ChildCall::new(workflow, input, args);
        loop {
            if self.kw("workflow_id") {
                once(&mut c.workflow_id, self.value()?)?;
            } else if self.kw("queue") {
                once(&mut c.queue, self.tname()?)?;
            } else if self.kw("task_queue") {
                once(&mut c.task_queue, self.name_or_string()?)?;
            } else if self.kw("timeout") {
                once(&mut c.timeout, self.duration()?)?;
            } else if self.kw("parent_close") {
                once(&mut c.parent_close, self.tname()?)?;
            } else if self.kw("priority") {
                once(&mut c.priority, self.value()?)?;
            } else if self.is_kw("retry") {
                once(&mut c.retry, self.retry()?)?;
            } else {
                return Some(c);
            }
        }
    }
}
