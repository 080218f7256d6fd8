//! DeepAR's sample paths are calibrated and reproducible. A seeded Student-t AR(1) series
//! (`x_t = 0.7·x_{t−1} + ε_t`, `ε ~ t(5)`, 6,000 points) trains a small DeepAR (2 × 24 LSTM,
//! 300 steps) on its first 4,000 points; every origin of the last 2,000 is forecast 4 steps
//! ahead by 200 sample paths, and the 80% band (the paths' 0.1 and 0.9 quantiles) must cover
//! 80% ± 3 points of the held-back values (about 8,000 points over 1,996 overlapping windows;
//! the binomial standard error of independent points would be 0.45 points, the overlap makes
//! it about twice that). A model whose paths ignored their own draws, or whose scale were off
//! by 20%, lands outside. Then: the same seed gives the same paths bit for bit, another seed
//! other paths, and a window's paths do not change when other windows join its call.
#![allow(clippy::unwrap_used)]

use nt_core::TimeSeries;
use nt_neural::deepar::DeepArConfig;
use nt_neural::distribution::Params;
use nt_neural::rng::Rng;
use nt_neural::{train, NeuralSpec, TrainConfig, TrainOptions, WindowInputs};

const L: usize = 24;
const H: usize = 4;
const N: usize = 6_000;
const N_TRAIN: usize = 4_000;

fn ar1() -> Vec<f64> {
    let noise = Params::StudentT {
        df: 5.0,
        loc: 0.0,
        scale: 1.0,
    };
    let mut rng = Rng::new(2024);
    let mut x = vec![0.0f64; N];
    for t in 1..N {
        x[t] = 0.7 * x[t - 1] + noise.sample(&mut rng);
    }
    x
}

#[test]
fn sample_paths_cover_and_reproduce() {
    let values = ar1();
    let cfg = DeepArConfig {
        input_size: L,
        horizon: H,
        lstm_hidden_size: 24,
        lstm_dropout: 0.0,
        train: TrainConfig {
            max_steps: 300,
            windows_batch_size: 256,
            lr: 5e-3,
            seed: 7,
            ..nt_neural::deepar::deepar_train_defaults()
        },
        ..DeepArConfig::default()
    };
    let data = TimeSeries::from_values("y", values[..N_TRAIN].to_vec());
    let spec = NeuralSpec::DeepAr(cfg);
    let model = train(&data, &["y"], &spec, &TrainOptions::default(), &mut |_| {})
        .unwrap()
        .model;
    assert!(model.has_paths());
    assert_eq!(model.quantiles().unwrap(), &[0.05, 0.1, 0.5, 0.9, 0.95]);
    let rows = model.input_size(); // L + 1
    assert_eq!(rows, L + 1);

    // Every origin of the held-back part whose H targets exist.
    let origins: Vec<usize> = (N_TRAIN..=N - H).collect();
    let windows: Vec<WindowInputs<'_>> = origins
        .iter()
        .map(|&o| WindowInputs::target(&values[o - rows..o]))
        .collect();
    let forecasts = model.forecast_paths(&windows, H, 200, 42).unwrap();
    let (mut inside, mut total) = (0usize, 0usize);
    for (f, &o) in forecasts.iter().zip(&origins) {
        assert_eq!(f.paths().len(), 200);
        let (lo, hi) = (f.quantile(0.1).unwrap(), f.quantile(0.9).unwrap());
        for t in 0..H {
            let y = values[o + t];
            inside += usize::from(lo[t] <= y && y <= hi[t]);
            total += 1;
        }
    }
    let coverage = inside as f64 / total as f64;
    eprintln!(
        "80% band coverage {:.4} over {total} points, {} windows",
        coverage,
        origins.len()
    );
    assert!(
        (coverage - 0.8).abs() <= 0.03,
        "80% band covers {coverage:.4} of {total} held-back points"
    );

    // Reproducible, seed-dependent and batch-invariant.
    let few = &windows[..5];
    let a = model.forecast_paths(few, H, 50, 1).unwrap();
    let b = model.forecast_paths(few, H, 50, 1).unwrap();
    let c = model.forecast_paths(few, H, 50, 2).unwrap();
    for i in 0..5 {
        assert_eq!(
            a[i].paths(),
            b[i].paths(),
            "window {i}: same seed, other paths"
        );
        assert_ne!(
            a[i].paths(),
            c[i].paths(),
            "window {i}: other seed, same paths"
        );
    }
    let alone = model.forecast_paths(&few[3..4], H, 50, 1).unwrap();
    assert_eq!(
        alone[0].paths(),
        a[3].paths(),
        "window 3 alone vs in a batch of 5"
    );
    // The point is the paths' mean.
    let mean0: f64 = a[0].paths().iter().map(|p| p[0]).sum::<f64>() / 50.0;
    assert!((a[0].point_values()[0] - mean0).abs() < 1e-9);
}
