#![doc = include_str!("../README.md")]

pub mod calendar;
mod error;
mod forecast;
mod horizon;
pub mod metrics;
pub mod persist;
mod series;
mod traits;

pub use calendar::Calendar;
pub use error::{Error, Result};
pub use forecast::{Forecast, QuantileBand};
pub use horizon::Horizon;
pub use series::{Column, TimeSeries};
pub use traits::{Fit, FitDyn, Predict};
