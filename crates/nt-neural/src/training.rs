//! Training any neural spec: [`train`] (data preparation, PyTorch-style initialization per
//! layer kind, optional resume from a checkpoint, the loop, saving), the options and metadata it
//! records, and `Fit` for the NHITS and N-BEATS configs.

use std::path::PathBuf;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use nt_core::{Fit, TimeSeries};
use serde::{Deserialize, Serialize};

use crate::arch::{Network, NeuralSpec};
use crate::checkpoint::{self, TrainingCheckpoint};
use crate::config::NhitsConfig;
use crate::model::{default_device, NeuralModel};
use crate::nbeats::NBeatsConfig;
use crate::rng::Rng;
use crate::trainer::{PreparedSeries, TrainProgress, TrainReport, Trainer};
use crate::{Error, Result};

/// Where and how [`train`] keeps its files, and where it starts from.
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// The model directory: receives `model.json`, `weights.safetensors`, `train_log.jsonl`
    /// and, during training, `checkpoint/`. Nothing is written when `None`.
    pub out_dir: Option<PathBuf>,
    /// Continue from `out_dir/checkpoint/` when one exists (it must come from the same spec and
    /// data); start afresh otherwise.
    pub resume: bool,
    /// Save a resumable checkpoint every this many steps (needs `out_dir`).
    pub checkpoint_every: Option<usize>,
    /// With `train.precision = "bf16"` on the native engine, run bf16's numerics anyway:
    /// every large matmul's operands rounded to bfloat16, f32 accumulation, f32 master weights
    /// and optimizer state, on the f32 kernels. Slower than f32 (the rounding is extra work);
    /// for checking that a model trains as well in bf16 before relying on hardware that runs it
    /// natively. Ignored otherwise.
    pub emulate_bf16: bool,
    /// Train with candle's autograd even where the native engine could (to compare the two;
    /// the environment variable `NT_TRAIN_ENGINE=candle` does the same for any command).
    pub force_candle: bool,
    /// Start from a parent model's weights (and its optimizer state, when given) instead of
    /// the random initialization; see [`crate::warm_start`]. The spec's architecture must be
    /// the parent's; `train.max_steps` new steps run, the learning-rate schedule restarting.
    pub warm_start: Option<crate::warm_start::WarmStart>,
    /// Set from another thread (or from the `progress` callback) to end the run before its next
    /// step, as an early stop: the report says `cancelled` and the model keeps the weights it
    /// has (the best ones when early stopping tracks them). Used by hyper-parameter search to
    /// prune a trial. `None` (the default) never cancels.
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl PartialEq for TrainOptions {
    /// Field by field; two cancel flags are equal when they are the same flag.
    fn eq(&self, other: &Self) -> bool {
        self.out_dir == other.out_dir
            && self.resume == other.resume
            && self.checkpoint_every == other.checkpoint_every
            && self.emulate_bf16 == other.emulate_bf16
            && self.force_candle == other.force_candle
            && self.warm_start == other.warm_start
            && match (&self.cancel, &other.cancel) {
                (Some(a), Some(b)) => std::sync::Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            }
    }
}

/// A trained model and how its training went.
#[derive(Debug)]
pub struct TrainedModel {
    /// The model, ready to predict (with the best weights when early stopping restored them).
    pub model: NeuralModel,
    /// Steps, losses, the log.
    pub report: TrainReport,
    /// Adam's final state (saved as `optimizer.safetensors` with `out_dir`).
    pub optimizer: crate::warm_start::OptimizerState,
}

/// What a model remembers about its training, stored in `model.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// sha256 of the training data as loaded (`TimeSeries::fingerprint` of the whole series, the
    /// value every command prints for the same file), when trained here.
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

/// Initializes every variable with its architecture's rule ([`crate::arch::Init`]: PyTorch's
/// distribution for the layer kind), drawing from a generator seeded with `seed` and visiting
/// variables in name order, so the result depends only on the seed.
fn init_weights(vars: &[(String, Var)], spec: &NeuralSpec, seed: u64) -> Result<()> {
    let specs = spec.weight_specs();
    let mut rng = Rng::new(seed);
    for (name, var) in vars {
        let w = specs.iter().find(|w| &w.name == name).ok_or_else(|| {
            Error::invalid(
                "weights",
                format!("variable `{name}` is not among the architecture's weights"),
            )
        })?;
        let dims = var.as_tensor().dims().to_vec();
        let values = crate::arch::draw(w.init, dims.iter().product(), &mut rng);
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
/// for validation, each with the spec's exogenous columns.
fn prepare(
    series: &TimeSeries,
    targets: &[&str],
    spec: &NeuralSpec,
) -> Result<Vec<PreparedSeries>> {
    let cfg = spec.train_config();
    if targets.is_empty() {
        return Err(Error::invalid("targets", "needs at least one column"));
    }
    if let Some(t) = targets.iter().find(|t| {
        spec.hist_exog()
            .iter()
            .chain(spec.futr_exog())
            .any(|e| e == *t)
    }) {
        return Err(Error::invalid(
            "targets",
            format!("column `{t}` is both a target and an exogenous input"),
        ));
    }
    let channels = |names: &[String]| -> Result<Vec<Vec<f32>>> {
        names
            .iter()
            .map(|c| Ok(series.finite_column(c)?.iter().map(|&v| v as f32).collect()))
            .collect()
    };
    let (hist, futr) = (channels(spec.hist_exog())?, channels(spec.futr_exog())?);
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
                hist: hist.clone(),
                futr: futr.clone(),
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
    if let Some(ws) = &opts.warm_start {
        crate::warm_start::check_same_architecture(&ws.parent_spec, spec)?;
    }
    let data = prepare(series, targets, spec)?;
    // The whole series as loaded, not only the columns used: the fingerprint every command
    // (backtest, forecast, predict) prints for the same file.
    let fingerprint = series.fingerprint();
    let device = default_device();
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &device);
    let ctx = RunContext {
        spec,
        fingerprint: &fingerprint,
        data: &data,
        device: &device,
        opts,
    };
    let net = spec.build(vb)?;
    let (report, optimizer) = run_training(&*net, &varmap, &ctx, progress)?;
    let weights = sorted_vars(&varmap)?
        .into_iter()
        .map(|(n, v)| (n, v.as_tensor().clone()))
        .collect();
    let meta = ModelMeta {
        data_fingerprint: Some(fingerprint.clone()),
        train_rows: Some(series.len()),
        metrics: Some(TrainMetrics::from(&report)),
        origin: "nt-neural".into(),
    };
    let targets = targets.iter().map(|t| t.to_string()).collect();
    let model = NeuralModel::from_weights(spec.clone(), weights, targets, meta, &device)?;
    if let Some(dir) = &opts.out_dir {
        checkpoint::save_model_with(dir, &model, Some(&optimizer.to_bytes()?))?;
        checkpoint::write_log(&dir.join("train_log.jsonl"), &report.log)?;
        checkpoint::remove_dir_if_exists(&dir.join("checkpoint"))?;
    }
    Ok(TrainedModel {
        model,
        report,
        optimizer,
    })
}

/// What one training run needs besides the network.
struct RunContext<'a> {
    spec: &'a NeuralSpec,
    fingerprint: &'a str,
    data: &'a [PreparedSeries],
    device: &'a Device,
    opts: &'a TrainOptions,
}

/// Initializes (or warm-starts), optionally resumes, and trains `net` (whose variables live in
/// `varmap`); returns the report and Adam's final state.
fn run_training<N: Network + ?Sized>(
    net: &N,
    varmap: &VarMap,
    ctx: &RunContext<'_>,
    progress: &mut dyn FnMut(&TrainProgress),
) -> Result<(TrainReport, crate::warm_start::OptimizerState)> {
    let cfg = ctx.spec.train_config();
    let vars = sorted_vars(varmap)?;
    match &ctx.opts.warm_start {
        Some(ws) => crate::warm_start::load_parent_weights(ws, &vars)?,
        None => init_weights(&vars, ctx.spec, cfg.seed)?,
    }
    // The native engine trains on the CPU when the architecture has a graph for this config.
    let mut native = if ctx.device.is_cpu() && !ctx.opts.force_candle && !force_candle() {
        ctx.spec.native_graph()?
    } else {
        None
    };
    let mut bf16_emulated = false;
    if let Some((graph, _)) = native.as_mut() {
        if ctx.opts.emulate_bf16 && cfg.precision == crate::fast::Precision::Bf16 {
            bf16_emulated = graph.set_bf16(true);
        }
    }
    let mut trainer = Trainer::new(net, vars, cfg, ctx.data, ctx.device.clone(), native)?;
    trainer.bf16_emulated = bf16_emulated;
    trainer.cancel = ctx.opts.cancel.clone();
    if let Some(o) = ctx
        .opts
        .warm_start
        .as_ref()
        .and_then(|w| w.optimizer.as_ref())
    {
        let by_name: std::collections::HashMap<&str, &Tensor> =
            o.tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
        trainer.restore_optimizer(o.step, &|k| by_name.get(k).map(|t| (*t).clone()))?;
    }
    let ckpt_dir = ctx.opts.out_dir.as_ref().map(|d| d.join("checkpoint"));
    if ctx.opts.resume {
        if let Some(dir) = &ckpt_dir {
            if let Some(ck) = TrainingCheckpoint::load(dir, ctx.device)? {
                ck.check_compatible(ctx.spec, ctx.fingerprint)?;
                trainer.restore(ck.state.clone(), &|k| ck.tensors.get(k).cloned())?;
            }
        }
    }
    let every = ctx.opts.checkpoint_every.filter(|_| ckpt_dir.is_some());
    let mut save = |t: &Trainer<'_, N>| -> Result<()> {
        match &ckpt_dir {
            Some(dir) => {
                TrainingCheckpoint::save(
                    dir,
                    ctx.spec,
                    ctx.fingerprint,
                    &t.state,
                    &t.state_tensors()?,
                )?;
                // The log so far, beside the model, so a killed run still leaves it.
                let parent = dir.parent().unwrap_or(dir);
                checkpoint::write_log(&parent.join("train_log.jsonl"), &t.state.log)
            }
            None => Ok(()),
        }
    };
    let mut report = trainer.run(every, &mut save, progress)?;
    report.warm_start = ctx
        .opts
        .warm_start
        .as_ref()
        .map(|w| crate::warm_start::info(w, cfg.max_steps));
    let (step, tensors) = trainer.optimizer_tensors()?;
    let optimizer = crate::warm_start::OptimizerState {
        kind: cfg.optimizer,
        step,
        tensors,
    };
    Ok((report, optimizer))
}

/// Whether `NT_TRAIN_ENGINE=candle` asks for candle's autograd even where the native engine
/// could train (for comparing the two engines' speed and results; any other value is ignored).
fn force_candle() -> bool {
    std::env::var("NT_TRAIN_ENGINE").is_ok_and(|v| v == "candle")
}

fn fit_spec(
    spec: NeuralSpec,
    train_rows: &TimeSeries,
    target: &str,
) -> nt_core::Result<NeuralModel> {
    Ok(train(
        train_rows,
        &[target],
        &spec,
        &TrainOptions::default(),
        &mut |_| {},
    )?
    .model)
}

impl Fit for NhitsConfig {
    type Fitted = NeuralModel;

    /// Trains on `train`'s column `target` (the last `train.val_fraction` / `train.val_size`
    /// rows validate), writing nothing to disk.
    fn fit(&self, train: &TimeSeries, target: &str) -> nt_core::Result<NeuralModel> {
        fit_spec(NeuralSpec::Nhits(self.clone()), train, target)
    }
}

impl Fit for NBeatsConfig {
    type Fitted = NeuralModel;

    /// Trains on `train`'s column `target`, as for NHITS.
    fn fit(&self, train: &TimeSeries, target: &str) -> nt_core::Result<NeuralModel> {
        fit_spec(NeuralSpec::NBeats(self.clone()), train, target)
    }
}
