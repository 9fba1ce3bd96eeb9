//! W002: steps after an unconditional `fail`, `return` or `rethrow` in the same block.

use super::{LintContext, children};
use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::ast::{Step, StepKind};

pub(super) fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    block(&cx.workflow.steps, out);
    for u in &cx.workflow.updates {
        block(&u.steps, out);
    }
}

fn block(steps: &[Step], out: &mut Vec<Diagnostic>) {
    let mut ender: Option<&Step> = None;
    for step in steps {
        if let Some(end) = ender {
            out.push(
                Diagnostic::new(Code::W002, step.span, "this step can never run")
                    .label("unreachable")
                    .with_label(end.span, "the workflow always leaves the block here")
                    .help("remove the steps after it, or put the `fail`/`return` under an `if`"),
            );
            break;
        }
        if step.when.is_none()
            && matches!(
                step.kind,
                StepKind::Fail { .. } | StepKind::Return(_) | StepKind::Rethrow
            )
        {
            ender = Some(step);
        }
    }
    for step in steps {
        for child in children(&step.kind) {
            block(child, out);
        }
    }
}
