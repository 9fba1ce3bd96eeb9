//! Bounded state: long runs keep history and the state carried across continue-as-new under
//! fixed bounds — a 10,000-item `foreach` and a 100,000-signal loop, driven through the real
//! interpreter by a small in-test driver that follows continue-as-new like a server would.

use std::sync::Arc;

use serde_json::{Value as Json, json};
use stave::ir::Workflow;
use stave::runtime::interpreter::{CARRY_HEADER, Outcome, Run};
use stave::runtime::payload;
use temporalio_common::protos::coresdk::{
    activity_result::{self, ActivityResolution, activity_resolution},
    workflow_activation::{
        InitializeWorkflow, ResolveActivity, SignalWorkflow, WorkflowActivation,
        WorkflowActivationJob, workflow_activation_job::Variant as Job,
    },
    workflow_commands::workflow_command::Variant,
};
use temporalio_common::protos::temporal::api::common::v1::Payload;

fn compile(text: &str) -> Arc<Workflow> {
    let context = stave::project::ProjectContext::default();
    let (_, ir, diagnostics) = stave::check::compile_source("bounded.stave.yaml", text, &context);
    let errors: Vec<&str> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.as_str())
        .collect();
    Arc::new(ir.unwrap_or_else(|| panic!("does not compile: {errors:?}")))
}

/// What one run of a chain looked like.
#[derive(Debug)]
struct RunTally {
    /// History length when the run ended (as the driver counts events).
    history: u32,
    /// Bytes of the state it carried into the next run (0 for the last run).
    carried_bytes: usize,
}

/// Drives a chain of runs of one program: each activation answers every scheduled activity
/// with `answer(input)` and delivers the next `signals_per_activation` signals; history grows
/// as a server's would (3 events per workflow task, 1 per command, 2 per activity result, 1
/// per signal). Continue-as-new starts the next run with the command's arguments and headers.
struct Driver {
    program: Arc<Workflow>,
    signals: Vec<(String, Json)>,
    signals_per_activation: usize,
}

struct Chain {
    runs: Vec<RunTally>,
    output: Json,
    activity_inputs: Vec<Json>,
}

impl Driver {
    fn run(&mut self, input: Json, answer: impl Fn(&Json) -> Json) -> Chain {
        let mut runs = Vec::new();
        let mut activity_inputs = Vec::new();
        let mut arguments = vec![payload::encode(&input)];
        let mut headers = std::collections::HashMap::new();
        let mut signals = std::mem::take(&mut self.signals).into_iter();
        let mut activations = 0u64;
        loop {
            let mut run = Run::new(self.program.clone());
            let mut history = 2u32; // started, first task scheduled
            let mut jobs = vec![Job::InitializeWorkflow(InitializeWorkflow {
                workflow_type: self.program.name.clone(),
                workflow_id: "bounded-1".into(),
                arguments: arguments.clone(),
                headers: headers.clone(),
                randomness_seed: 7,
                attempt: 1,
                ..Default::default()
            })];
            let ended = loop {
                activations += 1;
                assert!(activations < 2_000_000, "the chain does not end");
                history += 3;
                let activation = WorkflowActivation {
                    run_id: format!("run-{}", runs.len()),
                    history_length: history,
                    jobs: jobs
                        .drain(..)
                        .map(|j| WorkflowActivationJob { variant: Some(j) })
                        .collect(),
                    ..Default::default()
                };
                let commands = match run.activate(&activation) {
                    Outcome::Commands(c) => c,
                    Outcome::TaskFailure(m) => panic!("task failure: {m}"),
                };
                history += commands.len() as u32;
                let mut end = None;
                for command in commands {
                    match command.variant {
                        Some(Variant::ScheduleActivity(s)) => {
                            let input = decode(&s.arguments[0]);
                            let result = answer(&input);
                            activity_inputs.push(input);
                            history += 2;
                            jobs.push(Job::ResolveActivity(ResolveActivity {
                                seq: s.seq,
                                result: Some(ActivityResolution {
                                    status: Some(activity_resolution::Status::Completed(
                                        activity_result::Success {
                                            result: Some(payload::encode(&result)),
                                        },
                                    )),
                                }),
                                is_local: false,
                            }));
                        }
                        Some(other) => end = end.or(terminal(other)),
                        None => {}
                    }
                }
                if let Some(end) = end {
                    break end;
                }
                for (name, payload) in signals.by_ref().take(self.signals_per_activation) {
                    history += 1;
                    jobs.push(Job::SignalWorkflow(SignalWorkflow {
                        signal_name: name,
                        input: vec![payload::encode(&payload)],
                        ..Default::default()
                    }));
                }
                assert!(
                    !jobs.is_empty(),
                    "the run waits for nothing the driver sends"
                );
            };
            match ended {
                End::Completed(output) => {
                    runs.push(RunTally {
                        history,
                        carried_bytes: 0,
                    });
                    return Chain {
                        runs,
                        output,
                        activity_inputs,
                    };
                }
                End::ContinuedAsNew(args, next_headers) => {
                    let carried = next_headers.get(CARRY_HEADER).map_or(0, |p| p.data.len());
                    runs.push(RunTally {
                        history,
                        carried_bytes: carried,
                    });
                    arguments = args;
                    headers = next_headers;
                }
            }
        }
    }
}

enum End {
    Completed(Json),
    ContinuedAsNew(Vec<Payload>, std::collections::HashMap<String, Payload>),
}

fn terminal(command: Variant) -> Option<End> {
    match command {
        Variant::CompleteWorkflowExecution(c) => Some(End::Completed(
            c.result.as_ref().map(decode).unwrap_or(Json::Null),
        )),
        Variant::ContinueAsNewWorkflowExecution(c) => {
            Some(End::ContinuedAsNew(c.arguments, c.headers))
        }
        Variant::FailWorkflowExecution(f) => panic!("the run failed: {:?}", f.failure),
        _ => None,
    }
}

fn decode(p: &Payload) -> Json {
    payload::decode(p).unwrap_or_else(|e| panic!("undecodable payload: {e}"))
}

const FOREACH: &str = r#"stave: 1
workflow: bounded-foreach
continue_as_new_after: 2000
defaults: { timeout: 10s }
steps:
  - foreach: "${ input.items }"
    as: item
    concurrency: 20
    steps:
      - { activity: work, input: { n: "${ item }" } }
output: "done"
"#;

/// 10,000 items: every item runs once, every run's history stays under the threshold plus
/// one batch, and the carried state shrinks (only items not started travel, no results).
#[test]
fn a_10000_item_foreach_keeps_history_and_carried_state_bounded() {
    let items: Vec<Json> = (0..10_000).map(Json::from).collect();
    let mut driver = Driver {
        program: compile(FOREACH),
        signals: Vec::new(),
        signals_per_activation: 0,
    };
    let chain = driver.run(json!({ "items": items }), |input| input["n"].clone());
    assert_eq!(chain.output, json!("done"));
    let seen: Vec<i64> = chain
        .activity_inputs
        .iter()
        .map(|i| i["n"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(
        seen,
        (0..10_000).collect::<Vec<i64>>(),
        "each item once, in order"
    );
    // One batch past the threshold: 20 activities × 3 events + a task + 20 commands.
    let bound = 2000 + 20 * 3 + 3 + 20 + 3;
    let histories: Vec<u32> = chain.runs.iter().map(|r| r.history).collect();
    assert!(histories.iter().all(|h| *h <= bound), "{histories:?}");
    assert!(
        chain.runs.len() >= 10,
        "continued {} times",
        chain.runs.len()
    );
    let carried: Vec<usize> = chain.runs.iter().map(|r| r.carried_bytes).collect();
    assert!(
        carried.windows(2).all(|w| w[1] <= w[0]),
        "the carried state must shrink run after run: {carried:?}"
    );
    // The first carry holds at most the remaining list (≈ 6 bytes per item) plus a fixed part.
    assert!(carried[0] < 60_000 + 2_000, "{carried:?}");
    println!(
        "10,000-item foreach: {} runs, max history {}, carried bytes first {} last {}",
        chain.runs.len(),
        histories.iter().max().unwrap_or(&0),
        carried[0],
        carried[carried.len() - 2]
    );
}

const SIGNALS: &str = r#"stave: 1
workflow: bounded-signals
continue_as_new_after: 1000
vars: { count: 0, last: null }
signals:
  tick: { set: { last: "${ signal }" } }
steps:
  - while: "${ vars.count < 100000 }"
    max_iterations: 1000000
    steps:
      - wait: { signal: tick }
      - set: { count: "${ vars.count + 1 }" }
output: "${ {'count': vars.count, 'last': vars.last} }"
"#;

/// 100,000 signals of a waited name, interleaved with 100,000 of a name nothing waits for:
/// every tick is counted, no run's history passes the threshold by more than one iteration,
/// and the carried state stays the same size from the first continuation to the last.
#[test]
fn a_100000_signal_run_keeps_history_and_carried_state_bounded() {
    let signals: Vec<(String, Json)> = (0..100_000)
        .flat_map(|i| {
            [
                ("tick".to_string(), json!(i)),
                ("noise".to_string(), json!(i)),
            ]
        })
        .collect();
    let mut driver = Driver {
        program: compile(SIGNALS),
        signals,
        signals_per_activation: 2,
    };
    let chain = driver.run(json!(null), |_| Json::Null);
    assert_eq!(chain.output, json!({"count": 100_000, "last": 99_999}));
    let histories: Vec<u32> = chain.runs.iter().map(|r| r.history).collect();
    assert!(histories.iter().all(|h| *h <= 1000 + 20), "{histories:?}");
    let carried: Vec<usize> = chain.runs[..chain.runs.len() - 1]
        .iter()
        .map(|r| r.carried_bytes)
        .collect();
    let (min, max) = (
        carried.iter().min().copied().unwrap_or(0),
        carried.iter().max().copied().unwrap_or(0),
    );
    assert!(max < 1_000, "carried state {min}..{max} bytes");
    assert!(
        max - min < 16,
        "carried state must not grow: {min}..{max} bytes"
    );
    println!(
        "100,000 signals: {} runs, max history {}, carried {min}..{max} bytes",
        chain.runs.len(),
        histories.iter().max().unwrap_or(&0),
    );
}
