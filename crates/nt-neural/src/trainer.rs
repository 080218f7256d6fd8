//! The training loop shared by every neural model: seeded window sampling (neuralforecast's
//! scheme), per-window scaling, the loss, gradient clipping, Adam/AdamW with StepLR, periodic
//! validation with early stopping, a JSON-lines log and resumable state.

use std::time::{Duration, Instant};

use candle_core::{Device, Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::arch::Network;
use crate::config::TrainConfig;
use crate::engine::adam::{clip_grad_norm, FlatAdam};
use crate::engine::{ParamLayout, TrainGraph};
use crate::losses::loss;
use crate::optim::Adam;
use crate::rng::Rng;
use crate::scalers::{window_scale, WindowScale};
use crate::{Error, Result};

/// One series as the trainer sees it: its values, the first `n_train` of which are training
/// targets; the rest (if any) is the validation segment. `hist` and `futr` hold the model's
/// exogenous channels over the same rows.
#[derive(Debug, Clone)]
pub(crate) struct PreparedSeries {
    pub(crate) values: Vec<f32>,
    pub(crate) n_train: usize,
    pub(crate) hist: Vec<Vec<f32>>,
    pub(crate) futr: Vec<Vec<f32>>,
}

/// Appends to `out` the packed network input of the window of `s` whose last input row is
/// `origin`, scaled per channel with the statistics of that channel's `l` input values, and
/// returns the target's scale. Layout: the target's `l` values, then each historic channel's
/// values over the same rows (time-major: row by row, channel by channel), then each future
/// channel over rows `origin+1-l ..= origin+h`, time-major. Future rows at or after `visible`
/// read 0 (neuralforecast pads the end of a training series with zeros), so a training window
/// never sees a value from the validation segment.
pub(crate) fn pack_window(
    out: &mut Vec<f32>,
    s: &PreparedSeries,
    origin: usize,
    (l, h): (usize, usize),
    visible: usize,
    scaler: crate::config::ScalerType,
) -> WindowScale {
    let start = origin + 1 - l;
    let input = &s.values[start..=origin];
    let ws = window_scale(scaler, input);
    out.extend(input.iter().map(|&v| ws.apply(v)));
    if !s.hist.is_empty() {
        let scales: Vec<WindowScale> = s
            .hist
            .iter()
            .map(|c| window_scale(scaler, &c[start..=origin]))
            .collect();
        for row in start..=origin {
            for (c, cs) in s.hist.iter().zip(&scales) {
                out.push(cs.apply(c[row]));
            }
        }
    }
    if !s.futr.is_empty() {
        let scales: Vec<WindowScale> = s
            .futr
            .iter()
            .map(|c| window_scale(scaler, &c[start..=origin]))
            .collect();
        for row in start..=origin + h {
            for (c, cs) in s.futr.iter().zip(&scales) {
                let raw = if row < visible.min(c.len()) {
                    c[row]
                } else {
                    0.0
                };
                out.push(cs.apply(raw));
            }
        }
    }
    ws
}

/// One line of the training log (`train_log.jsonl`), written every `val_check_steps` steps and at
/// the last step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRecord {
    /// Optimizer steps completed.
    pub step: usize,
    /// Learning rate of the last step.
    pub lr: f64,
    /// Mean training loss over the steps since the previous record (scaled targets).
    pub train_loss: f64,
    /// Validation loss (original scale), when there is a validation segment.
    pub val_loss: Option<f64>,
    /// Seconds since training (or this resumed run) started.
    pub elapsed_s: f64,
}

/// Progress reported after every step, for a progress bar.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainProgress {
    /// Steps completed.
    pub step: usize,
    /// Steps planned.
    pub max_steps: usize,
    /// Loss of the last step.
    pub train_loss: f64,
    /// The latest validation loss, if any check has run.
    pub val_loss: Option<f64>,
    /// The best validation loss so far.
    pub best_val_loss: Option<f64>,
    /// Learning rate of the last step.
    pub lr: f64,
    /// Time since this run started.
    pub elapsed: Duration,
}

/// How a training run went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// Steps taken (fewer than `max_steps` after an early stop).
    pub steps: usize,
    /// Mean training loss over the last logging period.
    pub final_train_loss: f64,
    /// Best validation loss, when validating.
    pub best_val_loss: Option<f64>,
    /// Step of the best validation loss.
    pub best_step: Option<usize>,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// Whether `TrainOptions::cancel` ended the run (counted as an early stop too).
    #[serde(default)]
    pub cancelled: bool,
    /// Whether the weights were restored to the best validation check.
    pub restored_best: bool,
    /// Training windows available (over all series).
    pub train_windows: usize,
    /// Validation windows (over all series).
    pub val_windows: usize,
    /// The log records.
    pub log: Vec<LogRecord>,
    /// Which engine and arithmetic ran the steps.
    pub engine: EngineInfo,
    /// How a warm-started run began (`None` for a run from a random initialization).
    #[serde(default)]
    pub warm_start: Option<crate::warm_start::WarmStartInfo>,
}

/// Which training engine ran a run, in which arithmetic, on which instruction set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineInfo {
    /// `native` (the fused CPU layers with hand-written backward, `crate::engine`) or `candle`
    /// (candle's autograd: GPU runs and architectures the native engine does not cover).
    pub backend: String,
    /// The precision the matmuls ran in (may be f32 when bf16 was asked; see `note`).
    pub precision: crate::fast::Precision,
    /// The CPU's widest f32 vector path (`avx512`, `avx2+fma`, `scalar`; `cuda` on a GPU).
    pub simd: String,
    /// Why the run used another engine or precision than asked, when it did.
    pub note: Option<String>,
}

/// The loop state that is not a tensor, saved in checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LoopState {
    pub(crate) step: usize,
    pub(crate) rng: Rng,
    pub(crate) best_val: Option<f64>,
    pub(crate) best_step: Option<usize>,
    pub(crate) bad_checks: usize,
    pub(crate) stopped_early: bool,
    pub(crate) loss_sum: f64,
    pub(crate) loss_count: usize,
    pub(crate) last_val: Option<f64>,
    pub(crate) log: Vec<LogRecord>,
}

/// The native engine's state: the graph, the flat weights, their gradients and Adam's moments
/// (see `crate::engine`).
#[derive(Debug)]
pub(crate) struct NativeState {
    graph: Box<dyn TrainGraph>,
    layout: ParamLayout,
    weights: Vec<f32>,
    grads: Vec<f32>,
    adam: FlatAdam,
    /// The loss gradient of the last forward (scratch).
    dout: Vec<f32>,
    /// The validation forecasts on the original scale (scratch).
    rescaled: Vec<f32>,
    /// The graph's buffer ranges (`TrainGraph::buffer_ranges`: BatchNorm's running
    /// statistics), which the optimizer must not touch, and their values around its step.
    buffers: Vec<std::ops::Range<usize>>,
    saved_buffers: Vec<f32>,
}

/// Who computes the gradients and applies the updates.
enum Backend<'a, N: Network + ?Sized> {
    /// candle's autograd over the network's variables.
    Candle { net: &'a N, opt: Adam },
    /// The native CPU engine over flat buffers (the variables are written back at the end).
    Native(Box<NativeState>),
}

/// A copy of the weights (the best ones so far, under early stopping).
enum Snapshot {
    Tensors(Vec<Tensor>),
    Flat(Vec<f32>),
}

/// A training batch as plain buffers, reused from step to step.
#[derive(Debug, Default)]
struct Batch {
    x: Vec<f32>,
    y: Vec<f32>,
    mask: Vec<f32>,
    rows: usize,
}

/// The trainer: a network, its variables (sorted by name), the backend and the loop state.
pub(crate) struct Trainer<'a, N: Network + ?Sized> {
    net: &'a N,
    cfg: &'a TrainConfig,
    data: &'a [PreparedSeries],
    vars: Vec<(String, Var)>,
    backend: Backend<'a, N>,
    pub(crate) state: LoopState,
    best_weights: Option<Snapshot>,
    device: Device,
    batch: Batch,
    /// Prefix sums of training windows per series (origins `L-1 ..= n_train-2`).
    train_counts: Vec<usize>,
    /// Series with at least one training window (never empty).
    eligible: Vec<usize>,
    val_windows: usize,
    /// Whether the native graph runs bf16 numerics on f32 kernels (`TrainOptions::emulate_bf16`).
    pub(crate) bf16_emulated: bool,
    /// `TrainOptions::cancel`: checked before every step; when set the run ends as an early stop.
    pub(crate) cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

/// Training windows of a series: origins `L-1 ..= n_train-2` (each has ≥ 1 observed target).
fn n_train_windows(s: &PreparedSeries, l: usize) -> usize {
    s.n_train.saturating_sub(l)
}

/// Validation windows of a series: origins `n_train-1 ..= len-H-1` (targets all in validation).
fn n_val_windows(s: &PreparedSeries, h: usize) -> usize {
    (s.values.len() + 1).saturating_sub(s.n_train + h)
}

impl<'a, N: Network + ?Sized> Trainer<'a, N> {
    /// A fresh trainer; `vars` are the network's variables (any order; they are sorted by name),
    /// already initialized. With `native` (the architecture's engine graph and the layout of
    /// its weights, on the CPU) the native engine trains; candle's autograd otherwise.
    pub(crate) fn new(
        net: &'a N,
        mut vars: Vec<(String, Var)>,
        cfg: &'a TrainConfig,
        data: &'a [PreparedSeries],
        device: Device,
        native: Option<(Box<dyn TrainGraph>, ParamLayout)>,
    ) -> Result<Self> {
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let l = net.input_size();
        let train_counts: Vec<usize> = data.iter().map(|s| n_train_windows(s, l)).collect();
        if train_counts.iter().all(|&c| c == 0) {
            let longest = data.iter().map(|s| s.n_train).max().unwrap_or(0);
            return Err(Error::InsufficientHistory {
                needed: l + 1,
                got: longest,
            });
        }
        if cfg.loss.distribution().is_some() && net.probabilistic().is_none() {
            return Err(Error::invalid(
                "train.loss",
                "a distribution loss needs a model with a distribution head (deepar); use mae, mse, huber or quantile",
            ));
        }
        let eligible = (0..data.len()).filter(|&i| train_counts[i] > 0).collect();
        let val_windows = data.iter().map(|s| n_val_windows(s, net.horizon())).sum();
        if cfg.early_stop_patience.is_some() && val_windows == 0 {
            return Err(Error::invalid(
                "train.early_stop_patience",
                format!(
                    "early stopping needs a validation segment of at least the horizon ({}) rows per series; set train.val_size or train.val_fraction",
                    net.horizon()
                ),
            ));
        }
        let backend = match native {
            Some((graph, layout)) => {
                Backend::Native(Box::new(native_state(graph, layout, &vars, cfg)?))
            }
            None => Backend::Candle {
                net,
                opt: Adam::new(cfg.optimizer, cfg.weight_decay, vars.clone())?,
            },
        };
        Ok(Self {
            net,
            cfg,
            data,
            vars,
            backend,
            state: LoopState {
                step: 0,
                rng: Rng::new(cfg.seed ^ 0x5EED_0F5A_3B1E),
                best_val: None,
                best_step: None,
                bad_checks: 0,
                stopped_early: false,
                loss_sum: 0.0,
                loss_count: 0,
                last_val: None,
                log: Vec::new(),
            },
            best_weights: None,
            device,
            batch: Batch::default(),
            train_counts,
            eligible,
            val_windows,
            bf16_emulated: false,
            cancel: None,
        })
    }

    /// Builds one training batch into `self.batch`: `x [B, W]`, `y [B, H]`, `mask [B, H]`, scaled
    /// per window (the buffers are reused). `H` is the network's training horizon and `W` its
    /// training row width: with teacher forcing a row ends with the window's first `H − 1`
    /// targets (see [`Network::teacher_forcing`]).
    fn sample_batch(&mut self) -> Result<()> {
        let (l, h) = (self.net.input_size(), self.net.train_horizon());
        let teacher_forcing = self.net.teacher_forcing();
        let rng = &mut self.state.rng;
        let eligible = &self.eligible;
        let chosen: Vec<usize> = if eligible.len() <= self.cfg.batch_size {
            eligible.clone()
        } else {
            rng.sample_without_replacement(eligible.len(), self.cfg.batch_size)
                .into_iter()
                .map(|i| eligible[i])
                .collect()
        };
        let mut cum = Vec::with_capacity(chosen.len());
        let mut total = 0usize;
        for &s in &chosen {
            total += self.train_counts[s];
            cum.push(total);
        }
        let wbs = self.cfg.windows_batch_size;
        let picks: Vec<usize> = if total < wbs {
            (0..wbs).map(|_| rng.below(total)).collect()
        } else {
            rng.sample_without_replacement(total, wbs)
        };
        let batch = &mut self.batch;
        batch.rows = picks.len();
        batch.x.clear();
        batch.y.clear();
        batch.mask.clear();
        for p in picks {
            let k = cum.partition_point(|&c| c <= p);
            let s = &self.data[chosen[k]];
            let before = if k == 0 { 0 } else { cum[k - 1] };
            let origin = l - 1 + (p - before);
            let ws = pack_window(&mut batch.x, s, origin, (l, h), s.n_train, self.cfg.scaler);
            let first_target = batch.y.len();
            for row in origin + 1..=origin + h {
                if row < s.n_train {
                    batch.y.push(ws.apply(s.values[row]));
                    batch.mask.push(1.0f32);
                } else {
                    batch.y.push(0.0);
                    batch.mask.push(0.0);
                }
            }
            if teacher_forcing {
                // The masked targets already read 0, as the forced inputs must.
                batch
                    .x
                    .extend_from_slice(&batch.y[first_target..first_target + h.saturating_sub(1)]);
            }
        }
        let w = self.net.train_packed_input_size();
        if batch.x.len() != batch.rows * w {
            return Err(Error::invalid(
                "network",
                format!(
                    "training rows of {} values, but the network reads {w} (train_packed_input_size)",
                    batch.x.len() / batch.rows.max(1)
                ),
            ));
        }
        Ok(())
    }

    /// One optimizer step; returns its loss.
    fn step(&mut self) -> Result<f64> {
        self.sample_batch()?;
        let lr = self.cfg.lr_at(self.state.step);
        let (h, b) = (self.net.train_horizon(), self.batch.rows);
        let w = self.net.train_packed_input_size();
        let value = match &mut self.backend {
            Backend::Candle { net, opt } => {
                let x = Tensor::from_slice(&self.batch.x, (b, w), &self.device)?;
                let y = Tensor::from_slice(&self.batch.y, (b, h), &self.device)?;
                let mask = Tensor::from_slice(&self.batch.mask, (b, h), &self.device)?;
                let pred = net.forward_train(&x, &mut self.state.rng)?;
                let l = loss(&self.cfg.loss, &pred, &y, &mask)?;
                let value = f64::from(l.to_dtype(candle_core::DType::F32)?.to_scalar::<f32>()?);
                check_finite(value, self.state.step)?;
                let mut grads = l.backward()?;
                if let Some(max_norm) = self.cfg.grad_clip_norm {
                    opt.clip_grad_norm(&mut grads, max_norm)?;
                }
                opt.step(&grads, lr)?;
                value
            }
            Backend::Native(st) => {
                let q = st.graph.output_len() / h.max(1);
                let pred =
                    st.graph
                        .forward(&st.weights, &self.batch.x, b, Some(&mut self.state.rng))?;
                st.dout.resize(pred.len(), 0.0);
                let value = crate::engine::loss::loss_and_grad(
                    &self.cfg.loss,
                    pred,
                    &self.batch.y,
                    &self.batch.mask,
                    (h, q),
                    Some(&mut st.dout),
                )?;
                check_finite(value, self.state.step)?;
                st.graph
                    .backward(&st.weights, &mut st.dout, &mut st.grads)?;
                // Buffers (zero gradient) move only through the graph, never through the
                // optimizer: kept aside across its step (weight decay would shrink them).
                st.graph.update_buffers(&mut st.weights);
                st.saved_buffers.clear();
                for r in &st.buffers {
                    st.saved_buffers.extend_from_slice(&st.weights[r.clone()]);
                }
                if let Some(max_norm) = self.cfg.grad_clip_norm {
                    clip_grad_norm(&mut st.grads, max_norm);
                }
                st.adam.step(&mut st.weights, &st.grads, lr);
                let mut at = 0;
                for r in &st.buffers {
                    st.weights[r.clone()].copy_from_slice(&st.saved_buffers[at..at + r.len()]);
                    at += r.len();
                }
                value
            }
        };
        self.state.step += 1;
        Ok(value)
    }

    /// Validation loss on the original scale over every validation window, or `None` without a
    /// validation segment.
    pub(crate) fn validate(&mut self) -> Result<Option<f64>> {
        if self.val_windows == 0 {
            return Ok(None);
        }
        let (l, h) = (self.net.input_size(), self.net.horizon());
        let mut windows: Vec<(usize, usize)> = Vec::with_capacity(self.val_windows);
        for (si, s) in self.data.iter().enumerate() {
            let n = n_val_windows(s, h);
            windows.extend((0..n).map(|k| (si, s.n_train - 1 + k)));
        }
        let (mut sum, mut count) = (0f64, 0f64);
        let w = self.net.packed_input_size();
        for chunk in windows.chunks(1024) {
            let b = chunk.len();
            let mut x = Vec::with_capacity(b * w);
            let mut y = Vec::with_capacity(b * h);
            let mut scales = Vec::with_capacity(b);
            for &(si, origin) in chunk {
                let s = &self.data[si];
                let ws = pack_window(&mut x, s, origin, (l, h), s.values.len(), self.cfg.scaler);
                y.extend_from_slice(&s.values[origin + 1..=origin + h]);
                scales.push(ws);
            }
            let v = match &mut self.backend {
                // A distribution head scores the MAE of each step's mean on the original scale
                // (neuralforecast's `valid_loss=MAE()` for DeepAR).
                Backend::Candle { net, .. } if self.cfg.loss.distribution().is_some() => {
                    let pred = net.forward(&Tensor::from_vec(x, (b, w), &self.device)?)?;
                    let pred: Vec<f32> = pred.flatten_all()?.to_device(&Device::Cpu)?.to_vec1()?;
                    distribution_mae(&self.cfg.loss, &pred, &scales, &y, h)
                }
                Backend::Candle { net, .. } => {
                    let pred = net.forward(&Tensor::from_vec(x, (b, w), &self.device)?)?;
                    let shift: Vec<f32> = scales.iter().map(|s| s.shift).collect();
                    let scale: Vec<f32> = scales.iter().map(|s| s.scale).collect();
                    let shift = Tensor::from_vec(shift, (b, 1, 1), &self.device)?;
                    let scale = Tensor::from_vec(scale, (b, 1, 1), &self.device)?;
                    let pred = pred.broadcast_mul(&scale)?.broadcast_add(&shift)?;
                    let y = Tensor::from_vec(y, (b, h), &self.device)?;
                    let mask = Tensor::ones((b, h), candle_core::DType::F32, &self.device)?;
                    f64::from(loss(&self.cfg.loss, &pred, &y, &mask)?.to_scalar::<f32>()?)
                }
                Backend::Native(st) if self.cfg.loss.distribution().is_some() => {
                    let pred = st.graph.forward(&st.weights, &x, b, None)?;
                    distribution_mae(&self.cfg.loss, pred, &scales, &y, h)
                }
                Backend::Native(st) => {
                    let per = st.graph.output_len();
                    let q = per / h.max(1);
                    let pred = st.graph.forward(&st.weights, &x, b, None)?;
                    st.rescaled.clear();
                    for (row, ws) in pred.chunks_exact(per).zip(&scales) {
                        st.rescaled
                            .extend(row.iter().map(|&p| p * ws.scale + ws.shift));
                    }
                    let ones = vec![1f32; b * h];
                    crate::engine::loss::loss_and_grad(
                        &self.cfg.loss,
                        &st.rescaled,
                        &y,
                        &ones,
                        (h, q),
                        None,
                    )?
                }
            };
            sum += v * (b * h) as f64;
            count += (b * h) as f64;
        }
        Ok(Some(sum / count))
    }

    fn snapshot(&self) -> Result<Snapshot> {
        Ok(match &self.backend {
            Backend::Candle { .. } => Snapshot::Tensors(
                self.vars
                    .iter()
                    .map(|(_, v)| Ok(v.as_tensor().copy()?))
                    .collect::<Result<_>>()?,
            ),
            Backend::Native(st) => Snapshot::Flat(st.weights.clone()),
        })
    }

    /// The current weights as named tensors, in name order.
    fn weight_tensors(&self) -> Result<Vec<(String, Tensor)>> {
        match &self.backend {
            Backend::Candle { .. } => Ok(self
                .vars
                .iter()
                .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
                .collect()),
            Backend::Native(st) => flat_tensors(&st.layout, &st.weights, "", &self.device),
        }
    }

    /// Writes the native engine's weights into the candle variables (the model is built from
    /// them); nothing to do for candle.
    fn sync_vars(&self) -> Result<()> {
        if let Backend::Native(st) = &self.backend {
            for ((_, var), (_, t)) in
                self.vars
                    .iter()
                    .zip(flat_tensors(&st.layout, &st.weights, "", &self.device)?)
            {
                var.set(&t)?;
            }
        }
        Ok(())
    }

    /// Which engine ran, in which precision.
    fn engine_info(&self) -> EngineInfo {
        let bf16_asked = self.cfg.precision == crate::fast::Precision::Bf16;
        let simd = if self.device.is_cpu() {
            crate::cpu::features().f32_path().to_string()
        } else {
            "cuda".into()
        };
        if self.bf16_emulated {
            return EngineInfo {
                backend: "native".into(),
                precision: crate::fast::Precision::Bf16,
                simd,
                note: Some(
                    "bf16 numerics emulated on f32 kernels (operands rounded to bfloat16): slower than f32, for checking accuracy"
                        .into(),
                ),
            };
        }
        let (backend, note) = match &self.backend {
            Backend::Native(_) => (
                "native",
                bf16_asked.then(|| crate::engine::bf16_fallback_reason().to_string()),
            ),
            Backend::Candle { .. } => (
                "candle",
                bf16_asked.then(|| {
                    "bf16 training is not available on the candle engine: trained in f32"
                        .to_string()
                }),
            ),
        };
        EngineInfo {
            backend: backend.into(),
            precision: crate::fast::Precision::F32,
            simd,
            note,
        }
    }

    /// Runs until `max_steps` or an early stop, calling `progress` after every step and
    /// `checkpoint` after every step whose number is a multiple of `checkpoint_every`.
    pub(crate) fn run(
        &mut self,
        checkpoint_every: Option<usize>,
        checkpoint: &mut dyn FnMut(&Self) -> Result<()>,
        progress: &mut dyn FnMut(&TrainProgress),
    ) -> Result<TrainReport> {
        let start = Instant::now();
        let max_steps = self.cfg.max_steps;
        let patience = self.cfg.early_stop_patience;
        let mut cancelled = false;
        while self.state.step < max_steps && !self.state.stopped_early {
            if self
                .cancel
                .as_ref()
                .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
            {
                cancelled = true;
                self.state.stopped_early = true;
                break;
            }
            let lr = self.cfg.lr_at(self.state.step);
            let value = self.step()?;
            self.state.loss_sum += value;
            self.state.loss_count += 1;
            let step = self.state.step;
            if step % self.cfg.val_check_steps == 0 || step == max_steps {
                let val = self.validate()?;
                if let Some(v) = val {
                    self.state.last_val = Some(v);
                    if self.state.best_val.is_none_or(|b| v < b) {
                        self.state.best_val = Some(v);
                        self.state.best_step = Some(step);
                        self.state.bad_checks = 0;
                        if patience.is_some() {
                            self.best_weights = Some(self.snapshot()?);
                        }
                    } else {
                        self.state.bad_checks += 1;
                        if patience.is_some_and(|p| self.state.bad_checks >= p) {
                            self.state.stopped_early = true;
                        }
                    }
                }
                let record = LogRecord {
                    step,
                    lr,
                    train_loss: self.state.loss_sum / self.state.loss_count.max(1) as f64,
                    val_loss: val,
                    elapsed_s: start.elapsed().as_secs_f64(),
                };
                self.state.log.push(record);
                self.state.loss_sum = 0.0;
                self.state.loss_count = 0;
            }
            progress(&TrainProgress {
                step,
                max_steps,
                train_loss: value,
                val_loss: self.state.last_val,
                best_val_loss: self.state.best_val,
                lr,
                elapsed: start.elapsed(),
            });
            if checkpoint_every.is_some_and(|k| step % k == 0)
                && step < max_steps
                && !self.state.stopped_early
            {
                checkpoint(self)?;
            }
        }
        let mut restored_best = false;
        if patience.is_some() {
            match (self.best_weights.take(), &mut self.backend) {
                (Some(Snapshot::Tensors(best)), _) => {
                    for ((_, var), t) in self.vars.iter().zip(best) {
                        var.set(&t)?;
                    }
                    restored_best = true;
                }
                (Some(Snapshot::Flat(best)), Backend::Native(st)) => {
                    st.weights = best;
                    restored_best = true;
                }
                (Some(Snapshot::Flat(_)), Backend::Candle { .. }) | (None, _) => {}
            }
        }
        self.sync_vars()?;
        Ok(TrainReport {
            steps: self.state.step,
            final_train_loss: self.state.log.last().map_or(f64::NAN, |r| r.train_loss),
            best_val_loss: self.state.best_val,
            best_step: self.state.best_step,
            stopped_early: self.state.stopped_early,
            cancelled,
            restored_best,
            train_windows: self.train_counts.iter().sum(),
            val_windows: self.val_windows,
            log: self.state.log.clone(),
            engine: self.engine_info(),
            warm_start: None,
        })
    }

    /// Adam's step count and moments (`adam.m.NAME`, `adam.v.NAME`), for the optimizer file.
    pub(crate) fn optimizer_tensors(&self) -> Result<(usize, Vec<(String, Tensor)>)> {
        match &self.backend {
            Backend::Candle { opt, .. } => Ok((opt.steps(), opt.state_tensors())),
            Backend::Native(st) => {
                let mut out = flat_tensors(&st.layout, &st.adam.m, "adam.m.", &self.device)?;
                out.extend(flat_tensors(
                    &st.layout,
                    &st.adam.v,
                    "adam.v.",
                    &self.device,
                )?);
                Ok((st.adam.t, out))
            }
        }
    }

    /// Sets Adam's moments and step count from a parent's optimizer state (a warm start);
    /// the loop's own step count stays where it is.
    pub(crate) fn restore_optimizer(
        &mut self,
        step: usize,
        get: &dyn Fn(&str) -> Option<Tensor>,
    ) -> Result<()> {
        match &mut self.backend {
            Backend::Candle { opt, .. } => opt.restore(step, get),
            Backend::Native(st) => {
                load_flat(&st.layout, &mut st.adam.m, "adam.m.", get)?;
                load_flat(&st.layout, &mut st.adam.v, "adam.v.", get)?;
                st.adam.t = step;
                Ok(())
            }
        }
    }

    /// Every tensor of the resumable state: the weights (`NAME`), the optimizer moments
    /// (`adam.m.NAME`, `adam.v.NAME`) and the best weights so far (`best.NAME`).
    pub(crate) fn state_tensors(&self) -> Result<Vec<(String, Tensor)>> {
        let mut out = self.weight_tensors()?;
        match &self.backend {
            Backend::Candle { opt, .. } => out.extend(opt.state_tensors()),
            Backend::Native(st) => {
                out.extend(flat_tensors(
                    &st.layout,
                    &st.adam.m,
                    "adam.m.",
                    &self.device,
                )?);
                out.extend(flat_tensors(
                    &st.layout,
                    &st.adam.v,
                    "adam.v.",
                    &self.device,
                )?);
            }
        }
        match (&self.best_weights, &self.backend) {
            (Some(Snapshot::Tensors(best)), _) => {
                for ((n, _), t) in self.vars.iter().zip(best) {
                    out.push((format!("best.{n}"), t.clone()));
                }
            }
            (Some(Snapshot::Flat(best)), Backend::Native(st)) => {
                out.extend(flat_tensors(&st.layout, best, "best.", &self.device)?);
            }
            _ => {}
        }
        Ok(out)
    }

    /// Restores what [`state_tensors`](Self::state_tensors) and `state` saved.
    pub(crate) fn restore(
        &mut self,
        state: LoopState,
        get: &dyn Fn(&str) -> Option<Tensor>,
    ) -> Result<()> {
        let missing = |key: &str| Error::Checkpoint {
            path: "training state".into(),
            reason: format!("missing tensor `{key}`"),
        };
        let has_best = self
            .vars
            .iter()
            .any(|(n, _)| get(&format!("best.{n}")).is_some());
        match &mut self.backend {
            Backend::Candle { opt, .. } => {
                for (name, var) in &self.vars {
                    let t = get(name).ok_or_else(|| missing(name))?;
                    var.set(&t)?;
                }
                opt.restore(state.step, get)?;
                self.best_weights = if has_best {
                    let mut best = Vec::new();
                    for (n, _) in &self.vars {
                        let key = format!("best.{n}");
                        best.push(get(&key).ok_or_else(|| missing(&key))?);
                    }
                    Some(Snapshot::Tensors(best))
                } else {
                    None
                };
            }
            Backend::Native(st) => {
                load_flat(&st.layout, &mut st.weights, "", get)?;
                load_flat(&st.layout, &mut st.adam.m, "adam.m.", get)?;
                load_flat(&st.layout, &mut st.adam.v, "adam.v.", get)?;
                st.adam.t = state.step;
                self.best_weights = if has_best {
                    let mut best = vec![0f32; st.layout.len()];
                    load_flat(&st.layout, &mut best, "best.", get)?;
                    Some(Snapshot::Flat(best))
                } else {
                    None
                };
            }
        }
        self.state = state;
        Ok(())
    }
}

/// The mean absolute error, on the original scale, of the means of a distribution head's raw
/// outputs `pred` (`[b, h, P]`, scaled space) against `y` (`[b, h]`); 0 for a non-distribution
/// loss (never asked).
fn distribution_mae(
    loss: &crate::config::Loss,
    pred: &[f32],
    scales: &[WindowScale],
    y: &[f32],
    h: usize,
) -> f64 {
    let Some(dist) = loss.distribution() else {
        return 0.0;
    };
    let p = dist.n_params();
    let mut sum = 0f64;
    for (i, &target) in y.iter().enumerate() {
        let ws = scales[i / h.max(1)];
        let mean = dist.params(&pred[i * p..(i + 1) * p]).mean();
        let mean = mean * f64::from(ws.scale) + f64::from(ws.shift);
        sum += (mean - f64::from(target)).abs();
    }
    sum / y.len().max(1) as f64
}

/// Refuses a non-finite loss (the run diverged at step `done + 1`).
fn check_finite(value: f64, done: usize) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Error::Diverged {
            step: done + 1,
            loss: value,
        })
    }
}

/// The native engine's state for the (initialized) variables `vars`, whose names must be the
/// layout's.
fn native_state(
    graph: Box<dyn TrainGraph>,
    layout: ParamLayout,
    vars: &[(String, Var)],
    cfg: &TrainConfig,
) -> Result<NativeState> {
    let names: Vec<&String> = vars.iter().map(|(n, _)| n).collect();
    if names.len() != layout.names().len() || names.iter().zip(layout.names()).any(|(a, b)| *a != b)
    {
        return Err(Error::invalid(
            "weights",
            "the network's variables are not the architecture's weights",
        ));
    }
    let mut weights = Vec::with_capacity(layout.len());
    for (_, var) in vars {
        weights.extend(
            var.as_tensor()
                .flatten_all()?
                .to_dtype(candle_core::DType::F32)?
                .to_vec1::<f32>()?,
        );
    }
    if weights.len() != layout.len() {
        return Err(Error::invalid(
            "weights",
            "variable sizes differ from the layout",
        ));
    }
    let n = layout.len();
    let buffers = graph.buffer_ranges();
    if buffers.iter().any(|r| r.end > n) {
        return Err(Error::invalid(
            "weights",
            "a buffer range lies outside the weights",
        ));
    }
    Ok(NativeState {
        buffers,
        saved_buffers: Vec::new(),
        graph,
        layout,
        grads: vec![0.0; n],
        adam: FlatAdam::new(cfg.optimizer, cfg.weight_decay, n),
        weights,
        dout: Vec::new(),
        rescaled: Vec::new(),
    })
}

/// The flat buffer `values` (laid out by `layout`) as tensors named `{prefix}NAME`.
fn flat_tensors(
    layout: &ParamLayout,
    values: &[f32],
    prefix: &str,
    device: &Device,
) -> Result<Vec<(String, Tensor)>> {
    layout
        .names()
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let t = Tensor::from_slice(&values[layout.range(i)], layout.shape(i), device)?;
            Ok((format!("{prefix}{name}"), t))
        })
        .collect()
}

/// Fills `values` from the tensors named `{prefix}NAME`, checking each shape.
fn load_flat(
    layout: &ParamLayout,
    values: &mut [f32],
    prefix: &str,
    get: &dyn Fn(&str) -> Option<Tensor>,
) -> Result<()> {
    for (i, name) in layout.names().iter().enumerate() {
        let key = format!("{prefix}{name}");
        let t = get(&key).ok_or_else(|| Error::Checkpoint {
            path: "training state".into(),
            reason: format!("missing tensor `{key}`"),
        })?;
        if t.dims() != layout.shape(i) {
            return Err(Error::Checkpoint {
                path: "training state".into(),
                reason: format!(
                    "tensor `{key}` has shape {:?}, expected {:?}",
                    t.dims(),
                    layout.shape(i)
                ),
            });
        }
        let v = t
            .flatten_all()?
            .to_dtype(candle_core::DType::F32)?
            .to_vec1::<f32>()?;
        values[layout.range(i)].copy_from_slice(&v);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ScalerType;

    /// A network that trains one 3-step window ahead with teacher forcing over inputs of 5.
    #[derive(Debug)]
    struct TeacherForced;

    impl Network for TeacherForced {
        fn input_size(&self) -> usize {
            5
        }
        fn horizon(&self) -> usize {
            4
        }
        fn train_horizon(&self) -> usize {
            3
        }
        fn teacher_forcing(&self) -> bool {
            true
        }
        fn train_packed_input_size(&self) -> usize {
            5 + 2
        }
        fn forward(&self, x: &Tensor) -> Result<Tensor> {
            Ok(x.clone())
        }
    }

    /// A training row of a teacher-forced network is its 5 inputs then the first 2 of its 3
    /// targets, and the targets are the 3 values after the inputs; on the series 0, 1, 2, ...
    /// (identity scaler) every value equals its row index, so a row must read o−4 ..= o+2 and
    /// its targets o+1 ..= o+3, masked (0) where they fall past the 20 training rows.
    #[test]
    fn teacher_forced_rows_end_with_the_first_targets() {
        let data = vec![PreparedSeries {
            values: (0..30).map(|v| v as f32).collect(),
            n_train: 20,
            hist: Vec::new(),
            futr: Vec::new(),
        }];
        let cfg = TrainConfig {
            scaler: ScalerType::Identity,
            windows_batch_size: 64,
            ..TrainConfig::default()
        };
        let net = TeacherForced;
        let mut t = Trainer::new(&net, Vec::new(), &cfg, &data, Device::Cpu, None).unwrap();
        t.sample_batch().unwrap();
        assert_eq!(t.batch.rows, 64);
        for r in 0..t.batch.rows {
            let x = &t.batch.x[r * 7..(r + 1) * 7];
            let o = x[4];
            let y = &t.batch.y[r * 3..(r + 1) * 3];
            let mask = &t.batch.mask[r * 3..(r + 1) * 3];
            for k in 0..3 {
                let target = o + 1.0 + k as f32;
                let seen = target < 20.0;
                assert_eq!(mask[k], if seen { 1.0 } else { 0.0 });
                assert_eq!(y[k], if seen { target } else { 0.0 });
                if k < 2 {
                    assert_eq!(x[5 + k], y[k], "forced input {k} of row {r}");
                }
            }
            assert_eq!(&x[..5], &[o - 4.0, o - 3.0, o - 2.0, o - 1.0, o]);
        }
    }
}
