//! `textDocument/hover`: the type of an expression path, a step's result, an activity's
//! description and options, a child workflow's input, a signal's handler, a queue's limits.

use super::symbols::{self, Kind};
use super::workspace::{Analyzed, Project, Workspace};
use crate::expr::types::{FieldTy, Ran};
use crate::expr::{self, Ty, TypeScope};
use crate::syntax::ast;
use std::fmt::Write;

/// The hover text (Markdown) at `offset`, with the span it describes.
pub fn hover(
    ws: &mut Workspace,
    uri: &lsp_types::Url,
    path: &std::path::Path,
    a: &Analyzed,
    offset: usize,
) -> Option<(String, crate::diagnostics::Span)> {
    let wf = a.workflow_at(offset)?;
    let text = a.sources.text(a.file);
    if let Some(o) = symbols::at(&a.occurrences, offset) {
        let markdown = match o.kind {
            Kind::Step => step(a, &o.name),
            Kind::Var => var(wf, text, &o.name),
            Kind::Signal => signal(wf, &o.name),
            Kind::Activity => {
                let project = ws.project(&a.project.clone());
                activity(project, &o.name)
            }
            Kind::Workflow => child(ws, path, &o.name),
            Kind::Fragment => fragment(a.ast()?, &o.name),
            Kind::Queue => {
                let project = ws.project(&a.project.clone());
                queue(project, &o.name)
            }
        }?;
        return Some((markdown, o.span));
    }
    let (start, end) = path_around(text, offset)?;
    let scoped = ws.analyze_at(uri, offset)?;
    let scope = scoped.analysis.index.scope_at(offset)?;
    let path = &text[start..end];
    let ty = type_of(path, scope)?;
    Some((
        format!("```\n{path}: {}\n```", render(&ty, 0)),
        crate::diagnostics::Span::new(a.file, start, end),
    ))
}

/// The dotted path ending with the segment at `offset`: `steps.charge` when the cursor is on
/// `charge` of `steps.charge.id`.
pub fn path_around(text: &str, offset: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut end = offset.min(bytes.len());
    while end < bytes.len() && is_word(bytes[end]) {
        end += 1;
    }
    let mut start = offset.min(end);
    while start > 0 && (is_word(bytes[start - 1]) || bytes[start - 1] == b'.') {
        start -= 1;
    }
    while start < end && bytes[start] == b'.' {
        start += 1;
    }
    (start < end && !bytes[start].is_ascii_digit()).then_some((start, end))
}

/// The static type of a dotted path in a scope; None when it does not check.
pub fn type_of(path: &str, scope: &TypeScope) -> Option<Ty> {
    let e = expr::parse_expr(path, crate::diagnostics::FileId(0), 0).ok()?;
    let (ty, diags) = expr::check_expr(&e, scope);
    diags.iter().all(|d| !d.is_error()).then_some(ty)
}

fn step(a: &Analyzed, id: &str) -> Option<String> {
    let field = a.analysis.index.results.get(id)?;
    let mut out = format!("```\nsteps.{id}: {}\n```", render(&field.ty, 0));
    note_may_not_have_run(&mut out, field);
    Some(out)
}

fn note_may_not_have_run(out: &mut String, field: &FieldTy) {
    match &field.ran {
        Ran::Surely => {}
        Ran::Maybe(step) => {
            let _ = write!(
                out,
                "\n\nMay not have run (`{step}` is conditional): guard reads with `has(steps.{step})`."
            );
        }
        Ran::Never(step) => {
            let _ = write!(
                out,
                "\n\nNever ran here: every way through `{step}` ends the run before this point."
            );
        }
    }
}

fn var(wf: &ast::Workflow, text: &str, name: &str) -> Option<String> {
    let (_, value) = wf.vars.iter().find(|(n, _)| n.value == name)?;
    let initial = text.get(value.span.start as usize..value.span.end as usize)?;
    Some(format!(
        "```\nvars.{name}\n```\nWorkflow variable, initially `{}`.",
        initial.trim()
    ))
}

fn fragment(file: &ast::File, name: &str) -> Option<String> {
    let f = file.fragment(name)?;
    let users: Vec<String> = file
        .workflows
        .iter()
        .filter(|w| uses(&w.steps, name) || w.updates.iter().any(|u| uses(&u.steps, name)))
        .map(|w| format!("`{}`", w.name.value))
        .collect();
    let mut out = format!(
        "```\nfragment {name}\n```\nFragment of {} step(s), inserted where `use {name}` appears",
        f.steps.len()
    );
    if users.is_empty() {
        out.push('.');
    } else {
        let _ = write!(out, "; used by {}.", users.join(", "));
    }
    Some(out)
}

/// Whether `steps` (at any depth) say `use NAME`; uses inside other fragments are not followed.
fn uses(steps: &[ast::Step], name: &str) -> bool {
    use ast::StepKind as K;
    steps.iter().any(|s| match &s.kind {
        K::Use(n) => n.value == name,
        K::Block { steps, else_steps } => {
            uses(steps, name) || uses(else_steps.as_deref().unwrap_or_default(), name)
        }
        K::Switch { arms, default } => {
            arms.iter().any(|a| uses(&a.steps, name))
                || uses(default.as_deref().unwrap_or_default(), name)
        }
        K::Parallel { branches, .. } => branches.iter().any(|(_, b)| uses(b, name)),
        K::Foreach { steps, .. } | K::While { steps, .. } => uses(steps, name),
        K::Try { steps, catches } => {
            uses(steps, name) || catches.iter().any(|c| uses(&c.steps, name))
        }
        _ => false,
    })
}

fn signal(wf: &ast::Workflow, name: &str) -> Option<String> {
    if let Some(u) = wf.updates.iter().find(|u| u.name.value == name) {
        let mut out = format!("```\nupdate {name}\n```\nUpdate");
        if u.validate.is_some() {
            out.push_str(" with a validator");
        }
        out.push_str(if u.result.is_some() {
            "; the caller receives its `result`."
        } else {
            "; the caller receives null."
        });
        return Some(out);
    }
    let s = wf.signals.iter().find(|s| s.name.value == name)?;
    let sets: Vec<String> = s
        .set
        .iter()
        .map(|(n, _)| format!("`{}`", n.value))
        .collect();
    let mut out = format!("```\nsignal {name}\n```\n");
    if sets.is_empty() {
        out.push_str("Signal; its handler sets nothing.");
    } else {
        let _ = write!(out, "Signal; its handler sets {}.", sets.join(", "));
    }
    Some(out)
}

fn activity(project: &Project, name: &str) -> Option<String> {
    let manifest = project.context.manifest.as_ref()?;
    let spec = manifest.activities.iter().find(|a| a.name == name)?;
    let mut out = format!("```\nactivity {name}\n```\n");
    if let Some(d) = &spec.description {
        let _ = writeln!(out, "{d}\n");
    }
    if let Some(input) = &spec.input {
        let ty = Ty::from_json_schema(input, "input");
        let _ = writeln!(out, "**input**: `{}`\n", render(&ty, 0));
    }
    if let Some(output) = &spec.output {
        let ty = Ty::from_json_schema(output, "output");
        let _ = writeln!(out, "**output**: `{}`\n", render(&ty, 0));
    }
    if !spec.errors.is_empty() {
        let _ = writeln!(out, "**errors**: {}\n", spec.errors.join(", "));
    }
    let d = &spec.defaults;
    let mut options = Vec::new();
    if let Some(t) = &d.timeout {
        options.push(format!("timeout {t}"));
    }
    if let Some(t) = &d.schedule_to_close {
        options.push(format!("schedule_to_close {t}"));
    }
    if let Some(t) = &d.heartbeat {
        options.push(format!("heartbeat {t}"));
    }
    if let Some(r) = &d.retry {
        let mut retry = Vec::new();
        if let Some(n) = r.max_attempts {
            retry.push(format!("max_attempts {n}"));
        }
        if let Some(i) = &r.initial_interval {
            retry.push(format!("initial_interval {i}"));
        }
        if let Some(b) = r.backoff {
            retry.push(format!("backoff {b}"));
        }
        if let Some(m) = &r.max_interval {
            retry.push(format!("max_interval {m}"));
        }
        if !r.non_retryable.is_empty() {
            retry.push(format!("non_retryable [{}]", r.non_retryable.join(", ")));
        }
        options.push(format!("retry {{ {} }}", retry.join(", ")));
    }
    if !options.is_empty() {
        let _ = writeln!(out, "**defaults**: {}", options.join(", "));
    }
    Some(out.trim_end().to_string())
}

fn child(ws: &Workspace, path: &std::path::Path, name: &str) -> Option<String> {
    let declared = ws.declared(path);
    let d = declared.iter().find(|d| d.workflow.name.value == name)?;
    let mut out = format!("```\nworkflow {name}\n```\n");
    if let Some(desc) = &d.workflow.description {
        let _ = writeln!(out, "{}\n", desc.value);
    }
    if let Some(input) = &d.workflow.input {
        let ty = Ty::from_json_schema(&input.value, "input");
        let _ = writeln!(out, "**input**: `{}`\n", render(&ty, 0));
    }
    let file = d.path.file_name().and_then(|f| f.to_str()).unwrap_or("");
    let _ = write!(out, "Defined in `{file}`.");
    Some(out)
}

fn queue(project: &Project, name: &str) -> Option<String> {
    let q = project.context.settings.queue(name)?;
    let mut out = format!("```\nqueue {name}\n```\nTask queue `{}`.", q.task_queue);
    let limits = [
        (
            "workflow tasks at once",
            q.max_concurrent_workflow_tasks.map(|n| n.to_string()),
        ),
        (
            "activities at once",
            q.max_concurrent_activities.map(|n| n.to_string()),
        ),
        ("workers", q.max_workers.map(|n| n.to_string())),
        ("activities per second", q.rate_limit.map(|n| n.to_string())),
    ];
    for (what, value) in limits {
        if let Some(v) = value {
            let _ = write!(out, "\n- at most {v} {what}");
        }
    }
    Some(out)
}

/// A type as an author reads it: objects spelt out with their fields (three levels deep).
pub fn render(ty: &Ty, depth: usize) -> String {
    match ty {
        Ty::Object(o) if depth < 3 => {
            if o.fields.is_empty() {
                return "{}".into();
            }
            let fields: Vec<String> = o
                .fields
                .iter()
                .map(|(name, f)| format!("{name}: {}", render(&f.ty, depth + 1)))
                .collect();
            let open = if o.closed { "" } else { ", …" };
            format!("{{ {}{open} }}", fields.join(", "))
        }
        Ty::List(item) if **item != Ty::Dyn => format!("list of {}", render(item, depth)),
        Ty::Optional(inner) => format!("{} or null", render(inner, depth)),
        other => other.to_string(),
    }
}
