//! Criterion benchmarks of the default-size NHITS (neuralforecast's defaults at input 480,
//! horizon 96): single-window predict through the public `Predict` API (scaling included), the raw
//! candle forward at batch 1, batch throughput through `forecast_windows` at 1, 32 and 1024
//! windows, and training steps at batch 32 × 1024 windows. The weights are those after one
//! training step: latency does not depend on their values. Fixed seeds; nothing asserts on time.
//!
//! `cargo bench -p nt-neural --bench nhits`; `RAYON_NUM_THREADS=1` shows the single-thread case.
//! `nt bench` prints the same cases as JSON lines, plus parameter count and weights size;
//! `benches/train_steps.rs` times a train step of every architecture in f32 and bf16.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use candle_core::{Device, Tensor};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use nt_core::{Horizon, Predict};
use nt_neural::{NeuralModel, NeuralSpec, NhitsConfig, TrainOptions, TrainProgress};

const INPUT: usize = 480;
const HORIZON: usize = 96;

/// Default NHITS at input 480 / horizon 96, training `steps` steps with validation off.
fn spec(steps: usize) -> NeuralSpec {
    let mut cfg = NhitsConfig {
        input_size: INPUT,
        horizon: HORIZON,
        ..NhitsConfig::default()
    };
    cfg.train.max_steps = steps;
    cfg.train.val_check_steps = steps + 1;
    cfg.train.val_fraction = 0.0;
    NeuralSpec::Nhits(cfg)
}

fn series() -> nt_core::TimeSeries {
    nt_testing::synthetic::seasonal(24 * 7 * 40, 24, 3.0, 0.5, 42)
}

fn trained_model() -> NeuralModel {
    nt_neural::train(
        &series(),
        &["y"],
        &spec(1),
        &TrainOptions::default(),
        &mut |_| {},
    )
    .expect("one training step")
    .model
}

fn predict(c: &mut Criterion) {
    let model = trained_model();
    let data = series();
    let history = data.tail(INPUT);
    let horizon = Horizon::new(HORIZON).unwrap();
    c.bench_function("nhits_predict_single", |b| {
        b.iter(|| model.predict(&history, horizon).unwrap())
    });

    let mut half = trained_model();
    half.set_precision(nt_neural::Precision::Bf16);
    c.bench_function("nhits_predict_single_bf16", |b| {
        b.iter(|| half.predict(&history, horizon).unwrap())
    });

    let net = model.network();
    let x = Tensor::randn(0f32, 1.0, (1, INPUT), &Device::Cpu).unwrap();
    c.bench_function("nhits_forward_candle_batch1", |b| {
        b.iter(|| net.forward(&x).unwrap())
    });

    let values = data.column("y").unwrap();
    let mut group = c.benchmark_group("nhits_batch");
    group.sample_size(10);
    for batch in [1usize, 32, 1024] {
        let windows: Vec<&[f64]> = (0..batch).map(|i| &values[i..i + INPUT]).collect();
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(BenchmarkId::from_parameter(batch), &windows, |b, w| {
            b.iter(|| model.forecast_windows(w, HORIZON).unwrap())
        });
    }
    group.finish();
}

/// Time per optimizer step (batch 32 series × 1024 windows, neuralforecast's defaults): each
/// measurement trains `iters + 1` steps and sums the step-to-step times after the first, so the
/// setup (windowing, weight initialisation) is not counted.
fn train_steps(c: &mut Criterion) {
    let data = series();
    let mut group = c.benchmark_group("nhits_train");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("step_b32_w1024", |b| {
        b.iter_custom(|iters| {
            let steps = iters as usize + 1;
            let mut last: Option<Duration> = None;
            let mut total = Duration::ZERO;
            nt_neural::train(
                &data,
                &["y"],
                &spec(steps),
                &TrainOptions::default(),
                &mut |p: &TrainProgress| {
                    if let Some(prev) = last {
                        total += p.elapsed - prev;
                    }
                    last = Some(p.elapsed);
                },
            )
            .unwrap();
            total
        })
    });
    group.finish();
}

criterion_group!(benches, predict, train_steps);
criterion_main!(benches);
