//! `stave dev` reloads on save: watch the project's files, check them, serve what is clean.
//!
//! Polling, not file-system events: every [`POLL`] the files the last load read (and any new
//! workflow file) are hashed; a change is acted on once they stay the same for one more poll,
//! so an editor's burst of writes is one reload. Reloading only swaps the definitions new
//! runs get ([`Definitions`]); runs in flight keep the version they are pinned to.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::super::common::print_errors;
use crate::check::{self, ProjectLoad};
use crate::ir::{Bundle, Workflow};
use crate::runtime::versions::{Pin, VersionStore};
use crate::runtime::worker::Definitions;

/// How often the project's files are looked at.
pub const POLL: Duration = Duration::from_millis(300);

/// What the running worker serves and can serve without a restart.
pub struct Reloader {
    pub dir: PathBuf,
    pub definitions: Definitions,
    pub store: Arc<VersionStore>,
    /// Task queues whose workflow tasks the running worker polls.
    pub polled: BTreeSet<String>,
    /// The definitions new runs get now: the last version of the project without errors.
    pub last_good: Bundle,
}

impl Reloader {
    /// Watches the project until the future is dropped (`stave dev` stops).
    pub async fn watch(mut self) {
        let mut watched = Watched::new(&self.dir);
        let mut quiet = true;
        let mut seen: Option<Fingerprint> = None;
        loop {
            let Some(load) = self.load().await else {
                tokio::time::sleep(POLL).await;
                continue;
            };
            let now_watched = Watched::of(&self.dir, &load);
            if now_watched != watched || seen.is_none() {
                watched = now_watched;
                seen = Some(watched.fingerprint().await);
            }
            self.apply(load, quiet).await;
            quiet = false;
            seen = Some(self.next_change(&watched, seen.unwrap_or_default()).await);
        }
    }

    /// Loads and checks the project off the async threads; None if that panicked (a bug).
    async fn load(&self) -> Option<ProjectLoad> {
        let dir = self.dir.clone();
        match tokio::task::spawn_blocking(move || check::load_project(&dir)).await {
            Ok(load) => Some(load),
            Err(e) => {
                eprintln!("stave dev: checking the project failed: {e}; save a file to retry");
                None
            }
        }
    }

    /// Waits until the watched files differ from `seen`, then until they stay the same for
    /// one poll (a burst of saves is one reload); returns what they settled on.
    async fn next_change(&self, watched: &Watched, seen: Fingerprint) -> Fingerprint {
        let mut last = seen.clone();
        loop {
            tokio::time::sleep(POLL).await;
            let now = watched.fingerprint().await;
            if now == last && now != seen {
                return now;
            }
            last = now;
        }
    }

    /// Serves `load` if it has no error; otherwise prints its errors and keeps what is served.
    async fn apply(&mut self, load: ProjectLoad, quiet: bool) {
        let Some(bundle) = load.bundle.clone().filter(|_| !load.has_errors()) else {
            print_errors(&load);
            let errors = load.diagnostics.iter().filter(|d| d.is_error()).count();
            eprintln!(
                "stave dev: {errors} error{} (above); still serving the last good version — fix and save to reload",
                if errors == 1 { "" } else { "s" }
            );
            return;
        };
        let changes = changes(&self.last_good, &bundle);
        if changes.is_empty() {
            if !quiet {
                eprintln!("stave dev: saved; no workflow changed");
            }
            self.warn_restart_needed(&bundle);
            self.last_good = bundle;
            return;
        }
        let store = self.store.clone();
        let workflows: Vec<Arc<Workflow>> =
            bundle.workflows.iter().cloned().map(Arc::new).collect();
        let recorded = {
            let workflows = workflows.clone();
            tokio::task::spawn_blocking(move || {
                workflows
                    .iter()
                    .try_for_each(|w| store.record(w).map_err(|e| e.to_string()))
            })
            .await
            .unwrap_or_else(|e| Err(e.to_string()))
        };
        if let Err(e) = recorded {
            eprintln!(
                "stave dev: cannot record the new versions: {e}; still serving the last good version"
            );
            return;
        }
        self.definitions.replace(workflows);
        eprintln!("stave dev: reloaded — new runs get these; runs in flight keep their version");
        let width = changes.iter().map(|c| c.name.len()).max().unwrap_or(0);
        for change in &changes {
            eprintln!(
                "  {:<8} {:<width$}  {}",
                change.kind, change.name, change.hashes
            );
        }
        self.warn_restart_needed(&bundle);
        self.last_good = bundle;
    }

    fn warn_restart_needed(&self, bundle: &Bundle) {
        for line in self.restart_needed(bundle) {
            eprintln!("stave dev: restart needed: {line}");
        }
    }

    /// What the running core workers cannot pick up: workflows on task queues they do not
    /// poll, and changed queue limits.
    fn restart_needed(&self, bundle: &Bundle) -> Vec<String> {
        let mut lines: Vec<String> = bundle
            .workflows
            .iter()
            .filter(|w| !self.polled.contains(&w.task_queue))
            .map(|w| {
                format!(
                    "workflow `{}` runs on task queue `{}`, which this `stave dev` does not poll; restart `stave dev` to serve it",
                    w.name, w.task_queue
                )
            })
            .collect();
        if bundle.project.queues != self.last_good.project.queues {
            lines.push(
                "the queues of stave.yaml changed; restart `stave dev` for new limits and task queues"
                    .to_owned(),
            );
        }
        lines
    }
}

/// One workflow's change between two versions of the project.
#[derive(Debug, PartialEq, Eq)]
struct Change {
    kind: &'static str,
    name: String,
    hashes: String,
}

/// Added, changed and removed workflows by name, with short content hashes.
fn changes(before: &Bundle, after: &Bundle) -> Vec<Change> {
    let by_name = |b: &Bundle| -> BTreeMap<String, String> {
        b.workflows
            .iter()
            .map(|w| (w.name.clone(), Pin::of(w).short().to_owned()))
            .collect()
    };
    let (before, after) = (by_name(before), by_name(after));
    let mut out = Vec::new();
    for (name, hash) in &after {
        match before.get(name) {
            None => out.push(Change {
                kind: "added",
                name: name.clone(),
                hashes: hash.clone(),
            }),
            Some(old) if old != hash => out.push(Change {
                kind: "changed",
                name: name.clone(),
                hashes: format!("{old} → {hash}"),
            }),
            Some(_) => {}
        }
    }
    for (name, hash) in &before {
        if !after.contains_key(name) {
            out.push(Change {
                kind: "removed",
                name: name.clone(),
                hashes: format!("was {hash}"),
            });
        }
    }
    out
}

/// The project's files as a reload sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Watched {
    /// Every file the last load read: stave.yaml, the manifest, each workflow file.
    files: BTreeSet<PathBuf>,
    /// Where workflow files are looked for (a new file there is a change).
    roots: Vec<PathBuf>,
}

/// Each watched file's path and a hash of its contents (None: unreadable or gone).
type Fingerprint = BTreeMap<PathBuf, Option<u64>>;

impl Watched {
    fn new(dir: &Path) -> Watched {
        Watched {
            files: BTreeSet::from([dir.join(check::PROJECT_FILE)]),
            roots: vec![dir.to_path_buf()],
        }
    }

    fn of(dir: &Path, load: &ProjectLoad) -> Watched {
        let mut watched = Watched::new(dir);
        watched.files.extend(
            load.sources
                .ids()
                .map(|id| load.sources.path(id).to_path_buf()),
        );
        if !load.context.workflow_paths.is_empty() {
            watched.roots = load.context.workflow_paths.clone();
        }
        watched
    }

    /// Reads every watched file and every workflow file now under the roots.
    async fn fingerprint(&self) -> Fingerprint {
        let watched = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut files = watched.files;
            for root in &watched.roots {
                if root.is_dir() {
                    files.extend(check::workflow_files(root).unwrap_or_default());
                }
            }
            files
                .into_iter()
                .map(|path| {
                    let hash = std::fs::read(&path).ok().map(|bytes| {
                        let mut hasher = DefaultHasher::new();
                        bytes.hash(&mut hasher);
                        hasher.finish()
                    });
                    (path, hash)
                })
                .collect()
        })
        .await
        .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(workflows: &[(&str, &str)]) -> Bundle {
        let mut bundle: Bundle = serde_json::from_value(serde_json::json!({
            "ir_version": crate::ir::IR_VERSION,
            "project": { "namespace": "default", "queues": [] },
            "workflows": []
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        for (name, output) in workflows {
            let w = crate::ir::test_program(crate::ir::IR_VERSION, name, serde_json::json!(output));
            bundle.workflows.push(w);
        }
        bundle
    }

    #[test]
    fn a_workflow_on_a_task_queue_not_polled_needs_a_restart() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let last_good = bundle(&[("greet", "hi")]);
        let polled = last_good
            .workflows
            .iter()
            .map(|w| w.task_queue.clone())
            .collect();
        let reloader = Reloader {
            dir: dir.path().to_path_buf(),
            definitions: Definitions::default(),
            store: Arc::new(VersionStore::new(dir.path())),
            polled,
            last_good: last_good.clone(),
        };
        assert!(reloader.restart_needed(&last_good).is_empty());
        let mut moved = bundle(&[("greet", "hi"), ("other", "x")]);
        moved.workflows[1].task_queue = "elsewhere".into();
        let lines = reloader.restart_needed(&moved);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].contains("`other`") && lines[0].contains("`elsewhere`"),
            "{lines:?}"
        );
    }

    #[test]
    fn changes_name_added_changed_and_removed_workflows_with_short_hashes() {
        let before = bundle(&[("greet", "hi"), ("bye", "ciao"), ("same", "x")]);
        let after = bundle(&[("greet", "hello"), ("new", "n"), ("same", "x")]);
        let found: Vec<(&str, String)> = changes(&before, &after)
            .into_iter()
            .map(|c| (c.kind, c.name))
            .collect();
        assert_eq!(
            found,
            [
                ("changed", "greet".to_owned()),
                ("added", "new".to_owned()),
                ("removed", "bye".to_owned())
            ]
        );
        let greet = &changes(&before, &after)[0];
        assert!(greet.hashes.contains(" → "), "{}", greet.hashes);
        assert!(changes(&before, &before).is_empty());
    }
}
