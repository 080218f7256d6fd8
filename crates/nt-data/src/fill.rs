//! What to do with missing cells (empty or NaN) when loading a table: [`FillPolicy`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How the readers treat missing cells: empty cells, `NaN`, `NA`, `N/A`, `null`, `None` (any case)
/// in CSV, nulls and NaN in Parquet.
///
/// Spelled `error`, `ffill`, `linear`, `drop` on the command line, in serde and by `Display`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FillPolicy {
    /// Reject the file at the first missing cell ([`Error::MissingValue`], naming line and column).
    #[default]
    Error,
    /// Carry the last observed value forward. A column whose first row is missing is rejected
    /// ([`Error::LeadingMissing`]): there is nothing to carry.
    Ffill,
    /// Interpolate linearly in row position between the nearest observed values before and after
    /// (pandas `interpolate()`'s default); leading missing cells take the first observed value,
    /// trailing ones the last. Note that the value at row `t` then depends on a later row: fill
    /// before splitting only if that look-ahead is acceptable.
    Linear,
    /// Drop every row with a missing cell in any loaded column.
    Drop,
}

impl FillPolicy {
    /// Every policy, in the order the CLI lists them.
    pub const ALL: [FillPolicy; 4] = [
        FillPolicy::Error,
        FillPolicy::Ffill,
        FillPolicy::Linear,
        FillPolicy::Drop,
    ];

    /// The policy's name: `error`, `ffill`, `linear` or `drop`.
    pub fn as_str(self) -> &'static str {
        match self {
            FillPolicy::Error => "error",
            FillPolicy::Ffill => "ffill",
            FillPolicy::Linear => "linear",
            FillPolicy::Drop => "drop",
        }
    }
}

impl fmt::Display for FillPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FillPolicy {
    type Err = Error;

    /// Parses `error`, `ffill`, `linear` or `drop` (any case, surrounding spaces ignored).
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim();
        FillPolicy::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| Error::invalid("fill policy", s, "one of error, ffill, linear, drop"))
    }
}

/// Named value columns sharing one row axis, with each row's line in the source file: the shape
/// the readers fill before building a `TimeSeries`.
#[derive(Debug)]
pub(crate) struct FillTable<'a> {
    /// The file, for messages.
    pub(crate) path: &'a str,
    /// Row → line in the file.
    pub(crate) lines: Vec<u64>,
    /// Row → timestamp (unix ms).
    pub(crate) timestamps: Vec<i64>,
    /// `(name, values)`; NaN marks a missing cell.
    pub(crate) columns: Vec<(String, Vec<f64>)>,
}

impl FillTable<'_> {
    /// Applies `policy` in place; afterwards no value is NaN (or an error says where one was).
    pub(crate) fn apply(&mut self, policy: FillPolicy) -> Result<()> {
        match policy {
            FillPolicy::Error => {
                let first = self
                    .columns
                    .iter()
                    .filter_map(|(name, v)| v.iter().position(|x| x.is_nan()).map(|i| (i, name)))
                    .min_by_key(|(i, _)| *i);
                if let Some((row, name)) = first {
                    return Err(Error::MissingValue {
                        path: self.path.to_string(),
                        line: self.lines[row],
                        column: name.clone(),
                    });
                }
            }
            FillPolicy::Ffill => {
                for (name, values) in &mut self.columns {
                    if values.iter().all(|x| x.is_nan()) {
                        return Err(self::all_missing(self.path, name));
                    }
                    if values.first().is_some_and(|x| x.is_nan()) {
                        return Err(Error::LeadingMissing {
                            path: self.path.to_string(),
                            line: self.lines[0],
                            column: name.clone(),
                        });
                    }
                    forward_fill(values);
                }
            }
            FillPolicy::Linear => {
                for (name, values) in &mut self.columns {
                    if values.iter().all(|x| x.is_nan()) {
                        return Err(self::all_missing(self.path, name));
                    }
                    interpolate_linear(values);
                }
            }
            FillPolicy::Drop => {
                let keep: Vec<bool> = (0..self.timestamps.len())
                    .map(|r| self.columns.iter().all(|(_, v)| !v[r].is_nan()))
                    .collect();
                if !keep.iter().any(|k| *k) {
                    return Err(Error::Empty {
                        path: self.path.to_string(),
                    });
                }
                retain(&mut self.lines, &keep);
                retain(&mut self.timestamps, &keep);
                for (_, values) in &mut self.columns {
                    retain(values, &keep);
                }
            }
        }
        Ok(())
    }
}

fn all_missing(path: &str, column: &str) -> Error {
    Error::AllMissing {
        path: path.to_string(),
        column: column.to_string(),
    }
}

fn retain<T: Copy>(v: &mut Vec<T>, keep: &[bool]) {
    let mut k = keep.iter();
    v.retain(|_| k.next().copied().unwrap_or(false));
}

/// Replaces each NaN with the last non-NaN value before it (leading NaN stay NaN).
pub(crate) fn forward_fill(values: &mut [f64]) {
    let mut last = f64::NAN;
    for x in values.iter_mut() {
        if x.is_nan() {
            *x = last;
        } else {
            last = *x;
        }
    }
}

/// Linear interpolation in row position between observed neighbours; edges copy the nearest
/// observed value. A slice with no observed value is left unchanged.
pub(crate) fn interpolate_linear(values: &mut [f64]) {
    let observed: Vec<usize> = (0..values.len()).filter(|&i| !values[i].is_nan()).collect();
    let (Some(&first), Some(&last)) = (observed.first(), observed.last()) else {
        return;
    };
    let (head, tail) = (values[first], values[last]);
    values[..first].fill(head);
    values[last + 1..].fill(tail);
    for pair in observed.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let (va, vb) = (values[a], values[b]);
        let span = (b - a) as f64;
        for (k, v) in values[a + 1..b].iter_mut().enumerate() {
            *v = va + (vb - va) * ((k + 1) as f64 / span);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAN: f64 = f64::NAN;

    fn table(columns: Vec<(&str, Vec<f64>)>) -> FillTable<'static> {
        let n = columns[0].1.len();
        FillTable {
            path: "t.csv",
            lines: (2..2 + n as u64).collect(),
            timestamps: (0..n as i64).collect(),
            columns: columns
                .into_iter()
                .map(|(n, v)| (n.to_string(), v))
                .collect(),
        }
    }

    #[test]
    fn names_round_trip_through_fromstr_display_and_serde() {
        for p in FillPolicy::ALL {
            assert_eq!(p.to_string().parse::<FillPolicy>().unwrap(), p);
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{p}\""));
            assert_eq!(serde_json::from_str::<FillPolicy>(&json).unwrap(), p);
        }
        assert_eq!(" FFill ".parse::<FillPolicy>().unwrap(), FillPolicy::Ffill);
        let e = "bfill".parse::<FillPolicy>().unwrap_err().to_string();
        assert!(
            e.contains("bfill") && e.contains("ffill, linear, drop"),
            "{e}"
        );
    }

    #[test]
    fn error_policy_names_the_earliest_missing_cell() {
        // Column b's NaN is on row 1 (line 3), before column a's on row 2 (line 4).
        let mut t = table(vec![("a", vec![1., 2., NAN]), ("b", vec![1., NAN, 3.])]);
        let e = t.apply(FillPolicy::Error).unwrap_err();
        assert!(
            matches!(&e, Error::MissingValue { line: 3, column, .. } if column == "b"),
            "{e}"
        );
    }

    #[test]
    fn ffill_carries_forward_and_rejects_a_leading_gap() {
        let mut t = table(vec![("a", vec![1., NAN, NAN, 4.])]);
        t.apply(FillPolicy::Ffill).unwrap();
        assert_eq!(t.columns[0].1, vec![1., 1., 1., 4.]);
        let mut t = table(vec![("a", vec![NAN, 2.])]);
        let e = t.apply(FillPolicy::Ffill).unwrap_err();
        assert!(matches!(e, Error::LeadingMissing { line: 2, .. }), "{e}");
        let mut t = table(vec![("a", vec![NAN, NAN])]);
        assert!(matches!(
            t.apply(FillPolicy::Ffill),
            Err(Error::AllMissing { .. })
        ));
    }

    #[test]
    fn linear_interpolates_between_neighbours_and_copies_at_edges() {
        // 1 → 4 over three steps: 2 and 3 in between; edges take 1 and 4.
        let mut t = table(vec![("a", vec![NAN, 1., NAN, NAN, 4., NAN])]);
        t.apply(FillPolicy::Linear).unwrap();
        assert_eq!(t.columns[0].1, vec![1., 1., 2., 3., 4., 4.]);
        let mut t = table(vec![("a", vec![NAN])]);
        assert!(matches!(
            t.apply(FillPolicy::Linear),
            Err(Error::AllMissing { .. })
        ));
    }

    #[test]
    fn drop_removes_rows_with_any_gap_and_keeps_lines_aligned() {
        let mut t = table(vec![
            ("a", vec![1., NAN, 3., 4.]),
            ("b", vec![1., 2., 3., NAN]),
        ]);
        t.apply(FillPolicy::Drop).unwrap();
        assert_eq!(t.columns[0].1, vec![1., 3.]);
        assert_eq!(t.columns[1].1, vec![1., 3.]);
        assert_eq!(t.timestamps, vec![0, 2]);
        assert_eq!(t.lines, vec![2, 4]);
        let mut t = table(vec![("a", vec![NAN, 1.]), ("b", vec![1., NAN])]);
        assert!(matches!(
            t.apply(FillPolicy::Drop),
            Err(Error::Empty { .. })
        ));
    }
}
