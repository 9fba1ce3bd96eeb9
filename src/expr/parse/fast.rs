//! A hand-written reader for well-formed expressions, building the very tree the grammar
//! would — spans included — at a fraction of pest's cost; it gives up (`None`) on anything
//! wrong or rare (escapes, raw or triple-quoted strings, hex, comments, big trees), which
//! `grammar/expr.pest` then reads and, if need be, reports.
//!
//! The grammar stays the definition: `tests.rs` checks on generated and mutated inputs that
//! whenever this reader answers, the grammar gives the same tree.

use super::{Builder, RESERVED, binary_op, reduce};
use crate::diagnostics::{FileId, Span};
use crate::expr::ast::{Expr, ExprKind, Name, UnaryOp};

/// Nodes beyond this go to the grammar, which bounds the tree's depth (`MAX_DEPTH`); a tree
/// is never deeper than it has nodes.
const NODES: usize = 90;

/// A whole bare expression (whitespace around it allowed).
pub(super) fn expr(src: &str, file: FileId, offset: usize) -> Option<Expr> {
    let mut r = Reader::new(src, file, offset)?;
    r.ws()?;
    let e = r.expr()?;
    r.ws()?;
    (r.pos == r.bytes.len()).then_some(e)
}

/// The inside of `${ … }`: an expression and its closing brace; the tree and the number of
/// bytes read, brace included.
pub(super) fn interp(src: &str, file: FileId, offset: usize) -> Option<(Expr, usize)> {
    let mut r = Reader::new(src, file, offset)?;
    r.ws()?;
    let e = r.expr()?;
    r.ws()?;
    r.eat(b'}')?;
    Some((e, r.pos))
}

struct Reader<'s> {
    src: &'s str,
    bytes: &'s [u8],
    pos: usize,
    file: FileId,
    offset: usize,
    nodes: usize,
}

impl<'s> Reader<'s> {
    /// A reader, unless the text is too long or nests too deeply: the grammar's limits, with
    /// their messages, are the grammar's to report.
    fn new(src: &'s str, file: FileId, offset: usize) -> Option<Self> {
        let b = Builder { src, file, offset };
        b.check_size(src).ok()?;
        Some(Reader {
            src,
            bytes: src.as_bytes(),
            pos: 0,
            file,
            offset,
            nodes: 0,
        })
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, self.offset + start, self.offset + end)
    }

    fn node(&mut self, kind: ExprKind, span: Span) -> Option<Expr> {
        self.nodes += 1;
        (self.nodes <= NODES).then(|| Expr::new(kind, span))
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// The grammar's whitespace; a `//` comment is left to the grammar.
    fn ws(&mut self) -> Option<()> {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\n' | b'\x0C' | b'\r' => self.pos += 1,
                b'/' if self.bytes.get(self.pos + 1) == Some(&b'/') => return None,
                _ => break,
            }
        }
        Some(())
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek() == Some(b)).then(|| self.pos += 1)
    }

    /// `binary (? binary : expr)?`
    fn expr(&mut self) -> Option<Expr> {
        let cond = self.binary()?;
        let before = self.pos;
        self.ws()?;
        if self.eat(b'?').is_none() {
            self.pos = before;
            return Some(cond);
        }
        self.ws()?;
        let then = self.binary()?;
        self.ws()?;
        self.eat(b':')?;
        self.ws()?;
        let otherwise = self.expr()?;
        let span = cond.span.to(otherwise.span);
        self.node(
            ExprKind::Cond {
                cond: Box::new(cond),
                then: Box::new(then),
                otherwise: Box::new(otherwise),
            },
            span,
        )
    }

    /// Operands and operators, arranged by precedence as `Builder::binary` does.
    fn binary(&mut self) -> Option<Expr> {
        let mut operands = vec![self.operand()?];
        let mut pending = Vec::new();
        loop {
            let before = self.pos;
            self.ws()?;
            let Some(op) = self.infix() else {
                self.pos = before;
                break;
            };
            let op = binary_op(op);
            while pending
                .last()
                .is_some_and(|top: &crate::expr::ast::BinaryOp| top.precedence() >= op.precedence())
            {
                self.reduce(&mut operands, &mut pending)?;
            }
            pending.push(op);
            self.ws()?;
            operands.push(self.operand()?);
        }
        while !pending.is_empty() {
            self.reduce(&mut operands, &mut pending)?;
        }
        operands.pop()
    }

    fn reduce(
        &mut self,
        operands: &mut Vec<Expr>,
        pending: &mut Vec<crate::expr::ast::BinaryOp>,
    ) -> Option<()> {
        self.nodes += 1;
        reduce(operands, pending);
        (self.nodes <= NODES).then_some(())
    }

    /// An infix operator at the cursor, consumed.
    fn infix(&mut self) -> Option<&'static str> {
        let two = self.bytes.get(self.pos..self.pos + 2).unwrap_or_default();
        let op = match two {
            b"||" => "||",
            b"&&" => "&&",
            b"==" => "==",
            b"!=" => "!=",
            b"<=" => "<=",
            b">=" => ">=",
            b"in" if !self.bytes.get(self.pos + 2).is_some_and(|&b| is_ident(b)) => "in",
            _ => match self.peek()? {
                b'<' => "<",
                b'>' => ">",
                b'+' => "+",
                b'-' => "-",
                b'*' => "*",
                b'/' => "/",
                b'%' => "%",
                _ => return None,
            },
        };
        self.pos += op.len();
        Some(op)
    }

    /// `!`/`-` prefixes, a primary, and its `.field`, `.method(…)` and `[index]` suffixes.
    fn operand(&mut self) -> Option<Expr> {
        let mut ops: Vec<(UnaryOp, usize)> = Vec::new();
        loop {
            match self.peek()? {
                b'!' => ops.push((UnaryOp::Not, self.pos)),
                b'-' => ops.push((UnaryOp::Neg, self.pos)),
                _ => break,
            }
            self.pos += 1;
            self.ws()?;
        }
        // As in CEL, `-` directly before a number literal is part of the literal.
        let minus = match ops.last() {
            Some(&(UnaryOp::Neg, at)) if self.peek().is_some_and(|b| b.is_ascii_digit()) => {
                ops.pop();
                Some(at)
            }
            _ => None,
        };
        let mut target = match minus {
            Some(at) => self.number(Some(at))?,
            None => self.primary()?,
        };
        loop {
            let before = self.pos;
            self.ws()?;
            match self.peek() {
                Some(b'.') => {
                    self.pos += 1;
                    self.ws()?;
                    let field = self.name()?;
                    let after_name = self.pos;
                    self.ws()?;
                    if self.peek() == Some(b'(') {
                        let args = self.args()?;
                        let span = Span::new(
                            self.file,
                            target.span.start as usize,
                            self.offset + self.pos,
                        );
                        let b = Builder {
                            src: self.src,
                            file: self.file,
                            offset: self.offset,
                        };
                        self.nodes += 1;
                        target = b.method(target, field, args, span).ok()?;
                    } else {
                        self.pos = after_name;
                        let span = Span::new(
                            self.file,
                            target.span.start as usize,
                            field.span.end as usize,
                        );
                        target = self.node(
                            ExprKind::Member {
                                target: Box::new(target),
                                field,
                            },
                            span,
                        )?;
                    }
                }
                Some(b'[') => {
                    self.pos += 1;
                    self.ws()?;
                    let index = self.expr()?;
                    self.ws()?;
                    self.eat(b']')?;
                    let span = Span::new(
                        self.file,
                        target.span.start as usize,
                        self.offset + self.pos,
                    );
                    target = self.node(
                        ExprKind::Index {
                            target: Box::new(target),
                            index: Box::new(index),
                        },
                        span,
                    )?;
                }
                _ => {
                    self.pos = before;
                    break;
                }
            }
        }
        for (op, at) in ops.into_iter().rev() {
            let span = self.span(at, at + 1).to(target.span);
            target = self.node(
                ExprKind::Unary {
                    op,
                    operand: Box::new(target),
                },
                span,
            )?;
        }
        (self.nodes <= NODES).then_some(target)
    }

    fn primary(&mut self) -> Option<Expr> {
        let start = self.pos;
        match self.peek()? {
            b'0'..=b'9' => self.number(None),
            b'"' | b'\'' => self.string(),
            b'(' => {
                self.pos += 1;
                self.ws()?;
                let e = self.expr()?;
                self.ws()?;
                self.eat(b')')?;
                Some(e)
            }
            b'[' => {
                self.pos += 1;
                let items = self.list(b']', |r| r.expr())?;
                let span = self.span(start, self.pos);
                self.node(ExprKind::List(items), span)
            }
            b'{' => {
                self.pos += 1;
                let entries = self.list(b'}', |r| {
                    let key = r.expr()?;
                    r.ws()?;
                    r.eat(b':')?;
                    r.ws()?;
                    Some((key, r.expr()?))
                })?;
                let span = self.span(start, self.pos);
                self.node(ExprKind::Map(entries), span)
            }
            b if is_ident_start(b) => {
                // A string prefix (`r"…"`, `b'…'`) is the grammar's to read.
                if matches!(self.bytes.get(self.pos + 1), Some(b'"' | b'\'')) {
                    return None;
                }
                let word = self.ident();
                let span = self.span(start, self.pos);
                match word {
                    "true" => return self.node(ExprKind::Bool(true), span),
                    "false" => return self.node(ExprKind::Bool(false), span),
                    "null" => return self.node(ExprKind::Null, span),
                    w if RESERVED.contains(&w) => return None,
                    _ => {}
                }
                let after_name = self.pos;
                self.ws()?;
                if self.peek() != Some(b'(') {
                    self.pos = after_name;
                    return self.node(ExprKind::Ident(word.to_owned()), span);
                }
                let mut args = self.args()?;
                let span = self.span(start, self.pos);
                let function = Name {
                    name: word.to_owned(),
                    span: self.span(start, after_name),
                };
                if word == "has" && args.len() == 1 {
                    let ExprKind::Member { target, field } = args.remove(0).kind else {
                        return None;
                    };
                    return self.node(ExprKind::Has { target, field }, span);
                }
                self.node(
                    ExprKind::Call {
                        target: None,
                        function,
                        args,
                    },
                    span,
                )
            }
            _ => None,
        }
    }

    /// `( expr, … )` at the cursor: no trailing comma, as in the grammar's `args`.
    fn args(&mut self) -> Option<Vec<Expr>> {
        self.eat(b'(')?;
        let mut args = Vec::new();
        self.ws()?;
        if self.eat(b')').is_some() {
            return Some(args);
        }
        loop {
            args.push(self.expr()?);
            self.ws()?;
            if self.eat(b')').is_some() {
                return Some(args);
            }
            self.eat(b',')?;
            self.ws()?;
        }
    }

    /// Items up to `close` (the opening bracket read), separated by commas, one trailing
    /// comma allowed.
    fn list<T>(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<T>,
    ) -> Option<Vec<T>> {
        let mut items = Vec::new();
        loop {
            self.ws()?;
            if self.eat(close).is_some() {
                return Some(items);
            }
            items.push(item(self)?);
            self.ws()?;
            if self.eat(close).is_some() {
                return Some(items);
            }
            self.eat(b',')?;
        }
    }

    fn ident(&mut self) -> &'s str {
        let start = self.pos;
        while self.peek().is_some_and(is_ident) {
            self.pos += 1;
        }
        &self.src[start..self.pos]
    }

    /// A field or method name: an identifier that is not a reserved word.
    fn name(&mut self) -> Option<Name> {
        let start = self.pos;
        if !self.peek().is_some_and(is_ident_start) {
            return None;
        }
        let word = self.ident();
        (!RESERVED.contains(&word)).then(|| Name {
            name: word.to_owned(),
            span: self.span(start, self.pos),
        })
    }

    /// A decimal int or a double with digits before its point; `minus` is the offset of a `-`
    /// folded into it. Hex, `.5` and suffixes are the grammar's.
    fn number(&mut self, minus: Option<usize>) -> Option<Expr> {
        let start = self.pos;
        let digits = |r: &mut Self| {
            let from = r.pos;
            while r.peek().is_some_and(|b| b.is_ascii_digit()) {
                r.pos += 1;
            }
            r.pos > from
        };
        if !digits(self) {
            return None;
        }
        if self.bytes[start] == b'0' && matches!(self.peek(), Some(b'x' | b'X')) {
            return None;
        }
        let mut double = false;
        if self.peek() == Some(b'.') && self.bytes.get(self.pos + 1).is_some_and(u8::is_ascii_digit)
        {
            self.pos += 1;
            digits(self);
            double = true;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            let mark = self.pos;
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if digits(self) {
                double = true;
            } else {
                self.pos = mark;
            }
        }
        if matches!(self.peek(), Some(b'u' | b'U')) {
            return None;
        }
        let text = &self.src[start..self.pos];
        let span = self.span(minus.unwrap_or(start), self.pos);
        let kind = if double {
            let d = text.parse::<f64>().ok().filter(|d| d.is_finite())?;
            ExprKind::Double(if minus.is_some() { -d } else { d })
        } else {
            let v = i128::from(text.parse::<u64>().ok()?);
            ExprKind::Int(i64::try_from(if minus.is_some() { -v } else { v }).ok()?)
        };
        self.node(kind, span)
    }

    /// A one-line string without escapes; anything else is the grammar's.
    fn string(&mut self) -> Option<Expr> {
        let start = self.pos;
        let quote = self.bytes[start];
        if self.bytes.get(start + 1..start + 3) == Some(&[quote, quote][..]) {
            return None;
        }
        let body = start + 1;
        let len = self.bytes[body..]
            .iter()
            .position(|&b| b == quote || b == b'\\' || b == b'\n' || b == b'\r')?;
        let end = body + len;
        if self.bytes[end] != quote {
            return None;
        }
        self.pos = end + 1;
        let span = self.span(start, self.pos);
        self.node(ExprKind::String(self.src[body..end].to_owned()), span)
    }
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}
