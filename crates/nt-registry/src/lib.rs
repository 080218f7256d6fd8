#![doc = include_str!("../README.md")]

mod collection_spec;
mod collections;
pub mod embedding;
mod error;
mod events;
pub mod filter;
mod health;
pub mod index;
mod live;
mod maintenance;
mod optimizer;
pub mod profile;
mod reference;
pub mod schema;
mod search;
mod store;
mod studies;
mod traffic;
mod types;

pub use collections::{
    model_doc_id, normalize_id, BatchOutcome, CollectionInfo, CollectionSpec, Document,
    DocumentQuery, SearchHit, SearchQuery, SortBy, SortOrder, INDEX_TYPES, MODELS_COLLECTION,
};
pub use embedding::{model_embedding, ArchSummary, EMBEDDING_DIM};
pub use error::{Error, Result};
pub use filter::Filter;
pub use health::{remove_stale_sidecars, DbFileId, DbFiles, RegistryHealth};
pub use live::{
    ActualsOutcome, LiveScores, LoggedForecast, MatchedPoint, ScoreWindow, ServedForecast,
    ServedRole, DEFAULT_FORECAST_RETENTION,
};
pub use profile::{DataProfile, ReturnProfile};
pub use reference::{DriftOutcome, DriftState, DriftTransition};
pub use store::{Registry, BLOBS_DIR, DB_FILE};
pub use studies::{
    ClaimedTrial, StudyEvent, StudyInfo, TrialOutcome, TrialRecord, TrialState, MAX_LEASE,
};
pub use traffic::{fnv1a64, splitmix64, CanaryRoute, PairedPoint, ShadowRoute, TrafficPolicy};
pub use types::{
    parse_exact_ref, parse_model_ref, validate_name, Event, EventKind, GcReport, ModelSummary,
    ModelVersion, Recommendation, RegisterRequest, SimilarModel, Stage, VersionSelector,
};
