//! `priority:` of activities, child workflows and the workflow: Temporal's priority key, fairness key and weight (E051).
//!
//! A priority is a key (`priority: 1`, or an expression) or a map of `key`, `fairness` and
//! `weight`. Literal values are checked against the server's limits here; expressions are
//! type-checked here and range-checked when they are evaluated.

use super::Lowerer;
use super::scope::Scope;
use super::value::Shape;
use crate::diagnostics::{Code, Diagnostic, Spanned, did_you_mean};
use crate::expr::{ExprKind, Template};
use crate::ir;
use crate::syntax::ast::{self, ValueKind};

/// The fields of a priority map.
pub const PRIORITY_KEYS: &[&str] = &["key", "fairness", "weight"];
/// Longest fairness key the server accepts, in bytes.
pub const MAX_FAIRNESS_KEY: usize = 64;
/// Range the server clamps fairness weights to.
pub const WEIGHTS: (f64, f64) = (0.001, 1000.0);

/// `v` with a CEL literal or constant-keyed map literal (`{"key": 1}` in the text form,
/// `"${ {'key': 1} }"` in YAML) spelt as YAML data would be, so both forms are checked alike.
fn literal_parts(v: &ast::Value) -> ast::Value {
    let e = match &v.kind {
        ValueKind::Expr(e) | ValueKind::Str(Template::Expr(e)) => e,
        _ => return v.clone(),
    };
    let kind = match &e.kind {
        ExprKind::Int(i) => ValueKind::Int(*i),
        ExprKind::Double(f) => ValueKind::Float(*f),
        ExprKind::String(s) => ValueKind::Str(Template::Literal(s.clone())),
        ExprKind::Map(entries)
            if entries
                .iter()
                .all(|(k, _)| matches!(k.kind, ExprKind::String(_))) =>
        {
            ValueKind::Map(
                entries
                    .iter()
                    .filter_map(|(k, value)| {
                        let ExprKind::String(key) = &k.kind else {
                            return None;
                        };
                        let value = ast::Value {
                            kind: ValueKind::Expr(value.clone()),
                            span: value.span,
                        };
                        Some((Spanned::new(key.clone(), k.span), value))
                    })
                    .collect(),
            )
        }
        _ => return v.clone(),
    };
    ast::Value { kind, span: v.span }
}

impl Lowerer<'_> {
    /// Lowers a `priority:` value.
    pub(super) fn priority(&mut self, v: &ast::Value, scope: &Scope) -> ir::Priority {
        let v = &literal_parts(v);
        match &v.kind {
            ValueKind::Map(entries) => {
                let mut out = ir::Priority::default();
                for (name, value) in entries {
                    match name.value.as_str() {
                        "key" => out.key = Some(self.priority_key(&literal_parts(value), scope)),
                        "fairness" => {
                            out.fairness = Some(self.fairness(&literal_parts(value), scope))
                        }
                        "weight" => out.weight = Some(self.weight(&literal_parts(value), scope)),
                        other => {
                            let hint = did_you_mean(other, PRIORITY_KEYS.iter().copied())
                                .unwrap_or_else(|| {
                                    "its fields are `key`, `fairness`, `weight`".into()
                                });
                            self.error(
                                Diagnostic::new(
                                    Code::E051,
                                    name.span,
                                    format!("a priority has no field `{other}`"),
                                )
                                .help(hint),
                            );
                        }
                    }
                }
                out
            }
            ValueKind::Int(_) | ValueKind::Expr(_) | ValueKind::Str(_) => ir::Priority {
                key: Some(self.priority_key(v, scope)),
                ..Default::default()
            },
            _ => {
                self.error(
                    Diagnostic::new(Code::E051, v.span, "a priority is a key (1 runs first) or `{ key, fairness, weight }`")
                        .help("write `priority: 1`, or `priority: { key: 2, fairness: \"${ input.tenant }\", weight: 1.5 }`"),
                );
                ir::Priority::default()
            }
        }
    }

    fn priority_key(&mut self, v: &ast::Value, scope: &Scope) -> ir::Value {
        if let ValueKind::Int(n) = v.kind
            && !(1..=i64::from(i32::MAX)).contains(&n)
        {
            self.error(
                Diagnostic::new(
                    Code::E051,
                    v.span,
                    format!("priority key {n} is out of range"),
                )
                .label("1 runs first; the server's default range is 1 to 5")
                .help("use a key from 1 (highest) to the server's maximum (5 unless configured)"),
            );
        }
        self.shaped(v, scope, "a priority key", Shape::Int)
    }

    fn fairness(&mut self, v: &ast::Value, scope: &Scope) -> ir::Value {
        if let ValueKind::Str(Template::Literal(text)) = &v.kind
            && text.len() > MAX_FAIRNESS_KEY
        {
            self.error(
                Diagnostic::new(
                    Code::E051,
                    v.span,
                    format!(
                        "a fairness key is at most {MAX_FAIRNESS_KEY} bytes; this one is {}",
                        text.len()
                    ),
                )
                .help("use a short id, such as the tenant's"),
            );
        }
        self.shaped(v, scope, "a fairness key", Shape::String)
    }

    fn weight(&mut self, v: &ast::Value, scope: &Scope) -> ir::Value {
        let literal = match v.kind {
            ValueKind::Int(n) => Some(n as f64),
            ValueKind::Float(f) => Some(f),
            _ => None,
        };
        if let Some(w) = literal
            && !(WEIGHTS.0..=WEIGHTS.1).contains(&w)
        {
            self.error(
                Diagnostic::new(
                    Code::E051,
                    v.span,
                    format!("fairness weight {w} is out of range"),
                )
                .label(format!(
                    "the server clamps weights to {} to {}",
                    WEIGHTS.0, WEIGHTS.1
                ))
                .help("use a weight from 0.001 to 1000 (1 is the default)"),
            );
        }
        self.shaped(v, scope, "a fairness weight", Shape::Number)
    }
}
