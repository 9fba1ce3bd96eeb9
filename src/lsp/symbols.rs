//! Every name a workflow file defines or refers to, with its span: what definition, references,
//! rename and hover look up. Built from the AST of either form, so both behave alike; a file
//! of several workflows is one list (a fragment's `vars.x` may be any of theirs).

use crate::diagnostics::Span;
use crate::expr::{Expr, ExprKind, Template};
use crate::syntax::ast::{self, Name, StepKind, Value, ValueKind};

/// What kind of thing a name names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A step id; referred to as `steps.ID`.
    Step,
    /// A workflow variable; referred to as `vars.NAME` and assigned by `set`.
    Var,
    Signal,
    Activity,
    /// A child workflow's type (defined in another file of the project).
    Workflow,
    /// A project queue (defined in `stave.yaml`).
    Queue,
    /// A fragment of this file; referred to by `use NAME`.
    Fragment,
}

/// One occurrence of a name.
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    pub kind: Kind,
    pub name: String,
    pub span: Span,
    /// The place that defines the name (a step id, a `vars:` entry, a `signals:` entry).
    pub definition: bool,
}

/// Every occurrence in the file, in source order.
pub fn occurrences(file: &ast::File) -> Vec<Occurrence> {
    let mut out = Occurrences(Vec::new());
    for f in &file.fragments {
        out.name(Kind::Fragment, &f.name, true);
        out.steps(&f.steps);
    }
    for wf in &file.workflows {
        out.workflow(wf);
    }
    out.0.sort_by_key(|o| o.span.start);
    out.0
}

/// The definition of the name `o` refers to: in the workflow or fragment that holds `o`
/// when it has one (each workflow has its own step ids and variables), else the first.
pub fn definition<'a>(
    file: Option<&ast::File>,
    occurrences: &'a [Occurrence],
    o: &'a Occurrence,
) -> Option<&'a Occurrence> {
    let at = o.span.start;
    let container = file.and_then(|f| {
        f.workflows
            .iter()
            .map(|w| w.span)
            .chain(f.fragments.iter().map(|g| g.span))
            .find(|s| s.start <= at && at <= s.end)
    });
    let defs: Vec<&Occurrence> = same(occurrences, o.kind, &o.name)
        .filter(|d| d.definition)
        .collect();
    container
        .and_then(|c| {
            defs.iter()
                .find(|d| c.start <= d.span.start && d.span.end <= c.end)
        })
        .or(defs.first())
        .copied()
}

impl Occurrences {
    fn workflow(&mut self, wf: &ast::Workflow) {
        let out = self;
        if let Some(q) = &wf.queue {
            out.name(Kind::Queue, q, false);
        }
        for (name, value) in &wf.vars {
            out.name(Kind::Var, name, true);
            out.value(value);
        }
        if let Some(d) = &wf.defaults {
            out.options(d);
        }
        for s in &wf.signals {
            out.name(Kind::Signal, &s.name, true);
            out.assignments(&s.set);
        }
        // Updates share the signals' namespace: a `wait` names either (E047 keeps them apart).
        for u in &wf.updates {
            out.name(Kind::Signal, &u.name, true);
            for v in u.validate.iter().chain(&u.message) {
                out.value(v);
            }
            out.assignments(&u.set);
            out.steps(&u.steps);
            if let Some(v) = &u.result {
                out.value(v);
            }
        }
        for (_, value) in &wf.queries {
            out.value(value);
        }
        out.steps(&wf.steps);
        if let Some(v) = &wf.output {
            out.value(v);
        }
        for s in &wf.schedules {
            if let Some(v) = &s.input {
                out.value(v);
            }
        }
        for (_, v) in wf.search_attributes.iter().chain(&wf.memo) {
            out.value(v);
        }
    }
}

/// The occurrence whose span holds `offset` (the end counts: the cursor just after a name).
pub fn at(occurrences: &[Occurrence], offset: usize) -> Option<&Occurrence> {
    occurrences
        .iter()
        .find(|o| o.span.start as usize <= offset && offset <= o.span.end as usize)
}

/// The occurrences of one name of one kind.
pub fn same<'a>(
    occurrences: &'a [Occurrence],
    kind: Kind,
    name: &'a str,
) -> impl Iterator<Item = &'a Occurrence> {
    occurrences
        .iter()
        .filter(move |o| o.kind == kind && o.name == name)
}

struct Occurrences(Vec<Occurrence>);

impl Occurrences {
    fn name(&mut self, kind: Kind, name: &Name, definition: bool) {
        self.0.push(Occurrence {
            kind,
            name: name.value.clone(),
            span: name.span,
            definition,
        });
    }

    fn steps(&mut self, steps: &[ast::Step]) {
        steps.iter().for_each(|s| self.step(s));
    }

    fn step(&mut self, step: &ast::Step) {
        if let Some(id) = &step.id {
            self.name(Kind::Step, id, true);
        }
        if let Some(w) = &step.when {
            self.value(w);
        }
        match &step.kind {
            StepKind::Activity(call) => self.call(call),
            StepKind::Workflow(child) => {
                self.name(Kind::Workflow, &child.workflow, false);
                for v in child.input.iter().chain(&child.workflow_id) {
                    self.value(v);
                }
                for v in child.args.iter().flat_map(|a| &a.value) {
                    self.value(v);
                }
                if let Some(q) = &child.queue {
                    self.name(Kind::Queue, q, false);
                }
            }
            StepKind::Block { steps, else_steps } => {
                self.steps(steps);
                self.steps(else_steps.as_deref().unwrap_or_default());
            }
            StepKind::Switch { arms, default } => {
                for arm in arms {
                    self.value(&arm.when);
                    self.steps(&arm.steps);
                }
                self.steps(default.as_deref().unwrap_or_default());
            }
            StepKind::Parallel { branches, .. } => {
                branches.iter().for_each(|(_, b)| self.steps(b));
            }
            StepKind::Foreach { over, steps, .. } => {
                self.value(over);
                self.steps(steps);
            }
            StepKind::While { cond, steps, .. } => {
                self.value(cond);
                self.steps(steps);
            }
            StepKind::Wait {
                signal,
                others,
                until,
                ..
            } => {
                for name in std::iter::once(signal).chain(others) {
                    self.name(Kind::Signal, name, false);
                }
                if let Some(u) = until {
                    self.value(u);
                }
            }
            StepKind::Sleep(ast::Sleep::Expr(v) | ast::Sleep::Until(v)) => self.value(v),
            StepKind::Sleep(ast::Sleep::For(_)) | StepKind::Rethrow => {}
            StepKind::Set(assignments) => self.assignments(assignments),
            StepKind::Try { steps, catches } => {
                self.steps(steps);
                for c in catches {
                    if let Some(w) = &c.when {
                        self.value(w);
                    }
                    self.steps(&c.steps);
                }
            }
            StepKind::Fail {
                error_type,
                message,
                details,
            } => {
                self.value(error_type);
                for v in message.iter().chain(details) {
                    self.value(v);
                }
            }
            StepKind::Return(v) => self.value(v),
            StepKind::Use(name) => self.name(Kind::Fragment, name, false),
        }
    }

    fn call(&mut self, call: &ast::ActivityCall) {
        self.name(Kind::Activity, &call.activity, false);
        if let Some(v) = &call.input {
            self.value(v);
        }
        for v in call.args.iter().flat_map(|a| &a.value) {
            self.value(v);
        }
        self.options(&call.options);
        if let Some(c) = &call.compensate {
            self.call(c);
        }
    }

    fn options(&mut self, options: &ast::ActivityOptions) {
        if let Some(q) = &options.queue {
            self.name(Kind::Queue, q, false);
        }
        if let Some(v) = &options.summary {
            self.value(v);
        }
    }

    fn assignments(&mut self, assignments: &[(Name, Value)]) {
        for (name, value) in assignments {
            self.name(Kind::Var, name, false);
            self.value(value);
        }
    }

    fn value(&mut self, v: &Value) {
        match &v.kind {
            ValueKind::Str(t) => self.template(t),
            ValueKind::Expr(e) => self.expr(e),
            ValueKind::List(items) => items.iter().for_each(|i| self.value(i)),
            ValueKind::Map(entries) => entries.iter().for_each(|(_, i)| self.value(i)),
            ValueKind::Null | ValueKind::Bool(_) | ValueKind::Int(_) | ValueKind::Float(_) => {}
        }
    }

    fn template(&mut self, t: &Template) {
        t.exprs().for_each(|e| self.expr(e));
    }

    /// `steps.ID` and `vars.NAME` (also inside `has(…)`), wherever they appear.
    fn expr(&mut self, e: &Expr) {
        e.walk(&mut |node| {
            let (target, field) = match &node.kind {
                ExprKind::Member { target, field } | ExprKind::Has { target, field } => {
                    (target, field)
                }
                _ => return,
            };
            let kind = match &target.kind {
                ExprKind::Ident(root) if root == "steps" => Kind::Step,
                ExprKind::Ident(root) if root == "vars" => Kind::Var,
                _ => return,
            };
            self.0.push(Occurrence {
                kind,
                name: field.name.clone(),
                span: field.span,
                definition: false,
            });
        });
    }
}
