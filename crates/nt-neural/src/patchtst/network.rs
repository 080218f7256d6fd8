//! The candle PatchTST network: the training forward (dropout, BatchNorm on batch statistics,
//! running statistics updated in place) and the inference forward (no dropout, BatchNorm on the
//! running statistics), which is the reference the fast CPU path is tested against.

use candle_core::{Module, Tensor, Var, D};
use candle_nn::{Linear, VarBuilder};

use super::{layer_prefix, PatchTstActivation, PatchTstConfig};
use crate::arch::{Architecture, Network};
use crate::rng::Rng;
use crate::{Error, Result};

/// RevIN's and BatchNorm's epsilon (PyTorch's and neuralforecast's default).
pub(crate) const EPS: f64 = 1e-5;
/// BatchNorm's momentum (PyTorch's default).
const MOMENTUM: f64 = 0.1;

/// `BatchNorm1d` over the channels of `[rows, D]` token rows. The running statistics are
/// variables: with a [`candle_nn::VarMap`] behind the builder they share storage with the
/// trainer's variables, so [`BatchNorm::train`]'s updates land in the saved weights.
#[derive(Debug)]
struct BatchNorm {
    weight: Tensor,
    bias: Tensor,
    running_mean: Var,
    running_var: Var,
}

impl BatchNorm {
    fn new(d: usize, vb: VarBuilder) -> Result<Self> {
        // `Var::from_tensor` keeps a variable tensor's storage (a VarMap's) and copies a plain
        // one (a loaded model's), so the updates always reach what `eval` reads.
        Ok(Self {
            weight: vb.get(d, "weight")?,
            bias: vb.get(d, "bias")?,
            running_mean: Var::from_tensor(&vb.get(d, "running_mean")?)?,
            running_var: Var::from_tensor(&vb.get(d, "running_var")?)?,
        })
    }

    /// Inference: `(x − running_mean) / sqrt(running_var + eps) · weight + bias`.
    fn eval(&self, x: &Tensor) -> Result<Tensor> {
        let scale = (&self.weight / (self.running_var.as_tensor() + EPS)?.sqrt()?)?;
        Ok(x.broadcast_sub(self.running_mean.as_tensor())?
            .broadcast_mul(&scale)?
            .broadcast_add(&self.bias)?)
    }

    /// Training: normalizes with the batch's mean and biased variance over the rows and moves
    /// the running statistics towards them (momentum 0.1; the running variance takes the
    /// unbiased batch variance, as PyTorch does).
    fn train(&self, x: &Tensor) -> Result<Tensor> {
        let n = x.dim(0)?;
        if n < 2 {
            return Err(Error::invalid(
                "windows_batch_size",
                "BatchNorm needs more than one value per channel when training",
            ));
        }
        let mean = x.mean_keepdim(0)?;
        let centred = x.broadcast_sub(&mean)?;
        let var = centred.sqr()?.mean_keepdim(0)?;
        let y = centred
            .broadcast_div(&(&var + EPS)?.sqrt()?)?
            .broadcast_mul(&self.weight)?
            .broadcast_add(&self.bias)?;
        let (mean, var) = (mean.detach().flatten_all()?, var.detach().flatten_all()?);
        let rm = ((self.running_mean.as_tensor() * (1.0 - MOMENTUM))? + (mean * MOMENTUM)?)?;
        let unbiased = n as f64 / (n as f64 - 1.0);
        let rv =
            ((self.running_var.as_tensor() * (1.0 - MOMENTUM))? + (var * (MOMENTUM * unbiased))?)?;
        self.running_mean.set(&rm)?;
        self.running_var.set(&rv)?;
        Ok(y)
    }

    fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        if training {
            self.train(x)
        } else {
            self.eval(x)
        }
    }
}

/// One `TSTEncoderLayer`.
#[derive(Debug)]
struct EncoderLayer {
    w_q: Linear,
    w_k: Linear,
    w_v: Linear,
    to_out: Linear,
    norm_attn: BatchNorm,
    ff0: Linear,
    ff3: Linear,
    norm_ffn: BatchNorm,
}

/// Dropout with probability `p` when training (`rng` given), the identity otherwise.
fn dropout(x: Tensor, p: f64, rng: Option<&mut Rng>) -> Result<Tensor> {
    match rng {
        Some(rng) if p > 0.0 => crate::layers::dropout(&x, p, rng),
        _ => Ok(x),
    }
}

/// The PatchTST network (candle, for training and the reference forward).
#[derive(Debug)]
pub struct PatchTst {
    cfg: PatchTstConfig,
    n_outputs: usize,
    patch_len: usize,
    patch_num: usize,
    /// Padded-window index of each patch value, `[patch_num · patch_len]`.
    patch_index: Tensor,
    revin_affine: Option<(Tensor, Tensor)>,
    w_p: Linear,
    w_pos: Tensor,
    layers: Vec<EncoderLayer>,
    head: Linear,
}

/// Index into the window of value `i` of patch `p`: the end padding repeats the last value.
pub(crate) fn patch_source(p: usize, i: usize, stride: usize, l: usize) -> usize {
    (p * stride + i).min(l - 1)
}

impl PatchTst {
    /// Builds the network for `cfg` with `n_outputs` outputs per step from `vb`.
    pub fn new(cfg: &PatchTstConfig, n_outputs: usize, vb: VarBuilder) -> Result<Self> {
        cfg.validate_architecture()?;
        let (d, f) = (cfg.hidden_size, cfg.linear_hidden_size);
        let (p, n, l) = (cfg.effective_patch_len(), cfg.patch_num(), cfg.input_size);
        let index: Vec<u32> = (0..n)
            .flat_map(|k| (0..p).map(move |i| patch_source(k, i, cfg.stride, l) as u32))
            .collect();
        let revin_affine = if cfg.revin && cfg.revin_affine {
            let r = vb.pp("model.revin_layer");
            Some((r.get(1, "affine_weight")?, r.get(1, "affine_bias")?))
        } else {
            None
        };
        let bb = vb.pp("model.backbone");
        let layers = (0..cfg.encoder_layers)
            .map(|i| {
                let v = vb.pp(layer_prefix(i));
                let a = v.pp("self_attn");
                Ok(EncoderLayer {
                    w_q: candle_nn::linear(d, d, a.pp("W_Q"))?,
                    w_k: candle_nn::linear(d, d, a.pp("W_K"))?,
                    w_v: candle_nn::linear(d, d, a.pp("W_V"))?,
                    to_out: candle_nn::linear(d, d, a.pp("to_out.0"))?,
                    norm_attn: BatchNorm::new(d, v.pp("norm_attn.1"))?,
                    ff0: candle_nn::linear(d, f, v.pp("ff.0"))?,
                    ff3: candle_nn::linear(f, d, v.pp("ff.3"))?,
                    norm_ffn: BatchNorm::new(d, v.pp("norm_ffn.1"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            patch_index: Tensor::from_vec(index, n * p, vb.device())?,
            revin_affine,
            w_p: candle_nn::linear(p, d, bb.pp("W_P"))?,
            w_pos: bb.get((n, d), "W_pos")?,
            layers,
            head: candle_nn::linear(d * n, cfg.horizon * n_outputs, vb.pp("model.head.linear"))?,
            cfg: cfg.clone(),
            n_outputs,
            patch_len: p,
            patch_num: n,
        })
    }

    /// Multi-head self-attention of `b` windows' token rows `src` `[b·N, D]`, all heads in one
    /// batched matmul over `[b·heads, N, head_dim]`: the output projection `[b·N, D]` and the
    /// pre-softmax scores `[b·heads, N, N]` (with `prev` added when given).
    fn attention(
        &self,
        layer: &EncoderLayer,
        src: &Tensor,
        b: usize,
        prev: Option<&Tensor>,
        mut rng: Option<&mut Rng>,
    ) -> Result<(Tensor, Tensor)> {
        let (n, h, dk) = (self.patch_num, self.cfg.n_heads, self.cfg.head_dim());
        let heads = |t: Tensor| -> Result<Tensor> {
            Ok(t.reshape((b, n, h, dk))?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((b * h, n, dk))?)
        };
        let q = heads(layer.w_q.forward(src)?)?;
        let k = heads(layer.w_k.forward(src)?)?;
        let v = heads(layer.w_v.forward(src)?)?;
        let mut scores = (q.matmul(&k.t()?.contiguous()?)? * (dk as f64).powf(-0.5))?;
        if let Some(prev) = prev {
            scores = (scores + prev)?;
        }
        let attn = candle_nn::ops::softmax(&scores, D::Minus1)?;
        let attn = dropout(attn, self.cfg.attn_dropout, rng.as_deref_mut())?;
        let out = attn
            .matmul(&v)?
            .reshape((b, h, n, dk))?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b * n, h * dk))?;
        let out = dropout(layer.to_out.forward(&out)?, self.cfg.dropout, rng)?;
        Ok((out, scores))
    }

    fn layer_forward(
        &self,
        layer: &EncoderLayer,
        src: Tensor,
        b: usize,
        prev: Option<&Tensor>,
        mut rng: Option<&mut Rng>,
    ) -> Result<(Tensor, Tensor)> {
        let (pre, training, p) = (
            self.cfg.batch_normalization,
            rng.is_some(),
            self.cfg.dropout,
        );
        let mut s = src;
        if pre {
            s = layer.norm_attn.forward(&s, training)?;
        }
        let (s2, scores) = self.attention(layer, &s, b, prev, rng.as_deref_mut())?;
        s = (s + dropout(s2, p, rng.as_deref_mut())?)?;
        if !pre {
            s = layer.norm_attn.forward(&s, training)?;
        } else {
            s = layer.norm_ffn.forward(&s, training)?;
        }
        let hidden = layer.ff0.forward(&s)?;
        let hidden = match self.cfg.activation {
            PatchTstActivation::Gelu => hidden.gelu_erf()?,
            PatchTstActivation::Relu => hidden.relu()?,
        };
        let hidden = dropout(hidden, p, rng.as_deref_mut())?;
        let s2 = layer.ff3.forward(&hidden)?;
        s = (s + dropout(s2, p, rng)?)?;
        if !pre {
            s = layer.norm_ffn.forward(&s, training)?;
        }
        Ok((s, scores))
    }

    fn forward_impl(&self, x: &Tensor, mut rng: Option<&mut Rng>) -> Result<Tensor> {
        let (b, l) = x.dims2()?;
        let (n, p, d) = (self.patch_num, self.patch_len, self.cfg.hidden_size);
        // RevIN: per-window statistics (constants for the gradient, as neuralforecast detaches
        // them; the last value is input data either way).
        let stats = if self.cfg.revin {
            let mean = x.mean_keepdim(1)?;
            let var = x.broadcast_sub(&mean)?.sqr()?.mean_keepdim(1)?;
            let stdev = (var + EPS)?.sqrt()?.detach();
            let centre = if self.cfg.revin_subtract_last {
                x.narrow(1, l - 1, 1)?
            } else {
                mean
            }
            .detach();
            Some((centre, stdev))
        } else {
            None
        };
        let mut z = match &stats {
            Some((centre, stdev)) => x.broadcast_sub(centre)?.broadcast_div(stdev)?,
            None => x.clone(),
        };
        if let Some((w, bias)) = &self.revin_affine {
            z = z.broadcast_mul(w)?.broadcast_add(bias)?;
        }
        // Patches of the end-padded window, projected, plus the positional embedding.
        let patches = z.index_select(&self.patch_index, 1)?.reshape((b * n, p))?;
        let w_pos = if self.cfg.learn_pos_embed {
            self.w_pos.clone()
        } else {
            self.w_pos.detach()
        };
        let u = self
            .w_p
            .forward(&patches)?
            .reshape((b, n, d))?
            .broadcast_add(&w_pos)?;
        let mut s = dropout(u, self.cfg.dropout, rng.as_deref_mut())?.reshape((b * n, d))?;
        let mut prev: Option<Tensor> = None;
        for layer in &self.layers {
            let carried = prev.as_ref().filter(|_| self.cfg.res_attention);
            let (next, scores) = self.layer_forward(layer, s, b, carried, rng.as_deref_mut())?;
            s = next;
            prev = Some(scores);
        }
        // Flatten head: [b, N, D] → [b, D, N] → [b, D·N] (patch index fastest).
        let flat = s
            .reshape((b, n, d))?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b, d * n))?;
        let mut y = dropout(self.head.forward(&flat)?, self.cfg.head_dropout, rng)?;
        if let Some((w, bias)) = &self.revin_affine {
            y = y.broadcast_sub(bias)?.broadcast_div(&(w + EPS * EPS)?)?;
        }
        if let Some((centre, stdev)) = &stats {
            y = y.broadcast_mul(stdev)?.broadcast_add(centre)?;
        }
        Ok(y.reshape((b, self.cfg.horizon, self.n_outputs))?)
    }
}

impl Network for PatchTst {
    fn input_size(&self) -> usize {
        self.cfg.input_size
    }
    fn horizon(&self) -> usize {
        self.cfg.horizon
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_impl(x, None)
    }
    fn forward_train(&self, x: &Tensor, rng: &mut Rng) -> Result<Tensor> {
        self.forward_impl(x, Some(rng))
    }
}
