//! The calendar inferred from real data: GOOG's daily closes (weekdays, with holidays) are business
//! days, ETTh1's hourly readings run around the clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use nt_core::Calendar;

/// The first column of a shared CSV, parsed as UTC dates (`YYYY-MM-DD`) or date-times.
fn first_column_ms(file: &str) -> Vec<i64> {
    let path = nt_testing::shared_data(file);
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .skip(1)
        .map(|line| {
            let cell = line.split(',').next().unwrap();
            let t = chrono::NaiveDateTime::parse_from_str(cell, "%Y-%m-%d %H:%M:%S")
                .or_else(|_| {
                    chrono::NaiveDate::parse_from_str(cell, "%Y-%m-%d")
                        .map(|d| d.and_hms_opt(0, 0, 0).unwrap())
                })
                .unwrap_or_else(|e| panic!("{}: `{cell}`: {e}", path.display()));
            t.and_utc().timestamp_millis()
        })
        .collect()
}

fn day(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .format("%a %Y-%m-%d")
        .to_string()
}

#[test]
fn goog_daily_closes_are_business_days_and_skip_the_weekend() {
    let ts = first_column_ms("GOOG.csv");
    assert_eq!(ts.len(), 2148);
    let cal = Calendar::infer(&ts).unwrap();
    assert_eq!(cal, Calendar::BusinessDays);
    // The last row is Friday 2013-03-01: the forecast starts on Monday.
    assert_eq!(day(*ts.last().unwrap()), "Fri 2013-03-01");
    let next: Vec<String> = cal
        .extend(*ts.last().unwrap(), 6)
        .unwrap()
        .into_iter()
        .map(day)
        .collect();
    assert_eq!(
        next,
        [
            "Mon 2013-03-04",
            "Tue 2013-03-05",
            "Wed 2013-03-06",
            "Thu 2013-03-07",
            "Fri 2013-03-08",
            "Mon 2013-03-11"
        ]
    );
}

#[test]
fn etth1_hourly_readings_are_regular() {
    let ts = first_column_ms("ETTh1.csv");
    let cal = Calendar::infer(&ts).unwrap();
    assert_eq!(cal, Calendar::Regular { step_ms: 3_600_000 });
    assert_eq!(cal.to_string(), "every 1h");
}
