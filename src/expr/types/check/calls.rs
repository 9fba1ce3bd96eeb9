//! Checks of calls: the built-in functions and methods by the shared table, their argument
//! counts and types, and literal regex patterns.

use super::{Checker, article};
use crate::diagnostics::{Code, Diagnostic, Span, did_you_mean, list_names};
use crate::expr::ast::{Expr, ExprKind, MacroKind, Name};
use crate::expr::builtins::{self, Receiver};
use crate::expr::types::Ty;

impl<'s> Checker<'s> {
    pub(super) fn function(&mut self, function: &'s Name, args: &'s [Expr], span: Span) -> Ty {
        let name = function.name.as_str();
        let tys: Vec<Ty> = args.iter().map(|a| self.check(a).ty.into_owned()).collect();
        let Some(expected) = builtins::function(name).map(|f| f.arity) else {
            let elsewhere = builtins::method(name)
                .map(|_| format!("`{name}` is a method: write `x.{name}(…)`"));
            let known = builtins::FUNCTIONS.iter().map(|f| f.name);
            self.unknown_call(function, "function", known, elsewhere);
            return Ty::Dyn;
        };
        if tys.len() != expected {
            let usage = match name {
                "has" => "`has(x.field)`",
                "matches" => "`matches(text, pattern)`",
                "now" | "uuid" => "no arguments",
                "secret" => "the secret's name, e.g. `secret('payments/api_key')`",
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
            "secret" => {
                match &args[0].kind {
                    ExprKind::String(secret) if crate::expr::is_secret_name(secret) => {}
                    ExprKind::String(secret) => self.type_error(
                        args[0].span,
                        format!("`{secret}` is not a secret name"),
                        "name secrets with path segments of letters, digits, `_`, `.` and `-`, e.g. `secret('payments/api_key')`",
                    ),
                    _ => self.type_error(
                        args[0].span,
                        "`secret` takes the secret's name as a literal string".to_string(),
                        "write the name itself, e.g. `secret('payments/api_key')`: lint checks every use of a secret",
                    ),
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

    /// E016: no built-in `kind` (`"function"` or `"method"`) has this name. `elsewhere` says
    /// how to call a built-in of the other kind that has it; without it the help lists `known`.
    fn unknown_call<'n>(
        &mut self,
        function: &Name,
        kind: &str,
        known: impl Iterator<Item = &'n str> + Clone,
        elsewhere: Option<String>,
    ) {
        let name = function.name.as_str();
        let help = elsewhere.unwrap_or_else(|| {
            let listed = list_names(known.clone()).unwrap_or_default();
            match did_you_mean(name, known) {
                Some(hint) => format!("{hint} the {kind}s are {listed}"),
                None => format!("the {kind}s are {listed}"),
            }
        });
        self.emit(
            Diagnostic::new(
                Code::E016,
                function.span,
                format!("unknown {kind} `{name}`"),
            )
            .label("unknown")
            .help(help),
        );
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
            && let Err(e) = builtins::compile_regex(p)
        {
            self.emit(
                Diagnostic::new(Code::E018, arg.span, format!("invalid regular expression: {e}"))
                    .label("this pattern")
                    .help("fix the pattern (RE2 syntax); write backslashes as `\\\\`, or use a raw string `r'…'`"),
            );
        }
    }

    pub(super) fn method(
        &mut self,
        target: &'s Expr,
        function: &'s Name,
        args: &'s [Expr],
        span: Span,
    ) -> Ty {
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
        let Some(method) = builtins::method(name) else {
            let elsewhere = builtins::function(name)
                .map(|_| format!("`{name}` is a function: write `{name}(…)`"));
            let known = builtins::METHODS.iter().map(|m| m.name);
            self.unknown_call(function, "method", known, elsewhere);
            return Ty::Dyn;
        };
        let (arities, receiver) = (method.arities, method.receiver);
        if receiver == Receiver::Macro {
            let usage = if name == "map" {
                format!("a variable name and an expression: `list.{name}(x, …)`")
            } else {
                format!("a variable name and a condition: `list.{name}(x, …)`")
            };
            // `map` also takes a filter: too many arguments are measured against that form.
            let expected = if args.len() > 2 {
                arities[arities.len() - 1]
            } else {
                arities[0]
            };
            self.arity(function, expected, args.len(), span, &usage);
            return Ty::Dyn;
        }
        let result = match name {
            "size" => Ty::Int,
            "contains" | "startsWith" | "endsWith" | "matches" => Ty::Bool,
            "split" => Ty::List(Box::new(Ty::String)),
            // `lowerAscii`, `upperAscii`, `trim` and `join`.
            _ => Ty::String,
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
            Receiver::Sized => self.size_arg(t, target.span),
            Receiver::String if !matches!(t, Ty::String | Ty::Dyn) => self.type_error(
                target.span,
                format!(
                    "`{name}` is a string method, but `{target}` is {}",
                    article(t)
                ),
                "convert with `string(…)` first",
            ),
            Receiver::StringList => match t {
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
}
