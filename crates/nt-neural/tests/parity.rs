//! Parity with neuralforecast 3.3.0 (torch 2.15): weights, inputs and outputs come from
//! `tools/reference/neuralforecast/make_parity.py`; see the README there for versions.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarBuilder;
use common::{fixture, max_abs_diff};
use nt_neural::optim::Adam;
use nt_neural::{import_neuralforecast, NeuralSpec, Nhits, NhitsConfig, Optimizer};

fn config(case: &str) -> NhitsConfig {
    serde_json::from_slice(&std::fs::read(fixture(&format!("{case}.json"))).unwrap()).unwrap()
}

fn io(case: &str) -> HashMap<String, Tensor> {
    candle_core::safetensors::load(fixture(&format!("{case}_io.safetensors")), &Device::Cpu)
        .unwrap()
}

/// Loads the fixture weights straight into `Nhits` and compares `forward` on the fixture batch
/// with neuralforecast's `NHITS.forward` output.
fn check_forward(case: &str) -> f32 {
    let cfg = config(case);
    let weights =
        candle_core::safetensors::load(fixture(&format!("{case}.safetensors")), &Device::Cpu)
            .unwrap();
    let net = Nhits::new(
        &cfg,
        cfg.train.loss.n_outputs(),
        VarBuilder::from_tensors(weights, DType::F32, &Device::Cpu),
    )
    .unwrap();
    let io = io(case);
    let got = net.forward(&io["input"]).unwrap();
    let diff = max_abs_diff(&got, &io["output"]);
    assert!(diff < 1e-5, "{case}: max |ours - neuralforecast| = {diff}");
    diff
}

#[test]
fn default_architecture_matches_neuralforecast() {
    // Max pooling [2, 2, 1], linear knots, ReLU, L=24, H=12, 8 windows: outputs agree to 1e-5.
    check_forward("nhits_small");
}

#[test]
fn quantile_avg_pool_nearest_matches_neuralforecast() {
    // Three quantile outputs (MQLoss), AvgPool1d with a partial window (L=25, k=3), nearest
    // knots, two blocks in the first stack, Tanh.
    check_forward("nhits_quantile_avg_nearest");
}

#[test]
fn cubic_dropout_selu_matches_neuralforecast() {
    // Cubic knots, max pooling with a partial window (L=17, k=4), dropout (shifts the layer
    // indices; inactive at inference), SELU.
    check_forward("nhits_cubic_dropout");
}

#[test]
fn import_gives_the_same_forecasts_through_predict() {
    // The user-facing import path: the fixture file + config -> a model whose Predict output is
    // the reference forecast of the first window.
    use nt_core::{Horizon, Predict, TimeSeries};
    let cfg = config("nhits_small");
    let model = import_neuralforecast(
        &fixture("nhits_small.safetensors"),
        &NeuralSpec::Nhits(cfg.clone()),
    )
    .unwrap();
    let io = io("nhits_small");
    let x: Vec<f64> = io["input"]
        .get(0)
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect();
    let expected: Vec<f32> = io["output"]
        .get(0)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let f = model
        .predict(&TimeSeries::from_values("y", x), Horizon::new(12).unwrap())
        .unwrap();
    for (a, e) in f.point_values().iter().zip(&expected) {
        assert!((a - f64::from(*e)).abs() < 1e-5, "{a} vs {e}");
    }
    // A config that disagrees with the weights is refused with the tensor named.
    let wrong = NhitsConfig {
        input_size: 30,
        ..cfg
    };
    let err = import_neuralforecast(
        &fixture("nhits_small.safetensors"),
        &NeuralSpec::Nhits(wrong),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("blocks.0.layers.0.weight"), "{err}");
}

#[test]
fn training_steps_match_torch() {
    // Three torch.optim.Adam steps (lr 1e-2) on the MAE of the fixture batch. Checked in two
    // well-conditioned halves, because Adam's first steps move a weight by about lr * sign(g), so
    // a gradient of 1e-9 that rounds differently moves it differently:
    //  (1) from torch's weights before step k, our loss matches torch's to 1e-5 and our gradients
    //      (through pooling, interpolation and the MLP) match torch's to 1e-5 + 1e-3 relative;
    //  (2) our Adam fed torch's gradients reproduces torch's weights after step k to 1e-6.
    let case = "nhits_small";
    let cfg = config(case);
    let initial =
        candle_core::safetensors::load(fixture(&format!("{case}.safetensors")), &Device::Cpu)
            .unwrap();
    let mut names: Vec<String> = initial.keys().cloned().collect();
    names.sort();
    let io = io(case);
    let (x, y) = (&io["input"], &io["train_y"]);
    let mask = y.ones_like().unwrap();
    let torch_losses: Vec<f32> = io["train_losses"].to_vec1().unwrap();
    // Our optimizer, stepping on torch's gradients.
    let opt_vars: Vec<(String, Var)> = names
        .iter()
        .map(|n| (n.clone(), Var::from_tensor(&initial[n]).unwrap()))
        .collect();
    let mut opt = Adam::new(Optimizer::Adam, 0.0, opt_vars.clone()).unwrap();
    for (k, torch_loss) in torch_losses.iter().enumerate() {
        let step = k + 1;
        let before: HashMap<String, Tensor> = names
            .iter()
            .map(|n| {
                let t = if k == 0 {
                    initial[n].clone()
                } else {
                    io[&format!("step{k}.{n}")].clone()
                };
                (n.clone(), t)
            })
            .collect();
        // (1) loss and gradients from torch's weights.
        let vars: Vec<(String, Var)> = names
            .iter()
            .map(|n| (n.clone(), Var::from_tensor(&before[n]).unwrap()))
            .collect();
        let map: HashMap<String, Tensor> = vars
            .iter()
            .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
            .collect();
        let net = Nhits::new(
            &cfg,
            1,
            VarBuilder::from_tensors(map, DType::F32, &Device::Cpu),
        )
        .unwrap();
        let loss =
            nt_neural::losses::loss(&nt_neural::Loss::Mae, &net.forward(x).unwrap(), y, &mask)
                .unwrap();
        let l: f32 = loss.to_scalar().unwrap();
        assert!(
            (l - torch_loss).abs() < 1e-5,
            "step {step}: loss {l} vs torch {torch_loss}"
        );
        let grads = loss.backward().unwrap();
        let mut torch_grads = HashMap::new();
        for (name, var) in &vars {
            let ours = grads.get(var.as_tensor()).unwrap();
            let theirs = &io[&format!("grad{step}.{name}")];
            let tol = 1e-5 + 1e-3 * f64::from(max_abs_diff(theirs, &theirs.zeros_like().unwrap()));
            let diff = f64::from(max_abs_diff(ours, theirs));
            assert!(
                diff < tol,
                "step {step}: gradient of {name} differs from torch by {diff} (tolerance {tol})"
            );
            torch_grads.insert(name.clone(), theirs.clone());
        }
        // (2) the update itself.
        opt.step_named(&torch_grads, 1e-2).unwrap();
        for (name, var) in &opt_vars {
            let diff = max_abs_diff(var.as_tensor(), &io[&format!("step{step}.{name}")]);
            assert!(
                diff < 1e-6,
                "step {step}: Adam update of {name} differs from torch by {diff}"
            );
        }
    }
}

#[test]
fn single_window_path_and_batched_path_match_neuralforecast() {
    // forecast_windows runs one window through the plain-Rust single-window path and a batch of 8
    // through candle; both must reproduce neuralforecast's outputs (every quantile band
    // included) to 1e-5 for all three fixture architectures.
    for case in [
        "nhits_small",
        "nhits_quantile_avg_nearest",
        "nhits_cubic_dropout",
    ] {
        let cfg = config(case);
        let model = import_neuralforecast(
            &fixture(&format!("{case}.safetensors")),
            &NeuralSpec::Nhits(cfg),
        )
        .unwrap();
        let io = io(case);
        let (b, h, q) = io["output"].dims3().unwrap();
        let expected: Vec<f32> = io["output"].flatten_all().unwrap().to_vec1().unwrap();
        let inputs: Vec<Vec<f64>> = (0..b)
            .map(|i| {
                io["input"]
                    .get(i)
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap()
                    .into_iter()
                    .map(f64::from)
                    .collect()
            })
            .collect();
        let refs: Vec<&[f64]> = inputs.iter().map(|v| v.as_slice()).collect();
        let batched = model.forecast_windows(&refs, h).unwrap();
        for (i, window) in refs.iter().enumerate() {
            let single = model.forecast_windows(&[window], h).unwrap().remove(0);
            for f in [&single, &batched[i]] {
                let bands: Vec<&[f64]> = if q == 1 {
                    vec![f.point_values()]
                } else {
                    f.quantiles()
                        .iter()
                        .map(|band| band.values.as_slice())
                        .collect()
                };
                assert_eq!(bands.len(), q);
                for (k, band) in bands.iter().enumerate() {
                    for (t, v) in band.iter().enumerate() {
                        let e = f64::from(expected[(i * h + t) * q + k]);
                        assert!(
                            (v - e).abs() < 1e-5,
                            "{case} window {i} step {t} output {k}: {v} vs {e}"
                        );
                    }
                }
            }
        }
    }
}

fn check_nbeats(case: &str) {
    let cfg: nt_neural::NBeatsConfig =
        serde_json::from_slice(&std::fs::read(fixture(&format!("{case}.json"))).unwrap()).unwrap();
    let spec = NeuralSpec::NBeats(cfg.clone());
    // Through the user-facing import (which must skip the stored `blocks.N.basis.*` tensors) ...
    let model = import_neuralforecast(&fixture(&format!("{case}.safetensors")), &spec).unwrap();
    let io = io(case);
    let (b, h, q) = io["output"].dims3().unwrap();
    let expected: Vec<f32> = io["output"].flatten_all().unwrap().to_vec1().unwrap();
    let inputs: Vec<Vec<f64>> = (0..b)
        .map(|i| {
            io["input"]
                .get(i)
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
                .into_iter()
                .map(f64::from)
                .collect()
        })
        .collect();
    let refs: Vec<&[f64]> = inputs.iter().map(|v| v.as_slice()).collect();
    let forecasts = model.forecast_windows(&refs, h).unwrap();
    for (i, f) in forecasts.iter().enumerate() {
        let bands: Vec<&[f64]> = if q == 1 {
            vec![f.point_values()]
        } else {
            f.quantiles()
                .iter()
                .map(|band| band.values.as_slice())
                .collect()
        };
        for (k, band) in bands.iter().enumerate() {
            for (t, v) in band.iter().enumerate() {
                let e = f64::from(expected[(i * h + t) * q + k]);
                assert!(
                    (v - e).abs() < 1e-5,
                    "{case} window {i} step {t} output {k}: {v} vs {e}"
                );
            }
        }
    }
    // ... and straight through the network.
    let weights =
        candle_core::safetensors::load(fixture(&format!("{case}.safetensors")), &Device::Cpu)
            .unwrap();
    let net = nt_neural::NBeats::new(
        &cfg,
        q,
        VarBuilder::from_tensors(weights, DType::F32, &Device::Cpu),
    )
    .unwrap();
    let diff = max_abs_diff(&net.forward(&io["input"]).unwrap(), &io["output"]);
    assert!(diff < 1e-5, "{case}: max |ours - neuralforecast| = {diff}");
}

#[test]
fn nbeats_default_stacks_match_neuralforecast() {
    // Identity, polynomial trend (n_basis 2) and seasonality (2 harmonics) blocks, L=24, H=12.
    check_nbeats("nbeats_small");
}

#[test]
fn nbeats_interpretable_quantiles_match_neuralforecast() {
    // Two trend blocks (Legendre, n_basis 3) and two seasonality blocks (3 harmonics), three
    // quantile outputs, L=20, H=10.
    check_nbeats("nbeats_interpretable_quantile");
}

/// Exogenous inputs (two historic channels, one future-known channel, average pooling in ceil
/// mode over L and L + H): our packed-input forward against neuralforecast's `NHITS.forward` with
/// `hist_exog` [B, L, 2] and `futr_exog` [B, L + H, 1].
#[test]
fn nhits_with_exogenous_inputs_matches_neuralforecast() {
    let case = "nhits_exog";
    let cfg = config(case);
    assert_eq!(cfg.hist_exog_list, ["h1", "h2"]);
    assert_eq!(cfg.futr_exog_list, ["f1"]);
    let weights =
        candle_core::safetensors::load(fixture(&format!("{case}.safetensors")), &Device::Cpu)
            .unwrap();
    let net = Nhits::new(
        &cfg,
        1,
        VarBuilder::from_tensors(weights, DType::F32, &Device::Cpu),
    )
    .unwrap();
    let io = io(case);
    let b = io["input"].dim(0).unwrap();
    // Packed layout: target [L], historic channels time-major [L × 2], future [(L + H) × 1].
    let packed = Tensor::cat(
        &[
            io["input"].clone(),
            io["hist"].reshape((b, ())).unwrap(),
            io["futr"].reshape((b, ())).unwrap(),
        ],
        1,
    )
    .unwrap();
    assert_eq!(packed.dim(1).unwrap(), cfg.packed_input_size());
    let got = net.forward(&packed).unwrap();
    let diff = max_abs_diff(&got, &io["output"]);
    assert!(diff < 1e-5, "{case}: max |ours - neuralforecast| = {diff}");
    // The exogenous channels matter: zeroing them changes the forecast.
    let zeroed = Tensor::cat(
        &[
            io["input"].clone(),
            io["hist"].zeros_like().unwrap().reshape((b, ())).unwrap(),
            io["futr"].zeros_like().unwrap().reshape((b, ())).unwrap(),
        ],
        1,
    )
    .unwrap();
    let other = net.forward(&zeroed).unwrap();
    assert!(max_abs_diff(&other, &io["output"]) > 1e-3);
}
