//! W010: a `wait` timeout or a fixed `sleep` at least as long as the workflow's own
//! execution timeout: the run times out first, so what follows never happens.

use super::{LintContext, walk_workflow};
use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::ast::{Sleep, StepKind};
use crate::syntax::duration;

pub(super) fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let Some(limit) = &cx.workflow.timeout else {
        return;
    };
    walk_workflow(cx.workflow, &mut |s| {
        let (timer, what) = match &s.kind {
            StepKind::Wait {
                timeout: Some(t), ..
            } => (t, "this wait's timeout"),
            StepKind::Sleep(Sleep::For(t)) => (t, "this sleep"),
            _ => return,
        };
        if timer.value >= limit.value {
            out.push(
                Diagnostic::new(
                    Code::W010,
                    timer.span,
                    format!(
                        "{what} ({}) is not shorter than the workflow's timeout ({}): the run times out first",
                        duration::format(timer.value),
                        duration::format(limit.value)
                    ),
                )
                .label("never fires")
                .help(format!(
                    "raise the workflow's `timeout:` above {}, or shorten this one",
                    duration::format(timer.value)
                )),
            );
        }
    });
}
