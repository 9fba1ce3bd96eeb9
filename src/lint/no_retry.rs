//! W005: an activity step with no retry policy anywhere (Temporal then retries forever).

use super::{LintContext, walk_workflow};
use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::ast::{ActivityCall, StepKind};

pub(super) fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let file_default = cx
        .workflow
        .defaults
        .as_ref()
        .is_some_and(|d| d.retry.is_some());
    let project_default = cx
        .project
        .defaults
        .as_ref()
        .is_some_and(|d| d.retry.is_some());
    if file_default || project_default {
        return;
    }
    let check_call = |call: &ActivityCall, out: &mut Vec<Diagnostic>| {
        let manifest_default = cx
            .project
            .manifest
            .as_ref()
            .and_then(|m| m.get(&call.activity.value))
            .is_some_and(|a| a.defaults.retry.is_some());
        if call.options.retry.is_none() && !manifest_default {
            out.push(
                Diagnostic::new(
                    Code::W005,
                    call.activity.span,
                    format!("activity `{}` has no retry policy", call.activity.value),
                )
                .label("Temporal will retry it forever")
                .help(
                    "add `retry: { max_attempts: 5 }` to the step or to the workflow's `defaults:`",
                ),
            );
        }
    };
    walk_workflow(cx.workflow, &mut |s| {
        if let StepKind::Activity(call) = &s.kind {
            check_call(call, out);
            if let Some(c) = &call.compensate {
                check_call(c, out);
            }
        }
    });
}
