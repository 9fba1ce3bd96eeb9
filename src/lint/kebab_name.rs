//! W007: a workflow name that is not kebab-case (a suggestion for new workflows).

use super::LintContext;
use crate::diagnostics::{Code, Diagnostic};
use crate::names::{is_kebab, is_temporal_name, to_kebab};

pub(super) fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let name = &cx.workflow.name;
    if !name.value.is_empty() && is_temporal_name(&name.value) && !is_kebab(&name.value) {
        out.push(
            Diagnostic::new(Code::W007, name.span, format!("workflow name `{}` is not kebab-case", name.value))
                .help(format!("for a new workflow prefer `{}`; keep an existing Temporal type as it is (`--allow W007`)", to_kebab(&name.value))),
        );
    }
}
