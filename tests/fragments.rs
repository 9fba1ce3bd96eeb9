//! Several workflows per file and shared fragments: both forms, expansion at lowering (the IR
//! and pin of a workflow written with fragments are those of the same workflow written out),
//! and the diagnostics of names, cycles and ids.

use stave::check;
use stave::diagnostics::render::{Style, render_human};
use stave::diagnostics::{Code, FileId, Sources};
use stave::ir;
use stave::project::ProjectContext;
use stave::syntax::ast::{File, Fragment, Step, StepKind};
use stave::syntax::{print_yaml, yaml};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn context() -> ProjectContext {
    let mut sources = Sources::default();
    let mut diagnostics = Vec::new();
    check::load_project_context(root(), &mut sources, &mut diagnostics)
}

/// Compiles `src` as the file `path` of the sample project; panics on errors.
fn compile(path: &str, src: &str) -> Vec<ir::Workflow> {
    let (sources, irs, diagnostics) = check::compile_source_all(path, src, &context());
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| render_human(&sources, d, Style::default()))
        .collect();
    assert!(errors.is_empty(), "{path}:\n{src}\n{}", errors.join("\n"));
    irs
}

/// The diagnostics of `src`, rendered, and their codes.
fn diagnose(path: &str, src: &str) -> (Vec<Code>, String) {
    let (sources, _, diagnostics) = check::compile_source_all(path, src, &context());
    let rendered = diagnostics
        .iter()
        .map(|d| render_human(&sources, d, Style::default()))
        .collect();
    (diagnostics.iter().map(|d| d.code).collect(), rendered)
}

const ORDERS_YAML: &str = r#"stave: 1
fragments:
  fulfil:
    - id: charge
      activity: payments.charge
      input: { order_id: "${ input.order_id }", amount: "${ input.amount }", card: "${ input.card }" }
    - use: notify
  notify:
    - activity: email.send
      input: { to: "${ input.email }", template: "${ vars.template }" }
workflows:
  - workflow: order-standard
    queue: standard
    vars: { template: receipt }
    defaults: { timeout: 30s, retry: { max_attempts: 3 } }
    steps:
      - use: fulfil
    output: "${ steps.charge }"
  - workflow: order-express
    queue: high-priority
    vars: { template: express-receipt }
    defaults: { timeout: 10s, retry: { max_attempts: 5 } }
    steps:
      - use: fulfil
      - id: notified
        if: "${ input.amount > 100 }"
        use: notify
    output: "${ steps.charge }"
"#;

const ORDERS_TEXT: &str = r#"stave 1

fragment fulfil {
  step charge = payments.charge(order_id: input.order_id, amount: input.amount, card: input.card)
  use notify
}

fragment notify {
  email.send(to: input.email, template: vars.template)
}

workflow order-standard on queue standard {
  var template = "receipt"
  defaults { timeout 30s retry { max_attempts 3 } }
  use fulfil
  output steps.charge
}

workflow order-express on queue high-priority {
  var template = "express-receipt"
  defaults { timeout 10s retry { max_attempts 5 } }
  use fulfil
  step notified = use notify when input.amount > 100
  output steps.charge
}
"#;

/// The same two workflows written out by hand.
const ORDERS_BY_HAND: [&str; 2] = [
    r#"stave: 1
workflow: order-standard
queue: standard
vars: { template: receipt }
defaults: { timeout: 30s, retry: { max_attempts: 3 } }
steps:
  - id: charge
    activity: payments.charge
    input: { order_id: "${ input.order_id }", amount: "${ input.amount }", card: "${ input.card }" }
  - activity: email.send
    input: { to: "${ input.email }", template: "${ vars.template }" }
output: "${ steps.charge }"
"#,
    r#"stave: 1
workflow: order-express
queue: high-priority
vars: { template: express-receipt }
defaults: { timeout: 10s, retry: { max_attempts: 5 } }
steps:
  - id: charge
    activity: payments.charge
    input: { order_id: "${ input.order_id }", amount: "${ input.amount }", card: "${ input.card }" }
  - activity: email.send
    input: { to: "${ input.email }", template: "${ vars.template }" }
  - id: notified
    if: "${ input.amount > 100 }"
    steps:
      - activity: email.send
        input: { to: "${ input.email }", template: "${ vars.template }" }
output: "${ steps.charge }"
"#,
];

#[test]
fn both_forms_define_the_same_workflows() {
    let from_yaml = compile("orders.stave.yaml", ORDERS_YAML);
    let from_text = compile("orders.stave", ORDERS_TEXT);
    let names: Vec<&str> = from_yaml.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["order-standard", "order-express"]);
    assert_eq!(from_yaml.len(), from_text.len());
    for (y, t) in from_yaml.iter().zip(&from_text) {
        assert_eq!(y.canonical_json(), t.canonical_json(), "{}", y.name);
        assert_eq!(y.hash, t.hash);
    }
    assert_eq!(from_yaml[0].task_queue, "project-ai-standard");
    assert_eq!(from_yaml[1].task_queue, "project-ai-high-priority");
}

#[test]
fn a_workflow_written_with_fragments_is_the_workflow_written_out() {
    let shared = compile("orders.stave.yaml", ORDERS_YAML);
    for (with_fragments, by_hand) in shared.iter().zip(ORDERS_BY_HAND) {
        let by_hand = compile("by-hand.stave.yaml", by_hand).remove(0);
        assert_eq!(with_fragments.canonical_json(), by_hand.canonical_json());
        assert_eq!(with_fragments.hash, by_hand.hash, "{}", by_hand.name);
    }
}

/// Every sample workflow, its steps moved into fragments (the first half in one, the rest in
/// another that the first uses, the whole used through a third), compiles to exactly its IR
/// and pin.
#[test]
fn moving_steps_into_fragments_keeps_every_sample_s_ir_and_pin() {
    let mut checked = 0;
    for path in check::workflow_files(&root().join("workflows")).expect("samples") {
        if !path.to_string_lossy().ends_with(".stave.yaml") {
            continue;
        }
        let src = std::fs::read_to_string(&path).expect("read sample");
        let name = path.to_string_lossy().into_owned();
        let original = compile(&name, &src);
        let (parsed, _) = yaml::load(FileId(0), &src);
        let mut file: File = parsed.expect("a file");
        let steps = std::mem::take(&mut file.workflows[0].steps);
        let half = steps.len() / 2;
        let (head, tail) = steps.split_at(half);
        let uses = |name: &str| Step {
            id: None,
            when: None,
            kind: StepKind::Use(stave::diagnostics::Spanned::new(
                name.to_string(),
                Default::default(),
            )),
            span: Default::default(),
        };
        let fragment = |name: &str, steps: Vec<Step>| Fragment {
            name: stave::diagnostics::Spanned::new(name.to_string(), Default::default()),
            steps,
            span: Default::default(),
        };
        let mut first = head.to_vec();
        first.push(uses("rest"));
        file.fragments = vec![
            fragment("first", first),
            fragment("rest", tail.to_vec()),
            fragment("all", vec![uses("first")]),
        ];
        file.workflows[0].steps = vec![uses("all")];
        let rewritten = print_yaml::print_yaml(&file);
        let shared = compile(&name, &rewritten);
        assert_eq!(
            original[0].canonical_json(),
            shared[0].canonical_json(),
            "{name}:\n{rewritten}"
        );
        assert_eq!(original[0].hash, shared[0].hash, "{name}");
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} samples");
}

#[test]
fn editing_a_fragment_changes_the_pins_of_exactly_the_workflows_that_use_it() {
    let before = compile("orders.stave.yaml", ORDERS_YAML);
    let edited = ORDERS_YAML.replace("template: \"${ vars.template }\"", "template: fixed");
    let after = compile("orders.stave.yaml", &edited);
    assert_ne!(before[0].hash, after[0].hash);
    assert_ne!(before[1].hash, after[1].hash);
    // A fragment only the express workflow uses, edited: the standard one keeps its pin.
    let only_express = ORDERS_YAML
        .replace(
            "  notify:\n",
            "  notify:\n    - { activity: log, input: { message: hi } }\n",
        )
        .replace("    - use: notify\n", "");
    let a = compile("orders.stave.yaml", &only_express);
    let b = compile(
        "orders.stave.yaml",
        &only_express.replace("message: hi", "message: hello"),
    );
    assert_eq!(a[0].hash, b[0].hash, "order-standard does not use `notify`");
    assert_ne!(a[1].hash, b[1].hash);
}

#[test]
fn unknown_fragments_get_a_did_you_mean_in_both_forms() {
    let (codes, text) = diagnose(
        "orders.stave",
        &ORDERS_TEXT.replace("  use fulfil\n  output", "  use fulfill\n  output"),
    );
    assert!(codes.contains(&Code::E052), "{text}");
    assert!(text.contains("did you mean `fulfil`?"), "{text}");
}

#[test]
fn a_cycle_is_reported_once_with_its_path() {
    let src = "stave 1\nfragment a { use b }\nfragment b { use c }\nfragment c { use a }\nworkflow w { use a }\nworkflow v { use b }\n";
    let (codes, text) = diagnose("cycle.stave", src);
    assert_eq!(codes, [Code::E053], "{text}");
    assert!(text.contains("a → b → c → a"), "{text}");
}

#[test]
fn a_fragment_s_ids_colliding_with_the_workflow_s_point_at_the_use() {
    let src = ORDERS_TEXT.replace(
        "  use fulfil\n  step notified",
        "  step charge = log(message: \"early\")\n  use fulfil\n  step notified",
    );
    let (codes, text) = diagnose("orders.stave", &src);
    assert_eq!(codes, [Code::E034], "{text}");
    assert!(
        text.contains("in workflow `order-express`, inserted by `use fulfil`"),
        "{text}"
    );
    // The same fragment used twice with ids is the same collision.
    let twice = ORDERS_TEXT.replace(
        "  use fulfil\n  output",
        "  use fulfil\n  use fulfil\n  output",
    );
    let (codes, _) = diagnose("orders.stave", &twice);
    assert_eq!(codes, [Code::E034]);
}

#[test]
fn a_mistake_in_a_fragment_is_reported_once_for_the_workflow_that_makes_it() {
    // `vars.template` exists in one workflow only.
    let src = ORDERS_TEXT.replace("  var template = \"express-receipt\"\n", "");
    let (codes, text) = diagnose("orders.stave", &src);
    assert_eq!(codes, [Code::E013], "{text}");
    assert!(
        text.contains("in workflow `order-express`, inserted by `use fulfil`"),
        "{text}"
    );
}

#[test]
fn a_workflow_defined_twice_in_one_file_is_e046() {
    let src = "stave 1\nworkflow w { sleep 1s }\nworkflow w { sleep 2s }\n";
    let (codes, text) = diagnose("twice.stave", src);
    assert_eq!(codes, [Code::E046], "{text}");
    assert!(text.contains("defined twice in this file"), "{text}");
    let yaml =
        "stave: 1\nworkflows:\n  - { workflow: w, steps: [] }\n  - { workflow: w, steps: [] }\n";
    assert_eq!(diagnose("twice.stave.yaml", yaml).0, [Code::E046]);
}

#[test]
fn a_file_with_workflows_holds_no_workflow_keys_at_the_top() {
    let yaml = "stave: 1\nqueue: standard\nworkflows:\n  - { workflow: w, steps: [] }\n";
    let (codes, text) = diagnose("top.stave.yaml", yaml);
    assert_eq!(codes, [Code::E005], "{text}");
    let empty = "stave: 1\nworkflows: []\n";
    assert_eq!(diagnose("empty.stave.yaml", empty).0, [Code::E006]);
}
