//! The gate nonlinearities of the recurrent kernel: `exp`, `σ` and `tanh` as branch-free
//! polynomials that the compiler vectorizes (inside the `pulp` dispatch of the step passes,
//! compiled for the CPU's widest SIMD), within 1e-6 relative of `std`'s (a test checks).
//!
//! Why not `std`: `f32::exp`/`f32::tanh` are scalar libm calls, and at batch 1 the gate pass of
//! every step (4·H of them for an LSTM) would cost more than the step's matrix-vector product.
//! No crate in the tree offers vectorizable ones; these are Cephes' `expf`/`tanhf` polynomials.

/// `2^23 + 2^22`: adding it rounds a float of magnitude below 2^22 to an integer held in the
/// low mantissa bits.
const MAGIC: f32 = 12_582_912.0;

/// `e^x` (Cephes `expf`: `x = n·ln 2 + r`, `|r| ≤ ln 2 / 2`, a degree-6 polynomial in `r`,
/// `2^n` built in the exponent bits), about 1 ulp. Inputs are clamped to `[−87, 88]` (the
/// normal range); NaN stays NaN.
#[inline(always)]
pub(super) fn exp(x: f32) -> f32 {
    // `clamp` keeps NaN.
    let x = x.clamp(-87.0, 88.0);
    let t = x * std::f32::consts::LOG2_E + MAGIC;
    let n = t - MAGIC;
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let p = (((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2)
        * r
        + 1.666_666_5e-1)
        * r
        + 5e-1)
        * (r * r)
        + r
        + 1.0;
    // t's bits are MAGIC's plus n (two's complement in the low mantissa bits).
    let pow = f32::from_bits(
        t.to_bits()
            .wrapping_sub(MAGIC.to_bits())
            .wrapping_add(127)
            .wrapping_shl(23),
    );
    p * pow
}

/// The logistic `1 / (1 + e^−x)`.
#[inline(always)]
pub(super) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `tanh x` (Cephes `tanhf`): an odd polynomial below 0.625 in magnitude (no cancellation near
/// 0), `1 − 2 / (e^{2|x|} + 1)` with `x`'s sign above.
#[inline(always)]
pub(super) fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let s = x * x;
    let small =
        ((((-5.704_988_7e-3 * s + 2.063_909e-2) * s - 5.373_971_6e-2) * s + 1.333_144_2e-1) * s
            - 3.333_328e-1)
            * s
            * x
            + x;
    let big = (1.0 - 2.0 / (exp(2.0 * a) + 1.0)).copysign(x);
    if a < 0.625 {
        small
    } else {
        big
    }
}

/// σ over every element of `v`, in place.
#[inline(always)]
pub(super) fn sigmoid_all(v: &mut [f32]) {
    for x in v {
        *x = sigmoid(*x);
    }
}

/// tanh over every element of `v`, in place.
#[inline(always)]
pub(super) fn tanh_all(v: &mut [f32]) {
    for x in v {
        *x = tanh(*x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The approximations against `std` (in f64 for the reference) over [−30, 30] in steps of
    /// 1e-4 and at the extremes: σ and tanh within 1e-6 relative (the bound the kernel promises),
    /// exp within 4e-7 relative (about 3 ulp) over [−80, 80]; NaN stays NaN.
    #[test]
    fn approximations_stay_within_1e6_relative_of_std() {
        let mut worst = [0f64; 3];
        for k in -300_000..=300_000 {
            let x = k as f32 * 1e-4;
            let xs = f64::from(x);
            let s_ref = 1.0 / (1.0 + (-xs).exp());
            let t_ref = xs.tanh();
            let rel = |got: f32, want: f64| {
                if want == 0.0 {
                    f64::from(got).abs()
                } else {
                    ((f64::from(got) - want) / want).abs()
                }
            };
            worst[0] = worst[0].max(rel(sigmoid(x), s_ref));
            worst[1] = worst[1].max(rel(tanh(x), t_ref));
            let xe = x * (80.0 / 30.0);
            worst[2] = worst[2].max(rel(exp(xe), f64::from(xe).exp()));
        }
        assert!(worst[0] < 1e-6, "sigmoid: {}", worst[0]);
        assert!(worst[1] < 1e-6, "tanh: {}", worst[1]);
        assert!(worst[2] < 4e-7, "exp: {}", worst[2]);
        for x in [1e-30f32, -1e-30, 1e-8, 0.0, 50.0, -50.0, 1e30, -1e30] {
            assert!((tanh(x) - x.tanh()).abs() <= 1e-6 * x.tanh().abs().max(1e-30));
            assert!((sigmoid(x) - 1.0 / (1.0 + (-x).exp())).abs() <= 1e-6);
        }
        assert!(tanh(f32::NAN).is_nan() && sigmoid(f32::NAN).is_nan() && exp(f32::NAN).is_nan());
        assert_eq!(tanh(f32::INFINITY), 1.0);
        let s = sigmoid(f32::NEG_INFINITY);
        assert!((0.0..1e-37).contains(&s), "{s}");
    }
}
