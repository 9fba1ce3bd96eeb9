//! Activity options and retry policies in the YAML form.
//!
//! Shared by activity steps, `compensate`, a file's `defaults:` and the project's `defaults:`.

use super::keys::RETRY_KEYS;
use super::{Cx, Fields};
use crate::syntax::ast::{ActivityOptions, Retry};
use crate::syntax::yaml::node::Node;

impl Cx {
    pub fn options_of(&mut self, f: &Fields<'_>) -> ActivityOptions {
        ActivityOptions {
            queue: f.get("queue").and_then(|n| self.string(n, "`queue`")),
            task_queue: f
                .get("task_queue")
                .and_then(|n| self.string(n, "`task_queue`")),
            timeout: f.get("timeout").and_then(|n| self.duration(n, "`timeout`")),
            schedule_to_close: f
                .get("schedule_to_close")
                .and_then(|n| self.duration(n, "`schedule_to_close`")),
            schedule_to_start: f
                .get("schedule_to_start")
                .and_then(|n| self.duration(n, "`schedule_to_start`")),
            heartbeat: f
                .get("heartbeat")
                .and_then(|n| self.duration(n, "`heartbeat`")),
            retry: f.get("retry").and_then(|n| self.retry(n)),
            summary: f.get("summary").map(|n| self.value(n)),
            priority: f.get("priority").map(|n| self.value(n)),
            span: f.span,
        }
    }

    pub(super) fn retry(&mut self, node: &Node) -> Option<Retry> {
        let f = self.fields(node, "`retry`", RETRY_KEYS)?;
        Some(Retry {
            max_attempts: f
                .get("max_attempts")
                .and_then(|n| self.int(n, "`max_attempts`")),
            initial_interval: f
                .get("initial_interval")
                .and_then(|n| self.duration(n, "`initial_interval`")),
            backoff: f.get("backoff").and_then(|n| self.number(n, "`backoff`")),
            max_interval: f
                .get("max_interval")
                .and_then(|n| self.duration(n, "`max_interval`")),
            non_retryable: f
                .get("non_retryable")
                .map(|n| self.names(n, "`non_retryable`"))
                .unwrap_or_default(),
            span: node.span,
        })
    }
}
