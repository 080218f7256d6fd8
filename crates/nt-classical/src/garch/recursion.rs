//! The GARCH(p, o, q) variance recursion (arch's `o` asymmetric GJR terms), its backcast
//! start, the loose variance bounds that keep the likelihood finite, and the analytic
//! multi-step variance forecasts: a port of arch 8.0.0's `GARCH.compute_variance`,
//! `GARCH.backcast`, `VolatilityProcess.variance_bounds` and `GARCH._analytic_forecast`
//! (power 2 only).

/// The orders of a GARCH model: `p` lags of the squared residual, `o` asymmetric (GJR) lags of
/// the squared negative residual, `q` lags of the conditional variance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Orders {
    pub(crate) p: usize,
    pub(crate) o: usize,
    pub(crate) q: usize,
}

impl Orders {
    /// Volatility parameters: ω, α₁…α_p, γ₁…γ_o, β₁…β_q.
    pub(crate) fn n_params(&self) -> usize {
        1 + self.p + self.o + self.q
    }
}

/// Volatility parameters borrowed from a parameter vector laid out as
/// `[ω, α₁…α_p, γ₁…γ_o, β₁…β_q]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VolParams<'a> {
    pub(crate) omega: f64,
    pub(crate) alpha: &'a [f64],
    pub(crate) gamma: &'a [f64],
    pub(crate) beta: &'a [f64],
}

impl<'a> VolParams<'a> {
    /// Splits `v` (length `orders.n_params()`).
    pub(crate) fn split(orders: Orders, v: &'a [f64]) -> Self {
        let (p, o) = (orders.p, orders.o);
        Self {
            omega: v[0],
            alpha: &v[1..1 + p],
            gamma: &v[1 + p..1 + p + o],
            beta: &v[1 + p + o..1 + p + o + orders.q],
        }
    }
}

/// Exponentially weighted mean of the first `min(75, n)` squared residuals, weights
/// `0.94^i` normalized to sum 1: arch's estimate of the variance before the first row, used for
/// every lag that reaches before the sample.
pub(crate) fn backcast(resids: &[f64]) -> f64 {
    let tau = resids.len().min(75);
    let mut weight = 1.0;
    let (mut total, mut sum_w) = (0.0, 0.0);
    for r in &resids[..tau] {
        total += weight * r * r;
        sum_w += weight;
        weight *= 0.94;
    }
    if sum_w > 0.0 {
        total / sum_w
    } else {
        0.0
    }
}

/// Per-row lower and upper bounds of the conditional variance (arch's `variance_bounds`): an
/// EWMA (λ = 0.94) of the squared residuals started at [`backcast`], divided and multiplied by
/// 1e6, with the lower bound at least `var(resids)/1e8` and the upper bound between
/// `1 + max r²` and `1e7 · (1 + max r²)`. They only bind for absurd parameters, where they keep
/// the log-likelihood finite.
pub(crate) fn variance_bounds(resids: &[f64]) -> Vec<(f64, f64)> {
    let n = resids.len();
    if n == 0 {
        return Vec::new();
    }
    let mean = resids.iter().sum::<f64>() / n as f64;
    let var = resids.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n as f64;
    let max_sq = resids.iter().map(|r| r * r).fold(0.0, f64::max);
    let lower_floor = var / 1e8;
    let min_upper = 1.0 + max_sq;
    let upper_cap = 1e7 * (1.0 + max_sq);
    let mut ewma = backcast(resids);
    let mut out = Vec::with_capacity(n);
    for t in 0..n {
        if t > 0 {
            ewma = 0.06 * resids[t - 1] * resids[t - 1] + 0.94 * ewma;
        }
        let lo = (ewma / 1e6).max(lower_floor);
        let hi = (ewma * 1e6).max(min_upper).min(upper_cap);
        out.push((lo, hi));
    }
    out
}

/// arch's `bounds_check`: below the lower bound the variance is the bound; above the upper
/// bound it grows only logarithmically.
fn bounded(sigma2: f64, (lo, hi): (f64, f64)) -> f64 {
    if sigma2 < lo {
        lo
    } else if sigma2 > hi {
        if sigma2.is_infinite() {
            hi + 1000.0
        } else {
            hi + (sigma2 / hi).ln()
        }
    } else {
        sigma2
    }
}

/// σ²_t = ω + Σ α_j ε²_{t−j} + Σ γ_j ε²_{t−j}·1[ε_{t−j} < 0] + Σ β_j σ²_{t−j}, for every row of
/// `resids`, each clamped by its row of `bounds`. Lags before the first row use `backcast` for
/// ε² and σ², and ½·backcast for the asymmetric term.
pub(crate) fn conditional_variance(
    params: &VolParams<'_>,
    resids: &[f64],
    backcast: f64,
    bounds: &[(f64, f64)],
    out: &mut Vec<f64>,
) {
    out.clear();
    for t in 0..resids.len() {
        let mut s = params.omega;
        for (j, a) in params.alpha.iter().enumerate() {
            s += a * if t > j {
                resids[t - 1 - j] * resids[t - 1 - j]
            } else {
                backcast
            };
        }
        for (j, g) in params.gamma.iter().enumerate() {
            s += g * if t > j {
                let e = resids[t - 1 - j];
                if e < 0.0 {
                    e * e
                } else {
                    0.0
                }
            } else {
                0.5 * backcast
            };
        }
        for (j, b) in params.beta.iter().enumerate() {
            s += b * if t > j { out[t - 1 - j] } else { backcast };
        }
        out.push(bounded(s, bounds[t]));
    }
}

/// Analytic variance forecasts for the `horizon` steps after the last row of `resids`, whose
/// conditional variances are `sigma2` (arch's `_analytic_forecast` at the last origin): the
/// one-step forecast is the recursion itself (no bounds); after it E[ε²] is replaced by the
/// forecast variance and E[ε²·1[ε<0]] by half of it. Lags before the sample use the backcast.
pub(crate) fn forecast_variance(
    params: &VolParams<'_>,
    resids: &[f64],
    sigma2: &[f64],
    backcast: f64,
    horizon: usize,
) -> Vec<f64> {
    let n = resids.len();
    // Lag k ≥ 1 back from step h (1-based, origin = after row n−1): an in-sample row when
    // h − k < 0 ... expressed as index n + (h − 1) − k into the extended arrays.
    let mut sq: Vec<f64> = Vec::with_capacity(horizon);
    let mut asym: Vec<f64> = Vec::with_capacity(horizon);
    let mut out: Vec<f64> = Vec::with_capacity(horizon);
    // Value of a lag at extended index i (i < n: sample rows; i ≥ n: forecasts; i < 0: backcast).
    let lag = |i: isize, sample: &dyn Fn(usize) -> f64, fut: &[f64], before: f64| -> f64 {
        if i < 0 {
            before
        } else if (i as usize) < n {
            sample(i as usize)
        } else {
            fut[i as usize - n]
        }
    };
    let sample_sq = |t: usize| resids[t] * resids[t];
    let sample_asym = |t: usize| {
        if resids[t] < 0.0 {
            resids[t] * resids[t]
        } else {
            0.0
        }
    };
    let sample_var = |t: usize| sigma2[t];
    for h in 0..horizon {
        let here = (n + h) as isize;
        let mut s = params.omega;
        for (j, a) in params.alpha.iter().enumerate() {
            s += a * lag(here - 1 - j as isize, &sample_sq, &sq, backcast);
        }
        for (j, g) in params.gamma.iter().enumerate() {
            s += g * lag(here - 1 - j as isize, &sample_asym, &asym, 0.5 * backcast);
        }
        for (j, b) in params.beta.iter().enumerate() {
            s += b * lag(here - 1 - j as isize, &sample_var, &out, backcast);
        }
        sq.push(s);
        asym.push(0.5 * s);
        out.push(s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_bounds(n: usize) -> Vec<(f64, f64)> {
        vec![(0.0, f64::INFINITY); n]
    }

    #[test]
    fn backcast_weights_decay_by_094() {
        // Two residuals 1 and 2: (1·1 + 0.94·4) / (1 + 0.94) = 4.76 / 1.94.
        assert!((backcast(&[1.0, 2.0]) - 4.76 / 1.94).abs() < 1e-15);
    }

    #[test]
    fn gjr_recursion_by_hand() {
        // ω 0.1, α 0.05, γ 0.1, β 0.8, backcast 2, residuals [−1, 2]:
        // σ²₀ = 0.1 + 0.05·2 + 0.1·(0.5·2) + 0.8·2 = 1.9
        // σ²₁ = 0.1 + 0.05·1 + 0.1·1 + 0.8·1.9 = 1.77 (ε₀ = −1 is negative)
        let v = [0.1, 0.05, 0.1, 0.8];
        let params = VolParams::split(Orders { p: 1, o: 1, q: 1 }, &v);
        let mut s = Vec::new();
        conditional_variance(&params, &[-1.0, 2.0], 2.0, &no_bounds(2), &mut s);
        assert!(
            (s[0] - 1.9).abs() < 1e-14 && (s[1] - 1.77).abs() < 1e-14,
            "{s:?}"
        );
        // One step: 0.1 + 0.05·4 + 0 (ε₁ = 2 > 0) + 0.8·1.77 = 1.716; two steps:
        // 0.1 + (0.05 + 0.05 + 0.8)·1.716 = 1.6444.
        let f = forecast_variance(&params, &[-1.0, 2.0], &s, 2.0, 2);
        assert!(
            (f[0] - 1.716).abs() < 1e-14 && (f[1] - 1.6444).abs() < 1e-14,
            "{f:?}"
        );
    }

    #[test]
    fn forecasts_converge_to_the_unconditional_variance() {
        // GARCH(1,1) ω 0.1, α 0.1, β 0.8: unconditional variance ω / (1 − α − β) = 1.
        let v = [0.1, 0.1, 0.8];
        let params = VolParams::split(Orders { p: 1, o: 0, q: 1 }, &v);
        let r = [3.0, -2.5, 4.0];
        let mut s = Vec::new();
        conditional_variance(&params, &r, 9.0, &no_bounds(3), &mut s);
        let f = forecast_variance(&params, &r, &s, 9.0, 400);
        assert!(f[0] > 2.0, "starts high after large shocks: {}", f[0]);
        assert!((f[399] - 1.0).abs() < 1e-12, "{}", f[399]);
        // The gap to the limit shrinks by the persistence 0.9 each step.
        let ratio = (f[11] - 1.0) / (f[10] - 1.0);
        assert!((ratio - 0.9).abs() < 1e-12, "{ratio}");
    }
}
