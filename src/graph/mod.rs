//! `stave graph`: a checked workflow's control flow as a graph, rendered as Mermaid or DOT.
//!
//! [`build`] walks the IR once into a renderer-neutral [`Graph`] (nodes, nested clusters,
//! edges); `mermaid` and `dot` only print it. Node ids come from step indices (`s4`, `s4_join`,
//! `c6` for the cluster of step 6), so the output is deterministic and diffs stay small when a
//! workflow changes.

pub mod dot;
pub mod inject;
pub mod mermaid;
pub mod run;
mod text;

use crate::ir::{self, Step, StepKind};

/// A workflow's control flow: nodes and clusters in creation order, then the edges.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    /// The workflow type.
    pub title: String,
    pub items: Vec<Item>,
    pub edges: Vec<Edge>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Node(Node),
    Cluster(Cluster),
}

/// A box around a region: a loop body, a try region, a named block.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    pub id: String,
    pub label: String,
    pub kind: ClusterKind,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterKind {
    Loop,
    Try,
    Block,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: String,
    /// Label lines, plain text (renderers escape them).
    pub lines: Vec<String>,
    pub shape: Shape,
}

/// What a node stands for; each renderer maps it to a shape and a style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Start,
    Done,
    Failed,
    Activity,
    Child,
    /// `if`, `switch`, a `while` condition, a step's guard.
    Decision,
    /// The fork and the join of `parallel`.
    Fork,
    /// The head of a `foreach`.
    ForEach,
    Wait,
    Sleep,
    Set,
    /// `fail` and `rethrow`.
    Raise,
    Return,
    /// A compensating activity.
    Undo,
    /// A placeholder (an empty `try`).
    Note,
}

/// Where an edge starts: a node, or a whole cluster (catch edges leave a try region).
#[derive(Debug, Clone, PartialEq)]
pub enum Endpoint {
    Node(String),
    Cluster(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub from: Endpoint,
    pub to: String,
    pub label: Option<String>,
    pub kind: EdgeKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// Control passes on.
    Flow,
    /// An error caught by a `catch` clause.
    Catch,
    /// The saga unwinding: from the failure back through each compensation.
    Compensate,
    /// A step and its compensation: drawn invisibly, it keeps the two side by side.
    Undoes,
}

impl Graph {
    /// The first node inside the cluster `id`, depth first (DOT anchors cluster edges on it).
    pub fn anchor(&self, id: &str) -> Option<&str> {
        fn find<'a>(items: &'a [Item], id: &str) -> Option<&'a Cluster> {
            items.iter().find_map(|item| match item {
                Item::Cluster(c) if c.id == id => Some(c),
                Item::Cluster(c) => find(&c.items, id),
                Item::Node(_) => None,
            })
        }
        fn first(items: &[Item]) -> Option<&str> {
            items.iter().find_map(|item| match item {
                Item::Node(n) => Some(n.id.as_str()),
                Item::Cluster(c) => first(&c.items),
            })
        }
        first(&find(&self.items, id)?.items)
    }

    /// Every node, depth first, in creation order.
    pub fn nodes(&self) -> Vec<&Node> {
        fn go<'a>(items: &'a [Item], out: &mut Vec<&'a Node>) {
            for item in items {
                match item {
                    Item::Node(n) => out.push(n),
                    Item::Cluster(c) => go(&c.items, out),
                }
            }
        }
        let mut out = Vec::new();
        go(&self.items, &mut out);
        out
    }
}

/// Builds the control-flow graph of a checked workflow.
pub fn build(workflow: &ir::Workflow) -> Graph {
    let mut b = Builder {
        updates: workflow.updates.iter().map(|u| u.name.clone()).collect(),
        ..Builder::default()
    };
    let mut items = vec![node("start", Shape::Start, vec!["start".into()])];
    let exits = b.steps(&workflow.steps, &mut items, vec![Exit::from_node("start")]);
    if !exits.is_empty() || b.done {
        b.link(exits, "done");
        items.push(node("done", Shape::Done, vec!["done".into()]));
    }
    for (k, handler) in workflow.updates.iter().enumerate() {
        if !handler.steps.is_empty() {
            items.push(Item::Cluster(b.handler(k, handler)));
        }
    }
    if b.failed || !b.undo.is_empty() {
        items.push(node("failed", Shape::Failed, vec!["failed".into()]));
    }
    // The saga unwinds in reverse: the failure leads to the last compensation, and each
    // compensation to the one registered before it.
    let mut previous = "failed".to_string();
    for (n, undo) in b.undo.iter().rev().enumerate() {
        let id = format!("s{}_undo", undo.index);
        items.push(node(
            &id,
            Shape::Undo,
            vec![
                text::clip(&format!("undo {}", undo.step)),
                text::clip(&undo.activity),
            ],
        ));
        b.edges.push(Edge {
            from: Endpoint::Node(format!("s{}", undo.index)),
            to: id.clone(),
            label: None,
            kind: EdgeKind::Undoes,
        });
        b.edges.push(Edge {
            from: Endpoint::Node(previous),
            to: id.clone(),
            label: (n == 0).then(|| "compensate".to_string()),
            kind: EdgeKind::Compensate,
        });
        previous = id;
    }
    Graph {
        title: workflow.name.clone(),
        items,
        edges: b.edges,
    }
}

fn node(id: &str, shape: Shape, lines: Vec<String>) -> Item {
    Item::Node(Node {
        id: id.to_string(),
        lines,
        shape,
    })
}

/// A dangling edge: where control leaves a fragment, waiting for the next step to attach.
#[derive(Debug, Clone)]
struct Exit {
    from: Endpoint,
    label: Option<String>,
    kind: EdgeKind,
}

impl Exit {
    fn from_node(id: &str) -> Exit {
        Exit {
            from: Endpoint::Node(id.to_string()),
            label: None,
            kind: EdgeKind::Flow,
        }
    }

    fn labelled(id: &str, label: impl Into<String>) -> Exit {
        Exit {
            label: Some(label.into()),
            ..Exit::from_node(id)
        }
    }
}

/// A step with a `compensate:`, in registration (pre-)order.
#[derive(Debug)]
struct Undo {
    index: u32,
    step: String,
    activity: String,
}

#[derive(Debug, Default)]
struct Builder {
    edges: Vec<Edge>,
    undo: Vec<Undo>,
    /// Something leads to the `failed` node.
    failed: bool,
    /// A `return` leads to the `done` node.
    done: bool,
    /// How many `try` bodies enclose the current step: a raise inside one is drawn by the
    /// region's catch edges, not by an edge to `failed`.
    try_depth: u32,
    /// The workflow's update names: a `wait` on one says "update", not "signal".
    updates: Vec<String>,
    /// Inside an update handler: where its `return` and its uncaught errors lead.
    handler: Option<HandlerEnds>,
}

/// The ends of an update handler's cluster: the answer, and the rejection (drawn when used).
#[derive(Debug)]
struct HandlerEnds {
    answer: String,
    rejected: String,
    rejects: bool,
}

impl Builder {
    /// An update handler with steps: a cluster from `update NAME` through its steps to its
    /// answer; a `return` answers early, an uncaught error rejects the update (not the run).
    fn handler(&mut self, k: usize, handler: &ir::UpdateHandler) -> Cluster {
        let start = format!("u{k}");
        let label = text::clip(&format!("update {}", handler.name));
        let mut items = vec![node(&start, Shape::Start, vec![label.clone()])];
        self.handler = Some(HandlerEnds {
            answer: format!("u{k}_answer"),
            rejected: format!("u{k}_rejected"),
            rejects: false,
        });
        let exits = self.steps(&handler.steps, &mut items, vec![Exit::from_node(&start)]);
        if let Some(ends) = self.handler.take() {
            self.link(exits, &ends.answer);
            items.push(node(&ends.answer, Shape::Done, vec!["answer".into()]));
            if ends.rejects {
                items.push(node(&ends.rejected, Shape::Failed, vec!["rejected".into()]));
            }
        }
        Cluster {
            id: format!("u{k}_c"),
            label,
            kind: ClusterKind::Block,
            items,
        }
    }

    fn link(&mut self, incoming: Vec<Exit>, to: &str) {
        for exit in incoming {
            self.edges.push(Edge {
                from: exit.from,
                to: to.to_string(),
                label: exit.label,
                kind: exit.kind,
            });
        }
    }

    fn steps(
        &mut self,
        steps: &[Step],
        into: &mut Vec<Item>,
        mut incoming: Vec<Exit>,
    ) -> Vec<Exit> {
        for step in steps {
            incoming = self.step(step, into, incoming);
        }
        incoming
    }

    fn step(&mut self, step: &Step, into: &mut Vec<Item>, incoming: Vec<Exit>) -> Vec<Exit> {
        let id = format!("s{}", step.index);
        let Some(guard) = &step.guard else {
            return self.kind(step, &id, into, incoming);
        };
        let guard_id = format!("{id}_if");
        into.push(node(
            &guard_id,
            Shape::Decision,
            vec![text::clip(&format!("if {}", text::condition(guard)))],
        ));
        self.link(incoming, &guard_id);
        let mut exits = self.kind(step, &id, into, vec![Exit::labelled(&guard_id, "yes")]);
        exits.push(Exit::labelled(&guard_id, "no"));
        exits
    }

    /// One node that control passes through.
    fn simple(
        &mut self,
        id: &str,
        shape: Shape,
        lines: Vec<String>,
        into: &mut Vec<Item>,
        incoming: Vec<Exit>,
    ) -> Vec<Exit> {
        into.push(node(id, shape, lines));
        self.link(incoming, id);
        vec![Exit::from_node(id)]
    }

    fn kind(
        &mut self,
        step: &Step,
        id: &str,
        into: &mut Vec<Item>,
        incoming: Vec<Exit>,
    ) -> Vec<Exit> {
        // Constructs other than calls show their id, when the author gave one, on a first line.
        let header: Vec<String> = step.id.iter().cloned().collect();
        let lines = |more: Vec<String>| -> Vec<String> {
            header
                .iter()
                .cloned()
                .chain(more)
                .map(|l| text::clip(&l))
                .collect()
        };
        match &step.kind {
            StepKind::Activity(call) => {
                if let Some(undo) = &call.compensate {
                    self.undo.push(Undo {
                        index: step.index,
                        step: step.name(),
                        activity: undo.activity.clone(),
                    });
                }
                let lines = vec![text::clip(&step.name()), text::clip(&call.activity)];
                self.simple(id, Shape::Activity, lines, into, incoming)
            }
            StepKind::Child(call) => {
                let lines = vec![
                    text::clip(&step.name()),
                    text::clip(&format!("workflow {}", call.workflow)),
                ];
                self.simple(id, Shape::Child, lines, into, incoming)
            }
            StepKind::Sequence(steps) if step.id.is_some() && !steps.is_empty() => {
                let mut cluster = cluster(step, ClusterKind::Block, step.name());
                let exits = self.steps(steps, &mut cluster.items, incoming);
                into.push(Item::Cluster(cluster));
                exits
            }
            StepKind::Sequence(steps) => self.steps(steps, into, incoming),
            StepKind::If {
                cond,
                then,
                otherwise,
            } => {
                into.push(node(
                    id,
                    Shape::Decision,
                    lines(vec![format!("if {}", text::condition(cond))]),
                ));
                self.link(incoming, id);
                let mut exits = self.steps(then, into, vec![Exit::labelled(id, "yes")]);
                exits.extend(self.steps(otherwise, into, vec![Exit::labelled(id, "no")]));
                exits
            }
            StepKind::Switch { arms, default } => {
                into.push(node(id, Shape::Decision, lines(vec!["switch".into()])));
                self.link(incoming, id);
                let mut exits = Vec::new();
                for arm in arms {
                    let label = text::clip(&text::condition(&arm.when));
                    exits.extend(self.steps(&arm.steps, into, vec![Exit::labelled(id, label)]));
                }
                exits.extend(self.steps(default, into, vec![Exit::labelled(id, "default")]));
                exits
            }
            StepKind::Parallel { branches, race } => {
                let (fork, join) = if *race {
                    ("race", "first wins")
                } else {
                    ("parallel", "join")
                };
                into.push(node(id, Shape::Fork, lines(vec![fork.into()])));
                self.link(incoming, id);
                let mut ends = Vec::new();
                for branch in branches {
                    ends.extend(self.steps(
                        &branch.steps,
                        into,
                        vec![Exit::labelled(id, text::clip(&branch.name))],
                    ));
                }
                let join_id = format!("{id}_join");
                into.push(node(&join_id, Shape::Fork, vec![join.into()]));
                self.link(ends, &join_id);
                vec![Exit::from_node(&join_id)]
            }
            StepKind::Foreach {
                over,
                item,
                concurrency,
                steps,
            } => {
                let limit = match concurrency {
                    Some(n) => format!("concurrency {n}"),
                    None => "concurrency unbounded".into(),
                };
                let mut cluster = cluster(step, ClusterKind::Loop, format!("foreach · {limit}"));
                cluster.items.push(node(
                    id,
                    Shape::ForEach,
                    vec![text::clip(&format!(
                        "for each {item} in {}",
                        text::condition(over)
                    ))],
                ));
                self.link(incoming, id);
                let exits = self.steps(steps, &mut cluster.items, vec![Exit::from_node(id)]);
                into.push(Item::Cluster(cluster));
                exits
            }
            StepKind::While {
                cond,
                max_iterations,
                steps,
            } => {
                let mut cluster = cluster(
                    step,
                    ClusterKind::Loop,
                    format!("while · max {max_iterations} iterations"),
                );
                cluster.items.push(node(
                    id,
                    Shape::Decision,
                    vec![text::clip(&format!("while {}", text::condition(cond)))],
                ));
                self.link(incoming, id);
                let body = self.steps(steps, &mut cluster.items, vec![Exit::labelled(id, "yes")]);
                self.link(body, id);
                into.push(Item::Cluster(cluster));
                vec![Exit::labelled(id, "no")]
            }
            StepKind::Wait {
                signal,
                until,
                timeout_ms,
                on_timeout,
                mode,
                ..
            } => {
                let names = step.kind.wait_names().join(", ");
                let first = match mode {
                    ir::WaitMode::One if self.updates.contains(signal) => {
                        format!("wait for update {signal}")
                    }
                    ir::WaitMode::One => format!("wait for signal {signal}"),
                    ir::WaitMode::Any => format!("wait for any of {names}"),
                    ir::WaitMode::All => format!("wait for all of {names}"),
                };
                let mut more = vec![first];
                if let Some(until) = until {
                    more.push(format!("until {}", text::condition(until)));
                }
                if let Some(ms) = timeout_ms {
                    let then = match on_timeout {
                        ir::OnTimeout::Fail => "fail",
                        ir::OnTimeout::Continue => "continue",
                    };
                    more.push(format!("timeout {}, then {then}", text::duration(*ms)));
                }
                self.simple(id, Shape::Wait, lines(more), into, incoming)
            }
            StepKind::Sleep(sleep) => {
                let what = match sleep {
                    ir::Sleep::ForMs(ms) => format!("sleep {}", text::duration(*ms)),
                    ir::Sleep::For(v) => format!("sleep {}", text::value(v)),
                    ir::Sleep::Until(v) => format!("sleep until {}", text::value(v)),
                };
                self.simple(id, Shape::Sleep, lines(vec![what]), into, incoming)
            }
            StepKind::Set(assignments) => {
                const SHOWN: usize = 4;
                let mut more: Vec<String> = assignments
                    .iter()
                    .take(SHOWN)
                    .map(|(name, v)| format!("{name} = {}", text::value(v)))
                    .collect();
                if assignments.len() > SHOWN {
                    more.push(format!("… {} more", assignments.len() - SHOWN));
                }
                if more.is_empty() {
                    more.push("set".into());
                }
                self.simple(id, Shape::Set, lines(more), into, incoming)
            }
            StepKind::Try { steps, catches } => {
                let mut region = cluster(step, ClusterKind::Try, "try".into());
                self.try_depth += 1;
                let mut exits = if steps.is_empty() {
                    self.simple(
                        id,
                        Shape::Note,
                        vec!["empty try".into()],
                        &mut region.items,
                        incoming,
                    )
                } else {
                    self.steps(steps, &mut region.items, incoming)
                };
                self.try_depth -= 1;
                let region_id = region.id.clone();
                into.push(Item::Cluster(region));
                for catch in catches {
                    let entry = Exit {
                        from: Endpoint::Cluster(region_id.clone()),
                        label: Some(catch_label(catch)),
                        kind: EdgeKind::Catch,
                    };
                    exits.extend(self.steps(&catch.steps, into, vec![entry]));
                }
                exits
            }
            StepKind::Fail {
                error_type,
                message,
                ..
            } => {
                let mut more = vec![format!("fail {}", text::condition(error_type))];
                if message.as_literal().is_none_or(|m| !m.is_null()) {
                    more.push(text::condition(message));
                }
                into.push(node(id, Shape::Raise, lines(more)));
                self.link(incoming, id);
                self.raise(id);
                Vec::new()
            }
            StepKind::Rethrow => {
                into.push(node(id, Shape::Raise, lines(vec!["rethrow".into()])));
                self.link(incoming, id);
                self.raise(id);
                Vec::new()
            }
            StepKind::Return(value) => {
                into.push(node(
                    id,
                    Shape::Return,
                    lines(vec![format!("return {}", text::value(value))]),
                ));
                self.link(incoming, id);
                match &self.handler {
                    Some(ends) => {
                        let answer = ends.answer.clone();
                        self.link(vec![Exit::from_node(id)], &answer);
                    }
                    None => {
                        self.link(vec![Exit::from_node(id)], "done");
                        self.done = true;
                    }
                }
                Vec::new()
            }
        }
    }

    /// An error raised outside any `try` body fails the workflow (in an update handler, the
    /// update).
    fn raise(&mut self, id: &str) {
        if self.try_depth > 0 {
            return;
        }
        match &mut self.handler {
            Some(ends) => {
                ends.rejects = true;
                let rejected = ends.rejected.clone();
                self.link(vec![Exit::from_node(id)], &rejected);
            }
            None => {
                self.link(vec![Exit::from_node(id)], "failed");
                self.failed = true;
            }
        }
    }
}

fn cluster(step: &Step, kind: ClusterKind, what: String) -> Cluster {
    let label = match &step.id {
        Some(name) if kind != ClusterKind::Block => format!("{name} · {what}"),
        _ => what,
    };
    Cluster {
        id: format!("c{}", step.index),
        label: text::clip(&label),
        kind,
        items: Vec::new(),
    }
}

/// `catch InvoiceUnavailable | Timeout if cond`, or `catch any`.
fn catch_label(catch: &ir::Catch) -> String {
    let mut label = if catch.errors.is_empty() {
        "catch any".to_string()
    } else {
        format!("catch {}", catch.errors.join(" | "))
    };
    if let Some(when) = &catch.when {
        label.push_str(&format!(" if {}", text::condition(when)));
    }
    text::clip(&label)
}
