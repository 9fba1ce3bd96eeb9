//! Statements → [`Step`]s: assignments, `step ID =`, guards, and every keyword step.
//!
//! Invariant (the reader's): a statement is answered only as `statement` in the grammar,
//! lowered, answers it. Where the grammar looks ahead and could fall back to another
//! alternative (a keyword whose step does not read, a `when` without a value), the reader
//! gives up rather than follow.

use super::{Reader, is_ident, once, skim, unique};
use crate::diagnostics::Spanned;
use crate::expr::{Expr, ExprKind};
use crate::syntax::ast::*;

/// Words that start a keyword step (the grammar's `stmt_word`).
const STEP_WORDS: &[&str] = &[
    "if", "block", "switch", "parallel", "race", "for", "while", "wait", "sleep", "set", "try",
    "fail", "return", "rethrow", "workflow", "step", "use",
];

impl Reader<'_> {
    /// `block`: `{ (statement | ";")* }`.
    pub(super) fn block(&mut self) -> Option<Vec<Step>> {
        self.punct(b'{')?;
        self.nested(|r| {
            let mut steps = Vec::new();
            while r.punct(b'}').is_none() {
                if !r.semi() {
                    steps.push(r.statement()?);
                }
            }
            Some(steps)
        })
    }

    /// `assignments`: `{ (assignment | ";")* }`, each variable once.
    pub(super) fn assignments(&mut self) -> Option<Vec<(Name, Value)>> {
        self.punct(b'{')?;
        let mut out: Vec<(Name, Value)> = Vec::new();
        while self.punct(b'}').is_none() {
            if self.semi() {
                continue;
            }
            let (name, value) = self.assignment()?;
            if out.iter().any(|(n, _)| n.value == name.value) {
                return None;
            }
            out.push((name, value));
        }
        Some(out)
    }

    /// `assignment`: `NAME = value`.
    pub(super) fn assignment(&mut self) -> Option<(Name, Value)> {
        let name = self.tbinding()?;
        self.eq()?;
        Some((name, self.value()?))
    }

    /// `statement`: `assign_step | step`.
    pub(super) fn statement(&mut self) -> Option<Step> {
        let start = self.pos;
        if self.assign_start() {
            let (name, value) = self.assignment()?;
            let when = self.guard()?;
            return Some(Step {
                id: None,
                when,
                kind: StepKind::Set(vec![(name, value)]),
                span: self.span(start),
            });
        }
        let id = self.step_id()?;
        if self.is_kw("if") {
            let (cond, kind) = self.if_step()?;
            return Some(Step {
                id,
                when: Some(cond),
                kind,
                span: self.span(start),
            });
        }
        let kind = match STEP_WORDS.iter().find(|w| self.is_step_word(w)) {
            Some(word) => self.keyword_step(word)?,
            None => self.activity_step()?,
        };
        let when = self.guard()?;
        Some(Step {
            id,
            when,
            kind,
            span: self.span(start),
        })
    }

    /// `assign_start`: a name, ASCII whitespace, and `=` not followed by `=`.
    pub(super) fn assign_start(&self) -> bool {
        if !self.peek().is_some_and(super::is_ident_start) {
            return false;
        }
        let name = self.run(self.pos + 1, |c| is_ident(c) || c == b'.' || c == b'-');
        let eq = self.run(name, |c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'));
        self.at(eq) == Some(b'=') && self.at(eq + 1) != Some(b'=')
    }

    /// `(&"step" ~ step_id)?`: `step ID =`, or nothing (the cursor unmoved). The outer
    /// `None` gives up (a reserved word as the id).
    fn step_id(&mut self) -> Option<Option<Name>> {
        let (pos, end) = (self.pos, self.end);
        if self.kw("step")
            && let Some(id) = self.tname()
            && self.eq().is_some()
        {
            let reserved = crate::expr::parse::RESERVED.contains(&id.value.as_str());
            return (!reserved).then_some(Some(id));
        }
        (self.pos, self.end) = (pos, end);
        Some(None)
    }

    /// `(&"when" ~ guard)?`; the outer `None` gives up.
    fn guard(&mut self) -> Option<Option<Value>> {
        if self.kw("when") {
            return Some(Some(self.value()?));
        }
        Some(None)
    }

    /// `stmt_word`: the word, not glued to a name character, `(`, `.` or `-`.
    fn is_step_word(&self, word: &str) -> bool {
        self.starts(word)
            && !self
                .at(self.pos + word.len())
                .is_some_and(|c| is_ident(c) || matches!(c, b'(' | b'.' | b'-'))
    }

    /// `if VALUE { } (else (if … | { }))?`: the condition and the block.
    fn if_step(&mut self) -> Option<(Value, StepKind)> {
        self.kw("if");
        let cond = self.value()?;
        let steps = self.block()?;
        let mut else_steps = None;
        if self.kw("else") {
            if self.is_kw("if") {
                let start = self.pos;
                let (when, kind) = self.nested(Self::if_step)?;
                else_steps = Some(vec![Step {
                    id: None,
                    when: Some(when),
                    kind,
                    span: self.span(start),
                }]);
            } else {
                else_steps = Some(self.block()?);
            }
        }
        Some((cond, StepKind::Block { steps, else_steps }))
    }

    /// The step that the keyword `word` starts.
    fn keyword_step(&mut self, word: &str) -> Option<StepKind> {
        if !self.kw(word) {
            return None;
        }
        Some(match word {
            "block" => {
                let steps = self.block()?;
                let else_steps = if self.kw("else") {
                    Some(self.block()?)
                } else {
                    None
                };
                StepKind::Block { steps, else_steps }
            }
            "switch" => self.switch()?,
            "parallel" | "race" => self.branches(word == "race")?,
            "for" => {
                let item = Some(self.binding()?);
                self.kw("in").then_some(())?;
                let over = self.value()?;
                let concurrency = self.limit("concurrency")?;
                let steps = self.block()?;
                StepKind::Foreach {
                    over,
                    item,
                    concurrency,
                    steps,
                }
            }
            "while" => {
                let cond = self.value()?;
                let max_iterations = self.limit("max_iterations")?;
                let steps = self.block()?;
                StepKind::While {
                    cond,
                    max_iterations,
                    steps,
                }
            }
            "wait" => self.wait()?,
            "sleep" => StepKind::Sleep(self.sleep()?),
            "set" => StepKind::Set(self.assignments()?),
            "try" => {
                let steps = self.block()?;
                let mut catches = Vec::new();
                while self.is_kw("catch") {
                    catches.push(self.catch()?);
                }
                StepKind::Try { steps, catches }
            }
            "fail" => self.fail()?,
            "return" => StepKind::Return(self.value()?),
            "rethrow" => StepKind::Rethrow,
            "use" => StepKind::Use(self.tname()?),
            "workflow" => StepKind::Workflow(self.child()?),
            _ => return None,
        })
    }

    /// `(KEYWORD ~ int)?` of a loop; the outer `None` gives up.
    fn limit(&mut self, keyword: &str) -> Option<Option<Spanned<i64>>> {
        if self.kw(keyword) {
            return Some(Some(self.int()?));
        }
        Some(None)
    }

    /// `switch { (case VALUE { })* (default { })? }`, the keyword read.
    fn switch(&mut self) -> Option<StepKind> {
        self.punct(b'{')?;
        let mut arms = Vec::new();
        loop {
            if self.semi() {
                continue;
            }
            let start = self.pos;
            if !self.kw("case") {
                break;
            }
            let when = self.value()?;
            let steps = self.block()?;
            arms.push(SwitchArm {
                when,
                steps,
                span: self.span(start),
            });
        }
        let default = if self.kw("default") {
            Some(self.block()?)
        } else {
            None
        };
        while self.semi() {}
        self.punct(b'}')?;
        Some(StepKind::Switch { arms, default })
    }

    /// `branches`: `{ (KEY { })* }`, each key once.
    fn branches(&mut self, race: bool) -> Option<StepKind> {
        self.punct(b'{')?;
        let mut branches = Vec::new();
        while self.punct(b'}').is_none() {
            if !self.semi() {
                branches.push((self.key()?, self.block()?));
            }
        }
        unique(branches.iter().map(|(n, _)| n))?;
        Some(StepKind::Parallel { branches, race })
    }

    /// `wait (any(a, b) | all(a, b) | NAME) clauses`, the keyword read.
    fn wait(&mut self) -> Option<StepKind> {
        let (pos, end) = (self.pos, self.end);
        let mode = if self.kw("any") {
            WaitMode::Any
        } else if self.kw("all") {
            WaitMode::All
        } else {
            WaitMode::One
        };
        let (signal, others, mode) = if mode != WaitMode::One && self.punct(b'(').is_some() {
            let mut names = self.items(b')', Self::tname)?;
            if names.is_empty() {
                return None;
            }
            let first = names.remove(0);
            (first, names, mode)
        } else {
            (self.pos, self.end) = (pos, end);
            (self.tname()?, Vec::new(), WaitMode::One)
        };
        let (mut until, mut timeout, mut on_timeout) = (None, None, None);
        loop {
            if self.kw("until") {
                once(&mut until, self.value()?)?;
            } else if self.kw("timeout") {
                once(&mut timeout, self.duration()?)?;
            } else if self.kw("on_timeout") {
                once(&mut on_timeout, self.tname()?)?;
            } else {
                break;
            }
        }
        Some(StepKind::Wait {
            signal,
            others,
            mode,
            until,
            timeout,
            on_timeout,
        })
    }

    /// `sleep (until VALUE | DURATION | VALUE)`, the keyword read.
    fn sleep(&mut self) -> Option<Sleep> {
        if self.kw("until") {
            return Some(Sleep::Until(self.value()?));
        }
        match self.sleep_duration() {
            Some(end) => Some(Sleep::For(self.duration_to(end)?)),
            None => Some(Sleep::Expr(self.value()?)),
        }
    }

    /// The end of a `sleep_duration` at the cursor: a digit and a unit, or ISO 8601.
    fn sleep_duration(&self) -> Option<usize> {
        let p = self.pos;
        let tail = |from: usize| self.run(from, |c| c.is_ascii_alphanumeric() || c == b'.');
        let end = match self.peek()? {
            c if c.is_ascii_digit() => {
                let unit = self.run(p + 1, |c| c.is_ascii_digit() || c == b'.');
                self.at(unit).filter(u8::is_ascii_alphabetic)?;
                tail(unit + 1)
            }
            b'P' | b'p' => {
                let digit = p + 1 + usize::from(matches!(self.at(p + 1), Some(b'T' | b't')));
                self.at(digit).filter(u8::is_ascii_digit)?;
                tail(digit + 1)
            }
            _ => return None,
        };
        (!self.at(end).is_some_and(is_ident)).then_some(end)
    }

    /// `catch TYPES? (as NAME)? (when VALUE)? { }`.
    fn catch(&mut self) -> Option<Catch> {
        let start = self.pos;
        self.kw("catch");
        let mut errors = Vec::new();
        if !self.is_kw("as")
            && !self.is_kw("when")
            && self.peek().is_some_and(super::is_ident_start)
        {
            errors.push(self.tname()?);
            while self.punct(b',').is_some() {
                errors.push(self.tname()?);
            }
        }
        let name = if self.kw("as") {
            Some(self.binding()?)
        } else {
            None
        };
        let when = if self.kw("when") {
            Some(self.value()?)
        } else {
            None
        };
        let steps = self.block()?;
        Some(Catch {
            errors,
            when,
            name,
            steps,
            span: self.span(start),
        })
    }

    /// `fail TYPE (message VALUE | details VALUE)*`, the keyword read.
    fn fail(&mut self) -> Option<StepKind> {
        let start = self.pos;
        let error_type = if skim::string(self.b, start).is_some() {
            self.string_token()?;
            let e = crate::expr::parse_expr(&self.src[start..self.end], self.file, start).ok()?;
            Value {
                kind: ValueKind::Expr(e),
                span: self.span(start),
            }
        } else if self.peek() == Some(b'`') {
            let kind = self.template()?;
            Value {
                kind,
                span: self.span(start),
            }
        } else if self.punct(b'(').is_some() {
            let v = self.value()?;
            self.punct(b')')?;
            v
        } else {
            let name = self.tname()?;
            Value {
                kind: ValueKind::Expr(Expr::new(ExprKind::String(name.value), name.span)),
                span: name.span,
            }
        };
        let (mut message, mut details) = (None, None);
        loop {
            if self.kw("message") {
                once(&mut message, self.value()?)?;
            } else if self.kw("details") {
                once(&mut details, self.value()?)?;
            } else {
                break;
            }
        }
        Some(StepKind::Fail {
            error_type,
            message,
            details,
        })
    }
}
