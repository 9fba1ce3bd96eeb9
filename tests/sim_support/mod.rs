//! The simulator tests' harness: workflow files compiled from text, and scripted mocks.

// Every test binary compiles this module but uses only part of it.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde_json::{Value as Json, json};
use stave::ir::Workflow;
use stave::project::ProjectContext;
use stave::runtime::sim::{
    ActivityAttempt, Case, ChildStart, Event, MockReply, Mocks, SimResult, SimStatus, Simulator,
    Timed,
};

pub fn program(text: &str) -> Arc<Workflow> {
    let (_, ir, diagnostics) =
        stave::check::compile_source("case.stave.yaml", text, &ProjectContext::default());
    let errors: Vec<&str> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.as_str())
        .collect();
    match ir {
        Some(ir) => Arc::new(ir),
        None => panic!("the test workflow does not compile: {errors:?}"),
    }
}

pub fn simulator(texts: &[&str]) -> Simulator {
    Simulator::new(texts.iter().map(|t| program(t)))
}

/// Replies per step (or activity type) by attempt, the last one repeating; anything else
/// succeeds at once with `{"step": name}`. Children are mocked by type when listed.
#[derive(Default)]
pub struct Script {
    pub activities: BTreeMap<String, Vec<MockReply>>,
    /// Replies per step (or activity type) in call order, whatever the attempt: runs of a
    /// retried child each start at attempt 1.
    pub queued: BTreeMap<String, VecDeque<MockReply>>,
    pub children: BTreeMap<String, MockReply>,
    pub calls: Vec<ActivityAttempt>,
}

impl Script {
    pub fn on(mut self, step: &str, replies: Vec<MockReply>) -> Script {
        self.activities.insert(step.to_owned(), replies);
        self
    }

    pub fn queue(mut self, step: &str, replies: Vec<MockReply>) -> Script {
        self.queued.insert(step.to_owned(), replies.into());
        self
    }

    pub fn child(mut self, workflow_type: &str, reply: MockReply) -> Script {
        self.children.insert(workflow_type.to_owned(), reply);
        self
    }
}

impl Mocks for Script {
    fn activity(&mut self, call: &ActivityAttempt) -> MockReply {
        self.calls.push(call.clone());
        for key in [&call.step, &call.activity] {
            if let Some(reply) = self.queued.get_mut(key).and_then(VecDeque::pop_front) {
                return reply;
            }
        }
        let replies = self
            .activities
            .get(&call.step)
            .or_else(|| self.activities.get(&call.activity));
        match replies {
            Some(list) if !list.is_empty() => {
                let i = (call.attempt as usize - 1).min(list.len() - 1);
                list[i].clone()
            }
            _ => ok(json!({"step": call.step}), 0),
        }
    }

    fn child(&mut self, call: &ChildStart) -> Option<MockReply> {
        self.children.get(&call.workflow_type).cloned()
    }
}

pub fn ok(value: Json, delay_ms: u64) -> MockReply {
    MockReply::Output { value, delay_ms }
}

pub fn err(error_type: &str, delay_ms: u64) -> MockReply {
    MockReply::Error {
        error_type: error_type.to_owned(),
        message: format!("{error_type} happened"),
        details: Json::Null,
        non_retryable: false,
        delay_ms,
    }
}

pub fn case(workflow: &str, input: Json) -> Case {
    Case::new(workflow, input)
}

pub fn at(at_ms: u64, event: Event) -> Timed {
    Timed { at_ms, event }
}

pub fn signal(name: &str, payload: Json) -> Event {
    Event::Signal {
        name: name.to_owned(),
        payload,
    }
}

pub fn query(name: &str) -> Event {
    Event::Query {
        name: name.to_owned(),
    }
}

/// (step, attempt, start) of every attempt.
pub fn starts(result: &SimResult) -> Vec<(String, u32, u64)> {
    result
        .attempts
        .iter()
        .map(|a| (a.step.clone(), a.attempt, a.at_ms))
        .collect()
}

pub fn completed(result: &SimResult) -> Json {
    match &result.status {
        SimStatus::Completed { output } => output.clone(),
        other => panic!(
            "expected completion, got {other:?}\n{}",
            result.trace.join("\n")
        ),
    }
}

pub fn failed(result: &SimResult) -> (String, String, Json) {
    match &result.status {
        SimStatus::Failed {
            error_type,
            message,
            details,
        } => (error_type.clone(), message.clone(), details.clone()),
        other => panic!(
            "expected failure, got {other:?}\n{}",
            result.trace.join("\n")
        ),
    }
}

/// A day-long wait for approval, with a signal handler and queries.
pub const APPROVAL: &str = r#"
stave: 1
workflow: approval
vars: { status: new, approver: null }
defaults:
  timeout: 1m
signals:
  approve: { set: { approver: "${ signal.by }" } }
queries:
  status: "${ vars.status }"
  approver: "${ vars.approver }"
steps:
  - id: prepare
    activity: docs.prepare
  - set: { status: waiting }
  - id: decision
    wait: { signal: approve, timeout: 24h, on_timeout: continue }
  - set: { status: "${ vars.approver == null ? 'expired' : 'approved' }" }
output: "${ {'status': vars.status, 'decision': steps.decision} }"
"#;
