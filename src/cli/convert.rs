//! `stave convert FILE --to text|yaml [-o OUT]`: one workflow from one form to the other.
//!
//! Conversion works on the AST, so it needs no project: both forms lower to the same IR, and
//! converting back yields the same IR again. Converting a `.stave` file to text formats it.

use super::common::write_output;
use crate::check::Form;
use crate::diagnostics::render::{self, Style};
use crate::diagnostics::{Code, Diagnostic, FileId, Sources, Span};
use crate::syntax::{ast, print_text, print_yaml, text, yaml};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// The text form (`.stave`).
    Text,
    /// The YAML form (`.stave.yaml`).
    Yaml,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The workflow file to convert (`.stave.yaml` or `.stave`).
    pub file: PathBuf,
    /// The form to write.
    #[arg(long, value_enum)]
    pub to: Target,
    /// Write to this file instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// A workflow file read and parsed, with the diagnostics of reading it.
pub struct Parsed {
    pub sources: Sources,
    pub file: FileId,
    pub form: Form,
    pub ast: Option<ast::File>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads and parses one workflow file of either form (by its extension).
pub fn read(path: &Path) -> Parsed {
    let mut sources = Sources::default();
    let form = Form::of(path);
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            let file = sources.add(path, "");
            let d = Diagnostic::new(
                Code::E001,
                Span::new(file, 0, 0),
                format!("cannot read `{}`: {e}", path.display()),
            )
            .help("check the path and the file's permissions");
            return Parsed {
                sources,
                file,
                form: form.unwrap_or(Form::Yaml),
                ast: None,
                diagnostics: vec![d],
            };
        }
    };
    let Some(form) = form else {
        let file = sources.add(path, "");
        let d = Diagnostic::new(
            Code::E001,
            Span::new(file, 0, 0),
            format!("`{}` is not a workflow file", path.display()),
        )
        .help("workflow files end in `.stave.yaml` (YAML form) or `.stave` (text form)");
        return Parsed {
            sources,
            file,
            form: Form::Yaml,
            ast: None,
            diagnostics: vec![d],
        };
    };
    // Add the text first so that diagnostics can point into it, even when it is not UTF-8.
    let file = sources.add(path, String::from_utf8_lossy(&bytes).into_owned());
    let (ast, diagnostics) = match (form, std::str::from_utf8(&bytes)) {
        (Form::Text, _) => text::parse_bytes(file, &bytes),
        (Form::Yaml, Ok(t)) => yaml::load(file, t),
        (Form::Yaml, Err(_)) => {
            let (_, d) = text::parse_bytes(file, &bytes);
            (None, d)
        }
    };
    Parsed {
        sources,
        file,
        form,
        ast,
        diagnostics,
    }
}

/// Renders error diagnostics on stderr; true when there were any.
pub fn report_errors(sources: &Sources, diagnostics: &[Diagnostic]) -> bool {
    let style = Style {
        color: std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        ..Style::default()
    };
    let mut any = false;
    for d in diagnostics.iter().filter(|d| d.is_error()) {
        eprint!("{}", render::render_human(sources, d, style));
        any = true;
    }
    any
}

/// The converted text of a parsed file.
pub fn convert(parsed: &Parsed, to: Target) -> Option<String> {
    let w = parsed.ast.as_ref()?;
    Some(match (parsed.form, to) {
        (Form::Text, Target::Text) => {
            let comments = text::scan::scan(parsed.sources.text(parsed.file)).comments;
            print_text::print_text_with_comments(w, &comments)
        }
        (_, Target::Text) => print_text::print_text(w),
        (_, Target::Yaml) => print_yaml::print_yaml(w),
    })
}

pub fn run(args: Args) -> ExitCode {
    let parsed = read(&args.file);
    if report_errors(&parsed.sources, &parsed.diagnostics) {
        eprintln!(
            "error: `{}` has errors; nothing converted",
            args.file.display()
        );
        return ExitCode::from(1);
    }
    let Some(out) = convert(&parsed, args.to) else {
        eprintln!(
            "error: `{}` holds no workflow; nothing converted",
            args.file.display()
        );
        return ExitCode::from(1);
    };
    write_output(args.output.as_deref(), &out)
}
