//! Running sums of a model's errors over backtest windows, and the scores built from them.
//!
//! A [`Tally`] holds everything needed to score a model on one target; tallies of several targets
//! are pooled by adding their sums (and averaging their per-origin losses for the DM test).

use nt_core::{metrics, Forecast};

use crate::dm::diebold_mariano;
use crate::report::{IntervalScore, Scores};

/// Sums for one interval level.
#[derive(Debug, Clone, Default)]
pub(crate) struct LevelTally {
    pub(crate) level: f64,
    /// Windows whose forecast carried this interval.
    pub(crate) windows: usize,
    /// Points scored (windows × horizon).
    pub(crate) points: usize,
    pub(crate) covered: usize,
    pub(crate) pinball_lower: f64,
    pub(crate) pinball_upper: f64,
    pub(crate) width: f64,
}

/// How the errors of one target are scaled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TargetScale {
    /// Errors are divided by this (1 on the original scale, the train std when standardized).
    pub(crate) divisor: f64,
    /// The in-sample seasonal-naive MAE of the train rows (MASE's denominator), if defined.
    pub(crate) mase: Option<f64>,
}

/// Running sums of one model on one target (or pooled over targets).
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    pub(crate) windows: usize,
    points: usize,
    sum_abs: f64,
    sum_sq: f64,
    mape_sum: f64,
    mape_points: usize,
    smape_sum: f64,
    mase_sum: f64,
    mase_defined: bool,
    dir_hits: usize,
    dir_counted: usize,
    /// Mean squared (scaled) error of each window, in origin order.
    pub(crate) window_mse: Vec<f64>,
    levels: Vec<LevelTally>,
    /// Sum of the (scaled) CRPS of every point of the windows whose forecast carried sample
    /// paths, and how many windows and points those were.
    crps_sum: f64,
    crps_windows: usize,
    crps_points: usize,
}

impl Tally {
    /// An empty tally scoring the interval `levels`.
    pub(crate) fn new(levels: &[f64], mase_defined: bool) -> Self {
        Self {
            mase_defined,
            levels: levels
                .iter()
                .map(|&level| LevelTally {
                    level,
                    ..LevelTally::default()
                })
                .collect(),
            ..Self::default()
        }
    }

    /// Adds one window: `actual` are the rows after the origin, `reference` the last observed
    /// value at the origin. The caller has checked the lengths match and values are finite.
    pub(crate) fn add(
        &mut self,
        actual: &[f64],
        forecast: &Forecast,
        reference: f64,
        scale: TargetScale,
    ) {
        let point = forecast.point_values();
        let mut window_sq = 0.0;
        for (y, p) in actual.iter().zip(point) {
            let e = y - p;
            let es = e / scale.divisor;
            self.sum_abs += es.abs();
            self.sum_sq += es * es;
            window_sq += es * es;
            if *y != 0.0 {
                self.mape_sum += (e / y).abs();
                self.mape_points += 1;
            }
            let denom = y.abs() + p.abs();
            if denom != 0.0 {
                self.smape_sum += 2.0 * e.abs() / denom;
            }
            if let Some(m) = scale.mase {
                self.mase_sum += e.abs() / m;
            }
        }
        if let Ok((hits, counted)) = metrics::directional_hits(actual, point, reference) {
            self.dir_hits += hits;
            self.dir_counted += counted;
        }
        self.points += actual.len();
        self.windows += 1;
        self.window_mse.push(window_sq / actual.len() as f64);
        let paths = forecast.paths();
        if !paths.is_empty() {
            let mut draws = Vec::with_capacity(paths.len());
            for (step, y) in actual.iter().enumerate() {
                draws.clear();
                draws.extend(paths.iter().map(|p| p[step]));
                // Paths are checked finite with the forecast; a failure leaves the point out.
                if let Ok(c) = metrics::crps_samples(&draws, *y) {
                    self.crps_sum += c / scale.divisor;
                    self.crps_points += 1;
                }
            }
            self.crps_windows += 1;
        }
        for lt in &mut self.levels {
            let Some((lower, upper)) = forecast.interval(lt.level) else {
                continue;
            };
            let (q_lo, q_hi) = ((1.0 - lt.level) / 2.0, (1.0 + lt.level) / 2.0);
            lt.windows += 1;
            for ((y, lo), hi) in actual.iter().zip(lower).zip(upper) {
                lt.points += 1;
                if lo <= y && y <= hi {
                    lt.covered += 1;
                }
                lt.pinball_lower += pinball(y - lo, q_lo) / scale.divisor;
                lt.pinball_upper += pinball(y - hi, q_hi) / scale.divisor;
                lt.width += (hi - lo) / scale.divisor;
            }
        }
    }

    /// Pools tallies of several targets over the same origins: sums add up, and the per-origin
    /// loss is the mean over targets at each origin (the panel form of the DM differential).
    pub(crate) fn pool(parts: &[&Tally]) -> Tally {
        let Some(first) = parts.first() else {
            return Tally::default();
        };
        let mut out = Tally::new(
            &first.levels.iter().map(|l| l.level).collect::<Vec<_>>(),
            true,
        );
        out.window_mse = vec![0.0; first.window_mse.len()];
        for t in parts {
            out.windows += t.windows;
            out.points += t.points;
            out.sum_abs += t.sum_abs;
            out.sum_sq += t.sum_sq;
            out.mape_sum += t.mape_sum;
            out.mape_points += t.mape_points;
            out.smape_sum += t.smape_sum;
            out.mase_sum += t.mase_sum;
            out.mase_defined &= t.mase_defined;
            out.dir_hits += t.dir_hits;
            out.dir_counted += t.dir_counted;
            out.crps_sum += t.crps_sum;
            out.crps_windows += t.crps_windows;
            out.crps_points += t.crps_points;
            for (acc, v) in out.window_mse.iter_mut().zip(&t.window_mse) {
                *acc += v / parts.len() as f64;
            }
            for (acc, l) in out.levels.iter_mut().zip(&t.levels) {
                acc.windows += l.windows;
                acc.points += l.points;
                acc.covered += l.covered;
                acc.pinball_lower += l.pinball_lower;
                acc.pinball_upper += l.pinball_upper;
                acc.width += l.width;
            }
        }
        out
    }

    fn mae(&self) -> f64 {
        self.sum_abs / self.points as f64
    }

    fn mse(&self) -> f64 {
        self.sum_sq / self.points as f64
    }

    /// The scores of this tally against the `baseline` tally of the same windows; `dm_h` is the
    /// DM test's `h` (overlapping lags + 1). `None` when no window was scored.
    pub(crate) fn scores(&self, baseline: &Tally, dm_h: usize) -> Option<Scores> {
        if self.points == 0 {
            return None;
        }
        let n = self.points as f64;
        let (mae, mse) = (self.mae(), self.mse());
        let ratio_to_baseline =
            |own: f64, base: f64| (base > 0.0 && baseline.points > 0).then(|| own / base);
        let d: Vec<f64> = self
            .window_mse
            .iter()
            .zip(&baseline.window_mse)
            .map(|(m, b)| m - b)
            .collect();
        let intervals = self
            .levels
            .iter()
            .filter(|l| l.windows == self.windows && l.points > 0)
            .map(|l| {
                let k = l.points as f64;
                IntervalScore {
                    level: l.level,
                    coverage: l.covered as f64 / k,
                    pinball_lower: l.pinball_lower / k,
                    pinball_upper: l.pinball_upper / k,
                    width: l.width / k,
                }
            })
            .collect();
        Some(Scores {
            mae,
            mse,
            rmse: mse.sqrt(),
            mape: (self.mape_points > 0).then(|| 100.0 * self.mape_sum / self.mape_points as f64),
            smape: 100.0 * self.smape_sum / n,
            mase: self.mase_defined.then(|| self.mase_sum / n),
            directional_accuracy: (self.dir_counted > 0)
                .then(|| self.dir_hits as f64 / self.dir_counted as f64),
            theils_u: ratio_to_baseline(mse, baseline.mse()).map(f64::sqrt),
            skill_mae: ratio_to_baseline(mae, baseline.mae()).map(|r| 1.0 - r),
            dm: (d.len() == baseline.window_mse.len())
                .then(|| diebold_mariano(&d, dm_h, "squared"))
                .flatten(),
            intervals,
            crps: (self.crps_windows == self.windows && self.crps_points > 0)
                .then(|| self.crps_sum / self.crps_points as f64),
        })
    }
}

/// Pinball loss of one point: `max(q e, (q − 1) e)`, `e = y − ŷ`.
fn pinball(e: f64, q: f64) -> f64 {
    (q * e).max((q - 1.0) * e)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: TargetScale = TargetScale {
        divisor: 1.0,
        mase: Some(2.0),
    };

    #[test]
    fn sums_match_hand_computation() {
        // One window, actual [1, 2, 4], forecast [2, 2, 2], origin value 1.5:
        // e = -1, 0, 2 -> MAE 1, MSE 5/3; MASE 1/2; directions from 1.5: -,+,+ vs +,+,+ -> 2/3.
        let mut t = Tally::new(&[0.5], true);
        let f = Forecast::point(vec![2.0, 2.0, 2.0])
            .with_interval(0.5, vec![1.0, 1.0, 1.0], vec![3.0, 3.0, 3.0])
            .unwrap();
        t.add(&[1.0, 2.0, 4.0], &f, 1.5, UNIT);
        let base = t.clone();
        let s = t.scores(&base, 1).unwrap();
        assert!((s.mae - 1.0).abs() < 1e-12 && (s.mse - 5.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.mase, Some(0.5));
        assert!((s.directional_accuracy.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        // |e/y| = 1, 0, 0.5 -> 50 %
        assert!((s.mape.unwrap() - 50.0).abs() < 1e-12);
        assert_eq!((s.theils_u, s.skill_mae), (Some(1.0), Some(0.0)));
        // interval [1, 3]: covers 1, 2 not 4; pinball q=0.25 lower: e = 0, 1, 3 -> 0 + .25 + .75;
        // q=0.75 upper: e = -2, -1, 1 -> .5 + .25 + .75; width 2.
        let iv = &s.intervals[0];
        assert!((iv.coverage - 2.0 / 3.0).abs() < 1e-12);
        assert!((iv.pinball_lower - 1.0 / 3.0).abs() < 1e-12);
        assert!((iv.pinball_upper - 0.5).abs() < 1e-12);
        assert!((iv.width - 2.0).abs() < 1e-12);
    }

    #[test]
    fn pooling_adds_sums_and_averages_window_losses() {
        let mut a = Tally::new(&[], true);
        let mut b = Tally::new(&[], false);
        a.add(&[1.0], &Forecast::point(vec![0.0]), 0.0, UNIT);
        b.add(&[3.0], &Forecast::point(vec![0.0]), 0.0, UNIT);
        let p = Tally::pool(&[&a, &b]);
        assert_eq!(p.windows, 2);
        // squared errors 1 and 9: per-origin mean 5, pooled MSE 5; MASE undefined for b.
        assert_eq!(p.window_mse, vec![5.0]);
        let s = p.scores(&p, 1).unwrap();
        assert_eq!((s.mae, s.mse, s.mase), (2.0, 5.0, None));
    }

    /// CRPS comes from the paths step by step: one window with paths {0, 2} at step 1
    /// (y = 1: E|X−y| = 1, E|X−X'| = 1, CRPS 0.5) and the single value {3} twice at step 2
    /// (y = 1: CRPS 2), mean 1.25; halved by a divisor of 2. A model whose windows did not all
    /// carry paths gets no CRPS.
    #[test]
    fn crps_is_scored_from_sample_paths_only() {
        let paths = vec![vec![0.0, 3.0], vec![2.0, 3.0]];
        let f = Forecast::point(vec![1.0, 3.0]).with_paths(paths).unwrap();
        let mut t = Tally::new(&[], true);
        t.add(&[1.0, 1.0], &f, 1.0, UNIT);
        assert_eq!(t.scores(&t.clone(), 1).unwrap().crps, Some(1.25));
        let half = TargetScale {
            divisor: 2.0,
            mase: None,
        };
        let mut scaled = Tally::new(&[], false);
        scaled.add(&[1.0, 1.0], &f, 1.0, half);
        assert_eq!(scaled.scores(&scaled.clone(), 1).unwrap().crps, Some(0.625));
        t.add(&[1.0, 1.0], &Forecast::point(vec![1.0, 1.0]), 1.0, UNIT);
        assert_eq!(t.scores(&t.clone(), 1).unwrap().crps, None);
    }
}
