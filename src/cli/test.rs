//! `stave test [PATHS]`: run a project's test files in the simulator (virtual time, mocked
//! activities) — or on Temporal with `--server ADDRESS` / `--dev` — exit 0 when every case
//! passes, 1 when one fails or coverage is too low, 2 on bad input (a broken test file or
//! project, a missing test server), like `stave lint`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::check;
use crate::diagnostics::render::{self, Style};
use crate::runtime::connect::{ConnectArgs, Retry};
use crate::runtime::replay;
use crate::testing::{self, report, run, server};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Junit,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Test files or directories (default: every `*.test.yaml` under the project's workflows).
    pub paths: Vec<PathBuf>,
    /// The project directory (default: the one around the current directory).
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Report format on stdout.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Also write the report to this file (e.g. JUnit XML for CI) in `--format`; with
    /// `--record`, the file the recorded test case is written to.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Show coverage: steps and branches of each workflow file that no case reached.
    #[arg(long)]
    pub coverage: bool,
    /// Fail (exit 1) when a tested workflow file's coverage is below N percent.
    #[arg(long, value_name = "N", conflicts_with_all = ["server", "dev"])]
    pub min_coverage: Option<f64>,
    /// Instead of running tests: write a test case replaying the finished run with this
    /// workflow id (its latest run, or `--run-id`), fetched from the server.
    #[arg(long, value_name = "WORKFLOW_ID", conflicts_with = "record_history")]
    pub record: Option<String>,
    /// The run to record (with `--record`).
    #[arg(long, value_name = "RUN_ID", requires = "record")]
    pub run_id: Option<String>,
    /// Instead of running tests: write a test case replaying this history file
    /// (`temporal workflow show --output json`, or `stave replay`'s input).
    #[arg(long, value_name = "FILE")]
    pub record_history: Option<PathBuf>,
    /// Name of the recorded case.
    #[arg(long, value_name = "TEXT", default_value = "recorded run")]
    pub name: String,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Run the cases on this Temporal server (HOST:PORT, e.g. `temporal server start-dev`)
    /// in real time: the project's workflows on a worker whose activities answer from the
    /// mocks. The TLS, API-key, namespace and profile flags apply.
    #[arg(long, value_name = "ADDRESS", conflicts_with = "dev")]
    pub server: Option<String>,
    /// Run the cases on Temporal's time-skipping test server, started here and stopped at
    /// the end (`temporal-test-server` on PATH, or $TEMPORAL_TEST_SERVER): long waits pass
    /// in seconds.
    #[arg(long)]
    pub dev: bool,
}

pub fn run(args: Args) -> ExitCode {
    let dir = match super::common::project_dir(args.project.as_deref()) {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if args.record.is_some() || args.record_history.is_some() {
        return record(&args);
    }
    let mut project = check::load_project(&dir);
    let style = Style {
        color: std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        width: 100,
    };
    let project_errors = project.has_errors();
    if project_errors {
        for d in project.diagnostics.iter().filter(|d| d.is_error()) {
            eprint!("{}", render::render_human(&project.sources, d, style));
        }
        if project.partial.is_none() {
            eprintln!(
                "error: the project in {} has errors (above); fix them first (`stave lint`)",
                dir.display()
            );
            return ExitCode::from(2);
        }
    }
    let paths = match testing::discover(&project, &args.paths) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if paths.is_empty() {
        eprintln!(
            "error: no test files (`*{}`) in {}\nhelp: write one (docs/testing.md describes the format), or record one from a finished run with `stave test --record WORKFLOW_ID -o FILE`",
            check::TEST_FILE_SUFFIX,
            dir.display()
        );
        return ExitCode::from(2);
    }
    let suite = testing::load(&mut project, &paths);
    for d in &suite.diagnostics {
        eprint!("{}", render::render_human(&project.sources, d, style));
    }
    if suite.has_errors() || project_errors {
        let errors = suite.diagnostics.iter().filter(|d| d.is_error()).count();
        eprintln!(
            "failed: {errors} error{} in the test files; nothing ran",
            if errors == 1 { "" } else { "s" }
        );
        return ExitCode::from(2);
    }
    let target = if args.dev {
        match server::find_executable() {
            Ok(exe) => Some(server::Target::TestServer(exe)),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        args.server.clone().map(|address| {
            server::Target::Server(ConnectArgs {
                address: Some(address),
                ..args.connect.clone()
            })
        })
    };
    let report = match &target {
        None => run::simulate(&project, &suite),
        Some(target) => match server::run(&project, &suite, target) {
            Ok(run) => run.report,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let text = match args.format {
        Format::Human => report::human(&report, args.coverage || args.min_coverage.is_some()),
        Format::Json => report::json(&report),
        Format::Junit => report::junit(&report),
    };
    print!("{text}");
    if let Some(path) = &args.output
        && let Err(e) = std::fs::write(path, &text)
    {
        eprintln!("error: cannot write {}: {e}", path.display());
        return ExitCode::from(2);
    }
    let mut failed = report.failed() > 0;
    if let Some(min) = args.min_coverage {
        let tested: Vec<&str> = suite
            .files
            .iter()
            .map(|f| f.test.workflow.value.as_str())
            .collect();
        for c in report
            .coverage
            .iter()
            .filter(|c| tested.contains(&c.workflow.as_str()))
        {
            if c.percent() + 1e-9 < min {
                eprintln!(
                    "coverage of {} ({}) is {:.1}%, below --min-coverage {min}",
                    c.source,
                    c.workflow,
                    c.percent()
                );
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `--record` / `--record-history`: the run's history as a test file, on stdout or into
/// `--output` (never over an existing file).
fn record(args: &Args) -> ExitCode {
    let recorded = match (&args.record_history, &args.record) {
        (Some(path), _) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))
            .and_then(|text| {
                replay::parse_history(&path.display().to_string(), &text).map_err(|e| e.to_string())
            }),
        (None, Some(id)) => {
            let Some(runtime) =
                super::common::runtime(tokio::runtime::Builder::new_current_thread())
            else {
                return ExitCode::from(2);
            };
            let namespace = super::common::project_namespace(args.project.as_deref());
            runtime.block_on(async {
                let connected = args
                    .connect
                    .connect(namespace.as_deref(), "", Retry::Once)
                    .await
                    .map_err(|e| e.to_string())?;
                replay::fetch_history(&connected, id, args.run_id.as_deref())
                    .await
                    .map_err(|e| e.to_string())
            })
        }
        (None, None) => Err("nothing to record".into()),
    };
    let text = match recorded.and_then(|r| testing::record::test_file(&r, &args.name)) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match &args.output {
        Some(path) if path.exists() => {
            eprintln!(
                "error: {} exists; record into a new file (then move the case into a test file)",
                path.display()
            );
            ExitCode::from(2)
        }
        Some(path) => match std::fs::write(path, &text) {
            Ok(()) => {
                eprintln!(
                    "wrote {}; `stave test {}` replays the run offline",
                    path.display(),
                    path.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                ExitCode::from(2)
            }
        },
        None => {
            print!("{text}");
            ExitCode::SUCCESS
        }
    }
}
