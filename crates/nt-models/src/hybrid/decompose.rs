//! The MSTL decomposition of the hybrid: the seasonally adjusted series a neural model sees,
//! and the seasonal forecast added back to its forecast.
//!
//! The components are nt-classical's MSTL ones (`nt_classical::mstl_seasonal`, augurs'
//! `stlrs`), and each is continued as [`nt_classical::MstlConfig`]'s forecast (and
//! statsforecast's `MSTL`) continues it: its last full period repeated (the seasonal naive
//! forecast of the component).

use crate::{Error, Result};

/// A series split into its seasonal part and the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct Decomposed {
    /// The series minus the sum of its seasonal components (trend + remainder).
    pub adjusted: Vec<f64>,
    /// One seasonal component per season, in the order the seasons were given, each as long as
    /// the series.
    pub seasonal: Vec<Vec<f64>>,
}

impl Decomposed {
    /// The sum of the seasonal components' forecasts over the `horizon` steps after the
    /// series: each component's last full period repeated.
    pub fn seasonal_forecast(&self, seasons: &[usize], horizon: usize) -> Vec<f64> {
        let mut out = vec![0.0; horizon];
        for (&period, component) in seasons.iter().zip(&self.seasonal) {
            let last_cycle = &component[component.len() - period..];
            for (i, o) in out.iter_mut().enumerate() {
                *o += last_cycle[i % period];
            }
        }
        out
    }
}

/// Decomposes `y` with MSTL at `seasons` (each ≥ 2; `y` needs at least two of the longest
/// season and only finite values).
pub fn decompose(y: &[f64], seasons: &[usize]) -> Result<Decomposed> {
    let longest = seasons.iter().copied().max().unwrap_or(0);
    if seasons.is_empty() || seasons.iter().any(|s| *s < 2) {
        return Err(Error::invalid(
            "decompose.mstl.seasons",
            format!("expected one or more seasons of at least 2 rows, got {seasons:?}"),
        ));
    }
    if y.len() < 2 * longest {
        return Err(Error::invalid(
            "history",
            format!(
                "the MSTL decomposition needs at least {} values (two of the longest season, {longest}), got {}",
                2 * longest,
                y.len()
            ),
        ));
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(Error::invalid(
            "history",
            format!(
                "value {i} is {}, the decomposition needs finite values",
                y[i]
            ),
        ));
    }
    let seasonal = nt_classical::mstl_seasonal(y, seasons)?;
    let adjusted = y
        .iter()
        .enumerate()
        .map(|(i, v)| v - seasonal.iter().map(|c| c[i]).sum::<f64>())
        .collect();
    Ok(Decomposed { adjusted, seasonal })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::TAU;

    /// Trend 0.01·t plus a daily (24) and a weekly (168) sine: exactly trend + two seasonals.
    fn series(n: usize) -> Vec<f64> {
        (0..n)
            .map(|t| {
                let t = t as f64;
                10.0 + 0.01 * t + 2.0 * (TAU * t / 24.0).sin() + 1.0 * (TAU * t / 168.0).cos()
            })
            .collect()
    }

    /// Mean of `x[t] · x[t − lag]` around the mean, over the variance: the autocorrelation.
    fn autocorrelation(x: &[f64], lag: usize) -> f64 {
        let m = x.iter().sum::<f64>() / x.len() as f64;
        let var: f64 = x.iter().map(|v| (v - m).powi(2)).sum();
        let cov: f64 = (lag..x.len()).map(|t| (x[t] - m) * (x[t - lag] - m)).sum();
        cov / var
    }

    #[test]
    fn the_adjusted_series_has_no_seasonality_left_and_parts_add_back_up() {
        let y = series(4 * 168);
        let d = decompose(&y, &[24, 168]).unwrap();
        // Recomposition: adjusted + seasonal components is the input to rounding.
        for (i, v) in y.iter().enumerate() {
            let back = d.adjusted[i] + d.seasonal[0][i] + d.seasonal[1][i];
            assert!((back - v).abs() < 1e-9, "row {i}: {back} vs {v}");
        }
        // The adjusted series is the trend (10 + 0.01 t) to within 0.15 on every row: of the
        // daily (amplitude 2) and weekly (amplitude 1) swings, under 0.15 is left (measured:
        // 0.13 over 4 weeks, the window a forecast decomposes; STL's trend smoother keeps part
        // of the weekly cycle when it sees only a few of them).
        for t in 0..y.len() {
            let trend = 10.0 + 0.01 * t as f64;
            assert!(
                (d.adjusted[t] - trend).abs() < 0.15,
                "row {t}: adjusted {} vs trend {trend}",
                d.adjusted[t]
            );
        }
        // The daily component is the daily sine to within 0.03 (measured 0.02).
        for t in 0..y.len() {
            let daily = 2.0 * (TAU * t as f64 / 24.0).sin();
            assert!((d.seasonal[0][t] - daily).abs() < 0.03, "row {t}");
        }
        // The input differenced at lag 24 still swings with the weekly cycle; the adjusted
        // series, detrended by a first difference, keeps no daily correlation (below 0.2,
        // against ≈ 1 for the input's differences).
        let diff = |x: &[f64]| x.windows(2).map(|w| w[1] - w[0]).collect::<Vec<_>>();
        let raw = autocorrelation(&diff(&y), 24);
        let adjusted = autocorrelation(&diff(&d.adjusted), 24);
        assert!(raw > 0.9, "input's daily autocorrelation {raw}");
        assert!(
            adjusted.abs() < 0.2,
            "adjusted daily autocorrelation {adjusted}"
        );
    }

    #[test]
    fn the_seasonal_forecast_repeats_each_components_last_period() {
        let y = series(2 * 168);
        let d = decompose(&y, &[24, 168]).unwrap();
        let f = d.seasonal_forecast(&[24, 168], 200);
        let n = y.len();
        for (i, v) in f.iter().enumerate() {
            let expected = d.seasonal[0][n - 24 + i % 24] + d.seasonal[1][n - 168 + i % 168];
            assert_eq!(*v, expected, "step {i}");
        }
        // The continuation is the true seasonal part of the next values to within 0.3
        // (measured 0.26 from 2 weeks: the weekly component's leftover in the trend).
        for (i, v) in f.iter().enumerate().take(48) {
            let t = (n + i) as f64;
            let truth = 2.0 * (TAU * t / 24.0).sin() + (TAU * t / 168.0).cos();
            assert!((v - truth).abs() < 0.3, "step {i}: {v} vs {truth}");
        }
    }

    #[test]
    fn short_or_non_finite_histories_are_refused() {
        let e = decompose(&series(100), &[24, 168]).unwrap_err().to_string();
        assert!(e.contains("336"), "{e}");
        let mut y = series(400);
        y[5] = f64::NAN;
        assert!(decompose(&y, &[24])
            .unwrap_err()
            .to_string()
            .contains("finite"));
        assert!(decompose(&y, &[1]).is_err());
    }
}
