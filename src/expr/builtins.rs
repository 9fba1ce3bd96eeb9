//! The built-in functions and methods: names, argument counts and receivers, in one table that
//! the checker and the evaluator both read, and the regex engine both compile with.

/// A global function, `name(args)`.
pub(super) struct Function {
    pub name: &'static str,
    pub arity: usize,
}

/// What a method is called on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Receiver {
    /// Anything `size` counts: a string, a list or a map.
    Sized,
    String,
    /// A list of strings.
    StringList,
    /// A list or a map, iterated by a macro that the parser expands when it has the right
    /// shape; a call that reaches the checker or the evaluator does not.
    Macro,
}

/// A method, `target.name(args)`.
pub(super) struct Method {
    pub name: &'static str,
    /// The argument counts accepted, the usual one first.
    pub arities: &'static [usize],
    pub receiver: Receiver,
}

/// In the order messages list them.
#[rustfmt::skip]
pub(super) const FUNCTIONS: &[Function] = &[
    Function { name: "size", arity: 1 },
    Function { name: "int", arity: 1 },
    Function { name: "double", arity: 1 },
    Function { name: "string", arity: 1 },
    Function { name: "matches", arity: 2 },
    Function { name: "now", arity: 0 },
    Function { name: "uuid", arity: 0 },
    // A reference to a secret, resolved by the activity worker (see `secret_reference`).
    Function { name: "secret", arity: 1 },
    // A macro the parser expands from `has(x.field)`; listed so that a call of another shape is
    // told its arity.
    Function { name: "has", arity: 1 },
];

/// In the order messages list them.
#[rustfmt::skip]
pub(super) const METHODS: &[Method] = &[
    Method { name: "size", arities: &[0], receiver: Receiver::Sized },
    Method { name: "contains", arities: &[1], receiver: Receiver::String },
    Method { name: "startsWith", arities: &[1], receiver: Receiver::String },
    Method { name: "endsWith", arities: &[1], receiver: Receiver::String },
    Method { name: "matches", arities: &[1], receiver: Receiver::String },
    Method { name: "lowerAscii", arities: &[0], receiver: Receiver::String },
    Method { name: "upperAscii", arities: &[0], receiver: Receiver::String },
    Method { name: "trim", arities: &[0], receiver: Receiver::String },
    Method { name: "split", arities: &[1, 2], receiver: Receiver::String },
    Method { name: "join", arities: &[0, 1], receiver: Receiver::StringList },
    Method { name: "map", arities: &[2, 3], receiver: Receiver::Macro },
    Method { name: "filter", arities: &[2], receiver: Receiver::Macro },
    Method { name: "exists", arities: &[2], receiver: Receiver::Macro },
    Method { name: "all", arities: &[2], receiver: Receiver::Macro },
    Method { name: "exists_one", arities: &[2], receiver: Receiver::Macro },
];

pub(super) fn function(name: &str) -> Option<&'static Function> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

pub(super) fn method(name: &str) -> Option<&'static Method> {
    METHODS.iter().find(|m| m.name == name)
}

/// The regex engine with the size limit evaluation and the checker share.
pub(super) fn compile_regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| match e {
            regex::Error::Syntax(s) => {
                let last = s.lines().last().unwrap_or("syntax error").trim();
                last.strip_prefix("error: ").unwrap_or(last).to_owned()
            }
            regex::Error::CompiledTooBig(_) => "the pattern is too large".to_owned(),
            _ => e.to_string(),
        })
}
