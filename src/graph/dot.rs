//! Graphviz DOT output (`dot -Tsvg`): clusters for regions, `ltail` for edges leaving them.

use super::run::{NodeState, Overlay};
use super::{ClusterKind, EdgeKind, Endpoint, Graph, Item, Node, Shape};
use std::fmt::Write;

/// Renders the graph as a DOT digraph.
pub fn render(graph: &Graph) -> String {
    render_with(graph, None)
}

/// Renders the graph with each node filled by what a run did, and a legend cluster.
pub fn render_run(graph: &Graph, run: &Overlay) -> String {
    render_with(graph, Some(run))
}

fn render_with(graph: &Graph, run: Option<&Overlay>) -> String {
    let mut out = String::new();
    let title = match run {
        Some(run) => quote(&format!("{} · {}", graph.title, run.caption)),
        None => quote(&graph.title),
    };
    let _ = writeln!(out, "digraph {title} {{");
    // `compound` lets catch edges start at a cluster's border (`ltail`).
    let _ = writeln!(
        out,
        "    graph [label={title}, labelloc=t, fontname=\"Helvetica\", compound=true];"
    );
    out.push_str("    node [fontname=\"Helvetica\", fontsize=11];\n");
    out.push_str("    edge [fontname=\"Helvetica\", fontsize=10];\n");
    write_items(&graph.items, 1, run, &mut out);
    if run.is_some() {
        write_legend(&mut out);
    }
    for edge in &graph.edges {
        let mut attrs = Vec::new();
        let from = match &edge.from {
            Endpoint::Node(id) => id.as_str(),
            Endpoint::Cluster(id) => {
                attrs.push(format!("ltail=\"cluster_{id}\""));
                // Every cluster holds a node (an empty `try` gets a placeholder); the fallback
                // keeps the output valid should that ever change.
                graph.anchor(id).unwrap_or("start")
            }
        };
        if let Some(label) = &edge.label {
            attrs.push(format!("label={}", quote(label)));
        }
        let (mut tail, mut head) = (from, edge.to.as_str());
        match edge.kind {
            EdgeKind::Flow => {}
            EdgeKind::Catch => {
                attrs.push("style=dotted, color=\"#cc3333\", fontcolor=\"#cc3333\"".into())
            }
            EdgeKind::Compensate => {
                // Declared forwards and drawn backwards: the chain hangs below the steps it
                // undoes, ending at `failed`, while its arrows point back up the saga.
                (tail, head) = (head, tail);
                attrs.push(
                    "dir=back, style=dashed, color=\"#cc8800\", fontcolor=\"#cc8800\"".into(),
                );
            }
            EdgeKind::Undoes => attrs.push("style=invis".into()),
        }
        if attrs.is_empty() {
            let _ = writeln!(out, "    {tail} -> {head};");
        } else {
            let _ = writeln!(out, "    {tail} -> {head} [{}];", attrs.join(", "));
        }
    }
    out.push_str("}\n");
    out
}

fn write_items(items: &[Item], depth: usize, run: Option<&Overlay>, out: &mut String) {
    let indent = "    ".repeat(depth);
    for item in items {
        match item {
            Item::Node(n) => {
                let state = run.and_then(|r| r.states.get(&n.id)).copied();
                let _ = writeln!(out, "{indent}{}", node(n, state));
            }
            Item::Cluster(c) => {
                let _ = writeln!(out, "{indent}subgraph cluster_{} {{", c.id);
                let style = match c.kind {
                    ClusterKind::Loop => "style=\"rounded\", color=\"#6688cc\"",
                    ClusterKind::Try => "style=\"rounded,dashed\", color=\"#cc3333\"",
                    ClusterKind::Block => "style=\"rounded\", color=\"#999999\"",
                };
                let _ = writeln!(
                    out,
                    "{indent}    graph [label={}, {style}];",
                    quote(&c.label)
                );
                write_items(&c.items, depth + 1, run, out);
                let _ = writeln!(out, "{indent}}}");
            }
        }
    }
}

/// A cluster of one node per state, chained invisibly so they sit in a row.
fn write_legend(out: &mut String) {
    out.push_str("    subgraph cluster_legend {\n");
    out.push_str("        graph [label=\"legend\", style=\"rounded\", color=\"#cccccc\"];\n");
    for state in NodeState::ALL {
        let _ = writeln!(
            out,
            "        legend_{} [label={}, shape=box, {}];",
            state.name(),
            quote(state.legend()),
            filled("rounded", state)
        );
    }
    let chain: Vec<String> = NodeState::ALL
        .iter()
        .map(|s| format!("legend_{}", s.name()))
        .collect();
    let _ = writeln!(out, "        {} [style=invis];", chain.join(" -> "));
    out.push_str("    }\n");
}

/// The style, fill and colours of a node in `state`, keeping the shape's own `base` style.
fn filled(base: &str, state: NodeState) -> String {
    let (fill, stroke, text) = state.colours();
    let mut style = vec!["filled"];
    let marked = match state {
        NodeState::Running => Some("bold"),
        NodeState::Skipped => Some("dashed"),
        _ => None,
    };
    for word in base.split(',').chain(marked) {
        if !word.is_empty() && !style.contains(&word) {
            style.push(word);
        }
    }
    format!(
        "style=\"{}\", fillcolor=\"{fill}\", color=\"{stroke}\", fontcolor=\"{text}\"",
        style.join(",")
    )
}

fn node(n: &Node, state: Option<NodeState>) -> String {
    if let Some(state) = state {
        let (shape, base) = run_shape(n.shape);
        return format!(
            "{} [label={}, {shape}, {}];",
            n.id,
            quote(&n.lines.join("\n")),
            filled(base, state)
        );
    }
    let attrs = match n.shape {
        Shape::Start => "shape=circle, style=filled, fillcolor=\"#eeeeee\"",
        Shape::Done => "shape=doublecircle, style=filled, fillcolor=\"#eeeeee\"",
        Shape::Failed => {
            "shape=doubleoctagon, style=filled, fillcolor=\"#fde8e8\", color=\"#cc3333\""
        }
        Shape::Activity => "shape=box, style=rounded",
        Shape::Child => "shape=box, peripheries=2",
        Shape::Decision => "shape=diamond",
        Shape::Fork => "shape=hexagon",
        Shape::ForEach => "shape=parallelogram",
        Shape::Wait => "shape=cds",
        Shape::Sleep => "shape=ellipse",
        Shape::Set => "shape=note",
        Shape::Raise => "shape=octagon, style=filled, fillcolor=\"#fde8e8\", color=\"#cc3333\"",
        Shape::Return => "shape=box, style=\"rounded,bold\"",
        Shape::Undo => "shape=box, style=\"rounded,dashed\", color=\"#cc8800\"",
        Shape::Note => "shape=plaintext",
    };
    format!("{} [label={}, {attrs}];", n.id, quote(&n.lines.join("\n")))
}

/// A shape's DOT shape attributes and its own style words, for a run's colouring.
fn run_shape(shape: Shape) -> (&'static str, &'static str) {
    match shape {
        Shape::Start => ("shape=circle", ""),
        Shape::Done => ("shape=doublecircle", ""),
        Shape::Failed => ("shape=doubleoctagon", ""),
        Shape::Activity => ("shape=box", "rounded"),
        Shape::Child => ("shape=box, peripheries=2", ""),
        Shape::Decision => ("shape=diamond", ""),
        Shape::Fork => ("shape=hexagon", ""),
        Shape::ForEach => ("shape=parallelogram", ""),
        Shape::Wait => ("shape=cds", ""),
        Shape::Sleep => ("shape=ellipse", ""),
        Shape::Set => ("shape=note", ""),
        Shape::Raise => ("shape=octagon", ""),
        Shape::Return => ("shape=box", "rounded,bold"),
        Shape::Undo => ("shape=box", "rounded,dashed"),
        Shape::Note => ("shape=plaintext", ""),
    }
}

/// A DOT double-quoted string: backslashes and quotes escaped, newlines as `\n` (centred).
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn strings_are_quoted_and_escaped() {
        assert_eq!(quote("a \"b\" \\n\nc"), r#""a \"b\" \\n\nc""#);
    }
}
