//! One case on a server: start the run as `stave start` does, send its signals, queries and cancellation at their times, wait for the outcome, and describe what happened as a `SimResult` the expectations compare.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use super::clock::{Clock, Started};
use super::mocks::Book;
use crate::check::ProjectLoad;
use crate::ir::Workflow;
use crate::runtime::client::testserver::TimeSkipping;
use crate::runtime::client::{Client, Finished, Outcome, RunSummary, StartOptions};
use crate::runtime::sim::{
    AttemptOutcome, AttemptRecord, QueryRecord, SimResult, SimStatus, UpdateRecord,
};
use crate::syntax::yaml::testfile::{Case, MockTarget};
use crate::testing::LoadedFile;
use crate::testing::expect::{format_ms, pretty};
use crate::testing::mocks::CaseMocks;
use crate::testing::run::{CaseReport, case_report};

/// How long a query may take to answer.
const QUERY_LIMIT: Duration = Duration::from_secs(30);

/// What every case of a run shares.
#[derive(Clone, Copy)]
pub struct Env<'a, 't> {
    pub project: &'a ProjectLoad,
    pub client: &'a Client,
    pub clock: &'a Clock,
    /// The isolated programs, by workflow type.
    pub programs: &'a BTreeMap<String, Workflow>,
    pub book: &'a RefCell<Book<'t>>,
    /// Step name → activity type over `programs`, for the cases' `step:` mocks.
    pub steps: &'t BTreeMap<String, String>,
    /// Appended to the case's workflow id: unique to the case in this run, and to the run.
    pub suffix: &'a str,
    /// Real time a case may take (beyond its last event, without time skipping) before it
    /// is reported stuck.
    pub case_limit: Duration,
    pub tolerance_ms: u64,
}

/// An outside event at its offset, in the simulator's order: signals, updates, queries,
/// cancellation.
enum Event<'t> {
    Signal(&'t str, &'t Json),
    Update(&'t str, &'t Json),
    Query(&'t str),
    Cancel,
}

/// Runs case `index` of `file`; the result is None when the case could not run.
pub async fn run<'t>(
    env: &Env<'_, 't>,
    file: &'t LoadedFile,
    case: &'t Case,
    index: usize,
) -> (CaseReport, Option<SimResult>) {
    let began = Instant::now();
    let workflow = file.test.workflow.value.as_str();
    let location = env.project.sources.locate(case.name.span);
    let not_run = |problem: String| CaseReport {
        name: case.name.value.clone(),
        location: location.clone(),
        passed: false,
        outcome: "not run on the server".into(),
        mismatches: Vec::new(),
        problems: vec![problem],
        virtual_ms: 0,
        real_us: 0,
        trace: Vec::new(),
    };
    if let Some(reason) = not_comparable(file, case) {
        return (
            not_run(format!("not comparable on a server: {reason}")),
            None,
        );
    }
    let result = match env.programs.get(workflow) {
        None => SimResult::rejected(format!("unknown workflow `{workflow}`")),
        Some(program) => match input_problems(program, &case.input.value) {
            Some(message) => SimResult::rejected(message),
            None => {
                let base = case
                    .id
                    .clone()
                    .unwrap_or_else(|| format!("test-{workflow}-{}", index + 1));
                let workflow_id = format!("{base}-{}", env.suffix);
                let mocks = CaseMocks::new(&case.mocks, &file.test.mocks, env.steps);
                let handle = env.book.borrow_mut().open(&workflow_id, mocks);
                let played = play(env, program, case, &workflow_id, handle).await;
                let (attempts, problems) = env.book.borrow_mut().close(handle);
                match played {
                    Ok((mut result, notes)) => {
                        result.trace = trace(notes, &attempts, program);
                        result.attempts = attempts;
                        let report = case_report(
                            env.project,
                            case,
                            location,
                            &result,
                            problems,
                            began,
                            env.tolerance_ms,
                        );
                        return (report, Some(result));
                    }
                    Err(problem) => return (not_run(problem), None),
                }
            }
        },
    };
    let report = case_report(
        env.project,
        case,
        location,
        &result,
        Vec::new(),
        began,
        env.tolerance_ms,
    );
    (report, Some(result))
}

/// Why a case cannot be compared on a server, if it cannot.
fn not_comparable(file: &LoadedFile, case: &Case) -> Option<String> {
    let child_mock = case
        .mocks
        .iter()
        .chain(&file.test.mocks)
        .find_map(|m| match &m.target {
            MockTarget::Workflow(name) => Some(name.value.clone()),
            _ => None,
        });
    if let Some(child) = child_mock {
        return Some(format!(
            "it mocks child workflow `{child}`, and the mock worker answers activities only (run it in the simulator)"
        ));
    }
    if case.start_time.is_some() {
        return Some(
            "it sets `start_time`, and a server starts runs at its own clock's time".into(),
        );
    }
    None
}

/// The input's problems against the workflow's schema, as `stave start` checks them.
fn input_problems(program: &Workflow, input: &Json) -> Option<String> {
    let schema = program.input_schema.as_ref()?;
    let errors = crate::jsonschema::validate(schema, input, "input");
    (!errors.is_empty()).then(|| {
        let problems: Vec<String> = errors.iter().map(ToString::to_string).collect();
        format!(
            "invalid input for `{}`: {}",
            program.name,
            problems.join("; ")
        )
    })
}

/// Starts the run, plays the case's events, waits for the outcome; returns what happened
/// (without its attempts) and the driver's notes by offset. Err: the run did not start.
async fn play(
    env: &Env<'_, '_>,
    program: &Workflow,
    case: &Case,
    workflow_id: &str,
    handle: usize,
) -> Result<(SimResult, Vec<(u64, String)>), String> {
    let mut events: Vec<(u64, Event)> = Vec::new();
    events.extend(
        case.signals
            .iter()
            .map(|s| (s.at_ms, Event::Signal(s.name.value.as_str(), &s.payload))),
    );
    events.extend(
        case.updates
            .iter()
            .map(|u| (u.at_ms, Event::Update(u.name.value.as_str(), &u.payload))),
    );
    events.extend(
        case.queries
            .iter()
            .map(|q| (q.at_ms, Event::Query(q.name.value.as_str()))),
    );
    events.extend(case.cancel_at.as_ref().map(|at| (at.value, Event::Cancel)));
    events.sort_by_key(|(at, _)| *at);
    let options = StartOptions {
        workflow_type: program.name.clone(),
        workflow_id: workflow_id.to_string(),
        task_queue: program.task_queue.clone(),
        input: case.input.value.clone(),
        memo: crate::runtime::versions::start_memo(program),
        execution_timeout: program.execution_timeout_ms.map(Duration::from_millis),
        ..StartOptions::default()
    };
    let mut notes: Vec<(u64, String)> = Vec::new();
    // A signal at 0s is in the run's first workflow task, as in the simulator.
    let started = match events.first() {
        Some((0, Event::Signal(name, payload))) => {
            let started = env.client.signal_with_start(&options, name, payload).await;
            notes.push((
                0,
                format!("signal {name} {} (with the start)", pretty(payload)),
            ));
            events.remove(0);
            started
        }
        _ => env.client.start(&options).await,
    }
    .map_err(|e| format!("the run did not start: {e}"))?;
    let local = Instant::now();
    let first = env
        .client
        .runs(workflow_id, &started.run_id)
        .await
        .map_err(|e| format!("cannot read the run's history: {e}"))?;
    let server_ms = first.first().and_then(|r| r.start_ms).unwrap_or_default();
    let start = Started { server_ms, local };
    env.book.borrow_mut().started(handle, server_ms);
    let mut queries = Vec::new();
    let mut updates = Vec::new();
    for (at, event) in &events {
        if let Err(e) = env.clock.wait_until(&start, *at).await {
            notes.push((*at, format!("the test server's clock failed: {e}")));
        }
        match event {
            Event::Signal(name, payload) => {
                let sent = env
                    .client
                    .signal(workflow_id, None, name, Some(payload))
                    .await;
                notes.push((
                    *at,
                    match sent {
                        Ok(()) => format!("signal {name} {}", pretty(payload)),
                        Err(e) => format!("signal {name} rejected: {e}"),
                    },
                ));
            }
            Event::Update(name, payload) => {
                let result = match env
                    .client
                    .update(workflow_id, None, name, Some(payload), QUERY_LIMIT)
                    .await
                {
                    Ok(outcome) => outcome,
                    Err(e) => Err(e.to_string()),
                };
                notes.push((
                    *at,
                    match &result {
                        Ok(value) => {
                            format!("update {name} {} → {}", pretty(payload), pretty(value))
                        }
                        Err(e) => format!("update {name} rejected: {e}"),
                    },
                ));
                updates.push(UpdateRecord {
                    at_ms: *at,
                    name: name.to_string(),
                    result,
                });
            }
            Event::Query(name) => {
                let answer = env
                    .client
                    .query(workflow_id, None, name, None, QUERY_LIMIT)
                    .await
                    .map_err(|e| e.to_string());
                notes.push((
                    *at,
                    match &answer {
                        Ok(value) => format!("query {name} answered {}", pretty(value)),
                        Err(e) => format!("query {name} failed: {e}"),
                    },
                ));
                queries.push(QueryRecord {
                    at_ms: *at,
                    name: name.to_string(),
                    result: answer,
                });
            }
            Event::Cancel => {
                let sent = env
                    .client
                    .cancel(workflow_id, None, "cancelled by the test case")
                    .await;
                notes.push((
                    *at,
                    match sent {
                        Ok(()) => "cancel requested".to_string(),
                        Err(e) => format!("cancel rejected: {e}"),
                    },
                ));
            }
        }
    }
    let limit = match (env.clock.skips_time(), events.last()) {
        (false, Some((at, _))) => env.case_limit + Duration::from_millis(*at),
        _ => env.case_limit,
    };
    let waited = env
        .clock
        .while_waiting(tokio::time::timeout(
            limit,
            env.client.result(workflow_id, Some(&started.run_id), None),
        ))
        .await;
    let runs = env
        .client
        .runs(workflow_id, &started.run_id)
        .await
        .unwrap_or_default();
    let status = match waited {
        Ok(Ok(Ok(finished))) => status_of(finished),
        Ok(Ok(Err(e))) => SimStatus::Stuck {
            reason: format!("waiting for the outcome failed: {e}"),
        },
        Ok(Err(_)) => {
            let _ = env
                .client
                .terminate(workflow_id, None, "stave test: no outcome in time")
                .await;
            stuck(limit, &runs, env.clock.skips_time())
        }
        Err(e) => SimStatus::Stuck { reason: e },
    };
    let end_ms = match runs.last().and_then(|r| r.close_ms) {
        Some(close) => close,
        None => match env.clock {
            Clock::Skipping(clock) => clock.now_ms().await.unwrap_or(server_ms),
            Clock::Real => server_ms + i64::try_from(local.elapsed().as_millis()).unwrap_or(0),
        },
    };
    if let Clock::Skipping(clock) = env.clock {
        release_orphans(env.client, clock, workflow_id, &runs, &mut notes).await;
    }
    let virtual_ms = u64::try_from(end_ms - server_ms).unwrap_or(0);
    notes.push((
        virtual_ms,
        format!("run {}", crate::testing::expect::describe_status(&status)),
    ));
    let result = SimResult {
        status,
        virtual_ms,
        attempts: Vec::new(),
        queries,
        updates,
        children: Vec::new(),
        runs: u32::try_from(runs.len()).unwrap_or(u32::MAX),
        history_lengths: runs
            .iter()
            .map(|r| u32::try_from(r.history_length).unwrap_or(u32::MAX))
            .collect(),
        trace: Vec::new(),
        coverage: BTreeMap::new(),
    };
    Ok((result, notes))
}

/// Releases the test server's clock from the attempts the closed runs left running (a race's
/// loser still in its `delay`, a parallel branch's activity when another failed the run):
/// the test server would hold its clock for each until it stops, and every later case would
/// run in real time.
async fn release_orphans(
    client: &Client,
    clock: &TimeSkipping,
    workflow_id: &str,
    runs: &[RunSummary],
    notes: &mut Vec<(u64, String)>,
) {
    let start = runs.first().and_then(|r| r.start_ms).unwrap_or_default();
    for run in runs.iter().filter(|r| r.close_ms.is_some()) {
        let at = u64::try_from(run.close_ms.unwrap_or(start) - start).unwrap_or(0);
        let running = match client.running_activities(workflow_id, &run.run_id).await {
            Ok(running) => running,
            Err(e) => {
                notes.push((at, format!("cannot list the activities left running: {e}")));
                continue;
            }
        };
        for activity in running {
            let released = clock.release_orphan().await;
            notes.push((
                at,
                match released {
                    Ok(()) => format!(
                        "activity {activity} still running as the run closed (the test server's clock released)"
                    ),
                    Err(e) => format!("activity {activity} still running as the run closed: {e}"),
                },
            ));
        }
    }
}

fn status_of(finished: Finished) -> SimStatus {
    match finished.outcome {
        Outcome::Completed { result } => SimStatus::Completed { output: result },
        Outcome::Failed { failure } => SimStatus::Failed {
            error_type: failure.error_type,
            message: failure.message,
            details: failure.details,
        },
        Outcome::Canceled { .. } => SimStatus::Cancelled,
        Outcome::TimedOut => SimStatus::TimedOut,
        Outcome::Terminated { reason } => SimStatus::Stuck {
            reason: format!("the run was terminated: {reason}"),
        },
    }
}

fn stuck(limit: Duration, runs: &[RunSummary], skipping: bool) -> SimStatus {
    let failure = runs
        .iter()
        .rev()
        .find_map(|r| r.task_failure.as_deref())
        .map(|m| format!("; its last workflow task failed: {m}"))
        .unwrap_or_default();
    let hint = if skipping {
        ""
    } else {
        " (with --server, waits take their real length: --dev skips time)"
    };
    SimStatus::Stuck {
        reason: format!("no outcome within {limit:?} of real time{hint}{failure}; terminated"),
    }
}

/// The case's timeline: the driver's notes and the mock activities' attempts, by offset.
fn trace(notes: Vec<(u64, String)>, attempts: &[AttemptRecord], program: &Workflow) -> Vec<String> {
    let mut lines: Vec<(u64, usize, String)> =
        vec![(0, 0, format!("run 1 of {} started", program.name))];
    for (i, (at, line)) in notes.into_iter().enumerate() {
        lines.push((at, 2 * i + 2, line));
    }
    for (i, a) in attempts.iter().enumerate() {
        let how = match &a.outcome {
            AttemptOutcome::Completed { output } => format!("answered {}", pretty(output)),
            AttemptOutcome::Failed { error_type, .. } => format!("failed: {error_type}"),
            AttemptOutcome::TimedOut { .. } => "never answered".into(),
            AttemptOutcome::Cancelled => "cancelled".into(),
            AttemptOutcome::Unfinished => "unfinished".into(),
        };
        let line = format!(
            "activity {} (step {}) attempt {} {how}",
            a.activity, a.step, a.attempt
        );
        lines.push((a.at_ms, 2 * i + 1, line));
    }
    lines.sort_by_key(|(at, order, _)| (*at, *order));
    lines
        .into_iter()
        .map(|(at, _, line)| format!("{} {line}", format_ms(at)))
        .collect()
}
