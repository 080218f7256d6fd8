//! Timings of the default-size NHITS (L = 480, H = 96, 3.68M weights), printed as JSON lines.
//! Ignored by default and never asserted on (timings depend on the machine's load); run
//! `cargo test -p nt-neural --release --test timing -- --ignored --nocapture`, once as is and once
//! with `RAYON_NUM_THREADS=1` to see the thread-pool cost at batch 1.
//! Peers on this machine (shared/anchors/README.md): torch forward batch 1 0.43 ms; neuralforecast
//! `predict()` one window 6.1 ms; one torch training step on 1024 windows 125 ms, on 256 41 ms.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use nt_core::{Horizon, Predict, TimeSeries};
use nt_neural::optim::Adam;
use nt_neural::{Loss, Nhits, NhitsConfig, Optimizer};

fn median_ms(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2] * 1e3
}

fn time<F: FnMut()>(reps: usize, f: F) -> f64 {
    time_min_median(reps, f).1
}

/// (min, median) in ms over `reps` calls after one warm-up; the minimum is the number least
/// disturbed by other processes on a shared machine.
fn time_min_median<F: FnMut()>(reps: usize, mut f: F) -> (f64, f64) {
    f();
    let mut v = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        f();
        v.push(t.elapsed().as_secs_f64());
    }
    let min = v.iter().copied().fold(f64::INFINITY, f64::min) * 1e3;
    (min, median_ms(v))
}

#[test]
#[ignore = "timing report, not a check"]
fn nhits_default_size_timings() {
    let cfg = NhitsConfig {
        input_size: 480,
        horizon: 96,
        ..NhitsConfig::default()
    };
    let dev = Device::Cpu;
    let varmap = VarMap::new();
    let net = Nhits::new(&cfg, 1, VarBuilder::from_varmap(&varmap, DType::F32, &dev)).unwrap();
    let mut vars: Vec<(String, candle_core::Var)> = varmap
        .data()
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into());

    let x1 = Tensor::randn(0f32, 1.0, (1, 480), &dev).unwrap();
    let (fwd1_min, fwd1) = time_min_median(200, || {
        net.forward(&x1).unwrap();
    });
    for b in [32usize, 256, 1024] {
        let x = Tensor::randn(0f32, 1.0, (b, 480), &dev).unwrap();
        let fwd = time(5, || {
            net.forward(&x).unwrap();
        });
        let y = Tensor::randn(0f32, 1.0, (b, 96), &dev).unwrap();
        let mask = y.ones_like().unwrap();
        let mut opt = Adam::new(Optimizer::Adam, 0.0, vars.clone()).unwrap();
        let (mut t_fwd, mut t_bwd, mut t_opt) = (vec![], vec![], vec![]);
        for _ in 0..6 {
            let t = Instant::now();
            let pred = net.forward(&x).unwrap();
            let l = nt_neural::losses::loss(&Loss::Mae, &pred, &y, &mask).unwrap();
            t_fwd.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let g = l.backward().unwrap();
            t_bwd.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            opt.step(&g, 1e-3).unwrap();
            t_opt.push(t.elapsed().as_secs_f64());
        }
        let (f, bw, o) = (median_ms(t_fwd), median_ms(t_bwd), median_ms(t_opt));
        println!(
            "{{\"case\":\"train_step\",\"batch\":{b},\"threads\":\"{threads}\",\"forward_ms\":{fwd:.2},\"train_forward_loss_ms\":{f:.2},\"backward_ms\":{bw:.2},\"adam_ms\":{o:.2},\"step_ms\":{:.2}}}",
            f + bw + o
        );
    }
    let history = TimeSeries::from_values("y", (0..480).map(|i| (i as f64 * 0.1).sin()).collect());
    let weights = varmap
        .data()
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect();
    let mut model = nt_neural::NeuralModel::from_weights(
        nt_neural::NeuralSpec::Nhits(cfg.clone()),
        weights,
        vec!["y".into()],
        Default::default(),
        &dev,
    )
    .unwrap();
    let h = Horizon::new(96).unwrap();
    let (predict_min, predict) = time_min_median(200, || {
        model.predict(&history, h).unwrap();
    });
    // Batch throughput through forecast_windows (the plain-Rust path, chunks of 32 in parallel)
    // against the candle forward at the same batch sizes.
    let long: Vec<f64> = (0..2000).map(|i| (i as f64 * 0.1).sin()).collect();
    for b in [32usize, 256, 1024] {
        let windows: Vec<&[f64]> = (0..b).map(|i| &long[i..i + 480]).collect();
        let fast = time(5, || {
            model.forecast_windows(&windows, 96).unwrap();
        });
        let x = Tensor::randn(0f32, 1.0, (b, 480), &dev).unwrap();
        let candle = time(5, || {
            net.forward(&x).unwrap();
        });
        println!(
            "{{\"case\":\"batch_forecast\",\"batch\":{b},\"threads\":\"{threads}\",\"forecast_windows_ms\":{fast:.2},\"windows_per_s\":{:.0},\"candle_forward_ms\":{candle:.2}}}",
            b as f64 / fast * 1e3
        );
    }
    model.set_precision(nt_neural::Precision::Bf16);
    let (bf16_min, bf16) = time_min_median(200, || {
        model.predict(&history, h).unwrap();
    });
    println!(
        "{{\"case\":\"single_window\",\"threads\":\"{threads}\",\"raw_forward_ms\":{fwd1:.3},\"raw_forward_min_ms\":{fwd1_min:.3},\"predict_api_ms\":{predict:.3},\"predict_api_min_ms\":{predict_min:.3},\"predict_api_bf16_ms\":{bf16:.3},\"predict_api_bf16_min_ms\":{bf16_min:.3},\"params\":{}}}",
        nt_neural::nhits::nhits_param_count(&cfg, 1)
    );
}

#[test]
#[ignore = "timing report, not a check"]
fn candle_matmul_gflops() {
    // Calibrates the machine: GFLOP/s of one [1024, 512] x [512, 512] f32 matmul in candle.
    let dev = Device::Cpu;
    let a = Tensor::randn(0f32, 1.0, (1024, 512), &dev).unwrap();
    let w = Tensor::randn(0f32, 1.0, (512, 512), &dev).unwrap();
    let ms = time(20, || {
        a.matmul(&w.t().unwrap()).unwrap();
    });
    let gflops = 2.0 * 1024.0 * 512.0 * 512.0 / (ms * 1e-3) / 1e9;
    println!("{{\"case\":\"matmul_1024x512x512\",\"ms\":{ms:.3},\"gflops\":{gflops:.1}}}");
}
