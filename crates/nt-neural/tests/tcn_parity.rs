//! TCN against neuralforecast 3.3.0 (torch 2.15): weights (the whole `state_dict`, with the
//! `causalconv.0` alias keys and MQLoss's `quantiles` buffer), inputs, outputs, gradients and
//! three Adam steps come from `tools/reference/neuralforecast/make_tcn_parity.py` (versions in
//! the README there). Inputs are un-normalized random walks around 10. Beside the parity checks:
//! causality of the encoder (both variants) and the residual variant's training.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use common::{fixture, max_abs_diff, rows_f64, spec};
use nt_neural::{
    import_neuralforecast, train, Architecture, NeuralSpec, Tcn, TcnConfig, TrainConfig,
    TrainOptions, WindowInputs,
};

/// The imported model's candle network and its public forecast path (the plain-Rust CPU path
/// here, identity scaler) both reproduce neuralforecast's forward to 1e-5 absolute: float32
/// rounding of sums of a few hundred terms of size ~10 stays near 1e-6, so 1e-5 leaves room for
/// a different summation order and nothing for a wrong tap, delay or layer.
fn check_forward(case: &str) {
    let spec = spec(case);
    let model = import_neuralforecast(&fixture(&format!("{case}.safetensors")), &spec).unwrap();
    assert!(model.has_fast_path(), "{case}: TCN has a CPU path");
    let (rows, forecasts) = common::check_forward_matches_nf(case, &model);
    let windows: Vec<&[f64]> = rows.iter().map(Vec::as_slice).collect();
    let (b, h) = (windows.len(), forecasts[0].point_values().len());
    // A batch gives every window the bits it gets alone.
    for i in [0, 3, b - 1] {
        let alone = model.forecast_windows(&windows[i..i + 1], h).unwrap();
        assert_eq!(alone[0], forecasts[i], "{case}: window {i}");
    }
}

#[test]
fn tcn_matches_neuralforecast() {
    check_forward("tcn_small");
}

#[test]
fn tcn_quantile_kernel3_tanh_matches_neuralforecast() {
    check_forward("tcn_quantile");
}

/// Exogenous inputs: two historic channels and one future-known channel, against
/// `TCN.forward` with `hist_exog` [B, L, 2] and `futr_exog` [B, L + H, 1], through the packed
/// candle forward and through `forecast_inputs` (1e-5, as above).
#[test]
fn tcn_with_exogenous_inputs_matches_neuralforecast() {
    let case = "tcn_exog";
    let spec = spec(case);
    assert_eq!(spec.hist_exog(), ["h1", "h2"]);
    assert_eq!(spec.futr_exog(), ["f1"]);
    let model = import_neuralforecast(&fixture(&format!("{case}.safetensors")), &spec).unwrap();
    let io = common::load(&format!("{case}_io.safetensors"));
    let (input, hist, futr) = (&io["input"], &io["hist"], &io["futr"]);
    let b = input.dim(0).unwrap();
    // Packed layout: target [L], historic channels time-major [L × 2], future [(L + H) × 1].
    let pack = |hist: &Tensor, futr: &Tensor| {
        Tensor::cat(
            &[
                input.clone(),
                hist.reshape((b, ())).unwrap(),
                futr.reshape((b, ())).unwrap(),
            ],
            1,
        )
        .unwrap()
    };
    let got = model.network().forward(&pack(hist, futr)).unwrap();
    let diff = max_abs_diff(&got, &io["output"]);
    assert!(diff < 1e-5, "{case}: max |ours - neuralforecast| = {diff}");
    // Every exogenous part matters: the historic channels, the future channel's input rows
    // (encoder) and its horizon rows (decoder).
    let (l, h) = (18, 6);
    let zero_h = pack(&hist.zeros_like().unwrap(), futr);
    let futr_in = Tensor::cat(
        &[
            futr.narrow(1, 0, l).unwrap().zeros_like().unwrap(),
            futr.narrow(1, l, h).unwrap(),
        ],
        1,
    )
    .unwrap();
    let futr_out = Tensor::cat(
        &[
            futr.narrow(1, 0, l).unwrap(),
            futr.narrow(1, l, h).unwrap().zeros_like().unwrap(),
        ],
        1,
    )
    .unwrap();
    for other in [zero_h, pack(hist, &futr_in), pack(hist, &futr_out)] {
        let y = model.network().forward(&other).unwrap();
        assert!(max_abs_diff(&y, &io["output"]) > 1e-4);
    }

    // The public path: per-window columns, identity scaler.
    let target = rows_f64(input);
    let hist: Vec<Vec<Vec<f32>>> = hist.to_vec3().unwrap();
    let futr: Vec<Vec<Vec<f32>>> = futr.to_vec3().unwrap();
    let col =
        |m: &Vec<Vec<f32>>, c: usize| -> Vec<f64> { m.iter().map(|r| f64::from(r[c])).collect() };
    let cols: Vec<(Vec<f64>, Vec<f64>, Vec<f64>)> = (0..b)
        .map(|i| (col(&hist[i], 0), col(&hist[i], 1), col(&futr[i], 0)))
        .collect();
    let inputs: Vec<WindowInputs<'_>> = (0..b)
        .map(|i| WindowInputs {
            target: &target[i],
            hist: vec![&cols[i].0, &cols[i].1],
            futr: vec![&cols[i].2],
        })
        .collect();
    let forecasts = model.forecast_inputs(&inputs, h).unwrap();
    let want: Vec<Vec<Vec<f32>>> = io["output"].to_vec3().unwrap();
    for (i, (f, w)) in forecasts.iter().zip(&want).enumerate() {
        for (t, (got, w)) in f.point_values().iter().zip(w).enumerate() {
            let d = (got - f64::from(w[0])).abs();
            assert!(d < 1e-5, "{case}: window {i} step {t}: off by {d}");
        }
    }
}

/// Three torch.optim.Adam steps (lr 1e-2) on the MAE of the fixture batch: from torch's weights
/// before step k, our loss matches torch's to 1e-5 (a mean of 48 terms of size ~0.5 in float32)
/// and every gradient matches to 1e-6 + 1e-4 of the tensor's largest gradient (relative
/// agreement of candle's autograd through the delayed-copy products with torch's conv1d
/// backward; a wrong tap or a missed alias would be off by order 1).
#[test]
fn tcn_loss_and_gradients_match_torch() {
    let case = "tcn_small";
    let spec = spec(case);
    let NeuralSpec::Tcn(cfg) = &spec else {
        panic!("{spec:?}")
    };
    let build = |vb| cfg.build(1, vb).unwrap();
    common::check_adam_steps(case, &spec, build, 1e-6, 1e-4);
}

#[test]
fn the_alias_keys_are_ignored_and_an_unknown_tensor_is_refused() {
    let w = common::load("tcn_small.safetensors");
    assert!(w.contains_key("hist_encoder.tcn.0.causalconv.0.weight"));
    let dir = tempfile::tempdir().unwrap();
    let mut w = w;
    w.insert(
        "hist_encoder.tcn.1.conv.extra".into(),
        Tensor::zeros(3, DType::F32, &Device::Cpu).unwrap(),
    );
    let path = dir.path().join("w.safetensors");
    candle_core::safetensors::save(&w, &path).unwrap();
    let err = import_neuralforecast(&path, &spec("tcn_small")).unwrap_err();
    assert!(
        err.to_string().contains("hist_encoder.tcn.1.conv.extra"),
        "{err}"
    );
    // A missing layer is named too.
    let mut w = common::load("tcn_small.safetensors");
    w.remove("context_adapter.bias");
    candle_core::safetensors::save(&w, &path).unwrap();
    let err = import_neuralforecast(&path, &spec("tcn_small")).unwrap_err();
    assert!(err.to_string().contains("context_adapter.bias"), "{err}");
}

/// A network with random weights, each `U(±1/sqrt(fan_in))` like its init rule (the values do
/// not matter for causality, only that they are not zero).
/// `n` values uniform in `[lo, hi)` from the seeded generator (candle's `Tensor::rand` is not
/// seedable: a test on its draws would not be repeatable).
fn uniform(rng: &mut nt_neural::rng::Rng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n)
        .map(|_| lo + (hi - lo) * rng.next_f64() as f32)
        .collect()
}

/// `cfg`'s candle network with weights drawn (seed 7) from their PyTorch initialization ranges.
fn random_net(cfg: &TcnConfig) -> Tcn {
    let mut rng = nt_neural::rng::Rng::new(7);
    let map: HashMap<String, Tensor> = cfg
        .weights(1)
        .into_iter()
        .map(|w| {
            let bound = match w.init {
                nt_neural::Init::Uniform { bound } => bound as f32,
                _ => 1.0,
            };
            let n = w.shape.iter().product();
            let values = uniform(&mut rng, n, -bound, bound);
            let t = Tensor::from_vec(values, w.shape.as_slice(), &Device::Cpu).unwrap();
            (w.name, t)
        })
        .collect();
    Tcn::new(
        cfg,
        1,
        VarBuilder::from_tensors(map, DType::F32, &Device::Cpu),
    )
    .unwrap()
}

/// Causality: changing any input (target, historic channel, the future channel's input rows)
/// after step `t` never changes an encoder output at or before `t` (the same bits), and does
/// change the output after `t`; for neuralforecast's layers (kernel 2 and 3) and for the
/// residual blocks (with their skip convolution).
#[test]
fn the_encoder_is_causal() {
    let base = TcnConfig {
        input_size: 20,
        horizon: 3,
        dilations: vec![1, 2, 4],
        encoder_hidden_size: 6,
        encoder_activation: nt_neural::Activation::Tanh,
        ..TcnConfig::default()
    };
    let variants = [
        TcnConfig {
            hist_exog_list: vec!["h".into()],
            futr_exog_list: vec!["f".into()],
            ..base.clone()
        },
        TcnConfig {
            kernel_size: 3,
            ..base.clone()
        },
        TcnConfig {
            residual: true,
            kernel_size: 3,
            ..base.clone()
        },
    ];
    for cfg in variants {
        let net = random_net(&cfg);
        let (l, w) = (cfg.input_size, cfg.packed_input_size());
        let b = 2;
        // Inputs in [-1, 1) and a perturbation of 0.5 keep tanh out of saturation, so a changed
        // later input visibly changes the later outputs (the second assertion).
        let mut rng = nt_neural::rng::Rng::new(11);
        let x =
            Tensor::from_vec(uniform(&mut rng, b * w, -1.0, 1.0), (b, w), &Device::Cpu).unwrap();
        let enc = net.encode(&x).unwrap(); // [B, L, C]
        for t in [0, 1, 5, 11, l - 2] {
            // Perturb every input step after t, in every channel of the packed row.
            let mut v: Vec<Vec<f32>> = x.to_vec2().unwrap();
            for row in &mut v {
                for (j, val) in row.iter_mut().enumerate() {
                    let step = if j < l {
                        j
                    } else if j < l + l * cfg.hist_exog_list.len() {
                        (j - l) / cfg.hist_exog_list.len()
                    } else {
                        (j - l - l * cfg.hist_exog_list.len()) / cfg.futr_exog_list.len().max(1)
                    };
                    if step > t {
                        *val += 0.5;
                    }
                }
            }
            let moved = Tensor::new(v, &Device::Cpu).unwrap();
            let enc2 = net.encode(&moved).unwrap();
            let before = |e: &Tensor| e.narrow(1, 0, t + 1).unwrap().flatten_all().unwrap();
            assert_eq!(
                before(&enc).to_vec1::<f32>().unwrap(),
                before(&enc2).to_vec1::<f32>().unwrap(),
                "residual {} kernel {}: step ≤ {t} saw the future",
                cfg.residual,
                cfg.kernel_size
            );
            let after = |e: &Tensor| e.narrow(1, t + 1, l - t - 1).unwrap();
            let moved_after = max_abs_diff(&after(&enc), &after(&enc2));
            assert!(
                moved_after > 1e-4,
                "residual {} kernel {}: inputs after {t} changed, later outputs moved only {moved_after}",
                cfg.residual,
                cfg.kernel_size
            );
        }
    }
}

/// The residual variant (with dropout) trains through the public loop: the training loss of
/// the last logging period is well below the first one's, and the model forecasts.
#[test]
fn the_residual_variant_trains_and_its_loss_falls() {
    let cfg = TcnConfig {
        input_size: 24,
        horizon: 6,
        dilations: vec![1, 2, 4],
        encoder_hidden_size: 16,
        decoder_hidden_size: 16,
        residual: true,
        dropout: 0.1,
        train: TrainConfig {
            max_steps: 120,
            windows_batch_size: 32,
            lr: 3e-3,
            val_check_steps: 20,
            ..nt_neural::tcn::tcn_train_defaults()
        },
        ..TcnConfig::default()
    };
    let s = nt_testing::synthetic::seasonal(300, 12, 2.0, 0.1, 3);
    let trained = train(
        &s,
        &["y"],
        &NeuralSpec::Tcn(cfg),
        &TrainOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    let log = &trained.report.log;
    assert!(log.len() >= 3, "{log:?}");
    let (first, last) = (log[0].train_loss, log[log.len() - 1].train_loss);
    assert!(last < 0.7 * first, "loss {first} -> {last}");
    let y: Vec<f64> = s.column("y").unwrap().to_vec();
    let f = trained
        .model
        .forecast_windows(&[&y[y.len() - 24..]], 6)
        .unwrap();
    assert!(f[0].point_values().iter().all(|v| v.is_finite()));
}
