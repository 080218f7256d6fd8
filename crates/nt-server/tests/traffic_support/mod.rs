//! Helpers of the traffic tests (`traffic.rs`, `traffic_logged.rs`): cheap classical models in a
//! memory store or a real registry, and one-call requests.
#![allow(clippy::unwrap_used, dead_code, unreachable_pub, missing_docs)]

use std::sync::Arc;

use axum::http::StatusCode;
use axum::Router;
use nt_registry::{RegisterRequest, Registry, Stage};
use nt_server::{app, AppState, MemoryStore, ServerConfig};
use serde_json::{json, Value};

use crate::common::*;

/// A fitted classical model (`naive`, `drift`, `mean`): microseconds per forecast.
pub fn classical(name: &str) -> nt_models::ClassicalModel {
    let spec =
        nt_classical::ClassicalSpec::from_name(name, &nt_classical::ClassicalOptions::default())
            .unwrap();
    let train = nt_core::TimeSeries::from_values("y", series_values(100, 0.0));
    nt_models::ClassicalModel::fit(&spec, &train, "y").unwrap()
}

/// `m`: v1 naive (production), v2 drift, v3 mean, v4 naive (all staging).
pub async fn memory_app(config: ServerConfig) -> (Arc<MemoryStore>, AppState, Router) {
    let store = Arc::new(MemoryStore::new());
    store.add("m", &classical("naive"), "production").unwrap();
    for kind in ["drift", "mean", "naive"] {
        store.add("m", &classical(kind), "staging").unwrap();
    }
    let state = AppState::new(store.clone(), config).unwrap();
    state.refresh().await.unwrap();
    let router = app(state.clone());
    (store, state, router)
}

pub async fn with_key(app: &Router, method: &str, uri: &str, body: Value) -> (StatusCode, Value) {
    let auth = format!("Bearer {KEY}");
    let (s, _, j) = call_raw(
        app,
        method,
        uri,
        Some(body.to_string().into_bytes()),
        &[("authorization", &auth)],
    )
    .await;
    (s, j)
}

pub fn body(extra: Value) -> Value {
    let mut b = json!({"history": {"values": series_values(30, 0.0)}, "horizon": 3});
    if let (Some(o), Some(e)) = (b.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    b
}

/// `(version, role)` of one predict answer.
pub async fn answer(app: &Router, uri: &str, extra: Value) -> (u64, String) {
    let (s, j) = call(app, "POST", uri, Some(body(extra))).await;
    assert_eq!(s, StatusCode::OK, "{j}");
    (
        j["version"].as_u64().unwrap(),
        j["role"].as_str().unwrap().to_string(),
    )
}

/// A registry with `m`: v1 naive (production), v2 drift.
pub fn registry() -> (tempfile::TempDir, Arc<Registry>) {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path().join("reg")).unwrap();
    for (i, (kind, stage)) in [("naive", Stage::Production), ("drift", Stage::None)]
        .into_iter()
        .enumerate()
    {
        let mdir = dir.path().join(format!("model{i}"));
        nt_models::Forecaster::save(&classical(kind), &mdir).unwrap();
        let req = RegisterRequest {
            stage,
            ..RegisterRequest::default()
        };
        reg.register("m", &mdir, req).unwrap();
    }
    (dir, Arc::new(reg))
}
