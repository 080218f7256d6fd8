//! Calendar features from UTC timestamps: hour of day, day of week, month.

use chrono::{DateTime, Datelike, Timelike};

fn map(timestamps: &[i64], f: impl Fn(DateTime<chrono::Utc>) -> u32) -> Vec<f64> {
    timestamps
        .iter()
        .map(|&ms| DateTime::from_timestamp_millis(ms).map_or(f64::NAN, |dt| f64::from(f(dt))))
        .collect()
}

/// Hour of day in UTC, 0–23. No warm-up; NaN only for a timestamp outside chrono's range
/// (beyond ±262,000 years).
pub fn hour_of_day(timestamps: &[i64]) -> Vec<f64> {
    map(timestamps, |dt| dt.hour())
}

/// Day of week in UTC, Monday = 0 … Sunday = 6 (pandas `dayofweek`). No warm-up.
pub fn day_of_week(timestamps: &[i64]) -> Vec<f64> {
    map(timestamps, |dt| dt.weekday().num_days_from_monday())
}

/// Month in UTC, 1–12. No warm-up.
pub fn month(timestamps: &[i64]) -> Vec<f64> {
    map(timestamps, |dt| dt.month())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        // 2016-07-01 was a Friday; 23:00 UTC that day; 2004-08-19 (GOOG's first row) a Thursday.
        let fri_2300 = 1_467_331_200_000 + 23 * 3_600_000;
        let thu = 12_649 * 86_400_000;
        assert_eq!(hour_of_day(&[fri_2300, thu]), vec![23.0, 0.0]);
        assert_eq!(day_of_week(&[fri_2300, thu]), vec![4.0, 3.0]);
        assert_eq!(month(&[fri_2300, thu]), vec![7.0, 8.0]);
        // The epoch, 1970-01-01, was a Thursday.
        assert_eq!(day_of_week(&[0]), vec![3.0]);
        assert!(hour_of_day(&[i64::MAX]).iter().all(|v| v.is_nan()));
    }
}
