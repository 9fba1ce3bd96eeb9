//! Lint throughput on 1,000 generated workflow files, against the bare YAML parse of the
//! same files in the same run. `cargo bench --bench lint` (release).

use stave::check;
use stave::diagnostics::Sources;
use stave::project::ProjectContext;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// A small deterministic generator (xorshift), so every run lints the same files.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One realistic workflow of `steps` steps: activities with inputs built from expressions,
/// conditions, loops, waits, try/catch, sets.
fn workflow(rng: &mut Rng, index: usize, steps: usize) -> String {
    let mut s = format!(
        "stave: 1\nworkflow: generated-{index}\ndescription: generated workflow {index}\nqueue: standard\ntimeout: 1h\n\
         input:\n  type: object\n  required: [order_id, amount, items]\n  properties:\n    order_id: {{ type: string }}\n    amount: {{ type: number }}\n    items: {{ type: array }}\n    email: {{ type: string }}\n\
         vars: {{ status: new, approved: false, count: 0 }}\n\
         defaults:\n  timeout: 30s\n  retry: {{ max_attempts: 5, initial_interval: 1s, backoff: 2.0, max_interval: 1m }}\n\
         signals:\n  approve: {{ set: {{ approved: true }} }}\n\
         queries:\n  status: \"${{ vars.status }}\"\n\
         steps:\n"
    );
    let mut last: Option<String> = None;
    for i in 0..steps {
        let id = format!("s{i}");
        let prev = last.clone().map_or("input.order_id".to_string(), |p| {
            format!("steps.{p}.charge_id")
        });
        match rng.below(10) {
            0 => s.push_str(&format!(
                "  - id: {id}\n    if: \"${{ input.amount > {} && vars.status != 'failed' }}\"\n    activity: payments.charge\n    input: {{ order_id: \"${{ {prev} }}\", amount: \"${{ input.amount * 2.0 }}\", card: visa }}\n    timeout: 10s\n",
                rng.below(5000)
            )),
            1 => {
                s.push_str(&format!(
                    "  - id: {id}\n    foreach: \"${{ input.items }}\"\n    as: item\n    concurrency: 5\n    steps:\n      - activity: shipping.ship\n        input: {{ order_id: \"${{ input.order_id }}\", sku: \"${{ string(item.sku) }}\", qty: \"${{ int(item.qty) }}\" }}\n"
                ));
                continue;
            }
            2 => {
                s.push_str(&format!("  - set: {{ status: \"step {i}: ${{ vars.status }}\", count: \"${{ vars.count + 1 }}\" }}\n"));
                continue;
            }
            3 => {
                s.push_str(&format!(
                    "  - try:\n      - id: {id}\n        activity: billing.invoice\n        input: {{ order_id: \"${{ input.order_id }}\", amount: \"${{ input.amount }}\" }}\n    catch:\n      - errors: [InvoiceUnavailable]\n        as: err\n        steps: [ {{ set: {{ status: \"${{ 'no invoice: ' + err.message }}\" }} }} ]\n"
                ));
                continue;
            }
            4 => {
                s.push_str("  - wait: { signal: approve, until: \"${ vars.approved }\", timeout: 1h, on_timeout: continue }\n");
                continue;
            }
            _ => s.push_str(&format!(
                "  - id: {id}\n    activity: payments.charge\n    input: {{ order_id: \"${{ {prev} }}\", amount: \"${{ has(input.amount) ? input.amount : 0.0 }}\", card: \"${{ input.items.size() > 2 ? 'amex' : 'visa' }}\" }}\n    retry: {{ max_attempts: 3, non_retryable: [CardDeclined] }}\n"
            )),
        }
        last = Some(id);
    }
    s.push_str("output: \"${ {'status': vars.status, 'count': vars.count} }\"\n");
    s
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = Sources::default();
    let mut diags = Vec::new();
    let context: ProjectContext =
        check::load_project_context(&root.join("tests/fixtures/lint"), &mut sources, &mut diags);
    assert!(diags.is_empty(), "fixture project must load");

    let mut rng = Rng(0x5eed_cafe_f00d_beef);
    let files: Vec<String> = (0..1000)
        .map(|i| {
            let steps = 20 + rng.below(181) as usize;
            workflow(&mut rng, i, steps)
        })
        .collect();
    let bytes: usize = files.iter().map(String::len).sum();

    // Every generated file must be valid, or the benchmark measures error paths.
    for (i, f) in files.iter().take(50).enumerate() {
        let (_, ir, d) = check::compile_source(&format!("g{i}.stave.yaml"), f, &context);
        let errors: Vec<_> = d
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.message.clone())
            .collect();
        assert!(
            ir.is_some() && errors.is_empty(),
            "generated file {i} has errors: {errors:?}"
        );
    }

    let rounds = 5;
    let mut lint = Vec::new();
    let mut bare = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        for (i, f) in files.iter().enumerate() {
            let mut sources = Sources::default();
            let file = sources.add(format!("g{i}.stave.yaml"), f.as_str());
            black_box(check::lint_file(
                &sources,
                file,
                check::Form::Yaml,
                &context,
            ));
        }
        lint.push(start.elapsed());
        let start = Instant::now();
        for f in &files {
            let value: Result<serde_json::Value, _> = serde_saphyr::from_str(f);
            black_box(value.is_ok());
        }
        bare.push(start.elapsed());
    }
    let (lint, bare) = (median(lint), median(bare));
    let mb = bytes as f64 / 1e6;
    println!(
        "files: {}  total: {:.2} MB  (median of {rounds} rounds)",
        files.len(),
        mb
    );
    println!(
        "lint (parse + check + lint, YAML form): {:>8.1} files/s  {:>6.2} MB/s  {:?}",
        files.len() as f64 / lint.as_secs_f64(),
        mb / lint.as_secs_f64(),
        lint
    );
    println!(
        "bare YAML parse (serde-saphyr → Value):  {:>8.1} files/s  {:>6.2} MB/s  {:?}",
        files.len() as f64 / bare.as_secs_f64(),
        mb / bare.as_secs_f64(),
        bare
    );
    println!(
        "ratio lint / bare parse: {:.2} (target ≤ 1.5)",
        lint.as_secs_f64() / bare.as_secs_f64()
    );
}
