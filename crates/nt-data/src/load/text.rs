//! The CSV reader: bytes → [`RawTable`] with every row's line, then shared validation.

use nt_core::TimeSeries;

use super::table::{RawColumn, RawTable};
use super::LoadOptions;
use crate::{Error, Result};

/// Parses CSV `text` as if read from a file called `name` (used in messages): for tests and for
/// servers that receive a table in a request body. Same rules as [`load_csv`](crate::load_csv).
pub fn read_csv_from_str(text: &str, name: &str, opts: &LoadOptions) -> Result<TimeSeries> {
    read_csv_bytes(text.as_bytes(), name, opts)
}

/// Parses CSV bytes; see [`read_csv_from_str`].
pub(crate) fn read_csv_bytes(bytes: &[u8], path: &str, opts: &LoadOptions) -> Result<TimeSeries> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::Empty { path: path.into() });
    }
    if looks_binary(bytes) {
        return Err(Error::Binary { path: path.into() });
    }
    read_table(bytes, path)?.into_series(opts)
}

/// Binary content: a NUL byte, more than 5% control characters, or invalid UTF-8 together with
/// more than a third of non-ASCII bytes, within the first 8 KiB. (Text in a legacy encoding such
/// as Latin-1 is not binary: its bad cells are reported one by one.)
fn looks_binary(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(8192)];
    if sample.contains(&0) {
        return true;
    }
    let control = sample
        .iter()
        .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c)) || b == 0x7f)
        .count();
    if control * 20 > sample.len() {
        return true;
    }
    let high = sample.iter().filter(|b| !b.is_ascii()).count();
    let invalid_utf8 = matches!(std::str::from_utf8(sample), Err(e) if e.error_len().is_some());
    invalid_utf8 && high * 3 > sample.len()
}

/// The field separator: `,`, or `;` / tab when the header line has no comma but has that.
fn delimiter(bytes: &[u8]) -> u8 {
    let header = bytes.split(|b| *b == b'\n').next().unwrap_or(bytes);
    if header.contains(&b',') {
        b','
    } else if header.contains(&b';') {
        b';'
    } else if header.contains(&b'\t') {
        b'\t'
    } else {
        b','
    }
}

/// How an error names column `k` (0-based) whose header is `header`: blank headers by position,
/// as the loaded series names them (`column_K`, or the unnamed first column of a pandas index).
fn column_label(header: &str, k: usize) -> String {
    match (header.trim().is_empty(), k) {
        (false, _) => header.to_string(),
        (true, 0) => "(unnamed first column)".into(),
        (true, k) => format!("column_{}", k + 1),
    }
}

/// Longest accepted header name, in characters.
const MAX_HEADER_CHARS: usize = 256;

/// Whether a header line is really a data row (a file without a header): every cell is a number
/// or a timestamp, and at least one is a timestamp or a number with a fraction or exponent. A
/// header of bare integers (`0,1,2`, pandas' default column names) stays a header.
fn header_is_data(headers: &[String]) -> bool {
    let mut telling = false;
    for h in headers {
        let h = h.trim();
        if h.is_empty() {
            return false;
        }
        let number = h.parse::<f64>().is_ok_and(f64::is_finite);
        let integer = h.parse::<i64>().is_ok();
        let timestamp = !number && super::time::parse_timestamp(h).is_some();
        if (number && !integer) || timestamp {
            telling = true;
        } else if !number {
            return false;
        }
    }
    telling
}

fn read_table(bytes: &[u8], path: &str) -> Result<RawTable> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(::csv::Trim::All)
        .delimiter(delimiter(bytes))
        .from_reader(bytes);
    let mut records = reader.byte_records();
    // csv's own line numbers skip the blank lines it skips; count them from byte offsets instead.
    let newlines: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] == b'\n').collect();
    let line_at = |pos: Option<&::csv::Position>, fallback: u64| -> u64 {
        let Some(pos) = pos else { return fallback };
        let mut offset = usize::try_from(pos.byte())
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        while offset < bytes.len() && matches!(bytes[offset], b'\r' | b'\n') {
            offset += 1;
        }
        1 + newlines.partition_point(|&p| p < offset) as u64
    };
    let csv_error = |e: ::csv::Error, fallback_line: u64| Error::Csv {
        path: path.into(),
        line: line_at(e.position(), fallback_line),
        column: String::new(),
        reason: e.to_string(),
    };
    let header = match records.next() {
        None => return Err(Error::Empty { path: path.into() }),
        Some(r) => r.map_err(|e| csv_error(e, 1))?,
    };
    let header_line = line_at(header.position(), 1);
    let mut headers = Vec::with_capacity(header.len());
    for (k, field) in header.iter().enumerate() {
        let name = std::str::from_utf8(field).map_err(|_| Error::Csv {
            path: path.into(),
            line: header_line,
            column: format!("#{}", k + 1),
            reason: "invalid UTF-8 in the header; the file must be UTF-8 text".into(),
        })?;
        if name.chars().count() > MAX_HEADER_CHARS {
            return Err(Error::Csv {
                path: path.into(),
                line: header_line,
                column: format!("#{}", k + 1),
                reason: format!(
                    "a header name of {} bytes (`{}`); column names are at most {MAX_HEADER_CHARS} characters",
                    name.len(),
                    super::excerpt(name)
                ),
            });
        }
        headers.push(name.to_string());
    }
    if header_is_data(&headers) {
        return Err(Error::Csv {
            path: path.into(),
            line: header_line,
            column: "(header)".into(),
            reason: format!(
                "the first line `{}` looks like data, not a header (its cells are numbers and dates); add a header line naming the columns, e.g. `date,price`",
                super::excerpt(&headers.join(","))
            ),
        });
    }
    let width = headers.len();
    let mut cells: Vec<Vec<String>> = vec![Vec::new(); width];
    let mut lines = Vec::new();
    let ends_with_newline = bytes.ends_with(b"\n") || bytes.ends_with(b"\r");
    let mut previous_line = header_line;
    let mut records = records.peekable();
    while let Some(record) = records.next() {
        let record = record.map_err(|e| csv_error(e, previous_line + 1))?;
        let line = line_at(record.position(), previous_line + 1);
        previous_line = line;
        if record.len() == 1 && record[0].is_empty() {
            // A line of spaces only: blank, like the empty lines csv skips itself.
            continue;
        }
        if record.len() != width {
            let truncated = records.peek().is_none() && !ends_with_newline;
            let column = headers.get(record.len()).map_or_else(
                || format!("(field {}, past the header)", record.len()),
                |h| column_label(h, record.len()),
            );
            return Err(Error::Csv {
                path: path.into(),
                line,
                column,
                reason: format!(
                    "expected {width} fields as in the header, found {}{}",
                    record.len(),
                    if truncated {
                        " (the last line is incomplete: was the file cut short?)"
                    } else {
                        ""
                    }
                ),
            });
        }
        for (k, field) in record.iter().enumerate() {
            let cell = std::str::from_utf8(field).map_err(|_| Error::Csv {
                path: path.into(),
                line,
                column: column_label(&headers[k], k),
                reason: "invalid UTF-8; the file must be UTF-8 text".into(),
            })?;
            cells[k].push(cell.to_string());
        }
        lines.push(line);
    }
    Ok(RawTable {
        path: path.into(),
        headers,
        columns: cells.into_iter().map(RawColumn::Text).collect(),
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<TimeSeries> {
        read_csv_from_str(text, "mem.csv", &LoadOptions::default())
    }

    #[test]
    fn wide_table_with_date_column() {
        let s = read("date,a,b\n2016-07-01 00:00:00,1,2\n2016-07-01 01:00:00,3,4\n").unwrap();
        assert_eq!(s.column_names(), vec!["a", "b"]);
        assert_eq!(s.timestamps(), &[1_467_331_200_000, 1_467_334_800_000]);
        assert_eq!(s.column("b").unwrap(), &[2.0, 4.0]);
    }

    #[test]
    fn semicolons_tabs_crlf_bom_and_blank_lines_are_accepted() {
        let s = read("\u{feff}Time;x\r\n2020-01-01;1.5\r\n\r\n2020-01-02;2.5\r\n").unwrap();
        assert_eq!(s.column("x").unwrap(), &[1.5, 2.5]);
        assert_eq!(s.len(), 2);
        let s = read("timestamp\tx\n1700000000\t1\n1700000060\t2\n").unwrap();
        assert_eq!(s.timestamps(), &[1_700_000_000_000, 1_700_000_060_000]);
    }

    #[test]
    fn lines_count_the_header_and_skipped_blank_lines() {
        // Row "x" sits on line 5: lines 3 (empty) and 4 (spaces) are blank.
        let e = read("date,v\n2020-01-01,1\n\n  \n2020-01-02,x\n").unwrap_err();
        assert!(
            matches!(&e, Error::Csv { line: 5, column, .. } if column == "v"),
            "{e}"
        );
    }

    #[test]
    fn no_time_column_numbers_rows() {
        let s = read("a,b\n1,2\n3,4\n5,6\n").unwrap();
        assert_eq!(s.timestamps(), &[0, 1, 2]);
        assert_eq!(s.column_names(), vec!["a", "b"]);
    }

    #[test]
    fn first_column_is_time_when_its_first_cell_is_a_date() {
        let s = read("when,v\n2004-08-19,1\n2004-08-20,2\n").unwrap();
        assert_eq!(s.column_names(), vec!["v"]);
        assert_eq!(s.timestamps()[1] - s.timestamps()[0], 86_400_000);
    }

    #[test]
    fn pandas_range_index_beside_a_date_column_is_skipped() {
        let s = read(",date,x\n0,2020-01-01,1.5\n1,2020-01-02,2.5\n").unwrap();
        assert_eq!(s.column_names(), vec!["x"]);
        assert_eq!(s.timestamps()[0], 1_577_836_800_000);
    }

    proptest::proptest! {
        /// Whatever the bytes, the reader returns a series or an error, never panics.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = read_csv_bytes(&bytes, "fuzz.csv", &LoadOptions::default());
        }

        /// CSV-like text (digits, separators, quotes, dates, missing tokens) never panics either,
        /// under every fill policy.
        #[test]
        fn csv_like_text_never_panics(
            text in "(date|x|,|;|\"|\n|\r|1|2|-|:| |2020-01-0[1-9]|NaN|\\.|e|inf){0,60}",
            fill in proptest::sample::select(crate::FillPolicy::ALL.to_vec()),
        ) {
            let opts = LoadOptions { fill, ..LoadOptions::default() };
            let _ = read_csv_from_str(&text, "fuzz.csv", &opts);
        }
    }

    #[test]
    fn a_data_row_in_place_of_the_header_is_named() {
        for text in [
            "2024-01-01,1.5\n2024-01-02,1.6\n",
            "1.5,2.5\n1.6,2.6\n",
            "2024-01-01 00:00:00;3\n2024-01-01 01:00:00;4\n",
        ] {
            let e = read(text).unwrap_err().to_string();
            assert!(e.contains("line 1") && e.contains("looks like data"), "{e}");
        }
        // Real headers, including pandas' integer column names and years, stay headers.
        assert!(read("date,2020,2021\n2024-01-01,1,2\n").is_ok());
        assert!(read(",0,1\n0,1.5,2.5\n1,1.6,2.6\n").is_ok());
    }

    #[test]
    fn errors_name_blank_header_columns_by_position() {
        // A trailing delimiter gives a blank third header: its bad cell is `column_3`.
        let e = read("date,price,\n2024-01-01,1,2\n2024-01-02,1\n")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("column ``"), "{e}");
        let e = read("date,price,\n2024-01-01,1,x\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("column_3"), "{e}");
        let e = read(",price\nx,1\n2024-01-02,2\n").unwrap_err().to_string();
        assert!(!e.contains("column ``"), "{e}");
    }

    #[test]
    fn values_beyond_the_f64_safe_range_are_named() {
        let e = read("date,price\n2024-01-01,1\n2024-01-02,-1e308\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 3") && e.contains("price") && e.contains("rescale"),
            "{e}"
        );
        assert!(read("date,price\n2024-01-01,1\n2024-01-02,1e99\n").is_ok());
    }

    #[test]
    fn huge_cells_and_header_names_are_not_echoed_back() {
        let big = "x".repeat(5_000_000);
        let e = read(&format!("date,price\n2024-01-01,1\n2024-01-02,{big}\n"))
            .unwrap_err()
            .to_string();
        assert!(e.len() < 500, "{} bytes of error", e.len());
        assert!(e.contains("line 3") && e.contains("5000000 bytes"), "{e}");
        let e = read(&format!("date,{big}\n2024-01-01,1\n"))
            .unwrap_err()
            .to_string();
        assert!(e.len() < 500, "{} bytes of error", e.len());
        let e = read(&format!("date,price\n{big},1\n"))
            .unwrap_err()
            .to_string();
        assert!(e.len() < 500, "{} bytes of error", e.len());
    }

    #[test]
    fn binary_detection() {
        assert!(looks_binary(b"PK\x03\x04\x00\x00garbage"));
        assert!(looks_binary(&[
            0xff, 0xfe, 0x80, 0x81, 0x90, 0xc3, 0x28, 0xa0
        ]));
        assert!(!looks_binary("date,prix\n2020-01-01,1\n".as_bytes()));
        // Latin-1 "é" is one invalid byte among many ASCII ones: text, not binary.
        assert!(!looks_binary(b"date,caf\xe9\n2020-01-01,1\n"));
    }
}
