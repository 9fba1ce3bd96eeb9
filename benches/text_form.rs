//! The text form against the YAML form, on the same 1,000 generated workflows: parse only
//! (source → AST) and the whole lint (parse + check + lint). `cargo bench --bench text_form`.
//!
//! Each workflow is generated once in the YAML form and converted to the text form with the
//! printer, so both sides hold exactly the same workflows; times are compared per workflow,
//! throughput is also given in MB/s of each form's own bytes.

use stave::check::{self, Form};
use stave::diagnostics::{FileId, Sources};
use stave::project::ProjectContext;
use stave::syntax::{print_text, text, yaml};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// A small deterministic generator (xorshift), so every run measures the same files.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// One workflow of `steps` steps in the YAML form, mixing every common construct.
fn workflow(rng: &mut Rng, index: usize, steps: usize) -> String {
    let mut s = format!(
        "stave: 1\nworkflow: generated-{index}\ndescription: generated workflow {index}\nqueue: standard\n\
         timeout: 1h\ninput:\n  type: object\n  required: [order_id, amount, items]\n  properties:\n    \
         order_id: {{ type: string }}\n    amount: {{ type: number }}\n    items: {{ type: array }}\n\
         vars: {{ status: new, approved: false, count: 0 }}\n\
         defaults:\n  timeout: 30s\n  retry: {{ max_attempts: 5, initial_interval: 1s, backoff: 2.0, max_interval: 1m }}\n\
         signals:\n  approve: {{ set: {{ approved: true }} }}\nqueries:\n  status: \"${{ vars.status }}\"\nsteps:\n"
    );
    for i in 0..steps {
        match rng.below(6) {
            0 => s.push_str(&format!(
                "  - id: s{i}\n    if: \"${{ input.amount > {} && vars.status != 'failed' }}\"\n    activity: payments.charge\n    \
                 input: {{ order_id: \"${{ input.order_id }}\", amount: \"${{ input.amount * 2.0 }}\", card: visa }}\n    timeout: 10s\n",
                rng.below(5000)
            )),
            1 => s.push_str(&format!(
                "  - id: s{i}\n    foreach: \"${{ input.items }}\"\n    as: item\n    concurrency: 5\n    steps:\n      \
                 - activity: shipping.ship\n        input: {{ order_id: \"${{ input.order_id }}\", sku: \"${{ string(item.sku) }}\" }}\n"
            )),
            2 => s.push_str(&format!(
                "  - set: {{ status: \"step {i}: ${{ vars.status }}\", count: \"${{ vars.count + 1 }}\" }}\n"
            )),
            3 => s.push_str(&format!(
                "  - try:\n      - id: s{i}\n        activity: billing.invoice\n        input: {{ order_id: \"${{ input.order_id }}\" }}\n    \
                 catch:\n      - errors: [InvoiceUnavailable]\n        as: err\n        steps: [ {{ set: {{ status: \"${{ 'no invoice: ' + err.message }}\" }} }} ]\n"
            )),
            4 => s.push_str("  - wait: { signal: approve, until: \"${ vars.approved }\", timeout: 1h, on_timeout: continue }\n"),
            _ => s.push_str(&format!(
                "  - id: s{i}\n    activity: payments.charge\n    input: {{ order_id: \"${{ input.order_id }}\", amount: \"${{ has(input.amount) ? input.amount : 0.0 }}\" }}\n    \
                 retry: {{ max_attempts: 3, non_retryable: [CardDeclined] }}\n"
            )),
        }
    }
    s.push_str("output: \"${ {'status': vars.status, 'count': vars.count} }\"\n");
    s
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Median over `rounds` of running `f` on every file.
fn time(rounds: usize, files: &[String], f: impl Fn(usize, &str)) -> Duration {
    let samples = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for (i, file) in files.iter().enumerate() {
                f(i, file);
            }
            start.elapsed()
        })
        .collect();
    median(samples)
}

fn report(what: &str, files: usize, bytes: usize, t: Duration) {
    let mb = bytes as f64 / 1e6;
    println!(
        "{what:<34} {:>8.1} workflows/s  {:>7.2} MB/s  {t:?}",
        files as f64 / t.as_secs_f64(),
        mb / t.as_secs_f64()
    );
}

fn main() {
    let mut rng = Rng(0x5eed_cafe_f00d_beef);
    let yaml_files: Vec<String> = (0..1000)
        .map(|i| {
            let steps = 20 + rng.below(181) as usize;
            workflow(&mut rng, i, steps)
        })
        .collect();
    let text_files: Vec<String> = yaml_files
        .iter()
        .map(|y| {
            let (w, d) = yaml::load(FileId(0), y);
            assert!(d.is_empty(), "generated YAML has diagnostics: {d:?}");
            print_text::print_text(&w.expect("a workflow"))
        })
        .collect();
    // Both forms must read cleanly, or the benchmark measures error paths.
    for t in text_files.iter().take(50) {
        let (w, d) = text::parse(FileId(0), t);
        assert!(
            w.is_some() && d.is_empty(),
            "generated text has diagnostics: {d:?}"
        );
    }
    let yaml_bytes: usize = yaml_files.iter().map(String::len).sum();
    let text_bytes: usize = text_files.iter().map(String::len).sum();
    let rounds = 5;
    let context = ProjectContext::default();

    let yaml_parse = time(rounds, &yaml_files, |_, f| {
        black_box(yaml::load(FileId(0), f));
    });
    let text_parse = time(rounds, &text_files, |_, f| {
        black_box(text::parse(FileId(0), f));
    });
    let context = &context;
    let lint = |form: Form| {
        move |i: usize, f: &str| {
            let mut sources = Sources::default();
            let file = sources.add(format!("g{i}"), f);
            black_box(check::lint_file(&sources, file, form, context));
        }
    };
    let yaml_lint = time(rounds, &yaml_files, lint(Form::Yaml));
    let text_lint = time(rounds, &text_files, lint(Form::Text));

    println!(
        "workflows: {}  YAML form: {:.2} MB  text form: {:.2} MB  (median of {rounds} rounds)",
        yaml_files.len(),
        yaml_bytes as f64 / 1e6,
        text_bytes as f64 / 1e6
    );
    report("parse, YAML form", yaml_files.len(), yaml_bytes, yaml_parse);
    report("parse, text form", text_files.len(), text_bytes, text_parse);
    report("lint, YAML form", yaml_files.len(), yaml_bytes, yaml_lint);
    report("lint, text form", text_files.len(), text_bytes, text_lint);
    println!(
        "text / YAML time for the same workflows: parse {:.2}, lint {:.2} (target ≤ 1.0)",
        text_parse.as_secs_f64() / yaml_parse.as_secs_f64(),
        text_lint.as_secs_f64() / yaml_lint.as_secs_f64()
    );
}
