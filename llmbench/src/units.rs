//! Parsing of the human units used in config, flags and attributes:
//! durations (`"250ms"`, `"30s"`, `"2m"`) and rates (`"20/s"`).

use std::time::Duration;

/// Parses a duration such as `500ms`, `30s`, `1.5s`, `2m`, `1h` or `250us`. A bare number is seconds; at most [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 =
        num.parse().map_err(|_| format!("invalid duration {text:?} (expected e.g. \"500ms\", \"30s\", \"2m\")"))?;
    let scale = match unit.trim() {
        "" | "s" | "sec" | "secs" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "m" | "min" | "mins" => 60.0,
        "h" => 3600.0,
        other => return Err(format!("invalid duration unit {other:?} in {text:?} (use us, ms, s, m or h)")),
    };
    let secs = value * scale;
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("invalid duration {text:?}"));
    }
    // Durations are added to instants and scaled: a bound keeps every such
    // sum representable (Duration::from_secs_f64 itself panics past ~584
    // billion years), and no benchmark waits longer than a year.
    if secs > MAX_DURATION.as_secs_f64() {
        return Err(format!(
            "duration {text:?} is too long (at most {} days, {}h)",
            MAX_DURATION.as_secs() / 86_400,
            MAX_DURATION.as_secs() / 3600
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The longest duration any setting accepts (366 days): beyond it a typo is
/// likelier than intent, and `Instant` arithmetic could overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);

/// Formats a duration in milliseconds with a precision suited to its size.
pub fn format_ms(ms: f64) -> String {
    if ms >= 10_000.0 {
        format!("{:.1} s", ms / 1e3)
    } else if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

/// USD with a precision that suits its size: `$1234`, `$12.35`, `$0.000412`.
pub fn format_usd(v: f64) -> String {
    if v == 0.0 {
        return "$0".into();
    }
    let a = v.abs();
    if a >= 1000.0 {
        format!("${v:.0}")
    } else if a >= 1.0 {
        format!("${v:.2}")
    } else {
        // Three significant digits.
        let decimals = ((-a.log10()).floor() as usize + 3).min(12);
        format!("${v:.decimals$}")
    }
}

/// Formats a system time as RFC 3339 UTC (`2026-11-28T01:46:48Z`).
pub(crate) fn rfc3339(time: std::time::SystemTime) -> String {
    let secs = time.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm), for dates after 1970.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn huge_durations_are_errors_not_panics() {
        for text in ["999999999999999999h", "1e400s", "99999999999999999999999999999999", "8785h"] {
            let err = parse_duration(text).unwrap_err();
            assert!(err.contains("too long") || err.contains("invalid"), "{text}: {err}");
        }
        assert_eq!(parse_duration("8784h"), Ok(MAX_DURATION));
    }

    #[test]
    fn ms_format() {
        assert_eq!(format_ms(2.5), "2.50 ms");
        assert_eq!(format_ms(42.25), "42.2 ms");
        assert_eq!(format_ms(512.4), "512 ms");
        assert_eq!(format_ms(12_345.0), "12.3 s");
    }

    #[test]
    fn rfc3339_dates() {
        use std::time::UNIX_EPOCH;
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(1_795_830_408)), "2026-11-28T01:46:48Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00Z");
    }
}
