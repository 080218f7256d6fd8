//! The one "registry unavailable" state (issue 10): a running server whose registry database
//! file is removed notices it (the poll loop's health check), keeps serving the models it has
//! loaded, answers 503 on `/ready` and on writes, does not create an empty registry in its
//! place, and recovers by itself when the file is back; a file replaced under it is noticed
//! too. And `/ready` says not-ready, without naming files, when a production model failed to
//! load.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::Router;
use common::*;
use nt_registry::{RegisterRequest, Registry, Stage, VersionSelector, DB_FILE};
use nt_server::{app, AppState, RegistryStore};
use serde_json::{json, Value};

/// A registry in `dir/reg` with `m` v1 (production) and v2 (none); the handle that wrote it is
/// closed (so the database file holds everything, without a WAL beside it).
fn registry_dir(dir: &Path) -> PathBuf {
    let reg_dir = dir.join("reg");
    let reg = Registry::open(&reg_dir).unwrap();
    for (seed, stage) in [(1, Stage::Production), (2, Stage::None)] {
        let mdir = dir.join(format!("model{seed}"));
        tiny_model(seed).save(&mdir).unwrap();
        let req = RegisterRequest {
            stage,
            ..RegisterRequest::default()
        };
        reg.register("m", &mdir, req).unwrap();
    }
    reg_dir
}

async fn wait_for(app: &Router, what: &str, ok: impl Fn(StatusCode, &Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let (s, j) = call(app, "GET", "/ready", None).await;
        if ok(s, &j) {
            return j;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{what}: still {s} {j}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn post_keyed(app: &Router, uri: &str, body: Value) -> (StatusCode, Value) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_database_file_is_the_registry_unavailable_state_until_it_is_back() {
    let tmp = tempfile::tempdir().unwrap();
    let reg_dir = registry_dir(tmp.path());
    let db = reg_dir.join(DB_FILE);
    let backup = tmp.path().join("backup.db");
    std::fs::copy(&db, &backup).unwrap();

    let state = AppState::new(
        Arc::new(RegistryStore::open(&reg_dir).unwrap()),
        test_config(),
    )
    .unwrap();
    state.refresh().await.unwrap();
    let reloader = state.spawn_reloader();
    let app = app(state.clone());
    let (s, j) = call(&app, "GET", "/ready", None).await;
    assert_eq!(
        (s, &j["registry"]),
        (StatusCode::OK, &json!("available")),
        "{j}"
    );

    std::fs::remove_file(&db).unwrap();
    let j = wait_for(&app, "unavailable after the removal", |s, j| {
        s == StatusCode::SERVICE_UNAVAILABLE && j["registry"] == "unavailable"
    })
    .await;
    assert_eq!(j["ready"], false);
    assert!(state.store_unavailable().unwrap().contains("missing"));
    // The loaded production model is still served.
    let (s, j) = call(
        &app,
        "POST",
        "/v1/models/m/predict",
        Some(values_body(30, 0.0)),
    )
    .await;
    assert_eq!((s, &j["version"]), (StatusCode::OK, &json!(1)), "{j}");
    // Writes answer 503, before their body is read.
    for (uri, body) in [
        ("/v1/models/m/promote", json!({"version": 2})),
        ("/agentdb/collections", json!({"name": "c", "dimension": 2})),
        ("/agentdb/collections/c/insert", json!("not even a body")),
    ] {
        let (s, j) = post_keyed(&app, uri, body).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{uri}: {j}");
        assert!(j["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unavailable"));
    }
    // Calls that need the store answer 503 too, not 500; no file of the server is named.
    for uri in ["/v1/models", "/v1/models/m", "/agentdb/health"] {
        let (s, j) = call(&app, "GET", uri, None).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{uri}: {j}");
        assert!(!j.to_string().contains(tmp.path().to_str().unwrap()), "{j}");
    }
    let (s, j) = call(
        &app,
        "POST",
        "/v1/models/m@2/predict",
        Some(values_body(30, 0.0)),
    )
    .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{j}");
    // The server never creates an empty registry in place of the missing file.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !db.exists(),
        "a registry was created in place of the removed one"
    );
    // Nor in an empty file put at the path (SQLite would take it for a new database).
    std::fs::write(&db, b"").unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (s, j) = call(&app, "GET", "/ready", None).await;
    assert_eq!(
        (s, &j["registry"]),
        (StatusCode::SERVICE_UNAVAILABLE, &json!("unavailable")),
        "{j}"
    );
    assert_eq!(std::fs::metadata(&db).unwrap().len(), 0);
    std::fs::remove_file(&db).unwrap();

    // Back: the server recovers by itself and writes work again.
    std::fs::copy(&backup, &db).unwrap();
    let j = wait_for(&app, "available once restored", |s, _| s == StatusCode::OK).await;
    assert_eq!(j["registry"], "available");
    assert_eq!(j["models"], json!(["m@1"]));
    let (s, j) = post_keyed(&app, "/v1/models/m/promote", json!({"version": 2})).await;
    assert_eq!((s, &j["version"]), (StatusCode::OK, &json!(2)), "{j}");
    let reg = Registry::open(&reg_dir).unwrap();
    assert_eq!(
        reg.get("m", VersionSelector::Production).unwrap().version,
        2
    );
    drop(reg);

    // A file replaced under the server (the backup, where v1 is production) is noticed too:
    // the server follows the file at the path, not the one it had open.
    let staged = tmp.path().join("staged.db");
    std::fs::copy(&backup, &staged).unwrap();
    std::fs::rename(&staged, &db).unwrap();
    let start = Instant::now();
    loop {
        let (s, j) = call(
            &app,
            "POST",
            "/v1/models/m/predict",
            Some(values_body(30, 0.0)),
        )
        .await;
        if s == StatusCode::OK && j["version"] == 1 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "still {s} {j}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    wait_for(&app, "available after the replacement", |s, _| {
        s == StatusCode::OK
    })
    .await;
    reloader.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_production_model_that_fails_to_load_makes_ready_say_no_without_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let reg_dir = registry_dir(tmp.path());
    {
        let reg = Registry::open(&reg_dir).unwrap();
        let v = reg.get("m", VersionSelector::Production).unwrap();
        let blob = reg_dir.join(nt_registry::BLOBS_DIR).join(&v.weights_sha256);
        std::fs::write(blob, b"damaged").unwrap();
    }
    let state = AppState::new(
        Arc::new(RegistryStore::open(&reg_dir).unwrap()),
        test_config(),
    )
    .unwrap();
    state.refresh().await.unwrap();
    let app = app(state);
    let (s, j) = call(&app, "GET", "/ready", None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{j}");
    assert_eq!(
        (&j["ready"], &j["failed"]),
        (&json!(false), &json!(["m@1"])),
        "{j}"
    );
    assert!(j["reason"].as_str().unwrap().contains("m@1"), "{j}");
    let text = j.to_string();
    assert!(!text.contains(tmp.path().to_str().unwrap()), "{text}");
    assert!(!text.contains("blobs"), "{text}");
}
