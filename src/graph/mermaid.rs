//! Mermaid `flowchart TD` output, as GitHub renders it in Markdown.

use super::run::{NodeState, Overlay};
use super::{ClusterKind, EdgeKind, Endpoint, Graph, Item, Node, Shape};
use std::fmt::Write;

/// Renders the graph as a Mermaid flowchart (no surrounding code fence).
pub fn render(graph: &Graph) -> String {
    render_with(graph, None)
}

/// Renders the graph coloured by what a run did (`classDef run_*` and `class` lines), with a
/// legend.
pub fn render_run(graph: &Graph, run: &Overlay) -> String {
    render_with(graph, Some(run))
}

fn render_with(graph: &Graph, run: Option<&Overlay>) -> String {
    let mut out = String::new();
    let title = match run {
        Some(run) => format!("{} · {}", graph.title, run.caption),
        None => graph.title.clone(),
    };
    // The frontmatter title shows above the chart on GitHub and in the Mermaid live editor.
    let _ = writeln!(
        out,
        "---\ntitle: {}\n---",
        serde_json::Value::from(title.as_str())
    );
    out.push_str("flowchart TD\n");
    write_items(&graph.items, 1, &mut out);
    if run.is_some() {
        out.push_str("    subgraph legend [\"legend\"]\n        direction LR\n");
        for state in NodeState::ALL {
            let _ = writeln!(
                out,
                "        legend_{}[\"{}\"]",
                state.name(),
                escape(state.legend())
            );
        }
        out.push_str("    end\n    style legend fill:#ffffff,stroke:#cccccc\n");
    }
    let mut catch_links = Vec::new();
    let mut undo_links = Vec::new();
    for (n, edge) in graph.edges.iter().enumerate() {
        let from = match &edge.from {
            Endpoint::Node(id) | Endpoint::Cluster(id) => id,
        };
        let arrow = match edge.kind {
            EdgeKind::Flow => "-->",
            EdgeKind::Catch => {
                catch_links.push(n.to_string());
                "-.->"
            }
            EdgeKind::Compensate => {
                undo_links.push(n.to_string());
                "-.->"
            }
            EdgeKind::Undoes => "~~~",
        };
        match &edge.label {
            Some(label) => {
                let _ = writeln!(out, "    {from} {arrow}|\"{}\"| {}", escape(label), edge.to);
            }
            None => {
                let _ = writeln!(out, "    {from} {arrow} {}", edge.to);
            }
        }
    }
    out.push_str("    classDef terminal fill:#eeeeee,stroke:#555555\n");
    out.push_str("    classDef failure fill:#fde8e8,stroke:#cc3333,color:#880000\n");
    out.push_str("    classDef undo fill:#fff4e0,stroke:#cc8800,stroke-dasharray:4 3\n");
    let nodes = graph.nodes();
    for (class, shapes) in [
        ("terminal", &[Shape::Start, Shape::Done, Shape::Return][..]),
        ("failure", &[Shape::Failed, Shape::Raise][..]),
        ("undo", &[Shape::Undo][..]),
    ] {
        // A run's colours replace the static ones.
        let ids: Vec<&str> = nodes
            .iter()
            .filter(|n| shapes.contains(&n.shape))
            .filter(|n| run.is_none_or(|r| !r.states.contains_key(&n.id)))
            .map(|n| n.id.as_str())
            .collect();
        if !ids.is_empty() {
            let _ = writeln!(out, "    class {} {class}", ids.join(","));
        }
    }
    if !catch_links.is_empty() {
        let _ = writeln!(
            out,
            "    linkStyle {} stroke:#cc3333",
            catch_links.join(",")
        );
    }
    if !undo_links.is_empty() {
        let _ = writeln!(out, "    linkStyle {} stroke:#cc8800", undo_links.join(","));
    }
    if let Some(run) = run {
        write_run_classes(run, &mut out);
    }
    out
}

/// One `classDef run_STATE` per state, then the nodes (and legend entry) of each.
fn write_run_classes(run: &Overlay, out: &mut String) {
    for state in NodeState::ALL {
        let (fill, stroke, text) = state.colours();
        let extra = match state {
            NodeState::Running => ",stroke-width:3px",
            NodeState::Skipped => ",stroke-dasharray:4 3",
            _ => "",
        };
        let _ = writeln!(
            out,
            "    classDef run_{} fill:{fill},stroke:{stroke},color:{text}{extra}",
            state.name()
        );
    }
    for state in NodeState::ALL {
        let mut ids: Vec<&str> = run
            .states
            .iter()
            .filter(|(_, s)| **s == state)
            .map(|(id, _)| id.as_str())
            .collect();
        let legend = format!("legend_{}", state.name());
        ids.push(&legend);
        let _ = writeln!(out, "    class {} run_{}", ids.join(","), state.name());
    }
}

fn write_items(items: &[Item], depth: usize, out: &mut String) {
    let indent = "    ".repeat(depth);
    for item in items {
        match item {
            Item::Node(n) => {
                let _ = writeln!(out, "{indent}{}", node(n));
            }
            Item::Cluster(c) => {
                let _ = writeln!(out, "{indent}subgraph {} [\"{}\"]", c.id, escape(&c.label));
                write_items(&c.items, depth + 1, out);
                let _ = writeln!(out, "{indent}end");
                let style = match c.kind {
                    ClusterKind::Loop => "fill:#f4f8ff,stroke:#6688cc",
                    ClusterKind::Try => "fill:#fff8f8,stroke:#cc3333,stroke-dasharray:5 4",
                    ClusterKind::Block => "fill:#fafafa,stroke:#999999",
                };
                let _ = writeln!(out, "{indent}style {} {style}", c.id);
            }
        }
    }
}

fn node(n: &Node) -> String {
    let text: Vec<String> = n.lines.iter().map(|l| escape(l)).collect();
    let text = text.join("<br/>");
    let (open, close) = match n.shape {
        Shape::Start | Shape::Done | Shape::Failed => ("((", "))"),
        Shape::Activity | Shape::Note => ("[", "]"),
        Shape::Child => ("[[", "]]"),
        Shape::Decision => ("{", "}"),
        Shape::Fork => ("{{", "}}"),
        Shape::ForEach => ("[/", "/]"),
        Shape::Wait => (">", "]"),
        Shape::Sleep => ("([", "])"),
        Shape::Set => ("[\\", "\\]"),
        Shape::Raise | Shape::Return => ("(", ")"),
        Shape::Undo => ("[/", "\\]"),
    };
    format!("{}{open}\"{text}\"{close}", n.id)
}

/// Escapes label text for a double-quoted Mermaid string: quotes, HTML-significant characters
/// and the characters Mermaid gives a meaning inside labels become entity codes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '`' => out.push_str("#96;"),
            '|' => out.push_str("#124;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn labels_cannot_break_out_of_their_quotes() {
        assert_eq!(
            escape(r#"a "b" <c> #d & `e` | f"#),
            "a #quot;b#quot; #lt;c#gt; #35;d #amp; #96;e#96; #124; f"
        );
    }
}
