//! The command line: one file per subcommand, `common.rs` for what several share; `main_with` is
//! the entry point for custom workers.

pub mod cancel;
pub mod codec_server;
mod common;
pub mod compile;
pub mod convert;
pub mod describe;
pub mod dev;
pub mod explain;
pub mod fmt;
pub mod graph;
pub mod health;
pub mod init;
pub mod lint;
pub mod lsp;
pub mod query;
pub mod replay;
pub mod result;
pub mod schedules;
pub mod schema;
pub mod signal;
pub mod start;
pub mod test;
pub mod update;
pub mod worker;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Declarative workflows on Temporal.
#[derive(Debug, Parser)]
#[command(name = "stave", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check workflow files and report every problem with its place and a fix.
    Lint(lint::Args),
    /// Serve editors: diagnostics as you type, hover, completion, definitions, rename (LSP, stdio).
    Lsp(lsp::Args),
    /// Compile one workflow file to its IR (JSON on stdout).
    Compile(compile::Args),
    /// Explain a diagnostic code (what, why, example, fix).
    Explain(explain::Args),
    /// Start a run of a workflow (input checked against its schema; the run is pinned).
    Start(start::Args),
    /// Send a signal to a run.
    Signal(signal::Args),
    /// Send an update to a run and print its result (exit 4 when the workflow rejects it).
    Update(update::Args),
    /// Ask a run a query and print the answer.
    Query(query::Args),
    /// Wait for a run to finish and print its result or failure.
    Result(result::Args),
    /// Show a run's status, current steps and pinned version.
    Describe(describe::Args),
    /// Request cancellation of a run (its compensations run).
    Cancel(cancel::Args),
    /// Convert a workflow file between the YAML form and the text form.
    Convert(convert::Args),
    /// Rewrite `.stave` files in the canonical layout (`--check`: only report, for CI).
    Fmt(fmt::Args),
    /// Serve the project's workflows and this binary's activities until SIGINT/SIGTERM.
    Worker(worker::Args),
    /// Replay recorded histories against the definitions; exit 1 on nondeterminism (for CI).
    Replay(replay::Args),
    /// Run a local Temporal dev server and the project's worker; print the Web UI address.
    Dev(dev::Args),
    /// Check that the Temporal server answers (exit 0 healthy, 1 unhealthy).
    Health(health::Args),
    /// Sync the workflow files' `schedules:` to Temporal Schedules, or list them.
    Schedules(schedules::Args),
    /// Draw a workflow's control flow as Mermaid or DOT (`--inject README.md`: keep it current).
    Graph(graph::Args),
    /// Print the JSON Schema of workflow files (`--project`: of stave.yaml) for editors.
    Schema(schema::Args),
    /// Scaffold a project: stave.yaml, an example workflow in both forms, activities.json.
    Init(init::Args),
    /// Serve the Temporal Web UI's codec endpoint: decrypt (and encrypt) the project's payloads.
    CodecServer(codec_server::Args),
    /// Run the project's test files (`*.test.yaml`) offline: mocked activities, virtual time.
    Test(test::Args),
}

/// What a binary brings to the CLI: custom workers pass their own activities.
#[derive(Default)]
pub struct Context {
    /// Activities `stave worker` serves (the stock binary: the built-ins).
    pub activities: crate::runtime::activity::Registry,
}

/// Runs the stock `stave` binary.
pub fn main() -> ExitCode {
    main_with(Context {
        activities: crate::runtime::activity::Registry::with_builtins(),
    })
}

/// Runs the CLI with the given context (a custom worker's activities).
pub fn main_with(context: Context) -> ExitCode {
    match parse_args::<Cli>() {
        Ok(cli) => run(cli, context),
        Err(code) => code,
    }
}

/// The command line parsed, or the exit code after clap printed help (0) or an error (2).
fn parse_args<T: clap::Parser>() -> Result<T, ExitCode> {
    T::try_parse().map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        }
    })
}

/// A worker binary that is only a worker: the arguments of `stave worker`, nothing else of
/// the CLI linked in (no lint, LSP, graph, test runner, schema or client commands), so its
/// resident code — most of a worker's memory — is what serving needs. For a team's own
/// worker image; `main_with` gives the whole CLI around the same activities.
pub fn worker_main_with(context: Context) -> ExitCode {
    #[derive(clap::Parser)]
    #[command(about = "Serves the project's workflows and activities on Temporal (`stave worker`)")]
    struct WorkerOnly {
        #[command(flatten)]
        args: worker::Args,
    }
    let parsed = match parse_args::<WorkerOnly>() {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    if let Err(e) = common::install_codec(parsed.args.project.as_deref()) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    worker::run(parsed.args, context.activities)
}

impl Command {
    /// For the commands that exchange payloads with Temporal, the project whose codec
    /// (`encryption:`) they use: `Some(explicit --project, if any)`.
    fn codec_project(&self) -> Option<Option<&std::path::Path>> {
        let project = match self {
            Command::Start(a) => &a.project,
            Command::Signal(a) => &a.run.project,
            Command::Query(a) => &a.run.project,
            Command::Update(a) => &a.run.project,
            Command::Result(a) => &a.run.project,
            Command::Describe(a) => &a.run.project,
            Command::Cancel(a) => &a.run.project,
            Command::Worker(a) => &a.project,
            Command::Replay(a) => &a.project,
            Command::Dev(a) => &a.project,
            Command::CodecServer(a) => &a.project,
            Command::Schedules(schedules::Args {
                command: schedules::Sub::Sync(a),
            }) => &a.project,
            Command::Schedules(schedules::Args {
                command: schedules::Sub::List(a),
            }) => &a.project,
            _ => return None,
        };
        Some(project.as_deref())
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli, context: Context) -> ExitCode {
    if let Some(project) = cli.command.codec_project()
        && let Err(e) = common::install_codec(project)
    {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    match cli.command {
        Command::Lint(args) => lint::run(args),
        Command::Compile(args) => compile::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Lsp(args) => lsp::run(args),
        Command::Start(args) => start::run(args),
        Command::Signal(args) => signal::run(args),
        Command::Query(args) => query::run(args),
        Command::Update(args) => update::run(args),
        Command::Result(args) => result::run(args),
        Command::Describe(args) => describe::run(args),
        Command::Cancel(args) => cancel::run(args),
        Command::Convert(args) => convert::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Worker(args) => worker::run(args, context.activities),
        Command::Replay(args) => replay::run(args),
        Command::Dev(args) => dev::run(args, context.activities),
        Command::Health(args) => health::run(args),
        Command::Schedules(args) => schedules::run(args),
        Command::Graph(args) => graph::run(args),
        Command::Schema(args) => schema::run(args),
        Command::Init(args) => init::run(args),
        Command::Test(args) => test::run(args),
        Command::CodecServer(args) => codec_server::run(args),
    }
}
