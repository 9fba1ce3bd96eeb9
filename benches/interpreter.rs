//! Interpreter cost per activation, without a server: full replays of recorded activations.
//!
//! - `sequence_100`: 100 activity steps, each input an expression over the previous result;
//!   101 activations (start + one resolution each).
//! - `foreach_1000`: a 1,000-item `foreach` (concurrency 100, two steps per item); 2,001
//!   activations, one resolution each, with up to 100 bodies in flight.
//!
//! Criterion's throughput is in activations, so "time per element" is the cost per activation.

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value as Json, json};
use stave::diagnostics::{FileId, Span};
use stave::expr::{Template, parse_template};
use stave::ir::{ActivityCall, Args, Loc, Step, StepKind, Value, Workflow};
use stave::runtime::interpreter::{Outcome, Run};
use stave::runtime::payload;
use temporalio_common::protos::coresdk::{
    activity_result::{self, ActivityResolution, activity_resolution},
    workflow_activation::{
        InitializeWorkflow, ResolveActivity, WorkflowActivation, WorkflowActivationJob,
        workflow_activation_job::Variant as Job,
    },
    workflow_commands::workflow_command::Variant,
};

fn v(text: &str) -> Value {
    let whole = Span::new(FileId(0), 0, text.len());
    match parse_template(text, FileId(0), Some(0), whole) {
        Ok(Template::Literal(s)) => Value::Literal(Json::String(s)),
        Ok(Template::Expr(e)) => Value::Expr(e),
        Ok(Template::Interp(parts)) => Value::Interp(parts),
        Err(d) => panic!("bad bench expression {text:?}: {}", d.message),
    }
}

fn activity(index: &mut u32, id: &str, input: Value) -> Step {
    let step = Step {
        index: *index,
        id: Some(id.to_string()),
        guard: None,
        kind: StepKind::Activity(ActivityCall {
            activity: "work".to_string(),
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
        }),
        loc: Loc {
            line: *index + 1,
            col: 3,
        },
    };
    *index += 1;
    step
}

fn workflow(steps: Vec<Step>, step_count: u32, output: Option<Value>) -> Arc<Workflow> {
    Arc::new(Workflow {
        ir_version: stave::ir::IR_VERSION,
        hash: "bench".to_string(),
        source: "bench.stave.yaml".to_string(),
        name: "bench".to_string(),
        description: None,
        queue: "standard".to_string(),
        task_queue: "bench".to_string(),
        execution_timeout_ms: None,
        input_schema: None,
        vars: vec![("count".to_string(), Value::Literal(json!(0)))],
        signals: Vec::new(),
        updates: Vec::new(),
        queries: Vec::new(),
        steps,
        output,
        schedules: Vec::new(),
        search_attributes: Vec::new(),
        memo: Vec::new(),
        continue_as_new_after: 0,
        expose_status: false,
        step_count,
        priority: None,
    })
}

fn activation(n: usize, jobs: Vec<Job>) -> WorkflowActivation {
    WorkflowActivation {
        run_id: "run".to_string(),
        timestamp: Some(prost_wkt_types::Timestamp {
            seconds: 1_714_564_800 + n as i64,
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

fn init(input: Json) -> Job {
    Job::InitializeWorkflow(InitializeWorkflow {
        workflow_type: "bench".to_string(),
        workflow_id: "bench-1".to_string(),
        arguments: vec![payload::encode(&input)],
        randomness_seed: 1,
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

/// 100 activity steps; step k's input reads step k-1's result and the input.
fn sequence_100() -> (Arc<Workflow>, Vec<WorkflowActivation>) {
    let mut index = 0;
    let mut steps = vec![activity(&mut index, "s0", v("${ input.order }"))];
    for k in 1..100 {
        let expr = format!(
            "${{ {{'prev': steps.s{}.n + 1, 'order': input.order.id, 'label': 'step ' + string(input.order.n)}} }}",
            k - 1
        );
        steps.push(activity(&mut index, &format!("s{k}"), v(&expr)));
    }
    let program = workflow(steps, index, Some(v("${ steps.s99 }")));
    let mut activations = vec![activation(
        0,
        vec![init(json!({"order": {"id": "o-1", "n": 3}}))],
    )];
    for seq in 1..=100u32 {
        activations.push(activation(
            seq as usize,
            vec![ok(seq, json!({"n": seq, "payload": "x".repeat(64)}))],
        ));
    }
    (program, activations)
}

/// A 1,000-item foreach, concurrency 100, two activities per item.
fn foreach_1000() -> (Arc<Workflow>, Vec<WorkflowActivation>) {
    let mut index = 1;
    let body = vec![
        activity(&mut index, "fetch", v("${ {'item': item, 'n': item * 2} }")),
        activity(
            &mut index,
            "store",
            v("${ {'item': item, 'fetched': steps.fetch} }"),
        ),
    ];
    let each = Step {
        index: 0,
        id: Some("each".to_string()),
        guard: None,
        kind: StepKind::Foreach {
            over: v("${ input.items }"),
            item: "item".to_string(),
            concurrency: Some(100),
            steps: body,
        },
        loc: Loc { line: 1, col: 3 },
    };
    let program = workflow(vec![each], index, Some(v("${ size(steps.each) }")));
    let items: Vec<Json> = (0..1000).map(|i| json!(i)).collect();
    let mut activations = vec![activation(0, vec![init(json!({"items": items}))])];
    // Drive a run to learn which seq each activation resolves (oldest in flight first).
    let mut run = Run::new(program.clone());
    let mut in_flight = VecDeque::new();
    schedule(&mut run, &activations[0], &mut in_flight);
    let mut n = 1;
    while let Some(seq) = in_flight.pop_front() {
        let a = activation(n, vec![ok(seq, json!({"seq": seq}))]);
        schedule(&mut run, &a, &mut in_flight);
        activations.push(a);
        n += 1;
    }
    (program, activations)
}

/// Applies an activation and queues the seqs of the activities it scheduled.
fn schedule(run: &mut Run, a: &WorkflowActivation, in_flight: &mut VecDeque<u32>) {
    if let Outcome::Commands(commands) = run.activate(a) {
        for c in commands {
            if let Some(Variant::ScheduleActivity(s)) = c.variant {
                in_flight.push_back(s.seq);
            }
        }
    }
}

fn replay(program: &Arc<Workflow>, activations: &[WorkflowActivation]) -> usize {
    let mut run = Run::new(program.clone());
    let mut commands = 0;
    for a in activations {
        if let Outcome::Commands(c) = run.activate(a) {
            commands += c.len();
        }
    }
    commands
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("interpreter");
    let (program, activations) = sequence_100();
    assert_eq!(
        replay(&program, &activations),
        101,
        "sequence_100 must complete"
    );
    group.throughput(Throughput::Elements(activations.len() as u64));
    group.bench_function("sequence_100", |b| {
        b.iter(|| replay(black_box(&program), black_box(&activations)))
    });

    let (program, activations) = foreach_1000();
    assert_eq!(
        replay(&program, &activations),
        2001,
        "foreach_1000 must complete"
    );
    group.throughput(Throughput::Elements(activations.len() as u64));
    group.sample_size(20);
    group.bench_function("foreach_1000", |b| {
        b.iter(|| replay(black_box(&program), black_box(&activations)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
