//! The expression syntax tree: every node carries its byte span in the workflow file. Its
//! canonical text (`Display`) is in `print`.

use std::collections::BTreeSet;

use crate::diagnostics::Span;

mod print;

/// One expression node.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Expr {
    pub kind: ExprKind,
    #[serde(
        with = "span_serde",
        default,
        skip_serializing_if = "span_serde::is_unknown"
    )]
    pub span: Span,
}

/// The kinds of expression node.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExprKind {
    Null,
    Bool(bool),
    Int(i64),
    /// Always finite: the parser rejects literals that overflow `f64`.
    Double(f64),
    String(String),
    List(Vec<Expr>),
    /// Entries in source order; keys are arbitrary expressions, checked at run time.
    Map(Vec<(Expr, Expr)>),
    /// A free identifier: a root of the scope (`input`, `steps`, …) or a macro variable.
    Ident(String),
    /// `target.field`.
    Member {
        target: Box<Expr>,
        field: Name,
    },
    /// `target[index]`.
    Index {
        target: Box<Expr>,
        index: Box<Expr>,
    },
    /// A global function `f(args)` (target `None`) or a method `target.f(args)`.
    Call {
        target: Option<Box<Expr>>,
        function: Name,
        args: Vec<Expr>,
    },
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `cond ? then : otherwise`.
    Cond {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    /// The `has(target.field)` macro.
    Has {
        target: Box<Expr>,
        field: Name,
    },
    /// `target.map(var, body)`, `target.filter(var, body)`, … ; `filter` is the optional
    /// predicate of the three-argument `map(var, filter, body)`.
    Macro {
        kind: MacroKind,
        target: Box<Expr>,
        var: Name,
        filter: Option<Box<Expr>>,
        body: Box<Expr>,
    },
}

/// An identifier with its own span (a field name, a function name, a macro variable).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Name {
    pub name: String,
    #[serde(
        with = "span_serde",
        default,
        skip_serializing_if = "span_serde::is_unknown"
    )]
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MacroKind {
    Map,
    Filter,
    Exists,
    All,
    ExistsOne,
}

/// A YAML string scalar after template parsing.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Template {
    /// No `${`: the text itself (with `$${` unescaped).
    Literal(String),
    /// Exactly one `${ expr }`: the expression's typed value.
    Expr(Expr),
    /// Text with `${ … }` inside: rendered as a string.
    Interp(Vec<TemplatePart>),
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplatePart {
    Text(String),
    Expr(Expr),
}

impl BinaryOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Or => "||",
            BinaryOp::And => "&&",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::In => "in",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
        }
    }

    /// Binding strength; higher binds tighter. All relations share one level, as in CEL.
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::In => 3,
            BinaryOp::Add | BinaryOp::Sub => 4,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => 5,
        }
    }
}

impl UnaryOp {
    pub fn as_str(self) -> &'static str {
        match self {
            UnaryOp::Not => "!",
            UnaryOp::Neg => "-",
        }
    }
}

impl MacroKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MacroKind::Map => "map",
            MacroKind::Filter => "filter",
            MacroKind::Exists => "exists",
            MacroKind::All => "all",
            MacroKind::ExistsOne => "exists_one",
        }
    }

    pub fn from_name(name: &str) -> Option<MacroKind> {
        Some(match name {
            "map" => MacroKind::Map,
            "filter" => MacroKind::Filter,
            "exists" => MacroKind::Exists,
            "all" => MacroKind::All,
            "exists_one" => MacroKind::ExistsOne,
            _ => return None,
        })
    }
}

impl Expr {
    pub fn new(kind: ExprKind, span: Span) -> Expr {
        Expr { kind, span }
    }

    /// Calls `f` on this node and every node below it, parents before children, in source
    /// order.
    pub fn walk(&self, f: &mut impl FnMut(&Expr)) {
        f(self);
        self.for_each_child(|c| c.walk(f));
    }

    /// Calls `f` on each direct child, in source order.
    pub fn for_each_child<'a>(&'a self, mut f: impl FnMut(&'a Expr)) {
        match &self.kind {
            ExprKind::Null
            | ExprKind::Bool(_)
            | ExprKind::Int(_)
            | ExprKind::Double(_)
            | ExprKind::String(_)
            | ExprKind::Ident(_) => {}
            ExprKind::List(items) => items.iter().for_each(f),
            ExprKind::Map(entries) => {
                for (k, v) in entries {
                    f(k);
                    f(v);
                }
            }
            ExprKind::Member { target, .. } | ExprKind::Has { target, .. } => f(target),
            ExprKind::Index { target, index } => {
                f(target);
                f(index);
            }
            ExprKind::Call { target, args, .. } => {
                if let Some(t) = target {
                    f(t);
                }
                args.iter().for_each(f);
            }
            ExprKind::Unary { operand, .. } => f(operand),
            ExprKind::Binary { lhs, rhs, .. } => {
                f(lhs);
                f(rhs);
            }
            ExprKind::Cond {
                cond,
                then,
                otherwise,
            } => {
                f(cond);
                f(then);
                f(otherwise);
            }
            ExprKind::Macro {
                target,
                filter,
                body,
                ..
            } => {
                f(target);
                if let Some(p) = filter {
                    f(p);
                }
                f(body);
            }
        }
    }

    /// Mutable visit of every node, parents first; used to rewrite spans.
    fn walk_mut(&mut self, f: &mut impl FnMut(&mut Expr)) {
        f(self);
        match &mut self.kind {
            ExprKind::Null
            | ExprKind::Bool(_)
            | ExprKind::Int(_)
            | ExprKind::Double(_)
            | ExprKind::String(_)
            | ExprKind::Ident(_) => {}
            ExprKind::List(items) => items.iter_mut().for_each(|e| e.walk_mut(f)),
            ExprKind::Map(entries) => {
                for (k, v) in entries {
                    k.walk_mut(f);
                    v.walk_mut(f);
                }
            }
            ExprKind::Member { target, .. } | ExprKind::Has { target, .. } => target.walk_mut(f),
            ExprKind::Index { target, index } => {
                target.walk_mut(f);
                index.walk_mut(f);
            }
            ExprKind::Call { target, args, .. } => {
                if let Some(t) = target {
                    t.walk_mut(f);
                }
                args.iter_mut().for_each(|e| e.walk_mut(f));
            }
            ExprKind::Unary { operand, .. } => operand.walk_mut(f),
            ExprKind::Binary { lhs, rhs, .. } => {
                lhs.walk_mut(f);
                rhs.walk_mut(f);
            }
            ExprKind::Cond {
                cond,
                then,
                otherwise,
            } => {
                cond.walk_mut(f);
                then.walk_mut(f);
                otherwise.walk_mut(f);
            }
            ExprKind::Macro {
                target,
                filter,
                body,
                ..
            } => {
                target.walk_mut(f);
                if let Some(p) = filter {
                    p.walk_mut(f);
                }
                body.walk_mut(f);
            }
        }
    }

    /// Sets every span (of nodes and names) to `span`.
    pub fn set_spans(&mut self, span: Span) {
        self.walk_mut(&mut |e| {
            e.span = span;
            match &mut e.kind {
                ExprKind::Member { field, .. } | ExprKind::Has { field, .. } => field.span = span,
                ExprKind::Call { function, .. } => function.span = span,
                ExprKind::Macro { var, .. } => var.span = span,
                _ => {}
            }
        });
    }

    /// Sets every span to the default, for comparisons that ignore positions.
    pub fn strip_spans(&mut self) {
        self.set_spans(Span::default());
    }

    /// Moves every span by `delta` bytes and into `file`: a tree parsed once at offset 0
    /// placed where the same text stands again.
    pub fn relocate(&mut self, file: crate::diagnostics::FileId, delta: u32) {
        let shift = |s: &mut Span| {
            s.file = file;
            // Wrapping: a tree is moved to offset 0 by the two's complement of its offset.
            s.start = s.start.wrapping_add(delta);
            s.end = s.end.wrapping_add(delta);
        };
        self.walk_mut(&mut |e| {
            shift(&mut e.span);
            match &mut e.kind {
                ExprKind::Member { field, .. } | ExprKind::Has { field, .. } => {
                    shift(&mut field.span)
                }
                ExprKind::Call { function, .. } => shift(&mut function.span),
                ExprKind::Macro { var, .. } => shift(&mut var.span),
                _ => {}
            }
        });
    }

    /// Ids `X` read as `steps.X` or `steps["X"]`, wherever `steps` is the free root.
    pub fn step_refs(&self) -> BTreeSet<String> {
        self.root_fields("steps")
    }

    /// Names `X` read as `vars.X` or `vars["X"]`.
    pub fn var_refs(&self) -> BTreeSet<String> {
        self.root_fields("vars")
    }

    fn root_fields(&self, root: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        self.visit_free(&mut Vec::new(), &mut |e, bound| {
            if let Some((r, field)) = e.root_field()
                && r == root
                && !bound.contains(&root)
            {
                out.insert(field.to_owned());
            }
        });
        out
    }

    /// Free root identifiers: every identifier not bound by an enclosing macro.
    pub fn roots(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        self.visit_free(&mut Vec::new(), &mut |e, bound| {
            if let ExprKind::Ident(name) = &e.kind
                && !bound.iter().any(|b| b == name)
            {
                out.insert(name.clone());
            }
        });
        out
    }

    /// `(root, field)` when this node is `root.field` or `root["field"]` on an identifier.
    pub fn root_field(&self) -> Option<(&str, &str)> {
        match &self.kind {
            ExprKind::Member { target, field } => match &target.kind {
                ExprKind::Ident(root) => Some((root, &field.name)),
                _ => None,
            },
            ExprKind::Index { target, index } => match (&target.kind, &index.kind) {
                (ExprKind::Ident(root), ExprKind::String(field)) => Some((root, field)),
                _ => None,
            },
            _ => None,
        }
    }

    /// Walks with the list of macro variables bound at each node.
    fn visit_free<'a>(
        &'a self,
        bound: &mut Vec<&'a str>,
        f: &mut impl FnMut(&'a Expr, &[&'a str]),
    ) {
        f(self, bound);
        if let ExprKind::Macro {
            target,
            var,
            filter,
            body,
            ..
        } = &self.kind
        {
            target.visit_free(bound, f);
            bound.push(&var.name);
            if let Some(p) = filter {
                p.visit_free(bound, f);
            }
            body.visit_free(bound, f);
            bound.pop();
        } else {
            self.for_each_child(|c| c.visit_free(bound, f));
        }
    }
}

impl Template {
    /// Calls `f` on every expression node of the template.
    pub fn walk(&self, f: &mut impl FnMut(&Expr)) {
        for e in self.exprs() {
            e.walk(f);
        }
    }

    /// The template's top-level expressions, in order.
    pub fn exprs(&self) -> impl Iterator<Item = &Expr> {
        let (single, parts) = match self {
            Template::Literal(_) => (None, &[][..]),
            Template::Expr(e) => (Some(e), &[][..]),
            Template::Interp(parts) => (None, &parts[..]),
        };
        single
            .into_iter()
            .chain(parts.iter().filter_map(|p| match p {
                TemplatePart::Expr(e) => Some(e),
                TemplatePart::Text(_) => None,
            }))
    }

    pub fn step_refs(&self) -> BTreeSet<String> {
        self.exprs().flat_map(Expr::step_refs).collect()
    }

    pub fn var_refs(&self) -> BTreeSet<String> {
        self.exprs().flat_map(Expr::var_refs).collect()
    }

    pub fn roots(&self) -> BTreeSet<String> {
        self.exprs().flat_map(Expr::roots).collect()
    }

    /// [`Expr::relocate`] for every expression of the template.
    pub fn relocate(&mut self, file: crate::diagnostics::FileId, delta: u32) {
        match self {
            Template::Literal(_) => {}
            Template::Expr(e) => e.relocate(file, delta),
            Template::Interp(parts) => {
                for p in parts {
                    if let TemplatePart::Expr(e) = p {
                        e.relocate(file, delta);
                    }
                }
            }
        }
    }

    pub fn strip_spans(&mut self) {
        match self {
            Template::Literal(_) => {}
            Template::Expr(e) => e.strip_spans(),
            Template::Interp(parts) => {
                for p in parts {
                    if let TemplatePart::Expr(e) = p {
                        e.strip_spans();
                    }
                }
            }
        }
    }
}

/// Serialises a [`Span`] as `[start, end]`; the file id is not stored and reads back as 0.
/// The position-free span `[0, 0]` is left out and reads back from its absence, so a
/// program's canonical JSON (positions stripped by type, `ir::hash`) has no span keys at all.
pub mod span_serde {
    use crate::diagnostics::{FileId, Span};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn is_unknown(span: &Span) -> bool {
        span.start == 0 && span.end == 0
    }

    pub fn serialize<S: Serializer>(span: &Span, s: S) -> Result<S::Ok, S::Error> {
        [span.start, span.end].serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Span, D::Error> {
        let [start, end] = <[u32; 2]>::deserialize(d)?;
        Ok(Span {
            file: FileId(0),
            start,
            end,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests;
