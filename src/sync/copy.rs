//! Decoder for PostgreSQL's binary COPY format, limited to the simple types the sync
//! receives raw (see [`Wire`]); everything else is cast in SQL to `int8`, `float8` or
//! `text` before it is sent.
//!
//! Chunks from the server split tuples anywhere; the decoder keeps the unfinished
//! tail and parses whole tuples only.

use rusqlite::types::Value;

use super::tables::Wire;

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
    wires: Vec<Wire>,
    buf: Vec<u8>,
    header_done: bool,
    finished: bool,
}

impl CopyDecoder {
    /// A decoder for tuples whose fields arrive as `wires`.
    pub fn new(wires: Vec<Wire>) -> Self {
        CopyDecoder { wires, buf: Vec::with_capacity(1 << 20), header_done: false, finished: false }
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
        if count as usize != self.wires.len() {
            return Err(DecodeError(format!("expected {} fields, got {count}", self.wires.len())));
        }
        let mut row = Vec::with_capacity(self.wires.len());
        for wire in &self.wires {
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
            row.push(decode(*wire, field)?);
        }
        Ok(Some((Some(row), pos)))
    }
}

fn decode(wire: Wire, field: &[u8]) -> Result<Value, DecodeError> {
    Ok(match wire {
        Wire::Int2 => Value::Integer(i16::from_be_bytes(fixed(field)?) as i64),
        Wire::Int4 => Value::Integer(i32::from_be_bytes(fixed(field)?) as i64),
        Wire::Int8 => Value::Integer(i64::from_be_bytes(fixed(field)?)),
        Wire::Bool => Value::Integer(i64::from(field.first().copied().unwrap_or(0) != 0)),
        Wire::Float4 => Value::Real(f32::from_be_bytes(fixed(field)?) as f64),
        Wire::Float8 => Value::Real(f64::from_be_bytes(fixed(field)?)),
        Wire::Uuid => Value::Text(uuid::Uuid::from_bytes(fixed(field)?).hyphenated().to_string()),
        Wire::Timestamptz => Value::Text(timestamp(i64::from_be_bytes(fixed(field)?), "Z")),
        Wire::Timestamp => Value::Text(timestamp(i64::from_be_bytes(fixed(field)?), "")),
        Wire::Date => Value::Text(date(i32::from_be_bytes(fixed(field)?))),
        Wire::Jsonb => Value::Text(utf8(field.get(1..).unwrap_or_default())?),
        Wire::Text => Value::Text(utf8(field)?),
    })
}

fn utf8(b: &[u8]) -> Result<String, DecodeError> {
    std::str::from_utf8(b).map(str::to_owned).map_err(|e| DecodeError(format!("text is not UTF-8: {e}")))
}

fn fixed<const N: usize>(field: &[u8]) -> Result<[u8; N], DecodeError> {
    field.try_into().map_err(|_| DecodeError(format!("expected {N} bytes, got {}", field.len())))
}

/// Days since 2000-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant's
/// civil-from-days).
fn civil(days_since_2000: i64) -> (i64, u32, u32) {
    let z = days_since_2000 + 10_957 + 719_468; // to days since 0000-03-01
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn date(days: i32) -> String {
    match days {
        i32::MAX => "infinity".into(),
        i32::MIN => "-infinity".into(),
        _ => {
            let (y, m, d) = civil(i64::from(days));
            format!("{y:04}-{m:02}-{d:02}")
        }
    }
}

/// Microseconds since 2000-01-01 → `YYYY-MM-DDTHH:MM:SS.ffffff` + `zone`, the same
/// text PostgreSQL's `to_char(…, 'YYYY-MM-DD"T"HH24:MI:SS.US')` gives.
fn timestamp(us: i64, zone: &str) -> String {
    match us {
        i64::MAX => return "infinity".into(),
        i64::MIN => return "-infinity".into(),
        _ => {}
    }
    let days = us.div_euclid(86_400_000_000);
    let rest = us.rem_euclid(86_400_000_000);
    let (y, m, d) = civil(days);
    let secs = rest / 1_000_000;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}{zone}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        rest % 1_000_000
    )
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
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
            let mut d = CopyDecoder::new(vec![Wire::Int8, Wire::Float8, Wire::Text]);
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
    fn formats_dates_and_times_like_postgres() {
        assert_eq!(timestamp(0, "Z"), "2000-01-01T00:00:00.000000Z");
        // 2026-11-22 02:35:46.914808 UTC
        assert_eq!(timestamp(848_630_146_914_808, "Z"), "2026-11-22T02:35:46.914808Z");
        assert_eq!(timestamp(-1, ""), "1999-12-31T23:59:59.999999");
        assert_eq!(date(-730_119), "0001-01-01");
        assert_eq!(date(10_651), "2029-02-28");
        assert_eq!(date(10_652), "2029-03-01");
        assert_eq!(date(60), "2000-03-01"); // 2000 is a leap year: Feb 29 exists
    }

    #[test]
    fn rejects_a_stream_without_signature() {
        let mut d = CopyDecoder::new(vec![Wire::Int8]);
        let err = d.feed(b"not a copy stream at all", &mut Vec::new()).expect_err("garbage");
        assert!(err.to_string().contains("signature"));
    }
}
