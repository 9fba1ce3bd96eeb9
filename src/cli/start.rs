//! `stave start WORKFLOW --input JSON|@FILE`: check the input, start a pinned run, say where it is.
//!
//! Also home of what the client commands share: the error type, the project lookup, the
//! connection and the async runtime.

use crate::check;
use crate::diagnostics::did_you_mean;
use crate::diagnostics::render::{self, Style};
use crate::ir;
use crate::runtime::client::{
    Client, ClientError, Finished, Outcome, StartOptions, Started, VERSION_MEMO_KEY,
    new_workflow_id, web_ui_link,
};
use crate::runtime::connect::{ConnectArgs, ConnectError, Retry};
use crate::runtime::versions::Pin;
use serde_json::{Value as Json, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use thiserror::Error;

/// Exit code when the run itself did not complete (failed, canceled, terminated, timed out).
pub const EXIT_RUN_FAILED: u8 = 3;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Workflow type: the `workflow:` name of a workflow file in the project.
    pub workflow: String,
    /// Workflow input: JSON text, or @FILE to read it from a file (@- reads stdin).
    #[arg(long, short, value_name = "JSON|@FILE")]
    pub input: Option<String>,
    /// Workflow id [default: WORKFLOW-<12 hex digits>].
    #[arg(long)]
    pub id: Option<String>,
    /// Wait for the run to finish and print its result (exit 3 if it did not complete).
    #[arg(long)]
    pub wait: bool,
    /// Project directory holding stave.yaml [default: found from the current directory].
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Start on this Temporal task queue without a project: for workflows served by other
    /// workers (no input check, no pinning).
    #[arg(long, value_name = "QUEUE")]
    pub task_queue: Option<String>,
    /// Base URL of the Temporal Web UI, for the printed link [default: inferred from the
    /// address for local and Temporal Cloud servers].
    #[arg(long, env = "STAVE_UI_URL", value_name = "URL")]
    pub ui_url: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// What the client commands report instead of panicking.
#[derive(Debug, Error)]
pub enum CommandError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Client(#[from] ClientError),
    /// `stave start x` outside any project.
    #[error(
        "no stave.yaml in `{0}` or its parents; pass --project DIR (or --task-queue QUEUE for a workflow outside the project)"
    )]
    NoProject(PathBuf),
    /// A workflow file of the project does not compile; the diagnostics were printed above.
    #[error(
        "the project in `{0}` has errors (shown above); fix them (see `stave lint`) before starting runs"
    )]
    ProjectErrors(PathBuf),
    /// `stave start order-fulfilmnet`.
    #[error("unknown workflow `{name}` in the project in `{dir}`{hint}")]
    UnknownWorkflow {
        name: String,
        dir: PathBuf,
        /// ` — did you mean …?` or the list of known workflows.
        hint: String,
    },
    /// `--input '{"amount": "ten"}'` against `amount: {type: number}`.
    #[error(
        "invalid input for `{workflow}`:\n{problems}\n  help: the input must match the workflow's `input:` schema"
    )]
    InvalidInput { workflow: String, problems: String },
    /// `--input '{oops'`.
    #[error("{what} is not valid JSON: {error}")]
    BadJson {
        what: String,
        error: serde_json::Error,
    },
    /// `--input @missing.json`.
    #[error("cannot read input file `{path}`: {error}")]
    InputFile {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The tokio runtime could not start (out of threads or file descriptors).
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

pub fn run(args: Args) -> ExitCode {
    finish(block_on(start(args)))
}

async fn start(args: Args) -> Result<ExitCode, CommandError> {
    let input = parse_json_arg("--input", args.input.as_deref())?.unwrap_or(Json::Null);
    let (options, project_namespace, version) = match &args.task_queue {
        Some(queue) => (
            StartOptions {
                workflow_type: args.workflow.clone(),
                workflow_id: String::new(),
                task_queue: queue.clone(),
                input,
                memo: Vec::new(),
                execution_timeout: None,
            },
            None,
            None,
        ),
        None => {
            let bundle = load_bundle(args.project.as_deref())?;
            let workflow = find_workflow(&bundle, &args.workflow, args.project.as_deref())?;
            validate_input(workflow, &input)?;
            (
                start_options(workflow, input),
                Some(bundle.project.namespace.clone()),
                Some(pin_of(workflow)),
            )
        }
    };
    let options = StartOptions {
        workflow_id: args
            .id
            .clone()
            .unwrap_or_else(|| new_workflow_id(&args.workflow)),
        ..options
    };
    let client = connect(&args.connect, project_namespace.as_deref()).await?;
    let started_at = Instant::now();
    let started = client.start(&options).await?;
    let link = web_ui_link(
        args.ui_url.as_deref(),
        client.address(),
        client.namespace(),
        &started,
    );
    if !args.wait {
        if args.json {
            print_json(&json!({
                "workflow_id": started.workflow_id,
                "run_id": started.run_id,
                "workflow_type": options.workflow_type,
                "namespace": client.namespace(),
                "task_queue": options.task_queue,
                "version": version,
                "web_ui": link,
            }));
        } else {
            print_started(&options, &started, version.as_deref(), link.as_deref());
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !args.json {
        print_started(&options, &started, version.as_deref(), link.as_deref());
    }
    let finished = client
        .result(&started.workflow_id, Some(&started.run_id), None)
        .await?;
    Ok(report_finished(
        &finished,
        args.json,
        Some(started_at.elapsed()),
    ))
}

/// The start options of a Stave workflow: its queue, its timeout, and its pin.
pub fn start_options(workflow: &ir::Workflow, input: Json) -> StartOptions {
    StartOptions {
        workflow_type: workflow.name.clone(),
        workflow_id: String::new(),
        task_queue: workflow.task_queue.clone(),
        input,
        memo: vec![(VERSION_MEMO_KEY.to_string(), Json::String(pin_of(workflow)))],
        execution_timeout: workflow.execution_timeout_ms.map(Duration::from_millis),
    }
}

fn print_started(
    options: &StartOptions,
    started: &Started,
    version: Option<&str>,
    link: Option<&str>,
) {
    println!("started {}", options.workflow_type);
    println!("  workflow id  {}", started.workflow_id);
    println!("  run id       {}", started.run_id);
    println!("  task queue   {}", options.task_queue);
    if let Some(version) = version {
        println!("  version      {}", short_version(version));
    }
    if let Some(link) = link {
        println!("  web ui       {link}");
    }
}

/// Prints how a run ended and returns the exit code: 0 completed, 3 otherwise.
pub fn report_finished(finished: &Finished, as_json: bool, elapsed: Option<Duration>) -> ExitCode {
    if as_json {
        print_json(&serde_json::to_value(finished).unwrap_or(Json::Null));
    } else {
        let took = elapsed
            .map(|d| format!(" in {:.1}s", d.as_secs_f64()))
            .unwrap_or_default();
        match &finished.outcome {
            Outcome::Completed { result } => {
                eprintln!("completed {}{took}", finished.workflow_id);
                print_json(result);
            }
            Outcome::Failed { failure } => {
                eprintln!(
                    "workflow `{}` failed{took}: {failure}",
                    finished.workflow_id
                );
                let root = failure.root();
                if !root.details.is_null() {
                    eprintln!("  details: {}", root.details);
                }
            }
            Outcome::Canceled { .. } => {
                eprintln!("workflow `{}` was canceled{took}", finished.workflow_id)
            }
            Outcome::Terminated { reason } => {
                eprintln!(
                    "workflow `{}` was terminated{took}: {reason}",
                    finished.workflow_id
                )
            }
            Outcome::TimedOut => eprintln!(
                "workflow `{}` timed out{took} (its execution timeout passed)",
                finished.workflow_id
            ),
        }
    }
    if finished.outcome.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_RUN_FAILED)
    }
}

/// The version a run of `workflow` is pinned to: `HASH@SEMANTICS`.
pub fn pin_of(workflow: &ir::Workflow) -> String {
    Pin::of(workflow).to_string()
}

/// A pin (`HASH@SEMANTICS`) shortened to 12 hex digits: enough to tell versions apart.
pub fn short_version(version: &str) -> String {
    match Pin::parse(version) {
        Some(pin) => format!("{}@{}", pin.short(), pin.semantics),
        None => version.to_string(),
    }
}

/// Parses a JSON argument: text, `@FILE`, or `@-` for stdin.
pub fn parse_json_arg(what: &str, arg: Option<&str>) -> Result<Option<Json>, CommandError> {
    let Some(arg) = arg else { return Ok(None) };
    let (text, what) = match arg.strip_prefix('@') {
        Some("-") => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|error| {
                CommandError::InputFile {
                    path: PathBuf::from("-"),
                    error,
                }
            })?;
            (text, format!("{what} (stdin)"))
        }
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|error| CommandError::InputFile {
                path: PathBuf::from(path),
                error,
            })?;
            (text, format!("{what} file `{path}`"))
        }
        None => (arg.to_string(), what.to_string()),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|error| CommandError::BadJson { what, error })
}

/// The project directory: `--project`, else the nearest directory with stave.yaml.
pub fn project_dir(explicit: Option<&Path>) -> Result<PathBuf, CommandError> {
    if let Some(dir) = explicit {
        if !dir.join(check::PROJECT_FILE).is_file() {
            return Err(CommandError::NoProject(dir.to_path_buf()));
        }
        return Ok(dir.to_path_buf());
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    check::find_project_dir(&cwd).ok_or(CommandError::NoProject(cwd))
}

/// Loads and checks the project; prints its error diagnostics when it has any.
pub fn load_bundle(explicit: Option<&Path>) -> Result<ir::Bundle, CommandError> {
    let dir = project_dir(explicit)?;
    let load = check::load_project(&dir);
    match load.bundle {
        Some(bundle) if !load.has_errors() => Ok(bundle),
        _ => {
            let style = Style {
                color: false,
                ..Style::default()
            };
            for d in load.diagnostics.iter().filter(|d| d.is_error()) {
                eprint!("{}", render::render_human(&load.sources, d, style));
            }
            Err(CommandError::ProjectErrors(dir))
        }
    }
}

/// The namespace of the project around the current directory (or `--project`), if any:
/// commands that address a run by id use it when no flag, env or profile names one.
pub fn project_namespace(explicit: Option<&Path>) -> Option<String> {
    let dir = project_dir(explicit).ok()?;
    let mut sources = crate::diagnostics::Sources::default();
    let mut diagnostics = Vec::new();
    let context = check::load_project_context(&dir, &mut sources, &mut diagnostics);
    Some(context.settings.namespace)
}

pub fn find_workflow<'a>(
    bundle: &'a ir::Bundle,
    name: &str,
    explicit: Option<&Path>,
) -> Result<&'a ir::Workflow, CommandError> {
    if let Some(workflow) = bundle.workflows.iter().find(|w| w.name == name) {
        return Ok(workflow);
    }
    let names: Vec<&str> = bundle.workflows.iter().map(|w| w.name.as_str()).collect();
    let hint = match did_you_mean(name, names.iter().copied()) {
        Some(hint) => format!("; {hint}"),
        None if names.is_empty() => "; the project has no workflow files".to_string(),
        None => format!("; known workflows: {}", names.join(", ")),
    };
    Err(CommandError::UnknownWorkflow {
        name: name.to_string(),
        dir: explicit
            .map(Path::to_path_buf)
            .or_else(|| project_dir(None).ok())
            .unwrap_or_default(),
        hint,
    })
}

/// Checks the input against the workflow's `input:` schema, listing every problem.
pub fn validate_input(workflow: &ir::Workflow, input: &Json) -> Result<(), CommandError> {
    let Some(schema) = &workflow.input_schema else {
        return Ok(());
    };
    let errors = crate::jsonschema::validate(schema, input, "input");
    if errors.is_empty() {
        return Ok(());
    }
    Err(CommandError::InvalidInput {
        workflow: workflow.name.clone(),
        problems: errors
            .iter()
            .map(|e| format!("  {e}"))
            .collect::<Vec<_>>()
            .join("\n"),
    })
}

/// Connects once (interactive commands report an unreachable server at once).
pub async fn connect(
    args: &ConnectArgs,
    project_namespace: Option<&str>,
) -> Result<Client, CommandError> {
    let connected = args.connect(project_namespace, "", Retry::Once).await?;
    Ok(Client::new(connected))
}

/// Runs a command's future on a fresh runtime.
pub fn block_on<T>(
    future: impl std::future::Future<Output = Result<T, CommandError>>,
) -> Result<T, CommandError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CommandError::Runtime)?
        .block_on(future)
}

/// Prints an error the way every command does and maps the outcome to an exit code.
pub fn finish(result: Result<ExitCode, CommandError>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Pretty JSON on stdout.
pub fn print_json(value: &Json) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_arguments_come_from_text_or_a_file() {
        assert_eq!(
            parse_json_arg("--input", Some(r#"{"a": 1}"#)).unwrap(),
            Some(json!({"a": 1}))
        );
        assert_eq!(parse_json_arg("--input", None).unwrap(), None);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("order.json");
        std::fs::write(&file, "[1, 2]").unwrap();
        let arg = format!("@{}", file.display());
        assert_eq!(
            parse_json_arg("--input", Some(&arg)).unwrap(),
            Some(json!([1, 2]))
        );
    }

    #[test]
    fn bad_json_arguments_name_the_flag_or_the_file() {
        let err = parse_json_arg("--input", Some("{oops"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("--input is not valid JSON: "), "{err}");
        let err = parse_json_arg("--input", Some("@/nonexistent/order.json"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("cannot read input file `/nonexistent/order.json`"),
            "{err}"
        );
    }

    #[test]
    fn versions_are_shortened_for_people() {
        let hash = "c446ee9cd60bfb08123a6975d4560cd6cb545d95187450319a25eca6be7f796b";
        assert_eq!(short_version(&format!("{hash}@1")), "c446ee9cd60b@1");
        assert_eq!(short_version("not-a-pin"), "not-a-pin");
    }

    #[test]
    fn a_missing_project_says_how_to_point_at_one() {
        let dir = tempfile::tempdir().unwrap();
        let err = project_dir(Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("no stave.yaml in"), "{err}");
        assert!(err.contains("--project DIR"), "{err}");
    }
}
