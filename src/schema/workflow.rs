//! The schema of a workflow file's top-level keys and the constructs they share.
//!
//! Shared with steps and the project file: activity options, retry policies, assignments,
//! schedules.

use super::shapes::*;
use super::{IDENT_PATTERN, TEMPORAL_NAME_PATTERN};
use crate::syntax::yaml::keys::{OPTION_KEYS, RETRY_KEYS, SCHEDULE_KEYS, UPDATE_KEYS};
use serde_json::{Value as Json, json};

pub(super) fn workflow_field(key: &str) -> Json {
    match key {
        "stave" => doc(
            json!({"type": "integer", "enum": [1]}),
            "The language version; write `stave: 1`.",
            json!([1]),
        ),
        "fragments" => named_values(
            "Fragments: named lists of steps written once; a step `use: NAME` inserts them (each workflow's program is self-contained).",
            Some(TEMPORAL_NAME_PATTERN),
            steps(
                "The fragment's steps.",
                json!([[{"activity": "email.send", "input": {"to": "${ input.email }"}}]]),
            ),
            json!([{"notify": [{"activity": "email.send", "input": {"to": "${ input.email }"}}]}]),
        ),
        "workflows" => doc(
            json!({"type": "array", "items": {"$ref": "#/definitions/workflow"}}),
            "Several workflows in one file (they share `fragments:`); the file then holds only `stave`, `fragments` and `workflows`.",
            json!([[{"workflow": "order-standard", "steps": [{"use": "fulfil"}]}, {"workflow": "order-express", "vars": {"tier": "express"}, "steps": [{"use": "fulfil"}]}]]),
        ),
        "workflow" => temporal_name(
            "The Temporal workflow type; kebab-case for new workflows.",
            json!(["order-fulfilment", "AccountTransferWorkflow"]),
        ),
        "description" => string(
            "What the workflow does, for people.",
            json!(["Charge, reserve stock, ship."]),
        ),
        "queue" => temporal_name(
            "The project queue (from stave.yaml `queues:`) on which the workflow task runs; default: the project's `default_queue`.",
            json!(["standard", "high-priority"]),
        ),
        "timeout" => duration("The workflow execution timeout.", json!(["2h", "30m"])),
        "input" => doc(
            json!({"type": ["object", "boolean"]}),
            "JSON Schema of the workflow input, checked by `stave start` and again by the worker.",
            json!([{"type": "object", "required": ["order_id"], "properties": {"order_id": {"type": "string"}}}]),
        ),
        "vars" => named_values(
            "The workflow state: every variable with its initial value. Expressions read `vars.NAME`; `set:` and signal handlers assign.",
            Some(IDENT_PATTERN),
            json!({}),
            json!([{"status": "received", "approved": false}]),
        ),
        "defaults" => {
            let mut schema =
                options_object("Activity options inherited by every step of this file.");
            schema["examples"] =
                json!([{"timeout": "30s", "retry": {"max_attempts": 5, "initial_interval": "1s"}}]);
            schema
        }
        "signals" => named_values(
            "Signal handlers: on every arrival of the signal, `set:` assigns variables (`signal` holds the payload).",
            Some(TEMPORAL_NAME_PATTERN),
            doc(
                json!({"type": ["object", "null"], "properties": {"set": set_map("Assignments run when the signal arrives; right-hand sides see the state before it and `signal`.")}, "additionalProperties": false}),
                "A signal handler; an empty entry declares a signal without assignments.",
                json!([{"set": {"approved": true, "approver": "${ signal.by }"}}]),
            ),
            json!([{"approve": {"set": {"approved": true}}}]),
        ),
        "updates" => named_values(
            "Update handlers (Temporal Updates): a caller sends a payload (`update`) and waits for the handler's `result`; a `validate:` condition rejects the update before it is written to history.",
            Some(TEMPORAL_NAME_PATTERN),
            {
                let mut handler = object(UPDATE_KEYS, update_field, &[]);
                handler["type"] = json!(["object", "null"]);
                handler["description"] =
                    json!("An update handler; an empty entry accepts the update and answers null.");
                handler["examples"] = json!([{"validate": "${ update.amount > 0 }", "message": "amount must be positive", "set": {"total": "${ vars.total + update.amount }"}, "result": "${ vars.total }"}]);
                handler
            },
            json!([{"add": {"validate": "${ update.amount > 0 }", "result": "${ vars.total }"}}]),
        ),
        "queries" => named_values(
            "Queries: a name and an expression over the state, answered without changing it.",
            Some(TEMPORAL_NAME_PATTERN),
            value("The query's answer.", json!(["${ vars.status }"])),
            json!([{"status": "${ vars.status }"}]),
        ),
        "steps" => steps(
            "The steps, run in order.",
            json!([[{"id": "greet", "activity": "log", "input": {"message": "hello"}}]]),
        ),
        "output" => value(
            "The workflow result (an expression or data with expressions); null when absent.",
            json!(["${ {'order_id': input.order_id, 'status': vars.status} }"]),
        ),
        "schedules" => doc(
            json!({"type": ["array", "null"], "items": {"$ref": "#/definitions/schedule"}}),
            "Temporal schedules that start this workflow.",
            json!([[{"id": "nightly", "cron": "0 2 * * *"}]]),
        ),
        "search_attributes" => named_values(
            "Search attributes: name → expression, upserted at start and after every `set`.",
            None,
            value("The attribute's value.", json!(["${ vars.status }"])),
            json!([{"OrderStatus": "${ vars.status }"}]),
        ),
        "memo" => named_values(
            "Memo fields shown with the run: name → value.",
            None,
            value("The memo value.", json!(["${ input.order_id }"])),
            json!([{"team": "payments"}]),
        ),
        "priority" => priority(
            "Temporal priority of the workflow's runs (its activities and children inherit it), evaluated by `stave start` over `input`.",
        ),
        "continue_as_new_after" => doc(
            json!({"type": "integer"}),
            "History length (events) after which loops continue as new, carrying the state; default 10000.",
            json!([10000]),
        ),
        "expose_status" => doc(
            json!({"type": "boolean"}),
            "Let the built-in `__stave_status` query (`stave describe`) return the run's variables; by default it answers only the state and current steps.",
            json!([true]),
        ),
        _ => json!({}),
    }
}

/// `defaults:` (and the project's `defaults:`): the activity options.
pub(super) fn options_object(description: &str) -> Json {
    let mut schema = object(OPTION_KEYS, option_field, &[]);
    schema["description"] = json!(description);
    schema["examples"] = json!([{"timeout": "30s", "retry": {"max_attempts": 3}}]);
    schema
}

pub(super) fn option_field(key: &str) -> Json {
    match key {
        "queue" => temporal_name(
            "The project queue (from stave.yaml) whose workers run the activity.",
            json!(["high-priority", "background"]),
        ),
        "task_queue" => string(
            "A raw Temporal task queue, for activities served by workers outside the project (Python, Go, …).",
            json!(["payments-python"]),
        ),
        "timeout" => duration(
            "Start-to-close timeout of each attempt.",
            json!(["10s", "5m"]),
        ),
        "schedule_to_close" => duration(
            "Schedule-to-close timeout: all attempts together.",
            json!(["1h"]),
        ),
        "schedule_to_start" => duration(
            "Schedule-to-start timeout: how long a task may wait for a worker.",
            json!(["1m"]),
        ),
        "heartbeat" => duration(
            "Heartbeat timeout: the activity must heartbeat at least this often.",
            json!(["30s"]),
        ),
        "retry" => {
            let mut schema = json!({"$ref": "#/definitions/retry"});
            schema["description"] =
                json!("The retry policy; fields override `defaults.retry` one by one.");
            schema["examples"] = json!([{"max_attempts": 3, "non_retryable": ["CardDeclined"]}]);
            schema
        }
        "summary" => value(
            "A one-line summary shown in the Temporal Web UI; may interpolate.",
            json!(["charge ${ input.order_id }"]),
        ),
        "priority" => priority(
            "Temporal priority of the activity: a key (1 first) or `{ key, fairness, weight }`; default: the workflow's.",
        ),
        _ => json!({}),
    }
}

pub(super) fn retry_object() -> Json {
    let mut schema = object(RETRY_KEYS, retry_field, &[]);
    schema["description"] = json!("A Temporal retry policy.");
    schema["examples"] = json!([{"max_attempts": 5, "initial_interval": "1s", "backoff": 2.0, "max_interval": "1m", "non_retryable": ["CardDeclined"]}]);
    schema
}

fn retry_field(key: &str) -> Json {
    match key {
        "max_attempts" => doc(
            json!({"type": "integer", "minimum": 1}),
            "Attempts in all, the first included (1 = no retries); leave it out for unlimited.",
            json!([3, 5]),
        ),
        "initial_interval" => duration("Wait before the first retry.", json!(["1s"])),
        "backoff" => doc(
            json!({"type": "number"}),
            "Factor by which the wait grows after each retry.",
            json!([2.0]),
        ),
        "max_interval" => duration("Longest wait between retries.", json!(["1m"])),
        "non_retryable" => names(
            "Error types that are never retried.",
            json!([["CardDeclined"], "InvalidInput"]),
        ),
        _ => json!({}),
    }
}

fn update_field(key: &str) -> Json {
    match key {
        "validate" => value(
            "A condition on `update` (the payload) and the state; false rejects the update (run only when it arrives, never on replay).",
            json!(["${ update.amount > 0 }"]),
        ),
        "message" => value(
            "The rejection's message when `validate` is false; may interpolate.",
            json!(["amount must be positive, got ${ update.amount }"]),
        ),
        "set" => set_map(
            "Assignments run when the update is accepted; right-hand sides see the state before it and `update`.",
        ),
        "steps" => steps(
            "Steps the handler runs after `set` (activities, timers, waits…), as a strand of their own beside the workflow's steps; the caller waits for them. A failing step fails the update, not the run; `return` answers early.",
            json!([[{"activity": "notify.send", "input": {"to": "manager@example.com", "subject": "report submitted"}}, {"set": {"submitted": true}}]]),
        ),
        "result" => value(
            "What the caller receives, evaluated after `set` and `steps` (null when absent).",
            json!(["${ vars.total }"]),
        ),
        _ => json!({}),
    }
}

pub(super) fn set_map(description: &str) -> Json {
    named_values(
        description,
        Some(IDENT_PATTERN),
        value("The new value.", json!(["${ signal.by }", "shipped"])),
        json!([{"status": "shipped"}]),
    )
}

pub(super) fn schedule_object() -> Json {
    let mut schema = object(SCHEDULE_KEYS, schedule_field, &["id"]);
    schema["anyOf"] = json!([{"required": ["cron"]}, {"required": ["every"]}]);
    schema["description"] =
        json!("A Temporal schedule that starts this workflow by `cron:` or `every:`.");
    schema["examples"] =
        json!([{"id": "nightly", "cron": "0 2 * * *", "timezone": "Europe/Paris"}]);
    schema
}

fn schedule_field(key: &str) -> Json {
    match key {
        "id" => temporal_name(
            "The schedule id, unique in the project.",
            json!(["nightly-reconcile"]),
        ),
        "cron" => string(
            "A Temporal cron string: 5 fields (minute hour day-of-month month day-of-week), 6 (then the year) or 7 (second first, year last); `@daily`-style shorthands; `@every 1h[/15m]`; an optional `CRON_TZ=Zone ` prefix and `# comment`.",
            json!([
                "0 2 * * *",
                "CRON_TZ=Europe/Berlin 0 9 * * mon-fri",
                "@every 6h/30m"
            ]),
        ),
        "every" => duration("An interval.", json!(["1h"])),
        "timezone" => string(
            "IANA time zone name of `cron`, spelled as in the tz database; default UTC.",
            json!(["UTC", "Europe/Paris"]),
        ),
        "overlap" => doc(
            json!({"type": "string", "enum": ["skip", "buffer_one", "buffer_all", "allow_all", "cancel_other", "terminate_other"]}),
            "What to do when a run is still going at the next time; default `skip`.",
            json!(["skip", "buffer_one"]),
        ),
        "paused" => doc(
            json!({"type": "boolean"}),
            "Create the schedule paused.",
            json!([false]),
        ),
        "input" => value(
            "The input of each started run.",
            json!([{"order_id": "batch"}]),
        ),
        _ => json!({}),
    }
}
