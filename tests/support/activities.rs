//! Activities only tests register: flaky, failing, slow, concurrency-tracking, order-recording.
//!
//! They write what they saw into a shared [`Journal`] keyed by the `key` of their input, so a
//! test observes attempts, order and concurrency without reading worker logs.

use serde_json::{Value as Json, json};
use stave::runtime::activity::{ActivityContext, ActivityError, Registry};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What test activities observed, per key.
#[derive(Debug, Default)]
pub struct Journal {
    inner: Mutex<JournalState>,
}

#[derive(Debug, Default)]
struct JournalState {
    /// Labels appended by `test.record`, in completion order.
    records: BTreeMap<String, Vec<String>>,
    /// Attempts seen by `test.flaky` (every call, failed or not).
    attempts: BTreeMap<String, u32>,
    /// Current and highest number of `test.track` calls in flight.
    in_flight: BTreeMap<String, (u32, u32)>,
}

impl Journal {
    pub fn records(&self, key: &str) -> Vec<String> {
        self.state().records.get(key).cloned().unwrap_or_default()
    }

    pub fn attempts(&self, key: &str) -> u32 {
        self.state().attempts.get(key).copied().unwrap_or(0)
    }

    /// The highest number of `test.track` calls for `key` that ran at once.
    pub fn max_in_flight(&self, key: &str) -> u32 {
        self.state().in_flight.get(key).map(|c| c.1).unwrap_or(0)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, JournalState> {
        // A test activity that panicked poisons nothing worth losing: keep reading.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn key_of(input: &Json) -> String {
    input
        .get("key")
        .and_then(Json::as_str)
        .unwrap_or("default")
        .to_string()
}

/// The test activities, with the stock built-ins (`log`, `http.request`) merged in.
///
/// - `test.echo`: returns its input.
/// - `test.flaky {key, fail_times}`: fails (`Flaky`, retryable) on the first `fail_times`
///   attempts, then returns `{attempt}`.
/// - `test.fail {type, message, non_retryable}`: always fails with that error type.
/// - `test.slow {ms}`: sleeps, heartbeating, and returns `{slept: ms}`; stops when cancelled.
/// - `test.track {key, ms, value}`: counts calls in flight, sleeps, returns `value`.
/// - `test.record {key, label}`: appends `label` to the journal and returns it.
pub fn registry(journal: Arc<Journal>) -> Registry {
    let flaky = journal.clone();
    let track = journal.clone();
    let record = journal;
    Registry::with_builtins()
        .activity(
            "test.echo",
            |_ctx: ActivityContext, input: Json| async move { Ok::<Json, ActivityError>(input) },
        )
        .activity("test.flaky", move |ctx: ActivityContext, input: Json| {
            let journal = flaky.clone();
            async move {
                let key = key_of(&input);
                let fail_times = input.get("fail_times").and_then(Json::as_u64).unwrap_or(2);
                let attempt = ctx.info().attempt;
                *journal.state().attempts.entry(key.clone()).or_insert(0) += 1;
                if u64::from(attempt) <= fail_times {
                    return Err(ActivityError::new(
                        "Flaky",
                        format!("attempt {attempt} of `{key}` fails on purpose"),
                    ));
                }
                Ok(json!({ "attempt": attempt }))
            }
        })
        .errors(["Flaky"])
        .activity(
            "test.fail",
            |_ctx: ActivityContext, input: Json| async move {
                let error_type = input
                    .get("type")
                    .and_then(Json::as_str)
                    .unwrap_or("TestFailure")
                    .to_string();
                let message = input
                    .get("message")
                    .and_then(Json::as_str)
                    .unwrap_or("failed on purpose")
                    .to_string();
                let error = ActivityError::new(error_type, message)
                    .details(input.get("details").cloned().unwrap_or(Json::Null));
                let non_retryable = input
                    .get("non_retryable")
                    .and_then(Json::as_bool)
                    .unwrap_or(false);
                Err::<Json, ActivityError>(if non_retryable {
                    error.non_retryable()
                } else {
                    error
                })
            },
        )
        .activity(
            "test.slow",
            |ctx: ActivityContext, input: Json| async move {
                let ms = input.get("ms").and_then(Json::as_u64).unwrap_or(1000);
                let step = Duration::from_millis(100);
                let mut slept = 0;
                while slept < ms {
                    ctx.heartbeat(json!({ "slept": slept }));
                    tokio::select! {
                        _ = tokio::time::sleep(step) => slept += 100,
                        _ = ctx.cancelled() => return Err(ActivityError::cancelled()),
                    }
                }
                Ok::<Json, ActivityError>(json!({ "slept": ms }))
            },
        )
        .activity("test.track", move |_ctx: ActivityContext, input: Json| {
            let journal = track.clone();
            async move {
                let key = key_of(&input);
                {
                    let mut state = journal.state();
                    let counter = state.in_flight.entry(key.clone()).or_insert((0, 0));
                    counter.0 += 1;
                    counter.1 = counter.1.max(counter.0);
                }
                let ms = input.get("ms").and_then(Json::as_u64).unwrap_or(200);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                if let Some(counter) = journal.state().in_flight.get_mut(&key) {
                    counter.0 -= 1;
                }
                Ok::<Json, ActivityError>(input.get("value").cloned().unwrap_or(Json::Null))
            }
        })
        .activity("test.record", move |_ctx: ActivityContext, input: Json| {
            let journal = record.clone();
            async move {
                let key = key_of(&input);
                let label = input
                    .get("label")
                    .and_then(Json::as_str)
                    .unwrap_or("?")
                    .to_string();
                journal
                    .state()
                    .records
                    .entry(key)
                    .or_default()
                    .push(label.clone());
                Ok::<Json, ActivityError>(Json::String(label))
            }
        })
}
