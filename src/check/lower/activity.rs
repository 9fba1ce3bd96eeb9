//! Activity calls: the manifest lookup, option merging (step, file, project, manifest), retry
//! policies, and the input's shape against the activity's input schema.

use super::scope::Scope;
use super::value::literal_json;
use super::{Lowerer, ms};
use crate::diagnostics::{Code, Diagnostic, Span, Spanned, did_you_mean, list_names};
use crate::expr::Ty;
use crate::expr::types::FieldTy;
use crate::ir;
use crate::jsonschema;
use crate::manifest::ActivitySpec;
use crate::syntax::ast::{self, Name, ValueKind};
use crate::syntax::duration;
use serde_json::Value as Json;

impl<'a> Lowerer<'a> {
    fn spec(&self, name: &str) -> Option<&'a ActivitySpec> {
        self.manifest.and_then(|m| m.get(name))
    }

    /// Lowers an activity call; returns it with the type of its result.
    pub(super) fn activity(
        &mut self,
        call: &ast::ActivityCall,
        id: Option<&Name>,
        scope: &mut Scope,
        top: bool,
    ) -> (ir::ActivityCall, Ty) {
        let name = &call.activity;
        self.check_temporal_name(name, "activity");
        let external = call.options.task_queue.is_some();
        let spec = self.spec(&name.value);
        if spec.is_none()
            && !external
            && let Some(m) = self.manifest
        {
            let mut d = Diagnostic::new(
                Code::E030,
                name.span,
                format!("unknown activity `{}`", name.value),
            )
            .label("not in the activity manifest");
            d.help = Some(match did_you_mean(&name.value, m.activities.iter().map(|a| a.name.as_str())) {
                Some(hint) => hint,
                None => "register it in your worker and re-export the manifest (`stave worker --export-manifest activities.json`); activities served outside the project take `task_queue:`".into(),
            });
            self.error(d);
        }
        if let (Some(_), Some(args)) = (&call.input, &call.args) {
            self.error(
                Diagnostic::new(
                    Code::E045,
                    args.span,
                    "a step takes `input:` or `args:`, not both",
                )
                .help("keep `input:` for Stave activities, `args:` for positional arguments"),
            );
        }
        // Only an activity's arguments may carry secret references (E050).
        self.secrets_allowed = true;
        let args = match &call.args {
            Some(args) => {
                ir::Args::Positional(args.value.iter().map(|a| self.value(a, scope)).collect())
            }
            None => {
                if let (Some(spec), Some(input)) = (spec, &call.input) {
                    self.check_input_shape(spec, input, name);
                } else if let (Some(spec), None) = (spec, &call.input)
                    && let Some(req) = spec
                        .input
                        .as_ref()
                        .and_then(|s| s.get("required"))
                        .and_then(Json::as_array)
                    && !req.is_empty()
                {
                    let fields: Vec<&str> = req.iter().filter_map(Json::as_str).collect();
                    self.error(
                        Diagnostic::new(
                            Code::E031,
                            name.span,
                            format!(
                                "`{}` needs input with {}",
                                name.value,
                                fields
                                    .iter()
                                    .map(|f| format!("`{f}`"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        )
                        .help("add `input: { ... }` with the required fields"),
                    );
                }
                ir::Args::Input(
                    call.input
                        .as_ref()
                        .map_or(ir::Value::null(), |i| self.value(i, scope)),
                )
            }
        };
        self.secrets_allowed = false;
        let o = self.merged_options(&call.options, spec);
        let task_queue = match (&call.options.task_queue, &o.queue) {
            (Some(tq), Some(q)) if call.options.queue.is_some() => {
                self.error(
                    Diagnostic::new(
                        Code::E044,
                        tq.span,
                        "a step takes `queue:` or `task_queue:`, not both",
                    )
                    .with_label(q.span, "queue given here")
                    .help("`queue` names a project queue; `task_queue` a raw Temporal task queue"),
                );
                tq.value.clone()
            }
            (Some(tq), _) => tq.value.clone(),
            (None, Some(q)) => {
                let q = q.clone();
                self.queue_task_queue(&q)
            }
            (None, None) => self.task_queue.clone(),
        };
        if o.timeout.is_none() && o.schedule_to_close.is_none() {
            self.error(
                Diagnostic::new(Code::E032, name.span, format!("activity `{}` has no timeout", name.value))
                    .label("needs `timeout:` or `schedule_to_close:`")
                    .help("Temporal requires one: add `timeout: 30s` to the step or to the workflow's `defaults:`"),
            );
        }
        let retry = o.retry.map(|r| self.retry(&r, spec));
        let summary = call.options.summary.as_ref().map(|s| self.value(s, scope));
        let priority = o.priority.as_ref().map(|p| self.priority(p, scope));
        let ty = spec
            .and_then(|s| s.output.as_ref())
            .map_or(Ty::Dyn, |schema| {
                Ty::from_json_schema(schema, &format!("the output of `{}`", name.value))
            });
        let compensate = call.compensate.as_ref().map(|c| {
            if !top {
                self.error(Diagnostic::new(
                    Code::E044,
                    c.activity.span,
                    "a compensation cannot have its own `compensate`",
                ));
            }
            // A compensation runs after its step completed: it sees the step's result.
            let mark = scope.mark();
            if let Some(id) = id {
                scope.add_step(id.value.clone(), FieldTy::new(ty.clone()));
            }
            let compensation = self.activity(c, None, scope, false).0;
            scope.take_since(mark);
            Box::new(compensation)
        });
        (
            ir::ActivityCall {
                activity: name.value.clone(),
                args,
                task_queue,
                start_to_close_ms: o.timeout.map(|t| ms(t.value)),
                schedule_to_close_ms: o.schedule_to_close.map(|t| ms(t.value)),
                schedule_to_start_ms: o.schedule_to_start.map(|t| ms(t.value)),
                heartbeat_ms: o.heartbeat.map(|t| ms(t.value)),
                retry,
                summary,
                compensate,
                priority,
            },
            ty,
        )
    }

    /// Step options over the file's `defaults`, over `stave.yaml`'s, over the manifest's.
    fn merged_options(
        &mut self,
        step: &ast::ActivityOptions,
        spec: Option<&ActivitySpec>,
    ) -> ast::ActivityOptions {
        let mut layers: Vec<ast::ActivityOptions> = vec![step.clone()];
        if let Some(d) = self.defaults {
            layers.push(d.clone());
        }
        if let Some(d) = &self.project.defaults {
            layers.push(d.clone());
        }
        if let Some(spec) = spec {
            layers.push(manifest_options(spec, step.span));
        }
        let mut out = ast::ActivityOptions {
            span: step.span,
            ..Default::default()
        };
        for layer in layers {
            out.queue = out.queue.or(layer.queue);
            out.timeout = out.timeout.or(layer.timeout);
            out.schedule_to_close = out.schedule_to_close.or(layer.schedule_to_close);
            out.schedule_to_start = out.schedule_to_start.or(layer.schedule_to_start);
            out.heartbeat = out.heartbeat.or(layer.heartbeat);
            out.priority = out.priority.or(layer.priority);
            out.retry = match (out.retry, layer.retry) {
                (None, r) => r,
                (Some(a), None) => Some(a),
                (Some(a), Some(b)) => Some(ast::Retry {
                    max_attempts: a.max_attempts.or(b.max_attempts),
                    initial_interval: a.initial_interval.or(b.initial_interval),
                    backoff: a.backoff.or(b.backoff),
                    max_interval: a.max_interval.or(b.max_interval),
                    non_retryable: if a.non_retryable.is_empty() {
                        b.non_retryable
                    } else {
                        a.non_retryable
                    },
                    span: a.span,
                }),
            };
        }
        out
    }

    pub(super) fn retry(&mut self, r: &ast::Retry, spec: Option<&ActivitySpec>) -> ir::RetryPolicy {
        let max_attempts = match &r.max_attempts {
            Some(m) if m.value < 1 || m.value > u32::MAX as i64 => {
                self.error(
                    Diagnostic::new(Code::E044, m.span, "`max_attempts` must be at least 1").help(
                        "1 means no retries; leave it out for Temporal's default (unlimited)",
                    ),
                );
                0
            }
            Some(m) => m.value as u32,
            None => 0,
        };
        if let Some(b) = &r.backoff
            && !(b.value >= 1.0 && b.value.is_finite())
        {
            self.error(
                Diagnostic::new(Code::E044, b.span, "`backoff` must be at least 1.0")
                    .help("the interval is multiplied by it after each attempt: 2.0 doubles it"),
            );
        }
        if let (Some(i), Some(m)) = (&r.initial_interval, &r.max_interval)
            && m.value < i.value
        {
            self.error(
                Diagnostic::new(
                    Code::E044,
                    m.span,
                    "`max_interval` is shorter than `initial_interval`",
                )
                .with_label(i.span, "initial interval"),
            );
        }
        // An activity that declares no error types (a manifest exported from another SDK)
        // may raise anything: its `non_retryable` types cannot be checked.
        if let (Some(spec), Some(_)) = (spec, self.manifest)
            && !spec.errors.is_empty()
        {
            for t in &r.non_retryable {
                if !spec.errors.contains(&t.value) && !self.known_errors.contains(&t.value) {
                    let mut d = Diagnostic::new(
                        Code::E037,
                        t.span,
                        format!("unknown error type `{}`", t.value),
                    )
                    .label(format!("`{}` does not raise it", spec.name));
                    d.help = Some(
                        did_you_mean(&t.value, spec.errors.iter().map(String::as_str))
                            .unwrap_or_else(|| {
                                format!("`{}` raises: {}", spec.name, spec.errors.join(", "))
                            }),
                    );
                    self.error(d);
                }
            }
        }
        ir::RetryPolicy {
            initial_interval_ms: r.initial_interval.as_ref().map(|d| ms(d.value)),
            backoff: r.backoff.as_ref().map(|b| b.value),
            max_interval_ms: r.max_interval.as_ref().map(|d| ms(d.value)),
            max_attempts,
            non_retryable: r.non_retryable.iter().map(|n| n.value.clone()).collect(),
        }
    }

    /// The input against the activity's input schema: the type of literal input; for a map,
    /// required fields, unknown fields (when the schema is closed) and literal field types.
    fn check_input_shape(&mut self, spec: &ActivitySpec, input: &ast::Value, name: &Name) {
        let Some(schema) = &spec.input else { return };
        let ValueKind::Map(entries) = &input.kind else {
            if let Some(lit) = literal_json(input)
                && let Some(want) = schema.get("type").and_then(Json::as_str)
                && !fits(want, &lit)
            {
                self.error(Diagnostic::new(
                    Code::E031,
                    input.span,
                    format!(
                        "`{}` takes {want} input, found {}",
                        name.value,
                        type_phrase(&lit)
                    ),
                ));
            }
            return;
        };
        let props = schema.get("properties").and_then(Json::as_object);
        if let Some(req) = schema.get("required").and_then(Json::as_array) {
            let missing: Vec<&str> = req
                .iter()
                .filter_map(Json::as_str)
                .filter(|f| !entries.iter().any(|(k, _)| k.value == *f))
                .collect();
            if !missing.is_empty() {
                self.error(
                    Diagnostic::new(
                        Code::E031,
                        input.span,
                        format!(
                            "input of `{}` lacks required field{} {}",
                            name.value,
                            if missing.len() > 1 { "s" } else { "" },
                            missing
                                .iter()
                                .map(|m| format!("`{m}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                    .label("missing fields")
                    .help(format!("add {} to the input", missing.join(", "))),
                );
            }
        }
        let closed = schema.get("additionalProperties") == Some(&Json::Bool(false));
        for (key, value) in entries {
            match props.and_then(|p| p.get(&key.value)) {
                Some(prop) => {
                    if let (Some(want), Some(lit)) =
                        (prop.get("type").and_then(Json::as_str), literal_json(value))
                        && !fits(want, &lit)
                    {
                        self.error(
                            Diagnostic::new(
                                Code::E031,
                                value.span,
                                format!(
                                    "field `{}` of `{}` takes {want}, found {}",
                                    key.value,
                                    name.value,
                                    type_phrase(&lit)
                                ),
                            )
                            .label(format!("expected {want}")),
                        );
                    }
                }
                None if closed => {
                    let mut d = Diagnostic::new(
                        Code::E031,
                        key.span,
                        format!("`{}` has no input field `{}`", name.value, key.value),
                    )
                    .label("unknown field");
                    d.help = props.and_then(|p| {
                        let mut fields: Vec<&str> = p.keys().map(String::as_str).collect();
                        fields.sort_unstable();
                        let fields = fields.into_iter();
                        match (did_you_mean(&key.value, fields.clone()), list_names(fields)) {
                            (Some(hint), Some(listed)) => {
                                Some(format!("{hint} its input fields are {listed}"))
                            }
                            (None, Some(listed)) => Some(format!("its input fields are {listed}")),
                            (hint, None) => hint,
                        }
                    });
                    self.error(d);
                }
                None => {}
            }
        }
    }
}

/// The manifest's `defaults` of an activity as the lowest layer of options; `span` stands in
/// for positions, which the manifest does not have.
fn manifest_options(spec: &ActivitySpec, span: Span) -> ast::ActivityOptions {
    let d = &spec.defaults;
    let dur = |s: &Option<String>| {
        s.as_deref()
            .and_then(|s| duration::parse(s).ok())
            .map(|d| Spanned::new(d, span))
    };
    ast::ActivityOptions {
        timeout: dur(&d.timeout),
        schedule_to_close: dur(&d.schedule_to_close),
        heartbeat: dur(&d.heartbeat),
        retry: d.retry.as_ref().map(|r| ast::Retry {
            max_attempts: r.max_attempts.map(|m| Spanned::new(m as i64, span)),
            initial_interval: dur(&r.initial_interval),
            backoff: r.backoff.map(|b| Spanned::new(b, span)),
            max_interval: dur(&r.max_interval),
            non_retryable: r
                .non_retryable
                .iter()
                .map(|n| Spanned::new(n.clone(), span))
                .collect(),
            span,
        }),
        span,
        ..Default::default()
    }
}

/// Whether literal input fits JSON Schema type `want`, by the validator's definition. A type
/// name the validator does not know is the manifest's mistake, not the step's: it passes here.
fn fits(want: &str, lit: &Json) -> bool {
    !jsonschema::TYPES.contains(&want) || jsonschema::matches_type(want, lit)
}

/// The validator's type of a value, as messages say it (`an integer`, `a list`).
fn type_phrase(v: &Json) -> &'static str {
    match jsonschema::type_name(v) {
        "null" => "null",
        "boolean" => "a boolean",
        "integer" => "an integer",
        "number" => "a number",
        "string" => "a string",
        "array" => "a list",
        _ => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::{fits, type_phrase};
    use serde_json::json;

    #[test]
    fn literal_input_types_follow_the_validator() {
        assert!(fits("integer", &json!(1.0)) && fits("integer", &json!(u64::MAX)));
        assert!(!fits("integer", &json!(1.5)) && !fits("string", &json!(1)));
        assert!(fits("widget", &json!(1.5)));
        assert_eq!(type_phrase(&json!(1e300)), "an integer");
        assert_eq!(type_phrase(&json!(1.5)), "a number");
        assert_eq!(type_phrase(&json!([])), "a list");
    }
}
