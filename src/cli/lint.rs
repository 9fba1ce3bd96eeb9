//! `stave lint [PATHS]`: every problem of every file in one pass.

use crate::check::{self, Form};
use crate::diagnostics::render::{self, Style};
use crate::diagnostics::{Code, Diagnostic, FileId, Severity, Sources, Span};
use crate::project::ProjectContext;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Workflow files or directories (default: the current directory).
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Treat warnings as errors (exit 1).
    #[arg(long, short = 'D')]
    pub deny_warnings: bool,
    /// Silence a warning code (repeatable), e.g. --allow W007.
    #[arg(long, value_name = "CODE")]
    pub allow: Vec<String>,
    /// Turn on a warning that is off by default (repeatable), e.g. --warn W001.
    #[arg(long, short = 'W', value_name = "CODE")]
    pub warn: Vec<String>,
    /// Colour: auto, always or never.
    #[arg(long, default_value = "auto")]
    pub color: String,
    /// Width of the rendered diagnostics.
    #[arg(long, default_value_t = 100)]
    pub width: usize,
}

/// The result of linting: sources read and diagnostics, sorted by file and position.
pub struct Report {
    pub sources: Sources,
    pub diagnostics: Vec<Diagnostic>,
    pub files: usize,
}

/// Lints paths: finds each file's project, checks every workflow file.
pub fn lint_paths(paths: &[PathBuf]) -> Report {
    let mut sources = Sources::default();
    let mut diagnostics = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    for path in paths {
        if path.is_dir() {
            match check::workflow_files(path) {
                Ok(found) => files.extend(found),
                Err(e) => unreadable(&mut sources, &mut diagnostics, path, &e.to_string()),
            }
        } else if path.exists() {
            if Form::of(path).is_none()
                && path.file_name().is_some_and(|n| n != check::PROJECT_FILE)
            {
                unreadable(
                    &mut sources,
                    &mut diagnostics,
                    path,
                    "not a workflow file (expected `.stave.yaml` or `.stave`)",
                );
            } else if Form::of(path).is_some() {
                files.push(path.clone());
            }
        } else {
            unreadable(
                &mut sources,
                &mut diagnostics,
                path,
                "no such file or directory",
            );
        }
    }
    files.sort();
    files.dedup();
    // One project context per project directory.
    let mut contexts: BTreeMap<Option<PathBuf>, ProjectContext> = BTreeMap::new();
    let mut compiled: BTreeMap<Option<PathBuf>, Vec<crate::ir::Workflow>> = BTreeMap::new();
    let count = files.len();
    for file in files {
        let dir = check::find_project_dir(&file);
        if !contexts.contains_key(&dir) {
            let context = match &dir {
                Some(d) => check::load_project_context(d, &mut sources, &mut diagnostics),
                None => ProjectContext::default(),
            };
            contexts.insert(dir.clone(), context);
        }
        let context = &contexts[&dir];
        let workflows = check::lint_path(&file, &mut sources, context, &mut diagnostics);
        compiled.entry(dir).or_default().extend(workflows);
    }
    // Project-wide checks over the files of each project that compiled.
    for (dir, workflows) in compiled {
        check::finish_bundle(&contexts[&dir], workflows, &sources, &mut diagnostics);
    }
    diagnostics.sort_by_key(|d| {
        (
            sources.path(d.span().file).to_path_buf(),
            d.span().start,
            d.code,
        )
    });
    Report {
        sources,
        diagnostics,
        files: count,
    }
}

fn unreadable(sources: &mut Sources, diagnostics: &mut Vec<Diagnostic>, path: &Path, why: &str) {
    let file: FileId = sources.add(path, "");
    diagnostics.push(
        Diagnostic::new(
            Code::E001,
            Span::new(file, 0, 0),
            format!("cannot read `{}`: {why}", path.display()),
        )
        .help("check the path; workflow files end in `.stave.yaml` or `.stave`"),
    );
}

pub fn run(args: Args) -> ExitCode {
    let mut allowed = Vec::new();
    for a in &args.allow {
        match Code::parse(a) {
            Some(c) if c.severity() == Severity::Warning => allowed.push(c),
            Some(c) => {
                eprintln!("error: {c} is an error and cannot be allowed; only warnings (W…) can");
                return ExitCode::from(2);
            }
            None => {
                eprintln!(
                    "error: unknown code `{a}` in --allow\nhelp: `stave explain --list` lists every code"
                );
                return ExitCode::from(2);
            }
        }
    }
    let mut warned = Vec::new();
    for w in &args.warn {
        match Code::parse(w) {
            Some(c) if c.off_by_default() => warned.push(c),
            Some(c) => {
                eprintln!(
                    "error: {c} is already on; only warnings that are off by default can be turned on"
                );
                return ExitCode::from(2);
            }
            None => {
                eprintln!(
                    "error: unknown code `{w}` in --warn\nhelp: `stave explain --list` lists every code"
                );
                return ExitCode::from(2);
            }
        }
    }
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let mut report = lint_paths(&paths);
    report
        .diagnostics
        .retain(|d| d.code.reported(&allowed, &warned));
    let errors = report.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = report.diagnostics.len() - errors;
    match args.format {
        Format::Human => {
            let color = match args.color.as_str() {
                "always" => true,
                "never" => false,
                _ => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            };
            let style = Style {
                color,
                width: args.width,
            };
            for d in &report.diagnostics {
                eprint!("{}", render::render_human(&report.sources, d, style));
            }
            eprintln!(
                "{}: {errors} error{}, {warnings} warning{} in {} file{}",
                if errors > 0 { "failed" } else { "checked" },
                if errors == 1 { "" } else { "s" },
                if warnings == 1 { "" } else { "s" },
                report.files,
                if report.files == 1 { "" } else { "s" },
            );
        }
        Format::Json => {
            let json = render::to_json(&report.sources, &report.diagnostics);
            println!(
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            );
        }
        Format::Sarif => {
            let json = render::to_sarif(&report.sources, &report.diagnostics);
            println!(
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            );
        }
    }
    if errors > 0 || (args.deny_warnings && warnings > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
