//! Sync: the platform's PostgreSQL databases → the local SQLite cache.
//!
//! ## Through the role-scoped views
//! The sync reads, as the signed-in staff member ([`Session`]), the role-scoped view of
//! each table (`penguin_console_api.<cache table>`, see [`policy`]) and the change log's
//! view, never the tables: the cache of a support agent is filled with masked values and
//! only the tenants they may see. What a role may see can change without any row
//! changing (a support grant opens or ends, a role gains `pii.view`): the scope is part
//! of each table's recorded [`Shape`], so a change of scope reloads the table, and rows
//! that left the scope leave the cache.
//!
//! ## Correctness
//! `updated > last_sync` loses rows written by a transaction that started before a
//! sync and committed after it. Instead, `install` puts statement-level triggers on
//! every cached table that record each changed primary key in
//! `penguin_console.sync_changes`, stamped with the writing transaction's id
//! (`pg_current_xact_id()`). Each sync reads every database inside one
//! `REPEATABLE READ` transaction and records its `pg_current_snapshot()`. The next sync
//! pulls exactly the keys whose transaction was **not visible** in that snapshot
//! (`NOT pg_visible_in_snapshot(xid, previous)`), joined to the table's current rows:
//! a key without a row is a delete. Transactions still running now are invisible to
//! this sync's snapshot too, so the next one picks them up. No replication slot is
//! used, so a laptop that stays closed costs the server nothing; the change log is
//! pruned below the oldest snapshot a cache registered in the last 30 days, and a cache
//! older than that reloads in full. A cache registers its snapshot at most every five
//! minutes (and at once after a full reload): an older registration only keeps more of
//! the log, never less.
//!
//! A table is reloaded in full when it has never been synced, when its columns
//! changed on the platform, after a `TRUNCATE`, or when the change log no longer
//! reaches back to its snapshot.
//!
//! ## Crash safety
//! The whole sync (every table of every database, the bookkeeping and the derived read
//! tables) is applied in **one SQLite transaction**. Killing the process, a network
//! failure or a cancel leaves the cache exactly at its last consistent state, and the
//! next sync redoes the work from the previous snapshot.
//!
//! ## Speed
//! A sync's fixed cost is round trips, so they are few: the four databases are planned
//! at once, each in five statements (begin, token, snapshot with the role's scope, one
//! catalog read for columns, keys and row estimates, one change-log read), with the
//! tickets for the three other databases minted when the session is opened.
//!
//! PostgreSQL streams each table with binary `COPY (SELECT …) TO STDOUT` (columns
//! converted in SQL, see [`tables`]), decoded on the async side while a dedicated
//! thread inserts into SQLite with a prepared statement, so the two overlap on two
//! cores. A full reload creates the table bare, loads it and only then builds its
//! indexes, because SQLite's index maintenance dominates a bulk load.

pub mod copy;
pub mod policy;
pub mod tables;
mod writer;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rusqlite::types::Value;
use sqlx::{Connection, PgConnection};

use crate::auth::{AuthError, Session};
use crate::cache::{self, CacheError};
use crate::central::install::quote_ident;
use crate::central::{CentralError, DbKind};
use copy::CopyDecoder;
use tables::{Shape, SourceTable, Wire};
use writer::{Msg, Writer};

/// Rows per batch handed from the reader to the writer thread.
const BATCH_ROWS: usize = 4096;

/// How often, at most, a cache tells the databases which snapshot it holds (so the
/// change log can be pruned below the oldest one in use). Registering an older snapshot
/// than the cache holds only keeps more of the log, so between registrations a sync
/// skips those four round trips; a full reload of any table registers at once.
const REGISTER_EVERY_S: i64 = 300;

/// `_sync_meta` key: this cache's id in the databases' registry of snapshots in use.
const CLIENT_ID: &str = "client_id";

/// `_sync_meta` key: when this cache last registered its snapshots (Unix seconds).
const REGISTERED_AT: &str = "snapshots_registered_at";

/// Errors of a sync. The cache is unchanged whenever one is returned.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// A central database could not be reached or a query failed.
    #[error(transparent)]
    Central(#[from] CentralError),
    /// The cache file could not be used.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// `install` has not been run on a database.
    #[error("the console's schema is not installed on the {0} database; run `penguin-admin install --profile PROFILE` first")]
    NotInstalled(DbKind),
    /// The sync was cancelled; the cache keeps its previous state.
    #[error("sync cancelled; the cache keeps its previous state")]
    Cancelled,
    /// The COPY stream was malformed.
    #[error(transparent)]
    Decode(#[from] copy::DecodeError),
    /// The database refused the session (expired, revoked, permission).
    #[error(transparent)]
    Access(#[from] AuthError),
}

/// Progress of a running sync.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Progress {
    /// Cache table being written.
    pub table: String,
    /// Rows transferred so far, all tables.
    pub done: u64,
    /// Rows expected in all (an estimate for full reloads, from the planner's statistics).
    pub total: u64,
}

/// Callback receiving progress; called at most every few thousand rows.
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// A cancellation flag shared with the caller.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// Requests cancellation.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Whether cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// How a table was synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Reloaded in full.
    Full,
    /// Only changed keys applied.
    Incremental,
    /// Nothing changed.
    Unchanged,
}

/// What happened to one table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TableReport {
    /// Cache table name.
    pub table: String,
    /// Source database key.
    pub db: DbKind,
    /// How it was synced.
    pub mode: Mode,
    /// Rows inserted or replaced.
    pub rows_written: u64,
    /// Rows deleted.
    pub rows_deleted: u64,
    /// Rows in the cache afterwards.
    pub rows_in_cache: u64,
    /// Time spent on the table, from its first row to its indexes.
    pub duration_ms: u64,
}

/// Summary of a sync.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SyncReport {
    /// Per table.
    pub tables: Vec<TableReport>,
    /// Per database: the time of the snapshot the cache now reflects (UTC).
    pub as_of: BTreeMap<String, String>,
    /// Tables the platform lacks (skipped).
    pub missing: Vec<String>,
    /// Wall time.
    pub duration_ms: u64,
}

/// What the cache knows of one table from its last sync.
#[derive(Debug, Clone)]
struct KnownTable {
    shape: Shape,
    snapshot: String,
}

/// What the cache knows from its last sync.
struct Known {
    /// By cache table.
    tables: HashMap<String, KnownTable>,
    /// This cache's id in the databases' registry of snapshots in use.
    client_id: uuid::Uuid,
    /// When it last registered its snapshots (Unix seconds).
    registered_at: Option<i64>,
}

/// What the change log holds for one table since a snapshot: the table
/// (`schema.name`), how many changes, and whether it was truncated.
type TableChanges = (String, i64, bool);

/// The plan for one table.
struct TablePlan {
    source: SourceTable,
    shape: Shape,
    mode: Mode,
    /// Previous snapshot, for incremental.
    prev: Option<String>,
    estimate: u64,
}

/// One database's open snapshot and plan.
struct DbPlan {
    kind: DbKind,
    conn: sqlx::pool::PoolConnection<sqlx::Postgres>,
    snapshot: String,
    as_of: String,
    tables: Vec<TablePlan>,
    /// Cached tables this database lacks (`schema.name`).
    missing: Vec<String>,
}

/// Syncs every cached table of the four databases, as `session`'s staff member sees
/// them, into the cache at `cache_path`. `activity` false for a background sync, which
/// does not keep an idle session alive.
pub async fn sync(
    session: &Session,
    cache_path: &Path,
    progress: Option<ProgressFn>,
    cancel: &Cancel,
    activity: bool,
) -> Result<SyncReport, SyncError> {
    let started = Instant::now();
    cache::check(cache_path)?;
    let Known { tables: known, client_id, registered_at } = read_known(cache_path)?;

    // The four databases are planned at once: connecting and planning are round trips.
    let mut plans = futures_util::future::try_join_all(DbKind::ALL.map(|kind| {
        let known = &known;
        async move { plan_db(session, kind, acquire(session, kind).await?, known, activity).await }
    }))
    .await?;
    let missing: Vec<String> = plans.iter_mut().flat_map(|p| std::mem::take(&mut p.missing)).collect();
    let total: u64 = plans.iter().flat_map(|p| &p.tables).map(|t| t.estimate).sum();

    let now = chrono::Utc::now().timestamp();
    let register = registered_at.is_none_or(|at| now - at >= REGISTER_EVERY_S)
        || plans.iter().flat_map(|p| &p.tables).any(|t| t.mode == Mode::Full);

    let writer = Writer::start(cache_path.to_path_buf());
    let mut done = 0u64;
    let mut as_of = BTreeMap::new();
    let result = async {
        for plan in &mut plans {
            for table in &plan.tables {
                if cancel.is_cancelled() {
                    return Err(SyncError::Cancelled);
                }
                transfer(
                    &mut plan.conn,
                    table,
                    &plan.snapshot,
                    &plan.as_of,
                    &writer,
                    &mut done,
                    total,
                    &progress,
                    cancel,
                )
                .await?;
            }
            sqlx::raw_sql("COMMIT").execute(&mut *plan.conn).await.map_err(CentralError::sql("ending the snapshot"))?;
            as_of.insert(plan.kind.key().to_string(), plan.as_of.clone());
        }
        Ok(())
    }
    .await;
    let result = match result {
        // The id this cache registers under is kept with it (a new cache's id is chosen now).
        Ok(()) if register => match writer.send(Msg::Meta { key: CLIENT_ID, value: client_id.to_string() }).await {
            Ok(()) => writer.send(Msg::Meta { key: REGISTERED_AT, value: now.to_string() }).await,
            failed => failed,
        },
        other => other,
    };
    if let Err(e) = result {
        writer.abort();
        return Err(e);
    }
    let reports = writer.finish().await?;

    // Tell each database which snapshot this cache now holds, so the change log can be
    // pruned below the oldest one in use. Best effort: the cache is already committed.
    if !register {
        return Ok(SyncReport { tables: reports, as_of, missing, duration_ms: started.elapsed().as_millis() as u64 });
    }
    futures_util::future::join_all(plans.iter_mut().map(|plan| async {
        if let Err(e) = register_and_prune(session, plan.kind, &mut plan.conn, &client_id, &plan.snapshot).await {
            tracing::warn!(db = %plan.kind, error = %e, "could not record this cache's snapshot for change-log pruning");
        }
    }))
    .await;
    Ok(SyncReport { tables: reports, as_of, missing, duration_ms: started.elapsed().as_millis() as u64 })
}

async fn acquire(session: &Session, kind: DbKind) -> Result<sqlx::pool::PoolConnection<sqlx::Postgres>, SyncError> {
    match tokio::time::timeout(Duration::from_secs(10), session.central().pool(kind).acquire()).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(SyncError::Central(CentralError::sql(format!("connecting to the {kind} database"))(e))),
        Err(_) => Err(SyncError::Central(CentralError::sql(format!("connecting to the {kind} database"))(
            sqlx::Error::PoolTimedOut,
        ))),
    }
}

/// Reads what the cache holds (nothing for a new file) and its client id.
fn read_known(path: &Path) -> Result<Known, SyncError> {
    let mut known = Known { tables: HashMap::new(), client_id: uuid::Uuid::new_v4(), registered_at: None };
    if let Ok(conn) = cache::open_read(path) {
        let mut stmt = conn
            .prepare("SELECT cache_table, shape, snapshot FROM _sync_tables")
            .map_err(CacheError::sql("reading sync state"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
            .map_err(CacheError::sql("reading sync state"))?;
        for row in rows {
            let (table, shape, snapshot) = row.map_err(CacheError::sql("reading sync state"))?;
            // An unreadable shape just means a full reload of that table.
            if let Ok(shape) = serde_json::from_str(&shape) {
                known.tables.insert(table, KnownTable { shape, snapshot });
            }
        }
        let meta = |key: &str| -> Option<String> {
            conn.query_row("SELECT value FROM _sync_meta WHERE key = ?1", [key], |r| r.get(0)).ok()
        };
        if let Some(id) = meta(CLIENT_ID).and_then(|s| uuid::Uuid::parse_str(&s).ok()) {
            known.client_id = id;
        }
        known.registered_at = meta(REGISTERED_AT).and_then(|s| s.parse().ok());
    }
    Ok(known)
}

async fn plan_db(
    session: &Session,
    kind: DbKind,
    mut conn: sqlx::pool::PoolConnection<sqlx::Postgres>,
    known: &HashMap<String, KnownTable>,
    activity: bool,
) -> Result<DbPlan, SyncError> {
    let ctx = |what: &str| format!("{what} on the {kind} database");
    sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut *conn)
        .await
        .map_err(CentralError::sql(ctx("starting the snapshot")))?;
    session.authorize(&mut conn, kind, activity).await?;
    // The snapshot, and what this staff member may see: part of every table's shape, so a
    // change of scope reloads the tables.
    let (snapshot, as_of, scope): (String, String, String) = sqlx::query_as(
        "SELECT pg_current_snapshot()::text, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
                md5(concat_ws('|', c.role, array_to_string(c.perms, ','), c.pii, c.list_all, c.detail_all,
                              array_to_string(c.tenants, ','), array_to_string(c.companies, ',')))
         FROM penguin_console_api.ctx() c",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| match e.as_database_error().and_then(|d| d.code()).as_deref() {
        // No console schema or function: `install` has not been run here.
        Some("3F000" | "42883") => SyncError::NotInstalled(kind),
        _ => sync_refusal(e, ctx("reading what this role may see")),
    })?;
    let (shapes, shape_rows) = tables::shapes_and_rows(&mut conn, kind, &scope).await?;
    let mut missing = Vec::new();
    for t in tables::SYNCED.iter().filter(|t| t.db == kind) {
        if !shapes.iter().any(|(s, _)| s == t) {
            missing.push(t.qualified());
        }
    }

    // Changes since each distinct previous snapshot (normally one per database), and
    // whether the change log still reaches back to it.
    let mut changes: HashMap<String, HashMap<String, (i64, bool)>> = HashMap::new();
    let mut too_old: HashMap<String, bool> = HashMap::new();
    for (source, _) in &shapes {
        let Some(k) = known.get(&source.cache_name()) else { continue };
        if changes.contains_key(&k.snapshot) {
            continue;
        }
        let (old, per_table): (bool, Option<sqlx::types::Json<Vec<TableChanges>>>) = sqlx::query_as(
            "SELECT pg_snapshot_xmin($1::pg_snapshot) < COALESCE((SELECT horizon FROM penguin_console_api.sync_horizon), '0'::xid8),
                    (SELECT json_agg(json_build_array(tbl, n, trunc)) FROM (
                        SELECT tbl, count(*)::int8 AS n, bool_or(pk IS NULL) AS trunc FROM penguin_console_api.sync_changes
                        WHERE xid >= pg_snapshot_xmin($1::pg_snapshot) AND NOT pg_visible_in_snapshot(xid, $1::pg_snapshot)
                        GROUP BY tbl) c)",
        )
        .bind(&k.snapshot)
        .fetch_one(&mut *conn)
        .await
        .map_err(CentralError::sql(ctx("reading the change log")))?;
        let per_table = per_table.map(|j| j.0).unwrap_or_default();
        changes.insert(k.snapshot.clone(), per_table.into_iter().map(|(t, n, trunc)| (t, (n, trunc))).collect());
        too_old.insert(k.snapshot.clone(), old);
    }

    let mut plans = Vec::new();
    for (source, shape) in shapes {
        let prior = known.get(&source.cache_name());
        let changed_since =
            |table: &str| prior.and_then(|k| changes.get(&k.snapshot)).and_then(|m| m.get(table)).copied();
        // An aggregate has no change log: any change to what it is computed from reloads it.
        let change = match tables::Aggregate::of(&source) {
            Some(a) => a.deps.iter().filter_map(|d| changed_since(d)).map(|_| (0, true)).next(),
            None => changed_since(&source.qualified()),
        };
        let rows_now = shape_rows.get(&source.qualified()).copied().unwrap_or(-1);
        let full = match prior {
            None => true,
            Some(k) => {
                k.shape != shape
                    || too_old.get(&k.snapshot).copied().unwrap_or(true)
                    || change.is_some_and(|(_, trunc)| trunc)
                    // When most of a table changed, reloading it is cheaper than applying keys.
                    || change.is_some_and(|(n, _)| rows_now > 10_000 && n > rows_now / 2)
            }
        };
        let (mode, estimate) = if full {
            let mut estimate = rows_now;
            if estimate < 0 {
                estimate = sqlx::query_scalar(&format!(
                    "SELECT count(*) FROM penguin_console_api.{}",
                    quote_ident(&source.cache_name())
                ))
                .fetch_one(&mut *conn)
                .await
                .map_err(CentralError::sql(ctx("counting rows")))?;
            }
            (Mode::Full, estimate.max(0) as u64)
        } else if let Some((n, _)) = change {
            (Mode::Incremental, n.max(0) as u64)
        } else {
            (Mode::Unchanged, 0)
        };
        plans.push(TablePlan { source, shape, mode, prev: prior.map(|k| k.snapshot.clone()), estimate });
    }
    Ok(DbPlan { kind, conn, snapshot, as_of, tables: plans, missing })
}

/// The COPY statement for a table: every row for a full reload, or for an incremental
/// sync the changed keys (`pk` JSON, whether the row still exists, then the columns).
fn copy_sql(plan: &TablePlan) -> String {
    let from = format!("penguin_console_api.{}", quote_ident(&plan.source.cache_name()));
    let cols: Vec<String> = plan.shape.columns.iter().map(|c| tables::wire("t", c).0).collect();
    match plan.mode {
        // Rows in key order make SQLite's primary-key index build (a sort) much cheaper;
        // the server sorts on the other core while this side is busy writing.
        Mode::Full => {
            let order: Vec<String> = plan.shape.pk.iter().map(|k| format!("t.{}", quote_ident(k))).collect();
            format!(
                "COPY (SELECT {} FROM {from} t ORDER BY {}) TO STDOUT (FORMAT binary)",
                cols.join(", "),
                order.join(", ")
            )
        }
        Mode::Incremental | Mode::Unchanged => {
            let prev = plan.prev.as_deref().unwrap_or("").replace('\'', "''");
            let tbl = plan.source.qualified().replace('\'', "''");
            let join: Vec<String> = plan
                .shape
                .pk
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    let ty = plan.shape.column(k).map(|c| c.pg_type.as_str()).unwrap_or("text");
                    format!("t.{} = (ch.pk->>{i})::{ty}", quote_ident(k))
                })
                .collect();
            let first_pk = quote_ident(&plan.shape.pk[0]);
            format!(
                "COPY (WITH ch AS (SELECT DISTINCT pk FROM penguin_console_api.sync_changes
                                   WHERE tbl = '{tbl}' AND pk IS NOT NULL
                                     AND xid >= pg_snapshot_xmin('{prev}'::pg_snapshot)
                                     AND NOT pg_visible_in_snapshot(xid, '{prev}'::pg_snapshot))
                       SELECT ch.pk::text, (t.{first_pk} IS NOT NULL)::int::int8, {}
                       FROM ch LEFT JOIN {from} t ON {})
                 TO STDOUT (FORMAT binary)",
                cols.join(", "),
                join.join(" AND ")
            )
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn transfer(
    conn: &mut PgConnection,
    plan: &TablePlan,
    snapshot: &str,
    as_of: &str,
    writer: &Writer,
    done: &mut u64,
    total: u64,
    progress: &Option<ProgressFn>,
    cancel: &Cancel,
) -> Result<(), SyncError> {
    let cache_table = plan.source.cache_name();
    writer
        .send(Msg::Start { table: cache_table.clone(), db: plan.source.db, shape: plan.shape.clone(), mode: plan.mode })
        .await?;
    if plan.mode != Mode::Unchanged {
        let mut wires: Vec<Wire> = plan.shape.columns.iter().map(|c| tables::wire("t", c).1).collect();
        if plan.mode == Mode::Incremental {
            wires.splice(0..0, [Wire::Text, Wire::Int8]);
        }
        let mut decoder = CopyDecoder::new(wires);
        let sql = copy_sql(plan);
        let mut stream =
            conn.copy_out_raw(&sql).await.map_err(CentralError::sql(format!("reading {}", plan.source.qualified())))?;
        let mut batch: Vec<Vec<Value>> = Vec::with_capacity(BATCH_ROWS);
        let mut last_report = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(CentralError::sql(format!("reading {}", plan.source.qualified())))?;
            decoder.feed(&chunk, &mut batch)?;
            if batch.len() >= BATCH_ROWS {
                if cancel.is_cancelled() {
                    return Err(SyncError::Cancelled);
                }
                *done += batch.len() as u64;
                writer.send(Msg::Rows(std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS)))).await?;
                if *done - last_report >= 20_000 {
                    last_report = *done;
                    report(progress, &cache_table, *done, total);
                }
            }
        }
        drop(stream);
        if !decoder.finished() {
            return Err(copy::DecodeError::truncated().into());
        }
        *done += batch.len() as u64;
        if !batch.is_empty() {
            writer.send(Msg::Rows(batch)).await?;
        }
    }
    writer.send(Msg::End { snapshot: snapshot.to_string(), as_of: as_of.to_string() }).await?;
    report(progress, &cache_table, *done, total.max(*done));
    Ok(())
}

fn report(progress: &Option<ProgressFn>, table: &str, done: u64, total: u64) {
    if let Some(p) = progress {
        p(&Progress { table: table.to_string(), done, total: total.max(done) });
    }
}

async fn register_and_prune(
    session: &Session,
    kind: DbKind,
    conn: &mut PgConnection,
    client_id: &uuid::Uuid,
    snapshot: &str,
) -> Result<(), SyncError> {
    let mut tx = conn.begin().await.map_err(CentralError::sql("recording the snapshot"))?;
    session.authorize(&mut tx, kind, false).await?;
    sqlx::query("SELECT penguin_console_api.sync_register($1, $2)")
        .bind(client_id)
        .bind(snapshot)
        .execute(&mut *tx)
        .await
        .map_err(|e| sync_refusal(e, "recording the snapshot".into()))?;
    tx.commit().await.map_err(CentralError::sql("recording the snapshot"))?;
    Ok(())
}

/// A refusal of the database as such (the session ended, the role may not sync),
/// anything else as a database error.
fn sync_refusal(e: sqlx::Error, context: String) -> SyncError {
    match crate::auth::refusal(&e) {
        Some(refused) => SyncError::Access(refused),
        None => SyncError::Central(CentralError::sql(context)(e)),
    }
}
