//! A case's mocks as the simulator's [`Mocks`]: the first matching mock answers (the case's
//! before the file's; within each, `step:` mocks before `activity:` ones), each consuming its
//! responses one per call, the last repeating.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use crate::runtime::sim::{ActivityAttempt, ChildStart, MockReply, Mocks};
use crate::syntax::yaml::testfile::{Matcher, Mock, MockTarget, Response, ResponseKind};

use super::expect::{eval_bool, first_difference};

/// Error type of the answer to an activity no mock covers.
pub const UNMOCKED: &str = "UnmockedActivity";

/// The mocks of one case, with their consumption counters.
pub struct CaseMocks<'t> {
    mocks: Vec<&'t Mock>,
    used: Vec<usize>,
    /// Step name → the activity type it calls: a `step:` mock answers that activity only
    /// (a compensation runs under its step's name but calls another activity).
    step_activities: &'t BTreeMap<String, String>,
    /// Calls no mock answered, or whose `when:` failed: each fails the case.
    pub problems: Vec<String>,
}

impl<'t> CaseMocks<'t> {
    pub fn new(
        case: &'t [Mock],
        file: &'t [Mock],
        step_activities: &'t BTreeMap<String, String>,
    ) -> CaseMocks<'t> {
        let by_step = |m: &&Mock| matches!(m.target, MockTarget::Step(_));
        let mut mocks: Vec<&Mock> = Vec::new();
        for group in [case, file] {
            mocks.extend(group.iter().filter(by_step));
            mocks.extend(group.iter().filter(|m| !by_step(m)));
        }
        CaseMocks {
            step_activities,
            used: vec![0; mocks.len()],
            mocks,
            problems: Vec::new(),
        }
    }

    /// The next response of the first mock that `applies` and whose `when:` holds.
    fn answer(
        &mut self,
        applies: impl Fn(&MockTarget) -> bool,
        input: &Json,
        attempt: u32,
    ) -> Option<&'t Response> {
        for (i, mock) in self.mocks.iter().enumerate() {
            if !applies(&mock.target) {
                continue;
            }
            if let Some(when) = &mock.when {
                match when_holds(when, input, attempt) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        self.problems.push(format!(
                            "the `when:` of the mock of `{}` failed: {e}",
                            mock.target.name().value
                        ));
                        continue;
                    }
                }
            }
            let n = self.used[i];
            self.used[i] += 1;
            return mock.responses.get(n.min(mock.responses.len() - 1));
        }
        None
    }
}

fn when_holds(when: &Matcher, input: &Json, attempt: u32) -> Result<bool, String> {
    match when {
        Matcher::Exact(e) | Matcher::Includes(e) => {
            Ok(first_difference(&e.value, input, true, "input").is_none())
        }
        Matcher::Expr(template, _) => {
            let mut bindings = Map::new();
            bindings.insert("input".into(), input.clone());
            bindings.insert("attempt".into(), Json::from(attempt));
            eval_bool(template, &bindings)
        }
    }
}

fn reply(response: &Response) -> MockReply {
    match &response.kind {
        ResponseKind::Output(value) => MockReply::Output {
            value: value.value.clone(),
            delay_ms: response.delay_ms,
        },
        ResponseKind::Error {
            error_type,
            message,
            details,
            non_retryable,
        } => MockReply::Error {
            error_type: error_type.clone(),
            message: message.clone(),
            details: details.clone(),
            non_retryable: *non_retryable,
            delay_ms: response.delay_ms,
        },
        ResponseKind::Timeout => MockReply::Timeout,
    }
}

impl Mocks for CaseMocks<'_> {
    fn activity(&mut self, call: &ActivityAttempt) -> MockReply {
        let steps = self.step_activities;
        let applies = |t: &MockTarget| match t {
            MockTarget::Activity(n) => n.value == call.activity,
            MockTarget::Step(n) => {
                n.value == call.step
                    && steps
                        .get(&call.step)
                        .is_none_or(|activity| *activity == call.activity)
            }
            MockTarget::Workflow(_) => false,
        };
        let answer = self.answer(applies, &call.input, call.attempt);
        match answer {
            Some(response) => reply(response),
            None => {
                let message = format!(
                    "no mock answers activity `{}` (step `{}`, attempt {}) with input {}; add `- activity: {}` with a `respond:` to the case's mocks",
                    call.activity,
                    call.step,
                    call.attempt,
                    super::expect::pretty(&call.input),
                    call.activity
                );
                if call.attempt == 1 {
                    self.problems.push(message.clone());
                }
                MockReply::Error {
                    error_type: UNMOCKED.into(),
                    message,
                    details: Json::Null,
                    non_retryable: true,
                    delay_ms: 0,
                }
            }
        }
    }

    fn child(&mut self, call: &ChildStart) -> Option<MockReply> {
        let applies =
            |t: &MockTarget| matches!(t, MockTarget::Workflow(n) if n.value == call.workflow_type);
        self.answer(applies, &call.input, 1).map(reply)
    }
}
