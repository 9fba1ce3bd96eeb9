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
            let (w, _) = yaml::load(FileId(0), y);
            print_text::print_text(&w.expect("a workflow"))
        })
        .collect();
    let what = std::env::args().nth(1).unwrap_or_default();
    let rounds = 3;
    let cels: Vec<Vec<(String, usize)>> = text_files
        .iter()
        .map(|t| text::scratch_cel_texts(t))
        .collect();
    let n: usize = cels.iter().map(Vec::len).sum();
    println!("expressions: {n}");
    let r = |name: &str, t: Duration| println!("{name:<20} {t:?}");
    if what.is_empty() || what == "yaml" {
        r(
            "yaml node",
            time(rounds, &yaml_files, |_, f| {
                black_box(stave::syntax::yaml::node::parse(FileId(0), f));
            }),
        );
        r(
            "yaml load",
            time(rounds, &yaml_files, |_, f| {
                black_box(yaml::load(FileId(0), f));
            }),
        );
        r(
            "saphyr value",
            time(rounds, &yaml_files, |_, f| {
                let v: Result<serde_json::Value, _> = serde_saphyr::from_str(f);
                black_box(v.is_ok());
            }),
        );
    }
    if what.is_empty() || what == "text" {
        r(
            "scan",
            time(rounds, &text_files, |_, f| {
                black_box(text::scan::scan(f));
            }),
        );
        r(
            "pest only",
            time(rounds, &text_files, |_, f| {
                black_box(text::scratch_pest_only(f));
            }),
        );
        r(
            "text parse",
            time(rounds, &text_files, |_, f| {
                black_box(text::parse(FileId(0), f));
            }),
        );
        let start = Instant::now();
        for _ in 0..rounds {
            for c in &cels {
                for (s, o) in c {
                    black_box(stave::expr::parse_expr(s, FileId(0), *o).is_ok());
                }
            }
        }
        r("exprs of text", start.elapsed() / rounds as u32);
    }
}
