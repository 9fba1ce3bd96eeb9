//! Tree tests: canonical printing reads back to the same tree, spans serialise, helpers.

use proptest::prelude::*;

use super::*;
use crate::diagnostics::FileId;
use crate::expr::parse::parse_expr;

fn node(kind: ExprKind) -> Expr {
    Expr::new(kind, Span::default())
}

fn name(n: &str) -> Name {
    Name {
        name: n.to_owned(),
        span: Span::default(),
    }
}

fn ident() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("x".to_owned()),
        Just("input".to_owned()),
        Just("steps".to_owned()),
        Just("r".to_owned()),
        Just("b".to_owned()),
        Just("inx".to_owned()),
        Just("null_".to_owned()),
        "[a-z_][a-z0-9_]{0,6}".prop_filter("not a reserved word", |s| {
            !matches!(
                s.as_str(),
                "true"
                    | "false"
                    | "null"
                    | "in"
                    | "as"
                    | "break"
                    | "const"
                    | "continue"
                    | "else"
                    | "for"
                    | "function"
                    | "if"
                    | "import"
                    | "let"
                    | "loop"
                    | "package"
                    | "namespace"
                    | "return"
                    | "var"
                    | "void"
                    | "while"
            )
        }),
    ]
}

fn literal() -> impl Strategy<Value = Expr> {
    prop_oneof![
        Just(node(ExprKind::Null)),
        any::<bool>().prop_map(|b| node(ExprKind::Bool(b))),
        any::<i64>().prop_map(|i| node(ExprKind::Int(i))),
        prop_oneof![
            Just(0.0),
            Just(-0.0),
            Just(1e300),
            Just(5e-324),
            any::<f64>()
        ]
        .prop_filter("finite", |d| d.is_finite())
        .prop_map(|d| node(ExprKind::Double(d))),
        any::<String>().prop_map(|s| node(ExprKind::String(s))),
        ident().prop_map(|s| node(ExprKind::Ident(s))),
    ]
}

/// Trees of every kind; `parse::tests` prints them to test the parser's fast path too.
pub(crate) fn expr() -> impl Strategy<Value = Expr> {
    let binary = prop_oneof![
        Just(BinaryOp::Or),
        Just(BinaryOp::And),
        Just(BinaryOp::Eq),
        Just(BinaryOp::Ne),
        Just(BinaryOp::Lt),
        Just(BinaryOp::Le),
        Just(BinaryOp::Gt),
        Just(BinaryOp::Ge),
        Just(BinaryOp::In),
        Just(BinaryOp::Add),
        Just(BinaryOp::Sub),
        Just(BinaryOp::Mul),
        Just(BinaryOp::Div),
        Just(BinaryOp::Rem),
    ];
    let macro_kind = prop_oneof![
        Just(MacroKind::Map),
        Just(MacroKind::Filter),
        Just(MacroKind::Exists),
        Just(MacroKind::All),
        Just(MacroKind::ExistsOne),
    ];
    // Names that the parser does not turn into macros or `has`.
    let function = prop_oneof![
        Just("size"),
        Just("int"),
        Just("contains"),
        Just("f"),
        Just("join")
    ];
    literal().prop_recursive(4, 48, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(|v| node(ExprKind::List(v))),
            prop::collection::vec((inner.clone(), inner.clone()), 0..3)
                .prop_map(|v| node(ExprKind::Map(v))),
            (inner.clone(), ident()).prop_map(|(t, f)| node(ExprKind::Member {
                target: Box::new(t),
                field: name(&f),
            })),
            (inner.clone(), inner.clone()).prop_map(|(t, i)| node(ExprKind::Index {
                target: Box::new(t),
                index: Box::new(i),
            })),
            (
                prop::option::of(inner.clone()),
                function.clone(),
                prop::collection::vec(inner.clone(), 0..3)
            )
                .prop_map(|(t, f, args)| node(ExprKind::Call {
                    target: t.map(Box::new),
                    function: name(f),
                    args,
                })),
            (
                prop_oneof![Just(UnaryOp::Not), Just(UnaryOp::Neg)],
                inner.clone()
            )
                .prop_map(|(op, e)| node(ExprKind::Unary {
                    op,
                    operand: Box::new(e),
                })),
            (binary.clone(), inner.clone(), inner.clone()).prop_map(|(op, l, r)| node(
                ExprKind::Binary {
                    op,
                    lhs: Box::new(l),
                    rhs: Box::new(r),
                }
            )),
            (inner.clone(), inner.clone(), inner.clone()).prop_map(|(c, t, o)| node(
                ExprKind::Cond {
                    cond: Box::new(c),
                    then: Box::new(t),
                    otherwise: Box::new(o),
                }
            )),
            (inner.clone(), ident()).prop_map(|(t, f)| node(ExprKind::Has {
                target: Box::new(t),
                field: name(&f),
            })),
            (
                macro_kind.clone(),
                inner.clone(),
                ident(),
                prop::option::of(inner.clone()),
                inner.clone()
            )
                .prop_map(|(kind, t, v, f, body)| node(ExprKind::Macro {
                    kind,
                    target: Box::new(t),
                    var: name(&v),
                    filter: if kind == MacroKind::Map {
                        f.map(Box::new)
                    } else {
                        None
                    },
                    body: Box::new(body),
                })),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn display_parses_back_to_the_same_tree(e in expr()) {
        let text = e.to_string();
        let mut back = parse_expr(&text, FileId(0), 0)
            .map_err(|d| TestCaseError::fail(format!("{text}: {}", d.message)))?;
        back.strip_spans();
        prop_assert_eq!(back, e, "text: {}", text);
    }
}

#[test]
fn spans_serialise_as_pairs() {
    let e = parse_expr("a.b + 1", FileId(7), 10).unwrap();
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["span"], serde_json::json!([10, 17]));
    let back: Expr = serde_json::from_value(json).unwrap();
    assert_eq!(back.span, Span::new(FileId(0), 10, 17));
    let mut a = back.clone();
    let mut b = e.clone();
    a.strip_spans();
    b.strip_spans();
    assert_eq!(a, b);
}

#[test]
fn references() {
    let e = parse_expr(
        "steps.charge.id + steps['ship'].x + vars.n + [1].map(steps, steps.fake) + item.sku",
        FileId(0),
        0,
    )
    .unwrap();
    assert_eq!(
        e.step_refs().into_iter().collect::<Vec<_>>(),
        ["charge", "ship"]
    );
    assert_eq!(e.var_refs().into_iter().collect::<Vec<_>>(), ["n"]);
    assert_eq!(
        e.roots().into_iter().collect::<Vec<_>>(),
        ["item", "steps", "vars"]
    );
    let mut count = 0;
    e.walk(&mut |_| count += 1);
    assert!(count > 10);
}

#[test]
fn canonical_text() {
    for (input, canonical) in [
        ("a+b*c", "a + b * c"),
        ("(a+b)*c", "(a + b) * c"),
        ("a-(b-c)", "a - (b - c)"),
        ("-(1)", "-(1)"),
        ("-(1).size()", "-(1.size())"),
        ("(a ? b : c) ? d : e", "(a ? b : c) ? d : e"),
        ("a ? b : c ? d : e", "a ? b : c ? d : e"),
        ("'it''s'", "syntax"),
        ("'a\"b\\n'", "\"a\\\"b\\n\""),
        ("!(!a)", "!(!a)"),
        ("{'k': [1, 2.0]}", "{\"k\": [1, 2.0]}"),
        ("l.map(x, x > 1, x)", "l.map(x, x > 1, x)"),
        ("has(a.b)", "has(a.b)"),
    ] {
        let got = parse_expr(input, FileId(0), 0).map_or("syntax".to_owned(), |e| e.to_string());
        assert_eq!(got, canonical, "input: {input}");
    }
}
