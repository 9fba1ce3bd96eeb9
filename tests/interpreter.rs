//! Interpreter tests without a server: hand-built IR, hand-built activations, snapshotted commands.
//!
//! Every test drives a run through a `Harness`, which records each activation and the
//! commands it produced, renders them readably (payloads decoded, durations in ms), and at the
//! end replays every activation against a fresh run and checks the commands are identical.

use std::sync::Arc;

use serde_json::{Value as Json, json};
use stave::diagnostics::{FileId, Span};
use stave::expr::{Template, parse_template};
use stave::ir::{
    ActivityCall, Args, Branch, Catch, ChildCall, Loc, OnTimeout, ParentClose, RetryPolicy,
    SignalHandler, Sleep, Step, StepKind, SwitchArm, UpdateHandler, Validator, Value, WaitMode,
    Workflow,
};
use stave::runtime::interpreter::{Outcome, Run, RunState};
use stave::runtime::payload;
use temporalio_common::protos::coresdk::{
    activity_result::{self, ActivityResolution, activity_resolution},
    child_workflow::{self, ChildWorkflowResult, child_workflow_result},
    workflow_activation::{
        CancelWorkflow, DoUpdate, FireTimer, InitializeWorkflow, QueryWorkflow, RemoveFromCache,
        ResolveActivity, ResolveChildWorkflowExecution, ResolveChildWorkflowExecutionStart,
        ResolveChildWorkflowExecutionStartFailure, ResolveChildWorkflowExecutionStartSuccess,
        SignalWorkflow, WorkflowActivation, WorkflowActivationJob,
        resolve_child_workflow_execution_start, workflow_activation_job::Variant as Job,
    },
    workflow_commands::{
        WorkflowCommand, query_result, update_response, workflow_command::Variant,
    },
};
use temporalio_common::protos::temporal::api::failure::v1::{
    ActivityFailureInfo, ApplicationFailureInfo, Failure, failure::FailureInfo,
};

// --- IR builders ---------------------------------------------------------------------------

/// A value slot from YAML-like text: `${ e }` is an expression, text with `${ }` interpolates,
/// anything else is a literal string.
fn v(text: &str) -> Value {
    let whole = Span::new(FileId(0), 0, text.len());
    match parse_template(text, FileId(0), Some(0), whole) {
        Ok(Template::Literal(s)) => Value::Literal(Json::String(s)),
        Ok(Template::Expr(e)) => Value::Expr(e),
        Ok(Template::Interp(parts)) => Value::Interp(parts),
        Err(d) => panic!("bad test expression {text:?}: {}", d.message),
    }
}

fn lit(json: Json) -> Value {
    Value::Literal(json)
}

fn map(entries: &[(&str, Value)]) -> Value {
    Value::Map(
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

fn step(id: Option<&str>, kind: StepKind) -> Step {
    Step {
        index: 0,
        id: id.map(str::to_string),
        guard: None,
        kind,
        loc: Loc::default(),
    }
}

fn call(activity: &str, input: Value) -> ActivityCall {
    ActivityCall {
        activity: activity.to_string(),
        args: Args::Input(input),
        task_queue: "work".to_string(),
        start_to_close_ms: Some(10_000),
        schedule_to_close_ms: None,
        schedule_to_start_ms: None,
        heartbeat_ms: None,
        retry: None,
        summary: None,
        compensate: None,
        priority: None,
    }
}

fn act(id: &str, activity: &str, input: Value) -> Step {
    step(Some(id), StepKind::Activity(call(activity, input)))
}

fn act_comp(id: &str, activity: &str, input: Value, undo: &str, undo_input: Value) -> Step {
    let mut c = call(activity, input);
    c.compensate = Some(Box::new(call(undo, undo_input)));
    step(Some(id), StepKind::Activity(c))
}

fn guarded(mut s: Step, guard: Value) -> Step {
    s.guard = Some(guard);
    s
}

fn set(assignments: &[(&str, Value)]) -> Step {
    step(
        None,
        StepKind::Set(
            assignments
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        ),
    )
}

fn wait(
    id: &str,
    signal: &str,
    until: Option<Value>,
    timeout_ms: Option<u64>,
    on_timeout: OnTimeout,
) -> Step {
    step(
        Some(id),
        StepKind::Wait {
            signal: signal.to_string(),
            others: Vec::new(),
            mode: WaitMode::One,
            until,
            timeout_ms,
            on_timeout,
        },
    )
}

fn sleep(s: Sleep) -> Step {
    step(None, StepKind::Sleep(s))
}

fn foreach(id: &str, over: Value, item: &str, concurrency: Option<u32>, steps: Vec<Step>) -> Step {
    step(
        Some(id),
        StepKind::Foreach {
            over,
            item: item.to_string(),
            concurrency,
            steps,
        },
    )
}

fn while_loop(id: &str, cond: Value, max_iterations: u64, steps: Vec<Step>) -> Step {
    step(
        Some(id),
        StepKind::While {
            cond,
            max_iterations,
            steps,
        },
    )
}

fn parallel(id: &str, race: bool, branches: Vec<(&str, Vec<Step>)>) -> Step {
    step(
        Some(id),
        StepKind::Parallel {
            branches: branches
                .into_iter()
                .map(|(name, steps)| Branch {
                    name: name.to_string(),
                    steps,
                })
                .collect(),
            race,
        },
    )
}

fn try_catch(id: &str, steps: Vec<Step>, catches: Vec<Catch>) -> Step {
    step(Some(id), StepKind::Try { steps, catches })
}

fn catch(errors: &[&str], when: Option<Value>, steps: Vec<Step>) -> Catch {
    Catch {
        errors: errors.iter().map(|s| s.to_string()).collect(),
        when,
        name: "err".to_string(),
        steps,
    }
}

fn fail(error_type: &str, message: Value) -> Step {
    step(
        None,
        StepKind::Fail {
            error_type: lit(json!(error_type)),
            message,
            details: Value::null(),
        },
    )
}

fn ret(value: Value) -> Step {
    step(None, StepKind::Return(value))
}

fn child(id: &str, workflow: &str, input: Value) -> Step {
    step(
        Some(id),
        StepKind::Child(ChildCall {
            workflow: workflow.to_string(),
            args: Args::Input(input),
            workflow_id: None,
            task_queue: "children".to_string(),
            execution_timeout_ms: Some(3_600_000),
            parent_close: ParentClose::RequestCancel,
            retry: None,
            priority: None,
        }),
    )
}

/// A workflow around `steps`; indices are assigned in pre-order and `loc` is `index+1:1`.
struct Program(Workflow);

impl Program {
    fn new(steps: Vec<Step>) -> Program {
        Program(Workflow {
            ir_version: stave::ir::IR_VERSION,
            hash: "test-hash".to_string(),
            source: "test.stave.yaml".to_string(),
            name: "test-flow".to_string(),
            description: None,
            queue: "standard".to_string(),
            task_queue: "tq-standard".to_string(),
            execution_timeout_ms: None,
            input_schema: None,
            vars: Vec::new(),
            signals: Vec::new(),
            updates: Vec::new(),
            queries: Vec::new(),
            steps,
            output: None,
            schedules: Vec::new(),
            search_attributes: Vec::new(),
            memo: Vec::new(),
            continue_as_new_after: 10_000,
            expose_status: false,
            step_count: 0,
            priority: None,
        })
    }

    fn var(mut self, name: &str, value: Value) -> Self {
        self.0.vars.push((name.to_string(), value));
        self
    }

    fn signal(mut self, name: &str, set: &[(&str, Value)]) -> Self {
        self.0.signals.push(SignalHandler {
            name: name.to_string(),
            set: set
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        });
        self
    }

    fn update(
        mut self,
        name: &str,
        validate: Option<(Value, Option<Value>)>,
        set: &[(&str, Value)],
        result: Option<Value>,
    ) -> Self {
        self.0.updates.push(UpdateHandler {
            name: name.to_string(),
            validate: validate.map(|(cond, message)| Validator { cond, message }),
            set: set
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            steps: Vec::new(),
            result,
        });
        self
    }

    fn query(mut self, name: &str, value: Value) -> Self {
        self.0.queries.push((name.to_string(), value));
        self
    }

    fn expose_status(mut self) -> Self {
        self.0.expose_status = true;
        self
    }

    fn output(mut self, value: Value) -> Self {
        self.0.output = Some(value);
        self
    }

    fn schema(mut self, schema: Json) -> Self {
        self.0.input_schema = Some(schema);
        self
    }

    fn search_attribute(mut self, name: &str, value: Value) -> Self {
        self.0.search_attributes.push((name.to_string(), value));
        self
    }

    fn memo(mut self, name: &str, value: Value) -> Self {
        self.0.memo.push((name.to_string(), value));
        self
    }

    fn continue_after(mut self, events: u64) -> Self {
        self.0.continue_as_new_after = events;
        self
    }

    fn build(mut self) -> Arc<Workflow> {
        fn number(steps: &mut [Step], next: &mut u32) {
            for s in steps {
                s.index = *next;
                s.loc = Loc {
                    line: *next + 1,
                    col: 3,
                };
                *next += 1;
                match &mut s.kind {
                    StepKind::Sequence(b) => number(b, next),
                    StepKind::If {
                        then, otherwise, ..
                    } => {
                        number(then, next);
                        number(otherwise, next);
                    }
                    StepKind::Switch { arms, default } => {
                        for a in arms {
                            number(&mut a.steps, next);
                        }
                        number(default, next);
                    }
                    StepKind::Parallel { branches, .. } => {
                        for b in branches {
                            number(&mut b.steps, next);
                        }
                    }
                    StepKind::Foreach { steps, .. }
                    | StepKind::While { steps, .. }
                    | StepKind::Try { steps, .. } => number(steps, next),
                    _ => {}
                }
                if let StepKind::Try { catches, .. } = &mut s.kind {
                    for c in catches {
                        number(&mut c.steps, next);
                    }
                }
            }
        }
        let mut next = 0;
        number(&mut self.0.steps, &mut next);
        self.0.step_count = next;
        Arc::new(self.0)
    }
}

// --- activations ---------------------------------------------------------------------------

const T0: i64 = 1_714_564_800; // 2024-05-01T12:00:00Z

fn init_job(input: Json) -> Job {
    Job::InitializeWorkflow(InitializeWorkflow {
        workflow_type: "test-flow".to_string(),
        workflow_id: "wf-1".to_string(),
        arguments: vec![payload::encode(&input)],
        randomness_seed: 7,
        attempt: 1,
        start_time: Some(prost_wkt_types::Timestamp {
            seconds: T0,
            nanos: 0,
        }),
        ..Default::default()
    })
}

fn ok(seq: u32, result: Json) -> Job {
    Job::ResolveActivity(ResolveActivity {
        seq,
        result: Some(ActivityResolution {
            status: Some(activity_resolution::Status::Completed(
                activity_result::Success {
                    result: Some(payload::encode(&result)),
                },
            )),
        }),
        is_local: false,
    })
}

fn app_failure(error_type: &str, message: &str) -> Failure {
    Failure {
        message: "activity failed".to_string(),
        cause: Some(Box::new(Failure {
            message: message.to_string(),
            failure_info: Some(FailureInfo::ApplicationFailureInfo(
                ApplicationFailureInfo {
                    r#type: error_type.to_string(),
                    ..Default::default()
                },
            )),
            ..Default::default()
        })),
        failure_info: Some(FailureInfo::ActivityFailureInfo(
            ActivityFailureInfo::default(),
        )),
        ..Default::default()
    }
}

fn failed(seq: u32, error_type: &str, message: &str) -> Job {
    Job::ResolveActivity(ResolveActivity {
        seq,
        result: Some(ActivityResolution {
            status: Some(activity_resolution::Status::Failed(
                activity_result::Failure {
                    failure: Some(app_failure(error_type, message)),
                    ..Default::default()
                },
            )),
        }),
        is_local: false,
    })
}

fn cancelled(seq: u32) -> Job {
    Job::ResolveActivity(ResolveActivity {
        seq,
        result: Some(ActivityResolution {
            status: Some(activity_resolution::Status::Cancelled(
                activity_result::Cancellation { failure: None },
            )),
        }),
        is_local: false,
    })
}

fn fire(seq: u32) -> Job {
    Job::FireTimer(FireTimer { seq })
}

fn signal(name: &str, value: Json) -> Job {
    Job::SignalWorkflow(SignalWorkflow {
        signal_name: name.to_string(),
        input: vec![payload::encode(&value)],
        ..Default::default()
    })
}

/// An update as core delivers it: `run_validator` is false on replay.
fn do_update(id: &str, name: &str, value: Json, run_validator: bool) -> Job {
    Job::DoUpdate(DoUpdate {
        id: id.to_string(),
        protocol_instance_id: id.to_string(),
        name: name.to_string(),
        input: vec![payload::encode(&value)],
        run_validator,
        ..Default::default()
    })
}

fn query(id: &str, name: &str) -> Job {
    Job::QueryWorkflow(QueryWorkflow {
        query_id: id.to_string(),
        query_type: name.to_string(),
        ..Default::default()
    })
}

fn cancel() -> Job {
    Job::CancelWorkflow(CancelWorkflow {
        reason: "test".to_string(),
    })
}

fn child_started(seq: u32) -> Job {
    Job::ResolveChildWorkflowExecutionStart(ResolveChildWorkflowExecutionStart {
        seq,
        status: Some(resolve_child_workflow_execution_start::Status::Succeeded(
            ResolveChildWorkflowExecutionStartSuccess {
                run_id: "child-run".to_string(),
            },
        )),
    })
}

fn child_start_failed(seq: u32) -> Job {
    Job::ResolveChildWorkflowExecutionStart(ResolveChildWorkflowExecutionStart {
        seq,
        status: Some(resolve_child_workflow_execution_start::Status::Failed(
            ResolveChildWorkflowExecutionStartFailure {
                workflow_id: "wf-1/review".to_string(),
                workflow_type: "review".to_string(),
                cause: child_workflow::StartChildWorkflowExecutionFailedCause::WorkflowAlreadyExists
                    as i32,
            },
        )),
    })
}

fn child_done(seq: u32, result: Json) -> Job {
    Job::ResolveChildWorkflowExecution(ResolveChildWorkflowExecution {
        seq,
        result: Some(ChildWorkflowResult {
            status: Some(child_workflow_result::Status::Completed(
                child_workflow::Success {
                    result: Some(payload::encode(&result)),
                },
            )),
        }),
    })
}

// --- rendering -----------------------------------------------------------------------------

fn ms(d: &Option<prost_wkt_types::Duration>) -> Json {
    match d {
        Some(d) => json!(d.seconds * 1000 + i64::from(d.nanos) / 1_000_000),
        None => Json::Null,
    }
}

fn decode(p: &Option<temporalio_common::protos::temporal::api::common::v1::Payload>) -> Json {
    p.as_ref()
        .map(|p| payload::decode(p).unwrap_or_else(|e| json!(format!("<{e}>"))))
        .unwrap_or(Json::Null)
}

fn decode_all(ps: &[temporalio_common::protos::temporal::api::common::v1::Payload]) -> Json {
    Json::Array(
        ps.iter()
            .map(|p| payload::decode(p).unwrap_or_else(|e| json!(format!("<{e}>"))))
            .collect(),
    )
}

fn render_failure(f: &Failure) -> Json {
    match &f.failure_info {
        Some(FailureInfo::ApplicationFailureInfo(info)) => json!({
            "type": info.r#type,
            "message": f.message,
            "non_retryable": info.non_retryable,
            "details": info.details.as_ref().map(|d| decode_all(&d.payloads)),
        }),
        _ => json!({"message": f.message}),
    }
}

fn render(cmd: &WorkflowCommand) -> Json {
    let summary = cmd
        .user_metadata
        .as_ref()
        .map(|m| decode(&m.summary))
        .unwrap_or(Json::Null);
    let Some(variant) = &cmd.variant else {
        return json!("<empty>");
    };
    match variant {
        Variant::ScheduleActivity(a) => {
            let mut out = json!({
                "seq": a.seq, "activity_id": a.activity_id, "type": a.activity_type,
                "task_queue": a.task_queue, "args": decode_all(&a.arguments),
                "start_to_close_ms": ms(&a.start_to_close_timeout),
            });
            if let Some(r) = &a.retry_policy {
                out["retry"] = json!({
                    "initial_ms": ms(&r.initial_interval), "backoff": r.backoff_coefficient,
                    "max_ms": ms(&r.maximum_interval), "max_attempts": r.maximum_attempts,
                    "non_retryable": r.non_retryable_error_types,
                });
            }
            for (key, d) in [
                ("schedule_to_close_ms", &a.schedule_to_close_timeout),
                ("schedule_to_start_ms", &a.schedule_to_start_timeout),
                ("heartbeat_ms", &a.heartbeat_timeout),
            ] {
                if d.is_some() {
                    out[key] = ms(d);
                }
            }
            if !summary.is_null() {
                out["summary"] = summary;
            }
            json!({ "schedule_activity": out })
        }
        Variant::StartTimer(t) => {
            json!({"start_timer": {"seq": t.seq, "ms": ms(&t.start_to_fire_timeout)}})
        }
        Variant::CancelTimer(t) => json!({"cancel_timer": t.seq}),
        Variant::RequestCancelActivity(a) => json!({"cancel_activity": a.seq}),
        Variant::CompleteWorkflowExecution(c) => json!({"complete": decode(&c.result)}),
        Variant::FailWorkflowExecution(f) => {
            json!({"fail": f.failure.as_ref().map(render_failure)})
        }
        Variant::CancelWorkflowExecution(_) => json!("cancel_workflow"),
        Variant::ContinueAsNewWorkflowExecution(c) => json!({"continue_as_new": {
            "workflow_type": c.workflow_type,
            "args": decode_all(&c.arguments),
            "carried": c.headers.get("stave-continue").map(|p| payload::decode(p).unwrap_or(Json::Null)),
        }}),
        Variant::RespondToQuery(q) => match &q.variant {
            Some(query_result::Variant::Succeeded(s)) => {
                json!({"query": {"id": q.query_id, "answer": decode(&s.response)}})
            }
            Some(query_result::Variant::Failed(f)) => {
                json!({"query": {"id": q.query_id, "failed": f.message}})
            }
            None => json!({"query": {"id": q.query_id}}),
        },
        Variant::UpdateResponse(u) => match &u.response {
            Some(update_response::Response::Accepted(())) => {
                json!({"update_accepted": u.protocol_instance_id})
            }
            Some(update_response::Response::Rejected(f)) => {
                json!({"update_rejected": {"id": u.protocol_instance_id, "failure": render_failure(f)}})
            }
            Some(update_response::Response::Completed(p)) => {
                json!({"update_completed": {"id": u.protocol_instance_id, "result": decode(&Some(p.clone()))}})
            }
            None => json!({"update": u.protocol_instance_id}),
        },
        Variant::StartChildWorkflowExecution(c) => json!({"start_child": {
            "seq": c.seq, "workflow_id": c.workflow_id, "type": c.workflow_type,
            "task_queue": c.task_queue, "input": decode_all(&c.input),
            "execution_timeout_ms": ms(&c.workflow_execution_timeout),
            "parent_close_policy": c.parent_close_policy,
        }}),
        Variant::CancelChildWorkflowExecution(c) => json!({"cancel_child": c.child_workflow_seq}),
        Variant::UpsertWorkflowSearchAttributes(u) => {
            let fields: std::collections::BTreeMap<_, _> = u
                .search_attributes
                .iter()
                .flat_map(|s| s.indexed_fields.iter())
                .map(|(k, p)| (k.clone(), payload::decode(p).unwrap_or(Json::Null)))
                .collect();
            json!({"upsert_search_attributes": fields})
        }
        Variant::ModifyWorkflowProperties(m) => {
            let fields: std::collections::BTreeMap<_, _> = m
                .upserted_memo
                .iter()
                .flat_map(|s| s.fields.iter())
                .map(|(k, p)| (k.clone(), payload::decode(p).unwrap_or(Json::Null)))
                .collect();
            json!({"upsert_memo": fields})
        }
        other => json!(format!("{other:?}")),
    }
}

fn describe_job(job: &Job) -> String {
    match job {
        Job::InitializeWorkflow(i) => format!(
            "init {}",
            decode_all(&i.arguments)
                .get(0)
                .cloned()
                .unwrap_or(Json::Null)
        ),
        Job::ResolveActivity(r) => match r.result.as_ref().and_then(|r| r.status.as_ref()) {
            Some(activity_resolution::Status::Completed(s)) => {
                format!("activity {} ok {}", r.seq, decode(&s.result))
            }
            Some(activity_resolution::Status::Failed(_)) => format!("activity {} failed", r.seq),
            Some(activity_resolution::Status::Cancelled(_)) => {
                format!("activity {} cancelled", r.seq)
            }
            _ => format!("activity {} ?", r.seq),
        },
        Job::FireTimer(t) => format!("timer {} fired", t.seq),
        Job::SignalWorkflow(s) => format!("signal {} {}", s.signal_name, decode_all(&s.input)),
        Job::QueryWorkflow(q) => format!("query {} {}", q.query_id, q.query_type),
        Job::DoUpdate(u) => format!(
            "update {} {} {}{}",
            u.id,
            u.name,
            decode_all(&u.input),
            if u.run_validator { "" } else { " (replay)" }
        ),
        Job::CancelWorkflow(_) => "cancel".to_string(),
        Job::ResolveChildWorkflowExecutionStart(s) => format!("child {} start resolved", s.seq),
        Job::ResolveChildWorkflowExecution(s) => format!("child {} closed", s.seq),
        Job::RemoveFromCache(_) => "evict".to_string(),
        other => format!("{other:?}"),
    }
}

// --- harness -------------------------------------------------------------------------------

/// A run plus everything fed to it, for snapshots and replay.
struct Harness {
    program: Arc<Workflow>,
    run: Run,
    activations: Vec<WorkflowActivation>,
    outputs: Vec<Vec<WorkflowCommand>>,
    transcript: Vec<Json>,
}

impl Harness {
    fn new(program: Arc<Workflow>) -> Harness {
        Harness {
            run: Run::new(program.clone()),
            program,
            activations: Vec::new(),
            outputs: Vec::new(),
            transcript: Vec::new(),
        }
    }

    /// Starts the run with `input`.
    fn start(program: Arc<Workflow>, input: Json) -> Harness {
        let mut h = Harness::new(program);
        h.feed(vec![init_job(input)]);
        h
    }

    fn activation(&self, jobs: Vec<Job>) -> WorkflowActivation {
        let n = self.activations.len() as i64;
        WorkflowActivation {
            run_id: "run-1".to_string(),
            timestamp: Some(prost_wkt_types::Timestamp {
                seconds: T0 + n * 60,
                nanos: 0,
            }),
            history_length: 3 + 6 * n as u32,
            jobs: jobs
                .into_iter()
                .map(|j| WorkflowActivationJob { variant: Some(j) })
                .collect(),
            ..Default::default()
        }
    }

    /// Feeds one activation; returns its rendered commands.
    fn feed(&mut self, jobs: Vec<Job>) -> Vec<Json> {
        let activation = self.activation(jobs);
        self.feed_activation(activation)
    }

    fn feed_activation(&mut self, activation: WorkflowActivation) -> Vec<Json> {
        let commands = match self.run.activate(&activation) {
            Outcome::Commands(c) => c,
            Outcome::TaskFailure(m) => panic!("workflow task failed: {m}"),
        };
        let rendered: Vec<Json> = commands.iter().map(render).collect();
        let jobs: Vec<String> = activation
            .jobs
            .iter()
            .filter_map(|j| j.variant.as_ref())
            .map(describe_job)
            .collect();
        self.transcript
            .push(json!({"jobs": jobs, "commands": rendered.clone()}));
        self.activations.push(activation);
        self.outputs.push(commands);
        rendered
    }

    /// Replays every activation against a fresh run: the same commands must come out.
    fn assert_replays(&self) {
        let mut fresh = Run::new(self.program.clone());
        for (i, (activation, expected)) in self.activations.iter().zip(&self.outputs).enumerate() {
            let got = match fresh.activate(activation) {
                Outcome::Commands(c) => c,
                Outcome::TaskFailure(m) => panic!("replay of activation {i} failed: {m}"),
            };
            assert_eq!(&got, expected, "replay of activation {i} differs");
        }
        assert_eq!(
            fresh.status(),
            self.run.status(),
            "replayed run ends elsewhere"
        );
    }

    /// Replays as core does after an eviction: query-only activations are not in history, so
    /// they are left out; every other activation must give the same commands.
    fn assert_replays_without_queries(&self) {
        let mut fresh = Run::new(self.program.clone());
        for (i, (activation, expected)) in self.activations.iter().zip(&self.outputs).enumerate() {
            let only_queries = activation
                .jobs
                .iter()
                .all(|j| matches!(j.variant, Some(Job::QueryWorkflow(_))));
            if only_queries {
                continue;
            }
            let got = match fresh.activate(activation) {
                Outcome::Commands(c) => c,
                Outcome::TaskFailure(m) => panic!("replay of activation {i} failed: {m}"),
            };
            assert_eq!(
                &got, expected,
                "replay without queries differs at activation {i}"
            );
        }
    }

    /// Evicts the run and rebuilds it from the activations so far (as core does after a
    /// cache eviction), checking the replayed commands match.
    fn evict_and_rebuild(&mut self) {
        self.assert_replays();
        let mut fresh = Run::new(self.program.clone());
        for activation in &self.activations {
            let _ = fresh.activate(activation);
        }
        self.run = fresh;
        self.transcript
            .push(json!({"jobs": ["evict + replay"], "commands": []}));
    }

    fn snapshot(&self) -> Json {
        self.assert_replays();
        self.assert_replays_without_queries();
        Json::Array(self.transcript.clone())
    }
}

macro_rules! snap {
    ($name:literal, $h:expr) => {
        insta::assert_yaml_snapshot!($name, $h.snapshot())
    };
}

/// The last command of the last activation (usually the terminal one).
fn last(commands: &[Json]) -> Json {
    commands.last().cloned().unwrap_or(Json::Null)
}

// --- tests ---------------------------------------------------------------------------------

#[test]
fn sequence_of_activities_completes_with_output() {
    let program = Program::new(vec![
        act(
            "charge",
            "payments.charge",
            map(&[("amount", v("${ input.amount }"))]),
        ),
        act(
            "ship",
            "shipping.ship",
            v("${ {'charge': steps.charge.id, 'to': input.to} }"),
        ),
    ])
    .output(v(
        "${ {'charge': steps.charge.id, 'tracking': steps.ship} }",
    ))
    .build();
    let mut h = Harness::start(program, json!({"amount": 12.5, "to": "Ada"}));
    h.feed(vec![ok(1, json!({"id": "ch_1"}))]);
    let done = h.feed(vec![ok(2, json!("TRK-9"))]);
    assert_eq!(
        last(&done),
        json!({"complete": {"charge": "ch_1", "tracking": "TRK-9"}})
    );
    assert_eq!(h.run.status().state, RunState::Completed);
    snap!("sequence", h);
}

#[test]
fn activity_options_map_one_to_one() {
    let mut c = call("ext.py_task", lit(Json::Null));
    c.args = Args::Positional(vec![lit(json!(1)), v("${ input.name }")]);
    c.task_queue = "python-workers".to_string();
    c.schedule_to_close_ms = Some(60_000);
    c.schedule_to_start_ms = Some(5_000);
    c.heartbeat_ms = Some(2_500);
    c.retry = Some(RetryPolicy {
        initial_interval_ms: Some(1_000),
        backoff: Some(2.0),
        max_interval_ms: Some(60_000),
        max_attempts: 5,
        non_retryable: vec!["CardDeclined".to_string()],
    });
    c.summary = Some(v("charging ${ input.name }"));
    let program = Program::new(vec![step(Some("task"), StepKind::Activity(c))]).build();
    let mut h = Harness::start(program, json!({"name": "Ada"}));
    h.feed(vec![ok(1, json!(null))]);
    snap!("activity_options", h);
}

#[test]
fn if_switch_and_guards_take_the_right_paths() {
    let program = Program::new(vec![
        step(
            Some("check"),
            StepKind::If {
                cond: v("${ input.amount > 100 }"),
                then: vec![act("big", "review.big", lit(json!(null)))],
                otherwise: vec![act("small", "review.small", lit(json!(null)))],
            },
        ),
        step(
            Some("route"),
            StepKind::Switch {
                arms: vec![
                    SwitchArm {
                        when: v("${ input.country == 'DE' }"),
                        steps: vec![act("de", "ship.de", lit(json!(null)))],
                    },
                    SwitchArm {
                        when: v("${ input.country == 'FR' }"),
                        steps: vec![act("fr", "ship.fr", lit(json!(null)))],
                    },
                ],
                default: vec![act("world", "ship.world", lit(json!(null)))],
            },
        ),
        guarded(
            act("skipped", "never.runs", lit(json!(null))),
            v("${ false }"),
        ),
    ])
    .output(v(
        "${ [steps.check, steps.route, steps.skipped, steps.small] }",
    ))
    .build();
    let mut h = Harness::start(program, json!({"amount": 500, "country": "FR"}));
    h.feed(vec![ok(1, json!("big-ok"))]);
    let done = h.feed(vec![ok(2, json!("fr-ok"))]);
    assert_eq!(
        last(&done),
        json!({"complete": ["big-ok", "fr-ok", null, null]})
    );
    snap!("if_switch_guard", h);
}

#[test]
fn coverage_records_the_steps_and_branches_a_run_takes() {
    use stave::ir::{CoveragePoint as P, coverage};
    let program = Program::new(vec![
        step(
            Some("check"),
            StepKind::If {
                cond: v("${ input.amount > 100 }"),
                then: vec![act("big", "review.big", lit(json!(null)))],
                otherwise: vec![],
            },
        ),
        step(
            Some("route"),
            StepKind::Switch {
                arms: vec![SwitchArm {
                    when: v("${ input.country == 'DE' }"),
                    steps: vec![act("de", "ship.de", lit(json!(null)))],
                }],
                default: vec![],
            },
        ),
        guarded(
            act("skipped", "never.runs", lit(json!(null))),
            v("${ false }"),
        ),
    ])
    .build();
    let universe = coverage::points(&program);
    assert_eq!(universe.len(), 10, "{universe:?}");
    let mut h = Harness::new(program);
    h.run.enable_coverage();
    h.feed(vec![init_job(json!({"amount": 500, "country": "FR"}))]);
    h.feed(vec![ok(1, json!("big-ok"))]);
    let reached: Vec<P> = h.run.coverage().into_iter().collect();
    assert_eq!(
        reached,
        vec![
            P::Step { step: 0 },
            P::Then { step: 0 },
            P::Step { step: 1 },
            P::Step { step: 2 },
            P::Default { step: 2 },
            P::Skipped { step: 4 },
        ]
    );
    assert!(reached.iter().all(|p| universe.contains(p)));
}

#[test]
fn set_evaluates_against_the_old_state() {
    let program = Program::new(vec![set(&[
        ("a", v("${ vars.b }")),
        ("b", v("${ vars.a }")),
    ])])
    .var("a", lit(json!(1)))
    .var("b", lit(json!(2)))
    .output(v("${ vars }"))
    .build();
    let h = Harness::start(program, json!(null));
    assert_eq!(
        last(
            &h.transcript[0]["commands"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        ),
        json!({"complete": {"a": 2, "b": 1}})
    );
    snap!("set_swap", h);
}

#[test]
fn search_attributes_and_memo_upsert_at_start_and_on_change() {
    let program = Program::new(vec![
        act("charge", "payments.charge", lit(json!(null))),
        set(&[("status", lit(json!("charged")))]),
        set(&[("note", lit(json!("same status")))]),
        act("ship", "shipping.ship", lit(json!(null))),
    ])
    .var("status", lit(json!("new")))
    .var("note", lit(json!(null)))
    .search_attribute("OrderStatus", v("${ vars.status }"))
    .search_attribute("CustomerId", v("${ input.customer }"))
    .memo(
        "summary",
        v("order for ${ input.customer }: ${ vars.status }"),
    )
    .build();
    let mut h = Harness::start(program, json!({"customer": "c-7"}));
    let next = h.feed(vec![ok(1, json!(null))]);
    // The second `set` changes neither: only the first one upserts.
    assert_eq!(next.len(), 3);
    snap!("search_attributes_memo", h);
}

#[test]
fn parallel_branch_results_form_a_map() {
    let program = Program::new(vec![parallel(
        "fulfil",
        false,
        vec![
            (
                "reserve",
                vec![act("reserve", "inventory.reserve", lit(json!(null)))],
            ),
            (
                "notify",
                vec![
                    act("notify", "email.send", lit(json!(null))),
                    act("log", "log", v("${ steps.notify }")),
                ],
            ),
        ],
    )])
    .output(v("${ steps.fulfil }"))
    .build();
    let mut h = Harness::start(program, json!(null));
    h.feed(vec![ok(2, json!("sent"))]);
    h.feed(vec![ok(3, json!("logged"))]);
    let done = h.feed(vec![ok(1, json!("reserved"))]);
    assert_eq!(
        last(&done),
        json!({"complete": {"reserve": "reserved", "notify": "logged"}})
    );
    snap!("parallel_ok", h);
}

#[test]
fn parallel_failure_cancels_the_other_branches() {
    let program = Program::new(vec![parallel(
        "fulfil",
        false,
        vec![
            ("a", vec![act("a", "slow.a", lit(json!(null)))]),
            ("b", vec![act("b", "slow.b", lit(json!(null)))]),
            ("c", vec![step(None, StepKind::Sleep(Sleep::ForMs(60_000)))]),
        ],
    )])
    .build();
    let mut h = Harness::start(program, json!(null));
    // Two failures in one activation: the first in history order (seq 2) wins.
    let done = h.feed(vec![
        failed(2, "OutOfStock", "no stock"),
        failed(1, "Boom", "boom"),
    ]);
    assert_eq!(
        done,
        vec![
            json!({"cancel_activity": 1}),
            json!({"cancel_timer": 1}),
            json!({"fail": {"type": "OutOfStock", "message": "no stock", "non_retryable": false, "details": null}}),
        ]
    );
    // Core reports the cancelled activity later; the finished run ignores it.
    assert!(h.feed(vec![cancelled(1)]).is_empty());
    snap!("parallel_failure", h);
}

#[test]
fn race_takes_the_first_branch_and_cancels_the_rest() {
    let program = Program::new(vec![parallel(
        "first",
        true,
        vec![
            ("fast", vec![act("fast", "provider.a", lit(json!(null)))]),
            ("slow", vec![act("slow", "provider.b", lit(json!(null)))]),
        ],
    )])
    .output(v("${ steps.first }"))
    .build();
    let mut h = Harness::start(program, json!(null));
    let done = h.feed(vec![ok(2, json!("b wins"))]);
    assert_eq!(
        done,
        vec![
            json!({"cancel_activity": 1}),
            json!({"complete": {"branch": "slow", "result": "b wins"}}),
        ]
    );
    snap!("race", h);
}

#[test]
fn foreach_keeps_input_order_with_concurrency_two() {
    let program = Program::new(vec![foreach(
        "ship",
        v("${ input.items }"),
        "item",
        Some(2),
        vec![
            act("label", "shipping.label", v("${ item }")),
            act("send", "shipping.send", v("${ steps.label + '/' + item }")),
        ],
    )])
    .output(v("${ steps.ship }"))
    .build();
    let mut h = Harness::start(program, json!({"items": ["a", "b", "c"]}));
    // Items a and b start (activities 1, 2); b's label finishes first.
    h.feed(vec![ok(2, json!("Lb"))]);
    h.feed(vec![ok(1, json!("La"))]);
    // b's send (3) finishes: item c starts (5) while a's send (4) runs.
    h.feed(vec![ok(3, json!("sent-b"))]);
    h.feed(vec![ok(5, json!("Lc"))]);
    h.feed(vec![ok(6, json!("sent-c"))]);
    let done = h.feed(vec![ok(4, json!("sent-a"))]);
    assert_eq!(
        last(&done),
        json!({"complete": ["sent-a", "sent-b", "sent-c"]})
    );
    snap!("foreach_concurrency", h);
}

#[test]
fn foreach_over_a_non_list_is_an_expression_error() {
    let program = Program::new(vec![foreach(
        "each",
        v("${ input.items }"),
        "item",
        None,
        vec![act("x", "x", v("${ item }"))],
    )])
    .build();
    let h = Harness::start(program, json!({"items": "abc"}));
    snap!("foreach_not_a_list", h);
}

#[test]
fn while_loop_stops_at_max_iterations() {
    let program = Program::new(vec![while_loop(
        "poll",
        v("${ vars.status != 'done' }"),
        2,
        vec![
            act("check", "status.check", v("${ vars.tries }")),
            set(&[
                ("status", v("${ steps.check }")),
                ("tries", v("${ vars.tries + 1 }")),
            ]),
        ],
    )])
    .var("status", lit(json!("pending")))
    .var("tries", lit(json!(0)))
    .build();
    let mut h = Harness::start(program, json!(null));
    h.feed(vec![ok(1, json!("pending"))]);
    let done = h.feed(vec![ok(2, json!("pending"))]);
    assert_eq!(done[0]["fail"]["type"], json!("MaxIterationsExceeded"));
    snap!("while_max_iterations", h);
}

#[test]
fn while_loop_ends_when_the_condition_fails() {
    let program = Program::new(vec![while_loop(
        "poll",
        v("${ vars.status != 'done' }"),
        10,
        vec![
            act("check", "status.check", lit(json!(null))),
            set(&[("status", v("${ steps.check }"))]),
        ],
    )])
    .var("status", lit(json!("pending")))
    .output(v("${ steps.poll }"))
    .build();
    let mut h = Harness::start(program, json!(null));
    h.feed(vec![ok(1, json!("pending"))]);
    let done = h.feed(vec![ok(2, json!("done"))]);
    // A while's result is its last iteration's result: the `set`, null.
    assert_eq!(done, vec![json!({"complete": null})]);
}

#[test]
fn signal_arriving_before_the_wait_is_buffered() {
    let program = Program::new(vec![
        act("charge", "payments.charge", lit(json!(null))),
        wait("approval", "approve", None, None, OnTimeout::Fail),
    ])
    .var("approver", lit(json!(null)))
    .signal("approve", &[("approver", v("${ signal.by }"))])
    .output(v(
        "${ {'approval': steps.approval, 'approver': vars.approver} }",
    ))
    .build();
    let mut h = Harness::start(program, json!(null));
    assert!(
        h.feed(vec![signal("approve", json!({"by": "ann"}))])
            .is_empty()
    );
    let done = h.feed(vec![ok(1, json!(null))]);
    assert_eq!(
        done,
        vec![json!({"complete": {"approval": {"by": "ann"}, "approver": "ann"}})]
    );
    snap!("signal_before_wait", h);
}

#[test]
fn signal_arriving_during_the_wait_with_until_and_timeout() {
    let program = Program::new(vec![
        wait(
            "approval",
            "approve",
            Some(v("${ vars.approvals >= 2 }")),
            Some(3_600_000),
            OnTimeout::Fail,
        ),
        act("after", "after", v("${ steps.approval }")),
    ])
    .var("approvals", lit(json!(0)))
    .signal("approve", &[("approvals", v("${ vars.approvals + 1 }"))])
    .build();
    let mut h = Harness::start(program, json!(null));
    assert!(
        h.feed(vec![signal("approve", json!({"by": "ann"}))])
            .is_empty()
    );
    let next = h.feed(vec![signal("approve", json!({"by": "bob"}))]);
    assert_eq!(next[0], json!({"cancel_timer": 1}));
    h.feed(vec![ok(1, json!(null))]);
    snap!("signal_during_wait_until", h);
}

#[test]
fn wait_timeout_fails_with_a_catchable_wait_timeout() {
    let program = Program::new(vec![try_catch(
        "guarded",
        vec![wait(
            "approval",
            "approve",
            None,
            Some(60_000),
            OnTimeout::Fail,
        )],
        vec![catch(
            &["WaitTimeout"],
            None,
            vec![act("escalate", "escalate", v("${ err }"))],
        )],
    )])
    .build();
    let mut h = Harness::start(program, json!(null));
    h.feed(vec![fire(1)]);
    h.feed(vec![ok(1, json!(null))]);
    snap!("wait_timeout_fail", h);
}

#[test]
fn wait_timeout_continue_gives_null() {
    let program = Program::new(vec![wait(
        "approval",
        "approve",
        None,
        Some(60_000),
        OnTimeout::Continue,
    )])
    .output(v("${ {'approval': steps.approval} }"))
    .build();
    let mut h = Harness::start(program, json!(null));
    let done = h.feed(vec![fire(1)]);
    assert_eq!(done, vec![json!({"complete": {"approval": null}})]);
    snap!("wait_timeout_continue", h);
}

#[test]
fn signals_are_consumed_one_per_wait() {
    let program = Program::new(vec![
        wait("first", "next", None, None, OnTimeout::Fail),
        wait("second", "next", None, None, OnTimeout::Fail),
        wait("third", "next", None, None, OnTimeout::Fail),
    ])
    .output(v("${ [steps.first, steps.second, steps.third] }"))
    .build();
    let mut h = Harness::start(program, json!(null));
    assert!(
        h.feed(vec![signal("next", json!(1)), signal("next", json!(2))])
            .is_empty()
    );
    let done = h.feed(vec![signal("next", json!(3))]);
    assert_eq!(done, vec![json!({"complete": [1, 2, 3]})]);
}

#[test]
fn queries_answer_from_state_without_changing_it() {
    let program = Program::new(vec![
        act("charge", "payments.charge", lit(json!(null))),
        wait("approval", "approve", None, None, OnTimeout::Fail),
    ])
    .var("status", lit(json!("charging")))
    .query("status", v("${ vars.status + ' at ' + now() }"))
    .query("id", v("${ uuid() }"))
    .build();
    let mut h = Harness::start(program, json!(null));
    let answers = h.feed(vec![
        query("q1", "status"),
        query("q2", "id"),
        query("q3", "id"),
    ]);
    // uuid() in a query does not advance the run's counter: both answers agree.
    assert_eq!(answers[1]["query"]["answer"], answers[2]["query"]["answer"]);
    h.feed(vec![ok(1, json!(null))]);
    h.feed(vec![query("q4", "__stave_status"), query("q5", "nope")]);
    snap!("queries", h);
}

/// The built-in status query answers the state and current steps of every run, and its
/// variables only when the workflow sets `expose_status: true`.
#[test]
fn the_status_query_shows_variables_only_when_exposed() {
    let answer = |program: std::sync::Arc<Workflow>| {
        let mut h = Harness::start(program, json!(null));
        let answers = h.feed(vec![query("q", "__stave_status")]);
        answers[0]["query"]["answer"].clone()
    };
    let steps = || vec![wait("approval", "approve", None, None, OnTimeout::Fail)];
    let hidden = answer(
        Program::new(steps())
            .var("card", lit(json!("4111-1111")))
            .build(),
    );
    assert_eq!(hidden["current_steps"], json!(["approval"]), "{hidden}");
    assert!(hidden.get("vars").is_none(), "{hidden}");
    assert!(!hidden.to_string().contains("4111"), "{hidden}");
    let shown = answer(
        Program::new(steps())
            .var("card", lit(json!("4111-1111")))
            .expose_status()
            .build(),
    );
    assert_eq!(shown["vars"], json!({"card": "4111-1111"}), "{shown}");
}

#[test]
fn try_catch_matches_type_and_when() {
    let program = Program::new(vec![
        try_catch(
            "pay",
            vec![act("charge", "payments.charge", lit(json!(null)))],
            vec![
                catch(
                    &["CardDeclined"],
                    Some(v("${ err.message == 'insufficient funds' }")),
                    vec![act("notify_funds", "email.funds", v("${ err }"))],
                ),
                catch(
                    &["CardDeclined"],
                    None,
                    vec![act("notify_other", "email.other", v("${ err.message }"))],
                ),
            ],
        ),
        act("after", "after", v("${ steps.pay }")),
    ])
    .build();
    let mut h = Harness::start(program, json!(null));
    let next = h.feed(vec![failed(1, "CardDeclined", "stolen card")]);
    assert_eq!(next[0]["schedule_activity"]["type"], json!("email.other"));
    h.feed(vec![ok(2, json!("told"))]);
    let done = h.feed(vec![ok(3, json!(null))]);
    assert_eq!(done, vec![json!({"complete": null})]);
    snap!("try_catch_when", h);
}

#[test]
fn uncaught_types_pass_through_and_rethrow_reraises() {
    let program = Program::new(vec![try_catch(
        "outer",
        vec![try_catch(
            "inner",
            vec![act("charge", "payments.charge", lit(json!(null)))],
            vec![
                catch(
                    &["Other"],
                    None,
                    vec![act("never", "never", lit(json!(null)))],
                ),
                catch(
                    &[],
                    None,
                    vec![
                        act("log", "log", v("${ err.type }")),
                        step(None, StepKind::Rethrow),
                    ],
                ),
            ],
        )],
        vec![catch(
            &["Declined"],
            None,
            vec![ret(v("${ 'outer caught ' + err.message }"))],
        )],
    )])
    .build();
    let mut h = Harness::start(program, json!(null));
    h.feed(vec![failed(1, "Declined", "no money")]);
    let done = h.feed(vec![ok(2, json!(null))]);
    assert_eq!(done, vec![json!({"complete": "outer caught no money"})]);
}

#[test]
fn saga_compensates_in_reverse_completion_order() {
    let program = Program::new(vec![
        act_comp(
            "charge",
            "payments.charge",
            lit(json!(null)),
            "payments.refund",
            v("${ {'charge': steps.charge.id} }"),
        ),
        act_comp(
            "reserve",
            "inventory.reserve",
            lit(json!(null)),
            "inventory.release",
            v("${ steps.reserve }"),
        ),
        try_catch(
            "caught",
            vec![act("optional", "optional.thing", lit(json!(null)))],
            vec![catch(&[], None, vec![])],
        ),
        act("ship", "shipping.ship", lit(json!(null))),
    ])
    .build();
    let mut h = Harness::start(program, json!(null));
    h.feed(vec![ok(1, json!({"id": "ch_1"}))]);
    h.feed(vec![ok(2, json!("res_1"))]);
    // A caught error does not unwind the saga.
    let next = h.feed(vec![failed(3, "Flaky", "flaky")]);
    assert_eq!(next[0]["schedule_activity"]["type"], json!("shipping.ship"));
    let unwinding = h.feed(vec![failed(4, "Unshippable", "no courier")]);
    assert_eq!(
        unwinding[0]["schedule_activity"]["type"],
        json!("inventory.release")
    );
    assert_eq!(h.run.status().state, RunState::Compensating);
    let refund = h.feed(vec![ok(5, json!(null))]);
    assert_eq!(
        refund[0]["schedule_activity"]["args"],
        json!([{"charge": "ch_1"}])
    );
    // A failed compensation does not stop the run from failing with the original error.
    let done = h.feed(vec![failed(6, "RefundFailed", "bank down")]);
    assert_eq!(done[0]["fail"]["type"], json!("Unshippable"));
    snap!("saga", h);
}

#[test]
fn fail_step_raises_a_typed_non_retryable_error() {
    let program = Program::new(vec![fail(
        "OrderRejected",
        v("order ${ input.id } rejected"),
    )])
    .build();
    let h = Harness::start(program, json!({"id": 42}));
    snap!("fail_step", h);
}

#[test]
fn return_completes_early_and_cancels_siblings() {
    let program = Program::new(vec![
        parallel(
            "p",
            false,
            vec![
                (
                    "quick",
                    vec![
                        act("quick", "quick", lit(json!(null))),
                        ret(v("${ steps.quick }")),
                    ],
                ),
                ("slow", vec![act("slow", "slow", lit(json!(null)))]),
            ],
        ),
        act("never", "never", lit(json!(null))),
    ])
    .build();
    let mut h = Harness::start(program, json!(null));
    let done = h.feed(vec![ok(1, json!("early"))]);
    assert_eq!(
        done,
        vec![json!({"cancel_activity": 2}), json!({"complete": "early"})]
    );
}

#[test]
fn bad_input_fails_with_invalid_input_naming_the_field() {
    let program = Program::new(vec![act("charge", "payments.charge", lit(json!(null)))])
        .schema(json!({
            "type": "object",
            "required": ["order_id", "amount"],
            "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}}
        }))
        .build();
    let h = Harness::start(program, json!({"order_id": "o1", "amount": "12"}));
    let commands = h.transcript[0]["commands"].clone();
    assert_eq!(commands[0]["fail"]["type"], json!("InvalidInput"));
    assert_eq!(commands[0]["fail"]["non_retryable"], json!(true));
    assert!(
        commands[0]["fail"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("input.amount: expected number, got string"))
    );
    snap!("bad_input", h);
}

#[test]
fn expression_error_names_step_location_and_expression() {
    let program = Program::new(vec![
        act("charge", "payments.charge", lit(json!(null))),
        act("ship", "shipping.ship", v("${ steps.charge.address.city }")),
    ])
    .build();
    let mut h = Harness::start(program, json!(null));
    let done = h.feed(vec![ok(1, json!({"id": "ch_1"}))]);
    let message = done[0]["fail"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(done[0]["fail"]["type"], json!("ExpressionError"));
    assert!(
        message.starts_with("step `ship` (test.stave.yaml:2:3): `steps.charge.address.city`"),
        "{message}"
    );
    snap!("expression_error", h);
}

#[test]
fn sleep_for_duration_number_and_until() {
    let program = Program::new(vec![
        sleep(Sleep::ForMs(500)),
        sleep(Sleep::For(v("${ input.wait }"))),
        sleep(Sleep::For(v("${ input.secs }"))),
        sleep(Sleep::Until(v("${ input.at }"))),
        sleep(Sleep::Until(lit(json!("2000-01-01T00:00:00Z")))),
    ])
    .build();
    let mut h = Harness::start(
        program,
        json!({"wait": "1m30s", "secs": 2.5, "at": "2024-05-01T13:00:00Z"}),
    );
    h.feed(vec![fire(1)]);
    h.feed(vec![fire(2)]);
    // Activation 3 happens at T0 + 3 minutes: 57 minutes remain until 13:00.
    let until = h.feed(vec![fire(3)]);
    assert_eq!(
        until,
        vec![json!({"start_timer": {"seq": 4, "ms": 3_420_000}})]
    );
    // A time in the past does not sleep.
    let done = h.feed(vec![fire(4)]);
    assert_eq!(done, vec![json!({"complete": null})]);
    snap!("sleep", h);
}

#[test]
fn child_workflows_start_with_default_ids_and_resolve() {
    let program = Program::new(vec![
        child("review", "fraud-review", v("${ input }")),
        foreach(
            "each",
            lit(json!([1, 2])),
            "n",
            Some(1),
            vec![child("sub", "sub-flow", v("${ n }"))],
        ),
    ])
    .output(v("${ {'review': steps.review, 'each': steps.each} }"))
    .build();
    let mut h = Harness::start(program, json!({"order": 7}));
    h.feed(vec![child_started(1)]);
    h.feed(vec![child_done(1, json!("clean"))]);
    h.feed(vec![child_started(2), child_done(2, json!("one"))]);
    let done = h.feed(vec![child_started(3), child_done(3, json!("two"))]);
    assert_eq!(
        done,
        vec![json!({"complete": {"review": "clean", "each": ["one", "two"]}})]
    );
    snap!("child_workflows", h);
}

#[test]
fn child_start_failure_is_a_catchable_error() {
    let program = Program::new(vec![try_catch(
        "t",
        vec![child("review", "review", lit(json!(null)))],
        vec![catch(
            &["ChildWorkflowStartFailed"],
            None,
            vec![ret(v("${ err }"))],
        )],
    )])
    .build();
    let mut h = Harness::start(program, json!(null));
    let done = h.feed(vec![child_start_failed(1)]);
    snap!("child_start_failed", h);
    assert_eq!(
        done[0]["complete"]["type"],
        json!("ChildWorkflowStartFailed")
    );
}

#[test]
fn cancellation_cancels_work_runs_compensations_and_ends_cancelled() {
    let program = Program::new(vec![
        act_comp(
            "charge",
            "payments.charge",
            lit(json!(null)),
            "payments.refund",
            lit(json!("undo")),
        ),
        parallel(
            "p",
            false,
            vec![
                ("a", vec![act("ship", "shipping.ship", lit(json!(null)))]),
                ("b", vec![child("review", "review", lit(json!(null)))]),
                (
                    "c",
                    vec![wait("w", "go", None, Some(60_000), OnTimeout::Fail)],
                ),
            ],
        ),
    ])
    .build();
    let mut h = Harness::start(program, json!(null));
    h.feed(vec![ok(1, json!(null))]);
    let cancelling = h.feed(vec![cancel()]);
    assert_eq!(
        cancelling,
        vec![
            json!({"cancel_activity": 2}),
            json!({"cancel_child": 1}),
            json!({"cancel_timer": 1}),
            json!({"schedule_activity": {"seq": 3, "activity_id": "3", "type": "payments.refund",
                "task_queue": "work", "args": ["undo"], "start_to_close_ms": 10000,
                "summary": "charge (compensation)"}}),
        ]
    );
    let done = h.feed(vec![ok(3, json!(null))]);
    assert_eq!(done, vec![json!("cancel_workflow")]);
    assert_eq!(h.run.status().state, RunState::Cancelled);
    snap!("cancellation", h);
}

#[test]
fn eviction_and_full_replay_give_the_same_commands() {
    let program = Program::new(vec![
        act("a", "step.a", v("${ uuid() }")),
        foreach(
            "each",
            v("${ input.items }"),
            "x",
            Some(2),
            vec![act("b", "step.b", v("${ x }"))],
        ),
        wait("w", "go", None, None, OnTimeout::Fail),
        act(
            "c",
            "step.c",
            v("${ {'now': now(), 'id': uuid(), 'each': steps.each} }"),
        ),
    ])
    .build();
    let mut h = Harness::start(program, json!({"items": [1, 2, 3]}));
    h.feed(vec![ok(1, json!(null))]);
    h.feed(vec![ok(3, json!("b2"))]);
    h.evict_and_rebuild();
    h.feed(vec![ok(2, json!("b1")), signal("go", json!(true))]);
    h.feed(vec![Job::RemoveFromCache(RemoveFromCache::default())]);
    h.evict_and_rebuild();
    h.feed(vec![ok(4, json!("b3"))]);
    let done = h.feed(vec![ok(5, json!(null))]);
    assert_eq!(done, vec![json!({"complete": null})]);
    snap!("eviction_replay", h);
}

#[test]
fn signal_handler_expression_error_fails_the_run() {
    let program = Program::new(vec![wait("w", "go", None, None, OnTimeout::Fail)])
        .var("n", lit(json!(0)))
        .signal("go", &[("n", v("${ signal.count + 1 }"))])
        .build();
    let mut h = Harness::start(program, json!(null));
    let done = h.feed(vec![signal("go", json!({"other": 1}))]);
    assert_eq!(done[0]["fail"]["type"], json!("ExpressionError"));
    assert!(
        done[0]["fail"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("handler of signal `go`")),
        "{done:?}"
    );
}

#[test]
fn large_foreach_completes_in_order() {
    let items: Vec<Json> = (0..1000).map(|i| json!(i)).collect();
    let program = Program::new(vec![foreach(
        "each",
        v("${ input.items }"),
        "i",
        Some(50),
        vec![act("work", "work", v("${ i * 2 }"))],
    )])
    .output(v("${ size(steps.each) }"))
    .build();
    let mut h = Harness::start(program, json!({"items": items}));
    // Resolve in reverse seq order within each batch of in-flight activities.
    let mut next = 1u32;
    let mut done = Vec::new();
    while next <= 1000 {
        let batch: Vec<Job> = (next..(next + 50).min(1001))
            .rev()
            .map(|seq| ok(seq, json!(seq)))
            .collect();
        next += 50;
        done = h.feed(batch);
    }
    assert_eq!(last(&done), json!({"complete": 1000}));
    h.assert_replays();
}

#[test]
fn while_loop_continues_as_new_and_resumes() {
    let build = || {
        Program::new(vec![
            act("setup", "setup", lit(json!(null))),
            while_loop(
                "poll",
                v("${ vars.n < 5 }"),
                100,
                vec![
                    act("tick", "tick", v("${ vars.n }")),
                    set(&[("n", v("${ vars.n + 1 }"))]),
                ],
            ),
            // Consumes `bump`, so its arrivals are queued and carried across continue-as-new.
            wait("bumped", "bump", None, None, OnTimeout::Fail),
        ])
        .var("n", lit(json!(0)))
        .signal("bump", &[])
        .output(v("${ {'n': vars.n, 'setup': steps.setup} }"))
    };
    // The same program (same hash); the continued run gets a higher threshold so that it
    // finishes instead of continuing again.
    let program = build().continue_after(10).build();
    let again = build().continue_after(1000).build();
    let mut h = Harness::start(program, json!({"k": 1}));
    h.feed(vec![ok(1, json!("ready"))]);
    // History length passes 10 at the third activation: the loop boundary continues as new.
    let out = h.feed(vec![ok(2, json!(null)), signal("bump", json!("kept"))]);
    let carried = out[0]["continue_as_new"]["carried"].clone();
    assert_eq!(carried["iteration"], json!(1));
    assert_eq!(carried["signals"], json!({"bump": ["kept"]}));
    snap!("continue_as_new_while", h);

    // The next run starts with the carried header and resumes at iteration 1.
    let mut resumed = Harness::new(again);
    let mut init = match init_job(json!({"k": 1})) {
        Job::InitializeWorkflow(i) => i,
        _ => unreachable!(),
    };
    init.headers
        .insert("stave-continue".to_string(), payload::encode(&carried));
    let first = resumed.feed(vec![Job::InitializeWorkflow(init)]);
    assert_eq!(first[0]["schedule_activity"]["args"], json!([1]));
    assert_eq!(first[0]["schedule_activity"]["seq"], json!(1));
    for seq in 1..=4 {
        resumed.feed(vec![ok(seq, json!(null))]);
    }
    let done = resumed.transcript.last().cloned().unwrap_or(Json::Null);
    assert_eq!(
        done["commands"],
        json!([{"complete": {"n": 5, "setup": "ready"}}])
    );
    resumed.assert_replays();
}

#[test]
fn foreach_continues_as_new_after_draining() {
    let program = Program::new(vec![foreach(
        "each",
        v("${ input.items }"),
        "i",
        Some(2),
        vec![act("work", "work", v("${ i }"))],
    )])
    .output(v("${ steps.each }"))
    .continue_after(10)
    .build();
    let mut h = Harness::start(program.clone(), json!({"items": [10, 20, 30, 40, 50]}));
    // Activation 2 (history 9): item 0 done, item 2 starts.
    h.feed(vec![ok(1, json!("r10"))]);
    // Activation 3 (history 15): past the threshold, nothing new starts; 2 and 3 in flight.
    assert!(h.feed(vec![ok(2, json!("r20"))]).is_empty());
    let out = h.feed(vec![ok(3, json!("r30"))]);
    let carried = out[0]["continue_as_new"]["carried"].clone();
    assert_eq!(carried["iteration"], json!(3));
    // Only the items not started travel; the results do because `steps.each` is read.
    assert_eq!(carried["items"], json!([40, 50]));
    assert_eq!(carried["results"], json!(["r10", "r20", "r30"]));

    let mut resumed = Harness::new(program);
    let mut init = match init_job(json!({"items": [10, 20, 30, 40, 50]})) {
        Job::InitializeWorkflow(i) => i,
        _ => unreachable!(),
    };
    init.headers
        .insert("stave-continue".to_string(), payload::encode(&carried));
    let first = resumed.feed(vec![Job::InitializeWorkflow(init)]);
    assert_eq!(first.len(), 2);
    assert_eq!(first[0]["schedule_activity"]["args"], json!([40]));
    resumed.feed(vec![ok(1, json!("r40"))]);
    let done = resumed.feed(vec![ok(2, json!("r50"))]);
    assert_eq!(
        done,
        vec![json!({"complete": ["r10", "r20", "r30", "r40", "r50"]})]
    );
}

/// A run continued by the previous release carries format 1 (the whole list): it resumes at
/// the first item not done, and the loop's index keeps counting from there.
#[test]
fn a_version_1_foreach_carry_resumes() {
    let program = Program::new(vec![foreach(
        "each",
        v("${ input.items }"),
        "i",
        Some(2),
        vec![child("sub", "sub-flow", v("${ i }"))],
    )])
    .output(v("${ steps.each }"))
    .continue_after(10)
    .build();
    let carried = json!({
        "version": 1, "program": program.hash, "path": [0], "iteration": 3,
        "items": [10, 20, 30, 40, 50], "results": ["r10", "r20", "r30"],
        "vars": {}, "steps": {"each": null, "sub": null}
    });
    let mut resumed = Harness::new(program);
    let mut init = match init_job(json!({"items": [10, 20, 30, 40, 50]})) {
        Job::InitializeWorkflow(i) => i,
        _ => unreachable!(),
    };
    init.headers
        .insert("stave-continue".to_string(), payload::encode(&carried));
    let first = resumed.feed(vec![Job::InitializeWorkflow(init)]);
    // Default child ids count items from the start of the list, as before the continuation.
    let ids: Vec<&Json> = first
        .iter()
        .map(|c| &c["start_child"]["workflow_id"])
        .collect();
    assert_eq!(
        ids,
        [&json!("wf-1/sub/3"), &json!("wf-1/sub/4")],
        "{first:?}"
    );
    resumed.feed(vec![child_started(1), child_done(1, json!("r40"))]);
    let done = resumed.feed(vec![child_started(2), child_done(2, json!("r50"))]);
    assert_eq!(
        done,
        vec![json!({"complete": ["r10", "r20", "r30", "r40", "r50"]})]
    );
}

/// A `foreach` whose result nothing reads carries no results across continue-as-new.
#[test]
fn an_unread_foreach_carries_no_results() {
    let mut each = foreach(
        "each",
        v("${ input.items }"),
        "i",
        Some(2),
        vec![act("work", "work", v("${ i }"))],
    );
    each.id = None;
    let program = Program::new(vec![each])
        .output(lit(json!("done")))
        .continue_after(10)
        .build();
    let mut h = Harness::start(program, json!({"items": [10, 20, 30, 40, 50]}));
    h.feed(vec![ok(1, json!("r10"))]);
    h.feed(vec![ok(2, json!("r20"))]);
    let out = h.feed(vec![ok(3, json!("r30"))]);
    let carried = out[0]["continue_as_new"]["carried"].clone();
    assert_eq!(carried["iteration"], json!(3));
    assert_eq!(carried["items"], json!([40, 50]));
    assert_eq!(carried["results"], json!([]));
}

#[test]
fn status_lists_current_steps_in_program_order() {
    let program = Program::new(vec![parallel(
        "p",
        false,
        vec![
            (
                "a",
                vec![wait("approval", "approve", None, None, OnTimeout::Fail)],
            ),
            (
                "b",
                vec![act("charge", "payments.charge", lit(json!(null)))],
            ),
        ],
    )])
    .build();
    let h = Harness::start(program, json!(null));
    let status = h.run.status();
    assert_eq!(status.state, RunState::Running);
    assert_eq!(status.current_steps, vec!["approval", "charge"]);
}

#[test]
fn a_yaml_workflow_compiled_by_the_front_end_runs_end_to_end() {
    let text = r#"stave: 1
workflow: order-fulfilment
input:
  type: object
  required: [order_id, amount]
  properties: { order_id: {type: string}, amount: {type: number}, items: {type: array} }
vars: { status: received, approved: false, approver: null }
defaults:
  timeout: 30s
  retry: { max_attempts: 5, initial_interval: 1s, backoff: 2.0, max_interval: 1m }
signals:
  approve: { set: { approved: true, approver: "${ signal.by }" } }
queries:
  status: "${ vars.status }"
steps:
  - id: charge
    activity: payments.charge
    input: { order_id: "${ input.order_id }", amount: "${ input.amount }" }
    timeout: 10s
    retry: { max_attempts: 3, non_retryable: [CardDeclined] }
    compensate:
      activity: payments.refund
      input: { charge_id: "${ steps.charge.id }" }
  - id: approval
    if: "${ input.amount > 1000 }"
    wait: { signal: approve, until: "${ vars.approved }", timeout: 24h, on_timeout: fail }
  - id: ship
    foreach: "${ input.items }"
    as: item
    concurrency: 2
    steps: [ { id: ship_one, activity: shipping.ship, input: { sku: "${ item.sku }" } } ]
  - set: { status: shipped }
output: "${ {'order_id': input.order_id, 'status': vars.status, 'approver': vars.approver, 'shipped': steps.ship} }"
"#;
    let context = stave::project::ProjectContext::default();
    let (_, ir, diagnostics) =
        stave::check::compile_source("order-fulfilment.stave.yaml", text, &context);
    let errors: Vec<&str> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.as_str())
        .collect();
    let Some(ir) = ir else {
        panic!("the sample does not compile: {errors:?}");
    };
    let program = Arc::new(ir);
    let input = json!({"order_id": "o-1", "amount": 1500, "items": [{"sku": "a"}, {"sku": "b"}]});
    let mut h = Harness::start(program, input);
    let approval = h.feed(vec![ok(1, json!({"id": "ch_1"}))]);
    assert_eq!(approval.len(), 1, "{approval:?}");
    assert!(approval[0]["start_timer"].is_object(), "{approval:?}");
    let shipping = h.feed(vec![signal("approve", json!({"by": "ann"}))]);
    assert_eq!(shipping[0], json!({"cancel_timer": 1}));
    h.feed(vec![ok(2, json!("s-a")), ok(3, json!("s-b"))]);
    let done = h.transcript.last().cloned().unwrap_or(Json::Null);
    assert_eq!(
        done["commands"],
        json!([{"complete": {"order_id": "o-1", "status": "shipped", "approver": "ann",
                             "shipped": ["s-a", "s-b"]}}])
    );
    snap!("yaml_order_fulfilment", h);
}

#[test]
fn a_zero_wait_timeout_times_out_without_a_timer() {
    let program = Program::new(vec![wait("w", "go", None, Some(0), OnTimeout::Continue)])
        .output(v("${ [steps.w] }"))
        .build();
    let h = Harness::start(program, json!(null));
    assert_eq!(h.transcript[0]["commands"], json!([{"complete": [null]}]));
    h.assert_replays();
}

#[test]
fn wait_until_sees_a_set_in_another_branch() {
    let program = Program::new(vec![parallel(
        "p",
        false,
        vec![
            (
                "waiter",
                vec![wait(
                    "ready",
                    "never",
                    Some(v("${ vars.done }")),
                    None,
                    OnTimeout::Fail,
                )],
            ),
            (
                "worker",
                vec![
                    act("work", "work", lit(json!(null))),
                    set(&[("done", lit(json!(true)))]),
                ],
            ),
        ],
    )])
    .var("done", lit(json!(false)))
    .output(v("${ steps.p }"))
    .build();
    let mut h = Harness::start(program, json!(null));
    let done = h.feed(vec![ok(1, json!(null))]);
    assert_eq!(
        done,
        vec![json!({"complete": {"waiter": null, "worker": null}})]
    );
    h.assert_replays();
}

#[test]
fn signal_queues_stay_bounded_however_fast_clients_send() {
    use stave::runtime::interpreter::{MAX_QUEUED_SIGNALS, SIGNAL_QUEUE_FULL};
    let program = Program::new(vec![
        wait("first", "go", None, None, OnTimeout::Fail),
        wait("then", "stop", None, None, OnTimeout::Fail),
    ])
    .var("count", lit(json!(0)))
    .signal("count", &[("count", v("${ vars.count + 1 }"))])
    .build();
    let mut h = Harness::start(program, json!(null));
    // 100,000 arrivals no `wait` consumes: handlers run, nothing is queued, nothing fails.
    for _ in 0..100 {
        let burst = (0..1_000)
            .flat_map(|i| [signal("count", json!(i)), signal("noise", json!(i))])
            .collect();
        assert_eq!(h.feed(burst), Vec::<Json>::new());
    }
    h.feed(vec![query("q", "__stave_status")]);
    // `go` is consumed once by `first`; later arrivals queue up to the limit, then the run fails.
    let go = |n: usize| (0..n).map(|i| signal("go", json!(i))).collect::<Vec<_>>();
    assert_eq!(h.feed(go(1)), Vec::<Json>::new());
    assert_eq!(h.feed(go(MAX_QUEUED_SIGNALS)), Vec::<Json>::new());
    let failed = h.feed(go(1));
    assert_eq!(failed.len(), 1, "{failed:?}");
    let text = failed[0].to_string();
    assert!(text.contains(SIGNAL_QUEUE_FULL), "{text}");
    assert!(text.contains("`go`"), "{text}");
}

// --- updates and waits on several messages ------------------------------------------------

fn wait_on(id: &str, names: &[&str], mode: WaitMode, timeout_ms: Option<u64>) -> Step {
    let mut w = wait(id, names[0], None, timeout_ms, OnTimeout::Fail);
    if let StepKind::Wait {
        others, mode: m, ..
    } = &mut w.kind
    {
        *others = names[1..].iter().map(|n| n.to_string()).collect();
        *m = mode;
    }
    w
}

fn adder() -> Program {
    Program::new(vec![wait_on(
        "done",
        &["stop", "finish"],
        WaitMode::Any,
        None,
    )])
    .var("total", lit(json!(0)))
    .signal("stop", &[])
    .update(
        "add",
        Some((
            v("${ update.amount > 0 }"),
            Some(v("amount must be positive, got ${ update.amount }")),
        )),
        &[("total", v("${ vars.total + update.amount }"))],
        Some(v("${ {'total': vars.total} }")),
    )
    .update("finish", None, &[], Some(v("${ vars.total }")))
    .update("broken", None, &[], Some(v("${ update.a.b }")))
    .output(v("${ {'total': vars.total, 'done': steps.done} }"))
}

#[test]
fn an_update_is_validated_then_sets_vars_and_answers() {
    let mut h = Harness::start(adder().build(), json!(null));
    // Rejected by its validator: no `Accepted`, so nothing reaches history.
    let rejected = h.feed(vec![do_update("u1", "add", json!({"amount": -3}), true)]);
    assert_eq!(
        rejected,
        vec![json!({"update_rejected": {"id": "u1", "failure": {
            "type": "UpdateRejected", "message": "amount must be positive, got -3",
            "non_retryable": true, "details": null}}})]
    );
    let accepted = h.feed(vec![do_update("u2", "add", json!({"amount": 5}), true)]);
    assert_eq!(
        accepted,
        vec![
            json!({"update_accepted": "u2"}),
            json!({"update_completed": {"id": "u2", "result": {"total": 5}}}),
        ]
    );
    // The update ends the wait on any of a signal and it: `{name, payload}`.
    let done = h.feed(vec![do_update("u3", "finish", json!({"note": "x"}), true)]);
    assert_eq!(
        done,
        vec![
            json!({"update_accepted": "u3"}),
            json!({"update_completed": {"id": "u3", "result": 5}}),
            json!({"complete": {"total": 5, "done": {"name": "finish", "payload": {"note": "x"}}}}),
        ]
    );
    h.assert_replays();
}

#[test]
fn on_replay_the_validator_does_not_run() {
    let mut h = Harness::start(adder().build(), json!(null));
    // Core asks for no validation when replaying an update the history accepted.
    let replayed = h.feed(vec![do_update("u1", "add", json!({"amount": -3}), false)]);
    assert_eq!(
        replayed,
        vec![
            json!({"update_accepted": "u1"}),
            json!({"update_completed": {"id": "u1", "result": {"total": -3}}}),
        ]
    );
}

#[test]
fn a_failing_handler_fails_the_update_not_the_run() {
    let mut h = Harness::start(adder().build(), json!(null));
    let out = h.feed(vec![do_update("u1", "broken", json!({"a": null}), true)]);
    assert_eq!(out[0], json!({"update_accepted": "u1"}));
    let failure = &out[1]["update_rejected"]["failure"];
    assert_eq!(failure["type"], json!("UpdateRejected"));
    assert!(
        failure["message"]
            .as_str()
            .is_some_and(|m| m.contains("handler of update `broken`")),
        "{failure}"
    );
    assert_eq!(out.len(), 2, "the run goes on: {out:?}");
    let unknown = h.feed(vec![do_update("u2", "nope", json!(null), true)]);
    assert!(
        unknown[0]["update_rejected"]["failure"]["message"]
            .as_str()
            .is_some_and(
                |m| m.contains("unknown update `nope`") && m.contains("add, finish, broken")
            ),
        "{unknown:?}"
    );
    let stopped = h.feed(vec![signal("stop", json!("now"))]);
    assert_eq!(
        stopped,
        vec![json!({"complete": {"total": 0, "done": {"name": "stop", "payload": "now"}}})]
    );
}

#[test]
fn wait_all_takes_one_of_each_in_any_order_and_any_prefers_the_first_named() {
    let program = Program::new(vec![
        wait_on("both", &["a", "b"], WaitMode::All, Some(60_000)),
        wait_on("either", &["a", "b"], WaitMode::Any, None),
    ])
    .output(v("${ {'both': steps.both, 'either': steps.either} }"))
    .build();
    let mut h = Harness::start(program, json!(null));
    assert!(h.feed(vec![signal("b", json!(1))]).is_empty());
    // A second `b` is buffered for the next wait, not taken by `all`.
    assert!(h.feed(vec![signal("b", json!(2))]).is_empty());
    let out = h.feed(vec![signal("a", json!(3)), signal("a", json!(4))]);
    // `all` ends (its timer cancelled); `any` finds `a` and `b` buffered and takes `a`, the
    // first named.
    assert_eq!(
        out,
        vec![
            json!({"cancel_timer": 1}),
            json!({"complete": {"both": {"a": 3, "b": 1}, "either": {"name": "a", "payload": 4}}}),
        ]
    );
    h.assert_replays();
}

#[test]
fn wait_any_times_out_naming_every_message() {
    let program = Program::new(vec![wait_on(
        "either",
        &["a", "b"],
        WaitMode::Any,
        Some(60_000),
    )])
    .build();
    let mut h = Harness::start(program, json!(null));
    let out = h.feed(vec![fire(1)]);
    assert_eq!(
        out[0]["fail"]["message"],
        json!("step `either` waited 1m for any of `a`, `b` and timed out")
    );
}
