//! The native engine against candle's autograd on the same weights: every architecture with a
//! native graph, over the pooling kinds, heads, activations, dropout and losses it covers.
//! Outputs must agree to 1e-5 and every gradient to 1e-4 relative (of the gradient's largest
//! magnitude): the tolerances every model's parity test uses; the two differ only in summation
//! order.

use candle_core::{Device, Tensor};

use super::test_support::{random_weights, RandomWeights};
use super::ParamLayout;
use crate::arch::NeuralSpec;
use crate::config::{Activation, Loss, NhitsConfig, Pooling};
use crate::nbeats::NBeatsConfig;
use crate::rng::Rng;

/// Runs one forward + loss + backward both ways on `b` random windows and compares.
fn compare(spec: &NeuralSpec, b: usize, seed: u64) {
    let dev = Device::Cpu;
    // Random weights in name order, as training initializes them.
    let RandomWeights { net, vars, flat } = random_weights(spec, seed, |_, u| u * 0.4);
    let (graph, layout): (_, ParamLayout) = spec.native_graph().unwrap().expect("native graph");
    let mut graph = graph;
    assert_eq!(layout.len(), flat.len());
    let (l, h) = (spec.input_size(), spec.horizon());
    let q = spec.train_config().loss.n_outputs();
    let x: Vec<f32> = (0..b * l)
        .map(|i| ((i as f32) * 0.37).sin() + (i / l) as f32 * 0.1)
        .collect();
    let y: Vec<f32> = (0..b * h).map(|i| ((i as f32) * 0.23).cos()).collect();
    let mask: Vec<f32> = (0..b * h)
        .map(|i| if i % 7 == 3 { 0.0 } else { 1.0 })
        .collect();

    // candle: forward (dropout from a fresh generator), loss, autograd.
    let xt = Tensor::from_vec(x.clone(), (b, l), &dev).unwrap();
    let yt = Tensor::from_vec(y.clone(), (b, h), &dev).unwrap();
    let mt = Tensor::from_vec(mask.clone(), (b, h), &dev).unwrap();
    let pred = net.forward_train(&xt, &mut Rng::new(99)).unwrap();
    let loss = crate::losses::loss(&spec.train_config().loss, &pred, &yt, &mt).unwrap();
    let grads = loss.backward().unwrap();
    let pred_c = pred.flatten_all().unwrap().to_vec1::<f32>().unwrap();

    // native: the same.
    let out = graph
        .forward(&flat, &x, b, Some(&mut Rng::new(99)))
        .unwrap()
        .to_vec();
    for (i, (a, e)) in out.iter().zip(&pred_c).enumerate() {
        assert!(
            (a - e).abs() <= 1e-5 * (1.0 + e.abs()),
            "output {i}: {a} vs {e}"
        );
    }
    let mut dout = vec![0f32; out.len()];
    let value = super::loss::loss_and_grad(
        &spec.train_config().loss,
        &out,
        &y,
        &mask,
        (h, q),
        Some(&mut dout),
    )
    .unwrap();
    let candle_value = f64::from(loss.to_scalar::<f32>().unwrap());
    assert!((value - candle_value).abs() <= 1e-5 * (1.0 + candle_value.abs()));
    let mut g = vec![f32::NAN; flat.len()];
    graph.backward(&flat, &mut dout, &mut g).unwrap();
    for (i, (name, var)) in vars.iter().enumerate() {
        let expect = grads
            .get(var.as_tensor())
            .map(|t| t.flatten_all().unwrap().to_vec1::<f32>().unwrap())
            .unwrap_or_else(|| vec![0.0; layout.range(i).len()]);
        let got = &g[layout.range(i)];
        let scale = expect.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
        for (j, (a, e)) in got.iter().zip(&expect).enumerate() {
            assert!(
                (a - e).abs() <= 1e-4 * scale,
                "{name}[{j}]: native {a} vs candle {e} (scale {scale})"
            );
        }
    }
}

fn small_nhits() -> NhitsConfig {
    NhitsConfig {
        input_size: 13,
        horizon: 7,
        mlp_units: vec![[16, 16], [16, 16]],
        n_pool_kernel_size: vec![2, 3, 1],
        n_freq_downsample: vec![3, 2, 1],
        ..NhitsConfig::default()
    }
}

#[test]
fn nhits_matches_candle_for_each_pooling_activation_and_loss() {
    let cases: Vec<(Pooling, Activation, Loss, f64)> = vec![
        (Pooling::Max, Activation::ReLU, Loss::Mae, 0.0),
        (Pooling::Avg, Activation::Tanh, Loss::Mse, 0.0),
        (
            Pooling::Max,
            Activation::SELU,
            Loss::Huber { delta: 0.5 },
            0.0,
        ),
        (
            Pooling::Avg,
            Activation::Softplus,
            Loss::Quantile(vec![0.1, 0.5, 0.9]),
            0.0,
        ),
        (Pooling::Max, Activation::LeakyReLU, Loss::Mae, 0.3),
        (Pooling::Avg, Activation::Sigmoid, Loss::Mse, 0.2),
    ];
    for (i, (pooling, activation, loss, dropout)) in cases.into_iter().enumerate() {
        let mut cfg = small_nhits();
        cfg.pooling = pooling;
        cfg.activation = activation;
        cfg.dropout = dropout;
        cfg.train.loss = loss;
        // 150 windows: more than one parallel chunk of rows (64) in the row kernels.
        compare(
            &NeuralSpec::Nhits(cfg),
            if i < 2 { 150 } else { 37 },
            i as u64 + 1,
        );
    }
}

#[test]
fn nbeats_generic_and_interpretable_match_candle() {
    let mut generic = NBeatsConfig::generic(11, 6);
    generic.mlp_units = vec![[12, 12]];
    compare(&NeuralSpec::NBeats(generic.clone()), 19, 5);
    let mut interp = NBeatsConfig::interpretable(11, 6);
    interp.mlp_units = vec![[12, 12], [12, 12]];
    compare(&NeuralSpec::NBeats(interp.clone()), 23, 6);
    // Quantile outputs through the interleaved bases.
    interp.train.loss = Loss::Quantile(vec![0.2, 0.8]);
    compare(&NeuralSpec::NBeats(interp), 9, 7);
    generic.train.loss = Loss::Quantile(vec![0.5, 0.9]);
    compare(&NeuralSpec::NBeats(generic), 9, 8);
}

#[test]
fn dlinear_and_nlinear_match_candle() {
    use crate::dlinear::DLinearConfig;
    use crate::nlinear::NLinearConfig;
    let mut d = DLinearConfig {
        input_size: 17,
        horizon: 5,
        moving_avg_window: 5,
        ..DLinearConfig::default()
    };
    compare(&NeuralSpec::DLinear(d.clone()), 21, 11);
    d.train.loss = Loss::Quantile(vec![0.1, 0.5, 0.9]);
    compare(&NeuralSpec::DLinear(d), 8, 12);
    let mut n = NLinearConfig {
        input_size: 9,
        horizon: 4,
        ..NLinearConfig::default()
    };
    compare(&NeuralSpec::NLinear(n.clone()), 30, 13);
    n.train.loss = Loss::Mse;
    compare(&NeuralSpec::NLinear(n), 3, 14);
}

#[test]
fn exogenous_nhits_keeps_candle() {
    let mut cfg = small_nhits();
    cfg.hist_exog_list = vec!["x".into()];
    assert!(NeuralSpec::Nhits(cfg).native_graph().unwrap().is_none());
}

/// `tests/fixtures/NAME` (made by `tools/reference/neuralforecast/make_parity.py`).
fn fixture(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn load(name: &str) -> std::collections::HashMap<String, Tensor> {
    candle_core::safetensors::load(fixture(name), &Device::Cpu)
        .unwrap_or_else(|e| panic!("fixture {name} must exist: {e}"))
}

fn flat_of(layout: &ParamLayout, get: &dyn Fn(&str) -> Tensor) -> Vec<f32> {
    let mut flat = vec![0f32; layout.len()];
    for (i, name) in layout.names().iter().enumerate() {
        let v = get(name).flatten_all().unwrap().to_vec1::<f32>().unwrap();
        flat[layout.range(i)].copy_from_slice(&v);
    }
    flat
}

fn to_vec(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

#[test]
fn native_forward_matches_neuralforecast_on_every_fixture() {
    // neuralforecast's outputs for the fixture weights and inputs, to 1e-5 (eval mode: no
    // dropout), for every fixture of an architecture the native engine covers.
    type Parse = fn(&[u8]) -> NeuralSpec;
    let cases: [(&str, Parse); 8] = [
        ("dlinear_small", |b| serde_json::from_slice(b).unwrap()),
        ("dlinear_quantile", |b| serde_json::from_slice(b).unwrap()),
        ("nlinear_small", |b| serde_json::from_slice(b).unwrap()),
        ("nhits_small", |b| {
            NeuralSpec::Nhits(serde_json::from_slice(b).unwrap())
        }),
        ("nhits_quantile_avg_nearest", |b| {
            NeuralSpec::Nhits(serde_json::from_slice(b).unwrap())
        }),
        ("nhits_cubic_dropout", |b| {
            NeuralSpec::Nhits(serde_json::from_slice(b).unwrap())
        }),
        ("nbeats_small", |b| {
            NeuralSpec::NBeats(serde_json::from_slice(b).unwrap())
        }),
        ("nbeats_interpretable_quantile", |b| {
            NeuralSpec::NBeats(serde_json::from_slice(b).unwrap())
        }),
    ];
    for (case, parse) in cases {
        let spec = parse(&std::fs::read(fixture(&format!("{case}.json"))).unwrap());
        let weights = load(&format!("{case}.safetensors"));
        let io = load(&format!("{case}_io.safetensors"));
        let (mut graph, layout) = spec.native_graph().unwrap().expect("native graph");
        let flat = flat_of(&layout, &|n| weights[n].clone());
        let b = io["input"].dims()[0];
        let out = graph
            .forward(&flat, &to_vec(&io["input"]), b, None)
            .unwrap();
        let expect = to_vec(&io["output"]);
        assert_eq!(out.len(), expect.len(), "{case}");
        let diff = out
            .iter()
            .zip(&expect)
            .fold(0f32, |m, (a, e)| m.max((a - e).abs()));
        assert!(
            diff < 1e-5,
            "{case}: max |native - neuralforecast| = {diff}"
        );
    }
}

#[test]
fn native_gradients_and_adam_match_torch_training_steps() {
    // The fixture's three torch.optim.Adam steps (lr 1e-2) on the MAE of its batch, checked as
    // the candle parity test checks them: from torch's weights before step k, the native loss
    // matches torch's to 1e-5 and every gradient matches torch's to 1e-5 + 1e-3 of its largest
    // magnitude; the flat Adam fed torch's gradients reproduces torch's weights to 1e-6.
    let case = "nhits_small";
    let cfg: NhitsConfig =
        serde_json::from_slice(&std::fs::read(fixture(&format!("{case}.json"))).unwrap()).unwrap();
    let spec = NeuralSpec::Nhits(cfg);
    let initial = load(&format!("{case}.safetensors"));
    let io = load(&format!("{case}_io.safetensors"));
    let (mut graph, layout) = spec.native_graph().unwrap().expect("native graph");
    let x = to_vec(&io["input"]);
    let y = to_vec(&io["train_y"]);
    let b = io["input"].dims()[0];
    let h = spec.horizon();
    let mask = vec![1f32; y.len()];
    let torch_losses = to_vec(&io["train_losses"]);
    assert!(!torch_losses.is_empty());
    let mut adam_weights = flat_of(&layout, &|n| initial[n].clone());
    let mut adam = super::adam::FlatAdam::new(crate::config::Optimizer::Adam, 0.0, layout.len());
    for (k, torch_loss) in torch_losses.iter().enumerate() {
        let step = k + 1;
        let before = if k == 0 {
            flat_of(&layout, &|n| initial[n].clone())
        } else {
            flat_of(&layout, &|n| io[&format!("step{k}.{n}")].clone())
        };
        let out = graph.forward(&before, &x, b, None).unwrap().to_vec();
        let mut dout = vec![0f32; out.len()];
        let l = super::loss::loss_and_grad(&Loss::Mae, &out, &y, &mask, (h, 1), Some(&mut dout))
            .unwrap();
        assert!(
            (l - f64::from(*torch_loss)).abs() < 1e-5,
            "step {step}: loss {l} vs torch {torch_loss}"
        );
        let mut g = vec![f32::NAN; layout.len()];
        graph.backward(&before, &mut dout, &mut g).unwrap();
        let mut torch_flat = vec![0f32; layout.len()];
        for (i, name) in layout.names().iter().enumerate() {
            let theirs = to_vec(&io[&format!("grad{step}.{name}")]);
            let scale = theirs.iter().fold(0f32, |m, v| m.max(v.abs()));
            let tol = 1e-5 + 1e-3 * scale;
            let diff = g[layout.range(i)]
                .iter()
                .zip(&theirs)
                .fold(0f32, |m, (a, e)| m.max((a - e).abs()));
            assert!(
                diff < tol,
                "step {step}: gradient of {name} differs from torch by {diff} (tolerance {tol})"
            );
            torch_flat[layout.range(i)].copy_from_slice(&theirs);
        }
        adam.step(&mut adam_weights, &torch_flat, 1e-2);
        for (i, name) in layout.names().iter().enumerate() {
            let theirs = to_vec(&io[&format!("step{step}.{name}")]);
            let diff = adam_weights[layout.range(i)]
                .iter()
                .zip(&theirs)
                .fold(0f32, |m, (a, e)| m.max((a - e).abs()));
            assert!(
                diff < 1e-6,
                "step {step}: Adam update of {name} differs by {diff}"
            );
        }
    }
}

#[test]
fn bf16_numerics_stay_close_to_f32_and_differ_from_it() {
    // bf16 operands (8 significant bits) move outputs and gradients by about 2^-8 relative:
    // close to f32, but not equal (so the rounding really happens).
    let mut cfg = small_nhits();
    cfg.mlp_units = vec![[32, 32]];
    let spec = NeuralSpec::Nhits(cfg);
    let (mut g32, layout) = spec.native_graph().unwrap().unwrap();
    let (mut g16, _) = spec.native_graph().unwrap().unwrap();
    assert!(g16.set_bf16(true));
    let mut rng = Rng::new(3);
    let w: Vec<f32> = (0..layout.len())
        .map(|_| (rng.next_f64() as f32 - 0.5) * 0.5)
        .collect();
    let b = 16;
    let x: Vec<f32> = (0..b * spec.input_size())
        .map(|i| (i as f32 * 0.29).sin())
        .collect();
    let a = g32.forward(&w, &x, b, None).unwrap().to_vec();
    let c = g16.forward(&w, &x, b, None).unwrap().to_vec();
    let scale = a.iter().fold(0f32, |m, v| m.max(v.abs()));
    let diff = a
        .iter()
        .zip(&c)
        .fold(0f32, |m, (p, q)| m.max((p - q).abs()));
    assert!(diff > 0.0 && diff < 0.05 * scale, "diff {diff} of {scale}");
    let mut d1 = vec![1f32; a.len()];
    let mut d2 = d1.clone();
    let (mut gr1, mut gr2) = (vec![0f32; layout.len()], vec![0f32; layout.len()]);
    g32.backward(&w, &mut d1, &mut gr1).unwrap();
    g16.backward(&w, &mut d2, &mut gr2).unwrap();
    let gs = gr1.iter().fold(0f32, |m, v| m.max(v.abs()));
    let gd = gr1
        .iter()
        .zip(&gr2)
        .fold(0f32, |m, (p, q)| m.max((p - q).abs()));
    assert!(gd > 0.0 && gd < 0.05 * gs, "gradient diff {gd} of {gs}");
}
