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
    /// The single-window path with bfloat16 weights, when [`Precision::Bf16`] runs.
    fast_bf16: Option<Box<dyn FastForward>>,
    /// Why the precision that runs is what it is, after a request for bf16.
    precision_note: Option<String>,
    /// The quantile levels of a distribution loss's bands (ascending, median included).
    dist_quantiles: Vec<f64>,
}

/// Below this many bytes of f32 weights [`NeuralModel::set_precision`] keeps f32 when bf16 is
/// asked for: such weights sit in a core's L1 data cache (32 KiB on the x86 cores we run on,
/// 48 KiB on newer Intel ones), so the forward is bound by arithmetic, not by the bytes it
/// streams, and bf16's unpacking is not repaid; a forward then takes a few microseconds either
/// way (measured in `tests/precision_timing.rs`).
pub(crate) const BF16_MIN_WEIGHT_BYTES: usize = 32 * 1024;

/// The run-time rule behind [`NeuralModel::set_precision`]: whether bf16 weights make the
/// plain-Rust CPU forward faster than f32 on a CPU with `cpu`'s features, for a model whose
/// f32 weights take `f32_weight_bytes`. `Ok(note)` when bf16 runs, `Err(reason)` when f32
/// does. The rule: bf16 runs when the CPU has a SIMD path for the kernel (AVX2 + FMA, or
/// AVX-512) and the weights reach [`BF16_MIN_WEIGHT_BYTES`]. In scalar code unpacking a bf16
/// weight costs about what the halved memory traffic saves (measured: 0.8-1.0x of f32's time,
/// too close to promise a win), so f32 runs. The kernel does not use AVX512-BF16's dot-product
/// instructions (pulp's safe API has none), so their presence does not change the rule.
pub(crate) fn bf16_rule(
    cpu: &crate::cpu::CpuFeatures,
    f32_weight_bytes: usize,
) -> std::result::Result<String, String> {
    let path = cpu.f32_path();
    if path == "scalar" {
        return Err(format!(
            "bf16 asked, f32 runs: this CPU has neither AVX2+FMA nor AVX-512 ({}), and the \
             scalar bf16 kernel is no faster than f32's",
            cpu.summary()
        ));
    }
    if f32_weight_bytes < BF16_MIN_WEIGHT_BYTES {
        return Err(format!(
            "bf16 asked, f32 runs: the model's {} of f32 weights fit in a core's L1 cache \
             (under {} KiB), where the forward is bound by arithmetic and bf16 is not faster",
            fmt_bytes(f32_weight_bytes),
            BF16_MIN_WEIGHT_BYTES / 1024
        ));
    }
    Ok(format!(
        "bf16 runs: {} of f32 weights stream as {} ({path} kernel, f32 accumulation)",
        fmt_bytes(f32_weight_bytes),
        fmt_bytes(f32_weight_bytes / 2)
    ))
}

/// `1.2 MB`, `9.3 KB`, `600 B` (decimal units).
fn fmt_bytes(n: usize) -> String {
    let x = n as f64;
    if x >= 1e6 {
        format!("{:.1} MB", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} KB", x / 1e3)
    } else {
        format!("{n} B")
    }
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
        let loss = &spec.train_config().loss;
        if loss.distribution().is_some() != net.probabilistic().is_some() {
            return Err(Error::invalid(
                "train.loss",
                format!(
                    "{} {} a distribution head, but the loss is {loss:?}",
                    spec.name(),
                    if net.probabilistic().is_some() {
                        "has"
                    } else {
                        "has no"
                    }
                ),
            ));
        }
        let dist_quantiles = match loss {
            Loss::Distribution { levels, .. } => crate::distribution::level_quantiles(levels),
            _ => Vec::new(),
        };
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
            precision_note: None,
            dist_quantiles,
        })
    }

    /// Asks for a precision of the plain-Rust CPU path: [`Precision::F32`] (default, the exact
    /// network) or [`Precision::Bf16`] (bfloat16 weights, f32 activations and accumulation:
    /// forecasts within about 1% of the f32 ones, relative). bf16 runs only where it is faster
    /// than f32, by a fixed rule on this CPU's features ([`crate::cpu::features`]) and the
    /// model's [`f32_weight_bytes`](Self::f32_weight_bytes): bf16 needs a CPU with AVX2 + FMA or
    /// AVX-512 (in scalar code bf16 is no faster) and more than 32 KiB of f32 weights (below
    /// that they sit in a core's L1 cache, the forward is bound by arithmetic and takes a few
    /// microseconds either way). Otherwise f32 runs. [`precision`](Self::precision) says what
    /// runs and [`precision_note`](Self::precision_note) why. Models without that path
    /// (N-BEATS, exogenous inputs, a GPU device) run f32 through candle whatever is asked.
    /// Given the precision that runs, forecasts are deterministic and batch-invariant.
    pub fn set_precision(&mut self, precision: Precision) {
        self.fast_bf16 = None;
        self.precision_note = None;
        if precision.is_f32() {
            return;
        }
        let Some(fast) = self.fast.as_ref() else {
            self.precision_note = Some(
                "bf16 asked, f32 runs: this model has no plain-Rust CPU path (N-BEATS, \
                 exogenous inputs or a GPU device run candle in f32)"
                    .into(),
            );
            return;
        };
        match bf16_rule(&crate::cpu::features(), self.f32_weight_bytes()) {
            Ok(note) => {
                self.fast_bf16 = fast.to_bf16();
                self.precision_note = Some(if self.fast_bf16.is_some() {
                    note
                } else {
                    "bf16 asked, f32 runs: this architecture's CPU path has no bf16 weights".into()
                });
            }
            Err(reason) => self.precision_note = Some(reason),
        }
    }

    /// Runs the plain-Rust CPU path in `precision` whatever the run-time rule of
    /// [`set_precision`](Self::set_precision) would choose (for benchmarks and tests that
    /// compare the kernels); the note says so. Models without that path run f32.
    pub fn force_precision(&mut self, precision: Precision) {
        self.fast_bf16 = match precision {
            Precision::F32 => None,
            Precision::Bf16 => self.fast.as_ref().and_then(|f| f.to_bf16()),
        };
        self.precision_note = (!precision.is_f32()).then(|| {
            if self.fast_bf16.is_some() {
                "bf16 forced (the run-time rule was bypassed)".to_string()
            } else {
                "bf16 forced, f32 runs: this model has no bf16 CPU path".to_string()
            }
        });
    }

    /// The precision forecasts run in now (after any fallback of
    /// [`set_precision`](Self::set_precision)).
    pub fn precision(&self) -> Precision {
        if self.fast_bf16.is_some() {
            Precision::Bf16
        } else {
            Precision::F32
        }
    }

    /// Why [`precision`](Self::precision) is what it is, once bf16 was asked for: what bf16
    /// saves when it runs, or why f32 runs instead. `None` when f32 was asked for (or nothing).
    pub fn precision_note(&self) -> Option<&str> {
        self.precision_note.as_deref()
    }

    /// Bytes of the network's weights in f32 (4 per parameter): what the rule of
    /// [`set_precision`](Self::set_precision) weighs.
    pub fn f32_weight_bytes(&self) -> usize {
        self.weights.iter().map(|(_, t)| t.elem_count() * 4).sum()
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

    /// The input window length: the rows of history a forecast reads, the network's (L + 1
    /// for recurrent models such as DeepAR, which read one row more than their `input_size`).
    pub fn input_size(&self) -> usize {
        self.net.input_size()
    }

    /// The quantile levels of the bands, ascending: the quantile loss's levels, or a
    /// distribution loss's (its interval levels' bounds and the median, as neuralforecast
    /// reports them: `[80, 90]` gives 0.05, 0.1, 0.5, 0.9, 0.95).
    pub fn quantiles(&self) -> Option<&[f64]> {
        match &self.spec.train_config().loss {
            Loss::Quantile(q) => Some(q),
            Loss::Distribution { .. } => Some(&self.dist_quantiles),
            Loss::Mae | Loss::Mse | Loss::Huber { .. } => None,
        }
    }

    /// Whether the model draws sample paths ([`forecast_paths`](Self::forecast_paths)): true
    /// for networks with a distribution head (DeepAR).
    pub fn has_paths(&self) -> bool {
        self.net.probabilistic().is_some()
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
        if let Some((samples, seed)) = self.net.probabilistic().and_then(|p| p.default_paths()) {
            // Sample-path models forecast the paths' mean and quantiles (paths not attached).
            return Ok(self
                .forecast_paths(inputs, horizon, samples, seed)?
                .into_iter()
                .map(|f| {
                    let mut plain = Forecast::point(f.point_values().to_vec());
                    for band in f.quantiles() {
                        plain = plain.with_quantile(band.q, band.values.clone())?;
                    }
                    Ok(plain)
                })
                .collect::<nt_core::Result<_>>()?);
        }
        let q = self.spec.train_config().loss.n_outputs();
        let width = self.net.packed_input_size();
        let mut out = Vec::with_capacity(inputs.len());
        for chunk in inputs.chunks(1024) {
            let b = chunk.len();
            let (x, scales) = self.pack_inputs(chunk)?;
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

    /// The packed, scaled network rows of `chunk` and each window's target scale.
    fn pack_inputs(&self, chunk: &[WindowInputs<'_>]) -> Result<(Vec<f32>, Vec<WindowScale>)> {
        let (l, h) = (self.input_size(), self.horizon());
        let scaler = self.spec.train_config().scaler;
        let (n_hist, n_futr) = (self.spec.hist_exog().len(), self.spec.futr_exog().len());
        let mut x = Vec::with_capacity(chunk.len() * self.net.packed_input_size());
        let mut scales = Vec::with_capacity(chunk.len());
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
        Ok((x, scales))
    }

    /// Forecasts the `horizon` steps after each window by `samples` sample paths
    /// (`1..=`[`crate::deepar::MAX_SAMPLES`]), each a joint draw of the whole horizon that feeds
    /// its own draws back (see `crate::deepar`). The forecast carries the paths (original
    /// scale, `horizon` values each); its point is their mean and its bands their empirical
    /// quantiles (linear interpolation, `torch.quantile`'s default) at
    /// [`quantiles`](Self::quantiles). A window's paths depend only on `seed` and the window's
    /// own values: the same on every run, whatever other windows share the call. Models
    /// without a distribution head refuse ([`has_paths`](Self::has_paths)).
    pub fn forecast_paths(
        &self,
        inputs: &[WindowInputs<'_>],
        horizon: usize,
        samples: usize,
        seed: u64,
    ) -> Result<Vec<Forecast>> {
        let h = self.horizon();
        if horizon == 0 || horizon > h {
            return Err(Error::invalid(
                "horizon",
                format!("the model forecasts 1 to {h} steps, {horizon} asked"),
            ));
        }
        let prob = self.net.probabilistic().ok_or_else(|| {
            Error::invalid(
                "paths",
                format!(
                    "{} has no distribution head to draw sample paths from",
                    self.spec.name()
                ),
            )
        })?;
        if samples == 0 || samples > crate::deepar::MAX_SAMPLES {
            return Err(Error::invalid(
                "samples",
                format!("must be 1 to {}, got {samples}", crate::deepar::MAX_SAMPLES),
            ));
        }
        let width = self.net.packed_input_size();
        let mut out = Vec::with_capacity(inputs.len());
        for chunk in inputs.chunks(256) {
            let (x, scales) = self.pack_inputs(chunk)?;
            let seeds: Vec<u64> = x
                .chunks_exact(width)
                .map(|row| window_seed(seed, row))
                .collect();
            let draws = prob.sample_paths(&x, chunk.len(), samples, &seeds)?;
            for (i, ws) in scales.iter().enumerate() {
                let paths: Vec<Vec<f64>> = (0..samples)
                    .map(|s| {
                        let at = (i * samples + s) * h;
                        draws[at..at + horizon]
                            .iter()
                            .map(|&z| f64::from(ws.invert(z)))
                            .collect()
                    })
                    .collect();
                out.push(paths_forecast(paths, &self.dist_quantiles)?);
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
        if let Some(dist) = self.net.probabilistic().map(|p| p.distribution()) {
            // Each step's distribution (mean feedback): its mean and exact quantiles.
            let params: Vec<_> = (0..horizon)
                .map(|t| dist.params(&y[t * q..(t + 1) * q]))
                .collect();
            let back = |v: f64| v * f64::from(ws.scale) + f64::from(ws.shift);
            let mut f = Forecast::point(params.iter().map(|p| back(p.mean())).collect());
            for &level in &self.dist_quantiles {
                f = f.with_quantile(
                    level,
                    params.iter().map(|p| back(p.quantile(level))).collect(),
                )?;
            }
            return Ok(f);
        }
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

/// The seed of one window's sample paths: `seed` mixed (SplitMix64 steps) with the bits of the
/// window's packed row, so it depends on nothing but the two.
fn window_seed(seed: u64, row: &[f32]) -> u64 {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    row.iter()
        .fold(mix(seed), |acc, v| mix(acc ^ u64::from(v.to_bits())))
}

/// A forecast from sample paths: their mean per step, their empirical quantiles at `levels`
/// (linear interpolation between order statistics), the paths attached.
fn paths_forecast(paths: Vec<Vec<f64>>, levels: &[f64]) -> Result<Forecast> {
    let horizon = paths.first().map_or(0, Vec::len);
    let n = paths.len().max(1) as f64;
    let mean: Vec<f64> = (0..horizon)
        .map(|t| paths.iter().map(|p| p[t]).sum::<f64>() / n)
        .collect();
    let mut sorted: Vec<Vec<f64>> = (0..horizon)
        .map(|t| paths.iter().map(|p| p[t]).collect())
        .collect();
    for col in &mut sorted {
        col.sort_by(f64::total_cmp);
    }
    let mut f = Forecast::point(mean);
    for &level in levels {
        let band = sorted
            .iter()
            .map(|col| empirical_quantile(col, level))
            .collect();
        f = f.with_quantile(level, band)?;
    }
    Ok(f.with_paths(paths)?)
}

/// The `q`-quantile of ascending `sorted` values, interpolating linearly between order
/// statistics at position `q·(n − 1)` (`torch.quantile`'s and numpy's default).
pub(crate) fn empirical_quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (pos - lo as f64) * (sorted[hi] - sorted[lo])
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::CpuFeatures;

    const AVX2: CpuFeatures = CpuFeatures {
        avx2: true,
        fma: true,
        avx512f: false,
        avx512_bf16: false,
        avx512_vnni: false,
    };

    #[test]
    fn bf16_rule_keeps_f32_for_tiny_models_and_scalar_cpus() {
        // A tiny model (NHITS with 16 hidden units at L 24: 4.7k weights) on an AVX2 CPU
        // without BF16: f32, and the note says why.
        let reason = bf16_rule(&AVX2, 4_658 * 4).unwrap_err();
        assert!(
            reason.contains("f32 runs") && reason.contains("L1"),
            "{reason}"
        );
        // Just under and at the threshold.
        assert!(bf16_rule(&AVX2, BF16_MIN_WEIGHT_BYTES - 4).is_err());
        assert!(bf16_rule(&AVX2, BF16_MIN_WEIGHT_BYTES).is_ok());
        // The default NHITS (3.68M weights) runs bf16 on AVX2 and on AVX-512 (with or without
        // its BF16 extension: the kernel does not use it).
        let big = 3_681_864 * 4;
        let note = bf16_rule(&AVX2, big).unwrap();
        assert!(
            note.starts_with("bf16 runs") && note.contains("avx2+fma"),
            "{note}"
        );
        for bf16 in [false, true] {
            let avx512 = CpuFeatures {
                avx512f: true,
                avx512_bf16: bf16,
                ..AVX2
            };
            assert!(bf16_rule(&avx512, big).unwrap().contains("avx512"));
            assert!(bf16_rule(&avx512, 1000).is_err());
        }
        // Without a SIMD path bf16 never runs, whatever the size.
        let scalar = CpuFeatures {
            avx2: false,
            fma: false,
            ..AVX2
        };
        let reason = bf16_rule(&scalar, big).unwrap_err();
        assert!(reason.contains("scalar"), "{reason}");
        let only_avx2 = CpuFeatures { fma: false, ..AVX2 };
        assert!(bf16_rule(&only_avx2, big).is_err());
        // The notes read as one line each.
        for note in [
            bf16_rule(&AVX2, 100).unwrap_err(),
            bf16_rule(&AVX2, big).unwrap(),
            bf16_rule(&scalar, big).unwrap_err(),
        ] {
            assert!(!note.contains("  ") && !note.contains('\n'), "{note}");
        }
    }

    #[test]
    fn bytes_print_in_decimal_units() {
        assert_eq!(fmt_bytes(600), "600 B");
        assert_eq!(fmt_bytes(9_312), "9.3 KB");
        assert_eq!(fmt_bytes(14_727_456), "14.7 MB");
    }
}
