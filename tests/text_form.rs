//! The text form: parsing, printing, conversion, and equivalence with the YAML form.

use proptest::prelude::*;
use regex::Regex;
use stave::check;
use stave::diagnostics::render::{Style, render_human};
use stave::diagnostics::{Code, Diagnostic, FileId, Sources, Span, Spanned};
use stave::expr::{self, Template};
use stave::project::ProjectContext;
use stave::syntax::ast::*;
use stave::syntax::{print_text, print_yaml, text, yaml};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The AST's debug text with every span removed: equality "modulo spans".
fn shape(w: &impl std::fmt::Debug) -> String {
    static SPAN: OnceLock<Regex> = OnceLock::new();
    let re = SPAN.get_or_init(|| {
        Regex::new(r"Span \{ file: FileId\(\d+\), start: \d+, end: \d+ \}").expect("valid regex")
    });
    re.replace_all(&format!("{w:?}"), "_").into_owned()
}

fn parse_text(src: &str) -> File {
    let (w, d) = text::parse(FileId(0), src);
    assert!(d.is_empty(), "diagnostics for:\n{src}\n{d:#?}");
    w.expect("a workflow")
}

fn parse_yaml(src: &str) -> File {
    let (w, d) = yaml::load(FileId(0), src);
    assert!(d.is_empty(), "diagnostics for:\n{src}\n{d:#?}");
    w.expect("a workflow")
}

/// The project context that governs `path` (none outside a project).
fn context_for(path: &Path) -> ProjectContext {
    match check::find_project_dir(path) {
        Some(dir) => {
            let mut sources = Sources::default();
            let mut diagnostics = Vec::new();
            check::load_project_context(&dir, &mut sources, &mut diagnostics)
        }
        None => ProjectContext::default(),
    }
}

/// Compiles source text as if read from `path`: the identity of each workflow's IR
/// (canonical JSON without spans) and the sorted diagnostic codes.
fn compile(path: &Path, src: &str, context: &ProjectContext) -> (Vec<String>, Vec<Code>) {
    let (_, irs, diagnostics) = check::compile_source_all(&path.to_string_lossy(), src, context);
    let mut codes: Vec<Code> = diagnostics.iter().map(|d| d.code).collect();
    codes.sort();
    let irs = irs
        .iter()
        .map(|ir| ir.canonical_json().to_string())
        .collect();
    (irs, codes)
}

fn rendered(sources: &Sources, diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| render_human(sources, d, Style::default()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn yaml_samples() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = check::workflow_files(&root().join("workflows"))
        .expect("workflows/ is readable")
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".stave.yaml"))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no samples in workflows/");
    out
}

fn twin_of(yaml_path: &Path) -> PathBuf {
    let name = yaml_path.to_string_lossy();
    PathBuf::from(name.trim_end_matches(".yaml"))
}

// ---------------------------------------------------------------------------------------------
// Samples: both forms, one IR.

#[test]
fn every_sample_exists_in_both_forms_with_identical_ir() {
    for y in yaml_samples() {
        let t = twin_of(&y);
        let ysrc = std::fs::read_to_string(&y).expect("read sample");
        let tsrc = std::fs::read_to_string(&t)
            .unwrap_or_else(|e| panic!("{} has no text twin {}: {e}", y.display(), t.display()));
        let context = context_for(&y);
        let (yir, ycodes) = compile(&y, &ysrc, &context);
        let (tir, tcodes) = compile(&t, &tsrc, &context);
        assert_eq!(
            ycodes,
            tcodes,
            "diagnostics differ between {} and {}",
            y.display(),
            t.display()
        );
        assert!(
            !yir.is_empty(),
            "{} does not compile: {ycodes:?}",
            y.display()
        );
        assert_eq!(
            yir,
            tir,
            "IR differs between {} and {}",
            y.display(),
            t.display()
        );
    }
}

#[test]
fn text_samples_are_in_canonical_layout() {
    for y in yaml_samples() {
        let t = twin_of(&y);
        let src = std::fs::read_to_string(&t).expect("read text sample");
        let (formatted, d) = print_text::format(FileId(0), &src);
        assert!(d.is_empty(), "{}: {d:#?}", t.display());
        assert_eq!(
            formatted.as_deref(),
            Some(src.as_str()),
            "`stave fmt` would change {}",
            t.display()
        );
    }
}

#[test]
fn converting_samples_there_and_back_keeps_the_ir() {
    for y in yaml_samples() {
        let ysrc = std::fs::read_to_string(&y).expect("read sample");
        let context = context_for(&y);
        let (yir, _) = compile(&y, &ysrc, &context);
        assert!(!yir.is_empty(), "{} compiles", y.display());
        // YAML → text → YAML.
        let text_form = print_text::print_text(&parse_yaml(&ysrc));
        let (tir, _) = compile(&twin_of(&y), &text_form, &context);
        assert_eq!(tir, yir, "YAML → text changed the IR of {}", y.display());
        let back = print_yaml::print_yaml(&parse_text(&text_form));
        let (bir, _) = compile(&y, &back, &context);
        assert_eq!(
            bir,
            yir,
            "YAML → text → YAML changed the IR of {}",
            y.display()
        );
        // The printed forms are fixpoints.
        assert_eq!(print_text::print_text(&parse_yaml(&back)), text_form);
        assert_eq!(print_yaml::print_yaml(&parse_yaml(&back)), back);
        // YAML → YAML keeps the IR too.
        let again = print_yaml::print_yaml(&parse_yaml(&ysrc));
        let (air, _) = compile(&y, &again, &context);
        assert_eq!(air, yir, "re-printing {} changed its IR", y.display());
    }
}

#[test]
fn converting_lint_fixtures_keeps_diagnostics_and_ir() {
    let dir = root().join("tests/fixtures/lint");
    let mut converted = 0;
    for path in check::workflow_files(&dir).expect("fixtures readable") {
        if !path.to_string_lossy().ends_with(".stave.yaml") {
            continue;
        }
        // Fixtures of unreadable files (E001) are not workflows to convert.
        let Ok(ysrc) = std::fs::read_to_string(&path) else {
            continue;
        };
        let (ast, d) = yaml::load(FileId(0), &ysrc);
        let Some(ast) = ast.filter(|_| d.iter().all(|d| !d.is_error())) else {
            continue;
        };
        let context = context_for(&path);
        let text_form = print_text::print_text(&ast);
        let tast = {
            let (w, d) = text::parse(FileId(0), &text_form);
            assert!(
                d.is_empty(),
                "{}: the text form does not parse back:\n{text_form}\n{d:#?}",
                path.display()
            );
            w.expect("a workflow")
        };
        let expected = compile(&path, &ysrc, &context);
        let as_text = compile(&twin_of(&path), &text_form, &context);
        assert_eq!(
            expected,
            as_text,
            "{}: YAML and text forms differ:\n{text_form}",
            path.display()
        );
        let back = print_yaml::print_yaml(&tast);
        assert_eq!(
            expected,
            compile(&path, &back, &context),
            "{}: text → YAML differs:\n{back}",
            path.display()
        );
        converted += 1;
    }
    assert!(converted > 30, "only {converted} lint fixtures converted");
}

// ---------------------------------------------------------------------------------------------
// Syntax errors: one fixture per grammar rule family, rendered as a person sees them.

#[test]
fn syntax_errors_are_precise_and_worded_for_people() {
    let dir = root().join("tests/fixtures/text/errors");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    paths.sort();
    let internal: Vec<String> = text::Rule::all_rules()
        .iter()
        .map(|r| format!("{r:?}"))
        .filter(|n| n.contains('_'))
        .collect();
    for path in paths {
        let src = std::fs::read_to_string(&path).expect("read fixture");
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 name")
            .to_string();
        let mut sources = Sources::default();
        let file = sources.add(format!("{name}.stave"), src.clone());
        let (_, diagnostics) = text::parse(file, &src);
        assert!(
            diagnostics.iter().any(Diagnostic::is_error),
            "{name}: no error reported"
        );
        let out = rendered(&sources, &diagnostics);
        for d in &diagnostics {
            for raw in &internal {
                assert!(
                    !d.message.contains(raw.as_str())
                        || raw.starts_with("kw_")
                            && d.message.contains(&format!("`{}`", &raw[3..])),
                    "{name}: rule name `{raw}` leaks into: {}",
                    d.message
                );
            }
        }
        insta::assert_snapshot!(format!("text_error_{name}"), out);
    }
}

#[test]
fn every_grammar_rule_has_words() {
    for rule in text::Rule::all_rules() {
        let words = text::describe_rule(*rule);
        assert!(!words.is_empty(), "{rule:?}");
        let raw = format!("{rule:?}");
        if raw.contains('_') && !raw.starts_with("kw_") {
            assert!(
                !words.contains(&raw),
                "{rule:?} is described with its own name: {words}"
            );
        }
    }
}

#[test]
fn non_utf8_input_is_e001_at_the_bad_byte() {
    let mut bytes = b"workflow order {\n  description \"caf".to_vec();
    bytes.push(0xe9);
    bytes.extend_from_slice(b"\"\n}\n");
    let (w, d) = text::parse_bytes(FileId(3), &bytes);
    assert!(w.is_none());
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code, Code::E001);
    assert_eq!(d[0].span(), Span::new(FileId(3), 35, 36));
    assert!(d[0].message.contains("byte 35"), "{}", d[0].message);
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let src = format!(
        "workflow w {{\n x = {}1{}\n}}\n",
        "[".repeat(500),
        "]".repeat(500)
    );
    let (w, d) = text::parse(FileId(0), &src);
    assert!(w.is_none());
    assert_eq!(d[0].code, Code::E060);
    assert!(d[0].message.contains("nest deeper"), "{}", d[0].message);
    let blocks = format!(
        "workflow w {{\n{}{}}}\n",
        "if c {\n".repeat(200),
        "}\n".repeat(200)
    );
    let (_, d) = text::parse(FileId(0), &blocks);
    assert_eq!(d[0].code, Code::E060);
}

// ---------------------------------------------------------------------------------------------
// Constructs.

/// `expose_status` is spelled in both forms, and both give the same IR with the flag set;
/// without it the flag is off.
#[test]
fn expose_status_is_the_same_in_both_forms() {
    let text =
        "stave 1\nworkflow w {\n  expose_status true\n  log(message: \"hi\") timeout 5s\n}\n";
    let yaml = "stave: 1\nworkflow: w\nexpose_status: true\nsteps:\n  - activity: log\n    input: { message: hi }\n    timeout: 5s\n";
    assert_eq!(
        parse_text(text).workflows[0]
            .expose_status
            .as_ref()
            .map(|b| b.value),
        Some(true)
    );
    assert_eq!(
        parse_yaml(yaml).workflows[0]
            .expose_status
            .as_ref()
            .map(|b| b.value),
        Some(true)
    );
    // The sample project: its queues and manifest.
    let context = context_for(&root().join("workflows/w.stave"));
    let (irs, codes) = compile(Path::new("w.stave"), text, &context);
    let ir = irs
        .first()
        .cloned()
        .unwrap_or_else(|| panic!("no IR: {codes:?}"));
    assert!(ir.contains("\"expose_status\":true"), "{ir}");
    assert_eq!(
        vec![ir],
        compile(Path::new("w.stave.yaml"), yaml, &context).0
    );
    let (off, _) = compile(
        Path::new("o.stave"),
        "stave 1\nworkflow w {\n  log(message: \"hi\") timeout 5s\n}\n",
        &context,
    );
    assert!(!off.first().expect("IR").contains("expose_status"));
}

#[test]
fn signal_parameters_are_fields_of_the_payload() {
    let w = parse_text(
        "workflow w {\n  signal approve(by, note) { approver = by; notes = [note].map(note, note + by) }\n}\n",
    );
    let out = print_text::print_text(&w);
    assert!(
        out.contains("signal approve { approver = signal.by; notes = [signal.note].map(note, note + signal.by) }"),
        "{out}"
    );
}

#[test]
fn guards_attach_to_every_step_kind() {
    let src = r#"workflow w {
  step a = f() timeout 5s when input.x
  workflow child() when input.x
  switch { default {} } when input.x
  parallel { one { f() } } when input.x
  race { one { f() } } when input.x
  for i in input.items { f(i) } when input.x
  while vars.more max_iterations 3 { f() } when input.x
  wait go when input.x
  sleep 5m when input.x
  set { a = 1; b = 2 } when input.x
  a = 1 when input.x
  try { f() } when input.x
  fail Oops when input.x
  return 1 when input.x
  block { f() } when input.x
}
"#;
    let w = parse_text(src);
    assert_eq!(w.workflows[0].steps.len(), 15);
    for s in &w.workflows[0].steps {
        assert!(s.when.is_some(), "no guard on {:?}", s.kind);
    }
    // `block { } when c` is the same step as `if c { }`.
    assert!(print_text::print_text(&w).contains("  if input.x {\n    f()\n  }\n"));
}

#[test]
fn else_if_chains_round_trip() {
    let src =
        "workflow w {\n  if a {\n    f()\n  } else if b {\n    g()\n  } else {\n    h()\n  }\n}\n";
    let w = parse_text(src);
    let StepKind::Block {
        else_steps: Some(e),
        ..
    } = &w.workflows[0].steps[0].kind
    else {
        panic!("not a block: {:?}", w.workflows[0].steps[0].kind)
    };
    assert!(matches!(
        e[0].kind,
        StepKind::Block {
            else_steps: Some(_),
            ..
        }
    ));
    assert_eq!(print_text::print_text(&w), src);
}

#[test]
fn the_compact_input_form_lowers_to_json_schema() {
    let w = parse_text(
        "workflow w {\n  input { id: string, n?: integer, tags: [string], items?: [{ sku: string }], meta: map, x: any, \"odd key\"?: list }\n}\n",
    );
    let schema = w.workflows[0].input.clone().expect("input").value;
    let expected = serde_json::json!({
        "type": "object",
        "required": ["id", "tags", "meta", "x"],
        "properties": {
            "id": {"type": "string"},
            "n": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "items": {"type": "array", "items": {"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"}}}},
            "meta": {"type": "object"},
            "x": {},
            "odd key": {"type": "array"}
        }
    });
    assert_eq!(schema.to_string(), expected.to_string());
    let raw = parse_text(
        "workflow w {\n  input schema {\"type\": \"object\", \"minProperties\": 1}\n}\n",
    );
    assert_eq!(
        raw.workflows[0].input.clone().expect("input").value,
        serde_json::json!({"type": "object", "minProperties": 1})
    );
}

#[test]
fn values_templates_and_data_keep_their_meaning() {
    let w = parse_text(
        "workflow w {\n  var a = {\"to\": input.email, \"n\": [1, 2]}\n  var b = `Dear ${ input.name }, $${ literal }`\n  var c = {\"greeting\": `hi ${ input.name }`, \"plain\": 1}\n}\n",
    );
    assert!(matches!(w.workflows[0].vars[0].1.kind, ValueKind::Expr(_)));
    assert!(matches!(
        w.workflows[0].vars[1].1.kind,
        ValueKind::Str(Template::Interp(_))
    ));
    let ValueKind::Map(entries) = &w.workflows[0].vars[2].1.kind else {
        panic!("a data map: {:?}", w.workflows[0].vars[2].1.kind)
    };
    assert_eq!(entries[0].0.value, "greeting");
    let y = print_yaml::print_yaml(&w);
    assert!(
        y.contains("a: { to: \"${ input.email }\", n: [1, 2] }"),
        "{y}"
    );
    assert!(
        y.contains("b: \"Dear ${ input.name }, $${ literal }\""),
        "{y}"
    );
}

#[test]
fn yaml_printing_quotes_what_yaml_would_misread() {
    let tricky = [
        "true",
        "False",
        "null",
        "~",
        "",
        "123",
        "-1.5",
        "0x1F",
        ".inf",
        "yes",
        "no",
        "a: b",
        "#x",
        "x #y",
        "- a",
        "[a]",
        "{a}",
        "'q'",
        "\"q\"",
        " lead",
        "trail ",
        "multi\nline",
        "tab\there",
        "${ not }",
        "%x",
        "@x",
        "`x`",
        "!x",
        "&x",
        "*x",
        "|",
        ">",
        "?",
        ":",
        "é ü",
        "back\\slash",
    ];
    let vars: Vec<String> = tricky
        .iter()
        .enumerate()
        .map(|(i, s)| format!("  var v{i} = {}\n", print_text::value(&literal(s))))
        .collect();
    let w = parse_text(&format!("workflow w {{\n{}}}\n", vars.concat()));
    let y = print_yaml::print_yaml(&w);
    let back = parse_yaml(&y);
    for (i, s) in tricky.iter().enumerate() {
        match &back.workflows[0].vars[i].1.kind {
            ValueKind::Str(Template::Literal(got)) => assert_eq!(got, s, "{y}"),
            other => panic!("`{s}` read back as {other:?} from:\n{y}"),
        }
    }
}

fn literal(s: &str) -> Value {
    Value {
        kind: ValueKind::Str(Template::Literal(s.to_string())),
        span: Span::default(),
    }
}

#[test]
fn formatting_keeps_comments_and_is_idempotent() {
    let src = "# header comment\nstave 1\nworkflow w on queue q { // after the brace\n  # about a\n  var a = 1 # trailing\n\n\n  step x = f()   // why x\n  if a {\n    # inside\n    g()\n    # last in block\n  }\n  # before the end\n}\n# after all\n";
    let (once, d) = print_text::format(FileId(0), src);
    assert!(d.is_empty(), "{d:#?}");
    let once = once.expect("formatted");
    for c in [
        "# header comment",
        "// after the brace",
        "# about a",
        "# trailing",
        "// why x",
        "# inside",
        "# last in block",
        "# before the end",
        "# after all",
    ] {
        assert!(once.contains(c), "lost `{c}`:\n{once}");
    }
    let (twice, _) = print_text::format(FileId(0), &once);
    assert_eq!(twice.as_deref(), Some(once.as_str()));
    assert_eq!(
        shape(&parse_text(src)).len(),
        shape(&parse_text(&once)).len()
    );
    insta::assert_snapshot!("text_fmt_comments", once);
}

// ---------------------------------------------------------------------------------------------
// The command line.

fn stave(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_stave"))
        .args(args)
        .output()
        .expect("run stave")
}

#[test]
fn fmt_check_lists_files_that_would_change_and_fmt_fixes_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let messy = dir.path().join("messy.stave");
    let tidy = dir.path().join("tidy.stave");
    std::fs::write(&messy, "workflow w{step a=f( )   timeout 5s}").expect("write");
    std::fs::write(&tidy, "workflow w {\n  step a = f() timeout 5s\n}\n").expect("write");
    let out = stave(&["fmt", "--check", &dir.path().to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("would reformat") && stdout.contains("messy.stave"),
        "{stdout}"
    );
    assert!(!stdout.contains("tidy.stave"), "{stdout}");
    let out = stave(&["fmt", &messy.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&messy).expect("read"),
        "workflow w {\n  step a = f() timeout 5s\n}\n"
    );
    let out = stave(&["fmt", "--check", &dir.path().to_string_lossy()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn convert_writes_the_other_form_and_reports_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sample = root().join("workflows/fraud-review.stave.yaml");
    let out_path = dir.path().join("fraud-review.stave");
    let out = stave(&[
        "convert",
        &sample.to_string_lossy(),
        "--to",
        "text",
        "-o",
        &out_path.to_string_lossy(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text_form = std::fs::read_to_string(&out_path).expect("converted");
    let out = stave(&["convert", &out_path.to_string_lossy(), "--to", "yaml"]);
    assert_eq!(out.status.code(), Some(0));
    let yaml_form = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        yaml_form.starts_with("stave: 1\nworkflow: fraud-review\n"),
        "{yaml_form}"
    );
    assert_eq!(print_text::print_text(&parse_yaml(&yaml_form)), text_form);
    let broken = dir.path().join("broken.stave");
    std::fs::write(&broken, "workflow w {\n  step a = f(\n}\n").expect("write");
    let out = stave(&["convert", &broken.to_string_lossy(), "--to", "yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("E06"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// Property: any AST the text form can spell prints and parses back unchanged (modulo spans).

fn sp<T>(value: T) -> Spanned<T> {
    Spanned::new(value, Span::default())
}

fn expr_value(src: &str) -> Value {
    let e = expr::parse_expr(src, FileId(0), 0).unwrap_or_else(|d| panic!("{src}: {d:?}"));
    Value {
        kind: ValueKind::Expr(e),
        span: Span::default(),
    }
}

fn template_value(src: &str) -> Value {
    let t = expr::parse_template(src, FileId(0), None, Span::default())
        .unwrap_or_else(|d| panic!("{src}: {d:?}"));
    assert!(
        matches!(t, Template::Interp(_)),
        "{src} is not an interpolation"
    );
    Value {
        kind: ValueKind::Str(t),
        span: Span::default(),
    }
}

const EXPRS: &[&str] = &[
    "input.amount > 1000",
    "vars.status",
    "steps.charge.id",
    "[1, 2, 3]",
    "{\"a\": input.x, \"b\": [true, null]}",
    "has(input.model) ? input.model : \"large\"",
    "size(input.items) * 2 - 1",
    "input.items.map(i, i.sku)",
    "\"quotes \\\" and\\nnew line\"",
    "-3",
    "2.5",
    "!vars.ok && (vars.a || vars.b)",
    "\"x\" in [\"x\", \"y\"]",
    "{}",
    "null",
];

const TEMPLATES: &[&str] = &[
    "no invoice: ${ err.message }",
    "a ${ x } b ${ y.z }",
    "back`tick ${ 1 + 2 } \\ slash",
    "lit $${ not } ${ v }",
];

fn ident() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "b", "status", "order_id", "x1", "_tmp", "Item"])
        .prop_map(String::from)
}

fn tname() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "payments.charge",
        "email.send",
        "fraud-review",
        "Approve_1",
        "CardDeclined",
        "q",
    ])
    .prop_map(String::from)
}

fn any_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z ]{0,12}",
        prop::sample::select(vec![
            "",
            "quote \" back \\ tab \t",
            "é ü 日本",
            "line\nbreak",
            "${ x }"
        ])
        .prop_map(String::from),
    ]
}

fn expr_v() -> impl Strategy<Value = Value> {
    prop::sample::select(EXPRS.to_vec()).prop_map(expr_value)
}

fn value() -> impl Strategy<Value = Value> {
    let template = prop::sample::select(TEMPLATES.to_vec()).prop_map(template_value);
    let leaf = prop_oneof![3 => expr_v(), 1 => template.clone()];
    // Data holding a template: the only lists and maps the parser keeps as data.
    let data_list =
        (template.clone(), prop::collection::vec(leaf.clone(), 0..3)).prop_map(|(t, mut rest)| {
            rest.insert(0, t);
            Value {
                kind: ValueKind::List(rest),
                span: Span::default(),
            }
        });
    let data_map = (
        template,
        prop::collection::vec(("[a-z]{1,4}", leaf.clone()), 0..3),
    )
        .prop_map(|(t, rest)| {
            let mut entries = vec![(sp("t".to_string()), t)];
            for (k, v) in rest {
                if !entries.iter().any(|(e, _)| e.value == k) {
                    entries.push((sp(k), v));
                }
            }
            Value {
                kind: ValueKind::Map(entries),
                span: Span::default(),
            }
        });
    prop_oneof![6 => leaf, 1 => data_list, 1 => data_map]
}

fn duration() -> impl Strategy<Value = Spanned<Duration>> {
    prop_oneof![1u64..2_000, 1u64..100_000_000].prop_map(|ms| sp(Duration::from_millis(ms)))
}

fn retry() -> impl Strategy<Value = Retry> {
    (
        prop::option::of(0i64..10),
        prop::option::of(duration()),
        prop::option::of(prop::sample::select(vec![1.0f64, 1.5, 2.0, 10.25])),
        prop::option::of(duration()),
        prop::collection::vec(tname(), 0..3),
    )
        .prop_map(
            |(max_attempts, initial_interval, backoff, max_interval, non_retryable)| Retry {
                max_attempts: max_attempts.map(sp),
                initial_interval,
                backoff: backoff.map(sp),
                max_interval,
                non_retryable: non_retryable.into_iter().map(sp).collect(),
                span: Span::default(),
            },
        )
}

fn options() -> impl Strategy<Value = ActivityOptions> {
    (
        prop::option::of(tname()),
        prop::option::of(prop_oneof![tname(), Just("raw queue/1".to_string())]),
        prop::option::of(duration()),
        prop::option::of(duration()),
        prop::option::of(duration()),
        prop::option::of(duration()),
        prop::option::of(retry()),
        prop::option::of(value()),
        prop::option::of(value()),
    )
        .prop_map(
            |(queue, task_queue, timeout, s2c, s2s, heartbeat, retry, summary, priority)| {
                ActivityOptions {
                    queue: queue.map(sp),
                    task_queue: task_queue.map(sp),
                    timeout,
                    schedule_to_close: s2c,
                    schedule_to_start: s2s,
                    heartbeat,
                    retry,
                    summary,
                    priority,
                    span: Span::default(),
                }
            },
        )
}

/// A call's input: none, one value, or named inputs.
fn call_input() -> impl Strategy<Value = (Option<Value>, Option<Spanned<Vec<Value>>>)> {
    let named = prop::collection::vec((ident(), value()), 1..3).prop_map(|entries| {
        let mut out: Vec<(Name, Value)> = Vec::new();
        for (k, v) in entries {
            if !out.iter().any(|(e, _)| e.value == k) {
                out.push((sp(k), v));
            }
        }
        Value {
            kind: ValueKind::Map(out),
            span: Span::default(),
        }
    });
    let input = prop_oneof![Just(None), value().prop_map(Some), named.prop_map(Some)];
    let args = prop::option::of(prop::collection::vec(value(), 0..3).prop_map(sp));
    (input, args)
}

fn activity_call() -> impl Strategy<Value = ActivityCall> {
    (tname(), call_input(), options()).prop_map(|(activity, (input, args), options)| ActivityCall {
        activity: sp(activity),
        input,
        args,
        options,
        compensate: None,
    })
}

fn leaf_kind() -> impl Strategy<Value = StepKind> {
    let activity = (activity_call(), prop::option::of(activity_call())).prop_map(|(mut a, c)| {
        a.compensate = c.map(Box::new);
        StepKind::Activity(a)
    });
    let child = (
        tname(),
        call_input(),
        prop::option::of(value()),
        prop::option::of(tname()),
        prop::option::of(tname()),
        prop::option::of(duration()),
        prop::option::of(prop::sample::select(vec!["abandon", "terminate"])),
        prop::option::of(retry()),
        prop::option::of(value()),
    )
        .prop_map(
            |(w, (input, args), workflow_id, queue, task_queue, timeout, pc, retry, priority)| {
                StepKind::Workflow(ChildCall {
                    workflow: sp(w),
                    input,
                    args,
                    workflow_id,
                    queue: queue.map(sp),
                    task_queue: task_queue.map(sp),
                    timeout,
                    parent_close: pc.map(|p| sp(p.to_string())),
                    retry,
                    priority,
                })
            },
        );
    let wait = (
        prop::collection::vec(tname(), 1..4),
        prop::sample::select(vec![WaitMode::One, WaitMode::Any, WaitMode::All]),
        prop::option::of(value()),
        prop::option::of(duration()),
        prop::option::of(prop::sample::select(vec!["fail", "continue"])),
    )
        .prop_map(|(names, mode, until, timeout, on_timeout)| StepKind::Wait {
            signal: sp(names[0].clone()),
            others: match mode {
                WaitMode::One => Vec::new(),
                _ => names[1..].iter().cloned().map(sp).collect(),
            },
            mode,
            until,
            timeout,
            on_timeout: on_timeout.map(|o| sp(o.to_string())),
        });
    let sleep = prop_oneof![
        duration().prop_map(|d| StepKind::Sleep(Sleep::For(d))),
        expr_v().prop_map(|v| StepKind::Sleep(Sleep::Expr(v))),
        value().prop_map(|v| StepKind::Sleep(Sleep::Until(v))),
    ];
    let set = prop::collection::vec((ident(), value()), 0..3).prop_map(|entries| {
        let mut out: Vec<(Name, Value)> = Vec::new();
        for (k, v) in entries {
            if !out.iter().any(|(e, _)| e.value == k) {
                out.push((sp(k), v));
            }
        }
        StepKind::Set(out)
    });
    let fail_type = prop_oneof![
        tname().prop_map(|t| expr_value(&format!("\"{t}\""))),
        Just(expr_value("\"Not a name!\"")),
        prop::sample::select(TEMPLATES.to_vec()).prop_map(template_value),
        Just(expr_value("err.type")),
    ];
    let fail = (
        fail_type,
        prop::option::of(value()),
        prop::option::of(value()),
    )
        .prop_map(|(error_type, message, details)| StepKind::Fail {
            error_type,
            message,
            details,
        });
    prop_oneof![
        4 => activity,
        1 => child,
        1 => wait,
        1 => sleep,
        1 => set,
        1 => fail,
        1 => value().prop_map(StepKind::Return),
        1 => Just(StepKind::Rethrow),
        1 => tname().prop_map(|n| StepKind::Use(sp(n))),
    ]
}

/// Wraps a kind into a step the text form can spell: a guard except on `if` blocks.
fn step_of(kind: StepKind, id: Option<String>, when: Option<Value>) -> Step {
    Step {
        id: id.map(sp),
        when,
        kind,
        span: Span::default(),
    }
}

fn steps_strategy() -> impl Strategy<Value = Vec<Step>> {
    let leaf = (
        leaf_kind(),
        prop::option::of(ident()),
        prop::option::of(expr_v()),
    )
        .prop_map(|(k, id, when)| step_of(k, id, when));
    let step = leaf.prop_recursive(3, 24, 4, |inner| {
        let body = prop::collection::vec(inner, 0..3);
        let if_block = (expr_v(), body.clone(), prop::option::of(body.clone())).prop_map(
            |(c, steps, else_steps)| step_of(StepKind::Block { steps, else_steps }, None, Some(c)),
        );
        let plain_block =
            (body.clone(), prop::option::of(body.clone())).prop_map(|(steps, else_steps)| {
                step_of(StepKind::Block { steps, else_steps }, None, None)
            });
        let switch = (
            prop::collection::vec((expr_v(), body.clone()), 0..3),
            prop::option::of(body.clone()),
        )
            .prop_map(|(arms, default)| {
                let arms = arms
                    .into_iter()
                    .map(|(when, steps)| SwitchArm {
                        when,
                        steps,
                        span: Span::default(),
                    })
                    .collect();
                step_of(StepKind::Switch { arms, default }, None, None)
            });
        let parallel = (
            prop::collection::vec((ident(), body.clone()), 0..3),
            any::<bool>(),
        )
            .prop_map(|(b, race)| {
                let mut branches: Vec<(Name, Vec<Step>)> = Vec::new();
                for (n, s) in b {
                    if !branches.iter().any(|(e, _)| e.value == n) {
                        branches.push((sp(n), s));
                    }
                }
                step_of(StepKind::Parallel { branches, race }, None, None)
            });
        let foreach = (value(), ident(), prop::option::of(-2i64..20), body.clone()).prop_map(
            |(over, item, concurrency, steps)| {
                step_of(
                    StepKind::Foreach {
                        over,
                        item: Some(sp(item)),
                        concurrency: concurrency.map(sp),
                        steps,
                    },
                    None,
                    None,
                )
            },
        );
        let while_ =
            (expr_v(), prop::option::of(1i64..100), body.clone()).prop_map(|(cond, max, steps)| {
                step_of(
                    StepKind::While {
                        cond,
                        max_iterations: max.map(sp),
                        steps,
                    },
                    None,
                    None,
                )
            });
        let try_ = (
            body.clone(),
            prop::collection::vec(
                (
                    prop::collection::vec(tname(), 0..3),
                    prop::option::of(expr_v()),
                    prop::option::of(ident()),
                    body.clone(),
                ),
                0..3,
            ),
        )
            .prop_map(|(steps, catches)| {
                let catches = catches
                    .into_iter()
                    .map(|(errors, when, name, steps)| Catch {
                        errors: errors.into_iter().map(sp).collect(),
                        when,
                        name: name.map(sp),
                        steps,
                        span: Span::default(),
                    })
                    .collect();
                step_of(StepKind::Try { steps, catches }, None, None)
            });
        let compound = prop_oneof![
            if_block,
            plain_block,
            switch,
            parallel,
            foreach,
            while_,
            try_
        ];
        // Ids and guards on compound steps (never a guard on an `if`: its `when` is the condition).
        (
            compound,
            prop::option::of(ident()),
            prop::option::of(expr_v()),
        )
            .prop_map(|(mut s, id, when)| {
                s.id = id.map(sp);
                let is_if = matches!(s.kind, StepKind::Block { .. });
                if !is_if {
                    s.when = when;
                }
                s
            })
    });
    prop::collection::vec(step, 0..5)
}

fn schema() -> impl Strategy<Value = serde_json::Value> {
    prop::sample::select(vec![
        serde_json::json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}, "b": {"type": "array", "items": {"type": "integer"}}}}),
        serde_json::json!({"type": "object", "properties": {}}),
        serde_json::json!({"type": "object", "minProperties": 1, "properties": {"a": {"enum": [1, "x", null]}}}),
        serde_json::json!({"type": "string"}),
    ])
}

fn workflow_strategy() -> impl Strategy<Value = Workflow> {
    let header = (
        tname(),
        prop::option::of(any_string()),
        prop::option::of(tname()),
        prop::option::of(duration()),
        prop::option::of(schema()),
        prop::collection::vec((ident(), value()), 0..3),
        prop::option::of(options()),
        (
            prop::option::of(0u64..100_000),
            prop::option::of(any::<bool>()),
        ),
    );
    let decls = (
        prop::collection::vec(
            (tname(), prop::collection::vec((ident(), value()), 0..3)),
            0..3,
        ),
        prop::collection::vec((tname(), value()), 0..2),
        prop::option::of(value()),
        prop::collection::vec(
            (prop_oneof![tname(), Just("odd key".to_string())], value()),
            0..2,
        ),
        prop::collection::vec((tname(), value()), 0..2),
        prop::collection::vec(
            (
                tname(),
                prop::option::of(any_string()),
                prop::option::of(duration()),
                prop::option::of(any_string()),
                prop::option::of(tname()),
                prop::option::of(any::<bool>()),
                prop::option::of(value()),
            ),
            0..2,
        ),
        prop::collection::vec(
            (
                tname(),
                prop::option::of((value(), prop::option::of(value()))),
                prop::collection::vec((ident(), value()), 0..3),
                steps_strategy(),
                prop::option::of(value()),
            ),
            0..3,
        ),
    );
    (header, decls, steps_strategy(), prop::option::of(value())).prop_map(
        |(h, d, steps, priority)| {
            let (name, description, queue, timeout, input, vars, defaults, (can, expose)) = h;
            let (signals, queries, output, search_attributes, memo, schedules, updates) = d;
            fn unique<T>(items: Vec<(String, T)>) -> Vec<(Name, T)> {
                let mut out: Vec<(Name, T)> = Vec::new();
                for (k, v) in items {
                    if !out.iter().any(|(e, _)| e.value == k) {
                        out.push((sp(k), v));
                    }
                }
                out
            }
            Workflow {
                file: FileId(0),
                span: Span::default(),
                version: Some(sp(1)),
                name: sp(name),
                description: description.map(sp),
                queue: queue.map(sp),
                timeout,
                input: input.map(sp),
                vars: unique(vars),
                defaults,
                signals: unique(signals)
                    .into_iter()
                    .map(|(name, set)| Signal {
                        name,
                        params: Vec::new(),
                        set: unique(set),
                        span: Span::default(),
                    })
                    .collect(),
                updates: unique(
                    updates
                        .into_iter()
                        .map(|(name, v, set, steps, r)| (name, (v, set, steps, r)))
                        .collect(),
                )
                .into_iter()
                .map(|(name, (validate, set, steps, result))| {
                    let mut update = Update {
                        name,
                        params: Vec::new(),
                        message: validate.as_ref().and_then(|(_, m)| m.clone()),
                        validate: validate.map(|(v, _)| v),
                        set: unique(set),
                        steps,
                        result,
                        span: Span::default(),
                    };
                    // Both readers give a last plain `return` as the result.
                    update.normalise();
                    update
                })
                .collect(),
                queries: unique(queries),
                steps,
                output,
                schedules: unique(
                    schedules
                        .into_iter()
                        .map(|(id, c, e, tz, o, p, i)| (id, (c, e, tz, o, p, i)))
                        .collect(),
                )
                .into_iter()
                .map(
                    |(id, (cron, every, timezone, overlap, paused, input))| Schedule {
                        id,
                        cron: cron.map(sp),
                        every,
                        timezone: timezone.map(sp),
                        overlap: overlap.map(sp),
                        paused: paused.map(sp),
                        input,
                        span: Span::default(),
                    },
                )
                .collect(),
                search_attributes: unique(search_attributes),
                memo: unique(memo),
                continue_as_new_after: can.map(sp),
                priority,
                expose_status: expose.map(sp),
            }
        },
    )
}

/// Runs `f` on a thread with a large stack: the nested strategies build deep values, and debug
/// builds need more than a test thread's 2 MiB for that.
fn with_big_stack(f: impl FnOnce() + Send + 'static) {
    let joined = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(f)
        .expect("spawn a test thread")
        .join();
    if let Err(panic) = joined {
        std::panic::resume_unwind(panic);
    }
}

/// A file of one or two workflows and up to two fragments (in the canonical order: fragments
/// first), its version copied into each workflow as both loaders do.
fn file_strategy() -> impl Strategy<Value = File> {
    (
        prop::collection::vec(workflow_strategy(), 1..3),
        prop::collection::vec((tname(), steps_strategy()), 0..3),
    )
        .prop_map(|(workflows, fragments)| {
            let mut named: Vec<Fragment> = Vec::new();
            for (name, steps) in fragments {
                if !named.iter().any(|f| f.name.value == name) {
                    named.push(Fragment {
                        name: sp(name),
                        steps,
                        span: Span::default(),
                    });
                }
            }
            File {
                file: FileId(0),
                span: Span::default(),
                version: Some(sp(1)),
                workflows,
                fragments: named,
            }
        })
}

fn check_property(test: fn(File) -> Result<(), TestCaseError>) {
    with_big_stack(move || {
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 300,
            ..ProptestConfig::default()
        });
        if let Err(e) = runner.run(&file_strategy(), test) {
            panic!("{e}");
        }
    });
}

#[test]
fn printed_asts_parse_back_unchanged() {
    check_property(|w| {
        let printed = print_text::print_text(&w);
        let (parsed, diagnostics) = text::parse(FileId(0), &printed);
        prop_assert!(diagnostics.is_empty(), "{printed}\n{diagnostics:#?}");
        let parsed = parsed.expect("a workflow");
        prop_assert_eq!(shape(&parsed), shape(&w), "printed:\n{}", printed);
        prop_assert_eq!(print_text::print_text(&parsed), printed);
        Ok(())
    });
}

#[test]
fn printed_yaml_reads_back_to_the_same_yaml() {
    check_property(|w| {
        let y = print_yaml::print_yaml(&w);
        let (parsed, diagnostics) = yaml::load(FileId(0), &y);
        prop_assert!(diagnostics.is_empty(), "{y}\n{diagnostics:#?}");
        let parsed = parsed.expect("a workflow");
        // The YAML form spells literal data as data: compare through the YAML printer, which
        // folds both spellings the same way.
        prop_assert_eq!(print_yaml::print_yaml(&parsed), y);
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// The hand-written reader (`src/syntax/text/fast/`): wherever it answers, the grammar answers
// the same tree, spans included, with no diagnostic.

/// Whether the reader answers `src`; fails the test where it answers otherwise than the
/// grammar.
fn fast_agrees(src: &str) -> Result<bool, TestCaseError> {
    let Some(fast) = text::read_fast(FileId(0), src) else {
        return Ok(false);
    };
    let (grammar, diagnostics) = text::parse_with_grammar(FileId(0), src);
    prop_assert!(
        diagnostics.is_empty(),
        "reader answered, grammar reports:\n{src}\n{diagnostics:#?}"
    );
    prop_assert_eq!(
        grammar.as_ref(),
        Some(&fast),
        "reader and grammar differ on:\n{}",
        src
    );
    Ok(true)
}

/// Snippets a mutation inserts: tokens the grammar looks ahead for, and whitespace and comments
/// the reader must skip as the grammar does.
const SNIPPETS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ";",
    ":",
    "?",
    "=",
    "==",
    "\"",
    "'",
    "`",
    "#",
    "//",
    "/",
    "-",
    ".",
    "!",
    "+",
    " ",
    "\n",
    "\t",
    "\u{a0}",
    "\u{feff}",
    "# c\n",
    "// c\n",
    "\n# c\n",
    "x",
    "_",
    "1",
    "e",
    "5s",
    "30x",
    "P1D",
    "r",
    "b",
    "in ",
    "when ",
    "when x ",
    "timeout 1s ",
    "retry ",
    "retry { max_attempts 2 } ",
    "priority 1 ",
    "compensate ",
    "compensate g() ",
    "step ",
    "step s = ",
    "if ",
    "else ",
    "catch ",
    "as ",
    "args [1] ",
    "any",
    "all",
    "until ",
    "queue q ",
    "summary \"s\" ",
    "${",
    "$",
    "\\",
    "r\"",
    "'''",
    "\"\"\"",
    "input ",
    "var ",
    "workflow ",
    "fragment f { } ",
    "use f ",
    "set { a = 1 } ",
    "a = 1 ",
    "f(x) ",
    "f(a: 1) ",
];

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }

    /// A char boundary of `s`.
    fn boundary(&mut self, s: &str) -> usize {
        let mut at = self.below(s.len() + 1);
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        at
    }
}

/// `src` with one to three random edits: a deletion, an insertion, a replacement, a copy.
fn mutate(src: &str, rng: &mut Rng) -> String {
    let mut s = src.to_string();
    for _ in 0..1 + rng.below(3) {
        let at = rng.boundary(&s);
        let most = if rng.below(4) == 0 { 24 } else { 3 };
        let len = 1 + rng.below(most);
        let mut to = (at + len).min(s.len());
        while !s.is_char_boundary(to) {
            to += 1;
        }
        match rng.below(6) {
            // Whitespace and comments between tokens: the file stays well formed, mostly.
            4 | 5 => {
                let gap = s[at..].find([' ', '\n']).map_or(s.len(), |i| at + i);
                const GAPS: &[&str] = &[
                    " ", "\n", "\t", "\r\n", "\u{a0}", "\u{feff}", " # c\n", "// c\n",
                ];
                s.insert_str(gap, GAPS[rng.below(GAPS.len())]);
            }
            0 => s.replace_range(at..to, ""),
            1 => s.insert_str(at, SNIPPETS[rng.below(SNIPPETS.len())]),
            2 => s.replace_range(at..to, SNIPPETS[rng.below(SNIPPETS.len())]),
            _ => {
                let copy = s[at..to].to_string();
                let into = rng.boundary(&s);
                s.insert_str(into, &copy);
            }
        }
    }
    s
}

/// Every `.stave` file of the repository.
fn stave_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "stave") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for dir in ["workflows", "examples", "samples", "tests/fixtures", "src"] {
        walk(&root().join(dir), &mut out);
    }
    out.sort();
    out
}

#[test]
fn the_fast_reader_answers_every_clean_sample_as_the_grammar_does() {
    with_big_stack(|| {
        let files = stave_files();
        assert!(files.len() >= 80, "found {} .stave files", files.len());
        // Mutants of clean samples, and how many of them the reader answered.
        let (mut clean, mut mutants, mut answered) = (0, 0, 0);
        for path in &files {
            let src = std::fs::read_to_string(path).expect("read a sample");
            let (_, diagnostics) = text::parse_with_grammar(FileId(0), &src);
            let fast = fast_agrees(&src).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if diagnostics.is_empty() {
                assert!(fast, "the reader gave up on {}", path.display());
                clean += 1;
            }
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ src.len() as u64);
            for _ in 0..60 {
                let m = mutate(&src, &mut rng);
                let fast = fast_agrees(&m).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                if diagnostics.is_empty() {
                    mutants += 1;
                    answered += usize::from(fast);
                }
            }
        }
        println!(
            "fast reader: {clean} of {} samples clean and answered; {answered} of their {mutants} mutants answered",
            files.len()
        );
        assert!(clean >= 20, "only {clean} clean samples");
        assert!(
            answered * 5 >= mutants,
            "the reader answered only {answered} of {mutants} mutants"
        );
    });
}

#[test]
fn the_fast_reader_answers_printed_files_and_their_mutants_as_the_grammar_does() {
    check_property(|w| {
        let printed = print_text::print_text(&w);
        prop_assert!(fast_agrees(&printed)?, "the reader gave up on:\n{printed}");
        let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ printed.len() as u64);
        for _ in 0..6 {
            let answered = fast_agrees(&mutate(&printed, &mut rng))?;
            MUTANTS.fetch_add(1, Ordering::Relaxed);
            ANSWERED.fetch_add(usize::from(answered), Ordering::Relaxed);
        }
        Ok(())
    });
    let (mutants, answered) = (
        MUTANTS.load(Ordering::Relaxed),
        ANSWERED.load(Ordering::Relaxed),
    );
    println!("fast reader: {answered} of {mutants} mutants of printed files answered");
    assert!(
        answered * 5 >= mutants,
        "the reader answered only {answered} of {mutants} mutants"
    );
}

/// Mutants of printed files, and how many of them the reader answered.
static MUTANTS: AtomicUsize = AtomicUsize::new(0);
static ANSWERED: AtomicUsize = AtomicUsize::new(0);
