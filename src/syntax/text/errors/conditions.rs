//! Guards and conditions spelt with another language's keyword (`f() if c`, `unless`,
//! `only if`, `elif`, `when` in a switch, `if` in a catch): the words Stave spells them with.

use crate::diagnostics::{Code, Diagnostic, FileId, Span};
use crate::syntax::text::Rule;

/// How to write what a word that starts no step meant, when it is another spelling of a
/// guard or a condition (`unless`, `only`, `elif`, `when` at the start of a statement).
pub(super) fn instead_of(word: &str) -> Option<&'static str> {
    Some(match word {
        "unless" => {
            "Stave has no `unless`: write `when !(CONDITION)` after the step, or put it in \
             `if !(CONDITION) { … }`"
        }
        "only" | "only_if" | "onlyif" | "iff" | "provided" | "where" | "whenever" | "guard" => {
            "a guard is written `when CONDITION` after the step: `email.send(input) when \
             input.notify` runs the step only when the condition holds"
        }
        "when" => {
            "`when CONDITION` goes after a step, to guard it (`email.send(input) when \
             input.notify`); a conditional block is `if CONDITION { … }`"
        }
        "elif" | "elsif" | "elseif" => "write `else if CONDITION { … }`",
        _ => return None,
    })
}

/// Help for a guard-like word found where a catch clause or a switch arm expected its own
/// keyword (`catch E as e if …`, `switch { when … }`, `if c then`).
pub(super) fn in_place_of(found: &str, expected: &[Rule]) -> Option<&'static str> {
    let guard_like = matches!(found, "if" | "unless" | "only" | "where" | "when");
    if guard_like && expected.contains(&Rule::kw_when) && expected.contains(&Rule::lbrace) {
        return Some("a catch clause's condition is written `when CONDITION`, before its `{`");
    }
    if guard_like && expected.contains(&Rule::kw_case) {
        return Some("each arm of a switch is written `case CONDITION { … }`");
    }
    if found == "then" && expected.contains(&Rule::lbrace) {
        return Some(
            "there is no `then`: the block follows the condition in braces, `if CONDITION { … }`",
        );
    }
    None
}

/// `step s = f() if COND` followed by the next statement: `if` was meant as the step's guard,
/// but the parser read the start of an `if` block and found no `{` at `pos`. The diagnostic
/// points at that `if`.
pub(super) fn trailing_if(file: FileId, text: &str, pos: usize) -> Option<Diagnostic> {
    let before = &text[..pos];
    let condition_end = before.trim_end().len();
    let line_start = before[..condition_end].rfind('\n').map_or(0, |n| n + 1);
    // The `if` and its condition are on one line, and the statement after on a new one.
    let at = line_start + last_word(&before[line_start..condition_end], "if")?;
    let lead = before[line_start..at].trim();
    // `if` first on its line, after `else`, `step x =`, `{` or `;` starts a block.
    let guard = !lead.is_empty()
        && !lead.ends_with(['=', '{', ';'])
        && !lead.ends_with("else")
        && !lead.starts_with(['#', '/']);
    let condition_then_newline = before[condition_end..].contains('\n');
    (guard && condition_then_newline).then(|| {
        Diagnostic::new(
            Code::E060,
            Span::new(file, at, at + 2),
            "a guard after a step is written `when`, not `if`",
        )
        .label("`if` here starts an `if CONDITION { … }` block")
        .help(
            "write `… when CONDITION` to run the step only when the condition holds, or put \
             the step inside `if CONDITION { … }`",
        )
    })
}

/// The offset of the last occurrence of `word` as a whole word in `text`.
fn last_word(text: &str, word: &str) -> Option<usize> {
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = text.as_bytes();
    text.rmatch_indices(word).map(|(at, _)| at).find(|&at| {
        let end = at + word.len();
        (at == 0 || !is_ident(bytes[at - 1]) && bytes[at - 1] != b'.')
            && (end == bytes.len() || !is_ident(bytes[end]))
    })
}
