//! Leaf operations as futures: activity, timer, child workflow, signal wait. Each issues its
//! command when created and its cancel command when dropped before it resolved.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use serde_json::Value as Json;
use temporalio_common::protos::coresdk::{
    activity_result::ActivityResolution,
    child_workflow::{ChildWorkflowCancellationType, ChildWorkflowResult, ParentClosePolicy},
    workflow_activation::resolve_child_workflow_execution_start::Status as ChildStartStatus,
    workflow_commands::{
        ActivityCancellationType, CancelChildWorkflowExecution, CancelTimer, RequestCancelActivity,
        ScheduleActivity, StartChildWorkflowExecution, StartTimer, workflow_command::Variant,
    },
};
use temporalio_common::protos::temporal::api::common::v1::RetryPolicy as ProtoRetryPolicy;

use crate::ir::{
    ActivityCall, ChildCall, CoveragePoint, OnTimeout, ParentClose, RetryPolicy, Step, Value,
    WaitMode,
};
use crate::runtime::payload;

use super::failure::{Fault, WAIT_TIMEOUT, WfError};
use super::scope::{Cx, Site};
use super::state::{ChildSlot, Shared, Slot, State};

/// A `google.protobuf.Duration` of `ms` milliseconds.
pub fn duration(ms: u64) -> prost_wkt_types::Duration {
    prost_wkt_types::Duration {
        seconds: (ms / 1000) as i64,
        nanos: ((ms % 1000) * 1_000_000) as i32,
    }
}

/// The Temporal retry policy of a step's merged `retry`.
pub fn retry_policy(retry: &RetryPolicy) -> ProtoRetryPolicy {
    ProtoRetryPolicy {
        initial_interval: retry.initial_interval_ms.map(duration),
        backoff_coefficient: retry.backoff.unwrap_or(0.0),
        maximum_interval: retry.max_interval_ms.map(duration),
        maximum_attempts: i32::try_from(retry.max_attempts).unwrap_or(i32::MAX),
        non_retryable_error_types: retry.non_retryable.clone(),
    }
}

/// A step's identity as `status()` shows it.
pub fn step_tag(step: &Step) -> (u32, Arc<str>) {
    (step.index, Arc::from(step.name()))
}

/// What the leaf operations share: the slot `seq` of one of the state's maps. Polling takes
/// the outcome out of the slot once there is one; dropped before that, the slot goes and the
/// operation's cancel command is issued (unless the run already ended).
struct Pending<S: 'static> {
    sh: Arc<Shared>,
    seq: u32,
    done: bool,
    /// The state's map of this kind of operation.
    slots: fn(&mut State) -> &mut BTreeMap<u32, S>,
    /// The command cancelling operation `seq`.
    cancel: fn(u32) -> Variant,
}

/// A slot a strand waits on.
trait Waited {
    fn waker(&mut self) -> &mut Option<Waker>;
}

impl<T> Waited for Slot<T> {
    fn waker(&mut self) -> &mut Option<Waker> {
        &mut self.waker
    }
}

impl Waited for ChildSlot {
    fn waker(&mut self) -> &mut Option<Waker> {
        &mut self.waker
    }
}

impl<S> Pending<S> {
    /// Puts `slot` in its map as operation `seq` and returns the handle on it.
    fn insert(
        sh: &Arc<Shared>,
        st: &mut State,
        seq: u32,
        slot: S,
        slots: fn(&mut State) -> &mut BTreeMap<u32, S>,
        cancel: fn(u32) -> Variant,
    ) -> Pending<S> {
        slots(st).insert(seq, slot);
        Pending {
            sh: sh.clone(),
            seq,
            done: false,
            slots,
            cancel,
        }
    }
}

impl<S: Waited> Pending<S> {
    /// `Ready(Some(outcome))` once `outcome` finds one in the slot (the slot is removed),
    /// `Ready(None)` when the slot is gone, else `Pending` with the strand's waker stored.
    fn poll_with<T>(
        &mut self,
        cx: &mut Context<'_>,
        outcome: impl FnOnce(&mut S) -> Option<T>,
    ) -> Poll<Option<T>> {
        let mut st = self.sh.st();
        let slots = (self.slots)(&mut st);
        let Some(slot) = slots.get_mut(&self.seq) else {
            self.done = true;
            return Poll::Ready(None);
        };
        match outcome(slot) {
            Some(outcome) => {
                slots.remove(&self.seq);
                self.done = true;
                Poll::Ready(Some(outcome))
            }
            None => {
                *slot.waker() = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl<S> Drop for Pending<S> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if let Ok(mut st) = self.sh.state.try_lock()
            && (self.slots)(&mut st).remove(&self.seq).is_some()
            && !st.terminal
        {
            st.push((self.cancel)(self.seq));
        }
    }
}

/// What the Web UI shows for a step's command (Temporal user metadata): the step's id, then
/// its `summary:` (`charge: Charge the card`); an unnamed step shows its summary alone (the UI
/// shows the activity type or workflow type beside it anyway).
pub fn step_summary(name: &str, summary: Option<&Json>) -> Option<Json> {
    let named = !name.contains('#');
    let text = |v: &Json| match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    match (named, summary) {
        (true, Some(s)) => Some(Json::String(format!("{name}: {}", text(s)))),
        (true, None) => Some(Json::String(name.to_owned())),
        (false, Some(s)) => Some(Json::String(text(s))),
        (false, None) => None,
    }
}

/// A scheduled activity; resolves with core's resolution.
pub struct ActivityOp(Pending<Slot<ActivityResolution>>);

impl ActivityOp {
    /// Issues `ScheduleActivity` with the next activity seq; the activity id is the seq.
    pub fn schedule(
        sh: &Arc<Shared>,
        tag: (u32, Arc<str>),
        call: &ActivityCall,
        args: &[Json],
        summary: Option<&Json>,
        priority: Option<&Json>,
    ) -> ActivityOp {
        let mut st = sh.st();
        let seq = st.next_activity_seq;
        st.next_activity_seq += 1;
        let command = ScheduleActivity {
            seq,
            activity_id: seq.to_string(),
            activity_type: call.activity.clone(),
            task_queue: call.task_queue.clone(),
            arguments: payload::encode_all(args),
            schedule_to_close_timeout: call.schedule_to_close_ms.map(duration),
            schedule_to_start_timeout: call.schedule_to_start_ms.map(duration),
            start_to_close_timeout: call.start_to_close_ms.map(duration),
            heartbeat_timeout: call.heartbeat_ms.map(duration),
            retry_policy: call.retry.as_ref().map(retry_policy),
            cancellation_type: ActivityCancellationType::TryCancel as i32,
            // The step's name rides along so the activity's log lines can name it.
            headers: crate::runtime::logging::step_headers(&tag.1),
            // Checked when evaluated (`exec::priority`).
            priority: priority.and_then(|p| crate::runtime::priority::parts(p).ok()),
            ..Default::default()
        };
        st.push_with_summary(Variant::ScheduleActivity(command), summary);
        ActivityOp(Pending::insert(
            sh,
            &mut st,
            seq,
            Slot::new(tag),
            |st| &mut st.activities,
            |seq| Variant::RequestCancelActivity(RequestCancelActivity { seq }),
        ))
    }
}

impl Future for ActivityOp {
    type Output = Option<ActivityResolution>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.poll_with(cx, |slot| slot.result.take())
    }
}

/// A durable timer.
pub struct TimerOp(Pending<Slot<()>>);

impl TimerOp {
    /// Issues `StartTimer`; `summary` is what the Web UI shows for it.
    pub fn start(sh: &Arc<Shared>, tag: (u32, Arc<str>), ms: u64, summary: String) -> TimerOp {
        let mut st = sh.st();
        let seq = st.next_timer_seq;
        st.next_timer_seq += 1;
        st.push_with_summary(
            Variant::StartTimer(StartTimer {
                seq,
                start_to_fire_timeout: Some(duration(ms)),
            }),
            Some(&Json::String(summary)),
        );
        TimerOp(Pending::insert(
            sh,
            &mut st,
            seq,
            Slot::new(tag),
            |st| &mut st.timers,
            |seq| Variant::CancelTimer(CancelTimer { seq }),
        ))
    }
}

impl Future for TimerOp {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // A timer whose slot is gone (cancelled) is over as much as a fired one.
        self.0.poll_with(cx, |slot| slot.result).map(|_| ())
    }
}

/// How a child workflow ended, as far as the parent is concerned.
pub enum ChildOutcome {
    /// The start failed or was cancelled.
    StartFailed(ChildStartStatus),
    /// The child ran and closed.
    Closed(ChildWorkflowResult),
}

/// A started child workflow.
pub struct ChildOp(Pending<ChildSlot>);

impl ChildOp {
    /// Issues `StartChildWorkflowExecution` with the next child seq.
    pub fn start(
        sh: &Arc<Shared>,
        tag: (u32, Arc<str>),
        call: &ChildCall,
        workflow_id: String,
        args: &[Json],
        priority: Option<&Json>,
    ) -> ChildOp {
        let mut st = sh.st();
        let seq = st.next_child_seq;
        st.next_child_seq += 1;
        let parent_close_policy = match call.parent_close {
            ParentClose::Terminate => ParentClosePolicy::Terminate,
            ParentClose::Abandon => ParentClosePolicy::Abandon,
            ParentClose::RequestCancel => ParentClosePolicy::RequestCancel,
        };
        let command = StartChildWorkflowExecution {
            seq,
            workflow_id,
            workflow_type: call.workflow.clone(),
            task_queue: call.task_queue.clone(),
            input: payload::encode_all(args),
            workflow_execution_timeout: call.execution_timeout_ms.map(duration),
            parent_close_policy: parent_close_policy as i32,
            retry_policy: call.retry.as_ref().map(retry_policy),
            cancellation_type: ChildWorkflowCancellationType::TryCancel as i32,
            priority: priority.and_then(|p| crate::runtime::priority::parts(p).ok()),
            ..Default::default()
        };
        let summary = step_summary(&tag.1, None);
        st.push_with_summary(
            Variant::StartChildWorkflowExecution(command),
            summary.as_ref(),
        );
        ChildOp(Pending::insert(
            sh,
            &mut st,
            seq,
            ChildSlot::new(tag),
            |st| &mut st.children,
            |seq| {
                Variant::CancelChildWorkflowExecution(CancelChildWorkflowExecution {
                    child_workflow_seq: seq,
                    reason: "cancelled by its Stave workflow".to_string(),
                })
            },
        ))
    }
}

impl Future for ChildOp {
    type Output = Option<ChildOutcome>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0
            .poll_with(cx, |slot| match (&slot.start, &slot.result) {
                (Some(start), _) if !matches!(start, ChildStartStatus::Succeeded(_)) => {
                    Some(ChildOutcome::StartFailed(start.clone()))
                }
                (_, Some(result)) => Some(ChildOutcome::Closed(result.clone())),
                _ => None,
            })
    }
}

/// A `wait` on one message (a signal or an update), on the first of several (`any`) or on
/// one of each (`all`): consumes buffered arrivals, re-checks `until` after handlers ran,
/// races an optional timeout timer.
pub struct WaitOp<'a> {
    cx: &'a Cx,
    step: &'a Step,
    names: Vec<&'a str>,
    mode: WaitMode,
    until: Option<&'a Value>,
    timeout_ms: Option<u64>,
    on_timeout: OnTimeout,
    started: bool,
    /// The payload taken for each name so far.
    got: Vec<Option<Json>>,
    /// The name whose arrival was taken last.
    last: Option<usize>,
    timer: Option<TimerOp>,
    token: Option<u64>,
}

impl<'a> WaitOp<'a> {
    pub fn new(
        cx: &'a Cx,
        step: &'a Step,
        (names, mode): (Vec<&'a str>, WaitMode),
        until: Option<&'a Value>,
        timeout_ms: Option<u64>,
        on_timeout: OnTimeout,
    ) -> WaitOp<'a> {
        WaitOp {
            cx,
            step,
            got: vec![None; names.len()],
            names,
            mode,
            until,
            timeout_ms,
            on_timeout,
            started: false,
            last: None,
            timer: None,
            token: None,
        }
    }

    /// The result of a wait whose timeout fired.
    fn timed_out(&self) -> Result<Json, Fault> {
        self.cx.sh.cover(CoveragePoint::TimedOut {
            step: self.step.index,
        });
        match self.on_timeout {
            OnTimeout::Continue => Ok(Json::Null),
            OnTimeout::Fail => {
                let ms = self.timeout_ms.unwrap_or_default();
                let listed: Vec<String> = self.names.iter().map(|n| format!("`{n}`")).collect();
                let what = match self.mode {
                    WaitMode::One => format!("signal {}", listed.join(", ")),
                    WaitMode::Any => format!("any of {}", listed.join(", ")),
                    WaitMode::All => format!("all of {}", listed.join(", ")),
                };
                let message = format!(
                    "step `{}` waited {} for {what} and timed out",
                    self.step.name(),
                    crate::syntax::duration::format(std::time::Duration::from_millis(ms)),
                );
                Err(Fault::error(WfError::new(WAIT_TIMEOUT, message)))
            }
        }
    }

    /// Takes buffered arrivals. Without `until`: the oldest of the first name that has one
    /// (`all`: one per name still missing). With `until`: the same when the wait starts,
    /// then every arrival during the wait — they all fed the condition it waits on.
    fn take(&mut self, first: bool) {
        let mut st = self.cx.sh.st();
        let every = self.until.is_some() && !first;
        for (i, name) in self.names.iter().enumerate() {
            let Some(buffer) = st.signals.get_mut(*name) else {
                continue;
            };
            let taken = if every {
                let last = buffer.pop_back();
                buffer.clear();
                last
            } else if self.mode == WaitMode::All && self.got[i].is_some() {
                None
            } else {
                buffer.pop_front()
            };
            if let Some(payload) = taken {
                self.got[i] = Some(payload);
                self.last = Some(i);
                if !every && self.mode != WaitMode::All {
                    break;
                }
            }
        }
    }

    /// Whether enough has arrived: one message, or one of each name for `all`.
    fn arrived(&self) -> bool {
        match self.mode {
            WaitMode::One | WaitMode::Any => self.last.is_some(),
            WaitMode::All => self.got.iter().all(Option::is_some),
        }
    }

    /// The step's result: the payload (`One`), `{name, payload}` (`Any`), or each name's
    /// payload (`All`); null when nothing arrived.
    fn result(&mut self) -> Json {
        match self.mode {
            WaitMode::One => self.got[0].take().unwrap_or(Json::Null),
            WaitMode::Any => match self.last {
                Some(i) => serde_json::json!({
                    "name": self.names[i],
                    "payload": self.got[i].take().unwrap_or(Json::Null),
                }),
                None => Json::Null,
            },
            WaitMode::All => Json::Object(
                self.names
                    .iter()
                    .zip(self.got.iter_mut())
                    .map(|(n, p)| (n.to_string(), p.take().unwrap_or(Json::Null)))
                    .collect(),
            ),
        }
    }

    fn finish(&mut self) {
        // Dropping the timer cancels it; the wait no longer shows in `status()`.
        self.timer = None;
        if let Some(token) = self.token.take() {
            self.cx.sh.st().waits.remove(&token);
        }
    }
}

impl Future for WaitOp<'_> {
    type Output = Result<Json, Fault>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let first = !this.started;
        this.started = true;
        this.take(first);
        match this.until {
            None if this.arrived() => {
                this.finish();
                return Poll::Ready(Ok(this.result()));
            }
            None => {}
            // With `until`, `all` still needs one of each; one name or `any` need none.
            Some(until) if this.mode != WaitMode::All || this.arrived() => {
                match this.cx.eval_bool(until, Site::Step(this.step)) {
                    Ok(true) => {
                        this.finish();
                        return Poll::Ready(Ok(this.result()));
                    }
                    Ok(false) => {}
                    Err(fault) => {
                        this.finish();
                        return Poll::Ready(Err(fault));
                    }
                }
            }
            Some(_) => {}
        }
        if first {
            match this.timeout_ms {
                // Temporal rejects zero-length timers: a zero timeout times out at once.
                Some(0) => {
                    this.finish();
                    return Poll::Ready(this.timed_out());
                }
                Some(ms) => {
                    let summary = format!(
                        "{}: timeout of the wait for `{}`",
                        this.step.name(),
                        this.names.join("`, `")
                    );
                    this.timer = Some(TimerOp::start(
                        &this.cx.sh,
                        step_tag(this.step),
                        ms,
                        summary,
                    ));
                }
                None => {}
            }
            let mut st = this.cx.sh.st();
            let token = st.next_wait_token;
            st.next_wait_token += 1;
            st.waits.insert(token, step_tag(this.step));
            this.token = Some(token);
        }
        this.cx.sh.st().signal_waiters.push(cx.waker().clone());
        if let Some(timer) = this.timer.as_mut()
            && Pin::new(timer).poll(cx).is_ready()
        {
            this.finish();
            return Poll::Ready(this.timed_out());
        }
        Poll::Pending
    }
}

impl Drop for WaitOp<'_> {
    fn drop(&mut self) {
        if let Some(token) = self.token.take()
            && let Ok(mut st) = self.cx.sh.state.try_lock()
        {
            st.waits.remove(&token);
        }
    }
}

#[cfg(test)]
mod summary_tests {
    use super::step_summary;
    use serde_json::json;

    #[test]
    fn a_summary_names_the_step_then_says_what_the_file_says() {
        assert_eq!(step_summary("charge", None), Some(json!("charge")));
        assert_eq!(
            step_summary("charge", Some(&json!("Charge the card"))),
            Some(json!("charge: Charge the card"))
        );
        assert_eq!(
            step_summary("activity#3", Some(&json!({"n": 1}))),
            Some(json!("{\"n\":1}"))
        );
        assert_eq!(step_summary("activity#3", None), None);
    }
}
