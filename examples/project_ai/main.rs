//! A team's own worker binary: the whole `stave` CLI plus Project-AI's activities (stand-ins).
//!
//! `cargo run --example project-ai -- worker --project .` serves the sample workflows in
//! `workflows/`; `-- worker --export-manifest activities.json` writes their manifest.

mod activities;

fn main() -> std::process::ExitCode {
    let activities = activities::register(stave::runtime::activity::Registry::with_builtins());
    stave::cli::main_with(stave::cli::Context { activities })
}
