//! One test per kind of bad input: each asserts the error variant and that the message names the
//! file and, where a cell is at fault, its line (header = line 1) and column.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use nt_data::{load, Error, FillPolicy, LoadOptions};

/// Writes `bytes` to a fresh file named `name` and loads it with `opts`.
fn load_bytes(
    name: &str,
    bytes: &[u8],
    opts: &LoadOptions,
) -> (
    PathBuf,
    Result<nt_core::TimeSeries, Error>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let result = load(&path, opts);
    (path, result, dir)
}

/// Loads with default options and returns the error with its message, checking it names the
/// file and counts as bad input.
fn fail(name: &str, bytes: &[u8]) -> (Error, String) {
    fail_with(name, bytes, &LoadOptions::default())
}

fn fail_with(name: &str, bytes: &[u8], opts: &LoadOptions) -> (Error, String) {
    let (path, result, _dir) = load_bytes(name, bytes, opts);
    let e = result.unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "message does not name the file: {msg}"
    );
    assert!(e.is_bad_input(), "{msg}");
    (e, msg)
}

fn with_fill(fill: FillPolicy) -> LoadOptions {
    LoadOptions {
        fill,
        ..LoadOptions::default()
    }
}

#[test]
fn empty_file_whitespace_and_header_only_are_empty() {
    for (name, body) in [
        ("zero.csv", ""),
        ("blank.csv", "\n \n"),
        ("header.csv", "date,close\n"),
    ] {
        let (e, msg) = fail(name, body.as_bytes());
        assert!(matches!(e, Error::Empty { .. }), "{name}: {msg}");
        assert!(msg.contains("no data rows"), "{msg}");
    }
}

#[test]
fn non_numeric_cell_names_line_column_and_text() {
    let (e, msg) = fail(
        "prices.csv",
        b"date,open,close\n2020-01-01,1,2\n2020-01-02,3,abc\n",
    );
    assert!(
        matches!(&e, Error::Csv { line: 3, column, .. } if column == "close"),
        "{msg}"
    );
    assert!(msg.contains("line 3") && msg.contains("`close`"), "{msg}");
    assert!(
        msg.contains("expected a number") && msg.contains("`abc`"),
        "{msg}"
    );
}

#[test]
fn infinite_value_is_rejected() {
    let (e, msg) = fail("inf.csv", b"date,x\n2020-01-01,inf\n");
    assert!(
        matches!(&e, Error::Csv { line: 2, column, .. } if column == "x"),
        "{msg}"
    );
    assert!(msg.contains("finite"), "{msg}");
}

#[test]
fn text_columns_are_named_unless_deselected() {
    let body = b"date,symbol,close\n2020-01-01,GOOG,1\n2020-01-02,GOOG,2\n";
    let (e, msg) = fail("sym.csv", body);
    assert!(
        matches!(&e, Error::TextColumns { columns, .. } if columns == "`symbol`"),
        "{msg}"
    );
    assert!(msg.contains("--columns"), "{msg}");
    let opts = LoadOptions {
        columns: Some(vec!["close".into()]),
        ..LoadOptions::default()
    };
    let (_, ok, _dir) = load_bytes("sym.csv", body, &opts);
    assert_eq!(ok.unwrap().column("close").unwrap(), &[1.0, 2.0]);
    // Selecting the text column explicitly points at its first cell.
    let opts = LoadOptions {
        columns: Some(vec!["symbol".into()]),
        ..LoadOptions::default()
    };
    let (e, msg) = fail_with("sym.csv", body, &opts);
    assert!(
        matches!(&e, Error::Csv { line: 2, column, .. } if column == "symbol"),
        "{msg}"
    );
}

#[test]
fn unsorted_timestamps_name_the_line_and_both_times() {
    let body = b"date,x\n2020-01-01,1\n2020-01-03,2\n2020-01-02,3\n";
    let (e, msg) = fail("unsorted.csv", body);
    assert!(
        matches!(e, Error::UnsortedTimestamps { line: 4, .. }),
        "{msg}"
    );
    assert!(
        msg.contains("line 4") && msg.contains("2020-01-02") && msg.contains("2020-01-03"),
        "{msg}"
    );
}

#[test]
fn duplicate_timestamps_name_the_line_and_value() {
    let body = b"date,x\n2020-01-01,1\n2020-01-02,2\n2020-01-02,3\n";
    let (e, msg) = fail("dup.csv", body);
    assert!(
        matches!(&e, Error::DuplicateTimestamp { line: 4, value, .. } if value == "2020-01-02"),
        "{msg}"
    );
    assert!(msg.contains("line 4"), "{msg}");
}

#[test]
fn ragged_row_names_line_and_first_missing_column() {
    let body = b"date,a,b,c\n2020-01-01,1,2,3\n2020-01-02,4,5\n2020-01-03,7,8,9\n";
    let (e, msg) = fail("ragged.csv", body);
    assert!(
        matches!(&e, Error::Csv { line: 3, column, .. } if column == "c"),
        "{msg}"
    );
    assert!(
        msg.contains("expected 4 fields") && msg.contains("found 3"),
        "{msg}"
    );
    let (e, msg) = fail("extra.csv", b"date,a\n2020-01-01,1,2\n");
    assert!(matches!(e, Error::Csv { line: 2, .. }), "{msg}");
    assert!(msg.contains("past the header"), "{msg}");
}

#[test]
fn truncated_last_line_is_a_clear_error() {
    // The file was cut in the middle of its last row: no newline, fields missing.
    let body = b"date,open,close\n2020-01-01,1,2\n2020-01-02,3";
    let (e, msg) = fail("cut.csv", body);
    assert!(
        matches!(&e, Error::Csv { line: 3, column, .. } if column == "close"),
        "{msg}"
    );
    assert!(msg.contains("cut short"), "{msg}");
    // Cut inside a timestamp: the partial time is reported, not a panic.
    let (e, msg) = fail("cut2.csv", b"date,x\n2020-01-01,1\n2020-0");
    assert!(matches!(e, Error::Csv { line: 3, .. }), "{msg}");
}

#[test]
fn invalid_utf8_cell_is_reported_and_binary_is_rejected() {
    let (e, msg) = fail("latin1.csv", b"date,x\n2020-01-01,1\n2020-01-02,caf\xe9\n");
    assert!(
        matches!(&e, Error::Csv { line: 3, column, .. } if column == "x"),
        "{msg}"
    );
    assert!(msg.contains("UTF-8"), "{msg}");
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let (e, msg) = fail("noise.bin", &garbage);
    assert!(matches!(e, Error::Binary { .. }), "{msg}");
    let (e, msg) = fail("archive.zip", b"PK\x03\x04\x14\x00\x00\x00\x08\x00");
    assert!(matches!(e, Error::Binary { .. }), "{msg}");
}

#[test]
fn corrupt_parquet_is_a_parquet_error() {
    let (e, msg) = fail("broken.parquet", b"PAR1 this is not really parquet");
    assert!(matches!(e, Error::Parquet { .. }), "{msg}");
}

#[test]
fn unparsable_timestamp_names_the_time_column() {
    let (e, msg) = fail("when.csv", b"Date,x\n2020-01-01,1\nyesterday,2\n");
    assert!(
        matches!(&e, Error::Csv { line: 3, column, .. } if column == "Date"),
        "{msg}"
    );
    assert!(
        msg.contains("expected a timestamp") && msg.contains("`yesterday`"),
        "{msg}"
    );
    let (e, msg) = fail("notime.csv", b"date,x\n2020-01-01,1\n,2\n");
    assert!(matches!(e, Error::Csv { line: 3, .. }), "{msg}");
    assert!(msg.contains("missing timestamp"), "{msg}");
}

#[test]
fn missing_value_under_error_policy_suggests_fill() {
    let body = b"date,a,b\n2020-01-01,1,2\n2020-01-02,,4\n2020-01-03,5,NaN\n2020-01-04,7,8\n";
    let (e, msg) = fail("gaps.csv", body);
    assert!(
        matches!(&e, Error::MissingValue { line: 3, column, .. } if column == "a"),
        "{msg}"
    );
    assert!(msg.contains("--fill ffill|linear|drop"), "{msg}");
    let load_ok = |fill| {
        let (_, r, _dir) = load_bytes("gaps.csv", body, &with_fill(fill));
        r.unwrap()
    };
    // ffill: a's gap takes 1, b's takes 4.
    let s = load_ok(FillPolicy::Ffill);
    assert_eq!(s.column("a").unwrap(), &[1., 1., 5., 7.]);
    assert_eq!(s.column("b").unwrap(), &[2., 4., 4., 8.]);
    // linear: midpoints 3 and 6.
    let s = load_ok(FillPolicy::Linear);
    assert_eq!(s.column("a").unwrap(), &[1., 3., 5., 7.]);
    assert_eq!(s.column("b").unwrap(), &[2., 4., 6., 8.]);
    // drop: rows 2 and 3 go.
    let s = load_ok(FillPolicy::Drop);
    assert_eq!(s.len(), 2);
    assert_eq!(s.column("b").unwrap(), &[2., 8.]);
}

#[test]
fn ffill_cannot_fill_a_leading_gap() {
    let (e, msg) = fail_with(
        "lead.csv",
        b"date,a\n2020-01-01,\n2020-01-02,2\n",
        &with_fill(FillPolicy::Ffill),
    );
    assert!(
        matches!(&e, Error::LeadingMissing { line: 2, column, .. } if column == "a"),
        "{msg}"
    );
    assert!(msg.contains("--fill linear"), "{msg}");
}

#[test]
fn missing_columns_list_what_is_available() {
    let body = b"date,open,close\n2020-01-01,1,2\n";
    let opts = LoadOptions {
        time_col: Some("when".into()),
        ..LoadOptions::default()
    };
    let (e, msg) = fail_with("cols.csv", body, &opts);
    assert!(
        matches!(&e, Error::MissingColumn { name, .. } if name == "when"),
        "{msg}"
    );
    assert!(msg.contains("date, open, close"), "{msg}");
    let opts = LoadOptions {
        columns: Some(vec!["volume".into()]),
        ..LoadOptions::default()
    };
    let (e, msg) = fail_with("cols.csv", body, &opts);
    assert!(
        matches!(&e, Error::MissingColumn { name, .. } if name == "volume"),
        "{msg}"
    );
    assert!(msg.contains("open, close"), "{msg}");
}

#[test]
fn duplicate_header_names_are_rejected_on_line_1() {
    let (e, msg) = fail("dups.csv", b"date,x,x\n2020-01-01,1,2\n");
    assert!(
        matches!(&e, Error::Csv { line: 1, column, .. } if column == "x"),
        "{msg}"
    );
}
