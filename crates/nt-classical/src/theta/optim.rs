//! Bounded Nelder–Mead exactly as statsforecast 2.1.1's `nelder_mead.h` runs it for Theta
//! (`theta::optimize`: initial step 0.05, zero perturbation 1e-4, adaptive coefficients,
//! 1000 iterations, stop when the population standard deviation of the simplex values is
//! below 1e-4).
//!
//! Why not `ets::optim`: that port of the same header differs in two details that move the
//! optimum by more than 1e-4 on long series, where Theta's objective (a sum of squares over
//! the whole series) rarely meets the absolute 1e-4 stopping rule and the run ends at the
//! iteration cap: statsforecast returns the best vertex *as sorted at the start of the last
//! iteration* (the last move may have found a better one, which it ignores), and it computes
//! the centroid as (sum of all vertices − the worst) / n. Both are reproduced here bit for bit.

/// statsforecast's settings for Theta.
const INIT_STEP: f64 = 0.05;
const ZERO_PERT: f64 = 1e-4;
const TOL_STD: f64 = 1e-4;
/// Iteration cap of `theta::optimize`.
pub(crate) const MAX_ITER: usize = 1000;

fn clamp_into(x: &mut [f64], lower: &[f64], upper: &[f64]) {
    for ((v, lo), hi) in x.iter_mut().zip(lower).zip(upper) {
        // Eigen's cwiseMax(lower).cwiseMin(upper).
        *v = v.max(*lo).min(*hi);
    }
}

fn population_std(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt()
}

/// The result of one run.
#[derive(Debug, Clone)]
pub(crate) struct Optimum {
    /// The point statsforecast returns.
    pub(crate) x: Vec<f64>,
    /// Its objective value.
    pub(crate) value: f64,
    /// Iterations counted as statsforecast counts them (`i + 1`).
    pub(crate) iterations: usize,
}

/// Minimizes `f` from `x0` (clamped) inside `[lower, upper]`.
pub(crate) fn minimize(
    mut f: impl FnMut(&[f64]) -> f64,
    x0: &[f64],
    lower: &[f64],
    upper: &[f64],
) -> Optimum {
    let n = x0.len();
    let mut start = x0.to_vec();
    clamp_into(&mut start, lower, upper);
    if n == 0 {
        let value = f(&start);
        return Optimum {
            x: start,
            value,
            iterations: 0,
        };
    }
    let nf = n as f64;
    let (alpha, gamma, rho, sigma) = (1.0, 1.0 + 2.0 / nf, 0.75 - 1.0 / (2.0 * nf), 1.0 - 1.0 / nf);
    let mut simplex = vec![start; n + 1];
    for (i, row) in simplex.iter_mut().take(n).enumerate() {
        let v = row[i];
        let moved = if v == 0.0 {
            ZERO_PERT
        } else {
            v * (1.0 + INIT_STEP)
        };
        row[i] = moved.max(lower[i]).min(upper[i]);
    }
    let mut values: Vec<f64> = simplex.iter().map(|x| f(x)).collect();
    let mut order: Vec<usize> = (0..=n).collect();
    let mut centroid = vec![0.0; n];
    let mut trial = vec![0.0; n];
    let mut reflected = vec![0.0; n];
    let mut best = 0;
    let mut iteration = 0;
    while iteration < MAX_ITER {
        // std::sort on n + 1 ≤ 16 elements is an insertion sort: stable, like sort_by. Values
        // are never NaN (the objective maps NaN to −∞).
        for (k, o) in order.iter_mut().enumerate() {
            *o = k;
        }
        order.sort_by(|&a, &b| {
            values[a]
                .partial_cmp(&values[b])
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        best = order[0];
        let worst = order[n];
        let second_worst = order[n - 1];
        if population_std(&values) < TOL_STD {
            break;
        }
        for (j, c) in centroid.iter_mut().enumerate() {
            let sum: f64 = simplex.iter().map(|row| row[j]).sum();
            *c = (sum - simplex[worst][j]) / nf;
        }
        for ((r, c), w) in reflected.iter_mut().zip(&centroid).zip(&simplex[worst]) {
            *r = c + alpha * (c - w);
        }
        clamp_into(&mut reflected, lower, upper);
        let f_r = f(&reflected);
        iteration += 1;
        if values[best] <= f_r && f_r < values[second_worst] {
            simplex[worst].copy_from_slice(&reflected);
            values[worst] = f_r;
            continue;
        }
        if f_r < values[best] {
            for ((t, c), r) in trial.iter_mut().zip(&centroid).zip(&reflected) {
                *t = c + gamma * (r - c);
            }
            clamp_into(&mut trial, lower, upper);
            let f_e = f(&trial);
            if f_e < f_r {
                simplex[worst].copy_from_slice(&trial);
                values[worst] = f_e;
            } else {
                simplex[worst].copy_from_slice(&reflected);
                values[worst] = f_r;
            }
            continue;
        }
        if values[second_worst] <= f_r && f_r < values[worst] {
            for ((t, c), r) in trial.iter_mut().zip(&centroid).zip(&reflected) {
                *t = c + rho * (r - c);
            }
            clamp_into(&mut trial, lower, upper);
            let f_oc = f(&trial);
            if f_oc <= f_r {
                simplex[worst].copy_from_slice(&trial);
                values[worst] = f_oc;
                continue;
            }
        } else {
            for ((t, c), r) in trial.iter_mut().zip(&centroid).zip(&reflected) {
                *t = c - rho * (r - c);
            }
            clamp_into(&mut trial, lower, upper);
            let f_ic = f(&trial);
            if f_ic < values[worst] {
                simplex[worst].copy_from_slice(&trial);
                values[worst] = f_ic;
                continue;
            }
        }
        let anchor = simplex[best].clone();
        for (k, row) in simplex.iter_mut().enumerate() {
            if k == best {
                continue;
            }
            for (v, a) in row.iter_mut().zip(&anchor) {
                *v = a + sigma * (*v - a);
            }
            clamp_into(row, lower, upper);
            values[k] = f(row);
        }
    }
    Optimum {
        x: simplex[best].clone(),
        value: values[best],
        iterations: iteration + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_bounded_quadratic_minimum() {
        // min (x − 3)² + (y + 1)² subject to x ≤ 2: the minimum is at (2, −1) with value 1;
        // the simplex stops once its values agree to 1e-4, so the point is within ~1e-2.
        let opt = minimize(
            |p| (p[0] - 3.0).powi(2) + (p[1] + 1.0).powi(2),
            &[0.5, 0.5],
            &[-10.0, -10.0],
            &[2.0, 10.0],
        );
        assert!(
            (opt.x[0] - 2.0).abs() < 1e-2 && (opt.x[1] + 1.0).abs() < 1e-2,
            "{:?}",
            opt.x
        );
        assert!((opt.value - 1.0).abs() < 1e-3, "{}", opt.value);
        assert!(opt.iterations < MAX_ITER);
    }
}
