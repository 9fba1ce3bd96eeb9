//! The keys of test files (`*.test.yaml`), from the reader's own key tables.

use super::shapes::*;
use crate::syntax::yaml::testfile::{
    ACTIVITY_EXPECT_KEYS, CASE_KEYS, ERROR_KEYS, EXPECT_ERROR_KEYS, EXPECT_KEYS, MOCK_KEYS,
    QUERY_KEYS, RESPONSE_KEYS, SIGNAL_KEYS, Status, UPDATE_KEYS,
};
use serde_json::{Value as Json, json};

const MOCK_REF: &str = "#/definitions/mock";
const RESPONSE_REF: &str = "#/definitions/response";

pub(super) fn file_field(key: &str) -> Json {
    match key {
        "stave_test" => doc(
            json!({"const": 1}),
            "Format version of the test file: 1.",
            json!([1]),
        ),
        "workflow" => temporal_name("The workflow type under test.", json!(["order-fulfilment"])),
        "mocks" => mocks("Mocks shared by every case (a case's own mocks come first)."),
        "cases" => doc(
            json!({"type": "array", "items": {"$ref": "#/definitions/case"}}),
            "The cases: each starts the workflow once and compares what happens.",
            json!([]),
        ),
        _ => json!({}),
    }
}

fn mocks(description: &str) -> Json {
    doc(
        json!({"type": "array", "items": {"$ref": MOCK_REF}}),
        description,
        json!([[{"activity": "payments.charge", "respond": {"output": {"charge_id": "ch_1"}}}]]),
    )
}

fn matcher_value(description: &str) -> Json {
    doc(json!({}), description, json!([]))
}

fn expression(description: &str) -> Json {
    doc(
        json!({"type": "string", "pattern": "^\\s*\\$\\{.*\\}\\s*$"}),
        description,
        json!(["${ output.total > 10 }"]),
    )
}

fn at(description: &str) -> Json {
    duration(description, json!(["0s", "1h", "2d"]))
}

pub(super) fn case_field(key: &str) -> Json {
    match key {
        "name" => string(
            "What the case shows, in a sentence.",
            json!(["a small order ships"]),
        ),
        "id" => string(
            "The workflow id (default `test-WORKFLOW-N`).",
            json!(["order-1"]),
        ),
        "input" => value(
            "The workflow input (checked against its schema).",
            json!([{}]),
        ),
        "start_time" => string(
            "RFC 3339 virtual start time (default 2026-01-01T00:00:00Z).",
            json!(["2026-03-01T09:00:00Z"]),
        ),
        "mocks" => mocks("This case's mocks, tried before the file's."),
        "signals" => doc(
            json!({"type": "array", "items": super::shapes::object(SIGNAL_KEYS, signal_field, &["name"])}),
            "Signals sent at virtual times after the start.",
            json!([[{"at": "1h", "name": "approve", "payload": {"by": "ann"}}]]),
        ),
        "updates" => doc(
            json!({"type": "array", "items": super::shapes::object(UPDATE_KEYS, update_field, &["name"])}),
            "Updates sent at virtual times after the start, with the expected result or rejection.",
            json!([[{"at": "1h", "name": "add", "payload": {"amount": 5}, "expect": 5}]]),
        ),
        "queries" => doc(
            json!({"type": "array", "items": super::shapes::object(QUERY_KEYS, query_field, &["name"])}),
            "Queries asked at virtual times, with the expected answer.",
            json!([[{"at": "30m", "name": "status", "expect": "charged"}]]),
        ),
        "cancel_at" => at("Request cancellation at this virtual time."),
        "expect" => super::shapes::object(EXPECT_KEYS, expect_field, &[]),
        _ => json!({}),
    }
}

fn signal_field(key: &str) -> Json {
    match key {
        "at" => at("Virtual time after the start (default 0s)."),
        "name" => temporal_name("The signal name.", json!(["approve"])),
        "payload" => value("The signal's argument.", json!([{"by": "ann"}])),
        _ => json!({}),
    }
}

fn update_field(key: &str) -> Json {
    match key {
        "at" => at("Virtual time after the start (default 0s)."),
        "name" => temporal_name("The update name.", json!(["add"])),
        "payload" => value("The update's argument.", json!([{"amount": 5}])),
        "expect" => matcher_value("The exact result."),
        "expect_includes" => matcher_value("Keys and values the result includes."),
        "expect_matches" => expression("An expression over `result` that must hold."),
        "rejected" => string(
            "The update must be rejected with a message containing this text.",
            json!(["amount must be positive"]),
        ),
        _ => json!({}),
    }
}

fn query_field(key: &str) -> Json {
    match key {
        "at" => at("Virtual time after the start (default 0s)."),
        "name" => temporal_name("The query name.", json!(["status"])),
        "expect" => matcher_value("The exact answer."),
        "expect_includes" => matcher_value("Keys and values the answer includes."),
        "expect_matches" => expression("An expression over `result` that must hold."),
        _ => json!({}),
    }
}

fn expect_field(key: &str) -> Json {
    match key {
        "status" => doc(
            json!({"enum": Status::NAMES}),
            "How the run ends (default: completed, or failed when `error` is given).",
            json!(["completed"]),
        ),
        "output" => matcher_value("The exact output."),
        "output_includes" => matcher_value("Keys and values the output includes."),
        "output_matches" => expression("An expression over `output` (and `input`) that must hold."),
        "error" => super::shapes::object(
            EXPECT_ERROR_KEYS,
            |k| match k {
                "type" => string("The error type.", json!(["CardDeclined"])),
                _ => string("Text the error message contains.", json!(["declined"])),
            },
            &[],
        ),
        "duration" => at("The virtual time from start to end."),
        "activities" => doc(
            json!({"type": "object", "additionalProperties": super::shapes::object(ACTIVITY_EXPECT_KEYS, |k| match k {
                "attempts" => doc(json!({"type": "integer", "minimum": 0}), "How many attempts ran.", json!([1])),
                _ => doc(json!({"type": "array"}), "Per attempt, in order: keys and values its input includes.", json!([[{"amount": 50}]])),
            }, &[])}),
            "Attempts per activity type (or `step:ID`) and their inputs.",
            json!([{"payments.charge": {"attempts": 2}}]),
        ),
        _ => json!({}),
    }
}

pub(super) fn mock_field(key: &str) -> Json {
    match key {
        "activity" => temporal_name(
            "Answer every call of this activity type.",
            json!(["payments.charge"]),
        ),
        "step" => string("Answer the calls of this step (its id).", json!(["charge"])),
        "workflow" => temporal_name(
            "Mock child workflows of this type.",
            json!(["fraud-review"]),
        ),
        "when" => doc(
            json!({}),
            "Only calls whose input includes these keys, or for which this \"${ }\" expression over `input` and `attempt` holds.",
            json!([{"sku": "a"}, "${ input.amount > 100 }"]),
        ),
        "respond" => doc(
            json!({"anyOf": [{"$ref": RESPONSE_REF}, {"type": "array", "items": {"$ref": RESPONSE_REF}, "minItems": 1}]}),
            "One response, or one per attempt (the last repeats).",
            json!([{"output": {"id": 1}}]),
        ),
        _ => json!({}),
    }
}

pub(super) fn response_field(key: &str) -> Json {
    match key {
        "output" => value(
            "The activity's (or child's) result.",
            json!([{"charge_id": "ch_1"}]),
        ),
        "error" => super::shapes::object(
            ERROR_KEYS,
            |k| match k {
                "type" => string("The error type.", json!(["CardDeclined"])),
                "message" => string("The message.", json!(["declined"])),
                "details" => value("Details.", json!([{}])),
                _ => doc(json!({"type": "boolean"}), "Never retried.", json!([true])),
            },
            &["type"],
        ),
        "timeout" => doc(
            json!({"const": true}),
            "The attempt never answers: its timeout fires.",
            json!([true]),
        ),
        "delay" => duration("Virtual time the attempt takes.", json!(["2s"])),
        _ => json!({}),
    }
}

pub(super) fn case_keys() -> &'static [&'static str] {
    CASE_KEYS
}

pub(super) fn mock_keys() -> &'static [&'static str] {
    MOCK_KEYS
}

pub(super) fn response_keys() -> &'static [&'static str] {
    RESPONSE_KEYS
}
