//! What one run did, step by step: its history replayed with coverage, and its calls' outcomes.
//!
//! The replay (the run's own pinned program, fed its history by core's replay worker) says
//! which steps were reached, which branches taken and which steps wait now; the history's
//! events say how each activity and child workflow ended and after how many attempts. An
//! activity names its step in the `stave-step` header of its scheduled event
//! (`logging::step_headers`); a child started under its default id names it in the id
//! (`PARENT-ID/STEP[/ITERATION…]`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::Value as Json;
use temporalio_common::protos::coresdk::workflow_activation::{
    remove_from_cache::EvictionReason, workflow_activation_job::Variant as Job,
};
use temporalio_common::protos::coresdk::workflow_completion::workflow_activation_completion;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
use temporalio_sdk_core::PollError;

use super::{Recorded, ReplayError, core_message, recorded_program, replay_worker};
use crate::ir::coverage::CoveragePoint;
use crate::ir::{StepKind, Workflow};
use crate::runtime::logging::STEP_HEADER;
use crate::runtime::payload;
use crate::runtime::versions::VersionStore;
use crate::runtime::worker::Workflows;

/// How a run stands, from its last event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    Running,
    Completed,
    Failed,
    /// Canceled, terminated, timed out or continued as new.
    Other,
}

/// How one step's activity or child workflow ended (the last time it ran).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallEnd {
    /// Scheduled or started and not closed yet.
    Open,
    Completed,
    /// Failed, timed out, canceled or terminated.
    Failed,
}

/// A step's calls: the last one's end, and the most attempts any of them took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    pub end: CallEnd,
    pub attempts: u32,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Progress {
    /// The program the run is pinned to.
    pub program: Arc<Workflow>,
    pub run: RunEnd,
    /// Steps reached and branches taken (`ir::coverage`).
    pub reached: BTreeSet<CoveragePoint>,
    /// Names of the steps waiting at the end of the history, in program order.
    pub waiting: Vec<String>,
    /// Activity and child-workflow steps by step index.
    pub calls: BTreeMap<u32, Call>,
    /// Compensating activities by the index of the step they undo.
    pub compensations: BTreeMap<u32, Call>,
    /// Why the replay stopped short of the history's end (nondeterminism, a failed task):
    /// what was reached after that point is missing.
    pub replay_failure: Option<String>,
}

/// Replays `recorded` (its program from its own memo, else from `store`) and reads its calls.
/// `pending_attempts` maps the activity id of each activity still pending to its current
/// attempt (from `DescribeWorkflowExecution`; history records attempts only when they end).
pub async fn progress(
    recorded: &Recorded,
    store: Arc<VersionStore>,
    pending_attempts: &HashMap<String, u32>,
) -> Result<Progress, ReplayError> {
    let (pin, program) = recorded_program(&recorded.history);
    let pin = pin.ok_or_else(|| ReplayError::Fetch {
        workflow_id: recorded.workflow_id.clone(),
        reason: "the run records no pinned version (no Stave worker has run it)".into(),
    })?;
    if let Some(program) = program {
        // In memory only: drawing a run writes nothing.
        store.remember(program);
    }
    let program = store
        .get(&recorded.workflow_type, &pin)
        .map_err(|e| ReplayError::Fetch {
            workflow_id: recorded.workflow_id.clone(),
            reason: e.to_string(),
        })?;
    let worker = replay_worker(std::slice::from_ref(recorded))?;
    let mut state = Workflows::new("stave-replay", Vec::<Arc<Workflow>>::new(), store);
    state.enable_coverage();
    let (mut reached, mut waiting, mut replay_failure) = (BTreeSet::new(), Vec::new(), None);
    loop {
        let activation = match worker.poll_workflow_activation().await {
            Ok(activation) => activation,
            Err(PollError::ShutDown) => break,
            Err(e) => return Err(ReplayError::Worker(e.to_string())),
        };
        let mut evicted = false;
        for job in &activation.jobs {
            if let Some(Job::RemoveFromCache(evict)) = &job.variant {
                evicted = true;
                let failed = matches!(
                    EvictionReason::try_from(evict.reason),
                    Ok(EvictionReason::Nondeterminism
                        | EvictionReason::LangFail
                        | EvictionReason::Fatal)
                );
                if failed {
                    replay_failure.get_or_insert_with(|| core_message(&evict.message));
                }
            }
        }
        let completion = state.activate(&activation);
        if let Some(workflow_activation_completion::Status::Failed(failed)) = &completion.status {
            let message = failed.failure.as_ref().map(|f| f.message.as_str());
            replay_failure.get_or_insert_with(|| core_message(message.unwrap_or_default()));
        }
        if !evicted {
            if let Some(points) = state.coverage(&activation.run_id) {
                reached.extend(points);
            }
            if let Some((_, status)) = state.status(&activation.run_id) {
                waiting = status.current_steps;
            }
        }
        worker
            .complete_workflow_activation(completion)
            .await
            .map_err(|e| ReplayError::Worker(e.to_string()))?;
    }
    worker.finalize_shutdown().await;
    let (calls, compensations) = calls(recorded, &program, pending_attempts);
    let run = run_end(recorded);
    if run != RunEnd::Running {
        waiting.clear();
    }
    Ok(Progress {
        program,
        run,
        reached,
        waiting,
        calls,
        compensations,
        replay_failure,
    })
}

fn run_end(recorded: &Recorded) -> RunEnd {
    recorded
        .history
        .events
        .iter()
        .rev()
        .find_map(|e| match e.attributes.as_ref()? {
            Attributes::WorkflowExecutionCompletedEventAttributes(_) => Some(RunEnd::Completed),
            Attributes::WorkflowExecutionFailedEventAttributes(_) => Some(RunEnd::Failed),
            Attributes::WorkflowExecutionCanceledEventAttributes(_)
            | Attributes::WorkflowExecutionTerminatedEventAttributes(_)
            | Attributes::WorkflowExecutionTimedOutEventAttributes(_)
            | Attributes::WorkflowExecutionContinuedAsNewEventAttributes(_) => Some(RunEnd::Other),
            _ => None,
        })
        .unwrap_or(RunEnd::Running)
}

/// What a scheduled event was for.
#[derive(Clone, Copy)]
enum Target {
    Step(u32),
    Compensation(u32),
}

/// Each activity and child step's calls, and each compensation, from the history's events.
fn calls(
    recorded: &Recorded,
    program: &Workflow,
    pending_attempts: &HashMap<String, u32>,
) -> (BTreeMap<u32, Call>, BTreeMap<u32, Call>) {
    let mut by_name: HashMap<String, (u32, &StepKind)> = HashMap::new();
    program.walk(&mut |step| {
        by_name.insert(step.name(), (step.index, &step.kind));
    });
    let mut children_by_type: HashMap<&str, Vec<u32>> = HashMap::new();
    program.walk(&mut |step| {
        if let StepKind::Child(call) = &step.kind {
            children_by_type
                .entry(call.workflow.as_str())
                .or_default()
                .push(step.index);
        }
    });
    let parent_prefix = format!("{}/", recorded.workflow_id);
    let mut opened: HashMap<i64, (Target, Call)> = HashMap::new();
    let mut order: Vec<i64> = Vec::new();
    for event in &recorded.history.events {
        let Some(attributes) = &event.attributes else {
            continue;
        };
        let (scheduled, end, attempt) = match attributes {
            Attributes::ActivityTaskScheduledEventAttributes(a) => {
                let step = a
                    .header
                    .as_ref()
                    .and_then(|h| h.fields.get(STEP_HEADER))
                    .and_then(|p| payload::decode(p).ok());
                let Some(Json::String(step)) = step else {
                    continue;
                };
                let Some((index, kind)) = by_name.get(&step) else {
                    continue;
                };
                let activity = a.activity_type.as_ref().map(|t| t.name.as_str());
                // A compensation carries the name of the step it undoes.
                // A compensation carries the name of the step it undoes; when it calls the
                // step's own activity, it is the second call.
                let undoes = matches!(kind, StepKind::Activity(call)
                    if call.compensate.as_ref().map(|u| u.activity.as_str()) == activity);
                let own = matches!(kind, StepKind::Activity(call)
                    if Some(call.activity.as_str()) == activity);
                let ran = opened
                    .values()
                    .any(|(t, _)| matches!(t, Target::Step(i) if i == index));
                let target = if undoes && (!own || ran) {
                    Target::Compensation(*index)
                } else {
                    Target::Step(*index)
                };
                let attempts = pending_attempts.get(&a.activity_id).copied().unwrap_or(1);
                opened.insert(
                    event.event_id,
                    (
                        target,
                        Call {
                            end: CallEnd::Open,
                            attempts,
                        },
                    ),
                );
                order.push(event.event_id);
                continue;
            }
            Attributes::StartChildWorkflowExecutionInitiatedEventAttributes(a) => {
                let from_id = a
                    .workflow_id
                    .strip_prefix(&parent_prefix)
                    .and_then(|rest| rest.split('/').next())
                    .and_then(|name| by_name.get(name))
                    .map(|(index, _)| *index);
                let by_type = a
                    .workflow_type
                    .as_ref()
                    .and_then(|t| children_by_type.get(t.name.as_str()))
                    .filter(|steps| steps.len() == 1)
                    .map(|steps| steps[0]);
                let Some(index) = from_id.or(by_type) else {
                    continue;
                };
                opened.insert(
                    event.event_id,
                    (
                        Target::Step(index),
                        Call {
                            end: CallEnd::Open,
                            attempts: 1,
                        },
                    ),
                );
                order.push(event.event_id);
                continue;
            }
            Attributes::ActivityTaskStartedEventAttributes(a) => {
                (a.scheduled_event_id, None, Some(a.attempt))
            }
            Attributes::ActivityTaskCompletedEventAttributes(a) => {
                (a.scheduled_event_id, Some(CallEnd::Completed), None)
            }
            Attributes::ActivityTaskFailedEventAttributes(a) => {
                (a.scheduled_event_id, Some(CallEnd::Failed), None)
            }
            Attributes::ActivityTaskTimedOutEventAttributes(a) => {
                (a.scheduled_event_id, Some(CallEnd::Failed), None)
            }
            Attributes::ActivityTaskCanceledEventAttributes(a) => {
                (a.scheduled_event_id, Some(CallEnd::Failed), None)
            }
            Attributes::ChildWorkflowExecutionCompletedEventAttributes(a) => {
                (a.initiated_event_id, Some(CallEnd::Completed), None)
            }
            Attributes::ChildWorkflowExecutionFailedEventAttributes(a) => {
                (a.initiated_event_id, Some(CallEnd::Failed), None)
            }
            Attributes::ChildWorkflowExecutionCanceledEventAttributes(a) => {
                (a.initiated_event_id, Some(CallEnd::Failed), None)
            }
            Attributes::ChildWorkflowExecutionTimedOutEventAttributes(a) => {
                (a.initiated_event_id, Some(CallEnd::Failed), None)
            }
            Attributes::ChildWorkflowExecutionTerminatedEventAttributes(a) => {
                (a.initiated_event_id, Some(CallEnd::Failed), None)
            }
            Attributes::StartChildWorkflowExecutionFailedEventAttributes(a) => {
                (a.initiated_event_id, Some(CallEnd::Failed), None)
            }
            _ => continue,
        };
        if let Some((_, call)) = opened.get_mut(&scheduled) {
            if let Some(end) = end {
                call.end = end;
            }
            if let Some(attempt) = attempt.and_then(|a| u32::try_from(a).ok()) {
                call.attempts = call.attempts.max(attempt);
            }
        }
    }
    let (mut steps, mut compensations) = (BTreeMap::new(), BTreeMap::new());
    for id in order {
        let Some((target, call)) = opened.remove(&id) else {
            continue;
        };
        let (map, index) = match target {
            Target::Step(i) => (&mut steps, i),
            Target::Compensation(i) => (&mut compensations, i),
        };
        let merged = map.entry(index).or_insert(call);
        merged.end = call.end;
        merged.attempts = merged.attempts.max(call.attempts);
    }
    (steps, compensations)
}
