//! DeepAR (Salinas et al., 2020): an autoregressive LSTM with a distribution head, trained by
//! likelihood, forecasting by sample paths.
//!
//! The network follows neuralforecast 3.3's `models/deepar.py` and the recurrent parts of its
//! `common/_base_model.py`:
//! - **Inputs.** A window has `L + 1` input rows (neuralforecast adds one to `input_size` for
//!   recurrent models, for the shift), so [`crate::Network::input_size`] is `L + 1`. The LSTM
//!   input at position `j` is `[y_j, hist_{j+1}, futr_{j+1}]`: historic exogenous channels are
//!   shifted by one and read 0 from row `L + 1` on (what `_parse_windows` does: masked over the
//!   horizon, then `[:, 1:]`), future ones are shifted by one.
//! - **Training** (teacher forcing over `h_train` steps): the encoder runs over the `L + 1`
//!   inputs and the window's first `h_train − 1` targets; its last `h_train` outputs, through
//!   the decoder MLP, are the raw distribution parameters of the next `h_train` targets, scored
//!   by the negative log-likelihood ([`crate::Loss::Distribution`]).
//! - **Prediction, `feedback: "mean"`** (neuralforecast's mode): the encoder state is kept and
//!   each step feeds the distribution's mean back. [`crate::Network::forward`] is this
//!   roll-forward and returns each step's raw parameters `[B, H, P]`; the model reports the
//!   mean and the *exact* quantiles of each step's distribution (neuralforecast estimates them
//!   from `trajectory_samples` draws of that one step).
//! - **Prediction, `feedback: "sample"`** (the default here): true sample paths. The encoder
//!   runs once per window, its state is replicated for `samples` paths, and at each horizon step
//!   every path draws one value from its own step distribution and feeds *that draw* back, so a
//!   path is a joint draw of the whole horizon (the factorization of the DeepAR paper). The
//!   point forecast is the mean over paths, the bands their empirical quantiles. A window's
//!   paths are drawn from a generator seeded by the seed and the window's own values only.
//!   neuralforecast 3.3 does not do this: its recurrent predict step feeds the mean back and
//!   samples each step's distribution on its own (`_predict_step_recurrent_single`). The pinned
//!   3.3.0 does have `simulate()` (`NeuralForecast.simulate` and `BaseModel.simulate`, from its
//!   PR #1483), but it draws paths from the predicted per-step quantiles joined by a Gaussian
//!   copula with AR(1) dependence or a Schaake shuffle, not by autoregressive roll-forward of
//!   the network on its own draws.
//!
//! Weight names are neuralforecast's (`hist_encoder.weight_ih_l0`, ..., `decoder.layers.0.*`), so
//! `import_neuralforecast` reads its `state_dict`.

mod network;
mod paths;
mod plain;

pub use network::DeepAr;

use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use crate::arch::{ArchFeatures, Architecture, Family, Init, Network, WeightSpec};
use crate::config::{Activation, Loss, TrainConfig};
use crate::{Error, Result};

/// How DeepAR's prediction feeds each step back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feedback {
    /// Sample paths: each path feeds its own draws back (default).
    #[default]
    Sample,
    /// neuralforecast's mode: the distribution mean is fed back; bands are each step's exact
    /// quantiles.
    Mean,
}

/// DeepAR's training defaults (neuralforecast 3.3): 1,000 steps, lr 1e-3, 3 lr decays, 1,024
/// windows per step, identity scaler, Student-t likelihood with levels `[80, 90]`.
pub fn deepar_train_defaults() -> TrainConfig {
    TrainConfig {
        loss: Loss::student_t(),
        ..TrainConfig::default()
    }
}

fn deepar_train<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<TrainConfig, D::Error> {
    crate::arch::train_over(d, deepar_train_defaults())
}

/// DeepAR's hyper-parameters (neuralforecast's names where it has the field).
///
/// | field | default | meaning | range |
/// |---|---|---|---|
/// | `input_size` | 72 | past values L (neuralforecast's default −1 means 3·H; 72 = 3·24); the network reads L + 1 | ≥ 1 |
/// | `horizon` | 24 | steps forecast H | ≥ 1 |
/// | `h_train` | 1 | target steps a training window scores (teacher forcing) | 1 to H |
/// | `lstm_n_layers` | 2 | LSTM layers | 1 to 16 |
/// | `lstm_hidden_size` | 128 | LSTM width | ≥ 1 |
/// | `lstm_dropout` | 0.1 | dropout between LSTM layers (training only) | [0, 1) |
/// | `decoder_hidden_layers` | 0 | hidden layers of the decoder MLP (0: one linear map) | ≥ 0 |
/// | `decoder_hidden_size` | 0 | their width | ≥ 1 when there are hidden layers |
/// | `decoder_activation` | `ReLU` | after each hidden decoder layer | [`Activation`] |
/// | `feedback` | `sample` | prediction mode | [`Feedback`] |
/// | `samples` | 100 | sample paths per window (neuralforecast's `trajectory_samples`) | 1 to 100,000 |
/// | `sample_seed` | 1 | seed of the prediction's sample paths | any |
/// | `hist_exog_list` | `[]` | historic exogenous columns | distinct names |
/// | `futr_exog_list` | `[]` | future-known exogenous columns | distinct names |
/// | `train` | [`deepar_train_defaults`] | training loop; the loss must be a [`Loss::Distribution`] | |
///
/// Static and categorical exogenous inputs are not supported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeepArConfig {
    /// Past values L (the network reads L + 1 rows).
    pub input_size: usize,
    /// Steps forecast (H).
    pub horizon: usize,
    /// Target steps a training window scores.
    pub h_train: usize,
    /// LSTM layers.
    pub lstm_n_layers: usize,
    /// LSTM hidden size.
    pub lstm_hidden_size: usize,
    /// Dropout between LSTM layers during training.
    pub lstm_dropout: f64,
    /// Hidden layers of the decoder MLP.
    pub decoder_hidden_layers: usize,
    /// Width of the decoder's hidden layers.
    pub decoder_hidden_size: usize,
    /// Activation after each hidden decoder layer.
    pub decoder_activation: Activation,
    /// Prediction mode.
    pub feedback: Feedback,
    /// Sample paths per window at prediction.
    pub samples: usize,
    /// Seed of the prediction's sample paths.
    pub sample_seed: u64,
    /// Historic exogenous columns.
    pub hist_exog_list: Vec<String>,
    /// Future-known exogenous columns.
    pub futr_exog_list: Vec<String>,
    /// Training loop settings.
    #[serde(deserialize_with = "deepar_train")]
    pub train: TrainConfig,
}

impl Default for DeepArConfig {
    fn default() -> Self {
        Self {
            input_size: 72,
            horizon: 24,
            h_train: 1,
            lstm_n_layers: 2,
            lstm_hidden_size: 128,
            lstm_dropout: 0.1,
            decoder_hidden_layers: 0,
            decoder_hidden_size: 0,
            decoder_activation: Activation::ReLU,
            feedback: Feedback::Sample,
            samples: 100,
            sample_seed: 1,
            hist_exog_list: Vec::new(),
            futr_exog_list: Vec::new(),
            train: deepar_train_defaults(),
        }
    }
}

/// The most LSTM layers.
const MAX_LAYERS: usize = 16;
/// The most sample paths per window.
pub const MAX_SAMPLES: usize = 100_000;

impl DeepArConfig {
    /// Width of one LSTM input: the target and every exogenous channel.
    pub fn encoder_input_size(&self) -> usize {
        1 + self.hist_exog_list.len() + self.futr_exog_list.len()
    }

    /// `(index in nn.Sequential, fan_in, fan_out)` of each decoder layer.
    fn decoder_sizes(&self, n_outputs: usize) -> Vec<(usize, usize, usize)> {
        let k = self.decoder_hidden_layers;
        let (hid, dh) = (self.lstm_hidden_size, self.decoder_hidden_size);
        if k == 0 {
            return vec![(0, hid, n_outputs)];
        }
        (0..=k)
            .map(|i| {
                let fan_in = if i == 0 { hid } else { dh };
                let fan_out = if i == k { n_outputs } else { dh };
                (3 * i, fan_in, fan_out)
            })
            .collect()
    }
}

impl Architecture for DeepArConfig {
    const NAME: &'static str = "deepar";
    const SUMMARY: &'static str =
        "DeepAR: autoregressive LSTM with a Student-t (or Normal) head, likelihood training, sample-path forecasts";
    const FAMILY: Family = Family::Recurrent;

    crate::window_accessors!();
    crate::exog_accessors!();

    fn validate_architecture(&self) -> Result<()> {
        for (field, v) in [
            ("input_size", self.input_size),
            ("horizon", self.horizon),
            ("h_train", self.h_train),
            ("lstm_n_layers", self.lstm_n_layers),
            ("lstm_hidden_size", self.lstm_hidden_size),
            ("samples", self.samples),
        ] {
            if v == 0 {
                return Err(Error::invalid(field, "must be at least 1"));
            }
        }
        if self.h_train > self.horizon {
            return Err(Error::invalid(
                "h_train",
                format!(
                    "scores at most the horizon ({}) steps, got {}",
                    self.horizon, self.h_train
                ),
            ));
        }
        if self.lstm_n_layers > MAX_LAYERS {
            return Err(Error::invalid(
                "lstm_n_layers",
                format!("at most {MAX_LAYERS}, got {}", self.lstm_n_layers),
            ));
        }
        if self.samples > MAX_SAMPLES {
            return Err(Error::invalid(
                "samples",
                format!("at most {MAX_SAMPLES}, got {}", self.samples),
            ));
        }
        if !(self.lstm_dropout >= 0.0 && self.lstm_dropout < 1.0) {
            return Err(Error::invalid(
                "lstm_dropout",
                format!("must be in [0, 1), got {}", self.lstm_dropout),
            ));
        }
        if self.decoder_hidden_layers > 0 && self.decoder_hidden_size == 0 {
            return Err(Error::invalid(
                "decoder_hidden_size",
                "must be at least 1 when decoder_hidden_layers > 0",
            ));
        }
        if self.train.loss.distribution().is_none() {
            return Err(Error::invalid(
                "train.loss",
                "DeepAR trains by likelihood: use a distribution loss (student_t or normal)",
            ));
        }
        crate::config::validate_exog_lists(&self.hist_exog_list, &self.futr_exog_list)
    }

    fn weights(&self, n_outputs: usize) -> Vec<WeightSpec> {
        let hid = self.lstm_hidden_size;
        let init = Init::Uniform {
            bound: 1.0 / (hid as f64).sqrt(),
        };
        let mut w = Vec::new();
        for k in 0..self.lstm_n_layers {
            let fan_in = if k == 0 {
                self.encoder_input_size()
            } else {
                hid
            };
            for (name, shape) in [
                (format!("weight_ih_l{k}"), vec![4 * hid, fan_in]),
                (format!("weight_hh_l{k}"), vec![4 * hid, hid]),
                (format!("bias_ih_l{k}"), vec![4 * hid]),
                (format!("bias_hh_l{k}"), vec![4 * hid]),
            ] {
                w.push(WeightSpec {
                    name: format!("hist_encoder.{name}"),
                    shape,
                    init,
                });
            }
        }
        for (j, fan_in, fan_out) in self.decoder_sizes(n_outputs) {
            w.extend(WeightSpec::linear(
                &format!("decoder.layers.{j}"),
                fan_in,
                fan_out,
            ));
        }
        w
    }

    /// The LSTM's and the decoder's tensors (the loss's `quantiles` buffer is not a weight).
    fn owns_weight(name: &str) -> bool {
        name.starts_with("hist_encoder.") || name.starts_with("decoder.")
    }

    fn build(&self, n_outputs: usize, vb: VarBuilder) -> Result<Box<dyn Network>> {
        Ok(Box::new(DeepAr::new(self, n_outputs, vb)?))
    }

    fn features(&self, n_outputs: usize) -> ArchFeatures {
        ArchFeatures {
            family: Self::FAMILY,
            depth: self.lstm_n_layers + self.decoder_hidden_layers + 1,
            width: self.lstm_hidden_size as f64,
            params: self.weights(n_outputs).iter().map(WeightSpec::len).sum(),
        }
    }
}

/// The weights of `cfg`'s network as tensors in [`Architecture::weights`] order, for tests.
#[cfg(test)]
pub(crate) fn random_weights(cfg: &DeepArConfig, seed: u64) -> Vec<(String, candle_core::Tensor)> {
    let mut rng = crate::rng::Rng::new(seed);
    cfg.weights(cfg.train.loss.n_outputs())
        .into_iter()
        .map(|w| {
            let v = crate::arch::draw(w.init, w.len(), &mut rng);
            let t = candle_core::Tensor::from_vec(v, w.shape.as_slice(), &candle_core::Device::Cpu)
                .expect("shape matches its length");
            (w.name, t)
        })
        .collect()
}

#[cfg(test)]
mod tests;
