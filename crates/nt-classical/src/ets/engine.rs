//! The ETS state-space recursions (Hyndman, Koehler, Ord & Snyder, *Forecasting with
//! Exponential Smoothing*, 2008): one-step filter with its likelihood, point forecasts, the
//! heuristic initial state and the classical seasonal decomposition it uses.
//!
//! Conventions follow statsforecast 2.1.1 (`ets.py`, `src/ets.cpp`) so that fitted parameters
//! can be compared: the state vector is `[l, b?, s_0, …, s_{m−1}]` with `s_0` the newest
//! seasonal index and `s_{m−1}` the one used for the next observation; `beta` is the
//! state-space smoothing parameter (the Holt slope update uses `beta / alpha`).

use serde::{Deserialize, Serialize};

/// Below this, a divisor is treated as zero (statsforecast's `TOL`).
const TOL: f64 = 1e-10;
/// Substitute for a division by (almost) zero (statsforecast's `HUGE_N`).
const HUGE: f64 = 1e10;

/// How a component enters the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Component {
    /// The component is absent (`N`).
    None,
    /// Additive (`A`).
    Additive,
    /// Multiplicative (`M`).
    Multiplicative,
}

impl Component {
    /// The letter used in model codes: `N`, `A` or `M`.
    pub fn letter(self) -> char {
        match self {
            Component::None => 'N',
            Component::Additive => 'A',
            Component::Multiplicative => 'M',
        }
    }

    pub(crate) fn is_some(self) -> bool {
        self != Component::None
    }
}

/// The structure of one ETS model: error, trend and seasonal components and trend damping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EtsModelType {
    /// Error component: additive or multiplicative (never `None`).
    pub error: Component,
    /// Trend component.
    pub trend: Component,
    /// Seasonal component.
    pub season: Component,
    /// Whether the trend is damped (only with a trend).
    pub damped: bool,
}

impl std::fmt::Display for EtsModelType {
    /// statsforecast's method string, e.g. `ETS(M,Ad,A)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ETS({},{}{},{})",
            self.error.letter(),
            self.trend.letter(),
            if self.damped { "d" } else { "" },
            self.season.letter()
        )
    }
}

/// Smoothing parameters of a fitted ETS model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EtsParams {
    /// Level smoothing, in (0, 1).
    pub alpha: f64,
    /// Slope smoothing (state-space form); 0 without a trend.
    pub beta: f64,
    /// Seasonal smoothing; 0 without a season.
    pub gamma: f64,
    /// Damping; 1 for an undamped trend.
    pub phi: f64,
}

/// The model structure plus the season length the recursions run with (1 without a season).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Spec {
    pub(crate) kind: EtsModelType,
    pub(crate) m: usize,
}

impl Spec {
    /// Index of the first seasonal state.
    pub(crate) fn season_start(&self) -> usize {
        1 + usize::from(self.kind.trend.is_some())
    }

    /// Length of the full state vector.
    #[cfg(test)]
    pub(crate) fn n_states(&self) -> usize {
        self.season_start()
            + if self.kind.season.is_some() {
                self.m
            } else {
                0
            }
    }
}

/// A running ETS state: level, slope and a ring buffer of seasonal indices.
#[derive(Debug, Clone)]
pub(crate) struct State {
    l: f64,
    b: f64,
    ring: Vec<f64>,
    /// Position in `ring` of `s_0`, the newest seasonal index; `s_j` is `ring[(head + j) % m]`.
    head: usize,
}

impl State {
    /// A state from a full state vector `[l, b?, s_0..s_{m−1}]`.
    pub(crate) fn from_vec(spec: &Spec, x: &[f64]) -> Self {
        let l = x[0];
        let b = if spec.kind.trend.is_some() { x[1] } else { 0.0 };
        let ring = if spec.kind.season.is_some() {
            x[spec.season_start()..spec.season_start() + spec.m].to_vec()
        } else {
            Vec::new()
        };
        Self {
            l,
            b,
            ring,
            head: 0,
        }
    }

    /// The full state vector `[l, b?, s_0..s_{m−1}]`.
    #[cfg(test)]
    pub(crate) fn to_vec(&self, spec: &Spec) -> Vec<f64> {
        let mut x = vec![self.l];
        if spec.kind.trend.is_some() {
            x.push(self.b);
        }
        for j in 0..self.ring.len() {
            x.push(self.s(j));
        }
        x
    }

    /// Seasonal index `s_j` (0 = newest).
    fn s(&self, j: usize) -> f64 {
        self.ring[(self.head + j) % self.ring.len()]
    }

    /// Position in `ring` of `s_{m−1}`, the seasonal index the next observation uses (no
    /// division: this runs once per observation in the optimizer's inner loop).
    fn last_slot(&self) -> usize {
        let m = self.ring.len();
        let i = self.head + m - 1;
        if i >= m {
            i - m
        } else {
            i
        }
    }

    /// The one-step-ahead forecast from this state.
    fn one_step(&self, spec: &Spec, phi: f64) -> f64 {
        let mut f = match spec.kind.trend {
            Component::None => self.l,
            Component::Additive => self.l + phi * self.b,
            Component::Multiplicative => {
                if self.b < 0.0 {
                    f64::NAN
                } else {
                    self.l * self.b.powf(phi)
                }
            }
        };
        match spec.kind.season {
            Component::None => {}
            Component::Additive => f += self.ring[self.last_slot()],
            Component::Multiplicative => f *= self.ring[self.last_slot()],
        }
        f
    }

    /// Updates the state with observation `y`.
    fn update(&mut self, spec: &Spec, p: &EtsParams, y: f64) {
        self.update_with(spec, p, p.beta / p.alpha, y);
    }

    /// [`update`](Self::update) with the Holt slope gain `beta / alpha` computed by the caller
    /// (once per series instead of once per observation).
    fn update_with(&mut self, spec: &Spec, p: &EtsParams, slope_gain: f64, y: f64) {
        let old_l = self.l;
        let old_b = self.b;
        let (q, phi_b) = match spec.kind.trend {
            Component::None => (old_l, 0.0),
            Component::Additive => {
                let phi_b = p.phi * old_b;
                (old_l + phi_b, phi_b)
            }
            Component::Multiplicative => {
                let phi_b = if (p.phi - 1.0).abs() < TOL {
                    old_b
                } else {
                    old_b.powf(p.phi)
                };
                (old_l * phi_b, phi_b)
            }
        };
        let old_s = if spec.kind.season.is_some() {
            self.ring[self.last_slot()]
        } else {
            0.0
        };
        let deseasonalized = match spec.kind.season {
            Component::None => y,
            Component::Additive => y - old_s,
            Component::Multiplicative => {
                if old_s.abs() < TOL {
                    HUGE
                } else {
                    y / old_s
                }
            }
        };
        self.l = q + p.alpha * (deseasonalized - q);
        if spec.kind.trend.is_some() {
            let r = match spec.kind.trend {
                Component::Multiplicative => {
                    if old_l.abs() < TOL {
                        HUGE
                    } else {
                        self.l / old_l
                    }
                }
                _ => self.l - old_l,
            };
            self.b = phi_b + slope_gain * (r - phi_b);
        }
        if spec.kind.season.is_some() {
            let t = match spec.kind.season {
                Component::Multiplicative => {
                    if q.abs() < TOL {
                        HUGE
                    } else {
                        y / q
                    }
                }
                _ => y - q,
            };
            // The oldest index s_{m−1} leaves; the new s_0 takes its slot.
            self.head = self.last_slot();
            self.ring[self.head] = old_s + p.gamma * (t - old_s);
        }
    }

    /// Updates the state with every observation of `y` in turn.
    pub(crate) fn advance(&mut self, spec: &Spec, p: &EtsParams, y: &[f64]) {
        let slope_gain = p.beta / p.alpha;
        for &obs in y {
            self.update_with(spec, p, slope_gain, obs);
        }
    }

    /// Point forecasts for `h` steps from this state.
    pub(crate) fn forecast(&self, spec: &Spec, phi: f64, h: usize) -> Vec<f64> {
        let mut out = Vec::with_capacity(h);
        let mut phistar = phi;
        for i in 0..h {
            let mut f = match spec.kind.trend {
                Component::None => self.l,
                Component::Additive => self.l + phistar * self.b,
                Component::Multiplicative => {
                    if self.b < 0.0 {
                        f64::NAN
                    } else {
                        self.l * self.b.powf(phistar)
                    }
                }
            };
            if spec.kind.season.is_some() {
                let s = self.s(spec.m - 1 - i % spec.m);
                if spec.kind.season == Component::Additive {
                    f += s;
                } else {
                    f *= s;
                }
            }
            out.push(f);
            // φ_h = φ + φ² + … + φ^h. statsforecast 2.1.1 (and R's forecast before 2026) add
            // φ^(i+1) here, so their damped forecasts use 2φ at h = 2; fixed upstream in
            // Nixtla/statsforecast#1219 and robjhyndman/forecast#1172.
            if (phi - 1.0).abs() < TOL {
                phistar += 1.0;
            } else {
                phistar += phi.powi(i as i32 + 2);
            }
        }
        out
    }

    /// Simulates one future path with the given innovations (statsforecast's `etssimulate`).
    pub(crate) fn simulate(
        &self,
        spec: &Spec,
        p: &EtsParams,
        innovations: &[f64],
        out: &mut [f64],
    ) {
        let mut state = self.clone();
        for (e, y) in innovations.iter().zip(out.iter_mut()) {
            let f = state.one_step(spec, p.phi);
            *y = if spec.kind.error == Component::Additive {
                f + e
            } else {
                f * (1.0 + e)
            };
            state.update(spec, p, *y);
        }
    }
}

/// Runs the recursions over `y` from the full initial state `x0` and returns the likelihood
/// criterion: −2·log-likelihood up to a constant (statsforecast's `lik`), `n·ln Σe²` plus
/// `2·Σ ln|ŷ|` for multiplicative errors. Writes the one-step errors (additive: `y − ŷ`;
/// multiplicative: `(y − ŷ)/ŷ`) to `errors` when given.
pub(crate) fn filter(
    spec: &Spec,
    p: &EtsParams,
    x0: &[f64],
    y: &[f64],
    mut errors: Option<&mut Vec<f64>>,
) -> f64 {
    let mut state = State::from_vec(spec, x0);
    if let Some(e) = errors.as_deref_mut() {
        e.clear();
    }
    let multiplicative = spec.kind.error == Component::Multiplicative;
    let slope_gain = p.beta / p.alpha;
    let mut sum_sq = 0.0;
    // Σ ln|ŷ| (multiplicative error only) as a running product, folded into `log_sum` before
    // it can overflow or underflow: one logarithm per ~100 observations instead of one each.
    let mut log_sum = 0.0;
    let mut product = 1.0;
    for &obs in y {
        let f = state.one_step(spec, p.phi);
        let e = if multiplicative {
            let denom = if f.abs() < TOL { f + TOL } else { f };
            (obs - f) / denom
        } else {
            obs - f
        };
        if let Some(errs) = errors.as_deref_mut() {
            errs.push(e);
        }
        sum_sq += e * e;
        if multiplicative {
            let af = f.abs();
            product *= if af > 0.0 { af } else { af + 1e-8 };
            if !(1e-150..=1e150).contains(&product) {
                log_sum += product.ln();
                product = 1.0;
            }
        }
        state.update_with(spec, p, slope_gain, obs);
    }
    let n = y.len() as f64;
    let mut lik = if sum_sq > 0.0 {
        n * sum_sq.ln()
    } else {
        n * (sum_sq + 1e-8).ln()
    };
    if multiplicative {
        lik += 2.0 * (log_sum + product.ln());
    }
    lik
}

/// Solves the least-squares problem `min ‖X c − y‖` for a tall `X` with `k ≤ 4` columns (given
/// column-wise) through the normal equations and Gaussian elimination with partial pivoting.
/// Returns `None` for a singular system.
fn least_squares(columns: &[Vec<f64>], y: &[f64]) -> Option<Vec<f64>> {
    let k = columns.len();
    let mut a = vec![vec![0.0; k + 1]; k];
    for i in 0..k {
        for j in 0..k {
            a[i][j] = columns[i].iter().zip(&columns[j]).map(|(u, v)| u * v).sum();
        }
        a[i][k] = columns[i].iter().zip(y).map(|(u, v)| u * v).sum();
    }
    for col in 0..k {
        let pivot = (col..k).max_by(|&r, &s| a[r][col].abs().total_cmp(&a[s][col].abs()))?;
        if a[pivot][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, pivot);
        let pivot_row = a[col].clone();
        for (row, values) in a.iter_mut().enumerate() {
            if row != col {
                let factor = values[col] / pivot_row[col];
                for (v, p) in values.iter_mut().zip(&pivot_row).skip(col) {
                    *v -= factor * p;
                }
            }
        }
    }
    Some((0..k).map(|i| a[i][k] / a[i][i]).collect())
}

/// The seasonal component of statsmodels' `seasonal_decompose(y, period=m)` (two-sided moving
/// average trend, per-position means of the detrended series, normalized to sum 0 or mean 1).
/// Needs `y.len() ≥ 2m` and, for `multiplicative`, positive values.
pub(crate) fn seasonal_decompose(y: &[f64], m: usize, multiplicative: bool) -> Vec<f64> {
    let n = y.len();
    // Centered moving average: a 2×m MA for even m, an m MA for odd m.
    let filt: Vec<f64> = if m % 2 == 0 {
        let mut f = vec![1.0 / m as f64; m + 1];
        f[0] = 0.5 / m as f64;
        f[m] = 0.5 / m as f64;
        f
    } else {
        vec![1.0 / m as f64; m]
    };
    let half = filt.len() / 2;
    let mut sums = vec![0.0; m];
    let mut counts = vec![0usize; m];
    for t in half..n.saturating_sub(half) {
        let trend: f64 = filt
            .iter()
            .enumerate()
            .map(|(k, w)| w * y[t - half + k])
            .sum();
        let detrended = if multiplicative {
            y[t] / trend
        } else {
            y[t] - trend
        };
        if detrended.is_finite() {
            sums[t % m] += detrended;
            counts[t % m] += 1;
        }
    }
    let mut averages: Vec<f64> = sums
        .iter()
        .zip(&counts)
        .map(|(s, c)| if *c > 0 { s / *c as f64 } else { f64::NAN })
        .collect();
    let mean = averages.iter().sum::<f64>() / m as f64;
    for a in &mut averages {
        if multiplicative {
            *a /= mean;
        } else {
            *a -= mean;
        }
    }
    (0..n).map(|t| averages[t % m]).collect()
}

/// statsforecast's `initstate`: a heuristic initial state `[l, b?, s_0..s_{m−2}]` (the last
/// seasonal index is implied by normalization and added by the caller). `None` when `y` is too
/// short (seasonal models need 4 rows; trend models 2) or a least-squares fit is singular.
pub(crate) fn initial_state(y: &[f64], spec: &Spec) -> Option<Vec<f64>> {
    let n = y.len();
    let m = spec.m;
    let (init_seas, y_sa): (Vec<f64>, Vec<f64>) = if spec.kind.season.is_some() {
        if n < 4 {
            return None;
        }
        let multiplicative = spec.kind.season == Component::Multiplicative;
        let seasonal: Vec<f64> = if n < 3 * m {
            // Too short for a decomposition: a linear trend plus one Fourier pair.
            let t: Vec<f64> = (1..=n).map(|i| i as f64).collect();
            let omega = std::f64::consts::TAU / m as f64;
            let mut columns = vec![vec![1.0; n], t.clone()];
            columns.push(t.iter().map(|ti| (omega * ti).cos()).collect());
            if m > 2 {
                columns.push(t.iter().map(|ti| (omega * ti).sin()).collect());
            }
            let c = least_squares(&columns, y)?;
            y.iter()
                .zip(&t)
                .map(|(v, ti)| {
                    let trend = c[0] + c[1] * ti;
                    if multiplicative {
                        v / trend
                    } else {
                        v - trend
                    }
                })
                .collect()
        } else {
            seasonal_decompose(y, m, multiplicative)
        };
        let mut init: Vec<f64> = seasonal[1..m].iter().rev().copied().collect();
        let y_sa = if multiplicative {
            for s in &mut init {
                *s = s.max(1e-2);
            }
            let sum: f64 = init.iter().sum();
            if sum > m as f64 {
                let denom: f64 = init.iter().map(|s| s + 1e-2).sum();
                for s in &mut init {
                    *s /= denom;
                }
            }
            y.iter()
                .zip(&seasonal)
                .map(|(v, s)| v / s.max(1e-2))
                .collect()
        } else {
            y.iter().zip(&seasonal).map(|(v, s)| v - s).collect()
        };
        (init, y_sa)
    } else {
        (Vec::new(), y.to_vec())
    };
    let maxn = (2 * m).max(10).min(n);
    let mut x = Vec::with_capacity(2 + init_seas.len());
    match spec.kind.trend {
        Component::None => {
            if maxn == 0 {
                return None;
            }
            x.push(y_sa[..maxn].iter().sum::<f64>() / maxn as f64);
        }
        trend => {
            if maxn < 2 {
                return None;
            }
            let t: Vec<f64> = (1..=maxn).map(|i| i as f64).collect();
            let c = least_squares(&[vec![1.0; maxn], t], &y_sa[..maxn])?;
            let (l, b) = (c[0], c[1]);
            if trend == Component::Additive {
                let (mut l0, mut b0) = (l, b);
                if (l0 + b0).abs() < 1e-8 {
                    l0 *= 1.0 + 1e-3;
                    b0 *= 1.0 - 1e-3;
                }
                x.extend([l0, b0]);
            } else {
                let mut l0 = l + b;
                if l0.abs() < 1e-8 {
                    l0 = 1e-7;
                }
                let mut b0 = (l + 2.0 * b) / l0;
                let div = if b0.abs() <= 1e-8 { 1e-8 } else { b0 };
                l0 /= div;
                if b0.abs() > 1e10 {
                    b0 = b0.signum() * 1e10;
                }
                if l0 < 1e-8 || b0 < 1e-8 {
                    l0 = y_sa[0].max(1e-3);
                    let div = if y_sa[0].abs() <= 1e-8 { 1e-8 } else { y_sa[0] };
                    b0 = (y_sa[1] / div).max(1e-3);
                }
                x.extend([l0, b0]);
            }
        }
    }
    x.extend(init_seas);
    Some(x)
}

/// Completes a state vector whose last seasonal index is implied: the seasonal indices sum to
/// 0 (additive) or to m (multiplicative).
pub(crate) fn complete_state(spec: &Spec, partial: &[f64]) -> Vec<f64> {
    let mut x = partial.to_vec();
    if spec.kind.season.is_some() {
        let start = spec.season_start();
        let sum: f64 = partial[start..].iter().sum();
        let total = if spec.kind.season == Component::Multiplicative {
            spec.m as f64
        } else {
            0.0
        };
        x.push(total - sum);
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(error: Component, trend: Component, season: Component, damped: bool, m: usize) -> Spec {
        Spec {
            kind: EtsModelType {
                error,
                trend,
                season,
                damped,
            },
            m,
        }
    }

    #[test]
    fn simple_exponential_smoothing_by_hand() {
        // ANN, alpha 0.5, l0 = 0: forecasts 0, 1, 1.5; errors 2, 1, 1.5 (y = 2, 2, 3).
        let s = spec(
            Component::Additive,
            Component::None,
            Component::None,
            false,
            1,
        );
        let p = EtsParams {
            alpha: 0.5,
            beta: 0.0,
            gamma: 0.0,
            phi: 1.0,
        };
        let mut errors = Vec::new();
        let lik = filter(&s, &p, &[0.0], &[2.0, 2.0, 3.0], Some(&mut errors));
        assert_eq!(errors, vec![2.0, 1.0, 1.5]);
        // lik = n·ln(Σe²) = 3·ln(4 + 1 + 2.25).
        assert!((lik - 3.0 * 7.25f64.ln()).abs() < 1e-12);
        // Final level 1.5 + 0.5·1.5 = 2.25, forecast flat.
        let mut state = State::from_vec(&s, &[0.0]);
        state.advance(&s, &p, &[2.0, 2.0, 3.0]);
        assert_eq!(state.forecast(&s, 1.0, 2), vec![2.25, 2.25]);
    }

    #[test]
    fn additive_season_rotates() {
        // ANA with alpha = gamma ≈ 0 keeps the pattern: seasonal states [s0, s1, s2] = [3, 2, 1]
        // mean the next observations see 1, 2, 3, 1, ... (s_{m−1} first).
        let s = spec(
            Component::Additive,
            Component::None,
            Component::Additive,
            false,
            3,
        );
        let p = EtsParams {
            alpha: 1e-12,
            beta: 0.0,
            gamma: 0.0,
            phi: 1.0,
        };
        let x0 = [10.0, 3.0, 2.0, 1.0];
        let st = State::from_vec(&s, &x0);
        assert_eq!(st.forecast(&s, 1.0, 4), vec![11.0, 12.0, 13.0, 11.0]);
        let lik = filter(&s, &p, &x0, &[11.0, 12.0], None);
        assert!(lik < -30.0, "a perfect fit has lik = 2·ln(1e-8): {lik}");
        let mut state = State::from_vec(&s, &x0);
        state.advance(&s, &p, &[11.0, 12.0]);
        let f = state.forecast(&s, 1.0, 2);
        assert!(
            (f[0] - 13.0).abs() < 1e-9 && (f[1] - 11.0).abs() < 1e-9,
            "{f:?}"
        );
        assert_eq!(state.to_vec(&s), vec![10.0, 2.0, 1.0, 3.0]);
    }

    #[test]
    fn damped_trend_forecast_sums_powers() {
        // AAdN from l = 10, b = 1, phi = 0.5: 10 + 0.5, 10 + 0.75, 10 + 0.875.
        let s = spec(
            Component::Additive,
            Component::Additive,
            Component::None,
            true,
            1,
        );
        let st = State::from_vec(&s, &[10.0, 1.0]);
        assert_eq!(st.forecast(&s, 0.5, 3), vec![10.5, 10.75, 10.875]);
    }

    #[test]
    fn decomposition_recovers_a_pure_pattern() {
        // A repeating additive pattern plus a linear trend: the 2×4 MA removes the trend exactly,
        // so the seasonal component is the centered pattern.
        let pattern = [1.0, -2.0, 0.5, 0.5];
        let y: Vec<f64> = (0..40).map(|t| 0.3 * t as f64 + pattern[t % 4]).collect();
        let s = seasonal_decompose(&y, 4, false);
        for (t, v) in s.iter().enumerate() {
            assert!((v - pattern[t % 4]).abs() < 1e-12, "t={t}: {v}");
        }
    }

    #[test]
    fn initial_state_lengths() {
        let y: Vec<f64> = (0..50).map(|t| 10.0 + (t % 5) as f64).collect();
        let aaa = spec(
            Component::Additive,
            Component::Additive,
            Component::Additive,
            false,
            5,
        );
        let x = initial_state(&y, &aaa).unwrap();
        assert_eq!(x.len(), 2 + 4);
        assert_eq!(complete_state(&aaa, &x).len(), aaa.n_states());
        let ann = spec(
            Component::Additive,
            Component::None,
            Component::None,
            false,
            1,
        );
        assert_eq!(initial_state(&y, &ann).unwrap(), vec![12.0]);
        assert!(initial_state(&y[..3], &aaa).is_none());
    }
}
