//! The server over a real registry: models registered on disk are served, a promotion made
//! through another registry handle (as `nt registry promote` would) is picked up by hot reload,
//! and the AgentDB-protocol routes work on the registry's collections.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use common::*;
use nt_registry::{RegisterRequest, Registry, Stage};
use nt_server::{app, AppState, RegistryStore};
use serde_json::json;

/// A registry in a temp dir with `m` v1 (production) and v2 (none).
fn registry() -> (tempfile::TempDir, Arc<Registry>) {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path().join("reg")).unwrap();
    for (seed, stage) in [(1, Stage::Production), (2, Stage::None)] {
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

async fn state_over(reg: &Arc<Registry>) -> AppState {
    let state = AppState::new(Arc::new(RegistryStore::new(reg.clone())), test_config()).unwrap();
    state.refresh().await.unwrap();
    state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_registered_models_and_follows_promotions_from_another_handle() {
    let (dir, reg) = registry();
    let state = state_over(&reg).await;
    let reloader = state.spawn_reloader();
    let app = app(state);
    let (s, j) = call(&app, "GET", "/v1/models/m", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (
            j["production"].as_u64(),
            j["versions"].as_array().unwrap().len()
        ),
        (Some(1), 2)
    );
    assert!(j["versions"][0]["created_at"].as_str().unwrap().len() > 10);
    let (s, j) = call(
        &app,
        "POST",
        "/v1/models/m/predict",
        Some(values_body(30, 0.0)),
    )
    .await;
    assert_eq!((s, j["version"].as_u64()), (StatusCode::OK, Some(1)), "{j}");

    // Another process's handle promotes version 2: the server follows within a few polls.
    let other = Registry::open(dir.path().join("reg")).unwrap();
    other.set_stage("m", 2, Stage::Production).unwrap();
    let mut served = 0;
    for _ in 0..300 {
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

    // Promotion through the API writes to the registry.
    let body = Some(json!({"version": 1}).to_string().into_bytes());
    let (s, _, j) = call_raw(
        &app,
        "POST",
        "/v1/models/m/promote",
        body,
        &[("x-api-key", KEY)],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{j}");
    assert_eq!(
        other
            .get("m", nt_registry::VersionSelector::Production)
            .unwrap()
            .version,
        1
    );
    reloader.abort();
}

#[tokio::test]
async fn agentdb_routes() {
    let (_dir, reg) = registry();
    let app = app(state_over(&reg).await);
    let auth = [("authorization", "Bearer test-key-0123456789")];
    let post = |uri: &'static str, body: serde_json::Value, authed: bool| {
        let app = app.clone();
        async move {
            let h: &[(&str, &str)] = if authed { &auth } else { &[] };
            call_raw(&app, "POST", uri, Some(body.to_string().into_bytes()), h).await
        }
    };
    let (s, _) = call(&app, "GET", "/agentdb/health", None).await;
    assert_eq!(s, StatusCode::OK);
    let spec = json!({"name": "notes", "dimension": 3, "index_type": "hnsw"});
    // Writes need the key.
    let (s, _, _) = post("/agentdb/collections", spec.clone(), false).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, j) = post("/agentdb/collections", spec.clone(), true).await;
    assert_eq!(s, StatusCode::CREATED, "{j}");
    let (s, _, _) = post("/agentdb/collections", spec, true).await;
    assert_eq!(s, StatusCode::CONFLICT);

    let (s, _, j) = post(
        "/agentdb/collections/notes/insert",
        json!({"id": "0a", "embedding": [1.0, 0.0, 0.0], "metadata": {"kind": "a", "n": 1}}),
        true,
    )
    .await;
    assert_eq!(
        (s, &j),
        (StatusCode::OK, &json!({"id": "0a", "success": true}))
    );
    let docs = json!({"documents": [
        {"id": "0b", "embedding": [0.0, 1.0, 0.0], "metadata": {"kind": "b", "n": 2}},
        {"id": "0c", "embedding": [0.9, 0.1, 0.0], "metadata": {"kind": "a", "n": 3}},
        {"id": "zz", "embedding": [0.0, 0.0, 1.0]}
    ]});
    let (s, _, j) = post("/agentdb/collections/notes/batch_insert", docs, true).await;
    assert_eq!(s, StatusCode::OK, "{j}");
    assert_eq!(
        (&j["inserted"], &j["failed"]),
        (&json!(2), &json!(1)),
        "{j}"
    );
    assert!(
        j["errors"][0].as_str().unwrap().contains("documents[2].id"),
        "{j}"
    );
    // Errors: wrong dimension, bad hex id -> 400; unknown collection -> 404.
    let (s, _, _) = post(
        "/agentdb/collections/notes/insert",
        json!({"id": "0d", "embedding": [1.0]}),
        true,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, _) = post(
        "/agentdb/collections/notes/insert",
        json!({"id": "xyz", "embedding": [1.0, 0.0, 0.0]}),
        true,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, _) = post(
        "/agentdb/collections/nope/insert",
        json!({"id": "0d", "embedding": [1.0, 0.0, 0.0]}),
        true,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Search: nearest first, with a filter.
    let (s, _, j) = post(
        "/agentdb/collections/notes/search",
        json!({"collection": "notes", "embedding": [1.0, 0.0, 0.0], "k": 2}),
        false,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{j}");
    let r = j["results"].as_array().unwrap();
    assert_eq!(
        (r.len(), &r[0]["document"]["n"], &r[1]["document"]["n"]),
        (2, &json!(1), &json!(3))
    );
    assert!(r[0]["score"].as_f64().unwrap() > 0.999);
    let (s, _, j) = post("/agentdb/collections/notes/search", json!({"embedding": [1.0, 0.0, 0.0], "k": 5, "filters": {"op": "eq", "field": "kind", "value": "b"}}), false).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(j["results"].as_array().unwrap().len(), 1);
    let (s, _, _) = post(
        "/agentdb/collections/notes/search",
        json!({"embedding": [1.0, 0.0, 0.0], "k": 5, "filters": {"op": "nope"}}),
        false,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // Query with sort and limit.
    let (s, _, j) = post("/agentdb/collections/notes/query", json!({"collection": "notes", "filters": {"op": "gte", "field": "n", "value": 1}, "sort_by": {"field": "n", "order": "desc"}, "limit": 2}), false).await;
    assert_eq!(s, StatusCode::OK, "{j}");
    let ns: Vec<i64> = j["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["n"].as_i64().unwrap())
        .collect();
    assert_eq!(ns, [3, 2]);
    // Get and delete.
    let (s, j) = call(&app, "GET", "/agentdb/collections/notes/documents/0b", None).await;
    assert_eq!((s, &j["kind"]), (StatusCode::OK, &json!("b")));
    let (s, _, _) = call_raw(
        &app,
        "DELETE",
        "/agentdb/collections/notes/documents/0b",
        None,
        &auth,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(&app, "GET", "/agentdb/collections/notes/documents/0b", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = call_raw(
        &app,
        "DELETE",
        "/agentdb/collections/notes/documents/0b",
        None,
        &auth,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The registry's models are the read-only collection `models`.
    let (s, _, j) = post(
        "/agentdb/collections/models/query",
        json!({"filters": {"op": "eq", "field": "name", "value": "m"}}),
        false,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{j}");
    assert_eq!(j["documents"].as_array().unwrap().len(), 2);
    let (s, _, _) = post(
        "/agentdb/collections/models/insert",
        json!({"id": "0a", "embedding": [1.0]}),
        true,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}
