//! Fixed linear maps used by NHITS: knot interpolation (PyTorch's `F.interpolate` with
//! `align_corners=False`) and average pooling with `ceil_mode=True`. Each is a dense
//! `[from, to]` matrix so a batch is resampled by one matmul (which autodiff handles for free).

use crate::config::Interpolation;

/// The `[n, h]` row-major matrix `W` such that `knots · W` interpolates `n` knots to `h` steps the
/// way `F.interpolate(knots, size=h, mode=..., align_corners=False)` does.
pub(crate) fn interpolation_matrix(mode: Interpolation, n: usize, h: usize) -> Vec<f32> {
    let mut w = vec![0f64; n * h];
    let scale = n as f64 / h as f64;
    let last = n.saturating_sub(1);
    for dst in 0..h {
        match mode {
            Interpolation::Linear => {
                // upsample_linear1d: source index clamped at 0, right neighbour clamped at n-1.
                let real = (scale * (dst as f64 + 0.5) - 0.5).max(0.0);
                let i0 = (real.floor() as usize).min(last);
                let l1 = real - i0 as f64;
                let i1 = if i0 < last { i0 + 1 } else { i0 };
                w[i0 * h + dst] += 1.0 - l1;
                w[i1 * h + dst] += l1;
            }
            Interpolation::Nearest => {
                // upsample_nearest1d computes the scale and the product in f32.
                let src = if n == h {
                    dst
                } else {
                    let s = n as f32 / h as f32;
                    ((dst as f32 * s).floor() as usize).min(last)
                };
                w[src * h + dst] = 1.0;
            }
            Interpolation::Cubic => {
                // upsample_bicubic2d along the width, A = -0.75, indices clamped to [0, n-1].
                const A: f64 = -0.75;
                let cc1 = |x: f64| ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
                let cc2 = |x: f64| ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A;
                let real = scale * (dst as f64 + 0.5) - 0.5;
                let x0 = real.floor();
                let t = real - x0;
                let coeffs = [cc2(t + 1.0), cc1(t), cc1(1.0 - t), cc2(2.0 - t)];
                for (k, c) in coeffs.iter().enumerate() {
                    let idx = (x0 as i64 - 1 + k as i64).clamp(0, last as i64) as usize;
                    w[idx * h + dst] += c;
                }
            }
        }
    }
    w.into_iter().map(|v| v as f32).collect()
}

/// The `[l, ceil(l / k)]` matrix of `AvgPool1d(kernel_size=k, stride=k, ceil_mode=True)`: the
/// last, partial window averages only the values inside the input.
pub(crate) fn avg_pool_matrix(l: usize, k: usize) -> Vec<f32> {
    let out = l.div_ceil(k);
    let mut w = vec![0f32; l * out];
    for j in 0..out {
        let start = j * k;
        let end = (start + k).min(l);
        let inv = 1.0 / (end - start) as f32;
        for i in start..end {
            w[i * out + j] = inv;
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(w: &[f32], x: &[f32], h: usize) -> Vec<f32> {
        (0..h)
            .map(|j| x.iter().enumerate().map(|(i, v)| v * w[i * h + j]).sum())
            .collect()
    }

    #[test]
    fn linear_matches_torch_values() {
        // torch: F.interpolate(torch.tensor([[[0., 1., 2.]]]), size=6, mode="linear")
        //   -> [0.0000, 0.2500, 0.7500, 1.2500, 1.7500, 2.0000]
        let w = interpolation_matrix(Interpolation::Linear, 3, 6);
        let y = apply(&w, &[0.0, 1.0, 2.0], 6);
        nt_testing_close(&y, &[0.0, 0.25, 0.75, 1.25, 1.75, 2.0]);
        // Same size is the identity.
        let w = interpolation_matrix(Interpolation::Linear, 4, 4);
        nt_testing_close(
            &apply(&w, &[3.0, -1.0, 2.0, 5.0], 4),
            &[3.0, -1.0, 2.0, 5.0],
        );
    }

    #[test]
    fn nearest_and_cubic_match_torch_values() {
        // torch: F.interpolate(x, size=5, mode="nearest") with x = [0, 1, 2] -> [0, 0, 1, 1, 2]
        let w = interpolation_matrix(Interpolation::Nearest, 3, 5);
        nt_testing_close(&apply(&w, &[0.0, 1.0, 2.0], 5), &[0.0, 0.0, 1.0, 1.0, 2.0]);
        // torch: F.interpolate(x[:, None], size=4, mode="bicubic")[0, 0, 0] with x = [[0., 1., 4.]]
        //   -> [-0.0718, 0.3101, 2.1909, 4.2153] (to 4 d.p.)
        let w = interpolation_matrix(Interpolation::Cubic, 3, 4);
        let y = apply(&w, &[0.0, 1.0, 4.0], 4);
        for (a, e) in y.iter().zip([-0.0718f32, 0.3101, 2.1909, 4.2153]) {
            assert!((a - e).abs() < 1e-4, "{y:?}");
        }
        // Each output's weights sum to one for every mode (constants are preserved).
        for mode in [
            Interpolation::Linear,
            Interpolation::Nearest,
            Interpolation::Cubic,
        ] {
            let w = interpolation_matrix(mode, 5, 12);
            nt_testing_close(&apply(&w, &[1.0; 5], 12), &[1.0; 12]);
        }
    }

    #[test]
    fn avg_pool_counts_only_in_bounds_values() {
        // AvgPool1d(2, 2, ceil_mode=True)([1, 2, 3, 4, 5]) = [1.5, 3.5, 5.0]
        let w = avg_pool_matrix(5, 2);
        nt_testing_close(&apply(&w, &[1.0, 2.0, 3.0, 4.0, 5.0], 3), &[1.5, 3.5, 5.0]);
    }

    fn nt_testing_close(a: &[f32], e: &[f32]) {
        assert_eq!(a.len(), e.len());
        for (x, y) in a.iter().zip(e) {
            assert!((x - y).abs() < 1e-6, "{a:?} vs {e:?}");
        }
    }
}
