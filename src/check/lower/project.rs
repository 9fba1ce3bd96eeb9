//! `stave.yaml` → the project context: queues, the default queue, defaults, the manifest.

use crate::diagnostics::{Code, Diagnostic, Sources, Span, Spanned, did_you_mean};
use crate::ir;
use crate::manifest::Manifest;
use crate::names::is_temporal_name;
use crate::project::ProjectContext;
use crate::syntax::ast::Name;
use crate::syntax::project;
use std::path::Path;

/// Lowers `stave.yaml` into the project context (reads the manifest it names).
pub(in crate::check) fn lower_project(
    parsed: &project::ProjectFile,
    dir: &Path,
    sources: &mut Sources,
    diags: &mut Vec<Diagnostic>,
) -> ProjectContext {
    let mut queues = Vec::new();
    for q in &parsed.queues {
        if !is_temporal_name(&q.name.value) {
            diags.push(
                Diagnostic::new(
                    Code::E007,
                    q.name.span,
                    format!("invalid queue name `{}`", q.name.value),
                )
                .help("queue names are `[A-Za-z_][A-Za-z0-9_.-]*`"),
            );
        }
        let positive =
            |v: &Option<Spanned<i64>>, what: &str, diags: &mut Vec<Diagnostic>| -> Option<u32> {
                let v = v.as_ref()?;
                if v.value < 1 || v.value > u32::MAX as i64 {
                    diags.push(
                        Diagnostic::new(
                            Code::E040,
                            v.span,
                            format!("`{what}` must be a positive whole number"),
                        )
                        .help(format!("write e.g. `{what}: 10`")),
                    );
                    return None;
                }
                Some(v.value as u32)
            };
        let task_queue = match &q.task_queue {
            Some(t) => t.value.clone(),
            None => {
                diags.push(
                    Diagnostic::new(
                        Code::E040,
                        q.span,
                        format!("queue `{}` has no `task_queue`", q.name.value),
                    )
                    .help(format!(
                        "add `task_queue: {}` (the Temporal task queue it maps to)",
                        q.name.value
                    )),
                );
                q.name.value.clone()
            }
        };
        let rate_limit = q.rate_limit.as_ref().and_then(|r| {
            if r.value > 0.0 && r.value.is_finite() {
                Some(r.value)
            } else {
                diags.push(Diagnostic::new(
                    Code::E040,
                    r.span,
                    "`rate_limit` must be a positive number of activities per second",
                ));
                None
            }
        });
        queues.push(ir::Queue {
            name: q.name.value.clone(),
            task_queue,
            max_concurrent_workflow_tasks: positive(
                &q.max_concurrent_workflow_tasks,
                "max_concurrent_workflow_tasks",
                diags,
            ),
            max_concurrent_activities: positive(
                &q.max_concurrent_activities,
                "max_concurrent_activities",
                diags,
            ),
            max_workers: positive(&q.max_workers, "max_workers", diags),
            rate_limit,
        });
    }
    let default_queue = match &parsed.default_queue {
        Some(name) => {
            if !queues.iter().any(|q| q.name == name.value) {
                diags.push(unknown_queue(name, &queues));
            }
            Some(name.value.clone())
        }
        None => queues
            .iter()
            .find(|q| q.name == "standard")
            .or(queues.first())
            .map(|q| q.name.clone()),
    };
    let manifest = parsed.activities.as_ref().and_then(|path| {
        let full = dir.join(&path.value);
        match std::fs::read_to_string(&full) {
            Ok(text) => {
                let file = sources.add(&full, text);
                match Manifest::from_json(sources.text(file)) {
                    Ok(m) => {
                        unchecked_manifest_schemas(&m, sources.text(file), file, diags);
                        Some(m)
                    }
                    Err(e) => {
                        let text = sources.text(file);
                        let offset = line_col_offset(text, e.line(), e.column());
                        diags.push(
                            Diagnostic::new(Code::E039, Span::new(file, offset, offset), format!("invalid activity manifest: {e}"))
                                .help("regenerate it with `stave worker --export-manifest activities.json`"),
                        );
                        None
                    }
                }
            }
            Err(e) => {
                diags.push(
                    Diagnostic::new(Code::E039, path.span, format!("cannot read the activity manifest `{}`: {e}", full.display()))
                        .label("named here")
                        .help("export it with `stave worker --export-manifest activities.json`, or fix the path"),
                );
                None
            }
        }
    });
    ProjectContext {
        dir: Some(dir.to_path_buf()),
        settings: ir::Project {
            namespace: parsed
                .namespace
                .as_ref()
                .map_or_else(|| "default".to_string(), |n| n.value.clone()),
            queues,
            secrets: ir::SecretSettings {
                dir: parsed.secrets_dir.as_ref().map(|d| {
                    let path = std::path::Path::new(&d.value);
                    // A relative directory is the project's; absolute ones (mounts) stay.
                    if path.is_absolute() {
                        d.value.clone()
                    } else {
                        dir.join(path).display().to_string()
                    }
                }),
                env_prefix: parsed.secrets_env_prefix.as_ref().map(|p| p.value.clone()),
            },
            encryption: encryption(parsed, diags),
            http: http(parsed, diags),
        },
        default_queue,
        defaults: parsed.defaults.clone(),
        manifest,
        workflow_paths: parsed
            .workflows
            .iter()
            .map(|w| dir.join(&w.value))
            .collect(),
    }
}

/// `encryption:`: the key names must be secret names, and the write key is not repeated.
fn encryption(
    parsed: &crate::syntax::project::ProjectFile,
    diags: &mut Vec<Diagnostic>,
) -> Option<ir::Encryption> {
    let key = parsed.encryption_key.as_ref()?;
    for name in std::iter::once(key).chain(&parsed.decrypt_with) {
        if !crate::expr::is_secret_name(&name.value) {
            diags.push(
                Diagnostic::new(
                    Code::E040,
                    name.span,
                    format!("`{}` is not a secret name", name.value),
                )
                .help("name the secret holding the key, e.g. `codec/key-2026-12` (path segments of letters, digits, `_`, `.`, `-`)"),
            );
        }
    }
    Some(ir::Encryption {
        key: key.value.clone(),
        decrypt_with: parsed
            .decrypt_with
            .iter()
            .filter(|n| n.value != key.value)
            .map(|n| n.value.clone())
            .collect(),
    })
}

/// `http:`: each allowed host is a host name, a `*.` suffix pattern or an IP address —
/// never a URL, a port or a path. Hosts are compared lower-case.
fn http(parsed: &project::ProjectFile, diags: &mut Vec<Diagnostic>) -> ir::HttpSettings {
    let mut allow_hosts = Vec::new();
    for host in &parsed.http_allow_hosts {
        let text = host.value.trim().to_ascii_lowercase();
        let bare = text.strip_prefix("*.").unwrap_or(&text);
        let ip = bare
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok();
        let name = !ip
            && !bare.is_empty()
            && !bare.contains('*')
            && bare.split('.').all(|label| {
                !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        let address = ip && !text.starts_with("*.");
        if !(name || address) {
            diags.push(
                Diagnostic::new(
                    Code::E040,
                    host.span,
                    format!("`{}` in `http.allow_hosts` is not a host", host.value),
                )
                .help("write a host name (`api.example.com`), a pattern for its subdomains (`*.internal.example`) or an IP address — no scheme, port or path"),
            );
            continue;
        }
        allow_hosts.push(text);
    }
    ir::HttpSettings {
        allow_hosts,
        allow_private: parsed.http_allow_private.as_ref().is_some_and(|b| b.value),
    }
}

/// The byte offset of a 1-based line and column (as serde_json reports them).
fn line_col_offset(text: &str, line: usize, col: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (start + col.saturating_sub(1)).min(text.len())
}

/// E033 for a queue `stave.yaml` does not declare, with the declared ones as help.
pub(super) fn unknown_queue(name: &Name, queues: &[ir::Queue]) -> Diagnostic {
    let names: Vec<&str> = queues.iter().map(|q| q.name.as_str()).collect();
    let mut d = Diagnostic::new(
        Code::E033,
        name.span,
        format!("unknown queue `{}`", name.value),
    )
    .label("not declared in stave.yaml");
    d.help = Some(match did_you_mean(&name.value, names.iter().copied()) {
        Some(hint) => hint,
        None if names.is_empty() => "declare it under `queues:` in stave.yaml".into(),
        None => format!("the project's queues are: {}", names.join(", ")),
    });
    d
}

/// W011 for each activity whose input or output schema the validator would not fully check
/// (a manifest written for workers in other languages may use `$ref`, `if`, `uniqueItems`…).
/// A warning, not an error: the activity works, only those parts go unchecked.
fn unchecked_manifest_schemas(
    manifest: &Manifest,
    text: &str,
    file: crate::diagnostics::FileId,
    diags: &mut Vec<Diagnostic>,
) {
    for activity in &manifest.activities {
        let mut found = Vec::new();
        for (side, schema) in [("input", &activity.input), ("output", &activity.output)] {
            if let Some(schema) = schema {
                found.extend(crate::jsonschema::unchecked(schema, side));
            }
        }
        if found.is_empty() {
            continue;
        }
        let needle = format!("\"{}\"", activity.name);
        let start = text.find(&needle).unwrap_or(0);
        let end = if start == 0 && !text.starts_with(&needle) {
            0
        } else {
            start + needle.len()
        };
        diags.push(
            Diagnostic::new(
                Code::W011,
                Span::new(file, start, end),
                format!(
                    "the schemas of `{}` are not fully checked: {}",
                    activity.name,
                    found.join("; ")
                ),
            )
            .label("declared here")
            .help("inline `$ref` definitions and use the keywords `stave explain W011` lists, or accept that these parts go unchecked"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::FileId;

    fn lower(text: &str) -> (ir::Project, Vec<Diagnostic>) {
        let (parsed, mut diags) = project::load(FileId(0), text);
        let parsed = parsed.expect("a project file");
        let mut sources = Sources::default();
        let context = lower_project(&parsed, Path::new("."), &mut sources, &mut diags);
        (context.settings, diags)
    }

    #[test]
    fn http_settings_are_lowered_and_hosts_checked() {
        let (project, diags) = lower(
            "http: { allow_hosts: [API.example.com, '*.internal.example', '[::1]', 10.0.0.1], allow_private: true }\n",
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(
            project.http.allow_hosts,
            ["api.example.com", "*.internal.example", "[::1]", "10.0.0.1"]
        );
        assert!(project.http.allow_private);
        let (project, diags) = lower(
            "http: { allow_hosts: ['https://api.example.com', 'h:8080', 'a/b', '*', '*.10.0.0.1', ''] }\n",
        );
        assert!(project.http.allow_hosts.is_empty());
        assert_eq!(diags.len(), 6, "{diags:?}");
        assert!(diags.iter().all(|d| d.code == Code::E040));
        assert!(diags[0].message.contains("`https://api.example.com`"));
        let (project, diags) = lower("namespace: x\n");
        assert!(diags.is_empty() && project.http.is_default());
        let (_, diags) = lower("http: { allow_host: [a] }\n");
        assert!(!diags.is_empty(), "unknown keys are reported");
    }
}
