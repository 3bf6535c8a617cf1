//! The cache writer: a dedicated thread that owns the SQLite connection for the
//! duration of one sync and applies everything in a single transaction.
//!
//! The async side sends [`Msg`]s through a bounded channel (back-pressure keeps memory
//! flat). Nothing is committed until [`Writer::finish`]; if the channel closes without
//! it (error, cancel, panic, kill), the transaction is rolled back.

use std::path::PathBuf;

use rusqlite::types::Value;
use rusqlite::{params, OptionalExtension, Transaction};
use tokio::sync::{mpsc, oneshot};

use super::tables::{Shape, SourceTable};
use super::{Mode, SyncError, TableReport};
use crate::cache::{self, quote, CacheError};
use crate::central::DbKind;

/// A message to the writer.
pub(super) enum Msg {
    /// A table begins.
    Start { table: String, db: DbKind, shape: Shape, mode: Mode },
    /// Rows of the current table (for incremental: pk JSON, present flag, columns).
    Rows(Vec<Vec<Value>>),
    /// The current table is complete as of this snapshot.
    End { snapshot: String, as_of: String },
    /// Records `value` under `key` in `_sync_meta`, in the same transaction.
    Meta { key: &'static str, value: String },
    /// Commit everything.
    Finish(oneshot::Sender<Result<Vec<TableReport>, CacheError>>),
}

/// Handle to the writer thread.
pub(super) struct Writer {
    tx: mpsc::Sender<Msg>,
    thread: std::thread::JoinHandle<Result<(), CacheError>>,
}

impl Writer {
    /// Starts the writer on `path`.
    pub(super) fn start(path: PathBuf) -> Writer {
        let (tx, rx) = mpsc::channel(8);
        let thread = std::thread::Builder::new()
            .name("cache-writer".into())
            .spawn(move || run(path, rx))
            .expect("spawning the cache writer thread");
        Writer { tx, thread }
    }

    /// Sends a message; if the writer died, returns its error.
    pub(super) async fn send(&self, msg: Msg) -> Result<(), SyncError> {
        if self.tx.send(msg).await.is_err() {
            return Err(SyncError::Cache(CacheError::Sql {
                context: "writing (the writer stopped)".into(),
                source: rusqlite::Error::InvalidQuery,
            }));
        }
        Ok(())
    }

    /// Drops everything written so far.
    pub(super) fn abort(self) {
        drop(self.tx);
        let _ = self.thread.join();
    }

    /// Commits and returns the per-table reports.
    pub(super) async fn finish(self) -> Result<Vec<TableReport>, SyncError> {
        let (done_tx, done_rx) = oneshot::channel();
        let sent = self.tx.send(Msg::Finish(done_tx)).await.is_ok();
        drop(self.tx);
        let joined = tokio::task::spawn_blocking(move || self.thread.join()).await;
        let thread_result = match joined {
            Ok(Ok(r)) => r,
            _ => Err(CacheError::Sql {
                context: "writing (the writer panicked)".into(),
                source: rusqlite::Error::InvalidQuery,
            }),
        };
        thread_result?;
        if !sent {
            return Err(SyncError::Cache(CacheError::Sql {
                context: "committing".into(),
                source: rusqlite::Error::InvalidQuery,
            }));
        }
        match done_rx.await {
            Ok(r) => Ok(r?),
            Err(_) => Err(SyncError::Cache(CacheError::Sql {
                context: "committing".into(),
                source: rusqlite::Error::InvalidQuery,
            })),
        }
    }
}

struct Current {
    table: String,
    db: DbKind,
    shape: Shape,
    mode: Mode,
    written: u64,
    deleted: u64,
    /// Rows an incremental sync added (keys the cache did not hold).
    added: u64,
    started: std::time::Instant,
}

/// The page cache of a first sync's connection, KiB.
const FIRST_SYNC_CACHE_KIB: i64 = 512 * 1024;

fn run(path: PathBuf, mut rx: mpsc::Receiver<Msg>) -> Result<(), CacheError> {
    let mut conn = cache::open_write(&path)?;
    // A first sync has no readers to keep serving: a rollback journal avoids writing
    // every page twice (WAL, then checkpoint). WAL is switched back on after commit.
    let first: bool = conn
        .query_row("SELECT NOT EXISTS (SELECT 1 FROM _sync_tables)", [], |r| r.get(0))
        .map_err(CacheError::sql("reading sync state"))?;
    if first {
        conn.pragma_update(None, "journal_mode", "DELETE").map_err(CacheError::sql("setting the journal mode"))?;
        // Every page written is encrypted; a page cache that holds the indexes being built
        // keeps pages from being encrypted, evicted and decrypted again (this connection
        // only, for this one write).
        conn.pragma_update(None, "cache_size", -FIRST_SYNC_CACHE_KIB)
            .map_err(CacheError::sql("sizing the page cache"))?;
    }
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(CacheError::sql("starting the write"))?;
    let mut current: Option<Current> = None;
    let mut reports = Vec::new();
    while let Some(msg) = rx.blocking_recv() {
        match msg {
            Msg::Start { table, db, shape, mode } => {
                if mode == Mode::Full {
                    recreate(&tx, &table, &shape)?;
                }
                current = Some(Current {
                    table,
                    db,
                    shape,
                    mode,
                    written: 0,
                    deleted: 0,
                    added: 0,
                    started: std::time::Instant::now(),
                });
            }
            Msg::Rows(rows) => {
                let cur = current.as_mut().expect("Rows after Start");
                apply_rows(&tx, cur, rows)?;
            }
            Msg::End { snapshot, as_of } => {
                let cur = current.take().expect("End after Start");
                if cur.mode == Mode::Full {
                    let t = std::time::Instant::now();
                    build_indexes(&tx, &cur.table, &cur.shape)?;
                    tracing::debug!(table = %cur.table, ms = t.elapsed().as_millis() as u64, "indexes built");
                }
                // Counted as rows are applied, not with count(*): counting a large table
                // (every page decrypted) would make each sync's cost grow with the cache.
                let rows: i64 = if cur.mode == Mode::Full {
                    cur.written as i64
                } else {
                    let before: i64 = tx
                        .query_row("SELECT rows FROM _sync_tables WHERE cache_table = ?1", [&cur.table], |r| r.get(0))
                        .optional()
                        .map_err(CacheError::sql(format!("counting {}", cur.table)))?
                        .unwrap_or(0);
                    before + cur.added as i64 - cur.deleted as i64
                };
                let source = SourceTable::by_cache_name(&cur.table).map(|s| s.qualified()).unwrap_or_default();
                tx.execute(
                    "INSERT OR REPLACE INTO _sync_tables (cache_table, db, source, shape, snapshot, as_of, rows, synced_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                    params![
                        cur.table,
                        cur.db.key(),
                        source,
                        serde_json::to_string(&cur.shape).unwrap_or_default(),
                        snapshot,
                        as_of,
                        rows
                    ],
                )
                .map_err(CacheError::sql("recording sync state"))?;
                reports.push(TableReport {
                    table: cur.table,
                    db: cur.db,
                    mode: cur.mode,
                    rows_written: cur.written,
                    rows_deleted: cur.deleted,
                    rows_in_cache: rows as u64,
                    duration_ms: cur.started.elapsed().as_millis() as u64,
                });
            }
            Msg::Meta { key, value } => {
                tx.execute(
                    "INSERT INTO _sync_meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [key, value.as_str()],
                )
                .map_err(CacheError::sql("recording sync state"))?;
            }
            Msg::Finish(reply) => {
                let result = finish(tx, &reports).and_then(|()| {
                    conn.pragma_update(None, "journal_mode", "WAL").map_err(CacheError::sql("setting the journal mode"))
                });
                let outcome = result.map(|()| std::mem::take(&mut reports));
                let _ = reply.send(outcome);
                return Ok(());
            }
        }
    }
    // Channel closed without Finish: dropping `tx` rolls back.
    Ok(())
}

fn finish(tx: Transaction<'_>, reports: &[TableReport]) -> Result<(), CacheError> {
    let t = std::time::Instant::now();
    let changed: Vec<&str> = reports.iter().filter(|r| r.mode != Mode::Unchanged).map(|r| r.table.as_str()).collect();
    crate::tenants::refresh_derived(&tx, &changed)?;
    tracing::debug!(ms = t.elapsed().as_millis() as u64, "derived tables rebuilt");
    let t = std::time::Instant::now();
    tx.commit().map_err(CacheError::sql("committing"))?;
    tracing::debug!(ms = t.elapsed().as_millis() as u64, "committed");
    Ok(())
}

fn recreate(tx: &Transaction<'_>, table: &str, shape: &Shape) -> Result<(), CacheError> {
    let cols: Vec<String> =
        shape.columns.iter().map(|c| format!("{} {}", quote(&c.name), c.storage.sqlite_type())).collect();
    tx.execute_batch(&format!("DROP TABLE IF EXISTS {t}; CREATE TABLE {t} ({});", cols.join(", "), t = quote(table)))
        .map_err(CacheError::sql(format!("creating {table}")))
}

fn build_indexes(tx: &Transaction<'_>, table: &str, shape: &Shape) -> Result<(), CacheError> {
    let pk: Vec<String> = shape.pk.iter().map(|c| quote(c)).collect();
    tx.execute_batch(&format!(
        "CREATE UNIQUE INDEX {} ON {} ({});",
        quote(&format!("{table}__pk")),
        quote(table),
        pk.join(", ")
    ))
    .map_err(CacheError::sql(format!("indexing {table}")))?;
    for (name, cols) in crate::cache::read_indexes(table) {
        // An index on columns the platform does not have is skipped.
        if cols.iter().all(|c| shape.column(c).is_some()) {
            let cols: Vec<String> = cols.iter().map(|c| quote(c)).collect();
            tx.execute_batch(&format!("CREATE INDEX {} ON {} ({});", quote(name), quote(table), cols.join(", ")))
                .map_err(CacheError::sql(format!("indexing {table}")))?;
        }
    }
    Ok(())
}

/// Rows per multi-row INSERT of a full reload (fewer statement executions per row).
const ROWS_PER_INSERT: usize = 32;

fn apply_rows(tx: &Transaction<'_>, cur: &mut Current, rows: Vec<Vec<Value>>) -> Result<(), CacheError> {
    let names: Vec<String> = cur.shape.columns.iter().map(|c| quote(&c.name)).collect();
    let one = format!("({})", vec!["?"; names.len()].join(", "));
    let verb = if cur.mode == Mode::Full { "INSERT" } else { "INSERT OR REPLACE" };
    let insert_sql = |n: usize| {
        format!("{verb} INTO {} ({}) VALUES {}", quote(&cur.table), names.join(", "), vec![one.as_str(); n].join(", "))
    };
    let writing = || CacheError::sql(format!("writing {}", cur.table));
    if cur.mode == Mode::Full {
        cur.written += rows.len() as u64;
        let mut many = tx.prepare_cached(&insert_sql(ROWS_PER_INSERT)).map_err(writing())?;
        let mut chunks = rows.chunks_exact(ROWS_PER_INSERT);
        for chunk in &mut chunks {
            many.execute(rusqlite::params_from_iter(chunk.iter().flatten())).map_err(writing())?;
        }
        let mut single = tx.prepare_cached(&insert_sql(1)).map_err(writing())?;
        for row in chunks.remainder() {
            single.execute(rusqlite::params_from_iter(row.iter())).map_err(writing())?;
        }
        return Ok(());
    }
    let mut insert = tx.prepare_cached(&insert_sql(1)).map_err(writing())?;
    let cond: Vec<String> =
        cur.shape.pk.iter().enumerate().map(|(i, k)| format!("{} = json_extract(?1, '$[{i}]')", quote(k))).collect();
    let delete = format!("DELETE FROM {} WHERE {}", quote(&cur.table), cond.join(" AND "));
    let mut delete = tx.prepare_cached(&delete).map_err(CacheError::sql(format!("deleting from {}", cur.table)))?;
    let held = format!("SELECT EXISTS (SELECT 1 FROM {} WHERE {})", quote(&cur.table), cond.join(" AND "));
    let mut held = tx.prepare_cached(&held).map_err(CacheError::sql(format!("reading {}", cur.table)))?;
    for row in rows {
        let mut values = row.into_iter();
        let pk = values.next().unwrap_or(Value::Null);
        let present = matches!(values.next(), Some(Value::Integer(1)));
        if present {
            let known: bool = held.query_row([&pk], |r| r.get(0)).map_err(writing())?;
            insert.execute(rusqlite::params_from_iter(values)).map_err(writing())?;
            cur.written += 1;
            cur.added += u64::from(!known);
        } else {
            cur.deleted +=
                delete.execute([pk]).map_err(CacheError::sql(format!("deleting from {}", cur.table)))? as u64;
        }
    }
    Ok(())
}
