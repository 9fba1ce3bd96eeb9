//! The file (its version, fragments and workflows in the order written), each workflow's header
//! and its declarations, in their fixed order.
//!
//! Description, input, vars, defaults, signals, queries, search attributes, memo, steps,
//! output, schedules.

use super::Printer;
use super::input::{compact_fields, json_text};
use super::values::*;
use crate::syntax::ast::*;

impl Printer<'_> {
    pub(super) fn file(mut self, f: &File) -> String {
        enum Item<'f> {
            Fragment(&'f Fragment),
            Workflow(&'f Workflow),
        }
        let mut items: Vec<(u32, Item)> = f
            .fragments
            .iter()
            .map(|g| (g.span.start, Item::Fragment(g)))
            .chain(
                f.workflows
                    .iter()
                    .map(|w| (w.span.start, Item::Workflow(w))),
            )
            .collect();
        items.sort_by_key(|(start, _)| *start);
        let first = items.first().map_or(f.span.start, |(start, _)| *start);
        if let Some(v) = &f.version {
            self.comments_before(v.span.start.min(first), 0);
            self.line(0, &format!("stave {}", v.value));
        }
        for (_, item) in items {
            self.blank();
            match item {
                Item::Fragment(g) => self.fragment(g),
                Item::Workflow(w) => self.workflow(w),
            }
        }
        self.rest_of_comments(0);
        self.out
    }

    fn fragment(&mut self, g: &Fragment) {
        self.comments_before(g.span.start, 0);
        self.out.push_str(&format!("fragment {}", g.name.value));
        self.block(0, &g.steps, g.span.end.saturating_sub(1), "");
        self.out.push('\n');
    }

    fn workflow(&mut self, w: &Workflow) {
        self.comments_before(w.span.start, 0);
        let mut header = format!("workflow {}", w.name.value);
        if let Some(q) = &w.queue {
            header.push_str(&format!(" on queue {}", q.value));
        }
        if let Some(t) = &w.timeout {
            header.push_str(&format!(" timeout {}", dur(t)));
        }
        if let Some(p) = &w.priority {
            header.push_str(&format!(" priority {}", super::values::value(p)));
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
                Some(fields) => self.braced(i, "input", &fields, ", "),
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
            self.braced(i, "defaults", &options(d), " ");
        }
        if !w.signals.is_empty() || !w.updates.is_empty() || !w.queries.is_empty() {
            self.blank();
        }
        for s in &w.signals {
            self.comments_before(s.name.span.start, i);
            self.assignments(i, &format!("signal {}", s.name.value), &s.set, true);
        }
        for u in &w.updates {
            self.comments_before(u.name.span.start, i);
            let mut head = format!("update {}", u.name.value);
            if let Some(v) = &u.validate {
                head.push_str(&format!(" validate {}", value(v)));
                if let Some(m) = &u.message {
                    head.push_str(&format!(" message {}", value(m)));
                }
            }
            let mut items: Vec<String> = u
                .set
                .iter()
                .map(|(n, v)| format!("{} = {}", n.value, value(v)))
                .collect();
            if let Some(r) = &u.result {
                items.push(format!("return {}", value(r)));
            }
            if !u.steps.is_empty() {
                self.handler_with_steps(i, &head, u);
            } else if items.is_empty() {
                self.line(i, &head);
            } else {
                self.braced(i, &head, &items, "; ");
            }
        }
        for (n, v) in &w.queries {
            self.comments_before(n.span.start, i);
            self.line(i, &format!("query {} = {}", n.value, value(v)));
        }
        if !w.search_attributes.is_empty()
            || !w.memo.is_empty()
            || w.continue_as_new_after.is_some()
            || w.expose_status.is_some()
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
        if let Some(b) = &w.expose_status {
            self.comments_before(b.span.start, i);
            self.line(i, &format!("expose_status {}", b.value));
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
    }

    /// `HEAD { a = 1; b = 2 }` on one line when it fits, else one assignment per line.
    /// With `bare_when_empty`, no assignments print as `HEAD` alone.
    /// An update handler that runs steps: its `set` as leading assignments, the steps, then
    /// `return RESULT`. A first step that is a one-variable `set` is written `set { … }`, so
    /// that it is read back as a step, not as part of the handler's `set`.
    fn handler_with_steps(&mut self, i: usize, head: &str, u: &Update) {
        self.line(i, &format!("{head} {{"));
        for (n, v) in &u.set {
            self.line(i + 2, &format!("{} = {}", n.value, value(v)));
        }
        let mut steps = u.steps.as_slice();
        if let Some((first, rest)) = steps.split_first()
            && let StepKind::Set(set) = &first.kind
            && first.id.is_none()
            && first.when.is_none()
        {
            self.comments_before(first.span.start, i + 2);
            self.assignments(i + 2, "set", set, false);
            steps = rest;
        }
        self.steps(i + 2, steps);
        if let Some(r) = &u.result {
            self.line(i + 2, &format!("return {}", value(r)));
        }
        self.comments_before(u.span.end.saturating_sub(1), i + 2);
        self.line(i, "}");
    }

    pub(super) fn assignments(
        &mut self,
        indent: usize,
        head: &str,
        set: &[(Name, Value)],
        bare_when_empty: bool,
    ) {
        if set.is_empty() && bare_when_empty {
            self.line(indent, head);
            return;
        }
        let items: Vec<String> = set
            .iter()
            .map(|(n, v)| format!("{} = {}", n.value, value(v)))
            .collect();
        self.braced(indent, head, &items, "; ");
    }

    fn keyed(&mut self, indent: usize, head: &str, entries: &[(Name, Value)]) {
        let items: Vec<String> = entries
            .iter()
            .map(|(k, v)| format!("{}: {}", key(&k.value), value(v)))
            .collect();
        self.braced(indent, head, &items, ", ");
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
        self.braced(indent, &head, &clauses, " ");
    }
}
