//! Canary and shadow forecasts over a real registry: a shadow never answers but its forecasts
//! are logged with role `shadow` (and scored live on the same origins as production's once
//! actuals arrive); canary answers are logged with role `canary`.
#![allow(clippy::unwrap_used)]

mod common;
mod traffic_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::*;
use nt_server::{app, AppState, RegistryStore};
use serde_json::{json, Value};
use traffic_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shadow_never_answers_but_its_forecasts_are_logged() {
    let (_dir, reg) = registry();
    let state = AppState::new(Arc::new(RegistryStore::new(reg.clone())), test_config()).unwrap();
    state.refresh().await.unwrap();
    let app = app(state.clone());
    let (s, j) = with_key(
        &app,
        "PUT",
        "/v1/models/m/traffic",
        json!({"shadow": {"version": 2}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{j}");
    assert_eq!(
        reg.traffic("m").unwrap().unwrap().shadow.unwrap().version,
        2
    );
    let hour = 3_600_000i64;
    let n = 20;
    for i in 0..n {
        let values = series_values(30, i as f64);
        let ts: Vec<i64> = (0..30).map(|t| (i + t) * hour).collect();
        let (s, j) = call(
            &app,
            "POST",
            "/v1/models/m/predict",
            Some(json!({"history": {"values": values, "timestamps": ts}, "horizon": 3})),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{j}");
        assert_eq!(
            (j["version"].clone(), j["role"].clone()),
            (json!(1), json!("production"))
        );
    }
    // The shadow computes after the answers; wait for its count, then for the log's writer.
    let start = Instant::now();
    loop {
        let (_, t) = call(&app, "GET", "/v1/models/m/traffic", None).await;
        if t["served"]["shadow_computed"].as_u64() == Some(n as u64) {
            assert_eq!(t["served"]["shadow_failed"], 0);
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "shadow forecasts: {t}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    state.flush_forecast_log().await;
    let shadow = reg.recent_forecasts("m", 2, 0).unwrap();
    assert_eq!(shadow.len(), n as usize);
    assert!(
        shadow
            .iter()
            .all(|f| f.forecast.role == nt_registry::ServedRole::Shadow
                && f.forecast.point.len() == 3)
    );
    // Origins: the last timestamp of each history.
    let mut origins: Vec<i64> = shadow.iter().filter_map(|f| f.forecast.origin_ms).collect();
    origins.sort_unstable();
    assert_eq!(origins, (0..n).map(|i| (i + 29) * hour).collect::<Vec<_>>());
    // The shadow drifts, production is the random walk: the logged points are the shadow's.
    let direct = nt_models::Forecaster::forecast(
        &classical("drift"),
        &nt_models::WindowInputs {
            target: &series_values(30, 0.0),
            hist: vec![],
            futr: vec![],
        },
        3,
    )
    .unwrap();
    let first = shadow
        .iter()
        .find(|f| f.forecast.origin_ms == Some(29 * hour))
        .unwrap();
    assert_eq!(first.forecast.point.as_slice(), direct.point_values());

    // Both are scored live once actuals arrive: the shadow under its own role.
    let actuals: Vec<Value> = (30..=40)
        .map(|h| json!({"timestamp": h * hour, "value": 10.0 + h as f64 * 0.01}))
        .collect();
    let (s, j) = with_key(
        &app,
        "POST",
        "/v1/models/m/actuals",
        json!({"actuals": actuals}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{j}");
    let shadow_scores = reg.live_scores("m", 2).unwrap();
    let production_scores = reg.live_scores("m", 1).unwrap();
    assert!(shadow_scores.by_role["shadow"].n > 0, "{shadow_scores:?}");
    assert!(!shadow_scores.by_role.contains_key("production"));
    assert_eq!(
        production_scores.by_role["production"].n, shadow_scores.by_role["shadow"].n,
        "the same origins and steps are scored for both"
    );
    assert!(!reg.paired_errors("m", 1, 2).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_answers_are_logged_with_their_role() {
    let (_dir, reg) = registry();
    let state = AppState::new(Arc::new(RegistryStore::new(reg.clone())), test_config()).unwrap();
    state.refresh().await.unwrap();
    let app = app(state.clone());
    let (s, j) = with_key(
        &app,
        "PUT",
        "/v1/models/m/traffic",
        json!({"canary": {"version": 2, "percent": 30}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{j}");
    let hour = 3_600_000i64;
    let mut by_canary = 0;
    for i in 0..40 {
        let ts: Vec<i64> = (0..30).map(|t| (i + t) * hour).collect();
        let (s, j) = call(
            &app,
            "POST",
            "/v1/models/m/predict",
            Some(
                json!({"history": {"values": series_values(30, i as f64), "timestamps": ts},
                        "horizon": 2, "route_key": format!("desk-{i}")}),
            ),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{j}");
        if j["role"] == "canary" {
            assert_eq!(j["version"], 2);
            by_canary += 1;
        }
    }
    assert!(by_canary > 0 && by_canary < 40, "{by_canary}");
    state.flush_forecast_log().await;
    let canary = reg.recent_forecasts("m", 2, 0).unwrap();
    assert_eq!(canary.len(), by_canary);
    assert!(canary
        .iter()
        .all(|f| f.forecast.role == nt_registry::ServedRole::Canary));
    let production = reg.recent_forecasts("m", 1, 0).unwrap();
    assert_eq!(production.len(), 40 - by_canary);
    assert!(production
        .iter()
        .all(|f| f.forecast.role == nt_registry::ServedRole::Production));
}
