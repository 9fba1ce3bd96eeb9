//! RFC 3339 timestamps ⇄ milliseconds since the Unix epoch, without a clock or a time-zone database.
//!
//! One calendar for the whole runtime: the interpreter's `now()`, `workflow.start_time` and
//! `sleep until`, and the client's rendering of server timestamps. Hand-written rather than
//! a date crate because the interpreter's parsing is part of its semantics (what `sleep
//! until` accepts must not change with a dependency update) and must stay a pure function.

/// Milliseconds since 1970-01-01T00:00:00Z.
pub type Millis = i64;

/// `2024-05-01T12:00:00.000Z` (UTC, millisecond precision: the form `now()` returns).
pub fn format_rfc3339(ms: Millis) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (h, min, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z")
}

/// A server timestamp (`google.protobuf.Timestamp`) in the form of [`format_rfc3339`]:
/// truncated to milliseconds.
pub fn format_timestamp(ts: &prost_wkt_types::Timestamp) -> String {
    format_rfc3339(
        ts.seconds
            .saturating_mul(1000)
            .saturating_add(i64::from(ts.nanos / 1_000_000)),
    )
}

/// Reads an RFC 3339 timestamp (`2024-05-01T12:00:00Z`, fractional seconds and `±hh:mm`
/// offsets allowed; `t`/`z` and a space separator too).
pub fn parse_rfc3339(text: &str) -> Result<Millis, String> {
    let bad = || format!("`{text}` is not an RFC 3339 timestamp such as `2024-05-01T12:00:00Z`");
    let s = text.trim().as_bytes();
    if s.len() < 20 {
        return Err(bad());
    }
    let num = |range: std::ops::Range<usize>| -> Result<i64, String> {
        let part = s.get(range).ok_or_else(bad)?;
        if part.iter().all(u8::is_ascii_digit) {
            Ok(part
                .iter()
                .fold(0i64, |acc, b| acc * 10 + i64::from(b - b'0')))
        } else {
            Err(bad())
        }
    };
    let sep_ok = s[4] == b'-'
        && s[7] == b'-'
        && matches!(s[10], b'T' | b't' | b' ')
        && s[13] == b':'
        && s[16] == b':';
    if !sep_ok {
        return Err(bad());
    }
    let (y, mo, d, h, mi, sec) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60
    {
        return Err(bad());
    }
    let mut i = 19;
    let mut frac_ms = 0i64;
    if s[i] == b'.' {
        i += 1;
        let start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err(bad());
        }
        let digits = &s[start..i.min(start + 3)];
        frac_ms = digits
            .iter()
            .fold(0i64, |acc, b| acc * 10 + i64::from(b - b'0'))
            * 10i64.pow(3 - digits.len() as u32);
    }
    let offset_min = match s.get(i) {
        Some(b'Z' | b'z') if i + 1 == s.len() => 0,
        Some(sign @ (b'+' | b'-')) if i + 6 == s.len() && s[i + 3] == b':' => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            let total = oh * 60 + om;
            if *sign == b'-' { -total } else { total }
        }
        _ => return Err(bad()),
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    Ok(secs * 1000 + frac_ms)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's `days_from_civil`: days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        for ms in [0, 951_782_400_123, 1_714_564_800_000, -86_400_000] {
            assert_eq!(parse_rfc3339(&format_rfc3339(ms)), Ok(ms));
        }
        assert_eq!(
            format_rfc3339(1_714_564_800_000),
            "2024-05-01T12:00:00.000Z"
        );
    }

    #[test]
    fn parses_offsets_and_fractions() {
        assert_eq!(
            parse_rfc3339("2024-05-01T14:00:00.5+02:00"),
            Ok(1_714_564_800_500)
        );
        assert_eq!(parse_rfc3339("2024-02-29T00:00:00Z"), Ok(1_709_164_800_000));
        assert!(parse_rfc3339("2023-02-29T00:00:00Z").is_err());
        assert!(parse_rfc3339("tomorrow").is_err());
        assert!(parse_rfc3339("2024-05-01T12:00:00").is_err());
    }

    #[test]
    fn leap_days_and_dates_before_1970() {
        assert_eq!(format_rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(
            format_rfc3339(1_709_164_800_000),
            "2024-02-29T00:00:00.000Z"
        );
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            format_rfc3339(-2_203_891_200_000),
            "1900-03-01T00:00:00.000Z"
        );
        assert_eq!(
            parse_rfc3339("1900-03-01T00:00:00Z"),
            Ok(-2_203_891_200_000)
        );
        assert!(parse_rfc3339("1900-02-29T00:00:00Z").is_err());
    }

    #[test]
    fn server_timestamps_render_with_milliseconds() {
        let ts = |seconds, nanos| prost_wkt_types::Timestamp { seconds, nanos };
        assert_eq!(
            format_timestamp(&ts(1_700_000_000, 123_456_789)),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(format_timestamp(&ts(0, 0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_timestamp(&ts(951_782_400, 0)),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(format_timestamp(&ts(-1, 0)), "1969-12-31T23:59:59.000Z");
    }
}
