//! `stave schema [--project]`: the JSON Schema of workflow files (or of `stave.yaml`) for editors.

use crate::schema;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The schema of the project file `stave.yaml` instead of workflow files.
    #[arg(long)]
    pub project: bool,
    /// Write to a file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(args: Args) -> ExitCode {
    let schema = if args.project {
        schema::project_schema()
    } else {
        schema::workflow_schema()
    };
    let text = schema::to_text(&schema);
    match &args.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, text) {
                eprintln!("error: cannot write `{}`: {e}", path.display());
                return ExitCode::from(1);
            }
        }
        None => print!("{text}"),
    }
    ExitCode::SUCCESS
}
