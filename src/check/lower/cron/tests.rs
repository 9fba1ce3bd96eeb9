//! The cron grammar, case by case; most cases come from the Temporal server's own tests
//! (`calendar_test.go`, `spec_test.go`, `parse_duration_test.go`).

use super::{CronKind, go_duration, parse};

/// `ok calendar`, `ok every INTERVAL_NS/PHASE_NS`, with ` in ZONE` and ` sends BODY` when they
/// differ from the input; or `START..END message`.
fn describe(cron: &str) -> String {
    match parse(cron) {
        Ok(c) => {
            let mut out = match c.kind {
                CronKind::Calendar => "ok calendar".to_owned(),
                CronKind::Every { interval, phase } => format!("ok every {interval}/{phase}"),
            };
            if let Some((zone, at)) = c.zone {
                assert_eq!(&cron[at], zone);
                out.push_str(&format!(" in {zone}"));
            }
            if c.body != cron {
                out.push_str(&format!(" sends `{}`", c.body));
            }
            out
        }
        Err(e) => format!("{}..{} {}", e.at.start, e.at.end, e.message),
    }
}

fn check_all(cases: &[(&str, &str)]) {
    let mut failures = Vec::new();
    for (input, expected) in cases {
        let got = describe(input);
        if got != *expected {
            failures.push(format!(
                "{input:?}\n  expected: {expected}\n  got:      {got}"
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

const H: i64 = 3_600_000_000_000;
const M: i64 = 60_000_000_000;

#[test]
fn temporal_accepts() {
    check_all(&[
        // calendar_test.go TestParseCronString and friends
        ("5,9 */2 * * *", "ok calendar"),
        (
            "CRON_TZ=US/Pacific 55 55,57 5 2/2 * wed-thurs *  # explanation",
            "ok calendar in US/Pacific sends `55 55,57 5 2/2 * wed-thurs *  # explanation`",
        ),
        ("@monthly", "ok calendar"),
        (
            "CRON_TZ=US/Pacific 33 33 2 * * * *",
            "ok calendar in US/Pacific sends `33 33 2 * * * *`",
        ),
        (
            "CRON_TZ=US/Pacific 33 33,44 1 * * * *",
            "ok calendar in US/Pacific sends `33 33,44 1 * * * *`",
        ),
        // spec_test.go
        ("23 5,7 * * *", "ok calendar"),
        (
            "CRON_TZ=Europe/London 23 5,7 * * *",
            "ok calendar in Europe/London sends `23 5,7 * * *`",
        ),
        ("55 11,13 * * *", "ok calendar"),
        // schedule_test.go: six fields end with the year
        ("11 11/11 11 11 1 2011", "ok calendar"),
        // TestMakeMatcher / TestMakeRange, placed in their fields
        ("1,3,5-7 * * * *", "ok calendar"),
        ("2-4,8,1-5/2 * * * *", "ok calendar"),
        ("0 0 1 February/5 *", "ok calendar"),
        ("0 0 * * 0", "ok calendar"),
        ("0 0 * * 6,7", "ok calendar"),
        ("0 0 1 1 * 2020-2022,2024,2026/3", "ok calendar"),
        ("13 * * * *", "ok calendar"),
        ("0 0 1 Sept *", "ok calendar"),
        ("13,18,44 * * * *", "ok calendar"),
        ("13-18 * * * *", "ok calendar"),
        ("2-5,7-9,11 * * * *", "ok calendar"),
        ("*/3 * * * *", "ok calendar"),
        ("2/3 * * * *", "ok calendar"),
        ("2-6/3 * * * *", "ok calendar"),
        ("2-6/4,7-8 * * * *", "ok calendar"),
        ("0 0 * * mon-Friday", "ok calendar"),
        ("0 0 1 August *", "ok calendar"),
        ("0 0 * * fri", "ok calendar"),
        // every shorthand of handlePredefinedCronStrings, `@annually` and `@midnight` included
        ("@yearly", "ok calendar"),
        ("@annually", "ok calendar"),
        ("@weekly", "ok calendar"),
        ("@daily", "ok calendar"),
        ("@midnight", "ok calendar"),
        ("@hourly", "ok calendar"),
        ("@daily # nightly cleanup", "ok calendar"),
        // seven fields: seconds first, year last
        ("30 0 2 * * * *", "ok calendar"),
        ("0 0 2 * * mon-fri 2030-2040", "ok calendar"),
        // what Go's parsing lets through
        ("  0 2 * * *  ", "ok calendar sends `0 2 * * *`"),
        ("0\t2 * * *\n*", "ok calendar"),
        ("+5 * * * *", "ok calendar"),
        ("*/+2 * * * *", "ok calendar"),
        ("05 007 * * *", "ok calendar"),
        ("*/100 * * * *", "ok calendar"),
        ("0 0 * * 7", "ok calendar"),
        ("0 0 * * 0-7", "ok calendar"),
        ("0 0 * * sat-7", "ok calendar"),
        ("0 0 * * SU,mo,TUES", "ok calendar"),
        ("0 0 * JAN-dec *", "ok calendar"),
        ("0 0 * * fr\u{130}", "ok calendar"),
        ("0 0 1 1 * */4", "ok calendar"),
        // `#` starts a comment wherever it is (Quartz's `5#3` is Friday here)
        ("0 0 * * 5#3", "ok calendar"),
        // time zone prefixes
        (
            "TZ=America/New_York 0 9 * * mon-fri",
            "ok calendar in America/New_York sends `0 9 * * mon-fri`",
        ),
        ("TZ= 0 * * * *", "ok calendar sends `0 * * * *`"),
        ("CRON_TZ=UTC   @daily", "ok calendar in UTC sends `@daily`"),
        (
            "CRON_TZ=Europe/Berlin @every 1h",
            "ok every 3600000000000/0 in Europe/Berlin sends `@every 1h`",
        ),
        // @every
        ("@every 5d", &format!("ok every {}/0", 120 * H)),
        ("@every 5h/45m", &format!("ok every {}/{}", 5 * H, 45 * M)),
        ("@every 43h", &format!("ok every {}/0", 43 * H)),
        ("@every 1s", "ok every 1000000000/0"),
        ("@every 1.5h", &format!("ok every {}/0", 90 * M)),
        ("@every 1h/", &format!("ok every {H}/0")),
        ("@every 1h/0s", &format!("ok every {H}/0")),
        (
            "@every 90m # every ninety minutes",
            &format!("ok every {}/0", 90 * M),
        ),
        (
            "@every 1h # a comment longer than 200 bytes is fine after @every: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            &format!("ok every {H}/0"),
        ),
        ("@every 36500d", &format!("ok every {}/0", 36_500 * 24 * H)),
    ]);
}

#[test]
fn temporal_refuses() {
    let long_comment = format!("0 0 * * * # {}", "x".repeat(201));
    check_all(&[
        // calendar_test.go and spec_test.go
        (
            "0 1 2 3 4 1999",
            "10..14 `1999` is not a valid year (2000-2100)",
        ),
        ("13,18,44, * * * *", "9..9 `` is not a valid minute (0-59)"),
        ("133 * * * *", "0..3 `133` is not a valid minute (0-59)"),
        (
            "18-13 * * * *",
            "0..5 the minute range `18-13` ends before it starts",
        ),
        (
            "1,3,18-13 * * * *",
            "4..9 the minute range `18-13` ends before it starts",
        ),
        (
            "2/3/5 * * * *",
            "0..5 `2/3/5` has more than one `/` in the minute field",
        ),
        (
            "0 0 * * Fri-Tues",
            "8..16 the day-of-week range `Fri-Tues` ends before it starts",
        ),
        (
            "0 0 * * 1-5-7",
            "8..13 `1-5-7` has more than one `-` in the day-of-week field",
        ),
        (
            "0 0 * * monday-",
            "15..15 `` is not a valid day-of-week (0-7 (0 and 7 are Sunday) or a day name (`mon`, `fri`))",
        ),
        (
            "0 0 * * random",
            "8..14 `random` is not a valid day-of-week (0-7 (0 and 7 are Sunday) or a day name (`mon`, `fri`))",
        ),
        // ranges of every field
        ("60 * * * *", "0..2 `60` is not a valid minute (0-59)"),
        ("0 24 * * *", "2..4 `24` is not a valid hour (0-23)"),
        ("0 0 0 * *", "4..5 `0` is not a valid day-of-month (1-31)"),
        ("0 0 32 * *", "4..6 `32` is not a valid day-of-month (1-31)"),
        (
            "0 0 * 13 *",
            "6..8 `13` is not a valid month (1-12 or a month name (`jan`, `march`))",
        ),
        (
            "0 0 * 0 *",
            "6..7 `0` is not a valid month (1-12 or a month name (`jan`, `march`))",
        ),
        (
            "0 0 * * 8",
            "8..9 `8` is not a valid day-of-week (0-7 (0 and 7 are Sunday) or a day name (`mon`, `fri`))",
        ),
        (
            "0 0 * * * 2101",
            "10..14 `2101` is not a valid year (2000-2100)",
        ),
        ("60 0 0 * * * *", "0..2 `60` is not a valid second (0-59)"),
        // names: months from three letters, days from two
        (
            "0 0 * ju *",
            "6..8 `ju` is not a valid month (1-12 or a month name (`jan`, `march`))",
        ),
        (
            "0 0 * * t",
            "8..9 `t` is not a valid day-of-week (0-7 (0 and 7 are Sunday) or a day name (`mon`, `fri`))",
        ),
        (
            "0 0 * * mondays",
            "8..15 `mondays` is not a valid day-of-week (0-7 (0 and 7 are Sunday) or a day name (`mon`, `fri`))",
        ),
        ("0 0 * jan *", "ok calendar"),
        ("0 0 * * sun-sat", "ok calendar"),
        (
            "0 0 * * sat-sun",
            "8..15 the day-of-week range `sat-sun` ends before it starts",
        ),
        // Quartz and Spring forms Temporal does not have
        ("0 0 ? * *", "4..5 `?` is not a valid day-of-month (1-31)"),
        ("0 0 L * *", "4..5 `L` is not a valid day-of-month (1-31)"),
        (
            "0 0 15W * *",
            "4..7 `15W` is not a valid day-of-month (1-31)",
        ),
        ("*-5 * * * *", "0..1 `*` is not a valid minute (0-59)"),
        ("-5 * * * *", "0..0 `` is not a valid minute (0-59)"),
        // steps
        (
            "*/0 * * * *",
            "2..3 the step of the minute field must be at least 1, not 0",
        ),
        (
            "*/-1 * * * *",
            "2..4 the step of the minute field must be at least 1, not -1",
        ),
        (
            "*/ * * * *",
            "0..2 a step is missing after `/` in the minute field",
        ),
        (
            "*/x * * * *",
            "2..3 the step `x` of the minute field is not a whole number",
        ),
        (
            "*/2147483648 * * * *",
            "2..12 the step 2147483648 of the minute field is too large",
        ),
        (
            "*/99999999999999999999 * * * *",
            "2..22 the step `99999999999999999999` of the minute field is not a whole number",
        ),
        // field counts
        ("0 2 * *", "0..7 expected 5 to 7 fields, found 4"),
        ("0 0 0 2 * * * *", "0..15 expected 5 to 7 fields, found 8"),
        ("", "0..0 expected 5 to 7 fields, found 0"),
        ("# only a comment", "0..0 expected 5 to 7 fields, found 0"),
        ("@Daily", "0..6 unknown shorthand `@Daily`"),
        ("@reboot", "0..7 unknown shorthand `@reboot`"),
        ("@daily 5", "0..8 expected 5 to 7 fields, found 2"),
        // comments
        (
            &long_comment,
            "12..213 the comment is 201 bytes long; Temporal keeps at most 200",
        ),
        // time zone prefixes
        (
            "CRON_TZ=UTC",
            "0..11 a time zone prefix but no fields after it",
        ),
        // Go cuts the zone at the first space, not at a tab: the zone is `UTC\t0` here
        (
            "CRON_TZ=UTC\t0 * * * *",
            "14..21 expected 5 to 7 fields, found 4",
        ),
        (
            "CRON_TZ=UTC 0 * * *",
            "12..19 expected 5 to 7 fields, found 4",
        ),
        // @every
        ("@every", "0..6 `@every` needs a duration"),
        ("@every\t1h", "0..9 `@every` needs a duration"),
        (
            "@every  1h",
            "7..10 ` 1h` is not a duration (not a duration) in the interval of `@every`",
        ),
        (
            "@every 7",
            "7..8 `7` is not a duration (a unit is missing) in the interval of `@every`",
        ),
        (
            "@every 1x",
            "7..9 `1x` is not a duration (unknown unit `x`) in the interval of `@every`",
        ),
        (
            "@every 1h 30m",
            "7..13 `1h 30m` is not a duration (unknown unit `h `) in the interval of `@every`",
        ),
        (
            "@every 0s",
            "7..9 the interval `0s` of `@every` is under 1s",
        ),
        (
            "@every 500ms",
            "7..12 the interval `500ms` of `@every` is under 1s",
        ),
        (
            "@every -1h",
            "7..10 the interval `-1h` of `@every` is under 1s",
        ),
        (
            "@every 3h/4h",
            "10..12 the phase `4h` of `@every` is not shorter than the interval `3h`",
        ),
        (
            "@every 3h/3h",
            "10..12 the phase `3h` of `@every` is not shorter than the interval `3h`",
        ),
        (
            "@every 1h/-5m",
            "10..13 the phase `-5m` of `@every` is negative",
        ),
        (
            "@every 1h/5m/1m",
            "10..15 `5m/1m` is not a duration (unknown unit `m/`) in the phase of `@every`",
        ),
        (
            "@every 36501d",
            "7..13 the interval `36501d` of `@every` is over 100 years",
        ),
        (
            "@every 10000000h",
            "7..16 `10000000h` is not a duration (too long) in the interval of `@every`",
        ),
    ]);
}

/// `timestamp.ParseDuration` (parse_duration_test.go), in nanoseconds.
#[test]
fn durations_parse_as_temporal_parses_them() {
    let s = 1_000_000_000i64;
    for (input, expected) in [
        ("1h", Some(H)),
        ("3m30s", Some(3 * M + 30 * s)),
        ("1d", Some(24 * H)),
        ("3d", Some(3 * 24 * H)),
        ("5d6h15m", Some(5 * 24 * H + 6 * H + 15 * M)),
        ("5.25d15m", Some(5 * 24 * H + 6 * H + 15 * M)),
        (".5d", Some(12 * H)),
        ("-10d12.25h", Some(-(10 * 24 * H + 12 * H + 15 * M))),
        ("3m2h1d", Some(3 * M + 2 * H + 24 * H)),
        (
            "8m7h6d5d4h3m",
            Some(8 * M + 7 * H + 6 * 24 * H + 5 * 24 * H + 4 * H + 3 * M),
        ),
        ("7", None),
        ("", None),
        ("10000000h", None),
        // Go's time.ParseDuration
        ("0", Some(0)),
        ("-0", Some(0)),
        ("+1.5s", Some(1_500_000_000)),
        ("1.s", Some(s)),
        ("1\u{b5}s", Some(1_000)),
        ("1\u{3bc}s", Some(1_000)),
        ("100ns", Some(100)),
        (".", None),
        ("1h-5m", None),
        ("9223372036854775807ns", Some(i64::MAX)),
        ("9223372036854775808ns", None),
        ("-9223372036854775808ns", Some(i64::MIN)),
        ("1.d", Some(24 * H)),
        ("1.5.5d", None),
    ] {
        assert_eq!(go_duration(input).ok(), expected, "{input:?}");
    }
}
