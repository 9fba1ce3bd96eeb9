//! W007: a workflow name that is not kebab-case (a suggestion for new workflows, off by default).

use super::LintContext;
use crate::diagnostics::{Code, Diagnostic};
use crate::names::{is_kebab, is_temporal_name, to_kebab};

pub(super) fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let name = &cx.workflow.name;
    if !name.value.is_empty() && is_temporal_name(&name.value) && !is_kebab(&name.value) {
        out.push(
            Diagnostic::new(
                Code::W007,
                name.span,
                format!("workflow name `{}` is not kebab-case", name.value),
            )
            .help(format!(
                "for a new workflow prefer `{}`; an existing Temporal type stays as it is",
                to_kebab(&name.value)
            )),
        );
    }
}
