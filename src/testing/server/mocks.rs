//! The mock-activity worker's activities: every type the programs call, answered from the running case's mocks (`testing::mocks::CaseMocks`, exactly as in the simulator), each attempt logged.
//!
//! Activities run on the worker's tasks, which must own what they hold; the mocks borrow the
//! test files. So an attempt sends a [`Request`] to the case driver's task, where a [`Book`]
//! of the cases' mocks (by workflow id) answers it, and then plays the answer: waits its
//! `delay` on the run's clock, returns its output or its error, or never answers.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value as Json;
use tokio::sync::{mpsc, oneshot, watch};

use super::clock::Clock;
use crate::runtime::activity::{ActivityContext, ActivityError, Registry};
use crate::runtime::sim::{ActivityAttempt, AttemptOutcome, AttemptRecord, MockReply, Mocks};
use crate::testing::mocks::{CaseMocks, UNMOCKED};

/// One attempt asking for its answer.
pub struct Request {
    pub call: ActivityAttempt,
    /// The interpreter's activity sequence number, to order attempts scheduled together.
    pub activity_id: String,
    /// When the attempt began, server's clock (epoch ms): a first attempt when it was
    /// scheduled (every activity of one workflow task at the same instant, as in the
    /// simulator), a retry when it started (servers differ on a retry's scheduled time:
    /// Temporal's is after the backoff, the test server's before it).
    pub began_ms: Option<i64>,
    pub reply: oneshot::Sender<Answer>,
}

/// A mock's answer, and a signal that the case is over (a hanging attempt then stops).
pub struct Answer {
    pub reply: MockReply,
    pub over: watch::Receiver<bool>,
}

/// A registry answering every type of `types` from the mocks through `requests`.
pub fn registry(
    types: &BTreeSet<String>,
    requests: &mpsc::UnboundedSender<Request>,
    clock: &Clock,
) -> Registry {
    let mut registry = Registry::new();
    for activity in types {
        let (requests, clock, name) = (requests.clone(), clock.clone(), activity.clone());
        registry = registry.activity(
            activity.clone(),
            move |ctx: ActivityContext, input: Json| {
                let (requests, clock, name) = (requests.clone(), clock.clone(), name.clone());
                async move { attempt(ctx, input, name, requests, clock).await }
            },
        );
    }
    registry
}

async fn attempt(
    ctx: ActivityContext,
    input: Json,
    activity: String,
    requests: mpsc::UnboundedSender<Request>,
    clock: Clock,
) -> Result<Json, ActivityError> {
    let info = ctx.info();
    let (reply, answer) = oneshot::channel();
    let request = Request {
        call: ActivityAttempt {
            activity,
            step: info.step.clone(),
            attempt: info.attempt,
            input,
            at_ms: 0,
            workflow_id: info.workflow_id.clone(),
        },
        activity_id: info.activity_id.clone(),
        began_ms: if info.attempt == 1 {
            info.attempt_scheduled_ms
        } else {
            info.started_ms
        },
        reply,
    };
    let unavailable = || {
        ActivityError::new(
            "MockUnavailable",
            "the test run ended before this attempt got its mock's answer",
        )
        .non_retryable()
    };
    requests.send(request).map_err(|_| unavailable())?;
    let Answer { reply, mut over } = answer.await.map_err(|_| unavailable())?;
    match reply {
        MockReply::Output { value, delay_ms } => {
            clock
                .activity_delay(&ctx, Duration::from_millis(delay_ms))
                .await?;
            Ok(value)
        }
        MockReply::Error {
            error_type,
            message,
            details,
            non_retryable,
            delay_ms,
        } => {
            clock
                .activity_delay(&ctx, Duration::from_millis(delay_ms))
                .await?;
            let mut error = ActivityError::new(error_type, message);
            if !details.is_null() {
                error = error.details(details);
            }
            if non_retryable {
                error = error.non_retryable();
            }
            Err(error)
        }
        MockReply::Timeout => {
            let over = async move {
                let _ = over.wait_for(|over| *over).await;
            };
            clock.activity_hang(&ctx, over).await;
            Err(ActivityError::cancelled())
        }
    }
}

/// The cases whose activities may ask, by workflow id.
#[derive(Default)]
pub struct Book<'t> {
    entries: Vec<Entry<'t>>,
    /// The case now running: it answers for workflow ids no entry names (a child with an
    /// explicit `workflow_id:`). The latest case of an id answers for it.
    current: Option<usize>,
}

struct Entry<'t> {
    workflow_id: String,
    start_ms: Option<i64>,
    mocks: CaseMocks<'t>,
    /// Attempts with their sort key: (offset, workflow id, activity sequence, attempt).
    attempts: Vec<((u64, String, u64, u32), AttemptRecord)>,
    over: watch::Sender<bool>,
}

impl<'t> Book<'t> {
    /// Opens the case of `workflow_id` (the current one from now on); returns its handle.
    pub fn open(&mut self, workflow_id: &str, mocks: CaseMocks<'t>) -> usize {
        self.entries.push(Entry {
            workflow_id: workflow_id.to_string(),
            start_ms: None,
            mocks,
            attempts: Vec::new(),
            over: watch::Sender::new(false),
        });
        let handle = self.entries.len() - 1;
        self.current = Some(handle);
        handle
    }

    /// The run of case `handle` started at `start_ms` (server clock): offsets count from it.
    pub fn started(&mut self, handle: usize, start_ms: i64) {
        if let Some(e) = self.entries.get_mut(handle) {
            e.start_ms = Some(start_ms);
        }
    }

    /// Answers one attempt from its case's mocks and logs it.
    pub fn answer(&mut self, request: Request) {
        let workflow_id = &request.call.workflow_id;
        let index = self
            .entries
            .iter()
            .rposition(|e| {
                workflow_id == &e.workflow_id
                    || workflow_id
                        .strip_prefix(e.workflow_id.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            .or(self.current);
        let Some(entry) = index.and_then(|i| self.entries.get_mut(i)) else {
            let reply = MockReply::Error {
                error_type: UNMOCKED.into(),
                message: format!("no test case started workflow `{workflow_id}`"),
                details: Json::Null,
                non_retryable: true,
                delay_ms: 0,
            };
            let _ = request.reply.send(Answer {
                reply,
                over: watch::Sender::new(true).subscribe(),
            });
            return;
        };
        let mut call = request.call;
        call.at_ms = match (request.began_ms, entry.start_ms) {
            (Some(at), Some(start)) => u64::try_from(at - start).unwrap_or(0),
            _ => 0,
        };
        let reply = entry.mocks.activity(&call);
        let (end_ms, outcome) = match &reply {
            MockReply::Output { value, delay_ms } => (
                Some(call.at_ms + delay_ms),
                AttemptOutcome::Completed {
                    output: value.clone(),
                },
            ),
            MockReply::Error {
                error_type,
                message,
                delay_ms,
                ..
            } => (
                Some(call.at_ms + delay_ms),
                AttemptOutcome::Failed {
                    error_type: error_type.clone(),
                    message: message.clone(),
                },
            ),
            MockReply::Timeout => (
                None,
                AttemptOutcome::TimedOut {
                    timeout_type: "StartToClose".into(),
                },
            ),
        };
        let key = (
            call.at_ms,
            call.workflow_id.clone(),
            request.activity_id.parse().unwrap_or(u64::MAX),
            call.attempt,
        );
        entry.attempts.push((
            key,
            AttemptRecord {
                workflow_id: call.workflow_id,
                activity: call.activity,
                step: call.step,
                attempt: call.attempt,
                input: call.input,
                at_ms: call.at_ms,
                end_ms,
                outcome,
            },
        ));
        let _ = request.reply.send(Answer {
            reply,
            over: entry.over.subscribe(),
        });
    }

    /// Ends case `handle`: its hanging attempts stop; returns its attempts in the order
    /// they were scheduled and the problems its mocks saw (calls no mock answered).
    pub fn close(&mut self, handle: usize) -> (Vec<AttemptRecord>, Vec<String>) {
        if self.current == Some(handle) {
            self.current = None;
        }
        let Some(entry) = self.entries.get_mut(handle) else {
            return (Vec::new(), Vec::new());
        };
        entry.over.send_replace(true);
        let mut attempts = std::mem::take(&mut entry.attempts);
        attempts.sort_by(|a, b| a.0.cmp(&b.0));
        let problems = std::mem::take(&mut entry.mocks.problems);
        (attempts.into_iter().map(|(_, a)| a).collect(), problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(
        workflow_id: &str,
        activity_id: &str,
        began_ms: i64,
    ) -> (Request, oneshot::Receiver<Answer>) {
        let (reply, answer) = oneshot::channel();
        let request = Request {
            call: ActivityAttempt {
                activity: "a".into(),
                step: "s".into(),
                attempt: 1,
                input: json!({"n": activity_id}),
                at_ms: 0,
                workflow_id: workflow_id.into(),
            },
            activity_id: activity_id.into(),
            began_ms: Some(began_ms),
            reply,
        };
        (request, answer)
    }

    /// No `step:` mocks in these cases: no step names to resolve.
    static NO_STEPS: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();

    #[test]
    fn children_answer_from_their_case_and_attempts_come_in_schedule_order() {
        let mut book = Book::default();
        let first = book.open("case-1-t", CaseMocks::new(&[], &[], &NO_STEPS));
        book.started(first, 1_000);
        let handle = book.open("case-2-t", CaseMocks::new(&[], &[], &NO_STEPS));
        book.started(handle, 10_000);
        // Polled out of order: seq 2 before seq 1 of the same instant, then a child's.
        for (workflow_id, seq, at) in [
            ("case-2-t", "2", 10_000),
            ("case-2-t", "1", 10_000),
            ("case-2-t/review", "1", 10_500),
        ] {
            let (request, mut answer) = request(workflow_id, seq, at);
            book.answer(request);
            let answer = answer.try_recv().expect("answered at once");
            assert!(
                matches!(answer.reply, MockReply::Error { ref error_type, .. } if error_type == UNMOCKED)
            );
        }
        let (attempts, problems) = book.close(handle);
        let order: Vec<(String, u64, Json)> = attempts
            .into_iter()
            .map(|a| (a.workflow_id, a.at_ms, a.input))
            .collect();
        assert_eq!(
            order,
            vec![
                ("case-2-t".into(), 0, json!({"n": "1"})),
                ("case-2-t".into(), 0, json!({"n": "2"})),
                ("case-2-t/review".into(), 500, json!({"n": "1"})),
            ]
        );
        assert_eq!(problems.len(), 3, "unmocked calls are the case's problems");
        assert!(book.close(first).0.is_empty());
    }

    #[test]
    fn an_attempt_of_no_case_is_refused() {
        let mut book = Book::default();
        let (request, mut answer) = request("stray", "1", 0);
        book.answer(request);
        let answer = answer.try_recv().expect("answered");
        assert!(matches!(
            answer.reply,
            MockReply::Error {
                non_retryable: true,
                ..
            }
        ));
        assert!(*answer.over.borrow());
    }
}
