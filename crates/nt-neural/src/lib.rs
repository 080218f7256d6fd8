#![doc = include_str!("../README.md")]

pub mod arch;
pub mod checkpoint;
pub mod config;
pub mod cpu;
pub mod deepar;
pub mod distribution;
pub mod dlinear;
pub mod engine;
mod error;
mod fast;
mod import;
pub mod layers;
pub mod losses;
mod model;
pub mod nbeats;
pub mod nhits;
pub mod nlinear;
pub mod optim;
pub mod patchtst;
pub mod recurrent;
mod resample;
pub mod rng;
pub mod rnn;
pub mod scalers;
pub mod tcn;
mod trainer;
mod training;
pub mod warm_start;

pub use arch::{
    ArchFeatures, Architecture, CatalogEntry, Family, FastForward, Init, Network, NeuralSpec,
    Preset, WeightSpec, MAX_PARAMS, MAX_SPEC_INTEGER, MAX_WINDOW,
};
pub use checkpoint::{load, read_manifest, ModelManifest};
pub use config::{
    Activation, Interpolation, Loss, NhitsConfig, Optimizer, Pooling, ScalerType, TrainConfig,
    MAX_WINDOWS_BATCH,
};
pub use dlinear::{DLinear, DLinearConfig};
pub use error::{Error, Result};
pub use fast::Precision;
pub use import::import_neuralforecast;
pub use layers::{block_mlp, BlockMlp};
pub use model::{
    check_future, default_device, FittedNBeats, FittedNhits, NeuralModel, WindowInputs,
};
pub use nbeats::{nbeats_block, NBeats, NBeatsBlock, NBeatsConfig, StackType, TrendBasis};
pub use nhits::{nhits_block, ExogBatch, Nhits, NhitsBlock};
pub use nlinear::{NLinear, NLinearConfig};
pub use patchtst::{PatchTst, PatchTstConfig};
pub use rnn::{GruConfig, LstmConfig, Rnn};
pub use tcn::{Tcn, TcnConfig};
pub use trainer::{EngineInfo, LogRecord, TrainProgress, TrainReport};
pub use training::{train, ModelMeta, TrainMetrics, TrainOptions, TrainedModel};
pub use warm_start::{OptimizerState, WarmStart, WarmStartInfo};
