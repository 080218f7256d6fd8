//! Unit tests of [`Calendar`] inference and extension.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

const HOUR: i64 = 3_600_000;
const MIN: i64 = 60_000;

/// Unix ms of `2024-01-15 10:30` style text (UTC).
fn at(text: &str) -> i64 {
    let fmt = if text.len() > 10 {
        "%Y-%m-%d %H:%M"
    } else {
        "%Y-%m-%d"
    };
    let t = if text.len() > 10 {
        chrono::NaiveDateTime::parse_from_str(text, fmt).unwrap()
    } else {
        chrono::NaiveDate::parse_from_str(text, fmt)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    };
    t.and_utc().timestamp_millis()
}

fn iso(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap()
        .format("%a %Y-%m-%d %H:%M")
        .to_string()
}

fn isos(ms: &[i64]) -> Vec<String> {
    ms.iter().map(|t| iso(*t)).collect()
}

/// Every `step` from `start` for `n` rows, keeping those `keep` accepts.
fn grid(start: i64, step: i64, n: usize, keep: impl Fn(i64) -> bool) -> Vec<i64> {
    (0..n as i64)
        .map(|k| start + k * step)
        .filter(|t| keep(*t))
        .collect()
}

/// Sessions `open..=last` (times of day) every `step` on weekdays, `days` days from `start`.
fn sessions(start: &str, days: i64, open: i64, last: i64, step: i64) -> Vec<i64> {
    let day0 = at(start);
    let mut out = Vec::new();
    for d in 0..days {
        let midnight = day0 + d * DAY_MS;
        if is_weekend(midnight) {
            continue;
        }
        let mut t = midnight + open;
        while t <= midnight + last {
            out.push(t);
            t += step;
        }
    }
    out
}

#[test]
fn hourly_around_the_clock_is_regular() {
    let ts = grid(at("2024-01-01"), HOUR, 24 * 30, |_| true);
    let cal = Calendar::infer(&ts).unwrap();
    assert_eq!(cal, Calendar::Regular { step_ms: HOUR });
    assert_eq!(cal.to_string(), "every 1h");
    let last = *ts.last().unwrap();
    assert_eq!(
        cal.extend(last, 2).unwrap(),
        vec![last + HOUR, last + 2 * HOUR]
    );
}

#[test]
fn hourly_without_weekends_skips_weekends() {
    // EURUSD-like: every hour of Monday to Friday, no weekend rows, four weeks.
    let ts = grid(at("2024-01-01"), HOUR, 24 * 26, |t| !is_weekend(t));
    assert_eq!(iso(*ts.last().unwrap()), "Fri 2024-01-26 23:00");
    let cal = Calendar::infer(&ts).unwrap();
    assert_eq!(
        cal,
        Calendar::Session {
            step_ms: HOUR,
            open_ms: 0,
            last_ms: 23 * HOUR,
            weekdays_only: true
        }
    );
    assert_eq!(
        cal.to_string(),
        "every 1h, Mon–Fri (weekends skipped, holidays not modelled)"
    );
    let next = cal.extend(*ts.last().unwrap(), 2).unwrap();
    assert_eq!(
        isos(&next),
        ["Mon 2024-01-29 00:00", "Mon 2024-01-29 01:00"]
    );
}

#[test]
fn daily_weekdays_are_business_days() {
    let ts = grid(at("2024-01-01"), DAY_MS, 40, |t| !is_weekend(t));
    let cal = Calendar::infer(&ts).unwrap();
    assert_eq!(cal, Calendar::BusinessDays);
    assert_eq!(
        cal.to_string(),
        "business days (Mon–Fri, holidays not modelled)"
    );
    // The last row is Friday 2024-02-09: the next are Monday and Tuesday.
    assert_eq!(iso(*ts.last().unwrap()), "Fri 2024-02-09 00:00");
    let next = cal.extend(*ts.last().unwrap(), 3).unwrap();
    assert_eq!(
        isos(&next),
        [
            "Mon 2024-02-12 00:00",
            "Tue 2024-02-13 00:00",
            "Wed 2024-02-14 00:00"
        ]
    );
}

#[test]
fn business_days_keep_the_time_of_day_and_cross_the_year() {
    // Daily closes stamped 21:00 UTC, last row Friday 2021-12-31.
    let ts = grid(at("2021-11-01 21:00"), DAY_MS, 61, |t| !is_weekend(t));
    assert_eq!(iso(*ts.last().unwrap()), "Fri 2021-12-31 21:00");
    let cal = Calendar::infer(&ts).unwrap();
    assert_eq!(cal, Calendar::BusinessDays);
    let next = cal.extend(*ts.last().unwrap(), 2).unwrap();
    assert_eq!(
        isos(&next),
        ["Mon 2022-01-03 21:00", "Tue 2022-01-04 21:00"]
    );
}

#[test]
fn daily_every_day_is_regular() {
    let ts = grid(at("2024-01-01"), DAY_MS, 40, |_| true);
    let cal = Calendar::infer(&ts).unwrap();
    assert_eq!(cal, Calendar::Regular { step_ms: DAY_MS });
    assert_eq!(cal.to_string(), "every 1d");
}

#[test]
fn a_few_weekdays_without_a_whole_weekend_are_not_called_business_days() {
    // Mon..Fri of one week: no weekend lies inside the history, so nothing says it is skipped.
    let ts = grid(at("2024-01-01"), DAY_MS, 5, |_| true);
    assert_eq!(
        Calendar::infer(&ts).unwrap(),
        Calendar::Regular { step_ms: DAY_MS }
    );
}

#[test]
fn intraday_session_is_detected_and_continued_inside_it() {
    let ts = sessions("2024-03-04", 19, 9 * HOUR + 30 * MIN, 16 * HOUR, 30 * MIN);
    assert_eq!(iso(*ts.last().unwrap()), "Fri 2024-03-22 16:00");
    let cal = Calendar::infer(&ts).unwrap();
    assert_eq!(
        cal,
        Calendar::Session {
            step_ms: 30 * MIN,
            open_ms: 9 * HOUR + 30 * MIN,
            last_ms: 16 * HOUR,
            weekdays_only: true
        }
    );
    assert_eq!(
        cal.to_string(),
        "session 09:30–16:00 UTC every 30m, Mon–Fri (holidays not modelled)"
    );
    let next = cal.extend(*ts.last().unwrap(), 15).unwrap();
    assert_eq!(iso(next[0]), "Mon 2024-03-25 09:30");
    assert_eq!(iso(next[13]), "Mon 2024-03-25 16:00");
    assert_eq!(iso(next[14]), "Tue 2024-03-26 09:30");
}

#[test]
fn a_session_with_a_holiday_and_a_missing_bar_is_still_a_session() {
    let mut ts = sessions("2024-03-04", 26, 9 * HOUR + 30 * MIN, 16 * HOUR, 30 * MIN);
    // A holiday (Wednesday 2024-03-13) and one missing bar on another day.
    let holiday = at("2024-03-13");
    ts.retain(|t| t.div_euclid(DAY_MS) * DAY_MS != holiday && *t != at("2024-03-19 12:00"));
    let cal = Calendar::infer(&ts).unwrap();
    assert!(
        matches!(cal, Calendar::Session { open_ms, last_ms, weekdays_only: true, .. }
            if open_ms == 9 * HOUR + 30 * MIN && last_ms == 16 * HOUR),
        "{cal:?}"
    );
}

#[test]
fn a_session_that_moves_with_daylight_saving_takes_its_latest_hours() {
    // New York's 09:30–16:00 is 14:30–21:00 UTC in winter and 13:30–20:00 UTC from 2024-03-10.
    let winter = sessions("2024-01-01", 69, 14 * HOUR + 30 * MIN, 21 * HOUR, 30 * MIN);
    let summer = sessions("2024-03-11", 40, 13 * HOUR + 30 * MIN, 20 * HOUR, 30 * MIN);
    let ts: Vec<i64> = winter.into_iter().chain(summer).collect();
    let cal = Calendar::infer(&ts).unwrap();
    assert_eq!(
        cal.to_string(),
        "session 13:30–20:00 UTC every 30m, Mon–Fri (holidays not modelled)"
    );
    let next = cal.extend(*ts.last().unwrap(), 1).unwrap();
    assert_eq!(isos(&next), ["Mon 2024-04-22 13:30"]);
}

#[test]
fn a_session_across_midnight_utc() {
    // Every day 22:00 .. 04:00 UTC (next day) hourly.
    let ts = grid(at("2024-01-01"), HOUR, 24 * 20, |t| {
        let h = time_of_day(t) / HOUR;
        !(5..22).contains(&h)
    });
    let cal = Calendar::infer(&ts).unwrap();
    assert_eq!(
        cal.to_string(),
        "session 22:00–04:00 UTC every 1h, every day"
    );
    let last = *ts.last().unwrap();
    assert_eq!(iso(last), "Sat 2024-01-20 23:00");
    let next = cal.extend(last, 6).unwrap();
    assert_eq!(iso(next[4]), "Sun 2024-01-21 04:00");
    assert_eq!(iso(next[5]), "Sun 2024-01-21 22:00");
}

#[test]
fn too_short_or_unsorted_histories_are_errors() {
    for ts in [&[][..], &[5][..]] {
        assert!(
            matches!(
                Calendar::infer(ts),
                Err(Error::InsufficientHistory { needed: 2, .. })
            ),
            "{ts:?}"
        );
    }
    assert!(matches!(
        Calendar::infer(&[3, 2]),
        Err(Error::UnsortedTimestamps { index: 1, .. })
    ));
    // Two rows are enough for a regular step.
    assert_eq!(
        Calendar::infer(&[0, 10]).unwrap(),
        Calendar::Regular { step_ms: 10 }
    );
}

#[test]
fn row_numbers_are_rows() {
    // Series without a time axis use 0, 1, 2, …: all on 1970-01-01, no weekend to judge by.
    let ts: Vec<i64> = (0..500).collect();
    let cal = Calendar::infer(&ts).unwrap();
    assert_eq!(cal, Calendar::Rows);
    assert_eq!(cal.to_string(), "row numbers (the data has no time axis)");
    assert_eq!(cal.extend(499, 2).unwrap(), vec![500, 501]);
    // Unit steps from elsewhere are a regular millisecond step.
    let ts: Vec<i64> = (10..500).collect();
    assert_eq!(
        Calendar::infer(&ts).unwrap(),
        Calendar::Regular { step_ms: 1 }
    );
}

#[test]
fn weekdays_before_1970_are_right() {
    // Business days of 1960 (unix ms below zero): 1960-01-01 was a Friday.
    let ts = grid(at("1959-11-02"), DAY_MS, 61, |t| !is_weekend(t));
    assert!(ts[0] < 0);
    assert_eq!(iso(*ts.last().unwrap()), "Fri 1960-01-01 00:00");
    let cal = Calendar::infer(&ts).unwrap();
    assert_eq!(cal, Calendar::BusinessDays);
    let next = cal.extend(*ts.last().unwrap(), 1).unwrap();
    assert_eq!(isos(&next), ["Mon 1960-01-04 00:00"]);
}

#[test]
fn monthly_rows_stay_on_their_day_of_the_month() {
    let starts: Vec<i64> = (1..=12).map(|m| at(&format!("2023-{m:02}-01"))).collect();
    let cal = Calendar::infer(&starts).unwrap();
    assert_eq!(cal, Calendar::Monthly { month_end: false });
    let next = cal.extend(*starts.last().unwrap(), 3).unwrap();
    assert_eq!(
        isos(&next),
        [
            "Mon 2024-01-01 00:00",
            "Thu 2024-02-01 00:00",
            "Fri 2024-03-01 00:00"
        ]
    );
    let ends = [
        "2023-09-30",
        "2023-10-31",
        "2023-11-30",
        "2023-12-31",
        "2024-01-31",
    ]
    .map(at);
    let cal = Calendar::infer(&ends).unwrap();
    assert_eq!(cal, Calendar::Monthly { month_end: true });
    let next = cal.extend(*ends.last().unwrap(), 2).unwrap();
    assert_eq!(
        isos(&next),
        ["Thu 2024-02-29 00:00", "Sun 2024-03-31 00:00"]
    );
}

#[test]
fn extending_past_the_date_range_is_an_error_not_a_wrap() {
    let cal = Calendar::Regular { step_ms: DAY_MS };
    let e = cal.extend(i64::MAX - DAY_MS, 2).unwrap_err();
    assert!(e.to_string().contains("overflow"), "{e}");
    let e = Calendar::BusinessDays
        .extend(i64::MAX - DAY_MS, 2)
        .unwrap_err();
    assert!(e.to_string().contains("overflow"), "{e}");
}

#[test]
fn durations_and_clocks_read_well() {
    assert_eq!(duration(DAY_MS), "1d");
    assert_eq!(duration(7 * DAY_MS), "7d");
    assert_eq!(duration(90 * MIN), "90m");
    assert_eq!(duration(1500), "1500ms");
    assert_eq!(clock(9 * HOUR + 30 * MIN), "09:30");
    assert_eq!(clock(9 * HOUR + 1000), "09:00:01");
}

#[test]
fn weekday_data_stamped_east_of_utc_skips_its_weekend_in_utc() {
    // Tokyo closes stamped at local midnight (+09:00): Monday 00:00 JST is Sunday 15:00 UTC.
    let local_weekdays = grid(at("2024-01-01"), DAY_MS, 40, |t| !is_weekend(t));
    let ts: Vec<i64> = local_weekdays.iter().map(|t| t - 9 * HOUR).collect();
    let cal = Calendar::infer(&ts).unwrap();
    assert_eq!(cal.to_string(), "days Sun–Thu (UTC, holidays not modelled)");
    // The last row is Friday 2024-02-09 JST = Thursday 15:00 UTC; next is Monday JST.
    assert_eq!(iso(*ts.last().unwrap()), "Thu 2024-02-08 15:00");
    let next = cal.extend(*ts.last().unwrap(), 2).unwrap();
    assert_eq!(
        isos(&next),
        ["Sun 2024-02-11 15:00", "Mon 2024-02-12 15:00"]
    );
}

#[test]
fn a_sunday_to_thursday_market_and_other_day_sets() {
    // Tadawul trades Sunday to Thursday.
    let ts = grid(at("2024-01-07"), DAY_MS, 30, |t| {
        weekday(t) != 4 && weekday(t) != 5
    });
    let cal = Calendar::infer(&ts).unwrap();
    assert_eq!(
        cal,
        Calendar::Days {
            weekdays: 0b100_1111
        }
    );
    assert_eq!(cal.to_string(), "days Sun–Thu (UTC, holidays not modelled)");
    assert_eq!(day_names(0b001_0101), "Mon, Wed, Fri");
    assert_eq!(day_names(0b110_0000), "Sat–Sun");
    // Under two weeks of data, a missing day may be chance: every day stays possible.
    let short = grid(at("2024-01-07"), DAY_MS, 12, |t| {
        weekday(t) != 4 && weekday(t) != 5
    });
    assert_eq!(
        Calendar::infer(&short).unwrap(),
        Calendar::Regular { step_ms: DAY_MS }
    );
}

#[test]
fn fx_hours_from_sunday_evening_to_friday_evening_are_a_weekly_session() {
    // EURUSD: hourly from Sunday 22:00 to Friday 21:00 UTC, four weeks from Sunday 2024-01-07.
    let ts = grid(at("2024-01-07 22:00"), HOUR, 24 * 7 * 4, |t| {
        let w = time_of_week(t);
        !(4 * DAY_MS + 21 * HOUR < w && w < 6 * DAY_MS + 22 * HOUR)
    });
    let last = *ts.last().unwrap();
    assert_eq!(iso(last), "Fri 2024-02-02 21:00");
    let cal = Calendar::infer(&ts).unwrap();
    assert_eq!(
        cal.to_string(),
        "weekly session Sun 22:00 – Fri 21:00 UTC every 1h (holidays not modelled)"
    );
    let next = cal.extend(last, 3).unwrap();
    assert_eq!(
        isos(&next),
        [
            "Sun 2024-02-04 22:00",
            "Sun 2024-02-04 23:00",
            "Mon 2024-02-05 00:00"
        ]
    );
    // Inside the week, every hour.
    let tuesday = at("2024-01-30 23:00");
    assert_eq!(
        isos(&cal.extend(tuesday, 1).unwrap()),
        ["Wed 2024-01-31 00:00"]
    );
}
