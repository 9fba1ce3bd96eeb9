//! A hand-written reader for well-formed `.stave` files, building the very [`ast::File`] that
//! the grammar and `lower` would — spans included — at a fraction of pest's cost.
//!
//! Invariant: whenever it answers, `grammar/stave.pest` + `lower` answer the same tree with
//! no diagnostic. It gives up (`None`) on anything wrong, on anything `lower` would report
//! (bad durations, reserved names, things given twice, unknown input types, numbers out of
//! range, expressions that do not parse), on nesting deeper than [`MAX_DEPTH`], and on any
//! place where the grammar could backtrack into an alternative it does not follow; the
//! grammar then reads the file and reports. `tests.rs` and `tests/text_form.rs` check the
//! invariant on hand-picked inputs, every sample, printed generated files and their mutants.
//!
//! Each method mirrors the grammar rule of its name, starts at the rule's first token and
//! leaves the cursor after the whitespace and comments that follow its last. This file holds
//! the cursor, the lexical rules and values; `skim` finds where an expression, a string, a
//! number or JSON ends (the grammar's `cel`, `string`, `number`, `json`), `decls` reads the
//! file, workflows and declarations, `steps` statements, `calls` activity and child calls
//! with their options.

mod calls;
mod decls;
mod skim;
mod steps;
#[cfg(test)]
mod tests;

use crate::diagnostics::{FileId, Span, Spanned};
use crate::expr::{self, ExprKind};
use crate::syntax::ast::{self, Name, Value, ValueKind};
use crate::syntax::duration;
use std::time::Duration;

/// Deepest recursion (blocks, `else if` chains, data values, input types) the reader
/// follows; deeper input goes to the grammar, which has its own limits and messages.
const MAX_DEPTH: usize = 48;

/// Reads `text`, or gives up (`None`): see the module's invariant.
pub(super) fn file(file: FileId, text: &str) -> Option<ast::File> {
    let mut r = Reader {
        src: text,
        b: text.as_bytes(),
        pos: 0,
        end: 0,
        file,
        depth: 0,
        pairs: Vec::new(),
    };
    r.ws();
    r.file()
}

/// The cursor over the file.
struct Reader<'s> {
    src: &'s str,
    b: &'s [u8],
    /// Where the next token starts (whitespace and comments already skipped).
    pos: usize,
    /// Where `lower` ends the span of a rule that ends here: the end of the last token read
    /// (an expression is one token).
    end: usize,
    file: FileId,
    depth: usize,
    /// Scratch space for [`skim::cel`].
    pairs: Vec<(usize, usize, bool)>,
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

/// Gives up when something is already set (E063 in `lower`).
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    match slot {
        Some(_) => None,
        None => {
            *slot = Some(value);
            Some(())
        }
    }
}

/// Gives up when a name repeats (E063 in `lower`).
fn unique<'n>(names: impl Iterator<Item = &'n Name>) -> Option<()> {
    let mut seen: Vec<&str> = Vec::new();
    for n in names {
        if seen.contains(&n.value.as_str()) {
            return None;
        }
        seen.push(&n.value);
    }
    Some(())
}

impl<'s> Reader<'s> {
    fn span(&self, start: usize) -> Span {
        Span::new(self.file, start, self.end)
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn at(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    /// The grammar's implicit whitespace between tokens: `WHITESPACE` (ASCII, Unicode
    /// White_Space, the byte-order mark) and `COMMENT`.
    fn ws(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t'..=b'\r' => self.pos += 1,
                b'#' => self.line(),
                b'/' if self.at(self.pos + 1) == Some(b'/') => self.line(),
                c if c >= 0x80 => match self.src[self.pos..].chars().next() {
                    Some(ch) if ch.is_whitespace() || ch == '\u{FEFF}' => {
                        self.pos += ch.len_utf8();
                    }
                    _ => return,
                },
                _ => return,
            }
        }
    }

    /// To the end of a comment's line (the newline is whitespace).
    fn line(&mut self) {
        self.pos += self.b[self.pos..]
            .iter()
            .position(|&c| c == b'\n')
            .unwrap_or(self.b.len() - self.pos);
    }

    /// Ends a token at `end`, then skips what follows it.
    fn token(&mut self, end: usize) {
        self.end = end;
        self.pos = end;
        self.ws();
    }

    /// Recursion guard: `f` runs one level deeper, or the reader gives up.
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        if self.depth >= MAX_DEPTH {
            return None;
        }
        self.depth += 1;
        let out = f(self);
        self.depth -= 1;
        out
    }

    /// A punctuation rule (`lbrace`, `comma`, …).
    fn punct(&mut self, c: u8) -> Option<()> {
        (self.peek() == Some(c)).then(|| self.token(self.pos + 1))
    }

    /// A `";"` separator: silent, so not the end of any span.
    fn semi(&mut self) -> bool {
        let found = self.peek() == Some(b';');
        if found {
            self.pos += 1;
            self.ws();
        }
        found
    }

    /// `eq`: `=` not followed by `=`.
    fn eq(&mut self) -> Option<()> {
        (self.peek() == Some(b'=') && self.at(self.pos + 1) != Some(b'=')).then_some(())?;
        self.punct(b'=')
    }

    /// The text at the cursor starts with `s` (the grammar's `&"s"`).
    fn starts(&self, s: &str) -> bool {
        self.b[self.pos..].starts_with(s.as_bytes())
    }

    /// The keyword `word` is at the cursor: the word, not followed by a name character.
    fn is_kw(&self, word: &str) -> bool {
        self.starts(word) && !self.at(self.pos + word.len()).is_some_and(is_ident)
    }

    /// Reads the keyword `word` if it is at the cursor.
    fn kw(&mut self, word: &str) -> bool {
        let found = self.is_kw(word);
        if found {
            self.token(self.pos + word.len());
        }
        found
    }

    /// The end of a run of bytes from the cursor that satisfy `f`.
    fn run(&self, from: usize, f: impl Fn(u8) -> bool) -> usize {
        from + self.b[from..].iter().take_while(|&&c| f(c)).count()
    }

    /// A word read by `rest` after a first name-start character, as a [`Name`].
    fn word(&mut self, rest: impl Fn(u8) -> bool) -> Option<Name> {
        let start = self.pos;
        self.peek().filter(|&c| is_ident_start(c))?;
        let end = self.run(start + 1, rest);
        self.token(end);
        Some(Spanned::new(
            self.src[start..end].to_string(),
            self.span(start),
        ))
    }

    /// `tname`: a Temporal name (`payments.charge`, `order-fulfilment`).
    fn tname(&mut self) -> Option<Name> {
        self.word(|c| is_ident(c) || c == b'.' || c == b'-')
    }

    /// `name`: an identifier.
    fn name(&mut self) -> Option<Name> {
        self.word(is_ident)
    }

    /// A name that appears in expressions: a reserved word gives up (E062).
    fn binding(&mut self) -> Option<Name> {
        self.name_binding(Self::name)
    }

    /// A `tname` that appears in expressions (variables, step ids).
    fn tbinding(&mut self) -> Option<Name> {
        self.name_binding(Self::tname)
    }

    fn name_binding(&mut self, read: impl FnOnce(&mut Self) -> Option<Name>) -> Option<Name> {
        let n = read(self)?;
        (!expr::parse::RESERVED.contains(&n.value.as_str())).then_some(n)
    }

    /// `int`, in range.
    fn int(&mut self) -> Option<Spanned<i64>> {
        let start = self.pos;
        let digits = start + usize::from(self.peek() == Some(b'-'));
        let end = self.run(digits, |c| c.is_ascii_digit());
        if end == digits || self.at(end).is_some_and(|c| is_ident(c) || c == b'.') {
            return None;
        }
        let i = self.src[start..end].parse::<i64>().ok()?;
        self.token(end);
        Some(Spanned::new(i, self.span(start)))
    }

    /// `number`, finite.
    fn number(&mut self) -> Option<Spanned<f64>> {
        let start = self.pos;
        let end = skim::number(self.b, start)?;
        let f = self.src[start..end]
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())?;
        self.token(end);
        Some(Spanned::new(f, self.span(start)))
    }

    /// `bool`.
    fn bool(&mut self) -> Option<Spanned<bool>> {
        let start = self.pos;
        let value = if self.is_kw("true") {
            true
        } else if self.is_kw("false") {
            false
        } else {
            return None;
        };
        self.token(start + if value { 4 } else { 5 });
        Some(Spanned::new(value, self.span(start)))
    }

    /// `duration`, read leniently and then checked (E008 gives up).
    fn duration(&mut self) -> Option<Spanned<Duration>> {
        let start = self.pos;
        let end = self.run(start, |c| c.is_ascii_alphanumeric() || c == b'.');
        self.duration_to(end)
    }

    /// The duration from the cursor to `end`, checked.
    fn duration_to(&mut self, end: usize) -> Option<Spanned<Duration>> {
        let start = self.pos;
        if end == start {
            return None;
        }
        let d = duration::parse(&self.src[start..end]).ok()?;
        self.token(end);
        Some(Spanned::new(d, self.span(start)))
    }

    /// A `string` token: its extent, not yet decoded.
    fn string_token(&mut self) -> Option<usize> {
        let start = self.pos;
        let end = skim::string(self.b, start)?;
        self.token(end);
        Some(start)
    }

    /// A `string`, decoded by the expression parser (one set of escape rules).
    fn string(&mut self) -> Option<Spanned<String>> {
        let start = self.string_token()?;
        let e = expr::parse_expr(&self.src[start..self.end], self.file, start).ok()?;
        match e.kind {
            ExprKind::String(s) => Some(Spanned::new(s, self.span(start))),
            _ => None,
        }
    }

    /// `key`: a name or a string.
    fn key(&mut self) -> Option<Name> {
        if self.peek().is_some_and(is_ident_start) {
            self.tname()
        } else {
            self.string()
        }
    }

    /// `string | tname`, the argument of `task_queue`.
    fn name_or_string(&mut self) -> Option<Name> {
        match skim::string(self.b, self.pos) {
            Some(_) => self.string(),
            None => self.tname(),
        }
    }

    /// A `template` token, parsed.
    fn template(&mut self) -> Option<ValueKind> {
        let start = self.pos;
        let end = skim::template(self.b, start)?;
        self.token(end);
        let whole = self.span(start);
        let t = super::lower::template(self.file, &self.src[start..end], start, whole).ok()?;
        Some(ValueKind::Str(t))
    }

    /// `value`: a template, an expression, or data holding templates. Its span runs to its
    /// last character; the reader's `end` is left where `lower` ends an enclosing span.
    fn value(&mut self) -> Option<Value> {
        let start = self.pos;
        let (kind, end) = match self.peek()? {
            b'`' => (self.template()?, None),
            _ => match skim::cel(self.b, start, &mut self.pairs) {
                skim::Cel::End { end, comments } => {
                    let text = &self.src[start..end];
                    let e = super::lower::parse_blanked(text, &comments, self.file, start).ok()?;
                    self.token(end);
                    (ValueKind::Expr(e), Some(end))
                }
                skim::Cel::NoMatch => (self.nested(Self::data)?, None),
                skim::Cel::GiveUp => return None,
            },
        };
        let end = end.unwrap_or(self.end);
        Some(Value {
            kind,
            span: Span::new(self.file, start, end),
        })
    }

    /// `data_map` or `data_list`: brackets that are not an expression (a template inside).
    fn data(&mut self) -> Option<ValueKind> {
        if self.punct(b'{').is_some() {
            let entries = self.items(b'}', |r| {
                let key = r.string()?;
                r.punct(b':')?;
                Some((key, r.value()?))
            })?;
            Some(ValueKind::Map(entries))
        } else {
            self.punct(b'[')?;
            Some(ValueKind::List(self.items(b']', Self::value)?))
        }
    }

    /// `(item ~ (comma ~ item)* ~ comma?)? ~ close`, the opening bracket read.
    fn items<T>(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<T>,
    ) -> Option<Vec<T>> {
        let mut out = Vec::new();
        while self.punct(close).is_none() {
            out.push(item(self)?);
            if self.punct(b',').is_none() {
                self.punct(close)?;
                break;
            }
        }
        Some(out)
    }
}
