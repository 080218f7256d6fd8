//! Live scoring through the HTTP API over a real registry: forecasts answered with timestamps
//! are kept, `POST /v1/models/{name}/actuals` matches them (right after the predict: the
//! actuals route flushes the forecast log first), and `GET /v1/models/{name}/scores` and
//! `/metrics` show the scores computed by hand here.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use axum::http::StatusCode;
use common::*;
use nt_registry::{RegisterRequest, Registry, Stage};
use nt_server::{app, AppState, RegistryStore, ServerConfig};
use serde_json::{json, Value};

const HOUR: i64 = 3_600_000;

/// A registry with `m` v1 (production) and v2 (staging), target `y`.
fn registry() -> (tempfile::TempDir, Arc<Registry>) {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path().join("reg")).unwrap();
    for (seed, stage) in [(1, Stage::Production), (2, Stage::Staging)] {
        let mdir = dir.path().join(format!("model{seed}"));
        tiny_model(seed).save(&mdir).unwrap();
        let req = RegisterRequest {
            stage,
            ..RegisterRequest::default()
        };
        reg.register("m", &mdir, req).unwrap();
    }
    (dir, Arc::new(reg))
}

async fn app_over(reg: &Arc<Registry>, config: ServerConfig) -> axum::Router {
    let state = AppState::new(Arc::new(RegistryStore::new(reg.clone())), config).unwrap();
    state.refresh().await.unwrap();
    app(state)
}

fn timed_history(n: usize) -> Value {
    let ts: Vec<i64> = (0..n as i64)
        .map(|i| 1_700_000_000_000 + i * HOUR)
        .collect();
    json!({"values": series_values(n, 0.0), "timestamps": ts})
}

async fn post_actuals(app: &axum::Router, body: &str, key: Option<&str>) -> (StatusCode, Value) {
    let auth = key.map(|k| format!("Bearer {k}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    let (s, _, j) = call_raw(
        app,
        "POST",
        "/v1/models/m/actuals",
        Some(body.as_bytes().to_vec()),
        &headers,
    )
    .await;
    (s, j)
}

fn actuals_body(points: &[(i64, f64)]) -> String {
    let items: Vec<Value> = points
        .iter()
        .map(|(t, v)| json!({"timestamp": t, "value": v}))
        .collect();
    json!({"actuals": items}).to_string()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actuals_right_after_a_forecast_match_it_and_give_the_hand_computed_scores() {
    let (_dir, reg) = registry();
    let app = app_over(&reg, test_config()).await;
    let history = timed_history(30);
    let last = *series_values(30, 0.0).last().unwrap();
    let (s, j) = call(
        &app,
        "POST",
        "/v1/models/m/predict",
        Some(json!({"history": history})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{j}");
    assert_eq!(j["role"], "production");
    let point = f64s(&j["point"]);
    let steps: Vec<i64> = j["timestamps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_i64().unwrap())
        .collect();
    // Version 2 forecasts the same history through the batch route (role `explicit`).
    let (s, b) = call(
        &app,
        "POST",
        "/v1/predict/batch",
        Some(json!({"items": [{"model": "m@2", "history": history}]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let point2 = f64s(&b["results"][0]["point"]);

    // Actuals for the first three steps, posted at once: the route flushes the log first.
    let actual = [last + 0.5, last - 0.25, last + 1.0];
    let points: Vec<(i64, f64)> = steps.iter().copied().zip(actual).collect();
    let (s, out) = post_actuals(&app, &actuals_body(&points), Some(KEY)).await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(out, json!({"accepted": 3, "duplicates": 0, "matched": 6}));

    let mae = |p: &[f64]| (0..3).map(|i| (actual[i] - p[i]).abs()).sum::<f64>() / 3.0;
    let rw_mae = (0..3).map(|i| (actual[i] - last).abs()).sum::<f64>() / 3.0;
    let (s, scores) = call(&app, "GET", "/v1/models/m/scores", None).await;
    assert_eq!(s, StatusCode::OK, "{scores}");
    let versions = scores["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{scores}");
    assert_eq!(
        (
            versions[0]["version"].as_u64(),
            versions[0]["stage"].as_str()
        ),
        (Some(1), Some("production"))
    );
    let all = &versions[0]["windows"][2];
    assert_eq!(all["window"], "since_deployment");
    assert_eq!(all["n"], 3);
    let close = |a: &Value, b: f64| assert!((a.as_f64().unwrap() - b).abs() < 1e-9, "{a} vs {b}");
    close(&all["mae"], mae(&point));
    close(
        &all["rmse"],
        ((0..3).map(|i| (actual[i] - point[i]).powi(2)).sum::<f64>() / 3.0).sqrt(),
    );
    close(&all["rw_mae"], rw_mae);
    close(&all["skill"], 1.0 - mae(&point) / rw_mae);
    assert!(versions[0]["by_role"]["production"].is_object());
    let v2 = &versions[1];
    assert_eq!(v2["version"], 2);
    close(&v2["windows"][2]["mae"], mae(&point2));
    assert!(v2["by_role"]["explicit"].is_object(), "{v2}");

    let (_, body, _) = call_raw(&app, "GET", "/metrics", None, &[]).await;
    let text = String::from_utf8(body).unwrap();
    for g in [
        r#"nt_live_mae{model="m",version="1",window="since_deployment"}"#,
        r#"nt_live_skill{model="m",version="2",window="last_100"}"#,
        r#"nt_live_matched_points{model="m",version="1",window="last_1000"} 3"#,
        "nt_forecast_log_dropped_total 0",
    ] {
        assert!(text.contains(g), "{g} missing from\n{text}");
    }

    // The same actuals again: idempotent, nothing counted twice.
    let (s, out) = post_actuals(&app, &actuals_body(&points), Some(KEY)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(out, json!({"accepted": 0, "duplicates": 3, "matched": 0}));
    let (_, again) = call(&app, "GET", "/v1/models/m/scores", None).await;
    assert_eq!(again, scores);

    // Another value for a recorded timestamp, a timestamp no forecast has, NaN, text: 422.
    let field = |j: &Value| j["error"]["field"].as_str().unwrap_or_default().to_string();
    let (s, j) = post_actuals(&app, &actuals_body(&[(steps[0], last)]), Some(KEY)).await;
    assert_eq!(
        (s, field(&j)),
        (StatusCode::UNPROCESSABLE_ENTITY, "actuals[0].value".into()),
        "{j}"
    );
    let (s, j) = post_actuals(
        &app,
        &actuals_body(&[(steps[3], 1.0), (steps[5] + 1, 1.0)]),
        Some(KEY),
    )
    .await;
    assert_eq!(
        (s, field(&j)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "actuals[1].timestamp".into()
        ),
        "{j}"
    );
    let nan = format!(
        r#"{{"actuals": [{{"timestamp": {}, "value": NaN}}]}}"#,
        steps[3]
    );
    let (s, j) = post_actuals(&app, &nan, Some(KEY)).await;
    assert_eq!(
        (s, field(&j)),
        (StatusCode::UNPROCESSABLE_ENTITY, "actuals[0].value".into()),
        "{j}"
    );
    let text_value = format!(
        r#"{{"actuals": [{{"timestamp": {}, "value": "1.5"}}]}}"#,
        steps[3]
    );
    let (s, j) = post_actuals(&app, &text_value, Some(KEY)).await;
    assert_eq!(
        (s, field(&j)),
        (StatusCode::UNPROCESSABLE_ENTITY, "actuals[0].value".into()),
        "{j}"
    );
    let (s, j) = post_actuals(&app, r#"{"target": "nope", "actuals": []}"#, Some(KEY)).await;
    assert_eq!(
        (s, field(&j)),
        (StatusCode::UNPROCESSABLE_ENTITY, "target".into()),
        "{j}"
    );
    // Nothing of the refused calls was stored: step 3's actual is still new.
    let (s, out) = post_actuals(&app, &actuals_body(&[(steps[3], last)]), Some(KEY)).await;
    assert_eq!(
        (s, out["accepted"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{out}"
    );

    // The key is required; a wrong one is refused.
    let (s, _) = post_actuals(&app, &actuals_body(&points), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = post_actuals(&app, &actuals_body(&points), Some("wrong-key-0123456789")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Actuals and scores belong to a model, not a version.
    let (s, j) = call(&app, "GET", "/v1/models/m@1/scores", None).await;
    assert_eq!(
        (s, field(&j)),
        (StatusCode::UNPROCESSABLE_ENTITY, "name".into())
    );
    let (s, _) = call(&app, "GET", "/v1/models/nope/scores", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // None of this moved the registry's generation (the server would reload its models).
    let generation = reg.generation().unwrap();
    let (s, _) = post_actuals(&app, &actuals_body(&[(steps[4], last)]), Some(KEY)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(reg.generation().unwrap(), generation);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_key_actuals_are_forbidden_and_without_the_log_nothing_matches() {
    let (_dir, reg) = registry();
    let app = app_over(
        &reg,
        ServerConfig {
            api_key: None,
            ..test_config()
        },
    )
    .await;
    let (s, _) = post_actuals(&app, &actuals_body(&[(1, 1.0)]), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let app = app_over(
        &reg,
        ServerConfig {
            forecast_log: false,
            ..test_config()
        },
    )
    .await;
    let (s, j) = call(
        &app,
        "POST",
        "/v1/models/m/predict",
        Some(json!({"history": timed_history(30)})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let step = j["timestamps"][0].as_i64().unwrap();
    let (s, j) = post_actuals(&app, &actuals_body(&[(step, 1.0)]), Some(KEY)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{j}");
    assert_eq!(j["error"]["field"], "actuals[0].timestamp");
    assert_eq!(reg.live_counts("m").unwrap(), (0, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_100000_actuals_per_call() {
    let (_dir, reg) = registry();
    let app = app_over(
        &reg,
        ServerConfig {
            max_body: 16 << 20,
            ..test_config()
        },
    )
    .await;
    let points: Vec<(i64, f64)> = (0..100_001).map(|i| (i, 1.0)).collect();
    let (s, j) = post_actuals(&app, &actuals_body(&points), Some(KEY)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{j}");
    assert_eq!(j["error"]["field"], "actuals");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drift_monitor_raises_one_alarm_per_episode_and_sets_the_gauges() {
    let (_dir, reg) = registry();
    let training = series_values(200, 0.0);
    let reference = nt_eval::drift::ReferenceProfile::from_training("y", &training).unwrap();
    reg.set_reference("m", 1, &reference).unwrap();
    let state = AppState::new(Arc::new(RegistryStore::new(reg.clone())), test_config()).unwrap();
    state.refresh().await.unwrap();
    let app = app(state.clone());
    // Inputs far above anything seen in training: twelve bars, one forecast each.
    for bar in 0..12i64 {
        let values: Vec<f64> = series_values(30, 0.0).iter().map(|v| v + 50.0).collect();
        let ts: Vec<i64> = (0..30).map(|i| (bar + i) * HOUR).collect();
        let body = json!({"history": {"values": values, "timestamps": ts}});
        let (s, j) = call(&app, "POST", "/v1/models/m/predict", Some(body)).await;
        assert_eq!(s, StatusCode::OK, "{j}");
    }
    state.flush_forecast_log().await;
    let checks = nt_server::check_drift(&state).await.unwrap();
    assert_eq!(checks.len(), 1, "only m@1 is served and has a reference");
    let c = &checks[0];
    assert_eq!((c.name.as_str(), c.version), ("m", 1));
    assert!(c.raised && c.in_alarm, "{:?}", c.report);
    assert!(
        c.report.levels.psi.unwrap() >= 0.25,
        "{:?}",
        c.report.levels
    );
    // The alarm goes on: no second event.
    let again = nt_server::check_drift(&state).await.unwrap();
    assert!(again[0].in_alarm && !again[0].raised);
    let alarms = reg
        .events(Some("m"), 0)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == nt_registry::EventKind::DriftAlarm)
        .count();
    assert_eq!(alarms, 1);
    let (_, body, _) = call_raw(&app, "GET", "/metrics", None, &[]).await;
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains(r#"nt_drift_alarm{model="m",version="1"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"nt_drift_psi{model="m",version="1",check="levels"}"#),
        "{text}"
    );
}
