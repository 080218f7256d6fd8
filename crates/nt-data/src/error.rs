//! The error type of `nt-data`: every way a file, a parameter or a computation can be rejected.
//!
//! Variants about a file carry `path` (as the user gave it, or the name passed to
//! [`read_csv_from_str`](crate::read_csv_from_str)) and, where a row is at fault, `line`: the
//! 1-based line in a CSV file counting the header as line 1, or for Parquet the 1-based data row
//! plus one (so the first data row is "line 2" in both formats).

/// Everything that can go wrong while loading, validating, scaling or deriving features.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file holds no data rows (empty, whitespace only, or a header only), or no row is left
    /// after `--fill drop`.
    #[error("`{path}` holds no data rows: expected a header line followed by at least one row")]
    Empty {
        /// The file.
        path: String,
    },
    /// A cell or row of a CSV file (or a Parquet value) could not be read.
    #[error("{path}, line {line}, column `{column}`: {reason}")]
    Csv {
        /// The file.
        path: String,
        /// 1-based line, header included.
        line: u64,
        /// The header name of the offending cell's column.
        column: String,
        /// What was expected and what was found.
        reason: String,
    },
    /// The Parquet reader rejected the file (corrupt, unsupported encoding or compression).
    #[error("cannot read Parquet file `{path}`: {reason}")]
    Parquet {
        /// The file.
        path: String,
        /// The reader's message.
        reason: String,
    },
    /// The file is neither text (CSV) nor Parquet.
    #[error("`{path}` is not a CSV text file or a Parquet file (binary content)")]
    Binary {
        /// The file.
        path: String,
    },
    /// A timestamp is earlier than the one on the row before it.
    #[error("{path}, line {line}: timestamps must increase, but `{current}` comes after `{previous}`; sort the file by time")]
    UnsortedTimestamps {
        /// The file.
        path: String,
        /// Line of the out-of-order timestamp.
        line: u64,
        /// The timestamp on the row before, as written in the file.
        previous: String,
        /// The out-of-order timestamp, as written in the file.
        current: String,
    },
    /// A timestamp equals the one on the row before it.
    #[error("{path}, line {line}: duplicate timestamp `{value}` (same as the row before); each time may appear once")]
    DuplicateTimestamp {
        /// The file.
        path: String,
        /// Line of the second occurrence.
        line: u64,
        /// The repeated timestamp, as written in the file.
        value: String,
    },
    /// A column asked for (time column, selected column, feature input) is absent.
    #[error("`{path}`: column `{name}` not found; available columns: {available}")]
    MissingColumn {
        /// The file, or the series' description.
        path: String,
        /// The column asked for.
        name: String,
        /// The columns there are, comma separated.
        available: String,
    },
    /// Columns hold text rather than numbers and were not excluded by a column selection.
    #[error("`{path}`: column(s) {columns} hold text, not numbers; select the numeric columns to load (--columns)")]
    TextColumns {
        /// The file.
        path: String,
        /// The text columns, each in backquotes, comma separated.
        columns: String,
    },
    /// A cell is empty or NaN while the fill policy is [`FillPolicy::Error`](crate::FillPolicy::Error).
    #[error("{path}, line {line}, column `{column}`: missing value (empty or NaN); choose how to fill gaps with --fill ffill|linear|drop")]
    MissingValue {
        /// The file.
        path: String,
        /// Line of the missing cell.
        line: u64,
        /// Its column.
        column: String,
    },
    /// Forward fill met a missing value before any observed value of the column.
    #[error("{path}, line {line}, column `{column}`: the column starts with a missing value, which forward fill cannot fill; use --fill linear or --fill drop")]
    LeadingMissing {
        /// The file.
        path: String,
        /// Line of the first missing cell.
        line: u64,
        /// Its column.
        column: String,
    },
    /// A column has no value at all, so no fill policy but `drop` can help.
    #[error(
        "`{path}`: column `{column}` has no values at all; drop it from the selection (--columns)"
    )]
    AllMissing {
        /// The file.
        path: String,
        /// The empty column.
        column: String,
    },
    /// Fewer rows than an operation needs.
    #[error("{what} needs at least {needed} rows, got {got}")]
    TooShort {
        /// How many rows are needed.
        needed: usize,
        /// How many there are.
        got: usize,
        /// What needs them (e.g. "training with input size 480 and horizon 96").
        what: String,
    },
    /// A value given to a computation (scaler fit, feature) is NaN or infinite.
    #[error("{what}: value at index {index} is {value}, expected a finite number")]
    NonFinite {
        /// What was being computed.
        what: String,
        /// 0-based index of the value.
        index: usize,
        /// The value found.
        value: f64,
    },
    /// A parameter (fill policy, scaler kind, feature spec, configuration field) is invalid.
    #[error("invalid {name} `{value}`: expected {expected}")]
    InvalidParameter {
        /// The parameter, as the user spells it (e.g. `--fill`, `feature`).
        name: String,
        /// The value given.
        value: String,
        /// What is accepted.
        expected: String,
    },
    /// A table could not be written (nothing is left at the path: writes are atomic).
    #[error("cannot write `{path}`: {reason}")]
    Write {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// An error from `nt-core` (series construction, column lookup).
    #[error(transparent)]
    Core(#[from] nt_core::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// True when the error is caused by the user's file or parameters (the CLI exits with code 2),
    /// false when it points at the environment or at a bug (exit code 1): I/O failures other than
    /// a missing, unreadable or wrong kind of file, and core errors reporting a model failure.
    pub fn is_bad_input(&self) -> bool {
        use std::io::ErrorKind;
        match self {
            Error::Io { source, .. } => matches!(
                source.kind(),
                ErrorKind::NotFound
                    | ErrorKind::PermissionDenied
                    | ErrorKind::IsADirectory
                    | ErrorKind::InvalidData
                    | ErrorKind::InvalidInput
                    | ErrorKind::UnexpectedEof
            ),
            Error::Core(e) => !matches!(e, nt_core::Error::Model { .. }),
            _ => true,
        }
    }

    /// Shorthand for [`Error::InvalidParameter`].
    pub(crate) fn invalid(
        name: impl Into<String>,
        value: impl std::fmt::Display,
        expected: impl Into<String>,
    ) -> Self {
        Error::InvalidParameter {
            name: name.into(),
            value: value.to_string(),
            expected: expected.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_not_found_is_bad_input_but_other_io_is_not() {
        let nf = Error::Io {
            path: "x.csv".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "gone"),
        };
        assert!(nf.is_bad_input());
        assert!(nf.to_string().contains("x.csv"), "{nf}");
        let other = Error::Io {
            path: "x.csv".into(),
            source: std::io::Error::other("disk on fire"),
        };
        assert!(!other.is_bad_input());
        assert!(!Error::Core(nt_core::Error::model("m", "diverged")).is_bad_input());
        assert!(Error::Core(nt_core::Error::invalid("h", "must be > 0")).is_bad_input());
        assert!(Error::Empty { path: "e".into() }.is_bad_input());
    }

    #[test]
    fn missing_value_message_suggests_fill_policies() {
        let e = Error::MissingValue {
            path: "p.csv".into(),
            line: 7,
            column: "OT".into(),
        };
        let msg = e.to_string();
        assert!(
            msg.contains("p.csv") && msg.contains("line 7") && msg.contains("`OT`"),
            "{msg}"
        );
        assert!(msg.contains("--fill ffill|linear|drop"), "{msg}");
    }
}
