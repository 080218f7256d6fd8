//! A dense layer over many token rows at once (PatchTST's `patch_num` tokens per window), for
//! the fast CPU path: `out_r = W x_r + b` with the weights stored transposed (`[in, out]`), so
//! a block of 4 rows × 2 SIMD vectors of outputs is accumulated in registers, one broadcast
//! input value against two weight vectors per step (the layout of a GEMM micro-kernel). The
//! shared [`crate::arch::dense::DenseLayer`] streams each weight row against a few windows and
//! pays a horizontal sum per output, which dominates at dozens of rows.
//!
//! Every output is `((0 + x_0 w_0) + x_1 w_1) + ...` with fused multiply-adds in input order,
//! then `+ b`, whatever block its row falls in: a row's result has the same bits alone or in any
//! batch.

/// `W x + b` for token rows, weights transposed to `[in, out]`.
#[derive(Debug, Clone)]
pub(crate) struct RowsLayer {
    wt: Vec<f32>,
    b: Vec<f32>,
    n_in: usize,
}

impl RowsLayer {
    /// From a row-major `[out, in]` weight matrix `w` and its bias `b` (`out` values).
    pub(crate) fn new(w: &[f32], b: Vec<f32>, n_in: usize) -> Self {
        let n_out = b.len();
        let mut wt = vec![0.0f32; w.len()];
        for o in 0..n_out {
            for k in 0..n_in {
                wt[k * n_out + o] = w[o * n_in + k];
            }
        }
        Self { wt, b, n_in }
    }

    /// Output width.
    pub(crate) fn n_out(&self) -> usize {
        self.b.len()
    }

    /// `out = x Wᵀ + b` for the `rows` rows of `x` (`rows × in`) into `out` (`rows × out`).
    pub(crate) fn forward(&self, arch: pulp::Arch, x: &[f32], rows: usize, out: &mut Vec<f32>) {
        out.clear();
        out.resize(rows * self.n_out(), 0.0);
        arch.dispatch(Kernel {
            layer: self,
            x: &x[..rows * self.n_in],
            out,
        });
    }
}

struct Kernel<'a> {
    layer: &'a RowsLayer,
    x: &'a [f32],
    out: &'a mut [f32],
}

impl pulp::WithSimd for Kernel<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        let n_in = self.layer.n_in;
        let rows = self.x.len() / n_in.max(1);
        let mut r = 0;
        while r + 4 <= rows {
            block::<S, 4>(simd, self.layer, self.x, self.out, r);
            r += 4;
        }
        while r < rows {
            block::<S, 1>(simd, self.layer, self.x, self.out, r);
            r += 1;
        }
    }
}

/// Rows `r0 .. r0 + R`: output vectors two at a time, then one, then the scalar tail.
#[inline(always)]
fn block<S: pulp::Simd, const R: usize>(
    simd: S,
    layer: &RowsLayer,
    x: &[f32],
    out: &mut [f32],
    r0: usize,
) {
    let (n_in, n_out, lanes) = (layer.n_in, layer.b.len(), S::F32_LANES);
    let xs: [&[f32]; R] = std::array::from_fn(|j| &x[(r0 + j) * n_in..(r0 + j + 1) * n_in]);
    let n_vec = n_out / lanes;
    let mut v = 0;
    while v + 2 <= n_vec {
        tile::<S, R, 2>(simd, layer, &xs, out, r0, v * lanes);
        v += 2;
    }
    if v < n_vec {
        tile::<S, R, 1>(simd, layer, &xs, out, r0, v * lanes);
    }
    for c in n_vec * lanes..n_out {
        for (j, xr) in xs.iter().enumerate() {
            let mut acc = 0.0f32;
            for (k, &xv) in xr.iter().enumerate() {
                acc = xv.mul_add(layer.wt[k * n_out + c], acc);
            }
            out[(r0 + j) * n_out + c] = acc + layer.b[c];
        }
    }
}

/// The `R × W` register tile of rows `r0 ..` and output vectors from column `c0`.
#[inline(always)]
fn tile<S: pulp::Simd, const R: usize, const W: usize>(
    simd: S,
    layer: &RowsLayer,
    xs: &[&[f32]; R],
    out: &mut [f32],
    r0: usize,
    c0: usize,
) {
    let (n_out, lanes) = (layer.b.len(), S::F32_LANES);
    let load = |s: &[f32]| -> [S::f32s; W] {
        let (v, _) = S::as_simd_f32s(&s[..W * lanes]);
        std::array::from_fn(|u| v[u])
    };
    let mut acc = [[simd.splat_f32s(0.0); W]; R];
    for (k, wrow) in layer.wt.chunks_exact(n_out).enumerate() {
        let w = load(&wrow[c0..]);
        for j in 0..R {
            let xb = simd.splat_f32s(xs[j][k]);
            for u in 0..W {
                acc[j][u] = simd.mul_add_e_f32s(xb, w[u], acc[j][u]);
            }
        }
    }
    let bias = load(&layer.b[c0..]);
    for (j, acc) in acc.iter().enumerate() {
        let start = (r0 + j) * n_out + c0;
        let (o, _) = S::as_mut_simd_f32s(&mut out[start..start + W * lanes]);
        for u in 0..W {
            o[u] = simd.add_f32s(acc[u], bias[u]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_plain_matmul_and_is_batch_invariant() {
        // 7 rows (one block of 4 and three single rows), 19 outputs (vectors and a scalar tail).
        let (n_in, n_out, rows) = (11, 19, 7);
        let w: Vec<f32> = (0..n_in * n_out)
            .map(|i| ((i * 37 % 17) as f32 - 8.0) / 9.0)
            .collect();
        let b: Vec<f32> = (0..n_out).map(|i| i as f32 * 0.1 - 1.0).collect();
        let x: Vec<f32> = (0..rows * n_in)
            .map(|i| ((i * 13 % 23) as f32 - 11.0) / 7.0)
            .collect();
        let layer = RowsLayer::new(&w, b.clone(), n_in);
        let arch = pulp::Arch::new();
        let mut out = Vec::new();
        layer.forward(arch, &x, rows, &mut out);
        for r in 0..rows {
            for o in 0..n_out {
                let want: f64 = (0..n_in)
                    .map(|k| f64::from(x[r * n_in + k]) * f64::from(w[o * n_in + k]))
                    .sum::<f64>()
                    + f64::from(b[o]);
                assert!((f64::from(out[r * n_out + o]) - want).abs() < 1e-5);
            }
            let mut alone = Vec::new();
            layer.forward(arch, &x[r * n_in..], 1, &mut alone);
            assert_eq!(alone[..], out[r * n_out..(r + 1) * n_out], "row {r}");
        }
    }
}
