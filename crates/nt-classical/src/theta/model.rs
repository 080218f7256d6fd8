//! The Theta state-space recursions of Fiorucci et al. (2016) as statsforecast 2.1.1 runs them
//! (`src/theta.cpp`: `init_state`, `update`, `forecast`, `calc`, `pegels_resid`, `target_fn`,
//! `optimize`; `theta.py`: `initparamtheta`, `thetamodel`).
//!
//! The state after row `i` is `(level, mean_y, A, B, mu)`: the exponentially smoothed level,
//! the running mean, the intercept and slope of the linear trend line (fixed from a regression
//! on the whole series for the standard models, updated every row for the dynamic ones) and
//! the one-step forecast `mu` made for row `i`.
//!
//! Cost: statsforecast's `calc` copies every previous state row to make each row's `nmse`-step
//! forecast (quadratic in the series length); here the same `nmse` forecasts are made from the
//! last state only, which gives the same numbers in linear time.

use serde::{Deserialize, Serialize};

use super::optim;

/// statsforecast's `nmse`: horizons of the in-sample multi-step errors (`amse`).
pub(crate) const NMSE: usize = 3;
/// statsforecast's missing-value marker in the recursions.
const NA: f64 = -99999.0;
const TOL: f64 = 1e-10;

/// Which of the four Theta models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ThetaKind {
    /// Standard Theta (STM): `theta = 2`, fixed trend line; estimates the initial level and α.
    Standard,
    /// Optimized Theta (OTM): also estimates `theta`.
    Optimized,
    /// Dynamic standard Theta (DSTM): `theta = 2`, trend line updated every row.
    Dynamic,
    /// Dynamic optimized Theta (DOTM).
    DynamicOptimized,
}

impl ThetaKind {
    /// The model name in [`crate::ClassicalSpec`] (`theta`, `optimized-theta`, …).
    pub fn name(self) -> &'static str {
        match self {
            ThetaKind::Standard => "theta",
            ThetaKind::Optimized => "optimized-theta",
            ThetaKind::Dynamic => "dynamic-theta",
            ThetaKind::DynamicOptimized => "dynamic-optimized-theta",
        }
    }

    /// Whether `theta` is estimated (otherwise it is 2).
    pub fn optimizes_theta(self) -> bool {
        matches!(self, ThetaKind::Optimized | ThetaKind::DynamicOptimized)
    }

    /// Whether the trend line is updated every row.
    pub fn is_dynamic(self) -> bool {
        matches!(self, ThetaKind::Dynamic | ThetaKind::DynamicOptimized)
    }
}

/// The three parameters of a Theta model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ThetaParams {
    /// Initial smoothed level `ℓ₀`.
    pub initial_smoothed: f64,
    /// Smoothing parameter α.
    pub alpha: f64,
    /// The theta coefficient (2 for the standard models).
    pub theta: f64,
}

/// One state row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct State {
    pub(crate) level: f64,
    pub(crate) mean_y: f64,
    pub(crate) a: f64,
    pub(crate) b: f64,
    pub(crate) mu: f64,
}

/// The state at row 0 (`init_state`).
fn init_state(y: &[f64], kind: ThetaKind, p: &ThetaParams) -> State {
    let (a, b, mu) = if kind.is_dynamic() {
        (y[0], 0.0, y[0])
    } else {
        let n = y.len() as f64;
        let mean = y.iter().sum::<f64>() / n;
        let weighted = y
            .iter()
            .enumerate()
            .map(|(k, v)| v * (k + 1) as f64)
            .sum::<f64>()
            / n;
        let b = (6.0 * (2.0 * weighted - (n + 1.0) * mean)) / (n * n - 1.0);
        let a = mean - (n + 1.0) * b / 2.0;
        (a, b, p.initial_smoothed + (1.0 - 1.0 / p.theta) * (a + b))
    };
    State {
        level: p.alpha * y[0] + (1.0 - p.alpha) * p.initial_smoothed,
        mean_y: y[0],
        a,
        b,
        mu,
    }
}

/// The forecast for row `i` from the state after row `i − 1` (`update`'s `mu`).
#[inline]
/// `qi` and `qi1` are `(1 − α)^i` and `(1 − α)^(i+1)`, computed by `powf` as the C++ does.
fn mu_at(prev: &State, p: &ThetaParams, qi: f64, qi1: f64) -> f64 {
    prev.level + (1.0 - 1.0 / p.theta) * (prev.a * qi + prev.b * (1.0 - qi1) / p.alpha)
}

/// The state after row `i` given the previous state and the value `y` of row `i`
/// (`update`; `y = None` uses the forecast `mu`, as when forecasting).
#[inline]
pub(crate) fn step(
    prev: &State,
    i: usize,
    kind: ThetaKind,
    p: &ThetaParams,
    y: Option<f64>,
) -> State {
    let q = 1.0 - p.alpha;
    step_pow(
        prev,
        i,
        kind,
        p,
        y,
        q.powf(i as f64),
        q.powf((i + 1) as f64),
    )
}

/// [`step`] with the powers `(1 − α)^i`, `(1 − α)^(i+1)` given (the filter computes each power
/// once per pass instead of eight times per row: the same `powf` values, so the same bits).
#[inline]
fn step_pow(
    prev: &State,
    i: usize,
    kind: ThetaKind,
    p: &ThetaParams,
    y: Option<f64>,
    qi: f64,
    qi1: f64,
) -> State {
    let mu = mu_at(prev, p, qi, qi1);
    let y = y.unwrap_or(mu);
    let fi = i as f64;
    let mean_y = (fi * prev.mean_y + y) / (fi + 1.0);
    let (a, b) = if kind.is_dynamic() {
        let b = ((fi - 1.0) * prev.b + 6.0 * (y - prev.mean_y) / (fi + 1.0)) / (fi + 2.0);
        (mean_y - b * (fi + 2.0) / 2.0, b)
    } else {
        (prev.a, prev.b)
    };
    State {
        level: p.alpha * y + (1.0 - p.alpha) * prev.level,
        mean_y,
        a,
        b,
        mu,
    }
}

/// Point forecasts for rows `n, n+1, …` from the state after row `n − 1` (`forecast`).
pub(crate) fn forecast(
    last: &State,
    n: usize,
    kind: ThetaKind,
    p: &ThetaParams,
    h: usize,
) -> Vec<f64> {
    let mut state = *last;
    (0..h)
        .map(|j| {
            state = step(&state, n + j, kind, p, None);
            state.mu
        })
        .collect()
}

/// What one pass of the recursions over a series gives (`pegels_resid`).
#[derive(Debug, Clone)]
pub(crate) struct Filtered {
    /// One-step residuals `y_i − mu_i` (row 0 against the initial `mu`).
    pub(crate) residuals: Vec<f64>,
    /// Mean squared `k`-step in-sample errors, `k = 1..=NMSE`.
    pub(crate) amse: [f64; NMSE],
    /// statsforecast's `mse`: `Σ_{i≥3} e_i² / mean|y|` (NaN when undefined).
    pub(crate) mse: f64,
    /// The state after the last row.
    pub(crate) last: State,
}

/// Runs the recursions over `y` (`calc`); `keep_residuals` false skips storing them (the
/// optimizer only needs the objective).
pub(crate) fn filter(
    y: &[f64],
    kind: ThetaKind,
    p: &ThetaParams,
    keep_residuals: bool,
) -> Filtered {
    let n = y.len();
    let mut state = init_state(y, kind, p);
    let mut residuals = Vec::with_capacity(if keep_residuals { n } else { 0 });
    let e0 = y[0] - state.mu;
    if keep_residuals {
        residuals.push(e0);
    }
    let mut sse = 0.0;
    let mut amse = [0.0; NMSE];
    let mut denom = [0.0; NMSE];
    let q = 1.0 - p.alpha;
    let pows: Vec<f64> = (0..=n + NMSE).map(|k| q.powf(k as f64)).collect();
    for i in 1..n {
        // The NMSE-step forecasts from the state after row i − 1.
        let mut ahead = state;
        let mut f = [0.0; NMSE];
        for (j, fj) in f.iter_mut().enumerate() {
            ahead = step_pow(&ahead, i + j, kind, p, None, pows[i + j], pows[i + j + 1]);
            *fj = ahead.mu;
        }
        if (f[0] - NA).abs() < TOL {
            return Filtered {
                residuals,
                amse,
                mse: f64::NAN,
                last: state,
            };
        }
        let e = y[i] - f[0];
        if keep_residuals {
            residuals.push(e);
        }
        if i >= 3 {
            sse += e * e;
        }
        for j in 0..NMSE {
            if i + j < n {
                denom[j] += 1.0;
                let d = y[i + j] - f[j];
                amse[j] = (amse[j] * (denom[j] - 1.0) + d * d) / denom[j];
            }
        }
        state = step_pow(&state, i, kind, p, Some(y[i]), pows[i], pows[i + 1]);
    }
    let mut mean_abs = y.iter().map(|v| v.abs()).sum::<f64>() / n as f64;
    if mean_abs < TOL {
        mean_abs = TOL;
    }
    Filtered {
        residuals,
        amse,
        mse: sse / mean_abs,
        last: state,
    }
}

/// Fixed values of the parameters; `None` estimates it (`theta` is never estimated by the
/// standard models, which use 2).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Fixed {
    pub(crate) initial_smoothed: Option<f64>,
    pub(crate) alpha: Option<f64>,
    pub(crate) theta: Option<f64>,
}

/// The fitted parameters and the optimizer's report.
#[derive(Debug, Clone)]
pub(crate) struct Estimate {
    pub(crate) params: ThetaParams,
    /// Objective at the optimum (`None` when nothing was estimated).
    pub(crate) objective: Option<f64>,
    /// Nelder–Mead iterations (0 when nothing was estimated).
    pub(crate) iterations: usize,
}

/// `initparamtheta` + `optimize_theta_target_fn`: starting values `ℓ₀ = y₀/2`, `α = 0.5`,
/// `θ = 2`, bounds `ℓ₀ ∈ [−1e10, 1e10]`, `α ∈ [0.1, 0.99]`, `θ ∈ [1, 1e10]`, minimizing
/// `mse` with statsforecast's Nelder–Mead.
pub(crate) fn estimate(y: &[f64], kind: ThetaKind, fixed: Fixed) -> Estimate {
    let mut base = ThetaParams {
        initial_smoothed: fixed.initial_smoothed.unwrap_or(y[0] / 2.0),
        alpha: fixed.alpha.unwrap_or(0.5),
        theta: if kind.optimizes_theta() {
            fixed.theta.unwrap_or(2.0)
        } else {
            2.0
        },
    };
    let free = [
        fixed.initial_smoothed.is_none(),
        fixed.alpha.is_none(),
        kind.optimizes_theta() && fixed.theta.is_none(),
    ];
    let (mut x0, mut lower, mut upper) = (Vec::new(), Vec::new(), Vec::new());
    let starts = [base.initial_smoothed, base.alpha, base.theta];
    let lows = [-1e10, 0.1, 1.0];
    let highs = [1e10, 0.99, 1e10];
    for k in 0..3 {
        if free[k] {
            x0.push(starts[k]);
            lower.push(lows[k]);
            upper.push(highs[k]);
        }
    }
    if x0.is_empty() {
        return Estimate {
            params: base,
            objective: None,
            iterations: 0,
        };
    }
    let unpack = |x: &[f64], base: &ThetaParams| {
        let mut p = *base;
        let mut j = 0;
        if free[0] {
            p.initial_smoothed = x[j];
            j += 1;
        }
        if free[1] {
            p.alpha = x[j];
            j += 1;
        }
        if free[2] {
            p.theta = x[j];
        }
        p
    };
    let objective = |x: &[f64]| {
        let p = unpack(x, &base);
        let mse = filter(y, kind, &p, false).mse.max(-1e10);
        // statsforecast's target_fn maps an undefined objective to −∞ (sic).
        if mse.is_nan() || (mse - NA).abs() < 1e-7 {
            f64::NEG_INFINITY
        } else {
            mse
        }
    };
    let opt = optim::minimize(objective, &x0, &lower, &upper);
    base = unpack(&opt.x, &base);
    Estimate {
        params: base,
        objective: Some(opt.value),
        iterations: opt.iterations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// statsforecast's `calc` computes each row's multi-step forecasts by copying all state
    /// rows and calling `update` on the copy; here they come from the last state. Both must
    /// agree with a direct recomputation of `forecast` from scratch at every row.
    #[test]
    fn linear_pass_equals_the_forecast_at_every_row() {
        let y: Vec<f64> = (0..30)
            .map(|t| 10.0 + 0.3 * t as f64 + (t as f64).sin())
            .collect();
        for kind in [ThetaKind::Standard, ThetaKind::DynamicOptimized] {
            let p = ThetaParams {
                initial_smoothed: 4.0,
                alpha: 0.4,
                theta: 2.5,
            };
            let full = filter(&y, kind, &p, true);
            let mut state = init_state(&y, kind, &p);
            for (i, &v) in y.iter().enumerate().skip(1) {
                let f = forecast(&state, i, kind, &p, 1);
                assert_eq!(full.residuals[i], v - f[0], "{kind:?} row {i}");
                state = step(&state, i, kind, &p, Some(v));
            }
            assert_eq!(state, full.last);
        }
    }

    #[test]
    fn theta_one_is_simple_exponential_smoothing() {
        // θ = 1 removes the trend line: mu_i = level_{i−1}, a flat forecast at the last level.
        let y = [3.0, 5.0, 4.0, 6.0, 5.5];
        let p = ThetaParams {
            initial_smoothed: 3.0,
            alpha: 0.5,
            theta: 1.0,
        };
        let f = filter(&y, ThetaKind::Optimized, &p, true);
        let mut level = 0.5 * 3.0 + 0.5 * 3.0;
        for (i, v) in y.iter().enumerate().skip(1) {
            assert!((f.residuals[i] - (v - level)).abs() < 1e-12);
            level = 0.5 * v + 0.5 * level;
        }
        let ahead = forecast(&f.last, y.len(), ThetaKind::Optimized, &p, 3);
        assert!(ahead.iter().all(|v| (v - level).abs() < 1e-12), "{ahead:?}");
    }
}
