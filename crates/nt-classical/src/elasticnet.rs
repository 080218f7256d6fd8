//! Direct multi-horizon elastic net on lagged windows (linfa-elasticnet).
//!
//! Training pairs are the sliding windows of `nt_data::sliding_windows`: `input_size` past
//! values and the `horizon` values after them. Each window is normalized by its last value
//! `x_L` so that one model serves every price level:
//!
//! * [`Normalization::Difference`] (default): features `x_i − x_L`, targets `y_h − x_L`
//!   (invariant to shifts of the level; any sign of data);
//! * [`Normalization::Ratio`]: features `x_i / x_L − 1`, targets `y_h / x_L − 1` (simple returns
//!   relative to the last value; invariant to the scale of prices; needs positive data).
//!
//! The last feature (`x_L` against itself) is always 0 and is dropped, so a window yields
//! `input_size − 1` features. Features and each step's target are standardized with their
//! training mean and standard deviation, which makes `alpha` comparable across data sets.
//!
//! DIRECT strategy: one elastic net per horizon step (`horizon` independent fits, each with the
//! sklearn/linfa objective `1/(2n)‖y − Xw‖² + α·ρ‖w‖₁ + α(1 − ρ)/2·‖w‖²`). linfa also offers
//! `MultiTaskElasticNet`, but its L2,1 penalty forces every step to use the same lags; the
//! independent fits do not.
//!
//! Intervals are empirical: for each step, the `(1 ∓ level)/2` quantiles of the in-sample
//! residuals on the training windows (normalized scale), added to the normalized point
//! forecast and mapped back. In-sample residuals understate out-of-sample error, so the bands
//! are optimistic, more so with many lags and little regularization.

use linfa::traits::Fit as _;
use linfa::Dataset;
use linfa_elasticnet::ElasticNet;
use ndarray::{Array1, Array2};
use nt_core::{Fit, Forecast, Horizon, Predict, TimeSeries};
use nt_data::{sliding_windows, WindowSpec};
use serde::{Deserialize, Serialize};

use crate::history::{require_positive, target_values};
use crate::stats::{quantile_sorted, validate_levels};
use crate::{Error, Result};

/// How each window is normalized by its last value `x_L`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Normalization {
    /// `x − x_L`: level-shift invariant; works for any sign.
    #[default]
    Difference,
    /// `x / x_L − 1`: scale invariant (returns); needs strictly positive data.
    Ratio,
}

impl Normalization {
    fn forward(self, x: f64, last: f64) -> f64 {
        match self {
            Normalization::Difference => x - last,
            Normalization::Ratio => x / last - 1.0,
        }
    }

    fn inverse(self, t: f64, last: f64) -> f64 {
        match self {
            Normalization::Difference => last + t,
            Normalization::Ratio => last * (1.0 + t),
        }
    }
}

/// Configuration of [`FittedElasticNet`].
///
/// | name | default | purpose | range |
/// |---|---|---|---|
/// | `input_size` | `48` | past values per window (lags) | ≥ 2 |
/// | `horizon` | `24` | steps fitted (one regression each); `predict` accepts up to this many | ≥ 1 |
/// | `alpha` | `0.01` | penalty strength on standardized features and targets | ≥ 0 |
/// | `l1_ratio` | `0.5` | share of the L1 penalty (1 = lasso, 0 = ridge) | [0, 1] |
/// | `max_iter` | `1000` | coordinate-descent sweeps per regression | ≥ 1 |
/// | `tol` | `1e-4` | coordinate-descent tolerance | > 0 |
/// | `normalization` | `difference` | per-window normalization: `difference` or `ratio` | — |
/// | `stride` | `1` | rows between consecutive training windows | ≥ 1 |
/// | `max_windows` | `Some(2000)` | train on the most recent windows only (coordinate descent is linear in the window count: 14k windows × 168 lags × 24 steps took 210 s); `None` = all | ≥ 1 |
/// | `levels` | `[0.8, 0.95]` | coverage of the empirical prediction intervals | each in (0, 1), distinct |
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ElasticNetConfig {
    /// Past values per window.
    pub input_size: usize,
    /// Steps fitted.
    pub horizon: usize,
    /// Penalty strength.
    pub alpha: f64,
    /// Share of the L1 penalty.
    pub l1_ratio: f64,
    /// Coordinate-descent sweeps.
    pub max_iter: usize,
    /// Coordinate-descent tolerance.
    pub tol: f64,
    /// Per-window normalization.
    pub normalization: Normalization,
    /// Rows between training windows.
    pub stride: usize,
    /// Most recent training windows used (`None`: all).
    pub max_windows: Option<usize>,
    /// Coverage levels of the prediction intervals.
    pub levels: Vec<f64>,
}

impl Default for ElasticNetConfig {
    fn default() -> Self {
        Self {
            input_size: 48,
            horizon: 24,
            alpha: 0.01,
            l1_ratio: 0.5,
            max_iter: 1000,
            tol: 1e-4,
            normalization: Normalization::Difference,
            stride: 1,
            max_windows: Some(2000),
            levels: vec![0.8, 0.95],
        }
    }
}

impl ElasticNetConfig {
    /// Checks every field against the range in the table above.
    pub fn validate(&self) -> Result<()> {
        let invalid = |name, reason: &str| {
            Err(Error::InvalidParameter {
                model: "elasticnet",
                name,
                reason: reason.to_string(),
            })
        };
        if self.input_size < 2 {
            return invalid(
                "input_size",
                "must be at least 2 (the last value normalizes the others)",
            );
        }
        if self.horizon == 0 {
            return invalid("horizon", "must be at least 1");
        }
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return invalid("alpha", "must be finite and ≥ 0");
        }
        if !(0.0..=1.0).contains(&self.l1_ratio) {
            return invalid("l1_ratio", "must be in [0, 1]");
        }
        if self.max_iter == 0 || self.max_iter > u32::MAX as usize {
            return invalid("max_iter", "must be in 1..=4294967295");
        }
        if !(self.tol.is_finite() && self.tol > 0.0) {
            return invalid("tol", "must be finite and > 0");
        }
        if self.stride == 0 {
            return invalid("stride", "must be at least 1");
        }
        if self.max_windows == Some(0) {
            return invalid(
                "max_windows",
                "must be at least 1 (or unset for all windows)",
            );
        }
        validate_levels("elasticnet", &self.levels)
    }
}

/// Mean and standard deviation (population) of each column; a near-constant column gets scale
/// 1 so that it standardizes to 0.
fn standardizer(
    columns: usize,
    rows: usize,
    value: impl Fn(usize, usize) -> f64,
) -> (Vec<f64>, Vec<f64>) {
    let mut means = vec![0.0; columns];
    let mut scales = vec![1.0; columns];
    for j in 0..columns {
        let mean = (0..rows).map(|i| value(i, j)).sum::<f64>() / rows as f64;
        let var = (0..rows).map(|i| (value(i, j) - mean).powi(2)).sum::<f64>() / rows as f64;
        means[j] = mean;
        let sd = var.sqrt();
        if sd > 1e-12 * mean.abs().max(1.0) {
            scales[j] = sd;
        }
    }
    (means, scales)
}

/// One central interval of the residual distribution of every step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ResidualBand {
    level: f64,
    lower: Vec<f64>,
    upper: Vec<f64>,
}

/// A fitted [`ElasticNetConfig`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedElasticNet {
    target: String,
    input_size: usize,
    normalization: Normalization,
    feature_mean: Vec<f64>,
    feature_scale: Vec<f64>,
    target_mean: Vec<f64>,
    target_scale: Vec<f64>,
    /// `coefficients[h]`: one weight per standardized feature for step h + 1.
    coefficients: Vec<Vec<f64>>,
    intercepts: Vec<f64>,
    bands: Vec<ResidualBand>,
    residual_rmse: Vec<f64>,
    n_windows: usize,
}

impl FittedElasticNet {
    /// The horizon fitted: `predict` accepts at most this many steps.
    pub fn horizon(&self) -> usize {
        self.coefficients.len()
    }

    /// Past values each forecast reads.
    pub fn input_size(&self) -> usize {
        self.input_size
    }

    /// Number of training windows.
    pub fn n_windows(&self) -> usize {
        self.n_windows
    }

    /// In-sample root mean square residual of each step, on the normalized scale (differences
    /// or returns relative to the last input value).
    pub fn residual_rmse(&self) -> &[f64] {
        &self.residual_rmse
    }

    /// Normalized point forecast of every fitted step from the last `input_size` values.
    fn normalized_forecast(&self, window: &[f64]) -> Vec<f64> {
        let last = window[window.len() - 1];
        let z: Vec<f64> = window[..window.len() - 1]
            .iter()
            .enumerate()
            .map(|(j, x)| {
                (self.normalization.forward(*x, last) - self.feature_mean[j])
                    / self.feature_scale[j]
            })
            .collect();
        self.coefficients
            .iter()
            .zip(&self.intercepts)
            .enumerate()
            .map(|(h, (w, b))| {
                let standardized = b + w.iter().zip(&z).map(|(wj, zj)| wj * zj).sum::<f64>();
                self.target_mean[h] + self.target_scale[h] * standardized
            })
            .collect()
    }
}

impl Fit for ElasticNetConfig {
    type Fitted = FittedElasticNet;

    /// Cuts the training windows, fits one elastic net per step and collects the residual
    /// quantiles. Needs `input_size + horizon` rows (one window); `ratio` normalization needs
    /// strictly positive values.
    fn fit(&self, train: &TimeSeries, target: &str) -> nt_core::Result<FittedElasticNet> {
        self.validate()?;
        let y = target_values("elasticnet", train, target, self.input_size + self.horizon)?;
        if self.normalization == Normalization::Ratio {
            require_positive("elasticnet", target, y, 0, "ratio normalization")?;
        }
        // Only the rows the most recent `max_windows` windows need (windows end at the last row).
        let y = match self.max_windows {
            Some(max) => {
                let rows = (max - 1) * self.stride + self.input_size + self.horizon;
                &y[y.len().saturating_sub(rows)..]
            }
            None => y,
        };
        let windows = sliding_windows(
            y,
            WindowSpec {
                input_size: self.input_size,
                horizon: self.horizon,
                step: self.stride,
            },
        )?;
        let n = windows.len();
        let p = self.input_size - 1;
        let norm = self.normalization;
        let feature = |i: usize, j: usize| {
            let w = windows.input(i);
            norm.forward(w[j], w[p])
        };
        let target_at =
            |i: usize, h: usize| norm.forward(windows.target(i)[h], windows.input(i)[p]);
        let (feature_mean, feature_scale) = standardizer(p, n, feature);
        let (target_mean, target_scale) = standardizer(self.horizon, n, target_at);
        let x = Array2::from_shape_fn((n, p), |(i, j)| {
            (feature(i, j) - feature_mean[j]) / feature_scale[j]
        });

        let mut coefficients = Vec::with_capacity(self.horizon);
        let mut intercepts = Vec::with_capacity(self.horizon);
        let mut residuals: Vec<Vec<f64>> = Vec::with_capacity(self.horizon);
        for h in 0..self.horizon {
            let t =
                Array1::from_shape_fn(n, |i| (target_at(i, h) - target_mean[h]) / target_scale[h]);
            let dataset = Dataset::new(x.clone(), t.clone());
            let model = ElasticNet::params()
                .penalty(self.alpha)
                .l1_ratio(self.l1_ratio)
                .max_iterations(self.max_iter as u32)
                .tolerance(self.tol)
                .with_intercept(true)
                .fit(&dataset)
                .map_err(|e| Error::Regression {
                    step: h + 1,
                    reason: e.to_string(),
                })?;
            let w = model.hyperplane().to_vec();
            let b = model.intercept();
            let fitted = x.dot(model.hyperplane()) + b;
            let mut r: Vec<f64> = fitted
                .iter()
                .zip(&t)
                .map(|(f, t)| (t - f) * target_scale[h])
                .collect();
            r.sort_by(f64::total_cmp);
            residuals.push(r);
            coefficients.push(w);
            intercepts.push(b);
        }
        let bands = self
            .levels
            .iter()
            .map(|&level| ResidualBand {
                level,
                lower: residuals
                    .iter()
                    .map(|r| quantile_sorted(r, (1.0 - level) / 2.0))
                    .collect(),
                upper: residuals
                    .iter()
                    .map(|r| quantile_sorted(r, (1.0 + level) / 2.0))
                    .collect(),
            })
            .collect();
        let residual_rmse = residuals
            .iter()
            .map(|r| (r.iter().map(|v| v * v).sum::<f64>() / r.len() as f64).sqrt())
            .collect();
        Ok(FittedElasticNet {
            target: target.to_string(),
            input_size: self.input_size,
            normalization: norm,
            feature_mean,
            feature_scale,
            target_mean,
            target_scale,
            coefficients,
            intercepts,
            bands,
            residual_rmse,
            n_windows: n,
        })
    }
}

impl Predict for FittedElasticNet {
    /// Forecasts from the last `input_size` rows of `history`. A horizon longer than the fitted
    /// one is an error ([`Error::HorizonTooLong`]); a shorter one returns the first steps.
    fn predict(&self, history: &TimeSeries, horizon: Horizon) -> nt_core::Result<Forecast> {
        let h = horizon.get();
        if h > self.horizon() {
            return Err(Error::HorizonTooLong {
                model: "elasticnet",
                fitted: self.horizon(),
                requested: h,
            }
            .into());
        }
        let y = target_values("elasticnet", history, &self.target, self.input_size)?;
        let window = &y[y.len() - self.input_size..];
        if self.normalization == Normalization::Ratio {
            require_positive(
                "elasticnet",
                &self.target,
                window,
                y.len() - self.input_size,
                "ratio normalization",
            )?;
        }
        let last = window[self.input_size - 1];
        let t = self.normalized_forecast(window);
        let map = |offsets: Option<&[f64]>| -> Vec<f64> {
            (0..h)
                .map(|k| {
                    let shift = offsets.map_or(0.0, |o| o[k]);
                    self.normalization.inverse(t[k] + shift, last)
                })
                .collect()
        };
        let mut forecast = Forecast::point(map(None));
        for band in &self.bands {
            forecast = forecast.with_interval(
                band.level,
                map(Some(&band.lower)),
                map(Some(&band.upper)),
            )?;
        }
        Ok(forecast)
    }
}
