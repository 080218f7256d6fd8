//! [`ArimaConfig`] (fixed orders) and [`FittedArima`]: fitting, and forecasting a new history
//! with the fitted coefficients (statsforecast's `forward`), with a prefix cache for
//! backtests.

use std::sync::Mutex;

use nt_core::{Fit, Forecast, Horizon, Predict, TimeSeries};
use serde::{Deserialize, Serialize};

use super::fit::{arima, criteria, delta_of, Fit as ArimaFit, Method, Regressor};
use super::kalman::StateSpace;
use super::transform::{transpar, Arma};
use crate::history::target_values;
use crate::stats::{gaussian_forecast, validate_levels};
use crate::{Error, Result};

fn invalid(name: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidParameter {
        model: "arima",
        name,
        reason: reason.into(),
    }
}

/// ARIMA(p,d,q)(P,D,Q)[s] with fixed orders, fitted as statsforecast's `ARIMA` model
/// (`Arima` → `arima`, CSS-ML by default).
///
/// | field | default | purpose | range |
/// |---|---|---|---|
/// | `order` | `[1, 0, 0]` | non-seasonal `[p, d, q]` | p, q ≤ 20, d ≤ 2 |
/// | `seasonal_order` | `[0, 0, 0]` | seasonal `[P, D, Q]` | P, Q ≤ 5, D ≤ 1; non-zero only with `season_length` ≥ 2 |
/// | `season_length` | `1` | rows per season | ≥ 1 |
/// | `include_mean` | `true` | a constant mean when there is no differencing | |
/// | `include_drift` | `false` | a linear trend, only when `d + D = 1` | |
/// | `method` | `"CSS-ML"` | `"CSS-ML"`, `"ML"` or `"CSS"` | |
/// | `levels` | `[0.8, 0.95]` | interval coverage levels | each in (0, 1), distinct |
///
/// Deviation: statsforecast also accepts a drift without differencing (then fitting a mean
/// and a trend together, after an SVD of the two regressors) and silently drops a drift with
/// two or more differences; both are rejected here with an error naming `include_drift`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ArimaConfig {
    /// `[p, d, q]`.
    pub order: [usize; 3],
    /// `[P, D, Q]`.
    pub seasonal_order: [usize; 3],
    /// Season length in rows.
    pub season_length: usize,
    /// Fit a mean when `d + D = 0`.
    pub include_mean: bool,
    /// Fit a drift when `d + D = 1`.
    pub include_drift: bool,
    /// Estimation method.
    pub method: Method,
    /// Interval coverage levels.
    pub levels: Vec<f64>,
}

impl Default for ArimaConfig {
    /// AR(1) with mean, no season, CSS-ML, levels 0.8 and 0.95.
    fn default() -> Self {
        Self {
            order: [1, 0, 0],
            seasonal_order: [0, 0, 0],
            season_length: 1,
            include_mean: true,
            include_drift: false,
            method: Method::CssMl,
            levels: vec![0.8, 0.95],
        }
    }
}

impl ArimaConfig {
    /// Checks the ranges in the table above.
    pub fn validate(&self) -> Result<()> {
        let [p, d, q] = self.order;
        let [sp, sd, sq] = self.seasonal_order;
        if p > 20 || q > 20 || d > 2 {
            return Err(invalid(
                "order",
                format!("[{p}, {d}, {q}]: p and q must be at most 20, d at most 2"),
            ));
        }
        if sp > 5 || sq > 5 || sd > 1 {
            return Err(invalid(
                "seasonal_order",
                format!("[{sp}, {sd}, {sq}]: P and Q must be at most 5, D at most 1"),
            ));
        }
        if self.season_length == 0 {
            return Err(invalid(
                "season_length",
                "must be at least 1 (1 = no season)",
            ));
        }
        if self.season_length == 1 && sp + sd + sq > 0 {
            return Err(invalid(
                "seasonal_order",
                "a seasonal part needs season_length of at least 2",
            ));
        }
        if self.include_drift && d + sd != 1 {
            return Err(invalid(
                "include_drift",
                format!(
                    "a drift needs exactly one difference in total (d + D = 1), got {}",
                    d + sd
                ),
            ));
        }
        validate_levels("arima", &self.levels)
    }

    pub(crate) fn arma(&self) -> Arma {
        let s = if self.seasonal_order.iter().sum::<usize>() > 0 {
            self.season_length
        } else {
            // statsforecast keeps the period; it only matters for seasonal terms.
            self.season_length
        };
        Arma {
            p: self.order[0],
            d: self.order[1],
            q: self.order[2],
            sp: self.seasonal_order[0],
            sd: self.seasonal_order[1],
            sq: self.seasonal_order[2],
            season: s,
        }
    }

    fn regressor(&self) -> Regressor {
        let nd = self.order[1] + self.seasonal_order[1];
        if self.include_drift && nd == 1 {
            Regressor::Drift
        } else if self.include_mean && nd == 0 {
            Regressor::Intercept
        } else {
            Regressor::None
        }
    }
}

/// The last filtered state and the history it came from (see [`FittedArima`]).
#[derive(Debug, Clone)]
struct Filtered {
    values: Vec<f64>,
    state: StateSpace,
}

/// A cache invisible to callers: cloning gives an empty one, equality ignores it.
#[derive(Debug, Default)]
pub(crate) struct PrefixCache(Mutex<Option<Filtered>>);

impl Clone for PrefixCache {
    fn clone(&self) -> Self {
        PrefixCache::default()
    }
}

impl PartialEq for PrefixCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// A fitted ARIMA: orders, coefficients, sigma², likelihood and criteria. Forecasting a
/// history filters it with these coefficients from a fresh state (statsforecast's `forward`,
/// i.e. `cross_validation(refit=False)`) and forecasts from its last state.
///
/// Speed: it remembers the last history it filtered and the state reached. When a new history
/// starts with exactly that history (as the growing windows of a backtest do), the filter
/// continues from the remembered state over the new rows only; the result is bitwise the same
/// as filtering from the start (the same operations in the same order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedArima {
    /// The column it was fitted on.
    pub target: String,
    /// `(p, q, P, Q, s, d, D)`.
    pub arma: Arma,
    /// `[ar1.., ma1.., sar1.., sma1.., intercept or drift]`.
    pub coef: Vec<f64>,
    /// The regressor the last coefficient belongs to.
    pub regressor: Regressor,
    /// Innovation variance (statsforecast's `sigma2`: Σ resid² / (nstar − npar + 1)).
    pub sigma2: f64,
    /// Log-likelihood.
    pub loglik: f64,
    /// AIC.
    pub aic: f64,
    /// AICc.
    pub aicc: f64,
    /// BIC.
    pub bic: f64,
    /// Estimation method used.
    pub method: Method,
    /// Interval coverage levels.
    pub levels: Vec<f64>,
    #[serde(skip)]
    cache: PrefixCache,
}

impl FittedArima {
    /// Fits `arma` with `regressor` to `y` (shared by [`ArimaConfig`] and the auto search).
    pub(crate) fn fit_values(
        target: &str,
        y: &[f64],
        arma: Arma,
        regressor: Regressor,
        method: Method,
        levels: &[f64],
    ) -> Result<FittedArima> {
        let fit =
            arima(y, &arma, regressor, method, None).ok_or_else(|| Error::Arima {
                model: "arima",
                reason: format!(
                "the likelihood of ARIMA({},{},{})({},{},{})[{}] is not finite on these {} rows",
                arma.p, arma.d, arma.q, arma.sp, arma.sd, arma.sq, arma.season, y.len()
            ),
            })?;
        Ok(Self::from_fit(
            target,
            fit,
            arma,
            regressor,
            method,
            levels,
            y.len(),
        ))
    }

    /// Wraps a finished `fit` of `arma` on `n` rows, with `Arima`'s criteria.
    pub(crate) fn from_fit(
        target: &str,
        fit: ArimaFit,
        arma: Arma,
        regressor: Regressor,
        method: Method,
        levels: &[f64],
        n: usize,
    ) -> FittedArima {
        let c = criteria(&fit, &arma, n, None);
        FittedArima {
            target: target.to_string(),
            arma,
            coef: fit.coef,
            regressor,
            sigma2: c.sigma2,
            loglik: fit.loglik,
            aic: c.aic,
            aicc: c.aicc,
            bic: c.bic,
            method,
            levels: levels.to_vec(),
            cache: PrefixCache::default(),
        }
    }

    /// Rows a history needs: one more than the differencing consumes.
    pub fn needed(&self) -> usize {
        self.arma.d + self.arma.sd * self.arma.season + 1
    }

    fn reg_coef(&self) -> f64 {
        if self.regressor == Regressor::None {
            0.0
        } else {
            self.coef[self.arma.narma()]
        }
    }

    /// The state after filtering `y` (minus the regressor), from the cache when `y` extends
    /// the last history filtered.
    fn state_after(&self, y: &[f64]) -> StateSpace {
        let b = self.reg_coef();
        let adjusted = |from: usize| -> Vec<f64> {
            y[from..]
                .iter()
                .enumerate()
                .map(|(i, v)| v - b * self.regressor.at(from + i))
                .collect()
        };
        let mut guard = self.cache.0.lock().unwrap_or_else(|e| e.into_inner());
        let state = match guard.as_ref() {
            Some(c) if c.values.len() <= y.len() && y[..c.values.len()] == c.values[..] => {
                let mut s = c.state.clone();
                s.filter(&adjusted(c.values.len()), true, None);
                s
            }
            _ => {
                let (phi, theta) = transpar(&self.coef, &self.arma, false);
                let mut s = StateSpace::new(&phi, &theta, &delta_of(&self.arma));
                s.filter(&adjusted(0), false, None);
                s
            }
        };
        *guard = Some(Filtered {
            values: y.to_vec(),
            state: state.clone(),
        });
        state
    }

    /// Forecasts `h` steps after `y` with intervals (statsforecast's `forecast_arima` on the
    /// `forward` model). `use_cache = false` filters from the start regardless of the cache.
    pub(crate) fn forecast_values(&self, y: &[f64], h: usize, use_cache: bool) -> Result<Forecast> {
        if y.iter().all(|v| *v == y[0]) {
            // statsforecast's `is_constant` branch: the value, with zero-width intervals.
            return gaussian_forecast(vec![y[0]; h], &vec![0.0; h], &self.levels);
        }
        let state = if use_cache {
            self.state_after(y)
        } else {
            let (phi, theta) = transpar(&self.coef, &self.arma, false);
            let mut s = StateSpace::new(&phi, &theta, &delta_of(&self.arma));
            let b = self.reg_coef();
            let adj: Vec<f64> = y
                .iter()
                .enumerate()
                .map(|(t, v)| v - b * self.regressor.at(t))
                .collect();
            s.filter(&adj, false, None);
            s
        };
        let (mut point, var) = state.forecast(h);
        let b = self.reg_coef();
        for (i, p) in point.iter_mut().enumerate() {
            *p += b * self.regressor.at(y.len() + i);
        }
        let sd: Vec<f64> = var.iter().map(|v| (v * self.sigma2).sqrt()).collect();
        gaussian_forecast(point, &sd, &self.levels)
    }
}

impl Fit for ArimaConfig {
    type Fitted = FittedArima;

    /// Fits the configured orders. Errors: invalid configuration, a missing or non-finite
    /// target, too few rows (more than the differencing consumes plus the parameters), or a
    /// non-finite likelihood.
    fn fit(&self, train: &TimeSeries, target: &str) -> nt_core::Result<FittedArima> {
        self.validate()?;
        let arma = self.arma();
        let reg = self.regressor();
        let needed = arma.d + arma.sd * arma.season + arma.narma() + 2;
        let y = target_values("arima", train, target, needed)?;
        Ok(FittedArima::fit_values(
            target,
            y,
            arma,
            reg,
            self.method,
            &self.levels,
        )?)
    }
}

impl Predict for FittedArima {
    /// Filters `history` with the fitted coefficients and forecasts from its last row.
    fn predict(&self, history: &TimeSeries, horizon: Horizon) -> nt_core::Result<Forecast> {
        let y = target_values("arima", history, &self.target, self.needed())?;
        Ok(self.forecast_values(y, horizon.get(), true)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series() -> Vec<f64> {
        // A deterministic AR(1)-like series with a seasonal wiggle, 300 rows.
        let mut y = Vec::with_capacity(300);
        let mut v = 0.0f64;
        for t in 0..300 {
            let shock = ((t * 7919 % 97) as f64 / 97.0 - 0.5) * 2.0;
            v = 0.7 * v + shock;
            y.push(10.0 + v + (t as f64 * 0.26).sin());
        }
        y
    }

    #[test]
    fn cached_and_uncached_forecasts_are_bitwise_equal() {
        let y = series();
        let config = ArimaConfig {
            order: [2, 1, 1],
            seasonal_order: [1, 0, 0],
            season_length: 12,
            ..ArimaConfig::default()
        };
        let arma = config.arma();
        let fitted = FittedArima::fit_values(
            "y",
            &y[..200],
            arma,
            config.regressor(),
            Method::CssMl,
            &config.levels,
        )
        .unwrap();
        // Growing histories (the backtest pattern) hit the cache; a shorter one misses it.
        for end in [200, 201, 230, 299, 150, 300] {
            let cached = fitted.forecast_values(&y[..end], 12, true).unwrap();
            let fresh = fitted.forecast_values(&y[..end], 12, false).unwrap();
            assert_eq!(cached.point_values(), fresh.point_values(), "history {end}");
            let (lo_c, hi_c) = cached.interval(0.95).unwrap();
            let (lo_f, hi_f) = fresh.interval(0.95).unwrap();
            assert_eq!((lo_c, hi_c), (lo_f, hi_f), "history {end}");
        }
    }

    #[test]
    fn validation_names_the_field() {
        let bad = ArimaConfig {
            include_drift: true,
            ..ArimaConfig::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("include_drift"));
        let bad = ArimaConfig {
            seasonal_order: [1, 0, 0],
            ..ArimaConfig::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("seasonal_order"));
        let bad = ArimaConfig {
            order: [1, 3, 0],
            ..ArimaConfig::default()
        };
        assert!(bad.validate().unwrap_err().to_string().contains("order"));
        let parsed: ArimaConfig = serde_json::from_str(r#"{"order": [1, 1, 1]}"#).unwrap();
        assert_eq!(parsed.order, [1, 1, 1]);
        assert!(serde_json::from_str::<ArimaConfig>(r#"{"orders": [1, 1, 1]}"#).is_err());
    }

    #[test]
    fn a_saved_model_forecasts_the_same() {
        let y = series();
        let config = ArimaConfig {
            order: [1, 0, 1],
            ..ArimaConfig::default()
        };
        let fitted = FittedArima::fit_values(
            "y",
            &y,
            config.arma(),
            config.regressor(),
            Method::CssMl,
            &config.levels,
        )
        .unwrap();
        let json = serde_json::to_string(&fitted).unwrap();
        let back: FittedArima = serde_json::from_str(&json).unwrap();
        assert_eq!(back, fitted);
        assert_eq!(
            back.forecast_values(&y, 5, true).unwrap().point_values(),
            fitted.forecast_values(&y, 5, true).unwrap().point_values()
        );
    }
}
