//! The two-sample Kolmogorov–Smirnov test, two-sided, ported from `scipy.stats.ks_2samp`
//! (scipy 1.17, `scipy/stats/_stats_py.py`: `ks_2samp`, `_attempt_exact_2kssamp`,
//! `_compute_prob_outside_square`, and `_compute_outer_prob_inside_method` of
//! `_stats_pythran.py`).

use serde::{Deserialize, Serialize};

use super::kolmogorov::kolmogorov_sf;
use crate::{Error, Result};

/// scipy's `MAX_AUTO_N`: [`KsMethod::Auto`] is exact when both samples have at most this many
/// values.
pub const KS_MAX_AUTO_N: usize = 10_000;

/// How the p-value of [`ks_2samp`] is computed (scipy's `method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum KsMethod {
    /// Exact when both samples have at most [`KS_MAX_AUTO_N`] values, else asymptotic.
    #[default]
    Auto,
    /// The exact distribution of the two-sample statistic (Hodges 1958; Viehmann 2021 for
    /// unequal sizes). Falls back to [`KsMethod::Asymp`] when `lcm(n1, n2)` is too large or the
    /// computation overflows, as scipy does; [`KsTest::method`] says which was used.
    Exact,
    /// Smirnov's asymptotic form: the two-sided one-sample distribution `kstwo` with
    /// `n = round(n1·n2 / (n1 + n2))` (half to even, as numpy rounds).
    Asymp,
}

impl KsMethod {
    /// The method's name as scipy spells it (`"auto"`, `"exact"`, `"asymp"`).
    pub fn as_str(self) -> &'static str {
        match self {
            KsMethod::Auto => "auto",
            KsMethod::Exact => "exact",
            KsMethod::Asymp => "asymp",
        }
    }
}

/// The result of [`ks_2samp`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KsTest {
    /// `D = sup_x |F_a(x) − F_b(x)|` over the two empirical CDFs (for the exact method, rounded
    /// to the lattice `h / lcm(n1, n2)` as scipy reports it).
    pub statistic: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// The method actually used: [`KsMethod::Exact`] or [`KsMethod::Asymp`], never `Auto`.
    pub method: KsMethod,
    /// Size of the first sample.
    pub n1: usize,
    /// Size of the second sample.
    pub n2: usize,
}

fn check(sample: &str, values: &[f64]) -> Result<Vec<f64>> {
    if values.is_empty() {
        return Err(Error::TooFewValues {
            sample: sample.to_string(),
            needed: 1,
            got: 0,
        });
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(Error::config(
            sample,
            format!("value {i} is {}; every value must be finite", values[i]),
        ));
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    Ok(v)
}

/// The two-sided two-sample Kolmogorov–Smirnov test of `a` against `b`, matching
/// `scipy.stats.ks_2samp(a, b, method=...)`. Ties are handled as scipy does: both empirical
/// CDFs are evaluated (right-continuous) at every observed value.
///
/// Errors when a sample is empty or holds a non-finite value.
pub fn ks_2samp(a: &[f64], b: &[f64], method: KsMethod) -> Result<KsTest> {
    let a = check("ks sample a", a)?;
    let b = check("ks sample b", b)?;
    let (n1, n2) = (a.len(), b.len());
    let (f1, f2) = (n1 as f64, n2 as f64);
    // Walk the merged distinct values; after each, the right-continuous CDFs.
    let (mut i, mut j) = (0usize, 0usize);
    let mut max_s = f64::NEG_INFINITY;
    let mut min_s = f64::INFINITY;
    while i < n1 || j < n2 {
        let x = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => break,
        };
        while i < n1 && a[i] <= x {
            i += 1;
        }
        while j < n2 && b[j] <= x {
            j += 1;
        }
        let diff = i as f64 / f1 - j as f64 / f2;
        max_s = max_s.max(diff);
        min_s = min_s.min(diff);
    }
    let min_s = (-min_s).clamp(0.0, 1.0);
    let mut d = if min_s > max_s { min_s } else { max_s };
    let g = gcd(n1 as u64, n2 as u64);
    let (n1g, n2g) = (n1 as u64 / g, n2 as u64 / g);
    let mut used = match method {
        KsMethod::Auto if n1.max(n2) <= KS_MAX_AUTO_N => KsMethod::Exact,
        KsMethod::Auto => KsMethod::Asymp,
        KsMethod::Exact if n1g as f64 >= i32::MAX as f64 / n2g as f64 => KsMethod::Asymp,
        m => m,
    };
    let mut p = f64::NAN;
    if used == KsMethod::Exact {
        match attempt_exact(n1 as u64, n2 as u64, g, d) {
            Some((dd, prob)) => {
                d = dd;
                p = prob;
            }
            None => used = KsMethod::Asymp,
        }
    }
    if used == KsMethod::Asymp {
        let (m, n) = if f1 >= f2 { (f1, f2) } else { (f2, f1) };
        let en = m * n / (m + n);
        p = kolmogorov_sf(en.round_ties_even().max(1.0) as u64, d);
    }
    Ok(KsTest {
        statistic: d,
        p_value: p.clamp(0.0, 1.0),
        method: used,
        n1,
        n2,
    })
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// scipy's `_attempt_exact_2kssamp` for the two-sided alternative: `Some((d, p))` with `d`
/// rounded to the lattice, or `None` when the computation is not usable.
fn attempt_exact(n1: u64, n2: u64, g: u64, d: f64) -> Option<(f64, f64)> {
    let lcm = (n1 / g) * n2;
    let h = (d * lcm as f64).round_ties_even() as u64;
    let d = h as f64 / lcm as f64;
    if h == 0 {
        return Some((d, 1.0));
    }
    let prob = if n1 == n2 {
        prob_outside_square(n1, h)
    } else {
        outer_prob_inside_method(n1, n2, g, h)
    };
    if !prob.is_finite() || !(0.0..=1.0).contains(&prob) {
        return None;
    }
    Some((d, prob))
}

/// `P(D_{n,n} ≥ h/n)` (scipy's `_compute_prob_outside_square`).
fn prob_outside_square(n: u64, h: u64) -> f64 {
    let mut p = 0.0;
    let mut k = (n / h) as i64;
    let (nf, hf) = (n as f64, h as f64);
    while k >= 0 {
        let kf = k as f64;
        let mut p1 = 1.0;
        for j in 0..h {
            let jf = j as f64;
            p1 = (nf - kf * hf - jf) * p1 / (nf + kf * hf + jf + 1.0);
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// The proportion of lattice paths from (0, 0) to (m, n) that leave the band
/// `|x/m − y/n| < h / lcm(m, n)` (scipy's `_compute_outer_prob_inside_method`, Viehmann's
/// recursion for 1 − p).
fn outer_prob_inside_method(m: u64, n: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (m, n, g, h) = (m as i64, n as i64, g as i64, h as i64);
    let mg = m / g;
    let ng = n / g;
    let ceil_div = |a: i64, b: i64| (a as f64 / b as f64).ceil() as i64;
    let floor_div = |a: i64, b: i64| (a as f64 / b as f64).floor() as i64;
    let mut minj: i64 = 0;
    let mut maxj: i64 = ceil_div(h, mg).min(n + 1);
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(n + 1) as usize;
    let mut a = vec![1.0f64; len_a];
    for v in a.iter_mut().take(maxj as usize) {
        *v = 0.0;
    }
    for i in 1..=m {
        let (lastminj, lastlen) = (minj, curlen);
        minj = (floor_div(ng * i - h, mg) + 1).max(0).min(n);
        maxj = ceil_div(ng * i + h, mg).min(n + 1);
        if maxj <= minj {
            return 1.0;
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        let fi = i as f64;
        for jj in 0..(maxj - minj) {
            let j = jj + minj;
            val = (a[(jj + minj - lastminj) as usize] * fi + val * j as f64) / (fi + j as f64);
            a[jj as usize] = val;
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let from = (maxj - minj) as usize;
            let to = (from + (lastlen - curlen) as usize).min(a.len());
            for v in &mut a[from..to] {
                *v = 1.0;
            }
        }
    }
    a[(maxj - minj - 1) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_samples_have_statistic_zero_and_p_one() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let r = ks_2samp(&a, &a, KsMethod::Auto).unwrap();
        assert_eq!(r.statistic, 0.0);
        assert_eq!(r.p_value, 1.0);
        assert_eq!(r.method, KsMethod::Exact);
    }

    #[test]
    fn disjoint_samples_have_statistic_one() {
        // scipy.stats.ks_2samp([1,2,3], [4,5,6], method="exact"): statistic 1, p = 0.1.
        let r = ks_2samp(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0], KsMethod::Exact).unwrap();
        assert_eq!(r.statistic, 1.0);
        assert!((r.p_value - 0.1).abs() < 1e-15, "{}", r.p_value);
    }

    #[test]
    fn empty_and_non_finite_samples_are_errors() {
        assert!(ks_2samp(&[], &[1.0], KsMethod::Auto).is_err());
        assert!(ks_2samp(&[f64::NAN], &[1.0], KsMethod::Auto).is_err());
    }

    #[test]
    fn exact_falls_back_to_asymp_when_the_lattice_is_too_large() {
        // lcm(50001, 50000) = 2.5e9 > i32::MAX: scipy warns and uses asymp.
        let a: Vec<f64> = (0..50_001).map(|i| i as f64).collect();
        let b: Vec<f64> = (0..50_000).map(|i| i as f64 + 0.5).collect();
        let r = ks_2samp(&a, &b, KsMethod::Exact).unwrap();
        assert_eq!(r.method, KsMethod::Asymp);
        assert!(r.p_value > 0.99);
    }

    #[test]
    fn auto_switches_to_asymp_above_max_auto_n() {
        let a: Vec<f64> = (0..KS_MAX_AUTO_N + 1).map(|i| i as f64).collect();
        let b: Vec<f64> = (0..50).map(|i| i as f64 * 10.0).collect();
        let r = ks_2samp(&a, &b, KsMethod::Auto).unwrap();
        assert_eq!(r.method, KsMethod::Asymp);
    }
}
