//! `stave lsp`: the language server for editors, over stdio (docs/editor-setup.md).

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Accepted for editors that pass it; stdio is the only transport.
    #[arg(long)]
    pub stdio: bool,
}

pub fn run(_args: Args) -> ExitCode {
    match crate::lsp::run_stdio() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: stave lsp: {e}");
            ExitCode::FAILURE
        }
    }
}
