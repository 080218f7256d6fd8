//! Split-conformal bands in a backtest, from the residuals known at each origin (no look-ahead).
//!
//! At origin `c` (the last observed row) the band of step `h` is the point ± the
//! `⌈(n + 1)·L⌉`-th smallest of the `n` absolute step-`h` residuals known at `c`: those of the
//! earlier forecasts from origins `c'` whose actual row `c' + h ≤ c`. Never a residual whose
//! actual lies after `c`. The residuals come from:
//!
//! - the validation segment (`[n_train, n_train + n_val)`): the model fitted on the train rows
//!   only (the fit before the test's, which with [`Refit::Never`](crate::Refit::Never) has also
//!   seen the validation rows and would give in-sample residuals there) forecasts from every
//!   origin `n_train − 1, …` before the first test origin, at the backtest's stride;
//! - the test forecasts themselves, each step's residual joining once its actual is observed.
//!
//! An origin where some step has too few residuals for a level's finite band (`⌈(n + 1)·L⌉ >
//! n`) is not scored by the conformal intervals (counted in [`ConformalScore::skipped`]).
//! The rank formula is the one of `nt_models::intervals::conformal` (training-time
//! calibration); the two crates do not depend on each other.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::report::{IntervalScore, WindowInterval};
use crate::scoring::TargetScale;

/// Slack on `(n + 1)·L` before rounding up (an exact integer product stays that integer).
const RANK_SLACK: f64 = 1e-9;

/// The 1-based rank `⌈(n + 1)·level⌉` of the residual bounding the band at `level` from `n`
/// residuals; `None` when it exceeds `n` (an infinite band).
pub fn conformal_rank(n: usize, level: f64) -> Option<usize> {
    let k = (((n + 1) as f64) * level - RANK_SLACK).ceil().max(1.0) as usize;
    (k <= n).then_some(k)
}

/// How the conformal intervals of one model did over a backtest (pooled over targets in a
/// pooled report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConformalScore {
    /// Windows scored (every step had enough residuals for every level).
    pub windows: usize,
    /// Windows left out: too few residuals known at their origin for a finite band.
    pub skipped: usize,
    /// Step-1 residuals from the validation segment (the calibration before the first test
    /// origin).
    pub calibration_residuals: usize,
    /// Coverage, pinball losses and mean width of each level's conformal band (report scale),
    /// over the scored windows.
    pub intervals: Vec<IntervalScore>,
    /// Why the validation-segment calibration is missing, when it is (its fit failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Sums of one level's conformal band.
#[derive(Debug, Clone, Default)]
struct LevelSums {
    level: f64,
    points: usize,
    covered: usize,
    pinball_lower: f64,
    pinball_upper: f64,
    width: f64,
}

/// The per-origin conformal bands of one model on one target, and their scores.
///
/// Call [`calibrate`](Self::calibrate) for every validation-segment forecast, then
/// [`record`](Self::record) for every test forecast, in increasing origin order.
#[derive(Debug, Clone)]
pub(crate) struct ConformalTracker {
    horizon: usize,
    /// Sorted absolute residuals of each step, known at the current origin.
    known: Vec<Vec<f64>>,
    /// Residuals of each step not yet known: (row of their actual, |residual|), in row order.
    pending: Vec<VecDeque<(usize, f64)>>,
    sums: Vec<LevelSums>,
    windows: usize,
    skipped: usize,
    calibration_residuals: usize,
    pub(crate) note: Option<String>,
}

impl ConformalTracker {
    /// An empty tracker for `levels` and steps `1..=horizon`.
    pub(crate) fn new(levels: &[f64], horizon: usize) -> Self {
        Self {
            horizon,
            known: vec![Vec::new(); horizon],
            pending: vec![VecDeque::new(); horizon],
            sums: levels
                .iter()
                .map(|&level| LevelSums {
                    level,
                    ..LevelSums::default()
                })
                .collect(),
            windows: 0,
            skipped: 0,
            calibration_residuals: 0,
            note: None,
        }
    }

    /// Queues the residuals of the forecast `point` from origin `c` against `actual` (the rows
    /// `c + 1 ..`, as many as exist): step `h`'s becomes known at origin `c + h`.
    fn observe(&mut self, c: usize, point: &[f64], actual: &[f64]) {
        for (h, (p, y)) in point.iter().zip(actual).enumerate().take(self.horizon) {
            self.pending[h].push_back((c + h + 1, (y - p).abs()));
        }
    }

    /// A validation-segment forecast from origin `c` (before the first test origin).
    pub(crate) fn calibrate(&mut self, c: usize, point: &[f64], actual: &[f64]) {
        if !actual.is_empty() {
            self.calibration_residuals += 1;
        }
        self.observe(c, point, actual);
    }

    /// Moves every residual whose actual row is at most `c` into the known sets.
    fn release(&mut self, c: usize) {
        for (pending, known) in self.pending.iter_mut().zip(&mut self.known) {
            while let Some(&(row, r)) = pending.front() {
                if row > c {
                    break;
                }
                pending.pop_front();
                let at = known.partition_point(|v| *v < r);
                known.insert(at, r);
            }
        }
    }

    /// The conformal band of every level at origin `c` around `point`, from the residuals
    /// known at `c` only; `None` when some step has too few for some level.
    pub(crate) fn bands(&mut self, c: usize, point: &[f64]) -> Option<Vec<WindowInterval>> {
        self.release(c);
        let mut out = Vec::with_capacity(self.sums.len());
        for s in &self.sums {
            let (mut lower, mut upper) = (Vec::new(), Vec::new());
            for (p, known) in point.iter().zip(&self.known) {
                let r = known[conformal_rank(known.len(), s.level)? - 1];
                lower.push(p - r);
                upper.push(p + r);
            }
            out.push(WindowInterval {
                level: s.level,
                lower,
                upper,
            });
        }
        Some(out)
    }

    /// Scores the test forecast `point` from origin `c` against `actual` with the bands known
    /// at `c`, then queues its residuals. Returns the bands (for the report's windows).
    pub(crate) fn record(
        &mut self,
        c: usize,
        point: &[f64],
        actual: &[f64],
        scale: TargetScale,
    ) -> Option<Vec<WindowInterval>> {
        let bands = self.bands(c, point);
        match &bands {
            Some(bands) => {
                self.windows += 1;
                for (s, b) in self.sums.iter_mut().zip(bands) {
                    let (q_lo, q_hi) = ((1.0 - s.level) / 2.0, (1.0 + s.level) / 2.0);
                    for ((y, lo), hi) in actual.iter().zip(&b.lower).zip(&b.upper) {
                        s.points += 1;
                        s.covered += usize::from(lo <= y && y <= hi);
                        s.pinball_lower += pinball(y - lo, q_lo) / scale.divisor;
                        s.pinball_upper += pinball(y - hi, q_hi) / scale.divisor;
                        s.width += (hi - lo) / scale.divisor;
                    }
                }
            }
            None => self.skipped += 1,
        }
        self.observe(c, point, actual);
        bands
    }

    /// The scores of several trackers pooled (sums added), e.g. over targets.
    pub(crate) fn pooled(parts: &[&ConformalTracker]) -> Option<ConformalScore> {
        let first = parts.first()?;
        let mut sums = first.sums.clone();
        for p in &parts[1..] {
            for (acc, s) in sums.iter_mut().zip(&p.sums) {
                acc.points += s.points;
                acc.covered += s.covered;
                acc.pinball_lower += s.pinball_lower;
                acc.pinball_upper += s.pinball_upper;
                acc.width += s.width;
            }
        }
        let notes: Vec<&str> = parts.iter().filter_map(|p| p.note.as_deref()).collect();
        Some(ConformalScore {
            windows: parts.iter().map(|p| p.windows).sum(),
            skipped: parts.iter().map(|p| p.skipped).sum(),
            calibration_residuals: parts.iter().map(|p| p.calibration_residuals).sum(),
            intervals: sums
                .iter()
                .filter(|s| s.points > 0)
                .map(|s| {
                    let k = s.points as f64;
                    IntervalScore {
                        level: s.level,
                        coverage: s.covered as f64 / k,
                        pinball_lower: s.pinball_lower / k,
                        pinball_upper: s.pinball_upper / k,
                        width: s.width / k,
                    }
                })
                .collect(),
            note: (!notes.is_empty()).then(|| notes.join("; ")),
        })
    }

    /// This tracker's scores.
    pub(crate) fn score(&self) -> Option<ConformalScore> {
        Self::pooled(&[self])
    }
}

/// Pinball loss of error `e = y − q̂` at quantile `q`.
fn pinball(e: f64, q: f64) -> f64 {
    if e >= 0.0 {
        q * e
    } else {
        (q - 1.0) * e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCALE: TargetScale = TargetScale {
        divisor: 1.0,
        mase: None,
    };

    #[test]
    fn a_residual_is_used_only_from_the_origin_its_actual_is_observed() {
        // One step, level 0.5: one residual gives rank ⌈2·0.5⌉ = 1, a finite band.
        let mut t = ConformalTracker::new(&[0.5], 2);
        // Origin 10 forecasts rows 11 and 12: errors 1 (step 1) and 4 (step 2).
        t.calibrate(10, &[0.0, 0.0], &[1.0, 4.0]);
        // At origin 11 step 1's residual (row 11) is known, step 2's (row 12) is not.
        assert!(t.bands(11, &[0.0, 0.0]).is_none());
        let b = t.bands(12, &[0.0, 0.0]).unwrap();
        assert_eq!(
            (b[0].lower.clone(), b[0].upper.clone()),
            (vec![-1.0, -4.0], vec![1.0, 4.0])
        );
    }

    #[test]
    fn scores_count_coverage_width_and_skipped_windows() {
        let mut t = ConformalTracker::new(&[0.5], 1);
        // Origin 0: no residual known yet → skipped; its residual |3 − 1| = 2 joins at row 1.
        assert!(t.record(0, &[1.0], &[3.0], SCALE).is_none());
        // Origin 1: band 5 ± 2 = [3, 7] covers 6.
        assert!(t.record(1, &[5.0], &[6.0], SCALE).is_some());
        // Origin 2: residuals {1, 2}, rank ⌈3·0.5⌉ = 2 → radius 2: [0, 4] misses 9.
        t.record(2, &[2.0], &[9.0], SCALE);
        let s = t.score().unwrap();
        assert_eq!((s.windows, s.skipped), (2, 1));
        assert_eq!(s.intervals[0].coverage, 0.5);
        assert_eq!(s.intervals[0].width, 4.0);
    }
}
