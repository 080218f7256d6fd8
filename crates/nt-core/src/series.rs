//! `TimeSeries`: strictly increasing timestamps and named `f64` columns.

use std::ops::Range;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Calendar, Error, Result};

/// One named column of a [`TimeSeries`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// The column's name (unique within its series).
    pub name: String,
    /// One value per timestamp. May hold NaN only where the data layer's fill policy allows it;
    /// models require finite values and say so.
    pub values: Vec<f64>,
}

/// A table of observations: timestamps in unix milliseconds (UTC), strictly increasing, and any
/// number of named `f64` columns of the same length.
///
/// Guarantees, checked by every constructor: timestamps strictly increase; every column has one
/// value per timestamp; column names are unique.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawSeries")]
pub struct TimeSeries {
    timestamps: Vec<i64>,
    columns: Vec<Column>,
}

#[derive(Deserialize)]
struct RawSeries {
    timestamps: Vec<i64>,
    columns: Vec<Column>,
}

impl TryFrom<RawSeries> for TimeSeries {
    type Error = Error;
    fn try_from(raw: RawSeries) -> Result<Self> {
        Self::new(raw.timestamps, raw.columns)
    }
}

/// Checks that `timestamps` strictly increase; the error names the first pair that does not.
pub(crate) fn check_increasing(timestamps: &[i64]) -> Result<()> {
    match timestamps.windows(2).position(|w| w[1] <= w[0]) {
        Some(i) => Err(Error::UnsortedTimestamps {
            index: i + 1,
            prev_index: i,
            previous: timestamps[i],
            current: timestamps[i + 1],
        }),
        None => Ok(()),
    }
}

impl TimeSeries {
    /// Builds a series, checking that timestamps strictly increase, that every column has one value
    /// per timestamp and that column names are unique.
    pub fn new(timestamps: Vec<i64>, columns: Vec<Column>) -> Result<Self> {
        check_increasing(&timestamps)?;
        for (k, col) in columns.iter().enumerate() {
            if col.values.len() != timestamps.len() {
                return Err(Error::LengthMismatch {
                    what: format!("column `{}` against timestamps", col.name),
                    expected: timestamps.len(),
                    got: col.values.len(),
                });
            }
            if columns[..k].iter().any(|c| c.name == col.name) {
                return Err(Error::invalid(
                    "columns",
                    format!("duplicate column name `{}`", col.name),
                ));
            }
        }
        Ok(Self {
            timestamps,
            columns,
        })
    }

    /// A single-column series whose timestamps are the row numbers 0, 1, 2, … (for data without
    /// a time axis, such as a request body that only carries values).
    pub fn from_values(name: impl Into<String>, values: Vec<f64>) -> Self {
        let timestamps = (0..values.len() as i64).collect();
        Self {
            timestamps,
            columns: vec![Column {
                name: name.into(),
                values,
            }],
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.timestamps.len()
    }

    /// True when the series has no rows.
    pub fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }

    /// The timestamps, unix milliseconds, strictly increasing.
    pub fn timestamps(&self) -> &[i64] {
        &self.timestamps
    }

    /// All columns, in their original order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Column names, in their original order.
    pub fn column_names(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }

    /// The values of column `name`, or [`Error::MissingColumn`] listing the columns there are.
    pub fn column(&self, name: &str) -> Result<&[f64]> {
        self.columns
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.values.as_slice())
            .ok_or_else(|| Error::MissingColumn {
                name: name.to_string(),
                available: self.column_names().join(", "),
            })
    }

    /// Like [`column`](Self::column), but also checks every value is finite, so a model can use it
    /// as is.
    pub fn finite_column(&self, name: &str) -> Result<&[f64]> {
        let values = self.column(name)?;
        if let Some(index) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                column: name.to_string(),
                index,
                value: values[index],
            });
        }
        Ok(values)
    }

    /// Adds a column; an error if its length differs or its name is taken.
    pub fn push_column(&mut self, column: Column) -> Result<()> {
        if column.values.len() != self.len() {
            return Err(Error::LengthMismatch {
                what: format!("column `{}` against timestamps", column.name),
                expected: self.len(),
                got: column.values.len(),
            });
        }
        if self.columns.iter().any(|c| c.name == column.name) {
            return Err(Error::invalid(
                "columns",
                format!("duplicate column name `{}`", column.name),
            ));
        }
        self.columns.push(column);
        Ok(())
    }

    /// The rows in `range` (clamped to the series), all columns kept.
    pub fn slice(&self, range: Range<usize>) -> TimeSeries {
        let end = range.end.min(self.len());
        let start = range.start.min(end);
        TimeSeries {
            timestamps: self.timestamps[start..end].to_vec(),
            columns: self
                .columns
                .iter()
                .map(|c| Column {
                    name: c.name.clone(),
                    values: c.values[start..end].to_vec(),
                })
                .collect(),
        }
    }

    /// The first `n` rows (all of them if `n` exceeds the length).
    pub fn head(&self, n: usize) -> TimeSeries {
        self.slice(0..n)
    }

    /// The last `n` rows (all of them if `n` exceeds the length).
    pub fn tail(&self, n: usize) -> TimeSeries {
        self.slice(self.len().saturating_sub(n)..self.len())
    }

    /// Keeps only the named columns, in the order given.
    pub fn select(&self, names: &[&str]) -> Result<TimeSeries> {
        let mut columns = Vec::with_capacity(names.len());
        for name in names {
            columns.push(Column {
                name: (*name).to_string(),
                values: self.column(name)?.to_vec(),
            });
        }
        TimeSeries::new(self.timestamps.clone(), columns)
    }

    /// The most common spacing between consecutive timestamps (ms), or `None` with fewer than two
    /// rows: robust to weekends and holidays in daily market data. Used to detect gaps; the dates
    /// of a forecast come from [`calendar`](Self::calendar), which also knows about weekends and
    /// trading sessions.
    pub fn step_ms(&self) -> Option<i64> {
        crate::calendar::mode_step(&self.timestamps)
    }

    /// The [`Calendar`] inferred from the timestamps (UTC; holidays not modelled; see
    /// [`Calendar::infer`] for the rules). An error with fewer than two rows.
    pub fn calendar(&self) -> Result<Calendar> {
        Calendar::infer(&self.timestamps)
    }

    /// The `horizon` timestamps that follow the last one on the series' [`calendar`](Self::calendar):
    /// business days for daily data without weekend rows, inside the session for intraday data
    /// with the same daily gap every day, every step otherwise.
    ///
    /// Errors: fewer than two rows ([`Error::InsufficientHistory`]: nothing to infer a step from),
    /// or timestamps that would leave the range of dates.
    pub fn future_timestamps(&self, horizon: usize) -> Result<Vec<i64>> {
        let calendar = self.calendar()?;
        let last = self.timestamps.last().copied().unwrap_or_default();
        calendar.extend(last, horizon)
    }

    /// A sha256 over timestamps, column names and values (hex): the data fingerprint stored with
    /// reports and models, so a result can be traced to the exact data it came from.
    pub fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update((self.len() as u64).to_le_bytes());
        for t in &self.timestamps {
            hasher.update(t.to_le_bytes());
        }
        for c in &self.columns {
            hasher.update((c.name.len() as u64).to_le_bytes());
            hasher.update(c.name.as_bytes());
            for v in &c.values {
                hasher.update(v.to_bits().to_le_bytes());
            }
        }
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, values: &[f64]) -> Column {
        Column {
            name: name.into(),
            values: values.to_vec(),
        }
    }

    #[test]
    fn rejects_unsorted_duplicate_and_ragged() {
        let e = TimeSeries::new(vec![1, 3, 2], vec![col("a", &[1.0, 2.0, 3.0])]).unwrap_err();
        assert!(
            matches!(e, Error::UnsortedTimestamps { index: 2, .. }),
            "{e}"
        );
        let e = TimeSeries::new(vec![1, 1], vec![col("a", &[1.0, 2.0])]).unwrap_err();
        assert!(
            matches!(e, Error::UnsortedTimestamps { index: 1, .. }),
            "{e}"
        );
        let e = TimeSeries::new(vec![1, 2], vec![col("a", &[1.0])]).unwrap_err();
        assert!(
            matches!(
                e,
                Error::LengthMismatch {
                    expected: 2,
                    got: 1,
                    ..
                }
            ),
            "{e}"
        );
        let e = TimeSeries::new(vec![1], vec![col("a", &[1.0]), col("a", &[2.0])]).unwrap_err();
        assert!(e.to_string().contains("duplicate"), "{e}");
    }

    #[test]
    fn column_lookup_names_alternatives() {
        let s = TimeSeries::new(
            vec![0, 1],
            vec![col("a", &[1.0, f64::NAN]), col("b", &[1.0, 2.0])],
        )
        .unwrap();
        let e = s.column("z").unwrap_err().to_string();
        assert!(e.contains("`z`") && e.contains("a, b"), "{e}");
        assert!(matches!(
            s.finite_column("a"),
            Err(Error::NonFinite { index: 1, .. })
        ));
        assert_eq!(s.finite_column("b").unwrap(), &[1.0, 2.0]);
    }

    #[test]
    fn slicing_and_steps() {
        let s = TimeSeries::new(
            vec![0, 10, 20, 40, 50],
            vec![col("a", &[1., 2., 3., 4., 5.])],
        )
        .unwrap();
        assert_eq!(s.head(2).column("a").unwrap(), &[1., 2.]);
        assert_eq!(s.tail(2).column("a").unwrap(), &[4., 5.]);
        assert_eq!(s.slice(3..99).len(), 2);
        assert_eq!(s.step_ms(), Some(10));
        assert_eq!(s.future_timestamps(2).unwrap(), vec![60, 70]);
        assert!(matches!(
            s.head(1).future_timestamps(2),
            Err(Error::InsufficientHistory { needed: 2, got: 1 })
        ));
    }

    #[test]
    fn fingerprint_sees_every_value() {
        let a = TimeSeries::from_values("x", vec![1.0, 2.0]);
        let b = TimeSeries::from_values("x", vec![1.0, 2.000001]);
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint(), a.clone().fingerprint());
        assert_eq!(a.fingerprint().len(), 64);
    }

    #[test]
    fn serde_round_trip_revalidates() {
        let s = TimeSeries::from_values("x", vec![1.0, 2.0]);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<TimeSeries>(&json).unwrap(), s);
        let bad = json.replace("[0,1]", "[1,0]");
        assert!(serde_json::from_str::<TimeSeries>(&bad).is_err());
    }
}
