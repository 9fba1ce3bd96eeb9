//! Parser tests: tree shapes, spans and syntax-error messages, one table each.

use proptest::prelude::*;

use super::*;

/// Renders a tree as an s-expression, so precedence and folding are visible.
fn sexp(e: &Expr) -> String {
    let list = |items: &[Expr]| items.iter().map(sexp).collect::<Vec<_>>().join(" ");
    match &e.kind {
        ExprKind::Null => "null".into(),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Int(i) => i.to_string(),
        ExprKind::Double(d) => format!("{d:?}"),
        ExprKind::String(s) => format!("{s:?}"),
        ExprKind::Ident(n) => n.clone(),
        ExprKind::List(items) => format!("[{}]", list(items)),
        ExprKind::Map(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(k, v)| format!("{}: {}", sexp(k), sexp(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        ExprKind::Member { target, field } => format!("(. {} {})", sexp(target), field.name),
        ExprKind::Index { target, index } => format!("([] {} {})", sexp(target), sexp(index)),
        ExprKind::Call {
            target,
            function,
            args,
        } => match target {
            Some(t) => format!("(.{} {} {})", function.name, sexp(t), list(args)),
            None => format!("({} {})", function.name, list(args)),
        },
        ExprKind::Unary { op, operand } => format!("({} {})", op.as_str(), sexp(operand)),
        ExprKind::Binary { op, lhs, rhs } => {
            format!("({} {} {})", op.as_str(), sexp(lhs), sexp(rhs))
        }
        ExprKind::Cond {
            cond,
            then,
            otherwise,
        } => format!("(? {} {} {})", sexp(cond), sexp(then), sexp(otherwise)),
        ExprKind::Has { target, field } => format!("(has {} {})", sexp(target), field.name),
        ExprKind::Macro {
            kind,
            target,
            var,
            filter,
            body,
        } => format!(
            "({} {} {}{} {})",
            kind.as_str(),
            sexp(target),
            var.name,
            filter
                .as_ref()
                .map(|f| format!(" {}", sexp(f)))
                .unwrap_or_default(),
            sexp(body)
        ),
    }
}

/// `expect` is the s-expression, or `error START..END: message` for a syntax error.
fn check(input: &str, expect: &str) -> Option<String> {
    let got = match parse_expr(input, FileId(0), 0) {
        Ok(e) => sexp(&e),
        Err(d) => format!("error {}..{}: {}", d.span().start, d.span().end, d.message),
    };
    (got != expect).then(|| format!("{input}\n   got: {got}\n  want: {expect}"))
}

/// Runs a table through `check` and reports every mismatch at once.
fn check_all<'a>(cases: impl IntoIterator<Item = (&'a str, &'a str)>) {
    let failures: Vec<String> = cases.into_iter().filter_map(|(i, e)| check(i, e)).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn shapes() {
    check_all([
        ("1 + 2 * 3", "(+ 1 (* 2 3))"),
        ("1 - 2 - 3", "(- (- 1 2) 3)"),
        ("a || b && c", "(|| a (&& b c))"),
        ("a < b == c", "(== (< a b) c)"),
        ("a ? b : c ? d : e", "(? a b (? c d e))"),
        ("x in [1, 2,]", "(in x [1 2])"),
        ("-1", "-1"),
        ("--1", "(- -1)"),
        ("-9223372036854775808", "-9223372036854775808"),
        ("-(1)", "(- 1)"),
        ("!!true", "(! (! true))"),
        ("-x.y", "(- (. x y))"),
        ("-1.size()", "(.size -1 )"),
        ("-(1).size()", "(- (.size 1 ))"),
        ("-9223372036854775808.x", "(. -9223372036854775808 x)"),
        ("-1.5e3", "-1500.0"),
        (".5", "0.5"),
        ("0x1F", "31"),
        ("1e3", "1000.0"),
        ("a.b.c", "(. (. a b) c)"),
        ("a['b'][0]", "([] ([] a \"b\") 0)"),
        ("steps.charge.id", "(. (. steps charge) id)"),
        ("x.size()", "(.size x )"),
        ("size(x)", "(size x)"),
        ("s.split(',', 2)", "(.split s \",\" 2)"),
        ("has(a.b)", "(has a b)"),
        ("has(a.b.c)", "(has (. a b) c)"),
        ("l.map(x, x * 2)", "(map l x (* x 2))"),
        ("l.map(x, x > 1, x * 2)", "(map l x (> x 1) (* x 2))"),
        ("l.filter(x, x > 1)", "(filter l x (> x 1))"),
        ("l.exists_one(x, x)", "(exists_one l x x)"),
        ("l.all(x, x).size()", "(.size (all l x x) )"),
        ("l.map(x)", "(.map l x)"),
        (
            "{'a': 1, \"b\": [true, null],}",
            "{\"a\": 1 \"b\": [true null]}",
        ),
        ("{}", "{}"),
        ("[]", "[]"),
        ("inx || nullable", "(|| inx nullable)"),
        ("a // comment\n + b", "(+ a b)"),
        ("r'\\d+'", "\"\\\\d+\""),
        (
            "'\\x41\\u00e9\\101\\n\\''",
            "\"Aé\\u{41}\\n'\"".replace("\\u{41}", "A").leak(),
        ),
        ("'''a\nb'''", "\"a\\nb\""),
        ("\"\"", "\"\""),
        ("'é' + x", "(+ \"é\" x)"),
    ]);
}

#[test]
fn syntax_errors() {
    check_all([
        (
            "1 +",
            "error 3..3: expected an expression, found the end of the expression",
        ),
        (
            "(1 + 2",
            "error 6..6: expected an operator or `)`, found the end of the expression",
        ),
        ("1 + )", "error 4..5: expected an expression, found `)`"),
        (
            "a = b",
            "error 2..3: expected an operator or the end of the expression, found `=`",
        ),
        (
            "a and b",
            "error 2..5: expected an operator or the end of the expression, found `and`",
        ),
        ("'abc", "error 0..4: unterminated string"),
        (
            "[1, 2",
            "error 5..5: expected an operator, `,` or `]`, found the end of the expression",
        ),
        (
            "a.",
            "error 2..2: expected a name, found the end of the expression",
        ),
        (
            "if + 1",
            "error 0..2: `if` is a reserved word and cannot be used as a name",
        ),
        (
            "a.while",
            "error 2..7: `while` is a reserved word and cannot be used as a name",
        ),
        (
            "1u",
            "error 1..2: unsigned integer literals are not supported",
        ),
        ("b'x'", "error 0..4: bytes literals are not supported"),
        (
            "9223372036854775808",
            "error 0..19: integer literal is out of range",
        ),
        (
            "-9223372036854775809",
            "error 0..20: integer literal is out of range",
        ),
        ("1e999", "error 0..5: double literal is out of range"),
        ("'a\\qb'", "error 2..4: unknown escape `\\q` in string"),
        ("'\\x4'", "error 1..4: malformed escape in string"),
        (
            "'\\ud800'",
            "error 1..7: escape that is not a unicode code point in string",
        ),
        (
            "has(a)",
            "error 4..5: the argument of `has` must be a field selection",
        ),
        (
            "l.map(1, 2)",
            "error 6..7: the first argument of `map` must be a variable name",
        ),
        (
            "",
            "error 0..0: expected an expression, found the end of the expression",
        ),
        (
            "a ? b",
            "error 5..5: expected an operator or `:`, found the end of the expression",
        ),
    ]);
}

#[test]
fn spans_are_file_offsets() {
    let e = parse_expr("steps.charge.idd", FileId(3), 100).unwrap();
    assert_eq!(
        (e.span.start, e.span.end, e.span.file),
        (100, 116, FileId(3))
    );
    let ExprKind::Member { target, field } = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!((field.span.start, field.span.end), (113, 116));
    assert_eq!((target.span.start, target.span.end), (100, 112));
}

#[test]
fn nesting_is_bounded() {
    let deep = format!("{}1{}", "(".repeat(200), ")".repeat(200));
    let d = parse_expr(&deep, FileId(0), 0).unwrap_err();
    assert!(d.message.contains("nested too deeply"), "{}", d.message);
    let long = vec!["a"; 500].join(" + ");
    let d = parse_expr(&long, FileId(0), 0).unwrap_err();
    assert!(d.message.contains("nested too deeply"), "{}", d.message);
    let ok = vec!["a"; 50].join(" + ");
    assert!(parse_expr(&ok, FileId(0), 0).is_ok());
}

/// `expect`: `literal:TEXT`, `expr:SEXP@START..END`, or `interp:` parts joined by `|`.
fn check_template(input: &str, offset: Option<usize>, expect: &str) -> Option<String> {
    let whole = Span::new(FileId(0), 1000, 1000 + input.len());
    let got = match parse_template(input, FileId(0), offset, whole) {
        Ok(Template::Literal(s)) => format!("literal:{s}"),
        Ok(Template::Expr(e)) => format!("expr:{}@{}..{}", sexp(&e), e.span.start, e.span.end),
        Ok(Template::Interp(parts)) => format!(
            "interp:{}",
            parts
                .iter()
                .map(|p| match p {
                    TemplatePart::Text(t) => format!("{t:?}"),
                    TemplatePart::Expr(e) =>
                        format!("{}@{}..{}", sexp(e), e.span.start, e.span.end),
                })
                .collect::<Vec<_>>()
                .join("|")
        ),
        Err(d) => format!("error {}..{}: {}", d.span().start, d.span().end, d.message),
    };
    (got != expect).then(|| format!("{input}\n   got: {got}\n  want: {expect}"))
}

#[test]
fn templates() {
    let cases = [
        ("plain text", Some(10), "literal:plain text"),
        ("cost: $5", Some(10), "literal:cost: $5"),
        ("$${ not }", Some(10), "literal:${ not }"),
        ("${ input.x }", Some(10), "expr:(. input x)@13..20"),
        ("  ${input}  ", Some(0), "expr:input@4..9"),
        ("${ {'a': 1} }", Some(0), "expr:{\"a\": 1}@3..11"),
        ("${ '}' }", Some(0), "expr:\"}\"@3..6"),
        (
            "id-${ x }-${ y + 1 }",
            Some(0),
            "interp:\"id-\"|x@6..7|\"-\"|(+ y 1)@13..18",
        ),
        ("${ x }${ y }", Some(0), "interp:x@3..4|y@9..10"),
        ("a $${b} ${ c }", Some(0), "interp:\"a ${b} \"|c@11..12"),
        ("${ x }", None, "expr:x@1000..1006"),
        (
            "${ x +  }",
            Some(0),
            "error 8..9: expected an expression, found `}`",
        ),
        (
            "${ x",
            Some(0),
            "error 4..4: expected an operator or `}` to close `${`, found the end of the string",
        ),
        (
            "${ x +  }",
            None,
            "error 1000..1009: expected an expression, found `}`",
        ),
    ];
    let failures: Vec<String> = cases
        .into_iter()
        .filter_map(|(i, o, e)| check_template(i, o, e))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Expressions the fast path reads; the grammar gives each the same tree, spans included.
#[test]
fn the_fast_path_reads_common_expressions() {
    for src in [
        "input",
        " input.order_id ",
        "steps.charge.charge_id",
        "input.amount > 4000 && vars.status != 'failed'",
        "input.amount * 2.0",
        "has(input.amount) ? input.amount : 0.0",
        "input.items.size() > 2 ? 'amex' : 'visa'",
        "{'status': vars.status, 'count': vars.count}",
        "'no invoice: ' + err.message",
        "string(item.sku)",
        "-1.size() + -x - 2 * (a % 3)",
        "[1, 2.5e3, \"s\", true, null,]",
        "items.filter(i, i.qty > 0).map(i, i.sku)",
        "a[0].b in ['x', 'y'] || !c",
        "1.e5",
        "x ? y : z ? w : v",
    ] {
        let fast = fast::expr(src, FileId(0), 7).unwrap_or_else(|| panic!("{src:?}: no answer"));
        let slow = parse_with_grammar(src, FileId(0), 7).expect("parses");
        assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{src:?}");
    }
    for src in [
        "",
        "true.",
        "x.in",
        "a..b",
        "a.",
        ".5",
        "a // c",
        "0x1F",
        "1u",
        "r'x'",
        "'\\n'",
        "'''x'''",
        "has(a)",
        "a.map(1, 2)",
        "9223372036854775808",
        "1e999",
        "x.if",
    ] {
        assert!(fast::expr(src, FileId(0), 0).is_none(), "{src:?}");
    }
}

/// Expression text from the whole syntax, the rare and the wrong included: every kind of
/// literal, operator and bracket, with any whitespace or comment between tokens.
fn expr_text() -> impl Strategy<Value = String> {
    let ident = prop_oneof![
        Just("x"),
        Just("input"),
        Just("has"),
        Just("map"),
        Just("r"),
        Just("b"),
        Just("in"),
        Just("true"),
        Just("false"),
        Just("null"),
        Just("if"),
        Just("true_"),
        Just("inx"),
        Just("_1"),
        Just("size"),
        Just("é"),
    ];
    let number = prop_oneof![
        Just("0"),
        Just("007"),
        Just("42"),
        Just("1.5"),
        Just("1e5"),
        Just("1.5e-3"),
        Just("2E+2"),
        Just("1.e5"),
        Just("0x1F"),
        Just("2u"),
        Just(".5"),
        Just("1e"),
        Just("9223372036854775807"),
        Just("9223372036854775808"),
        Just("18446744073709551616"),
        Just("1e999"),
        Just("1abc"),
    ];
    let string = prop_oneof![
        Just(r#""a""#),
        Just("'b'"),
        Just(r#""""#),
        Just("''"),
        Just(r#""a\"b""#),
        Just(r"'\n'"),
        Just(r#"r"x\""#),
        Just("R'y'"),
        Just(r#"b"z""#),
        Just("'''t'''"),
        Just(r#""""u""""#),
        Just(r#""é ü""#),
        Just(r#"'a"b'"#),
        Just(r#""${ x }""#),
    ];
    let leaf = prop_oneof![ident, number, string].prop_map(str::to_owned);
    let space = prop_oneof![
        6 => Just(""), 6 => Just(" "), 1 => Just("\n"), 1 => Just("\t"), 1 => Just("\r\n"),
        1 => Just("\x0B"), 1 => Just("\x0C"), 1 => Just(" // c\n"), 1 => Just("/* c */"),
    ];
    let op = prop_oneof![
        Just("||"),
        Just("&&"),
        Just("=="),
        Just("!="),
        Just("<"),
        Just("<="),
        Just(">"),
        Just(">="),
        Just("in"),
        Just("+"),
        Just("-"),
        Just("*"),
        Just("/"),
        Just("%"),
        Just("="),
        Just("|"),
        Just("&"),
        Just("!"),
    ];
    leaf.prop_recursive(5, 40, 4, move |inner| {
        let sp = space.clone();
        let list = prop::collection::vec((inner.clone(), sp.clone()), 0..4);
        prop_oneof![
            (
                inner.clone(),
                sp.clone(),
                op.clone(),
                sp.clone(),
                inner.clone()
            )
                .prop_map(|(a, s1, o, s2, b)| format!("{a}{s1}{o}{s2}{b}")),
            (
                prop_oneof![Just("!"), Just("-"), Just("- "), Just("!!")],
                inner.clone()
            )
                .prop_map(|(o, a)| format!("{o}{a}")),
            (inner.clone(), sp.clone(), inner.clone(), inner.clone())
                .prop_map(|(c, s, t, o)| format!("{c}{s}?{s}{t}{s}:{s}{o}")),
            (sp.clone(), inner.clone()).prop_map(|(s, a)| format!("({s}{a}{s})")),
            (list.clone(), any::<bool>()).prop_map(|(items, trailing)| format!(
                "[{}{}]",
                join(&items),
                if trailing && !items.is_empty() {
                    ","
                } else {
                    ""
                }
            )),
            (
                prop::collection::vec((inner.clone(), sp.clone(), inner.clone()), 0..3),
                any::<bool>()
            )
                .prop_map(|(entries, trailing)| {
                    let entries: Vec<String> = entries
                        .iter()
                        .map(|(k, s, v)| format!("{k}{s}:{s}{v}"))
                        .collect();
                    format!(
                        "{{{}{}}}",
                        entries.join(","),
                        if trailing { "," } else { "" }
                    )
                }),
            (
                inner.clone(),
                sp.clone(),
                prop_oneof![Just("f"), Just("in"), Just("size"), Just("x1")]
            )
                .prop_map(|(t, s, f)| format!("{t}{s}.{s}{f}")),
            (
                inner.clone(),
                sp.clone(),
                prop_oneof![Just("size"), Just("map"), Just("filter"), Just("all")],
                list.clone()
            )
                .prop_map(|(t, s, f, args)| format!("{t}.{f}{s}({})", join(&args))),
            (inner.clone(), sp.clone(), inner.clone())
                .prop_map(|(t, s, i)| format!("{t}{s}[{s}{i}{s}]")),
            (prop_oneof![Just("has"), Just("int"), Just("f")], sp, list)
                .prop_map(|(f, s, args)| format!("{f}{s}({})", join(&args))),
        ]
    })
}

/// Items each followed by its whitespace, separated by commas.
fn join(items: &[(String, &str)]) -> String {
    items
        .iter()
        .map(|(i, s)| format!("{i}{s}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Up to four random edits: a character deleted, replaced or inserted.
fn mutated(src: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    let char = prop_oneof![
        Just('('),
        Just(')'),
        Just('['),
        Just(']'),
        Just('{'),
        Just('}'),
        Just('.'),
        Just(','),
        Just(':'),
        Just('?'),
        Just('"'),
        Just('\''),
        Just('\\'),
        Just('-'),
        Just('!'),
        Just('/'),
        Just('1'),
        Just('e'),
        Just('u'),
        Just('x'),
        Just(' '),
        Just('\n'),
        Just('$'),
    ];
    let edit = (any::<prop::sample::Index>(), 0..3u8, char);
    (src, prop::collection::vec(edit, 0..4)).prop_map(|(src, edits)| {
        let mut chars: Vec<char> = src.chars().collect();
        for (at, kind, c) in edits {
            let at = at.index(chars.len() + 1);
            match kind {
                0 if at < chars.len() => {
                    chars.remove(at);
                }
                1 if at < chars.len() => chars[at] = c,
                _ => chars.insert(at, c),
            }
        }
        chars.into_iter().collect()
    })
}

/// Whenever the fast path answers, bare or inside `${ … }`, the grammar gives the same tree,
/// spans included (compared as `Debug` text, which tells `-0.0` from `0.0`).
fn agrees_with_the_grammar(src: &str) -> Result<(), TestCaseError> {
    let file = FileId(3);
    if let Some(fast) = fast::expr(src, file, 11) {
        let slow = parse_with_grammar(src, file, 11).map_err(|d| {
            TestCaseError::fail(format!("{src:?}: fast {fast:?}, grammar: {}", d.message))
        })?;
        prop_assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{:?}", src);
    }
    let src = format!("{src}}} tail");
    if let Some(fast) = fast::interp(&src, file, 11) {
        let b = Builder {
            src: &src,
            file,
            offset: 11,
        };
        let slow = b.interp_with_grammar().map_err(|d| {
            TestCaseError::fail(format!("{src:?}: fast {fast:?}, grammar: {}", d.message))
        })?;
        prop_assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{:?}", src);
    }
    Ok(())
}

#[test]
fn the_fast_path_agrees_with_the_grammar() {
    check_agreement(|| mutated(expr_text()));
}

#[test]
fn the_fast_path_agrees_on_printed_trees() {
    check_agreement(|| mutated(crate::expr::ast::tests::expr().prop_map(|e| e.to_string())));
}

/// Runs [`agrees_with_the_grammar`] on 4,000 inputs, on a thread with room for the strategy's
/// value trees, which overflow a test thread's stack in debug builds.
fn check_agreement<S: Strategy<Value = String> + 'static>(strategy: fn() -> S) {
    let run = move || {
        let config = ProptestConfig {
            cases: 4000,
            ..ProptestConfig::default()
        };
        let mut runner = proptest::test_runner::TestRunner::new(config);
        let answered = std::sync::atomic::AtomicUsize::new(0);
        let result = runner.run(&strategy(), |src| {
            if fast::expr(&src, FileId(3), 11).is_some() {
                answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            agrees_with_the_grammar(&src)
        });
        if let Err(e) = result {
            panic!("{e}");
        }
        // Not vacuous: the fast path answers for a good share of the inputs.
        let answered = answered.into_inner();
        assert!(
            answered >= 200,
            "the fast path answered only {answered} times"
        );
    };
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(run)
        .expect("a test thread")
        .join()
        .expect("the fast path agrees with the grammar");
}

/// [`RESERVED`] is the one list of reserved words. The grammar matches a few of them as
/// keyword rules (`lit_true = @{ "true" ~ !ident_char }`) and reads the rest as identifiers,
/// so every keyword it matches must be on the list, and every word on the list must be refused
/// where a name is read.
#[test]
fn reserved_words_agree_with_the_grammar() {
    let grammar = include_str!("../../../grammar/expr.pest");
    let mut keywords: Vec<&str> = grammar
        .lines()
        .filter_map(|line| {
            let (_, body) = line.split_once("@{ \"")?;
            let (word, rest) = body.split_once('"')?;
            rest.trim_start()
                .starts_with("~ !ident_char")
                .then_some(word)
        })
        .collect();
    keywords.sort_unstable();
    assert_eq!(
        keywords,
        ["false", "in", "null", "true"],
        "the grammar's keywords"
    );
    for word in keywords {
        assert!(
            RESERVED.contains(&word),
            "`{word}` is missing from RESERVED"
        );
    }
    for word in RESERVED {
        let err = parse_expr(&format!("x.{word}"), FileId(0), 0).expect_err(word);
        assert_eq!(
            err.message,
            format!("`{word}` is a reserved word and cannot be used as a name"),
        );
    }
}
