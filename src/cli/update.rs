//! `stave update ID NAME [--input JSON]`: send an update to a run and print its result, or
//! its rejection (exit 4).

use super::common::{EXIT_UPDATE_REJECTED, RunArgs, block_on, finish, parse_json_arg, print_json};
use serde_json::json;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Args)]
#[command(mut_arg("json", |json| json.help(r#"Print JSON (`{"workflow_id", "update", "result"}` or `{…, "rejected"}`) instead of the bare result"#)))]
pub struct Args {
    /// Workflow id of the run.
    pub id: String,
    /// Update name, as declared under `updates:`.
    pub name: String,
    /// Update payload: JSON text, or @FILE (@- reads stdin); in the handler it is `update`.
    #[arg(long, short, value_name = "JSON|@FILE")]
    pub input: Option<String>,
    /// A specific run of the workflow id [default: the latest].
    #[arg(long)]
    pub run_id: Option<String>,
    /// How long to wait for the update to complete, in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,
    #[command(flatten)]
    pub run: RunArgs,
}

pub fn run(args: Args) -> ExitCode {
    finish(block_on(async {
        let input = parse_json_arg("--input", args.input.as_deref())?;
        let client = args.run.client().await?;
        let outcome = client
            .update(
                &args.id,
                args.run_id.as_deref(),
                &args.name,
                input.as_ref(),
                Duration::from_secs(args.timeout),
            )
            .await?;
        match outcome {
            Ok(result) => {
                if args.run.json {
                    print_json(
                        &json!({"workflow_id": args.id, "update": args.name, "result": result}),
                    );
                } else {
                    print_json(&result);
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(message) => {
                if args.run.json {
                    print_json(
                        &json!({"workflow_id": args.id, "update": args.name, "rejected": message}),
                    );
                } else {
                    eprintln!("update `{}` rejected by {}: {message}", args.name, args.id);
                }
                Ok(ExitCode::from(EXIT_UPDATE_REJECTED))
            }
        }
    }))
}
