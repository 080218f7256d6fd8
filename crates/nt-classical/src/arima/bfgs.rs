//! scipy 1.17's `minimize(method="BFGS")` as statsforecast calls it (`tol=1e-8`, so
//! `gtol = 1e-8` on the max-norm of the gradient; `maxiter = 100`), with its forward-difference
//! gradient (absolute step `sqrt(f64::EPSILON)`, `f(x)` reused) and its MINPACK `dcsrch`
//! line search (`line_search_wolfe1`, c1 = 1e-4, c2 = 0.9, xtol 1e-14, amin 1e-100,
//! amax 1e100). The objective is evaluated in scipy's order (the new point, then each forward
//! point in coordinate order), which matters because statsforecast's ML objective keeps state
//! between calls (see `kalman::StateSpace::update`).
//!
//! Deviation: when `dcsrch` fails, scipy falls back to `line_search_wolfe2`; here the search
//! stops instead (scipy's "precision loss" exit, `warnflag 2`). The fallback is rare near an
//! optimum, where the steps are tiny.

/// What [`minimize`] found.
#[derive(Debug, Clone)]
pub(crate) struct Minimum {
    /// The minimizer.
    pub x: Vec<f64>,
    /// The objective there.
    pub fun: f64,
    /// scipy's status: 0 converged, 1 iteration limit, 2 line search failed, 3 NaN.
    pub status: u8,
}

const STEP: f64 = 1.4901161193847656e-08;

/// scipy's `ScalarFunction`: the objective with a one-point cache of `f` and the gradient, so
/// that a repeated point is not evaluated again (it matters for a stateful objective).
struct Cached<'a> {
    f: &'a mut dyn FnMut(&[f64]) -> f64,
    x: Vec<f64>,
    fx: f64,
    g: Option<Vec<f64>>,
}

impl Cached<'_> {
    fn fun(&mut self, x: &[f64]) -> f64 {
        if x != self.x.as_slice() {
            self.x = x.to_vec();
            self.fx = (self.f)(x);
            self.g = None;
        }
        self.fx
    }

    fn grad(&mut self, x: &[f64]) -> Vec<f64> {
        self.fun(x);
        if self.g.is_none() {
            let fx = self.fx;
            let x0 = self.x.clone();
            let mut g = vec![0.0; x0.len()];
            let mut xh = x0.clone();
            for i in 0..x0.len() {
                let mut h = STEP;
                if (x0[i] + h) - x0[i] == 0.0 {
                    let sign = if x0[i] >= 0.0 { 1.0 } else { -1.0 };
                    h = STEP * sign * x0[i].abs().max(1.0);
                }
                xh[i] = x0[i] + h;
                let dx = xh[i] - x0[i];
                g[i] = ((self.f)(&xh) - fx) / dx;
                xh[i] = x0[i];
            }
            self.g = Some(g);
        }
        self.g.clone().unwrap_or_default()
    }
}

fn norm_inf(v: &[f64]) -> f64 {
    // numpy's max(abs(v)) propagates NaN.
    let mut m = 0.0f64;
    for x in v {
        if x.is_nan() {
            return f64::NAN;
        }
        m = m.max(x.abs());
    }
    m
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Minimizes `f` from `x0` (see the module docs).
pub(crate) fn minimize(f: &mut dyn FnMut(&[f64]) -> f64, x0: &[f64], maxiter: usize) -> Minimum {
    let n = x0.len();
    let gtol = 1e-8;
    let fx0 = f(x0);
    let mut obj = Cached {
        f,
        x: x0.to_vec(),
        fx: fx0,
        g: None,
    };
    let mut xk = x0.to_vec();
    let mut old_fval = fx0;
    let mut gfk = obj.grad(&xk);
    let mut hk = vec![0.0; n * n];
    for i in 0..n {
        hk[i * n + i] = 1.0;
    }
    let mut old_old_fval = old_fval + dot(&gfk, &gfk).sqrt() / 2.0;
    let mut k = 0;
    let mut warn = 0u8;
    let mut gnorm = norm_inf(&gfk);
    while gnorm > gtol && k < maxiter {
        let pk: Vec<f64> = (0..n)
            .map(|i| -(0..n).map(|j| hk[i * n + j] * gfk[j]).sum::<f64>())
            .collect();
        let found = wolfe1(&mut obj, &xk, &pk, &gfk, old_fval, old_old_fval)
            .or_else(|| wolfe2(&mut obj, &xk, &pk, &gfk, old_fval, old_old_fval));
        let Some((alpha, fnew, gnew)) = found else {
            warn = 2;
            break;
        };
        old_old_fval = old_fval;
        old_fval = fnew;
        let sk: Vec<f64> = pk.iter().map(|p| alpha * p).collect();
        let xnew: Vec<f64> = xk.iter().zip(&sk).map(|(x, s)| x + s).collect();
        xk = xnew;
        let gnew = match gnew {
            Some(g) => g,
            None => obj.grad(&xk),
        };
        let yk: Vec<f64> = gnew.iter().zip(&gfk).map(|(a, b)| a - b).collect();
        gfk = gnew;
        k += 1;
        gnorm = norm_inf(&gfk);
        if gnorm <= gtol {
            break;
        }
        if !old_fval.is_finite() {
            warn = 2;
            break;
        }
        let rhok_inv = dot(&yk, &sk);
        let rhok = if rhok_inv == 0.0 {
            1000.0
        } else {
            1.0 / rhok_inv
        };
        // H = (I - ρ s yᵀ) H (I - ρ y sᵀ) + ρ s sᵀ
        let mut a1 = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a1[i * n + j] = f64::from(u8::from(i == j)) - sk[i] * yk[j] * rhok;
            }
        }
        let mut tmp = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                // (H A2)[i][j], A2 = I - ρ y sᵀ = a1ᵀ
                tmp[i * n + j] = (0..n).map(|l| hk[i * n + l] * a1[j * n + l]).sum();
            }
        }
        for i in 0..n {
            for j in 0..n {
                hk[i * n + j] = (0..n).map(|l| a1[i * n + l] * tmp[l * n + j]).sum::<f64>()
                    + rhok * sk[i] * sk[j];
            }
        }
    }
    let status = if warn == 2 {
        2
    } else if k >= maxiter {
        1
    } else if gnorm.is_nan() || old_fval.is_nan() || xk.iter().any(|x| x.is_nan()) {
        3
    } else {
        0
    };
    Minimum {
        x: xk,
        fun: old_fval,
        status,
    }
}

fn initial_step(phi0: f64, old_phi0: f64, derphi0: f64) -> f64 {
    let mut alpha1 = if derphi0 != 0.0 {
        let v = 1.01 * 2.0 * (phi0 - old_phi0) / derphi0;
        // Python's min(1.0, v) keeps 1.0 when v is NaN.
        if v < 1.0 {
            v
        } else {
            1.0
        }
    } else {
        1.0
    };
    if alpha1 < 0.0 {
        alpha1 = 1.0;
    }
    alpha1
}

fn along(xk: &[f64], pk: &[f64], s: f64) -> Vec<f64> {
    xk.iter().zip(pk).map(|(x, p)| x + s * p).collect()
}

type Found = (f64, f64, Option<Vec<f64>>);

/// The directional derivative callback of the Wolfe searches.
type DerPhi<'a> = dyn FnMut(&mut Cached<'_>, f64, &mut Option<Vec<f64>>) -> f64 + 'a;

/// scipy's `line_search_wolfe1`: the step, the objective there and its gradient.
fn wolfe1(
    obj: &mut Cached<'_>,
    xk: &[f64],
    pk: &[f64],
    gfk: &[f64],
    phi0: f64,
    old_phi0: f64,
) -> Option<Found> {
    let derphi0 = dot(gfk, pk);
    let alpha1 = initial_step(phi0, old_phi0, derphi0);
    let mut search = Dcsrch::new(1e-4, 0.9, 1e-14, 1e-100, 1e100);
    let mut g_at = gfk.to_vec();
    let mut phi1 = phi0;
    let mut derphi1 = derphi0;
    let mut task = Task::Start;
    let mut stp = alpha1;
    for _ in 0..100 {
        let (s, t) = search.iterate(stp, phi1, derphi1, task);
        stp = s;
        task = t;
        if !stp.is_finite() {
            return None;
        }
        if task == Task::Fg {
            let x = along(xk, pk, stp);
            phi1 = obj.fun(&x);
            g_at = obj.grad(&x);
            derphi1 = dot(&g_at, pk);
        } else {
            break;
        }
    }
    match task {
        Task::Convergence => Some((stp, phi1, Some(g_at))),
        _ => None,
    }
}

fn cubicmin(a: f64, fa: f64, fpa: f64, b: f64, fb: f64, c: f64, fc: f64) -> Option<f64> {
    let cc = fpa;
    let db = b - a;
    let dc = c - a;
    let denom = (db * dc).powi(2) * (db - dc);
    let r0 = fb - fa - cc * db;
    let r1 = fc - fa - cc * dc;
    let aa = dc * dc * r0 + (-(db * db)) * r1;
    let bb = (-(dc * dc * dc)) * r0 + db * db * db * r1;
    if denom == 0.0 || !aa.is_finite() || !bb.is_finite() {
        return None;
    }
    let aa = aa / denom;
    let bb = bb / denom;
    let radical = bb * bb - 3.0 * aa * cc;
    if radical < 0.0 || aa == 0.0 || !radical.is_finite() {
        return None;
    }
    let xmin = a + (-bb + radical.sqrt()) / (3.0 * aa);
    xmin.is_finite().then_some(xmin)
}

fn quadmin(a: f64, fa: f64, fpa: f64, b: f64, fb: f64) -> Option<f64> {
    let db = b - a;
    if db == 0.0 {
        return None;
    }
    let bq = (fb - fa - fpa * db) / (db * db);
    if bq == 0.0 || !bq.is_finite() {
        return None;
    }
    let xmin = a - fpa / (2.0 * bq);
    xmin.is_finite().then_some(xmin)
}

/// scipy's `line_search_wolfe2` (the fallback), with its `_zoom`.
fn wolfe2(
    obj: &mut Cached<'_>,
    xk: &[f64],
    pk: &[f64],
    gfk: &[f64],
    phi0: f64,
    old_phi0: f64,
) -> Option<Found> {
    let (c1, c2, amax) = (1e-4, 0.9, 1e100);
    let derphi0 = dot(gfk, pk);
    let mut last_g: Option<Vec<f64>> = None;
    let mut phi = |obj: &mut Cached<'_>, a: f64| obj.fun(&along(xk, pk, a));
    let mut derphi = |obj: &mut Cached<'_>, a: f64, last: &mut Option<Vec<f64>>| {
        let g = obj.grad(&along(xk, pk, a));
        let d = dot(&g, pk);
        *last = Some(g);
        d
    };
    let mut alpha0 = 0.0;
    let mut alpha1 = initial_step(phi0, old_phi0, derphi0).min(amax);
    let mut phi_a1 = phi(obj, alpha1);
    let mut phi_a0 = phi0;
    let mut derphi_a0 = derphi0;
    for i in 0..10 {
        if alpha1 == 0.0 || alpha0 > amax {
            return None;
        }
        if phi_a1 > phi0 + c1 * alpha1 * derphi0 || (phi_a1 >= phi_a0 && i > 0) {
            return zoom(
                obj,
                alpha0,
                alpha1,
                phi_a0,
                phi_a1,
                derphi_a0,
                phi0,
                derphi0,
                &mut phi,
                &mut derphi,
                &mut last_g,
                c1,
                c2,
            );
        }
        let derphi_a1 = derphi(obj, alpha1, &mut last_g);
        if derphi_a1.abs() <= -c2 * derphi0 {
            return Some((alpha1, phi_a1, last_g));
        }
        if derphi_a1 >= 0.0 {
            return zoom(
                obj,
                alpha1,
                alpha0,
                phi_a1,
                phi_a0,
                derphi_a1,
                phi0,
                derphi0,
                &mut phi,
                &mut derphi,
                &mut last_g,
                c1,
                c2,
            );
        }
        let alpha2 = (2.0 * alpha1).min(amax);
        alpha0 = alpha1;
        alpha1 = alpha2;
        phi_a0 = phi_a1;
        phi_a1 = phi(obj, alpha1);
        derphi_a0 = derphi_a1;
    }
    // scipy returns the last trial without a gradient ("did not converge").
    Some((alpha1, phi_a1, None))
}

#[allow(clippy::too_many_arguments)]
fn zoom(
    obj: &mut Cached<'_>,
    mut a_lo: f64,
    mut a_hi: f64,
    mut phi_lo: f64,
    mut phi_hi: f64,
    mut derphi_lo: f64,
    phi0: f64,
    derphi0: f64,
    phi: &mut dyn FnMut(&mut Cached<'_>, f64) -> f64,
    derphi: &mut DerPhi<'_>,
    last_g: &mut Option<Vec<f64>>,
    c1: f64,
    c2: f64,
) -> Option<Found> {
    let (delta1, delta2) = (0.2, 0.1);
    let mut phi_rec = phi0;
    let mut a_rec = 0.0;
    let mut i = 0;
    loop {
        let dalpha = a_hi - a_lo;
        let (a, b) = if dalpha < 0.0 {
            (a_hi, a_lo)
        } else {
            (a_lo, a_hi)
        };
        let mut a_j = None;
        let mut cchk = 0.0;
        if i > 0 {
            cchk = delta1 * dalpha;
            a_j = cubicmin(a_lo, phi_lo, derphi_lo, a_hi, phi_hi, a_rec, phi_rec);
        }
        let bad = |v: Option<f64>, chk: f64| match v {
            None => true,
            Some(x) => x > b - chk || x < a + chk,
        };
        if i == 0 || bad(a_j, cchk) {
            let qchk = delta2 * dalpha;
            a_j = quadmin(a_lo, phi_lo, derphi_lo, a_hi, phi_hi);
            if bad(a_j, qchk) {
                a_j = Some(a_lo + 0.5 * dalpha);
            }
        }
        let a_j = a_j.unwrap_or(a_lo + 0.5 * dalpha);
        let phi_aj = phi(obj, a_j);
        if phi_aj > phi0 + c1 * a_j * derphi0 || phi_aj >= phi_lo {
            phi_rec = phi_hi;
            a_rec = a_hi;
            a_hi = a_j;
            phi_hi = phi_aj;
        } else {
            let derphi_aj = derphi(obj, a_j, last_g);
            if derphi_aj.abs() <= -c2 * derphi0 {
                return Some((a_j, phi_aj, last_g.clone()));
            }
            if derphi_aj * (a_hi - a_lo) >= 0.0 {
                phi_rec = phi_hi;
                a_rec = a_hi;
                a_hi = a_lo;
                phi_hi = phi_lo;
            } else {
                phi_rec = phi_lo;
                a_rec = a_lo;
            }
            a_lo = a_j;
            phi_lo = phi_aj;
            derphi_lo = derphi_aj;
        }
        i += 1;
        if i > 10 {
            return None;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Task {
    Start,
    Fg,
    Convergence,
    Warning,
    Error,
}

/// MINPACK-2's `dcsrch` (Moré & Thuenté) as scipy's `_dcsrch.py` has it.
struct Dcsrch {
    ftol: f64,
    gtol: f64,
    xtol: f64,
    stpmin: f64,
    stpmax: f64,
    brackt: bool,
    stage: u8,
    ginit: f64,
    gtest: f64,
    gx: f64,
    gy: f64,
    finit: f64,
    fx: f64,
    fy: f64,
    stx: f64,
    sty: f64,
    stmin: f64,
    stmax: f64,
    width: f64,
    width1: f64,
}

impl Dcsrch {
    fn new(ftol: f64, gtol: f64, xtol: f64, stpmin: f64, stpmax: f64) -> Self {
        Dcsrch {
            ftol,
            gtol,
            xtol,
            stpmin,
            stpmax,
            brackt: false,
            stage: 1,
            ginit: 0.0,
            gtest: 0.0,
            gx: 0.0,
            gy: 0.0,
            finit: 0.0,
            fx: 0.0,
            fy: 0.0,
            stx: 0.0,
            sty: 0.0,
            stmin: 0.0,
            stmax: 0.0,
            width: 0.0,
            width1: 0.0,
        }
    }

    fn iterate(&mut self, mut stp: f64, f: f64, g: f64, task: Task) -> (f64, Task) {
        const P5: f64 = 0.5;
        const P66: f64 = 0.66;
        const XTRAPL: f64 = 1.1;
        const XTRAPU: f64 = 4.0;
        if task == Task::Start {
            if stp < self.stpmin || stp > self.stpmax || g >= 0.0 {
                return (stp, Task::Error);
            }
            self.brackt = false;
            self.stage = 1;
            self.finit = f;
            self.ginit = g;
            self.gtest = self.ftol * self.ginit;
            self.width = self.stpmax - self.stpmin;
            self.width1 = self.width / P5;
            self.stx = 0.0;
            self.fx = self.finit;
            self.gx = self.ginit;
            self.sty = 0.0;
            self.fy = self.finit;
            self.gy = self.ginit;
            self.stmin = 0.0;
            self.stmax = stp + XTRAPU * stp;
            return (stp, Task::Fg);
        }
        let ftest = self.finit + stp * self.gtest;
        if self.stage == 1 && f <= ftest && g >= 0.0 {
            self.stage = 2;
        }
        let mut out = None;
        if self.brackt && (stp <= self.stmin || stp >= self.stmax) {
            out = Some(Task::Warning);
        }
        if self.brackt && self.stmax - self.stmin <= self.xtol * self.stmax {
            out = Some(Task::Warning);
        }
        if stp == self.stpmax && f <= ftest && g <= self.gtest {
            out = Some(Task::Warning);
        }
        if stp == self.stpmin && (f > ftest || g >= self.gtest) {
            out = Some(Task::Warning);
        }
        if f <= ftest && g.abs() <= self.gtol * -self.ginit {
            out = Some(Task::Convergence);
        }
        if let Some(t) = out {
            return (stp, t);
        }
        if self.stage == 1 && f <= self.fx && f > ftest {
            let fm = f - stp * self.gtest;
            let mut fxm = self.fx - self.stx * self.gtest;
            let mut fym = self.fy - self.sty * self.gtest;
            let gm = g - self.gtest;
            let mut gxm = self.gx - self.gtest;
            let mut gym = self.gy - self.gtest;
            let mut st = Step {
                stx: self.stx,
                fx: &mut fxm,
                dx: &mut gxm,
                sty: self.sty,
                fy: &mut fym,
                dy: &mut gym,
            };
            stp = dcstep(
                &mut st,
                stp,
                fm,
                gm,
                &mut self.brackt,
                self.stmin,
                self.stmax,
            );
            self.stx = st.stx;
            self.sty = st.sty;
            self.fx = fxm + self.stx * self.gtest;
            self.fy = fym + self.sty * self.gtest;
            self.gx = gxm + self.gtest;
            self.gy = gym + self.gtest;
        } else {
            let (mut fx, mut gx, mut fy, mut gy) = (self.fx, self.gx, self.fy, self.gy);
            let mut st = Step {
                stx: self.stx,
                fx: &mut fx,
                dx: &mut gx,
                sty: self.sty,
                fy: &mut fy,
                dy: &mut gy,
            };
            stp = dcstep(&mut st, stp, f, g, &mut self.brackt, self.stmin, self.stmax);
            self.stx = st.stx;
            self.sty = st.sty;
            (self.fx, self.gx, self.fy, self.gy) = (fx, gx, fy, gy);
        }
        if self.brackt {
            if (self.sty - self.stx).abs() >= P66 * self.width1 {
                stp = self.stx + P5 * (self.sty - self.stx);
            }
            self.width1 = self.width;
            self.width = (self.sty - self.stx).abs();
            self.stmin = self.stx.min(self.sty);
            self.stmax = self.stx.max(self.sty);
        } else {
            self.stmin = stp + XTRAPL * (stp - self.stx);
            self.stmax = stp + XTRAPU * (stp - self.stx);
        }
        stp = stp.clamp(self.stpmin, self.stpmax);
        if self.brackt
            && (stp <= self.stmin
                || stp >= self.stmax
                || self.stmax - self.stmin <= self.xtol * self.stmax)
        {
            stp = self.stx;
        }
        (stp, Task::Fg)
    }
}

struct Step<'a> {
    stx: f64,
    fx: &'a mut f64,
    dx: &'a mut f64,
    sty: f64,
    fy: &'a mut f64,
    dy: &'a mut f64,
}

fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// MINPACK-2's `dcstep`: a safeguarded cubic/quadratic step; returns the new trial step.
fn dcstep(
    s: &mut Step<'_>,
    stp: f64,
    fp: f64,
    dp: f64,
    brackt: &mut bool,
    stpmin: f64,
    stpmax: f64,
) -> f64 {
    let (stx, fx, dx) = (s.stx, *s.fx, *s.dx);
    let (sty, fy, dy) = (s.sty, *s.fy, *s.dy);
    let sgnd = sign(dp) * sign(dx);
    let stpf;
    if fp > fx {
        let theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp;
        let sm = theta.abs().max(dx.abs()).max(dp.abs());
        let mut gamma = sm * ((theta / sm).powi(2) - (dx / sm) * (dp / sm)).sqrt();
        if stp < stx {
            gamma = -gamma;
        }
        let p = (gamma - dx) + theta;
        let q = ((gamma - dx) + gamma) + dp;
        let r = p / q;
        let stpc = stx + r * (stp - stx);
        let stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2.0) * (stp - stx);
        stpf = if (stpc - stx).abs() <= (stpq - stx).abs() {
            stpc
        } else {
            stpc + (stpq - stpc) / 2.0
        };
        *brackt = true;
    } else if sgnd < 0.0 {
        let theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp;
        let sm = theta.abs().max(dx.abs()).max(dp.abs());
        let mut gamma = sm * ((theta / sm).powi(2) - (dx / sm) * (dp / sm)).sqrt();
        if stp > stx {
            gamma = -gamma;
        }
        let p = (gamma - dp) + theta;
        let q = ((gamma - dp) + gamma) + dx;
        let r = p / q;
        let stpc = stp + r * (stx - stp);
        let stpq = stp + (dp / (dp - dx)) * (stx - stp);
        stpf = if (stpc - stp).abs() > (stpq - stp).abs() {
            stpc
        } else {
            stpq
        };
        *brackt = true;
    } else if dp.abs() < dx.abs() {
        let theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp;
        let sm = theta.abs().max(dx.abs()).max(dp.abs());
        let mut gamma = sm
            * ((theta / sm).powi(2) - (dx / sm) * (dp / sm))
                .max(0.0)
                .sqrt();
        if stp > stx {
            gamma = -gamma;
        }
        let p = (gamma - dp) + theta;
        let q = (gamma + (dx - dp)) + gamma;
        let r = p / q;
        let stpc = if r < 0.0 && gamma != 0.0 {
            stp + r * (stx - stp)
        } else if stp > stx {
            stpmax
        } else {
            stpmin
        };
        let stpq = stp + (dp / (dp - dx)) * (stx - stp);
        if *brackt {
            let mut v = if (stpc - stp).abs() < (stpq - stp).abs() {
                stpc
            } else {
                stpq
            };
            if stp > stx {
                v = v.min(stp + 0.66 * (sty - stp));
            } else {
                v = v.max(stp + 0.66 * (sty - stp));
            }
            stpf = v;
        } else {
            let v = if (stpc - stp).abs() > (stpq - stp).abs() {
                stpc
            } else {
                stpq
            };
            stpf = v.clamp(stpmin, stpmax);
        }
    } else if *brackt {
        let theta = 3.0 * (fp - fy) / (sty - stp) + dy + dp;
        let sm = theta.abs().max(dy.abs()).max(dp.abs());
        let mut gamma = sm * ((theta / sm).powi(2) - (dy / sm) * (dp / sm)).sqrt();
        if stp > sty {
            gamma = -gamma;
        }
        let p = (gamma - dp) + theta;
        let q = ((gamma - dp) + gamma) + dy;
        let r = p / q;
        stpf = stp + r * (sty - stp);
    } else if stp > stx {
        stpf = stpmax;
    } else {
        stpf = stpmin;
    }
    if fp > fx {
        s.sty = stp;
        *s.fy = fp;
        *s.dy = dp;
    } else {
        if sgnd < 0.0 {
            s.sty = stx;
            *s.fy = fx;
            *s.dy = dx;
        }
        s.stx = stp;
        *s.fx = fp;
        *s.dx = dp;
    }
    stpf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_rosenbrock_minimum() {
        // scipy.optimize.minimize(rosen, [-1.2, 1.0], method="BFGS", tol=1e-8) reaches (1, 1)
        // to about 1e-5 with finite-difference gradients.
        let mut f = |x: &[f64]| 100.0 * (x[1] - x[0] * x[0]).powi(2) + (1.0 - x[0]).powi(2);
        let m = minimize(&mut f, &[-1.2, 1.0], 200);
        assert!(
            (m.x[0] - 1.0).abs() < 1e-4 && (m.x[1] - 1.0).abs() < 1e-4,
            "{m:?}"
        );
    }
}
