//! AST → the text form in its canonical layout: the formatter (`stave fmt`) and the YAML → text
//! half of `stave convert`.
//!
//! Canonical means: a fixed order of declarations, two-space indentation, one step per line
//! with its options on the same line while it fits in [`WIDTH`] columns and one option per
//! continuation line otherwise, expressions in their canonical `Display`. Comments of a
//! formatted file are kept: each is written before the first item that follows it in the
//! source, or at the end of the line it followed.

//!
//! This file holds the entry points and the output buffer with its comments; `workflow` prints
//! the file's fragments and workflows, each workflow's header and declarations, `steps` the steps, `values` everything inside a line, `input`
//! the input schema.

mod input;
mod steps;
mod values;
mod workflow;

use super::ast::*;
use super::text::{self, Comment};
use crate::diagnostics::{Diagnostic, FileId};

pub use values::value;

/// Line width the layout aims for.
pub const WIDTH: usize = 100;

/// Prints a workflow file in the canonical text layout, without comments.
pub fn print_text(f: &File) -> String {
    Printer::new(&[]).file(f)
}

/// Prints a workflow file, writing `comments` (from [`text::scan::scan`] of the source it
/// was parsed from) near the items they preceded.
pub fn print_text_with_comments(f: &File, comments: &[Comment]) -> String {
    Printer::new(comments).file(f)
}

/// Formats `.stave` source: the canonical layout with the comments kept. None when the file
/// has errors that stop it from being read (the diagnostics say which).
pub fn format(file: FileId, source: &str) -> (Option<String>, Vec<Diagnostic>) {
    let (w, diagnostics) = text::parse(file, source);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return (None, diagnostics);
    }
    let Some(w) = w else {
        return (None, diagnostics);
    };
    let comments = text::scan::scan(source).comments;
    (Some(print_text_with_comments(&w, &comments)), diagnostics)
}

struct Printer<'c> {
    out: String,
    comments: &'c [Comment],
    next: usize,
}

impl<'c> Printer<'c> {
    fn new(comments: &'c [Comment]) -> Self {
        Printer {
            out: String::new(),
            comments,
            next: 0,
        }
    }

    fn pad(&mut self, indent: usize) {
        for _ in 0..indent {
            self.out.push(' ');
        }
    }

    fn line(&mut self, indent: usize, text: &str) {
        self.pad(indent);
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn blank(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with("\n\n") && !self.out.ends_with("{\n") {
            self.out.push('\n');
        }
    }

    /// Writes the comments that come before `offset` in the source.
    fn comments_before(&mut self, offset: u32, indent: usize) {
        while let Some(c) = self.comments.get(self.next) {
            if c.start as u32 >= offset {
                break;
            }
            if !c.own_line && self.out.ends_with('\n') {
                // A trailing comment stays at the end of the last line written, above any
                // blank line already separating the next group.
                let kept = self.out.trim_end_matches('\n').len();
                let newlines = self.out.len() - kept;
                self.out.truncate(kept);
                self.out.push_str("  ");
                self.out.push_str(&c.text);
                for _ in 0..newlines {
                    self.out.push('\n');
                }
            } else {
                self.line(indent, &c.text);
            }
            self.next += 1;
        }
    }

    fn rest_of_comments(&mut self, indent: usize) {
        self.comments_before(u32::MAX, indent);
    }

    /// `HEAD { a, b }` on one line when it fits, else one item per line; `HEAD {}` when empty.
    fn braced(&mut self, indent: usize, head: &str, items: &[String], separator: &str) {
        if items.is_empty() {
            self.line(indent, &format!("{head} {{}}"));
            return;
        }
        let one = format!("{head} {{ {} }}", items.join(separator));
        if indent + one.len() <= WIDTH {
            self.line(indent, &one);
        } else {
            self.line(indent, &format!("{head} {{"));
            for item in items {
                self.line(indent + 2, item);
            }
            self.line(indent, "}");
        }
    }
}
