//! `stave test` throughput: simulated cases per second, without a server.
//!
//! - `samples`: the samples' test files (`workflows/tests/`, 23 cases: retries with backoff,
//!   waits of a day and a week, a real child workflow, a race, compensations).
//! - `generated_1000`: a generated file of 1,000 cases of a 20-step workflow (activities,
//!   one retried after 1s, an `if`, a `switch`, a `set`, a 10-item `foreach`).
//!
//! Criterion's throughput is in cases, so "thrpt" is cases per second. Target (issue 11):
//! ≥ 1,000 cases/s for 20-step workflows in release.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stave::check::{self, ProjectLoad};
use stave::testing::{self, Suite, run};

fn load(dir: &Path) -> (ProjectLoad, Suite) {
    let mut project = check::load_project(dir);
    assert!(!project.has_errors(), "{:?}", project.diagnostics);
    let paths = testing::discover(&project, &[]).expect("discover test files");
    let suite = testing::load(&mut project, &paths);
    assert!(!suite.has_errors(), "{:?}", suite.diagnostics);
    (project, suite)
}

/// A 20-step workflow: 15 activity steps (one inside a `foreach` over 10 items), an `if`, a
/// `switch` with two arms and a default, a `set`.
const WORKFLOW: &str = r#"stave: 1
workflow: twenty
queue: standard
input: { type: object, required: [n], properties: { n: { type: integer } } }
vars: { total: 0 }
defaults: { timeout: 10s, retry: { max_attempts: 3, initial_interval: 1s } }
steps:
  - { id: a1, activity: work, input: { n: "${ input.n }" } }
  - { id: a2, activity: work, input: { n: "${ steps.a1.n + 1 }" } }
  - { id: a3, activity: work, input: { n: "${ steps.a2.n + 1 }" } }
  - { id: a4, activity: work, input: { n: "${ steps.a3.n + 1 }" } }
  - if: "${ input.n % 2 == 0 }"
    steps:
      - { id: even, activity: work, input: { n: "${ input.n }" } }
    else:
      - { id: odd, activity: work, input: { n: "${ input.n }" } }
  - switch:
      - when: "${ input.n % 3 == 0 }"
        steps: [ { id: three, activity: work, input: { n: 3 } } ]
      - when: "${ input.n % 3 == 1 }"
        steps: [ { id: one, activity: work, input: { n: 1 } } ]
      - default: [ { id: other, activity: work, input: { n: 0 } } ]
  - set: { total: "${ steps.a4.n * 2 }" }
  - id: each
    foreach: "${ [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }"
    concurrency: 5
    steps:
      - { id: item_work, activity: work, input: { n: "${ item }" } }
  - { id: a5, activity: work, input: { n: "${ vars.total }" } }
  - { id: a6, activity: work, input: { n: "${ steps.a5.n }" } }
  - { id: a7, activity: work, input: { n: "${ steps.a6.n }" } }
  - { id: a8, activity: work, input: { n: "${ steps.a7.n }" } }
  - { id: a9, activity: work, input: { n: "${ steps.a8.n }" } }
output: "${ {'total': vars.total, 'items': size(steps.each)} }"
"#;

fn generated_project(cases: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, text: &str| {
        std::fs::write(dir.path().join(name), text).expect("write");
    };
    write(
        "stave.yaml",
        "namespace: bench\nqueues:\n  standard: { task_queue: bench-standard }\n",
    );
    write("twenty.stave.yaml", WORKFLOW);
    let mut test = String::from(
        "stave_test: 1\nworkflow: twenty\nmocks:\n  - activity: work\n    when: \"${ attempt == 1 && input.n == 2 }\"\n    respond: { error: { type: Busy } }\n  - activity: work\n    respond: { output: { n: 2 } }\ncases:\n",
    );
    for i in 0..cases {
        test.push_str(&format!(
            "  - name: case {i}\n    input: {{ n: {i} }}\n    expect: {{ output: {{ total: 4, items: 10 }} }}\n"
        ));
    }
    write("twenty.test.yaml", &test);
    dir
}

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (project, suite) = load(root);
    let cases = suite
        .files
        .iter()
        .map(|f| f.test.cases.len())
        .sum::<usize>();
    let report = run::simulate(&project, &suite);
    assert_eq!(report.failed(), 0, "the samples' tests must pass");
    let mut group = c.benchmark_group("test_runner");
    group.throughput(Throughput::Elements(cases as u64));
    group.bench_function("samples", |b| {
        b.iter(|| black_box(run::simulate(&project, &suite)))
    });

    let dir = generated_project(1_000);
    let (project, suite) = load(dir.path());
    let report = run::simulate(&project, &suite);
    assert_eq!(report.failed(), 0, "the generated cases must pass");
    group.throughput(Throughput::Elements(1_000));
    group.sample_size(10);
    group.bench_function("generated_1000", |b| {
        b.iter(|| black_box(run::simulate(&project, &suite)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
