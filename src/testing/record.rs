//! `stave test --record`: a test file from an observed run's history, so an incident becomes
//! a regression test. The run's input, what each activity and child workflow answered (by
//! type and input, attempt by attempt), the signals and accepted updates (with their answers)
//! at their times and the outcome become one case; `stave test` then replays that behaviour in
//! the simulator. An update its validator rejected left no trace in history, so none is
//! recorded.
//!
//! History keeps the last attempt of an activity only (with its attempt number and the
//! failure before it): an activity that succeeded at attempt 3 is recorded as two failures of
//! that last failure, then the result.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value as Json;
use temporalio_common::protos::temporal::api::common::v1::Payloads;
use temporalio_common::protos::temporal::api::failure::v1::Failure;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
use temporalio_common::protos::temporal::api::update::v1::outcome as update_outcome;

use crate::runtime::client::run_failure;
use crate::runtime::payload;
use crate::runtime::replay::Recorded;

use super::expect::format_ms;

/// One recorded answer.
#[derive(Debug, Clone, PartialEq)]
enum Answer {
    Output(Json),
    Error {
        error_type: String,
        message: String,
        non_retryable: bool,
    },
    Timeout,
}

/// An accepted update: offset, name, payload, and its answer once completed.
type RecordedUpdate = (u64, String, Json, Option<Result<Json, String>>);

/// Calls of one activity (or child workflow) type with one input, in order.
#[derive(Debug, Default)]
struct Calls {
    answers: Vec<(Answer, u64)>,
}

fn first(payloads: Option<&Payloads>) -> Json {
    payloads
        .and_then(|p| p.payloads.first())
        .and_then(|p| payload::decode(p).ok())
        .unwrap_or(Json::Null)
}

fn error(failure: Option<&Failure>) -> Answer {
    match failure.map(run_failure) {
        Some(f) => {
            let root = f.root();
            Answer::Error {
                error_type: root.error_type.clone(),
                message: root.message.clone(),
                non_retryable: root.non_retryable,
            }
        }
        None => Answer::Error {
            error_type: "Error".into(),
            message: "failed".into(),
            non_retryable: false,
        },
    }
}

fn millis(ts: Option<&prost_wkt_types::Timestamp>) -> i64 {
    ts.map_or(0, |t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000)
}

/// The test file (YAML text) holding one case named `name` that replays `recorded`.
pub fn test_file(recorded: &Recorded, name: &str) -> Result<String, String> {
    let events = &recorded.history.events;
    let mut start_ms = None;
    let mut input = Json::Null;
    // Scheduled event id → (kind, type, input, scheduled at).
    let mut scheduled: BTreeMap<i64, (&'static str, String, Json, i64)> = BTreeMap::new();
    // Scheduled event id → (attempt, last failure, start time) of the attempt that ran last.
    type Started = BTreeMap<i64, (i32, Option<Failure>, i64)>;
    let mut started: Started = BTreeMap::new();
    let mut calls: BTreeMap<(&'static str, String, String), Calls> = BTreeMap::new();
    let mut order: Vec<(&'static str, String, String)> = Vec::new();
    let mut signals = Vec::new();
    // Accepted updates at their times; the answer filled in when they complete.
    let mut updates: Vec<RecordedUpdate> = Vec::new();
    let mut accepted: BTreeMap<i64, usize> = BTreeMap::new();
    let mut outcome: Option<String> = None;
    let mut answer = |scheduled: &BTreeMap<i64, (&'static str, String, Json, i64)>,
                      started: &Started,
                      id: i64,
                      last: Answer,
                      at: i64| {
        let Some((kind, call_type, call_input, when)) = scheduled.get(&id) else {
            return;
        };
        let key = (*kind, call_type.clone(), call_input.to_string());
        if !calls.contains_key(&key) {
            order.push(key.clone());
        }
        let entry = calls.entry(key).or_default();
        let mut from = *when;
        if let Some((attempt, failure, started_at)) = started.get(&id) {
            if let Some(failure) = failure {
                for _ in 1..*attempt {
                    entry.answers.push((error(Some(failure)), 0));
                }
            }
            from = *started_at;
        }
        entry
            .answers
            .push((last, u64::try_from(at - from).unwrap_or(0)));
    };
    for event in events {
        let at = millis(event.event_time.as_ref());
        let Some(attributes) = &event.attributes else {
            continue;
        };
        match attributes {
            Attributes::WorkflowExecutionStartedEventAttributes(a) => {
                start_ms = Some(at);
                input = first(a.input.as_ref());
            }
            Attributes::ActivityTaskScheduledEventAttributes(a) => {
                scheduled.insert(
                    event.event_id,
                    (
                        "activity",
                        a.activity_type
                            .as_ref()
                            .map(|t| t.name.clone())
                            .unwrap_or_default(),
                        first(a.input.as_ref()),
                        at,
                    ),
                );
            }
            Attributes::ActivityTaskStartedEventAttributes(a) => {
                started.insert(
                    a.scheduled_event_id,
                    (a.attempt, a.last_failure.clone(), at),
                );
            }
            Attributes::ActivityTaskCompletedEventAttributes(a) => answer(
                &scheduled,
                &started,
                a.scheduled_event_id,
                Answer::Output(first(a.result.as_ref())),
                at,
            ),
            Attributes::ActivityTaskFailedEventAttributes(a) => answer(
                &scheduled,
                &started,
                a.scheduled_event_id,
                error(a.failure.as_ref()),
                at,
            ),
            Attributes::ActivityTaskTimedOutEventAttributes(a) => answer(
                &scheduled,
                &started,
                a.scheduled_event_id,
                Answer::Timeout,
                at,
            ),
            Attributes::StartChildWorkflowExecutionInitiatedEventAttributes(a) => {
                scheduled.insert(
                    event.event_id,
                    (
                        "workflow",
                        a.workflow_type
                            .as_ref()
                            .map(|t| t.name.clone())
                            .unwrap_or_default(),
                        first(a.input.as_ref()),
                        at,
                    ),
                );
            }
            Attributes::ChildWorkflowExecutionCompletedEventAttributes(a) => answer(
                &scheduled,
                &started,
                a.initiated_event_id,
                Answer::Output(first(a.result.as_ref())),
                at,
            ),
            Attributes::ChildWorkflowExecutionFailedEventAttributes(a) => answer(
                &scheduled,
                &started,
                a.initiated_event_id,
                error(a.failure.as_ref()),
                at,
            ),
            Attributes::WorkflowExecutionSignaledEventAttributes(a) => {
                let from = start_ms.unwrap_or(at);
                signals.push((
                    u64::try_from(at - from).unwrap_or(0),
                    a.signal_name.clone(),
                    first(a.input.as_ref()),
                ));
            }
            Attributes::WorkflowExecutionUpdateAcceptedEventAttributes(a) => {
                let from = start_ms.unwrap_or(at);
                let input = a.accepted_request.as_ref().and_then(|r| r.input.as_ref());
                accepted.insert(event.event_id, updates.len());
                updates.push((
                    u64::try_from(at - from).unwrap_or(0),
                    input.map(|i| i.name.clone()).unwrap_or_default(),
                    first(input.and_then(|i| i.args.as_ref())),
                    None,
                ));
            }
            Attributes::WorkflowExecutionUpdateCompletedEventAttributes(a) => {
                let answer = match a.outcome.as_ref().and_then(|o| o.value.as_ref()) {
                    Some(update_outcome::Value::Success(payloads)) => Ok(first(Some(payloads))),
                    Some(update_outcome::Value::Failure(failure)) => Err(failure.message.clone()),
                    None => Ok(Json::Null),
                };
                if let Some(update) = accepted
                    .get(&a.accepted_event_id)
                    .and_then(|i| updates.get_mut(*i))
                {
                    update.3 = Some(answer);
                }
            }
            Attributes::WorkflowExecutionCompletedEventAttributes(a) => {
                outcome = Some(format!(
                    "      status: completed\n      output: {}\n",
                    first(a.result.as_ref())
                ));
            }
            Attributes::WorkflowExecutionFailedEventAttributes(a) => {
                let Answer::Error {
                    error_type,
                    message,
                    ..
                } = error(a.failure.as_ref())
                else {
                    continue;
                };
                outcome = Some(format!(
                    "      status: failed\n      error: {{ type: {}, message: {} }}\n",
                    Json::String(error_type),
                    Json::String(message)
                ));
            }
            Attributes::WorkflowExecutionCanceledEventAttributes(_) => {
                outcome = Some("      status: cancelled\n".into());
            }
            Attributes::WorkflowExecutionTimedOutEventAttributes(_) => {
                outcome = Some("      status: timed_out\n".into());
            }
            Attributes::WorkflowExecutionContinuedAsNewEventAttributes(_) => {
                return Err(
                    "this run continued as new: record its last run (pass its --run-id), or write the case by hand"
                        .into(),
                );
            }
            _ => {}
        }
    }
    if start_ms.is_none() {
        return Err("the history has no WorkflowExecutionStarted event".into());
    }
    let Some(outcome) = outcome else {
        return Err("the run has not finished: record it once it has closed".into());
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Recorded by `stave test --record` from run {}/{}.",
        recorded.workflow_id, recorded.run_id
    );
    let _ = writeln!(out, "stave_test: 1");
    let _ = writeln!(
        out,
        "workflow: {}",
        Json::String(recorded.workflow_type.clone())
    );
    let _ = writeln!(out, "cases:");
    let _ = writeln!(out, "  - name: {}", Json::String(name.to_string()));
    let _ = writeln!(
        out,
        "    id: {}",
        Json::String(recorded.workflow_id.clone())
    );
    let _ = writeln!(out, "    input: {input}");
    if !order.is_empty() {
        let _ = writeln!(out, "    mocks:");
    }
    for key in &order {
        let (kind, call_type, call_input) = key;
        let Some(c) = calls.get(key) else { continue };
        let _ = writeln!(out, "      - {kind}: {}", Json::String(call_type.clone()));
        let _ = writeln!(out, "        when: {call_input}");
        let _ = writeln!(out, "        respond:");
        for (answer, delay) in &c.answers {
            let delay = if *delay > 0 {
                format!(", delay: {}", format_ms(*delay))
            } else {
                String::new()
            };
            let text = match answer {
                Answer::Output(v) => format!("{{ output: {v}{delay} }}"),
                Answer::Error {
                    error_type,
                    message,
                    non_retryable,
                } => format!(
                    "{{ error: {{ type: {}, message: {}{} }}{delay} }}",
                    Json::String(error_type.clone()),
                    Json::String(message.clone()),
                    if *non_retryable {
                        ", non_retryable: true"
                    } else {
                        ""
                    }
                ),
                Answer::Timeout => "{ timeout: true }".to_string(),
            };
            let _ = writeln!(out, "          - {text}");
        }
    }
    if !signals.is_empty() {
        let _ = writeln!(out, "    signals:");
        for (at, name, payload) in &signals {
            let _ = writeln!(
                out,
                "      - {{ at: {}, name: {}, payload: {payload} }}",
                format_ms(*at),
                Json::String(name.clone())
            );
        }
    }
    // Updates a validator rejected left no trace in history: only accepted ones are replayed.
    if !updates.is_empty() {
        let _ = writeln!(out, "    updates:");
        for (at, name, payload, answer) in &updates {
            let answer = match answer {
                Some(Ok(value)) => format!(", expect: {value}"),
                Some(Err(message)) => format!(", rejected: {}", Json::String(message.clone())),
                // Still running when the history was read: its answer is unknown.
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "      - {{ at: {}, name: {}, payload: {payload}{answer} }}",
                format_ms(*at),
                Json::String(name.clone())
            );
        }
    }
    let _ = writeln!(out, "    expect:");
    out.push_str(&outcome);
    Ok(out)
}
