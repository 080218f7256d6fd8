//! The innovation laws of a GARCH model: normal and standardized Student-t (unit variance,
//! ν > 2) log-likelihoods as arch 8.0.0's `Normal.loglikelihood` and
//! `StudentsT.loglikelihood`, the Student-t starting value of ν, and the quantiles the
//! intervals need.

use std::f64::consts::PI;

/// Σ_t −½ (ln 2π + ln σ²_t + ε²_t / σ²_t).
pub(crate) fn normal_loglik(resids: &[f64], sigma2: &[f64]) -> f64 {
    let c = (2.0 * PI).ln();
    resids
        .iter()
        .zip(sigma2)
        .map(|(e, s)| -0.5 * (c + s.ln() + e * e / s))
        .sum()
}

/// Σ_t [ln Γ((ν+1)/2) − ln Γ(ν/2) − ½ ln(π(ν−2)) − ½ ln σ²_t − (ν+1)/2 · ln(1 + ε²_t/(σ²_t(ν−2)))]:
/// the Student-t law rescaled to variance σ²_t.
pub(crate) fn student_t_loglik(resids: &[f64], sigma2: &[f64], nu: f64) -> f64 {
    let c = ln_gamma((nu + 1.0) / 2.0) - ln_gamma(nu / 2.0) - 0.5 * (PI * (nu - 2.0)).ln();
    let half = (nu + 1.0) / 2.0;
    resids
        .iter()
        .zip(sigma2)
        .map(|(e, s)| c - 0.5 * s.ln() - half * (1.0 + e * e / (s * (nu - 2.0))).ln())
        .sum()
}

/// arch's starting value of ν from the kurtosis k (Pearson, central moments) of the
/// standardized residuals: (4k − 6)/(k − 3) when k > 3.75, else 12; at least 4.
pub(crate) fn nu_start(std_resids: &[f64]) -> f64 {
    let n = std_resids.len() as f64;
    if n < 2.0 {
        return 12.0;
    }
    let mean = std_resids.iter().sum::<f64>() / n;
    let m2 = std_resids.iter().map(|z| (z - mean).powi(2)).sum::<f64>() / n;
    let m4 = std_resids.iter().map(|z| (z - mean).powi(4)).sum::<f64>() / n;
    let k = m4 / (m2 * m2);
    let sv = if k > 3.75 {
        (4.0 * k - 6.0) / (k - 3.0)
    } else {
        12.0
    };
    sv.max(4.0)
}

/// ln Γ(x) for x > 0, Lanczos approximation (g = 7, nine coefficients), about 1e-15 relative.
#[allow(clippy::excessive_precision)]
pub(crate) fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_93,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_13,
        -176.615_029_162_140_59,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_571_6e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return (PI / (PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Regularized incomplete beta I_x(a, b) by its continued fraction (Lentz), for the t CDF.
fn incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - incomplete_beta(1.0 - x, b, a);
    }
    let tiny = 1e-300;
    let (mut c, mut d) = (1.0, 1.0 - (a + b) * x / (a + 1.0));
    if d.abs() < tiny {
        d = tiny;
    }
    d = 1.0 / d;
    let mut f = d;
    for m in 1..300 {
        let m = m as f64;
        for num in [
            m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0)),
        ] {
            d = 1.0 + num * d;
            if d.abs() < tiny {
                d = tiny;
            }
            c = 1.0 + num / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            f *= c * d;
        }
        if (c * d - 1.0).abs() < 1e-15 {
            break;
        }
    }
    front * f / a
}

/// CDF of the (unscaled) Student-t law with `nu` degrees of freedom.
fn t_cdf(t: f64, nu: f64) -> f64 {
    let tail = 0.5 * incomplete_beta(nu / (nu + t * t), nu / 2.0, 0.5);
    if t >= 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// The `p`-quantile (0 < p < 1) of the standardized Student-t law (unit variance, ν > 2): the
/// t quantile by bisection on its CDF (to 1e-12), times √((ν − 2)/ν).
pub(crate) fn standardized_t_quantile(p: f64, nu: f64) -> f64 {
    let (mut lo, mut hi) = (-1e3, 1e3);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_cdf(mid, nu) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-12 {
            break;
        }
    }
    0.5 * (lo + hi) * ((nu - 2.0) / nu).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn likelihoods_by_hand() {
        // Normal, ε = [1, −2], σ² = [1, 4]: −½(2 ln 2π + ln 4 + 1 + 1).
        let expected = -0.5 * (2.0 * (2.0 * PI).ln() + 4f64.ln() + 2.0);
        assert!((normal_loglik(&[1.0, -2.0], &[1.0, 4.0]) - expected).abs() < 1e-13);
        // Student-t ν = 5, ε = 1, σ² = 1: ln Γ(3) − ln Γ(2.5) − ½ ln(3π) − 3 ln(1 + 1/3);
        // Γ(3) = 2, Γ(2.5) = 1.329340388179137.
        let expected = 2f64.ln()
            - 1.329_340_388_179_137f64.ln()
            - 0.5 * (3.0 * PI).ln()
            - 3.0 * (4.0f64 / 3.0).ln();
        assert!((student_t_loglik(&[1.0], &[1.0], 5.0) - expected).abs() < 1e-13);
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        // Γ(10) = 9! = 362880; Γ(0.5) = √π.
        assert!((ln_gamma(10.0) - 362_880f64.ln()).abs() < 1e-12);
        assert!((ln_gamma(0.5) - PI.sqrt().ln()).abs() < 1e-13);
    }

    #[test]
    fn t_quantiles_match_tables() {
        // scipy.stats.t.ppf(0.975, 5) = 2.570581835636314; standardized: × √(3/5).
        let q = standardized_t_quantile(0.975, 5.0);
        assert!(
            (q - 2.570_581_835_636_314 * 0.6f64.sqrt()).abs() < 1e-9,
            "{q}"
        );
        // t.ppf(0.1, 4) = −1.5332062740589438, × √(2/4).
        let q = standardized_t_quantile(0.1, 4.0);
        assert!(
            (q + 1.533_206_274_058_943_8 * 0.5f64.sqrt()).abs() < 1e-9,
            "{q}"
        );
    }
}
