//! Evaluator tests: values, errors and budgets, one table each.

use super::*;
use crate::diagnostics::FileId;
use crate::expr::parse::parse_expr;
use serde_json::json;

struct FixedHost;

impl Host for FixedHost {
    fn now(&self) -> String {
        "2024-01-02T03:04:05Z".into()
    }
    fn uuid(&self) -> String {
        "00000000-0000-4000-8000-000000000000".into()
    }
}

fn env() -> BTreeMap<String, Value> {
    let mut env = BTreeMap::new();
    env.insert("input".into(), json!({"amount": 1500, "price": 2.5, "email": "a@b.c", "items": [{"sku": "x"}, {"sku": "y"}], "tags": ["vip", "new"]}));
    env.insert(
        "steps".into(),
        json!({"charge": {"id": "ch_1", "amount": 10}, "review": null}),
    );
    env.insert("vars".into(), json!({"status": "new", "n": 3}));
    env
}

/// `expect` is the compact JSON of the value, or `error: message`.
fn run(input: &str) -> String {
    let expr = match parse_expr(input, FileId(0), 0) {
        Ok(e) => e,
        Err(d) => return format!("syntax: {}", d.message),
    };
    match eval(&expr, &env(), &FixedHost, &mut Budget::default()) {
        // Long values would drown a failure report; 300 characters tell enough.
        Ok(v) => v.to_string().chars().take(300).collect(),
        Err(e) => format!("error: {}", e.message),
    }
}

fn check_all(cases: &[(&str, &str)]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(i, want)| {
            let got = run(i);
            (got != *want).then(|| format!("{i}\n   got: {got}\n  want: {want}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn values() {
    check_all(&[
        ("1 + 2 * 3", "7"),
        ("7 / 2", "3"),
        ("-7 % 3", "-1"),
        ("1.5 + 2.25", "3.75"),
        ("'a' + 'b'", "\"ab\""),
        ("[1] + [2, 3]", "[1,2,3]"),
        ("1 == 1.0", "true"),
        ("1 < 1.5", "true"),
        ("[1, 2] == [1.0, 2.0]", "true"),
        ("{'a': 1} == {'a': 1.0}", "true"),
        ("'a' == 1", "false"),
        ("null == null", "true"),
        ("'a' < 'b'", "true"),
        ("false < true", "true"),
        ("input.amount > 1000", "true"),
        ("steps.charge.id", "\"ch_1\""),
        ("steps['charge']['amount']", "10"),
        ("input.items[1].sku", "\"y\""),
        ("input.items.map(i, i.sku)", "[\"x\",\"y\"]"),
        ("input.items.map(i, i.sku != 'x', i.sku)", "[\"y\"]"),
        ("[1, 2, 3, 4].filter(x, x % 2 == 0)", "[2,4]"),
        ("[1, 2, 3].exists(x, x > 2)", "true"),
        ("[1, 2, 3].all(x, x > 2)", "false"),
        ("[1, 2, 3].exists_one(x, x > 2)", "true"),
        ("{'a': 1, 'b': 2}.map(k, k)", "[\"a\",\"b\"]"),
        ("'vip' in input.tags", "true"),
        ("'amount' in input", "true"),
        ("2 in [1.0, 2.0]", "true"),
        ("has(input.email)", "true"),
        ("has(input.phone)", "false"),
        ("has(steps.review.score)", "false"),
        ("steps.review == null", "true"),
        ("size('héllo')", "5"),
        ("'héllo'.size()", "5"),
        ("size(input.items)", "2"),
        ("size({'a': 1})", "1"),
        ("'Hello'.lowerAscii() + 'x'.upperAscii()", "\"helloX\""),
        ("'  a b  '.trim()", "\"a b\""),
        ("'a,b,c'.split(',')", "[\"a\",\"b\",\"c\"]"),
        ("'a,b,c'.split(',', 2)", "[\"a\",\"b,c\"]"),
        ("'abc'.split('')", "[\"a\",\"b\",\"c\"]"),
        ("['a', 'b'].join('-')", "\"a-b\""),
        ("['a', 'b'].join()", "\"ab\""),
        (
            "'abc'.contains('b') && 'abc'.startsWith('a') && 'abc'.endsWith('c')",
            "true",
        ),
        ("'abc123'.matches('[0-9]+$')", "true"),
        ("matches('abc', '^b')", "false"),
        ("int('42') + int(2.9) + int(-2.9)", "42"),
        ("double(2) + double('1.5')", "3.5"),
        ("string(1) + string(1.5) + string(true)", "\"11.5true\""),
        ("string(1000000.0)", "\"1e+06\""),
        ("string(-0.0045)", "\"-0.0045\""),
        ("string(123456.0)", "\"123456\""),
        ("string(0.00001)", "\"1e-05\""),
        ("true ? 1 : 2", "1"),
        ("false ? 1 : 'b'", "\"b\""),
        ("false && (1 / 0 > 1)", "false"),
        ("(1 / 0 > 1) && false", "false"),
        ("(1 / 0 > 1) || true", "true"),
        ("'x' || true", "true"),
        ("[1, 'a'].exists(x, x == 'a')", "true"),
        (
            "[1, 'a'].all(x, x > 0)",
            "error: no matching overload for `>` on string and int",
        ),
        ("now()", "\"2024-01-02T03:04:05Z\""),
        ("uuid()", "\"00000000-0000-4000-8000-000000000000\""),
        ("{'k': [1, {'n': null}]}", "{\"k\":[1,{\"n\":null}]}"),
        ("-9223372036854775808", "-9223372036854775808"),
        ("[7, 8][1.0]", "8"),
        ("[[1, 2], [3]].map(l, l.map(x, x * 10))", "[[10,20],[30]]"),
        ("vars.n * 2", "6"),
    ]);
}

#[test]
fn errors() {
    check_all(&[
        (
            "steps.charge.idd",
            "error: no field `idd` in `steps.charge`",
        ),
        (
            "steps.review.score",
            "error: `steps.review` is null, so it has no field `score`",
        ),
        ("steps.nope", "error: no field `nope` in `steps`"),
        ("inptu.x", "error: unknown name `inptu`"),
        (
            "input.items[5]",
            "error: index 5 is out of range for `input.items`, a list of size 2",
        ),
        ("input['nope']", "error: no key \"nope\" in `input`"),
        ("1 / 0", "error: division by zero"),
        ("1 % 0", "error: modulus by zero"),
        ("1.0 / 0.0", "error: division by zero"),
        ("9223372036854775807 + 1", "error: integer overflow"),
        ("-(-9223372036854775808)", "error: integer overflow"),
        (
            "1 + 1.0",
            "error: no matching overload for `+` on int and double; convert one side with `double(…)` or `int(…)`",
        ),
        (
            "input.amount * input.price",
            "error: no matching overload for `*` on int and double; convert one side with `double(…)` or `int(…)`",
        ),
        (
            "'a' + 1",
            "error: no matching overload for `+` on string and int",
        ),
        (
            "'a' < 1",
            "error: no matching overload for `<` on string and int",
        ),
        (
            "null < null",
            "error: no matching overload for `<` on null and null",
        ),
        (
            "[1] < [2]",
            "error: no matching overload for `<` on list and list",
        ),
        ("!5", "error: no matching overload for `!` on int"),
        ("-'a'", "error: no matching overload for `-` on string"),
        (
            "5.5 % 2.0",
            "error: no matching overload for `%` on double and double",
        ),
        (
            "'a' ? 1 : 2",
            "error: the condition of `? :` must be a bool, not string",
        ),
        (
            "'a' && 'b'",
            "error: no matching overload for `&&` on string",
        ),
        (
            "{1: 2}",
            "error: map keys must be strings, but this key is int",
        ),
        (
            "{'a': 1, 'a': 2}",
            "error: map literal has the key \"a\" twice",
        ),
        (
            "size(1)",
            "error: `size` needs a string, list or map, not int",
        ),
        ("int('x')", "error: `int` cannot read \"x\" as an integer"),
        ("int(1e99)", "error: `int` of 1e+99 is out of the int range"),
        (
            "int(-9223372036854775808.0)",
            "error: `int` of -9.223372036854776e+18 is out of the int range",
        ),
        ("'a'.foo()", "error: unknown method `foo`"),
        ("foo(1)", "error: unknown function `foo`"),
        (
            "1.contains('a')",
            "error: `contains` is a method of a string, but `1` is int",
        ),
        (
            "'a'.matches('[')",
            "error: invalid regular expression: unclosed character class",
        ),
        ("[1, 2].map(x, x / 0)", "error: division by zero"),
        (
            "[3, 2, 1, 0].exists_one(n, 12 / n > 1)",
            "error: division by zero",
        ),
        (
            "1.map(x, x)",
            "error: `map` needs a list or a map, but `1` is int",
        ),
        (
            "has(input.amount.x)",
            "error: `has` needs a map, but `input.amount` is int",
        ),
        ("[1][0.5]", "error: list index 0.5 is not a whole number"),
        ("[1]['a']", "error: cannot index list `[1]` with string"),
        (
            "input.amount.x",
            "error: cannot read field `x` of int `input.amount`",
        ),
        ("size('a', 'b')", "error: `size` takes 1 argument"),
        (
            "[1].join()",
            "error: `join` needs a list of strings, but element 0 is int",
        ),
    ]);
}

#[test]
fn budgets_bound_blow_ups() {
    let ten = "[1,2,3,4,5,6,7,8,9,10]";
    let nested = format!(
        "{ten}.map(a, {ten}.map(b, {ten}.map(c, {ten}.map(d, {ten}.map(e, a + b + c + d + e)))))"
    );
    assert_eq!(
        run(&nested),
        "error: expression exceeded its evaluation budget"
    );
    let doubling = format!(
        "{ten}.map(a, {ten}.map(b, {ten}.map(c, {ten}.map(d, 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' + 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy'))))"
    );
    assert_eq!(
        run(&doubling),
        "error: expression exceeded its evaluation budget"
    );
    // Each level doubles the string: 2 MiB after 20 levels if nothing stopped it.
    let mut s = "'ab'".to_owned();
    for _ in 0..20 {
        s = format!("[{s}].map(x, x + x)[0]");
    }
    assert_eq!(run(&s), "error: expression exceeded its evaluation budget");
    // The budget is shared: what one evaluation spends, the next cannot.
    let expr = parse_expr("[1, 2, 3].map(x, x)", FileId(0), 0).unwrap();
    let mut budget = Budget {
        fuel: 20,
        max_bytes: 1 << 20,
    };
    assert!(eval(&expr, &env(), &FixedHost, &mut budget).is_ok());
    assert!(eval(&expr, &env(), &FixedHost, &mut budget).is_err());
}

#[test]
fn fatal_budget_errors_are_not_absorbed() {
    let expr = parse_expr("[1,2,3,4,5,6,7,8,9,10].all(x, x > 0) || true", FileId(0), 0).unwrap();
    let mut budget = Budget {
        fuel: 5,
        max_bytes: 1 << 20,
    };
    let err = eval(&expr, &env(), &FixedHost, &mut budget).unwrap_err();
    assert_eq!(err.message, "expression exceeded its evaluation budget");
}

#[test]
fn templates_render_json() {
    let whole = Span::default();
    let t = crate::expr::parse::parse_template(
        "n=${ vars.n } l=${ [1, 'a'] } s=${ vars.status }",
        FileId(0),
        Some(0),
        whole,
    )
    .unwrap();
    let v = eval_template(&t, &env(), &FixedHost, &mut Budget::default()).unwrap();
    assert_eq!(v, json!("n=3 l=[1,\"a\"] s=new"));
    let t =
        crate::expr::parse::parse_template("${ input.items }", FileId(0), Some(0), whole).unwrap();
    let v = eval_template(&t, &env(), &FixedHost, &mut Budget::default()).unwrap();
    assert_eq!(v, json!([{"sku": "x"}, {"sku": "y"}]));
}

#[test]
fn layered_bindings_shadow_the_parent() {
    let base = env();
    let item = json!({"sku": "z"});
    let layered = Layered {
        parent: &base,
        name: "item",
        value: &item,
    };
    let expr = parse_expr("item.sku + string(vars.n)", FileId(0), 0).unwrap();
    assert_eq!(
        eval(&expr, &layered, &FixedHost, &mut Budget::default()).unwrap(),
        json!("z3")
    );
}

#[test]
fn errors_point_at_the_failing_node() {
    let expr = parse_expr("1 + steps.charge.idd", FileId(0), 10).unwrap();
    let err = eval(&expr, &env(), &FixedHost, &mut Budget::default()).unwrap_err();
    assert_eq!((err.span.start, err.span.end), (14, 30));
}

/// The deepest trees the parser accepts go through every recursive pass on a test thread's
/// small stack, in a debug build.
#[test]
fn deepest_accepted_trees_fit_the_stack() {
    let depth = crate::expr::parse::MAX_DEPTH;
    let nesting = crate::expr::parse::MAX_NESTING;
    let nested_lists = format!("{}1{}", "[".repeat(nesting), "]".repeat(nesting));
    let nested_calls = format!("{}1{}", "size(".repeat(nesting), ")".repeat(nesting));
    let chain = vec!["1"; depth].join(" + ");
    let nots = format!("{}true", "!".repeat(depth - 1));
    let conds = format!("{}0", "true ? 1 : ".repeat(nesting));
    let members = format!("{{'a': 1}}{}", ".a".repeat(depth - 1));
    let macros = format!(
        "{}[1]{}",
        "[1].map(x, ".repeat(nesting / 2),
        ")".repeat(nesting / 2)
    );
    for src in [
        nested_lists,
        nested_calls,
        chain,
        nots,
        conds,
        members,
        macros,
    ] {
        let e = parse_expr(&src, FileId(0), 0)
            .unwrap_or_else(|d| panic!("{}: {}", &src[..40], d.message));
        let _ = e.to_string();
        let _ = crate::expr::types::check_expr(&e, &crate::expr::types::TypeScope::new());
        let _ = eval(&e, &env(), &FixedHost, &mut Budget::default());
        let _ = e.clone();
    }
}
