//! A run's progress as the state of each node of its workflow's graph (`stave graph --run`).

use std::collections::BTreeMap;

use super::Graph;
use crate::ir::coverage::CoveragePoint;
use crate::ir::{Step, StepKind};
use crate::runtime::replay::progress::{Call, CallEnd, Progress, RunEnd};

/// What a run did at one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeState {
    Completed,
    /// Completed after more than one attempt.
    Retried,
    Failed,
    /// Waiting now: an activity or child in flight, a `wait`, a `sleep`.
    Running,
    /// Not reached (a branch not taken, a guard that was false, or not yet).
    Skipped,
}

impl NodeState {
    pub const ALL: [NodeState; 5] = [
        NodeState::Completed,
        NodeState::Retried,
        NodeState::Failed,
        NodeState::Running,
        NodeState::Skipped,
    ];

    /// The word used in class names and the legend.
    pub fn name(self) -> &'static str {
        match self {
            NodeState::Completed => "completed",
            NodeState::Retried => "retried",
            NodeState::Failed => "failed",
            NodeState::Running => "running",
            NodeState::Skipped => "skipped",
        }
    }

    /// Fill, border and text colours, the same in every format.
    pub fn colours(self) -> (&'static str, &'static str, &'static str) {
        match self {
            NodeState::Completed => ("#d7f5dc", "#2e7d32", "#1b5e20"),
            NodeState::Retried => ("#fff1c2", "#b7791f", "#6b4a00"),
            NodeState::Failed => ("#f9d0d0", "#c62828", "#8e0000"),
            NodeState::Running => ("#d6e6ff", "#1f5fbf", "#0d3c80"),
            NodeState::Skipped => ("#f4f4f4", "#b0b0b0", "#8a8a8a"),
        }
    }

    /// The legend's description of the state.
    pub fn legend(self) -> &'static str {
        match self {
            NodeState::Completed => "completed",
            NodeState::Retried => "retried, then completed",
            NodeState::Failed => "failed",
            NodeState::Running => "running",
            NodeState::Skipped => "skipped / not reached",
        }
    }
}

/// The state of every node of a graph for one run, and a caption for the title.
#[derive(Debug, Clone, PartialEq)]
pub struct Overlay {
    /// `WORKFLOW-ID (run RUN-ID) · STATUS`.
    pub caption: String,
    pub states: BTreeMap<String, NodeState>,
}

/// Colours `graph` (built from `progress.program`) by what the run did, and adds an
/// attempt count to the label of every call that took more than one attempt.
pub fn overlay(graph: &mut Graph, progress: &Progress, workflow_id: &str, run_id: &str) -> Overlay {
    let mut states = BTreeMap::new();
    let mut attempts: BTreeMap<String, u32> = BTreeMap::new();
    progress.program.walk(&mut |step| {
        step_states(step, progress, &mut states, &mut attempts);
    });
    states.insert("start".into(), NodeState::Completed);
    let (done, failed) = match progress.run {
        RunEnd::Completed => (NodeState::Completed, NodeState::Skipped),
        RunEnd::Failed => (NodeState::Skipped, NodeState::Failed),
        RunEnd::Running | RunEnd::Other => (NodeState::Skipped, NodeState::Skipped),
    };
    states.insert("done".into(), done);
    states.insert("failed".into(), failed);
    for node in graph_nodes_mut(graph) {
        if let Some(n) = attempts.get(&node.id) {
            node.lines.push(format!("{n} attempts"));
        }
    }
    // Only nodes the graph has (a `done` that no path reaches is not drawn).
    let drawn: Vec<String> = graph.nodes().iter().map(|n| n.id.clone()).collect();
    states.retain(|id, _| drawn.contains(id));
    let status = match progress.run {
        RunEnd::Running => "running",
        RunEnd::Completed => "completed",
        RunEnd::Failed => "failed",
        RunEnd::Other => "closed",
    };
    Overlay {
        caption: format!("{workflow_id} (run {run_id}) · {status}"),
        states,
    }
}

fn step_states(
    step: &Step,
    progress: &Progress,
    states: &mut BTreeMap<String, NodeState>,
    attempts: &mut BTreeMap<String, u32>,
) {
    let id = format!("s{}", step.index);
    let reached = progress
        .reached
        .contains(&CoveragePoint::Step { step: step.index });
    let waiting = progress.waiting.contains(&step.name());
    if step.guard.is_some() {
        let decided = reached
            || progress
                .reached
                .contains(&CoveragePoint::Skipped { step: step.index });
        states.insert(format!("{id}_if"), reached_or_skipped(decided));
    }
    let state = match &step.kind {
        StepKind::Activity(_) | StepKind::Child(_) => match progress.calls.get(&step.index) {
            Some(call) => {
                if call.attempts > 1 {
                    attempts.insert(id.clone(), call.attempts);
                }
                call_state(call, waiting)
            }
            None if waiting => NodeState::Running,
            None => reached_or_skipped(reached),
        },
        StepKind::Fail { .. } | StepKind::Rethrow if reached => NodeState::Failed,
        _ if waiting => NodeState::Running,
        _ => reached_or_skipped(reached),
    };
    if let StepKind::Parallel { .. } = &step.kind {
        // The join is reached once no branch waits any more.
        let branch_waits = progress
            .waiting
            .iter()
            .any(|name| contains_step(step, name));
        let join = if branch_waits {
            NodeState::Skipped
        } else {
            state
        };
        states.insert(format!("{id}_join"), join);
    }
    if let StepKind::Activity(call) = &step.kind
        && call.compensate.is_some()
    {
        let undo = match progress.compensations.get(&step.index) {
            Some(call) => {
                if call.attempts > 1 {
                    attempts.insert(format!("{id}_undo"), call.attempts);
                }
                call_state(call, false)
            }
            None => reached_or_skipped(
                progress
                    .reached
                    .contains(&CoveragePoint::Compensated { step: step.index }),
            ),
        };
        states.insert(format!("{id}_undo"), undo);
    }
    states.insert(id, state);
}

fn call_state(call: &Call, waiting: bool) -> NodeState {
    match call.end {
        CallEnd::Open => NodeState::Running,
        _ if waiting => NodeState::Running,
        CallEnd::Completed if call.attempts > 1 => NodeState::Retried,
        CallEnd::Completed => NodeState::Completed,
        CallEnd::Failed => NodeState::Failed,
    }
}

fn reached_or_skipped(reached: bool) -> NodeState {
    if reached {
        NodeState::Completed
    } else {
        NodeState::Skipped
    }
}

/// Whether the step named `name` lies inside `step`.
fn contains_step(step: &Step, name: &str) -> bool {
    step.kind
        .children()
        .into_iter()
        .flatten()
        .any(|child| child.name() == name || contains_step(child, name))
}

fn graph_nodes_mut(graph: &mut Graph) -> Vec<&mut super::Node> {
    fn go<'a>(items: &'a mut [super::Item], out: &mut Vec<&'a mut super::Node>) {
        for item in items {
            match item {
                super::Item::Node(n) => out.push(n),
                super::Item::Cluster(c) => go(&mut c.items, out),
            }
        }
    }
    let mut out = Vec::new();
    go(&mut graph.items, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::ProjectContext;
    use std::collections::BTreeSet;
    use std::sync::Arc;

    const SAGA: &str = r#"stave: 1
workflow: saga
defaults:
  timeout: 10s
  retry: { max_attempts: 3 }
steps:
  - id: reserve
    activity: stock.reserve
    input: {}
    compensate: { activity: stock.release, input: {} }
  - id: notify
    if: "${ false }"
    activity: mail.send
    input: {}
  - id: charge
    activity: card.charge
    input: {}
"#;

    fn states(progress: &Progress) -> BTreeMap<String, NodeState> {
        let mut graph = super::super::build(&progress.program);
        overlay(&mut graph, progress, "wf", "run").states
    }

    #[test]
    fn a_failed_saga_colours_its_guard_its_failure_and_its_compensation() {
        let (_, program, diagnostics) =
            crate::check::compile_source("saga.stave.yaml", SAGA, &ProjectContext::default());
        let program = Arc::new(program.unwrap_or_else(|| panic!("{diagnostics:?}")));
        let call = |end, attempts| Call { end, attempts };
        let progress = Progress {
            program,
            run: RunEnd::Failed,
            reached: BTreeSet::from([
                CoveragePoint::Step { step: 0 },
                CoveragePoint::Skipped { step: 1 },
                CoveragePoint::Step { step: 2 },
                CoveragePoint::Compensated { step: 0 },
            ]),
            waiting: Vec::new(),
            calls: BTreeMap::from([
                (0, call(CallEnd::Completed, 1)),
                (2, call(CallEnd::Failed, 3)),
            ]),
            compensations: BTreeMap::from([(0, call(CallEnd::Completed, 2))]),
            replay_failure: None,
        };
        let got = states(&progress);
        let expect = |id: &str| got.get(id).copied();
        assert_eq!(expect("s0"), Some(NodeState::Completed));
        assert_eq!(expect("s1_if"), Some(NodeState::Completed));
        assert_eq!(expect("s1"), Some(NodeState::Skipped));
        assert_eq!(expect("s2"), Some(NodeState::Failed));
        assert_eq!(expect("s0_undo"), Some(NodeState::Retried));
        assert_eq!(expect("failed"), Some(NodeState::Failed));
        assert_eq!(expect("done"), Some(NodeState::Skipped));
        assert_eq!(expect("start"), Some(NodeState::Completed));
    }
}
