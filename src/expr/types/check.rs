//! The checker: walks an expression with the types of the roots in scope and reports what is
//! certainly wrong. It never fails and never panics: it returns the expression's type and every
//! problem it found. Anything of unknown type is [`Ty::Dyn`], and `Dyn` flows through every
//! operator without a diagnostic. Calls of built-ins are checked in `calls`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::{FieldTy, ObjectTy, Ran, Ty, TypeScope};
use crate::diagnostics::{Code, Diagnostic, Span, did_you_mean, list_names};
use crate::expr::ast::{
    BinaryOp, Expr, ExprKind, MacroKind, Name, Template, TemplatePart, UnaryOp,
};

mod calls;

/// Checks an expression: its type, and every problem found.
pub fn check_expr(expr: &Expr, scope: &TypeScope) -> (Ty, Vec<Diagnostic>) {
    let mut c = Checker {
        scope,
        locals: Vec::new(),
        guarded: Vec::new(),
        conditioned: Vec::new(),
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

/// A checked node: its type, and whether it is the result of a step that may not have run.
struct Checked<'s> {
    ty: Cow<'s, Ty>,
    ran: Option<&'s Ran>,
}

impl<'s> Checked<'s> {
    fn owned(ty: Ty) -> Checked<'s> {
        Checked {
            ty: Cow::Owned(ty),
            ran: None,
        }
    }
}

struct Checker<'s> {
    scope: &'s TypeScope,
    /// Macro variables, innermost last.
    locals: Vec<(&'s str, Ty)>,
    /// Steps whose result is known not to be null here (`has(...)`, `!= null`).
    guarded: Vec<&'s str>,
    /// Steps that a condition deciding whether this part is evaluated reads (`c ? … : …`,
    /// `c && …`, a macro's list or filter): such a condition may be a null test in disguise,
    /// so a read of a step that never ran is then only "may fail".
    conditioned: Vec<String>,
    diags: Vec<Diagnostic>,
}

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
                let conditioned = self.condition_on(cond);
                guards(cond, true, &mut self.guarded);
                let t = self.check(then).ty.into_owned();
                self.guarded.truncate(mark);
                guards(cond, false, &mut self.guarded);
                let o = self.check(otherwise).ty.into_owned();
                self.guarded.truncate(mark);
                self.conditioned.truncate(conditioned);
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
                ran: None,
            };
        }
        let mut names: Vec<&str> = self.scope.names().collect();
        names.extend(self.locals.iter().map(|(n, _)| *n));
        names.sort_unstable();
        names.dedup();
        let listed = list_names(names.iter().copied());
        let help = match (did_you_mean(name, names.iter().copied()), listed) {
            (Some(hint), Some(listed)) => format!("{hint} the names in scope here are {listed}"),
            (Some(hint), None) => hint,
            (None, Some(listed)) => format!("the names in scope here are {listed}"),
            (None, None) => "no names are in scope here".to_owned(),
        };
        self.emit(
            Diagnostic::new(Code::E011, span, format!("unknown name `{name}`"))
                .label("not in scope")
                .help(help),
        );
        Checked::owned(Ty::Dyn)
    }

    /// Notes the steps `cond` reads as conditioning what is checked until the returned mark.
    fn condition_on(&mut self, cond: &Expr) -> usize {
        let mark = self.conditioned.len();
        self.conditioned.extend(cond.step_refs());
        mark
    }

    /// W009 when `t` is the result of a step that may not have run and is read unguarded;
    /// E019 when the step never ran on any path reaching the read, so that the read fails
    /// whenever it is evaluated (unless a condition around it reads the step: then it may
    /// be dead code, and W009 says enough).
    fn warn_if_maybe_null(&mut self, t: &Checked<'s>, target: &Expr, field: &str, span: Span) {
        let (step, never) = match t.ran {
            Some(Ran::Maybe(step)) => (step.as_str(), false),
            Some(Ran::Never(step)) => (step.as_str(), true),
            Some(Ran::Surely) | None => return,
        };
        if self.guarded.contains(&step) {
            return;
        }
        let read = if field.is_empty() {
            format!("`{target}[…]`")
        } else {
            format!("`{target}.{field}`")
        };
        if never && !self.conditioned.iter().any(|s| s == step) {
            self.emit(
                Diagnostic::new(
                    Code::E019,
                    span,
                    format!(
                        "step `{step}` never runs on a path that reaches this read: `{target}` is null here, so reading {read} always fails"
                    ),
                )
                .label("always null here")
                .help(format!(
                    "every path that runs `{step}` ends in `fail`, `return` or `rethrow` before this point: read `{target}` inside that path, before it ends, or drop the read"
                )),
            );
            return;
        }
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
                    ran: Some(&f.ran),
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
                ran: None,
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
            let conditioned = self.condition_on(lhs);
            guards(lhs, op == BinaryOp::And, &mut self.guarded);
            let r = self.check(rhs).ty.into_owned();
            self.guarded.truncate(mark);
            self.conditioned.truncate(conditioned);
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
        // The body runs once per element (none for an empty list), and only where the filter
        // holds.
        let conditioned = self.condition_on(target);
        if let Some(f) = filter {
            let ft = self.check(f).ty.into_owned();
            self.expect_bool(&ft, f.span, "the filter of `map`");
            self.condition_on(f);
        }
        let bt = self.check(body).ty.into_owned();
        self.conditioned.truncate(conditioned);
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
