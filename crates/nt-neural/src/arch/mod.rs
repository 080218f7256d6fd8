//! The neural [`Architecture`] trait and [`NeuralSpec`], the one list of every architecture.
//!
//! Each model file (`nhits.rs`, `nbeats.rs`, `dlinear.rs`, `nlinear.rs`) implements
//! [`Architecture`] once on its config type: validation, weight names, shapes and PyTorch-style
//! initialization per layer kind, the candle network used for training, an optional fast CPU
//! inference path, which neuralforecast `state_dict` names it owns, and a fixed-length
//! description for the registry embedding. The `architectures!` invocation at the bottom of
//! this file is the only place that lists them: it generates [`NeuralSpec`] (one variant per
//! architecture), its JSON form and the name catalog the CLI builds its menu and help from.
//!
//! Adding a model is one new file implementing [`Architecture`] plus one line in that list.

pub(crate) mod dense;
#[macro_use]
mod spec;

use std::fmt::Debug;

use candle_core::Tensor;
use candle_nn::VarBuilder;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::config::TrainConfig;
use crate::rng::Rng;
use crate::{Error, Result};

pub use spec::{CatalogEntry, MAX_PARAMS, MAX_SPEC_INTEGER, MAX_WINDOW};

/// What the trainer and the model need from a network: `[B, W]` packed inputs (the target's
/// `L` values, then any exogenous channels; see `NhitsConfig::packed_input_size`) to `[B, H, Q]`
/// outputs.
pub trait Network: Debug + Send + Sync {
    /// Input length L.
    fn input_size(&self) -> usize;
    /// Width W of a packed input row (L without exogenous channels).
    fn packed_input_size(&self) -> usize {
        self.input_size()
    }
    /// Horizon H.
    fn horizon(&self) -> usize;
    /// Target steps a training window scores (neuralforecast's `h_train` for recurrent
    /// models, which train one or a few steps ahead); [`horizon`](Self::horizon) by default.
    /// Validation and prediction always cover the full horizon.
    fn train_horizon(&self) -> usize {
        self.horizon()
    }
    /// Whether training rows carry teacher-forcing targets: the packed input of a window
    /// (future exogenous channels over `L + train_horizon()` rows) followed by the window's
    /// first `train_horizon() − 1` targets, scaled like the input target (0 where the target
    /// is masked). False by default.
    fn teacher_forcing(&self) -> bool {
        false
    }
    /// Width of one training row as [`forward_train`](Self::forward_train) reads it;
    /// [`packed_input_size`](Self::packed_input_size) by default (equal to it whenever
    /// `train_horizon() == horizon()` and there is no teacher forcing).
    fn train_packed_input_size(&self) -> usize {
        self.packed_input_size()
    }
    /// Inference forward (no dropout).
    fn forward(&self, x: &Tensor) -> Result<Tensor>;
    /// Training forward (dropout drawn from `rng`) of `[B, train_packed_input_size()]` rows to
    /// `[B, train_horizon(), Q]`; the inference forward by default.
    fn forward_train(&self, x: &Tensor, rng: &mut Rng) -> Result<Tensor> {
        let _ = rng;
        self.forward(x)
    }
    /// The distribution head of a probabilistic network (DeepAR): its family and its sample
    /// paths ([`crate::distribution::Probabilistic`]); `None` for point networks (default).
    /// With it, [`forward`](Self::forward) returns each step's raw distribution parameters.
    fn probabilistic(&self) -> Option<&dyn crate::distribution::Probabilistic> {
        None
    }
}

/// A plain-Rust CPU forward for a few windows at a time, beside the candle network: exactly the
/// same function (tests compare them), cheaper at small batches. A window's output never depends
/// on the other windows of its batch.
pub trait FastForward: Debug + Send + Sync {
    /// Forward of `n` windows packed in `x` (`input_size` values each), `[n, H, Q]` flattened.
    fn forward_batch(&self, x: &[f32], n: usize) -> Vec<f32>;
    /// The same path with bfloat16 weights, when the architecture has one.
    fn to_bf16(&self) -> Option<Box<dyn FastForward>> {
        None
    }
}

/// How a weight is initialized: PyTorch's default distribution for the layer it belongs to
/// (the distribution, not PyTorch's random draws).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// `U(-bound, bound)`: `nn.Linear` and `nn.Conv1d` weights and biases use
    /// `bound = 1/sqrt(fan_in)` (fan_in = in_features, or in_channels · kernel for a conv);
    /// `nn.LSTM`/`nn.GRU` use `bound = 1/sqrt(hidden_size)` for every tensor.
    Uniform {
        /// Half-width of the interval.
        bound: f64,
    },
    /// All zeros (e.g. `LayerNorm` bias).
    Zeros,
    /// All ones (e.g. `LayerNorm` weight).
    Ones,
    /// `N(0, std²)` (e.g. `nn.Embedding`, std 1), drawn by Box–Muller from the same generator.
    Normal {
        /// Standard deviation.
        std: f64,
    },
}

impl Init {
    /// `nn.Linear`'s (and `nn.Conv1d`'s) rule for a weight or bias whose layer has `fan_in`
    /// inputs.
    pub fn linear(fan_in: usize) -> Self {
        Init::Uniform {
            bound: 1.0 / (fan_in.max(1) as f64).sqrt(),
        }
    }
}

/// One weight of an architecture: its stable name (a `VarBuilder` path, and neuralforecast's
/// `state_dict` name where the model is ported from it), its shape and its initialization.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightSpec {
    /// Name, e.g. `blocks.0.layers.0.weight`.
    pub name: String,
    /// Shape, e.g. `[out, in]` for a linear weight.
    pub shape: Vec<usize>,
    /// How training initializes it.
    pub init: Init,
}

impl WeightSpec {
    /// A `nn.Linear(in, out)` layer named `prefix`: `prefix.weight [out, in]` and
    /// `prefix.bias [out]`, both `U(±1/sqrt(in))`.
    pub fn linear(prefix: &str, fan_in: usize, fan_out: usize) -> [WeightSpec; 2] {
        [
            WeightSpec {
                name: format!("{prefix}.weight"),
                shape: vec![fan_out, fan_in],
                init: Init::linear(fan_in),
            },
            WeightSpec {
                name: format!("{prefix}.bias"),
                shape: vec![fan_out],
                init: Init::linear(fan_in),
            },
        ]
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether it holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Draws `n` values of `init` from `rng` (what training starts from).
pub(crate) fn draw(init: Init, n: usize, rng: &mut Rng) -> Vec<f32> {
    match init {
        Init::Uniform { bound } => (0..n)
            .map(|_| ((rng.next_f64() * 2.0 - 1.0) * bound) as f32)
            .collect(),
        Init::Zeros => vec![0.0; n],
        Init::Ones => vec![1.0; n],
        Init::Normal { std } => (0..n)
            .map(|_| {
                let u1 = rng.next_f64().max(f64::MIN_POSITIVE);
                let u2 = rng.next_f64();
                ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos() * std) as f32
            })
            .collect(),
    }
}

/// The broad kind of a model, for the registry embedding and the menu. A closed set: a new
/// architecture picks one of these, so the embedding's length never changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Statistical models (naive, ETS, MSTL, ...).
    Statistical,
    /// Linear maps of the input window (DLinear, NLinear, elastic net).
    Linear,
    /// Stacks of MLP blocks (NHITS, N-BEATS).
    Mlp,
    /// Convolutions over time (TCN).
    Convolutional,
    /// Recurrent cells (LSTM, GRU, DeepAR).
    Recurrent,
    /// Attention (Transformers, PatchTST).
    Attention,
}

impl Family {
    /// Every family, in embedding order.
    pub const ALL: [Family; 6] = [
        Family::Statistical,
        Family::Linear,
        Family::Mlp,
        Family::Convolutional,
        Family::Recurrent,
        Family::Attention,
    ];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Statistical => "statistical",
            Family::Linear => "linear",
            Family::Mlp => "mlp",
            Family::Convolutional => "convolutional",
            Family::Recurrent => "recurrent",
            Family::Attention => "attention",
        }
    }
}

/// A fixed-length description of an architecture for the registry embedding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArchFeatures {
    /// Broad kind.
    pub family: Family,
    /// Blocks or layers in depth.
    pub depth: usize,
    /// Mean hidden width (0 for a model without hidden layers).
    pub width: f64,
    /// Number of weights.
    pub params: usize,
}

/// A named preset of an architecture (e.g. `nbeats-interpretable`): a name the CLI accepts, a
/// one-line summary and the config it stands for at a given input size and horizon.
#[derive(Debug, Clone, Copy)]
pub struct Preset<C> {
    /// Name as typed after `--model`.
    pub name: &'static str,
    /// One line for `--help`.
    pub summary: &'static str,
    /// The config at `(input_size, horizon)`.
    pub build: fn(usize, usize) -> C,
}

/// A neural architecture, implemented once on its config type in its own file.
///
/// Guarantees an implementation must keep: [`weights`](Self::weights) lists every variable
/// [`build`](Self::build) creates, with the same names and shapes; the network maps `[B, W]`
/// packed inputs to `[B, H, Q]`; a fast path, when offered, computes the same function.
pub trait Architecture:
    Debug + Clone + PartialEq + Default + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// The name in JSON (`"model"`) and on the command line.
    const NAME: &'static str;
    /// One line for `--help` and the menu.
    const SUMMARY: &'static str;
    /// The broad kind.
    const FAMILY: Family;

    /// The defaults at input size `input_size` and horizon `horizon`.
    fn for_window(input_size: usize, horizon: usize) -> Self {
        let mut c = Self::default();
        c.set_window(input_size, horizon);
        c
    }

    /// Named variants beside the default (none by default).
    fn presets() -> Vec<Preset<Self>> {
        Vec::new()
    }

    /// Input window length L.
    fn input_size(&self) -> usize;
    /// Horizon H.
    fn horizon(&self) -> usize;
    /// Sets L and H.
    fn set_window(&mut self, input_size: usize, horizon: usize);
    /// The nested training settings.
    fn train(&self) -> &TrainConfig;
    /// The nested training settings, mutably.
    fn train_mut(&mut self) -> &mut TrainConfig;

    /// Historic exogenous columns (none by default).
    fn hist_exog(&self) -> &[String] {
        &[]
    }
    /// Future-known exogenous columns (none by default).
    fn futr_exog(&self) -> &[String] {
        &[]
    }
    /// Sets the exogenous columns; architectures without exogenous inputs refuse non-empty lists.
    fn set_exog(&mut self, hist: Vec<String>, futr: Vec<String>) -> Result<()> {
        if hist.is_empty() && futr.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid(
                "exog",
                format!("{} takes no exogenous inputs", Self::NAME),
            ))
        }
    }

    /// Checks the architecture's fields (not `train`).
    fn validate_architecture(&self) -> Result<()>;

    /// Every weight of the network with `n_outputs` outputs per step.
    fn weights(&self, n_outputs: usize) -> Vec<WeightSpec>;

    /// Whether a tensor named `name` in an imported neuralforecast `state_dict` is one of this
    /// architecture's learnable weights (so an unexpected one is an error); other tensors (fixed
    /// bases, loss buffers) are ignored. Every name by default.
    fn owns_weight(name: &str) -> bool {
        let _ = name;
        true
    }

    /// The candle network, with variables from `vb` (root prefix).
    fn build(&self, n_outputs: usize, vb: VarBuilder) -> Result<Box<dyn Network>>;

    /// A plain-Rust CPU inference path for these weights, when the architecture has one.
    fn fast_path(
        &self,
        n_outputs: usize,
        weights: &[(String, Tensor)],
    ) -> Result<Option<Box<dyn FastForward>>> {
        let _ = (n_outputs, weights);
        Ok(None)
    }

    /// The native CPU training graph (`crate::engine`: fused layers with hand-written
    /// backward) over weights laid out by `layout`, when the architecture has one for this
    /// config; candle's autograd trains it otherwise (none by default).
    fn native_graph(
        &self,
        n_outputs: usize,
        layout: &crate::engine::ParamLayout,
    ) -> Result<Option<Box<dyn crate::engine::TrainGraph>>> {
        let _ = (n_outputs, layout);
        Ok(None)
    }

    /// The fixed-length description for the registry embedding.
    fn features(&self, n_outputs: usize) -> ArchFeatures;
}

/// The [`Architecture`] accessors of a config with `input_size`, `horizon` and `train` fields,
/// written once: `crate::window_accessors!();` inside the `impl Architecture` block.
#[macro_export]
#[doc(hidden)]
macro_rules! window_accessors {
    () => {
        fn input_size(&self) -> usize {
            self.input_size
        }
        fn horizon(&self) -> usize {
            self.horizon
        }
        fn set_window(&mut self, input_size: usize, horizon: usize) {
            self.input_size = input_size;
            self.horizon = horizon;
        }
        fn train(&self) -> &$crate::config::TrainConfig {
            &self.train
        }
        fn train_mut(&mut self) -> &mut $crate::config::TrainConfig {
            &mut self.train
        }
    };
}

/// The [`Architecture`] exogenous accessors of a config with `hist_exog_list` and
/// `futr_exog_list` fields (NHITS, TCN), written once: `crate::exog_accessors!();` inside the
/// `impl Architecture` block.
#[macro_export]
#[doc(hidden)]
macro_rules! exog_accessors {
    () => {
        fn hist_exog(&self) -> &[String] {
            &self.hist_exog_list
        }
        fn futr_exog(&self) -> &[String] {
            &self.futr_exog_list
        }
        fn set_exog(&mut self, hist: Vec<String>, futr: Vec<String>) -> $crate::Result<()> {
            self.hist_exog_list = hist;
            self.futr_exog_list = futr;
            Ok(())
        }
    };
}

/// Deserializes a model's `train` field over that model's own training defaults (`defaults`),
/// so `{"train": {"max_steps": 10}}` keeps e.g. DLinear's learning rate rather than the generic
/// [`TrainConfig::default`]'s.
pub(crate) fn train_over<'de, D: serde::Deserializer<'de>>(
    d: D,
    defaults: TrainConfig,
) -> std::result::Result<TrainConfig, D::Error> {
    use serde::de::Error as _;
    use serde::Deserialize as _;
    let given = serde_json::Value::deserialize(d)?;
    let mut base = serde_json::to_value(defaults).map_err(D::Error::custom)?;
    match (&mut base, given) {
        (serde_json::Value::Object(base), serde_json::Value::Object(given)) => base.extend(given),
        (_, other) => {
            return Err(D::Error::custom(format!(
                "`train` must be an object, got {other}"
            )))
        }
    }
    serde_json::from_value(base).map_err(D::Error::custom)
}

architectures! {
    /// NHITS (Challu et al., 2022): [`crate::NhitsConfig`].
    Nhits(crate::config::NhitsConfig),
    /// N-BEATS (Oreshkin et al., 2019), generic or interpretable: [`crate::NBeatsConfig`].
    NBeats(crate::nbeats::NBeatsConfig),
    /// DLinear (Zeng et al., 2023): [`crate::DLinearConfig`].
    DLinear(crate::dlinear::DLinearConfig),
    /// NLinear (Zeng et al., 2023): [`crate::NLinearConfig`].
    NLinear(crate::nlinear::NLinearConfig),
    /// PatchTST (Nie et al., 2023): [`crate::PatchTstConfig`].
    PatchTst(crate::patchtst::PatchTstConfig),
    /// TCN (Bai et al., 2018; neuralforecast's TCN): [`crate::TcnConfig`].
    Tcn(crate::tcn::TcnConfig),
    /// LSTM (neuralforecast's LSTM, direct or recurrent): [`crate::LstmConfig`].
    Lstm(crate::rnn::LstmConfig),
    /// GRU (neuralforecast's GRU, direct or recurrent): [`crate::GruConfig`].
    Gru(crate::rnn::GruConfig),
    /// DeepAR (Salinas et al., 2020; neuralforecast's DeepAR): [`crate::deepar::DeepArConfig`].
    DeepAr(crate::deepar::DeepArConfig),
}
