//! Bounded Nelder–Mead, as statsforecast 2.1.1 runs it for ETS (`nelder_mead.h`): adaptive
//! coefficients (Gao & Han, 2012), points clamped to the box after every move, stop when the
//! population standard deviation of the simplex values falls below `tol_std` or after
//! `max_iter` iterations.

/// Settings of one run.
pub(crate) struct NelderMead {
    /// Relative size of the initial simplex steps (0.05).
    pub(crate) init_step: f64,
    /// Step used for a coordinate that is exactly zero (1e-4).
    pub(crate) zero_pert: f64,
    /// Stopping threshold on the standard deviation of the simplex values (1e-4).
    pub(crate) tol_std: f64,
    /// Iteration cap.
    pub(crate) max_iter: usize,
}

fn clamp_into(x: &mut [f64], lower: &[f64], upper: &[f64]) {
    for ((v, lo), hi) in x.iter_mut().zip(lower).zip(upper) {
        *v = v.max(*lo).min(*hi);
    }
}

fn population_std(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt()
}

impl NelderMead {
    /// Minimizes `f` from `x0` inside `[lower, upper]`; returns the best point and its value.
    /// `f` should return `+∞` (not NaN) for infeasible points.
    pub(crate) fn minimize(
        &self,
        mut f: impl FnMut(&[f64]) -> f64,
        x0: &[f64],
        lower: &[f64],
        upper: &[f64],
    ) -> (Vec<f64>, f64) {
        let n = x0.len();
        let mut start = x0.to_vec();
        clamp_into(&mut start, lower, upper);
        if n == 0 {
            let v = f(&start);
            return (start, v);
        }
        let nf = n as f64;
        let (alpha, gamma, rho, sigma) =
            (1.0, 1.0 + 2.0 / nf, 0.75 - 1.0 / (2.0 * nf), 1.0 - 1.0 / nf);
        let mut simplex = vec![start; n + 1];
        for (i, row) in simplex.iter_mut().take(n).enumerate() {
            let v = row[i];
            let moved = if v == 0.0 {
                self.zero_pert
            } else {
                v * (1.0 + self.init_step)
            };
            row[i] = moved.max(lower[i]).min(upper[i]);
        }
        let mut values: Vec<f64> = simplex.iter().map(|x| f(x)).collect();
        let mut order: Vec<usize> = (0..=n).collect();
        let mut centroid = vec![0.0; n];
        let mut trial = vec![0.0; n];
        for _ in 0..self.max_iter {
            if population_std(&values) < self.tol_std {
                break;
            }
            order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
            let best = order[0];
            let worst = order[n];
            let second_worst = order[n - 1];

            centroid.iter_mut().for_each(|c| *c = 0.0);
            for (k, row) in simplex.iter().enumerate() {
                if k != worst {
                    for (c, v) in centroid.iter_mut().zip(row) {
                        *c += v;
                    }
                }
            }
            centroid.iter_mut().for_each(|c| *c /= nf);

            // Reflection.
            let reflected: Vec<f64> = {
                let mut r: Vec<f64> = centroid
                    .iter()
                    .zip(&simplex[worst])
                    .map(|(c, w)| c + alpha * (c - w))
                    .collect();
                clamp_into(&mut r, lower, upper);
                r
            };
            let f_r = f(&reflected);
            if values[best] <= f_r && f_r < values[second_worst] {
                simplex[worst] = reflected;
                values[worst] = f_r;
                continue;
            }
            // Expansion.
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
                    simplex[worst] = reflected;
                    values[worst] = f_r;
                }
                continue;
            }
            // Outside or inside contraction.
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
            // Shrink towards the best point.
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
        let best = (0..=n)
            .min_by(|&a, &b| values[a].total_cmp(&values[b]))
            .unwrap_or(0);
        (simplex[best].clone(), values[best])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_bounded_quadratic_minimum() {
        // min (x − 3)² + (y + 1)² subject to x ≤ 2: the minimum is at (2, −1) with value 1.
        let nm = NelderMead {
            init_step: 0.05,
            zero_pert: 1e-4,
            tol_std: 1e-12,
            max_iter: 2000,
        };
        let (x, v) = nm.minimize(
            |p| (p[0] - 3.0).powi(2) + (p[1] + 1.0).powi(2),
            &[0.5, 0.5],
            &[-10.0, -10.0],
            &[2.0, 10.0],
        );
        assert!(
            (x[0] - 2.0).abs() < 1e-5 && (x[1] + 1.0).abs() < 1e-5,
            "{x:?}"
        );
        assert!((v - 1.0).abs() < 1e-8);
    }
}
