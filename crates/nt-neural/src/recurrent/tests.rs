//! The kernel against plain candle ops with candle's autograd (outputs and every gradient),
//! its entry points against each other (step by step, training forward, continued state,
//! batch invariance) and its argument checks.
#![allow(clippy::unwrap_used)]

use candle_core::{Device, Tensor, Var};

use super::*;
use crate::rng::Rng;

/// `n` uniform draws in `[−bound, bound)`.
fn uniform(rng: &mut Rng, n: usize, bound: f32) -> Vec<f32> {
    (0..n)
        .map(|_| (rng.next_f64() as f32 * 2.0 - 1.0) * bound)
        .collect()
}

/// The three cases of the brief: LSTM, LSTM with a projection of 4, GRU; I = 5, H = 7.
fn shapes() -> [LayerShape; 3] {
    [
        LayerShape::lstm(5, 7),
        LayerShape {
            proj: 4,
            ..LayerShape::lstm(5, 7)
        },
        LayerShape::gru(5, 7),
    ]
}

/// Flat weights drawn as PyTorch initializes them, `U(±1/sqrt(H))`, times `scale`.
fn weights(shape: &LayerShape, seed: u64, scale: f32) -> Vec<f32> {
    let bound = scale / (shape.hidden as f32).sqrt();
    uniform(&mut Rng::new(seed), shape.n_weights(), bound)
}

/// The weight tensors of a flat vector, as variables.
fn vars(shape: &LayerShape, flat: &[f32]) -> Vec<Var> {
    let mut off = 0;
    shape
        .weight_specs("rnn", 0)
        .iter()
        .map(|s| {
            let n = s.len();
            let t = Tensor::from_slice(&flat[off..off + n], s.shape.as_slice(), &Device::Cpu);
            off += n;
            Var::from_tensor(&t.unwrap()).unwrap()
        })
        .collect()
}

fn max_abs(t: &Tensor) -> f32 {
    t.abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar()
        .unwrap()
}

/// Output and gradients of `loss = Σ y ⊙ a` through `f`, for `x` and each weight.
fn run_candle(
    f: fn(&LayerShape, &Tensor, &[Tensor]) -> crate::Result<Tensor>,
    shape: &LayerShape,
    x: &Var,
    ws: &[Var],
    a: &Tensor,
) -> (Tensor, Vec<Tensor>) {
    let wt: Vec<Tensor> = ws.iter().map(|v| v.as_tensor().clone()).collect();
    let y = f(shape, x.as_tensor(), &wt).unwrap();
    let loss = (&y * a).unwrap().sum_all().unwrap();
    let grads = loss.backward().unwrap();
    let mut g = vec![grads.get(x.as_tensor()).unwrap().clone()];
    g.extend(ws.iter().map(|v| grads.get(v.as_tensor()).unwrap().clone()));
    (y, g)
}

/// The kernel's candle op against the plain-ops reference with candle's autograd, over 48 steps
/// of 3 windows (the small-batch path) and of 20 windows (gemm and threaded gate passes): the
/// outputs (|y| ≲ 1) to 1e-5 absolute, and the gradients of `Σ y ⊙ a` with respect to `x` and
/// every weight to 1e-4 of each gradient's largest magnitude (float32 sums through 48 steps in
/// a different order; a wrong gate, sign or time shift is off by far more). Weights are drawn
/// at twice PyTorch's bound so the gates leave their linear range.
#[test]
fn candle_op_matches_plain_candle_ops_and_autograd() {
    for b in [3, 20] {
        for (k, shape) in shapes().iter().enumerate() {
            let t = 48;
            let mut rng = Rng::new(100 + k as u64);
            let dev = &Device::Cpu;
            let x = Var::from_tensor(
                &Tensor::from_vec(uniform(&mut rng, b * t * 5, 1.0), (b, t, 5), dev).unwrap(),
            )
            .unwrap();
            let a = Tensor::from_vec(
                uniform(&mut rng, b * t * shape.output(), 1.0),
                (b, t, shape.output()),
                dev,
            )
            .unwrap();
            let ws = vars(shape, &weights(shape, 7 + k as u64, 2.0));
            let (y1, g1) = run_candle(candle_layer, shape, &x, &ws, &a);
            let (y2, g2) = run_candle(candle_layer_reference, shape, &x, &ws, &a);
            let dy = max_abs(&(&y1 - &y2).unwrap());
            assert!(dy < 1e-5, "{shape:?} B={b}: outputs differ by {dy}");
            for (j, (p, q)) in g1.iter().zip(&g2).enumerate() {
                let scale = max_abs(q);
                let d = max_abs(&(p - q).unwrap());
                assert!(scale > 0.0, "{shape:?}: gradient {j} is zero");
                assert!(
                    d <= 1e-4 * scale,
                    "{shape:?} B={b}: gradient {j} off by {d} (scale {scale})"
                );
            }
        }
    }
}

/// Runs `layer_forward` over `x` and returns `(y, state)`.
fn forward(shape: &LayerShape, w: &[f32], x: &[f32], b: usize, t: usize) -> (Vec<f32>, State) {
    let lw = LayerWeights::from_flat(shape, w).unwrap();
    let mut state = State::zeros(shape, b);
    let mut y = vec![0f32; b * t * shape.output()];
    layer_forward(shape, &lw, x, b, t, &mut state, &mut y, &mut Scratch::new()).unwrap();
    (y, state)
}

/// `layer_step` T times, `layer_forward_train`, and two `layer_forward` calls continuing the
/// state give `layer_forward`'s bits exactly (3 windows: the small-batch path, same kernels in
/// the same order); and the training tape's last state is the forward's.
#[test]
fn step_train_and_continued_forwards_equal_the_sequence_forward_bit_for_bit() {
    for (k, shape) in shapes().iter().enumerate() {
        let (b, t, i, r) = (3, 48, 5, shape.output());
        let w = weights(shape, 20 + k as u64, 2.0);
        let x = uniform(&mut Rng::new(30 + k as u64), b * t * i, 1.0);
        let (y, state) = forward(shape, &w, &x, b, t);
        let lw = LayerWeights::from_flat(shape, &w).unwrap();

        let mut st = State::zeros(shape, b);
        let mut scratch = Scratch::new();
        let (mut xs, mut ys) = (vec![0f32; b * i], vec![0f32; b * r]);
        for s in 0..t {
            for bi in 0..b {
                xs[bi * i..(bi + 1) * i]
                    .copy_from_slice(&x[(bi * t + s) * i..(bi * t + s + 1) * i]);
            }
            layer_step(shape, &lw, &xs, b, &mut st, &mut ys, &mut scratch).unwrap();
            for bi in 0..b {
                assert_eq!(
                    ys[bi * r..(bi + 1) * r],
                    y[(bi * t + s) * r..(bi * t + s + 1) * r],
                    "{shape:?} step {s}"
                );
            }
        }
        assert_eq!(st, state);

        let mut tape = Tape::new();
        let mut yt = vec![0f32; y.len()];
        layer_forward_train(shape, &lw, &x, b, t, None, None, &mut yt, &mut tape).unwrap();
        assert_eq!(yt, y);
        assert_eq!(tape.last_state(), Some(&state));

        // 20 steps, then the remaining 28 from the state left behind.
        let split = |from: usize, to: usize| -> Vec<f32> {
            (0..b)
                .flat_map(|bi| x[(bi * t + from) * i..(bi * t + to) * i].to_vec())
                .collect()
        };
        let mut st = State::zeros(shape, b);
        let (mut y1, mut y2) = (vec![0f32; b * 20 * r], vec![0f32; b * 28 * r]);
        layer_forward(
            shape,
            &lw,
            &split(0, 20),
            b,
            20,
            &mut st,
            &mut y1,
            &mut scratch,
        )
        .unwrap();
        layer_forward(
            shape,
            &lw,
            &split(20, 48),
            b,
            28,
            &mut st,
            &mut y2,
            &mut scratch,
        )
        .unwrap();
        for bi in 0..b {
            assert_eq!(
                y1[bi * 20 * r..(bi + 1) * 20 * r],
                y[bi * t * r..(bi * t + 20) * r]
            );
            assert_eq!(
                y2[bi * 28 * r..(bi + 1) * 28 * r],
                y[(bi * t + 20) * r..(bi + 1) * t * r]
            );
        }
        assert_eq!(st, state);
    }
}

/// Each window of a batch gets the outputs it gets alone: bit for bit in a batch of 3 (the
/// small-batch kernels), within 1e-6 absolute in a batch of 20 (gemm's blocking may round the
/// products differently from the small kernel a lone window uses).
#[test]
fn windows_forwarded_in_a_batch_equal_the_same_windows_alone() {
    for (k, shape) in shapes().iter().enumerate() {
        let (t, i, r) = (48, 5, shape.output());
        let w = weights(shape, 40 + k as u64, 2.0);
        for b in [3, 20] {
            let x = uniform(&mut Rng::new(50 + k as u64), b * t * i, 1.0);
            let (y, _) = forward(shape, &w, &x, b, t);
            for bi in [0, b / 2, b - 1] {
                let (one, _) = forward(shape, &w, &x[bi * t * i..(bi + 1) * t * i], 1, t);
                let mine = &y[bi * t * r..(bi + 1) * t * r];
                if b <= SMALL_BATCH {
                    assert_eq!(one, mine, "{shape:?} window {bi} of {b}");
                } else {
                    let d = one
                        .iter()
                        .zip(mine)
                        .map(|(p, q)| (p - q).abs())
                        .fold(0f32, f32::max);
                    assert!(d <= 1e-6, "{shape:?} window {bi} of {b}: {d}");
                }
            }
        }
    }
}

/// The backward's state gradients: `dh0`/`dc0` from the tape equal the gradient of the same
/// loss by central finite differences in f64-accumulated float32 (step 1e-2 on a smooth
/// function of size ~1: truncation ~1e-5, rounding ~1e-5), to 2e-3 absolute.
#[test]
fn initial_state_gradients_match_finite_differences() {
    for (k, shape) in shapes().iter().enumerate() {
        let (b, t, i, r) = (2, 12, 5, shape.output());
        let w = weights(shape, 60 + k as u64, 2.0);
        let lw = LayerWeights::from_flat(shape, &w).unwrap();
        let mut rng = Rng::new(70 + k as u64);
        let x = uniform(&mut rng, b * t * i, 1.0);
        let a = uniform(&mut rng, b * t * r, 1.0);
        let h0 = uniform(&mut rng, b * r, 0.5);
        let c0 = if shape.cell == Cell::Lstm {
            uniform(&mut rng, b * shape.hidden, 0.5)
        } else {
            Vec::new()
        };
        let loss = |h0: &[f32], c0: &[f32]| -> f64 {
            let mut y = vec![0f32; b * t * r];
            let c = (!c0.is_empty()).then_some(c0);
            layer_forward_train(shape, &lw, &x, b, t, Some(h0), c, &mut y, &mut Tape::new())
                .unwrap();
            y.iter()
                .zip(&a)
                .map(|(p, q)| f64::from(*p) * f64::from(*q))
                .sum()
        };
        let mut tape = Tape::new();
        let mut y = vec![0f32; b * t * r];
        let c = (!c0.is_empty()).then_some(c0.as_slice());
        layer_forward_train(shape, &lw, &x, b, t, Some(&h0), c, &mut y, &mut tape).unwrap();
        let (mut dx, mut dw) = (vec![0f32; x.len()], vec![0f32; w.len()]);
        layer_backward(shape, &lw, &mut tape, &a, &mut dx, &mut dw).unwrap();
        let eps = 1e-2f32;
        for j in 0..h0.len() {
            let (mut p, mut m) = (h0.clone(), h0.clone());
            p[j] += eps;
            m[j] -= eps;
            let fd = (loss(&p, &c0) - loss(&m, &c0)) / (2.0 * f64::from(eps));
            assert!(
                (fd - f64::from(tape.dh0()[j])).abs() < 2e-3,
                "{shape:?} dh0[{j}]: {fd} vs {}",
                tape.dh0()[j]
            );
        }
        for j in 0..c0.len() {
            let (mut p, mut m) = (c0.clone(), c0.clone());
            p[j] += eps;
            m[j] -= eps;
            let fd = (loss(&h0, &p) - loss(&h0, &m)) / (2.0 * f64::from(eps));
            assert!(
                (fd - f64::from(tape.dc0()[j])).abs() < 2e-3,
                "{shape:?} dc0[{j}]: {fd} vs {}",
                tape.dc0()[j]
            );
        }
        // The weight gradients accumulate: a second backward doubles them.
        let first = dw.clone();
        layer_backward(shape, &lw, &mut tape, &a, &mut dx, &mut dw).unwrap();
        for (d, f) in dw.iter().zip(&first) {
            assert!((d - 2.0 * f).abs() <= 1e-6 * (1.0 + f.abs()));
        }
    }
}

/// Wrong lengths, shapes and tapes are errors, not panics.
#[test]
fn mismatched_arguments_are_errors() {
    let shape = LayerShape::lstm(5, 7);
    let w = weights(&shape, 1, 1.0);
    assert!(LayerWeights::from_flat(&shape, &w[1..]).is_err());
    let lw = LayerWeights::from_flat(&shape, &w).unwrap();
    let mut st = State::zeros(&shape, 2);
    let mut s = Scratch::new();
    let mut y = vec![0f32; 2 * 3 * 7];
    assert!(layer_forward(&shape, &lw, &[0.0; 29], 2, 3, &mut st, &mut y, &mut s).is_err());
    assert!(layer_forward(
        &shape,
        &lw,
        &[0.0; 30],
        2,
        3,
        &mut State::zeros(&shape, 1),
        &mut y,
        &mut s
    )
    .is_err());
    assert!(layer_forward(&shape, &lw, &[0.0; 30], 2, 3, &mut st, &mut y[1..], &mut s).is_err());
    let mut tape = Tape::new();
    let (mut dx, mut dw) = (vec![0f32; 30], vec![0f32; w.len()]);
    assert!(layer_backward(&shape, &lw, &mut tape, &y, &mut dx, &mut dw).is_err());
    assert!(layer_forward_train(
        &shape,
        &lw,
        &[0.0; 30],
        2,
        3,
        Some(&[0.0; 3]),
        None,
        &mut y,
        &mut tape
    )
    .is_err());
    assert!(LayerShape { proj: 7, ..shape }.validate().is_err());
    assert!(LayerShape {
        proj: 2,
        ..LayerShape::gru(5, 7)
    }
    .validate()
    .is_err());
    let x = Tensor::zeros((2, 3, 4), candle_core::DType::F32, &Device::Cpu).unwrap();
    let ws: Vec<Tensor> = vars(&shape, &w)
        .iter()
        .map(|v| v.as_tensor().clone())
        .collect();
    assert!(candle_layer(&shape, &x, &ws).is_err());
    let x = Tensor::zeros((2, 3, 5), candle_core::DType::F32, &Device::Cpu).unwrap();
    assert!(candle_layer(&shape, &x, &ws[..3]).is_err());
    assert!(candle_layer(&shape, &x, &ws).is_ok());
}

/// The state-dict names, shapes and sizes PyTorch gives `nn.LSTM(5, 7, proj_size=4)`'s layer 1.
#[test]
fn weight_specs_follow_pytorch_names_and_shapes() {
    let shape = LayerShape {
        proj: 4,
        ..LayerShape::lstm(5, 7)
    };
    let specs = shape.weight_specs("hist_encoder", 1);
    let got: Vec<(&str, &[usize])> = specs
        .iter()
        .map(|s| (s.name.as_str(), s.shape.as_slice()))
        .collect();
    assert_eq!(
        got,
        [
            ("hist_encoder.weight_ih_l1", &[28, 5][..]),
            ("hist_encoder.weight_hh_l1", &[28, 4][..]),
            ("hist_encoder.bias_ih_l1", &[28][..]),
            ("hist_encoder.bias_hh_l1", &[28][..]),
            ("hist_encoder.weight_hr_l1", &[4, 7][..]),
        ]
    );
    assert_eq!(
        shape.n_weights(),
        specs.iter().map(|s| s.len()).sum::<usize>()
    );
    assert_eq!(LayerShape::gru(5, 7).n_weights(), 21 * 5 + 21 * 7 + 42);
    assert!(specs.iter().all(|s| s.init
        == crate::Init::Uniform {
            bound: 1.0 / 7f64.sqrt()
        }));
}
