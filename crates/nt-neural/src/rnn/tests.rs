//! LSTM/GRU unit tests: the attention head against the PyTorch reference module, the
//! recurrent forecast against one-step forecasts fed back by hand, the candle network against
//! the plain-Rust engine, causality, the config's window and validation, and training.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::{Linear, VarBuilder};

use super::attention::{Attention, KvCache, RustAttention};
use super::config::RnnParams;
use super::fast::Engine;
use super::{GruConfig, LstmConfig};
use crate::arch::{Architecture, Network};
use crate::rng::Rng;

/// `max |a − b|`.
fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Weights of `p` with `q` outputs drawn (seeded) from their init rules, the LayerNorm ones
/// moved off 1 and 0 so they matter.
fn random_weights(p: &RnnParams, q: usize, seed: u64) -> Vec<(String, Tensor)> {
    let mut rng = Rng::new(seed);
    p.weights(q)
        .into_iter()
        .map(|w| {
            let n = w.len();
            let mut v = crate::arch::draw(w.init, n, &mut rng);
            if w.name.starts_with("attention.norm") {
                for x in &mut v {
                    *x += (rng.next_f64() as f32 - 0.5) * 0.4;
                }
            }
            (
                w.name,
                Tensor::from_vec(v, w.shape.as_slice(), &Device::Cpu).unwrap(),
            )
        })
        .collect()
}

fn builder(w: &[(String, Tensor)]) -> VarBuilder<'static> {
    let map: HashMap<String, Tensor> = w.iter().cloned().collect();
    VarBuilder::from_tensors(map, DType::F32, &Device::Cpu)
}

fn uniform(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.next_f64() as f32 * 2.0 - 1.0).collect()
}

/// Small configs covering both cells, both modes, exogenous channels and attention.
fn lstm(recurrent: bool, heads: usize, exog: bool) -> LstmConfig {
    let names = |s: &[&str]| s.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    LstmConfig {
        input_size: 9,
        horizon: 4,
        recurrent,
        encoder_hidden_size: 6,
        decoder_hidden_size: 5,
        attention_heads: heads,
        hist_exog_list: if exog { names(&["h1", "h2"]) } else { vec![] },
        futr_exog_list: if exog { names(&["f"]) } else { vec![] },
        ..LstmConfig::default()
    }
}

fn gru(recurrent: bool, heads: usize, exog: bool) -> GruConfig {
    let l = lstm(recurrent, heads, exog);
    GruConfig {
        input_size: l.input_size,
        horizon: l.horizon,
        recurrent,
        encoder_hidden_size: 6,
        decoder_hidden_size: 5,
        attention_heads: heads,
        hist_exog_list: l.hist_exog_list,
        futr_exog_list: l.futr_exog_list,
        ..GruConfig::default()
    }
}

/// The attention head (candle and plain Rust) reproduces the PyTorch module of
/// make_rnn_parity.py (`ReferenceAttention`: 2 heads over C = 8, T = 7, LayerNorm weights moved
/// off 1/0) on its weights to 1e-5: float32 sums of 8 terms; a missing mask, a wrong scale or
/// a wrong head split is off by order 0.1.
#[test]
fn attention_matches_the_pytorch_reference_module() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/rnn_attention_io.safetensors");
    let io = candle_core::safetensors::load(path, &Device::Cpu).unwrap();
    let lin = |n: &str| {
        Linear::new(
            io[&format!("attention.{n}.weight")].clone(),
            Some(io[&format!("attention.{n}.bias")].clone()),
        )
    };
    let a = Attention::new(
        2,
        [lin("query"), lin("key"), lin("value"), lin("out")],
        io["attention.norm.weight"].clone(),
        io["attention.norm.bias"].clone(),
    );
    let want: Vec<f32> = io["output"].flatten_all().unwrap().to_vec1().unwrap();
    let got: Vec<f32> = a
        .forward(&io["states"])
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    assert!(max_diff(&got, &want) < 1e-5, "{}", max_diff(&got, &want));
    let v = |n: &str| -> Vec<f32> { io[n].flatten_all().unwrap().to_vec1().unwrap() };
    let map = |n: &str| {
        (
            v(&format!("attention.{n}.weight")),
            v(&format!("attention.{n}.bias")),
        )
    };
    let r = RustAttention::new(
        2,
        [map("query"), map("key"), map("value"), map("out")],
        v("attention.norm.weight"),
        v("attention.norm.bias"),
    );
    let mut s = v("states");
    for window in s.chunks_exact_mut(7 * 8) {
        let mut cache = KvCache::default();
        for row in window.chunks_exact_mut(8) {
            r.step(row, &mut cache);
        }
    }
    assert!(max_diff(&s, &want) < 1e-5, "{}", max_diff(&s, &want));
}

/// Causality of the candle attention: changing the states after step `t` leaves the outputs
/// at steps `≤ t` bit for bit, and moves a later one.
#[test]
fn the_attention_never_sees_a_later_state() {
    let p = lstm(false, 2, false).params();
    let w = random_weights(&p, 1, 5);
    let get = |n: &str| w.iter().find(|(k, _)| k == n).unwrap().1.clone();
    let lin = |n: &str| {
        Linear::new(
            get(&format!("attention.{n}.weight")),
            Some(get(&format!("attention.{n}.bias"))),
        )
    };
    let a = Attention::new(
        2,
        [lin("query"), lin("key"), lin("value"), lin("out")],
        get("attention.norm.weight"),
        get("attention.norm.bias"),
    );
    let (t, c) = (8, 6);
    let mut rng = Rng::new(3);
    let s = uniform(&mut rng, t * c);
    let run = |s: &[f32]| -> Vec<f32> {
        let x = Tensor::from_slice(s, (1, t, c), &Device::Cpu).unwrap();
        a.forward(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    };
    let base = run(&s);
    for k in [0, 3, 6] {
        let mut moved = s.clone();
        for v in &mut moved[(k + 1) * c..] {
            *v += 0.5;
        }
        let y = run(&moved);
        assert_eq!(
            base[..(k + 1) * c],
            y[..(k + 1) * c],
            "step ≤ {k} saw the future"
        );
        assert!(max_diff(&base[(k + 1) * c..], &y[(k + 1) * c..]) > 1e-4);
    }
}

/// A recurrent forecast of H steps equals H one-step forecasts fed back by hand: for k = 0..H,
/// a one-step model over the same weights (recurrent weights do not depend on the window) reads
/// the window grown by the k forecasts so far (each appended as the mean of its Q = 3 outputs,
/// historic channels 0 on the appended rows, as neuralforecast masks them) and its forecast is
/// step k + 1 of the multi-step one, to 1e-5. LSTM and GRU, with exogenous channels, with and
/// without attention.
#[test]
fn multi_step_forecasts_equal_one_step_forecasts_fed_back_by_hand() {
    let q = 3;
    let cases: Vec<RnnParams> = vec![
        lstm(true, 0, true).params(),
        lstm(true, 2, true).params(),
        gru(true, 0, true).params(),
        gru(true, 3, false).params(),
    ];
    for p in cases {
        let w = random_weights(&p, q, 9);
        let (n, h, nh, nf) = (p.window(), p.horizon, p.n_hist, p.n_futr);
        let mut rng = Rng::new(4);
        let y = uniform(&mut rng, n);
        let hist = uniform(&mut rng, n * nh);
        let futr = uniform(&mut rng, (n + h) * nf);
        let row: Vec<f32> = [&y[..], &hist, &futr].concat();
        let multi = Engine::new(&p, q, &w)
            .unwrap()
            .forward_rows(&row, 1)
            .unwrap();
        let (mut y_k, mut hist_k) = (y.clone(), hist.clone());
        for k in 0..h {
            let one = RnnParams {
                input_size: p.input_size + k,
                horizon: 1,
                ..p.clone()
            };
            let futr_k = &futr[..(n + k + 1) * nf];
            let row_k: Vec<f32> = [&y_k[..], &hist_k, futr_k].concat();
            let f = Engine::new(&one, q, &w)
                .unwrap()
                .forward_rows(&row_k, 1)
                .unwrap();
            let d = max_diff(&f, &multi[k * q..(k + 1) * q]);
            assert!(
                d < 1e-5,
                "{:?} heads {} step {k}: off by {d}",
                p.cell,
                p.heads
            );
            y_k.push(f.iter().sum::<f32>() / q as f32);
            hist_k.extend(std::iter::repeat_n(0.0, nh));
        }
    }
}

/// The candle network and the plain-Rust engine compute the same function: direct mode
/// (`forward`, with and without attention and exogenous channels) to 1e-5; recurrent mode, the
/// candle teacher-forced forward with h_train = H fed the engine's own forecasts (their means)
/// as the forced targets gives the engine's H forecasts, to 1e-5 (so candle's full-sequence
/// training sees what the step-by-step forecast sees, attention included).
#[test]
fn the_candle_network_and_the_engine_agree() {
    let mut rng = Rng::new(21);
    let q = 2;
    let no_bias = |mut p: RnnParams| {
        p.bias = false;
        p
    };
    for p in [
        lstm(false, 0, false).params(),
        lstm(false, 3, true).params(),
        gru(false, 2, true).params(),
        no_bias(gru(false, 0, true).params()),
    ] {
        let w = random_weights(&p, q, 1);
        let net = super::network::Rnn::new(p.clone(), q, builder(&w)).unwrap();
        let b = 3;
        let x = uniform(&mut rng, b * p.packed_input_size());
        let xt = Tensor::from_slice(&x, (b, p.packed_input_size()), &Device::Cpu).unwrap();
        let c: Vec<f32> = net
            .forward(&xt)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let e = Engine::new(&p, q, &w).unwrap().forward_rows(&x, b).unwrap();
        assert!(max_diff(&c, &e) < 1e-5, "{p:?}: {}", max_diff(&c, &e));
    }
    for mut p in [
        lstm(true, 0, true).params(),
        lstm(true, 2, true).params(),
        gru(true, 3, true).params(),
        no_bias(lstm(true, 0, false).params()),
    ] {
        p.h_train = p.horizon;
        let w = random_weights(&p, q, 2);
        let net = super::network::Rnn::new(p.clone(), q, builder(&w)).unwrap();
        let (n, h, nh, nf) = (p.window(), p.horizon, p.n_hist, p.n_futr);
        let row = uniform(&mut rng, p.packed_input_size());
        let e = Engine::new(&p, q, &w)
            .unwrap()
            .forward_rows(&row, 1)
            .unwrap();
        let forced: Vec<f32> = e
            .chunks_exact(q)
            .take(h - 1)
            .map(|o| o.iter().sum::<f32>() / q as f32)
            .collect();
        // The training row: window, historic rows, future rows over n + H, forced targets.
        let split = n + n * nh;
        let train_row: Vec<f32> =
            [&row[..split], &row[split..split + (n + h) * nf], &forced].concat();
        let xt =
            Tensor::from_slice(&train_row, (1, p.train_packed_input_size()), &Device::Cpu).unwrap();
        let c: Vec<f32> = net
            .forward_teacher_forced(&xt)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert!(
            max_diff(&c, &e) < 1e-5,
            "{:?} heads {}: {}",
            p.cell,
            p.heads,
            max_diff(&c, &e)
        );
    }
}

/// The fast path is batch-invariant: each window alone gets the bits it gets in a batch.
#[test]
fn the_fast_path_is_batch_invariant() {
    for p in [lstm(false, 2, false).params(), gru(true, 0, false).params()] {
        let w = random_weights(&p, 1, 8);
        let fast = super::fast::fast_path(&p, 1, &w).unwrap().unwrap();
        let wd = p.packed_input_size();
        let x = uniform(&mut Rng::new(6), 5 * wd);
        let all = fast.forward_batch(&x, 5);
        let h = p.horizon;
        for i in 0..5 {
            let one = fast.forward_batch(&x[i * wd..(i + 1) * wd], 1);
            assert_eq!(one, all[i * h..(i + 1) * h], "window {i}");
        }
    }
}

/// The config: neuralforecast's defaults (LSTM 128 hidden units, GRU 200, 2 layers, decoder
/// 128 × 2, lr 1e-3, 1000 steps, robust scaler), the window the network reads (input_size + 1
/// in recurrent mode, and set_window round-trips it), `train` deserialized over the recurrent
/// defaults, and refusals.
#[test]
fn config_defaults_window_and_validation() {
    let l = LstmConfig::default();
    let g = GruConfig::default();
    assert_eq!((l.encoder_hidden_size, g.encoder_hidden_size), (128, 200));
    assert_eq!(
        (l.encoder_n_layers, l.decoder_hidden_size, l.decoder_layers),
        (2, 128, 2)
    );
    assert_eq!((l.train.max_steps, l.train.lr), (1000, 1e-3));
    assert_eq!(l.train.scaler, crate::config::ScalerType::Robust);
    let mut r = LstmConfig {
        recurrent: true,
        ..LstmConfig::for_window(24, 6)
    };
    assert_eq!(Architecture::input_size(&r), 25);
    r.set_window(30, 6);
    assert_eq!((r.input_size, Architecture::input_size(&r)), (29, 30));
    let parsed: GruConfig =
        serde_json::from_str(r#"{"recurrent": true, "train": {"max_steps": 7}}"#).unwrap();
    assert_eq!((parsed.train.max_steps, parsed.train.lr), (7, 1e-3));
    let bad = [
        LstmConfig {
            attention_heads: 5,
            ..lstm(false, 0, false)
        },
        LstmConfig {
            encoder_dropout: 1.0,
            ..lstm(false, 0, false)
        },
        LstmConfig {
            h_train: 0,
            ..lstm(true, 0, false)
        },
        // PyTorch's proj_size must stay below hidden_size: 6 hidden units, 6 quantiles.
        LstmConfig {
            train: crate::config::TrainConfig {
                loss: crate::config::Loss::Quantile(vec![0.1, 0.2, 0.3, 0.5, 0.7, 0.9]),
                ..super::rnn_train_defaults()
            },
            ..lstm(true, 0, false)
        },
    ];
    for c in bad {
        assert!(c.validate_architecture().is_err(), "{c:?}");
    }
    let dist = LstmConfig {
        train: crate::config::TrainConfig {
            loss: crate::config::Loss::Distribution {
                distribution: crate::distribution::Distribution::Normal,
                levels: vec![80.0],
            },
            ..super::rnn_train_defaults()
        },
        ..lstm(true, 0, false)
    };
    assert!(dist.validate_architecture().is_err());
}

/// Both modes train through the public loop (recurrent LSTM with h_train 2 and dropout, direct
/// GRU with attention): the last logging period's training loss is below 0.7 of the first's,
/// the model forecasts finite values, and it saves and loads back with the same forecast bits.
#[test]
fn both_modes_train_and_their_loss_falls() {
    let s = nt_testing::synthetic::seasonal(300, 12, 2.0, 0.1, 3);
    let train = crate::config::TrainConfig {
        max_steps: 100,
        windows_batch_size: 32,
        lr: 1e-2,
        val_check_steps: 20,
        ..super::rnn_train_defaults()
    };
    let specs = [
        crate::NeuralSpec::Lstm(LstmConfig {
            input_size: 24,
            horizon: 6,
            recurrent: true,
            h_train: 2,
            encoder_hidden_size: 16,
            encoder_dropout: 0.1,
            train: train.clone(),
            ..LstmConfig::default()
        }),
        crate::NeuralSpec::Gru(GruConfig {
            input_size: 24,
            horizon: 6,
            encoder_hidden_size: 16,
            decoder_hidden_size: 16,
            attention_heads: 2,
            train,
            ..GruConfig::default()
        }),
    ];
    for spec in specs {
        let trained = crate::train(
            &s,
            &["y"],
            &spec,
            &crate::TrainOptions::default(),
            &mut |_| {},
        )
        .unwrap();
        let log = &trained.report.log;
        let (first, last) = (log[0].train_loss, log[log.len() - 1].train_loss);
        assert!(last < 0.7 * first, "{spec:?}: loss {first} -> {last}");
        let y: Vec<f64> = s.column("y").unwrap().to_vec();
        let l = trained.model.input_size();
        let f = trained
            .model
            .forecast_windows(&[&y[y.len() - l..]], 6)
            .unwrap();
        assert!(f[0].point_values().iter().all(|v| v.is_finite()));
        // Saved and loaded back, the model forecasts the same bits.
        let dir = tempfile::tempdir().unwrap();
        trained.model.save(dir.path()).unwrap();
        let back = crate::load(dir.path()).unwrap();
        assert_eq!(back.forecast_windows(&[&y[y.len() - l..]], 6).unwrap(), f);
    }
}
