//! The precision of the plain-Rust CPU path: what `set_precision(Bf16)` runs on this CPU and
//! why (the run-time rule of `NeuralModel::set_precision`), bf16 forecasts within the documented
//! 1% (relative) of f32's, and batch invariance in both precisions.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use nt_core::{Horizon, Predict, TimeSeries};
use nt_neural::{Init, NLinearConfig, NeuralModel, NeuralSpec, NhitsConfig, Precision};

/// A model with weights drawn from each weight's init distribution by a fixed-seed generator.
fn model(spec: NeuralSpec) -> NeuralModel {
    let dev = Device::Cpu;
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 40) as f64 / (1u64 << 24) as f64 * 2.0 - 1.0
    };
    let weights: HashMap<String, Tensor> = spec
        .weight_specs()
        .into_iter()
        .map(|w| {
            let n: usize = w.shape.iter().product();
            let v: Vec<f32> = (0..n)
                .map(|_| match w.init {
                    Init::Uniform { bound } => (uniform() * bound) as f32,
                    Init::Normal { std } => (uniform() * std) as f32,
                    Init::Zeros => 0.0,
                    Init::Ones => 1.0,
                })
                .collect();
            (
                w.name,
                Tensor::from_vec(v, w.shape.as_slice(), &dev).unwrap(),
            )
        })
        .collect();
    let m = NeuralModel::from_weights(spec, weights, vec!["y".into()], Default::default(), &dev)
        .unwrap();
    assert!(m.weights().iter().all(|(_, t)| t.dtype() == DType::F32));
    m
}

fn nhits(units: usize) -> NeuralModel {
    model(NeuralSpec::Nhits(NhitsConfig {
        input_size: 48,
        horizon: 12,
        mlp_units: vec![[units, units]; 3],
        ..NhitsConfig::default()
    }))
}

fn history(n: usize) -> TimeSeries {
    TimeSeries::from_values(
        "y",
        (0..n)
            .map(|i| (i as f64 * 0.3).sin() * 2.0 + (i as f64 * 0.05).cos() + 10.0)
            .collect(),
    )
}

fn simd_cpu() -> bool {
    nt_neural::cpu::features().f32_path() != "scalar"
}

/// A tiny model (under 32 KiB of f32 weights) keeps f32 when bf16 is asked for, on any CPU,
/// and says why; asking for f32 again clears the note.
#[test]
fn tiny_models_fall_back_to_f32_and_say_why() {
    for mut m in [
        nhits(8),
        model(NeuralSpec::NLinear(NLinearConfig {
            input_size: 24,
            horizon: 6,
            ..NLinearConfig::default()
        })),
    ] {
        assert!(m.f32_weight_bytes() < 32 * 1024);
        let exact = m.predict(&history(60), Horizon::new(6).unwrap()).unwrap();
        m.set_precision(Precision::Bf16);
        assert_eq!(m.precision(), Precision::F32);
        let note = m.precision_note().unwrap();
        assert!(note.contains("f32 runs"), "{note}");
        // What runs is the exact f32 network.
        assert_eq!(
            m.predict(&history(60), Horizon::new(6).unwrap()).unwrap(),
            exact
        );
        m.set_precision(Precision::F32);
        assert_eq!(m.precision_note(), None);
    }
}

/// A model past the threshold runs bf16 on a CPU with a SIMD path (f32 on one without), and
/// forced bf16 forecasts stay within 1% (relative) of f32's on any CPU.
#[test]
fn bf16_runs_where_it_wins_and_stays_within_one_percent() {
    let mut m = nhits(64);
    assert!(m.f32_weight_bytes() > 32 * 1024);
    let h = Horizon::new(12).unwrap();
    let s = history(200);
    let exact = m.predict(&s, h).unwrap().point_values().to_vec();
    m.set_precision(Precision::Bf16);
    let want = if simd_cpu() {
        Precision::Bf16
    } else {
        Precision::F32
    };
    assert_eq!(m.precision(), want, "{:?}", m.precision_note());
    let note = m.precision_note().unwrap();
    assert!(
        note.starts_with(want.as_str()) || note.contains("f32 runs"),
        "{note}"
    );
    m.force_precision(Precision::Bf16);
    assert_eq!(m.precision(), Precision::Bf16);
    let half = m.predict(&s, h).unwrap().point_values().to_vec();
    assert_ne!(exact, half, "bf16 weights must change the last bits");
    for (a, b) in exact.iter().zip(&half) {
        assert!(((a - b) / a).abs() < 1e-2, "{a} vs {b}");
    }
    // Deterministic: the same bits on every call.
    assert_eq!(m.predict(&s, h).unwrap().point_values(), half.as_slice());
    m.set_precision(Precision::F32);
    assert_eq!(m.predict(&s, h).unwrap().point_values(), exact.as_slice());
}

/// In both precisions a window's forecast has the same bits alone, among 3 and among 70
/// (three chunks of the CPU path, run in parallel).
#[test]
fn both_precisions_are_batch_invariant() {
    let mut m = nhits(64);
    let s = history(48 + 3 * 70);
    let values = s.column("y").unwrap();
    let windows: Vec<&[f64]> = (0..70).map(|i| &values[i * 3..i * 3 + 48]).collect();
    for p in [Precision::F32, Precision::Bf16] {
        m.force_precision(p);
        let alone: Vec<Vec<f64>> = windows
            .iter()
            .map(|w| {
                m.forecast_windows(&[w], 12).unwrap()[0]
                    .point_values()
                    .to_vec()
            })
            .collect();
        for n in [3usize, 70] {
            for (i, f) in m
                .forecast_windows(&windows[..n], 12)
                .unwrap()
                .iter()
                .enumerate()
            {
                assert_eq!(
                    f.point_values(),
                    alone[i].as_slice(),
                    "{p:?}: window {i} of {n}"
                );
            }
        }
    }
}
