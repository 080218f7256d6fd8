//! Router tests: every route and every error status, through `app(state).oneshot(..)`.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use common::*;
use nt_server::{app, app_with, AppState, ModelStore, ServerConfig};
use serde_json::json;

fn field(j: &serde_json::Value) -> &str {
    j["error"]["field"].as_str().unwrap_or("")
}

fn code(j: &serde_json::Value) -> &str {
    j["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn health_ready_and_listings() {
    let (_, state) = fixture(test_config()).await;
    let app = app(state);
    let (s, j) = call(&app, "GET", "/health", None).await;
    assert_eq!((s, j["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (s, j) = call(&app, "GET", "/ready", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(j["ready"], json!(true));
    assert_eq!(j["models"], json!(["m@1", "q@1"]));
    let (s, j) = call(&app, "GET", "/v1/models", None).await;
    assert_eq!(s, StatusCode::OK);
    let models = j["models"].as_array().unwrap();
    assert_eq!(models.len(), 2);
    assert_eq!(models[0]["name"], "m");
    assert_eq!(models[0]["versions"], 2);
    assert_eq!(models[0]["production"], 1);
    assert_eq!(models[0]["serving"], 1);
    let (s, j) = call(&app, "GET", "/v1/models/m", None).await;
    assert_eq!(s, StatusCode::OK);
    let versions = j["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1]["stage"], "staging");
    assert_eq!(versions[0]["input_size"], L);
    assert_eq!(versions[0]["horizon"], H);
    assert_eq!(versions[0]["spec"]["model"], "nhits");
    let (s, j) = call(&app, "GET", "/v1/models/nope", None).await;
    assert_eq!((s, code(&j)), (StatusCode::NOT_FOUND, "not_found"));
}

#[tokio::test]
async fn not_ready_before_the_initial_load() {
    let store = std::sync::Arc::new(nt_server::MemoryStore::new());
    let state = AppState::new(store, test_config()).unwrap();
    let (s, j) = call(&app(state), "GET", "/ready", None).await;
    assert_eq!(
        (s, &j["ready"]),
        (StatusCode::SERVICE_UNAVAILABLE, &json!(false))
    );
}

#[tokio::test]
async fn predict_answers_the_production_version_and_matches_the_model() {
    let (store, state) = fixture(test_config()).await;
    let app = app(state);
    let (s, bytes, j) = call_raw(
        &app,
        "POST",
        "/v1/models/m/predict",
        Some(values_body(100, 0.0).to_string().into_bytes()),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{j}");
    assert_eq!(
        (
            j["model"].as_str(),
            j["version"].as_u64(),
            j["horizon"].as_u64()
        ),
        (Some("m"), Some(1), Some(H as u64))
    );
    let point: Vec<f64> = serde_json::from_value(j["point"].clone()).unwrap();
    // The same model computed directly on the last L values: the server adds nothing.
    let model = store.load("m", 1).unwrap();
    let v = series_values(100, 0.0);
    let direct = model
        .as_neural()
        .unwrap()
        .forecast_windows(&[&v[100 - L..]], H)
        .unwrap();
    assert_eq!(
        point_text(&bytes, 0),
        serde_json::to_string(direct[0].point_values()).unwrap()
    );
    assert!(j.get("quantiles").is_none() && j.get("timestamps").is_none());

    // A shorter horizon is the prefix of the full one.
    let mut body = values_body(100, 0.0);
    body["horizon"] = json!(2);
    let (s, j) = call(&app, "POST", "/v1/models/m/predict", Some(body)).await;
    assert_eq!(s, StatusCode::OK);
    let short: Vec<f64> = serde_json::from_value(j["point"].clone()).unwrap();
    assert_eq!(short, point[..2]);

    // A named version.
    let mut body = values_body(30, 0.0);
    body["version"] = json!(2);
    let (s, j) = call(&app, "POST", "/v1/models/m/predict", Some(body)).await;
    assert_eq!((s, j["version"].as_u64()), (StatusCode::OK, Some(2)));
    let mut body = values_body(30, 0.0);
    body["version"] = json!(9);
    let (s, j) = call(&app, "POST", "/v1/models/m/predict", Some(body)).await;
    assert_eq!((s, code(&j)), (StatusCode::NOT_FOUND, "not_found"));
    let (s, _) = call(
        &app,
        "POST",
        "/v1/models/nope/predict",
        Some(values_body(30, 0.0)),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn predict_rejects_bad_inputs_naming_the_field() {
    let (_, state) = fixture(test_config()).await;
    let app = app(state);
    let predict = |body: serde_json::Value| {
        let app = app.clone();
        async move { call(&app, "POST", "/v1/models/m/predict", Some(body)).await }
    };
    // Too short for the input window (24).
    let (s, j) = predict(values_body(10, 0.0)).await;
    assert_eq!(
        (s, field(&j)),
        (StatusCode::UNPROCESSABLE_ENTITY, "history.values")
    );
    // Longer than max_history (1000).
    let (s, j) = predict(values_body(1001, 0.0)).await;
    assert_eq!(
        (s, field(&j)),
        (StatusCode::UNPROCESSABLE_ENTITY, "history.values")
    );
    // Horizon out of 1..=6.
    for h in [0, 7] {
        let mut b = values_body(30, 0.0);
        b["horizon"] = json!(h);
        let (s, j) = predict(b).await;
        assert_eq!(
            (s, field(&j)),
            (StatusCode::UNPROCESSABLE_ENTITY, "horizon")
        );
    }
    // Beyond f32's range (the network computes in f32): named with its index.
    let mut b = values_body(30, 0.0);
    b["history"]["values"][5] = json!(1e39);
    let (s, j) = predict(b).await;
    assert_eq!(
        (s, field(&j)),
        (StatusCode::UNPROCESSABLE_ENTITY, "history.values[5]")
    );
    // null, a string: type errors with their path.
    for bad in [json!(null), json!("1.0"), json!([1.0]), json!({})] {
        let mut b = values_body(30, 0.0);
        b["history"]["values"][3] = bad;
        let (s, j) = predict(b).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{j}");
        assert!(
            j["error"]["message"]
                .as_str()
                .unwrap()
                .contains("history.values[3]"),
            "{j}"
        );
    }
    // Both or neither of values/columns.
    let (s, j) = predict(json!({"history": {"values": [1.0], "columns": {"y": [1.0]}}})).await;
    assert_eq!(
        (s, field(&j)),
        (StatusCode::UNPROCESSABLE_ENTITY, "history")
    );
    let (s, j) = predict(json!({"history": {}})).await;
    assert_eq!(
        (s, field(&j)),
        (StatusCode::UNPROCESSABLE_ENTITY, "history")
    );
    // Quantiles of a model that has none.
    let mut b = values_body(30, 0.0);
    b["quantiles"] = json!([0.5]);
    let (s, j) = predict(b).await;
    assert_eq!(
        (s, field(&j)),
        (StatusCode::UNPROCESSABLE_ENTITY, "quantiles[0]")
    );
    // Sample paths of a model that draws none (NHITS).
    let mut b = values_body(30, 0.0);
    b["paths"] = json!(10);
    let (s, j) = predict(b).await;
    assert_eq!((s, field(&j)), (StatusCode::UNPROCESSABLE_ENTITY, "paths"));
    // Unknown fields, wrong types at the top.
    let (s, _) = predict(json!({"history": {"values": [1.0]}, "horizn": 3})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) =
        predict(json!({"history": {"values": series_values(30, 0.0)}, "horizon": -1})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // Not JSON at all, NaN tokens, numbers overflowing f64: 400 (syntax).
    for raw in [
        "{",
        "not json",
        r#"{"history":{"values":[NaN]}}"#,
        r#"{"history":{"values":[1e400]}}"#,
    ] {
        let (s, _, j) = call_raw(
            &app,
            "POST",
            "/v1/models/m/predict",
            Some(raw.as_bytes().to_vec()),
            &[],
        )
        .await;
        assert!(
            s == StatusCode::BAD_REQUEST || s == StatusCode::UNPROCESSABLE_ENTITY,
            "{raw}: {s}"
        );
        assert_eq!(code(&j), "malformed_body");
    }
    // Another content type: 415.
    let (s, _, j) = call_raw(
        &app,
        "POST",
        "/v1/models/m/predict",
        Some(b"{}".to_vec()),
        &[("content-type", "text/plain")],
    )
    .await;
    assert_eq!(
        (s, code(&j)),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    // Larger than max_body (64 KiB): 413 with a JSON body.
    let big = format!(
        r#"{{"history":{{"values":[{}]}}}}"#,
        vec!["1.0"; 40_000].join(",")
    );
    let (s, _, j) = call_raw(
        &app,
        "POST",
        "/v1/models/m/predict",
        Some(big.into_bytes()),
        &[],
    )
    .await;
    assert_eq!(
        (s, code(&j)),
        (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
    );
}

#[tokio::test]
async fn columns_quantiles_and_timestamps() {
    let (_, state) = fixture(test_config()).await;
    let app = app(state);
    let n = 40;
    let ts: Vec<i64> = (0..n as i64)
        .map(|i| 1_700_000_000_000 + i * 3_600_000)
        .collect();
    let body = json!({"history": {"columns": {"a": series_values(n, 0.0), "b": series_values(n, 2.0)}, "timestamps": ts}});
    let (s, j) = call(&app, "POST", "/v1/models/q/predict", Some(body.clone())).await;
    assert_eq!(s, StatusCode::OK, "{j}");
    let q = j["quantiles"].as_object().unwrap();
    assert_eq!(q.keys().collect::<Vec<_>>(), ["0.1", "0.5", "0.9"]);
    assert_eq!(j["columns"]["b"]["point"].as_array().unwrap().len(), H);
    // The point forecast is the 0.5 band, and `point` is the first target's (`a`).
    assert_eq!(j["point"], j["quantiles"]["0.5"]);
    assert_eq!(j["point"], j["columns"]["a"]["point"]);
    let last = ts[n - 1];
    let expected: Vec<i64> = (1..=H as i64).map(|k| last + k * 3_600_000).collect();
    assert_eq!(j["timestamps"], json!(expected));
    // A subset of levels.
    let mut b = body.clone();
    b["quantiles"] = json!([0.9]);
    let (s, j) = call(&app, "POST", "/v1/models/q/predict", Some(b)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(j["quantiles"].as_object().unwrap().len(), 1);
    let mut b = body.clone();
    b["quantiles"] = json!([0.5, 0.3]);
    let (s, j) = call(&app, "POST", "/v1/models/q/predict", Some(b)).await;
    assert_eq!(
        (s, field(&j)),
        (StatusCode::UNPROCESSABLE_ENTITY, "quantiles[1]")
    );
    // Wrong columns: missing, extra, unequal lengths.
    let (s, j) = call(
        &app,
        "POST",
        "/v1/models/q/predict",
        Some(json!({"history": {"columns": {"a": series_values(n, 0.0)}}})),
    )
    .await;
    assert_eq!(
        (s, field(&j)),
        (StatusCode::UNPROCESSABLE_ENTITY, "history.columns.b")
    );
    let (s, j) = call(&app, "POST", "/v1/models/q/predict", Some(json!({"history": {"columns": {"a": series_values(n, 0.0), "b": series_values(n, 0.0), "c": [1.0]}}}))).await;
    assert_eq!(
        (s, field(&j)),
        (StatusCode::UNPROCESSABLE_ENTITY, "history.columns.c")
    );
    let (s, j) = call(&app, "POST", "/v1/models/q/predict", Some(json!({"history": {"columns": {"a": series_values(n, 0.0), "b": series_values(n - 1, 0.0)}}}))).await;
    assert_eq!(
        (s, field(&j)),
        (StatusCode::UNPROCESSABLE_ENTITY, "history.columns.b")
    );
    // Timestamps: wrong count, not increasing.
    let mut b = body.clone();
    b["history"]["timestamps"] = json!(ts[1..]);
    let (s, j) = call(&app, "POST", "/v1/models/q/predict", Some(b)).await;
    assert_eq!(
        (s, field(&j)),
        (StatusCode::UNPROCESSABLE_ENTITY, "history.timestamps")
    );
    let mut b = body;
    b["history"]["timestamps"][7] = json!(0);
    let (s, j) = call(&app, "POST", "/v1/models/q/predict", Some(b)).await;
    assert_eq!(
        (s, field(&j)),
        (StatusCode::UNPROCESSABLE_ENTITY, "history.timestamps[7]")
    );
}

#[tokio::test]
async fn batch_predict() {
    let (_, state) = fixture(test_config()).await;
    let app = app(state);
    let item = |model: &str, phase: f64| json!({"model": model, "history": {"values": series_values(30, phase)}});
    let body = json!({"items": [item("m", 0.0), item("q", 1.0), item("m", 2.0)]});
    let (s, j) = call(&app, "POST", "/v1/predict/batch", Some(body)).await;
    assert_eq!(s, StatusCode::OK, "{j}");
    let r = j["results"].as_array().unwrap();
    assert_eq!(r.len(), 3);
    assert_eq!(
        (
            r[0]["model"].as_str(),
            r[1]["model"].as_str(),
            r[2]["model"].as_str()
        ),
        (Some("m"), Some("q"), Some("m"))
    );
    // Each item answers as its own predict call would.
    let (_, single) = call(
        &app,
        "POST",
        "/v1/models/m/predict",
        Some(values_body(30, 2.0)),
    )
    .await;
    assert_eq!(r[2]["point"], single["point"]);
    // Errors name the item.
    let body = json!({"items": [item("m", 0.0), {"model": "m", "history": {"values": [1.0]}}]});
    let (s, j) = call(&app, "POST", "/v1/predict/batch", Some(body)).await;
    assert_eq!(
        (s, field(&j)),
        (StatusCode::UNPROCESSABLE_ENTITY, "items[1].history.values")
    );
    let (s, j) = call(
        &app,
        "POST",
        "/v1/predict/batch",
        Some(json!({"items": [item("zz", 0.0)]})),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(j["error"]["message"]
        .as_str()
        .unwrap()
        .contains("items[0].model"));
    let many: Vec<_> = (0..17).map(|i| item("m", i as f64)).collect();
    let (s, j) = call(
        &app,
        "POST",
        "/v1/predict/batch",
        Some(json!({ "items": many })),
    )
    .await;
    assert_eq!((s, field(&j)), (StatusCode::UNPROCESSABLE_ENTITY, "items"));
}

#[tokio::test]
async fn promote_needs_the_key_and_switches_traffic_at_once() {
    let (_, state) = fixture(test_config()).await;
    let app = app(state);
    let body = Some(json!({"version": 2}).to_string().into_bytes());
    let (s, _, j) = call_raw(&app, "POST", "/v1/models/m/promote", body.clone(), &[]).await;
    assert_eq!((s, code(&j)), (StatusCode::UNAUTHORIZED, "unauthorized"));
    let (s, _, _) = call_raw(
        &app,
        "POST",
        "/v1/models/m/promote",
        body.clone(),
        &[("authorization", "Bearer wrong-key-0123456789")],
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, j) = call_raw(
        &app,
        "POST",
        "/v1/models/m/promote",
        Some(json!({"version": 9}).to_string().into_bytes()),
        &[("x-api-key", KEY)],
    )
    .await;
    assert_eq!((s, code(&j)), (StatusCode::NOT_FOUND, "not_found"));
    let (s, _, j) = call_raw(
        &app,
        "POST",
        "/v1/models/m/promote",
        body,
        &[("authorization", &format!("Bearer {KEY}"))],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{j}");
    assert_eq!(
        (j["version"].as_u64(), j["stage"].as_str()),
        (Some(2), Some("production"))
    );
    // The very next request is served by version 2; the store agrees.
    let (_, j) = call(
        &app,
        "POST",
        "/v1/models/m/predict",
        Some(values_body(30, 0.0)),
    )
    .await;
    assert_eq!(j["version"], 2);
    let (_, j) = call(&app, "GET", "/v1/models/m", None).await;
    assert_eq!(
        (j["production"].as_u64(), j["serving"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(j["versions"][0]["stage"], "archived");
}

#[tokio::test]
async fn writes_are_refused_without_a_configured_key_and_reads_can_require_it() {
    let (_, state) = fixture(ServerConfig {
        api_key: None,
        ..test_config()
    })
    .await;
    let (s, _, j) = call_raw(
        &app(state),
        "POST",
        "/v1/models/m/promote",
        Some(b"{\"version\":2}".to_vec()),
        &[],
    )
    .await;
    assert_eq!((s, code(&j)), (StatusCode::FORBIDDEN, "forbidden"));

    let (_, state) = fixture(ServerConfig {
        auth_reads: true,
        ..test_config()
    })
    .await;
    let app = app(state);
    let (s, _) = call(&app, "GET", "/v1/models", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = call(
        &app,
        "POST",
        "/v1/models/m/predict",
        Some(values_body(30, 0.0)),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, _) = call_raw(&app, "GET", "/v1/models", None, &[("x-api-key", KEY)]).await;
    assert_eq!(s, StatusCode::OK);
    // Liveness and readiness stay open for probes.
    assert_eq!(call(&app, "GET", "/health", None).await.0, StatusCode::OK);
    assert_eq!(call(&app, "GET", "/ready", None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn metrics_and_openapi() {
    let (_, state) = fixture(test_config()).await;
    let app = app(state);
    call(
        &app,
        "POST",
        "/v1/models/m/predict",
        Some(values_body(30, 0.0)),
    )
    .await;
    call(
        &app,
        "POST",
        "/v1/models/zz/predict",
        Some(values_body(30, 0.0)),
    )
    .await;
    let (s, bytes, _) = call_raw(&app, "GET", "/metrics", None, &[]).await;
    assert_eq!(s, StatusCode::OK);
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.contains(
            r#"nt_requests_total{route="/v1/models/{name}/predict",model="m",status="200"} 1"#
        ),
        "{text}"
    );
    // An unknown name is not a label of its own.
    assert!(
        text.contains(r#"model="unknown",status="404"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"nt_request_duration_seconds_bucket{route="/v1/models/{name}/predict",model="m",le="+Inf"} 1"#));
    assert!(
        text.contains(r#"nt_batch_size_count{model="m"} 1"#),
        "{text}"
    );
    assert!(text.contains("nt_models_loaded 2"), "{text}");
    assert!(text.contains(r#"nt_model_loaded{model="q",version="1"} 1"#));

    let (s, j) = call(&app, "GET", "/openapi.json", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(j["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/health",
        "/ready",
        "/metrics",
        "/v1/models",
        "/v1/models/{name}",
        "/v1/models/{name}/predict",
        "/v1/predict/batch",
        "/v1/models/{name}/promote",
        "/v1/models/{name}/traffic",
        "/v1/models/{name}/rollback",
        "/agentdb/collections/{c}/search",
        "/agentdb/health",
    ] {
        assert!(
            j["paths"].get(p).is_some(),
            "{p} missing from the OpenAPI document"
        );
    }
    // Bodies come from the Rust types.
    let schemas = &j["components"]["schemas"];
    assert!(
        schemas["PredictRequest"]["properties"]["history"].is_object(),
        "{schemas}"
    );
    assert!(schemas["PredictResponse"]["properties"]["point"].is_object());
}

#[tokio::test]
async fn unknown_routes_methods_panics_overload_and_timeouts_answer_json() {
    let (_, state) = fixture(test_config()).await;
    let app_ = app(state.clone());
    let (s, j) = call(&app_, "GET", "/nope", None).await;
    assert_eq!((s, code(&j)), (StatusCode::NOT_FOUND, "not_found"));
    let (s, _) = call(&app_, "DELETE", "/v1/models", None).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);

    // A panicking handler: 500 with a generic message, and the router keeps serving.
    let extra = Router::new()
        .route(
            "/boom",
            get(|| async {
                if std::hint::black_box(true) {
                    panic!("secret detail /etc/passwd");
                }
                "unreachable"
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        );
    let (_, state2) = fixture(ServerConfig {
        request_timeout: Duration::from_millis(50),
        ..test_config()
    })
    .await;
    let app2 = app_with(state2, extra);
    let (s, bytes, j) = call_raw(&app2, "GET", "/boom", None, &[]).await;
    assert_eq!(
        (s, code(&j)),
        (StatusCode::INTERNAL_SERVER_ERROR, "internal")
    );
    assert!(!String::from_utf8_lossy(&bytes).contains("secret"));
    assert_eq!(call(&app2, "GET", "/health", None).await.0, StatusCode::OK);
    let (s, _, j) = call_raw(&app2, "GET", "/slow", None, &[]).await;
    assert_eq!((s, code(&j)), (StatusCode::SERVICE_UNAVAILABLE, "timeout"));

    // No room in flight: 503 overloaded with Retry-After.
    let (_, state3) = fixture(ServerConfig {
        max_in_flight: 0,
        ..test_config()
    })
    .await;
    let (s, j) = call(&app(state3), "GET", "/v1/models", None).await;
    assert_eq!(
        (s, code(&j)),
        (StatusCode::SERVICE_UNAVAILABLE, "overloaded")
    );

    // Collections need a registry.
    let (s, j) = call(&app_, "GET", "/agentdb/health", None).await;
    assert_eq!(
        (s, code(&j)),
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_reload_follows_the_store_and_in_flight_requests_finish() {
    let (store, state) = fixture(test_config()).await;
    let reloader = state.spawn_reloader();
    let app = app(state);
    // Requests running while another process (here: the store directly) promotes version 2.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            call(
                &app,
                "POST",
                "/v1/models/m/predict",
                Some(values_body(30, i as f64)),
            )
            .await
        }));
        if i == 20 {
            store.promote("m", 2).unwrap();
        }
    }
    for t in tasks {
        let (s, j) = t.await.unwrap();
        assert_eq!(s, StatusCode::OK, "{j}");
        let v = j["version"].as_u64().unwrap();
        assert!(v == 1 || v == 2);
    }
    // The reloader (polling every 20 ms) switches to version 2 without a restart.
    let mut served = 0;
    for _ in 0..200 {
        let (_, j) = call(
            &app,
            "POST",
            "/v1/models/m/predict",
            Some(values_body(30, 0.0)),
        )
        .await;
        served = j["version"].as_u64().unwrap();
        if served == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(served, 2);
    reloader.abort();
}

#[test]
fn shared_types_are_send_and_sync() {
    fn check<T: Send + Sync + 'static>() {}
    check::<AppState>();
    check::<ServerConfig>();
    check::<nt_server::MemoryStore>();
    check::<nt_server::RegistryStore>();
    check::<nt_server::Metrics>();
    check::<std::sync::Arc<dyn ModelStore>>();
    check::<nt_server::Error>();
    check::<nt_server::StoreHealth>();
    check::<nt_server::Selector>();
    check::<nt_server::RouteRule>();
    check::<nt_registry::DbFiles>();
    check::<nt_registry::RegistryHealth>();
}

/// `precision: Bf16` serves the same model with bfloat16 weights: every point within 1% of the
/// f32 server's answer, and not bit-identical (the bf16 path is really taken). The model's
/// detail says which precision runs and why: bf16 on a CPU with a SIMD path (this model's
/// weights are past the 32 KiB below which bf16 falls back to f32), f32 with the reason on one
/// without; an f32 server says f32 and no note.
#[tokio::test]
async fn bf16_precision_answers_within_one_percent_of_f32() {
    let answer = |precision| async move {
        let (_, state) = fixture(ServerConfig {
            precision,
            ..test_config()
        })
        .await;
        let app = app(state);
        let (s, j) = call(
            &app,
            "POST",
            "/v1/models/m/predict",
            Some(values_body(30, 0.3)),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{j}");
        let point = j["point"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect::<Vec<f64>>();
        let (s, detail) = call(&app, "GET", "/v1/models/m", None).await;
        assert_eq!(s, StatusCode::OK, "{detail}");
        (point, detail)
    };
    let (exact, detail) = answer(nt_neural::Precision::F32).await;
    assert_eq!(detail["serving_precision"], "f32", "{detail}");
    assert!(detail["precision_note"].is_null(), "{detail}");
    let (half, detail) = answer(nt_neural::Precision::Bf16).await;
    let note = detail["precision_note"].as_str().unwrap();
    assert_eq!(exact.len(), half.len());
    for (a, b) in exact.iter().zip(&half) {
        assert!(((a - b) / a).abs() < 1e-2, "f32 {a} vs bf16 {b}");
    }
    if nt_neural::cpu::features().f32_path() == "scalar" {
        assert_eq!(detail["serving_precision"], "f32", "{detail}");
        assert!(note.contains("f32 runs"), "{note}");
        assert_eq!(exact, half);
    } else {
        assert_eq!(detail["serving_precision"], "bf16", "{detail}");
        assert!(note.starts_with("bf16 runs"), "{note}");
        assert_ne!(exact, half);
    }
}
