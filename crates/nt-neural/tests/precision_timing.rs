//! Single-window `predict` latency in f32 and bf16, NHITS at four window sizes and the linear
//! models, printed as a table and as JSON lines. Ignored by default and never asserted on
//! (timings depend on the machine's load); run
//! `cargo test -p nt-neural --release --test precision_timing -- --ignored --nocapture`.
//! Each case forces both paths ([`NeuralModel::force_precision`]) so the kernels are compared
//! whatever the run-time rule would pick, then reports what `set_precision(Bf16)` chooses.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::Instant;

use candle_core::{Device, Tensor};
use nt_core::{Horizon, Predict, TimeSeries};
use nt_neural::Init;
use nt_neural::{DLinearConfig, NLinearConfig, NeuralModel, NeuralSpec, NhitsConfig, Precision};

/// Weights drawn from each weight's init distribution (values do not change latency).
fn model(spec: NeuralSpec) -> NeuralModel {
    let dev = Device::Cpu;
    let weights: HashMap<String, Tensor> = spec
        .weight_specs()
        .into_iter()
        .map(|w| {
            let t = match w.init {
                Init::Uniform { bound } => {
                    Tensor::rand(-bound as f32, bound as f32, w.shape.as_slice(), &dev)
                }
                Init::Normal { std } => Tensor::randn(0f32, std as f32, w.shape.as_slice(), &dev),
                Init::Zeros => Tensor::zeros(w.shape.as_slice(), candle_core::DType::F32, &dev),
                Init::Ones => Tensor::ones(w.shape.as_slice(), candle_core::DType::F32, &dev),
            }
            .unwrap();
            (w.name, t)
        })
        .collect();
    NeuralModel::from_weights(spec, weights, vec!["y".into()], Default::default(), &dev).unwrap()
}

/// Median of `reps` timed calls (µs), after warm-up calls, in rounds alternating between the
/// two precisions so that a burst of load on the shared machine hits both alike.
fn medians(m: &mut NeuralModel, history: &TimeSeries, h: Horizon, reps: usize) -> (f64, f64) {
    let mut t = [Vec::new(), Vec::new()];
    for round in 0..10 {
        for (k, p) in [Precision::F32, Precision::Bf16].into_iter().enumerate() {
            m.force_precision(p);
            for _ in 0..reps / 50 {
                m.predict(history, h).unwrap();
            }
            for _ in 0..reps / 10 {
                let s = Instant::now();
                std::hint::black_box(m.predict(history, h).unwrap());
                t[k].push(s.elapsed().as_secs_f64() * 1e6);
            }
        }
        let _ = round;
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (med(&mut t[0]), med(&mut t[1]))
}

#[test]
#[ignore = "timing report, not a check"]
fn predict_f32_vs_bf16() {
    let mut cases: Vec<(String, NeuralSpec)> = Vec::new();
    for (l, h) in [(48, 12), (96, 24), (192, 48), (480, 96)] {
        cases.push((
            format!("nhits L{l} H{h}"),
            NeuralSpec::Nhits(NhitsConfig {
                input_size: l,
                horizon: h,
                ..NhitsConfig::default()
            }),
        ));
    }
    for (l, h, units) in [(24, 6, 16), (48, 12, 64), (96, 24, 128), (96, 24, 256)] {
        cases.push((
            format!("nhits-{units} L{l} H{h}"),
            NeuralSpec::Nhits(NhitsConfig {
                input_size: l,
                horizon: h,
                mlp_units: vec![[units, units]; 3],
                ..NhitsConfig::default()
            }),
        ));
    }
    for (l, h) in [(24, 6), (96, 24), (480, 96), (1440, 336)] {
        cases.push((
            format!("nlinear L{l} H{h}"),
            NeuralSpec::NLinear(NLinearConfig {
                input_size: l,
                horizon: h,
                ..NLinearConfig::default()
            }),
        ));
        cases.push((
            format!("dlinear L{l} H{h}"),
            NeuralSpec::DLinear(DLinearConfig {
                input_size: l,
                horizon: h,
                ..DLinearConfig::default()
            }),
        ));
    }
    let f = nt_neural::cpu::features();
    println!("cpu: {}", f.summary());
    println!(
        "{:<22} {:>10} {:>12} {:>12} {:>7}  set_precision(bf16) runs",
        "case", "params", "f32 µs", "bf16 µs", "ratio"
    );
    for (name, spec) in cases {
        let params = spec.param_count();
        let (l, h) = (spec.input_size(), spec.horizon());
        let mut m = model(spec);
        let history =
            TimeSeries::from_values("y", (0..l).map(|i| (i as f64 * 0.1).sin() + 5.0).collect());
        let hz = Horizon::new(h).unwrap();
        let reps = if params > 1_000_000 { 1000 } else { 5000 };
        let (f32_us, bf16_us) = medians(&mut m, &history, hz, reps);
        m.set_precision(Precision::Bf16);
        let chosen = m.precision();
        println!(
            "{name:<22} {params:>10} {f32_us:>12.1} {bf16_us:>12.1} {:>7.2}  {} ({})",
            bf16_us / f32_us,
            chosen.as_str(),
            m.precision_note().unwrap_or_default()
        );
        println!(
            "{{\"case\":\"{name}\",\"params\":{params},\"f32_us\":{f32_us:.1},\"bf16_us\":{bf16_us:.1},\"chosen\":\"{}\",\"cpu\":\"{}\"}}",
            chosen.as_str(),
            f.summary()
        );
    }
}

#[test]
#[ignore = "timing report, not a check"]
fn batch_forecast_f32_vs_bf16() {
    for (l, h) in [(48, 12), (480, 96)] {
        let mut m = model(NeuralSpec::Nhits(NhitsConfig {
            input_size: l,
            horizon: h,
            ..NhitsConfig::default()
        }));
        let long: Vec<f64> = (0..l + 1100)
            .map(|i| (i as f64 * 0.1).sin() + 5.0)
            .collect();
        for b in [4usize, 32, 1024] {
            let windows: Vec<&[f64]> = (0..b).map(|i| &long[i..i + l]).collect();
            let mut t = [Vec::new(), Vec::new()];
            for _ in 0..5 {
                for (k, p) in [Precision::F32, Precision::Bf16].into_iter().enumerate() {
                    m.force_precision(p);
                    m.forecast_windows(&windows, h).unwrap();
                    for _ in 0..(2048 / b).clamp(2, 40) {
                        let s = Instant::now();
                        std::hint::black_box(m.forecast_windows(&windows, h).unwrap());
                        t[k].push(s.elapsed().as_secs_f64() * 1e3);
                    }
                }
            }
            let med = |v: &mut Vec<f64>| {
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            };
            let (a, c) = (med(&mut t[0]), med(&mut t[1]));
            println!(
                "nhits L{l} H{h} batch {b:>4}: f32 {a:.3} ms, bf16 {c:.3} ms, ratio {:.2}",
                c / a
            );
        }
    }
}
