//! The JSON Schema of the YAML form (`stave schema`): editors complete and validate
//! `*.stave.yaml` and `stave.yaml` with it.
//!
//! Built from the loader's own key tables (`syntax::yaml::keys`), so a key added to the loader
//! appears here; `tests/schema.rs` probes the loader with every key to prove both agree.
//! Draft-07, which VS Code's YAML extension reads fully.

pub use crate::syntax::yaml::keys::STEP_SHAPES;
use crate::syntax::yaml::keys::{
    CASE_KEYS, CATCH_KEYS, COMPENSATE_KEYS, FAIL_KEYS, OPTION_KEYS, PROJECT_KEYS, QUEUE_KEYS,
    RETRY_KEYS, SCHEDULE_KEYS, SLEEP_KEYS, STEP_KINDS, WAIT_KEYS, WORKFLOW_KEYS,
};
use serde_json::{Map, Value as Json, json};

/// The JSON Schema dialect of the generated schemas.
pub const DRAFT: &str = "http://json-schema.org/draft-07/schema#";

/// Durations as `syntax::duration::parse` reads them: number-unit pairs (`1h30m`, `1.5s`,
/// `500ms`) or ISO 8601 (`PT30S`). Unit order and overflow are left to lint (E008).
pub const DURATION_PATTERN: &str =
    r"^\s*(([0-9.]+\s*(ms|d|h|m|s)\s*)+|[Pp][0-9.,TtWwDdHhMmSs]+\s*)$";
/// Step ids, variables, loop and error names: they appear in expressions.
pub const IDENT_PATTERN: &str = "^[a-z_][a-z0-9_]*$";
/// Workflow, activity, signal, query, queue and schedule names: Temporal names.
pub const TEMPORAL_NAME_PATTERN: &str = "^[A-Za-z_][A-Za-z0-9_.-]*$";

const STEP_REF: &str = "#/definitions/step";
const DURATION_MESSAGE: &str = "a duration such as 500ms, 30s, 5m, 2h, 1d, 1h30m or PT30S";
const IDENT_MESSAGE: &str =
    "lower-case letters, digits and `_`, starting with a letter or `_` (expressions refer to it)";
const TEMPORAL_NAME_MESSAGE: &str =
    "letters, digits, `_`, `.` and `-`, starting with a letter or `_`";

/// The schema of a workflow file (`*.stave.yaml`).
pub fn workflow_schema() -> Json {
    let mut definitions = Map::new();
    definitions.insert("step".into(), step_union());
    for (kind, keys) in STEP_SHAPES {
        definitions.insert(format!("{kind}_step"), step_kind(kind, keys));
    }
    definitions.insert(
        "activity_options".into(),
        options_object(
            "Activity options inherited by every step of this file (a step's own options win).",
        ),
    );
    definitions.insert("retry".into(), retry_object());
    definitions.insert("catch".into(), catch_object());
    definitions.insert("switch_case".into(), switch_case());
    definitions.insert("schedule".into(), schedule_object());
    let head = json!({
        "$schema": DRAFT,
        "title": "Stave workflow (*.stave.yaml)",
        "description": "One Stave workflow in the YAML form: its name, queue, input schema, state, signals, queries and steps. See LANGUAGE.md.",
    });
    let mut schema = merge(
        head,
        object(WORKFLOW_KEYS, workflow_field, &["workflow", "steps"]),
    );
    schema["definitions"] = Json::Object(definitions);
    schema
}

/// The schema of the project settings file (`stave.yaml`).
pub fn project_schema() -> Json {
    let head = json!({
        "$schema": DRAFT,
        "title": "Stave project settings (stave.yaml)",
        "description": "Project settings: the Temporal namespace, the task queues, defaults for every workflow, where the activity manifest and the workflow files are.",
    });
    let mut schema = merge(head, object(PROJECT_KEYS, project_field, &[]));
    schema["definitions"] = json!({"retry": retry_object()});
    schema
}

/// `head`'s entries first, then `body`'s: keeps `$schema` and the title on top of the file.
fn merge(head: Json, body: Json) -> Json {
    match (head, body) {
        (Json::Object(mut head), Json::Object(body)) => {
            head.extend(body);
            Json::Object(head)
        }
        (_, body) => body,
    }
}

/// A schema as committed: pretty JSON with a final newline.
pub fn to_text(schema: &Json) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}

/// A closed mapping: the given keys, each documented by `field`, nothing else.
fn object(keys: &[&str], field: impl Fn(&str) -> Json, required: &[&str]) -> Json {
    let properties: Map<String, Json> = keys.iter().map(|k| (k.to_string(), field(k))).collect();
    let mut schema =
        json!({"type": "object", "properties": properties, "additionalProperties": false});
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

/// Adds a description and examples to a schema.
fn doc(mut schema: Json, description: &str, examples: Json) -> Json {
    schema["description"] = json!(description);
    schema["examples"] = examples;
    schema
}

// `patternErrorMessage` is the YAML extension's message for a failed `pattern`; validators
// ignore it.
fn duration(description: &str, examples: Json) -> Json {
    doc(
        json!({"type": "string", "pattern": DURATION_PATTERN, "patternErrorMessage": DURATION_MESSAGE}),
        description,
        examples,
    )
}

fn string(description: &str, examples: Json) -> Json {
    doc(json!({"type": "string"}), description, examples)
}

fn temporal_name(description: &str, examples: Json) -> Json {
    doc(
        json!({"type": "string", "pattern": TEMPORAL_NAME_PATTERN, "patternErrorMessage": TEMPORAL_NAME_MESSAGE}),
        description,
        examples,
    )
}

fn ident(description: &str, examples: Json) -> Json {
    doc(
        json!({"type": "string", "pattern": IDENT_PATTERN, "patternErrorMessage": IDENT_MESSAGE}),
        description,
        examples,
    )
}

/// A value slot: any YAML; a string that is exactly `${ expr }` is the expression's value,
/// `${ }` among other text interpolates.
fn value(description: &str, examples: Json) -> Json {
    doc(json!({}), description, examples)
}

/// A list of steps (the loader reads an empty entry as no steps).
fn steps(description: &str, examples: Json) -> Json {
    doc(
        json!({"type": ["array", "null"], "items": {"$ref": STEP_REF}}),
        description,
        examples,
    )
}

/// A mapping of names to values (the loader reads an empty entry as none).
fn named_values(description: &str, names: Option<&str>, values: Json, examples: Json) -> Json {
    let mut schema = json!({"type": ["object", "null"], "additionalProperties": values});
    if let Some(pattern) = names {
        schema["propertyNames"] = json!({"pattern": pattern});
    }
    doc(schema, description, examples)
}

/// One name or a list of names (error types).
fn names(description: &str, examples: Json) -> Json {
    let name = json!({"type": "string", "pattern": TEMPORAL_NAME_PATTERN});
    doc(
        json!({"anyOf": [name, {"type": ["array", "null"], "items": name}]}),
        description,
        examples,
    )
}

fn workflow_field(key: &str) -> Json {
    match key {
        "stave" => doc(
            json!({"type": "integer", "enum": [1]}),
            "The language version; write `stave: 1`.",
            json!([1]),
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
        "continue_as_new_after" => doc(
            json!({"type": "integer"}),
            "History length (events) after which loops continue as new, carrying the state; default 10000.",
            json!([10000]),
        ),
        _ => json!({}),
    }
}

/// `defaults:` (and the project's `defaults:`): the activity options.
fn options_object(description: &str) -> Json {
    let mut schema = object(OPTION_KEYS, option_field, &[]);
    schema["description"] = json!(description);
    schema["examples"] = json!([{"timeout": "30s", "retry": {"max_attempts": 3}}]);
    schema
}

fn option_field(key: &str) -> Json {
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
        _ => json!({}),
    }
}

fn retry_object() -> Json {
    let mut schema = object(RETRY_KEYS, retry_field, &[]);
    schema["description"] = json!("A Temporal retry policy.");
    schema["examples"] = json!([{"max_attempts": 5, "initial_interval": "1s", "backoff": 2.0, "max_interval": "1m", "non_retryable": ["CardDeclined"]}]);
    schema
}

fn retry_field(key: &str) -> Json {
    match key {
        "max_attempts" => doc(
            json!({"type": "integer"}),
            "Attempts in all, the first included; 0 = unlimited.",
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

fn set_map(description: &str) -> Json {
    named_values(
        description,
        Some(IDENT_PATTERN),
        value("The new value.", json!(["${ signal.by }", "shipped"])),
        json!([{"status": "shipped"}]),
    )
}

/// `step`: exactly one of the step kinds.
fn step_union() -> Json {
    let kinds: Vec<Json> = STEP_SHAPES
        .iter()
        .map(|(kind, _)| json!({"$ref": format!("#/definitions/{kind}_step")}))
        .collect();
    json!({
        "description": format!("One step: a mapping with exactly one of {}.", STEP_KINDS.join(", ")),
        "anyOf": kinds,
    })
}

fn step_kind(kind: &str, keys: &[&str]) -> Json {
    let mut required = vec![kind];
    match kind {
        "foreach" => required.push("steps"),
        "while" => required.extend(["max_iterations", "steps"]),
        _ => {}
    }
    let mut schema = object(keys, |key| step_field(kind, key), &required);
    // The YAML extension offers each step kind by its title, filled with the required keys.
    let (title, description) = step_doc(kind);
    schema["title"] = json!(title);
    schema["description"] = json!(description);
    if kind == "steps" {
        schema["dependencies"] = json!({"else": ["if"]});
    }
    schema
}

fn step_doc(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "activity" => (
            "activity step",
            "Runs an activity (a registered activity type) and yields its output.",
        ),
        "workflow" => (
            "child workflow step",
            "Starts a child workflow and yields its result.",
        ),
        "foreach" => (
            "foreach step",
            "Runs its steps once per element of a list, at most `concurrency` at a time; yields the list of results in input order.",
        ),
        "while" => (
            "while step",
            "Repeats its steps while the condition holds, at most `max_iterations` times.",
        ),
        "steps" => (
            "block step",
            "A block of steps; with `if:` they run only when the condition holds, otherwise the `else:` steps run.",
        ),
        "switch" => (
            "switch step",
            "Runs the steps of the first case whose `when:` holds, or the `default:` steps.",
        ),
        "parallel" => (
            "parallel step",
            "Runs named branches at the same time; yields a map branch → the branch's last result. `race: true`: the first branch to finish wins.",
        ),
        "wait" => (
            "wait step",
            "Waits for a signal (and a condition); yields the signal's payload.",
        ),
        "sleep" => (
            "sleep step",
            "Sleeps for a duration or until a timestamp (a durable timer).",
        ),
        "set" => (
            "set step",
            "Assigns workflow variables (declared under `vars:`).",
        ),
        "try" => (
            "try step",
            "Runs its steps; an error that a `catch` clause matches runs that clause's steps instead of failing.",
        ),
        "fail" => (
            "fail step",
            "Fails the workflow (or the enclosing `try`) with an error type and message.",
        ),
        "return" => (
            "return step",
            "Completes the workflow early with this output.",
        ),
        _ => (
            "rethrow step",
            "Inside a `catch`: raises the caught error again, unchanged.",
        ),
    }
}

fn step_field(kind: &str, key: &str) -> Json {
    match (kind, key) {
        (_, "id") => ident(
            "The step id, unique in the file; later steps read its result as `steps.ID`.",
            json!(["charge", "ship_one"]),
        ),
        (_, "if") => value(
            "A condition: when it is false the step is skipped (its result is null). On a block, chooses between `steps:` and `else:`.",
            json!(["${ input.amount > 1000 }"]),
        ),
        ("activity", "activity") => temporal_name(
            "The activity type, as listed in the activity manifest.",
            json!(["payments.charge", "log"]),
        ),
        ("workflow", "workflow") => temporal_name(
            "The child workflow type (a Stave workflow or any other).",
            json!(["fraud-review"]),
        ),
        (_, "input") => value(
            "The input: one value, usually a mapping; strings may hold `${ expr }`.",
            json!([{"order_id": "${ input.order_id }"}]),
        ),
        (_, "args") => doc(
            json!({"type": ["array", "null"]}),
            "Positional arguments instead of `input:`, for activities and workflows outside the project.",
            json!([["${ input.account }", 100]]),
        ),
        ("activity", "compensate") => compensate_object(),
        ("workflow", "workflow_id") => value(
            "The child's workflow id; default: the parent's id and the step name.",
            json!(["review-${ input.order_id }"]),
        ),
        ("workflow", "queue") => temporal_name(
            "The project queue the child runs on; default: its own.",
            json!(["standard"]),
        ),
        ("workflow", "task_queue") => string(
            "A raw Temporal task queue for a child served outside the project.",
            json!(["billing-go"]),
        ),
        ("workflow", "timeout") => duration("The child's execution timeout.", json!(["1h"])),
        ("workflow", "parent_close") => doc(
            json!({"type": "string", "enum": ["terminate", "abandon", "request_cancel"]}),
            "What happens to the child when the parent closes first.",
            json!(["terminate", "abandon"]),
        ),
        ("workflow", "retry") => {
            let mut schema = json!({"$ref": "#/definitions/retry"});
            schema["description"] = json!("Retry policy of the child workflow.");
            schema["examples"] = json!([{"max_attempts": 2}]);
            schema
        }
        ("activity", _) => option_field(key),
        ("foreach", "foreach") => value(
            "The list to iterate over (an expression).",
            json!(["${ input.items }"]),
        ),
        ("foreach", "as") => ident(
            "The name of the current element in the body; default `item`.",
            json!(["item", "order"]),
        ),
        ("foreach", "concurrency") => doc(
            json!({"type": "integer", "minimum": 1, "maximum": 10000}),
            "At most this many bodies run at once; default: all at once.",
            json!([10]),
        ),
        ("while", "while") => value(
            "The loop condition, checked before each iteration.",
            json!(["${ !vars.done }"]),
        ),
        ("while", "max_iterations") => doc(
            json!({"type": "integer", "minimum": 1}),
            "The most iterations the loop may run; required, so that every loop is bounded.",
            json!([100]),
        ),
        ("foreach" | "while", "steps") => steps(
            "The loop body.",
            json!([[{"activity": "log", "input": {"message": "${ item }"}}]]),
        ),
        ("steps", "steps") => steps(
            "The steps of the block (run when `if:` holds).",
            json!([[{"set": {"status": "large"}}]]),
        ),
        ("steps", "else") => steps(
            "Steps run when `if:` does not hold.",
            json!([[{"set": {"status": "small"}}]]),
        ),
        ("switch", "switch") => doc(
            json!({"type": ["array", "null"], "items": {"$ref": "#/definitions/switch_case"}}),
            "The cases, tried in order: `- when: COND` with `steps:`, and a last `- default: [...]`.",
            json!([[{"when": "${ input.amount > 5000 }", "steps": []}, {"default": []}]]),
        ),
        ("parallel", "parallel") => named_values(
            "The branches: a name and the branch's steps.",
            Some(IDENT_PATTERN),
            json!({"type": ["array", "null"], "items": {"$ref": STEP_REF}}),
            json!([{"reserve": [{"activity": "inventory.reserve"}], "notify": [{"activity": "email.send"}]}]),
        ),
        ("parallel", "race") => doc(
            json!({"type": "boolean"}),
            "When true, the first branch to finish wins and the others are cancelled; the result is `{branch, result}`.",
            json!([true]),
        ),
        ("wait", "wait") => wait_field(),
        ("sleep", "sleep") => sleep_field(),
        ("set", "set") => set_map(
            "Assignments to declared variables; all right-hand sides see the state before the step.",
        ),
        ("try", "try") => steps(
            "The steps whose errors the `catch` clauses handle.",
            json!([[{"activity": "billing.invoice"}]]),
        ),
        ("try", "catch") => doc(
            json!({"type": ["array", "null"], "items": {"$ref": "#/definitions/catch"}}),
            "Catch clauses, tried in order; the first that matches the error runs.",
            json!([[{"errors": ["InvoiceUnavailable"], "as": "err", "steps": []}]]),
        ),
        ("fail", "fail") => {
            let mut schema = object(FAIL_KEYS, fail_field, &["type"]);
            schema["description"] = json!("The error to raise.");
            schema["examples"] =
                json!([{"type": "OrderRejected", "message": "amount ${ input.amount } too large"}]);
            schema
        }
        ("return", "return") => value("The workflow's output.", json!(["${ steps.summary }"])),
        ("rethrow", "rethrow") => value(
            "Write `rethrow: true`; the value is not used.",
            json!([true]),
        ),
        _ => json!({}),
    }
}

fn compensate_object() -> Json {
    let mut schema = object(COMPENSATE_KEYS, compensate_field, &["activity"]);
    schema["description"] =
        json!("The undo activity of a saga: runs, in reverse order, if a later step fails.");
    schema["examples"] =
        json!([{"activity": "payments.refund", "input": {"charge_id": "${ steps.charge.id }"}}]);
    schema
}

fn compensate_field(key: &str) -> Json {
    match key {
        "activity" => temporal_name(
            "The compensating activity type.",
            json!(["payments.refund"]),
        ),
        "input" => value(
            "The compensation's input; may read the step's result.",
            json!([{"charge_id": "${ steps.charge.id }"}]),
        ),
        "args" => doc(
            json!({"type": ["array", "null"]}),
            "Positional arguments instead of `input:`.",
            json!([["${ steps.charge.id }"]]),
        ),
        _ => option_field(key),
    }
}

fn wait_field() -> Json {
    let mut form = object(WAIT_KEYS, wait_key, &["signal"]);
    form["description"] = json!("The signal to wait for, with an optional condition and timeout.");
    form["examples"] = json!([{"signal": "approve", "until": "${ vars.approved }", "timeout": "24h", "on_timeout": "fail"}]);
    doc(
        json!({"anyOf": [{"type": "string", "pattern": TEMPORAL_NAME_PATTERN}, form]}),
        "A signal name, or a mapping with `signal`, `until`, `timeout`, `on_timeout`.",
        json!(["approve", {"signal": "approve", "timeout": "24h"}]),
    )
}

fn wait_key(key: &str) -> Json {
    match key {
        "signal" => temporal_name("The signal, declared under `signals:`.", json!(["approve"])),
        "until" => value(
            "Wait until this holds after a signal's handler ran.",
            json!(["${ vars.approved }"]),
        ),
        "timeout" => duration("Give up waiting after this long.", json!(["24h"])),
        "on_timeout" => doc(
            json!({"type": "string", "enum": ["fail", "continue"]}),
            "On timeout: `fail` raises the catchable `WaitTimeout` (default); `continue` goes on with null.",
            json!(["fail", "continue"]),
        ),
        _ => json!({}),
    }
}

fn sleep_field() -> Json {
    let until = doc(
        object(
            SLEEP_KEYS,
            |_| {
                value(
                    "An RFC 3339 timestamp expression.",
                    json!(["${ input.deliver_at }"]),
                )
            },
            &["until"],
        ),
        "Sleep until a timestamp.",
        json!([{"until": "${ input.deliver_at }"}]),
    );
    doc(
        json!({"anyOf": [
            {"type": "string", "pattern": DURATION_PATTERN},
            {"type": "string", "pattern": "\\$\\{"},
            {"type": "number"},
            until,
        ]}),
        "A duration (`5m`), an expression yielding a duration or seconds (`${ vars.delay }`), a number of seconds, or `until:` a timestamp.",
        json!(["5m", "${ vars.backoff }", {"until": "${ input.deliver_at }"}]),
    )
}

fn fail_field(key: &str) -> Json {
    match key {
        "type" => value(
            "The error type that callers and `catch` clauses match; may interpolate.",
            json!(["OrderRejected"]),
        ),
        "message" => value(
            "The error message; may interpolate.",
            json!(["order ${ input.order_id } rejected"]),
        ),
        "details" => value(
            "Details: any value or expression.",
            json!([{"amount": "${ input.amount }"}]),
        ),
        _ => json!({}),
    }
}

fn catch_object() -> Json {
    let mut schema = object(CATCH_KEYS, catch_field, &[]);
    schema["description"] = json!("A catch clause: which errors it handles and the steps it runs.");
    schema["examples"] = json!([{"errors": ["InvoiceUnavailable"], "as": "err", "steps": [{"set": {"status": "${ err.message }"}}]}]);
    schema
}

fn catch_field(key: &str) -> Json {
    match key {
        "errors" => names(
            "Error types this clause handles; omitted = any.",
            json!([["InvoiceUnavailable"], "WaitTimeout"]),
        ),
        "when" => value(
            "Handle only errors for which this holds (it sees the error).",
            json!(["${ err.message.contains('limit') }"]),
        ),
        "as" => ident(
            "The name of the caught error (`type`, `message`, `details`) in the steps; default `err`.",
            json!(["err"]),
        ),
        "steps" => steps(
            "The steps run for a caught error.",
            json!([[{"rethrow": true}]]),
        ),
        _ => json!({}),
    }
}

fn switch_case() -> Json {
    let mut schema = object(CASE_KEYS, case_field, &[]);
    schema["anyOf"] = json!([{"required": ["when"]}, {"required": ["default"]}]);
    schema["description"] = json!(
        "A case: `when:` with `steps:`, or `default:` with the steps run when no case matched."
    );
    schema["examples"] =
        json!([{"when": "${ input.amount > 5000 }", "steps": []}, {"default": []}]);
    schema
}

fn case_field(key: &str) -> Json {
    match key {
        "when" => value("The case's condition.", json!(["${ input.amount > 5000 }"])),
        "steps" => steps(
            "Steps run when the condition holds.",
            json!([[{"workflow": "fraud-review"}]]),
        ),
        "default" => steps("Steps run when no case matched.", json!([[]])),
        _ => json!({}),
    }
}

fn schedule_object() -> Json {
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
        "cron" => string("A cron expression.", json!(["0 2 * * *"])),
        "every" => duration("An interval.", json!(["1h"])),
        "timezone" => string(
            "IANA time zone of `cron`; default UTC.",
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

fn project_field(key: &str) -> Json {
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
            let mut schema = object(OPTION_KEYS, option_field, &[]);
            schema["description"] = json!(
                "Activity options for every workflow of the project (a file's `defaults:` wins)."
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every property of every object in the schema has a description and examples.
    fn undocumented(schema: &Json, path: &str, out: &mut Vec<String>) {
        match schema {
            Json::Object(map) => {
                if let Some(Json::Object(props)) = map.get("properties") {
                    for (key, prop) in props {
                        let documented = prop.get("description").is_some()
                            && prop
                                .get("examples")
                                .is_some_and(|e| e.as_array().is_some_and(|a| !a.is_empty()));
                        if !documented {
                            out.push(format!("{path}.{key}"));
                        }
                    }
                }
                // Examples are data (an input schema has `properties` of its own), not schema.
                for (key, child) in map.iter().filter(|(k, _)| *k != "examples") {
                    undocumented(child, &format!("{path}/{key}"), out);
                }
            }
            Json::Array(items) => items.iter().for_each(|i| undocumented(i, path, out)),
            _ => {}
        }
    }

    #[test]
    fn every_field_has_a_description_and_examples() {
        for schema in [workflow_schema(), project_schema()] {
            let mut missing = Vec::new();
            undocumented(&schema, "#", &mut missing);
            assert!(missing.is_empty(), "undocumented fields: {missing:?}");
        }
    }

    #[test]
    fn the_duration_pattern_accepts_what_the_parser_reads() {
        let pattern = regex::Regex::new(DURATION_PATTERN).expect("valid regex");
        for ok in [
            "500ms", "30s", "5m", "2h", "1d", "1h30m", "1.5h", "1h 30m", "PT30S", "P1D", "pt1h",
        ] {
            assert!(crate::syntax::duration::parse(ok).is_ok(), "{ok} parses");
            assert!(pattern.is_match(ok), "{ok} matches");
        }
        for bad in ["30", "thirty seconds", "5 minutes", ""] {
            assert!(
                crate::syntax::duration::parse(bad).is_err(),
                "{bad} does not parse"
            );
            assert!(!pattern.is_match(bad), "{bad} does not match");
        }
    }
}
