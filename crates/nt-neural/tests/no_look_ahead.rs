//! No look-ahead at inference, for every architecture of the list (`NeuralSpec::NAMES`): a
//! window's forecast depends on its own input rows only. Scoring every origin of a backtest in
//! one batch must not let a window see the others, which hold later rows: a layer that pooled
//! statistics over the batch (BatchNorm on batch statistics, a scaler fitted across windows)
//! would leak the future into the past. Each model (3 training steps on a seasonal series) must
//! forecast every window of a batch as it does alone (to float rounding), and changing the later
//! windows (the "future") must not change a bit of an earlier window's forecast. The backtest's own protocol
//! (training only on rows before the first origin) is proven once for every model in
//! `nt-eval/tests/backtest.rs`; TCN's encoder causality in `tests/tcn_parity.rs`.
#![allow(clippy::unwrap_used)]

use nt_neural::{NeuralSpec, TrainOptions};

const L: usize = 48;
const H: usize = 12;

#[test]
fn no_architecture_lets_a_window_see_later_windows() {
    let data = nt_testing::synthetic::seasonal(24 * 30, 24, 3.0, 0.5, 7);
    let values: Vec<f64> = data.column("y").unwrap().to_vec();
    for arch in NeuralSpec::NAMES {
        let mut spec = NeuralSpec::from_name(arch, L, H).unwrap();
        let t = spec.train_config_mut();
        t.max_steps = 3;
        t.windows_batch_size = 64;
        t.val_fraction = 0.0;
        let model = nt_neural::train(&data, &["y"], &spec, &TrainOptions::default(), &mut |_| {})
            .unwrap()
            .model;
        // Eight consecutive origins, 24 rows apart, earliest first; each window as long as the
        // model reads (recurrent models such as DeepAR read L + 1 rows).
        let n = model.input_size();
        let starts: Vec<usize> = (0..8).map(|k| 100 + 24 * k).collect();
        let windows: Vec<&[f64]> = starts.iter().map(|&s| &values[s..s + n]).collect();
        let batch = model.forecast_windows(&windows, H).unwrap();
        // Alone and in the batch: the same up to float rounding (the candle path's matmuls may
        // block a batch of 8 differently from a batch of 1; the fast paths give the same bits).
        for (i, w) in windows.iter().enumerate() {
            let alone = model.forecast_windows(&[w], H).unwrap();
            for (a, b) in alone[0].point_values().iter().zip(batch[i].point_values()) {
                assert!(
                    (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                    "{arch}: window {i} alone {a} but {b} in the batch"
                );
            }
        }
        // The later half of the batch replaced by a very different "future".
        let future: Vec<Vec<f64>> = windows[4..]
            .iter()
            .map(|w| w.iter().map(|v| 1e3 - 50.0 * v).collect())
            .collect();
        let mut changed: Vec<&[f64]> = windows[..4].to_vec();
        changed.extend(future.iter().map(Vec::as_slice));
        let again = model.forecast_windows(&changed, H).unwrap();
        for i in 0..4 {
            assert_eq!(
                again[i].point_values(),
                batch[i].point_values(),
                "{arch}: window {i}'s forecast moved when later windows changed"
            );
        }
    }
}
