//! Writes the committed seed corpus under `fuzz/seeds/<target>/` from the real data files
//! (the first ~2 KB of ETTh1 and GOOG, cut at a line end) and from the documented spellings of
//! each input: CSV and Parquet files, timestamp cells, AgentDB filters and one body per HTTP
//! route. Run it again when a format or a route changes:
//!
//! ```sh
//! cargo run --manifest-path fuzz/Cargo.toml --example make_seeds -- /work/shared/data
//! ```
//!
//! The argument is the directory holding `ETTh1.csv` and `GOOG.csv` (default
//! `../shared/data` from the repository root). Each seed's first byte is the target's
//! selector: the load options for the readers (see `nt_fuzz::options`), the route index for
//! `http_bodies`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{
    ArrayRef, Date32Array, Float32Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMillisecondArray,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde_json::json;

/// The longest prefix of `text` that ends with a newline and is at most `max` bytes long.
fn head(text: &str, max: usize) -> &str {
    let cut = text[..text.len().min(max)].rfind('\n').map_or(0, |i| i + 1);
    &text[..cut]
}

/// Writes one seed: `selector` then `content`.
fn seed(dir: &Path, name: &str, selector: u8, content: &[u8]) {
    std::fs::create_dir_all(dir).expect("create the seed directory");
    let mut bytes = vec![selector];
    bytes.extend_from_slice(content);
    std::fs::write(dir.join(name), bytes).expect("write a seed");
}

/// The rows of a CSV head: the header's names and each line's cells.
fn rows(csv: &str) -> (Vec<&str>, Vec<Vec<&str>>) {
    let mut lines = csv.lines();
    let header = lines.next().expect("a header").split(',').collect();
    (header, lines.map(|l| l.split(',').collect()).collect())
}

/// A Parquet file of `columns`, compressed with `compression`, as bytes.
fn parquet_bytes(columns: Vec<(&str, ArrayRef)>, compression: Compression) -> Vec<u8> {
    let batch = RecordBatch::try_from_iter(columns).expect("a record batch");
    let props = WriterProperties::builder()
        .set_compression(compression)
        .build();
    let mut out = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).expect("a Parquet writer");
    writer.write(&batch).expect("write the batch");
    writer.close().expect("close the Parquet file");
    out
}

fn csv_seeds(out: &Path, etth1: &str, goog: &str) {
    let dir = out.join("csv_reader");
    seed(&dir, "etth1_head.csv", 0, etth1.as_bytes());
    seed(&dir, "etth1_date_ot.csv", 4 | 8, etth1.as_bytes());
    seed(&dir, "goog_head.csv", 0, goog.as_bytes());
    // GOOG with gaps, `;`, CRLF and a BOM, read with linear fill.
    let gappy: String = goog
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let l = if i == 3 {
                l.replacen(",104.06,", ",,", 1)
            } else {
                l.to_string()
            };
            let l = if i == 5 {
                l.replacen("104.96", "NaN", 1)
            } else {
                l
            };
            format!("{}\r\n", l.replace(',', ";"))
        })
        .collect();
    seed(
        &dir,
        "goog_gaps_semicolon_crlf_bom.csv",
        2,
        format!("\u{feff}{gappy}").as_bytes(),
    );
    // ETTh1's first rows with unix seconds as the time axis, tab separated, drop fill.
    let (names, cells) = rows(etth1);
    let mut unix = format!("timestamp\t{}\n", names[1..].join("\t"));
    for (i, r) in cells.iter().take(8).enumerate() {
        let t = 1_467_331_200 + 3600 * i as i64;
        let v = if i == 2 { "" } else { r[7] };
        unix.push_str(&format!("{t}\t{}\t{v}\n", r[1..7].join("\t")));
    }
    seed(&dir, "etth1_unix_tab.csv", 3, unix.as_bytes());
}

fn parquet_seeds(out: &Path, etth1: &str, goog: &str) {
    let dir = out.join("parquet_reader");
    let (names, cells) = rows(etth1);
    let n = cells.len().min(12);
    let ts: Vec<i64> = (0..n as i64)
        .map(|i| 1_467_331_200_000 + i * 3_600_000)
        .collect();
    let col = |k: usize| -> Vec<f64> {
        cells[..n]
            .iter()
            .map(|r| r[k].parse().expect("a number"))
            .collect()
    };
    let mut columns: Vec<(&str, ArrayRef)> = vec![(
        "date",
        Arc::new(TimestampMillisecondArray::from(ts.clone()).with_timezone("UTC")),
    )];
    for (k, name) in names.iter().enumerate().skip(1) {
        columns.push((name, Arc::new(Float64Array::from(col(k)))));
    }
    seed(
        &dir,
        "etth1_timestamp_snappy.parquet",
        0,
        &parquet_bytes(columns, Compression::SNAPPY),
    );
    // OT with nulls, as f32, the time axis as unix seconds, zstd: read with ffill and `OT`.
    let ot: Vec<Option<f32>> = col(7)
        .iter()
        .enumerate()
        .map(|(i, v)| (i % 4 != 1).then_some(*v as f32))
        .collect();
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "date",
            Arc::new(Int64Array::from(
                ts.iter().map(|t| t / 1000).collect::<Vec<_>>(),
            )),
        ),
        ("OT", Arc::new(Float32Array::from(ot))),
        ("HUFL", Arc::new(Float64Array::from(col(1)))),
    ];
    let zstd = Compression::ZSTD(ZstdLevel::default());
    seed(
        &dir,
        "etth1_unix_nulls_zstd.parquet",
        1 | 4 | 8,
        &parquet_bytes(columns, zstd),
    );
    // GOOG: Date32 days, float prices, integer volume, uncompressed.
    let (_, g) = rows(goog);
    let m = g.len().min(12);
    let days: Vec<i32> = g[..m]
        .iter()
        .map(|r| {
            let ms = nt_data::parse_timestamp(r[0]).expect("a GOOG date");
            i32::try_from(ms / 86_400_000).expect("days fit i32")
        })
        .collect();
    let gcol = |k: usize| -> Vec<f64> {
        g[..m]
            .iter()
            .map(|r| r[k].parse().expect("a price"))
            .collect()
    };
    let volume: Vec<i64> = g[..m]
        .iter()
        .map(|r| r[5].parse().expect("a volume"))
        .collect();
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("Date", Arc::new(Date32Array::from(days))),
        ("Open", Arc::new(Float64Array::from(gcol(1)))),
        ("Close", Arc::new(Float64Array::from(gcol(4)))),
        ("Volume", Arc::new(Int64Array::from(volume))),
    ];
    seed(
        &dir,
        "goog_date32_plain.parquet",
        0,
        &parquet_bytes(columns, Compression::UNCOMPRESSED),
    );
    // GOOG's dates as strings and the prices as strings too, linear fill.
    let dates: Vec<&str> = g[..m].iter().map(|r| r[0]).collect();
    let closes: Vec<Option<&str>> = g[..m]
        .iter()
        .enumerate()
        .map(|(i, r)| (i != 3).then_some(r[4]))
        .collect();
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("ds", Arc::new(StringArray::from(dates))),
        ("Close", Arc::new(StringArray::from(closes))),
    ];
    seed(
        &dir,
        "goog_strings_snappy.parquet",
        2,
        &parquet_bytes(columns, Compression::SNAPPY),
    );
}

fn timestamp_seeds(out: &Path, etth1: &str, goog: &str) {
    let dir = out.join("timestamp");
    let mut cells = vec![
        rows(etth1).1[0][0].to_string(),
        rows(goog).1[0][0].to_string(),
    ];
    cells.extend(
        [
            "2016-07-01T00:00:00",
            "2016-07-01T01:30",
            "2016-07-01 00:00:00.250",
            "1990/1/1 0:00",
            "1990/01/01",
            "2016-07-01T02:00:00+02:00",
            "2016-07-01T00:00:00Z",
            "2016-06-30 19:00:00-0500",
            "2016-07-01 00:00:00 +0000",
            "1467331200",
            "1467331200000",
            "-86400",
        ]
        .map(String::from),
    );
    std::fs::create_dir_all(&dir).expect("create the seed directory");
    for (i, c) in cells.iter().enumerate() {
        std::fs::write(dir.join(format!("cell{i:02}.txt")), c).expect("write a seed");
    }
}

fn filter_seeds(out: &Path) {
    let dir = out.join("agentdb_filter");
    std::fs::create_dir_all(&dir).expect("create the seed directory");
    let filters = [
        json!({"op": "eq", "field": "kind", "value": "a"}),
        json!({"op": "ne", "field": "nested.a.b", "value": 3}),
        json!({"op": "gt", "field": "n", "value": 1.5}),
        json!({"op": "gte", "field": "n", "value": -1}),
        json!({"op": "lt", "field": "kind", "value": "b"}),
        json!({"op": "lte", "field": "ok", "value": true}),
        json!({"op": "in", "field": "kind", "values": ["a", "b", null, 1]}),
        json!({"op": "and", "filters": [
            {"op": "eq", "field": "kind", "value": "a"},
            {"op": "or", "filters": [
                {"op": "lt", "field": "n", "value": 2},
                {"op": "in", "field": "tags", "values": [["a", "b"]]}
            ]}
        ]}),
        json!({"op": "or", "filters": []}),
    ];
    for (i, f) in filters.iter().enumerate() {
        std::fs::write(dir.join(format!("filter{i:02}.json")), f.to_string())
            .expect("write a seed");
    }
}

fn http_seeds(out: &Path, etth1: &str) {
    let dir = out.join("http_bodies");
    let ot: Vec<f64> = rows(etth1)
        .1
        .iter()
        .map(|r| r[7].parse().expect("OT"))
        .collect();
    let history: Vec<f64> = ot.iter().cycle().take(30).copied().collect();
    let ts: Vec<i64> = (0..30).map(|i| 1_467_331_200_000 + i * 3_600_000).collect();
    let routes = nt_server::route_rules();
    for (i, rule) in routes.iter().enumerate() {
        let bodies = match (rule.method, rule.path) {
            ("POST", "/v1/models/{name}/predict") => vec![
                json!({"history": {"values": history}}),
                json!({"history": {"values": history, "timestamps": ts}, "horizon": 6, "quantiles": [0.1, 0.9], "version": 2}),
                json!({"history": {"columns": {"y": history}}}),
            ],
            ("POST", "/v1/predict/batch") => vec![json!({"items": [
                {"model": "m", "history": {"values": history}},
                {"model": "m", "history": {"values": history}, "horizon": 3, "version": 1}
            ]})],
            ("POST", "/v1/models/{name}/promote") => vec![json!({"version": 2})],
            ("POST", "/agentdb/collections") => {
                vec![
                    json!({"name": "more", "dimension": 2, "index_type": "flat", "metadata_schema": {"type": "object"}}),
                ]
            }
            ("POST", "/agentdb/collections/{c}/insert") => {
                vec![
                    json!({"id": "0b", "embedding": [0.0, 1.0, 0.0], "metadata": {"kind": "b", "n": 2}}),
                ]
            }
            ("POST", "/agentdb/collections/{c}/batch_insert") => vec![json!({"documents": [
                {"id": "0c", "embedding": [0.9, 0.1, 0.0], "metadata": {"kind": "a", "n": 3}},
                {"id": "zz", "embedding": [0.0, 0.0, 1.0]}
            ]})],
            ("POST", "/agentdb/collections/{c}/search") => vec![
                json!({"collection": "notes", "embedding": [1.0, 0.0, 0.0], "k": 2, "min_score": 0.1,
                       "filters": {"op": "eq", "field": "kind", "value": "a"}}),
            ],
            ("POST", "/agentdb/collections/{c}/query") => vec![json!({"collection": "notes",
                "filters": {"op": "gte", "field": "n", "value": 1},
                "sort_by": {"field": "n", "order": "desc"}, "limit": 2})],
            _ => vec![serde_json::Value::Null],
        };
        let pick = u8::try_from(i).expect("fewer than 256 routes");
        for (j, b) in bodies.iter().enumerate() {
            let body = if b.is_null() {
                String::new()
            } else {
                b.to_string()
            };
            let name = format!("route{i:02}_{}.json", j);
            seed(&dir, &name, pick, body.as_bytes());
        }
    }
}

fn main() {
    let data = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("../shared/data"), PathBuf::from);
    let read = |name: &str| {
        let path = data.join(name);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e} (pass the data directory)", path.display()))
    };
    let (etth1, goog) = (read("ETTh1.csv"), read("GOOG.csv"));
    let (etth1, goog) = (head(&etth1, 2048), head(&goog, 2048));
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    csv_seeds(&out, etth1, goog);
    parquet_seeds(&out, etth1, goog);
    timestamp_seeds(&out, etth1, goog);
    filter_seeds(&out);
    http_seeds(&out, etth1);
    println!("seeds written under {}", out.display());
}
