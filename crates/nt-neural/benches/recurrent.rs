//! Criterion benchmarks of the recurrent kernel (`nt_neural::recurrent`) on two stacked layers
//! over 288 steps of a univariate input: LSTM hidden 128 and GRU hidden 200, each as an
//! inference forward of 1 window and of 128 windows, and a training forward + backward (BPTT,
//! input and weight gradients) of 128 windows. The peer is `tools/reference/recurrent_bench.py`
//! (PyTorch eager `nn.LSTM`/`nn.GRU`, same cases). Fixed seeds; nothing asserts on time.
//!
//! `cargo bench -p nt-neural --bench recurrent -- --warm-up-time 1 --measurement-time 5`.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use nt_neural::recurrent::{
    layer_backward, layer_forward, layer_forward_train, Cell, LayerShape, LayerWeights, Scratch,
    State, Tape,
};
use nt_neural::rng::Rng;

const STEPS: usize = 288;
const LAYERS: usize = 2;

/// Two stacked layers of `cell` with hidden `h` over a univariate input, and their weights
/// drawn as PyTorch initializes them.
fn stack(cell: Cell, h: usize) -> Vec<(LayerShape, Vec<f32>)> {
    let mut rng = Rng::new(7);
    (0..LAYERS)
        .map(|l| {
            let shape = LayerShape {
                cell,
                input: if l == 0 { 1 } else { h },
                hidden: h,
                proj: 0,
            };
            let bound = 1.0 / (h as f64).sqrt();
            let w = (0..shape.n_weights())
                .map(|_| ((rng.next_f64() * 2.0 - 1.0) * bound) as f32)
                .collect();
            (shape, w)
        })
        .collect()
}

fn inputs(n: usize) -> Vec<f32> {
    let mut rng = Rng::new(11);
    (0..n).map(|_| rng.next_f64() as f32 * 2.0 - 1.0).collect()
}

fn recurrent(c: &mut Criterion) {
    let mut group = c.benchmark_group("recurrent");
    group.sample_size(10);
    for (name, cell, h) in [("lstm128", Cell::Lstm, 128), ("gru200", Cell::Gru, 200)] {
        let layers = stack(cell, h);
        for b in [1usize, 128] {
            let x = inputs(b * STEPS);
            let mut scratch = Scratch::new();
            let mut ys = vec![vec![0f32; b * STEPS * h]; LAYERS];
            group.bench_function(BenchmarkId::new(format!("{name}/forward"), b), |bench| {
                bench.iter(|| {
                    for (l, (shape, w)) in layers.iter().enumerate() {
                        let lw = LayerWeights::from_flat(shape, w).unwrap();
                        let mut state = State::zeros(shape, b);
                        let (done, rest) = ys.split_at_mut(l);
                        let input = if l == 0 { &x } else { &done[l - 1] };
                        layer_forward(
                            shape,
                            &lw,
                            input,
                            b,
                            STEPS,
                            &mut state,
                            &mut rest[0],
                            &mut scratch,
                        )
                        .unwrap();
                    }
                    ys[LAYERS - 1][0]
                })
            });
        }
        let b = 128;
        let x = inputs(b * STEPS);
        let dy = inputs(b * STEPS * h);
        let mut tapes: Vec<Tape> = (0..LAYERS).map(|_| Tape::new()).collect();
        let mut ys = vec![vec![0f32; b * STEPS * h]; LAYERS];
        let mut dws: Vec<Vec<f32>> = layers.iter().map(|(_, w)| vec![0f32; w.len()]).collect();
        let mut dx0 = vec![0f32; b * STEPS];
        let mut dh = vec![0f32; b * STEPS * h];
        group.bench_function(BenchmarkId::new(format!("{name}/train"), b), |bench| {
            bench.iter(|| {
                for (l, (shape, w)) in layers.iter().enumerate() {
                    let lw = LayerWeights::from_flat(shape, w).unwrap();
                    let (done, rest) = ys.split_at_mut(l);
                    let input = if l == 0 { &x } else { &done[l - 1] };
                    layer_forward_train(
                        shape,
                        &lw,
                        input,
                        b,
                        STEPS,
                        None,
                        None,
                        &mut rest[0],
                        &mut tapes[l],
                    )
                    .unwrap();
                }
                // Layer 2 from dy, its input gradient into layer 1.
                let (s1, w1) = &layers[1];
                let lw = LayerWeights::from_flat(s1, w1).unwrap();
                layer_backward(s1, &lw, &mut tapes[1], &dy, &mut dh, &mut dws[1]).unwrap();
                let (s0, w0) = &layers[0];
                let lw = LayerWeights::from_flat(s0, w0).unwrap();
                layer_backward(s0, &lw, &mut tapes[0], &dh, &mut dx0, &mut dws[0]).unwrap();
                dx0[0]
            })
        });
    }
    group.finish();
}

criterion_group!(benches, recurrent);
criterion_main!(benches);
