//! Volatility forecasts scored against realized squared returns (QLIKE, MSE) with a
//! Diebold–Mariano test against a rolling-variance baseline.
//!
//! # Protocol
//! Given a return series `r_0 … r_{n−1}` and forecast origins `o` (the index of the last
//! observed return), each model forecasts the variances σ²_{o+1} … σ²_{o+H} from
//! `r_0 … r_o` only (no look-ahead: [`volatility_backtest`] hands the forecaster the slice
//! `&returns[..=o]`, so returns after an origin cannot change its forecast). The realized
//! variance at step h is the squared demeaned return `(r_{o+h} − m_o)²`, with `m_o` the mean of
//! the returns up to the origin: the same centre for every model.
//!
//! # Losses
//! Per origin, each loss is averaged over the H steps:
//! * MSE: `(r² − σ²)²`;
//! * QLIKE in Patton's (2011) form `ln σ² + r²/σ²`. It differs from the normalized
//!   `r²/σ² − ln(r²/σ²) − 1` only by `ln r² + 1`, which does not depend on the forecast, so
//!   loss differences (and the Diebold–Mariano test) are the same; unlike the normalized form it
//!   is defined at r² = 0, which needs no special case. Both losses are robust in Patton's
//!   sense: they rank forecasts as the true variance would, even though r² is a noisy proxy.
//!   A forecast σ² ≤ 0 or non-finite is an error naming the model and origin.
//!
//! # Baseline
//! [`ROLLING`], the rolling variance: the mean squared deviation of the last N returns up to
//! the origin from their own mean, the same for every step. Each model's per-origin losses are
//! compared with the baseline's by [`crate::diebold_mariano`] with `h = ceil(H / step)` lags
//! (the origins' stride `step`).

use serde::{Deserialize, Serialize};

use crate::{diebold_mariano, DieboldMariano, Error, Result};

/// Name of the rolling-variance baseline in a [`VolatilityReport`].
pub const ROLLING: &str = "rolling-variance";

/// Settings of a volatility backtest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolatilityConfig {
    /// Steps H forecast at each origin (≥ 1).
    pub horizon: usize,
    /// Returns N in the rolling-variance baseline (≥ 2; 20 = about a trading month of days).
    pub window: usize,
    /// Rows between consecutive origins (sets the Diebold–Mariano lags).
    pub step: usize,
}

impl Default for VolatilityConfig {
    /// H 5, N 20, step 1.
    fn default() -> Self {
        Self {
            horizon: 5,
            window: 20,
            step: 1,
        }
    }
}

/// One model's scores: mean losses over origins and steps, per-step means, and the
/// Diebold–Mariano tests against the baseline (absent for the baseline itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolatilityScore {
    /// Model name ([`ROLLING`] for the baseline).
    pub name: String,
    /// Mean QLIKE (`ln σ² + r²/σ²`).
    pub qlike: f64,
    /// Mean squared error of σ² against r².
    pub mse: f64,
    /// Mean QLIKE at each step 1..=H.
    pub qlike_by_step: Vec<f64>,
    /// Mean MSE at each step 1..=H.
    pub mse_by_step: Vec<f64>,
    /// DM test of the per-origin QLIKE against the baseline's (negative: lower loss).
    pub dm_qlike: Option<DieboldMariano>,
    /// DM test of the per-origin MSE against the baseline's.
    pub dm_mse: Option<DieboldMariano>,
    /// Mean forecast σ (square root of the mean σ² over origins and steps).
    pub mean_sigma: f64,
}

/// The result of [`volatility_backtest`]: the baseline first, then the models in the order
/// given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolatilityReport {
    /// The settings.
    pub config: VolatilityConfig,
    /// Forecast origins (indices into the return series).
    pub origins: usize,
    /// Scores, baseline first.
    pub models: Vec<VolatilityScore>,
}

/// A variance forecaster: σ²_{o+1..o+H} from the returns up to an origin.
pub type VarianceFn<'a> = dyn Fn(&[f64], usize) -> Result<Vec<f64>> + 'a;

/// The rolling-variance baseline: the mean squared deviation of the last `window` returns
/// (fewer at the start) from their mean, for each of `horizon` steps.
pub fn rolling_variance(returns: &[f64], window: usize, horizon: usize) -> Vec<f64> {
    let tail = &returns[returns.len().saturating_sub(window)..];
    let n = tail.len().max(1) as f64;
    let mean = tail.iter().sum::<f64>() / n;
    let v = tail.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n;
    vec![v; horizon]
}

/// Per-origin losses of one forecaster.
struct Losses {
    qlike: Vec<f64>,
    mse: Vec<f64>,
    qlike_by_step: Vec<f64>,
    mse_by_step: Vec<f64>,
    sigma2_sum: f64,
}

fn score_one(
    name: &str,
    forecast: &VarianceFn<'_>,
    returns: &[f64],
    origins: &[usize],
    h: usize,
) -> Result<Losses> {
    let mut out = Losses {
        qlike: Vec::with_capacity(origins.len()),
        mse: Vec::with_capacity(origins.len()),
        qlike_by_step: vec![0.0; h],
        mse_by_step: vec![0.0; h],
        sigma2_sum: 0.0,
    };
    for &o in origins {
        let history = &returns[..=o];
        let m = history.iter().sum::<f64>() / history.len() as f64;
        let s2 = forecast(history, h)?;
        if s2.len() < h {
            return Err(Error::config(
                "horizon",
                format!(
                    "{name} forecast {} variances at origin {o}, not {h}",
                    s2.len()
                ),
            ));
        }
        let (mut q, mut e) = (0.0, 0.0);
        for k in 0..h {
            let v = s2[k];
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::Core(nt_core::Error::model(
                    name.to_string(),
                    format!(
                        "variance forecast {v} at origin {o} step {} is not > 0",
                        k + 1
                    ),
                )));
            }
            let r2 = (returns[o + 1 + k] - m).powi(2);
            let ql = v.ln() + r2 / v;
            let se = (r2 - v).powi(2);
            q += ql;
            e += se;
            out.qlike_by_step[k] += ql;
            out.mse_by_step[k] += se;
            out.sigma2_sum += v;
        }
        out.qlike.push(q / h as f64);
        out.mse.push(e / h as f64);
    }
    let n = origins.len() as f64;
    out.qlike_by_step.iter_mut().for_each(|v| *v /= n);
    out.mse_by_step.iter_mut().for_each(|v| *v /= n);
    Ok(out)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// Scores each model's variance forecasts and the rolling-variance baseline at every origin
/// (each origin `o` needs `o + H < returns.len()`), see the module docs.
///
/// Errors: `horizon` 0 or `window` < 2, no origin, an origin without H returns after it, a
/// forecaster's error, or a non-positive forecast variance.
pub fn volatility_backtest(
    returns: &[f64],
    origins: &[usize],
    models: &[(String, &VarianceFn<'_>)],
    config: &VolatilityConfig,
) -> Result<VolatilityReport> {
    let h = config.horizon;
    if h == 0 {
        return Err(Error::config("horizon", "must be at least 1"));
    }
    if config.window < 2 {
        return Err(Error::config(
            "window",
            "the rolling variance needs at least 2 returns",
        ));
    }
    if config.step == 0 {
        return Err(Error::config("step", "must be at least 1"));
    }
    if origins.is_empty() {
        return Err(Error::TooFewValues {
            sample: "volatility backtest origins".into(),
            needed: 1,
            got: 0,
        });
    }
    if let Some(&o) = origins.iter().find(|&&o| o + h >= returns.len()) {
        return Err(Error::config(
            "origins",
            format!(
                "origin {o} needs {h} returns after it; the series has {}",
                returns.len()
            ),
        ));
    }
    let window = config.window;
    let baseline = move |r: &[f64], h: usize| Ok(rolling_variance(r, window, h));
    let base = score_one(ROLLING, &baseline, returns, origins, h)?;
    let lags = h.div_ceil(config.step);
    let n_cells = (origins.len() * h) as f64;
    let to_score = |name: &str, l: &Losses, dm: Option<(&Losses, usize)>| {
        let diff =
            |a: &[f64], b: &[f64]| -> Vec<f64> { a.iter().zip(b).map(|(x, y)| x - y).collect() };
        VolatilityScore {
            name: name.to_string(),
            qlike: mean(&l.qlike),
            mse: mean(&l.mse),
            qlike_by_step: l.qlike_by_step.clone(),
            mse_by_step: l.mse_by_step.clone(),
            dm_qlike: dm
                .and_then(|(b, lags)| diebold_mariano(&diff(&l.qlike, &b.qlike), lags, "qlike")),
            dm_mse: dm.and_then(|(b, lags)| diebold_mariano(&diff(&l.mse, &b.mse), lags, "mse")),
            mean_sigma: (l.sigma2_sum / n_cells).sqrt(),
        }
    };
    let mut scores = vec![to_score(ROLLING, &base, None)];
    for (name, f) in models {
        let l = score_one(name, *f, returns, origins, h)?;
        scores.push(to_score(name, &l, Some((&base, lags))));
    }
    Ok(VolatilityReport {
        config: *config,
        origins: origins.len(),
        models: scores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_by_hand() {
        // Returns [1, −1, 3]; one origin at index 1 (history [1, −1], mean 0), H 1:
        // realized r² = 9. A constant forecast σ² = 4: QLIKE ln 4 + 9/4, MSE (9 − 4)² = 25.
        // Rolling variance of [1, −1] about its mean 0: 1, so QLIKE 0 + 9 = 9, MSE 64.
        let four = |_: &[f64], h: usize| Ok(vec![4.0; h]);
        let models: Vec<(String, &VarianceFn<'_>)> = vec![("four".into(), &four)];
        let cfg = VolatilityConfig {
            horizon: 1,
            window: 20,
            step: 1,
        };
        let r = volatility_backtest(&[1.0, -1.0, 3.0], &[1], &models, &cfg).unwrap();
        assert_eq!(r.models[0].name, ROLLING);
        assert!((r.models[0].qlike - 9.0).abs() < 1e-12);
        assert!((r.models[0].mse - 64.0).abs() < 1e-12);
        assert!((r.models[1].qlike - (4f64.ln() + 2.25)).abs() < 1e-12);
        assert!((r.models[1].mse - 25.0).abs() < 1e-12);
        // One origin: the DM test is undefined.
        assert!(r.models[1].dm_qlike.is_none());
    }

    #[test]
    fn forecasters_see_only_the_past() {
        // A forecaster that records the last return it was given: at origin o it must be r_o.
        let returns: Vec<f64> = (0..50).map(|i| (i as f64 * 0.7).sin()).collect();
        let seen = std::cell::RefCell::new(Vec::new());
        let spy = |r: &[f64], h: usize| {
            seen.borrow_mut().push(r.len());
            Ok(vec![1.0; h])
        };
        let models: Vec<(String, &VarianceFn<'_>)> = vec![("spy".into(), &spy)];
        let origins: Vec<usize> = (30..45).collect();
        volatility_backtest(&returns, &origins, &models, &VolatilityConfig::default()).unwrap();
        let expected: Vec<usize> = origins.iter().map(|o| o + 1).collect();
        assert_eq!(*seen.borrow(), expected);
    }

    #[test]
    fn bad_settings_and_forecasts_are_errors() {
        let one = |_: &[f64], h: usize| Ok(vec![1.0; h]);
        let zero = |_: &[f64], h: usize| Ok(vec![0.0; h]);
        let r: Vec<f64> = (0..30).map(|i| i as f64).collect();
        let ok: Vec<(String, &VarianceFn<'_>)> = vec![("one".into(), &one)];
        let bad: Vec<(String, &VarianceFn<'_>)> = vec![("zero".into(), &zero)];
        let cfg = VolatilityConfig::default();
        assert!(
            volatility_backtest(&r, &[26], &ok, &cfg).is_err(),
            "origin too late"
        );
        assert!(volatility_backtest(&r, &[], &ok, &cfg).is_err());
        let e = volatility_backtest(&r, &[10], &bad, &cfg).unwrap_err();
        assert!(e.to_string().contains("zero"), "{e}");
        let small = VolatilityConfig { window: 1, ..cfg };
        assert!(volatility_backtest(&r, &[10], &ok, &small).is_err());
    }
}
