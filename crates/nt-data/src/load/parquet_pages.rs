//! A check of every page header of a Parquet file before the `parquet` crate decodes it.
//!
//! Hand-written because the crate trusts page headers: a corrupt header's sizes and value counts
//! drive its allocations (a 2.8 KB file reached 7.4 GB) and its Thrift skipping can spin for
//! minutes on a malformed header (both found by the `parquet_reader` fuzz target; inputs in
//! `fuzz/regressions/parquet_reader/`). This walk reads each header with a minimal Thrift
//! compact-protocol parser whose work is bounded by the bytes it reads (every element consumes at
//! least one byte, nesting is capped), and checks each page against its column chunk and row
//! group: sizes inside the chunk, an uncompressed size within reason, and no more values than the
//! row group has rows. A file that passes decodes in time and memory proportional to its size.

use parquet::file::metadata::ParquetMetaData;

/// Deepest nesting of Thrift structs and containers accepted in a page header.
const MAX_DEPTH: usize = 16;

/// The smallest uncompressed page size always accepted (16 MiB); above it a page may hold at
/// most [`BYTES_PER_ROW`] bytes for each row of its row group.
const PAGE_FLOOR: u64 = 16 << 20;

/// Uncompressed bytes a page may hold per row of its row group above [`PAGE_FLOOR`].
const BYTES_PER_ROW: u64 = 1024;

/// The fields of a page header the check needs.
#[derive(Debug, Default, Clone, Copy)]
struct PageHeader {
    page_type: Option<i64>,
    uncompressed: Option<i64>,
    compressed: Option<i64>,
    /// `num_values` of the data (v1 or v2) or dictionary page header.
    num_values: Option<i64>,
}

/// Checks every page of every column chunk of `file` (the whole file's bytes) against `meta`;
/// the error says which row group, column and offset is wrong.
pub(crate) fn check_pages(file: &[u8], meta: &ParquetMetaData) -> Result<(), String> {
    let len = file.len() as u64;
    for (r, group) in meta.row_groups().iter().enumerate() {
        let rows = u64::try_from(group.num_rows()).unwrap_or(0);
        let page_cap = PAGE_FLOOR.max(rows.saturating_mul(BYTES_PER_ROW));
        for c in group.columns() {
            let column = c.column_path().to_string();
            let bad = |offset: u64, why: String| {
                format!(
                    "row group {r}, column `{column}`, page at byte {offset}: {why} (corrupt file)"
                )
            };
            let start = c
                .dictionary_page_offset()
                .filter(|d| *d > 0)
                .unwrap_or(c.data_page_offset());
            let (Ok(start), Ok(size)) = (u64::try_from(start), u64::try_from(c.compressed_size()))
            else {
                return Err(bad(0, "negative offset or size in the footer".into()));
            };
            let end = start
                .checked_add(size)
                .filter(|e| *e <= len)
                .ok_or_else(|| {
                    bad(
                        start,
                        format!("the column chunk ends past the file's {len} bytes"),
                    )
                })?;
            // Flat columns hold one value per row; nested ones count levels, unbounded here.
            let flat = c.column_descr().max_rep_level() == 0;
            let mut pos = start;
            let mut values = 0u64;
            while pos < end {
                let bytes = &file[pos as usize..end as usize];
                let (header, header_len) =
                    read_page_header(bytes).map_err(|e| bad(pos, format!("page header: {e}")))?;
                let field = |v: Option<i64>, name: &str| {
                    v.and_then(|x| u64::try_from(x).ok())
                        .ok_or_else(|| bad(pos, format!("missing or negative {name}")))
                };
                let page_type = field(header.page_type, "page type")?;
                let compressed = field(header.compressed, "compressed size")?;
                let uncompressed = field(header.uncompressed, "uncompressed size")?;
                if page_type > 3 {
                    return Err(bad(pos, format!("unknown page type {page_type}")));
                }
                if uncompressed > page_cap {
                    return Err(bad(
                        pos,
                        format!(
                            "{uncompressed} uncompressed bytes for a row group of {rows} rows (at most {page_cap})"
                        ),
                    ));
                }
                let next = pos
                    .checked_add(header_len as u64)
                    .and_then(|p| p.checked_add(compressed))
                    .filter(|p| *p <= end)
                    .ok_or_else(|| bad(pos, "the page runs past its column chunk".into()))?;
                // Data pages (0, 3) and dictionary pages (2) carry a value count.
                if page_type != 1 {
                    let n = field(header.num_values, "value count")?;
                    if flat && n > rows {
                        return Err(bad(
                            pos,
                            format!("{n} values in a row group of {rows} rows"),
                        ));
                    }
                    if page_type != 2 {
                        values = values.saturating_add(n);
                        if flat && values > rows {
                            return Err(bad(
                                pos,
                                format!("{values} values so far in a row group of {rows} rows"),
                            ));
                        }
                    }
                }
                pos = next;
            }
        }
    }
    Ok(())
}

/// Reads a page header (a Thrift compact-protocol struct) at the start of `bytes`: the fields
/// the check needs and the header's length in bytes.
fn read_page_header(bytes: &[u8]) -> Result<(PageHeader, usize), String> {
    let mut r = Reader { bytes, pos: 0 };
    let mut header = PageHeader::default();
    let mut last_id = 0i64;
    while let Some((ty, id)) = r.field_header(&mut last_id)? {
        match (id, ty) {
            (1, 5) => header.page_type = Some(r.zigzag()?),
            (2, 5) => header.uncompressed = Some(r.zigzag()?),
            (3, 5) => header.compressed = Some(r.zigzag()?),
            // data_page_header, dictionary_page_header, data_page_header_v2: num_values is
            // field 1 of each.
            (5 | 7 | 8, 12) => header.num_values = Some(r.struct_first_i32(1)?),
            _ => r.skip(ty, 1)?,
        }
    }
    Ok((header, r.pos))
}

/// A cursor over a Thrift compact-protocol byte string.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, String> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| "truncated".to_string())?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: u64) -> Result<(), String> {
        let left = (self.bytes.len() - self.pos) as u64;
        if n > left {
            return Err(format!("a length of {n} with {left} bytes left"));
        }
        self.pos += n as usize;
        Ok(())
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            if shift == 63 && b > 1 {
                return Err("varint overflows 64 bits".into());
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("varint longer than 10 bytes".into())
    }

    fn zigzag(&mut self) -> Result<i64, String> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    /// The next field's `(type, id)`, or `None` at the struct's stop byte.
    fn field_header(&mut self, last_id: &mut i64) -> Result<Option<(u8, i64)>, String> {
        let b = self.byte()?;
        if b == 0 {
            return Ok(None);
        }
        let ty = b & 0x0f;
        let delta = i64::from(b >> 4);
        let id = if delta == 0 {
            self.zigzag()?
        } else {
            *last_id + delta
        };
        *last_id = id;
        Ok(Some((ty, id)))
    }

    /// Field `want` (an i32) of the struct starting here; the rest of the struct is skipped.
    fn struct_first_i32(&mut self, want: i64) -> Result<i64, String> {
        let mut last_id = 0i64;
        let mut found = None;
        while let Some((ty, id)) = self.field_header(&mut last_id)? {
            if id == want && ty == 5 {
                found = Some(self.zigzag()?);
            } else {
                self.skip(ty, 2)?;
            }
        }
        found.ok_or_else(|| format!("no field {want} (num_values) in a page's header"))
    }

    /// Skips one value of compact type `ty` at nesting `depth`.
    fn skip(&mut self, ty: u8, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("nested too deeply".into());
        }
        match ty {
            // Booleans live in the field header.
            1 | 2 => Ok(()),
            3 => self.take(1),
            4..=6 => self.varint().map(|_| ()),
            7 => self.take(8),
            8 => {
                let n = self.varint()?;
                self.take(n)
            }
            9 | 10 => {
                let h = self.byte()?;
                let elem = h & 0x0f;
                let n = match h >> 4 {
                    15 => self.varint()?,
                    n => u64::from(n),
                };
                self.elements(n, 1)?;
                for _ in 0..n {
                    self.skip_element(elem, depth + 1)?;
                }
                Ok(())
            }
            11 => {
                let n = self.varint()?;
                if n == 0 {
                    return Ok(());
                }
                let kv = self.byte()?;
                self.elements(n, 2)?;
                for _ in 0..n {
                    self.skip_element(kv >> 4, depth + 1)?;
                    self.skip_element(kv & 0x0f, depth + 1)?;
                }
                Ok(())
            }
            12 => {
                let mut last_id = 0i64;
                while let Some((t, _)) = self.field_header(&mut last_id)? {
                    self.skip(t, depth + 1)?;
                }
                Ok(())
            }
            other => Err(format!("unknown Thrift type {other}")),
        }
    }

    /// Skips a container element: booleans take a byte there.
    fn skip_element(&mut self, ty: u8, depth: usize) -> Result<(), String> {
        match ty {
            1 | 2 => self.take(1),
            other => self.skip(other, depth),
        }
    }

    /// Refuses a container of `n` elements of at least `min_bytes` each that cannot fit in the
    /// bytes left: the bound that keeps the walk linear in the header's length.
    fn elements(&self, n: u64, min_bytes: u64) -> Result<(), String> {
        let left = (self.bytes.len() - self.pos) as u64;
        if n.saturating_mul(min_bytes) > left {
            return Err(format!("{n} elements with {left} bytes left"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compact-protocol page header: type, sizes, and a data page header with num_values.
    fn header(page_type: i64, uncompressed: i64, compressed: i64, num_values: i64) -> Vec<u8> {
        fn zz(v: i64) -> Vec<u8> {
            let mut u = ((v << 1) ^ (v >> 63)) as u64;
            let mut out = Vec::new();
            loop {
                let b = (u & 0x7f) as u8;
                u >>= 7;
                if u == 0 {
                    out.push(b);
                    return out;
                }
                out.push(b | 0x80);
            }
        }
        let mut h = vec![0x15];
        h.extend(zz(page_type));
        h.push(0x15);
        h.extend(zz(uncompressed));
        h.push(0x15);
        h.extend(zz(compressed));
        // Field 5 (delta 2 from 3), a struct; inside: field 1 i32 num_values, then encodings.
        h.push(0x2c);
        h.push(0x15);
        h.extend(zz(num_values));
        h.push(0);
        h.push(0);
        h
    }

    #[test]
    fn a_header_is_read_with_its_length() {
        let h = header(0, 100, 40, 12);
        let (p, len) = read_page_header(&h).unwrap();
        assert_eq!(len, h.len());
        assert_eq!(
            (p.page_type, p.uncompressed, p.compressed, p.num_values),
            (Some(0), Some(100), Some(40), Some(12))
        );
    }

    #[test]
    fn malformed_headers_fail_fast() {
        // Truncated, an endless varint, a list claiming more elements than bytes, deep nesting.
        assert!(read_page_header(&header(0, 100, 40, 12)[..5]).is_err());
        assert!(read_page_header(&[
            0x15, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
        ])
        .is_err());
        assert!(read_page_header(&[0x49, 0xf1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]).is_err());
        let mut deep = vec![0x4c; 64];
        deep.extend([0u8; 64]);
        assert!(read_page_header(&deep).is_err());
    }
}
