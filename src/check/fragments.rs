//! `use: NAME` → the steps of fragment NAME: each workflow of a file expanded before lowering.
//!
//! A fragment's steps are copied where `use` names it (in a block when the `use` step has an
//! `id` or `if`), so every workflow's IR is self-contained: the interpreter and the pins know
//! nothing of fragments, and editing a fragment changes the programs of exactly the workflows
//! that use it. The copies keep the fragment's spans, so a diagnostic points into the
//! fragment; [`Expansion::attribute`] adds where the workflow inserted it. Unknown fragments
//! (E052) and fragments that use themselves (E053) are reported here.

use crate::diagnostics::{Code, Diagnostic, Label, Span, did_you_mean};
use crate::names::is_temporal_name;
use crate::syntax::ast::{self, Name, Step, StepKind};
use std::collections::BTreeSet;

/// One workflow with its fragments inserted, and where they came from.
pub(super) struct Expansion {
    pub workflow: ast::Workflow,
    /// For each fragment copied in: its span, and the `use` step of the workflow itself that
    /// brought it in (directly or through other fragments).
    inserted: Vec<(Span, Name)>,
}

impl Expansion {
    /// Adds to each diagnostic inside a fragment the `use` that inserted it in this workflow:
    /// the same fragment may be right in one workflow and wrong in another.
    pub fn attribute(&self, diagnostics: &mut [Diagnostic]) {
        for d in diagnostics {
            let at = d.span();
            let mut sites: Vec<&Name> = Vec::new();
            for (fragment, site) in &self.inserted {
                if contains(*fragment, at) && !sites.iter().any(|s| s.span == site.span) {
                    sites.push(site);
                }
            }
            for site in sites {
                let message = format!(
                    "in workflow `{}`, inserted by `use {}`",
                    self.workflow.name.value, site.value
                );
                d.labels.push(Label {
                    span: site.span,
                    message,
                });
            }
        }
    }
}

/// Expands every workflow of `file`; every fragment is also checked on its own, so that an
/// unknown or recursive `use` in a fragment no workflow uses yet is reported too.
pub(super) fn expand(file: &ast::File, diagnostics: &mut Vec<Diagnostic>) -> Vec<Expansion> {
    let mut cycles = BTreeSet::new();
    for fragment in &file.fragments {
        if !is_temporal_name(&fragment.name.value) {
            diagnostics.push(
                Diagnostic::new(
                    Code::E007,
                    fragment.name.span,
                    format!("invalid fragment name `{}`", fragment.name.value),
                )
                .label("not a valid name")
                .help(
                    "fragment names are `[A-Za-z_][A-Za-z0-9_.-]*`, as the text form writes them",
                ),
            );
        }
        let mut x = Expander {
            file,
            diagnostics: &mut *diagnostics,
            cycles: &mut cycles,
            stack: vec![fragment.name.value.clone()],
            inserted: Vec::new(),
        };
        x.steps(&fragment.steps, None);
    }
    file.workflows
        .iter()
        .map(|w| {
            let mut x = Expander {
                file,
                diagnostics: &mut *diagnostics,
                cycles: &mut cycles,
                stack: Vec::new(),
                inserted: Vec::new(),
            };
            let mut workflow = w.clone();
            workflow.steps = x.steps(&w.steps, None);
            for u in &mut workflow.updates {
                u.steps = x.steps(&u.steps, None);
            }
            Expansion {
                workflow,
                inserted: x.inserted,
            }
        })
        .collect()
}

struct Expander<'a> {
    file: &'a ast::File,
    diagnostics: &'a mut Vec<Diagnostic>,
    /// The cycles reported (their fragments, sorted): each once, whichever fragment it was
    /// found from.
    cycles: &'a mut BTreeSet<Vec<String>>,
    /// The fragments being expanded, outermost first: a `use` of one of them is a cycle.
    stack: Vec<String>,
    inserted: Vec<(Span, Name)>,
}

impl Expander<'_> {
    /// `site`: the workflow's own `use` step this expansion is inside, if any.
    fn steps(&mut self, steps: &[Step], site: Option<&Name>) -> Vec<Step> {
        let mut out = Vec::with_capacity(steps.len());
        for step in steps {
            let StepKind::Use(name) = &step.kind else {
                out.push(self.step(step, site));
                continue;
            };
            let Some(inserted) = self.fragment(name, site) else {
                continue;
            };
            if step.id.is_none() && step.when.is_none() {
                out.extend(inserted);
            } else {
                out.push(Step {
                    id: step.id.clone(),
                    when: step.when.clone(),
                    kind: StepKind::Block {
                        steps: inserted,
                        else_steps: None,
                    },
                    span: step.span,
                });
            }
        }
        out
    }

    /// The steps of the fragment `name` names, expanded; None (after an error) when there is
    /// no such fragment or it is being expanded already.
    fn fragment(&mut self, name: &Name, site: Option<&Name>) -> Option<Vec<Step>> {
        let Some(fragment) = self.file.fragment(&name.value) else {
            let known = self.file.fragments.iter().map(|f| f.name.value.as_str());
            let help = did_you_mean(&name.value, known).unwrap_or_else(|| {
                if self.file.fragments.is_empty() {
                    "this file defines no fragments: add `fragments:` (text form `fragment NAME { … }`)".into()
                } else {
                    let names: Vec<String> = self
                        .file
                        .fragments
                        .iter()
                        .map(|f| format!("`{}`", f.name.value))
                        .collect();
                    format!("the file's fragments are {}", names.join(", "))
                }
            });
            self.diagnostics.push(
                Diagnostic::new(
                    Code::E052,
                    name.span,
                    format!("unknown fragment `{}`", name.value),
                )
                .label("no fragment of this name")
                .help(help),
            );
            return None;
        };
        if let Some(start) = self.stack.iter().position(|f| *f == name.value) {
            let mut cycle = self.stack[start..].to_vec();
            let mut members = cycle.clone();
            members.sort();
            cycle.push(name.value.clone());
            if !self.cycles.insert(members) {
                return None;
            }
            self.diagnostics.push(
                Diagnostic::new(
                    Code::E053,
                    name.span,
                    format!(
                        "fragment `{}` uses itself: {}",
                        name.value,
                        cycle.join(" → ")
                    ),
                )
                .label("this `use` closes the cycle")
                .help("a fragment is copied where it is used, so it cannot contain itself; move the repeated steps into a loop (`while`, `foreach`)"),
            );
            return None;
        }
        let site = site.unwrap_or(name);
        self.inserted.push((fragment.span, site.clone()));
        self.stack.push(name.value.clone());
        let steps = self.steps(&fragment.steps, Some(site));
        self.stack.pop();
        Some(steps)
    }

    /// A step with the `use` steps of its nested blocks expanded.
    fn step(&mut self, step: &Step, site: Option<&Name>) -> Step {
        let mut step = step.clone();
        let mut body = |steps: &mut Vec<Step>| *steps = self.steps(steps, site);
        match &mut step.kind {
            StepKind::Block { steps, else_steps } => {
                body(steps);
                if let Some(e) = else_steps {
                    body(e);
                }
            }
            StepKind::Switch { arms, default } => {
                for arm in arms {
                    body(&mut arm.steps);
                }
                if let Some(d) = default {
                    body(d);
                }
            }
            StepKind::Parallel { branches, .. } => {
                for (_, b) in branches {
                    body(b);
                }
            }
            StepKind::Foreach { steps, .. } | StepKind::While { steps, .. } => body(steps),
            StepKind::Try { steps, catches } => {
                body(steps);
                for c in catches {
                    body(&mut c.steps);
                }
            }
            StepKind::Activity(_)
            | StepKind::Workflow(_)
            | StepKind::Wait { .. }
            | StepKind::Sleep(_)
            | StepKind::Set(_)
            | StepKind::Fail { .. }
            | StepKind::Return(_)
            | StepKind::Rethrow
            | StepKind::Use(_) => {}
        }
        step
    }
}

fn contains(outer: Span, inner: Span) -> bool {
    outer.file == inner.file && outer.start <= inner.start && inner.end <= outer.end
}
