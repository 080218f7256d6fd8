#![allow(clippy::unwrap_used)]

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

use super::*;
use crate::distribution::Probabilistic;

fn small() -> DeepArConfig {
    DeepArConfig {
        input_size: 6,
        horizon: 4,
        lstm_hidden_size: 5,
        lstm_dropout: 0.0,
        ..DeepArConfig::default()
    }
}

fn net(cfg: &DeepArConfig, seed: u64) -> DeepAr {
    let w = random_weights(cfg, seed);
    let vb = VarBuilder::from_tensors(w.into_iter().collect(), DType::F32, &Device::Cpu);
    DeepAr::new(cfg, cfg.train.loss.n_outputs(), vb).unwrap()
}

/// Seeded inputs in [-1, 1).
fn inputs(n: usize, seed: u64) -> Vec<f32> {
    let mut r = crate::rng::Rng::new(seed);
    (0..n).map(|_| (r.next_f64() * 2.0 - 1.0) as f32).collect()
}

#[test]
fn defaults_are_neuralforecasts_and_errors_are_named() {
    let c = DeepArConfig::default();
    c.validate_architecture().unwrap();
    assert_eq!(
        (c.h_train, c.lstm_n_layers, c.lstm_hidden_size),
        (1, 2, 128)
    );
    assert_eq!((c.lstm_dropout, c.samples), (0.1, 100));
    assert_eq!(c.train.loss, Loss::student_t());
    assert_eq!(c.train.windows_batch_size, 1024);
    assert_eq!(c.train.num_lr_decays, 3);
    let mut bad = small();
    bad.train.loss = Loss::Mae;
    assert!(bad
        .validate_architecture()
        .unwrap_err()
        .to_string()
        .contains("train.loss"));
    let bad = DeepArConfig {
        h_train: 5,
        ..small()
    };
    assert!(bad
        .validate_architecture()
        .unwrap_err()
        .to_string()
        .contains("h_train"));
    let bad = DeepArConfig {
        decoder_hidden_layers: 1,
        ..small()
    };
    assert!(bad
        .validate_architecture()
        .unwrap_err()
        .to_string()
        .contains("decoder_hidden_size"));
    // JSON: the train defaults survive a partial `train`.
    let c: DeepArConfig = serde_json::from_str(r#"{"train": {"max_steps": 5}}"#).unwrap();
    assert_eq!(c.train.loss, Loss::student_t());
}

#[test]
fn weight_list_matches_the_built_network() {
    // Every listed weight is read by the build (a VarMap records each `get`), same shapes.
    for cfg in [
        small(),
        DeepArConfig {
            decoder_hidden_layers: 2,
            decoder_hidden_size: 3,
            hist_exog_list: vec!["a".into()],
            futr_exog_list: vec!["b".into()],
            ..small()
        },
    ] {
        let vm = candle_nn::VarMap::new();
        let vb = VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu);
        DeepAr::new(&cfg, 3, vb).unwrap();
        let mut built: Vec<(String, Vec<usize>)> = vm
            .data()
            .lock()
            .unwrap()
            .iter()
            .map(|(n, v)| (n.clone(), v.dims().to_vec()))
            .collect();
        built.sort();
        let mut listed: Vec<(String, Vec<usize>)> = cfg
            .weights(3)
            .into_iter()
            .map(|w| (w.name, w.shape))
            .collect();
        listed.sort();
        assert_eq!(built, listed);
    }
}

/// With h_train = H and teacher forcing of the mean-feedback roll-forward's own means, the
/// training forward is the same computation as the inference forward (same LSTM positions,
/// same inputs), so both must give the same parameters; exogenous channels included, which
/// checks that both read the shifted rows alike.
#[test]
fn teacher_forcing_with_the_fed_back_means_reproduces_the_roll_forward() {
    let cfg = DeepArConfig {
        h_train: 4,
        hist_exog_list: vec!["a".into()],
        futr_exog_list: vec!["b".into()],
        ..small()
    };
    let n = net(&cfg, 3);
    let w = n.packed_input_size();
    let b = 3;
    let x = Tensor::from_vec(inputs(b * w, 5), (b, w), &Device::Cpu).unwrap();
    let out = n.forward(&x).unwrap(); // [B, H, 3]
    let means = out.narrow(2, 1, 1).unwrap().squeeze(2).unwrap(); // [B, H]
    let forced = Tensor::cat(&[&x, &means.narrow(1, 0, 3).unwrap()], 1).unwrap();
    let mut rng = crate::rng::Rng::new(0);
    let train = n.forward_train(&forced, &mut rng).unwrap();
    let diff = (train - out).unwrap().abs().unwrap().max_all().unwrap();
    assert!(diff.to_scalar::<f32>().unwrap() < 1e-5);
}

#[test]
fn sample_paths_are_seeded_per_window_and_batch_invariant() {
    let cfg = small();
    let n = net(&cfg, 4);
    let w = n.packed_input_size();
    let x = inputs(3 * w, 9);
    let seeds = [11, 12, 13];
    let (s, h) = (50, cfg.horizon);
    let all = n.sample_paths(&x, 3, s, &seeds).unwrap();
    assert_eq!(all.len(), 3 * s * h);
    // Window 1 alone, same seed: the same bits.
    let alone = n.sample_paths(&x[w..2 * w], 1, s, &seeds[1..2]).unwrap();
    assert_eq!(alone, all[s * h..2 * s * h]);
    // Another seed: other paths; paths differ from each other (they are draws).
    let other = n.sample_paths(&x[w..2 * w], 1, s, &[99]).unwrap();
    assert_ne!(other, alone);
    assert_ne!(alone[..h], alone[h..2 * h]);
}
