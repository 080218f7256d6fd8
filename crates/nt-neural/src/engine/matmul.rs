//! The one place the workspace allows `unsafe`: a checked, safe wrapper around the `gemm`
//! crate's matrix product, which takes raw pointers and strides.
//!
//! Why hand the product to `gemm` at all: its microkernels are tuned per instruction set and
//! picked at run time (AVX-512 where the CPU has it, AVX2 + FMA otherwise; the workspace builds
//! it with `x86-v4`), they pack operands for the cache, and they split work across rayon's
//! threads — candle's CPU matmul is the same crate. What `gemm` lacks is a safe entry point
//! taking strided views, which the engine needs to read and write column ranges of a matrix
//! (the backcast and forecast halves of `theta`, one output of a `[B, H, Q]` forecast) without
//! copying them.
//!
//! Safety argument: [`matmul`] checks, before the call, that the three views' shapes agree and
//! that every element a view addresses (offset + (rows-1)·row stride + (cols-1)·col stride) lies
//! inside its slice; the destination is a `&mut [f32]` and the operands `&[f32]`, so the borrow
//! checker guarantees the destination aliases neither operand. `gemm` reads and writes only the
//! addressed elements. A test compares the result with a scalar triple loop.
#![allow(unsafe_code)]

use crate::{Error, Result};

/// A strided, read-only matrix view: element `(i, j)` is `data[off + i·rs + j·cs]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View<'a> {
    pub(crate) data: &'a [f32],
    pub(crate) off: usize,
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) rs: usize,
    pub(crate) cs: usize,
}

/// A strided, writable matrix view (same addressing as [`View`]).
#[derive(Debug)]
pub(crate) struct ViewMut<'a> {
    pub(crate) data: &'a mut [f32],
    pub(crate) off: usize,
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) rs: usize,
    pub(crate) cs: usize,
}

impl<'a> View<'a> {
    /// The row-major `rows × cols` matrix at the start of `data`.
    pub(crate) fn rows(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            off: 0,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose (no copy).
    pub(crate) fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }
}

impl<'a> ViewMut<'a> {
    /// The row-major `rows × cols` matrix at the start of `data`.
    pub(crate) fn rows(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            off: 0,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }
}

/// Whether every element of a `rows × cols` view at `off` with strides `rs`, `cs` is inside a
/// slice of `len` elements (an empty view always is).
fn fits(len: usize, off: usize, rows: usize, cols: usize, rs: usize, cs: usize) -> bool {
    if rows == 0 || cols == 0 {
        return true;
    }
    let last = (rows - 1)
        .checked_mul(rs)
        .and_then(|a| (cols - 1).checked_mul(cs).and_then(|b| a.checked_add(b)))
        .and_then(|a| a.checked_add(off));
    last.is_some_and(|l| l < len) && isize::try_from(rs.max(cs)).is_ok()
}

/// `dst = a · b` (or `dst += a · b` with `accumulate`), scaled by `scale` (`dst += scale·a·b`),
/// on all of rayon's threads. Each destination element's sum runs over `k` in the same blocked
/// order whatever the thread count, so results are repeatable.
pub(crate) fn matmul(
    dst: ViewMut<'_>,
    a: View<'_>,
    b: View<'_>,
    accumulate: bool,
    scale: f32,
) -> Result<()> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if b.rows != k || dst.rows != m || dst.cols != n {
        return Err(Error::invalid(
            "matmul",
            format!(
                "shapes do not agree: [{m}, {k}] x [{}, {n}] into [{}, {}]",
                b.rows, dst.rows, dst.cols
            ),
        ));
    }
    let inside = fits(dst.data.len(), dst.off, m, n, dst.rs, dst.cs)
        && fits(a.data.len(), a.off, m, k, a.rs, a.cs)
        && fits(b.data.len(), b.off, k, n, b.rs, b.cs);
    if !inside {
        return Err(Error::invalid(
            "matmul",
            "a view addresses elements outside its buffer",
        ));
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                for j in 0..n {
                    dst.data[dst.off + i * dst.rs + j * dst.cs] = 0.0;
                }
            }
        }
        return Ok(());
    }
    let threads = if m * n * k >= 64 * 64 * 64 {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    // `fits` checked that every stride fits an isize.
    let s = |v: usize| v as isize;
    // SAFETY: `fits` proved every addressed element of the three views lies inside its slice;
    // `dst.data` is a unique borrow, so it overlaps neither operand; `gemm` touches only the
    // addressed elements (m·n of dst, m·k of a, k·n of b).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.data.as_mut_ptr().add(dst.off),
            s(dst.cs),
            s(dst.rs),
            accumulate,
            a.data.as_ptr().add(a.off),
            s(a.cs),
            s(a.rs),
            b.data.as_ptr().add(b.off),
            s(b.cs),
            s(b.rs),
            1.0,
            scale,
            false,
            false,
            false,
            threads,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scalar triple loop the kernel must agree with.
    fn reference(a: &View<'_>, b: &View<'_>) -> Vec<f32> {
        let mut out = vec![0f32; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                let mut s = 0f64;
                for p in 0..a.cols {
                    s += f64::from(a.data[a.off + i * a.rs + p * a.cs])
                        * f64::from(b.data[b.off + p * b.rs + j * b.cs]);
                }
                out[i * b.cols + j] = s as f32;
            }
        }
        out
    }

    fn values(n: usize, seed: f32) -> Vec<f32> {
        (0..n).map(|i| ((i as f32 + seed) * 0.731).sin()).collect()
    }

    #[test]
    fn agrees_with_the_scalar_loop_for_strided_and_transposed_views() {
        // Small and large (threaded) shapes, a transposed operand and a strided destination.
        for &(m, k, n) in &[(3, 5, 4), (70, 90, 80), (130, 257, 65)] {
            let a_buf = values(m * k, 1.0);
            let b_buf = values(n * k, 2.0);
            let a = View::rows(&a_buf, m, k);
            // b stored as [n, k]: use its transpose as the [k, n] operand.
            let b = View::rows(&b_buf, n, k).t();
            let expect = reference(&a, &b);
            // Destination: every other column of a [m, 2n] buffer.
            let mut dst = vec![7f32; m * 2 * n];
            let view = ViewMut {
                data: &mut dst,
                off: 1,
                rows: m,
                cols: n,
                rs: 2 * n,
                cs: 2,
            };
            matmul(view, a, b, false, 1.0).unwrap();
            for i in 0..m {
                for j in 0..n {
                    let got = dst[1 + i * 2 * n + 2 * j];
                    let e = expect[i * n + j];
                    assert!((got - e).abs() <= 1e-4 * (1.0 + e.abs()), "{got} vs {e}");
                    // The untouched columns keep their value.
                    assert_eq!(dst[i * 2 * n + 2 * j], 7.0);
                }
            }
            // Accumulating with scale -1 cancels the product.
            let view = ViewMut {
                data: &mut dst,
                off: 1,
                rows: m,
                cols: n,
                rs: 2 * n,
                cs: 2,
            };
            matmul(view, a, b, true, -1.0).unwrap();
            for i in 0..m {
                for j in 0..n {
                    assert!(dst[1 + i * 2 * n + 2 * j].abs() < 1e-4);
                }
            }
        }
    }

    #[test]
    fn refuses_views_outside_their_buffers_and_mismatched_shapes() {
        let a = vec![1f32; 6];
        let b = vec![1f32; 6];
        let mut d = vec![0f32; 4];
        let va = View::rows(&a, 2, 3);
        let vb = View::rows(&b, 3, 2);
        assert!(matmul(ViewMut::rows(&mut d, 2, 2), va, vb, false, 1.0).is_ok());
        assert_eq!(d, vec![3.0; 4]);
        // Destination too small.
        let mut small = vec![0f32; 3];
        assert!(matmul(ViewMut::rows(&mut small, 2, 2), va, vb, false, 1.0).is_err());
        // Operand view running past its buffer.
        let past = View { off: 1, ..va };
        assert!(matmul(ViewMut::rows(&mut d, 2, 2), past, vb, false, 1.0).is_err());
        // Inner dimensions differ.
        assert!(matmul(ViewMut::rows(&mut d, 2, 2), va, va, false, 1.0).is_err());
    }
}

#[cfg(test)]
mod timing {
    use super::*;

    /// GFLOP/s of the training step's three product shapes at 1024 windows and a 512-wide layer
    /// (forward `X Wᵀ`, weight gradient `Gᵀ X`, input gradient `G W`): the ceiling the engine's
    /// step time is measured against. Timing only, never asserted:
    /// `cargo test -p nt-neural --release --lib matmul_throughput -- --ignored --nocapture`.
    #[test]
    #[ignore = "timing"]
    fn matmul_throughput() {
        let (b, n_in, n_out) = (1024, 512, 512);
        let x: Vec<f32> = (0..b * n_in).map(|i| (i as f32 * 0.1).sin()).collect();
        let w: Vec<f32> = (0..n_out * n_in).map(|i| (i as f32 * 0.2).cos()).collect();
        let g: Vec<f32> = (0..b * n_out).map(|i| (i as f32 * 0.3).sin()).collect();
        let mut out = vec![0f32; b * n_out.max(n_in)];
        let mut dw = vec![0f32; n_out * n_in];
        let time = |f: &mut dyn FnMut()| {
            f();
            let mut v: Vec<f64> = (0..30)
                .map(|_| {
                    let t = std::time::Instant::now();
                    f();
                    t.elapsed().as_secs_f64()
                })
                .collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let flops = 2.0 * (b * n_in * n_out) as f64;
        let fwd = time(&mut || {
            matmul(
                ViewMut::rows(&mut out[..b * n_out], b, n_out),
                View::rows(&x, b, n_in),
                View::rows(&w, n_out, n_in).t(),
                false,
                1.0,
            )
            .unwrap()
        });
        let dwt = time(&mut || {
            matmul(
                ViewMut::rows(&mut dw, n_out, n_in),
                View::rows(&g, b, n_out).t(),
                View::rows(&x, b, n_in),
                false,
                1.0,
            )
            .unwrap()
        });
        let dx = time(&mut || {
            matmul(
                ViewMut::rows(&mut out[..b * n_in], b, n_in),
                View::rows(&g, b, n_out),
                View::rows(&w, n_out, n_in),
                false,
                1.0,
            )
            .unwrap()
        });
        // The weight gradient written as its transpose, dWᵀ = Xᵀ·G, into a column-major view.
        let dwt2 = time(&mut || {
            matmul(
                ViewMut {
                    data: &mut dw,
                    off: 0,
                    rows: n_in,
                    cols: n_out,
                    rs: 1,
                    cs: n_in,
                },
                View::rows(&x, b, n_in).t(),
                View::rows(&g, b, n_out),
                false,
                1.0,
            )
            .unwrap()
        });
        // Gᵀ copied row-major first.
        let mut gt = vec![0f32; b * n_out];
        let dwt3 = time(&mut || {
            for (r, row) in g.chunks_exact(n_out).enumerate() {
                for (c, v) in row.iter().enumerate() {
                    gt[c * b + r] = *v;
                }
            }
            matmul(
                ViewMut::rows(&mut dw, n_out, n_in),
                View::rows(&gt, n_out, b),
                View::rows(&x, b, n_in),
                false,
                1.0,
            )
            .unwrap()
        });
        for (name, s) in [
            ("forward X·Wᵀ", fwd),
            ("weight grad Gᵀ·X", dwt),
            ("weight grad as Xᵀ·G into a column-major view", dwt2),
            ("weight grad with Gᵀ copied", dwt3),
            ("input grad G·W", dx),
        ] {
            println!("{name}: {:.3} ms, {:.1} GFLOP/s", s * 1e3, flops / s / 1e9);
        }
    }
}
