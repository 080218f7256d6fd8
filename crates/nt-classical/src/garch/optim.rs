//! A small constrained minimizer for the GARCH likelihood: damped Newton steps on a
//! finite-difference Hessian, box bounds by projection with an active set, linear inequality
//! constraints `a·x ≥ b` by shortening the step.
//!
//! # Why not SLSQP
//! arch minimizes with scipy's SLSQP (default `ftol` 1e-6, absolute on the negative
//! log-likelihood). With at most seven parameters, Newton's method on a numerical Hessian
//! reaches the same optimum to about 1e-7 in the parameters within a few dozen iterations,
//! without a QP subproblem; the parity tests compare with arch both at its default tolerance
//! and refitted with `ftol` 1e-12. The stationarity constraint Σα + ½Σγ + Σβ ≤ 1 and α + γ ≥ 0
//! are enforced by never stepping across them; an optimum exactly on one of them is approached
//! but the step shortening makes convergence there slower (a boundary box bound, e.g. α₂ = 0,
//! is handled exactly by the active set).

/// A linear inequality `coef · x ≥ rhs`.
#[derive(Debug, Clone)]
pub(crate) struct Linear {
    pub(crate) coef: Vec<f64>,
    pub(crate) rhs: f64,
}

/// The problem: bounds per coordinate, linear constraints, and a typical magnitude per
/// coordinate for the finite-difference steps.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub(crate) lower: Vec<f64>,
    pub(crate) upper: Vec<f64>,
    pub(crate) linear: Vec<Linear>,
    pub(crate) typical: Vec<f64>,
    pub(crate) max_iter: usize,
}

/// The result of [`minimize`].
#[derive(Debug, Clone)]
pub(crate) struct Minimum {
    pub(crate) x: Vec<f64>,
    pub(crate) iterations: usize,
}

impl Problem {
    fn feasible(&self, x: &[f64]) -> bool {
        self.linear.iter().all(|c| {
            let v: f64 = c.coef.iter().zip(x).map(|(a, b)| a * b).sum();
            v >= c.rhs - 1e-12
        })
    }

    fn project(&self, x: &mut [f64]) {
        for (i, v) in x.iter_mut().enumerate() {
            *v = v.clamp(self.lower[i], self.upper[i]);
        }
    }

    fn step(&self, x: &[f64], i: usize) -> f64 {
        1e-5 * x[i].abs().max(self.typical[i])
    }
}

/// f at `x` with coordinate `i` moved by `d` (and `j` by `e`), or +∞ when that leaves the box.
fn eval_at<F: FnMut(&[f64]) -> f64>(
    f: &mut F,
    p: &Problem,
    x: &[f64],
    moves: &[(usize, f64)],
    buf: &mut Vec<f64>,
) -> f64 {
    buf.clear();
    buf.extend_from_slice(x);
    for &(i, d) in moves {
        buf[i] += d;
        if buf[i] < p.lower[i] || buf[i] > p.upper[i] {
            return f64::INFINITY;
        }
    }
    let v = f(buf);
    if v.is_nan() {
        f64::INFINITY
    } else {
        v
    }
}

/// Gradient and Hessian by central differences; one-sided at a bound.
fn derivatives<F: FnMut(&[f64]) -> f64>(
    f: &mut F,
    p: &Problem,
    x: &[f64],
    fx: f64,
) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = x.len();
    let mut buf = Vec::with_capacity(n);
    let h: Vec<f64> = (0..n).map(|i| p.step(x, i)).collect();
    // Signed steps: forward (+h) unless that leaves the box, then backward.
    let s: Vec<f64> = (0..n)
        .map(|i| {
            if x[i] + 2.0 * h[i] <= p.upper[i] {
                h[i]
            } else {
                -h[i]
            }
        })
        .collect();
    let mut g = vec![0.0; n];
    let mut fp = vec![0.0; n];
    for i in 0..n {
        let plus = eval_at(f, p, x, &[(i, h[i])], &mut buf);
        let minus = eval_at(f, p, x, &[(i, -h[i])], &mut buf);
        if plus.is_finite() && minus.is_finite() {
            g[i] = (plus - minus) / (2.0 * h[i]);
        } else {
            let two = eval_at(f, p, x, &[(i, 2.0 * s[i])], &mut buf);
            let one = eval_at(f, p, x, &[(i, s[i])], &mut buf);
            // Second-order one-sided difference: (−3f₀ + 4f₁ − f₂) / 2s.
            g[i] = (-3.0 * fx + 4.0 * one - two) / (2.0 * s[i]);
        }
        fp[i] = eval_at(f, p, x, &[(i, s[i])], &mut buf);
    }
    let mut hess = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in i..n {
            let fij = if i == j {
                eval_at(f, p, x, &[(i, 2.0 * s[i])], &mut buf)
            } else {
                eval_at(f, p, x, &[(i, s[i]), (j, s[j])], &mut buf)
            };
            let fj = if i == j { fp[i] } else { fp[j] };
            let v = (fij - fp[i] - fj + fx) / (s[i] * s[j]);
            hess[i][j] = v;
            hess[j][i] = v;
        }
    }
    (g, hess)
}

/// Solves `(H + λ·diag(|H|)) d = −g` by Cholesky, raising λ until the matrix is positive
/// definite; `None` when it never is.
fn newton_direction(h: &[Vec<f64>], g: &[f64], lambda: f64) -> Option<Vec<f64>> {
    let n = g.len();
    let mut lam = lambda;
    for _ in 0..30 {
        let mut a = h.to_vec();
        for (i, row) in a.iter_mut().enumerate() {
            row[i] += lam * row[i].abs().max(1e-12);
        }
        if let Some(l) = cholesky(&a) {
            // Forward then back substitution.
            let mut y = vec![0.0; n];
            for i in 0..n {
                let s: f64 = (0..i).map(|k| l[i][k] * y[k]).sum();
                y[i] = (-g[i] - s) / l[i][i];
            }
            let mut d = vec![0.0; n];
            for i in (0..n).rev() {
                let s: f64 = (i + 1..n).map(|k| l[k][i] * d[k]).sum();
                d[i] = (y[i] - s) / l[i][i];
            }
            if d.iter().all(|v| v.is_finite()) {
                return Some(d);
            }
        }
        lam = if lam == 0.0 { 1e-6 } else { lam * 10.0 };
    }
    None
}

fn cholesky(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = a.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = a[i][i] - s;
                if d.is_nan() || d <= 0.0 || !d.is_finite() {
                    return None;
                }
                l[i][i] = d.sqrt();
            } else {
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
    }
    Some(l)
}

/// Minimizes `f` from the feasible point `x0` (projected into the box first).
pub(crate) fn minimize<F: FnMut(&[f64]) -> f64>(mut f: F, x0: &[f64], p: &Problem) -> Minimum {
    let n = x0.len();
    let mut x = x0.to_vec();
    p.project(&mut x);
    let mut fx = f(&x);
    let mut iterations = 0;
    let mut trial = vec![0.0; n];
    while iterations < p.max_iter {
        iterations += 1;
        let (g, h) = derivatives(&mut f, p, &x, fx);
        // Active box bounds: at a bound with the gradient pushing outward.
        let free: Vec<usize> = (0..n)
            .filter(|&i| {
                let at_lo = x[i] <= p.lower[i] + 1e-12 * p.typical[i] && g[i] > 0.0;
                let at_hi = x[i] >= p.upper[i] - 1e-12 * p.typical[i] && g[i] < 0.0;
                !(at_lo || at_hi)
            })
            .collect();
        if free.is_empty() {
            break;
        }
        let hf: Vec<Vec<f64>> = free
            .iter()
            .map(|&i| free.iter().map(|&j| h[i][j]).collect())
            .collect();
        let gf: Vec<f64> = free.iter().map(|&i| g[i]).collect();
        let mut improved = false;
        for lambda in [0.0, 1e-3, 1e-1, 10.0] {
            let Some(df) = newton_direction(&hf, &gf, lambda) else {
                continue;
            };
            let mut d = vec![0.0; n];
            for (k, &i) in free.iter().enumerate() {
                d[i] = df[k];
            }
            let slope: f64 = d.iter().zip(&g).map(|(a, b)| a * b).sum();
            if slope >= 0.0 {
                continue;
            }
            let mut t = 1.0;
            for _ in 0..60 {
                for i in 0..n {
                    trial[i] = x[i] + t * d[i];
                }
                p.project(&mut trial);
                if p.feasible(&trial) {
                    let ft = f(&trial);
                    let actual: f64 = trial
                        .iter()
                        .zip(&x)
                        .zip(&g)
                        .map(|((a, b), c)| (a - b) * c)
                        .sum();
                    if ft.is_finite() && ft <= fx + 1e-4 * actual.min(0.0) && ft < fx {
                        improved = true;
                        break;
                    }
                }
                t *= 0.5;
            }
            if improved {
                break;
            }
        }
        if !improved {
            break;
        }
        let change = fx - f(&trial);
        let moved = trial
            .iter()
            .zip(&x)
            .enumerate()
            .map(|(i, (a, b))| (a - b).abs() / b.abs().max(p.typical[i]))
            .fold(0.0, f64::max);
        fx = f(&trial);
        x.copy_from_slice(&trial);
        if change < 1e-12 * fx.abs().max(1.0) && moved < 1e-9 {
            break;
        }
    }
    Minimum { x, iterations }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quadratic_with_an_active_bound_and_a_linear_constraint() {
        // min (x − 2)² + (y + 1)² with 0 ≤ x, y ≤ 10 and x + y ≤ 1.5 (−x − y ≥ −1.5):
        // y hits its bound 0, then x is pushed to 1.5 by the linear constraint.
        let p = Problem {
            lower: vec![0.0, 0.0],
            upper: vec![10.0, 10.0],
            linear: vec![Linear {
                coef: vec![-1.0, -1.0],
                rhs: -1.5,
            }],
            typical: vec![1.0, 1.0],
            max_iter: 200,
        };
        let m = minimize(
            |v| (v[0] - 2.0).powi(2) + (v[1] + 1.0).powi(2),
            &[0.5, 0.5],
            &p,
        );
        assert!(m.x[1].abs() < 1e-9, "{:?}", m.x);
        assert!((m.x[0] - 1.5).abs() < 1e-3, "{:?}", m.x);
    }

    #[test]
    fn rosenbrock_interior() {
        let p = Problem {
            lower: vec![-5.0, -5.0],
            upper: vec![5.0, 5.0],
            linear: vec![],
            typical: vec![1.0, 1.0],
            max_iter: 500,
        };
        let m = minimize(
            |v| 100.0 * (v[1] - v[0] * v[0]).powi(2) + (1.0 - v[0]).powi(2),
            &[-1.2, 1.0],
            &p,
        );
        assert!(
            (m.x[0] - 1.0).abs() < 1e-5 && (m.x[1] - 1.0).abs() < 1e-5,
            "{m:?}"
        );
    }
}
