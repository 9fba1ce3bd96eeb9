//! The YAML node tree → text: block style, flow style when short, quotes where needed.
//!
//! Steps are always block style; short maps and lists are flow style; a string is quoted
//! wherever YAML 1.2 would read it as something else. Whether a string may stay plain is asked
//! of the YAML reader itself ([`crate::syntax::yaml::node::parse`]), so the printer and the
//! loader cannot disagree.

use super::{Style, Y};
use crate::diagnostics::FileId;
use crate::syntax::print_text::WIDTH;
use crate::syntax::yaml::node::{self, NodeKind};

/// Longest flow collection written on one line.
const FLOW_MAX: usize = 80;

/// Where a plain string is tried.
#[derive(Clone, Copy)]
enum Place {
    /// `k: S`
    BlockValue,
    /// `[S]`
    FlowItem,
    /// `S: 1`
    BlockKey,
    /// `{ S: 1 }`
    FlowKey,
}

/// Does the YAML reader read `s`, written plain at `place`, back as the string `s`?
fn reads_back_plain(s: &str, place: Place) -> bool {
    if s.is_empty() || s.trim() != s || s.chars().any(char::is_control) {
        return false;
    }
    let doc = match place {
        Place::BlockValue => format!("k: {s}"),
        Place::FlowItem => format!("[{s}]"),
        Place::BlockKey => format!("{s}: 1"),
        Place::FlowKey => format!("{{ {s}: 1 }}"),
    };
    let (root, diagnostics) = node::parse(FileId(0), &doc);
    if !diagnostics.is_empty() {
        return false;
    }
    let found = match (root.map(|r| r.kind), place) {
        (Some(NodeKind::Map(entries)), Place::BlockValue) if entries.len() == 1 => {
            entries[0].1.kind.clone()
        }
        (Some(NodeKind::Map(entries)), Place::BlockKey | Place::FlowKey) if entries.len() == 1 => {
            entries[0].0.kind.clone()
        }
        (Some(NodeKind::Seq(items)), Place::FlowItem) if items.len() == 1 => items[0].kind.clone(),
        _ => return false,
    };
    matches!(found, NodeKind::Str(ref t) if t == s)
}

/// A string scalar: plain when that reads back, else in quotes.
fn scalar(s: &str, style: Style, flow: bool) -> String {
    let plain_ok = style == Style::Verbatim
        && reads_back_plain(s, Place::BlockValue)
        && (!flow || reads_back_plain(s, Place::FlowItem));
    if plain_ok {
        return s.to_string();
    }
    quoted(s, style)
}

fn quoted(s: &str, style: Style) -> String {
    let special = s.chars().any(|c| c.is_control());
    if !special && style == Style::Template && !s.contains(['"', '\\']) {
        return format!("\"{s}\"");
    }
    if !special {
        return format!("'{}'", s.replace('\'', "''"));
    }
    // JSON's escapes are YAML double-quoted escapes.
    serde_json::to_string(s).unwrap_or_else(|_| format!("'{}'", s.replace('\'', "''")))
}

fn key_text(k: &str) -> String {
    if reads_back_plain(k, Place::BlockKey) && reads_back_plain(k, Place::FlowKey) {
        k.to_string()
    } else {
        quoted(k, Style::Verbatim)
    }
}

/// The node on one line, or None when it must be block style.
fn flow(y: &Y) -> Option<String> {
    match y {
        Y::Raw(r) => Some(r.clone()),
        Y::Str(s, style) => Some(scalar(s, *style, true)),
        Y::Seq(items, block) => {
            if *block && !items.is_empty() {
                return None;
            }
            let items: Option<Vec<String>> = items.iter().map(flow).collect();
            Some(format!("[{}]", items?.join(", ")))
        }
        Y::Map(entries, block) => {
            if entries.is_empty() {
                return Some("{}".into());
            }
            if *block {
                return None;
            }
            let entries: Option<Vec<String>> = entries
                .iter()
                .map(|(k, v)| flow(v).map(|v| format!("{}: {v}", key_text(k))))
                .collect();
            Some(format!("{{ {} }}", entries?.join(", ")))
        }
    }
}

fn pad(out: &mut String, indent: usize) {
    for _ in 0..indent {
        out.push(' ');
    }
}

/// `key: value` in a block mapping at `indent`.
pub(super) fn entry(out: &mut String, indent: usize, k: &str, v: &Y) {
    let k = key_text(k);
    pad(out, indent);
    out.push_str(&k);
    out.push(':');
    match v {
        Y::Raw(r) => out.push_str(&format!(" {r}\n")),
        Y::Str(s, style) => out.push_str(&format!(" {}\n", scalar(s, *style, false))),
        Y::Seq(..) | Y::Map(..) if fits_flow(v, indent + k.len() + 2) => {
            out.push_str(&format!(" {}\n", flow(v).unwrap_or_default()));
        }
        Y::Seq(items, _) => {
            out.push('\n');
            for item in items {
                seq_item(out, indent + 2, item);
            }
        }
        Y::Map(entries, _) => {
            out.push('\n');
            for (k, v) in entries {
                entry(out, indent + 2, k, v);
            }
        }
    }
}

fn fits_flow(y: &Y, column: usize) -> bool {
    match flow(y) {
        Some(f) => f.len() <= FLOW_MAX && column + f.len() <= WIDTH || f == "[]" || f == "{}",
        None => false,
    }
}

/// `- item` in a block sequence at `indent`.
fn seq_item(out: &mut String, indent: usize, y: &Y) {
    match y {
        Y::Map(entries, _) if !entries.is_empty() && !fits_flow(y, indent + 2) => {
            // The first entry goes on the dash's line.
            let mut inner = String::new();
            for (k, v) in entries {
                entry(&mut inner, indent + 2, k, v);
            }
            pad(out, indent);
            out.push_str("- ");
            out.push_str(&inner[indent + 2..]);
        }
        Y::Seq(items, _) if !items.is_empty() && !fits_flow(y, indent + 2) => {
            pad(out, indent);
            out.push_str("-\n");
            for item in items {
                seq_item(out, indent + 2, item);
            }
        }
        _ => {
            pad(out, indent);
            out.push_str(&format!("- {}\n", flow(y).unwrap_or_default()));
        }
    }
}
