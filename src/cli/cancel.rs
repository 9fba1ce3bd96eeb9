//! `stave cancel ID [--reason TEXT]`: request cancellation; the run compensates and stops.

use super::common::{RunArgs, block_on, finish, print_json};
use serde_json::json;
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
    #[command(flatten)]
    pub run: RunArgs,
}

pub fn run(args: Args) -> ExitCode {
    finish(block_on(async {
        let client = args.run.client().await?;
        client
            .cancel(&args.id, args.run_id.as_deref(), &args.reason)
            .await?;
        if args.run.json {
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
