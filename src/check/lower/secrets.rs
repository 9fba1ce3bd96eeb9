//! `secret('name')`: allowed only where its reference reaches an activity untouched (E050).
//!
//! A secret is never resolved in the workflow (its state is stored in history): the call
//! evaluates to a reference that the activity worker replaces with the value. So it may stand
//! in an activity's `input` or `args` — alone, inside a list or map, or joined into a string
//! with `+` or `${ }` — and nowhere else.

use super::Lowerer;
use crate::diagnostics::{Code, Diagnostic, Span};
use crate::expr::ast::BinaryOp;
use crate::expr::{Expr, ExprKind, Template};
use crate::syntax::ast::{self, ValueKind};

impl Lowerer<'_> {
    /// E050 for each `secret(…)` of `v` that would be stored or computed with.
    pub(super) fn check_secrets(&mut self, v: &ast::Value) {
        let mut found = Vec::new();
        value_secrets(v, &mut found);
        for (span, passed_through) in found {
            let d = if !self.secrets_allowed {
                Diagnostic::new(Code::E050, span, "a secret here would be stored in the run's history")
                    .label("resolved only inside activities")
                    .help("pass `secret(…)` straight to the activity that needs it, in its `input` (`stave explain E050`)")
            } else if !passed_through {
                Diagnostic::new(Code::E050, span, "an expression computes with a secret")
                    .label("only its reference is known here")
                    .help("use the secret as a value of the activity's input, alone or joined into a string (`\"Bearer ${ secret('api/key') }\"`)")
            } else {
                continue;
            };
            self.error(d);
        }
    }
}

fn value_secrets(v: &ast::Value, out: &mut Vec<(Span, bool)>) {
    match &v.kind {
        ValueKind::Str(t) => template_secrets(t, out),
        ValueKind::Expr(e) => expr_secrets(e, true, out),
        ValueKind::List(items) => items.iter().for_each(|i| value_secrets(i, out)),
        ValueKind::Map(entries) => entries.iter().for_each(|(_, i)| value_secrets(i, out)),
        ValueKind::Null | ValueKind::Bool(_) | ValueKind::Int(_) | ValueKind::Float(_) => {}
    }
}

fn template_secrets(t: &Template, out: &mut Vec<(Span, bool)>) {
    t.exprs().for_each(|e| expr_secrets(e, true, out));
}

/// Each `secret(…)` call under `e` and whether its reference passes through to the value
/// unchanged (`through`: every node above it is a list, a map value or a `+`).
fn expr_secrets(e: &Expr, through: bool, out: &mut Vec<(Span, bool)>) {
    match &e.kind {
        ExprKind::Call {
            target: None,
            function,
            args,
        } if function.name == "secret" => {
            out.push((e.span, through));
            args.iter().for_each(|a| expr_secrets(a, false, out));
        }
        ExprKind::List(items) => items.iter().for_each(|i| expr_secrets(i, through, out)),
        ExprKind::Map(entries) => entries.iter().for_each(|(k, v)| {
            expr_secrets(k, false, out);
            expr_secrets(v, through, out);
        }),
        ExprKind::Binary {
            op: BinaryOp::Add,
            lhs,
            rhs,
        } => {
            expr_secrets(lhs, through, out);
            expr_secrets(rhs, through, out);
        }
        _ => e.for_each_child(|c| expr_secrets(c, false, out)),
    }
}
