#![doc = include_str!("../README.md")]

pub mod arch;
pub mod checkpoint;
pub mod config;
pub mod dlinear;
mod error;
mod fast;
pub mod layers;
pub mod losses;
mod model;
pub mod nbeats;
pub mod nhits;
pub mod nlinear;
pub mod optim;
mod resample;
pub mod rng;
pub mod scalers;
mod trainer;

pub use arch::{
    ArchFeatures, Architecture, CatalogEntry, Family, FastForward, Init, Network, NeuralSpec,
    Preset, WeightSpec,
};
pub use checkpoint::{load, read_manifest, ModelManifest};
pub use config::{
    Activation, Interpolation, Loss, NhitsConfig, Optimizer, Pooling, ScalerType, TrainConfig,
};
pub use dlinear::{DLinear, DLinearConfig};
pub use error::{Error, Result};
pub use fast::Precision;
pub use layers::{block_mlp, BlockMlp};
pub use model::{
    check_future, default_device, import_neuralforecast, train, FittedNBeats, FittedNhits,
    ModelMeta, NeuralModel, TrainMetrics, TrainOptions, TrainedModel, WindowInputs,
};
pub use nbeats::{nbeats_block, NBeats, NBeatsBlock, NBeatsConfig, StackType, TrendBasis};
pub use nhits::{nhits_block, ExogBatch, Nhits, NhitsBlock};
pub use nlinear::{NLinear, NLinearConfig};
pub use trainer::{LogRecord, TrainProgress, TrainReport};
