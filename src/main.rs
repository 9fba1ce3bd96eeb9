//! The `stave` binary: the stock worker and CLI with the built-in activities.

fn main() -> std::process::ExitCode {
    stave::cli::main()
}
