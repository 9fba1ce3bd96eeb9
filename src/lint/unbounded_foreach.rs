//! W004: a `foreach` over a list of unknown size without a `concurrency` cap.

use super::{LintContext, walk_workflow};
use crate::diagnostics::{Code, Diagnostic};
use crate::expr::{ExprKind, Template};
use crate::syntax::ast::{StepKind, ValueKind};

pub(super) fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    walk_workflow(cx.workflow, &mut |s| {
        if let StepKind::Foreach {
            over,
            concurrency: None,
            ..
        } = &s.kind
            && !is_list_literal(&over.kind)
        {
            out.push(
                Diagnostic::new(
                    Code::W004,
                    over.span,
                    "`foreach` over a list of unknown size has no `concurrency` cap",
                )
                .label("every element starts at once")
                .help("add `concurrency: 10` (or another cap)"),
            );
        }
    });
}

/// A list written out (`[a, b]` in either form): its size is known.
fn is_list_literal(kind: &ValueKind) -> bool {
    match kind {
        ValueKind::List(_) => true,
        ValueKind::Expr(e) | ValueKind::Str(Template::Expr(e)) => {
            matches!(e.kind, ExprKind::List(_))
        }
        _ => false,
    }
}
