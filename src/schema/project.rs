//! The keys of the project file `stave.yaml` and of its queues.

use super::TEMPORAL_NAME_PATTERN;
use super::shapes::*;
use super::workflow::options_object;
use crate::syntax::yaml::keys::QUEUE_KEYS;
use serde_json::{Value as Json, json};

pub(super) fn project_field(key: &str) -> Json {
    match key {
        "namespace" => string(
            "The Temporal namespace; default `default`.",
            json!(["default", "project-ai"]),
        ),
        "activities" => string(
            "Path of the activity manifest (names, input/output schemas, errors), relative to stave.yaml.",
            json!(["activities.json"]),
        ),
        "queues" => named_values(
            "The project queues: a logical name → its Temporal task queue and worker limits.",
            Some(TEMPORAL_NAME_PATTERN),
            {
                let mut queue = object(QUEUE_KEYS, queue_field, &[]);
                queue["description"] = json!("A queue: its Temporal task queue and worker limits.");
                queue["examples"] = json!([{"task_queue": "project-ai-standard", "max_concurrent_workflow_tasks": 50}]);
                queue
            },
            json!([{"standard": {"task_queue": "project-ai-standard"}}]),
        ),
        "default_queue" => temporal_name(
            "The queue of workflows that name none; default `standard` if declared, else the first queue.",
            json!(["standard"]),
        ),
        "defaults" => {
            let mut schema = options_object(
                "Activity options for every workflow of the project (a file's `defaults:` wins).",
            );
            schema["examples"] = json!([{"retry": {"max_attempts": 3, "initial_interval": "1s"}}]);
            schema
        }
        "workflows" => doc(
            json!({"anyOf": [{"type": "string"}, {"type": ["array", "null"], "items": {"type": "string"}}]}),
            "Directories (or files) holding the workflow files; default: the project directory.",
            json!([["workflows"], "workflows"]),
        ),
        _ => json!({}),
    }
}

fn queue_field(key: &str) -> Json {
    match key {
        "task_queue" => string("The Temporal task queue.", json!(["project-ai-standard"])),
        "max_concurrent_workflow_tasks" => doc(
            json!({"type": "integer"}),
            "Workflow tasks a worker runs at once.",
            json!([50]),
        ),
        "max_concurrent_activities" => doc(
            json!({"type": "integer"}),
            "Activities a worker runs at once.",
            json!([25]),
        ),
        "max_workers" => doc(
            json!({"type": "integer"}),
            "Worker replicas (used by deployment manifests).",
            json!([3]),
        ),
        "rate_limit" => doc(
            json!({"type": "number"}),
            "Activities per second for the whole task queue.",
            json!([50]),
        ),
        _ => json!({}),
    }
}
