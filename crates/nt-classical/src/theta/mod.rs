//! The Theta family (standard, optimized, dynamic, dynamic optimized) as statsforecast
//! implements them.
//!
//! A port of statsforecast 2.1.1's `Theta`, `OptimizedTheta`, `DynamicTheta` and
//! `DynamicOptimizedTheta` (`auto_theta` with a fixed `model`, `theta.py` and `src/theta.cpp`):
//! 1. when `season_length ≥ 4` and the series holds two seasons, a 90% test on the
//!    autocorrelation at the seasonal lag; if it fires, statsmodels' classical decomposition
//!    (multiplicative by default, additive when configured, when the data has a value ≤ 0 or
//!    when a multiplicative index falls below 0.01) and the model is fitted to the
//!    deseasonalized series;
//! 2. the state-space Theta model of Fiorucci et al. (2016), its initial level, α and (for the
//!    optimized models) θ estimated by statsforecast's bounded Nelder–Mead on its in-sample
//!    criterion;
//! 3. point forecasts reseasonalized with the last season's indices; intervals from 200
//!    simulated paths drawn with NumPy's generator (seed 0), see `intervals`.
//!
//! # Forecasting from a new history without refitting
//! `predict(history, h)` does what statsforecast's `forward` does: it keeps the fitted
//! initial level, α and θ and runs steps 1–3 on `history` alone — the seasonality test and
//! the decomposition are redone on `history` (so its seasonal indices are in phase with its
//! last row whatever its length), the standard models' trend line is re-estimated from
//! `history` (it is a regression on the whole series by definition), and the recursions run
//! once over it. On the training data itself this reproduces the fitted model's forecast
//! exactly. A history that is not the training data's continuation is treated the same way:
//! the fitted initial level `ℓ₀` is applied to its first row, and its influence fades as
//! `(1 − α)^t` (α ≥ 0.1 unless fixed lower), so a history of a few dozen rows or more forecasts
//! essentially from its own data; a history on a very different scale from the training data
//! gets a poor start for those first rows. One deviation: statsforecast's `forward` always
//! decomposes multiplicatively (it does not pass `decomposition_type` on); here the configured
//! type is used, which is the same for the default.
//!
//! Cost: one pass of the recursions and one decomposition (linear in the history) per call;
//! fitting runs up to 1000 Nelder–Mead iterations of such passes.

mod decompose;
mod intervals;
mod model;
mod numpy_rng;
mod optim;

use nt_core::{Fit, Forecast, Horizon, Predict, TimeSeries};
use serde::{Deserialize, Serialize};

pub use decompose::DecompositionType;
pub use model::{ThetaKind, ThetaParams};

use crate::history::target_values;
use crate::stats::validate_levels;
use crate::{Error, Result};
use model::{Filtered, Fixed};

/// Rows every Theta model needs (statsforecast refuses `n ≤ 3`).
pub const MIN_ROWS: usize = 4;

/// Configuration of the Theta models (the kind comes from the model name:
/// `theta`, `optimized-theta`, `dynamic-theta`, `dynamic-optimized-theta`).
///
/// | name | default | purpose | range |
/// |---|---|---|---|
/// | `season_length` | `1` | rows per seasonal cycle; the seasonality test runs when ≥ 4 | ≥ 1 |
/// | `decomposition_type` | `"multiplicative"` | how a detected season is removed | `multiplicative`, `additive` |
/// | `initial_smoothed` | `None` | fixes the initial level instead of estimating it | finite |
/// | `alpha` | `None` | fixes the smoothing parameter | (0, 1] |
/// | `theta` | `None` | fixes θ (optimized kinds only; the standard kinds use 2) | ≥ 1, finite |
/// | `levels` | `[0.8, 0.95]` | coverage of the central prediction intervals | each in (0, 1), distinct |
/// | `simulations` | `200` | simulated paths behind the intervals (statsforecast: 200) | ≥ 10 |
/// | `seed` | `0` | seed of NumPy's generator for those paths (statsforecast: 0) | any |
///
/// statsforecast's model classes expose none of the fixed values; its `auto_theta` takes them,
/// and they are what `forward` uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThetaConfig {
    /// Rows per seasonal cycle; 1 for no seasonality.
    pub season_length: usize,
    /// Decomposition applied when the seasonality test fires.
    pub decomposition_type: DecompositionType,
    /// Fixed initial level (`None`: estimated).
    pub initial_smoothed: Option<f64>,
    /// Fixed α (`None`: estimated in [0.1, 0.99]).
    pub alpha: Option<f64>,
    /// Fixed θ for the optimized kinds (`None`: estimated in [1, 1e10]).
    pub theta: Option<f64>,
    /// Coverage levels of the prediction intervals.
    pub levels: Vec<f64>,
    /// Simulated paths behind the intervals.
    pub simulations: usize,
    /// Seed of the simulation.
    pub seed: u64,
}

impl Default for ThetaConfig {
    fn default() -> Self {
        Self {
            season_length: 1,
            decomposition_type: DecompositionType::Multiplicative,
            initial_smoothed: None,
            alpha: None,
            theta: None,
            levels: vec![0.8, 0.95],
            simulations: 200,
            seed: 0,
        }
    }
}

fn invalid(kind: ThetaKind, name: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidParameter {
        model: kind.name(),
        name,
        reason: reason.into(),
    }
}

impl ThetaConfig {
    /// Checks every field against the range in the table above for model `kind`.
    pub fn validate(&self, kind: ThetaKind) -> Result<()> {
        if self.season_length == 0 {
            return Err(invalid(
                kind,
                "season_length",
                "must be at least 1 (1 = no season)",
            ));
        }
        if let Some(l) = self.initial_smoothed {
            if !l.is_finite() {
                return Err(invalid(kind, "initial_smoothed", "must be finite"));
            }
        }
        if let Some(a) = self.alpha {
            if !(a > 0.0 && a <= 1.0) {
                return Err(invalid(kind, "alpha", format!("{a} is not in (0, 1]")));
            }
        }
        if let Some(t) = self.theta {
            if !kind.optimizes_theta() {
                return Err(invalid(
                    kind,
                    "theta",
                    "the standard Theta models use theta = 2; fix theta only with optimized-theta or dynamic-optimized-theta",
                ));
            }
            if !(t.is_finite() && t >= 1.0) {
                return Err(invalid(
                    kind,
                    "theta",
                    format!("{t} is not a finite value ≥ 1"),
                ));
            }
        }
        if self.simulations < 10 {
            return Err(invalid(kind, "simulations", "must be at least 10"));
        }
        validate_levels(kind.name(), &self.levels)
    }

    /// Fits model `kind` to column `target` of `train`. Errors: invalid configuration, a
    /// missing or non-finite target, fewer than [`MIN_ROWS`] rows, or an undefined criterion.
    pub fn fit_kind(
        &self,
        kind: ThetaKind,
        train: &TimeSeries,
        target: &str,
    ) -> Result<FittedTheta> {
        self.validate(kind)?;
        let y = target_values(kind.name(), train, target, MIN_ROWS)?;
        let prepared = prepare(y, self.season_length, self.decomposition_type);
        let fixed = Fixed {
            initial_smoothed: self.initial_smoothed,
            alpha: self.alpha,
            theta: self.theta,
        };
        let est = model::estimate(&prepared.adjusted, kind, fixed);
        let pass = Pass::run(kind, &prepared, &est.params)?;
        Ok(FittedTheta {
            target: target.to_string(),
            kind,
            season_length: self.season_length,
            decomposition_type: self.decomposition_type,
            params: est.params,
            fit: FitSummary {
                decomposition: prepared.decomposition.as_ref().map(|(k, _)| *k),
                seasonal_indices: pass.seasonal_next.clone().unwrap_or_default(),
                mse: pass.filtered.mse,
                amse: pass.filtered.amse.to_vec(),
                sigma: pass.sigma,
                objective: est.objective,
                iterations: est.iterations,
                n: y.len(),
            },
            levels: self.levels.clone(),
            simulations: self.simulations,
            seed: self.seed,
        })
    }
}

/// A series after the seasonality test: the values the model is fitted to and the seasonal
/// component removed (with the decomposition actually used).
struct Prepared {
    adjusted: Vec<f64>,
    decomposition: Option<(DecompositionType, Vec<f64>)>,
    /// Season length.
    m: usize,
}

fn prepare(y: &[f64], m: usize, requested: DecompositionType) -> Prepared {
    match decompose::deseasonalize(y, m, requested) {
        Some((kind, season)) => Prepared {
            adjusted: decompose::remove(y, &season, kind),
            decomposition: Some((kind, season)),
            m,
        },
        None => Prepared {
            adjusted: y.to_vec(),
            decomposition: None,
            m,
        },
    }
}

/// One pass of the model over a prepared series: what forecasting needs.
struct Pass {
    filtered: Filtered,
    /// statsforecast's `sigma`: standard deviation (ddof 1) of the residuals after the first
    /// three, the residuals *reseasonalized* (multiplied by, or for an additive decomposition
    /// added to, the seasonal component) as `auto_theta` stores them.
    sigma: f64,
    n: usize,
    mean_y: f64,
    /// The seasonal indices of the next `m` rows.
    seasonal_next: Option<Vec<f64>>,
    decomposition: Option<DecompositionType>,
}

impl Pass {
    fn run(kind: ThetaKind, prepared: &Prepared, params: &ThetaParams) -> Result<Self> {
        let y = &prepared.adjusted;
        let filtered = model::filter(y, kind, params, true);
        if !filtered.mse.is_finite() {
            return Err(Error::Core(nt_core::Error::model(
                kind.name(),
                format!(
                    "the in-sample criterion is undefined with parameters {params:?} (statsforecast: \"no model able to be fitted\")"
                ),
            )));
        }
        let mut residuals = filtered.residuals.clone();
        let (mut seasonal_next, mut decomposition) = (None, None);
        if let Some((dk, season)) = &prepared.decomposition {
            for (e, s) in residuals.iter_mut().zip(season) {
                match dk {
                    DecompositionType::Multiplicative => *e *= s,
                    DecompositionType::Additive => *e += s,
                }
            }
            seasonal_next = Some(season[season.len() - prepared.m..].to_vec());
            decomposition = Some(*dk);
        }
        let tail = if residuals.len() - 3 >= 2 {
            &residuals[3..]
        } else {
            &residuals[..]
        };
        let sigma = std_ddof1(tail);
        let n = y.len();
        let mean_y = y.iter().sum::<f64>() / n as f64;
        Ok(Self {
            filtered,
            sigma,
            n,
            mean_y,
            seasonal_next,
            decomposition,
        })
    }

    fn forecast(
        &self,
        kind: ThetaKind,
        params: &ThetaParams,
        h: usize,
        levels: &[f64],
        simulations: usize,
        seed: u64,
    ) -> Result<Forecast> {
        let mean = model::forecast(&self.filtered.last, self.n, kind, params, h);
        let mut bands = Vec::with_capacity(levels.len());
        if !levels.is_empty() {
            let origin = intervals::Origin {
                last: &self.filtered.last,
                n: self.n,
                mean_y: self.mean_y,
                sigma: self.sigma,
            };
            let paths = intervals::simulate(origin, h, params, simulations, seed);
            for &level in levels {
                let (qlo, qhi) = intervals::quantile_pair(level);
                let lo: Vec<f64> = paths
                    .iter()
                    .map(|s| intervals::quantile_f32(s, qlo))
                    .collect();
                let hi: Vec<f64> = paths
                    .iter()
                    .map(|s| intervals::quantile_f32(s, qhi))
                    .collect();
                bands.push((level, lo, hi));
            }
        }
        let reseason = |v: &mut Vec<f64>| {
            if let (Some(dk), Some(s)) = (self.decomposition, &self.seasonal_next) {
                for (j, x) in v.iter_mut().enumerate() {
                    match dk {
                        DecompositionType::Multiplicative => *x *= s[j % s.len()],
                        DecompositionType::Additive => *x += s[j % s.len()],
                    }
                }
            }
        };
        let mut mean = mean;
        reseason(&mut mean);
        let mut out = Forecast::point(mean);
        for (level, mut lo, mut hi) in bands {
            reseason(&mut lo);
            reseason(&mut hi);
            out = out.with_interval(level, lo, hi)?;
        }
        Ok(out)
    }
}

fn std_ddof1(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0)).sqrt()
}

/// What the fit found, for reports and tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitSummary {
    /// The decomposition applied to the training data (`None`: the test found no season).
    pub decomposition: Option<DecompositionType>,
    /// Seasonal indices of the `season_length` rows after the training data (empty when not
    /// decomposed).
    pub seasonal_indices: Vec<f64>,
    /// statsforecast's `mse` (its in-sample criterion: `Σ_{t≥3} e_t² / mean|y|` on the
    /// deseasonalized series).
    pub mse: f64,
    /// Mean squared in-sample 1-, 2- and 3-step errors (deseasonalized).
    pub amse: Vec<f64>,
    /// Standard deviation of the interval simulation's errors.
    pub sigma: f64,
    /// The criterion at the optimum (`None`: nothing was estimated).
    pub objective: Option<f64>,
    /// Nelder–Mead iterations (statsforecast's count).
    pub iterations: usize,
    /// Training rows.
    pub n: usize,
}

/// A fitted Theta model: its kind, parameters and settings; forecasts any history by one pass
/// of the recursions (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedTheta {
    target: String,
    kind: ThetaKind,
    season_length: usize,
    decomposition_type: DecompositionType,
    params: ThetaParams,
    fit: FitSummary,
    levels: Vec<f64>,
    simulations: usize,
    seed: u64,
}

impl FittedTheta {
    /// Which Theta model.
    pub fn kind(&self) -> ThetaKind {
        self.kind
    }

    /// The fitted initial level, α and θ.
    pub fn params(&self) -> ThetaParams {
        self.params
    }

    /// What the fit found on the training data.
    pub fn summary(&self) -> &FitSummary {
        &self.fit
    }
}

impl Predict for FittedTheta {
    /// statsforecast's `forward`: the fitted parameters run over `history` (see the module
    /// docs). Errors: a missing or non-finite target, fewer than [`MIN_ROWS`] rows.
    fn predict(&self, history: &TimeSeries, horizon: Horizon) -> nt_core::Result<Forecast> {
        let y = target_values(self.kind.name(), history, &self.target, MIN_ROWS)?;
        let prepared = prepare(y, self.season_length, self.decomposition_type);
        let pass = Pass::run(self.kind, &prepared, &self.params)?;
        Ok(pass.forecast(
            self.kind,
            &self.params,
            horizon.get(),
            &self.levels,
            self.simulations,
            self.seed,
        )?)
    }
}

/// Model `kind` with its configuration: what implements [`Fit`] for a Theta model.
#[derive(Debug, Clone, PartialEq)]
pub struct ThetaModel {
    /// Which Theta model.
    pub kind: ThetaKind,
    /// Its configuration.
    pub config: ThetaConfig,
}

impl Fit for ThetaModel {
    type Fitted = FittedTheta;

    fn fit(&self, train: &TimeSeries, target: &str) -> nt_core::Result<FittedTheta> {
        Ok(self.config.fit_kind(self.kind, train, target)?)
    }
}
