//! Update handlers that run steps, in the virtual-time simulator: the caller's answer waits
//! for the handler's activities; a failing step fails the update, not the run (a `wait` sees
//! the update once its handler ends, either way); a run whose body ends waits for its
//! handlers (taking no new update); a failing or cancelled run rejects them.

mod sim_support;

use serde_json::{Value as Json, json};
use sim_support::*;
use stave::runtime::sim::{Event, SimResult};

const CART: &str = r#"
stave: 1
workflow: cart
vars: { paid: false, status: open }
defaults:
  timeout: 1m
updates:
  pay:
    validate: "${ !vars.paid }"
    message: already paid
    set: { status: paying }
    steps:
      - id: charge
        activity: payments.charge
        input: { amount: "${ update.amount }" }
        retry: { max_attempts: 1 }
      - set: { paid: true, status: paid }
      - if: "${ steps.charge.amount > 100 }"
        steps:
          - return: "${ 'big ' + steps.charge.id }"
    result: "${ steps.charge.id }"
queries:
  status: "${ vars.status }"
steps:
  - id: payment
    wait: { signal: pay, until: "${ vars.paid }", timeout: 1h, on_timeout: continue }
  - sleep: 10s
output: "${ {'paid': vars.paid, 'status': vars.status, 'payment': steps.payment} }"
"#;

fn update(name: &str, payload: Json) -> Event {
    Event::Update {
        name: name.to_owned(),
        payload,
    }
}

fn answers(result: &SimResult) -> Vec<(&str, Result<Json, String>)> {
    result
        .updates
        .iter()
        .map(|u| (u.name.as_str(), u.result.clone()))
        .collect()
}

#[test]
fn the_answer_waits_for_the_handlers_activity_and_the_body_runs_meanwhile() {
    let sim = simulator(&[CART]);
    let mut c = case("cart", json!({}));
    c.events = vec![
        at(60_000, update("pay", json!({"amount": 50}))),
        at(62_000, query("status")),
        at(70_000, query("status")),
    ];
    let mut mocks = Script::default().on(
        "charge",
        vec![ok(json!({"id": "ch_1", "amount": 50}), 5_000)],
    );
    let result = sim.run(&c, &mut mocks);
    assert_eq!(answers(&result), vec![("pay", Ok(json!("ch_1")))]);
    // `set` applies at acceptance; the handler's `set` step after the activity.
    let statuses: Vec<Result<Json, String>> =
        result.queries.iter().map(|q| q.result.clone()).collect();
    assert_eq!(statuses, vec![Ok(json!("paying")), Ok(json!("paid"))]);
    // The wait on `pay` ends when the update completes (65s), then the 10s sleep.
    assert_eq!(result.virtual_ms, 75_000);
    assert_eq!(
        completed(&result),
        json!({"paid": true, "status": "paid", "payment": {"amount": 50}})
    );
    assert_eq!(starts(&result), vec![("charge".to_string(), 1, 60_000)]);
}

#[test]
fn a_return_among_the_steps_answers_early() {
    let sim = simulator(&[CART]);
    let mut c = case("cart", json!({}));
    c.events = vec![at(1_000, update("pay", json!({"amount": 500})))];
    let mut mocks =
        Script::default().on("charge", vec![ok(json!({"id": "ch_9", "amount": 500}), 0)]);
    let result = sim.run(&c, &mut mocks);
    assert_eq!(answers(&result), vec![("pay", Ok(json!("big ch_9")))]);
    assert_eq!(completed(&result)["paid"], json!(true));
}

#[test]
fn a_failing_step_fails_the_update_not_the_run() {
    let sim = simulator(&[CART]);
    let mut c = case("cart", json!({}));
    c.events = vec![
        at(60_000, update("pay", json!({"amount": 50}))),
        // The validator still passes: the failed payment set nothing but `status`.
        at(120_000, update("pay", json!({"amount": 60}))),
    ];
    let mut mocks = Script::default().queue(
        "charge",
        vec![
            err("CardDeclined", 1_000),
            ok(json!({"id": "ch_2", "amount": 60}), 1_000),
        ],
    );
    let result = sim.run(&c, &mut mocks);
    let got = answers(&result);
    assert!(
        matches!(&got[0], ("pay", Err(m)) if m == "CardDeclined: CardDeclined happened"),
        "{got:?}"
    );
    assert_eq!(got[1], ("pay", Ok(json!("ch_2"))));
    // The failed update reached the wait, whose `until` kept it waiting: the second one
    // ended it (at 121s).
    assert_eq!(result.virtual_ms, 131_000);
    assert_eq!(completed(&result)["payment"], json!({"amount": 60}));
}

const BRIEF: &str = r#"
stave: 1
workflow: brief
vars: { notes: 0 }
defaults:
  timeout: 10m
updates:
  note:
    steps:
      - id: store
        activity: storage.put
        input: { text: "${ update }" }
      - set: { notes: "${ vars.notes + 1 }" }
    result: "${ update }"
steps:
  - sleep: 1m
  - if: "${ input.fail }"
    steps:
      - fail: { type: Boom, message: the body failed }
output: "${ vars.notes }"
"#;

#[test]
fn a_body_that_ends_waits_for_the_handlers_in_flight_and_takes_no_new_update() {
    let sim = simulator(&[BRIEF]);
    let mut c = case("brief", json!({"fail": false}));
    c.events = vec![
        at(30_000, update("note", json!("a"))),
        at(40_000, update("note", json!("b"))),
        // The body ended at 1m; `a` and `b` are still storing.
        at(120_000, update("note", json!("c"))),
    ];
    let mut mocks = Script::default().queue(
        "store",
        vec![ok(json!(null), 300_000), ok(json!(null), 60_000)],
    );
    let result = sim.run(&c, &mut mocks);
    let got = answers(&result);
    assert_eq!(got[0], ("note", Ok(json!("a"))));
    assert_eq!(got[1], ("note", Ok(json!("b"))));
    assert!(
        matches!(&got[2], ("note", Err(m)) if m.contains("takes no new ones")),
        "{got:?}"
    );
    // Completes when the slower handler (30s + 5m) has answered, with both notes counted.
    assert_eq!(result.virtual_ms, 330_000);
    assert_eq!(completed(&result), json!(2));
}

#[test]
fn a_run_that_fails_rejects_the_updates_it_was_handling() {
    let sim = simulator(&[BRIEF]);
    let mut c = case("brief", json!({"fail": true}));
    c.events = vec![at(30_000, update("note", json!("a")))];
    let mut mocks = Script::default().on("store", vec![ok(json!(null), 300_000)]);
    let result = sim.run(&c, &mut mocks);
    let got = answers(&result);
    assert!(
        matches!(&got[0], ("note", Err(m)) if m.contains("the run failed before the update's handler finished")),
        "{got:?}"
    );
    assert_eq!(failed(&result).0, "Boom");
    assert_eq!(result.virtual_ms, 60_000);
}

#[test]
fn concurrent_handlers_keep_their_own_payloads() {
    let sim = simulator(&[BRIEF]);
    let mut c = case("brief", json!({"fail": false}));
    c.events = vec![
        at(1_000, update("note", json!("slow"))),
        at(2_000, update("note", json!("fast"))),
    ];
    let mut mocks = Script::default().queue(
        "store",
        vec![ok(json!(null), 20_000), ok(json!(null), 1_000)],
    );
    let result = sim.run(&c, &mut mocks);
    let inputs: Vec<Json> = mocks.calls.iter().map(|a| a.input.clone()).collect();
    assert_eq!(
        inputs,
        vec![json!({"text": "slow"}), json!({"text": "fast"})]
    );
    assert_eq!(
        answers(&result),
        vec![("note", Ok(json!("slow"))), ("note", Ok(json!("fast")))]
    );
    assert_eq!(completed(&result), json!(2));
    assert_eq!(result.virtual_ms, 60_000);
}

/// A loop that continues as new while an update is being handled: the run first waits for
/// the handler to answer, then continues; the new run goes on where the loop was.
const POLLER: &str = r#"
stave: 1
workflow: poller
continue_as_new_after: 20
vars: { n: 0, tag: none }
defaults:
  timeout: 1h
updates:
  retag:
    steps:
      - id: fetch
        activity: tags.fetch
        input: "${ update }"
      - set: { tag: "${ steps.fetch }" }
    result: "${ vars.tag }"
steps:
  - while: "${ vars.n < 10 }"
    max_iterations: 100
    steps:
      - activity: status.check
      - set: { n: "${ vars.n + 1 }" }
output: "${ {'n': vars.n, 'tag': vars.tag} }"
"#;

#[test]
fn continue_as_new_waits_for_the_handlers_in_flight() {
    let sim = simulator(&[POLLER]);
    let mut c = case("poller", json!(null));
    c.events = vec![at(1_500, update("retag", json!("blue")))];
    // Checks take 1s each; the handler's fetch takes 30s, past the point where the first
    // run would continue as new.
    let mut mocks = Script::default()
        .on("status.check", vec![ok(json!("up"), 1_000)])
        .on("fetch", vec![ok(json!("BLUE"), 30_000)]);
    let result = sim.run(&c, &mut mocks);
    assert_eq!(answers(&result), vec![("retag", Ok(json!("BLUE")))]);
    assert!(
        result.runs > 1,
        "{} runs\n{}",
        result.runs,
        result.trace.join("\n")
    );
    // The tag set by the handler travels with the continued run.
    assert_eq!(completed(&result), json!({"n": 10, "tag": "BLUE"}));
    // The first run ended only after the handler answered (31.5s).
    assert!(result.virtual_ms >= 31_500, "{}", result.virtual_ms);
}

#[test]
fn a_cancelled_run_rejects_the_updates_it_was_handling_and_cancels_their_steps() {
    let sim = simulator(&[BRIEF]);
    let mut c = case("brief", json!({"fail": false}));
    c.events = vec![
        at(10_000, update("note", json!("a"))),
        at(20_000, Event::Cancel),
    ];
    let mut mocks = Script::default().on("store", vec![ok(json!(null), 300_000)]);
    let result = sim.run(&c, &mut mocks);
    let got = answers(&result);
    assert!(
        matches!(&got[0], ("note", Err(m)) if m.contains("the run was cancelled before the update's handler finished")),
        "{got:?}"
    );
    assert!(
        matches!(result.status, stave::runtime::sim::SimStatus::Cancelled),
        "{:?}",
        result.status
    );
    assert_eq!(result.virtual_ms, 20_000);
    // The handler's activity in flight is cancelled with the run.
    assert!(
        result
            .trace
            .iter()
            .any(|l| l.contains("store") && l.contains("cancel")),
        "{}",
        result.trace.join("\n")
    );
}
