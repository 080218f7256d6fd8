//! The affine products of the recurrent kernel, `out_i = W x_i + b` for rows `x_i`: a
//! hand-written SIMD kernel for small batches and `gemm` for large ones.
//!
//! Why a hand-written kernel: at batch 1 the recurrent product is a matrix-vector product per
//! step (`W_hh` is a few hundred KB and stays in L2), and `gemm` both routes it through a
//! different code path than the same product at batch 2 (so a window's bits would depend on its
//! batch) and, above its size threshold, hands it to rayon's pool. This kernel computes every
//! output as one dot product in a fixed order (one SIMD accumulator over the vectors of the row,
//! its horizontal sum, the scalar tail, then the bias) whatever the number of rows and however
//! they are blocked, on the calling thread.

use crate::engine::matmul::{matmul, View, ViewMut};
use crate::Result;

/// `out[i·n + j] = Σ_p w[j·k + p] · x[i·k + p] + bias[j]` for `rows` rows (`n = bias.len()`),
/// through [`Dots`] when `small` (calling thread only, batch-invariant bits) or `gemm`.
#[allow(clippy::too_many_arguments)]
pub(super) fn affine(
    small: bool,
    arch: pulp::Arch,
    w: &[f32],
    bias: &[f32],
    k: usize,
    x: &[f32],
    rows: usize,
    out: &mut [f32],
) -> Result<()> {
    let n = bias.len();
    let (x, out) = (&x[..rows * k], &mut out[..rows * n]);
    if small {
        arch.dispatch(Dots { w, bias, k, x, out });
        return Ok(());
    }
    for row in out.chunks_exact_mut(n) {
        row.copy_from_slice(bias);
    }
    matmul(
        ViewMut::rows(out, rows, n),
        View::rows(x, rows, k),
        View::rows(w, n, k).t(),
        true,
        1.0,
    )
}

/// The small-batch kernel of [`affine`]: eight outputs at a time (eight independent
/// accumulators sharing each load of the input row), every input row against each block of
/// eight weight rows while those rows sit in L1.
struct Dots<'a> {
    w: &'a [f32],
    bias: &'a [f32],
    k: usize,
    x: &'a [f32],
    out: &'a mut [f32],
}

impl pulp::WithSimd for Dots<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        let Dots { w, bias, k, x, out } = self;
        let n = bias.len();
        if k == 0 {
            for row in out.chunks_exact_mut(n) {
                row.copy_from_slice(bias);
            }
            return;
        }
        let mut j = 0;
        while j + 8 <= n {
            block::<S, 8>(simd, w, bias, k, x, out, j);
            j += 8;
        }
        while j < n {
            block::<S, 1>(simd, w, bias, k, x, out, j);
            j += 1;
        }
    }
}

/// Outputs `j..j + N` of every row: `N` accumulators, one per output (each a single chain over
/// the row's vectors, so an output's bits do not depend on `N`), sharing each load of the input.
#[inline(always)]
fn block<S: pulp::Simd, const N: usize>(
    simd: S,
    w: &[f32],
    bias: &[f32],
    k: usize,
    x: &[f32],
    out: &mut [f32],
    j: usize,
) {
    let n = bias.len();
    let wr: [(&[S::f32s], &[f32]); N] =
        std::array::from_fn(|q| S::as_simd_f32s(&w[(j + q) * k..(j + q + 1) * k]));
    for (xi, oi) in x.chunks_exact(k).zip(out.chunks_exact_mut(n)) {
        let (xh, xt) = S::as_simd_f32s(xi);
        let mut acc = [simd.splat_f32s(0.0); N];
        for (v, xv) in xh.iter().enumerate() {
            for q in 0..N {
                acc[q] = simd.mul_add_e_f32s(wr[q].0[v], *xv, acc[q]);
            }
        }
        for q in 0..N {
            let mut s = simd.reduce_sum_f32s(acc[q]);
            for (r, v) in wr[q].1.iter().zip(xt) {
                s += r * v;
            }
            oi[j + q] = s + bias[j + q];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both paths against an f64 triple loop to 1e-5 relative (f32 sums of up to 130 products of
    /// size 1), and the small kernel gives every row the same bits alone as in a batch.
    #[test]
    fn both_paths_match_the_scalar_loop_and_small_is_batch_invariant() {
        let arch = pulp::Arch::new();
        for &(rows, k, n) in &[(1, 1, 4), (3, 5, 28), (7, 13, 21), (70, 130, 90)] {
            let w: Vec<f32> = (0..n * k).map(|i| ((i as f32) * 0.37).sin()).collect();
            let bias: Vec<f32> = (0..n).map(|i| ((i as f32) * 0.11).cos()).collect();
            let x: Vec<f32> = (0..rows * k).map(|i| ((i as f32) * 0.53).cos()).collect();
            let mut want = vec![0f64; rows * n];
            for i in 0..rows {
                for j in 0..n {
                    let mut s = f64::from(bias[j]);
                    for p in 0..k {
                        s += f64::from(w[j * k + p]) * f64::from(x[i * k + p]);
                    }
                    want[i * n + j] = s;
                }
            }
            for small in [true, false] {
                let mut out = vec![0f32; rows * n];
                affine(small, arch, &w, &bias, k, &x, rows, &mut out).unwrap();
                for (g, e) in out.iter().zip(&want) {
                    assert!(
                        (f64::from(*g) - e).abs() <= 1e-5 * (1.0 + e.abs()),
                        "{g} {e}"
                    );
                }
                if small {
                    for i in 0..rows {
                        let mut one = vec![0f32; n];
                        affine(true, arch, &w, &bias, k, &x[i * k..], 1, &mut one).unwrap();
                        assert_eq!(one, out[i * n..(i + 1) * n]);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod timing {
    use super::*;

    /// Time of one small-kernel product of a `[512, 128]` weight (an LSTM's `W_hh` at hidden
    /// 128) with 1 and 4 rows, and of a 288-row input projection, against the L2 streaming bound
    /// of the weight. Timing only, never asserted:
    /// `cargo test -p nt-neural --release --lib recurrent_dots_throughput -- --ignored --nocapture`.
    #[test]
    #[ignore = "timing"]
    fn recurrent_dots_throughput() {
        let arch = pulp::Arch::new();
        let (n, k) = (512, 128);
        let w: Vec<f32> = (0..n * k).map(|i| (i as f32 * 0.1).sin()).collect();
        let bias = vec![0.1f32; n];
        for rows in [1usize, 4, 288] {
            let x: Vec<f32> = (0..rows * k).map(|i| (i as f32 * 0.3).cos()).collect();
            let mut out = vec![0f32; rows * n];
            let reps = 20_000 / rows;
            let t = std::time::Instant::now();
            for _ in 0..reps {
                affine(true, arch, &w, &bias, k, &x, rows, &mut out).unwrap();
            }
            let s = t.elapsed().as_secs_f64() / reps as f64;
            let gflops = 2.0 * (rows * n * k) as f64 / s / 1e9;
            println!("rows {rows}: {:.2} us, {gflops:.1} GFLOP/s", s * 1e6);
        }
    }
}
