//! Golden tests of the built `stave` binary: exit codes, formats, explain, compile.

use std::path::Path;
use std::process::{Command, Output};

fn stave(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stave"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("run stave")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn lint_clean_samples_exits_zero() {
    let out = stave(&["lint", "workflows"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("checked: 0 errors, 0 warnings"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn lint_errors_exit_one_with_rendered_diagnostics() {
    let out = stave(&[
        "lint",
        "--width",
        "90",
        "tests/fixtures/lint/E030.stave.yaml",
    ]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!("lint_e030_human", text(&out.stderr));
}

#[test]
fn usage_errors_exit_two() {
    assert_eq!(stave(&["lint", "--format", "xml"]).status.code(), Some(2));
    assert_eq!(stave(&["no-such-command"]).status.code(), Some(2));
    assert_eq!(stave(&["lint", "--allow", "E030"]).status.code(), Some(2));
    assert_eq!(stave(&["explain", "E999"]).status.code(), Some(2));
}

#[test]
fn warnings_pass_unless_denied_or_allowed() {
    let w = "tests/fixtures/lint/W008.stave.yaml";
    assert_eq!(stave(&["lint", w]).status.code(), Some(0));
    assert_eq!(
        stave(&["lint", "--deny-warnings", w]).status.code(),
        Some(1)
    );
    assert_eq!(
        stave(&["lint", "--deny-warnings", "--allow", "W008", w])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn json_format_lists_every_diagnostic_with_its_location() {
    let out = stave(&[
        "lint",
        "--format",
        "json",
        "tests/fixtures/lint/E036.stave.yaml",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let first = &json[0];
    assert_eq!(first["code"], "E036");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["location"]["line"], 9);
    assert_eq!(first["location"]["column"], 12);
    assert_eq!(
        first["help"],
        "did you mean `status`? the variables are `status`"
    );
}

#[test]
fn sarif_format_is_a_sarif_log() {
    let out = stave(&[
        "lint",
        "--format",
        "sarif",
        "tests/fixtures/lint/E005.stave.yaml",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["version"], "2.1.0");
    let result = &json["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "E005");
    assert_eq!(result["level"], "error");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        11
    );
    let rules = json["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    assert!(rules.iter().any(|r| r["id"] == "E005"));
}

#[test]
fn unreadable_paths_are_diagnostics() {
    let out = stave(&["lint", "no/such/file.stave.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("E001") && err.contains("no/such/file.stave.yaml"),
        "{err}"
    );
}

#[test]
fn explain_prints_the_page() {
    let out = stave(&["explain", "e030"]);
    assert_eq!(out.status.code(), Some(0));
    let page = text(&out.stdout);
    assert!(page.starts_with("E030: unknown activity"), "{page}");
    assert!(page.contains("## Fix"));
    let list = text(&stave(&["explain", "--list"]).stdout);
    assert!(list.lines().count() >= 30);
}

#[test]
fn compile_prints_the_ir() {
    let out = stave(&["compile", "workflows/fraud-review.stave.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ir: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(ir["ir_version"], stave::ir::IR_VERSION);
    assert_eq!(ir["name"], "fraud-review");
    assert_eq!(ir["task_queue"], "project-ai-standard");
    assert_eq!(ir["hash"].as_str().map(str::len), Some(64));
}

#[test]
fn compile_of_a_project_prints_the_bundle() {
    let out = stave(&["compile", "--compact", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let bundle: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        bundle["project"]["queues"].as_array().map(Vec::len),
        Some(4)
    );
    assert!(bundle["workflows"].as_array().is_some_and(|w| w.len() >= 8));
}

#[test]
fn compile_refuses_a_broken_file() {
    let out = stave(&["compile", "tests/fixtures/lint/E032.stave.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("E032"));
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("workflows")
            .is_dir()
    );
}

#[test]
fn the_readme_graph_is_current() {
    let out = stave(&[
        "graph",
        "workflows/order-fulfilment.stave.yaml",
        "--inject",
        "README.md",
        "--check",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "README.md's graph is stale: run `stave graph workflows/order-fulfilment.stave.yaml --inject README.md`\n{}",
        text(&out.stderr)
    );
}

/// `stave start` of a valid workflow is not blocked by another file's errors (it prints
/// them); a start of the broken workflow itself is refused. No server is needed to see it:
/// the first reaches the connection step, the second stops before.
#[test]
fn start_is_not_blocked_by_another_files_errors() {
    let dir = tempfile::tempdir().unwrap();
    let settings = "namespace: default\nqueues:\n  standard: { task_queue: t }\n";
    std::fs::write(dir.path().join("stave.yaml"), settings).unwrap();
    std::fs::write(
        dir.path().join("good.stave.yaml"),
        "stave: 1\nworkflow: good\nsteps:\n  - set: {}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("broken.stave.yaml"),
        "stave: 1\nworkflow: broken\nsteps:\n  - sleep: forever\n",
    )
    .unwrap();
    let project = dir.path().display().to_string();
    let start = |workflow: &str| {
        Command::new(env!("CARGO_BIN_EXE_stave"))
            .args(["start", workflow, "--project", &project])
            // Nothing listens here: the valid start fails at connecting, after the check.
            .env("TEMPORAL_ADDRESS", "127.0.0.1:9")
            .env("NO_COLOR", "1")
            .output()
            .expect("run stave")
    };
    let good = text(&start("good").stderr);
    assert!(good.contains("starting `good`, which has none"), "{good}");
    assert!(good.contains("broken.stave.yaml"), "{good}");
    let broken = start("broken");
    let stderr = text(&broken.stderr);
    assert_ne!(broken.status.code(), Some(0));
    assert!(!stderr.contains("starting `broken`"), "{stderr}");
    assert!(stderr.contains("has errors"), "{stderr}");
}

/// W001 (an id whose result nothing reads) is off by default: ids name steps in graphs, logs
/// and the Web UI. `--warn W001` turns it on; `--warn` of a warning that is on is refused.
#[test]
fn unused_results_are_reported_only_when_asked() {
    let file = "tests/fixtures/lint/W001.stave.yaml";
    let out = stave(&["lint", file]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("checked: 0 errors, 0 warnings"),
        "{}",
        text(&out.stderr)
    );
    let out = stave(&["lint", "--warn", "W001", file]);
    assert!(
        text(&out.stderr).contains("W001 at "),
        "{}",
        text(&out.stderr)
    );
    let out = stave(&["lint", "--warn", "W004", file]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("already on"),
        "{}",
        text(&out.stderr)
    );
}

/// docs/codes.md is every code's page, as `stave explain --markdown` prints them; SARIF and
/// JSON point each diagnostic at its page there.
#[test]
fn the_codes_page_is_current_and_every_diagnostic_links_to_it() {
    let out = stave(&["explain", "--markdown"]);
    assert_eq!(out.status.code(), Some(0));
    let committed =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/codes.md"))
            .unwrap_or_default();
    assert!(
        committed == text(&out.stdout),
        "docs/codes.md is stale: run `cargo run -- explain --markdown > docs/codes.md`"
    );
    assert!(committed.contains("\n## E037\n"));

    let out = stave(&[
        "lint",
        "--format",
        "sarif",
        "tests/fixtures/lint/E030.stave.yaml",
    ]);
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).expect("SARIF");
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let e030 = rules.iter().find(|r| r["id"] == "E030").expect("rule E030");
    assert!(
        e030["helpUri"]
            .as_str()
            .is_some_and(|u| u.ends_with("/docs/codes.md#e030")),
        "{e030}"
    );
    assert!(
        e030["help"]["markdown"]
            .as_str()
            .is_some_and(|m| m.contains("## Fix"))
    );

    let out = stave(&[
        "lint",
        "--format",
        "json",
        "tests/fixtures/lint/E030.stave.yaml",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json[0]["explain"], "stave explain E030", "{json}");
    assert!(
        json[0]["help_uri"]
            .as_str()
            .is_some_and(|u| u.ends_with("#e030"))
    );
}

/// No false alarms on real, correct workflows: files written in the style of other engines'
/// examples (Step Functions, Airflow, Argo, Conductor, Serverless Workflow, a Temporal cron
/// sample, a Temporal Java/TypeScript sample with its PascalCase and camelCase names), against a manifest exported the way other SDKs export it (no `errors` lists),
/// lint with no error and no warning.
#[test]
fn realistic_workflows_lint_without_a_single_diagnostic() {
    let out = stave(&["lint", "tests/fixtures/realistic"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr
            .trim_end()
            .ends_with("checked: 0 errors, 0 warnings in 7 files"),
        "{stderr}"
    );
}

const SECRET: &str = "tmprl-secret-key-5f1e2d3c";

/// `stave ARGS` with no Temporal settings from the machine, plus `env`.
fn stave_isolated(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stave"));
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env("TEMPORAL_CONFIG_FILE", "/nonexistent/temporal.toml");
    for var in [
        "TEMPORAL_ADDRESS",
        "TEMPORAL_API_KEY",
        "TEMPORAL_PROFILE",
        "STAVE_API_KEY_FILE",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied()).output().expect("run stave")
}

#[test]
fn a_missing_api_key_file_is_named_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-key");
    let missing = missing.to_str().unwrap();
    for (args, env) in [
        (vec!["describe", "wf", "--api-key-file", missing], vec![]),
        (
            vec!["describe", "wf"],
            vec![("STAVE_API_KEY_FILE", missing)],
        ),
    ] {
        let out = stave_isolated(&args, &env);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(missing), "{err}");
        assert!(err.contains("cannot read it"), "{err}");
        assert!(err.contains("help:"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn a_malformed_api_key_file_is_named_and_its_contents_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("key");
    std::fs::write(&file, format!("{SECRET}\n{SECRET}\n")).unwrap();
    let out = stave_isolated(
        &["describe", "wf", "--api-key-file", file.to_str().unwrap()],
        &[],
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("more than one line"), "{err}");
    assert!(!err.contains(SECRET), "{err}");
}

#[test]
fn an_api_key_on_the_command_line_is_warned_about_and_never_echoed() {
    // Port 1 on loopback refuses at once: the command fails after resolving the key.
    let out = stave_isolated(
        &[
            "describe",
            "wf",
            "--address",
            "127.0.0.1:1",
            "--api-key",
            SECRET,
        ],
        &[],
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("warning: --api-key puts the key in the process list"),
        "{err}"
    );
    assert!(!err.contains(SECRET), "{err}");
    assert!(!text(&out.stdout).contains(SECRET));

    // Both ways at once is a usage error, and clap's message names flags, not values.
    let out = stave_isolated(
        &["describe", "wf", "--api-key", SECRET, "--api-key-file", "k"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(!text(&out.stderr).contains(SECRET), "{}", text(&out.stderr));
}

#[test]
fn help_shows_the_key_options_but_never_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("key");
    std::fs::write(&file, SECRET).unwrap();
    for command in ["worker", "start", "describe", "health"] {
        let out = stave_isolated(
            &[command, "--help"],
            &[
                ("TEMPORAL_API_KEY", SECRET),
                ("STAVE_API_KEY_FILE", file.to_str().unwrap()),
            ],
        );
        let help = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(help.contains("--api-key-file <FILE>"), "{help}");
        assert!(help.contains("STAVE_API_KEY_FILE"), "{help}");
        assert!(!help.contains(SECRET), "{help}");
    }
}

/// Temporal names as they are: PascalCase workflow types and camelCase signal and query names
/// lint clean; W007's kebab-case suggestion is only made on `--warn W007`.
#[test]
fn existing_temporal_names_lint_clean_and_kebab_case_is_opt_in() {
    let file = "tests/fixtures/realistic/money-transfer.stave";
    let out = stave(&["lint", file]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("0 errors, 0 warnings"),
        "{}",
        text(&out.stderr)
    );
    let out = stave(&["lint", "--warn", "W007", file]);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("W007 at "), "{stderr}");
    assert!(stderr.contains("account-transfer-workflow"), "{stderr}");
}
