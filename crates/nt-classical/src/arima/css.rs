//! The conditional sum of squares of R's `arima` (statsforecast 2.1.1's C++ `arima_css`).

use super::transform::Arma;

/// Mean squared one-step residual of the differenced series conditioned on its first
/// `ncond = d + s·D + p + s·P` values (statsforecast computes `ncond` the same way); returns
/// `(ssq / nu, residuals)` with residuals 0 over the conditioning rows.
pub(crate) fn css(y: &[f64], arma: &Arma, phi: &[f64], theta: &[f64]) -> (f64, Vec<f64>) {
    let n = y.len();
    let mut w = y.to_vec();
    for _ in 0..arma.d {
        for l in (1..n).rev() {
            w[l] -= w[l - 1];
        }
    }
    let ns = arma.season;
    for _ in 0..arma.sd {
        for l in (ns..n).rev() {
            w[l] -= w[l - ns];
        }
    }
    let ncond = arma.d + arma.sd * ns + arma.p + arma.sp * ns;
    let mut resid = vec![0.0; n];
    let mut ssq = 0.0;
    let mut nu = 0usize;
    // Seasonal polynomials are mostly zeros; only the non-zero lags are visited (a zero term
    // changes nothing).
    let ar: Vec<(usize, f64)> = nonzero(phi);
    let ma: Vec<(usize, f64)> = nonzero(theta);
    for l in ncond.min(n)..n {
        let mut tmp = w[l];
        for &(j, c) in ar.iter().take_while(|(j, _)| *j < l) {
            tmp -= c * w[l - j - 1];
        }
        for &(j, c) in ma.iter().take_while(|(j, _)| *j < l - ncond) {
            tmp -= c * resid[l - j - 1];
        }
        resid[l] = tmp;
        if !tmp.is_nan() {
            nu += 1;
            ssq += tmp * tmp;
        }
    }
    (ssq / nu as f64, resid)
}

/// The non-zero coefficients of a polynomial with their 0-based lags.
fn nonzero(poly: &[f64]) -> Vec<(usize, f64)> {
    poly.iter()
        .enumerate()
        .filter(|(_, c)| **c != 0.0)
        .map(|(j, c)| (j, *c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_statsforecast() {
        // statsforecast 2.1.1: arima_css(np.cumsum(np.random.default_rng(0).normal(size=20)),
        // arma=[1, 1, 0, 0, 1, 1, 0], phi=[0.5], theta=[0.3])[0] = 0.9184569659412793.
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
        let arma = Arma {
            p: 1,
            q: 1,
            sp: 0,
            sq: 0,
            season: 1,
            d: 1,
            sd: 0,
        };
        let (s, _) = css(&y, &arma, &[0.5], &[0.3]);
        assert!((s - 0.9184569659412793).abs() < 1e-12, "{s}");
    }
}
