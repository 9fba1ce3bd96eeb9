//! `stave explain CODE`: prints a diagnostic code's page.

use crate::diagnostics::Code;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The code, e.g. E030 (case-insensitive). Omit it with --list.
    pub code: Option<String>,
    /// List every code with its title.
    #[arg(long)]
    pub list: bool,
    /// Print every page as one Markdown document (docs/codes.md).
    #[arg(long, conflicts_with = "list")]
    pub markdown: bool,
}

pub fn run(args: Args) -> ExitCode {
    if args.markdown {
        print!("{}", crate::diagnostics::codes::markdown());
        return ExitCode::SUCCESS;
    }
    if args.list || args.code.is_none() {
        for code in Code::ALL {
            println!(
                "{code}  {:<7}  {}",
                code.severity().to_string(),
                code.title()
            );
        }
        return ExitCode::SUCCESS;
    }
    let text = args.code.unwrap_or_default();
    match Code::parse(&text) {
        Some(code) => {
            println!(
                "{code}: {} ({})\n\n{}",
                code.title(),
                code.severity(),
                code.page()
            );
            ExitCode::SUCCESS
        }
        None => {
            eprintln!(
                "error: unknown diagnostic code `{text}`\nhelp: `stave explain --list` lists every code"
            );
            ExitCode::from(2)
        }
    }
}
