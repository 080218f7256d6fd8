//! Criterion benchmarks of every architecture's inference at its defaults (input 480, horizon
//! 96): the raw candle forward at batch 1 and throughput through `forecast_windows` (scaling and
//! the fast CPU path, where the architecture has one) at 1, 32 and 1,024 windows. The weights are
//! those after one training step: latency does not depend on their values. Fixed seeds; nothing
//! asserts on time.
//!
//! `cargo bench -p nt-neural --bench inference [-- tcn]`; `nt bench --arch ARCH` prints the same
//! cases as JSON lines, and `tools/reference/compare_inference.sh` runs them beside PyTorch.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use candle_core::{Device, Tensor};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use nt_neural::{NeuralModel, NeuralSpec, TrainOptions};

const INPUT: usize = 480;
const HORIZON: usize = 96;

fn series() -> nt_core::TimeSeries {
    nt_testing::synthetic::seasonal(24 * 7 * 40, 24, 3.0, 0.5, 42)
}

/// `arch` at its defaults, after one training step on 64 windows, validation off.
fn trained(arch: &str, data: &nt_core::TimeSeries) -> NeuralModel {
    let mut spec = NeuralSpec::from_name(arch, INPUT, HORIZON).expect("an architecture name");
    let t = spec.train_config_mut();
    t.max_steps = 1;
    t.val_fraction = 0.0;
    t.windows_batch_size = 64;
    nt_neural::train(data, &["y"], &spec, &TrainOptions::default(), &mut |_| {})
        .expect("one training step")
        .model
}

fn inference(c: &mut Criterion) {
    let data = series();
    let values: Vec<f64> = data.column("y").unwrap().to_vec();
    for arch in NeuralSpec::NAMES {
        let model = trained(arch, &data);
        let mut group = c.benchmark_group(format!("{arch}_inference"));
        group.sample_size(10);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(3));
        let net = model.network();
        let x = Tensor::randn(0f32, 1.0, (1, net.packed_input_size()), &Device::Cpu).unwrap();
        group.bench_function("forward_candle_batch1", |b| {
            b.iter(|| net.forward(&x).unwrap())
        });
        for batch in [1usize, 32, 1024] {
            let windows: Vec<&[f64]> = (0..batch)
                .map(|i| {
                    let end = values.len() - (i % (values.len() - INPUT));
                    &values[end - INPUT..end]
                })
                .collect();
            group.throughput(Throughput::Elements(batch as u64));
            group.bench_with_input(
                BenchmarkId::new("forecast_windows", batch),
                &windows,
                |b, w| b.iter(|| model.forecast_windows(w, HORIZON).unwrap()),
            );
        }
        group.finish();
    }
}

criterion_group!(benches, inference);
criterion_main!(benches);
