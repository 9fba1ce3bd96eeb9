//! `schedules:`: cron or interval specs, overlap policies, time zones, literal input.

use super::value::lower_value;
use super::{Lowerer, ms};
use crate::diagnostics::{Code, Diagnostic, did_you_mean};
use crate::ir;
use crate::syntax::ast;
use serde_json::Value as Json;
use std::time::Duration;

impl Lowerer<'_> {
    pub(super) fn schedule(
        &mut self,
        s: &ast::Schedule,
        input_schema: Option<&Json>,
    ) -> Option<ir::Schedule> {
        self.check_temporal_name(&s.id, "schedule");
        let spec = match (&s.cron, &s.every) {
            (Some(cron), None) => {
                if let Err(why) = check_cron(&cron.value) {
                    self.error(Diagnostic::new(Code::E038, cron.span, format!("invalid cron `{}`: {why}", cron.value)).help("five fields: minute hour day-of-month month day-of-week, e.g. `0 2 * * *`"));
                    return None;
                }
                ir::ScheduleSpec::Cron(cron.value.clone())
            }
            (None, Some(every)) => {
                if every.value < Duration::from_secs(1) {
                    self.error(Diagnostic::new(
                        Code::E038,
                        every.span,
                        "`every` must be at least 1s",
                    ));
                    return None;
                }
                ir::ScheduleSpec::EveryMs(ms(every.value))
            }
            (Some(_), Some(e)) => {
                self.error(
                    Diagnostic::new(
                        Code::E038,
                        e.span,
                        "a schedule takes `cron:` or `every:`, not both",
                    )
                    .help("keep one of them"),
                );
                return None;
            }
            (None, None) => {
                self.error(
                    Diagnostic::new(Code::E038, s.span, "a schedule needs `cron:` or `every:`")
                        .help("add `cron: \"0 2 * * *\"` or `every: 1h`"),
                );
                return None;
            }
        };
        let overlap = match s.overlap.as_ref().map(|o| o.value.as_str()) {
            None | Some("skip") => ir::Overlap::Skip,
            Some("buffer_one") => ir::Overlap::BufferOne,
            Some("buffer_all") => ir::Overlap::BufferAll,
            Some("allow_all") => ir::Overlap::AllowAll,
            Some("cancel_other") => ir::Overlap::CancelOther,
            Some("terminate_other") => ir::Overlap::TerminateOther,
            Some(other) => {
                const ALL: &[&str] = &[
                    "skip",
                    "buffer_one",
                    "buffer_all",
                    "allow_all",
                    "cancel_other",
                    "terminate_other",
                ];
                let o = s.overlap.as_ref().map_or(s.span, |o| o.span);
                let help = did_you_mean(other, ALL.iter().copied())
                    .unwrap_or_else(|| format!("use one of: {}", ALL.join(", ")));
                self.error(
                    Diagnostic::new(Code::E038, o, format!("unknown overlap policy `{other}`"))
                        .help(help),
                );
                return None;
            }
        };
        let timezone = s
            .timezone
            .as_ref()
            .map_or_else(|| "UTC".to_string(), |t| t.value.clone());
        if let Some(tz) = &s.timezone
            && !looks_like_time_zone(&tz.value)
        {
            self.error(
                Diagnostic::new(
                    Code::E038,
                    tz.span,
                    format!("`{}` is not an IANA time zone", tz.value),
                )
                .help("write e.g. `Europe/Oslo` or `UTC`"),
            );
        }
        let input = match &s.input {
            None => Json::Null,
            Some(v) => match lower_value(v) {
                ir::Value::Literal(j) => j,
                _ => {
                    self.error(Diagnostic::new(Code::E038, v.span, "a schedule's input must be literal data").help("schedules start without a run to evaluate expressions in; write the input as plain data"));
                    return None;
                }
            },
        };
        // The server would start every scheduled run with this input, and every run would
        // fail at once with InvalidInput: say so now.
        if let Some(schema) = input_schema {
            let errors = crate::jsonschema::validate(schema, &input, "input");
            if let Some(first) = errors.first() {
                let span = s.input.as_ref().map_or(s.id.span, |v| v.span);
                let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
                self.error(
                    Diagnostic::new(
                        Code::E038,
                        span,
                        format!(
                            "schedule `{}` would start every run with an input the workflow refuses: {}",
                            s.id.value,
                            list.join("; ")
                        ),
                    )
                    .label(first.to_string())
                    .help("make the schedule's `input` match the workflow's `input` schema"),
                );
            }
        }
        Some(ir::Schedule {
            id: s.id.value.clone(),
            spec,
            timezone,
            overlap,
            paused: s.paused.as_ref().is_some_and(|p| p.value),
            input,
        })
    }
}

/// `UTC` or an `Area/Location` name. Only the shape is checked: the Temporal server knows
/// which zones exist.
fn looks_like_time_zone(tz: &str) -> bool {
    tz == "UTC"
        || tz.split('/').count() >= 2
            && tz
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_-+".contains(c))
}

/// Checks a five-field cron expression (or `@hourly`-style shorthands).
fn check_cron(cron: &str) -> Result<(), String> {
    const SHORTHANDS: &[&str] = &[
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    ];
    let cron = cron.trim();
    if cron.starts_with('@') {
        return if SHORTHANDS.contains(&cron) {
            Ok(())
        } else {
            Err(format!(
                "unknown shorthand; use one of {}",
                SHORTHANDS.join(", ")
            ))
        };
    }
    let fields: Vec<&str> = cron.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!("expected 5 fields, found {}", fields.len()));
    }
    const NAMES: [&str; 5] = ["minute", "hour", "day-of-month", "month", "day-of-week"];
    const RANGES: [(u32, u32); 5] = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)];
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    for (i, field) in fields.iter().enumerate() {
        let (lo, hi) = RANGES[i];
        for part in field.split(',') {
            let (range, step) = match part.split_once('/') {
                Some((r, s)) => (r, Some(s)),
                None => (part, None),
            };
            if let Some(s) = step
                && s.parse::<u32>().map_or(true, |s| s == 0)
            {
                return Err(format!("bad step `{s}` in the {} field", NAMES[i]));
            }
            if range == "*" || range == "?" && (i == 2 || i == 4) {
                continue;
            }
            let value = |t: &str| -> Option<u32> {
                let lower = t.to_ascii_lowercase();
                if i == 3
                    && let Some(m) = MONTHS.iter().position(|m| *m == lower)
                {
                    return Some(m as u32 + 1);
                }
                if i == 4
                    && let Some(d) = DAYS.iter().position(|d| *d == lower)
                {
                    return Some(d as u32);
                }
                t.parse().ok()
            };
            let bounds: Vec<&str> = range.split('-').collect();
            if bounds.len() > 2 {
                return Err(format!("bad range `{range}` in the {} field", NAMES[i]));
            }
            for b in &bounds {
                match value(b) {
                    Some(v) if v >= lo && v <= hi => {}
                    Some(v) => {
                        return Err(format!(
                            "{v} is out of range {lo}-{hi} in the {} field",
                            NAMES[i]
                        ));
                    }
                    None => return Err(format!("`{b}` is not a value of the {} field", NAMES[i])),
                }
            }
        }
    }
    Ok(())
}
