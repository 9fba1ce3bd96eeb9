//! The pin is exact: a program's hash changes exactly when the program (minus positions) does.
//!
//! Programs are generated as a small model, rendered to YAML with random layout noise (blank
//! lines, comments, flow or block style) so positions move, and compiled. The property:
//! `hash(render(p, noise₁)) == hash(render(q, noise₂))` ⇔ `p == q`. Data keys named `loc`
//! and `span` are generated on purpose: IR version 1 stripped them by name.

use proptest::prelude::*;
use stave::check;

#[derive(Debug, Clone, PartialEq)]
enum Data {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    List(Vec<Data>),
    Map(Vec<(String, Data)>),
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// `set: { n: "${ vars.n + add }" }`
    Add(i64),
    /// `if: "${ vars.n > k }"` with a nested block.
    If(i64, Vec<Step>),
    /// `set: { d: DATA }`
    SetData(Data),
}

#[derive(Debug, Clone, PartialEq)]
struct Program {
    data: Data,
    steps: Vec<Step>,
    output: Data,
}

const KEYS: &[&str] = &["loc", "span", "a", "b", "source", "hash"];

fn data() -> impl Strategy<Value = Data> {
    let leaf = prop_oneof![
        Just(Data::Null),
        any::<bool>().prop_map(Data::Bool),
        (-3i64..3).prop_map(Data::Int),
        prop::sample::select(vec!["NYC", "LA", "x y", ""]).prop_map(|s| Data::Str(s.into())),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Data::List),
            prop::collection::btree_map(prop::sample::select(KEYS), inner, 0..3).prop_map(|m| {
                Data::Map(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let leaf = prop_oneof![
        (-2i64..3).prop_map(Step::Add),
        data().prop_map(Step::SetData)
    ];
    let step = leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            (-2i64..3).prop_map(Step::Add),
            ((-1i64..2), prop::collection::vec(inner, 1..3)).prop_map(|(k, s)| Step::If(k, s)),
        ]
    });
    prop::collection::vec(step, 1..4)
}

fn program() -> impl Strategy<Value = Program> {
    (data(), steps(), data()).prop_map(|(data, steps, output)| Program {
        data,
        steps,
        output,
    })
}

/// A small change that is sometimes no change at all.
fn mutate(p: &Program, which: u8, value: Data) -> Program {
    let mut q = p.clone();
    match which % 4 {
        0 => q.output = value,
        1 => q.data = value,
        2 => q.steps.push(Step::SetData(value)),
        _ => {}
    }
    q
}

/// Layout noise: how data is written and what filler lines stand between entries.
#[derive(Debug, Clone)]
struct Noise {
    flow: bool,
    filler: Vec<u8>,
}

fn noise() -> impl Strategy<Value = Noise> {
    (any::<bool>(), prop::collection::vec(0u8..3, 8))
        .prop_map(|(flow, filler)| Noise { flow, filler })
}

impl Noise {
    fn filler(&self, at: usize, indent: usize) -> String {
        match self.filler[at % self.filler.len()] {
            0 => String::new(),
            1 => "\n".into(),
            _ => format!(
                "{}# a comment that moves everything below\n",
                " ".repeat(indent)
            ),
        }
    }
}

fn flow(d: &Data) -> String {
    match d {
        Data::Null => "null".into(),
        Data::Bool(b) => b.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Str(s) => format!("{s:?}"),
        Data::List(items) => format!(
            "[{}]",
            items.iter().map(flow).collect::<Vec<_>>().join(", ")
        ),
        Data::Map(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(k, v)| format!("{k}: {}", flow(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `key:` followed by the value, in flow style or (for non-empty collections) block style.
fn entry(key: &str, d: &Data, indent: usize, noise: &Noise, out: &mut String) {
    let pad = " ".repeat(indent);
    let block = !noise.flow
        && match d {
            Data::List(items) => !items.is_empty(),
            Data::Map(entries) => !entries.is_empty(),
            _ => false,
        };
    if !block {
        out.push_str(&format!("{pad}{key}: {}\n", flow(d)));
        return;
    }
    out.push_str(&format!("{pad}{key}:\n"));
    match d {
        Data::List(items) => {
            for (i, item) in items.iter().enumerate() {
                out.push_str(&noise.filler(i + indent, indent + 2));
                out.push_str(&format!("{pad}  - {}\n", flow(item)));
            }
        }
        Data::Map(entries) => {
            for (i, (k, v)) in entries.iter().enumerate() {
                out.push_str(&noise.filler(i + indent, indent + 2));
                entry(k, v, indent + 2, noise, out);
            }
        }
        _ => unreachable!("only collections are written in block style"),
    }
}

fn render_steps(steps: &[Step], indent: usize, noise: &Noise, out: &mut String) {
    let pad = " ".repeat(indent);
    for (i, step) in steps.iter().enumerate() {
        out.push_str(&noise.filler(i + 3, indent));
        match step {
            Step::Add(n) => {
                out.push_str(&format!("{pad}- set: {{ n: \"${{ vars.n + {n} }}\" }}\n"))
            }
            Step::SetData(d) => {
                out.push_str(&format!("{pad}- set:\n"));
                entry("d", d, indent + 4, noise, out);
            }
            Step::If(k, body) => {
                out.push_str(&format!("{pad}- if: \"${{ vars.n > {k} }}\"\n"));
                out.push_str(&format!("{pad}  steps:\n"));
                render_steps(body, indent + 4, noise, out);
            }
        }
    }
}

fn render(p: &Program, noise: &Noise) -> String {
    let mut out = String::from("stave: 1\nworkflow: generated\n");
    out.push_str(&noise.filler(0, 0));
    out.push_str("vars:\n  n: 0\n");
    entry("d", &p.data, 2, noise, &mut out);
    out.push_str(&noise.filler(1, 0));
    out.push_str("steps:\n");
    render_steps(&p.steps, 2, noise, &mut out);
    out.push_str(&noise.filler(2, 0));
    entry("output", &p.output, 0, noise, &mut out);
    out
}

fn hash(p: &Program, noise: &Noise) -> String {
    let text = render(p, noise);
    let context = stave::project::ProjectContext::default();
    let (_, ir, diagnostics) = check::compile_source("generated.stave.yaml", &text, &context);
    let errors: Vec<_> = diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{text}\n{errors:#?}");
    ir.expect("error-free input compiles").hash
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn layout_never_changes_the_hash(p in program(), a in noise(), b in noise()) {
        prop_assert_eq!(hash(&p, &a), hash(&p, &b));
    }

    #[test]
    fn the_hash_changes_exactly_when_the_program_does(
        p in program(), which in any::<u8>(), value in data(), a in noise(), b in noise()
    ) {
        let q = mutate(&p, which, value);
        prop_assert_eq!(hash(&p, &a) == hash(&q, &b), p == q, "p = {:?}\nq = {:?}", p, q);
    }
}

#[test]
fn a_location_in_literal_data_is_part_of_the_program() {
    let noise = Noise {
        flow: true,
        filler: vec![0],
    };
    let at = |city: &str| Program {
        data: Data::Map(vec![("loc".into(), Data::Str(city.into()))]),
        steps: vec![Step::Add(1)],
        output: Data::Null,
    };
    assert_ne!(hash(&at("NYC"), &noise), hash(&at("LA"), &noise));
}

/// A program written before a release must keep its hash after it: runs in flight are pinned
/// to it. New optional IR fields are left out of the canonical JSON when unset, so this hash,
/// taken before `status_query` existed, stays what it was.
#[test]
fn a_program_keeps_its_hash_across_releases() {
    let text = "stave: 1
workflow: pinned
vars:
  approved: false
  token: secret
queries:
  approved: \"${ vars.approved }\"
signals:
  approve:
    set: { approved: true }
steps:
  - id: charge
    activity: payments.charge
    input: { amount: 1 }
    timeout: 10s
  - wait: approve
  - return: \"${ vars.approved }\"
";
    let context = stave::project::ProjectContext::default();
    let (_, ir, diagnostics) = check::compile_source("pinned.stave.yaml", text, &context);
    assert!(
        diagnostics.iter().all(|d| !d.is_error()),
        "{diagnostics:#?}"
    );
    assert_eq!(
        ir.expect("compiles").hash,
        "e687855cca166f93f039d04cba4488713bdd9ba592b2d65bb11178dcf67898d2"
    );
}
