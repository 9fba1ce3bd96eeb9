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
