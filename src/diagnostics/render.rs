//! Renders diagnostics for people (miette) and machines (JSON, SARIF).

use super::{Diagnostic, Severity, Sources};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use serde_json::{Value, json};

/// How `render_human` draws.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    pub width: usize,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            color: false,
            width: 100,
        }
    }
}

/// The miette adapter: one diagnostic with its source.
#[derive(Debug)]
struct Report<'a> {
    diagnostic: &'a Diagnostic,
    source: NamedSource<String>,
    location: String,
}

impl std::fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.diagnostic.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        Some(Box::new(format!(
            "{} {}",
            self.diagnostic.code, self.location
        )))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.diagnostic.labels.iter().enumerate().map(
            |(i, l)| {
                let text = (!l.message.is_empty()).then(|| l.message.clone());
                let span = (l.span.start as usize, l.span.len());
                if i == 0 {
                    LabeledSpan::new_primary_with_span(text, span)
                } else {
                    LabeledSpan::new_with_span(text, span)
                }
            },
        )))
    }
}

/// Renders one diagnostic with its snippet, labels and help.
pub fn render_human(sources: &Sources, diagnostic: &Diagnostic, style: Style) -> String {
    let file = diagnostic.span().file;
    let source = sources.get(file);
    let report = Report {
        diagnostic,
        source: NamedSource::new(source.path.display().to_string(), source.text.clone()),
        location: format!("at {}", sources.locate(diagnostic.span())),
    };
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .without_syntax_highlighting()
        .with_links(false);
    let mut out = String::new();
    if handler.render_report(&mut out, &report).is_err() {
        out = format!(
            "{}[{}]: {} at {}\n",
            diagnostic.severity,
            diagnostic.code,
            diagnostic.message,
            sources.locate(diagnostic.span())
        );
    }
    out
}

fn location_json(sources: &Sources, span: super::Span) -> Value {
    let source = sources.get(span.file);
    let (line, column) = source.line_col(span.start as usize);
    let (end_line, end_column) = source.line_col(span.end as usize);
    json!({
        "file": source.path.display().to_string(),
        "line": line, "column": column, "end_line": end_line, "end_column": end_column,
        "start": span.start, "end": span.end,
    })
}

/// One JSON object per diagnostic, for scripts.
pub fn to_json(sources: &Sources, diagnostics: &[Diagnostic]) -> Value {
    Value::Array(
        diagnostics
            .iter()
            .map(|d| {
                json!({
                    "code": d.code.as_str(),
                    "severity": d.severity,
                    "message": d.message,
                    "help": d.help,
                    "explain": format!("stave explain {}", d.code.as_str()),
                    "help_uri": d.code.help_uri(),
                    "location": location_json(sources, d.span()),
                    "labels": d.labels.iter().map(|l| json!({
                        "message": l.message,
                        "location": location_json(sources, l.span),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

/// A SARIF 2.1.0 log for code scanning.
pub fn to_sarif(sources: &Sources, diagnostics: &[Diagnostic]) -> Value {
    let rules: Vec<Value> = super::Code::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.as_str(),
                "shortDescription": { "text": c.title() },
                "fullDescription": { "text": c.page() },
                "defaultConfiguration": { "level": sarif_level(c.severity()) },
                "helpUri": c.help_uri(),
                "help": { "text": c.page(), "markdown": c.page() },
            })
        })
        .collect();
    let results: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let span = d.span();
            let source = sources.get(span.file);
            let (line, col) = source.line_col(span.start as usize);
            let (end_line, end_col) = source.line_col(span.end as usize);
            let mut message = d.message.clone();
            if let Some(help) = &d.help {
                message.push_str("\nhelp: ");
                message.push_str(help);
            }
            json!({
                "ruleId": d.code.as_str(),
                "level": sarif_level(d.severity),
                "message": { "text": message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": source.path.display().to_string().replace('\\', "/") },
                        "region": { "startLine": line, "startColumn": col,
                                    "endLine": end_line, "endColumn": end_col }
                    }
                }]
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "stave",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/stave-dev/stave",
                "rules": rules,
            }},
            "results": results,
        }]
    })
}

fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}
