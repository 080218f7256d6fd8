//! The survival function of the two-sided one-sample Kolmogorov–Smirnov statistic `D_n` for a
//! finite `n`: a port of scipy's `kstwo.sf` (`scipy/stats/_ksstats.py`, `_kolmogn` with
//! `cdf=False`, after Simard & L'Ecuyer 2011), which `scipy.stats.ks_2samp` uses for its
//! asymptotic two-sided p-value with `n = round(m·n / (m + n))`.
//!
//! The regions and algorithms follow scipy's choices exactly: Ruben–Gambino near the ends of
//! the support, twice the one-sided Smirnov probability where that is exact or accurate, the
//! Durbin matrix (Marsaglia–Tsang–Wang), the Pomeranz recursion for `n ≤ 140`, and the
//! Pelz–Good series for large `n`. scipy evaluates the one-sided Smirnov probability in
//! double-double arithmetic; here the Birnbaum–Tingey sum of positive terms is evaluated in
//! log space, which agrees to about 1e-13 relative in the ranges used.

use std::f64::consts::PI;

const E128: i32 = 128;
const MIN_LOG: f64 = -708.0;
#[allow(clippy::excessive_precision)] // scipy's constants, as written there.
const STIRLING_COEFFS: [f64; 8] = [
    -2.955065359477124183e-2,
    6.4102564102564102564e-3,
    -1.9175269175269175269e-3,
    8.4175084175084175084e-4,
    -5.952380952380952381e-4,
    7.9365079365079365079e-4,
    -2.7777777777777777778e-3,
    8.3333333333333333333e-2,
];

fn ep128() -> f64 {
    libm::ldexp(1.0, E128)
}

fn em128() -> f64 {
    libm::ldexp(1.0, -E128)
}

fn clip(p: f64) -> f64 {
    p.clamp(0.0, 1.0)
}

fn polyval(coeffs: &[f64], x: f64) -> f64 {
    coeffs.iter().fold(0.0, |acc, &c| acc * x + c)
}

fn log_nfactorial_div_n_pow_n(n: f64) -> f64 {
    let rn = 1.0 / n;
    n.ln() / 2.0 - n + (2.0 * PI).ln() / 2.0 + rn * polyval(&STIRLING_COEFFS, rn / n)
}

/// `P(D_n > x)` for the two-sided statistic of a sample of size `n ≥ 1` (scipy's
/// `kstwo.sf(x, n)`), including its support handling: 1 for `x ≤ 1/(2n)`, 0 for `x ≥ 1`.
pub(crate) fn kolmogorov_sf(n: u64, x: f64) -> f64 {
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    let nf = n as f64;
    if x <= 0.5 / nf {
        return 1.0;
    }
    if x >= 1.0 {
        return 0.0;
    }
    let t = nf * x;
    if t <= 1.0 {
        // Ruben–Gambino: 1/2n <= x <= 1/n.
        let cdf = if n <= 140 {
            (1..=n).fold(1.0, |acc, i| {
                acc * (i as f64 * (1.0 / nf) * (2.0 * t - 1.0))
            })
        } else {
            (log_nfactorial_div_n_pow_n(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return clip(1.0 - cdf);
    }
    if t >= nf - 1.0 {
        return clip(2.0 * (1.0 - x).powf(nf));
    }
    if x >= 0.5 {
        return clip(2.0 * smirnov_sf(n, x));
    }
    let nxsquared = t * x;
    if n <= 140 {
        if nxsquared <= 0.754693 {
            return clip(1.0 - durbin_mtw_cdf(n, x));
        }
        if nxsquared <= 4.0 {
            return clip(1.0 - pomeranz_cdf(n, x));
        }
        return clip(2.0 * smirnov_sf(n, x));
    }
    if nxsquared >= 370.0 {
        return 0.0;
    }
    if nxsquared >= 2.2 {
        return clip(2.0 * smirnov_sf(n, x));
    }
    let cdf = if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        durbin_mtw_cdf(n, x)
    } else {
        pelz_good_cdf(n, x)
    };
    clip(1.0 - cdf)
}

/// The one-sided Smirnov survival function `P(D_n^+ > x)` by the Birnbaum–Tingey sum
/// `x Σ_{v=0}^{⌊n(1−x)⌋} C(n,v) (x + v/n)^(v−1) (1 − x − v/n)^(n−v)`, each term in log space.
pub(crate) fn smirnov_sf(n: u64, x: f64) -> f64 {
    if n == 0 || !(0.0..=1.0).contains(&x) {
        return f64::NAN;
    }
    let nf = n as f64;
    if n == 1 {
        return 1.0 - x;
    }
    if x == 0.0 {
        return 1.0;
    }
    if x == 1.0 {
        return 0.0;
    }
    let nx = nf * x;
    let nxfl = nx.floor();
    if nxfl == 0.0 {
        // x < 1/n: the cdf is x (1 + x)^(n-1).
        return 1.0 - x * (1.0 + x).powf(nf - 1.0);
    }
    if -2.0 * nf * x * x < -708.3964185322641 {
        return 0.0;
    }
    if nxfl >= nf - 1.0 {
        return (1.0 - x).powf(nf);
    }
    // Terms with 1 - x - v/n > 0; a remainder of exactly 0 drops the last (zero) term.
    let last = {
        let mut v = (nf - nx).floor() as u64;
        if (nf - nx).fract() == 0.0 {
            v = v.saturating_sub(1);
        }
        v.min(n)
    };
    let lg_n1 = libm::lgamma(nf + 1.0);
    let mut sum = 0.0;
    for v in 0..=last {
        let vf = v as f64;
        let up = x + vf / nf;
        let down = 1.0 - up;
        if down <= 0.0 {
            break;
        }
        let log_c = lg_n1 - libm::lgamma(vf + 1.0) - libm::lgamma(nf - vf + 1.0);
        let term = log_c + (vf - 1.0) * up.ln() + (nf - vf) * (-up).ln_1p();
        if term > MIN_LOG - 38.0 {
            sum += term.exp();
        }
    }
    (x * sum).clamp(0.0, 1.0)
}

fn matmul(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * m];
    for i in 0..m {
        for k in 0..m {
            let aik = a[i * m + k];
            if aik == 0.0 {
                continue;
            }
            for j in 0..m {
                c[i * m + j] += aik * b[k * m + j];
            }
        }
    }
    c
}

/// `P(D_n ≤ d)` by the Durbin matrix algorithm as Marsaglia, Tsang & Wang (2003) compute it.
fn durbin_mtw_cdf(n: u64, d: f64) -> f64 {
    if d >= 1.0 {
        return 1.0;
    }
    let nf = n as f64;
    let nd = nf * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    let mut v: Vec<f64> = (1..=m).map(|j| 1.0 - h.powi(j as i32)).collect();
    let mut w = vec![0.0; m];
    let mut fac = 1.0;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] *= fac;
    }
    let tt = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    v[m - 1] = (1.0 + tt) * fac;
    let mut hm = vec![0.0; m * m];
    for i in 1..m {
        for (r, wv) in (i - 1..m).zip(w.iter()) {
            hm[r * m + i] = *wv;
        }
    }
    for r in 0..m {
        hm[r * m] = v[r];
    }
    for c in 0..m {
        hm[(m - 1) * m + c] = v[m - 1 - c];
    }
    let mut pwr = vec![0.0; m * m];
    for i in 0..m {
        pwr[i * m + i] = 1.0;
    }
    let mut nn = n;
    let mut expnt: i32 = 0;
    let mut h_expnt: i32 = 0;
    while nn > 0 {
        if nn % 2 == 1 {
            pwr = matmul(&pwr, &hm, m);
            expnt += h_expnt;
        }
        hm = matmul(&hm, &hm, m);
        h_expnt *= 2;
        if hm[(k - 1) * m + (k - 1)].abs() > ep128() {
            for x in hm.iter_mut() {
                *x /= ep128();
            }
            h_expnt += E128;
        }
        nn /= 2;
    }
    let mut p = pwr[(k - 1) * m + (k - 1)];
    for i in 1..=n {
        p = i as f64 * p / nf;
        if p.abs() < em128() {
            p *= ep128();
            expnt -= E128;
        }
    }
    if expnt != 0 {
        p = libm::ldexp(p, expnt);
    }
    clip(p)
}

fn pomeranz_j1j2(i: i64, n: i64, ll: i64, ceilf: i64, roundf: i64) -> (i64, i64) {
    let (j1, j2) = if i == 0 {
        (-ll - ceilf - 1, ll + ceilf - 1)
    } else {
        let (ip1div2, ip1mod2) = ((i + 1) / 2, (i + 1) % 2);
        if ip1mod2 == 0 {
            if ip1div2 == n + 1 {
                (n - ll - ceilf - 1, n + ll + ceilf - 1)
            } else {
                (ip1div2 - 1 - ll - roundf - 1, ip1div2 + ll - 1 + ceilf - 1)
            }
        } else {
            (ip1div2 - 1 - ll - 1, ip1div2 + ll + roundf - 1)
        }
    };
    ((j1 + 2).max(0), j2.min(n))
}

/// `P(D_n ≤ x)` by the Pomeranz (1974) recursion.
fn pomeranz_cdf(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    let ni = n as i64;
    let t = nf * x;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceilf = i64::from(f > 0.0);
    let roundf = i64::from(f > 0.5);
    let npwrs = (2 * (ll + 1)) as usize;
    let mut gpower = vec![1.0; npwrs];
    let mut twogpower = vec![1.0; npwrs];
    let mut onem2gpower = vec![1.0; npwrs];
    let (g_n, two_g_n, one_m2g_n) = (g / nf, 2.0 * g / nf, (1.0 - 2.0 * g) / nf);
    for m in 1..npwrs {
        gpower[m] = gpower[m - 1] * g_n / m as f64;
        twogpower[m] = twogpower[m - 1] * two_g_n / m as f64;
        onem2gpower[m] = onem2gpower[m - 1] * one_m2g_n / m as f64;
    }
    let mut v0 = vec![0.0; npwrs];
    let mut v1 = vec![0.0; npwrs];
    v1[0] = 1.0;
    let (mut v0s, mut v1s): (i64, i64) = (0, 0);
    let mut expnt: i32 = 0;
    let (mut j1, mut _j2) = pomeranz_j1j2(0, ni, ll, ceilf, roundf);
    for i in 1..(2 * ni + 2) {
        let k1 = j1;
        std::mem::swap(&mut v0, &mut v1);
        std::mem::swap(&mut v0s, &mut v1s);
        v1.iter_mut().for_each(|x| *x = 0.0);
        let (nj1, nj2) = pomeranz_j1j2(i, ni, ll, ceilf, roundf);
        j1 = nj1;
        _j2 = nj2;
        let pwrs = if i == 1 || i == 2 * ni + 1 {
            &gpower
        } else if i % 2 == 1 {
            &twogpower
        } else {
            &onem2gpower
        };
        let ln2 = nj2 - k1 + 1;
        if ln2 > 0 {
            let ln2u = ln2 as usize;
            let start = (k1 - v0s).max(0) as usize;
            let a = &v0[start.min(v0.len())..(start + ln2u).min(v0.len())];
            let b = &pwrs[..ln2u.min(pwrs.len())];
            // numpy's full convolution, entries conv_start .. conv_start + conv_len.
            let conv_start = (nj1 - k1).max(0) as usize;
            let conv_len = (nj2 - nj1 + 1).max(0) as usize;
            let full = if a.is_empty() || b.is_empty() {
                0
            } else {
                a.len() + b.len() - 1
            };
            for (out, idx) in (conv_start..(conv_start + conv_len).min(full)).enumerate() {
                let lo = idx.saturating_sub(b.len() - 1);
                let s: f64 = (lo..=idx.min(a.len() - 1))
                    .map(|ai| a[ai] * b[idx - ai])
                    .sum();
                v1[out] = s;
            }
            let vmax = v1.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            if 0.0 < vmax && vmax < em128() {
                v1.iter_mut().for_each(|x| *x *= ep128());
                expnt -= E128;
            }
            v1s = v0s + nj1 - k1;
        }
    }
    let mut ans = v1[(ni - v1s) as usize];
    for m in 1..=n {
        if ans.abs() > ep128() {
            ans *= em128();
            expnt += E128;
        }
        ans *= m as f64;
    }
    if expnt != 0 {
        ans = libm::ldexp(ans, expnt);
    }
    clip(ans)
}

/// `P(D_n ≤ x)` by the Pelz–Good (1976) asymptotic series.
fn pelz_good_cdf(n: u64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let nf = n as f64;
    let z = nf.sqrt() * x;
    let (zsquared, zthree, zfour, zsix) = (z * z, z.powi(3), z.powi(4), z.powi(6));
    let pi2 = PI * PI;
    let pi4 = pi2 * pi2;
    let pi6 = pi4 * pi2;
    let qlog = -pi2 / 8.0 / zsquared;
    if qlog < MIN_LOG {
        return 0.0;
    }
    let q = qlog.exp();
    let k1a = -zsquared;
    let k1b = pi2 / 4.0;
    let k2a = 6.0 * zsix + 2.0 * zfour;
    let k2b = (2.0 * zfour - 5.0 * zsquared) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * zsquared) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * zsquared) / 64.0;
    let k3c = pi4 * (-60.0 * zsquared + 212.0 * zfour) / 16.0;
    let k3b = pi2 * (135.0 * zfour - 96.0 * zsix) / 4.0;
    let k3a = -30.0 * zsix - 90.0 * z.powi(8);
    let mut k = [0.0f64; 4];
    let maxk = (16.0 * z / PI).ceil() as i64;
    for kk in (1..=maxk).rev() {
        let m = (2 * kk - 1) as f64;
        let (m2, m4, m6) = (m * m, m.powi(4), m.powi(6));
        let qpower = q.powf(8.0 * kk as f64);
        let coeffs = [
            1.0,
            k1a + k1b * m2,
            k2a + k2b * m2 + k2c * m4,
            k3a + k3b * m2 + k3c * m4 + k3d * m6,
        ];
        for (kv, c) in k.iter_mut().zip(coeffs) {
            *kv = *kv * qpower + c;
        }
    }
    let sqrt2pi = (2.0 * PI).sqrt();
    let div = [z, 6.0 * zfour, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (kv, dv) in k.iter_mut().zip(div) {
        *kv = *kv * q * sqrt2pi / dv;
    }
    let q = (-pi2 / 2.0 / zsquared).exp();
    let sqrt3z = 3f64.sqrt() * z;
    let mut k2extra = 0.0;
    let mut k3extra = 0.0;
    for kk in (1..=maxk).rev() {
        let ks = kk as f64;
        let ks2 = ks * ks;
        let qp = q.powf(ks2);
        k2extra += ks2 * qp;
        let kspi = PI * ks;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ks2 * qp;
    }
    k[2] += k2extra * pi2 * sqrt2pi / (-36.0 * zthree);
    k[3] += k3extra * pi2 * sqrt2pi / (216.0 * zsix);
    for (i, kv) in k.iter_mut().enumerate() {
        *kv /= nf.powf(i as f64 / 2.0);
    }
    k.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Values from scipy 1.17: `scipy.stats.kstwo.sf(x, n)` and `scipy.special.smirnov(n, x)`.
    #[test]
    fn support_ends() {
        assert_eq!(kolmogorov_sf(10, 0.04), 1.0);
        assert_eq!(kolmogorov_sf(10, 1.0), 0.0);
        assert!((smirnov_sf(1, 0.3) - 0.7).abs() < 1e-15);
    }
}
