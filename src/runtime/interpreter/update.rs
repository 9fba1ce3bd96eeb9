//! Temporal updates: validate (only when core asks — never on replay), accept, run the
//! handler's `set`, answer with its `result`; an accepted update is an arrival for `wait`s.
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

use super::failure::Fault;
use super::scope::{self, Cx, Env, Locals, RunHost, Site};
use super::{Phase, Run, exec};
use crate::ir::UpdateHandler;
use crate::runtime::payload;

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
            let message = format!("update `{}`: the run is no longer running", update.name);
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
        let response = match self.handle(handler, value.clone()) {
            Ok(result) => Response::Completed(payload::encode(&result)),
            Err(message) => Response::Rejected(rejection(message)),
        };
        self.respond(id, response);
        self.arrive(&handler.name, value);
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

    /// The handler: `set` evaluated against the state before it, applied together, then
    /// `result` against the state after. `Err` holds the failure message.
    fn handle(&mut self, handler: &UpdateHandler, value: Json) -> Result<Json, String> {
        let cx = Cx::root(self.sh.clone()).bind("update", value);
        let site = Site::Update(&handler.name);
        let message = |fault: Fault| match fault {
            Fault::Error(e) => e.message,
            Fault::Internal(m) => m,
            Fault::Return(_) | Fault::ContinueAsNew(_) => {
                format!("update `{}`: the handler ended unexpectedly", handler.name)
            }
        };
        let mut values = Vec::with_capacity(handler.set.len());
        for (var, expr) in &handler.set {
            values.push((var, cx.eval(expr, site).map_err(message)?));
        }
        if !values.is_empty() {
            if let Json::Object(vars) = &mut self.sh.st().vars {
                for (var, v) in values {
                    vars.insert(var.clone(), v);
                }
            }
            if let Err(fault) = exec::upsert_properties(&cx) {
                self.pending_fault.get_or_insert(fault);
            }
        }
        match &handler.result {
            Some(result) => cx.eval(result, site).map_err(message),
            None => Ok(Json::Null),
        }
    }

    fn respond(&mut self, protocol_instance_id: String, response: Response) {
        self.sh.st().push(Variant::UpdateResponse(UpdateResponse {
            protocol_instance_id,
            response: Some(response),
        }));
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
