//! Structured logs of the worker: text or JSON lines, with workflow, run and step ids on every line about a run.
//!
//! Lines about a run carry `workflow_id`, `run_id` and `step` either as their own fields
//! (the lifecycle lines of [`crate::runtime::metrics::Observer`]) or through the span they are
//! logged in (`run` for workflow activations, `activity` for activity attempts). The JSON form
//! prints the current span's fields under `span`, so a log pipeline can index them.
//!
//! The step of an activity attempt travels in the activity's Temporal header
//! [`STEP_HEADER`], which the interpreter sets when it schedules the activity: the activity
//! worker may be another process and never sees the workflow's state.

use std::collections::HashMap;

use temporalio_common::protos::temporal::api::common::v1::Payload;
use tracing_subscriber::EnvFilter;

use crate::runtime::payload;

/// Temporal header holding the name of the step that scheduled an activity.
pub const STEP_HEADER: &str = "stave-step";

/// Filter used when `RUST_LOG` is not set: Stave at info, core and client at warn.
pub const DEFAULT_FILTER: &str = "info,temporalio_sdk_core=warn,temporalio_client=warn";

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (colours unless `NO_COLOR` is set).
    #[default]
    Text,
    /// One JSON object per line, for log pipelines (Loki, Elasticsearch, Cloud Logging).
    Json,
}

/// Installs the process-wide subscriber; `RUST_LOG` overrides [`DEFAULT_FILTER`]. A second
/// call (tests starting several workers) keeps the first subscriber.
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::env::var_os("NO_COLOR").is_none())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .flatten_event(true)
            .try_init(),
    };
}

/// The headers of an activity scheduled by step `step`.
pub fn step_headers(step: &str) -> HashMap<String, Payload> {
    HashMap::from([(
        STEP_HEADER.to_owned(),
        payload::encode(&serde_json::Value::String(step.to_owned())),
    )])
}

/// The step recorded in an activity's headers; empty when the workflow is not a Stave one
/// (activities scheduled by other SDKs carry no such header).
pub fn step_of(headers: &HashMap<String, Payload>) -> String {
    headers
        .get(STEP_HEADER)
        .and_then(|p| payload::decode(p).ok())
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_header_round_trips() {
        let headers = step_headers("charge");
        assert_eq!(step_of(&headers), "charge");
        assert_eq!(step_of(&HashMap::new()), "");
    }
}
