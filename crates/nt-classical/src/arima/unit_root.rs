//! The differencing tests of statsforecast 2.1.1's `auto_arima_f`: `ndiffs` (repeated KPSS
//! level-stationarity tests, statsmodels' `kpss(x, "c", nlags)`) and `nsdiffs` (the seasonal
//! strength heuristic `seas_heuristic`, threshold 0.64).
//!
//! Seasonal strength: statsforecast decomposes with its `mstl`, which for one period is a single
//! statsmodels `STL(x, period, seasonal=11, seasonal_deg=0).fit()` (trend, low-pass and jumps
//! at statsmodels' defaults, 5 inner and 0 outer loops, not robust). Here the same STL is run
//! with `stlrs` (a port of the same Fortran routine as statsmodels') with every one of those
//! parameters set explicitly. The two implementations share the algorithm but not the code,
//! so the decomposition can differ in the last bits; the 0.64 threshold is only sensitive to
//! that when the strength falls within rounding of it.

use augurs::mstl::stlrs;

/// statsmodels' KPSS critical values for the level ("c") test, at the p-values of
/// [`KPSS_PVALS`].
const KPSS_CRIT: [f64; 4] = [0.347, 0.463, 0.574, 0.739];
/// The p-values of [`KPSS_CRIT`].
const KPSS_PVALS: [f64; 4] = [0.10, 0.05, 0.025, 0.01];

/// The seasonal strength above which `nsdiffs` takes a seasonal difference.
pub(crate) const SEAS_THRESHOLD: f64 = 0.64;

/// statsforecast's `is_constant`: every value equals the first (true for an empty series).
pub(crate) fn is_constant(x: &[f64]) -> bool {
    x.iter().all(|&v| v == x[0])
}

/// `np.interp(v, xp, fp)` for increasing `xp` (clamped at both ends).
fn interp(v: f64, xp: &[f64], fp: &[f64]) -> f64 {
    if v <= xp[0] {
        return fp[0];
    }
    let last = xp.len() - 1;
    if v >= xp[last] {
        return fp[last];
    }
    for i in 0..last {
        if v < xp[i + 1] {
            let w = (v - xp[i]) / (xp[i + 1] - xp[i]);
            return fp[i] + w * (fp[i + 1] - fp[i]);
        }
    }
    fp[last]
}

/// statsmodels' `kpss(x, regression="c", nlags=nlags)`: `(statistic, p-value)`. `None` where
/// statsmodels raises (`nlags >= len(x)`) or the statistic is not finite.
pub(crate) fn kpss_level(x: &[f64], nlags: usize) -> Option<(f64, f64)> {
    let n = x.len();
    if n == 0 || nlags >= n {
        return None;
    }
    let mean = x.iter().sum::<f64>() / n as f64;
    let resid: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let mut cum = 0.0;
    let mut eta = 0.0;
    for r in &resid {
        cum += r;
        eta += cum * cum;
    }
    eta /= (n as f64) * (n as f64);
    // `_sigma_est_kpss`: Bartlett-weighted long-run variance.
    let mut s_hat: f64 = resid.iter().map(|r| r * r).sum();
    for i in 1..=nlags {
        let prod: f64 = resid[i..]
            .iter()
            .zip(&resid[..n - i])
            .map(|(a, b)| a * b)
            .sum();
        s_hat += 2.0 * prod * (1.0 - i as f64 / (nlags as f64 + 1.0));
    }
    s_hat /= n as f64;
    let stat = eta / s_hat;
    if !stat.is_finite() {
        return None;
    }
    Some((stat, interp(stat, &KPSS_CRIT, &KPSS_PVALS)))
}

/// One `run_tests` of `ndiffs`: KPSS with `floor(3·sqrt(n)/13)` lags rejects at `alpha`;
/// a failing test counts as "no difference", as statsforecast's `except` branch does.
fn kpss_rejects(x: &[f64], alpha: f64) -> bool {
    let nlags = (3.0 * (x.len() as f64).sqrt() / 13.0).floor() as usize;
    kpss_level(x, nlags).is_some_and(|(_, p)| p < alpha)
}

/// statsforecast's `ndiffs(x, alpha, test="kpss", max_d)`: the number of first differences
/// (at most `max_d`) after which KPSS no longer rejects level stationarity. NaNs are dropped
/// first. As in statsforecast, each difference also drops the first differenced value
/// (`diff(x, 1, 1)[1:]`).
pub(crate) fn ndiffs(x: &[f64], alpha: f64, max_d: usize) -> usize {
    let alpha = alpha.clamp(0.01, 0.1);
    let mut x: Vec<f64> = x.iter().copied().filter(|v| !v.is_nan()).collect();
    let mut d = 0;
    if is_constant(&x) {
        return d;
    }
    let mut dodiff = kpss_rejects(&x, alpha);
    while dodiff && d < max_d {
        d += 1;
        x = x.windows(2).skip(1).map(|w| w[1] - w[0]).collect();
        if is_constant(&x) {
            return d;
        }
        dodiff = kpss_rejects(&x, alpha);
    }
    d
}

/// statsforecast's `seas_heuristic(x, period)`: `max(0, min(1, 1 - var(R) / var(R + S)))`
/// with the remainder `R` and seasonal `S` of the STL decomposition described in the module
/// doc (sample variances). `None` where the decomposition fails (series shorter than two
/// periods).
pub(crate) fn seasonal_strength(x: &[f64], period: usize) -> Option<f64> {
    const SEASONAL: usize = 11;
    if period < 2 {
        return None;
    }
    // statsmodels' defaults for `trend` and `low_pass`, made odd.
    let mut trend = (1.5 * period as f64 / (1.0 - 1.5 / SEASONAL as f64)).ceil() as usize;
    trend += usize::from(trend % 2 == 0);
    let mut low_pass = period + 1;
    low_pass += usize::from(low_pass % 2 == 0);
    let fit = stlrs::params()
        .seasonal_length(SEASONAL)
        .trend_length(trend)
        .low_pass_length(low_pass)
        .seasonal_degree(0)
        .trend_degree(1)
        .low_pass_degree(1)
        .seasonal_jump(1)
        .trend_jump(1)
        .low_pass_jump(1)
        .inner_loops(5)
        .outer_loops(0)
        .robust(false)
        .fit(x, period)
        .ok()?;
    let rem = fit.remainder();
    let both: Vec<f64> = rem.iter().zip(fit.seasonal()).map(|(r, s)| r + s).collect();
    let strength = 1.0 - sample_var(rem)? / sample_var(&both)?;
    strength.is_finite().then(|| strength.clamp(0.0, 1.0))
}

/// Sample variance (`ddof=1`); `None` below two values.
fn sample_var(x: &[f64]) -> Option<f64> {
    if x.len() < 2 {
        return None;
    }
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    Some(x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0))
}

/// statsforecast's `nsdiffs(x, test="seas", period, max_D)`: the number of seasonal
/// differences (at most `max_d`) while the seasonal strength exceeds 0.64. 0 for a constant
/// series, `period < 2` or `period >= len(x)`; a failed decomposition counts as "no
/// difference" (statsforecast's warning branch).
pub(crate) fn nsdiffs(x: &[f64], period: usize, max_d: usize) -> usize {
    let mut d = 0;
    if is_constant(x) || period < 2 || period >= x.len() {
        return d;
    }
    let test = |x: &[f64]| seasonal_strength(x, period).is_some_and(|s| s > SEAS_THRESHOLD);
    let mut dodiff = test(x);
    let mut x = x.to_vec();
    while dodiff && d < max_d {
        d += 1;
        x = (period..x.len()).map(|i| x[i] - x[i - period]).collect();
        if is_constant(&x) {
            return d;
        }
        dodiff = x.len() >= 2 * period && d < max_d && test(&x);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random walk (LCG noise in [-0.5, 0.5)).
    fn walk(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        let mut level = 0.0;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                level += (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                level
            })
            .collect()
    }

    #[test]
    fn interp_matches_numpy_clamping() {
        // Below the table: p = 0.10; above: p = 0.01; on a knot: its p-value.
        assert_eq!(interp(0.1, &KPSS_CRIT, &KPSS_PVALS), 0.10);
        assert_eq!(interp(2.0, &KPSS_CRIT, &KPSS_PVALS), 0.01);
        assert_eq!(interp(0.463, &KPSS_CRIT, &KPSS_PVALS), 0.05);
        // Halfway between 0.347 and 0.463: halfway between 0.10 and 0.05.
        assert!((interp(0.405, &KPSS_CRIT, &KPSS_PVALS) - 0.075).abs() < 1e-12);
    }

    #[test]
    fn kpss_refuses_too_many_lags() {
        // statsmodels raises for nlags >= nobs.
        assert!(kpss_level(&[1.0, 2.0, 3.0], 3).is_none());
    }

    #[test]
    fn ndiffs_on_constant_and_trend() {
        assert_eq!(ndiffs(&[3.0; 50], 0.05, 2), 0);
        // A straight line: one difference makes it constant.
        let line: Vec<f64> = (0..100).map(|t| t as f64).collect();
        assert_eq!(ndiffs(&line, 0.05, 2), 1);
        // A random walk of 500 steps needs one difference.
        assert_eq!(ndiffs(&walk(500, 7), 0.05, 2), 1);
    }

    #[test]
    fn nsdiffs_on_strong_and_no_season() {
        // A pure sine of period 12 plus small noise: strength near 1, one seasonal difference.
        let noise = walk(241, 3);
        let x: Vec<f64> = (0..240)
            .map(|t| {
                (t as f64 * std::f64::consts::TAU / 12.0).sin() * 10.0 + noise[t + 1] - noise[t]
            })
            .collect();
        assert_eq!(nsdiffs(&x, 12, 1), 1);
        // Noise only: no seasonal difference.
        let white: Vec<f64> = (0..240).map(|t| noise[t + 1] - noise[t]).collect();
        assert_eq!(nsdiffs(&white, 12, 1), 0);
        // Shorter than the period: 0.
        assert_eq!(nsdiffs(&x[..10], 12, 1), 0);
    }

    #[test]
    fn matches_statsmodels_and_statsforecast() {
        // Reference values from statsmodels 0.15 / statsforecast 2.1.1 on the same series
        // (the LCG regenerated in Python): KPSS statistic of walk(500, 7) with
        // floor(3·sqrt(500)/13) = 5 lags, and `seas_heuristic` of two period-12 series.
        let (stat, p) = kpss_level(&walk(500, 7), 5).unwrap();
        assert!((stat - 6.122450743637356).abs() < 1e-10, "{stat}");
        assert_eq!(p, 0.01);
        let noise = walk(241, 3);
        let season = |t: usize| (t as f64 * std::f64::consts::TAU / 12.0).sin();
        let sine: Vec<f64> = (0..240)
            .map(|t| season(t) * 10.0 + noise[t + 1] - noise[t])
            .collect();
        let mix: Vec<f64> = (0..240)
            .map(|t| season(t) + 3.0 * (noise[t + 1] - noise[t]))
            .collect();
        let s1 = seasonal_strength(&sine, 12).unwrap();
        let s2 = seasonal_strength(&mix, 12).unwrap();
        // stlrs vs statsmodels' STL: same algorithm, separate code (see the module doc).
        assert!((s1 - 0.9989725063028032).abs() < 1e-9, "{s1}");
        assert!((s2 - 0.5824911204503127).abs() < 1e-9, "{s2}");
        assert_eq!(nsdiffs(&mix, 12, 1), 0);
    }
}
