//! The workflow definitions a worker gives new runs, by task queue; replaceable while it serves.
//!
//! Only runs seen for the first time without a pin read it: runs in flight keep the program
//! they were pinned to (cached, or from the version store and their memo), so `stave dev` can
//! swap in a reloaded project without restarting the core workers.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use crate::ir::Workflow;

type ByQueue = BTreeMap<String, BTreeMap<String, Arc<Workflow>>>;

/// A shared, swappable map task queue → workflow type → current definition. Cloning shares it.
#[derive(Clone, Default)]
pub struct Definitions {
    by_queue: Arc<RwLock<ByQueue>>,
}

impl std::fmt::Debug for Definitions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Definitions")
            .field("by_queue", &self.snapshot())
            .finish()
    }
}

impl Definitions {
    /// Each workflow served on its own `task_queue`.
    pub fn new(workflows: impl IntoIterator<Item = Arc<Workflow>>) -> Definitions {
        let definitions = Definitions::default();
        definitions.replace(workflows);
        definitions
    }

    /// Every workflow served on `task_queue`, whatever queue it names (`stave replay`).
    pub fn on_one_queue(
        task_queue: &str,
        workflows: impl IntoIterator<Item = Arc<Workflow>>,
    ) -> Definitions {
        let one = workflows.into_iter().map(|w| (w.name.clone(), w)).collect();
        Definitions {
            by_queue: Arc::new(RwLock::new(BTreeMap::from([(task_queue.to_owned(), one)]))),
        }
    }

    /// Serves `workflows` to new runs from now on, each on its own task queue; what was
    /// served before and is not among them is no longer given to new runs.
    pub fn replace(&self, workflows: impl IntoIterator<Item = Arc<Workflow>>) {
        let mut next = ByQueue::new();
        for workflow in workflows {
            next.entry(workflow.task_queue.clone())
                .or_default()
                .insert(workflow.name.clone(), workflow);
        }
        *self.by_queue.write().unwrap_or_else(|e| e.into_inner()) = next;
    }

    /// The current definition of `workflow_type` on `task_queue`.
    pub fn get(&self, task_queue: &str, workflow_type: &str) -> Option<Arc<Workflow>> {
        let by_queue = self.by_queue.read().unwrap_or_else(|e| e.into_inner());
        by_queue.get(task_queue)?.get(workflow_type).cloned()
    }

    /// The workflow types served on `task_queue`, sorted.
    pub fn names(&self, task_queue: &str) -> Vec<String> {
        let by_queue = self.by_queue.read().unwrap_or_else(|e| e.into_inner());
        by_queue
            .get(task_queue)
            .map(|w| w.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn snapshot(&self) -> BTreeMap<String, Vec<String>> {
        let by_queue = self.by_queue.read().unwrap_or_else(|e| e.into_inner());
        by_queue
            .iter()
            .map(|(q, w)| (q.clone(), w.keys().cloned().collect()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::versions::tests::workflow;

    #[test]
    fn a_replacement_is_seen_by_every_clone_and_drops_what_it_lacks() {
        let (greet, bye) = (workflow("greet", "hi"), workflow("bye", "ciao"));
        let queue = greet.task_queue.clone();
        let served = Definitions::new([greet.clone(), bye]);
        let reader = served.clone();
        assert_eq!(reader.names(&queue), ["bye", "greet"]);

        let greet_v2 = workflow("greet", "hello");
        served.replace([greet_v2.clone()]);
        assert_eq!(reader.get(&queue, "greet").unwrap().hash, greet_v2.hash);
        assert_ne!(greet_v2.hash, greet.hash);
        assert!(reader.get(&queue, "bye").is_none());
    }
}
