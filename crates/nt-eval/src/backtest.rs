//! The rolling-origin backtest: fit on the past, forecast from each origin, compare with the rows
//! that follow it, and score against the random walk.

use std::ops::Range;
use std::time::Instant;

use nt_core::{metrics, FitDyn, Forecast, Horizon, Predict, TimeSeries};
use serde::{Deserialize, Serialize};

use crate::conformal::ConformalTracker;
use crate::report::{
    Actuals, BacktestReport, DataInfo, ModelScore, MultiReport, Scores, WindowForecast,
    WindowInterval,
};
use crate::scoring::{Tally, TargetScale};
use crate::{Error, Result, Split, SplitPlan};

/// When models are (re)fitted during a backtest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refit {
    /// Fit once on the train + validation rows `[0, n_train + n_val)` — every row before the
    /// first origin — and never again (the long-horizon protocol; statsforecast's
    /// `cross_validation(refit=False)` in `sf_bench.py` fits on exactly these rows). Models that
    /// need a validation set (early stopping) carve it from the end of these rows themselves.
    Never,
    /// Refit every `k` origins (the 1st, (k+1)-th, … origin) on the rows up to and including
    /// that origin, within the [`TrainWindow`].
    Every(usize),
}

/// Which rows a fit sees, ending at the fit's last row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TrainWindow {
    /// Every row from the start of the series.
    Expanding,
    /// At most the last `len` rows (all of them when fewer exist).
    Sliding {
        /// Rows in the window (≥ 1).
        len: usize,
    },
}

/// The scale errors are reported on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// The data's own units.
    Original,
    /// The train-standardized scale of the protocol, `z = (y − mean_train) / std_train` (ddof 0,
    /// train rows only). Models still see original values; each error is divided by `std_train`
    /// (the mean cancels), which is exactly the protocol's number for any model whose forecast
    /// commutes with affine maps of the data (naive, ETS, ARIMA, a neural model fed z-scores).
    Standardized,
}

/// Settings of a backtest. Construct with `Default` and change fields; [`validate`](Self::validate)
/// is called by [`backtest`].
///
/// | field | default | meaning |
/// |---|---|---|
/// | `horizon` | 24 | steps forecast from each origin (≥ 1) |
/// | `input_size` | `None` | rows of history given to `predict` (the last `input_size` rows up to the origin); `None` = all rows from 0 |
/// | `step` | 1 | rows between consecutive origins (≥ 1) |
/// | `windows` | `None` | cap on the number of origins: keep the last `n`, evenly strided (≥ 1) |
/// | `split` | ratio 0.7/0.1/0.2 | train / val / test segments |
/// | `refit` | `Never` | fit once before the first origin, or every `k` origins |
/// | `window` | `Expanding` | rows each fit sees |
/// | `scale` | `Standardized` | scale of MAE, MSE, RMSE, pinball and width |
/// | `season` | 1 | period of MASE's seasonal-naive scale (1 = random walk) |
/// | `levels` | [0.8, 0.95] | central interval levels to score, each in (0, 1) |
/// | `keep_forecasts` | false | keep every window's forecast in the report (for plots) |
/// | `conformal` | false | also score split-conformal intervals at `levels` from the residuals known at each origin ([`crate::conformal`]) |
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BacktestConfig {
    /// Steps forecast from each origin (≥ 1). Default 24.
    pub horizon: usize,
    /// Rows of history passed to `predict`, ending at the origin; `None` passes every row from the
    /// start of the series. Default `None`.
    pub input_size: Option<usize>,
    /// Rows between consecutive origins (≥ 1). Default 1.
    pub step: usize,
    /// Keep at most this many origins: the last ones of the test segment, evenly strided (see
    /// [`SplitPlan::cutoffs`]). Default `None` (all).
    pub windows: Option<usize>,
    /// The train / val / test split. Default: ratio 0.7 / 0.1 / 0.2.
    pub split: Split,
    /// When models are fitted. Default [`Refit::Never`].
    pub refit: Refit,
    /// Rows each fit sees. Default [`TrainWindow::Expanding`].
    pub window: TrainWindow,
    /// Scale of the reported errors. Default [`Scale::Standardized`] (the protocol's).
    pub scale: Scale,
    /// Season of MASE's in-sample seasonal-naive scale (≥ 1; 1 = lag-1 random walk). Default 1.
    pub season: usize,
    /// Central interval levels to score, each strictly in (0, 1). Default [0.8, 0.95].
    pub levels: Vec<f64>,
    /// Keep every window's forecast (and the actuals) in the report. Default false.
    pub keep_forecasts: bool,
    /// Also score split-conformal intervals at `levels`, built at each origin from the
    /// residuals known there (see [`crate::conformal`]); costs one more fit per model (on the
    /// train rows, for the validation segment's residuals). Default false.
    pub conformal: bool,
}

impl Default for BacktestConfig {
    fn default() -> Self {
        Self {
            horizon: 24,
            input_size: None,
            step: 1,
            windows: None,
            split: Split::default(),
            refit: Refit::Never,
            window: TrainWindow::Expanding,
            scale: Scale::Standardized,
            season: 1,
            levels: vec![0.8, 0.95],
            keep_forecasts: false,
            conformal: false,
        }
    }
}

impl BacktestConfig {
    /// Checks every field is in range (see the table above).
    pub fn validate(&self) -> Result<()> {
        let at_least_one = [
            ("horizon", self.horizon),
            ("step", self.step),
            ("season", self.season),
            ("input_size", self.input_size.unwrap_or(1)),
            ("windows", self.windows.unwrap_or(1)),
        ];
        for (field, v) in at_least_one {
            if v == 0 {
                return Err(Error::config(field, "must be at least 1"));
            }
        }
        if self.refit == Refit::Every(0) {
            return Err(Error::config(
                "refit",
                "refit every 0 origins: use at least 1, or never",
            ));
        }
        if self.window == (TrainWindow::Sliding { len: 0 }) {
            return Err(Error::config(
                "window",
                "a sliding window needs at least 1 row",
            ));
        }
        for (i, l) in self.levels.iter().enumerate() {
            if !(l.is_finite() && *l > 0.0 && *l < 1.0) {
                return Err(Error::config(
                    "levels",
                    format!("{l} is not strictly between 0 and 1"),
                ));
            }
            if self.levels[..i].iter().any(|m| (m - l).abs() < 1e-9) {
                return Err(Error::config("levels", format!("{l} given twice")));
            }
        }
        self.split.validate()
    }

    fn fit_rows(&self, end: usize) -> Range<usize> {
        match self.window {
            TrainWindow::Expanding => 0..end,
            TrainWindow::Sliding { len } => end.saturating_sub(len)..end,
        }
    }

    fn history_rows(&self, origin: usize) -> Range<usize> {
        let end = origin + 1;
        match self.input_size {
            Some(l) => end.saturating_sub(l)..end,
            None => 0..end,
        }
    }
}

/// A model to evaluate, under the name it is reported with.
#[derive(Clone)]
pub struct NamedModel<'a> {
    /// Name in the report (unique among the models, non-empty).
    pub name: String,
    /// The unfitted model.
    pub model: &'a dyn FitDyn,
}

impl<'a> NamedModel<'a> {
    /// Pairs a name with a model.
    pub fn new(name: impl Into<String>, model: &'a dyn FitDyn) -> Self {
        Self {
            name: name.into(),
            model,
        }
    }
}

impl std::fmt::Debug for NamedModel<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamedModel")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Progress of a backtest, reported before each fit and after each window, so a caller can draw
/// a bar. Models run one after the other (the baseline first), targets one after the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress<'a> {
    /// Fit number `index` (1-based) of `total` of `model` on `target` is starting.
    Fitting {
        /// Target column.
        target: &'a str,
        /// Model name.
        model: &'a str,
        /// 1-based number of this fit.
        index: usize,
        /// Fits this model will do on this target.
        total: usize,
    },
    /// `done` of `total` windows of `model` on `target` are forecast.
    Window {
        /// Target column.
        target: &'a str,
        /// Model name.
        model: &'a str,
        /// Windows forecast so far.
        done: usize,
        /// Windows in all.
        total: usize,
    },
}

/// Name of the random-walk baseline in every report.
pub const BASELINE: &str = "naive";

/// A progress callback that ignores everything.
pub fn no_progress(_: Progress<'_>) {}

/// Backtests `models` on column `target` of `series`, with the random walk as baseline.
///
/// Protocol (`../shared/data/SOURCES.md`): the split of `cfg.split` gives the test segment; the
/// origin (cutoff) `c` is the row index of the last observed row, and runs from
/// `n_used − n_test − 1` to `n_used − horizon − 1` with stride `cfg.step` (capped by
/// `cfg.windows`). At origin `c` a model predicts from `series.slice(start..c + 1)` — never a row
/// after `c` — and is scored against rows `c+1 ..= c+horizon` of `target`. Fits see the rows of
/// [`Refit`] and [`TrainWindow`], never a row after the origin they serve (with `Refit::Never`,
/// never a test row).
///
/// The random walk (last observed value, repeated) is always computed and reported first, as
/// `naive`; a given model named `naive` is taken to be the random walk (with its own intervals)
/// and serves as that baseline instead of the built-in one. Skill, Theil's U and DM are
/// relative to it. A model that fails to fit or predict (or returns a forecast of the wrong length
/// or with non-finite values) is dropped with its error in the report; the others go on.
///
/// Errors: invalid settings, a missing target, a series too short for the split, a non-finite
/// target value in the used rows, a target constant over its train rows with
/// [`Scale::Standardized`], or too little history for `input_size`.
pub fn backtest(
    series: &TimeSeries,
    target: &str,
    models: &[NamedModel<'_>],
    cfg: &BacktestConfig,
    progress: &dyn Fn(Progress<'_>),
) -> Result<BacktestReport> {
    let run = run_target(series, target, models, cfg, progress)?;
    Ok(run.into_report(cfg))
}

/// Backtests `models` on each column of `targets` independently (channel-independent: every model
/// is fitted per target with that target) and pools the errors over all targets, like the
/// protocol's `--target all`. Returns one report per target and the pooled scores.
pub fn backtest_many(
    series: &TimeSeries,
    targets: &[&str],
    models: &[NamedModel<'_>],
    cfg: &BacktestConfig,
    progress: &dyn Fn(Progress<'_>),
) -> Result<MultiReport> {
    if targets.is_empty() {
        return Err(Error::NoTargets);
    }
    if let Some(dup) = targets
        .iter()
        .enumerate()
        .find(|(i, t)| targets[..*i].contains(t))
    {
        return Err(Error::config("targets", format!("`{}` given twice", dup.1)));
    }
    let runs = targets
        .iter()
        .map(|t| run_target(series, t, models, cfg, progress))
        .collect::<Result<Vec<_>>>()?;
    let Some(first) = runs.first() else {
        return Err(Error::NoTargets);
    };
    let baseline_name = first.baseline.name.clone();
    let dm_h = first.dm_h;
    let baselines: Vec<&Tally> = runs.iter().map(|r| &r.baseline.tally).collect();
    let pooled_baseline = Tally::pool(&baselines);
    let mut pooled = vec![pooled_score(&runs, None, &pooled_baseline, dm_h)];
    // A given `naive` became the baseline and is not among each run's models: count the runs'.
    for m in 0..first.models.len() {
        pooled.push(pooled_score(&runs, Some(m), &pooled_baseline, dm_h));
    }
    Ok(MultiReport {
        per_target: runs.into_iter().map(|r| r.into_report(cfg)).collect(),
        pooled,
        baseline: baseline_name,
    })
}

/// The pooled score of model `m` (`None` = the baseline) over every target's run.
fn pooled_score(runs: &[TargetRun], m: Option<usize>, baseline: &Tally, dm_h: usize) -> ModelScore {
    let parts: Vec<(&str, &ModelRun)> = runs
        .iter()
        .map(|r| {
            let run = match m {
                Some(i) => &r.models[i],
                None => &r.baseline,
            };
            (r.data.target.as_str(), run)
        })
        .collect();
    let name = parts
        .first()
        .map(|(_, p)| p.name.clone())
        .unwrap_or_default();
    let fit_seconds = parts.iter().map(|(_, p)| p.fit_seconds).sum();
    let predict_seconds = parts.iter().map(|(_, p)| p.predict_seconds).sum();
    let failures: Vec<String> = parts
        .iter()
        .filter_map(|(t, p)| p.error.as_ref().map(|e| format!("target `{t}`: {e}")))
        .collect();
    if !failures.is_empty() {
        return ModelScore {
            name,
            windows: 0,
            scores: None,
            fit_seconds,
            predict_seconds,
            error: Some(failures.join("; ")),
            conformal: None,
        };
    }
    let tallies: Vec<&Tally> = parts.iter().map(|(_, p)| &p.tally).collect();
    let tally = Tally::pool(&tallies);
    let trackers: Vec<&ConformalTracker> = parts
        .iter()
        .filter_map(|(_, p)| p.conformal.as_ref())
        .collect();
    let (windows, scores, error) = match finite_scores(tally.scores(baseline, dm_h)) {
        Ok(s) => (tally.windows, s, None),
        Err(e) => (0, None, Some(e)),
    };
    ModelScore {
        name,
        windows,
        scores,
        fit_seconds,
        predict_seconds,
        error,
        conformal: ConformalTracker::pooled(&trackers),
    }
}

/// Scores whose errors are finite, or the failure to report instead: an MAE or MSE that
/// overflowed to infinity (values too large for f64 arithmetic) is a failed model, never a
/// silent `null`/`NaN` in the report.
fn finite_scores(scores: Option<Scores>) -> std::result::Result<Option<Scores>, String> {
    match scores {
        Some(s) if !(s.mae.is_finite() && s.mse.is_finite() && s.smape.is_finite()) => Err(format!(
            "its errors overflowed (MAE {}, MSE {}): the values are too large for f64 arithmetic; rescale the data",
            s.mae, s.mse
        )),
        other => Ok(other),
    }
}

/// One model's outcome on one target.
#[derive(Debug)]
struct ModelRun {
    name: String,
    tally: Tally,
    fit_seconds: f64,
    predict_seconds: f64,
    error: Option<String>,
    forecasts: Vec<WindowForecast>,
    /// The conformal bands' tracker, when the backtest scores them.
    conformal: Option<ConformalTracker>,
}

/// Everything computed for one target, before it becomes a report.
struct TargetRun {
    data: DataInfo,
    dm_h: usize,
    baseline: ModelRun,
    models: Vec<ModelRun>,
    actuals: Option<Actuals>,
}

impl TargetRun {
    fn into_report(self, cfg: &BacktestConfig) -> BacktestReport {
        let score = |run: &ModelRun| {
            let scores = match &run.error {
                Some(e) => Err(e.clone()),
                None => finite_scores(run.tally.scores(&self.baseline.tally, self.dm_h)),
            };
            let (windows, scores, error) = match scores {
                Ok(s) => (run.tally.windows, s, None),
                Err(e) => (0, None, Some(e)),
            };
            let conformal = match error {
                None => run.conformal.as_ref().and_then(ConformalTracker::score),
                Some(_) => None,
            };
            ModelScore {
                name: run.name.clone(),
                windows,
                scores,
                fit_seconds: run.fit_seconds,
                predict_seconds: run.predict_seconds,
                error,
                conformal,
            }
        };
        let mut models = vec![score(&self.baseline)];
        models.extend(self.models.iter().map(score));
        let baseline = self.baseline.name.clone();
        let mut forecasts = Vec::new();
        for run in std::iter::once(self.baseline).chain(self.models) {
            forecasts.extend(run.forecasts);
        }
        BacktestReport {
            settings: cfg.clone(),
            data: self.data,
            baseline,
            models,
            forecasts,
            actuals: self.actuals,
        }
    }
}

/// The fixed context of one target's backtest.
struct Context<'a> {
    series: &'a TimeSeries,
    target: &'a str,
    y: &'a [f64],
    cfg: &'a BacktestConfig,
    plan: SplitPlan,
    cutoffs: Vec<usize>,
    horizon: Horizon,
    scale: TargetScale,
    progress: &'a dyn Fn(Progress<'_>),
}

fn run_target(
    series: &TimeSeries,
    target: &str,
    models: &[NamedModel<'_>],
    cfg: &BacktestConfig,
    progress: &dyn Fn(Progress<'_>),
) -> Result<TargetRun> {
    cfg.validate()?;
    let h = cfg.horizon;
    let horizon = Horizon::new(h)?;
    let all = series.column(target)?;
    let plan = cfg.split.plan(series, h, cfg.step)?;
    let cap = match (cfg.windows, cfg.split.max_windows()) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let cutoffs = plan.cutoffs(h, cfg.step, cap)?;
    let y = &all[..plan.n_used];
    if let Some(index) = y.iter().position(|v| !v.is_finite()) {
        return Err(nt_core::Error::NonFinite {
            column: target.to_string(),
            index,
            value: y[index],
        }
        .into());
    }
    let first = plan.first_cutoff();
    if let Some(l) = cfg.input_size {
        if first + 1 < l {
            return Err(Error::InsufficientInput {
                input_size: l,
                available: first + 1,
            });
        }
    }
    let train = &y[plan.train()];
    let train_mean = train.iter().sum::<f64>() / train.len() as f64;
    let train_std =
        (train.iter().map(|v| (v - train_mean).powi(2)).sum::<f64>() / train.len() as f64).sqrt();
    if !(train_mean.is_finite() && train_std.is_finite()) {
        return Err(Error::config(
            "data",
            format!(
                "the train rows of `{target}` are too large for f64 arithmetic (their mean or standard deviation overflows); rescale the column"
            ),
        ));
    }
    let divisor = match cfg.scale {
        Scale::Original => 1.0,
        Scale::Standardized if train_std > 0.0 => train_std,
        Scale::Standardized => {
            return Err(Error::ConstantTarget {
                target: target.to_string(),
                n_train: train.len(),
            })
        }
    };
    let mase_scale = metrics::seasonal_naive_scale(train, cfg.season).ok();
    for (i, m) in models.iter().enumerate() {
        if m.name.is_empty() || models[..i].iter().any(|o| o.name == m.name) {
            return Err(Error::ModelName {
                name: m.name.clone(),
            });
        }
    }
    let last = *cutoffs.last().unwrap_or(&first);
    let stride = match cutoffs.as_slice() {
        [a, b, ..] => b - a,
        _ => cfg.step,
    };
    let data = DataInfo {
        fingerprint: series.fingerprint(),
        rows: series.len(),
        target: target.to_string(),
        split: plan,
        first_origin: cutoffs.first().copied().unwrap_or(first),
        last_origin: last,
        origins: cutoffs.len(),
        stride,
        train_mean,
        train_std,
        mase_scale,
    };
    let ctx = Context {
        series,
        target,
        y,
        cfg,
        plan,
        cutoffs,
        horizon,
        scale: TargetScale {
            divisor,
            mase: mase_scale,
        },
        progress,
    };
    // A given model named `naive` is the random walk with its own intervals: it serves as the
    // baseline. If it fails, the built-in random walk takes its place under the same name.
    let user_naive = models.iter().position(|m| m.name == BASELINE);
    let baseline = match user_naive.map(|i| ctx.run_model(&models[i])) {
        Some(run) if run.error.is_none() => run,
        _ => ctx.run_baseline(BASELINE),
    };
    let models = models
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != user_naive)
        .map(|(_, m)| ctx.run_model(m))
        .collect();
    let actuals = cfg.keep_forecasts.then(|| {
        let rows = data.first_origin + 1..last + h + 1;
        Actuals {
            first_row: rows.start,
            timestamps: series.timestamps()[rows.clone()].to_vec(),
            values: y[rows].to_vec(),
        }
    });
    Ok(TargetRun {
        data,
        dm_h: h.div_ceil(stride.max(1)),
        baseline,
        models,
        actuals,
    })
}

impl Context<'_> {
    fn new_run(&self, name: &str) -> ModelRun {
        ModelRun {
            name: name.to_string(),
            tally: Tally::new(&self.cfg.levels, self.scale.mase.is_some()),
            fit_seconds: 0.0,
            predict_seconds: 0.0,
            error: None,
            forecasts: Vec::new(),
            conformal: self
                .cfg
                .conformal
                .then(|| ConformalTracker::new(&self.cfg.levels, self.horizon.get())),
        }
    }

    /// Scores forecast `f` made at origin `c` and keeps it if asked.
    fn record(&self, run: &mut ModelRun, c: usize, f: &Forecast) {
        let h = self.horizon.get();
        let actual = &self.y[c + 1..c + 1 + h];
        run.tally.add(actual, f, self.y[c], self.scale);
        let conformal = run
            .conformal
            .as_mut()
            .and_then(|t| t.record(c, f.point_values(), actual, self.scale));
        if self.cfg.keep_forecasts {
            run.forecasts.push(WindowForecast {
                model: run.name.clone(),
                origin_index: c,
                origin_timestamp: self.series.timestamps()[c],
                point: f.point_values().to_vec(),
                intervals: self
                    .cfg
                    .levels
                    .iter()
                    .filter_map(|&level| {
                        f.interval(level).map(|(lo, hi)| WindowInterval {
                            level,
                            lower: lo.to_vec(),
                            upper: hi.to_vec(),
                        })
                    })
                    .collect(),
                conformal: conformal.unwrap_or_default(),
            });
        }
    }

    /// The random walk: the last observed value of the target, repeated.
    fn run_baseline(&self, name: &str) -> ModelRun {
        let mut run = self.new_run(name);
        let total = self.cutoffs.len();
        let start = Instant::now();
        if let Some(t) = run.conformal.as_mut() {
            for c in self.calibration_origins() {
                let point = vec![self.y[c]; self.horizon.get()];
                t.calibrate(c, &point, &self.y[c + 1..c + 1 + self.horizon.get()]);
            }
        }
        for (i, &c) in self.cutoffs.iter().enumerate() {
            let f = Forecast::point(vec![self.y[c]; self.horizon.get()]);
            self.record(&mut run, c, &f);
            (self.progress)(Progress::Window {
                target: self.target,
                model: name,
                done: i + 1,
                total,
            });
        }
        run.predict_seconds = start.elapsed().as_secs_f64();
        run
    }

    fn run_model(&self, m: &NamedModel<'_>) -> ModelRun {
        let mut run = self.new_run(&m.name);
        if let Err(reason) = self.try_run_model(m, &mut run) {
            run.error = Some(reason);
            run.forecasts.clear();
        }
        run
    }

    fn try_run_model(
        &self,
        m: &NamedModel<'_>,
        run: &mut ModelRun,
    ) -> std::result::Result<(), String> {
        let total = self.cutoffs.len();
        let total_fits = match self.cfg.refit {
            Refit::Never => 1,
            Refit::Every(k) => total.div_ceil(k),
        };
        if run.conformal.is_some() {
            self.calibrate_conformal(m, run);
        }
        let mut fitted: Option<Box<dyn Predict>> = None;
        let mut fits = 0;
        for (i, &c) in self.cutoffs.iter().enumerate() {
            let refit_now = match self.cfg.refit {
                Refit::Never => fitted.is_none(),
                Refit::Every(k) => i % k == 0,
            };
            if refit_now {
                let end = match self.cfg.refit {
                    // Every row before the first origin's successor: train + val.
                    Refit::Never => self.plan.n_train + self.plan.n_val,
                    Refit::Every(_) => c + 1,
                };
                fits += 1;
                (self.progress)(Progress::Fitting {
                    target: self.target,
                    model: &m.name,
                    index: fits,
                    total: total_fits,
                });
                let rows = self.cfg.fit_rows(end);
                let train = self.series.slice(rows.clone());
                let t0 = Instant::now();
                let result = m.model.fit_dyn(&train, self.target);
                run.fit_seconds += t0.elapsed().as_secs_f64();
                fitted = Some(
                    result.map_err(|e| format!("fit on rows {}..{}: {e}", rows.start, rows.end))?,
                );
            }
            let Some(model) = fitted.as_ref() else {
                return Err("no fitted model (internal)".to_string());
            };
            let history = self.series.slice(self.cfg.history_rows(c));
            let t0 = Instant::now();
            let result = model.predict(&history, self.horizon);
            run.predict_seconds += t0.elapsed().as_secs_f64();
            let f = result.map_err(|e| format!("predict at origin row {c}: {e}"))?;
            check_forecast(&f, self.horizon.get())
                .map_err(|e| format!("predict at origin row {c}: {e}"))?;
            self.record(run, c, &f);
            (self.progress)(Progress::Window {
                target: self.target,
                model: &m.name,
                done: i + 1,
                total,
            });
        }
        Ok(())
    }
}

impl Context<'_> {
    /// The validation segment's origins, `n_train − 1` up to the first test origin (excluded),
    /// at the backtest's stride: where the conformal calibration forecasts from.
    fn calibration_origins(&self) -> impl Iterator<Item = usize> {
        let first = self.plan.first_cutoff();
        let start = if self.plan.n_val == 0 {
            first
        } else {
            self.plan.n_train.saturating_sub(1)
        };
        (start..first).step_by(self.cfg.step.max(1))
    }

    /// The conformal calibration of model `m` on the validation segment: fitted on the train
    /// rows only, it forecasts from every [`calibration_origins`](Self::calibration_origins)
    /// origin (history up to that origin). A failure leaves a note and no calibration residuals
    /// (the test residuals still calibrate the later origins).
    fn calibrate_conformal(&self, m: &NamedModel<'_>, run: &mut ModelRun) {
        let Some(mut tracker) = run.conformal.take() else {
            return;
        };
        let mut origins = self.calibration_origins().peekable();
        if origins.peek().is_some() {
            let rows = self.cfg.fit_rows(self.plan.n_train);
            let t0 = Instant::now();
            let fitted = m
                .model
                .fit_dyn(&self.series.slice(rows.clone()), self.target);
            run.fit_seconds += t0.elapsed().as_secs_f64();
            match fitted {
                Err(e) => {
                    tracker.note = Some(format!(
                        "no validation-segment calibration: fit on rows {}..{}: {e}",
                        rows.start, rows.end
                    ))
                }
                Ok(model) => {
                    let h = self.horizon.get();
                    let t0 = Instant::now();
                    for c in origins {
                        let history = self.series.slice(self.cfg.history_rows(c));
                        match model.predict(&history, self.horizon) {
                            Ok(f) if check_forecast(&f, h).is_ok() => {
                                tracker.calibrate(c, f.point_values(), &self.y[c + 1..c + 1 + h]);
                            }
                            Ok(_) | Err(_) => {
                                tracker.note = Some(format!(
                                    "validation-segment calibration stopped at origin row {c}: no valid forecast"
                                ));
                                break;
                            }
                        }
                    }
                    run.predict_seconds += t0.elapsed().as_secs_f64();
                }
            }
        }
        run.conformal = Some(tracker);
    }
}

/// A forecast must have `h` steps and only finite values.
fn check_forecast(f: &Forecast, h: usize) -> std::result::Result<(), String> {
    if f.len() != h {
        return Err(format!("returned {} steps for horizon {h}", f.len()));
    }
    if let Some(i) = f.point_values().iter().position(|v| !v.is_finite()) {
        return Err(format!("non-finite point forecast at step {}", i + 1));
    }
    for band in f.quantiles() {
        if let Some(i) = band.values.iter().position(|v| !v.is_finite()) {
            return Err(format!("non-finite {} quantile at step {}", band.q, i + 1));
        }
    }
    for (k, path) in f.paths().iter().enumerate() {
        if let Some(i) = path.iter().position(|v| !v.is_finite()) {
            return Err(format!(
                "non-finite sample path {} at step {}",
                k + 1,
                i + 1
            ));
        }
    }
    Ok(())
}
