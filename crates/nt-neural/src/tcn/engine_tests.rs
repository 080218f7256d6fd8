//! The graph against the candle network ([`super::super::Tcn`], proven equal to PyTorch by
//! `tests/tcn_parity.rs`) on the same weights: outputs to 1e-5, every gradient to 1e-4 of
//! its tensor's largest magnitude; against the neuralforecast fixtures directly; and the same
//! bits on one and two threads.
use candle_core::{Device, Tensor};

use super::*;
use crate::arch::NeuralSpec;
use crate::config::Loss;

/// The flat weights, the candle network holding the same values, and its variables.
type Setup = (
    Vec<f32>,
    Box<dyn crate::arch::Network>,
    Vec<(String, candle_core::Var)>,
);

/// Random weights `U(-0.3, 0.3)` (name order) for `spec`, set into a fresh candle network too
/// (the shared [`crate::engine::test_support::random_weights`]).
fn weights_and_net(spec: &NeuralSpec, seed: u64) -> Setup {
    let w = crate::engine::test_support::random_weights(spec, seed, |_, u| u * 0.6);
    (w.flat, w.net, w.vars)
}

fn packed_inputs(b: usize, w: usize, l: usize) -> Vec<f32> {
    (0..b * w)
        .map(|i| ((i as f32) * 0.37).sin() + (i / w) as f32 * 0.05 + (i % w / l) as f32 * 0.3)
        .collect()
}

/// One forward + loss + backward both ways on `b` windows.
fn compare(cfg: &TcnConfig, b: usize, seed: u64) {
    let spec = NeuralSpec::Tcn(cfg.clone());
    let (flat, net, vars) = weights_and_net(&spec, seed);
    let (mut graph, layout) = spec.native_graph().unwrap().expect("native graph");
    assert_eq!(layout.len(), flat.len());
    let (l, h) = (cfg.input_size, cfg.horizon);
    let w = cfg.packed_input_size();
    assert_eq!(graph.input_width(), w);
    let q = cfg.train.loss.n_outputs();
    let x = packed_inputs(b, w, l);
    let y: Vec<f32> = (0..b * h).map(|i| ((i as f32) * 0.23).cos()).collect();
    let mask: Vec<f32> = (0..b * h)
        .map(|i| if i % 7 == 3 { 0.0 } else { 1.0 })
        .collect();
    let dev = Device::Cpu;
    let xt = Tensor::from_vec(x.clone(), (b, w), &dev).unwrap();
    let yt = Tensor::from_vec(y.clone(), (b, h), &dev).unwrap();
    let mt = Tensor::from_vec(mask.clone(), (b, h), &dev).unwrap();
    let pred = net.forward_train(&xt, &mut Rng::new(9)).unwrap();
    let loss = crate::losses::loss(&cfg.train.loss, &pred, &yt, &mt).unwrap();
    let grads = loss.backward().unwrap();
    let pred_c = pred.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let out = graph
        .forward(&flat, &x, b, Some(&mut Rng::new(9)))
        .unwrap()
        .to_vec();
    assert_eq!(out.len(), pred_c.len());
    for (i, (a, e)) in out.iter().zip(&pred_c).enumerate() {
        assert!(
            (a - e).abs() <= 1e-5 * (1.0 + e.abs()),
            "{cfg:?}: output {i}: {a} vs {e}"
        );
    }
    let mut dout = vec![0f32; out.len()];
    let value = crate::engine::loss::loss_and_grad(
        &cfg.train.loss,
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
        assert_eq!(got.len(), expect.len(), "{name}");
        let scale = expect.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
        for (j, (a, e)) in got.iter().zip(&expect).enumerate() {
            assert!(
                (a - e).abs() <= 1e-4 * scale,
                "{cfg:?}: {name}[{j}]: native {a} vs candle {e} (scale {scale})"
            );
        }
    }
}

fn small() -> TcnConfig {
    TcnConfig {
        input_size: 13,
        horizon: 5,
        kernel_size: 2,
        // 16 reaches past the window's start (its delayed tap is dropped).
        dilations: vec![1, 2, 4, 8, 16],
        encoder_hidden_size: 8,
        decoder_hidden_size: 7,
        ..TcnConfig::default()
    }
}

#[test]
fn plain_tcn_matches_candle_over_kernels_decoders_activations_and_losses() {
    let cases: Vec<(usize, Vec<usize>, usize, Activation, Activation, Loss)> = vec![
        (
            2,
            vec![1, 2, 4, 8, 16],
            2,
            Activation::ReLU,
            Activation::ReLU,
            Loss::Mae,
        ),
        (
            3,
            vec![1, 3, 5, 9],
            1,
            Activation::Tanh,
            Activation::ReLU,
            Loss::Mse,
        ),
        (
            3,
            vec![2, 4],
            3,
            Activation::SELU,
            Activation::Softplus,
            Loss::Quantile(vec![0.1, 0.5, 0.9]),
        ),
        (
            1,
            vec![1, 1],
            2,
            Activation::LeakyReLU,
            Activation::Sigmoid,
            Loss::Huber { delta: 0.5 },
        ),
        (2, vec![7], 3, Activation::ReLU, Activation::Tanh, Loss::Mae),
    ];
    for (i, (k, dilations, layers, enc, dec, loss)) in cases.into_iter().enumerate() {
        let mut cfg = small();
        cfg.kernel_size = k;
        cfg.dilations = dilations;
        cfg.decoder_layers = layers;
        cfg.encoder_activation = enc;
        cfg.decoder_activation = dec;
        cfg.train.loss = loss;
        // 70 windows: more than one parallel chunk of rows in the row kernels.
        compare(&cfg, if i == 0 { 70 } else { 17 }, i as u64 + 1);
    }
}

#[test]
fn exogenous_tcn_matches_candle() {
    let mut cfg = small();
    cfg.hist_exog_list = vec!["h1".into(), "h2".into()];
    cfg.futr_exog_list = vec!["f1".into()];
    compare(&cfg, 19, 21);
    cfg.kernel_size = 3;
    cfg.decoder_layers = 1;
    cfg.hist_exog_list.clear();
    cfg.futr_exog_list = vec!["f1".into(), "f2".into()];
    cfg.train.loss = Loss::Quantile(vec![0.2, 0.8]);
    compare(&cfg, 11, 22);
    cfg.futr_exog_list.clear();
    cfg.hist_exog_list = vec!["h".into()];
    cfg.decoder_layers = 3;
    compare(&cfg, 9, 23);
}

#[test]
fn two_tap_layers_run_as_winograd_and_the_rest_gathered() {
    // small(): L 13, so dilations 8 (last pair cut by the window's end) and 16 (its delayed
    // tap dropped: a 1×1 layer) are the edge cases; layer 0 (one input channel) gathers.
    let cfg = small();
    let spec = NeuralSpec::Tcn(cfg.clone());
    let layout = ParamLayout::new(&spec.weight_specs());
    let g = TcnGraph::new(&cfg, 1, &layout).unwrap();
    let wino: Vec<Option<usize>> = g.convs.iter().map(|c| c.wino).collect();
    assert_eq!(wino, [None, Some(2), Some(4), Some(8), None]);
    assert_eq!(g.convs[4].taps, [(1, 0)]);
}

#[test]
fn residual_tcn_keeps_candle() {
    let mut cfg = small();
    cfg.residual = true;
    assert!(NeuralSpec::Tcn(cfg).native_graph().unwrap().is_none());
}

/// Forward output and gradients of one step on `threads` threads.
fn run_on(threads: usize, cfg: &TcnConfig, b: usize) -> (Vec<f32>, Vec<f32>) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let spec = NeuralSpec::Tcn(cfg.clone());
        let (mut graph, layout) = spec.native_graph().unwrap().unwrap();
        let mut rng = Rng::new(5);
        let w: Vec<f32> = (0..layout.len())
            .map(|_| (rng.next_f64() as f32 - 0.5) * 0.3)
            .collect();
        let x = packed_inputs(b, cfg.packed_input_size(), cfg.input_size);
        let out = graph.forward(&w, &x, b, Some(&mut rng)).unwrap().to_vec();
        let mut dout: Vec<f32> = out.iter().map(|v| v.signum() * 0.01).collect();
        let mut g = vec![0f32; layout.len()];
        graph.backward(&w, &mut dout, &mut g).unwrap();
        (out, g)
    })
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    // Sizes past the matmul's threading threshold and the row kernels' chunk size.
    let cfg = TcnConfig {
        input_size: 48,
        horizon: 12,
        dilations: vec![1, 2, 4],
        encoder_hidden_size: 64,
        decoder_hidden_size: 64,
        futr_exog_list: vec!["f".into()],
        ..TcnConfig::default()
    };
    let one = run_on(1, &cfg, 96);
    let two = run_on(2, &cfg, 96);
    assert!(one.0 == two.0, "outputs differ between 1 and 2 threads");
    assert!(one.1 == two.1, "gradients differ between 1 and 2 threads");
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn load(name: &str) -> std::collections::HashMap<String, Tensor> {
    candle_core::safetensors::load(fixture(name), &Device::Cpu)
        .unwrap_or_else(|e| panic!("fixture {name} must exist: {e}"))
}

fn to_vec(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

fn flat_of(layout: &ParamLayout, get: &dyn Fn(&str) -> Vec<f32>) -> Vec<f32> {
    let mut flat = vec![0f32; layout.len()];
    for (i, name) in layout.names().iter().enumerate() {
        flat[layout.range(i)].copy_from_slice(&get(name));
    }
    flat
}

#[test]
fn native_forward_matches_neuralforecast_fixtures() {
    for case in ["tcn_small", "tcn_quantile", "tcn_exog"] {
        let spec: NeuralSpec =
            serde_json::from_slice(&std::fs::read(fixture(&format!("{case}.json"))).unwrap())
                .unwrap();
        let weights = load(&format!("{case}.safetensors"));
        let io = load(&format!("{case}_io.safetensors"));
        let (mut graph, layout) = spec.native_graph().unwrap().expect("native graph");
        let flat = flat_of(&layout, &|n| to_vec(&weights[n]));
        let input = &io["input"];
        let b = input.dims()[0];
        let x = if case == "tcn_exog" {
            Tensor::cat(
                &[
                    input.clone(),
                    io["hist"].reshape((b, ())).unwrap(),
                    io["futr"].reshape((b, ())).unwrap(),
                ],
                1,
            )
            .unwrap()
        } else {
            input.clone()
        };
        let out = graph.forward(&flat, &to_vec(&x), b, None).unwrap();
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
fn native_loss_and_gradients_match_torch_steps() {
    // From torch's weights before each of the fixture's three Adam steps: the MAE matches
    // torch's to 1e-5 and every gradient to 1e-6 + 1e-4 of its largest magnitude (the
    // tolerances of `tests/tcn_parity.rs` for candle's autograd).
    let case = "tcn_small";
    let spec: NeuralSpec =
        serde_json::from_slice(&std::fs::read(fixture(&format!("{case}.json"))).unwrap()).unwrap();
    let initial = load(&format!("{case}.safetensors"));
    let io = load(&format!("{case}_io.safetensors"));
    let (mut graph, layout) = spec.native_graph().unwrap().expect("native graph");
    let x = to_vec(&io["input"]);
    let y = to_vec(&io["train_y"]);
    let b = io["input"].dims()[0];
    let h = spec.horizon();
    let mask = vec![1f32; y.len()];
    let torch_losses = to_vec(&io["train_losses"]);
    assert_eq!(torch_losses.len(), 3);
    for (k, torch_loss) in torch_losses.iter().enumerate() {
        let step = k + 1;
        let before = if k == 0 {
            flat_of(&layout, &|n| to_vec(&initial[n]))
        } else {
            flat_of(&layout, &|n| to_vec(&io[&format!("step{k}.{n}")]))
        };
        let out = graph.forward(&before, &x, b, None).unwrap().to_vec();
        let mut dout = vec![0f32; out.len()];
        let l = crate::engine::loss::loss_and_grad(
            &Loss::Mae,
            &out,
            &y,
            &mask,
            (h, 1),
            Some(&mut dout),
        )
        .unwrap();
        assert!(
            (l - f64::from(*torch_loss)).abs() < 1e-5,
            "step {step}: loss {l} vs torch {torch_loss}"
        );
        let mut g = vec![f32::NAN; layout.len()];
        graph.backward(&before, &mut dout, &mut g).unwrap();
        for (i, name) in layout.names().iter().enumerate() {
            let theirs = to_vec(&io[&format!("grad{step}.{name}")]);
            let scale = theirs.iter().fold(0f32, |m, v| m.max(v.abs()));
            let tol = 1e-6 + 1e-4 * scale;
            let diff = g[layout.range(i)]
                .iter()
                .zip(&theirs)
                .fold(0f32, |m, (a, e)| m.max((a - e).abs()));
            assert!(
                diff < tol,
                "step {step}: gradient of {name} differs from torch by {diff} (tolerance {tol})"
            );
        }
    }
}

/// The forward and backward time of one default-size step (L 480, H 96, 128 windows).
mod timing {
    use super::*;
    use crate::arch::NeuralSpec;

    /// This process's user + system CPU seconds.
    fn cpu() -> f64 {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let after = stat.rsplit(')').next().unwrap_or("");
        let f: Vec<f64> = after
            .split_whitespace()
            .skip(11)
            .take(2)
            .filter_map(|v| v.parse().ok())
            .collect();
        f.iter().sum::<f64>() / 100.0
    }

    #[test]
    #[ignore = "timing; run with --ignored --nocapture"]
    fn default_step_phases() {
        let cfg = TcnConfig {
            input_size: 480,
            horizon: 96,
            ..TcnConfig::default()
        };
        let spec = NeuralSpec::Tcn(cfg.clone());
        let (mut graph, layout) = spec.native_graph().unwrap().unwrap();
        let mut rng = Rng::new(5);
        let w: Vec<f32> = (0..layout.len())
            .map(|_| (rng.next_f64() as f32 - 0.5) * 0.1)
            .collect();
        let b = 128;
        let x: Vec<f32> = (0..b * 480).map(|i| (i as f32 * 0.01).sin()).collect();
        let mut g = vec![0f32; layout.len()];
        for _ in 0..4 {
            let (t, c0) = (std::time::Instant::now(), cpu());
            let out = graph.forward(&w, &x, b, None).unwrap().to_vec();
            let (f, fc) = (t.elapsed().as_secs_f64(), cpu() - c0);
            let mut dout: Vec<f32> = out.iter().map(|v| v.signum() * 1e-3).collect();
            let (t, c0) = (std::time::Instant::now(), cpu());
            graph.backward(&w, &mut dout, &mut g).unwrap();
            let (bw, bc) = (t.elapsed().as_secs_f64(), cpu() - c0);
            println!(
                "forward {:.0} ms ({:.0} ms cpu), backward {:.0} ms ({:.0} ms cpu)",
                f * 1e3,
                fc * 1e3,
                bw * 1e3,
                bc * 1e3
            );
        }
    }
}
