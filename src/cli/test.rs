//! `stave test [PATHS]`: run a project's test files in the simulator (virtual time, mocked
//! activities) — or on Temporal with `--server ADDRESS` / `--dev` — exit 0 when every case
//! passes, 1 when one fails or coverage is too low, 2 on bad input (a broken test file or
//! project, a missing test server), like `stave lint`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::check;
use crate::diagnostics::render::{self, Style};
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
    /// Also write the report to this file (e.g. JUnit XML for CI) in `--format`.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Show coverage: steps and branches of each workflow file that no case reached.
    #[arg(long)]
    pub coverage: bool,
    /// Fail (exit 1) when a tested workflow file's coverage is below N percent.
    #[arg(long, value_name = "N", conflicts_with_all = ["server", "dev"])]
    pub min_coverage: Option<f64>,
    /// Run the cases on this Temporal server (HOST:PORT, e.g. `temporal server start-dev`)
    /// in real time: the project's workflows on a worker whose activities answer from the
    /// mocks.
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
            "error: no test files (`*{}`) in {}\nhelp: `stave init --test WORKFLOW` scaffolds one; docs/testing.md describes the format",
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
        args.server.clone().map(server::Target::Address)
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
