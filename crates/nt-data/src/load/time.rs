//! Timestamp parsing: every accepted spelling becomes unix milliseconds, UTC.

use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// Integers whose absolute value is below this are unix **seconds**; at or above it, unix
/// **milliseconds**. 10^11 seconds is the year 5138, while 10^11 milliseconds is 1973-03-03, so the
/// rule reads every second-resolution timestamp up to year 5138 and every millisecond-resolution
/// timestamp after March 1973 correctly.
pub const UNIX_SECONDS_LIMIT: i64 = 100_000_000_000;

/// The spellings [`parse_timestamp`] accepts, for error messages.
pub const ACCEPTED_FORMATS: &str =
    "`2016-07-01 00:00:00`, `2016-07-01T00:00:00`, `1990/1/1 0:00`, \
`2004-08-19`, RFC 3339 with an offset such as `2016-07-01T00:00:00+02:00`, or unix seconds / \
milliseconds as an integer";

/// Naive (zone-less) date-time layouts, read as UTC. `%.f` also matches no fraction at all.
const NAIVE_DATETIME: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%dT%H:%M:%S%.f",
];

/// Date-time layouts with a UTC offset that RFC 3339 parsing does not cover.
const OFFSET_DATETIME: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f%z",
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%.f %z",
    "%Y-%m-%d %H:%M%:z",
    "%Y-%m-%dT%H:%M%:z",
];

/// Date-only layouts: midnight UTC of that day.
const DATE_ONLY: &[&str] = &["%Y-%m-%d", "%Y/%m/%d"];

/// Parses one timestamp cell into unix milliseconds (UTC), or `None` if no accepted spelling fits.
///
/// Accepted, after trimming surrounding whitespace:
/// - an integer (optionally signed): unix seconds when `|v| < 10^11`
///   ([`UNIX_SECONDS_LIMIT`]), else unix milliseconds;
/// - RFC 3339 / ISO 8601 with a `Z` or `±hh:mm` offset (`T` or a space between date and time),
///   converted to UTC;
/// - `YYYY-MM-DD hh:mm[:ss[.fff]]`, with `T` or a space, and the same with `/` between date
///   parts, where month, day and hour may have one digit (`1990/1/1 0:00`): read as UTC;
/// - `YYYY-MM-DD` or `YYYY/MM/DD`: midnight UTC.
///
/// Fractions of a millisecond are truncated toward the earlier millisecond.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let s = text.trim();
    if s.is_empty() {
        return None;
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        let v: i64 = s.parse().ok()?;
        return if v.unsigned_abs() < UNIX_SECONDS_LIMIT as u64 {
            v.checked_mul(1000)
        } else {
            Some(v)
        };
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp_millis());
    }
    for layout in NAIVE_DATETIME {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, layout) {
            return Some(dt.and_utc().timestamp_millis());
        }
    }
    for layout in OFFSET_DATETIME {
        if let Ok(dt) = DateTime::parse_from_str(s, layout) {
            return Some(dt.timestamp_millis());
        }
    }
    for layout in DATE_ONLY {
        if let Ok(d) = NaiveDate::parse_from_str(s, layout) {
            return Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis());
        }
    }
    None
}

/// True when `text` parses as a calendar date or date-time (not a bare integer): the test for
/// taking an unnamed-by-convention first column as the time axis.
pub(crate) fn looks_like_date(text: &str) -> bool {
    let s = text.trim();
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    let integer = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    !integer && parse_timestamp(s).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2016-07-01T00:00:00Z in unix ms (checked with `date -u -d 2016-07-01 +%s`: 1467331200).
    const JULY_1_2016: i64 = 1_467_331_200_000;

    #[test]
    fn every_documented_spelling_parses_to_utc_ms() {
        assert_eq!(parse_timestamp("2016-07-01 00:00:00"), Some(JULY_1_2016));
        assert_eq!(parse_timestamp("2016-07-01T00:00:00"), Some(JULY_1_2016));
        assert_eq!(parse_timestamp(" 2016-07-01 "), Some(JULY_1_2016));
        assert_eq!(
            parse_timestamp("2016-07-01T01:30"),
            Some(JULY_1_2016 + 5_400_000)
        );
        assert_eq!(
            parse_timestamp("2016-07-01 00:00:00.250"),
            Some(JULY_1_2016 + 250)
        );
        // One-digit month, day and hour; 1990-01-01 is 631152000 s after the epoch.
        assert_eq!(parse_timestamp("1990/1/1 0:00"), Some(631_152_000_000));
        assert_eq!(parse_timestamp("1990/01/01"), Some(631_152_000_000));
        // 2004-08-19 is 12649 days after the epoch.
        assert_eq!(parse_timestamp("2004-08-19"), Some(12_649 * 86_400_000));
        // Offsets are converted to UTC: 02:00 at +02:00 is midnight UTC.
        assert_eq!(
            parse_timestamp("2016-07-01T02:00:00+02:00"),
            Some(JULY_1_2016)
        );
        assert_eq!(parse_timestamp("2016-07-01T00:00:00Z"), Some(JULY_1_2016));
        assert_eq!(
            parse_timestamp("2016-07-01 00:00:00+00:00"),
            Some(JULY_1_2016)
        );
        assert_eq!(
            parse_timestamp("2016-06-30 19:00:00-0500"),
            Some(JULY_1_2016)
        );
    }

    #[test]
    fn integers_are_seconds_below_1e11_and_milliseconds_above() {
        assert_eq!(parse_timestamp("1467331200"), Some(JULY_1_2016));
        assert_eq!(parse_timestamp("1467331200000"), Some(JULY_1_2016));
        assert_eq!(parse_timestamp("99999999999"), Some(99_999_999_999_000));
        assert_eq!(parse_timestamp("100000000000"), Some(100_000_000_000));
        assert_eq!(parse_timestamp("-86400"), Some(-86_400_000));
        assert_eq!(parse_timestamp("99999999999999999999999"), None);
    }

    #[test]
    fn garbage_is_rejected() {
        for bad in [
            "",
            "abc",
            "2016-13-01",
            "2016-07-01 25:00:00",
            "1.5",
            "07/01/2016x",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
        assert!(looks_like_date("2004-08-19"));
        assert!(!looks_like_date("1467331200"));
        assert!(!looks_like_date("5.827"));
    }
}
