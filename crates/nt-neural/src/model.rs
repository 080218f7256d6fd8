//! [`NeuralModel`]: a trained network of any architecture, its forecasts (the plain-Rust CPU
//! path when the architecture has one, candle otherwise), precision and saving.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use nt_core::{Forecast, Horizon, Predict, TimeSeries};

use crate::arch::{FastForward, Network, NeuralSpec};
use crate::checkpoint;
use crate::config::Loss;
use crate::fast::Precision;
use crate::scalers::WindowScale;
use crate::trainer::PreparedSeries;
use crate::training::ModelMeta;
use crate::{Error, Result};

/// Windows per chunk of the plain-Rust path: each weight matrix is streamed once per chunk, and
/// chunks run in parallel.
const FAST_PATH_CHUNK: usize = 32;

/// The device models run on: the first CUDA GPU with the `cuda` feature when one is present,
/// the CPU otherwise.
pub fn default_device() -> Device {
    #[cfg(feature = "cuda")]
    {
        Device::cuda_if_available(0).unwrap_or(Device::Cpu)
    }
    #[cfg(not(feature = "cuda"))]
    {
        Device::Cpu
    }
}

/// A trained neural model (NHITS or N-BEATS): its spec, network, weights, the columns it was
/// trained on and its training metadata. What [`crate::train`], [`crate::load`] and
/// [`crate::import_neuralforecast`] return, and what `Fit` for [`crate::NhitsConfig`] /
/// [`crate::NBeatsConfig`] yields.
///
/// Prediction takes the last `input_size` values of a column, scales them per window as in
/// training, runs the network and scales back. With the quantile loss, the point forecast is the
/// 0.5 level when trained with it (else the middle level) and every level becomes a band.
/// On the CPU, NHITS forecasts (without exogenous inputs) run through a plain-Rust forward that
/// streams each weight matrix once per chunk of 32 windows, chunks in parallel on rayon's
/// current pool, instead of candle: a window's forecast has the same bits whatever batch it is
/// in, and a single window pays for no thread pool.
#[derive(Debug)]
pub struct NeuralModel {
    spec: NeuralSpec,
    net: Box<dyn Network>,
    weights: Vec<(String, Tensor)>,
    targets: Vec<String>,
    device: Device,
    meta: ModelMeta,
    fast: Option<Box<dyn FastForward>>,
    /// The single-window path with bfloat16 weights, when [`Precision::Bf16`] is chosen.
    fast_bf16: Option<Box<dyn FastForward>>,
}

/// Runs the plain-Rust NHITS path over the windows packed in `x` (`input_size` values each):
/// up to [`FAST_PATH_CHUNK`] windows on the calling thread, larger batches in chunks of that
/// size on rayon's current pool. Every window gets the bits it would get alone.
fn fast_forward(fast: &dyn FastForward, x: &[f32], l: usize) -> Vec<f32> {
    let n = x.len() / l;
    if n <= FAST_PATH_CHUNK {
        return fast.forward_batch(x, n);
    }
    use rayon::prelude::*;
    x.par_chunks(FAST_PATH_CHUNK * l)
        .map(|chunk| fast.forward_batch(chunk, chunk.len() / l))
        .collect::<Vec<_>>()
        .concat()
}

/// The inputs of one forecast window (see [`NeuralModel::forecast_inputs`]).
#[derive(Debug, Clone)]
pub struct WindowInputs<'a> {
    /// The target's last `input_size` values, oldest first.
    pub target: &'a [f64],
    /// Each historic exogenous column over the same rows, in the spec's order.
    pub hist: Vec<&'a [f64]>,
    /// Each future exogenous column over the input rows and the next H, in the spec's order.
    pub futr: Vec<&'a [f64]>,
}

impl<'a> WindowInputs<'a> {
    /// The inputs of a model without exogenous columns: the target's history only.
    pub fn target(values: &'a [f64]) -> Self {
        Self {
            target: values,
            hist: Vec::new(),
            futr: Vec::new(),
        }
    }
}

/// A trained NHITS (the same type as any trained neural model).
pub type FittedNhits = NeuralModel;

/// A trained N-BEATS (the same type as any trained neural model).
pub type FittedNBeats = NeuralModel;

impl NeuralModel {
    /// Builds a model from named weights, checking that every weight the spec needs is present
    /// with its shape and that no other tensor the architecture owns is
    /// ([`crate::Architecture::owns_weight`]; other names, such as neuralforecast's stored N-BEATS
    /// bases, are ignored).
    pub fn from_weights(
        spec: NeuralSpec,
        weights: HashMap<String, Tensor>,
        targets: Vec<String>,
        meta: ModelMeta,
        device: &Device,
    ) -> Result<Self> {
        spec.validate_architecture()?;
        let expected = spec.weight_shapes();
        let mut named = Vec::with_capacity(expected.len());
        for (name, shape) in &expected {
            let t = weights.get(name).ok_or_else(|| Error::Checkpoint {
                path: "weights".into(),
                reason: format!("missing tensor `{name}` (shape {shape:?})"),
            })?;
            if t.dims() != shape.as_slice() {
                return Err(Error::Checkpoint {
                    path: "weights".into(),
                    reason: format!(
                        "tensor `{name}` has shape {:?}, the config needs {shape:?}",
                        t.dims()
                    ),
                });
            }
            named.push((name.clone(), t.to_dtype(DType::F32)?.to_device(device)?));
        }
        if let Some(extra) = weights
            .keys()
            .filter(|k| spec.owns_weight(k) && !expected.iter().any(|(n, _)| n == *k))
            .min()
        {
            return Err(Error::Checkpoint {
                path: "weights".into(),
                reason: format!("tensor `{extra}` does not belong to this architecture"),
            });
        }
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let vb = VarBuilder::from_tensors(named.iter().cloned().collect(), DType::F32, device);
        let net = spec.build(vb)?;
        let fast = if device.is_cpu() {
            spec.fast_path(&named)?
        } else {
            None
        };
        Ok(Self {
            spec,
            net,
            weights: named,
            targets,
            device: device.clone(),
            meta,
            fast,
            fast_bf16: None,
        })
    }

    /// Chooses how the plain-Rust CPU path stores its weights: [`Precision::F32`] (default, the
    /// exact network) or [`Precision::Bf16`] (half the memory traffic, forecasts within about 1%
    /// of the f32 ones). Models without that path (N-BEATS, exogenous inputs, GPU) ignore it.
    pub fn set_precision(&mut self, precision: Precision) {
        self.fast_bf16 = match precision {
            Precision::F32 => None,
            Precision::Bf16 => self.fast.as_ref().and_then(|f| f.to_bf16()),
        };
    }

    /// The precision of the single-window path.
    pub fn precision(&self) -> Precision {
        if self.fast_bf16.is_some() {
            Precision::Bf16
        } else {
            Precision::F32
        }
    }

    /// The spec it was built from.
    pub fn spec(&self) -> &NeuralSpec {
        &self.spec
    }

    /// The columns it was trained on; the first is what [`Predict::predict`] forecasts.
    pub fn targets(&self) -> &[String] {
        &self.targets
    }

    /// Training metadata.
    pub fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    /// The weights by name, in name order.
    pub fn weights(&self) -> &[(String, Tensor)] {
        &self.weights
    }

    /// The horizon the network was built for.
    pub fn horizon(&self) -> usize {
        self.spec.horizon()
    }

    /// The input window length.
    pub fn input_size(&self) -> usize {
        self.spec.input_size()
    }

    /// The quantile levels of the outputs, when trained with the quantile loss.
    pub fn quantiles(&self) -> Option<&[f64]> {
        match &self.spec.train_config().loss {
            Loss::Quantile(q) => Some(q),
            _ => None,
        }
    }

    /// The candle network (what training runs; the reference for the fast CPU path).
    pub fn network(&self) -> &dyn Network {
        &*self.net
    }

    /// Whether CPU forecasts run through a plain-Rust path instead of candle.
    pub fn has_fast_path(&self) -> bool {
        self.fast.is_some()
    }

    /// Forecasts the `horizon` steps after each window; every window holds exactly
    /// `input_size` finite values, oldest first. Windows are scaled, batched through the network
    /// 1024 at a time and scaled back. Models with exogenous inputs need
    /// [`forecast_inputs`](Self::forecast_inputs).
    pub fn forecast_windows(&self, windows: &[&[f64]], horizon: usize) -> Result<Vec<Forecast>> {
        let inputs: Vec<WindowInputs<'_>> =
            windows.iter().map(|w| WindowInputs::target(w)).collect();
        self.forecast_inputs(&inputs, horizon)
    }

    /// Forecasts the `horizon` steps after each window, exogenous channels included: the target
    /// and each historic channel hold `input_size` finite values, each future channel
    /// `input_size + H` (the input rows, then the model's whole horizon H). Every channel is
    /// scaled per window with the statistics of its input rows, as in training.
    pub fn forecast_inputs(
        &self,
        inputs: &[WindowInputs<'_>],
        horizon: usize,
    ) -> Result<Vec<Forecast>> {
        let (l, h) = (self.input_size(), self.horizon());
        if horizon == 0 || horizon > h {
            return Err(Error::invalid(
                "horizon",
                format!("the model forecasts 1 to {h} steps, {horizon} asked"),
            ));
        }
        let q = self.spec.train_config().loss.n_outputs();
        let scaler = self.spec.train_config().scaler;
        let (n_hist, n_futr) = (self.spec.hist_exog().len(), self.spec.futr_exog().len());
        let width = l + l * n_hist + (l + h) * n_futr;
        let mut out = Vec::with_capacity(inputs.len());
        for chunk in inputs.chunks(1024) {
            let b = chunk.len();
            let mut x = Vec::with_capacity(b * width);
            let mut scales = Vec::with_capacity(b);
            for w in chunk {
                let window = self.checked_window(w, n_hist, n_futr)?;
                scales.push(crate::trainer::pack_window(
                    &mut x,
                    &window,
                    l - 1,
                    (l, h),
                    usize::MAX,
                    scaler,
                ));
            }
            let y: Vec<f32> = match self.fast_bf16.as_ref().or(self.fast.as_ref()) {
                Some(fast) => fast_forward(&**fast, &x, l),
                _ => {
                    let y = self
                        .net
                        .forward(&Tensor::from_vec(x, (b, width), &self.device)?)?;
                    y.flatten_all()?.to_device(&Device::Cpu)?.to_vec1()?
                }
            };
            for (i, ws) in scales.iter().enumerate() {
                out.push(self.to_forecast(&y[i * h * q..(i + 1) * h * q], *ws, horizon, q)?);
            }
        }
        Ok(out)
    }

    /// Checks one window's lengths and values and converts it to the trainer's layout.
    fn checked_window(
        &self,
        w: &WindowInputs<'_>,
        n_hist: usize,
        n_futr: usize,
    ) -> Result<PreparedSeries> {
        let (l, h) = (self.input_size(), self.horizon());
        if w.hist.len() != n_hist || w.futr.len() != n_futr {
            return Err(Error::invalid(
                "exog",
                format!(
                    "the model reads {n_hist} historic ({}) and {n_futr} future ({}) exogenous columns, got {} and {}",
                    self.spec.hist_exog().join(", "),
                    self.spec.futr_exog().join(", "),
                    w.hist.len(),
                    w.futr.len()
                ),
            ));
        }
        let convert = |name: &str, values: &[f64], len: usize| -> Result<Vec<f32>> {
            if values.len() != len {
                return Err(if values.len() < len {
                    Error::InsufficientHistory {
                        needed: len,
                        got: values.len(),
                    }
                } else {
                    Error::invalid(name, format!("expected {len} values, got {}", values.len()))
                });
            }
            if let Some(v) = values.iter().find(|v| !v.is_finite()) {
                return Err(Error::invalid(
                    name,
                    format!("non-finite value {v} in the input window"),
                ));
            }
            Ok(values.iter().map(|&v| v as f32).collect())
        };
        Ok(PreparedSeries {
            values: convert("history", w.target, l)?,
            n_train: l,
            hist: w
                .hist
                .iter()
                .zip(self.spec.hist_exog())
                .map(|(c, name)| convert(name, c, l))
                .collect::<Result<_>>()?,
            futr: w
                .futr
                .iter()
                .zip(self.spec.futr_exog())
                .map(|(c, name)| convert(name, c, l + h))
                .collect::<Result<_>>()?,
        })
    }

    fn to_forecast(
        &self,
        y: &[f32],
        ws: WindowScale,
        horizon: usize,
        q: usize,
    ) -> Result<Forecast> {
        let series = |k: usize| -> Vec<f64> {
            (0..horizon)
                .map(|t| f64::from(ws.invert(y[t * q + k])))
                .collect()
        };
        match self.quantiles() {
            None => Ok(Forecast::point(series(0))),
            Some(levels) => {
                let mid = levels
                    .iter()
                    .position(|&l| (l - 0.5).abs() < 1e-9)
                    .unwrap_or(levels.len() / 2);
                let mut f = Forecast::point(series(mid));
                for (k, &level) in levels.iter().enumerate() {
                    f = f.with_quantile(level, series(k))?;
                }
                Ok(f)
            }
        }
    }

    /// Forecasts column `column` of `history` (its last `input_size` rows). A model with future
    /// exogenous inputs needs [`predict_with_future`](Self::predict_with_future).
    pub fn predict_column(
        &self,
        history: &TimeSeries,
        column: &str,
        horizon: Horizon,
    ) -> Result<Forecast> {
        self.predict_with_future(history, column, None, horizon)
    }

    /// Forecasts column `column` of `history` (its last `input_size` rows, with the historic
    /// exogenous columns over the same rows). `future` holds the future exogenous columns over
    /// at least the model's horizon H of rows after `history`'s last timestamp (only its first H
    /// rows are read); it is required exactly when the model has future exogenous inputs.
    pub fn predict_with_future(
        &self,
        history: &TimeSeries,
        column: &str,
        future: Option<&TimeSeries>,
        horizon: Horizon,
    ) -> Result<Forecast> {
        let l = self.input_size();
        let n = history.len();
        if n < l {
            return Err(Error::InsufficientHistory { needed: l, got: n });
        }
        let tail = |name: &str| -> Result<Vec<f64>> {
            let v = history.finite_column(name)?;
            Ok(v[v.len() - l..].to_vec())
        };
        let target = tail(column)?;
        let hist: Vec<Vec<f64>> = self
            .spec
            .hist_exog()
            .iter()
            .map(|c| tail(c))
            .collect::<Result<_>>()?;
        let futr_names = self.spec.futr_exog();
        let futr: Vec<Vec<f64>> = if futr_names.is_empty() {
            Vec::new()
        } else {
            let future = future.ok_or_else(|| {
                Error::invalid(
                    "future",
                    format!(
                        "the model needs the next {} values of its future exogenous columns ({}); give them as a future table (`nt predict --future FILE`)",
                        self.horizon(),
                        futr_names.join(", ")
                    ),
                )
            })?;
            check_future(history, future, self.horizon())?;
            futr_names
                .iter()
                .map(|c| {
                    let mut v = tail(c)?;
                    v.extend_from_slice(&future.finite_column(c)?[..self.horizon()]);
                    Ok(v)
                })
                .collect::<Result<_>>()?
        };
        let input = WindowInputs {
            target: &target,
            hist: hist.iter().map(Vec::as_slice).collect(),
            futr: futr.iter().map(Vec::as_slice).collect(),
        };
        let mut f = self.forecast_inputs(&[input], horizon.get())?;
        f.pop()
            .ok_or_else(|| Error::invalid("history", "no forecast produced"))
    }

    /// The column [`Predict::predict`] forecasts: the first training target `history` has, else
    /// `history`'s only column.
    fn default_column<'h>(&'h self, history: &'h TimeSeries) -> Result<&'h str> {
        if let Some(t) = self.targets.iter().find(|t| history.column(t).is_ok()) {
            return Ok(t);
        }
        match history.column_names().as_slice() {
            [only] => Ok(only),
            names => Err(Error::Core(nt_core::Error::MissingColumn {
                name: self.targets.first().cloned().unwrap_or_default(),
                available: names.join(", "),
            })),
        }
    }

    /// Saves the model as a directory (`model.json` + `weights.safetensors`), atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        checkpoint::save_model(dir, self)
    }
}

impl Predict for NeuralModel {
    fn predict(&self, history: &TimeSeries, horizon: Horizon) -> nt_core::Result<Forecast> {
        let column = self.default_column(history)?;
        Ok(self.predict_column(history, column, horizon)?)
    }
}

/// Checks that `future` starts after `history` ends and has at least `h` rows (what a model
/// with future exogenous columns needs of a future table).
pub fn check_future(history: &TimeSeries, future: &TimeSeries, h: usize) -> Result<()> {
    if future.len() < h {
        return Err(Error::invalid(
            "future",
            format!(
                "needs at least {h} rows (the model's horizon), got {}",
                future.len()
            ),
        ));
    }
    if let (Some(&last), Some(&first)) = (history.timestamps().last(), future.timestamps().first())
    {
        if first <= last {
            return Err(Error::invalid(
                "future",
                "its first timestamp must come after the history's last",
            ));
        }
    }
    Ok(())
}
