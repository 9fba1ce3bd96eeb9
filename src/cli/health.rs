//! `stave health`: is the Temporal server answering?

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use super::common::{parse_duration, project_namespace, runtime};
use crate::runtime::connect::ConnectArgs;
use crate::runtime::health::{self, ServerHealth};

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
    let Some(runtime) = runtime(tokio::runtime::Builder::new_current_thread()) else {
        return ExitCode::FAILURE;
    };
    let namespace = project_namespace(args.project.as_deref());
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
}
