//! Temporal updates: validate (only when core asks — never on replay), accept, run the
//! handler's `set`, then its steps (if any) as a strand of their own beside the main body,
//! answer with its `result`. An accepted update is an arrival for `wait`s once its handler
//! has ended, answered or failed (as in semantics 1, when handlers had no steps); a `wait`
//! that needs a successful one says so with `until`.
//!
//! A handler's strand is polled after the main body's, handlers in the order they were
//! accepted. When the main body ends normally, the run waits for the handlers in flight
//! (accepting no new update) before it completes or continues as new; when it fails or is
//! cancelled, their updates are rejected, saying so.
//!
//! Core's protocol (`DoUpdate` in, `UpdateResponse` out): a rejection before acceptance leaves
//! no trace in history; after `Accepted`, the update ends `Completed` with a payload or
//! `Rejected` with a failure (a handler expression that failed). Either way the run goes on.

use serde_json::Value as Json;
use temporalio_common::protos::coresdk::{
    workflow_activation::DoUpdate,
    workflow_commands::{UpdateResponse, update_response::Response, workflow_command::Variant},
};
use temporalio_common::protos::temporal::api::failure::v1::{
    ApplicationFailureInfo, Failure, failure::FailureInfo,
};

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use super::failure::Fault;
use super::scope::{self, Cx, Env, Locals, RunHost, Site};
use super::{Phase, Run, exec};
use crate::ir::UpdateHandler;
use crate::runtime::payload;

type HandlerFut = Pin<Box<dyn Future<Output = Result<Json, Fault>> + Send>>;

/// An accepted update whose handler runs steps: answered when its strand ends.
pub(super) struct Handler {
    /// Core's protocol instance id, which the answer names.
    id: String,
    name: String,
    /// The update's payload: an arrival for `wait`s once the handler has ended.
    input: Json,
    fut: HandlerFut,
}

/// The application failure type of a rejected update (validator false, unknown name, a run
/// that is not running, a failed handler).
pub const UPDATE_REJECTED: &str = "UpdateRejected";

impl Run {
    pub(super) fn update(&mut self, update: &DoUpdate) {
        let id = update.protocol_instance_id.clone();
        let program = self.sh.program.clone();
        let Some(handler) = program.updates.iter().find(|h| h.name == update.name) else {
            let known: Vec<&str> = program.updates.iter().map(|h| h.name.as_str()).collect();
            let known = if known.is_empty() {
                "it declares none".to_string()
            } else {
                format!("known updates: {}", known.join(", "))
            };
            let message = format!(
                "unknown update `{}` for workflow `{}`; {known}",
                update.name, program.name
            );
            return self.respond(id, Response::Rejected(rejection(message)));
        };
        if !matches!(self.phase, Phase::Running(_)) {
            let message = if matches!(self.phase, Phase::Draining(_)) {
                format!(
                    "update `{}`: the run's steps have ended; it completes once the updates \
                     it is handling have finished, and takes no new ones",
                    update.name
                )
            } else {
                format!("update `{}`: the run is no longer running", update.name)
            };
            return self.respond(id, Response::Rejected(rejection(message)));
        }
        let value = match payload::decode_args(&update.input) {
            Ok(v) => v,
            Err(e) => {
                let message = format!("update `{}`: unreadable input: {e}", update.name);
                return self.respond(id, Response::Rejected(rejection(message)));
            }
        };
        if update.run_validator
            && let Err(message) = self.validate(handler, &value)
        {
            return self.respond(id, Response::Rejected(rejection(message)));
        }
        self.respond(id.clone(), Response::Accepted(()));
        let cx = Cx::root(self.sh.clone()).bind("update", value.clone());
        if let Err(message) = self.apply_set(handler, &cx) {
            self.respond(id, Response::Rejected(rejection(message)));
            self.arrive(&handler.name, value);
        } else if handler.steps.is_empty() {
            let result = match &handler.result {
                Some(result) => cx.eval(result, Site::Update(&handler.name)),
                None => Ok(Json::Null),
            };
            let response = match result {
                Ok(result) => Response::Completed(payload::encode(&result)),
                Err(fault) => Response::Rejected(rejection(fault_message(handler, fault))),
            };
            self.respond(id, response);
            self.arrive(&handler.name, value);
        } else {
            self.start_handler(id, handler, cx, value);
        }
    }

    /// A handler with steps runs as a strand of its own, polled after the main body's in
    /// every activation (in the order the updates were accepted: deterministic on replay).
    fn start_handler(&mut self, id: String, handler: &UpdateHandler, cx: Cx, input: Json) {
        let program = self.sh.program.clone();
        let name = handler.name.clone();
        let index = program.updates.iter().position(|h| h.name == name);
        let fut: HandlerFut = Box::pin(async move {
            let Some(handler) = index.and_then(|i| program.updates.get(i)) else {
                return Err(Fault::Internal(format!("update `{name}` has no handler")));
            };
            exec::exec_block(&cx, &handler.steps).await?;
            match &handler.result {
                Some(result) => cx.eval(result, Site::Update(&handler.name)),
                None => Ok(Json::Null),
            }
        });
        self.handlers.push(Handler {
            id,
            name: handler.name.clone(),
            input,
            fut,
        });
        self.wake.0.store(true, Ordering::Relaxed);
    }

    /// Polls every handler strand once; answers those that ended. `Err` is an internal error
    /// (a workflow-task failure).
    pub(super) fn poll_handlers(&mut self, cx: &mut Context<'_>) -> Result<(), String> {
        let mut i = 0;
        while i < self.handlers.len() {
            let Poll::Ready(result) = self.handlers[i].fut.as_mut().poll(cx) else {
                i += 1;
                continue;
            };
            let handler = self.handlers.remove(i);
            let response = match result {
                Ok(value) | Err(Fault::Return(value)) => {
                    Response::Completed(payload::encode(&value))
                }
                // The caller gets the error as the step raised it: its type, message, details.
                Err(Fault::Error(error)) => Response::Rejected(error.to_failure()),
                Err(Fault::ContinueAsNew(_)) => Response::Rejected(rejection(format!(
                    "update `{}`: the handler ended unexpectedly",
                    handler.name
                ))),
                Err(Fault::Internal(message)) => return Err(message),
            };
            self.respond(handler.id, response);
            self.arrive(&handler.name, handler.input);
        }
        Ok(())
    }

    /// The run ends while handlers are still running (it failed, was cancelled or continued
    /// as new): each of their updates is answered with a rejection saying so.
    pub(super) fn abandon_handlers(&mut self, why: &str) {
        for handler in std::mem::take(&mut self.handlers) {
            let message = format!(
                "update `{}`: {why} before the update's handler finished",
                handler.name
            );
            self.respond(handler.id, Response::Rejected(rejection(message)));
        }
    }

    /// Runs the validator against the state as it is, changing nothing (not even the
    /// `uuid()` counter: on replay validators do not run). `Err` holds the rejection message.
    fn validate(&self, handler: &UpdateHandler, value: &Json) -> Result<(), String> {
        let Some(validator) = &handler.validate else {
            return Ok(());
        };
        let st = self.sh.st();
        let locals = Locals {
            binding: Some(("update".to_string(), value.clone())),
            ..Locals::default()
        };
        let env = Env {
            st: &st,
            locals: &locals,
        };
        let host = RunHost::new(&st);
        let site = Site::Validator(&handler.name);
        let describe = |e: scope::EvalFailure| {
            format!(
                "{}: `{}`: {}",
                site.describe(&self.sh.program),
                e.expr,
                e.message
            )
        };
        match scope::eval_value(&validator.cond, &env, &host).map_err(describe)? {
            Json::Bool(true) => Ok(()),
            Json::Bool(false) => Err(match &validator.message {
                Some(message) => match scope::eval_value(message, &env, &host).map_err(describe)? {
                    Json::String(s) => s,
                    other => other.to_string(),
                },
                None => format!("update `{}` rejected by its validator", handler.name),
            }),
            other => Err(format!(
                "{}: condition must be a boolean, got {}",
                site.describe(&self.sh.program),
                crate::jsonschema::type_name(&other)
            )),
        }
    }

    /// The handler's `set`: evaluated against the state before it, applied together, search
    /// attributes and memo upserted. `Err` holds the failure message.
    fn apply_set(&mut self, handler: &UpdateHandler, cx: &Cx) -> Result<(), String> {
        let site = Site::Update(&handler.name);
        let mut values = Vec::with_capacity(handler.set.len());
        for (var, expr) in &handler.set {
            let v = cx.eval(expr, site).map_err(|f| fault_message(handler, f))?;
            values.push((var, v));
        }
        if !values.is_empty() {
            if let Json::Object(vars) = &mut self.sh.st().vars {
                for (var, v) in values {
                    vars.insert(var.clone(), v);
                }
            }
            if let Err(fault) = exec::upsert_properties(cx) {
                self.pending_fault.get_or_insert(fault);
            }
        }
        Ok(())
    }

    fn respond(&mut self, protocol_instance_id: String, response: Response) {
        self.sh.st().push(Variant::UpdateResponse(UpdateResponse {
            protocol_instance_id,
            response: Some(response),
        }));
    }
}

/// What a caller is told of a failed update: the message, after the error type when a step
/// raised one (`CardDeclined: insufficient funds`); a validator's rejection is its message.
pub fn describe_update_failure(failure: &Failure) -> String {
    match &failure.failure_info {
        Some(FailureInfo::ApplicationFailureInfo(info))
            if !info.r#type.is_empty() && info.r#type != UPDATE_REJECTED =>
        {
            format!("{}: {}", info.r#type, failure.message)
        }
        _ => failure.message.clone(),
    }
}

fn fault_message(handler: &UpdateHandler, fault: Fault) -> String {
    match fault {
        Fault::Error(e) => e.message,
        Fault::Internal(m) => m,
        Fault::Return(_) | Fault::ContinueAsNew(_) => {
            format!("update `{}`: the handler ended unexpectedly", handler.name)
        }
    }
}

fn rejection(message: String) -> Failure {
    Failure {
        message,
        source: "stave".to_string(),
        failure_info: Some(FailureInfo::ApplicationFailureInfo(
            ApplicationFailureInfo {
                r#type: UPDATE_REJECTED.to_string(),
                non_retryable: true,
                ..Default::default()
            },
        )),
        ..Default::default()
    }
}
