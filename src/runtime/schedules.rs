//! Schedules: the `schedules:` of workflow files as Temporal Schedules, synced so the server matches the files.
//!
//! Ownership. A schedule belongs to Stave when its id starts with [`ID_PREFIX`] (`stave:` +
//! the file's schedule id) *and* its memo has [`OWNED_MEMO_KEY`] = true. Sync creates,
//! updates and deletes only such schedules; any other schedule of the namespace is left
//! alone, and a foreign schedule squatting on a `stave:` id is an error, never overwritten.
//! One namespace holds the schedules of one project: a sync deletes every Stave-owned
//! schedule that the project's files do not declare.
//!
//! Change detection. The server rewrites specs (a cron string comes back as a structured
//! calendar), so the definition is compared by hash: the started workflow's memo carries
//! [`DEFINITION_MEMO_KEY`] = sha256 of (workflow type, task queue, version, timeout, spec,
//! timezone, overlap, input). `paused` is compared with the server's state, so a schedule an
//! operator paused by hand is unpaused by the next sync when the file says so — the file wins.
//!
//! Pinning. The action starts the workflow type on its task queue with the same start memo as
//! `stave start` ([`versions::start_memo`], `stave.version` = `HASH@SEMANTICS`): each scheduled
//! run is pinned to the definition that was synced. Deploy workers that know a version before syncing it.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};
use temporalio_client::tonic::{Code, IntoRequest as _, Status};
use temporalio_common::protos::temporal::api::common::v1::{Memo, WorkflowType};
use temporalio_common::protos::temporal::api::enums::v1::{ScheduleOverlapPolicy, TaskQueueKind};
use temporalio_common::protos::temporal::api::schedule::v1::{
    IntervalSpec, Schedule, ScheduleAction, SchedulePolicies, ScheduleSpec, ScheduleState,
    schedule_action::Action as ScheduledAction,
};
use temporalio_common::protos::temporal::api::taskqueue::v1::TaskQueue;
use temporalio_common::protos::temporal::api::workflow::v1::NewWorkflowExecutionInfo;
use temporalio_common::protos::temporal::api::workflowservice::v1::{
    CreateScheduleRequest, DeleteScheduleRequest, DescribeScheduleRequest,
    DescribeScheduleResponse, ListSchedulesRequest, UpdateScheduleRequest,
};
use thiserror::Error;

use crate::ir::{self, Bundle, Overlap};
use crate::runtime::client::{Client, rfc3339};
use crate::runtime::{payload, versions};

/// Prefix of the id of every Stave-owned schedule: `stave:nightly-reconcile`.
pub const ID_PREFIX: &str = "stave:";
/// Schedule memo field marking a schedule as Stave-owned (value `true`).
pub const OWNED_MEMO_KEY: &str = "stave.owned";
/// Schedule memo field naming the workflow type (for `stave schedules list`).
pub const WORKFLOW_MEMO_KEY: &str = "stave.workflow";
/// Memo field of the scheduled workflow holding the schedule's definition hash.
pub const DEFINITION_MEMO_KEY: &str = "stave.schedule";

/// What can go wrong planning or applying a sync, or listing.
#[derive(Debug, Error)]
pub enum ScheduleError {
    /// Two workflow files declare `schedules: [{id: nightly, …}]`.
    #[error(
        "schedule id `{id}` is declared by workflow `{first}` and by workflow `{second}`; schedule ids are unique in a namespace — rename one"
    )]
    DuplicateId {
        id: String,
        first: String,
        second: String,
    },
    /// A schedule's `input:` does not match the workflow's `input:` schema.
    #[error(
        "schedule `{id}` of workflow `{workflow}` has an invalid input:\n{problems}\n  help: the input must match the workflow's `input:` schema"
    )]
    InvalidInput {
        id: String,
        workflow: String,
        problems: String,
    },
    /// `stave:nightly` exists but was not created by Stave (no `stave.owned` memo).
    #[error(
        "schedule `{schedule_id}` exists but is not Stave-owned (its memo lacks {OWNED_MEMO_KEY}=true); rename the schedule in the file or delete the other one (`temporal schedule delete --schedule-id '{schedule_id}'`)"
    )]
    NotOwned { schedule_id: String },
    /// The server went away.
    #[error(
        "cannot reach the Temporal server at {address} ({what}): {message}\n  help: start a local server with `stave dev`, or point TEMPORAL_ADDRESS / --address at a running one"
    )]
    Unavailable {
        address: String,
        what: String,
        message: String,
    },
    /// The server refused: a malformed cron, an unknown time zone, permissions.
    #[error("the server refused to {what} schedule `{schedule_id}`: {message} ({code:?})")]
    Rpc {
        what: &'static str,
        schedule_id: String,
        code: Code,
        message: String,
    },
}

/// A schedule as the files declare it.
#[derive(Debug, Clone)]
pub struct Desired {
    /// Server id: `stave:` + the file's id.
    pub schedule_id: String,
    pub workflow: String,
    /// The workflow file that declares it.
    pub source: String,
    /// Hash of everything but `paused`.
    pub definition: String,
    pub paused: bool,
    pub schedule: Schedule,
}

/// What a sync does to one schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Delete,
    Unchanged,
}

impl Action {
    pub fn verb(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Unchanged => "unchanged",
        }
    }
}

/// One line of a sync plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub schedule_id: String,
    /// The workflow type (from the file, or the server's memo for deletions).
    pub workflow: String,
    pub action: Action,
    /// Why (`new`, `definition changed`, `paused in the file`, `no longer in the files`).
    pub reason: String,
}

/// A schedule on the server, for `stave schedules list`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Listed {
    pub schedule_id: String,
    pub workflow: String,
    pub owned: bool,
    pub paused: bool,
    pub notes: String,
    /// Next scheduled start times (RFC 3339), soonest first.
    pub next_runs: Vec<String>,
    /// Runs started so far among the recent actions the server keeps.
    pub recent_runs: usize,
}

/// The schedules of every workflow of the bundle, checked (unique ids, valid input).
pub fn desired(bundle: &Bundle) -> Result<Vec<Desired>, ScheduleError> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    let mut out = Vec::new();
    for workflow in &bundle.workflows {
        for schedule in &workflow.schedules {
            if let Some(first) = seen.insert(&schedule.id, &workflow.name) {
                return Err(ScheduleError::DuplicateId {
                    id: schedule.id.clone(),
                    first: first.to_owned(),
                    second: workflow.name.clone(),
                });
            }
            if let Some(schema) = &workflow.input_schema {
                let problems = crate::jsonschema::validate(schema, &schedule.input, "input");
                if !problems.is_empty() {
                    return Err(ScheduleError::InvalidInput {
                        id: schedule.id.clone(),
                        workflow: workflow.name.clone(),
                        problems: problems
                            .iter()
                            .map(|p| format!("  {p}"))
                            .collect::<Vec<_>>()
                            .join("\n"),
                    });
                }
            }
            let priority = match &workflow.priority {
                Some(p) => Some(
                    crate::runtime::client::priority_for_start(
                        p,
                        &schedule.input,
                        &schedule.id,
                        &workflow.name,
                    )
                    .map_err(|e| ScheduleError::InvalidInput {
                        id: schedule.id.clone(),
                        workflow: workflow.name.clone(),
                        problems: format!("  {e}"),
                    })?,
                ),
                None => None,
            };
            out.push(build(workflow, schedule, priority));
        }
    }
    Ok(out)
}

fn build(
    workflow: &ir::Workflow,
    schedule: &ir::Schedule,
    priority: Option<temporalio_common::protos::temporal::api::common::v1::Priority>,
) -> Desired {
    let definition = definition_hash(workflow, schedule);
    let spec = match &schedule.spec {
        ir::ScheduleSpec::Cron(cron) => ScheduleSpec {
            cron_string: vec![cron.clone()],
            timezone_name: schedule.timezone.clone(),
            ..Default::default()
        },
        ir::ScheduleSpec::EveryMs(ms) => ScheduleSpec {
            interval: vec![IntervalSpec {
                interval: Some(duration(*ms)),
                phase: None,
            }],
            timezone_name: schedule.timezone.clone(),
            ..Default::default()
        },
    };
    let mut memo = Memo::default();
    for (key, value) in versions::start_memo(workflow) {
        memo.fields.insert(key, payload::encode(&value));
    }
    memo.fields.insert(
        DEFINITION_MEMO_KEY.to_owned(),
        payload::encode(&Json::String(definition.clone())),
    );
    let start = NewWorkflowExecutionInfo {
        // The server appends the scheduled time to keep run ids unique.
        workflow_id: schedule.id.clone(),
        workflow_type: Some(WorkflowType {
            name: workflow.name.clone(),
        }),
        task_queue: Some(TaskQueue {
            name: workflow.task_queue.clone(),
            kind: TaskQueueKind::Normal as i32,
            ..Default::default()
        }),
        input: Some(payload::encode_payloads([&schedule.input])),
        workflow_execution_timeout: workflow.execution_timeout_ms.map(duration),
        memo: Some(memo),
        // The workflow's `priority:`, evaluated over the schedule's input.
        priority,
        ..Default::default()
    };
    let schedule_proto = Schedule {
        spec: Some(spec),
        action: Some(ScheduleAction {
            action: Some(ScheduledAction::StartWorkflow(start)),
        }),
        policies: Some(SchedulePolicies {
            overlap_policy: overlap_policy(schedule.overlap) as i32,
            ..Default::default()
        }),
        state: Some(ScheduleState {
            notes: format!(
                "managed by `stave schedules sync` from {}; edit the file, not the schedule",
                workflow.source
            ),
            paused: schedule.paused,
            ..Default::default()
        }),
    };
    Desired {
        schedule_id: format!("{ID_PREFIX}{}", schedule.id),
        workflow: workflow.name.clone(),
        source: workflow.source.clone(),
        definition,
        paused: schedule.paused,
        schedule: schedule_proto,
    }
}

/// sha256 over what the schedule starts and when, `paused` excluded (compared separately).
fn definition_hash(workflow: &ir::Workflow, schedule: &ir::Schedule) -> String {
    let mut spec = serde_json::to_value(schedule).unwrap_or(Json::Null);
    if let Json::Object(map) = &mut spec {
        map.remove("paused");
    }
    let canonical = json!({
        "workflow": workflow.name,
        "task_queue": workflow.task_queue,
        "version": versions::Pin::of(workflow).to_string(),
        "execution_timeout_ms": workflow.execution_timeout_ms,
        "schedule": spec,
    });
    let digest = Sha256::digest(serde_json::to_vec(&canonical).unwrap_or_default());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn overlap_policy(overlap: Overlap) -> ScheduleOverlapPolicy {
    match overlap {
        Overlap::Skip => ScheduleOverlapPolicy::Skip,
        Overlap::BufferOne => ScheduleOverlapPolicy::BufferOne,
        Overlap::BufferAll => ScheduleOverlapPolicy::BufferAll,
        Overlap::AllowAll => ScheduleOverlapPolicy::AllowAll,
        Overlap::CancelOther => ScheduleOverlapPolicy::CancelOther,
        Overlap::TerminateOther => ScheduleOverlapPolicy::TerminateOther,
    }
}

fn duration(ms: u64) -> prost_wkt_types::Duration {
    prost_wkt_types::Duration {
        seconds: i64::try_from(ms / 1000).unwrap_or(i64::MAX),
        nanos: i32::try_from((ms % 1000) * 1_000_000).unwrap_or(0),
    }
}

/// Compares the files with the server: one change per desired schedule, plus a deletion for
/// every Stave-owned schedule the files no longer declare.
pub async fn plan(client: &Client, desired: &[Desired]) -> Result<Vec<Change>, ScheduleError> {
    let mut changes = Vec::new();
    for d in desired {
        let change = |action, reason: &str| Change {
            schedule_id: d.schedule_id.clone(),
            workflow: d.workflow.clone(),
            action,
            reason: reason.to_owned(),
        };
        let Some(current) = describe(client, &d.schedule_id).await? else {
            changes.push(change(Action::Create, "new"));
            continue;
        };
        if !memo_flag(current.memo.as_ref(), OWNED_MEMO_KEY) {
            return Err(ScheduleError::NotOwned {
                schedule_id: d.schedule_id.clone(),
            });
        }
        let schedule = current.schedule.unwrap_or_default();
        let definition = match schedule.action.and_then(|a| a.action) {
            Some(ScheduledAction::StartWorkflow(start)) => {
                memo_string(start.memo.as_ref(), DEFINITION_MEMO_KEY)
            }
            None => None,
        };
        let paused = schedule.state.is_some_and(|s| s.paused);
        let reason = if definition.as_deref() != Some(d.definition.as_str()) {
            Some("definition changed")
        } else if paused != d.paused {
            Some(if d.paused {
                "paused in the file"
            } else {
                "paused on the server, not in the file"
            })
        } else {
            None
        };
        changes.push(match reason {
            Some(reason) => change(Action::Update, reason),
            None => change(Action::Unchanged, "up to date"),
        });
    }
    let wanted: BTreeSet<&str> = desired.iter().map(|d| d.schedule_id.as_str()).collect();
    for listed in list(client).await? {
        if !listed.owned || wanted.contains(listed.schedule_id.as_str()) {
            continue;
        }
        // The list comes from visibility and lags: confirm the schedule still exists.
        if describe(client, &listed.schedule_id).await?.is_none() {
            continue;
        }
        changes.push(Change {
            schedule_id: listed.schedule_id,
            workflow: listed.workflow,
            action: Action::Delete,
            reason: "no longer in the files".to_owned(),
        });
    }
    Ok(changes)
}

/// Applies a plan made by [`plan`] from `desired`.
pub async fn apply(
    client: &Client,
    desired: &[Desired],
    changes: &[Change],
) -> Result<(), ScheduleError> {
    let by_id: BTreeMap<&str, &Desired> = desired
        .iter()
        .map(|d| (d.schedule_id.as_str(), d))
        .collect();
    let identity = client.connection().identity().to_owned();
    for change in changes {
        let id = change.schedule_id.clone();
        let mut service = client.connection().workflow_service();
        match change.action {
            Action::Unchanged => {}
            Action::Create => {
                let Some(d) = by_id.get(id.as_str()) else {
                    continue;
                };
                let memo = Memo {
                    fields: [
                        (
                            OWNED_MEMO_KEY.to_owned(),
                            payload::encode(&Json::Bool(true)),
                        ),
                        (
                            WORKFLOW_MEMO_KEY.to_owned(),
                            payload::encode(&Json::String(d.workflow.clone())),
                        ),
                    ]
                    .into_iter()
                    .collect(),
                };
                let request = CreateScheduleRequest {
                    namespace: client.namespace().to_owned(),
                    schedule_id: id.clone(),
                    schedule: Some(d.schedule.clone()),
                    identity: identity.clone(),
                    request_id: request_id(&id),
                    memo: Some(memo),
                    ..Default::default()
                };
                service
                    .create_schedule(request.into_request())
                    .await
                    .map_err(|s| rpc_error(client, "create", &id, s))?;
            }
            Action::Update => {
                let Some(d) = by_id.get(id.as_str()) else {
                    continue;
                };
                let request = UpdateScheduleRequest {
                    namespace: client.namespace().to_owned(),
                    schedule_id: id.clone(),
                    schedule: Some(d.schedule.clone()),
                    identity: identity.clone(),
                    request_id: request_id(&id),
                    ..Default::default()
                };
                service
                    .update_schedule(request.into_request())
                    .await
                    .map_err(|s| rpc_error(client, "update", &id, s))?;
            }
            Action::Delete => {
                let request = DeleteScheduleRequest {
                    namespace: client.namespace().to_owned(),
                    schedule_id: id.clone(),
                    identity: identity.clone(),
                };
                match service.delete_schedule(request.into_request()).await {
                    Ok(_) => {}
                    Err(s) if s.code() == Code::NotFound => {}
                    Err(s) => return Err(rpc_error(client, "delete", &id, s)),
                }
            }
        }
    }
    Ok(())
}

/// Plans and (unless `dry_run`) applies: the server then matches the files.
pub async fn sync(
    client: &Client,
    bundle: &Bundle,
    dry_run: bool,
) -> Result<Vec<Change>, ScheduleError> {
    let desired = desired(bundle)?;
    let changes = plan(client, &desired).await?;
    if !dry_run {
        apply(client, &desired, &changes).await?;
    }
    Ok(changes)
}

/// Every schedule of the namespace (Stave-owned or not), sorted by id.
pub async fn list(client: &Client) -> Result<Vec<Listed>, ScheduleError> {
    let mut out = Vec::new();
    let mut token = Vec::new();
    loop {
        let request = ListSchedulesRequest {
            namespace: client.namespace().to_owned(),
            maximum_page_size: 200,
            next_page_token: token,
            ..Default::default()
        };
        let response = client
            .connection()
            .workflow_service()
            .list_schedules(request.into_request())
            .await
            .map_err(|s| rpc_error(client, "list", "*", s))?
            .into_inner();
        for entry in response.schedules {
            let owned = entry.schedule_id.starts_with(ID_PREFIX)
                && memo_flag(entry.memo.as_ref(), OWNED_MEMO_KEY);
            let info = entry.info.unwrap_or_default();
            let workflow = memo_string(entry.memo.as_ref(), WORKFLOW_MEMO_KEY)
                .or_else(|| info.workflow_type.as_ref().map(|t| t.name.clone()))
                .unwrap_or_default();
            out.push(Listed {
                schedule_id: entry.schedule_id,
                workflow,
                owned,
                paused: info.paused,
                notes: info.notes,
                next_runs: info.future_action_times.iter().map(rfc3339).collect(),
                recent_runs: info.recent_actions.len(),
            });
        }
        if response.next_page_token.is_empty() {
            break;
        }
        token = response.next_page_token;
    }
    out.sort_by(|a, b| a.schedule_id.cmp(&b.schedule_id));
    Ok(out)
}

/// The server's view of one schedule; `None` when it does not exist.
pub async fn describe(
    client: &Client,
    schedule_id: &str,
) -> Result<Option<DescribeScheduleResponse>, ScheduleError> {
    let request = DescribeScheduleRequest {
        namespace: client.namespace().to_owned(),
        schedule_id: schedule_id.to_owned(),
    };
    match client
        .connection()
        .workflow_service()
        .describe_schedule(request.into_request())
        .await
    {
        Ok(response) => Ok(Some(response.into_inner())),
        Err(s) if s.code() == Code::NotFound => Ok(None),
        Err(s) => Err(rpc_error(client, "describe", schedule_id, s)),
    }
}

fn memo_string(memo: Option<&Memo>, key: &str) -> Option<String> {
    let value = payload::decode(memo?.fields.get(key)?).ok()?;
    value.as_str().map(str::to_owned)
}

fn memo_flag(memo: Option<&Memo>, key: &str) -> bool {
    memo.and_then(|m| m.fields.get(key))
        .and_then(|p| payload::decode(p).ok())
        .is_some_and(|v| v == Json::Bool(true))
}

fn rpc_error(
    client: &Client,
    what: &'static str,
    schedule_id: &str,
    status: Status,
) -> ScheduleError {
    match status.code() {
        Code::Unavailable => ScheduleError::Unavailable {
            address: client.address().to_owned(),
            what: format!("{what} schedule `{schedule_id}`"),
            message: status.message().to_owned(),
        },
        code => ScheduleError::Rpc {
            what,
            schedule_id: schedule_id.to_owned(),
            code,
            message: status.message().to_owned(),
        },
    }
}

/// A request id unique per call (the server dedupes retries of one call by it).
fn request_id(schedule_id: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let digest = Sha256::digest(format!("{schedule_id}:{now}:{}:{n}", std::process::id()));
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(schedules: &str) -> Bundle {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("stave.yaml"),
            "namespace: default\nqueues:\n  standard: { task_queue: tq }\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("report.stave.yaml"),
            format!(
                "stave: 1\nworkflow: report\nqueue: standard\ninput:\n  type: object\n  required: [day]\n  \
                 properties: {{ day: {{ type: string }} }}\nsteps:\n  - set: {{}}\nschedules:\n{schedules}"
            ),
        )
        .unwrap();
        let load = crate::check::load_project(dir.path());
        assert!(!load.has_errors(), "{:?}", load.diagnostics);
        load.bundle.unwrap()
    }

    #[test]
    fn files_become_schedule_definitions() {
        let b = bundle(
            "  - { id: nightly, cron: \"0 2 * * *\", timezone: Europe/Oslo, overlap: buffer_one, input: { day: today } }\n  \
             - { id: often, every: 90s, paused: true, input: { day: x } }\n",
        );
        let d = desired(&b).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].schedule_id, "stave:nightly");
        let spec = d[0].schedule.spec.clone().unwrap();
        assert_eq!(spec.cron_string, vec!["0 2 * * *".to_owned()]);
        assert_eq!(spec.timezone_name, "Europe/Oslo");
        assert_eq!(
            d[0].schedule.policies.unwrap().overlap_policy,
            ScheduleOverlapPolicy::BufferOne as i32
        );
        let Some(ScheduledAction::StartWorkflow(start)) =
            d[0].schedule.action.clone().unwrap().action
        else {
            panic!("not a start action");
        };
        assert_eq!(start.workflow_type.unwrap().name, "report");
        assert_eq!(start.task_queue.unwrap().name, "tq");
        // Scheduled runs carry the pin (and the program) as runs `stave start` starts do.
        for (key, value) in versions::start_memo(&b.workflows[0]) {
            assert_eq!(
                memo_string(start.memo.as_ref(), &key).as_deref(),
                value.as_str()
            );
        }
        let pin = memo_string(start.memo.as_ref(), versions::MEMO_KEY).unwrap();
        assert_eq!(
            versions::Pin::parse(&pin),
            Some(versions::Pin::of(&b.workflows[0]))
        );
        assert!(
            pin.ends_with(&format!("@{}", ir::SEMANTICS_VERSION)),
            "{pin}"
        );
        let every = d[1].schedule.spec.clone().unwrap().interval[0]
            .interval
            .unwrap();
        assert_eq!(every.seconds, 90);
        assert!(d[1].paused);
        assert!(d[1].schedule.state.clone().unwrap().paused);
    }

    /// The server refuses a `CRON_TZ=` zone other than `timezone_name`, so the zone travels
    /// as `timezone_name`; `@every` travels as a cron string, which the server turns into an
    /// interval with its phase.
    #[test]
    fn cron_time_zones_and_every_are_sent_as_the_server_reads_them() {
        let b = bundle(
            "  - { id: berlin, cron: \"CRON_TZ=Europe/Berlin 0 2 * * * # nightly\", input: { day: a } }\n  \
             - { id: phased, cron: \"@every 1h/15m\", timezone: Asia/Tokyo, input: { day: b } }\n  \
             - { id: years, cron: \"0 30 2 1 * * 2030\", input: { day: c } }\n",
        );
        let specs: Vec<ScheduleSpec> = desired(&b)
            .unwrap()
            .into_iter()
            .map(|d| d.schedule.spec.unwrap())
            .collect();
        assert_eq!(specs[0].cron_string, vec!["0 2 * * * # nightly".to_owned()]);
        assert_eq!(specs[0].timezone_name, "Europe/Berlin");
        assert_eq!(specs[1].cron_string, vec!["@every 1h/15m".to_owned()]);
        assert!(specs[1].interval.is_empty());
        assert_eq!(specs[1].timezone_name, "Asia/Tokyo");
        assert_eq!(specs[2].cron_string, vec!["0 30 2 1 * * 2030".to_owned()]);
        assert_eq!(specs[2].timezone_name, "UTC");
    }

    #[test]
    fn pausing_does_not_change_the_definition_but_the_input_does() {
        let b = bundle("  - { id: s, every: 1m, input: { day: a } }\n");
        let workflow = &b.workflows[0];
        let schedule = workflow.schedules[0].clone();
        let paused = ir::Schedule {
            paused: true,
            ..schedule.clone()
        };
        let other = ir::Schedule {
            input: json!({"day": "b"}),
            ..schedule.clone()
        };
        let hash = definition_hash(workflow, &schedule);
        assert_eq!(hash, definition_hash(workflow, &paused));
        assert_ne!(hash, definition_hash(workflow, &other));
    }

    /// Lint refuses such a file (E038); a bundle compiled elsewhere is checked again here.
    #[test]
    fn input_is_checked_against_the_workflow_schema() {
        let mut b = bundle("  - { id: s, every: 1m, input: { day: monday } }\n");
        b.workflows[0].schedules[0].input = serde_json::json!({ "day": 3 });
        let err = desired(&b).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("schedule `s` of workflow `report`"), "{text}");
        assert!(text.contains("day"), "{text}");
    }
}
