//! pest errors → diagnostics a person can act on: every grammar rule has words, so rule names
//! never leak; an error at the end of the file names the bracket or string left open.

use super::Rule;
use super::scan::{self, Scanned};
use crate::diagnostics::{Code, Diagnostic, FileId, Span, did_you_mean};
use pest::error::{Error, ErrorVariant, InputLocation};

mod conditions;

/// Every keyword of the text form, for "did you mean" hints.
pub const KEYWORDS: &[&str] = &[
    "stave",
    "workflow",
    "on",
    "queue",
    "task_queue",
    "timeout",
    "schedule_to_close",
    "schedule_to_start",
    "heartbeat",
    "retry",
    "max_attempts",
    "initial_interval",
    "backoff",
    "max_interval",
    "non_retryable",
    "summary",
    "priority",
    "args",
    "compensate",
    "description",
    "input",
    "schema",
    "var",
    "defaults",
    "signal",
    "update",
    "validate",
    "query",
    "search_attributes",
    "memo",
    "continue_as_new_after",
    "output",
    "schedule",
    "cron",
    "every",
    "timezone",
    "overlap",
    "paused",
    "step",
    "when",
    "if",
    "else",
    "block",
    "switch",
    "case",
    "default",
    "parallel",
    "race",
    "for",
    "in",
    "concurrency",
    "while",
    "max_iterations",
    "wait",
    "until",
    "on_timeout",
    "sleep",
    "set",
    "try",
    "catch",
    "as",
    "fail",
    "message",
    "details",
    "return",
    "rethrow",
    "workflow_id",
    "parent_close",
];

/// What a grammar rule is, in words, as it reads after "expected".
pub fn describe_rule(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "the end of the file",
        // Silent rules: pest never reports them, but every rule has words.
        Rule::WHITESPACE | Rule::cel_ws | Rule::json_ws => "whitespace",
        Rule::COMMENT => "a comment",
        Rule::ident_char => "a letter, digit or `_`",
        Rule::raw_prefix => "a raw string",
        Rule::dq
        | Rule::sq
        | Rule::tdq
        | Rule::tsq
        | Rule::raw_dq
        | Rule::raw_sq
        | Rule::raw_tdq
        | Rule::raw_tsq => "a string in quotes",
        Rule::sep => "`;` or `,`",
        Rule::cel_or | Rule::cel_primary | Rule::cel_group | Rule::cel_inner => "an expression",
        Rule::cel_binop => "an operator",
        Rule::cel_number => "a number",
        Rule::cel_ident => "a name",
        Rule::cel_postfix => "`.field`, `[index]` or `(arguments)`",
        Rule::item => "a declaration or a step",
        Rule::json_value => "a JSON value",
        Rule::guarded | Rule::keyword_step => "a step",
        Rule::stmt_word => "a step keyword",
        Rule::option_start => "an option",
        Rule::assign_start => "an assignment `name = value`",
        Rule::named_start => "a named input `name: value`",
        Rule::cel_nested | Rule::cel_run => "an expression",
        Rule::decl_start => "a declaration",
        Rule::string_start => "a string in quotes",
        Rule::name => "a name",
        Rule::tname => "a name",
        Rule::int => "an integer",
        Rule::number => "a number",
        Rule::bool => "`true` or `false`",
        Rule::duration => "a duration such as `30s`",
        Rule::sleep_duration => "a duration such as `5m`",
        Rule::string => "a string in quotes",
        Rule::template => "a template string in backquotes",
        Rule::lbrace => "`{`",
        Rule::rbrace => "`}`",
        Rule::lparen => "`(`",
        Rule::rparen => "`)`",
        Rule::lbracket => "`[`",
        Rule::rbracket => "`]`",
        Rule::eq => "`=`",
        Rule::colon => "`:`",
        Rule::comma => "`,`",
        Rule::question => "`?`",
        Rule::kw_stave => "`stave`",
        Rule::kw_workflow => "`workflow`",
        Rule::kw_on => "`on`",
        Rule::kw_queue => "`queue`",
        Rule::kw_task_queue => "`task_queue`",
        Rule::kw_timeout => "`timeout`",
        Rule::kw_schedule_to_close => "`schedule_to_close`",
        Rule::kw_schedule_to_start => "`schedule_to_start`",
        Rule::kw_heartbeat => "`heartbeat`",
        Rule::kw_retry => "`retry`",
        Rule::kw_max_attempts => "`max_attempts`",
        Rule::kw_initial_interval => "`initial_interval`",
        Rule::kw_backoff => "`backoff`",
        Rule::kw_max_interval => "`max_interval`",
        Rule::kw_non_retryable => "`non_retryable`",
        Rule::kw_summary => "`summary`",
        Rule::kw_priority => "`priority`",
        Rule::kw_args => "`args`",
        Rule::kw_compensate => "`compensate`",
        Rule::kw_description => "`description`",
        Rule::kw_input => "`input`",
        Rule::kw_schema => "`schema`",
        Rule::kw_var => "`var`",
        Rule::kw_defaults => "`defaults`",
        Rule::kw_signal => "`signal`",
        Rule::kw_query => "`query`",
        Rule::kw_update => "`update`",
        Rule::kw_validate => "`validate`",
        Rule::kw_any => "`any`",
        Rule::kw_all => "`all`",
        Rule::kw_search_attributes => "`search_attributes`",
        Rule::kw_memo => "`memo`",
        Rule::kw_continue_as_new_after => "`continue_as_new_after`",
        Rule::kw_expose_status => "`expose_status`",
        Rule::kw_output => "`output`",
        Rule::kw_schedule => "`schedule`",
        Rule::kw_cron => "`cron`",
        Rule::kw_every => "`every`",
        Rule::kw_timezone => "`timezone`",
        Rule::kw_overlap => "`overlap`",
        Rule::kw_paused => "`paused`",
        Rule::kw_step => "`step`",
        Rule::kw_when => "`when`",
        Rule::kw_if => "`if`",
        Rule::kw_else => "`else`",
        Rule::kw_block => "`block`",
        Rule::kw_switch => "`switch`",
        Rule::kw_case => "`case`",
        Rule::kw_default => "`default`",
        Rule::kw_parallel => "`parallel`",
        Rule::kw_race => "`race`",
        Rule::kw_for => "`for`",
        Rule::kw_in => "`in`",
        Rule::kw_concurrency => "`concurrency`",
        Rule::kw_while => "`while`",
        Rule::kw_max_iterations => "`max_iterations`",
        Rule::kw_wait => "`wait`",
        Rule::kw_until => "`until`",
        Rule::kw_on_timeout => "`on_timeout`",
        Rule::kw_sleep => "`sleep`",
        Rule::kw_set => "`set`",
        Rule::kw_try => "`try`",
        Rule::kw_catch => "`catch`",
        Rule::kw_as => "`as`",
        Rule::kw_fail => "`fail`",
        Rule::kw_message => "`message`",
        Rule::kw_details => "`details`",
        Rule::kw_return => "`return`",
        Rule::kw_rethrow => "`rethrow`",
        Rule::kw_fragment => "`fragment`",
        Rule::kw_use => "`use`",
        Rule::kw_workflow_id => "`workflow_id`",
        Rule::kw_parent_close => "`parent_close`",
        Rule::cel => "an expression",
        Rule::cel_operand => "an operand (a value, a name or `(…)`)",
        Rule::cel_comment => "a comment",
        Rule::value => "a value (an expression or a template)",
        Rule::data_map => "a map",
        Rule::data_entry => "a map entry `\"key\": value`",
        Rule::data_list => "a list",
        Rule::key => "a key",
        Rule::file => "`workflow NAME { … }` (after `stave 1`, optionally)",
        Rule::version => "`stave 1`",
        Rule::workflow => "`workflow NAME { … }`",
        Rule::fragment => "`fragment NAME { … }`",
        Rule::header_clause => "`on queue NAME` or `timeout DURATION`",
        Rule::declaration => "a declaration",
        Rule::description_decl => "`description \"…\"`",
        Rule::var_decl => "`var NAME = VALUE`",
        Rule::defaults_decl => "`defaults { … }`",
        Rule::signal_decl => "`signal NAME { … }`",
        Rule::signal_params => "signal parameters `(a, b)`",
        Rule::query_decl => "`query NAME = EXPRESSION`",
        Rule::update_decl => "`update NAME { … }`",
        Rule::update_validate => "`validate CONDITION message VALUE`",
        Rule::update_body => "`{ NAME = VALUE … steps … return VALUE }`",
        Rule::update_set => "`NAME = VALUE`",
        Rule::wait_names => "`any(A, B)` or `all(A, B)`",
        Rule::search_attributes_decl => "`search_attributes { … }`",
        Rule::memo_decl => "`memo { … }`",
        Rule::keyed_values => "`{ key: value … }`",
        Rule::keyed_value => "an entry `key: value`",
        Rule::continue_decl => "`continue_as_new_after N`",
        Rule::expose_status_decl => "`expose_status true`",
        Rule::output_decl => "`output VALUE`",
        Rule::schedule_decl => "`schedule NAME { … }`",
        Rule::schedule_clause => {
            "a schedule setting (`cron`, `every`, `timezone`, `overlap`, `paused`, `input`)"
        }
        Rule::input_decl => "`input { … }`",
        Rule::schema_object => "`{ field: type … }`",
        Rule::schema_field => "a field `name: type` (`name?: type` when optional)",
        Rule::schema_type => {
            "a type (string, number, integer, boolean, list, map, any, `[T]` or `{ … }`)"
        }
        Rule::schema_list => "a list type `[T]`",
        Rule::json => "a JSON value",
        Rule::json_object => "a JSON object",
        Rule::json_member => "a JSON member `\"key\": value`",
        Rule::json_array => "a JSON array",
        Rule::json_null => "`null`",
        Rule::option => {
            "an option (`queue`, `task_queue`, `timeout`, `schedule_to_close`, `schedule_to_start`, \
             `heartbeat`, `retry`, `summary`, `priority`)"
        }
        Rule::retry => "`retry { … }`",
        Rule::retry_clause => {
            "a retry setting (`max_attempts`, `initial_interval`, `backoff`, `max_interval`, \
             `non_retryable`)"
        }
        Rule::name_list => "a list of names `[A, B]`",
        Rule::block => "a block `{ … }`",
        Rule::statement => "a step",
        Rule::assign_step => "an assignment `name = value`",
        Rule::assignment => "an assignment `name = value`",
        Rule::assignments => "`{ name = value … }`",
        Rule::step => "a step",
        Rule::step_id => "`step ID =`",
        Rule::guard => "`when CONDITION`",
        Rule::if_step => "`if CONDITION { … }`",
        Rule::else_if => "`if CONDITION { … }`",
        Rule::block_step => "`block { … }`",
        Rule::switch_step => "`switch { … }`",
        Rule::case_arm => "`case CONDITION { … }`",
        Rule::default_arm => "`default { … }`",
        Rule::parallel_step => "`parallel { … }`",
        Rule::race_step => "`race { … }`",
        Rule::branches => "`{ branch { … } … }`",
        Rule::branch => "a branch `name { … }`",
        Rule::for_step => "`for ITEM in LIST { … }`",
        Rule::while_step => "`while CONDITION { … }`",
        Rule::wait_step => "`wait SIGNAL`",
        Rule::wait_clause => "a wait setting (`until`, `timeout`, `on_timeout`)",
        Rule::sleep_step => "`sleep DURATION`",
        Rule::sleep_until => "a timestamp expression",
        Rule::set_step => "`set { … }`",
        Rule::try_step => "`try { … }`",
        Rule::catch_clause => "`catch { … }`",
        Rule::error_types => "error types `A, B`",
        Rule::fail_step => "`fail TYPE`",
        Rule::fail_type => "an error type (a name, a string or a template)",
        Rule::fail_clause => "`message VALUE` or `details VALUE`",
        Rule::return_step => "`return VALUE`",
        Rule::rethrow_step => "`rethrow`",
        Rule::use_step => "`use FRAGMENT`",
        Rule::child_step => "`workflow NAME(…)`",
        Rule::child_clause => {
            "a child workflow setting (`workflow_id`, `queue`, `task_queue`, `timeout`, \
             `parent_close`, `retry`)"
        }
        Rule::activity_step => "an activity call `name(…)`",
        Rule::activity_call => "an activity call `name(…)`",
        Rule::compensate => "`compensate name(…)`",
        Rule::call_input => "the call's input `(…)` or `args [ … ]`",
        Rule::named_args => "named inputs `name: value`",
        Rule::named_arg => "a named input `name: value`",
        Rule::args_clause => "`args [ … ]`",
    }
}

/// The diagnostic for a failed parse.
pub(super) fn syntax_error(
    file: FileId,
    text: &str,
    scanned: &Scanned,
    e: &Error<Rule>,
) -> Diagnostic {
    let pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    }
    .min(text.len());
    if let Some(d) = unterminated(file, text, scanned, pos) {
        return d;
    }
    let (positives, negatives) = match &e.variant {
        ErrorVariant::ParsingError {
            positives,
            negatives,
        } => (positives.clone(), negatives.clone()),
        ErrorVariant::CustomError { .. } => (Vec::new(), Vec::new()),
    };
    let found = found_at(text, pos);
    let span = Span::new(file, pos, pos + found.len);
    let after_end = |r: &Rule| {
        matches!(
            r,
            Rule::EOI | Rule::fragment | Rule::workflow | Rule::kw_fragment | Rule::kw_workflow
        )
    };
    if positives.contains(&Rule::EOI) && positives.iter().all(after_end) {
        return Diagnostic::new(
            Code::E060,
            span,
            format!("unexpected {} after the end of the workflow", found.words),
        )
        .label("after the workflow's closing `}`")
        .help("after a workflow's `}` come only other `workflow NAME { … }` and `fragment NAME { … }` blocks: move this inside the braces or delete it");
    }
    // After a word at the start of a statement, only `=` or `(` could follow: the word
    // itself is the problem (`tmeout 10s`, `sleep 5 mins`).
    let positives: Vec<Rule> = positives
        .into_iter()
        .filter(|r| *r != Rule::cel_comment)
        .collect();
    let statement_start = positives.contains(&Rule::call_input);
    if statement_start
        && positives.iter().all(|r| {
            matches!(
                r,
                Rule::eq | Rule::call_input | Rule::lparen | Rule::args_clause
            )
        })
        && let Some(d) = not_a_step(file, text, pos)
    {
        return d;
    }
    // After a keyword (`fail`, `compensate`, `when`), reading it as the start of an
    // assignment or a call (`fail = 1`, `when(x)`) only confuses the message.
    let after_keyword = previous_word(text, pos).is_some_and(|w| KEYWORDS.contains(&w));
    let mut positives = positives;
    if after_keyword {
        let kept: Vec<Rule> = positives
            .iter()
            .copied()
            .filter(|r| !matches!(r, Rule::eq | Rule::call_input))
            .collect();
        if !kept.is_empty() {
            positives = kept;
        }
    }
    if positives.contains(&Rule::lbrace)
        && let Some(d) = conditions::trailing_if(file, text, pos)
    {
        return d;
    }
    // Tokens that would continue an expression (`?`, `(`, `[`) are noise next to a block's `{`.
    if positives.contains(&Rule::lbrace) {
        positives.retain(|r| !matches!(r, Rule::question | Rule::lparen | Rule::lbracket));
    } else if positives.len() > 1 {
        positives.retain(|r| *r != Rule::question);
    }
    let mut expected: Vec<&str> = positives.iter().map(|r| describe_rule(*r)).collect();
    expected.sort_unstable();
    expected.dedup();
    let mut message = match expected.as_slice() {
        [] => format!("unexpected {}", found.words),
        [one] => format!("expected {one}, found {}", found.words),
        [init @ .., last] => format!(
            "expected {} or {last}, found {}",
            init.join(", "),
            found.words
        ),
    };
    if !negatives.is_empty() {
        let mut unexpected: Vec<&str> = negatives.iter().map(|r| describe_rule(*r)).collect();
        unexpected.sort_unstable();
        unexpected.dedup();
        message.push_str(&format!(" (not {})", unexpected.join(" or ")));
    }
    let mut d = Diagnostic::new(Code::E060, span, message).label(if found.len == 0 {
        "here".to_string()
    } else {
        "unexpected".to_string()
    });
    let word = &text[pos..pos + found.len];
    d.help = conditions::in_place_of(word, &positives)
        .map(str::to_string)
        .or_else(|| hint(text, pos));
    d
}

/// An unterminated string, or a bracket left open or closed wrongly, explains most errors
/// near the end of a file better than "expected …" does.
fn unterminated(file: FileId, text: &str, scanned: &Scanned, pos: usize) -> Option<Diagnostic> {
    if let Some(q) = scanned.unterminated.filter(|q| *q <= pos) {
        let quote = &text[q..q + 1];
        return Some(
            Diagnostic::new(
                Code::E061,
                Span::new(file, q, q + 1),
                "this string never ends",
            )
            .label("opened here")
            .help(if quote == "`" {
                "close the template with a backquote".to_string()
            } else {
                format!(
                    "close it with {quote} on the same line, or use a triple-quoted string \
                         ({quote}{quote}{quote}) for text over several lines"
                )
            }),
        );
    }
    if let Some((open, close)) = scanned.mismatched.filter(|(_, c)| *c <= pos) {
        let closer = &text[close..close + 1];
        let d = match open {
            Some(open) => Diagnostic::new(
                Code::E061,
                Span::new(file, close, close + 1),
                format!(
                    "this `{closer}` does not close the `{}` before it",
                    &text[open..open + 1]
                ),
            )
            .label("wrong closing bracket")
            .with_label(Span::new(file, open, open + 1), "opened here")
            .help(format!(
                "close the `{}` first, or delete this `{closer}`",
                &text[open..open + 1]
            )),
            None => Diagnostic::new(
                Code::E061,
                Span::new(file, close, close + 1),
                format!("this `{closer}` closes nothing"),
            )
            .label("no matching opening bracket")
            .help("delete it, or add the opening bracket it belongs to"),
        };
        return Some(d);
    }
    let at_end = only_comments_after(text, scanned, pos);
    let u = scan::likely_unclosed(text, scanned)?;
    // A block left open is the error's cause when the parser ran on past the line where the
    // block ends by its indentation, or into the end of the file.
    let explains = match u.ends_before {
        Some(end) => pos >= end,
        None => at_end,
    };
    (explains && u.open <= pos).then(|| never_closed(file, text, u))
}

/// E061 at a bracket never closed, naming the construct it opens and where its `}` belongs.
fn never_closed(file: FileId, text: &str, u: scan::Unclosed) -> Diagnostic {
    let bracket = &text[u.open..u.open + 1];
    let closer = match bracket {
        "{" => "}",
        "(" => ")",
        _ => "]",
    };
    let message = match (bracket, opened_by(text, u.open)) {
        ("{", Some(what)) => format!("{what} is never closed"),
        _ => format!("this `{bracket}` is never closed"),
    };
    let line = text[..u.last_token_end].matches('\n').count() + 1;
    let mut d = Diagnostic::new(Code::E061, Span::new(file, u.open, u.open + 1), message)
        .label(format!("this `{bracket}` is never closed"));
    if let Some(end) = u.ends_before {
        let found = found_at(text, end);
        d = d.with_label(
            Span::new(file, end, end + found.len.max(1)),
            "indented outside the block, so the block ends before this line",
        );
    }
    d.help(match (u.by_indentation, u.ends_before) {
        (true, Some(_)) => format!("add `{closer}` after line {line}"),
        (true, None) => format!("add `{closer}` at the end of the file, after line {line}"),
        (false, _) => format!("add the missing `{closer}`"),
    })
}

/// What a `{` opens, from the words before it on its line: "the `if` block", "workflow
/// `order`", "the branch `notify`"; `None` for anything else (a map, a list of settings).
fn opened_by(text: &str, open: usize) -> Option<String> {
    let line_start = text[..open].rfind('\n').map_or(0, |n| n + 1);
    let mut head = text[line_start..open]
        .trim()
        .trim_start_matches('}')
        .trim_start();
    if let Some(rest) = head.strip_prefix("step ") {
        head = rest
            .split_once('=')
            .map_or(rest, |(_, after)| after)
            .trim_start();
    }
    // Keywords followed by their `{` (`retry {` may end a call), then statements whose
    // keyword comes first (`if COND {`, `for x in l {`).
    const DIRECT: &[&str] = &[
        "block",
        "switch",
        "parallel",
        "race",
        "try",
        "else",
        "default",
        "set",
        "retry",
        "defaults",
        "input",
        "search_attributes",
        "memo",
    ];
    const LEADING: &[&str] = &["if", "case", "for", "while", "catch", "signal", "schedule"];
    let words: Vec<&str> = head.split_whitespace().collect();
    let is_name = |w: &str| {
        w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    };
    match words.as_slice() {
        ["else", "if", ..] => Some("the `else if` block".into()),
        [.., last] if DIRECT.contains(last) => Some(format!("the `{last}` block")),
        ["workflow", name, ..] if is_name(name) => Some(format!("workflow `{name}`")),
        [first, ..] if LEADING.contains(first) => Some(format!("the `{first}` block")),
        [name] if is_name(name) => Some(format!("the branch `{name}`")),
        _ => None,
    }
}

fn only_comments_after(text: &str, scanned: &Scanned, pos: usize) -> bool {
    let mut rest = text[pos..].to_string().into_bytes();
    for c in scanned.comments.iter().filter(|c| c.start >= pos) {
        for b in &mut rest[c.start - pos..c.end - pos] {
            *b = b' ';
        }
    }
    rest.iter().all(u8::is_ascii_whitespace)
}

/// The word that ends just before `pos` (whitespace skipped).
fn previous_word(text: &str, pos: usize) -> Option<&str> {
    let before = text[..pos].trim_end();
    // The character found may be wider than one byte (a BOM, a non-ASCII letter).
    let start = before
        .char_indices()
        .rfind(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(0, |(n, c)| n + c.len_utf8());
    let word = &before[start..];
    (!word.is_empty()).then_some(word)
}

/// `WORD` at the start of a statement is neither a keyword, an assignment nor a call.
fn not_a_step(file: FileId, text: &str, pos: usize) -> Option<Diagnostic> {
    let before = text[..pos].trim_end();
    // The character found may be wider than one byte (a BOM, a non-ASCII letter).
    let start = before
        .char_indices()
        .rfind(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        .map_or(0, |(n, c)| n + c.len_utf8());
    let word = &before[start..];
    if word.is_empty() {
        return None;
    }
    let previous = text[..start].trim_end();
    let after_number = previous.ends_with(|c: char| c.is_ascii_digit());
    let mut d = Diagnostic::new(
        Code::E060,
        Span::new(file, start, start + word.len()),
        format!("`{word}` does not start a step"),
    )
    .label("not a step, an assignment or a call");
    d.help = Some(if after_number {
        "write a duration without spaces, such as `30s` or `5m`".to_string()
    } else if let Some(instead) = conditions::instead_of(word) {
        instead.to_string()
    } else if let Some(hint) = did_you_mean(word, KEYWORDS.iter().copied()) {
        hint
    } else {
        format!(
            "a step starts with a keyword (`step`, `if`, `wait`, …); write `{word} = value` to \
             assign a variable or `{word}(…)` to call an activity"
        )
    });
    Some(d)
}

struct Found {
    words: String,
    len: usize,
}

/// The token at `pos`, for "found …".
fn found_at(text: &str, pos: usize) -> Found {
    let rest = &text[pos..];
    let Some(c) = rest.chars().next() else {
        return Found {
            words: "the end of the file".into(),
            len: 0,
        };
    };
    if c.is_alphanumeric() || c == '_' {
        let word: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.' || *c == '-')
            .collect();
        return Found {
            words: format!("`{word}`"),
            len: word.len(),
        };
    }
    if c == '"' || c == '\'' {
        return Found {
            words: "a string".into(),
            len: 1,
        };
    }
    if c == '`' {
        return Found {
            words: "a template".into(),
            len: 1,
        };
    }
    if c == '\n' || c == '\r' {
        return Found {
            words: "the end of the line".into(),
            len: 0,
        };
    }
    Found {
        words: format!("`{c}`"),
        len: c.len_utf8(),
    }
}

/// "did you mean `timeout`?" for a misspelt keyword at or just before the error.
fn hint(text: &str, pos: usize) -> Option<String> {
    let word_at = |at: usize| -> &str {
        let end = text[at..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(text.len(), |n| at + n);
        &text[at..end]
    };
    // A word followed by `.`, `(` or `[` is the start of an expression, not a misspelt keyword.
    let here = word_at(pos);
    let here = if text[pos + here.len()..].starts_with(['.', '(', '[']) {
        ""
    } else {
        here
    };
    let before = text[..pos].trim_end();
    let start = before
        .char_indices()
        .rfind(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map_or(0, |(n, c)| n + c.len_utf8());
    let previous = &before[start..];
    [here, previous]
        .into_iter()
        .filter(|w| w.len() >= 3 && !KEYWORDS.contains(w))
        .find_map(|w| did_you_mean(w, KEYWORDS.iter().copied()))
}
