//! `stave cancel ID [--reason TEXT]`: request cancellation; the run compensates and stops.

use super::start::{block_on, connect, finish, print_json, project_namespace};
use crate::runtime::connect::ConnectArgs;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Workflow id of the run.
    pub id: String,
    /// Why, recorded in the run's history.
    #[arg(long, default_value = "canceled with stave cancel")]
    pub reason: String,
    /// A specific run of the workflow id [default: the latest].
    #[arg(long)]
    pub run_id: Option<String>,
    /// Project directory, for its namespace [default: found from the current directory].
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

pub fn run(args: Args) -> ExitCode {
    finish(block_on(async {
        let namespace = project_namespace(args.project.as_deref());
        let client = connect(&args.connect, namespace.as_deref()).await?;
        client
            .cancel(&args.id, args.run_id.as_deref(), &args.reason)
            .await?;
        if args.json {
            print_json(&json!({"workflow_id": args.id, "cancel_requested": true}));
        } else {
            println!(
                "cancellation requested for {} (see `stave result {}` for how it ends)",
                args.id, args.id
            );
        }
        Ok(ExitCode::SUCCESS)
    }))
}
