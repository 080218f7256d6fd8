//! PatchTST against neuralforecast 3.3.0 (torch 2.15): weights (with non-trivial BatchNorm
//! running statistics), inputs, outputs, one training-mode forward's loss, gradients and updated
//! running statistics come from `tools/reference/neuralforecast/make_patchtst_parity.py`
//! (versions in the README there). Inputs are un-normalized random walks around 10, so RevIN
//! matters.
//!
//! Cases: `patchtst_small` (RevIN subtract-last, post-norm, residual attention, GELU, MAE),
//! `patchtst_quantile` (MQLoss 0.1/0.5/0.9, RevIN affine on the mean, ReLU, floor patching) and
//! `patchtst_prenorm` (no RevIN, no residual attention, pre-norm, fixed positional embedding).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use common::{fixture, max_abs_diff, spec};
use nt_neural::{import_neuralforecast, Architecture, NeuralSpec};

/// Import, the candle forward and the public forecast path (the plain-Rust CPU path on this
/// machine) reproduce neuralforecast's eval-mode forward. Tolerance 1e-5 absolute on outputs
/// around 10: float32 rounding of a different but equivalent order of operations (BatchNorm
/// folded to a scale and shift, softmax, GELU's erf) stays near 1e-6 there.
fn check_forward(case: &str) {
    let spec = spec(case);
    // The state_dict holds num_batches_tracked (int64) and sdp_attn.scale: ignored on import.
    let model = import_neuralforecast(&fixture(&format!("{case}.safetensors")), &spec).unwrap();
    assert!(model.has_fast_path(), "{case}: PatchTST has a CPU path");
    let (rows, forecasts) = common::check_forward_matches_nf(case, &model);
    let windows: Vec<&[f64]> = rows.iter().map(Vec::as_slice).collect();
    let (b, h) = (windows.len(), forecasts[0].point_values().len());
    // Batch invariance: a window gets the same bits alone, in the batch, and in a batch of
    // other windows (BatchNorm in inference uses running statistics, never the batch's).
    for i in [0, 3, b - 1] {
        let alone = model.forecast_windows(&windows[i..=i], h).unwrap();
        assert_eq!(
            alone[0].point_values(),
            forecasts[i].point_values(),
            "{case}"
        );
    }
    let mut reversed = windows.clone();
    reversed.reverse();
    let back = model.forecast_windows(&reversed, h).unwrap();
    assert_eq!(back[b - 1].point_values(), forecasts[0].point_values());
}

#[test]
fn patchtst_matches_neuralforecast() {
    check_forward("patchtst_small");
}

#[test]
fn patchtst_quantile_affine_revin_matches_neuralforecast() {
    check_forward("patchtst_quantile");
}

#[test]
fn patchtst_prenorm_without_revin_matches_neuralforecast() {
    check_forward("patchtst_prenorm");
}

/// One training-mode forward (dropout 0, BatchNorm on the batch's statistics) of the fixture
/// batch from nf's weights: our MAE matches torch's to 1e-5 absolute, every gradient to
/// 1e-5 + 1e-4 · max|torch gradient| (float32 sums over 8 windows × patches in another order),
/// no other variable gets a gradient, and the running statistics after the forward match torch's
/// to 1e-5 (momentum 0.1, unbiased variance).
fn check_training(case: &str) {
    let spec = spec(case);
    let NeuralSpec::PatchTst(cfg) = &spec else {
        panic!("{spec:?}")
    };
    let initial = common::load(&format!("{case}.safetensors"));
    let io = common::load(&format!("{case}_io.safetensors"));
    let names = spec.weight_shapes().into_iter().map(|(n, _)| n);
    let (vars, vb) = common::vars_and_builder(names, |n| initial[n].clone());
    let net = cfg.build(1, vb).unwrap();
    let (x, y) = (&io["input"], &io["train_y"]);
    let mask = y.ones_like().unwrap();
    let mut rng = nt_neural::rng::Rng::new(0);
    let pred = net.forward_train(x, &mut rng).unwrap();
    let loss = nt_neural::losses::loss(&nt_neural::Loss::Mae, &pred, y, &mask).unwrap();
    let l: f32 = loss.to_scalar().unwrap();
    let torch_loss: f32 = io["train_loss"].to_vec1::<f32>().unwrap()[0];
    assert!(
        (l - torch_loss).abs() < 1e-5,
        "{case}: loss {l} vs {torch_loss}"
    );
    let grads = loss.backward().unwrap();
    let mut checked = 0;
    for (name, var) in &vars {
        let ours = grads.get(var.as_tensor());
        match io.get(&format!("grad1.{name}")) {
            Some(theirs) => {
                let ours = ours.unwrap_or_else(|| panic!("{case}: no gradient for {name}"));
                common::assert_gradient_close(case, name, ours, theirs, 1e-5, 1e-4);
                checked += 1;
            }
            None => {
                // Running statistics and a fixed positional embedding have no gradient.
                assert!(ours.is_none(), "{case}: {name} has a gradient torch lacks");
            }
        }
        if let Some(after) = io.get(&format!("after1.{name}")) {
            let diff = max_abs_diff(var.as_tensor(), after);
            assert!(
                diff < 1e-5,
                "{case}: {name} after one forward off by {diff}"
            );
            let before = max_abs_diff(&initial[name], after);
            assert!(before > 1e-4, "{case}: {name} should have moved");
        }
    }
    let expected = io.keys().filter(|k| k.starts_with("grad1.")).count();
    assert_eq!(checked, expected, "{case}: every torch gradient compared");
}

#[test]
fn patchtst_gradients_and_running_stats_match_torch() {
    check_training("patchtst_small");
}

#[test]
fn patchtst_prenorm_gradients_match_torch() {
    check_training("patchtst_prenorm");
}

#[test]
fn an_unknown_tensor_of_the_architecture_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = common::load("patchtst_small.safetensors");
    w.insert(
        "model.backbone.encoder.layers.7.ff.0.weight".into(),
        Tensor::zeros(3, DType::F32, &Device::Cpu).unwrap(),
    );
    let path = dir.path().join("w.safetensors");
    candle_core::safetensors::save(&w, &path).unwrap();
    let err = import_neuralforecast(&path, &spec("patchtst_small")).unwrap_err();
    assert!(err.to_string().contains("layers.7.ff.0.weight"), "{err}");
    // A tensor of the wrong shape is refused too, naming it.
    let mut w = common::load("patchtst_small.safetensors");
    w.insert(
        "model.backbone.W_pos".into(),
        Tensor::zeros((3, 16), DType::F32, &Device::Cpu).unwrap(),
    );
    candle_core::safetensors::save(&w, &path).unwrap();
    let err = import_neuralforecast(&path, &spec("patchtst_small")).unwrap_err();
    assert!(err.to_string().contains("W_pos"), "{err}");
}

/// A few training steps through the public `train` (the native engine, dropout 0.2) move the
/// BatchNorm running statistics away from their 0 / 1 start; the saved model holds the moved
/// values, and the loaded model (built from plain tensors) forecasts with them: the same
/// forecast bits as the trained model, and different forecasts once the statistics are reset.
#[test]
fn trained_running_stats_are_saved_and_used_after_loading() {
    use nt_core::{Horizon, Predict};
    let dir = tempfile::tempdir().unwrap();
    let series = nt_testing::synthetic::seasonal(200, 12, 2.0, 0.1, 3);
    let mut spec = spec("patchtst_small");
    {
        let t = spec.train_config_mut();
        t.max_steps = 4;
        t.windows_batch_size = 16;
        t.val_check_steps = 2;
        t.lr = 1e-3;
    }
    if let NeuralSpec::PatchTst(c) = &mut spec {
        c.dropout = 0.2;
    }
    let opts = nt_neural::TrainOptions {
        out_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let trained = nt_neural::train(&series, &["y"], &spec, &opts, &mut |_| {}).unwrap();
    let stat = |m: &nt_neural::NeuralModel, name: &str| -> Vec<f32> {
        let t = &m.weights().iter().find(|(n, _)| n == name).unwrap().1;
        t.to_vec1().unwrap()
    };
    let rm = "model.backbone.encoder.layers.1.norm_ffn.1.running_mean";
    let rv = "model.backbone.encoder.layers.0.norm_attn.1.running_var";
    let moved = stat(&trained.model, rm);
    assert!(moved.iter().any(|v| v.abs() > 1e-3), "{moved:?}");
    assert!(stat(&trained.model, rv)
        .iter()
        .any(|v| (v - 1.0).abs() > 1e-3));
    let loaded = nt_neural::load(dir.path()).unwrap();
    assert_eq!(stat(&loaded, rm), moved);
    let h = Horizon::new(8).unwrap();
    let f = loaded.predict(&series, h).unwrap();
    assert_eq!(f, trained.model.predict(&series, h).unwrap());
    // The running statistics matter: with them reset, the forecast changes.
    let reset: HashMap<String, Tensor> = loaded
        .weights()
        .iter()
        .map(|(n, t)| {
            let t = if n.ends_with("running_mean") {
                t.zeros_like().unwrap()
            } else {
                t.clone()
            };
            (n.clone(), t)
        })
        .collect();
    let other = nt_neural::NeuralModel::from_weights(
        loaded.spec().clone(),
        reset,
        vec!["y".into()],
        Default::default(),
        &Device::Cpu,
    )
    .unwrap();
    assert_ne!(other.predict(&series, h).unwrap(), f);
}

/// Single-window latency of the default PatchTST (L 336, H 96, D 128, 16 heads, 3 layers):
/// the plain-Rust path against candle, printed, never asserted (run with `--ignored
/// --nocapture`; PyTorch's number for the same network comes from a torch eager loop, see the
/// report in the commit).
#[test]
#[ignore]
fn single_window_latency() {
    let cfg = nt_neural::PatchTstConfig::default();
    let spec = NeuralSpec::PatchTst(cfg);
    let mut rng = nt_neural::rng::Rng::new(1);
    let weights: HashMap<String, Tensor> = spec
        .weight_specs()
        .into_iter()
        .map(|w| {
            let v: Vec<f32> = (0..w.len())
                .map(|_| {
                    (rng.next_f64() as f32 - 0.5) * 0.2
                        + if w.name.ends_with("var") { 1.0 } else { 0.0 }
                })
                .collect();
            (
                w.name.clone(),
                Tensor::from_vec(v, w.shape.as_slice(), &Device::Cpu).unwrap(),
            )
        })
        .collect();
    let model = nt_neural::NeuralModel::from_weights(
        spec,
        weights,
        vec!["y".into()],
        Default::default(),
        &Device::Cpu,
    )
    .unwrap();
    let window: Vec<f64> = (0..336).map(|i| 10.0 + (i as f64 * 0.1).sin()).collect();
    let x = Tensor::from_vec(
        window.iter().map(|&v| v as f32).collect::<Vec<_>>(),
        (1, 336),
        &Device::Cpu,
    )
    .unwrap();
    let time = |f: &dyn Fn()| {
        for _ in 0..20 {
            f();
        }
        let n = 300;
        let t = std::time::Instant::now();
        for _ in 0..n {
            f();
        }
        t.elapsed().as_secs_f64() / f64::from(n) * 1e6
    };
    let fast = time(&|| {
        model.forecast_windows(&[&window], 96).unwrap();
    });
    if std::env::var("NT_FAST_ONLY").is_ok() {
        println!("patchtst default, 1 window: fast path {fast:.0} us");
        return;
    }
    let candle = time(&|| {
        model.network().forward(&x).unwrap();
    });
    println!("patchtst default, 1 window: fast path {fast:.0} us, candle {candle:.0} us");
}
