//! The reader against the grammar on hand-picked inputs: the places where the grammar looks
//! ahead or backtracks. Generated and mutated inputs are in `tests/text_form.rs`.

use crate::diagnostics::FileId;
use crate::syntax::text::{parse_with_grammar, read_fast};

/// Whether the reader answers `src`; wherever it does, the grammar must answer the same tree
/// with no diagnostic.
fn answers(src: &str) -> bool {
    let fast = read_fast(FileId(0), src);
    if let Some(f) = &fast {
        let (grammar, diagnostics) = parse_with_grammar(FileId(0), src);
        assert!(diagnostics.is_empty(), "{src}\n{diagnostics:#?}");
        assert_eq!(grammar.as_ref(), Some(f), "{src}");
    }
    fast.is_some()
}

/// A workflow around `body`.
fn wf(body: &str) -> String {
    format!("stave 1\nworkflow w on queue q timeout 1h {{\n{body}\n}}\n")
}

macro_rules! answered {
    ($name:ident, $body:expr) => {
        #[test]
        fn $name() {
            assert!(answers(&wf($body)), "gave up on:\n{}", wf($body));
        }
    };
}

macro_rules! gives_up {
    ($name:ident, $body:expr) => {
        #[test]
        fn $name() {
            assert!(!answers(&wf($body)), "answered:\n{}", wf($body));
        }
    };
}

answered!(
    comment_after_an_expression,
    "x = a + 1 # note\ny = b // more"
);
answered!(
    expression_ends_before_a_keyword,
    "wait go until vars.ok timeout 5s"
);
answered!(
    option_words_glued_to_names,
    "f(x)\nretry_payment(y)\ntimeout_x(z)"
);
answered!(option_call_is_an_option, "f(x)\npriority(1)");
answered!(step_as_an_activity, "step(x)\nstepper(y)");
answered!(
    step_ids_and_guards,
    "step a = f(x) timeout 5s when input.ok\nstep b = if a.ok { g() }"
);
answered!(postfix_on_the_next_line, "x = foo\n(bar)");
answered!(else_if_chain, "if a { f() } else if b { g() } else { h() }");
answered!(
    data_with_templates,
    r#"x = {"to": `Dear ${ input.name }`, "n": [1, `a${ b }`]}"#
);
answered!(
    named_and_positional,
    "f(a: 1, b: input.x,) args [1, 2]\ng args [x]"
);
answered!(strings_of_every_kind, r#"x = [r"a\d", 'b', """c"""]"#);
answered!(
    wait_any_and_a_signal_called_any,
    "wait any(a, b) timeout 1h\nwait any"
);
answered!(
    sleeps,
    "sleep 5s\nsleep P1D\nsleep 30\nsleep until input.at"
);
answered!(unicode_whitespace, "\u{a0}x = 1\u{2003}\u{feff}y = 2");
answered!(
    declarations,
    "input { id: string, tags?: [string], o: { a: any } }\nvar n = 0\nsignal go(by) { n = by }\n\
     update add(k) validate k > 0 message \"no\" { n = vars.n + k; return vars.n }\n\
     query q = vars.n\nsearch_attributes { A: 1, \"b\": 2 }\nmemo { m: 1; }\n\
     continue_as_new_after 10\nexpose_status true\ndescription \"d\"\n\
     defaults { timeout 5s retry { max_attempts 3 backoff 2.0 non_retryable [E] } }\n\
     schedule s { cron \"* * * * *\" every 1h timezone \"UTC\" overlap skip paused false input {} }\n\
     output vars.n"
);
answered!(
    steps_of_every_kind,
    "for i in input.items concurrency 2 { f(i) }\nwhile vars.n < 3 max_iterations 5 { n = vars.n + 1 }\n\
     try { f() } catch E1, E2 as e when e.retryable { g() } catch { rethrow }\n\
     switch { case 1 { f() }; default { g() } }\nparallel { a { f() } \"b\" { g() } }\n\
     race { a { f() } }\nblock { f() } else { g() }\nset { a = 1; b = 2 }\n\
     fail Bad message \"m\" details {}\nfail \"E\"\nfail (input.e)\nuse frag\n\
     workflow child(x) workflow_id \"id\" retry { max_attempts 2 } parent_close abandon\n\
     f(x) compensate g(y) timeout 1s\nreturn 1"
);

answered!(
    comments_inside_expressions,
    "x = a +\n # note\n b\ny = [1, # one\n 2]\nz = f(\"a\", # c\n b)\nw = -\n# c\nv"
);
gives_up!(duration_that_is_not_one, "f(x) timeout 30x");
gives_up!(reserved_variable, "var if = 1");
gives_up!(given_twice, "f(x) timeout 1s timeout 2s");
gives_up!(unknown_input_type, "input { a: strin }");
gives_up!(out_of_range, "continue_as_new_after 99999999999999999999");
answered!(
    raw_json_input,
    "input schema { \"type\": \"object\", \"n\": [1, -2.5e3, true, null] }"
);
gives_up!(bad_json_input, "input schema { \"type\": 'object' }");
gives_up!(bad_expression, "x = a +* b");

#[test]
fn files_without_workflows_and_trailing_text_give_up() {
    for src in [
        "",
        "stave 1",
        "fragment f { }",
        "workflow w { } }",
        "workflow w { } x",
    ] {
        assert!(!answers(src), "answered: {src:?}");
    }
}

// Update bodies: leading assignments are the `set`, a guarded one or any other statement
// starts the steps, a last plain `return` is the result, a `return` elsewhere is a step.
answered!(
    update_body_with_steps,
    "var n = 0\nupdate add(k) { n = vars.n + k\n step c = f(k) timeout 5s\n m = 1\n return steps.c }\nwait add"
);
answered!(
    update_body_guarded_assignment_is_a_step,
    "var n = 0\nupdate add(k) { n = k when k > 1; return n }\nwait add"
);
answered!(
    update_body_set_block_first_and_early_return,
    "var n = 0\nupdate add { set { n = 1 }\n if vars.n > 0 { return 1 }\n f() }\nwait add"
);
answered!(
    update_body_params_shadowed_in_loops,
    "update add(k) { for k in [1, 2] { f(k) }\n g(k)\n return k }\nwait add"
);

/// A statement that ends with an expression ends where the expression does — not at the last
/// string inside it — in both readers.
#[test]
fn a_statement_span_ends_with_its_expression() {
    let src = wf("x = f(\"a\", b) # done");
    let (grammar, _) = parse_with_grammar(FileId(0), &src);
    let fast = read_fast(FileId(0), &src);
    let expected = src.find(") #").map(|i| i + 1);
    for file in [grammar, fast] {
        let step = file
            .as_ref()
            .and_then(|f| f.workflows.first())
            .and_then(|w| w.steps.first());
        assert_eq!(step.map(|s| s.span.end as usize), expected, "{src}");
    }
}
