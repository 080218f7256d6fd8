use std::collections::HashMap;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};

use super::*;

fn small(residual: bool) -> TcnConfig {
    TcnConfig {
        input_size: 11,
        horizon: 4,
        dilations: vec![1, 2, 4],
        encoder_hidden_size: 5,
        decoder_hidden_size: 6,
        residual,
        ..TcnConfig::default()
    }
}

/// Variables drawn with the architecture's own init rules (as training does), in `dtype`.
fn vars(cfg: &TcnConfig, q: usize, dtype: DType, seed: u64) -> Vec<(String, Var)> {
    let mut rng = Rng::new(seed);
    cfg.weights(q)
        .into_iter()
        .map(|w| {
            let v = crate::arch::draw(w.init, w.len(), &mut rng);
            let t = Tensor::from_vec(v, w.shape.as_slice(), &Device::Cpu)
                .unwrap()
                .to_dtype(dtype)
                .unwrap();
            (w.name, Var::from_tensor(&t).unwrap())
        })
        .collect()
}

fn net_of(cfg: &TcnConfig, q: usize, vars: &[(String, Var)], dtype: DType) -> Tcn {
    let map: HashMap<String, Tensor> = vars
        .iter()
        .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
        .collect();
    Tcn::new(cfg, q, VarBuilder::from_tensors(map, dtype, &Device::Cpu)).unwrap()
}

fn inputs(b: usize, w: usize, dtype: DType) -> Tensor {
    let v: Vec<f32> = (0..b * w)
        .map(|i| 10.0 + ((i * 7919) % 97) as f32 / 50.0 - 1.0)
        .collect();
    Tensor::from_vec(v, (b, w), &Device::Cpu)
        .unwrap()
        .to_dtype(dtype)
        .unwrap()
}

#[test]
fn defaults_follow_neuralforecast_and_serde_fills_them() {
    let c = TcnConfig::default();
    c.validate_architecture().unwrap();
    assert_eq!((c.input_size, c.horizon, c.kernel_size), (288, 96, 2));
    assert_eq!(c.dilations, [1, 2, 4, 8, 16]);
    let t = &c.train;
    assert_eq!(
        (t.max_steps, t.lr, t.num_lr_decays, t.windows_batch_size),
        (1000, 1e-3, 0, 128)
    );
    assert_eq!(t.scaler, ScalerType::Robust);
    // A partial `train` keeps TCN's own defaults for the fields it omits.
    let c: TcnConfig = serde_json::from_str(r#"{"train": {"max_steps": 7}}"#).unwrap();
    assert_eq!((c.train.max_steps, c.train.windows_batch_size), (7, 128));
    assert!(serde_json::from_str::<TcnConfig>(r#"{"context_size": 10}"#).is_err());
    let back: TcnConfig = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    assert_eq!(back, c);
}

#[test]
fn invalid_fields_are_named() {
    let cases: Vec<(&str, TcnConfig)> = vec![
        (
            "kernel_size",
            TcnConfig {
                kernel_size: 0,
                ..small(false)
            },
        ),
        (
            "dilations",
            TcnConfig {
                dilations: vec![],
                ..small(false)
            },
        ),
        (
            "dilations",
            TcnConfig {
                dilations: vec![1, 0],
                ..small(false)
            },
        ),
        (
            "encoder_hidden_size",
            TcnConfig {
                encoder_hidden_size: 0,
                ..small(false)
            },
        ),
        (
            "decoder_layers",
            TcnConfig {
                decoder_layers: 0,
                ..small(false)
            },
        ),
        (
            "dropout",
            TcnConfig {
                dropout: 0.2,
                ..small(false)
            },
        ),
        (
            "dropout",
            TcnConfig {
                dropout: 1.0,
                ..small(true)
            },
        ),
        (
            "futr_exog_list",
            TcnConfig {
                hist_exog_list: vec!["a".into()],
                futr_exog_list: vec!["a".into()],
                ..small(false)
            },
        ),
    ];
    for (field, cfg) in cases {
        let err = cfg.validate_architecture().unwrap_err().to_string();
        assert!(err.contains(field), "{field}: {err}");
    }
    TcnConfig {
        dropout: 0.2,
        ..small(true)
    }
    .validate_architecture()
    .unwrap();
}

/// `weights()` lists exactly the variables `build` creates (names and shapes), for every
/// variant: plain, residual (with and without a skip convolution), exogenous inputs, one- and
/// three-layer decoders; neuralforecast's `causalconv.0` aliases are not ours.
#[test]
fn weights_list_what_build_creates() {
    let mut variants = vec![small(false), small(true)];
    variants.push(TcnConfig {
        hist_exog_list: vec!["h".into()],
        futr_exog_list: vec!["f1".into(), "f2".into()],
        decoder_layers: 1,
        ..small(false)
    });
    variants.push(TcnConfig {
        encoder_hidden_size: 1,
        decoder_layers: 3,
        kernel_size: 3,
        ..small(true)
    });
    for cfg in variants {
        for q in [1, 3] {
            let vm = VarMap::new();
            let vb = VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu);
            cfg.build(q, vb).unwrap();
            let mut built: Vec<(String, Vec<usize>)> = vm
                .data()
                .lock()
                .unwrap()
                .iter()
                .map(|(n, v)| (n.clone(), v.dims().to_vec()))
                .collect();
            built.sort();
            let mut listed: Vec<(String, Vec<usize>)> = cfg
                .weights(q)
                .into_iter()
                .map(|w| (w.name, w.shape))
                .collect();
            listed.sort();
            assert_eq!(built, listed, "{cfg:?}");
            assert_eq!(
                cfg.features(q).params,
                listed
                    .iter()
                    .map(|(_, s)| s.iter().product::<usize>())
                    .sum::<usize>()
            );
            assert!(listed.iter().all(|(n, _)| TcnConfig::owns_weight(n)));
        }
    }
    assert!(!TcnConfig::owns_weight(
        "hist_encoder.tcn.0.causalconv.0.weight"
    ));
    assert!(TcnConfig::owns_weight("hist_encoder.tcn.0.conv.extra"));
}

/// The plain-Rust path computes the candle network's function (to 1e-5 on outputs of order
/// 1-10), and a window gets the same bits alone as in a batch.
#[test]
fn fast_path_matches_candle_and_is_batch_invariant() {
    for residual in [false, true] {
        for q in [1, 3] {
            let cfg = TcnConfig {
                kernel_size: if residual { 3 } else { 2 },
                decoder_layers: if q == 3 { 3 } else { 2 },
                ..small(residual)
            };
            let vs = vars(&cfg, q, DType::F32, 7);
            let net = net_of(&cfg, q, &vs, DType::F32);
            let named: Vec<(String, Tensor)> = vs
                .iter()
                .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
                .collect();
            let fast = fast::FastTcn::new(&cfg, q, &named).unwrap();
            let b = 5;
            let x = inputs(b, cfg.input_size, DType::F32);
            let want: Vec<f32> = net
                .forward(&x)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let xv: Vec<f32> = x.flatten_all().unwrap().to_vec1().unwrap();
            let got = fast.forward_batch(&xv, b);
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() < 1e-5,
                    "residual {residual} q {q}: {g} vs {w}"
                );
            }
            let per = cfg.horizon * q;
            let l = cfg.input_size;
            let alone = fast.forward_batch(&xv[2 * l..3 * l], 1);
            assert_eq!(alone, got[2 * per..3 * per]);
        }
    }
}

/// The residual variant's gradients (weight norm, skip convolution, context adapter, decoder)
/// agree with central finite differences of the loss, in f64: relative error below 1e-5.
#[test]
fn residual_gradients_match_finite_differences() {
    let cfg = TcnConfig {
        kernel_size: 3,
        ..small(true)
    };
    let q = 2;
    let vs = vars(&cfg, q, DType::F64, 3);
    let x = inputs(3, cfg.input_size, DType::F64);
    // A fixed target (candle's `Tensor::rand` is not seedable: the test must repeat).
    let n = 3 * cfg.horizon * q;
    let values: Vec<f64> = (0..n).map(|i| (i as f64 * 0.731).sin()).collect();
    let target = Tensor::from_vec(values, (3, cfg.horizon, q), &Device::Cpu).unwrap();
    // A smooth loss (MSE), so the finite differences are accurate.
    let loss_of = |vs: &[(String, Var)]| -> Tensor {
        let net = net_of(&cfg, q, vs, DType::F64);
        (net.forward(&x).unwrap() - &target)
            .unwrap()
            .sqr()
            .unwrap()
            .mean_all()
            .unwrap()
    };
    let grads = loss_of(&vs).backward().unwrap();
    let eps = 1e-6;
    for (name, var) in &vs {
        let g: Vec<f64> = grads
            .get(var.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let base: Vec<f64> = var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
        // A few coordinates per tensor (first, middle, last).
        for i in [0, base.len() / 2, base.len() - 1] {
            let at = |delta: f64| -> f64 {
                let mut v = base.clone();
                v[i] += delta;
                let t = Tensor::from_vec(v, var.as_tensor().shape(), &Device::Cpu).unwrap();
                let moved: Vec<(String, Var)> = vs
                    .iter()
                    .map(|(n, w)| {
                        let w = if n == name {
                            Var::from_tensor(&t).unwrap()
                        } else {
                            w.clone()
                        };
                        (n.clone(), w)
                    })
                    .collect();
                loss_of(&moved).to_scalar::<f64>().unwrap()
            };
            let fd = (at(eps) - at(-eps)) / (2.0 * eps);
            let err = (fd - g[i]).abs() / (1e-6 + fd.abs().max(g[i].abs()));
            assert!(err < 1e-5, "{name}[{i}]: autograd {} vs fd {fd}", g[i]);
        }
    }
}

/// Single-window forward time of the plain-Rust path against candle at the default size
/// (L=288, H=96, C=128, five dilations): prints medians, asserts nothing about time.
/// `cargo test --release -p nt-neural --lib tcn_latency -- --ignored --nocapture`
#[test]
#[ignore]
fn tcn_latency() {
    for residual in [false, true] {
        let cfg = TcnConfig {
            residual,
            ..TcnConfig::default()
        };
        let vs = vars(&cfg, 1, DType::F32, 1);
        let net = net_of(&cfg, 1, &vs, DType::F32);
        let named: Vec<(String, Tensor)> = vs
            .iter()
            .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
            .collect();
        let fast = fast::FastTcn::new(&cfg, 1, &named).unwrap();
        let x = inputs(1, cfg.input_size, DType::F32);
        let xv: Vec<f32> = x.flatten_all().unwrap().to_vec1().unwrap();
        let median = |f: &mut dyn FnMut()| {
            let mut t: Vec<f64> = (0..200)
                .map(|_| {
                    let s = std::time::Instant::now();
                    f();
                    s.elapsed().as_secs_f64() * 1e6
                })
                .collect();
            t.sort_by(f64::total_cmp);
            t[t.len() / 2]
        };
        let c = median(&mut || {
            net.forward(&x).unwrap();
        });
        let f = median(&mut || {
            fast.forward_batch(&xv, 1);
        });
        println!("residual {residual}: candle {c:.0} us, fast {f:.0} us (batch 1, median of 200)");
    }
}

/// One training step's forward + backward through candle at L=72, H=24, 128 windows, default
/// widths: prints the median, asserts nothing about time.
/// `cargo test --release -p nt-neural --lib tcn_step_time -- --ignored --nocapture`
#[test]
#[ignore]
fn tcn_step_time() {
    let cfg = TcnConfig {
        input_size: 72,
        horizon: 24,
        ..TcnConfig::default()
    };
    let vs = vars(&cfg, 1, DType::F32, 1);
    let net = net_of(&cfg, 1, &vs, DType::F32);
    let x = inputs(128, 72, DType::F32);
    let mut t: Vec<f64> = (0..10)
        .map(|_| {
            let s = std::time::Instant::now();
            let loss = net.forward(&x).unwrap().abs().unwrap().mean_all().unwrap();
            let f = s.elapsed().as_secs_f64();
            loss.backward().unwrap();
            println!(
                "forward {:.1} ms, total {:.1} ms",
                f * 1e3,
                s.elapsed().as_secs_f64() * 1e3
            );
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    println!("step median {:.1} ms", t[t.len() / 2]);
}
