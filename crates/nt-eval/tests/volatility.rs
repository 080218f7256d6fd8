//! The volatility backtest on a simulated GARCH(1,1): a forecaster that knows the true
//! conditional variances must beat the rolling variance on QLIKE, significantly.

#![allow(clippy::unwrap_used)]

use nt_eval::volatility::{VarianceFn, ROLLING};
use nt_eval::{volatility_backtest, VolatilityConfig};

/// GARCH(1,1) ω 0.05, α 0.15, β 0.8 driven by a fixed deterministic sequence of standard
/// normal draws (Box–Muller on a linear congruential generator, seed 42); returns the returns
/// and the true conditional variance of each.
fn simulate(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut state: u64 = 42;
    let mut uniform = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let (omega, alpha, beta): (f64, f64, f64) = (0.05, 0.15, 0.8);
    let mut s2: f64 = omega / (1.0 - alpha - beta);
    let (mut r, mut v) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let z = (-2.0 * uniform().ln()).sqrt() * (2.0 * std::f64::consts::PI * uniform()).cos();
        let e = s2.sqrt() * z;
        r.push(e);
        v.push(s2);
        s2 = omega + alpha * e * e + beta * s2;
    }
    (r, v)
}

#[test]
fn the_true_variance_beats_the_rolling_variance() {
    let (r, v) = simulate(3000);
    let (omega, alpha, beta) = (0.05, 0.15, 0.8);
    // The oracle: σ²_{o+1} from the true recursion (needs only r_o and σ²_o), then the
    // analytic multi-step forecast ω Σ (α+β)^k + (α+β)^{h−1} σ²_{o+1}.
    let oracle = |hist: &[f64], h: usize| {
        let o = hist.len() - 1;
        let next = omega + alpha * hist[o] * hist[o] + beta * v[o];
        let mut out = vec![next];
        for _ in 1..h {
            let last = out[out.len() - 1];
            out.push(omega + (alpha + beta) * last);
        }
        Ok(out)
    };
    let models: Vec<(String, &VarianceFn<'_>)> = vec![("oracle".into(), &oracle)];
    let origins: Vec<usize> = (2000..2995).collect();
    let rep = volatility_backtest(&r, &origins, &models, &VolatilityConfig::default()).unwrap();
    assert_eq!(rep.models[0].name, ROLLING);
    assert_eq!(rep.origins, 995);
    let (base, oracle) = (&rep.models[0], &rep.models[1]);
    assert!(
        oracle.qlike < base.qlike,
        "{} vs {}",
        oracle.qlike,
        base.qlike
    );
    let dm = oracle.dm_qlike.as_ref().unwrap();
    // Negative statistic: lower loss than the baseline; p below 5%.
    assert!(dm.statistic < 0.0 && dm.p_value < 0.05, "{dm:?}");
    assert_eq!(dm.lags, 4, "H 5 at step 1: 4 autocovariance lags");
}
