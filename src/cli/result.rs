//! `stave result ID`: wait for a run to finish; print its result, or its failure and exit 3.

use super::start::{block_on, connect, finish, project_namespace, report_finished};
use crate::runtime::connect::ConnectArgs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Workflow id of the run.
    pub id: String,
    /// A specific run of the workflow id [default: the latest; continue-as-new is followed].
    #[arg(long)]
    pub run_id: Option<String>,
    /// Give up after this many seconds (exit 1; the run goes on) [default: wait forever].
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Project directory, for its namespace [default: found from the current directory].
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Print JSON (`{"workflow_id", "run_id", "status", "result"|"failure"}`).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

pub fn run(args: Args) -> ExitCode {
    finish(block_on(async {
        let namespace = project_namespace(args.project.as_deref());
        let client = connect(&args.connect, namespace.as_deref()).await?;
        let finished = client
            .result(
                &args.id,
                args.run_id.as_deref(),
                args.timeout.map(Duration::from_secs),
            )
            .await?;
        Ok(report_finished(&finished, args.json, None))
    }))
}
