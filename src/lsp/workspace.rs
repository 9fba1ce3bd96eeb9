//! The server's view of the files: open documents (their text wins over the disk), the
//! projects they belong to (`stave.yaml` and the manifest, loaded once and reloaded when they
//! change), and one analysis per open workflow file, redone on each edit of that file only.

use super::document::Document;
use super::symbols::{self, Occurrence};
use crate::check::{self, Analysis, Form};
use crate::diagnostics::{Diagnostic, FileId, Sources};
use crate::project::ProjectContext;
use crate::syntax::ast;
use lsp_types::Url;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// A project: the directory of its `stave.yaml` (None for files outside any project).
pub struct Project {
    pub dir: Option<PathBuf>,
    pub context: ProjectContext,
    /// `stave.yaml` and the manifest, as read.
    pub sources: Sources,
    /// Problems in `stave.yaml` or the manifest.
    pub diagnostics: Vec<Diagnostic>,
}

/// An open file and, for workflow files, its latest analysis.
pub struct Open {
    pub path: PathBuf,
    pub doc: Document,
    pub form: Option<Form>,
    pub analyzed: Option<Rc<Analyzed>>,
}

/// One analysis of one version of a workflow file.
pub struct Analyzed {
    pub sources: Sources,
    pub file: FileId,
    pub analysis: Analysis,
    pub occurrences: Vec<Occurrence>,
    pub project: Option<PathBuf>,
}

impl Analyzed {
    pub fn ast(&self) -> Option<&ast::File> {
        self.analysis.ast.as_ref()
    }

    /// The workflow written at byte `offset` (else the file's first).
    pub fn workflow_at(&self, offset: usize) -> Option<&ast::Workflow> {
        self.ast()?.workflow_at(offset)
    }
}

/// A workflow type declared somewhere in a project (child workflows' definitions).
pub struct Declared {
    pub path: PathBuf,
    pub text: String,
    pub workflow: ast::Workflow,
}

#[derive(Default)]
pub struct Workspace {
    pub open: HashMap<Url, Open>,
    projects: HashMap<Option<PathBuf>, Project>,
}

impl Workspace {
    /// Opens (or replaces) a document and analyses it.
    pub fn open(&mut self, uri: Url, text: String, version: i32) {
        let path = uri
            .to_file_path()
            .unwrap_or_else(|()| PathBuf::from(uri.path()));
        let form = Form::of(&path);
        self.open.insert(
            uri.clone(),
            Open {
                path,
                doc: Document::new(text, version),
                form,
                analyzed: None,
            },
        );
        self.analyze(&uri);
    }

    /// Re-analyses one open document against its project.
    pub fn analyze(&mut self, uri: &Url) {
        let Some(open) = self.open.get(uri) else {
            return;
        };
        let Some(form) = open.form else {
            return;
        };
        let key = project_key(&open.path);
        self.project(&key);
        let (Some(open), Some(project)) = (self.open.get(uri), self.projects.get(&key)) else {
            return;
        };
        let analyzed = analyze_text(&open.path, &open.doc.text, form, project, None);
        if let Some(open) = self.open.get_mut(uri) {
            open.analyzed = Some(Rc::new(analyzed));
        }
    }

    /// The project governing `key`, loaded on first use.
    pub fn project(&mut self, key: &Option<PathBuf>) -> &Project {
        self.projects
            .entry(key.clone())
            .or_insert_with(|| load_project(key.as_deref()))
    }

    /// The analysis of an open document's current text with the scopes at `offset`.
    pub fn analyze_at(&mut self, uri: &Url, offset: usize) -> Option<Analyzed> {
        let open = self.open.get(uri)?;
        let form = open.form?;
        let key = project_key(&open.path);
        self.project(&key);
        let (open, project) = (self.open.get(uri)?, self.projects.get(&key)?);
        Some(analyze_text(
            &open.path,
            &open.doc.text,
            form,
            project,
            Some(offset),
        ))
    }

    /// Forgets the project of `path` (its `stave.yaml` or manifest changed) and re-analyses
    /// the open files it governs. Returns the documents re-analysed.
    pub fn reload_project_of(&mut self, path: &Path) -> Vec<Url> {
        let Some(dir) = project_key(path) else {
            return Vec::new();
        };
        self.projects.remove(&Some(dir.clone()));
        let governed: Vec<Url> = self
            .open
            .iter()
            .filter(|(_, o)| o.form.is_some() && project_key(&o.path).as_ref() == Some(&dir))
            .map(|(u, _)| u.clone())
            .collect();
        for uri in &governed {
            self.analyze(uri);
        }
        governed
    }

    /// Every workflow declared in the project of `path`: open documents as edited, the rest
    /// as on disk.
    pub fn declared(&self, path: &Path) -> Vec<Declared> {
        let Some(dir) = project_key(path) else {
            return Vec::new();
        };
        let mut files = check::workflow_files(&dir).unwrap_or_default();
        for open in self.open.values() {
            if open.form.is_some() && project_key(&open.path).as_ref() == Some(&dir) {
                files.push(open.path.clone());
            }
        }
        files.sort();
        files.dedup();
        let mut out = Vec::new();
        for file in files {
            let open = self.open.values().find(|o| same_file(&o.path, &file));
            let text = match open {
                Some(o) => o.doc.text.clone(),
                None => match std::fs::read_to_string(&file) {
                    Ok(text) => text,
                    Err(_) => continue,
                },
            };
            let Some(form) = Form::of(&file) else {
                continue;
            };
            let (ast, _) = check::parse(FileId(0), &text, form);
            for workflow in ast.map(|f| f.workflows).unwrap_or_default() {
                out.push(Declared {
                    path: file.clone(),
                    text: text.clone(),
                    workflow,
                });
            }
        }
        out
    }
}

/// Checks one text as the file at `path`, recording what the editor features need (with the
/// scopes at byte offset `at`, for hover and completion there).
pub fn analyze_text(
    path: &Path,
    text: &str,
    form: Form,
    project: &Project,
    at: Option<usize>,
) -> Analyzed {
    let mut sources = Sources::default();
    let file = sources.add(path, text);
    let analysis = check::analyze(&sources, file, form, &project.context, at);
    let occurrences = analysis
        .ast
        .as_ref()
        .map(symbols::occurrences)
        .unwrap_or_default();
    Analyzed {
        sources,
        file,
        analysis,
        occurrences,
        project: project.dir.clone(),
    }
}

/// The canonical directory of the `stave.yaml` governing `path`, if any.
pub fn project_key(path: &Path) -> Option<PathBuf> {
    let dir = check::find_project_dir(path)?;
    std::fs::canonicalize(dir).ok()
}

fn load_project(dir: Option<&Path>) -> Project {
    let mut sources = Sources::default();
    let mut diagnostics = Vec::new();
    let context = match dir {
        Some(dir) => check::load_project_context(dir, &mut sources, &mut diagnostics),
        None => ProjectContext::default(),
    };
    Project {
        dir: dir.map(Path::to_path_buf),
        context,
        sources,
        diagnostics,
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b
        || matches!(
            (std::fs::canonicalize(a), std::fs::canonicalize(b)),
            (Ok(x), Ok(y)) if x == y
        )
}

/// Whether a saved or changed file is one the project context is built from.
pub fn is_project_input(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name == check::PROJECT_FILE || name.ends_with(".json")
}
