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

/// How a secret reference is written into the values a workflow passes to an activity:
/// `⟦secret:payments/api_key⟧`. Only the reference is ever in history; the activity worker
/// replaces it with the value just before the activity runs (`runtime::secrets`).
pub const SECRET_OPEN: &str = "⟦secret:";
/// The end of a secret reference.
pub const SECRET_CLOSE: &str = "⟧";

/// The reference `secret(name)` evaluates to.
pub fn secret_reference(name: &str) -> String {
    format!("{SECRET_OPEN}{name}{SECRET_CLOSE}")
}

/// Whether `name` can name a secret: path segments of `[A-Za-z0-9_.-]`, separated by `/`,
/// none empty, `.` or `..` (a file provider reads `DIR/NAME`: no escaping its directory).
pub fn is_secret_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 256
        && name.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        })
}
