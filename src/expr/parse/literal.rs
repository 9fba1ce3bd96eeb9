//! Literal decoding: number literals to ints and doubles; string literals' prefixes, quotes
//! and escapes, so that an error can point at the bad escape itself.

use pest::iterators::Pair;

use super::{Builder, Result, Rule, next};
use crate::expr::ast::{Expr, ExprKind};

impl Builder<'_> {
    /// A number literal; `minus` is the offset of a `-` folded into it.
    pub(super) fn number(&self, pair: Pair<'_, Rule>, minus: Option<usize>) -> Result<Expr> {
        let lit = pair.as_span();
        let start = minus.unwrap_or(lit.start());
        let span = self.span(start, lit.end());
        let mut inner = pair.into_inner();
        let digits = next(&mut inner)?;
        if let Some(u) = inner.next() {
            return Err(self
                .error(
                    self.pspan(u.as_span()),
                    "unsigned integer literals are not supported",
                    format!(
                        "write `{}`: numbers are JSON numbers, int or double",
                        digits.as_str()
                    ),
                )
                .label("unsigned suffix"));
        }
        let text = digits.as_str();
        let kind = match digits.as_rule() {
            Rule::double => match text.parse::<f64>() {
                Ok(d) if d.is_finite() => ExprKind::Double(if minus.is_some() { -d } else { d }),
                _ => {
                    return Err(self.error(
                        span,
                        "double literal is out of range",
                        "use a smaller number",
                    ));
                }
            },
            rule => {
                let parsed = if rule == Rule::hex_int {
                    u64::from_str_radix(&text[2..], 16)
                } else {
                    text.parse::<u64>()
                };
                let value = parsed
                    .ok()
                    .map(i128::from)
                    .map(|v| if minus.is_some() { -v } else { v });
                match value.and_then(|v| i64::try_from(v).ok()) {
                    Some(v) => ExprKind::Int(v),
                    None => {
                        return Err(self.error(
                            span,
                            "integer literal is out of range",
                            format!("ints are 64-bit, from {} to {}; write a double such as `{text}.0` for larger numbers", i64::MIN, i64::MAX),
                        ));
                    }
                }
            }
        };
        Ok(Expr::new(kind, span))
    }

    /// Decodes a string literal: prefix, quotes and escapes.
    pub(super) fn string(&self, pair: Pair<'_, Rule>) -> Result<String> {
        let text = pair.as_str();
        let at = pair.as_span().start();
        let (raw, prefix) = match text.as_bytes().first() {
            Some(b'r' | b'R') => (true, 1),
            Some(b'b' | b'B') => {
                return Err(self.error(
                    self.span(at, at + text.len()),
                    "bytes literals are not supported",
                    "drop the `b` prefix to write a string",
                ));
            }
            _ => (false, 0),
        };
        let body = &text[prefix..];
        let quote = if body.starts_with("\"\"\"") || body.starts_with("'''") {
            3
        } else {
            1
        };
        let content = &body[quote..body.len() - quote];
        if raw {
            return Ok(content.to_owned());
        }
        let content_at = at + prefix + quote;
        let mut out = String::with_capacity(content.len());
        let mut chars = content.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            let bad = |len: usize, what: &str| {
                self.error(
                    self.span(content_at + i, content_at + i + len),
                    format!("{what} in string"),
                    "write `\\\\` for a backslash; CEL escapes are \\n \\t \\r \\\" \\' \\\\ \\xHH \\uHHHH \\UHHHHHHHH and octal \\ooo",
                )
            };
            let Some((_, e)) = chars.next() else {
                return Err(bad(1, "unfinished escape"));
            };
            let simple = match e {
                'a' => Some('\x07'),
                'b' => Some('\x08'),
                'f' => Some('\x0C'),
                'n' => Some('\n'),
                'r' => Some('\r'),
                't' => Some('\t'),
                'v' => Some('\x0B'),
                '\\' | '\'' | '"' | '`' | '?' => Some(e),
                _ => None,
            };
            if let Some(s) = simple {
                out.push(s);
                continue;
            }
            let (start, len, radix) = match e {
                'x' | 'X' => (i + 2, 2, 16),
                'u' => (i + 2, 4, 16),
                'U' => (i + 2, 8, 16),
                '0'..='3' => (i + 1, 3, 8),
                _ => return Err(bad(1 + e.len_utf8(), &format!("unknown escape `\\{e}`"))),
            };
            let value = content
                .get(start..start + len)
                .filter(|d| d.chars().all(|c| c.is_digit(radix)))
                .and_then(|d| u32::from_str_radix(d, radix).ok());
            let escape_len = (start + len).min(content.len()) - i;
            let Some(value) = value else {
                return Err(bad(escape_len, "malformed escape"));
            };
            let Some(ch) = char::from_u32(value) else {
                return Err(bad(escape_len, "escape that is not a unicode code point"));
            };
            out.push(ch);
            // The digits are ASCII, one char each; the backslash and the letter are consumed.
            for _ in 0..start + len - (i + 2) {
                chars.next();
            }
        }
        Ok(out)
    }
}
