//! One ARIMA fit with given orders: statsforecast 2.1.1's `arima` (CSS, ML or CSS-ML with its
//! scipy BFGS runs) and the `Arima` wrapper's AICc, BIC and sigma².

use super::bfgs::minimize;
use super::css::css;
use super::kalman::StateSpace;
use super::transform::{invtrans, transpar, undopars, Arma};

/// How the coefficients are estimated (statsforecast's `method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
pub enum Method {
    /// Conditional sum of squares, then exact ML from there (the default).
    #[default]
    #[serde(rename = "CSS-ML")]
    CssMl,
    /// Exact maximum likelihood by the Kalman filter.
    #[serde(rename = "ML")]
    Ml,
    /// Conditional sum of squares only.
    #[serde(rename = "CSS")]
    Css,
}

/// The one regressor ARIMA may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Regressor {
    /// No regressor.
    #[serde(rename = "none")]
    None,
    /// A constant mean (only without differencing).
    #[serde(rename = "intercept")]
    Intercept,
    /// A linear trend `1, 2, …, n` (only with one difference in total).
    #[serde(rename = "drift")]
    Drift,
}

impl Regressor {
    /// Its value at 0-based row `t`.
    pub(crate) fn at(self, t: usize) -> f64 {
        match self {
            Regressor::None => 0.0,
            Regressor::Intercept => 1.0,
            Regressor::Drift => (t + 1) as f64,
        }
    }
}

/// The outcome of [`arima`].
#[derive(Debug, Clone)]
pub(crate) struct Fit {
    /// `[ar, ma, sar, sma, regressor coefficient]`.
    pub coef: Vec<f64>,
    /// sigma² as `arima` computes it (ssq / n_used for ML, the CSS value for CSS).
    pub sigma2_raw: f64,
    /// Log-likelihood (`-0.5 · value`).
    pub loglik: f64,
    /// AIC (NaN for CSS).
    pub aic: f64,
    /// Standardized innovations (ML) or CSS residuals.
    pub residuals: Vec<f64>,
    /// The state after filtering the training series (ML, CSS-ML).
    #[allow(dead_code)]
    pub model: StateSpace,
    /// Number of free parameters estimated.
    pub nfree: usize,
    /// Rows used (`n - len(delta)`).
    #[allow(dead_code)]
    pub n_used: usize,
    /// The optimizer's status.
    #[allow(dead_code)]
    pub code: u8,
}

/// The differencing polynomial of `arma`, as `arima` builds `Delta` (sign flipped, leading 1
/// dropped).
pub(crate) fn delta_of(arma: &Arma) -> Vec<f64> {
    let mut poly = vec![1.0];
    let conv = |a: &[f64], b: &[f64]| {
        let mut out = vec![0.0; a.len() + b.len() - 1];
        for (i, x) in a.iter().enumerate() {
            for (j, y) in b.iter().enumerate() {
                out[i + j] += x * y;
            }
        }
        out
    };
    for _ in 0..arma.d {
        poly = conv(&poly, &[1.0, -1.0]);
    }
    for _ in 0..arma.sd {
        let mut s = vec![0.0; arma.season + 1];
        s[0] = 1.0;
        s[arma.season] = -1.0;
        poly = conv(&poly, &s);
    }
    poly[1..].iter().map(|x| -x).collect()
}

fn diff(x: &[f64], lag: usize, times: usize) -> Vec<f64> {
    let mut y = x.to_vec();
    for _ in 0..times {
        y = (lag..y.len()).map(|i| y[i] - y[i - lag]).collect();
    }
    y
}

/// Fits `arma` to `x` (statsforecast's `arima` with `transform_pars=True`, `kappa=1e6`,
/// `tol=1e-8`, `maxiter=100`). `fixed` holds every coefficient when given (then nothing is
/// estimated: statsforecast's `forward`). `None` when the fit breaks down (non-finite
/// objective), where statsforecast raises or returns NaN and `auto_arima` scores the model
/// as infinite.
pub(crate) fn arima(
    x: &[f64],
    arma: &Arma,
    reg: Regressor,
    method: Method,
    fixed: Option<&[f64]>,
) -> Option<Fit> {
    let n = x.len();
    let narma = arma.narma();
    let delta = delta_of(arma);
    let ncx = usize::from(reg != Regressor::None);
    if n <= delta.len() {
        return None;
    }
    let n_used = n - delta.len();
    let xreg: Vec<f64> = (0..n).map(|t| reg.at(t)).collect();
    let mut init = vec![0.0; narma];
    if ncx == 1 {
        let mut dx = x.to_vec();
        let mut dr = xreg.clone();
        if arma.d > 0 {
            dx = diff(&dx, 1, arma.d);
            dr = diff(&dr, 1, arma.d);
        }
        if arma.season > 1 && arma.sd > 0 {
            dx = diff(&dx, arma.season, arma.sd);
            dr = diff(&dr, arma.season, arma.sd);
        }
        let sxy: f64 = dx.iter().zip(&dr).map(|(a, b)| a * b).sum();
        let sxx: f64 = dr.iter().map(|b| b * b).sum();
        init.push(sxy / sxx);
    }
    let adjusted = |par: &[f64]| -> Vec<f64> {
        if ncx == 1 {
            let b = par[narma];
            x.iter().zip(&xreg).map(|(v, r)| v - b * r).collect()
        } else {
            x.to_vec()
        }
    };
    let css_obj = |par: &[f64]| -> f64 {
        let (phi, theta) = transpar(par, arma, false);
        let (res, _) = css(&adjusted(par), arma, &phi, &theta);
        if res.is_infinite() {
            f64::MAX
        } else if res <= 0.0 {
            f64::NEG_INFINITY
        } else {
            0.5 * res.ln()
        }
    };
    let nfree = if fixed.is_some() { 0 } else { narma + ncx };

    if method == Method::Css {
        let (coef, fun, code) = match fixed {
            Some(c) => (c.to_vec(), 0.0, 0),
            None => {
                let mut f = |p: &[f64]| css_obj(p);
                let m = minimize(&mut f, &init, 100);
                (m.x, m.fun, m.status)
            }
        };
        let _ = fun;
        let (phi, theta) = transpar(&coef, arma, false);
        let model = StateSpace::new(&phi, &theta, &delta);
        let (sigma2, residuals) = css(&adjusted(&coef), arma, &phi, &theta);
        let value =
            2.0 * n_used as f64 * fun + n_used as f64 * (1.0 + (2.0 * std::f64::consts::PI).ln());
        return Some(Fit {
            coef,
            sigma2_raw: sigma2,
            loglik: -0.5 * value,
            aic: f64::NAN,
            residuals,
            model,
            nfree,
            n_used,
            code,
        });
    }

    let trans = fixed.is_none();
    if let Some(c) = fixed {
        init = c.to_vec();
    } else if method == Method::CssMl {
        let mut f = |p: &[f64]| css_obj(p);
        let m = minimize(&mut f, &init, 100);
        if m.status != 1 {
            init = m.x;
        }
    }
    if trans {
        init = invtrans(&init, arma);
    }
    if init.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let (phi0, theta0) = transpar(&init, arma, trans);
    let mut mod_ = StateSpace::new(&phi0, &theta0, &delta);
    let mut ml_obj = |par: &[f64]| -> f64 {
        let (phi, theta) = transpar(par, arma, trans);
        mod_.update(&phi, &theta);
        let out = mod_.filter(&adjusted(par), false, None);
        if out.nu == 0 {
            return f64::INFINITY;
        }
        let s2 = out.ssq / out.nu as f64;
        if s2 <= 0.0 {
            return f64::NAN;
        }
        0.5 * (s2.ln() + out.sumlog / out.nu as f64)
    };
    let (mut coef, fun, code) = if fixed.is_some() {
        (init.clone(), ml_obj(&init), 0)
    } else {
        let m = minimize(&mut ml_obj, &init, 100);
        (m.x, m.fun, m.status)
    };
    if trans {
        coef = undopars(&coef, arma);
    }
    if !fun.is_finite() || coef.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let (phi, theta) = transpar(&coef, arma, false);
    let mut model = StateSpace::new(&phi, &theta, &delta);
    let mut residuals = Vec::with_capacity(n);
    let out = model.filter(&adjusted(&coef), false, Some(&mut residuals));
    let value = 2.0 * n_used as f64 * fun
        + n_used as f64
        + n_used as f64 * (2.0 * std::f64::consts::PI).ln();
    Some(Fit {
        coef,
        sigma2_raw: out.ssq / n_used as f64,
        loglik: -0.5 * value,
        aic: value + 2.0 * (nfree as f64 + 1.0),
        residuals,
        model,
        nfree,
        n_used,
        code,
    })
}

/// The information criteria and sigma² of the `Arima`/`myarima` wrappers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Criteria {
    /// AIC.
    pub aic: f64,
    /// AICc.
    pub aicc: f64,
    /// BIC.
    pub bic: f64,
    /// `Σ resid² / (nstar - npar + 1)`.
    pub sigma2: f64,
}

/// `Arima`'s criteria: `npar = free + 1`, `nstar = n - d - s·D`. For CSS fits (auto search
/// with `approximation`) `myarima`'s AIC `offset + nstar·ln σ² + 2·npar` replaces the NaN.
pub(crate) fn criteria(fit: &Fit, arma: &Arma, n: usize, css_offset: Option<f64>) -> Criteria {
    let npar = (fit.nfree + 1) as f64;
    let nstar = (n - arma.d - arma.sd * arma.season) as f64;
    let mut aic = fit.aic;
    if let Some(offset) = css_offset {
        aic = if fit.sigma2_raw <= 0.0 {
            f64::NEG_INFINITY
        } else {
            offset + nstar * fit.sigma2_raw.ln() + 2.0 * npar
        };
    }
    let (aicc, bic) = if aic.is_nan() {
        (f64::INFINITY, f64::INFINITY)
    } else {
        let aicc = if nstar - npar - 1.0 != 0.0 {
            aic + 2.0 * npar * (npar + 1.0) / (nstar - npar - 1.0)
        } else {
            f64::INFINITY
        };
        (aicc, aic + npar * (nstar.ln() - 2.0))
    };
    let ss: f64 = fit
        .residuals
        .iter()
        .filter(|r| !r.is_nan())
        .map(|r| r * r)
        .sum();
    Criteria {
        aic,
        aicc,
        bic,
        sigma2: ss / (nstar - npar + 1.0),
    }
}
