//! [`evaluate`]: the drift report of current data against a version's reference profile.

use serde::{Deserialize, Serialize};

use super::{ks_2samp, psi, DriftThresholds, KsMethod, ReferenceProfile, MIN_CHECK_VALUES};
use crate::Result;

/// The verdict of one check, or of a whole report (the worst of its checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckStatus {
    /// Within the thresholds.
    Ok,
    /// PSI at or above `psi_warning` (below `psi_alarm`).
    Warning,
    /// PSI at or above `psi_alarm`, or KS p-value at or below `ks_alpha`.
    Alarm,
    /// Too few values to run the check (see the check's `needed`); never counted as ok.
    InsufficientData,
}

impl CheckStatus {
    /// The status as printed and stored: `ok`, `warning`, `alarm`, `insufficient-data`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Ok => "ok",
            CheckStatus::Warning => "warning",
            CheckStatus::Alarm => "alarm",
            CheckStatus::InsufficientData => "insufficient-data",
        }
    }
}

impl std::fmt::Display for CheckStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The data a monitor compares with the reference: the most recent values of each kind (the
/// caller keeps the last `window` of each).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CurrentSample {
    /// Recent levels of the target (model inputs), in time order.
    pub levels: Vec<f64>,
    /// Returns of those levels, of the reference's [`ReturnKind`](super::ReturnKind).
    pub returns: Vec<f64>,
    /// Recent forecasts (point values).
    pub predictions: Vec<f64>,
    /// Recent residuals, forecast − actual.
    pub residuals: Vec<f64>,
}

impl CurrentSample {
    /// A sample from recent `levels` (returns computed as the reference computes them) and
    /// recent forecasts with their residuals.
    pub fn from_levels(
        reference: &ReferenceProfile,
        levels: Vec<f64>,
        predictions: Vec<f64>,
        residuals: Vec<f64>,
    ) -> Self {
        let returns = reference.return_kind.apply(&levels);
        CurrentSample {
            levels,
            returns,
            predictions,
            residuals,
        }
    }
}

/// One PSI check of a [`DriftReport`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PsiCheck {
    /// What was compared: `levels`, `returns` or `predictions`.
    pub name: String,
    /// The check's verdict.
    pub status: CheckStatus,
    /// The PSI, `None` when the check did not run.
    pub psi: Option<f64>,
    /// Bins used (fewer than asked when reference ties merge edges), `None` when not run.
    pub bins: Option<usize>,
    /// Values in the reference sample.
    pub reference_n: usize,
    /// Values in the current sample.
    pub current_n: usize,
    /// Values each side needs for the check to run ([`MIN_CHECK_VALUES`]).
    pub needed: usize,
}

/// The KS check of residuals in a [`DriftReport`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KsCheck {
    /// What was compared: `residuals`.
    pub name: String,
    /// The check's verdict.
    pub status: CheckStatus,
    /// The KS statistic, `None` when the check did not run.
    pub statistic: Option<f64>,
    /// The two-sided p-value, `None` when the check did not run.
    pub p_value: Option<f64>,
    /// The p-value's method actually used (`exact` or `asymp`), `None` when not run.
    pub method: Option<KsMethod>,
    /// Values in the reference sample (validation residuals).
    pub reference_n: usize,
    /// Values in the current sample (recent residuals).
    pub current_n: usize,
    /// Values each side needs for the check to run ([`MIN_CHECK_VALUES`]).
    pub needed: usize,
    /// True when the reference residuals are in-sample (see
    /// [`ReferenceProfile::residuals_in_sample`]).
    pub reference_in_sample: bool,
}

/// The drift of a [`CurrentSample`] against a [`ReferenceProfile`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    /// The worst status of the checks that ran (alarm > warning > ok);
    /// [`CheckStatus::InsufficientData`] only when no check could run.
    pub status: CheckStatus,
    /// Why the status is what it is, one sentence per check that is not ok.
    pub reasons: Vec<String>,
    /// PSI of the target's levels.
    pub levels: PsiCheck,
    /// PSI of the target's returns.
    pub returns: PsiCheck,
    /// PSI of the forecasts against the validation forecasts.
    pub predictions: PsiCheck,
    /// KS test of residuals against the validation residuals.
    pub residuals: KsCheck,
    /// The thresholds the checks used.
    pub thresholds: DriftThresholds,
}

impl DriftReport {
    /// The PSI checks and the KS check, in report order, as `(name, status)`.
    pub fn statuses(&self) -> [(&str, CheckStatus); 4] {
        [
            ("levels", self.levels.status),
            ("returns", self.returns.status),
            ("predictions", self.predictions.status),
            ("residuals", self.residuals.status),
        ]
    }
}

fn psi_check(
    name: &str,
    reference: &[f64],
    current: &[f64],
    t: &DriftThresholds,
    reasons: &mut Vec<String>,
) -> Result<PsiCheck> {
    let mut check = PsiCheck {
        name: name.to_string(),
        status: CheckStatus::InsufficientData,
        psi: None,
        bins: None,
        reference_n: reference.len(),
        current_n: current.len(),
        needed: MIN_CHECK_VALUES,
    };
    if reference.len() < MIN_CHECK_VALUES || current.len() < MIN_CHECK_VALUES {
        reasons.push(format!(
            "{name}: insufficient data (reference {}, current {}; each needs at least {MIN_CHECK_VALUES})",
            reference.len(),
            current.len()
        ));
        return Ok(check);
    }
    let p = psi(reference, current, t.bins, t.epsilon)?;
    check.status = if p.value >= t.psi_alarm {
        reasons.push(format!(
            "{name}: PSI {:.4} ≥ alarm threshold {}",
            p.value, t.psi_alarm
        ));
        CheckStatus::Alarm
    } else if p.value >= t.psi_warning {
        reasons.push(format!(
            "{name}: PSI {:.4} ≥ warning threshold {}",
            p.value, t.psi_warning
        ));
        CheckStatus::Warning
    } else {
        CheckStatus::Ok
    };
    check.psi = Some(p.value);
    check.bins = Some(p.edges.len() + 1);
    Ok(check)
}

/// The drift report of `current` against `reference`: PSI of levels, returns and predictions
/// (warning at `psi_warning`, alarm at `psi_alarm`), and the two-sided KS test
/// ([`KsMethod::Auto`]) of residuals against validation residuals (alarm when `p ≤ ks_alpha`).
/// A check with fewer than [`MIN_CHECK_VALUES`] values on either side is
/// [`CheckStatus::InsufficientData`], said in the reasons. The caller trims `current` to the
/// window it wants; `evaluate` uses every value it is given.
///
/// Errors when the thresholds are invalid or a sample holds a non-finite value.
pub fn evaluate(
    reference: &ReferenceProfile,
    current: &CurrentSample,
    thresholds: &DriftThresholds,
) -> Result<DriftReport> {
    thresholds.validate()?;
    let mut reasons = Vec::new();
    let levels = psi_check(
        "levels",
        &reference.levels,
        &current.levels,
        thresholds,
        &mut reasons,
    )?;
    let returns = psi_check(
        "returns",
        &reference.returns,
        &current.returns,
        thresholds,
        &mut reasons,
    )?;
    let predictions = psi_check(
        "predictions",
        &reference.predictions,
        &current.predictions,
        thresholds,
        &mut reasons,
    )?;
    let mut residuals = KsCheck {
        name: "residuals".into(),
        status: CheckStatus::InsufficientData,
        statistic: None,
        p_value: None,
        method: None,
        reference_n: reference.residuals.len(),
        current_n: current.residuals.len(),
        needed: MIN_CHECK_VALUES,
        reference_in_sample: reference.residuals_in_sample,
    };
    if reference.residuals.len() < MIN_CHECK_VALUES || current.residuals.len() < MIN_CHECK_VALUES {
        reasons.push(format!(
            "residuals: insufficient data (reference {}, current {}; each needs at least {MIN_CHECK_VALUES})",
            reference.residuals.len(),
            current.residuals.len()
        ));
    } else {
        let ks = ks_2samp(&current.residuals, &reference.residuals, KsMethod::Auto)?;
        residuals.status = if ks.p_value <= thresholds.ks_alpha {
            reasons.push(format!(
                "residuals: KS statistic {:.4}, p = {:.3e} ≤ alpha {}{}",
                ks.statistic,
                ks.p_value,
                thresholds.ks_alpha,
                if reference.residuals_in_sample {
                    " (reference residuals are in-sample)"
                } else {
                    ""
                }
            ));
            CheckStatus::Alarm
        } else {
            CheckStatus::Ok
        };
        residuals.statistic = Some(ks.statistic);
        residuals.p_value = Some(ks.p_value);
        residuals.method = Some(ks.method);
    }
    let ran: Vec<CheckStatus> = [
        levels.status,
        returns.status,
        predictions.status,
        residuals.status,
    ]
    .into_iter()
    .filter(|s| *s != CheckStatus::InsufficientData)
    .collect();
    let status = if ran.is_empty() {
        CheckStatus::InsufficientData
    } else if ran.contains(&CheckStatus::Alarm) {
        CheckStatus::Alarm
    } else if ran.contains(&CheckStatus::Warning) {
        CheckStatus::Warning
    } else {
        CheckStatus::Ok
    };
    Ok(DriftReport {
        status,
        reasons,
        levels,
        returns,
        predictions,
        residuals,
        thresholds: thresholds.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wave(n: usize, shift: f64) -> Vec<f64> {
        (0..n)
            .map(|i| 100.0 + shift + (i as f64 * 0.7).sin() * 5.0 + (i as f64 * 0.13).cos())
            .collect()
    }

    fn profile() -> ReferenceProfile {
        let levels = wave(2000, 0.0);
        let res: Vec<f64> = (0..500).map(|i| (i as f64 * 1.3).sin()).collect();
        ReferenceProfile::from_training("y", &levels)
            .unwrap()
            .with_validation(&levels[..500], &res, false)
            .unwrap()
    }

    #[test]
    fn same_data_is_ok_and_shifted_data_alarms() {
        let r = profile();
        let t = DriftThresholds::default();
        let res: Vec<f64> = (0..300).map(|i| (i as f64 * 1.3 + 0.2).sin()).collect();
        let same = CurrentSample::from_levels(&r, wave(2000, 0.0), wave(500, 0.0), res.clone());
        let rep = evaluate(&r, &same, &t).unwrap();
        assert_eq!(rep.status, CheckStatus::Ok, "{:?}", rep.reasons);
        let shifted: Vec<f64> = res.iter().map(|v| v + 2.0).collect();
        let moved = CurrentSample::from_levels(&r, wave(300, 20.0), wave(300, 20.0), shifted);
        let rep = evaluate(&r, &moved, &t).unwrap();
        assert_eq!(rep.status, CheckStatus::Alarm);
        assert_eq!(rep.levels.status, CheckStatus::Alarm);
        assert_eq!(rep.residuals.status, CheckStatus::Alarm);
        assert!(rep.reasons.iter().any(|r| r.starts_with("levels: PSI")));
        let json = serde_json::to_string(&rep).unwrap();
        assert!(json.contains("\"status\":\"alarm\""));
    }

    #[test]
    fn too_few_values_are_insufficient_never_ok() {
        let r = profile();
        let few = CurrentSample::from_levels(&r, wave(5, 0.0), vec![], vec![]);
        let rep = evaluate(&r, &few, &DriftThresholds::default()).unwrap();
        assert_eq!(rep.status, CheckStatus::InsufficientData);
        assert_eq!(rep.levels.status, CheckStatus::InsufficientData);
        assert_eq!(rep.levels.needed, MIN_CHECK_VALUES);
        assert_eq!(rep.reasons.len(), 4);
    }
}
