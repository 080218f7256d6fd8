//! Writing the live tables: logging forecasts (matched against the actuals already there),
//! recording actuals (matched against the forecasts already there), running totals and
//! retention.

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension, Transaction};

use super::{
    f64s_to_bytes, i64s_to_bytes, now_ms, read_logged, terms, validate_forecast, Acc,
    ActualsOutcome, Candidate, ServedForecast, DEFAULT_FORECAST_RETENTION, FORECAST_COLUMNS,
};
use crate::store::{json_text, sql_err_path, Registry};
use crate::types::validate_name;
use crate::{Error, Result};

/// Stores the matched point of `c` at step index `h` and adds it to the running totals;
/// returns whether it was new.
fn insert_match(tx: &Transaction<'_>, c: &Candidate, h: usize, actual: f64) -> Result<bool> {
    let f = &c.forecast;
    let t = terms(f, h, actual);
    let sql = |e| sql_err_path(tx, e);
    let band = f.quantiles.iter().find_map(|lo| {
        let hi = f
            .quantiles
            .iter()
            .find(|b| lo.q < 0.5 && (b.q - (1.0 - lo.q)).abs() < 1e-9)?;
        Some((lo.values[h], hi.values[h]))
    });
    let added = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO matched_points(forecast_id, name, version, role, target, step, \
             ts, origin, forecast, actual, rw_forecast, lower, upper, nominal, pinball, \
             direction_hit) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, \
             ?15, ?16)",
        )
        .map_err(sql)?
        .execute(params![
            c.id,
            f.name,
            f.version,
            f.role.as_str(),
            f.target,
            (h + 1) as i64,
            f.step_timestamps[h],
            f.origin_ms.unwrap_or_default(),
            f.point[h],
            actual,
            f.last_value,
            band.map(|b| b.0),
            band.map(|b| b.1),
            t.interval.map(|i| i.1),
            t.pinball,
            t.hit,
        ])
        .map_err(sql)?;
    if added == 0 {
        return Ok(false);
    }
    let mut a = Acc::default();
    a.add(&t);
    tx.prepare_cached(
        "INSERT INTO live_totals(name, version, role, n, sum_abs, sum_sq, sum_rw_abs, n_interval, \
         n_covered, sum_nominal, n_pinball, sum_pinball, n_direction, n_hits) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
         ON CONFLICT(name, version, role) DO UPDATE SET n = n + ?4, sum_abs = sum_abs + ?5, \
         sum_sq = sum_sq + ?6, sum_rw_abs = sum_rw_abs + ?7, n_interval = n_interval + ?8, \
         n_covered = n_covered + ?9, sum_nominal = sum_nominal + ?10, \
         n_pinball = n_pinball + ?11, sum_pinball = sum_pinball + ?12, \
         n_direction = n_direction + ?13, n_hits = n_hits + ?14",
    )
    .map_err(sql)?
    .execute(params![
        f.name,
        f.version,
        f.role.as_str(),
        a.n as i64,
        a.sum_abs,
        a.sum_sq,
        a.sum_rw_abs,
        a.n_interval as i64,
        a.n_covered as i64,
        a.sum_nominal,
        a.n_pinball as i64,
        a.sum_pinball,
        a.n_direction as i64,
        a.n_hits as i64,
    ])
    .map_err(sql)?;
    Ok(true)
}

/// Adds `added` rows of `tbl` to `name`'s count and, above `keep`, drops the oldest rows down
/// to about nine tenths of it (so pruning runs once per tenth of the retention, not per write).
fn grow(tx: &Transaction<'_>, name: &str, tbl: &str, added: usize, keep: usize) -> Result<()> {
    let sql = |e| sql_err_path(tx, e);
    let n: i64 = tx
        .query_row(
            "INSERT INTO live_counts(name, tbl, n) VALUES (?1, ?2, ?3) \
             ON CONFLICT(name, tbl) DO UPDATE SET n = n + ?3 RETURNING n",
            params![name, tbl, added as i64],
            |r| r.get(0),
        )
        .map_err(sql)?;
    if n as usize <= keep {
        return Ok(());
    }
    let target = keep - keep / 10;
    let (order, cond) = match tbl {
        "actuals" => ("ts", "ts"),
        _ => ("id", "id"),
    };
    // The newest `target` rows stay: everything older than the target-th newest goes.
    let stmt = format!(
        "DELETE FROM {tbl} WHERE name = ?1 AND {cond} <= (SELECT {order} FROM {tbl} \
         WHERE name = ?1 ORDER BY {order} DESC LIMIT 1 OFFSET ?2)"
    );
    tx.execute(&stmt, params![name, target as i64])
        .map_err(sql)?;
    let left: i64 = tx
        .query_row(
            &format!("SELECT COUNT(*) FROM {tbl} WHERE name = ?1"),
            [name],
            |r| r.get(0),
        )
        .map_err(sql)?;
    tx.execute(
        "UPDATE live_counts SET n = ?3 WHERE name = ?1 AND tbl = ?2",
        params![name, tbl, left],
    )
    .map_err(sql)?;
    Ok(())
}

fn retention_of(tx: &Transaction<'_>, name: &str) -> Result<usize> {
    let keep: Option<i64> = tx
        .query_row(
            "SELECT keep FROM live_retention WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| sql_err_path(tx, e))?;
    Ok(keep.map_or(DEFAULT_FORECAST_RETENTION, |k| k.max(1) as usize))
}

impl Registry {
    /// Logs answered forecasts in one transaction (without bumping the generation), keeping
    /// the newest [`DEFAULT_FORECAST_RETENTION`] rows per model name. See
    /// [`log_forecasts_keeping`](Self::log_forecasts_keeping).
    pub fn log_forecasts(&self, forecasts: &[ServedForecast]) -> Result<usize> {
        self.log_forecasts_keeping(forecasts, DEFAULT_FORECAST_RETENTION)
    }

    /// Logs answered forecasts in one transaction without bumping the generation, matching
    /// each against the actuals already recorded; returns the matched points created.
    /// `retention` (≥ 1) is the most forecasts, actuals and matched points kept per model name
    /// (the oldest go first); it is remembered for [`record_actuals`](Self::record_actuals).
    /// Every forecast is checked first: one that is malformed refuses the batch, naming
    /// `forecasts[i].<field>`.
    pub fn log_forecasts_keeping(
        &self,
        forecasts: &[ServedForecast],
        retention: usize,
    ) -> Result<usize> {
        if retention == 0 {
            return Err(Error::invalid("retention", "expected at least 1 row"));
        }
        for (i, f) in forecasts.iter().enumerate() {
            validate_forecast(i, f)?;
        }
        if forecasts.is_empty() {
            return Ok(0);
        }
        let served_at = now_ms();
        self.write_quiet(|tx| {
            let sql = |e| sql_err_path(tx, e);
            let mut matched = 0;
            // name -> (forecasts, matched points) added.
            let mut per_name: HashMap<&str, (usize, usize)> = HashMap::new();
            for f in forecasts {
                let steps = &f.step_timestamps;
                tx.prepare_cached(
                    "INSERT INTO served_forecasts(name, version, role, target, served_at, origin, \
                     last_value, last_return, horizon, first_ts, last_ts, steps, point, quantiles) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                )
                .map_err(sql)?
                .execute(params![
                    f.name,
                    f.version,
                    f.role.as_str(),
                    f.target,
                    served_at,
                    f.origin_ms,
                    f.last_value,
                    f.last_return,
                    f.point.len() as i64,
                    steps.first(),
                    steps.last(),
                    i64s_to_bytes(steps),
                    f64s_to_bytes(&f.point),
                    json_text(&f.quantiles)?,
                ])
                .map_err(sql)?;
                per_name.entry(&f.name).or_default().0 += 1;
                let (Some(first), Some(last)) = (steps.first(), steps.last()) else {
                    continue;
                };
                let id = tx.last_insert_rowid();
                let found: Vec<(i64, f64)> = {
                    let mut stmt = tx
                        .prepare_cached(
                            "SELECT ts, value FROM actuals WHERE name = ?1 AND target = ?2 \
                             AND ts BETWEEN ?3 AND ?4",
                        )
                        .map_err(sql)?;
                    let rows = stmt
                        .query_map(params![f.name, f.target, first, last], |r| {
                            Ok((r.get(0)?, r.get(1)?))
                        })
                        .map_err(sql)?;
                    rows.collect::<rusqlite::Result<_>>().map_err(sql)?
                };
                if found.is_empty() {
                    continue;
                }
                let c = Candidate {
                    id,
                    forecast: f.clone(),
                };
                for (ts, value) in found {
                    if let Ok(h) = steps.binary_search(&ts) {
                        let new = insert_match(tx, &c, h, value)? as usize;
                        matched += new;
                        per_name.entry(&f.name).or_default().1 += new;
                    }
                }
            }
            for (name, (added, points)) in per_name {
                tx.execute(
                    "INSERT INTO live_retention(name, keep) VALUES (?1, ?2) \
                     ON CONFLICT(name) DO UPDATE SET keep = ?2",
                    params![name, retention as i64],
                )
                .map_err(sql)?;
                grow(tx, name, "served_forecasts", added, retention)?;
                grow(tx, name, "matched_points", points, retention)?;
            }
            Ok(matched)
        })
    }

    /// Records observed values of `target` for model `name` (without bumping the
    /// generation). Everything is checked before anything is stored: every value must be
    /// finite (`actuals[i].value`), every timestamp must be a step of at least one logged
    /// forecast of this model and target (`actuals[i].timestamp`), and a timestamp given twice
    /// must carry the same value. Then, in one transaction: new actuals are stored; one
    /// already stored with the same value counts as a duplicate (nothing is counted twice);
    /// one already stored with another value refuses the call; every new actual is matched to
    /// every logged forecast (any version and role) whose steps contain it, and the running
    /// totals are updated.
    pub fn record_actuals(
        &self,
        name: &str,
        target: &str,
        actuals: &[(i64, f64)],
    ) -> Result<ActualsOutcome> {
        validate_name(name)?;
        if target.is_empty() {
            return Err(Error::invalid("target", "expected a column name"));
        }
        let mut given: HashMap<i64, (usize, f64)> = HashMap::with_capacity(actuals.len());
        // Entries repeating an earlier one of the same call (same timestamp and value).
        let mut repeats = 0;
        for (i, &(ts, value)) in actuals.iter().enumerate() {
            if !value.is_finite() {
                return Err(Error::invalid(
                    format!("actuals[{i}].value"),
                    format!("expected a finite number, got {value}"),
                ));
            }
            if let Some(&(j, v)) = given.get(&ts) {
                if v.to_bits() != value.to_bits() {
                    return Err(Error::invalid(
                        format!("actuals[{i}].timestamp"),
                        format!("{ts} is given twice with different values ({v} at actuals[{j}], {value} here)"),
                    ));
                }
                repeats += 1;
                continue;
            }
            given.insert(ts, (i, value));
        }
        if given.is_empty() {
            return Ok(ActualsOutcome::default());
        }
        let (lo, hi) = given
            .keys()
            .fold((i64::MAX, i64::MIN), |(lo, hi), &t| (lo.min(t), hi.max(t)));
        self.write_quiet(|tx| {
            let sql = |e| sql_err_path(tx, e);
            let stored: HashMap<i64, f64> = {
                let mut stmt = tx
                    .prepare(
                        "SELECT ts, value FROM actuals WHERE name = ?1 AND target = ?2 \
                         AND ts BETWEEN ?3 AND ?4",
                    )
                    .map_err(sql)?;
                let rows = stmt
                    .query_map(params![name, target, lo, hi], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(sql)?;
                rows.collect::<rusqlite::Result<_>>().map_err(sql)?
            };
            let candidates: Vec<Candidate> = {
                let mut stmt = tx
                    .prepare(&format!(
                        "SELECT {FORECAST_COLUMNS} FROM served_forecasts WHERE name = ?1 \
                         AND target = ?2 AND last_ts >= ?3 AND first_ts <= ?4"
                    ))
                    .map_err(sql)?;
                let rows = stmt
                    .query_map(params![name, target, lo, hi], read_logged)
                    .map_err(sql)?;
                let raws: Vec<_> = rows.collect::<rusqlite::Result<_>>().map_err(sql)?;
                raws.into_iter()
                    .map(|(id, _, raw)| {
                        Ok(Candidate {
                            id,
                            forecast: raw.decode(id)?,
                        })
                    })
                    .collect::<Result<_>>()?
            };
            // ts -> every (candidate, step index) it hits.
            let mut hits: HashMap<i64, Vec<(usize, usize)>> = HashMap::new();
            for (ci, c) in candidates.iter().enumerate() {
                for (h, ts) in c.forecast.step_timestamps.iter().enumerate() {
                    if given.contains_key(ts) {
                        hits.entry(*ts).or_default().push((ci, h));
                    }
                }
            }
            let mut order: Vec<(i64, usize, f64)> =
                given.iter().map(|(&ts, &(i, v))| (ts, i, v)).collect();
            order.sort_by_key(|&(_, i, _)| i);
            let mut out = ActualsOutcome {
                duplicates: repeats,
                ..ActualsOutcome::default()
            };
            let mut new = Vec::new();
            for &(ts, i, value) in &order {
                match stored.get(&ts) {
                    Some(v) if v.to_bits() == value.to_bits() => out.duplicates += 1,
                    Some(v) => {
                        return Err(Error::invalid(
                            format!("actuals[{i}].value"),
                            format!("timestamp {ts} already has the actual {v}; a recorded actual is never changed"),
                        ))
                    }
                    None if !hits.contains_key(&ts) => {
                        return Err(Error::invalid(
                            format!("actuals[{i}].timestamp"),
                            format!("{ts} is not a step of any logged forecast of `{name}` for `{target}` (predict with `history.timestamps` first; forecasts older than the retention are gone)"),
                        ))
                    }
                    None => new.push((ts, value)),
                }
            }
            let recorded_at = now_ms();
            for &(ts, value) in &new {
                tx.prepare_cached(
                    "INSERT INTO actuals(name, target, ts, value, recorded_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5)")
.map_err(sql)?
.execute(params![name, target, ts, value, recorded_at],
                )
                .map_err(sql)?;
                for &(ci, h) in hits.get(&ts).map(Vec::as_slice).unwrap_or_default() {
                    out.matched += insert_match(tx, &candidates[ci], h, value)? as usize;
                }
            }
            out.accepted = new.len();
            let keep = retention_of(tx, name)?;
            grow(tx, name, "actuals", out.accepted, keep)?;
            grow(tx, name, "matched_points", out.matched, keep)?;
            Ok(out)
        })
    }
}
