//! Early stopping of bad trials on their validation curves: Optuna's `MedianPruner`, or none.

use serde::{Deserialize, Serialize};

/// How a study prunes trials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Pruner {
    /// Never prune.
    None,
    /// Optuna's `MedianPruner`: once `n_startup_trials` trials have completed, and from step
    /// `n_warmup_steps` on, a trial is pruned at a validation check when its best value so far
    /// is worse than the median of the completed trials' values reported at that same step.
    Median {
        /// Completed trials needed before anything is pruned (Optuna's default 5).
        n_startup_trials: usize,
        /// Steps before which a trial is never pruned (Optuna's default 0).
        n_warmup_steps: u64,
    },
}

impl Pruner {
    /// The median pruner with Optuna's defaults (5 startup trials, no warm-up).
    pub fn median() -> Self {
        Pruner::Median {
            n_startup_trials: 5,
            n_warmup_steps: 0,
        }
    }

    /// The name: `none` or `median`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Pruner::None => "none",
            Pruner::Median { .. } => "median",
        }
    }

    /// Whether a trial whose best value so far is `best` should stop at `step`, given the
    /// intermediate curves (`(step, value)` pairs) of the completed trials. Values missing at
    /// `step` or not finite are ignored (Optuna's `nanmedian`); with none left, nothing is pruned.
    pub fn should_prune(&self, step: u64, best: f64, completed: &[&[(u64, f64)]]) -> bool {
        let Pruner::Median {
            n_startup_trials,
            n_warmup_steps,
        } = *self
        else {
            return false;
        };
        if completed.len() < n_startup_trials || step < n_warmup_steps {
            return false;
        }
        let mut at: Vec<f64> = completed
            .iter()
            .filter_map(|c| c.iter().find(|(s, _)| *s == step).map(|(_, v)| *v))
            .filter(|v| v.is_finite())
            .collect();
        if at.is_empty() {
            return false;
        }
        at.sort_by(f64::total_cmp);
        let n = at.len();
        let median = if n % 2 == 1 {
            at[n / 2]
        } else {
            (at[n / 2 - 1] + at[n / 2]) / 2.0
        };
        // A NaN best (a diverged trial) is worse than any median.
        best.is_nan() || best > median
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(values: &[f64]) -> Vec<(u64, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| ((i as u64 + 1) * 10, *v))
            .collect()
    }

    #[test]
    fn median_rule_on_hand_made_curves() {
        let done = [
            curve(&[1.0, 0.8, 0.6]),
            curve(&[1.2, 0.9, 0.7]),
            curve(&[2.0, 1.5, 1.0]),
        ];
        let refs: Vec<&[(u64, f64)]> = done.iter().map(Vec::as_slice).collect();
        let p = Pruner::Median {
            n_startup_trials: 3,
            n_warmup_steps: 0,
        };
        // Median at step 20 is 0.9.
        assert!(p.should_prune(20, 0.95, &refs));
        assert!(!p.should_prune(20, 0.9, &refs));
        assert!(!p.should_prune(20, 0.5, &refs));
        // Median at step 10 of 1.0, 1.2, 2.0 is 1.2.
        assert!(p.should_prune(10, 1.3, &refs));
        // No value reported at step 15: never pruned there.
        assert!(!p.should_prune(15, 100.0, &refs));
        assert!(p.should_prune(30, f64::NAN, &refs));
        // Even count: the mean of the middle two.
        let four = [refs[0], refs[1], refs[2], refs[0]];
        assert!(!p.should_prune(30, 0.64, &four));
        assert!(p.should_prune(30, 0.66, &four));
    }

    #[test]
    fn startup_and_warmup_hold_it_back() {
        let done = [curve(&[1.0, 0.8]), curve(&[1.0, 0.8])];
        let refs: Vec<&[(u64, f64)]> = done.iter().map(Vec::as_slice).collect();
        let p = Pruner::Median {
            n_startup_trials: 3,
            n_warmup_steps: 0,
        };
        assert!(!p.should_prune(20, 9.0, &refs));
        let p = Pruner::Median {
            n_startup_trials: 2,
            n_warmup_steps: 15,
        };
        assert!(!p.should_prune(10, 9.0, &refs));
        assert!(p.should_prune(20, 9.0, &refs));
        assert!(!Pruner::None.should_prune(20, 9.0, &refs));
    }
}
