//! The schema of each step kind and of the constructs nested in steps.
//!
//! One definition per kind (title, description, the schema of each key); nested constructs are
//! `compensate`, `wait`, `sleep`, `fail`, `catch` and `switch` cases.

use super::shapes::*;
use super::workflow::{option_field, set_map};
use super::{DURATION_PATTERN, IDENT_PATTERN, STEP_REF, STEP_SHAPES, TEMPORAL_NAME_PATTERN};
use crate::syntax::yaml::keys::{
    CASE_KEYS, CATCH_KEYS, COMPENSATE_KEYS, FAIL_KEYS, SLEEP_KEYS, STEP_KINDS, WAIT_KEYS,
};
use serde_json::{Value as Json, json};

/// `step`: exactly one of the step kinds.
pub(super) fn step_union() -> Json {
    let kinds: Vec<Json> = STEP_SHAPES
        .iter()
        .map(|(kind, _)| json!({"$ref": format!("#/definitions/{kind}_step")}))
        .collect();
    json!({
        "description": format!("One step: a mapping with exactly one of {}.", STEP_KINDS.join(", ")),
        "anyOf": kinds,
    })
}

pub(super) fn step_kind(kind: &str, keys: &[&str]) -> Json {
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
            "Waits for a signal or update, or any/all of several (and a condition); yields the payload.",
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
        ("workflow", "priority") => priority(
            "Temporal priority of the child workflow: a key (1 first) or `{ key, fairness, weight }`; default: the parent's.",
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
        ("use", "use") => temporal_name(
            "A fragment of this file (`fragments:`): its steps are inserted here (in a block when the step has an `id` or `if`).",
            json!(["notify"]),
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
    let mut form = object(WAIT_KEYS, wait_key, &[]);
    form["oneOf"] = json!([{"required": ["signal"]}, {"required": ["any"]}, {"required": ["all"]}]);
    // `any` and `all` replace `signal`: each excludes the other two.
    form["dependencies"] = json!({
        "any": {"not": {"anyOf": [{"required": ["signal"]}, {"required": ["all"]}]}},
        "all": {"not": {"anyOf": [{"required": ["signal"]}, {"required": ["any"]}]}},
    });
    form["description"] = json!(
        "The signal or update to wait for (or `any:`/`all:` of several), with an optional condition and timeout."
    );
    form["examples"] = json!([{"signal": "approve", "until": "${ vars.approved }", "timeout": "24h", "on_timeout": "fail"}]);
    doc(
        json!({"anyOf": [{"type": "string", "pattern": TEMPORAL_NAME_PATTERN}, form]}),
        "A signal or update name, or a mapping with `signal` (or `any`/`all`), `until`, `timeout`, `on_timeout`.",
        json!(["approve", {"signal": "approve", "timeout": "24h"}, {"any": ["approve", "reject"], "timeout": "1h"}]),
    )
}

fn wait_key(key: &str) -> Json {
    match key {
        "signal" => temporal_name(
            "The signal (declared under `signals:`) or update (under `updates:`); the result is its payload.",
            json!(["approve"]),
        ),
        "any" => doc(
            json!({"type": "array", "minItems": 1, "items": {"type": "string", "pattern": TEMPORAL_NAME_PATTERN}}),
            "Wait for the first of these signals or updates; the result is `{name, payload}`.",
            json!([["approve", "reject"]]),
        ),
        "all" => doc(
            json!({"type": "array", "minItems": 1, "items": {"type": "string", "pattern": TEMPORAL_NAME_PATTERN}}),
            "Wait for one of each of these signals or updates; the result maps each name to its payload.",
            json!([["manager_ok", "finance_ok"]]),
        ),
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

pub(super) fn catch_object() -> Json {
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

pub(super) fn switch_case() -> Json {
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
