//! ARIMA with fixed orders and AutoARIMA (the stepwise search of statsforecast's port of R's
//! `auto.arima`).

mod auto;
mod bfgs;
mod css;
mod fit;
mod kalman;
mod model;
mod search;
mod transform;
mod unit_root;

pub use auto::AutoArimaConfig;
pub use fit::{Method, Regressor};
pub use model::{ArimaConfig, FittedArima};
pub use search::InfoCriterion;
pub use transform::Arma;
