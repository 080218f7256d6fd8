//! The published `nt-agentdb-client` 1.0 (the crate the seed's code uses), driven through every
//! call it has — health, create collection (new and existing), insert, batch insert, vector
//! and metadata search with every filter kind, get, delete, and its seven query templates —
//! against this server on a loopback socket with key-less AgentDB writes
//! (`ServerConfig::agentdb_open_writes`): the client never sends its key.
//!
//! The client runs as a separate program, `agentdb-compat/` (its own workspace: see its
//! Cargo.toml for why), built and run here with the cargo that runs this test, in
//! `target/agentdb-compat`. The first run downloads and builds it (a few minutes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use common::*;
use nt_registry::Registry;
use nt_server::{serve, AppState, RegistryStore, ServerConfig};

fn compat_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("agentdb-compat")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_published_client_works_against_open_agentdb_writes() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Arc::new(Registry::open(dir.path().join("reg")).unwrap());
    let config = ServerConfig {
        agentdb_open_writes: true,
        ..test_config()
    };
    let state = AppState::new(Arc::new(RegistryStore::new(reg.clone())), config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, async {
        let _ = stopped.await;
    }));

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_string());
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("agentdb-compat");
    let manifest = compat_dir().join("Cargo.toml");
    let url = format!("http://{addr}/agentdb");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(cargo)
            .args(["run", "--quiet", "--locked", "--manifest-path"])
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target)
            .arg("--")
            .arg(&url)
            .env_remove("CARGO_TARGET_DIR")
            .output()
    })
    .await
    .unwrap()
    .expect("running cargo for crates/nt-server/agentdb-compat");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the published client failed against the server ({}).\n\
         If it could not be built: it needs crates.io (or run `cargo fetch --manifest-path \
         crates/nt-server/agentdb-compat/Cargo.toml` once while online).\n\
         stdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    assert!(stdout.contains(r#"{"all":"ok"}"#), "{stdout}");
    // Every call the client has was made (one line each; see agentdb-compat/src/main.rs).
    for call in [
        "health_check",
        "create_collection",
        "insert",
        "batch_insert",
        "vector_search",
        "metadata_search",
        "get",
        "delete",
        "find_similar_conditions",
        "get_observations_in_range",
        "get_signals_by_strategy",
        "find_similar_decisions",
        "get_recent_signals",
        "get_orders_for_signal",
        "get_top_strategies",
    ] {
        assert!(
            stdout.contains(&format!(r#"{{"call":"{call}","ok":true}}"#)),
            "{call} missing:\n{stdout}"
        );
    }
    // What the client wrote is in the registry.
    assert_eq!(reg.collection("orders").unwrap().count, 3);
    assert_eq!(reg.collection("notes").unwrap().count, 3);
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
