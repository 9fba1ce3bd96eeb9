//! `stave test` on real Temporal servers: the samples' test files on the time-skipping test
//! server (`--dev`) all pass, and agree case by case with the simulator (status, output,
//! error type, attempts per activity), as do the real-time files of `tests/fixtures/server/`,
//! which pass with `--server` against a dev server this harness starts. Tests that need a server binary fail — never
//! skip — with how to install it.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use stave::runtime::sim::{SimResult, SimStatus, Simulator};
use stave::testing::mocks::CaseMocks;
use stave::testing::{self, run, server};
use support::{TestServer, run_bounded};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The time-skipping test server's executable; the test fails with the install hint
/// when it is missing.
fn test_server_exe() -> std::path::PathBuf {
    server::find_executable()
        .unwrap_or_else(|e| panic!("{e}\n(these tests need it: `{}`)", server::INSTALL_HINT))
}

/// `stave ARGS` in the repository (the sample project), bounded.
fn stave(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stave"));
    cmd.args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("TEMPORAL_API_KEY")
        .env_remove("TEMPORAL_PROFILE");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    run_bounded(cmd, Duration::from_secs(180))
}

#[test]
fn every_sample_case_passes_on_the_time_skipping_test_server() {
    test_server_exe();
    let began = Instant::now();
    let out = stave(&["test", "--dev", "--format", "json"], &[]);
    let wall = began.elapsed();
    let report: Json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not a JSON report ({e}):\n{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    });
    let failed: Vec<String> = report["files"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|f| f["cases"].as_array().into_iter().flatten())
        .filter(|c| c["passed"] != true)
        .map(|c| format!("{c:#}"))
        .collect();
    assert!(failed.is_empty(), "failing cases:\n{}", failed.join("\n"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let cases = report["summary"]["cases"].as_u64().unwrap_or(0);
    assert!(cases >= 22, "{report:#}");
    assert_eq!(report["runner"]["kind"], "server");
    assert_eq!(report["runner"]["time_skipping"], true);
    assert!(
        report["coverage"].is_null(),
        "coverage is not measured on a server"
    );
    println!(
        "--dev: {cases} sample cases passed in {:.1} s of wall time (24 h, 7 d and 2 d waits among them)",
        wall.as_secs_f64()
    );
}

/// What the comparison looks at: status, output, error type, attempts per activity.
fn summary(result: &SimResult) -> (String, Json, String, BTreeMap<String, usize>) {
    let (status, output, error_type) = match &result.status {
        SimStatus::Completed { output } => ("completed", output.clone(), String::new()),
        SimStatus::Failed { error_type, .. } => ("failed", Json::Null, error_type.clone()),
        SimStatus::Cancelled => ("cancelled", Json::Null, String::new()),
        SimStatus::TimedOut => ("timed_out", Json::Null, String::new()),
        SimStatus::Rejected { .. } => ("rejected", Json::Null, String::new()),
        SimStatus::Stuck { reason } => ("stuck", Json::String(reason.clone()), String::new()),
    };
    let mut attempts = BTreeMap::new();
    for a in &result.attempts {
        *attempts.entry(a.activity.clone()).or_default() += 1;
    }
    (status.to_string(), output, error_type, attempts)
}

#[test]
fn the_simulator_and_the_test_server_agree_case_by_case() {
    let exe = test_server_exe();
    let mut project = stave::check::load_project(root());
    // The samples' test files and the real-time ones (a cancellation among them).
    let paths = testing::discover(
        &project,
        &[
            root().join("workflows"),
            root().join("tests/fixtures/server"),
        ],
    )
    .expect("test files");
    let suite = testing::load(&mut project, &paths);
    assert!(!suite.has_errors(), "{:#?}", suite.diagnostics);

    let began = Instant::now();
    let programs = run::programs(&project);
    let simulator = Simulator::new(programs.iter().map(|w| std::sync::Arc::new((*w).clone())));
    let steps = run::step_activities(programs.iter().copied());
    let mut simulated = Vec::new();
    for file in &suite.files {
        let mut results = Vec::new();
        for (i, case) in file.test.cases.iter().enumerate() {
            let sim_case =
                run::sim_case(&file.test.workflow.value, case, i).expect("a simulator case");
            let mut mocks = CaseMocks::new(&case.mocks, &file.test.mocks, &steps);
            results.push(simulator.run(&sim_case, &mut mocks));
        }
        simulated.push(results);
    }
    let sim_wall = began.elapsed();

    let began = Instant::now();
    let on_server = server::run(&project, &suite, &server::Target::TestServer(exe))
        .unwrap_or_else(|e| panic!("the cases did not run on the test server: {e}"));
    let server_wall = began.elapsed();

    let mut compared = 0;
    let mut attempts = 0;
    let mut differences = Vec::new();
    for (f, file) in suite.files.iter().enumerate() {
        for (c, case) in file.test.cases.iter().enumerate() {
            let name = format!("{} / {}", file.path.display(), case.name.value);
            let Some(actual) = &on_server.results[f][c] else {
                differences.push(format!("{name}: did not run on the server"));
                continue;
            };
            let expected = summary(&simulated[f][c]);
            let got = summary(actual);
            if expected != got {
                differences.push(format!(
                    "{name}:\n  simulator: {expected:?}\n  server:    {got:?}"
                ));
            }
            compared += 1;
            attempts += got.3.values().sum::<usize>();
        }
    }
    assert!(
        differences.is_empty(),
        "the simulator and the server disagree:\n{}",
        differences.join("\n")
    );
    assert!(compared >= 29, "only {compared} cases compared");
    println!(
        "{compared} cases agree ({attempts} activity attempts): simulator {:.1} ms, time-skipping test server {:.1} s",
        sim_wall.as_secs_f64() * 1000.0,
        server_wall.as_secs_f64()
    );
}

#[test]
fn a_short_test_file_passes_in_real_time_on_a_dev_server() {
    let server = TestServer::start();
    let began = Instant::now();
    let out = stave(
        &[
            "test",
            "--server",
            &server.address(),
            "tests/fixtures/server",
        ],
        &[],
    );
    let wall = began.elapsed();
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}\n--- server log ---\n{}",
        text(&out.stderr),
        server.log()
    );
    assert!(stdout.contains("(real time)"), "{stdout}");
    assert!(stdout.contains("7 passed, 0 failed"), "{stdout}");
    println!(
        "--server: 7 real-time cases passed in {:.1} s of wall time",
        wall.as_secs_f64()
    );
}

#[test]
fn a_missing_test_server_is_exit_2_with_how_to_install_it() {
    let out = stave(
        &["test", "--dev"],
        &[("TEMPORAL_TEST_SERVER", "/nonexistent/temporal-test-server")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(server::INSTALL_HINT), "{stderr}");

    let out = stave(&["test", "--dev", "--min-coverage", "100"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let out = stave(&["test", "--dev", "--server", "localhost:7233"], &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_activity_left_running_by_its_run_does_not_stop_the_test_servers_clock() {
    test_server_exe();
    let project = root().join("tests/fixtures/server-orphan");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stave"));
    cmd.args(["test", "--dev"])
        .current_dir(&project)
        .env("NO_COLOR", "1");
    let began = Instant::now();
    let out = run_bounded(cmd, Duration::from_secs(180));
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("3 passed, 0 failed"), "{stdout}");
    // Without the release, each day-long case would wait out the 60 s limit.
    assert!(began.elapsed() < Duration::from_secs(30), "{stdout}");
}
