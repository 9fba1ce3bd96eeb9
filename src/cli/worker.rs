//! `stave worker`: serve a project's workflows and the binary's activities until SIGINT/SIGTERM.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use super::common::{open_project_to_serve, parse_duration, runtime};
use crate::check;
use crate::runtime::activity::Registry;
use crate::runtime::connect::{ConnectArgs, Retry};
use crate::runtime::http::{OpsSettings, parse_listen_addr};
use crate::runtime::logging::LogFormat;
use crate::runtime::versions::{self, VersionStore};
use crate::runtime::worker::{self, WorkerOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Project directory holding stave.yaml [default: found from the current directory].
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Serve only this Temporal task queue (one of the project's) [default: every queue].
    #[arg(long, value_name = "QUEUE")]
    pub task_queue: Option<String>,
    /// Where every served version is kept, so runs replay the definition they started with
    /// [default: PROJECT/.stave/versions; commit it like a lock file].
    #[arg(long, value_name = "DIR")]
    pub versions_dir: Option<PathBuf>,
    /// Refuse to start when any workflow file has errors (for CI). By default the worker
    /// serves every valid workflow, reports the broken files in its log, `/readyz`
    /// ("degraded") and `stave_workflow_files_refused`, and runs in flight keep their version.
    #[arg(long, env = "STAVE_STRICT")]
    pub strict: bool,
    /// Write the activity manifest (activities.json) of this binary's activities to FILE
    /// (`-` for stdout) and exit.
    #[arg(long, value_name = "FILE")]
    pub export_manifest: Option<PathBuf>,
    /// Runs kept in memory between workflow tasks; 0 replays every task from history.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub max_cached_workflows: usize,
    /// Time in-flight activities get after SIGINT/SIGTERM before they are cancelled.
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
    /// How long to keep retrying when the server is not reachable at start.
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = parse_duration)]
    pub wait_for_server: Duration,
    #[command(flatten)]
    pub ops: WorkerOpsArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Operations flags of `stave worker`: queue pools, rate, metrics, probes, logs. All but
/// `--queue-depth-interval` also read a `STAVE_*` variable, which is how the deployment
/// manifests set them.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerOpsArgs {
    /// Serve only these project queues (names from stave.yaml, comma-separated), plus the
    /// queues their workflows' activities run on [default: every queue].
    #[arg(
        long,
        env = "STAVE_QUEUES",
        value_delimiter = ',',
        value_name = "QUEUE,..."
    )]
    pub queues: Vec<String>,
    /// Activities per second this worker starts at most on each task queue (stave.yaml's
    /// `rate_limit` is the limit of the whole task queue, across workers).
    #[arg(
        long,
        env = "STAVE_WORKER_ACTIVITIES_PER_SECOND",
        value_name = "N",
        value_parser = positive
    )]
    pub worker_activities_per_second: Option<f64>,
    /// Serve Prometheus metrics at http://HOST:PORT/metrics (and /healthz, /readyz there too);
    /// `:9090` listens on every interface.
    #[arg(long, env = "STAVE_METRICS_ADDR", value_name = "HOST:PORT", value_parser = parse_listen_addr)]
    pub metrics_addr: Option<String>,
    /// Serve Temporal core's own SDK metrics (slots, polls, latencies) at
    /// http://HOST:PORT/metrics, a second endpoint.
    #[arg(long, env = "STAVE_CORE_METRICS_ADDR", value_name = "HOST:PORT", value_parser = parse_listen_addr)]
    pub core_metrics_addr: Option<String>,
    /// Serve the Kubernetes probes /healthz (alive) and /readyz (connected, every queue
    /// polled) at HOST:PORT; may equal --metrics-addr.
    #[arg(long, env = "STAVE_HEALTH_ADDR", value_name = "HOST:PORT", value_parser = parse_listen_addr)]
    pub health_addr: Option<String>,
    /// How often the queue-depth gauge and the connection state are refreshed.
    #[arg(long, default_value = "15s", value_name = "DURATION", value_parser = parse_duration)]
    pub queue_depth_interval: Duration,
    /// A file holding the bearer token `/metrics` and `/readyz` then require (`/healthz`
    /// stays open); the variable STAVE_OPS_TOKEN may hold the token itself instead.
    #[arg(long, env = "STAVE_OPS_TOKEN_FILE", value_name = "FILE")]
    pub ops_token_file: Option<PathBuf>,
    /// Log lines on stderr as text or JSON (one object per line).
    #[arg(long, env = "STAVE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

impl WorkerOpsArgs {
    /// Where the operations endpoints listen, and the token they require.
    pub fn settings(&self) -> Result<OpsSettings, String> {
        Ok(OpsSettings {
            metrics_addr: self.metrics_addr.clone(),
            health_addr: self.health_addr.clone(),
            core_metrics_addr: self.core_metrics_addr.clone(),
            queue_depth_interval: self.queue_depth_interval,
            token: ops_token(
                self.ops_token_file.as_deref(),
                std::env::var("STAVE_OPS_TOKEN").ok(),
            )?,
            ..OpsSettings::default()
        })
    }
}

/// The operations token: the file's content (trimmed), else the variable's; never a flag's
/// value, which `ps` would show. An empty token is an error, not "no token".
fn ops_token(file: Option<&Path>, variable: Option<String>) -> Result<Option<String>, String> {
    let (token, origin) = match (file, variable) {
        (Some(path), _) => (
            std::fs::read_to_string(path).map_err(|e| {
                format!(
                    "cannot read the operations token from {} (--ops-token-file): {e}",
                    path.display()
                )
            })?,
            format!("{} (--ops-token-file)", path.display()),
        ),
        (None, Some(value)) => (value, "STAVE_OPS_TOKEN".to_owned()),
        (None, None) => return Ok(None),
    };
    let token = token.trim().to_owned();
    if token.is_empty() {
        return Err(format!(
            "the operations token in {origin} is empty; put a random token there (`openssl rand -hex 32`) or unset it"
        ));
    }
    Ok(Some(token))
}

/// A rate flag: a finite number above zero.
fn positive(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Ok(n),
        _ => Err(format!("`{text}` is not a positive number")),
    }
}

/// Runs `stave worker` with the activities of `registry`.
pub fn run(args: Args, registry: Registry) -> ExitCode {
    if let Some(path) = &args.export_manifest {
        return export_manifest(&registry, path);
    }
    crate::runtime::logging::init(args.ops.log_format);
    let Some(runtime) = runtime(tokio::runtime::Builder::new_multi_thread()) else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(serve(args, registry)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args, registry: Registry) -> Result<(), String> {
    let served = open_project_to_serve(args.project.as_deref(), args.strict)?;
    let (dir, bundle, refused) = (served.dir, served.bundle, served.refused);
    let mut plans = crate::runtime::pools::select(
        &bundle,
        &registry,
        args.task_queue.as_deref(),
        &args.ops.queues,
    )
    .map_err(|e| e.to_string())?;
    if !refused.is_empty() {
        crate::runtime::pools::resume_refused(
            &mut plans,
            &bundle,
            args.task_queue.as_deref(),
            &args.ops.queues,
        );
    }
    // Endpoints come up before connecting: a busy port fails fast, and /readyz says
    // "connecting" while the server is unreachable.
    let mut ops = crate::runtime::http::Ops::start(&args.ops.settings()?)
        .await
        .map_err(|e| e.to_string())?;
    ops.expect(&plans);
    if !refused.is_empty() {
        let files: Vec<String> = refused
            .iter()
            .map(|(path, errors)| format!("{} ({errors} errors)", path.display()))
            .collect();
        let why = format!(
            "{} workflow file(s) refused: {}",
            refused.len(),
            files.join(", ")
        );
        tracing::error!(
            refused = refused.len(),
            "{why}; serving the rest (--strict refuses to start)"
        );
        eprintln!("stave worker: {why}; serving the rest");
        ops.degraded(refused.len(), &why);
    }
    for endpoint in ops.endpoints() {
        eprintln!("stave worker: serving {endpoint}");
    }
    let project = dir.clone();
    let store = Arc::new(
        VersionStore::new(
            args.versions_dir
                .clone()
                .unwrap_or_else(|| dir.join(versions::DEFAULT_DIR)),
        )
        .with_source(Arc::new(move || {
            let load = check::load_project(&project);
            load.bundle
                .or(load.partial.map(|p| p.bundle))
                .map(|b| b.workflows)
                .unwrap_or_default()
        })),
    );
    let connected = args
        .connect
        .connect(
            Some(bundle.project.namespace.as_str()),
            "",
            Retry::For(args.wait_for_server),
        )
        .await
        .map_err(|e| e.to_string())?;
    ops.connected(&connected);
    let options = WorkerOptions {
        max_cached_workflows: args.max_cached_workflows,
        graceful_shutdown: args.shutdown_grace,
        worker_activities_per_second: args.ops.worker_activities_per_second,
        observer: ops.observer(),
        secrets: crate::runtime::secrets::Secrets::from_settings(&bundle.project.secrets),
        http: crate::runtime::egress::HttpPolicy::new(&bundle.project.http),
        ..WorkerOptions::default()
    };
    let queues: Vec<String> = plans.iter().map(describe_plan).collect();
    let address = connected.address.clone();
    let namespace = connected.namespace.clone();
    let ready = async move {
        eprintln!(
            "stave worker ready: namespace {namespace} at {address}\n  {}\n  press Ctrl-C to stop",
            queues.join("\n  ")
        );
        worker::shutdown_signal().await;
        eprintln!(
            "stave worker: shutting down (finishing in-flight work; a second Ctrl-C exits at once)"
        );
        // An activity that ignores its cancellation would hold the drain forever: a second
        // signal is the operator's way out (the server retries what was in flight).
        tokio::spawn(async {
            worker::shutdown_signal().await;
            eprintln!("stave worker: second signal, exiting without draining");
            std::process::exit(130);
        });
    };
    let summary = worker::run(connected, plans, registry, store, options, ready)
        .await
        .map_err(|e| e.to_string())?;
    eprintln!(
        "stave worker stopped: {} task queue(s) drained",
        summary.task_queues.len()
    );
    Ok(())
}

fn describe_plan(plan: &worker::QueuePlan) -> String {
    let workflows: Vec<&str> = plan.workflows.iter().map(|w| w.name.as_str()).collect();
    format!(
        "task queue {}: workflows [{}]{}{}",
        plan.queue.task_queue,
        workflows.join(", "),
        if plan.resume_pinned {
            " + runs of refused files"
        } else {
            ""
        },
        if plan.activities { " + activities" } else { "" }
    )
}

fn export_manifest(registry: &Registry, path: &Path) -> ExitCode {
    let text = registry.manifest().to_json();
    if path == Path::new("-") {
        print!("{text}");
        return ExitCode::SUCCESS;
    }
    match std::fs::write(path, text) {
        Ok(()) => {
            eprintln!(
                "wrote {} ({} activities)",
                path.display(),
                registry.names().len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ops_token_comes_from_a_file_or_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "abc123\n").unwrap();
        assert_eq!(
            ops_token(Some(&file), Some("env".into())).unwrap(),
            Some("abc123".into())
        );
        assert_eq!(
            ops_token(None, Some("env".into())).unwrap(),
            Some("env".into())
        );
        assert_eq!(ops_token(None, None).unwrap(), None);
        let missing = ops_token(Some(&dir.path().join("nope")), None).unwrap_err();
        assert!(missing.contains("--ops-token-file"), "{missing}");
        std::fs::write(&file, "  \n").unwrap();
        assert!(ops_token(Some(&file), None).unwrap_err().contains("empty"));
    }

    #[test]
    fn rates_must_be_positive() {
        assert_eq!(positive("2.5"), Ok(2.5));
        assert!(positive("0").is_err());
        assert!(positive("-1").is_err());
        assert!(positive("fast").is_err());
    }
}
