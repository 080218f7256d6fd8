//! TCN through the public training loop: the plain layers train on the native engine (and land
//! where candle's autograd lands from the same seed, since their gradients agree to rounding:
//! the unit tests in `src/tcn/engine.rs`), the residual variant keeps candle.
#![allow(clippy::unwrap_used)]

use nt_core::{Column, TimeSeries};
use nt_neural::{train, NeuralSpec, TcnConfig, TrainConfig, TrainOptions};

fn cfg(residual: bool) -> TcnConfig {
    TcnConfig {
        input_size: 24,
        horizon: 6,
        dilations: vec![1, 2, 4, 8],
        encoder_hidden_size: 16,
        decoder_hidden_size: 16,
        residual,
        train: TrainConfig {
            max_steps: 60,
            windows_batch_size: 32,
            lr: 3e-3,
            val_size: Some(24),
            val_check_steps: 20,
            ..nt_neural::tcn::tcn_train_defaults()
        },
        ..TcnConfig::default()
    }
}

#[test]
fn plain_tcn_trains_natively_like_candle_and_the_residual_variant_keeps_candle() {
    let s = nt_testing::synthetic::seasonal(300, 12, 2.0, 0.1, 3);
    let spec = NeuralSpec::Tcn(cfg(false));
    let native = train(&s, &["y"], &spec, &TrainOptions::default(), &mut |_| {}).unwrap();
    let candle = train(
        &s,
        &["y"],
        &spec,
        &TrainOptions {
            force_candle: true,
            ..TrainOptions::default()
        },
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(native.report.engine.backend, "native");
    assert_eq!(candle.report.engine.backend, "candle");
    let log = &native.report.log;
    let (first, last) = (log[0].train_loss, log[log.len() - 1].train_loss);
    assert!(last < 0.7 * first, "native loss {first} -> {last}");
    let (a, b) = (
        native.report.best_val_loss.unwrap(),
        candle.report.best_val_loss.unwrap(),
    );
    assert!((a - b).abs() <= 0.02 * b, "native {a} vs candle {b}");

    let residual = train(
        &s,
        &["y"],
        &NeuralSpec::Tcn(cfg(true)),
        &TrainOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(residual.report.engine.backend, "candle");
}

/// 400 hourly rows: `y = 10 + 2·f + noise` with `f` a seeded ±1 driver known in advance and
/// `g` an unrelated historic channel.
fn driven(n: usize) -> TimeSeries {
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f64) / (1u64 << 31) as f64 * 2.0 - 1.0
    };
    let f: Vec<f64> = (0..n)
        .map(|_| if next() > 0.0 { 1.0 } else { -1.0 })
        .collect();
    let g: Vec<f64> = (0..n).map(|_| next()).collect();
    let y: Vec<f64> = f.iter().map(|v| 10.0 + 2.0 * v + 0.05 * next()).collect();
    let col = |name: &str, values: Vec<f64>| Column {
        name: name.into(),
        values,
    };
    TimeSeries::new(
        (0..n as i64).map(|i| i * 3_600_000).collect(),
        vec![col("y", y), col("f", f), col("g", g)],
    )
    .unwrap()
}

#[test]
fn exogenous_tcn_trains_natively_like_candle() {
    let s = driven(400);
    let mut c = cfg(false);
    c.futr_exog_list = vec!["f".into()];
    c.hist_exog_list = vec!["g".into()];
    let spec = NeuralSpec::Tcn(c);
    let native = train(&s, &["y"], &spec, &TrainOptions::default(), &mut |_| {}).unwrap();
    let candle = train(
        &s,
        &["y"],
        &spec,
        &TrainOptions {
            force_candle: true,
            ..TrainOptions::default()
        },
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(native.report.engine.backend, "native");
    let (a, b) = (
        native.report.best_val_loss.unwrap(),
        candle.report.best_val_loss.unwrap(),
    );
    assert!((a - b).abs() <= 0.02 * b, "native {a} vs candle {b}");
}
