//! `stave graph FILE [--workflow NAME]`: draw a workflow's control flow as Mermaid or DOT, or
//! keep it current in a Markdown file (`--inject README.md [--check]`); `stave graph --run ID`
//! colours it by what a run did.

use super::common::{choose_workflows, project_dir, project_namespace, runtime, write_output};
use crate::check;
use crate::diagnostics::Sources;
use crate::diagnostics::render::{self, Style};
use crate::graph::{self, inject};
use crate::ir;
use crate::project::ProjectContext;
use crate::runtime::client::Client;
use crate::runtime::connect::{ConnectArgs, Retry};
use crate::runtime::replay::{fetch_history, progress};
use crate::runtime::versions::{self, VersionStore};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A Mermaid flowchart (renders in GitHub Markdown).
    Mermaid,
    /// Graphviz DOT (`dot -Tsvg`).
    Dot,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The workflow file to draw (`.stave.yaml` or `.stave`); with --run, the run's own
    /// pinned program is drawn instead.
    #[arg(required_unless_present = "run", conflicts_with = "run")]
    pub file: Option<PathBuf>,
    /// Which workflow of a file that defines several.
    #[arg(long, value_name = "NAME")]
    pub workflow: Option<String>,
    /// Output format [default: mermaid].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write to a file instead of stdout.
    #[arg(long, short, value_name = "FILE", conflicts_with = "inject")]
    pub output: Option<PathBuf>,
    /// Replace the `<!-- stave-graph:FILE -->` … `<!-- /stave-graph -->` block of this Markdown
    /// file with a Mermaid block of the graph.
    #[arg(long, value_name = "MARKDOWN")]
    pub inject: Option<PathBuf>,
    /// With --inject: change nothing, and exit 1 if the block is stale (for CI).
    #[arg(long, requires = "inject")]
    pub check: bool,
    /// Colour the graph by what the run of this workflow id did: completed, retried (with
    /// attempts), failed, running, skipped. Draws the program the run is pinned to.
    #[arg(long, value_name = "WORKFLOW_ID", conflicts_with = "inject")]
    pub run: Option<String>,
    /// With --run: a specific run of the workflow id [default: the latest].
    #[arg(long, requires = "run")]
    pub run_id: Option<String>,
    /// With --run: the project, for its namespace and version store [default: found from
    /// the current directory].
    #[arg(long, value_name = "DIR", requires = "run")]
    pub project: Option<PathBuf>,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

pub fn run(args: Args) -> ExitCode {
    if args.inject.is_some() && args.format == Some(Format::Dot) {
        eprintln!("error: --inject writes a Mermaid block; drop `--format dot`");
        return ExitCode::from(2);
    }
    let format = args.format.unwrap_or(Format::Mermaid);
    if let Some(id) = &args.run {
        return match draw_run(&args, id, format) {
            Ok(text) => write_output(args.output.as_deref(), &text),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        };
    }
    let Some(file) = &args.file else {
        eprintln!("error: give a workflow file to draw, or --run ID");
        return ExitCode::from(2);
    };
    let Some(workflow) = compile(file, args.workflow.as_deref()) else {
        return ExitCode::from(1);
    };
    let graph = graph::build(&workflow);
    if let Some(markdown) = &args.inject {
        return inject_into(markdown, file, &graph::mermaid::render(&graph), args.check);
    }
    let text = match format {
        Format::Mermaid => graph::mermaid::render(&graph),
        Format::Dot => graph::dot::render(&graph),
    };
    write_output(args.output.as_deref(), &text)
}

/// `--run ID`: the run's history replayed against its pinned program, drawn coloured.
fn draw_run(args: &Args, id: &str, format: Format) -> Result<String, String> {
    let Some(runtime) = runtime(tokio::runtime::Builder::new_multi_thread()) else {
        return Err("cannot start the async runtime".into());
    };
    let namespace = project_namespace(args.project.as_deref());
    // The run's memo carries its program; the project's version store is the fallback.
    let versions_dir = project_dir(args.project.as_deref())
        .map(|dir| dir.join(versions::DEFAULT_DIR))
        .unwrap_or_else(|_| PathBuf::from(versions::DEFAULT_DIR));
    let store = Arc::new(VersionStore::new(versions_dir));
    let (progress, run_id) = runtime.block_on(async {
        let connected = args
            .connect
            .connect(namespace.as_deref(), "", Retry::Once)
            .await
            .map_err(|e| e.to_string())?;
        let client = Client::new(connected.clone());
        let described = client
            .describe(id, args.run_id.as_deref())
            .await
            .map_err(|e| e.to_string())?;
        let pending: HashMap<String, u32> = described
            .pending_activities
            .iter()
            .map(|a| (a.activity_id.clone(), u32::try_from(a.attempt).unwrap_or(1)))
            .collect();
        let recorded = fetch_history(&connected, id, Some(&described.run_id))
            .await
            .map_err(|e| e.to_string())?;
        let progress = progress::progress(&recorded, store, &pending)
            .await
            .map_err(|e| format!("{e}; `stave describe {id}` shows what the server knows"))?;
        Ok::<_, String>((progress, described.run_id))
    })?;
    if let Some(failure) = &progress.replay_failure {
        eprintln!(
            "warning: replaying run {run_id} against its pinned program stopped early ({failure}); \
             steps after that point are drawn as not reached"
        );
    }
    let mut graph = graph::build(&progress.program);
    let overlay = graph::run::overlay(&mut graph, &progress, id, &run_id);
    Ok(match format {
        Format::Mermaid => graph::mermaid::render_run(&graph, &overlay),
        Format::Dot => graph::dot::render_run(&graph, &overlay),
    })
}

/// Compiles one workflow file in its project and picks the workflow `name` names (needed
/// when the file defines several); prints the errors and returns None if any.
pub fn compile(path: &Path, name: Option<&str>) -> Option<ir::Workflow> {
    if !path.is_file() {
        let why = if path.exists() {
            "is not a file"
        } else {
            "does not exist"
        };
        eprintln!(
            "error: `{}` {why}\nhelp: give a workflow file (`.stave.yaml` or `.stave`)",
            path.display()
        );
        return None;
    }
    let mut sources = Sources::default();
    let mut diagnostics = Vec::new();
    let context = match check::find_project_dir(path) {
        Some(dir) => check::load_project_context(&dir, &mut sources, &mut diagnostics),
        None => ProjectContext::default(),
    };
    let workflows = check::compile_path(path, &mut sources, &context, &mut diagnostics);
    let errors: Vec<_> = diagnostics.iter().filter(|d| d.is_error()).collect();
    for d in &errors {
        eprint!("{}", render::render_human(&sources, d, Style::default()));
    }
    if !errors.is_empty() || workflows.is_empty() {
        eprintln!(
            "error: `{}` has errors; nothing drawn (`stave lint` shows warnings too)",
            path.display()
        );
        return None;
    }
    match choose_workflows(path, workflows, name) {
        Ok(mut chosen) if chosen.len() == 1 => chosen.pop(),
        Ok(chosen) => {
            let names: Vec<String> = chosen.iter().map(|w| format!("`{}`", w.name)).collect();
            eprintln!(
                "error: `{}` defines several workflows ({}); choose one with --workflow NAME",
                path.display(),
                names.join(", ")
            );
            None
        }
        Err(e) => {
            eprintln!("error: {e}");
            None
        }
    }
}

fn inject_into(markdown: &Path, file: &Path, mermaid: &str, check: bool) -> ExitCode {
    let text = match std::fs::read_to_string(markdown) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: cannot read `{}`: {e}", markdown.display());
            return ExitCode::from(1);
        }
    };
    let dir = markdown
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = file.to_string_lossy();
    let updated = match inject::inject(
        &text,
        &name,
        |marker| inject::same_file(marker, file, dir),
        mermaid,
    ) {
        Ok(updated) => updated,
        Err(e) => {
            eprintln!("error: {}: {e}", markdown.display());
            eprintln!(
                "help: mark the place with `{}{name} -->` and `{}` on lines of their own",
                inject::OPEN,
                inject::CLOSE
            );
            return ExitCode::from(1);
        }
    };
    if updated == text {
        if check {
            eprintln!("{}: the graph of `{name}` is current", markdown.display());
        }
        return ExitCode::SUCCESS;
    }
    if check {
        eprintln!(
            "error: {}: the graph of `{name}` is stale",
            markdown.display()
        );
        eprintln!(
            "help: run `stave graph {name} --inject {}`",
            markdown.display()
        );
        return ExitCode::from(1);
    }
    if let Err(e) = std::fs::write(markdown, updated) {
        eprintln!("error: cannot write `{}`: {e}", markdown.display());
        return ExitCode::from(1);
    }
    eprintln!("{}: updated the graph of `{name}`", markdown.display());
    ExitCode::SUCCESS
}
