//! A deterministic mutation run over every sample and fixture: the front end never panics.
//! (The coverage-guided fuzzer is `fuzz/`; this runs in CI on the stable toolchain.)

use stave::check;
use stave::project::ProjectContext;
use std::path::Path;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn corpus() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in ["workflows", "tests/fixtures/lint"] {
        for path in check::workflow_files(&root.join(dir)).unwrap_or_default() {
            if let Ok(text) = std::fs::read_to_string(&path) {
                out.push((
                    path.file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned(),
                    text,
                ));
            }
        }
    }
    assert!(out.len() > 50, "corpus too small: {}", out.len());
    out
}

/// Tokens that stress the parsers: YAML indicators, template and expression syntax, text-form keywords.
const TOKENS: &[&str] = &[
    "1e999999",
    "99999999999999999999999999999d",
    "P9999999999999999999999W",
    "${",
    "}",
    "${ steps.",
    "[",
    "]",
    "{",
    ":",
    "- ",
    "\n  ",
    "&a",
    "*a",
    "<<: ",
    "\"",
    "'",
    "\\",
    "!!",
    "(",
    ")",
    ".",
    "?",
    "&&",
    "||",
    "!",
    "in ",
    "map(",
    "filter(x, ",
    "size(",
    "1e999",
    "-9223372036854775808",
    "9223372036854775807 + 1",
    "\u{0}",
    "\u{feff}",
    "é",
    "step ",
    "if ",
    "{ ",
    "parallel ",
    "for x in ",
    "wait ",
    "sleep 1",
    "retry { ",
    "#",
    "//",
    "\t",
    "---\n",
    "...\n",
];

#[test]
fn mutated_inputs_never_panic() {
    let context = ProjectContext::default();
    let corpus = corpus();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for i in 0..20_000 {
        let (name, text) = &corpus[(rng.next() % corpus.len() as u64) as usize];
        let mut bytes = text.as_bytes().to_vec();
        for _ in 0..=(rng.next() % 4) {
            let at = if bytes.is_empty() {
                0
            } else {
                (rng.next() % bytes.len() as u64) as usize
            };
            match rng.next() % 4 {
                0 => bytes.truncate(at),
                1 => {
                    let token = TOKENS[(rng.next() % TOKENS.len() as u64) as usize];
                    bytes.splice(at..at, token.bytes());
                }
                2 => {
                    let end = (at + (rng.next() % 16) as usize).min(bytes.len());
                    bytes.drain(at..end);
                }
                _ => {
                    if let Some(b) = bytes.get_mut(at) {
                        *b = (rng.next() & 0x7f) as u8;
                    }
                }
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        let path = if i % 3 == 0 {
            "m.stave"
        } else {
            "m.stave.yaml"
        };
        let _ = (name, check::compile_source(path, &text, &context));
    }
}

/// Inputs built to exhaust memory or time: each must end in diagnostics, promptly.
#[test]
fn hostile_inputs_end_in_diagnostics() {
    let context = ProjectContext::default();
    let mut laughs = String::from("stave: 1\nworkflow: w\nvars:\n  a0: &a0 [lol]\n");
    for level in 1..=12 {
        let refs = vec![format!("*a{}", level - 1); 10].join(", ");
        laughs.push_str(&format!("  a{level}: &a{level} [{refs}]\n"));
    }
    laughs.push_str("steps:\n  - set: { a0: 1 }\n");
    let deep_yaml = format!(
        "stave: 1\nworkflow: w\nvars:\n  v: {}{}\nsteps: []\n",
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    let deep_expr = format!(
        "stave: 1\nworkflow: w\nsteps:\n  - if: \"${{ {}1{} }}\"\n    set: {{}}\n",
        "(".repeat(50_000),
        ")".repeat(50_000)
    );
    let huge_numbers = "stave: 1\nworkflow: w\nvars: { n: 1e999999, m: -99999999999999999999999999999 }\nsteps:\n  - sleep: 99999999999999999999999999d\n  - sleep: \"${ 1e300 }\"\n";
    let text_form = format!(
        "stave 1\nworkflow w\nsteps {{\n  sleep {}d\n}}\n",
        "9".repeat(400)
    );
    for (name, path, text) in [
        ("billion laughs", "w.stave.yaml", laughs.as_str()),
        ("deep YAML", "w.stave.yaml", deep_yaml.as_str()),
        ("deep expression", "w.stave.yaml", deep_expr.as_str()),
        ("huge numbers", "w.stave.yaml", huge_numbers),
        ("huge text-form duration", "w.stave", text_form.as_str()),
    ] {
        let started = std::time::Instant::now();
        let (_, ir, diagnostics) = check::compile_source(path, text, &context);
        assert!(ir.is_none(), "{name}: compiled");
        assert!(diagnostics.iter().any(|d| d.is_error()), "{name}: no error");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{name}: {:?}",
            started.elapsed()
        );
    }
}

/// A project whose directories link back to themselves loads in bounded time.
#[cfg(unix)]
#[test]
fn symlink_loops_in_a_project_end_the_walk() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("stave.yaml"),
        "namespace: default\nqueues:\n  standard: { task_queue: t }\n",
    )
    .unwrap();
    let flows = dir.path().join("flows");
    std::fs::create_dir(&flows).unwrap();
    std::fs::write(
        flows.join("a.stave.yaml"),
        "stave: 1\nworkflow: a\nsteps:\n  - set: {}\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(dir.path(), flows.join("loop")).unwrap();
    let load = check::load_project(dir.path());
    let sources: Vec<_> = load
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.clone())
        .collect();
    assert!(sources.is_empty(), "{sources:?}");
    assert_eq!(load.bundle.map(|b| b.workflows.len()), Some(1));
}
