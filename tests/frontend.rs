//! Front-end tests: samples lint clean and compile to stable IR; every diagnostic code has a
//! fixture that fires it and one that does not; rendered diagnostics are snapshotted.

use stave::check;
use stave::cli::lint::lint_paths;
use stave::diagnostics::render::{Style, render_human};
use stave::diagnostics::{Code, Severity};
use stave::project::ProjectContext;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs a test from the crate root so that paths in messages are relative and stable.
fn in_root() {
    std::env::set_current_dir(root()).expect("crate root");
}

#[test]
fn samples_lint_clean() {
    in_root();
    let report = lint_paths(&[PathBuf::from("workflows")]);
    let rendered: Vec<String> = report
        .diagnostics
        .iter()
        .map(|d| render_human(&report.sources, d, Style::default()))
        .collect();
    assert!(
        report.files >= 7,
        "expected the samples, found {} files",
        report.files
    );
    assert!(
        rendered.is_empty(),
        "samples must lint clean:\n{}",
        rendered.join("\n")
    );
}

#[test]
fn samples_compile_to_stable_ir() {
    in_root();
    let load = check::load_project(Path::new("."));
    let problems: Vec<String> = load
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| render_human(&load.sources, d, Style::default()))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let bundle = load.bundle.expect("a bundle");
    let mut names: Vec<&str> = bundle.workflows.iter().map(|w| w.name.as_str()).collect();
    names.sort();
    for expected in [
        "ai-inference",
        "data-analysis",
        "fraud-review",
        "image-generation",
        "learning-path",
        "nightly-cleanup",
        "order-fulfilment",
        "scheduled-report",
    ] {
        assert!(
            names.contains(&expected),
            "missing sample {expected}: {names:?}"
        );
    }
    for wf in &bundle.workflows {
        assert_eq!(
            wf.hash,
            wf.compute_hash(),
            "{}: hash must match the content",
            wf.name
        );
        // The IR round-trips through JSON unchanged.
        let json = serde_json::to_string(wf).expect("serialise");
        let back: stave::ir::Workflow = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(
            serde_json::to_value(&back).ok(),
            serde_json::to_value(wf).ok()
        );
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_suffix(wf.name.clone());
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_json_snapshot!("ir", wf.canonical_json()));
    }
}

#[test]
fn child_workflows_are_routed_to_their_own_queue() {
    in_root();
    let bundle = check::load_project(Path::new(".")).bundle.expect("bundle");
    let order = bundle
        .workflows
        .iter()
        .find(|w| w.name == "order-fulfilment")
        .expect("order");
    let mut child_queue = None;
    order.walk(&mut |s| {
        if let stave::ir::StepKind::Child(c) = &s.kind {
            child_queue = Some(c.task_queue.clone());
        }
    });
    assert_eq!(child_queue.as_deref(), Some("project-ai-standard"));
}

fn fixture_dir() -> PathBuf {
    PathBuf::from("tests/fixtures/lint")
}

/// The project of the test-file fixtures (E080–E089, `stave test`).
fn test_fixture_dir() -> PathBuf {
    PathBuf::from("tests/fixtures/testfiles")
}

/// The fixture that should fire `code`: `CODE.stave.yaml`, `CODE.stave`, a `CODE/` project,
/// or a test file `CODE.test.yaml`.
fn firing_fixture(code: Code) -> Option<PathBuf> {
    let base = fixture_dir();
    [
        format!("{code}.stave.yaml"),
        format!("{code}.stave"),
        code.to_string(),
    ]
    .into_iter()
    .map(|n| base.join(n))
    .chain([test_fixture_dir().join(format!("{code}.test.yaml"))])
    .find(|p| p.exists())
}

fn quiet_fixture(code: Code) -> Option<PathBuf> {
    let base = fixture_dir();
    [format!("{code}.ok.stave.yaml"), format!("{code}.ok.stave")]
        .into_iter()
        .map(|n| base.join(n))
        .chain([test_fixture_dir().join(format!("{code}.ok.test.yaml"))])
        .find(|p| p.exists())
}

/// Diagnostics of a fixture: lint for workflow files, the `stave test` checks for test files.
fn diagnose(path: &std::path::Path) -> stave::cli::lint::Report {
    if !path.to_string_lossy().ends_with(".test.yaml") {
        return lint_paths(&[path.to_path_buf()]);
    }
    let mut project = stave::check::load_project(&test_fixture_dir());
    assert!(!project.has_errors(), "{:?}", project.diagnostics);
    let suite = stave::testing::load(&mut project, &[path.to_path_buf()]);
    stave::cli::lint::Report {
        sources: project.sources,
        diagnostics: suite.diagnostics,
        files: 1,
    }
}

#[test]
fn every_code_has_a_firing_and_a_quiet_fixture() {
    in_root();
    let mut missing = Vec::new();
    for &code in Code::ALL {
        let Some(fire) = firing_fixture(code) else {
            missing.push(format!("{code}: no fixture that fires it"));
            continue;
        };
        let report = diagnose(&fire);
        let fired: Vec<&stave::diagnostics::Diagnostic> = report
            .diagnostics
            .iter()
            .filter(|d| d.code == code)
            .collect();
        assert!(
            !fired.is_empty(),
            "{} does not fire {code}; got {:?}",
            fire.display(),
            report
                .diagnostics
                .iter()
                .map(|d| d.code)
                .collect::<Vec<_>>()
        );
        let rendered: String = report
            .diagnostics
            .iter()
            .map(|d| {
                render_human(
                    &report.sources,
                    d,
                    Style {
                        color: false,
                        width: 100,
                    },
                )
            })
            .collect();
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_suffix(code.to_string());
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!("diagnostic", rendered));

        let Some(quiet) = quiet_fixture(code) else {
            missing.push(format!("{code}: no `.ok` fixture that does not fire it"));
            continue;
        };
        let report = diagnose(&quiet);
        let codes: Vec<Code> = report.diagnostics.iter().map(|d| d.code).collect();
        assert!(!codes.contains(&code), "{} fires {code}", quiet.display());
        assert!(
            codes.iter().all(|c| c.severity() == Severity::Warning)
                || code.as_str().starts_with('E'),
            "{}: {codes:?}",
            quiet.display()
        );
        assert!(
            !codes.iter().any(|c| c.severity() == Severity::Error),
            "{} should be clean, got {codes:?}",
            quiet.display()
        );
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn every_code_has_a_full_page() {
    for &code in Code::ALL {
        let page = code.page();
        for section in ["## What", "## Why", "## Example", "## Fix"] {
            assert!(page.contains(section), "{code} lacks `{section}`");
        }
        assert!(!code.title().is_empty());
    }
}

#[test]
fn diagnostics_point_at_the_exact_place() {
    in_root();
    let report = lint_paths(&[fixture_dir().join("E030.stave.yaml")]);
    let d = report
        .diagnostics
        .iter()
        .find(|d| d.code == Code::E030)
        .expect("E030");
    assert_eq!(
        report.sources.locate(d.span()),
        "tests/fixtures/lint/E030.stave.yaml:9:15"
    );
    assert_eq!(d.help.as_deref(), Some("did you mean `payments.charge`?"));
}

#[test]
fn a_field_missing_from_an_output_schema_is_an_error() {
    let mut sources = stave::diagnostics::Sources::default();
    let mut diags = Vec::new();
    let context = check::load_project_context(
        &root().join("tests/fixtures/lint"),
        &mut sources,
        &mut diags,
    );
    assert!(diags.is_empty());
    let text = "stave: 1\nworkflow: x\nqueue: standard\ndefaults: { timeout: 5s, retry: { max_attempts: 1 } }\nsteps:\n  - id: charge\n    activity: payments.charge\n    input: { order_id: a, amount: 1, card: c }\noutput: \"${ steps.charge.idd }\"\n";
    let (_, ir, diags) = check::compile_source("x.stave.yaml", text, &context);
    assert!(ir.is_none());
    assert!(
        diags
            .iter()
            .any(|d| d.is_error() && d.message.contains("idd")),
        "{diags:?}"
    );
}

#[test]
fn lint_without_a_project_still_checks_the_file() {
    let context = ProjectContext::default();
    let text = "stave: 1\nworkflow: lonely\nsteps:\n  - { activity: anything, timeout: 5s, retry: { max_attempts: 2 } }\n";
    let (_, ir, diags) = check::compile_source("lonely.stave.yaml", text, &context);
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
    assert_eq!(ir.expect("ir").task_queue, "default");
}

#[test]
fn malformed_input_never_panics() {
    let context = ProjectContext::default();
    let long = "a: ".repeat(2000);
    for text in [
        "",
        "\u{0}",
        "[",
        "{a: 1",
        "- - - -",
        "steps: !!binary aGk=",
        "stave: 1\nworkflow: x\nsteps:\n  - if: \"${ ( }\"\n    sleep: 1s\n",
        "stave: 1\nworkflow: x\nsteps: [ { sleep: \"${\" } ]",
        "&a [*a]",
        long.as_str(),
        "workflow: x\nsteps: [ { foreach: 1 } ]",
    ] {
        let _ = check::compile_source("bad.stave.yaml", text, &context);
    }
}

/// docs/language.md lists exactly the error types Stave raises (`ir::errors`).
#[test]
fn the_language_doc_lists_the_error_types_stave_raises() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/language.md"))
            .expect("docs/language.md");
    let row = doc
        .lines()
        .find(|l| l.starts_with("| error types Stave raises |"))
        .expect("the row of error types");
    let listed: Vec<&str> = row
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|t| !t.contains('/') && !t.contains('.'))
        .collect();
    let known: Vec<&str> = stave::ir::errors::RAISED_BY_STAVE.to_vec();
    assert_eq!(listed[..known.len()], known[..], "{row}");
}

/// A condition that can never be a bool, a forgotten `${ }`, and a `foreach` over something
/// that can never be a list are E014 at the value, in both forms — not a failed run later.
#[test]
fn conditions_and_lists_of_the_wrong_type_are_errors_in_both_forms() {
    let context = stave::project::ProjectContext::default();
    let yaml = r#"stave: 1
workflow: shapes
input: { type: object, required: [n, name], properties: { n: { type: integer }, name: { type: string } } }
vars: { count: 0, go: false }
signals:
  go: { set: { go: true } }
steps:
  - if: "${ input.n }"
    set: { count: 1 }
  - if: "input.n > 3"
    set: { count: 2 }
  - while: "${ vars.count + 1 }"
    max_iterations: 3
    steps: [ { set: { count: 3 } } ]
  - foreach: "${ input.name }"
    concurrency: 2
    steps: [ { set: { count: 4 } } ]
  - wait: { signal: go, until: "${ input.n }" }
  - switch:
      - when: "${ input.name }"
        steps: []
  - if: "${ input.n > 3 && vars.go }"
    set: { count: 5 }
  - foreach: "${ [1, 2] }"
    steps: []
"#;
    let (sources, _, diagnostics) =
        stave::check::compile_source("shapes.stave.yaml", yaml, &context);
    let found: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.code == Code::E014)
        .map(|d| format!("{} {}", sources.locate(d.span()), d.message))
        .collect();
    assert_eq!(
        found,
        [
            "shapes.stave.yaml:8:9 a condition must be a bool, but this is int",
            "shapes.stave.yaml:10:9 a condition must be a bool, but this is plain text",
            "shapes.stave.yaml:12:12 a `while` condition must be a bool, but this is int",
            "shapes.stave.yaml:15:14 what a `foreach` iterates over must be a list, but this is string",
            "shapes.stave.yaml:18:32 an `until` condition must be a bool, but this is int",
            "shapes.stave.yaml:20:15 a switch case's condition must be a bool, but this is string",
        ],
        "{diagnostics:#?}"
    );
    let text = r#"stave 1

workflow shapes {
  input { n: integer }
  var count = 0
  count = 1 when input.n
  for i in "abc" concurrency 2 {
    count = 2
  }
}
"#;
    let (_, _, diagnostics) = stave::check::compile_source("shapes.stave", text, &context);
    let messages: Vec<&str> = diagnostics
        .iter()
        .filter(|d| d.code == Code::E014)
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        messages,
        [
            "a condition must be a bool, but this is int",
            "what a `foreach` iterates over must be a list, but this is string"
        ],
        "{diagnostics:#?}"
    );
}

/// After a `try` whose every catch ends the run, the body surely ran: reading its result is
/// not W009. With a catch that completes normally, it may not have.
#[test]
fn a_try_whose_catches_all_fail_leaves_its_body_surely_run() {
    let context = stave::project::ProjectContext::default();
    let file = |catch_steps: &str| {
        format!(
            "stave: 1\nworkflow: t\ninput: {{ type: object }}\nsteps:\n  - try:\n      - {{ id: place, workflow: other, input: {{}} }}\n    catch:\n      - steps: {catch_steps}\n  - set: {{}}\noutput: \"${{ steps.place.id }}\"\n"
        )
    };
    let w009 = |catch_steps: &str| {
        let (_, _, diagnostics) =
            stave::check::compile_source("t.stave.yaml", &file(catch_steps), &context);
        diagnostics.iter().filter(|d| d.code == Code::W009).count()
    };
    assert_eq!(w009("[ { fail: { type: Down, message: down } } ]"), 0);
    assert_eq!(w009("[ { rethrow: true } ]"), 0);
    assert_eq!(w009("[]"), 1);
}

/// An unknown name's help lists what is in scope there (signal parameters, loop variables and
/// caught errors included), after a "did you mean" when one is close — in both forms. The
/// same for variables, signals and an activity's input fields.
#[test]
fn unknown_names_list_the_names_in_scope_in_both_forms() {
    let closed = |fields: &[&str]| {
        let properties: serde_json::Map<String, serde_json::Value> = fields
            .iter()
            .map(|f| (f.to_string(), serde_json::json!({ "type": "string" })))
            .collect();
        serde_json::json!({ "type": "object", "properties": properties, "additionalProperties": false })
    };
    let manifest = serde_json::json!({ "version": 1, "activities": [
        { "name": "payments.charge", "input": closed(&["order_id", "amount", "card"]),
          "output": { "type": "object", "properties": { "id": { "type": "string" } } } },
        { "name": "payments.refund", "input": closed(&["charge_id"]) },
    ] });
    let (_project, context) = project_with_manifest("names", &manifest);
    let yaml = r#"stave: 1
workflow: names
queue: standard
input: { type: object, required: [order_id, amount], properties: { order_id: { type: string }, amount: { type: number } } }
vars: { status: new, count: 0 }
signals:
  approve: { set: { status: "${ signal.note }" } }
  cancel: {}
defaults: { timeout: 10s, retry: { max_attempts: 3 } }
steps:
  - id: charge
    activity: payments.charge
    input: { order_id: "${ input.order_id }", amount: "${ input.amout }", card: visa, cvv: 1 }
  - set: { stauts: charged }
  - wait: { signal: aprove, timeout: 1h }
  - foreach: "${ [1, 2] }"
    as: item
    steps: [ { set: { count: "${ itme }" } } ]
  - try:
      - activity: payments.refund
        input: { charge_id: "${ steps.chrage.id }" }
    catch:
      - as: err
        steps: [ { set: { status: "${ erro.message }" } } ]
output: "${ nothing }"
"#;
    let text = r#"workflow names on queue standard {
  input { order_id: string, amount: number }
  var status = "new"
  var count = 0
  signal approve(by, note) { status = bye }
  signal cancel
  defaults { timeout 10s retry { max_attempts 3 } }
  step charge = payments.charge(order_id: input.order_id, amount: input.amout, card: "visa", cvv: 1)
  stauts = "charged"
  wait aprove timeout 1h
  for item in [1, 2] {
    count = itme
  }
  try {
    payments.refund(charge_id: steps.chrage.id)
  } catch as err {
    status = erro.message
  }
  output nothing
}
"#;
    let helps = |path: &str, src: &str| -> Vec<String> {
        let (_, _, diagnostics) = check::compile_source(path, src, &context);
        diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| format!("{:?}: {}", d.code, d.help.as_deref().unwrap_or("")))
            .collect()
    };
    let common = [
        "E031: its input fields are `amount`, `card`, `order_id`",
        "E013: did you mean `amount`? its fields are `amount`, `order_id`",
        "E036: did you mean `status`? the variables are `count`, `status`",
        "E035: did you mean `approve`? the signals are `approve`, `cancel`",
        "E011: did you mean `item`? the names in scope here are `input`, `item`, `steps`, `vars`, `workflow`",
        "E012: did you mean `charge`? the steps visible here are `charge`",
        "E011: did you mean `err`? the names in scope here are `err`, `input`, `steps`, `vars`, `workflow`",
        "E011: the names in scope here are `input`, `steps`, `vars`, `workflow`",
    ];
    assert_eq!(helps("names.stave.yaml", yaml), common);
    let mut with_params = vec![
        "E011: did you mean `by`? the names in scope here are `by`, `input`, `note`, `signal`, `steps`, `vars`, `workflow`".to_string(),
    ];
    with_params.extend(common.iter().map(|s| s.to_string()));
    assert_eq!(helps("names.stave", text), with_params);
}

/// A YAML condition under another language's key names the key the construct uses: `if:` on
/// a step, `when:` in a catch clause (the text form's are in `tests/fixtures/text/errors/`).
#[test]
fn a_condition_under_another_key_names_the_right_one() {
    let yaml = r#"stave: 1
workflow: guards
vars: { done: false }
steps:
  - when: "${ input.rush }"
    set: { done: true }
  - unless: "${ input.rush }"
    set: { done: true }
  - try:
      - set: { done: true }
    catch:
      - if: "${ err.type == 'X' }"
        steps: []
"#;
    let (_, _, diagnostics) =
        check::compile_source("guards.stave.yaml", yaml, &ProjectContext::default());
    let helps: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.code == Code::E005)
        .map(|d| format!("{}: {}", d.message, d.help.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        helps,
        [
            "unknown key `when` in a `set` step: the condition is written `if: \"${ CONDITION }\"`",
            "unknown key `unless` in a `set` step: Stave has no `unless`: write `if:` with the condition negated, `if: \"${ !(CONDITION) }\"`",
            "unknown key `if` in a `catch` clause: the condition is written `when: \"${ CONDITION }\"`",
        ],
        "{diagnostics:#?}"
    );
}

/// An update handler's steps are checked like the body's, in both forms: activity inputs, the
/// handler's own step results (visible to later steps and `result`), `set` of undeclared
/// variables, and the text form's parameters read inside the steps; the body's steps are
/// visible but may not have run (a handler runs at any point of the body).
#[test]
fn update_handler_steps_are_checked_like_the_body_in_both_forms() {
    let manifest = serde_json::json!({ "version": 1, "activities": [
        { "name": "payments.charge",
          "input": { "type": "object", "properties": { "amount": { "type": "number" } }, "additionalProperties": false },
          "output": { "type": "object", "properties": { "id": { "type": "string" } }, "additionalProperties": false } },
    ] });
    let (_project, context) = project_with_manifest("handlers", &manifest);
    let diagnose = |path: &str, src: &str| -> Vec<String> {
        let (_, _, diagnostics) = check::compile_source(path, src, &context);
        let source = stave::diagnostics::Source::new(path, src);
        diagnostics
            .iter()
            .map(|d| {
                let (line, col) = source.line_col(d.span().start as usize);
                format!("{:?} {line}:{col}", d.code)
            })
            .collect()
    };
    let yaml = r#"stave: 1
workflow: handlers
queue: standard
vars: { paid: false }
defaults: { timeout: 10s, retry: { max_attempts: 3 } }
updates:
  pay:
    steps:
      - id: charge
        activity: payments.charge
        input: { amount: "${ update.amount }", card: visa }
      - set: { payed: true }
    result: "${ steps.charge.idd }"
steps:
  - wait: pay
"#;
    let text = r#"workflow handlers on queue standard {
  var paid = false
  defaults { timeout 10s retry { max_attempts 3 } }
  update pay(amount) {
    step charge = payments.charge(amount: amount, card: "visa")
    payed = true
    return steps.charge.idd
  }
  wait pay
}
"#;
    let clean_yaml = r#"stave: 1
workflow: handlers
queue: standard
vars: { paid: false }
defaults: { timeout: 10s, retry: { max_attempts: 3 } }
updates:
  pay:
    validate: "${ !vars.paid }"
    steps:
      - id: charge
        activity: payments.charge
        input: { amount: "${ update.amount }" }
      - set: { paid: true }
    result: "${ steps.charge.id }"
steps:
  - wait: pay
"#;
    assert_eq!(
        diagnose("handlers.stave.yaml", yaml),
        ["E031 11:48", "E036 12:16", "E013 13:30", "W008 4:9"]
    );
    assert_eq!(
        diagnose("handlers.stave", text),
        ["E031 5:51", "E036 6:5", "E013 7:25", "W008 2:7"]
    );
    assert_eq!(
        diagnose("clean.stave.yaml", clean_yaml),
        Vec::<String>::new()
    );
}

/// A project (kept alive by the returned directory) with one queue, `standard`, and the
/// activity manifest `manifest`; its loaded context.
fn project_with_manifest(
    queue: &str,
    manifest: &serde_json::Value,
) -> (tempfile::TempDir, stave::project::ProjectContext) {
    let project = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        project.path().join("stave.yaml"),
        format!("activities: activities.json\nqueues:\n  standard: {{ task_queue: {queue} }}\n"),
    )
    .expect("write stave.yaml");
    std::fs::write(project.path().join("activities.json"), manifest.to_string())
        .expect("write activities.json");
    let mut sources = stave::diagnostics::Sources::default();
    let mut diagnostics = Vec::new();
    let context = check::load_project_context(project.path(), &mut sources, &mut diagnostics);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    (project, context)
}
