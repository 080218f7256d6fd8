//! Trained models and the entry points the CLI, registry and server call: [`NeuralSpec`],
//! [`train`], [`FittedNhits`] / [`NeuralModel`] (both implement `Predict`) and
//! [`import_neuralforecast`].

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use nt_core::{Fit, Forecast, Horizon, Predict, TimeSeries};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{self, TrainingCheckpoint};
use crate::config::{Loss, NhitsConfig, TrainConfig};
use crate::fast::FastNhits;
use crate::nhits::{nhits_weight_shapes, Nhits};
use crate::rng::Rng;
use crate::scalers::{window_scale, WindowScale};
use crate::trainer::{PreparedSeries, TrainProgress, TrainReport, Trainer};
use crate::{Error, Result};

/// Batches up to this size go through the single-threaded plain-Rust path on the CPU; larger
/// ones through candle's batched matmuls.
const FAST_PATH_MAX_BATCH: usize = 4;

/// Which neural model to build, with its hyper-parameters; what the CLI parses and a model
/// directory's `model.json` stores. JSON: `{"model": "nhits", "config": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", content = "config", rename_all = "snake_case")]
#[non_exhaustive]
pub enum NeuralSpec {
    /// NHITS.
    Nhits(NhitsConfig),
}

impl NeuralSpec {
    /// The training settings nested in the model's config.
    pub fn train_config(&self) -> &TrainConfig {
        match self {
            NeuralSpec::Nhits(c) => &c.train,
        }
    }

    /// Validates the model's config.
    pub fn validate(&self) -> Result<()> {
        match self {
            NeuralSpec::Nhits(c) => c.validate(),
        }
    }

    /// The model's name as the CLI spells it (`nhits`).
    pub fn name(&self) -> &'static str {
        match self {
            NeuralSpec::Nhits(_) => "nhits",
        }
    }
}

/// Where and how [`train`] keeps its files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrainOptions {
    /// The model directory: receives `model.json`, `weights.safetensors`, `train_log.jsonl`
    /// and, during training, `checkpoint/`. Nothing is written when `None`.
    pub out_dir: Option<PathBuf>,
    /// Continue from `out_dir/checkpoint/` when one exists (it must come from the same spec and
    /// data); start afresh otherwise.
    pub resume: bool,
    /// Save a resumable checkpoint every this many steps (needs `out_dir`).
    pub checkpoint_every: Option<usize>,
}

/// A trained model and how its training went.
#[derive(Debug)]
pub struct TrainedModel {
    /// The model, ready to predict (with the best weights when early stopping restored them).
    pub model: NeuralModel,
    /// Steps, losses, the log.
    pub report: TrainReport,
}

/// A trained NHITS: the network, its config and the columns it was trained on.
///
/// Prediction takes the last `input_size` values of a column, scales them per window as in
/// training, runs the network and scales back. With the quantile loss, the point forecast is the
/// 0.5 level when trained with it (else the middle level) and every level becomes a band.
#[derive(Debug)]
pub struct FittedNhits {
    config: NhitsConfig,
    net: Nhits,
    weights: Vec<(String, Tensor)>,
    targets: Vec<String>,
    device: Device,
    meta: ModelMeta,
    /// The single-window CPU path (see [`crate::fast`]); `None` off the CPU.
    fast: Option<FastNhits>,
}

/// What a model remembers about its training, stored in `model.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// sha256 of the training data (target columns of the rows it saw), when trained here.
    pub data_fingerprint: Option<String>,
    /// Rows per series it trained on (including the validation tail).
    pub train_rows: Option<usize>,
    /// The training summary, without the log.
    pub metrics: Option<TrainMetrics>,
    /// Where the weights came from: `nt-neural` or `neuralforecast` (import).
    pub origin: String,
}

/// The headline numbers of a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainMetrics {
    /// Steps taken.
    pub steps: usize,
    /// Mean training loss over the last logging period.
    pub final_train_loss: f64,
    /// Best validation loss.
    pub best_val_loss: Option<f64>,
    /// Its step.
    pub best_step: Option<usize>,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
}

impl From<&TrainReport> for TrainMetrics {
    fn from(r: &TrainReport) -> Self {
        Self {
            steps: r.steps,
            final_train_loss: r.final_train_loss,
            best_val_loss: r.best_val_loss,
            best_step: r.best_step,
            stopped_early: r.stopped_early,
        }
    }
}

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

/// Draws every variable like PyTorch's default `nn.Linear` init, `U(-1/sqrt(fan_in),
/// 1/sqrt(fan_in))` for weights `[out, in]` and their biases, from a generator seeded with
/// `seed`, visiting variables in name order so the result depends only on the seed.
fn torch_like_init(vars: &[(String, Var)], seed: u64) -> Result<()> {
    let mut rng = Rng::new(seed);
    for (name, var) in vars {
        let dims = var.as_tensor().dims().to_vec();
        let fan_in = if dims.len() >= 2 {
            dims[1]
        } else {
            let wname = name.strip_suffix(".bias").map(|p| format!("{p}.weight"));
            wname
                .and_then(|w| vars.iter().find(|(n, _)| *n == w))
                .and_then(|(_, v)| v.as_tensor().dims().get(1).copied())
                .unwrap_or(dims.first().copied().unwrap_or(1))
        };
        let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
        let n: usize = dims.iter().product();
        let values: Vec<f32> = (0..n)
            .map(|_| ((rng.next_f64() * 2.0 - 1.0) * bound) as f32)
            .collect();
        var.set(&Tensor::from_vec(values, dims.as_slice(), var.device())?)?;
    }
    Ok(())
}

fn sorted_vars(varmap: &VarMap) -> Result<Vec<(String, Var)>> {
    let data = varmap
        .data()
        .lock()
        .map_err(|_| Error::invalid("weights", "variable map lock poisoned"))?;
    let mut vars: Vec<(String, Var)> = data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(vars)
}

/// Prepares the target columns: finite values as `f32`, the last `val_rows` rows of each kept
/// for validation.
fn prepare(
    series: &TimeSeries,
    targets: &[&str],
    cfg: &TrainConfig,
) -> Result<Vec<PreparedSeries>> {
    if targets.is_empty() {
        return Err(Error::invalid("targets", "needs at least one column"));
    }
    let n = series.len();
    let val = cfg.val_rows(n);
    if val >= n {
        return Err(Error::invalid(
            "train.val_size",
            format!("{val} validation rows leave no training rows out of {n}"),
        ));
    }
    targets
        .iter()
        .map(|t| {
            let values = series.finite_column(t)?.iter().map(|&v| v as f32).collect();
            Ok(PreparedSeries {
                values,
                n_train: n - val,
            })
        })
        .collect()
}

/// Trains the model `spec` describes on the columns `targets` of `series` (one global model
/// over all of them, channel independent), following `opts` for files and checkpoints and
/// calling `progress` after every step.
///
/// Guarantees: the same series, targets, spec and seed give bit-identical weights on the same
/// machine and thread count; a run resumed from a checkpoint ends with the weights the
/// uninterrupted run would have had. With `out_dir`, the finished model is saved there
/// atomically (see [`NeuralModel::save`]) with `train_log.jsonl` beside it.
pub fn train(
    series: &TimeSeries,
    targets: &[&str],
    spec: &NeuralSpec,
    opts: &TrainOptions,
    progress: &mut dyn FnMut(&TrainProgress),
) -> Result<TrainedModel> {
    spec.validate()?;
    let cfg = spec.train_config();
    let data = prepare(series, targets, cfg)?;
    let fingerprint = series.select(targets)?.fingerprint();
    let device = default_device();
    let NeuralSpec::Nhits(nhits_cfg) = spec;
    let n_outputs = cfg.loss.n_outputs();
    let varmap = VarMap::new();
    let net = Nhits::new(
        nhits_cfg,
        n_outputs,
        VarBuilder::from_varmap(&varmap, DType::F32, &device),
    )?;
    let vars = sorted_vars(&varmap)?;
    torch_like_init(&vars, cfg.seed)?;
    let mut trainer = Trainer::new(&net, vars.clone(), cfg, &data, device.clone())?;

    let ckpt_dir = opts.out_dir.as_ref().map(|d| d.join("checkpoint"));
    if opts.resume {
        if let Some(dir) = &ckpt_dir {
            if let Some(ck) = TrainingCheckpoint::load(dir, &device)? {
                ck.check_compatible(spec, &fingerprint)?;
                trainer.restore(ck.state.clone(), &|k| ck.tensors.get(k).cloned())?;
            }
        }
    }
    let every = opts.checkpoint_every.filter(|_| ckpt_dir.is_some());
    let mut save_ckpt = |t: &Trainer<'_, Nhits>| -> Result<()> {
        match &ckpt_dir {
            Some(dir) => {
                TrainingCheckpoint::save(dir, spec, &fingerprint, &t.state, &t.state_tensors())
            }
            None => Ok(()),
        }
    };
    let report = trainer.run(every, &mut save_ckpt, progress)?;
    drop(trainer);

    drop(net);
    let weights = vars
        .iter()
        .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
        .collect();
    let meta = ModelMeta {
        data_fingerprint: Some(fingerprint),
        train_rows: Some(series.len()),
        metrics: Some(TrainMetrics::from(&report)),
        origin: "nt-neural".into(),
    };
    let targets = targets.iter().map(|t| t.to_string()).collect();
    let model = NeuralModel::Nhits(FittedNhits::from_weights(
        nhits_cfg.clone(),
        weights,
        targets,
        meta,
        &device,
    )?);
    if let Some(dir) = &opts.out_dir {
        model.save(dir)?;
        checkpoint::write_log(&dir.join("train_log.jsonl"), &report.log)?;
        if let Some(ck) = &ckpt_dir {
            checkpoint::remove_dir_if_exists(ck)?;
        }
    }
    Ok(TrainedModel { model, report })
}

impl FittedNhits {
    /// Builds a model from named weights, checking that every weight the config needs is present
    /// with its shape and that no other `blocks.*` weight is (other names are ignored).
    pub fn from_weights(
        config: NhitsConfig,
        weights: std::collections::HashMap<String, Tensor>,
        targets: Vec<String>,
        meta: ModelMeta,
        device: &Device,
    ) -> Result<Self> {
        config.validate_architecture()?;
        config.train.loss.validate()?;
        let n_outputs = config.train.loss.n_outputs();
        let expected = nhits_weight_shapes(&config, n_outputs);
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
            .filter(|k| k.starts_with("blocks.") && !expected.iter().any(|(n, _)| n == *k))
            .min()
        {
            return Err(Error::Checkpoint {
                path: "weights".into(),
                reason: format!("tensor `{extra}` does not belong to this architecture"),
            });
        }
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let map = named.iter().cloned().collect();
        let net = Nhits::new(
            &config,
            n_outputs,
            VarBuilder::from_tensors(map, DType::F32, device),
        )?;
        let fast = if device.is_cpu() {
            Some(FastNhits::new(&config, n_outputs, &named)?)
        } else {
            None
        };
        Ok(Self {
            fast,
            config,
            net,
            weights: named,
            targets,
            device: device.clone(),
            meta,
        })
    }

    /// The config (architecture and training settings).
    pub fn config(&self) -> &NhitsConfig {
        &self.config
    }

    /// The columns it was trained on; the first is what [`Predict::predict`] forecasts.
    pub fn targets(&self) -> &[String] {
        &self.targets
    }

    /// The network.
    pub fn network(&self) -> &Nhits {
        &self.net
    }

    /// The weights by name, in name order.
    pub fn weights(&self) -> &[(String, Tensor)] {
        &self.weights
    }

    /// Training metadata.
    pub fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    /// The quantile levels of the outputs, when trained with the quantile loss.
    pub fn quantiles(&self) -> Option<&[f64]> {
        match &self.config.train.loss {
            Loss::Quantile(q) => Some(q),
            _ => None,
        }
    }

    /// Forecasts the `horizon` steps after each window; every window holds exactly
    /// `input_size` finite values, oldest first. Windows are scaled, batched through the network
    /// 1024 at a time and scaled back.
    pub fn forecast_windows(&self, windows: &[&[f64]], horizon: usize) -> Result<Vec<Forecast>> {
        let (l, h) = (self.config.input_size, self.config.horizon);
        if horizon == 0 || horizon > h {
            return Err(Error::invalid(
                "horizon",
                format!("the model forecasts 1 to {h} steps, {horizon} asked"),
            ));
        }
        let q = self.net.n_outputs();
        let mut out = Vec::with_capacity(windows.len());
        for chunk in windows.chunks(1024) {
            let b = chunk.len();
            let mut x = Vec::with_capacity(b * l);
            let mut scales = Vec::with_capacity(b);
            for w in chunk {
                if w.len() != l {
                    return Err(Error::InsufficientHistory {
                        needed: l,
                        got: w.len(),
                    });
                }
                if let Some(v) = w.iter().find(|v| !v.is_finite()) {
                    return Err(Error::invalid(
                        "history",
                        format!("non-finite value {v} in the input window"),
                    ));
                }
                let w32: Vec<f32> = w.iter().map(|&v| v as f32).collect();
                let ws = window_scale(self.config.train.scaler, &w32);
                x.extend(w32.iter().map(|&v| ws.apply(v)));
                scales.push(ws);
            }
            let y: Vec<f32> = match &self.fast {
                Some(fast) if b <= FAST_PATH_MAX_BATCH => {
                    x.chunks_exact(l).flat_map(|w| fast.forward(w)).collect()
                }
                _ => {
                    let y = self
                        .net
                        .forward(&Tensor::from_vec(x, (b, l), &self.device)?)?;
                    y.flatten_all()?.to_device(&Device::Cpu)?.to_vec1()?
                }
            };
            for (i, ws) in scales.iter().enumerate() {
                out.push(self.to_forecast(&y[i * h * q..(i + 1) * h * q], *ws, horizon, q)?);
            }
        }
        Ok(out)
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

    /// Forecasts column `column` of `history` (its last `input_size` rows).
    pub fn predict_column(
        &self,
        history: &TimeSeries,
        column: &str,
        horizon: Horizon,
    ) -> Result<Forecast> {
        let values = history.finite_column(column)?;
        let l = self.config.input_size;
        if values.len() < l {
            return Err(Error::InsufficientHistory {
                needed: l,
                got: values.len(),
            });
        }
        let mut f = self.forecast_windows(&[&values[values.len() - l..]], horizon.get())?;
        f.pop()
            .ok_or_else(|| Error::invalid("history", "no forecast produced"))
    }

    /// The column [`Predict::predict`] forecasts: the first training target when `history` has
    /// it, else `history`'s only column.
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
}

impl Predict for FittedNhits {
    fn predict(&self, history: &TimeSeries, horizon: Horizon) -> nt_core::Result<Forecast> {
        let column = self.default_column(history)?;
        Ok(self.predict_column(history, column, horizon)?)
    }
}

/// Any trained neural model: what [`train`] returns and [`load`](crate::load) reads back.
#[derive(Debug)]
#[non_exhaustive]
pub enum NeuralModel {
    /// A trained NHITS.
    Nhits(FittedNhits),
}

impl NeuralModel {
    /// The spec it was built from.
    pub fn spec(&self) -> NeuralSpec {
        match self {
            NeuralModel::Nhits(m) => NeuralSpec::Nhits(m.config.clone()),
        }
    }

    /// The columns it was trained on.
    pub fn targets(&self) -> &[String] {
        match self {
            NeuralModel::Nhits(m) => &m.targets,
        }
    }

    /// Training metadata.
    pub fn meta(&self) -> &ModelMeta {
        match self {
            NeuralModel::Nhits(m) => &m.meta,
        }
    }

    /// Named weights, in name order.
    pub fn weights(&self) -> &[(String, Tensor)] {
        match self {
            NeuralModel::Nhits(m) => &m.weights,
        }
    }

    /// The horizon the network was built for.
    pub fn horizon(&self) -> usize {
        match self {
            NeuralModel::Nhits(m) => m.config.horizon,
        }
    }

    /// The input window length.
    pub fn input_size(&self) -> usize {
        match self {
            NeuralModel::Nhits(m) => m.config.input_size,
        }
    }

    /// Forecasts column `column` of `history`.
    pub fn predict_column(
        &self,
        history: &TimeSeries,
        column: &str,
        horizon: Horizon,
    ) -> Result<Forecast> {
        match self {
            NeuralModel::Nhits(m) => m.predict_column(history, column, horizon),
        }
    }

    /// Forecasts after each window (see [`FittedNhits::forecast_windows`]).
    pub fn forecast_windows(&self, windows: &[&[f64]], horizon: usize) -> Result<Vec<Forecast>> {
        match self {
            NeuralModel::Nhits(m) => m.forecast_windows(windows, horizon),
        }
    }

    /// Saves the model as a directory (`model.json` + `weights.safetensors`), atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        checkpoint::save_model(dir, self)
    }
}

impl Predict for NeuralModel {
    fn predict(&self, history: &TimeSeries, horizon: Horizon) -> nt_core::Result<Forecast> {
        match self {
            NeuralModel::Nhits(m) => m.predict(history, horizon),
        }
    }
}

impl Fit for NhitsConfig {
    type Fitted = FittedNhits;

    /// Trains on `train`'s column `target` (the last `train.val_fraction` / `train.val_size`
    /// rows validate), writing nothing to disk.
    fn fit(&self, train: &TimeSeries, target: &str) -> nt_core::Result<FittedNhits> {
        let spec = NeuralSpec::Nhits(self.clone());
        let trained = crate::model::train(
            train,
            &[target],
            &spec,
            &TrainOptions::default(),
            &mut |_| {},
        )?;
        match trained.model {
            NeuralModel::Nhits(m) => Ok(m),
        }
    }
}

/// Loads a neuralforecast NHITS `state_dict` saved as safetensors (`weights`) into our NHITS
/// built from `config` (which must describe the same architecture: sizes, stacks, dropout, the
/// loss's number of outputs). Tensors outside `blocks.*` are ignored; a missing, misshapen or
/// unexpected block tensor is an error. The model forecasts column `y` or a history's only column.
pub fn import_neuralforecast(weights: &Path, config: &NhitsConfig) -> Result<NeuralModel> {
    let bytes = std::fs::read(weights).map_err(|e| Error::io(weights, e))?;
    let device = default_device();
    let tensors = candle_core::safetensors::load_buffer(&bytes, &device)?;
    let meta = ModelMeta {
        origin: "neuralforecast".into(),
        ..ModelMeta::default()
    };
    let m = FittedNhits::from_weights(config.clone(), tensors, vec!["y".into()], meta, &device)
        .map_err(|e| match e {
            Error::Checkpoint { reason, .. } => Error::Checkpoint {
                path: weights.display().to_string(),
                reason,
            },
            other => other,
        })?;
    Ok(NeuralModel::Nhits(m))
}
