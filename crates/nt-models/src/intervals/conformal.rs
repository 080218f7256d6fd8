//! Split-conformal intervals (Vovk et al., 2005; Lei et al., 2018): from the `n_h` absolute
//! residuals `|y − ŷ|` of step `h` on data the model was not fitted on, the band at level `L` is
//! `ŷ ± r`, with `r` the `k`-th smallest residual and `k = ⌈(n_h + 1)·L⌉` (the finite-sample
//! correction: with exchangeable residuals the band covers with probability at least `L`).
//! When `k > n_h` the band is infinite, and training refuses it.

use nt_core::{Forecast, QuantileBand};
use serde::{Deserialize, Serialize};

use crate::intervals::IntervalMethod;
use crate::{Error, Result};

/// Slack on `(n + 1)·L` before rounding up, so that a product that is an integer in exact
/// arithmetic (`20 × 0.95 = 19`) is not pushed to the next rank by its rounding error.
const RANK_SLACK: f64 = 1e-9;

/// The 1-based rank `⌈(n + 1)·level⌉` of the residual that bounds the band at `level` from `n`
/// residuals; `None` when it exceeds `n` (the band would be infinite).
pub fn conformal_rank(n: usize, level: f64) -> Option<usize> {
    let k = (((n + 1) as f64) * level - RANK_SLACK).ceil().max(1.0) as usize;
    (k <= n).then_some(k)
}

/// The fewest residuals for which `level` has a finite band (`⌈(n + 1)·L⌉ ≤ n`): 4 for 0.8,
/// 19 for 0.95, 99 for 0.99.
pub fn min_residuals(level: f64) -> usize {
    (1..=10_000_000)
        .find(|&n| conformal_rank(n, level).is_some())
        .unwrap_or(usize::MAX)
}

/// The band's half-width at `level` from residuals sorted ascending: the
/// [`conformal_rank`]-th smallest; `None` when there are too few.
pub fn conformal_radius(sorted: &[f64], level: f64) -> Option<f64> {
    conformal_rank(sorted.len(), level).map(|k| sorted[k - 1])
}

/// The quantile levels of the central intervals at `levels`, `(1 − L)/2` and `(1 + L)/2`,
/// rounded to 1e-9 (so 0.8 gives 0.1 and 0.9), ascending and distinct.
pub fn band_quantiles(levels: &[f64]) -> Vec<f64> {
    let mut q: Vec<f64> = levels
        .iter()
        .flat_map(|c| [(1.0 - c) / 2.0, (1.0 + c) / 2.0])
        .map(|q| (q * 1e9).round() / 1e9)
        .collect();
    q.sort_by(f64::total_cmp);
    q.dedup_by(|a, b| (*a - *b).abs() < 1e-12);
    q
}

/// What a calibrated model stores beside its base model (in `model.json`): the half-width of
/// every level's band at every step, the residual counts they came from and where.
///
/// Guarantees (checked by [`validate`](Self::validate), on building and on loading): one radius
/// per level and step, each finite and ≥ 0; levels ascending in (0, 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// How the radii were made.
    pub method: IntervalMethod,
    /// Levels, ascending.
    pub levels: Vec<f64>,
    /// Steps calibrated (the calibrated model's longest horizon).
    pub horizon: usize,
    /// Residuals (calibration windows) of each step, `n_h`.
    pub counts: Vec<usize>,
    /// `radius[i][h]`: half-width of the band at `levels[i]` and step `h + 1`.
    pub radius: Vec<Vec<f64>>,
    /// Where the residuals came from, in words (rows, model fitted without them).
    pub source: String,
    /// The per-step scales of GARCH-width intervals (`method` garch; the conformal radii are
    /// kept beside them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub garch: Option<crate::intervals::garch::GarchWidths>,
}

impl Calibration {
    /// Split-conformal radii from the absolute residuals of each step (`residuals[h]`: step
    /// `h + 1`, any order) at `levels`. Errors (naming `intervals.levels` and the windows
    /// needed) when a level has too few residuals at some step for a finite band, or a
    /// residual is not finite.
    pub fn conformal(
        levels: &[f64],
        mut residuals: Vec<Vec<f64>>,
        source: impl Into<String>,
    ) -> Result<Self> {
        let mut levels = levels.to_vec();
        levels.sort_by(f64::total_cmp);
        for (h, r) in residuals.iter_mut().enumerate() {
            if r.iter().any(|v| !v.is_finite()) {
                return Err(Error::invalid(
                    "calibration",
                    format!("a residual of step {} is not finite", h + 1),
                ));
            }
            for v in r.iter_mut() {
                *v = v.abs();
            }
            r.sort_by(f64::total_cmp);
        }
        let counts: Vec<usize> = residuals.iter().map(Vec::len).collect();
        let mut radius = Vec::with_capacity(levels.len());
        for &level in &levels {
            let mut row = Vec::with_capacity(residuals.len());
            for (h, r) in residuals.iter().enumerate() {
                let Some(v) = conformal_radius(r, level) else {
                    return Err(Error::invalid(
                        "intervals.levels",
                        format!(
                            "level {level} needs at least {} calibration windows per step for a finite conformal band, step {} has {}; hold out more rows (--calibration-rows, or a longer validation tail for a neural model) or lower the level",
                            min_residuals(level),
                            h + 1,
                            r.len()
                        ),
                    ));
                };
                row.push(v);
            }
            radius.push(row);
        }
        let out = Self {
            method: IntervalMethod::Conformal,
            levels,
            horizon: residuals.len(),
            counts,
            radius,
            source: source.into(),
            garch: None,
        };
        out.validate()?;
        Ok(out)
    }

    /// Checks the shapes and values (see the type's guarantees).
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: String| Err(Error::model_dir("calibration", reason));
        if self.horizon == 0 || self.counts.len() != self.horizon {
            return bad(format!(
                "{} residual counts for horizon {}",
                self.counts.len(),
                self.horizon
            ));
        }
        if self.levels.is_empty() || self.radius.len() != self.levels.len() {
            return bad(format!(
                "{} radius rows for {} levels",
                self.radius.len(),
                self.levels.len()
            ));
        }
        if self
            .levels
            .windows(2)
            .any(|w| w[0].partial_cmp(&w[1]) != Some(std::cmp::Ordering::Less))
            || self.levels.iter().any(|&l| !(l > 0.0 && l < 1.0))
        {
            return bad(format!(
                "levels {:?} are not ascending in (0, 1)",
                self.levels
            ));
        }
        if self.method == IntervalMethod::Garch
            && self
                .garch
                .as_ref()
                .is_none_or(|g| g.scale.len() != self.horizon || g.window < 20)
        {
            return bad(format!(
                "garch intervals need {} step scales and a window of at least 20",
                self.horizon
            ));
        }
        for row in &self.radius {
            if row.len() != self.horizon || row.iter().any(|r| !(r.is_finite() && *r >= 0.0)) {
                return bad(format!(
                    "a radius row has {} values (expected {}, each finite and >= 0)",
                    row.len(),
                    self.horizon
                ));
            }
        }
        Ok(())
    }

    /// The quantile levels of the bands [`apply`](Self::apply) attaches.
    pub fn quantile_levels(&self) -> Vec<f64> {
        band_quantiles(&self.levels)
    }

    /// The forecast with `point` (at most [`horizon`](Self::horizon) steps) and, for every
    /// level, the bands `point ∓ radius` of each step; nothing of the base's own bands.
    pub fn apply(&self, point: &[f64]) -> Result<Forecast> {
        if point.len() > self.horizon {
            return Err(Error::invalid(
                "horizon",
                format!(
                    "the intervals are calibrated for 1 to {} steps, {} asked",
                    self.horizon,
                    point.len()
                ),
            ));
        }
        let mut bands = Vec::with_capacity(2 * self.levels.len());
        for (level, row) in self.levels.iter().zip(&self.radius) {
            let [lo, hi] =
                [(1.0 - level) / 2.0, (1.0 + level) / 2.0].map(|q| (q * 1e9).round() / 1e9);
            bands.push(QuantileBand {
                q: lo,
                values: point.iter().zip(row).map(|(p, r)| p - r).collect(),
            });
            bands.push(QuantileBand {
                q: hi,
                values: point.iter().zip(row).map(|(p, r)| p + r).collect(),
            });
        }
        Ok(Forecast::new(point.to_vec(), bands)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_is_the_finite_sample_corrected_quantile() {
        // ⌈(n+1)·L⌉: n = 9 at 0.8 → ⌈8.0⌉ = 8; n = 19 at 0.95 → ⌈19.0⌉ = 19 (exact products
        // are not pushed up by rounding); n = 18 at 0.95 → ⌈18.05⌉ = 19 > 18: infinite.
        assert_eq!(conformal_rank(9, 0.8), Some(8));
        assert_eq!(conformal_rank(19, 0.95), Some(19));
        assert_eq!(conformal_rank(18, 0.95), None);
        assert_eq!(min_residuals(0.8), 4);
        assert_eq!(min_residuals(0.95), 19);
        assert_eq!(min_residuals(0.99), 99);
    }

    #[test]
    fn bands_are_the_point_plus_minus_the_ranked_residual_and_too_few_is_refused() {
        // Step 1: residuals 1..=9 (signs dropped): rank 8 at 0.8 → radius 8.
        // Step 2: 10, 20, ..., 90 → radius 80.
        let r1: Vec<f64> = (1..=9)
            .map(|v| if v % 2 == 0 { -v as f64 } else { v as f64 })
            .collect();
        let r2: Vec<f64> = (1..=9).rev().map(|v| 10.0 * v as f64).collect();
        let c = Calibration::conformal(&[0.8], vec![r1.clone(), r2], "test").unwrap();
        assert_eq!(c.radius, vec![vec![8.0, 80.0]]);
        let f = c.apply(&[1.0, 2.0]).unwrap();
        assert_eq!(
            f.interval(0.8).unwrap(),
            (&[-7.0, -78.0][..], &[9.0, 82.0][..])
        );
        assert!(
            c.apply(&[1.0, 2.0, 3.0]).is_err(),
            "3 steps of a 2-step calibration"
        );
        let e = Calibration::conformal(&[0.95], vec![r1], "test")
            .unwrap_err()
            .to_string();
        assert!(e.contains("19") && e.contains("has 9"), "{e}");
    }
}
