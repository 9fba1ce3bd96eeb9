//! `stave test` end to end through the built binary: the samples' test files pass with full
//! coverage, a failing case shows expected vs actual and the timeline, broken test files are
//! diagnosed at their place and nothing runs, and the JSON and JUnit reports are complete.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value as Json;

fn stave_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stave"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run stave")
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A copy of the test-file fixture project, plus `files`.
fn fixture_project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in [
        "stave.yaml",
        "activities.json",
        "shop.stave.yaml",
        "review.stave.yaml",
    ] {
        std::fs::copy(
            root().join("tests/fixtures/testfiles").join(name),
            dir.path().join(name),
        )
        .expect("copy fixture");
    }
    for (name, contents) in files {
        std::fs::write(dir.path().join(name), contents).expect("write");
    }
    dir
}

#[test]
fn every_sample_passes_its_tests_with_full_coverage() {
    let out = stave_in(
        root(),
        &["test", "--format", "json", "--min-coverage", "100"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Json = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["summary"]["failed"], 0, "{report:#}");
    assert!(report["summary"]["cases"].as_u64().unwrap_or(0) >= 22);
    let samples = std::fs::read_dir(root().join("workflows"))
        .expect("workflows/")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".stave.yaml"))
        })
        .count();
    let coverage = report["coverage"].as_array().cloned().unwrap_or_default();
    assert_eq!(coverage.len(), samples, "{coverage:#?}");
    for file in &coverage {
        assert_eq!(file["percent"], 100.0, "{file:#}");
    }
    let tested: Vec<&str> = report["files"]
        .as_array()
        .map(|f| f.iter().filter_map(|f| f["workflow"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        tested.len(),
        samples,
        "every sample has a test file: {tested:?}"
    );
}

const FAILING: &str = r#"stave_test: 1
workflow: shop
mocks:
  - { activity: fraud.score, respond: { output: { score: 0.1 } } }
cases:
  - name: the charge is retried once
    input: { amount: 5 }
    mocks:
      - activity: payments.charge
        respond:
          - { error: { type: Busy }, delay: 1s }
          - { output: { charge_id: ch_2, amount: 5 } }
    expect:
      output: ch_1
      duration: 3s
      activities:
        payments.charge: { attempts: 2, inputs: [ { amount: 5 }, { amount: 6 } ] }
  - name: passes
    input: { amount: 5 }
    mocks:
      - { activity: payments.charge, respond: { output: { charge_id: ch_1, amount: 5 } } }
    expect: { output: ch_1 }
"#;

#[test]
fn a_failing_case_shows_expected_actual_and_the_timeline() {
    let project = fixture_project(&[("shop.test.yaml", FAILING)]);
    let out = stave_in(project.path(), &["test"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    for needle in [
        "FAIL the charge is retried once  shop.test.yaml:6:11",
        "- output  (shop.test.yaml:14:15)",
        "expected: \"ch_1\"",
        "actual:   \"ch_2\"",
        "- virtual duration  (shop.test.yaml:15:17)",
        "expected: 3s",
        "actual:   2s",
        "- input of `payments.charge` attempt 2 at `input.amount`",
        "timeline:",
        "PASS passes",
        "1 passed, 1 failed (2 cases in 1 files",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }

    let out = stave_in(project.path(), &["test", "--format", "junit"]);
    assert_eq!(out.status.code(), Some(1));
    let xml = text(&out.stdout);
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(
        xml.contains("<testsuites name=\"stave test\" tests=\"2\" failures=\"1\""),
        "{xml}"
    );
    assert_eq!(xml.matches("<testcase ").count(), 2, "{xml}");
    assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
    assert!(
        xml.contains("message=\"output: expected &quot;ch_1&quot;, got &quot;ch_2&quot;\""),
        "{xml}"
    );
}

#[test]
fn coverage_names_what_no_case_reached_and_min_coverage_fails() {
    let only_charge = r#"stave_test: 1
workflow: review
cases:
  - name: scores
    input: { order_id: o, amount: 1 }
    mocks: [ { activity: fraud.score, respond: { output: { score: 0.3 } } } ]
    expect: { output: 0.3 }
"#;
    let project = fixture_project(&[("review.test.yaml", only_charge)]);
    let out = stave_in(
        project.path(),
        &["test", "--coverage", "--min-coverage", "100"],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("100.0%  1/1  review.stave.yaml (review)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("not run by any case: shop.stave.yaml"),
        "{stdout}"
    );
    let project = fixture_project(&[("shop.test.yaml", FAILING)]);
    let out = stave_in(project.path(), &["test", "--coverage"]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("not reached: `charge` at 12:5: compensation runs"),
        "{stdout}"
    );

    let project = fixture_project(&[("shop.test.yaml", FAILING)]);
    let out = stave_in(
        project.path(),
        &["test", "shop.test.yaml", "--min-coverage", "100"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr)
            .contains("coverage of shop.stave.yaml (shop) is 66.7%, below --min-coverage 100"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn broken_test_files_are_diagnosed_and_nothing_runs() {
    let broken = r#"stave_test: 1
workflow: shop
cases:
  - name: typo
    input: { amount: 5 }
    mocks:
      - { activity: payments.chrage, respond: { output: { charge_id: c, amount: 1 } } }
    signals: [ { at: soon, name: approve } ]
    expect: { statsu: completed }
"#;
    let project = fixture_project(&[("shop.test.yaml", broken)]);
    let out = stave_in(project.path(), &["test"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for needle in [
        "E082 at shop.test.yaml:7:21",
        "did you mean `payments.charge`?",
        "E008 at shop.test.yaml:8:22",
        "E005 at shop.test.yaml:9:15",
        "did you mean `status`?",
        "nothing ran",
    ] {
        assert!(stderr.contains(needle), "missing {needle:?} in:\n{stderr}");
    }
    assert!(text(&out.stdout).is_empty());

    let empty = fixture_project(&[]);
    let out = stave_in(empty.path(), &["test"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no test files (`*.test.yaml`)"),
        "{}",
        text(&out.stderr)
    );
}

/// Histories recorded from a real server become test cases that pass in the simulator: the
/// recorded answers, retries, signals and outcome reproduce the run. A history of an older
/// definition (`e2e-fanout` was edited since) fails, naming the call the file no longer makes
/// the same way — what a regression test is for.
#[test]
fn recorded_runs_replay_in_the_simulator() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("stave.yaml"),
        "namespace: default\ndefault_queue: standard\nqueues:\n  standard: { task_queue: rec-standard }\n  high-priority: { task_queue: rec-high }\n  background: { task_queue: rec-background }\n  scheduled: { task_queue: rec-scheduled }\n",
    )
    .expect("write stave.yaml");
    for entry in std::fs::read_dir(root().join("tests/support/workflows")).expect("workflows") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name");
        std::fs::copy(&path, dir.path().join(name)).expect("copy");
    }
    let histories = [
        "e2e-durable-killed-worker-edited-file",
        "e2e-parent-children",
        "e2e-retry",
        "e2e-saga",
        "e2e-signals",
        "e2e-updates",
        "e2e-fanout",
    ];
    for name in histories {
        let history = root().join(format!("tests/histories/{name}.json"));
        let out = stave_in(
            dir.path(),
            &[
                "test",
                "--record-history",
                &history.display().to_string(),
                "--name",
                name,
                "-o",
                &format!("{name}.test.yaml"),
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let saga = std::fs::read_to_string(dir.path().join("e2e-saga.test.yaml")).expect("read");
    assert!(saga.contains("error: { type: \"PaymentFailed\""), "{saga}");
    // Accepted updates with their answers: a handler's steps completed, one failed.
    let updates = std::fs::read_to_string(dir.path().join("e2e-updates.test.yaml")).expect("read");
    assert!(
        updates.contains(
            r#"name: "deposit", payload: {"amount":7}, expect: {"total":12,"echoed":{"amount":7}}"#
        ) && updates.contains(r#"name: "refuse", payload: "no", rejected: "refused no""#),
        "{updates}"
    );
    let out = stave_in(dir.path(), &["test"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    for name in &histories[..6] {
        assert!(
            stdout.contains(&format!("PASS {name} (")),
            "{name}: {stdout}"
        );
    }
    assert!(stdout.contains("FAIL e2e-fanout"), "{stdout}");
    assert!(
        stdout.contains("no mock answers activity `test.track`"),
        "{stdout}"
    );
    assert!(stdout.contains("6 passed, 1 failed"), "{stdout}");

    // A recording never overwrites a file.
    let out = stave_in(
        dir.path(),
        &[
            "test",
            "--record-history",
            &root()
                .join("tests/histories/e2e-saga.json")
                .display()
                .to_string(),
            "-o",
            "e2e-saga.test.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("exists"),
        "{}",
        text(&out.stderr)
    );
}

/// A `step:` mock answers its step's activity only: the compensation that later runs under
/// the step's name (the refund of `charge`) is answered by its own `activity:` mock.
#[test]
fn a_step_mock_does_not_answer_the_steps_compensation() {
    let test = r#"stave_test: 1
workflow: shop
cases:
  - name: the review fails, the charge is refunded
    input: { amount: 5 }
    mocks:
      - { step: charge, respond: { output: { charge_id: ch_9, amount: 5 } } }
      - { activity: payments.refund, respond: { output: { refund_id: rf_9 } } }
      - { workflow: review, respond: { error: { type: Rejected, message: no } } }
    expect:
      error: { type: Rejected }
      activities:
        payments.refund: { attempts: 1, inputs: [ { charge_id: ch_9 } ] }
        step:charge: { attempts: 2 }
"#;
    let project = fixture_project(&[("shop.test.yaml", test)]);
    let out = stave_in(project.path(), &["test"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
}
