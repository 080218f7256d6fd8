//! Axis ticks: time ticks at round times (seconds … years, picked by the span) labelled with the
//! year, day and time only where they change; value labels that stay short at any magnitude.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};

const SEC: i64 = 1000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

/// A spacing of time ticks.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Unit {
    /// A fixed number of ms, ticks at its multiples since UTC midnight 1970-01-01.
    Fixed(i64),
    /// Every n-th Monday 00:00 UTC.
    Weeks(i64),
    /// The first of every n-th month (January, then every n months).
    Months(u32),
    /// January 1st of every n-th year.
    Years(i32),
}

const UNITS: [Unit; 38] = [
    Unit::Fixed(1),
    Unit::Fixed(2),
    Unit::Fixed(5),
    Unit::Fixed(10),
    Unit::Fixed(20),
    Unit::Fixed(50),
    Unit::Fixed(100),
    Unit::Fixed(200),
    Unit::Fixed(500),
    Unit::Fixed(SEC),
    Unit::Fixed(2 * SEC),
    Unit::Fixed(5 * SEC),
    Unit::Fixed(15 * SEC),
    Unit::Fixed(30 * SEC),
    Unit::Fixed(MIN),
    Unit::Fixed(5 * MIN),
    Unit::Fixed(15 * MIN),
    Unit::Fixed(30 * MIN),
    Unit::Fixed(HOUR),
    Unit::Fixed(2 * HOUR),
    Unit::Fixed(3 * HOUR),
    Unit::Fixed(6 * HOUR),
    Unit::Fixed(12 * HOUR),
    Unit::Fixed(DAY),
    Unit::Fixed(2 * DAY),
    Unit::Weeks(1),
    Unit::Weeks(2),
    Unit::Months(1),
    Unit::Months(2),
    Unit::Months(3),
    Unit::Months(6),
    Unit::Years(1),
    Unit::Years(2),
    Unit::Years(5),
    Unit::Years(10),
    Unit::Years(25),
    Unit::Years(50),
    Unit::Years(100),
];

/// Time ticks in `[x0, x1]` (unix ms) at round times, at most `max` of them (at least one unit is
/// always tried; a span past every unit gets the 100-year ticks), with their labels.
pub(crate) fn time_ticks(x0: i64, x1: i64, max: usize) -> Vec<(i64, String)> {
    let (x0, x1) = (x0.min(x1), x0.max(x1));
    let max = max.max(2);
    let mut chosen = None;
    for unit in UNITS {
        let at = ticks_of(unit, x0, x1, max + 1);
        if at.len() <= max {
            chosen = Some((unit, at));
            break;
        }
    }
    let Some((unit, at)) = chosen else {
        return Vec::new();
    };
    let labels = labels(unit, &at);
    at.into_iter().zip(labels).collect()
}

/// The labels of ticks of `unit` at the times `at`, each naming what changed since the one before.
fn labels(unit: Unit, at: &[i64]) -> Vec<String> {
    let mut prev: Option<DateTime<Utc>> = None;
    at.iter()
        .map(|&t| match DateTime::from_timestamp_millis(t) {
            Some(d) => {
                let l = label(unit, d, prev);
                prev = Some(d);
                l
            }
            None => t.to_string(),
        })
        .collect()
}

/// Ticks for an axis of positions `0..axis.len()` whose times are `axis` (strictly increasing:
/// trading days or session bars drawn without their gaps), within positions `[i0, i1]`: at the
/// first position at or after each round time (seconds … years, picked so that at most `max`
/// distinct positions remain), labelled with that position's time.
pub(crate) fn trading_ticks(axis: &[i64], i0: i64, i1: i64, max: usize) -> Vec<(i64, String)> {
    let (i0, i1) = (i0.min(i1).max(0), i0.max(i1));
    let (Ok(lo), Ok(hi)) = (usize::try_from(i0), usize::try_from(i1)) else {
        return Vec::new();
    };
    let (Some(&t0), Some(&t1)) = (axis.get(lo), axis.get(hi.min(axis.len().saturating_sub(1))))
    else {
        return Vec::new();
    };
    let max = max.max(2);
    for unit in UNITS {
        let round = ticks_of(unit, t0, t1, 4 * max + 4);
        if round.len() > 4 * max + 3 {
            continue;
        }
        let mut at: Vec<usize> = round
            .iter()
            .map(|t| axis.partition_point(|a| a < t))
            .filter(|&i| i >= lo && i <= hi && i < axis.len())
            .collect();
        at.dedup();
        if at.len() <= max {
            let times: Vec<i64> = at.iter().map(|&i| axis[i]).collect();
            let labels = labels(unit, &times);
            return at.into_iter().map(|i| i as i64).zip(labels).collect();
        }
    }
    Vec::new()
}

/// Ticks for row numbers in `[x0, x1]`: multiples of 1, 2 or 5 × 10^k, at most `max` of them,
/// labelled as plain numbers.
pub(crate) fn row_ticks(x0: i64, x1: i64, max: usize) -> Vec<(i64, String)> {
    let (x0, x1) = (x0.min(x1), x0.max(x1));
    let max = max.max(2);
    let mut scale: i64 = 1;
    loop {
        for m in [1, 2, 5] {
            let step = scale.saturating_mul(m);
            let at = stepped(step, 0, x0, x1, max + 1);
            if at.len() <= max || step == i64::MAX {
                return at.into_iter().map(|t| (t, t.to_string())).collect();
            }
        }
        scale = scale.saturating_mul(10);
    }
}

/// Ticks of `unit` in `[x0, x1]`, stopping once there are more than `limit`.
fn ticks_of(unit: Unit, x0: i64, x1: i64, limit: usize) -> Vec<i64> {
    let mut out = Vec::new();
    match unit {
        Unit::Fixed(step) => return stepped(step, 0, x0, x1, limit),
        // Mondays: 1970-01-05 was the first Monday after the epoch.
        Unit::Weeks(n) => return stepped(n * 7 * DAY, 4 * DAY, x0, x1, limit),
        Unit::Months(n) => {
            let Some(start) = DateTime::from_timestamp_millis(x0) else {
                return out;
            };
            let (mut y, mut m) = (start.year(), start.month0());
            m -= m % n;
            while out.len() <= limit {
                let Some(t) = first_of_month(y, m) else { break };
                if t > x1 {
                    break;
                }
                if t >= x0 {
                    out.push(t);
                }
                m += n;
                if m >= 12 {
                    m -= 12;
                    y += 1;
                }
            }
        }
        Unit::Years(n) => {
            let Some(start) = DateTime::from_timestamp_millis(x0) else {
                return out;
            };
            let mut y = start.year() - start.year().rem_euclid(n);
            while out.len() <= limit {
                let Some(t) = first_of_month(y, 0) else { break };
                if t > x1 {
                    break;
                }
                if t >= x0 {
                    out.push(t);
                }
                y += n;
            }
        }
    }
    out
}

/// The times `offset + k * step` in `[x0, x1]`, stopping once there are more than `limit`.
fn stepped(step: i64, offset: i64, x0: i64, x1: i64, limit: usize) -> Vec<i64> {
    let mut out = Vec::new();
    let k = x0.saturating_sub(offset).div_euclid(step);
    let mut t = offset.saturating_add(k.saturating_mul(step));
    if t < x0 {
        t = t.saturating_add(step);
    }
    while t >= x0 && t <= x1 && out.len() <= limit {
        out.push(t);
        match t.checked_add(step) {
            Some(n) => t = n,
            None => break,
        }
    }
    out
}

/// Unix ms of the first day of month `m0` (0-based) of `year`, 00:00 UTC.
fn first_of_month(year: i32, m0: u32) -> Option<i64> {
    let d = NaiveDate::from_ymd_opt(year, m0 + 1, 1)?.and_hms_opt(0, 0, 0)?;
    Some(Utc.from_utc_datetime(&d).timestamp_millis())
}

/// The label of a tick at `d`: the unit's own part (time, day, month or year), with the coarser
/// parts added where they differ from the previous tick `prev` (all of them on the first tick).
fn label(unit: Unit, d: DateTime<Utc>, prev: Option<DateTime<Utc>>) -> String {
    let new_year = prev.is_none_or(|p| p.year() != d.year());
    let new_day = prev.is_none_or(|p| p.date_naive() != d.date_naive());
    let sub_day = |fmt: &str| {
        let time = d.format(fmt).to_string();
        let midnight = d.timestamp_millis().rem_euclid(DAY) == 0;
        match (new_year, new_day, midnight) {
            (true, _, true) => d.format("%b %-d %Y").to_string(),
            (true, _, false) => format!("{} {time}", d.format("%b %-d %Y")),
            (false, true, true) => d.format("%b %-d").to_string(),
            (false, true, false) => format!("{} {time}", d.format("%b %-d")),
            (false, false, _) => time,
        }
    };
    match unit {
        Unit::Fixed(step) if step < SEC => sub_day("%H:%M:%S%.3f"),
        Unit::Fixed(step) if step < MIN => sub_day("%H:%M:%S"),
        Unit::Fixed(step) if step < DAY => sub_day("%H:%M"),
        Unit::Fixed(_) | Unit::Weeks(_) => {
            if new_year {
                d.format("%b %-d %Y").to_string()
            } else {
                d.format("%b %-d").to_string()
            }
        }
        Unit::Months(_) => {
            if new_year {
                d.format("%b %Y").to_string()
            } else {
                d.format("%b").to_string()
            }
        }
        Unit::Years(_) => d.format("%Y").to_string(),
    }
}

/// A value-axis label for `v` when ticks are about `step` apart: fixed decimals enough to tell
/// neighbouring ticks apart, or scientific notation for magnitudes of a million and more (or
/// under 1e-4), so labels stay short.
pub(crate) fn value_label(v: f64, step: f64) -> String {
    let step = step.abs();
    let big = v.abs().max(step);
    if v == 0.0 {
        return "0".into();
    }
    if !(1e-4..1e6).contains(&big) {
        let digits = if step > 0.0 && big > 0.0 {
            ((big / step).log10().ceil() as i64).clamp(1, 6) as usize
        } else {
            3
        };
        return format!("{v:.digits$e}");
    }
    let decimals = if step > 0.0 {
        (-step.log10().floor()).clamp(0.0, 6.0) as usize
    } else {
        2
    };
    format!("{v:.decimals$}")
}
