//! `stave signal ID NAME [--input JSON]`: send a signal to a run.

use super::common::{RunArgs, block_on, finish, parse_json_arg, print_json};
use serde_json::json;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Workflow id of the run.
    pub id: String,
    /// Signal name, as declared under `signals:`.
    pub name: String,
    /// Signal payload: JSON text, or @FILE (@- reads stdin); in handlers it is `signal`.
    #[arg(long, short, value_name = "JSON|@FILE")]
    pub input: Option<String>,
    /// A specific run of the workflow id [default: the latest].
    #[arg(long)]
    pub run_id: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

pub fn run(args: Args) -> ExitCode {
    finish(block_on(async {
        let input = parse_json_arg("--input", args.input.as_deref())?;
        let client = args.run.client().await?;
        client
            .signal(&args.id, args.run_id.as_deref(), &args.name, input.as_ref())
            .await?;
        if args.run.json {
            print_json(&json!({"workflow_id": args.id, "signal": args.name, "sent": true}));
        } else {
            println!("sent signal `{}` to {}", args.name, args.id);
        }
        Ok(ExitCode::SUCCESS)
    }))
}
