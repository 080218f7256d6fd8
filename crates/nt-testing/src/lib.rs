#![doc = include_str!("../README.md")]

use std::path::{Path, PathBuf};

pub mod synthetic;

/// The environment variable that, when set, names the directory holding the shared data sets
/// instead of the default `../shared/data` beside the repository root.
pub const SHARED_DATA_ENV: &str = "NT_SHARED_DATA";

/// The path of the shared data set `file` (e.g. `"ETTh1.csv"`, `"GOOG.csv"`).
///
/// The directory is `$NT_SHARED_DATA` when that variable is set, otherwise `../shared/data`
/// beside the repository root (the `shared` folder next to the workspace, whose
/// `data/SOURCES.md` describes the files and where they come from).
///
/// # Panics
/// When the file is not there, with a message naming the expected path and how to provide it,
/// so that a test that needs real data fails instead of passing without checking anything.
#[track_caller]
#[must_use]
pub fn shared_data(file: &str) -> PathBuf {
    match std::env::var_os(SHARED_DATA_ENV) {
        Some(dir) => shared_data_in(Path::new(&dir), file, true),
        None => shared_data_in(&default_shared_data_dir(), file, false),
    }
}

/// `../shared/data` relative to the repository root (this crate is `<root>/crates/nt-testing`).
fn default_shared_data_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(3)
        .unwrap_or(manifest)
        .join("shared")
        .join("data")
}

/// `dir/file`, or a panic explaining where the file should be; `from_env` says whether `dir`
/// came from [`SHARED_DATA_ENV`].
#[track_caller]
fn shared_data_in(dir: &Path, file: &str, from_env: bool) -> PathBuf {
    let path = dir.join(file);
    if !path.is_file() {
        let origin = if from_env {
            format!("{SHARED_DATA_ENV} is set to {}", dir.display())
        } else {
            format!(
                "the default directory is ../shared/data beside the repository root; \
                 {SHARED_DATA_ENV} is not set"
            )
        };
        panic!(
            "shared data set not found: expected {} ({origin}). This test needs the real data; \
             the data sets (ETTh1.csv, GOOG.csv) are in the shared folder beside the repository \
             root, described with their sources in ../shared/data/SOURCES.md: put {file} there \
             or set {SHARED_DATA_ENV} to the directory that holds it",
            path.display()
        );
    }
    path
}

/// Panics, naming the first differing index, unless `actual` and `expected` have the same length
/// and every pair satisfies `|a - e| <= atol + rtol * |e|`. NaN equals NaN.
#[track_caller]
pub fn assert_all_close(actual: &[f64], expected: &[f64], atol: f64, rtol: f64) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "length differs: actual {} vs expected {}",
        actual.len(),
        expected.len()
    );
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        let both_nan = a.is_nan() && e.is_nan();
        let close = (a - e).abs() <= atol + rtol * e.abs();
        assert!(
            both_nan || close,
            "index {i}: actual {a} vs expected {e} (|diff| {} > atol {atol} + rtol {rtol} * |e|)",
            (a - e).abs()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_existing_file_resolves_to_its_path() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert_eq!(
            shared_data_in(dir, "Cargo.toml", true),
            dir.join("Cargo.toml")
        );
    }

    #[test]
    #[should_panic(expected = "shared data set not found: expected /nonexistent/ETTh1.csv")]
    fn a_missing_file_panics_naming_the_expected_path() {
        let _ = shared_data_in(Path::new("/nonexistent"), "ETTh1.csv", true);
    }

    #[test]
    #[should_panic(expected = "SOURCES.md")]
    fn the_panic_says_where_to_get_the_data() {
        let _ = shared_data("no-such-data-set.csv");
    }

    #[test]
    fn the_default_directory_is_beside_the_repository_root() {
        // The layout the default relies on: this crate is <root>/crates/nt-testing.
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert!(
            manifest.ends_with("crates/nt-testing"),
            "{}",
            manifest.display()
        );
        let beside_root = manifest.ancestors().nth(3).map(|d| d.join("shared/data"));
        assert_eq!(Some(default_shared_data_dir()), beside_root);
    }

    #[test]
    fn close_values_pass() {
        assert_all_close(&[1.0, f64::NAN], &[1.0 + 1e-12, f64::NAN], 1e-9, 0.0);
    }

    #[test]
    #[should_panic(expected = "index 1")]
    fn a_far_value_names_its_index() {
        assert_all_close(&[1.0, 2.0], &[1.0, 2.1], 1e-6, 1e-6);
    }
}
