//! Criterion benchmarks of one optimizer step of every neural architecture (`NeuralSpec::NAMES`:
//! NHITS, N-BEATS, DLinear, NLinear), each at its defaults at input 480, horizon 96 and the
//! reference batch of 1024 windows, in f32 and in bf16 (`train.precision`; a run that falls back
//! to f32 says so on stderr, once per case). The peer is `tools/reference/train_step_bench.py`
//! (neuralforecast's module, plain PyTorch); `nt bench` prints the same cases as JSON lines with
//! p99, peak RSS and the engine that ran. Fixed seeds; nothing asserts on time.
//!
//! `cargo bench -p nt-neural --bench train_steps` (a few minutes: 10 samples of a few steps per
//! case); `-- nhits` runs one architecture; `RAYON_NUM_THREADS=1` shows the single-thread case.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use nt_neural::{NeuralSpec, Precision, TrainOptions, TrainProgress};

const INPUT: usize = 480;
const HORIZON: usize = 96;
const WINDOWS: usize = 1024;

/// `arch`'s defaults at input 480 / horizon 96, `steps` steps of 1024 windows in `precision`,
/// validation off.
fn spec(arch: &str, precision: Precision, steps: usize) -> NeuralSpec {
    let mut spec = NeuralSpec::from_name(arch, INPUT, HORIZON).expect("an architecture name");
    let t = spec.train_config_mut();
    t.max_steps = steps;
    t.val_check_steps = steps + 1;
    t.val_fraction = 0.0;
    t.early_stop_patience = None;
    t.windows_batch_size = WINDOWS;
    t.precision = precision;
    spec
}

fn series() -> nt_core::TimeSeries {
    nt_testing::synthetic::seasonal(24 * 7 * 40, 24, 3.0, 0.5, 42)
}

/// Each measurement trains `iters + 1` steps and sums the step-to-step times after the first,
/// so the setup (windowing, weight initialization) and the warm-up step are not counted.
fn train_steps(c: &mut Criterion) {
    let data = series();
    let mut group = c.benchmark_group("train_step");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(8));
    for arch in NeuralSpec::NAMES {
        for precision in [Precision::F32, Precision::Bf16] {
            let id = BenchmarkId::new(*arch, precision.as_str());
            let mut told = false;
            group.bench_function(id, |b| {
                b.iter_custom(|iters| {
                    let steps = iters as usize + 1;
                    let mut last: Option<Duration> = None;
                    let mut total = Duration::ZERO;
                    let trained = nt_neural::train(
                        &data,
                        &["y"],
                        &spec(arch, precision, steps),
                        &TrainOptions::default(),
                        &mut |p: &TrainProgress| {
                            if let Some(prev) = last {
                                total += p.elapsed - prev;
                            }
                            last = Some(p.elapsed);
                        },
                    )
                    .unwrap();
                    if let (false, Some(note)) = (told, &trained.report.engine.note) {
                        eprintln!("{arch} {}: {note}", precision.as_str());
                        told = true;
                    }
                    total
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, train_steps);
criterion_main!(benches);
