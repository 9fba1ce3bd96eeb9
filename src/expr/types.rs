//! Static checking of expressions against the types of the roots in scope.
//!
//! The checker never fails and never panics: it returns the expression's type and every
//! problem it found. It only reports what is certain: anything of unknown type is [`Ty::Dyn`],
//! and `Dyn` flows through every operator without a diagnostic.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::diagnostics::{Code, Diagnostic, Span, did_you_mean};

use super::ast::{BinaryOp, Expr, ExprKind, MacroKind, Name, Template, TemplatePart, UnaryOp};

/// The origin of the `steps` root's object type, as messages name it.
pub const STEPS_ORIGIN: &str = "the steps visible here";

/// A static type. JSON numbers are `Int` or `Double` when known, `Number` when a schema says
/// only "number".
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    /// Unknown: accepted everywhere.
    Dyn,
    Null,
    Bool,
    Int,
    Double,
    /// Int or double.
    Number,
    String,
    List(Box<Ty>),
    /// An open map with string keys and values of one type.
    Map(Box<Ty>),
    /// A map with known fields.
    Object(ObjectTy),
    /// The type or null.
    Optional(Box<Ty>),
}

/// A map whose fields are known, e.g. from a JSON Schema with `properties`.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectTy {
    pub fields: BTreeMap<String, FieldTy>,
    /// Whether fields other than `fields` cannot occur; reading one is then an error.
    pub closed: bool,
    /// What the object is, for messages: "the output of `payments.charge`", "the workflow input".
    pub origin: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldTy {
    pub ty: Ty,
    /// `Some(step id)` when the field is a step result that may be null because the step's
    /// path did not run; reading through it unguarded is warned about.
    pub may_not_have_run: Option<String>,
}

impl FieldTy {
    pub fn new(ty: Ty) -> FieldTy {
        FieldTy {
            ty,
            may_not_have_run: None,
        }
    }

    /// The result of step `step`, which may not have run.
    pub fn may_not_have_run(ty: Ty, step: &str) -> FieldTy {
        FieldTy {
            ty,
            may_not_have_run: Some(step.to_owned()),
        }
    }
}

impl Ty {
    /// An object type with the given fields.
    pub fn object(
        origin: &str,
        closed: bool,
        fields: impl IntoIterator<Item = (String, FieldTy)>,
    ) -> Ty {
        Ty::Object(ObjectTy {
            fields: fields.into_iter().collect(),
            closed,
            origin: origin.to_owned(),
        })
    }

    /// The type a JSON Schema describes. An object schema with `properties` is closed unless it
    /// allows more (`additionalProperties` other than `false`, or `patternProperties`): a field
    /// the schema does not list is almost always a typo. Anything the schema leaves open
    /// (`$ref`, `allOf`, differing `anyOf` branches) is `Dyn`.
    pub fn from_json_schema(schema: &Value, origin: &str) -> Ty {
        let Value::Object(s) = schema else {
            return Ty::Dyn;
        };
        let nullable = s.get("nullable") == Some(&Value::Bool(true));
        let ty = schema_type(s, origin);
        if nullable { ty.or_null() } else { ty }
    }

    /// The type of a value: exact, with objects closed to the fields the value has.
    pub fn of_value(v: &Value) -> Ty {
        match v {
            Value::Null => Ty::Null,
            Value::Bool(_) => Ty::Bool,
            Value::Number(n) if n.is_f64() => Ty::Double,
            Value::Number(_) => Ty::Int,
            Value::String(_) => Ty::String,
            Value::Array(items) => Ty::List(Box::new(
                items
                    .iter()
                    .map(Ty::of_value)
                    .reduce(Ty::join)
                    .unwrap_or(Ty::Dyn),
            )),
            Value::Object(m) => Ty::object(
                "the value",
                true,
                m.iter()
                    .map(|(k, v)| (k.clone(), FieldTy::new(Ty::of_value(v)))),
            ),
        }
    }

    /// The least type that holds values of both.
    pub fn join(self, other: Ty) -> Ty {
        match (self, other) {
            (a, b) if a == b => a,
            (Ty::Dyn, _) | (_, Ty::Dyn) => Ty::Dyn,
            (Ty::Null, t) | (t, Ty::Null) => t.or_null(),
            (Ty::Optional(a), b) | (b, Ty::Optional(a)) => a.join(b).or_null(),
            (a, b) if a.is_numeric() && b.is_numeric() => Ty::Number,
            (Ty::List(a), Ty::List(b)) => Ty::List(Box::new(a.join(*b))),
            (Ty::Map(a), Ty::Map(b)) => Ty::Map(Box::new(a.join(*b))),
            (Ty::Object(_) | Ty::Map(_), Ty::Object(_) | Ty::Map(_)) => Ty::Map(Box::new(Ty::Dyn)),
            _ => Ty::Dyn,
        }
    }

    fn or_null(self) -> Ty {
        match self {
            Ty::Dyn | Ty::Null | Ty::Optional(_) => self,
            t => Ty::Optional(Box::new(t)),
        }
    }

    fn is_numeric(&self) -> bool {
        matches!(self, Ty::Int | Ty::Double | Ty::Number)
    }

    /// The type without its `or null`: checks report only what the non-null value would do.
    fn unwrap_optional(&self) -> &Ty {
        match self {
            Ty::Optional(t) => t,
            t => t,
        }
    }
}

fn schema_type(s: &serde_json::Map<String, Value>, origin: &str) -> Ty {
    if let Some(c) = s.get("const") {
        return Ty::of_value(c);
    }
    if let Some(Value::Array(values)) = s.get("enum") {
        return values
            .iter()
            .map(Ty::of_value)
            .reduce(Ty::join)
            .unwrap_or(Ty::Dyn);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = s.get(key) {
            return branches
                .iter()
                .map(|b| Ty::from_json_schema(b, origin))
                .reduce(Ty::join)
                .unwrap_or(Ty::Dyn);
        }
    }
    match s.get("type") {
        Some(Value::String(t)) => named_type(t, s, origin),
        Some(Value::Array(types)) => types
            .iter()
            .map(|t| t.as_str().map_or(Ty::Dyn, |t| named_type(t, s, origin)))
            .reduce(Ty::join)
            .unwrap_or(Ty::Dyn),
        _ if s.contains_key("properties") => named_type("object", s, origin),
        _ if s.contains_key("items") => named_type("array", s, origin),
        _ => Ty::Dyn,
    }
}

fn named_type(t: &str, s: &serde_json::Map<String, Value>, origin: &str) -> Ty {
    match t {
        "null" => Ty::Null,
        "boolean" => Ty::Bool,
        "integer" => Ty::Int,
        "number" => Ty::Number,
        "string" => Ty::String,
        "array" => Ty::List(Box::new(s.get("items").map_or(Ty::Dyn, |i| {
            Ty::from_json_schema(i, &format!("an element of {origin}"))
        }))),
        "object" => {
            let extra = s.get("additionalProperties");
            let Some(Value::Object(props)) = s.get("properties") else {
                return Ty::Map(Box::new(match extra {
                    Some(e @ Value::Object(_)) => Ty::from_json_schema(e, origin),
                    _ => Ty::Dyn,
                }));
            };
            let closed = matches!(extra, None | Some(Value::Bool(false)))
                && !s.contains_key("patternProperties");
            Ty::object(
                origin,
                closed,
                props.iter().map(|(k, v)| {
                    let ty = Ty::from_json_schema(v, &format!("field `{k}` of {origin}"));
                    (k.clone(), FieldTy::new(ty))
                }),
            )
        }
        _ => Ty::Dyn,
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Dyn => f.write_str("dyn"),
            Ty::Null => f.write_str("null"),
            Ty::Bool => f.write_str("bool"),
            Ty::Int => f.write_str("int"),
            Ty::Double => f.write_str("double"),
            Ty::Number => f.write_str("number"),
            Ty::String => f.write_str("string"),
            Ty::List(t) if **t == Ty::Dyn => f.write_str("list"),
            Ty::List(t) => write!(f, "list of {t}"),
            Ty::Map(_) | Ty::Object(_) => f.write_str("map"),
            Ty::Optional(t) => write!(f, "{t} or null"),
        }
    }
}

/// The types of the root names at one place in a workflow: `input`, `vars`, `steps`,
/// `workflow`, `signal`, the caught error, loop variables.
#[derive(Debug, Clone, Default)]
pub struct TypeScope {
    // Shared so that `with` (one per loop or catch) copies pointers, not schemas.
    roots: BTreeMap<String, Arc<Ty>>,
}

impl TypeScope {
    pub fn new() -> Self {
        TypeScope::default()
    }

    pub fn bind(&mut self, name: &str, ty: Ty) {
        self.roots.insert(name.to_owned(), Arc::new(ty));
    }

    /// This scope with one more name bound.
    pub fn with(&self, name: &str, ty: Ty) -> TypeScope {
        let mut s = self.clone();
        s.bind(name, ty);
        s
    }

    pub fn get(&self, name: &str) -> Option<&Ty> {
        self.roots.get(name).map(|t| &**t)
    }

    /// Binds (or with `None` unbinds) a root, returning what was bound before: for scopes
    /// that add a name for a nested block and restore it afterwards.
    pub fn replace(&mut self, name: &str, ty: Option<Arc<Ty>>) -> Option<Arc<Ty>> {
        match ty {
            Some(ty) => self.roots.insert(name.to_owned(), ty),
            None => self.roots.remove(name),
        }
    }

    /// Mutable access to a root's type, copying it first if another scope shares it.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Ty> {
        self.roots.get_mut(name).map(Arc::make_mut)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.roots.keys().map(String::as_str)
    }
}

/// Checks an expression: its type, and every problem found.
pub fn check_expr(expr: &Expr, scope: &TypeScope) -> (Ty, Vec<Diagnostic>) {
    let mut c = Checker {
        scope,
        locals: Vec::new(),
        guarded: Vec::new(),
        diags: Vec::new(),
    };
    let ty = c.check(expr).ty.into_owned();
    (ty, c.diags)
}

/// Checks every expression of a template; an interpolation is a string.
pub fn check_template(t: &Template, scope: &TypeScope) -> (Ty, Vec<Diagnostic>) {
    match t {
        Template::Literal(_) => (Ty::String, Vec::new()),
        Template::Expr(e) => check_expr(e, scope),
        Template::Interp(parts) => {
            let mut diags = Vec::new();
            for p in parts {
                if let TemplatePart::Expr(e) = p {
                    diags.extend(check_expr(e, scope).1);
                }
            }
            (Ty::String, diags)
        }
    }
}

/// A checked node: its type, and the step whose possibly-null result it is.
struct Checked<'s> {
    ty: Cow<'s, Ty>,
    maybe_null_step: Option<&'s str>,
}

impl<'s> Checked<'s> {
    fn owned(ty: Ty) -> Checked<'s> {
        Checked {
            ty: Cow::Owned(ty),
            maybe_null_step: None,
        }
    }
}

struct Checker<'s> {
    scope: &'s TypeScope,
    /// Macro variables, innermost last.
    locals: Vec<(&'s str, Ty)>,
    /// Steps whose result is known not to be null here (`has(...)`, `!= null`).
    guarded: Vec<&'s str>,
    diags: Vec<Diagnostic>,
}

const FUNCTIONS: &[&str] = &[
    "size", "int", "double", "string", "matches", "now", "uuid", "has",
];
const METHODS: &[&str] = &[
    "size",
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "lowerAscii",
    "upperAscii",
    "trim",
    "split",
    "join",
    "map",
    "filter",
    "exists",
    "all",
    "exists_one",
];

impl<'s> Checker<'s> {
    fn emit(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn type_error(&mut self, span: Span, message: String, help: &str) {
        self.emit(Diagnostic::new(Code::E014, span, message).help(help));
    }

    fn check(&mut self, e: &'s Expr) -> Checked<'s> {
        let ty = match &e.kind {
            ExprKind::Null => Ty::Null,
            ExprKind::Bool(_) => Ty::Bool,
            ExprKind::Int(_) => Ty::Int,
            ExprKind::Double(_) => Ty::Double,
            ExprKind::String(_) => Ty::String,
            ExprKind::List(items) => {
                let tys: Vec<Ty> = items
                    .iter()
                    .map(|i| self.check(i).ty.into_owned())
                    .collect();
                Ty::List(Box::new(
                    tys.into_iter().reduce(Ty::join).unwrap_or(Ty::Dyn),
                ))
            }
            ExprKind::Map(entries) => self.map_literal(entries),
            ExprKind::Ident(name) => return self.ident(name, e.span),
            ExprKind::Member { target, field } => {
                let t = self.check(target);
                self.warn_if_maybe_null(&t, target, &field.name, e.span);
                return self.field(t, target, &field.name, field.span);
            }
            ExprKind::Index { target, index } => {
                let t = self.check(target);
                let i = self.check(index);
                let key = match &index.kind {
                    ExprKind::String(key) => key.as_str(),
                    _ => "",
                };
                self.warn_if_maybe_null(&t, target, key, e.span);
                if !key.is_empty() && matches!(t.ty.unwrap_optional(), Ty::Object(_)) {
                    return self.field(t, target, key, index.span);
                }
                self.index(&t.ty, &i.ty, target, index)
            }
            ExprKind::Call {
                target,
                function,
                args,
            } => match target {
                Some(t) => self.method(t, function, args, e.span),
                None => self.function(function, args, e.span),
            },
            ExprKind::Unary { op, operand } => {
                let t = self.check(operand).ty;
                let t = t.unwrap_optional();
                match op {
                    UnaryOp::Not => {
                        if !matches!(t, Ty::Bool | Ty::Dyn) {
                            self.type_error(
                                e.span,
                                format!("`!` needs a bool, but its operand is {}", article(t)),
                                "compare explicitly, e.g. `x == 0` or `size(x) == 0`",
                            );
                        }
                        Ty::Bool
                    }
                    UnaryOp::Neg => {
                        if t.is_numeric() || *t == Ty::Dyn {
                            t.clone()
                        } else {
                            self.type_error(
                                e.span,
                                format!("`-` needs a number, but its operand is {}", article(t)),
                                "negate a number; convert strings with `int(…)` or `double(…)`",
                            );
                            Ty::Dyn
                        }
                    }
                }
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, e.span),
            ExprKind::Cond {
                cond,
                then,
                otherwise,
            } => {
                let c = self.check(cond).ty;
                self.expect_bool(&c, cond.span, "the condition of `? :`");
                let mark = self.guarded.len();
                guards(cond, true, &mut self.guarded);
                let t = self.check(then).ty.into_owned();
                self.guarded.truncate(mark);
                guards(cond, false, &mut self.guarded);
                let o = self.check(otherwise).ty.into_owned();
                self.guarded.truncate(mark);
                t.join(o)
            }
            ExprKind::Has { target, field } => {
                let t = self.check(target);
                match t.ty.unwrap_optional() {
                    Ty::Object(o) if o.closed && !o.fields.contains_key(&field.name) => {
                        self.unknown_field(o, target, &field.name, field.span);
                    }
                    Ty::Object(_) | Ty::Map(_) | Ty::Dyn | Ty::Null => {}
                    t => self.type_error(
                        e.span,
                        format!("`has` needs a map, but `{target}` is {}", article(t)),
                        "`has(x.f)` tests whether the map `x` has the field `f`",
                    ),
                }
                Ty::Bool
            }
            ExprKind::Macro {
                kind,
                target,
                var,
                filter,
                body,
            } => self.comprehension(*kind, target, var, filter.as_deref(), body),
        };
        Checked::owned(ty)
    }

    fn map_literal(&mut self, entries: &'s [(Expr, Expr)]) -> Ty {
        let mut fields = BTreeMap::new();
        let mut all_literal = true;
        let mut values = Ty::Dyn;
        for (i, (k, v)) in entries.iter().enumerate() {
            let kt = self.check(k).ty.into_owned();
            if !matches!(kt.unwrap_optional(), Ty::String | Ty::Dyn) {
                self.type_error(
                    k.span,
                    format!("map keys must be strings, but this key is {}", article(&kt)),
                    "write the key as a string, e.g. `'1'` or `string(x)`",
                );
            }
            let vt = self.check(v).ty.into_owned();
            values = if i == 0 {
                vt.clone()
            } else {
                values.join(vt.clone())
            };
            match &k.kind {
                ExprKind::String(name) => {
                    fields.insert(name.clone(), FieldTy::new(vt));
                }
                _ => all_literal = false,
            }
        }
        if all_literal {
            Ty::Object(ObjectTy {
                fields,
                closed: true,
                origin: "the map literal".into(),
            })
        } else {
            Ty::Map(Box::new(values))
        }
    }

    fn ident(&mut self, name: &'s str, span: Span) -> Checked<'s> {
        if let Some((_, ty)) = self.locals.iter().rev().find(|(n, _)| *n == name) {
            return Checked::owned(ty.clone());
        }
        if let Some(ty) = self.scope.get(name) {
            return Checked {
                ty: Cow::Borrowed(ty),
                maybe_null_step: None,
            };
        }
        let mut names: Vec<&str> = self.scope.names().collect();
        names.extend(self.locals.iter().map(|(n, _)| *n));
        names.sort_unstable();
        names.dedup();
        let listed = names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let help = match did_you_mean(name, names.iter().copied()) {
            Some(hint) => format!("{hint} the names in scope here are {listed}"),
            None if names.is_empty() => "no names are in scope here".to_owned(),
            None => format!("the names in scope here are {listed}"),
        };
        self.emit(
            Diagnostic::new(Code::E011, span, format!("unknown name `{name}`"))
                .label("not in scope")
                .help(help),
        );
        Checked::owned(Ty::Dyn)
    }

    /// W009 when `t` is the result of a step that may not have run and is read unguarded.
    fn warn_if_maybe_null(&mut self, t: &Checked<'s>, target: &Expr, field: &str, span: Span) {
        let Some(step) = t.maybe_null_step else {
            return;
        };
        if self.guarded.contains(&step) {
            return;
        }
        let read = if field.is_empty() {
            format!("`{target}[…]`")
        } else {
            format!("`{target}.{field}`")
        };
        let guard = if field.is_empty() {
            format!("`{target} != null && …`")
        } else {
            format!("`has({target}.{field}) ? {target}.{field} : …`, or `{target} != null && …`")
        };
        self.emit(
            Diagnostic::new(
                Code::W009,
                span,
                format!(
                    "step `{step}` may not have run, so `{target}` may be null when reading {read}"
                ),
            )
            .label("reads through a result that may be null")
            .help(format!("guard the read with {guard}")),
        );
    }

    fn field(&mut self, t: Checked<'s>, target: &Expr, name: &str, span: Span) -> Checked<'s> {
        let ty: Cow<'s, Ty> = match t.ty {
            Cow::Borrowed(ty) => Cow::Borrowed(ty.unwrap_optional()),
            Cow::Owned(Ty::Optional(ty)) => Cow::Owned(*ty),
            Cow::Owned(ty) => Cow::Owned(ty),
        };
        match ty {
            Cow::Borrowed(Ty::Object(o)) => match o.fields.get(name) {
                Some(f) => Checked {
                    ty: Cow::Borrowed(&f.ty),
                    maybe_null_step: f.may_not_have_run.as_deref(),
                },
                None => {
                    if o.closed {
                        self.unknown_field(o, target, name, span);
                    }
                    Checked::owned(Ty::Dyn)
                }
            },
            Cow::Owned(Ty::Object(mut o)) => match o.fields.remove(name) {
                Some(f) => Checked::owned(f.ty),
                None => {
                    if o.closed {
                        self.unknown_field(&o, target, name, span);
                    }
                    Checked::owned(Ty::Dyn)
                }
            },
            Cow::Borrowed(Ty::Map(v)) => Checked {
                ty: Cow::Borrowed(v),
                maybe_null_step: None,
            },
            Cow::Owned(Ty::Map(v)) => Checked::owned(*v),
            ty => {
                match &*ty {
                    Ty::Dyn | Ty::Null => {}
                    Ty::List(_) => self.type_error(
                        span,
                        format!("cannot read field `{name}` of a list (`{target}`)"),
                        &format!("pick an element first, e.g. `{target}[0].{name}`, or map over it: `{target}.map(x, x.{name})`"),
                    ),
                    other => self.type_error(
                        span,
                        format!("cannot read field `{name}` of {} (`{target}`)", article(other)),
                        "only maps have fields",
                    ),
                }
                Checked::owned(Ty::Dyn)
            }
        }
    }

    /// E012 for `steps.X`, E013 for any other closed object.
    fn unknown_field(&mut self, o: &ObjectTy, target: &Expr, name: &str, span: Span) {
        let hint = did_you_mean(name, o.fields.keys().map(String::as_str));
        let listed = list_names(o.fields.keys().map(String::as_str));
        let steps_root = matches!(&target.kind, ExprKind::Ident(root) if root == "steps")
            && !self.locals.iter().any(|(n, _)| *n == "steps");
        let (code, message, what) = if steps_root {
            (
                Code::E012,
                format!("no step `{name}` is visible here"),
                "the steps visible here are",
            )
        } else {
            (
                Code::E013,
                format!("{} has no field `{name}`", o.origin),
                "its fields are",
            )
        };
        let help = match (hint, listed) {
            (Some(hint), Some(listed)) => format!("{hint} {what} {listed}"),
            (None, Some(listed)) => format!("{what} {listed}"),
            (Some(hint), None) => hint,
            (None, None) if steps_root => {
                "no step result is visible here; a step's result is visible after it".into()
            }
            (None, None) => "it has no fields".into(),
        };
        self.emit(
            Diagnostic::new(code, span, message)
                .label("unknown")
                .help(help),
        );
    }

    fn index(&mut self, t: &Ty, i: &Ty, target: &Expr, index: &Expr) -> Ty {
        let i = i.unwrap_optional();
        match t.unwrap_optional() {
            Ty::List(elem) => {
                if !(i.is_numeric() || *i == Ty::Dyn) {
                    self.type_error(
                        index.span,
                        format!(
                            "a list is indexed by an int, but this index is {}",
                            article(i)
                        ),
                        "use a position such as `[0]`",
                    );
                }
                (**elem).clone()
            }
            Ty::Map(_) | Ty::Object(_) => {
                if !matches!(i, Ty::String | Ty::Dyn) {
                    self.type_error(
                        index.span,
                        format!("map keys are strings, but this index is {}", article(i)),
                        "index maps with strings, e.g. `m['key']` or `m[string(n)]`",
                    );
                }
                match t.unwrap_optional() {
                    Ty::Map(v) => (**v).clone(),
                    _ => Ty::Dyn,
                }
            }
            Ty::Dyn | Ty::Null => Ty::Dyn,
            other => {
                self.type_error(
                    target.span,
                    format!("cannot index {} (`{target}`)", article(other)),
                    "only lists and maps can be indexed",
                );
                Ty::Dyn
            }
        }
    }

    fn expect_bool(&mut self, t: &Ty, span: Span, what: &str) {
        let t = t.unwrap_optional();
        if !matches!(t, Ty::Bool | Ty::Dyn) {
            self.type_error(
                span,
                format!("{what} must be a bool, but this is {}", article(t)),
                "compare explicitly, e.g. `x != ''`, `x > 0` or `size(x) > 0`",
            );
        }
    }

    fn binary(&mut self, op: BinaryOp, lhs: &'s Expr, rhs: &'s Expr, span: Span) -> Ty {
        if matches!(op, BinaryOp::And | BinaryOp::Or) {
            let l = self.check(lhs).ty.into_owned();
            let what = format!("an operand of `{}`", op.as_str());
            self.expect_bool(&l, lhs.span, &what);
            let mark = self.guarded.len();
            guards(lhs, op == BinaryOp::And, &mut self.guarded);
            let r = self.check(rhs).ty.into_owned();
            self.guarded.truncate(mark);
            self.expect_bool(&r, rhs.span, &what);
            return Ty::Bool;
        }
        let l = self.check(lhs).ty.into_owned();
        let r = self.check(rhs).ty.into_owned();
        let (lt, rt) = (l.unwrap_optional(), r.unwrap_optional());
        let o = Operands {
            op,
            span,
            lhs,
            rhs,
            lt,
            rt,
        };
        let dyn_side = *lt == Ty::Dyn || *rt == Ty::Dyn;
        match op {
            BinaryOp::Eq | BinaryOp::Ne => Ty::Bool,
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                let ok = dyn_side
                    || (lt.is_numeric() && rt.is_numeric())
                    || (*lt == Ty::String && *rt == Ty::String)
                    || (*lt == Ty::Bool && *rt == Ty::Bool);
                if !ok {
                    self.emit(o.mismatch(
                        "compare values of the same type; convert with `int(…)`, `double(…)` or `string(…)`",
                    ));
                }
                Ty::Bool
            }
            BinaryOp::In => {
                match rt {
                    Ty::List(_) | Ty::Map(_) | Ty::Object(_) | Ty::Dyn | Ty::Null => {}
                    Ty::String => self.emit(o.mismatch(
                        "`in` tests list membership or map keys; for a substring use `s.contains(x)`",
                    )),
                    _ => self.emit(o.mismatch("`in` needs a list or a map on its right")),
                }
                Ty::Bool
            }
            _ => self.arithmetic(&o),
        }
    }

    fn arithmetic(&mut self, o: &Operands<'_>) -> Ty {
        let Operands {
            op,
            span,
            lhs,
            rhs,
            lt,
            rt,
        } = *o;
        let add = op == BinaryOp::Add;
        match (lt, rt) {
            (Ty::Int, Ty::Double) | (Ty::Double, Ty::Int) => {
                let int_side = if *lt == Ty::Int { lhs } else { rhs };
                self.emit(
                    Diagnostic::new(
                        Code::E015,
                        span,
                        format!("`{}` mixes an int and a double", op.as_str()),
                    )
                    .label("int and double")
                    .with_label(int_side.span, "this is an int")
                    .help(format!("convert the int: `double({int_side})`")),
                );
                Ty::Double
            }
            (Ty::Double, Ty::Double) if op == BinaryOp::Rem => {
                self.emit(o.mismatch("`%` works on ints only; convert with `int(…)`"));
                Ty::Dyn
            }
            (a, b) if a.is_numeric() && b.is_numeric() => {
                if a == b {
                    a.clone()
                } else {
                    Ty::Number
                }
            }
            (Ty::String, Ty::String) if add => Ty::String,
            (Ty::List(a), Ty::List(b)) if add => {
                Ty::List(Box::new((**a).clone().join((**b).clone())))
            }
            (Ty::Dyn, Ty::Dyn) => Ty::Dyn,
            (Ty::Dyn, t) | (t, Ty::Dyn) => match t {
                t if t.is_numeric() => t.clone(),
                Ty::List(_) if add => Ty::List(Box::new(Ty::Dyn)),
                Ty::String if add => Ty::String,
                t => {
                    self.emit(o.mismatch(arithmetic_help(op, t)));
                    Ty::Dyn
                }
            },
            (a, b) => {
                let t = if a.is_numeric() { b } else { a };
                self.emit(o.mismatch(arithmetic_help(op, t)));
                Ty::Dyn
            }
        }
    }

    fn function(&mut self, function: &'s Name, args: &'s [Expr], span: Span) -> Ty {
        let name = function.name.as_str();
        let tys: Vec<Ty> = args.iter().map(|a| self.check(a).ty.into_owned()).collect();
        let expected = match name {
            "size" | "int" | "double" | "string" | "has" => 1,
            "matches" => 2,
            "now" | "uuid" => 0,
            _ => {
                let help = if METHODS.contains(&name) {
                    format!("`{name}` is a method: write `x.{name}(…)`")
                } else {
                    match did_you_mean(name, FUNCTIONS.iter().copied()) {
                        Some(hint) => format!("{hint} the functions are {}", list_all(FUNCTIONS)),
                        None => format!("the functions are {}", list_all(FUNCTIONS)),
                    }
                };
                self.emit(
                    Diagnostic::new(
                        Code::E016,
                        function.span,
                        format!("unknown function `{name}`"),
                    )
                    .label("unknown")
                    .help(help),
                );
                return Ty::Dyn;
            }
        };
        if tys.len() != expected {
            let usage = match name {
                "has" => "`has(x.field)`",
                "matches" => "`matches(text, pattern)`",
                "now" | "uuid" => "no arguments",
                _ => "one argument",
            };
            self.arity(function, expected, tys.len(), span, usage);
            return Ty::Dyn;
        }
        match name {
            "size" => {
                self.size_arg(&tys[0], args[0].span);
                Ty::Int
            }
            "int" | "double" => {
                let t = tys[0].unwrap_optional();
                if !(t.is_numeric() || matches!(t, Ty::String | Ty::Dyn)) {
                    self.type_error(
                        args[0].span,
                        format!("`{name}` converts a number or a string, not {}", article(t)),
                        "pass a number or a numeric string",
                    );
                }
                if name == "int" { Ty::Int } else { Ty::Double }
            }
            "string" => {
                let t = tys[0].unwrap_optional();
                if !(t.is_numeric() || matches!(t, Ty::String | Ty::Bool | Ty::Dyn)) {
                    self.type_error(
                        args[0].span,
                        format!("`string` converts a number, a bool or a string, not {}", article(t)),
                        "interpolate the value in a string instead: `\"${ x }\"` renders it as JSON",
                    );
                }
                Ty::String
            }
            "matches" => {
                self.string_arg(&tys[0], &args[0], name);
                self.string_arg(&tys[1], &args[1], name);
                self.pattern(&args[1]);
                Ty::Bool
            }
            _ => Ty::String,
        }
    }

    fn arity(&mut self, function: &Name, expected: usize, got: usize, span: Span, usage: &str) {
        let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
        self.emit(
            Diagnostic::new(
                Code::E017,
                span,
                format!(
                    "`{}` takes {expected} {}, but {got} {} given",
                    function.name,
                    plural(expected),
                    if got == 1 { "was" } else { "were" }
                ),
            )
            .with_label(function.span, "called here")
            .help(format!("call it with {usage}")),
        );
    }

    fn size_arg(&mut self, t: &Ty, span: Span) {
        let t = t.unwrap_optional();
        if !matches!(
            t,
            Ty::String | Ty::List(_) | Ty::Map(_) | Ty::Object(_) | Ty::Dyn
        ) {
            self.type_error(
                span,
                format!(
                    "`size` needs a string, list or map, but this is {}",
                    article(t)
                ),
                "`size` counts characters, elements or entries",
            );
        }
    }

    fn string_arg(&mut self, t: &Ty, arg: &Expr, function: &str) {
        let t = t.unwrap_optional();
        if !matches!(t, Ty::String | Ty::Dyn) {
            self.type_error(
                arg.span,
                format!(
                    "`{function}` takes a string here, but this is {}",
                    article(t)
                ),
                "convert with `string(…)`",
            );
        }
    }

    /// E018 for a literal pattern that does not compile.
    fn pattern(&mut self, arg: &Expr) {
        if let ExprKind::String(p) = &arg.kind
            && let Err(e) = super::builtins::compile_regex(p)
        {
            self.emit(
                Diagnostic::new(Code::E018, arg.span, format!("invalid regular expression: {e}"))
                    .label("this pattern")
                    .help("fix the pattern (RE2 syntax); write backslashes as `\\\\`, or use a raw string `r'…'`"),
            );
        }
    }

    fn method(&mut self, target: &'s Expr, function: &'s Name, args: &'s [Expr], span: Span) -> Ty {
        let name = function.name.as_str();
        let t = self.check(target).ty.into_owned();
        let t = t.unwrap_optional();
        // A macro with the wrong shape: its arguments name a variable that is not bound, so
        // checking them would only add noise to the arity error.
        let tys: Vec<Ty> = if MacroKind::from_name(name).is_none() {
            args.iter().map(|a| self.check(a).ty.into_owned()).collect()
        } else {
            Vec::new()
        };
        let (arities, result, receiver): (&[usize], Ty, &str) = match name {
            "size" => (&[0], Ty::Int, "any"),
            "contains" | "startsWith" | "endsWith" | "matches" => (&[1], Ty::Bool, "string"),
            "lowerAscii" | "upperAscii" | "trim" => (&[0], Ty::String, "string"),
            "split" => (&[1, 2], Ty::List(Box::new(Ty::String)), "string"),
            "join" => (&[0, 1], Ty::String, "list"),
            "map" | "filter" | "exists" | "all" | "exists_one" => {
                let usage = if name == "map" {
                    format!("a variable name and an expression: `list.{name}(x, …)`")
                } else {
                    format!("a variable name and a condition: `list.{name}(x, …)`")
                };
                let expected = if name == "map" && args.len() > 2 {
                    3
                } else {
                    2
                };
                self.arity(function, expected, args.len(), span, &usage);
                return Ty::Dyn;
            }
            _ => {
                let help = if FUNCTIONS.contains(&name) {
                    format!("`{name}` is a function: write `{name}(…)`")
                } else {
                    match did_you_mean(name, METHODS.iter().copied()) {
                        Some(hint) => format!("{hint} the methods are {}", list_all(METHODS)),
                        None => format!("the methods are {}", list_all(METHODS)),
                    }
                };
                self.emit(
                    Diagnostic::new(
                        Code::E016,
                        function.span,
                        format!("unknown method `{name}`"),
                    )
                    .label("unknown")
                    .help(help),
                );
                return Ty::Dyn;
            }
        };
        if !arities.contains(&tys.len()) {
            let usage = match name {
                "split" => "a separator and an optional limit".to_owned(),
                "join" => "an optional separator".to_owned(),
                _ if arities == [0] => "no arguments".to_owned(),
                _ => "one string".to_owned(),
            };
            self.arity(function, arities[0], tys.len(), span, &usage);
            return result;
        }
        match receiver {
            "any" => self.size_arg(t, target.span),
            "string" if !matches!(t, Ty::String | Ty::Dyn) => self.type_error(
                target.span,
                format!(
                    "`{name}` is a string method, but `{target}` is {}",
                    article(t)
                ),
                "convert with `string(…)` first",
            ),
            "list" => match t {
                Ty::List(e) if matches!(e.unwrap_optional(), Ty::String | Ty::Dyn) => {}
                Ty::Dyn => {}
                Ty::List(e) => self.type_error(
                    target.span,
                    format!("`join` needs a list of strings, but `{target}` is a list of {e}"),
                    &format!("convert the elements first: `{target}.map(x, string(x)).join(…)`"),
                ),
                t => self.type_error(
                    target.span,
                    format!(
                        "`join` is a method of lists of strings, but `{target}` is {}",
                        article(t)
                    ),
                    "call `join` on a list of strings",
                ),
            },
            _ => {}
        }
        match name {
            "split" => {
                self.string_arg(&tys[0], &args[0], name);
                if let Some(n) = tys.get(1).map(Ty::unwrap_optional)
                    && !matches!(n, Ty::Int | Ty::Number | Ty::Dyn)
                {
                    self.type_error(
                        args[1].span,
                        format!(
                            "the limit of `split` must be an int, but this is {}",
                            article(n)
                        ),
                        "pass the maximum number of parts",
                    );
                }
            }
            "size" | "lowerAscii" | "upperAscii" | "trim" => {}
            _ => {
                for (ty, arg) in tys.iter().zip(args) {
                    self.string_arg(ty, arg, name);
                }
                if name == "matches" {
                    self.pattern(&args[0]);
                }
            }
        }
        result
    }

    fn comprehension(
        &mut self,
        kind: MacroKind,
        target: &'s Expr,
        var: &'s Name,
        filter: Option<&'s Expr>,
        body: &'s Expr,
    ) -> Ty {
        let t = self.check(target).ty.into_owned();
        let (elem, list) = match t.unwrap_optional() {
            Ty::List(e) => ((**e).clone(), t.unwrap_optional().clone()),
            Ty::Map(_) | Ty::Object(_) => (Ty::String, Ty::List(Box::new(Ty::String))),
            Ty::Dyn | Ty::Null => (Ty::Dyn, Ty::List(Box::new(Ty::Dyn))),
            other => {
                self.type_error(
                    target.span,
                    format!(
                        "`{}` needs a list or a map, but `{target}` is {}",
                        kind.as_str(),
                        article(other)
                    ),
                    "macros iterate over list elements or map keys",
                );
                (Ty::Dyn, Ty::List(Box::new(Ty::Dyn)))
            }
        };
        self.locals.push((&var.name, elem));
        if let Some(f) = filter {
            let ft = self.check(f).ty.into_owned();
            self.expect_bool(&ft, f.span, "the filter of `map`");
        }
        let bt = self.check(body).ty.into_owned();
        self.locals.pop();
        match kind {
            MacroKind::Map => Ty::List(Box::new(bt)),
            MacroKind::Filter => {
                self.expect_bool(&bt, body.span, "the condition of `filter`");
                list
            }
            _ => {
                let what = format!("the condition of `{}`", kind.as_str());
                self.expect_bool(&bt, body.span, &what);
                Ty::Bool
            }
        }
    }
}

/// The two sides of a binary operator, for its diagnostics.
#[derive(Clone, Copy)]
struct Operands<'e> {
    op: BinaryOp,
    span: Span,
    lhs: &'e Expr,
    rhs: &'e Expr,
    lt: &'e Ty,
    rt: &'e Ty,
}

impl Operands<'_> {
    /// E014: the operator has no overload for these two types.
    fn mismatch(&self, help: &str) -> Diagnostic {
        let (op, lt, rt) = (self.op.as_str(), self.lt, self.rt);
        Diagnostic::new(
            Code::E014,
            self.span,
            format!(
                "`{op}` cannot be applied to {} and {}",
                article(lt),
                article(rt)
            ),
        )
        .label(format!("`{op}` on {lt} and {rt}"))
        .with_label(self.lhs.span, format!("this is {}", article(lt)))
        .with_label(self.rhs.span, format!("this is {}", article(rt)))
        .help(help)
    }
}

fn arithmetic_help(op: BinaryOp, t: &Ty) -> &'static str {
    match (op, t) {
        (BinaryOp::Add, Ty::String) => {
            "both sides of `+` must be strings; convert with `string(…)`"
        }
        (BinaryOp::Add, Ty::List(_)) => "both sides of `+` must be lists",
        (BinaryOp::Add, _) => "`+` adds numbers of one type, or joins two strings or two lists",
        _ => "arithmetic needs numbers of one type; convert with `int(…)` or `double(…)`",
    }
}

/// "an int", "a string", … for messages.
fn article(t: &Ty) -> String {
    let name = t.to_string();
    let vowel = name.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {name}", if vowel { "an" } else { "a" })
}

/// "`a`, `b` and `c`", at most 12 names; `None` for none.
fn list_names<'a>(names: impl Iterator<Item = &'a str>) -> Option<String> {
    let names: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    match names.len() {
        0 => None,
        n if n > 12 => Some(format!("{} and {} more", names[..12].join(", "), n - 12)),
        _ => Some(names.join(", ")),
    }
}

fn list_all(names: &[&str]) -> String {
    list_names(names.iter().copied()).unwrap_or_default()
}

/// The step `X` a path `steps.X…` starts from, unless a macro variable shadows `steps`.
fn step_of(e: &Expr) -> Option<&str> {
    let mut e = e;
    loop {
        if let Some(("steps", id)) = e.root_field() {
            return Some(id);
        }
        e = match &e.kind {
            ExprKind::Member { target, .. } | ExprKind::Index { target, .. } => target,
            _ => return None,
        };
    }
}

/// Steps whose result is known to be non-null when `cond` evaluates to `positive`:
/// `has(steps.x…)`, `steps.x… != null`, and their combinations with `!`, `&&`, `||`.
fn guards<'s>(cond: &'s Expr, positive: bool, out: &mut Vec<&'s str>) {
    match &cond.kind {
        ExprKind::Has { target, .. } if positive => {
            if let Some(id) = step_of(target) {
                out.push(id);
            }
        }
        ExprKind::Unary {
            op: UnaryOp::Not,
            operand,
        } => guards(operand, !positive, out),
        ExprKind::Binary { op, lhs, rhs } => match (op, positive) {
            (BinaryOp::And, true) | (BinaryOp::Or, false) => {
                guards(lhs, positive, out);
                guards(rhs, positive, out);
            }
            (BinaryOp::Ne, true) | (BinaryOp::Eq, false) => {
                let path = match (&lhs.kind, &rhs.kind) {
                    (ExprKind::Null, _) => rhs,
                    (_, ExprKind::Null) => lhs,
                    _ => return,
                };
                if let Some(id) = step_of(path) {
                    out.push(id);
                }
            }
            _ => {}
        },
        _ => {}
    }
}

#[cfg(test)]
mod tests;
