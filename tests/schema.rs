//! The editor schema (`stave schema`): committed and current, a valid draft-07 schema, accepts
//! every sample, rejects every fixture with a shape error, and agrees with the loader key by key.

use jsonschema::Validator;
use serde_json::{Value as Json, json};
use stave::check;
use stave::cli::lint::lint_paths;
use stave::diagnostics::{Code, Sources};
use stave::project::ProjectContext;
use stave::schema;
use stave::syntax::{project, yaml};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The codes of the loader's shape checks, which the schema mirrors.
const SHAPE: &[Code] = &[Code::E004, Code::E005, Code::E006, Code::E041];

fn validator(schema: &Json) -> Validator {
    jsonschema::draft7::meta::validate(schema)
        .unwrap_or_else(|e| panic!("not a draft-07 schema: {e}"));
    jsonschema::draft7::new(schema).unwrap_or_else(|e| panic!("the schema does not compile: {e}"))
}

/// A YAML file as the JSON an editor validates, read by the loader's own YAML reader.
fn yaml_json(path: &Path) -> Json {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut sources = Sources::default();
    let file = sources.add(path, text.clone());
    let (node, diagnostics) = yaml::node::parse(file, &text);
    assert!(
        diagnostics.is_empty(),
        "{}: YAML errors {diagnostics:?}",
        path.display()
    );
    node.map(|n| n.to_json()).unwrap_or(Json::Null)
}

fn errors(validator: &Validator, instance: &Json) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn committed_schemas_are_current() {
    for (path, schema) in [
        ("stave.schema.json", schema::workflow_schema()),
        ("stave.project.schema.json", schema::project_schema()),
        ("stave.test.schema.json", schema::test_schema()),
    ] {
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == schema::to_text(&schema),
            "`{path}` is stale: regenerate it with `cargo run -- schema{} -o {path}`",
            if path.contains("project") {
                " --project"
            } else if path.contains("test") {
                " --test"
            } else {
                ""
            }
        );
    }
}

#[test]
fn every_sample_and_clean_fixture_is_valid() {
    let v = validator(&schema::workflow_schema());
    let mut files = check::workflow_files(Path::new("workflows")).expect("list workflows/");
    files.push(PathBuf::from("src/init/templates/hello.stave.yaml"));
    files.push(PathBuf::from("tests/fixtures/graph/constructs.stave.yaml"));
    files.extend(check::workflow_files(Path::new("tests/fixtures/realistic")).expect("realistic"));
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir("tests/fixtures/lint")
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".ok.stave.yaml"))
        .collect();
    fixtures.sort();
    files.extend(fixtures);
    let mut checked = 0;
    for path in files
        .iter()
        .filter(|p| p.to_string_lossy().ends_with(".stave.yaml"))
    {
        let problems = errors(&v, &yaml_json(path));
        assert!(
            problems.is_empty(),
            "{} does not match the schema:\n{}",
            path.display(),
            problems.join("\n")
        );
        checked += 1;
    }
    assert!(checked >= 40, "checked only {checked} files");

    let v = validator(&schema::project_schema());
    for path in [
        "stave.yaml",
        "tests/fixtures/lint/stave.yaml",
        "tests/fixtures/graph/stave.yaml",
    ] {
        let problems = errors(&v, &yaml_json(Path::new(path)));
        assert!(
            problems.is_empty(),
            "{path} does not match the project schema:\n{}",
            problems.join("\n")
        );
    }
}

#[test]
fn every_fixture_with_a_shape_error_is_rejected() {
    let v = validator(&schema::workflow_schema());
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir("tests/fixtures/lint").expect("fixtures") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            paths.extend(check::workflow_files(&path).expect("list fixture project"));
        } else if path.to_string_lossy().ends_with(".stave.yaml") {
            paths.push(path);
        }
    }
    paths.sort();
    let mut rejected = Vec::new();
    for path in paths {
        let report = lint_paths(std::slice::from_ref(&path));
        let shape: Vec<Code> = report
            .diagnostics
            .iter()
            .map(|d| d.code)
            .filter(|c| SHAPE.contains(c))
            .collect();
        if shape.is_empty() {
            continue;
        }
        assert!(
            !v.is_valid(&yaml_json(&path)),
            "{} has shape errors {shape:?} but the schema accepts it",
            path.display()
        );
        rejected.extend(shape);
    }
    for code in SHAPE {
        assert!(
            rejected.contains(code),
            "no fixture with {code} was checked"
        );
    }
}

/// Every property name of the schema with its first example (else null), to fill probes.
fn examples(schema: &Json, out: &mut BTreeMap<String, Json>) {
    match schema {
        Json::Object(map) => {
            if let Some(Json::Object(props)) = map.get("properties") {
                for (key, prop) in props {
                    let example = prop
                        .get("examples")
                        .and_then(|e| e.get(0))
                        .cloned()
                        .unwrap_or(Json::Null);
                    match out.get(key) {
                        Some(Json::Null) | None => {
                            out.insert(key.clone(), example);
                        }
                        Some(_) => {}
                    }
                }
            }
            map.values().for_each(|v| examples(v, out));
        }
        Json::Array(items) => items.iter().for_each(|v| examples(v, out)),
        _ => {}
    }
}

/// The properties of `definition` (a JSON pointer into the schema), with their examples.
fn properties(schema: &Json, pointer: &str) -> BTreeMap<String, Json> {
    let props = schema
        .pointer(pointer)
        .and_then(|d| d.get("properties"))
        .and_then(Json::as_object)
        .unwrap_or_else(|| panic!("no properties at {pointer}"));
    props
        .iter()
        .map(|(k, p)| {
            (
                k.clone(),
                p.get("examples")
                    .and_then(|e| e.get(0))
                    .cloned()
                    .unwrap_or(Json::Null),
            )
        })
        .collect()
}

/// One construct to probe: where its schema is, a document with the construct at `hole`
/// (a JSON pointer) holding `base`, its required keys.
struct Probe {
    schema_at: String,
    document: Json,
    hole: &'static str,
    base: Json,
}

fn workflow_probes(schema: &Json) -> Vec<Probe> {
    let root = json!({"stave": 1, "workflow": "probe", "queue": "standard", "steps": []});
    let with_step = |step: Json| {
        let mut doc = root.clone();
        doc["steps"] = json!([step]);
        doc
    };
    let mut probes = vec![
        Probe {
            schema_at: String::new(),
            document: json!({}),
            hole: "",
            base: root.clone(),
        },
        Probe {
            schema_at: "/definitions/activity_options".into(),
            document: json!({"stave": 1, "workflow": "probe", "steps": [], "defaults": null}),
            hole: "/defaults",
            base: json!({}),
        },
        Probe {
            schema_at: "/definitions/retry".into(),
            document: json!({"stave": 1, "workflow": "probe", "steps": [], "defaults": {"retry": null}}),
            hole: "/defaults/retry",
            base: json!({}),
        },
        Probe {
            schema_at: "/definitions/activity_step/properties/compensate".into(),
            document: with_step(json!({"activity": "a", "compensate": null})),
            hole: "/steps/0/compensate",
            base: json!({"activity": "undo"}),
        },
        Probe {
            schema_at: "/definitions/catch".into(),
            document: with_step(json!({"try": [], "catch": [null]})),
            hole: "/steps/0/catch/0",
            base: json!({}),
        },
        Probe {
            schema_at: "/definitions/switch_case".into(),
            document: with_step(json!({"switch": [null]})),
            hole: "/steps/0/switch/0",
            base: json!({"when": "${ true }"}),
        },
        Probe {
            schema_at: "/definitions/wait_step/properties/wait/anyOf/1".into(),
            document: with_step(json!({"wait": null})),
            hole: "/steps/0/wait",
            base: json!({"signal": "go"}),
        },
        Probe {
            schema_at: "/definitions/sleep_step/properties/sleep/anyOf/3".into(),
            document: with_step(json!({"sleep": null})),
            hole: "/steps/0/sleep",
            base: json!({"until": "${ input.at }"}),
        },
        Probe {
            schema_at: "/definitions/fail_step/properties/fail".into(),
            document: with_step(json!({"fail": null})),
            hole: "/steps/0/fail",
            base: json!({"type": "Oops"}),
        },
        Probe {
            schema_at: "/definitions/schedule".into(),
            document: {
                let mut doc = root.clone();
                doc["schedules"] = json!([null]);
                doc
            },
            hole: "/schedules/0",
            base: json!({"id": "nightly", "cron": "0 2 * * *"}),
        },
        Probe {
            schema_at: "/properties/signals/additionalProperties".into(),
            document: {
                let mut doc = root.clone();
                doc["signals"] = json!({"go": null});
                doc
            },
            hole: "/signals/go",
            base: json!({}),
        },
    ];
    for (kind, _) in schema::STEP_SHAPES {
        let at = format!("/definitions/{kind}_step");
        let props = properties(schema, &at);
        let required: Vec<String> = schema
            .pointer(&format!("{at}/required"))
            .and_then(Json::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(|k| k.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let base: serde_json::Map<String, Json> = required
            .iter()
            .map(|k| (k.clone(), props[k].clone()))
            .collect();
        probes.push(Probe {
            schema_at: at,
            document: with_step(json!(null)),
            hole: "/steps/0",
            base: Json::Object(base),
        });
    }
    probes
}

/// Values to try for a key: the construct's own example when it has one; otherwise the
/// key's example elsewhere and one value of each JSON type, so that a key the loader takes
/// in some shape but the schema lacks shows up.
fn values(own: Option<&Json>, fallback: &Json) -> Vec<Json> {
    match own {
        Some(example) if !example.is_null() => vec![example.clone()],
        _ => vec![
            fallback.clone(),
            Json::Null,
            json!(true),
            json!(1),
            json!("x"),
            json!([]),
            json!({}),
        ],
    }
}

/// The shape codes that linting a YAML document produces (with the front end's full checks).
fn shape_errors(document: &Json) -> Vec<Code> {
    let text = serde_json::to_string(document).expect("JSON is YAML");
    let (_, _, diagnostics) =
        check::compile_source("probe.stave.yaml", &text, &ProjectContext::default());
    diagnostics
        .iter()
        .map(|d| d.code)
        .filter(|c| SHAPE.contains(c))
        .collect()
}

/// Fills `hole` of `document` with `value`.
fn fill(document: &Json, hole: &str, value: Json) -> Json {
    if hole.is_empty() {
        return value;
    }
    let mut doc = document.clone();
    let slot = doc
        .pointer_mut(hole)
        .unwrap_or_else(|| panic!("no {hole} in {document}"));
    *slot = value;
    doc
}

/// Every key to try: each property name of the schema (with its first example) and each
/// one-word string literal of the loader's source — a key the loader accepts is spelt there,
/// so a key missing from the schema is caught too. Others are tried with `null`.
fn candidates(schema: &Json, loader_sources: &[&str]) -> BTreeMap<String, Json> {
    let mut all = BTreeMap::new();
    examples(schema, &mut all);
    let word = regex::Regex::new(r#""([a-z_]+)""#).expect("regex");
    for source in loader_sources {
        for m in word.captures_iter(source) {
            all.entry(m[1].to_string()).or_insert(Json::Null);
        }
    }
    all.insert("not_a_key".into(), json!(1));
    all
}

#[test]
fn the_schema_and_the_loader_agree_on_every_key_of_every_construct() {
    let schema = schema::workflow_schema();
    let v = validator(&schema);
    let all = candidates(&schema, &[include_str!("../src/syntax/yaml/mod.rs")]);
    assert!(
        all.contains_key("race") && all.contains_key("on_timeout") && all.len() > 60,
        "{:?}",
        all.keys()
    );
    let mut disagreements = Vec::new();
    for probe in workflow_probes(&schema) {
        let own = properties(&schema, &probe.schema_at);
        let base_doc = fill(&probe.document, probe.hole, probe.base.clone());
        assert!(
            shape_errors(&base_doc).is_empty(),
            "probe base of {} has shape errors: {base_doc}",
            probe.schema_at
        );
        assert!(
            v.is_valid(&base_doc),
            "probe base of {} is invalid: {:?}",
            probe.schema_at,
            errors(&v, &base_doc)
        );
        for (key, fallback) in &all {
            if probe.base.get(key).is_some() {
                continue;
            }
            for value in values(own.get(key), fallback) {
                let mut construct = probe.base.clone();
                construct[key] = value;
                let doc = fill(&probe.document, probe.hole, construct);
                let loader_accepts = shape_errors(&doc).is_empty();
                let schema_accepts = v.is_valid(&doc);
                if loader_accepts != schema_accepts {
                    disagreements.push(format!(
                        "{} + `{key}`: loader {}, schema {}: {doc}",
                        probe.schema_at,
                        if loader_accepts { "accepts" } else { "rejects" },
                        if schema_accepts { "accepts" } else { "rejects" },
                    ));
                }
            }
            let mut construct = probe.base.clone();
            construct[key] = own.get(key).cloned().unwrap_or_else(|| fallback.clone());
            let doc = fill(&probe.document, probe.hole, construct);
            let schema_accepts = v.is_valid(&doc);
            // A key may need another one (`else` needs `if`); any other key of the construct
            // must be valid with its own example.
            let dependent = schema
                .pointer(&format!("{}/dependencies/{key}", probe.schema_at))
                .is_some();
            if own.contains_key(key) && !schema_accepts && !dependent {
                disagreements.push(format!(
                    "{} rejects its own key `{key}` with its example: {:?}",
                    probe.schema_at,
                    errors(&v, &doc)
                ));
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

#[test]
fn the_project_schema_and_the_project_loader_agree_on_every_key() {
    let schema = schema::project_schema();
    let v = validator(&schema);
    let all = candidates(
        &schema,
        &[
            include_str!("../src/syntax/project.rs"),
            include_str!("../src/syntax/yaml/mod.rs"),
        ],
    );
    let probes = [
        ("", json!({}), "", json!({"namespace": "default"})),
        (
            "/properties/queues/additionalProperties",
            json!({"queues": {"standard": null}}),
            "/queues/standard",
            json!({"task_queue": "q"}),
        ),
        (
            "/properties/defaults",
            json!({"defaults": null}),
            "/defaults",
            json!({}),
        ),
    ];
    let mut disagreements = Vec::new();
    for (at, document, hole, base) in probes {
        let own = properties(&schema, at);
        for (key, fallback) in &all {
            for value in values(own.get(key), fallback) {
                let mut construct = base.clone();
                construct[key] = value;
                let doc = fill(&document, hole, construct);
                let text = serde_json::to_string(&doc).expect("JSON is YAML");
                let mut sources = Sources::default();
                let file = sources.add("stave.yaml", text.clone());
                let (_, diagnostics) = project::load(file, &text);
                let loader_accepts = !diagnostics.iter().any(|d| SHAPE.contains(&d.code));
                if loader_accepts != v.is_valid(&doc) {
                    disagreements.push(format!(
                        "{at} + `{key}`: loader accepts: {loader_accepts}: {doc}"
                    ));
                }
            }
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

/// Every test file the repository ships (samples, fixtures that read cleanly, the init
/// template) matches `stave.test.schema.json`, and the schema refuses what the reader refuses.
#[test]
fn test_files_match_the_test_schema() {
    let v = validator(&schema::test_schema());
    let mut files = check::test_files(Path::new("workflows")).expect("list workflows/");
    files.push(PathBuf::from("src/init/templates/hello.test.yaml"));
    files.extend(
        check::test_files(Path::new("tests/fixtures/testfiles"))
            .expect("fixtures")
            .into_iter()
            .filter(|p| p.to_string_lossy().ends_with(".ok.test.yaml")),
    );
    assert!(files.len() >= 13, "{files:?}");
    for path in &files {
        let problems = errors(&v, &yaml_json(path));
        assert!(
            problems.is_empty(),
            "{} does not match the test schema:\n{}",
            path.display(),
            problems.join("\n")
        );
    }
    for bad in [
        serde_json::json!({"stave_test": 1, "workflow": "w", "cases": [{"expect": {"statsu": "completed"}}]}),
        serde_json::json!({"stave_test": 1, "workflow": "w", "cases": [{"mocks": [{"activity": "a"}]}]}),
        serde_json::json!({"stave_test": 1, "cases": []}),
    ] {
        assert!(!errors(&v, &bad).is_empty(), "accepted {bad}");
    }
}

/// The schema and lint agree on retry limits: `max_attempts: 0` is refused by both (E044),
/// and a single `non_retryable` name is accepted by both.
#[test]
fn the_schema_and_lint_agree_on_retry_policies() {
    let v = validator(&schema::workflow_schema());
    let file = |retry: &str| {
        format!(
            "stave: 1\nworkflow: r\nsteps:\n  - {{ activity: log, input: {{ message: m }}, timeout: 5s, retry: {retry} }}\n"
        )
    };
    for (retry, ok) in [
        ("{ max_attempts: 0 }", false),
        ("{ max_attempts: 1 }", true),
        ("{ max_attempts: 3, non_retryable: Boom }", true),
    ] {
        let text = file(retry);
        let mut sources = Sources::default();
        let id = sources.add("r.stave.yaml", text.clone());
        let (node, _) = yaml::node::parse(id, &text);
        let instance = node.map(|n| n.to_json()).unwrap_or(Json::Null);
        assert_eq!(errors(&v, &instance).is_empty(), ok, "schema on {retry}");
        let (_, _, diagnostics) =
            check::compile_source("r.stave.yaml", &text, &ProjectContext::default());
        let e044 = diagnostics.iter().any(|d| d.code == Code::E044);
        assert_eq!(!e044, ok, "lint on {retry}: {diagnostics:?}");
    }
}
