//! Which reads of a step's result may fail (W009) and which always fail (E019), in both forms.

use crate::check::compile_source;
use crate::diagnostics::Code;
use crate::project::ProjectContext;

/// The W009 and E019 of a file (any other error fails the test), as `CODE step`.
fn reads(path: &str, source: &str) -> Vec<String> {
    let (_, _, diags) = compile_source(path, source, &ProjectContext::default());
    let others: Vec<String> = diags
        .iter()
        .filter(|d| d.is_error() && d.code != Code::E019)
        .map(|d| format!("{} {}", d.code, d.message))
        .collect();
    assert!(others.is_empty(), "{path}:\n{source}\n{others:?}");
    diags
        .iter()
        .filter(|d| matches!(d.code, Code::W009 | Code::E019))
        .map(|d| {
            let step = d.message.split('`').nth(1).unwrap_or("");
            format!("{} {step}", d.code)
        })
        .collect()
}

fn yaml(steps: &str, output: &str) -> Vec<String> {
    let source = format!(
        "stave: 1\nworkflow: w\ninput: {{ type: object, properties: {{ big: {{ type: boolean }} }} }}\n\
         vars: {{ n: 0 }}\ndefaults: {{ timeout: 10s, retry: {{ max_attempts: 3 }} }}\n\
         queries: {{ seen: \"${{ steps.review.score }}\" }}\nsteps:\n{steps}output: \"${{ {output} }}\"\n"
    );
    reads("w.stave.yaml", &source)
}

fn text(steps: &str, output: &str) -> Vec<String> {
    let source = format!(
        "stave 1\n\nworkflow w {{\n  input {{ big?: boolean }}\n  var n = 0\n  \
         defaults {{ timeout 10s retry {{ max_attempts 3 }} }}\n  query seen = steps.review.score\n\
         {steps}\n  output {output}\n}}\n"
    );
    reads("w.stave", &source)
}

/// The query always warns: a query may run between `review` and the `fail` after it.
const QUERY: &str = "W009 review";

#[test]
fn a_branch_that_always_fails_leaves_its_steps_null_after_it() {
    let then_fails = "  - if: \"${ input.big }\"\n    steps:\n      \
        - { id: review, activity: fraud.review }\n      \
        - fail: { type: Rejected, message: \"${ 'score ' + string(steps.review.score) }\" }\n";
    assert_eq!(
        yaml(then_fails, "steps.review.score"),
        [QUERY, "E019 review"]
    );
    let text_then_fails = "  if input.big {\n    step review = fraud.review()\n    \
        fail Rejected message `score ${ steps.review.score }`\n  }\n";
    assert_eq!(
        text(text_then_fails, "steps.review.score"),
        [QUERY, "E019 review"]
    );
    // Guarded, or decided by a condition on the step: never evaluated.
    for output in [
        "has(steps.review.score) ? steps.review.score : 0",
        "steps.review == null ? 0 : steps.review.score",
        "steps.review",
    ] {
        assert_eq!(yaml(then_fails, output), [QUERY], "{output}");
        assert_eq!(text(text_then_fails, output), [QUERY], "{output}");
    }
    // The same read in the `else` branch of the `fail` only may not have run.
    let else_fails = "  - if: \"${ input.big }\"\n    steps: [ { set: { n: 1 } } ]\n    else:\n      \
        - { id: review, activity: fraud.review }\n      - fail: { type: Rejected }\n";
    assert_eq!(
        yaml(else_fails, "steps.review.score"),
        [QUERY, "E019 review"]
    );
    // Without the `fail`, the step may have run.
    let may =
        "  - if: \"${ input.big }\"\n    steps:\n      - { id: review, activity: fraud.review }\n";
    assert_eq!(yaml(may, "steps.review.score"), [QUERY, "W009 review"]);
    let text_may = "  if input.big {\n    step review = fraud.review()\n  }\n";
    assert_eq!(text(text_may, "steps.review.score"), [QUERY, "W009 review"]);
}

#[test]
fn a_read_decided_by_a_condition_on_the_step_only_may_fail() {
    let steps = "  - if: \"${ input.big }\"\n    steps:\n      \
        - { id: review, activity: fraud.review }\n      - return: 1\n  \
        - { if: \"${ steps.review != null }\", set: { n: \"${ steps.review.score }\" } }\n  \
        - { if: \"${ input.big }\", set: { n: \"${ steps.review.score }\" } }\n";
    assert_eq!(yaml(steps, "0"), ["W009 review", "E019 review", QUERY]);
    let text_steps = "  if input.big {\n    step review = fraud.review()\n    return 1\n  }\n  \
        n = steps.review.score when steps.review != null\n  n = steps.review.score when input.big\n";
    assert_eq!(text(text_steps, "0"), ["W009 review", "E019 review", QUERY]);
}

#[test]
fn when_every_branch_ends_the_run_the_code_after_is_dead_and_only_warned() {
    let steps = "  - if: \"${ input.big }\"\n    steps:\n      \
        - { id: review, activity: fraud.review }\n      - fail: { type: Rejected }\n    \
        else: [ { return: 0 } ]\n";
    assert_eq!(yaml(steps, "steps.review.score"), [QUERY, "W009 review"]);
}

#[test]
fn switch_cases_and_catches_that_end_the_run() {
    let switch = "  - switch:\n      - when: \"${ input.big }\"\n        steps:\n          \
        - { id: review, activity: fraud.review }\n          - fail: { type: Rejected }\n      \
        - default: [ { set: { n: 1 } } ]\n";
    assert_eq!(yaml(switch, "steps.review.score"), [QUERY, "E019 review"]);
    let text_switch = "  switch {\n    case input.big {\n      step review = fraud.review()\n      \
        fail Rejected\n    }\n  }\n";
    assert_eq!(
        text(text_switch, "steps.review.score"),
        [QUERY, "E019 review"]
    );

    let catch = "  - try: [ { activity: payments.charge } ]\n    catch:\n      \
        - steps:\n          - { id: review, activity: fraud.review }\n          - rethrow: true\n";
    assert_eq!(yaml(catch, "steps.review.score"), [QUERY, "E019 review"]);
    let text_catch = "  try {\n    payments.charge()\n  } catch {\n    step review = fraud.review()\n    \
        rethrow\n  }\n";
    assert_eq!(
        text(text_catch, "steps.review.score"),
        [QUERY, "E019 review"]
    );
}

#[test]
fn a_catch_or_a_race_may_take_over_between_a_step_and_its_fail() {
    // The `fail` is caught, and the run goes on after the `try`: `review` may have run.
    let caught = "  - try:\n      - if: \"${ input.big }\"\n        steps:\n          \
        - { id: review, activity: fraud.review }\n          - fail: { type: Rejected }\n    \
        catch: [ { steps: [ { set: { n: 1 } } ] } ]\n";
    assert_eq!(yaml(caught, "steps.review.score"), [QUERY, "W009 review"]);
    // A catch that ends the run too: the `try` goes on only after a body that did not fail.
    let rethrown = caught.replace(
        "steps: [ { set: { n: 1 } } ]",
        "steps: [ { rethrow: true } ]",
    );
    assert_eq!(
        yaml(&rethrown, "steps.review.score"),
        [QUERY, "E019 review"]
    );
    // A race cancels the losing branch wherever it is.
    let race = "  - parallel:\n      a:\n        - if: \"${ input.big }\"\n          steps:\n            \
        - { id: review, activity: fraud.review }\n            - fail: { type: Rejected }\n      \
        b: [ { set: { n: 1 } } ]\n    race: true\n";
    assert_eq!(yaml(race, "steps.review.score"), [QUERY, "W009 review"]);
    // Without a race, a failing branch fails the `parallel`.
    let parallel = race.replace("    race: true\n", "");
    assert_eq!(
        yaml(&parallel, "steps.review.score"),
        [QUERY, "E019 review"]
    );
    // A loop ends normally only when no iteration failed.
    let looped = "  - while: \"${ vars.n < 3 }\"\n    max_iterations: 5\n    steps:\n      \
        - if: \"${ input.big }\"\n        steps:\n          - { id: review, activity: fraud.review }\n          \
        - fail: { type: Rejected }\n      - set: { n: \"${ vars.n + 1 }\" }\n";
    assert_eq!(yaml(looped, "steps.review.score"), [QUERY, "E019 review"]);
}
