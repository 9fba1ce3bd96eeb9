//! What several commands share: the client commands' flags and errors, finding and loading the
//! project, connecting, the async runtime, and writing output.

use crate::check;
use crate::diagnostics::did_you_mean;
use crate::diagnostics::render::{self, Style};
use crate::ir;
use crate::runtime::client::{Client, ClientError, Finished, Outcome};
use crate::runtime::connect::{ConnectArgs, ConnectError, Retry};
use crate::runtime::versions::Pin;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use thiserror::Error;

/// Exit code when the run itself did not complete (failed, canceled, terminated, timed out).
pub(super) const EXIT_RUN_FAILED: u8 = 3;

/// Exit code when the workflow rejected an update (`stave update`): its validator said no,
/// or its handler failed.
pub(super) const EXIT_UPDATE_REJECTED: u8 = 4;

/// The options of the commands that address one run by id (`signal`, `query`, `result`,
/// `describe`, `cancel`): the project whose namespace they use, the output form, and the server.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Project directory, for its namespace [default: found from the current directory].
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

impl RunArgs {
    /// Connects to the server, in the project's namespace unless a flag, env or profile names one.
    pub(super) async fn client(&self) -> Result<Client, CommandError> {
        let namespace = project_namespace(self.project.as_deref());
        connect(&self.connect, namespace.as_deref()).await
    }
}

/// What the client commands report instead of panicking; [`finish`] prints it.
#[derive(Debug, Error)]
pub(crate) enum CommandError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The workflow's `priority:` does not evaluate over this input.
    #[error("{0}")]
    Priority(String),
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
        /// `; did you mean …?`, or the list of known workflows.
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

/// Parses a duration flag (`30s`, `5m`) the way workflow files write durations.
pub(super) fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::syntax::duration::parse(text)
}

/// Parses a JSON argument: text, `@FILE`, or `@-` for stdin.
pub(super) fn parse_json_arg(what: &str, arg: Option<&str>) -> Result<Option<Json>, CommandError> {
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

/// The project directory: `--project` if it holds stave.yaml, else the nearest directory up
/// from the current one that does; `Err` holds where it looked.
fn locate_project(explicit: Option<&Path>) -> Result<PathBuf, PathBuf> {
    if let Some(dir) = explicit {
        if !dir.join(check::PROJECT_FILE).is_file() {
            return Err(dir.to_path_buf());
        }
        return Ok(dir.to_path_buf());
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    check::find_project_dir(&cwd).ok_or(cwd)
}

/// The project directory: `--project`, else the nearest directory with stave.yaml.
pub(super) fn project_dir(explicit: Option<&Path>) -> Result<PathBuf, CommandError> {
    locate_project(explicit).map_err(CommandError::NoProject)
}

/// Loads and checks the project in `dir`; `None` after printing its error diagnostics.
fn checked_bundle(dir: &Path) -> Option<ir::Bundle> {
    let load = check::load_project(dir);
    match load.bundle {
        Some(bundle) if !load.has_errors() => Some(bundle),
        _ => {
            print_errors(&load);
            None
        }
    }
}

pub(super) fn print_errors(load: &check::ProjectLoad) {
    let style = Style {
        color: false,
        ..Style::default()
    };
    for d in load.diagnostics.iter().filter(|d| d.is_error()) {
        eprint!("{}", render::render_human(&load.sources, d, style));
    }
}

/// Loads and checks the project; prints its error diagnostics when it has any.
pub(super) fn load_bundle(explicit: Option<&Path>) -> Result<ir::Bundle, CommandError> {
    let dir = project_dir(explicit)?;
    checked_bundle(&dir).ok_or(CommandError::ProjectErrors(dir))
}

/// The checked workflow `name` for `stave start`: another workflow file's errors are printed
/// but do not stop it (as the worker serves the valid files); its own errors do.
pub(super) fn load_workflow_to_start(
    explicit: Option<&Path>,
    name: &str,
) -> Result<ir::Bundle, CommandError> {
    let dir = project_dir(explicit)?;
    let served = open_project_to_serve(Some(&dir), false)
        .map_err(|_| CommandError::ProjectErrors(dir.clone()))?;
    let broken = !served.refused.is_empty();
    if broken && !served.bundle.workflows.iter().any(|w| w.name == name) {
        return Err(CommandError::ProjectErrors(dir));
    }
    if broken {
        eprintln!(
            "stave start: {} other workflow file(s) have errors (above); starting `{name}`, which has none",
            served.refused.len()
        );
    }
    Ok(served.bundle)
}

/// The directory and checked bundle of the project `stave worker` serves or `stave replay`
/// replays against; the error says how to point at the project.
pub(super) fn open_project(explicit: Option<&Path>) -> Result<(PathBuf, ir::Bundle), String> {
    let dir = located(explicit)?;
    let bundle = checked_bundle(&dir).ok_or_else(|| project_errors(&dir))?;
    Ok((dir, bundle))
}

/// What `stave worker` serves.
pub(super) struct Served {
    pub dir: PathBuf,
    pub bundle: ir::Bundle,
    /// Workflow files refused for their errors, with the number of errors each.
    pub refused: Vec<(PathBuf, usize)>,
}

/// What `stave worker` serves: the whole project, or — unless `strict` — the workflow files
/// without errors when the errors lie only in some workflow files (their diagnostics are
/// printed).
pub(super) fn open_project_to_serve(
    explicit: Option<&Path>,
    strict: bool,
) -> Result<Served, String> {
    let dir = located(explicit)?;
    let load = check::load_project(&dir);
    if let Some(bundle) = load.bundle.clone().filter(|_| !load.has_errors()) {
        return Ok(Served {
            dir,
            bundle,
            refused: Vec::new(),
        });
    }
    print_errors(&load);
    match load.partial {
        Some(partial) if !strict => Ok(Served {
            dir,
            bundle: partial.bundle,
            refused: partial.refused,
        }),
        _ => Err(project_errors(&dir)),
    }
}

fn located(explicit: Option<&Path>) -> Result<PathBuf, String> {
    locate_project(explicit).map_err(|looked| match explicit {
        Some(_) => format!(
            "no {} in {}; pass --project DIR pointing at the project",
            check::PROJECT_FILE,
            looked.display()
        ),
        None => format!(
            "no {} in {} or any parent; run inside a project or pass --project DIR",
            check::PROJECT_FILE,
            looked.display()
        ),
    })
}

fn project_errors(dir: &Path) -> String {
    format!(
        "the project in {} has errors (above); fix them, `stave lint` shows them too",
        dir.display()
    )
}

/// The namespace of the project around the current directory (or `--project`), if any:
/// commands that address a run by id use it when no flag, env or profile names one.
pub(super) fn project_namespace(explicit: Option<&Path>) -> Option<String> {
    let dir = project_dir(explicit).ok()?;
    let mut sources = crate::diagnostics::Sources::default();
    let mut diagnostics = Vec::new();
    let context = check::load_project_context(&dir, &mut sources, &mut diagnostics);
    Some(context.settings.namespace)
}

/// Installs the payload codec of the project at `explicit` (or around the current
/// directory) when its stave.yaml has `encryption:`, so every payload this process writes is
/// encrypted and every one it reads decrypted. No project, or none with `encryption:`: no
/// codec. `Err` names the key that could not be read and where it was looked for.
pub(super) fn install_codec(explicit: Option<&Path>) -> Result<(), String> {
    let Ok(dir) = project_dir(explicit) else {
        return Ok(());
    };
    let mut sources = crate::diagnostics::Sources::default();
    let mut diagnostics = Vec::new();
    let context = check::load_project_context(&dir, &mut sources, &mut diagnostics);
    let Some(encryption) = &context.settings.encryption else {
        return Ok(());
    };
    let secrets = crate::runtime::secrets::Secrets::from_settings(&context.settings.secrets);
    let codec = crate::runtime::codec::Codec::from_settings(encryption, &secrets).map_err(|e| {
        format!(
            "{e}; payloads of the project in {} are encrypted (`encryption:` in stave.yaml)",
            dir.display()
        )
    })?;
    // A process installs one codec; a second install (the same project) changes nothing.
    let _ = crate::runtime::payload::install(codec);
    Ok(())
}

/// The project's workflow called `name`; the error suggests the nearest name or lists them.
pub(super) fn find_workflow<'a>(
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

/// Connects once (interactive commands report an unreachable server at once).
pub(super) async fn connect(
    args: &ConnectArgs,
    project_namespace: Option<&str>,
) -> Result<Client, CommandError> {
    let connected = args.connect(project_namespace, "", Retry::Once).await?;
    Ok(Client::new(connected))
}

/// Runs a command's future on a fresh runtime.
pub(super) fn block_on<T>(
    future: impl std::future::Future<Output = Result<T, CommandError>>,
) -> Result<T, CommandError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CommandError::Runtime)?
        .block_on(future)
}

/// The async runtime of a command that builds its own; `None` after saying why it could not
/// start (out of threads or file descriptors).
pub(super) fn runtime(mut builder: tokio::runtime::Builder) -> Option<tokio::runtime::Runtime> {
    match builder.enable_all().build() {
        Ok(runtime) => Some(runtime),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            None
        }
    }
}

/// Prints an error the way every command does and maps the outcome to an exit code.
pub(super) fn finish(result: Result<ExitCode, CommandError>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Pretty JSON on stdout.
pub(super) fn print_json(value: &Json) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

/// Writes `text` to `--output FILE`, or to stdout without one; exit 1 if the file cannot be
/// written.
pub(super) fn write_output(output: Option<&Path>, text: &str) -> ExitCode {
    match output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, text) {
                eprintln!("error: cannot write `{}`: {e}", path.display());
                return ExitCode::from(1);
            }
        }
        None => print!("{text}"),
    }
    ExitCode::SUCCESS
}

/// Prints how a run ended and returns the exit code: 0 completed, 3 otherwise.
pub(super) fn report_finished(
    finished: &Finished,
    as_json: bool,
    elapsed: Option<Duration>,
) -> ExitCode {
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

/// A pin (`HASH@SEMANTICS`) shortened to 12 hex digits: enough to tell versions apart.
pub(super) fn short_version(version: &str) -> String {
    match Pin::parse(version) {
        Some(pin) => format!("{}@{}", pin.short(), pin.semantics),
        None => version.to_string(),
    }
}

/// The workflows of one file that a command works on: the one `--workflow NAME` names, else
/// all of them. Err says what the file defines.
pub fn choose_workflows(
    path: &Path,
    workflows: Vec<ir::Workflow>,
    name: Option<&str>,
) -> Result<Vec<ir::Workflow>, String> {
    let Some(name) = name else {
        return Ok(workflows);
    };
    let names: Vec<String> = workflows.iter().map(|w| w.name.clone()).collect();
    match workflows.into_iter().find(|w| w.name == name) {
        Some(w) => Ok(vec![w]),
        None => {
            let hint = did_you_mean(name, names.iter().map(String::as_str))
                .map_or(String::new(), |h| format!("; {h}"));
            Err(format!(
                "`{}` defines no workflow `{name}`{hint} (it defines {})",
                path.display(),
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
