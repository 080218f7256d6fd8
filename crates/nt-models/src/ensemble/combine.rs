//! Combination weights from validation forecasts, and the combination of member forecasts.
//!
//! The convex weights solve least squares on the probability simplex,
//! `min ‖A w − y‖²  s.t.  w ≥ 0, Σ w = 1`, with `A` the member forecasts (one column per
//! member, one row per validation origin and step) and `y` the actuals. No crate in the
//! workspace solves a constrained quadratic program (linfa's elastic net is unconstrained
//! apart from its penalty; there is no QP solver such as OSQP or Clarabel among the
//! dependencies, and none is to be added for a problem with a handful of unknowns), so
//! [`simplex_least_squares`] is a small accelerated projected-gradient method (FISTA with
//! adaptive restart, Euclidean projection onto the simplex after Duchi et al., 2008) whose
//! stopping test is the Frank–Wolfe duality gap, an upper bound on the distance to the optimal
//! objective. It works on the normal equations `G = AᵀA / N`, `b = Aᵀy / N`, so highly
//! correlated members (a singular `G`, common among forecasts) are no trouble.

use nt_core::Forecast;

use crate::{Error, Result};

use super::Combiner;

/// Most iterations of [`simplex_least_squares`].
const MAX_ITERATIONS: usize = 200_000;
/// Duality gap, relative to the largest diagonal entry of `G`, at which the solver stops.
const GAP_TOLERANCE: f64 = 1e-9;

/// The result of [`simplex_least_squares`].
#[derive(Debug, Clone, PartialEq)]
pub struct SimplexFit {
    /// The weights: non-negative, summing to one.
    pub weights: Vec<f64>,
    /// Iterations run.
    pub iterations: usize,
    /// Frank–Wolfe gap of the weights: `gᵀw − minᵢ gᵢ` with `g` the gradient, an upper bound
    /// on how far the objective `½wᵀGw − bᵀw` is above its minimum on the simplex.
    pub gap: f64,
    /// Whether the gap fell under the tolerance (else [`MAX_ITERATIONS`] ran out; the weights
    /// are still feasible and the best found).
    pub converged: bool,
}

/// The Euclidean projection of `v` onto the probability simplex `{w ≥ 0, Σ w = 1}` (Duchi,
/// Shalev-Shwartz, Singer and Chandra, 2008: sort, find the threshold, clip).
pub fn project_to_simplex(v: &[f64]) -> Vec<f64> {
    let mut sorted = v.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let mut cumulative = 0.0;
    let mut theta = 0.0;
    for (i, &u) in sorted.iter().enumerate() {
        cumulative += u;
        let t = (cumulative - 1.0) / (i + 1) as f64;
        if u - t > 0.0 {
            theta = t;
        }
    }
    v.iter().map(|&x| (x - theta).max(0.0)).collect()
}

/// Minimizes `‖A w − y‖²` over the simplex, with `a[r]` the members' forecasts of row `r` and
/// `y[r]` its actual. Errors on no rows, rows of different lengths or non-finite values.
pub fn simplex_least_squares(a: &[Vec<f64>], y: &[f64]) -> Result<SimplexFit> {
    let m = a.first().map(Vec::len).unwrap_or(0);
    if a.is_empty() || m == 0 || a.len() != y.len() || a.iter().any(|r| r.len() != m) {
        return Err(Error::invalid(
            "convex weights",
            format!(
                "need rows of equal length with one actual each ({} rows, {} actuals)",
                a.len(),
                y.len()
            ),
        ));
    }
    if a.iter().flatten().chain(y).any(|v| !v.is_finite()) {
        return Err(Error::invalid(
            "convex weights",
            "a validation forecast or actual is not finite",
        ));
    }
    let n = a.len() as f64;
    let mut g = vec![vec![0.0; m]; m];
    let mut b = vec![0.0; m];
    for (row, &target) in a.iter().zip(y) {
        for i in 0..m {
            b[i] += row[i] * target / n;
            for j in 0..m {
                g[i][j] += row[i] * row[j] / n;
            }
        }
    }
    Ok(simplex_quadratic(&g, &b))
}

/// Minimizes `½wᵀGw − bᵀw` over the simplex (`G` symmetric positive semi-definite).
pub(crate) fn simplex_quadratic(g: &[Vec<f64>], b: &[f64]) -> SimplexFit {
    let m = b.len();
    let gradient = |w: &[f64]| -> Vec<f64> {
        (0..m)
            .map(|i| (0..m).map(|j| g[i][j] * w[j]).sum::<f64>() - b[i])
            .collect()
    };
    let objective = |w: &[f64]| -> f64 {
        let gw = gradient(w);
        (0..m)
            .map(|i| 0.5 * w[i] * (gw[i] + b[i]) - b[i] * w[i])
            .sum()
    };
    let gap_of = |w: &[f64], grad: &[f64]| -> f64 {
        let dot: f64 = w.iter().zip(grad).map(|(a, b)| a * b).sum();
        dot - grad.iter().copied().fold(f64::INFINITY, f64::min)
    };
    // Gershgorin: the largest row sum of |G| bounds its largest eigenvalue (the gradient's
    // Lipschitz constant).
    let lipschitz = g
        .iter()
        .map(|r| r.iter().map(|v| v.abs()).sum::<f64>())
        .fold(0.0, f64::max);
    let scale = (0..m).map(|i| g[i][i]).fold(0.0, f64::max);
    let tolerance = GAP_TOLERANCE * scale.max(f64::MIN_POSITIVE);
    let mut w = vec![1.0 / m as f64; m];
    if lipschitz <= 0.0 {
        // All forecasts zero: every weight is as good; keep the equal ones.
        return SimplexFit {
            weights: w,
            iterations: 0,
            gap: 0.0,
            converged: true,
        };
    }
    let step = 1.0 / lipschitz;
    let mut z = w.clone();
    let mut t = 1.0_f64;
    let mut f_w = objective(&w);
    let mut gap = gap_of(&w, &gradient(&w));
    let mut iterations = 0;
    while iterations < MAX_ITERATIONS && gap > tolerance {
        iterations += 1;
        let grad_z = gradient(&z);
        let candidate: Vec<f64> = z.iter().zip(&grad_z).map(|(z, g)| z - step * g).collect();
        let next = project_to_simplex(&candidate);
        let f_next = objective(&next);
        if f_next > f_w {
            // Adaptive restart (O'Donoghue and Candès, 2015): momentum carried the iterate
            // uphill; restart from the current point with a plain projected-gradient step.
            z = w.clone();
            t = 1.0;
            let grad_w = gradient(&w);
            let candidate: Vec<f64> = w.iter().zip(&grad_w).map(|(w, g)| w - step * g).collect();
            let plain = project_to_simplex(&candidate);
            let f_plain = objective(&plain);
            if f_plain <= f_w {
                w = plain;
                f_w = f_plain;
            }
            gap = gap_of(&w, &gradient(&w));
            continue;
        }
        let t_next = (1.0 + (1.0 + 4.0 * t * t).sqrt()) / 2.0;
        let momentum = (t - 1.0) / t_next;
        z = next
            .iter()
            .zip(&w)
            .map(|(n, o)| n + momentum * (n - o))
            .collect();
        t = t_next;
        w = next;
        f_w = f_next;
        gap = gap_of(&w, &gradient(&w));
    }
    // Active-set polish: on the support the iterate found, the exact minimizer under
    // `Σ w = 1` solves the KKT system; it is kept when it stays positive and closes the gap
    // further (it does not for a singular `G` on the support: duplicate members).
    if let Some(exact) = polish(g, b, &w) {
        let exact_gap = gap_of(&exact, &gradient(&exact));
        if exact_gap < gap && objective(&exact) <= f_w + tolerance {
            w = exact;
            gap = exact_gap;
        }
    }
    SimplexFit {
        weights: w,
        iterations,
        gap,
        converged: gap <= tolerance,
    }
}

/// The minimizer of `½wᵀGw − bᵀw` with `Σ w = 1` on the support of `w` (entries above 1e-9
/// of the largest), zero elsewhere: the solution of `[G_SS 1; 1ᵀ 0] [w; −λ] = [b_S; 1]` by
/// Gaussian elimination with partial pivoting; `None` when the system is singular or the
/// solution leaves the simplex.
fn polish(g: &[Vec<f64>], b: &[f64], w: &[f64]) -> Option<Vec<f64>> {
    let top = w.iter().copied().fold(0.0, f64::max);
    let support: Vec<usize> = (0..w.len()).filter(|&i| w[i] > 1e-9 * top).collect();
    let k = support.len();
    let mut a = vec![vec![0.0; k + 2]; k + 1];
    for (r, &i) in support.iter().enumerate() {
        for (c, &j) in support.iter().enumerate() {
            a[r][c] = g[i][j];
        }
        a[r][k] = 1.0;
        a[r][k + 1] = b[i];
    }
    a[k][..k].fill(1.0);
    a[k][k + 1] = 1.0;
    let scale = a.iter().flatten().fold(0.0_f64, |m, v| m.max(v.abs()));
    for col in 0..=k {
        let pivot = (col..=k).max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))?;
        if a[pivot][col].abs() <= 1e-12 * scale {
            return None;
        }
        a.swap(col, pivot);
        let pivot_row = a[col].clone();
        for (r, row) in a.iter_mut().enumerate() {
            let f = row[col] / pivot_row[col];
            if r != col && f != 0.0 {
                for (x, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                    *x -= f * p;
                }
            }
        }
    }
    let mut out = vec![0.0; w.len()];
    for (r, &i) in support.iter().enumerate() {
        let v = a[r][k + 1] / a[r][r];
        if !(v.is_finite() && v >= 0.0) {
            return None;
        }
        out[i] = v;
    }
    let total: f64 = out.iter().sum();
    Some(out.iter().map(|v| v / total).collect())
}

/// What the weights are learned from: `forecasts[member][origin][step]` and
/// `actuals[origin][step]`, every origin with the whole horizon.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ValidationForecasts {
    pub(crate) forecasts: Vec<Vec<Vec<f64>>>,
    pub(crate) actuals: Vec<Vec<f64>>,
}

impl ValidationForecasts {
    /// Mean absolute error of `member`'s forecasts at `step` (or over every step with `None`).
    pub(crate) fn mae(&self, member: usize, step: Option<usize>) -> f64 {
        let mut sum = 0.0;
        let mut count = 0usize;
        for (f, y) in self.forecasts[member].iter().zip(&self.actuals) {
            for (h, (p, a)) in f.iter().zip(y).enumerate() {
                if step.is_none_or(|s| s == h) {
                    sum += (p - a).abs();
                    count += 1;
                }
            }
        }
        sum / count.max(1) as f64
    }
}

/// The weights `[step][member]` of `combiner` over `horizon` steps (empty for the median,
/// which has none), from `validation`; `per_step` learns one set per step, else one pooled set
/// repeated.
pub(crate) fn learn_weights(
    combiner: Combiner,
    per_step: bool,
    horizon: usize,
    validation: &ValidationForecasts,
) -> Result<Vec<Vec<f64>>> {
    let members = validation.forecasts.len();
    let steps: Vec<Option<usize>> = if per_step {
        (0..horizon).map(Some).collect()
    } else {
        vec![None]
    };
    let sets: Vec<Vec<f64>> = match combiner {
        Combiner::Median => return Ok(Vec::new()),
        Combiner::Mean => vec![vec![1.0 / members as f64; members]],
        Combiner::InverseError => steps
            .iter()
            .map(|&s| inverse_error((0..members).map(|m| validation.mae(m, s)).collect()))
            .collect::<Result<_>>()?,
        Combiner::Convex => steps
            .iter()
            .map(|&s| {
                let mut rows = Vec::new();
                let mut y = Vec::new();
                for (o, actual) in validation.actuals.iter().enumerate() {
                    for (h, &a) in actual.iter().enumerate() {
                        if s.is_none_or(|s| s == h) {
                            rows.push(validation.forecasts.iter().map(|f| f[o][h]).collect());
                            y.push(a);
                        }
                    }
                }
                Ok(simplex_least_squares(&rows, &y)?.weights)
            })
            .collect::<Result<_>>()?,
    };
    Ok(if sets.len() == 1 {
        vec![sets[0].clone(); horizon]
    } else {
        sets
    })
}

/// Weights proportional to `1 / mae`, normalized; members with zero error share all the weight.
fn inverse_error(mae: Vec<f64>) -> Result<Vec<f64>> {
    if mae.iter().any(|e| !e.is_finite()) {
        return Err(Error::invalid(
            "inverse-error weights",
            format!("a member's validation MAE is not finite: {mae:?}"),
        ));
    }
    let exact = mae.iter().filter(|&&e| e == 0.0).count();
    let raw: Vec<f64> = if exact > 0 {
        mae.iter()
            .map(|&e| if e == 0.0 { 1.0 } else { 0.0 })
            .collect()
    } else {
        mae.iter().map(|e| 1.0 / e).collect()
    };
    let total: f64 = raw.iter().sum();
    Ok(raw.iter().map(|r| r / total).collect())
}

/// The median of `values` (the mean of the two middle ones for an even count).
pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let k = values.len();
    if k % 2 == 1 {
        values[k / 2]
    } else {
        (values[k / 2 - 1] + values[k / 2]) / 2.0
    }
}

/// Combines step `h` of the member values `values[member]` with `weights[h]` (the median when
/// `weights` is empty), summing in member order.
fn combine_step(values: &[&[f64]], weights: &[Vec<f64>], h: usize) -> f64 {
    if weights.is_empty() {
        let mut at: Vec<f64> = values.iter().map(|v| v[h]).collect();
        median(&mut at)
    } else {
        values.iter().zip(&weights[h]).map(|(v, w)| w * v[h]).sum()
    }
}

/// The ensemble forecast of `horizon` steps from one forecast per member: the points combined
/// with `weights` (or their median), and each band of `levels` combined the same way, level by
/// level, where every member's forecast carries it.
///
/// Combining quantiles with the point weights is a heuristic (Vincentization: the weighted
/// average of quantiles is the quantile of no particular mixture, and the weights were chosen
/// for the point error, not for coverage); a convex combination of ordered bands stays
/// ordered. Calibrate the members (conformal intervals) for bands with a coverage guarantee.
pub(crate) fn combine_forecasts(
    members: &[Forecast],
    weights: &[Vec<f64>],
    levels: &[f64],
    horizon: usize,
) -> Result<Forecast> {
    if let Some(short) = members.iter().find(|f| f.len() < horizon) {
        return Err(Error::invalid(
            "forecast",
            format!("a member forecast {} steps, {horizon} asked", short.len()),
        ));
    }
    let points: Vec<&[f64]> = members.iter().map(|f| f.point_values()).collect();
    let point: Vec<f64> = (0..horizon)
        .map(|h| combine_step(&points, weights, h))
        .collect();
    let mut out = Forecast::point(point);
    for &q in levels {
        let bands: Option<Vec<&[f64]>> = members.iter().map(|f| f.quantile(q)).collect();
        if let Some(bands) = bands {
            let values = (0..horizon)
                .map(|h| combine_step(&bands, weights, h))
                .collect();
            out = out.with_quantile(q, values)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random sequence in [-1, 1) (an LCG; no dependency).
    fn noise(seed: u64, n: usize) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
            })
            .collect()
    }

    fn sse(a: &[Vec<f64>], y: &[f64], w: &[f64]) -> f64 {
        a.iter()
            .zip(y)
            .map(|(r, t)| {
                let p: f64 = r.iter().zip(w).map(|(a, b)| a * b).sum();
                (p - t).powi(2)
            })
            .sum()
    }

    #[test]
    fn projection_lands_on_the_simplex_and_keeps_simplex_points() {
        let p = project_to_simplex(&[0.5, 2.0, -1.0]);
        // (0.5, 2, -1) − θ with θ = 1 clips to (0, 1, 0).
        assert_eq!(p, vec![0.0, 1.0, 0.0]);
        let inside = [0.2, 0.3, 0.5];
        let q = project_to_simplex(&inside);
        for (a, b) in q.iter().zip(inside) {
            assert!((a - b).abs() < 1e-15);
        }
        // Equal shift: (1, 1) − 0.5 each.
        assert_eq!(project_to_simplex(&[1.0, 1.0]), vec![0.5, 0.5]);
    }

    #[test]
    fn convex_weights_recover_an_exact_combination() {
        // The target is exactly 0.3·f1 + 0.7·f2; a third member is unrelated noise. The
        // unique optimum is (0.3, 0.7, 0) with zero error.
        let f1 = noise(1, 200);
        let f2: Vec<f64> = noise(2, 200).iter().map(|v| v * 3.0 + 1.0).collect();
        let f3 = noise(3, 200);
        let a: Vec<Vec<f64>> = (0..200).map(|i| vec![f1[i], f2[i], f3[i]]).collect();
        let y: Vec<f64> = (0..200).map(|i| 0.3 * f1[i] + 0.7 * f2[i]).collect();
        let fit = simplex_least_squares(&a, &y).unwrap();
        assert!(fit.converged, "{fit:?}");
        for (w, want) in fit.weights.iter().zip([0.3, 0.7, 0.0]) {
            assert!((w - want).abs() < 1e-6, "{fit:?}");
        }
        assert!((fit.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(sse(&a, &y, &fit.weights) < 1e-9, "{fit:?}");
    }

    #[test]
    fn convex_weights_beat_a_brute_force_grid_over_three_members() {
        // Three noisy, correlated forecasts of a noisy target; the optimum is interior or on
        // an edge, whichever the data say. A grid of step 1/200 over the simplex brackets it:
        // the solver's error is at most the grid's best, and its weights lie within a few grid
        // steps of the grid's argmin.
        let y: Vec<f64> = noise(10, 300).iter().map(|v| 5.0 * v).collect();
        let e: Vec<Vec<f64>> = (0..3).map(|k| noise(20 + k, 300)).collect();
        let a: Vec<Vec<f64>> = (0..300)
            .map(|i| {
                vec![
                    y[i] + 1.0 * e[0][i],
                    y[i] + 2.0 * e[1][i] + 0.5,
                    0.8 * y[i] + 1.5 * e[2][i],
                ]
            })
            .collect();
        let fit = simplex_least_squares(&a, &y).unwrap();
        assert!(fit.converged, "{fit:?}");
        let steps = 200;
        let mut best = (f64::INFINITY, vec![0.0; 3]);
        for i in 0..=steps {
            for j in 0..=(steps - i) {
                let w = vec![
                    i as f64 / steps as f64,
                    j as f64 / steps as f64,
                    (steps - i - j) as f64 / steps as f64,
                ];
                let s = sse(&a, &y, &w);
                if s < best.0 {
                    best = (s, w);
                }
            }
        }
        let got = sse(&a, &y, &fit.weights);
        assert!(got <= best.0 + 1e-9, "solver {got}, grid {}", best.0);
        for (w, g) in fit.weights.iter().zip(&best.1) {
            assert!((w - g).abs() < 0.02, "{fit:?} vs grid {:?}", best.1);
        }
        assert!(fit.weights.iter().all(|&w| w >= 0.0));
    }

    #[test]
    fn a_member_equal_to_the_target_takes_all_the_weight() {
        // Duplicate and perfect members: G is singular; the perfect member gets weight 1.
        let y = noise(5, 50);
        let other = noise(6, 50);
        let a: Vec<Vec<f64>> = (0..50).map(|i| vec![other[i], y[i], other[i]]).collect();
        let fit = simplex_least_squares(&a, &y).unwrap();
        assert!((fit.weights[1] - 1.0).abs() < 1e-6, "{fit:?}");
        assert!(simplex_least_squares(&[], &[]).is_err());
        assert!(simplex_least_squares(&[vec![f64::NAN]], &[1.0]).is_err());
    }

    #[test]
    fn inverse_error_and_median_weights() {
        // MAE 1 and 3: weights 1/1 and 1/3 normalized, 0.75 and 0.25.
        let w = inverse_error(vec![1.0, 3.0]).unwrap();
        assert!((w[0] - 0.75).abs() < 1e-15 && (w[1] - 0.25).abs() < 1e-15);
        // A perfect member takes everything.
        assert_eq!(inverse_error(vec![0.0, 2.0]).unwrap(), vec![1.0, 0.0]);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        // Validation: member 0 is off by 1 at step 0 and by 3 at step 1; member 1 the reverse.
        let v = ValidationForecasts {
            forecasts: vec![vec![vec![1.0, 3.0]], vec![vec![3.0, 1.0]]],
            actuals: vec![vec![0.0, 0.0]],
        };
        let per_step = learn_weights(Combiner::InverseError, true, 2, &v).unwrap();
        assert!((per_step[0][0] - 0.75).abs() < 1e-15 && (per_step[1][0] - 0.25).abs() < 1e-15);
        // Pooled: both have MAE 2, equal weights at every step.
        let pooled = learn_weights(Combiner::InverseError, false, 2, &v).unwrap();
        assert_eq!(pooled, vec![vec![0.5, 0.5]; 2]);
        assert!(learn_weights(Combiner::Median, false, 2, &v)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn forecasts_combine_points_and_shared_bands() {
        let a = Forecast::point(vec![1.0, 2.0])
            .with_interval(0.8, vec![0.0, 1.0], vec![2.0, 3.0])
            .unwrap();
        let b = Forecast::point(vec![3.0, 4.0])
            .with_interval(0.8, vec![2.0, 3.0], vec![4.0, 5.0])
            .unwrap();
        let w = vec![vec![0.25, 0.75]; 2];
        let c = combine_forecasts(&[a.clone(), b.clone()], &w, &[0.1, 0.9], 2).unwrap();
        // 0.25·1 + 0.75·3 = 2.5; 0.25·2 + 0.75·4 = 3.5.
        assert_eq!(c.point_values(), &[2.5, 3.5]);
        assert_eq!(c.quantile(0.1).unwrap(), &[1.5, 2.5]);
        // The median of two is their mean; one step only.
        let m = combine_forecasts(&[a, b], &[], &[], 1).unwrap();
        assert_eq!(m.point_values(), &[2.0]);
        assert!(m.quantiles().is_empty());
    }
}
