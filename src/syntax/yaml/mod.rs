//! The YAML form: text → spanned nodes (`node`) → AST, collecting every diagnostic.

pub mod node;

use super::ast::*;
use super::duration;
use crate::diagnostics::{Code, Diagnostic, FileId, Span, Spanned, did_you_mean};
use crate::expr;
use node::{Node, NodeKind};
use std::time::Duration;

/// Reads a `.stave.yaml` workflow file. Never fails: returns what it could read.
pub fn load(file: FileId, text: &str) -> (Option<Workflow>, Vec<Diagnostic>) {
    let (root, mut diagnostics) = node::parse(file, text);
    let Some(root) = root else {
        if diagnostics.is_empty() {
            diagnostics.push(
                Diagnostic::new(Code::E006, Span::new(file, 0, 0), "the file is empty")
                    .help("a workflow file starts with `stave: 1`, `workflow: NAME` and `steps:`"),
            );
        }
        return (None, diagnostics);
    };
    let mut cx = Cx::new(file, diagnostics);
    let workflow = cx.workflow(&root);
    (workflow, cx.diagnostics)
}

/// Conversion context: the file and the diagnostics collected so far.
pub(crate) struct Cx {
    pub file: FileId,
    pub diagnostics: Vec<Diagnostic>,
    /// Templates already parsed in this file, by text, with spans from offset 0: workflow
    /// files repeat the same expressions (`${ input.order_id }`) many times, and placing a
    /// parsed tree costs far less than running the grammar again.
    templates: std::collections::HashMap<String, expr::Template>,
}

impl Cx {
    pub fn new(file: FileId, diagnostics: Vec<Diagnostic>) -> Cx {
        Cx {
            file,
            diagnostics,
            templates: std::collections::HashMap::new(),
        }
    }

    /// Parses a string scalar as a template, reusing an earlier parse of the same text.
    fn template(&mut self, s: &str, node: &Node) -> Result<expr::Template, Diagnostic> {
        let Some(offset) = node.text_offset else {
            return expr::parse_template(s, self.file, None, node.span);
        };
        if !s.contains("${") {
            return expr::parse_template(s, self.file, Some(offset), node.span);
        }
        if let Some(cached) = self.templates.get(s) {
            let mut t = cached.clone();
            t.relocate(self.file, offset as u32);
            return Ok(t);
        }
        let parsed = expr::parse_template(s, self.file, Some(offset), node.span)?;
        let mut relative = parsed.clone();
        relative.relocate(self.file, 0u32.wrapping_sub(offset as u32));
        self.templates.insert(s.to_string(), relative);
        Ok(parsed)
    }
}

/// The entries of one mapping, with unknown keys already reported.
pub(crate) struct Fields<'n> {
    pub entries: Vec<(Name, &'n Node)>,
    pub span: Span,
}

impl<'n> Fields<'n> {
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.value == key)
            .map(|(_, v)| *v)
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

pub(crate) const WORKFLOW_KEYS: &[&str] = &[
    "stave",
    "workflow",
    "description",
    "queue",
    "timeout",
    "input",
    "vars",
    "defaults",
    "signals",
    "queries",
    "steps",
    "output",
    "schedules",
    "search_attributes",
    "memo",
    "continue_as_new_after",
];
pub(crate) const OPTION_KEYS: &[&str] = &[
    "queue",
    "task_queue",
    "timeout",
    "schedule_to_close",
    "schedule_to_start",
    "heartbeat",
    "retry",
    "summary",
];
pub(crate) const RETRY_KEYS: &[&str] = &[
    "max_attempts",
    "initial_interval",
    "backoff",
    "max_interval",
    "non_retryable",
];
pub(crate) const STEP_KINDS: &[&str] = &[
    "activity", "workflow", "foreach", "while", "steps", "switch", "parallel", "wait", "sleep",
    "set", "try", "fail", "return", "rethrow",
];
pub(crate) const ACTIVITY_KEYS: &[&str] = &[
    "id",
    "if",
    "activity",
    "input",
    "args",
    "queue",
    "task_queue",
    "timeout",
    "schedule_to_close",
    "schedule_to_start",
    "heartbeat",
    "retry",
    "summary",
    "compensate",
];
pub(crate) const COMPENSATE_KEYS: &[&str] = &[
    "activity",
    "input",
    "args",
    "queue",
    "task_queue",
    "timeout",
    "schedule_to_close",
    "schedule_to_start",
    "heartbeat",
    "retry",
    "summary",
];
pub(crate) const CHILD_KEYS: &[&str] = &[
    "id",
    "if",
    "workflow",
    "input",
    "args",
    "workflow_id",
    "queue",
    "task_queue",
    "timeout",
    "parent_close",
    "retry",
];

impl Cx {
    pub fn error(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    fn wrong(&mut self, node: &Node, expected: &str, what: &str) {
        self.error(
            Diagnostic::new(
                Code::E004,
                node.span,
                format!("{what} takes {expected}, found {}", node.describe()),
            )
            .label(format!("expected {expected}")),
        );
    }

    /// A mapping's entries; unknown keys are reported with a "did you mean".
    pub fn fields<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        allowed: &[&str],
    ) -> Option<Fields<'n>> {
        let NodeKind::Map(entries) = &node.kind else {
            self.wrong(node, "a mapping", what);
            return None;
        };
        let mut out = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let name = Spanned::new(k.key_text(), k.span);
            if !allowed.contains(&name.value.as_str()) {
                let mut d = Diagnostic::new(
                    Code::E005,
                    k.span,
                    format!("unknown key `{}` in {what}", name.value),
                )
                .label("unknown key");
                d.help = Some(match did_you_mean(&name.value, allowed.iter().copied()) {
                    Some(hint) => hint,
                    None => format!("the keys of {what} are: {}", allowed.join(", ")),
                });
                self.error(d);
                continue;
            }
            out.push((name, v));
        }
        Some(Fields {
            entries: out,
            span: node.span,
        })
    }

    /// An open mapping (any keys): pairs of name and node.
    pub fn map_entries<'n>(&mut self, node: &'n Node, what: &str) -> Vec<(Name, &'n Node)> {
        match &node.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .map(|(k, v)| (Spanned::new(k.key_text(), k.span), v))
                .collect(),
            NodeKind::Null => Vec::new(),
            _ => {
                self.wrong(node, "a mapping", what);
                Vec::new()
            }
        }
    }

    pub fn list<'n>(&mut self, node: &'n Node, what: &str) -> &'n [Node] {
        match &node.kind {
            NodeKind::Seq(items) => items,
            NodeKind::Null => &[],
            _ => {
                self.wrong(node, "a list", what);
                &[]
            }
        }
    }

    pub fn string(&mut self, node: &Node, what: &str) -> Option<Spanned<String>> {
        match &node.kind {
            NodeKind::Str(s) => Some(Spanned::new(s.clone(), node.span)),
            _ => {
                self.wrong(node, "a string", what);
                None
            }
        }
    }

    pub fn int(&mut self, node: &Node, what: &str) -> Option<Spanned<i64>> {
        match node.kind {
            NodeKind::Int(i) => Some(Spanned::new(i, node.span)),
            _ => {
                self.wrong(node, "an integer", what);
                None
            }
        }
    }

    pub fn number(&mut self, node: &Node, what: &str) -> Option<Spanned<f64>> {
        match node.kind {
            NodeKind::Int(i) => Some(Spanned::new(i as f64, node.span)),
            NodeKind::Float(f) => Some(Spanned::new(f, node.span)),
            _ => {
                self.wrong(node, "a number", what);
                None
            }
        }
    }

    pub fn bool(&mut self, node: &Node, what: &str) -> Option<Spanned<bool>> {
        match node.kind {
            NodeKind::Bool(b) => Some(Spanned::new(b, node.span)),
            _ => {
                self.wrong(node, "`true` or `false`", what);
                None
            }
        }
    }

    pub fn duration(&mut self, node: &Node, what: &str) -> Option<Spanned<Duration>> {
        let text = match &node.kind {
            NodeKind::Str(s) => s.clone(),
            NodeKind::Int(i) => i.to_string(),
            NodeKind::Float(f) => f.to_string(),
            _ => {
                self.wrong(node, "a duration such as `30s`", what);
                return None;
            }
        };
        match duration::parse(&text) {
            Ok(d) => Some(Spanned::new(d, node.span)),
            Err(why) => {
                self.error(
                    Diagnostic::new(Code::E008, node.span, format!("invalid duration for {what}: {why}"))
                        .label("not a duration")
                        .help("write durations as `500ms`, `30s`, `5m`, `2h`, `1d`, `1h30m` or ISO 8601 `PT30S`"),
                );
                None
            }
        }
    }

    /// A value slot: data with `${ }` templates inside strings.
    pub fn value(&mut self, node: &Node) -> Value {
        let kind = match &node.kind {
            NodeKind::Null => ValueKind::Null,
            NodeKind::Bool(b) => ValueKind::Bool(*b),
            NodeKind::Int(i) => ValueKind::Int(*i),
            NodeKind::Float(f) => ValueKind::Float(*f),
            NodeKind::Str(s) => match self.template(s, node) {
                Ok(t) => ValueKind::Str(t),
                Err(d) => {
                    self.error(d);
                    ValueKind::Null
                }
            },
            NodeKind::Seq(items) => ValueKind::List(items.iter().map(|n| self.value(n)).collect()),
            NodeKind::Map(entries) => ValueKind::Map(
                entries
                    .iter()
                    .map(|(k, v)| (Spanned::new(k.key_text(), k.span), self.value(v)))
                    .collect(),
            ),
        };
        Value {
            kind,
            span: node.span,
        }
    }

    fn named_values(&mut self, node: &Node, what: &str) -> Vec<(Name, Value)> {
        self.map_entries(node, what)
            .into_iter()
            .map(|(k, v)| (k, self.value(v)))
            .collect()
    }

    fn names(&mut self, node: &Node, what: &str) -> Vec<Name> {
        match &node.kind {
            NodeKind::Str(s) => vec![Spanned::new(s.clone(), node.span)],
            _ => self
                .list(node, what)
                .iter()
                .filter_map(|n| self.string(n, what))
                .collect(),
        }
    }

    fn workflow(&mut self, root: &Node) -> Option<Workflow> {
        let f = self.fields(root, "a workflow file", WORKFLOW_KEYS)?;
        let version = f.get("stave").and_then(|n| self.int(n, "`stave`"));
        let name = match f.get("workflow") {
            Some(n) => self.string(n, "`workflow`")?,
            None => {
                self.error(
                    Diagnostic::new(
                        Code::E006,
                        Span::new(
                            self.file,
                            root.span.start as usize,
                            root.span.start as usize,
                        ),
                        "the workflow has no name",
                    )
                    .help("add `workflow: my-workflow` (its Temporal workflow type)"),
                );
                Spanned::new(String::new(), root.span)
            }
        };
        if !f.has("steps") {
            self.error(
                Diagnostic::new(Code::E006, name.span, "the workflow has no `steps:`")
                    .help("add `steps:` with the list of steps to run"),
            );
        }
        let steps = f.get("steps").map(|n| self.steps(n)).unwrap_or_default();
        let signals = f
            .get("signals")
            .map(|n| {
                self.map_entries(n, "`signals`")
                    .into_iter()
                    .map(|(name, v)| {
                        let set = match &v.kind {
                            NodeKind::Null => Vec::new(),
                            _ => self
                                .fields(v, "a signal handler", &["set"])
                                .and_then(|h| h.get("set"))
                                .map(|s| self.named_values(s, "`set`"))
                                .unwrap_or_default(),
                        };
                        Signal {
                            name,
                            set,
                            span: v.span,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let schedules = f
            .get("schedules")
            .map(|n| {
                self.list(n, "`schedules`")
                    .iter()
                    .filter_map(|s| self.schedule(s))
                    .collect()
            })
            .unwrap_or_default();
        Some(Workflow {
            file: self.file,
            span: root.span,
            version,
            name,
            description: f
                .get("description")
                .and_then(|n| self.string(n, "`description`")),
            queue: f.get("queue").and_then(|n| self.string(n, "`queue`")),
            timeout: f
                .get("timeout")
                .and_then(|n| self.duration(n, "the workflow `timeout`")),
            input: f.get("input").map(|n| Spanned::new(n.to_json(), n.span)),
            vars: f
                .get("vars")
                .map(|n| self.named_values(n, "`vars`"))
                .unwrap_or_default(),
            defaults: f.get("defaults").and_then(|n| {
                let d = self.fields(n, "`defaults`", OPTION_KEYS)?;
                Some(self.options_of(&d))
            }),
            signals,
            queries: f
                .get("queries")
                .map(|n| self.named_values(n, "`queries`"))
                .unwrap_or_default(),
            steps,
            output: f.get("output").map(|n| self.value(n)),
            schedules,
            search_attributes: f
                .get("search_attributes")
                .map(|n| self.named_values(n, "`search_attributes`"))
                .unwrap_or_default(),
            memo: f
                .get("memo")
                .map(|n| self.named_values(n, "`memo`"))
                .unwrap_or_default(),
            continue_as_new_after: f.get("continue_as_new_after").and_then(|n| {
                self.int(n, "`continue_as_new_after`")
                    .map(|i| Spanned::new(i.value.max(0) as u64, i.span))
            }),
        })
    }

    fn schedule(&mut self, node: &Node) -> Option<Schedule> {
        let f = self.fields(
            node,
            "a schedule",
            &[
                "id", "cron", "every", "timezone", "overlap", "paused", "input",
            ],
        )?;
        let id = match f.get("id") {
            Some(n) => self.string(n, "a schedule `id`")?,
            None => {
                self.error(
                    Diagnostic::new(Code::E006, node.span, "a schedule needs an `id`")
                        .help("add `id: nightly` (unique in the project)"),
                );
                return None;
            }
        };
        Some(Schedule {
            id,
            cron: f.get("cron").and_then(|n| self.string(n, "`cron`")),
            every: f.get("every").and_then(|n| self.duration(n, "`every`")),
            timezone: f.get("timezone").and_then(|n| self.string(n, "`timezone`")),
            overlap: f.get("overlap").and_then(|n| self.string(n, "`overlap`")),
            paused: f.get("paused").and_then(|n| self.bool(n, "`paused`")),
            input: f.get("input").map(|n| self.value(n)),
            span: node.span,
        })
    }

    pub fn options_of(&mut self, f: &Fields<'_>) -> ActivityOptions {
        ActivityOptions {
            queue: f.get("queue").and_then(|n| self.string(n, "`queue`")),
            task_queue: f
                .get("task_queue")
                .and_then(|n| self.string(n, "`task_queue`")),
            timeout: f.get("timeout").and_then(|n| self.duration(n, "`timeout`")),
            schedule_to_close: f
                .get("schedule_to_close")
                .and_then(|n| self.duration(n, "`schedule_to_close`")),
            schedule_to_start: f
                .get("schedule_to_start")
                .and_then(|n| self.duration(n, "`schedule_to_start`")),
            heartbeat: f
                .get("heartbeat")
                .and_then(|n| self.duration(n, "`heartbeat`")),
            retry: f.get("retry").and_then(|n| self.retry(n)),
            summary: f.get("summary").map(|n| self.value(n)),
            span: f.span,
        }
    }

    fn retry(&mut self, node: &Node) -> Option<Retry> {
        let f = self.fields(node, "`retry`", RETRY_KEYS)?;
        Some(Retry {
            max_attempts: f
                .get("max_attempts")
                .and_then(|n| self.int(n, "`max_attempts`")),
            initial_interval: f
                .get("initial_interval")
                .and_then(|n| self.duration(n, "`initial_interval`")),
            backoff: f.get("backoff").and_then(|n| self.number(n, "`backoff`")),
            max_interval: f
                .get("max_interval")
                .and_then(|n| self.duration(n, "`max_interval`")),
            non_retryable: f
                .get("non_retryable")
                .map(|n| self.names(n, "`non_retryable`"))
                .unwrap_or_default(),
            span: node.span,
        })
    }

    pub fn steps(&mut self, node: &Node) -> Vec<Step> {
        self.list(node, "`steps`")
            .iter()
            .filter_map(|n| self.step(n))
            .collect()
    }

    fn step(&mut self, node: &Node) -> Option<Step> {
        let NodeKind::Map(entries) = &node.kind else {
            self.wrong(node, "a mapping", "a step");
            return None;
        };
        let present: Vec<&str> = entries
            .iter()
            .filter_map(|(k, _)| k.as_str())
            .filter(|k| STEP_KINDS.contains(k))
            .collect();
        // `foreach` and `while` own a `steps:` body; `steps:` alone is a block.
        let kind = if present.contains(&"foreach") {
            "foreach"
        } else if present.contains(&"while") {
            "while"
        } else {
            match present.as_slice() {
                [one] => one,
                [] => {
                    let mut d =
                        Diagnostic::new(Code::E041, node.span, "this step does not say what to do")
                            .label("no step kind");
                    let keys: Vec<String> = entries.iter().map(|(k, _)| k.key_text()).collect();
                    let hint = keys
                        .iter()
                        .find_map(|k| did_you_mean(k, STEP_KINDS.iter().copied()));
                    d.help = Some(hint.unwrap_or_else(|| {
                        format!("give it exactly one of: {}", STEP_KINDS.join(", "))
                    }));
                    self.error(d);
                    return None;
                }
                many => {
                    self.error(
                        Diagnostic::new(
                            Code::E041,
                            node.span,
                            format!("this step has several kinds: {}", many.join(", ")),
                        )
                        .help("a step does one thing: split it into several steps"),
                    );
                    return None;
                }
            }
        };
        let allowed: &[&str] = match kind {
            "activity" => ACTIVITY_KEYS,
            "workflow" => CHILD_KEYS,
            "foreach" => &["id", "if", "foreach", "as", "concurrency", "steps"],
            "while" => &["id", "if", "while", "max_iterations", "steps"],
            "steps" => &["id", "if", "steps", "else"],
            "try" => &["id", "if", "try", "catch"],
            "parallel" => &["id", "if", "parallel", "race"],
            "switch" => &["id", "if", "switch"],
            "wait" => &["id", "if", "wait"],
            "sleep" => &["id", "if", "sleep"],
            "set" => &["id", "if", "set"],
            "fail" => &["id", "if", "fail"],
            "return" => &["id", "if", "return"],
            _ => &["id", "if", "rethrow"],
        };
        let f = self.fields(node, &format!("a `{kind}` step"), allowed)?;
        let id = f.get("id").and_then(|n| self.string(n, "a step `id`"));
        let when = f.get("if").map(|n| self.value(n));
        let primary = f.get(kind)?;
        let kind = match kind {
            "activity" => StepKind::Activity(self.activity_call(&f, primary)?),
            "workflow" => StepKind::Workflow(self.child_call(&f, primary)?),
            "foreach" => StepKind::Foreach {
                over: self.value(primary),
                item: f.get("as").and_then(|n| self.string(n, "`as`")),
                concurrency: f
                    .get("concurrency")
                    .and_then(|n| self.int(n, "`concurrency`")),
                steps: self.body(&f, node, "a `foreach`"),
            },
            "while" => StepKind::While {
                cond: self.value(primary),
                max_iterations: f
                    .get("max_iterations")
                    .and_then(|n| self.int(n, "`max_iterations`")),
                steps: self.body(&f, node, "a `while`"),
            },
            "steps" => StepKind::Block {
                steps: self.steps(primary),
                else_steps: f.get("else").map(|n| self.steps(n)),
            },
            "try" => StepKind::Try {
                steps: self.steps(primary),
                catches: f
                    .get("catch")
                    .map(|n| {
                        self.list(n, "`catch`")
                            .iter()
                            .filter_map(|c| self.catch(c))
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            "parallel" => StepKind::Parallel {
                branches: self
                    .map_entries(primary, "`parallel`")
                    .into_iter()
                    .map(|(name, body)| (name, self.steps(body)))
                    .collect(),
                race: f
                    .get("race")
                    .and_then(|n| self.bool(n, "`race`"))
                    .is_some_and(|b| b.value),
            },
            "switch" => self.switch(primary),
            "wait" => self.wait(primary)?,
            "sleep" => StepKind::Sleep(self.sleep(primary)?),
            "set" => StepKind::Set(self.named_values(primary, "`set`")),
            "fail" => self.fail(primary)?,
            "return" => StepKind::Return(self.value(primary)),
            _ => StepKind::Rethrow,
        };
        Some(Step {
            id,
            when,
            kind,
            span: node.span,
        })
    }

    fn body(&mut self, f: &Fields<'_>, node: &Node, what: &str) -> Vec<Step> {
        match f.get("steps") {
            Some(n) => self.steps(n),
            None => {
                self.error(
                    Diagnostic::new(Code::E006, node.span, format!("{what} needs `steps:`"))
                        .help("add `steps:` with the body to repeat"),
                );
                Vec::new()
            }
        }
    }

    fn args(&mut self, f: &Fields<'_>) -> Option<Spanned<Vec<Value>>> {
        f.get("args").map(|n| {
            let items = self
                .list(n, "`args`")
                .iter()
                .map(|a| self.value(a))
                .collect();
            Spanned::new(items, n.span)
        })
    }

    fn activity_call(&mut self, f: &Fields<'_>, primary: &Node) -> Option<ActivityCall> {
        let activity = self.string(primary, "`activity`")?;
        let compensate = f.get("compensate").and_then(|n| {
            let c = self.fields(n, "`compensate`", COMPENSATE_KEYS)?;
            match c.get("activity") {
                Some(a) => self.activity_call(&c, a).map(Box::new),
                None => {
                    self.error(
                        Diagnostic::new(Code::E006, n.span, "`compensate` needs an `activity`")
                            .help("add `activity: NAME` of the undo activity"),
                    );
                    None
                }
            }
        });
        Some(ActivityCall {
            activity,
            input: f.get("input").map(|n| self.value(n)),
            args: self.args(f),
            options: self.options_of(f),
            compensate,
        })
    }

    fn child_call(&mut self, f: &Fields<'_>, primary: &Node) -> Option<ChildCall> {
        Some(ChildCall {
            workflow: self.string(primary, "`workflow`")?,
            input: f.get("input").map(|n| self.value(n)),
            args: self.args(f),
            workflow_id: f.get("workflow_id").map(|n| self.value(n)),
            queue: f.get("queue").and_then(|n| self.string(n, "`queue`")),
            task_queue: f
                .get("task_queue")
                .and_then(|n| self.string(n, "`task_queue`")),
            timeout: f.get("timeout").and_then(|n| self.duration(n, "`timeout`")),
            parent_close: f
                .get("parent_close")
                .and_then(|n| self.string(n, "`parent_close`")),
            retry: f.get("retry").and_then(|n| self.retry(n)),
        })
    }

    fn catch(&mut self, node: &Node) -> Option<Catch> {
        let f = self.fields(node, "a `catch` clause", &["errors", "when", "as", "steps"])?;
        Some(Catch {
            errors: f
                .get("errors")
                .map(|n| self.names(n, "`errors`"))
                .unwrap_or_default(),
            when: f.get("when").map(|n| self.value(n)),
            name: f.get("as").and_then(|n| self.string(n, "`as`")),
            steps: f.get("steps").map(|n| self.steps(n)).unwrap_or_default(),
            span: node.span,
        })
    }

    fn switch(&mut self, node: &Node) -> StepKind {
        let mut arms = Vec::new();
        let mut default = None;
        for arm in self.list(node, "`switch`") {
            let Some(f) = self.fields(arm, "a `switch` case", &["when", "steps", "default"]) else {
                continue;
            };
            if let Some(d) = f.get("default") {
                default = Some(self.steps(d));
                continue;
            }
            match f.get("when") {
                Some(w) => {
                    let when = self.value(w);
                    let steps = f.get("steps").map(|n| self.steps(n)).unwrap_or_default();
                    arms.push(SwitchArm {
                        when,
                        steps,
                        span: arm.span,
                    });
                }
                None => self.error(
                    Diagnostic::new(
                        Code::E006,
                        arm.span,
                        "a `switch` case needs `when:` (or is `default:`)",
                    )
                    .help("write `- when: \"${ cond }\"` with `steps:`, or `- default: [...]`"),
                ),
            }
        }
        StepKind::Switch { arms, default }
    }

    fn wait(&mut self, node: &Node) -> Option<StepKind> {
        if let NodeKind::Str(s) = &node.kind {
            return Some(StepKind::Wait {
                signal: Spanned::new(s.clone(), node.span),
                until: None,
                timeout: None,
                on_timeout: None,
            });
        }
        let f = self.fields(
            node,
            "`wait`",
            &["signal", "until", "timeout", "on_timeout"],
        )?;
        let signal = match f.get("signal") {
            Some(n) => self.string(n, "`signal`")?,
            None => {
                self.error(
                    Diagnostic::new(Code::E006, node.span, "`wait` needs a `signal`")
                        .help("add `signal: NAME` (a signal declared under `signals:`)"),
                );
                return None;
            }
        };
        Some(StepKind::Wait {
            signal,
            until: f.get("until").map(|n| self.value(n)),
            timeout: f
                .get("timeout")
                .and_then(|n| self.duration(n, "the wait `timeout`")),
            on_timeout: f
                .get("on_timeout")
                .and_then(|n| self.string(n, "`on_timeout`")),
        })
    }

    fn sleep(&mut self, node: &Node) -> Option<Sleep> {
        match &node.kind {
            NodeKind::Str(s) if s.contains("${") => Some(Sleep::Expr(self.value(node))),
            NodeKind::Int(_) | NodeKind::Float(_) => Some(Sleep::Expr(self.value(node))),
            NodeKind::Map(_) => {
                let f = self.fields(node, "`sleep`", &["until"])?;
                f.get("until").map(|n| Sleep::Until(self.value(n)))
            }
            _ => self.duration(node, "`sleep`").map(Sleep::For),
        }
    }

    fn fail(&mut self, node: &Node) -> Option<StepKind> {
        let f = self.fields(node, "`fail`", &["type", "message", "details"])?;
        let Some(error_type) = f.get("type").map(|n| self.value(n)) else {
            self.error(
                Diagnostic::new(Code::E006, node.span, "`fail` needs a `type`").help(
                    "add `type: OrderRejected` (the error type callers and `catch` match on)",
                ),
            );
            return None;
        };
        Some(StepKind::Fail {
            error_type,
            message: f.get("message").map(|n| self.value(n)),
            details: f.get("details").map(|n| self.value(n)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repeated template is parsed once and placed at each of its positions.
    #[test]
    fn repeated_templates_keep_their_own_spans() {
        let text = "stave: 1\nworkflow: w\nsteps:\n  - set: { a: \"${ input.x + 1 }\" }\n  - set: { a: \"${ input.x + 1 }\" }\n";
        let (wf, diags) = load(FileId(3), text);
        assert!(diags.is_empty(), "{diags:?}");
        let wf = wf.expect("workflow");
        let mut spans = Vec::new();
        for step in &wf.steps {
            let StepKind::Set(set) = &step.kind else {
                panic!("set")
            };
            let ValueKind::Str(expr::Template::Expr(e)) = &set[0].1.kind else {
                panic!("expr")
            };
            assert_eq!(e.span.file, FileId(3));
            spans.push(&text[e.span.start as usize..e.span.end as usize]);
            let crate::expr::ExprKind::Binary { lhs, .. } = &e.kind else {
                panic!("binary")
            };
            spans.push(&text[lhs.span.start as usize..lhs.span.end as usize]);
        }
        assert_eq!(spans, ["input.x + 1", "input.x", "input.x + 1", "input.x"]);
    }
}
