//! Hyper-parameters: [`NhitsConfig`] for the architecture and [`TrainConfig`] for the training
//! loop every neural model shares.

use serde::{Deserialize, Serialize};

use crate::fast::Precision;
use crate::{Error, Result};

/// How a block resamples its forecast coefficients (knots) to the full horizon; each is the
/// PyTorch `F.interpolate` mode of the same name with `align_corners=False`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interpolation {
    /// Piecewise linear between knots (neuralforecast's default, `mode="linear"`).
    #[default]
    Linear,
    /// Each step takes the knot at `floor(step * knots / horizon)` (`mode="nearest"`).
    Nearest,
    /// Cubic convolution (Keys, a = -0.75) with clamped borders, as neuralforecast's
    /// `interpolation_mode="cubic"`, which calls `mode="bicubic"` on a one-row image.
    Cubic,
}

/// How a block pools its input before its MLP; kernel and stride are the stack's
/// `n_pool_kernel_size`, with `ceil_mode=True` (the last window may be partial).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// Maximum over each window (`MaxPool1d`, the default).
    #[default]
    Max,
    /// Mean over the in-bounds part of each window (`AvgPool1d`).
    Avg,
}

/// The hidden-layer activation of the block MLPs (PyTorch's module of the same name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Activation {
    /// `max(0, x)` (default).
    #[default]
    ReLU,
    /// `ln(1 + e^x)`.
    Softplus,
    /// `tanh(x)`.
    Tanh,
    /// Scaled ELU with PyTorch's constants.
    SELU,
    /// `x` for `x > 0`, `0.01 x` otherwise.
    LeakyReLU,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
}

/// The optimizer. Both use β = (0.9, 0.999), ε = 1e-8 like PyTorch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Optimizer {
    /// Adam without weight decay (neuralforecast's default, `torch.optim.Adam`).
    #[default]
    Adam,
    /// Adam with decoupled weight decay `train.weight_decay` (`torch.optim.AdamW`).
    AdamW,
}

/// The training loss, computed on the (per-window scaled) targets and masked so padding never
/// counts.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Mean absolute error (neuralforecast's default).
    #[default]
    Mae,
    /// Mean squared error.
    Mse,
    /// Huber loss: quadratic inside `|e| <= delta`, linear outside (PyTorch `HuberLoss`).
    Huber {
        /// The threshold between the quadratic and linear parts (> 0; neuralforecast uses 1.0).
        delta: f64,
    },
    /// Multi-quantile (pinball) loss, neuralforecast's `MQLoss(quantiles=...)`: the model gets one
    /// output per level and predicts quantile bands.
    Quantile(Vec<f64>),
    /// Negative log-likelihood of a distribution head, neuralforecast's
    /// `DistributionLoss(distribution, level)`: the model emits the distribution's raw
    /// parameters per step ([`crate::distribution`] maps them) and forecasts its mean, with
    /// bands at the quantiles of `levels` (see [`crate::distribution::level_quantiles`]). Only
    /// architectures with a distribution head (DeepAR) accept it. JSON:
    /// `{"distribution": {"distribution": "student_t", "levels": [80, 90]}}`, both fields
    /// optional.
    Distribution {
        /// The family (Student-t by default).
        #[serde(default)]
        distribution: crate::distribution::Distribution,
        /// Interval levels in percent, each in (0, 100) and listed once (neuralforecast's
        /// `level`, default `[80, 90]`).
        #[serde(default = "default_levels")]
        levels: Vec<f64>,
    },
}

/// neuralforecast's `DistributionLoss` default `level=[80, 90]`.
fn default_levels() -> Vec<f64> {
    vec![80.0, 90.0]
}

impl Loss {
    /// Outputs per horizon step: the number of quantiles, the distribution's parameters, or 1
    /// for a point loss.
    pub fn n_outputs(&self) -> usize {
        match self {
            Loss::Quantile(qs) => qs.len(),
            Loss::Distribution { distribution, .. } => distribution.n_params(),
            Loss::Mae | Loss::Mse | Loss::Huber { .. } => 1,
        }
    }

    /// The distribution of a [`Loss::Distribution`], `None` for the other losses.
    pub fn distribution(&self) -> Option<crate::distribution::Distribution> {
        match self {
            Loss::Distribution { distribution, .. } => Some(*distribution),
            _ => None,
        }
    }

    /// Neuralforecast's `DistributionLoss` with Student-t and levels `[80, 90]` (DeepAR's
    /// default loss).
    pub fn student_t() -> Self {
        Loss::Distribution {
            distribution: crate::distribution::Distribution::StudentT,
            levels: default_levels(),
        }
    }

    /// Checks the loss parameters: `delta > 0`; quantiles strictly inside (0, 1), ascending,
    /// unique and at least one.
    pub fn validate(&self) -> Result<()> {
        match self {
            Loss::Huber { delta } if !(delta.is_finite() && *delta > 0.0) => Err(Error::invalid(
                "train.loss.huber.delta",
                format!("must be > 0, got {delta}"),
            )),
            Loss::Quantile(qs) => {
                if qs.is_empty() {
                    return Err(Error::invalid(
                        "train.loss.quantile",
                        "needs at least one level",
                    ));
                }
                if let Some(q) = qs.iter().find(|q| !(**q > 0.0 && **q < 1.0)) {
                    return Err(Error::invalid(
                        "train.loss.quantile",
                        format!("level {q} is not strictly between 0 and 1"),
                    ));
                }
                if qs.windows(2).any(|w| w[1] <= w[0]) {
                    return Err(Error::invalid(
                        "train.loss.quantile",
                        format!("levels must be strictly ascending, got {qs:?}"),
                    ));
                }
                Ok(())
            }
            Loss::Distribution { levels, .. } => {
                if let Some(l) = levels.iter().find(|l| !(**l > 0.0 && **l < 100.0)) {
                    return Err(Error::invalid(
                        "train.loss.distribution.levels",
                        format!("level {l} is not strictly between 0 and 100 (percent)"),
                    ));
                }
                let mut sorted = levels.clone();
                sorted.sort_by(f64::total_cmp);
                if sorted.windows(2).any(|w| w[1] == w[0]) {
                    return Err(Error::invalid(
                        "train.loss.distribution.levels",
                        format!("each level once, got {levels:?}"),
                    ));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// Per-window scaling of the inputs and targets, neuralforecast's `scaler_type`. Statistics come
/// from each window's input part only (no look-ahead); the loss is computed on the scaled targets
/// and forecasts are scaled back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScalerType {
    /// No scaling (default).
    #[default]
    Identity,
    /// `(x - mean) / (std + 1e-6)` (population std; 1 when the std is 0).
    Standard,
    /// `(x - median) / (mad + 1e-6)`, mad = median absolute deviation (0.6745·std when it is 0).
    Robust,
}

/// The training loop's settings, shared by every neural model.
///
/// | field | default | purpose | range |
/// |---|---|---|---|
/// | `max_steps` | 1000 | optimizer steps | ≥ 1 |
/// | `batch_size` | 32 | series sampled per step | ≥ 1 |
/// | `windows_batch_size` | 1024 | windows sampled per step from those series | ≥ 1 |
/// | `lr` | 1e-3 | initial learning rate | > 0 |
/// | `optimizer` | `adam` | Adam or AdamW | |
/// | `weight_decay` | 0.01 | AdamW's decoupled decay (ignored by Adam) | ≥ 0 |
/// | `num_lr_decays` | 3 | halvings of the lr, every `max(max_steps / num_lr_decays, 1)` steps; 0 = none | ≥ 0 |
/// | `loss` | `mae` | training loss | see [`Loss`] |
/// | `val_check_steps` | 100 | steps between validation checks | ≥ 1 |
/// | `early_stop_patience` | none | stop after this many checks without improvement, restoring the best weights | ≥ 1 |
/// | `val_fraction` | 0.0 | share of the training rows (the tail of each series) held out for validation | [0, 1) |
/// | `val_size` | none | held-out rows per series; overrides `val_fraction` | ≥ 1 |
/// | `grad_clip_norm` | none | clip the global gradient L2 norm to this | > 0 |
/// | `seed` | 1 | weights init, window sampling, dropout | any |
/// | `scaler` | `identity` | per-window scaler | see [`ScalerType`] |
/// | `precision` | `f32` | arithmetic of the training matmuls: `bf16` asks for bfloat16 operands with f32 accumulation, master weights and optimizer state, and falls back to f32 (saying so) on a CPU where bf16 cannot be faster | `f32`, `bf16` |
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Optimizer steps.
    pub max_steps: usize,
    /// Series sampled per step (neuralforecast's `batch_size`).
    pub batch_size: usize,
    /// Windows sampled per step from the sampled series: without replacement when enough exist,
    /// with replacement otherwise (neuralforecast's `windows_batch_size`).
    pub windows_batch_size: usize,
    /// Initial learning rate.
    pub lr: f64,
    /// Optimizer.
    pub optimizer: Optimizer,
    /// AdamW's decoupled weight decay; ignored by Adam.
    pub weight_decay: f64,
    /// Number of lr halvings (StepLR, gamma 0.5, every `max(max_steps / num_lr_decays, 1)` steps).
    pub num_lr_decays: usize,
    /// Training loss.
    pub loss: Loss,
    /// Steps between validation checks (also the training-log cadence).
    pub val_check_steps: usize,
    /// Validation checks without improvement before stopping; `None` never stops early.
    pub early_stop_patience: Option<usize>,
    /// Share of each series' rows, at its end, kept for validation.
    pub val_fraction: f64,
    /// Rows per series kept for validation; overrides `val_fraction` when set.
    pub val_size: Option<usize>,
    /// Global gradient-norm clipping threshold.
    pub grad_clip_norm: Option<f64>,
    /// Seed for initialization, window sampling and dropout.
    pub seed: u64,
    /// Per-window scaler.
    pub scaler: ScalerType,
    /// Arithmetic of the training matmuls (f32 unless asked; omitted from JSON when f32, so
    /// configs written before the field existed read and write the same bytes).
    #[serde(skip_serializing_if = "Precision::is_f32")]
    pub precision: Precision,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            max_steps: 1000,
            batch_size: 32,
            windows_batch_size: 1024,
            lr: 1e-3,
            optimizer: Optimizer::Adam,
            weight_decay: 0.01,
            num_lr_decays: 3,
            loss: Loss::Mae,
            val_check_steps: 100,
            early_stop_patience: None,
            val_fraction: 0.0,
            val_size: None,
            grad_clip_norm: None,
            seed: 1,
            scaler: ScalerType::Identity,
            precision: Precision::F32,
        }
    }
}

/// The most windows one training step may sample (2^20).
pub const MAX_WINDOWS_BATCH: usize = 1 << 20;

impl TrainConfig {
    /// Checks every field against the ranges in the table above.
    pub fn validate(&self) -> Result<()> {
        let at_least_one = [
            ("train.max_steps", self.max_steps),
            ("train.batch_size", self.batch_size),
            ("train.windows_batch_size", self.windows_batch_size),
            ("train.val_check_steps", self.val_check_steps),
        ];
        for (name, v) in at_least_one {
            if v == 0 {
                return Err(Error::invalid(name, "must be at least 1"));
            }
        }
        // Each step holds windows_batch_size windows in memory at once.
        if self.windows_batch_size > MAX_WINDOWS_BATCH {
            return Err(Error::invalid(
                "train.windows_batch_size",
                format!(
                    "{} windows per step is more than the {MAX_WINDOWS_BATCH} one step can hold",
                    self.windows_batch_size
                ),
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::invalid(
                "train.lr",
                format!("must be > 0, got {}", self.lr),
            ));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(Error::invalid(
                "train.weight_decay",
                format!("must be >= 0, got {}", self.weight_decay),
            ));
        }
        if !(self.val_fraction >= 0.0 && self.val_fraction < 1.0) {
            return Err(Error::invalid(
                "train.val_fraction",
                format!("must be in [0, 1), got {}", self.val_fraction),
            ));
        }
        if self.val_size == Some(0) {
            return Err(Error::invalid(
                "train.val_size",
                "must be at least 1 when set",
            ));
        }
        if self.early_stop_patience == Some(0) {
            return Err(Error::invalid(
                "train.early_stop_patience",
                "must be at least 1 when set",
            ));
        }
        if let Some(c) = self.grad_clip_norm {
            if !(c.is_finite() && c > 0.0) {
                return Err(Error::invalid(
                    "train.grad_clip_norm",
                    format!("must be > 0, got {c}"),
                ));
            }
        }
        self.loss.validate()
    }

    /// Steps between lr halvings: `max(max_steps / num_lr_decays, 1)`, or `None` without decays.
    pub fn lr_decay_steps(&self) -> Option<usize> {
        (self.num_lr_decays > 0).then(|| (self.max_steps / self.num_lr_decays).max(1))
    }

    /// The learning rate in force at optimizer step `step` (0-based): StepLR with gamma 0.5.
    pub fn lr_at(&self, step: usize) -> f64 {
        match self.lr_decay_steps() {
            Some(every) => self.lr * 0.5f64.powi(i32::try_from(step / every).unwrap_or(i32::MAX)),
            None => self.lr,
        }
    }

    /// Rows of a series of `len` rows held out for validation.
    pub fn val_rows(&self, len: usize) -> usize {
        match self.val_size {
            Some(v) => v,
            None => (self.val_fraction * len as f64).floor() as usize,
        }
    }
}

/// NHITS hyper-parameters (Challu et al., 2022). Defaults are neuralforecast 3.3.0's, except
/// `horizon` and `input_size`, which neuralforecast requires and which default here to 24 and
/// 5 × 24.
///
/// | field | default | purpose | range |
/// |---|---|---|---|
/// | `input_size` | 120 | past values fed to the model (L) | ≥ 1 |
/// | `horizon` | 24 | steps forecast (H) | ≥ 1 |
/// | `stacks` | `[1, 1, 1]` | blocks per stack | ≥ 1 stack, each ≥ 1 |
/// | `mlp_units` | `3 × [512, 512]` | hidden layers of every block's MLP (see below) | ≥ 1 layer, units ≥ 1 |
/// | `n_pool_kernel_size` | `[2, 2, 1]` | max-pool kernel (= stride) per stack | one per stack, ≥ 1 |
/// | `n_freq_downsample` | `[4, 2, 1]` | per stack, the block predicts `max(H / f, 1)` knots | one per stack, ≥ 1 |
/// | `pooling` | `max` | pooling kind | |
/// | `interpolation` | `linear` | knot interpolation | |
/// | `dropout` | 0.0 | dropout after each hidden activation | [0, 1) |
/// | `activation` | `ReLU` | hidden activation | |
/// | `hist_exog_list` | `[]` | historic exogenous columns (known up to the origin) | distinct names |
/// | `futr_exog_list` | `[]` | future-known exogenous columns (calendar, schedules) | distinct names |
/// | `train` | [`TrainConfig::default`] | training loop | |
///
/// As in neuralforecast, every block gets the *whole* `mlp_units` list: its MLP is
/// `Linear(in, u[0][0])`, then for each `[a, b]` in `mlp_units` `Linear(a, b)` + activation
/// (+ dropout), then `Linear(last, L + Q·max(H / f, 1))` with `Q` the outputs per step. There is no
/// activation after the first layer. `in = ceil(L / k)` without exogenous inputs.
///
/// Exogenous inputs follow neuralforecast: each block max- (or average-) pools every exogenous
/// channel over time with its own kernel, like the target, and feeds the MLP the concatenation
/// `[pooled target (time-reversed) | historic exog, time-major, L steps | future exog, time-major,
/// L + H steps]`, so `in = ceil(L/k)·(1 + C_hist) + ceil((L+H)/k)·C_futr`. The exogenous values are
/// not reversed, and each channel is scaled per window with statistics of its first L values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NhitsConfig {
    /// Past values fed to the model (L).
    pub input_size: usize,
    /// Steps forecast (H).
    pub horizon: usize,
    /// Blocks per stack (neuralforecast's `n_blocks`).
    pub stacks: Vec<usize>,
    /// Hidden layers `[in, out]` of each block's MLP.
    pub mlp_units: Vec<[usize; 2]>,
    /// Pooling kernel (and stride) per stack.
    pub n_pool_kernel_size: Vec<usize>,
    /// Forecast down-sampling factor per stack.
    pub n_freq_downsample: Vec<usize>,
    /// Pooling kind.
    pub pooling: Pooling,
    /// Knot interpolation.
    pub interpolation: Interpolation,
    /// Dropout probability after each hidden activation (neuralforecast's `dropout_prob_theta`).
    pub dropout: f64,
    /// Hidden activation.
    pub activation: Activation,
    /// Historic exogenous columns: the model sees their values over the input window only.
    pub hist_exog_list: Vec<String>,
    /// Future-known exogenous columns: the model sees their values over the input window and
    /// the horizon, so predicting needs their next H values.
    pub futr_exog_list: Vec<String>,
    /// Training loop settings.
    pub train: TrainConfig,
}

impl Default for NhitsConfig {
    fn default() -> Self {
        Self {
            input_size: 120,
            horizon: 24,
            stacks: vec![1, 1, 1],
            mlp_units: vec![[512, 512]; 3],
            n_pool_kernel_size: vec![2, 2, 1],
            n_freq_downsample: vec![4, 2, 1],
            pooling: Pooling::Max,
            interpolation: Interpolation::Linear,
            dropout: 0.0,
            activation: Activation::ReLU,
            hist_exog_list: Vec::new(),
            futr_exog_list: Vec::new(),
            train: TrainConfig::default(),
        }
    }
}

impl NhitsConfig {
    /// Checks the architecture (list lengths agree, sizes positive, consecutive MLP layers
    /// chain) and then `train`.
    pub fn validate(&self) -> Result<()> {
        self.validate_architecture()?;
        self.train.validate()
    }

    /// Checks everything but `train` (what importing weights needs).
    pub fn validate_architecture(&self) -> Result<()> {
        if self.input_size == 0 {
            return Err(Error::invalid("input_size", "must be at least 1"));
        }
        if self.horizon == 0 {
            return Err(Error::invalid("horizon", "must be at least 1"));
        }
        if self.stacks.is_empty() || self.stacks.contains(&0) {
            return Err(Error::invalid(
                "stacks",
                format!(
                    "needs at least one stack, each with at least one block, got {:?}",
                    self.stacks
                ),
            ));
        }
        let n = self.stacks.len();
        for (name, list) in [
            ("n_pool_kernel_size", &self.n_pool_kernel_size),
            ("n_freq_downsample", &self.n_freq_downsample),
        ] {
            if list.len() != n {
                return Err(Error::invalid(
                    name,
                    format!("needs one entry per stack ({n}), got {}", list.len()),
                ));
            }
            if list.contains(&0) {
                return Err(Error::invalid(name, "entries must be at least 1"));
            }
        }
        if self.mlp_units.is_empty() || self.mlp_units.iter().any(|u| u[0] == 0 || u[1] == 0) {
            return Err(Error::invalid(
                "mlp_units",
                "needs at least one layer with positive sizes",
            ));
        }
        if let Some(i) = self.mlp_units.windows(2).position(|w| w[0][1] != w[1][0]) {
            return Err(Error::invalid(
                "mlp_units",
                format!(
                    "layer {} outputs {} units but layer {} takes {}",
                    i,
                    self.mlp_units[i][1],
                    i + 1,
                    self.mlp_units[i + 1][0]
                ),
            ));
        }
        if !(self.dropout >= 0.0 && self.dropout < 1.0) {
            return Err(Error::invalid(
                "dropout",
                format!("must be in [0, 1), got {}", self.dropout),
            ));
        }
        validate_exog_lists(&self.hist_exog_list, &self.futr_exog_list)
    }

    /// Whether the model takes exogenous inputs.
    pub fn has_exog(&self) -> bool {
        !self.hist_exog_list.is_empty() || !self.futr_exog_list.is_empty()
    }

    /// Width of one packed network input row: `L` target values, then the historic exogenous
    /// channels time-major over `L` steps, then the future ones over `L + H` steps.
    pub fn packed_input_size(&self) -> usize {
        self.input_size
            + self.input_size * self.hist_exog_list.len()
            + (self.input_size + self.horizon) * self.futr_exog_list.len()
    }

    /// The pooling kernel (and stride) of stack `stack`: `n_pool_kernel_size[stack]`, 1 when
    /// absent or 0.
    pub fn pool_kernel(&self, stack: usize) -> usize {
        self.n_pool_kernel_size
            .get(stack)
            .copied()
            .unwrap_or(1)
            .max(1)
    }

    /// Input width of the first MLP layer of the blocks of stack `stack`:
    /// `ceil(L/k)·(1 + C_hist) + ceil((L+H)/k)·C_futr`.
    pub fn mlp_input_size(&self, stack: usize) -> usize {
        let k = self.pool_kernel(stack);
        self.pooled_size(stack) * (1 + self.hist_exog_list.len())
            + (self.input_size + self.horizon).div_ceil(k) * self.futr_exog_list.len()
    }

    /// Knots (forecast coefficients per output) predicted by the blocks of stack `stack`:
    /// `max(horizon / n_freq_downsample[stack], 1)`.
    pub fn n_knots(&self, stack: usize) -> usize {
        let f = self
            .n_freq_downsample
            .get(stack)
            .copied()
            .unwrap_or(1)
            .max(1);
        (self.horizon / f).max(1)
    }

    /// Pooled input length of the blocks of stack `stack`: `ceil(input_size / k)`.
    pub fn pooled_size(&self, stack: usize) -> usize {
        let k = self.pool_kernel(stack);
        self.input_size.div_ceil(k)
    }
}

/// Checks the exogenous column lists of a model that reads them (NHITS, TCN): no empty name and
/// no column listed twice, across both lists, naming the list at fault.
pub(crate) fn validate_exog_lists(hist: &[String], futr: &[String]) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for (field, name) in hist
        .iter()
        .map(|n| ("hist_exog_list", n))
        .chain(futr.iter().map(|n| ("futr_exog_list", n)))
    {
        if name.trim().is_empty() {
            return Err(Error::invalid(field, "column names must not be empty"));
        }
        if !seen.insert(name.as_str()) {
            return Err(Error::invalid(
                field,
                format!("column `{name}` is listed twice (each exogenous column once)"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_neuralforecast_and_validate() {
        let c = NhitsConfig::default();
        c.validate().unwrap();
        assert_eq!(c.mlp_units, vec![[512, 512]; 3]);
        assert_eq!(c.train.lr_decay_steps(), Some(333));
        // StepLR: 1e-3 for steps 0..333, then halved.
        assert_eq!(c.train.lr_at(332), 1e-3);
        assert_eq!(c.train.lr_at(333), 5e-4);
        assert_eq!(c.train.lr_at(999), 1.25e-4);
        // L = 480: pooled sizes 240, 240, 480; H = 96 gives 24, 48, 96 knots.
        let c = NhitsConfig {
            input_size: 480,
            horizon: 96,
            ..NhitsConfig::default()
        };
        assert_eq!(
            (0..3).map(|s| c.pooled_size(s)).collect::<Vec<_>>(),
            vec![240, 240, 480]
        );
        assert_eq!(
            (0..3).map(|s| c.n_knots(s)).collect::<Vec<_>>(),
            vec![24, 48, 96]
        );
    }

    #[test]
    fn invalid_fields_are_named() {
        let bad = NhitsConfig {
            n_freq_downsample: vec![1, 1],
            ..NhitsConfig::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("n_freq_downsample"));
        let bad = NhitsConfig {
            mlp_units: vec![[8, 16], [8, 8]],
            ..NhitsConfig::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("mlp_units"));
        let mut bad = NhitsConfig::default();
        bad.train.loss = Loss::Quantile(vec![0.9, 0.1]);
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("ascending"));
        bad.train.loss = Loss::Mae;
        bad.train.lr = 0.0;
        assert!(bad.validate().unwrap_err().to_string().contains("train.lr"));
    }

    #[test]
    fn serde_fills_defaults_and_rejects_unknown_fields() {
        let c: NhitsConfig = serde_json::from_str(
            r#"{"horizon": 12, "train": {"loss": {"quantile": [0.1, 0.5, 0.9]}}}"#,
        )
        .unwrap();
        assert_eq!(c.horizon, 12);
        assert_eq!(c.input_size, 120);
        assert_eq!(c.train.loss.n_outputs(), 3);
        assert!(serde_json::from_str::<NhitsConfig>(r#"{"horizn": 12}"#).is_err());
        let back: NhitsConfig = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }
}
