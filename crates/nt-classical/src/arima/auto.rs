//! [`AutoArimaConfig`]: statsforecast's `AutoARIMA` (stepwise `auto_arima_f`), fitted into the
//! [`FittedArima`] of the chosen model.

use nt_core::{Fit, TimeSeries};
use serde::{Deserialize, Serialize};

use super::model::FittedArima;
use super::search::{auto_arima, InfoCriterion, Search};
use crate::history::target_values;
use crate::stats::validate_levels;
use crate::{Error, Result};

/// AutoARIMA with statsforecast 2.1.1's defaults: KPSS (`ndiffs`) and the seasonal-strength
/// heuristic (`nsdiffs`) choose `d` and `D`, then the stepwise search picks `(p, q, P, Q)` and
/// the constant by AICc.
///
/// | name | default | purpose | range |
/// |---|---|---|---|
/// | `season_length` | `1` | season in rows (1 = none) | ≥ 1 |
/// | `d`, `seasonal_d` | `None` | fixed differencing instead of the tests | `d` ≤ 2, `seasonal_d` ≤ 1 |
/// | `max_p`, `max_q` | `5` | largest non-seasonal orders | ≤ 20 |
/// | `max_seasonal_p`, `max_seasonal_q` | `2` | largest seasonal orders | ≤ 5 |
/// | `max_d`, `max_seasonal_d` | `2`, `1` | most differences the tests may choose | ≤ 2, ≤ 1 |
/// | `start_p`, `start_q`, `start_seasonal_p`, `start_seasonal_q` | `2, 2, 1, 1` | first candidate | — |
/// | `stationary` | `false` | no differencing | — |
/// | `seasonal` | `true` | consider seasonal terms | — |
/// | `ic` | `"aicc"` | criterion (`"aicc"`, `"aic"`, `"bic"`) | — |
/// | `nmodels` | `94` | most candidates the stepwise search fits | ≥ 1 |
/// | `approximation` | `None` | CSS scores during the search; `None`: when rows > 150 or season > 12 | — |
/// | `allow_drift`, `allow_mean` | `true` | constants the search may try | — |
/// | `levels` | `[0.8, 0.95]` | interval coverage levels | each in (0, 1), distinct |
///
/// `approximation` follows `auto_arima_f`'s own default (`None`: on above 150 rows or a season
/// above 12). statsforecast's `AutoARIMA` model class passes `approximation=False` instead,
/// so it scores every candidate by CSS-ML and can choose differently: on the first 1,344 rows
/// of ETTh1 OT with season 24, `auto_arima_f` (and this port) picks ARIMA(4,1,1)(2,0,0)[24]
/// (0.75 s end to end; statsforecast 2.85 s), the class ARIMA(1,1,1)(1,0,1)[24] (statsforecast
/// 36.4 s). With `"approximation": false` (`--approximation off`) this port picks the class's
/// ARIMA(1,1,1)(1,0,1)[24] too, in 11.7 s (`tools/bench/autoarima_speed.sh`, 2026-12-02).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutoArimaConfig {
    /// Season length in rows.
    pub season_length: usize,
    /// Fixed number of first differences (`None`: KPSS chooses).
    pub d: Option<usize>,
    /// Fixed number of seasonal differences (`None`: the seasonal strength chooses).
    pub seasonal_d: Option<usize>,
    /// Largest AR order.
    pub max_p: usize,
    /// Largest MA order.
    pub max_q: usize,
    /// Largest seasonal AR order.
    pub max_seasonal_p: usize,
    /// Largest seasonal MA order.
    pub max_seasonal_q: usize,
    /// Most first differences.
    pub max_d: usize,
    /// Most seasonal differences.
    pub max_seasonal_d: usize,
    /// Starting AR order.
    pub start_p: usize,
    /// Starting MA order.
    pub start_q: usize,
    /// Starting seasonal AR order.
    pub start_seasonal_p: usize,
    /// Starting seasonal MA order.
    pub start_seasonal_q: usize,
    /// Restrict to stationary models (no differencing).
    pub stationary: bool,
    /// Consider seasonal models.
    pub seasonal: bool,
    /// Information criterion.
    pub ic: InfoCriterion,
    /// Most candidates fitted by the stepwise search.
    pub nmodels: usize,
    /// Approximate (CSS) scoring during the search; `None`: statsforecast's rule.
    pub approximation: Option<bool>,
    /// Allow a drift when `d + D = 1`.
    pub allow_drift: bool,
    /// Allow a mean when `d + D = 0`.
    pub allow_mean: bool,
    /// Interval coverage levels.
    pub levels: Vec<f64>,
}

impl Default for AutoArimaConfig {
    /// statsforecast's `AutoARIMA()` defaults, no season, levels 0.8 and 0.95.
    fn default() -> Self {
        Self {
            season_length: 1,
            d: None,
            seasonal_d: None,
            max_p: 5,
            max_q: 5,
            max_seasonal_p: 2,
            max_seasonal_q: 2,
            max_d: 2,
            max_seasonal_d: 1,
            start_p: 2,
            start_q: 2,
            start_seasonal_p: 1,
            start_seasonal_q: 1,
            stationary: false,
            seasonal: true,
            ic: InfoCriterion::Aicc,
            nmodels: 94,
            approximation: None,
            allow_drift: true,
            allow_mean: true,
            levels: vec![0.8, 0.95],
        }
    }
}

fn invalid(name: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidParameter {
        model: "autoarima",
        name,
        reason: reason.into(),
    }
}

impl AutoArimaConfig {
    /// Checks the ranges in the table above.
    pub fn validate(&self) -> Result<()> {
        if self.season_length == 0 {
            return Err(invalid(
                "season_length",
                "must be at least 1 (1 = no season)",
            ));
        }
        if self.d.is_some_and(|d| d > 2) || self.max_d > 2 {
            return Err(invalid("d", "d and max_d must be at most 2"));
        }
        if self.seasonal_d.is_some_and(|d| d > 1) || self.max_seasonal_d > 1 {
            return Err(invalid(
                "seasonal_d",
                "seasonal_d and max_seasonal_d must be at most 1",
            ));
        }
        if self.max_p > 20 || self.max_q > 20 {
            return Err(invalid("max_p", "max_p and max_q must be at most 20"));
        }
        if self.max_seasonal_p > 5 || self.max_seasonal_q > 5 {
            return Err(invalid(
                "max_seasonal_p",
                "max_seasonal_p and max_seasonal_q must be at most 5",
            ));
        }
        if self.nmodels == 0 {
            return Err(invalid("nmodels", "must be at least 1"));
        }
        validate_levels("autoarima", &self.levels)
    }

    fn search(&self) -> Search {
        Search {
            season: self.season_length,
            d: self.d,
            sd: self.seasonal_d,
            max_p: self.max_p,
            max_q: self.max_q,
            max_sp: self.max_seasonal_p,
            max_sq: self.max_seasonal_q,
            max_d: self.max_d,
            max_sd: self.max_seasonal_d,
            start_p: self.start_p,
            start_q: self.start_q,
            start_sp: self.start_seasonal_p,
            start_sq: self.start_seasonal_q,
            stationary: self.stationary,
            seasonal: self.seasonal,
            ic: self.ic,
            nmodels: self.nmodels,
            approximation: self.approximation,
            allow_drift: self.allow_drift,
            allow_mean: self.allow_mean,
        }
    }

    /// Runs the search on `y` (no NaN) and wraps the chosen fit.
    pub(crate) fn fit_values(&self, target: &str, y: &[f64]) -> Result<FittedArima> {
        self.validate()?;
        let c = auto_arima(y, &self.search())?;
        Ok(FittedArima::from_fit(
            target,
            c.fit,
            c.arma,
            c.regressor,
            c.method,
            &self.levels,
            y.len(),
        ))
    }
}

impl Fit for AutoArimaConfig {
    type Fitted = FittedArima;

    /// Searches and fits. Errors: invalid configuration, a missing or non-finite target,
    /// fewer than 3 rows, or no admissible model.
    fn fit(&self, train: &TimeSeries, target: &str) -> nt_core::Result<FittedArima> {
        self.validate()?;
        let y = target_values("autoarima", train, target, 3)?;
        Ok(self.fit_values(target, y)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degenerate_series_fit_without_panicking() {
        let cfg = AutoArimaConfig::default();
        // A constant series: the mean model with the mean fixed.
        let f = cfg.fit_values("y", &[4.0; 30]).unwrap();
        assert_eq!(f.coef, vec![4.0]);
        // A straight line: one difference leaves a constant, so a fixed drift of 2.
        let line: Vec<f64> = (0..30).map(|t| 1.0 + 2.0 * t as f64).collect();
        let f = cfg.fit_values("y", &line).unwrap();
        assert_eq!((f.arma.d, f.coef.clone()), (1, vec![2.0]));
        // Very short series either fit or return an error, never panic.
        for n in 1..12 {
            let y: Vec<f64> = (0..n).map(|t| ((t * 37) % 11) as f64).collect();
            let _ = cfg.fit_values("y", &y);
            let seasonal = AutoArimaConfig {
                season_length: 4,
                ..AutoArimaConfig::default()
            };
            let _ = seasonal.fit_values("y", &y);
        }
    }
}
