//! Text to [`Expr`]: the pest grammar `grammar/expr.pest`, with spans in workflow-file bytes.
//!
//! This file runs the grammar and lowers its pairs to the tree; `fast` reads well-formed
//! expressions by hand into the same tree first, `literal` decodes number and string
//! literals, `error` turns pest's errors into "expected …" in words.

use pest::Parser as _;
use pest::iterators::Pair;

use crate::diagnostics::{Code, Diagnostic, FileId, Span};

use super::ast::{BinaryOp, Expr, ExprKind, MacroKind, Name, Template, TemplatePart, UnaryOp};
use error::friendly;

#[derive(pest_derive::Parser)]
#[grammar = "grammar/expr.pest"]
struct ExprParser;

mod error;
mod fast;
mod literal;

/// Deepest syntax tree accepted. Checking and evaluation recurse over the tree, so this bounds
/// their stack use; real expressions stay far below it.
pub const MAX_DEPTH: usize = 100;

/// Deepest nesting of brackets and conditionals accepted: the parser recurses once per level.
/// CEL requires at least 12; debug builds on a 2 MiB thread stack manage about 55.
pub const MAX_NESTING: usize = 32;

/// Longest expression text accepted, in bytes (CEL implementations cap it similarly).
pub const MAX_LEN: usize = 100_000;

/// Parses a bare expression. `offset` is the byte offset of `src[0]` in file `file`.
pub fn parse_expr(src: &str, file: FileId, offset: usize) -> Result<Expr, Diagnostic> {
    if let Some(e) = fast::expr(src, file, offset) {
        return Ok(e);
    }
    parse_with_grammar(src, file, offset)
}

fn parse_with_grammar(src: &str, file: FileId, offset: usize) -> Result<Expr, Diagnostic> {
    let b = Builder { src, file, offset };
    b.check_size(src)?;
    let mut pairs =
        ExprParser::parse(Rule::expr_eoi, src).map_err(|e| b.syntax_error(&e, false))?;
    match pairs.next() {
        Some(pair) => b.expr(pair, 0),
        None => Err(b.error(
            b.span(0, src.len()),
            "expected an expression",
            "write an expression",
        )),
    }
}

/// Parses a YAML string scalar: exactly `${ expr }` (whitespace around allowed) gives
/// [`Template::Expr`]; text with `${ … }` inside gives [`Template::Interp`]; no `${` gives
/// [`Template::Literal`]. `$${` stands for a literal `${`.
///
/// `offset` is the byte offset of the scalar's first content character when the scalar's text
/// maps one to one onto the source (plain, or quoted without escapes); with `None` every span
/// of the result, and of an error, is `whole`.
pub fn parse_template(
    s: &str,
    file: FileId,
    offset: Option<usize>,
    whole: Span,
) -> Result<Template, Diagnostic> {
    let base = offset.unwrap_or(0);
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut rest = 0;
    let mut exprs = 0;
    while let Some(found) = s[rest..].find('$') {
        let at = rest + found;
        let tail = &s[at..];
        if tail.starts_with("$${") {
            text.push_str(&s[rest..at]);
            text.push_str("${");
            rest = at + 3;
        } else if tail.starts_with("${") {
            text.push_str(&s[rest..at]);
            if !text.is_empty() {
                parts.push(TemplatePart::Text(std::mem::take(&mut text)));
            }
            let start = at + 2;
            let b = Builder {
                src: &s[start..],
                file,
                offset: base + start,
            };
            let parsed = b.interp().map_err(|mut d| {
                if offset.is_none() {
                    for l in &mut d.labels {
                        l.span = whole;
                    }
                }
                d
            })?;
            let (mut expr, consumed) = parsed;
            if offset.is_none() {
                expr.set_spans(whole);
            }
            parts.push(TemplatePart::Expr(expr));
            exprs += 1;
            rest = start + consumed;
        } else {
            text.push_str(&s[rest..=at]);
            rest = at + 1;
        }
    }
    text.push_str(&s[rest..]);
    if exprs == 0 {
        return Ok(Template::Literal(text));
    }
    if !text.is_empty() {
        parts.push(TemplatePart::Text(text));
    }
    let only_space = |p: &TemplatePart| matches!(p, TemplatePart::Text(t) if t.trim().is_empty());
    // Exactly one expression with at most whitespace around it stands for its typed value.
    let single = {
        let mut significant = parts.iter().enumerate().filter(|(_, p)| !only_space(p));
        match (significant.next(), significant.next()) {
            (Some((i, TemplatePart::Expr(_))), None) => Some(i),
            _ => None,
        }
    };
    if let Some(i) = single
        && let TemplatePart::Expr(e) = parts.swap_remove(i)
    {
        return Ok(Template::Expr(e));
    }
    Ok(Template::Interp(parts))
}

/// Turns pest pairs into [`Expr`] nodes with file spans.
struct Builder<'s> {
    src: &'s str,
    file: FileId,
    offset: usize,
}

type Result<T, E = Diagnostic> = std::result::Result<T, E>;

impl<'s> Builder<'s> {
    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, self.offset + start, self.offset + end)
    }

    fn pspan(&self, s: pest::Span<'_>) -> Span {
        self.span(s.start(), s.end())
    }

    fn error(&self, span: Span, message: impl Into<String>, help: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Code::E010, span, message).help(help)
    }

    /// Parses `expr }` at the start of `src`: the inside of `${ … }`. Returns the expression
    /// and the number of bytes read, closing brace included.
    fn interp(&self) -> Result<(Expr, usize)> {
        match fast::interp(self.src, self.file, self.offset) {
            Some(read) => Ok(read),
            None => self.interp_with_grammar(),
        }
    }

    /// [`Self::interp`] by the grammar alone.
    fn interp_with_grammar(&self) -> Result<(Expr, usize)> {
        self.check_size(self.src)?;
        let pairs =
            ExprParser::parse(Rule::interp, self.src).map_err(|e| self.syntax_error(&e, true))?;
        let mut expr = None;
        let mut end = self.src.len();
        for pair in pairs {
            match pair.as_rule() {
                Rule::expr => expr = Some(self.expr(pair, 0)?),
                Rule::close_interp => end = pair.as_span().end(),
                _ => {}
            }
        }
        match expr {
            Some(e) => Ok((e, end)),
            None => Err(self.error(
                self.span(0, 0),
                "expected an expression",
                "write an expression",
            )),
        }
    }

    /// Rejects inputs whose nesting would make the recursive-descent parser recurse too deep,
    /// before pest sees them: brackets and conditionals each add a level.
    fn check_size(&self, src: &str) -> Result<()> {
        if src.len() > MAX_LEN {
            return Err(self.error(
                self.span(0, 0),
                format!("expression is longer than {MAX_LEN} bytes"),
                "compute large values in an activity instead",
            ));
        }
        // Each open bracket remembers how many `?` were seen at its level.
        let mut levels: Vec<usize> = vec![0];
        let mut depth = 0usize;
        let bytes = src.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'"' | b'\'' => {
                    i = skip_string(bytes, i);
                    continue;
                }
                b'(' | b'[' | b'{' => {
                    levels.push(0);
                    depth += 1;
                }
                b')' | b']' | b'}' => {
                    let Some(q) = levels.pop() else { break };
                    depth = depth.saturating_sub(1 + q);
                    if levels.is_empty() {
                        // The closing brace of `${ … }`: the expression ends here.
                        break;
                    }
                }
                b'?' => {
                    if let Some(q) = levels.last_mut() {
                        *q += 1;
                    }
                    depth += 1;
                }
                _ => {}
            }
            if depth > MAX_NESTING {
                return Err(self.error(
                    self.span(i, i + 1),
                    format!("expression is nested too deeply (more than {MAX_NESTING} levels)"),
                    "split the expression, or compute the value in several steps",
                ));
            }
            i += 1;
        }
        Ok(())
    }

    fn too_deep(&self, depth: usize, span: pest::Span<'_>) -> Result<()> {
        if depth > MAX_DEPTH {
            Err(self.error(
                self.pspan(span),
                format!("expression is nested too deeply (more than {MAX_DEPTH} levels)"),
                "split the expression, or compute the value in several steps",
            ))
        } else {
            Ok(())
        }
    }

    /// Builds the node for any expression-level pair; `depth` bounds the tree depth.
    fn expr(&self, pair: Pair<'_, Rule>, depth: usize) -> Result<Expr> {
        self.too_deep(depth, pair.as_span())?;
        match pair.as_rule() {
            Rule::expr => {
                let mut inner = pair.into_inner();
                // Levels of the grammar that add no node add no depth either.
                if inner.len() == 1 {
                    return self.expr(next(&mut inner)?, depth);
                }
                let cond = self.expr(next(&mut inner)?, depth + 1)?;
                inner.next();
                let then = self.expr(next(&mut inner)?, depth + 1)?;
                inner.next();
                let otherwise = self.expr(next(&mut inner)?, depth + 1)?;
                let span = cond.span.to(otherwise.span);
                Ok(Expr::new(
                    ExprKind::Cond {
                        cond: Box::new(cond),
                        then: Box::new(then),
                        otherwise: Box::new(otherwise),
                    },
                    span,
                ))
            }
            Rule::binary => self.binary(pair, depth),
            Rule::operand => self.operand(pair, depth),
            _ => self.primary(pair, depth),
        }
    }

    /// `a op b op c …`, arranged by CEL's precedence, every level left-associative. Iterative
    /// (operator precedence with two stacks), so long chains cost no stack.
    fn binary(&self, pair: Pair<'_, Rule>, depth: usize) -> Result<Expr> {
        let span = pair.as_span();
        let mut inner = pair.into_inner();
        let ops = inner.len() / 2;
        self.too_deep(depth + ops, span)?;
        let depth = depth + ops;
        let mut operands: Vec<Expr> = vec![self.operand(next(&mut inner)?, depth)?];
        let mut pending: Vec<BinaryOp> = Vec::new();
        while let Some(op) = inner.next() {
            let op = binary_op(op.as_str());
            while pending
                .last()
                .is_some_and(|top| top.precedence() >= op.precedence())
            {
                reduce(&mut operands, &mut pending);
            }
            pending.push(op);
            operands.push(self.operand(next(&mut inner)?, depth)?);
        }
        while !pending.is_empty() {
            reduce(&mut operands, &mut pending);
        }
        next_expr(operands.pop())
    }

    /// Prefix operators, a primary, and its `.field`, `.method(args)` and `[index]` suffixes.
    /// As in CEL, `-` directly before a number literal is part of the literal, so
    /// `-9223372036854775808` is the smallest int rather than an overflow, and `-1.size()`
    /// calls `size` on `-1`.
    fn operand(&self, pair: Pair<'_, Rule>, depth: usize) -> Result<Expr> {
        let span = pair.as_span();
        let children: Vec<Pair<'_, Rule>> = pair.into_inner().collect();
        let at = children
            .iter()
            .position(|p| p.as_rule() != Rule::op_unary)
            .unwrap_or(children.len());
        let (ops, rest) = children.split_at(at);
        let Some((primary, postfixes)) = rest.split_first() else {
            return Err(self.error(
                self.pspan(span),
                "expected an expression",
                "write an expression",
            ));
        };
        self.too_deep(depth + ops.len() + postfixes.len(), span)?;
        let depth = depth + ops.len() + postfixes.len();
        let (ops, minus) = match ops.split_last() {
            Some((last, init)) if primary.as_rule() == Rule::number && last.as_str() == "-" => {
                (init, Some(last.as_span().start()))
            }
            _ => (ops, None),
        };
        let mut target = match minus {
            Some(at) => self.number(primary.clone(), Some(at))?,
            None => self.expr(primary.clone(), depth)?,
        };
        for post in postfixes {
            let end = post.as_span().end();
            let span = Span::new(self.file, target.span.start as usize, self.offset + end);
            let mut parts = post.clone().into_inner();
            target = match post.as_rule() {
                Rule::field => {
                    let field = self.name(next(&mut parts)?)?;
                    Expr::new(
                        ExprKind::Member {
                            target: Box::new(target),
                            field,
                        },
                        span,
                    )
                }
                Rule::index => {
                    let index = self.expr(next(&mut parts)?, depth)?;
                    Expr::new(
                        ExprKind::Index {
                            target: Box::new(target),
                            index: Box::new(index),
                        },
                        span,
                    )
                }
                _ => {
                    let function = self.name(next(&mut parts)?)?;
                    let args = self.args(next(&mut parts)?, depth)?;
                    self.method(target, function, args, span)?
                }
            };
        }
        for op in ops.iter().rev() {
            let kind = if op.as_str() == "!" {
                UnaryOp::Not
            } else {
                UnaryOp::Neg
            };
            let span = self.pspan(op.as_span()).to(target.span);
            target = Expr::new(
                ExprKind::Unary {
                    op: kind,
                    operand: Box::new(target),
                },
                span,
            );
        }
        Ok(target)
    }

    /// A method call, or one of the receiver-style macros when name and arity match.
    fn method(
        &self,
        target: Expr,
        function: Name,
        mut args: Vec<Expr>,
        span: Span,
    ) -> Result<Expr> {
        let Some(kind) = MacroKind::from_name(&function.name) else {
            return Ok(method_call(target, function, args, span));
        };
        let arity_ok = args.len() == 2 || (kind == MacroKind::Map && args.len() == 3);
        if !arity_ok {
            return Ok(method_call(target, function, args, span));
        }
        let var = match &args[0].kind {
            ExprKind::Ident(name) => Name {
                name: name.clone(),
                span: args[0].span,
            },
            _ => {
                return Err(self
                    .error(
                        args[0].span,
                        format!("the first argument of `{}` must be a variable name", function.name),
                        format!(
                            "name the element, e.g. `list.{}(x, …)`, and use `x` in the second argument",
                            function.name
                        ),
                    )
                    .label("expected a name"));
            }
        };
        // `[var, body]` or `[var, filter, body]`, as the arity check above established.
        let mut rest = args.drain(1..);
        let (filter, body) = match (rest.next(), rest.next()) {
            (Some(filter), Some(body)) => (Some(filter), body),
            (Some(body), None) => (None, body),
            _ => return next_expr(None),
        };
        drop(rest);
        Ok(Expr::new(
            ExprKind::Macro {
                kind,
                target: Box::new(target),
                var,
                filter: filter.map(Box::new),
                body: Box::new(body),
            },
            span,
        ))
    }

    fn args(&self, pair: Pair<'_, Rule>, depth: usize) -> Result<Vec<Expr>> {
        pair.into_inner()
            .filter(|p| p.as_rule() != Rule::comma)
            .map(|p| self.expr(p, depth))
            .collect()
    }

    /// An identifier; CEL's reserved words cannot be one.
    fn name(&self, pair: Pair<'_, Rule>) -> Result<Name> {
        let name = pair.as_str();
        let span = self.pspan(pair.as_span());
        if RESERVED.contains(&name) {
            return Err(self
                .error(
                    span,
                    format!("`{name}` is a reserved word and cannot be used as a name"),
                    format!("read a field with this name as a map key: `x[\"{name}\"]`"),
                )
                .label("reserved word"));
        }
        Ok(Name {
            name: name.to_owned(),
            span,
        })
    }

    fn primary(&self, pair: Pair<'_, Rule>, depth: usize) -> Result<Expr> {
        let span = self.pspan(pair.as_span());
        let kind = match pair.as_rule() {
            Rule::number => return self.number(pair, None),
            Rule::string | Rule::raw_string => ExprKind::String(self.string(pair)?),
            Rule::lit_true => ExprKind::Bool(true),
            Rule::lit_false => ExprKind::Bool(false),
            Rule::lit_null => ExprKind::Null,

            Rule::paren => return self.expr(next(&mut pair.into_inner())?, depth),
            Rule::list => ExprKind::List(
                pair.into_inner()
                    .filter(|p| p.as_rule() == Rule::expr)
                    .map(|p| self.expr(p, depth + 1))
                    .collect::<Result<_>>()?,
            ),
            Rule::map => {
                let mut entries = Vec::new();
                for entry in pair.into_inner().filter(|p| p.as_rule() == Rule::entry) {
                    let mut kv = entry.into_inner();
                    let key = self.expr(next(&mut kv)?, depth + 1)?;
                    kv.next();
                    let value = self.expr(next(&mut kv)?, depth + 1)?;
                    entries.push((key, value));
                }
                ExprKind::Map(entries)
            }
            Rule::name_ref => {
                let mut inner = pair.into_inner();
                let function = self.name(next(&mut inner)?)?;
                let Some(call) = inner.next() else {
                    // The rule's span would include the whitespace after the name.
                    return Ok(Expr::new(ExprKind::Ident(function.name), function.span));
                };
                let mut args = self.args(next(&mut call.into_inner())?, depth + 1)?;
                if function.name == "has" && args.len() == 1 {
                    let arg = args.remove(0);
                    return match arg.kind {
                        ExprKind::Member { target, field } => {
                            Ok(Expr::new(ExprKind::Has { target, field }, span))
                        }
                        _ => Err(self
                            .error(
                                arg.span,
                                "the argument of `has` must be a field selection",
                                "write `has(x.field)` to test whether `x` has `field`",
                            )
                            .label("expected `x.field`")),
                    };
                }
                ExprKind::Call {
                    target: None,
                    function,
                    args,
                }
            }
            rule => {
                return Err(self.error(
                    span,
                    format!("unexpected {}", friendly(rule).unwrap_or("text")),
                    "write an expression",
                ));
            }
        };
        Ok(Expr::new(kind, span))
    }
}

/// Words CEL reserves (its language definition, "Syntax"): none of them can be a name, so a
/// variable, step id or loop name spelt so could not be read back in an expression. The
/// grammar reads them as identifiers (see `ident` in `grammar/expr.pest`); the parser rejects
/// them where it reads a name, and can then say why.
pub const RESERVED: &[&str] = &[
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// The next pair; the grammar guarantees it, but a wrong guess is an error, not a panic.
fn next<'i>(it: &mut pest::iterators::Pairs<'i, Rule>) -> Result<Pair<'i, Rule>> {
    it.next().ok_or_else(|| {
        Diagnostic::new(
            Code::E010,
            Span::default(),
            "internal error: malformed expression tree",
        )
        .help("please report this expression")
    })
}

fn binary_op(text: &str) -> BinaryOp {
    match text {
        "||" => BinaryOp::Or,
        "&&" => BinaryOp::And,
        "==" => BinaryOp::Eq,
        "!=" => BinaryOp::Ne,
        "<" => BinaryOp::Lt,
        "<=" => BinaryOp::Le,
        ">" => BinaryOp::Gt,
        ">=" => BinaryOp::Ge,
        "in" => BinaryOp::In,
        "+" => BinaryOp::Add,
        "-" => BinaryOp::Sub,
        "*" => BinaryOp::Mul,
        "/" => BinaryOp::Div,
        _ => BinaryOp::Rem,
    }
}

/// Combines the two topmost operands with the topmost operator.
fn reduce(operands: &mut Vec<Expr>, pending: &mut Vec<BinaryOp>) {
    let (Some(op), Some(rhs), Some(lhs)) = (pending.pop(), operands.pop(), operands.pop()) else {
        return;
    };
    let span = lhs.span.to(rhs.span);
    operands.push(Expr::new(
        ExprKind::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
        span,
    ));
}

fn next_expr(e: Option<Expr>) -> Result<Expr> {
    e.ok_or_else(|| {
        Diagnostic::new(
            Code::E010,
            Span::default(),
            "internal error: malformed expression tree",
        )
        .help("please report this expression")
    })
}

fn method_call(target: Expr, function: Name, args: Vec<Expr>, span: Span) -> Expr {
    Expr::new(
        ExprKind::Call {
            target: Some(Box::new(target)),
            function,
            args,
        },
        span,
    )
}

/// Index just past the string literal starting at `bytes[i]` (a quote), or the end of input
/// if it is not closed. Handles triple quotes and backslash escapes; raw strings only differ
/// in `\"`, which at worst makes this over-skip, and it is only used for nesting estimates and
/// error hints.
fn skip_string(bytes: &[u8], i: usize) -> usize {
    let q = bytes[i];
    let triple = bytes.get(i..i + 3) == Some(&[q, q, q][..]);
    let mut j = i + if triple { 3 } else { 1 };
    while j < bytes.len() {
        let b = bytes[j];
        if b == b'\\' {
            j += 2;
            continue;
        }
        if b == q && (!triple || bytes.get(j..j + 3) == Some(&[q, q, q][..])) {
            return j + if triple { 3 } else { 1 };
        }
        if !triple && b == b'\n' {
            return j;
        }
        j += 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests;
