//! A team's own worker: the whole `stave` CLI with Project-AI's activities (filled in below).

fn main() -> std::process::ExitCode {
    stave::cli::main_with(stave::cli::Context {
        activities: stave::runtime::activity::Registry::with_builtins(),
    })
}
