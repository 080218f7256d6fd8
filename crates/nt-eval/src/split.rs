//! Train / validation / test splits by row index, as in the long-horizon protocol
//! (`../shared/anchors/common.py`, `split_sizes`).

use std::ops::Range;

use nt_core::TimeSeries;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

const DAY_MS: i64 = 86_400_000;

/// How the rows of a series are divided into train, validation and test segments.
///
/// Rows `[0, n_train)` are train, `[n_train, n_train + n_val)` validation, and the `n_test` rows
/// after them test; rows from `n_used` on are dropped (only [`Split::Ett`] drops any).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Split {
    /// `n_train = floor(train * N)`, `n_test = floor(test * N)`, `n_val = N - n_train - n_test`
    /// (the three fractions must sum to 1; `val` is the remainder). Default 0.7 / 0.1 / 0.2, the
    /// protocol's split for every data set but ETT.
    Ratio {
        /// Fraction of rows for training, in (0, 1).
        train: f64,
        /// Fraction of rows for validation, in [0, 1).
        val: f64,
        /// Fraction of rows for testing, in (0, 1).
        test: f64,
    },
    /// The ETT convention of 12 / 4 / 4 months of 30 days: `n_train = 12*30*rows_per_day`,
    /// `n_val = n_test = 4*30*rows_per_day`; only the first 20 months are used. ETTh1 (hourly, 24
    /// rows a day): 8640 / 2880 / 2880 of 17420 rows, 14400 used.
    Ett {
        /// Rows per day; `None` infers it from the series' modal timestamp step (hourly 24,
        /// 15-minute 96).
        #[serde(default)]
        rows_per_day: Option<usize>,
    },
    /// Rolling-origin evaluation without a validation segment, for models refit per origin: all
    /// rows are used, the test segment holds `windows` origins at the end of the series (so
    /// `n_test = (windows - 1) * step + horizon`), or, with `test_fraction`, is its last
    /// `floor(test_fraction * N)` rows and at most `windows` origins are taken from its end,
    /// evenly strided.
    Rolling {
        /// Number of forecast origins (≥ 1).
        windows: usize,
        /// Fraction of the rows in the test segment, in (0, 1); `None` sizes it from `windows`.
        #[serde(default)]
        test_fraction: Option<f64>,
    },
}

impl Default for Split {
    fn default() -> Self {
        Split::Ratio {
            train: 0.7,
            val: 0.1,
            test: 0.2,
        }
    }
}

/// The sizes a [`Split`] gives a series: `n_train + n_val + n_test = n_used <= rows`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitPlan {
    /// Training rows, `[0, n_train)`.
    pub n_train: usize,
    /// Validation rows, `[n_train, n_train + n_val)`.
    pub n_val: usize,
    /// Test rows, `[n_used - n_test, n_used)`.
    pub n_test: usize,
    /// Rows used; later rows are ignored.
    pub n_used: usize,
}

impl SplitPlan {
    /// The training rows.
    pub fn train(&self) -> Range<usize> {
        0..self.n_train
    }

    /// The validation rows.
    pub fn val(&self) -> Range<usize> {
        self.n_train..self.n_train + self.n_val
    }

    /// The test rows.
    pub fn test(&self) -> Range<usize> {
        self.n_used - self.n_test..self.n_used
    }

    /// The first forecast origin (cutoff): the last row before the test segment,
    /// `n_used - n_test - 1`.
    pub fn first_cutoff(&self) -> usize {
        self.n_used - self.n_test - 1
    }

    /// The last forecast origin for `horizon`: `n_used - horizon - 1`, so its last target is the
    /// last used row. Requires `n_test >= horizon` (checked by [`Split::plan`]).
    pub fn last_cutoff(&self, horizon: usize) -> usize {
        self.n_used - horizon - 1
    }

    /// The forecast origins (0-based row index of the last observed row) of the protocol:
    /// `first_cutoff, first_cutoff + step, …` up to [`last_cutoff`](Self::last_cutoff)
    /// (`common.cutoffs`). With step 1 there are `n_test - horizon + 1` of them.
    ///
    /// With `max_windows = Some(n)` and more origins than `n`, the last `n` origins are kept,
    /// evenly strided and anchored at the last cutoff, exactly as `sf_bench.py --max-windows`
    /// (statsforecast `cross_validation`) does: the stride becomes
    /// `max(step, ceil(span / (n - 1)))` with `span = last - first`, and there are
    /// `span / stride + 1` origins.
    pub fn cutoffs(
        &self,
        horizon: usize,
        step: usize,
        max_windows: Option<usize>,
    ) -> Result<Vec<usize>> {
        if horizon == 0 || step == 0 {
            return Err(Error::config("horizon/step", "must be at least 1"));
        }
        if self.n_test < horizon {
            return Err(Error::NoTestWindow {
                n_test: self.n_test,
                horizon,
            });
        }
        let first = self.first_cutoff();
        let last = self.last_cutoff(horizon);
        let span = last - first;
        let uncapped = span / step + 1;
        match max_windows {
            Some(0) => Err(Error::config("windows", "must be at least 1")),
            Some(cap) if uncapped > cap => {
                let stride = if cap == 1 {
                    span + 1
                } else {
                    step.max(span.div_ceil(cap - 1))
                };
                let n = span / stride + 1;
                Ok((0..n).map(|i| last - (n - 1 - i) * stride).collect())
            }
            _ => Ok((first..=last).step_by(step).collect()),
        }
    }
}

impl Split {
    /// The 0.7 / 0.1 / 0.2 ratio split ([`Split::default`]).
    pub fn ratio() -> Self {
        Self::default()
    }

    /// The ETT split with rows per day inferred from the timestamps.
    pub fn ett() -> Self {
        Split::Ett { rows_per_day: None }
    }

    /// Checks the split's own parameters.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Split::Ratio { train, val, test } => {
                let ok = |x: f64| x.is_finite() && (0.0..1.0).contains(&x);
                if !ok(train) || train == 0.0 {
                    return Err(Error::config(
                        "split.train",
                        format!("{train} is not in (0, 1)"),
                    ));
                }
                if !ok(val) {
                    return Err(Error::config(
                        "split.val",
                        format!("{val} is not in [0, 1)"),
                    ));
                }
                if !ok(test) || test == 0.0 {
                    return Err(Error::config(
                        "split.test",
                        format!("{test} is not in (0, 1)"),
                    ));
                }
                let sum = train + val + test;
                if (sum - 1.0).abs() > 1e-9 {
                    return Err(Error::config(
                        "split",
                        format!("train + val + test = {sum}, expected 1"),
                    ));
                }
                Ok(())
            }
            Split::Ett { rows_per_day } => match rows_per_day {
                Some(0) => Err(Error::config("split.rows_per_day", "must be at least 1")),
                _ => Ok(()),
            },
            Split::Rolling {
                windows,
                test_fraction,
            } => {
                if windows == 0 {
                    return Err(Error::config("split.windows", "must be at least 1"));
                }
                match test_fraction {
                    Some(f) if !(f.is_finite() && f > 0.0 && f < 1.0) => Err(Error::config(
                        "split.test_fraction",
                        format!("{f} is not in (0, 1)"),
                    )),
                    _ => Ok(()),
                }
            }
        }
    }

    /// The plan for `series`, forecasting `horizon` steps with origins `step` rows apart; see
    /// [`plan_for_len`](Self::plan_for_len).
    pub fn plan(&self, series: &TimeSeries, horizon: usize, step: usize) -> Result<SplitPlan> {
        self.plan_for_len(series.len(), series.step_ms(), horizon, step)
    }

    /// The plan for a series of `n_rows` rows whose modal timestamp step is `step_ms` (only
    /// [`Split::Ett`] without `rows_per_day` reads it). Errors: invalid parameters,
    /// [`Error::TooShort`] when the split needs more rows (or leaves a segment empty),
    /// [`Error::NoTestWindow`] when the test segment is shorter than `horizon`.
    pub fn plan_for_len(
        &self,
        n_rows: usize,
        step_ms: Option<i64>,
        horizon: usize,
        step: usize,
    ) -> Result<SplitPlan> {
        self.validate()?;
        if horizon == 0 {
            return Err(Error::config("horizon", "must be at least 1"));
        }
        if step == 0 {
            return Err(Error::config("step", "must be at least 1"));
        }
        let plan = match *self {
            Split::Ratio { train, test, .. } => {
                // Same float expression as common.py: int(n_rows * 0.7).
                let n_train = (n_rows as f64 * train).floor() as usize;
                let n_test = (n_rows as f64 * test).floor() as usize;
                let n_val = n_rows.saturating_sub(n_train + n_test);
                SplitPlan {
                    n_train,
                    n_val,
                    n_test,
                    n_used: n_train + n_val + n_test,
                }
            }
            Split::Ett { rows_per_day } => {
                let k = match rows_per_day {
                    Some(k) => k,
                    None => rows_per_day_from_step(step_ms)?,
                };
                let plan = SplitPlan {
                    n_train: 12 * 30 * k,
                    n_val: 4 * 30 * k,
                    n_test: 4 * 30 * k,
                    n_used: 20 * 30 * k,
                };
                if plan.n_used > n_rows {
                    return Err(Error::TooShort {
                        split: format!("ett ({k} rows/day)"),
                        needed: plan.n_used,
                        got: n_rows,
                    });
                }
                plan
            }
            Split::Rolling {
                windows,
                test_fraction,
            } => {
                let n_test = match test_fraction {
                    Some(f) => (n_rows as f64 * f).floor() as usize,
                    None => (windows - 1) * step + horizon,
                };
                SplitPlan {
                    n_train: n_rows.saturating_sub(n_test),
                    n_val: 0,
                    n_test,
                    n_used: n_rows,
                }
            }
        };
        if plan.n_train == 0 || plan.n_test == 0 || plan.n_train + plan.n_val + plan.n_test > n_rows
        {
            let needed = match *self {
                // The smallest N with floor(train * N) >= 1 and floor(test * N) >= 1.
                Split::Ratio { train, test, .. } => (1.0 / train.min(test)).ceil() as usize,
                _ => plan.n_test + 1,
            };
            return Err(Error::TooShort {
                split: self.describe(),
                needed,
                got: n_rows,
            });
        }
        if plan.n_test < horizon {
            return Err(Error::NoTestWindow {
                n_test: plan.n_test,
                horizon,
            });
        }
        Ok(plan)
    }

    /// The split in words, for messages and reports.
    pub fn describe(&self) -> String {
        match self {
            Split::Ratio { train, val, test } => format!("ratio {train}/{val}/{test}"),
            Split::Ett {
                rows_per_day: Some(k),
            } => format!("ett ({k} rows/day)"),
            Split::Ett { rows_per_day: None } => "ett".to_string(),
            Split::Rolling {
                windows,
                test_fraction: Some(f),
            } => format!("rolling ({windows} windows, test fraction {f})"),
            Split::Rolling { windows, .. } => format!("rolling ({windows} windows)"),
        }
    }

    /// How many origins the split itself allows at most (only [`Split::Rolling`] caps them).
    pub(crate) fn max_windows(&self) -> Option<usize> {
        match self {
            Split::Rolling { windows, .. } => Some(*windows),
            _ => None,
        }
    }
}

/// Rows per day from the modal timestamp step: `86_400_000 / step_ms` when the step divides a day.
fn rows_per_day_from_step(step_ms: Option<i64>) -> Result<usize> {
    match step_ms {
        Some(s) if s > 0 && DAY_MS % s == 0 => Ok((DAY_MS / s) as usize),
        _ => Err(Error::RowsPerDay { step_ms }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR_MS: i64 = 3_600_000;

    #[test]
    fn ett_hourly_matches_common_py() {
        // common.split_sizes(17420, "ett_hour") = (8640, 2880, 2880, 14400)
        let p = Split::ett()
            .plan_for_len(17420, Some(HOUR_MS), 96, 1)
            .unwrap();
        assert_eq!(
            p,
            SplitPlan {
                n_train: 8640,
                n_val: 2880,
                n_test: 2880,
                n_used: 14400
            }
        );
        assert_eq!(p.first_cutoff(), 11519);
        assert_eq!(p.last_cutoff(96), 14303);
        // 15-minute data: 96 rows a day, four times the rows.
        let m = Split::ett()
            .plan_for_len(69680, Some(HOUR_MS / 4), 96, 1)
            .unwrap();
        assert_eq!(
            (m.n_train, m.n_val, m.n_test, m.n_used),
            (34560, 11520, 11520, 57600)
        );
    }

    #[test]
    fn ratio_matches_common_py() {
        // common.split_sizes(7588, "ratio") = (5311, 760, 1517): exchange_rate in the docstring.
        let p = Split::ratio().plan_for_len(7588, None, 96, 1).unwrap();
        assert_eq!(
            (p.n_train, p.n_val, p.n_test, p.n_used),
            (5311, 760, 1517, 7588)
        );
        // GOOG.csv, 2148 rows: int(1503.6) = 1503, int(429.6) = 429, val 216.
        let g = Split::ratio().plan_for_len(2148, None, 24, 1).unwrap();
        assert_eq!((g.n_train, g.n_val, g.n_test), (1503, 216, 429));
        // ETTh1 under the ratio split: Python's 17420 * 0.7 = 12194.0, 17420 * 0.2 = 3484.0.
        let e = Split::ratio().plan_for_len(17420, None, 96, 1).unwrap();
        assert_eq!((e.n_train, e.n_val, e.n_test), (12194, 1742, 3484));
    }

    #[test]
    fn cutoffs_follow_sources_md() {
        let p = SplitPlan {
            n_train: 10,
            n_val: 2,
            n_test: 8,
            n_used: 20,
        };
        // first = 20 - 8 - 1 = 11, last = 20 - 3 - 1 = 16: n_test - H + 1 = 6 origins.
        assert_eq!(p.cutoffs(3, 1, None).unwrap(), vec![11, 12, 13, 14, 15, 16]);
        // stride 2 anchored at the first cutoff (np.arange(first, last + 1, step)).
        assert_eq!(p.cutoffs(3, 2, None).unwrap(), vec![11, 13, 15]);
        // cap 3 of 6: stride max(1, ceil(5 / 2)) = 3, n = 5 / 3 + 1 = 2, anchored at 16.
        assert_eq!(p.cutoffs(3, 1, Some(3)).unwrap(), vec![13, 16]);
        // cap 4 of 6: stride ceil(5 / 3) = 2 -> 16, 14, 12.
        assert_eq!(p.cutoffs(3, 1, Some(4)).unwrap(), vec![12, 14, 16]);
        assert_eq!(p.cutoffs(3, 1, Some(1)).unwrap(), vec![16]);
        // a cap that does not bind changes nothing.
        assert_eq!(p.cutoffs(3, 1, Some(6)).unwrap().len(), 6);
        assert!(p.cutoffs(9, 1, None).is_err());
    }

    #[test]
    fn too_short_and_bad_parameters_are_clear_errors() {
        let e = Split::ett()
            .plan_for_len(1000, Some(HOUR_MS), 96, 1)
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::TooShort {
                    needed: 14400,
                    got: 1000,
                    ..
                }
            ),
            "{e}"
        );
        let e = Split::ett()
            .plan_for_len(20000, Some(7 * 60 * 1000 + 1), 96, 1)
            .unwrap_err();
        assert!(matches!(e, Error::RowsPerDay { .. }), "{e}");
        let e = Split::ratio().plan_for_len(100, None, 96, 1).unwrap_err();
        assert!(
            matches!(
                e,
                Error::NoTestWindow {
                    n_test: 20,
                    horizon: 96
                }
            ),
            "{e}"
        );
        let e = Split::ratio().plan_for_len(2, None, 1, 1).unwrap_err();
        assert!(matches!(e, Error::TooShort { .. }), "{e}");
        let bad = Split::Ratio {
            train: 0.7,
            val: 0.2,
            test: 0.2,
        };
        assert!(bad.plan_for_len(100, None, 1, 1).is_err());
        let e = Split::Rolling {
            windows: 50,
            test_fraction: None,
        }
        .plan_for_len(60, None, 24, 1)
        .unwrap_err();
        assert!(
            matches!(
                e,
                Error::TooShort {
                    needed: 74,
                    got: 60,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn rolling_sizes_the_test_segment_from_its_windows() {
        let split = Split::Rolling {
            windows: 5,
            test_fraction: None,
        };
        let p = split.plan_for_len(100, None, 4, 3).unwrap();
        // (5 - 1) * 3 + 4 = 16 test rows, no validation, all rows used.
        assert_eq!((p.n_train, p.n_val, p.n_test, p.n_used), (84, 0, 16, 100));
        assert_eq!(
            p.cutoffs(4, 3, split.max_windows()).unwrap(),
            vec![83, 86, 89, 92, 95]
        );
    }

    #[test]
    fn serde_is_tagged_and_round_trips() {
        let s = Split::Ett {
            rows_per_day: Some(24),
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"{"kind":"ett","rows_per_day":24}"#);
        assert_eq!(
            serde_json::from_str::<Split>(r#"{"kind":"ett"}"#).unwrap(),
            Split::ett()
        );
        let r: Split =
            serde_json::from_str(&serde_json::to_string(&Split::ratio()).unwrap()).unwrap();
        assert_eq!(r, Split::ratio());
    }
}
