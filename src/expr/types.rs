//! Static types of expressions: the type lattice ([`Ty`], joins, types from JSON Schemas and
//! values) and the scope of root names; `check` checks expressions against them.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

pub use check::{check_expr, check_template};

mod check;

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
    /// Whether the field is the result of a step that may not have run (then it may be null:
    /// reading through it unguarded is W009), or that never ran on any path reaching here
    /// (then it is null: reading through it fails every time, E019).
    pub ran: Ran,
}

/// Whether the step whose result a field is has run when an expression reads it.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Ran {
    /// Not a step result, or the result of a step that surely ran.
    #[default]
    Surely,
    /// Step `id` may not have run.
    Maybe(String),
    /// Step `id` never ran on any path that reaches the read: every path that runs it ends
    /// abruptly (`fail`, `return`, `rethrow`) before it gets there.
    Never(String),
}

impl Ran {
    /// After a construct that may skip step `id`: a step that surely ran may not have; one
    /// that never ran still never did.
    pub fn may_skip(self, id: &str) -> Ran {
        match self {
            Ran::Surely => Ran::Maybe(id.to_owned()),
            other => other,
        }
    }

    /// At a point that paths running step `id` may also reach: at best "may not have run".
    pub fn at_most_maybe(self, id: &str) -> Ran {
        match self {
            Ran::Maybe(step) | Ran::Never(step) => Ran::Maybe(step),
            Ran::Surely => Ran::Maybe(id.to_owned()),
        }
    }

    /// The step that may not have run, or never did.
    pub fn step(&self) -> Option<&str> {
        match self {
            Ran::Surely => None,
            Ran::Maybe(step) | Ran::Never(step) => Some(step),
        }
    }
}

impl FieldTy {
    pub fn new(ty: Ty) -> FieldTy {
        FieldTy {
            ty,
            ran: Ran::Surely,
        }
    }

    /// The result of step `step`, which may not have run.
    pub fn may_not_have_run(ty: Ty, step: &str) -> FieldTy {
        FieldTy {
            ty,
            ran: Ran::Maybe(step.to_owned()),
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

#[cfg(test)]
mod tests;
