//! `stave query ID NAME`: ask a run a query and print the answer.

use super::common::{RunArgs, block_on, finish, parse_json_arg, print_json};
use serde_json::json;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Args)]
#[command(mut_arg("json", |json| json.help(r#"Print JSON (`{"workflow_id", "query", "result"}`) instead of the bare answer"#)))]
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
    #[command(flatten)]
    pub run: RunArgs,
}

pub fn run(args: Args) -> ExitCode {
    finish(block_on(async {
        let input = parse_json_arg("--input", args.input.as_deref())?;
        let client = args.run.client().await?;
        let answer = client
            .query(
                &args.id,
                args.run_id.as_deref(),
                &args.name,
                input.as_ref(),
                Duration::from_secs(args.timeout),
            )
            .await?;
        if args.run.json {
            print_json(&json!({"workflow_id": args.id, "query": args.name, "result": answer}));
        } else {
            print_json(&answer);
        }
        Ok(ExitCode::SUCCESS)
    }))
}
