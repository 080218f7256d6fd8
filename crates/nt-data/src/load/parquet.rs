//! The Parquet reader (feature `parquet`): arrow record batches → [`RawTable`], then the same
//! validation as CSV.

use std::panic::AssertUnwindSafe;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Float16Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    Int8Type, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrowPrimitiveType, PrimitiveArray};
use arrow_schema::{DataType, TimeUnit};
use nt_core::TimeSeries;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::metadata::ParquetMetaData;

use super::table::{RawColumn, RawTable};
use super::{io_error, LoadOptions};
use crate::{Error, Result};

const MS_PER_DAY: i64 = 86_400_000;

/// Reads a Parquet file. The time column may be of arrow type Timestamp (any unit, with or
/// without a time zone: the stored instant is UTC), Date32, Date64, an integer type (unix seconds
/// or milliseconds, by the rule of [`parse_timestamp`](crate::parse_timestamp)) or a string
/// (parsed like a CSV cell). Value columns may be of any integer or floating-point type, or
/// strings holding numbers; nulls are missing values handled by [`LoadOptions::fill`]. The
/// "line" in error messages is the 1-based data row plus one, as if the file had a header line.
pub fn load_parquet(path: &Path, opts: &LoadOptions) -> Result<TimeSeries> {
    super::check_regular_file(path)?;
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    // The parquet crate panics on some corrupt files (asserts and `expect`s in its page
    // decoders, e.g. "Decoder for dict should have been set"): such a panic is this file's
    // fault, reported like any other unreadable Parquet file. Nothing outlives the closure, so
    // no broken state is observed after a panic.
    // Every page header is checked before the crate decodes anything (see parquet_pages).
    let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
    let read = std::panic::catch_unwind(AssertUnwindSafe(|| read_table(file, &bytes, &name)));
    let table = read.unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("a panic");
        Err(Error::Parquet {
            path: name.clone(),
            reason: format!("corrupt file: the Parquet decoder failed ({what})"),
        })
    })?;
    table.into_series(opts)
}

/// Reads every record batch of `file` into a [`RawTable`]; may panic on a corrupt file (see
/// [`load_parquet`]).
fn read_table(file: std::fs::File, bytes: &[u8], name: &str) -> Result<RawTable> {
    let parquet_error = |reason: String| Error::Parquet {
        path: name.to_string(),
        reason,
    };
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parquet_error(e.to_string()))?;
    check_column_ranges(builder.metadata()).map_err(parquet_error)?;
    super::parquet_pages::check_pages(bytes, builder.metadata()).map_err(parquet_error)?;
    let schema = builder.schema().clone();
    let reader = builder.build().map_err(|e| parquet_error(e.to_string()))?;
    let headers: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut columns: Vec<RawColumn> = schema
        .fields()
        .iter()
        .map(|f| empty_column(f.data_type()))
        .collect();
    let mut rows = 0usize;
    for batch in reader {
        let batch = batch.map_err(|e| parquet_error(e.to_string()))?;
        rows += batch.num_rows();
        for (column, array) in columns.iter_mut().zip(batch.columns()) {
            append(column, array.as_ref());
        }
    }
    Ok(RawTable {
        path: name.to_string(),
        headers,
        columns,
        lines: (2..2 + rows as u64).collect(),
    })
}

/// Rejects a footer whose column chunks have a negative offset or size: the parquet crate
/// panics on those while reading (`ColumnChunkMetaData::byte_range`), and a corrupt file can
/// hold them (found by the `parquet_reader` fuzz target, `fuzz/regressions/parquet_reader/`).
fn check_column_ranges(meta: &ParquetMetaData) -> std::result::Result<(), String> {
    for (r, group) in meta.row_groups().iter().enumerate() {
        for c in group.columns() {
            let start = c.dictionary_page_offset().unwrap_or(c.data_page_offset());
            if start < 0 || c.compressed_size() < 0 {
                return Err(format!(
                    "row group {r}, column `{}`: negative offset {start} or size {} in the \
                     metadata (corrupt file)",
                    c.column_path(),
                    c.compressed_size()
                ));
            }
        }
    }
    Ok(())
}

/// The raw column a field of this type is read into.
fn empty_column(data_type: &DataType) -> RawColumn {
    use DataType::*;
    match data_type {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => {
            RawColumn::Integers(Vec::new())
        }
        Float16 | Float32 | Float64 => RawColumn::Floats(Vec::new()),
        Timestamp(_, _) | Date32 | Date64 => RawColumn::Times(Vec::new()),
        Utf8 | LargeUtf8 | Utf8View => RawColumn::Text(Vec::new()),
        other => RawColumn::Unsupported(other.to_string()),
    }
}

fn push_ints<T: ArrowPrimitiveType>(
    out: &mut Vec<Option<i64>>,
    array: &PrimitiveArray<T>,
    f: impl Fn(T::Native) -> Option<i64>,
) {
    out.extend(array.iter().map(|v| v.and_then(&f)));
}

fn push_floats<T: ArrowPrimitiveType>(
    out: &mut Vec<f64>,
    array: &PrimitiveArray<T>,
    f: impl Fn(T::Native) -> f64,
) {
    out.extend(array.iter().map(|v| v.map_or(f64::NAN, &f)));
}

/// Appends one batch's array to its raw column (types were fixed by the schema).
fn append(column: &mut RawColumn, array: &dyn Array) {
    use DataType::*;
    match (column, array.data_type()) {
        (RawColumn::Integers(out), Int8) => {
            push_ints(out, array.as_primitive::<Int8Type>(), |v| Some(v.into()))
        }
        (RawColumn::Integers(out), Int16) => {
            push_ints(out, array.as_primitive::<Int16Type>(), |v| Some(v.into()))
        }
        (RawColumn::Integers(out), Int32) => {
            push_ints(out, array.as_primitive::<Int32Type>(), |v| Some(v.into()))
        }
        (RawColumn::Integers(out), Int64) => {
            push_ints(out, array.as_primitive::<Int64Type>(), Some)
        }
        (RawColumn::Integers(out), UInt8) => {
            push_ints(out, array.as_primitive::<UInt8Type>(), |v| Some(v.into()))
        }
        (RawColumn::Integers(out), UInt16) => {
            push_ints(out, array.as_primitive::<UInt16Type>(), |v| Some(v.into()))
        }
        (RawColumn::Integers(out), UInt32) => {
            push_ints(out, array.as_primitive::<UInt32Type>(), |v| Some(v.into()))
        }
        // Values past i64::MAX become nulls (missing), which the fill policy then reports.
        (RawColumn::Integers(out), UInt64) => {
            push_ints(out, array.as_primitive::<UInt64Type>(), |v| {
                i64::try_from(v).ok()
            })
        }
        (RawColumn::Floats(out), Float16) => {
            push_floats(out, array.as_primitive::<Float16Type>(), |v| v.to_f64())
        }
        (RawColumn::Floats(out), Float32) => {
            push_floats(out, array.as_primitive::<Float32Type>(), f64::from)
        }
        (RawColumn::Floats(out), Float64) => {
            push_floats(out, array.as_primitive::<Float64Type>(), |v| v)
        }
        (RawColumn::Times(out), Timestamp(TimeUnit::Second, _)) => {
            push_ints(out, array.as_primitive::<TimestampSecondType>(), |v| {
                v.checked_mul(1000)
            })
        }
        (RawColumn::Times(out), Timestamp(TimeUnit::Millisecond, _)) => {
            push_ints(out, array.as_primitive::<TimestampMillisecondType>(), Some)
        }
        (RawColumn::Times(out), Timestamp(TimeUnit::Microsecond, _)) => {
            push_ints(out, array.as_primitive::<TimestampMicrosecondType>(), |v| {
                Some(v.div_euclid(1000))
            })
        }
        (RawColumn::Times(out), Timestamp(TimeUnit::Nanosecond, _)) => {
            push_ints(out, array.as_primitive::<TimestampNanosecondType>(), |v| {
                Some(v.div_euclid(1_000_000))
            })
        }
        (RawColumn::Times(out), Date32) => {
            push_ints(out, array.as_primitive::<Date32Type>(), |d| {
                Some(i64::from(d) * MS_PER_DAY)
            })
        }
        (RawColumn::Times(out), Date64) => push_ints(out, array.as_primitive::<Date64Type>(), Some),
        (RawColumn::Text(out), Utf8) => out.extend(
            array
                .as_string::<i32>()
                .iter()
                .map(|v| v.unwrap_or("").to_string()),
        ),
        (RawColumn::Text(out), LargeUtf8) => out.extend(
            array
                .as_string::<i64>()
                .iter()
                .map(|v| v.unwrap_or("").to_string()),
        ),
        (RawColumn::Text(out), Utf8View) => out.extend(
            array
                .as_string_view()
                .iter()
                .map(|v| v.unwrap_or("").to_string()),
        ),
        // Unsupported columns keep no cells; a mismatch cannot happen (one schema per file).
        _ => {}
    }
}
