//! Temporal's built-in `__temporal_workflow_metadata` query: the workflow's definition and a run's current details.

use serde_json::{Value as Json, json};

use super::{Run, STATUS_QUERY};
use crate::ir::StepKind;

impl Run {
    /// `temporal.api.sdk.v1.WorkflowMetadata` in protobuf JSON: the queries and signals the
    /// file declares, described from the file (a query by its expression, a signal by what it
    /// sets), and the run's current steps as its details.
    pub(super) fn metadata(&self) -> Json {
        let program = &self.sh.program;
        let queries: Vec<Json> = program
            .queries
            .iter()
            .map(|(name, value)| {
                let description = format!("`{}`", show_value(value));
                json!({"name": name, "description": description})
            })
            .chain(std::iter::once(json!({
                "name": STATUS_QUERY,
                "description": if program.expose_status {
                    "Stave: the run's state, current steps and variables"
                } else {
                    "Stave: the run's state and current steps"
                },
            })))
            .collect();
        let signals: Vec<Json> = program
            .signals
            .iter()
            .map(|s| {
                let names: Vec<&str> = s.set.iter().map(|(n, _)| n.as_str()).collect();
                let description = if names.is_empty() {
                    "wakes the waits for it".to_string()
                } else {
                    format!("sets {}", names.join(", "))
                };
                json!({"name": s.name, "description": description})
            })
            .collect();
        let updates: Vec<Json> = program
            .updates
            .iter()
            .map(|u| {
                let mut parts = Vec::new();
                if let Some(v) = &u.validate {
                    parts.push(format!("accepted when `{}`", show_value(&v.cond)));
                }
                if !u.set.is_empty() {
                    let names: Vec<&str> = u.set.iter().map(|(n, _)| n.as_str()).collect();
                    parts.push(format!("sets {}", names.join(", ")));
                }
                if !u.steps.is_empty() {
                    let mut calls = Vec::new();
                    crate::ir::walk_steps(&u.steps, &mut |step| match &step.kind {
                        StepKind::Activity(call) => calls.push(call.activity.clone()),
                        StepKind::Child(call) => calls.push(format!("workflow {}", call.workflow)),
                        _ => {}
                    });
                    parts.push(if calls.is_empty() {
                        format!("runs {} step(s)", u.steps.len())
                    } else {
                        format!("runs {}", calls.join(", "))
                    });
                }
                if let Some(r) = &u.result {
                    parts.push(format!("returns `{}`", show_value(r)));
                }
                json!({"name": u.name, "description": parts.join("; ")})
            })
            .collect();
        let status = self.status();
        let mut details = String::new();
        if let Some(description) = &program.description {
            details.push_str(description);
            details.push_str("\n\n");
        }
        details.push_str(&format!("**{:?}**", status.state));
        if !status.current_steps.is_empty() {
            details.push_str(&format!(" — at {}", status.current_steps.join(", ")));
        }
        json!({
            "definition": {
                "type": program.name,
                "queryDefinitions": queries,
                "signalDefinitions": signals,
                "updateDefinitions": updates,
            },
            "currentDetails": details,
        })
    }
}

/// A value as the file would write it in an expression (for descriptions).
fn show_value(value: &crate::ir::Value) -> String {
    use crate::expr::TemplatePart;
    use crate::ir::Value;
    match value {
        Value::Literal(v) => v.to_string(),
        Value::Expr(e) => e.to_string(),
        Value::Interp(parts) => parts
            .iter()
            .map(|p| match p {
                TemplatePart::Text(s) => s.clone(),
                TemplatePart::Expr(e) => format!("${{{e}}}"),
            })
            .collect(),
        Value::List(items) => format!(
            "[{}]",
            items.iter().map(show_value).collect::<Vec<_>>().join(", ")
        ),
        Value::Map(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(k, v)| format!("'{k}': {}", show_value(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
