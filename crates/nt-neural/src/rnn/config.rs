//! The hyper-parameters LSTM and GRU share, the macro that writes each model's config type
//! (`LstmConfig`, `GruConfig`: the same fields, different names and encoder widths), their
//! training defaults and the weight list.

use serde::{Deserialize, Serialize};

use crate::arch::{Init, WeightSpec};
use crate::config::{Activation, ScalerType, TrainConfig};
use crate::{Error, Result};

/// LSTM's and GRU's training defaults (neuralforecast 3.3, both models): 1,000 steps, lr 1e-3,
/// no lr decay (neuralforecast's `num_lr_decays = -1`), 128 windows per step, robust scaler,
/// MAE loss.
pub fn rnn_train_defaults() -> TrainConfig {
    TrainConfig {
        max_steps: 1000,
        lr: 1e-3,
        num_lr_decays: 0,
        windows_batch_size: 128,
        scaler: ScalerType::Robust,
        ..TrainConfig::default()
    }
}

/// Deserializes a recurrent model's `train` over [`rnn_train_defaults`].
pub(crate) fn rnn_train<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<TrainConfig, D::Error> {
    crate::arch::train_over(d, rnn_train_defaults())
}

/// The recurrent cell of the encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellKind {
    /// `nn.LSTM`: gates `i, f, g, o` (4·C rows per weight), a cell state beside `h`.
    Lstm,
    /// `nn.GRU`: gates `r, z, n` (3·C rows per weight).
    Gru,
}

impl CellKind {
    /// Rows of each weight matrix per hidden unit (4 for LSTM, 3 for GRU).
    pub fn gates(self) -> usize {
        match self {
            CellKind::Lstm => 4,
            CellKind::Gru => 3,
        }
    }

    /// The recurrent kernel's cell.
    pub(crate) fn kernel(self) -> crate::recurrent::Cell {
        match self {
            CellKind::Lstm => crate::recurrent::Cell::Lstm,
            CellKind::Gru => crate::recurrent::Cell::Gru,
        }
    }
}

/// Every hyper-parameter of an LSTM or GRU config, with its cell: what the network, the fast
/// path and the weight list read (one copy of the logic for both models).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RnnParams {
    pub(crate) cell: CellKind,
    /// neuralforecast's `input_size` (the network reads one row more in recurrent mode).
    pub(crate) input_size: usize,
    pub(crate) horizon: usize,
    pub(crate) h_train: usize,
    pub(crate) recurrent: bool,
    pub(crate) n_layers: usize,
    pub(crate) hidden: usize,
    pub(crate) bias: bool,
    pub(crate) dropout: f64,
    pub(crate) decoder_hidden: usize,
    pub(crate) decoder_layers: usize,
    pub(crate) decoder_activation: Activation,
    pub(crate) heads: usize,
    pub(crate) n_hist: usize,
    pub(crate) n_futr: usize,
}

/// The shape of one encoder layer: input width, hidden width, and the LSTM projection width
/// (0: none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LayerDims {
    pub(crate) input: usize,
    pub(crate) hidden: usize,
    pub(crate) proj: usize,
}

impl LayerDims {
    /// The kernel's shape of this layer.
    pub(crate) fn shape(&self, cell: CellKind) -> crate::recurrent::LayerShape {
        crate::recurrent::LayerShape {
            cell: cell.kernel(),
            input: self.input,
            hidden: self.hidden,
            proj: self.proj,
        }
    }

    /// Width of the layer's output `h` (the projection when there is one).
    pub(crate) fn output(&self) -> usize {
        if self.proj > 0 {
            self.proj
        } else {
            self.hidden
        }
    }
}

impl RnnParams {
    /// Rows the network reads per window: `input_size`, plus neuralforecast's extra row in
    /// recurrent mode (its BaseModel adds one so the target can be shifted by a step).
    pub(crate) fn window(&self) -> usize {
        self.input_size + usize::from(self.recurrent)
    }

    /// Channels of the encoder input: the target, the historic and the future exogenous ones.
    pub(crate) fn encoder_input_channels(&self) -> usize {
        1 + self.n_hist + self.n_futr
    }

    /// Width of one packed inference row: the window's target values, the historic channels
    /// over its rows, the future channels over its rows and the horizon (time-major).
    pub(crate) fn packed_input_size(&self) -> usize {
        let n = self.window();
        n + n * self.n_hist + (n + self.horizon) * self.n_futr
    }

    /// Target steps a training window scores: `h_train` in recurrent mode, `H` otherwise.
    pub(crate) fn train_horizon(&self) -> usize {
        if self.recurrent {
            self.h_train
        } else {
            self.horizon
        }
    }

    /// Width of one training row: the packed window with the future channels over
    /// `train_horizon` rows after it, then (recurrent mode) `train_horizon − 1` forced targets.
    pub(crate) fn train_packed_input_size(&self) -> usize {
        let (n, h) = (self.window(), self.train_horizon());
        let forced = if self.recurrent { h - 1 } else { 0 };
        n + n * self.n_hist + (n + h) * self.n_futr + forced
    }

    /// The LSTM's projection width: `n_outputs` in recurrent mode without attention
    /// (neuralforecast's `proj_size = outputsize_multiplier`), 0 otherwise.
    pub(crate) fn proj(&self, n_outputs: usize) -> usize {
        if self.cell == CellKind::Lstm && self.recurrent && self.heads == 0 {
            n_outputs
        } else {
            0
        }
    }

    /// The shapes of the encoder layers in order (layer `k > 0` reads layer `k − 1`'s output).
    pub(crate) fn layer_dims(&self, n_outputs: usize) -> Vec<LayerDims> {
        let proj = self.proj(n_outputs);
        let mut input = self.encoder_input_channels();
        (0..self.n_layers)
            .map(|_| {
                let d = LayerDims {
                    input,
                    hidden: self.hidden,
                    proj,
                };
                input = d.output();
                d
            })
            .collect()
    }

    /// Whether the network ends in a `proj` linear map (recurrent GRU, or recurrent LSTM with
    /// attention) rather than the LSTM's own projection or the MLP decoder.
    pub(crate) fn has_proj(&self) -> bool {
        self.recurrent && self.proj(1) == 0
    }

    /// Whether the direct-mode states are adapted by `Linear(L → H)` over time (`H > L`, as
    /// neuralforecast's `upsample_sequence`) rather than cut to the last `H`.
    pub(crate) fn upsamples(&self) -> bool {
        !self.recurrent && self.horizon > self.input_size
    }

    /// `(nn.Sequential index, fan_in, fan_out)` of each decoder layer (direct mode); the
    /// layout of neuralforecast's `MLP` (Linear, activation, dropout per hidden layer).
    pub(crate) fn decoder_sizes(&self, n_outputs: usize) -> Vec<(usize, usize, usize)> {
        crate::layers::nf_mlp_sizes(
            self.hidden + self.n_futr,
            self.decoder_hidden,
            self.decoder_layers,
            n_outputs,
        )
    }

    /// Every weight, with neuralforecast's `state_dict` names (the attention's have no
    /// neuralforecast peer: `attention.{query,key,value,out}.*` and `attention.norm.*`).
    pub(crate) fn weights(&self, n_outputs: usize) -> Vec<WeightSpec> {
        let mut w = Vec::new();
        let g = self.cell.gates();
        for (k, d) in self.layer_dims(n_outputs).iter().enumerate() {
            // nn.LSTM / nn.GRU draw every tensor from U(±1/sqrt(hidden_size)).
            let init = Init::Uniform {
                bound: 1.0 / (d.hidden as f64).sqrt(),
            };
            let mut push = |name: String, shape: Vec<usize>| {
                w.push(WeightSpec { name, shape, init });
            };
            push(
                format!("hist_encoder.weight_ih_l{k}"),
                vec![g * d.hidden, d.input],
            );
            push(
                format!("hist_encoder.weight_hh_l{k}"),
                vec![g * d.hidden, d.output()],
            );
            if self.bias {
                push(format!("hist_encoder.bias_ih_l{k}"), vec![g * d.hidden]);
                push(format!("hist_encoder.bias_hh_l{k}"), vec![g * d.hidden]);
            }
            if d.proj > 0 {
                push(
                    format!("hist_encoder.weight_hr_l{k}"),
                    vec![d.proj, d.hidden],
                );
            }
        }
        if self.heads > 0 {
            let c = self.hidden;
            for name in ["query", "key", "value", "out"] {
                w.extend(WeightSpec::linear(&format!("attention.{name}"), c, c));
            }
            w.push(WeightSpec {
                name: "attention.norm.weight".into(),
                shape: vec![c],
                init: Init::Ones,
            });
            w.push(WeightSpec {
                name: "attention.norm.bias".into(),
                shape: vec![c],
                init: Init::Zeros,
            });
        }
        if self.recurrent {
            if self.has_proj() {
                w.extend(WeightSpec::linear("proj", self.hidden, n_outputs));
            }
        } else {
            if self.upsamples() {
                w.extend(WeightSpec::linear(
                    "upsample_sequence",
                    self.input_size,
                    self.horizon,
                ));
            }
            for (j, fan_in, fan_out) in self.decoder_sizes(n_outputs) {
                w.extend(WeightSpec::linear(
                    &format!("mlp_decoder.layers.{j}"),
                    fan_in,
                    fan_out,
                ));
            }
        }
        w
    }

    /// Checks the fields (not `train`, not the exogenous names).
    pub(crate) fn validate(&self) -> Result<()> {
        let at_least_one = [
            ("input_size", self.input_size),
            ("horizon", self.horizon),
            ("h_train", self.h_train),
            ("encoder_n_layers", self.n_layers),
            ("encoder_hidden_size", self.hidden),
            ("decoder_hidden_size", self.decoder_hidden),
            ("decoder_layers", self.decoder_layers),
        ];
        for (field, v) in at_least_one {
            if v == 0 {
                return Err(Error::invalid(field, "must be at least 1"));
            }
        }
        if !(self.dropout >= 0.0 && self.dropout < 1.0) {
            return Err(Error::invalid(
                "encoder_dropout",
                format!("must be in [0, 1), got {}", self.dropout),
            ));
        }
        if self.heads > 0 && self.hidden % self.heads != 0 {
            return Err(Error::invalid(
                "attention_heads",
                format!(
                    "must divide encoder_hidden_size ({}), got {}",
                    self.hidden, self.heads
                ),
            ));
        }
        if self.h_train as u64 > crate::arch::MAX_WINDOW {
            return Err(Error::invalid(
                "h_train",
                format!(
                    "{} is too long; at most {} steps",
                    self.h_train,
                    crate::arch::MAX_WINDOW
                ),
            ));
        }
        Ok(())
    }
}

/// Writes an LSTM/GRU config type: `$name` with the shared fields, its `Default` (encoder width
/// `$hidden`), its [`RnnParams`] view and its `crate::arch::Architecture` impl (`$arch`, `$summary`,
/// cell `$cell`). One macro so the two models cannot drift apart.
macro_rules! rnn_config {
    ($(#[$meta:meta])* $name:ident, $cell:expr, $hidden:expr, $arch:expr, $summary:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $name {
            /// neuralforecast's `input_size`: past values L (the network reads L + 1 in
            /// recurrent mode).
            pub input_size: usize,
            /// Steps forecast (H).
            pub horizon: usize,
            /// Recurrent mode: forecast one step at a time, feeding each forecast back.
            pub recurrent: bool,
            /// Recurrent mode: target steps each training window scores (teacher forcing).
            pub h_train: usize,
            /// Stacked recurrent layers.
            pub encoder_n_layers: usize,
            /// Hidden units C of every recurrent layer.
            pub encoder_hidden_size: usize,
            /// Whether the recurrent layers have the biases `b_ih`, `b_hh`.
            pub encoder_bias: bool,
            /// Dropout on the outputs of every recurrent layer but the last (training only).
            pub encoder_dropout: f64,
            /// Width of the decoder MLP's hidden layers (direct mode).
            pub decoder_hidden_size: usize,
            /// Linear layers of the decoder MLP (direct mode; 1: one linear map).
            pub decoder_layers: usize,
            /// Activation after each hidden decoder layer (direct mode).
            pub decoder_activation: $crate::config::Activation,
            /// Heads of the causal self-attention over the encoder states (0: no attention).
            pub attention_heads: usize,
            /// Historic exogenous columns: the model sees their values over the input window.
            pub hist_exog_list: Vec<String>,
            /// Future-known exogenous columns: over the input window and the horizon.
            pub futr_exog_list: Vec<String>,
            /// Training loop settings.
            #[serde(deserialize_with = "crate::rnn::config::rnn_train")]
            pub train: $crate::config::TrainConfig,
        }

        impl Default for $name {
            fn default() -> Self {
                Self {
                    input_size: 288,
                    horizon: 96,
                    recurrent: false,
                    h_train: 1,
                    encoder_n_layers: 2,
                    encoder_hidden_size: $hidden,
                    encoder_bias: true,
                    encoder_dropout: 0.0,
                    decoder_hidden_size: 128,
                    decoder_layers: 2,
                    decoder_activation: $crate::config::Activation::ReLU,
                    attention_heads: 0,
                    hist_exog_list: Vec::new(),
                    futr_exog_list: Vec::new(),
                    train: $crate::rnn::config::rnn_train_defaults(),
                }
            }
        }

        impl $name {
            /// The shared view the network, the fast path and the weight list read.
            pub(crate) fn params(&self) -> $crate::rnn::config::RnnParams {
                $crate::rnn::config::RnnParams {
                    cell: $cell,
                    input_size: self.input_size,
                    horizon: self.horizon,
                    h_train: self.h_train,
                    recurrent: self.recurrent,
                    n_layers: self.encoder_n_layers,
                    hidden: self.encoder_hidden_size,
                    bias: self.encoder_bias,
                    dropout: self.encoder_dropout,
                    decoder_hidden: self.decoder_hidden_size,
                    decoder_layers: self.decoder_layers,
                    decoder_activation: self.decoder_activation,
                    heads: self.attention_heads,
                    n_hist: self.hist_exog_list.len(),
                    n_futr: self.futr_exog_list.len(),
                }
            }

            /// Width of one packed inference row: the window's target values (L, or L + 1 in
            /// recurrent mode), the historic channels over those rows, then the future channels
            /// over those rows and the horizon, time-major.
            pub fn packed_input_size(&self) -> usize {
                self.params().packed_input_size()
            }
        }

        impl $crate::arch::Architecture for $name {
            const NAME: &'static str = $arch;
            const SUMMARY: &'static str = $summary;
            const FAMILY: $crate::arch::Family = $crate::arch::Family::Recurrent;

            /// The rows the network reads: `input_size`, plus one in recurrent mode.
            fn input_size(&self) -> usize {
                self.params().window()
            }
            fn horizon(&self) -> usize {
                self.horizon
            }
            /// Sets the rows read to `input_size` (so `input_size` field = `input_size − 1` in
            /// recurrent mode; a recurrent window of 1 row leaves 0, which validation refuses).
            fn set_window(&mut self, input_size: usize, horizon: usize) {
                self.input_size = input_size.saturating_sub(usize::from(self.recurrent));
                self.horizon = horizon;
            }
            fn train(&self) -> &$crate::config::TrainConfig {
                &self.train
            }
            fn train_mut(&mut self) -> &mut $crate::config::TrainConfig {
                &mut self.train
            }
            $crate::exog_accessors!();
            /// Also refuses a distribution loss: these models have no distribution head (and
            /// recurrent mode feeds back the mean of its outputs, a forecast only for point
            /// and quantile losses).
            fn validate_architecture(&self) -> $crate::Result<()> {
                self.params().validate()?;
                if matches!(self.train.loss, $crate::config::Loss::Distribution { .. }) {
                    return Err($crate::Error::invalid(
                        "train.loss",
                        "LSTM and GRU have no distribution head: use a point or quantile loss",
                    ));
                }
                let q = self.train.loss.n_outputs();
                let p = self.params();
                if p.proj(q) >= p.hidden {
                    return Err($crate::Error::invalid(
                        "encoder_hidden_size",
                        format!(
                            "a recurrent LSTM projects its {} hidden units onto its {q} outputs (PyTorch's proj_size): it needs more than {q}",
                            p.hidden
                        ),
                    ));
                }
                $crate::config::validate_exog_lists(&self.hist_exog_list, &self.futr_exog_list)
            }
            fn weights(&self, n_outputs: usize) -> Vec<$crate::arch::WeightSpec> {
                self.params().weights(n_outputs)
            }
            /// The recurrent layers, the decoder (or `proj`), `upsample_sequence` and the
            /// attention head; loss buffers (MQLoss's `quantiles`) are ignored.
            fn owns_weight(name: &str) -> bool {
                ["hist_encoder.", "mlp_decoder.", "upsample_sequence.", "proj.", "attention."]
                    .iter()
                    .any(|p| name.starts_with(p))
            }
            fn build(
                &self,
                n_outputs: usize,
                vb: candle_nn::VarBuilder,
            ) -> $crate::Result<Box<dyn $crate::arch::Network>> {
                self.validate_architecture()?;
                Ok(Box::new($crate::rnn::network::Rnn::new(
                    self.params(),
                    n_outputs,
                    vb,
                )?))
            }
            fn fast_path(
                &self,
                n_outputs: usize,
                weights: &[(String, candle_core::Tensor)],
            ) -> $crate::Result<Option<Box<dyn $crate::arch::FastForward>>> {
                $crate::rnn::fast::fast_path(&self.params(), n_outputs, weights)
            }
            fn features(&self, n_outputs: usize) -> $crate::arch::ArchFeatures {
                let p = self.params();
                $crate::arch::ArchFeatures {
                    family: $crate::arch::Family::Recurrent,
                    depth: p.n_layers + if p.recurrent { 1 } else { p.decoder_layers },
                    width: p.hidden as f64,
                    params: p.weights(n_outputs).iter().map($crate::arch::WeightSpec::len).sum(),
                }
            }
        }
    };
}

pub(crate) use rnn_config;
