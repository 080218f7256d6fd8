//! What a backtest returns: per-model scores, the settings and the data they came from, and
//! optionally every window's forecast for plotting. Everything is serde (JSON) round-trippable.

use serde::{Deserialize, Serialize};

use crate::{BacktestConfig, DieboldMariano, SplitPlan};

/// Scores of one central prediction interval, pooled over every window and step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntervalScore {
    /// Nominal coverage of the interval (0.8 = the 10%–90% quantile band).
    pub level: f64,
    /// Fraction (0–1) of actual values inside `[lower, upper]`; ideally close to `level`.
    pub coverage: f64,
    /// Mean pinball loss of the lower bound as the `(1 − level)/2` quantile (report scale).
    pub pinball_lower: f64,
    /// Mean pinball loss of the upper bound as the `(1 + level)/2` quantile (report scale).
    pub pinball_upper: f64,
    /// Mean width `upper − lower` (report scale).
    pub width: f64,
}

/// Accuracy of one model, pooled over all its windows (and targets, in a pooled report).
///
/// "Report scale" is the original scale with [`Scale::Original`](crate::Scale::Original) and the
/// train-standardized scale (errors divided by the train std) with
/// [`Scale::Standardized`](crate::Scale::Standardized).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Mean absolute error, report scale.
    pub mae: f64,
    /// Mean squared error, report scale.
    pub mse: f64,
    /// Root mean squared error, report scale.
    pub rmse: f64,
    /// Mean absolute percentage error in percent, on the original values, over the points whose
    /// actual is non-zero; `None` when every actual is zero.
    pub mape: Option<f64>,
    /// Symmetric MAPE in percent (0–200), on the original values.
    pub smape: f64,
    /// Mean absolute scaled error: each absolute error divided by the in-sample seasonal-naive MAE
    /// of the target's TRAIN rows with period `season` (lag 1 = random walk); below 1 beats that
    /// in-sample naive forecast. `None` when that scale is zero or the train rows are too few.
    pub mase: Option<f64>,
    /// Fraction (0–1) of steps whose direction relative to the last observed value at the origin
    /// was predicted right (steps where the actual did not move are left out); `None` if none moved.
    pub directional_accuracy: Option<f64>,
    /// Theil's U2: RMSE of the model / RMSE of the random walk on the same windows (below 1
    /// beats the random walk). `None` when the random walk's RMSE is 0.
    pub theils_u: Option<f64>,
    /// Skill in MAE against the random walk: `1 − MAE / MAE_naive` (positive beats it).
    pub skill_mae: Option<f64>,
    /// Diebold–Mariano test against the random walk on per-window MSE; `None` when undefined
    /// (too few windows for the horizon, or a constant non-zero loss differential).
    pub dm: Option<DieboldMariano>,
    /// Interval scores for each configured level that the model's forecasts carried in every
    /// window (levels it does not produce are left out).
    pub intervals: Vec<IntervalScore>,
    /// Mean continuous ranked probability score (report scale) of the sample paths, over every
    /// point; `None` unless the model's forecasts carried sample paths in every window (DeepAR).
    /// Lower is better; for one path it is the MAE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crps: Option<f64>,
}

/// One model's line in a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelScore {
    /// The model's name as given (the random-walk baseline is named in
    /// [`BacktestReport::baseline`]).
    pub name: String,
    /// Windows scored (summed over targets in a pooled report); 0 when the model failed.
    pub windows: usize,
    /// The scores; `None` when the model failed (see `error`).
    pub scores: Option<Scores>,
    /// Wall-clock seconds spent in `fit` (all refits). Not deterministic.
    pub fit_seconds: f64,
    /// Wall-clock seconds spent in `predict` (all windows). Not deterministic.
    pub predict_seconds: f64,
    /// Why the model was dropped, if it failed to fit or predict on some window (its other
    /// windows are discarded, so a failed model is never compared on a subset).
    pub error: Option<String>,
    /// Scores of the split-conformal intervals (when the backtest computes them), beside the
    /// model's own in `scores.intervals`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conformal: Option<crate::conformal::ConformalScore>,
}

impl ModelScore {
    /// The MAE, if the model was scored.
    pub fn mae(&self) -> Option<f64> {
        self.scores.as_ref().map(|s| s.mae)
    }

    /// The MSE, if the model was scored.
    pub fn mse(&self) -> Option<f64> {
        self.scores.as_ref().map(|s| s.mse)
    }
}

/// Where the numbers came from: the data and the split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataInfo {
    /// sha256 of the whole input series (`TimeSeries::fingerprint`).
    pub fingerprint: String,
    /// Rows of the input series.
    pub rows: usize,
    /// The target column.
    pub target: String,
    /// The split sizes.
    pub split: SplitPlan,
    /// Row index of the first forecast origin (last observed row).
    pub first_origin: usize,
    /// Row index of the last forecast origin.
    pub last_origin: usize,
    /// Number of forecast origins (windows per model).
    pub origins: usize,
    /// Rows between consecutive origins actually used (larger than `step` when `windows` caps them).
    pub stride: usize,
    /// Mean of the target over the train rows.
    pub train_mean: f64,
    /// Population std (ddof 0) of the target over the train rows: the divisor of standardized errors.
    pub train_std: f64,
    /// MASE's denominator: the in-sample seasonal-naive MAE of the train rows, if defined.
    pub mase_scale: Option<f64>,
}

/// One central interval of one window's forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowInterval {
    /// Nominal coverage.
    pub level: f64,
    /// Lower bound per step (original scale).
    pub lower: Vec<f64>,
    /// Upper bound per step (original scale).
    pub upper: Vec<f64>,
}

/// One model's forecast at one origin (kept only with `keep_forecasts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowForecast {
    /// The model's name.
    pub model: String,
    /// Row index of the origin (last observed row); the forecast covers the next `horizon` rows.
    pub origin_index: usize,
    /// Timestamp (unix ms) of the origin row.
    pub origin_timestamp: i64,
    /// Point forecast per step (original scale).
    pub point: Vec<f64>,
    /// The configured interval levels the forecast carried.
    pub intervals: Vec<WindowInterval>,
    /// The split-conformal bands at this origin (from the residuals known there), when the
    /// backtest scores them and enough residuals were known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conformal: Vec<WindowInterval>,
}

/// The observed target over the span the kept forecasts cover.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Actuals {
    /// Row index of `values[0]` (the row after the first origin).
    pub first_row: usize,
    /// Timestamps of the rows.
    pub timestamps: Vec<i64>,
    /// Target values of the rows (original scale).
    pub values: Vec<f64>,
}

impl Actuals {
    /// The `horizon` actual values after origin row `origin_index`, if inside the span.
    pub fn window(&self, origin_index: usize, horizon: usize) -> Option<&[f64]> {
        let start = (origin_index + 1).checked_sub(self.first_row)?;
        self.values.get(start..start + horizon)
    }

    /// The timestamps of the `horizon` rows after origin row `origin_index`, if inside the span.
    pub fn window_timestamps(&self, origin_index: usize, horizon: usize) -> Option<&[i64]> {
        let start = (origin_index + 1).checked_sub(self.first_row)?;
        self.timestamps.get(start..start + horizon)
    }
}

/// The result of [`backtest`](crate::backtest) on one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestReport {
    /// The settings used.
    pub settings: BacktestConfig,
    /// The data and split.
    pub data: DataInfo,
    /// Name of the random-walk baseline among `models` (always `naive`; a given model of that name
    /// serves as the baseline); skill, Theil's U and DM are all relative to it.
    pub baseline: String,
    /// The baseline first, then the given models in order.
    pub models: Vec<ModelScore>,
    /// Every window's forecast of every model, when `settings.keep_forecasts`; else empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forecasts: Vec<WindowForecast>,
    /// The observed target over the forecast span, when `settings.keep_forecasts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actuals: Option<Actuals>,
}

impl BacktestReport {
    /// Models sorted by MAE, best first (ties by name); failed models last, in input order.
    pub fn leaderboard(&self) -> Vec<&ModelScore> {
        leaderboard(&self.models)
    }

    /// The score of the model called `name`.
    pub fn model(&self, name: &str) -> Option<&ModelScore> {
        self.models.iter().find(|m| m.name == name)
    }

    /// The kept forecasts of the model called `name`, in origin order.
    pub fn forecasts_of<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = &'a WindowForecast> + 'a {
        self.forecasts.iter().filter(move |f| f.model == name)
    }
}

/// The result of [`backtest_many`](crate::backtest_many): one report per target and the scores
/// pooled over all targets (channel-independent evaluation, like `--target all`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultiReport {
    /// One report per target, in the order given.
    pub per_target: Vec<BacktestReport>,
    /// Scores pooled over targets × windows × steps: MAE/MSE are means over every point (the
    /// protocol's numbers), MASE divides each error by its own target's scale, and the DM test
    /// uses the per-origin loss averaged over targets. A model failing on any target is failed here.
    pub pooled: Vec<ModelScore>,
    /// The baseline's name in `pooled`.
    pub baseline: String,
}

impl MultiReport {
    /// Pooled models sorted by MAE, best first; failed models last.
    pub fn leaderboard(&self) -> Vec<&ModelScore> {
        leaderboard(&self.pooled)
    }
}

/// Sorts models by MAE, best first (ties by name); failed or unscored models last, in input order.
pub fn leaderboard(models: &[ModelScore]) -> Vec<&ModelScore> {
    let mut scored: Vec<&ModelScore> = models.iter().filter(|m| m.scores.is_some()).collect();
    scored.sort_by(|a, b| {
        let (x, y) = (
            a.mae().unwrap_or(f64::INFINITY),
            b.mae().unwrap_or(f64::INFINITY),
        );
        x.total_cmp(&y).then_with(|| a.name.cmp(&b.name))
    });
    scored.extend(models.iter().filter(|m| m.scores.is_none()));
    scored
}
