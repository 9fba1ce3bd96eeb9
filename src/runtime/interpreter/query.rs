//! Queries: the built-in status and metadata queries and the workflow's own, answered from
//! the state without changing it (not even the `uuid()` counter).

use serde_json::{Value as Json, json};
use temporalio_common::protos::coresdk::{
    workflow_activation::QueryWorkflow,
    workflow_commands::{QueryResult, QuerySuccess, query_result, workflow_command::Variant},
};
use temporalio_common::protos::temporal::api::failure::v1::Failure;

use super::scope::{self, Env, Locals, RunHost, Site};
use super::{METADATA_QUERY, Phase, Run, STATUS_QUERY};
use crate::runtime::payload;

impl Run {
    /// Answers a query from the state, changing nothing.
    pub(super) fn answer(&mut self, query: &QueryWorkflow) {
        let answer = if query.query_type == METADATA_QUERY {
            Ok(self.metadata())
        } else {
            self.evaluate_query(&query.query_type)
        };
        let variant = match answer {
            Ok(value) if query.query_type == METADATA_QUERY => {
                query_result::Variant::Succeeded(QuerySuccess {
                    response: Some(payload::encode_message(
                        &value,
                        "temporal.api.sdk.v1.WorkflowMetadata",
                    )),
                })
            }
            Ok(value) => query_result::Variant::Succeeded(QuerySuccess {
                response: Some(payload::encode(&value)),
            }),
            Err(message) => query_result::Variant::Failed(failure(message)),
        };
        self.sh.st().push(Variant::RespondToQuery(QueryResult {
            query_id: query.query_id.clone(),
            variant: Some(variant),
        }));
    }

    fn evaluate_query(&self, name: &str) -> Result<Json, String> {
        if name == STATUS_QUERY {
            let status = self.status();
            let mut answer = json!({
                "state": status.state,
                "current_steps": status.current_steps,
            });
            if self.sh.program.expose_status {
                answer["vars"] = serde_json::to_value(&self.sh.st().vars).unwrap_or(Json::Null);
            }
            return Ok(answer);
        }
        let program = &self.sh.program;
        let Some((_, value)) = program.queries.iter().find(|(n, _)| n == name) else {
            let mut known: Vec<&str> = program.queries.iter().map(|(n, _)| n.as_str()).collect();
            known.push(STATUS_QUERY);
            return Err(format!(
                "unknown query `{name}` for workflow `{}`; known queries: {}",
                program.name,
                known.join(", ")
            ));
        };
        if matches!(self.phase, Phase::NotStarted) {
            return Err(format!("query `{name}`: the run has not started yet"));
        }
        let st = self.sh.st();
        let locals = Locals::default();
        let env = Env {
            st: &st,
            locals: &locals,
        };
        // A fresh host: `uuid()` in a query must not advance the run's counter.
        let host = RunHost::new(&st);
        scope::eval_value(value, &env, &host).map_err(|e| {
            format!(
                "{}: `{}`: {}",
                Site::Query(name).describe(program),
                e.expr,
                e.message
            )
        })
    }
}

fn failure(message: String) -> Failure {
    Failure {
        message,
        source: "stave".to_string(),
        ..Default::default()
    }
}
