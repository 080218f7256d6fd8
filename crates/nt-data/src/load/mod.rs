//! Readers: CSV and Parquet files into a validated [`TimeSeries`].
//!
//! [`load`] looks at the content, not the extension: a file starting with the Parquet magic `PAR1`
//! goes to [`load_parquet`], anything else that is text goes to [`load_csv`], and binary content is
//! rejected with [`Error::Binary`]. Both readers turn the file into the same intermediate table and
//! share one validation path (time axis, numeric cells, sort order, missing values).

mod table;
mod text;
pub(crate) mod time;

#[cfg(feature = "parquet")]
mod parquet;
#[cfg(feature = "parquet")]
mod parquet_pages;

use std::io::Read;
use std::path::Path;

use nt_core::TimeSeries;
use serde::{Deserialize, Serialize};

use crate::{Error, FillPolicy, Result};

pub use table::MAX_ABS_VALUE;
pub use text::read_csv_from_str;
pub use time::{parse_timestamp, ACCEPTED_FORMATS, UNIX_SECONDS_LIMIT};

#[cfg(feature = "parquet")]
pub use self::parquet::load_parquet;

/// Header names (compared case-insensitively, surrounding spaces ignored) taken as the time axis
/// when [`LoadOptions::time_col`] is not set; the first match from the left wins.
pub const TIME_COLUMN_NAMES: &[&str] = &["date", "timestamp", "time", "datetime", "ds"];

/// How to read a file. `Default` is: detect the time column, fail on missing values, load every
/// numeric column.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LoadOptions {
    /// The time column's header (exact match first, then case-insensitive). `None`: the first
    /// header named as in [`TIME_COLUMN_NAMES`]; else an unnamed first column (pandas index);
    /// else the first column if its first cell is a calendar date; else no time axis, and rows
    /// are numbered 0, 1, 2, … (as [`TimeSeries::from_values`] does).
    pub time_col: Option<String>,
    /// What to do with missing cells; see [`FillPolicy`].
    pub fill: FillPolicy,
    /// The value columns to load, in this order (exact header names). `None`: every column but
    /// the time column, all of which must then be numeric.
    pub columns: Option<Vec<String>>,
}

/// Loads a CSV or Parquet file, choosing the reader by content (Parquet magic `PAR1` at the
/// start, else text), and validates it into a [`TimeSeries`]: timestamps strictly increase,
/// every cell of the loaded columns is a finite number after the fill policy.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<TimeSeries> {
    check_regular_file(path)?;
    let mut magic = [0u8; 4];
    let mut file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    let mut got = 0;
    while got < magic.len() {
        match file.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(path, e)),
        }
    }
    if got == 4 && &magic == b"PAR1" {
        #[cfg(feature = "parquet")]
        return load_parquet(path, opts);
        #[cfg(not(feature = "parquet"))]
        return Err(Error::Parquet {
            path: path.display().to_string(),
            reason: "this build of nt-data has no Parquet support (feature `parquet`)".into(),
        });
    }
    load_csv(path, opts)
}

/// Reads a CSV file (comma separated; `;` or tab when the header has no comma but one of those),
/// with a header line. See [`LoadOptions`] for the time axis and column rules and the crate
/// documentation for every accepted shape.
pub fn load_csv(path: &Path, opts: &LoadOptions) -> Result<TimeSeries> {
    check_regular_file(path)?;
    let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
    text::read_csv_bytes(&bytes, &path.display().to_string(), opts)
}

/// Checks that `series` has at least `needed` rows; otherwise [`Error::TooShort`] saying `what`
/// needs them (e.g. `"an input window of 480 plus a horizon of 96"`).
pub fn validate_length(series: &TimeSeries, needed: usize, what: &str) -> Result<()> {
    if series.len() < needed {
        return Err(Error::TooShort {
            needed,
            got: series.len(),
            what: what.to_string(),
        });
    }
    Ok(())
}

/// Longest excerpt of a cell an error message quotes, in characters.
const EXCERPT_CHARS: usize = 64;

/// `cell` as an error message quotes it: whole when short, else its first
/// [`EXCERPT_CHARS`] characters and how long it was (a 5 MB cell is not echoed back).
pub(crate) fn excerpt(cell: &str) -> String {
    match cell.char_indices().nth(EXCERPT_CHARS) {
        None => cell.to_string(),
        Some((end, _)) => format!("{}… ({} bytes in all)", &cell[..end], cell.len()),
    }
}

/// Checks that `path` is a regular file before it is opened: a directory, FIFO, socket or
/// device would fail late or block forever (opening a FIFO waits for a writer).
pub(crate) fn check_regular_file(path: &Path) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| io_error(path, e))?;
    if meta.is_dir() {
        return Err(io_error(
            path,
            std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "is a directory; expected a CSV or Parquet file",
            ),
        ));
    }
    if !meta.is_file() {
        return Err(io_error(
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file (a pipe, socket or device); save the data to a file first",
            ),
        ));
    }
    Ok(())
}

pub(crate) fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_or_a_directory_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("prices.csv");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        // Opening a FIFO with no writer blocks forever: run the load on a thread and give it
        // ten seconds.
        let (tx, rx) = std::sync::mpsc::channel();
        let path = fifo.clone();
        std::thread::spawn(move || {
            let _ = tx.send(load(&path, &LoadOptions::default()).map(|_| ()));
        });
        let got = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("loading a FIFO returns instead of blocking");
        let e = got.unwrap_err();
        assert!(e.is_bad_input(), "{e}");
        assert!(e.to_string().contains("not a regular file"), "{e}");
        for e in [
            load(dir.path(), &LoadOptions::default()).unwrap_err(),
            load_csv(dir.path(), &LoadOptions::default()).unwrap_err(),
        ] {
            assert!(
                e.is_bad_input() && e.to_string().contains("is a directory"),
                "{e}"
            );
        }
    }

    #[test]
    fn validate_length_reports_needed_and_got() {
        let s = TimeSeries::from_values("x", vec![1.0; 5]);
        assert!(validate_length(&s, 5, "a window").is_ok());
        let e = validate_length(&s, 6, "a window of 6").unwrap_err();
        assert!(
            matches!(
                e,
                Error::TooShort {
                    needed: 6,
                    got: 5,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("a window of 6"), "{e}");
    }

    #[test]
    fn a_missing_file_is_an_io_error_naming_it() {
        let e = load(Path::new("/nonexistent/dir/x.csv"), &LoadOptions::default()).unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{e}");
        assert!(e.to_string().contains("/nonexistent/dir/x.csv"), "{e}");
        assert!(e.is_bad_input());
    }
}
