//! Go to definition, find references and rename: step ids and variables within a file (in
//! the workflow or fragment at hand first), `use NAME` to its fragment, signals to their
//! declaration, child workflows to the file that defines them, activities
//! to the manifest and queues to `stave.yaml`.

use super::document::Document;
use super::symbols::{self, Kind};
use super::workspace::{Analyzed, Workspace};
use crate::names::{ROOTS, is_ident, is_temporal_name};
use lsp_types::{Location, Range, TextEdit, Url};
use std::path::Path;

/// Where the name at `offset` is defined.
pub fn definition(
    ws: &mut Workspace,
    uri: &Url,
    path: &Path,
    a: &Analyzed,
    doc: &Document,
    offset: usize,
) -> Option<Location> {
    let o = symbols::at(&a.occurrences, offset)?;
    match o.kind {
        Kind::Step | Kind::Var | Kind::Signal | Kind::Fragment => {
            let def = symbols::definition(a.ast(), &a.occurrences, o)?;
            Some(Location::new(
                uri.clone(),
                doc.range(def.span.start as usize, def.span.end as usize),
            ))
        }
        Kind::Workflow => {
            let declared = ws.declared(path);
            let d = declared.iter().find(|d| d.workflow.name.value == o.name)?;
            let target = Document::new(d.text.clone(), 0);
            let span = d.workflow.name.span;
            Some(Location::new(
                Url::from_file_path(&d.path).ok()?,
                target.range(span.start as usize, span.end as usize),
            ))
        }
        Kind::Activity | Kind::Queue => {
            let project = ws.project(&a.project.clone());
            // The manifest names activities as `"name": "…"`; stave.yaml names queues as keys.
            let (needle, ending) = match o.kind {
                Kind::Activity => (format!("\"name\": \"{}\"", o.name), ".json"),
                _ => (format!("{}:", o.name), "stave.yaml"),
            };
            let sources = &project.sources;
            sources
                .ids()
                .filter(|&id| sources.path(id).to_string_lossy().ends_with(ending))
                .find_map(|id| {
                    let text = sources.text(id);
                    let at = find_key(text, &needle)?;
                    let target = Document::new(text.to_string(), 0);
                    Some(Location::new(
                        Url::from_file_path(std::fs::canonicalize(sources.path(id)).ok()?).ok()?,
                        target.range(at, at + needle.len()),
                    ))
                })
        }
    }
}

/// The first occurrence of `needle` that starts a line's content (a key) or, for JSON, anywhere.
fn find_key(text: &str, needle: &str) -> Option<usize> {
    text.match_indices(needle).map(|(i, _)| i).find(|&i| {
        needle.starts_with('"')
            || text[..i]
                .rsplit('\n')
                .next()
                .is_some_and(|l| l.trim().is_empty())
    })
}

/// Every occurrence of the name at `offset` in this file.
pub fn references(
    uri: &Url,
    a: &Analyzed,
    doc: &Document,
    offset: usize,
    include_declaration: bool,
) -> Option<Vec<Location>> {
    let o = symbols::at(&a.occurrences, offset)?;
    Some(
        symbols::same(&a.occurrences, o.kind, &o.name)
            .filter(|r| include_declaration || !r.definition)
            .map(|r| {
                Location::new(
                    uri.clone(),
                    doc.range(r.span.start as usize, r.span.end as usize),
                )
            })
            .collect(),
    )
}

/// The range a rename at `offset` would change, or why it cannot.
pub fn prepare_rename(a: &Analyzed, doc: &Document, offset: usize) -> Result<Range, String> {
    let o = symbols::at(&a.occurrences, offset)
        .ok_or("no step id or variable here: place the cursor on one")?;
    match o.kind {
        Kind::Step | Kind::Var | Kind::Fragment => {
            Ok(doc.range(o.span.start as usize, o.span.end as usize))
        }
        Kind::Signal | Kind::Activity | Kind::Workflow | Kind::Queue => Err(format!(
            "`{}` is a Temporal-visible name (clients and other workers use it); rename it where it is defined, and its users with it",
            o.name
        )),
    }
}

/// The edits renaming the step id or variable at `offset` to `new_name`.
pub fn rename(
    a: &Analyzed,
    doc: &Document,
    offset: usize,
    new_name: &str,
) -> Result<Vec<TextEdit>, String> {
    prepare_rename(a, doc, offset)?;
    let o = symbols::at(&a.occurrences, offset).ok_or("nothing to rename here")?;
    let what = match o.kind {
        Kind::Step => "step id",
        Kind::Fragment => "fragment name",
        _ => "variable",
    };
    if o.kind == Kind::Fragment {
        if !is_temporal_name(new_name) {
            return Err(format!(
                "`{new_name}` is not a valid {what}: use `[A-Za-z_][A-Za-z0-9_.-]*`"
            ));
        }
    } else if !is_ident(new_name) || ROOTS.contains(&new_name) {
        return Err(format!(
            "`{new_name}` is not a valid {what}: use `[a-z_][a-z0-9_]*`, not one of {}",
            ROOTS.join(", ")
        ));
    }
    if symbols::same(&a.occurrences, o.kind, new_name).any(|d| d.definition) {
        return Err(format!("a {what} named `{new_name}` already exists"));
    }
    Ok(symbols::same(&a.occurrences, o.kind, &o.name)
        .map(|r| {
            TextEdit::new(
                doc.range(r.span.start as usize, r.span.end as usize),
                new_name.to_string(),
            )
        })
        .collect())
}
