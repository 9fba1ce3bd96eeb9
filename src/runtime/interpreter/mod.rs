//! The interpreter: a deterministic function of (IR, activation jobs) → workflow commands.

use std::sync::Arc;

use temporalio_common::protos::coresdk::{
    workflow_activation::WorkflowActivation, workflow_commands::WorkflowCommand,
};

use crate::ir::Workflow;

/// What completes one activation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Complete the activation with these commands (possibly none).
    Commands(Vec<WorkflowCommand>),
    /// Fail the workflow *task* (a bug or nondeterminism): the server retries it.
    TaskFailure(String),
}

/// Where a run stands, for `stave describe` and metrics.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// No activation applied yet.
    NotStarted,
    Running,
    /// Running the saga's compensations before failing or cancelling.
    Compensating,
    Completed,
    Failed,
    Cancelled,
    ContinuedAsNew,
}

/// Observable state of a run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunStatus {
    pub state: RunState,
    /// Names (`Step::name`) of the steps waiting right now, in program order.
    pub current_steps: Vec<String>,
}

/// One workflow run of one program.
pub struct Run {
    program: Arc<Workflow>,
    state: RunState,
}

impl Run {
    /// A run of `program`; created on the run's first activation (which holds InitializeWorkflow).
    pub fn new(program: Arc<Workflow>) -> Run {
        Run {
            program,
            state: RunState::NotStarted,
        }
    }

    /// Applies one activation's jobs, returns the commands to complete it with (possibly empty).
    /// Never panics; an internal error becomes a workflow-task failure.
    pub fn activate(&mut self, activation: &WorkflowActivation) -> Outcome {
        let _ = (&self.program, activation);
        Outcome::Commands(Vec::new())
    }

    /// Observable state for `stave describe` and metrics: current step names, status.
    pub fn status(&self) -> RunStatus {
        RunStatus {
            state: self.state.clone(),
            current_steps: Vec::new(),
        }
    }
}
