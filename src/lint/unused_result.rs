//! W001: a step with an id whose activity declares an output that nothing reads.

use super::{LintContext, children, walk_workflow};
use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::ast::StepKind;
use std::collections::BTreeSet;

pub(super) fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let Some(manifest) = &cx.project.manifest else {
        return;
    };
    // The last step of a nested block is the block's result (a branch, a loop body).
    let mut block_results = BTreeSet::new();
    walk_workflow(cx.workflow, &mut |step| {
        for block in children(&step.kind) {
            if let Some(last) = block.last() {
                block_results.insert(last.span);
            }
        }
    });
    walk_workflow(cx.workflow, &mut |step| {
        if block_results.contains(&step.span) {
            return;
        }
        let (Some(id), StepKind::Activity(call)) = (&step.id, &step.kind) else {
            return;
        };
        let has_output = manifest
            .get(&call.activity.value)
            .and_then(|a| a.output.as_ref())
            .is_some_and(|o| {
                !o.is_null() && o.get("type").and_then(|t| t.as_str()) != Some("null")
            });
        if has_output && !cx.step_refs.contains(&id.value) {
            out.push(
                Diagnostic::new(
                    Code::W001,
                    id.span,
                    format!("the result of step `{}` is never used", id.value),
                )
                .label("no expression reads `steps.".to_string() + &id.value + "`")
                .help("use the result, or drop the `id` if the step only has side effects"),
            );
        }
    });
}
