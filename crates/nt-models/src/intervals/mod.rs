//! Calibrated prediction intervals for any model: what the `intervals` object of a spec asks
//! for ([`IntervalSpec`]), split-conformal calibration ([`conformal`]) and the training that
//! collects the residuals it needs ([`calibrate`]).

pub(crate) mod calibrate;
pub mod conformal;
pub mod garch;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How a calibrated model's intervals are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum IntervalMethod {
    /// Split conformal: the band at level `L` and step `h` is the point ± the
    /// `⌈(n_h + 1)·L⌉`-th smallest of the `n_h` absolute calibration residuals of step `h`
    /// (see [`conformal`]).
    Conformal,
    /// GARCH widths: the point ± `z_L · s_h · sqrt(σ²_1 + … + σ²_h)`, the `σ²` forecast by a
    /// GARCH(1,1) of the model's recent one-step residuals and `s_h` calibrated per step (see
    /// [`garch`]).
    Garch,
}

impl IntervalMethod {
    /// The method's name as the CLI and JSON spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            IntervalMethod::Conformal => "conformal",
            IntervalMethod::Garch => "garch",
        }
    }
}

/// The `intervals` object of a calibrated spec:
/// `{"method": "conformal", "levels": [0.8, 0.95]}`.
///
/// | field | default | meaning | range |
/// |---|---|---|---|
/// | `method` | — | how the intervals are made | `conformal`, `garch` |
/// | `levels` | `[0.8, 0.95]` | central interval levels | each in (0, 1), distinct |
/// | `calibration_rows` | none | classical models: rows held out at the end of the training data for calibration; none = `max(⌈20% of rows⌉, 2·H)` | ≥ 2 |
/// | `horizon` | none | steps calibrated: required for classical models (they forecast any horizon); a neural model's is its own | ≥ 1 |
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntervalSpec {
    /// How the intervals are made.
    pub method: IntervalMethod,
    /// Central interval levels, each strictly in (0, 1), distinct (kept ascending).
    #[serde(default = "default_levels")]
    pub levels: Vec<f64>,
    /// Classical models: rows at the end of the training data held out for calibration
    /// (`None`: `max(⌈0.2·rows⌉, 2·H)`). Neural models calibrate on their validation tail and
    /// refuse this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration_rows: Option<usize>,
    /// Steps calibrated: required for a classical model (training refuses its absence); a
    /// neural model uses its own horizon, and a different value is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizon: Option<usize>,
}

/// `[0.8, 0.95]`.
fn default_levels() -> Vec<f64> {
    vec![0.8, 0.95]
}

impl IntervalSpec {
    /// Conformal intervals at `levels`.
    pub fn conformal(levels: Vec<f64>) -> Self {
        Self {
            method: IntervalMethod::Conformal,
            levels,
            calibration_rows: None,
            horizon: None,
        }
    }

    /// Checks the levels (each in (0, 1), distinct, at least one), the calibration rows
    /// (≥ 2 when given) and the horizon (≥ 1 when given). Errors name the field.
    pub fn validate(&self) -> Result<()> {
        if self.levels.is_empty() {
            return Err(Error::invalid(
                "intervals.levels",
                "expected at least one level in (0, 1), e.g. [0.8, 0.95]",
            ));
        }
        for (i, &l) in self.levels.iter().enumerate() {
            if !(l.is_finite() && l > 0.0 && l < 1.0) {
                return Err(Error::invalid(
                    "intervals.levels",
                    format!("each level must be strictly between 0 and 1, got {l}"),
                ));
            }
            if self.levels[..i].iter().any(|&o| (o - l).abs() < 1e-12) {
                return Err(Error::invalid(
                    "intervals.levels",
                    format!("level {l} is given twice"),
                ));
            }
        }
        if let Some(r) = self.calibration_rows {
            if r < 2 {
                return Err(Error::invalid(
                    "intervals.calibration_rows",
                    format!("must be at least 2 when set, got {r}"),
                ));
            }
        }
        if self.horizon == Some(0) {
            return Err(Error::invalid(
                "intervals.horizon",
                "must be at least 1 when set",
            ));
        }
        Ok(())
    }

    /// The levels, ascending.
    pub fn sorted_levels(&self) -> Vec<f64> {
        let mut l = self.levels.clone();
        l.sort_by(f64::total_cmp);
        l
    }
}
