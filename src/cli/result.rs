//! `stave result ID`: wait for a run to finish; print its result, or its failure and exit 3.

use super::common::{RunArgs, block_on, finish, report_finished};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Args)]
#[command(mut_arg("json", |json| json.help(r#"Print JSON (`{"workflow_id", "run_id", "status", "result"|"failure"}`)"#)))]
pub struct Args {
    /// Workflow id of the run.
    pub id: String,
    /// A specific run of the workflow id [default: the latest; continue-as-new is followed].
    #[arg(long)]
    pub run_id: Option<String>,
    /// Give up after this many seconds (exit 1; the run goes on) [default: wait forever].
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    #[command(flatten)]
    pub run: RunArgs,
}

pub fn run(args: Args) -> ExitCode {
    finish(block_on(async {
        let client = args.run.client().await?;
        let finished = client
            .result(
                &args.id,
                args.run_id.as_deref(),
                args.timeout.map(Duration::from_secs),
            )
            .await?;
        Ok(report_finished(&finished, args.run.json, None))
    }))
}
