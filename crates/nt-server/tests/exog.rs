//! Models with exogenous inputs are served: the request carries each column the model reads
//! over the history rows (`history.exog`) and the future-known ones' next H values
//! (`history.future`); a missing, unknown or short column is a 422 naming it. Classical models
//! are served from a fresh history too.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use axum::http::StatusCode;
use common::*;
use nt_core::{Column, TimeSeries};
use nt_models::Forecaster;
use nt_neural::{NeuralSpec, NhitsConfig, TrainConfig, TrainOptions};
use nt_server::{app, AppState, MemoryStore};
use serde_json::json;

const N: usize = 200;

fn driver(n: usize) -> Vec<f64> {
    (0..n).map(|t| ((t * 7) % 5) as f64).collect()
}

fn temp(n: usize) -> Vec<f64> {
    (0..n).map(|t| 20.0 + (t as f64 / 9.0).cos()).collect()
}

/// A tiny NHITS reading a historic column `temp` and a future-known column `promo`.
fn exog_model() -> nt_neural::NeuralModel {
    let y: Vec<f64> = series_values(N, 0.0)
        .iter()
        .zip(driver(N))
        .map(|(v, d)| v + d)
        .collect();
    let ts: Vec<i64> = (0..N as i64).map(|i| i * 3_600_000).collect();
    let col = |name: &str, values: Vec<f64>| Column {
        name: name.into(),
        values,
    };
    let s = TimeSeries::new(
        ts,
        vec![col("y", y), col("temp", temp(N)), col("promo", driver(N))],
    )
    .unwrap();
    let spec = NeuralSpec::Nhits(NhitsConfig {
        input_size: L,
        horizon: H,
        mlp_units: vec![[16, 16]; 3],
        hist_exog_list: vec!["temp".into()],
        futr_exog_list: vec!["promo".into()],
        train: TrainConfig {
            max_steps: 3,
            windows_batch_size: 16,
            ..TrainConfig::default()
        },
        ..NhitsConfig::default()
    });
    nt_neural::train(&s, &["y"], &spec, &TrainOptions::default(), &mut |_| {})
        .unwrap()
        .model
}

async fn serve(store: MemoryStore) -> axum::Router {
    let state = AppState::new(Arc::new(store), test_config()).unwrap();
    state.refresh().await.unwrap();
    app(state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exogenous_models_are_served_from_the_columns_the_request_carries() {
    let model = exog_model();
    let store = MemoryStore::new();
    store.add("x", &model, "production").unwrap();
    let app = serve(store).await;
    let n = 40;
    let values = series_values(n, 1.0);
    let future: Vec<f64> = driver(n + H)[n..].to_vec();
    let body = json!({"history": {
        "values": values,
        "exog": {"temp": temp(n), "promo": driver(n)},
        "future": {"promo": future},
    }});
    let (s, j) = call(&app, "POST", "/v1/models/x/predict", Some(body)).await;
    assert_eq!(s, StatusCode::OK, "{j}");
    let served: Vec<f64> = serde_json::from_value(j["point"].clone()).unwrap();
    // The same forecast computed directly from the last L rows of each column.
    let mut promo = driver(n)[n - L..].to_vec();
    promo.extend_from_slice(&future);
    let t = temp(n);
    let direct = model
        .forecast(
            &nt_models::WindowInputs {
                target: &values[n - L..],
                hist: vec![&t[n - L..]],
                futr: vec![&promo],
            },
            H,
        )
        .unwrap();
    assert_eq!(served.as_slice(), direct.point_values());

    // Missing, unknown and short columns are named.
    let cases = [
        (
            json!({"values": values, "exog": {"promo": driver(n)}, "future": {"promo": driver(H)}}),
            "history.exog.temp",
        ),
        (
            json!({"values": values, "exog": {"temp": temp(n), "promo": driver(n)}}),
            "history.future.promo",
        ),
        (
            json!({"values": values, "exog": {"temp": temp(n), "promo": driver(n)}, "future": {"promo": driver(2)}}),
            "history.future.promo",
        ),
        (
            json!({"values": values, "exog": {"temp": temp(n - 1), "promo": driver(n)}, "future": {"promo": driver(H)}}),
            "history.exog.temp",
        ),
        (
            json!({"values": values, "exog": {"temp": temp(n), "promo": driver(n), "wind": temp(n)}, "future": {"promo": driver(H)}}),
            "history.exog.wind",
        ),
    ];
    for (history, field) in cases {
        let (s, j) = call(
            &app,
            "POST",
            "/v1/models/x/predict",
            Some(json!({"history": history})),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {j}");
        assert_eq!(j["error"]["field"], field, "{j}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classical_models_are_served_and_refuse_exogenous_columns() {
    let spec =
        nt_classical::ClassicalSpec::from_name("ets", &nt_classical::ClassicalOptions::default())
            .unwrap();
    let train = TimeSeries::from_values("y", series_values(N, 0.0));
    let ets = nt_models::ClassicalModel::fit(&spec, &train, "y").unwrap();
    let store = MemoryStore::new();
    store.add("ets", &ets, "production").unwrap();
    let app = serve(store).await;
    let values = series_values(60, 3.0);
    let (s, j) = call(
        &app,
        "POST",
        "/v1/models/ets/predict",
        Some(json!({"history": {"values": values}, "horizon": 12, "quantiles": [0.1, 0.9]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{j}");
    let direct = ets
        .forecast(
            &nt_models::WindowInputs {
                target: &values,
                hist: vec![],
                futr: vec![],
            },
            12,
        )
        .unwrap();
    let served: Vec<f64> = serde_json::from_value(j["point"].clone()).unwrap();
    assert_eq!(served.as_slice(), direct.point_values());
    let lower: Vec<f64> = serde_json::from_value(j["quantiles"]["0.1"].clone()).unwrap();
    assert_eq!(lower.as_slice(), direct.quantile(0.1).unwrap());
    let (s, j) = call(
        &app,
        "POST",
        "/v1/models/ets/predict",
        Some(json!({"history": {"values": values, "exog": {"temp": values}}})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{j}");
    assert_eq!(j["error"]["field"], "history.exog.temp");
}
