//! One model abstraction for every kind of model Neural Trader trains, saves, registers, serves
//! and backtests:
//!
//! - [`ModelSpec`]: one serde enum, one flat JSON shape (`{"model": "ets", ...}`,
//!   `{"model": "dlinear", ...}`), and the [`catalog`] of names the CLI's menu and help come
//!   from;
//! - [`Forecaster`]: one object-safe trait for a fitted model of any kind, held as
//!   `Arc<dyn Forecaster>` by the registry and the server;
//! - model directories for every kind ([`load_dir`], [`Forecaster::save`], [`from_parts`]);
//! - [`train`]: training or fitting any spec.
//!
//! Neural architectures live in `nt-neural` behind its `Architecture` trait; classical models
//! in `nt-classical`. This crate joins them.

mod classical;
mod error;
mod forecaster;
mod neural;
mod persist;
mod spec;
mod train;

pub use classical::ClassicalModel;
pub use error::{Error, Result};
pub use forecaster::Forecaster;
pub use nt_neural::{ModelMeta, Precision, TrainOptions, WindowInputs};
pub use persist::{
    from_parts, load_dir, load_shared, read_manifest, Manifest, FITTED_JSON, MODEL_JSON,
};
pub use spec::{catalog, known_names, Entry, ModelSpec, NameOptions};
pub use train::{train, Trained};
