//! DLinear and NLinear against neuralforecast 3.3.0 (torch 2.15): weights, inputs, outputs,
//! gradients and three Adam steps come from `tools/reference/neuralforecast/make_linear_parity.py`
//! (versions in the README there). Inputs are un-normalized random walks around 10, so NLinear's
//! subtract-the-last-value and DLinear's replicate padding both matter.
#![allow(clippy::unwrap_used)]

mod common;

use candle_core::{DType, Device, Tensor};
use common::{fixture, spec};
use nt_neural::{import_neuralforecast, Architecture, NeuralSpec};

/// The candle network and the plain-Rust CPU path (which folds DLinear's decomposition into one
/// matrix) both reproduce neuralforecast's forward to 1e-5 on values around 10.
fn check_forward(case: &str) {
    let spec = spec(case);
    let model = import_neuralforecast(&fixture(&format!("{case}.safetensors")), &spec).unwrap();
    assert!(
        model.has_fast_path(),
        "{case}: linear models have a CPU path"
    );
    // The candle network, and the public forecast path (identity scaler: the values as they are).
    let (rows, forecasts) = common::check_forward_matches_nf(case, &model);
    let windows: Vec<&[f64]> = rows.iter().map(Vec::as_slice).collect();
    let h = forecasts[0].point_values().len();
    // A batch gives every window the bits it gets alone.
    let alone = model.forecast_windows(&windows[3..4], h).unwrap();
    assert_eq!(alone[0].point_values(), forecasts[3].point_values());
}

#[test]
fn dlinear_matches_neuralforecast() {
    check_forward("dlinear_small");
}

#[test]
fn dlinear_quantile_outputs_match_neuralforecast() {
    check_forward("dlinear_quantile");
}

#[test]
fn nlinear_matches_neuralforecast() {
    check_forward("nlinear_small");
}

/// Three torch.optim.Adam steps (lr 1e-2) on the MAE of the fixture batch: from torch's weights
/// before step k, our loss matches torch's to 1e-5 and our gradients match to 1e-5 + 1e-3
/// relative (the same two-half check as the NHITS parity test).
fn check_training(case: &str) {
    let spec = spec(case);
    let build = |vb| match &spec {
        NeuralSpec::DLinear(c) => c.build(1, vb).unwrap(),
        NeuralSpec::NLinear(c) => c.build(1, vb).unwrap(),
        other => panic!("{other:?}"),
    };
    common::check_adam_steps(case, &spec, build, 1e-5, 1e-3);
}

#[test]
fn dlinear_gradients_match_torch() {
    check_training("dlinear_small");
}

#[test]
fn nlinear_gradients_match_torch() {
    check_training("nlinear_small");
}

#[test]
fn an_unknown_tensor_of_the_architecture_is_refused() {
    // A state_dict with an extra `linear_trend.*` tensor is not this architecture.
    let dir = tempfile::tempdir().unwrap();
    let mut w = common::load("dlinear_small.safetensors");
    w.insert(
        "linear_trend.extra".into(),
        Tensor::zeros(3, DType::F32, &Device::Cpu).unwrap(),
    );
    let path = dir.path().join("w.safetensors");
    candle_core::safetensors::save(&w, &path).unwrap();
    let err = import_neuralforecast(&path, &spec("dlinear_small")).unwrap_err();
    assert!(err.to_string().contains("linear_trend.extra"), "{err}");
}
