//! W008: a variable that is never read.

use super::LintContext;
use crate::diagnostics::{Code, Diagnostic};

pub(super) fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    for (name, _) in &cx.workflow.vars {
        if !cx.var_refs.contains(&name.value) {
            out.push(
                Diagnostic::new(
                    Code::W008,
                    name.span,
                    format!("variable `{}` is never read", name.value),
                )
                .label("no expression reads `vars.".to_string() + &name.value + "`")
                .help("read it (in a query, the output or a condition), or remove it"),
            );
        }
    }
}
