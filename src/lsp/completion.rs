//! `textDocument/completion`: fields of `input`, `steps.ID`, `vars`; activity, workflow,
//! signal and queue names; YAML keys of the construct being written.
//!
//! What the cursor is in is decided the way rust-analyzer does it: a placeholder identifier is
//! inserted at the cursor and the file is checked again, so a half-typed `steps.` still parses
//! and the checker records the scope (or the name slot) around the placeholder.

use super::hover::{render, type_of};
use super::symbols::{self, Kind};
use super::workspace::{Project, Workspace, analyze_text};
use crate::check::Form;
use crate::expr::{self, Ty};
use crate::syntax::yaml::keys;
use lsp_types::{CompletionItem, CompletionItemKind};
use std::path::Path;

/// What is inserted at the cursor to make the file parse.
const PLACEHOLDER: &str = "stave__completion";

/// The completion items at `offset` of `text`.
pub fn complete(
    ws: &mut Workspace,
    path: &Path,
    text: &str,
    form: Form,
    offset: usize,
) -> Vec<CompletionItem> {
    let offset = offset.min(text.len());
    if form == Form::Yaml
        && let Some(items) = yaml_keys(text, offset)
    {
        return items;
    }
    let key = super::workspace::project_key(path);
    let mut patched = String::with_capacity(text.len() + PLACEHOLDER.len());
    patched.push_str(&text[..offset]);
    patched.push_str(PLACEHOLDER);
    patched.push_str(&text[offset..]);
    let at = offset + 1;
    let a = analyze_text(path, &patched, form, ws.project(&key), Some(at));
    if let Some(o) = symbols::at(&a.occurrences, at) {
        let names: Vec<(String, Option<String>)> = match o.kind {
            Kind::Activity => ws
                .project(&key)
                .context
                .manifest
                .iter()
                .flat_map(|m| &m.activities)
                .map(|a| (a.name.clone(), a.description.clone()))
                .collect(),
            Kind::Workflow => ws
                .declared(path)
                .into_iter()
                .map(|d| {
                    let desc = d.workflow.description.map(|s| s.value);
                    (d.workflow.name.value, desc)
                })
                .collect(),
            Kind::Signal => a
                .workflow_at(at)
                .map(|wf| {
                    wf.signals
                        .iter()
                        .map(|s| (s.name.value.clone(), None))
                        .chain(
                            wf.updates
                                .iter()
                                .map(|u| (u.name.value.clone(), Some("update".to_string()))),
                        )
                        .collect()
                })
                .unwrap_or_default(),
            Kind::Queue => queues(ws.project(&key)),
            Kind::Var if !o.definition => a
                .workflow_at(at)
                .map(|wf| {
                    wf.vars
                        .iter()
                        .map(|(n, _)| (n.value.clone(), None))
                        .collect()
                })
                .unwrap_or_default(),
            Kind::Var | Kind::Step => Vec::new(),
            Kind::Fragment => a
                .ast()
                .map(|f| {
                    f.fragments
                        .iter()
                        .map(|g| (g.name.value.clone(), None))
                        .collect()
                })
                .unwrap_or_default(),
        };
        let kind = match o.kind {
            Kind::Activity | Kind::Workflow => CompletionItemKind::FUNCTION,
            Kind::Signal => CompletionItemKind::EVENT,
            Kind::Queue => CompletionItemKind::VALUE,
            Kind::Var | Kind::Step => CompletionItemKind::VARIABLE,
            Kind::Fragment => CompletionItemKind::MODULE,
        };
        return names
            .into_iter()
            .map(|(label, doc)| item(label, kind, doc))
            .collect();
    }
    let Some(scope) = a.analysis.index.scope_at(at) else {
        return Vec::new();
    };
    match base_path(text, offset) {
        Some(base) => {
            let Some(ty) = type_of(base, scope) else {
                return Vec::new();
            };
            let mut items = Vec::new();
            if let Ty::Object(o) = &ty {
                for (name, field) in &o.fields {
                    let detail = render(&field.ty, 1);
                    let mut it = item(name.clone(), CompletionItemKind::FIELD, None);
                    it.detail = Some(detail);
                    items.push(it);
                }
            }
            for m in expr::method_names(&ty) {
                items.push(item(m.into(), CompletionItemKind::METHOD, None));
            }
            items
        }
        None => {
            let mut items: Vec<CompletionItem> = scope
                .names()
                .map(|n| item(n.into(), CompletionItemKind::VARIABLE, None))
                .collect();
            items.extend(
                expr::function_names().map(|f| item(f.into(), CompletionItemKind::FUNCTION, None)),
            );
            items
        }
    }
}

fn item(label: String, kind: CompletionItemKind, doc: Option<String>) -> CompletionItem {
    CompletionItem {
        label,
        kind: Some(kind),
        documentation: doc.map(lsp_types::Documentation::String),
        ..CompletionItem::default()
    }
}

fn queues(project: &Project) -> Vec<(String, Option<String>)> {
    project
        .context
        .settings
        .queues
        .iter()
        .map(|q| {
            (
                q.name.clone(),
                Some(format!("task queue `{}`", q.task_queue)),
            )
        })
        .collect()
}

/// The path before a `.` being completed: `steps` for `steps.ch|`, None outside a member.
fn base_path(text: &str, offset: usize) -> Option<&str> {
    let bytes = text.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = offset;
    while i > 0 && is_word(bytes[i - 1]) {
        i -= 1;
    }
    if i == 0 || bytes[i - 1] != b'.' {
        return None;
    }
    let end = i - 1;
    let mut start = end;
    while start > 0 && (is_word(bytes[start - 1]) || bytes[start - 1] == b'.') {
        start -= 1;
    }
    (start < end).then(|| &text[start..end])
}

/// YAML keys when the cursor is where a key goes: the line holds only indentation, an
/// optional `- ` and the start of a word. The construct is told by the enclosing key and the
/// keys already beside the cursor.
fn yaml_keys(text: &str, offset: usize) -> Option<Vec<CompletionItem>> {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..offset];
    let trimmed = before.trim_start();
    let (item_start, word) = match trimmed.strip_prefix("- ") {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    if !word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    // The column keys of this mapping start at.
    let column = before.len() - word.len();
    let lines: Vec<&str> = text.split('\n').collect();
    let line_no = text[..line_start].matches('\n').count();
    let (parent, siblings) = mapping_context(&lines, line_no, column, item_start);
    let table: Vec<&str> = match parent.as_deref() {
        None => keys::WORKFLOW_KEYS.to_vec(),
        Some("defaults") => keys::OPTION_KEYS.to_vec(),
        Some("retry") => keys::RETRY_KEYS.to_vec(),
        // `signal`, `any` and `all` exclude each other: once one is written, offer none.
        Some("wait") => keys::WAIT_KEYS
            .iter()
            .copied()
            .filter(|k| {
                !["signal", "any", "all"].contains(k)
                    || !siblings
                        .iter()
                        .any(|s| ["signal", "any", "all"].contains(&s.as_str()))
            })
            .collect(),
        Some("sleep") => keys::SLEEP_KEYS.to_vec(),
        Some("fail") => keys::FAIL_KEYS.to_vec(),
        Some("schedules") => keys::SCHEDULE_KEYS.to_vec(),
        Some("catch") => keys::CATCH_KEYS.to_vec(),
        Some("switch") => keys::CASE_KEYS.to_vec(),
        Some("compensate") => keys::COMPENSATE_KEYS.to_vec(),
        Some("steps" | "else" | "branch") => {
            match siblings
                .iter()
                .find(|k| keys::STEP_KINDS.contains(&k.as_str()))
            {
                Some(kind) => keys::step_keys(kind).to_vec(),
                None => {
                    let mut all = vec!["id", "if"];
                    all.extend(keys::STEP_KINDS);
                    all
                }
            }
        }
        Some(_) => return None,
    };
    Some(
        table
            .into_iter()
            .filter(|k| !siblings.iter().any(|s| s == k))
            .map(|k| {
                let mut it = item(k.into(), CompletionItemKind::PROPERTY, None);
                it.insert_text = Some(format!("{k}: "));
                it
            })
            .collect(),
    )
}

/// The key that opens the mapping at `column` around line `line_no`, and the keys already in
/// that mapping (for a new list item, none).
fn mapping_context(
    lines: &[&str],
    line_no: usize,
    column: usize,
    item_start: bool,
) -> (Option<String>, Vec<String>) {
    let mut siblings = Vec::new();
    // Keys below the cursor in the same mapping, up to the next item or a shallower line.
    if !item_start {
        for line in &lines[line_no + 1..] {
            let Some(l) = YamlLine::read(line) else {
                continue;
            };
            match l.key {
                Some(key) if l.key_column == column && !l.dash => siblings.push(key),
                _ if l.indent > column => {}
                _ => break,
            }
        }
    }
    // Keys above: this item's (until its `- ` line), then the key that opens the mapping.
    let mut in_item = !item_start;
    for line in lines[..line_no].iter().rev() {
        let Some(l) = YamlLine::read(line) else {
            continue;
        };
        let Some(key) = l.key else {
            continue;
        };
        if l.key_column == column {
            if in_item {
                siblings.push(key);
            }
            if l.dash {
                in_item = false;
            }
        } else if l.key_column < column {
            return (Some(key), siblings);
        }
    }
    (None, siblings)
}

/// One non-blank, non-comment line of YAML, as far as key completion needs it.
struct YamlLine {
    indent: usize,
    /// Starts with `- `.
    dash: bool,
    /// Where its key starts (after the `- `).
    key_column: usize,
    key: Option<String>,
}

impl YamlLine {
    fn read(line: &str) -> Option<YamlLine> {
        let rest = line.trim_start();
        if rest.is_empty() || rest.starts_with('#') {
            return None;
        }
        let indent = line.len() - rest.len();
        let (dash, rest) = match rest.strip_prefix("- ") {
            Some(r) => (true, r.trim_start()),
            None => (false, rest),
        };
        let key_column = line.len() - rest.len();
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.' || *c == '-')
            .collect();
        let key = (!word.is_empty() && rest[word.len()..].starts_with(':')).then_some(word);
        Some(YamlLine {
            indent,
            dash,
            key_column,
            key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys offered at `|` in `text`.
    fn keys_at(text: &str) -> Vec<String> {
        let offset = text.find('|').unwrap();
        let text = text.replacen('|', "", 1);
        yaml_keys(&text, offset)
            .unwrap_or_default()
            .into_iter()
            .map(|i| i.label)
            .collect()
    }

    #[test]
    fn keys_follow_the_construct_being_written() {
        let top = keys_at("stave: 1\nworkflow: w\n|\nsteps: []\n");
        assert!(
            top.contains(&"input".into()) && !top.contains(&"workflow".into()),
            "{top:?}"
        );
        let retry =
            keys_at("steps:\n  - activity: a\n    retry:\n      max_attempts: 3\n      |\n");
        assert_eq!(
            retry,
            [
                "initial_interval",
                "backoff",
                "max_interval",
                "non_retryable"
            ]
        );
        let item = keys_at("steps:\n  - activity: a\n    timeout: 1s\n  - |\n");
        assert!(
            item.contains(&"activity".into()) && item.contains(&"foreach".into()),
            "{item:?}"
        );
        let step = keys_at("steps:\n  - id: x\n    wait: go\n  - id: y\n    activity: a\n    |\n");
        assert!(
            step.contains(&"timeout".into()) && !step.contains(&"id".into()),
            "{step:?}"
        );
        assert!(
            !step.contains(&"until".into()),
            "not a wait's key: {step:?}"
        );
        let wait = keys_at("steps:\n  - wait:\n      signal: go\n      |\n");
        assert_eq!(wait, ["until", "timeout", "on_timeout"]);
    }

    #[test]
    fn values_and_expressions_are_not_key_positions() {
        assert!(yaml_keys("steps:\n  - activity: pay", 22).is_none());
        assert!(yaml_keys("output: \"${ steps.", 18).is_none());
    }
}
