//! Reading live scores back: windows of matched points, the running totals, the matched points
//! themselves (for KS tests and Diebold–Mariano comparisons) and the recent forecasts (for
//! PSI on inputs and predictions).

use std::collections::BTreeMap;

use rusqlite::params;

use super::{read_logged, Acc, LiveScores, LoggedForecast, MatchedPoint, Terms, FORECAST_COLUMNS};
use crate::store::Registry;
use crate::types::validate_name;
use crate::Result;

/// The rolling windows, newest matched points by timestamp.
const WINDOWS: [(usize, &str); 2] = [(100, "last_100"), (1000, "last_1000")];

impl Registry {
    /// The live scores of `name@version`: over the newest 100 and 1,000 matched points (by
    /// timestamp), and since deployment (from the running totals, which outlive the
    /// retention), overall and per role. A version without matched points has windows with
    /// `n = 0` and no values.
    pub fn live_scores(&self, name: &str, version: u32) -> Result<LiveScores> {
        validate_name(name)?;
        let largest = WINDOWS[WINDOWS.len() - 1].0;
        let conn = self.conn();
        let rows: Vec<Terms> = {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT forecast, actual, rw_forecast, lower, upper, nominal, pinball, \
                     direction_hit FROM matched_points WHERE name = ?1 AND version = ?2 \
                     ORDER BY ts DESC, id DESC LIMIT ?3",
                )
                .map_err(|e| self.sql(e))?;
            let rows = stmt
                .query_map(params![name, version, largest as i64], |r| {
                    let (f, a, rw): (f64, f64, f64) = (r.get(0)?, r.get(1)?, r.get(2)?);
                    let (lo, hi, nominal): (Option<f64>, Option<f64>, Option<f64>) =
                        (r.get(3)?, r.get(4)?, r.get(5)?);
                    let e = a - f;
                    Ok(Terms {
                        abs: e.abs(),
                        sq: e * e,
                        rw_abs: (a - rw).abs(),
                        interval: match (lo, hi, nominal) {
                            (Some(lo), Some(hi), Some(n)) => Some((lo <= a && a <= hi, n)),
                            _ => None,
                        },
                        pinball: r.get(6)?,
                        hit: r.get(7)?,
                    })
                })
                .map_err(|e| self.sql(e))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(|e| self.sql(e))?
        };
        let mut windows = Vec::new();
        for (size, label) in WINDOWS {
            let mut acc = Acc::default();
            rows.iter().take(size).for_each(|t| acc.add(t));
            windows.push(acc.window(label));
        }
        let roles: Vec<(String, Acc)> = {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT role, n, sum_abs, sum_sq, sum_rw_abs, n_interval, n_covered, \
                     sum_nominal, n_pinball, sum_pinball, n_direction, n_hits \
                     FROM live_totals WHERE name = ?1 AND version = ?2 ORDER BY role",
                )
                .map_err(|e| self.sql(e))?;
            let rows = stmt
                .query_map(params![name, version], |r| {
                    let count = |i: usize| r.get::<_, i64>(i).map(|v| v.max(0) as u64);
                    Ok((
                        r.get(0)?,
                        Acc {
                            n: count(1)?,
                            sum_abs: r.get(2)?,
                            sum_sq: r.get(3)?,
                            sum_rw_abs: r.get(4)?,
                            n_interval: count(5)?,
                            n_covered: count(6)?,
                            sum_nominal: r.get(7)?,
                            n_pinball: count(8)?,
                            sum_pinball: r.get(9)?,
                            n_direction: count(10)?,
                            n_hits: count(11)?,
                        },
                    ))
                })
                .map_err(|e| self.sql(e))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(|e| self.sql(e))?
        };
        let mut total = Acc::default();
        let mut by_role = BTreeMap::new();
        for (role, acc) in roles {
            total.merge(&acc);
            by_role.insert(role, acc.window("since_deployment"));
        }
        windows.push(total.window("since_deployment"));
        Ok(LiveScores {
            name: name.into(),
            version,
            windows,
            by_role,
        })
    }

    /// The versions of `name` with matched points (running totals), ascending.
    pub fn scored_versions(&self, name: &str) -> Result<Vec<u32>> {
        validate_name(name)?;
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT DISTINCT version FROM live_totals WHERE name = ?1 AND n > 0 \
                 ORDER BY version",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([name], |r| r.get(0))
            .map_err(|e| self.sql(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.sql(e))
    }

    /// The newest `limit` matched points of `name@version` (newest timestamp first; all
    /// kept when `limit == 0`), any role.
    pub fn matched_points(
        &self,
        name: &str,
        version: u32,
        limit: usize,
    ) -> Result<Vec<MatchedPoint>> {
        validate_name(name)?;
        let limit = if limit == 0 { i64::MAX } else { limit as i64 };
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT ts, step, origin, role, forecast, actual, rw_forecast FROM matched_points \
                 WHERE name = ?1 AND version = ?2 ORDER BY ts DESC, id DESC LIMIT ?3",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![name, version, limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, f64>(4)?,
                    r.get::<_, f64>(5)?,
                    r.get::<_, f64>(6)?,
                ))
            })
            .map_err(|e| self.sql(e))?;
        let raws: Vec<_> = rows
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.sql(e))?;
        raws.into_iter()
            .map(
                |(ts, step, origin_ms, role, forecast, actual, rw_forecast)| {
                    Ok(MatchedPoint {
                        ts,
                        step: step.max(1) as usize,
                        origin_ms,
                        role: role.parse()?,
                        forecast,
                        actual,
                        rw_forecast,
                        residual: forecast - actual,
                    })
                },
            )
            .collect()
    }

    /// The newest `limit` logged forecasts of `name@version` (newest first; all kept when
    /// `limit == 0`), any role.
    pub fn recent_forecasts(
        &self,
        name: &str,
        version: u32,
        limit: usize,
    ) -> Result<Vec<LoggedForecast>> {
        validate_name(name)?;
        let limit = if limit == 0 { i64::MAX } else { limit as i64 };
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {FORECAST_COLUMNS} FROM served_forecasts WHERE name = ?1 AND version = ?2 \
                 ORDER BY id DESC LIMIT ?3"
            ))
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![name, version, limit], read_logged)
            .map_err(|e| self.sql(e))?;
        let raws: Vec<_> = rows
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.sql(e))?;
        raws.into_iter()
            .map(|(id, served_at_ms, raw)| {
                Ok(LoggedForecast {
                    id,
                    served_at_ms,
                    forecast: raw.decode(id)?,
                })
            })
            .collect()
    }

    /// How many forecasts, actuals and matched points of `name` are kept now (for retention
    /// checks and the server's metrics): `(forecasts, actuals, matched_points)`.
    pub fn live_counts(&self, name: &str) -> Result<(u64, u64, u64)> {
        validate_name(name)?;
        let conn = self.conn();
        let count = |tbl: &str| -> Result<u64> {
            conn.query_row(
                &format!("SELECT COUNT(*) FROM {tbl} WHERE name = ?1"),
                [name],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n.max(0) as u64)
            .map_err(|e| self.sql(e))
        };
        Ok((
            count("served_forecasts")?,
            count("actuals")?,
            count("matched_points")?,
        ))
    }
}
