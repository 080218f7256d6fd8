//! [`Calendar`]: when the rows of a series fall, inferred from its timestamps, and the timestamps
//! that continue it (the dates a forecast is given).
//!
//! Everything here is in UTC: a timestamp's weekday and time of day are those of the UTC instant.
//! Holidays are not modelled: a business-day or session calendar dates a forecast on every
//! weekday, holidays included.

use std::fmt;

use chrono::{DateTime, Datelike, Months, NaiveDate, Timelike};

use crate::{Error, Result};

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;
/// Milliseconds in a week.
const WEEK_MS: i64 = 7 * DAY_MS;
/// How many of the most recent gaps decide a session's open and close: the recent regime wins when
/// the session moves in UTC (a daylight-saving change of the exchange's local clock).
const RECENT_GAPS: usize = 20;
/// The share of those gaps that must agree on the open and on the close to call it a session.
const SESSION_AGREEMENT: f64 = 0.8;

/// The calendar of a series' rows, as [`Calendar::infer`] reads it from the timestamps.
///
/// | variant | when inferred | next timestamps |
/// |---|---|---|
/// | [`Regular`](Calendar::Regular) | anything else (24/7 data, weekly data, irregular data) | last + k · step |
/// | [`Rows`](Calendar::Rows) | timestamps 0, 1, 2, … (no time axis) | the next row numbers |
/// | [`BusinessDays`](Calendar::BusinessDays) | daily steps and no weekend rows | the next Mon–Fri days, time of day kept |
/// | [`Days`](Calendar::Days) | daily steps over two weeks or more and some other days of the week never seen | the next days of the week seen |
/// | [`Session`](Calendar::Session) | sub-daily steps and the same daily gap every day, or no weekend rows | inside the session, on its days |
/// | [`WeeklySession`](Calendar::WeeklySession) | sub-daily steps and the same weekly gap every week (FX: Fri 21:00 – Sun 22:00) | inside the week's session |
/// | [`Monthly`](Calendar::Monthly) | every row on the same day of the month (or every row on its month's last day) | the same day of the next months |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Calendar {
    /// Rows every `step_ms` milliseconds, day and night, every day of the week.
    Regular {
        /// The spacing, milliseconds (≥ 1).
        step_ms: i64,
    },
    /// Row numbers 0, 1, 2, …: the data had no time axis (see `TimeSeries::from_values`); the
    /// next "timestamps" are the next row numbers.
    Rows,
    /// One row a day, Monday to Friday (UTC), at the time of day of the last row.
    BusinessDays,
    /// One row a day on some days of the week only (UTC), at the time of day of the last row:
    /// a Sunday–Thursday market, or weekday data stamped at local midnight east of UTC (Monday
    /// 00:00 in Tokyo is Sunday 15:00 UTC).
    Days {
        /// The days with rows: bit 0 = Monday … bit 6 = Sunday; never empty.
        weekdays: u8,
    },
    /// Rows every `step_ms` within a daily session, from the time of day `open_ms` to the time of
    /// day `last_ms` inclusive (milliseconds after UTC midnight; `open_ms > last_ms` is a session
    /// that spans midnight). With `weekdays_only`, sessions fall on Monday to Friday only.
    Session {
        /// The spacing of rows inside the session, milliseconds (≥ 1, under a day).
        step_ms: i64,
        /// Time of day of a session's first row, ms after UTC midnight.
        open_ms: i64,
        /// Time of day of a session's last row, ms after UTC midnight.
        last_ms: i64,
        /// Sessions on Monday to Friday only.
        weekdays_only: bool,
    },
    /// Rows every `step_ms` from a time of the week to another, then a gap until the next week's
    /// open: a market that trades from Sunday 22:00 to Friday 21:00 UTC. `open_ms` and `last_ms`
    /// are the times of week (ms after Monday 00:00 UTC) of a week's first and last rows
    /// (`open_ms > last_ms` when the week's session spans Monday 00:00, as that one does).
    WeeklySession {
        /// The spacing of rows inside the session, milliseconds (≥ 1, under a day).
        step_ms: i64,
        /// Time of week of the first row, ms after Monday 00:00 UTC.
        open_ms: i64,
        /// Time of week of the last row, ms after Monday 00:00 UTC.
        last_ms: i64,
    },
    /// One row a month at the time of day of the last row: on the same day of every month, or,
    /// with `month_end`, on each month's last day.
    Monthly {
        /// Rows fall on the last day of their month (28th to 31st).
        month_end: bool,
    },
}

/// The most common spacing between consecutive timestamps (ms); the smallest of equally common
/// ones. `None` with fewer than two timestamps.
pub fn mode_step(timestamps: &[i64]) -> Option<i64> {
    let mut deltas: Vec<i64> = timestamps
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]))
        .collect();
    deltas.sort_unstable();
    mode(&deltas).map(|(value, _)| value)
}

/// The most common value of `sorted` with its count (the smallest of equally common ones).
fn mode(sorted: &[i64]) -> Option<(i64, usize)> {
    let mut best: Option<(i64, usize)> = None;
    let mut i = 0;
    while i < sorted.len() {
        let run = sorted[i..].iter().take_while(|d| **d == sorted[i]).count();
        if best.is_none_or(|(_, count)| run > count) {
            best = Some((sorted[i], run));
        }
        i += run;
    }
    best
}

/// Day of the week of `t` (unix ms, UTC): 0 = Monday … 6 = Sunday. Correct before 1970 too.
fn weekday(t: i64) -> i64 {
    // 1970-01-01 was a Thursday (3).
    (t.div_euclid(DAY_MS) + 3).rem_euclid(7)
}

/// Time of day of `t` (unix ms, UTC), ms after midnight.
fn time_of_day(t: i64) -> i64 {
    t.rem_euclid(DAY_MS)
}

fn is_weekend(t: i64) -> bool {
    weekday(t) >= 5
}

/// True when a whole Saturday and Sunday (UTC) lie between the first and last timestamps and no
/// timestamp falls on either day.
fn no_weekend_rows(ts: &[i64]) -> bool {
    let (Some(&first), Some(&last)) = (ts.first(), ts.last()) else {
        return false;
    };
    // The first Saturday 00:00 at or after `first`.
    let day_start = first.div_euclid(DAY_MS).saturating_mul(DAY_MS);
    let mut saturday = day_start.saturating_add((5 - weekday(first)).rem_euclid(7) * DAY_MS);
    if saturday < first {
        saturday = saturday.saturating_add(WEEK_MS);
    }
    saturday.saturating_add(2 * DAY_MS) <= last && !ts.iter().any(|&t| is_weekend(t))
}

/// All seven days of the week, as a [`Calendar::Days`] mask.
const ALL_DAYS: u8 = 0b111_1111;

/// The days of the week (bit 0 = Monday) that have rows, when the timestamps span at least two
/// weeks (so every day of the week passed twice) and some day never has a row; `None` otherwise.
fn days_seen(ts: &[i64]) -> Option<u8> {
    let (first, last) = (*ts.first()?, *ts.last()?);
    if last.saturating_sub(first) < 14 * DAY_MS {
        return None;
    }
    let mask = ts.iter().fold(0u8, |m, &t| m | 1 << weekday(t));
    (mask != ALL_DAYS && mask != 0).then_some(mask)
}

/// Time of week of `t` (unix ms, UTC), ms after Monday 00:00.
fn time_of_week(t: i64) -> i64 {
    // 1970-01-01 00:00 was a Thursday: three days after Monday 00:00.
    t.saturating_add(3 * DAY_MS).rem_euclid(WEEK_MS)
}

/// The gaps (spacings wider than `step`) of the timestamps, the last [`RECENT_GAPS`] of them: the
/// index of the row after each gap.
fn recent_gaps(ts: &[i64], step: i64) -> Vec<usize> {
    let gaps: Vec<usize> = (1..ts.len())
        .filter(|&i| ts[i].saturating_sub(ts[i - 1]) > step)
        .collect();
    gaps[gaps.len().saturating_sub(RECENT_GAPS)..].to_vec()
}

/// `(open, last)`: the position in its period (`phase` maps a timestamp to it) of the row after
/// each gap and of the row before it, when two or more gaps and at least 80% of them agree.
fn agreed_gap(ts: &[i64], gaps: &[usize], phase: impl Fn(i64) -> i64) -> Option<(i64, i64)> {
    if gaps.len() < 2 {
        return None;
    }
    let agreed = |mut at: Vec<i64>| -> Option<i64> {
        at.sort_unstable();
        let (value, count) = mode(&at)?;
        (count >= 2 && count as f64 >= SESSION_AGREEMENT * at.len() as f64).then_some(value)
    };
    let open = agreed(gaps.iter().map(|&i| phase(ts[i])).collect())?;
    let last = agreed(gaps.iter().map(|&i| phase(ts[i - 1])).collect())?;
    Some((open, last))
}

/// The daily session of sub-daily timestamps spaced by `step`: `(open, last)` times of day when
/// the most recent gaps come about daily (at least half of them within 36 hours of the previous
/// one) and agree on the time of day of the row after the gap (the open) and of the row before it.
fn daily_session(ts: &[i64], step: i64) -> Option<(i64, i64)> {
    let gaps = recent_gaps(ts, step);
    let daily = gaps
        .windows(2)
        .filter(|w| ts[w[1]].saturating_sub(ts[w[0]]) <= 36 * 3_600_000)
        .count();
    if 2 * daily < gaps.len().saturating_sub(1) {
        return None;
    }
    agreed_gap(ts, &gaps, time_of_day)
}

/// The weekly session of sub-daily timestamps spaced by `step` (a market open from Sunday
/// evening to Friday evening): `(open, last)` times of week when the most recent gaps agree on
/// them.
fn weekly_session(ts: &[i64], step: i64) -> Option<(i64, i64)> {
    agreed_gap(ts, &recent_gaps(ts, step), time_of_week)
}

/// `Monthly` when every timestamp has the time of day of the last one, consecutive rows are 28 to
/// 31 days apart, and the rows fall on one day of the month (≤ 28) or on their months' last days.
fn monthly(ts: &[i64]) -> Option<Calendar> {
    let tod = time_of_day(*ts.last()?);
    let spaced = ts.windows(2).all(|w| {
        let d = w[1].saturating_sub(w[0]);
        (28 * DAY_MS..=31 * DAY_MS).contains(&d)
    });
    if !spaced || ts.iter().any(|&t| time_of_day(t) != tod) {
        return None;
    }
    let dates: Vec<NaiveDate> = ts
        .iter()
        .map(|&t| DateTime::from_timestamp_millis(t).map(|d| d.date_naive()))
        .collect::<Option<_>>()?;
    let is_month_end = |d: &NaiveDate| d.succ_opt().is_some_and(|n| n.month() != d.month());
    if dates.iter().all(is_month_end) {
        return Some(Calendar::Monthly { month_end: true });
    }
    let day = dates[0].day();
    (day <= 28 && dates.iter().all(|d| d.day() == day))
        .then_some(Calendar::Monthly { month_end: false })
}

fn overflow() -> Error {
    Error::invalid(
        "timestamps",
        "the forecast's timestamps overflow the date range",
    )
}

impl Calendar {
    /// Infers the calendar of strictly increasing unix-ms timestamps (UTC).
    ///
    /// - The step is the most common spacing ([`mode_step`]), so holidays and weekends do not
    ///   change it.
    /// - "No weekend rows": a whole Saturday and Sunday (UTC) lie between the first and last
    ///   timestamps and no timestamp falls on either day.
    /// - A daily step with no weekend rows is [`BusinessDays`](Self::BusinessDays); a daily step
    ///   over at least two weeks (14 days between the first and last rows) with other days of the
    ///   week never seen is [`Days`](Self::Days) on the days seen.
    /// - A sub-daily step is a [`Session`](Self::Session) when the gaps wider than the step (the
    ///   last 20 of them) agree, at least 80% of them and two or more, on the time of day of the
    ///   row after the gap (the open) and of the row before it (the last row of a session); or, if
    ///   that fails, when there are no weekend rows (a 24-hour, weekdays-only session). Only the
    ///   most recent gaps count, so a session that moves in UTC with daylight saving takes its
    ///   latest times. One session a day: a lunch break makes the gaps disagree. The gaps must
    ///   come about daily (half of them within 36 hours of the one before).
    /// - Otherwise a sub-daily step is a [`WeeklySession`](Self::WeeklySession) when those gaps
    ///   agree on the time of the week of the rows after and before them.
    /// - Rows on one day of every month (or every month's last day), 28–31 days apart, are
    ///   [`Monthly`](Self::Monthly).
    /// - Timestamps 0, 1, 2, … (a series without a time axis) are [`Rows`](Self::Rows).
    /// - Anything else is [`Regular`](Self::Regular).
    ///
    /// Holidays are not modelled. Errors: fewer than two timestamps
    /// ([`Error::InsufficientHistory`]), or timestamps that do not strictly increase.
    pub fn infer(timestamps: &[i64]) -> Result<Calendar> {
        if timestamps.len() < 2 {
            return Err(Error::InsufficientHistory {
                needed: 2,
                got: timestamps.len(),
            });
        }
        crate::series::check_increasing(timestamps)?;
        if timestamps.iter().zip(0i64..).all(|(t, i)| *t == i) {
            return Ok(Calendar::Rows);
        }
        let step = mode_step(timestamps).unwrap_or(1).max(1);
        let weekdays_only = no_weekend_rows(timestamps);
        if step >= DAY_MS {
            if let Some(m) = monthly(timestamps) {
                return Ok(m);
            }
            if step == DAY_MS && weekdays_only {
                return Ok(Calendar::BusinessDays);
            }
            if step == DAY_MS {
                if let Some(weekdays) = days_seen(timestamps) {
                    return Ok(Calendar::Days { weekdays });
                }
            }
            return Ok(Calendar::Regular { step_ms: step });
        }
        if let Some((open_ms, last_ms)) = daily_session(timestamps, step) {
            return Ok(Calendar::Session {
                step_ms: step,
                open_ms,
                last_ms,
                weekdays_only,
            });
        }
        if weekdays_only {
            // Every hour of the weekdays, none of the weekend: a Mon 00:00 – Fri 24:00 session.
            let open_ms = time_of_day(timestamps[0]).rem_euclid(step);
            let last_ms = open_ms + (DAY_MS - 1 - open_ms) / step * step;
            return Ok(Calendar::Session {
                step_ms: step,
                open_ms,
                last_ms,
                weekdays_only,
            });
        }
        if let Some((open_ms, last_ms)) = weekly_session(timestamps, step) {
            return Ok(Calendar::WeeklySession {
                step_ms: step,
                open_ms,
                last_ms,
            });
        }
        Ok(Calendar::Regular { step_ms: step })
    }

    /// The usual spacing of rows (ms): the step, a day for business days, 30 days for months, 1
    /// for row numbers.
    pub fn step_ms(&self) -> i64 {
        match *self {
            Calendar::Regular { step_ms }
            | Calendar::Session { step_ms, .. }
            | Calendar::WeeklySession { step_ms, .. } => step_ms,
            Calendar::Rows => 1,
            Calendar::BusinessDays | Calendar::Days { .. } => DAY_MS,
            Calendar::Monthly { .. } => 30 * DAY_MS,
        }
    }

    /// The `horizon` timestamps that follow `last` on this calendar, strictly increasing.
    ///
    /// Errors with [`Error::InvalidParameter`] when they would leave the range of dates
    /// (`i64` milliseconds, or chrono's ±262 000 years).
    pub fn extend(&self, last: i64, horizon: usize) -> Result<Vec<i64>> {
        let mut out = Vec::with_capacity(horizon);
        let mut t = last;
        for _ in 0..horizon {
            t = self.next(t).ok_or_else(overflow)?;
            out.push(t);
        }
        Ok(out)
    }

    /// The first timestamp after `t` on this calendar; `None` on overflow.
    pub fn next(&self, t: i64) -> Option<i64> {
        match *self {
            Calendar::Regular { step_ms } => t.checked_add(step_ms.max(1)),
            Calendar::Rows => t.checked_add(1),
            Calendar::BusinessDays => {
                let mut c = t.checked_add(DAY_MS)?;
                while is_weekend(c) {
                    c = c.checked_add(DAY_MS)?;
                }
                Some(c)
            }
            Calendar::Days { weekdays } => {
                let mut c = t.checked_add(DAY_MS)?;
                // At most six days are skipped; an empty mask (not inferred) steps every day.
                for _ in 0..6 {
                    if weekdays & (1 << weekday(c)) != 0 || weekdays & ALL_DAYS == 0 {
                        break;
                    }
                    c = c.checked_add(DAY_MS)?;
                }
                Some(c)
            }
            Calendar::Session {
                step_ms,
                open_ms,
                weekdays_only,
                ..
            } => {
                let day_ok = |x: i64| !weekdays_only || !is_weekend(x);
                let c = t.checked_add(step_ms.max(1))?;
                if self.in_session(time_of_day(c)) && day_ok(c) {
                    return Some(c);
                }
                // The next open at or after `c`, on a session day.
                let mut open = c
                    .div_euclid(DAY_MS)
                    .checked_mul(DAY_MS)?
                    .checked_add(open_ms)?;
                if open < c {
                    open = open.checked_add(DAY_MS)?;
                }
                while !day_ok(open) {
                    open = open.checked_add(DAY_MS)?;
                }
                Some(open)
            }
            Calendar::WeeklySession {
                step_ms,
                open_ms,
                last_ms,
            } => {
                let c = t.checked_add(step_ms.max(1))?;
                let w = time_of_week(c);
                let inside = if open_ms <= last_ms {
                    (open_ms..=last_ms).contains(&w)
                } else {
                    w >= open_ms || w <= last_ms
                };
                if inside {
                    return Some(c);
                }
                // The next open at or after `c`.
                let open = c.checked_sub(w)?.checked_add(open_ms)?;
                if open < c {
                    open.checked_add(WEEK_MS)
                } else {
                    Some(open)
                }
            }
            Calendar::Monthly { month_end } => {
                let now = DateTime::from_timestamp_millis(t)?;
                let date = now.date_naive();
                let next = if month_end {
                    let first = date.with_day(1)?.checked_add_months(Months::new(2))?;
                    first.pred_opt()?
                } else {
                    date.checked_add_months(Months::new(1))?
                };
                let ms = next
                    .and_hms_opt(0, 0, 0)?
                    .and_utc()
                    .timestamp_millis()
                    .checked_add(i64::from(now.num_seconds_from_midnight()) * 1000)?
                    .checked_add(i64::from(now.timestamp_subsec_millis()))?;
                Some(ms)
            }
        }
    }

    /// True when the time of day `tod` (ms after UTC midnight) is inside a session's hours; always
    /// true for the other calendars.
    fn in_session(&self, tod: i64) -> bool {
        match *self {
            Calendar::Session {
                open_ms, last_ms, ..
            } => {
                if open_ms <= last_ms {
                    (open_ms..=last_ms).contains(&tod)
                } else {
                    tod >= open_ms || tod <= last_ms
                }
            }
            _ => true,
        }
    }
}

/// A duration in ms as its largest exact unit: `1d`, `1h`, `15m`, `30s`, `250ms`.
fn duration(ms: i64) -> String {
    for (unit, size) in [("d", DAY_MS), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] {
        if ms >= size && ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// Short day names, Monday first (bit and index 0 = Monday).
const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// The day name of a time of week (ms after Monday 00:00).
fn week_day_name(ms: i64) -> &'static str {
    DAY_NAMES[(ms.rem_euclid(WEEK_MS) / DAY_MS) as usize % 7]
}

/// The days of a [`Calendar::Days`] mask: a run such as `Sun–Thu`, or a list `Mon, Wed, Fri`.
fn day_names(mask: u8) -> String {
    let has = |d: usize| mask & (1 << (d % 7)) != 0;
    let count = (0..7).filter(|&d| has(d)).count();
    // A cyclic run starts at a day present whose previous day is absent.
    if let Some(start) = (0..7).find(|&d| has(d) && !has(d + 6)) {
        let run = (0..7).take_while(|&k| has(start + k)).count();
        if run == count {
            return format!("{}–{}", DAY_NAMES[start], DAY_NAMES[(start + run - 1) % 7]);
        }
    }
    (0..7)
        .filter(|&d| has(d))
        .map(|d| DAY_NAMES[d])
        .collect::<Vec<_>>()
        .join(", ")
}

/// A time of day in ms after midnight as `HH:MM` (`HH:MM:SS` when the seconds are not zero).
fn clock(ms: i64) -> String {
    let s = ms.rem_euclid(DAY_MS) / 1000;
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    if sec == 0 {
        format!("{h:02}:{m:02}")
    } else {
        format!("{h:02}:{m:02}:{sec:02}")
    }
}

/// How the calendar reads in the output: `every 1h`, `business days (Mon–Fri, holidays not
/// modelled)`, `session 09:30–16:00 UTC every 30m, Mon–Fri (holidays not modelled)`.
impl fmt::Display for Calendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Calendar::Regular { step_ms } => write!(f, "every {}", duration(step_ms)),
            Calendar::Rows => f.write_str("row numbers (the data has no time axis)"),
            Calendar::BusinessDays => f.write_str("business days (Mon–Fri, holidays not modelled)"),
            Calendar::Session {
                step_ms,
                open_ms,
                last_ms,
                weekdays_only,
            } => {
                let whole_day = (last_ms + step_ms).rem_euclid(DAY_MS) == open_ms;
                match (whole_day, weekdays_only) {
                    (true, true) => write!(
                        f,
                        "every {}, Mon–Fri (weekends skipped, holidays not modelled)",
                        duration(step_ms)
                    ),
                    (true, false) => write!(f, "every {}", duration(step_ms)),
                    (false, days) => write!(
                        f,
                        "session {}–{} UTC every {}{}",
                        clock(open_ms),
                        clock(last_ms),
                        duration(step_ms),
                        if days {
                            ", Mon–Fri (holidays not modelled)"
                        } else {
                            ", every day"
                        }
                    ),
                }
            }
            Calendar::Days { weekdays } => {
                write!(
                    f,
                    "days {} (UTC, holidays not modelled)",
                    day_names(weekdays)
                )
            }
            Calendar::WeeklySession {
                step_ms,
                open_ms,
                last_ms,
            } => write!(
                f,
                "weekly session {} {} – {} {} UTC every {} (holidays not modelled)",
                week_day_name(open_ms),
                clock(open_ms),
                week_day_name(last_ms),
                clock(last_ms),
                duration(step_ms)
            ),
            Calendar::Monthly { month_end: true } => f.write_str("monthly, on the last day"),
            Calendar::Monthly { month_end: false } => f.write_str("monthly, on the same day"),
        }
    }
}

#[cfg(test)]
#[path = "calendar_tests.rs"]
mod tests;
