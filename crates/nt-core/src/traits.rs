//! The `Fit`/`Predict` API every model implements.

use crate::{Forecast, Horizon, Result, TimeSeries};

/// An unfitted model configuration. `fit` validates the configuration, learns from `train`'s
/// column `target` (and any other columns the model uses) and returns the fitted model.
///
/// Guarantee: `fit` sees only `train`; nothing it returns depends on data outside it.
pub trait Fit {
    /// The fitted model.
    type Fitted: Predict + 'static;

    /// Fits on `train`, forecasting column `target`.
    fn fit(&self, train: &TimeSeries, target: &str) -> Result<Self::Fitted>;
}

/// A fitted model.
pub trait Predict: Send + Sync + std::fmt::Debug {
    /// Forecast the `horizon` steps that follow the last row of `history`.
    ///
    /// `history` is any series with the columns the model was fitted on; only its rows are used
    /// (never data after its last row), so a backtest or a server can pass the latest window
    /// without refitting.
    fn predict(&self, history: &TimeSeries, horizon: Horizon) -> Result<Forecast>;
}

/// Object-safe form of [`Fit`], so a menu of different models can be fitted in a loop.
pub trait FitDyn: Send + Sync {
    /// Fits and returns the fitted model behind a box.
    fn fit_dyn(&self, train: &TimeSeries, target: &str) -> Result<Box<dyn Predict>>;
}

impl<T: Fit + Send + Sync> FitDyn for T {
    fn fit_dyn(&self, train: &TimeSeries, target: &str) -> Result<Box<dyn Predict>> {
        Ok(Box::new(self.fit(train, target)?))
    }
}

impl Predict for Box<dyn Predict> {
    fn predict(&self, history: &TimeSeries, horizon: Horizon) -> Result<Forecast> {
        (**self).predict(history, horizon)
    }
}
