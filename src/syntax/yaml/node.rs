//! YAML text → a spanned node tree (YAML 1.2 core schema; anchors, aliases and merge keys).
//!
//! Built on serde-saphyr's event parser (granit-parser) rather than serde derive so that every
//! node keeps its byte span and one pass can report every problem of a file.

use crate::diagnostics::{Code, Diagnostic, FileId, Span};
use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle};
use std::collections::HashMap;

/// One YAML node with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub span: Span,
    /// For strings: the byte offset where the text maps 1:1 onto the source, if it does.
    pub text_offset: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// What kind of value this is, for messages ("expected a mapping, found a list").
    pub fn describe(&self) -> &'static str {
        match self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Int(_) => "an integer",
            NodeKind::Float(_) => "a number",
            NodeKind::Str(_) => "a string",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The node as plain JSON (strings stay strings; no templates).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Int(i) => Value::from(*i),
            NodeKind::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
            }
            NodeKind::Str(s) => Value::String(s.clone()),
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.key_text(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// A mapping key as text (non-string keys are rendered).
    pub fn key_text(&self) -> String {
        match &self.kind {
            NodeKind::Str(s) => s.clone(),
            NodeKind::Null => "null".into(),
            NodeKind::Bool(b) => b.to_string(),
            NodeKind::Int(i) => i.to_string(),
            NodeKind::Float(f) => f.to_string(),
            NodeKind::Seq(_) | NodeKind::Map(_) => "<complex key>".into(),
        }
    }
}

/// Parses one YAML document. Never panics; a syntax error yields E002 and no tree.
pub fn parse(file: FileId, text: &str) -> (Option<Node>, Vec<Diagnostic>) {
    let mut builder = Builder {
        file,
        text,
        anchors: HashMap::new(),
        diagnostics: Vec::new(),
        stack: Vec::new(),
        root: None,
        documents: 0,
        nodes: 0,
    };
    for item in Parser::new_from_str(text) {
        match item {
            Ok((event, span)) => {
                if !builder.event(event, span) {
                    break;
                }
            }
            Err(err) => {
                let at = err.marker().byte_offset().unwrap_or(err.marker().index());
                let at = at.min(text.len());
                builder.diagnostics.push(
                    Diagnostic::new(Code::E002, Span::new(file, at, at), format!("invalid YAML: {}", err.info()))
                        .label("here")
                        .help("fix the YAML at this position: indent with spaces, close every quote and bracket"),
                );
                return (None, builder.diagnostics);
            }
        }
    }
    let root = builder.root.take();
    (root, builder.diagnostics)
}

/// Most nodes one file may build, aliases counted at their expanded size: an alias copies its
/// anchor's subtree, so a few hundred bytes of nested aliases ("billion laughs") could
/// otherwise expand to 10⁹ nodes. A 1,000-step workflow builds about 20,000.
pub const MAX_NODES: usize = 250_000;
/// Deepest nesting of sequences and maps; later passes walk the tree recursively. (The YAML
/// parser stops at about 128 levels with a terse message; this limit comes first and says why.)
pub const MAX_DEPTH: usize = 100;

enum Open {
    Seq {
        items: Vec<Node>,
        start: usize,
        anchor: usize,
        /// `Builder::nodes` when the collection opened, to size it for its anchor.
        nodes_before: usize,
    },
    Map {
        entries: Vec<(Node, Node)>,
        merged: Vec<(Node, Node)>,
        key: Option<Node>,
        start: usize,
        anchor: usize,
        nodes_before: usize,
    },
}

struct Builder<'t> {
    file: FileId,
    text: &'t str,
    /// Anchored nodes with their size in nodes (what an alias of them costs).
    anchors: HashMap<usize, (Node, usize)>,
    /// Nodes built so far, aliases counted expanded.
    nodes: usize,
    diagnostics: Vec<Diagnostic>,
    stack: Vec<Open>,
    root: Option<Node>,
    documents: usize,
}

impl Builder<'_> {
    fn offset(&self, marker: &serde_saphyr::granit_parser::Marker) -> usize {
        marker
            .byte_offset()
            .unwrap_or(marker.index())
            .min(self.text.len())
    }

    /// Counts `size` more nodes; false (with a diagnostic) once the file exceeds [`MAX_NODES`].
    fn spend(&mut self, size: usize, start: usize, end: usize) -> bool {
        self.nodes = self.nodes.saturating_add(size);
        if self.nodes <= MAX_NODES {
            return true;
        }
        self.diagnostics.push(
            Diagnostic::new(
                Code::E002,
                Span::new(self.file, start, end),
                format!("this file expands to more than {MAX_NODES} YAML nodes"),
            )
            .label("the expansion passes the limit here")
            .help("aliases (`*name`) copy their anchor each time they are used: use fewer nested aliases, or split the workflow"),
        );
        self.root = None;
        false
    }

    /// Finishes a collection that opened at `start`: counts it, records its anchor with its
    /// expanded size, and adds it to its parent. False once the budget is spent.
    fn close(
        &mut self,
        kind: NodeKind,
        start: usize,
        end: usize,
        anchor: usize,
        nodes_before: usize,
    ) -> bool {
        let node = Node {
            kind,
            span: Span::new(self.file, start, end.max(start)),
            text_offset: None,
        };
        if !self.spend(1, start, end) {
            return false;
        }
        if anchor != 0 {
            let size = self.nodes - nodes_before;
            self.anchors.insert(anchor, (node.clone(), size));
        }
        self.push(node);
        true
    }

    /// Checks the nesting depth before a collection opens; false (with a diagnostic) past it.
    fn open(&mut self, start: usize, end: usize) -> bool {
        if self.stack.len() < MAX_DEPTH {
            return true;
        }
        self.diagnostics.push(
            Diagnostic::new(
                Code::E002,
                Span::new(self.file, start, end.max(start + 1)),
                format!("YAML nested more than {MAX_DEPTH} levels deep"),
            )
            .label("too deep")
            .help("flatten the structure: workflow files never need this depth"),
        );
        false
    }

    /// Handles one event; false stops parsing.
    fn event(&mut self, event: Event<'_>, span: serde_saphyr::granit_parser::Span) -> bool {
        let start = self.offset(&span.start);
        let end = self.offset(&span.end);
        match event {
            Event::DocumentStart(..) => {
                self.documents += 1;
                if self.documents > 1 {
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::E002,
                            Span::new(self.file, start, end.max(start + 3)),
                            "a workflow file holds one YAML document",
                        )
                        .help("split the documents into separate files, one workflow per file"),
                    );
                    return false;
                }
            }
            Event::Scalar(value, style, anchor, tag) => {
                let is_str_tag = tag
                    .as_ref()
                    .is_some_and(|t| t.is_yaml_core_schema_tag("str"));
                let node = self.scalar(&value, style, is_str_tag, start, end);
                if !self.spend(1, start, end) {
                    return false;
                }
                if anchor != 0 {
                    self.anchors.insert(anchor, (node.clone(), 1));
                }
                self.push(node);
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some((node, size)) => {
                    let (mut node, size) = (node.clone(), *size);
                    if !self.spend(size, start, end) {
                        return false;
                    }
                    node.span = Span::new(self.file, start, end);
                    node.text_offset = None;
                    self.push(node);
                }
                None => {
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::E002,
                            Span::new(self.file, start, end),
                            "unknown alias",
                        )
                        .help("define the anchor (`&name`) before using it (`*name`)"),
                    );
                    self.push(Node {
                        kind: NodeKind::Null,
                        span: Span::new(self.file, start, end),
                        text_offset: None,
                    });
                }
            },
            Event::SequenceStart(_, anchor, _) => {
                if !self.open(start, end) {
                    return false;
                }
                self.stack.push(Open::Seq {
                    items: Vec::new(),
                    start,
                    anchor,
                    nodes_before: self.nodes,
                })
            }
            Event::MappingStart(_, anchor, _) => {
                if !self.open(start, end) {
                    return false;
                }
                self.stack.push(Open::Map {
                    entries: Vec::new(),
                    merged: Vec::new(),
                    key: None,
                    start,
                    anchor,
                    nodes_before: self.nodes,
                })
            }
            Event::SequenceEnd => {
                if let Some(Open::Seq {
                    items,
                    start: s,
                    anchor,
                    nodes_before,
                }) = self.stack.pop()
                {
                    return self.close(NodeKind::Seq(items), s, end, anchor, nodes_before);
                }
            }
            Event::MappingEnd => {
                if let Some(Open::Map {
                    mut entries,
                    merged,
                    start: s,
                    anchor,
                    nodes_before,
                    ..
                }) = self.stack.pop()
                {
                    // Explicit keys win over merged ones, wherever they stand.
                    for (k, v) in merged {
                        if !entries.iter().any(|(e, _)| e.key_text() == k.key_text()) {
                            entries.push((k, v));
                        }
                    }
                    return self.close(NodeKind::Map(entries), s, end, anchor, nodes_before);
                }
            }
            _ => {}
        }
        true
    }

    fn scalar(
        &self,
        value: &str,
        style: ScalarStyle,
        forced_str: bool,
        start: usize,
        end: usize,
    ) -> Node {
        let span = Span::new(self.file, start, end);
        let kind = if style != ScalarStyle::Plain || forced_str {
            NodeKind::Str(value.to_string())
        } else {
            resolve_plain(value)
        };
        let text_offset = match &kind {
            NodeKind::Str(s) => {
                let raw = self.text.get(start..end).unwrap_or("");
                if raw == s {
                    Some(start)
                } else if raw.len() >= 2 && raw.get(1..raw.len() - 1) == Some(s.as_str()) {
                    Some(start + 1)
                } else {
                    None
                }
            }
            _ => None,
        };
        Node {
            kind,
            span,
            text_offset,
        }
    }

    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Open::Seq { items, .. }) => items.push(node),
            Some(Open::Map { key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => {
                    if k.as_str() == Some("<<") {
                        self.merge(node);
                    } else {
                        let name = k.key_text();
                        if let Some((first, _)) = entries_of(&self.stack)
                            .iter()
                            .find(|(e, _)| e.key_text() == name)
                        {
                            let first_span = first.span;
                            self.diagnostics.push(
                                Diagnostic::new(
                                    Code::E003,
                                    k.span,
                                    format!("duplicate key `{name}`"),
                                )
                                .label("second definition")
                                .with_label(first_span, "first defined here")
                                .help("keep one of the two entries"),
                            );
                        } else if let Some(Open::Map { entries, .. }) = self.stack.last_mut() {
                            entries.push((k, node));
                        }
                    }
                }
            },
        }
    }

    /// `<<: *base` or `<<: [*a, *b]`: keys not already present are added.
    fn merge(&mut self, value: Node) {
        let sources: Vec<Node> = match value.kind {
            NodeKind::Map(_) => vec![value],
            NodeKind::Seq(items) => items,
            _ => {
                self.diagnostics.push(Diagnostic::new(
                    Code::E004,
                    value.span,
                    "a merge key `<<` takes a mapping or a list of mappings",
                ));
                return;
            }
        };
        for source in sources {
            let NodeKind::Map(src_entries) = source.kind else {
                self.diagnostics.push(Diagnostic::new(
                    Code::E004,
                    source.span,
                    "a merge key `<<` takes a mapping or a list of mappings",
                ));
                continue;
            };
            if let Some(Open::Map { merged, .. }) = self.stack.last_mut() {
                for (k, v) in src_entries {
                    if !merged.iter().any(|(e, _)| e.key_text() == k.key_text()) {
                        merged.push((k, v));
                    }
                }
            }
        }
    }
}

fn entries_of(stack: &[Open]) -> &[(Node, Node)] {
    match stack.last() {
        Some(Open::Map { entries, .. }) => entries,
        _ => &[],
    }
}

/// YAML 1.2 core schema resolution of a plain scalar: `NO`, `yes`, `on` stay strings.
fn resolve_plain(s: &str) -> NodeKind {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return NodeKind::Null,
        "true" | "True" | "TRUE" => return NodeKind::Bool(true),
        "false" | "False" | "FALSE" => return NodeKind::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return NodeKind::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return NodeKind::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return NodeKind::Float(f64::NAN),
        _ => {}
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = s.parse::<i64>() {
            return NodeKind::Int(i);
        }
        if let Ok(f) = s.parse::<f64>() {
            return NodeKind::Float(f);
        }
    }
    if let Some(oct) = s.strip_prefix("0o")
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return NodeKind::Int(i);
    }
    if let Some(hex) = s.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return NodeKind::Int(i);
    }
    if is_core_float(s)
        && let Ok(f) = s.parse::<f64>()
    {
        return NodeKind::Float(f);
    }
    NodeKind::Str(s.to_string())
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_core_float(s: &str) -> bool {
    let b = s.strip_prefix(['-', '+']).unwrap_or(s).as_bytes();
    let mut i = 0;
    let int_digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac_digits;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let exp = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp == 0 {
            return false;
        }
        i += exp;
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> Node {
        let (node, diags) = parse(FileId(0), text);
        assert!(diags.is_empty(), "{diags:?}");
        node.expect("a document")
    }

    /// Nine levels of ten aliases each: 10⁹ nodes if expanded, 400 bytes of text.
    fn billion_laughs() -> String {
        let mut text = String::from("a0: &a0 [lol]\n");
        for level in 1..=9 {
            let refs = vec![format!("*a{}", level - 1); 10].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{refs}]\n"));
        }
        text
    }

    #[test]
    fn alias_expansion_has_a_budget() {
        let started = std::time::Instant::now();
        let (node, diags) = parse(FileId(0), &billion_laughs());
        assert!(node.is_none());
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(diags[0].code, Code::E002);
        assert!(
            diags[0].message.contains("YAML nodes"),
            "{}",
            diags[0].message
        );
        // Stopped at the budget, not after expanding: well under a second even in debug.
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // Small, honest aliases are untouched.
        let ok = root("base: &b {retry: {max_attempts: 3}}\nstep: {<<: *b, x: *b}\n");
        assert_eq!(ok.to_json()["step"]["retry"]["max_attempts"], 3);
    }

    #[test]
    fn nesting_has_a_depth_limit() {
        // Block style reaches this limit; flow style hits the parser's own (~256) first.
        let block: String = (0..200)
            .map(|depth| format!("{}- \n", "  ".repeat(depth)))
            .collect();
        let (node, diags) = parse(FileId(0), &block);
        assert!(node.is_none());
        assert!(
            diags.iter().any(|d| d.message.contains("levels deep")),
            "{diags:?}"
        );
        let flow = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let (node, diags) = parse(FileId(0), &flow);
        assert!(node.is_none());
        assert!(diags.iter().all(|d| d.code == Code::E002), "{diags:?}");
        let fine = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(FileId(0), &fine).1.is_empty());
    }

    #[test]
    fn yaml_12_booleans_keep_country_codes_strings() {
        let node = root("country: NO\nok: true\nyes_: yes\nn: 012\nf: 1.5\nz: ~\n");
        assert_eq!(
            node.to_json(),
            serde_json::json!({"country": "NO", "ok": true, "yes_": "yes", "n": 12, "f": 1.5, "z": null})
        );
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let (_, diags) = parse(FileId(0), "a: 1\na: 2\n");
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code, Code::E003);
        assert_eq!(diags[0].span().start, 5);
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let node = root("base: &b { timeout: 10s, retry: 3 }\nstep:\n  <<: *b\n  retry: 5\n");
        assert_eq!(
            node.to_json()["step"],
            serde_json::json!({"retry": 5, "timeout": "10s"})
        );
    }

    #[test]
    fn string_offsets_map_onto_the_source() {
        let text = "a: \"${ x }\"\nb: plain\n";
        let node = root(text);
        let NodeKind::Map(entries) = node.kind else {
            panic!("map")
        };
        assert_eq!(entries[0].1.text_offset, Some(4));
        assert_eq!(entries[1].1.text_offset, Some(15));
    }

    #[test]
    fn syntax_errors_do_not_panic() {
        for bad in [
            "a: [1, 2",
            "a: \"open",
            "a:\n - b\n  c: d",
            "*nope",
            "{",
            "- ]",
        ] {
            let (_, diags) = parse(FileId(0), bad);
            assert!(!diags.is_empty(), "{bad:?}");
        }
    }
}
