//! What expressions may read at one point of the workflow: the roots and the visible step results.

use crate::expr::types::{FieldTy, ObjectTy, Ran};
use crate::expr::{Ty, TypeScope};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What is visible to expressions at one point of the workflow. One scope is threaded through
/// the whole walk and updated in place: nested blocks add their ids and take them back out
/// (`mark`/`take_since`), loops and catches bind a name and restore it. Copying the visible
/// steps per block or per expression made lint quadratic in the number of steps.
pub(super) struct Scope {
    /// The roots for the expression checker; `steps` is an object of the visible results.
    pub(super) types: TypeScope,
    /// Step ids added, in order.
    added: Vec<String>,
    /// Inside a `catch` clause (rethrow allowed).
    pub(super) in_catch: bool,
}

impl Scope {
    pub(super) fn new(roots: &TypeScope) -> Scope {
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
    pub(super) fn steps(&self) -> Vec<(String, FieldTy)> {
        match self.types.get("steps") {
            Some(Ty::Object(o)) => o
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            _ => Vec::new(),
        }
    }

    pub(super) fn add_step(&mut self, id: String, field: FieldTy) {
        if let Some(o) = self.steps_mut() {
            o.fields.insert(id.clone(), field);
        }
        self.added.push(id);
    }

    pub(super) fn mark(&self) -> usize {
        self.added.len()
    }

    /// Removes the ids added since `mark` and returns them.
    pub(super) fn take_since(&mut self, mark: usize) -> BTreeMap<String, FieldTy> {
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

    /// Starts lowering what a condition reading steps `refs` decides (a guarded step, a
    /// branch, a loop body): there, a step the condition reads that never ran on the way
    /// counts only as "may not have run" — the condition may test it for null, and then the
    /// reads it governs are never evaluated. Returns what `end_condition` restores.
    pub(super) fn condition_on(
        &mut self,
        refs: impl IntoIterator<Item = String>,
    ) -> Vec<(String, FieldTy)> {
        let mut saved = Vec::new();
        if let Some(o) = self.steps_mut() {
            for id in refs {
                if let Some(field) = o.fields.get_mut(&id)
                    && matches!(field.ran, Ran::Never(_))
                {
                    saved.push((id.clone(), field.clone()));
                    field.ran = std::mem::take(&mut field.ran).at_most_maybe(&id);
                }
            }
        }
        saved
    }

    /// Ends what `condition_on` started. The ids it weakened were visible before the
    /// condition and stay visible until the block around it ends, so they are still here.
    pub(super) fn end_condition(&mut self, saved: Vec<(String, FieldTy)>) {
        if let Some(o) = self.steps_mut() {
            for (id, field) in saved {
                o.fields.insert(id, field);
            }
        }
    }

    pub(super) fn bind_local(&mut self, name: &str, ty: Ty) -> Option<Arc<Ty>> {
        self.types.replace(name, Some(Arc::new(ty)))
    }

    pub(super) fn restore_local(&mut self, name: &str, previous: Option<Arc<Ty>>) {
        self.types.replace(name, previous);
    }
}
