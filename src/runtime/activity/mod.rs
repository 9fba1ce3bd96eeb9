//! Activities as Rust functions: a typed registry (serde in and out, JSON Schema for the manifest).
//!
//! ```no_run
//! use stave::runtime::activity::{ActivityContext, ActivityError, Registry};
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct ChargeInput { order_id: String, card: String, amount: f64 }
//! #[derive(serde::Serialize, schemars::JsonSchema)]
//! struct ChargeOutput { id: String }
//!
//! let registry = Registry::new()
//!     .activity("payments.charge", |_ctx: ActivityContext, input: ChargeInput| async move {
//!         if input.card == "declined" {
//!             return Err(ActivityError::new("CardDeclined", "card was declined").non_retryable());
//!         }
//!         Ok(ChargeOutput { id: format!("ch-{}", input.order_id) })
//!     })
//!     .errors(["CardDeclined"]);
//! ```
//!
//! Architecture invariant: a handler never takes the worker down. Bad input, a panic, an
//! output that does not serialise — each becomes a failure of that one activity task.

pub mod builtins;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use tokio::sync::watch;

use crate::manifest::{ActivityDefaults, ActivitySpec, Manifest};
use crate::runtime::egress::HttpPolicy;

/// Failure type of an input that does not deserialise into the handler's input type.
pub const INVALID_INPUT: &str = "InvalidActivityInput";
/// Failure type of an output that does not serialise to JSON.
pub const INVALID_OUTPUT: &str = "InvalidActivityOutput";
/// Failure type of a handler that panicked.
pub const PANIC: &str = "ActivityPanic";
/// Failure type of a task whose activity type no handler is registered for.
pub const UNKNOWN_ACTIVITY: &str = "UnknownActivity";
/// Failure type of a result over the namespace's payload size limit.
pub use crate::ir::errors::PAYLOAD_TOO_LARGE;

/// An activity failure: a Temporal `ApplicationFailure` with a type that retry policies and
/// `catch.errors` match on.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityError {
    /// The failure type (`CardDeclined`); matched by `retry.non_retryable` and `catch.errors`.
    pub error_type: String,
    pub message: String,
    /// Stops retries whatever the retry policy says.
    pub non_retryable: bool,
    /// Extra data, visible to the workflow as `err.details` (boxed: errors travel in
    /// `Result`s, and a JSON value would make every one of them large).
    pub details: Option<Box<Json>>,
    /// Overrides the retry policy's backoff for the next attempt.
    pub next_retry_delay: Option<Duration>,
    cancelled: bool,
}

impl ActivityError {
    /// A retryable failure of type `error_type` (retries still stop when the step's retry
    /// policy lists the type as non-retryable).
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> ActivityError {
        ActivityError {
            error_type: error_type.into(),
            message: message.into(),
            non_retryable: false,
            details: None,
            next_retry_delay: None,
            cancelled: false,
        }
    }

    /// Marks the failure final: no further attempts.
    pub fn non_retryable(mut self) -> ActivityError {
        self.non_retryable = true;
        self
    }

    /// Marks the failure retryable (the default), for errors built from a non-retryable one.
    pub fn retryable(mut self) -> ActivityError {
        self.non_retryable = false;
        self
    }

    /// Attaches details (any serialisable value) to the failure.
    pub fn details(mut self, details: impl Serialize) -> ActivityError {
        self.details = serde_json::to_value(details).ok().map(Box::new);
        self
    }

    /// Asks for this delay before the next attempt instead of the policy's backoff.
    pub fn retry_after(mut self, delay: Duration) -> ActivityError {
        self.next_retry_delay = Some(delay);
        self
    }

    /// The activity acknowledges a cancellation request (see [`ActivityContext::cancelled`]).
    pub fn cancelled() -> ActivityError {
        ActivityError {
            cancelled: true,
            ..ActivityError::new("Cancelled", "activity cancelled")
        }
    }

    /// Whether this error acknowledges a cancellation.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled
    }
}

impl fmt::Display for ActivityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

impl std::error::Error for ActivityError {}

/// What a running activity knows about itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ActivityInfo {
    pub activity_type: String,
    pub activity_id: String,
    pub workflow_id: String,
    pub run_id: String,
    pub workflow_type: String,
    pub namespace: String,
    pub task_queue: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The step of the Stave workflow that scheduled it (its `stave-step` header); empty
    /// when the workflow is not a Stave one.
    pub step: String,
    /// The details of the last heartbeat of the previous attempt, to resume from.
    pub heartbeat_details: Option<Json>,
    /// When the activity was first scheduled, in epoch milliseconds of the server's clock.
    pub scheduled_ms: Option<i64>,
    /// When this attempt was scheduled (after any retry backoff), server's clock.
    pub attempt_scheduled_ms: Option<i64>,
    /// When this attempt started (was handed to this worker), server's clock.
    pub started_ms: Option<i64>,
    pub schedule_to_close_timeout: Option<Duration>,
    pub start_to_close_timeout: Option<Duration>,
    pub heartbeat_timeout: Option<Duration>,
}

/// Why an activity was asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    /// The workflow cancelled it (a cancelled scope, a lost race, a cancelled run).
    Cancelled,
    /// Its start-to-close or heartbeat timeout passed.
    TimedOut,
    /// The worker is shutting down and its grace period is over.
    WorkerShutdown,
    /// The server no longer knows the activity (completed elsewhere, or the run ended).
    NotFound,
    /// Paused or reset by an operator.
    Other,
}

/// Handle passed to every activity: info, heartbeats, cancellation.
#[derive(Clone)]
pub struct ActivityContext {
    info: Arc<ActivityInfo>,
    heartbeat: Arc<dyn Fn(Json) + Send + Sync>,
    cancel: watch::Receiver<Option<CancelReason>>,
    http: Arc<HttpPolicy>,
}

/// The sending side of an activity's cancellation, held by whoever runs it.
#[derive(Debug)]
pub struct Canceller(watch::Sender<Option<CancelReason>>);

impl Canceller {
    /// Requests cancellation; the first reason wins.
    pub fn cancel(&self, reason: CancelReason) {
        self.0.send_if_modified(|current| {
            if current.is_none() {
                *current = Some(reason);
                true
            } else {
                false
            }
        });
    }
}

impl ActivityContext {
    /// A context whose heartbeats go to `heartbeat`, and a [`Canceller`] to cancel it. Workers
    /// build it per task; tests of activity functions build it directly.
    pub fn new(
        info: ActivityInfo,
        heartbeat: impl Fn(Json) + Send + Sync + 'static,
    ) -> (ActivityContext, Canceller) {
        let (sender, receiver) = watch::channel(None);
        let context = ActivityContext {
            info: Arc::new(info),
            heartbeat: Arc::new(heartbeat),
            cancel: receiver,
            http: HttpPolicy::shared_default(),
        };
        (context, Canceller(sender))
    }

    /// This context with the worker's egress policy (`http:` of stave.yaml); a context from
    /// [`ActivityContext::new`] has the default one: public hosts only.
    pub fn with_http_policy(mut self, policy: Arc<HttpPolicy>) -> ActivityContext {
        self.http = policy;
        self
    }

    /// Where HTTP calls made for this activity may go, and the client that enforces it.
    pub fn http_policy(&self) -> &HttpPolicy {
        &self.http
    }

    pub fn info(&self) -> &ActivityInfo {
        &self.info
    }

    /// Records progress; the server sees it (throttled) and a retry gets the last details in
    /// [`ActivityInfo::heartbeat_details`]. Also how a long activity learns of cancellation:
    /// cancellation is delivered only to activities that heartbeat.
    pub fn heartbeat(&self, details: impl Serialize) {
        (self.heartbeat)(serde_json::to_value(details).unwrap_or(Json::Null));
    }

    /// Resolves once the activity is asked to stop, with the reason.
    pub async fn cancelled(&self) -> CancelReason {
        let mut receiver = self.cancel.clone();
        loop {
            if let Some(reason) = *receiver.borrow_and_update() {
                return reason;
            }
            if receiver.changed().await.is_err() {
                // The runner is gone: nobody can cancel any more, so never resolve.
                std::future::pending::<()>().await;
            }
        }
    }

    /// Whether cancellation was requested (for loops that poll rather than select).
    pub fn is_cancelled(&self) -> bool {
        self.cancel.borrow().is_some()
    }

    /// Why the activity was asked to stop, if it was.
    pub fn cancel_reason(&self) -> Option<CancelReason> {
        *self.cancel.borrow()
    }
}

type Handler =
    Arc<dyn Fn(ActivityContext, Json) -> BoxFuture<Result<Json, ActivityError>> + Send + Sync>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

#[derive(Clone)]
struct Entry {
    spec: ActivitySpec,
    handler: Handler,
    /// Receives its input with secret references resolved (see [`Registry::without_secrets`]).
    secrets: bool,
}

/// The activities a worker serves, by Temporal activity type.
#[derive(Clone, Default)]
pub struct Registry {
    entries: BTreeMap<String, Entry>,
    /// The most recently registered activity, which `.errors(..)` and friends describe.
    last: Option<String>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("activities", &self.entries.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// The stock binary's registry: `http.request` and `log`.
    pub fn with_builtins() -> Registry {
        builtins::register(Registry::new())
    }

    /// Registers `handler` as activity type `name`. Input and output are JSON through serde;
    /// their JSON Schemas (schemars) go into the manifest. Registering a name again replaces it.
    pub fn activity<I, O, F, Fut>(mut self, name: impl Into<String>, handler: F) -> Registry
    where
        I: DeserializeOwned + JsonSchema + Send + 'static,
        O: Serialize + JsonSchema + Send + 'static,
        F: Fn(ActivityContext, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, ActivityError>> + Send + 'static,
    {
        let name = name.into();
        let handler = Arc::new(handler);
        let activity = name.clone();
        let erased: Handler = Arc::new(move |ctx: ActivityContext, input: Json| {
            let handler = handler.clone();
            let activity = activity.clone();
            Box::pin(async move {
                let input: I = decode_input(&activity, input)?;
                let output = handler(ctx, input).await?;
                serde_json::to_value(output).map_err(|e| {
                    ActivityError::new(
                        INVALID_OUTPUT,
                        format!("activity `{activity}` returned an output that is not JSON: {e}"),
                    )
                    .non_retryable()
                })
            })
        });
        let spec = ActivitySpec {
            name: name.clone(),
            description: None,
            input: schema_of::<I>(),
            output: schema_of::<O>(),
            errors: Vec::new(),
            defaults: ActivityDefaults::default(),
        };
        self.entries.insert(
            name.clone(),
            Entry {
                spec,
                handler: erased,
                secrets: true,
            },
        );
        self.last = Some(name);
        self
    }

    /// Declares the error types the last registered activity may raise (for lint's checks of
    /// `catch.errors` and `retry.non_retryable`).
    pub fn errors<S: Into<String>>(mut self, errors: impl IntoIterator<Item = S>) -> Registry {
        if let Some(spec) = self.last_spec() {
            spec.errors.extend(errors.into_iter().map(Into::into));
            spec.errors.sort();
            spec.errors.dedup();
        }
        self
    }

    /// The last registered activity receives secret references unresolved, as written
    /// (`⟦secret:name⟧`): for activities that write their input somewhere, like `log`.
    pub fn without_secrets(mut self) -> Registry {
        if let Some(name) = &self.last
            && let Some(entry) = self.entries.get_mut(name)
        {
            entry.secrets = false;
        }
        self
    }

    /// Whether activity `name` receives its input with secrets resolved.
    pub fn resolves_secrets(&self, name: &str) -> bool {
        self.entries.get(name).is_some_and(|e| e.secrets)
    }

    /// Describes the last registered activity in the manifest.
    pub fn description(mut self, text: impl Into<String>) -> Registry {
        if let Some(spec) = self.last_spec() {
            spec.description = Some(text.into());
        }
        self
    }

    /// Default options of the last registered activity (used when neither the step nor the
    /// workflow's `defaults` set them).
    pub fn defaults(mut self, defaults: ActivityDefaults) -> Registry {
        if let Some(spec) = self.last_spec() {
            spec.defaults = defaults;
        }
        self
    }

    /// Adds every activity of `other`; `other` wins on a name registered in both.
    pub fn merge(mut self, other: Registry) -> Registry {
        self.entries.extend(other.entries);
        self.last = None;
        self
    }

    fn last_spec(&mut self) -> Option<&mut ActivitySpec> {
        let name = self.last.as_ref()?;
        self.entries.get_mut(name).map(|e| &mut e.spec)
    }

    /// Registered activity types, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.entries.keys().map(String::as_str).collect()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The manifest (`activities.json`) describing every registered activity.
    pub fn manifest(&self) -> Manifest {
        Manifest {
            version: 1,
            activities: self.entries.values().map(|e| e.spec.clone()).collect(),
        }
    }

    /// Runs activity `name` on `input`. Never panics: an unknown name, bad input, a panic in
    /// the handler and a cancellation all come back as an [`ActivityError`].
    pub async fn run(
        &self,
        name: &str,
        ctx: ActivityContext,
        input: Json,
    ) -> Result<Json, ActivityError> {
        let Some(entry) = self.entries.get(name) else {
            return Err(self.unknown(name));
        };
        let handler = entry.handler.clone();
        // The handler is user code: a panic while building the future or while polling it
        // fails this task only.
        let future = match std::panic::catch_unwind(AssertUnwindSafe(|| handler(ctx, input))) {
            Ok(future) => future,
            Err(panic) => return Err(panicked(name, panic.as_ref())),
        };
        match AssertUnwindSafe(future).catch_unwind().await {
            Ok(result) => result,
            Err(panic) => Err(panicked(name, panic.as_ref())),
        }
    }

    fn unknown(&self, name: &str) -> ActivityError {
        let mut known = self.names().join(", ");
        if known.is_empty() {
            known = "none".into();
        }
        let hint = strsim_closest(name, &self.names())
            .map(|c| format!(" (did you mean `{c}`?)"))
            .unwrap_or_default();
        ActivityError::new(
            UNKNOWN_ACTIVITY,
            format!(
                "activity type `{name}` is not registered in this worker{hint}; registered: {known}. \
                 Register it in the worker binary, or route the step to a task queue whose worker has it"
            ),
        )
        .non_retryable()
    }
}

fn strsim_closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(name, c), *c))
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

fn decode_input<I: DeserializeOwned>(activity: &str, input: Json) -> Result<I, ActivityError> {
    serde_path_to_error::deserialize(input).map_err(|e| {
        let path = e.path().to_string();
        let place = if path == "." {
            String::new()
        } else {
            format!(" at `{path}`")
        };
        ActivityError::new(
            INVALID_INPUT,
            format!(
                "input of activity `{activity}` does not match its type{place}: {}",
                e.inner()
            ),
        )
        .non_retryable()
    })
}

fn panicked(activity: &str, panic: &(dyn std::any::Any + Send)) -> ActivityError {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned());
    ActivityError::new(PANIC, format!("activity `{activity}` panicked: {text}"))
}

/// The JSON Schema of `T`, subschemas inlined so simple checkers need not resolve `$ref`s;
/// `None` for "anything" (`serde_json::Value`).
fn schema_of<T: JsonSchema>() -> Option<Json> {
    let settings = SchemaSettings::draft2020_12().with(|s| s.inline_subschemas = true);
    let schema = settings.into_generator().into_root_schema_for::<T>();
    let mut json = serde_json::to_value(schema).ok()?;
    if let Json::Object(map) = &mut json {
        map.remove("$schema");
        // `serde_json::Value` yields `{"title": "AnyValue"}`: no constraint at all.
        if map.keys().all(|k| k == "title" || k == "description") {
            return None;
        }
    }
    match json {
        Json::Bool(true) => None,
        other => Some(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;
    use std::sync::Mutex;

    #[derive(Debug, Deserialize, JsonSchema)]
    struct ChargeInput {
        order_id: String,
        amount: f64,
        card: Card,
    }

    #[derive(Debug, Deserialize, JsonSchema)]
    struct Card {
        number: String,
    }

    #[derive(Debug, Serialize, JsonSchema)]
    struct ChargeOutput {
        id: String,
        amount: f64,
    }

    fn registry() -> Registry {
        Registry::new()
            .activity("payments.charge", |_ctx, input: ChargeInput| async move {
                if input.card.number == "declined" {
                    return Err(ActivityError::new("CardDeclined", "card declined")
                        .non_retryable()
                        .details(json!({"order": input.order_id})));
                }
                Ok(ChargeOutput {
                    id: format!("ch-{}", input.order_id),
                    amount: input.amount,
                })
            })
            .errors(["CardDeclined"])
            .description("Charges a card.")
            .activity("boom", |_ctx, _input: Json| async move {
                if true {
                    panic!("kaboom");
                }
                Ok(Json::Null)
            })
    }

    fn ctx() -> (ActivityContext, Canceller) {
        ActivityContext::new(ActivityInfo::default(), |_| {})
    }

    #[tokio::test]
    async fn runs_a_typed_activity() {
        let out = registry()
            .run(
                "payments.charge",
                ctx().0,
                json!({"order_id": "o1", "amount": 12.5, "card": {"number": "4242"}}),
            )
            .await;
        assert_eq!(out, Ok(json!({"id": "ch-o1", "amount": 12.5})));
    }

    #[tokio::test]
    async fn typed_error_keeps_type_details_and_retryability() {
        let err = registry()
            .run(
                "payments.charge",
                ctx().0,
                json!({"order_id": "o1", "amount": 1, "card": {"number": "declined"}}),
            )
            .await
            .unwrap_err();
        assert_eq!(err.error_type, "CardDeclined");
        assert!(err.non_retryable);
        assert_eq!(err.details.as_deref(), Some(&json!({"order": "o1"})));
    }

    #[tokio::test]
    async fn bad_input_names_the_field() {
        let err = registry()
            .run(
                "payments.charge",
                ctx().0,
                json!({"order_id": "o1", "amount": 1, "card": {"number": 42}}),
            )
            .await
            .unwrap_err();
        assert_eq!(err.error_type, INVALID_INPUT);
        assert!(err.non_retryable);
        assert!(err.message.contains("at `card.number`"), "{}", err.message);

        let err = registry()
            .run("payments.charge", ctx().0, json!({"order_id": "o1"}))
            .await
            .unwrap_err();
        assert!(
            err.message.contains("missing field `amount`"),
            "{}",
            err.message
        );
    }

    #[tokio::test]
    async fn panic_becomes_a_failure() {
        let err = registry()
            .run("boom", ctx().0, Json::Null)
            .await
            .unwrap_err();
        assert_eq!(err.error_type, PANIC);
        assert!(err.message.contains("kaboom"), "{}", err.message);
        assert!(!err.non_retryable);
    }

    #[tokio::test]
    async fn unknown_activity_lists_registered_ones_and_suggests() {
        let err = registry()
            .run("payments.charg", ctx().0, Json::Null)
            .await
            .unwrap_err();
        assert_eq!(err.error_type, UNKNOWN_ACTIVITY);
        assert!(err.non_retryable);
        assert!(
            err.message.contains("did you mean `payments.charge`"),
            "{}",
            err.message
        );
        assert!(
            err.message.contains("registered: boom, payments.charge"),
            "{}",
            err.message
        );
    }

    #[tokio::test]
    async fn heartbeat_and_cancellation_reach_the_activity() {
        let beats = Arc::new(Mutex::new(Vec::new()));
        let sink = beats.clone();
        let (ctx, canceller) = ActivityContext::new(ActivityInfo::default(), move |d| {
            if let Ok(mut v) = sink.lock() {
                v.push(d);
            }
        });
        let registry =
            Registry::new().activity("wait", |ctx: ActivityContext, _: Json| async move {
                ctx.heartbeat(json!({"progress": 1}));
                let reason = ctx.cancelled().await;
                assert_eq!(reason, CancelReason::Cancelled);
                Err::<Json, _>(ActivityError::cancelled())
            });
        let run = registry.run("wait", ctx.clone(), Json::Null);
        let cancel = async {
            tokio::task::yield_now().await;
            canceller.cancel(CancelReason::Cancelled);
            canceller.cancel(CancelReason::TimedOut);
        };
        let (result, ()) = tokio::join!(run, cancel);
        assert!(result.unwrap_err().is_cancelled());
        assert!(ctx.is_cancelled());
        assert_eq!(*beats.lock().unwrap(), vec![json!({"progress": 1})]);
    }

    #[test]
    fn manifest_carries_schemas_errors_and_description() {
        let manifest = registry().manifest();
        let charge = manifest.get("payments.charge").unwrap();
        assert_eq!(charge.errors, vec!["CardDeclined".to_string()]);
        assert_eq!(charge.description.as_deref(), Some("Charges a card."));
        let input = charge.input.as_ref().unwrap();
        assert_eq!(input["type"], "object");
        assert_eq!(input["properties"]["amount"]["type"], "number");
        // Nested types are inlined, not `$ref`s.
        assert_eq!(input["properties"]["card"]["type"], "object");
        assert!(manifest.get("boom").unwrap().input.is_none());
    }
}
