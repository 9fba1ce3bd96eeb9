//! Value slots: type-checking the expressions inside them, and folding literal data into IR data.

use super::Lowerer;
use super::scope::Scope;
use crate::diagnostics::{Code, Diagnostic};
use crate::expr::{self, Expr, ExprKind, Template, Ty, TypeScope};
use crate::ir;
use crate::syntax::ast::{self, ValueKind};
use serde_json::Value as Json;
use std::collections::BTreeSet;

impl Lowerer<'_> {
    /// Lowers a value slot and type-checks the expressions inside it.
    pub(super) fn value(&mut self, v: &ast::Value, scope: &Scope) -> ir::Value {
        if has_expr(v) {
            self.record_scope(v.span, &scope.types);
            self.check_value(v, &scope.types);
            self.check_secrets(v);
        }
        lower_value(v)
    }

    /// Lowers a condition (`if`, `while`, `until`, `when`): it must be a bool, and a plain
    /// string is a forgotten `${ }`. Types that can never be a bool are E014 here rather than
    /// a failed run (`condition must be a boolean`) later.
    pub(super) fn condition(&mut self, v: &ast::Value, scope: &Scope, what: &str) -> ir::Value {
        self.shaped(v, scope, what, Shape::Bool)
    }

    /// Lowers the list of a `foreach`: a value whose type can never be a list is E014.
    pub(super) fn list(&mut self, v: &ast::Value, scope: &Scope, what: &str) -> ir::Value {
        self.shaped(v, scope, what, Shape::List)
    }

    pub(super) fn shaped(
        &mut self,
        v: &ast::Value,
        scope: &Scope,
        what: &str,
        shape: Shape,
    ) -> ir::Value {
        self.record_scope(v.span, &scope.types);
        self.check_secrets(v);
        let found = match &v.kind {
            ValueKind::Str(Template::Literal(text)) => {
                let hint = match shape {
                    Shape::Bool => {
                        format!("write the condition as an expression: \"${{ {text} }}\"")
                    }
                    Shape::List => format!(
                        "write the list as an expression: \"${{ {text} }}\", or as a YAML list"
                    ),
                    Shape::Int | Shape::Number => {
                        format!("write a number, or an expression: \"${{ {text} }}\"")
                    }
                    // Text is a string: never reported.
                    Shape::String => String::new(),
                };
                if shape == Shape::String {
                    return lower_value(v);
                }
                self.diags.push(
                    Diagnostic::new(
                        Code::E014,
                        v.span,
                        format!("{what} must be {}, but this is plain text", shape.name()),
                    )
                    .label("a string, not an expression")
                    .help(hint),
                );
                return lower_value(v);
            }
            ValueKind::Str(t) => {
                let (ty, d) = expr::check_template(t, &scope.types);
                self.diags.extend(d);
                Some(ty)
            }
            ValueKind::Expr(e) => {
                let (ty, d) = expr::check_expr(e, &scope.types);
                self.diags.extend(d);
                Some(ty)
            }
            ValueKind::Bool(_) => Some(Ty::Bool),
            ValueKind::List(_) => {
                self.check_value(v, &scope.types);
                Some(Ty::List(Box::new(Ty::Dyn)))
            }
            ValueKind::Null => Some(Ty::Null),
            ValueKind::Int(_) => Some(Ty::Int),
            ValueKind::Float(_) => Some(Ty::Double),
            ValueKind::Map(_) => {
                self.check_value(v, &scope.types);
                Some(Ty::Map(Box::new(Ty::Dyn)))
            }
        };
        if let Some(ty) = found
            && shape.never(&ty)
        {
            self.diags.push(
                Diagnostic::new(
                    Code::E014,
                    v.span,
                    format!("{what} must be {}, but this is {ty}", shape.name()),
                )
                .label(format!("{ty}, never {}", shape.name()))
                .help(shape.help()),
            );
        }
        lower_value(v)
    }

    fn check_value(&mut self, v: &ast::Value, ts: &TypeScope) {
        match &v.kind {
            ValueKind::Str(t) => {
                let (_, d) = expr::check_template(t, ts);
                self.diags.extend(d);
            }
            ValueKind::Expr(e) => {
                let (_, d) = expr::check_expr(e, ts);
                self.diags.extend(d);
            }
            ValueKind::List(items) => items.iter().for_each(|i| self.check_value(i, ts)),
            ValueKind::Map(entries) => entries.iter().for_each(|(_, i)| self.check_value(i, ts)),
            _ => {}
        }
    }
}

/// Whether a value holds an expression anywhere (literal data needs no type check).
fn has_expr(v: &ast::Value) -> bool {
    match &v.kind {
        ValueKind::Str(Template::Literal(_)) => false,
        ValueKind::Str(_) | ValueKind::Expr(_) => true,
        ValueKind::List(items) => items.iter().any(has_expr),
        ValueKind::Map(entries) => entries.iter().any(|(_, v)| has_expr(v)),
        _ => false,
    }
}

/// The value as JSON when it has no expression inside.
pub(super) fn literal_json(v: &ast::Value) -> Option<Json> {
    match lower_value(v) {
        ir::Value::Literal(j) => Some(j),
        _ => None,
    }
}

/// AST value → IR value, folding literal data so both forms lower alike.
pub(super) fn lower_value(v: &ast::Value) -> ir::Value {
    match &v.kind {
        ValueKind::Null => ir::Value::null(),
        ValueKind::Bool(b) => ir::Value::Literal(Json::Bool(*b)),
        ValueKind::Int(i) => ir::Value::Literal(Json::from(*i)),
        ValueKind::Float(f) => {
            ir::Value::Literal(serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number))
        }
        ValueKind::Str(Template::Literal(s)) => ir::Value::Literal(Json::String(s.clone())),
        ValueKind::Str(Template::Expr(e)) | ValueKind::Expr(e) => from_expr(e),
        ValueKind::Str(Template::Interp(parts)) => ir::Value::Interp(parts.clone()),
        ValueKind::List(items) => fold(ir::Value::List(items.iter().map(lower_value).collect())),
        ValueKind::Map(entries) => fold(ir::Value::Map(
            entries
                .iter()
                .map(|(k, v)| (k.value.clone(), lower_value(v)))
                .collect(),
        )),
    }
}

/// A CEL literal, list literal or constant-keyed map literal becomes IR data.
fn from_expr(e: &Expr) -> ir::Value {
    match &e.kind {
        ExprKind::Null => ir::Value::null(),
        ExprKind::Bool(b) => ir::Value::Literal(Json::Bool(*b)),
        ExprKind::Int(i) => ir::Value::Literal(Json::from(*i)),
        ExprKind::Double(f) => {
            ir::Value::Literal(serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number))
        }
        ExprKind::String(s) => ir::Value::Literal(Json::String(s.clone())),
        ExprKind::List(items) => fold(ir::Value::List(items.iter().map(from_expr).collect())),
        ExprKind::Map(entries)
            if entries
                .iter()
                .all(|(k, _)| matches!(k.kind, ExprKind::String(_))) =>
        {
            let mut keys = BTreeSet::new();
            let unique = entries
                .iter()
                .all(|(k, _)| matches!(&k.kind, ExprKind::String(s) if keys.insert(s.clone())));
            if !unique {
                return ir::Value::Expr(e.clone());
            }
            fold(ir::Value::Map(
                entries
                    .iter()
                    .map(|(k, v)| {
                        let ExprKind::String(key) = &k.kind else {
                            unreachable!("checked above")
                        };
                        (key.clone(), from_expr(v))
                    })
                    .collect(),
            ))
        }
        _ => ir::Value::Expr(e.clone()),
    }
}

/// A list or map whose items are all literal becomes one literal.
fn fold(v: ir::Value) -> ir::Value {
    match v {
        ir::Value::List(items) if items.iter().all(|i| i.as_literal().is_some()) => {
            ir::Value::Literal(Json::Array(
                items
                    .into_iter()
                    .filter_map(|i| match i {
                        ir::Value::Literal(j) => Some(j),
                        _ => None,
                    })
                    .collect(),
            ))
        }
        ir::Value::Map(entries) if entries.iter().all(|(_, v)| v.as_literal().is_some()) => {
            ir::Value::Literal(Json::Object(
                entries
                    .into_iter()
                    .filter_map(|(k, v)| match v {
                        ir::Value::Literal(j) => Some((k, j)),
                        _ => None,
                    })
                    .collect(),
            ))
        }
        other => other,
    }
}

/// What a slot needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    Bool,
    List,
    Int,
    Number,
    String,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Bool => "a bool",
            Shape::List => "a list",
            Shape::Int => "an integer",
            Shape::Number => "a number",
            Shape::String => "a string",
        }
    }

    fn help(self) -> &'static str {
        match self {
            Shape::Bool => {
                "compare it (`x > 0`, `x != ''`, `size(x) > 0`) or test for presence with `has(...)`"
            }
            Shape::List => "iterate over a list: pass one in the input, or build one with `[...]`",
            Shape::Int => "convert it with `int(...)`",
            Shape::Number => "convert it with `double(...)`",
            Shape::String => "convert it with `string(...)`",
        }
    }

    /// Whether a value of type `ty` can never have this shape (unknown types can).
    fn never(self, ty: &Ty) -> bool {
        match (self, ty) {
            (_, Ty::Dyn) => false,
            (shape, Ty::Optional(inner)) => shape.never(inner),
            (Shape::Bool, Ty::Bool) => false,
            (Shape::List, Ty::List(_)) => false,
            (Shape::Int, Ty::Int | Ty::Number) => false,
            (Shape::Number, Ty::Int | Ty::Double | Ty::Number) => false,
            (Shape::String, Ty::String) => false,
            _ => true,
        }
    }
}
