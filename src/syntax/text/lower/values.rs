//! Tokens and values: numbers, durations, expressions, strings, templates and data.
//!
//! Out-of-range numbers are E065, bad durations E008; expressions are parsed by
//! [`crate::expr::parse_expr`] at their offset in the file.

use super::{Lower, P, parts};
use crate::diagnostics::{Code, Diagnostic, FileId, Span, Spanned};
use crate::expr::{self, Expr, ExprKind, Template};
use crate::syntax::ast::*;
use crate::syntax::duration;
use crate::syntax::text::Rule;
use std::time::Duration;

impl Lower {
    pub(super) fn int(&mut self, p: &P<'_>) -> Option<Spanned<i64>> {
        match p.as_str().parse::<i64>() {
            Ok(i) => Some(Spanned::new(i, self.span(p))),
            Err(_) => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::E065,
                        self.span(p),
                        format!("`{}` is too large for an integer", p.as_str()),
                    )
                    .label("out of range")
                    .help("integers must lie between -9223372036854775808 and 9223372036854775807"),
                );
                None
            }
        }
    }

    pub(super) fn number(&mut self, p: &P<'_>) -> Option<Spanned<f64>> {
        match p.as_str().parse::<f64>() {
            Ok(f) if f.is_finite() => Some(Spanned::new(f, self.span(p))),
            _ => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::E065,
                        self.span(p),
                        format!("`{}` is out of range for a number", p.as_str()),
                    )
                    .label("out of range")
                    .help("write a smaller number"),
                );
                None
            }
        }
    }

    pub(super) fn duration(&mut self, p: &P<'_>, what: &str) -> Option<Spanned<Duration>> {
        match duration::parse(p.as_str()) {
            Ok(d) => Some(Spanned::new(d, self.span(p))),
            Err(why) => {
                self.diagnostics.push(
                    Diagnostic::new(Code::E008, self.span(p), format!("invalid duration for {what}: {why}"))
                        .label("not a duration")
                        .help("write durations as `500ms`, `30s`, `5m`, `2h`, `1d`, `1h30m` or ISO 8601 `PT30S`"),
                );
                None
            }
        }
    }

    /// Parses the text of `p` (a `cel` or `string` pair) as an expression; comments inside
    /// are blanked so that offsets stay those of the file.
    pub(super) fn expr(&mut self, p: &P<'_>) -> Option<Expr> {
        let start = p.as_span().start();
        let comments: Vec<(usize, usize)> = p
            .clone()
            .into_inner()
            .flatten()
            .filter(|c| c.as_rule() == Rule::cel_comment)
            .map(|c| (c.as_span().start() - start, c.as_span().end() - start))
            .collect();
        parse_blanked(p.as_str(), &comments, self.file, start)
            .map_err(|d| self.diagnostics.push(d))
            .ok()
    }

    /// A string literal, decoded by the expression parser (one set of escape rules).
    pub(super) fn string(&mut self, p: &P<'_>) -> Option<Spanned<String>> {
        let e = self.expr(p)?;
        match e.kind {
            ExprKind::String(s) => Some(Spanned::new(s, self.span(p))),
            _ => {
                self.diagnostics.push(
                    Diagnostic::new(Code::E004, self.span(p), "expected a text string here")
                        .label("not a text string")
                        .help("write the text in double quotes, e.g. \"nightly\""),
                );
                None
            }
        }
    }

    /// A `key`: a name or a string.
    pub(super) fn key(&mut self, p: P<'_>) -> Option<Name> {
        let inner = p.into_inner().next()?;
        match inner.as_rule() {
            Rule::string => self.string(&inner),
            _ => Some(self.name(&inner)),
        }
    }

    pub(super) fn template(&mut self, p: &P<'_>) -> ValueKind {
        match template(self.file, p.as_str(), p.as_span().start(), self.span(p)) {
            Ok(t) => ValueKind::Str(t),
            Err(d) => {
                self.diagnostics.push(d);
                ValueKind::Null
            }
        }
    }

    /// A `value` pair.
    pub(super) fn value(&mut self, p: P<'_>) -> Value {
        let span = self.value_span(&p);
        let Some(inner) = p.into_inner().next() else {
            return Value {
                kind: ValueKind::Null,
                span,
            };
        };
        let kind = match inner.as_rule() {
            Rule::template => self.template(&inner),
            Rule::cel => self.expr(&inner).map_or(ValueKind::Null, ValueKind::Expr),
            Rule::data_map => ValueKind::Map(
                parts(inner)
                    .filter_map(|entry| {
                        let mut it = parts(entry);
                        let key = it.next().and_then(|k| self.string(&k));
                        let value = it.next().map(|v| self.value(v));
                        key.zip(value)
                    })
                    .collect(),
            ),
            Rule::data_list => ValueKind::List(parts(inner).map(|v| self.value(v)).collect()),
            _ => ValueKind::Null,
        };
        Value { kind, span }
    }

    pub(super) fn name_or_string(&mut self, p: &P<'_>) -> Option<Name> {
        match p.as_rule() {
            Rule::string => self.string(p),
            _ => Some(self.name(p)),
        }
    }
}

/// A template token: `raw` is its text, backticks included, starting at byte `start` and
/// spanning `whole`; `\`` and `\\` are its only escapes.
pub(in crate::syntax::text) fn template(
    file: FileId,
    raw: &str,
    start: usize,
    whole: Span,
) -> Result<Template, Diagnostic> {
    let content = &raw[1..raw.len() - 1];
    if content.contains('\\') {
        let mut out = String::with_capacity(content.len());
        let mut chars = content.chars();
        while let Some(c) = chars.next() {
            match (c, chars.clone().next()) {
                ('\\', Some(n @ ('`' | '\\'))) => {
                    out.push(n);
                    chars.next();
                }
                _ => out.push(c),
            }
        }
        expr::parse_template(&out, file, None, whole)
    } else {
        expr::parse_template(content, file, Some(start + 1), whole)
    }
}

/// Parses the expression `text`, found at byte `start`, with the comments at `comments`
/// (offsets in `text`) blanked so that offsets stay those of the file.
pub(in crate::syntax::text) fn parse_blanked(
    text: &str,
    comments: &[(usize, usize)],
    file: FileId,
    start: usize,
) -> Result<Expr, Diagnostic> {
    if comments.is_empty() {
        return expr::parse_expr(text, file, start);
    }
    let mut bytes = text.as_bytes().to_vec();
    for &(s, e) in comments {
        bytes[s..e].fill(b' ');
    }
    // Comments end at a line end, so blanking them keeps UTF-8 boundaries intact.
    let owned = String::from_utf8_lossy(&bytes).into_owned();
    expr::parse_expr(&owned, file, start)
}
