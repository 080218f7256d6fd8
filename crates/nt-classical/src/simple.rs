//! The four benchmark methods of Hyndman & Athanasopoulos, *Forecasting: Principles and
//! Practice* (3rd ed.), §5.2 and §5.5: naive (random walk), seasonal naive, drift and mean, with
//! the same prediction intervals as statsforecast's `Naive`, `SeasonalNaive`,
//! `RandomWalkWithDrift` and `HistoricAverage`.
//!
//! What is learned at `fit` (the residual scale, the drift slope, the mean) comes from the
//! training data only; what `predict` reads from `history` is its last value(s).

use nt_core::{Fit, Forecast, Horizon, Predict, TimeSeries};
use serde::{Deserialize, Serialize};

use crate::history::target_values;
use crate::stats::{gaussian_forecast, validate_levels};
use crate::{Error, Result};

fn default_levels() -> Vec<f64> {
    vec![0.8, 0.95]
}

/// Root mean square of `residuals` with divisor `dof` (statsforecast's `_calculate_sigma`).
fn rms(residuals: impl Iterator<Item = f64>, dof: usize) -> f64 {
    let sum: f64 = residuals.map(|r| r * r).sum();
    if dof == 0 {
        0.0
    } else {
        (sum / dof as f64).sqrt()
    }
}

/// Naive (random walk) forecaster: every step is the last observed value.
///
/// | name | default | purpose | range |
/// |---|---|---|---|
/// | `levels` | `[0.8, 0.95]` | coverage of the central prediction intervals | each in (0, 1), distinct |
///
/// Intervals: `last ± z · σ · √h`, where σ is the root mean square of the one-step differences
/// of the training data (divisor T − 1), as statsforecast and fpp3 §5.5 do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NaiveConfig {
    /// Coverage levels of the prediction intervals, e.g. 0.8 for an 80% interval.
    pub levels: Vec<f64>,
}

impl Default for NaiveConfig {
    fn default() -> Self {
        Self {
            levels: default_levels(),
        }
    }
}

impl NaiveConfig {
    /// Checks every field against the range in the table above.
    pub fn validate(&self) -> Result<()> {
        validate_levels("naive", &self.levels)
    }
}

/// A fitted [`NaiveConfig`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedNaive {
    target: String,
    sigma: f64,
    levels: Vec<f64>,
}

impl FittedNaive {
    /// σ, the root mean square one-step difference of the training data.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }
}

impl Fit for NaiveConfig {
    type Fitted = FittedNaive;

    /// Needs at least 2 training rows (one difference).
    fn fit(&self, train: &TimeSeries, target: &str) -> nt_core::Result<FittedNaive> {
        self.validate()?;
        let y = target_values("naive", train, target, 2)?;
        let sigma = rms(y.windows(2).map(|w| w[1] - w[0]), y.len() - 1);
        Ok(FittedNaive {
            target: target.to_string(),
            sigma,
            levels: self.levels.clone(),
        })
    }
}

impl Predict for FittedNaive {
    /// Needs at least 1 history row.
    fn predict(&self, history: &TimeSeries, horizon: Horizon) -> nt_core::Result<Forecast> {
        let y = target_values("naive", history, &self.target, 1)?;
        let last = y[y.len() - 1];
        let h = horizon.get();
        let sd: Vec<f64> = (1..=h).map(|k| self.sigma * (k as f64).sqrt()).collect();
        Ok(gaussian_forecast(vec![last; h], &sd, &self.levels)?)
    }
}

/// Seasonal naive forecaster: step `h` is the value observed one season before it,
/// `y[T + h − m·(⌊(h − 1)/m⌋ + 1)]`.
///
/// | name | default | purpose | range |
/// |---|---|---|---|
/// | `season` | `24` | season length m in rows (24 for hourly data with a daily cycle) | ≥ 1 |
/// | `levels` | `[0.8, 0.95]` | coverage of the central prediction intervals | each in (0, 1), distinct |
///
/// Intervals: `point ± z · σ · √(⌊(h − 1)/m⌋ + 1)`, where σ is the root mean square of the
/// training residuals `y[t] − y[t − m]` (divisor T − m), as statsforecast's `SeasonalNaive`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeasonalNaiveConfig {
    /// Season length m in rows.
    pub season: usize,
    /// Coverage levels of the prediction intervals.
    pub levels: Vec<f64>,
}

impl Default for SeasonalNaiveConfig {
    fn default() -> Self {
        Self {
            season: 24,
            levels: default_levels(),
        }
    }
}

impl SeasonalNaiveConfig {
    /// Checks every field against the range in the table above.
    pub fn validate(&self) -> Result<()> {
        if self.season == 0 {
            return Err(Error::InvalidParameter {
                model: "seasonal-naive",
                name: "season",
                reason: "must be at least 1".into(),
            });
        }
        validate_levels("seasonal-naive", &self.levels)
    }
}

/// A fitted [`SeasonalNaiveConfig`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedSeasonalNaive {
    target: String,
    season: usize,
    sigma: f64,
    levels: Vec<f64>,
}

impl FittedSeasonalNaive {
    /// σ, the root mean square seasonal difference of the training data.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }
}

impl Fit for SeasonalNaiveConfig {
    type Fitted = FittedSeasonalNaive;

    /// Needs at least `season + 1` training rows (one seasonal difference).
    fn fit(&self, train: &TimeSeries, target: &str) -> nt_core::Result<FittedSeasonalNaive> {
        self.validate()?;
        let m = self.season;
        let y = target_values("seasonal-naive", train, target, m + 1)?;
        let sigma = rms(y[m..].iter().zip(y).map(|(a, b)| a - b), y.len() - m);
        Ok(FittedSeasonalNaive {
            target: target.to_string(),
            season: m,
            sigma,
            levels: self.levels.clone(),
        })
    }
}

impl Predict for FittedSeasonalNaive {
    /// Needs at least `season` history rows (the last full season).
    fn predict(&self, history: &TimeSeries, horizon: Horizon) -> nt_core::Result<Forecast> {
        let m = self.season;
        let y = target_values("seasonal-naive", history, &self.target, m)?;
        let last_season = &y[y.len() - m..];
        let h = horizon.get();
        let point = (0..h).map(|i| last_season[i % m]).collect();
        let sd: Vec<f64> = (0..h)
            .map(|i| self.sigma * ((i / m) as f64 + 1.0).sqrt())
            .collect();
        Ok(gaussian_forecast(point, &sd, &self.levels)?)
    }
}

/// Drift forecaster (random walk with drift): `last + h · slope`, with the slope
/// `(y[T] − y[1]) / (T − 1)` of the line from the first to the last training value.
///
/// | name | default | purpose | range |
/// |---|---|---|---|
/// | `levels` | `[0.8, 0.95]` | coverage of the central prediction intervals | each in (0, 1), distinct |
///
/// Intervals (fpp3 §5.5): `point ± z · σ · √(h · (1 + h / (T − 1)))`, where T is the training
/// length and σ the root mean square of the training residuals `y[t] − y[t − 1] − slope`
/// (divisor T − 1), as statsforecast's `RandomWalkWithDrift`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DriftConfig {
    /// Coverage levels of the prediction intervals.
    pub levels: Vec<f64>,
}

impl Default for DriftConfig {
    fn default() -> Self {
        Self {
            levels: default_levels(),
        }
    }
}

impl DriftConfig {
    /// Checks every field against the range in the table above.
    pub fn validate(&self) -> Result<()> {
        validate_levels("drift", &self.levels)
    }
}

/// A fitted [`DriftConfig`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedDrift {
    target: String,
    slope: f64,
    sigma: f64,
    n_train: usize,
    levels: Vec<f64>,
}

impl FittedDrift {
    /// The drift per row learned from the training data.
    pub fn slope(&self) -> f64 {
        self.slope
    }

    /// σ, the root mean square one-step residual of the training data.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }
}

impl Fit for DriftConfig {
    type Fitted = FittedDrift;

    /// Needs at least 2 training rows.
    fn fit(&self, train: &TimeSeries, target: &str) -> nt_core::Result<FittedDrift> {
        self.validate()?;
        let y = target_values("drift", train, target, 2)?;
        let n = y.len();
        let slope = (y[n - 1] - y[0]) / (n - 1) as f64;
        let sigma = rms(y.windows(2).map(|w| w[1] - w[0] - slope), n - 1);
        Ok(FittedDrift {
            target: target.to_string(),
            slope,
            sigma,
            n_train: n,
            levels: self.levels.clone(),
        })
    }
}

impl Predict for FittedDrift {
    /// Needs at least 1 history row.
    fn predict(&self, history: &TimeSeries, horizon: Horizon) -> nt_core::Result<Forecast> {
        let y = target_values("drift", history, &self.target, 1)?;
        let last = y[y.len() - 1];
        let h = horizon.get();
        let t_minus_1 = (self.n_train - 1) as f64;
        let point = (1..=h).map(|k| last + k as f64 * self.slope).collect();
        let sd: Vec<f64> = (1..=h)
            .map(|k| {
                let k = k as f64;
                self.sigma * (k * (1.0 + k / t_minus_1)).sqrt()
            })
            .collect();
        Ok(gaussian_forecast(point, &sd, &self.levels)?)
    }
}

/// Mean (historic average) forecaster: every step is the mean of the training data.
///
/// | name | default | purpose | range |
/// |---|---|---|---|
/// | `levels` | `[0.8, 0.95]` | coverage of the central prediction intervals | each in (0, 1), distinct |
///
/// Intervals (fpp3 §5.5): `mean ± z · s · √(1 + 1/T)`, with s the sample standard deviation of
/// the training data (divisor T − 1). `predict` checks the history's target column but does not
/// use its values: the forecast is the training mean wherever the history ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MeanConfig {
    /// Coverage levels of the prediction intervals.
    pub levels: Vec<f64>,
}

impl Default for MeanConfig {
    fn default() -> Self {
        Self {
            levels: default_levels(),
        }
    }
}

impl MeanConfig {
    /// Checks every field against the range in the table above.
    pub fn validate(&self) -> Result<()> {
        validate_levels("mean", &self.levels)
    }
}

/// A fitted [`MeanConfig`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedMean {
    target: String,
    mean: f64,
    sigma: f64,
    n_train: usize,
    levels: Vec<f64>,
}

impl FittedMean {
    /// The training mean (the forecast).
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The training standard deviation (divisor T − 1).
    pub fn sigma(&self) -> f64 {
        self.sigma
    }
}

impl Fit for MeanConfig {
    type Fitted = FittedMean;

    /// Needs at least 2 training rows (a standard deviation).
    fn fit(&self, train: &TimeSeries, target: &str) -> nt_core::Result<FittedMean> {
        self.validate()?;
        let y = target_values("mean", train, target, 2)?;
        let n = y.len();
        let mean = y.iter().sum::<f64>() / n as f64;
        let sigma = rms(y.iter().map(|v| v - mean), n - 1);
        Ok(FittedMean {
            target: target.to_string(),
            mean,
            sigma,
            n_train: n,
            levels: self.levels.clone(),
        })
    }
}

impl Predict for FittedMean {
    /// The history must hold the target column with finite values; any length is accepted.
    fn predict(&self, history: &TimeSeries, horizon: Horizon) -> nt_core::Result<Forecast> {
        target_values("mean", history, &self.target, 0)?;
        let h = horizon.get();
        let sd = vec![self.sigma * (1.0 + 1.0 / self.n_train as f64).sqrt(); h];
        Ok(gaussian_forecast(vec![self.mean; h], &sd, &self.levels)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: &[f64]) -> TimeSeries {
        TimeSeries::from_values("y", values.to_vec())
    }

    fn h(steps: usize) -> Horizon {
        Horizon::new(steps).unwrap()
    }

    // z for a 95% interval, scipy.stats.norm.ppf(0.975).
    const Z95: f64 = 1.959963984540054;

    #[test]
    fn naive_by_hand() {
        // Differences of [1, 3, 2, 6]: 2, -1, 4; σ = √((4 + 1 + 16) / 3) = √7.
        let m = NaiveConfig { levels: vec![0.95] }
            .fit(&series(&[1.0, 3.0, 2.0, 6.0]), "y")
            .unwrap();
        assert!((m.sigma() - 7f64.sqrt()).abs() < 1e-12);
        // History ends at 10: forecast 10 for both steps, half-width z·√7·√h.
        let f = m.predict(&series(&[4.0, 10.0]), h(2)).unwrap();
        assert_eq!(f.point_values(), &[10.0, 10.0]);
        let (lo, hi) = f.interval(0.95).unwrap();
        assert!((hi[0] - (10.0 + Z95 * 7f64.sqrt())).abs() < 1e-12);
        assert!((lo[1] - (10.0 - Z95 * 14f64.sqrt())).abs() < 1e-12);
    }

    #[test]
    fn seasonal_naive_by_hand() {
        // m = 2, train [1, 2, 4, 3, 5, 6]: seasonal differences 3, 1, 1, 3 -> σ = √(20 / 4) = √5.
        let cfg = SeasonalNaiveConfig {
            season: 2,
            levels: vec![0.95],
        };
        let m = cfg
            .fit(&series(&[1.0, 2.0, 4.0, 3.0, 5.0, 6.0]), "y")
            .unwrap();
        assert!((m.sigma() - 5f64.sqrt()).abs() < 1e-12);
        // History ending [.., 7, 8]: steps 1..5 repeat 7, 8, 7, 8, 7; the multiplier √(⌊(h−1)/2⌋+1)
        // is 1, 1, √2, √2, √3.
        let f = m.predict(&series(&[0.0, 7.0, 8.0]), h(5)).unwrap();
        assert_eq!(f.point_values(), &[7.0, 8.0, 7.0, 8.0, 7.0]);
        let (_, hi) = f.interval(0.95).unwrap();
        for (i, k) in [1.0, 1.0, 2.0, 2.0, 3.0f64].iter().enumerate() {
            let expected = f.point_values()[i] + Z95 * 5f64.sqrt() * k.sqrt();
            assert!((hi[i] - expected).abs() < 1e-12, "step {i}");
        }
    }

    #[test]
    fn drift_by_hand() {
        // Train [1, 2, 4, 7]: slope (7 − 1)/3 = 2; residuals 1−2, 2−2, 3−2 = −1, 0, 1;
        // σ = √(2/3); T − 1 = 3.
        let m = DriftConfig { levels: vec![0.95] }
            .fit(&series(&[1.0, 2.0, 4.0, 7.0]), "y")
            .unwrap();
        assert!((m.slope() - 2.0).abs() < 1e-12);
        assert!((m.sigma() - (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        // History ends at 20 -> 22, 24; half-width at h = 2: z·σ·√(2·(1 + 2/3)).
        let f = m.predict(&series(&[20.0]), h(2)).unwrap();
        assert_eq!(f.point_values(), &[22.0, 24.0]);
        let (lo, _) = f.interval(0.95).unwrap();
        let half = Z95 * (2.0f64 / 3.0).sqrt() * (2.0 * (1.0 + 2.0 / 3.0f64)).sqrt();
        assert!((lo[1] - (24.0 - half)).abs() < 1e-12);
    }

    #[test]
    fn mean_by_hand() {
        // Train [2, 4, 6, 8]: mean 5, sample sd √(20/3); multiplier √(1 + 1/4).
        let m = MeanConfig { levels: vec![0.95] }
            .fit(&series(&[2.0, 4.0, 6.0, 8.0]), "y")
            .unwrap();
        assert_eq!(m.mean(), 5.0);
        let f = m.predict(&series(&[100.0]), h(3)).unwrap();
        assert_eq!(f.point_values(), &[5.0, 5.0, 5.0]);
        let (_, hi) = f.interval(0.95).unwrap();
        let half = Z95 * (20.0f64 / 3.0).sqrt() * 1.25f64.sqrt();
        assert!((hi[2] - (5.0 + half)).abs() < 1e-12);
    }

    #[test]
    fn short_and_non_finite_data_are_errors() {
        let e = NaiveConfig::default()
            .fit(&series(&[1.0]), "y")
            .unwrap_err();
        assert!(
            matches!(e, nt_core::Error::InsufficientHistory { needed: 2, got: 1 }),
            "{e}"
        );
        let e = SeasonalNaiveConfig::default()
            .fit(&series(&[1.0; 24]), "y")
            .unwrap_err();
        assert!(
            matches!(
                e,
                nt_core::Error::InsufficientHistory {
                    needed: 25,
                    got: 24
                }
            ),
            "{e}"
        );
        let e = DriftConfig::default()
            .fit(&series(&[1.0, f64::NAN, 2.0]), "y")
            .unwrap_err();
        assert!(
            matches!(&e, nt_core::Error::NonFinite { column, index: 1, .. } if column == "y"),
            "{e}"
        );
        let fitted = MeanConfig::default()
            .fit(&series(&[1.0, 2.0]), "y")
            .unwrap();
        let e = fitted
            .predict(&series(&[1.0, f64::INFINITY]), h(1))
            .unwrap_err();
        assert!(
            matches!(e, nt_core::Error::NonFinite { index: 1, .. }),
            "{e}"
        );
        let e = MeanConfig::default()
            .fit(&series(&[1.0, 2.0]), "close")
            .unwrap_err();
        assert!(matches!(e, nt_core::Error::MissingColumn { .. }), "{e}");
        let e = SeasonalNaiveConfig {
            season: 0,
            ..Default::default()
        }
        .fit(&series(&[1.0, 2.0]), "y")
        .unwrap_err();
        assert!(matches!(e, nt_core::Error::InvalidParameter { .. }), "{e}");
    }
}
