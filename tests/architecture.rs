//! ARCHITECTURE.md's structural invariants, checked over the source tree.
//!
//! - every source file opens with a one-line `//!`;
//! - no file exceeds 800 lines unless its `//!` header says why (a line starting `//! Size:`);
//! - each stage imports only what its "API boundary" line in ARCHITECTURE.md allows;
//! - there are no import cycles between the crate's top-level modules, nor between the
//!   modules of `runtime`.
//!
//! Imports are read from the text: every `crate::a::b` path outside `#[cfg(test)]` code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 800;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("src is readable")
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Path relative to `src/`, with `/` separators.
fn relative(path: &Path) -> String {
    path.strip_prefix(src())
        .expect("under src")
        .to_string_lossy()
        .replace('\\', "/")
}

/// Whether a file is test code only (a `tests.rs` or anything in a `tests/` folder).
fn is_test_file(rel: &str) -> bool {
    rel.ends_with("/tests.rs") || rel.contains("/tests/")
}

/// The code of a file without its `#[cfg(test)]` items (they sit at the end by convention)
/// and without comments (an intra-doc link is not an import).
fn production_code(text: &str) -> String {
    let code = match text.find("#[cfg(test)]") {
        Some(at) => &text[..at],
        None => text,
    };
    code.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module path segments `crate::…` references name, after the crate.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        // `$crate::` in macros and identifiers ending in `crate` are not crate paths.
        if before.is_some_and(|c| c == '$' || c.is_alphanumeric() || c == '_') {
            continue;
        }
        // `crate::{a, b::c}` groups: read each member's first two segments.
        if rest.starts_with('{') {
            let end = rest.find('}').unwrap_or(rest.len());
            for member in rest[1..end].split(',') {
                let segments: Vec<String> = member
                    .trim()
                    .split("::")
                    .take(2)
                    .map(|s| s.trim_matches(|c: char| !c.is_alphanumeric() && c != '_'))
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                if !segments.is_empty() {
                    out.push(segments);
                }
            }
            continue;
        }
        let segments: Vec<String> = rest
            .split("::")
            .take(2)
            .map(|s| {
                s.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect::<String>()
            })
            .take_while(|s| !s.is_empty())
            .collect();
        if !segments.is_empty() {
            out.push(segments);
        }
    }
    out
}

/// The top-level module a file belongs to (`runtime`, `check`, … or the file stem).
fn top_module(rel: &str) -> String {
    let first = rel.split('/').next().unwrap_or(rel);
    first.trim_end_matches(".rs").to_owned()
}

struct File {
    rel: String,
    text: String,
}

fn files() -> Vec<File> {
    let mut paths = Vec::new();
    rust_files(&src(), &mut paths);
    paths
        .into_iter()
        .map(|p| File {
            rel: relative(&p),
            text: std::fs::read_to_string(&p).expect("readable source"),
        })
        .collect()
}

#[test]
fn every_file_opens_with_a_one_line_summary() {
    let missing: Vec<String> = files()
        .into_iter()
        .filter(|f| !f.text.starts_with("//! "))
        .map(|f| f.rel)
        .collect();
    assert!(
        missing.is_empty(),
        "files without a `//!` summary: {missing:?}"
    );
}

#[test]
fn no_file_is_oversized_without_a_stated_reason() {
    let mut oversized = Vec::new();
    for f in files() {
        let lines = f.text.lines().count();
        let header: Vec<&str> = f
            .text
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .collect();
        let reason = header.iter().any(|l| l.starts_with("//! Size:"));
        if lines > MAX_LINES && !reason {
            oversized.push(format!("{} ({lines} lines)", f.rel));
        }
    }
    assert!(
        oversized.is_empty(),
        "files over {MAX_LINES} lines without a `//! Size:` reason: {oversized:?}"
    );
}

/// Top-level module → the top-level modules its production code references.
fn dependencies(files: &[File]) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files.iter().filter(|f| !is_test_file(&f.rel)) {
        let from = top_module(&f.rel);
        let entry = graph.entry(from.clone()).or_default();
        for path in crate_paths(&production_code(&f.text)) {
            if path[0] != from {
                entry.insert(path[0].clone());
            }
        }
    }
    graph
}

/// The runtime's modules → the runtime modules their production code references.
fn runtime_dependencies(files: &[File]) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files.iter().filter(|f| !is_test_file(&f.rel)) {
        let Some(inside) = f.rel.strip_prefix("runtime/") else {
            continue;
        };
        if inside == "mod.rs" {
            continue;
        }
        let from = top_module(inside);
        let entry = graph.entry(from.clone()).or_default();
        for path in crate_paths(&production_code(&f.text)) {
            if path[0] == "runtime"
                && let Some(to) = path.get(1)
                && *to != from
            {
                entry.insert(to.clone());
            }
        }
    }
    graph
}

/// A cycle in `graph`, as the list of its nodes, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn there_are_no_import_cycles_between_modules() {
    let files = files();
    let top = dependencies(&files);
    assert_eq!(find_cycle(&top), None, "top-level modules: {top:#?}");
    let runtime = runtime_dependencies(&files);
    assert_eq!(find_cycle(&runtime), None, "runtime modules: {runtime:#?}");
}

/// ARCHITECTURE.md's "API boundaries": what each stage may import (besides itself).
const BOUNDARIES: &[(&str, &[&str])] = &[
    ("diagnostics", &[]),
    ("names", &[]),
    ("expr", &["diagnostics"]),
    ("syntax", &["diagnostics", "expr", "names"]),
    ("manifest", &["diagnostics", "jsonschema"]),
    ("jsonschema", &[]),
    ("ir", &["expr", "diagnostics"]),
    (
        "project",
        &["diagnostics", "ir", "manifest", "syntax", "names"],
    ),
    (
        "lint",
        &["diagnostics", "expr", "syntax", "project", "names"],
    ),
    (
        "check",
        &[
            "diagnostics",
            "expr",
            "syntax",
            "ir",
            "lint",
            "manifest",
            "jsonschema",
            "project",
            "names",
        ],
    ),
    // The runtime sees the IR, never YAML or the AST: from `syntax` only the duration
    // grammar (shared by files and run-time values), checked below.
    (
        "runtime",
        &[
            "ir",
            "expr",
            "diagnostics",
            "jsonschema",
            "manifest",
            "syntax",
        ],
    ),
];

#[test]
fn each_stage_imports_only_what_its_boundary_allows() {
    let files = files();
    let graph = dependencies(&files);
    let mut violations = Vec::new();
    for (module, allowed) in BOUNDARIES {
        for used in graph.get(*module).into_iter().flatten() {
            if !allowed.contains(&used.as_str()) {
                violations.push(format!("{module} imports {used}"));
            }
        }
    }
    for f in files.iter().filter(|f| f.rel.starts_with("runtime/")) {
        for path in crate_paths(&production_code(&f.text)) {
            if path[0] == "syntax" && path.get(1).map(String::as_str) != Some("duration") {
                violations.push(format!("{} imports crate::{}", f.rel, path.join("::")));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "boundary violations: {violations:#?}"
    );
}

#[test]
fn the_import_reader_reads_paths_and_groups() {
    let code = "use crate::ir::{self, Workflow};\nuse crate::{expr::Expr, syntax::ast};\nlet x = $crate::nope;";
    let paths = crate_paths(code);
    assert_eq!(
        paths,
        vec![
            vec!["ir".to_owned()],
            vec!["expr".to_owned(), "Expr".to_owned()],
            vec!["syntax".to_owned(), "ast".to_owned()],
        ]
    );
    let cyclic: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]
    .into();
    assert!(find_cycle(&cyclic).is_some());
}
