//! Whether a model beats the random walk: economically (skill at least a minimum) and
//! statistically (Diebold–Mariano p-value below a level), both required.

use serde::{Deserialize, Serialize};

use crate::Scores;

/// The minimum MAE skill against the random walk that counts as beating it by default (1%):
/// a p-value of 1e-11 on +0.03% skill is significant and worthless.
pub const DEFAULT_MIN_SKILL: f64 = 0.01;

/// The Diebold–Mariano level below which a difference counts as significant.
pub const DM_ALPHA: f64 = 0.05;

/// A model's standing against the random walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Skill ≥ the minimum and DM p < [`DM_ALPHA`].
    Beats,
    /// Skill ≤ −the minimum and DM p < [`DM_ALPHA`].
    Loses,
    /// Neither: too small a difference, or not significant.
    Tie,
    /// No skill or no DM test (e.g. too few windows, or the random walk's MAE is 0).
    Unknown,
}

impl Verdict {
    /// The verdict for `scores` with a minimum skill of `min_skill` (a fraction: 0.01 = 1%).
    pub fn of(scores: &Scores, min_skill: f64) -> Verdict {
        match (&scores.dm, scores.skill_mae) {
            (Some(dm), Some(skill)) if dm.p_value.is_finite() && skill.is_finite() => {
                let significant = dm.p_value < DM_ALPHA;
                if significant && skill >= min_skill {
                    Verdict::Beats
                } else if significant && skill <= -min_skill {
                    Verdict::Loses
                } else {
                    Verdict::Tie
                }
            }
            _ => Verdict::Unknown,
        }
    }

    /// The word the leaderboard prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Beats => "beats",
            Verdict::Loses => "loses",
            Verdict::Tie => "tie",
            Verdict::Unknown => "-",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DieboldMariano;

    fn scores(skill: f64, p: f64) -> Scores {
        Scores {
            mae: 1.0,
            mse: 1.0,
            rmse: 1.0,
            mape: None,
            smape: 1.0,
            mase: None,
            directional_accuracy: None,
            theils_u: None,
            skill_mae: Some(skill),
            dm: Some(DieboldMariano {
                statistic: 1.0,
                p_value: p,
                loss: "squared".into(),
                n: 100,
                lags: 0,
            }),
            intervals: Vec::new(),
            crps: None,
        }
    }

    #[test]
    fn beating_needs_both_significance_and_a_minimum_skill() {
        // ETS on ETTh1: +0.03% skill at p = 5e-11 is a tie, not a win.
        assert_eq!(
            Verdict::of(&scores(0.0003, 5e-11), DEFAULT_MIN_SKILL),
            Verdict::Tie
        );
        assert_eq!(
            Verdict::of(&scores(0.05, 0.01), DEFAULT_MIN_SKILL),
            Verdict::Beats
        );
        assert_eq!(
            Verdict::of(&scores(0.05, 0.2), DEFAULT_MIN_SKILL),
            Verdict::Tie
        );
        assert_eq!(
            Verdict::of(&scores(-0.05, 0.01), DEFAULT_MIN_SKILL),
            Verdict::Loses
        );
        assert_eq!(Verdict::of(&scores(0.0003, 5e-11), 0.0), Verdict::Beats);
        let mut none = scores(0.1, 0.01);
        none.dm = None;
        assert_eq!(Verdict::of(&none, DEFAULT_MIN_SKILL), Verdict::Unknown);
    }
}
