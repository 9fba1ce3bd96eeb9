//! What expressions may read at one point of the workflow: the roots and the visible step results.

use crate::expr::types::{FieldTy, ObjectTy};
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

    pub(super) fn bind_local(&mut self, name: &str, ty: Ty) -> Option<Arc<Ty>> {
        self.types.replace(name, Some(Arc::new(ty)))
    }

    pub(super) fn restore_local(&mut self, name: &str, previous: Option<Arc<Ty>>) {
        self.types.replace(name, previous);
    }
}
