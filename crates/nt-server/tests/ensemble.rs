//! An ensemble registered like any model is served: one payload (`ensemble.bin`) beside
//! model.json in the registry, loaded by the server, and its forecast over HTTP is the loaded
//! model's forecast of the same history.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use axum::http::StatusCode;
use common::*;
use nt_models::{ModelSpec, TrainOptions, WindowInputs};
use nt_registry::{RegisterRequest, Registry, Stage};
use nt_server::{app, AppState, RegistryStore};

#[tokio::test]
async fn a_registered_ensemble_is_served() {
    let dir = tempfile::tempdir().unwrap();
    // Naive, drift and a DLinear (input L, horizon H, 10 steps), convex weights.
    let spec: ModelSpec = serde_json::from_value(serde_json::json!({
        "model": "ensemble", "combiner": "convex", "horizon": H, "members": [
            {"model": "naive"}, {"model": "drift"},
            {"model": "dlinear", "input_size": L, "horizon": H, "train": {"max_steps": 10}}]}))
    .unwrap();
    let series = nt_core::TimeSeries::from_values("y", series_values(300, 0.0));
    let mdir = dir.path().join("ens");
    let t = nt_models::train(
        &series,
        &["y"],
        &spec,
        &TrainOptions {
            out_dir: Some(mdir.clone()),
            ..TrainOptions::default()
        },
        &mut |_| {},
    )
    .unwrap();
    let reg = Arc::new(Registry::open(dir.path().join("reg")).unwrap());
    reg.register(
        "ens",
        &mdir,
        RegisterRequest {
            stage: Stage::Production,
            ..RegisterRequest::default()
        },
    )
    .unwrap();
    let state = AppState::new(Arc::new(RegistryStore::new(reg.clone())), test_config()).unwrap();
    state.refresh().await.unwrap();
    let app = app(state);
    let (s, j) = call(&app, "GET", "/v1/models/ens", None).await;
    assert_eq!(s, StatusCode::OK, "{j}");
    let (s, j) = call(
        &app,
        "POST",
        "/v1/models/ens/predict",
        Some(values_body(30, 0.0)),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{j}");
    let values = series_values(30, 0.0);
    let want = t
        .model
        .forecast(
            &WindowInputs {
                target: &values,
                hist: Vec::new(),
                futr: Vec::new(),
            },
            H,
        )
        .unwrap();
    let got: Vec<f64> = j["point"]
        .as_array()
        .unwrap_or_else(|| panic!("{j}"))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(got.len(), H);
    for (a, b) in got.iter().zip(want.point_values()) {
        assert!(
            (a - b).abs() <= 1e-12 * b.abs().max(1.0),
            "{got:?} vs {want:?}"
        );
    }
}
