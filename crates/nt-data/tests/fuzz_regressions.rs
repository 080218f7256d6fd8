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

/// Inputs on which the parquet crate spent 7.4 GB (a corrupt page header's sizes trusted for
/// allocation) or 36 s and 157 s of CPU (its Thrift skipping of a malformed page header). The
/// page headers are now checked first: each is refused as corrupt, fast. The fuzz inputs'
/// first byte is the target's options selector; the file is the rest.
#[test]
fn parquet_files_with_lying_page_headers_are_refused_fast() {
    let regressions = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions/parquet_reader");
    let dir = tempfile::tempdir().unwrap();
    for name in ["oom-huge-row-count.bin", "slow-36s.bin", "slow-157s.bin"] {
        let input = std::fs::read(regressions.join(name)).unwrap();
        let path = dir.path().join(format!("{name}.parquet"));
        std::fs::write(&path, &input[1..]).unwrap();
        let start = std::time::Instant::now();
        let e = load_parquet(&path, &LoadOptions::default()).unwrap_err();
        let took = start.elapsed();
        let msg = e.to_string();
        eprintln!("{name}: {took:?}: {msg}");
        assert!(
            matches!(e, Error::Parquet { .. }) && e.is_bad_input(),
            "{name}: {msg}"
        );
        assert!(msg.contains(".parquet"), "{name}: {msg}");
        // Generous for a loaded debug build; the failures took 12 s to minutes.
        assert!(took.as_secs_f64() < 2.0, "{name}: {took:?}");
    }
}

/// The page check accepts the valid files the fuzz corpus starts from (arrow-written, plain,
/// dictionary, snappy and zstd pages, nulls, strings).
#[test]
fn valid_parquet_seeds_pass_the_page_check() {
    let seeds =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/parquet_reader");
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(&seeds).unwrap() {
        let path = entry.unwrap().path();
        let input = std::fs::read(&path).unwrap();
        let file = dir.path().join("seed.parquet");
        std::fs::write(&file, &input[1..]).unwrap();
        let opts = LoadOptions {
            fill: FillPolicy::Ffill,
            ..LoadOptions::default()
        };
        let series = load_parquet(&file, &opts);
        assert!(series.is_ok(), "{}: {:?}", path.display(), series.err());
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} seeds");
}
