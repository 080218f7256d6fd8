//! GARCH(p, q) and GJR-GARCH volatility models fitted by maximum likelihood to returns.
//!
//! A port of arch 8.0.0 (`arch_model(y, mean="Constant"|"Zero", vol="GARCH", p, o, q,
//! dist="normal"|"t")`): the same variance recursion with its backcast start and variance
//! bounds, the same starting values, bounds and constraints, the same normal and standardized
//! Student-t likelihoods, and the analytic variance forecasts. Only the optimizer differs (see
//! `optim.rs`); the parity tests (tests/garch_reference.rs) hold the estimates to 1e-3 and the
//! conditional variances to 1e-4 relative against arch on GOOG.
//!
//! # Returns
//! The model is fitted to **100 × the log returns** of the target column,
//! `r_t = 100 · ln(P_t / P_{t−1})`: arch advises returns scaled to percent so that ω is not
//! tiny relative to the optimizer's tolerances. Every parameter, variance and volatility this
//! module reports is in those units (percent per step); a target with a value ≤ 0 is an error.
//!
//! # As a price model
//! [`FittedGarch`]'s point forecast is the price path of the mean return,
//! `P_T · exp(h · μ / 100)` (μ = 0: the random walk), and its interval of coverage c at step h
//! is `P_T · exp((h·μ ± z · √(Σ_{k≤h} σ²_{T+k})) / 100)`: the quantiles of the cumulated log
//! return. z is the normal quantile; for Student-t innovations it is the quantile of the
//! one-step standardized t law with the fitted ν, also for h > 1, where the sum of t
//! innovations is not t (it approaches normal: the bands are somewhat wide in the tails there).
//!
//! # Forecasting from a new history
//! `predict(history, h)` keeps the fitted parameters (no refit) and filters the history's
//! returns: the backcast is computed from the first returns of `history` by arch's rule, so a
//! history that starts where the training data started reproduces the fit's conditional
//! variances exactly, and a shorter window starts from its own backcast (forgotten at rate
//! Σβ per step).

mod fit;
mod likelihood;
mod optim;
mod recursion;

use nt_core::{Calendar, Fit, Forecast, Horizon, Predict, TimeSeries};
use serde::{Deserialize, Serialize};

use fit::{Law, Model};
use likelihood::standardized_t_quantile;
use recursion::{backcast, conditional_variance, forecast_variance, variance_bounds, Orders};

use crate::history::{require_positive, target_values};
use crate::stats::{normal_quantile, validate_levels};
use crate::{Error, Result};

/// Scale of the returns the model is fitted to: percent log returns.
pub const RETURN_SCALE: f64 = 100.0;

/// Fewest returns a fit accepts.
const MIN_RETURNS: usize = 20;

/// The law of the standardized innovations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum GarchDistribution {
    /// Standard normal.
    #[default]
    Normal,
    /// Student-t with ν > 2 degrees of freedom, rescaled to unit variance; ν is estimated.
    StudentT,
}

/// The conditional mean of the returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum GarchMean {
    /// A constant μ, estimated jointly with the variance parameters.
    #[default]
    Constant,
    /// Zero mean.
    Zero,
}

/// Configuration of [`FittedGarch`].
///
/// | name | default | purpose | range |
/// |---|---|---|---|
/// | `p` | `1` | lags of the squared residual (α) | 1 … 10 |
/// | `o` | `0` | asymmetric lags (γ, GJR-GARCH: `o = 1`) | 0 … 10 |
/// | `q` | `1` | lags of the conditional variance (β) | 0 … 10 |
/// | `distribution` | `"normal"` | innovation law: `"normal"` or `"student-t"` | — |
/// | `mean` | `"constant"` | conditional mean: `"constant"` (μ estimated) or `"zero"` | — |
/// | `levels` | `[0.8, 0.95]` | coverage of the central price intervals | each in (0, 1), distinct |
/// | `max_iter` | `200` | Newton iterations of the likelihood maximization | ≥ 1 |
///
/// JSON: `{"model": "garch", "o": 1, "distribution": "student-t"}` is a GJR-GARCH(1,1,1) with
/// t innovations. The model sees 100 × the log returns of the target (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GarchConfig {
    /// ARCH order: lags of ε².
    pub p: usize,
    /// Asymmetric (GJR) order: lags of ε²·1[ε < 0].
    pub o: usize,
    /// GARCH order: lags of σ².
    pub q: usize,
    /// Innovation law.
    pub distribution: GarchDistribution,
    /// Conditional mean.
    pub mean: GarchMean,
    /// Coverage levels of the price intervals.
    pub levels: Vec<f64>,
    /// Iterations of the optimizer.
    pub max_iter: usize,
}

impl Default for GarchConfig {
    fn default() -> Self {
        Self {
            p: 1,
            o: 0,
            q: 1,
            distribution: GarchDistribution::Normal,
            mean: GarchMean::Constant,
            levels: vec![0.8, 0.95],
            max_iter: 200,
        }
    }
}

fn invalid(name: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidParameter {
        model: "garch",
        name,
        reason: reason.into(),
    }
}

impl GarchConfig {
    /// Checks every field against the range in the table above.
    pub fn validate(&self) -> Result<()> {
        if !(1..=10).contains(&self.p) {
            return Err(invalid("p", format!("{} is not in 1..=10", self.p)));
        }
        if self.o > 10 {
            return Err(invalid("o", format!("{} is not in 0..=10", self.o)));
        }
        if self.q > 10 {
            return Err(invalid("q", format!("{} is not in 0..=10", self.q)));
        }
        if self.max_iter == 0 {
            return Err(invalid("max_iter", "must be at least 1"));
        }
        validate_levels("garch", &self.levels)
    }

    fn model(&self, constant_mean: bool) -> Model {
        Model {
            orders: Orders {
                p: self.p,
                o: self.o,
                q: self.q,
            },
            law: match self.distribution {
                GarchDistribution::Normal => Law::Normal,
                GarchDistribution::StudentT => Law::StudentT,
            },
            constant_mean,
        }
    }

    /// Fits the model to a return series given in its own units (no transform): the core of
    /// [`Fit::fit`], public for callers that already hold returns.
    pub fn fit_returns(&self, target: &str, returns: &[f64]) -> Result<FittedGarch> {
        self.validate()?;
        if returns.len() < MIN_RETURNS {
            return Err(Error::InsufficientHistory {
                model: "garch",
                needed: MIN_RETURNS + 1,
                got: returns.len() + 1,
            });
        }
        let model = self.model(self.mean == GarchMean::Constant);
        let est = model.fit(returns, self.max_iter);
        let (p, o) = (self.p, self.o);
        Ok(FittedGarch {
            target: target.to_string(),
            p: self.p,
            o: self.o,
            q: self.q,
            distribution: self.distribution,
            mean: self.mean,
            mu: est.mu,
            omega: est.vol[0],
            alpha: est.vol[1..1 + p].to_vec(),
            gamma: est.vol[1 + p..1 + p + o].to_vec(),
            beta: est.vol[1 + p + o..].to_vec(),
            nu: est.nu,
            log_likelihood: est.loglik,
            backcast: est.backcast,
            last_variance: est.sigma2.last().copied().unwrap_or(est.backcast),
            n_obs: returns.len(),
            iterations: est.iterations,
            levels: self.levels.clone(),
        })
    }
}

/// Fits a zero-mean GARCH with `config`'s orders and distribution to `residuals` (in their own
/// units: no ×100, no log transform) and returns its variance forecasts for steps 1..=horizon
/// after the last residual, in the residuals' squared units.
///
/// The residuals are divided by their root mean square before the fit and the variances
/// multiplied back (GARCH is scale-equivariant; this keeps ω away from the optimizer's
/// tolerances whatever the units). All-zero residuals give zero variances. Errors: an invalid
/// configuration, a non-finite residual, horizon 0, or fewer than 20 residuals.
pub fn garch_residual_variance(
    residuals: &[f64],
    config: &GarchConfig,
    horizon: usize,
) -> Result<Vec<f64>> {
    config.validate()?;
    if horizon == 0 {
        return Err(invalid("horizon", "must be at least 1"));
    }
    if let Some(i) = residuals.iter().position(|r| !r.is_finite()) {
        return Err(Error::Core(nt_core::Error::NonFinite {
            column: "residuals".into(),
            index: i,
            value: residuals[i],
        }));
    }
    if residuals.len() < MIN_RETURNS {
        return Err(Error::InsufficientHistory {
            model: "garch",
            needed: MIN_RETURNS,
            got: residuals.len(),
        });
    }
    let ms = residuals.iter().map(|r| r * r).sum::<f64>() / residuals.len() as f64;
    if ms == 0.0 {
        return Ok(vec![0.0; horizon]);
    }
    let scale = ms.sqrt();
    let z: Vec<f64> = residuals.iter().map(|r| r / scale).collect();
    let fitted = GarchConfig {
        mean: GarchMean::Zero,
        ..config.clone()
    }
    .fit_returns("residuals", &z)?;
    let state = fitted.filter(&z);
    Ok(fitted
        .variance_path(&z, &state, horizon)
        .into_iter()
        .map(|v| v * ms)
        .collect())
}

/// A fitted [`GarchConfig`]: the estimates (in percent log-return units), the maximized
/// log-likelihood, the backcast and the last in-sample conditional variance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedGarch {
    target: String,
    /// ARCH order.
    pub p: usize,
    /// Asymmetric order.
    pub o: usize,
    /// GARCH order.
    pub q: usize,
    /// Innovation law.
    pub distribution: GarchDistribution,
    /// Conditional mean.
    pub mean: GarchMean,
    /// Mean return μ (0 for a zero mean).
    pub mu: f64,
    /// Variance intercept ω.
    pub omega: f64,
    /// α₁…α_p.
    pub alpha: Vec<f64>,
    /// γ₁…γ_o.
    pub gamma: Vec<f64>,
    /// β₁…β_q.
    pub beta: Vec<f64>,
    /// Student-t degrees of freedom (None for normal innovations).
    pub nu: Option<f64>,
    /// Maximized log-likelihood.
    pub log_likelihood: f64,
    /// Variance assumed before the first return (arch's backcast).
    pub backcast: f64,
    /// Conditional variance of the last training return.
    pub last_variance: f64,
    /// Returns fitted.
    pub n_obs: usize,
    /// Optimizer iterations used.
    pub iterations: usize,
    levels: Vec<f64>,
}

/// The per-step volatility forecast of a [`FittedGarch`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolatilityForecast {
    /// σ²_{T+h} for h = 1..=H, percent² (of 100 × log returns).
    pub variance: Vec<f64>,
    /// σ_{T+h} = √σ²_{T+h}, percent per step.
    pub sigma: Vec<f64>,
    /// Rows per year of the history's calendar, when it is known.
    pub periods_per_year: Option<f64>,
    /// σ_{T+h} · √periods_per_year, percent per year, when the frequency is known.
    pub annualized: Option<Vec<f64>>,
}

/// Filtered state of a history: residuals, conditional variances and backcast.
struct Filtered {
    sigma2: Vec<f64>,
    backcast: f64,
}

impl FittedGarch {
    /// The target column it was fitted to.
    pub fn target(&self) -> &str {
        &self.target
    }

    fn vol_vector(&self) -> Vec<f64> {
        let mut v = vec![self.omega];
        v.extend_from_slice(&self.alpha);
        v.extend_from_slice(&self.gamma);
        v.extend_from_slice(&self.beta);
        v
    }

    fn orders(&self) -> Orders {
        Orders {
            p: self.p,
            o: self.o,
            q: self.q,
        }
    }

    /// Σα + ½Σγ + Σβ.
    pub fn persistence(&self) -> f64 {
        self.alpha.iter().sum::<f64>()
            + 0.5 * self.gamma.iter().sum::<f64>()
            + self.beta.iter().sum::<f64>()
    }

    /// ω / (1 − persistence), the long-run variance (None when not stationary).
    pub fn unconditional_variance(&self) -> Option<f64> {
        let gap = 1.0 - self.persistence();
        (gap > 0.0).then(|| self.omega / gap)
    }

    /// Conditional variances of the residuals `returns − μ`. As arch, the backcast and the
    /// variance bounds come from the starting residuals: the returns minus their sample mean
    /// (constant mean) or the returns themselves (zero mean).
    fn filter(&self, returns: &[f64]) -> Filtered {
        let start_mean = match self.mean {
            GarchMean::Constant if !returns.is_empty() => {
                returns.iter().sum::<f64>() / returns.len() as f64
            }
            _ => 0.0,
        };
        let start: Vec<f64> = returns.iter().map(|r| r - start_mean).collect();
        let bc = backcast(&start);
        let bounds = variance_bounds(&start);
        let resids: Vec<f64> = returns.iter().map(|r| r - self.mu).collect();
        let vol = self.vol_vector();
        let params = recursion::VolParams::split(self.orders(), &vol);
        let mut sigma2 = Vec::with_capacity(resids.len());
        conditional_variance(&params, &resids, bc, &bounds, &mut sigma2);
        Filtered {
            sigma2,
            backcast: bc,
        }
    }

    fn variance_path(&self, returns: &[f64], state: &Filtered, horizon: usize) -> Vec<f64> {
        let resids: Vec<f64> = returns.iter().map(|r| r - self.mu).collect();
        let vol = self.vol_vector();
        let params = recursion::VolParams::split(self.orders(), &vol);
        forecast_variance(&params, &resids, &state.sigma2, state.backcast, horizon)
    }

    /// In-sample conditional variances of a return series (percent² units), filtered with the
    /// fitted parameters, backcast from the series itself.
    pub fn conditional_variances(&self, returns: &[f64]) -> Vec<f64> {
        self.filter(returns).sigma2
    }

    /// Variance forecasts σ²_{T+1..T+H} after the last of `returns` (percent log returns, as
    /// fitted): the analytic GARCH forecasts, converging to [`Self::unconditional_variance`].
    pub fn forecast_returns_variance(&self, returns: &[f64], horizon: usize) -> Vec<f64> {
        let state = self.filter(returns);
        self.variance_path(returns, &state, horizon)
    }

    /// The returns (100 × log returns) of column `target` of `history`; errors on a value ≤ 0
    /// and on fewer than two rows.
    pub fn history_returns(&self, history: &TimeSeries) -> Result<Vec<f64>> {
        price_returns(history, &self.target)
    }

    /// Volatility forecast for the `horizon` steps after the last row of `history` (filtered
    /// with the fitted parameters, no refit): σ² and σ per step in percent, and σ annualized by
    /// √(rows per year) when the history's calendar gives a frequency ([`periods_per_year`]).
    pub fn volatility_forecast(
        &self,
        history: &TimeSeries,
        horizon: Horizon,
    ) -> Result<VolatilityForecast> {
        let returns = self.history_returns(history)?;
        let variance = self.forecast_returns_variance(&returns, horizon.get());
        let sigma: Vec<f64> = variance.iter().map(|v| v.sqrt()).collect();
        let periods = periods_per_year(history);
        let annualized = periods.map(|n| sigma.iter().map(|s| s * n.sqrt()).collect());
        Ok(VolatilityForecast {
            variance,
            sigma,
            periods_per_year: periods,
            annualized,
        })
    }

    /// The quantile multiplier of a central interval of coverage `level`.
    fn z(&self, level: f64) -> f64 {
        let p = 0.5 + level / 2.0;
        match self.nu {
            Some(nu) => standardized_t_quantile(p, nu),
            None => normal_quantile(p),
        }
    }
}

/// 100 × the log returns of column `target`; a value ≤ 0 is [`Error::NonPositive`].
fn price_returns(history: &TimeSeries, target: &str) -> Result<Vec<f64>> {
    let y = target_values("garch", history, target, 2)?;
    require_positive("garch", target, y, 0, "log returns")?;
    Ok(y.windows(2)
        .map(|w| RETURN_SCALE * (w[1] / w[0]).ln())
        .collect())
}

/// Rows per year of the series' calendar: 252 for business days, 52 × the weekdays seen for
/// other daily data, rows per session × 252 (weekdays only) or × 365 for sessions, rows per
/// week × 52 for weekly sessions, 12 for months, 365.25 days / step for regular data; `None`
/// for row numbers or fewer than two rows.
pub fn periods_per_year(series: &TimeSeries) -> Option<f64> {
    const DAY: f64 = 86_400_000.0;
    let calendar = series.calendar().ok()?;
    Some(match calendar {
        Calendar::Rows => return None,
        Calendar::BusinessDays => 252.0,
        Calendar::Days { weekdays } => 52.0 * f64::from(weekdays.count_ones()),
        Calendar::Session {
            step_ms,
            open_ms,
            last_ms,
            weekdays_only,
        } => {
            let span = (last_ms - open_ms).rem_euclid(86_400_000);
            let rows = (span / step_ms.max(1) + 1) as f64;
            rows * if weekdays_only { 252.0 } else { 365.0 }
        }
        Calendar::WeeklySession {
            step_ms,
            open_ms,
            last_ms,
        } => {
            let span = (last_ms - open_ms).rem_euclid(7 * 86_400_000);
            (span / step_ms.max(1) + 1) as f64 * 52.0
        }
        Calendar::Monthly { .. } => 12.0,
        other => 365.25 * DAY / other.step_ms().max(1) as f64,
    })
}

impl Fit for GarchConfig {
    type Fitted = FittedGarch;

    /// Fits to 100 × the log returns of the training column. Errors: invalid configuration, a
    /// missing or non-finite target, a value ≤ 0, or fewer than 21 rows.
    fn fit(&self, train: &TimeSeries, target: &str) -> nt_core::Result<FittedGarch> {
        self.validate()?;
        let returns = price_returns(train, target)?;
        Ok(self.fit_returns(target, &returns)?)
    }
}

impl Predict for FittedGarch {
    /// Price path of the mean return with bands from the cumulated GARCH variance (module
    /// docs), filtering `history` with the fitted parameters.
    fn predict(&self, history: &TimeSeries, horizon: Horizon) -> nt_core::Result<Forecast> {
        let returns = self.history_returns(history)?;
        let last = *history
            .finite_column(&self.target)?
            .last()
            .ok_or(nt_core::Error::InsufficientHistory { needed: 2, got: 0 })?;
        let variance = self.forecast_returns_variance(&returns, horizon.get());
        let mut cum = 0.0;
        let sd: Vec<f64> = variance
            .iter()
            .map(|v| {
                cum += v;
                cum.sqrt() / RETURN_SCALE
            })
            .collect();
        let drift: Vec<f64> = (1..=horizon.get())
            .map(|h| h as f64 * self.mu / RETURN_SCALE)
            .collect();
        let point: Vec<f64> = drift.iter().map(|d| last * d.exp()).collect();
        let mut forecast = Forecast::point(point);
        for &level in &self.levels {
            let z = self.z(level);
            let lower = drift
                .iter()
                .zip(&sd)
                .map(|(d, s)| last * (d - z * s).exp())
                .collect();
            let upper = drift
                .iter()
                .zip(&sd)
                .map(|(d, s)| last * (d + z * s).exp())
                .collect();
            forecast = forecast.with_interval(level, lower, upper)?;
        }
        Ok(forecast)
    }
}

#[cfg(test)]
mod tests;
