//! The workflow's sections: version, name and queue, input, vars, signals, steps, queries,
//! output, schedules, search attributes and memo.

use super::scope::Scope;
use super::{CONTINUE_AS_NEW_AFTER, Lowerer, ms};
use crate::diagnostics::{Code, Diagnostic, Spanned, did_you_mean, list_names};
use crate::expr::Ty;
use crate::expr::types::{FieldTy, ObjectTy};
use crate::ir;
use crate::syntax::ast::{self, Name};
use std::collections::BTreeSet;

impl Lowerer<'_> {
    pub(super) fn workflow(&mut self, ast: &ast::Workflow) -> Option<ir::Workflow> {
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
                        (f.to_string(), FieldTy::new(ty))
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
                    .map(|v| (v.clone(), FieldTy::new(Ty::Dyn)))
                    .collect(),
                closed: true,
                origin: "the workflow's vars".into(),
            }),
        );

        // Variables: initial values are evaluated before any step runs.
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
            // Parameters are read as `signal.NAME` already; bound here, they are listed and
            // suggested when a name is unknown.
            for p in &s.params {
                scope.bind_local(&p.value, Ty::Dyn);
            }
            let set = self.assignments(&s.set, &scope);
            signals.push(ir::SignalHandler {
                name: s.name.value.clone(),
                set,
            });
        }

        let mut scope = Scope::new(&self.roots);
        let steps = self.block(&ast.steps, &mut scope);

        // Queries and output see every top-level step. A query may run at any point, before a
        // step completes or between a step and the `fail` after it: every step may not have run.
        let mut query_scope = Scope::new(&self.roots);
        for (id, mut field) in scope.steps() {
            field.ran = field.ran.at_most_maybe(&id);
            query_scope.add_step(id, field);
        }
        let mut queries = Vec::new();
        for (name, value) in &ast.queries {
            self.check_temporal_name(name, "query");
            queries.push((name.value.clone(), self.value(value, &query_scope)));
        }
        let output = ast.output.as_ref().map(|o| self.value(o, &scope));
        // After the main body, so that handler steps never shift its step indices.
        let updates = self.updates(ast, &query_scope);

        let schedules = ast
            .schedules
            .iter()
            .filter_map(|s| self.schedule(s, ast.input.as_ref().map(|i| &i.value)))
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
        // Evaluated by the starter, which knows the input and the workflow's id and type.
        let priority = ast.priority.as_ref().map(|p| self.priority(p, &empty));

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
            updates,
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
            expose_status: ast.expose_status.as_ref().is_some_and(|b| b.value),
            step_count: self.next_index,
            priority,
        };
        Some(wf)
    }

    /// `updates:`: each like a signal handler, with `update` (the payload) in scope of the
    /// validator, its message, `set`, `steps` and `result`. A name may not be a signal too
    /// (E047): a `wait` on it would not know which to take. A handler may run at any point of
    /// the main body, so its expressions see the main body's steps as queries do (`after`:
    /// each may not have run); its own steps are visible to the steps after them and `result`.
    fn updates(&mut self, ast: &ast::Workflow, after: &Scope) -> Vec<ir::UpdateHandler> {
        let mut updates = Vec::new();
        for u in &ast.updates {
            self.check_temporal_name(&u.name, "update");
            if let Some(signal) = ast.signals.iter().find(|s| s.name.value == u.name.value) {
                self.error(
                    Diagnostic::new(
                        Code::E047,
                        u.name.span,
                        format!("`{}` is declared as a signal and as an update", u.name.value),
                    )
                    .label("declared as an update here")
                    .with_label(signal.name.span, "and as a signal here")
                    .help("rename one of them: a `wait` on the name must know which message it consumes"),
                );
            }
            let mut scope = Scope::new(&self.roots);
            for (id, field) in after.steps() {
                scope.add_step(id, field);
            }
            scope.bind_local("update", Ty::Dyn);
            for p in &u.params {
                scope.bind_local(&p.value, Ty::Dyn);
            }
            if u.message.is_some() && u.validate.is_none() {
                self.error(
                    Diagnostic::new(
                        Code::E006,
                        u.span,
                        format!(
                            "update `{}` has a rejection `message` but no `validate`",
                            u.name.value
                        ),
                    )
                    .help("add `validate: \"${ … }\"`, the condition the update must meet"),
                );
            }
            let validate = u.validate.as_ref().map(|v| ir::Validator {
                cond: self.condition(v, &scope, "an update validator"),
                message: u.message.as_ref().map(|m| self.value(m, &scope)),
            });
            let set = self.assignments(&u.set, &scope);
            let mark = scope.mark();
            let steps = self.block(&u.steps, &mut scope);
            let result = u.result.as_ref().map(|r| self.value(r, &scope));
            scope.take_since(mark);
            updates.push(ir::UpdateHandler {
                name: u.name.value.clone(),
                validate,
                set,
                steps,
                result,
            });
        }
        updates
    }

    /// `set:` of a signal handler or a step: each name must be a declared variable.
    pub(super) fn assignments(
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
                let mut vars: Vec<&str> = self.vars.iter().map(String::as_str).collect();
                vars.sort_unstable();
                let vars = vars.into_iter();
                d.help = Some(
                    match (did_you_mean(&name.value, vars.clone()), list_names(vars)) {
                        (Some(hint), Some(listed)) => format!("{hint} the variables are {listed}"),
                        (None, Some(listed)) => format!(
                            "the variables are {listed}; declare `{}` under `vars:` (`var {} = …` in the text form)",
                            name.value, name.value
                        ),
                        (_, None) => format!(
                            "declare it under `vars:` with its initial value, e.g. `vars: {{ {}: null }}`",
                            name.value
                        ),
                    },
                );
                self.error(d);
            }
            out.push((name.value.clone(), self.value(value, scope)));
        }
        out
    }
}
