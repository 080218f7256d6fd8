//! A plain-Rust affine map `y = W·(x − s) + b + s` over one window at a time, the fast CPU path
//! of the linear architectures (DLinear folds its decomposition into `W`; NLinear sets `s` to the
//! window's last value). Hand-written because it is the whole inference cost of those models and
//! must give every window the same bits alone or in any batch: each output is one dot product
//! whose summation order depends only on the input length.

use super::FastForward;

/// `y = W·(x − s) + b + s`, `W` row-major `[out, in]`, `s` the window's last value when
/// `subtract_last`, else 0.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AffineWindow {
    pub(crate) w: Vec<f32>,
    pub(crate) b: Vec<f32>,
    pub(crate) n_in: usize,
    pub(crate) subtract_last: bool,
}

/// `Σ a_i·b_i` in a fixed order: four interleaved partial sums, then their sum.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] = x[k].mul_add(y[k], acc[k]);
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in ra.iter().zip(rb) {
        tail = x.mul_add(*y, tail);
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

impl FastForward for AffineWindow {
    fn forward_batch(&self, x: &[f32], n: usize) -> Vec<f32> {
        let n_out = self.b.len();
        let mut out = Vec::with_capacity(n * n_out);
        let mut shifted = vec![0.0f32; self.n_in];
        for window in x.chunks_exact(self.n_in).take(n) {
            let s = if self.subtract_last {
                window[self.n_in - 1]
            } else {
                0.0
            };
            for (d, v) in shifted.iter_mut().zip(window) {
                *d = v - s;
            }
            for (row, b) in self.w.chunks_exact(self.n_in).zip(&self.b) {
                out.push(dot(row, &shifted) + b + s);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_give_the_bits_of_single_windows() {
        let map = AffineWindow {
            w: (0..3 * 7).map(|i| (i as f32 * 0.37).sin()).collect(),
            b: vec![0.1, -0.2, 0.3],
            n_in: 7,
            subtract_last: true,
        };
        let x: Vec<f32> = (0..5 * 7).map(|i| (i as f32 * 0.11).cos() + 3.0).collect();
        let batch = map.forward_batch(&x, 5);
        for i in 0..5 {
            assert_eq!(
                &batch[i * 3..i * 3 + 3],
                &map.forward_batch(&x[i * 7..i * 7 + 7], 1)[..]
            );
        }
        // y = W (x - last) + b + last, by hand for the first output of the first window.
        let last = x[6];
        let expect: f32 = (0..7).map(|j| map.w[j] * (x[j] - last)).sum::<f32>() + 0.1 + last;
        assert!((batch[0] - expect).abs() < 1e-5);
    }
}
