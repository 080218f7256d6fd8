//! DeepAR and its distributions against neuralforecast 3.3.0 and scipy, fixtures made by
//! `tools/reference/neuralforecast/make_deepar_parity.py`:
//! - `deepar_distributions.json`: scipy's Student-t and Normal `logpdf`, `cdf` and `ppf`; ours
//!   must agree to 1e-6 (relative to `1 + |value|`).
//! - `deepar_small*`: a DeepAR (L 12, H 4, h_train 2, 2 × 8 LSTM, Student-t) after one
//!   neuralforecast fit step. Imported from its `state_dict`: the raw parameters of the first
//!   step for 6 fixed windows to 1e-5; the mean-feedback forecast of the fit series against
//!   `NeuralForecast.predict` to 1e-5; the NLL of one teacher-forced training batch to 1e-4
//!   relative and every weight's gradient to `1e-6 + 1e-4 · max|torch gradient|`.
#![allow(clippy::unwrap_used)]

mod common;

use candle_core::Tensor;
use common::{fixture, load, max_abs_diff, spec};
use nt_neural::distribution::Params;
use nt_neural::{import_neuralforecast, Architecture, NeuralSpec};

fn close(what: &str, ours: f64, theirs: f64, tol: f64) {
    assert!(
        (ours - theirs).abs() <= tol * (1.0 + theirs.abs()),
        "{what}: ours {ours}, scipy {theirs}"
    );
}

#[test]
fn distributions_match_scipy() {
    let cases: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(fixture("deepar_distributions.json")).unwrap())
            .unwrap();
    assert!(cases.len() >= 6);
    for c in &cases {
        let f = |k: &str| c[k].as_f64().unwrap();
        let list = |k: &str| -> Vec<f64> {
            c[k].as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect()
        };
        let p = match c["family"].as_str().unwrap() {
            "student_t" => Params::StudentT {
                df: f("df"),
                loc: f("loc"),
                scale: f("scale"),
            },
            _ => Params::Normal {
                loc: f("loc"),
                scale: f("scale"),
            },
        };
        for ((x, lp), cdf) in list("x").iter().zip(list("logpdf")).zip(list("cdf")) {
            close(&format!("{p:?} logpdf({x})"), p.log_pdf(*x), lp, 1e-6);
            close(&format!("{p:?} cdf({x})"), p.cdf(*x), cdf, 1e-6);
        }
        for (q, ppf) in list("p").iter().zip(list("ppf")) {
            close(&format!("{p:?} ppf({q})"), p.quantile(*q), ppf, 1e-6);
        }
    }
}

#[test]
fn deepar_matches_neuralforecast() {
    let spec = spec("deepar_small");
    let model = import_neuralforecast(&fixture("deepar_small.safetensors"), &spec).unwrap();
    let io = load("deepar_small_io.safetensors");
    // The first step's raw (df, loc, scale) for fixed windows of L + 1 values.
    let out = model.network().forward(&io["input"]).unwrap();
    let first = out.narrow(1, 0, 1).unwrap().squeeze(1).unwrap();
    let d = max_abs_diff(&first, &io["raw"]);
    assert!(d < 1e-5, "raw parameters differ from nf by {d}");

    // The mean-feedback forecast of the fit series' next H steps, against nf's predict.
    let series: Vec<f64> = io["series"]
        .to_vec1::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect();
    let want: Vec<f32> = io["predict_mean"].to_vec1().unwrap();
    let rows = model.input_size();
    let f = model
        .forecast_windows(&[&series[series.len() - rows..]], want.len())
        .unwrap();
    for (t, (got, w)) in f[0].point_values().iter().zip(&want).enumerate() {
        assert!(
            (got - f64::from(*w)).abs() < 1e-5,
            "step {t}: {got} vs nf {w}"
        );
    }
    // Bands: the exact quantiles of each step's distribution, ordered around the mean.
    let (lo, hi) = (f[0].quantile(0.05).unwrap(), f[0].quantile(0.95).unwrap());
    assert!(lo[0] < f[0].point_values()[0] && f[0].point_values()[0] < hi[0]);

    // One teacher-forced training batch: the NLL and every gradient.
    let NeuralSpec::DeepAr(cfg) = &spec else {
        panic!("the fixture spec is not deepar");
    };
    let weights = load("deepar_small.safetensors");
    let names: Vec<String> = spec.weight_shapes().into_iter().map(|(n, _)| n).collect();
    let (vars, vb) = common::vars_and_builder(names, |n| weights[n].clone());
    let net = cfg.build(3, vb).unwrap();
    let mut rng = nt_neural::rng::Rng::new(0);
    let pred = net.forward_train(&io["train_x"], &mut rng).unwrap();
    let y = &io["train_y"];
    let loss =
        nt_neural::losses::loss(&spec.train_config().loss, &pred, y, &y.ones_like().unwrap())
            .unwrap();
    let ours = f64::from(loss.to_scalar::<f32>().unwrap());
    let theirs = f64::from(io["train_loss"].to_vec1::<f32>().unwrap()[0]);
    assert!(
        (ours - theirs).abs() < 1e-4 * theirs.abs(),
        "NLL {ours} vs nf {theirs}"
    );
    let grads = loss.backward().unwrap();
    for (name, var) in &vars {
        let g: &Tensor = grads.get(var.as_tensor()).unwrap();
        common::assert_gradient_close(
            "deepar_small",
            name,
            g,
            &io[&format!("grad.{name}")],
            1e-6,
            1e-4,
        );
    }
}
