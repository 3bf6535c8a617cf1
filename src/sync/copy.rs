//! Decoder for PostgreSQL's binary COPY format, limited to what the sync asks for:
//! every column is cast in SQL to `int8`, `float8` or `text` (see [`super::tables`]),
//! so a field is 8 big-endian bytes or UTF-8 text.
//!
//! Chunks from the server split tuples anywhere; the decoder keeps the unfinished
//! tail and parses whole tuples only.

use rusqlite::types::Value;

use super::tables::Storage;

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// A malformed COPY stream.
#[derive(Debug, thiserror::Error)]
#[error("unexpected data from PostgreSQL's COPY: {0}")]
pub struct DecodeError(String);

impl DecodeError {
    /// The stream ended before its trailer (the connection was cut).
    pub fn truncated() -> Self {
        DecodeError("the stream ended before its end marker".into())
    }
}

/// Incremental decoder of one COPY stream.
pub struct CopyDecoder {
    storages: Vec<Storage>,
    buf: Vec<u8>,
    header_done: bool,
    finished: bool,
}

impl CopyDecoder {
    /// A decoder for tuples whose fields have these storage classes.
    pub fn new(storages: Vec<Storage>) -> Self {
        CopyDecoder { storages, buf: Vec::with_capacity(1 << 20), header_done: false, finished: false }
    }

    /// Whether the trailer has been seen.
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// Feeds one chunk, appending every complete tuple to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<Vec<Value>>) -> Result<(), DecodeError> {
        self.buf.extend_from_slice(chunk);
        let mut pos = 0;
        if !self.header_done {
            if self.buf.len() < SIGNATURE.len() + 8 {
                return Ok(());
            }
            if &self.buf[..SIGNATURE.len()] != SIGNATURE {
                return Err(DecodeError("missing binary COPY signature".into()));
            }
            let ext = be_u32(&self.buf[SIGNATURE.len() + 4..]) as usize;
            let header = SIGNATURE.len() + 8 + ext;
            if self.buf.len() < header {
                return Ok(());
            }
            pos = header;
            self.header_done = true;
        }
        while !self.finished {
            match self.tuple_at(pos)? {
                Some((None, next)) => {
                    self.finished = true;
                    pos = next;
                }
                Some((Some(row), next)) => {
                    out.push(row);
                    pos = next;
                }
                None => break,
            }
        }
        self.buf.drain(..pos);
        Ok(())
    }

    /// Parses the tuple at `pos`: `None` if incomplete, `Some((None, _))` for the trailer.
    #[allow(clippy::type_complexity)]
    fn tuple_at(&self, mut pos: usize) -> Result<Option<(Option<Vec<Value>>, usize)>, DecodeError> {
        let buf = &self.buf;
        if buf.len() < pos + 2 {
            return Ok(None);
        }
        let count = i16::from_be_bytes([buf[pos], buf[pos + 1]]);
        pos += 2;
        if count == -1 {
            return Ok(Some((None, pos)));
        }
        if count as usize != self.storages.len() {
            return Err(DecodeError(format!("expected {} fields, got {count}", self.storages.len())));
        }
        let mut row = Vec::with_capacity(self.storages.len());
        for storage in &self.storages {
            if buf.len() < pos + 4 {
                return Ok(None);
            }
            let len = i32::from_be_bytes([buf[pos], buf[pos + 1], buf[pos + 2], buf[pos + 3]]);
            pos += 4;
            if len < 0 {
                row.push(Value::Null);
                continue;
            }
            let len = len as usize;
            if buf.len() < pos + len {
                return Ok(None);
            }
            let field = &buf[pos..pos + len];
            pos += len;
            row.push(match storage {
                Storage::Integer => Value::Integer(i64::from_be_bytes(eight(field)?)),
                Storage::Real => Value::Real(f64::from_be_bytes(eight(field)?)),
                Storage::Text => Value::Text(
                    std::str::from_utf8(field).map_err(|e| DecodeError(format!("text is not UTF-8: {e}")))?.to_owned(),
                ),
            });
        }
        Ok(Some((Some(row), pos)))
    }
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn eight(field: &[u8]) -> Result<[u8; 8], DecodeError> {
    field.try_into().map_err(|_| DecodeError(format!("expected 8 bytes, got {}", field.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream() -> Vec<u8> {
        let mut s = SIGNATURE.to_vec();
        s.extend_from_slice(&0u32.to_be_bytes());
        s.extend_from_slice(&0u32.to_be_bytes());
        for (i, text) in [(7i64, Some("héllo")), (-1, None)] {
            s.extend_from_slice(&3i16.to_be_bytes());
            s.extend_from_slice(&8i32.to_be_bytes());
            s.extend_from_slice(&i.to_be_bytes());
            s.extend_from_slice(&8i32.to_be_bytes());
            s.extend_from_slice(&2.5f64.to_be_bytes());
            match text {
                Some(t) => {
                    s.extend_from_slice(&(t.len() as i32).to_be_bytes());
                    s.extend_from_slice(t.as_bytes());
                }
                None => s.extend_from_slice(&(-1i32).to_be_bytes()),
            }
        }
        s.extend_from_slice(&(-1i16).to_be_bytes());
        s
    }

    #[test]
    fn decodes_tuples_split_at_every_byte() {
        let data = stream();
        for split in 1..data.len() {
            let mut d = CopyDecoder::new(vec![Storage::Integer, Storage::Real, Storage::Text]);
            let mut rows = Vec::new();
            d.feed(&data[..split], &mut rows).expect("first part");
            d.feed(&data[split..], &mut rows).expect("second part");
            assert!(d.finished(), "split {split}");
            assert_eq!(
                rows,
                vec![
                    vec![Value::Integer(7), Value::Real(2.5), Value::Text("héllo".into())],
                    vec![Value::Integer(-1), Value::Real(2.5), Value::Null],
                ],
                "split {split}"
            );
        }
    }

    #[test]
    fn rejects_a_stream_without_signature() {
        let mut d = CopyDecoder::new(vec![Storage::Integer]);
        let err = d.feed(b"not a copy stream at all", &mut Vec::new()).expect_err("garbage");
        assert!(err.to_string().contains("signature"));
    }
}
