//! Continue-as-new: the state a run carries into its next run, in the `stave-continue` header.
//!
//! When a loop reaches an iteration boundary and the history is longer than the program's
//! `continue_as_new_after` (or the server suggests it), the run ends with
//! `ContinueAsNewWorkflowExecution`: same workflow type and task queue, the *original* input
//! as the argument (so `input` and its schema stay as they were), and this state as a
//! `json/plain` payload in the header `stave-continue`:
//!
//! ```json
//! {"version": 2, "program": "<IR hash>", "path": [4, 9], "iteration": 120,
//!  "last": <while: last body result>, "items": [<foreach: items not started yet>],
//!  "results": [<foreach: results of items 0..iteration, only when read>], "vars": {..},
//!  "steps": {..}, "signals": {"name": [..]}, "compensations": [{"step": 3, "args": [..]}],
//!  "uuid_counter": 7, "generation": 2}
//! ```
//!
//! `path` lists step indices from a top-level step down to the loop; the new run skips to it
//! without re-running or re-evaluating anything before (guards and conditions on the path held
//! before). Only loops whose ancestors are plain sequences, `if`/`switch` branches and `try`
//! bodies continue as new: a loop inside `parallel`, `foreach`, `while` or a `catch` keeps
//! going in the same run. A `foreach` stops starting items once the threshold is passed and
//! continues as new when the items in flight are done. The new run must be interpreted by
//! the same program: the worker pins it through the version memo it adds to the command
//! (`worker::workflows`), and the interpreter fails the task of a run whose `program` (the
//! IR hash) is not the one it runs.
//!
//! Bounded state: a `foreach` carries only the items it has not started, so the carried
//! list shrinks with every continuation; it carries its earlier results only when the loop's
//! result is read ([`results_read`]: the loop, or a block it ends, has an `id`). Signals are
//! queued only for names a `wait` consumes, at most `MAX_QUEUED_SIGNALS` each. What is left —
//! `vars`, step results, the saga — is the program's own state; a carry over the namespace's
//! payload limit fails the run with `PayloadTooLarge` (`worker::workflows` guards it).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use temporalio_common::protos::coresdk::workflow_activation::InitializeWorkflow;

use super::state::State;
use crate::ir::{Step, StepKind, Workflow};
use crate::runtime::payload;

/// Header holding the carried state.
pub const HEADER: &str = "stave-continue";
/// Version of the carried format. Version 1 (every item, every result) is still read.
pub const CARRY_VERSION: u32 = 2;

/// State carried across continue-as-new.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Carry {
    pub version: u32,
    /// Hash of the program the run was interpreting.
    pub program: String,
    /// Step indices from a top-level step to the loop step.
    pub path: Vec<u32>,
    /// `while`: iterations done; `foreach`: items done.
    pub iteration: u64,
    /// `while`: the last iteration's result.
    #[serde(default)]
    pub last: Json,
    /// `foreach`: the items not started yet (the list is evaluated once, in the first run).
    #[serde(default)]
    pub items: Vec<Json>,
    /// `foreach`: results of items `0..iteration` when the loop's result is read, else empty.
    #[serde(default)]
    pub results: Vec<Json>,
    pub vars: Json,
    pub steps: Json,
    #[serde(default)]
    pub signals: BTreeMap<String, Vec<Json>>,
    #[serde(default)]
    pub compensations: Vec<CarriedCompensation>,
    #[serde(default)]
    pub uuid_counter: u64,
    /// How many times the run has continued as new so far (1 for the first continuation).
    #[serde(default)]
    pub generation: u32,
}

impl Carry {
    /// The run-wide state the continued run takes over: variables, step results, queued
    /// arrivals, the saga, the `uuid()` counter — as they are now. Taken again when the run
    /// actually continues (after update handlers in flight have answered, which may have
    /// changed them since the loop decided to continue).
    pub(super) fn take_state(&mut self, st: &State) {
        self.vars = st.vars.clone();
        self.steps = st.steps.clone();
        self.signals = st
            .signals
            .iter()
            .filter(|(_, q)| !q.is_empty())
            .map(|(k, q)| (k.clone(), q.iter().cloned().collect()))
            .collect();
        self.compensations = st
            .compensations
            .iter()
            .map(|c| CarriedCompensation {
                step: c.step_index,
                args: c.args.clone(),
                summary: c.summary.clone(),
                priority: c.priority.clone(),
            })
            .collect();
        self.uuid_counter = st.uuid_counter;
    }
}

/// A saga entry: the step whose `compensate` runs, with its evaluated arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CarriedCompensation {
    pub step: u32,
    pub args: Vec<Json>,
    #[serde(default)]
    pub summary: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Json>,
}

/// The carried state of a continued run, if its start holds one (version 1 upgraded).
pub fn from_init(init: &InitializeWorkflow) -> Option<Result<Carry, String>> {
    let payload = init.headers.get(HEADER)?;
    Some(
        payload::decode(payload)
            .map_err(|e| e.to_string())
            .and_then(|json| serde_json::from_value(json).map_err(|e| e.to_string()))
            .map_err(|e| format!("the `{HEADER}` header of this continued run is unreadable: {e}"))
            .and_then(upgrade),
    )
}

/// A carry of an earlier format in the current one.
fn upgrade(mut carry: Carry) -> Result<Carry, String> {
    match carry.version {
        CARRY_VERSION => Ok(carry),
        // Version 1 held the whole list: keep the items not started yet.
        1 => {
            let done = usize::try_from(carry.iteration).unwrap_or(usize::MAX);
            carry.items = carry.items.split_off(done.min(carry.items.len()));
            carry.version = CARRY_VERSION;
            Ok(carry)
        }
        newer => Err(format!(
            "this continued run carries state of format {newer}, newer than this worker reads \
             ({CARRY_VERSION}); serve it with the Stave release that started it, or a later one"
        )),
    }
}

/// The `foreach` loops (by step index) whose result something reads: the loop has an `id`,
/// or it ends a block whose step's result is read (an `if`, `switch`, `try` or `steps` block
/// with an `id`, or ending such a block in turn). Other loops carry no results across
/// continue-as-new. Top-level results are never read: the workflow's output is explicit.
pub fn results_read(program: &Workflow) -> BTreeSet<u32> {
    fn go(steps: &[Step], enclosing_read: bool, out: &mut BTreeSet<u32>) {
        for (i, step) in steps.iter().enumerate() {
            let read = step.id.is_some() || (enclosing_read && i + 1 == steps.len());
            if read && matches!(step.kind, StepKind::Foreach { .. }) {
                out.insert(step.index);
            }
            // A block's last step is the block's result; a loop body's results are the
            // loop's, so whatever the body holds is read when the loop is.
            for child in step.kind.children() {
                go(child, read, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    go(&program.steps, false, &mut out);
    out
}

/// Paths (step indices from the top) of every loop that may continue as new, by loop index.
pub fn resumable_loops(program: &Workflow) -> BTreeMap<u32, Vec<u32>> {
    fn go(steps: &[Step], path: &mut Vec<u32>, out: &mut BTreeMap<u32, Vec<u32>>) {
        for step in steps {
            path.push(step.index);
            match &step.kind {
                StepKind::While { .. } | StepKind::Foreach { .. } => {
                    out.insert(step.index, path.clone());
                }
                StepKind::Sequence(body) => go(body, path, out),
                StepKind::If {
                    then, otherwise, ..
                } => {
                    go(then, path, out);
                    go(otherwise, path, out);
                }
                StepKind::Switch { arms, default } => {
                    for arm in arms {
                        go(&arm.steps, path, out);
                    }
                    go(default, path, out);
                }
                StepKind::Try { steps, .. } => go(steps, path, out),
                _ => {}
            }
            path.pop();
        }
    }
    let mut out = BTreeMap::new();
    go(&program.steps, &mut Vec::new(), &mut out);
    out
}

/// A continued run on its way back to its loop.
#[derive(Debug, Clone)]
pub struct Resume {
    /// Remaining path: the front is the next step to enter.
    pub path: VecDeque<u32>,
    pub carry: Carry,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carry_round_trips_through_the_header() {
        let carry = Carry {
            version: CARRY_VERSION,
            program: "abc".into(),
            path: vec![1, 4],
            iteration: 3,
            last: Json::Null,
            items: vec![],
            results: vec![],
            vars: serde_json::json!({"n": 3}),
            steps: serde_json::json!({}),
            signals: BTreeMap::new(),
            compensations: vec![CarriedCompensation {
                step: 2,
                args: vec![serde_json::json!({"id": 1})],
                summary: None,
                priority: None,
            }],
            uuid_counter: 5,
            generation: 1,
        };
        let mut init = InitializeWorkflow::default();
        let json = serde_json::to_value(&carry).unwrap_or(Json::Null);
        init.headers
            .insert(HEADER.to_string(), payload::encode(&json));
        assert_eq!(from_init(&init), Some(Ok(carry)));
    }
}
