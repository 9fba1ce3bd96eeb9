//! Where an expression, a string, a template, a number or JSON ends: the grammar's `cel`,
//! `string`, `template`, `number` and `json` rules, mirrored over bytes.
//!
//! Invariant: for every input, [`cel`] answers `End` exactly when `cel` matches from the same
//! offset up to the same end, with the `cel_comment` pairs the grammar makes inside, `NoMatch`
//! exactly when `cel` fails, and `GiveUp` when nesting is too deep; the others answer the
//! rule's extent, or `None` when it fails (`json` also when it nests too deeply). Ordered
//! choices are tried in the grammar's order.

use super::{is_ident, is_ident_start};

/// What [`cel`] found.
pub(super) enum Cel {
    /// The expression ends at `end`. `comments` are the comments inside, which `lower`
    /// blanks, from `start`.
    End {
        end: usize,
        comments: Vec<(usize, usize)>,
    },
    /// No expression starts here: the grammar tries its next alternative.
    NoMatch,
    /// Too deeply nested: the reader gives up.
    GiveUp,
}

/// Deepest nesting of brackets and conditionals followed; the scan before parsing bounds
/// brackets already, this bounds conditionals.
const MAX_NESTING: usize = 96;

/// The grammar's `cel` from `start`; `pairs` is scratch space, kept from call to call so
/// that skimming allocates nothing.
pub(super) fn cel(b: &[u8], start: usize, pairs: &mut Vec<(usize, usize, bool)>) -> Cel {
    pairs.clear();
    let mut s = Skim {
        b,
        pairs,
        depth: 0,
        too_deep: false,
    };
    match s.cel(start) {
        _ if s.too_deep => Cel::GiveUp,
        // What was read before the end was read by the successful parse: an attempt that
        // fails ends the expression where it started.
        Some((end, _)) => Cel::End {
            end,
            comments: (s.pairs.iter())
                .filter(|&&(from, _, comment)| comment && from < end)
                .map(|&(from, to, _)| (from - start, to - start))
                .collect(),
        },
        None => Cel::NoMatch,
    }
}

struct Skim<'b> {
    b: &'b [u8],
    /// The strings and comments read (`true` for a comment), as `(start, end)`.
    pairs: &'b mut Vec<(usize, usize, bool)>,
    depth: usize,
    too_deep: bool,
}

impl Skim<'_> {
    fn at(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    fn deeper<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        if self.depth >= MAX_NESTING {
            self.too_deep = true;
            return None;
        }
        self.depth += 1;
        let out = f(self);
        self.depth -= 1;
        out
    }

    /// `cel = cel_or ~ (cel_ws ~ "?" ~ cel_ws ~ cel ~ cel_ws ~ ":" ~ cel_ws ~ cel)?`: the
    /// end, and where the last operand starts.
    fn cel(&mut self, p: usize) -> Option<(usize, usize)> {
        let (p, operand) = self.or(p)?;
        let q = self.ws(p);
        if self.at(q) != Some(b'?') {
            return Some((p, operand));
        }
        let branches = self.deeper(|s| {
            let q = s.ws(q + 1);
            let (q, _) = s.cel(q)?;
            let q = s.ws(q);
            (s.at(q) == Some(b':')).then_some(())?;
            let q = s.ws(q + 1);
            s.cel(q)
        });
        Some(branches.unwrap_or((p, operand)))
    }

    /// `cel_operand ~ (cel_ws ~ cel_binop ~ cel_ws ~ cel_operand)*`: the end, and where the
    /// last operand starts.
    fn or(&mut self, p: usize) -> Option<(usize, usize)> {
        let (mut p, mut operand) = (self.operand(p)?, p);
        loop {
            let q = self.ws(p);
            let Some(q) = self.binop(q) else { break };
            let q = self.ws(q);
            match self.operand(q) {
                Some(e) => (p, operand) = (e, q),
                None => break,
            }
        }
        Some((p, operand))
    }

    fn binop(&self, q: usize) -> Option<usize> {
        let two = self.b.get(q..q + 2).unwrap_or_default();
        if matches!(two, b"||" | b"&&" | b"==" | b"!=" | b"<=" | b">=") {
            return Some(q + 2);
        }
        match self.at(q)? {
            b'<' | b'>' | b'+' | b'-' | b'*' | b'%' => Some(q + 1),
            b'/' if self.at(q + 1) != Some(b'/') => Some(q + 1),
            b'i' if self.at(q + 1) == Some(b'n') && !self.at(q + 2).is_some_and(is_ident) => {
                Some(q + 2)
            }
            _ => None,
        }
    }

    /// `(("!" | "-") ~ cel_ws)* ~ cel_primary ~ (cel_ws ~ cel_postfix)*`
    fn operand(&mut self, mut p: usize) -> Option<usize> {
        while matches!(self.at(p), Some(b'!' | b'-')) {
            p = self.ws(p + 1);
        }
        let mut p = self.primary(p)?;
        loop {
            let q = self.ws(p);
            match self.postfix(q) {
                Some(e) => p = e,
                None => return Some(p),
            }
        }
    }

    /// `&string_start ~ string | cel_number | cel_ident | cel_group`
    fn primary(&mut self, p: usize) -> Option<usize> {
        if self.string_start(p)
            && let Some(e) = self.string(p)
        {
            return Some(e);
        }
        match self.at(p)? {
            c if c.is_ascii_digit() => Some(self.number(p + 1)),
            c if is_ident_start(c) => Some(self.run(p + 1, is_ident)),
            b'(' | b'[' | b'{' => self.group(p),
            _ => None,
        }
    }

    /// `("r" | "R" | "b" | "B"){0, 2} ~ ("\"" | "'")`
    fn string_start(&self, mut p: usize) -> bool {
        for _ in 0..2 {
            if matches!(self.at(p), Some(b'r' | b'R' | b'b' | b'B')) {
                p += 1;
            }
        }
        matches!(self.at(p), Some(b'"' | b'\''))
    }

    /// The rest of `cel_number` after its first digit.
    fn number(&self, mut p: usize) -> usize {
        loop {
            match self.at(p) {
                Some(b'e' | b'E')
                    if matches!(self.at(p + 1), Some(b'+' | b'-'))
                        && self.at(p + 2).is_some_and(|c| c.is_ascii_digit()) =>
                {
                    p += 3
                }
                Some(c) if c.is_ascii_alphanumeric() => p += 1,
                Some(b'.') if self.at(p + 1).is_some_and(|c| c.is_ascii_digit()) => p += 2,
                _ => return p,
            }
        }
    }

    fn run(&self, p: usize, f: impl Fn(u8) -> bool) -> usize {
        p + self.b[p..].iter().take_while(|&&c| f(c)).count()
    }

    /// `"(" ~ cel_inner ~ ")" | "[" ~ cel_inner ~ "]" | "{" ~ cel_inner ~ "}"`
    fn group(&mut self, p: usize) -> Option<usize> {
        let close = match self.at(p)? {
            b'(' => b')',
            b'[' => b']',
            b'{' => b'}',
            _ => return None,
        };
        let q = self.deeper(|s| Some(s.inner(p + 1)))?;
        (self.at(q) == Some(close)).then_some(q + 1)
    }

    /// `"." ~ cel_ws ~ cel_ident | "(" ~ cel_inner ~ ")" | "[" ~ cel_inner ~ "]"`
    fn postfix(&mut self, q: usize) -> Option<usize> {
        match self.at(q)? {
            b'.' => {
                let q = self.ws(q + 1);
                self.at(q).filter(|&c| is_ident_start(c))?;
                Some(self.run(q + 1, is_ident))
            }
            b'(' | b'[' => self.group(q),
            _ => None,
        }
    }

    /// `cel_run ~ (cel_nested ~ cel_run)*`: anything but brackets, strings, templates and
    /// comments, which are read as such.
    fn inner(&mut self, mut p: usize) -> usize {
        loop {
            p = self.run(p, |c| {
                !matches!(
                    c,
                    b'(' | b')' | b'[' | b']' | b'{' | b'}' | b'`' | b'"' | b'\'' | b'#' | b'/'
                )
            });
            let next = match self.at(p) {
                Some(b'/') if self.at(p + 1) != Some(b'/') => Some(p + 1),
                Some(b'"' | b'\'') => self.string(p),
                Some(b'(' | b'[' | b'{') => self.group(p),
                Some(b'#' | b'/') => Some(self.comment(p)),
                _ => None,
            };
            match next {
                Some(e) => p = e,
                None => return p,
            }
        }
    }

    /// `cel_ws`: ASCII spaces and line ends, and comments.
    fn ws(&mut self, mut p: usize) -> usize {
        loop {
            match self.at(p) {
                Some(b' ' | b'\t' | b'\r' | b'\n') => p += 1,
                Some(b'#') => p = self.comment(p),
                Some(b'/') if self.at(p + 1) == Some(b'/') => p = self.comment(p),
                _ => return p,
            }
        }
    }

    /// A `string` pair, remembered.
    fn string(&mut self, p: usize) -> Option<usize> {
        let end = string(self.b, p)?;
        self.pairs.push((p, end, false));
        Some(end)
    }

    /// A `cel_comment` pair from `p` to its line's end, remembered.
    fn comment(&mut self, p: usize) -> usize {
        let end = self.run(p, |c| c != b'\n');
        self.pairs.push((p, end, true));
        end
    }
}

/// The grammar's `string` from `p`: its end, or `None` when it does not match.
pub(super) fn string(b: &[u8], p: usize) -> Option<usize> {
    let at = |i: usize| b.get(i).copied();
    // `raw_prefix ~ (raw_tdq | raw_tsq | raw_dq | raw_sq)`
    let raw_prefix = match at(p) {
        Some(b'r' | b'R') => Some(p + 1 + usize::from(matches!(at(p + 1), Some(b'b' | b'B')))),
        Some(b'b' | b'B') if matches!(at(p + 1), Some(b'r' | b'R')) => Some(p + 2),
        _ => None,
    };
    if let Some(q) = raw_prefix
        && let Some(e) = quoted(b, q, true)
    {
        return Some(e);
    }
    // `("b" | "B")? ~ (tdq | tsq | dq | sq)`
    let q = p + usize::from(matches!(at(p), Some(b'b' | b'B')));
    quoted(b, q, false)
}

/// `tdq | tsq | dq | sq` (or their raw forms, without escapes) from `p`.
fn quoted(b: &[u8], p: usize, raw: bool) -> Option<usize> {
    let quote = *b.get(p).filter(|&&c| c == b'"' || c == b'\'')?;
    let triple = [quote; 3];
    if b[p..].starts_with(&triple) {
        let mut i = p + 3;
        while i < b.len() {
            if b[i..].starts_with(&triple) {
                return Some(i + 3);
            }
            i += if !raw && b[i] == b'\\' && i + 1 < b.len() {
                2
            } else {
                1
            };
        }
    }
    let mut i = p + 1;
    while i < b.len() {
        match b[i] {
            c if c == quote => return Some(i + 1),
            b'\n' => return None,
            b'\\' if !raw && i + 1 < b.len() => i += 2,
            _ => i += 1,
        }
    }
    None
}

/// The grammar's `template` from `p` (a backtick): its end, or `None` when unterminated.
pub(super) fn template(b: &[u8], p: usize) -> Option<usize> {
    if b.get(p) != Some(&b'`') {
        return None;
    }
    let mut i = p + 1;
    while i < b.len() {
        match b[i] {
            b'`' => return Some(i + 1),
            b'\\' if i + 1 < b.len() => i += 2,
            _ => i += 1,
        }
    }
    None
}

/// The grammar's `json` from `p` (no comments or other whitespace than ASCII spaces and line
/// ends inside): its end, or `None` when it does not match or nests too deeply.
pub(super) fn json(b: &[u8], p: usize, depth: usize) -> Option<usize> {
    let ws = |mut i: usize| {
        while matches!(b.get(i), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            i += 1;
        }
        i
    };
    let word = |w: &[u8]| {
        (b[p..].starts_with(w) && !b.get(p + w.len()).copied().is_some_and(is_ident))
            .then_some(p + w.len())
    };
    let (open, close) = match *b.get(p)? {
        b'{' => (b'{', b'}'),
        b'[' => (b'[', b']'),
        b't' => return word(b"true"),
        b'f' => return word(b"false"),
        b'n' => return word(b"null"),
        b'-' | b'0'..=b'9' => return number(b, p),
        _ => return string(b, p),
    };
    if depth >= MAX_NESTING {
        return None;
    }
    let mut i = ws(p + 1);
    if b.get(i) == Some(&close) {
        return Some(i + 1);
    }
    loop {
        if open == b'{' {
            i = ws(string(b, i)?);
            (b.get(i) == Some(&b':')).then_some(())?;
            i = ws(i + 1);
        }
        i = ws(json(b, i, depth + 1)?);
        match b.get(i)? {
            b',' => i = ws(i + 1),
            &c if c == close => return Some(i + 1),
            _ => return None,
        }
    }
}

/// The grammar's `number` from `p`: its end, or `None` when it does not match.
pub(super) fn number(b: &[u8], p: usize) -> Option<usize> {
    let digits = |from: usize| {
        let end = from + b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
        (end > from).then_some(end)
    };
    let mut end = digits(p + usize::from(b.get(p) == Some(&b'-')))?;
    if b.get(end) == Some(&b'.')
        && let Some(e) = digits(end + 1)
    {
        end = e;
    }
    if matches!(b.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(b.get(end + 1), Some(b'+' | b'-')));
        if let Some(e) = digits(end + 1 + sign) {
            end = e;
        }
    }
    (!b.get(end).copied().is_some_and(is_ident)).then_some(end)
}
