//! `log`: writes one line through `tracing`, tagged with the workflow that asked for it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value as Json;

use crate::runtime::activity::{ActivityContext, ActivityError, Registry};

/// Input of `log`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogInput {
    /// The line to write.
    pub message: String,
    /// `trace`, `debug`, `info` (default), `warn` or `error`.
    #[serde(default)]
    pub level: Level,
    /// Structured fields written with the line.
    #[serde(default)]
    pub fields: BTreeMap<String, Json>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Trace,
    Debug,
    #[default]
    Info,
    Warn,
    Error,
}

/// Registers `log`.
pub fn register(registry: Registry) -> Registry {
    registry
        .activity("log", |ctx: ActivityContext, input: LogInput| async move {
            write(&ctx, &input);
            Ok::<(), ActivityError>(())
        })
        .description("Writes a log line (message, level, fields) through the worker's logger.")
        // It writes its input to the log: a secret it is given stays a reference.
        .without_secrets()
}

fn write(ctx: &ActivityContext, input: &LogInput) {
    let info = ctx.info();
    let fields = serde_json::to_string(&input.fields).unwrap_or_default();
    let (workflow_id, workflow_type) = (info.workflow_id.as_str(), info.workflow_type.as_str());
    let message = input.message.as_str();
    // `tracing` takes its level as a constant, hence one call per level.
    match input.level {
        Level::Trace => {
            tracing::trace!(target: "stave::log", workflow_id, workflow_type, fields, "{message}")
        }
        Level::Debug => {
            tracing::debug!(target: "stave::log", workflow_id, workflow_type, fields, "{message}")
        }
        Level::Info => {
            tracing::info!(target: "stave::log", workflow_id, workflow_type, fields, "{message}")
        }
        Level::Warn => {
            tracing::warn!(target: "stave::log", workflow_id, workflow_type, fields, "{message}")
        }
        Level::Error => {
            tracing::error!(target: "stave::log", workflow_id, workflow_type, fields, "{message}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::activity::{ActivityInfo, INVALID_INPUT};
    use serde_json::json;

    #[tokio::test]
    async fn logs_and_returns_null() {
        let registry = register(Registry::new());
        let (ctx, _c) = ActivityContext::new(ActivityInfo::default(), |_| {});
        let out = registry
            .run(
                "log",
                ctx,
                json!({"message": "hi", "level": "warn", "fields": {"a": 1}}),
            )
            .await;
        assert_eq!(out, Ok(Json::Null));
    }

    #[tokio::test]
    async fn unknown_level_is_invalid_input() {
        let registry = register(Registry::new());
        let (ctx, _c) = ActivityContext::new(ActivityInfo::default(), |_| {});
        let err = registry
            .run("log", ctx, json!({"message": "hi", "level": "loud"}))
            .await
            .unwrap_err();
        assert_eq!(err.error_type, INVALID_INPUT);
        assert!(err.message.contains("`level`"), "{}", err.message);
    }
}
