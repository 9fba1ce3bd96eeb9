//! Replaying recorded histories against definitions with core's replay worker: the CI gate.
//!
//! A history replays cleanly when the interpreter, fed the history's activations, issues the
//! same commands as the history recorded. Core compares them (command kind, activity id and
//! type, timer id…) and evicts the run with reason `Nondeterminism` and a message naming the
//! event when they differ; that is reported per history.
//!
//! Histories are read from Temporal's JSON (`temporal workflow show --output json`, the
//! `GetWorkflowExecutionHistory` response, or `{"events": [...]}` / a bare event list) through
//! a descriptor set of `temporal.api.history.v1` (`history.desc`, generated from the protos of
//! the `temporalio-protos` crate in use; see README.md beside it).

use std::collections::HashMap;
use std::sync::Arc;

use prost::Message;
use prost_reflect::{DescriptorPool, DeserializeOptions, DynamicMessage};
use serde_json::Value as Json;
use temporalio_client::tonic::IntoRequest as _;
use temporalio_common::protos::coresdk::workflow_activation::{
    remove_from_cache::EvictionReason, workflow_activation_job::Variant as Job,
};
use temporalio_common::protos::coresdk::workflow_completion::workflow_activation_completion;
use temporalio_common::protos::temporal::api::common::v1::WorkflowExecution;
use temporalio_common::protos::temporal::api::history::v1::{History, history_event::Attributes};
use temporalio_common::protos::temporal::api::workflowservice::v1::GetWorkflowExecutionHistoryRequest;
use temporalio_common::worker::WorkerTaskTypes;
use temporalio_sdk_core::replay::{HistoryForReplay, ReplayWorkerInput};
use temporalio_sdk_core::{PollError, WorkerConfig, WorkerVersioningStrategy, init_replay_worker};
use thiserror::Error;

pub mod progress;

use crate::ir::Workflow;
use crate::runtime::connect::Connected;
use crate::runtime::payload;
use crate::runtime::versions::{MEMO_KEY, PROGRAM_MEMO_KEY, Pin, VersionStore, decode_program};
use crate::runtime::worker::{ProgramChoice, Workflows};

/// `temporal.api.history.v1` and its dependencies, as a protobuf `FileDescriptorSet`.
static HISTORY_DESCRIPTOR: &[u8] = include_bytes!("history.desc");

/// Why histories could not be read or replayed (a nondeterministic history is not an error:
/// it is a [`Verdict::Failed`]).
#[derive(Debug, Error)]
pub enum ReplayError {
    /// `--history run.json` that is not JSON, or JSON that is not a history.
    #[error("{source_name}: not a Temporal history: {reason}")]
    Parse { source_name: String, reason: String },
    /// A history without its WorkflowExecutionStarted event (cut from the middle).
    #[error(
        "{source_name}: the history does not start with WorkflowExecutionStarted; export the whole history"
    )]
    NoStart { source_name: String },
    /// `--workflow-id` of a run the server does not know.
    #[error("cannot fetch the history of `{workflow_id}`: {reason}")]
    Fetch { workflow_id: String, reason: String },
    /// Core's replay worker refused to start or failed.
    #[error("the replay worker failed: {0}")]
    Worker(String),
}

/// A history to replay and where it came from (for messages).
#[derive(Debug, Clone)]
pub struct Recorded {
    /// File name or `workflow id/run id`.
    pub source_name: String,
    pub workflow_id: String,
    pub run_id: String,
    pub workflow_type: String,
    pub history: History,
}

/// The result of one history.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The commands matched the history to its end.
    Replayed,
    /// Nondeterminism or a failed workflow task, with core's or the interpreter's message.
    Failed(String),
}

/// One replayed history and its verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub source_name: String,
    pub workflow_id: String,
    pub run_id: String,
    pub workflow_type: String,
    /// The version the run is pinned to (`HASH@SEMANTICS`), when the replay reached it.
    pub version: Option<String>,
    pub verdict: Verdict,
}

/// Reads a history from Temporal's JSON forms.
pub fn parse_history(source_name: &str, text: &str) -> Result<Recorded, ReplayError> {
    let parse_error = |reason: String| ReplayError::Parse {
        source_name: source_name.to_owned(),
        reason,
    };
    let json: Json = serde_json::from_str(text).map_err(|e| parse_error(e.to_string()))?;
    let mut history = match json {
        Json::Array(events) => serde_json::json!({ "events": events }),
        Json::Object(mut map) => match map.remove("history") {
            // A GetWorkflowExecutionHistory response.
            Some(inner) => inner,
            None => Json::Object(map),
        },
        _ => return Err(parse_error("expected an object with `events`".into())),
    };
    normalise_event_types(&mut history);
    let pool = DescriptorPool::decode(HISTORY_DESCRIPTOR)
        .map_err(|e| parse_error(format!("history descriptor: {e}")))?;
    let descriptor = pool
        .get_message_by_name("temporal.api.history.v1.History")
        .ok_or_else(|| parse_error("history descriptor lacks History".into()))?;
    // Newer servers add fields; they do not matter for replay.
    let options = DeserializeOptions::new().deny_unknown_fields(false);
    let message = DynamicMessage::deserialize_with_options(descriptor, history, &options)
        .map_err(|e| parse_error(e.to_string()))?;
    let history = History::decode(message.encode_to_vec().as_slice())
        .map_err(|e| parse_error(e.to_string()))?;
    recorded(source_name, history, None)
}

/// Old `tctl` exports spell event types `WorkflowExecutionStarted`; protojson wants
/// `EVENT_TYPE_WORKFLOW_EXECUTION_STARTED`.
fn normalise_event_types(history: &mut Json) {
    let Some(Json::Array(events)) = history.get_mut("events") else {
        return;
    };
    for event in events {
        if let Some(Json::String(kind)) = event.get_mut("eventType")
            && !kind.starts_with("EVENT_TYPE_")
        {
            let mut screaming = String::from("EVENT_TYPE_");
            for (i, c) in kind.chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    screaming.push('_');
                }
                screaming.push(c.to_ascii_uppercase());
            }
            *kind = screaming;
        }
    }
}

fn recorded(
    source_name: &str,
    history: History,
    workflow_id: Option<&str>,
) -> Result<Recorded, ReplayError> {
    let started = history.events.first().and_then(|e| match &e.attributes {
        Some(Attributes::WorkflowExecutionStartedEventAttributes(a)) => Some(a),
        _ => None,
    });
    let Some(started) = started else {
        return Err(ReplayError::NoStart {
            source_name: source_name.to_owned(),
        });
    };
    let run_id = if started.original_execution_run_id.is_empty() {
        started.first_execution_run_id.clone()
    } else {
        started.original_execution_run_id.clone()
    };
    let workflow_id = workflow_id
        .map(str::to_owned)
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| {
            if started.workflow_id.is_empty() {
                format!("replay-{run_id}")
            } else {
                started.workflow_id.clone()
            }
        });
    Ok(Recorded {
        source_name: source_name.to_owned(),
        workflow_id,
        run_id,
        workflow_type: started
            .workflow_type
            .as_ref()
            .map(|t| t.name.clone())
            .unwrap_or_default(),
        history,
    })
}

/// Adds the program a history recorded (memo `stave.program`, at start or upserted on the
/// first task) to `store`, verified against the pin recorded beside it: a history replays
/// against its own program even when neither the files nor the store have that version.
fn seed_program(history: &History, store: &VersionStore) {
    if let (_, Some(program)) = recorded_program(history) {
        store.insert(program);
    }
}

/// The pin and the program a history's memos record (the start memo, then upserts); the
/// program only when it verifies against the pin.
fn recorded_program(history: &History) -> (Option<Pin>, Option<Workflow>) {
    let memos = history.events.iter().filter_map(|e| match &e.attributes {
        Some(Attributes::WorkflowExecutionStartedEventAttributes(a)) => a.memo.as_ref(),
        Some(Attributes::WorkflowPropertiesModifiedEventAttributes(a)) => a.upserted_memo.as_ref(),
        _ => None,
    });
    let (mut pin, mut program) = (None, None);
    for memo in memos {
        if let Some(Ok(Json::String(text))) = memo.fields.get(MEMO_KEY).map(payload::decode) {
            pin = pin.or_else(|| Pin::parse(&text));
        }
        program = program.or_else(|| memo.fields.get(PROGRAM_MEMO_KEY).cloned());
    }
    let program = match (&pin, program) {
        (Some(pin), Some(program)) => decode_program(&program, pin)
            .inspect_err(|e| tracing::warn!("{e}"))
            .ok(),
        _ => None,
    };
    (pin, program)
}

/// Fetches a run's whole history from the server (the latest run when `run_id` is None).
pub async fn fetch_history(
    connected: &Connected,
    workflow_id: &str,
    run_id: Option<&str>,
) -> Result<Recorded, ReplayError> {
    let mut service = connected.connection.workflow_service();
    let mut events = Vec::new();
    let mut next_page_token = Vec::new();
    loop {
        let request = GetWorkflowExecutionHistoryRequest {
            namespace: connected.namespace.clone(),
            execution: Some(WorkflowExecution {
                workflow_id: workflow_id.to_owned(),
                run_id: run_id.unwrap_or_default().to_owned(),
            }),
            next_page_token: next_page_token.clone(),
            ..Default::default()
        };
        let response = service
            .get_workflow_execution_history(request.into_request())
            .await
            .map_err(|status| ReplayError::Fetch {
                workflow_id: workflow_id.to_owned(),
                reason: status.message().to_owned(),
            })?
            .into_inner();
        if let Some(history) = response.history {
            events.extend(history.events);
        }
        if response.next_page_token.is_empty() {
            break;
        }
        next_page_token = response.next_page_token;
    }
    let name = match run_id {
        Some(run) => format!("{workflow_id}/{run}"),
        None => workflow_id.to_owned(),
    };
    recorded(&name, History { events }, Some(workflow_id))
}

/// Replays `histories` against `current` definitions and the `store`'s versions (`choice`
/// says which of the two a pinned run uses). One verdict per history, in input order.
pub async fn replay(
    histories: Vec<Recorded>,
    current: Vec<Arc<Workflow>>,
    store: Arc<VersionStore>,
    choice: ProgramChoice,
) -> Result<Vec<Outcome>, ReplayError> {
    let worker = replay_worker(&histories)?;
    for recorded in &histories {
        seed_program(&recorded.history, &store);
    }
    let mut state = Workflows::new("stave-replay", current, store);
    state.set_program_choice(choice);
    let mut failures: HashMap<String, String> = HashMap::new();
    let mut versions: HashMap<String, String> = HashMap::new();
    loop {
        let activation = match worker.poll_workflow_activation().await {
            Ok(activation) => activation,
            Err(PollError::ShutDown) => break,
            Err(e) => return Err(ReplayError::Worker(e.to_string())),
        };
        for job in &activation.jobs {
            if let Some(Job::RemoveFromCache(evict)) = &job.variant {
                let failed = matches!(
                    EvictionReason::try_from(evict.reason),
                    Ok(EvictionReason::Nondeterminism
                        | EvictionReason::LangFail
                        | EvictionReason::Fatal)
                );
                if failed {
                    failures
                        .entry(activation.run_id.clone())
                        .or_insert_with(|| core_message(&evict.message));
                }
            }
        }
        let completion = state.activate(&activation);
        if let Some((pin, _)) = state.status(&activation.run_id) {
            versions.insert(activation.run_id.clone(), pin.to_string());
        }
        if let Some(workflow_activation_completion::Status::Failed(failed)) = &completion.status {
            let message = failed
                .failure
                .as_ref()
                .map(|f| f.message.clone())
                .unwrap_or_default();
            failures
                .entry(activation.run_id.clone())
                .or_insert_with(|| core_message(&message));
        }
        worker
            .complete_workflow_activation(completion)
            .await
            .map_err(|e| ReplayError::Worker(e.to_string()))?;
    }
    worker.finalize_shutdown().await;
    Ok(histories
        .into_iter()
        .map(|h| Outcome {
            verdict: match failures.remove(&h.run_id) {
                Some(message) => Verdict::Failed(message),
                None => Verdict::Replayed,
            },
            version: versions.remove(&h.run_id),
            source_name: h.source_name,
            workflow_id: h.workflow_id,
            run_id: h.run_id,
            workflow_type: h.workflow_type,
        })
        .collect())
}

/// Core's replay worker, fed `histories` in order, on the task queue `stave-replay`.
fn replay_worker(histories: &[Recorded]) -> Result<temporalio_sdk_core::Worker, ReplayError> {
    let config = WorkerConfig::builder()
        .namespace("stave-replay")
        .task_queue("stave-replay")
        .task_types(WorkerTaskTypes::workflow_only())
        .versioning_strategy(WorkerVersioningStrategy::None {
            build_id: String::new(),
        })
        .max_outstanding_workflow_tasks(1_usize)
        .build()
        .map_err(ReplayError::Worker)?;
    let feed: Vec<HistoryForReplay> = histories
        .iter()
        .map(|h| HistoryForReplay::new(h.history.clone(), h.workflow_id.clone()))
        .collect();
    init_replay_worker(ReplayWorkerInput::new(config, futures::stream::iter(feed)))
        .map_err(|e| ReplayError::Worker(e.to_string()))
}

/// Core reports nondeterminism as the `Debug` text of a failed completion; the useful part is
/// its inner message (`[TMPRL1100] Nondeterminism error: … HistoryEvent(id: 8, TimerStarted)`).
fn core_message(text: &str) -> String {
    const START: &str = "message: \"";
    let Some(at) = text.find(START) else {
        return text.to_owned();
    };
    let rest = &text[at + START.len()..];
    let end = rest
        .find("\", source:")
        .or_else(|| rest.find('"'))
        .unwrap_or(rest.len());
    rest[..end].replace("\\\"", "\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOWN: &str = r#"{"events": [
      {"eventId": "1", "eventTime": "2026-11-26T12:33:58.148781010Z",
       "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED", "taskId": "1048587",
       "workflowExecutionStartedEventAttributes": {
         "workflowType": {"name": "noop"},
         "taskQueue": {"name": "nobody", "kind": "TASK_QUEUE_KIND_NORMAL"},
         "input": {"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "eyJuIjowfQ=="}]},
         "workflowTaskTimeout": "10s",
         "originalExecutionRunId": "01a217d9-2b84-7be3-a6c9-699c0af33ed6",
         "firstExecutionRunId": "01a217d9-2b84-7be3-a6c9-699c0af33ed6",
         "attempt": 1, "header": {}, "workflowId": "h1", "someFutureField": true}},
      {"eventId": "2", "eventType": "WorkflowTaskScheduled",
       "workflowTaskScheduledEventAttributes": {"taskQueue": {"name": "nobody"}, "attempt": 1}}
    ]}"#;

    #[test]
    fn reads_temporal_cli_json_with_unknown_fields_and_old_enum_names() {
        let recorded = parse_history("h1.json", SHOWN).unwrap();
        assert_eq!(recorded.workflow_id, "h1");
        assert_eq!(recorded.workflow_type, "noop");
        assert_eq!(recorded.run_id, "01a217d9-2b84-7be3-a6c9-699c0af33ed6");
        assert_eq!(recorded.history.events.len(), 2);
        assert_eq!(recorded.history.events[0].event_id, 1);
        let Some(Attributes::WorkflowExecutionStartedEventAttributes(started)) =
            &recorded.history.events[0].attributes
        else {
            panic!("first event is not the start");
        };
        let input = crate::runtime::payload::decode_args(&started.input.as_ref().unwrap().payloads)
            .unwrap();
        assert_eq!(input, serde_json::json!({"n": 0}));
    }

    #[test]
    fn reads_a_get_history_response_and_a_bare_event_list() {
        let value: Json = serde_json::from_str(SHOWN).unwrap();
        let response = serde_json::json!({"history": value, "nextPageToken": null});
        let recorded = parse_history("r.json", &response.to_string()).unwrap();
        assert_eq!(recorded.history.events.len(), 2);
        let list = value["events"].to_string();
        assert_eq!(
            parse_history("l.json", &list).unwrap().history.events.len(),
            2
        );
    }

    #[test]
    fn core_messages_are_unwrapped() {
        let raw = r#"Workflow activation completion failed: Failure { failure: Some(Failure { message: "[TMPRL1100] Nondeterminism error: Activity machine does not handle this event: HistoryEvent(id: 8, TimerStarted)", source: "", stack_trace: "" }) }"#;
        assert_eq!(
            core_message(raw),
            "[TMPRL1100] Nondeterminism error: Activity machine does not handle this event: HistoryEvent(id: 8, TimerStarted)"
        );
        assert_eq!(core_message("plain"), "plain");
    }

    #[test]
    fn rejects_non_histories_by_name() {
        let err = parse_history("x.json", "{").unwrap_err().to_string();
        assert!(err.starts_with("x.json: not a Temporal history"), "{err}");
        let err = parse_history("y.json", r#"{"events": []}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("WorkflowExecutionStarted"), "{err}");
        let err = parse_history("z.json", r#"{"events": [{"eventId": "x"}]}"#)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("z.json"), "{err}");
    }

    #[test]
    fn a_history_brings_its_own_program() {
        use temporalio_common::protos::temporal::api::common::v1::Memo;
        use temporalio_common::protos::temporal::api::history::v1::{
            HistoryEvent, WorkflowExecutionStartedEventAttributes,
            WorkflowPropertiesModifiedEventAttributes,
        };
        let program = crate::runtime::versions::tests::workflow("greet", "recorded");
        let pin = Pin::of(&program);
        let memo =
            |key: &str, value: temporalio_common::protos::temporal::api::common::v1::Payload| {
                let mut memo = Memo::default();
                memo.fields.insert(key.to_owned(), value);
                memo
            };
        let history = History {
            events: vec![
                HistoryEvent {
                    attributes: Some(Attributes::WorkflowExecutionStartedEventAttributes(
                        WorkflowExecutionStartedEventAttributes {
                            memo: Some(memo(
                                MEMO_KEY,
                                payload::encode(&Json::from(pin.to_string())),
                            )),
                            ..Default::default()
                        },
                    )),
                    ..Default::default()
                },
                HistoryEvent {
                    attributes: Some(Attributes::WorkflowPropertiesModifiedEventAttributes(
                        WorkflowPropertiesModifiedEventAttributes {
                            upserted_memo: Some(memo(
                                PROGRAM_MEMO_KEY,
                                crate::runtime::versions::encode_program(&program),
                            )),
                            ..Default::default()
                        },
                    )),
                    ..Default::default()
                },
            ],
        };
        let dir = tempfile::tempdir().unwrap();
        let store = VersionStore::new(dir.path());
        assert!(!store.is_cached(&pin));
        seed_program(&history, &store);
        assert_eq!(store.get("greet", &pin).unwrap().hash, program.hash);
    }
}
