//! `stave describe ID`: status, times, queue, current steps and the version a run is pinned to.

use super::common::{RunArgs, block_on, finish, print_json, short_version};
use crate::runtime::client::Description;
use serde_json::Value as Json;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Workflow id of the run.
    pub id: String,
    /// A specific run of the workflow id [default: the latest].
    #[arg(long)]
    pub run_id: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

pub fn run(args: Args) -> ExitCode {
    finish(block_on(async {
        let client = args.run.client().await?;
        let description = client.describe(&args.id, args.run_id.as_deref()).await?;
        if args.run.json {
            print_json(&serde_json::to_value(&description).unwrap_or(Json::Null));
        } else {
            print!("{}", render(&description));
        }
        Ok(ExitCode::SUCCESS)
    }))
}

/// The human form: one fact per line, aligned.
pub fn render(d: &Description) -> String {
    let mut out = format!("{} ({})\n", d.workflow_id, d.workflow_type);
    let mut line = |key: &str, value: &str| out.push_str(&format!("  {key:<13} {value}\n"));
    line("status", &d.status);
    line("run id", &d.run_id);
    line("task queue", &d.task_queue);
    line("started", d.start_time.as_deref().unwrap_or("-"));
    if let Some(closed) = &d.close_time {
        line("closed", closed);
    }
    line(
        "version",
        &match &d.version {
            Some(hash) => format!("{} (pinned)", short_version(hash)),
            None => "- (not started by stave: runs the worker's current definition)".to_string(),
        },
    );
    line("history", &format!("{} events", d.history_length));
    if let Some(Json::Object(progress)) = &d.progress {
        for (key, value) in progress {
            let key = key.replace('_', " ");
            line(&key, &compact(value));
        }
    } else if let Some(progress) = &d.progress {
        line("progress", &compact(progress));
    }
    // A run whose workflow keeps its variables to itself says so, rather than nothing.
    if let Some(Json::Object(progress)) = &d.progress
        && !progress.contains_key("vars")
    {
        line(
            "vars",
            "not exposed (the workflow would set `expose_status: true` to show them)",
        );
    }
    for activity in &d.pending_activities {
        let failure = activity
            .last_failure
            .as_deref()
            .map(|f| format!(", last failure: {}", f.lines().next().unwrap_or(f)))
            .unwrap_or_default();
        line(
            "pending",
            &format!(
                "activity {} ({}), attempt {}{failure}",
                activity.activity_type, activity.activity_id, activity.attempt
            ),
        );
    }
    for child in &d.pending_children {
        line("pending", &format!("child workflow {child}"));
    }
    out
}

fn compact(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        Json::Array(items) if items.iter().all(Json::is_string) => items
            .iter()
            .filter_map(Json::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::client::PendingActivity;
    use serde_json::json;

    #[test]
    fn renders_every_fact_of_a_running_pinned_run() {
        let d = Description {
            workflow_id: "order-42".into(),
            run_id: "r-1".into(),
            workflow_type: "order-fulfilment".into(),
            status: "running".into(),
            task_queue: "project-ai-standard".into(),
            start_time: Some("2026-11-26T12:00:00.000Z".into()),
            close_time: None,
            history_length: 14,
            version: Some("9a1b2c3d4e5f60718293a4b5c6d7e8f9@1".into()),
            memo: serde_json::Map::new(),
            pending_activities: vec![PendingActivity {
                activity_id: "3".into(),
                activity_type: "payments.charge".into(),
                attempt: 2,
                last_failure: Some("Timeout: gateway slow".into()),
            }],
            pending_children: vec![],
            progress: Some(json!({"current_steps": ["approval"], "vars": {"approved": false}})),
        };
        assert_eq!(
            render(&d),
            "order-42 (order-fulfilment)
  status        running
  run id        r-1
  task queue    project-ai-standard
  started       2026-11-26T12:00:00.000Z
  version       9a1b2c3d4e5f@1 (pinned)
  history       14 events
  current steps approval
  vars          {\"approved\":false}
  pending       activity payments.charge (3), attempt 2, last failure: Timeout: gateway slow
"
        );
    }

    /// A workflow without `expose_status: true` answers no variables: describe says so.
    #[test]
    fn hidden_variables_are_named_not_omitted() {
        let d = Description {
            workflow_id: "order-42".into(),
            run_id: "r-1".into(),
            workflow_type: "order-fulfilment".into(),
            status: "running".into(),
            task_queue: "q".into(),
            start_time: None,
            close_time: None,
            history_length: 3,
            version: None,
            memo: serde_json::Map::new(),
            pending_activities: vec![],
            pending_children: vec![],
            progress: Some(json!({"state": "running", "current_steps": ["approval"]})),
        };
        let text = render(&d);
        assert!(text.contains("  current steps approval\n"), "{text}");
        assert!(text.contains("  vars          not exposed"), "{text}");
    }
}
