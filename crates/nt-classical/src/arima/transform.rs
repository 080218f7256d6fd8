//! Parameter transformations of R's `arima` as statsforecast 2.1.1 keeps them (its C++
//! `arima_transpar`, `partrans`, `invpartrans`, `arima_undopars`): the tanh/Durbin–Levinson map
//! that keeps the AR parts stationary during ML, and the expansion of the seasonal ARMA
//! polynomials into one long AR and one long MA polynomial.

/// The orders of a (seasonal) ARMA model, in statsforecast's `arma` layout:
/// `(p, q, P, Q, season, d, D)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Arma {
    /// Non-seasonal AR order.
    pub p: usize,
    /// Non-seasonal MA order.
    pub q: usize,
    /// Seasonal AR order.
    pub sp: usize,
    /// Seasonal MA order.
    pub sq: usize,
    /// Season length (1 when non-seasonal).
    pub season: usize,
    /// Non-seasonal differences.
    pub d: usize,
    /// Seasonal differences.
    pub sd: usize,
}

impl Arma {
    /// Number of ARMA coefficients (`p + q + P + Q`).
    pub(crate) fn narma(&self) -> usize {
        self.p + self.q + self.sp + self.sq
    }
}

/// PACF values in `(-1, 1)` from unconstrained reals (tanh), then the Durbin–Levinson recursion
/// into AR coefficients of a stationary polynomial.
fn partrans(raw: &[f64]) -> Vec<f64> {
    let p = raw.len();
    let mut new: Vec<f64> = raw.iter().map(|x| x.tanh()).collect();
    let mut work = new.clone();
    for j in 1..p {
        let a = new[j];
        for k in 0..j {
            work[k] -= a * new[j - k - 1];
        }
        new[..j].copy_from_slice(&work[..j]);
    }
    new
}

/// The inverse of [`partrans`]: AR coefficients back to unconstrained reals (NaN when the
/// polynomial is not stationary, as in statsforecast, where `atanh` of |x| > 1 is NaN).
fn invpartrans(phi: &[f64]) -> Vec<f64> {
    let p = phi.len();
    let mut new = phi.to_vec();
    let mut work = new.clone();
    for j in (1..p).rev() {
        let a = new[j];
        for k in 0..j {
            work[k] = (new[k] + a * new[j - k - 1]) / (1.0 - a * a);
        }
        new[..j].copy_from_slice(&work[..j]);
    }
    new.iter().map(|x| x.atanh()).collect()
}

/// The long AR (`phi`, length `p + s·P`) and MA (`theta`, length `q + s·Q`) polynomials of
/// `params` (`[ar, ma, sar, sma, ...]`), transforming the AR parts first when `trans`.
pub(crate) fn transpar(params: &[f64], arma: &Arma, trans: bool) -> (Vec<f64>, Vec<f64>) {
    let (mp, mq, msp, msq, ns) = (arma.p, arma.q, arma.sp, arma.sq, arma.season);
    let mut par = params.to_vec();
    if trans {
        if mp > 0 {
            par[..mp].copy_from_slice(&partrans(&params[..mp]));
        }
        let v = mp + mq;
        if msp > 0 {
            par[v..v + msp].copy_from_slice(&partrans(&params[v..v + msp]));
        }
    }
    let p = mp + ns * msp;
    let q = mq + ns * msq;
    let mut phi = vec![0.0; p];
    let mut theta = vec![0.0; q];
    phi[..mp].copy_from_slice(&par[..mp]);
    theta[..mq].copy_from_slice(&par[mp..mp + mq]);
    for j in 0..msp {
        let s = par[j + mp + mq];
        phi[(j + 1) * ns - 1] += s;
        for i in 0..mp {
            phi[(j + 1) * ns + i] -= par[i] * s;
        }
    }
    for j in 0..msq {
        let s = par[j + mp + mq + msp];
        theta[(j + 1) * ns - 1] += s;
        for i in 0..mq {
            theta[(j + 1) * ns + i] += par[i + mp] * s;
        }
    }
    (phi, theta)
}

/// statsforecast's `ARIMA_invtrans`: the AR and seasonal AR blocks of `x` mapped back to the
/// unconstrained scale; the other entries are copied.
pub(crate) fn invtrans(x: &[f64], arma: &Arma) -> Vec<f64> {
    let mut y = x.to_vec();
    if arma.p > 0 {
        y[..arma.p].copy_from_slice(&invpartrans(&x[..arma.p]));
    }
    let v = arma.p + arma.q;
    if arma.sp > 0 {
        y[v..v + arma.sp].copy_from_slice(&invpartrans(&x[v..v + arma.sp]));
    }
    y
}

/// statsforecast's `arima_undopars`: the AR and seasonal AR blocks of `x` transformed to the
/// constrained scale; the other entries are copied.
pub(crate) fn undopars(x: &[f64], arma: &Arma) -> Vec<f64> {
    let mut y = x.to_vec();
    if arma.p > 0 {
        y[..arma.p].copy_from_slice(&partrans(&x[..arma.p]));
    }
    let v = arma.p + arma.q;
    if arma.sp > 0 {
        y[v..v + arma.sp].copy_from_slice(&partrans(&x[v..v + arma.sp]));
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partrans_round_trips() {
        let raw = [0.3, -0.7, 1.2];
        let back = invpartrans(&partrans(&raw));
        for (a, b) in raw.iter().zip(&back) {
            assert!((a - b).abs() < 1e-12, "{raw:?} {back:?}");
        }
    }

    #[test]
    fn seasonal_expansion_multiplies_the_polynomials() {
        // (1 - 0.5B)(1 - 0.4B^4): phi = [0.5, 0, 0, 0.4, -0.2]; (1 + 0.3B)(1 + 0.6B^4):
        // theta = [0.3, 0, 0, 0.6, 0.18].
        let arma = Arma {
            p: 1,
            q: 1,
            sp: 1,
            sq: 1,
            season: 4,
            d: 0,
            sd: 0,
        };
        let (phi, theta) = transpar(&[0.5, 0.3, 0.4, 0.6], &arma, false);
        assert_eq!(phi, vec![0.5, 0.0, 0.0, 0.4, -0.2]);
        let want = [0.3, 0.0, 0.0, 0.6, 0.18];
        for (a, b) in theta.iter().zip(&want) {
            assert!((a - b).abs() < 1e-15);
        }
    }
}
