//! The expression language: a documented subset of CEL, parsed with pest, checked and evaluated over JSON.

pub mod ast;
mod builtins;
pub mod eval;
pub mod parse;
pub mod types;

pub use ast::{Expr, ExprKind, Template, TemplatePart};
pub use eval::{Bindings, Budget, EvalError, Host, Layered, eval, eval_template};
pub use parse::{parse_expr, parse_template};
pub use types::{Ty, TypeScope, check_expr, check_template};

/// The built-in global functions, by name (editor completion).
pub fn function_names() -> impl Iterator<Item = &'static str> {
    builtins::FUNCTIONS.iter().map(|f| f.name)
}

/// The built-in methods that apply to a value of type `ty`, by name (editor completion).
pub fn method_names(ty: &Ty) -> Vec<&'static str> {
    use builtins::Receiver;
    builtins::METHODS
        .iter()
        .filter(|m| match (m.receiver, ty) {
            (Receiver::Sized, Ty::String | Ty::List(_) | Ty::Map(_)) => true,
            (Receiver::String, Ty::String) => true,
            (Receiver::StringList, Ty::List(item)) => matches!(**item, Ty::String | Ty::Dyn),
            (Receiver::Macro, Ty::List(_) | Ty::Map(_)) => true,
            (_, Ty::Dyn) => true,
            _ => false,
        })
        .map(|m| m.name)
        .collect()
}
