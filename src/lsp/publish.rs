//! Stave diagnostics as LSP diagnostics: the same codes, messages and hints as `stave lint`,
//! each linking to its explain page.

use super::document::Document;
use crate::diagnostics::{Diagnostic, FileId, Severity};
use lsp_types::{
    CodeDescription, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString,
    Url,
};

/// The diagnostics of `file` (labels in other files are left out), positioned in `doc`.
pub fn to_lsp(
    diagnostics: &[Diagnostic],
    file: FileId,
    doc: &Document,
    uri: &Url,
) -> Vec<lsp_types::Diagnostic> {
    diagnostics
        .iter()
        .filter(|d| d.span().file == file)
        .map(|d| one(d, file, doc, uri))
        .collect()
}

fn one(d: &Diagnostic, file: FileId, doc: &Document, uri: &Url) -> lsp_types::Diagnostic {
    let span = d.span();
    let mut message = d.message.clone();
    let primary = &d.labels[0].message;
    if !primary.is_empty() {
        message.push_str(&format!(" ({primary})"));
    }
    if let Some(help) = &d.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    let related: Vec<DiagnosticRelatedInformation> = d.labels[1..]
        .iter()
        .filter(|l| l.span.file == file)
        .map(|l| DiagnosticRelatedInformation {
            location: Location::new(
                uri.clone(),
                doc.range(l.span.start as usize, l.span.end as usize),
            ),
            message: l.message.clone(),
        })
        .collect();
    lsp_types::Diagnostic {
        range: doc.range(span.start as usize, span.end as usize),
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code.to_string())),
        code_description: Url::parse(&d.code.help_uri())
            .ok()
            .map(|href| CodeDescription { href }),
        source: Some("stave".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}
