//! The run's state shared by every strand: data (input, vars, step results), pending operations
//! by per-kind sequence number, buffered signals, the saga, and the commands of this activation.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;

use serde_json::{Map, Value as Json};
use temporalio_common::protos::coresdk::{
    activity_result::ActivityResolution,
    child_workflow::ChildWorkflowResult,
    workflow_activation::resolve_child_workflow_execution_start::Status as ChildStartStatus,
    workflow_commands::{WorkflowCommand, workflow_command::Variant},
};
use temporalio_common::protos::temporal::api::sdk::v1::UserMetadata;

use super::carry::Resume;
use crate::ir::{ActivityCall, CoveragePoint, Workflow};
use crate::runtime::payload;

/// A pending operation: its result once core resolved it, and the waker of the strand that
/// waits for it.
pub struct Slot<T> {
    pub result: Option<T>,
    pub waker: Option<Waker>,
    /// `Step::index` and `Step::name()` of the waiting step, for `status()`.
    pub step: (u32, Arc<str>),
}

impl<T> Slot<T> {
    pub fn new(step: (u32, Arc<str>)) -> Self {
        Slot {
            result: None,
            waker: None,
            step,
        }
    }

    /// Stores the result and wakes the waiting strand.
    pub fn resolve(&mut self, result: T) {
        self.result = Some(result);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

/// A child workflow: first its start resolves, then its result.
pub struct ChildSlot {
    pub start: Option<ChildStartStatus>,
    pub result: Option<ChildWorkflowResult>,
    pub waker: Option<Waker>,
    pub step: (u32, Arc<str>),
}

impl ChildSlot {
    pub fn new(step: (u32, Arc<str>)) -> Self {
        ChildSlot {
            start: None,
            result: None,
            waker: None,
            step,
        }
    }

    /// Stores how the start went and wakes the waiting strand.
    pub fn resolve_start(&mut self, status: ChildStartStatus) {
        self.start = Some(status);
        self.wake();
    }

    /// Stores the child's result and wakes the waiting strand.
    pub fn resolve(&mut self, result: ChildWorkflowResult) {
        self.result = Some(result);
        self.wake();
    }

    fn wake(&mut self) {
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

/// A compensation registered by a completed activity step: the call and its arguments,
/// evaluated when the step completed.
#[derive(Debug, Clone)]
pub struct Compensation {
    /// `Step::index` of the step that registered it.
    pub step_index: u32,
    pub step_name: Arc<str>,
    pub call: ActivityCall,
    pub args: Vec<Json>,
    pub summary: Option<Json>,
    /// The compensation's `priority:`, evaluated when its step completed.
    pub priority: Option<Json>,
}

/// Everything one run knows; behind one mutex, locked briefly and never across an await.
pub struct State {
    pub input: Json,
    pub vars: Json,
    pub steps: Json,
    /// `workflow` in expressions: id, run_id, type, start_time, attempt.
    pub info: Json,
    pub workflow_id: String,
    /// Workflow-task time of the current activation (ms since the epoch).
    pub now_ms: i64,
    /// `now_ms` as `now()` returns it (RFC 3339), formatted once per activation.
    pub now_text: String,
    pub history_length: u32,
    /// The server suggests continuing as new (history size or count near its limits).
    pub continue_as_new_suggested: bool,
    pub seed: u64,
    pub uuid_counter: u64,
    pub next_activity_seq: u32,
    pub next_timer_seq: u32,
    pub next_child_seq: u32,
    pub commands: Vec<WorkflowCommand>,
    pub activities: BTreeMap<u32, Slot<ActivityResolution>>,
    pub timers: BTreeMap<u32, Slot<()>>,
    pub children: BTreeMap<u32, ChildSlot>,
    /// Arrivals not yet consumed by a `wait`, per signal name, oldest first.
    pub signals: BTreeMap<String, VecDeque<Json>>,
    /// Strands blocked in a `wait`: woken whenever a signal arrives.
    pub signal_waiters: Vec<Waker>,
    /// Steps blocked in a `wait` right now, by a token, for `status()`.
    pub waits: BTreeMap<u64, (u32, Arc<str>)>,
    pub next_wait_token: u64,
    /// The saga: compensations in completion order.
    pub compensations: Vec<Compensation>,
    /// Once a terminal command is out, dropped operations issue no cancel commands.
    pub terminal: bool,
    /// Last search attributes / memo sent, so `set` upserts only changes.
    pub last_search_attributes: Option<Json>,
    pub last_memo: Option<Json>,
    /// Loops that may continue as new, with their paths (see `carry`).
    pub resumable: BTreeMap<u32, Vec<u32>>,
    /// `foreach` loops whose result is read: they carry their results (see `carry`).
    pub results_read: BTreeSet<u32>,
    /// A continued run on its way back to its loop.
    pub resume: Option<Resume>,
    /// How many times this run continued as new before.
    pub generation: u32,
    /// The coverage points reached, when recording (`Run::enable_coverage`).
    pub coverage: Option<BTreeSet<CoveragePoint>>,
}

impl State {
    pub fn new() -> State {
        State {
            input: Json::Null,
            vars: Json::Object(Map::new()),
            steps: Json::Object(Map::new()),
            info: Json::Null,
            workflow_id: String::new(),
            now_ms: 0,
            now_text: crate::runtime::time::format_rfc3339(0),
            history_length: 0,
            continue_as_new_suggested: false,
            seed: 0,
            uuid_counter: 0,
            next_activity_seq: 1,
            next_timer_seq: 1,
            next_child_seq: 1,
            commands: Vec::new(),
            activities: BTreeMap::new(),
            timers: BTreeMap::new(),
            children: BTreeMap::new(),
            signals: BTreeMap::new(),
            signal_waiters: Vec::new(),
            waits: BTreeMap::new(),
            next_wait_token: 0,
            compensations: Vec::new(),
            terminal: false,
            last_search_attributes: None,
            last_memo: None,
            resumable: BTreeMap::new(),
            resume: None,
            generation: 0,
            coverage: None,
            results_read: BTreeSet::new(),
        }
    }

    /// Sets the workflow-task time.
    pub fn set_now(&mut self, ms: i64) {
        self.now_ms = ms;
        self.now_text = crate::runtime::time::format_rfc3339(ms);
    }

    /// Queues a command of this activation.
    pub fn push(&mut self, variant: Variant) {
        self.push_with_summary(variant, None);
    }

    /// Queues a command with a summary shown in the Web UI.
    pub fn push_with_summary(&mut self, variant: Variant, summary: Option<&Json>) {
        let user_metadata = summary.map(|s| UserMetadata {
            summary: Some(payload::encode(s)),
            details: None,
        });
        self.commands.push(WorkflowCommand {
            variant: Some(variant),
            user_metadata,
            ..Default::default()
        });
    }

    /// Wakes every strand blocked in a `wait` (a signal arrived or a handler ran).
    pub fn wake_signal_waiters(&mut self) {
        for w in self.signal_waiters.drain(..) {
            w.wake();
        }
    }

    /// Steps waiting right now, in program order, each once.
    pub fn current_steps(&self) -> Vec<String> {
        let mut all: Vec<&(u32, Arc<str>)> = self
            .activities
            .values()
            .map(|s| &s.step)
            .chain(self.timers.values().map(|s| &s.step))
            .chain(self.children.values().map(|s| &s.step))
            .chain(self.waits.values())
            .collect();
        all.sort_by_key(|(index, _)| *index);
        all.dedup_by_key(|(index, _)| *index);
        all.into_iter().map(|(_, name)| name.to_string()).collect()
    }
}

/// What every strand of a run shares.
pub struct Shared {
    pub program: Arc<Workflow>,
    pub state: Mutex<State>,
    /// Event ordinal, bumped for every job applied: a strand woken by an earlier job is polled
    /// first, so the first failure a group sees is the first in history order.
    pub clock: Arc<AtomicU64>,
    /// Set while a continued run heads back to its loop, so steps skip the resume checks
    /// (and their lock) the rest of the time.
    pub resuming: AtomicBool,
    /// Set by `Run::enable_coverage`: without it, recording a coverage point takes no lock.
    pub covering: AtomicBool,
}

impl Shared {
    pub fn new(program: Arc<Workflow>) -> Shared {
        Shared {
            program,
            state: Mutex::new(State::new()),
            clock: Arc::new(AtomicU64::new(0)),
            resuming: AtomicBool::new(false),
            covering: AtomicBool::new(false),
        }
    }

    /// Locks the state. A poisoned lock only means a panic elsewhere (which the run reports as
    /// a task failure); the data is still consistent because no code panics mid-update.
    /// Records a coverage point when the run records coverage.
    pub fn cover(&self, point: CoveragePoint) {
        if !self.covering.load(Ordering::Relaxed) {
            return;
        }
        if let Some(points) = &mut self.st().coverage {
            points.insert(point);
        }
    }

    pub fn st(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next event ordinal.
    pub fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// A splitmix64 step: the run's deterministic random source for `uuid()`.
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The `counter`-th UUID (version 4 layout) of a run seeded with `seed`.
pub fn uuid_from(seed: u64, counter: u64) -> String {
    let hi = splitmix64(seed ^ splitmix64(counter.wrapping_mul(2)));
    let lo = splitmix64(seed ^ splitmix64(counter.wrapping_mul(2).wrapping_add(1)));
    uuid_v4(hi, lo)
}

/// 128 bits as a version-4 UUID (`xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx`).
pub fn uuid_v4(hi: u64, lo: u64) -> String {
    let hi = (hi & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_deterministic_distinct_and_v4() {
        let a = uuid_from(42, 0);
        assert_eq!(a, uuid_from(42, 0));
        assert_ne!(a, uuid_from(42, 1));
        assert_ne!(a, uuid_from(43, 0));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
    }
}
