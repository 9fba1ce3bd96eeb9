//! `stave init`: the scaffolded project lints clean, both forms of the example compile to the
//! same program, and existing files are never overwritten without `--force`.

use stave::check;
use stave::diagnostics::Sources;
use stave::diagnostics::render::{Style, render_human};
use stave::manifest::Manifest;
use stave::runtime::activity::Registry;
use std::path::Path;
use std::process::{Command, Output};

fn stave(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stave"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run stave")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

#[test]
fn init_scaffolds_a_project_that_lints_clean() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("shop");
    let out = stave(&["init", "shop"], tmp.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for file in [
        "stave.yaml",
        "activities.json",
        "workflows/hello.stave.yaml",
        "workflows/hello.stave",
        "workflows/tests/hello.test.yaml",
        "stave.schema.json",
        "stave.test.schema.json",
        "README.md",
    ] {
        assert!(dir.join(file).is_file(), "missing {file}");
    }
    // The scaffolded test file passes offline, covering every step and branch.
    let out = stave(&["test", "--min-coverage", "100"], &dir);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("2 passed, 0 failed"),
        "{}",
        text(&out.stdout)
    );

    let out = stave(&["lint"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr).trim(),
        "checked: 0 errors, 0 warnings in 2 files"
    );
    let out = stave(&["fmt", "--check", "."], &dir);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the text form is in canonical layout: {}",
        text(&out.stderr)
    );

    // The whole project loads with no diagnostic at all, and both forms are one program.
    let load = check::load_project(&dir);
    let rendered: Vec<String> = load
        .diagnostics
        .iter()
        .map(|d| render_human(&load.sources, d, Style::default()))
        .collect();
    assert!(rendered.is_empty(), "{}", rendered.join("\n"));
    let bundle = load.bundle.expect("a bundle");
    assert_eq!(bundle.project.queues.len(), 4);
    for (queue, name) in
        bundle
            .project
            .queues
            .iter()
            .zip(["high-priority", "standard", "background", "scheduled"])
    {
        assert_eq!(queue.name, name);
        assert_eq!(queue.task_queue, format!("shop-{name}"));
    }
    let mut sources = Sources::default();
    let mut diagnostics = Vec::new();
    let context = check::load_project_context(&dir, &mut sources, &mut diagnostics);
    let yaml = check::compile_path(
        &dir.join("workflows/hello.stave.yaml"),
        &mut sources,
        &context,
        &mut diagnostics,
    )
    .pop()
    .expect("YAML form compiles");
    let text_form = check::compile_path(
        &dir.join("workflows/hello.stave"),
        &mut sources,
        &context,
        &mut diagnostics,
    )
    .pop()
    .expect("text form compiles");
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(
        yaml.hash, text_form.hash,
        "both forms must compile to the same IR"
    );
    assert_eq!(yaml.canonical_json(), text_form.canonical_json());

    // The editor schema is the current one, and the README carries the dev loop.
    assert_eq!(
        read(&dir.join("stave.schema.json")),
        stave::schema::to_text(&stave::schema::workflow_schema())
    );
    let readme = read(&dir.join("README.md"));
    for command in [
        "stave lint",
        "stave dev",
        "stave start hello --input '{\"name\": \"Ada\"}' --wait",
    ] {
        assert!(readme.contains(command), "README lacks `{command}`");
    }
}

#[test]
fn the_manifest_lists_the_stock_built_ins_the_example_calls() {
    let tmp = tempfile::tempdir().expect("temp dir");
    assert_eq!(stave(&["init", "."], tmp.path()).status.code(), Some(0));
    let written =
        Manifest::from_json(&read(&tmp.path().join("activities.json"))).expect("a valid manifest");
    let stock = Registry::with_builtins().manifest();
    let mut names: Vec<&str> = written.activities.iter().map(|a| a.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, stave::init::EXAMPLE_ACTIVITIES);
    for activity in &written.activities {
        let served = stock
            .get(&activity.name)
            .unwrap_or_else(|| panic!("the stock worker does not serve `{}`", activity.name));
        assert_eq!(
            activity, served,
            "`{}` differs from the stock worker's manifest",
            activity.name
        );
    }
    // Every activity the example calls is listed (lint also checks this against the manifest).
    let mut used = Vec::new();
    let bundle = check::load_project(tmp.path())
        .bundle
        .expect("the project compiles");
    for workflow in &bundle.workflows {
        workflow.walk(&mut |step| {
            if let stave::ir::StepKind::Activity(call) = &step.kind {
                used.push(call.activity.clone());
            }
        });
    }
    assert!(
        !used.is_empty() && used.iter().all(|a| written.get(a).is_some()),
        "{used:?}"
    );
}

#[test]
fn init_refuses_to_overwrite_unless_forced() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    std::fs::write(dir.join("README.md"), "# mine\n").expect("write README");
    let out = stave(&["init", "--name", "shop"], dir);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("README.md")
            && stderr.contains("already exists")
            && stderr.contains("--force"),
        "{stderr}"
    );
    assert!(
        !dir.join("stave.yaml").exists(),
        "nothing is written when a file exists"
    );
    assert_eq!(read(&dir.join("README.md")), "# mine\n");

    let out = stave(&["init", "--name", "shop", "--force"], dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(read(&dir.join("README.md")).starts_with("# shop\n"));
    assert!(read(&dir.join("stave.yaml")).contains("task_queue: shop-standard"));

    let out = stave(&["init", "other", "--name", "my shop"], dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not a valid project name"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.join("other").exists(), "a bad name creates nothing");
}
