//! The training loop shared by every neural model: seeded window sampling (neuralforecast's
//! scheme), per-window scaling, the loss, gradient clipping, Adam/AdamW with StepLR, periodic
//! validation with early stopping, a JSON-lines log and resumable state.

use std::time::{Duration, Instant};

use candle_core::{Device, Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::arch::Network;
use crate::config::TrainConfig;
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
    /// Whether the weights were restored to the best validation check.
    pub restored_best: bool,
    /// Training windows available (over all series).
    pub train_windows: usize,
    /// Validation windows (over all series).
    pub val_windows: usize,
    /// The log records.
    pub log: Vec<LogRecord>,
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

/// The trainer: a network, its variables (sorted by name), the optimizer and the loop state.
pub(crate) struct Trainer<'a, N: Network + ?Sized> {
    net: &'a N,
    cfg: &'a TrainConfig,
    data: &'a [PreparedSeries],
    opt: Adam,
    pub(crate) state: LoopState,
    best_weights: Option<Vec<Tensor>>,
    device: Device,
    /// Prefix sums of training windows per series (origins `L-1 ..= n_train-2`).
    train_counts: Vec<usize>,
    /// Series with at least one training window (never empty).
    eligible: Vec<usize>,
    val_windows: usize,
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
    /// A fresh trainer; `vars` are the network's variables (any order; they are sorted by name).
    pub(crate) fn new(
        net: &'a N,
        mut vars: Vec<(String, Var)>,
        cfg: &'a TrainConfig,
        data: &'a [PreparedSeries],
        device: Device,
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
        let opt = Adam::new(cfg.optimizer, cfg.weight_decay, vars)?;
        Ok(Self {
            net,
            cfg,
            data,
            opt,
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
            train_counts,
            eligible,
            val_windows,
        })
    }

    /// Builds one training batch: `(x [B, L], y [B, H], mask [B, H])`, scaled per window.
    fn sample_batch(&mut self) -> Result<(Tensor, Tensor, Tensor)> {
        let (l, h) = (self.net.input_size(), self.net.horizon());
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
        let b = picks.len();
        let w = self.net.packed_input_size();
        let mut x = Vec::with_capacity(b * w);
        let mut y = Vec::with_capacity(b * h);
        let mut m = Vec::with_capacity(b * h);
        for p in picks {
            let k = cum.partition_point(|&c| c <= p);
            let s = &self.data[chosen[k]];
            let before = if k == 0 { 0 } else { cum[k - 1] };
            let origin = l - 1 + (p - before);
            let ws = pack_window(&mut x, s, origin, (l, h), s.n_train, self.cfg.scaler);
            for row in origin + 1..=origin + h {
                if row < s.n_train {
                    y.push(ws.apply(s.values[row]));
                    m.push(1.0f32);
                } else {
                    y.push(0.0);
                    m.push(0.0);
                }
            }
        }
        Ok((
            Tensor::from_vec(x, (b, w), &self.device)?,
            Tensor::from_vec(y, (b, h), &self.device)?,
            Tensor::from_vec(m, (b, h), &self.device)?,
        ))
    }

    /// One optimizer step; returns its loss.
    fn step(&mut self) -> Result<f64> {
        let (x, y, mask) = self.sample_batch()?;
        let pred = self.net.forward_train(&x, &mut self.state.rng)?;
        let l = loss(&self.cfg.loss, &pred, &y, &mask)?;
        let value = f64::from(l.to_dtype(candle_core::DType::F32)?.to_scalar::<f32>()?);
        if !value.is_finite() {
            return Err(Error::Diverged {
                step: self.state.step + 1,
                loss: value,
            });
        }
        let mut grads = l.backward()?;
        if let Some(max_norm) = self.cfg.grad_clip_norm {
            self.opt.clip_grad_norm(&mut grads, max_norm)?;
        }
        let lr = self.cfg.lr_at(self.state.step);
        self.opt.step(&grads, lr)?;
        self.state.step += 1;
        Ok(value)
    }

    /// Validation loss on the original scale over every validation window, or `None` without a
    /// validation segment.
    pub(crate) fn validate(&self) -> Result<Option<f64>> {
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
            let pred = self
                .net
                .forward(&Tensor::from_vec(x, (b, w), &self.device)?)?;
            let shift: Vec<f32> = scales.iter().map(|s| s.shift).collect();
            let scale: Vec<f32> = scales.iter().map(|s| s.scale).collect();
            let shift = Tensor::from_vec(shift, (b, 1, 1), &self.device)?;
            let scale = Tensor::from_vec(scale, (b, 1, 1), &self.device)?;
            let pred = pred.broadcast_mul(&scale)?.broadcast_add(&shift)?;
            let y = Tensor::from_vec(y, (b, h), &self.device)?;
            let mask = Tensor::ones((b, h), candle_core::DType::F32, &self.device)?;
            let v = f64::from(loss(&self.cfg.loss, &pred, &y, &mask)?.to_scalar::<f32>()?);
            sum += v * (b * h) as f64;
            count += (b * h) as f64;
        }
        Ok(Some(sum / count))
    }

    fn snapshot(&self) -> Result<Vec<Tensor>> {
        self.opt
            .vars()
            .iter()
            .map(|(_, v)| Ok(v.as_tensor().copy()?))
            .collect()
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
        while self.state.step < max_steps && !self.state.stopped_early {
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
            if let Some(best) = self.best_weights.take() {
                for ((_, var), t) in self.opt.vars().iter().zip(best) {
                    var.set(&t)?;
                }
                restored_best = true;
            }
        }
        Ok(TrainReport {
            steps: self.state.step,
            final_train_loss: self.state.log.last().map_or(f64::NAN, |r| r.train_loss),
            best_val_loss: self.state.best_val,
            best_step: self.state.best_step,
            stopped_early: self.state.stopped_early,
            restored_best,
            train_windows: self.train_counts.iter().sum(),
            val_windows: self.val_windows,
            log: self.state.log.clone(),
        })
    }

    /// Every tensor of the resumable state: the weights (`NAME`), the optimizer moments
    /// (`adam.m.NAME`, `adam.v.NAME`) and the best weights so far (`best.NAME`).
    pub(crate) fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out: Vec<(String, Tensor)> = self
            .opt
            .vars()
            .iter()
            .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
            .collect();
        out.extend(self.opt.state_tensors());
        if let Some(best) = &self.best_weights {
            for ((n, _), t) in self.opt.vars().iter().zip(best) {
                out.push((format!("best.{n}"), t.clone()));
            }
        }
        out
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
        for (name, var) in self.opt.vars() {
            let t = get(name).ok_or_else(|| missing(name))?;
            var.set(&t)?;
        }
        self.opt.restore(state.step, get)?;
        let has_best = self
            .opt
            .vars()
            .iter()
            .any(|(n, _)| get(&format!("best.{n}")).is_some());
        self.best_weights = if has_best {
            let mut best = Vec::new();
            for (n, _) in self.opt.vars() {
                let key = format!("best.{n}");
                best.push(get(&key).ok_or_else(|| missing(&key))?);
            }
            Some(best)
        } else {
            None
        };
        self.state = state;
        Ok(())
    }
}
