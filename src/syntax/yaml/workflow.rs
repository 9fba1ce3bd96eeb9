//! A workflow file's top-level keys → [`File`]: one workflow at the top, or a `workflows:`
//! list, and the `fragments:` they share; the steps are read by `steps`.
//!
//! Name, queue, timeout, input schema, state, defaults, signals, queries, search attributes,
//! memo, output, schedules.

use super::keys::{
    FILE_KEYS, LISTED_WORKFLOW_KEYS, OPTION_KEYS, SCHEDULE_KEYS, SIGNAL_KEYS, UPDATE_KEYS,
    WORKFLOW_KEYS,
};
use super::{Cx, Fields};
use crate::diagnostics::{Code, Diagnostic, Span, Spanned};
use crate::syntax::ast::*;
use crate::syntax::yaml::node::{Node, NodeKind};

impl Cx {
    pub(super) fn file(&mut self, root: &Node) -> Option<File> {
        let NodeKind::Map(entries) = &root.kind else {
            self.wrong(root, "a mapping", "a workflow file");
            return None;
        };
        let listed = entries.iter().any(|(k, _)| k.as_str() == Some("workflows"));
        let (f, workflows) = if listed {
            let f = self.fields(root, "a file with `workflows:`", FILE_KEYS)?;
            let workflows: Vec<Workflow> = f
                .get("workflows")
                .map(|n| {
                    self.list(n, "`workflows`")
                        .iter()
                        .filter_map(|w| {
                            let entry = self.fields(w, "a workflow", LISTED_WORKFLOW_KEYS)?;
                            self.workflow(&entry, w)
                        })
                        .collect()
                })
                .unwrap_or_default();
            if workflows.is_empty() {
                let span = f.get("workflows").map_or(root.span, |n| n.span);
                self.error(
                    Diagnostic::new(Code::E006, span, "`workflows:` lists no workflow")
                        .help("add `- workflow: NAME` with its `steps:`"),
                );
            }
            (f, workflows)
        } else {
            let f = self.fields(root, "a workflow file", WORKFLOW_KEYS)?;
            let workflow = self.workflow(&f, root);
            (f, workflow.into_iter().collect())
        };
        let version = f.get("stave").and_then(|n| self.int(n, "`stave`"));
        let fragments = f
            .get("fragments")
            .map(|n| {
                self.map_entries(n, "`fragments`")
                    .into_iter()
                    .map(|(name, body)| Fragment {
                        span: Span::new(
                            self.file,
                            name.span.start as usize,
                            body.span.end as usize,
                        ),
                        steps: self.steps(body),
                        name,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let workflows = workflows
            .into_iter()
            .map(|mut w| {
                w.version = version.clone();
                w
            })
            .collect();
        Some(File {
            file: self.file,
            span: root.span,
            version,
            workflows,
            fragments,
        })
    }

    /// One workflow: the top of a one-workflow file, or an entry of `workflows:`.
    fn workflow(&mut self, f: &Fields<'_>, root: &Node) -> Option<Workflow> {
        let name = match f.get("workflow") {
            Some(n) => self.string(n, "`workflow`")?,
            None => {
                self.error(
                    Diagnostic::new(
                        Code::E006,
                        Span::new(
                            self.file,
                            root.span.start as usize,
                            root.span.start as usize,
                        ),
                        "the workflow has no name",
                    )
                    .help("add `workflow: my-workflow` (its Temporal workflow type)"),
                );
                Spanned::new(String::new(), root.span)
            }
        };
        if !f.has("steps") {
            self.error(
                Diagnostic::new(Code::E006, name.span, "the workflow has no `steps:`")
                    .help("add `steps:` with the list of steps to run"),
            );
        }
        let steps = f.get("steps").map(|n| self.steps(n)).unwrap_or_default();
        let signals = f
            .get("signals")
            .map(|n| {
                self.map_entries(n, "`signals`")
                    .into_iter()
                    .map(|(name, v)| {
                        let set = match &v.kind {
                            NodeKind::Null => Vec::new(),
                            _ => self
                                .fields(v, "a signal handler", SIGNAL_KEYS)
                                .and_then(|h| h.get("set"))
                                .map(|s| self.named_values(s, "`set`"))
                                .unwrap_or_default(),
                        };
                        Signal {
                            name,
                            params: Vec::new(),
                            set,
                            span: v.span,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let updates = f
            .get("updates")
            .map(|n| {
                self.map_entries(n, "`updates`")
                    .into_iter()
                    .map(|(name, v)| self.update(name, v))
                    .collect()
            })
            .unwrap_or_default();
        let schedules = f
            .get("schedules")
            .map(|n| {
                self.list(n, "`schedules`")
                    .iter()
                    .filter_map(|s| self.schedule(s))
                    .collect()
            })
            .unwrap_or_default();
        Some(Workflow {
            file: self.file,
            span: root.span,
            version: None,
            name,
            description: f
                .get("description")
                .and_then(|n| self.string(n, "`description`")),
            queue: f.get("queue").and_then(|n| self.string(n, "`queue`")),
            timeout: f
                .get("timeout")
                .and_then(|n| self.duration(n, "the workflow `timeout`")),
            input: f.get("input").map(|n| Spanned::new(n.to_json(), n.span)),
            vars: f
                .get("vars")
                .map(|n| self.named_values(n, "`vars`"))
                .unwrap_or_default(),
            defaults: f.get("defaults").and_then(|n| {
                let d = self.fields(n, "`defaults`", OPTION_KEYS)?;
                Some(self.options_of(&d))
            }),
            signals,
            updates,
            queries: f
                .get("queries")
                .map(|n| self.named_values(n, "`queries`"))
                .unwrap_or_default(),
            steps,
            output: f.get("output").map(|n| self.value(n)),
            schedules,
            search_attributes: f
                .get("search_attributes")
                .map(|n| self.named_values(n, "`search_attributes`"))
                .unwrap_or_default(),
            memo: f
                .get("memo")
                .map(|n| self.named_values(n, "`memo`"))
                .unwrap_or_default(),
            continue_as_new_after: f.get("continue_as_new_after").and_then(|n| {
                self.int(n, "`continue_as_new_after`")
                    .map(|i| Spanned::new(i.value.max(0) as u64, i.span))
            }),
            priority: f.get("priority").map(|n| self.value(n)),
            expose_status: f
                .get("expose_status")
                .and_then(|n| self.bool(n, "`expose_status`")),
        })
    }

    fn update(&mut self, name: Name, node: &Node) -> Update {
        let mut update = Update {
            name,
            params: Vec::new(),
            validate: None,
            message: None,
            set: Vec::new(),
            steps: Vec::new(),
            result: None,
            span: node.span,
        };
        if matches!(node.kind, NodeKind::Null) {
            return update;
        }
        if let Some(f) = self.fields(node, "an update handler", UPDATE_KEYS) {
            update.validate = f.get("validate").map(|n| self.value(n));
            update.message = f.get("message").map(|n| self.value(n));
            update.set = f
                .get("set")
                .map(|s| self.named_values(s, "`set`"))
                .unwrap_or_default();
            update.steps = f.get("steps").map(|n| self.steps(n)).unwrap_or_default();
            update.result = f.get("result").map(|n| self.value(n));
        }
        update.normalise();
        update
    }

    fn schedule(&mut self, node: &Node) -> Option<Schedule> {
        let f = self.fields(node, "a schedule", SCHEDULE_KEYS)?;
        let id = match f.get("id") {
            Some(n) => self.string(n, "a schedule `id`")?,
            None => {
                self.error(
                    Diagnostic::new(Code::E006, node.span, "a schedule needs an `id`")
                        .help("add `id: nightly` (unique in the project)"),
                );
                return None;
            }
        };
        Some(Schedule {
            id,
            cron: f.get("cron").and_then(|n| self.string(n, "`cron`")),
            every: f.get("every").and_then(|n| self.duration(n, "`every`")),
            timezone: f.get("timezone").and_then(|n| self.string(n, "`timezone`")),
            overlap: f.get("overlap").and_then(|n| self.string(n, "`overlap`")),
            paused: f.get("paused").and_then(|n| self.bool(n, "`paused`")),
            input: f.get("input").map(|n| self.value(n)),
            span: node.span,
        })
    }
}
