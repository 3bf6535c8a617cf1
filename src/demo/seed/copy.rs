//! Bulk loading with `COPY … FROM STDIN` in PostgreSQL's text format.
//!
//! A [`Copier`] encodes one row at a time into a buffer (tab-separated, `\N` for NULL,
//! backslash escapes for `\`, tab, newline and carriage return) and ships it to the
//! server in ~1 MiB chunks, so a million-row table never sits in memory. It reports
//! progress every 10,000 rows and records the final row count in the report.

use std::io::Write as _;

use chrono::{Datelike, Timelike};
use sqlx::postgres::{PgConnection, PgCopyIn};
use uuid::Uuid;

use super::random::Ts;
use super::{SeedError, SeedProgress};

/// The progress callback [`super::seed`] receives.
pub(super) type ProgressFn<'a> = dyn Fn(SeedProgress) + Send + Sync + 'a;

/// Size at which the buffer is sent to the server.
const CHUNK: usize = 1 << 20;

/// How often progress is reported.
const REPORT_EVERY: u64 = 10_000;

/// One running `COPY` into one table.
pub(super) struct Copier<'a> {
    copy: PgCopyIn<&'a mut PgConnection>,
    buf: Vec<u8>,
    step: &'static str,
    rows: u64,
    total: u64,
    in_row: bool,
    progress: &'a ProgressFn<'a>,
}

/// Wraps a driver error with the table (or step) that failed.
pub(super) fn db_err(table: &str) -> impl FnOnce(sqlx::Error) -> SeedError + '_ {
    move |source| SeedError::Database { table: table.to_string(), source }
}

impl<'a> Copier<'a> {
    /// Starts `COPY <table> (<columns>) FROM STDIN` where `step` is `db.table`
    /// (e.g. `oltp.auth.sessions`) and `total` the number of rows that will follow.
    pub(super) async fn start(
        conn: &'a mut PgConnection,
        progress: &'a ProgressFn<'a>,
        step: &'static str,
        columns: &str,
        total: u64,
    ) -> Result<Copier<'a>, SeedError> {
        let table = step.split_once('.').map_or(step, |(_, t)| t);
        let sql = format!("COPY {table} ({columns}) FROM STDIN");
        let copy = conn.copy_in_raw(&sql).await.map_err(db_err(step))?;
        progress(SeedProgress { step, done: 0, total });
        Ok(Copier { copy, buf: Vec::with_capacity(CHUNK + 64 * 1024), step, rows: 0, total, in_row: false, progress })
    }

    fn sep(&mut self) {
        if self.in_row {
            self.buf.push(b'\t');
        } else {
            self.in_row = true;
        }
    }

    /// A text value, escaped for the text format.
    pub(super) fn text(&mut self, value: &str) -> &mut Self {
        self.sep();
        escape_into(&mut self.buf, value);
        self
    }

    /// A text value or NULL.
    pub(super) fn opt_text(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.text(v),
            None => self.null(),
        }
    }

    /// NULL.
    pub(super) fn null(&mut self) -> &mut Self {
        self.sep();
        self.buf.extend_from_slice(b"\\N");
        self
    }

    /// A UUID.
    pub(super) fn uuid(&mut self, id: Uuid) -> &mut Self {
        self.sep();
        let mut tmp = [0u8; uuid::fmt::Hyphenated::LENGTH];
        self.buf.extend_from_slice(id.hyphenated().encode_lower(&mut tmp).as_bytes());
        self
    }

    /// A UUID or NULL.
    pub(super) fn opt_uuid(&mut self, id: Option<Uuid>) -> &mut Self {
        match id {
            Some(v) => self.uuid(v),
            None => self.null(),
        }
    }

    /// An integer.
    pub(super) fn int(&mut self, value: i64) -> &mut Self {
        self.sep();
        push_int(&mut self.buf, value);
        self
    }

    /// An integer or NULL.
    pub(super) fn opt_int(&mut self, value: Option<i64>) -> &mut Self {
        match value {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    /// A boolean.
    pub(super) fn bool(&mut self, value: bool) -> &mut Self {
        self.sep();
        self.buf.push(if value { b't' } else { b'f' });
        self
    }

    /// A DECIMAL amount given in minor units (`9900` → `99.00`).
    pub(super) fn cents(&mut self, cents: i64) -> &mut Self {
        self.sep();
        if cents < 0 {
            self.buf.push(b'-');
        }
        let c = cents.unsigned_abs();
        push_int(&mut self.buf, (c / 100) as i64);
        self.buf.push(b'.');
        push2(&mut self.buf, (c % 100) as u32);
        self
    }

    /// A timestamp with time zone (UTC, microsecond precision).
    pub(super) fn ts(&mut self, t: Ts) -> &mut Self {
        self.sep();
        push_ts(&mut self.buf, t);
        self
    }

    /// A timestamp or NULL.
    pub(super) fn opt_ts(&mut self, t: Option<Ts>) -> &mut Self {
        match t {
            Some(v) => self.ts(v),
            None => self.null(),
        }
    }

    /// An INTERVAL given in milliseconds (`HH:MM:SS.mmm`).
    pub(super) fn interval_ms(&mut self, ms: u64) -> &mut Self {
        self.sep();
        let secs = ms / 1000;
        push_int(&mut self.buf, (secs / 3600) as i64);
        self.buf.push(b':');
        push2(&mut self.buf, ((secs / 60) % 60) as u32);
        self.buf.push(b':');
        push2(&mut self.buf, (secs % 60) as u32);
        // Infallible: writing into a Vec.
        let _ = write!(self.buf, ".{:03}", ms % 1000);
        self
    }

    /// A JSONB value.
    pub(super) fn json(&mut self, value: &serde_json::Value) -> &mut Self {
        let s = value.to_string();
        self.text(&s)
    }

    /// A JSONB value or NULL.
    pub(super) fn opt_json(&mut self, value: Option<&serde_json::Value>) -> &mut Self {
        match value {
            Some(v) => self.json(v),
            None => self.null(),
        }
    }

    /// A one-element TEXT[] of a plain word (`{owner}`).
    pub(super) fn word_array(&mut self, word: &str) -> &mut Self {
        debug_assert!(word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        self.sep();
        self.buf.push(b'{');
        self.buf.extend_from_slice(word.as_bytes());
        self.buf.push(b'}');
        self
    }

    /// Ends the current row; ships the buffer when it is full and reports progress.
    pub(super) async fn end(&mut self) -> Result<(), SeedError> {
        self.buf.push(b'\n');
        self.in_row = false;
        self.rows += 1;
        if self.buf.len() >= CHUNK {
            self.flush().await?;
        }
        if self.rows % REPORT_EVERY == 0 {
            (self.progress)(SeedProgress { step: self.step, done: self.rows, total: self.total.max(self.rows) });
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), SeedError> {
        if !self.buf.is_empty() {
            self.copy.send(self.buf.as_slice()).await.map_err(db_err(self.step))?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Sends what is left, ends the COPY and records `(step, rows)` in `report`.
    pub(super) async fn finish(mut self, report: &mut Vec<(String, u64)>) -> Result<u64, SeedError> {
        debug_assert!(!self.in_row, "finish() called in the middle of a row");
        self.flush().await?;
        let step = self.step;
        let progress = self.progress;
        let rows = self.copy.finish().await.map_err(db_err(step))?;
        progress(SeedProgress { step, done: rows, total: rows });
        report.push((step.to_string(), rows));
        Ok(rows)
    }
}

/// Escapes `value` for COPY's text format.
fn escape_into(buf: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    if !bytes.iter().any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r')) {
        buf.extend_from_slice(bytes);
        return;
    }
    for &b in bytes {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            _ => buf.push(b),
        }
    }
}

fn push_int(buf: &mut Vec<u8>, value: i64) {
    // Infallible: writing into a Vec.
    let _ = write!(buf, "{value}");
}

fn push2(buf: &mut Vec<u8>, v: u32) {
    buf.push(b'0' + (v / 10 % 10) as u8);
    buf.push(b'0' + (v % 10) as u8);
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]+00`, written without the formatting machinery (the
/// payments table alone needs four million of these at scale 10).
fn push_ts(buf: &mut Vec<u8>, t: Ts) {
    let year = t.year();
    if (1000..=9999).contains(&year) {
        let y = year as u32;
        push2(buf, y / 100);
        push2(buf, y % 100);
    } else {
        push_int(buf, i64::from(year));
    }
    buf.push(b'-');
    push2(buf, t.month());
    buf.push(b'-');
    push2(buf, t.day());
    buf.push(b' ');
    push2(buf, t.hour());
    buf.push(b':');
    push2(buf, t.minute());
    buf.push(b':');
    push2(buf, t.second());
    let micros = t.timestamp_subsec_micros().min(999_999);
    if micros != 0 {
        buf.push(b'.');
        push2(buf, micros / 10_000);
        push2(buf, micros / 100 % 100);
        push2(buf, micros % 100);
    }
    buf.extend_from_slice(b"+00");
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn escapes_specials() {
        let mut buf = Vec::new();
        escape_into(&mut buf, "a\\b\tc\nd\re");
        assert_eq!(buf, b"a\\\\b\\tc\\nd\\re");
    }

    #[test]
    fn formats_timestamps() {
        let mut buf = Vec::new();
        let t = Utc.with_ymd_and_hms(2026, 1, 5, 3, 4, 5).single().expect("valid date");
        push_ts(&mut buf, t);
        assert_eq!(buf, b"2026-01-05 03:04:05+00");
        buf.clear();
        push_ts(&mut buf, t + chrono::TimeDelta::microseconds(1234));
        assert_eq!(buf, b"2026-01-05 03:04:05.001234+00");
    }

    use chrono::Utc;
}
