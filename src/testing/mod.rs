//! `stave test`: a project's test files (`*.test.yaml`), checked against its workflows and run
//! by the simulator (`runtime::sim`) — or, with `--server`, on Temporal — then compared with
//! their expectations.
//!
//! Pipeline: [`load`] (discover, read with spans, `check` against the project: E080–E084),
//! `run` (each case through the simulator with `mocks` answering activities) or `server`
//! (each case on Temporal, the mocks answering through a mock-activity worker), `expect`
//! (actual vs expected, one mismatch per difference), `coverage` (steps and branches reached,
//! per workflow file, in the simulator), `report` (human, JSON, JUnit); `record` turns a
//! run's history into a case.

pub mod check;
pub mod coverage;
pub mod expect;
pub mod mocks;
pub mod record;
pub mod report;
pub mod run;
pub mod server;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::check::ProjectLoad;
use crate::diagnostics::{Code, Diagnostic, FileId, Span};
use crate::ir::Workflow;
use crate::syntax::yaml::testfile::{self, TestFile};

/// Test files read and checked.
#[derive(Debug)]
pub struct Suite {
    pub files: Vec<LoadedFile>,
    /// Diagnostics of the test files (the project's own are in its [`ProjectLoad`]).
    pub diagnostics: Vec<Diagnostic>,
}

/// One test file that read without errors, with its workflow.
#[derive(Debug)]
pub struct LoadedFile {
    pub path: PathBuf,
    pub file: FileId,
    pub test: TestFile,
}

impl Suite {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// The test files to run: the given paths (files, or directories searched for
/// `*.test.yaml`), else every test file under the project's workflow directories.
pub fn discover(project: &ProjectLoad, paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let roots: Vec<PathBuf> = if !paths.is_empty() {
        paths.to_vec()
    } else if !project.context.workflow_paths.is_empty() {
        project.context.workflow_paths.clone()
    } else {
        project.context.dir.iter().cloned().collect()
    };
    let mut out = Vec::new();
    for root in roots {
        if root.is_file() {
            out.push(root);
            continue;
        }
        let found = crate::check::test_files(&root)
            .map_err(|e| format!("cannot list test files in {}: {e}", root.display()))?;
        out.extend(found);
    }
    let cwd = std::env::current_dir().ok();
    let mut out: Vec<PathBuf> = out
        .into_iter()
        .map(
            |p| match cwd.as_ref().and_then(|c| p.strip_prefix(c).ok()) {
                Some(relative) => relative.to_path_buf(),
                None => p,
            },
        )
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// Reads and checks `paths` against the project (its sources gain the test files).
pub fn load(project: &mut ProjectLoad, paths: &[PathBuf]) -> Suite {
    let programs: BTreeMap<&str, &Workflow> = project
        .bundle
        .iter()
        .flat_map(|b| b.workflows.iter())
        .chain(
            project
                .partial
                .iter()
                .flat_map(|p| p.bundle.workflows.iter()),
        )
        .map(|w| (w.name.as_str(), w))
        .collect();
    let mut diagnostics = Vec::new();
    let mut files = Vec::new();
    for path in paths {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                let file = project.sources.add(path, "");
                diagnostics.push(
                    Diagnostic::new(
                        Code::E001,
                        Span::new(file, 0, 0),
                        format!("cannot read `{}`: {e}", path.display()),
                    )
                    .help("check the path and its permissions"),
                );
                continue;
            }
        };
        let file = project.sources.add(path, text.clone());
        let (test, mut found) = testfile::load(file, &text);
        let errors_before = found.iter().any(Diagnostic::is_error);
        if let Some(test) = &test {
            check::check(
                test,
                &programs,
                project.context.manifest.as_ref(),
                &mut found,
            );
        }
        let clean = !found.iter().any(Diagnostic::is_error) && !errors_before;
        diagnostics.extend(found);
        if let (Some(test), true) = (test, clean) {
            files.push(LoadedFile {
                path: path.clone(),
                file,
                test,
            });
        }
    }
    Suite { files, diagnostics }
}

/// A path as reports show it: relative to the current directory when below it.
pub fn display_path(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}
