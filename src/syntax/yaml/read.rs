//! Typed readers over YAML nodes: mappings, lists, scalars, durations, value slots.
//!
//! A mapping is checked against a key table (E005 with "did you mean"), a duration is parsed
//! (E008); a node of the wrong shape is E004.

use super::{Cx, Fields};
use crate::diagnostics::{Code, Diagnostic, Spanned, did_you_mean};
use crate::syntax::ast::{Name, Value, ValueKind};
use crate::syntax::duration;
use crate::syntax::yaml::node::{Node, NodeKind};
use std::time::Duration;

impl Cx {
    pub fn error(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    pub(super) fn wrong(&mut self, node: &Node, expected: &str, what: &str) {
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
                d.help = Some(
                    match condition_key(&name.value, allowed)
                        .or_else(|| did_you_mean(&name.value, allowed.iter().copied()))
                    {
                        Some(hint) => hint,
                        None => format!("the keys of {what} are: {}", allowed.join(", ")),
                    },
                );
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

    /// A scalar that `read` accepts, with the node's span; anything else is E004.
    fn scalar<T>(
        &mut self,
        node: &Node,
        expected: &str,
        what: &str,
        read: impl FnOnce(&NodeKind) -> Option<T>,
    ) -> Option<Spanned<T>> {
        match read(&node.kind) {
            Some(v) => Some(Spanned::new(v, node.span)),
            None => {
                self.wrong(node, expected, what);
                None
            }
        }
    }

    pub fn string(&mut self, node: &Node, what: &str) -> Option<Spanned<String>> {
        self.scalar(node, "a string", what, |k| match k {
            NodeKind::Str(s) => Some(s.clone()),
            _ => None,
        })
    }

    pub fn int(&mut self, node: &Node, what: &str) -> Option<Spanned<i64>> {
        self.scalar(node, "an integer", what, |k| match k {
            NodeKind::Int(i) => Some(*i),
            _ => None,
        })
    }

    pub fn number(&mut self, node: &Node, what: &str) -> Option<Spanned<f64>> {
        self.scalar(node, "a number", what, |k| match k {
            NodeKind::Int(i) => Some(*i as f64),
            NodeKind::Float(f) => Some(*f),
            _ => None,
        })
    }

    pub fn bool(&mut self, node: &Node, what: &str) -> Option<Spanned<bool>> {
        self.scalar(node, "`true` or `false`", what, |k| match k {
            NodeKind::Bool(b) => Some(*b),
            _ => None,
        })
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

    pub(super) fn named_values(&mut self, node: &Node, what: &str) -> Vec<(Name, Value)> {
        self.map_entries(node, what)
            .into_iter()
            .map(|(k, v)| (k, self.value(v)))
            .collect()
    }

    pub(super) fn names(&mut self, node: &Node, what: &str) -> Vec<Name> {
        match &node.kind {
            NodeKind::Str(s) => vec![Spanned::new(s.clone(), node.span)],
            _ => self
                .list(node, what)
                .iter()
                .filter_map(|n| self.string(n, what))
                .collect(),
        }
    }
}

/// A condition under another language's key (`when:` or `unless:` on a step, `if:` in a
/// catch or a switch arm): how the construct spells it, when it has a condition key.
fn condition_key(key: &str, allowed: &[&str]) -> Option<String> {
    const SPELLINGS: &[&str] = &[
        "if",
        "when",
        "unless",
        "only_if",
        "onlyif",
        "condition",
        "guard",
        "where",
    ];
    if !SPELLINGS.contains(&key) {
        return None;
    }
    let right = ["if", "when"].into_iter().find(|k| allowed.contains(k))?;
    Some(if key == "unless" {
        format!(
            "Stave has no `unless`: write `{right}:` with the condition negated, `{right}: \"${{ !(CONDITION) }}\"`"
        )
    } else {
        format!("the condition is written `{right}: \"${{ CONDITION }}\"`")
    })
}
