#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod error;
pub mod objective;
pub mod pruner;
pub mod sampler;
pub mod space;
pub mod store;
pub mod study;

pub use error::{Error, Result};
pub use objective::{Objective, TrialContext, TrialRun, TrialRunner};
pub use pruner::Pruner;
pub use sampler::{Observation, Sampler, SamplerKind};
pub use space::{Param, Point, SearchSpace};
pub use store::{MemoryStore, RegistryStore, TrialStore};
pub use study::{best_trial, history_json, run_study, StudyConfig, StudyOutcome};
