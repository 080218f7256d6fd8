//! The intermediate table both readers produce, and its validation into a `TimeSeries`.

use nt_core::{Column, TimeSeries};

use super::time::{looks_like_date, parse_timestamp, ACCEPTED_FORMATS};
use super::{LoadOptions, TIME_COLUMN_NAMES};
use crate::fill::FillTable;
use crate::{Error, Result};

/// One column as read from the file, before validation. (CSV only produces `Text`; the other
/// variants come from Parquet.)
#[derive(Debug)]
#[cfg_attr(not(feature = "parquet"), allow(dead_code))]
pub(crate) enum RawColumn {
    /// CSV cells (or Parquet strings; a null is an empty string).
    Text(Vec<String>),
    /// Integers (Parquet integer types); `None` is a null.
    Integers(Vec<Option<i64>>),
    /// Floating-point numbers; NaN is a null.
    Floats(Vec<f64>),
    /// Instants already in unix ms (Parquet timestamp and date types); `None` is a null.
    Times(Vec<Option<i64>>),
    /// A type that is neither numeric, text nor temporal (the type's name).
    Unsupported(String),
}

/// A table read from a file: headers, columns of equal length, and each row's line.
#[derive(Debug)]
pub(crate) struct RawTable {
    /// The file, for messages.
    pub(crate) path: String,
    /// Header names as in the file (the first may be empty: a pandas index).
    pub(crate) headers: Vec<String>,
    /// One per header.
    pub(crate) columns: Vec<RawColumn>,
    /// Row → line in the file (header = line 1).
    pub(crate) lines: Vec<u64>,
}

/// The largest magnitude a loaded value may have (1e100). Beyond it, squared errors, variances
/// and interval bounds overflow f64 and scores turn into infinities and NaNs.
pub const MAX_ABS_VALUE: f64 = 1e100;

/// Cells read as missing values in text columns (compared case-insensitively after trimming).
const MISSING_TOKENS: &[&str] = &["", "nan", "na", "n/a", "null", "none"];

fn is_missing_token(cell: &str) -> bool {
    let t = cell.trim();
    MISSING_TOKENS.iter().any(|m| m.eq_ignore_ascii_case(t))
}

/// How a value cell failed to become a number.
enum CellError {
    /// Not a number at all (text).
    Text(String),
    /// A number, but infinite.
    Infinite(String),
}

impl RawColumn {
    fn len(&self) -> usize {
        match self {
            RawColumn::Text(v) => v.len(),
            RawColumn::Integers(v) | RawColumn::Times(v) => v.len(),
            RawColumn::Floats(v) => v.len(),
            RawColumn::Unsupported(_) => 0,
        }
    }

    /// The cell as the user would recognise it, for messages.
    fn cell_text(&self, row: usize) -> String {
        match self {
            RawColumn::Text(v) => v[row].clone(),
            RawColumn::Integers(v) | RawColumn::Times(v) => {
                v[row].map_or_else(|| "null".into(), |x| x.to_string())
            }
            RawColumn::Floats(v) => v[row].to_string(),
            RawColumn::Unsupported(t) => format!("<{t}>"),
        }
    }
}

impl RawTable {
    /// Validates the table into a series following `opts` (see [`LoadOptions`]).
    pub(crate) fn into_series(self, opts: &LoadOptions) -> Result<TimeSeries> {
        let n = self.lines.len();
        if n == 0 {
            return Err(Error::Empty { path: self.path });
        }
        for (k, c) in self.columns.iter().enumerate() {
            if !matches!(c, RawColumn::Unsupported(_)) && c.len() != n {
                return Err(Error::Csv {
                    path: self.path.clone(),
                    line: 1,
                    column: self.headers.get(k).cloned().unwrap_or_default(),
                    reason: format!(
                        "column has {} values, expected {n} like the others",
                        c.len()
                    ),
                });
            }
        }
        let names = self.column_names()?;
        let time = self.time_column(&names, opts)?;
        let timestamps = match time {
            Some(t) => self.timestamps(t, &names[t])?,
            None => (0..n as i64).collect(),
        };
        let selected = self.value_columns(&names, time, opts)?;
        let mut columns = Vec::with_capacity(selected.len());
        let mut text_columns = Vec::new();
        for k in selected {
            match self.values(k, &names[k], opts.columns.is_some())? {
                Some(values) => columns.push((names[k].clone(), values)),
                None => text_columns.push(format!("`{}`", names[k])),
            }
        }
        if !text_columns.is_empty() {
            return Err(Error::TextColumns {
                path: self.path,
                columns: text_columns.join(", "),
            });
        }
        for (name, values) in &columns {
            if let Some(row) = values.iter().position(|v| v.abs() > MAX_ABS_VALUE) {
                return Err(Error::Csv {
                    path: self.path.clone(),
                    line: self.lines[row],
                    column: name.clone(),
                    reason: format!(
                        "{:e} is beyond ±{MAX_ABS_VALUE:e}: errors, squared errors and intervals of such values overflow; rescale the column (e.g. divide by a power of ten)",
                        values[row]
                    ),
                });
            }
        }
        let mut table = FillTable {
            path: &self.path,
            lines: self.lines.clone(),
            timestamps,
            columns,
        };
        table.apply(opts.fill)?;
        let columns = table
            .columns
            .into_iter()
            .map(|(name, values)| Column { name, values })
            .collect();
        Ok(TimeSeries::new(table.timestamps, columns)?)
    }

    /// Header names with blanks named (`column_K`, 1-based, except a blank first header, which
    /// stays empty: the pandas index), rejecting duplicates.
    fn column_names(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = Vec::with_capacity(self.headers.len());
        for (k, h) in self.headers.iter().enumerate() {
            let h = h.trim();
            let name = if h.is_empty() && k > 0 {
                format!("column_{}", k + 1)
            } else {
                h.to_string()
            };
            if names.contains(&name) {
                return Err(Error::Csv {
                    path: self.path.clone(),
                    line: 1,
                    column: name,
                    reason: "duplicate column name in the header; each column needs its own name"
                        .into(),
                });
            }
            names.push(name);
        }
        Ok(names)
    }

    fn time_column(&self, names: &[String], opts: &LoadOptions) -> Result<Option<usize>> {
        if let Some(want) = &opts.time_col {
            let want = want.trim();
            return names
                .iter()
                .position(|h| h == want)
                .or_else(|| names.iter().position(|h| h.eq_ignore_ascii_case(want)))
                .map(Some)
                .ok_or_else(|| Error::MissingColumn {
                    path: self.path.clone(),
                    name: want.to_string(),
                    available: display_names(names),
                });
        }
        for candidate in TIME_COLUMN_NAMES {
            if let Some(k) = names.iter().position(|h| h.eq_ignore_ascii_case(candidate)) {
                return Ok(Some(k));
            }
        }
        if names.first().is_some_and(|h| h.is_empty()) {
            return Ok(Some(0));
        }
        let first_is_time = match self.columns.first() {
            Some(RawColumn::Times(_)) => true,
            Some(RawColumn::Text(cells)) => cells.first().is_some_and(|c| looks_like_date(c)),
            _ => false,
        };
        Ok(first_is_time.then_some(0))
    }

    /// Parses the time column and checks timestamps strictly increase.
    fn timestamps(&self, t: usize, name: &str) -> Result<Vec<i64>> {
        let column = &self.columns[t];
        let shown = if name.is_empty() {
            "(unnamed first column)"
        } else {
            name
        };
        let bad = |row: usize, reason: String| Error::Csv {
            path: self.path.clone(),
            line: self.lines[row],
            column: shown.to_string(),
            reason,
        };
        let missing = "missing timestamp: every row needs a time".to_string();
        let mut out = Vec::with_capacity(self.lines.len());
        match column {
            RawColumn::Text(cells) => {
                for (row, cell) in cells.iter().enumerate() {
                    if cell.trim().is_empty() {
                        return Err(bad(row, missing));
                    }
                    let ms = parse_timestamp(cell).ok_or_else(|| {
                        bad(
                            row,
                            format!(
                                "expected a timestamp ({ACCEPTED_FORMATS}), found `{}`",
                                super::excerpt(cell)
                            ),
                        )
                    })?;
                    out.push(ms);
                }
            }
            RawColumn::Times(values) => {
                for (row, v) in values.iter().enumerate() {
                    out.push(v.ok_or_else(|| bad(row, missing.clone()))?);
                }
            }
            RawColumn::Integers(values) => {
                for (row, v) in values.iter().enumerate() {
                    let v = v.ok_or_else(|| bad(row, missing.clone()))?;
                    let ms = parse_timestamp(&v.to_string()).ok_or_else(|| {
                        bad(row, format!("integer {v} is out of range for unix time"))
                    })?;
                    out.push(ms);
                }
            }
            RawColumn::Floats(_) | RawColumn::Unsupported(_) => {
                return Err(bad(
                    0,
                    "the time column must hold timestamps, dates, integers (unix time) or text"
                        .into(),
                ));
            }
        }
        for row in 1..out.len() {
            if out[row] == out[row - 1] {
                return Err(Error::DuplicateTimestamp {
                    path: self.path.clone(),
                    line: self.lines[row],
                    value: column.cell_text(row),
                });
            }
            if out[row] < out[row - 1] {
                return Err(Error::UnsortedTimestamps {
                    path: self.path.clone(),
                    line: self.lines[row],
                    previous: column.cell_text(row - 1),
                    current: column.cell_text(row),
                });
            }
        }
        Ok(out)
    }

    fn value_columns(
        &self,
        names: &[String],
        time: Option<usize>,
        opts: &LoadOptions,
    ) -> Result<Vec<usize>> {
        let selected: Vec<usize> = match &opts.columns {
            Some(wanted) => {
                let mut out = Vec::with_capacity(wanted.len());
                for w in wanted {
                    let k = names
                        .iter()
                        .position(|h| h == w.trim())
                        .filter(|k| Some(*k) != time)
                        .ok_or_else(|| Error::MissingColumn {
                            path: self.path.clone(),
                            name: w.clone(),
                            available: display_names(
                                &names
                                    .iter()
                                    .enumerate()
                                    .filter(|(k, _)| Some(*k) != time)
                                    .map(|(_, h)| h.clone())
                                    .collect::<Vec<_>>(),
                            ),
                        })?;
                    if !out.contains(&k) {
                        out.push(k);
                    }
                }
                out
            }
            // An unnamed first column that is not the time axis is a pandas RangeIndex: skipped.
            None => (0..names.len())
                .filter(|&k| Some(k) != time && !(k == 0 && names[0].is_empty()))
                .collect(),
        };
        if selected.is_empty() {
            return Err(Error::Csv {
                path: self.path.clone(),
                line: 1,
                column: time.map_or_else(String::new, |t| names[t].clone()),
                reason: "no value column besides the time column; expected at least one".into(),
            });
        }
        Ok(selected)
    }

    /// The column's values with NaN for missing cells, or `None` when it is a text column that
    /// was not selected explicitly (every non-missing cell is text).
    fn values(&self, k: usize, name: &str, explicit: bool) -> Result<Option<Vec<f64>>> {
        let bad = |row: usize, reason: String| Error::Csv {
            path: self.path.clone(),
            line: self.lines[row],
            column: if name.is_empty() {
                "(unnamed first column)".to_string()
            } else {
                name.to_string()
            },
            reason,
        };
        match &self.columns[k] {
            RawColumn::Text(cells) => {
                let mut values = Vec::with_capacity(cells.len());
                let mut first_bad: Option<(usize, CellError)> = None;
                let mut numbers = 0usize;
                for (row, cell) in cells.iter().enumerate() {
                    match parse_number(cell) {
                        Ok(v) => {
                            numbers += usize::from(!v.is_nan());
                            values.push(v);
                        }
                        Err(e) => {
                            first_bad.get_or_insert((row, e));
                            values.push(f64::NAN);
                        }
                    }
                }
                match first_bad {
                    None => Ok(Some(values)),
                    Some((_, CellError::Text(_))) if numbers == 0 && !explicit => Ok(None),
                    Some((row, CellError::Text(cell))) => Err(bad(
                        row,
                        format!("expected a number, found `{}`", super::excerpt(&cell)),
                    )),
                    Some((row, CellError::Infinite(cell))) => Err(bad(
                        row,
                        format!(
                            "expected a finite number, found `{}`",
                            super::excerpt(&cell)
                        ),
                    )),
                }
            }
            RawColumn::Integers(values) => Ok(Some(
                values
                    .iter()
                    .map(|v| v.map_or(f64::NAN, |x| x as f64))
                    .collect(),
            )),
            RawColumn::Floats(values) => {
                if let Some(row) = values.iter().position(|v| v.is_infinite()) {
                    return Err(bad(
                        row,
                        format!("expected a finite number, found {}", values[row]),
                    ));
                }
                Ok(Some(values.clone()))
            }
            RawColumn::Times(_) | RawColumn::Unsupported(_) if !explicit => Ok(None),
            RawColumn::Times(_) => Err(bad(
                0,
                "expected numbers, found timestamps (a second time column?)".into(),
            )),
            RawColumn::Unsupported(t) => Err(bad(0, format!("expected numbers, found type {t}"))),
        }
    }
}

/// A cell as a number: NaN for a missing cell, an error for text or an infinity.
fn parse_number(cell: &str) -> std::result::Result<f64, CellError> {
    if is_missing_token(cell) {
        return Ok(f64::NAN);
    }
    let t = cell.trim();
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(v) if v.is_nan() => Ok(v),
        Ok(_) => Err(CellError::Infinite(t.to_string())),
        Err(_) => Err(CellError::Text(t.to_string())),
    }
}

fn display_names(names: &[String]) -> String {
    names
        .iter()
        .map(|n| {
            if n.is_empty() {
                "(unnamed first column)".to_string()
            } else {
                n.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_missing_tokens_text_and_infinities_are_told_apart() {
        assert_eq!(parse_number(" 1.5 ").ok(), Some(1.5));
        assert_eq!(parse_number("-2e3").ok(), Some(-2000.0));
        for m in ["", "  ", "NaN", "nan", "NA", "n/a", "null", "None"] {
            assert!(parse_number(m).is_ok_and(|v| v.is_nan()), "{m:?}");
        }
        assert!(matches!(parse_number("abc"), Err(CellError::Text(t)) if t == "abc"));
        assert!(matches!(parse_number("1,5"), Err(CellError::Text(_))));
        assert!(matches!(parse_number("inf"), Err(CellError::Infinite(_))));
        assert!(matches!(
            parse_number("-Infinity"),
            Err(CellError::Infinite(_))
        ));
    }
}
