//! The engine's elementwise and reduction kernels, split over rayon's threads in chunks of a
//! fixed number of rows, so every element is computed the same way whatever the thread count.
//! Plain loops the compiler vectorizes (hand-written: candle runs these on one core).

use rayon::prelude::*;

use crate::config::Activation;

/// Rows per parallel chunk: large enough that a chunk is worth a task (a 512-wide layer's chunk
/// is 128 KiB), small enough that a 1024-window batch spreads over every core.
const ROWS_PER_CHUNK: usize = 64;

/// Fills each of the rows of `out` (`width` wide) with `bias`.
pub(crate) fn fill_rows(out: &mut [f32], bias: &[f32]) {
    let width = bias.len().max(1);
    out.par_chunks_mut(width * ROWS_PER_CHUNK)
        .for_each(|chunk| {
            chunk
                .chunks_exact_mut(width)
                .for_each(|r| r.copy_from_slice(bias))
        });
}

/// `v = act(v)` in place.
pub(crate) fn activate(a: Activation, v: &mut [f32]) {
    v.par_chunks_mut(8192)
        .for_each(|c| crate::arch::dense::activate(a, c));
}

/// `g *= act'(x)` where `y = act(x)` is the activation's output (every supported activation's
/// derivative is a function of its output).
pub(crate) fn activation_backward(a: Activation, y: &[f32], g: &mut [f32]) {
    g.par_chunks_mut(8192)
        .zip(y.par_chunks(8192))
        .for_each(|(g, y)| {
            for (g, &y) in g.iter_mut().zip(y) {
                *g *= derivative(a, y);
            }
        });
}

/// The activation's derivative at the input whose output is `y`.
#[inline]
fn derivative(a: Activation, y: f32) -> f32 {
    const SELU_SCALE: f32 = 1.050_701;
    const SELU_ALPHA: f32 = 1.673_263_2;
    match a {
        Activation::ReLU => {
            if y > 0.0 {
                1.0
            } else {
                0.0
            }
        }
        Activation::LeakyReLU => {
            if y > 0.0 {
                1.0
            } else {
                0.01
            }
        }
        Activation::Tanh => 1.0 - y * y,
        Activation::Sigmoid => y * (1.0 - y),
        // softplus' = sigmoid(x) = 1 - e^-y.
        Activation::Softplus => -(-y).exp_m1(),
        // y = s·x (x > 0) or s·α(e^x - 1): the slope is s, or s·α·e^x = y + s·α.
        Activation::SELU => {
            if y > 0.0 {
                SELU_SCALE
            } else {
                y + SELU_SCALE * SELU_ALPHA
            }
        }
    }
}

/// `a *= b` elementwise.
pub(crate) fn mul_in_place(a: &mut [f32], b: &[f32]) {
    a.par_chunks_mut(8192)
        .zip(b.par_chunks(8192))
        .for_each(|(a, b)| a.iter_mut().zip(b).for_each(|(a, b)| *a *= b));
}

/// `dst = src` rounded to bfloat16 (nearest, ties to even) and widened back to f32: what a
/// bf16 matmul's operands hold. The product of two such values is exact in f32, so an f32
/// matmul over rounded operands computes what a bf16 matmul with f32 accumulation computes, up
/// to the order of the sums.
pub(crate) fn round_bf16(src: &[f32], dst: &mut Vec<f32>) {
    dst.clear();
    dst.resize(src.len(), 0.0);
    dst.par_chunks_mut(8192)
        .zip(src.par_chunks(8192))
        .for_each(|(d, s)| {
            for (d, &v) in d.iter_mut().zip(s) {
                let bits = v.to_bits();
                let rounded = bits.wrapping_add(0x7fff + ((bits >> 16) & 1));
                *d = f32::from_bits(rounded & 0xffff_0000);
            }
        });
}

/// Column sums of the `rows × width` row-major `g` into `out` (`width`), each column summed
/// over the rows in order.
pub(crate) fn column_sums(g: &[f32], width: usize, out: &mut [f32]) {
    const COLS: usize = 64;
    out.par_chunks_mut(COLS).enumerate().for_each(|(c, acc)| {
        acc.fill(0.0);
        let (start, n) = (c * COLS, acc.len());
        for row in g.chunks_exact(width) {
            for (a, v) in acc.iter_mut().zip(&row[start..start + n]) {
                *a += v;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_match_finite_differences() {
        let acts = [
            Activation::ReLU,
            Activation::LeakyReLU,
            Activation::Tanh,
            Activation::Sigmoid,
            Activation::Softplus,
            Activation::SELU,
        ];
        for a in acts {
            for &x in &[-1.7f32, -0.3, 0.4, 2.1] {
                let f = |x: f32| {
                    let mut v = [x];
                    crate::arch::dense::activate(a, &mut v);
                    f64::from(v[0])
                };
                let h = 1e-3f32;
                let numeric = (f(x + h) - f(x - h)) / (2.0 * f64::from(h));
                let y = f(x) as f32;
                let analytic = f64::from(derivative(a, y));
                assert!(
                    (numeric - analytic).abs() < 2e-3,
                    "{a:?} at {x}: {numeric} vs {analytic}"
                );
            }
        }
    }

    #[test]
    fn bf16_rounding_keeps_eight_bits_to_nearest_even() {
        let mut out = Vec::new();
        // 1 + 2^-8 is a tie between 1 and 1 + 2^-7: even wins (1); 1 + 3·2^-8 rounds up.
        round_bf16(
            &[1.0, 1.0 + 1.0 / 256.0, 1.0 + 3.0 / 256.0, -2.5, 0.0],
            &mut out,
        );
        assert_eq!(out, vec![1.0, 1.0, 1.0 + 1.0 / 64.0, -2.5, 0.0]);
    }

    #[test]
    fn column_sums_and_fills() {
        let g: Vec<f32> = (0..300 * 70).map(|i| (i % 7) as f32).collect();
        let mut out = vec![0f32; 70];
        column_sums(&g, 70, &mut out);
        for (j, s) in out.iter().enumerate() {
            let e: f32 = (0..300).map(|r| ((r * 70 + j) % 7) as f32).sum();
            assert_eq!(*s, e);
        }
        let mut rows = vec![0f32; 200 * 3];
        fill_rows(&mut rows, &[1.0, 2.0, 3.0]);
        assert!(rows.chunks(3).all(|r| r == [1.0, 2.0, 3.0]));
    }
}
