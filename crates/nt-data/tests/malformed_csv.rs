//! 10,000 malformed CSV files, made by mutating valid ones (ETTh1- and GOOG-shaped tables and
//! a unix-time one), fed to [`nt_data::load`]. Each must give either a valid series (rows,
//! columns, strictly increasing timestamps, finite values: what `load` promises) or an error
//! that is the user's fault and locates the problem: the message names the file, and an error
//! about a row names a line that exists and the column at fault. Never a panic.
//!
//! The mutations are those real files suffer: dropped or extra delimiters, stray and unbalanced
//! quotes, quoted cells holding delimiters or newlines, NaN / infinities / overflowing numbers,
//! empty cells, malformed, out-of-range, duplicate and unsorted timestamps, a BOM (or two),
//! CRLF or lone CR line ends, very long cells, non-UTF-8 bytes, NUL bytes, header only, a
//! numeric or duplicated header, mixed delimiters, blank lines, deleted lines and truncation.
//! Several mutations stack on one file.
#![allow(clippy::unwrap_used)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;

use nt_core::TimeSeries;
use nt_data::{load, Error, FillPolicy, LoadOptions};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// How many malformed files the property test generates.
const CASES: u32 = 10_000;

/// Valid tables the mutations start from: (delimiter, rows of cells, header first).
fn bases() -> Vec<(char, Vec<Vec<String>>)> {
    let etth1 = "date,HUFL,HULL,MUFL,MULL,LUFL,LULL,OT\n\
        2016-07-01 00:00:00,5.827000141143799,2.009000062942505,1.5989999771118164,0.4620000123977661,4.203000068664552,1.3400000333786009,30.5310001373291\n\
        2016-07-01 01:00:00,5.692999839782715,2.075999975204468,1.4919999837875366,0.4259999990463257,4.142000198364259,1.371000051498413,27.78700065612793\n\
        2016-07-01 02:00:00,5.1570000648498535,1.741000056266785,1.2790000438690186,0.35499998927116394,3.776999950408936,1.218000054359436,27.78700065612793\n\
        2016-07-01 03:00:00,5.0900001525878915,1.9420000314712524,1.2790000438690186,0.3910000026226044,3.806999921798706,1.2790000438690186,25.04400062561035\n\
        2016-07-01 04:00:00,5.357999801635742,1.9420000314712524,1.4919999837875366,0.4620000123977661,3.868000030517578,1.2790000438690186,21.947999954223643\n\
        2016-07-01 05:00:00,5.625999927520752,2.1429998874664307,1.5279999971389768,0.5329999923706055,4.051000118255615,1.371000051498413,21.173999786376953\n\
        2016-07-01 06:00:00,7.166999816894531,2.9470000267028813,2.131999969482422,0.7820000052452087,5.026000022888184,1.8580000400543213,22.79199981689453\n\
        2016-07-01 07:00:00,5.492000102996826,2.009000062942505,2.4519999027252197,1.0250000953674316,3.868000030517578,1.371000051498413,23.143999099731445\n";
    let goog = ",Open,High,Low,Close,Volume\n\
        2004-08-19,100,104.06,95.96,100.34,22351900\n\
        2004-08-20,101.01,109.08,100.5,108.31,11428600\n\
        2004-08-23,110.75,113.48,109.05,109.4,9137200\n\
        2004-08-24,111.24,111.6,103.57,104.87,7631300\n\
        2004-08-25,104.96,108,103.88,106,4598900\n\
        2004-08-26,104.95,107.95,104.66,107.91,3551000\n\
        2004-08-27,108.1,108.62,105.69,106.15,3109000\n\
        2004-08-30,105.28,105.49,102.01,102.01,2601000\n";
    let unix = "timestamp;price;volume\n\
        1467331200;1.5;10\n1467334800;1.75;12\n1467338400;1.5;9\n1467342000;2;11\n\
        1467345600;2.25;15\n1467349200;2.5;13\n";
    [(',', etth1), (',', goog), (';', unix)]
        .into_iter()
        .map(|(d, text)| {
            let rows = text
                .lines()
                .map(|l| l.split(d).map(str::to_string).collect())
                .collect();
            (d, rows)
        })
        .collect()
}

/// Cell replacements that are not a finite number or a valid timestamp.
const BAD_VALUES: &[&str] = &[
    "NaN", "nan", "-nan", "inf", "-inf", "Infinity", "1e400", "-1e999", "", " ", "NA", "null",
    "None", "n/a", "1,5", "1.5.5", "0x10", "--1", "+", ".", "e5", "١٢", "1_000", "true",
];

/// Time cells that are malformed or out of range.
const BAD_TIMES: &[&str] = &[
    "",
    "2016-13-01",
    "2016-02-30",
    "2016-07-01 25:00:00",
    "2016-07-01 00:61",
    "yesterday",
    "1.5",
    "99999999999999999999",
    "-9223372036854775808",
    "9223372036854775807",
    "2016-07-01T00:00:00+25:00",
    "+275760-09-13",
    "0000-00-00",
    "2016/07/01 00:00:00 PM",
    "07/01/2016",
    "NaN",
];

/// One change to a table (structured) or to its bytes. Indices are taken modulo the size.
#[derive(Debug, Clone)]
enum Mutation {
    /// Joins cell `col` of row `row` with the next one (a lost delimiter).
    DropDelimiter { row: usize, col: usize },
    /// Splits a cell in two at `at` (a stray delimiter), or appends an empty cell.
    ExtraDelimiter { row: usize, col: usize, at: usize },
    /// Inserts an unbalanced `"` into a cell.
    StrayQuote { row: usize, col: usize, at: usize },
    /// Quotes a cell and puts a delimiter, a newline or an escaped quote inside.
    QuotedCell {
        row: usize,
        col: usize,
        inner: usize,
    },
    /// Replaces a cell with a non-number.
    BadValue {
        row: usize,
        col: usize,
        value: usize,
    },
    /// Replaces a time cell with a bad timestamp.
    BadTime { row: usize, value: usize },
    /// Gives a row the time of the row before.
    DuplicateTime { row: usize },
    /// Swaps two data rows (unsorted timestamps).
    SwapRows { a: usize, b: usize },
    /// Replaces a cell with `len` repetitions of a character.
    LongCell {
        row: usize,
        col: usize,
        len: usize,
        digit: bool,
    },
    /// Keeps the header only.
    HeaderOnly,
    /// Replaces the header with numbers.
    NumericHeader,
    /// Renames a header to the name of another column.
    DuplicateHeader { a: usize, b: usize },
    /// Deletes a line.
    DeleteLine { row: usize },
    /// Inserts a blank or whitespace-only line.
    BlankLine { row: usize, spaces: usize },
    /// Writes one row with another delimiter.
    MixedDelimiter { row: usize, other: usize },
    /// Byte level: prefixes one or two UTF-8 BOMs.
    Bom { twice: bool },
    /// Byte level: CRLF (or lone CR) line ends.
    LineEnds { lone_cr: bool },
    /// Byte level: inserts a byte 0x80..=0xFF (invalid UTF-8 on its own).
    NonUtf8 { at: usize, byte: u8 },
    /// Byte level: inserts a NUL byte.
    Nul { at: usize },
    /// Byte level: cuts the file at `at`.
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let i = || 0usize..64;
    prop_oneof![
        (i(), i()).prop_map(|(row, col)| Mutation::DropDelimiter { row, col }),
        (i(), i(), i()).prop_map(|(row, col, at)| Mutation::ExtraDelimiter { row, col, at }),
        (i(), i(), i()).prop_map(|(row, col, at)| Mutation::StrayQuote { row, col, at }),
        (i(), i(), 0usize..4).prop_map(|(row, col, inner)| Mutation::QuotedCell {
            row,
            col,
            inner
        }),
        (i(), i(), 0..BAD_VALUES.len()).prop_map(|(row, col, value)| Mutation::BadValue {
            row,
            col,
            value
        }),
        (i(), 0..BAD_TIMES.len()).prop_map(|(row, value)| Mutation::BadTime { row, value }),
        i().prop_map(|row| Mutation::DuplicateTime { row }),
        (i(), i()).prop_map(|(a, b)| Mutation::SwapRows { a, b }),
        (i(), i(), 1000usize..100_000, any::<bool>()).prop_map(|(row, col, len, digit)| {
            Mutation::LongCell {
                row,
                col,
                len,
                digit,
            }
        }),
        Just(Mutation::HeaderOnly),
        Just(Mutation::NumericHeader),
        (i(), i()).prop_map(|(a, b)| Mutation::DuplicateHeader { a, b }),
        i().prop_map(|row| Mutation::DeleteLine { row }),
        (i(), 0usize..3).prop_map(|(row, spaces)| Mutation::BlankLine { row, spaces }),
        (i(), 0usize..3).prop_map(|(row, other)| Mutation::MixedDelimiter { row, other }),
        any::<bool>().prop_map(|twice| Mutation::Bom { twice }),
        any::<bool>().prop_map(|lone_cr| Mutation::LineEnds { lone_cr }),
        (0usize..4096, 0x80u8..=0xff).prop_map(|(at, byte)| Mutation::NonUtf8 { at, byte }),
        (0usize..4096).prop_map(|at| Mutation::Nul { at }),
        (0usize..4096).prop_map(|at| Mutation::Truncate { at }),
    ]
}

/// A table being mutated: its delimiter and rows (header first); `None` for a blank line.
struct Table {
    delimiter: char,
    rows: Vec<Option<Vec<String>>>,
}

impl Table {
    /// The cell list of row `row` (modulo the row count; 0 is the header), if not blank.
    fn row(&mut self, row: usize) -> Option<&mut Vec<String>> {
        let n = self.rows.len();
        self.rows.get_mut(row % n.max(1))?.as_mut()
    }

    /// A data row index (1..), modulo the data rows; `None` without data rows.
    fn data_row(&self, row: usize) -> Option<usize> {
        (self.rows.len() > 1).then(|| 1 + row % (self.rows.len() - 1))
    }

    fn cell(&mut self, row: usize, col: usize) -> Option<&mut String> {
        let cells = self.row(row)?;
        let n = cells.len();
        cells.get_mut(col % n.max(1))
    }

    /// Applies a structured mutation (byte-level ones are applied by [`apply_bytes`]).
    fn apply(&mut self, m: &Mutation) {
        let d = self.delimiter;
        match *m {
            Mutation::DropDelimiter { row, col } => {
                if let Some(cells) = self.row(row) {
                    if cells.len() > 1 {
                        let k = col % (cells.len() - 1);
                        let next = cells.remove(k + 1);
                        cells[k].push_str(&next);
                    }
                }
            }
            Mutation::ExtraDelimiter { row, col, at } => {
                if let Some(cells) = self.row(row) {
                    let k = col % cells.len().max(1);
                    let cell = cells[k].clone();
                    let cut = floor_char_boundary(&cell, at % (cell.len() + 1));
                    cells[k] = cell[..cut].to_string();
                    cells.insert(k + 1, cell[cut..].to_string());
                }
            }
            Mutation::StrayQuote { row, col, at } => {
                if let Some(cell) = self.cell(row, col) {
                    let cut = floor_char_boundary(cell, at % (cell.len() + 1));
                    cell.insert(cut, '"');
                }
            }
            Mutation::QuotedCell { row, col, inner } => {
                if let Some(cell) = self.cell(row, col) {
                    let extra = match inner {
                        0 => d.to_string(),
                        1 => "\n".to_string(),
                        2 => "\"\"".to_string(),
                        _ => String::new(),
                    };
                    *cell = format!("\"{cell}{extra}\"");
                }
            }
            Mutation::BadValue { row, col, value } => {
                if let Some(r) = self.data_row(row) {
                    if let Some(cell) = self.cell(r, col) {
                        *cell = BAD_VALUES[value].to_string();
                    }
                }
            }
            Mutation::BadTime { row, value } => {
                if let Some(r) = self.data_row(row) {
                    if let Some(cell) = self.cell(r, 0) {
                        *cell = BAD_TIMES[value].to_string();
                    }
                }
            }
            Mutation::DuplicateTime { row } => {
                if let Some(r) = self.data_row(row).filter(|&r| r > 1) {
                    let previous = self.rows[r - 1].as_ref().and_then(|c| c.first().cloned());
                    if let (Some(t), Some(cell)) = (previous, self.cell(r, 0)) {
                        *cell = t;
                    }
                }
            }
            Mutation::SwapRows { a, b } => {
                if let (Some(a), Some(b)) = (self.data_row(a), self.data_row(b)) {
                    self.rows.swap(a, b);
                }
            }
            Mutation::LongCell {
                row,
                col,
                len,
                digit,
            } => {
                if let Some(cell) = self.cell(row, col) {
                    *cell = (if digit { "7" } else { "x" }).repeat(len);
                }
            }
            Mutation::HeaderOnly => self.rows.truncate(1),
            Mutation::NumericHeader => {
                if let Some(cells) = self.row(0) {
                    for (k, c) in cells.iter_mut().enumerate() {
                        *c = (k + 1).to_string();
                    }
                }
            }
            Mutation::DuplicateHeader { a, b } => {
                if let Some(cells) = self.row(0) {
                    let n = cells.len();
                    cells[a % n] = cells[b % n].clone();
                }
            }
            Mutation::DeleteLine { row } => {
                let n = self.rows.len();
                if n > 0 {
                    self.rows.remove(row % n);
                }
            }
            Mutation::BlankLine { row, spaces } => {
                let at = row % (self.rows.len() + 1);
                let blank = (spaces > 0).then(|| vec![" ".repeat(spaces)]);
                self.rows.insert(at, blank);
            }
            Mutation::MixedDelimiter { row, other } => {
                let other = [';', '\t', '|'][other];
                if let Some(cells) = self.row(row) {
                    let joined = cells.join(&other.to_string());
                    *cells = vec![joined];
                }
            }
            _ => {}
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::new();
        for row in &self.rows {
            if let Some(cells) = row {
                out.push_str(&cells.join(&self.delimiter.to_string()));
            }
            out.push('\n');
        }
        out.into_bytes()
    }
}

/// The largest char boundary of `s` at or below `at`.
fn floor_char_boundary(s: &str, at: usize) -> usize {
    (0..=at.min(s.len()))
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0)
}

/// Applies the byte-level mutations.
fn apply_bytes(bytes: &mut Vec<u8>, m: &Mutation) {
    match *m {
        Mutation::Bom { twice } => {
            let bom = b"\xEF\xBB\xBF";
            let mut out = bom.to_vec();
            if twice {
                out.extend_from_slice(bom);
            }
            out.append(bytes);
            *bytes = out;
        }
        Mutation::LineEnds { lone_cr } => {
            let end: &[u8] = if lone_cr { b"\r" } else { b"\r\n" };
            let mut out = Vec::with_capacity(bytes.len() * 2);
            for &b in bytes.iter() {
                if b == b'\n' {
                    out.extend_from_slice(end);
                } else {
                    out.push(b);
                }
            }
            *bytes = out;
        }
        Mutation::NonUtf8 { at, byte } => {
            let at = at % (bytes.len() + 1);
            bytes.insert(at, byte);
        }
        Mutation::Nul { at } => {
            let at = at % (bytes.len() + 1);
            bytes.insert(at, 0);
        }
        Mutation::Truncate { at } => {
            let at = at % (bytes.len() + 1);
            bytes.truncate(at);
        }
        _ => {}
    }
}

/// A malformed file: which base, the load options, the mutations in order.
fn case() -> impl Strategy<Value = (usize, LoadOptions, Vec<Mutation>)> {
    let opts = (
        proptest::sample::select(FillPolicy::ALL.to_vec()),
        proptest::bool::weighted(0.25),
    )
        .prop_map(|(fill, name_time)| LoadOptions {
            fill,
            time_col: name_time.then(|| "date".to_string()),
            columns: None,
        });
    (0usize..3, opts, proptest::collection::vec(mutation(), 1..5))
}

/// Builds the bytes of one case.
fn build(base: usize, mutations: &[Mutation]) -> Vec<u8> {
    let (delimiter, rows) = bases().swap_remove(base);
    let mut table = Table {
        delimiter,
        rows: rows.into_iter().map(Some).collect(),
    };
    for m in mutations {
        table.apply(m);
    }
    let mut bytes = table.to_bytes();
    for m in mutations {
        apply_bytes(&mut bytes, m);
    }
    bytes
}

/// What `load` promises about a series: see the module docs.
fn check_series(s: &TimeSeries) -> Result<(), String> {
    if s.is_empty() || s.column_names().is_empty() {
        return Err(format!(
            "empty series: {} rows, {} columns",
            s.len(),
            s.column_names().len()
        ));
    }
    if let Some(i) = s.timestamps().windows(2).position(|w| w[1] <= w[0]) {
        return Err(format!("timestamps do not increase at row {}", i + 1));
    }
    for name in s.column_names() {
        let values = s.column(name).map_err(|e| e.to_string())?;
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(format!("column `{name}` row {i} is {}", values[i]));
        }
    }
    Ok(())
}

fn check_error(e: &Error, path: &Path, bytes: &[u8]) -> Result<&'static str, String> {
    let msg = e.to_string();
    if !msg.contains(&path.display().to_string()) {
        return Err(format!("the error does not name the file: {msg}"));
    }
    if !e.is_bad_input() {
        return Err(format!("not classed as bad input: {msg}"));
    }
    let last_line = 1 + bytes.iter().filter(|&&b| b == b'\n').count() as u64;
    let (kind, line, column) = match e {
        Error::Csv { line, column, .. } => ("Csv", Some(*line), Some(column)),
        Error::MissingValue { line, column, .. } => ("MissingValue", Some(*line), Some(column)),
        Error::LeadingMissing { line, column, .. } => ("LeadingMissing", Some(*line), Some(column)),
        Error::UnsortedTimestamps { line, .. } => ("UnsortedTimestamps", Some(*line), None),
        Error::DuplicateTimestamp { line, .. } => ("DuplicateTimestamp", Some(*line), None),
        Error::Empty { .. } => ("Empty", None, None),
        Error::Binary { .. } => ("Binary", None, None),
        Error::TextColumns { .. } => ("TextColumns", None, None),
        Error::AllMissing { .. } => ("AllMissing", None, None),
        Error::MissingColumn { .. } => ("MissingColumn", None, None),
        _ => return Err(format!("an error that locates nothing: {msg}")),
    };
    if let Some(line) = line {
        if line == 0 || line > last_line {
            return Err(format!(
                "line {line} is not in the file (1..={last_line}): {msg}"
            ));
        }
    }
    if column.is_some_and(|c| c.is_empty()) && line != Some(1) {
        // Blank header cells are named by position (`column_K`, the unnamed first column).
        return Err(format!("a row error that names no column: {msg}"));
    }
    Ok(kind)
}

#[test]
fn the_unmutated_bases_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("base.csv");
    for (k, rows) in [8, 8, 6].into_iter().enumerate() {
        std::fs::write(&path, build(k, &[])).unwrap();
        let s = load(&path, &LoadOptions::default()).unwrap();
        assert_eq!(s.len(), rows, "base {k}");
        check_series(&s).unwrap();
    }
}

#[test]
fn ten_thousand_malformed_csvs_give_a_valid_series_or_a_located_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("malformed.csv");
    let seen: RefCell<BTreeMap<&'static str, u32>> = RefCell::default();
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let outcome = runner.run(&case(), |(base, opts, mutations)| {
        let bytes = build(base, &mutations);
        std::fs::write(&path, &bytes).unwrap();
        let result = std::panic::catch_unwind(|| load(&path, &opts));
        let shown = || String::from_utf8_lossy(&bytes[..bytes.len().min(600)]).into_owned();
        let result = match result {
            Ok(r) => r,
            Err(_) => {
                return Err(TestCaseError::fail(format!(
                    "load panicked on {:?}",
                    shown()
                )))
            }
        };
        let kind = match &result {
            Ok(s) => check_series(s).map(|()| "Ok"),
            Err(e) => check_error(e, &path, &bytes),
        }
        .map_err(|why| TestCaseError::fail(format!("{why}\nfile: {:?}", shown())))?;
        *seen.borrow_mut().entry(kind).or_insert(0) += 1;
        Ok(())
    });
    let seen = seen.into_inner();
    println!("outcomes of {CASES} malformed files: {seen:?}");
    if let Err(e) = outcome {
        panic!("{e}");
    }
    // The generator really makes both kinds of file: some still load, most fail, in many ways.
    assert_eq!(seen.values().sum::<u32>(), CASES, "{seen:?}");
    assert!(seen.get("Ok").is_some_and(|&n| n > 100), "{seen:?}");
    for kind in [
        "Csv",
        "Empty",
        "Binary",
        "UnsortedTimestamps",
        "DuplicateTimestamp",
    ] {
        assert!(seen.contains_key(kind), "no {kind} error among {seen:?}");
    }
}
