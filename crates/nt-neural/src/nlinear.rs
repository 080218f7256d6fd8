//! NLinear (Zeng et al., 2023) as neuralforecast 3.3 implements it: subtract the window's last
//! value, one `Linear(L → H·Q)`, add the last value back. Weight names follow neuralforecast's
//! `state_dict` (`linear.{weight,bias}`).

use candle_core::{Module, Tensor};
use candle_nn::{Linear, VarBuilder};
use serde::{Deserialize, Serialize};

use crate::arch::dense::AffineWindow;
use crate::arch::{ArchFeatures, Architecture, Family, FastForward, Network, WeightSpec};
use crate::config::TrainConfig;
use crate::dlinear::{linear_train_defaults, named};
use crate::{Error, Result};

/// NLinear's hyper-parameters.
///
/// | field | default | meaning | range |
/// |---|---|---|---|
/// | `input_size` | 336 | past values L | ≥ 1 |
/// | `horizon` | 96 | steps forecast H | ≥ 1 |
/// | `train` | [`linear_train_defaults`] (as DLinear) | training loop | |
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NLinearConfig {
    /// Past values fed to the model (L).
    pub input_size: usize,
    /// Steps forecast (H).
    pub horizon: usize,
    /// Training loop settings.
    #[serde(deserialize_with = "crate::dlinear::linear_train")]
    pub train: TrainConfig,
}

impl Default for NLinearConfig {
    fn default() -> Self {
        Self {
            input_size: 336,
            horizon: 96,
            train: linear_train_defaults(),
        }
    }
}

/// The NLinear network (candle).
#[derive(Debug, Clone)]
pub struct NLinear {
    linear: Linear,
    input_size: usize,
    horizon: usize,
    n_outputs: usize,
}

impl Network for NLinear {
    fn input_size(&self) -> usize {
        self.input_size
    }
    fn horizon(&self) -> usize {
        self.horizon
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, l) = x.dims2()?;
        let last = x.narrow(1, l - 1, 1)?;
        let y = self
            .linear
            .forward(&x.broadcast_sub(&last)?)?
            .broadcast_add(&last)?;
        Ok(y.reshape((b, self.horizon, self.n_outputs))?)
    }
}

impl Architecture for NLinearConfig {
    const NAME: &'static str = "nlinear";
    const SUMMARY: &'static str =
        "NLinear: one linear map of the window relative to its last value (LTSF-Linear)";
    const FAMILY: Family = Family::Linear;

    crate::window_accessors!();
    fn validate_architecture(&self) -> Result<()> {
        if self.input_size == 0 || self.horizon == 0 {
            return Err(Error::invalid("input_size/horizon", "must be at least 1"));
        }
        Ok(())
    }
    fn weights(&self, n_outputs: usize) -> Vec<WeightSpec> {
        Vec::from(WeightSpec::linear(
            "linear",
            self.input_size,
            self.horizon * n_outputs,
        ))
    }
    fn owns_weight(name: &str) -> bool {
        name.starts_with("linear.")
    }
    fn build(&self, n_outputs: usize, vb: VarBuilder) -> Result<Box<dyn Network>> {
        self.validate_architecture()?;
        Ok(Box::new(NLinear {
            linear: candle_nn::linear(self.input_size, self.horizon * n_outputs, vb.pp("linear"))?,
            input_size: self.input_size,
            horizon: self.horizon,
            n_outputs,
        }))
    }
    fn native_graph(
        &self,
        n_outputs: usize,
        layout: &crate::engine::ParamLayout,
    ) -> Result<Option<Box<dyn crate::engine::TrainGraph>>> {
        use crate::engine::linear::{LinearSum, MapInput};
        Ok(Some(Box::new(LinearSum::new(
            layout,
            self.input_size,
            self.horizon * n_outputs,
            true,
            vec![("linear", MapInput::Window)],
        )?)))
    }
    fn fast_path(
        &self,
        _n_outputs: usize,
        weights: &[(String, Tensor)],
    ) -> Result<Option<Box<dyn FastForward>>> {
        Ok(Some(Box::new(AffineWindow::new(
            named(weights, "linear.weight")?,
            named(weights, "linear.bias")?,
            self.input_size,
            true,
        ))))
    }
    fn features(&self, n_outputs: usize) -> ArchFeatures {
        ArchFeatures {
            family: Self::FAMILY,
            depth: 1,
            width: 0.0,
            params: (self.input_size + 1) * self.horizon * n_outputs,
        }
    }
}
