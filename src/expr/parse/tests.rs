//! Parser tests: tree shapes, spans and syntax-error messages, one table each.

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

#[test]
fn the_fast_path_builds_the_grammars_tree() {
    for src in [
        "input",
        " input.order_id ",
        "steps.charge.charge_id",
        "_a.b_2.C",
        "x.y.z.w",
        "item",
    ] {
        let fast = parse_path(src, FileId(0), 7).expect("a path");
        let slow = parse_with_grammar(src, FileId(0), 7).expect("parses");
        assert_eq!(fast, slow, "{src:?}");
    }
    for src in [
        "true", "null", "x.in", "a..b", "a.", ".a", "1.a", "a.b()", "a[0]", "a - b", "",
    ] {
        assert!(parse_path(src, FileId(0), 0).is_none(), "{src:?}");
    }
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
