//! Steps as futures: each construct of the language is plain control flow over awaited
//! operations; concurrency goes through [`Group`].

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use serde_json::{Map, Value as Json};
use temporalio_common::protos::coresdk::{
    activity_result::activity_resolution::Status as ActivityStatus,
    child_workflow::child_workflow_result::Status as ChildStatus,
    workflow_activation::resolve_child_workflow_execution_start::Status as ChildStartStatus,
    workflow_commands::{
        ModifyWorkflowProperties, UpsertWorkflowSearchAttributes, workflow_command::Variant,
    },
};
use temporalio_common::protos::temporal::api::common::v1::{Memo, Payload, SearchAttributes};
use temporalio_common::protos::temporal::api::failure::v1::Failure;

use crate::ir::{ActivityCall, Args, ChildCall, CoveragePoint, Sleep, Step, StepKind, Value};
use crate::runtime::payload;
use crate::runtime::time::parse_rfc3339;

use super::carry::{CARRY_VERSION, Carry};
use super::failure::{CANCELLED, CHILD_START_FAILED, Fault, MAX_ITERATIONS_EXCEEDED, WfError};
use super::group::{Group, GroupDone, StepFut};
use super::ops::{ActivityOp, ChildOp, ChildOutcome, TimerOp, WaitOp, step_tag};
use super::scope::{Cx, Site};
use super::state::{Compensation, State};

pub use crate::ir::errors::PAYLOAD_ERROR;

/// Runs a block; its result is its last step's result (null when empty).
pub fn exec_block<'a>(cx: &'a Cx, steps: &'a [Step]) -> StepFut<'a> {
    Box::pin(async move {
        let start = resume_position(cx, steps);
        let mut last = Json::Null;
        for step in &steps[start..] {
            last = exec_step(cx, step).await?;
        }
        Ok(last)
    })
}

/// Runs one step and records its result under its id.
pub fn exec_step<'a>(cx: &'a Cx, step: &'a Step) -> StepFut<'a> {
    Box::pin(async move {
        let site = Site::Step(step);
        // A continued run re-enters the steps on its path without re-checking their guards:
        // they held when the run first got there.
        let resumed = take_resume_front(cx, step);
        if !resumed
            && let Some(guard) = &step.guard
            && !cx.eval_bool(guard, site)?
        {
            cx.sh.cover(CoveragePoint::Skipped { step: step.index });
            if let Some(id) = &step.id {
                cx.record(id, Json::Null);
            }
            return Ok(Json::Null);
        }
        cx.sh.cover(CoveragePoint::Step { step: step.index });
        let result = match &step.kind {
            StepKind::Activity(call) => activity(cx, step, call).await?,
            StepKind::Child(call) => child(cx, step, call).await?,
            StepKind::Sequence(steps) => exec_block(cx, steps).await?,
            StepKind::If {
                cond,
                then,
                otherwise,
            } => {
                let take_then = if resumed {
                    resume_enters(cx, then)
                } else {
                    cx.eval_bool(cond, site)?
                };
                cx.sh.cover(if take_then {
                    CoveragePoint::Then { step: step.index }
                } else {
                    CoveragePoint::Else { step: step.index }
                });
                exec_block(cx, if take_then { then } else { otherwise }).await?
            }
            StepKind::Switch { arms, default } => {
                let mut chosen: &[Step] = default;
                let mut point = CoveragePoint::Default { step: step.index };
                for (i, arm) in arms.iter().enumerate() {
                    let hit = if resumed {
                        resume_enters(cx, &arm.steps)
                    } else {
                        cx.eval_bool(&arm.when, site)?
                    };
                    if hit {
                        chosen = &arm.steps;
                        point = CoveragePoint::Case {
                            step: step.index,
                            arm: i as u32,
                        };
                        break;
                    }
                }
                cx.sh.cover(point);
                exec_block(cx, chosen).await?
            }
            StepKind::Parallel { branches, race } => {
                let total = branches.len();
                let factory = Box::new(move |i: usize| -> StepFut<'a> {
                    Box::pin(async move { exec_block(cx, &branches[i].steps).await })
                });
                let group = Group::new(cx.sh.clock.clone(), total, total, *race, factory);
                match group.await? {
                    GroupDone::All(results) => Json::Object(
                        branches
                            .iter()
                            .map(|b| b.name.clone())
                            .zip(results)
                            .collect(),
                    ),
                    GroupDone::Winner(i, result) => {
                        cx.sh.cover(CoveragePoint::Won {
                            step: step.index,
                            branch: i as u32,
                        });
                        serde_json::json!({"branch": branches[i].name, "result": result})
                    }
                    GroupDone::Held { .. } => {
                        return Err(Fault::Internal("a parallel step was held".into()));
                    }
                }
            }
            StepKind::Foreach {
                over,
                item,
                concurrency,
                steps,
            } => foreach(cx, step, resumed, over, item, *concurrency, steps).await?,
            StepKind::While {
                cond,
                max_iterations,
                steps,
            } => while_loop(cx, step, resumed, cond, *max_iterations, steps).await?,
            StepKind::Wait {
                until,
                timeout_ms,
                on_timeout,
                mode,
                ..
            } => {
                let names = (step.kind.wait_names(), *mode);
                WaitOp::new(cx, step, names, until.as_ref(), *timeout_ms, *on_timeout).await?
            }
            StepKind::Sleep(sleep) => {
                let ms = sleep_ms(cx, step, sleep)?;
                if ms > 0 {
                    let summary = match &step.id {
                        Some(id) => id.clone(),
                        None => format!(
                            "sleep {}",
                            crate::syntax::duration::format(std::time::Duration::from_millis(ms))
                        ),
                    };
                    TimerOp::start(&cx.sh, step_tag(step), ms, summary).await;
                }
                Json::Null
            }
            StepKind::Set(assignments) => {
                let mut values = Vec::with_capacity(assignments.len());
                for (name, value) in assignments {
                    values.push((name, cx.eval(value, site)?));
                }
                {
                    let mut st = cx.sh.st();
                    if let Json::Object(vars) = &mut st.vars {
                        for (name, value) in values {
                            vars.insert(name.clone(), value);
                        }
                    }
                    // A `wait ... until` in another branch may be waiting for these vars.
                    st.wake_signal_waiters();
                }
                upsert_properties(cx)?;
                Json::Null
            }
            StepKind::Try { steps, catches } => match exec_block(cx, steps).await {
                Err(Fault::Error(error)) => {
                    let mut handled = None;
                    for (clause, catch) in catches.iter().enumerate() {
                        if !catch.errors.is_empty() && !catch.errors.contains(&error.error_type) {
                            continue;
                        }
                        let catch_cx = cx.catch_scope(&catch.name, (*error).clone());
                        if let Some(when) = &catch.when
                            && !catch_cx.eval_bool(when, site)?
                        {
                            continue;
                        }
                        cx.sh.cover(CoveragePoint::Catch {
                            step: step.index,
                            clause: clause as u32,
                        });
                        handled = Some(exec_block(&catch_cx, &catch.steps).await);
                        break;
                    }
                    handled.unwrap_or(Err(Fault::Error(error)))?
                }
                other => other?,
            },
            StepKind::Fail {
                error_type,
                message,
                details,
            } => {
                let error_type = text(cx.eval(error_type, site)?);
                let message = text(cx.eval(message, site)?);
                let details = cx.eval(details, site)?;
                let mut error = WfError::new(error_type, message).non_retryable();
                error.details = details;
                return Err(Fault::error(error));
            }
            StepKind::Return(value) => return Err(Fault::Return(cx.eval(value, site)?)),
            StepKind::Rethrow => {
                return Err(match cx.locals.caught() {
                    Some(error) => Fault::error((**error).clone()),
                    None => Fault::Internal(format!(
                        "{}: `rethrow` outside a catch",
                        site.describe(&cx.sh.program)
                    )),
                });
            }
        };
        if let Some(id) = &step.id {
            cx.record(id, result.clone());
        }
        if let StepKind::Activity(call) = &step.kind
            && let Some(compensate) = &call.compensate
        {
            // Arguments are evaluated now, in the step's own scope (its result, the current
            // iteration's item), and kept until the saga unwinds.
            let args = eval_args(cx, &compensate.args, site)?;
            let summary = match &compensate.summary {
                Some(s) => Some(cx.eval(s, site)?),
                None => None,
            };
            let priority = priority(cx, compensate.priority.as_ref(), site)?;
            cx.sh.st().compensations.push(Compensation {
                step_index: step.index,
                step_name: step.name().into(),
                call: (**compensate).clone(),
                args,
                summary,
                priority,
            });
        }
        Ok(result)
    })
}

fn text(value: Json) -> String {
    match value {
        Json::String(s) => s,
        other => other.to_string(),
    }
}

/// Evaluates an activity's or child's arguments: one input, or positional arguments.
pub fn eval_args(cx: &Cx, args: &Args, site: Site<'_>) -> Result<Vec<Json>, Fault> {
    match args {
        Args::Input(v) => Ok(vec![cx.eval(v, site)?]),
        Args::Positional(vs) => vs.iter().map(|v| cx.eval(v, site)).collect(),
    }
}

async fn activity(cx: &Cx, step: &Step, call: &ActivityCall) -> Result<Json, Fault> {
    let site = Site::Step(step);
    let args = eval_args(cx, &call.args, site)?;
    let summary = match &call.summary {
        Some(s) => Some(cx.eval(s, site)?),
        None => None,
    };
    let summary = super::ops::step_summary(&step.name(), summary.as_ref());
    let priority = priority(cx, call.priority.as_ref(), site)?;
    let resolution = ActivityOp::schedule(
        &cx.sh,
        step_tag(step),
        call,
        &args,
        summary.as_ref(),
        priority.as_ref(),
    )
    .await;
    activity_result(cx, step, resolution)
}

/// An activity resolution as the step's result or error.
pub fn activity_result(
    cx: &Cx,
    step: &Step,
    resolution: Option<temporalio_common::protos::coresdk::activity_result::ActivityResolution>,
) -> Result<Json, Fault> {
    let Some(resolution) = resolution else {
        return Err(Fault::Internal(format!(
            "activity of step `{}` vanished from the run's state",
            step.name()
        )));
    };
    match resolution.status {
        Some(ActivityStatus::Completed(success)) => {
            decode_result(cx, step, success.result.as_ref())
        }
        Some(ActivityStatus::Failed(failed)) => Err(Fault::error(WfError::from_failure(
            &failed.failure.unwrap_or_default(),
        ))),
        Some(ActivityStatus::Cancelled(cancelled)) => {
            Err(Fault::error(cancelled_error(cancelled.failure)))
        }
        Some(ActivityStatus::Backoff(_)) | None => Err(Fault::Internal(format!(
            "activity of step `{}` resolved without a result (local-activity backoff?)",
            step.name()
        ))),
    }
}

fn cancelled_error(failure: Option<Failure>) -> WfError {
    let mut error = match failure {
        Some(f) => WfError::from_failure(&f),
        None => WfError::new(CANCELLED, "cancelled"),
    };
    error.error_type = CANCELLED.to_string();
    error
}

fn decode_result(
    cx: &Cx,
    step: &Step,
    result: Option<&temporalio_common::protos::temporal::api::common::v1::Payload>,
) -> Result<Json, Fault> {
    payload::decode_opt(result).map_err(|e| {
        let message = format!(
            "{}: the result is unreadable: {e}",
            Site::Step(step).describe(&cx.sh.program)
        );
        Fault::error(WfError::new(PAYLOAD_ERROR, message))
    })
}

/// A `priority:` evaluated: its parts as a JSON object (which a saga keeps until it unwinds),
/// checked against the server's limits — a value out of range is an expression error here,
/// not a workflow task the server refuses.
fn priority(
    cx: &Cx,
    priority: Option<&crate::ir::Priority>,
    site: Site<'_>,
) -> Result<Option<Json>, Fault> {
    let Some(p) = priority else {
        return Ok(None);
    };
    let mut parts = Map::new();
    for (name, value) in [
        ("key", &p.key),
        ("fairness", &p.fairness),
        ("weight", &p.weight),
    ] {
        if let Some(value) = value {
            parts.insert(name.to_owned(), cx.eval(value, site)?);
        }
    }
    let parts = Json::Object(parts);
    crate::runtime::priority::parts(&parts).map_err(|e| cx.error(site, &e))?;
    Ok(Some(parts))
}

async fn child(cx: &Cx, step: &Step, call: &ChildCall) -> Result<Json, Fault> {
    let site = Site::Step(step);
    let args = eval_args(cx, &call.args, site)?;
    let priority = priority(cx, call.priority.as_ref(), site)?;
    let workflow_id = match &call.workflow_id {
        Some(v) => text(cx.eval(v, site)?),
        None => {
            let mut id = format!("{}/{}", cx.sh.st().workflow_id, step.name());
            for i in cx.locals.iterations() {
                id.push_str(&format!("/{i}"));
            }
            id
        }
    };
    let outcome = ChildOp::start(
        &cx.sh,
        step_tag(step),
        call,
        workflow_id.clone(),
        &args,
        priority.as_ref(),
    )
    .await;
    match outcome {
        None => Err(Fault::Internal(format!(
            "child workflow of step `{}` vanished from the run's state",
            step.name()
        ))),
        Some(ChildOutcome::StartFailed(ChildStartStatus::Failed(failed))) => {
            // `START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS` →
            // `workflow already exists`.
            let cause = failed
                .cause()
                .as_str_name()
                .trim_start_matches("START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_")
                .to_lowercase()
                .replace('_', " ");
            let message = format!(
                "child workflow `{}` with id `{workflow_id}` could not start: {cause}",
                call.workflow
            );
            let mut error = WfError::new(CHILD_START_FAILED, message);
            error.details = serde_json::json!({"workflow_id": workflow_id, "cause": cause});
            Err(Fault::error(error))
        }
        Some(ChildOutcome::StartFailed(ChildStartStatus::Cancelled(c))) => {
            Err(Fault::error(cancelled_error(c.failure)))
        }
        Some(ChildOutcome::StartFailed(ChildStartStatus::Succeeded(_))) => Err(Fault::Internal(
            "child start succeeded but was reported as failed".into(),
        )),
        Some(ChildOutcome::Closed(result)) => match result.status {
            Some(ChildStatus::Completed(success)) => {
                decode_result(cx, step, success.result.as_ref())
            }
            Some(ChildStatus::Failed(failed)) => Err(Fault::error(WfError::from_failure(
                &failed.failure.unwrap_or_default(),
            ))),
            Some(ChildStatus::Cancelled(c)) => Err(Fault::error(cancelled_error(c.failure))),
            None => Err(Fault::Internal(format!(
                "child workflow of step `{}` closed without a status",
                step.name()
            ))),
        },
    }
}

fn sleep_ms(cx: &Cx, step: &Step, sleep: &Sleep) -> Result<u64, Fault> {
    let site = Site::Step(step);
    match sleep {
        Sleep::ForMs(ms) => Ok(*ms),
        Sleep::For(v) => match cx.eval(v, site)? {
            Json::String(s) => crate::syntax::duration::parse(&s)
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                .map_err(|e| cx.error(site, &format!("sleep: {e}"))),
            Json::Number(n) => match n.as_f64().map(crate::syntax::duration::from_secs) {
                Some(Ok(d)) => Ok(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                Some(Err(e)) => Err(cx.error(site, &format!("sleep: {e}"))),
                None => Err(cx.error(site, &format!("sleep: {n} is not a number of seconds"))),
            },
            other => Err(cx.error(
                site,
                &format!(
                    "sleep takes a duration such as \"5m\" or a number of seconds, got {}",
                    crate::jsonschema::type_name(&other)
                ),
            )),
        },
        Sleep::Until(v) => match cx.eval(v, site)? {
            Json::String(s) => {
                let target =
                    parse_rfc3339(&s).map_err(|e| cx.error(site, &format!("sleep until: {e}")))?;
                let now = cx.sh.st().now_ms;
                Ok(u64::try_from(target - now).unwrap_or(0))
            }
            other => Err(cx.error(
                site,
                &format!(
                    "sleep until takes an RFC 3339 timestamp string, got {}",
                    crate::jsonschema::type_name(&other)
                ),
            )),
        },
    }
}

async fn foreach(
    cx: &Cx,
    step: &Step,
    resumed: bool,
    over: &Value,
    var: &str,
    concurrency: Option<u32>,
    steps: &[Step],
) -> Result<Json, Fault> {
    let site = Site::Step(step);
    let carried = if resumed { take_carry(cx) } else { None };
    // A continued run holds only the items not started yet, and the earlier results only
    // when something reads the loop's result (`carry::results_read`).
    let (items, offset, mut results) = match carried {
        Some(carry) => (carry.items, carry.iteration, carry.results),
        None => match cx.eval(over, site)? {
            Json::Array(items) => (items, 0, Vec::new()),
            other => {
                return Err(cx.error(
                    site,
                    &format!(
                        "foreach takes a list, got {}",
                        crate::jsonschema::type_name(&other)
                    ),
                ));
            }
        },
    };
    let body_ids = local_ids(steps);
    let limit = concurrency.map_or(usize::MAX, |c| c as usize);
    let factory = {
        let items = &items;
        let body_ids = &body_ids;
        Box::new(move |i: usize| -> StepFut<'_> {
            let item_cx = cx.iteration(var, items[i].clone(), offset + i as u64, body_ids);
            Box::pin(async move { exec_block(&item_cx, steps).await })
        })
    };
    let mut group = Group::new(cx.sh.clock.clone(), items.len(), limit, false, factory);
    if resumable(cx, step) {
        group = group.with_hold_check(Box::new(move || should_continue_as_new(cx)));
    }
    match group.await? {
        GroupDone::All(done) => {
            results.extend(done);
            Ok(Json::Array(results))
        }
        GroupDone::Held {
            started,
            results: done,
        } => {
            let keep = cx.sh.st().results_read.contains(&step.index);
            if keep {
                results.extend(done);
            } else {
                results.clear();
            }
            let remaining = items.get(started..).unwrap_or_default().to_vec();
            Err(Fault::ContinueAsNew(Box::new(carry(
                cx,
                step,
                offset + started as u64,
                Json::Null,
                remaining,
                results,
            ))))
        }
        GroupDone::Winner(..) => Err(Fault::Internal("a foreach step raced".into())),
    }
}

async fn while_loop(
    cx: &Cx,
    step: &Step,
    resumed: bool,
    cond: &Value,
    max_iterations: u64,
    steps: &[Step],
) -> Result<Json, Fault> {
    let site = Site::Step(step);
    let (first, mut last) = match if resumed { take_carry(cx) } else { None } {
        Some(carry) => (carry.iteration, carry.last),
        None => (0, Json::Null),
    };
    let can_continue = resumable(cx, step);
    let mut i = first;
    loop {
        if can_continue && i > first && should_continue_as_new(cx) {
            return Err(Fault::ContinueAsNew(Box::new(carry(
                cx,
                step,
                i,
                last,
                Vec::new(),
                Vec::new(),
            ))));
        }
        if !cx.eval_bool(cond, site)? {
            return Ok(last);
        }
        if i >= max_iterations {
            let message = format!(
                "{}: the loop ran its max_iterations ({max_iterations}) and its condition still holds",
                site.describe(&cx.sh.program)
            );
            return Err(Fault::error(
                WfError::new(MAX_ITERATIONS_EXCEEDED, message).non_retryable(),
            ));
        }
        let iteration_cx = cx.loop_iteration(i);
        last = exec_block(&iteration_cx, steps).await?;
        i += 1;
    }
}

/// Ids a `foreach` body keeps to itself: its steps' ids, not those inside nested `foreach`
/// bodies (which have their own).
pub fn local_ids(steps: &[Step]) -> Vec<String> {
    fn go(steps: &[Step], out: &mut Vec<String>) {
        for step in steps {
            if let Some(id) = &step.id {
                out.push(id.clone());
            }
            if !matches!(step.kind, StepKind::Foreach { .. }) {
                for child in step.kind.children() {
                    go(child, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    go(steps, &mut out);
    out
}

/// Search attributes and memo, evaluated over the state and sent when they changed.
pub fn upsert_properties(cx: &Cx) -> Result<(), Fault> {
    let program = cx.sh.program.clone();
    if let Some(indexed_fields) = changed(
        cx,
        &program.search_attributes,
        Site::SearchAttribute,
        |st| &mut st.last_search_attributes,
        // The server indexes search attributes: they are never encrypted.
        payload::encode_plain,
    )? {
        cx.sh.st().push(Variant::UpsertWorkflowSearchAttributes(
            UpsertWorkflowSearchAttributes {
                search_attributes: Some(SearchAttributes { indexed_fields }),
            },
        ));
    }
    if let Some(fields) = changed(
        cx,
        &program.memo,
        Site::Memo,
        |st| &mut st.last_memo,
        payload::encode,
    )? {
        cx.sh.st().push(Variant::ModifyWorkflowProperties(
            ModifyWorkflowProperties {
                upserted_memo: Some(Memo { fields }),
            },
        ));
    }
    Ok(())
}

/// `fields` evaluated, as payloads, when they differ from the values `last` remembers (it
/// remembers the new ones); `None` when there are no fields or nothing changed.
fn changed<'p>(
    cx: &Cx,
    fields: &'p [(String, Value)],
    site: fn(&'p str) -> Site<'p>,
    last: fn(&mut State) -> &mut Option<Json>,
    encode: fn(&Json) -> Payload,
) -> Result<Option<HashMap<String, Payload>>, Fault> {
    if fields.is_empty() {
        return Ok(None);
    }
    let mut values = Map::new();
    for (name, value) in fields {
        values.insert(name.clone(), cx.eval(value, site(name))?);
    }
    let values = Json::Object(values);
    let mut st = cx.sh.st();
    let last = last(&mut st);
    if last.as_ref() == Some(&values) {
        return Ok(None);
    }
    let payloads = values
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), encode(v)))
        .collect();
    *last = Some(values);
    Ok(Some(payloads))
}

// --- continue-as-new -------------------------------------------------------------------

/// Where a block starts: at the step on the resume path, else at the top.
fn resume_position(cx: &Cx, steps: &[Step]) -> usize {
    if !cx.sh.resuming.load(Ordering::Relaxed) {
        return 0;
    }
    let st = cx.sh.st();
    match st.resume.as_ref().and_then(|r| r.path.front()) {
        Some(front) => steps.iter().position(|s| s.index == *front).unwrap_or(0),
        None => 0,
    }
}

/// Whether `step` is the next step on the resume path (and consumes it).
fn take_resume_front(cx: &Cx, step: &Step) -> bool {
    if !cx.sh.resuming.load(Ordering::Relaxed) {
        return false;
    }
    let mut st = cx.sh.st();
    match st.resume.as_mut() {
        Some(resume) if resume.path.front() == Some(&step.index) => {
            resume.path.pop_front();
            true
        }
        _ => false,
    }
}

/// Whether the resume path continues into this block.
fn resume_enters(cx: &Cx, steps: &[Step]) -> bool {
    let st = cx.sh.st();
    st.resume
        .as_ref()
        .and_then(|r| r.path.front())
        .is_some_and(|front| steps.iter().any(|s| s.index == *front))
}

/// The carried loop state, once the resume path reached its loop.
fn take_carry(cx: &Cx) -> Option<Carry> {
    let mut st = cx.sh.st();
    match st.resume.take() {
        Some(resume) if resume.path.is_empty() => {
            cx.sh.resuming.store(false, Ordering::Relaxed);
            Some(resume.carry)
        }
        other => {
            st.resume = other;
            None
        }
    }
}

fn resumable(cx: &Cx, step: &Step) -> bool {
    cx.sh.program.continue_as_new_after > 0 && cx.sh.st().resumable.contains_key(&step.index)
}

/// Past the program's threshold, or the server asks for it (history bytes near the limit);
/// both come from history, so replay decides the same.
fn should_continue_as_new(cx: &Cx) -> bool {
    let st = cx.sh.st();
    u64::from(st.history_length) > cx.sh.program.continue_as_new_after
        || st.continue_as_new_suggested
}

fn carry(
    cx: &Cx,
    step: &Step,
    iteration: u64,
    last: Json,
    items: Vec<Json>,
    results: Vec<Json>,
) -> Carry {
    let st = cx.sh.st();
    let mut carry = Carry {
        version: CARRY_VERSION,
        program: cx.sh.program.hash.clone(),
        path: st.resumable.get(&step.index).cloned().unwrap_or_default(),
        iteration,
        last,
        items,
        results,
        vars: Json::Null,
        steps: Json::Null,
        signals: Default::default(),
        compensations: Vec::new(),
        uuid_counter: 0,
        generation: st.generation + 1,
    };
    carry.take_state(&st);
    carry
}
