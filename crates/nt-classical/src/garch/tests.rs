//! Unit tests of the GARCH model: configuration, simulated-data recovery, the price model, the
//! residual-variance helper.

use super::*;
use rand::{rngs::StdRng, Rng, SeedableRng};
use rand_distr::StandardNormal;

/// Simulates `n` returns of a GARCH(1,1) with ω, α, β (normal innovations, zero mean) from a
/// fixed seed, started at the unconditional variance.
fn simulate(n: usize, omega: f64, alpha: f64, beta: f64, seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut s2 = omega / (1.0 - alpha - beta);
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let z: f64 = rng.sample(StandardNormal);
        let e = s2.sqrt() * z;
        out.push(e);
        s2 = omega + alpha * e * e + beta * s2;
    }
    out
}

fn prices(returns: &[f64]) -> TimeSeries {
    let mut p = vec![100.0];
    for r in returns {
        let next = p[p.len() - 1] * (r / RETURN_SCALE).exp();
        p.push(next);
    }
    TimeSeries::from_values("y", p)
}

#[test]
fn config_json_and_validation() {
    let c: GarchConfig =
        serde_json::from_str(r#"{"o": 1, "distribution": "student-t", "mean": "zero"}"#).unwrap();
    assert_eq!((c.p, c.o, c.q), (1, 1, 1));
    assert_eq!(c.distribution, GarchDistribution::StudentT);
    assert_eq!(c.mean, GarchMean::Zero);
    assert!(serde_json::from_str::<GarchConfig>(r#"{"pp": 1}"#).is_err());
    let bad = GarchConfig {
        p: 0,
        ..GarchConfig::default()
    };
    assert!(bad.validate().unwrap_err().to_string().contains("`p`"));
}

#[test]
fn recovers_simulated_parameters() {
    // 4000 returns of ω 0.1, α 0.1, β 0.8: the estimates land within a few standard errors
    // (about 0.02 for α and 0.04 for β at this length).
    let r = simulate(4000, 0.1, 0.1, 0.8, 7);
    let fit = GarchConfig {
        mean: GarchMean::Zero,
        ..GarchConfig::default()
    }
    .fit_returns("r", &r)
    .unwrap();
    assert!((fit.alpha[0] - 0.1).abs() < 0.04, "{fit:?}");
    assert!((fit.beta[0] - 0.8).abs() < 0.08, "{fit:?}");
    assert!(fit.persistence() < 1.0);
}

#[test]
fn residual_variance_is_scale_equivariant() {
    // Residuals × 1000 give variances × 1e6 (same fit on the standardized series).
    let r = simulate(800, 0.2, 0.15, 0.7, 3);
    let big: Vec<f64> = r.iter().map(|v| v * 1000.0).collect();
    let cfg = GarchConfig::default();
    let a = garch_residual_variance(&r, &cfg, 5).unwrap();
    let b = garch_residual_variance(&big, &cfg, 5).unwrap();
    assert_eq!(a.len(), 5);
    for (x, y) in a.iter().zip(&b) {
        assert!((y / x / 1e6 - 1.0).abs() < 1e-9, "{x} {y}");
    }
    assert!(garch_residual_variance(&r[..5], &cfg, 5).is_err());
    assert!(garch_residual_variance(&r, &cfg, 0).is_err());
    assert_eq!(
        garch_residual_variance(&[0.0; 30], &cfg, 2).unwrap(),
        vec![0.0, 0.0]
    );
}

#[test]
fn price_model_bands_widen_and_non_positive_prices_fail() {
    let r = simulate(600, 0.1, 0.1, 0.8, 11);
    let series = prices(&r);
    let fitted = GarchConfig::default().fit(&series, "y").unwrap();
    let f = fitted.predict(&series, Horizon::new(5).unwrap()).unwrap();
    let (lo, hi) = f.interval(0.95).unwrap();
    for h in 1..5 {
        assert!(hi[h] - lo[h] > hi[h - 1] - lo[h - 1], "step {h}");
    }
    let last = series.column("y").unwrap()[600];
    // Point = P_T · exp(h μ / 100).
    assert!((f.point_values()[2] - last * (3.0 * fitted.mu / 100.0).exp()).abs() < 1e-9);
    let bad = TimeSeries::from_values("y", vec![1.0, 2.0, -1.0, 3.0]);
    let e = fitted.predict(&bad, Horizon::new(1).unwrap()).unwrap_err();
    assert!(e.to_string().contains("log returns"), "{e}");
    // Row numbers: no frequency, so no annualized volatility.
    let v = fitted
        .volatility_forecast(&series, Horizon::new(3).unwrap())
        .unwrap();
    assert!(v.annualized.is_none());
    assert!((v.sigma[0] - v.variance[0].sqrt()).abs() < 1e-15);
}

#[test]
fn predict_uses_only_the_history() {
    // No look-ahead: changing the returns after the origin leaves the forecast from the
    // history up to the origin unchanged (bit for bit).
    let r = simulate(400, 0.1, 0.1, 0.8, 5);
    let series = prices(&r);
    let fitted = GarchConfig::default().fit(&series, "y").unwrap();
    let a = fitted.forecast_returns_variance(&r[..300], 4);
    let mut changed = r.clone();
    for v in &mut changed[300..] {
        *v *= -3.0;
    }
    let b = fitted.forecast_returns_variance(&changed[..300], 4);
    assert_eq!(a, b);
}
