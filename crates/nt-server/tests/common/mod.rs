//! Shared test fixtures: tiny trained NHITS models, a state over an in-memory store, and a
//! one-call HTTP helper over `app(..).oneshot(..)`.
#![allow(clippy::unwrap_used, dead_code, unreachable_pub, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use nt_core::{Column, TimeSeries};
use nt_neural::{train, Loss, NeuralModel, NeuralSpec, NhitsConfig, TrainConfig, TrainOptions};
use nt_server::{AppState, MemoryStore, ServerConfig};
use tower::ServiceExt;

/// Input window of the tiny models.
pub const L: usize = 24;
/// Horizon of the tiny models.
pub const H: usize = 6;
pub const KEY: &str = "test-key-0123456789";

/// A deterministic synthetic series of `n` rows: a sine plus a trend, shifted by `phase`.
pub fn series_values(n: usize, phase: f64) -> Vec<f64> {
    (0..n)
        .map(|t| 10.0 + 3.0 * ((t as f64 + phase) / 5.0).sin() + 0.01 * t as f64)
        .collect()
}

fn spec(loss: Loss, seed: u64, hidden: usize) -> NeuralSpec {
    NeuralSpec::Nhits(NhitsConfig {
        input_size: L,
        horizon: H,
        mlp_units: vec![[hidden, hidden]; 3],
        train: TrainConfig {
            max_steps: 3,
            windows_batch_size: 16,
            seed,
            loss,
            ..TrainConfig::default()
        },
        ..NhitsConfig::default()
    })
}

/// A tiny NHITS (L=24, H=6, hidden 32, 3 training steps) on column `y`.
pub fn tiny_model(seed: u64) -> NeuralModel {
    let s = TimeSeries::from_values("y", series_values(200, 0.0));
    train(
        &s,
        &["y"],
        &spec(Loss::Mae, seed, 32),
        &TrainOptions::default(),
        &mut |_| {},
    )
    .unwrap()
    .model
}

/// A tiny quantile NHITS (levels 0.1, 0.5, 0.9) on two columns `a` and `b`.
pub fn tiny_quantile_model() -> NeuralModel {
    let n = 200;
    let ts: Vec<i64> = (0..n as i64).map(|i| i * 3_600_000).collect();
    let s = TimeSeries::new(
        ts,
        vec![
            Column {
                name: "a".into(),
                values: series_values(n, 0.0),
            },
            Column {
                name: "b".into(),
                values: series_values(n, 2.0),
            },
        ],
    )
    .unwrap();
    let loss = Loss::Quantile(vec![0.1, 0.5, 0.9]);
    train(
        &s,
        &["a", "b"],
        &spec(loss, 7, 32),
        &TrainOptions::default(),
        &mut |_| {},
    )
    .unwrap()
    .model
}

/// The config tests use: an API key, small limits so they are easy to hit.
pub fn test_config() -> ServerConfig {
    ServerConfig {
        api_key: Some(KEY.into()),
        max_body: 64 * 1024,
        max_history: 1000,
        max_batch_items: 16,
        reload_interval: Duration::from_millis(20),
        ..ServerConfig::default()
    }
}

/// A store with `m` (production, 1 version) and `q` (quantile, 2 columns, production), and a
/// second version of `m` in staging; the state over it, refreshed (ready).
pub async fn fixture(config: ServerConfig) -> (Arc<MemoryStore>, AppState) {
    let store = Arc::new(MemoryStore::new());
    store.add("m", &tiny_model(1), "production").unwrap();
    store.add("m", &tiny_model(2), "staging").unwrap();
    store
        .add("q", &tiny_quantile_model(), "production")
        .unwrap();
    let state = AppState::new(store.clone(), config).unwrap();
    state.refresh().await.unwrap();
    (store, state)
}

/// Sends one request through `app` and returns the status, the raw body and the body as JSON
/// (`Null` when it is not JSON).
pub async fn call_raw(
    app: &Router,
    method: &str,
    uri: &str,
    body: Option<Vec<u8>>,
    headers: &[(&str, &str)],
) -> (StatusCode, Vec<u8>, serde_json::Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if body.is_some()
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        req = req.header("content-type", "application/json");
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(body.map_or_else(Body::empty, Body::from)).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, bytes, json)
}

/// [`call_raw`] with a JSON body and no extra headers.
pub async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    body: Option<serde_json::Value>,
) -> (StatusCode, serde_json::Value) {
    let (s, _, j) = call_raw(
        app,
        method,
        uri,
        body.map(|b| b.to_string().into_bytes()),
        &[],
    )
    .await;
    (s, j)
}

/// A predict body with the last `n` values of the synthetic series shifted by `phase`.
pub fn values_body(n: usize, phase: f64) -> serde_json::Value {
    serde_json::json!({ "history": { "values": series_values(n, phase) } })
}

/// The raw JSON text of the `n`-th `"point":[...]` array in a response body. serde_json prints
/// the shortest text that round-trips an f64, so equal text means equal bits (parsing it back
/// with serde_json's default, not correctly rounded parser could hide a last-bit difference).
pub fn point_text(bytes: &[u8], n: usize) -> String {
    let s = std::str::from_utf8(bytes).unwrap();
    let start = s.match_indices("\"point\":[").nth(n).unwrap().0 + "\"point\":".len();
    let end = start + s[start..].find(']').unwrap();
    s[start..=end].to_string()
}
