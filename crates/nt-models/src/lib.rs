#![doc = include_str!("../README.md")]

mod calibrated;
mod classical;
pub mod ensemble;
mod error;
mod forecaster;
pub mod hybrid;
pub mod intervals;
mod neural;
mod persist;
mod retrain;
mod spec;
mod train;

pub use calibrated::{CalibratedModel, CalibratedSpec};
pub use classical::ClassicalModel;
pub use ensemble::{Combiner, EnsembleModel, EnsembleSpec};
pub use error::{Error, Result};
pub use forecaster::{Forecaster, PathRequest, MAX_SAMPLE_PATHS};
pub use hybrid::{HybridModel, HybridSpec};
pub use intervals::conformal::Calibration;
pub use intervals::{IntervalMethod, IntervalSpec};
pub use nt_neural::{ModelMeta, Precision, TrainOptions, WindowInputs};
pub use persist::{
    from_parts, load_dir, load_shared, read_manifest, Manifest, FITTED_JSON, MODEL_JSON,
};
pub use retrain::{train_from, Retraining};
pub use spec::{catalog, hybrid_seasons, known_names, Entry, ModelSpec, NameOptions};
pub use train::{train, Trained};
