//! [`HybridModel`]: the fitted MSTL + neural hybrid, and its training.

use std::path::Path;

use nt_core::{Column, Forecast, QuantileBand, TimeSeries};
use nt_neural::checkpoint::write_atomic;
use nt_neural::{ModelMeta, NeuralModel, Precision, TrainOptions, TrainProgress, WindowInputs};

use super::decompose::decompose;
use super::HybridSpec;
use crate::forecaster::check_horizon;
use crate::persist::read_manifest;
use crate::{Error, Forecaster, ModelSpec, Result, Trained, MODEL_JSON};

/// A fitted hybrid: the neural model of the seasonally adjusted series and the spec whose
/// decomposition every forecast repeats on its history's last [`HybridSpec::window`] rows.
///
/// Guarantees: a forecast depends only on the last `window` rows of the history (and the
/// exogenous columns' matching rows); its point and bands are the neural model's on the
/// adjusted window plus the seasonal forecast; [`forecast_batch`](Forecaster::forecast_batch)
/// gives each input the bits [`forecast`](Forecaster::forecast) gives it alone when the neural
/// model's batches do (its plain-Rust CPU path); saved and loaded, it forecasts the same bits.
#[derive(Debug)]
pub struct HybridModel {
    spec: HybridSpec,
    neural: NeuralModel,
}

impl HybridModel {
    /// Wraps `neural`, trained on the series adjusted by `spec`'s decomposition; its spec must
    /// be `spec.neural`.
    pub fn new(spec: HybridSpec, neural: NeuralModel) -> Result<Self> {
        spec.validate()?;
        if NeuralModel::spec(&neural) != &spec.neural {
            return Err(Error::model_dir(
                "weights",
                format!(
                    "the neural model is a {} whose spec differs from the hybrid's neural part",
                    NeuralModel::spec(&neural).name()
                ),
            ));
        }
        Ok(Self { spec, neural })
    }

    /// The hybrid's spec.
    pub fn hybrid_spec(&self) -> &HybridSpec {
        &self.spec
    }

    /// The neural model of the adjusted series.
    pub fn neural(&self) -> &NeuralModel {
        &self.neural
    }

    /// The adjusted window of `input` (its last `window` target values minus their seasonal
    /// components) and the seasonal forecast over `horizon` steps.
    fn adjust(&self, input: &WindowInputs<'_>, horizon: usize) -> Result<(Vec<f64>, Vec<f64>)> {
        let w = self.spec.window();
        let y = input.target;
        if y.len() < w {
            return Err(Error::invalid(
                "history",
                format!(
                    "the hybrid reads the last {w} values (the neural input and {} cycles of the longest season), got {}",
                    w / self.spec.seasons().iter().copied().max().unwrap_or(1).max(1),
                    y.len()
                ),
            ));
        }
        let d = decompose(&y[y.len() - w..], self.spec.seasons())?;
        let seasonal = d.seasonal_forecast(self.spec.seasons(), horizon);
        Ok((d.adjusted, seasonal))
    }
}

/// `f` with `offset` added to its point and every band.
fn shifted(f: &Forecast, offset: &[f64]) -> Result<Forecast> {
    let add =
        |values: &[f64]| -> Vec<f64> { values.iter().zip(offset).map(|(v, o)| v + o).collect() };
    let bands = f
        .quantiles()
        .iter()
        .map(|b| QuantileBand {
            q: b.q,
            values: add(&b.values),
        })
        .collect();
    Ok(Forecast::new(add(f.point_values()), bands)?)
}

impl Forecaster for HybridModel {
    fn spec(&self) -> ModelSpec {
        ModelSpec::Hybrid(Box::new(self.spec.clone()))
    }
    fn name(&self) -> &'static str {
        "hybrid"
    }
    fn targets(&self) -> &[String] {
        NeuralModel::targets(&self.neural)
    }
    fn meta(&self) -> &ModelMeta {
        NeuralModel::meta(&self.neural)
    }
    fn min_history(&self) -> usize {
        self.spec.min_history()
    }
    fn window(&self) -> Option<usize> {
        Some(self.spec.window())
    }
    fn max_horizon(&self) -> Option<usize> {
        Some(NeuralModel::horizon(&self.neural))
    }
    fn hist_exog(&self) -> &[String] {
        self.spec.neural.hist_exog()
    }
    fn futr_exog(&self) -> &[String] {
        self.spec.neural.futr_exog()
    }
    fn params(&self) -> usize {
        Forecaster::params(&self.neural)
    }
    fn quantile_levels(&self) -> Vec<f64> {
        Forecaster::quantile_levels(&self.neural)
    }
    fn forecast(&self, input: &WindowInputs<'_>, horizon: usize) -> Result<Forecast> {
        let mut out = self.forecast_batch(std::slice::from_ref(input), horizon)?;
        out.pop()
            .ok_or_else(|| Error::invalid("history", "no forecast produced"))
    }
    /// Decomposes every input's window, then one neural batch over the adjusted windows.
    fn forecast_batch(&self, inputs: &[WindowInputs<'_>], horizon: usize) -> Result<Vec<Forecast>> {
        check_horizon(horizon, Some(NeuralModel::horizon(&self.neural)))?;
        let parts = inputs
            .iter()
            .map(|i| self.adjust(i, horizon))
            .collect::<Result<Vec<_>>>()?;
        let windows: Vec<WindowInputs<'_>> = inputs
            .iter()
            .zip(&parts)
            .map(|(i, (adjusted, _))| WindowInputs {
                target: adjusted,
                hist: i.hist.clone(),
                futr: i.futr.clone(),
            })
            .collect();
        let forecasts = Forecaster::forecast_batch(&self.neural, &windows, horizon)?;
        forecasts
            .iter()
            .zip(&parts)
            .map(|(f, (_, seasonal))| shifted(f, seasonal))
            .collect()
    }
    fn batches(&self) -> bool {
        Forecaster::batches(&self.neural)
    }
    /// The neural model's directory (its weights the one payload), then `model.json` rewritten
    /// with the hybrid spec (atomically).
    fn save(&self, dir: &Path) -> Result<()> {
        Forecaster::save(&self.neural, dir)?;
        write_hybrid_manifest(dir, &self.spec)
    }
    fn set_precision(&mut self, precision: Precision) -> bool {
        Forecaster::set_precision(&mut self.neural, precision)
    }
}

/// Rewrites `model.json` of the neural directory `dir` with the hybrid spec.
fn write_hybrid_manifest(dir: &Path, spec: &HybridSpec) -> Result<()> {
    let mut manifest = read_manifest(dir)?;
    manifest.spec = ModelSpec::Hybrid(Box::new(spec.clone()));
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| Error::model_dir(dir.display().to_string(), e.to_string()))?;
    write_atomic(&dir.join(MODEL_JSON), &json)?;
    Ok(())
}

/// `series` with each of `targets` replaced by its seasonally adjusted values (the MSTL of all
/// of its rows at `spec`'s seasons); the other columns unchanged.
pub(crate) fn adjusted_series(
    series: &TimeSeries,
    targets: &[&str],
    spec: &HybridSpec,
) -> Result<TimeSeries> {
    for t in targets {
        series.column(t)?;
    }
    let columns = series
        .columns()
        .iter()
        .map(|c| {
            if targets.contains(&c.name.as_str()) {
                let values = series.finite_column(&c.name)?;
                Ok(Column {
                    name: c.name.clone(),
                    values: decompose(values, spec.seasons())?.adjusted,
                })
            } else {
                Ok(c.clone())
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(TimeSeries::new(series.timestamps().to_vec(), columns)?)
}

/// Trains the hybrid: decomposes each target over the training rows, trains `spec.neural` on
/// the adjusted series (one global model over `targets`, `opts`' checkpoints and progress), and
/// saves it to `opts.out_dir` with the hybrid spec when given.
pub(crate) fn train_hybrid(
    series: &TimeSeries,
    targets: &[&str],
    spec: &HybridSpec,
    opts: &TrainOptions,
    progress: &mut dyn FnMut(&TrainProgress),
) -> Result<Trained> {
    spec.validate()?;
    let adjusted = adjusted_series(series, targets, spec)?;
    let t = nt_neural::train(&adjusted, targets, &spec.neural, opts, progress)?;
    // The trained network's spec (what its weights were built from) is the hybrid's part.
    let spec = HybridSpec {
        decompose: spec.decompose.clone(),
        neural: NeuralModel::spec(&t.model).clone(),
    };
    if let Some(dir) = &opts.out_dir {
        write_hybrid_manifest(dir, &spec)?;
    }
    let model = HybridModel::new(spec, t.model)?;
    Ok(Trained {
        model: Box::new(model),
        report: Some(t.report),
    })
}
