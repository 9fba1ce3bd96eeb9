//! A test file checked against the project: the workflow exists, every mock can answer
//! something the workflow calls, mocked outputs fit the manifest, signals and queries exist.

use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostics::{Code, Diagnostic, Spanned, did_you_mean};
use crate::ir::{StepKind, Workflow};
use crate::manifest::Manifest;
use crate::runtime::interpreter::STATUS_QUERY;
use crate::syntax::yaml::testfile::{MockTarget, ResponseKind, TestFile};

/// What the workflow under test (and the project workflows it starts) can call.
struct Reach<'p> {
    activities: BTreeSet<&'p str>,
    /// Step name → the activity it calls (None for a child workflow step).
    steps: BTreeMap<String, Option<&'p str>>,
    children: BTreeSet<&'p str>,
}

fn reach<'p>(root: &'p Workflow, programs: &BTreeMap<&str, &'p Workflow>) -> Reach<'p> {
    let mut out = Reach {
        activities: BTreeSet::new(),
        steps: BTreeMap::new(),
        children: BTreeSet::new(),
    };
    let mut todo = vec![root];
    let mut seen = BTreeSet::new();
    while let Some(program) = todo.pop() {
        if !seen.insert(program.name.as_str()) {
            continue;
        }
        program.walk(&mut |step| match &step.kind {
            StepKind::Activity(call) => {
                out.activities.insert(call.activity.as_str());
                if let Some(compensate) = &call.compensate {
                    out.activities.insert(compensate.activity.as_str());
                }
                out.steps.insert(step.name(), Some(call.activity.as_str()));
            }
            StepKind::Child(call) => {
                out.children.insert(call.workflow.as_str());
                out.steps.insert(step.name(), None);
                if let Some(child) = programs.get(call.workflow.as_str()) {
                    todo.push(child);
                }
            }
            _ => {}
        });
    }
    out
}

fn unknown(code: Code, name: &Spanned<String>, message: String, candidates: &[&str]) -> Diagnostic {
    let help = did_you_mean(&name.value, candidates.iter().copied()).unwrap_or_else(|| {
        if candidates.is_empty() {
            "there is none to choose from".to_string()
        } else {
            format!("choose one of: {}", candidates.join(", "))
        }
    });
    Diagnostic::new(code, name.span, message).help(help)
}

/// Checks `test` against the project's `programs`; returns the program under test if known.
pub fn check<'p>(
    test: &TestFile,
    programs: &BTreeMap<&str, &'p Workflow>,
    manifest: Option<&Manifest>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<&'p Workflow> {
    let Some(program) = programs.get(test.workflow.value.as_str()).copied() else {
        let names: Vec<&str> = programs.keys().copied().collect();
        diagnostics.push(unknown(
            Code::E081,
            &test.workflow,
            format!("the project defines no workflow `{}`", test.workflow.value),
            &names,
        ));
        return None;
    };
    let reach = reach(program, programs);
    let mocks = test
        .mocks
        .iter()
        .chain(test.cases.iter().flat_map(|c| c.mocks.iter()));
    for mock in mocks {
        let name = mock.target.name();
        let (known, kind, candidates): (bool, &str, Vec<&str>) = match &mock.target {
            MockTarget::Activity(n) => (
                reach.activities.contains(n.value.as_str()),
                "activity",
                reach.activities.iter().copied().collect(),
            ),
            MockTarget::Step(n) => (
                reach.steps.contains_key(&n.value),
                "step",
                reach.steps.keys().map(String::as_str).collect(),
            ),
            MockTarget::Workflow(n) => (
                reach.children.contains(n.value.as_str()),
                "child workflow",
                reach.children.iter().copied().collect(),
            ),
        };
        if !known {
            diagnostics.push(unknown(
                Code::E082,
                name,
                format!(
                    "`{}` never calls {kind} `{}`: this mock can never answer",
                    program.name, name.value
                ),
                &candidates,
            ));
            continue;
        }
        let activity = match &mock.target {
            MockTarget::Activity(n) => Some(n.value.as_str()),
            MockTarget::Step(n) => reach.steps.get(&n.value).copied().flatten(),
            MockTarget::Workflow(_) => None,
        };
        let schema = activity
            .and_then(|a| manifest?.get(a))
            .and_then(|spec| spec.output.as_ref().map(|o| (spec.name.as_str(), o)));
        let Some((activity, schema)) = schema else {
            continue;
        };
        for response in &mock.responses {
            if let ResponseKind::Output(output) = &response.kind {
                let errors = crate::jsonschema::validate(schema, &output.value, "output");
                if let Some(first) = errors.first() {
                    let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
                    diagnostics.push(
                        Diagnostic::new(
                            Code::E083,
                            output.span,
                            format!(
                                "this output of `{activity}` does not match its output schema: {}",
                                list.join("; ")
                            ),
                        )
                        .label(first.to_string())
                        .help(format!(
                            "make the output match the `output` schema of `{activity}` in the activity manifest"
                        )),
                    );
                }
            }
        }
    }
    let mut signals: BTreeSet<&str> = program.signals.iter().map(|s| s.name.as_str()).collect();
    program.walk(&mut |step| {
        signals.extend(step.kind.wait_names());
    });
    let updates: BTreeSet<&str> = program.updates.iter().map(|u| u.name.as_str()).collect();
    signals.retain(|s| !updates.contains(s));
    let mut queries: BTreeSet<&str> = program.queries.iter().map(|(n, _)| n.as_str()).collect();
    queries.insert(STATUS_QUERY);
    for case in &test.cases {
        for signal in &case.signals {
            if !signals.contains(signal.name.value.as_str()) {
                let names: Vec<&str> = signals.iter().copied().collect();
                diagnostics.push(unknown(
                    Code::E084,
                    &signal.name,
                    format!(
                        "`{}` declares no signal `{}`: it would be ignored",
                        program.name, signal.name.value
                    ),
                    &names,
                ));
            }
        }
        for update in &case.updates {
            if !updates.contains(update.name.value.as_str()) {
                let names: Vec<&str> = updates.iter().copied().collect();
                diagnostics.push(unknown(
                    Code::E084,
                    &update.name,
                    format!(
                        "`{}` declares no update `{}`: it would be rejected",
                        program.name, update.name.value
                    ),
                    &names,
                ));
            }
        }
        for query in &case.queries {
            if !queries.contains(query.name.value.as_str()) {
                let names: Vec<&str> = queries.iter().copied().collect();
                diagnostics.push(unknown(
                    Code::E084,
                    &query.name,
                    format!(
                        "`{}` declares no query `{}`: it would be rejected",
                        program.name, query.name.value
                    ),
                    &names,
                ));
            }
        }
        for expect in &case.expect.activities {
            let name = &expect.name.value;
            let known = match name.strip_prefix("step:") {
                Some(step) => reach.steps.contains_key(step),
                None => reach.activities.contains(name.as_str()),
            };
            if !known {
                let names: Vec<&str> = reach.activities.iter().copied().collect();
                diagnostics.push(unknown(
                    Code::E082,
                    &expect.name,
                    format!(
                        "`{}` never calls activity `{name}`: expect its attempts by activity type or `step:ID`",
                        program.name
                    ),
                    &names,
                ));
            }
        }
    }
    Some(program)
}
