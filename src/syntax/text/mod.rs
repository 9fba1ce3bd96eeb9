//! The text form (`.stave` files): the pest grammar `grammar/stave.pest` → the same AST as YAML.
//!
//! Pipeline: `scan` (a lexical pass: comments, unclosed brackets and strings, nesting depth),
//! then `fast`, a hand-written reader for well-formed files that builds the same tree as the
//! grammar at a fraction of its cost, or gives up; then, where it gave up, pest and `lower`
//! (pairs → [`ast::Workflow`]). The grammar stays the definition of the language and the
//! source of every error. Expressions are found by the grammar (or `fast::skim`) and parsed
//! by [`crate::expr::parse_expr`]; syntax errors become diagnostics through `errors`, which
//! words every grammar rule for people. Parsing never fails: it returns what it could read
//! and every diagnostic it collected.

mod errors;
mod fast;
mod lower;
pub mod scan;

use crate::diagnostics::{Code, Diagnostic, FileId, Span};
use crate::syntax::ast;
use pest::Parser as _;

#[derive(pest_derive::Parser)]
#[grammar = "grammar/stave.pest"]
pub(crate) struct StaveParser;

pub use errors::describe_rule;
pub use scan::Comment;

/// Deepest nesting of brackets accepted; bounds the recursion of the parser and the printers.
pub const MAX_DEPTH: usize = 64;

/// Parses a `.stave` file.
pub fn parse(file: FileId, text: &str) -> (Option<ast::File>, Vec<Diagnostic>) {
    let scanned = scan::scan(text);
    if let Some(d) = scan::too_deep(&scanned, file, MAX_DEPTH) {
        return (None, vec![d]);
    }
    if let Some(parsed) = fast::file(file, text) {
        return (Some(parsed), Vec::new());
    }
    grammar(file, text, &scanned)
}

/// [`parse`] by the hand-written reader alone: `None` where it gives up. For differential
/// tests of its invariant (it answers only what [`parse_with_grammar`] answers).
pub fn read_fast(file: FileId, text: &str) -> Option<ast::File> {
    let scanned = scan::scan(text);
    scan::too_deep(&scanned, file, MAX_DEPTH)
        .is_none()
        .then_some(())?;
    fast::file(file, text)
}

/// [`parse`] without the hand-written reader: the grammar and `lower` alone.
pub fn parse_with_grammar(file: FileId, text: &str) -> (Option<ast::File>, Vec<Diagnostic>) {
    let scanned = scan::scan(text);
    if let Some(d) = scan::too_deep(&scanned, file, MAX_DEPTH) {
        return (None, vec![d]);
    }
    grammar(file, text, &scanned)
}

/// The grammar and `lower`: the definition of the language, and the source of every
/// diagnostic.
fn grammar(
    file: FileId,
    text: &str,
    scanned: &scan::Scanned,
) -> (Option<ast::File>, Vec<Diagnostic>) {
    match StaveParser::parse(Rule::file, text) {
        Ok(mut pairs) => match pairs.next() {
            Some(pair) => lower::workflow_file(file, pair),
            None => (
                None,
                vec![Diagnostic::new(
                    Code::E060,
                    Span::new(file, 0, 0),
                    "the file holds no workflow",
                )],
            ),
        },
        Err(e) => (None, vec![errors::syntax_error(file, text, scanned, &e)]),
    }
}

/// Parses a `.stave` file read as bytes: input that is not UTF-8 is E001 at the first bad byte.
pub fn parse_bytes(file: FileId, bytes: &[u8]) -> (Option<ast::File>, Vec<Diagnostic>) {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(file, text),
        Err(e) => {
            let at = e.valid_up_to();
            let len = e.error_len().unwrap_or(bytes.len() - at).max(1);
            let d = Diagnostic::new(
                Code::E001,
                Span::new(file, at, at + len),
                format!(
                    "the file is not valid UTF-8: byte {at} (0x{:02x}) starts an invalid sequence",
                    bytes[at]
                ),
            )
            .label("not UTF-8")
            .help("save the file as UTF-8; workflow files must be UTF-8 text");
            (None, vec![d])
        }
    }
}
