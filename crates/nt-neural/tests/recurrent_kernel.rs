//! The recurrent kernel against PyTorch 2.15's `nn.LSTM` (without and with `proj_size`) and
//! `nn.GRU`: weights, inputs, outputs, final states and the gradients of `loss = Σ y ⊙ a` come
//! from `tools/reference/neuralforecast/make_recurrent_kernel_parity.py`
//! (`tests/fixtures/recurrent_kernel.json`; B = 3 windows, T = 48 steps, I = 5, H = 7, P = 4).
#![allow(clippy::unwrap_used)]

mod common;

use candle_core::{Device, Tensor, Var};
use nt_neural::recurrent::{
    candle_layer, layer_backward, layer_forward, layer_forward_train, Cell, LayerShape,
    LayerWeights, Scratch, State, Tape,
};
use serde_json::Value;

/// One case of the fixture.
struct Case {
    name: &'static str,
    shape: LayerShape,
    b: usize,
    t: usize,
    doc: Value,
}

impl Case {
    fn values(&self, key: &str) -> Vec<f32> {
        self.doc[key]
            .as_array()
            .unwrap_or_else(|| panic!("{}: no `{key}` in the fixture", self.name))
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect()
    }

    /// The weights' state-dict names in the kernel's flat order.
    fn names(&self) -> Vec<String> {
        self.shape
            .weight_specs("", 0)
            .into_iter()
            .map(|s| s.name.trim_start_matches('.').to_string())
            .collect()
    }

    /// The flat weights (w_ih, w_hh, b_ih, b_hh[, w_hr]).
    fn flat(&self) -> Vec<f32> {
        self.names()
            .iter()
            .flat_map(|n| self.values(&format!("weights.{n}")))
            .collect()
    }
}

fn cases() -> Vec<Case> {
    let text =
        std::fs::read_to_string(common::fixture("recurrent_kernel.json")).unwrap_or_else(|e| {
            panic!(
                "{e}: run tools/reference/neuralforecast/make_recurrent_kernel_parity.py to \
                 write tests/fixtures/recurrent_kernel.json"
            )
        });
    let doc: Value = serde_json::from_str(&text).unwrap();
    ["lstm", "lstm_proj", "gru"]
        .into_iter()
        .map(|name| {
            let mut d = doc[name].clone();
            // Flatten the weights map into `weights.<name>` keys.
            let weights = d["weights"].as_object().unwrap().clone();
            for (k, v) in weights {
                d[format!("weights.{k}")] = v;
            }
            let n = |k: &str| d[k].as_u64().unwrap() as usize;
            let cell = match d["cell"].as_str().unwrap() {
                "lstm" => Cell::Lstm,
                _ => Cell::Gru,
            };
            let shape = LayerShape {
                cell,
                input: n("input"),
                hidden: n("hidden"),
                proj: n("proj"),
            };
            Case {
                name,
                shape,
                b: n("batch"),
                t: n("steps"),
                doc: d,
            }
        })
        .collect()
}

/// max |a − b|.
fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f32::max)
}

/// `ours` within `rel` of `max |theirs|` of `theirs`.
fn assert_rel(what: &str, ours: &[f32], theirs: &[f32], rel: f32) {
    let scale = theirs.iter().fold(0f32, |m, v| m.max(v.abs()));
    let d = max_diff(ours, theirs);
    eprintln!("{what}: {:.2e} of the scale", d / scale);
    assert!(scale > 0.0, "{what}: torch's gradient is zero");
    assert!(d <= rel * scale, "{what}: off by {d} (scale {scale})");
}

/// `layer_forward` reproduces torch's outputs and final states to 1e-5 absolute (values of
/// size ≲ 1 after 48 steps of float32 arithmetic in a different order: rounding stays near
/// 1e-6; a wrong gate order, bias or time shift is off by 1e-2 or more).
#[test]
fn forward_matches_pytorch() {
    for c in cases() {
        let (w, x) = (c.flat(), c.values("x"));
        let lw = LayerWeights::from_flat(&c.shape, &w).unwrap();
        let mut state = State::zeros(&c.shape, c.b);
        let mut y = vec![0f32; c.b * c.t * c.shape.output()];
        layer_forward(
            &c.shape,
            &lw,
            &x,
            c.b,
            c.t,
            &mut state,
            &mut y,
            &mut Scratch::new(),
        )
        .unwrap();
        let d = max_diff(&y, &c.values("y"));
        eprintln!("{}: y off by {d:.2e}", c.name);
        assert!(d < 1e-5, "{}: y off by {d}", c.name);
        let d = max_diff(&state.h, &c.values("h_n"));
        assert!(d < 1e-5, "{}: h_n off by {d}", c.name);
        let d = max_diff(&state.c, &c.values("c_n"));
        assert!(d < 1e-5, "{}: c_n off by {d}", c.name);
    }
}

/// The hand-written backpropagation through time reproduces torch's gradients of
/// `Σ y ⊙ a` with respect to the input and every weight, through 48 steps, to 1e-4 of each
/// gradient's largest magnitude; the candle op (same kernel under candle's autograd) too.
#[test]
fn gradients_match_pytorch_through_48_steps() {
    for c in cases() {
        let (w, x, a) = (c.flat(), c.values("x"), c.values("a"));
        let lw = LayerWeights::from_flat(&c.shape, &w).unwrap();
        let mut tape = Tape::new();
        let mut y = vec![0f32; a.len()];
        layer_forward_train(&c.shape, &lw, &x, c.b, c.t, None, None, &mut y, &mut tape).unwrap();
        let (mut dx, mut dw) = (vec![0f32; x.len()], vec![0f32; w.len()]);
        layer_backward(&c.shape, &lw, &mut tape, &a, &mut dx, &mut dw).unwrap();
        assert_rel(&format!("{} dx", c.name), &dx, &c.values("grad_x"), 1e-4);
        let mut off = 0;
        for n in c.names() {
            let want = c.values(&format!("grad.{n}"));
            let got = &dw[off..off + want.len()];
            assert_rel(&format!("{} d{n}", c.name), got, &want, 1e-4);
            off += want.len();
        }
        assert_eq!(off, dw.len());

        // The same through candle.
        let dev = &Device::Cpu;
        let xv =
            Var::from_tensor(&Tensor::from_vec(x.clone(), (c.b, c.t, c.shape.input), dev).unwrap())
                .unwrap();
        let mut off = 0;
        let ws: Vec<Var> = c
            .shape
            .weight_specs("", 0)
            .iter()
            .map(|s| {
                let t = Tensor::from_slice(&w[off..off + s.len()], s.shape.as_slice(), dev);
                off += s.len();
                Var::from_tensor(&t.unwrap()).unwrap()
            })
            .collect();
        let wt: Vec<Tensor> = ws.iter().map(|v| v.as_tensor().clone()).collect();
        let yt = candle_layer(&c.shape, xv.as_tensor(), &wt).unwrap();
        let at = Tensor::from_vec(a.clone(), yt.shape(), dev).unwrap();
        let grads = (&yt * &at).unwrap().sum_all().unwrap().backward().unwrap();
        let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let d = max_diff(&flat(&yt), &c.values("y"));
        assert!(d < 1e-5, "{}: candle y off by {d}", c.name);
        let gx = flat(grads.get(xv.as_tensor()).unwrap());
        assert_rel(
            &format!("{} candle dx", c.name),
            &gx,
            &c.values("grad_x"),
            1e-4,
        );
        for (v, n) in ws.iter().zip(c.names()) {
            let g = flat(grads.get(v.as_tensor()).unwrap());
            assert_rel(
                &format!("{} candle d{n}", c.name),
                &g,
                &c.values(&format!("grad.{n}")),
                1e-4,
            );
        }
    }
}
