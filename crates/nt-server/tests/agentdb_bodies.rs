//! What the AgentDB routes do with bodies that are not quite right (issue 10): unknown fields
//! on every body are a 422 naming the field (a typo'd `"filter"` used to return every
//! document), unknown `index_type` / `distance_metric` values are refused with the accepted
//! ones, search hits carry the document id, a `collection` that contradicts the path is
//! refused, an array of filters is their AND, and a few more refusals found on the way.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use axum::http::StatusCode;
use common::*;
use nt_registry::Registry;
use nt_server::{app, AppState, RegistryStore};
use serde_json::{json, Value};

/// An app over an empty registry with the collection `notes` (dimension 2) holding `0a`
/// (`{kind: a, n: 1}`, along x) and `0b` (`{kind: b, n: 2}`, along y).
async fn notes_app() -> (tempfile::TempDir, axum::Router) {
    let dir = tempfile::tempdir().unwrap();
    let reg = Arc::new(Registry::open(dir.path().join("reg")).unwrap());
    let state = AppState::new(Arc::new(RegistryStore::new(reg)), test_config()).unwrap();
    state.refresh().await.unwrap();
    let app = app(state);
    let (s, j) = post(
        &app,
        "/agentdb/collections",
        json!({"name": "notes", "dimension": 2, "index_type": "hnsw"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{j}");
    let (s, j) = post(
        &app,
        "/agentdb/collections/notes/batch_insert",
        json!({"documents": [
            {"id": "0a", "embedding": [1.0, 0.0], "metadata": {"kind": "a", "n": 1}},
            {"id": "0b", "embedding": [0.0, 1.0], "metadata": {"kind": "b", "n": 2}}]}),
    )
    .await;
    assert_eq!((s, &j["inserted"]), (StatusCode::OK, &json!(2)), "{j}");
    (dir, app)
}

/// POST with the key.
async fn post(app: &axum::Router, uri: &str, body: Value) -> (StatusCode, Value) {
    let auth = format!("Bearer {KEY}");
    let (s, _, j) = call_raw(
        app,
        "POST",
        uri,
        Some(body.to_string().into_bytes()),
        &[("authorization", &auth)],
    )
    .await;
    (s, j)
}

fn message(j: &Value) -> &str {
    j["error"]["message"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typo_in_any_agentdb_body_is_a_422_naming_the_field() {
    let (_dir, app) = notes_app().await;
    let cases = [
        (
            "/agentdb/collections",
            json!({"name": "x", "dimension": 2, "dimensions": 2}),
            "dimensions",
        ),
        (
            "/agentdb/collections/notes/insert",
            json!({"id": "0c", "embedding": [1.0, 0.0], "meta": {"kind": "c"}}),
            "meta",
        ),
        (
            "/agentdb/collections/notes/batch_insert",
            json!({"docs": []}),
            "docs",
        ),
        (
            "/agentdb/collections/notes/batch_insert",
            json!({"documents": [{"id": "0c", "embedding": [1.0, 0.0], "metdata": {}}]}),
            "metdata",
        ),
        (
            "/agentdb/collections/notes/search",
            json!({"embedding": [1.0, 0.0], "k": 5,
                   "filter": {"op": "eq", "field": "kind", "value": "b"}}),
            "filter",
        ),
        (
            "/agentdb/collections/notes/query",
            json!({"filter": {"op": "eq", "field": "kind", "value": "b"}}),
            "filter",
        ),
        (
            "/agentdb/collections/notes/query",
            json!({"sort_by": {"field": "n", "direction": "desc"}}),
            "direction",
        ),
    ];
    for (uri, body, field) in cases {
        let (s, j) = post(&app, uri, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{uri} {body}: {j}");
        assert!(
            message(&j).contains(&format!("unknown field `{field}`")),
            "{uri}: {j}"
        );
    }
    // Nothing was written by the refused bodies.
    let (s, j) = post(&app, "/agentdb/collections/notes/query", json!({})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(j["documents"].as_array().unwrap().len(), 2, "{j}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_types_and_metrics_we_do_not_have_are_refused() {
    let (_dir, app) = notes_app().await;
    for (body, field) in [
        (
            json!({"name": "x", "dimension": 2, "index_type": "ivf"}),
            "index_type",
        ),
        (
            json!({"name": "x", "dimension": 2, "distance_metric": "l2"}),
            "distance_metric",
        ),
    ] {
        let (s, j) = post(&app, "/agentdb/collections", body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{j}");
        assert_eq!(j["error"]["field"], field, "{j}");
        assert!(message(&j).contains("accepted:"), "{j}");
    }
    for (name, extra) in [
        ("f", json!({"index_type": "flat"})),
        ("c", json!({"distance_metric": "cosine"})),
        ("d", json!({})),
    ] {
        let mut body = json!({"name": name, "dimension": 2});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let (s, j) = post(&app, "/agentdb/collections", body).await;
        assert_eq!(s, StatusCode::CREATED, "{name}: {j}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_hits_carry_the_document_id() {
    let (_dir, app) = notes_app().await;
    let (s, j) = post(
        &app,
        "/agentdb/collections/notes/search",
        json!({"embedding": [0.1, 1.0], "k": 2}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{j}");
    let r = j["results"].as_array().unwrap();
    assert_eq!(
        (&r[0]["id"], &r[1]["id"]),
        (&json!("0b"), &json!("0a")),
        "{j}"
    );
    assert_eq!(r[0]["document"]["kind"], "b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collection_in_the_body_must_be_the_one_of_the_path() {
    let (_dir, app) = notes_app().await;
    for (uri, body) in [
        (
            "/agentdb/collections/notes/search",
            json!({"collection": "other", "embedding": [1.0, 0.0], "k": 1}),
        ),
        (
            "/agentdb/collections/notes/query",
            json!({"collection": "other"}),
        ),
    ] {
        let (s, j) = post(&app, uri, body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{uri}: {j}");
        assert_eq!(j["error"]["field"], "collection", "{j}");
    }
    let (s, _) = post(
        &app,
        "/agentdb/collections/notes/query",
        json!({"collection": "notes"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_array_of_filters_is_their_and() {
    // The form the published nt-agentdb-client sends (`filters: [..]`); it was a 400.
    let (_dir, app) = notes_app().await;
    let (s, j) = post(
        &app,
        "/agentdb/collections/notes/query",
        json!({"filters": [
            {"op": "gte", "field": "n", "value": 1},
            {"op": "eq", "field": "kind", "value": "b"}]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{j}");
    assert_eq!(j["documents"], json!([{"kind": "b", "n": 2}]));
    let (s, j) = post(
        &app,
        "/agentdb/collections/notes/search",
        json!({"embedding": [1.0, 0.0], "k": 5, "filters": [{"op": "eq", "field": "kind", "value": "a"}]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{j}");
    assert_eq!(j["results"].as_array().unwrap().len(), 1, "{j}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_ids_non_object_metadata_and_bad_sort_paths_are_refused() {
    let (_dir, app) = notes_app().await;
    let (s, j) = post(
        &app,
        "/agentdb/collections/notes/batch_insert",
        json!({"documents": [
            {"id": "0c", "embedding": [1.0, 0.0], "metadata": {"v": 1}},
            {"id": "0C", "embedding": [0.0, 1.0], "metadata": {"v": 2}}]}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{j}");
    assert!(message(&j).contains("documents[1].id"), "{j}");
    let (s, j) = post(
        &app,
        "/agentdb/collections/notes/insert",
        json!({"id": "0c", "embedding": [1.0, 0.0], "metadata": [1, 2]}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{j}");
    assert!(message(&j).contains("metadata"), "{j}");
    let (s, j) = post(
        &app,
        "/agentdb/collections/notes/query",
        json!({"sort_by": {"field": "a..n"}}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{j}");
    assert!(message(&j).contains("sort_by.field"), "{j}");
    let (s, j) = post(&app, "/agentdb/collections/notes/query", json!({})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        j["documents"].as_array().unwrap().len(),
        2,
        "nothing written: {j}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_parameters_are_refused_not_ignored() {
    let (_dir, app) = notes_app().await;
    for uri in [
        "/v1/models?stage=production",
        "/agentdb/collections/notes/documents/0a?fields=kind",
        "/health?verbose",
    ] {
        let (s, j) = call(&app, "GET", uri, None).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{uri}: {j}");
        assert!(
            j["error"]["field"].as_str().unwrap().starts_with("query."),
            "{j}"
        );
    }
    let (s, _) = call(&app, "GET", "/agentdb/collections/notes/documents/0a", None).await;
    assert_eq!(s, StatusCode::OK);
}
