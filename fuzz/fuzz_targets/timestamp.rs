//! The timestamp parser (`nt_data::parse_timestamp`) on arbitrary UTF-8, with its documented
//! properties checked:
//! - surrounding whitespace is ignored;
//! - an integer below 10^11 in absolute value is unix seconds, else milliseconds;
//! - an accepted instant printed back as RFC 3339 (years 0000-9999) parses to the same
//!   millisecond, and one at or beyond 10^11 ms parses back from its integer form;
//! - the CSV reader puts the same instant on a row whose time cell is this text, and rejects
//!   the row (naming line 2 and the column) when the parser rejects it.
#![no_main]

use chrono::{DateTime, Datelike, SecondsFormat};
use libfuzzer_sys::fuzz_target;
use nt_data::{parse_timestamp, read_csv_from_str, Error, LoadOptions, UNIX_SECONDS_LIMIT};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = parse_timestamp(text);
    assert_eq!(
        parsed,
        parse_timestamp(text.trim()),
        "trimming changed {text:?}"
    );

    let t = text.trim();
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        let expected = t.parse::<i64>().ok().and_then(|v| {
            if v.unsigned_abs() < UNIX_SECONDS_LIMIT as u64 {
                v.checked_mul(1000)
            } else {
                Some(v)
            }
        });
        assert_eq!(parsed, expected, "integer rule broken for {text:?}");
    }

    if let Some(ms) = parsed {
        if let Some(dt) = DateTime::from_timestamp_millis(ms) {
            if (0..=9999).contains(&dt.year()) {
                let printed = dt.to_rfc3339_opts(SecondsFormat::Millis, true);
                assert_eq!(
                    parse_timestamp(&printed),
                    Some(ms),
                    "{text:?} -> {ms} ms -> {printed:?} does not parse back"
                );
            }
        }
        if ms.unsigned_abs() >= UNIX_SECONDS_LIMIT as u64 {
            assert_eq!(parse_timestamp(&ms.to_string()), Some(ms));
        }
    }

    // The same text as the time cell of a one-row CSV, when it is one cell of one line of text
    // (a control character can make the file binary, a comma or quote splits the cell).
    if t.is_empty() || t.contains([',', '"']) || text.chars().any(char::is_control) {
        return;
    }
    let csv = format!("date,x\n{text},1\n");
    match (
        read_csv_from_str(&csv, "ts.csv", &LoadOptions::default()),
        parsed,
    ) {
        (Ok(s), Some(ms)) => assert_eq!(s.timestamps(), &[ms], "the reader disagrees on {text:?}"),
        (Err(Error::Csv { line, column, .. }), None) => {
            assert_eq!((line, column.as_str()), (2, "date"), "{text:?}");
        }
        (other, parsed) => panic!("{text:?}: parser says {parsed:?}, reader says {other:?}"),
    }
});
