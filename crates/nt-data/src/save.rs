//! Writing a table of typed columns to CSV or Parquet (by the file's extension), atomically:
//! the table goes to a temporary file beside the target, which is renamed over it only when
//! complete, so a failed write leaves nothing half-written at the path.
//!
//! What it is for: long tables the CLI writes (sample paths of probabilistic forecasts), which
//! users read back with pandas, polars or `nt` itself. Timestamps are UTC instants: ISO-8601
//! text (`2024-01-31T12:00:00Z`) in CSV, arrow `Timestamp(ms, "UTC")` in Parquet.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// One column's values.
#[derive(Debug, Clone, PartialEq)]
pub enum OutColumn {
    /// Text.
    Text(Vec<String>),
    /// 64-bit integers.
    Int(Vec<i64>),
    /// 64-bit floats (non-finite values are written as empty cells / nulls).
    Float(Vec<f64>),
    /// UTC instants in unix milliseconds.
    TimestampMs(Vec<i64>),
}

impl OutColumn {
    fn len(&self) -> usize {
        match self {
            OutColumn::Text(v) => v.len(),
            OutColumn::Int(v) | OutColumn::TimestampMs(v) => v.len(),
            OutColumn::Float(v) => v.len(),
        }
    }
}

/// The file formats [`write_table`] chooses between, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    #[cfg(feature = "parquet")]
    Parquet,
}

fn format_of(path: &Path) -> Result<Format> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("csv") => Ok(Format::Csv),
        #[cfg(feature = "parquet")]
        Some("parquet") | Some("pq") => Ok(Format::Parquet),
        _ => Err(Error::Write {
            path: path.display().to_string(),
            reason: format!(
                "unknown extension: expected .csv{}",
                if cfg!(feature = "parquet") {
                    " or .parquet"
                } else {
                    " (this build has no Parquet support)"
                }
            ),
        }),
    }
}

/// Writes `columns` (name, values; all the same length) to `path` as CSV (`.csv`) or Parquet
/// (`.parquet`, `.pq`), atomically. Errors name the path: an unknown extension, columns of
/// different lengths, an I/O failure.
pub fn write_table(path: &Path, columns: &[(&str, OutColumn)]) -> Result<()> {
    let fail = |reason: String| Error::Write {
        path: path.display().to_string(),
        reason,
    };
    let format = format_of(path)?;
    let rows = columns.first().map_or(0, |(_, c)| c.len());
    if let Some((name, c)) = columns.iter().find(|(_, c)| c.len() != rows) {
        return Err(fail(format!(
            "column `{name}` has {} values, the first column {rows}",
            c.len()
        )));
    }
    let bytes = match format {
        Format::Csv => csv_bytes(columns, rows),
        #[cfg(feature = "parquet")]
        Format::Parquet => parquet_bytes(columns).map_err(fail)?,
    };
    let tmp = temp_path(path);
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(&bytes)?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e.to_string()));
    }
    Ok(())
}

/// A sibling of `path` that no other writer uses at the same time.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            if ms % 1000 == 0 {
                t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
            } else {
                t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
            }
        })
        .unwrap_or_else(|| ms.to_string())
}

/// RFC 4180 quoting where a cell needs it.
fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv_bytes(columns: &[(&str, OutColumn)], rows: usize) -> Vec<u8> {
    let mut out = String::new();
    let header: Vec<String> = columns.iter().map(|(n, _)| csv_cell(n)).collect();
    out.push_str(&header.join(","));
    out.push('\n');
    for r in 0..rows {
        for (i, (_, c)) in columns.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match c {
                OutColumn::Text(v) => out.push_str(&csv_cell(&v[r])),
                OutColumn::Int(v) => out.push_str(&v[r].to_string()),
                OutColumn::Float(v) if v[r].is_finite() => out.push_str(&v[r].to_string()),
                OutColumn::Float(_) => {}
                OutColumn::TimestampMs(v) => out.push_str(&iso(v[r])),
            }
        }
        out.push('\n');
    }
    out.into_bytes()
}

#[cfg(feature = "parquet")]
fn parquet_bytes(columns: &[(&str, OutColumn)]) -> std::result::Result<Vec<u8>, String> {
    use std::sync::Arc;

    use arrow_array::{
        ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
    };
    use arrow_schema::{DataType, Field, Schema, TimeUnit};
    use parquet::arrow::ArrowWriter;

    let mut fields = Vec::with_capacity(columns.len());
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(columns.len());
    for (name, c) in columns {
        let (ty, array): (DataType, ArrayRef) = match c {
            OutColumn::Text(v) => (DataType::Utf8, Arc::new(StringArray::from(v.clone()))),
            OutColumn::Int(v) => (DataType::Int64, Arc::new(Int64Array::from(v.clone()))),
            OutColumn::Float(v) => (
                DataType::Float64,
                Arc::new(Float64Array::from(
                    v.iter()
                        .map(|x| x.is_finite().then_some(*x))
                        .collect::<Vec<_>>(),
                )),
            ),
            OutColumn::TimestampMs(v) => (
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                Arc::new(TimestampMillisecondArray::from(v.clone()).with_timezone("UTC")),
            ),
        };
        fields.push(Field::new(*name, ty, true));
        arrays.push(array);
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buf, schema, None).map_err(|e| e.to_string())?;
    writer.write(&batch).map_err(|e| e.to_string())?;
    writer.close().map_err(|e| e.to_string())?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Vec<(&'static str, OutColumn)> {
        vec![
            ("target", OutColumn::Text(vec!["a,b".into(), "c".into()])),
            ("path", OutColumn::Int(vec![1, 2])),
            ("timestamp", OutColumn::TimestampMs(vec![0, 3_600_000])),
            ("value", OutColumn::Float(vec![1.5, f64::NAN])),
        ]
    }

    /// CSV: a header, quoted text with a comma, ISO timestamps, an empty cell for NaN.
    #[test]
    fn csv_is_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("paths.csv");
        write_table(&p, &table()).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            text,
            "target,path,timestamp,value\n\"a,b\",1,1970-01-01T00:00:00Z,1.5\nc,2,1970-01-01T01:00:00Z,\n"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    /// Parquet round-trips through the crate's own loader's reader: two rows, four columns.
    #[cfg(feature = "parquet")]
    #[test]
    fn parquet_is_readable() {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("paths.parquet");
        write_table(&p, &table()).unwrap();
        let r = SerializedFileReader::new(std::fs::File::open(&p).unwrap()).unwrap();
        let meta = r.metadata().file_metadata();
        assert_eq!(meta.num_rows(), 2);
        assert_eq!(meta.schema_descr().num_columns(), 4);
    }

    #[test]
    fn bad_extension_and_ragged_columns_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = write_table(&dir.path().join("x.txt"), &table()).unwrap_err();
        assert!(e.to_string().contains("unknown extension"), "{e}");
        let ragged = vec![
            ("a", OutColumn::Int(vec![1])),
            ("b", OutColumn::Int(vec![1, 2])),
        ];
        let e = write_table(&dir.path().join("x.csv"), &ragged).unwrap_err();
        assert!(e.to_string().contains("column `b` has 2 values"), "{e}");
        assert!(!dir.path().join("x.csv").exists());
    }
}
