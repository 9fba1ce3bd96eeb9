//! pest pairs → [`Workflow`], the same tree the YAML loader builds, with byte spans.
//!
//! The grammar has already fixed the shape, so this walks children by rule; it checks what a
//! grammar cannot: durations (E008), names that are reserved words (E062), things given twice
//! (E063), compact input types (E064), numbers out of range (E065), and each expression,
//! parsed by [`crate::expr::parse_expr`]. This file holds the walk and the names; `workflow`
//! lowers the header and declarations, `input` the input schema, `steps` the statements,
//! `calls` activity and child calls with their options, `values` tokens and data.

mod calls;
mod input;
mod steps;
mod values;
mod workflow;

// Shared with the hand-written reader `super::fast`, which builds the same tree.
pub(super) use input::{compact_type, object_schema};
pub(super) use values::{parse_blanked, template};
pub(super) use workflow::{rewrite_signal_params, rewrite_update_params};

use super::Rule;
use crate::diagnostics::{Code, Diagnostic, FileId, Span, Spanned};
use crate::expr::parse::RESERVED;
use crate::syntax::ast::*;
use pest::iterators::Pair;

type P<'i> = Pair<'i, Rule>;

/// Lowers the `file` pair.
pub(super) fn workflow_file(file: FileId, pair: P<'_>) -> (Option<File>, Vec<Diagnostic>) {
    let mut cx = Lower {
        file,
        diagnostics: Vec::new(),
    };
    let span = cx.span(&pair);
    let mut version = None;
    let mut workflows = Vec::new();
    let mut fragments = Vec::new();
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::version => version = p.into_inner().nth(1).and_then(|n| cx.int(&n)),
            Rule::workflow => workflows.push(cx.workflow(p)),
            Rule::fragment => fragments.push(cx.fragment(p)),
            _ => {}
        }
    }
    cx.check_unique(fragments.iter().map(|f: &Fragment| &f.name), "fragment");
    for w in &mut workflows {
        w.version = version.clone();
    }
    let parsed = File {
        file,
        span,
        version,
        workflows,
        fragments,
    };
    (Some(parsed), cx.diagnostics)
}

struct Lower {
    file: FileId,
    diagnostics: Vec<Diagnostic>,
}

/// Punctuation and keywords carry no content: walks skip them.
fn is_token(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::lbrace
            | Rule::rbrace
            | Rule::lparen
            | Rule::rparen
            | Rule::lbracket
            | Rule::rbracket
            | Rule::eq
            | Rule::colon
            | Rule::comma
            | Rule::question
            | Rule::EOI
            | Rule::kw_stave
            | Rule::kw_workflow
            | Rule::kw_fragment
            | Rule::kw_use
            | Rule::kw_on
            | Rule::kw_queue
            | Rule::kw_task_queue
            | Rule::kw_timeout
            | Rule::kw_schedule_to_close
            | Rule::kw_schedule_to_start
            | Rule::kw_heartbeat
            | Rule::kw_retry
            | Rule::kw_max_attempts
            | Rule::kw_initial_interval
            | Rule::kw_backoff
            | Rule::kw_max_interval
            | Rule::kw_non_retryable
            | Rule::kw_summary
            | Rule::kw_priority
            | Rule::kw_args
            | Rule::kw_compensate
            | Rule::kw_description
            | Rule::kw_input
            | Rule::kw_schema
            | Rule::kw_var
            | Rule::kw_defaults
            | Rule::kw_signal
            | Rule::kw_query
            | Rule::kw_update
            | Rule::kw_validate
            | Rule::kw_any
            | Rule::kw_all
            | Rule::kw_search_attributes
            | Rule::kw_memo
            | Rule::kw_continue_as_new_after
            | Rule::kw_expose_status
            | Rule::kw_output
            | Rule::kw_schedule
            | Rule::kw_cron
            | Rule::kw_every
            | Rule::kw_timezone
            | Rule::kw_overlap
            | Rule::kw_paused
            | Rule::kw_step
            | Rule::kw_when
            | Rule::kw_if
            | Rule::kw_else
            | Rule::kw_block
            | Rule::kw_switch
            | Rule::kw_case
            | Rule::kw_default
            | Rule::kw_parallel
            | Rule::kw_race
            | Rule::kw_for
            | Rule::kw_in
            | Rule::kw_concurrency
            | Rule::kw_while
            | Rule::kw_max_iterations
            | Rule::kw_wait
            | Rule::kw_until
            | Rule::kw_on_timeout
            | Rule::kw_sleep
            | Rule::kw_set
            | Rule::kw_try
            | Rule::kw_catch
            | Rule::kw_as
            | Rule::kw_fail
            | Rule::kw_message
            | Rule::kw_details
            | Rule::kw_return
            | Rule::kw_rethrow
            | Rule::kw_workflow_id
            | Rule::kw_parent_close
    )
}

/// The children of `p` that carry content.
fn parts(p: P<'_>) -> impl Iterator<Item = P<'_>> {
    p.into_inner().filter(|c| !is_token(c.as_rule()))
}

impl Lower {
    /// The span of `p` without the whitespace and comments pest skipped at its end (before an
    /// optional part that did not match): the end of its last token.
    fn span(&self, p: &P<'_>) -> Span {
        let mut end = p.as_span().end();
        let mut last = p.clone().into_inner().last();
        while let Some(child) = last {
            end = child.as_span().end();
            // An expression ends where it ends, not at the last string or comment inside it.
            if child.as_rule() == Rule::cel {
                break;
            }
            last = child.into_inner().last();
        }
        Span::new(self.file, p.as_span().start(), end)
    }

    /// Like [`Lower::span`], for a value: a closing `}`, `]` or `)` is a literal, not a pair
    /// of its own, so the span runs to the last character that is not skipped whitespace or
    /// a comment (an editor's hover and completion look values up by this span).
    fn value_span(&self, p: &P<'_>) -> Span {
        let whole = p.as_span();
        let mut end = p
            .clone()
            .into_inner()
            .flatten()
            .map(|c| c.as_span().end())
            .max()
            .unwrap_or(whole.end());
        let from = end;
        let rest = &p.get_input()[from..whole.end()];
        let mut chars = rest.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                c if c.is_whitespace() || c == '\u{FEFF}' => {}
                '#' => while chars.next_if(|&(_, c)| c != '\n').is_some() {},
                '/' if rest[i + 1..].starts_with('/') => {
                    while chars.next_if(|&(_, c)| c != '\n').is_some() {}
                }
                c => end = from + i + c.len_utf8(),
            }
        }
        Span::new(self.file, whole.start(), end)
    }

    fn name(&self, p: &P<'_>) -> Name {
        Spanned::new(p.as_str().to_string(), self.span(p))
    }

    /// A name that appears in expressions: a reserved word there is E062.
    fn binding(&mut self, p: &P<'_>, what: &str) -> Name {
        let name = self.name(p);
        if RESERVED.contains(&name.value.as_str()) {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::E062,
                    name.span,
                    format!("`{}` is a reserved word and cannot name {what}", name.value),
                )
                .label("reserved word")
                .help(format!("rename it, e.g. `{}_`", name.value)),
            );
        }
        name
    }

    fn twice(&mut self, span: Span, what: &str) {
        self.diagnostics.push(
            Diagnostic::new(Code::E063, span, format!("{what} is given twice"))
                .label("given again here")
                .help("keep one of them"),
        );
    }

    /// A `keyword argument` clause (`timeout 30s`): its span, keyword and argument.
    fn clause<'i>(&self, c: P<'i>) -> Option<(Span, P<'i>, P<'i>)> {
        let span = self.span(&c);
        let mut inner = c.into_inner();
        Some((span, inner.next()?, inner.next()?))
    }

    /// Sets `slot` unless it is already set (E063).
    fn once<T>(&mut self, slot: &mut Option<T>, value: Option<T>, span: Span, what: &str) {
        if slot.is_some() {
            self.twice(span, what);
        } else {
            *slot = value;
        }
    }

    fn check_unique<'n>(&mut self, names: impl Iterator<Item = &'n Name>, what: &str) {
        let mut seen: Vec<&Name> = Vec::new();
        for n in names {
            if let Some(first) = seen.iter().find(|s| s.value == n.value) {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::E063,
                        n.span,
                        format!("{what} `{}` is declared twice", n.value),
                    )
                    .label("declared again here")
                    .with_label(first.span, "first declared here")
                    .help("rename one of them, or delete one"),
                );
            } else {
                seen.push(n);
            }
        }
    }
}
