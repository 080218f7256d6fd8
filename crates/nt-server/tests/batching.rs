//! Micro-batching: answers gathered into one batch equal the answers computed alone, bit for
//! bit, whether the batch runs on one compute thread or is spread over several.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::*;
use nt_server::{app, BatchConfig, ComputePath, ServerConfig};
use serde_json::json;

async fn check_path(compute: ComputePath, compute_threads: usize) {
    let path = format!("{compute:?}, {compute_threads} compute threads");
    let config = ServerConfig {
        batch: BatchConfig {
            max_batch: 64,
            max_wait: Duration::from_millis(2),
            path: compute,
        },
        compute_threads,
        ..test_config()
    };
    let (_, state) = fixture(config).await;
    let app = app(state.clone());
    let n = 48;
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
    // Together: all at once from many tasks, gathered by the model's compute thread.
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
    let (_, metrics, _) = call_raw(&app, "GET", "/metrics", None, &[]).await;
    let metrics = String::from_utf8(metrics).unwrap();
    let line = metrics
        .lines()
        .find(|l| l.starts_with("nt_batch_size_count{model=\"m\"}"))
        .unwrap();
    println!("{path}: {line} for {} requests", 2 * n + 1);
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
    let a = nt_server::forecast(&model, cfg(ComputePath::PerWindow), &windows).unwrap();
    let b = nt_server::forecast(&model, cfg(ComputePath::Batched), &windows).unwrap();
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x.point_values(), y.point_values(), "window {i}");
    }
}
