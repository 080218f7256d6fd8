#![doc = include_str!("../README.md")]

mod error;
pub mod features;
mod fill;
mod gaps;
mod load;
mod save;
pub mod scalers;
pub mod synthetic;
pub mod windows;

pub use error::{Error, Result};
pub use features::{add_features, Feature};
pub use fill::FillPolicy;
pub use gaps::{gaps, Gap};
#[cfg(feature = "parquet")]
pub use load::load_parquet;
pub use load::{
    load, load_csv, parse_timestamp, read_csv_from_str, validate_length, LoadOptions,
    ACCEPTED_FORMATS, MAX_ABS_VALUE, TIME_COLUMN_NAMES, UNIX_SECONDS_LIMIT,
};
pub use save::{write_table, OutColumn};
pub use scalers::{Scaler, ScalerKind};
pub use synthetic::{sample_market, simulate_market, MarketConfig, MarketPath, Regime};
pub use windows::{sliding_windows, sliding_windows_many, WindowSpec, Windows};
