//! The [`Forecaster`] trait: a fitted model of any kind, as the registry, the server, the CLI
//! and (later) ensembles hold it.

use std::path::Path;

use nt_core::{Forecast, TimeSeries};
use nt_neural::{ModelMeta, NeuralModel, Precision, WindowInputs};

use crate::{Error, ModelSpec, Result};

/// A fitted model of any kind (classical or neural), object safe and `Send + Sync`, so it is
/// held as `Arc<dyn Forecaster>`.
///
/// Inputs are [`WindowInputs`]: the target's history (oldest first, at least
/// [`min_history`](Self::min_history) values; a model reads what it needs from the end), each
/// historic exogenous column over the same rows and each future exogenous column over the same
/// rows plus the model's whole horizon, in the orders of [`hist_exog`](Self::hist_exog) and
/// [`futr_exog`](Self::futr_exog).
///
/// Guarantees: forecasting never changes the model (no refit per call unless the spec says so);
/// [`forecast_batch`](Self::forecast_batch) gives every input the bits
/// [`forecast`](Self::forecast) gives it alone; a model saved with [`save`](Self::save) and
/// loaded again forecasts the same bits.
pub trait Forecaster: Send + Sync + std::fmt::Debug {
    /// The spec it was built from.
    fn spec(&self) -> ModelSpec;

    /// The model's name (`ets`, `nhits`, ...).
    fn name(&self) -> &'static str;

    /// Columns it was trained on; the first is what a history's `values` forecast.
    fn targets(&self) -> &[String];

    /// What it remembers of its training (data fingerprint, rows, metrics, origin).
    fn meta(&self) -> &ModelMeta;

    /// Fewest history values one forecast needs.
    fn min_history(&self) -> usize;

    /// History values one forecast reads from the end (`None`: all it is given).
    fn window(&self) -> Option<usize>;

    /// The longest horizon it forecasts (`None`: any).
    fn max_horizon(&self) -> Option<usize>;

    /// Historic exogenous columns it reads.
    fn hist_exog(&self) -> &[String] {
        &[]
    }

    /// Future-known exogenous columns it reads (their next H values are part of the input).
    fn futr_exog(&self) -> &[String] {
        &[]
    }

    /// Number of weights or fitted coefficients.
    fn params(&self) -> usize;

    /// The quantile levels of the bands each forecast carries, ascending (an interval at level
    /// `c` is the pair of bands `(1 − c)/2` and `(1 + c)/2`).
    fn quantile_levels(&self) -> Vec<f64>;

    /// Forecasts `horizon` steps after one history.
    fn forecast(&self, input: &WindowInputs<'_>, horizon: usize) -> Result<Forecast>;

    /// Forecasts `horizon` steps after each history; each answer has the bits
    /// [`forecast`](Self::forecast) gives alone. One call per input by default.
    fn forecast_batch(&self, inputs: &[WindowInputs<'_>], horizon: usize) -> Result<Vec<Forecast>> {
        inputs.iter().map(|i| self.forecast(i, horizon)).collect()
    }

    /// Whether [`forecast_batch`](Self::forecast_batch) is cheaper than one call per input (a
    /// server gathers requests into batches only for such models).
    fn batches(&self) -> bool {
        false
    }

    /// Whether the model forecasts by sample paths (joint draws of the whole horizon, each
    /// fed its own draws: DeepAR), so [`forecast_paths`](Self::forecast_paths) works.
    fn has_paths(&self) -> bool {
        false
    }

    /// The sample paths the model's own forecasts are drawn from (its configured count and
    /// seed), so that backtests can score them (CRPS); `None` for models without paths, or
    /// whose forecasts come from something else (DeepAR's mean feedback).
    fn default_paths(&self) -> Option<PathRequest> {
        None
    }

    /// Forecasts `horizon` steps after each history with `request.samples` sample paths
    /// attached (original scale, `horizon` values each); the point is the paths' mean and the
    /// bands their quantiles. Guarantees: the same seed gives the same paths, and a window's
    /// paths do not depend on the other inputs. Models without paths refuse with an invalid
    /// input naming `paths`.
    fn forecast_paths(
        &self,
        inputs: &[WindowInputs<'_>],
        horizon: usize,
        request: PathRequest,
    ) -> Result<Vec<Forecast>> {
        let _ = (inputs, horizon, request);
        Err(no_paths(self.name()))
    }

    /// Writes the model as a directory (`model.json` plus its weights or fitted state),
    /// atomically file by file.
    fn save(&self, dir: &Path) -> Result<()>;

    /// Chooses the precision of a plain-Rust CPU path; `false` when the model has none.
    fn set_precision(&mut self, precision: Precision) -> bool {
        let _ = precision;
        false
    }

    /// The neural model, for a neural one.
    fn as_neural(&self) -> Option<&NeuralModel> {
        None
    }

    /// The ensemble (members, weights, validation errors), for an ensemble.
    fn as_ensemble(&self) -> Option<&crate::EnsembleModel> {
        None
    }

    /// Forecasts column `column` of `history` (with the exogenous columns the model reads from
    /// `history` and, for future ones, the first H rows of `future`).
    fn predict_series(
        &self,
        history: &TimeSeries,
        column: &str,
        future: Option<&TimeSeries>,
        horizon: usize,
    ) -> Result<Forecast> {
        with_series_inputs(self, history, column, future, horizon, &mut |input| {
            self.forecast(input, horizon)
        })
    }

    /// [`predict_series`](Self::predict_series), or with `paths`, the same inputs through
    /// [`forecast_paths`](Self::forecast_paths) (sample paths attached).
    fn predict_series_with(
        &self,
        history: &TimeSeries,
        column: &str,
        future: Option<&TimeSeries>,
        horizon: usize,
        paths: Option<PathRequest>,
    ) -> Result<Forecast> {
        let Some(request) = paths else {
            return self.predict_series(history, column, future, horizon);
        };
        if !self.has_paths() {
            return Err(no_paths(self.name()));
        }
        with_series_inputs(self, history, column, future, horizon, &mut |input| {
            self.forecast_paths(std::slice::from_ref(input), horizon, request)?
                .pop()
                .ok_or_else(|| Error::invalid("history", "no forecast produced"))
        })
    }
}

/// Builds the [`WindowInputs`] of column `column` of `history` for `model` (its exogenous
/// columns from `history`, the future ones' next H rows from `future`) and runs `run` on them.
fn with_series_inputs<F: Forecaster + ?Sized>(
    model: &F,
    history: &TimeSeries,
    column: &str,
    future: Option<&TimeSeries>,
    horizon: usize,
    run: &mut dyn FnMut(&WindowInputs<'_>) -> Result<Forecast>,
) -> Result<Forecast> {
    let target = history.finite_column(column)?;
    let hist: Vec<&[f64]> = model
        .hist_exog()
        .iter()
        .map(|c| history.finite_column(c))
        .collect::<nt_core::Result<_>>()?;
    let futr_names = model.futr_exog();
    let mut futr_values: Vec<Vec<f64>> = Vec::new();
    if !futr_names.is_empty() {
        let h = model.max_horizon().unwrap_or(horizon);
        let future = future.ok_or_else(|| {
            Error::invalid(
                "future",
                format!(
                    "the model needs the next {h} values of its future exogenous columns ({}); give them as a future table (`nt predict --future FILE`)",
                    futr_names.join(", ")
                ),
            )
        })?;
        nt_neural::check_future(history, future, h)?;
        for c in futr_names {
            let mut v = history.finite_column(c)?.to_vec();
            v.extend_from_slice(&future.finite_column(c)?[..h]);
            futr_values.push(v);
        }
    }
    let input = WindowInputs {
        target,
        hist,
        futr: futr_values.iter().map(Vec::as_slice).collect(),
    };
    run(&input)
}

/// A boxed [`Forecaster`] as a [`nt_core::Predict`] (what backtests fit and call).
#[derive(Debug)]
pub(crate) struct BoxedPredict(pub(crate) Box<dyn Forecaster>);

impl nt_core::Predict for BoxedPredict {
    fn predict(
        &self,
        history: &TimeSeries,
        horizon: nt_core::Horizon,
    ) -> nt_core::Result<Forecast> {
        (*self.0).predict(history, horizon)
    }
}

/// Most sample paths one forecast may ask for (memory: paths × horizon values per window).
pub const MAX_SAMPLE_PATHS: usize = 100_000;

/// What [`Forecaster::forecast_paths`] draws: `samples` paths per window from generator
/// seed `seed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathRequest {
    /// Paths per window, 1 to [`MAX_SAMPLE_PATHS`].
    pub samples: usize,
    /// Seed of the draws.
    pub seed: u64,
}

impl PathRequest {
    /// A request for `samples` paths from `seed`; an invalid input naming `field` unless
    /// `samples` is 1 to [`MAX_SAMPLE_PATHS`].
    pub fn new(samples: usize, seed: u64, field: &str) -> Result<Self> {
        if samples == 0 || samples > MAX_SAMPLE_PATHS {
            return Err(Error::invalid(
                field,
                format!("expected 1 to {MAX_SAMPLE_PATHS} sample paths, got {samples}"),
            ));
        }
        Ok(Self { samples, seed })
    }
}

/// The refusal of a model that draws no sample paths.
pub(crate) fn no_paths(model: &str) -> Error {
    Error::invalid(
        "paths",
        format!(
            "{model} draws no sample paths (only probabilistic recurrent models such as deepar do)"
        ),
    )
}

/// Checks a requested horizon against a model's longest one.
pub(crate) fn check_horizon(horizon: usize, max: Option<usize>) -> Result<()> {
    if horizon == 0 {
        return Err(Error::invalid("horizon", "must be at least 1"));
    }
    match max {
        Some(h) if horizon > h => Err(Error::invalid(
            "horizon",
            format!("the model forecasts 1 to {h} steps, {horizon} asked"),
        )),
        _ => Ok(()),
    }
}

impl nt_core::Predict for dyn Forecaster {
    /// Forecasts the first training target `history` has (else its only column), with no
    /// future exogenous table; a sample-path model's forecast carries its
    /// [`default_paths`](Forecaster::default_paths) (what backtests score CRPS on).
    fn predict(
        &self,
        history: &TimeSeries,
        horizon: nt_core::Horizon,
    ) -> nt_core::Result<Forecast> {
        let column = match self.targets().iter().find(|t| history.column(t).is_ok()) {
            Some(t) => t.clone(),
            None => match history.column_names().as_slice() {
                [only] => only.to_string(),
                names => {
                    return Err(nt_core::Error::MissingColumn {
                        name: self.targets().first().cloned().unwrap_or_default(),
                        available: names.join(", "),
                    })
                }
            },
        };
        self.predict_series_with(history, &column, None, horizon.get(), self.default_paths())
            .map_err(|e| match e {
                Error::Core(c) => c,
                other => nt_core::Error::model(self.name(), other.to_string()),
            })
    }
}
