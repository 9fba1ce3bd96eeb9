//! `stave fmt FILE|DIR... [--check]`: rewrites `.stave` files in the canonical layout.
//!
//! Comments are kept. With `--check` nothing is written: the files that would change are
//! listed and the exit code is 1, for CI.

use super::convert;
use crate::check::{self, Form};
use crate::syntax::print_text;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// `.stave` files or directories (default: the current directory).
    pub paths: Vec<PathBuf>,
    /// Only report files that are not formatted (exit 1 if any).
    #[arg(long)]
    pub check: bool,
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Unchanged,
    /// Rewritten, or with `--check`, would be.
    Changed,
    /// Not read or not parsed; diagnostics were printed.
    Failed,
}

/// The `.stave` files named by `paths` (directories searched recursively).
fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let found = check::workflow_files(p)
                .map_err(|e| format!("cannot read `{}`: {e}", p.display()))?;
            out.extend(
                found
                    .into_iter()
                    .filter(|f| Form::of(f) == Some(Form::Text)),
            );
        } else if Form::of(p) == Some(Form::Text) {
            out.push(p.clone());
        } else if !p.exists() {
            return Err(format!("`{}`: no such file or directory", p.display()));
        } else {
            return Err(format!(
                "`{}` is not a `.stave` file: `stave fmt` formats the text form \
                 (`stave convert FILE --to yaml` rewrites a YAML file)",
                p.display()
            ));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Formats one file; with `check`, only compares.
pub fn format_file(path: &Path, check: bool) -> Outcome {
    let parsed = convert::read(path);
    if convert::report_errors(&parsed.sources, &parsed.diagnostics) {
        return Outcome::Failed;
    }
    let Some(w) = &parsed.ast else {
        return Outcome::Failed;
    };
    let source = parsed.sources.text(parsed.file);
    let comments = crate::syntax::text::scan::scan(source).comments;
    let formatted = print_text::print_text_with_comments(w, &comments);
    if formatted == source {
        return Outcome::Unchanged;
    }
    if check {
        println!("would reformat {}", path.display());
        return Outcome::Changed;
    }
    match std::fs::write(path, formatted) {
        Ok(()) => {
            println!("formatted {}", path.display());
            Outcome::Changed
        }
        Err(e) => {
            eprintln!("error: cannot write `{}`: {e}", path.display());
            Outcome::Failed
        }
    }
}

pub fn run(args: Args) -> ExitCode {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let files = match files(&paths) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let outcomes: Vec<Outcome> = files.iter().map(|f| format_file(f, args.check)).collect();
    let failed = outcomes.iter().filter(|o| **o == Outcome::Failed).count();
    let changed = outcomes.iter().filter(|o| **o == Outcome::Changed).count();
    if failed > 0 {
        eprintln!(
            "error: {failed} file{} could not be formatted",
            if failed == 1 { "" } else { "s" }
        );
        return ExitCode::from(1);
    }
    if args.check && changed > 0 {
        eprintln!(
            "{changed} file{} would be reformatted; run `stave fmt` to fix",
            if changed == 1 { "" } else { "s" }
        );
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
