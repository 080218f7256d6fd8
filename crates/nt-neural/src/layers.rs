//! Shared candle building blocks: neuralforecast's block MLP (used by NHITS and N-BEATS; the
//! dense stack later architectures reuse), activations and dropout. Their plain-Rust inference
//! twin is `crate::arch::dense`.

use candle_core::{Module, Tensor};
use candle_nn::{Linear, VarBuilder};

use crate::config::Activation;
use crate::rng::Rng;
use crate::Result;

/// Indices of the `nn.Linear` layers inside neuralforecast's block `nn.Sequential`: the input
/// layer, one per hidden `[a, b]` pair (after its activation and, with dropout, its dropout),
/// then the output layer. They name the weights (`layers.{j}.weight`).
pub(crate) fn linear_layer_indices(n_hidden: usize, dropout: bool) -> Vec<usize> {
    let per_hidden = if dropout { 3 } else { 2 };
    let mut idx = vec![0];
    for h in 0..n_hidden {
        idx.push(1 + h * per_hidden);
    }
    idx.push(1 + n_hidden * per_hidden);
    idx
}

/// `(fan_in, fan_out)` of each linear layer of a block MLP from `n_in` through `mlp_units` to
/// `n_out`.
pub(crate) fn block_mlp_sizes(
    n_in: usize,
    mlp_units: &[[usize; 2]],
    n_out: usize,
) -> Vec<(usize, usize)> {
    let mut sizes = vec![(n_in, mlp_units[0][0])];
    sizes.extend(mlp_units.iter().map(|u| (u[0], u[1])));
    sizes.push((mlp_units[mlp_units.len() - 1][1], n_out));
    sizes
}

/// `(nn.Sequential index, fan_in, fan_out)` of each linear layer of neuralforecast's `MLP`
/// decoder (`common/_modules.py`: Linear, activation, dropout per hidden layer, so the linear
/// layers sit at indices 0, 3, 6, ...) from `n_in` through `layers − 1` hidden layers of
/// `hidden` to `n_out`; one layer is a single linear map. TCN's and LSTM/GRU's decoders.
pub(crate) fn nf_mlp_sizes(
    n_in: usize,
    hidden: usize,
    layers: usize,
    n_out: usize,
) -> Vec<(usize, usize, usize)> {
    if layers <= 1 {
        return vec![(0, n_in, n_out)];
    }
    (0..layers)
        .map(|i| {
            let fan_in = if i == 0 { n_in } else { hidden };
            let fan_out = if i + 1 == layers { n_out } else { hidden };
            (3 * i, fan_in, fan_out)
        })
        .collect()
}

/// Names and shapes (weight `[out, in]` before bias) of a block MLP under `prefix`
/// (`blocks.3`): `prefix.layers.{j}.weight` / `.bias`.
pub(crate) fn block_mlp_shapes(
    prefix: &str,
    n_in: usize,
    mlp_units: &[[usize; 2]],
    n_out: usize,
    dropout: bool,
) -> Vec<(String, Vec<usize>)> {
    let idx = linear_layer_indices(mlp_units.len(), dropout);
    let mut out = Vec::new();
    for (j, (fan_in, fan_out)) in idx.iter().zip(block_mlp_sizes(n_in, mlp_units, n_out)) {
        out.push((format!("{prefix}.layers.{j}.weight"), vec![fan_out, fan_in]));
        out.push((format!("{prefix}.layers.{j}.bias"), vec![fan_out]));
    }
    out
}

/// Mean hidden width of a block MLP's `mlp_units` (0 without hidden layers): what the
/// registry embedding describes.
pub(crate) fn mean_width(mlp_units: &[[usize; 2]]) -> f64 {
    let total: usize = mlp_units.iter().map(|u| u[1]).sum();
    total as f64 / mlp_units.len().max(1) as f64
}

/// neuralforecast's block MLP: `Linear(in, u[0][0])`, then for each hidden `[a, b]`
/// `Linear(a, b)` + activation (+ dropout), then `Linear(last, out)`. There is no activation
/// after the first layer (as in neuralforecast's NHITS and N-BEATS).
#[derive(Debug, Clone)]
pub struct BlockMlp {
    layers: Vec<Linear>,
    activation: Activation,
    dropout: f64,
}

/// Builds a [`BlockMlp`] from `n_in` through `mlp_units` to `n_out`, its weights under
/// `vb.pp("layers")` at the `nn.Sequential` indices.
pub fn block_mlp(
    n_in: usize,
    mlp_units: &[[usize; 2]],
    n_out: usize,
    activation: Activation,
    dropout: f64,
    vb: VarBuilder,
) -> Result<BlockMlp> {
    let idx = linear_layer_indices(mlp_units.len(), dropout > 0.0);
    let vl = vb.pp("layers");
    let layers = idx
        .iter()
        .zip(block_mlp_sizes(n_in, mlp_units, n_out))
        .map(|(j, (fan_in, fan_out))| Ok(candle_nn::linear(fan_in, fan_out, vl.pp(j))?))
        .collect::<Result<_>>()?;
    Ok(BlockMlp {
        layers,
        activation,
        dropout,
    })
}

impl BlockMlp {
    /// `[B, in]` to `[B, out]`; dropout is drawn from `rng` only when one is given (training).
    pub fn forward(&self, x: &Tensor, mut rng: Option<&mut Rng>) -> Result<Tensor> {
        let n = self.layers.len();
        let mut h = self.layers[0].forward(x)?;
        for layer in &self.layers[1..n - 1] {
            h = activate(self.activation, &layer.forward(&h)?)?;
            if self.dropout > 0.0 {
                if let Some(r) = rng.as_deref_mut() {
                    h = dropout(&h, self.dropout, r)?;
                }
            }
        }
        Ok(self.layers[n - 1].forward(&h)?)
    }
}

/// The hidden activation.
pub(crate) fn activate(a: Activation, x: &Tensor) -> Result<Tensor> {
    Ok(match a {
        Activation::ReLU => x.relu()?,
        Activation::Tanh => x.tanh()?,
        Activation::Sigmoid => candle_nn::ops::sigmoid(x)?,
        // softplus(x) = relu(x) + ln(1 + e^-|x|), stable for large |x|.
        Activation::Softplus => (x.relu()? + (x.abs()?.neg()?.exp()? + 1.0)?.log()?)?,
        Activation::SELU => (x.elu(1.673_263_242_354_377_3)? * 1.050_700_987_355_480_5)?,
        Activation::LeakyReLU => candle_nn::ops::leaky_relu(x, 0.01)?,
    })
}

/// Inverted dropout with keep-scale `1/(1-p)`, the mask drawn from `rng`.
pub(crate) fn dropout(x: &Tensor, p: f64, rng: &mut Rng) -> Result<Tensor> {
    let n = x.elem_count();
    let keep = (1.0 / (1.0 - p)) as f32;
    let mask: Vec<f32> = (0..n)
        .map(|_| if rng.next_f64() < p { 0.0 } else { keep })
        .collect();
    let mask = Tensor::from_vec(mask, x.shape(), x.device())?.to_dtype(x.dtype())?;
    Ok(x.mul(&mask)?)
}
