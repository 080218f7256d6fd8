//! Micro-batching: concurrent requests are gathered into one forward pass, and answers
//! gathered into one batch equal the answers computed alone, bit for bit, whether the batch runs
//! on one compute thread or is spread over several.
#![allow(clippy::unwrap_used)]

mod common;

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use common::*;
use http_body_util::{BodyExt, Full};
use nt_server::{app, BatchConfig, ComputePath, ServerConfig};
use serde_json::json;
use tokio::sync::oneshot;
use tower::ServiceExt;

/// A predict request for `m` whose body ends only once `release` fires. Its handler counts it
/// as arriving (the model's compute thread waits for it) from before it reads the body; the
/// end of the body is polled only by that read, so `started` fires once the count is taken.
fn held_predict(
    body: Vec<u8>,
    started: oneshot::Sender<()>,
    release: oneshot::Receiver<()>,
) -> Request<Body> {
    let end = async move {
        let _ = started.send(());
        let _ = release.await;
        None::<Result<HeaderMap, Infallible>>
    };
    Request::builder()
        .method("POST")
        .uri("/v1/models/m/predict")
        .header("content-type", "application/json")
        .body(Body::new(Full::new(Bytes::from(body)).with_trailers(end)))
        .unwrap()
}

/// The value of the metric line that starts with `prefix` (name and labels).
fn metric(metrics: &str, prefix: &str) -> f64 {
    let line = metrics
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} in\n{metrics}"));
    line[prefix.len()..].trim().parse().unwrap()
}

async fn check_path(compute: ComputePath, compute_threads: usize) {
    let path = format!("{compute:?}, {compute_threads} compute threads");
    let n = 48;
    let config = ServerConfig {
        // A gathered batch closes at n windows, or after a wait far longer than the test: while
        // a request is still being parsed the compute thread keeps gathering, so the n
        // concurrent requests below land in one forward pass however the tasks are scheduled.
        batch: BatchConfig {
            max_batch: n,
            max_wait: Duration::from_secs(20),
            path: compute,
        },
        compute_threads,
        ..test_config()
    };
    let (_, state) = fixture(config).await;
    let app = app(state.clone());
    let body = |i: usize| values_body(30 + i % 7, i as f64 * 0.37);
    // Alone: one request at a time, each its own forward pass.
    let mut alone = Vec::new();
    for i in 0..n {
        let (s, bytes, _) = call_raw(
            &app,
            "POST",
            "/v1/models/m/predict",
            Some(body(i).to_string().into_bytes()),
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        alone.push(point_text(&bytes, 0));
    }
    // Together: all at once from many tasks, gathered by the model's compute thread. A request
    // held half-sent keeps the thread gathering until it has all n windows.
    let (started_tx, started_rx) = oneshot::channel();
    let (release_tx, release_rx) = oneshot::channel();
    let held = tokio::spawn(send(
        app.clone(),
        held_predict(body(0).to_string().into_bytes(), started_tx, release_rx),
    ));
    started_rx.await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..n {
        let app = app.clone();
        let b = body(i).to_string().into_bytes();
        tasks.push(tokio::spawn(async move {
            call_raw(&app, "POST", "/v1/models/m/predict", Some(b), &[]).await
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let (s, bytes, _) = t.await.unwrap();
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            point_text(&bytes, 0),
            alone[i],
            "request {i} differs when batched ({path})"
        );
    }
    release_tx.send(()).unwrap();
    let (s, bytes) = held.await.unwrap();
    assert_eq!(s, StatusCode::OK);
    assert_eq!(point_text(&bytes, 0), alone[0], "the held request ({path})");
    // And as one batch call: 16 windows in one job, so one forward pass for sure.
    let items: Vec<_> = (0..n)
        .map(|i| json!({"model": "m", "history": body(i)["history"].clone()}))
        .collect();
    // (16 items: the test config's max_batch_items.)
    let (s, bytes, j) = call_raw(
        &app,
        "POST",
        "/v1/predict/batch",
        Some(json!({"items": items[..16]}).to_string().into_bytes()),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{j}");
    let text = String::from_utf8(bytes).unwrap();
    for (i, expected) in alone.iter().take(16).enumerate() {
        assert_eq!(
            &point_text(text.as_bytes(), i),
            expected,
            "batch item {i} differs ({path})"
        );
    }
    // Forward passes: n alone, one for the n gathered, one for the held request once released
    // and one for the batch call; unbatched, the n concurrent requests would take n.
    let (_, metrics, _) = call_raw(&app, "GET", "/metrics", None, &[]).await;
    let metrics = String::from_utf8(metrics).unwrap();
    assert_eq!(
        metric(&metrics, "nt_batch_size_count{model=\"m\"}"),
        (n + 3) as f64,
        "forward passes for {n} alone, {n} concurrent, 1 held and 1 batch call of 16 ({path})"
    );
    assert_eq!(
        metric(&metrics, "nt_batch_size_sum{model=\"m\"}"),
        (2 * n + 1 + 16) as f64,
        "windows computed ({path})"
    );
}

/// Sends `req` through `app`: the status and the body.
async fn send(app: Router, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let resp = app.oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_answers_equal_unbatched_on_one_compute_thread() {
    check_path(ComputePath::PerWindow, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_answers_equal_unbatched_on_two_compute_threads() {
    check_path(ComputePath::PerWindow, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_answers_equal_unbatched_on_the_batched_path() {
    check_path(ComputePath::Batched, 1).await;
    check_path(ComputePath::Batched, 2).await;
}

/// The two paths are the same arithmetic per window (nt-neural fixes each window's summation
/// order and only shares weight loads within a batch), so their answers agree bit for bit.
#[test]
fn the_two_paths_agree_bit_for_bit() {
    let model = tiny_model(1);
    let series: Vec<Vec<f64>> = (0..40).map(|i| series_values(L, i as f64 * 0.37)).collect();
    let windows: Vec<&[f64]> = series.iter().map(Vec::as_slice).collect();
    let cfg = |path| BatchConfig {
        max_batch: 64,
        max_wait: Duration::ZERO,
        path,
    };
    let a = nt_server::forecast(&model, cfg(ComputePath::PerWindow), &windows, H).unwrap();
    let b = nt_server::forecast(&model, cfg(ComputePath::Batched), &windows, H).unwrap();
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x.point_values(), y.point_values(), "window {i}");
    }
}
