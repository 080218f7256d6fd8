//! DLinear and NLinear against neuralforecast 3.3.0 (torch 2.15): weights, inputs, outputs,
//! gradients and three Adam steps come from `tools/reference/neuralforecast/make_linear_parity.py`
//! (versions in the README there). Inputs are un-normalized random walks around 10, so NLinear's
//! subtract-the-last-value and DLinear's replicate padding both matter.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarBuilder;
use common::{fixture, max_abs_diff};
use nt_neural::{import_neuralforecast, Architecture, NeuralSpec};

fn spec(case: &str) -> NeuralSpec {
    serde_json::from_slice(&std::fs::read(fixture(&format!("{case}.json"))).unwrap()).unwrap()
}

/// The candle network and the plain-Rust CPU path (which folds DLinear's decomposition into one
/// matrix) both reproduce neuralforecast's forward to 1e-5 on values around 10.
fn check_forward(case: &str) {
    let spec = spec(case);
    let model = import_neuralforecast(&fixture(&format!("{case}.safetensors")), &spec).unwrap();
    assert!(
        model.has_fast_path(),
        "{case}: linear models have a CPU path"
    );
    let io = common::load(&format!("{case}_io.safetensors"));
    let (input, expected) = (&io["input"], &io["output"]);
    let candle = model.network().forward(input).unwrap();
    let diff = max_abs_diff(&candle, expected);
    assert!(diff < 1e-5, "{case}: candle path differs from nf by {diff}");

    // Through the public forecast path (identity scaler: the values as they are).
    let (b, h, q) = expected.dims3().unwrap();
    let rows: Vec<Vec<f64>> = input
        .to_vec2::<f32>()
        .unwrap()
        .into_iter()
        .map(|r| r.into_iter().map(f64::from).collect())
        .collect();
    let windows: Vec<&[f64]> = rows.iter().map(Vec::as_slice).collect();
    let forecasts = model.forecast_windows(&windows, h).unwrap();
    let want: Vec<Vec<Vec<f32>>> = expected.to_vec3().unwrap();
    let levels = model.quantiles().map(<[f64]>::to_vec);
    for i in 0..b {
        for k in 0..q {
            let got: &[f64] = match &levels {
                None => forecasts[i].point_values(),
                Some(l) => forecasts[i].quantile(l[k]).unwrap(),
            };
            for t in 0..h {
                let d = (got[t] - f64::from(want[i][t][k])).abs();
                assert!(
                    d < 1e-5,
                    "{case}: window {i} step {t} output {k}: off by {d}"
                );
            }
        }
    }
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
    let initial = common::load(&format!("{case}.safetensors"));
    let io = common::load(&format!("{case}_io.safetensors"));
    let mut names: Vec<String> = spec.weight_shapes().into_iter().map(|(n, _)| n).collect();
    names.sort();
    let (x, y) = (&io["input"], &io["train_y"]);
    let mask = y.ones_like().unwrap();
    let torch_losses: Vec<f32> = io["train_losses"].to_vec1().unwrap();
    for (k, torch_loss) in torch_losses.iter().enumerate() {
        let step = k + 1;
        let vars: Vec<(String, Var)> = names
            .iter()
            .map(|n| {
                let t = if k == 0 {
                    initial[n].clone()
                } else {
                    io[&format!("step{k}.{n}")].clone()
                };
                (n.clone(), Var::from_tensor(&t).unwrap())
            })
            .collect();
        let map: HashMap<String, Tensor> = vars
            .iter()
            .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
            .collect();
        let vb = VarBuilder::from_tensors(map, DType::F32, &Device::Cpu);
        let net = match &spec {
            NeuralSpec::DLinear(c) => c.build(1, vb).unwrap(),
            NeuralSpec::NLinear(c) => c.build(1, vb).unwrap(),
            other => panic!("{other:?}"),
        };
        let loss =
            nt_neural::losses::loss(&nt_neural::Loss::Mae, &net.forward(x).unwrap(), y, &mask)
                .unwrap();
        let l: f32 = loss.to_scalar().unwrap();
        assert!(
            (l - torch_loss).abs() < 1e-5,
            "{case} step {step}: loss {l} vs {torch_loss}"
        );
        let grads = loss.backward().unwrap();
        for (name, var) in &vars {
            let ours = grads.get(var.as_tensor()).unwrap();
            let theirs = &io[&format!("grad{step}.{name}")];
            let tol = 1e-5 + 1e-3 * f64::from(max_abs_diff(theirs, &theirs.zeros_like().unwrap()));
            let diff = f64::from(max_abs_diff(ours, theirs));
            assert!(
                diff < tol,
                "{case} step {step}: gradient of {name} off by {diff}"
            );
        }
    }
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
