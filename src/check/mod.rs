//! Stage 2: AST → IR. Loads the project, finds its workflow files and compiles each one.
//!
//! `fragments` inserts the fragments a workflow uses, `lower/` checks and lowers one
//! workflow, `lint` adds warnings; IR is kept only for error-free files.

mod fragments;
mod lower;

use crate::diagnostics::{Code, Diagnostic, FileId, Sources, Span};
use crate::ir;
use crate::project::ProjectContext;
use crate::syntax::{ast, project, text, yaml};
use std::path::{Path, PathBuf};

pub use lower::{Index, lower, lower_indexed};

/// The name of the project settings file.
pub const PROJECT_FILE: &str = "stave.yaml";

/// The form of a workflow file, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Yaml,
    Text,
}

impl Form {
    pub fn of(path: &Path) -> Option<Form> {
        let name = path.file_name()?.to_str()?;
        if name.ends_with(".stave.yaml") || name.ends_with(".stave.yml") {
            Some(Form::Yaml)
        } else if name.ends_with(".stave") {
            Some(Form::Text)
        } else {
            None
        }
    }
}

/// Parses a workflow file of either form into the AST.
pub fn parse(file: FileId, text: &str, form: Form) -> (Option<ast::File>, Vec<Diagnostic>) {
    match form {
        Form::Yaml => yaml::load(file, text),
        Form::Text => text::parse(file, text),
    }
}

/// Parses and lowers one workflow file already added to `sources`: the IR of each of its
/// workflows (hashed), in the order written, or none when the file has an error.
pub fn compile_file(
    sources: &Sources,
    file: FileId,
    form: Form,
    project: &ProjectContext,
) -> (Vec<ir::Workflow>, Vec<Diagnostic>) {
    compile_inner(sources, file, form, project, true)
}

/// Like [`compile_file`] for `stave lint`: the IR's `hash` is left empty (hashing is the
/// most expensive part of compiling and lint does not need it).
pub fn lint_file(
    sources: &Sources,
    file: FileId,
    form: Form,
    project: &ProjectContext,
) -> (Vec<ir::Workflow>, Vec<Diagnostic>) {
    compile_inner(sources, file, form, project, false)
}

fn compile_inner(
    sources: &Sources,
    file: FileId,
    form: Form,
    project: &ProjectContext,
    hash: bool,
) -> (Vec<ir::Workflow>, Vec<Diagnostic>) {
    let (parsed, mut diagnostics) = parse(file, sources.text(file), form);
    let Some(parsed) = parsed else {
        return (Vec::new(), diagnostics);
    };
    let mut workflows = Vec::new();
    for expansion in fragments::expand(&parsed, &mut diagnostics) {
        let ast = &expansion.workflow;
        let (ir, mut more) = lower(ast, sources, project);
        more.extend(crate::lint::run(ast, project));
        expansion.attribute(&mut more);
        diagnostics.extend(more);
        workflows.extend(ir);
    }
    duplicate_workflows(&parsed, &mut diagnostics);
    let diagnostics = once_each(diagnostics);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return (Vec::new(), diagnostics);
    }
    if hash {
        for ir in &mut workflows {
            ir.hash = ir.compute_hash();
        }
    }
    (workflows, diagnostics)
}

/// E046 for a workflow type a file defines twice.
fn duplicate_workflows(parsed: &ast::File, diagnostics: &mut Vec<Diagnostic>) {
    for (i, w) in parsed.workflows.iter().enumerate() {
        if let Some(first) = parsed.workflows[..i]
            .iter()
            .find(|f| f.name.value == w.name.value)
        {
            diagnostics.push(
                Diagnostic::new(
                    Code::E046,
                    w.name.span,
                    format!("workflow `{}` is defined twice in this file", w.name.value),
                )
                .label("second definition")
                .with_label(first.name.span, "first defined here")
                .help("rename one of them; workflows of one file share steps through fragments, not names"),
            );
        }
    }
}

/// The diagnostics without repeats: a fragment's steps are checked once per workflow that
/// uses it, and a mistake in them is the same mistake each time (the first report, which
/// names the first workflow that inserted it, is kept).
fn once_each(diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut seen = std::collections::HashSet::new();
    diagnostics
        .into_iter()
        .filter(|d| seen.insert((d.code, d.span(), d.message.clone())))
        .collect()
}

/// One file as an editor sees it: the AST (when it parses), the IR of its workflows (when
/// error-free, not hashed), every diagnostic, and the [`Index`] of scopes and step results.
#[derive(Debug, Default)]
pub struct Analysis {
    pub ast: Option<ast::File>,
    pub workflows: Vec<ir::Workflow>,
    pub diagnostics: Vec<Diagnostic>,
    pub index: Index,
}

/// Checks one file like [`lint_file`] and records its [`Index`] (the language server), with
/// the scopes an expression at byte offset `at` sees. Every workflow of the file is indexed;
/// the one written at `at` (else the first) answers first.
pub fn analyze(
    sources: &Sources,
    file: FileId,
    form: Form,
    project: &ProjectContext,
    at: Option<usize>,
) -> Analysis {
    let (parsed, mut diagnostics) = parse(file, sources.text(file), form);
    let Some(parsed) = parsed else {
        return Analysis {
            diagnostics,
            ..Analysis::default()
        };
    };
    let primary = at
        .and_then(|at| parsed.workflow_at(at))
        .map(|w| w.name.span);
    let mut workflows = Vec::new();
    let mut indexes = Vec::new();
    for expansion in fragments::expand(&parsed, &mut diagnostics) {
        let ast = &expansion.workflow;
        let (ir, mut more, index) = lower_indexed(ast, sources, project, at);
        more.extend(crate::lint::run(ast, project));
        expansion.attribute(&mut more);
        diagnostics.extend(more);
        workflows.extend(ir);
        if Some(ast.name.span) == primary {
            indexes.insert(0, index);
        } else {
            indexes.push(index);
        }
    }
    duplicate_workflows(&parsed, &mut diagnostics);
    let diagnostics = once_each(diagnostics);
    let clean = !diagnostics.iter().any(Diagnostic::is_error);
    Analysis {
        workflows: if clean { workflows } else { Vec::new() },
        ast: Some(parsed),
        diagnostics,
        index: Index::merge(indexes),
    }
}

/// Compiles workflow source text (tests, tools): the path decides the form. The IR is the
/// file's first workflow's; [`compile_source_all`] returns each.
pub fn compile_source(
    path: &str,
    text: &str,
    project: &ProjectContext,
) -> (Sources, Option<ir::Workflow>, Vec<Diagnostic>) {
    let (sources, workflows, diagnostics) = compile_source_all(path, text, project);
    (sources, workflows.into_iter().next(), diagnostics)
}

/// Compiles workflow source text: the IR of every workflow of the file.
pub fn compile_source_all(
    path: &str,
    text: &str,
    project: &ProjectContext,
) -> (Sources, Vec<ir::Workflow>, Vec<Diagnostic>) {
    let mut sources = Sources::default();
    let file = sources.add(path, text);
    let form = Form::of(Path::new(path)).unwrap_or(Form::Yaml);
    let (workflows, diagnostics) = compile_file(&sources, file, form, project);
    (sources, workflows, diagnostics)
}

/// Finds the directory of the `stave.yaml` that governs `path` (itself or an ancestor).
pub fn find_project_dir(path: &Path) -> Option<PathBuf> {
    let start = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent()?.to_path_buf()
    };
    let start = if start.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        start
    };
    let absolute = std::fs::canonicalize(&start).ok()?;
    absolute
        .ancestors()
        .find(|dir| dir.join(PROJECT_FILE).is_file())
        .map(|dir| {
            // Keep paths relative when they were given relative, for readable messages.
            pathdiff(dir, &start).unwrap_or_else(|| dir.to_path_buf())
        })
}

fn pathdiff(dir: &Path, start: &Path) -> Option<PathBuf> {
    if start.is_absolute() {
        return None;
    }
    let cwd = std::env::current_dir().ok()?;
    dir.strip_prefix(&cwd).ok().map(|p| {
        if p.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            p.to_path_buf()
        }
    })
}

/// Reads `DIR/stave.yaml` and the manifest it names; problems go to `diagnostics`.
pub fn load_project_context(
    dir: &Path,
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> ProjectContext {
    let path = dir.join(PROJECT_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            let file = sources.add(&path, "");
            diagnostics.push(
                Diagnostic::new(Code::E001, Span::new(file, 0, 0), format!("cannot read `{}`: {e}", path.display()))
                    .help("create `stave.yaml` with the project's namespace and queues (`stave init` writes one)"),
            );
            return ProjectContext {
                dir: Some(dir.to_path_buf()),
                ..ProjectContext::default()
            };
        }
    };
    let file = sources.add(&path, text);
    let (parsed, mut diags) = project::load(file, sources.text(file));
    let mut context = ProjectContext {
        dir: Some(dir.to_path_buf()),
        ..ProjectContext::default()
    };
    if let Some(parsed) = parsed {
        context = lower::lower_project(&parsed, dir, sources, &mut diags);
        context.dir = Some(dir.to_path_buf());
    }
    diagnostics.extend(diags);
    context
}

/// Workflow files under `dir` (recursive, sorted), skipping hidden directories, `target`,
/// and nested projects (directories with their own `stave.yaml`). Symbolic links are
/// followed, but each directory is entered once (by its canonical path), so a link loop
/// ends the walk instead of recursing until the path is too long.
pub fn workflow_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    files_under(dir, |path| Form::of(path).is_some())
}

/// Test files (`*.test.yaml`) under `dir`, walked like [`workflow_files`].
pub fn test_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    files_under(dir, |path| {
        path.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(TEST_FILE_SUFFIX))
    })
}

/// How test files end.
pub const TEST_FILE_SUFFIX: &str = ".test.yaml";

fn files_under(dir: &Path, keep: impl Fn(&Path) -> bool) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut entered = std::collections::HashSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if !entered.insert(std::fs::canonicalize(&d)?) {
            continue;
        }
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                let nested = path.join(PROJECT_FILE).is_file();
                if !nested && !name.starts_with('.') && name != "target" && name != "node_modules" {
                    stack.push(path);
                }
            } else if keep(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A whole project, loaded: every file read, every diagnostic, and the bundle when clean.
#[derive(Debug)]
pub struct ProjectLoad {
    pub sources: Sources,
    pub diagnostics: Vec<Diagnostic>,
    pub context: ProjectContext,
    /// Present only when there is no error (warnings are allowed).
    pub bundle: Option<ir::Bundle>,
    /// When the errors are confined to workflow files (`stave.yaml` and the manifest are
    /// sound): the bundle of the other files, which a worker can serve while the broken ones
    /// are fixed. None when there is no error or the project itself is broken.
    pub partial: Option<Partial>,
}

/// What of a project with broken workflow files can still run.
#[derive(Debug, Clone)]
pub struct Partial {
    pub bundle: ir::Bundle,
    /// Each refused file and its number of errors, by path.
    pub refused: Vec<(PathBuf, usize)>,
}

impl ProjectLoad {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Loads the project in `dir`: `stave.yaml`, the manifest and every workflow file below it.
pub fn load_project(dir: &Path) -> ProjectLoad {
    let mut sources = Sources::default();
    let mut diagnostics = Vec::new();
    let context = load_project_context(dir, &mut sources, &mut diagnostics);
    let mut workflows = Vec::new();
    let roots = if context.workflow_paths.is_empty() {
        vec![dir.to_path_buf()]
    } else {
        context.workflow_paths.clone()
    };
    for root in roots {
        let listed = if root.is_file() {
            Ok(vec![root.clone()])
        } else {
            workflow_files(&root)
        };
        match listed {
            Ok(files) => {
                for path in files {
                    workflows.extend(compile_path(
                        &path,
                        &mut sources,
                        &context,
                        &mut diagnostics,
                    ));
                }
            }
            Err(e) => {
                let file = sources.add(&root, "");
                diagnostics.push(
                    Diagnostic::new(
                        Code::E001,
                        Span::new(file, 0, 0),
                        format!("cannot list `{}`: {e}", root.display()),
                    )
                    .help("fix `workflows:` in stave.yaml, or create the directory"),
                );
            }
        }
    }
    let partial = partial_bundle(&context, &workflows, &sources, &diagnostics);
    let bundle = finish_bundle(&context, workflows, &sources, &mut diagnostics);
    ProjectLoad {
        sources,
        diagnostics,
        context,
        bundle,
        partial,
    }
}

/// The bundle of the error-free workflow files, when every error lies in a workflow file.
fn partial_bundle(
    context: &ProjectContext,
    workflows: &[ir::Workflow],
    sources: &Sources,
    diagnostics: &[Diagnostic],
) -> Option<Partial> {
    let mut refused: std::collections::BTreeMap<PathBuf, usize> = Default::default();
    for d in diagnostics.iter().filter(|d| d.is_error()) {
        let path = sources.path(d.labels.first()?.span.file);
        // An error in `stave.yaml` or the manifest concerns every workflow.
        Form::of(path)?;
        *refused.entry(path.to_path_buf()).or_default() += 1;
    }
    if refused.is_empty() {
        return None;
    }
    let mut more = Vec::new();
    let bundle = finish_bundle(context, workflows.to_vec(), sources, &mut more)
        .filter(|b| !b.workflows.is_empty())?;
    Some(Partial {
        bundle,
        refused: refused.into_iter().collect(),
    })
}

/// Reads and compiles one file into `sources`/`diagnostics`: the IR of each of its workflows.
pub fn compile_path(
    path: &Path,
    sources: &mut Sources,
    context: &ProjectContext,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<ir::Workflow> {
    read_and_compile(path, sources, context, diagnostics, true)
}

/// Like [`compile_path`], without hashing (see [`lint_file`]).
pub fn lint_path(
    path: &Path,
    sources: &mut Sources,
    context: &ProjectContext,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<ir::Workflow> {
    read_and_compile(path, sources, context, diagnostics, false)
}

fn read_and_compile(
    path: &Path,
    sources: &mut Sources,
    context: &ProjectContext,
    diagnostics: &mut Vec<Diagnostic>,
    hash: bool,
) -> Vec<ir::Workflow> {
    let Some(file) = read_path(path, sources, diagnostics) else {
        return Vec::new();
    };
    let form = Form::of(path).unwrap_or(Form::Yaml);
    let (workflows, diags) = compile_inner(sources, file, form, context, hash);
    diagnostics.extend(diags);
    workflows
}

/// Reads a workflow file into `sources`; unreadable or non-UTF-8 files become E001.
fn read_path(
    path: &Path,
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<FileId> {
    let text = match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let file = sources.add(path, text);
                diagnostics.push(
                    Diagnostic::new(
                        Code::E001,
                        Span::new(file, at, at + 1),
                        "the file is not valid UTF-8",
                    )
                    .label("invalid byte")
                    .help("save the file as UTF-8"),
                );
                return None;
            }
        },
        Err(e) => {
            let file = sources.add(path, "");
            diagnostics.push(
                Diagnostic::new(
                    Code::E001,
                    Span::new(file, 0, 0),
                    format!("cannot read `{}`: {e}", path.display()),
                )
                .help("check the path and the file's permissions"),
            );
            return None;
        }
    };
    Some(sources.add(path, text))
}

/// Project-wide checks and fix-ups: unique workflow names, children routed to their queue.
pub fn finish_bundle(
    context: &ProjectContext,
    mut workflows: Vec<ir::Workflow>,
    sources: &Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<ir::Bundle> {
    let mut seen: std::collections::BTreeMap<String, String> = Default::default();
    let collides = |wf: &ir::Workflow, all: &[ir::Workflow]| {
        all.iter().filter(|w| w.name == wf.name).count() > 1
    };
    let colliding: Vec<bool> = workflows.iter().map(|w| collides(w, &workflows)).collect();
    for (wf, colliding) in workflows.iter_mut().zip(colliding) {
        // Lint leaves hashes empty; two definitions of one type are compared by hash.
        if colliding && wf.hash.is_empty() {
            wf.hash = wf.compute_hash();
        }
    }
    for wf in &workflows {
        if let Some(first) = seen.insert(wf.name.clone(), wf.source.clone()) {
            // Both forms of one workflow may sit side by side (samples); they must agree.
            let other = workflows
                .iter()
                .find(|w| w.source == first && w.name == wf.name);
            if other.is_some_and(|o| o.hash != wf.hash) {
                let file = sources.find(Path::new(&wf.source)).unwrap_or_default();
                diagnostics.push(
                    Diagnostic::new(Code::E046, Span::new(file, 0, 0), format!(
                        "workflow `{}` is defined twice with different meanings: `{first}` and `{}`",
                        wf.name, wf.source
                    ))
                    .help("rename one of them, or keep the two forms of one workflow identical"),
                );
            }
        }
    }
    // Keep one definition per workflow type.
    let mut unique: Vec<ir::Workflow> = Vec::new();
    for wf in workflows.drain(..) {
        if !unique.iter().any(|u| u.name == wf.name) {
            unique.push(wf);
        }
    }
    let queues: std::collections::BTreeMap<String, String> = unique
        .iter()
        .map(|w| (w.name.clone(), w.task_queue.clone()))
        .collect();
    for wf in &mut unique {
        let mut changed = false;
        lower::route_children(wf, &queues, &mut changed);
        if changed && !wf.hash.is_empty() {
            wf.hash = wf.compute_hash();
        }
    }
    if diagnostics.iter().any(Diagnostic::is_error) {
        return None;
    }
    Some(ir::Bundle {
        ir_version: ir::IR_VERSION,
        project: context.settings.clone(),
        workflows: unique,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn symlink_loops_end_the_walk() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("flows");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("a.stave.yaml"), "stave: 1\n").unwrap();
        std::os::unix::fs::symlink(dir.path(), sub.join("up")).unwrap();
        std::os::unix::fs::symlink(&sub, sub.join("self")).unwrap();
        let files = workflow_files(dir.path()).unwrap();
        assert_eq!(files, vec![sub.join("a.stave.yaml")]);
    }

    #[test]
    fn a_broken_file_leaves_the_others_servable() {
        let dir = tempfile::tempdir().unwrap();
        let settings = "namespace: default\nqueues:\n  standard: { task_queue: t }\n";
        std::fs::write(dir.path().join(PROJECT_FILE), settings).unwrap();
        let good = "stave: 1\nworkflow: good\nsteps:\n  - set: {}\n";
        std::fs::write(dir.path().join("good.stave.yaml"), good).unwrap();
        let broken = "stave: 1\nworkflow: broken\nsteps:\n  - sleep: forever\n";
        std::fs::write(dir.path().join("broken.stave.yaml"), broken).unwrap();
        let load = load_project(dir.path());
        assert!(load.bundle.is_none());
        let partial = load.partial.expect("the good file is servable");
        let names: Vec<&str> = partial
            .bundle
            .workflows
            .iter()
            .map(|w| w.name.as_str())
            .collect();
        assert_eq!(names, vec!["good"]);
        assert_eq!(partial.refused.len(), 1);
        assert!(partial.refused[0].0.ends_with("broken.stave.yaml"));
        // A broken `stave.yaml` concerns every workflow: nothing is servable.
        std::fs::write(dir.path().join(PROJECT_FILE), "namespace: [\n").unwrap();
        assert!(load_project(dir.path()).partial.is_none());
    }

    /// E037 checks only what is known: an activity that declares no `errors` (a manifest
    /// exported from another SDK) may raise anything, and so may a child workflow.
    #[test]
    fn unknown_error_types_are_reported_only_where_the_answer_is_known() {
        let manifest = crate::manifest::Manifest::from_json(
            r#"{"activities": [{"name": "py.charge"}, {"name": "pay", "errors": ["Declined"]}]}"#,
        )
        .expect("manifest");
        let project = ProjectContext {
            manifest: Some(manifest),
            ..ProjectContext::default()
        };
        let e037 = |text: &str| -> usize {
            let (_, _, diagnostics) = compile_source("w.stave.yaml", text, &project);
            diagnostics.iter().filter(|d| d.code == Code::E037).count()
        };
        let head = "stave: 1\nworkflow: w\ndefaults: { timeout: 5s }\nsteps:\n";
        // Undeclared errors: anything goes.
        assert_eq!(
            e037(&format!(
                "{head}  - activity: py.charge\n    retry: {{ non_retryable: [CardDeclined] }}\n"
            )),
            0
        );
        assert_eq!(
            e037(&format!(
                "{head}  - try: [ {{ activity: py.charge }} ]\n    catch: [ {{ errors: [CardDeclined], steps: [] }} ]\n"
            )),
            0
        );
        assert_eq!(
            e037(&format!(
                "{head}  - try: [ {{ activity: pay }}, {{ workflow: other }} ]\n    catch: [ {{ errors: [Anything], steps: [] }} ]\n"
            )),
            0
        );
        // Declared errors: a typo is caught, Stave's own types are known.
        assert_eq!(
            e037(&format!(
                "{head}  - activity: pay\n    retry: {{ non_retryable: [Declinde] }}\n"
            )),
            1
        );
        assert_eq!(
            e037(&format!(
                "{head}  - try: [ {{ activity: pay }} ]\n    catch: [ {{ errors: [Declinde, ChildWorkflowStartFailed, PayloadError, Timeout], steps: [] }} ]\n"
            )),
            1
        );
    }

    /// A schedule whose input the workflow's schema refuses would fail every run it starts.
    #[test]
    fn a_schedule_input_must_satisfy_the_input_schema() {
        let text = |input: &str| {
            format!(
                "stave: 1\nworkflow: w\ninput: {{ type: object, required: [n], properties: {{ n: {{ type: integer }} }} }}\nsteps: []\nschedules:\n  - {{ id: s, every: 1h, input: {input} }}\n"
            )
        };
        let e038 = |input: &str| -> Vec<String> {
            let (_, _, diagnostics) =
                compile_source("w.stave.yaml", &text(input), &ProjectContext::default());
            diagnostics
                .iter()
                .filter(|d| d.code == Code::E038)
                .map(|d| d.message.clone())
                .collect()
        };
        assert!(e038("{ n: 3 }").is_empty());
        assert_eq!(
            e038("{ n: x }"),
            [
                "schedule `s` would start every run with an input the workflow refuses: input.n: expected integer, got string"
            ]
        );
        assert_eq!(e038("{}").len(), 1);
    }

    /// An input schema keyword the validator does not check would accept anything: E043.
    #[test]
    fn unchecked_input_schema_keywords_are_errors() {
        let text = "stave: 1\nworkflow: w\ninput: { type: object, properties: { tags: { type: array, uniqueItems: true }, code: { type: string, pattern: \"([\" } } }\nsteps: []\n";
        let (_, _, diagnostics) = compile_source("w.stave.yaml", text, &ProjectContext::default());
        let messages: Vec<&str> = diagnostics
            .iter()
            .filter(|d| d.code == Code::E043)
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(messages.len(), 2, "{messages:#?}");
        assert!(
            messages[0].contains("input.tags: the keyword `uniqueItems` is not checked"),
            "{messages:#?}"
        );
        assert!(
            messages[1].contains("input.code: the pattern `([` is not a valid regular expression"),
            "{messages:#?}"
        );
    }
}
