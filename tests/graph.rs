//! `stave graph`: Mermaid and DOT snapshots of every sample, Graphviz accepts every DOT output,
//! every lint-clean fixture draws, and `--inject`/`--check` keep a Markdown block current.

use stave::check;
use stave::diagnostics::Sources;
use stave::diagnostics::render::{Style, render_human};
use stave::graph::{self, Endpoint, Graph};
use stave::ir;
use stave::project::ProjectContext;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Compiles one workflow file in its project; panics with the rendered errors.
fn compile(path: &Path) -> ir::Workflow {
    let mut sources = Sources::default();
    let mut diagnostics = Vec::new();
    let context = match check::find_project_dir(path) {
        Some(dir) => check::load_project_context(&dir, &mut sources, &mut diagnostics),
        None => ProjectContext::default(),
    };
    let workflow = check::compile_path(path, &mut sources, &context, &mut diagnostics);
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| render_human(&sources, d, Style::default()))
        .collect();
    assert!(
        errors.is_empty(),
        "{} has errors:\n{}",
        path.display(),
        errors.join("\n")
    );
    workflow
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{} did not compile", path.display()))
}

/// Runs Graphviz on DOT text and asserts it renders without error or warning.
fn assert_dot_renders(what: &str, dot: &str) {
    let child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("Graphviz `dot` is not installed; these tests need it: apt-get install graphviz")
        }
        Err(e) => panic!("cannot run `dot`: {e}"),
    };
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(dot.as_bytes())
        .expect("write DOT to dot");
    let out = child.wait_with_output().expect("dot runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "dot -Tsvg rejects {what}:\n{stderr}\n{dot}"
    );
    // Graphviz's own warnings (an `ltail` it cannot honour, a bad attribute) mean broken
    // output; font-cache chatter from the system is not about the graph.
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("Fontconfig"))
        .collect();
    assert!(
        warnings.is_empty(),
        "dot -Tsvg warns about {what}:\n{stderr}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("<svg"),
        "dot -Tsvg made no SVG for {what}"
    );
}

/// Node ids are unique and every edge joins things that exist.
fn assert_well_formed(what: &str, graph: &Graph) {
    let mut ids = BTreeSet::new();
    for node in graph.nodes() {
        assert!(
            ids.insert(node.id.clone()),
            "{what}: node id `{}` twice",
            node.id
        );
    }
    for edge in &graph.edges {
        assert!(
            ids.contains(&edge.to),
            "{what}: edge to unknown node `{}`",
            edge.to
        );
        match &edge.from {
            Endpoint::Node(id) => {
                assert!(ids.contains(id), "{what}: edge from unknown node `{id}`")
            }
            Endpoint::Cluster(id) => assert!(
                graph.anchor(id).is_some(),
                "{what}: edge from empty or unknown cluster `{id}`"
            ),
        }
    }
}

fn samples() -> Vec<PathBuf> {
    let files = check::workflow_files(Path::new("workflows")).expect("list workflows/");
    assert!(files.len() >= 8, "expected the samples, found {files:?}");
    files
}

/// The file name without its form's extension: both forms of a sample share it.
fn stem(path: &Path) -> String {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    name.trim_end_matches(".yaml")
        .trim_end_matches(".yml")
        .trim_end_matches(".stave")
        .to_string()
}

#[test]
fn every_sample_renders_to_stable_mermaid_and_dot() {
    // One snapshot per workflow: its YAML and text forms compile to the same IR, so they
    // must draw the same graph.
    let mut drawn: BTreeMap<String, (PathBuf, String, String)> = BTreeMap::new();
    for path in samples() {
        let graph = graph::build(&compile(&path));
        assert_well_formed(&path.display().to_string(), &graph);
        let mermaid = graph::mermaid::render(&graph);
        let dot = graph::dot::render(&graph);
        assert_dot_renders(&path.display().to_string(), &dot);
        match drawn.get(&stem(&path)) {
            Some((first, m, d)) => {
                assert_eq!(
                    m,
                    &mermaid,
                    "{} and {} draw different Mermaid",
                    first.display(),
                    path.display()
                );
                assert_eq!(
                    d,
                    &dot,
                    "{} and {} draw different DOT",
                    first.display(),
                    path.display()
                );
            }
            None => {
                drawn.insert(stem(&path), (path.clone(), mermaid, dot));
            }
        }
    }
    for (stem, (_, mermaid, dot)) in drawn {
        insta::with_settings!({snapshot_suffix => stem.clone()}, {
            insta::assert_snapshot!("mermaid", mermaid);
            insta::assert_snapshot!("dot", dot);
        });
    }
}

#[test]
fn every_construct_draws_and_escapes_its_labels() {
    let path = Path::new("tests/fixtures/graph/constructs.stave.yaml");
    let graph = graph::build(&compile(path));
    assert_well_formed("constructs", &graph);
    let mermaid = graph::mermaid::render(&graph);
    let dot = graph::dot::render(&graph);
    assert_dot_renders("constructs", &dot);
    // A raw quote, `<`, `|` or backtick would end a Mermaid label or edge label early.
    for line in mermaid.lines().filter(|l| l.contains("note = ")) {
        assert!(
            !line.contains('<') || line.contains("<br/>"),
            "unescaped `<` in {line}"
        );
        assert!(
            !line.contains('`') && !line.contains('|'),
            "unescaped character in {line}"
        );
    }
    insta::assert_snapshot!("constructs_mermaid", mermaid);
    insta::assert_snapshot!("constructs_dot", dot);
}

#[test]
fn output_is_deterministic() {
    let workflow = compile(Path::new("workflows/order-fulfilment.stave.yaml"));
    let (a, b) = (graph::build(&workflow), graph::build(&workflow));
    assert_eq!(a, b);
    assert_eq!(graph::mermaid::render(&a), graph::mermaid::render(&b));
    assert_eq!(graph::dot::render(&a), graph::dot::render(&b));
}

#[test]
fn every_lint_clean_fixture_draws() {
    let dir = Path::new("tests/fixtures/lint");
    let mut drawn = 0;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("list fixtures")
        .map(|e| e.expect("fixture entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains(".ok."))
        })
        .collect();
    entries.sort();
    for path in entries {
        let graph = graph::build(&compile(&path));
        let what = path.display().to_string();
        assert_well_formed(&what, &graph);
        assert!(
            graph::mermaid::render(&graph).starts_with("---\ntitle: "),
            "{what}"
        );
        assert_dot_renders(&what, &graph::dot::render(&graph));
        drawn += 1;
    }
    assert!(drawn >= 30, "expected the `.ok` fixtures, drew {drawn}");
}

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
fn cli_prints_mermaid_or_dot_and_refuses_files_with_errors() {
    let sample = "workflows/order-fulfilment.stave.yaml";
    let out = stave(&["graph", sample]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let expected = graph::mermaid::render(&graph::build(&compile(Path::new(sample))));
    assert_eq!(text(&out.stdout), expected);

    let out = stave(&["graph", "--format", "dot", sample]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("digraph \"order-fulfilment\" {"));

    let dir = tempfile::tempdir().expect("temp dir");
    let svg_input = dir.path().join("graph.dot");
    let svg_input = svg_input.to_str().expect("utf-8 path");
    let out = stave(&["graph", "--format", "dot", "-o", svg_input, sample]);
    assert_eq!(out.status.code(), Some(0));
    assert_dot_renders(
        "-o output",
        &std::fs::read_to_string(svg_input).expect("written"),
    );

    let out = stave(&["graph", "tests/fixtures/lint/E030.stave.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("E030") && stderr.contains("nothing drawn"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn inject_writes_the_block_and_check_fails_when_it_is_stale() {
    let sample =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows/order-fulfilment.stave.yaml");
    let sample = sample.to_str().expect("utf-8 path");
    let dir = tempfile::tempdir().expect("temp dir");
    let readme = dir.path().join("README.md");
    let readme_arg = readme.to_str().expect("utf-8 path");
    let doc = format!(
        "# Orders\n\n<!-- stave-graph:{sample} -->\nold picture\n<!-- /stave-graph -->\n\nMore text.\n"
    );
    std::fs::write(&readme, &doc).expect("write README");

    let out = stave(&["graph", sample, "--inject", readme_arg, "--check"]);
    assert_eq!(out.status.code(), Some(1), "a stale block fails --check");
    assert!(
        text(&out.stderr).contains(readme_arg) && text(&out.stderr).contains("stale"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&readme).expect("read"),
        doc,
        "--check writes nothing"
    );

    let out = stave(&["graph", sample, "--inject", readme_arg]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let injected = std::fs::read_to_string(&readme).expect("read");
    let mermaid = text(&stave(&["graph", sample]).stdout);
    let block =
        format!("<!-- stave-graph:{sample} -->\n```mermaid\n{mermaid}```\n<!-- /stave-graph -->\n");
    assert!(
        injected.starts_with("# Orders\n\n") && injected.ends_with("\nMore text.\n"),
        "{injected}"
    );
    assert!(injected.contains(&block), "{injected}");

    let out = stave(&["graph", sample, "--inject", readme_arg, "--check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    std::fs::write(&readme, "# No block here\n").expect("write README");
    let out = stave(&["graph", sample, "--inject", readme_arg]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("<!-- stave-graph:"),
        "{}",
        text(&out.stderr)
    );

    let out = stave(&["graph", sample, "--inject", readme_arg, "--format", "dot"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stave(&["graph", sample, "--check"]).status.code(),
        Some(2),
        "--check needs --inject"
    );
}
