//! The Diebold–Mariano test of equal predictive accuracy (Diebold & Mariano, 1995) with the
//! Harvey–Leybourne–Newbold (1997) small-sample correction.
//!
//! Given per-origin losses `L_model,t` and `L_ref,t` (t = 1..n), the loss differential is
//! `d_t = L_model,t − L_ref,t` and
//!
//! ```text
//! d̄  = (1/n) Σ d_t
//! γ_k = (1/n) Σ_{t=k+1..n} (d_t − d̄)(d_{t−k} − d̄)
//! V   = γ_0 + 2 Σ_{k=1..h−1} (1 − k/h) γ_k          (Bartlett / Newey–West weights)
//! DM  = d̄ / sqrt(V / n)
//! DM* = DM · sqrt((n + 1 − 2h + h(h−1)/n) / n)       (Harvey, Leybourne & Newbold)
//! p   = 2 · P(T_{n−1} > |DM*|)                        (Student t, n − 1 degrees of freedom)
//! ```
//!
//! `h` is the number of overlapping lags plus one: forecasts of horizon `H` made `step` rows apart
//! share targets up to `ceil(H / step) − 1` origins apart, so `h = ceil(H / step)` (the horizon
//! itself at step 1). A negative statistic means the model's loss is lower than the reference's.

use serde::{Deserialize, Serialize};

/// The result of a Diebold–Mariano test of a model against a reference (the random walk).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DieboldMariano {
    /// The HLN-corrected statistic DM*; negative when the model's mean loss is below the
    /// reference's.
    pub statistic: f64,
    /// Two-sided p-value from Student's t with `n − 1` degrees of freedom.
    pub p_value: f64,
    /// The per-origin loss compared: `"squared"` (the mean squared error of each window).
    pub loss: String,
    /// Number of loss differentials (forecast origins).
    pub n: usize,
    /// Lags of autocovariance included, `h − 1`.
    pub lags: usize,
}

/// Runs the test on the loss differential `d` (model minus reference, one value per origin), with
/// `h − 1` autocovariance lags (see the module docs; `h` is clamped to `n`).
///
/// Returns `None` when the test is undefined: fewer than 2 differentials, a non-finite value, the
/// HLN factor `n + 1 − 2h + h(h−1)/n` not positive (too few origins for this horizon), or a zero
/// long-run variance with a non-zero mean (a constant, non-zero differential). Identical losses
/// (every `d_t = 0`) give statistic 0 and p-value 1.
pub fn diebold_mariano(d: &[f64], h: usize, loss: &str) -> Option<DieboldMariano> {
    let n = d.len();
    if n < 2 || d.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let h = h.clamp(1, n);
    let lags = h - 1;
    let nf = n as f64;
    let hf = h as f64;
    let hln = (nf + 1.0 - 2.0 * hf + hf * (hf - 1.0) / nf) / nf;
    if hln <= 0.0 {
        return None;
    }
    let result = |statistic: f64, p_value: f64| DieboldMariano {
        statistic,
        p_value,
        loss: loss.to_string(),
        n,
        lags,
    };
    if d.iter().all(|v| *v == 0.0) {
        return Some(result(0.0, 1.0));
    }
    let mean = d.iter().sum::<f64>() / nf;
    let autocov = |k: usize| -> f64 {
        d[k..]
            .iter()
            .zip(d)
            .map(|(a, b)| (a - mean) * (b - mean))
            .sum::<f64>()
            / nf
    };
    let mut var = autocov(0);
    for k in 1..=lags {
        var += 2.0 * (1.0 - k as f64 / hf) * autocov(k);
    }
    if var.is_nan() || var <= 0.0 {
        // Bartlett weights keep V >= 0; V = 0 means a constant differential.
        return if mean == 0.0 {
            Some(result(0.0, 1.0))
        } else {
            None
        };
    }
    let statistic = mean / (var / nf).sqrt() * hln.sqrt();
    let p_value = student_t_two_sided(statistic, nf - 1.0);
    Some(result(statistic, p_value))
}

/// Two-sided tail probability `P(|T_df| > |t|)` of Student's t: `I_{df/(df+t²)}(df/2, 1/2)`.
pub fn student_t_two_sided(t: f64, df: f64) -> f64 {
    if !t.is_finite() {
        return if t.is_nan() { f64::NAN } else { 0.0 };
    }
    let x = df / (df + t * t);
    regularized_incomplete_beta(x, df / 2.0, 0.5).clamp(0.0, 1.0)
}

/// The regularized incomplete beta function `I_x(a, b)` for `a, b > 0`, `0 <= x <= 1`.
///
/// Hand-written (no special-function crate in the stack): the continued fraction of Numerical
/// Recipes (3rd ed., §6.4, `betacf`) evaluated with the modified Lentz method, using the symmetry
/// `I_x(a, b) = 1 − I_{1−x}(b, a)` where it converges faster; `ln Γ` from `libm::lgamma`.
/// Accurate to about 1e-14 relative (checked against scipy in `tests/dm_reference.rs`).
pub fn regularized_incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x.is_nan() || a.is_nan() || b.is_nan() || a <= 0.0 || b <= 0.0 {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front =
        libm::lgamma(a + b) - libm::lgamma(a) - libm::lgamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_continued_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_continued_fraction(1.0 - x, b, a) / b
    }
}

/// The continued fraction of `I_x(a, b)` (Numerical Recipes `betacf`), modified Lentz.
fn beta_continued_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    const EPS: f64 = 1e-16;
    let guard = |v: f64| if v.abs() < TINY { TINY } else { v };
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / guard(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..=10_000 {
        let m = m as f64;
        let m2 = 2.0 * m;
        // Even step.
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / guard(1.0 + aa * d);
        c = guard(1.0 + aa / c);
        h *= d * c;
        // Odd step.
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / guard(1.0 + aa * d);
        c = guard(1.0 + aa / c);
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_losses_give_zero_and_one() {
        let dm = diebold_mariano(&[0.0; 50], 5, "squared").unwrap();
        assert_eq!((dm.statistic, dm.p_value, dm.lags), (0.0, 1.0, 4));
    }

    #[test]
    fn undefined_cases_are_none() {
        assert!(diebold_mariano(&[1.0], 1, "squared").is_none());
        assert!(diebold_mariano(&[1.0, f64::NAN], 1, "squared").is_none());
        // constant non-zero differential: zero variance
        assert!(diebold_mariano(&[1.0; 10], 1, "squared").is_none());
        // n = 4, h = 4: 4 + 1 - 8 + 3 = 0 -> no HLN correction possible
        assert!(diebold_mariano(&[1.0, -1.0, 2.0, 0.5], 4, "squared").is_none());
    }

    #[test]
    fn hand_computed_lag_zero_case() {
        // d = [1, 2, 3, 6]: mean 3, deviations -2 -1 0 3, γ0 = (4+1+0+9)/4 = 3.5.
        // DM = 3 / sqrt(3.5/4); HLN with h = 1: (4 + 1 - 2 + 0)/4 = 3/4.
        let dm = diebold_mariano(&[1.0, 2.0, 3.0, 6.0], 1, "squared").unwrap();
        let expected = 3.0 / (3.5f64 / 4.0).sqrt() * 0.75f64.sqrt();
        assert!((dm.statistic - expected).abs() < 1e-12, "{}", dm.statistic);
        // scipy: 2 * stats.t.sf(2.7774602993176543, 3) = 0.06913686926442873
        assert!(
            (dm.p_value - 0.06913686926442873).abs() < 1e-13,
            "{}",
            dm.p_value
        );
    }

    #[test]
    fn t_tail_matches_closed_forms() {
        // df = 1 (Cauchy): P(|T| > t) = 1 - 2 atan(t) / π; at t = 1 that is 0.5.
        assert!((student_t_two_sided(1.0, 1.0) - 0.5).abs() < 1e-14);
        let t: f64 = 3.7;
        let cauchy = 1.0 - 2.0 * t.atan() / std::f64::consts::PI;
        assert!((student_t_two_sided(t, 1.0) - cauchy).abs() < 1e-14);
        // df = 2: P(|T| > t) = 1 - t / sqrt(2 + t²).
        let df2 = 1.0 - t / (2.0 + t * t).sqrt();
        assert!((student_t_two_sided(t, 2.0) - df2).abs() < 1e-14);
        assert_eq!(student_t_two_sided(0.0, 10.0), 1.0);
        assert_eq!(student_t_two_sided(f64::INFINITY, 10.0), 0.0);
        // I_x(1, 1) = x
        assert!((regularized_incomplete_beta(0.3, 1.0, 1.0) - 0.3).abs() < 1e-14);
    }
}
