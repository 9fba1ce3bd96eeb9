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
}

/// Scans `text`; never fails.
pub fn scan(text: &str) -> Scanned {
    let bytes = text.as_bytes();
    let mut out = Scanned::default();
    let mut stack: Vec<(u8, usize)> = Vec::new();
    let mut i = 0;
    let mut line_start = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\n' => {
                line_start = i + 1;
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

/// The `{` a person most likely forgot to close: the first pair whose `}` is indented unlike
/// the line of its `{` (the real `}` is missing and a later one was taken), else the innermost
/// bracket left open.
pub fn likely_unclosed(text: &str, scanned: &Scanned) -> Option<usize> {
    let indent_of_line = |at: usize| {
        let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
        let line = &text[line_start..];
        line.len() - line.trim_start_matches([' ', '\t']).len()
    };
    let starts_line = |at: usize| {
        let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
        text[line_start..at].trim().is_empty()
    };
    let mut pairs = scanned.brace_pairs.clone();
    pairs.sort();
    let misindented = pairs
        .iter()
        .find(|(open, close)| {
            starts_line(*close) && indent_of_line(*open) != indent_of_line(*close)
        })
        .map(|(open, _)| *open);
    misindented.or_else(|| scanned.unclosed.last().copied())
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

    #[test]
    fn guesses_the_forgotten_brace_by_indentation() {
        let text = "workflow x {\n  if a {\n    b()\n  step c = d()\n}\n";
        let s = scan(text);
        assert_eq!(
            likely_unclosed(text, &s),
            Some(text.find("a {").map(|n| n + 2).unwrap_or(0))
        );
    }
}
