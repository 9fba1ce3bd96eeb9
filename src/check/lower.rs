//! AST → IR: name resolution, option merging, expression checking and value folding.

use super::ProjectContext;
use super::names::{is_ident, is_temporal_name};
use crate::diagnostics::{Code, Diagnostic, FileId, Sources, Span, Spanned, did_you_mean};
use crate::expr::types::{FieldTy, ObjectTy};
use crate::expr::{self, Expr, ExprKind, Template, Ty, TypeScope};
use crate::ir;
use crate::manifest::{ActivitySpec, Manifest};
use crate::syntax::ast::{self, Name, ValueKind};
use crate::syntax::{duration, project};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

/// Error types the runtime raises itself; `catch` may name them without a manifest entry.
pub const BUILTIN_ERRORS: &[&str] = &[
    "WaitTimeout",
    "InvalidInput",
    "ActivityFailure",
    "ChildWorkflowFailure",
    "Cancelled",
    "Timeout",
    "ExpressionError",
    "MaxIterationsExceeded",
];

/// Default history length after which loops continue as new.
pub const CONTINUE_AS_NEW_AFTER: u64 = 10_000;

fn ms(d: Duration) -> u64 {
    d.as_millis().min(u64::MAX as u128) as u64
}

/// Lowers `stave.yaml` into the project context (reads the manifest it names).
pub fn lower_project(
    parsed: &project::ProjectFile,
    dir: &Path,
    sources: &mut Sources,
    diags: &mut Vec<Diagnostic>,
) -> ProjectContext {
    let mut queues = Vec::new();
    for q in &parsed.queues {
        if !is_temporal_name(&q.name.value) {
            diags.push(
                Diagnostic::new(
                    Code::E007,
                    q.name.span,
                    format!("invalid queue name `{}`", q.name.value),
                )
                .help("queue names are `[A-Za-z_][A-Za-z0-9_.-]*`"),
            );
        }
        let positive =
            |v: &Option<Spanned<i64>>, what: &str, diags: &mut Vec<Diagnostic>| -> Option<u32> {
                let v = v.as_ref()?;
                if v.value < 1 || v.value > u32::MAX as i64 {
                    diags.push(
                        Diagnostic::new(
                            Code::E040,
                            v.span,
                            format!("`{what}` must be a positive whole number"),
                        )
                        .help(format!("write e.g. `{what}: 10`")),
                    );
                    return None;
                }
                Some(v.value as u32)
            };
        let task_queue = match &q.task_queue {
            Some(t) => t.value.clone(),
            None => {
                diags.push(
                    Diagnostic::new(
                        Code::E040,
                        q.span,
                        format!("queue `{}` has no `task_queue`", q.name.value),
                    )
                    .help(format!(
                        "add `task_queue: {}` (the Temporal task queue it maps to)",
                        q.name.value
                    )),
                );
                q.name.value.clone()
            }
        };
        let rate_limit = q.rate_limit.as_ref().and_then(|r| {
            if r.value > 0.0 && r.value.is_finite() {
                Some(r.value)
            } else {
                diags.push(Diagnostic::new(
                    Code::E040,
                    r.span,
                    "`rate_limit` must be a positive number of activities per second",
                ));
                None
            }
        });
        queues.push(ir::Queue {
            name: q.name.value.clone(),
            task_queue,
            max_concurrent_workflow_tasks: positive(
                &q.max_concurrent_workflow_tasks,
                "max_concurrent_workflow_tasks",
                diags,
            ),
            max_concurrent_activities: positive(
                &q.max_concurrent_activities,
                "max_concurrent_activities",
                diags,
            ),
            max_workers: positive(&q.max_workers, "max_workers", diags),
            rate_limit,
        });
    }
    let default_queue = match &parsed.default_queue {
        Some(name) => {
            if !queues.iter().any(|q| q.name == name.value) {
                diags.push(unknown_queue(name, &queues));
            }
            Some(name.value.clone())
        }
        None => queues
            .iter()
            .find(|q| q.name == "standard")
            .or(queues.first())
            .map(|q| q.name.clone()),
    };
    let manifest = parsed.activities.as_ref().and_then(|path| {
        let full = dir.join(&path.value);
        match std::fs::read_to_string(&full) {
            Ok(text) => {
                let file = sources.add(&full, text);
                match Manifest::from_json(sources.text(file)) {
                    Ok(m) => Some(m),
                    Err(e) => {
                        let text = sources.text(file);
                        let offset = line_col_offset(text, e.line(), e.column());
                        diags.push(
                            Diagnostic::new(Code::E039, Span::new(file, offset, offset), format!("invalid activity manifest: {e}"))
                                .help("regenerate it with `stave worker --export-manifest activities.json`"),
                        );
                        None
                    }
                }
            }
            Err(e) => {
                diags.push(
                    Diagnostic::new(Code::E039, path.span, format!("cannot read the activity manifest `{}`: {e}", full.display()))
                        .label("named here")
                        .help("export it with `stave worker --export-manifest activities.json`, or fix the path"),
                );
                None
            }
        }
    });
    ProjectContext {
        dir: Some(dir.to_path_buf()),
        settings: ir::Project {
            namespace: parsed
                .namespace
                .as_ref()
                .map_or_else(|| "default".to_string(), |n| n.value.clone()),
            queues,
        },
        default_queue,
        defaults: parsed.defaults.clone(),
        manifest,
        workflow_paths: parsed
            .workflows
            .iter()
            .map(|w| dir.join(&w.value))
            .collect(),
    }
}

fn line_col_offset(text: &str, line: usize, col: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (start + col.saturating_sub(1)).min(text.len())
}

fn unknown_queue(name: &Name, queues: &[ir::Queue]) -> Diagnostic {
    let names: Vec<&str> = queues.iter().map(|q| q.name.as_str()).collect();
    let mut d = Diagnostic::new(
        Code::E033,
        name.span,
        format!("unknown queue `{}`", name.value),
    )
    .label("not declared in stave.yaml");
    d.help = Some(match did_you_mean(&name.value, names.iter().copied()) {
        Some(hint) => hint,
        None if names.is_empty() => "declare it under `queues:` in stave.yaml".into(),
        None => format!("the project's queues are: {}", names.join(", ")),
    });
    d
}

/// Lowers a workflow AST. The IR is returned only when no error was found.
pub fn lower(
    ast: &ast::Workflow,
    sources: &Sources,
    project: &ProjectContext,
) -> (Option<ir::Workflow>, Vec<Diagnostic>) {
    let mut l = Lowerer::new(ast, sources, project);
    let wf = l.workflow(ast);
    let clean = !l.diags.iter().any(Diagnostic::is_error);
    (wf.filter(|_| clean), l.diags)
}

/// What is visible to expressions at one point of the workflow. One scope is threaded through
/// the whole walk and updated in place: nested blocks add their ids and take them back out
/// (`mark`/`take_since`), loops and catches bind a name and restore it. Copying the visible
/// steps per block or per expression made lint quadratic in the number of steps.
struct Scope {
    /// The roots for the expression checker; `steps` is an object of the visible results.
    types: TypeScope,
    /// Step ids added, in order.
    added: Vec<String>,
    /// Inside a `catch` clause (rethrow allowed).
    in_catch: bool,
}

impl Scope {
    fn new(roots: &TypeScope) -> Scope {
        let mut types = roots.clone();
        types.bind(
            "steps",
            Ty::Object(ObjectTy {
                fields: BTreeMap::new(),
                closed: true,
                origin: "the steps visible here".into(),
            }),
        );
        Scope {
            types,
            added: Vec::new(),
            in_catch: false,
        }
    }

    fn steps_mut(&mut self) -> Option<&mut ObjectTy> {
        match self.types.get_mut("steps") {
            Some(Ty::Object(o)) => Some(o),
            _ => None,
        }
    }

    /// The visible step results.
    fn steps(&self) -> Vec<(String, FieldTy)> {
        match self.types.get("steps") {
            Some(Ty::Object(o)) => o
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            _ => Vec::new(),
        }
    }

    fn add_step(&mut self, id: String, field: FieldTy) {
        if let Some(o) = self.steps_mut() {
            o.fields.insert(id.clone(), field);
        }
        self.added.push(id);
    }

    fn mark(&self) -> usize {
        self.added.len()
    }

    /// Removes the ids added since `mark` and returns them.
    fn take_since(&mut self, mark: usize) -> BTreeMap<String, FieldTy> {
        let ids: Vec<String> = self.added.drain(mark..).collect();
        let mut taken = BTreeMap::new();
        if let Some(o) = self.steps_mut() {
            for id in ids {
                if let Some(field) = o.fields.remove(&id) {
                    taken.insert(id, field);
                }
            }
        }
        taken
    }

    fn bind_local(&mut self, name: &str, ty: Ty) -> Option<std::sync::Arc<Ty>> {
        self.types.replace(name, Some(std::sync::Arc::new(ty)))
    }

    fn restore_local(&mut self, name: &str, previous: Option<std::sync::Arc<Ty>>) {
        self.types.replace(name, previous);
    }
}

struct Lowerer<'a> {
    file: FileId,
    sources: &'a Sources,
    project: &'a ProjectContext,
    manifest: Option<&'a Manifest>,
    diags: Vec<Diagnostic>,
    next_index: u32,
    step_ids: BTreeMap<String, Span>,
    vars: Vec<String>,
    signals: Vec<String>,
    known_errors: BTreeSet<String>,
    task_queue: String,
    defaults: Option<&'a ast::ActivityOptions>,
    roots: TypeScope,
}

impl<'a> Lowerer<'a> {
    fn new(ast: &'a ast::Workflow, sources: &'a Sources, project: &'a ProjectContext) -> Self {
        let manifest = project.manifest.as_ref();
        let mut known_errors: BTreeSet<String> =
            BUILTIN_ERRORS.iter().map(|s| s.to_string()).collect();
        if let Some(m) = manifest {
            for a in &m.activities {
                known_errors.extend(a.errors.iter().cloned());
            }
        }
        collect_fail_types(&ast.steps, &mut known_errors);
        Lowerer {
            file: ast.file,
            sources,
            project,
            manifest,
            diags: Vec::new(),
            next_index: 0,
            step_ids: BTreeMap::new(),
            vars: ast.vars.iter().map(|(n, _)| n.value.clone()).collect(),
            signals: ast.signals.iter().map(|s| s.name.value.clone()).collect(),
            known_errors,
            task_queue: String::new(),
            defaults: ast.defaults.as_ref(),
            roots: TypeScope::new(),
        }
    }

    fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn loc(&self, span: Span) -> ir::Loc {
        let (line, col) = self.sources.get(self.file).line_col(span.start as usize);
        ir::Loc {
            line: line as u32,
            col: col as u32,
        }
    }

    fn check_ident(&mut self, name: &Name, what: &str) {
        if !is_ident(&name.value) {
            let suggestion = name
                .value
                .to_ascii_lowercase()
                .replace(['-', '.', ' '], "_");
            self.error(
                Diagnostic::new(Code::E007, name.span, format!("invalid {what} `{}`", name.value))
                    .label("not a valid name")
                    .help(format!("{what}s are `[a-z_][a-z0-9_]*` because expressions refer to them; e.g. `{suggestion}`")),
            );
        } else if super::names::ROOTS.contains(&name.value.as_str())
            || name.value == "err" && what == "variable"
        {
            self.error(
                Diagnostic::new(
                    Code::E007,
                    name.span,
                    format!("`{}` is reserved and cannot be a {what}", name.value),
                )
                .help("choose another name"),
            );
        }
    }

    fn check_temporal_name(&mut self, name: &Name, what: &str) {
        if !is_temporal_name(&name.value) {
            self.error(
                Diagnostic::new(
                    Code::E007,
                    name.span,
                    format!("invalid {what} name `{}`", name.value),
                )
                .label("not a valid name")
                .help("Temporal names are `[A-Za-z_][A-Za-z0-9_.-]*`"),
            );
        }
    }

    fn queue_task_queue(&mut self, queue: &Name) -> String {
        if self.project.dir.is_none() && self.project.settings.queues.is_empty() {
            // Outside a project: the queue name is the task queue.
            return queue.value.clone();
        }
        match self.project.settings.queue(&queue.value) {
            Some(q) => q.task_queue.clone(),
            None => {
                let d = unknown_queue(queue, &self.project.settings.queues);
                self.error(d);
                queue.value.clone()
            }
        }
    }

    // ---- types and values -------------------------------------------------------------

    /// Lowers a value slot and type-checks the expressions inside it.
    fn value(&mut self, v: &ast::Value, scope: &Scope) -> ir::Value {
        if has_expr(v) {
            self.check_value(v, &scope.types);
        }
        lower_value(v)
    }

    fn check_value(&mut self, v: &ast::Value, ts: &TypeScope) {
        match &v.kind {
            ValueKind::Str(t) => {
                let (_, d) = expr::check_template(t, ts);
                self.diags.extend(d);
            }
            ValueKind::Expr(e) => {
                let (_, d) = expr::check_expr(e, ts);
                self.diags.extend(d);
            }
            ValueKind::List(items) => items.iter().for_each(|i| self.check_value(i, ts)),
            ValueKind::Map(entries) => entries.iter().for_each(|(_, i)| self.check_value(i, ts)),
            _ => {}
        }
    }

    // ---- the workflow ----------------------------------------------------------------

    fn workflow(&mut self, ast: &ast::Workflow) -> Option<ir::Workflow> {
        if let Some(v) = &ast.version
            && v.value != 1
        {
            self.error(
                Diagnostic::new(
                    Code::E009,
                    v.span,
                    format!("unsupported language version {}", v.value),
                )
                .help("write `stave: 1`"),
            );
        }
        if !ast.name.value.is_empty() {
            self.check_temporal_name(&ast.name, "workflow");
        }
        let queue = match &ast.queue {
            Some(q) => q.clone(),
            None => Spanned::new(
                self.project
                    .default_queue
                    .clone()
                    .unwrap_or_else(|| "default".into()),
                ast.name.span,
            ),
        };
        self.task_queue = self.queue_task_queue(&queue);

        let input_ty = match &ast.input {
            Some(schema) => {
                self.check_schema(&schema.value, schema.span);
                Ty::from_json_schema(&schema.value, "the workflow input")
            }
            None => Ty::Dyn,
        };
        self.roots.bind("input", input_ty);
        self.roots.bind(
            "workflow",
            Ty::Object(ObjectTy {
                fields: ["id", "run_id", "type", "start_time", "attempt"]
                    .iter()
                    .map(|f| {
                        let ty = if *f == "attempt" { Ty::Int } else { Ty::String };
                        (
                            f.to_string(),
                            FieldTy {
                                ty,
                                may_not_have_run: None,
                            },
                        )
                    })
                    .collect(),
                closed: true,
                origin: "the workflow's info".into(),
            }),
        );
        self.roots.bind(
            "vars",
            Ty::Object(ObjectTy {
                fields: self
                    .vars
                    .iter()
                    .map(|v| {
                        (
                            v.clone(),
                            FieldTy {
                                ty: Ty::Dyn,
                                may_not_have_run: None,
                            },
                        )
                    })
                    .collect(),
                closed: true,
                origin: "the workflow's vars".into(),
            }),
        );

        // Variables: initial values see the input only.
        let mut seen_vars = BTreeSet::new();
        let mut vars = Vec::new();
        let empty = Scope::new(&self.roots);
        for (name, value) in &ast.vars {
            self.check_ident(name, "variable");
            if !seen_vars.insert(name.value.clone()) {
                self.error(Diagnostic::new(
                    Code::E003,
                    name.span,
                    format!("variable `{}` is declared twice", name.value),
                ));
            }
            vars.push((name.value.clone(), self.value(value, &empty)));
        }

        let mut signals = Vec::new();
        for s in &ast.signals {
            self.check_temporal_name(&s.name, "signal");
            let mut scope = Scope::new(&self.roots);
            scope.bind_local("signal", Ty::Dyn);
            let set = self.assignments(&s.set, &scope);
            signals.push(ir::SignalHandler {
                name: s.name.value.clone(),
                set,
            });
        }

        let mut scope = Scope::new(&self.roots);
        let steps = self.block(&ast.steps, &mut scope);

        // Queries and output see every top-level step (a query may run before it completes).
        let mut query_scope = Scope::new(&self.roots);
        for (id, mut field) in scope.steps() {
            field.may_not_have_run.get_or_insert_with(|| id.clone());
            query_scope.add_step(id, field);
        }
        let mut queries = Vec::new();
        for (name, value) in &ast.queries {
            self.check_temporal_name(name, "query");
            queries.push((name.value.clone(), self.value(value, &query_scope)));
        }
        let output = ast.output.as_ref().map(|o| self.value(o, &scope));

        let schedules = ast
            .schedules
            .iter()
            .filter_map(|s| self.schedule(s))
            .collect();
        let search_attributes = ast
            .search_attributes
            .iter()
            .map(|(n, v)| (n.value.clone(), self.value(v, &empty)))
            .collect();
        let memo = ast
            .memo
            .iter()
            .map(|(n, v)| (n.value.clone(), self.value(v, &empty)))
            .collect();

        let wf = ir::Workflow {
            ir_version: ir::IR_VERSION,
            hash: String::new(),
            source: self.sources.path(self.file).display().to_string(),
            name: ast.name.value.clone(),
            description: ast.description.as_ref().map(|d| d.value.clone()),
            queue: queue.value.clone(),
            task_queue: self.task_queue.clone(),
            execution_timeout_ms: ast.timeout.as_ref().map(|t| ms(t.value)),
            input_schema: ast.input.as_ref().map(|s| s.value.clone()),
            vars,
            signals,
            queries,
            steps,
            output,
            schedules,
            search_attributes,
            memo,
            continue_as_new_after: ast
                .continue_as_new_after
                .as_ref()
                .map_or(CONTINUE_AS_NEW_AFTER, |c| c.value),
            step_count: self.next_index,
        };
        Some(wf)
    }

    fn check_schema(&mut self, schema: &Json, span: Span) {
        const TYPES: &[&str] = &[
            "object", "array", "string", "number", "integer", "boolean", "null",
        ];
        let mut problems = Vec::new();
        fn walk(s: &Json, path: &str, problems: &mut Vec<String>) {
            let Json::Object(map) = s else {
                if !s.is_boolean() {
                    problems.push(format!("{path} must be a mapping"));
                }
                return;
            };
            match map.get("type") {
                Some(Json::String(t)) if !TYPES.contains(&t.as_str()) => problems.push(format!(
                    "{path}: unknown type `{t}` (use one of {})",
                    TYPES.join(", ")
                )),
                Some(Json::Array(ts)) => {
                    for t in ts {
                        if !t.as_str().is_some_and(|t| TYPES.contains(&t)) {
                            problems.push(format!("{path}: unknown type {t}"));
                        }
                    }
                }
                Some(Json::String(_)) | None => {}
                Some(other) => {
                    problems.push(format!("{path}: `type` must be a string, found {other}"))
                }
            }
            if let Some(req) = map.get("required")
                && !req
                    .as_array()
                    .is_some_and(|r| r.iter().all(Json::is_string))
            {
                problems.push(format!("{path}: `required` must be a list of field names"));
            }
            match map.get("properties") {
                Some(Json::Object(props)) => {
                    for (k, v) in props {
                        walk(v, &format!("{path}.{k}"), problems);
                    }
                }
                Some(_) => problems.push(format!("{path}: `properties` must be a mapping")),
                None => {}
            }
            if let Some(items) = map.get("items") {
                walk(items, &format!("{path}[]"), problems);
            }
        }
        walk(schema, "input", &mut problems);
        for p in problems {
            self.error(
                Diagnostic::new(Code::E043, span, format!("invalid input schema: {p}"))
                    .help("use JSON Schema: `type: object`, `required: [..]`, `properties: {..}`"),
            );
        }
    }

    fn schedule(&mut self, s: &ast::Schedule) -> Option<ir::Schedule> {
        self.check_temporal_name(&s.id, "schedule");
        let spec = match (&s.cron, &s.every) {
            (Some(cron), None) => {
                if let Err(why) = check_cron(&cron.value) {
                    self.error(Diagnostic::new(Code::E038, cron.span, format!("invalid cron `{}`: {why}", cron.value)).help("five fields: minute hour day-of-month month day-of-week, e.g. `0 2 * * *`"));
                    return None;
                }
                ir::ScheduleSpec::Cron(cron.value.clone())
            }
            (None, Some(every)) => {
                if every.value < Duration::from_secs(1) {
                    self.error(Diagnostic::new(
                        Code::E038,
                        every.span,
                        "`every` must be at least 1s",
                    ));
                    return None;
                }
                ir::ScheduleSpec::EveryMs(ms(every.value))
            }
            (Some(_), Some(e)) => {
                self.error(
                    Diagnostic::new(
                        Code::E038,
                        e.span,
                        "a schedule takes `cron:` or `every:`, not both",
                    )
                    .help("keep one of them"),
                );
                return None;
            }
            (None, None) => {
                self.error(
                    Diagnostic::new(Code::E038, s.span, "a schedule needs `cron:` or `every:`")
                        .help("add `cron: \"0 2 * * *\"` or `every: 1h`"),
                );
                return None;
            }
        };
        let overlap = match s.overlap.as_ref().map(|o| o.value.as_str()) {
            None | Some("skip") => ir::Overlap::Skip,
            Some("buffer_one") => ir::Overlap::BufferOne,
            Some("buffer_all") => ir::Overlap::BufferAll,
            Some("allow_all") => ir::Overlap::AllowAll,
            Some("cancel_other") => ir::Overlap::CancelOther,
            Some("terminate_other") => ir::Overlap::TerminateOther,
            Some(other) => {
                const ALL: &[&str] = &[
                    "skip",
                    "buffer_one",
                    "buffer_all",
                    "allow_all",
                    "cancel_other",
                    "terminate_other",
                ];
                let o = s.overlap.as_ref().map_or(s.span, |o| o.span);
                let help = did_you_mean(other, ALL.iter().copied())
                    .unwrap_or_else(|| format!("use one of: {}", ALL.join(", ")));
                self.error(
                    Diagnostic::new(Code::E038, o, format!("unknown overlap policy `{other}`"))
                        .help(help),
                );
                return None;
            }
        };
        let timezone = s
            .timezone
            .as_ref()
            .map_or_else(|| "UTC".to_string(), |t| t.value.clone());
        if let Some(tz) = &s.timezone {
            let ok = tz.value == "UTC"
                || tz.value.split('/').count() >= 2
                    && tz
                        .value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "/_-+".contains(c));
            if !ok {
                self.error(
                    Diagnostic::new(
                        Code::E038,
                        tz.span,
                        format!("`{}` is not an IANA time zone", tz.value),
                    )
                    .help("write e.g. `Europe/Oslo` or `UTC`"),
                );
            }
        }
        let input = match &s.input {
            None => Json::Null,
            Some(v) => match lower_value(v) {
                ir::Value::Literal(j) => j,
                _ => {
                    self.error(Diagnostic::new(Code::E038, v.span, "a schedule's input must be literal data").help("schedules start without a run to evaluate expressions in; write the input as plain data"));
                    return None;
                }
            },
        };
        Some(ir::Schedule {
            id: s.id.value.clone(),
            spec,
            timezone,
            overlap,
            paused: s.paused.as_ref().is_some_and(|p| p.value),
            input,
        })
    }

    fn assignments(
        &mut self,
        set: &[(Name, ast::Value)],
        scope: &Scope,
    ) -> Vec<(String, ir::Value)> {
        let mut out = Vec::new();
        for (name, value) in set {
            if !self.vars.contains(&name.value) {
                let mut d = Diagnostic::new(
                    Code::E036,
                    name.span,
                    format!("unknown variable `{}`", name.value),
                )
                .label("not declared under `vars:`");
                d.help = Some(
                    did_you_mean(&name.value, self.vars.iter().map(String::as_str))
                        .unwrap_or_else(|| format!("declare it under `vars:` with its initial value, e.g. `vars: {{ {}: null }}`", name.value)),
                );
                self.error(d);
            }
            out.push((name.value.clone(), self.value(value, scope)));
        }
        out
    }

    // ---- steps -----------------------------------------------------------------------

    /// Lowers a block; ids of its steps become visible in `scope` as they complete.
    fn block(&mut self, steps: &[ast::Step], scope: &mut Scope) -> Vec<ir::Step> {
        steps.iter().map(|s| self.step(s, scope)).collect()
    }

    /// Lowers a nested block; its ids are visible inside it and returned, not left in `scope`.
    fn nested(
        &mut self,
        steps: &[ast::Step],
        scope: &mut Scope,
    ) -> (Vec<ir::Step>, BTreeMap<String, FieldTy>) {
        let mark = scope.mark();
        let lowered = self.block(steps, scope);
        (lowered, scope.take_since(mark))
    }

    fn step(&mut self, step: &ast::Step, scope: &mut Scope) -> ir::Step {
        let index = self.next_index;
        self.next_index += 1;
        if let Some(id) = &step.id {
            self.check_ident(id, "step id");
            if let Some(first) = self.step_ids.get(&id.value).copied() {
                self.error(
                    Diagnostic::new(
                        Code::E034,
                        id.span,
                        format!("duplicate step id `{}`", id.value),
                    )
                    .label("second use")
                    .with_label(first, "first used here")
                    .help("step ids are unique in the whole file: rename one of them"),
                );
            } else {
                self.step_ids.insert(id.value.clone(), id.span);
            }
        }
        let mut guard = step.when.as_ref().map(|w| self.value(w, scope));
        let conditional = guard.is_some();
        // Ids of nested steps that escape, and whether they surely ran.
        let mut escaped: BTreeMap<String, FieldTy> = BTreeMap::new();
        let mut maybe = conditional;
        let mut result_ty = Ty::Dyn;
        let kind = match &step.kind {
            ast::StepKind::Activity(call) => {
                let (call, ty) = self.activity(call, step.id.as_ref(), scope, true);
                result_ty = ty;
                ir::StepKind::Activity(call)
            }
            ast::StepKind::Workflow(call) => ir::StepKind::Child(self.child(call, scope)),
            ast::StepKind::Block { steps, else_steps } => {
                let (then, a) = self.nested(steps, scope);
                escaped.extend(a);
                match guard.take() {
                    Some(cond) => {
                        let (otherwise, b) =
                            self.nested(else_steps.as_deref().unwrap_or(&[]), scope);
                        escaped.extend(b);
                        ir::StepKind::If {
                            cond,
                            then,
                            otherwise,
                        }
                    }
                    None => {
                        if let Some(e) = else_steps {
                            let at = e.first().map_or(step.span, |s| s.span);
                            self.error(
                                Diagnostic::new(Code::E006, at, "`else` without `if`")
                                    .help("add `if: \"${ cond }\"` to the step, or drop `else`"),
                            );
                        }
                        ir::StepKind::Sequence(then)
                    }
                }
            }
            ast::StepKind::Switch { arms, default } => {
                maybe = true;
                let mut lowered = Vec::new();
                for arm in arms {
                    let when = self.value(&arm.when, scope);
                    let (steps, a) = self.nested(&arm.steps, scope);
                    escaped.extend(a);
                    lowered.push(ir::SwitchArm { when, steps });
                }
                let (default, b) = self.nested(default.as_deref().unwrap_or(&[]), scope);
                escaped.extend(b);
                ir::StepKind::Switch {
                    arms: lowered,
                    default,
                }
            }
            ast::StepKind::Parallel { branches, race } => {
                maybe |= *race;
                let mut names = BTreeSet::new();
                let mut lowered = Vec::new();
                let mut fields = BTreeMap::new();
                for (name, steps) in branches {
                    self.check_ident(name, "branch name");
                    if !names.insert(name.value.clone()) {
                        self.error(Diagnostic::new(
                            Code::E003,
                            name.span,
                            format!("branch `{}` is declared twice", name.value),
                        ));
                    }
                    // Branches run concurrently: none sees another's steps.
                    let (steps, a) = self.nested(steps, scope);
                    escaped.extend(a);
                    fields.insert(
                        name.value.clone(),
                        FieldTy {
                            ty: Ty::Dyn,
                            may_not_have_run: None,
                        },
                    );
                    lowered.push(ir::Branch {
                        name: name.value.clone(),
                        steps,
                    });
                }
                if !*race {
                    result_ty = Ty::Object(ObjectTy {
                        fields,
                        closed: true,
                        origin: "the parallel step's branches".into(),
                    });
                }
                ir::StepKind::Parallel {
                    branches: lowered,
                    race: *race,
                }
            }
            ast::StepKind::Foreach {
                over,
                item,
                concurrency,
                steps,
            } => {
                let over = self.value(over, scope);
                let item_name = item.as_ref().map_or_else(
                    || "item".to_string(),
                    |i| {
                        self.check_ident(i, "loop variable");
                        i.value.clone()
                    },
                );
                let concurrency = concurrency.as_ref().and_then(|c| {
                    if c.value < 1 || c.value > 10_000 {
                        self.error(
                            Diagnostic::new(
                                Code::E044,
                                c.span,
                                "`concurrency` must be between 1 and 10000",
                            )
                            .help("write e.g. `concurrency: 10`"),
                        );
                        None
                    } else {
                        Some(c.value as u32)
                    }
                });
                let previous = scope.bind_local(&item_name, Ty::Dyn);
                // Ids inside the body are visible only inside the body.
                let (steps, _) = self.nested(steps, scope);
                scope.restore_local(&item_name, previous);
                result_ty = Ty::List(Box::new(Ty::Dyn));
                ir::StepKind::Foreach {
                    over,
                    item: item_name,
                    concurrency,
                    steps,
                }
            }
            ast::StepKind::While {
                cond,
                max_iterations,
                steps,
            } => {
                maybe = true;
                let max_iterations = match max_iterations {
                    Some(m) if m.value >= 1 => m.value as u64,
                    Some(m) => {
                        self.error(Diagnostic::new(
                            Code::E044,
                            m.span,
                            "`max_iterations` must be at least 1",
                        ));
                        1
                    }
                    None => {
                        self.error(
                            Diagnostic::new(
                                Code::E006,
                                step.span,
                                "`while` needs `max_iterations:`",
                            )
                            .help("bound the loop: add `max_iterations: 100`"),
                        );
                        1
                    }
                };
                let (body, a) = self.nested(steps, scope);
                // The condition sees the body's results of the previous iteration.
                let mark = scope.mark();
                for (k, mut v) in a.clone() {
                    v.may_not_have_run = Some(k.clone());
                    scope.add_step(k, v);
                }
                let cond = self.value(cond, scope);
                scope.take_since(mark);
                escaped.extend(a);
                ir::StepKind::While {
                    cond,
                    max_iterations,
                    steps: body,
                }
            }
            ast::StepKind::Wait {
                signal,
                until,
                timeout,
                on_timeout,
            } => {
                if !self.signals.contains(&signal.value) {
                    let mut d = Diagnostic::new(
                        Code::E035,
                        signal.span,
                        format!("unknown signal `{}`", signal.value),
                    )
                    .label("not declared under `signals:`");
                    d.help = Some(
                        did_you_mean(&signal.value, self.signals.iter().map(String::as_str))
                            .unwrap_or_else(|| {
                                format!("declare it: `signals: {{ {}: {{}} }}`", signal.value)
                            }),
                    );
                    self.error(d);
                }
                let on_timeout = match on_timeout.as_ref().map(|o| o.value.as_str()) {
                    None | Some("fail") => ir::OnTimeout::Fail,
                    Some("continue") => ir::OnTimeout::Continue,
                    Some(other) => {
                        let span = on_timeout.as_ref().map_or(step.span, |o| o.span);
                        self.error(
                            Diagnostic::new(
                                Code::E044,
                                span,
                                format!("unknown `on_timeout` value `{other}`"),
                            )
                            .help("use `fail` (raise WaitTimeout) or `continue` (go on with null)"),
                        );
                        ir::OnTimeout::Fail
                    }
                };
                ir::StepKind::Wait {
                    signal: signal.value.clone(),
                    until: until.as_ref().map(|u| self.value(u, scope)),
                    timeout_ms: timeout.as_ref().map(|t| ms(t.value)),
                    on_timeout,
                }
            }
            ast::StepKind::Sleep(sleep) => ir::StepKind::Sleep(match sleep {
                ast::Sleep::For(d) => ir::Sleep::ForMs(ms(d.value)),
                ast::Sleep::Expr(v) => match lower_value(v) {
                    ir::Value::Literal(Json::String(s)) => match duration::parse(&s) {
                        Ok(d) => ir::Sleep::ForMs(ms(d)),
                        Err(why) => {
                            self.error(Diagnostic::new(
                                Code::E008,
                                v.span,
                                format!("invalid duration for `sleep`: {why}"),
                            ));
                            ir::Sleep::ForMs(0)
                        }
                    },
                    ir::Value::Literal(Json::Number(n)) => {
                        ir::Sleep::ForMs((n.as_f64().unwrap_or(0.0) * 1000.0).max(0.0) as u64)
                    }
                    _ => ir::Sleep::For(self.value(v, scope)),
                },
                ast::Sleep::Until(v) => ir::Sleep::Until(self.value(v, scope)),
            }),
            ast::StepKind::Set(set) => ir::StepKind::Set(self.assignments(set, scope)),
            ast::StepKind::Try { steps, catches } => {
                maybe = true;
                let (body, a) = self.nested(steps, scope);
                escaped.extend(a);
                let mut lowered = Vec::new();
                for c in catches {
                    for e in &c.errors {
                        if self.manifest.is_some() && !self.known_errors.contains(&e.value) {
                            let mut d = Diagnostic::new(
                                Code::E037,
                                e.span,
                                format!("unknown error type `{}`", e.value),
                            )
                            .label("no activity raises it");
                            d.help = Some(did_you_mean(&e.value, self.known_errors.iter().map(String::as_str)).unwrap_or_else(|| "use an error type listed under an activity's `errors` in activities.json, or one Stave raises (WaitTimeout, Timeout, Cancelled, ...)".into()));
                            self.error(d);
                        }
                    }
                    let name = c.name.as_ref().map_or_else(
                        || "err".to_string(),
                        |n| {
                            self.check_ident(n, "error name");
                            n.value.clone()
                        },
                    );
                    let was_in_catch = std::mem::replace(&mut scope.in_catch, true);
                    let previous = scope.bind_local(&name, error_ty());
                    let when = c.when.as_ref().map(|w| self.value(w, scope));
                    let (steps, b) = self.nested(&c.steps, scope);
                    scope.restore_local(&name, previous);
                    scope.in_catch = was_in_catch;
                    escaped.extend(b);
                    lowered.push(ir::Catch {
                        errors: c.errors.iter().map(|e| e.value.clone()).collect(),
                        when,
                        name,
                        steps,
                    });
                }
                ir::StepKind::Try {
                    steps: body,
                    catches: lowered,
                }
            }
            ast::StepKind::Fail {
                error_type,
                message,
                details,
            } => ir::StepKind::Fail {
                error_type: self.value(error_type, scope),
                message: message
                    .as_ref()
                    .map_or(ir::Value::Literal(Json::String(String::new())), |m| {
                        self.value(m, scope)
                    }),
                details: details
                    .as_ref()
                    .map_or(ir::Value::null(), |d| self.value(d, scope)),
            },
            ast::StepKind::Return(v) => ir::StepKind::Return(self.value(v, scope)),
            ast::StepKind::Rethrow => {
                if !scope.in_catch {
                    self.error(
                        Diagnostic::new(
                            Code::E042,
                            step.span,
                            "`rethrow` outside a `catch` clause",
                        )
                        .help("move it into a `catch` clause's steps, or use `fail`"),
                    );
                }
                ir::StepKind::Rethrow
            }
        };
        for (k, mut v) in escaped {
            if maybe && v.may_not_have_run.is_none() {
                v.may_not_have_run = Some(k.clone());
            }
            scope.add_step(k, v);
        }
        if let Some(id) = &step.id {
            let may_not_have_run =
                (conditional || matches!(kind, ir::StepKind::If { .. })).then(|| id.value.clone());
            let ty = if matches!(
                kind,
                ir::StepKind::If { .. } | ir::StepKind::Switch { .. } | ir::StepKind::Try { .. }
            ) {
                Ty::Dyn
            } else {
                result_ty
            };
            scope.add_step(
                id.value.clone(),
                FieldTy {
                    ty,
                    may_not_have_run,
                },
            );
        }
        ir::Step {
            index,
            id: step.id.as_ref().map(|i| i.value.clone()),
            guard,
            kind,
            loc: self.loc(step.span),
        }
    }

    fn spec(&self, name: &str) -> Option<&'a ActivitySpec> {
        self.manifest.and_then(|m| m.get(name))
    }

    /// Lowers an activity call; returns it with the type of its result.
    fn activity(
        &mut self,
        call: &ast::ActivityCall,
        id: Option<&Name>,
        scope: &mut Scope,
        top: bool,
    ) -> (ir::ActivityCall, Ty) {
        let name = &call.activity;
        self.check_temporal_name(name, "activity");
        let external = call.options.task_queue.is_some();
        let spec = self.spec(&name.value);
        if spec.is_none()
            && !external
            && let Some(m) = self.manifest
        {
            let mut d = Diagnostic::new(
                Code::E030,
                name.span,
                format!("unknown activity `{}`", name.value),
            )
            .label("not in the activity manifest");
            d.help = Some(match did_you_mean(&name.value, m.activities.iter().map(|a| a.name.as_str())) {
                Some(hint) => hint,
                None => "register it in your worker and re-export the manifest (`stave worker --export-manifest activities.json`); activities served outside the project take `task_queue:`".into(),
            });
            self.error(d);
        }
        if let (Some(_), Some(args)) = (&call.input, &call.args) {
            self.error(
                Diagnostic::new(
                    Code::E045,
                    args.span,
                    "a step takes `input:` or `args:`, not both",
                )
                .help("keep `input:` for Stave activities, `args:` for positional arguments"),
            );
        }
        let args = match &call.args {
            Some(args) => {
                ir::Args::Positional(args.value.iter().map(|a| self.value(a, scope)).collect())
            }
            None => {
                if let (Some(spec), Some(input)) = (spec, &call.input) {
                    self.check_input_shape(spec, input, name);
                } else if let (Some(spec), None) = (spec, &call.input)
                    && let Some(req) = spec
                        .input
                        .as_ref()
                        .and_then(|s| s.get("required"))
                        .and_then(Json::as_array)
                    && !req.is_empty()
                {
                    {
                        let fields: Vec<&str> = req.iter().filter_map(Json::as_str).collect();
                        self.error(
                            Diagnostic::new(
                                Code::E031,
                                name.span,
                                format!(
                                    "`{}` needs input with {}",
                                    name.value,
                                    fields
                                        .iter()
                                        .map(|f| format!("`{f}`"))
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                            )
                            .help("add `input: { ... }` with the required fields"),
                        );
                    }
                }
                ir::Args::Input(
                    call.input
                        .as_ref()
                        .map_or(ir::Value::null(), |i| self.value(i, scope)),
                )
            }
        };
        let o = self.merged_options(&call.options, spec);
        let task_queue = match (&call.options.task_queue, &o.queue) {
            (Some(tq), Some(q)) if call.options.queue.is_some() => {
                self.error(
                    Diagnostic::new(
                        Code::E044,
                        tq.span,
                        "a step takes `queue:` or `task_queue:`, not both",
                    )
                    .with_label(q.span, "queue given here")
                    .help("`queue` names a project queue; `task_queue` a raw Temporal task queue"),
                );
                tq.value.clone()
            }
            (Some(tq), _) => tq.value.clone(),
            (None, Some(q)) => {
                let q = q.clone();
                self.queue_task_queue(&q)
            }
            (None, None) => self.task_queue.clone(),
        };
        if o.timeout.is_none() && o.schedule_to_close.is_none() {
            self.error(
                Diagnostic::new(Code::E032, name.span, format!("activity `{}` has no timeout", name.value))
                    .label("needs `timeout:` or `schedule_to_close:`")
                    .help("Temporal requires one: add `timeout: 30s` to the step or to the workflow's `defaults:`"),
            );
        }
        let retry = o.retry.map(|r| self.retry(&r, spec));
        let summary = call.options.summary.as_ref().map(|s| self.value(s, scope));
        let ty = spec
            .and_then(|s| s.output.as_ref())
            .map_or(Ty::Dyn, |schema| {
                Ty::from_json_schema(schema, &format!("the output of `{}`", name.value))
            });
        let compensate = call.compensate.as_ref().map(|c| {
            if !top {
                self.error(Diagnostic::new(
                    Code::E044,
                    c.activity.span,
                    "a compensation cannot have its own `compensate`",
                ));
            }
            // A compensation runs after its step completed: it sees the step's result.
            let mark = scope.mark();
            if let Some(id) = id {
                scope.add_step(
                    id.value.clone(),
                    FieldTy {
                        ty: ty.clone(),
                        may_not_have_run: None,
                    },
                );
            }
            let compensation = self.activity(c, None, scope, false).0;
            scope.take_since(mark);
            Box::new(compensation)
        });
        (
            ir::ActivityCall {
                activity: name.value.clone(),
                args,
                task_queue,
                start_to_close_ms: o.timeout.map(|t| ms(t.value)),
                schedule_to_close_ms: o.schedule_to_close.map(|t| ms(t.value)),
                schedule_to_start_ms: o.schedule_to_start.map(|t| ms(t.value)),
                heartbeat_ms: o.heartbeat.map(|t| ms(t.value)),
                retry,
                summary,
                compensate,
            },
            ty,
        )
    }

    /// Step options over the file's `defaults`, over `stave.yaml`'s, over the manifest's.
    fn merged_options(
        &mut self,
        step: &ast::ActivityOptions,
        spec: Option<&ActivitySpec>,
    ) -> ast::ActivityOptions {
        let mut layers: Vec<ast::ActivityOptions> = vec![step.clone()];
        if let Some(d) = self.defaults {
            layers.push(d.clone());
        }
        if let Some(d) = &self.project.defaults {
            layers.push(d.clone());
        }
        if let Some(spec) = spec {
            layers.push(manifest_options(spec, step.span));
        }
        let mut out = ast::ActivityOptions {
            span: step.span,
            ..Default::default()
        };
        for layer in layers {
            out.queue = out.queue.or(layer.queue);
            out.timeout = out.timeout.or(layer.timeout);
            out.schedule_to_close = out.schedule_to_close.or(layer.schedule_to_close);
            out.schedule_to_start = out.schedule_to_start.or(layer.schedule_to_start);
            out.heartbeat = out.heartbeat.or(layer.heartbeat);
            out.retry = match (out.retry, layer.retry) {
                (None, r) => r,
                (Some(a), None) => Some(a),
                (Some(a), Some(b)) => Some(ast::Retry {
                    max_attempts: a.max_attempts.or(b.max_attempts),
                    initial_interval: a.initial_interval.or(b.initial_interval),
                    backoff: a.backoff.or(b.backoff),
                    max_interval: a.max_interval.or(b.max_interval),
                    non_retryable: if a.non_retryable.is_empty() {
                        b.non_retryable
                    } else {
                        a.non_retryable
                    },
                    span: a.span,
                }),
            };
        }
        out
    }

    fn retry(&mut self, r: &ast::Retry, spec: Option<&ActivitySpec>) -> ir::RetryPolicy {
        let max_attempts = match &r.max_attempts {
            Some(m) if m.value < 1 || m.value > u32::MAX as i64 => {
                self.error(
                    Diagnostic::new(Code::E044, m.span, "`max_attempts` must be at least 1").help(
                        "1 means no retries; leave it out for Temporal's default (unlimited)",
                    ),
                );
                0
            }
            Some(m) => m.value as u32,
            None => 0,
        };
        if let Some(b) = &r.backoff
            && !(b.value >= 1.0 && b.value.is_finite())
        {
            self.error(
                Diagnostic::new(Code::E044, b.span, "`backoff` must be at least 1.0")
                    .help("the interval is multiplied by it after each attempt: 2.0 doubles it"),
            );
        }
        if let (Some(i), Some(m)) = (&r.initial_interval, &r.max_interval)
            && m.value < i.value
        {
            self.error(
                Diagnostic::new(
                    Code::E044,
                    m.span,
                    "`max_interval` is shorter than `initial_interval`",
                )
                .with_label(i.span, "initial interval"),
            );
        }
        if let (Some(spec), Some(_)) = (spec, self.manifest) {
            for t in &r.non_retryable {
                if !spec.errors.contains(&t.value) && !self.known_errors.contains(&t.value) {
                    let mut d = Diagnostic::new(
                        Code::E037,
                        t.span,
                        format!("unknown error type `{}`", t.value),
                    )
                    .label(format!("`{}` does not raise it", spec.name));
                    d.help = Some(
                        did_you_mean(&t.value, spec.errors.iter().map(String::as_str))
                            .unwrap_or_else(|| {
                                if spec.errors.is_empty() {
                                    format!(
                                        "`{}` declares no error types in activities.json",
                                        spec.name
                                    )
                                } else {
                                    format!("`{}` raises: {}", spec.name, spec.errors.join(", "))
                                }
                            }),
                    );
                    self.error(d);
                }
            }
        }
        ir::RetryPolicy {
            initial_interval_ms: r.initial_interval.as_ref().map(|d| ms(d.value)),
            backoff: r.backoff.as_ref().map(|b| b.value),
            max_interval_ms: r.max_interval.as_ref().map(|d| ms(d.value)),
            max_attempts,
            non_retryable: r.non_retryable.iter().map(|n| n.value.clone()).collect(),
        }
    }

    /// Required fields, forbidden fields and literal types of a map input against its schema.
    fn check_input_shape(&mut self, spec: &ActivitySpec, input: &ast::Value, name: &Name) {
        let Some(schema) = &spec.input else { return };
        let ValueKind::Map(entries) = &input.kind else {
            if let Some(lit) = literal_json(input)
                && let Some(want) = schema.get("type").and_then(Json::as_str)
                && !json_type_matches(want, &lit)
            {
                self.error(Diagnostic::new(
                    Code::E031,
                    input.span,
                    format!(
                        "`{}` takes {want} input, found {}",
                        name.value,
                        json_type_name(&lit)
                    ),
                ));
            }
            return;
        };
        let props = schema.get("properties").and_then(Json::as_object);
        if let Some(req) = schema.get("required").and_then(Json::as_array) {
            let missing: Vec<&str> = req
                .iter()
                .filter_map(Json::as_str)
                .filter(|f| !entries.iter().any(|(k, _)| k.value == *f))
                .collect();
            if !missing.is_empty() {
                self.error(
                    Diagnostic::new(
                        Code::E031,
                        input.span,
                        format!(
                            "input of `{}` lacks required field{} {}",
                            name.value,
                            if missing.len() > 1 { "s" } else { "" },
                            missing
                                .iter()
                                .map(|m| format!("`{m}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                    .label("missing fields")
                    .help(format!("add {} to the input", missing.join(", "))),
                );
            }
        }
        let closed = schema.get("additionalProperties") == Some(&Json::Bool(false));
        for (key, value) in entries {
            match props.and_then(|p| p.get(&key.value)) {
                Some(prop) => {
                    if let (Some(want), Some(lit)) =
                        (prop.get("type").and_then(Json::as_str), literal_json(value))
                        && !json_type_matches(want, &lit)
                    {
                        self.error(
                            Diagnostic::new(
                                Code::E031,
                                value.span,
                                format!(
                                    "field `{}` of `{}` takes {want}, found {}",
                                    key.value,
                                    name.value,
                                    json_type_name(&lit)
                                ),
                            )
                            .label(format!("expected {want}")),
                        );
                    }
                }
                None if closed => {
                    let mut d = Diagnostic::new(
                        Code::E031,
                        key.span,
                        format!("`{}` has no input field `{}`", name.value, key.value),
                    )
                    .label("unknown field");
                    d.help =
                        props.and_then(|p| did_you_mean(&key.value, p.keys().map(String::as_str)));
                    self.error(d);
                }
                None => {}
            }
        }
    }

    fn child(&mut self, call: &ast::ChildCall, scope: &Scope) -> ir::ChildCall {
        self.check_temporal_name(&call.workflow, "workflow");
        if let (Some(_), Some(args)) = (&call.input, &call.args) {
            self.error(Diagnostic::new(
                Code::E045,
                args.span,
                "a step takes `input:` or `args:`, not both",
            ));
        }
        let args = match &call.args {
            Some(args) => {
                ir::Args::Positional(args.value.iter().map(|a| self.value(a, scope)).collect())
            }
            None => ir::Args::Input(
                call.input
                    .as_ref()
                    .map_or(ir::Value::null(), |i| self.value(i, scope)),
            ),
        };
        let task_queue = match (&call.task_queue, &call.queue) {
            (Some(tq), _) => tq.value.clone(),
            (None, Some(q)) => self.queue_task_queue(q),
            // Routed to the child's own queue when it is a workflow of this project.
            (None, None) => String::new(),
        };
        let parent_close = match call.parent_close.as_ref().map(|p| p.value.as_str()) {
            None | Some("terminate") => ir::ParentClose::Terminate,
            Some("abandon") => ir::ParentClose::Abandon,
            Some("request_cancel") => ir::ParentClose::RequestCancel,
            Some(other) => {
                let span = call
                    .parent_close
                    .as_ref()
                    .map_or(call.workflow.span, |p| p.span);
                self.error(
                    Diagnostic::new(
                        Code::E044,
                        span,
                        format!("unknown `parent_close` value `{other}`"),
                    )
                    .help("use terminate, abandon or request_cancel"),
                );
                ir::ParentClose::Terminate
            }
        };
        ir::ChildCall {
            workflow: call.workflow.value.clone(),
            args,
            workflow_id: call.workflow_id.as_ref().map(|w| self.value(w, scope)),
            task_queue,
            execution_timeout_ms: call.timeout.as_ref().map(|t| ms(t.value)),
            parent_close,
            retry: call.retry.as_ref().map(|r| self.retry(r, None)),
        }
    }
}

/// Children with no queue go to their own workflow's task queue, else the parent's.
pub(super) fn route_children(
    steps: &mut [ir::Step],
    queues: &BTreeMap<String, String>,
    changed: &mut bool,
) {
    fn go(
        steps: &mut [ir::Step],
        queues: &BTreeMap<String, String>,
        parent: &str,
        changed: &mut bool,
    ) {
        for step in steps {
            if let ir::StepKind::Child(call) = &mut step.kind
                && call.task_queue.is_empty()
            {
                call.task_queue = queues
                    .get(&call.workflow)
                    .cloned()
                    .unwrap_or_else(|| parent.to_string());
                *changed = true;
            }
            for_each_child_mut(&mut step.kind, &mut |s| go(s, queues, parent, changed));
        }
    }
    let parent = String::new();
    go(steps, queues, &parent, changed);
}

fn for_each_child_mut(kind: &mut ir::StepKind, f: &mut impl FnMut(&mut [ir::Step])) {
    match kind {
        ir::StepKind::Sequence(s) => f(s),
        ir::StepKind::If {
            then, otherwise, ..
        } => {
            f(then);
            f(otherwise);
        }
        ir::StepKind::Switch { arms, default } => {
            arms.iter_mut().for_each(|a| f(&mut a.steps));
            f(default);
        }
        ir::StepKind::Parallel { branches, .. } => {
            branches.iter_mut().for_each(|b| f(&mut b.steps))
        }
        ir::StepKind::Foreach { steps, .. } | ir::StepKind::While { steps, .. } => f(steps),
        ir::StepKind::Try { steps, catches } => {
            f(steps);
            catches.iter_mut().for_each(|c| f(&mut c.steps));
        }
        _ => {}
    }
}

fn error_ty() -> Ty {
    Ty::Object(ObjectTy {
        fields: [
            ("type", Ty::String),
            ("message", Ty::String),
            ("details", Ty::Dyn),
        ]
        .into_iter()
        .map(|(k, ty)| {
            (
                k.to_string(),
                FieldTy {
                    ty,
                    may_not_have_run: None,
                },
            )
        })
        .collect(),
        closed: true,
        origin: "the caught error".into(),
    })
}

fn manifest_options(spec: &ActivitySpec, span: Span) -> ast::ActivityOptions {
    let d = &spec.defaults;
    let dur = |s: &Option<String>| {
        s.as_deref()
            .and_then(|s| duration::parse(s).ok())
            .map(|d| Spanned::new(d, span))
    };
    ast::ActivityOptions {
        timeout: dur(&d.timeout),
        schedule_to_close: dur(&d.schedule_to_close),
        heartbeat: dur(&d.heartbeat),
        retry: d.retry.as_ref().map(|r| ast::Retry {
            max_attempts: r.max_attempts.map(|m| Spanned::new(m as i64, span)),
            initial_interval: dur(&r.initial_interval),
            backoff: r.backoff.map(|b| Spanned::new(b, span)),
            max_interval: dur(&r.max_interval),
            non_retryable: r
                .non_retryable
                .iter()
                .map(|n| Spanned::new(n.clone(), span))
                .collect(),
            span,
        }),
        span,
        ..Default::default()
    }
}

fn collect_fail_types(steps: &[ast::Step], out: &mut BTreeSet<String>) {
    for s in steps {
        match &s.kind {
            ast::StepKind::Fail { error_type, .. } => {
                if let ValueKind::Str(Template::Literal(t)) = &error_type.kind {
                    out.insert(t.clone());
                }
            }
            ast::StepKind::Block { steps, else_steps } => {
                collect_fail_types(steps, out);
                collect_fail_types(else_steps.as_deref().unwrap_or(&[]), out);
            }
            ast::StepKind::Switch { arms, default } => {
                arms.iter().for_each(|a| collect_fail_types(&a.steps, out));
                collect_fail_types(default.as_deref().unwrap_or(&[]), out);
            }
            ast::StepKind::Parallel { branches, .. } => branches
                .iter()
                .for_each(|(_, b)| collect_fail_types(b, out)),
            ast::StepKind::Foreach { steps, .. } | ast::StepKind::While { steps, .. } => {
                collect_fail_types(steps, out)
            }
            ast::StepKind::Try { steps, catches } => {
                collect_fail_types(steps, out);
                catches
                    .iter()
                    .for_each(|c| collect_fail_types(&c.steps, out));
            }
            _ => {}
        }
    }
}

fn has_expr(v: &ast::Value) -> bool {
    match &v.kind {
        ValueKind::Str(Template::Literal(_)) => false,
        ValueKind::Str(_) | ValueKind::Expr(_) => true,
        ValueKind::List(items) => items.iter().any(has_expr),
        ValueKind::Map(entries) => entries.iter().any(|(_, v)| has_expr(v)),
        _ => false,
    }
}

/// The value as JSON when it has no expression inside.
pub fn literal_json(v: &ast::Value) -> Option<Json> {
    match lower_value(v) {
        ir::Value::Literal(j) => Some(j),
        _ => None,
    }
}

fn json_type_name(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}

fn json_type_matches(want: &str, v: &Json) -> bool {
    match want {
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64(),
        "boolean" => v.is_boolean(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        "null" => v.is_null(),
        _ => true,
    }
}

/// AST value → IR value, folding literal data so both forms lower alike.
pub fn lower_value(v: &ast::Value) -> ir::Value {
    match &v.kind {
        ValueKind::Null => ir::Value::null(),
        ValueKind::Bool(b) => ir::Value::Literal(Json::Bool(*b)),
        ValueKind::Int(i) => ir::Value::Literal(Json::from(*i)),
        ValueKind::Float(f) => {
            ir::Value::Literal(serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number))
        }
        ValueKind::Str(Template::Literal(s)) => ir::Value::Literal(Json::String(s.clone())),
        ValueKind::Str(Template::Expr(e)) | ValueKind::Expr(e) => from_expr(e),
        ValueKind::Str(Template::Interp(parts)) => ir::Value::Interp(parts.clone()),
        ValueKind::List(items) => fold(ir::Value::List(items.iter().map(lower_value).collect())),
        ValueKind::Map(entries) => fold(ir::Value::Map(
            entries
                .iter()
                .map(|(k, v)| (k.value.clone(), lower_value(v)))
                .collect(),
        )),
    }
}

/// A CEL literal, list literal or constant-keyed map literal becomes IR data.
fn from_expr(e: &Expr) -> ir::Value {
    match &e.kind {
        ExprKind::Null => ir::Value::null(),
        ExprKind::Bool(b) => ir::Value::Literal(Json::Bool(*b)),
        ExprKind::Int(i) => ir::Value::Literal(Json::from(*i)),
        ExprKind::Double(f) => {
            ir::Value::Literal(serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number))
        }
        ExprKind::String(s) => ir::Value::Literal(Json::String(s.clone())),
        ExprKind::List(items) => fold(ir::Value::List(items.iter().map(from_expr).collect())),
        ExprKind::Map(entries)
            if entries
                .iter()
                .all(|(k, _)| matches!(k.kind, ExprKind::String(_))) =>
        {
            let mut keys = BTreeSet::new();
            let unique = entries
                .iter()
                .all(|(k, _)| matches!(&k.kind, ExprKind::String(s) if keys.insert(s.clone())));
            if !unique {
                return ir::Value::Expr(e.clone());
            }
            fold(ir::Value::Map(
                entries
                    .iter()
                    .map(|(k, v)| {
                        let ExprKind::String(key) = &k.kind else {
                            unreachable!("checked above")
                        };
                        (key.clone(), from_expr(v))
                    })
                    .collect(),
            ))
        }
        _ => ir::Value::Expr(e.clone()),
    }
}

fn fold(v: ir::Value) -> ir::Value {
    match v {
        ir::Value::List(items) if items.iter().all(|i| i.as_literal().is_some()) => {
            ir::Value::Literal(Json::Array(
                items
                    .into_iter()
                    .filter_map(|i| match i {
                        ir::Value::Literal(j) => Some(j),
                        _ => None,
                    })
                    .collect(),
            ))
        }
        ir::Value::Map(entries) if entries.iter().all(|(_, v)| v.as_literal().is_some()) => {
            ir::Value::Literal(Json::Object(
                entries
                    .into_iter()
                    .filter_map(|(k, v)| match v {
                        ir::Value::Literal(j) => Some((k, j)),
                        _ => None,
                    })
                    .collect(),
            ))
        }
        other => other,
    }
}

/// Checks a five-field cron expression (or `@hourly`-style shorthands).
pub fn check_cron(cron: &str) -> Result<(), String> {
    const SHORTHANDS: &[&str] = &[
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    ];
    let cron = cron.trim();
    if cron.starts_with('@') {
        return if SHORTHANDS.contains(&cron) {
            Ok(())
        } else {
            Err(format!(
                "unknown shorthand; use one of {}",
                SHORTHANDS.join(", ")
            ))
        };
    }
    let fields: Vec<&str> = cron.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!("expected 5 fields, found {}", fields.len()));
    }
    const NAMES: [&str; 5] = ["minute", "hour", "day-of-month", "month", "day-of-week"];
    const RANGES: [(u32, u32); 5] = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)];
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    for (i, field) in fields.iter().enumerate() {
        let (lo, hi) = RANGES[i];
        for part in field.split(',') {
            let (range, step) = match part.split_once('/') {
                Some((r, s)) => (r, Some(s)),
                None => (part, None),
            };
            if let Some(s) = step
                && s.parse::<u32>().map_or(true, |s| s == 0)
            {
                return Err(format!("bad step `{s}` in the {} field", NAMES[i]));
            }
            if range == "*" || range == "?" && (i == 2 || i == 4) {
                continue;
            }
            let value = |t: &str| -> Option<u32> {
                let lower = t.to_ascii_lowercase();
                if i == 3
                    && let Some(m) = MONTHS.iter().position(|m| *m == lower)
                {
                    return Some(m as u32 + 1);
                }
                if i == 4
                    && let Some(d) = DAYS.iter().position(|d| *d == lower)
                {
                    return Some(d as u32);
                }
                t.parse().ok()
            };
            let bounds: Vec<&str> = range.split('-').collect();
            if bounds.len() > 2 {
                return Err(format!("bad range `{range}` in the {} field", NAMES[i]));
            }
            for b in &bounds {
                match value(b) {
                    Some(v) if v >= lo && v <= hi => {}
                    Some(v) => {
                        return Err(format!(
                            "{v} is out of range {lo}-{hi} in the {} field",
                            NAMES[i]
                        ));
                    }
                    None => return Err(format!("`{b}` is not a value of the {} field", NAMES[i])),
                }
            }
        }
    }
    Ok(())
}
