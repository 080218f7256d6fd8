//! statsforecast 2.1.1's `auto_arima_f` with `stepwise=True` and no exogenous regressors: the
//! differencing tests, the `myarima` scoring of one candidate, the stepwise neighbour search
//! from `(p, q, P, Q) = (2, 2, 1, 1)`, and the approximation mode (CSS scores with
//! statsforecast's offset during the search, then the candidates refitted with CSS-ML in
//! order of score until one is admissible).
//!
//! Not ported: the exhaustive search (`stepwise=False`), `truncate`, Box-Cox, xreg, and the
//! `checkarima` rejection (a NaN in the square root of the diagonal of the BFGS inverse
//! Hessian; statsforecast's `var_coef` is a congruence transform of scipy's BFGS inverse
//! Hessian, which is positive definite by construction, so it only fires when the optimizer
//! returned NaNs, where this port's fit already fails).

use super::fit::{arima, criteria, Fit, Method, Regressor};
use super::transform::{transpar, Arma};
use super::unit_root::{is_constant, ndiffs, nsdiffs};
use crate::{Error, Result};

/// The information criterion that ranks candidates (statsforecast's `ic`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
pub enum InfoCriterion {
    /// Corrected AIC (the default).
    #[default]
    #[serde(rename = "aicc")]
    Aicc,
    /// AIC.
    #[serde(rename = "aic")]
    Aic,
    /// BIC.
    #[serde(rename = "bic")]
    Bic,
}

/// The search settings (the arguments of `auto_arima_f` this port supports).
#[derive(Debug, Clone)]
pub(crate) struct Search {
    pub season: usize,
    pub d: Option<usize>,
    pub sd: Option<usize>,
    pub max_p: usize,
    pub max_q: usize,
    pub max_sp: usize,
    pub max_sq: usize,
    pub max_d: usize,
    pub max_sd: usize,
    pub start_p: usize,
    pub start_q: usize,
    pub start_sp: usize,
    pub start_sq: usize,
    pub stationary: bool,
    pub seasonal: bool,
    pub ic: InfoCriterion,
    pub nmodels: usize,
    pub approximation: Option<bool>,
    pub allow_drift: bool,
    pub allow_mean: bool,
}

/// The chosen model and its fit.
#[derive(Debug, Clone)]
pub(crate) struct Chosen {
    pub arma: Arma,
    pub regressor: Regressor,
    pub method: Method,
    pub fit: Fit,
}

/// One scored candidate (`myarima`'s return value).
struct Scored {
    fit: Option<Fit>,
    ic: f64,
    /// `(p, q, P, Q)` and whether it has a constant (set by the search).
    key: ([usize; 4], bool),
}

/// The regressor `myarima` fits: a drift with one difference, a mean with none.
fn regressor_of(arma: &Arma, constant: bool) -> Regressor {
    match (constant, arma.d + arma.sd) {
        (true, 0) => Regressor::Intercept,
        (true, 1) => Regressor::Drift,
        _ => Regressor::None,
    }
}

/// Whether every root of `1 - a_1 z - … - a_k z^k` has modulus at least `radius`, by the
/// Schur–Cohn step-down recursion on the polynomial rescaled by `radius` (the same verdict as
/// numpy's `polyroots` modulus test, without computing the roots).
fn roots_at_least(a: &[f64], radius: f64) -> bool {
    let mut c: Vec<f64> = a
        .iter()
        .enumerate()
        .map(|(i, v)| v * radius.powi(i as i32 + 1))
        .collect();
    while let Some(&k) = c.last() {
        if k.is_nan() || k.abs() >= 1.0 {
            return false;
        }
        let m = c.len() - 1;
        let denom = 1.0 - k * k;
        let next: Vec<f64> = (0..m).map(|j| (c[j] + k * c[m - 1 - j]) / denom).collect();
        c = next;
    }
    true
}

/// `myarima`'s root test on one expanded polynomial: it is only applied when the last
/// coefficient above 1e-8 in modulus is not the first one.
fn roots_too_small(poly: &[f64]) -> bool {
    match poly.iter().rposition(|v| v.abs() > 1e-8) {
        Some(last) if last > 0 => !roots_at_least(&poly[..=last], 1.01),
        _ => false,
    }
}

/// statsforecast's `myarima`: fit one candidate (CSS with `offset` when approximating, CSS-ML
/// otherwise) and score it by `ic`; infinite when the fit fails or a root of the AR or MA
/// polynomial lies inside radius 1.01.
fn myarima(
    x: &[f64],
    arma: &Arma,
    constant: bool,
    ic: InfoCriterion,
    approximation: bool,
    offset: f64,
) -> Scored {
    let method = if approximation {
        Method::Css
    } else {
        Method::CssMl
    };
    let Some(fit) = arima(x, arma, regressor_of(arma, constant), method, None) else {
        return Scored {
            fit: None,
            ic: f64::INFINITY,
            key: ([0; 4], constant),
        };
    };
    let c = criteria(&fit, arma, x.len(), approximation.then_some(offset));
    let mut score = if c.aic.is_nan() {
        f64::INFINITY
    } else {
        match ic {
            InfoCriterion::Aicc => c.aicc,
            InfoCriterion::Aic => c.aic,
            InfoCriterion::Bic => c.bic,
        }
    };
    let (phi, theta) = transpar(&fit.coef, arma, false);
    let mut bad = arma.p + arma.sp > 0 && roots_too_small(&phi);
    if !bad && arma.q + arma.sq > 0 && score < f64::INFINITY {
        let neg: Vec<f64> = theta.iter().map(|t| -t).collect();
        bad = roots_too_small(&neg);
    }
    if bad {
        score = f64::INFINITY;
    }
    Scored {
        fit: Some(fit),
        ic: score,
        key: ([0; 4], constant),
    }
}

fn diff(x: &[f64], lag: usize, times: usize) -> Vec<f64> {
    let mut y = x.to_vec();
    for _ in 0..times {
        y = (lag..y.len()).map(|i| y[i] - y[i - lag]).collect();
    }
    y
}

fn arma_of(o: [usize; 6], season: usize) -> Arma {
    Arma {
        p: o[0],
        d: o[1],
        q: o[2],
        sp: o[3],
        sd: o[4],
        sq: o[5],
        season,
    }
}

fn fail(reason: String) -> Error {
    Error::Arima {
        model: "autoarima",
        reason,
    }
}

/// Fits a fixed-coefficient model (the constant-series branches of `auto_arima_f`).
fn fixed_model(x: &[f64], arma: Arma, reg: Regressor, value: Option<f64>) -> Result<Chosen> {
    let fixed = value.map(|v| vec![v]);
    // On an exactly constant (differenced) series the ML filter sees zero innovations and
    // its objective is NaN (statsforecast carries the NaN likelihood along); the CSS
    // evaluation of the same fixed coefficients gives the residuals and a zero sigma² instead.
    let fit = arima(x, &arma, reg, Method::CssMl, fixed.as_deref())
        .or_else(|| arima(x, &arma, reg, Method::Css, fixed.as_deref()))
        .ok_or_else(|| fail("the fit of a constant series failed".into()))?;
    Ok(Chosen {
        arma,
        regressor: reg,
        method: Method::CssMl,
        fit,
    })
}

/// The search itself (`auto_arima_f` with `stepwise=True`, no xreg). `x` has no NaN.
pub(crate) fn auto_arima(x: &[f64], s: &Search) -> Result<Chosen> {
    let n = x.len();
    if n == 0 {
        return Err(fail("the series is empty".into()));
    }
    let mut m = if s.seasonal { s.season.max(1) } else { 1 };
    let approximation = s.approximation.unwrap_or(n > 150 || m > 12);
    if is_constant(x) {
        let mean = x.iter().sum::<f64>() / n as f64;
        let arma = arma_of([0; 6], m);
        return if s.allow_mean {
            fixed_model(x, arma, Regressor::Intercept, Some(mean))
        } else {
            fixed_model(x, arma, Regressor::None, None)
        };
    }
    m = m.max(1);
    let mut max_p = s.max_p.min(n / 3);
    let mut max_q = s.max_q.min(n / 3);
    let mut max_sp = s.max_sp.min(n / 3 / m);
    let mut max_sq = s.max_sq.min(n / 3 / m);
    let ic = if n <= 3 { InfoCriterion::Aic } else { s.ic };
    let (mut d, mut sd) = (s.d, s.sd);
    if s.stationary {
        d = Some(0);
        sd = Some(0);
    }
    let sd = if m == 1 {
        max_sp = 0;
        max_sq = 0;
        0
    } else if let Some(v) = sd {
        v
    } else if n <= 2 * m {
        0
    } else {
        let v = nsdiffs(x, m, s.max_sd);
        if v > 0 && diff(x, m, v).is_empty() {
            v - 1
        } else {
            v
        }
    };
    let dx = if sd > 0 { diff(x, m, sd) } else { x.to_vec() };
    let d = match d {
        Some(v) => v,
        None => {
            let v = ndiffs(&dx, 0.05, s.max_d);
            if v > 0 && diff(&dx, 1, v).is_empty() {
                v - 1
            } else {
                v
            }
        }
    };
    let dx = if d > 0 { diff(&dx, 1, d) } else { dx };
    if dx.is_empty() {
        return Err(fail(format!("not enough data ({n} rows) to proceed")));
    }
    if is_constant(&dx) {
        let mean = dx.iter().sum::<f64>() / dx.len() as f64;
        let arma = arma_of([0, d, 0, 0, sd, 0], m);
        return if sd > 0 && d == 0 {
            fixed_model(x, arma, Regressor::Drift, Some(mean / m as f64))
        } else if sd > 0 || d == 2 {
            fixed_model(x, arma, Regressor::None, None)
        } else if d < 2 {
            let reg = if d == 0 {
                Regressor::Intercept
            } else {
                Regressor::Drift
            };
            fixed_model(x, arma, reg, Some(mean))
        } else {
            Err(fail(
                "the data follow a simple polynomial and are not suitable for ARIMA".into(),
            ))
        };
    }
    if m > 1 {
        if max_p > 0 {
            max_p = max_p.min(m - 1);
        }
        if max_q > 0 {
            max_q = max_q.min(m - 1);
        }
    }
    let offset = if approximation {
        let base = arma_of([0, d, 0, 0, sd, 0], m);
        // `arima`'s default `include_mean=True`: a mean without differencing, never a drift.
        let reg = if d + sd == 0 {
            Regressor::Intercept
        } else {
            Regressor::None
        };
        match arima(x, &base, reg, Method::CssMl, None) {
            Some(f) => -2.0 * f.loglik - n as f64 * f.sigma2_raw.ln(),
            None => 0.0,
        }
    } else {
        0.0
    };
    let allow_drift = s.allow_drift && d + sd == 1;
    let allow_mean = s.allow_mean && d + sd == 0;
    let mut constant = allow_drift || allow_mean;

    let (mut start_p, mut start_q, mut start_sp, mut start_sq) =
        (s.start_p, s.start_q, s.start_sp, s.start_sq);
    if n < 10 {
        start_p = start_p.min(1);
        start_q = start_q.min(1);
        start_sp = 0;
        start_sq = 0;
    }
    let mut p = start_p.min(max_p);
    let mut q = start_q.min(max_q);
    let mut sp = start_sp.min(max_sp);
    let mut sq = start_sq.min(max_sq);

    // results[k] = (p, q, P, Q, constant, ic); d and D are fixed during the search.
    let mut results: Vec<([usize; 4], bool, f64)> = Vec::new();
    let score = |o: [usize; 4], c: bool| -> Scored {
        let mut out = myarima(
            x,
            &arma_of([o[0], d, o[1], o[2], sd, o[3]], m),
            c,
            ic,
            approximation,
            offset,
        );
        out.key = (o, c);
        out
    };
    let mut best = score([p, q, sp, sq], constant);
    results.push(([p, q, sp, sq], constant, best.ic));
    let fit = score([0, 0, 0, 0], constant);
    results.push(([0, 0, 0, 0], constant, fit.ic));
    if fit.ic < best.ic {
        best = fit;
        (p, q, sp, sq) = (0, 0, 0, 0);
    }
    if max_p > 0 || max_sp > 0 {
        let p_ = usize::from(max_p > 0);
        let sp_ = usize::from(m > 1 && max_sp > 0);
        let fit = score([p_, 0, sp_, 0], constant);
        results.push(([p_, 0, sp_, 0], constant, fit.ic));
        if fit.ic < best.ic {
            best = fit;
            (p, q, sp, sq) = (p_, 0, sp_, 0);
        }
    }
    if max_q > 0 || max_sq > 0 {
        let q_ = usize::from(max_q > 0);
        let sq_ = usize::from(m > 1 && max_sq > 0);
        let fit = score([0, q_, 0, sq_], constant);
        results.push(([0, q_, 0, sq_], constant, fit.ic));
        if fit.ic < best.ic {
            best = fit;
            (p, q, sp, sq) = (0, q_, 0, sq_);
        }
    }
    if constant {
        let fit = score([0, 0, 0, 0], false);
        results.push(([0, 0, 0, 0], false, fit.ic));
        if fit.ic < best.ic {
            best = fit;
            (p, q, sp, sq) = (0, 0, 0, 0);
        }
    }
    // The neighbour moves in statsforecast's order: (dp, dq, dP, dQ, flip constant).
    const MOVES: [(i8, i8, i8, i8); 16] = [
        (0, 0, -1, 0),
        (0, 0, 0, -1),
        (0, 0, 1, 0),
        (0, 0, 0, 1),
        (0, 0, -1, -1),
        (0, 0, -1, 1),
        (0, 0, 1, -1),
        (0, 0, 1, 1),
        (-1, 0, 0, 0),
        (0, -1, 0, 0),
        (1, 0, 0, 0),
        (0, 1, 0, 0),
        (-1, -1, 0, 0),
        (-1, 1, 0, 0),
        (1, -1, 0, 0),
        (1, 1, 0, 0),
    ];
    let step = |v: usize, dv: i8, max: usize| -> Option<usize> {
        match dv {
            -1 => v.checked_sub(1),
            1 if v < max => Some(v + 1),
            1 => None,
            _ => Some(v),
        }
    };
    let mut startk = 0;
    while startk < results.len() && results.len() < s.nmodels {
        startk = results.len();
        let mut moved = false;
        for &(dp, dq, dsp, dsq) in &MOVES {
            let (Some(np), Some(nq), Some(nsp), Some(nsq)) = (
                step(p, dp, max_p),
                step(q, dq, max_q),
                step(sp, dsp, max_sp),
                step(sq, dsq, max_sq),
            ) else {
                continue;
            };
            let o = [np, nq, nsp, nsq];
            if results.iter().any(|r| r.0 == o && r.1 == constant) {
                continue;
            }
            if results.len() >= s.nmodels {
                continue;
            }
            let fit = score(o, constant);
            results.push((o, constant, fit.ic));
            if fit.ic < best.ic {
                best = fit;
                (p, q, sp, sq) = (np, nq, nsp, nsq);
                moved = true;
                break;
            }
        }
        if moved {
            continue;
        }
        if (allow_drift || allow_mean)
            && !results
                .iter()
                .any(|r| r.0 == [p, q, sp, sq] && r.1 != constant)
            && results.len() < s.nmodels
        {
            let fit = score([p, q, sp, sq], !constant);
            results.push(([p, q, sp, sq], !constant, fit.ic));
            if fit.ic < best.ic {
                best = fit;
                constant = !constant;
            }
        }
    }
    // The best fit's own orders: after the no-constant start model wins, statsforecast keeps
    // searching with the constant but returns that fit unless a later one beats it.
    let mut chosen = best.key;
    let mut method = if approximation {
        Method::Css
    } else {
        Method::CssMl
    };
    if approximation && best.fit.is_some() {
        // Refit in order of the approximate score (stable; NaN never occurs here).
        let mut order: Vec<usize> = (0..results.len()).collect();
        order.sort_by(|&a, &b| results[a].2.total_cmp(&results[b].2));
        for k in order {
            let (o, c, _) = results[k];
            let fit = myarima(
                x,
                &arma_of([o[0], d, o[1], o[2], sd, o[3]], m),
                c,
                ic,
                false,
                0.0,
            );
            if fit.ic < f64::INFINITY {
                best = fit;
                chosen = (o, c);
                method = Method::CssMl;
                break;
            }
        }
    }
    let o = chosen.0;
    let arma = arma_of([o[0], d, o[1], o[2], sd, o[3]], m);
    match best.fit {
        Some(fit) if best.ic < f64::INFINITY => Ok(Chosen {
            regressor: regressor_of(&arma, chosen.1),
            arma,
            method,
            fit,
        }),
        _ => Err(fail(format!(
            "no suitable ARIMA model found on these {n} rows"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_down_matches_known_roots() {
        // 1 - 0.5z: root 2 (≥ 1.01). 1 - 0.995z: root 1.005 (< 1.01).
        assert!(roots_at_least(&[0.5], 1.01));
        assert!(!roots_at_least(&[0.995], 1.01));
        // (1 - 0.9z)(1 + 0.8z) = 1 - 0.1z - 0.72z²: roots 1.11 and 1.25.
        assert!(roots_at_least(&[0.1, 0.72], 1.01));
        // (1 - z/1.005)(1 - z/3): a root at 1.005.
        let (a, b) = (1.0 / 1.005, 1.0 / 3.0);
        assert!(!roots_at_least(&[a + b, -a * b], 1.01));
    }

    #[test]
    fn root_test_skips_first_order_polynomials() {
        // statsforecast only tests when the last non-zero coefficient is not the first.
        assert!(!roots_too_small(&[0.999, 0.0]));
        assert!(roots_too_small(&[0.0, 0.999]));
    }
}
