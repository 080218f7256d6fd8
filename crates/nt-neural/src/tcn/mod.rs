//! TCN, the temporal convolution network with an MLP decoder, as neuralforecast 3.3 implements
//! it (`neuralforecast.models.TCN`), with the residual blocks of Bai et al. (2018, "An Empirical
//! Evaluation of Generic Convolutional and Recurrent Networks for Sequence Modeling") as an
//! option.
//!
//! The network, for one window of `L` steps:
//! 1. **Encoder input** `[L, 1 + C_hist + C_futr]`: the target, the historic exogenous channels
//!    and the first `L` values of the future ones (neuralforecast's order).
//! 2. **Encoder**: per dilation `d` of `dilations`, a causal dilated convolution
//!    `Conv1d(C_in → C, kernel K, dilation d)` whose output at step `t` reads the inputs at
//!    `t − (K−1−k)·d`, `k = 0..K` (zeros before the window), then `encoder_activation`.
//!    neuralforecast pads `(K−1)·d` on both sides and chomps the last `(K−1)·d` outputs: the
//!    same function. With `residual`, each dilation is instead a Bai et al. block: two
//!    weight-normed causal convolutions, each followed by the activation and dropout, plus a
//!    1×1 convolution skip when `C_in ≠ C`, output `ReLU(block + skip)`.
//! 3. **Context adapter** `Linear(L → H)` over time, per channel: `[L, C] → [H, C]`.
//! 4. **Decoder**: the future exogenous channels' last `H` values joined as extra channels,
//!    then neuralforecast's `MLP(C + C_futr → Q)` per horizon step.
//!
//! Weight names are neuralforecast's `state_dict` names (`hist_encoder.tcn.{i}.conv.weight`,
//! `context_adapter.weight`, `mlp_decoder.layers.{j}.weight`, ...), so its weights import as
//! they are; the alias keys `hist_encoder.tcn.{i}.causalconv.0.*` its `state_dict` also holds
//! (the same tensors, reached through the `nn.Sequential`) are ignored. The residual blocks
//! have no neuralforecast peer; their names follow PyTorch's `weight_norm`
//! (`conv1.weight_g`, `conv1.weight_v`).
//!
//! Computation: a causal convolution is one matrix product per layer over the `K` shifted
//! copies of the input (time-major, tap-major columns), which candle differentiates like any
//! product; the private `fast` module holds the plain-Rust CPU inference twin.

mod conv_kernels;
mod engine;
pub(crate) mod fast;

use candle_core::{Module, Tensor, D};
use candle_nn::{Linear, VarBuilder};
use serde::{Deserialize, Serialize};

use crate::arch::{ArchFeatures, Architecture, Family, FastForward, Init, Network, WeightSpec};
use crate::config::{Activation, ScalerType, TrainConfig};
use crate::rng::Rng;
use crate::{Error, Result};

/// TCN's training defaults (neuralforecast 3.3): 1,000 steps, lr 1e-3, no lr decay
/// (neuralforecast's `num_lr_decays = -1`), 128 windows per step, robust scaler, MAE loss.
pub fn tcn_train_defaults() -> TrainConfig {
    TrainConfig {
        max_steps: 1000,
        lr: 1e-3,
        num_lr_decays: 0,
        windows_batch_size: 128,
        scaler: ScalerType::Robust,
        ..TrainConfig::default()
    }
}

/// Deserializes TCN's `train` over [`tcn_train_defaults`].
fn tcn_train<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<TrainConfig, D::Error> {
    crate::arch::train_over(d, tcn_train_defaults())
}

/// TCN's hyper-parameters (neuralforecast's names where it has the field).
///
/// | field | default | meaning | range |
/// |---|---|---|---|
/// | `input_size` | 288 | past values L (neuralforecast's default is 3·H; 288 = 3·96) | ≥ 1 |
/// | `horizon` | 96 | steps forecast H | ≥ 1 |
/// | `kernel_size` | 2 | taps K of each convolution | 1 to 1024 |
/// | `dilations` | `[1, 2, 4, 8, 16]` | one encoder layer per dilation d | non-empty, each 1 to 2^20 |
/// | `encoder_hidden_size` | 128 | channels C of every encoder layer | ≥ 1 |
/// | `encoder_activation` | `ReLU` | after each convolution | [`Activation`] |
/// | `decoder_hidden_size` | 128 | width of the decoder MLP's hidden layers | ≥ 1 |
/// | `decoder_layers` | 2 | linear layers of the decoder (1: one linear map, no activation) | ≥ 1 |
/// | `decoder_activation` | `ReLU` | after each hidden decoder layer | [`Activation`] |
/// | `residual` | `false` | Bai et al.'s residual blocks instead of neuralforecast's plain layers | |
/// | `dropout` | 0.0 | dropout after each convolution of a residual block (training only) | [0, 1); 0 unless `residual` |
/// | `hist_exog_list` | `[]` | historic exogenous columns (known up to the origin) | distinct names |
/// | `futr_exog_list` | `[]` | future-known exogenous columns | distinct names |
/// | `train` | [`tcn_train_defaults`] | training loop | |
///
/// neuralforecast's `context_size` is not a field: its TCN stores it and never reads it. Static
/// exogenous inputs are not supported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TcnConfig {
    /// Past values fed to the model (L).
    pub input_size: usize,
    /// Steps forecast (H).
    pub horizon: usize,
    /// Taps of each convolution (K).
    pub kernel_size: usize,
    /// Dilation of each encoder layer, in order.
    pub dilations: Vec<usize>,
    /// Channels of every encoder layer (C).
    pub encoder_hidden_size: usize,
    /// Activation after each convolution.
    pub encoder_activation: Activation,
    /// Width of the decoder's hidden layers.
    pub decoder_hidden_size: usize,
    /// Linear layers of the decoder MLP.
    pub decoder_layers: usize,
    /// Activation after each hidden decoder layer.
    pub decoder_activation: Activation,
    /// Bai et al.'s residual blocks (two weight-normed convolutions and a skip) per dilation.
    pub residual: bool,
    /// Dropout after each convolution of a residual block (training only).
    pub dropout: f64,
    /// Historic exogenous columns: the model sees their values over the input window.
    pub hist_exog_list: Vec<String>,
    /// Future-known exogenous columns: over the input window and the horizon.
    pub futr_exog_list: Vec<String>,
    /// Training loop settings.
    #[serde(deserialize_with = "tcn_train")]
    pub train: TrainConfig,
}

impl Default for TcnConfig {
    fn default() -> Self {
        Self {
            input_size: 288,
            horizon: 96,
            kernel_size: 2,
            dilations: vec![1, 2, 4, 8, 16],
            encoder_hidden_size: 128,
            encoder_activation: Activation::ReLU,
            decoder_hidden_size: 128,
            decoder_layers: 2,
            decoder_activation: Activation::ReLU,
            residual: false,
            dropout: 0.0,
            hist_exog_list: Vec::new(),
            futr_exog_list: Vec::new(),
            train: tcn_train_defaults(),
        }
    }
}

impl TcnConfig {
    /// Input channels of the encoder: the target, the historic and the future exogenous ones.
    pub fn encoder_input_channels(&self) -> usize {
        1 + self.hist_exog_list.len() + self.futr_exog_list.len()
    }

    /// Width of one packed network input row: `L` target values, then the historic exogenous
    /// channels time-major over `L` steps, then the future ones over `L + H` steps (the layout
    /// of [`crate::NhitsConfig::packed_input_size`]).
    pub fn packed_input_size(&self) -> usize {
        self.input_size
            + self.input_size * self.hist_exog_list.len()
            + (self.input_size + self.horizon) * self.futr_exog_list.len()
    }

    /// `(fan_in, fan_out)` of each decoder layer and its `nn.Sequential` index.
    fn decoder_layers_sizes(&self, n_outputs: usize) -> Vec<(usize, usize, usize)> {
        crate::layers::nf_mlp_sizes(
            self.encoder_hidden_size + self.futr_exog_list.len(),
            self.decoder_hidden_size,
            self.decoder_layers,
            n_outputs,
        )
    }

    /// Input channels of encoder layer `i`.
    fn layer_in(&self, i: usize) -> usize {
        if i == 0 {
            self.encoder_input_channels()
        } else {
            self.encoder_hidden_size
        }
    }
}

/// The weights of a `Conv1d(c_in → c_out, k)` named `prefix` (`weight [c_out, c_in, k]`, `bias`),
/// both `U(±1/sqrt(c_in·k))` as PyTorch initializes them; with `weight_norm`, `weight_g
/// [c_out, 1, 1]` and `weight_v` instead of `weight`.
fn conv_specs(
    prefix: &str,
    c_in: usize,
    c_out: usize,
    k: usize,
    weight_norm: bool,
) -> Vec<WeightSpec> {
    let init = Init::linear(c_in * k);
    let mut w = Vec::new();
    if weight_norm {
        // PyTorch's weight_norm starts g at ‖v‖ (data-dependent, which `Init` cannot say); g
        // starts at 1 here, so each output channel's initial weight has norm 1 rather than
        // PyTorch's ≈ 1/√3.
        w.push(WeightSpec {
            name: format!("{prefix}.weight_g"),
            shape: vec![c_out, 1, 1],
            init: Init::Ones,
        });
        w.push(WeightSpec {
            name: format!("{prefix}.weight_v"),
            shape: vec![c_out, c_in, k],
            init,
        });
    } else {
        w.push(WeightSpec {
            name: format!("{prefix}.weight"),
            shape: vec![c_out, c_in, k],
            init,
        });
    }
    w.push(WeightSpec {
        name: format!("{prefix}.bias"),
        shape: vec![c_out],
        init,
    });
    w
}

/// `x` (`[B, L, C]`, time-major) delayed by `s` steps: row `t` holds `x[t − s]`, zeros before.
fn delay(x: &Tensor, s: usize) -> Result<Tensor> {
    let (b, l, c) = x.dims3()?;
    Ok(if s == 0 {
        x.clone()
    } else if s >= l {
        x.zeros_like()?
    } else {
        let zeros = Tensor::zeros((b, s, c), x.dtype(), x.device())?;
        Tensor::cat(&[&zeros, &x.narrow(1, 0, l - s)?], 1)?
    })
}

/// A causal dilated convolution over time-major `x` `[B, L, C_in]` with PyTorch's weight
/// `[C, C_in, K]` and bias `[C]`: `y[t, o] = b[o] + Σ_k Σ_c w[o, c, k]·x[t − (K−1−k)·d, c]`, as
/// one product of the `K` delayed copies of `x` (columns tap-major) with the weight laid out
/// `[K·C_in, C]`.
pub(crate) fn causal_conv(x: &Tensor, w: &Tensor, b: &Tensor, dilation: usize) -> Result<Tensor> {
    let (bs, l, c_in) = x.dims3()?;
    let (c, _, k) = w.dims3()?;
    let taps = (0..k)
        .map(|tap| delay(x, (k - 1 - tap).saturating_mul(dilation)))
        .collect::<Result<Vec<_>>>()?;
    let cols = if taps.len() == 1 {
        taps[0].clone()
    } else {
        Tensor::cat(&taps, 2)?
    };
    let wm = w.permute((0, 2, 1))?.reshape((c, k * c_in))?;
    let y = cols
        .reshape((bs * l, k * c_in))?
        .matmul(&wm.t()?)?
        .broadcast_add(b)?;
    Ok(y.reshape((bs, l, c))?)
}

/// One encoder layer's weights.
#[derive(Debug, Clone)]
enum Layer {
    /// neuralforecast's `CausalConv1d`: convolution, then the activation.
    Plain { w: Tensor, b: Tensor },
    /// Bai et al.'s block: two weight-normed convolutions and a skip.
    Residual {
        conv1: (Tensor, Tensor, Tensor),
        conv2: (Tensor, Tensor, Tensor),
        downsample: Option<(Tensor, Tensor)>,
    },
}

/// `g · v / ‖v‖`, the norm per output channel (PyTorch's `weight_norm`, dim 0).
pub(crate) fn weight_norm(g: &Tensor, v: &Tensor) -> Result<Tensor> {
    let norm = v.sqr()?.sum_keepdim((1, 2))?.sqrt()?;
    Ok(v.broadcast_mul(&(g / norm)?)?)
}

/// The TCN network (candle, for training and the reference forward).
#[derive(Debug, Clone)]
pub struct Tcn {
    layers: Vec<(Layer, usize)>,
    context_adapter: Linear,
    decoder: Vec<Linear>,
    encoder_activation: Activation,
    decoder_activation: Activation,
    dropout: f64,
    input_size: usize,
    horizon: usize,
    n_outputs: usize,
    n_hist: usize,
    n_futr: usize,
}

impl Tcn {
    /// Builds the network for `cfg` with `n_outputs` outputs per step from `vb` (root prefix).
    pub fn new(cfg: &TcnConfig, n_outputs: usize, vb: VarBuilder) -> Result<Self> {
        cfg.validate_architecture()?;
        if n_outputs == 0 {
            return Err(Error::invalid("n_outputs", "must be at least 1"));
        }
        let (k, c) = (cfg.kernel_size, cfg.encoder_hidden_size);
        let vt = vb.pp("hist_encoder").pp("tcn");
        let mut layers = Vec::new();
        for (i, &d) in cfg.dilations.iter().enumerate() {
            let c_in = cfg.layer_in(i);
            let vl = vt.pp(i);
            let layer = if cfg.residual {
                let wn = |name: &str, c_in: usize| -> Result<(Tensor, Tensor, Tensor)> {
                    let v = vl.pp(name);
                    Ok((
                        v.get((c, 1, 1), "weight_g")?,
                        v.get((c, c_in, k), "weight_v")?,
                        v.get(c, "bias")?,
                    ))
                };
                let downsample = (c_in != c)
                    .then(|| -> Result<(Tensor, Tensor)> {
                        let v = vl.pp("downsample");
                        Ok((v.get((c, c_in, 1), "weight")?, v.get(c, "bias")?))
                    })
                    .transpose()?;
                Layer::Residual {
                    conv1: wn("conv1", c_in)?,
                    conv2: wn("conv2", c)?,
                    downsample,
                }
            } else {
                let v = vl.pp("conv");
                Layer::Plain {
                    w: v.get((c, c_in, k), "weight")?,
                    b: v.get(c, "bias")?,
                }
            };
            layers.push((layer, d));
        }
        let context_adapter =
            candle_nn::linear(cfg.input_size, cfg.horizon, vb.pp("context_adapter"))?;
        let vd = vb.pp("mlp_decoder").pp("layers");
        let decoder = cfg
            .decoder_layers_sizes(n_outputs)
            .into_iter()
            .map(|(j, fan_in, fan_out)| Ok(candle_nn::linear(fan_in, fan_out, vd.pp(j))?))
            .collect::<Result<_>>()?;
        Ok(Self {
            layers,
            context_adapter,
            decoder,
            encoder_activation: cfg.encoder_activation,
            decoder_activation: cfg.decoder_activation,
            dropout: if cfg.residual { cfg.dropout } else { 0.0 },
            input_size: cfg.input_size,
            horizon: cfg.horizon,
            n_outputs,
            n_hist: cfg.hist_exog_list.len(),
            n_futr: cfg.futr_exog_list.len(),
        })
    }

    /// Width of one packed input row ([`TcnConfig::packed_input_size`]).
    pub fn packed_input_size(&self) -> usize {
        self.input_size
            + self.input_size * self.n_hist
            + (self.input_size + self.horizon) * self.n_futr
    }

    /// Outputs per step Q.
    pub fn n_outputs(&self) -> usize {
        self.n_outputs
    }

    /// Splits packed rows `[B, W]` into the encoder input `[B, L, 1 + C_hist + C_futr]` and the
    /// future channels over the horizon `[B, H, C_futr]` (when there are any).
    fn unpack(&self, x: &Tensor) -> Result<(Tensor, Option<Tensor>)> {
        let (b, w) = x.dims2()?;
        let (l, h) = (self.input_size, self.horizon);
        if w != self.packed_input_size() {
            return Err(Error::invalid(
                "input",
                format!(
                    "expected {} values per window, got {w}",
                    self.packed_input_size()
                ),
            ));
        }
        let y = x.narrow(1, 0, l)?.reshape((b, l, 1))?;
        if w == l {
            return Ok((y, None));
        }
        let mut parts = vec![y];
        if self.n_hist > 0 {
            parts.push(
                x.narrow(1, l, l * self.n_hist)?
                    .reshape((b, l, self.n_hist))?,
            );
        }
        let mut futr_h = None;
        if self.n_futr > 0 {
            let futr = x
                .narrow(1, l + l * self.n_hist, (l + h) * self.n_futr)?
                .reshape((b, l + h, self.n_futr))?;
            parts.push(futr.narrow(1, 0, l)?);
            futr_h = Some(futr.narrow(1, l, h)?);
        }
        Ok((Tensor::cat(&parts, 2)?, futr_h))
    }

    /// The encoder's output `[B, L, C]` for packed rows `[B, W]` (inference: no dropout). Its
    /// step `t` depends on the inputs at steps `≤ t` only.
    pub fn encode(&self, x: &Tensor) -> Result<Tensor> {
        let (input, _) = self.unpack(x)?;
        self.encoder(&input, None)
    }

    fn encoder(&self, x: &Tensor, mut rng: Option<&mut Rng>) -> Result<Tensor> {
        let act = self.encoder_activation;
        let mut h = x.clone();
        for (layer, d) in &self.layers {
            h = match layer {
                Layer::Plain { w, b } => crate::layers::activate(act, &causal_conv(&h, w, b, *d)?)?,
                Layer::Residual {
                    conv1,
                    conv2,
                    downsample,
                } => {
                    let mut out = h.clone();
                    for (g, v, b) in [conv1, conv2] {
                        out = causal_conv(&out, &weight_norm(g, v)?, b, *d)?;
                        out = crate::layers::activate(act, &out)?;
                        if self.dropout > 0.0 {
                            if let Some(r) = rng.as_deref_mut() {
                                out = crate::layers::dropout(&out, self.dropout, r)?;
                            }
                        }
                    }
                    let skip = match downsample {
                        Some((w, b)) => causal_conv(&h, w, b, 1)?,
                        None => h.clone(),
                    };
                    (out + skip)?.relu()?
                }
            };
        }
        Ok(h)
    }

    fn forward_impl(&self, x: &Tensor, rng: Option<&mut Rng>) -> Result<Tensor> {
        let (input, futr_h) = self.unpack(x)?;
        let hidden = self.encoder(&input, rng)?; // [B, L, C]
        let (b, l, c) = hidden.dims3()?;
        let h = self.horizon;
        // Both linear maps on 2-D operands: one product each (candle's 3-D `Linear` broadcasts
        // the weight per window, whose backward is several times slower).
        let context = self
            .context_adapter
            .forward(&hidden.transpose(1, 2)?.contiguous()?.reshape((b * c, l))?)?; // [B·C, H]
        let mut z = context.reshape((b, c, h))?.transpose(1, 2)?.contiguous()?; // [B, H, C]
        if let Some(f) = futr_h {
            z = Tensor::cat(&[&z, &f], D::Minus1)?;
        }
        let mut z = z.reshape((b * h, ()))?;
        let n = self.decoder.len();
        for (i, layer) in self.decoder.iter().enumerate() {
            z = layer.forward(&z)?;
            if i + 1 < n {
                z = crate::layers::activate(self.decoder_activation, &z)?;
            }
        }
        Ok(z.reshape((b, h, self.n_outputs))?)
    }
}

impl Network for Tcn {
    fn input_size(&self) -> usize {
        self.input_size
    }
    fn packed_input_size(&self) -> usize {
        Tcn::packed_input_size(self)
    }
    fn horizon(&self) -> usize {
        self.horizon
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_impl(x, None)
    }
    fn forward_train(&self, x: &Tensor, rng: &mut Rng) -> Result<Tensor> {
        self.forward_impl(x, Some(rng))
    }
}

/// The most taps a convolution may have.
const MAX_KERNEL: usize = 1 << 10;
/// The largest dilation.
const MAX_DILATION: usize = 1 << 20;

impl Architecture for TcnConfig {
    const NAME: &'static str = "tcn";
    const SUMMARY: &'static str =
        "TCN: dilated causal convolutions, a linear context adapter and an MLP decoder (exogenous inputs)";
    const FAMILY: Family = Family::Convolutional;

    crate::window_accessors!();
    crate::exog_accessors!();
    fn validate_architecture(&self) -> Result<()> {
        let at_least_one = [
            ("input_size", self.input_size),
            ("horizon", self.horizon),
            ("kernel_size", self.kernel_size),
            ("encoder_hidden_size", self.encoder_hidden_size),
            ("decoder_hidden_size", self.decoder_hidden_size),
            ("decoder_layers", self.decoder_layers),
        ];
        for (field, v) in at_least_one {
            if v == 0 {
                return Err(Error::invalid(field, "must be at least 1"));
            }
        }
        if self.kernel_size > MAX_KERNEL {
            return Err(Error::invalid(
                "kernel_size",
                format!("at most {MAX_KERNEL} taps, got {}", self.kernel_size),
            ));
        }
        if self.dilations.is_empty() {
            return Err(Error::invalid(
                "dilations",
                "needs at least one layer (e.g. [1, 2, 4, 8, 16])",
            ));
        }
        if let Some(d) = self.dilations.iter().find(|&&d| d == 0 || d > MAX_DILATION) {
            return Err(Error::invalid(
                "dilations",
                format!("each must be 1 to {MAX_DILATION}, got {d}"),
            ));
        }
        if !(self.dropout >= 0.0 && self.dropout < 1.0) {
            return Err(Error::invalid(
                "dropout",
                format!("must be in [0, 1), got {}", self.dropout),
            ));
        }
        if self.dropout > 0.0 && !self.residual {
            return Err(Error::invalid(
                "dropout",
                "applies to residual blocks only: set `residual: true` or dropout 0",
            ));
        }
        crate::config::validate_exog_lists(&self.hist_exog_list, &self.futr_exog_list)
    }
    fn weights(&self, n_outputs: usize) -> Vec<WeightSpec> {
        let (k, c) = (self.kernel_size, self.encoder_hidden_size);
        let mut w = Vec::new();
        for i in 0..self.dilations.len() {
            let c_in = self.layer_in(i);
            let p = format!("hist_encoder.tcn.{i}");
            if self.residual {
                w.extend(conv_specs(&format!("{p}.conv1"), c_in, c, k, true));
                w.extend(conv_specs(&format!("{p}.conv2"), c, c, k, true));
                if c_in != c {
                    w.extend(conv_specs(&format!("{p}.downsample"), c_in, c, 1, false));
                }
            } else {
                w.extend(conv_specs(&format!("{p}.conv"), c_in, c, k, false));
            }
        }
        w.extend(WeightSpec::linear(
            "context_adapter",
            self.input_size,
            self.horizon,
        ));
        for (j, fan_in, fan_out) in self.decoder_layers_sizes(n_outputs) {
            w.extend(WeightSpec::linear(
                &format!("mlp_decoder.layers.{j}"),
                fan_in,
                fan_out,
            ));
        }
        w
    }
    /// The encoder's convolutions (not the `causalconv.0` aliases of the same tensors), the
    /// context adapter and the decoder.
    fn owns_weight(name: &str) -> bool {
        (name.starts_with("hist_encoder.tcn.") && !name.contains(".causalconv."))
            || name.starts_with("context_adapter.")
            || name.starts_with("mlp_decoder.layers.")
    }
    fn build(&self, n_outputs: usize, vb: VarBuilder) -> Result<Box<dyn Network>> {
        Ok(Box::new(Tcn::new(self, n_outputs, vb)?))
    }
    fn fast_path(
        &self,
        n_outputs: usize,
        weights: &[(String, Tensor)],
    ) -> Result<Option<Box<dyn FastForward>>> {
        // The plain-Rust path reads the target window only; exogenous configs keep candle.
        if !self.hist_exog_list.is_empty() || !self.futr_exog_list.is_empty() {
            return Ok(None);
        }
        Ok(Some(Box::new(fast::FastTcn::new(
            self, n_outputs, weights,
        )?)))
    }
    /// The plain layers (with or without exogenous channels) train on the native engine; the
    /// residual blocks (weight norm, dropout) keep candle's autograd.
    fn native_graph(
        &self,
        n_outputs: usize,
        layout: &crate::engine::ParamLayout,
    ) -> Result<Option<Box<dyn crate::engine::TrainGraph>>> {
        if self.residual {
            return Ok(None);
        }
        Ok(Some(Box::new(engine::TcnGraph::new(
            self, n_outputs, layout,
        )?)))
    }
    fn features(&self, n_outputs: usize) -> ArchFeatures {
        ArchFeatures {
            family: Self::FAMILY,
            depth: self.dilations.len() + self.decoder_layers,
            width: self.encoder_hidden_size as f64,
            params: self.weights(n_outputs).iter().map(WeightSpec::len).sum(),
        }
    }
}

#[cfg(test)]
mod tests;
