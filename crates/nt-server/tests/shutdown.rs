//! Graceful shutdown on a real socket: a request in flight when the shutdown signal fires still
//! gets its answer, and the server then returns.
//!
//! No sleeps: the handler says when it has started, the test fires the shutdown signal only
//! then, and the handler answers only once the signal has fired.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use common::*;
use nt_server::{app_with, serve_router};
use tokio::sync::Notify;

/// Generous bound on each wait, so that a broken server fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_requests_finish_after_the_shutdown_signal() {
    let (_, state) = fixture(test_config()).await;
    // `started`: the handler is running; `release`: the shutdown signal has fired (a Notify
    // keeps a permit when nobody waits yet, so neither wake-up can be missed).
    let started = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let extra = {
        let (started, release) = (started.clone(), release.clone());
        Router::new().route(
            "/slow",
            get(move || async move {
                started.notify_one();
                release.notified().await;
                "done"
            }),
        )
    };
    let router = app_with(state.clone(), extra);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let shutdown = {
        let release = release.clone();
        async move {
            let _ = stop_rx.await;
            // The signal fires now, with the request still in its handler: let it answer.
            release.notify_one();
        }
    };
    let server = tokio::spawn(serve_router(listener, state, router, shutdown));
    // A slow request over plain TCP, on a blocking thread.
    let client = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        write!(
            s,
            "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    });
    // Shut down while it is in flight: once its handler has started.
    tokio::time::timeout(PATIENCE, started.notified())
        .await
        .expect("the slow handler starts");
    stop_tx.send(()).unwrap();
    let answer = tokio::time::timeout(PATIENCE, client)
        .await
        .expect("the in-flight request is answered")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("done"), "{answer}");
    tokio::time::timeout(PATIENCE, server)
        .await
        .expect("the server returns after its last request")
        .unwrap()
        .unwrap();
    // And it no longer accepts connections.
    assert!(std::net::TcpStream::connect(addr).is_err());
}
