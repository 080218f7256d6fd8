//! Parquet files written with the parquet crate's `ArrowWriter`, read back through `load`.
#![cfg(feature = "parquet")]
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, Date32Array, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray, TimestampMillisecondArray, TimestampNanosecondArray,
};
use nt_data::{load, load_parquet, Error, FillPolicy, LoadOptions};
use parquet::arrow::ArrowWriter;

/// 2016-07-01T00:00:00Z in unix ms.
const T0: i64 = 1_467_331_200_000;
const HOUR: i64 = 3_600_000;

fn write(path: &Path, columns: Vec<(&str, ArrayRef)>) {
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

#[test]
fn timestamp_column_with_mixed_numeric_types_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prices.parquet");
    let ts: Vec<i64> = (0..4).map(|i| T0 + i * HOUR).collect();
    write(
        &path,
        vec![
            (
                "ts",
                Arc::new(TimestampMillisecondArray::from(ts.clone()).with_timezone("UTC"))
                    as ArrayRef,
            ),
            (
                "close",
                Arc::new(Float64Array::from(vec![1.5, 2.5, 3.5, 4.5])),
            ),
            ("volume", Arc::new(Int64Array::from(vec![10, 20, 30, 40]))),
            (
                "f32",
                Arc::new(Float32Array::from(vec![0.5f32, 1.0, 1.5, 2.0])),
            ),
        ],
    );
    // `load` sees the PAR1 magic and the first column's Timestamp type.
    let s = load(&path, &LoadOptions::default()).unwrap();
    assert_eq!(s.timestamps(), ts.as_slice());
    assert_eq!(s.column_names(), vec!["close", "volume", "f32"]);
    assert_eq!(s.column("close").unwrap(), &[1.5, 2.5, 3.5, 4.5]);
    assert_eq!(s.column("volume").unwrap(), &[10., 20., 30., 40.]);
    assert_eq!(s.column("f32").unwrap(), &[0.5, 1.0, 1.5, 2.0]);
    assert_eq!(load_parquet(&path, &LoadOptions::default()).unwrap(), s);
}

#[test]
fn date32_nanosecond_int_and_string_time_columns() {
    let dir = tempfile::tempdir().unwrap();
    let values = || Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef;
    let cases: Vec<(&str, ArrayRef, Vec<i64>)> = vec![
        // Days since the epoch: 16983 is 2016-07-01.
        (
            "date",
            Arc::new(Date32Array::from(vec![16_983, 16_984])),
            vec![T0, T0 + 24 * HOUR],
        ),
        (
            "time",
            Arc::new(TimestampNanosecondArray::from(vec![
                T0 * 1_000_000,
                (T0 + HOUR) * 1_000_000 + 999,
            ])),
            vec![T0, T0 + HOUR],
        ),
        // Unix seconds in an Int64 column named `timestamp`.
        (
            "timestamp",
            Arc::new(Int64Array::from(vec![T0 / 1000, T0 / 1000 + 60])),
            vec![T0, T0 + 60_000],
        ),
        (
            "datetime",
            Arc::new(StringArray::from(vec![
                "2016-07-01 00:00:00",
                "2016-07-01T02:00:00+01:00",
            ])),
            vec![T0, T0 + HOUR],
        ),
    ];
    for (name, time, expected) in cases {
        let path = dir.path().join(format!("{name}.parquet"));
        write(&path, vec![(name, time), ("x", values())]);
        let s = load(&path, &LoadOptions::default()).unwrap();
        assert_eq!(s.timestamps(), expected.as_slice(), "{name}");
        assert_eq!(s.column("x").unwrap(), &[1.0, 2.0], "{name}");
    }
}

#[test]
fn nulls_follow_the_fill_policy_and_rows_are_lines_plus_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nulls.parquet");
    let ts: Vec<i64> = (0..3).map(|i| T0 + i * HOUR).collect();
    write(
        &path,
        vec![
            (
                "ts",
                Arc::new(TimestampMillisecondArray::from(ts)) as ArrayRef,
            ),
            (
                "x",
                Arc::new(Float64Array::from(vec![Some(1.0), None, Some(3.0)])),
            ),
        ],
    );
    let e = load(&path, &LoadOptions::default()).unwrap_err();
    // Data row 2 is reported as line 3, as if the file had a header line.
    assert!(
        matches!(&e, Error::MissingValue { line: 3, column, .. } if column == "x"),
        "{e}"
    );
    assert!(e.to_string().contains("nulls.parquet"), "{e}");
    let opts = LoadOptions {
        fill: FillPolicy::Linear,
        ..LoadOptions::default()
    };
    assert_eq!(
        load(&path, &opts).unwrap().column("x").unwrap(),
        &[1.0, 2.0, 3.0]
    );
}

#[test]
fn unsorted_parquet_is_rejected_like_csv() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unsorted.parquet");
    write(
        &path,
        vec![
            (
                "ts",
                Arc::new(TimestampMillisecondArray::from(vec![T0 + HOUR, T0])) as ArrayRef,
            ),
            ("x", Arc::new(Float64Array::from(vec![1.0, 2.0]))),
        ],
    );
    let e = load(&path, &LoadOptions::default()).unwrap_err();
    assert!(
        matches!(e, Error::UnsortedTimestamps { line: 3, .. }),
        "{e}"
    );
}

/// Many small pages of both page formats, dictionary pages, statistics and page indexes,
/// compressed: every layout the page-header check of the loader must accept.
#[test]
fn files_of_many_pages_in_either_page_version_load() {
    use parquet::basic::Compression;
    use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
    let dir = tempfile::tempdir().unwrap();
    let n = 5_000i64;
    let ts: Vec<i64> = (0..n).map(|i| T0 + i * HOUR).collect();
    let price: Vec<f64> = (0..n).map(|i| 100.0 + (i % 17) as f64 * 0.25).collect();
    let ticker: Vec<&str> = (0..n).map(|i| if i % 2 == 0 { "A" } else { "B" }).collect();
    for (k, version) in [WriterVersion::PARQUET_1_0, WriterVersion::PARQUET_2_0]
        .into_iter()
        .enumerate()
    {
        let path = dir.path().join(format!("pages{k}.parquet"));
        let batch = RecordBatch::try_from_iter(vec![
            (
                "ts",
                Arc::new(TimestampMillisecondArray::from(ts.clone()).with_timezone("UTC"))
                    as ArrayRef,
            ),
            (
                "price",
                Arc::new(Float64Array::from(price.clone())) as ArrayRef,
            ),
            (
                "ticker",
                Arc::new(StringArray::from(ticker.clone())) as ArrayRef,
            ),
        ])
        .unwrap();
        let props = WriterProperties::builder()
            .set_writer_version(version)
            .set_data_page_row_count_limit(64)
            .set_write_batch_size(64)
            .set_max_row_group_row_count(Some(1_500))
            .set_compression(Compression::SNAPPY)
            .set_statistics_enabled(EnabledStatistics::Page)
            .build();
        let file = std::fs::File::create(&path).unwrap();
        let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let opts = LoadOptions {
            columns: Some(vec!["price".into()]),
            ..LoadOptions::default()
        };
        let s = load_parquet(&path, &opts).unwrap();
        assert_eq!(s.len(), n as usize, "{version:?}");
        assert_eq!(s.column("price").unwrap(), price.as_slice(), "{version:?}");
    }
}
