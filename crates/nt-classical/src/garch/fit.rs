//! Maximum-likelihood fit of a GARCH model to a return series, as arch 8.0.0's
//! `ARCHModel.fit`: the mean's starting value (the sample mean, or none), residuals, backcast
//! and variance bounds computed once from those starting residuals, arch's grid of volatility
//! starting values (the best Gaussian likelihood among α ∈ {.01, .05, .1, .2},
//! γ ∈ {.01, .05, .1, .2}, α+γ/2+β ∈ {.5, .7, .9, .98}), ν's start from the kurtosis, the same
//! bounds and linear constraints, then [`optim::minimize`] of the negative log-likelihood.

use super::likelihood::{normal_loglik, nu_start, student_t_loglik};
use super::optim::{self, Linear, Problem};
use super::recursion::{backcast, conditional_variance, variance_bounds, Orders, VolParams};

/// The innovation law.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Law {
    Normal,
    StudentT,
}

/// What is estimated: the orders, the law, and whether a constant mean is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Model {
    pub(crate) orders: Orders,
    pub(crate) law: Law,
    pub(crate) constant_mean: bool,
}

/// A fitted model: the estimates, the backcast, the maximized log-likelihood, the in-sample
/// conditional variances.
#[derive(Debug, Clone)]
pub(crate) struct Estimate {
    pub(crate) mu: f64,
    pub(crate) vol: Vec<f64>,
    pub(crate) nu: Option<f64>,
    pub(crate) loglik: f64,
    pub(crate) backcast: f64,
    pub(crate) sigma2: Vec<f64>,
    pub(crate) iterations: usize,
}

impl Model {
    fn n_mean(&self) -> usize {
        usize::from(self.constant_mean)
    }

    /// Full parameter vector layout: `[μ?] [ω α γ β] [ν?]`.
    fn split<'a>(&self, x: &'a [f64]) -> (f64, &'a [f64], Option<f64>) {
        let k = self.n_mean();
        let kv = self.orders.n_params();
        let mu = if self.constant_mean { x[0] } else { 0.0 };
        let nu = (self.law == Law::StudentT).then(|| x[k + kv]);
        (mu, &x[k..k + kv], nu)
    }

    /// The log-likelihood of `y` at `x` with a given backcast and bounds; fills `sigma2` and
    /// `resids`.
    fn loglik(
        &self,
        x: &[f64],
        y: &[f64],
        backcast: f64,
        bounds: &[(f64, f64)],
        resids: &mut Vec<f64>,
        sigma2: &mut Vec<f64>,
    ) -> f64 {
        let (mu, vol, nu) = self.split(x);
        resids.clear();
        resids.extend(y.iter().map(|v| v - mu));
        let params = VolParams::split(self.orders, vol);
        conditional_variance(&params, resids, backcast, bounds, sigma2);
        match nu {
            None => normal_loglik(resids, sigma2),
            Some(nu) => student_t_loglik(resids, sigma2, nu),
        }
    }

    /// arch's grid of starting values for the volatility parameters.
    fn vol_start(&self, resids: &[f64], backcast: f64, bounds: &[(f64, f64)]) -> Vec<f64> {
        let Orders { p, o, q } = self.orders;
        let target = resids.iter().map(|r| r * r).sum::<f64>() / resids.len() as f64;
        let grid = [0.01, 0.05, 0.1, 0.2];
        let persistence = [0.5, 0.7, 0.9, 0.98];
        let mut best: Option<(f64, Vec<f64>)> = None;
        let mut sigma2 = Vec::with_capacity(resids.len());
        for &alpha in &grid {
            for &gamma in &grid {
                for &agb in &persistence {
                    let mut sv = vec![(1.0 - agb) * target; 1 + p + o + q];
                    let mut rest = agb;
                    if p > 0 {
                        sv[1..1 + p].iter_mut().for_each(|v| *v = alpha / p as f64);
                        rest -= alpha;
                    }
                    if o > 0 {
                        sv[1 + p..1 + p + o]
                            .iter_mut()
                            .for_each(|v| *v = gamma / o as f64);
                        rest -= gamma / 2.0;
                    }
                    if q > 0 {
                        sv[1 + p + o..]
                            .iter_mut()
                            .for_each(|v| *v = rest / q as f64);
                    }
                    let params = VolParams::split(self.orders, &sv);
                    conditional_variance(&params, resids, backcast, bounds, &mut sigma2);
                    let ll = normal_loglik(resids, &sigma2);
                    // Strictly greater: the first maximum wins, as numpy's argmax.
                    if best.as_ref().is_none_or(|(b, _)| ll > *b) {
                        best = Some((ll, sv));
                    }
                }
            }
        }
        best.map(|(_, sv)| sv).unwrap_or_default()
    }

    /// Bounds, linear constraints and typical magnitudes of the full parameter vector.
    fn problem(&self, resids: &[f64], mean_scale: f64, max_iter: usize) -> Problem {
        let Orders { p, o, q } = self.orders;
        let v = resids.iter().map(|r| r * r).sum::<f64>() / resids.len() as f64;
        let (mut lower, mut upper, mut typical) = (Vec::new(), Vec::new(), Vec::new());
        if self.constant_mean {
            lower.push(f64::NEG_INFINITY);
            upper.push(f64::INFINITY);
            typical.push(mean_scale);
        }
        lower.push(1e-8 * v);
        upper.push(10.0 * v);
        typical.push(1e-2 * v);
        for _ in 0..p {
            lower.push(0.0);
            upper.push(1.0);
            typical.push(1e-2);
        }
        for i in 0..o {
            lower.push(if i < p { -1.0 } else { 0.0 });
            upper.push(2.0);
            typical.push(1e-2);
        }
        for _ in 0..q {
            lower.push(0.0);
            upper.push(1.0);
            typical.push(1e-2);
        }
        if self.law == Law::StudentT {
            lower.push(2.05);
            upper.push(500.0);
            typical.push(1.0);
        }
        let n = lower.len();
        let k = self.n_mean();
        let mut linear = Vec::new();
        // α_i + γ_i ≥ 0 for the asymmetric terms that have a symmetric partner.
        for i in 0..o.min(p) {
            let mut coef = vec![0.0; n];
            coef[k + 1 + i] = 1.0;
            coef[k + 1 + p + i] = 1.0;
            linear.push(Linear { coef, rhs: 0.0 });
        }
        // 1 − Σα − ½Σγ − Σβ ≥ 0.
        let mut coef = vec![0.0; n];
        for (j, c) in coef[k + 1..k + 1 + p + o + q].iter_mut().enumerate() {
            *c = if j >= p && j < p + o { -0.5 } else { -1.0 };
        }
        linear.push(Linear { coef, rhs: -1.0 });
        Problem {
            lower,
            upper,
            linear,
            typical,
            max_iter,
        }
    }

    /// Fits the model to `y` (at least 2 rows, finite).
    pub(crate) fn fit(&self, y: &[f64], max_iter: usize) -> Estimate {
        let n = y.len() as f64;
        let mean = y.iter().sum::<f64>() / n;
        let mu0 = if self.constant_mean { mean } else { 0.0 };
        let resids0: Vec<f64> = y.iter().map(|v| v - mu0).collect();
        let bc = backcast(&resids0);
        let bounds = variance_bounds(&resids0);
        let vol0 = self.vol_start(&resids0, bc, &bounds);
        let mut x0 = Vec::new();
        if self.constant_mean {
            x0.push(mu0);
        }
        x0.extend_from_slice(&vol0);
        if self.law == Law::StudentT {
            let mut sigma2 = Vec::new();
            conditional_variance(
                &VolParams::split(self.orders, &vol0),
                &resids0,
                bc,
                &bounds,
                &mut sigma2,
            );
            let z: Vec<f64> = resids0
                .iter()
                .zip(&sigma2)
                .map(|(e, s)| e / s.sqrt())
                .collect();
            x0.push(nu_start(&z));
        }
        let sd = (resids0.iter().map(|r| r * r).sum::<f64>() / n).sqrt();
        let problem = self.problem(&resids0, 1e-2 * sd.max(f64::MIN_POSITIVE), max_iter);
        let (mut resids, mut sigma2) = (Vec::new(), Vec::new());
        let min = optim::minimize(
            |x| {
                let ll = self.loglik(x, y, bc, &bounds, &mut resids, &mut sigma2);
                if ll.is_finite() {
                    -ll
                } else {
                    f64::INFINITY
                }
            },
            &x0,
            &problem,
        );
        let loglik = self.loglik(&min.x, y, bc, &bounds, &mut resids, &mut sigma2);
        let (mu, vol, nu) = self.split(&min.x);
        Estimate {
            mu,
            vol: vol.to_vec(),
            nu,
            loglik,
            backcast: bc,
            sigma2,
            iterations: min.iterations,
        }
    }
}
