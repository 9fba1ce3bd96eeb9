//! Checker tests: each diagnostic fires, and a correct expression next to it stays quiet.

use super::*;
use crate::diagnostics::{Code, FileId, Span};
use crate::expr::parse::parse_expr;
use serde_json::json;

fn scope() -> TypeScope {
    let mut s = TypeScope::new();
    s.bind(
        "input",
        Ty::from_json_schema(
            &json!({"type": "object", "required": ["order_id"], "properties": {
                "order_id": {"type": "string"}, "amount": {"type": "number"}, "email": {"type": "string"},
                "items": {"type": "array", "items": {"type": "object", "properties": {
                    "sku": {"type": "string"}, "qty": {"type": "integer"}}}},
                "note": {"type": ["string", "null"]}}}),
            "the workflow input",
        ),
    );
    let charge = Ty::from_json_schema(
        &json!({"type": "object", "properties": {"id": {"type": "string"}, "amount": {"type": "integer"}}}),
        "the output of `payments.charge`",
    );
    let review = Ty::from_json_schema(
        &json!({"type": "object", "properties": {"score": {"type": "integer"}}}),
        "the output of `fraud.review`",
    );
    s.bind(
        "steps",
        Ty::object(
            STEPS_ORIGIN,
            true,
            [
                ("charge".to_owned(), FieldTy::new(charge)),
                (
                    "review".to_owned(),
                    FieldTy::may_not_have_run(review.clone(), "review"),
                ),
                (
                    "declined".to_owned(),
                    FieldTy {
                        ty: review,
                        ran: Ran::Never("declined".to_owned()),
                    },
                ),
            ],
        ),
    );
    s.bind(
        "vars",
        Ty::object(
            "the workflow variables",
            true,
            [
                ("status".to_owned(), FieldTy::new(Ty::String)),
                ("approved".to_owned(), FieldTy::new(Ty::Bool)),
                ("count".to_owned(), FieldTy::new(Ty::Int)),
                ("ratio".to_owned(), FieldTy::new(Ty::Double)),
            ],
        ),
    );
    s.bind("workflow", Ty::Dyn);
    s
}

/// `expect`: `ok: TYPE`, or the diagnostics as `CODE START..END message | help`, joined by `; `.
fn check(input: &str, expect: &str) -> Option<String> {
    let expr = match parse_expr(input, FileId(0), 0) {
        Ok(e) => e,
        Err(d) => return Some(format!("{input}\n  does not parse: {}", d.message)),
    };
    let (ty, diags) = check_expr(&expr, &scope());
    let got = if diags.is_empty() {
        format!("ok: {ty}")
    } else {
        diags
            .iter()
            .map(|d| {
                format!(
                    "{} {}..{} {} | {}",
                    d.code,
                    d.span().start,
                    d.span().end,
                    d.message,
                    d.help.as_deref().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    (got != expect).then(|| format!("{input}\n   got: {got}\n  want: {expect}"))
}

fn check_all(cases: &[(&str, &str)]) {
    let failures: Vec<String> = cases.iter().filter_map(|(i, e)| check(i, e)).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn unknown_names() {
    check_all(&[
        (
            "inptu.order_id",
            "E011 0..5 unknown name `inptu` | did you mean `input`? the names in scope here are `input`, `steps`, `vars`, `workflow`",
        ),
        ("input.order_id", "ok: string"),
        (
            "item.sku",
            "E011 0..4 unknown name `item` | the names in scope here are `input`, `steps`, `vars`, `workflow`",
        ),
        ("input.items.map(item, item.sku)", "ok: list of string"),
        ("input.items.map(input, input.sku)", "ok: list of string"),
    ]);
}

#[test]
fn unknown_steps_and_fields() {
    check_all(&[
        (
            "steps.chrage.id",
            "E012 6..12 no step `chrage` is visible here | did you mean `charge`? the steps visible here are `charge`, `declined`, `review`",
        ),
        (
            "steps['chrage']",
            "E012 6..14 no step `chrage` is visible here | did you mean `charge`? the steps visible here are `charge`, `declined`, `review`",
        ),
        (
            "has(steps.chrage.id)",
            "E012 10..16 no step `chrage` is visible here | did you mean `charge`? the steps visible here are `charge`, `declined`, `review`",
        ),
        ("steps.charge.id", "ok: string"),
        (
            "steps.charge.idd",
            "E013 13..16 the output of `payments.charge` has no field `idd` | did you mean `id`? its fields are `amount`, `id`",
        ),
        ("steps.charge['id']", "ok: string"),
        (
            "input.ordr_id",
            "E013 6..13 the workflow input has no field `ordr_id` | did you mean `order_id`? its fields are `amount`, `email`, `items`, `note`, `order_id`",
        ),
        (
            "input.items.map(i, i.skuu)",
            "E013 21..25 an element of field `items` of the workflow input has no field `skuu` | did you mean `sku`? its fields are `qty`, `sku`",
        ),
        ("input.items.map(i, i.sku)", "ok: list of string"),
        (
            "{'a': 1}.b",
            "E013 9..10 the map literal has no field `b` | did you mean `a`? its fields are `a`",
        ),
        (
            "has(input.phone)",
            "E013 10..15 the workflow input has no field `phone` | its fields are `amount`, `email`, `items`, `note`, `order_id`",
        ),
        ("has(input.email)", "ok: bool"),
    ]);
}

#[test]
fn type_errors() {
    check_all(&[
        (
            "'a' > 1",
            "E014 0..7 `>` cannot be applied to a string and an int | compare values of the same type; convert with `int(…)`, `double(…)` or `string(…)`",
        ),
        ("'a' > 'b'", "ok: bool"),
        ("input.amount > 1000", "ok: bool"),
        (
            "1 + 'a'",
            "E014 0..7 `+` cannot be applied to an int and a string | both sides of `+` must be strings; convert with `string(…)`",
        ),
        ("1 + 2", "ok: int"),
        ("'a' + input.order_id", "ok: string"),
        (
            "!5",
            "E014 0..2 `!` needs a bool, but its operand is an int | compare explicitly, e.g. `x == 0` or `size(x) == 0`",
        ),
        ("!vars.approved", "ok: bool"),
        (
            "size(1)",
            "E014 5..6 `size` needs a string, list or map, but this is an int | `size` counts characters, elements or entries",
        ),
        ("size(input.items) + input.email.size()", "ok: int"),
        (
            "input.amount ? 1 : 2",
            "E014 0..12 the condition of `? :` must be a bool, but this is a number | compare explicitly, e.g. `x != ''`, `x > 0` or `size(x) > 0`",
        ),
        (
            "'x' in 'xyz'",
            "E014 0..12 `in` cannot be applied to a string and a string | `in` tests list membership or map keys; for a substring use `s.contains(x)`",
        ),
        ("'x' in input.items.map(i, i.sku)", "ok: bool"),
        (
            "input.items['a']",
            "E014 12..15 a list is indexed by an int, but this index is a string | use a position such as `[0]`",
        ),
        ("input.items[0].sku", "ok: string"),
        (
            "input.amount.x",
            "E014 13..14 cannot read field `x` of a number (`input.amount`) | only maps have fields",
        ),
        (
            "vars.count.contains('a')",
            "E014 0..10 `contains` is a string method, but `vars.count` is an int | convert with `string(…)` first",
        ),
        (
            "input.items.join(',')",
            "E014 0..11 `join` needs a list of strings, but `input.items` is a list of map | convert the elements first: `input.items.map(x, string(x)).join(…)`",
        ),
        ("input.items.map(i, i.sku).join(',')", "ok: string"),
        (
            "input.items.filter(i, i.qty)",
            "E014 22..27 the condition of `filter` must be a bool, but this is an int | compare explicitly, e.g. `x != ''`, `x > 0` or `size(x) > 0`",
        ),
        ("input.items.filter(i, i.qty > 1)", "ok: list of map"),
        (
            "vars.status && true",
            "E014 0..11 an operand of `&&` must be a bool, but this is a string | compare explicitly, e.g. `x != ''`, `x > 0` or `size(x) > 0`",
        ),
        (
            "{1: 'a'}",
            "E014 1..2 map keys must be strings, but this key is an int | write the key as a string, e.g. `'1'` or `string(x)`",
        ),
        ("input.note.size() > 0", "ok: bool"),
        (
            "5.5 % 2.0",
            "E014 0..9 `%` cannot be applied to a double and a double | `%` works on ints only; convert with `int(…)`",
        ),
    ]);
}

#[test]
fn int_and_double() {
    check_all(&[
        (
            "vars.count * vars.ratio",
            "E015 0..23 `*` mixes an int and a double | convert the int: `double(vars.count)`",
        ),
        (
            "vars.ratio + 1",
            "E015 0..14 `+` mixes an int and a double | convert the int: `double(1)`",
        ),
        ("double(vars.count) * vars.ratio", "ok: double"),
        ("input.amount * 1.2", "ok: number"),
        ("vars.count < vars.ratio", "ok: bool"),
        ("steps.charge.amount + 1", "ok: int"),
    ]);
}

#[test]
fn functions_and_methods() {
    check_all(&[
        (
            "input.email.endswith('x')",
            "E016 12..20 unknown method `endswith` | did you mean `endsWith`? the methods are `size`, `contains`, `startsWith`, `endsWith`, `matches`, `lowerAscii`, `upperAscii`, `trim`, `split`, `join`, `map`, `filter` and 3 more",
        ),
        ("input.email.endsWith('x')", "ok: bool"),
        (
            "lenght(input.items)",
            "E016 0..6 unknown function `lenght` | the functions are `size`, `int`, `double`, `string`, `matches`, `now`, `uuid`, `secret`, `has`",
        ),
        (
            "contains(input.email, 'x')",
            "E016 0..8 unknown function `contains` | `contains` is a method: write `x.contains(…)`",
        ),
        (
            "size(1, 2)",
            "E017 0..10 `size` takes 1 argument, but 2 were given | call it with one argument",
        ),
        (
            "input.items.exists(i.qty > 1)",
            "E017 0..29 `exists` takes 2 arguments, but 1 was given | call it with a variable name and a condition: `list.exists(x, …)`",
        ),
        ("input.items.exists(i, i.qty > 1)", "ok: bool"),
        (
            "input.email.trim(1)",
            "E017 0..19 `trim` takes 0 arguments, but 1 was given | call it with no arguments",
        ),
        ("now() + uuid()", "ok: string"),
        (
            "input.email.matches('[a-')",
            "E018 20..25 invalid regular expression: unclosed character class | fix the pattern (RE2 syntax); write backslashes as `\\\\`, or use a raw string `r'…'`",
        ),
        (
            "matches(input.email, '(')",
            "E018 21..24 invalid regular expression: unclosed group | fix the pattern (RE2 syntax); write backslashes as `\\\\`, or use a raw string `r'…'`",
        ),
        ("input.email.matches('^[a-z]+@')", "ok: bool"),
        ("int(input.amount) + int('3')", "ok: int"),
        (
            "int([1])",
            "E014 4..7 `int` converts a number or a string, not a list of int | pass a number or a numeric string",
        ),
        (
            "string(input.items)",
            "E014 7..18 `string` converts a number, a bool or a string, not a list of map | interpolate the value in a string instead: `\"${ x }\"` renders it as JSON",
        ),
        ("input.email.split(',', 2)", "ok: list of string"),
    ]);
}

#[test]
fn may_not_have_run() {
    check_all(&[
        (
            "steps.review.score",
            "W009 0..18 step `review` may not have run, so `steps.review` may be null when reading `steps.review.score` | guard the read with `has(steps.review.score) ? steps.review.score : …`, or `steps.review != null && …`",
        ),
        (
            "steps.review['score']",
            "W009 0..21 step `review` may not have run, so `steps.review` may be null when reading `steps.review.score` | guard the read with `has(steps.review.score) ? steps.review.score : …`, or `steps.review != null && …`",
        ),
        (
            "has(steps.review.score) ? steps.review.score : 0",
            "ok: int",
        ),
        ("steps.review != null && steps.review.score > 1", "ok: bool"),
        ("null != steps.review && steps.review.score > 1", "ok: bool"),
        ("steps.review == null ? 0 : steps.review.score", "ok: int"),
        ("steps.review == null || steps.review.score > 1", "ok: bool"),
        (
            "!has(steps.review.score) || steps.review.score > 1",
            "ok: bool",
        ),
        ("steps.review == null", "ok: bool"),
        (
            "workflow.x ? steps.review['score'] : 0",
            "W009 13..34 step `review` may not have run, so `steps.review` may be null when reading `steps.review.score` | guard the read with `has(steps.review.score) ? steps.review.score : …`, or `steps.review != null && …`",
        ),
        (
            "steps.review[workflow.k]",
            "W009 0..24 step `review` may not have run, so `steps.review` may be null when reading `steps.review[…]` | guard the read with `steps.review != null && …`",
        ),
        ("steps.charge.id", "ok: string"),
    ]);
}

/// `declined` never ran on any path reaching the read: an unguarded read always fails (E019);
/// a read that a condition on `declined` decides may be dead code, and is W009.
#[test]
fn never_ran() {
    const NEVER: &str = "E019 0..20 step `declined` never runs on a path that reaches this read: `steps.declined` is null here, so reading `steps.declined.score` always fails | every path that runs `declined` ends in `fail`, `return` or `rethrow` before this point: read `steps.declined` inside that path, before it ends, or drop the read";
    check_all(&[
        ("steps.declined.score", NEVER),
        (
            "steps.declined['score'] + 1",
            "E019 0..23 step `declined` never runs on a path that reaches this read: `steps.declined` is null here, so reading `steps.declined.score` always fails | every path that runs `declined` ends in `fail`, `return` or `rethrow` before this point: read `steps.declined` inside that path, before it ends, or drop the read",
        ),
        // Whenever it is evaluated, it fails: a condition about something else does not help.
        (
            "workflow.x ? steps.declined.score : 0",
            "E019 13..33 step `declined` never runs on a path that reaches this read: `steps.declined` is null here, so reading `steps.declined.score` always fails | every path that runs `declined` ends in `fail`, `return` or `rethrow` before this point: read `steps.declined` inside that path, before it ends, or drop the read",
        ),
        // Guarded: never evaluated.
        (
            "has(steps.declined.score) ? steps.declined.score : 0",
            "ok: int",
        ),
        (
            "steps.declined != null && steps.declined.score > 1",
            "ok: bool",
        ),
        (
            "steps.declined == null || steps.declined.score > 1",
            "ok: bool",
        ),
        ("steps.declined == null", "ok: bool"),
        ("steps.declined", "ok: map"),
        // A condition that reads the step may test it for null in its own way.
        (
            "size([steps.declined].filter(d, d != null)) > 0 ? steps.declined.score : 0",
            "W009 50..70 step `declined` may not have run, so `steps.declined` may be null when reading `steps.declined.score` | guard the read with `has(steps.declined.score) ? steps.declined.score : …`, or `steps.declined != null && …`",
        ),
        (
            "[steps.declined].exists(d, d == null) || steps.declined.score > 1",
            "W009 41..61 step `declined` may not have run, so `steps.declined` may be null when reading `steps.declined.score` | guard the read with `has(steps.declined.score) ? steps.declined.score : …`, or `steps.declined != null && …`",
        ),
        (
            "[steps.declined].filter(d, d != null).map(d, steps.declined.score)",
            "W009 45..65 step `declined` may not have run, so `steps.declined` may be null when reading `steps.declined.score` | guard the read with `has(steps.declined.score) ? steps.declined.score : …`, or `steps.declined != null && …`",
        ),
    ]);
}

#[test]
fn dyn_flows_without_errors() {
    check_all(&[
        ("workflow.a.b.c > 1 && workflow.x", "ok: bool"),
        ("workflow.items.map(x, x.y + 1)", "ok: list of int"),
        ("workflow.a + workflow.b", "ok: dyn"),
        ("workflow.n + 1.5", "ok: double"),
        ("[1, 'a'][0] + 1", "ok: int"),
        ("(true ? 1 : null) + 1", "ok: int"),
    ]);
}

#[test]
fn templates_are_strings_when_interpolated() {
    let whole = Span::default();
    let t =
        crate::expr::parse::parse_template("id-${ steps.charge.id }", FileId(0), Some(0), whole)
            .unwrap();
    assert_eq!(check_template(&t, &scope()).0, Ty::String);
    let t =
        crate::expr::parse::parse_template("${ vars.count }", FileId(0), Some(0), whole).unwrap();
    assert_eq!(check_template(&t, &scope()).0, Ty::Int);
    let t =
        crate::expr::parse::parse_template("${ steps.nope }-x", FileId(0), Some(0), whole).unwrap();
    let (_, diags) = check_template(&t, &scope());
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].code, Code::E012);
}

#[test]
fn schemas_map_to_types() {
    let t = |s: serde_json::Value| Ty::from_json_schema(&s, "x").to_string();
    assert_eq!(t(json!({"type": "integer"})), "int");
    assert_eq!(t(json!({"type": ["string", "null"]})), "string or null");
    assert_eq!(
        t(json!({"type": "string", "nullable": true})),
        "string or null"
    );
    assert_eq!(
        t(json!({"anyOf": [{"type": "integer"}, {"type": "number"}]})),
        "number"
    );
    assert_eq!(t(json!({"enum": ["a", "b"]})), "string");
    assert_eq!(t(json!({"$ref": "#/defs/x"})), "dyn");
    assert_eq!(
        t(json!({"type": "array", "items": {"type": "boolean"}})),
        "list of bool"
    );
    assert_eq!(t(json!({"type": "object"})), "map");
    let open = Ty::from_json_schema(
        &json!({"type": "object", "properties": {"a": {}}, "additionalProperties": true}),
        "x",
    );
    assert!(matches!(open, Ty::Object(ObjectTy { closed: false, .. })));
    let closed = Ty::from_json_schema(&json!({"properties": {"a": {}}}), "x");
    assert!(matches!(closed, Ty::Object(ObjectTy { closed: true, .. })));
    assert_eq!(Ty::of_value(&json!([1, 2.5])).to_string(), "list of number");
    assert_eq!(
        Ty::of_value(&json!([1, null])).to_string(),
        "list of int or null"
    );
}
