//! The PatchTST training graph against the candle network (the reference semantics, proven
//! equal to PyTorch in `tests/patchtst_parity.rs`) on the same weights and inputs: training
//! forward (batch statistics), loss, every gradient, the running statistics after one step and
//! the inference forward; determinism across thread counts and runs; a short training run.
//! Tolerances as every engine test: outputs 1e-5, gradients 1e-4 of the largest magnitude.
#![allow(clippy::unwrap_used)]

use candle_core::{Device, Tensor, Var};

use super::super::{PatchTstActivation, PatchTstConfig};
use crate::arch::NeuralSpec;
use crate::config::Loss;
use crate::engine::test_support::{random_weights, RandomWeights};
use crate::engine::{loss::loss_and_grad, ParamLayout, TrainGraph};
use crate::rng::Rng;

fn small() -> PatchTstConfig {
    PatchTstConfig {
        input_size: 24,
        horizon: 5,
        encoder_layers: 2,
        n_heads: 2,
        hidden_size: 8,
        linear_hidden_size: 12,
        patch_len: 6,
        stride: 4,
        dropout: 0.0,
        ..PatchTstConfig::default()
    }
}

/// A candle network and the native graph over the same random weights (running statistics
/// included), with the flat buffer and the sorted variables.
struct Pair {
    net: Box<dyn crate::arch::Network>,
    vars: Vec<(String, Var)>,
    graph: Box<dyn TrainGraph>,
    layout: ParamLayout,
    flat: Vec<f32>,
}

fn pair(spec: &NeuralSpec, seed: u64) -> Pair {
    let RandomWeights { net, vars, flat } = random_weights(spec, seed, |name, u| {
        if name.ends_with("running_var") || name.ends_with("affine_weight") {
            1.0 + u
        } else if name.ends_with("norm_attn.1.weight") || name.ends_with("norm_ffn.1.weight") {
            1.0 + 0.5 * u
        } else {
            u * 0.6
        }
    });
    let (graph, layout) = spec.native_graph().unwrap().expect("native graph");
    assert_eq!(layout.len(), flat.len());
    Pair {
        net,
        vars,
        graph,
        layout,
        flat,
    }
}

fn inputs(b: usize, l: usize, h: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let x = (0..b * l)
        .map(|i| 10.0 + ((i as f32) * 0.37).sin() * 2.0 + (i / l) as f32 * 0.3)
        .collect();
    let y = (0..b * h)
        .map(|i| 10.0 + ((i as f32) * 0.23).cos())
        .collect();
    let mask = (0..b * h)
        .map(|i| if i % 7 == 3 { 0.0 } else { 1.0 })
        .collect();
    (x, y, mask)
}

fn close(what: &str, got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (a, e)) in got.iter().zip(want).enumerate() {
        assert!(
            (a - e).abs() <= tol * (1.0 + e.abs()),
            "{what}[{i}]: {a} vs {e}"
        );
    }
}

fn to_vec(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

/// One training forward, loss and backward both ways on `b` windows (dropout from the same
/// seed), then the running statistics and the inference forward.
fn compare(cfg: PatchTstConfig, b: usize, seed: u64) {
    let spec = NeuralSpec::PatchTst(cfg.clone());
    let mut p = pair(&spec, seed);
    let (l, h) = (cfg.input_size, cfg.horizon);
    let loss_cfg = cfg.train.loss.clone();
    let q = loss_cfg.n_outputs();
    let (x, y, mask) = inputs(b, l, h);
    let dev = Device::Cpu;
    let xt = Tensor::from_vec(x.clone(), (b, l), &dev).unwrap();
    let yt = Tensor::from_vec(y.clone(), (b, h), &dev).unwrap();
    let mt = Tensor::from_vec(mask.clone(), (b, h), &dev).unwrap();
    let pred = p.net.forward_train(&xt, &mut Rng::new(seed + 100)).unwrap();
    let loss = crate::losses::loss(&loss_cfg, &pred, &yt, &mt).unwrap();
    let grads = loss.backward().unwrap();

    let out = p
        .graph
        .forward(&p.flat, &x, b, Some(&mut Rng::new(seed + 100)))
        .unwrap()
        .to_vec();
    close("train output", &out, &to_vec(&pred), 1e-5);
    let mut dout = vec![0f32; out.len()];
    let value = loss_and_grad(&loss_cfg, &out, &y, &mask, (h, q), Some(&mut dout)).unwrap();
    let want = f64::from(loss.to_scalar::<f32>().unwrap());
    assert!(
        (value - want).abs() <= 1e-5 * (1.0 + want.abs()),
        "loss {value} vs {want}"
    );
    let mut g = vec![f32::NAN; p.flat.len()];
    p.graph.backward(&p.flat, &mut dout, &mut g).unwrap();
    // Gradients that are zero in exact arithmetic (biases in front of a BatchNorm or of the
    // softmax), and small ones summed over every token row, carry rounding noise of the
    // larger ones: each weight is compared against a floor of 1e-2 of the largest gradient.
    let floor = g.iter().fold(0f32, |m, v| m.max(v.abs())) * 1e-2;
    for (i, (name, var)) in p.vars.iter().enumerate() {
        let expect = grads
            .get(var.as_tensor())
            .map(to_vec)
            .unwrap_or_else(|| vec![0.0; p.layout.range(i).len()]);
        let got = &g[p.layout.range(i)];
        let scale = expect.iter().fold(0f32, |m, v| m.max(v.abs())).max(floor);
        for (j, (a, e)) in got.iter().zip(&expect).enumerate() {
            assert!(
                (a - e).abs() <= 1e-4 * scale,
                "{name}[{j}]: native {a} vs candle {e} (scale {scale})"
            );
        }
    }
    // Running statistics: candle moved its variables in the forward; the graph moves the flat
    // buffer in update_buffers (once, however often it is called).
    let buffers = p.graph.buffer_ranges();
    assert_eq!(buffers.len(), 4 * cfg.encoder_layers);
    p.graph.update_buffers(&mut p.flat);
    p.graph.update_buffers(&mut p.flat);
    for (i, (name, var)) in p.vars.iter().enumerate() {
        let r = p.layout.range(i);
        if name.contains("running_") {
            assert!(buffers.contains(&r), "{name} is a buffer");
            close(name, &p.flat[r], &to_vec(var.as_tensor()), 1e-5);
        } else {
            assert!(!buffers.contains(&r), "{name} is not a buffer");
        }
    }
    // Inference on the moved running statistics.
    let eval = p.net.forward(&xt).unwrap();
    let out = p.graph.forward(&p.flat, &x, b, None).unwrap().to_vec();
    close("eval output", &out, &to_vec(&eval), 1e-5);
}

#[test]
fn postnorm_revin_last_gelu_mae_matches_candle() {
    compare(small(), 9, 1);
}

#[test]
fn prenorm_without_revin_or_residual_attention_matches_candle() {
    let cfg = PatchTstConfig {
        batch_normalization: true,
        revin: false,
        res_attention: false,
        learn_pos_embed: false,
        encoder_layers: 3,
        ..small()
    };
    compare(cfg, 7, 2);
}

#[test]
fn quantile_revin_affine_mean_relu_matches_candle() {
    let mut cfg = PatchTstConfig {
        revin_affine: true,
        revin_subtract_last: false,
        activation: PatchTstActivation::Relu,
        input_size: 23,
        ..small()
    };
    cfg.train.loss = Loss::Quantile(vec![0.1, 0.5, 0.9]);
    compare(cfg, 6, 3);
}

#[test]
fn every_dropout_matches_candle_with_the_same_seed() {
    let mut cfg = PatchTstConfig {
        dropout: 0.2,
        attn_dropout: 0.1,
        head_dropout: 0.15,
        ..small()
    };
    compare(cfg.clone(), 8, 4);
    cfg.batch_normalization = true;
    cfg.train.loss = Loss::Mse;
    compare(cfg, 5, 5);
}

#[test]
fn one_layer_and_no_layers_match_candle() {
    compare(
        PatchTstConfig {
            encoder_layers: 1,
            ..small()
        },
        4,
        6,
    );
    compare(
        PatchTstConfig {
            encoder_layers: 0,
            ..small()
        },
        4,
        7,
    );
}

/// Output and gradients of one training step (dropout on) inside a pool of `threads`.
fn step_bits(threads: usize, b: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let cfg = PatchTstConfig {
        dropout: 0.2,
        attn_dropout: 0.1,
        ..small()
    };
    let spec = NeuralSpec::PatchTst(cfg.clone());
    let mut p = pair(&spec, 11);
    let (x, y, mask) = inputs(b, cfg.input_size, cfg.horizon);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let out = p
            .graph
            .forward(&p.flat, &x, b, Some(&mut Rng::new(5)))
            .unwrap()
            .to_vec();
        let mut dout = vec![0f32; out.len()];
        loss_and_grad(
            &Loss::Mae,
            &out,
            &y,
            &mask,
            (cfg.horizon, 1),
            Some(&mut dout),
        )
        .unwrap();
        let mut g = vec![0f32; p.flat.len()];
        p.graph.backward(&p.flat, &mut dout, &mut g).unwrap();
        p.graph.update_buffers(&mut p.flat);
        let eval = p.graph.forward(&p.flat, &x, b, None).unwrap().to_vec();
        (out, g, eval)
    })
}

#[test]
fn results_do_not_depend_on_threads_or_runs() {
    // 300 windows: several chunks of every parallel kernel, and the matmuls' threaded sizes.
    let one = step_bits(1, 300);
    assert_eq!(one, step_bits(2, 300));
    assert_eq!(one, step_bits(2, 300));
    assert_eq!(one, step_bits(3, 300));
}

#[test]
fn inference_does_not_depend_on_how_the_batch_is_split() {
    let spec = NeuralSpec::PatchTst(small());
    let mut p = pair(&spec, 12);
    let (b, l) = (40, small().input_size);
    let (x, _, _) = inputs(b, l, small().horizon);
    let all = p.graph.forward(&p.flat, &x, b, None).unwrap().to_vec();
    let per = all.len() / b;
    for split in [1, 17, 39] {
        let head = p
            .graph
            .forward(&p.flat, &x[..split * l], split, None)
            .unwrap()
            .to_vec();
        let tail = p
            .graph
            .forward(&p.flat, &x[split * l..], b - split, None)
            .unwrap()
            .to_vec();
        close("head part", &head, &all[..split * per], 1e-6);
        close("tail part", &tail, &all[split * per..], 1e-6);
    }
}

#[test]
fn loss_falls_on_a_sine_with_dropout() {
    use crate::config::Optimizer;
    use crate::engine::adam::FlatAdam;
    let cfg = PatchTstConfig {
        dropout: 0.1,
        attn_dropout: 0.05,
        ..small()
    };
    let spec = NeuralSpec::PatchTst(cfg.clone());
    let mut p = pair(&spec, 21);
    let (l, h, b) = (cfg.input_size, cfg.horizon, 32);
    let series: Vec<f32> = (0..400)
        .map(|t| 5.0 + (t as f32 * 0.3).sin() * 2.0)
        .collect();
    let mut adam = FlatAdam::new(Optimizer::AdamW, 0.01, p.flat.len());
    let mut rng = Rng::new(3);
    let mut losses = Vec::new();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let mut g = vec![0f32; p.flat.len()];
    for _ in 0..50 {
        x.clear();
        y.clear();
        for _ in 0..b {
            let s = rng.below(series.len() - l - h);
            x.extend_from_slice(&series[s..s + l]);
            y.extend_from_slice(&series[s + l..s + l + h]);
        }
        let out = p
            .graph
            .forward(&p.flat, &x, b, Some(&mut rng))
            .unwrap()
            .to_vec();
        let mut dout = vec![0f32; out.len()];
        let ones = vec![1f32; b * h];
        losses.push(loss_and_grad(&Loss::Mse, &out, &y, &ones, (h, 1), Some(&mut dout)).unwrap());
        p.graph.backward(&p.flat, &mut dout, &mut g).unwrap();
        p.graph.update_buffers(&mut p.flat);
        adam.step(&mut p.flat, &g, 3e-3);
    }
    let first: f64 = losses[..5].iter().sum::<f64>() / 5.0;
    let last: f64 = losses[45..].iter().sum::<f64>() / 5.0;
    assert!(last < 0.5 * first, "loss {first} -> {last}: {losses:?}");
}
