//! The workflow header and its declarations → the workflow-level fields of [`Workflow`].
//!
//! Queue and timeout, description, input, vars, defaults, signals (whose parameters become
//! fields of `signal`), queries, search attributes, memo, output, schedules.

use super::{Lower, P, parts};
use crate::diagnostics::{Span, Spanned};
use crate::expr::{self, Expr, ExprKind, Template, TemplatePart};
use crate::syntax::ast::*;
use crate::syntax::text::Rule;

impl Lower {
    pub(super) fn workflow(&mut self, p: P<'_>) -> Workflow {
        let span = self.span(&p);
        let mut children = parts(p);
        let name = children
            .next()
            .map(|n| self.name(&n))
            .unwrap_or_else(|| Spanned::new(String::new(), span));
        let mut w = Workflow::named(self.file, name, span);
        let mut search_attributes = None;
        let mut memo = None;
        for c in children {
            match c.as_rule() {
                Rule::header_clause => {
                    let span = self.span(&c);
                    let kw = c.clone().into_inner().next().map(|k| k.as_rule());
                    let is_queue = kw == Some(Rule::kw_on);
                    if kw == Some(Rule::kw_priority) {
                        if let Some(arg) = c.into_inner().nth(1) {
                            let v = Some(self.value(arg));
                            self.once(&mut w.priority, v, span, "the workflow's priority");
                        }
                        continue;
                    }
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
        self.check_unique(w.updates.iter().map(|u| &u.name), "update");
        self.check_unique(w.queries.iter().map(|(n, _)| n), "query");
        self.check_unique(w.schedules.iter().map(|s| &s.id), "schedule");
        w
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
                let options = self.options(span, it);
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
                let mut signal = Signal {
                    name,
                    params,
                    set,
                    span,
                };
                rewrite_signal_params(&mut signal);
                w.signals.push(signal);
            }
            Rule::update_decl => {
                let Some(n) = it.next() else { return };
                let mut update = Update {
                    name: self.name(&n),
                    params: Vec::new(),
                    validate: None,
                    message: None,
                    set: Vec::new(),
                    steps: Vec::new(),
                    result: None,
                    span,
                };
                for c in it {
                    match c.as_rule() {
                        Rule::signal_params => {
                            update.params = parts(c)
                                .map(|p| self.binding(&p, "an update parameter"))
                                .collect();
                        }
                        Rule::update_validate => {
                            let mut v = parts(c);
                            update.validate = v.next().map(|v| self.value(v));
                            update.message = v.next().map(|v| self.value(v));
                        }
                        Rule::update_body => {
                            for entry in parts(c) {
                                if entry.as_rule() == Rule::update_set {
                                    let Some((name, value)) =
                                        parts(entry).next().and_then(|a| self.assignment(a))
                                    else {
                                        continue;
                                    };
                                    if update.set.iter().any(|(n, _)| n.value == name.value) {
                                        self.twice(
                                            name.span,
                                            &format!("variable `{}`", name.value),
                                        );
                                        continue;
                                    }
                                    update.set.push((name, value));
                                } else if let Some(step) = self.statement(entry) {
                                    update.steps.push(step);
                                }
                            }
                            update.normalise();
                        }
                        _ => {}
                    }
                }
                rewrite_update_params(&mut update);
                w.updates.push(update);
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
            Rule::expose_status_decl => {
                let b = it
                    .next()
                    .map(|b| Spanned::new(b.as_str() == "true", self.span(&b)));
                self.once(&mut w.expose_status, b, span, "`expose_status`");
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
        let mut s = Schedule::new(id, span);
        for clause in it {
            let Some((cspan, kw, arg)) = self.clause(clause) else {
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
}

/// `signal approve(by) { approver = by }`: a parameter is a field of the signal's payload, so
/// every free `by` in `set` becomes `signal.by` (with the span of the `by` it replaces).
pub(in crate::syntax::text) fn rewrite_signal_params(s: &mut Signal) {
    rewrite_params_in_values(&s.params, "signal", s.set.iter_mut().map(|(_, v)| v));
}

/// An update's parameters become fields of `update`, in every value of the handler, its
/// steps included.
pub(in crate::syntax::text) fn rewrite_update_params(u: &mut Update) {
    let values = u
        .set
        .iter_mut()
        .map(|(_, v)| v)
        .chain(&mut u.validate)
        .chain(&mut u.message)
        .chain(&mut u.result);
    rewrite_params_in_values(&u.params, "update", values);
    // In steps, a loop item or a caught error of the same name shadows a parameter.
    let names: Vec<String> = u.params.iter().map(|p| p.value.clone()).collect();
    if !names.is_empty() {
        for_each_value_mut(&mut u.steps, &mut Vec::new(), &mut |v, bound| {
            let live: Vec<String> = names
                .iter()
                .filter(|n| !bound.contains(n))
                .cloned()
                .collect();
            rewrite_params_in_value(v, &live, "update");
        });
    }
}

fn rewrite_params_in_values<'v>(
    params: &[Name],
    payload: &str,
    values: impl Iterator<Item = &'v mut Value>,
) {
    let names: Vec<String> = params.iter().map(|p| p.value.clone()).collect();
    if !names.is_empty() {
        for v in values {
            rewrite_params_in_value(v, &names, payload);
        }
    }
}

fn rewrite_params_in_value(v: &mut Value, params: &[String], payload: &str) {
    match &mut v.kind {
        ValueKind::Expr(e) => rewrite_params(e, params, payload, &mut Vec::new()),
        ValueKind::Str(Template::Expr(e)) => rewrite_params(e, params, payload, &mut Vec::new()),
        ValueKind::Str(Template::Interp(parts)) => {
            for part in parts {
                if let TemplatePart::Expr(e) = part {
                    rewrite_params(e, params, payload, &mut Vec::new());
                }
            }
        }
        ValueKind::List(items) => items
            .iter_mut()
            .for_each(|i| rewrite_params_in_value(i, params, payload)),
        ValueKind::Map(entries) => entries
            .iter_mut()
            .for_each(|(_, i)| rewrite_params_in_value(i, params, payload)),
        _ => {}
    }
}

fn rewrite_params(e: &mut Expr, params: &[String], payload: &str, bound: &mut Vec<String>) {
    match &mut e.kind {
        ExprKind::Ident(name) if params.contains(name) && !bound.contains(name) => {
            let field = expr::ast::Name {
                name: name.clone(),
                span: e.span,
            };
            let target = Expr::new(ExprKind::Ident(payload.into()), e.span);
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
            .for_each(|i| rewrite_params(i, params, payload, bound)),
        ExprKind::Map(entries) => {
            for (k, v) in entries {
                rewrite_params(k, params, payload, bound);
                rewrite_params(v, params, payload, bound);
            }
        }
        ExprKind::Member { target, .. } | ExprKind::Has { target, .. } => {
            rewrite_params(target, params, payload, bound)
        }
        ExprKind::Index { target, index } => {
            rewrite_params(target, params, payload, bound);
            rewrite_params(index, params, payload, bound);
        }
        ExprKind::Call { target, args, .. } => {
            if let Some(t) = target {
                rewrite_params(t, params, payload, bound);
            }
            args.iter_mut()
                .for_each(|a| rewrite_params(a, params, payload, bound));
        }
        ExprKind::Unary { operand, .. } => rewrite_params(operand, params, payload, bound),
        ExprKind::Binary { lhs, rhs, .. } => {
            rewrite_params(lhs, params, payload, bound);
            rewrite_params(rhs, params, payload, bound);
        }
        ExprKind::Cond {
            cond,
            then,
            otherwise,
        } => {
            rewrite_params(cond, params, payload, bound);
            rewrite_params(then, params, payload, bound);
            rewrite_params(otherwise, params, payload, bound);
        }
        ExprKind::Macro {
            target,
            var,
            filter,
            body,
            ..
        } => {
            rewrite_params(target, params, payload, bound);
            bound.push(var.name.clone());
            if let Some(f) = filter {
                rewrite_params(f, params, payload, bound);
            }
            rewrite_params(body, params, payload, bound);
            bound.pop();
        }
    }
}
