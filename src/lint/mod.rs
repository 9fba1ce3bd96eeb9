//! Lint rules: warnings for likely mistakes, one rule per file, run on a parsed workflow.

mod kebab_name;
mod no_retry;
mod timer_outlives_run;
mod unbounded_foreach;
mod unreachable;
mod unused_result;
mod unused_signal;
mod unused_var;

use crate::diagnostics::{Code, Diagnostic};
use crate::expr::Template;
use crate::project::ProjectContext;
use crate::syntax::ast::{self, Step, StepKind, Value, ValueKind, Workflow};
use std::collections::BTreeSet;

/// What a rule sees.
pub struct LintContext<'a> {
    pub workflow: &'a Workflow,
    pub project: &'a ProjectContext,
    /// Every step id read as `steps.ID` anywhere in the file.
    pub step_refs: BTreeSet<String>,
    /// Every variable read as `vars.NAME` anywhere in the file.
    pub var_refs: BTreeSet<String>,
}

/// One rule: the warning it emits, and the function that looks for it.
pub struct Rule {
    pub code: Code,
    pub check: fn(&LintContext<'_>, &mut Vec<Diagnostic>),
}

/// Every rule, in the order they run. W009 is not here: the expression checker emits it,
/// because it needs the types of step results; nor W011, raised where the manifest is read.
pub const RULES: &[Rule] = &[
    Rule {
        code: Code::W001,
        check: unused_result::check,
    },
    Rule {
        code: Code::W002,
        check: unreachable::check,
    },
    Rule {
        code: Code::W003,
        check: unused_signal::check,
    },
    Rule {
        code: Code::W004,
        check: unbounded_foreach::check,
    },
    Rule {
        code: Code::W005,
        check: no_retry::check,
    },
    Rule {
        code: Code::W007,
        check: kebab_name::check,
    },
    Rule {
        code: Code::W008,
        check: unused_var::check,
    },
    Rule {
        code: Code::W010,
        check: timer_outlives_run::check,
    },
];

/// Runs every rule.
pub fn run(workflow: &Workflow, project: &ProjectContext) -> Vec<Diagnostic> {
    let mut step_refs = BTreeSet::new();
    let mut var_refs = BTreeSet::new();
    for_each_value(workflow, &mut |v| {
        for_each_expr(v, &mut |t| {
            step_refs.extend(t.step_refs());
            var_refs.extend(t.var_refs());
        });
    });
    let cx = LintContext {
        workflow,
        project,
        step_refs,
        var_refs,
    };
    let mut out = Vec::new();
    for rule in RULES {
        (rule.check)(&cx, &mut out);
    }
    out
}

/// Visits every step of the workflow, pre-order: the main body, then each update handler's.
pub fn walk_workflow<'a>(wf: &'a Workflow, f: &mut impl FnMut(&'a Step)) {
    walk_steps(&wf.steps, f);
    for u in &wf.updates {
        walk_steps(&u.steps, f);
    }
}

/// Visits every step, pre-order. A compensation is not a step: rules that care read
/// `ActivityCall::compensate`.
pub fn walk_steps<'a>(steps: &'a [Step], f: &mut impl FnMut(&'a Step)) {
    for step in steps {
        f(step);
        for child in children(&step.kind) {
            walk_steps(child, f);
        }
    }
}

/// The nested step lists of a step kind.
pub fn children(kind: &StepKind) -> Vec<&[Step]> {
    match kind {
        StepKind::Block { steps, else_steps } => {
            let mut v: Vec<&[Step]> = vec![steps];
            if let Some(e) = else_steps {
                v.push(e);
            }
            v
        }
        StepKind::Switch { arms, default } => {
            let mut v: Vec<&[Step]> = arms.iter().map(|a| a.steps.as_slice()).collect();
            if let Some(d) = default {
                v.push(d);
            }
            v
        }
        StepKind::Parallel { branches, .. } => branches.iter().map(|(_, s)| s.as_slice()).collect(),
        StepKind::Foreach { steps, .. } | StepKind::While { steps, .. } => vec![steps],
        StepKind::Try { steps, catches } => std::iter::once(steps.as_slice())
            .chain(catches.iter().map(|c| c.steps.as_slice()))
            .collect(),
        _ => Vec::new(),
    }
}

/// Visits every value slot of the workflow.
pub fn for_each_value<'a>(wf: &'a Workflow, f: &mut impl FnMut(&'a Value)) {
    wf.vars.iter().for_each(|(_, v)| f(v));
    wf.signals
        .iter()
        .flat_map(|s| &s.set)
        .for_each(|(_, v)| f(v));
    for u in &wf.updates {
        u.validate.iter().chain(&u.message).for_each(&mut *f);
        u.set.iter().for_each(|(_, v)| f(v));
        u.result.iter().for_each(&mut *f);
    }
    wf.queries.iter().for_each(|(_, v)| f(v));
    for v in wf.output.iter() {
        f(v);
    }
    wf.search_attributes
        .iter()
        .chain(&wf.memo)
        .for_each(|(_, v)| f(v));
    walk_workflow(wf, &mut |s| {
        if let Some(w) = &s.when {
            f(w);
        }
        step_values(&s.kind, f);
    });
}

fn call_values<'a>(call: &'a ast::ActivityCall, f: &mut impl FnMut(&'a Value)) {
    for v in call.input.iter() {
        f(v);
    }
    for v in call.args.iter().flat_map(|a| &a.value) {
        f(v);
    }
    for v in call.options.summary.iter() {
        f(v);
    }
    if let Some(c) = &call.compensate {
        call_values(c, f);
    }
}

fn step_values<'a>(kind: &'a StepKind, f: &mut impl FnMut(&'a Value)) {
    match kind {
        StepKind::Activity(call) => call_values(call, f),
        StepKind::Workflow(c) => {
            for v in c.input.iter().chain(&c.workflow_id) {
                f(v);
            }
            for v in c.args.iter().flat_map(|a| &a.value) {
                f(v);
            }
        }
        StepKind::Switch { arms, .. } => arms.iter().for_each(|a| f(&a.when)),
        StepKind::Foreach { over, .. } => f(over),
        StepKind::While { cond, .. } => f(cond),
        StepKind::Wait { until, .. } => until.iter().for_each(&mut *f),
        StepKind::Sleep(ast::Sleep::Expr(v) | ast::Sleep::Until(v)) => f(v),
        StepKind::Set(set) => set.iter().for_each(|(_, v)| f(v)),
        StepKind::Try { catches, .. } => catches.iter().flat_map(|c| &c.when).for_each(&mut *f),
        StepKind::Fail {
            error_type,
            message,
            details,
        } => {
            f(error_type);
            for v in message.iter().chain(details) {
                f(v);
            }
        }
        StepKind::Return(v) => f(v),
        _ => {}
    }
}

/// Visits every expression-bearing template inside a value.
pub fn for_each_expr(v: &Value, f: &mut impl FnMut(&Template)) {
    match &v.kind {
        ValueKind::Str(t) => f(t),
        ValueKind::Expr(e) => f(&Template::Expr(e.clone())),
        ValueKind::List(items) => items.iter().for_each(|i| for_each_expr(i, f)),
        ValueKind::Map(entries) => entries.iter().for_each(|(_, i)| for_each_expr(i, f)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::RULES;
    use crate::diagnostics::Code;

    /// Warnings raised outside the per-file rules: W009 by the expression checker (it needs
    /// the types of step results), W011 where the project's manifest is read.
    const ELSEWHERE: &[Code] = &[Code::W009, Code::W011];

    #[test]
    fn every_warning_code_has_exactly_one_rule() {
        let warnings = Code::ALL
            .iter()
            .filter(|c| c.as_str().starts_with('W') && !ELSEWHERE.contains(c));
        for code in warnings.clone() {
            let rules = RULES.iter().filter(|r| r.code == *code).count();
            assert_eq!(rules, 1, "{code} has {rules} rules");
        }
        for rule in RULES {
            assert!(
                warnings.clone().any(|c| *c == rule.code),
                "{} is not a warning code of the registry",
                rule.code
            );
        }
    }
}
