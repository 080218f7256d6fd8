//! Sample paths through the server: `"paths": N` on a DeepAR version returns N seeded paths of
//! the asked horizon (same seed, same paths; another seed, others; the point is their mean),
//! bounded by `max_paths`; models without paths answer 422 naming `paths` (router.rs).
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::{call, series_values, test_config, H, L};
use nt_core::TimeSeries;
use nt_neural::deepar::DeepArConfig;
use nt_neural::{train, NeuralSpec, TrainOptions};
use nt_server::{app, AppState, MemoryStore};
use serde_json::json;

/// A tiny DeepAR (L 24, H 6, one LSTM layer of 8, 3 steps) served as `d`.
async fn deepar_app() -> axum::Router {
    let mut cfg = DeepArConfig {
        input_size: L,
        horizon: H,
        lstm_n_layers: 1,
        lstm_hidden_size: 8,
        ..DeepArConfig::default()
    };
    cfg.train.max_steps = 3;
    cfg.train.windows_batch_size = 16;
    cfg.train.val_fraction = 0.0;
    let s = TimeSeries::from_values("y", series_values(200, 0.0));
    let model = train(
        &s,
        &["y"],
        &NeuralSpec::DeepAr(cfg),
        &TrainOptions::default(),
        &mut |_| {},
    )
    .unwrap()
    .model;
    let store = std::sync::Arc::new(MemoryStore::new());
    store.add("d", &model, "production").unwrap();
    let state = AppState::new(store, test_config()).unwrap();
    state.refresh().await.unwrap();
    app(state)
}

#[tokio::test]
async fn paths_are_seeded_bounded_and_average_to_the_point() {
    let app = deepar_app().await;
    let history = json!({"values": series_values(40, 1.0)});
    let ask = |paths: serde_json::Value, seed: u64| {
        let app = app.clone();
        let body = json!({"history": history, "horizon": 4, "paths": paths, "seed": seed});
        async move { call(&app, "POST", "/v1/models/d/predict", Some(body)).await }
    };
    let (s, a) = ask(json!(12), 7).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    let paths = a["paths"].as_array().unwrap();
    assert_eq!(paths.len(), 12);
    assert!(paths.iter().all(|p| p.as_array().unwrap().len() == 4));
    // The point is the mean of the returned paths (to rounding).
    for step in 0..4 {
        let mean = paths.iter().map(|p| p[step].as_f64().unwrap()).sum::<f64>() / 12.0;
        let point = a["point"][step].as_f64().unwrap();
        assert!(
            (mean - point).abs() <= 1e-9 * point.abs().max(1.0),
            "{mean} vs {point}"
        );
    }
    let (_, b) = ask(json!(12), 7).await;
    assert_eq!(a["paths"], b["paths"], "same seed, same paths");
    let (_, c) = ask(json!(12), 8).await;
    assert_ne!(a["paths"], c["paths"], "another seed, other paths");
    // Without `paths` the answer carries none; out of 1..=max_paths (1,000) is a 422.
    let (s, plain) = call(
        &app,
        "POST",
        "/v1/models/d/predict",
        Some(json!({"history": history})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(plain.get("paths").is_none(), "{plain}");
    for bad in [json!(0), json!(1001)] {
        let (s, j) = ask(bad.clone(), 1).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {j}");
        assert_eq!(j["error"]["field"], "paths", "{j}");
    }
}
