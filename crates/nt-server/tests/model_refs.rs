//! One rule for model references in the CLI and the server (issue 10): `NAME` is the production
//! version, `NAME@V` a version, `NAME@latest` the newest, `NAME@production` production; the
//! `{name}` path segment and a batch item's `model` read them through the registry's parser,
//! and a body `version` that contradicts the reference is a 422.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::*;
use nt_server::app;
use serde_json::{json, Value};

fn predict_body(version: Option<u32>) -> Value {
    let mut b = values_body(30, 0.0);
    if let Some(v) = version {
        b["version"] = json!(v);
    }
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predict_reads_references_in_the_path() {
    // `m`: v1 production, v2 staging.
    let (_store, state) = fixture(test_config()).await;
    let app = app(state);
    for (reference, version, want) in [
        ("m", None, 1),
        ("m@production", None, 1),
        ("m@latest", None, 2),
        ("m@2", None, 2),
        ("m@1", None, 1),
        ("m", Some(2), 2),
        ("m@2", Some(2), 2),
    ] {
        let uri = format!("/v1/models/{reference}/predict");
        let (s, j) = call(&app, "POST", &uri, Some(predict_body(version))).await;
        assert_eq!(s, StatusCode::OK, "{reference} {version:?}: {j}");
        assert_eq!(
            (&j["model"], &j["version"]),
            (&json!("m"), &json!(want)),
            "{reference}"
        );
    }
    for (reference, version, field) in [
        ("m@2", Some(1), "version"),
        ("m@latest", Some(2), "version"),
        ("m@production", Some(1), "version"),
        ("m", Some(0), "version"),
        ("m@0", None, "name"),
        ("m@newest", None, "name"),
        ("..", None, "name"),
        (".m", None, "name"),
    ] {
        let uri = format!("/v1/models/{reference}/predict");
        let (s, j) = call(&app, "POST", &uri, Some(predict_body(version))).await;
        assert_eq!(
            (s, &j["error"]["field"]),
            (StatusCode::UNPROCESSABLE_ENTITY, &json!(field)),
            "{reference} {version:?}: {j}"
        );
    }
    let (s, j) = call(
        &app,
        "POST",
        "/v1/models/m@9/predict",
        Some(predict_body(None)),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{j}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_items_read_references_in_model() {
    let (_store, state) = fixture(test_config()).await;
    let app = app(state);
    let history = json!({"values": series_values(30, 0.0)});
    let body = json!({"items": [
        {"model": "m", "history": history},
        {"model": "m@latest", "history": history},
        {"model": "m@2", "history": history, "version": 2},
        {"model": "m@production", "history": history}]});
    let (s, j) = call(&app, "POST", "/v1/predict/batch", Some(body)).await;
    assert_eq!(s, StatusCode::OK, "{j}");
    let versions: Vec<&Value> = j["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["version"])
        .collect();
    assert_eq!(versions, [&json!(1), &json!(2), &json!(2), &json!(1)]);
    for (item, field) in [
        (
            json!({"model": "m@2", "history": history, "version": 1}),
            "items[1].version",
        ),
        (
            json!({"model": "m@x", "history": history}),
            "items[1].model",
        ),
    ] {
        let body = json!({"items": [{"model": "m", "history": history}, item]});
        let (s, j) = call(&app, "POST", "/v1/predict/batch", Some(body)).await;
        assert_eq!(
            (s, &j["error"]["field"]),
            (StatusCode::UNPROCESSABLE_ENTITY, &json!(field)),
            "{j}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_model_narrows_to_the_version_a_reference_names() {
    let (_store, state) = fixture(test_config()).await;
    let app = app(state);
    let (s, j) = call(&app, "GET", "/v1/models/m", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(j["versions"].as_array().unwrap().len(), 2);
    for (reference, want) in [("m@2", 2), ("m@latest", 2), ("m@production", 1), ("m@1", 1)] {
        let (s, j) = call(&app, "GET", &format!("/v1/models/{reference}"), None).await;
        assert_eq!(s, StatusCode::OK, "{reference}: {j}");
        let vs = j["versions"].as_array().unwrap();
        assert_eq!(
            (vs.len(), &vs[0]["version"]),
            (1, &json!(want)),
            "{reference}"
        );
        assert_eq!(j["production"], 1, "{j}");
    }
    let (s, _) = call(&app, "GET", "/v1/models/m@9", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, j) = call(&app, "GET", "/v1/models/m@", None).await;
    assert_eq!(
        (s, &j["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("name"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promote_takes_the_version_from_the_body_once() {
    let (_store, state) = fixture(test_config()).await;
    let app = app(state);
    let auth = format!("Bearer {KEY}");
    let promote = |uri: &'static str, version: u32| {
        let app = app.clone();
        let auth = auth.clone();
        async move {
            let body = json!({"version": version}).to_string().into_bytes();
            let (s, _, j) =
                call_raw(&app, "POST", uri, Some(body), &[("authorization", &auth)]).await;
            (s, j)
        }
    };
    let (s, j) = promote("/v1/models/m@1/promote", 2).await;
    assert_eq!(
        (s, &j["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("name")),
        "{j}"
    );
    let (s, j) = promote("/v1/models/m/promote", 0).await;
    assert_eq!(
        (s, &j["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("version")),
        "{j}"
    );
    let (s, j) = promote("/v1/models/m@2/promote", 2).await;
    assert_eq!((s, &j["version"]), (StatusCode::OK, &json!(2)), "{j}");
    let (s, j) = call(
        &app,
        "POST",
        "/v1/models/m/predict",
        Some(predict_body(None)),
    )
    .await;
    assert_eq!((s, &j["version"]), (StatusCode::OK, &json!(2)), "{j}");
}
