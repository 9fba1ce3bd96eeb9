//! Durations as written in workflow files: `500ms`, `30s`, `1h30m`, `1d`, ISO 8601 `PT30S`.

use std::time::Duration;

/// The longest duration Stave accepts anywhere (timeouts, sleeps, retry intervals): 100 years.
/// Longer ones are almost always a typo, and past it the arithmetic of the runtime and of
/// Temporal's protobuf durations would have to saturate silently.
pub const MAX: Duration = Duration::from_millis(MAX_MS);
const MAX_MS: u64 = 100 * 365 * 86_400_000;

fn too_long(s: &str) -> String {
    format!("`{s}` is too long: durations are at most 100 years (`36500d`)")
}

/// A duration from a number of seconds (an expression's value at run time), within [`MAX`].
pub fn from_secs(secs: f64) -> Result<Duration, String> {
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!(
            "{secs} is not a duration: use a non-negative number of seconds"
        ));
    }
    let ms = (secs * 1000.0).round();
    if ms > MAX_MS as f64 {
        return Err(too_long(&format!("{secs}s")));
    }
    Ok(Duration::from_millis(ms as u64))
}

/// Reads a duration, or says what is wrong with it.
pub fn parse(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if let Some(iso) = s.strip_prefix('P').or_else(|| s.strip_prefix('p')) {
        let millis = parse_iso(iso).ok_or_else(|| format!("`{s}` is not an ISO 8601 duration"))?;
        return within_max(millis, s);
    }
    // Summed in f64: every part is checked finite, and the total is checked against MAX
    // before it becomes an integer, so no input overflows.
    let mut total = 0f64;
    let mut rest = s;
    let mut last_rank = usize::MAX;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("`{s}` should start with a number, as in `30s`"));
        }
        let number: f64 = rest[..digits]
            .parse()
            .map_err(|_| format!("`{}` is not a number", &rest[..digits]))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = rest[..unit_len].trim();
        rest = &rest[unit_len..];
        let (rank, millis) = match unit {
            "d" => (0, 86_400_000.0),
            "h" => (1, 3_600_000.0),
            "m" => (2, 60_000.0),
            "s" => (3, 1_000.0),
            "ms" => (4, 1.0),
            "" => return Err(format!("`{s}` needs a unit: ms, s, m, h or d")),
            other => {
                return Err(format!(
                    "unknown unit `{other}` in `{s}`: use ms, s, m, h or d"
                ));
            }
        };
        if last_rank != usize::MAX && rank <= last_rank {
            return Err(format!("units in `{s}` must go from largest to smallest"));
        }
        last_rank = rank;
        total += number * millis;
    }
    within_max(total, s)
}

fn within_max(millis: f64, s: &str) -> Result<Duration, String> {
    let millis = millis.round();
    if !millis.is_finite() || millis > MAX_MS as f64 {
        return Err(too_long(s));
    }
    Ok(Duration::from_millis(millis as u64))
}

/// The milliseconds of an ISO 8601 duration body (after `P`); None when malformed.
fn parse_iso(s: &str) -> Option<f64> {
    let mut millis = 0f64;
    let mut in_time = false;
    let mut number = String::new();
    let mut any = false;
    for c in s.chars() {
        match c {
            'T' | 't' if !in_time && number.is_empty() => in_time = true,
            '0'..='9' | '.' | ',' => number.push(if c == ',' { '.' } else { c }),
            _ => {
                let n: f64 = number.parse().ok()?;
                number.clear();
                let unit = match (in_time, c.to_ascii_uppercase()) {
                    (false, 'W') => 7.0 * 86_400_000.0,
                    (false, 'D') => 86_400_000.0,
                    (true, 'H') => 3_600_000.0,
                    (true, 'M') => 60_000.0,
                    (true, 'S') => 1_000.0,
                    _ => return None,
                };
                millis += n * unit;
                any = true;
            }
        }
    }
    (any && number.is_empty()).then_some(millis)
}

/// The shortest form `parse` reads back to the same duration (`1h30m`, `500ms`).
pub fn format(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    if ms > 0 {
        out.push_str(&format!("{ms}ms"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str, ms: u64) {
        assert_eq!(parse(s), Ok(Duration::from_millis(ms)), "{s}");
        assert_eq!(
            parse(&format(Duration::from_millis(ms))),
            Ok(Duration::from_millis(ms))
        );
    }

    #[test]
    fn reads_durations() {
        ok("500ms", 500);
        ok("30s", 30_000);
        ok("5m", 300_000);
        ok("2h", 7_200_000);
        ok("1d", 86_400_000);
        ok("1h30m", 5_400_000);
        ok("1.5s", 1_500);
        ok("PT30S", 30_000);
        ok("P1DT2H", 93_600_000);
        ok("PT0.5S", 500);
    }

    #[test]
    fn rejects_bad_durations() {
        for bad in [
            "",
            "30",
            "30 seconds",
            "s",
            "5x",
            "30s1h",
            "PT",
            "P1H",
            "1h1h",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_shortest() {
        assert_eq!(format(Duration::from_millis(5_400_000)), "1h30m");
        assert_eq!(format(Duration::from_millis(1_500)), "1s500ms");
    }

    #[test]
    fn huge_durations_are_errors_not_overflows() {
        for huge in [
            "36501d",
            "99999999999999999999999999999d99999999999999999999999999999h",
            "P99999999999999999999999999999999999999W",
            &format!("{}d", "9".repeat(400)),
        ] {
            let err = parse(huge).unwrap_err();
            assert!(err.contains("at most 100 years"), "{huge}: {err}");
        }
        assert_eq!(parse("36500d").unwrap(), MAX);
        assert!(from_secs(1e300).is_err());
        assert!(from_secs(f64::NAN).is_err());
        assert!(from_secs(-1.0).is_err());
        assert_eq!(from_secs(1.5).unwrap(), Duration::from_millis(1500));
    }
}
