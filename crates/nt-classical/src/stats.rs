//! Small numeric helpers shared by the models: the normal quantile function, empirical
//! quantiles, level validation and building a [`Forecast`] from a point path and per-step
//! standard deviations.

use nt_core::Forecast;

use crate::{Error, Result};

/// Standard normal quantile function Φ⁻¹(p) for `p` in (0, 1), by Wichura's algorithm AS 241
/// (PPND16), accurate to about 1e-16 relative. Returns ±∞ at 0 and 1 and NaN outside [0, 1].
/// The coefficients are quoted as published (more digits than an f64 holds).
#[allow(clippy::excessive_precision)]
pub(crate) fn normal_quantile(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        let num = ((((((2509.0809287301226727 * r + 33430.575583588128105) * r
            + 67265.770927008700853)
            * r
            + 45921.953931549871457)
            * r
            + 13731.693765509461125)
            * r
            + 1971.5909503065514427)
            * r
            + 133.14166789178437745)
            * r
            + 3.387132872796366608;
        let den = ((((((5226.495278852545925 * r + 28729.085735721942674) * r
            + 39307.89580009271061)
            * r
            + 21213.794301586595867)
            * r
            + 5394.1960214247511077)
            * r
            + 687.1870074920579083)
            * r
            + 42.313330701600911252)
            * r
            + 1.0;
        return q * num / den;
    }
    let tail = if q < 0.0 { p } else { 1.0 - p };
    let mut r = (-tail.ln()).sqrt();
    let value = if r <= 5.0 {
        r -= 1.6;
        let num = ((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r
            + 0.24178072517745061177)
            * r
            + 1.27045825245236838258)
            * r
            + 3.64784832476320460504)
            * r
            + 5.7694972214606914055)
            * r
            + 4.6303378461565452959)
            * r
            + 1.42343711074968357734;
        let den = ((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r
            + 0.0151986665636164571966)
            * r
            + 0.14810397642748007459)
            * r
            + 0.68976733498510000455)
            * r
            + 1.6763848301838038494)
            * r
            + 2.05319162663775882187)
            * r
            + 1.0;
        num / den
    } else {
        r -= 5.0;
        let num = ((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r
            + 0.0012426609473880784386)
            * r
            + 0.026532189526576123093)
            * r
            + 0.29656057182850489123)
            * r
            + 1.7848265399172913358)
            * r
            + 5.4637849111641143699)
            * r
            + 6.6579046435011037772;
        let den = ((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r
            + 1.8463183175100546818e-5)
            * r
            + 7.868691311456132591e-4)
            * r
            + 0.0148753612908506148525)
            * r
            + 0.13692988092273580531)
            * r
            + 0.59983220655588793769)
            * r
            + 1.0;
        num / den
    };
    if q < 0.0 {
        -value
    } else {
        value
    }
}

/// The `q`-quantile of `sorted` (ascending, non-empty) by linear interpolation between order
/// statistics (Hyndman–Fan type 7, numpy's default).
pub(crate) fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            let frac = pos - lo as f64;
            sorted[lo] + frac * (sorted[hi] - sorted[lo])
        }
    }
}

/// Checks interval levels: each strictly inside (0, 1), no duplicates.
pub(crate) fn validate_levels(model: &'static str, levels: &[f64]) -> Result<()> {
    for (i, &level) in levels.iter().enumerate() {
        if !(level > 0.0 && level < 1.0) {
            return Err(Error::InvalidParameter {
                model,
                name: "levels",
                reason: format!(
                    "{level} is not strictly between 0 and 1 (0.8 means an 80% interval)"
                ),
            });
        }
        if levels[..i].iter().any(|l| (l - level).abs() < 1e-12) {
            return Err(Error::InvalidParameter {
                model,
                name: "levels",
                reason: format!("{level} is given twice"),
            });
        }
    }
    Ok(())
}

/// A forecast whose interval of coverage `level` is `point ± z_level · sd[h]` for every level
/// (Gaussian forecast errors with per-step standard deviation `sd`).
pub(crate) fn gaussian_forecast(point: Vec<f64>, sd: &[f64], levels: &[f64]) -> Result<Forecast> {
    let mut forecast = Forecast::point(point.clone());
    for &level in levels {
        let z = normal_quantile(0.5 + level / 2.0);
        let lower = point.iter().zip(sd).map(|(p, s)| p - z * s).collect();
        let upper = point.iter().zip(sd).map(|(p, s)| p + z * s).collect();
        forecast = forecast.with_interval(level, lower, upper)?;
    }
    Ok(forecast)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantiles_match_tables() {
        // Reference values: scipy.stats.norm.ppf(p), printed with 17 significant digits.
        for (p, z) in [
            (0.5, 0.0),
            (0.9, 1.2815515655446004),
            (0.975, 1.959963984540054),
            (0.995, 2.5758293035489004),
            (1e-10, -6.361340902404056),
            (0.1, -1.2815515655446004),
        ] {
            assert!(
                (normal_quantile(p) - z).abs() < 1e-14,
                "p={p}: {} vs {z}",
                normal_quantile(p)
            );
        }
        assert!(normal_quantile(1.5).is_nan());
    }

    #[test]
    fn type7_quantile_interpolates() {
        // numpy.quantile([1, 2, 3, 4], 0.25) == 1.75; 0.5 -> 2.5; 1.0 -> 4.
        let v = [1.0, 2.0, 3.0, 4.0];
        assert!((quantile_sorted(&v, 0.25) - 1.75).abs() < 1e-12);
        assert!((quantile_sorted(&v, 0.5) - 2.5).abs() < 1e-12);
        assert_eq!(quantile_sorted(&v, 1.0), 4.0);
        assert_eq!(quantile_sorted(&[7.0], 0.3), 7.0);
    }

    #[test]
    fn levels_are_checked() {
        assert!(validate_levels("m", &[0.8, 0.95]).is_ok());
        assert!(validate_levels("m", &[80.0]).is_err());
        assert!(validate_levels("m", &[0.8, 0.8]).is_err());
        assert!(validate_levels("m", &[]).is_ok());
    }
}
