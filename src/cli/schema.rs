//! `stave schema [--project|--test]`: the JSON Schema of workflow files (or of `stave.yaml`,
//! or of test files) for editors.

use super::common::write_output;
use crate::schema;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The schema of the project file `stave.yaml` instead of workflow files.
    #[arg(long, conflicts_with = "test")]
    pub project: bool,
    /// The schema of test files (`*.test.yaml`) instead of workflow files.
    #[arg(long)]
    pub test: bool,
    /// Write to a file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(args: Args) -> ExitCode {
    let schema = if args.project {
        schema::project_schema()
    } else if args.test {
        schema::test_schema()
    } else {
        schema::workflow_schema()
    };
    let text = schema::to_text(&schema);
    write_output(args.output.as_deref(), &text)
}
