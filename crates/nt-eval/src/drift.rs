//! Drift monitoring: how far the data a deployed model sees has moved from the data it was
//! trained and validated on.
//!
//! - [`ReferenceProfile`]: what a version saw at registration (sorted samples of the training
//!   target's levels and returns, its validation residuals and predictions).
//! - [`psi`]: the Population Stability Index over bins at the reference's deciles.
//! - [`ks_2samp`]: the two-sample Kolmogorov–Smirnov test, a port of `scipy.stats.ks_2samp`.
//! - [`evaluate`]: the [`DriftReport`] of a [`CurrentSample`] against a reference, with
//!   [`DriftThresholds`].
//!
//! The numbers are cross-checked against numpy and scipy by
//! `tools/reference/make_drift_fixture.py` (test `tests/drift_reference.rs`).

mod kolmogorov;
mod ks;
mod report;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

pub use ks::{ks_2samp, KsMethod, KsTest, KS_MAX_AUTO_N};
pub use report::{evaluate, CheckStatus, CurrentSample, DriftReport, KsCheck, PsiCheck};

/// The largest sample a [`ReferenceProfile`] keeps of each distribution.
pub const MAX_REFERENCE_SAMPLE: usize = 5_000;

/// The fewest values a drift check runs on (in the reference and in the current sample);
/// below it [`evaluate`] reports the check as [`CheckStatus::InsufficientData`].
pub const MIN_CHECK_VALUES: usize = 10;

/// `P(D_n > x)` of the two-sided one-sample Kolmogorov–Smirnov statistic for a sample of
/// size `n` (scipy's `kstwo.sf(x, n)`), which the asymptotic [`ks_2samp`] uses.
pub fn kstwo_sf(n: u64, x: f64) -> f64 {
    kolmogorov::kolmogorov_sf(n, x)
}

/// How returns are computed from levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReturnKind {
    /// Simple returns `x_t / x_{t−1} − 1`, used when every training level is positive.
    Simple,
    /// First differences `x_t − x_{t−1}`, used when some training level is zero or negative.
    Difference,
}

impl ReturnKind {
    /// The kind a series' levels call for: [`ReturnKind::Simple`] when every value is
    /// positive, else [`ReturnKind::Difference`].
    pub fn for_levels(levels: &[f64]) -> Self {
        if !levels.is_empty() && levels.iter().all(|v| *v > 0.0) {
            ReturnKind::Simple
        } else {
            ReturnKind::Difference
        }
    }

    /// The returns of consecutive `levels` (one fewer than the levels). With
    /// [`ReturnKind::Simple`], a pair whose earlier level is 0 is skipped (its return is
    /// undefined).
    pub fn apply(self, levels: &[f64]) -> Vec<f64> {
        levels
            .windows(2)
            .filter_map(|w| match self {
                ReturnKind::Simple if w[0] == 0.0 => None,
                ReturnKind::Simple => Some(w[1] / w[0] - 1.0),
                ReturnKind::Difference => Some(w[1] - w[0]),
            })
            .collect()
    }
}

/// What a registered version saw at training time, against which later data is compared.
/// Each distribution is kept as a sorted sample of at most [`MAX_REFERENCE_SAMPLE`] values:
/// all values when there are that few, else the evenly spaced order statistics
/// `sorted[round(i·(n−1)/(MAX−1))]`, `i = 0..MAX` (deterministic, keeps both extremes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceProfile {
    /// The target column the model forecasts.
    pub target: String,
    /// Rows of training data the profile was built from.
    pub rows: usize,
    /// Sorted sample of the training target's levels.
    pub levels: Vec<f64>,
    /// Sorted sample of the training target's returns (see [`ReferenceProfile::return_kind`]).
    pub returns: Vec<f64>,
    /// How [`ReferenceProfile::returns`] were computed; current data is compared with returns
    /// of the same kind.
    pub return_kind: ReturnKind,
    /// Sorted sample of validation residuals, forecast − actual, over every step of every
    /// validation window (empty when the version has no validation forecasts).
    pub residuals: Vec<f64>,
    /// Sorted sample of the validation forecasts (point values) the residuals come from.
    pub predictions: Vec<f64>,
    /// True when the residuals are in-sample (the model saw the validation rows while fitting,
    /// as classical models do), so live residuals may be larger without any drift.
    pub residuals_in_sample: bool,
}

/// The sorted, deterministic sample of `values` a [`ReferenceProfile`] keeps.
pub fn reference_sample(values: &[f64]) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n <= MAX_REFERENCE_SAMPLE {
        return sorted;
    }
    let step = (n - 1) as f64 / (MAX_REFERENCE_SAMPLE - 1) as f64;
    (0..MAX_REFERENCE_SAMPLE)
        .map(|i| sorted[((i as f64 * step).round() as usize).min(n - 1)])
        .collect()
}

fn finite(field: &str, values: &[f64]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(Error::config(
            field,
            format!("value {i} is {}; every value must be finite", values[i]),
        )),
        None => Ok(()),
    }
}

impl ReferenceProfile {
    /// A profile of the training target's `levels` (in time order), without validation
    /// residuals. Errors when there are fewer than 2 levels or a level is not finite.
    pub fn from_training(target: &str, levels: &[f64]) -> Result<Self> {
        finite("reference levels", levels)?;
        if levels.len() < 2 {
            return Err(Error::TooFewValues {
                sample: "reference levels".into(),
                needed: 2,
                got: levels.len(),
            });
        }
        let return_kind = ReturnKind::for_levels(levels);
        Ok(ReferenceProfile {
            target: target.to_string(),
            rows: levels.len(),
            levels: reference_sample(levels),
            returns: reference_sample(&return_kind.apply(levels)),
            return_kind,
            residuals: Vec::new(),
            predictions: Vec::new(),
            residuals_in_sample: false,
        })
    }

    /// Adds the validation forecasts and their residuals (forecast − actual, paired with
    /// `predictions`); `in_sample` says whether the model was fit on the validation rows.
    /// Errors when the lengths differ or a value is not finite.
    pub fn with_validation(
        mut self,
        predictions: &[f64],
        residuals: &[f64],
        in_sample: bool,
    ) -> Result<Self> {
        if predictions.len() != residuals.len() {
            return Err(Error::config(
                "validation residuals",
                format!(
                    "{} residuals for {} predictions; expected one per prediction",
                    residuals.len(),
                    predictions.len()
                ),
            ));
        }
        finite("validation predictions", predictions)?;
        finite("validation residuals", residuals)?;
        self.predictions = reference_sample(predictions);
        self.residuals = reference_sample(residuals);
        self.residuals_in_sample = in_sample;
        Ok(self)
    }
}

/// Settings of [`evaluate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DriftThresholds {
    /// PSI at or above which a check is a warning. Default 0.1; `0 < psi_warning ≤ psi_alarm`.
    pub psi_warning: f64,
    /// PSI at or above which a check is an alarm. Default 0.25.
    pub psi_alarm: f64,
    /// KS p-value at or below which the residual check is an alarm. Default 0.05; in (0, 1).
    pub ks_alpha: f64,
    /// How many of the most recent values a monitor compares (rows of input, matched points of
    /// residuals). Default 1000; at least [`MIN_CHECK_VALUES`].
    pub window: usize,
    /// PSI bins (at the reference's `1/bins, …, (bins−1)/bins` quantiles). Default 10; ≥ 2.
    pub bins: usize,
    /// Floor of a bin's proportion in PSI. Default 1e-4; in (0, 1).
    pub epsilon: f64,
}

impl Default for DriftThresholds {
    fn default() -> Self {
        DriftThresholds {
            psi_warning: 0.1,
            psi_alarm: 0.25,
            ks_alpha: 0.05,
            window: 1000,
            bins: 10,
            epsilon: 1e-4,
        }
    }
}

impl DriftThresholds {
    /// Checks every field's range; the error names the field and what was expected.
    pub fn validate(&self) -> Result<()> {
        if !(self.psi_warning.is_finite() && self.psi_warning > 0.0) {
            return Err(Error::config(
                "psi_warning",
                format!("expected a positive number, got {}", self.psi_warning),
            ));
        }
        if !(self.psi_alarm.is_finite() && self.psi_alarm >= self.psi_warning) {
            return Err(Error::config(
                "psi_alarm",
                format!(
                    "expected a number at least psi_warning ({}), got {}",
                    self.psi_warning, self.psi_alarm
                ),
            ));
        }
        if !(self.ks_alpha > 0.0 && self.ks_alpha < 1.0) {
            return Err(Error::config(
                "ks_alpha",
                format!("expected a p-value in (0, 1), got {}", self.ks_alpha),
            ));
        }
        if self.window < MIN_CHECK_VALUES {
            return Err(Error::config(
                "window",
                format!(
                    "expected at least {MIN_CHECK_VALUES} values, got {}",
                    self.window
                ),
            ));
        }
        if self.bins < 2 {
            return Err(Error::config(
                "bins",
                format!("expected at least 2 bins, got {}", self.bins),
            ));
        }
        if !(self.epsilon > 0.0 && self.epsilon < 1.0) {
            return Err(Error::config(
                "epsilon",
                format!("expected a number in (0, 1), got {}", self.epsilon),
            ));
        }
        Ok(())
    }
}

/// The result of [`psi`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Psi {
    /// `Σ_i (cur_i − ref_i) · ln(cur_i / ref_i)` over the bins.
    pub value: f64,
    /// The distinct inner bin edges (reference quantiles), ascending.
    pub edges: Vec<f64>,
    /// Share of the reference in each bin, before the epsilon floor (`edges.len() + 1` bins).
    pub reference: Vec<f64>,
    /// Share of the current sample in each bin, before the epsilon floor.
    pub current: Vec<f64>,
}

/// numpy's default `np.quantile(sorted, q)` (method "linear", Hyndman & Fan type 7): the
/// value at virtual index `h = (n − 1)·q`, interpolated between `sorted[⌊h⌋]` and
/// `sorted[⌊h⌋ + 1]`. `sorted` must be ascending and non-empty.
pub fn quantile_linear(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let h = (n - 1) as f64 * q;
    let lo = (h.floor() as usize).min(n - 1);
    let hi = (lo + 1).min(n - 1);
    let t = h - lo as f64;
    let (a, b) = (sorted[lo], sorted[hi]);
    // numpy's _lerp: exact at both ends.
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// The share of `values` in each bin defined by ascending `edges`: bin 0 is `(−∞, e_1)`, bin
/// `i` is `[e_i, e_{i+1})`, the last `[e_k, ∞)`; a value equal to an edge falls in the bin to
/// its right (numpy's `searchsorted(edges, v, side="right")`).
fn bin_shares(values: &[f64], edges: &[f64]) -> Vec<f64> {
    let mut counts = vec![0usize; edges.len() + 1];
    for v in values {
        counts[edges.partition_point(|e| e <= v)] += 1;
    }
    let n = values.len() as f64;
    counts.into_iter().map(|c| c as f64 / n).collect()
}

/// The Population Stability Index of `current` against `reference` with `bins` bins.
///
/// Edges are the reference's quantiles at `1/bins, …, (bins−1)/bins` by numpy's default
/// linear interpolation ([`quantile_linear`]); the outer bins are open-ended. Equal edges
/// (a reference with many ties) are merged, so such a reference has fewer, wider bins and a
/// value equal to an edge belongs to the bin to its right. A bin's share is floored at
/// `epsilon` in both samples before `PSI = Σ (cur − ref) · ln(cur / ref)`; shares are not
/// renormalised after flooring.
///
/// Errors when a sample is empty or holds a non-finite value, or `bins < 2`, or `epsilon` is
/// outside (0, 1).
pub fn psi(reference: &[f64], current: &[f64], bins: usize, epsilon: f64) -> Result<Psi> {
    if bins < 2 {
        return Err(Error::config(
            "bins",
            format!("expected at least 2, got {bins}"),
        ));
    }
    if !(epsilon > 0.0 && epsilon < 1.0) {
        return Err(Error::config(
            "epsilon",
            format!("expected a number in (0, 1), got {epsilon}"),
        ));
    }
    for (name, v) in [("psi reference", reference), ("psi current", current)] {
        if v.is_empty() {
            return Err(Error::TooFewValues {
                sample: name.into(),
                needed: 1,
                got: 0,
            });
        }
        finite(name, v)?;
    }
    let mut sorted = reference.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut edges: Vec<f64> = (1..bins)
        .map(|k| quantile_linear(&sorted, k as f64 / bins as f64))
        .collect();
    edges.dedup();
    let ref_shares = bin_shares(reference, &edges);
    let cur_shares = bin_shares(current, &edges);
    let value = ref_shares
        .iter()
        .zip(&cur_shares)
        .map(|(&r, &c)| {
            let (r, c) = (r.max(epsilon), c.max(epsilon));
            (c - r) * (c / r).ln()
        })
        .sum();
    Ok(Psi {
        value,
        edges,
        reference: ref_shares,
        current: cur_shares,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_matches_numpy_linear() {
        // np.quantile([1, 2, 3, 4], [0.1, 0.5, 0.9]) = [1.3, 2.5, 3.7]
        let s = [1.0, 2.0, 3.0, 4.0];
        for (q, want) in [(0.1, 1.3), (0.5, 2.5), (0.9, 3.7), (0.0, 1.0), (1.0, 4.0)] {
            assert!((quantile_linear(&s, q) - want).abs() < 1e-12);
        }
    }

    #[test]
    fn psi_of_a_sample_against_itself_is_zero() {
        let v: Vec<f64> = (0..200).map(|i| (i as f64 * 0.37).sin()).collect();
        let p = psi(&v, &v, 10, 1e-4).unwrap();
        assert_eq!(p.value, 0.0);
        assert_eq!(p.edges.len(), 9);
        assert!((p.reference.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn psi_grows_with_a_shift_and_floors_empty_bins() {
        let r: Vec<f64> = (0..100).map(|i| i as f64).collect();
        let c: Vec<f64> = (0..100).map(|i| i as f64 + 1000.0).collect();
        let p = psi(&r, &c, 10, 1e-4).unwrap();
        // Edges 9.9, 19.8, …, 89.1: each reference bin holds 10 of 100 values; every current
        // value lands in the last bin, so 9 bins give (1e-4 − 0.1)·ln(1e-4 / 0.1) and the last
        // (1 − 0.1)·ln(1 / 0.1).
        let want = 9.0 * (1e-4 - 0.1) * (1e-4f64 / 0.1).ln() + (1.0 - 0.1) * (1.0f64 / 0.1).ln();
        assert!((p.value - want).abs() < 1e-12, "{} vs {want}", p.value);
    }

    #[test]
    fn tied_reference_merges_edges() {
        let r = [1.0; 50];
        let p = psi(&r, &[1.0, 2.0], 10, 1e-4).unwrap();
        assert_eq!(p.edges, vec![1.0]);
        assert_eq!(p.reference, vec![0.0, 1.0]);
    }

    #[test]
    fn reference_sample_is_capped_and_keeps_extremes() {
        let v: Vec<f64> = (0..12_345).rev().map(|i| i as f64).collect();
        let s = reference_sample(&v);
        assert_eq!(s.len(), MAX_REFERENCE_SAMPLE);
        assert_eq!(s[0], 0.0);
        assert_eq!(s[MAX_REFERENCE_SAMPLE - 1], 12_344.0);
        assert!(s.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn returns_are_simple_for_positive_levels_else_differences() {
        let p = ReferenceProfile::from_training("y", &[1.0, 2.0, 1.0]).unwrap();
        assert_eq!(p.return_kind, ReturnKind::Simple);
        assert_eq!(p.returns, vec![-0.5, 1.0]);
        let d = ReferenceProfile::from_training("y", &[0.0, 2.0, 1.0]).unwrap();
        assert_eq!(d.return_kind, ReturnKind::Difference);
        assert_eq!(d.returns, vec![-1.0, 2.0]);
        assert!(ReferenceProfile::from_training("y", &[1.0]).is_err());
        assert!(d.with_validation(&[1.0], &[], false).is_err());
    }

    #[test]
    fn thresholds_validate_each_field() {
        assert!(DriftThresholds::default().validate().is_ok());
        let bad = DriftThresholds {
            psi_alarm: 0.05,
            ..DriftThresholds::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("psi_alarm"));
        let bad = DriftThresholds {
            ks_alpha: 1.5,
            ..DriftThresholds::default()
        };
        assert!(bad.validate().unwrap_err().to_string().contains("ks_alpha"));
    }
}
