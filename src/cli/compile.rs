//! `stave compile FILE|DIR`: the IR of one workflow file, or the bundle of a project, as JSON.

use super::common::write_output;
use super::lint;
use crate::check;
use crate::diagnostics::render::{self, Style};
use crate::project::ProjectContext;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A workflow file (prints its IR) or a project directory (prints the bundle).
    pub path: PathBuf,
    /// Compact JSON on one line.
    #[arg(long)]
    pub compact: bool,
    /// Write to a file instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

pub fn run(args: Args) -> ExitCode {
    let (json, sources, diagnostics) = if args.path.is_dir() {
        let load = check::load_project(&args.path);
        let json = load.bundle.as_ref().map(serde_json::to_value);
        (json, load.sources, load.diagnostics)
    } else {
        let report = lint::lint_paths(std::slice::from_ref(&args.path));
        let sources = report.sources;
        let errors = report.diagnostics.iter().any(|d| d.is_error());
        let json = if errors {
            None
        } else {
            let dir = check::find_project_dir(&args.path);
            let mut s = crate::diagnostics::Sources::default();
            let mut d = Vec::new();
            let context = match &dir {
                Some(dir) => check::load_project_context(dir, &mut s, &mut d),
                None => ProjectContext::default(),
            };
            check::compile_path(&args.path, &mut s, &context, &mut d)
                .map(|ir| serde_json::to_value(&ir))
        };
        (json, sources, report.diagnostics)
    };
    let style = Style::default();
    for d in diagnostics.iter().filter(|d| d.is_error()) {
        eprint!("{}", render::render_human(&sources, d, style));
    }
    let Some(Ok(json)) = json else {
        eprintln!(
            "error: `{}` has errors; nothing compiled (run `stave lint` for warnings too)",
            args.path.display()
        );
        return ExitCode::from(1);
    };
    let mut text = if args.compact {
        serde_json::to_string(&json).unwrap_or_default()
    } else {
        serde_json::to_string_pretty(&json).unwrap_or_default()
    };
    text.push('\n');
    write_output(args.output.as_deref(), &text)
}
