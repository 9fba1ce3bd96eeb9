//! `schedules:`: cron (`cron.rs`) or interval specs, overlap policies, time zones, literal input.

use super::cron;
use super::value::lower_value;
use super::{Lowerer, ms};
use crate::diagnostics::{Code, Diagnostic, Span, Spanned, did_you_mean};
use crate::ir;
use crate::syntax::ast;
use serde_json::Value as Json;
use std::ops::Range;
use std::sync::OnceLock;
use std::time::Duration;

impl Lowerer<'_> {
    pub(super) fn schedule(
        &mut self,
        s: &ast::Schedule,
        input_schema: Option<&Json>,
    ) -> Option<ir::Schedule> {
        self.check_temporal_name(&s.id, "schedule");
        let mut cron_zone = None;
        let spec = match (&s.cron, &s.every) {
            (Some(cron), None) => {
                let parsed = match cron::parse(&cron.value) {
                    Ok(parsed) => parsed,
                    Err(e) => {
                        let at = self.inside(cron, e.at);
                        self.error(
                            Diagnostic::new(
                                Code::E038,
                                at,
                                format!("invalid cron `{}`: {}", cron.value, e.message),
                            )
                            .help(e.help),
                        );
                        return None;
                    }
                };
                // The server refuses a cron zone other than `timezone_name`: the prefix's zone
                // is sent as `timezone_name`, the rest of the string as `cron_string`.
                if let Some((zone, at)) = parsed.zone {
                    cron_zone = Some((zone.to_owned(), self.inside(cron, at)));
                }
                if parsed.prefixed {
                    ir::ScheduleSpec::Cron(parsed.body.to_owned())
                } else {
                    ir::ScheduleSpec::Cron(cron.value.clone())
                }
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
        if let Some(tz) = &s.timezone {
            self.check_zone(&tz.value, tz.span, "`timezone`");
        }
        if let Some((zone, at)) = &cron_zone {
            self.check_zone(zone, *at, "the cron's `CRON_TZ=`");
            if let Some(tz) = s.timezone.as_ref().filter(|tz| tz.value != *zone) {
                self.error(
                    Diagnostic::new(
                        Code::E038,
                        *at,
                        format!(
                            "the cron's time zone `{zone}` differs from `timezone: {}`",
                            tz.value
                        ),
                    )
                    .label("the cron's zone")
                    .with_label(tz.span, "the schedule's zone")
                    .help("Temporal refuses two zones for one schedule: keep one of them"),
                );
            }
        }
        let timezone = cron_zone
            .map(|(zone, _)| zone)
            .or_else(|| s.timezone.as_ref().map(|t| t.value.clone()))
            .unwrap_or_else(|| "UTC".to_string());
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

impl Lowerer<'_> {
    /// E038 unless `zone` names a zone of the IANA time zone database, spelled exactly.
    fn check_zone(&mut self, zone: &str, span: Span, what: &str) {
        let names = zone_names();
        if names.binary_search_by(|n| n.as_str().cmp(zone)).is_ok() {
            return;
        }
        let (message, help) = if zone.is_empty() {
            (
                format!("{what} is empty"),
                "name a zone such as `Europe/Berlin`, or leave it out for UTC".to_owned(),
            )
        } else if zone == "Local" {
            (
                format!("{what} `Local` is the Temporal server's own time zone"),
                "it differs from server to server: name the zone, e.g. `Europe/Berlin` or `UTC`"
                    .to_owned(),
            )
        } else if let Some(exact) = names.iter().find(|n| n.eq_ignore_ascii_case(zone)) {
            (
                format!("unknown time zone `{zone}` in {what}"),
                format!("time zone names are case-sensitive: write `{exact}`"),
            )
        } else {
            (
                format!("unknown time zone `{zone}` in {what}"),
                did_you_mean(zone, names.iter().map(String::as_str)).unwrap_or_else(|| {
                    "write an IANA time zone name, e.g. `Europe/Berlin`, `America/New_York` or `UTC`".to_owned()
                }),
            )
        };
        self.error(
            Diagnostic::new(Code::E038, span, message)
                .label("not a time zone")
                .help(help),
        );
    }

    /// The span of `at` (a byte range of the string's value) in the source: exact when the
    /// source holds the string as written, plain or quoted without escapes; else the whole value.
    fn inside(&self, s: &Spanned<String>, at: Range<usize>) -> Span {
        let text = self.sources.text(s.span.file);
        let source = text
            .get(s.span.start as usize..s.span.end as usize)
            .unwrap_or("");
        let offset = if source == s.value {
            0
        } else if source.len() == s.value.len() + 2
            && (source.starts_with('"') || source.starts_with('\''))
            && source.get(1..source.len() - 1) == Some(s.value.as_str())
        {
            1
        } else {
            return s.span;
        };
        let start = s.span.start as usize + offset + at.start;
        let end = s.span.start as usize + offset + at.end;
        Span::new(s.span.file, start, end)
    }
}

/// The zone names of the IANA time zone database bundled with Stave (jiff's copy, so lint
/// gives the same answer on every machine), sorted. The Temporal server loads zones with Go's
/// `time.LoadLocation`: the host's database, else the copy built into the server.
fn zone_names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let db = jiff::tz::TimeZoneDatabase::bundled();
        let mut names: Vec<String> = db.available().map(|n| n.as_str().to_owned()).collect();
        names.sort();
        names
    })
}

#[cfg(test)]
mod tests {
    use crate::check::compile_source;
    use crate::ir::{Schedule, ScheduleSpec};
    use crate::project::ProjectContext;

    /// The schedule a YAML file and the same text-form file lower to, or the first error of
    /// each: `E038 LINE:COL message | help` (the position of the label, so that both forms
    /// can be compared up to the column where the string starts).
    fn both(cron: &str, timezone: Option<&str>) -> [Result<Schedule, String>; 2] {
        let yaml_tz = timezone.map_or_else(String::new, |t| format!(", timezone: {t:?}"));
        let text_tz = timezone.map_or_else(String::new, |t| format!(" timezone {t:?}"));
        let yaml = format!(
            "stave: 1\nworkflow: w\nsteps: []\nschedules:\n  - {{ id: s, cron: {cron:?}{yaml_tz} }}\n"
        );
        let text =
            format!("stave 1\n\nworkflow w {{\n  schedule s {{ cron {cron:?}{text_tz} }}\n}}\n");
        [("w.stave.yaml", yaml), ("w.stave", text)].map(|(path, source)| {
            let (sources, ir, diags) = compile_source(path, &source, &ProjectContext::default());
            match diags.iter().find(|d| d.is_error()) {
                Some(d) => {
                    let at = &source[d.span().start as usize..d.span().end as usize];
                    let _ = sources;
                    Err(format!(
                        "{} at `{at}`: {} | {}",
                        d.code,
                        d.message,
                        d.help.as_deref().unwrap_or("")
                    ))
                }
                None => Ok(ir.expect("ir").schedules[0].clone()),
            }
        })
    }

    fn accepted(cron: &str, timezone: Option<&str>) -> (ScheduleSpec, String) {
        let [yaml, text] = both(cron, timezone);
        let yaml = yaml.unwrap_or_else(|e| panic!("{cron:?}: {e}"));
        assert_eq!(Ok(&yaml), text.as_ref(), "{cron:?}: the forms differ");
        (yaml.spec, yaml.timezone)
    }

    fn refused(cron: &str, timezone: Option<&str>) -> String {
        let [yaml, text] = both(cron, timezone);
        let yaml = yaml.expect_err(cron);
        assert_eq!(Err(&yaml), text.as_ref(), "{cron:?}: the forms differ");
        yaml
    }

    #[test]
    fn the_cron_zone_becomes_the_schedules_zone() {
        let cron = |s: &str| ScheduleSpec::Cron(s.to_owned());
        assert_eq!(
            accepted("0 2 * * *", None),
            (cron("0 2 * * *"), "UTC".into())
        );
        assert_eq!(
            accepted("0 2 * * *", Some("Europe/Berlin")),
            (cron("0 2 * * *"), "Europe/Berlin".into())
        );
        assert_eq!(
            accepted("CRON_TZ=Europe/Berlin 0 2 * * *", None),
            (cron("0 2 * * *"), "Europe/Berlin".into())
        );
        assert_eq!(
            accepted(
                "TZ=America/New_York @every 1h/15m",
                Some("America/New_York")
            ),
            (cron("@every 1h/15m"), "America/New_York".into())
        );
        // An empty prefix leaves the schedule's zone in force, as on the server.
        assert_eq!(
            accepted("TZ= 0 2 * * *", Some("Asia/Tokyo")),
            (cron("0 2 * * *"), "Asia/Tokyo".into())
        );
        // A cron without a prefix is kept exactly as written (the content hash covers it).
        assert_eq!(
            accepted(" 0 2 * * * # nightly", None),
            (cron(" 0 2 * * * # nightly"), "UTC".into())
        );
        for zone in [
            "UTC",
            "Etc/UTC",
            "Etc/GMT+5",
            "GMT",
            "US/Pacific",
            "Europe/Kyiv",
        ] {
            assert_eq!(accepted("@daily", Some(zone)).1, zone);
        }
    }

    #[test]
    fn errors_point_into_the_cron_string() {
        assert_eq!(
            refused("0 25 * * *", None),
            "E038 at `25`: invalid cron `0 25 * * *`: `25` is not a valid hour (0-23) | the hour field takes 0-23; a field is `*`, a value, a range `1-5`, a step `*/15` or `1-30/5`, or a comma list of these"
        );
        assert_eq!(
            refused("0 2 * * * ?", None),
            "E038 at `?`: invalid cron `0 2 * * * ?`: `?` is not a valid year (2000-2100) | Temporal's cron has no `?`: write `*`"
        );
        assert_eq!(
            refused("@every 1h/2h", None),
            "E038 at `2h`: invalid cron `@every 1h/2h`: the phase `2h` of `@every` is not shorter than the interval `1h` | the phase is how far into each interval runs start, e.g. `@every 1h/15m`"
        );
    }

    #[test]
    fn time_zones_are_checked_against_the_tz_database() {
        assert_eq!(
            refused("0 2 * * *", Some("Europe/Berlln")),
            "E038 at `\"Europe/Berlln\"`: unknown time zone `Europe/Berlln` in `timezone` | did you mean `Europe/Berlin`?"
        );
        assert_eq!(
            refused("CRON_TZ=Europe/Berlln 0 2 * * *", None),
            "E038 at `Europe/Berlln`: unknown time zone `Europe/Berlln` in the cron's `CRON_TZ=` | did you mean `Europe/Berlin`?"
        );
        assert_eq!(
            refused("0 2 * * *", Some("europe/berlin")),
            "E038 at `\"europe/berlin\"`: unknown time zone `europe/berlin` in `timezone` | time zone names are case-sensitive: write `Europe/Berlin`"
        );
        assert_eq!(
            refused("0 2 * * *", Some("Local")),
            "E038 at `\"Local\"`: `timezone` `Local` is the Temporal server's own time zone | it differs from server to server: name the zone, e.g. `Europe/Berlin` or `UTC`"
        );
        assert_eq!(
            refused("0 2 * * *", Some("Mars/Olympus")),
            "E038 at `\"Mars/Olympus\"`: unknown time zone `Mars/Olympus` in `timezone` | write an IANA time zone name, e.g. `Europe/Berlin`, `America/New_York` or `UTC`"
        );
        assert_eq!(
            refused("CRON_TZ=Europe/Paris 0 2 * * *", Some("Europe/Berlin")),
            "E038 at `Europe/Paris`: the cron's time zone `Europe/Paris` differs from `timezone: Europe/Berlin` | Temporal refuses two zones for one schedule: keep one of them"
        );
        assert_eq!(
            accepted("CRON_TZ=Europe/Paris 0 2 * * *", Some("Europe/Paris")).1,
            "Europe/Paris"
        );
    }
}
