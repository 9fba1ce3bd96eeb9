//! W003: a declared signal with no handler and no `wait` on it.

use super::{LintContext, walk_workflow};
use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::ast::StepKind;
use std::collections::BTreeSet;

pub(super) fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let mut waited = BTreeSet::new();
    walk_workflow(cx.workflow, &mut |s| {
        if let StepKind::Wait { signal, others, .. } = &s.kind {
            waited.extend(
                std::iter::once(signal)
                    .chain(others)
                    .map(|n| n.value.as_str()),
            );
        }
    });
    for signal in &cx.workflow.signals {
        if signal.set.is_empty() && !waited.contains(signal.name.value.as_str()) {
            out.push(
                Diagnostic::new(
                    Code::W003,
                    signal.name.span,
                    format!("signal `{}` has no effect", signal.name.value),
                )
                .label("no handler and no `wait`")
                .help("add a handler (`set:`) or a `wait` on it, or remove it"),
            );
        }
    }
}
