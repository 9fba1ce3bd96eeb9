//! Runs pinned to their definition: the pin recorded in each run, and the store of served versions.
//!
//! The rule. A run executes the IR it started with, for its whole life, whatever happens to
//! the workflow files and however often workers restart:
//! - A **version** is an IR content hash ([`Workflow::compute_hash`]) plus the interpreter's
//!   [`SEMANTICS_VERSION`]; written `HASH@SEMANTICS` (a [`Pin`]).
//! - **Recording**: on a run's first workflow task the worker prepends a patch marker
//!   `stave.version/HASH@SEMANTICS` to the commands, so the pin is in the run's history; when
//!   the run was not started with a `stave.version` memo, it also upserts that memo so the Web
//!   UI and `stave describe` show it. Continue-as-new carries the memo to the next run.
//! - **Reading**, on a run's first activation (a new run, or a replay after eviction or a
//!   worker restart), first match wins: (a) the start memo `stave.version` (set by `stave
//!   start` and schedules); (b) the marker, which core announces on replay as `NotifyHasPatch`;
//!   (c) neither: the run is new and takes the current definition of its workflow type.
//! - **Store**: every version a worker serves is written to `.stave/versions/HASH.json`
//!   (`--versions-dir`) before the worker polls. Commit that directory with the project, like a
//!   lock file, so every deployed worker can resume every run in flight.
//! - A pinned version missing from the store is looked for in the project files as they are
//!   now (a run started by `stave start` after an edit, before the worker restarted).
//! - A pinned version the worker cannot find, or a different semantics version, fails the
//!   workflow **task**, not the run: the server retries it, and the run resumes as soon as a
//!   worker that has the version polls the queue.

mod fetch;
mod program;
mod store;

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

use crate::ir::{SEMANTICS_VERSION, Workflow};

pub use fetch::fetch_program;
pub use program::{PROGRAM_MEMO_KEY, PROGRAM_PATCH, decode_program, encode_program};
pub use store::{Source, VersionStore};

/// Prefix of the patch marker that records a run's version.
pub const PATCH_PREFIX: &str = "stave.version/";
/// Memo key (and workflow-start memo field) holding a run's version.
pub const MEMO_KEY: &str = "stave.version";
/// Default store directory, relative to the project.
pub const DEFAULT_DIR: &str = ".stave/versions";

/// The version a run is pinned to: IR hash and interpreter semantics version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pin {
    pub hash: String,
    pub semantics: u32,
}

impl Pin {
    /// The pin of `workflow` under this binary's semantics.
    pub fn of(workflow: &Workflow) -> Pin {
        Pin {
            hash: workflow.hash.clone(),
            semantics: SEMANTICS_VERSION,
        }
    }

    /// Parses `HASH@SEMANTICS`. A bare `HASH` is what schedules of releases with semantics 1
    /// wrote into the memo, so it means semantics 1 — never "whatever this binary runs".
    pub fn parse(text: &str) -> Option<Pin> {
        let (hash, semantics) = match text.split_once('@') {
            Some((hash, s)) => (hash, s.parse().ok()?),
            None => (text, 1),
        };
        let valid = !hash.is_empty() && hash.bytes().all(|b| b.is_ascii_hexdigit());
        valid.then(|| Pin {
            hash: hash.to_ascii_lowercase(),
            semantics,
        })
    }

    /// The pin of a patch id `stave.version/HASH@SEMANTICS`; None for other patches.
    pub fn from_patch_id(patch_id: &str) -> Option<Pin> {
        patch_id.strip_prefix(PATCH_PREFIX).and_then(Pin::parse)
    }

    pub fn patch_id(&self) -> String {
        format!("{PATCH_PREFIX}{self}")
    }

    /// First 12 hex digits, for messages.
    pub fn short(&self) -> &str {
        &self.hash[..self.hash.len().min(12)]
    }
}

/// The start memo that pins a new run to `workflow` and carries its program: the one form
/// every starter uses (`stave start`, schedules, continue-as-new), read back by the worker on
/// the run's first task — so the run resumes on any worker, whatever its files and store.
pub fn start_memo(workflow: &Workflow) -> Vec<(String, serde_json::Value)> {
    vec![
        (
            MEMO_KEY.to_owned(),
            serde_json::Value::String(Pin::of(workflow).to_string()),
        ),
        (PROGRAM_MEMO_KEY.to_owned(), program::memo_value(workflow)),
    ]
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.hash, self.semantics)
    }
}

/// Why a version could not be produced.
#[derive(Debug, Error)]
pub enum VersionError {
    /// A run started by a worker whose files this worker no longer has, with no store entry.
    #[error(
        "run of `{workflow}` is pinned to version {} ({}), which this worker does not have in {}; \
         restore that version: copy `{}.json` into the versions directory from the worker or \
         repository that served it (or check out the workflow file as it was and run the worker \
         once); the run resumes by itself once a worker with that version polls",
        pin.short(), pin, dir.display(), pin.hash
    )]
    Missing {
        workflow: String,
        pin: Pin,
        dir: PathBuf,
    },
    /// A run started under another interpreter semantics (an older or newer `stave`).
    #[error(
        "run of `{workflow}` is pinned to version {} under interpreter semantics {}, but this \
         worker interprets semantics {SEMANTICS_VERSION}; serve it with a worker built from a \
         stave release with semantics {}",
        pin.short(), pin.semantics, pin.semantics
    )]
    Semantics { workflow: String, pin: Pin },
    /// `HASH.json` holds another workflow type than the run's.
    #[error("version {} is workflow `{found}`, but the run is of `{workflow}`", pin.short())]
    WrongWorkflow {
        workflow: String,
        found: String,
        pin: Pin,
    },
    /// `HASH.json` was edited or truncated.
    #[error("versions store file {} is corrupt: {reason}; restore it from version control", path.display())]
    Corrupt { path: PathBuf, reason: String },
    /// The run's `stave.program` memo is damaged or names another program.
    #[error("the program recorded in the run for version {} is unusable: {reason}", pin.short())]
    BadRecord { pin: Pin, reason: String },
    /// The run was started by a worker that did not record programs (an earlier release).
    #[error(
        "run `{workflow_id}` did not record its program (version {}): it was started by an \
         earlier stave; restore `{}.json` into the versions directory",
        pin.short(), pin.hash
    )]
    NotRecorded { pin: Pin, workflow_id: String },
    /// The server could not be asked for the run's program.
    #[error("cannot read the program of run `{workflow_id}` (version {}) from the server: {reason}", pin.short())]
    Fetch {
        pin: Pin,
        workflow_id: String,
        reason: String,
    },
    /// A program whose `hash` field is not its content hash (a bug, or an edited bundle).
    #[error(
        "workflow `{workflow}` claims version {claimed} but its content hashes to {actual}; \
         recompile it with `stave compile` instead of editing the IR"
    )]
    Unverified {
        workflow: String,
        claimed: String,
        actual: String,
    },
    /// The store directory is not writable.
    #[error("cannot write the versions store {}: {source}; pass --versions-dir to a writable directory", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[cfg(test)]
pub(crate) use store::tests;
