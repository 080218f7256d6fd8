//! Shared pieces of the fuzz targets in `fuzz_targets/`: load options chosen by an input byte,
//! a scratch file for the path-based readers, and the loader's contract checked on every
//! result. See `README.md` for how the targets are built and run.
#![warn(missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use nt_core::TimeSeries;
use nt_data::{Error, FillPolicy, LoadOptions};

/// Load options picked by one byte, so the fuzzer explores every fill policy and both time
/// column modes: bits 0-1 choose the [`FillPolicy`], bit 2 names the time column `date`
/// explicitly (else it is detected), bit 3 selects the value column `OT` (else all).
pub fn options(selector: u8) -> LoadOptions {
    LoadOptions {
        fill: FillPolicy::ALL[usize::from(selector & 3)],
        time_col: (selector & 4 != 0).then(|| "date".to_string()),
        columns: (selector & 8 != 0).then(|| vec!["OT".to_string()]),
    }
}

/// A directory private to this process for [`scratch_file`]: in `/dev/shm` when it exists
/// (no disk writes per input), else the system temp dir. Removed when the process exits
/// normally; a crash leaves it behind in the temp dir, which is harmless.
fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let builder = tempfile::Builder::new().prefix("nt-fuzz-").tempdir_in(shm);
        builder
            .or_else(|_| tempfile::Builder::new().prefix("nt-fuzz-").tempdir())
            .expect("a scratch directory for fuzz inputs")
    })
    .path()
}

/// Writes `bytes` to the scratch file `name` (overwritten on every input; the fuzzer runs one
/// input at a time) and returns its path, for readers that only take a path.
pub fn scratch_file(name: &str, bytes: &[u8]) -> PathBuf {
    let path = scratch_dir().join(name);
    std::fs::write(&path, bytes).expect("write the fuzz input to the scratch file");
    path
}

/// Checks what the loader promises (crate `nt-data`, module `load`) about one result:
///
/// - a series has at least one row and one column, strictly increasing timestamps, unique
///   column names, and only finite values (every fill policy leaves no missing value);
/// - an error is the user's fault ([`Error::is_bad_input`]), names the file, and where it
///   points at a line, that line exists: `1 ..= max_line` when `max_line` is known (CSV: the
///   number of `\n` plus one).
///
/// Panics (a fuzz crash) when the promise is broken.
pub fn check_load(result: &nt_data::Result<TimeSeries>, path: &Path, max_line: Option<u64>) {
    let name = path.display().to_string();
    match result {
        Ok(s) => check_series(s),
        Err(e) => {
            let msg = e.to_string();
            assert!(e.is_bad_input(), "not classed as bad input: {msg}");
            assert!(
                msg.contains(&name),
                "the error does not name the file: {msg}"
            );
            if let Some(line) = error_line(e) {
                assert!(line >= 1, "line 0 in: {msg}");
                if let Some(max) = max_line {
                    assert!(line <= max, "line {line} past the end ({max}): {msg}");
                }
            }
        }
    }
}

/// The loader's guarantees about a series it returns; see [`check_load`].
pub fn check_series(s: &TimeSeries) {
    assert!(!s.is_empty(), "a loaded series has no rows");
    let names = s.column_names();
    assert!(!names.is_empty(), "a loaded series has no value column");
    for (k, n) in names.iter().enumerate() {
        assert!(!names[..k].contains(n), "duplicate column `{n}`");
        let values = s.column(n).expect("a listed column exists");
        assert_eq!(values.len(), s.len(), "column `{n}` has the wrong length");
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            panic!("column `{n}` row {i} is {} after loading", values[i]);
        }
    }
    if let Some(i) = s.timestamps().windows(2).position(|w| w[1] <= w[0]) {
        panic!(
            "timestamps do not increase at row {}: {:?}",
            i + 1,
            &s.timestamps()[i..i + 2]
        );
    }
}

/// The line an error points at, for the variants that carry one.
pub fn error_line(e: &Error) -> Option<u64> {
    match e {
        Error::Csv { line, .. }
        | Error::UnsortedTimestamps { line, .. }
        | Error::DuplicateTimestamp { line, .. }
        | Error::MissingValue { line, .. }
        | Error::LeadingMissing { line, .. } => Some(*line),
        _ => None,
    }
}

/// The number of the last line of a text file as the CSV reader counts lines: one more than
/// the number of `\n` bytes.
pub fn last_line(bytes: &[u8]) -> u64 {
    1 + bytes.iter().filter(|&&b| b == b'\n').count() as u64
}
