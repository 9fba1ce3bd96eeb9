//! `stave replay`: replay recorded histories against the definitions; non-zero on nondeterminism.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::json;

use super::common::{open_project, runtime};
use crate::ir;
use crate::runtime::connect::{ConnectArgs, Retry};
use crate::runtime::replay::{self, Outcome, Verdict};
use crate::runtime::versions::{self, VersionStore};
use crate::runtime::worker::ProgramChoice;

/// Exit code when a history does not replay (nondeterminism or a failed workflow task).
pub const EXIT_NONDETERMINISM: u8 = 1;
/// Exit code when histories or the project cannot be read.
pub const EXIT_INPUT: u8 = 2;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// History JSON (`temporal workflow show --output json`, or a GetWorkflowExecutionHistory
    /// response); a directory replays every `*.json` in it. Repeatable.
    #[arg(long, value_name = "FILE|DIR")]
    pub history: Vec<PathBuf>,
    /// Fetch the history of this workflow from the server instead.
    #[arg(long, value_name = "ID", conflicts_with = "history")]
    pub workflow_id: Option<String>,
    /// The run of --workflow-id [default: the latest].
    #[arg(long, value_name = "RUN", requires = "workflow_id")]
    pub run_id: Option<String>,
    /// Project directory holding stave.yaml [default: found from the current directory].
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Versions store [default: PROJECT/.stave/versions].
    #[arg(long, value_name = "DIR")]
    pub versions_dir: Option<PathBuf>,
    /// Replay every run against the current definition of its type, ignoring its pinned
    /// version: shows whether an edit would break runs if they were not pinned.
    #[arg(long)]
    pub current: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

pub fn run(args: Args) -> ExitCode {
    let Some(runtime) = runtime(tokio::runtime::Builder::new_multi_thread()) else {
        return ExitCode::from(EXIT_INPUT);
    };
    match runtime.block_on(replay_all(&args)) {
        Ok(outcomes) => report(&outcomes, args.json),
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_INPUT)
        }
    }
}

async fn replay_all(args: &Args) -> Result<Vec<Outcome>, String> {
    if args.history.is_empty() && args.workflow_id.is_none() {
        return Err("give --history FILE (or a directory) or --workflow-id ID".into());
    }
    let (dir, bundle) = open_project(args.project.as_deref())?;
    let mut histories = Vec::new();
    for path in &args.history {
        for file in history_files(path)? {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            histories.push(
                replay::parse_history(&file.display().to_string(), &text)
                    .map_err(|e| e.to_string())?,
            );
        }
    }
    if let Some(id) = &args.workflow_id {
        let connected = args
            .connect
            .connect(Some(bundle.project.namespace.as_str()), "", Retry::Once)
            .await
            .map_err(|e| e.to_string())?;
        histories.push(
            replay::fetch_history(&connected, id, args.run_id.as_deref())
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    let store = Arc::new(VersionStore::new(
        args.versions_dir
            .clone()
            .unwrap_or_else(|| dir.join(versions::DEFAULT_DIR)),
    ));
    let current: Vec<Arc<ir::Workflow>> = bundle.workflows.into_iter().map(Arc::new).collect();
    let choice = if args.current {
        ProgramChoice::Current
    } else {
        ProgramChoice::Pinned
    };
    replay::replay(histories, current, store, choice)
        .await
        .map_err(|e| e.to_string())
}

fn history_files(path: &Path) -> Result<Vec<PathBuf>, String> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries =
        std::fs::read_dir(path).map_err(|e| format!("cannot list {}: {e}", path.display()))?;
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("no *.json history in {}", path.display()));
    }
    Ok(files)
}

fn report(outcomes: &[Outcome], as_json: bool) -> ExitCode {
    let failed = outcomes
        .iter()
        .filter(|o| matches!(o.verdict, Verdict::Failed(_)))
        .count();
    if as_json {
        let items: Vec<_> = outcomes
            .iter()
            .map(|o| {
                json!({
                    "source": o.source_name, "workflow_id": o.workflow_id, "run_id": o.run_id,
                    "workflow_type": o.workflow_type, "version": o.version,
                    "ok": o.verdict == Verdict::Replayed,
                    "error": match &o.verdict { Verdict::Failed(m) => Some(m.as_str()), Verdict::Replayed => None },
                })
            })
            .collect();
        let summary =
            json!({"replayed": outcomes.len() - failed, "failed": failed, "histories": items});
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).unwrap_or_default()
        );
    } else {
        for o in outcomes {
            let version = o
                .version
                .as_deref()
                .map(|v| format!(", version {}", &v[..v.len().min(12)]))
                .unwrap_or_default();
            match &o.verdict {
                Verdict::Replayed => println!(
                    "ok    {}  {} (workflow id {}{version})",
                    o.source_name, o.workflow_type, o.workflow_id
                ),
                Verdict::Failed(message) => println!(
                    "FAIL  {}  {} (workflow id {}{version})\n      {}",
                    o.source_name,
                    o.workflow_type,
                    o.workflow_id,
                    message.replace('\n', "\n      ")
                ),
            }
        }
        println!("{} replayed, {failed} failed", outcomes.len() - failed);
    }
    if failed > 0 {
        ExitCode::from(EXIT_NONDETERMINISM)
    } else {
        ExitCode::SUCCESS
    }
}
