//! Tests of the workflow activations of one task queue: pinning, recording, size guards.
use super::*;
use crate::runtime::versions::tests::workflow;
use serde_json::json;
use temporalio_common::protos::coresdk::workflow_activation::{
    NotifyHasPatch, RemoveFromCache, WorkflowActivationJob,
};

fn activation(run_id: &str, replaying: bool, jobs: Vec<Job>) -> WorkflowActivation {
    WorkflowActivation {
        run_id: run_id.into(),
        is_replaying: replaying,
        jobs: jobs
            .into_iter()
            .map(|v| WorkflowActivationJob { variant: Some(v) })
            .collect(),
        ..Default::default()
    }
}

fn init(workflow_type: &str, memo: Option<&str>) -> Job {
    Job::InitializeWorkflow(InitializeWorkflow {
        workflow_type: workflow_type.into(),
        workflow_id: "wf-1".into(),
        arguments: vec![payload::encode(&json!({"n": 1}))],
        memo: memo.map(|m| {
            let mut memo = Memo::default();
            memo.fields
                .insert(MEMO_KEY.into(), payload::encode(&json!(m)));
            memo
        }),
        ..Default::default()
    })
}

fn commands(completion: &WorkflowActivationCompletion) -> Vec<Command> {
    match &completion.status {
        Some(workflow_activation_completion::Status::Successful(s)) => s
            .commands
            .iter()
            .filter_map(|c| c.variant.clone())
            .collect(),
        other => panic!("not successful: {other:?}"),
    }
}

fn failure(completion: &WorkflowActivationCompletion) -> String {
    match &completion.status {
        Some(workflow_activation_completion::Status::Failed(f)) => f
            .failure
            .as_ref()
            .map(|f| f.message.clone())
            .unwrap_or_default(),
        other => panic!("not a task failure: {other:?}"),
    }
}

fn output(cmds: &[Command]) -> serde_json::Value {
    cmds.iter()
        .find_map(|c| match c {
            Command::CompleteWorkflowExecution(done) => {
                Some(payload::decode_opt(done.result.as_ref()).unwrap())
            }
            _ => None,
        })
        .expect("the run completes")
}

fn served(dir: &std::path::Path, current: &Arc<Workflow>) -> Workflows {
    let store = Arc::new(VersionStore::new(dir));
    store.record(current).unwrap();
    Workflows::new("tq", [current.clone()], store)
}

#[test]
fn a_new_run_records_its_pin_first() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = workflow("greet", "v1");
    let mut wf = served(dir.path(), &v1);
    let done = wf.activate(&activation("r1", false, vec![init("greet", None)]));
    let cmds = commands(&done);
    let Command::SetPatchMarker(marker) = &cmds[0] else {
        panic!("first command is not the version marker: {cmds:?}");
    };
    assert_eq!(marker.patch_id, Pin::of(&v1).patch_id());
    assert!(matches!(&cmds[1], Command::SetPatchMarker(m) if m.patch_id == PROGRAM_PATCH));
    // One upsert records the pin and the program, which reads back under the pin.
    let Command::ModifyWorkflowProperties(upsert) = &cmds[2] else {
        panic!("third command is not the memo upsert: {cmds:?}");
    };
    let memo = &upsert.upserted_memo.as_ref().unwrap().fields;
    assert!(memo.contains_key(MEMO_KEY));
    let recorded = decode_program(&memo[PROGRAM_MEMO_KEY], &Pin::of(&v1)).unwrap();
    assert_eq!(recorded.hash, v1.hash);
    assert_eq!(output(&cmds), json!("v1"));
    assert_eq!(wf.status("r1").map(|(pin, _)| pin), Some(Pin::of(&v1)));
}

#[test]
fn what_the_start_memo_holds_is_not_upserted_again() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = workflow("greet", "v1");
    let mut wf = served(dir.path(), &v1);
    // A pin only (an earlier `stave start`): the program alone is upserted.
    let done = wf.activate(&activation(
        "r1",
        false,
        vec![init("greet", Some(&v1.hash))],
    ));
    let cmds = commands(&done);
    assert!(matches!(cmds[0], Command::SetPatchMarker(_)));
    let upserted: Vec<&String> = cmds
        .iter()
        .filter_map(|c| match c {
            Command::ModifyWorkflowProperties(m) => m.upserted_memo.as_ref(),
            _ => None,
        })
        .flat_map(|m| m.fields.keys())
        .collect();
    assert_eq!(upserted, vec![PROGRAM_MEMO_KEY]);
    // Pin and program (today's `stave start` and schedules): nothing is upserted.
    let mut start = Memo::default();
    for (key, value) in crate::runtime::versions::start_memo(&v1) {
        start.fields.insert(key, payload::encode(&value));
    }
    let full = Job::InitializeWorkflow(InitializeWorkflow {
        workflow_type: "greet".into(),
        workflow_id: "wf-2".into(),
        memo: Some(start),
        ..Default::default()
    });
    let cmds = commands(&wf.activate(&activation("r2", false, vec![full])));
    assert!(
        !cmds
            .iter()
            .any(|c| matches!(c, Command::ModifyWorkflowProperties(_)))
    );
}

#[test]
fn a_program_in_the_start_memo_runs_on_a_worker_that_never_saw_it() {
    let v1 = workflow("greet", "v1");
    let mut start = Memo::default();
    for (key, value) in crate::runtime::versions::start_memo(&v1) {
        start.fields.insert(key, payload::encode(&value));
    }
    // This worker serves v2 and its store is empty.
    let dir = tempfile::tempdir().unwrap();
    let mut wf = served(dir.path(), &workflow("greet", "v2"));
    let job = Job::InitializeWorkflow(InitializeWorkflow {
        workflow_type: "greet".into(),
        workflow_id: "wf-1".into(),
        memo: Some(start),
        ..Default::default()
    });
    let first = activation("r1", true, vec![job]);
    assert_eq!(wf.missing_program(&first), None);
    let cmds = commands(&wf.activate(&first));
    assert_eq!(output(&cmds), json!("v1"));
}

#[test]
fn a_pinned_run_not_in_memory_is_reported_missing_before_activation() {
    let v1 = workflow("greet", "v1");
    let dir = tempfile::tempdir().unwrap();
    let wf = served(dir.path(), &workflow("greet", "v2"));
    let marker = Job::NotifyHasPatch(NotifyHasPatch {
        patch_id: Pin::of(&v1).patch_id(),
    });
    let replay = activation("r1", true, vec![init("greet", None), marker]);
    let missing = wf.missing_program(&replay).expect("v1 is missing");
    assert_eq!(missing.pin, Pin::of(&v1));
    assert_eq!(missing.workflow_id, "wf-1");
}

#[test]
fn a_replayed_run_keeps_the_version_it_started_with() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = workflow("greet", "v1");
    served(dir.path(), &v1);
    // The file changed: the worker now serves v2, the store still has v1.
    let v2 = workflow("greet", "v2");
    let mut wf = served(dir.path(), &v2);
    let patch = Job::NotifyHasPatch(NotifyHasPatch {
        patch_id: Pin::of(&v1).patch_id(),
    });
    let done = wf.activate(&activation("r1", true, vec![init("greet", None), patch]));
    let cmds = commands(&done);
    assert_eq!(output(&cmds), json!("v1"));
    // A new run takes the current definition.
    let done = wf.activate(&activation("r2", false, vec![init("greet", None)]));
    assert_eq!(output(&commands(&done)), json!("v2"));
    // Asked to ignore pins (replay --current), the old run gets v2 but records v1.
    wf.set_program_choice(ProgramChoice::Current);
    let patch = Job::NotifyHasPatch(NotifyHasPatch {
        patch_id: Pin::of(&v1).patch_id(),
    });
    let done = wf.activate(&activation("r3", true, vec![init("greet", None), patch]));
    let cmds = commands(&done);
    assert_eq!(output(&cmds), json!("v2"));
    assert!(
        matches!(&cmds[0], Command::SetPatchMarker(m) if m.patch_id == Pin::of(&v1).patch_id())
    );
}

#[test]
fn a_missing_version_fails_the_task_not_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let v2 = workflow("greet", "v2");
    let mut wf = served(dir.path(), &v2);
    let lost = workflow("greet", "lost");
    let patch = Job::NotifyHasPatch(NotifyHasPatch {
        patch_id: Pin::of(&lost).patch_id(),
    });
    let done = wf.activate(&activation("r1", true, vec![init("greet", None), patch]));
    let message = failure(&done);
    assert!(message.contains(Pin::of(&lost).short()), "{message}");
    assert_eq!(wf.cached(), 0);
}

#[test]
fn an_unknown_type_fails_the_task_and_names_what_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let mut wf = served(dir.path(), &workflow("greet", "v1"));
    let message = failure(&wf.activate(&activation("r1", false, vec![init("gret", None)])));
    assert!(message.contains("`gret` is not defined"), "{message}");
    assert!(message.contains("served here: greet"), "{message}");
}

#[test]
fn eviction_completes_empty_and_forgets_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut wf = served(dir.path(), &workflow("greet", "v1"));
    wf.activate(&activation("r1", false, vec![init("greet", None)]));
    assert_eq!(wf.cached(), 1);
    let evict = Job::RemoveFromCache(RemoveFromCache::default());
    let done = wf.activate(&activation("r1", false, vec![evict]));
    assert!(commands(&done).is_empty());
    assert_eq!(wf.cached(), 0);
}

#[test]
fn a_replay_without_the_marker_does_not_add_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut wf = served(dir.path(), &workflow("greet", "v1"));
    let done = wf.activate(&activation("r1", true, vec![init("greet", None)]));
    let cmds = commands(&done);
    assert!(!cmds.iter().any(|c| matches!(c, Command::SetPatchMarker(_))));
}

#[test]
fn an_oversized_output_fails_the_run_instead_of_every_task() {
    let dir = tempfile::tempdir().unwrap();
    let big = workflow("big", &"x".repeat(4000));
    let mut wf = served(dir.path(), &big);
    wf.set_payload_limit(1000);
    let cmds = commands(&wf.activate(&activation("r1", false, vec![init("big", None)])));
    let Some(Command::FailWorkflowExecution(fail)) = cmds.last() else {
        panic!("the run is not failed: {cmds:?}");
    };
    let failure = fail.failure.as_ref().unwrap();
    assert!(
        failure.message.contains("the workflow output"),
        "{}",
        failure.message
    );
    assert!(matches!(
        &failure.failure_info,
        Some(FailureInfo::ApplicationFailureInfo(info)) if info.r#type == PAYLOAD_TOO_LARGE && info.non_retryable
    ));
    assert!(matches!(cmds[0], Command::SetPatchMarker(_)));
}

#[test]
fn a_fan_out_too_wide_for_one_completion_fails_the_run() {
    // 48 activities of 100 KB each: every command is under the payload limit, together
    // they are over what one completion may carry.
    let branch = |i: usize| {
        serde_json::json!({"name": format!("b{i}"), "steps": [{
            "index": i + 1, "id": null, "guard": null,
            "kind": {"activity": {
                "activity": "log", "args": {"input": {"literal": "x".repeat(100_000)}},
                "task_queue": "default", "start_to_close_ms": 1000,
                "schedule_to_close_ms": null, "schedule_to_start_ms": null,
                "heartbeat_ms": null, "retry": null, "summary": null, "compensate": null
            }}
        }]})
    };
    let mut wide = workflow("wide", "done").as_ref().clone();
    wide.steps = serde_json::from_value(serde_json::json!([{
        "index": 0, "id": "fan", "guard": null,
        "kind": {"parallel": {"branches": (0..48).map(branch).collect::<Vec<_>>(), "race": false}}
    }]))
    .unwrap();
    wide.step_count = 49;
    wide.hash = wide.compute_hash();
    let dir = tempfile::tempdir().unwrap();
    let mut wf = served(dir.path(), &Arc::new(wide));
    let cmds = commands(&wf.activate(&activation("r1", false, vec![init("wide", None)])));
    let Some(Command::FailWorkflowExecution(fail)) = cmds.last() else {
        panic!("the run is not failed: {} commands", cmds.len());
    };
    let message = &fail.failure.as_ref().unwrap().message;
    assert!(
        message.contains("more than a task completion may carry"),
        "{message}"
    );
    let total: usize = cmds.iter().map(|c| command(c.clone()).encoded_len()).sum();
    assert!(total < COMPLETION_LIMIT);
}
