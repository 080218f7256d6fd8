//! Live scoring: the forecasts a server answered, the actuals observed later, the points where
//! the two meet, and per-version running totals.
//!
//! Tables (schema 4):
//!
//! | table | one row per | kept |
//! |---|---|---|
//! | `served_forecasts` | answered forecast (model, version, role, target, origin, steps, point, bands) | the newest `retention` per model name |
//! | `actuals` | observed value `(name, target, ts)` | the newest `retention` per model name |
//! | `matched_points` | (forecast, step) whose step timestamp has an actual | the newest `retention` per model name |
//! | `live_totals` | (name, version, role): sums since deployment | always |
//!
//! None of these writes bump the registry's generation (servers would reload their models).
//! Matching is symmetric: an actual is matched to the forecasts already logged when it is
//! recorded, and a forecast logged after its actual is matched when it is logged.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use nt_core::QuantileBand;
use serde::{Deserialize, Serialize};

use crate::store::parse_json;
use crate::types::validate_name;
use crate::{Error, Result};

/// The tables this module owns, created by schema migration 4.
pub(crate) const TABLES: &str = "
CREATE TABLE IF NOT EXISTS served_forecasts(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    role TEXT NOT NULL,
    target TEXT NOT NULL,
    served_at INTEGER NOT NULL,
    origin INTEGER,
    last_value REAL NOT NULL,
    last_return REAL,
    horizon INTEGER NOT NULL,
    first_ts INTEGER,
    last_ts INTEGER,
    steps BLOB NOT NULL,
    point BLOB NOT NULL,
    quantiles TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS served_by_name ON served_forecasts(name, id);
CREATE INDEX IF NOT EXISTS served_by_version ON served_forecasts(name, version, id);
CREATE INDEX IF NOT EXISTS served_by_steps ON served_forecasts(name, target, last_ts)
    WHERE last_ts IS NOT NULL;
CREATE TABLE IF NOT EXISTS actuals(
    name TEXT NOT NULL,
    target TEXT NOT NULL,
    ts INTEGER NOT NULL,
    value REAL NOT NULL,
    recorded_at INTEGER NOT NULL,
    PRIMARY KEY(name, target, ts)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS matched_points(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    forecast_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    role TEXT NOT NULL,
    target TEXT NOT NULL,
    step INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    origin INTEGER NOT NULL,
    forecast REAL NOT NULL,
    actual REAL NOT NULL,
    rw_forecast REAL NOT NULL,
    lower REAL,
    upper REAL,
    nominal REAL,
    pinball REAL,
    direction_hit INTEGER,
    UNIQUE(forecast_id, step));
CREATE INDEX IF NOT EXISTS matched_by_version ON matched_points(name, version, ts, id);
CREATE INDEX IF NOT EXISTS matched_by_name ON matched_points(name, id);
CREATE TABLE IF NOT EXISTS live_totals(
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    role TEXT NOT NULL,
    n INTEGER NOT NULL,
    sum_abs REAL NOT NULL,
    sum_sq REAL NOT NULL,
    sum_rw_abs REAL NOT NULL,
    n_interval INTEGER NOT NULL,
    n_covered INTEGER NOT NULL,
    sum_nominal REAL NOT NULL,
    n_pinball INTEGER NOT NULL,
    sum_pinball REAL NOT NULL,
    n_direction INTEGER NOT NULL,
    n_hits INTEGER NOT NULL,
    PRIMARY KEY(name, version, role)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS live_counts(
    name TEXT NOT NULL,
    tbl TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY(name, tbl)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS live_retention(name TEXT PRIMARY KEY, keep INTEGER NOT NULL);
";

/// Rows of each live table kept per model name when no retention was given.
pub const DEFAULT_FORECAST_RETENTION: usize = 100_000;

/// Why a forecast was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServedRole {
    /// The production version answered.
    Production,
    /// A canary version answered its share of the traffic.
    Canary,
    /// A shadow version computed it; production answered.
    Shadow,
    /// The request named the version (`NAME@3`).
    Explicit,
}

impl ServedRole {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            ServedRole::Production => "production",
            ServedRole::Canary => "canary",
            ServedRole::Shadow => "shadow",
            ServedRole::Explicit => "explicit",
        }
    }
}

impl fmt::Display for ServedRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ServedRole {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "production" => Ok(ServedRole::Production),
            "canary" => Ok(ServedRole::Canary),
            "shadow" => Ok(ServedRole::Shadow),
            "explicit" => Ok(ServedRole::Explicit),
            _ => Err(Error::invalid(
                "role",
                format!("`{s}` is not one of production, canary, shadow, explicit"),
            )),
        }
    }
}

/// One answered forecast, as the server logs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServedForecast {
    /// Model name.
    pub name: String,
    /// The version that computed it.
    pub version: u32,
    /// Why that version computed it.
    pub role: ServedRole,
    /// The forecast column.
    pub target: String,
    /// Unix milliseconds of the history's last row; `None` when the history had no
    /// timestamps (then nothing can be matched, but the forecast still counts for drift).
    pub origin_ms: Option<i64>,
    /// The history's last value of `target`: the random walk's forecast for every step.
    pub last_value: f64,
    /// The history's last simple return of `target`, `x_t / x_{t-1} - 1` (`None` with fewer than
    /// two values or a previous value of 0).
    pub last_return: Option<f64>,
    /// Unix milliseconds of each forecast step (one per point), empty without `origin_ms`.
    pub step_timestamps: Vec<i64>,
    /// The point forecast, one value per step.
    pub point: Vec<f64>,
    /// Quantile bands (ascending `q`), each with one value per step.
    pub quantiles: Vec<QuantileBand>,
}

/// A logged forecast with what the registry added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedForecast {
    /// Its row id (increasing).
    pub id: i64,
    /// When it was logged, unix milliseconds.
    pub served_at_ms: i64,
    /// The forecast.
    pub forecast: ServedForecast,
}

/// What [`Registry::record_actuals`](crate::Registry::record_actuals) did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActualsOutcome {
    /// New actuals stored.
    pub accepted: usize,
    /// Actuals already stored with the same value, or repeating an earlier entry of the same
    /// call (ignored: nothing is counted twice).
    pub duplicates: usize,
    /// Matched points created: (forecast, step) pairs whose step the new actuals hit.
    pub matched: usize,
}

/// One forecast step with its actual.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchedPoint {
    /// The step's timestamp (unix ms), that of the actual.
    pub ts: i64,
    /// The step, 1-based (1 is the first step after the origin).
    pub step: usize,
    /// The forecast's origin (unix ms).
    pub origin_ms: i64,
    /// Why the version computed the forecast.
    pub role: ServedRole,
    /// The forecast value.
    pub forecast: f64,
    /// The actual value.
    pub actual: f64,
    /// The random walk's forecast on the same origin (the history's last value).
    pub rw_forecast: f64,
    /// `forecast - actual` (the convention of `nt_eval::drift`'s residuals).
    pub residual: f64,
}

/// Live scores of one window of matched points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreWindow {
    /// `last_100`, `last_1000` or `since_deployment`.
    pub window: String,
    /// Matched points in the window.
    pub n: u64,
    /// Mean absolute error (`None` without points).
    pub mae: Option<f64>,
    /// Root mean squared error.
    pub rmse: Option<f64>,
    /// Share of actuals inside the forecast's widest central band (`None` without bands).
    pub coverage: Option<f64>,
    /// That band's nominal coverage, averaged over the points (0.8 for a 10–90% band).
    pub nominal_coverage: Option<f64>,
    /// Pinball loss averaged over each forecast's quantile levels, then over the points
    /// (`None` without bands).
    pub mean_pinball: Option<f64>,
    /// Share of points whose forecast moved from the last value the way the actual did
    /// (points whose actual equals the last value are not counted).
    pub directional_accuracy: Option<f64>,
    /// MAE of the random walk (the last value) on the same origins and steps.
    pub rw_mae: Option<f64>,
    /// `1 - mae / rw_mae` (`None` when the random walk's MAE is 0).
    pub skill: Option<f64>,
}

/// The live scores of one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveScores {
    /// Model name.
    pub name: String,
    /// Version.
    pub version: u32,
    /// `last_100`, `last_1000` (newest matched points by timestamp) and `since_deployment`.
    pub windows: Vec<ScoreWindow>,
    /// Since deployment, per role (`production`, `canary`, `shadow`, `explicit`).
    pub by_role: BTreeMap<String, ScoreWindow>,
}

/// The point-wise terms of a matched point.
#[derive(Debug, Clone, Copy)]
struct Terms {
    abs: f64,
    sq: f64,
    rw_abs: f64,
    /// `(covered, nominal)` of the widest central band.
    interval: Option<(bool, f64)>,
    pinball: Option<f64>,
    hit: Option<bool>,
}

/// Sums of terms.
#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    n: u64,
    sum_abs: f64,
    sum_sq: f64,
    sum_rw_abs: f64,
    n_interval: u64,
    n_covered: u64,
    sum_nominal: f64,
    n_pinball: u64,
    sum_pinball: f64,
    n_direction: u64,
    n_hits: u64,
}

impl Acc {
    fn add(&mut self, t: &Terms) {
        self.n += 1;
        self.sum_abs += t.abs;
        self.sum_sq += t.sq;
        self.sum_rw_abs += t.rw_abs;
        if let Some((covered, nominal)) = t.interval {
            self.n_interval += 1;
            self.n_covered += covered as u64;
            self.sum_nominal += nominal;
        }
        if let Some(p) = t.pinball {
            self.n_pinball += 1;
            self.sum_pinball += p;
        }
        if let Some(h) = t.hit {
            self.n_direction += 1;
            self.n_hits += h as u64;
        }
    }

    fn merge(&mut self, o: &Acc) {
        self.n += o.n;
        self.sum_abs += o.sum_abs;
        self.sum_sq += o.sum_sq;
        self.sum_rw_abs += o.sum_rw_abs;
        self.n_interval += o.n_interval;
        self.n_covered += o.n_covered;
        self.sum_nominal += o.sum_nominal;
        self.n_pinball += o.n_pinball;
        self.sum_pinball += o.sum_pinball;
        self.n_direction += o.n_direction;
        self.n_hits += o.n_hits;
    }

    fn window(&self, label: &str) -> ScoreWindow {
        let ratio = |a: f64, n: u64| (n > 0).then(|| a / n as f64);
        let mae = ratio(self.sum_abs, self.n);
        let rw_mae = ratio(self.sum_rw_abs, self.n);
        ScoreWindow {
            window: label.into(),
            n: self.n,
            mae,
            rmse: ratio(self.sum_sq, self.n).map(f64::sqrt),
            coverage: ratio(self.n_covered as f64, self.n_interval),
            nominal_coverage: ratio(self.sum_nominal, self.n_interval),
            mean_pinball: ratio(self.sum_pinball, self.n_pinball),
            directional_accuracy: ratio(self.n_hits as f64, self.n_direction),
            rw_mae,
            skill: match (mae, rw_mae) {
                (Some(m), Some(r)) if r > 0.0 => Some(1.0 - m / r),
                _ => None,
            },
        }
    }
}

/// The terms of forecast `f` at step index `h` against `actual`.
fn terms(f: &ServedForecast, h: usize, actual: f64) -> Terms {
    let forecast = f.point[h];
    let e = actual - forecast;
    // The widest central band: the smallest q whose 1 - q is there too.
    let interval = f.quantiles.iter().find_map(|lo| {
        let hi = f
            .quantiles
            .iter()
            .find(|b| lo.q < 0.5 && (b.q - (1.0 - lo.q)).abs() < 1e-9)?;
        let covered = lo.values[h] <= actual && actual <= hi.values[h];
        Some((covered, 1.0 - 2.0 * lo.q))
    });
    let pinball = (!f.quantiles.is_empty()).then(|| {
        let sum: f64 = f
            .quantiles
            .iter()
            .map(|b| {
                let d = actual - b.values[h];
                (b.q * d).max((b.q - 1.0) * d)
            })
            .sum();
        sum / f.quantiles.len() as f64
    });
    let moved = actual - f.last_value;
    let hit = (moved != 0.0).then(|| (forecast - f.last_value).signum() == moved.signum());
    Terms {
        abs: e.abs(),
        sq: e * e,
        rw_abs: (actual - f.last_value).abs(),
        interval,
        pinball,
        hit,
    }
}

fn i64s_to_bytes(v: &[i64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn bytes_to_i64s(b: &[u8]) -> Vec<i64> {
    b.chunks_exact(8)
        .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect()
}

fn f64s_to_bytes(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn bytes_to_f64s(b: &[u8]) -> Vec<f64> {
    b.chunks_exact(8)
        .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Checks one forecast before it is logged; `i` names it in the error.
fn validate_forecast(i: usize, f: &ServedForecast) -> Result<()> {
    let field = |what: &str| format!("forecasts[{i}].{what}");
    validate_name(&f.name).map_err(|e| Error::invalid(field("name"), e.to_string()))?;
    if f.version == 0 {
        return Err(Error::invalid(field("version"), "expected a version ≥ 1"));
    }
    if f.target.is_empty() {
        return Err(Error::invalid(field("target"), "expected a column name"));
    }
    if f.point.is_empty() || f.point.iter().any(|v| !v.is_finite()) {
        return Err(Error::invalid(
            field("point"),
            "expected at least one value, all finite",
        ));
    }
    if !f.last_value.is_finite() || f.last_return.is_some_and(|r| !r.is_finite()) {
        return Err(Error::invalid(
            field("last_value"),
            "expected finite last value and return",
        ));
    }
    let steps = &f.step_timestamps;
    if !steps.is_empty() && (steps.len() != f.point.len() || f.origin_ms.is_none()) {
        return Err(Error::invalid(
            field("step_timestamps"),
            format!(
                "expected one timestamp per point ({}) and an origin, got {}",
                f.point.len(),
                steps.len()
            ),
        ));
    }
    if steps.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::invalid(
            field("step_timestamps"),
            "expected strictly increasing timestamps",
        ));
    }
    for (j, b) in f.quantiles.iter().enumerate() {
        if !(b.q > 0.0 && b.q < 1.0)
            || b.values.len() != f.point.len()
            || b.values.iter().any(|v| !v.is_finite())
        {
            return Err(Error::invalid(
                format!("forecasts[{i}].quantiles[{j}]"),
                "expected a level in (0, 1) and one finite value per point",
            ));
        }
    }
    Ok(())
}

/// A logged forecast read back for matching.
struct Candidate {
    id: i64,
    forecast: ServedForecast,
}

const FORECAST_COLUMNS: &str = "id, served_at, name, version, role, target, origin, last_value, \
     last_return, steps, point, quantiles";

fn read_logged(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, i64, RawForecast)> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        RawForecast {
            name: r.get(2)?,
            version: r.get(3)?,
            role: r.get(4)?,
            target: r.get(5)?,
            origin: r.get(6)?,
            last_value: r.get(7)?,
            last_return: r.get(8)?,
            steps: r.get(9)?,
            point: r.get(10)?,
            quantiles: r.get(11)?,
        },
    ))
}

struct RawForecast {
    name: String,
    version: u32,
    role: String,
    target: String,
    origin: Option<i64>,
    last_value: f64,
    last_return: Option<f64>,
    steps: Vec<u8>,
    point: Vec<u8>,
    quantiles: String,
}

impl RawForecast {
    fn decode(self, id: i64) -> Result<ServedForecast> {
        Ok(ServedForecast {
            role: self.role.parse()?,
            quantiles: parse_json(&self.quantiles, &format!("served forecast {id}"))?,
            name: self.name,
            version: self.version,
            target: self.target,
            origin_ms: self.origin,
            last_value: self.last_value,
            last_return: self.last_return,
            step_timestamps: bytes_to_i64s(&self.steps),
            point: bytes_to_f64s(&self.point),
        })
    }
}

mod record;
mod scores;
