//! `*.test.yaml` → [`TestFile`]: test cases of one workflow, read with spans and every
//! diagnostic collected (the same readers and codes as workflow files, plus E080).
//!
//! The format is documented in docs/testing.md and described for editors by
//! `schema/stave-test.schema.json`; the key tables here are the reference.

use serde_json::Value as Json;

use super::Cx;
use super::node::{Node, NodeKind};
use crate::diagnostics::{Code, Diagnostic, FileId, Span, Spanned};
use crate::expr::Template;

/// One test file: the workflow under test, mocks shared by every case, the cases.
#[derive(Debug, Clone, PartialEq)]
pub struct TestFile {
    pub workflow: Spanned<String>,
    pub mocks: Vec<Mock>,
    pub cases: Vec<Case>,
    pub span: Span,
}

/// One case: a start of the workflow, what happens to it, and what must come out.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub name: Spanned<String>,
    /// Workflow id (default: `test-` and the case's position).
    pub id: Option<String>,
    pub input: Spanned<Json>,
    /// RFC 3339 start time of the run (default 2026-01-01T00:00:00Z).
    pub start_time: Option<Spanned<String>>,
    /// Case mocks come before the file's, so a case can override one.
    pub mocks: Vec<Mock>,
    pub signals: Vec<Signal>,
    pub updates: Vec<Update>,
    pub queries: Vec<Query>,
    pub cancel_at: Option<Spanned<u64>>,
    pub expect: Expect,
    pub span: Span,
}

/// What a mock answers for.
#[derive(Debug, Clone, PartialEq)]
pub enum MockTarget {
    /// Every call of this activity type.
    Activity(Spanned<String>),
    /// The activity or child workflow of the step with this id (or `kind#index` name).
    Step(Spanned<String>),
    /// Child workflows of this type (else they run for real when the project defines them).
    Workflow(Spanned<String>),
}

impl MockTarget {
    pub fn name(&self) -> &Spanned<String> {
        match self {
            MockTarget::Activity(n) | MockTarget::Step(n) | MockTarget::Workflow(n) => n,
        }
    }
}

/// A mock: responses consumed one per attempt (the last repeats), for calls that match.
#[derive(Debug, Clone, PartialEq)]
pub struct Mock {
    pub target: MockTarget,
    pub when: Option<Matcher>,
    pub responses: Vec<Response>,
    pub span: Span,
}

/// One answer of a mock.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub kind: ResponseKind,
    /// Virtual time the attempt takes before it answers.
    pub delay_ms: u64,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ResponseKind {
    Output(Spanned<Json>),
    Error {
        error_type: String,
        message: String,
        details: Json,
        non_retryable: bool,
    },
    /// The attempt never answers: its timeout fires.
    Timeout,
}

/// How an actual value is compared with an expected one.
#[derive(Debug, Clone, PartialEq)]
pub enum Matcher {
    /// Equal as JSON (numbers by value).
    Exact(Spanned<Json>),
    /// Every key and list element given is present with an equal value; extra keys are fine.
    Includes(Spanned<Json>),
    /// A boolean expression over the actual value (`output`, `result`, `input` or `attempt`).
    Expr(Template, Span),
}

impl Matcher {
    pub fn span(&self) -> Span {
        match self {
            Matcher::Exact(v) | Matcher::Includes(v) => v.span,
            Matcher::Expr(_, span) => *span,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    pub at_ms: u64,
    pub name: Spanned<String>,
    pub payload: Json,
    pub span: Span,
}

/// An update sent at `at`: its result is matched by `expect`, or it must be rejected with a
/// message containing `rejected`.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub at_ms: u64,
    pub name: Spanned<String>,
    pub payload: Json,
    pub expect: Option<Matcher>,
    pub rejected: Option<Spanned<String>>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub at_ms: u64,
    pub name: Spanned<String>,
    pub expect: Option<Matcher>,
    pub span: Span,
}

/// The expectations of a case; each is optional.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Expect {
    pub status: Option<Spanned<Status>>,
    pub output: Option<Matcher>,
    pub error_type: Option<Spanned<String>>,
    /// Contained in the actual error message.
    pub error_message: Option<Spanned<String>>,
    pub duration_ms: Option<Spanned<u64>>,
    pub activities: Vec<ActivityExpect>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Completed,
    Failed,
    Cancelled,
    TimedOut,
    /// Refused at start: the input fails the workflow's input schema.
    Rejected,
}

impl Status {
    pub const NAMES: &'static [&'static str] =
        &["completed", "failed", "cancelled", "timed_out", "rejected"];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
            Status::TimedOut => "timed_out",
            Status::Rejected => "rejected",
        }
    }
}

/// Attempts of one activity type (or step) and the input of each.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityExpect {
    /// Activity type, or `step:ID` for one step's calls.
    pub name: Spanned<String>,
    pub attempts: Option<Spanned<u64>>,
    /// Per attempt, in order; each an inclusion match.
    pub inputs: Option<Vec<Spanned<Json>>>,
    pub span: Span,
}

pub const FILE_KEYS: &[&str] = &["stave_test", "workflow", "mocks", "cases"];
pub const CASE_KEYS: &[&str] = &[
    "name",
    "id",
    "input",
    "start_time",
    "mocks",
    "signals",
    "updates",
    "queries",
    "cancel_at",
    "expect",
];
pub const MOCK_KEYS: &[&str] = &["activity", "step", "workflow", "when", "respond"];
pub const RESPONSE_KEYS: &[&str] = &["output", "error", "timeout", "delay"];
pub const ERROR_KEYS: &[&str] = &["type", "message", "details", "non_retryable"];
pub const SIGNAL_KEYS: &[&str] = &["at", "name", "payload"];
pub const UPDATE_KEYS: &[&str] = &[
    "at",
    "name",
    "payload",
    "expect",
    "expect_includes",
    "expect_matches",
    "rejected",
];
pub const QUERY_KEYS: &[&str] = &["at", "name", "expect", "expect_includes", "expect_matches"];
pub const EXPECT_KEYS: &[&str] = &[
    "status",
    "output",
    "output_includes",
    "output_matches",
    "error",
    "duration",
    "activities",
];
pub const EXPECT_ERROR_KEYS: &[&str] = &["type", "message"];
pub const ACTIVITY_EXPECT_KEYS: &[&str] = &["attempts", "inputs"];

/// Reads a test file. Never fails: returns what it could read and every diagnostic.
pub fn load(file: FileId, text: &str) -> (Option<TestFile>, Vec<Diagnostic>) {
    let (root, diagnostics) = super::node::parse(file, text);
    let mut cx = Cx::new(file, diagnostics);
    let Some(root) = root else {
        cx.error(
            Diagnostic::new(Code::E080, Span::new(file, 0, 0), "the test file is empty")
                .help("a test file starts with `stave_test: 1`, `workflow: NAME` and `cases:`"),
        );
        return (None, cx.diagnostics);
    };
    let file = cx.test_file(&root);
    (file, cx.diagnostics)
}

fn shape(span: Span, message: impl Into<String>, help: impl Into<String>) -> Diagnostic {
    Diagnostic::new(Code::E080, span, message).help(help)
}

impl Cx {
    fn test_file(&mut self, root: &Node) -> Option<TestFile> {
        let f = self.fields(root, "a test file", FILE_KEYS)?;
        match f.get("stave_test").map(|n| &n.kind) {
            Some(NodeKind::Int(1)) => {}
            Some(_) => self.error(shape(
                f.get("stave_test").map_or(f.span, |n| n.span),
                "unsupported test file version",
                "write `stave_test: 1`",
            )),
            None => self.error(shape(
                Span::new(
                    self.file,
                    root.span.start as usize,
                    root.span.start as usize,
                ),
                "a test file starts with `stave_test: 1`",
                "add `stave_test: 1` as the first line",
            )),
        }
        let workflow = match f.get("workflow") {
            Some(n) => self.string(n, "`workflow`")?,
            None => {
                self.error(shape(
                    f.span,
                    "the test file names no workflow",
                    "add `workflow: NAME`, the workflow type under test",
                ));
                return None;
            }
        };
        let mocks = match f.get("mocks") {
            Some(n) => self.mocks(n),
            None => Vec::new(),
        };
        let mut cases = Vec::new();
        match f.get("cases") {
            Some(n) => {
                for (i, case) in self.list(n, "`cases`").iter().enumerate() {
                    if let Some(case) = self.case(case, i) {
                        cases.push(case);
                    }
                }
            }
            None => self.error(shape(
                f.span,
                "the test file has no `cases:`",
                "add `cases:` with at least one case (`- name: ...`)",
            )),
        }
        Some(TestFile {
            workflow,
            mocks,
            cases,
            span: root.span,
        })
    }

    fn case(&mut self, node: &Node, index: usize) -> Option<Case> {
        let f = self.fields(node, "a test case", CASE_KEYS)?;
        let name = match f.get("name") {
            Some(n) => self.string(n, "a case's `name`")?,
            None => Spanned::new(format!("case {}", index + 1), node.span),
        };
        let id = match f.get("id") {
            Some(n) => self.string(n, "a case's `id`").map(|s| s.value),
            None => None,
        };
        let input = f
            .get("input")
            .map_or(Spanned::new(Json::Null, node.span), |n| {
                Spanned::new(n.to_json(), n.span)
            });
        let start_time = match f.get("start_time") {
            Some(n) => self.string(n, "`start_time`"),
            None => None,
        };
        let mocks = match f.get("mocks") {
            Some(n) => self.mocks(n),
            None => Vec::new(),
        };
        let mut signals = Vec::new();
        if let Some(n) = f.get("signals") {
            for s in self.list(n, "`signals`") {
                if let Some(signal) = self.signal(s) {
                    signals.push(signal);
                }
            }
        }
        let mut updates = Vec::new();
        if let Some(n) = f.get("updates") {
            for u in self.list(n, "`updates`") {
                if let Some(update) = self.test_update(u) {
                    updates.push(update);
                }
            }
        }
        let mut queries = Vec::new();
        if let Some(n) = f.get("queries") {
            for q in self.list(n, "`queries`") {
                if let Some(query) = self.query(q) {
                    queries.push(query);
                }
            }
        }
        let cancel_at = match f.get("cancel_at") {
            Some(n) => self.at(n, "`cancel_at`"),
            None => None,
        };
        let expect = match f.get("expect") {
            Some(n) => self.expect(n),
            None => Expect::default(),
        };
        Some(Case {
            name,
            id,
            input,
            start_time,
            mocks,
            signals,
            updates,
            queries,
            cancel_at,
            expect,
            span: node.span,
        })
    }

    fn at(&mut self, node: &Node, what: &str) -> Option<Spanned<u64>> {
        let d = self.duration(node, what)?;
        Some(Spanned::new(
            u64::try_from(d.value.as_millis()).unwrap_or(u64::MAX),
            d.span,
        ))
    }

    fn mocks(&mut self, node: &Node) -> Vec<Mock> {
        let mut out = Vec::new();
        for m in self.list(node, "`mocks`") {
            if let Some(mock) = self.mock(m) {
                out.push(mock);
            }
        }
        out
    }

    fn mock(&mut self, node: &Node) -> Option<Mock> {
        let f = self.fields(node, "a mock", MOCK_KEYS)?;
        let mut targets = Vec::new();
        for key in ["activity", "step", "workflow"] {
            if let Some(n) = f.get(key)
                && let Some(name) = self.string(n, &format!("a mock's `{key}`"))
            {
                targets.push(match key {
                    "activity" => MockTarget::Activity(name),
                    "step" => MockTarget::Step(name),
                    _ => MockTarget::Workflow(name),
                });
            }
        }
        if targets.len() != 1 {
            self.error(shape(
                node.span,
                "a mock names exactly one of `activity:`, `step:` or `workflow:`",
                "write `- activity: payments.charge` (every call), `- step: charge` (one step) or `- workflow: fraud-review` (a child workflow type)",
            ));
            return None;
        }
        let target = targets.remove(0);
        let when = match f.get("when") {
            Some(n) => self.matcher_or_expr(n, "`when`"),
            None => None,
        };
        let mut responses = Vec::new();
        if let Some(n) = f.get("respond") {
            let items = match &n.kind {
                NodeKind::Seq(items) => items.as_slice(),
                _ => std::slice::from_ref(n),
            };
            for item in items {
                if let Some(r) = self.response(item) {
                    responses.push(r);
                }
            }
        }
        if responses.is_empty() {
            self.error(shape(
                node.span,
                format!("the mock of `{}` gives no response", target.name().value),
                "add `respond: { output: ... }`, `{ error: { type: ... } }` or `{ timeout: true }` (a list: one per attempt, the last repeats)",
            ));
            return None;
        }
        Some(Mock {
            target,
            when,
            responses,
            span: node.span,
        })
    }

    fn response(&mut self, node: &Node) -> Option<Response> {
        let f = self.fields(node, "a mock response", RESPONSE_KEYS)?;
        let delay_ms = match f.get("delay") {
            Some(n) => self.at(n, "`delay`").map_or(0, |d| d.value),
            None => 0,
        };
        let given: Vec<&str> = ["output", "error", "timeout"]
            .into_iter()
            .filter(|k| f.has(k))
            .collect();
        if given.len() != 1 {
            self.error(shape(
                node.span,
                format!(
                    "a mock response is one of `output:`, `error:` or `timeout: true`, found {}",
                    if given.is_empty() {
                        "none".to_string()
                    } else {
                        given.join(" and ")
                    }
                ),
                "write `{ output: VALUE }`, `{ error: { type: T, message: M } }` or `{ timeout: true }`",
            ));
            return None;
        }
        let kind = if let Some(n) = f.get("output") {
            ResponseKind::Output(Spanned::new(n.to_json(), n.span))
        } else if let Some(n) = f.get("error") {
            let e = self.fields(n, "a mock error", ERROR_KEYS)?;
            let Some(error_type) = e
                .get("type")
                .and_then(|t| self.string(t, "an error's `type`"))
            else {
                self.error(shape(
                    n.span,
                    "a mock error needs a `type`",
                    "write `error: { type: CardDeclined, message: \"card declined\" }`",
                ));
                return None;
            };
            let message = match e.get("message") {
                Some(m) => self.string(m, "an error's `message`").map(|s| s.value),
                None => None,
            }
            .unwrap_or_else(|| format!("{} (mocked)", error_type.value));
            let non_retryable = match e.get("non_retryable") {
                Some(b) => self.bool(b, "`non_retryable`").is_some_and(|b| b.value),
                None => false,
            };
            ResponseKind::Error {
                error_type: error_type.value,
                message,
                details: e.get("details").map_or(Json::Null, Node::to_json),
                non_retryable,
            }
        } else {
            let n = f.get("timeout")?;
            match self.bool(n, "`timeout`") {
                Some(b) if b.value => ResponseKind::Timeout,
                Some(_) => {
                    self.error(shape(
                        n.span,
                        "`timeout: false` is not a response",
                        "write `timeout: true` (the attempt never answers), or give an `output:`",
                    ));
                    return None;
                }
                None => return None,
            }
        };
        Some(Response {
            kind,
            delay_ms,
            span: node.span,
        })
    }

    /// `when:` — a string holding `${ }` is an expression, anything else an inclusion match.
    fn matcher_or_expr(&mut self, node: &Node, what: &str) -> Option<Matcher> {
        match &node.kind {
            NodeKind::Str(s) if s.contains("${") => self.expression(node, what),
            _ => Some(Matcher::Includes(Spanned::new(node.to_json(), node.span))),
        }
    }

    fn expression(&mut self, node: &Node, what: &str) -> Option<Matcher> {
        let Some(text) = node.as_str() else {
            self.wrong(
                node,
                "an expression such as \"${ output.total > 10 }\"",
                what,
            );
            return None;
        };
        match self.template(text, node) {
            Ok(t @ Template::Expr(_)) => Some(Matcher::Expr(t, node.span)),
            Ok(_) => {
                self.error(shape(
                    node.span,
                    format!("{what} takes one expression, written \"${{ ... }}\""),
                    "write the whole value as one expression, e.g. \"${ output.total > 10 }\"",
                ));
                None
            }
            Err(d) => {
                self.error(d);
                None
            }
        }
    }

    fn signal(&mut self, node: &Node) -> Option<Signal> {
        let f = self.fields(node, "a signal", SIGNAL_KEYS)?;
        let name = self.required_name(
            &f,
            node,
            "a signal",
            "- { at: 1h, name: approve, payload: { by: ann } }",
        )?;
        let at_ms = match f.get("at") {
            Some(n) => self.at(n, "a signal's `at`")?.value,
            None => 0,
        };
        Some(Signal {
            at_ms,
            name,
            payload: f.get("payload").map_or(Json::Null, Node::to_json),
            span: node.span,
        })
    }

    fn test_update(&mut self, node: &Node) -> Option<Update> {
        let f = self.fields(node, "an update", UPDATE_KEYS)?;
        let name = self.required_name(
            &f,
            node,
            "an update",
            "- { at: 1h, name: add, payload: { amount: 5 }, expect: 15 }",
        )?;
        let at_ms = match f.get("at") {
            Some(n) => self.at(n, "an update's `at`")?.value,
            None => 0,
        };
        let expect = self.one_matcher(&f, node, ["expect", "expect_includes", "expect_matches"]);
        let rejected = f
            .get("rejected")
            .and_then(|n| self.string(n, "an update's `rejected`"));
        if let (Some(_), Some(r)) = (&expect, &rejected) {
            self.error(shape(
                r.span,
                "an update either answers (`expect`) or is rejected (`rejected`), not both"
                    .to_string(),
                "keep one of them",
            ));
        }
        Some(Update {
            at_ms,
            name,
            payload: f.get("payload").map_or(Json::Null, Node::to_json),
            expect,
            rejected,
            span: node.span,
        })
    }

    fn query(&mut self, node: &Node) -> Option<Query> {
        let f = self.fields(node, "a query", QUERY_KEYS)?;
        let name = self.required_name(
            &f,
            node,
            "a query",
            "- { at: 1h, name: status, expect: shipped }",
        )?;
        let at_ms = match f.get("at") {
            Some(n) => self.at(n, "a query's `at`")?.value,
            None => 0,
        };
        let expect = self.one_matcher(&f, node, ["expect", "expect_includes", "expect_matches"]);
        Some(Query {
            at_ms,
            name,
            expect,
            span: node.span,
        })
    }

    fn required_name(
        &mut self,
        f: &super::Fields<'_>,
        node: &Node,
        what: &str,
        example: &str,
    ) -> Option<Spanned<String>> {
        match f.get("name") {
            Some(n) => self.string(n, &format!("{what}'s `name`")),
            None => {
                self.error(shape(
                    node.span,
                    format!("{what} needs a `name`"),
                    format!("write `{example}`"),
                ));
                None
            }
        }
    }

    /// The one of `keys` (exact, includes, expression) given, if any.
    fn one_matcher(
        &mut self,
        f: &super::Fields<'_>,
        node: &Node,
        keys: [&str; 3],
    ) -> Option<Matcher> {
        let given: Vec<&str> = keys.iter().copied().filter(|k| f.has(k)).collect();
        if given.len() > 1 {
            self.error(shape(
                node.span,
                format!(
                    "`{}` and `{}` both describe the same value",
                    given[0], given[1]
                ),
                "keep one of them",
            ));
            return None;
        }
        let key = *given.first()?;
        let n = f.get(key)?;
        if key == keys[0] {
            Some(Matcher::Exact(Spanned::new(n.to_json(), n.span)))
        } else if key == keys[1] {
            Some(Matcher::Includes(Spanned::new(n.to_json(), n.span)))
        } else {
            self.expression(n, &format!("`{key}`"))
        }
    }

    fn expect(&mut self, node: &Node) -> Expect {
        let Some(f) = self.fields(node, "`expect`", EXPECT_KEYS) else {
            return Expect::default();
        };
        let mut expect = Expect::default();
        if let Some(n) = f.get("status")
            && let Some(s) = self.string(n, "`status`")
        {
            match Status::NAMES.iter().position(|x| *x == s.value) {
                Some(i) => {
                    let status = [
                        Status::Completed,
                        Status::Failed,
                        Status::Cancelled,
                        Status::TimedOut,
                        Status::Rejected,
                    ][i];
                    expect.status = Some(Spanned::new(status, s.span));
                }
                None => self.error(shape(
                    s.span,
                    format!("unknown status `{}`", s.value),
                    format!("the statuses are: {}", Status::NAMES.join(", ")),
                )),
            }
        }
        expect.output = self.one_matcher(&f, node, ["output", "output_includes", "output_matches"]);
        if let Some(n) = f.get("error")
            && let Some(e) = self.fields(n, "an expected error", EXPECT_ERROR_KEYS)
        {
            expect.error_type = e
                .get("type")
                .and_then(|t| self.string(t, "the error's `type`"));
            expect.error_message = e
                .get("message")
                .and_then(|m| self.string(m, "the error's `message`"));
        }
        if let Some(n) = f.get("duration") {
            expect.duration_ms = self.at(n, "`duration`");
        }
        if let Some(n) = f.get("activities") {
            for (name, body) in self.map_entries(n, "`activities`") {
                let Some(a) = self.fields(body, "an activity expectation", ACTIVITY_EXPECT_KEYS)
                else {
                    continue;
                };
                let attempts = match a.get("attempts") {
                    Some(n) => self
                        .int(n, "`attempts`")
                        .map(|i| Spanned::new(u64::try_from(i.value).unwrap_or(0), i.span)),
                    None => None,
                };
                let inputs = a.get("inputs").map(|n| {
                    self.list(n, "`inputs`")
                        .iter()
                        .map(|i| Spanned::new(i.to_json(), i.span))
                        .collect()
                });
                expect.activities.push(ActivityExpect {
                    span: body.span,
                    name,
                    attempts,
                    inputs,
                });
            }
        }
        expect
    }
}

#[cfg(test)]
mod tests;
