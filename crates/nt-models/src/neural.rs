//! [`Forecaster`] for neural models.

use std::path::Path;

use nt_core::Forecast;
use nt_neural::{ModelMeta, NeuralModel, Precision, WindowInputs};

use crate::forecaster::check_horizon;
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
        let (l, h) = (self.input_size(), NeuralModel::horizon(self));
        let hist_names = NeuralModel::spec(self).hist_exog();
        let futr_names = NeuralModel::spec(self).futr_exog();
        let windows: Vec<WindowInputs<'_>> = inputs
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
            .collect::<Result<_>>()?;
        Ok(self.forecast_inputs(&windows, horizon)?)
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
