//! `stave query ID NAME`: ask a run a query and print the answer.

use super::start::{block_on, connect, finish, parse_json_arg, print_json, project_namespace};
use crate::runtime::connect::ConnectArgs;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Workflow id of the run.
    pub id: String,
    /// Query name, as declared under `queries:` (or `__stave_status`).
    pub name: String,
    /// Query argument: JSON text, or @FILE.
    #[arg(long, short, value_name = "JSON|@FILE")]
    pub input: Option<String>,
    /// A specific run of the workflow id [default: the latest].
    #[arg(long)]
    pub run_id: Option<String>,
    /// How long to wait for a worker to answer, in seconds.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub timeout: u64,
    /// Project directory, for its namespace [default: found from the current directory].
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Print JSON (`{"workflow_id", "query", "result"}`) instead of the bare answer.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

pub fn run(args: Args) -> ExitCode {
    finish(block_on(async {
        let input = parse_json_arg("--input", args.input.as_deref())?;
        let namespace = project_namespace(args.project.as_deref());
        let client = connect(&args.connect, namespace.as_deref()).await?;
        let answer = client
            .query(
                &args.id,
                args.run_id.as_deref(),
                &args.name,
                input.as_ref(),
                Duration::from_secs(args.timeout),
            )
            .await?;
        if args.json {
            print_json(&json!({"workflow_id": args.id, "query": args.name, "result": answer}));
        } else {
            print_json(&answer);
        }
        Ok(ExitCode::SUCCESS)
    }))
}
