//! `stave init [DIR] [--name NAME] [--force]`: scaffold a project that lints clean and runs
//! under `stave dev` straight away.

use crate::init::{self, InitError};
use crate::runtime::activity::Registry;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory of the new project, created if missing [default: the current directory].
    pub dir: Option<PathBuf>,
    /// Project name, the prefix of its Temporal task queues [default: the directory's name].
    #[arg(long)]
    pub name: Option<String>,
    /// Overwrite files that already exist.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: Args) -> ExitCode {
    let dir = args.dir.unwrap_or_else(|| PathBuf::from("."));
    // A bad `--name` is reported before anything, even the directory, is created.
    if let Some(Err(e)) = args.name.as_deref().map(init::check_name) {
        eprintln!("error: {e}\nhelp: pass `--name my-project`");
        return ExitCode::from(1);
    }
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("error: cannot create `{}`: {e}", dir.display());
        return ExitCode::from(1);
    }
    let name = args.name.unwrap_or_else(|| init::default_name(&dir));
    // The example calls the stock binary's built-in activities; their manifest entries come
    // from the registry itself, exactly as `stave worker --export-manifest` writes them.
    let files = init::files(&name, &Registry::with_builtins().manifest());
    match init::write(&dir, &files, args.force) {
        Ok(written) => {
            eprintln!("created project `{name}` in `{}`:", dir.display());
            for path in &written {
                eprintln!("  {}", path.display());
            }
            eprintln!("next:");
            eprintln!("  cd {}", dir.display());
            eprintln!("  stave lint");
            eprintln!("  stave dev        # then, in a second terminal:");
            eprintln!("  stave start hello --input '{{\"name\": \"Ada\"}}' --wait");
            ExitCode::SUCCESS
        }
        Err(e @ InitError::Exists(_)) => {
            eprintln!(
                "error: {e}; nothing written\nhelp: pass `--force` to overwrite them, or choose another directory"
            );
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
