//! What workflow files are checked against: the project's settings, defaults and manifest.
//!
//! A leaf module: `check` builds the context from `stave.yaml`, `lint` reads it.

use crate::ir;
use crate::manifest::Manifest;
use crate::syntax::ast;
use std::path::PathBuf;

/// What workflow files are checked against: queues, defaults, activity manifest.
#[derive(Debug, Clone, Default)]
pub struct ProjectContext {
    /// Directory holding `stave.yaml`; None when linting files outside a project.
    pub dir: Option<PathBuf>,
    pub settings: ir::Project,
    /// Queue of workflows that name none.
    pub default_queue: Option<String>,
    /// `defaults:` of `stave.yaml`.
    pub defaults: Option<ast::ActivityOptions>,
    pub manifest: Option<Manifest>,
    /// Where the workflow files are (`workflows:` of stave.yaml); empty = the project dir.
    pub workflow_paths: Vec<PathBuf>,
}

impl Default for ir::Project {
    fn default() -> Self {
        ir::Project {
            namespace: "default".into(),
            queues: Vec::new(),
            secrets: ir::SecretSettings::default(),
            encryption: None,
            http: ir::HttpSettings::default(),
        }
    }
}
