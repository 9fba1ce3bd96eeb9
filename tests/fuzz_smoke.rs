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
