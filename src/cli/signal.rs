//! `stave signal ID NAME [--input JSON]`: send a signal to a run.

use super::start::{block_on, connect, finish, parse_json_arg, print_json, project_namespace};
use crate::runtime::connect::ConnectArgs;
use serde_json::json;
use std::path::PathBuf;
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
        let input = parse_json_arg("--input", args.input.as_deref())?;
        let namespace = project_namespace(args.project.as_deref());
        let client = connect(&args.connect, namespace.as_deref()).await?;
        client
            .signal(&args.id, args.run_id.as_deref(), &args.name, input.as_ref())
            .await?;
        if args.json {
            print_json(&json!({"workflow_id": args.id, "signal": args.name, "sent": true}));
        } else {
            println!("sent signal `{}` to {}", args.name, args.id);
        }
        Ok(ExitCode::SUCCESS)
    }))
}
