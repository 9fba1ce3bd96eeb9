//! Canonical CEL text of a tree: `Display` for [`Expr`], which the parser reads back as the
//! same tree.

use std::fmt;

use super::{Expr, ExprKind, UnaryOp};

/// Canonical CEL: fully parenthesised only where precedence requires, so that printing and
/// parsing again yields the same tree.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Null => f.write_str("null"),
            ExprKind::Bool(b) => write!(f, "{b}"),
            ExprKind::Int(i) => write!(f, "{i}"),
            // `{:?}` is the shortest text that reads back as the same f64, and always has a
            // `.` or an exponent, which CEL needs to read it as a double.
            ExprKind::Double(d) => write!(f, "{d:?}"),
            ExprKind::String(s) => write_string(f, s),
            ExprKind::Ident(name) => f.write_str(name),
            ExprKind::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            ExprKind::Map(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
            ExprKind::Member { target, field } => {
                write_operand(f, target)?;
                write!(f, ".{}", field.name)
            }
            ExprKind::Index { target, index } => {
                write_operand(f, target)?;
                write!(f, "[{index}]")
            }
            ExprKind::Call {
                target,
                function,
                args,
            } => {
                if let Some(t) = target {
                    write_operand(f, t)?;
                    f.write_str(".")?;
                }
                write!(f, "{}(", function.name)?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
            ExprKind::Has { target, field } => {
                f.write_str("has(")?;
                write_operand(f, target)?;
                write!(f, ".{})", field.name)
            }
            ExprKind::Macro {
                kind,
                target,
                var,
                filter,
                body,
            } => {
                write_operand(f, target)?;
                write!(f, ".{}({}, ", kind.as_str(), var.name)?;
                if let Some(p) = filter {
                    write!(f, "{p}, ")?;
                }
                write!(f, "{body})")
            }
            ExprKind::Unary { op, operand } => {
                f.write_str(op.as_str())?;
                // `-` before a number literal would fold into a negative literal on reparse,
                // also when the literal starts a longer operand (`-(1.size())`).
                if *op == UnaryOp::Neg && starts_with_number(operand)
                    || needs_parens_as_unary_operand(operand)
                {
                    write!(f, "({operand})")
                } else {
                    write!(f, "{operand}")
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let p = op.precedence();
                // Left-associative: the left operand may share the level, the right may not.
                write_side(f, lhs, p, false)?;
                write!(f, " {} ", op.as_str())?;
                write_side(f, rhs, p, true)
            }
            ExprKind::Cond {
                cond,
                then,
                otherwise,
            } => {
                // The condition is an `||` level expression; the branches: `then` is a full
                // expression in CEL's grammar only up to `||`, `otherwise` may be a conditional.
                write_side(f, cond, 1, false)?;
                f.write_str(" ? ")?;
                write_side(f, then, 1, false)?;
                f.write_str(" : ")?;
                write!(f, "{otherwise}")
            }
        }
    }
}

/// Precedence of a node as an operand: conditionals bind loosest, primaries tightest.
fn node_precedence(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Cond { .. } => 0,
        ExprKind::Binary { op, .. } => op.precedence(),
        ExprKind::Unary { .. } => 6,
        ExprKind::Int(i) if *i < 0 => 6,
        ExprKind::Double(d) if d.is_sign_negative() => 6,
        _ => 7,
    }
}

fn write_side(f: &mut fmt::Formatter<'_>, e: &Expr, level: u8, right: bool) -> fmt::Result {
    let p = node_precedence(e);
    if p < level || (right && p == level) {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

/// Whether the printed form of `e` begins with a number literal.
fn starts_with_number(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Int(_) | ExprKind::Double(_) => true,
        ExprKind::Member { target, .. }
        | ExprKind::Index { target, .. }
        | ExprKind::Macro { target, .. } => {
            node_precedence(target) == 7 && starts_with_number(target)
        }
        ExprKind::Call {
            target: Some(t), ..
        } => node_precedence(t) == 7 && starts_with_number(t),
        _ => false,
    }
}

fn needs_parens_as_unary_operand(e: &Expr) -> bool {
    node_precedence(e) < 7
}

/// Writes the target of `.field`, `[i]` or `.method()`: anything below a primary needs parens.
fn write_operand(f: &mut fmt::Formatter<'_>, e: &Expr) -> fmt::Result {
    if node_precedence(e) < 7 {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

/// A double-quoted CEL string literal with the escapes CEL reads back.
fn write_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    use fmt::Write;
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if c.is_control() => write!(f, "\\u{:04x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}
