//! `textDocument/codeAction`: a quick fix for every "did you mean" hint, replacing the
//! misspelt name with the suggestion.

use super::document::Document;
use crate::diagnostics::{Diagnostic, FileId};
use lsp_types::{CodeAction, CodeActionKind, TextEdit, Url, WorkspaceEdit};
use std::collections::HashMap;

/// The quick fixes of the diagnostics of `file` that overlap `start..end`.
pub fn quick_fixes(
    diagnostics: &[Diagnostic],
    file: FileId,
    text: &str,
    doc: &Document,
    uri: &Url,
    (start, end): (usize, usize),
) -> Vec<CodeAction> {
    diagnostics
        .iter()
        .filter(|d| {
            let s = d.span();
            s.file == file && s.start as usize <= end && start <= s.end as usize
        })
        .filter_map(|d| {
            let suggestion = suggestion(d.help.as_deref()?)?;
            let (at, misspelt) = misspelt(text, d, suggestion)?;
            let edit = TextEdit::new(doc.range(at, at + misspelt.len()), suggestion.to_string());
            Some(CodeAction {
                title: format!("Replace `{misspelt}` with `{suggestion}`"),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(super::publish::to_lsp(
                    std::slice::from_ref(d),
                    file,
                    doc,
                    uri,
                )),
                edit: Some(WorkspaceEdit {
                    changes: Some(HashMap::from([(uri.clone(), vec![edit])])),
                    ..WorkspaceEdit::default()
                }),
                is_preferred: Some(true),
                ..CodeAction::default()
            })
        })
        .collect()
}

/// `X` of a hint containing "did you mean `X`?".
fn suggestion(help: &str) -> Option<&str> {
    let rest = &help[help.find("did you mean `")? + "did you mean `".len()..];
    Some(&rest[..rest.find('`')?])
}

/// The word of the diagnostic's primary span closest to the suggestion (the misspelling).
fn misspelt<'t>(text: &'t str, d: &Diagnostic, suggestion: &str) -> Option<(usize, &'t str)> {
    let span = d.span();
    let (start, end) = (span.start as usize, span.end as usize);
    let slice = text.get(start..end)?;
    let is_word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    let mut best: Option<(usize, usize, &str)> = None;
    let mut from = None;
    for (i, c) in slice
        .char_indices()
        .chain(std::iter::once((slice.len(), ' ')))
    {
        match (is_word(c), from) {
            (true, None) => from = Some(i),
            (false, Some(f)) => {
                from = None;
                let word = &slice[f..i];
                // Inside an expression the suggestion is one segment of a dotted path.
                for (offset, part) in segments(word) {
                    let distance = strsim::damerau_levenshtein(part, suggestion);
                    if part != suggestion && best.is_none_or(|(d, _, _)| distance < d) {
                        best = Some((distance, start + f + offset, part));
                    }
                }
            }
            _ => {}
        }
    }
    let (distance, at, word) = best?;
    (distance <= suggestion.len().max(word.len())).then_some((at, word))
}

/// The word itself and, for a dotted path, each of its segments.
fn segments(word: &str) -> Vec<(usize, &str)> {
    let mut out = vec![(0, word)];
    if word.contains('.') {
        let mut at = 0;
        for part in word.split('.') {
            out.push((at, part));
            at += part.len() + 1;
        }
    }
    out
}
