//! `textDocument/documentSymbol`: the file's outline — its fragments and workflows, each with
//! its signals and steps, nested as written (steps without an id are named by what they do).

use super::document::Document;
use crate::syntax::ast::{self, StepKind};
use lsp_types::{DocumentSymbol, SymbolKind};

/// The outline of one workflow file.
pub fn symbols(file: &ast::File, doc: &Document) -> Vec<DocumentSymbol> {
    let mut out: Vec<(u32, DocumentSymbol)> = file
        .fragments
        .iter()
        .map(|f| {
            let s = symbol(
                format!("fragment {}", f.name.value),
                SymbolKind::NAMESPACE,
                f.span,
                f.name.span,
                doc,
                steps(&f.steps, doc),
            );
            (f.span.start, s)
        })
        .collect();
    out.extend(
        file.workflows
            .iter()
            .map(|w| (w.span.start, workflow(w, doc))),
    );
    out.sort_by_key(|(start, _)| *start);
    out.into_iter().map(|(_, s)| s).collect()
}

fn workflow(wf: &ast::Workflow, doc: &Document) -> DocumentSymbol {
    let mut children: Vec<DocumentSymbol> = wf
        .signals
        .iter()
        .map(|s| {
            symbol(
                format!("signal {}", s.name.value),
                SymbolKind::EVENT,
                s.span,
                s.name.span,
                doc,
                Vec::new(),
            )
        })
        .collect();
    children.extend(wf.updates.iter().map(|u| {
        symbol(
            format!("update {}", u.name.value),
            SymbolKind::METHOD,
            u.span,
            u.name.span,
            doc,
            steps(&u.steps, doc),
        )
    }));
    children.extend(steps(&wf.steps, doc));
    symbol(
        format!("workflow {}", wf.name.value),
        SymbolKind::CLASS,
        wf.span,
        wf.name.span,
        doc,
        children,
    )
}

fn steps(steps: &[ast::Step], doc: &Document) -> Vec<DocumentSymbol> {
    steps.iter().map(|s| step(s, doc)).collect()
}

fn step(s: &ast::Step, doc: &Document) -> DocumentSymbol {
    let (what, kind, nested): (String, SymbolKind, Vec<DocumentSymbol>) = match &s.kind {
        StepKind::Activity(call) => (
            call.activity.value.clone(),
            SymbolKind::FUNCTION,
            Vec::new(),
        ),
        StepKind::Workflow(child) => (
            format!("workflow {}", child.workflow.value),
            SymbolKind::MODULE,
            Vec::new(),
        ),
        StepKind::Block {
            steps: inner,
            else_steps,
        } => {
            let mut nested = steps(inner, doc);
            nested.extend(steps(else_steps.as_deref().unwrap_or_default(), doc));
            ("if".into(), SymbolKind::NAMESPACE, nested)
        }
        StepKind::Switch { arms, default } => {
            let mut nested: Vec<DocumentSymbol> =
                arms.iter().flat_map(|a| steps(&a.steps, doc)).collect();
            nested.extend(steps(default.as_deref().unwrap_or_default(), doc));
            ("switch".into(), SymbolKind::NAMESPACE, nested)
        }
        StepKind::Parallel { branches, race } => {
            let nested = branches
                .iter()
                .map(|(name, b)| {
                    let span = b.iter().fold(name.span, |acc, s| acc.to(s.span));
                    symbol(
                        name.value.clone(),
                        SymbolKind::NAMESPACE,
                        span,
                        name.span,
                        doc,
                        steps(b, doc),
                    )
                })
                .collect();
            (
                if *race { "race" } else { "parallel" }.into(),
                SymbolKind::NAMESPACE,
                nested,
            )
        }
        StepKind::Foreach { steps: inner, .. } => {
            ("foreach".into(), SymbolKind::ARRAY, steps(inner, doc))
        }
        StepKind::While { steps: inner, .. } => {
            ("while".into(), SymbolKind::NAMESPACE, steps(inner, doc))
        }
        StepKind::Wait {
            signal,
            others,
            mode,
            ..
        } => (
            match mode {
                ast::WaitMode::One => format!("wait {}", signal.value),
                ast::WaitMode::Any | ast::WaitMode::All => {
                    let names: Vec<&str> = std::iter::once(signal)
                        .chain(others)
                        .map(|n| n.value.as_str())
                        .collect();
                    let word = if *mode == ast::WaitMode::Any {
                        "any"
                    } else {
                        "all"
                    };
                    format!("wait {word}({})", names.join(", "))
                }
            },
            SymbolKind::EVENT,
            Vec::new(),
        ),
        StepKind::Sleep(_) => ("sleep".into(), SymbolKind::EVENT, Vec::new()),
        StepKind::Set(assignments) => {
            let names: Vec<&str> = assignments.iter().map(|(n, _)| n.value.as_str()).collect();
            (
                format!("set {}", names.join(", ")),
                SymbolKind::VARIABLE,
                Vec::new(),
            )
        }
        StepKind::Try {
            steps: inner,
            catches,
        } => {
            let mut nested = steps(inner, doc);
            for c in catches {
                nested.extend(steps(&c.steps, doc));
            }
            ("try".into(), SymbolKind::NAMESPACE, nested)
        }
        StepKind::Fail { .. } => ("fail".into(), SymbolKind::EVENT, Vec::new()),
        StepKind::Return(_) => ("return".into(), SymbolKind::EVENT, Vec::new()),
        StepKind::Rethrow => ("rethrow".into(), SymbolKind::EVENT, Vec::new()),
        StepKind::Use(name) => (
            format!("use {}", name.value),
            SymbolKind::NAMESPACE,
            Vec::new(),
        ),
    };
    let (name, selection) = match &s.id {
        Some(id) => (format!("{} = {what}", id.value), id.span),
        None => (what, s.span),
    };
    symbol(name, kind, s.span, selection, doc, nested)
}

fn symbol(
    name: String,
    kind: SymbolKind,
    span: crate::diagnostics::Span,
    selection: crate::diagnostics::Span,
    doc: &Document,
    children: Vec<DocumentSymbol>,
) -> DocumentSymbol {
    let range = doc.range(span.start as usize, span.end as usize);
    // The selection must lie inside the range; a name written before its block is kept inside.
    let selection = if selection.start >= span.start && selection.end <= span.end {
        doc.range(selection.start as usize, selection.end as usize)
    } else {
        range
    };
    #[allow(deprecated)]
    DocumentSymbol {
        name,
        detail: None,
        kind,
        tags: None,
        deprecated: None,
        range,
        selection_range: selection,
        children: (!children.is_empty()).then_some(children),
    }
}
