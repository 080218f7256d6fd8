//! ARIMA with fixed orders and AutoARIMA (the stepwise search of statsforecast's port of R's
//! `auto.arima`).

mod bfgs;
mod css;
mod fit;
mod kalman;
mod model;
mod transform;
mod unit_root;

pub use fit::{Method, Regressor};
pub use model::{ArimaConfig, FittedArima};
pub use transform::Arma;
