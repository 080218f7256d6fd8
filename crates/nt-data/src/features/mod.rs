//! Technical and calendar features computed from one column, causally: the value at row `t`
//! depends only on rows `0..=t` (checked by a property test for every feature).
//!
//! Each family lives in its own module with a plain `&[f64] -> Vec<f64>` function; [`Feature`]
//! names a feature with its parameters (parsed from strings such as `rsi:14`) and
//! [`add_features`] appends the columns to a series.
//!
//! | spec | columns (for column `Close`) | warm-up NaN rows |
//! |---|---|---|
//! | `return` | `Close_return` | 1 |
//! | `log_return` | `Close_log_return` | 1 |
//! | `rolling_mean:W` | `Close_rolling_meanW` | W − 1 |
//! | `rolling_std:W` (W ≥ 2) | `Close_rolling_stdW` | W − 1 |
//! | `rsi[:N]` (14) | `Close_rsiN` | N |
//! | `macd[:F:S:G]` (12:26:9) | `Close_macdF_S_G`, `Close_macd_signalF_S_G`, `Close_macd_histF_S_G` | S − 1 (line), S + G − 2 (signal, hist) |
//! | `bollinger[:W[:K]]` (20:2) | `Close_pctbW_K` | W − 1 |
//! | `lag:K` | `Close_lagK` | K |
//! | `hour`, `dow`, `month` | `hour`, `dow`, `month` | 0 |

pub mod bollinger;
pub mod calendar;
pub mod lags;
pub mod macd;
pub mod returns;
pub mod rolling;
pub mod rsi;

use std::fmt;
use std::str::FromStr;

use nt_core::{Column, TimeSeries};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

pub use bollinger::percent_b;
pub use calendar::{day_of_week, hour_of_day, month};
pub use lags::lag;
pub use macd::{ema, macd, Macd};
pub use returns::{log_returns, simple_returns};
pub use rolling::{rolling_mean, rolling_std};
pub use rsi::rsi;

/// A feature and its parameters. Parsed from and displayed as the spec strings in the module
/// table (`return`, `log_return`, `rolling_mean:20`, `rolling_std:20`, `rsi:14`, `macd:12:26:9`,
/// `bollinger:20:2`, `lag:3`, `hour`, `dow`, `month`); serde uses the same strings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Feature {
    /// Simple return `x_t / x_{t-1} - 1`.
    Return,
    /// Log return `ln(x_t / x_{t-1})`.
    LogReturn,
    /// Rolling mean over `window` rows (≥ 1).
    RollingMean {
        /// Window length.
        window: usize,
    },
    /// Rolling sample standard deviation (ddof = 1) over `window` rows (≥ 2).
    RollingStd {
        /// Window length.
        window: usize,
    },
    /// Wilder's RSI over `period` changes (≥ 1; default 14).
    Rsi {
        /// Number of changes averaged.
        period: usize,
    },
    /// MACD line, signal and histogram (`1 ≤ fast < slow`, `signal ≥ 1`; default 12, 26, 9).
    Macd {
        /// Fast EMA span.
        fast: usize,
        /// Slow EMA span.
        slow: usize,
        /// Signal EMA span.
        signal: usize,
    },
    /// Bollinger %b over `window` rows (≥ 2) with bands `k` (> 0) standard deviations wide
    /// (default 20, 2).
    Bollinger {
        /// Window length.
        window: usize,
        /// Band width in standard deviations.
        k: f64,
    },
    /// The value `k` rows earlier (≥ 1).
    Lag {
        /// How many rows back.
        k: usize,
    },
    /// Hour of day (UTC), 0–23.
    Hour,
    /// Day of week (UTC), Monday = 0.
    DayOfWeek,
    /// Month (UTC), 1–12.
    Month,
}

const EXPECTED_SPECS: &str = "one of return, log_return, rolling_mean:W, rolling_std:W, rsi[:N], \
macd[:FAST:SLOW:SIGNAL], bollinger[:W[:K]], lag:K, hour, dow, month";

impl Feature {
    /// Checks the parameters' ranges (listed on each variant).
    pub fn validate(&self) -> Result<()> {
        let bad = |expected: &str| Err(Error::invalid("feature", self, expected));
        match *self {
            Feature::RollingMean { window: 0 } => bad("a window of at least 1"),
            Feature::RollingStd { window } if window < 2 => {
                bad("a window of at least 2 (a sample std needs two values)")
            }
            Feature::Rsi { period: 0 } => bad("a period of at least 1"),
            Feature::Macd { fast, slow, signal } if fast == 0 || slow <= fast || signal == 0 => {
                bad("spans with 1 <= fast < slow and signal >= 1")
            }
            Feature::Bollinger { window, k } if window < 2 || !(k.is_finite() && k > 0.0) => {
                bad("a window of at least 2 and a finite k > 0")
            }
            Feature::Lag { k: 0 } => bad("a lag of at least 1"),
            _ => Ok(()),
        }
    }

    /// Leading rows that are NaN (for finite input), the largest over the feature's columns:
    /// the rows to drop before training on it.
    pub fn warmup(&self) -> usize {
        match *self {
            Feature::Return | Feature::LogReturn => 1,
            Feature::RollingMean { window }
            | Feature::RollingStd { window }
            | Feature::Bollinger { window, .. } => window.saturating_sub(1),
            Feature::Rsi { period } => period,
            Feature::Macd { slow, signal, .. } => (slow + signal).saturating_sub(2),
            Feature::Lag { k } => k,
            Feature::Hour | Feature::DayOfWeek | Feature::Month => 0,
        }
    }

    /// The names of the columns this feature adds for source column `column`.
    pub fn column_names(&self, column: &str) -> Vec<String> {
        match *self {
            Feature::Return => vec![format!("{column}_return")],
            Feature::LogReturn => vec![format!("{column}_log_return")],
            Feature::RollingMean { window } => vec![format!("{column}_rolling_mean{window}")],
            Feature::RollingStd { window } => vec![format!("{column}_rolling_std{window}")],
            Feature::Rsi { period } => vec![format!("{column}_rsi{period}")],
            Feature::Macd { fast, slow, signal } => vec![
                format!("{column}_macd{fast}_{slow}_{signal}"),
                format!("{column}_macd_signal{fast}_{slow}_{signal}"),
                format!("{column}_macd_hist{fast}_{slow}_{signal}"),
            ],
            Feature::Bollinger { window, k } => vec![format!("{column}_pctb{window}_{k}")],
            Feature::Lag { k } => vec![format!("{column}_lag{k}")],
            Feature::Hour => vec!["hour".into()],
            Feature::DayOfWeek => vec!["dow".into()],
            Feature::Month => vec!["month".into()],
        }
    }

    /// Computes the feature's columns (named by [`column_names`](Self::column_names)) from
    /// column `column` of `series` (calendar features use the timestamps only, but the column
    /// must still exist). An error for invalid parameters or a missing column.
    pub fn compute(&self, series: &TimeSeries, column: &str) -> Result<Vec<Column>> {
        self.validate()?;
        let x = series.column(column)?;
        let values: Vec<Vec<f64>> = match *self {
            Feature::Return => vec![simple_returns(x)],
            Feature::LogReturn => vec![log_returns(x)],
            Feature::RollingMean { window } => vec![rolling_mean(x, window)],
            Feature::RollingStd { window } => vec![rolling_std(x, window)],
            Feature::Rsi { period } => vec![rsi(x, period)],
            Feature::Macd { fast, slow, signal } => {
                let m = macd(x, fast, slow, signal);
                vec![m.line, m.signal, m.histogram]
            }
            Feature::Bollinger { window, k } => vec![percent_b(x, window, k)],
            Feature::Lag { k } => vec![lag(x, k)],
            Feature::Hour => vec![hour_of_day(series.timestamps())],
            Feature::DayOfWeek => vec![day_of_week(series.timestamps())],
            Feature::Month => vec![month(series.timestamps())],
        };
        Ok(self
            .column_names(column)
            .into_iter()
            .zip(values)
            .map(|(name, values)| Column { name, values })
            .collect())
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Feature::Return => write!(f, "return"),
            Feature::LogReturn => write!(f, "log_return"),
            Feature::RollingMean { window } => write!(f, "rolling_mean:{window}"),
            Feature::RollingStd { window } => write!(f, "rolling_std:{window}"),
            Feature::Rsi { period } => write!(f, "rsi:{period}"),
            Feature::Macd { fast, slow, signal } => write!(f, "macd:{fast}:{slow}:{signal}"),
            Feature::Bollinger { window, k } => write!(f, "bollinger:{window}:{k}"),
            Feature::Lag { k } => write!(f, "lag:{k}"),
            Feature::Hour => write!(f, "hour"),
            Feature::DayOfWeek => write!(f, "dow"),
            Feature::Month => write!(f, "month"),
        }
    }
}

impl FromStr for Feature {
    type Err = Error;

    /// Parses a spec (any case, spaces around parts ignored); parameters in brackets in the
    /// module table are optional. The result is validated.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::invalid("feature", s, EXPECTED_SPECS);
        let lower = s.trim().to_ascii_lowercase();
        let mut parts = lower.split(':').map(str::trim);
        let name = parts.next().unwrap_or_default();
        let args: Vec<&str> = parts.collect();
        let int = |i: usize| -> Result<Option<usize>> {
            args.get(i)
                .map(|a| a.parse::<usize>().map_err(|_| bad()))
                .transpose()
        };
        let arity = |max: usize| if args.len() > max { Err(bad()) } else { Ok(()) };
        let feature = match name {
            "return" | "returns" | "pct_change" => {
                arity(0)?;
                Feature::Return
            }
            "log_return" | "log_returns" => {
                arity(0)?;
                Feature::LogReturn
            }
            "rolling_mean" | "sma" => {
                arity(1)?;
                Feature::RollingMean {
                    window: int(0)?.ok_or_else(bad)?,
                }
            }
            "rolling_std" => {
                arity(1)?;
                Feature::RollingStd {
                    window: int(0)?.ok_or_else(bad)?,
                }
            }
            "rsi" => {
                arity(1)?;
                Feature::Rsi {
                    period: int(0)?.unwrap_or(14),
                }
            }
            "macd" => {
                if !(args.is_empty() || args.len() == 3) {
                    return Err(bad());
                }
                Feature::Macd {
                    fast: int(0)?.unwrap_or(12),
                    slow: int(1)?.unwrap_or(26),
                    signal: int(2)?.unwrap_or(9),
                }
            }
            "bollinger" | "pctb" => {
                arity(2)?;
                let k = args
                    .get(1)
                    .map(|a| a.parse::<f64>().map_err(|_| bad()))
                    .transpose()?;
                Feature::Bollinger {
                    window: int(0)?.unwrap_or(20),
                    k: k.unwrap_or(2.0),
                }
            }
            "lag" => {
                arity(1)?;
                Feature::Lag {
                    k: int(0)?.ok_or_else(bad)?,
                }
            }
            "hour" => {
                arity(0)?;
                Feature::Hour
            }
            "dow" | "day_of_week" | "weekday" => {
                arity(0)?;
                Feature::DayOfWeek
            }
            "month" => {
                arity(0)?;
                Feature::Month
            }
            _ => return Err(bad()),
        };
        feature.validate()?;
        Ok(feature)
    }
}

impl TryFrom<String> for Feature {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Feature> for String {
    fn from(f: Feature) -> String {
        f.to_string()
    }
}

/// A copy of `series` with every feature's columns (computed from `column`) appended in order.
/// Errors: an invalid feature, a missing column, or a new column name already taken (e.g. the
/// same feature twice).
pub fn add_features(series: &TimeSeries, column: &str, features: &[Feature]) -> Result<TimeSeries> {
    let mut out = series.clone();
    for feature in features {
        for col in feature.compute(series, column)? {
            out.push_column(col)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn specs_parse_display_and_serde_round_trip() {
        let specs = [
            "return",
            "log_return",
            "rolling_mean:20",
            "rolling_std:20",
            "rsi:14",
            "macd:12:26:9",
            "bollinger:20:2",
            "bollinger:10:1.5",
            "lag:3",
            "hour",
            "dow",
            "month",
        ];
        for s in specs {
            let f: Feature = s.parse().unwrap();
            assert_eq!(f.to_string(), s);
            let json = serde_json::to_string(&f).unwrap();
            assert_eq!(json, format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<Feature>(&json).unwrap(), f);
        }
        assert_eq!(
            "RSI".parse::<Feature>().unwrap(),
            Feature::Rsi { period: 14 }
        );
        assert_eq!(
            "macd".parse::<Feature>().unwrap(),
            Feature::Macd {
                fast: 12,
                slow: 26,
                signal: 9
            }
        );
        assert_eq!(
            "bollinger".parse::<Feature>().unwrap(),
            Feature::Bollinger { window: 20, k: 2.0 }
        );
    }

    #[test]
    fn bad_specs_are_rejected_with_the_accepted_list() {
        for s in [
            "",
            "momentum",
            "lag",
            "lag:0",
            "lag:x",
            "rolling_std:1",
            "macd:26:12:9",
            "macd:12:26",
            "bollinger:20:-1",
            "bollinger:20:nan",
            "return:3",
            "rsi:0",
        ] {
            let e = s.parse::<Feature>().unwrap_err();
            assert!(matches!(e, Error::InvalidParameter { .. }), "{s}: {e}");
        }
        let e = "momentum".parse::<Feature>().unwrap_err().to_string();
        assert!(e.contains("momentum") && e.contains("rsi[:N]"), "{e}");
        assert!(serde_json::from_str::<Feature>("\"lag:0\"").is_err());
    }

    #[test]
    fn add_features_appends_named_columns() {
        let s = TimeSeries::from_values("Close", (1..=40).map(f64::from).collect());
        let f: Vec<Feature> = ["rsi:14", "macd", "lag:2", "dow"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let out = add_features(&s, "Close", &f).unwrap();
        assert_eq!(
            out.column_names(),
            vec![
                "Close",
                "Close_rsi14",
                "Close_macd12_26_9",
                "Close_macd_signal12_26_9",
                "Close_macd_hist12_26_9",
                "Close_lag2",
                "dow"
            ]
        );
        // A steadily rising series has RSI 100 once defined; lag 2 of 3 is 1.
        assert_eq!(out.column("Close_rsi14").unwrap()[14], 100.0);
        assert_eq!(out.column("Close_lag2").unwrap()[2], 1.0);
        assert!(add_features(&s, "Open", &f).is_err());
        assert!(
            add_features(&s, "Close", &[Feature::Lag { k: 1 }, Feature::Lag { k: 1 }]).is_err()
        );
        assert!(add_features(&s, "Close", &[Feature::Lag { k: 0 }]).is_err());
    }

    #[test]
    fn warmup_counts_the_leading_nans() {
        let s = TimeSeries::from_values("x", (0..80).map(|i| 50.0 + (i as f64).sin()).collect());
        for spec in [
            "return",
            "rolling_mean:5",
            "rolling_std:5",
            "rsi:7",
            "macd:3:8:4",
            "bollinger:6:2",
            "lag:4",
            "hour",
        ] {
            let f: Feature = spec.parse().unwrap();
            let w = f.warmup();
            let cols = f.compute(&s, "x").unwrap();
            let last = cols.last().unwrap();
            assert!(last.values[..w].iter().all(|v| v.is_nan()), "{spec}");
            assert!(last.values[w..].iter().all(|v| v.is_finite()), "{spec}");
        }
    }

    fn any_feature() -> impl Strategy<Value = Feature> {
        prop_oneof![
            Just(Feature::Return),
            Just(Feature::LogReturn),
            (1usize..12).prop_map(|window| Feature::RollingMean { window }),
            (2usize..12).prop_map(|window| Feature::RollingStd { window }),
            (1usize..15).prop_map(|period| Feature::Rsi { period }),
            (1usize..6, 1usize..8, 1usize..6).prop_map(|(fast, d, signal)| Feature::Macd {
                fast,
                slow: fast + d,
                signal
            }),
            (2usize..12, 0.5f64..3.0).prop_map(|(window, k)| Feature::Bollinger { window, k }),
            (1usize..10).prop_map(|k| Feature::Lag { k }),
            Just(Feature::Hour),
            Just(Feature::DayOfWeek),
            Just(Feature::Month),
        ]
    }

    fn same(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    proptest! {
        /// No look-ahead: rewriting every value (and timestamp) after row t leaves every feature
        /// value at rows 0..=t bit-for-bit unchanged.
        #[test]
        fn no_feature_looks_ahead(
            feature in any_feature(),
            values in prop::collection::vec(1.0f64..200.0, 2..80),
            cut in 0.0f64..1.0,
            noise in prop::collection::vec(0.5f64..300.0, 80),
            steps in prop::collection::vec(1i64..100_000_000, 80),
        ) {
            let n = values.len();
            let t = ((n - 1) as f64 * cut) as usize;
            let ts: Vec<i64> = (0..n as i64).map(|i| 1_600_000_000_000 + i * 3_600_000).collect();
            let mut ts2 = ts.clone();
            let mut changed = values.clone();
            for i in t + 1..n {
                changed[i] = noise[i];
                ts2[i] = ts2[i - 1] + steps[i];
            }
            let a = TimeSeries::new(ts, vec![Column { name: "x".into(), values }]).unwrap();
            let b = TimeSeries::new(ts2, vec![Column { name: "x".into(), values: changed }]).unwrap();
            let fa = feature.compute(&a, "x").unwrap();
            let fb = feature.compute(&b, "x").unwrap();
            for (ca, cb) in fa.iter().zip(&fb) {
                for i in 0..=t {
                    prop_assert!(same(ca.values[i], cb.values[i]),
                        "{feature} column {} row {i} (t = {t}): {} vs {}", ca.name, ca.values[i], cb.values[i]);
                }
            }
        }
    }
}
