//! PatchTST (Nie et al., 2023, "A Time Series is Worth 64 Words: Long-term Forecasting with
//! Transformers") as neuralforecast 3.3 implements it.
//!
//! One window of `L` values is normalized per window by RevIN (subtract the last value, or the
//! mean, and divide by the standard deviation), padded at the end by repeating its last value
//! `stride` times and cut into `patch_num` overlapping patches of `patch_len` values. Each patch
//! is projected to `hidden_size` channels (`W_P`), a learnable positional embedding (`W_pos`)
//! is added, and `encoder_layers` post-norm Transformer encoder layers follow: multi-head
//! self-attention with residual attention (each layer adds the previous layer's pre-softmax
//! scores to its own), a residual connection and BatchNorm over the channels; a two-layer
//! feed-forward network, a residual connection and BatchNorm. The flatten head maps the
//! `[hidden_size, patch_num]` encoding to `H·Q` outputs, which RevIN scales back.
//!
//! Weight names are neuralforecast's `state_dict` names (`model.backbone.W_P.weight`,
//! `model.backbone.encoder.layers.0.self_attn.W_Q.weight`, `...norm_attn.1.running_mean`,
//! `model.head.linear.weight`, ...), so its weights import as they are. The BatchNorm running
//! statistics are weights like any other here (initialized to 0 and 1, never given a gradient,
//! updated in place by the training forward), so a trained model saves and loads them.
//!
//! Files: this one holds the config and the [`Architecture`] implementation, `network.rs` the
//! candle network (training and reference forward), `fast.rs` the plain-Rust CPU inference path.

mod engine;
mod fast;
mod network;
mod rows;

use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

pub use network::PatchTst;

use crate::arch::{ArchFeatures, Architecture, Family, FastForward, Init, Network, WeightSpec};
use crate::config::{ScalerType, TrainConfig};
use crate::{Error, Result};

/// The activation of PatchTST's feed-forward layers (neuralforecast's `activation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PatchTstActivation {
    /// The exact (erf) GELU, PyTorch's default `nn.GELU()`.
    #[default]
    Gelu,
    /// `max(x, 0)`.
    Relu,
}

/// PatchTST's training defaults (neuralforecast 3.3): 5,000 steps, lr 1e-4, no lr decay,
/// 1,024 windows per step, identity scaler (RevIN normalizes inside the network), MAE loss.
pub fn patchtst_train_defaults() -> TrainConfig {
    TrainConfig {
        max_steps: 5000,
        lr: 1e-4,
        num_lr_decays: 0,
        windows_batch_size: 1024,
        scaler: ScalerType::Identity,
        ..TrainConfig::default()
    }
}

fn patchtst_train<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<TrainConfig, D::Error> {
    crate::arch::train_over(d, patchtst_train_defaults())
}

/// PatchTST's hyper-parameters (neuralforecast 3.3's names and defaults).
///
/// | field | default | meaning | range |
/// |---|---|---|---|
/// | `input_size` | 336 | past values L (the paper's input) | ≥ 1 |
/// | `horizon` | 96 | steps forecast H | ≥ 1 |
/// | `encoder_layers` | 3 | Transformer encoder layers | ≥ 0 |
/// | `n_heads` | 16 | attention heads | ≥ 1, divides `hidden_size` |
/// | `hidden_size` | 128 | channels D of a patch's embedding | ≥ 1 |
/// | `linear_hidden_size` | 256 | width of the feed-forward layer | ≥ 1 |
/// | `dropout` | 0.2 | dropout after the embedding, in attention's output projection, on both residual branches and inside the feed-forward layer | [0, 1) |
/// | `head_dropout` | 0 | dropout on the head's outputs | [0, 1) |
/// | `attn_dropout` | 0 | dropout on the attention weights | [0, 1) |
/// | `patch_len` | 16 | values per patch P (used: `min(patch_len, L + stride)`) | ≥ 1 |
/// | `stride` | 8 | step S between patches (and the end padding) | ≥ 1 |
/// | `revin` | true | RevIN per-window normalization | |
/// | `revin_affine` | false | learnable RevIN scale and shift | |
/// | `revin_subtract_last` | true | RevIN centres on the last value (else the mean) | |
/// | `activation` | gelu | feed-forward activation (`gelu`, `relu`) | |
/// | `res_attention` | true | add the previous layer's attention scores | |
/// | `batch_normalization` | false | neuralforecast's name for pre-norm layers (BatchNorm before each sublayer instead of after) | |
/// | `learn_pos_embed` | true | train the positional embedding (else it keeps its random start) | |
/// | `train` | [`patchtst_train_defaults`] | training loop | |
///
/// neuralforecast's `fc_dropout` is left out: its flatten head never reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PatchTstConfig {
    /// Past values fed to the model (L).
    pub input_size: usize,
    /// Steps forecast (H).
    pub horizon: usize,
    /// Number of Transformer encoder layers.
    pub encoder_layers: usize,
    /// Attention heads (each of `hidden_size / n_heads` channels).
    pub n_heads: usize,
    /// Channels of a patch's embedding (D).
    pub hidden_size: usize,
    /// Width of the feed-forward layer.
    pub linear_hidden_size: usize,
    /// Residual, projection and feed-forward dropout.
    pub dropout: f64,
    /// Dropout on the head's outputs.
    pub head_dropout: f64,
    /// Dropout on the attention weights.
    pub attn_dropout: f64,
    /// Values per patch (capped at `input_size + stride`).
    pub patch_len: usize,
    /// Step between patches.
    pub stride: usize,
    /// Whether RevIN normalizes each window.
    pub revin: bool,
    /// Whether RevIN has a learnable scale and shift.
    pub revin_affine: bool,
    /// Whether RevIN centres on the last value (true) or the mean (false).
    pub revin_subtract_last: bool,
    /// Feed-forward activation.
    pub activation: PatchTstActivation,
    /// Whether each layer adds the previous layer's pre-softmax attention scores.
    pub res_attention: bool,
    /// Pre-norm layers (neuralforecast's `batch_normalization`); post-norm when false.
    pub batch_normalization: bool,
    /// Whether the positional embedding is trained.
    pub learn_pos_embed: bool,
    /// Training loop settings.
    #[serde(deserialize_with = "patchtst_train")]
    pub train: TrainConfig,
}

impl Default for PatchTstConfig {
    fn default() -> Self {
        Self {
            input_size: 336,
            horizon: 96,
            encoder_layers: 3,
            n_heads: 16,
            hidden_size: 128,
            linear_hidden_size: 256,
            dropout: 0.2,
            head_dropout: 0.0,
            attn_dropout: 0.0,
            patch_len: 16,
            stride: 8,
            revin: true,
            revin_affine: false,
            revin_subtract_last: true,
            activation: PatchTstActivation::Gelu,
            res_attention: true,
            batch_normalization: false,
            learn_pos_embed: true,
            train: patchtst_train_defaults(),
        }
    }
}

impl PatchTstConfig {
    /// The patch length used: `min(patch_len, input_size + stride)`, as neuralforecast enforces.
    pub fn effective_patch_len(&self) -> usize {
        self.patch_len.min(self.input_size + self.stride)
    }

    /// Number of patches: `floor((L − P) / S + 1) + 1` (the `+ 1` is the end padding's patch).
    pub fn patch_num(&self) -> usize {
        let p = self.effective_patch_len();
        (self.input_size + self.stride - p) / self.stride.max(1) + 1
    }

    /// Channels per attention head (`hidden_size / n_heads`).
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.n_heads.max(1)
    }
}

/// `weight`, `bias`, `running_mean`, `running_var` of a `BatchNorm1d(d)` named `prefix`.
fn batch_norm_specs(prefix: &str, d: usize) -> [WeightSpec; 4] {
    let w = |n: &str, init| WeightSpec {
        name: format!("{prefix}.{n}"),
        shape: vec![d],
        init,
    };
    [
        w("weight", Init::Ones),
        w("bias", Init::Zeros),
        w("running_mean", Init::Zeros),
        w("running_var", Init::Ones),
    ]
}

/// The prefix of encoder layer `i`'s weights.
fn layer_prefix(i: usize) -> String {
    format!("model.backbone.encoder.layers.{i}")
}

impl Architecture for PatchTstConfig {
    const NAME: &'static str = "patchtst";
    const SUMMARY: &'static str =
        "PatchTST: Transformer encoder over patches of the window, RevIN, flatten head";
    const FAMILY: Family = Family::Attention;

    crate::window_accessors!();

    fn validate_architecture(&self) -> Result<()> {
        for (field, v) in [
            ("input_size", self.input_size),
            ("horizon", self.horizon),
            ("n_heads", self.n_heads),
            ("hidden_size", self.hidden_size),
            ("linear_hidden_size", self.linear_hidden_size),
            ("patch_len", self.patch_len),
            ("stride", self.stride),
        ] {
            if v == 0 {
                return Err(Error::invalid(field, "must be at least 1"));
            }
        }
        if self.hidden_size % self.n_heads != 0 {
            return Err(Error::invalid(
                "hidden_size",
                format!(
                    "must be divisible by n_heads ({}), got {}",
                    self.n_heads, self.hidden_size
                ),
            ));
        }
        for (field, p) in [
            ("dropout", self.dropout),
            ("head_dropout", self.head_dropout),
            ("attn_dropout", self.attn_dropout),
        ] {
            if !(0.0..1.0).contains(&p) {
                return Err(Error::invalid(field, format!("must be in [0, 1), got {p}")));
            }
        }
        Ok(())
    }

    fn weights(&self, n_outputs: usize) -> Vec<WeightSpec> {
        let (d, f, p, n) = (
            self.hidden_size,
            self.linear_hidden_size,
            self.effective_patch_len(),
            self.patch_num(),
        );
        let mut w = Vec::new();
        if self.revin && self.revin_affine {
            for (name, init) in [("affine_weight", Init::Ones), ("affine_bias", Init::Zeros)] {
                w.push(WeightSpec {
                    name: format!("model.revin_layer.{name}"),
                    shape: vec![1],
                    init,
                });
            }
        }
        w.extend(WeightSpec::linear("model.backbone.W_P", p, d));
        w.push(WeightSpec {
            name: "model.backbone.W_pos".into(),
            shape: vec![n, d],
            init: Init::Uniform { bound: 0.02 },
        });
        for i in 0..self.encoder_layers {
            let l = layer_prefix(i);
            for proj in ["W_Q", "W_K", "W_V"] {
                w.extend(WeightSpec::linear(&format!("{l}.self_attn.{proj}"), d, d));
            }
            w.extend(WeightSpec::linear(&format!("{l}.self_attn.to_out.0"), d, d));
            w.extend(batch_norm_specs(&format!("{l}.norm_attn.1"), d));
            w.extend(WeightSpec::linear(&format!("{l}.ff.0"), d, f));
            w.extend(WeightSpec::linear(&format!("{l}.ff.3"), f, d));
            w.extend(batch_norm_specs(&format!("{l}.norm_ffn.1"), d));
        }
        w.extend(WeightSpec::linear(
            "model.head.linear",
            d * n,
            self.horizon * n_outputs,
        ));
        w
    }

    /// Every `model.*` tensor but BatchNorm's `num_batches_tracked` and attention's fixed
    /// `sdp_attn.scale` (neither affects the forward: momentum is fixed, the scale is
    /// `head_dim^-0.5`).
    fn owns_weight(name: &str) -> bool {
        name.starts_with("model.")
            && !name.ends_with(".num_batches_tracked")
            && !name.ends_with(".sdp_attn.scale")
    }

    fn build(&self, n_outputs: usize, vb: VarBuilder) -> Result<Box<dyn Network>> {
        Ok(Box::new(PatchTst::new(self, n_outputs, vb)?))
    }

    fn fast_path(
        &self,
        n_outputs: usize,
        weights: &[(String, candle_core::Tensor)],
    ) -> Result<Option<Box<dyn FastForward>>> {
        Ok(Some(Box::new(fast::PatchTstFast::new(
            self, n_outputs, weights,
        )?)))
    }

    /// Every config trains on the native engine (`engine.rs`).
    fn native_graph(
        &self,
        n_outputs: usize,
        layout: &crate::engine::ParamLayout,
    ) -> Result<Option<Box<dyn crate::engine::TrainGraph>>> {
        Ok(Some(Box::new(engine::PatchTstGraph::new(
            self, n_outputs, layout,
        )?)))
    }

    fn features(&self, n_outputs: usize) -> ArchFeatures {
        ArchFeatures {
            family: Self::FAMILY,
            depth: self.encoder_layers,
            width: self.hidden_size as f64,
            params: self.weights(n_outputs).iter().map(WeightSpec::len).sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_follow_neuralforecast() {
        // L = 32, P = 8, S = 4: floor(24 / 4 + 1) + 1 = 8 patches.
        let c = PatchTstConfig {
            input_size: 32,
            patch_len: 8,
            stride: 4,
            ..PatchTstConfig::default()
        };
        assert_eq!((c.effective_patch_len(), c.patch_num()), (8, 8));
        // The defaults at L = 336: 42 patches of 16.
        assert_eq!(PatchTstConfig::default().patch_num(), 42);
        // patch_len is capped at L + S: one patch covering the padded window.
        let short = PatchTstConfig {
            input_size: 5,
            patch_len: 16,
            stride: 3,
            ..PatchTstConfig::default()
        };
        assert_eq!((short.effective_patch_len(), short.patch_num()), (8, 1));
        // L − P not a multiple of S: floor.
        let odd = PatchTstConfig {
            input_size: 30,
            patch_len: 8,
            stride: 4,
            ..PatchTstConfig::default()
        };
        assert_eq!(odd.patch_num(), 7);
    }

    #[test]
    fn invalid_fields_are_named() {
        let heads = PatchTstConfig {
            hidden_size: 30,
            n_heads: 4,
            ..PatchTstConfig::default()
        };
        let err = heads.validate_architecture().unwrap_err().to_string();
        assert!(err.contains("hidden_size"), "{err}");
        for bad in [
            PatchTstConfig {
                stride: 0,
                ..PatchTstConfig::default()
            },
            PatchTstConfig {
                patch_len: 0,
                ..PatchTstConfig::default()
            },
            PatchTstConfig {
                dropout: 1.0,
                ..PatchTstConfig::default()
            },
            PatchTstConfig {
                attn_dropout: -0.1,
                ..PatchTstConfig::default()
            },
        ] {
            assert!(bad.validate_architecture().is_err(), "{bad:?}");
        }
        assert!(PatchTstConfig::default().validate_architecture().is_ok());
        // A partial `train` keeps PatchTST's own defaults.
        let c: PatchTstConfig = serde_json::from_str(r#"{"train": {"max_steps": 7}}"#).unwrap();
        assert_eq!((c.train.max_steps, c.train.lr), (7, 1e-4));
        assert!(serde_json::from_str::<PatchTstConfig>(r#"{"fc_dropout": 0.1}"#).is_err());
    }

    #[test]
    fn owns_model_weights_but_not_buffers() {
        assert!(PatchTstConfig::owns_weight("model.backbone.W_pos"));
        assert!(!PatchTstConfig::owns_weight(
            "model.backbone.encoder.layers.0.norm_attn.1.num_batches_tracked"
        ));
        assert!(!PatchTstConfig::owns_weight(
            "model.backbone.encoder.layers.0.self_attn.sdp_attn.scale"
        ));
        assert!(!PatchTstConfig::owns_weight("loss.quantiles"));
    }
}
