//! N-BEATS (Oreshkin et al., 2019) as neuralforecast 3.3.0 implements it: generic (identity
//! basis) and interpretable (polynomial-type trend and Fourier seasonality bases) stacks of MLP
//! blocks over the time-reversed input, doubly residual, starting from the naive level.
//!
//! Weight names follow neuralforecast's `state_dict` (`blocks.{i}.layers.{j}.weight`); the fixed
//! bases it stores as `blocks.{i}.basis.*_basis` are recomputed here, not loaded.

use candle_core::Tensor;
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use crate::config::{Activation, TrainConfig};
use crate::rng::Rng;
use crate::{Error, Result};

/// The kind of a stack's blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StackType {
    /// Generic: theta is the backcast and the forecast themselves.
    Identity,
    /// Trend: theta are coefficients of `n_basis + 1` functions of [`TrendBasis`] kind.
    Trend,
    /// Seasonality: theta are coefficients of cosines and sines of `n_harmonics` resolution.
    Seasonality,
}

/// The functions of trend blocks, neuralforecast's `basis` (evaluated on the backcast and the
/// forecast grids separately).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrendBasis {
    /// `(t / len)^i` (default).
    #[default]
    Polynomial,
    /// Legendre polynomials on `linspace(-1, 1, len)`.
    Legendre,
    /// Chebyshev polynomials (first kind) on `linspace(-1, 1, len)`.
    Chebyshev,
    /// `max(0, x - c_i)` on `linspace(0, 1, len)` with evenly spaced change points.
    Changepoint,
    /// Hat functions centred on `linspace(0, 1, n)`.
    LinearHat,
    /// Linear splines on evenly spaced knots (the first function is zero, as in neuralforecast).
    PiecewiseLinear,
}

/// N-BEATS hyper-parameters. Defaults are neuralforecast 3.3.0's (`stacks` identity, trend,
/// seasonality with one block each; `mlp_units` 3 × [512, 512]; `n_harmonics` 2; `n_basis` 2,
/// polynomial), with `horizon` 24 and `input_size` 5 × 24.
///
/// | field | default | purpose | range |
/// |---|---|---|---|
/// | `input_size` | 120 | past values (L) | ≥ 1 |
/// | `horizon` | 24 | steps forecast (H) | ≥ 1 (≥ 2 with trend or seasonality stacks) |
/// | `stack_types` | identity, trend, seasonality | kind of each stack | ≥ 1 stack |
/// | `stacks` | `[1, 1, 1]` | blocks per stack | one per stack, each ≥ 1 |
/// | `mlp_units` | 3 × [512, 512] | hidden layers of each block's MLP (same quirk as NHITS: no activation after the first layer) | ≥ 1, chained |
/// | `n_harmonics` | 2 | seasonality resolution | ≥ 1 |
/// | `n_basis` | 2 | trend degree (`n_basis + 1` functions) | ≥ 1 |
/// | `basis` | `polynomial` | trend functions | see [`TrendBasis`] |
/// | `activation` | `ReLU` | hidden activation | |
/// | `train` | [`TrainConfig::default`] | training loop | |
///
/// [`NBeatsConfig::generic`] and [`NBeatsConfig::interpretable`] give the paper's two variants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NBeatsConfig {
    /// Past values fed to the model (L).
    pub input_size: usize,
    /// Steps forecast (H).
    pub horizon: usize,
    /// Kind of each stack.
    pub stack_types: Vec<StackType>,
    /// Blocks per stack.
    pub stacks: Vec<usize>,
    /// Hidden layers `[in, out]` of each block's MLP.
    pub mlp_units: Vec<[usize; 2]>,
    /// Harmonics resolution of seasonality stacks.
    pub n_harmonics: usize,
    /// Degree of the trend basis.
    pub n_basis: usize,
    /// Trend basis functions.
    pub basis: TrendBasis,
    /// Hidden activation.
    pub activation: Activation,
    /// Training loop settings.
    pub train: TrainConfig,
}

impl Default for NBeatsConfig {
    fn default() -> Self {
        Self {
            input_size: 120,
            horizon: 24,
            stack_types: vec![
                StackType::Identity,
                StackType::Trend,
                StackType::Seasonality,
            ],
            stacks: vec![1, 1, 1],
            mlp_units: vec![[512, 512]; 3],
            n_harmonics: 2,
            n_basis: 2,
            basis: TrendBasis::Polynomial,
            activation: Activation::ReLU,
            train: TrainConfig::default(),
        }
    }
}

impl NBeatsConfig {
    /// The generic variant: three identity stacks of one block.
    pub fn generic(input_size: usize, horizon: usize) -> Self {
        Self {
            input_size,
            horizon,
            stack_types: vec![StackType::Identity; 3],
            ..Self::default()
        }
    }

    /// The interpretable variant: a trend stack then a seasonality stack, three blocks each.
    pub fn interpretable(input_size: usize, horizon: usize) -> Self {
        Self {
            input_size,
            horizon,
            stack_types: vec![StackType::Trend, StackType::Seasonality],
            stacks: vec![3, 3],
            ..Self::default()
        }
    }

    /// Checks the architecture and then `train`.
    pub fn validate(&self) -> Result<()> {
        self.validate_architecture()?;
        self.train.validate()
    }

    /// Checks everything but `train`.
    pub fn validate_architecture(&self) -> Result<()> {
        if self.input_size == 0 || self.horizon == 0 {
            return Err(Error::invalid("input_size/horizon", "must be at least 1"));
        }
        if self.stack_types.is_empty() || self.stack_types.len() != self.stacks.len() {
            return Err(Error::invalid(
                "stacks",
                format!(
                    "needs one block count per stack type ({}), got {}",
                    self.stack_types.len(),
                    self.stacks.len()
                ),
            ));
        }
        if self.stacks.contains(&0) {
            return Err(Error::invalid(
                "stacks",
                "every stack needs at least one block",
            ));
        }
        let interpretable = self.stack_types.iter().any(|s| *s != StackType::Identity);
        if interpretable && self.horizon < 2 {
            return Err(Error::invalid(
                "horizon",
                "trend and seasonality stacks need a horizon of at least 2",
            ));
        }
        if self.n_harmonics == 0 || self.n_basis == 0 {
            return Err(Error::invalid("n_harmonics/n_basis", "must be at least 1"));
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
                    "layer {i} outputs {} units but layer {} takes {}",
                    self.mlp_units[i][1],
                    i + 1,
                    self.mlp_units[i + 1][0]
                ),
            ));
        }
        Ok(())
    }

    /// Seasonality frequencies: 0 then `harmonics, harmonics + 1, ... < harmonics·H/2`, over
    /// `harmonics` (numpy's `arange` semantics).
    fn frequencies(&self) -> Vec<f64> {
        let harm = self.n_harmonics as f64;
        let stop = harm / 2.0 * self.horizon as f64;
        let count = ((stop - harm).max(0.0)).ceil() as usize;
        std::iter::once(0.0)
            .chain((0..count).map(|k| (harm + k as f64) / harm))
            .collect()
    }

    /// Basis functions per output of a block of kind `kind` (`P`): `n_basis + 1` for trend, twice
    /// the frequencies for seasonality, `None` for identity.
    fn basis_size(&self, kind: StackType) -> Option<usize> {
        match kind {
            StackType::Identity => None,
            StackType::Trend => Some(self.n_basis + 1),
            StackType::Seasonality => Some(2 * self.frequencies().len()),
        }
    }

    /// Length of theta for a block of kind `kind` with `q` outputs per step.
    fn n_theta(&self, kind: StackType, q: usize) -> usize {
        match self.basis_size(kind) {
            None => self.input_size + q * self.horizon,
            Some(p) => (q + 1) * p,
        }
    }

    /// The `[P, len]` basis (row-major) of kind `kind` on a grid of `len` steps; `backcast`
    /// selects the sign convention of the seasonality grid.
    fn basis_matrix(&self, kind: StackType, len: usize, backcast: bool) -> Vec<f32> {
        match kind {
            StackType::Identity => Vec::new(),
            StackType::Trend => trend_basis(self.basis, len, self.n_basis + 1),
            StackType::Seasonality => {
                let freq = self.frequencies();
                let sign = if backcast { -1.0 } else { 1.0 };
                let h = self.horizon as f64;
                let mut out = Vec::with_capacity(2 * freq.len() * len);
                for trig in [f64::cos, f64::sin] {
                    for f in &freq {
                        for t in 0..len {
                            out.push(
                                trig(sign * 2.0 * std::f64::consts::PI * (t as f64 / h) * f) as f32
                            );
                        }
                    }
                }
                out
            }
        }
    }
}

fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![a];
    }
    (0..n)
        .map(|i| a + (b - a) * i as f64 / (n - 1) as f64)
        .collect()
}

/// `[n, len]` row-major trend functions, as neuralforecast's `get_basis(len, n - 1, kind).T`.
fn trend_basis(kind: TrendBasis, len: usize, n: usize) -> Vec<f32> {
    let mut out = vec![0f64; n * len];
    match kind {
        TrendBasis::Polynomial => {
            for i in 0..n {
                for t in 0..len {
                    out[i * len + t] = (t as f64 / len as f64).powi(i as i32);
                }
            }
        }
        TrendBasis::Legendre | TrendBasis::Chebyshev => {
            let x = linspace(-1.0, 1.0, len);
            for (t, &xt) in x.iter().enumerate() {
                let (mut p0, mut p1) = (1.0, xt);
                for i in 0..n {
                    let v = match i {
                        0 => 1.0,
                        1 => xt,
                        _ => {
                            let k = (i - 1) as f64;
                            let next = match kind {
                                TrendBasis::Legendre => {
                                    ((2.0 * k + 1.0) * xt * p1 - k * p0) / (k + 1.0)
                                }
                                _ => 2.0 * xt * p1 - p0,
                            };
                            p0 = p1;
                            p1 = next;
                            next
                        }
                    };
                    out[i * len + t] = v;
                }
            }
        }
        TrendBasis::Changepoint => {
            let x = linspace(0.0, 1.0, len);
            let c = linspace(0.0, 1.0, n + 1);
            for i in 0..n {
                for (t, &xt) in x.iter().enumerate() {
                    out[i * len + t] = (xt - c[i + 1]).max(0.0);
                }
            }
        }
        TrendBasis::LinearHat => {
            let x = linspace(0.0, 1.0, len);
            let centers = linspace(0.0, 1.0, n);
            let width = 1.0 / (n as f64 - 1.0);
            for i in 0..n {
                for (t, &xt) in x.iter().enumerate() {
                    out[i * len + t] = (1.0 - (xt - centers[i]).abs() / width).max(0.0);
                }
            }
        }
        TrendBasis::PiecewiseLinear => {
            let x = linspace(0.0, 1.0, len);
            let knots = linspace(0.0, 1.0, n + 1);
            for i in 1..n {
                for (t, &xt) in x.iter().enumerate() {
                    let up = (xt - knots[i - 1]) / (knots[i] - knots[i - 1]);
                    let down = (knots[i + 1] - xt) / (knots[i + 1] - knots[i]);
                    out[i * len + t] = up.min(down).max(0.0);
                }
            }
        }
    }
    out.into_iter().map(|v| v as f32).collect()
}

/// One N-BEATS block: an MLP to theta, then its basis.
#[derive(Debug, Clone)]
pub struct NBeatsBlock {
    mlp: crate::layers::BlockMlp,
    input_size: usize,
    horizon: usize,
    n_outputs: usize,
    /// `None` for identity; `(backcast [P, L], forecast [P, H], P)` otherwise.
    bases: Option<(Tensor, Tensor, usize)>,
}

/// Builds a block of kind `kind` with `n_outputs` outputs per step from `vb` (the block's prefix).
pub fn nbeats_block(
    cfg: &NBeatsConfig,
    kind: StackType,
    n_outputs: usize,
    vb: VarBuilder,
) -> Result<NBeatsBlock> {
    let dev = vb.device().clone();
    let mlp = crate::layers::block_mlp(
        cfg.input_size,
        &cfg.mlp_units,
        cfg.n_theta(kind, n_outputs),
        cfg.activation,
        0.0,
        vb,
    )?;
    let bases = match cfg.basis_size(kind) {
        None => None,
        Some(p) => {
            let dev = &dev;
            let back = Tensor::from_vec(
                cfg.basis_matrix(kind, cfg.input_size, true),
                (p, cfg.input_size),
                dev,
            )?;
            let fore = Tensor::from_vec(
                cfg.basis_matrix(kind, cfg.horizon, false),
                (p, cfg.horizon),
                dev,
            )?;
            Some((back, fore, p))
        }
    };
    Ok(NBeatsBlock {
        mlp,
        input_size: cfg.input_size,
        horizon: cfg.horizon,
        n_outputs,
        bases,
    })
}

impl NBeatsBlock {
    /// Maps a residual `[B, L]` to `(backcast [B, L], forecast [B, H, Q])`.
    pub fn forward(&self, residual: &Tensor) -> Result<(Tensor, Tensor)> {
        let b = residual.dim(0)?;
        let theta = self.mlp.forward(residual, None)?;
        let q = self.n_outputs;
        match &self.bases {
            None => {
                let backcast = theta.narrow(1, 0, self.input_size)?;
                let forecast = theta
                    .narrow(1, self.input_size, self.horizon * q)?
                    .reshape((b, self.horizon, q))?;
                Ok((backcast, forecast))
            }
            Some((back, fore, p)) => {
                let backcast = theta.narrow(1, 0, *p)?.matmul(back)?;
                // [B, P, Q] -> [B, Q, P] x [P, H] -> [B, Q, H] -> [B, H, Q]
                let coef = theta
                    .narrow(1, *p, p * q)?
                    .reshape((b, *p, q))?
                    .transpose(1, 2)?;
                let forecast = coef
                    .reshape((b * q, *p))?
                    .matmul(fore)?
                    .reshape((b, q, self.horizon))?
                    .transpose(1, 2)?;
                Ok((backcast, forecast))
            }
        }
    }
}

/// The N-BEATS network.
#[derive(Debug, Clone)]
pub struct NBeats {
    blocks: Vec<NBeatsBlock>,
    input_size: usize,
    horizon: usize,
    n_outputs: usize,
    reverse: Tensor,
}

impl NBeats {
    /// Builds the network for `cfg` with `n_outputs` outputs per step from `vb` (root prefix).
    pub fn new(cfg: &NBeatsConfig, n_outputs: usize, vb: VarBuilder) -> Result<Self> {
        cfg.validate_architecture()?;
        if n_outputs == 0 {
            return Err(Error::invalid("n_outputs", "must be at least 1"));
        }
        let mut blocks = Vec::new();
        let vbb = vb.pp("blocks");
        for (kind, &n) in cfg.stack_types.iter().zip(&cfg.stacks) {
            for _ in 0..n {
                let i = blocks.len();
                blocks.push(nbeats_block(cfg, *kind, n_outputs, vbb.pp(i))?);
            }
        }
        let rev: Vec<u32> = (0..cfg.input_size as u32).rev().collect();
        Ok(Self {
            blocks,
            input_size: cfg.input_size,
            horizon: cfg.horizon,
            n_outputs,
            reverse: Tensor::from_vec(rev, cfg.input_size, vb.device())?,
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

    /// `[B, L]` inputs (oldest first) to `[B, H, Q]` forecasts, neuralforecast's `NBEATS.forward`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, l) = x.dims2()?;
        if l != self.input_size {
            return Err(Error::invalid(
                "input",
                format!("expected {} values per window, got {l}", self.input_size),
            ));
        }
        let mut residual = x.index_select(&self.reverse, 1)?;
        let level = x.narrow(1, l - 1, 1)?.reshape((b, 1, 1))?;
        let mut forecast = level
            .broadcast_as((b, self.horizon, self.n_outputs))?
            .contiguous()?;
        for block in &self.blocks {
            let (backcast, f) = block.forward(&residual)?;
            residual = (residual - backcast)?;
            forecast = (forecast + f)?;
        }
        Ok(forecast)
    }
}

impl crate::arch::Network for NBeats {
    fn input_size(&self) -> usize {
        self.input_size
    }
    fn horizon(&self) -> usize {
        self.horizon
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        NBeats::forward(self, x)
    }
    fn forward_train(&self, x: &Tensor, _rng: &mut Rng) -> Result<Tensor> {
        NBeats::forward(self, x)
    }
}

/// Names and shapes of every trainable weight, in block/layer order.
pub fn nbeats_weight_shapes(cfg: &NBeatsConfig, n_outputs: usize) -> Vec<(String, Vec<usize>)> {
    let mut out = Vec::new();
    let mut block = 0;
    for (kind, &n) in cfg.stack_types.iter().zip(&cfg.stacks) {
        for _ in 0..n {
            out.extend(crate::layers::block_mlp_shapes(
                &format!("blocks.{block}"),
                cfg.input_size,
                &cfg.mlp_units,
                cfg.n_theta(*kind, n_outputs),
                false,
            ));
            block += 1;
        }
    }
    out
}

impl crate::arch::Architecture for NBeatsConfig {
    const NAME: &'static str = "nbeats";
    const SUMMARY: &'static str =
        "N-BEATS, generic: stacks of MLP blocks with backcast and forecast bases";
    const FAMILY: crate::arch::Family = crate::arch::Family::Mlp;

    fn for_window(input_size: usize, horizon: usize) -> Self {
        NBeatsConfig::generic(input_size, horizon)
    }
    fn presets() -> Vec<crate::arch::Preset<Self>> {
        vec![crate::arch::Preset {
            name: "nbeats-interpretable",
            summary:
                "N-BEATS, interpretable: a polynomial trend stack and a Fourier seasonality stack",
            build: NBeatsConfig::interpretable,
        }]
    }
    crate::window_accessors!();
    fn validate_architecture(&self) -> Result<()> {
        NBeatsConfig::validate_architecture(self)
    }
    fn weights(&self, n_outputs: usize) -> Vec<crate::arch::WeightSpec> {
        crate::nhits::linear_weight_specs(nbeats_weight_shapes(self, n_outputs))
    }
    /// neuralforecast's state_dict also stores the fixed bases (`blocks.N.basis.*`): ignored.
    fn owns_weight(name: &str) -> bool {
        name.starts_with("blocks.") && name.contains(".layers.")
    }
    fn build(&self, n_outputs: usize, vb: VarBuilder) -> Result<Box<dyn crate::arch::Network>> {
        Ok(Box::new(NBeats::new(self, n_outputs, vb)?))
    }
    fn native_graph(
        &self,
        n_outputs: usize,
        layout: &crate::engine::ParamLayout,
    ) -> Result<Option<Box<dyn crate::engine::TrainGraph>>> {
        use crate::engine::stack::{Backcast, Block, Forecast, Pool, ResidualStack};
        let mut blocks = Vec::new();
        for (&kind, &n) in self.stack_types.iter().zip(&self.stacks) {
            for _ in 0..n {
                let mlp = crate::engine::mlp::Mlp::new(
                    layout,
                    &format!("blocks.{}", blocks.len()),
                    self.input_size,
                    &self.mlp_units,
                    self.n_theta(kind, n_outputs),
                    self.activation,
                    0.0,
                )?;
                let (backcast, forecast) = match self.basis_size(kind) {
                    None => (Backcast::Direct, Forecast::Direct),
                    Some(p) => (
                        Backcast::Basis {
                            p,
                            basis: self.basis_matrix(kind, self.input_size, true),
                        },
                        Forecast::Interleaved {
                            p,
                            map: self.basis_matrix(kind, self.horizon, false),
                        },
                    ),
                };
                blocks.push(Block::new(Pool::Identity, mlp, backcast, forecast));
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
            params: nbeats_weight_shapes(self, n_outputs)
                .iter()
                .map(|(_, s)| s.iter().product::<usize>())
                .sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases_match_numpy_definitions() {
        // neuralforecast: get_basis(4, 2, "polynomial").T = [[1,1,1,1],[0,.25,.5,.75],[0,.0625,.25,.5625]]
        let p = trend_basis(TrendBasis::Polynomial, 4, 3);
        let e = [
            1.0, 1.0, 1.0, 1.0, 0.0, 0.25, 0.5, 0.75, 0.0, 0.0625, 0.25, 0.5625,
        ];
        assert!(p.iter().zip(e).all(|(a, b)| (a - b).abs() < 1e-7), "{p:?}");
        // Legendre P2(x) = (3x² - 1) / 2 at x = -1, 0, 1 -> 1, -0.5, 1; Chebyshev T2 = 2x² - 1.
        let l = trend_basis(TrendBasis::Legendre, 3, 3);
        assert_eq!(&l[6..], &[1.0, -0.5, 1.0]);
        let c = trend_basis(TrendBasis::Chebyshev, 3, 3);
        assert_eq!(&c[6..], &[1.0, -1.0, 1.0]);
        // Seasonality with 2 harmonics and H = 12: frequencies 0, 1, 1.5, ..., 5.5 (numpy arange(2, 12)/2).
        let cfg = NBeatsConfig {
            horizon: 12,
            ..NBeatsConfig::default()
        };
        let f = cfg.frequencies();
        assert_eq!(f.len(), 11);
        assert_eq!((f[0], f[1], f[10]), (0.0, 1.0, 5.5));
        assert_eq!(cfg.n_theta(StackType::Seasonality, 1), 2 * 2 * 11);
        assert_eq!(cfg.n_theta(StackType::Trend, 3), 4 * 3);
    }
}
