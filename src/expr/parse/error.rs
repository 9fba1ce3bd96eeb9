//! Syntax errors in words: a pest error becomes "expected …, found …", with a hint for the
//! most common slips and the bracket left open.

use pest::error::{ErrorVariant, InputLocation};

use super::{Builder, RESERVED, Rule, skip_string};
use crate::diagnostics::Diagnostic;

impl Builder<'_> {
    /// Turns a pest error into a diagnostic that names what was expected in words.
    pub(super) fn syntax_error(
        &self,
        e: &pest::error::Error<Rule>,
        in_template: bool,
    ) -> Diagnostic {
        let pos = match e.location {
            InputLocation::Pos(p) => p,
            InputLocation::Span((s, _)) => s,
        };
        let positives = match &e.variant {
            ErrorVariant::ParsingError { positives, .. } => positives.as_slice(),
            ErrorVariant::CustomError { .. } => &[],
        };
        let found = found_at(self.src, pos);
        let end_name = if in_template {
            "the end of the string"
        } else {
            "the end of the expression"
        };
        let found_text = match &found {
            Found::End => end_name.to_owned(),
            Found::Token(t) => format!("`{t}`"),
            Found::String => "an unterminated string".to_owned(),
        };
        let span = match &found {
            Found::Token(t) => self.span(pos, pos + t.len()),
            Found::String => self.span(pos, self.src.len().min(pos + line_len(&self.src[pos..]))),
            Found::End => self.span(pos, pos),
        };
        if let Found::String = found {
            return self
                .error(
                    span,
                    "unterminated string",
                    "close the string with the quote it opens with",
                )
                .label("this string is not closed");
        }
        let mut expected: Vec<&str> = Vec::new();
        for rule in positives {
            let rule = if in_template && *rule == Rule::EOI {
                Rule::close_interp
            } else {
                *rule
            };
            if let Some(name) = friendly(rule)
                && !expected.contains(&name)
            {
                expected.push(name);
            }
        }
        let wants_name = expected.contains(&"an expression") || expected.contains(&"a name");
        if let Found::Token(t) = &found
            && wants_name
            && RESERVED.contains(&t.as_str())
        {
            return self
                .error(
                    span,
                    format!("`{t}` is a reserved word and cannot be used as a name"),
                    format!("read a field with this name as a map key: `x[\"{t}\"]`"),
                )
                .label("reserved word");
        }
        if expected.contains(&"an expression") {
            expected.retain(|n| *n != "a name");
        }
        // Operators first, closing punctuation next, the end last: the order people read in.
        expected.sort_by_key(|n| match *n {
            "an expression" => 0,
            "a name" => 1,
            "an operator" => 2,
            "the end of the expression" => 9,
            _ => 5,
        });
        let expected_text = match expected.as_slice() {
            [] => "a valid expression".to_owned(),
            [one] => (*one).to_owned(),
            [init @ .., last] => format!("{} or {last}", init.join(", ")),
        };
        let mut d = self.error(
            span,
            format!("expected {expected_text}, found {found_text}"),
            help_for(&found, &expected),
        );
        if let Some(open) = unclosed_bracket(self.src, pos) {
            d = d.with_label(self.span(open, open + 1), "opened here");
        }
        d
    }
}

/// Words for the grammar rules that can appear in "expected …"; `None` hides a rule.
pub(super) fn friendly(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::expr
        | Rule::binary
        | Rule::operand
        | Rule::number
        | Rule::string
        | Rule::raw_string
        | Rule::lit_true
        | Rule::lit_false
        | Rule::lit_null
        | Rule::name_ref
        | Rule::paren
        | Rule::list
        | Rule::map
        | Rule::op_unary
        | Rule::args
        | Rule::entry => "an expression",
        Rule::ident => "a name",
        Rule::op_or
        | Rule::op_and
        | Rule::op_rel
        | Rule::op_add
        | Rule::op_mul
        | Rule::kw_in
        | Rule::question
        | Rule::method
        | Rule::field
        | Rule::index
        | Rule::call_args => "an operator",
        Rule::colon => "`:`",
        Rule::comma => "`,`",
        Rule::close_paren => "`)`",
        Rule::close_bracket => "`]`",
        Rule::close_brace => "`}`",
        Rule::close_interp => "`}` to close `${`",
        Rule::EOI => "the end of the expression",
        _ => return None,
    })
}

enum Found {
    End,
    String,
    Token(String),
}

/// What stands at `pos`: a word, a number, a string start, or one punctuation character.
fn found_at(src: &str, pos: usize) -> Found {
    let Some(rest) = src.get(pos..).filter(|r| !r.is_empty()) else {
        return Found::End;
    };
    let first = rest.chars().next().unwrap_or(' ');
    if first == '"' || first == '\'' {
        let bytes = src.as_bytes();
        let end = skip_string(bytes, pos);
        let closed =
            end <= bytes.len() && end > pos + 1 && bytes.get(end - 1) == Some(&(first as u8));
        return if closed {
            Found::Token(src[pos..end].to_owned())
        } else {
            Found::String
        };
    }
    let word_len = rest
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map_or(rest.len(), |(i, _)| i);
    if word_len > 0 {
        return Found::Token(rest[..word_len].to_owned());
    }
    for two in ["==", "!=", "<=", ">=", "&&", "||"] {
        if rest.starts_with(two) {
            return Found::Token(two.to_owned());
        }
    }
    Found::Token(first.to_string())
}

fn line_len(s: &str) -> usize {
    s.find('\n').unwrap_or(s.len())
}

/// A hint for the most common slips; otherwise a pointer to the reference.
fn help_for(found: &Found, expected: &[&str]) -> String {
    if let Found::Token(t) = found {
        match t.as_str() {
            "=" => return "compare with `==`; expressions cannot assign (use a `set` step)".into(),
            "and" | "or" | "not" => {
                return "CEL writes `&&` for and, `||` for or and `!` for not".into();
            }
            "&" => return "CEL writes `&&` for logical and".into(),
            "|" => return "CEL writes `||` for logical or".into(),
            _ => {}
        }
    }
    if let Some(close) = expected
        .iter()
        .find(|e| e.starts_with("`)`") || e.starts_with("`]`") || e.starts_with("`}`"))
    {
        return format!("add the missing {close}, or check the operators between the brackets");
    }
    if expected.first() == Some(&"an expression") {
        return "complete the expression; `stave explain E010` lists the syntax".into();
    }
    "remove or fix the text here; `stave explain E010` lists the syntax".into()
}

/// The innermost bracket still open at `pos`, for an "opened here" label.
fn unclosed_bracket(src: &str, pos: usize) -> Option<usize> {
    let bytes = src.as_bytes();
    let mut stack = Vec::new();
    let mut i = 0;
    while i < pos.min(bytes.len()) {
        match bytes[i] {
            b'"' | b'\'' => {
                i = skip_string(bytes, i);
                continue;
            }
            b'(' | b'[' | b'{' => stack.push(i),
            b')' | b']' | b'}' => {
                stack.pop();
            }
            _ => {}
        }
        i += 1;
    }
    stack.pop()
}
