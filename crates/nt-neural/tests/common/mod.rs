//! Helpers shared by the parity tests: fixture paths, tensor comparisons, and the checks every
//! neuralforecast parity test runs (forward outputs, gradients over torch's Adam steps).
#![allow(clippy::unwrap_used, dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarBuilder;
use nt_core::Forecast;
use nt_neural::{Network, NeuralModel, NeuralSpec};

/// `tests/fixtures/NAME`.
pub(crate) fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The tensors of a fixture file.
pub(crate) fn load(name: &str) -> HashMap<String, Tensor> {
    candle_core::safetensors::load(fixture(name), &Device::Cpu).unwrap()
}

/// max |a − b| over every element (the shapes must agree).
pub(crate) fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar()
        .unwrap()
}

/// The spec of a fixture case, `tests/fixtures/CASE.json`.
pub(crate) fn spec(case: &str) -> NeuralSpec {
    serde_json::from_slice(&std::fs::read(fixture(&format!("{case}.json"))).unwrap()).unwrap()
}

/// The rows of a `[B, L]` tensor as f64 windows.
pub(crate) fn rows_f64(t: &Tensor) -> Vec<Vec<f64>> {
    t.to_vec2::<f32>()
        .unwrap()
        .into_iter()
        .map(|r| r.into_iter().map(f64::from).collect())
        .collect()
}

/// The imported `model` reproduces neuralforecast's forward of `CASE_io.safetensors` (`input`
/// [B, L] to `output` [B, H, Q]) to 1e-5 absolute, through its candle network and through the
/// public forecast path (identity scaler: the values as they are; point values, or each
/// quantile level). Returns the input windows and their forecasts for further checks.
pub(crate) fn check_forward_matches_nf(
    case: &str,
    model: &NeuralModel,
) -> (Vec<Vec<f64>>, Vec<Forecast>) {
    let io = load(&format!("{case}_io.safetensors"));
    let (input, expected) = (&io["input"], &io["output"]);
    let candle = model.network().forward(input).unwrap();
    let diff = max_abs_diff(&candle, expected);
    assert!(diff < 1e-5, "{case}: candle path differs from nf by {diff}");

    let (b, h, q) = expected.dims3().unwrap();
    let rows = rows_f64(input);
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
    (rows, forecasts)
}

/// Variables holding `tensor(name)` for each name, and a builder over them (so a network
/// built from it trains those variables).
pub(crate) fn vars_and_builder(
    names: impl IntoIterator<Item = String>,
    tensor: impl Fn(&str) -> Tensor,
) -> (Vec<(String, Var)>, VarBuilder<'static>) {
    let vars: Vec<(String, Var)> = names
        .into_iter()
        .map(|n| {
            let v = Var::from_tensor(&tensor(&n)).unwrap();
            (n, v)
        })
        .collect();
    let map: HashMap<String, Tensor> = vars
        .iter()
        .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
        .collect();
    let vb = VarBuilder::from_tensors(map, DType::F32, &Device::Cpu);
    (vars, vb)
}

/// Our gradient `ours` of weight `name` matches torch's `theirs` to `abs + rel · max|theirs|`;
/// `what` names the case (and step) in the message.
pub(crate) fn assert_gradient_close(
    what: &str,
    name: &str,
    ours: &Tensor,
    theirs: &Tensor,
    abs: f64,
    rel: f64,
) {
    let scale = f64::from(max_abs_diff(theirs, &theirs.zeros_like().unwrap()));
    let tol = abs + rel * scale;
    let diff = f64::from(max_abs_diff(ours, theirs));
    assert!(
        diff < tol,
        "{what}: gradient of {name} off by {diff} (scale {scale})"
    );
}

/// Torch's Adam steps on the MAE of the fixture batch (`input`, `train_y`, `train_losses`,
/// `stepK.NAME` weights before step K + 1, `gradK.NAME`): from torch's weights before each
/// step, the network `build` makes matches torch's loss to 1e-5 and every gradient to
/// `abs + rel · max|torch gradient|`.
pub(crate) fn check_adam_steps(
    case: &str,
    spec: &NeuralSpec,
    build: impl Fn(VarBuilder<'static>) -> Box<dyn Network>,
    abs: f64,
    rel: f64,
) {
    let initial = load(&format!("{case}.safetensors"));
    let io = load(&format!("{case}_io.safetensors"));
    let mut names: Vec<String> = spec.weight_shapes().into_iter().map(|(n, _)| n).collect();
    names.sort();
    let (x, y) = (&io["input"], &io["train_y"]);
    let mask = y.ones_like().unwrap();
    let torch_losses: Vec<f32> = io["train_losses"].to_vec1().unwrap();
    for (k, torch_loss) in torch_losses.iter().enumerate() {
        let step = k + 1;
        let (vars, vb) = vars_and_builder(names.iter().cloned(), |n| {
            if k == 0 {
                initial[n].clone()
            } else {
                io[&format!("step{k}.{n}")].clone()
            }
        });
        let net = build(vb);
        let out = net.forward(x).unwrap();
        let loss = nt_neural::losses::loss(&nt_neural::Loss::Mae, &out, y, &mask).unwrap();
        let l: f32 = loss.to_scalar().unwrap();
        assert!(
            (l - torch_loss).abs() < 1e-5,
            "{case} step {step}: loss {l} vs {torch_loss}"
        );
        let grads = loss.backward().unwrap();
        for (name, var) in &vars {
            let ours = grads.get(var.as_tensor()).unwrap();
            let theirs = &io[&format!("grad{step}.{name}")];
            assert_gradient_close(&format!("{case} step {step}"), name, ours, theirs, abs, rel);
        }
    }
}
