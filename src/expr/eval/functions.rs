//! Built-in functions and methods: `size`, the string methods, `join`, `matches` (with a
//! compiled-pattern cache), the conversions, `now` and `uuid`.

use std::borrow::Cow;

use serde_json::Value;

use super::convert::{to_double, to_int, to_string};
use super::operators::{Num, num};
use super::{Evaluator, Res, Val, fail, path, type_name};
use crate::diagnostics::Span;
use crate::expr::ast::Expr;
use crate::expr::builtins::{self, Receiver, compile_regex};

impl<'a> Evaluator<'a, '_> {
    pub(super) fn call(
        &mut self,
        target: Option<&'a Expr>,
        name: &str,
        args: &'a [Expr],
        span: Span,
    ) -> Res<Val<'a>> {
        let Some(target) = target else {
            return self.function(name, args, span);
        };
        let t = self.eval(target)?;
        let mut vals = Vec::with_capacity(args.len());
        for a in args {
            vals.push(self.eval(a)?);
        }
        let receiver = builtins::method(name).map(|m| m.receiver);
        let v = match (name, t.as_ref()) {
            ("size", _) => {
                arity(name, 0, vals.len(), span)?;
                self.size(&t, span)?
            }
            ("join", Value::Array(items)) => {
                let sep = match vals.as_slice() {
                    [] => "",
                    [sep] => str_arg(name, sep, span)?,
                    _ => return fail(span, "`join` takes 0 or 1 arguments"),
                };
                let mut out = String::new();
                for (i, item) in items.iter().enumerate() {
                    let Value::String(s) = item else {
                        return fail(
                            span,
                            format!(
                                "`join` needs a list of strings, but element {i} is {}",
                                type_name(item)
                            ),
                        );
                    };
                    if i > 0 {
                        out.push_str(sep);
                    }
                    out.push_str(s);
                }
                self.tick(1 + items.len() as u64, span)?;
                self.charge(24 + out.len(), span)?;
                Value::String(out)
            }
            (_, Value::String(s)) => {
                return self.string_method(name, s, &vals, span).map(Cow::Owned);
            }
            (_, v) if matches!(receiver, Some(Receiver::String | Receiver::StringList)) => {
                let wants = if receiver == Some(Receiver::StringList) {
                    "a list of strings"
                } else {
                    "a string"
                };
                return fail(
                    span,
                    format!(
                        "`{name}` is a method of {wants}, but `{}` is {}",
                        path(target),
                        type_name(v)
                    ),
                );
            }
            _ => return fail(span, format!("unknown method `{name}`")),
        };
        Ok(Cow::Owned(v))
    }

    fn size(&mut self, v: &Value, span: Span) -> Res<Value> {
        let n = match v {
            Value::String(s) => {
                self.tick(s.len() as u64 / 64, span)?;
                s.chars().count()
            }
            Value::Array(items) => items.len(),
            Value::Object(m) => m.len(),
            v => {
                return fail(
                    span,
                    format!("`size` needs a string, list or map, not {}", type_name(v)),
                );
            }
        };
        Ok(Value::Number((n as u64).into()))
    }

    fn string_method(&mut self, name: &str, s: &str, args: &[Val<'a>], span: Span) -> Res<Value> {
        self.tick(s.len() as u64 / 64, span)?;
        let owned = |this: &mut Self, out: String| -> Res<Value> {
            this.charge(24 + out.len(), span)?;
            Ok(Value::String(out))
        };
        match name {
            "contains" | "startsWith" | "endsWith" | "matches" => {
                arity(name, 1, args.len(), span)?;
                let arg = str_arg(name, &args[0], span)?;
                Ok(Value::Bool(match name {
                    "contains" => s.contains(arg),
                    "startsWith" => s.starts_with(arg),
                    "endsWith" => s.ends_with(arg),
                    _ => regex_matches(s, arg, span)?,
                }))
            }
            "lowerAscii" => {
                arity(name, 0, args.len(), span)?;
                owned(self, s.to_ascii_lowercase())
            }
            "upperAscii" => {
                arity(name, 0, args.len(), span)?;
                owned(self, s.to_ascii_uppercase())
            }
            "trim" => {
                arity(name, 0, args.len(), span)?;
                owned(self, s.trim().to_owned())
            }
            "split" => {
                let (sep, limit) = match args {
                    [sep] => (str_arg(name, sep, span)?, -1),
                    [sep, n] => match n.as_ref() {
                        Value::Number(n) => match num(n) {
                            Num::Int(n) => (str_arg(name, sep, span)?, n),
                            Num::Double(_) => {
                                return fail(span, "the limit of `split` must be an int");
                            }
                        },
                        _ => return fail(span, "the limit of `split` must be an int"),
                    },
                    _ => return fail(span, "`split` takes 1 or 2 arguments"),
                };
                let parts = split(s, sep, limit);
                self.tick(parts.len() as u64, span)?;
                self.charge(24 + parts.iter().map(|p| 24 + p.len()).sum::<usize>(), span)?;
                Ok(Value::Array(
                    parts
                        .into_iter()
                        .map(|p| Value::String(p.to_owned()))
                        .collect(),
                ))
            }
            _ => fail(span, format!("unknown method `{name}`")),
        }
    }

    fn function(&mut self, name: &str, args: &'a [Expr], span: Span) -> Res<Val<'a>> {
        // `has` is a macro: a call of it that the parser did not expand has the wrong shape.
        let expected = match builtins::function(name) {
            Some(f) if f.name != "has" => f.arity,
            _ => return fail(span, format!("unknown function `{name}`")),
        };
        arity(name, expected, args.len(), span)?;
        let mut vals = Vec::with_capacity(args.len());
        for a in args {
            vals.push(self.eval(a)?);
        }
        let v = match (name, vals.as_slice()) {
            ("size", [v]) => self.size(v, span)?,
            ("matches", [s, re]) => {
                let s = str_arg(name, s, span)?;
                self.tick(s.len() as u64 / 64, span)?;
                Value::Bool(regex_matches(s, str_arg(name, re, span)?, span)?)
            }
            ("int", [v]) => to_int(v, span)?,
            ("double", [v]) => to_double(v, span)?,
            ("string", [v]) => {
                let s = to_string(v, span)?;
                self.charge(24 + s.len(), span)?;
                Value::String(s)
            }
            ("now", []) => Value::String(self.host.now()),
            ("secret", [v]) => {
                let name = str_arg(name, v, span)?;
                if !crate::expr::is_secret_name(name) {
                    return fail(span, format!("`{name}` is not a secret name"));
                }
                Value::String(crate::expr::secret_reference(name))
            }
            _ => Value::String(self.host.uuid()),
        };
        Ok(Cow::Owned(v))
    }
}

/// Fails unless `got` arguments are the `expected` number.
fn arity(name: &str, expected: usize, got: usize, span: Span) -> Res<()> {
    if got == expected {
        Ok(())
    } else {
        fail(
            span,
            format!(
                "`{name}` takes {expected} argument{}",
                if expected == 1 { "" } else { "s" }
            ),
        )
    }
}

fn str_arg<'v>(name: &str, v: &'v Value, span: Span) -> Res<&'v str> {
    match v {
        Value::String(s) => Ok(s),
        v => fail(
            span,
            format!("`{name}` takes a string argument, not {}", type_name(v)),
        ),
    }
}

/// Go's `strings.SplitN`, which CEL's `split` follows: a limit of 0 gives no parts, a
/// negative one all parts; an empty separator splits into characters.
fn split<'s>(s: &'s str, sep: &str, limit: i128) -> Vec<&'s str> {
    if limit == 0 {
        return Vec::new();
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if sep.is_empty() {
        let mut parts: Vec<&str> = Vec::new();
        let mut rest = s;
        while let Some(c) = rest.chars().next() {
            if parts.len() + 1 == limit {
                break;
            }
            parts.push(&rest[..c.len_utf8()]);
            rest = &rest[c.len_utf8()..];
        }
        if !rest.is_empty() {
            parts.push(rest);
        }
        return parts;
    }
    s.splitn(limit, sep).collect()
}

/// Compiles (with a small per-thread cache) and searches; CEL's `matches` is unanchored.
fn regex_matches(s: &str, pattern: &str, span: Span) -> Res<bool> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static CACHE: RefCell<HashMap<String, regex::Regex>> = RefCell::new(HashMap::new());
    }
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(re) = cache.get(pattern) {
            return Ok(re.is_match(s));
        }
        let re = match compile_regex(pattern) {
            Ok(re) => re,
            Err(e) => return fail(span, format!("invalid regular expression: {e}")),
        };
        let matched = re.is_match(s);
        if cache.len() >= 64 {
            cache.clear();
        }
        cache.insert(pattern.to_owned(), re);
        Ok(matched)
    })
}
