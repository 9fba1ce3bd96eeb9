//! The store of versions a worker can run: current definitions, `.stave/versions/`, and
//! programs read from runs' own histories; every entry verified against its hash.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Pin, VersionError};
use crate::ir::{IR_VERSION, SEMANTICS_VERSION, Workflow};

/// IR versions this binary runs: its own, and every earlier one whose programs it still
/// interprets unchanged (version 2 changed only how the hash is taken).
const READABLE_IR_VERSIONS: &[u32] = &[1, IR_VERSION];

/// Reads the project's workflow files again (what is on disk now).
pub type Source = Arc<dyn Fn() -> Vec<Workflow> + Send + Sync>;

/// How often a missing version may trigger a re-read of the project files.
const RELOAD_INTERVAL: Duration = Duration::from_secs(2);

/// Every version a worker can run: the current definitions plus the store directory.
pub struct VersionStore {
    dir: PathBuf,
    loaded: Mutex<HashMap<String, Arc<Workflow>>>,
    /// The project's files: a version missing from the store may be the file as edited
    /// since the worker started (a run started by `stave start` after the edit).
    source: Option<Source>,
    last_reload: Mutex<Option<Instant>>,
}

impl fmt::Debug for VersionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VersionStore")
            .field("dir", &self.dir)
            .field("reloads", &self.source.is_some())
            .finish()
    }
}

impl VersionStore {
    /// A store backed by `dir` (created on the first write).
    pub fn new(dir: impl Into<PathBuf>) -> VersionStore {
        VersionStore {
            dir: dir.into(),
            loaded: Mutex::new(HashMap::new()),
            source: None,
            last_reload: Mutex::new(None),
        }
    }

    /// Also looks for missing versions in what `source` reads (the project files as they
    /// are now) when [`VersionStore::refresh_from_source`] is called; what it finds is
    /// recorded like a served version.
    pub fn with_source(mut self, source: Source) -> VersionStore {
        self.source = Some(source);
        self
    }

    /// Whether the program of `pin` is in memory (no I/O: safe on the activation path).
    pub fn is_cached(&self, pin: &Pin) -> bool {
        self.loaded
            .lock()
            .is_ok_and(|loaded| loaded.contains_key(&pin.hash))
    }

    /// Keeps a program read from a run's start memo (already verified against its pin) in
    /// memory only: no I/O, so it is safe on the activation path.
    pub fn remember(&self, program: Workflow) {
        if let Ok(mut loaded) = self.loaded.lock() {
            loaded.insert(program.hash.clone(), Arc::new(program));
        }
    }

    /// Adds a program read from a run's own record (already verified against its pin):
    /// kept in memory, and written to the directory as a cache for the next process.
    pub fn insert(&self, program: Workflow) -> Arc<Workflow> {
        let program = Arc::new(program);
        if let Err(e) = self.record(&program) {
            tracing::warn!("{e}");
            if let Ok(mut loaded) = self.loaded.lock() {
                loaded.insert(program.hash.clone(), program.clone());
            }
        }
        program
    }

    /// Re-reads the project files (a run started after an edit by an older `stave start`
    /// that did not record the program), at most every 2 s; true when it ran. Blocking: call
    /// it off the activation path.
    pub fn refresh_from_source(&self) -> bool {
        let Some(source) = &self.source else {
            return false;
        };
        {
            let Ok(mut last) = self.last_reload.lock() else {
                return false;
            };
            if last.is_some_and(|at| at.elapsed() < RELOAD_INTERVAL) {
                return false;
            }
            *last = Some(Instant::now());
        }
        for workflow in source() {
            let workflow = Arc::new(workflow);
            match self.record(&workflow) {
                Ok(()) => {}
                // A read-only store still serves what it could not write, from memory.
                Err(e @ VersionError::Write { .. }) => {
                    tracing::warn!("{e}");
                    if let Ok(mut loaded) = self.loaded.lock() {
                        loaded.insert(workflow.hash.clone(), workflow);
                    }
                }
                Err(e) => tracing::warn!("{e}"),
            }
        }
        true
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, hash: &str) -> PathBuf {
        self.dir.join(format!("{hash}.json"))
    }

    /// Records `workflow` (a definition about to be served). Its hash is verified first; the
    /// file is written when absent or when what is there does not hold this exact program
    /// (truncated, corrupt, edited), atomically: a temporary file, fsync, rename, fsync of the
    /// directory. A crash leaves either the old file or the new one, never half of one.
    pub fn record(&self, workflow: &Arc<Workflow>) -> Result<(), VersionError> {
        let actual = workflow.compute_hash();
        if actual != workflow.hash {
            return Err(VersionError::Unverified {
                workflow: workflow.name.clone(),
                claimed: workflow.hash.clone(),
                actual,
            });
        }
        let path = self.path(&workflow.hash);
        let intact = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_json::from_str::<Workflow>(&text).ok())
            .is_some_and(|stored| stored.compute_hash() == workflow.hash);
        if !intact {
            let mut text = serde_json::to_string_pretty(workflow.as_ref()).unwrap_or_default();
            text.push('\n');
            write_atomically(&self.dir, &path, text.as_bytes()).map_err(|source| {
                VersionError::Write {
                    path: path.clone(),
                    source,
                }
            })?;
        }
        if let Ok(mut loaded) = self.loaded.lock() {
            if let Some(alias) = workflow.v1_alias() {
                loaded.insert(alias, workflow.clone());
            }
            loaded.insert(workflow.hash.clone(), workflow.clone());
        }
        Ok(())
    }

    /// The program a run of `workflow_type` pinned to `pin` executes.
    pub fn get(&self, workflow_type: &str, pin: &Pin) -> Result<Arc<Workflow>, VersionError> {
        if pin.semantics != SEMANTICS_VERSION {
            return Err(VersionError::Semantics {
                workflow: workflow_type.to_owned(),
                pin: pin.clone(),
            });
        }
        let cached = self
            .loaded
            .lock()
            .ok()
            .and_then(|loaded| loaded.get(&pin.hash).cloned());
        let program = match cached {
            Some(program) => program,
            None => match self.load(workflow_type, pin) {
                Ok(program) => {
                    let program = Arc::new(program);
                    if let Ok(mut loaded) = self.loaded.lock() {
                        loaded.insert(pin.hash.clone(), program.clone());
                    }
                    program
                }
                Err(other) => return Err(other),
            },
        };
        if program.name != workflow_type {
            return Err(VersionError::WrongWorkflow {
                workflow: workflow_type.to_owned(),
                found: program.name.clone(),
                pin: pin.clone(),
            });
        }
        Ok(program)
    }

    fn load(&self, workflow_type: &str, pin: &Pin) -> Result<Workflow, VersionError> {
        let path = self.path(&pin.hash);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(VersionError::Missing {
                    workflow: workflow_type.to_owned(),
                    pin: pin.clone(),
                    dir: self.dir.clone(),
                });
            }
            Err(e) => {
                return Err(VersionError::Corrupt {
                    path,
                    reason: e.to_string(),
                });
            }
        };
        let corrupt = |reason: String| VersionError::Corrupt {
            path: path.clone(),
            reason,
        };
        let program: Workflow = serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
        if !READABLE_IR_VERSIONS.contains(&program.ir_version) {
            return Err(corrupt(format!(
                "it holds IR version {}, this stave reads {READABLE_IR_VERSIONS:?}",
                program.ir_version
            )));
        }
        let actual = program.compute_hash();
        if actual != pin.hash {
            return Err(corrupt(format!("its content hashes to {actual}")));
        }
        Ok(program)
    }
}

/// Writes `bytes` to `path` so that readers and crashes see the old content or the new, whole.
fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("version");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename itself is durable only once the directory is synced.
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn workflow(name: &str, output: &str) -> Arc<Workflow> {
        Arc::new(crate::ir::test_program(IR_VERSION, name, json!(output)))
    }

    #[test]
    fn pins_round_trip_through_patch_ids() {
        let w = workflow("greet", "v1");
        let pin = Pin::of(&w);
        let id = pin.patch_id();
        assert!(id.starts_with("stave.version/"));
        assert!(id.ends_with(&format!("@{SEMANTICS_VERSION}")));
        assert_eq!(Pin::from_patch_id(&id), Some(pin.clone()));
        assert_eq!(Pin::parse(&w.hash), Some(pin));
        assert_eq!(Pin::from_patch_id("other-patch"), None);
        assert_eq!(Pin::parse("not hex@1"), None);
    }

    #[test]
    fn recorded_versions_survive_a_new_store() {
        let dir = tempfile::tempdir().unwrap();
        let v1 = workflow("greet", "v1");
        VersionStore::new(dir.path()).record(&v1).unwrap();
        // A new process: nothing in memory, the file is there.
        let store = VersionStore::new(dir.path());
        let got = store.get("greet", &Pin::of(&v1)).unwrap();
        assert_eq!(got.output, v1.output);
    }

    #[test]
    fn missing_version_says_which_and_how_to_restore() {
        let dir = tempfile::tempdir().unwrap();
        let store = VersionStore::new(dir.path().join("versions"));
        let v1 = workflow("greet", "v1");
        let err = store.get("greet", &Pin::of(&v1)).unwrap_err().to_string();
        assert!(err.contains(&v1.hash[..12]), "{err}");
        assert!(err.contains(&format!("{}.json", v1.hash)), "{err}");
        assert!(err.contains("resumes"), "{err}");
    }

    #[test]
    fn a_version_edited_in_after_start_is_found_in_the_project_files() {
        let dir = tempfile::tempdir().unwrap();
        let v2 = workflow("greet", "v2");
        let on_disk = v2.as_ref().clone();
        let store =
            VersionStore::new(dir.path()).with_source(Arc::new(move || vec![on_disk.clone()]));
        // `get` itself never re-reads the project (it runs on the activation path).
        assert!(!store.is_cached(&Pin::of(&v2)));
        assert!(matches!(
            store.get("greet", &Pin::of(&v2)),
            Err(VersionError::Missing { .. })
        ));
        assert!(store.refresh_from_source());
        let got = store.get("greet", &Pin::of(&v2)).unwrap();
        assert_eq!(got.output, v2.output);
        assert!(dir.path().join(format!("{}.json", v2.hash)).exists());
        // The re-read is rate-limited.
        assert!(!store.refresh_from_source());
    }

    #[test]
    fn tampered_file_and_wrong_type_and_semantics_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = VersionStore::new(dir.path());
        let v1 = workflow("greet", "v1");
        store.record(&v1).unwrap();
        assert!(matches!(
            store.get("other", &Pin::of(&v1)),
            Err(VersionError::WrongWorkflow { .. })
        ));
        let future = Pin {
            semantics: SEMANTICS_VERSION + 1,
            ..Pin::of(&v1)
        };
        assert!(matches!(
            store.get("greet", &future),
            Err(VersionError::Semantics { .. })
        ));
        let v2 = workflow("greet", "v2");
        std::fs::write(
            dir.path().join(format!("{}.json", v2.hash)),
            serde_json::to_string(v1.as_ref()).unwrap(),
        )
        .unwrap();
        let fresh = VersionStore::new(dir.path());
        assert!(matches!(
            fresh.get("greet", &Pin::of(&v2)),
            Err(VersionError::Corrupt { .. })
        ));
    }

    fn no_temporary_files(dir: &Path) -> bool {
        std::fs::read_dir(dir)
            .unwrap()
            .all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".tmp"))
    }

    #[test]
    fn a_truncated_or_corrupt_file_is_rewritten_on_record_and_refused_on_load() {
        let dir = tempfile::tempdir().unwrap();
        let v1 = workflow("greet", "v1");
        let path = dir.path().join(format!("{}.json", v1.hash));
        for damaged in ["{\"ir_version\": 2, \"hash\"", "not json at all", ""] {
            std::fs::write(&path, damaged).unwrap();
            // A fresh process refuses to run it, naming the file.
            let err = VersionStore::new(dir.path())
                .get("greet", &Pin::of(&v1))
                .unwrap_err();
            assert!(matches!(err, VersionError::Corrupt { .. }), "{err}");
            assert!(err.to_string().contains(&v1.hash), "{err}");
            // Recording the real program repairs it.
            VersionStore::new(dir.path()).record(&v1).unwrap();
            let got = VersionStore::new(dir.path()).get("greet", &Pin::of(&v1));
            assert_eq!(got.unwrap().output, v1.output);
        }
        assert!(no_temporary_files(dir.path()));
    }

    #[test]
    fn a_program_whose_hash_field_lies_is_not_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let mut forged = workflow("greet", "v1").as_ref().clone();
        forged.hash = workflow("greet", "v2").hash.clone();
        let err = VersionStore::new(dir.path())
            .record(&Arc::new(forged))
            .unwrap_err();
        assert!(matches!(err, VersionError::Unverified { .. }), "{err}");
        assert_eq!(
            std::fs::read_dir(dir.path())
                .map(|d| d.count())
                .unwrap_or(0),
            0
        );
    }

    #[test]
    fn versions_written_by_ir_version_1_still_load_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        let mut old = workflow("greet", "v1").as_ref().clone();
        old.ir_version = 1;
        old.hash = old.compute_hash();
        std::fs::write(
            dir.path().join(format!("{}.json", old.hash)),
            serde_json::to_string(&old).unwrap(),
        )
        .unwrap();
        let got = VersionStore::new(dir.path()).get("greet", &Pin::parse(&old.hash).unwrap());
        assert_eq!(got.unwrap().output, old.output);
    }

    #[test]
    fn a_current_definition_serves_the_version_1_pin_of_the_same_program() {
        let dir = tempfile::tempdir().unwrap();
        let current = workflow("greet", "v1");
        let store = VersionStore::new(dir.path());
        store.record(&current).unwrap();
        // A run started by the previous release pinned the same program under its v1 hash.
        let old_pin = Pin {
            hash: current.v1_alias().unwrap(),
            semantics: 1,
        };
        assert_ne!(old_pin.hash, current.hash);
        assert_eq!(store.get("greet", &old_pin).unwrap().hash, current.hash);
    }

    #[test]
    fn a_bare_hash_pins_semantics_1_not_this_binary() {
        let pin = Pin::parse("abc123").unwrap();
        assert_eq!(pin.semantics, 1);
    }
}
