//! `stave.yaml`, the project settings: namespace, queues, defaults, the activity manifest path.

use super::ast::{ActivityOptions, Name};
use super::yaml::keys::{
    ENCRYPTION_KEYS, HTTP_KEYS, OPTION_KEYS, PROJECT_KEYS, QUEUE_KEYS, SECRETS_KEYS,
};
use super::yaml::{Cx, node};
use crate::diagnostics::{Code, Diagnostic, FileId, Span, Spanned};

/// The project file as written.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectFile {
    pub namespace: Option<Spanned<String>>,
    /// Path of the activity manifest, relative to the project directory.
    pub activities: Option<Spanned<String>>,
    pub queues: Vec<QueueDef>,
    /// Queue of workflows that name none (default: `standard` if declared, else the first).
    pub default_queue: Option<Name>,
    /// Activity options for every workflow of the project (overridden by a file's `defaults`).
    pub defaults: Option<ActivityOptions>,
    /// Directories (or files) holding the workflows; default: the project directory.
    pub workflows: Vec<Spanned<String>>,
    /// `secrets: { dir }`: a directory of secret files.
    pub secrets_dir: Option<Spanned<String>>,
    /// `secrets: { env_prefix }`.
    pub secrets_env_prefix: Option<Spanned<String>>,
    /// `encryption: { key }`: the secret holding the key payloads are written with.
    pub encryption_key: Option<Name>,
    /// `encryption: { decrypt_with }`: older keys still read.
    pub decrypt_with: Vec<Name>,
    /// `http: { allow_hosts }`: the hosts `http.request` may call.
    pub http_allow_hosts: Vec<Spanned<String>>,
    /// `http: { allow_private }`.
    pub http_allow_private: Option<Spanned<bool>>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueueDef {
    pub name: Name,
    pub task_queue: Option<Spanned<String>>,
    pub max_concurrent_workflow_tasks: Option<Spanned<i64>>,
    pub max_concurrent_activities: Option<Spanned<i64>>,
    pub max_workers: Option<Spanned<i64>>,
    pub rate_limit: Option<Spanned<f64>>,
    pub span: Span,
}

/// Reads `stave.yaml`. Never fails: returns what it could read.
pub fn load(file: FileId, text: &str) -> (Option<ProjectFile>, Vec<Diagnostic>) {
    let (root, diagnostics) = node::parse(file, text);
    let mut cx = Cx::new(file, diagnostics);
    let project = root.and_then(|root| {
        if root.kind == node::NodeKind::Null {
            return Some(ProjectFile {
                namespace: None,
                activities: None,
                queues: Vec::new(),
                default_queue: None,
                defaults: None,
                workflows: Vec::new(),
                secrets_dir: None,
                secrets_env_prefix: None,
                encryption_key: None,
                decrypt_with: Vec::new(),
                http_allow_hosts: Vec::new(),
                http_allow_private: None,
                span: root.span,
            });
        }
        let f = cx.fields(&root, "`stave.yaml`", PROJECT_KEYS)?;
        let mut queues = Vec::new();
        if let Some(q) = f.get("queues") {
            for (name, def) in cx.map_entries(q, "`queues`") {
                let Some(qf) = cx.fields(def, &format!("queue `{}`", name.value), QUEUE_KEYS)
                else {
                    continue;
                };
                queues.push(QueueDef {
                    task_queue: qf
                        .get("task_queue")
                        .and_then(|n| cx.string(n, "`task_queue`")),
                    max_concurrent_workflow_tasks: qf
                        .get("max_concurrent_workflow_tasks")
                        .and_then(|n| cx.int(n, "`max_concurrent_workflow_tasks`")),
                    max_concurrent_activities: qf
                        .get("max_concurrent_activities")
                        .and_then(|n| cx.int(n, "`max_concurrent_activities`")),
                    max_workers: qf
                        .get("max_workers")
                        .and_then(|n| cx.int(n, "`max_workers`")),
                    rate_limit: qf
                        .get("rate_limit")
                        .and_then(|n| cx.number(n, "`rate_limit`")),
                    span: def.span,
                    name,
                });
            }
        }
        let defaults = match f.get("defaults") {
            Some(n) => cx
                .fields(n, "project `defaults`", OPTION_KEYS)
                .map(|d| cx.options_of(&d)),
            None => None,
        };
        let secrets = f
            .get("secrets")
            .and_then(|n| cx.fields(n, "`secrets`", SECRETS_KEYS));
        let encryption = f
            .get("encryption")
            .and_then(|n| cx.fields(n, "`encryption`", ENCRYPTION_KEYS));
        let (secrets_dir, secrets_env_prefix) = match &secrets {
            Some(s) => (
                s.get("dir").and_then(|n| cx.string(n, "`secrets.dir`")),
                s.get("env_prefix")
                    .and_then(|n| cx.string(n, "`secrets.env_prefix`")),
            ),
            None => (None, None),
        };
        let (encryption_key, decrypt_with) = match &encryption {
            Some(e) => (
                e.get("key").and_then(|n| cx.string(n, "`encryption.key`")),
                e.get("decrypt_with")
                    .map(|n| {
                        cx.list(n, "`encryption.decrypt_with`")
                            .iter()
                            .filter_map(|k| cx.string(k, "`encryption.decrypt_with`"))
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            None => (None, Vec::new()),
        };
        let http = f
            .get("http")
            .and_then(|n| cx.fields(n, "`http`", HTTP_KEYS));
        let (http_allow_hosts, http_allow_private) = match &http {
            Some(h) => (
                h.get("allow_hosts")
                    .map(|n| {
                        cx.list(n, "`http.allow_hosts`")
                            .iter()
                            .filter_map(|k| cx.string(k, "`http.allow_hosts`"))
                            .collect()
                    })
                    .unwrap_or_default(),
                h.get("allow_private")
                    .and_then(|n| cx.bool(n, "`http.allow_private`")),
            ),
            None => (Vec::new(), None),
        };
        if encryption.is_some() && encryption_key.is_none() {
            cx.error(
                Diagnostic::new(
                    Code::E040,
                    f.get("encryption").map_or(root.span, |n| n.span),
                    "`encryption` needs `key`: the secret holding the key new payloads are written with",
                )
                .help("add `key: codec/key-1` and store 32 random bytes, base64 (`openssl rand -base64 32`), in that secret"),
            );
        }
        Some(ProjectFile {
            secrets_dir,
            secrets_env_prefix,
            encryption_key,
            decrypt_with,
            http_allow_hosts,
            http_allow_private,
            namespace: f.get("namespace").and_then(|n| cx.string(n, "`namespace`")),
            activities: f
                .get("activities")
                .and_then(|n| cx.string(n, "`activities`")),
            default_queue: f
                .get("default_queue")
                .and_then(|n| cx.string(n, "`default_queue`")),
            queues,
            defaults,
            workflows: f
                .get("workflows")
                .map(|n| match &n.kind {
                    node::NodeKind::Str(_) => cx.string(n, "`workflows`").into_iter().collect(),
                    _ => cx
                        .list(n, "`workflows`")
                        .iter()
                        .filter_map(|p| cx.string(p, "`workflows`"))
                        .collect(),
                })
                .unwrap_or_default(),
            span: root.span,
        })
    });
    if project.is_none() && cx.diagnostics.is_empty() {
        cx.error(Diagnostic::new(
            Code::E040,
            Span::new(file, 0, 0),
            "`stave.yaml` is empty or not a mapping",
        ));
    }
    (project, cx.diagnostics)
}
