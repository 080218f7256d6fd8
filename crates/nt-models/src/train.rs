//! Training or fitting any [`ModelSpec`] on a series, with one entry point.

use nt_classical::ClassicalSpec;
use nt_core::{FitDyn, Predict, TimeSeries};
use nt_neural::{TrainOptions, TrainProgress, TrainReport};

use crate::classical::ClassicalModel;
use crate::{Error, Forecaster, ModelSpec, Result};

/// A trained (or fitted) model and, for neural ones, how training went.
#[derive(Debug)]
pub struct Trained {
    /// The model, ready to forecast.
    pub model: Box<dyn Forecaster>,
    /// Steps, losses, the log (neural models only).
    pub report: Option<TrainReport>,
}

/// Trains a neural spec (one global model over `targets`, with `opts`' checkpoints and
/// `progress` after every step) or fits a classical one (on the single column of `targets`),
/// saving the result to `opts.out_dir` when given.
///
/// Guarantees: the same series, targets, spec and seed give the same model on the same
/// machine; a classical fit sees only `series`.
pub fn train(
    series: &TimeSeries,
    targets: &[&str],
    spec: &ModelSpec,
    opts: &TrainOptions,
    progress: &mut dyn FnMut(&TrainProgress),
) -> Result<Trained> {
    match spec {
        ModelSpec::Calibrated(c) => {
            crate::intervals::calibrate::train_calibrated(series, targets, c, opts, progress)
        }
        ModelSpec::Hybrid(h) => crate::hybrid::train_hybrid(series, targets, h, opts, progress),
        ModelSpec::Ensemble(e) => {
            crate::ensemble::fit::train_ensemble(series, targets, e, opts, progress)
        }
        ModelSpec::Neural(n) => {
            let t = nt_neural::train(series, targets, n, opts, progress)?;
            Ok(Trained {
                model: Box::new(t.model),
                report: Some(t.report),
            })
        }
        ModelSpec::Classical(c) => {
            let [target] = targets else {
                return Err(Error::invalid(
                    "targets",
                    format!(
                        "{} fits one column, {} given (one global model over several columns is for neural models)",
                        c.name(),
                        targets.len()
                    ),
                ));
            };
            let model = ClassicalModel::fit(c, series, target)?;
            if let Some(dir) = &opts.out_dir {
                model.save(dir)?;
            }
            Ok(Trained {
                model: Box::new(model),
                report: None,
            })
        }
    }
}

impl FitDyn for ModelSpec {
    /// Fits on `train`'s column `target`, writing nothing to disk (what backtests call).
    fn fit_dyn(&self, train: &TimeSeries, target: &str) -> nt_core::Result<Box<dyn Predict>> {
        match self {
            ModelSpec::Calibrated(_) | ModelSpec::Hybrid(_) | ModelSpec::Ensemble(_) => {
                let t = crate::train(
                    train,
                    &[target],
                    self,
                    &TrainOptions::default(),
                    &mut |_| {},
                )
                .map_err(|e| nt_core::Error::model(self.name(), e.to_string()))?;
                Ok(Box::new(crate::forecaster::BoxedPredict(t.model)))
            }
            ModelSpec::Classical(c) => ClassicalSpec::fit_boxed(c, train, target),
            ModelSpec::Neural(n) => {
                let t =
                    nt_neural::train(train, &[target], n, &TrainOptions::default(), &mut |_| {})?;
                // Through the Forecaster, so a sample-path model's forecasts carry their paths
                // and the backtest scores CRPS.
                Ok(Box::new(crate::forecaster::BoxedPredict(Box::new(t.model))))
            }
        }
    }
}
