//! `steps:` → [`Step`]s: which kind each step is, its keys, and its nested constructs.
//!
//! A step has exactly one kind (E041); nested constructs are calls, `catch`, `switch` cases,
//! `wait`, `sleep` and `fail`.

use super::keys::{
    CASE_KEYS, CATCH_KEYS, COMPENSATE_KEYS, FAIL_KEYS, SLEEP_KEYS, STEP_KINDS, WAIT_KEYS, step_keys,
};
use super::{Cx, Fields};
use crate::diagnostics::{Code, Diagnostic, Spanned, did_you_mean};
use crate::syntax::ast::*;
use crate::syntax::yaml::node::{Node, NodeKind};

impl Cx {
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
        let f = self.fields(node, &format!("a `{kind}` step"), step_keys(kind))?;
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
            "use" => StepKind::Use(self.string(primary, "`use`")?),
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
            priority: f.get("priority").map(|n| self.value(n)),
        })
    }

    fn catch(&mut self, node: &Node) -> Option<Catch> {
        let f = self.fields(node, "a `catch` clause", CATCH_KEYS)?;
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
            let Some(f) = self.fields(arm, "a `switch` case", CASE_KEYS) else {
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
                others: Vec::new(),
                mode: WaitMode::One,
                until: None,
                timeout: None,
                on_timeout: None,
            });
        }
        let f = self.fields(node, "`wait`", WAIT_KEYS)?;
        let given: Vec<&str> = ["signal", "any", "all"]
            .into_iter()
            .filter(|k| f.has(k))
            .collect();
        if given.len() > 1 {
            self.error(
                Diagnostic::new(
                    Code::E006,
                    node.span,
                    format!("`wait` takes one of `signal`, `any` and `all`, not {}", given.join(" and ")),
                )
                .help("`signal: NAME` waits for one message, `any: [A, B]` for the first of several, `all: [A, B]` for one of each"),
            );
            return None;
        }
        let (signal, others, mode) = match given.first() {
            Some(&"signal") => (
                self.string(f.get("signal")?, "`signal`")?,
                Vec::new(),
                WaitMode::One,
            ),
            Some(key) => {
                let mode = if *key == "any" {
                    WaitMode::Any
                } else {
                    WaitMode::All
                };
                let list = f.get(key)?;
                let mut names: Vec<Name> = self
                    .list(list, &format!("`{key}`"))
                    .iter()
                    .filter_map(|n| self.string(n, "a signal or update name"))
                    .collect();
                if names.is_empty() {
                    self.error(
                        Diagnostic::new(
                            Code::E006,
                            list.span,
                            format!("`{key}` names no signal or update"),
                        )
                        .help(format!(
                            "list the messages to wait for: `{key}: [approve, reject]`"
                        )),
                    );
                    return None;
                }
                let first = names.remove(0);
                (first, names, mode)
            }
            None => {
                self.error(
                    Diagnostic::new(Code::E006, node.span, "`wait` needs a `signal`")
                        .help("add `signal: NAME` (a signal or update declared under `signals:` or `updates:`), or `any:`/`all:` with a list of them"),
                );
                return None;
            }
        };
        Some(StepKind::Wait {
            signal,
            others,
            mode,
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
                let f = self.fields(node, "`sleep`", SLEEP_KEYS)?;
                f.get("until").map(|n| Sleep::Until(self.value(n)))
            }
            _ => self.duration(node, "`sleep`").map(Sleep::For),
        }
    }

    fn fail(&mut self, node: &Node) -> Option<StepKind> {
        let f = self.fields(node, "`fail`", FAIL_KEYS)?;
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
