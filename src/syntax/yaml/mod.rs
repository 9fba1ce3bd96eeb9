//! The YAML form: text → spanned nodes (`node`) → AST, collecting every diagnostic.
//!
//! Pipeline: `node` (YAML events → a spanned node tree), then the conversion context [`Cx`]:
//! `read` (typed readers checked against the key tables of `keys`), `workflow` (top-level
//! keys), `steps` (step kinds) and `options` (activity options and retry policies).

pub(crate) mod keys;
pub mod node;
mod options;
mod read;
mod steps;
pub mod testfile;
mod workflow;

use super::ast::*;
use crate::diagnostics::{Code, Diagnostic, FileId, Span};
use crate::expr;
use node::Node;

/// Reads a `.stave.yaml` workflow file. Never fails: returns what it could read.
pub fn load(file: FileId, text: &str) -> (Option<File>, Vec<Diagnostic>) {
    let (root, mut diagnostics) = node::parse(file, text);
    let Some(root) = root else {
        if diagnostics.is_empty() {
            diagnostics.push(
                Diagnostic::new(Code::E006, Span::new(file, 0, 0), "the file is empty")
                    .help("a workflow file starts with `stave: 1`, `workflow: NAME` and `steps:`"),
            );
        }
        return (None, diagnostics);
    };
    let mut cx = Cx::new(file, diagnostics);
    let parsed = cx.file(&root);
    (parsed, cx.diagnostics)
}

/// Conversion context: the file and the diagnostics collected so far.
pub(crate) struct Cx {
    pub file: FileId,
    pub diagnostics: Vec<Diagnostic>,
    /// Templates already parsed in this file, by text, with spans from offset 0: workflow
    /// files repeat the same expressions (`${ input.order_id }`) many times, and placing a
    /// parsed tree costs far less than running the grammar again.
    templates: std::collections::HashMap<String, expr::Template>,
}

impl Cx {
    pub fn new(file: FileId, diagnostics: Vec<Diagnostic>) -> Cx {
        Cx {
            file,
            diagnostics,
            templates: std::collections::HashMap::new(),
        }
    }

    /// Parses a string scalar as a template, reusing an earlier parse of the same text.
    fn template(&mut self, s: &str, node: &Node) -> Result<expr::Template, Diagnostic> {
        let Some(offset) = node.text_offset else {
            return expr::parse_template(s, self.file, None, node.span);
        };
        if !s.contains("${") {
            return expr::parse_template(s, self.file, Some(offset), node.span);
        }
        if let Some(cached) = self.templates.get(s) {
            let mut t = cached.clone();
            t.relocate(self.file, offset as u32);
            return Ok(t);
        }
        let parsed = expr::parse_template(s, self.file, Some(offset), node.span)?;
        let mut relative = parsed.clone();
        relative.relocate(self.file, 0u32.wrapping_sub(offset as u32));
        self.templates.insert(s.to_string(), relative);
        Ok(parsed)
    }
}

/// The entries of one mapping, with unknown keys already reported.
pub(crate) struct Fields<'n> {
    pub entries: Vec<(Name, &'n Node)>,
    pub span: Span,
}

impl<'n> Fields<'n> {
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.value == key)
            .map(|(_, v)| *v)
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repeated template is parsed once and placed at each of its positions.
    #[test]
    fn repeated_templates_keep_their_own_spans() {
        let text = "stave: 1\nworkflow: w\nsteps:\n  - set: { a: \"${ input.x + 1 }\" }\n  - set: { a: \"${ input.x + 1 }\" }\n";
        let (wf, diags) = load(FileId(3), text);
        assert!(diags.is_empty(), "{diags:?}");
        let wf = &wf.expect("file").workflows[0];
        let mut spans = Vec::new();
        for step in &wf.steps {
            let StepKind::Set(set) = &step.kind else {
                panic!("set")
            };
            let ValueKind::Str(expr::Template::Expr(e)) = &set[0].1.kind else {
                panic!("expr")
            };
            assert_eq!(e.span.file, FileId(3));
            spans.push(&text[e.span.start as usize..e.span.end as usize]);
            let crate::expr::ExprKind::Binary { lhs, .. } = &e.kind else {
                panic!("binary")
            };
            spans.push(&text[lhs.span.start as usize..lhs.span.end as usize]);
        }
        assert_eq!(spans, ["input.x + 1", "input.x", "input.x + 1", "input.x"]);
    }
}
