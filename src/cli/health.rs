//! `stave health`: is the Temporal server answering? Also home of `stave worker`'s operations flags.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::runtime::connect::ConnectArgs;
use crate::runtime::health::{self, ServerHealth};
use crate::runtime::http::{OpsSettings, parse_listen_addr};
use crate::runtime::logging::LogFormat;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Project directory; its namespace is checked when no flag, env or profile names one
    /// [default: found from the current directory].
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Print JSON (`healthy`, `namespace`, `address`, `error`, `elapsed_ms`).
    #[arg(long)]
    pub json: bool,
    /// How long the whole check (connect and describe the namespace) may take.
    #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Duration,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Exit 0 when healthy, 1 when not.
pub fn run(args: Args) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let namespace = super::common::project_namespace(args.project.as_deref());
    let report = runtime.block_on(health::check_server(
        &args.connect,
        namespace.as_deref(),
        args.timeout,
    ));
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_else(|_| "{}".to_owned())
        );
    } else {
        println!("{}", render(&report));
    }
    if report.healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// One line for people: `healthy: namespace default at http://…/ (12 ms)`.
pub fn render(report: &ServerHealth) -> String {
    let head = format!(
        "namespace {} at {} ({} ms)",
        report.namespace, report.address, report.elapsed_ms
    );
    match &report.error {
        None => format!("healthy: {head}"),
        Some(error) => format!("unhealthy: {head}\n  error: {error}"),
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::syntax::duration::parse(text)
}

fn positive(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Ok(n),
        _ => Err(format!("`{text}` is not a positive number")),
    }
}

/// Operations flags of `stave worker`: queue pools, metrics, probes, logs. Each also reads a
/// `STAVE_*` variable, which is how the deployment manifests set them.
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
    /// Log lines on stderr as text or JSON (one object per line).
    #[arg(long, env = "STAVE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

impl WorkerOpsArgs {
    /// Where the operations endpoints listen.
    pub fn settings(&self) -> OpsSettings {
        OpsSettings {
            metrics_addr: self.metrics_addr.clone(),
            health_addr: self.health_addr.clone(),
            core_metrics_addr: self.core_metrics_addr.clone(),
            queue_depth_interval: self.queue_depth_interval,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_render_for_people() {
        let mut report = ServerHealth {
            healthy: true,
            namespace: "default".into(),
            address: "http://127.0.0.1:7233/".into(),
            error: None,
            elapsed_ms: 12,
        };
        assert_eq!(
            render(&report),
            "healthy: namespace default at http://127.0.0.1:7233/ (12 ms)"
        );
        report.healthy = false;
        report.error = Some("connection refused".into());
        assert!(render(&report).starts_with("unhealthy: namespace default"));
        assert!(render(&report).ends_with("error: connection refused"));
    }

    #[test]
    fn rates_must_be_positive() {
        assert_eq!(positive("2.5"), Ok(2.5));
        assert!(positive("0").is_err());
        assert!(positive("-1").is_err());
        assert!(positive("fast").is_err());
    }
}
