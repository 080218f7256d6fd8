//! The state-space form of an ARIMA model and its Kalman filter, as in R's `arima` and
//! statsforecast 2.1.1 (`make_arima`, `arima_like`, `kalman_forecast`).
//!
//! The state has `r = max(p, q + 1)` ARMA components followed by `d` components holding past
//! undifferenced values (`d` = the length of the differencing polynomial `delta`, i.e.
//! `d + s·D`). The transition uses the structure of `T` (companion block plus differencing
//! rows), so one filter step costs O((r + d)²), as in R's C code.
//!
//! Deviation: the stationary covariance of the ARMA block (`getQ0`, Gardner et al. 1980 in
//! statsforecast) is computed here by Smith's doubling iteration on the discrete Lyapunov
//! equation `Q = T Q Tᵀ + R Rᵀ`. Both solve the same linear system; on the cases checked
//! (ARMA(2,1), (1,2), (3,4) and a seasonal (1,0,1)(2,0,1)[24]) they agree to 4e-10 absolute,
//! and the doubling is O(r³ log) instead of Gardner's O(r⁶) worst case.

/// R's `kappa`: the prior variance of the diffuse (differencing) state components.
pub(crate) const KAPPA: f64 = 1e6;

/// Largest entry-wise change between two successive predicted covariances, relative to their
/// first entry (the one-step variance of the ARMA state, at least 1 in units of σ²), at which the
/// filter counts as converged (see [`StateSpace::filter`]): 16 ε, rounding noise. The diffuse
/// (differencing) block keeps changing at that noise level forever once resolved, so a tighter
/// test never fires on a differenced model. Frozen there, the likelihood terms stay within 1e-11
/// of the dense filter's (the test below), and AutoARIMA's orders and coefficients on ETTh1 are
/// bit-identical to the dense ones.
pub(crate) const STEADY_TOL: f64 = 16.0 * f64::EPSILON;

/// Whether every entry of `b` is within `tol · max(|a₀|, 1)` of the same entry of `a`.
fn within(a: &[f64], b: &[f64], tol: f64) -> bool {
    let bound = tol * a[0].abs().max(1.0);
    a.iter().zip(b).all(|(x, y)| (x - y).abs() <= bound)
}

/// A model in state-space form with its filter state (`a`, `P`) and the prior covariance
/// `Pn` that the first observation of a filter pass uses.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StateSpace {
    /// Expanded AR polynomial (length p).
    pub phi: Vec<f64>,
    /// Expanded MA polynomial padded with zeros to length `r - 1` (as `make_arima` pads it).
    pub theta: Vec<f64>,
    /// Differencing polynomial: `y_t = Σ delta_k y_{t-k-1} + w_t`.
    pub delta: Vec<f64>,
    /// ARMA block size.
    pub r: usize,
    /// Filtered state.
    pub a: Vec<f64>,
    /// Filtered state covariance (row-major `rd × rd`).
    pub p: Vec<f64>,
    /// Prior covariance for the first observation (row-major), overwritten by each pass with
    /// the last predicted covariance, as statsforecast's C++ does.
    pub pn: Vec<f64>,
    /// Whether a filter pass reached the steady state (see [`StateSpace::filter`]): `P` and
    /// `Pn` are then fixed, and a pass that continues this one keeps them fixed, so a history
    /// filtered in two passes gives the bits of one pass.
    pub steady: bool,
}

/// The outcome of one filter pass (statsforecast's `arima_like` return values).
#[derive(Debug, Clone)]
pub(crate) struct LikeOut {
    /// Sum of squared standardized innovations.
    pub ssq: f64,
    /// Sum of log innovation variances.
    pub sumlog: f64,
    /// Number of innovations used.
    pub nu: usize,
}

/// Stationary covariance of the ARMA block (see the module docs).
pub(crate) fn q0(phi: &[f64], theta: &[f64]) -> Vec<f64> {
    let p = phi.len();
    let q = theta.len();
    let r = p.max(q + 1);
    let mut rv = vec![0.0; r];
    rv[0] = 1.0;
    rv[1..=q].copy_from_slice(theta);
    if r == 1 {
        return vec![if p == 0 {
            1.0
        } else {
            1.0 / (1.0 - phi[0] * phi[0])
        }];
    }
    let mut qm = vec![0.0; r * r];
    for i in 0..r {
        for j in 0..r {
            qm[i * r + j] = rv[i] * rv[j];
        }
    }
    let mut a = vec![0.0; r * r];
    for i in 0..p {
        a[i * r] = phi[i];
    }
    for i in 0..r - 1 {
        a[i * r + i + 1] = 1.0;
    }
    let mut tmp = vec![0.0; r * r];
    let mut next = vec![0.0; r * r];
    for _ in 0..128 {
        // qm += a qm aᵀ
        matmul(&a, &qm, &mut tmp, r);
        matmul_t(&tmp, &a, &mut next, r);
        let mut change = 0.0f64;
        let mut scale = 0.0f64;
        for (x, dx) in qm.iter_mut().zip(&next) {
            *x += dx;
            change = change.max(dx.abs());
            scale = scale.max(x.abs());
        }
        matmul(&a, &a, &mut tmp, r);
        std::mem::swap(&mut a, &mut tmp);
        let amax = a.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        if change <= 1e-18 * scale && amax < 1e-9 || amax == 0.0 || !amax.is_finite() {
            break;
        }
    }
    qm
}

fn matmul(a: &[f64], b: &[f64], out: &mut [f64], n: usize) {
    out.iter_mut().for_each(|x| *x = 0.0);
    for i in 0..n {
        for k in 0..n {
            let aik = a[i * n + k];
            if aik != 0.0 {
                for j in 0..n {
                    out[i * n + j] += aik * b[k * n + j];
                }
            }
        }
    }
}

fn matmul_t(a: &[f64], b: &[f64], out: &mut [f64], n: usize) {
    // out = a bᵀ
    for i in 0..n {
        for j in 0..n {
            let mut s = 0.0;
            for k in 0..n {
                s += a[i * n + k] * b[j * n + k];
            }
            out[i * n + j] = s;
        }
    }
}

impl StateSpace {
    /// statsforecast's `make_arima`: zero state, `Pn` = stationary covariance of the ARMA block
    /// and `kappa` on the diagonal of the diffuse block.
    pub(crate) fn new(phi: &[f64], theta: &[f64], delta: &[f64]) -> StateSpace {
        let p = phi.len();
        let q = theta.len();
        let r = p.max(q + 1);
        let d = delta.len();
        let rd = r + d;
        let mut th = theta.to_vec();
        th.resize(r - 1, 0.0);
        let mut ss = StateSpace {
            phi: phi.to_vec(),
            theta: th,
            delta: delta.to_vec(),
            r,
            a: vec![0.0; rd],
            p: vec![0.0; rd * rd],
            pn: vec![0.0; rd * rd],
            steady: false,
        };
        ss.set_q0();
        for i in 0..d {
            ss.pn[(r + i) * rd + r + i] = KAPPA;
        }
        ss
    }

    fn rd(&self) -> usize {
        self.r + self.delta.len()
    }

    fn set_q0(&mut self) {
        let r = self.r;
        let rd = self.rd();
        let q = q0(&self.phi, &self.theta);
        for i in 0..r {
            for j in 0..r {
                self.pn[i * rd + j] = q[i * r + j];
            }
        }
    }

    /// statsforecast's `upARIMA`: new coefficients (same orders), `Pn`'s ARMA block reset to
    /// their stationary covariance, the state to zero. The rest of `Pn` keeps what the last
    /// pass left there, exactly as statsforecast (its filter writes `Pn` in place and `upARIMA`
    /// resets only the ARMA block); the ML objective depends on this.
    pub(crate) fn update(&mut self, phi: &[f64], theta: &[f64]) {
        self.phi.copy_from_slice(phi);
        self.theta.iter_mut().for_each(|x| *x = 0.0);
        self.theta[..theta.len()].copy_from_slice(theta);
        self.set_q0();
        self.a.iter_mut().for_each(|x| *x = 0.0);
        self.steady = false;
    }

    /// `out = T x` for a row-major `rd × rd` matrix `x` (rows transformed).
    fn t_rows(&self, x: &[f64], out: &mut [f64]) {
        let (r, rd, p) = (self.r, self.rd(), self.phi.len());
        for i in 0..rd {
            let row = &mut out[i * rd..(i + 1) * rd];
            if i < r {
                if i + 1 < r {
                    row.copy_from_slice(&x[(i + 1) * rd..(i + 2) * rd]);
                } else {
                    row.iter_mut().for_each(|v| *v = 0.0);
                }
                if i < p && self.phi[i] != 0.0 {
                    // Seasonal AR polynomials are mostly zeros: skip them.
                    let f = self.phi[i];
                    for (v, x0) in row.iter_mut().zip(&x[..rd]) {
                        *v += f * x0;
                    }
                }
            } else if i == r {
                row.copy_from_slice(&x[..rd]);
                for (k, dk) in self.delta.iter().enumerate() {
                    if *dk != 0.0 {
                        let src = &x[(r + k) * rd..(r + k + 1) * rd];
                        for (v, s) in row.iter_mut().zip(src) {
                            *v += dk * s;
                        }
                    }
                }
            } else {
                row.copy_from_slice(&x[(i - 1) * rd..i * rd]);
            }
        }
    }

    /// `out = x Tᵀ` (columns transformed).
    fn t_cols(&self, x: &[f64], out: &mut [f64]) {
        let (r, rd, p) = (self.r, self.rd(), self.phi.len());
        for i in 0..rd {
            let src = &x[i * rd..(i + 1) * rd];
            let dst = &mut out[i * rd..(i + 1) * rd];
            let s0 = src[0];
            dst[..r - 1].copy_from_slice(&src[1..r]);
            dst[r - 1] = 0.0;
            for (d, f) in dst[..p].iter_mut().zip(&self.phi) {
                *d += f * s0;
            }
            if rd > r {
                let mut v = s0;
                for (k, dk) in self.delta.iter().enumerate() {
                    if *dk != 0.0 {
                        v += dk * src[r + k];
                    }
                }
                dst[r] = v;
                dst[r + 1..rd].copy_from_slice(&src[r..rd - 1]);
            }
        }
    }

    /// `out = T a` for a state vector `a`.
    fn t_state_into(&self, a: &[f64], out: &mut [f64]) {
        let (r, rd, p) = (self.r, self.rd(), self.phi.len());
        for i in 0..r {
            let mut v = if i + 1 < r { a[i + 1] } else { 0.0 };
            if i < p {
                v += self.phi[i] * a[0];
            }
            out[i] = v;
        }
        if rd > r {
            let mut v = a[0];
            for (k, dk) in self.delta.iter().enumerate() {
                v += dk * a[r + k];
            }
            out[r] = v;
            out[r + 1..rd].copy_from_slice(&a[r..rd - 1]);
        }
    }

    /// `out = T P Tᵀ + V` (the predicted covariance), with `mm` as scratch.
    fn predict_cov_into(&self, mm: &mut [f64], out: &mut [f64]) {
        let rd = self.rd();
        self.t_rows(&self.p, mm);
        self.t_cols(mm, out);
        let q = self.theta.len();
        for i in 0..=q {
            let vi = if i == 0 { 1.0 } else { self.theta[i - 1] };
            if vi == 0.0 {
                continue;
            }
            for j in 0..=q {
                let vj = if j == 0 { 1.0 } else { self.theta[j - 1] };
                out[i * rd + j] += vi * vj;
            }
        }
    }

    /// `Pnew = T P Tᵀ + V` written into `pn`.
    fn predict_cov(&mut self, mm: &mut [f64]) {
        let mut pn = std::mem::take(&mut self.pn);
        self.predict_cov_into(mm, &mut pn);
        self.pn = pn;
    }

    /// One pass of statsforecast's `arima_like` over `y` with `up = 0`: the first observation
    /// uses the prior `Pn` as it stands, later ones `T P Tᵀ + V`. With `continue_from_state`
    /// every observation, the first included, is predicted from the current `(a, P)`: the pass
    /// then continues an earlier one. Standardized innovations go to `resid` when given.
    ///
    /// Steady state (not in R or statsforecast, which update `P` at every step): once a
    /// predicted covariance equals the previous one to [`STEADY_TOL`], `P`, the gain and the
    /// Kalman vector no longer change, so the pass stops updating them and each later step costs
    /// O(r + d) instead of O((r + d)²). This is what makes the long seasonal fits and the
    /// AutoARIMA search cheap; the parity fixtures pass unchanged.
    pub(crate) fn filter(
        &mut self,
        y: &[f64],
        continue_from_state: bool,
        mut resid: Option<&mut Vec<f64>>,
    ) -> LikeOut {
        let (r, rd) = (self.r, self.rd());
        let d = self.delta.len();
        let mut mm = vec![0.0; rd * rd];
        let mut next = vec![0.0; rd * rd];
        let mut m = vec![0.0; rd];
        let mut anew = vec![0.0; rd];
        let mut gain = f64::NAN;
        let mut steady = self.steady;
        let mut out = LikeOut {
            ssq: 0.0,
            sumlog: 0.0,
            nu: 0,
        };
        for (l, &yl) in y.iter().enumerate() {
            self.t_state_into(&self.a, &mut anew);
            let mut cov_changed = l == 0;
            if !steady && (l > 0 || continue_from_state) {
                self.predict_cov_into(&mut mm, &mut next);
                steady = gain.is_finite() && within(&next, &self.pn, STEADY_TOL);
                if !steady {
                    // Once steady, `Pn` stays the one the gain was computed from.
                    std::mem::swap(&mut self.pn, &mut next);
                }
                cov_changed = !steady;
            }
            if cov_changed || gain.is_nan() {
                let pn = &self.pn;
                m.copy_from_slice(&pn[..rd]);
                for j in 0..d {
                    let dj = self.delta[j];
                    if dj != 0.0 {
                        // Row r + j of Pn, as R and statsforecast read it (`Pnew[i + rd*(r+j)]`).
                        for (mi, v) in m.iter_mut().zip(&pn[(r + j) * rd..(r + j + 1) * rd]) {
                            *mi += v * dj;
                        }
                    }
                }
                gain = m[0];
                for j in 0..d {
                    gain += self.delta[j] * m[r + j];
                }
            }
            let mut resid0 = yl - anew[0];
            for i in 0..d {
                resid0 -= self.delta[i] * anew[r + i];
            }
            if gain < 1e4 {
                out.nu += 1;
                out.ssq += resid0 * resid0 / gain;
                out.sumlog += gain.ln();
            }
            if let Some(res) = resid.as_deref_mut() {
                res.push(resid0 / gain.sqrt());
            }
            let k = resid0 / gain;
            for i in 0..rd {
                self.a[i] = anew[i] + m[i] * k;
            }
            if cov_changed {
                let pn = &self.pn;
                for i in 0..rd {
                    let mi = m[i] / gain;
                    let (prow, pnrow) =
                        (&mut self.p[i * rd..(i + 1) * rd], &pn[i * rd..(i + 1) * rd]);
                    for ((pv, pnv), mj) in prow.iter_mut().zip(pnrow).zip(&m) {
                        *pv = pnv - mi * mj;
                    }
                }
            }
        }
        self.steady = steady;
        out
    }

    /// statsforecast's `kalman_forecast` from the filtered state: the `h` point forecasts of the
    /// ARIMA part and their variances in units of sigma².
    pub(crate) fn forecast(&self, h: usize) -> (Vec<f64>, Vec<f64>) {
        let (r, rd) = (self.r, self.rd());
        let mut work = self.clone();
        let mut mm = vec![0.0; rd * rd];
        let mut z = vec![0.0; rd];
        z[0] = 1.0;
        z[r..].copy_from_slice(&self.delta);
        let mut point = Vec::with_capacity(h);
        let mut var = Vec::with_capacity(h);
        for _ in 0..h {
            let mut a = std::mem::take(&mut work.a);
            work.t_state_into(&a.clone(), &mut a);
            work.a = a;
            point.push(work.a.iter().zip(&z).map(|(a, z)| a * z).sum());
            work.predict_cov(&mut mm);
            std::mem::swap(&mut work.p, &mut work.pn);
            let mut s = 0.0;
            for i in 0..rd {
                if z[i] != 0.0 {
                    for j in 0..rd {
                        s += z[i] * z[j] * work.p[i * rd + j];
                    }
                }
            }
            var.push(s);
        }
        (point, var)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q0_matches_statsforecasts_get_q0() {
        // statsforecast 2.1.1: getQ0(np.array([0.5, 0.2]), np.array([0.4]))
        // = [[2.83760684, 0.85470085], [0.85470085, 0.27350427]].
        let q = q0(&[0.5, 0.2], &[0.4]);
        let want = [
            2.837606837606837,
            0.854700854700854,
            0.854700854700854,
            0.273504273504273,
        ];
        for (a, b) in q.iter().zip(&want) {
            assert!((a - b).abs() < 1e-9, "{q:?}");
        }
    }

    #[test]
    fn filter_matches_statsforecasts_arima_like() {
        // statsforecast 2.1.1: y = np.cumsum(np.random.default_rng(0).normal(size=20)),
        // arima_like(y, [0.5], [0.3], [1.0], make_arima(...)) gave ssq 16.54993705962474,
        // sumlog 0.6615157834026631, nu 19 and final a [1.04251337, 0.20090847, -4.70607972].
        let y = [
            0.1257302210933933,
            -0.006374642197908592,
            0.6340480082453734,
            0.7389481253984131,
            0.20327875223730218,
            0.5648738071467869,
            1.8688738522769242,
            2.815954815406166,
            2.1122195795991736,
            0.8467981085531211,
            0.2235236460157689,
            0.2648496253630125,
            -2.060181149275822,
            -2.2789728132083678,
            -3.524883760461433,
            -4.257151115164884,
            -4.801410098022194,
            -5.117710254391348,
            -4.7060797180172145,
            -3.6635663485745367,
        ];
        let mut ss = StateSpace::new(&[0.5], &[0.3], &[1.0]);
        let out = ss.filter(&y, false, None);
        assert_eq!(out.nu, 19);
        assert!((out.ssq - 16.54993705962474).abs() < 1e-6, "{}", out.ssq);
        assert!(
            (out.sumlog - 0.6615157834026631).abs() < 1e-6,
            "{}",
            out.sumlog
        );
    }

    /// The textbook dense filter (`Pn = T P Tᵀ + V` and `P = Pn − m mᵀ/g` at every step, no
    /// steady state), the reference for the steady-state shortcut.
    fn dense_filter(ss: &StateSpace, y: &[f64]) -> (f64, f64, usize) {
        let (r, d) = (ss.r, ss.delta.len());
        let rd = r + d;
        let mut t = vec![0.0; rd * rd];
        for (i, f) in ss.phi.iter().enumerate() {
            t[i * rd] = *f;
        }
        for i in 0..r - 1 {
            t[i * rd + i + 1] = 1.0;
        }
        if d > 0 {
            t[r * rd] = 1.0;
            for (k, dk) in ss.delta.iter().enumerate() {
                t[r * rd + r + k] = *dk;
            }
            for i in 1..d {
                t[(r + i) * rd + r + i - 1] = 1.0;
            }
        }
        let mut v = vec![0.0; rd];
        v[0] = 1.0;
        v[1..r].copy_from_slice(&ss.theta);
        let mut z = vec![0.0; rd];
        z[0] = 1.0;
        z[r..].copy_from_slice(&ss.delta);
        let mut a = vec![0.0; rd];
        let mut p = vec![0.0; rd * rd];
        let mut pn = ss.pn.clone();
        let (mut ssq, mut sumlog, mut nu) = (0.0, 0.0, 0);
        for (l, &yl) in y.iter().enumerate() {
            let anew: Vec<f64> = (0..rd)
                .map(|i| (0..rd).map(|j| t[i * rd + j] * a[j]).sum())
                .collect();
            if l > 0 {
                for i in 0..rd {
                    for j in 0..rd {
                        let mut acc = v[i] * v[j];
                        for k in 0..rd {
                            for m in 0..rd {
                                acc += t[i * rd + k] * p[k * rd + m] * t[j * rd + m];
                            }
                        }
                        pn[i * rd + j] = acc;
                    }
                }
            }
            let m: Vec<f64> = (0..rd)
                .map(|i| (0..rd).map(|j| pn[i * rd + j] * z[j]).sum())
                .collect();
            let gain: f64 = (0..rd).map(|i| z[i] * m[i]).sum();
            let resid = yl - (0..rd).map(|i| z[i] * anew[i]).sum::<f64>();
            if gain < 1e4 {
                nu += 1;
                ssq += resid * resid / gain;
                sumlog += gain.ln();
            }
            for i in 0..rd {
                a[i] = anew[i] + m[i] * resid / gain;
                for j in 0..rd {
                    p[i * rd + j] = pn[i * rd + j] - m[i] * m[j] / gain;
                }
            }
        }
        (ssq, sumlog, nu)
    }

    #[test]
    fn steady_state_shortcut_matches_the_dense_filter() {
        // ARIMA(2,1,1) on 400 rows: the filter converges within a few dozen steps, after which
        // the shortcut freezes P; the likelihood terms must still equal the dense filter's to
        // 1e-11 relative (the frozen gain is off by rounding noise, summed over the remaining
        // rows; the fit's own tolerance is 1e-8), and the pass must report the steady state.
        let mut y = Vec::with_capacity(400);
        let (mut level, mut e1, mut w1, mut w2) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for t in 0..400 {
            let e = ((t * 7919 % 101) as f64 / 101.0 - 0.5) * 2.0;
            let w = 0.5 * w1 - 0.2 * w2 + e + 0.3 * e1;
            (w2, w1, e1) = (w1, w, e);
            level += w;
            y.push(level);
        }
        let mut ss = StateSpace::new(&[0.5, -0.2], &[0.3], &[1.0]);
        let reference = dense_filter(&ss, &y);
        let out = ss.filter(&y, false, None);
        assert!(
            ss.steady,
            "400 rows of an ARIMA(2,1,1) reach the steady state"
        );
        assert_eq!(out.nu, reference.2);
        assert!(
            (out.ssq - reference.0).abs() <= 1e-11 * reference.0,
            "{} {}",
            out.ssq,
            reference.0
        );
        assert!(
            (out.sumlog - reference.1).abs() <= 1e-11 * reference.1.abs().max(1.0),
            "{} {}",
            out.sumlog,
            reference.1
        );
    }
}
