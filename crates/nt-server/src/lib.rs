#![doc = include_str!("../README.md")]

pub mod api;
mod batcher;
mod error;
mod health;
mod live;
mod metrics;
mod model_ref;
mod monitor;
pub mod openapi;
mod routes;
mod serve;
mod state;
mod store;
mod traffic;

pub use batcher::{forecast, BatchConfig, ComputePath};
pub use error::{ApiError, Error, ErrorBody, ErrorDetail, Result};
pub use metrics::Metrics;
pub use monitor::{check_drift, spawn_monitor, DriftCheck};
pub use routes::{app, app_with, route_rules, Access, RouteRule};
pub use serve::{check_listen_config, serve, serve_router, shutdown_signal};
pub use state::{AppState, ServerConfig};
pub use store::{
    MemoryStore, ModelStore, ModelSummary, RegistryStore, Selector, StoreHealth, VersionInfo,
};
