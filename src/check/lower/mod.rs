//! AST → IR for one workflow file: the `Lowerer` walking it, and the checks every part shares.
//!
//! The walk, in the order a file is read: `workflow.rs` (the file's sections), `step.rs` (one
//! step at a time, with `scope.rs` tracking which results expressions may read), `activity.rs`
//! and `child.rs` (calls), `schema.rs` and `schedule.rs` (workflow-level settings; `cron.rs`
//! is Temporal's cron grammar), `value.rs` (value slots folded into IR data). `project.rs`
//! lowers `stave.yaml` itself.

mod activity;
mod child;
mod cron;
mod priority;
mod project;
mod schedule;
mod schema;
mod scope;
mod secrets;
mod step;
mod value;
mod workflow;

pub(super) use child::route_children;
pub(super) use project::lower_project;

use crate::diagnostics::{Code, Diagnostic, FileId, Sources, Span};
use crate::expr::{Template, TypeScope};
use crate::ir;
use crate::manifest::Manifest;
use crate::names::{ROOTS, is_ident, is_temporal_name};
use crate::project::ProjectContext;
use crate::syntax::ast::{self, Name, ValueKind};
use project::unknown_queue;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Default history length after which loops continue as new.
const CONTINUE_AS_NEW_AFTER: u64 = 10_000;

/// A duration in whole milliseconds, as the IR stores it.
fn ms(d: Duration) -> u64 {
    d.as_millis().min(u64::MAX as u128) as u64
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

/// What an editor asks of a checked file besides its diagnostics: the names an expression at
/// one place may read, and each step's result type. Recorded only on request
/// ([`lower_indexed`]).
#[derive(Debug, Clone, Default)]
pub struct Index {
    /// The value slots holding the offset asked about, with the scope their expressions see.
    /// (Only those: copying every slot's scope made each keystroke in a 200-step file cost
    /// as much again as checking it.)
    pub scopes: Vec<(Span, TypeScope)>,
    /// Each step id's result as later steps see it.
    pub results: BTreeMap<String, crate::expr::types::FieldTy>,
    /// The workflow's roots (`input`, `vars`, `workflow`), without steps.
    pub roots: TypeScope,
}

impl Index {
    /// The scope of the innermost value slot containing `offset`.
    pub fn scope_at(&self, offset: usize) -> Option<&TypeScope> {
        self.scopes
            .iter()
            .filter(|(span, _)| span.start as usize <= offset && offset <= span.end as usize)
            .min_by_key(|(span, _)| span.end - span.start)
            .map(|(_, scope)| scope)
    }

    /// The indexes of a file's workflows as one: the first answers first (its scopes win
    /// ties, its results and roots are kept).
    pub fn merge(indexes: Vec<Index>) -> Index {
        let mut merged = Index::default();
        for (i, index) in indexes.into_iter().enumerate() {
            if i == 0 {
                merged.roots = index.roots;
            }
            merged.scopes.extend(index.scopes);
            for (id, ty) in index.results {
                merged.results.entry(id).or_insert(ty);
            }
        }
        merged
    }
}

/// Like [`lower`], also recording the [`Index`] (the language server's view of the file),
/// with the scopes of the value slots holding `at`.
pub fn lower_indexed(
    ast: &ast::Workflow,
    sources: &Sources,
    project: &ProjectContext,
    at: Option<usize>,
) -> (Option<ir::Workflow>, Vec<Diagnostic>, Index) {
    let mut l = Lowerer::new(ast, sources, project);
    l.index = Some(Index::default());
    l.index_at = at;
    let wf = l.workflow(ast);
    let clean = !l.diags.iter().any(Diagnostic::is_error);
    let mut index = l.index.take().unwrap_or_default();
    index.roots = l.roots.clone();
    (wf.filter(|_| clean), l.diags, index)
}

/// The state of lowering one workflow file: what the project provides, what the file declares,
/// and the diagnostics found so far.
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
    updates: Vec<String>,
    known_errors: BTreeSet<String>,
    task_queue: String,
    defaults: Option<&'a ast::ActivityOptions>,
    roots: TypeScope,
    /// Recorded for editors only: copying scopes costs time `stave lint` does not spend.
    index: Option<Index>,
    /// The offset whose scopes the index records.
    index_at: Option<usize>,
    /// Lowering an activity's input: `secret(…)` may appear (E050 elsewhere).
    secrets_allowed: bool,
}

impl<'a> Lowerer<'a> {
    fn new(ast: &'a ast::Workflow, sources: &'a Sources, project: &'a ProjectContext) -> Self {
        let manifest = project.manifest.as_ref();
        let mut known_errors: BTreeSet<String> = crate::ir::errors::RAISED_BY_STAVE
            .iter()
            .map(|s| s.to_string())
            .collect();
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
            updates: ast.updates.iter().map(|u| u.name.value.clone()).collect(),
            known_errors,
            task_queue: String::new(),
            defaults: ast.defaults.as_ref(),
            roots: TypeScope::new(),
            index: None,
            index_at: None,
            secrets_allowed: false,
        }
    }

    /// Records the scope a value slot's expressions see (only when indexing).
    fn record_scope(&mut self, span: Span, scope: &TypeScope) {
        if let (Some(index), Some(at)) = (&mut self.index, self.index_at)
            && span.start as usize <= at
            && at <= span.end as usize
        {
            index.scopes.push((span, scope.clone()));
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
        } else if ROOTS.contains(&name.value.as_str()) || name.value == "err" && what == "variable"
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
}

/// Adds the error types that `fail` steps raise with a literal type: `catch` may name them.
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
