//! [`Forecaster`] for neural models.

use std::path::Path;

use nt_core::Forecast;
use nt_neural::{ModelMeta, NeuralModel, Precision, WindowInputs};

use crate::forecaster::{check_horizon, no_paths, PathRequest};
use crate::{Error, Forecaster, ModelSpec, Result};

/// The last `n` values of `v`, or an insufficient-history error naming `what`.
fn tail<'a>(v: &'a [f64], n: usize, what: &str) -> Result<&'a [f64]> {
    if v.len() < n {
        return Err(Error::invalid(
            what,
            format!("needs at least {n} values, got {}", v.len()),
        ));
    }
    Ok(&v[v.len() - n..])
}

impl Forecaster for NeuralModel {
    fn spec(&self) -> ModelSpec {
        ModelSpec::Neural(NeuralModel::spec(self).clone())
    }
    fn name(&self) -> &'static str {
        NeuralModel::spec(self).name()
    }
    fn targets(&self) -> &[String] {
        NeuralModel::targets(self)
    }
    fn meta(&self) -> &ModelMeta {
        NeuralModel::meta(self)
    }
    fn min_history(&self) -> usize {
        self.input_size()
    }
    fn window(&self) -> Option<usize> {
        Some(self.input_size())
    }
    fn max_horizon(&self) -> Option<usize> {
        Some(NeuralModel::horizon(self))
    }
    fn hist_exog(&self) -> &[String] {
        NeuralModel::spec(self).hist_exog()
    }
    fn futr_exog(&self) -> &[String] {
        NeuralModel::spec(self).futr_exog()
    }
    fn params(&self) -> usize {
        self.weights().iter().map(|(_, t)| t.elem_count()).sum()
    }
    fn quantile_levels(&self) -> Vec<f64> {
        self.quantiles().map(<[f64]>::to_vec).unwrap_or_default()
    }
    fn forecast(&self, input: &WindowInputs<'_>, horizon: usize) -> Result<Forecast> {
        let mut out = self.forecast_batch(std::slice::from_ref(input), horizon)?;
        out.pop()
            .ok_or_else(|| Error::invalid("history", "no forecast produced"))
    }
    /// The windows' ends go through one `forecast_inputs` call: the plain-Rust CPU path gives
    /// each the bits it gets alone; without one (GPU, exogenous NHITS) the answers can differ
    /// from single ones in the last bits, so a server batches only models with a fast path.
    fn forecast_batch(&self, inputs: &[WindowInputs<'_>], horizon: usize) -> Result<Vec<Forecast>> {
        check_horizon(horizon, Some(NeuralModel::horizon(self)))?;
        let windows = model_windows(self, inputs)?;
        Ok(self.forecast_inputs(&windows, horizon)?)
    }
    fn has_paths(&self) -> bool {
        NeuralModel::has_paths(self)
    }
    fn default_paths(&self) -> Option<PathRequest> {
        let (samples, seed) = self.network().probabilistic()?.default_paths()?;
        Some(PathRequest { samples, seed })
    }
    fn forecast_paths(
        &self,
        inputs: &[WindowInputs<'_>],
        horizon: usize,
        request: PathRequest,
    ) -> Result<Vec<Forecast>> {
        if !NeuralModel::has_paths(self) {
            return Err(no_paths(NeuralModel::spec(self).name()));
        }
        check_horizon(horizon, Some(NeuralModel::horizon(self)))?;
        let windows = model_windows(self, inputs)?;
        Ok(NeuralModel::forecast_paths(
            self,
            &windows,
            horizon,
            request.samples,
            request.seed,
        )?)
    }
    fn batches(&self) -> bool {
        self.has_fast_path()
    }
    fn save(&self, dir: &Path) -> Result<()> {
        Ok(NeuralModel::save(self, dir)?)
    }
    fn set_precision(&mut self, precision: Precision) -> bool {
        NeuralModel::set_precision(self, precision);
        self.has_fast_path()
    }
    fn as_neural(&self) -> Option<&NeuralModel> {
        Some(self)
    }
}

/// The windows `model` reads from each input: the last L target and historic values and the
/// last L + H future values, after checking the exogenous columns match the model's.
fn model_windows<'a>(
    model: &NeuralModel,
    inputs: &'a [WindowInputs<'_>],
) -> Result<Vec<WindowInputs<'a>>> {
    let (l, h) = (model.input_size(), NeuralModel::horizon(model));
    let hist_names = NeuralModel::spec(model).hist_exog();
    let futr_names = NeuralModel::spec(model).futr_exog();
    inputs
            .iter()
            .map(|i| {
                if i.hist.len() != hist_names.len() || i.futr.len() != futr_names.len() {
                    return Err(Error::invalid(
                        "exog",
                        format!(
                            "the model reads {} historic ({}) and {} future ({}) exogenous columns, got {} and {}",
                            hist_names.len(),
                            hist_names.join(", "),
                            futr_names.len(),
                            futr_names.join(", "),
                            i.hist.len(),
                            i.futr.len()
                        ),
                    ));
                }
                Ok(WindowInputs {
                    target: tail(i.target, l, "history")?,
                    hist: i
                        .hist
                        .iter()
                        .zip(hist_names)
                        .map(|(c, n)| tail(c, l, n))
                        .collect::<Result<_>>()?,
                    futr: i
                        .futr
                        .iter()
                        .zip(futr_names)
                        .map(|(c, n)| tail(c, l + h, n))
                        .collect::<Result<_>>()?,
                })
            })
            .collect::<Result<_>>()
}
