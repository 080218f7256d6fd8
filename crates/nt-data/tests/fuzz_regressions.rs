//! Inputs the fuzz targets of `fuzz/` once crashed on (kept in `fuzz/regressions/`), replayed
//! through the public API: each must now give a located error, not a panic.
#![cfg(feature = "parquet")]
#![allow(clippy::unwrap_used)]

use nt_data::{load, load_parquet, Error, FillPolicy, LoadOptions};

/// A Parquet file whose footer gives a column chunk a negative offset: the parquet crate's
/// `ColumnChunkMetaData::byte_range` asserted on it while reading ("column start and length
/// should not be negative"). Found by the `parquet_reader` target (selector 13: ffill, time
/// column `date`, column `OT`), minimized with `cargo fuzz tmin` to these 896 bytes.
#[test]
fn parquet_with_a_negative_column_offset_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.parquet");
    std::fs::write(
        &path,
        include_bytes!("fixtures/fuzz_negative_column_range.parquet"),
    )
    .unwrap();
    let opts = LoadOptions {
        fill: FillPolicy::Ffill,
        time_col: Some("date".into()),
        columns: Some(vec!["OT".into()]),
    };
    for result in [
        load_parquet(&path, &opts),
        load(&path, &LoadOptions::default()),
    ] {
        let e = result.unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, Error::Parquet { .. }), "{msg}");
        assert!(
            msg.contains("corrupt.parquet") && msg.contains("negative"),
            "{msg}"
        );
        assert!(e.is_bad_input(), "{msg}");
    }
}

/// A Parquet file whose data page is dictionary-encoded with no dictionary page: the parquet
/// crate's page decoder panicked ("Decoder for dict should have been set"). Found by the
/// `parquet_reader` target (selector 0: default options), minimized to these 1471 bytes.
#[test]
fn parquet_with_a_dictionary_page_missing_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nodict.parquet");
    std::fs::write(
        &path,
        include_bytes!("fixtures/fuzz_dict_decoder_unset.parquet"),
    )
    .unwrap();
    for result in [
        load_parquet(&path, &LoadOptions::default()),
        load(&path, &LoadOptions::default()),
    ] {
        let e = result.unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, Error::Parquet { .. }), "{msg}");
        assert!(
            msg.contains("nodict.parquet") && msg.contains("corrupt"),
            "{msg}"
        );
        assert!(e.is_bad_input(), "{msg}");
    }
}
