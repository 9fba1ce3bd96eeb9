//! Temporal's cron strings (`ScheduleSpec.cron_string`): exactly what the server accepts.
//!
//! This follows the Temporal server, `service/worker/scheduler/calendar.go`
//! (`parseCronString`, `handlePredefinedCronStrings`, `parseCronStringInterval`, `makeRange`,
//! `parseValue`), `service/worker/scheduler/spec.go` (`canonicalizeSpec`, `validateInterval`,
//! the 200-byte comment cap of `validateStructuredCalendar`) and
//! `common/primitives/timestamp/parse_duration.go` (`ParseDuration`: Go's `time.ParseDuration`
//! plus a `d` unit), in that order:
//!
//! 1. `TZ=ZONE ` or `CRON_TZ=ZONE ` up to the first space names the zone (possibly empty);
//! 2. everything after the first `#` is a comment (at most 200 bytes for a calendar);
//! 3. `@every DURATION[/PHASE]` is an interval: at least 1s, `0 <= PHASE < DURATION`;
//! 4. `@yearly @annually @monthly @weekly @daily @midnight @hourly` are shorthands;
//! 5. otherwise 5 fields `minute hour day-of-month month day-of-week`, 6 (… `year`) or 7
//!    (`second` … `year`), each a comma list of `*`, `N`, `A-B`, with an optional `/STEP`.
//!
//! Errors carry the byte range of the offending part, relative to the cron string.

use std::ops::Range;

/// What the server makes of a cron string.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum CronKind {
    /// A calendar: fields or a shorthand.
    Calendar,
    /// `@every`: an interval and its phase, in nanoseconds (as Go's `time.Duration`).
    Every { interval: i64, phase: i64 },
}

/// A cron string the server accepts.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Cron<'a> {
    /// The zone of a `CRON_TZ=`/`TZ=` prefix and its range; `None` without a prefix or with an
    /// empty zone (`TZ= …`), which leaves the schedule's own zone in force.
    pub zone: Option<(&'a str, Range<usize>)>,
    /// Whether the string starts with a `CRON_TZ=`/`TZ=` prefix (even an empty one).
    pub prefixed: bool,
    /// The string after the prefix, trimmed: what `cron_string` carries once the zone is sent
    /// as `timezone_name`.
    pub body: &'a str,
    pub kind: CronKind,
}

/// Why the server would refuse a cron string, where, and how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct CronError {
    pub message: String,
    /// Byte range in the cron string.
    pub at: Range<usize>,
    pub help: String,
}

/// The shorthands `handlePredefinedCronStrings` knows (case-sensitive).
pub(super) const SHORTHANDS: &[&str] = &[
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

/// The longest calendar comment the server keeps (`maxCommentLen`).
const MAX_COMMENT: usize = 200;

/// The longest interval: Stave's limit on every duration in a file (100 years).
const MAX_INTERVAL_NS: i64 = 36_500 * 86_400 * 1_000_000_000;

const FORMS: &str = "Temporal reads 5 fields `minute hour day-of-month month day-of-week` (e.g. `0 2 * * *`), 6 (a `year` after them) or 7 (`second` first, `year` last), a shorthand such as `@daily`, or `@every 1h`";

const FIELD_FORMS: &str =
    "a field is `*`, a value, a range `1-5`, a step `*/15` or `1-30/5`, or a comma list of these";

#[derive(Clone, Copy, PartialEq)]
enum Names {
    None,
    Months,
    Weekdays,
}

#[derive(Clone, Copy)]
struct Field {
    name: &'static str,
    min: i64,
    max: i64,
    names: Names,
}

const SECOND: Field = Field::int("second", 0, 59);
const MINUTE: Field = Field::int("minute", 0, 59);
const HOUR: Field = Field::int("hour", 0, 23);
const DAY_OF_MONTH: Field = Field::int("day-of-month", 1, 31);
const MONTH: Field = Field {
    name: "month",
    min: 1,
    max: 12,
    names: Names::Months,
};
const DAY_OF_WEEK: Field = Field {
    name: "day-of-week",
    min: 0,
    max: 7,
    names: Names::Weekdays,
};
const YEAR: Field = Field::int("year", 2000, 2100);

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

impl Field {
    const fn int(name: &'static str, min: i64, max: i64) -> Field {
        Field {
            name,
            min,
            max,
            names: Names::None,
        }
    }

    /// `0-23`, `1-12 or a month name`: what a value of the field may be.
    fn allowed(self) -> String {
        match self.names {
            Names::None => format!("{}-{}", self.min, self.max),
            Names::Months => format!("{}-{} or a month name (`jan`, `march`)", self.min, self.max),
            Names::Weekdays => format!(
                "{}-{} (0 and 7 are Sunday) or a day name (`mon`, `fri`)",
                self.min, self.max
            ),
        }
    }
}

/// Checks a cron string as the Temporal server parses it.
pub(super) fn parse(cron: &str) -> Result<Cron<'_>, CronError> {
    let err = |message: String, at: Range<usize>, help: &str| CronError {
        message,
        at,
        help: help.to_owned(),
    };
    let (mut c, mut at) = trim(cron, 0);
    let mut zone = None;
    let prefixed = c.starts_with("TZ=") || c.starts_with("CRON_TZ=");
    if prefixed {
        let Some(space) = c.find(' ') else {
            return Err(err(
                "a time zone prefix but no fields after it".into(),
                at..at + c.len(),
                "write the fields after a space, e.g. `CRON_TZ=Europe/Berlin 0 2 * * *`",
            ));
        };
        let eq = c.find('=').unwrap_or(0) + 1;
        if eq < space {
            zone = Some((&c[eq..space], at + eq..at + space));
        }
        (c, at) = (&c[space + 1..], at + space + 1);
    }
    let (body, _) = trim(c, at);
    let (c, comment) = match c.split_once('#') {
        Some((c, comment)) => (c, Some((comment, at + c.len() + 1))),
        None => (c, None),
    };
    let (c, at) = trim(c, at);
    let kind = if c.starts_with("@every") {
        every(c, at)?
    } else {
        if !SHORTHANDS.contains(&c) {
            fields(c, at)?;
        }
        if let Some((text, start)) = comment {
            let (text, start) = trim(text, start);
            if text.len() > MAX_COMMENT {
                return Err(err(
                    format!(
                        "the comment is {} bytes long; Temporal keeps at most {MAX_COMMENT}",
                        text.len()
                    ),
                    start..start + text.len(),
                    "shorten the comment after `#`, or move it to a YAML comment",
                ));
            }
        }
        CronKind::Calendar
    };
    Ok(Cron {
        zone,
        prefixed,
        body,
        kind,
    })
}

/// `s` without surrounding whitespace (Go's `strings.TrimSpace`), and where it now starts.
fn trim(s: &str, at: usize) -> (&str, usize) {
    let start = s.len() - s.trim_start().len();
    (s.trim(), at + start)
}

/// `@every 1h` or `@every 1h/15m`.
fn every(c: &str, at: usize) -> Result<CronKind, CronError> {
    let Some(space) = c.find(' ') else {
        return Err(CronError {
            message: "`@every` needs a duration".into(),
            at: at..at + c.len(),
            help: "write e.g. `@every 1h`, or `@every 1h/15m` to start 15 minutes into each hour"
                .into(),
        });
    };
    let spec = &c[space + 1..];
    let spec_at = at + space + 1;
    let (interval_text, phase_text) = match spec.split_once('/') {
        Some((i, p)) => (i, Some((p, spec_at + i.len() + 1))),
        None => (spec, None),
    };
    let duration = |text: &str, start: usize, what: &str| {
        go_duration(text).map_err(|why| CronError {
            message: format!("`{text}` is not a duration ({why}) in the {what} of `@every`"),
            at: start..start + text.len(),
            help: "write a Go duration: a number and a unit (`ns`, `us`, `ms`, `s`, `m`, `h`, `d`), e.g. `90m` or `1h30m`".into(),
        })
    };
    let interval = duration(interval_text, spec_at, "interval")?;
    let phase = match phase_text {
        // `@every 1h/` has no phase: Go cuts at `/` and ignores an empty remainder.
        Some(("", _)) | None => 0,
        Some((text, start)) => duration(text, start, "phase")?,
    };
    let interval_at = spec_at..spec_at + interval_text.len();
    if interval < 1_000_000_000 {
        return Err(CronError {
            message: format!("the interval `{interval_text}` of `@every` is under 1s"),
            at: interval_at,
            help: "Temporal's shortest interval is 1s".into(),
        });
    }
    if interval > MAX_INTERVAL_NS {
        return Err(CronError {
            message: format!("the interval `{interval_text}` of `@every` is over 100 years"),
            at: interval_at,
            help: "durations in Stave files are at most 100 years (`36500d`)".into(),
        });
    }
    if let Some((text, start)) = phase_text.filter(|(t, _)| !t.is_empty()) {
        let at = start..start + text.len();
        if phase < 0 {
            return Err(CronError {
                message: format!("the phase `{text}` of `@every` is negative"),
                at,
                help: "the phase is how far into each interval runs start, e.g. `@every 1h/15m`"
                    .into(),
            });
        }
        if phase >= interval {
            return Err(CronError {
                message: format!(
                    "the phase `{text}` of `@every` is not shorter than the interval `{interval_text}`"
                ),
                at,
                help: "the phase is how far into each interval runs start, e.g. `@every 1h/15m`"
                    .into(),
            });
        }
    }
    Ok(CronKind::Every { interval, phase })
}

/// The 5, 6 or 7 fields of a calendar.
fn fields(c: &str, at: usize) -> Result<(), CronError> {
    let tokens: Vec<(usize, &str)> = c
        .split_whitespace()
        .map(|t| (t.as_ptr() as usize - c.as_ptr() as usize, t))
        .collect();
    let layout: &[Field] = match tokens.len() {
        5 => &[MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK],
        6 => &[MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK, YEAR],
        7 => &[SECOND, MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK, YEAR],
        n => {
            let whole = at..at + c.len();
            if n == 1 && c.starts_with('@') {
                let all = SHORTHANDS.iter().copied().chain(["@every"]);
                let hint = crate::diagnostics::did_you_mean(&c.to_ascii_lowercase(), all)
                    .map_or_else(String::new, |h| format!("{h} "));
                return Err(CronError {
                    message: format!("unknown shorthand `{c}`"),
                    at: whole,
                    help: format!(
                        "{hint}Temporal knows {}, and `@every <duration>`",
                        SHORTHANDS.join(" ")
                    ),
                });
            }
            return Err(CronError {
                message: format!("expected 5 to 7 fields, found {n}"),
                at: whole,
                help: FORMS.into(),
            });
        }
    };
    for ((offset, token), field) in tokens.into_iter().zip(layout) {
        range(token, at + offset, *field)?;
    }
    Ok(())
}

/// One field: `makeRange`.
fn range(s: &str, at: usize, field: Field) -> Result<(), CronError> {
    if s == "*" && field.name == YEAR.name {
        return Ok(());
    }
    let mut offset = 0;
    for part in s.split(',') {
        let part_at = at + offset;
        offset += part.len() + 1;
        let whole = part_at..part_at + part.len();
        let fail = |message: String, at: Range<usize>, help: &str| CronError {
            message,
            at,
            help: help.to_owned(),
        };
        let values = match part.matches('/').count() {
            0 => part,
            1 => {
                let (values, step) = part.split_once('/').unwrap_or((part, ""));
                let step_at = part_at + values.len() + 1..part_at + part.len();
                if step.is_empty() {
                    return Err(fail(
                        format!("a step is missing after `/` in the {} field", field.name),
                        whole,
                        "write the step, e.g. `*/15`",
                    ));
                }
                let Some(n) = go_atoi(step) else {
                    return Err(fail(
                        format!(
                            "the step `{step}` of the {} field is not a whole number",
                            field.name
                        ),
                        step_at,
                        "write e.g. `*/15`",
                    ));
                };
                if n < 1 {
                    return Err(fail(
                        format!(
                            "the step of the {} field must be at least 1, not {n}",
                            field.name
                        ),
                        step_at,
                        "write e.g. `*/15`",
                    ));
                }
                // The server stores the step as an int32 and refuses a negative one.
                if (n as i32) < 0 {
                    return Err(fail(
                        format!("the step {n} of the {} field is too large", field.name),
                        step_at,
                        "a step longer than the field's range matches its start only: write the start alone",
                    ));
                }
                values
            }
            _ => {
                return Err(fail(
                    format!("`{part}` has more than one `/` in the {} field", field.name),
                    whole,
                    "a step is written once: `*/15` or `0-30/10`",
                ));
            }
        };
        if values == "*" {
            continue;
        }
        let values_at = part_at..part_at + values.len();
        let not_a = |text: &str, at: Range<usize>| {
            let help = if text == "?" {
                "Temporal's cron has no `?`: write `*`".to_owned()
            } else if ["L", "W"].iter().any(|q| text.contains(q)) && text.len() <= 3 {
                format!(
                    "Temporal's cron has no `L` or `W`; the {} field takes {}",
                    field.name,
                    field.allowed()
                )
            } else {
                format!(
                    "the {} field takes {}; {FIELD_FORMS}",
                    field.name,
                    field.allowed()
                )
            };
            CronError {
                message: format!(
                    "`{text}` is not a valid {} ({})",
                    field.name,
                    field.allowed()
                ),
                at,
                help,
            }
        };
        match values.matches('-').count() {
            0 => {
                value(values, field.min, field.max, field.names)
                    .ok_or_else(|| not_a(values, values_at.clone()))?;
            }
            1 => {
                let (a, b) = values.split_once('-').unwrap_or((values, ""));
                let start = value(a, field.min, field.max, field.names)
                    .ok_or_else(|| not_a(a, part_at..part_at + a.len()))?;
                let b_at = part_at + a.len() + 1..part_at + values.len();
                if value(b, start, field.max, field.names).is_none() {
                    if value(b, field.min, field.max, field.names).is_some() {
                        return Err(fail(
                            format!("the {} range `{values}` ends before it starts", field.name),
                            values_at,
                            "write the smaller value first; a range does not wrap around",
                        ));
                    }
                    return Err(not_a(b, b_at));
                }
            }
            _ => {
                return Err(fail(
                    format!(
                        "`{values}` has more than one `-` in the {} field",
                        field.name
                    ),
                    values_at,
                    "a range is `start-end`, e.g. `1-5`; list several with commas: `1-5,10-15`",
                ));
            }
        }
    }
    Ok(())
}

/// One value: `parseValue`. Month names from three letters, day names from two, as prefixes.
fn value(s: &str, min: i64, max: i64, names: Names) -> Option<i64> {
    let (list, shortest, first): (&[&str], usize, i64) = match names {
        Names::Months => (&MONTHS, 3, 1),
        Names::Weekdays => (&WEEKDAYS, 2, 0),
        Names::None => (&[], usize::MAX, 0),
    };
    if s.len() >= shortest {
        let lower = go_to_lower(s);
        if let Some(i) = list.iter().position(|name| name.starts_with(&lower)) {
            let v = first + i as i64;
            return (min..=max).contains(&v).then_some(v);
        }
    }
    go_atoi(s).filter(|v| (min..=max).contains(v))
}

/// Go's `strings.ToLower`, as far as it can matter here: only a result made of ASCII letters can
/// be a prefix of a month or day name, and besides ASCII only `İ` (to `i`) and the Kelvin sign
/// (to `k`) lower-case to ASCII in Go.
fn go_to_lower(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{130}' => 'i',
            '\u{212A}' => 'k',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Go's `strconv.Atoi`: an optional sign, then decimal digits, within `i64`.
fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.strip_prefix('+').unwrap_or(s).parse().ok()
}

/// Temporal's `timestamp.ParseDuration`: `Nd` becomes `(24·N)h` (printed with `%f`), then Go's
/// `time.ParseDuration`. Nanoseconds.
fn go_duration(s: &str) -> Result<i64, String> {
    go_parse_duration(&expand_days(s))
}

/// Replaces every match of `(\d+(\.\d*)?|(\.\d+))d`, leftmost first, with `%fh` of 24 times
/// its number; a number Go cannot parse as a float stays as it was.
fn expand_days(s: &str) -> String {
    let b = s.as_bytes();
    let digits = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut out = String::with_capacity(s.len());
    let (mut i, mut copied) = (0, 0);
    while i < b.len() {
        // The end of a match starting at `i`, if any: greedy digits, an optional fraction,
        // then `d` (backtracking cannot help: a shorter run is followed by a digit or `.`).
        let end = if b[i].is_ascii_digit() {
            let int_end = digits(i);
            if b.get(int_end) == Some(&b'd') {
                Some(int_end)
            } else if b.get(int_end) == Some(&b'.') {
                let frac_end = digits(int_end + 1);
                (b.get(frac_end) == Some(&b'd')).then_some(frac_end)
            } else {
                None
            }
        } else if b[i] == b'.' {
            let frac_end = digits(i + 1);
            (frac_end > i + 1 && b.get(frac_end) == Some(&b'd')).then_some(frac_end)
        } else {
            None
        };
        match end {
            Some(end) => {
                out.push_str(&s[copied..i]);
                match s[i..end].parse::<f64>() {
                    Ok(v) if v.is_finite() => out.push_str(&format!("{:.6}h", 24.0 * v)),
                    _ => out.push_str(&s[i..=end]),
                }
                i = end + 1;
                copied = i;
            }
            None => i += 1,
        }
    }
    out.push_str(&s[copied..]);
    out
}

/// Go's `time.ParseDuration`, to the letter (overflow checks included).
fn go_parse_duration(orig: &str) -> Result<i64, String> {
    const LIMIT: u64 = 1 << 63;
    let invalid = || "not a duration".to_owned();
    let overflow = || "too long".to_owned();
    let b = orig.as_bytes();
    let mut i = 0;
    let mut neg = false;
    if let Some(&c) = b.first()
        && (c == b'-' || c == b'+')
    {
        neg = c == b'-';
        i = 1;
    }
    if &b[i..] == b"0" {
        return Ok(0);
    }
    if i == b.len() {
        return Err(invalid());
    }
    let mut d: u64 = 0;
    while i < b.len() {
        if !(b[i] == b'.' || b[i].is_ascii_digit()) {
            return Err(invalid());
        }
        let start = i;
        let mut v: u64 = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            if v > LIMIT / 10 {
                return Err(overflow());
            }
            v = v * 10 + u64::from(b[i] - b'0');
            if v > LIMIT {
                return Err(overflow());
            }
            i += 1;
        }
        let pre = i != start;
        let (mut f, mut scale, mut post) = (0u64, 1f64, false);
        if i < b.len() && b[i] == b'.' {
            i += 1;
            let start = i;
            let mut overflowed = false;
            while i < b.len() && b[i].is_ascii_digit() {
                if !overflowed {
                    if f > (LIMIT - 1) / 10 {
                        overflowed = true;
                    } else {
                        let y = f * 10 + u64::from(b[i] - b'0');
                        if y > LIMIT {
                            overflowed = true;
                        } else {
                            f = y;
                            scale *= 10.0;
                        }
                    }
                }
                i += 1;
            }
            post = i != start;
        }
        if !pre && !post {
            return Err(invalid());
        }
        let unit_start = i;
        while i < b.len() && !(b[i] == b'.' || b[i].is_ascii_digit()) {
            i += 1;
        }
        let unit: u64 = match &orig[unit_start..i] {
            "" => return Err("a unit is missing".into()),
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            u => return Err(format!("unknown unit `{u}`")),
        };
        if v > LIMIT / unit {
            return Err(overflow());
        }
        v *= unit;
        if f > 0 {
            v += (f as f64 * (unit as f64 / scale)) as u64;
            if v > LIMIT {
                return Err(overflow());
            }
        }
        // Go adds in uint64 and wraps.
        d = d.wrapping_add(v);
        if d > LIMIT {
            return Err(overflow());
        }
    }
    if neg {
        return Ok((d as i64).wrapping_neg());
    }
    if d > LIMIT - 1 {
        return Err(overflow());
    }
    Ok(d as i64)
}

#[cfg(test)]
mod tests;
