//! A lexical pass over a `.stave` file: comments (kept by the formatter), bracket pairs, and
//! the unclosed bracket or string that a syntax error at the end of the file is really about.
//!
//! It knows just enough of the grammar's lexemes (strings, templates, comments) not to be
//! fooled by a `}` inside a string or a comment.

use crate::diagnostics::{Code, Diagnostic, FileId, Span};

/// A `#` or `//` comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// Byte offset of the `#` or `//`.
    pub start: usize,
    /// Byte offset of the end of the comment (before the newline).
    pub end: usize,
    /// The comment's text, marker included, trailing spaces removed.
    pub text: String,
    /// Only whitespace precedes it on its line.
    pub own_line: bool,
}

/// What the scan found.
#[derive(Debug, Clone, Default)]
pub struct Scanned {
    pub comments: Vec<Comment>,
    /// Offsets of opening brackets never closed, outermost first.
    pub unclosed: Vec<usize>,
    /// Matched pairs `(open, close)` of `{ }`.
    pub brace_pairs: Vec<(usize, usize)>,
    /// A closing bracket that does not match the open one: `(open, close)`; open is None when
    /// nothing is open.
    pub mismatched: Option<(Option<usize>, usize)>,
    /// A string or template that never ends: the offset of its opening quote.
    pub unterminated: Option<usize>,
    /// Deepest bracket nesting and where it was reached.
    pub max_depth: usize,
    pub max_depth_at: usize,
    /// Offsets where lines start outside strings and templates (the first line included):
    /// the lines whose indentation means something.
    pub line_starts: Vec<usize>,
}

/// Scans `text`; never fails.
pub fn scan(text: &str) -> Scanned {
    let bytes = text.as_bytes();
    let mut out = Scanned {
        line_starts: vec![0],
        ..Scanned::default()
    };
    let mut stack: Vec<(u8, usize)> = Vec::new();
    let mut i = 0;
    let mut line_start = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\n' => {
                line_start = i + 1;
                out.line_starts.push(line_start);
                i += 1;
            }
            b'#' => i = comment(text, i, line_start, &mut out),
            b'/' if bytes.get(i + 1) == Some(&b'/') => i = comment(text, i, line_start, &mut out),
            b'"' | b'\'' => {
                let raw = is_raw_prefix(bytes, i);
                match string_end(bytes, i, raw) {
                    Some(end) => i = end,
                    None => {
                        out.unterminated.get_or_insert(i);
                        break;
                    }
                }
            }
            b'`' => match template_end(bytes, i) {
                Some(end) => i = end,
                None => {
                    out.unterminated.get_or_insert(i);
                    break;
                }
            },
            b'{' | b'(' | b'[' => {
                stack.push((c, i));
                if stack.len() > out.max_depth {
                    out.max_depth = stack.len();
                    out.max_depth_at = i;
                }
                i += 1;
            }
            b'}' | b')' | b']' => {
                let want = match c {
                    b'}' => b'{',
                    b')' => b'(',
                    _ => b'[',
                };
                match stack.pop() {
                    Some((open, at)) if open == want => {
                        if c == b'}' {
                            out.brace_pairs.push((at, i));
                        }
                    }
                    Some((_, at)) => {
                        out.mismatched.get_or_insert((Some(at), i));
                    }
                    None => {
                        out.mismatched.get_or_insert((None, i));
                    }
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    out.unclosed = stack.into_iter().map(|(_, at)| at).collect();
    out
}

fn comment(text: &str, start: usize, line_start: usize, out: &mut Scanned) -> usize {
    let end = text[start..].find('\n').map_or(text.len(), |n| start + n);
    let own_line = text[line_start..start].trim().is_empty();
    out.comments.push(Comment {
        start,
        end,
        text: text[start..end].trim_end().to_string(),
        own_line,
    });
    end
}

/// `r"…"`, `R'…'`, `br"…"`, `rb"…"`: a raw string has no escapes.
fn is_raw_prefix(bytes: &[u8], quote: usize) -> bool {
    let word_start = (0..quote)
        .rev()
        .take_while(|&j| bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_')
        .last()
        .unwrap_or(quote);
    let prefix = &bytes[word_start..quote];
    prefix.len() <= 2
        && prefix.iter().any(|b| b.eq_ignore_ascii_case(&b'r'))
        && prefix.iter().all(|b| b"rRbB".contains(b))
}

/// The offset after the string that opens at `start`, or None when it never closes.
fn string_end(bytes: &[u8], start: usize, raw: bool) -> Option<usize> {
    let q = bytes[start];
    let triple = bytes.get(start..start + 3) == Some(&[q, q, q][..]);
    let mut i = start + if triple { 3 } else { 1 };
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\\' && !raw {
            i += 2;
            continue;
        }
        if triple {
            if bytes.get(i..i + 3) == Some(&[q, q, q][..]) {
                return Some(i + 3);
            }
        } else if c == q {
            return Some(i + 1);
        } else if c == b'\n' {
            return None;
        }
        i += 1;
    }
    None
}

fn template_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'`' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// E060 when brackets nest deeper than `max`: the parser and printers recurse on nesting.
pub fn too_deep(scanned: &Scanned, file: FileId, max: usize) -> Option<Diagnostic> {
    (scanned.max_depth > max).then(|| {
        let at = scanned.max_depth_at;
        Diagnostic::new(
            Code::E060,
            Span::new(file, at, at + 1),
            format!("brackets nest deeper than {max} levels here"),
        )
        .label("too deep")
        .help("split the workflow into child workflows, or compute the value in an activity")
    })
}

/// A bracket a person most likely forgot to close, and where its block ends by indentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unclosed {
    /// Offset of the opening bracket.
    pub open: usize,
    /// Offset of the first token of the line that ends the block by its indentation (`None`:
    /// the block runs to the end of the file, or indentation tells nothing).
    pub ends_before: Option<usize>,
    /// Offset just after the block's last token: the missing `}` belongs after it.
    pub last_token_end: usize,
    /// Whether indentation located the block (else `ends_before` and `last_token_end` are
    /// only the end of the file).
    pub by_indentation: bool,
}

/// One line that holds code: where its first token is, and how deep it is indented.
#[derive(Debug, Clone, Copy)]
struct CodeLine {
    first: usize,
    indent: usize,
}

/// The `{` a person most likely forgot to close, when some bracket is left open.
///
/// Indentation is the clue: a block whose `{` ends its line holds lines indented deeper than
/// the first one after it, and ends at the first line indented less. If that line is not the
/// block's `}` (or is a `}` indented less than the line that opened the block, so it closes
/// an outer one), the block's `}` is missing there. Only a `{` the scan could not pair, or
/// paired with a `}` indented less than its own line, is suspected, so that an odd but valid
/// layout elsewhere is never blamed. Without such a clue: the first pair whose `}` is
/// indented less than its `{` line (`signal s { a = 1` then a lone `}`), else the innermost
/// bracket left open.
pub fn likely_unclosed(text: &str, scanned: &Scanned) -> Option<Unclosed> {
    if scanned.unclosed.is_empty() {
        return None;
    }
    let bytes = text.as_bytes();
    let in_comment = |at: usize| {
        scanned
            .comments
            .iter()
            .find(|c| c.start <= at && at < c.end)
            .map(|c| c.start)
    };
    let lines: Vec<CodeLine> = scanned
        .line_starts
        .iter()
        .filter_map(|&start| {
            let indent = bytes[start..]
                .iter()
                .take_while(|b| matches!(b, b' ' | b'\t'))
                .count();
            let first = start + indent;
            let blank = matches!(bytes.get(first), None | Some(b'\n' | b'\r'));
            (!blank && in_comment(first).is_none()).then_some(CodeLine { first, indent })
        })
        .collect();
    // The code line holding `at`: the last one starting at or before it.
    let line_of = |at: usize| {
        let n = lines.partition_point(|l| l.first - l.indent <= at);
        n.checked_sub(1).map(|n| (n, lines[n]))
    };
    let starts_line = |at: usize| line_of(at).is_some_and(|(_, l)| l.first == at);
    let indent_at = |at: usize| line_of(at).map_or(0, |(_, l)| l.indent);
    // The end of the last token before `at`, comments and whitespace skipped.
    let token_end_before = |at: usize| {
        let mut end = at;
        loop {
            while end > 0 && bytes[end - 1].is_ascii_whitespace() {
                end -= 1;
            }
            match end.checked_sub(1).and_then(in_comment) {
                Some(start) => end = start,
                None => return end,
            }
        }
    };
    // Only a comment may follow a block's `{` on its line.
    let ends_its_line = |open: usize| {
        let rest = &text[open + 1..];
        let line = &rest[..rest.find('\n').unwrap_or(rest.len())];
        let code = line.trim_start();
        code.is_empty() || in_comment(open + 1 + line.len() - code.len()).is_some()
    };
    let closed_by: Vec<(usize, Option<usize>)> = {
        let mut all: Vec<(usize, Option<usize>)> = scanned
            .brace_pairs
            .iter()
            .map(|&(open, close)| (open, Some(close)))
            .chain(
                scanned
                    .unclosed
                    .iter()
                    .filter(|&&open| bytes[open] == b'{')
                    .map(|&open| (open, None)),
            )
            .collect();
        all.sort_unstable();
        all
    };
    let suspect = |open: usize, close: Option<usize>| match close {
        None => true,
        Some(close) => starts_line(close) && indent_at(close) < indent_at(open),
    };
    for &(open, close) in &closed_by {
        if !suspect(open, close) || !ends_its_line(open) {
            continue;
        }
        let Some((n, own)) = line_of(open) else {
            continue;
        };
        let after = &lines[n + 1..];
        let ends = match after.first() {
            None => None,
            Some(l) if bytes[l.first] == b'}' => Some(*l),
            // Content indented no deeper than its opening line: indentation tells nothing.
            Some(first) if first.indent <= own.indent => continue,
            Some(first) => after[1..].iter().find(|l| l.indent < first.indent).copied(),
        };
        let unclosed_here = match ends {
            None => close.is_none(),
            Some(l) => bytes[l.first] != b'}' || l.indent < own.indent,
        };
        if unclosed_here {
            let ends_before = ends.map(|l| l.first);
            return Some(Unclosed {
                open,
                ends_before,
                last_token_end: token_end_before(ends_before.unwrap_or(text.len())),
                by_indentation: true,
            });
        }
    }
    let open = closed_by
        .iter()
        .filter_map(|&(open, close)| Some((close?, open)))
        .filter(|&(close, open)| suspect(open, Some(close)))
        .min()
        .map(|(_, open)| open)
        .or_else(|| scanned.unclosed.last().copied())?;
    Some(Unclosed {
        open,
        ends_before: None,
        last_token_end: token_end_before(text.len()),
        by_indentation: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_comments_outside_strings() {
        let s = scan("a # one\n  // two\nb = \"# not\" // three\n");
        let texts: Vec<_> = s
            .comments
            .iter()
            .map(|c| (c.text.as_str(), c.own_line))
            .collect();
        assert_eq!(
            texts,
            [("# one", false), ("// two", true), ("// three", false)]
        );
    }

    #[test]
    fn reports_unclosed_brackets_and_strings() {
        let s = scan("workflow x { if a { b() }\n");
        assert_eq!(s.unclosed, [11]);
        let s = scan("description \"abc\n");
        assert_eq!(s.unterminated, Some(12));
        let s = scan("x = `abc");
        assert_eq!(s.unterminated, Some(4));
        let s = scan("x = r\"\\\" y");
        assert_eq!(s.unterminated, None);
        let s = scan("a ) b");
        assert_eq!(s.mismatched, Some((None, 2)));
    }

    /// The forgotten `{` (by the text before it) and the line its `}` belongs after.
    fn forgotten(text: &str) -> Option<(String, Option<usize>)> {
        let u = likely_unclosed(text, &scan(text))?;
        let line_start = text[..u.open].rfind('\n').map_or(0, |n| n + 1);
        let line = text[..u.last_token_end].matches('\n').count() + 1;
        let line = u.by_indentation.then_some(line);
        Some((text[line_start..=u.open].trim().to_string(), line))
    }

    #[test]
    fn guesses_the_forgotten_brace_by_indentation() {
        // Before the next statement.
        let text = "workflow x {\n  if a {\n    b()\n  step c = d()\n}\n";
        assert_eq!(forgotten(text), Some(("if a {".into(), Some(3))));
        // Before the workflow's own `}`.
        let text = "workflow x {\n  c()\n  if a {\n    b()\n}\n";
        assert_eq!(forgotten(text), Some(("if a {".into(), Some(4))));
        // Nested: the inner block, not the outer one the scan paired with a later `}`.
        let text = "workflow x {\n  for i in l {\n    if a {\n      b()\n    c()\n  }\n  d()\n}\n";
        assert_eq!(forgotten(text), Some(("if a {".into(), Some(4))));
        // At the end of the file, after a comment and blank lines.
        let text = "workflow x {\n  if a {\n    b()\n  }\n  # done\n\n";
        assert_eq!(forgotten(text), Some(("workflow x {".into(), Some(4))));
        // Comments and multi-line strings do not count as lines of code.
        let text = "workflow x {\n  if a {\n    b(\"\"\"\nx\n\"\"\")\n# c\n  d()\n}\n";
        assert_eq!(forgotten(text), Some(("if a {".into(), Some(5))));
        // A condition over two lines indents the `{` deeper than the block's lines.
        let text = "workflow x {\n  if a &&\n      b {\n    c()\n  }\n  if d {\n    e()\n}\n";
        assert_eq!(forgotten(text), Some(("if d {".into(), Some(7))));
        // A one-line block whose `}` was forgotten: the pair with the `}` indented less.
        let text = "workflow x {\n  signal s { a = 1\n  b()\n}\n";
        assert_eq!(forgotten(text), Some(("signal s {".into(), None)));
        // Nothing left open.
        assert_eq!(forgotten("workflow x {\n  a()\n}\n"), None);
    }
}
