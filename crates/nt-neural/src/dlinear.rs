//! DLinear (Zeng et al., 2023, "Are Transformers Effective for Time Series Forecasting?") as
//! neuralforecast 3.3 implements it: the input window is split by a moving average into a trend
//! and a remainder, and one `Linear(L → H·Q)` maps each; the forecast is their sum.
//!
//! The moving average has an odd window `k` (`moving_avg_window`), replicates the first and the
//! last value `(k − 1) / 2` times at each end and averages with stride 1, so the trend has `L`
//! values. Weight names follow neuralforecast's `state_dict`: `linear_trend.{weight,bias}` and
//! `linear_season.{weight,bias}`, so its weights import as they are.

use candle_core::{DType, Module, Tensor};
use candle_nn::{Linear, VarBuilder};
use serde::{Deserialize, Serialize};

use crate::arch::dense::AffineWindow;
use crate::arch::{ArchFeatures, Architecture, Family, FastForward, Network, WeightSpec};
use crate::config::{ScalerType, TrainConfig};
use crate::{Error, Result};

/// DLinear's training defaults (neuralforecast 3.3): 5,000 steps, lr 1e-4, no lr decay, 1,024
/// windows per step, identity scaler, MAE loss.
pub fn linear_train_defaults() -> TrainConfig {
    TrainConfig {
        max_steps: 5000,
        lr: 1e-4,
        num_lr_decays: 0,
        windows_batch_size: 1024,
        scaler: ScalerType::Identity,
        ..TrainConfig::default()
    }
}

/// Deserializes a linear model's `train` over [`linear_train_defaults`].
pub(crate) fn linear_train<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<TrainConfig, D::Error> {
    crate::arch::train_over(d, linear_train_defaults())
}

/// DLinear's hyper-parameters.
///
/// | field | default | meaning | range |
/// |---|---|---|---|
/// | `input_size` | 336 | past values L (the paper's input) | ≥ 1 |
/// | `horizon` | 96 | steps forecast H | ≥ 1 |
/// | `moving_avg_window` | 25 | trend window k | odd, ≥ 1 |
/// | `train` | [`linear_train_defaults`] | training loop | |
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DLinearConfig {
    /// Past values fed to the model (L).
    pub input_size: usize,
    /// Steps forecast (H).
    pub horizon: usize,
    /// Window of the trend's moving average (odd).
    pub moving_avg_window: usize,
    /// Training loop settings.
    #[serde(deserialize_with = "linear_train")]
    pub train: TrainConfig,
}

impl Default for DLinearConfig {
    fn default() -> Self {
        Self {
            input_size: 336,
            horizon: 96,
            moving_avg_window: 25,
            train: linear_train_defaults(),
        }
    }
}

/// The `[L, L]` matrix `A` with `trend = x·A` for a row vector `x`: column `i` averages the `k`
/// padded values centred on `i`, padding by replicating the ends.
pub(crate) fn moving_average_matrix(l: usize, k: usize) -> Vec<f64> {
    let pad = (k - 1) / 2;
    let mut a = vec![0.0f64; l * l];
    for i in 0..l {
        for p in i..i + k {
            let j = (p as isize - pad as isize).clamp(0, l as isize - 1) as usize;
            a[j * l + i] += 1.0 / k as f64;
        }
    }
    a
}

/// The DLinear network (candle, for training and the reference forward).
#[derive(Debug, Clone)]
pub struct DLinear {
    average: Tensor,
    linear_trend: Linear,
    linear_season: Linear,
    input_size: usize,
    horizon: usize,
    n_outputs: usize,
}

impl DLinear {
    /// Builds the network for `cfg` with `n_outputs` outputs per step from `vb`.
    pub fn new(cfg: &DLinearConfig, n_outputs: usize, vb: VarBuilder) -> Result<Self> {
        cfg.validate_architecture()?;
        let (l, out) = (cfg.input_size, cfg.horizon * n_outputs);
        let a: Vec<f32> = moving_average_matrix(l, cfg.moving_avg_window)
            .into_iter()
            .map(|v| v as f32)
            .collect();
        Ok(Self {
            average: Tensor::from_vec(a, (l, l), vb.device())?.to_dtype(DType::F32)?,
            linear_trend: candle_nn::linear(l, out, vb.pp("linear_trend"))?,
            linear_season: candle_nn::linear(l, out, vb.pp("linear_season"))?,
            input_size: l,
            horizon: cfg.horizon,
            n_outputs,
        })
    }
}

impl Network for DLinear {
    fn input_size(&self) -> usize {
        self.input_size
    }
    fn horizon(&self) -> usize {
        self.horizon
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let b = x.dims2()?.0;
        let trend = x.matmul(&self.average)?;
        let season = (x - &trend)?;
        let y = (self.linear_trend.forward(&trend)? + self.linear_season.forward(&season)?)?;
        Ok(y.reshape((b, self.horizon, self.n_outputs))?)
    }
}

impl Architecture for DLinearConfig {
    const NAME: &'static str = "dlinear";
    const SUMMARY: &'static str =
        "DLinear: moving-average trend + remainder, one linear map each (LTSF-Linear)";
    const FAMILY: Family = Family::Linear;

    crate::window_accessors!();
    fn validate_architecture(&self) -> Result<()> {
        if self.input_size == 0 || self.horizon == 0 {
            return Err(Error::invalid("input_size/horizon", "must be at least 1"));
        }
        if self.moving_avg_window % 2 == 0 {
            return Err(Error::invalid(
                "moving_avg_window",
                format!("must be odd, got {}", self.moving_avg_window),
            ));
        }
        Ok(())
    }
    fn weights(&self, n_outputs: usize) -> Vec<WeightSpec> {
        let (l, out) = (self.input_size, self.horizon * n_outputs);
        let mut w = Vec::from(WeightSpec::linear("linear_season", l, out));
        w.extend(WeightSpec::linear("linear_trend", l, out));
        w
    }
    fn owns_weight(name: &str) -> bool {
        name.starts_with("linear_trend.") || name.starts_with("linear_season.")
    }
    fn build(&self, n_outputs: usize, vb: VarBuilder) -> Result<Box<dyn Network>> {
        Ok(Box::new(DLinear::new(self, n_outputs, vb)?))
    }
    fn native_graph(
        &self,
        n_outputs: usize,
        layout: &crate::engine::ParamLayout,
    ) -> Result<Option<Box<dyn crate::engine::TrainGraph>>> {
        use crate::engine::linear::{LinearSum, MapInput};
        let l = self.input_size;
        let a: Vec<f32> = moving_average_matrix(l, self.moving_avg_window)
            .into_iter()
            .map(|v| v as f32)
            .collect();
        Ok(Some(Box::new(LinearSum::new(
            layout,
            l,
            self.horizon * n_outputs,
            false,
            vec![
                ("linear_season", MapInput::Remainder(a.clone())),
                ("linear_trend", MapInput::Transformed(a)),
            ],
        )?)))
    }
    /// The network is linear: `y = W_s (x − x·A) + W_t (x·A) + b = (W_s + (W_t − W_s)·Aᵀ) x + b`,
    /// folded once (in f64) into one `[H·Q, L]` matrix.
    fn fast_path(
        &self,
        n_outputs: usize,
        weights: &[(String, Tensor)],
    ) -> Result<Option<Box<dyn FastForward>>> {
        let get = |name: &str| -> Result<Vec<f32>> { named(weights, name) };
        let (ws, wt) = (get("linear_season.weight")?, get("linear_trend.weight")?);
        let (bs, bt) = (get("linear_season.bias")?, get("linear_trend.bias")?);
        let l = self.input_size;
        let out = self.horizon * n_outputs;
        let a = moving_average_matrix(l, self.moving_avg_window);
        let mut w = vec![0.0f32; out * l];
        for o in 0..out {
            for j in 0..l {
                // (W_t − W_s)·Aᵀ at [o, j] = Σ_i (W_t − W_s)[o, i] · A[j, i]
                let mut acc = f64::from(ws[o * l + j]);
                for i in 0..l {
                    let d = f64::from(wt[o * l + i]) - f64::from(ws[o * l + i]);
                    acc += d * a[j * l + i];
                }
                w[o * l + j] = acc as f32;
            }
        }
        let b = bs.iter().zip(&bt).map(|(s, t)| s + t).collect();
        Ok(Some(Box::new(AffineWindow::new(w, b, l, false))))
    }
    fn features(&self, n_outputs: usize) -> ArchFeatures {
        ArchFeatures {
            family: Self::FAMILY,
            depth: 1,
            width: 0.0,
            params: 2 * (self.input_size + 1) * self.horizon * n_outputs,
        }
    }
}

/// The values of weight `name` in `weights`, as f32.
pub(crate) fn named(weights: &[(String, Tensor)], name: &str) -> Result<Vec<f32>> {
    let t = weights
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, t)| t)
        .ok_or_else(|| Error::Checkpoint {
            path: "weights".into(),
            reason: format!("missing tensor `{name}`"),
        })?;
    Ok(t.flatten_all()?.to_dtype(DType::F32)?.to_vec1()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_average_replicates_the_ends() {
        // L = 4, k = 3: padded [x0, x0, x1, x2, x3, x3]; trend_0 = (2 x0 + x1) / 3.
        let a = moving_average_matrix(4, 3);
        let x = [1.0, 2.0, 4.0, 8.0];
        let trend: Vec<f64> = (0..4)
            .map(|i| (0..4).map(|j| x[j] * a[j * 4 + i]).sum())
            .collect();
        let expect = [4.0 / 3.0, 7.0 / 3.0, 14.0 / 3.0, 20.0 / 3.0];
        for (t, e) in trend.iter().zip(expect) {
            assert!((t - e).abs() < 1e-12, "{trend:?}");
        }
    }

    #[test]
    fn even_windows_and_train_defaults() {
        let bad = DLinearConfig {
            moving_avg_window: 4,
            ..DLinearConfig::default()
        };
        assert!(bad.validate_architecture().is_err());
        // A partial `train` keeps DLinear's own defaults for the fields it omits.
        let c: DLinearConfig = serde_json::from_str(r#"{"train": {"max_steps": 7}}"#).unwrap();
        assert_eq!(
            (c.train.max_steps, c.train.lr, c.train.num_lr_decays),
            (7, 1e-4, 0)
        );
        assert!(serde_json::from_str::<DLinearConfig>(r#"{"moving_avg": 5}"#).is_err());
    }
}
