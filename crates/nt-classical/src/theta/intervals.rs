//! Prediction intervals of the Theta models as statsforecast 2.1.1 computes them
//! (`compute_pi_samples` and the quantiles in `forecast_theta`): `simulations` paths (200)
//! drawn with `np.random.default_rng(seed)` (seed 0), Gaussian errors of standard deviation
//! `sigma`, pushed through the *dynamic* update of the level, running mean and trend line for
//! every model (the standard models included: that is what statsforecast does), then the
//! empirical quantiles `(1 − level)/2` and `(1 + level)/2` of each step (numpy's linear
//! interpolation).
//!
//! The paths are stored in single precision, as statsforecast's `float32` sample array does,
//! and the quantiles are interpolated in single precision as numpy does for such an array;
//! with [`NumpyRng`] drawing NumPy's exact normals, the bands equal statsforecast's to float32
//! precision.

use super::model::{State, ThetaParams};
use super::numpy_rng::NumpyRng;

/// Where the simulated paths start: the state after the last row, the number of rows, the
/// running mean statsforecast passes (`mean_y`, the mean of the deseasonalized series) and the
/// error standard deviation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin<'a> {
    pub(crate) last: &'a State,
    pub(crate) n: usize,
    pub(crate) mean_y: f64,
    pub(crate) sigma: f64,
}

/// Per step, the simulated values (sorted ascending, f32-rounded) of the deseasonalized series.
pub(crate) fn simulate(
    origin: Origin<'_>,
    h: usize,
    p: &ThetaParams,
    simulations: usize,
    seed: u64,
) -> Vec<Vec<f64>> {
    let Origin {
        last,
        n,
        mean_y,
        sigma,
    } = origin;
    let mut rng = NumpyRng::new(seed);
    let ns = simulations;
    let mut smoothed = vec![last.level; ns];
    let mut mean = vec![mean_y; ns];
    let mut a = vec![last.a; ns];
    let mut b = vec![last.b; ns];
    let q = 1.0 - p.alpha;
    let weight = 1.0 - 1.0 / p.theta;
    let mut out = Vec::with_capacity(h);
    for i in n..n + h {
        let fi = i as f64;
        let (qi, qi1) = (q.powf(fi), q.powf(fi + 1.0));
        let mut row = Vec::with_capacity(ns);
        for k in 0..ns {
            let centre = smoothed[k] + weight * (a[k] * qi + b[k] * (1.0 - qi1) / p.alpha);
            let centre = f64::from(centre as f32);
            let error = 0.0 + sigma * rng.standard_normal();
            let value = f64::from((centre + error) as f32);
            row.push(value);
        }
        for k in 0..ns {
            let v = row[k];
            smoothed[k] = p.alpha * v + q * smoothed[k];
            mean[k] = (fi * mean[k] + v) / (fi + 1.0);
            b[k] = ((fi - 1.0) * b[k] + 6.0 * (v - mean[k]) / (fi + 1.0)) / (fi + 2.0);
            a[k] = mean[k] - b[k] * (fi + 2.0) / 2.0;
        }
        row.sort_by(f64::total_cmp);
        out.push(row);
    }
    out
}

/// numpy's `quantile(sorted, q)` (linear method) on a float32 array with a Python-float `q`:
/// the interpolation weight is rounded to f32 and the arithmetic is single precision.
pub(crate) fn quantile_f32(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let virtual_index = (n - 1) as f64 * q;
    let prev = (virtual_index.floor().max(0.0) as usize).min(n - 1);
    let next = (prev + 1).min(n - 1);
    let gamma = virtual_index - prev as f64;
    let (a, b) = (sorted[prev] as f32, sorted[next] as f32);
    let diff = b - a;
    let v = if gamma >= 0.5 {
        b - diff * ((1.0 - gamma) as f32)
    } else {
        a + diff * (gamma as f32)
    };
    f64::from(v)
}

/// statsforecast's quantile pair for a coverage `level` in (0, 1): it receives levels in
/// percent (80, 95) and computes `lo = (100 − lv)/200`, `hi = lo + lv/100` in floating point.
pub(crate) fn quantile_pair(level: f64) -> (f64, f64) {
    let mut lv = level * 100.0;
    if (lv - lv.round()).abs() < 1e-9 {
        lv = lv.round();
    }
    let lo = (100.0 - lv) / 200.0;
    (lo, lo + lv / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_follow_numpy() {
        // np.quantile(np.float32([1, 2, 3, 4]), 0.1) == 1.3 (in float32), 0.9 -> 3.7.
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_f32(&v, 0.1), f64::from(1.3f32));
        assert_eq!(quantile_f32(&v, 0.9), f64::from(3.7f32));
        let (lo, hi) = quantile_pair(0.8);
        assert_eq!((lo, hi), (0.1, 0.1 + 0.8));
    }

    #[test]
    fn spread_grows_with_sigma_and_is_deterministic() {
        let last = State {
            level: 10.0,
            mean_y: 10.0,
            a: 10.0,
            b: 0.0,
            mu: 10.0,
        };
        let p = ThetaParams {
            initial_smoothed: 5.0,
            alpha: 0.5,
            theta: 2.0,
        };
        let origin = |sigma| Origin {
            last: &last,
            n: 50,
            mean_y: 10.0,
            sigma,
        };
        let narrow = simulate(origin(0.1), 3, &p, 200, 0);
        let wide = simulate(origin(1.0), 3, &p, 200, 0);
        let width = |s: &[Vec<f64>]| quantile_f32(&s[2], 0.9) - quantile_f32(&s[2], 0.1);
        assert!(width(&wide) > 5.0 * width(&narrow));
        assert_eq!(narrow, simulate(origin(0.1), 3, &p, 200, 0));
    }
}
