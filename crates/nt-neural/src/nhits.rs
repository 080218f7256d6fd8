//! The NHITS network (Challu et al., 2022) as neuralforecast 3.3.0 implements it.
//!
//! Weight names follow neuralforecast's `state_dict`, so its weights load directly:
//! block `i` (counted across stacks) holds `blocks.{i}.layers.{j}.weight` / `.bias`, where `j`
//! indexes PyTorch's `nn.Sequential` (activations and dropouts take indices but hold no weights).

use candle_core::{DType, Device, Tensor, D};
use candle_nn::VarBuilder;

use crate::config::{NhitsConfig, Pooling};
use crate::resample::{avg_pool_matrix, interpolation_matrix};
use crate::rng::Rng;
use crate::Result;

/// How a block pools its input.
#[derive(Debug, Clone)]
enum Pool {
    /// Kernel 1: the input as is.
    Identity,
    /// Max over windows of `k` (the last one partial).
    Max { k: usize, out: usize },
    /// Average pooling as a `[L, ceil(L/k)]` matrix.
    Avg(Tensor),
}

/// One NHITS block: pool the residual (and each exogenous channel), an MLP to `theta`, split
/// `theta` into a backcast of `input_size` values and `n_outputs × n_knots` knots, interpolate the
/// knots to the horizon.
#[derive(Debug, Clone)]
pub struct NhitsBlock {
    /// Pooling over the `input_size` steps of the target and the historic exogenous channels.
    pool: Pool,
    /// Pooling over the `input_size + horizon` steps of the future exogenous channels.
    pool_futr: Pool,
    mlp: crate::layers::BlockMlp,
    input_size: usize,
    horizon: usize,
    n_knots: usize,
    n_outputs: usize,
    n_hist: usize,
    n_futr: usize,
    /// `[n_knots, horizon]` interpolation matrix.
    interp: Tensor,
}

/// The pooling of `len` steps with kernel (and stride) `k`, ceil mode.
fn make_pool(kind: Pooling, k: usize, len: usize, device: &Device) -> Result<Pool> {
    let out = len.div_ceil(k);
    Ok(if k == 1 {
        Pool::Identity
    } else {
        match kind {
            Pooling::Max => Pool::Max { k, out },
            Pooling::Avg => Pool::Avg(Tensor::from_vec(
                avg_pool_matrix(len, k),
                (len, out),
                device,
            )?),
        }
    })
}

/// Pools the rows of `x` (`[N, len]`) over time.
fn apply_pool(pool: &Pool, x: &Tensor, len: usize) -> Result<Tensor> {
    Ok(match pool {
        Pool::Identity => x.clone(),
        Pool::Max { k, out } => {
            let n = x.dim(0)?;
            let padded_len = k * out;
            let x = if padded_len > len {
                // ceil_mode: the partial last window never wins with this padding.
                let pad = Tensor::full(f32::MIN, (n, padded_len - len), x.device())?
                    .to_dtype(x.dtype())?;
                Tensor::cat(&[x, &pad], 1)?
            } else {
                x.clone()
            };
            x.reshape((n, *out, *k))?.max(D::Minus1)?
        }
        Pool::Avg(m) => x.matmul(m)?,
    })
}

/// Pools the channels of a time-major exogenous block `[B, T, C]` over time and flattens the
/// result time-major to `[B, ceil(T/k)·C]`, as neuralforecast's block does.
fn pool_exog(pool: &Pool, x: &Tensor, len: usize) -> Result<Tensor> {
    let (b, t, c) = x.dims3()?;
    let rows = x.transpose(1, 2)?.contiguous()?.reshape((b * c, t))?;
    let pooled = apply_pool(pool, &rows, len)?;
    let out = pooled.dim(1)?;
    Ok(pooled
        .reshape((b, c, out))?
        .transpose(1, 2)?
        .contiguous()?
        .reshape((b, out * c))?)
}

/// Builds block `stack`'s architecture for a model with `n_outputs` outputs per step (1 for point
/// losses, the number of quantiles for the quantile loss), taking weights from `vb` (whose prefix
/// is the block's, e.g. `blocks.0`).
pub fn nhits_block(
    cfg: &NhitsConfig,
    stack: usize,
    n_outputs: usize,
    vb: VarBuilder,
) -> Result<NhitsBlock> {
    let device = vb.device().clone();
    let k = cfg.pool_kernel(stack);
    let pool = make_pool(cfg.pooling, k, cfg.input_size, &device)?;
    let pool_futr = make_pool(cfg.pooling, k, cfg.input_size + cfg.horizon, &device)?;
    let n_knots = cfg.n_knots(stack);
    let n_theta = cfg.input_size + n_outputs * n_knots;
    let mlp = crate::layers::block_mlp(
        cfg.mlp_input_size(stack),
        &cfg.mlp_units,
        n_theta,
        cfg.activation,
        cfg.dropout,
        vb,
    )?;
    let interp = Tensor::from_vec(
        interpolation_matrix(cfg.interpolation, n_knots, cfg.horizon),
        (n_knots, cfg.horizon),
        &device,
    )?;
    Ok(NhitsBlock {
        pool,
        pool_futr,
        mlp,
        input_size: cfg.input_size,
        horizon: cfg.horizon,
        n_knots,
        n_outputs,
        n_hist: cfg.hist_exog_list.len(),
        n_futr: cfg.futr_exog_list.len(),
        interp,
    })
}

/// The exogenous inputs of a batch: historic `[B, L, C_hist]` and future `[B, L + H, C_futr]`,
/// already scaled; `None` where the model has no such channels.
#[derive(Debug, Clone, Default)]
pub struct ExogBatch {
    /// Historic channels over the input window.
    pub hist: Option<Tensor>,
    /// Future-known channels over the input window and the horizon.
    pub futr: Option<Tensor>,
}

impl NhitsBlock {
    /// Maps a residual `[B, L]` and the batch's exogenous inputs to `(backcast [B, L],
    /// forecast [B, Q, H])`; dropout is applied only when `rng` is given (training).
    pub fn forward(
        &self,
        residual: &Tensor,
        exog: &ExogBatch,
        rng: Option<&mut Rng>,
    ) -> Result<(Tensor, Tensor)> {
        let b = residual.dim(0)?;
        let mut parts = vec![apply_pool(&self.pool, residual, self.input_size)?];
        for (n, x, pool, len, what) in [
            (
                self.n_hist,
                &exog.hist,
                &self.pool,
                self.input_size,
                "historic",
            ),
            (
                self.n_futr,
                &exog.futr,
                &self.pool_futr,
                self.input_size + self.horizon,
                "future",
            ),
        ] {
            if n == 0 {
                continue;
            }
            let x = x.as_ref().ok_or_else(|| {
                crate::Error::invalid(
                    "exog",
                    format!("the model needs {n} {what} exogenous channels"),
                )
            })?;
            parts.push(pool_exog(pool, x, len)?);
        }
        let input = if parts.len() == 1 {
            parts.swap_remove(0)
        } else {
            Tensor::cat(&parts, 1)?
        };
        let theta = self.mlp.forward(&input, rng)?;
        let backcast = theta.narrow(1, 0, self.input_size)?;
        let knots = theta
            .narrow(1, self.input_size, self.n_outputs * self.n_knots)?
            .reshape((b * self.n_outputs, self.n_knots))?;
        let forecast = knots
            .matmul(&self.interp)?
            .reshape((b, self.n_outputs, self.horizon))?;
        Ok((backcast, forecast))
    }
}

/// The NHITS network: blocks applied to the time-reversed input, each subtracting its backcast
/// from the residual and adding its forecast to a level that starts at the last input value.
#[derive(Debug, Clone)]
pub struct Nhits {
    blocks: Vec<NhitsBlock>,
    input_size: usize,
    horizon: usize,
    n_outputs: usize,
    n_hist: usize,
    n_futr: usize,
    reverse: Tensor,
}

impl Nhits {
    /// Builds the network for `cfg` with `n_outputs` outputs per step, taking weights from `vb`
    /// (root prefix; blocks live under `blocks.{i}`). Checks the architecture first.
    pub fn new(cfg: &NhitsConfig, n_outputs: usize, vb: VarBuilder) -> Result<Self> {
        cfg.validate_architecture()?;
        if n_outputs == 0 {
            return Err(crate::Error::invalid("n_outputs", "must be at least 1"));
        }
        let mut blocks = Vec::new();
        let vb_blocks = vb.pp("blocks");
        for (stack, &n_blocks) in cfg.stacks.iter().enumerate() {
            for _ in 0..n_blocks {
                let i = blocks.len();
                blocks.push(nhits_block(cfg, stack, n_outputs, vb_blocks.pp(i))?);
            }
        }
        let rev: Vec<u32> = (0..cfg.input_size as u32).rev().collect();
        let reverse = Tensor::from_vec(rev, cfg.input_size, vb.device())?;
        Ok(Self {
            blocks,
            input_size: cfg.input_size,
            horizon: cfg.horizon,
            n_outputs,
            n_hist: cfg.hist_exog_list.len(),
            n_futr: cfg.futr_exog_list.len(),
            reverse,
        })
    }

    /// Input length L.
    pub fn input_size(&self) -> usize {
        self.input_size
    }

    /// Horizon H.
    pub fn horizon(&self) -> usize {
        self.horizon
    }

    /// Outputs per step Q.
    pub fn n_outputs(&self) -> usize {
        self.n_outputs
    }

    /// The blocks, in order.
    pub fn blocks(&self) -> &[NhitsBlock] {
        &self.blocks
    }

    /// Width of one packed input row ([`NhitsConfig::packed_input_size`]): `L` without
    /// exogenous channels.
    pub fn packed_input_size(&self) -> usize {
        self.input_size
            + self.input_size * self.n_hist
            + (self.input_size + self.horizon) * self.n_futr
    }

    /// Inference: `[B, W]` packed inputs to `[B, H, Q]` forecasts, exactly neuralforecast's
    /// `NHITS.forward` with an all-ones input mask. Without exogenous channels a row is the `L`
    /// input values, oldest first; with them, [`NhitsConfig::packed_input_size`] describes the
    /// layout (target, then historic channels time-major, then future channels time-major).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_impl(x, None)
    }

    /// Training forward: like [`forward`](Self::forward) but with dropout drawn from `rng`.
    pub fn forward_train(&self, x: &Tensor, rng: &mut Rng) -> Result<Tensor> {
        self.forward_impl(x, Some(rng))
    }

    fn forward_impl(&self, x: &Tensor, mut rng: Option<&mut Rng>) -> Result<Tensor> {
        let (b, w) = x.dims2()?;
        let l = self.input_size;
        if w != self.packed_input_size() {
            return Err(crate::Error::invalid(
                "input",
                format!(
                    "expected {} values per window, got {w}",
                    self.packed_input_size()
                ),
            ));
        }
        let (y, exog) = if w == l {
            (x.clone(), ExogBatch::default())
        } else {
            let y = x.narrow(1, 0, l)?.contiguous()?;
            let hist = (self.n_hist > 0)
                .then(|| -> Result<Tensor> {
                    Ok(x.narrow(1, l, l * self.n_hist)?.contiguous()?.reshape((
                        b,
                        l,
                        self.n_hist,
                    ))?)
                })
                .transpose()?;
            let lf = l + self.horizon;
            let futr = (self.n_futr > 0)
                .then(|| -> Result<Tensor> {
                    Ok(x.narrow(1, l + l * self.n_hist, lf * self.n_futr)?
                        .contiguous()?
                        .reshape((b, lf, self.n_futr))?)
                })
                .transpose()?;
            (y, ExogBatch { hist, futr })
        };
        let x = &y;
        let mut residual = x.index_select(&self.reverse, 1)?;
        let level = x.narrow(1, l - 1, 1)?.reshape((b, 1, 1))?;
        let mut forecast = level
            .broadcast_as((b, self.n_outputs, self.horizon))?
            .contiguous()?;
        for block in &self.blocks {
            let (backcast, block_forecast) = block.forward(&residual, &exog, rng.as_deref_mut())?;
            residual = (residual - backcast)?;
            forecast = (forecast + block_forecast)?;
        }
        Ok(forecast.transpose(1, 2)?.contiguous()?)
    }
}

/// Names and shapes of every weight of an NHITS with `n_outputs` outputs per step, in a stable
/// order (block, layer, weight before bias): what a checkpoint or an import must provide.
pub fn nhits_weight_shapes(cfg: &NhitsConfig, n_outputs: usize) -> Vec<(String, Vec<usize>)> {
    let mut out = Vec::new();
    let mut block = 0;
    for (stack, &n_blocks) in cfg.stacks.iter().enumerate() {
        for _ in 0..n_blocks {
            out.extend(crate::layers::block_mlp_shapes(
                &format!("blocks.{block}"),
                cfg.mlp_input_size(stack),
                &cfg.mlp_units,
                cfg.input_size + n_outputs * cfg.n_knots(stack),
                cfg.dropout > 0.0,
            ));
            block += 1;
        }
    }
    out
}

/// Total number of weights of an NHITS with `n_outputs` outputs per step.
pub fn nhits_param_count(cfg: &NhitsConfig, n_outputs: usize) -> usize {
    nhits_weight_shapes(cfg, n_outputs)
        .iter()
        .map(|(_, s)| s.iter().product::<usize>())
        .sum()
}

/// A zero-weight NHITS on `device` (for shape checks and tests).
pub fn nhits_zeros(cfg: &NhitsConfig, n_outputs: usize, device: &Device) -> Result<Nhits> {
    Nhits::new(cfg, n_outputs, VarBuilder::zeros(DType::F32, device))
}

/// The weights of `shapes` (weight `[out, in]` before bias, as the NHITS and N-BEATS shape lists
/// give them) with `nn.Linear`'s initialization: both tensors of a layer `U(±1/sqrt(in))`.
pub(crate) fn linear_weight_specs(
    shapes: Vec<(String, Vec<usize>)>,
) -> Vec<crate::arch::WeightSpec> {
    let mut fan_in = 1;
    shapes
        .into_iter()
        .map(|(name, shape)| {
            if shape.len() >= 2 {
                fan_in = shape[1];
            }
            crate::arch::WeightSpec {
                name,
                shape,
                init: crate::arch::Init::linear(fan_in),
            }
        })
        .collect()
}

impl crate::arch::Network for Nhits {
    fn input_size(&self) -> usize {
        self.input_size
    }
    fn horizon(&self) -> usize {
        self.horizon
    }
    fn packed_input_size(&self) -> usize {
        Nhits::packed_input_size(self)
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Nhits::forward(self, x)
    }
    fn forward_train(&self, x: &Tensor, rng: &mut Rng) -> Result<Tensor> {
        Nhits::forward_train(self, x, rng)
    }
}

impl crate::arch::Architecture for NhitsConfig {
    const NAME: &'static str = "nhits";
    const SUMMARY: &'static str =
        "NHITS: MLP blocks with multi-rate pooling and interpolated forecasts (exogenous inputs)";
    const FAMILY: crate::arch::Family = crate::arch::Family::Mlp;

    crate::window_accessors!();
    crate::exog_accessors!();
    fn validate_architecture(&self) -> Result<()> {
        NhitsConfig::validate_architecture(self)
    }
    fn weights(&self, n_outputs: usize) -> Vec<crate::arch::WeightSpec> {
        linear_weight_specs(nhits_weight_shapes(self, n_outputs))
    }
    fn owns_weight(name: &str) -> bool {
        name.starts_with("blocks.") && name.contains(".layers.")
    }
    fn build(&self, n_outputs: usize, vb: VarBuilder) -> Result<Box<dyn crate::arch::Network>> {
        Ok(Box::new(Nhits::new(self, n_outputs, vb)?))
    }
    fn fast_path(
        &self,
        n_outputs: usize,
        weights: &[(String, Tensor)],
    ) -> Result<Option<Box<dyn crate::arch::FastForward>>> {
        // The plain-Rust path knows no exogenous channels.
        if self.has_exog() {
            return Ok(None);
        }
        Ok(Some(Box::new(crate::fast::FastNhits::new(
            self, n_outputs, weights,
        )?)))
    }
    fn native_graph(
        &self,
        n_outputs: usize,
        layout: &crate::engine::ParamLayout,
    ) -> Result<Option<Box<dyn crate::engine::TrainGraph>>> {
        use crate::engine::stack::{Backcast, Block, Forecast, Pool, ResidualStack};
        // The native graph takes the target window only; exogenous configs keep candle.
        if self.has_exog() {
            return Ok(None);
        }
        let mut blocks = Vec::new();
        for (stack, &n_blocks) in self.stacks.iter().enumerate() {
            let k = self.pool_kernel(stack);
            let pool = match (k, self.pooling) {
                (1, _) => Pool::Identity,
                (k, Pooling::Max) => Pool::Max(k),
                (k, Pooling::Avg) => Pool::Avg(k),
            };
            let n_knots = self.n_knots(stack);
            for _ in 0..n_blocks {
                let mlp = crate::engine::mlp::Mlp::new(
                    layout,
                    &format!("blocks.{}", blocks.len()),
                    self.mlp_input_size(stack),
                    &self.mlp_units,
                    self.input_size + n_outputs * n_knots,
                    self.activation,
                    self.dropout,
                )?;
                let map = interpolation_matrix(self.interpolation, n_knots, self.horizon);
                blocks.push(Block::new(
                    pool,
                    mlp,
                    Backcast::Direct,
                    Forecast::PerOutput { p: n_knots, map },
                ));
            }
        }
        Ok(Some(Box::new(ResidualStack::new(
            self.input_size,
            self.horizon,
            n_outputs,
            blocks,
        )?)))
    }
    fn features(&self, n_outputs: usize) -> crate::arch::ArchFeatures {
        crate::arch::ArchFeatures {
            family: Self::FAMILY,
            depth: self.stacks.iter().sum(),
            width: crate::layers::mean_width(&self.mlp_units),
            params: nhits_param_count(self, n_outputs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_count_matches_neuralforecast_default() {
        // neuralforecast 3.3.0 NHITS(h=96, input_size=480): 3,681,864 parameters
        // (blocks 1,169,912 / 1,182,224 / 1,329,728), from ../shared/anchors/README.md.
        let cfg = NhitsConfig {
            input_size: 480,
            horizon: 96,
            ..NhitsConfig::default()
        };
        assert_eq!(nhits_param_count(&cfg, 1), 3_681_864);
        assert_eq!(
            crate::layers::linear_layer_indices(3, false),
            vec![0, 1, 3, 5, 7]
        );
        assert_eq!(
            crate::layers::linear_layer_indices(2, true),
            vec![0, 1, 4, 7]
        );
    }

    #[test]
    fn zero_weights_forecast_the_last_value() {
        // With all weights zero every block outputs 0, so the forecast is the naive level.
        let cfg = NhitsConfig {
            input_size: 7,
            horizon: 5,
            mlp_units: vec![[8, 8]],
            n_pool_kernel_size: vec![2, 3, 1],
            ..NhitsConfig::default()
        };
        let net = nhits_zeros(&cfg, 2, &Device::Cpu).unwrap();
        let x = Tensor::arange(0f32, 14.0, &Device::Cpu)
            .unwrap()
            .reshape((2, 7))
            .unwrap();
        let y = net.forward(&x).unwrap();
        assert_eq!(y.dims(), &[2, 5, 2]);
        let v = y.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(v[..10].iter().all(|&a| a == 6.0), "{v:?}");
        assert!(v[10..].iter().all(|&a| a == 13.0), "{v:?}");
        assert!(net
            .forward(&Tensor::zeros((1, 6), DType::F32, &Device::Cpu).unwrap())
            .is_err());
    }
}
