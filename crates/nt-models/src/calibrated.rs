//! Any model with calibrated intervals: [`CalibratedSpec`] (the base model's spec plus an
//! [`IntervalSpec`]) and [`CalibratedModel`], the fitted base model with its [`Calibration`],
//! served like any [`Forecaster`]: the point is the base's, the bands are the calibration's.
//!
//! A model directory of this kind is the base's directory (its `fitted.json` or
//! `weights.safetensors`, checked by sha256 as always) whose `model.json` holds the calibrated
//! spec and the calibration (the manifest's `calibration` field), so a registry that stores
//! the manifest beside the payload keeps both.

use std::path::Path;

use nt_core::Forecast;
use nt_neural::checkpoint::write_atomic;
use nt_neural::{ModelMeta, NeuralModel, Precision, WindowInputs};

use crate::forecaster::check_horizon;
use crate::intervals::conformal::Calibration;
use crate::intervals::{IntervalMethod, IntervalSpec};
use crate::persist::read_manifest;
use crate::{Error, Forecaster, ModelSpec, Result, MODEL_JSON};

/// A base model whose prediction intervals are calibrated (`intervals`) instead of its own.
/// JSON: the base's flat JSON plus the `intervals` object,
/// `{"model": "ets", "season_length": 24, "intervals": {"method": "conformal", "levels": [0.8, 0.95]}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibratedSpec {
    /// The model whose point forecasts are used (any kind but another calibrated one).
    pub base: ModelSpec,
    /// How its intervals are made.
    pub intervals: IntervalSpec,
}

impl CalibratedSpec {
    /// Checks the base, the intervals, and that the combination makes sense: a calibrated base
    /// (intervals twice), calibration rows for a neural model (it calibrates on its validation
    /// tail), or a horizon other than a neural model's own are refused.
    pub fn validate(&self) -> Result<()> {
        self.base.validate()?;
        self.intervals.validate()?;
        match &self.base {
            ModelSpec::Calibrated(_) => Err(Error::invalid(
                "intervals",
                "the base model already has calibrated intervals; give one `intervals` object",
            )),
            ModelSpec::Neural(n) => {
                if self.intervals.calibration_rows.is_some() {
                    return Err(Error::invalid(
                        "intervals.calibration_rows",
                        format!(
                            "{} calibrates on its validation tail (train.val_size or train.val_fraction), not on held-out rows",
                            n.name()
                        ),
                    ));
                }
                match self.intervals.horizon {
                    Some(h) if h != n.horizon() => Err(Error::invalid(
                        "intervals.horizon",
                        format!("{} forecasts {} steps, {h} given", n.name(), n.horizon()),
                    )),
                    _ => Ok(()),
                }
            }
            ModelSpec::Classical(_) => Ok(()),
            ModelSpec::Ensemble(_) => Err(crate::intervals::calibrate::ensemble_refused()),
            ModelSpec::Hybrid(_) => Err(Error::invalid(
                "intervals",
                "a hybrid's bands are its neural model's (train it with a quantile loss); calibrated intervals over a hybrid are not supported",
            )),
        }
    }
}

/// A fitted base model with the calibration of its intervals.
///
/// Guarantees: the point forecast is the base's, bit for bit; the bands at every level are
/// `point ∓ radius[level][step]` of the stored [`Calibration`] (no other bands); horizons up to
/// the calibrated one are served.
#[derive(Debug)]
pub struct CalibratedModel {
    spec: CalibratedSpec,
    base: Box<dyn Forecaster>,
    calibration: Calibration,
}

impl CalibratedModel {
    /// Wraps a fitted `base` of `spec.base` with its `calibration` (checked).
    pub fn new(
        spec: CalibratedSpec,
        base: Box<dyn Forecaster>,
        calibration: Calibration,
    ) -> Result<Self> {
        calibration.validate()?;
        if let Some(h) = base.max_horizon() {
            if calibration.horizon > h {
                return Err(Error::model_dir(
                    "calibration",
                    format!(
                        "calibrated for {} steps, the model forecasts {h}",
                        calibration.horizon
                    ),
                ));
            }
        }
        Ok(Self {
            spec,
            base,
            calibration,
        })
    }

    /// The calibration (radii, counts, source).
    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    /// The fitted base model.
    pub fn base(&self) -> &dyn Forecaster {
        &*self.base
    }

    /// The forecast with `point` and the calibrated bands after history `target`: the
    /// conformal radii, or the GARCH widths from the base's one-step residuals over the end of
    /// `target`.
    fn bands(&self, target: &[f64], point: &[f64]) -> Result<Forecast> {
        match (&self.calibration.method, &self.calibration.garch) {
            (IntervalMethod::Garch, Some(g)) => {
                let residuals = g.recent_residuals(&*self.base, target)?;
                g.apply(point, &residuals, &self.calibration.levels)
            }
            _ => self.calibration.apply(point),
        }
    }
}

impl Forecaster for CalibratedModel {
    fn spec(&self) -> ModelSpec {
        ModelSpec::Calibrated(Box::new(self.spec.clone()))
    }
    fn name(&self) -> &'static str {
        self.base.name()
    }
    fn targets(&self) -> &[String] {
        self.base.targets()
    }
    fn meta(&self) -> &ModelMeta {
        self.base.meta()
    }
    fn min_history(&self) -> usize {
        self.base.min_history()
    }
    fn window(&self) -> Option<usize> {
        self.base.window()
    }
    fn max_horizon(&self) -> Option<usize> {
        Some(self.calibration.horizon)
    }
    fn hist_exog(&self) -> &[String] {
        self.base.hist_exog()
    }
    fn futr_exog(&self) -> &[String] {
        self.base.futr_exog()
    }
    fn params(&self) -> usize {
        self.base.params()
    }
    fn quantile_levels(&self) -> Vec<f64> {
        self.calibration.quantile_levels()
    }
    fn forecast(&self, input: &WindowInputs<'_>, horizon: usize) -> Result<Forecast> {
        check_horizon(horizon, Some(self.calibration.horizon))?;
        let f = self.base.forecast(input, horizon)?;
        self.bands(input.target, f.point_values())
    }
    fn forecast_batch(&self, inputs: &[WindowInputs<'_>], horizon: usize) -> Result<Vec<Forecast>> {
        check_horizon(horizon, Some(self.calibration.horizon))?;
        self.base
            .forecast_batch(inputs, horizon)?
            .iter()
            .zip(inputs)
            .map(|(f, i)| self.bands(i.target, f.point_values()))
            .collect()
    }
    fn batches(&self) -> bool {
        self.base.batches()
    }
    fn predict_series(
        &self,
        history: &nt_core::TimeSeries,
        column: &str,
        future: Option<&nt_core::TimeSeries>,
        horizon: usize,
    ) -> Result<Forecast> {
        check_horizon(horizon, Some(self.calibration.horizon))?;
        // Through the base's own path (a classical model continues from its real timestamps).
        let f = self.base.predict_series(history, column, future, horizon)?;
        self.bands(history.finite_column(column)?, f.point_values())
    }
    /// The base's directory, then `model.json` rewritten with the calibrated spec and the
    /// calibration (atomically: temporary file, fsync, rename).
    fn save(&self, dir: &Path) -> Result<()> {
        self.base.save(dir)?;
        write_calibrated_manifest(dir, self)
    }
    fn set_precision(&mut self, precision: Precision) -> bool {
        self.base.set_precision(precision)
    }
    fn as_neural(&self) -> Option<&NeuralModel> {
        self.base.as_neural()
    }
}

/// Rewrites `model.json` of the base model's directory `dir` with `model`'s calibrated spec and
/// calibration (atomically: temporary file, fsync, rename); the payload files stay as written.
pub(crate) fn write_calibrated_manifest(dir: &Path, model: &CalibratedModel) -> Result<()> {
    let mut manifest = read_manifest(dir)?;
    manifest.spec = model.spec();
    manifest.calibration = Some(model.calibration.clone());
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| Error::model_dir(dir.display().to_string(), e.to_string()))?;
    write_atomic(&dir.join(MODEL_JSON), &json)?;
    Ok(())
}
