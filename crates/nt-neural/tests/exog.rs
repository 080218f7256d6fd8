//! Exogenous inputs end to end: a model that reads a future-known driver learns what a model
//! without it cannot, predicts only when given the driver's next H values, and its training
//! windows never read a row of the validation segment.
#![allow(clippy::unwrap_used)]

use nt_core::{Column, Horizon, Predict, TimeSeries};
use nt_neural::{train, NeuralSpec, NhitsConfig, TrainConfig, TrainOptions, WindowInputs};

const H: usize = 6;
const L: usize = 24;

/// 600 hourly rows: `y = 10 + 2·f + 0.05·noise`, where the driver `f` (a seeded ±1 random
/// sequence, known in advance like a schedule) is unpredictable from `y`'s own past; `g` is
/// an unrelated historic channel.
fn driven(n: usize) -> TimeSeries {
    driven_tampered(n, n)
}

/// [`driven`] with every value of every column from row `from` on replaced by 1e6.
fn driven_tampered(n: usize, from: usize) -> TimeSeries {
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
    let mut y: Vec<f64> = f.iter().map(|v| 10.0 + 2.0 * v + 0.05 * next()).collect();
    let (mut f, mut g) = (f, g);
    for col in [&mut y, &mut f, &mut g] {
        for v in col.iter_mut().skip(from) {
            *v = 1e6;
        }
    }
    let ts = (0..n as i64).map(|i| i * 3_600_000).collect();
    TimeSeries::new(
        ts,
        vec![
            Column {
                name: "y".into(),
                values: y,
            },
            Column {
                name: "f".into(),
                values: f,
            },
            Column {
                name: "g".into(),
                values: g,
            },
        ],
    )
    .unwrap()
}

fn config(futr: &[&str], hist: &[&str]) -> NhitsConfig {
    NhitsConfig {
        input_size: L,
        horizon: H,
        mlp_units: vec![[32, 32]],
        futr_exog_list: futr.iter().map(|s| s.to_string()).collect(),
        hist_exog_list: hist.iter().map(|s| s.to_string()).collect(),
        train: TrainConfig {
            max_steps: 500,
            windows_batch_size: 64,
            lr: 3e-3,
            val_size: Some(100),
            val_check_steps: 500,
            ..TrainConfig::default()
        },
        ..NhitsConfig::default()
    }
}

#[test]
fn a_future_known_driver_is_learned_and_required_to_predict() {
    let data = driven(600);
    let fit = |cfg: NhitsConfig| {
        train(
            &data,
            &["y"],
            &NeuralSpec::Nhits(cfg),
            &TrainOptions::default(),
            &mut |_| {},
        )
        .unwrap()
    };
    let without = fit(config(&[], &[]));
    let with = fit(config(&["f"], &["g"]));
    let (a, b) = (
        without.report.best_val_loss.unwrap(),
        with.report.best_val_loss.unwrap(),
    );
    // Without the driver the best any model can do is about E|2f| = 2 (MAE on the original
    // scale); with it, the forecast follows the driver (measured: 2.04 without, 0.09 with).
    assert!(a > 1.0, "without the driver: validation MAE {a}");
    assert!(b < 0.5 * a, "with the driver {b} vs without {a}");

    let model = with.model;
    let history = data.head(500);
    let future = data.slice(500..500 + H);
    // Predict without the driver's future values: refused, naming what is missing.
    let err = model
        .predict(&history, Horizon::new(H).unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("future") && err.contains('f'), "{err}");
    let forecast = model
        .predict_with_future(&history, "y", Some(&future), Horizon::new(H).unwrap())
        .unwrap();
    let truth = future.column("y").unwrap();
    let mae: f64 = forecast
        .point_values()
        .iter()
        .zip(truth)
        .map(|(p, t)| (p - t).abs())
        .sum::<f64>()
        / H as f64;
    println!("validation MAE without the driver {a:.3}, with it {b:.3}; out-of-sample {mae:.3}");
    assert!(mae < 0.5 * a, "out-of-sample MAE {mae}");

    // A future table that starts before the history ends is refused.
    let overlap = data.slice(499..499 + H);
    assert!(model
        .predict_with_future(&history, "y", Some(&overlap), Horizon::new(H).unwrap())
        .is_err());
    // Window inputs with a missing channel are refused.
    let y = history.column("y").unwrap();
    let w = WindowInputs {
        target: &y[y.len() - L..],
        hist: Vec::new(),
        futr: Vec::new(),
    };
    assert!(model.forecast_inputs(&[w], H).is_err());
}

/// No look-ahead in training: the rows of the validation segment (here, all of `f` and `g`
/// after row 500, and `y` there too) never reach a training window, so changing them leaves
/// the trained weights bit-identical when validation is off.
#[test]
fn training_windows_never_read_past_the_training_rows() {
    let data = driven(600);
    let changed = driven_tampered(600, 500);
    let mut cfg = config(&["f"], &["g"]);
    cfg.train.max_steps = 20;
    cfg.train.val_check_steps = 100;
    let weights = |series: &TimeSeries| {
        let m = train(
            series,
            &["y"],
            &NeuralSpec::Nhits(cfg.clone()),
            &TrainOptions::default(),
            &mut |_| {},
        )
        .unwrap()
        .model;
        m.weights()
            .iter()
            .map(|(_, t)| t.flatten_all().unwrap().to_vec1::<f32>().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(weights(&data), weights(&changed));
}

#[test]
fn exogenous_columns_are_validated() {
    let data = driven(200);
    let mut cfg = config(&["f"], &["f"]);
    assert!(
        NeuralSpec::Nhits(cfg.clone()).validate().is_err(),
        "listed twice"
    );
    cfg.hist_exog_list.clear();
    cfg.futr_exog_list = vec!["missing".into()];
    let err = train(
        &data,
        &["y"],
        &NeuralSpec::Nhits(cfg.clone()),
        &TrainOptions::default(),
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("missing"), "{err}");
    cfg.futr_exog_list = vec!["y".into()];
    let err = train(
        &data,
        &["y"],
        &NeuralSpec::Nhits(cfg),
        &TrainOptions::default(),
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("both a target and an exogenous"), "{err}");
}
