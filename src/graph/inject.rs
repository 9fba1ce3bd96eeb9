//! `--inject`: keeps a workflow's Mermaid graph current inside a Markdown file.
//!
//! A block is marked by two HTML comments, which Markdown renderers hide:
//!
//! ```text
//! <!-- stave-graph:workflows/order-fulfilment.stave.yaml -->
//! (anything; replaced by a ```mermaid fence)
//! <!-- /stave-graph -->
//! ```

use std::path::Path;
use thiserror::Error;

/// Opens a block; the workflow path follows, then `-->`.
pub const OPEN: &str = "<!-- stave-graph:";
/// Closes a block.
pub const CLOSE: &str = "<!-- /stave-graph -->";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum InjectError {
    /// The Markdown file has no block for the workflow.
    #[error("no `{OPEN}{file} -->` block")]
    NoBlock { file: String },
    /// `<!-- stave-graph:x -->` with no `<!-- /stave-graph -->` after it.
    #[error("the `{OPEN}{file} -->` block opened on line {line} is never closed")]
    Unclosed { file: String, line: usize },
}

/// The path named by an opening marker line, if the line is one.
pub fn marker_path(line: &str) -> Option<&str> {
    let rest = line.trim().strip_prefix(OPEN)?;
    Some(rest.strip_suffix("-->")?.trim())
}

/// Replaces the body of every block whose marker `matches` with `mermaid` in a fence.
/// `file` only names the workflow in errors.
pub fn inject(
    markdown: &str,
    file: &str,
    matches: impl Fn(&str) -> bool,
    mermaid: &str,
) -> Result<String, InjectError> {
    let lines: Vec<&str> = markdown.split_inclusive('\n').collect();
    let mut out = String::with_capacity(markdown.len() + mermaid.len());
    let mut found = false;
    // Markers shown inside a fenced code block (documentation about markers) are text.
    let mut fence: Option<&str> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        out.push_str(line);
        i += 1;
        let trimmed = line.trim_start();
        match fence {
            Some(open) if trimmed.starts_with(open) => fence = None,
            Some(_) => continue,
            None if trimmed.starts_with("```") => fence = Some("```"),
            None if trimmed.starts_with("~~~") => fence = Some("~~~"),
            None => {}
        }
        if fence.is_some() || !marker_path(line).is_some_and(&matches) {
            continue;
        }
        let Some(close) = lines[i..].iter().position(|l| l.trim() == CLOSE) else {
            return Err(InjectError::Unclosed {
                file: file.to_string(),
                line: i,
            });
        };
        if !line.ends_with('\n') {
            out.push('\n');
        }
        out.push_str("```mermaid\n");
        out.push_str(mermaid);
        if !mermaid.ends_with('\n') {
            out.push('\n');
        }
        out.push_str("```\n");
        i += close;
        found = true;
    }
    if found {
        Ok(out)
    } else {
        Err(InjectError::NoBlock {
            file: file.to_string(),
        })
    }
}

/// Whether a marker's path names `file`: the same text (ignoring a leading `./`), or the same
/// file once the marker is read relative to the Markdown file's directory.
pub fn same_file(marker: &str, file: &Path, markdown_dir: &Path) -> bool {
    let plain = |p: &str| p.trim_start_matches("./").to_string();
    if plain(marker) == plain(&file.to_string_lossy()) {
        return true;
    }
    match (
        std::fs::canonicalize(markdown_dir.join(marker)),
        std::fs::canonicalize(file),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str =
        "# Title\n\n<!-- stave-graph:wf.stave.yaml -->\nold\nlines\n<!-- /stave-graph -->\ntail\n";

    #[test]
    fn replaces_the_block_and_keeps_the_rest() {
        let out = inject(
            DOC,
            "wf.stave.yaml",
            |p| p == "wf.stave.yaml",
            "flowchart TD\n",
        )
        .expect("injected");
        assert_eq!(
            out,
            "# Title\n\n<!-- stave-graph:wf.stave.yaml -->\n```mermaid\nflowchart TD\n```\n<!-- /stave-graph -->\ntail\n"
        );
        // Injecting again changes nothing: `--check` compares against this.
        assert_eq!(
            inject(
                &out,
                "wf.stave.yaml",
                |p| p == "wf.stave.yaml",
                "flowchart TD\n"
            )
            .as_deref(),
            Ok(out.as_str())
        );
    }

    #[test]
    fn other_blocks_are_left_alone() {
        let err = inject(DOC, "other.stave.yaml", |p| p == "other.stave.yaml", "x\n");
        assert_eq!(
            err,
            Err(InjectError::NoBlock {
                file: "other.stave.yaml".into()
            })
        );
    }

    #[test]
    fn an_unclosed_block_is_an_error() {
        let doc = "<!-- stave-graph:wf.stave.yaml -->\nold\n";
        let err = inject(doc, "wf.stave.yaml", |_| true, "x\n");
        assert_eq!(
            err,
            Err(InjectError::Unclosed {
                file: "wf.stave.yaml".into(),
                line: 1
            })
        );
    }

    #[test]
    fn markers_inside_code_fences_are_text() {
        let doc = format!("```markdown\n{DOC}```\n");
        let err = inject(&doc, "wf.stave.yaml", |p| p == "wf.stave.yaml", "x\n");
        assert_eq!(
            err,
            Err(InjectError::NoBlock {
                file: "wf.stave.yaml".into()
            })
        );
        let doc = format!("~~~\n```\n~~~\n{DOC}");
        assert!(inject(&doc, "wf.stave.yaml", |p| p == "wf.stave.yaml", "x\n").is_ok());
    }

    #[test]
    fn markers_are_read_with_spaces() {
        assert_eq!(
            marker_path("  <!-- stave-graph: a/b.stave.yaml -->\n"),
            Some("a/b.stave.yaml")
        );
        assert_eq!(marker_path("<!-- other -->"), None);
        assert!(same_file(
            "./a.stave.yaml",
            Path::new("a.stave.yaml"),
            Path::new(".")
        ));
    }
}
