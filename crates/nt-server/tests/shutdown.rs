//! Graceful shutdown on a real socket: a request in flight when the shutdown signal fires still
//! gets its answer, and the server then returns.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use common::*;
use nt_server::{app_with, serve_router};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_requests_finish_after_the_shutdown_signal() {
    let (_, state) = fixture(test_config()).await;
    let extra = Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(400)).await;
            "done"
        }),
    );
    let router = app_with(state.clone(), extra);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_router(listener, state, router, async {
        let _ = stop_rx.await;
    }));
    // A slow request over plain TCP, on a blocking thread.
    let client = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(
            s,
            "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    });
    // Shut down while it is in flight.
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop_tx.send(()).unwrap();
    let answer = client.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("done"), "{answer}");
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server returns after its last request")
        .unwrap()
        .unwrap();
    // And it no longer accepts connections.
    assert!(std::net::TcpStream::connect(addr).is_err());
}
