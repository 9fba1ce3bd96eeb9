//! The file, its workflows and fragments, the workflow header and its declarations.
//!
//! Invariant (the reader's): each method answers only what `file`, `workflow`,
//! `header_clause` and `declaration` in the grammar, lowered, answer without a diagnostic;
//! a declaration keyword whose declaration does not read gives up, for the grammar would
//! then try it as a statement.

use super::{Reader, once, skim, unique};
use crate::diagnostics::Spanned;
use crate::syntax::ast::*;
use crate::syntax::text::lower::{
    compact_type, object_schema, rewrite_signal_params, rewrite_update_params,
};
use serde_json::{Map, Value as Json, json};

/// The words that start a declaration (the grammar's `decl_start`).
const DECLARATIONS: &[&str] = &[
    "var",
    "signal",
    "update",
    "query",
    "description",
    "input",
    "defaults",
    "output",
    "schedule",
    "search_attributes",
    "memo",
    "continue_as_new_after",
    "expose_status",
];

impl Reader<'_> {
    /// `file`: an optional version, fragments and at least one workflow, to the end.
    pub(super) fn file(&mut self) -> Option<File> {
        let mut version = None;
        if self.kw("stave") {
            version = Some(self.int()?);
        }
        let mut workflows = Vec::new();
        let mut fragments = Vec::new();
        while self.pos < self.b.len() {
            if self.is_kw("fragment") {
                fragments.push(self.fragment()?);
            } else if self.is_kw("workflow") {
                workflows.push(self.workflow()?);
            } else {
                return None;
            }
        }
        if workflows.is_empty() {
            return None;
        }
        unique(fragments.iter().map(|f| &f.name))?;
        for w in &mut workflows {
            w.version = version.clone();
        }
        Some(File {
            file: self.file,
            span: crate::diagnostics::Span::new(self.file, 0, self.b.len()),
            version,
            workflows,
            fragments,
        })
    }

    /// `fragment NAME { steps }`.
    fn fragment(&mut self) -> Option<Fragment> {
        let start = self.pos;
        self.kw("fragment");
        let name = self.tname()?;
        let steps = self.block()?;
        Some(Fragment {
            name,
            steps,
            span: self.span(start),
        })
    }

    /// `workflow NAME header_clause* { (item | ";")* }`.
    fn workflow(&mut self) -> Option<Workflow> {
        let start = self.pos;
        self.kw("workflow");
        let name = self.tname()?;
        let mut w = Workflow::named(self.file, name, self.span(start));
        while self.punct(b'{').is_none() {
            if self.kw("on") {
                self.kw("queue").then_some(())?;
                let q = self.tname()?;
                once(&mut w.queue, q)?;
            } else if self.kw("timeout") {
                let d = self.duration()?;
                once(&mut w.timeout, d)?;
            } else if self.kw("priority") {
                let v = self.value()?;
                once(&mut w.priority, v)?;
            } else {
                return None;
            }
        }
        let (mut search_attributes, mut memo) = (None, None);
        while self.punct(b'}').is_none() {
            if self.semi() {
                continue;
            }
            if DECLARATIONS.iter().any(|d| self.is_kw(d)) {
                self.declaration(&mut w, &mut search_attributes, &mut memo)?;
            } else {
                let s = self.statement()?;
                w.steps.push(s);
            }
        }
        w.span = self.span(start);
        w.search_attributes = search_attributes.unwrap_or_default();
        w.memo = memo.unwrap_or_default();
        unique(w.vars.iter().map(|(n, _)| n))?;
        unique(w.signals.iter().map(|s| &s.name))?;
        unique(w.updates.iter().map(|u| &u.name))?;
        unique(w.queries.iter().map(|(n, _)| n))?;
        unique(w.schedules.iter().map(|s| &s.id))?;
        Some(w)
    }

    fn declaration(
        &mut self,
        w: &mut Workflow,
        search_attributes: &mut Option<Vec<(Name, Value)>>,
        memo: &mut Option<Vec<(Name, Value)>>,
    ) -> Option<()> {
        let start = self.pos;
        if self.kw("description") {
            once(&mut w.description, self.string()?)
        } else if self.kw("input") {
            let schema = self.input()?;
            once(&mut w.input, schema)
        } else if self.kw("var") {
            let name = self.tbinding()?;
            self.eq()?;
            w.vars.push((name, self.value()?));
            Some(())
        } else if self.kw("defaults") {
            self.punct(b'{')?;
            let mut options = ActivityOptions::default();
            let mut seen = Vec::new();
            while self.punct(b'}').is_none() {
                if !self.semi() && !self.option(&mut options, &mut seen)? {
                    return None;
                }
            }
            options.span = self.span(start);
            once(&mut w.defaults, options)
        } else if self.kw("signal") {
            let name = self.tname()?;
            let params = self.params()?;
            let set = match self.peek() {
                Some(b'{') => self.assignments()?,
                _ => Vec::new(),
            };
            let mut signal = Signal {
                name,
                params,
                set,
                span: self.span(start),
            };
            rewrite_signal_params(&mut signal);
            w.signals.push(signal);
            Some(())
        } else if self.kw("update") {
            let u = self.update(start)?;
            w.updates.push(u);
            Some(())
        } else if self.kw("query") {
            let name = self.tname()?;
            self.eq()?;
            w.queries.push((name, self.value()?));
            Some(())
        } else if self.kw("search_attributes") {
            once(search_attributes, self.keyed_values()?)
        } else if self.kw("memo") {
            once(memo, self.keyed_values()?)
        } else if self.kw("continue_as_new_after") {
            let n = self.int()?;
            once(
                &mut w.continue_as_new_after,
                Spanned::new(n.value.max(0) as u64, n.span),
            )
        } else if self.kw("expose_status") {
            once(&mut w.expose_status, self.bool()?)
        } else if self.kw("output") {
            once(&mut w.output, self.value()?)
        } else if self.kw("schedule") {
            let s = self.schedule(start)?;
            w.schedules.push(s);
            Some(())
        } else {
            None
        }
    }

    /// `signal_params?`: `(a, b)`, each a name that may appear in expressions.
    fn params(&mut self) -> Option<Vec<Name>> {
        if self.punct(b'(').is_none() {
            return Some(Vec::new());
        }
        self.items(b')', Self::binding)
    }

    /// `update NAME params? (validate VALUE (message VALUE)?)? ({ … })?`, the keyword read.
    fn update(&mut self, start: usize) -> Option<Update> {
        let mut u = Update {
            name: self.tname()?,
            params: self.params()?,
            validate: None,
            message: None,
            set: Vec::new(),
            steps: Vec::new(),
            result: None,
            span: self.span(start),
        };
        if self.kw("validate") {
            u.validate = Some(self.value()?);
            if self.kw("message") {
                u.message = Some(self.value()?);
            }
        }
        // `update_body`: leading assignments without a guard are the handler's `set`; the
        // statements after them its steps; a last plain `return` its result.
        if self.punct(b'{').is_some() {
            let mut leading = true;
            while self.punct(b'}').is_none() {
                if self.semi() {
                    continue;
                }
                let assignment = leading && self.assign_start();
                let step = self.statement()?;
                if assignment
                    && step.when.is_none()
                    && let StepKind::Set(mut set) = step.kind
                {
                    let (name, value) = set.pop()?;
                    if u.set.iter().any(|(n, _)| n.value == name.value) {
                        return None;
                    }
                    u.set.push((name, value));
                    continue;
                }
                leading = false;
                u.steps.push(step);
            }
            u.normalise();
        }
        u.span = self.span(start);
        rewrite_update_params(&mut u);
        Some(u)
    }

    /// `{ (key: value ;?)* }`, keys unique.
    fn keyed_values(&mut self) -> Option<Vec<(Name, Value)>> {
        self.punct(b'{')?;
        let mut out: Vec<(Name, Value)> = Vec::new();
        while self.punct(b'}').is_none() {
            let key = self.key()?;
            self.punct(b':')?;
            let value = self.value()?;
            if out.iter().any(|(k, _)| k.value == key.value) {
                return None;
            }
            out.push((key, value));
            if !self.semi() && self.peek() == Some(b',') {
                self.pos += 1;
                self.ws();
            }
        }
        Some(out)
    }

    /// `schedule ID { clauses }`, the keyword read.
    fn schedule(&mut self, start: usize) -> Option<Schedule> {
        let id = self.tname()?;
        let mut s = Schedule::new(id, self.span(start));
        self.punct(b'{')?;
        while self.punct(b'}').is_none() {
            if self.semi() {
                continue;
            }
            if self.kw("cron") {
                once(&mut s.cron, self.string()?)?;
            } else if self.kw("every") {
                once(&mut s.every, self.duration()?)?;
            } else if self.kw("timezone") {
                once(&mut s.timezone, self.string()?)?;
            } else if self.kw("overlap") {
                once(&mut s.overlap, self.tname()?)?;
            } else if self.kw("paused") {
                once(&mut s.paused, self.bool()?)?;
            } else if self.kw("input") {
                once(&mut s.input, self.value()?)?;
            } else {
                return None;
            }
        }
        s.span = self.span(start);
        Some(s)
    }

    /// `input`'s schema: `schema JSON`, or the compact form.
    fn input(&mut self) -> Option<Spanned<Json>> {
        let raw = self.kw("schema");
        let start = self.pos;
        let schema = if raw {
            let end = skim::json(self.b, start, 0)?;
            let json = serde_json::from_str(&self.src[start..end]).ok()?;
            self.token(end);
            json
        } else {
            self.schema_object()?
        };
        Some(Spanned::new(schema, self.span(start)))
    }

    /// `schema_object`: `{ name: type, optional?: type, … }` → JSON Schema.
    fn schema_object(&mut self) -> Option<Json> {
        self.punct(b'{')?;
        let mut required = Vec::new();
        let mut properties = Map::new();
        while self.punct(b'}').is_none() {
            let key = self.key()?;
            let optional = self.punct(b'?').is_some();
            self.punct(b':')?;
            let ty = self.nested(Self::schema_type)?;
            if properties.contains_key(&key.value) {
                return None;
            }
            if !optional {
                required.push(Json::String(key.value.clone()));
            }
            properties.insert(key.value, ty);
            if !self.semi() && self.peek() == Some(b',') {
                self.pos += 1;
                self.ws();
            }
        }
        Some(object_schema(required, properties))
    }

    /// `schema_type`: an object, `[type]`, or a type name.
    fn schema_type(&mut self) -> Option<Json> {
        match self.peek()? {
            b'{' => self.schema_object(),
            b'[' => {
                self.punct(b'[')?;
                let items = self.nested(Self::schema_type)?;
                self.punct(b']')?;
                Some(json!({"type": "array", "items": items}))
            }
            _ => compact_type(&self.name()?.value),
        }
    }
}
