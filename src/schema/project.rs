//! The keys of the project file `stave.yaml` and of its queues.

use super::TEMPORAL_NAME_PATTERN;
use super::shapes::*;
use super::workflow::options_object;
use crate::syntax::yaml::keys::{ENCRYPTION_KEYS, HTTP_KEYS, QUEUE_KEYS, SECRETS_KEYS};
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
        "secrets" => {
            let mut schema = object(SECRETS_KEYS, secrets_field, &[]);
            schema["description"] = json!(
                "Where the activity worker reads the values of `secret('name')`: files under `dir`, then environment variables (docs/security.md)."
            );
            schema["examples"] = json!([{"dir": "/var/run/secrets/stave"}]);
            schema
        }
        "encryption" => {
            let mut schema = object(ENCRYPTION_KEYS, encryption_field, &["key"]);
            schema["description"] = json!(
                "Encrypt every payload Stave writes (AES-256-GCM); keys are secrets holding 32 random bytes, base64."
            );
            schema["examples"] = json!([{"key": "codec/key-2", "decrypt_with": ["codec/key-1"]}]);
            schema
        }
        "http" => {
            let mut schema = object(HTTP_KEYS, http_field, &[]);
            schema["description"] = json!(
                "Where the built-in `http.request` may connect; by default any public host, never a loopback, link-local or private address (docs/security.md)."
            );
            schema["examples"] =
                json!([{"allow_hosts": ["api.example.com", "*.internal.example"]}]);
            schema
        }
        _ => json!({}),
    }
}

fn http_field(key: &str) -> Json {
    match key {
        "allow_hosts" => doc(
            json!({"type": "array", "items": {"type": "string"}}),
            "The only hosts `http.request` may call: names, `*.` patterns for subdomains, or IP addresses. A listed host may resolve to private addresses.",
            json!([["api.example.com", "*.internal.example"]]),
        ),
        "allow_private" => doc(
            json!({"type": "boolean"}),
            "Let every allowed host resolve to loopback, link-local or private addresses (default false).",
            json!([true]),
        ),
        _ => json!({}),
    }
}

fn secrets_field(key: &str) -> Json {
    match key {
        "dir" => string(
            "A directory of secret files: secret `payments/api_key` is `DIR/payments/api_key` (a mounted Kubernetes secret). Relative to stave.yaml.",
            json!(["/var/run/secrets/stave"]),
        ),
        "env_prefix" => string(
            "Environment variables holding secrets start with this; `payments/api_key` is `STAVE_SECRET_PAYMENTS_API_KEY` by default.",
            json!(["STAVE_SECRET_"]),
        ),
        _ => json!({}),
    }
}

fn encryption_field(key: &str) -> Json {
    match key {
        "key" => string(
            "The secret holding the key new payloads are encrypted with; its name is the key id stored with each payload.",
            json!(["codec/key-2"]),
        ),
        "decrypt_with" => doc(
            json!({"type": "array", "items": {"type": "string"}}),
            "Older keys (secret names) payloads are still decrypted with after a rotation.",
            json!([["codec/key-1"]]),
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
