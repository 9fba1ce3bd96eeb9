//! Steps in the text form: one line each while it fits, blocks keeping their comments.
//!
//! Clauses go on continuation lines when a step is too wide; `if`/`else if` chains stay chains.

use super::values::*;
use super::{Printer, WIDTH};
use crate::syntax::ast::*;

impl Printer<'_> {
    pub(super) fn steps(&mut self, indent: usize, steps: &[Step]) {
        for s in steps {
            self.step(indent, s);
        }
    }

    /// `{`, the steps, the comments left inside, `}` + `tail`.
    pub(super) fn block(&mut self, indent: usize, steps: &[Step], end: u32, tail: &str) {
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
                if let Some(p) = &c.priority {
                    clauses.push(format!("priority {}", value(p)));
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
                others,
                mode,
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
                let names = match mode {
                    WaitMode::One => signal.value.clone(),
                    WaitMode::Any | WaitMode::All => {
                        let names: Vec<&str> = std::iter::once(signal)
                            .chain(others)
                            .map(|n| n.value.as_str())
                            .collect();
                        let word = if *mode == WaitMode::Any { "any" } else { "all" };
                        format!("{word}({})", names.join(", "))
                    }
                };
                self.clauses(indent, &format!("{prefix}wait {names}"), &clauses);
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
            StepKind::Use(name) => {
                self.clauses(
                    indent,
                    &format!("{prefix}use {}", name.value),
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
