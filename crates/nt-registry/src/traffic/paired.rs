//! Paired errors of two versions of a model: the matched points (forecast step with its actual)
//! where both forecast the same target at the same timestamp from the same step ahead, what a
//! Diebold–Mariano comparison of a canary or shadow against production needs.

use rusqlite::params;
use serde::{Deserialize, Serialize};

use crate::store::Registry;
use crate::types::validate_name;
use crate::{Error, Result};

/// One forecast step that two versions both forecast and whose actual is known. Several
/// forecasts of one version for the same `(target, ts, step)` (one history sent twice) count
/// once, with their mean forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedPoint {
    /// The forecast column.
    pub target: String,
    /// The step's timestamp (unix ms), that of the actual.
    pub ts: i64,
    /// Steps ahead, 1-based.
    pub step: usize,
    /// The forecasts' origin (unix ms; the earliest when several).
    pub origin_ms: i64,
    /// The actual value.
    pub actual: f64,
    /// Version `a`'s forecast.
    pub forecast_a: f64,
    /// Version `b`'s forecast.
    pub forecast_b: f64,
}

impl PairedPoint {
    /// Version `a`'s error, `forecast_a - actual`.
    pub fn error_a(&self) -> f64 {
        self.forecast_a - self.actual
    }

    /// Version `b`'s error, `forecast_b - actual`.
    pub fn error_b(&self) -> f64 {
        self.forecast_b - self.actual
    }
}

impl Registry {
    /// The matched points of `name@a` and `name@b` on the same `(target, timestamp, step)`,
    /// oldest timestamp first (within the live tables' retention). Any role counts: a canary,
    /// a shadow and production forecasting the same origins are paired. `a == b` is refused.
    pub fn paired_errors(&self, name: &str, a: u32, b: u32) -> Result<Vec<PairedPoint>> {
        validate_name(name)?;
        if a == b {
            return Err(Error::invalid(
                "versions",
                format!("compare two different versions, got {name}@{a} twice"),
            ));
        }
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "WITH pa AS (SELECT target, ts, step, MIN(origin) AS origin, AVG(forecast) AS f, \
                     AVG(actual) AS y FROM matched_points WHERE name = ?1 AND version = ?2 \
                     GROUP BY target, ts, step), \
                 pb AS (SELECT target, ts, step, AVG(forecast) AS f FROM matched_points \
                     WHERE name = ?1 AND version = ?3 GROUP BY target, ts, step) \
                 SELECT pa.target, pa.ts, pa.step, pa.origin, pa.y, pa.f, pb.f FROM pa \
                 JOIN pb ON pa.target = pb.target AND pa.ts = pb.ts AND pa.step = pb.step \
                 ORDER BY pa.ts, pa.step, pa.target",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![name, a, b], |r| {
                Ok(PairedPoint {
                    target: r.get(0)?,
                    ts: r.get(1)?,
                    step: r.get::<_, i64>(2)?.max(1) as usize,
                    origin_ms: r.get(3)?,
                    actual: r.get(4)?,
                    forecast_a: r.get(5)?,
                    forecast_b: r.get(6)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.sql(e))
    }
}
