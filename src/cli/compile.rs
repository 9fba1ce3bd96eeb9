//! `stave compile FILE|DIR`: the IR of one workflow file (an array of them for a file of
//! several workflows, unless `--workflow NAME` picks one), or the bundle of a project, as JSON.

use super::common::{choose_workflows, write_output};
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
    /// Of a file that defines several workflows, print only this one's IR (by default: a
    /// JSON array of all of them).
    #[arg(long, value_name = "NAME")]
    pub workflow: Option<String>,
    /// Compact JSON on one line.
    #[arg(long)]
    pub compact: bool,
    /// Write to a file instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

pub fn run(args: Args) -> ExitCode {
    if args.workflow.is_some() && args.path.is_dir() {
        eprintln!("error: --workflow picks a workflow of one file; give a workflow file");
        return ExitCode::from(2);
    }
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
            let workflows = check::compile_path(&args.path, &mut s, &context, &mut d);
            match choose_workflows(&args.path, workflows, args.workflow.as_deref()) {
                Ok(chosen) if chosen.len() == 1 => Some(serde_json::to_value(&chosen[0])),
                Ok(chosen) => Some(serde_json::to_value(&chosen)),
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(1);
                }
            }
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
