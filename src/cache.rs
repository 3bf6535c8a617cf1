//! The local SQLite cache: one file per profile holding the synced platform tables
//! (same names as the platform's), the sync bookkeeping and derived read tables.
//!
//! Bookkeeping tables start with `_sync_`: `_sync_meta` (this cache's client id),
//! `_sync_tables` (per cached table: source, column shape, snapshot, `as_of`, rows).
//! The file is marked with `PRAGMA application_id` and versioned with
//! `PRAGMA user_version`; a file that is not SQLite, belongs to another application or
//! to a newer console is refused without being touched.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension};

/// `PRAGMA application_id` of console caches ("PNGN").
pub const APPLICATION_ID: i64 = 0x504E_474E;
/// Cache format version this build reads and writes.
pub const SCHEMA_VERSION: i64 = 1;

/// Errors opening or reading the cache.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The file exists but is not a SQLite database.
    #[error("{0} is not a SQLite database; choose another --cache path or delete the file")]
    NotSqlite(String),
    /// The file is SQLite but not a console cache.
    #[error("{0} is a SQLite database of another application; choose another --cache path")]
    Foreign(String),
    /// Written by a newer console.
    #[error("{path} was written by a newer version of the console (cache format {found}, this build reads {supported}); upgrade penguin-admin or use another cache file")]
    NewerVersion {
        /// The file.
        path: String,
        /// Its version.
        found: i64,
        /// Ours.
        supported: i64,
    },
    /// The cache has not been synced yet.
    #[error("the cache {0} has no data yet; run `penguin-admin sync` first")]
    Empty(String),
    /// A statement failed.
    #[error("cache {context}: {source}")]
    Sql {
        /// What we were doing.
        context: String,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
}

impl CacheError {
    /// Wraps an SQLite error with what the console was doing.
    pub fn sql(context: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> Self {
        let context = context.into();
        move |source| CacheError::Sql { context, source }
    }
}

/// Freshness of one cached table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TableFreshness {
    /// Cache table name.
    pub table: String,
    /// Source database key.
    pub db: String,
    /// Time of the snapshot the table reflects (RFC 3339, UTC).
    pub as_of: String,
    /// Rows in the cache.
    pub rows: i64,
}

/// The default cache file of a profile: `~/.local/share/penguin-admin/PROFILE.sqlite`.
pub fn default_path(profile_name: &str) -> PathBuf {
    dirs::data_dir().unwrap_or_else(std::env::temp_dir).join("penguin-admin").join(format!("{profile_name}.sqlite"))
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

/// Checks an existing file without writing to it.
fn validate(conn: &Connection, path: &Path) -> Result<(), CacheError> {
    let app_id: i64 = match conn.query_row("PRAGMA application_id", [], |r| r.get(0)) {
        Ok(v) => v,
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::NotADatabase => {
            return Err(CacheError::NotSqlite(display(path)))
        }
        Err(e) => return Err(CacheError::sql(format!("reading {}", display(path)))(e)),
    };
    let version: i64 =
        conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(CacheError::sql("reading the version"))?;
    let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
            CacheError::NotSqlite(display(path))
        }
        other => CacheError::sql("reading the schema")(other),
    })?;
    if app_id != APPLICATION_ID && !(app_id == 0 && tables == 0) {
        return Err(CacheError::Foreign(display(path)));
    }
    if version > SCHEMA_VERSION {
        return Err(CacheError::NewerVersion { path: display(path), found: version, supported: SCHEMA_VERSION });
    }
    Ok(())
}

fn tune(conn: &Connection) -> Result<(), CacheError> {
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -131072;
         PRAGMA temp_store = MEMORY; PRAGMA mmap_size = 268435456; PRAGMA busy_timeout = 10000;",
    )
    .map_err(CacheError::sql("configuring the connection"))
}

/// Checks that `path` is usable as a cache without creating or changing anything.
pub fn check(path: &Path) -> Result<(), CacheError> {
    if !path.exists() {
        return Ok(());
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
                CacheError::NotSqlite(display(path))
            }
            other => CacheError::sql(format!("opening {}", display(path)))(other),
        })?;
    validate(&conn, path)
}

/// Opens (creating if needed) the cache for writing.
pub fn open_write(path: &Path) -> Result<Connection, CacheError> {
    check(path)?;
    if let Some(parent) = path.parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent).map_err(|e| CacheError::Sql {
                context: format!("creating {}", parent.display()),
                source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
            })?;
        }
    }
    let conn = Connection::open(path).map_err(CacheError::sql(format!("opening {}", display(path))))?;
    validate(&conn, path)?;
    tune(&conn)?;
    conn.execute_batch(&format!(
        "PRAGMA application_id = {APPLICATION_ID};
         PRAGMA user_version = {SCHEMA_VERSION};
         CREATE TABLE IF NOT EXISTS _sync_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS _sync_tables (
             cache_table TEXT PRIMARY KEY, db TEXT NOT NULL, source TEXT NOT NULL,
             shape TEXT NOT NULL, snapshot TEXT NOT NULL, as_of TEXT NOT NULL,
             rows INTEGER NOT NULL, synced_at TEXT NOT NULL);"
    ))
    .map_err(CacheError::sql("initialising"))?;
    Ok(conn)
}

/// Opens an existing cache read-only (for screens, the CLI's reads and tests).
pub fn open_read(path: &Path) -> Result<Connection, CacheError> {
    if !path.exists() {
        return Err(CacheError::Empty(display(path)));
    }
    check(path)?;
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(CacheError::sql(format!("opening {}", display(path))))?;
    conn.execute_batch("PRAGMA cache_size = -65536; PRAGMA mmap_size = 268435456; PRAGMA busy_timeout = 5000;")
        .map_err(CacheError::sql("configuring the connection"))?;
    let synced: bool = conn
        .query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = '_sync_tables')", [], |r| r.get(0))
        .map_err(CacheError::sql("reading the schema"))?;
    if !synced {
        return Err(CacheError::Empty(display(path)));
    }
    Ok(conn)
}

/// How old each cached table is.
pub fn freshness(conn: &Connection) -> Result<Vec<TableFreshness>, CacheError> {
    let mut stmt = conn
        .prepare("SELECT cache_table, db, as_of, rows FROM _sync_tables ORDER BY db, cache_table")
        .map_err(CacheError::sql("reading freshness"))?;
    let rows = stmt
        .query_map([], |r| Ok(TableFreshness { table: r.get(0)?, db: r.get(1)?, as_of: r.get(2)?, rows: r.get(3)? }))
        .map_err(CacheError::sql("reading freshness"))?;
    rows.collect::<Result<_, _>>().map_err(CacheError::sql("reading freshness"))
}

/// The `as_of` of one cached table, if it has been synced.
pub fn table_as_of(conn: &Connection, table: &str) -> Result<Option<String>, CacheError> {
    conn.query_row("SELECT as_of FROM _sync_tables WHERE cache_table = ?1", [table], |r| r.get(0))
        .optional()
        .map_err(CacheError::sql("reading freshness"))
}

/// Secondary indexes the screens need on cached tables, built after a full reload.
pub fn read_indexes(table: &str) -> &'static [(&'static str, &'static [&'static str])] {
    match table {
        "tenant_users" => &[("tenant_users_by_user", &["user_id"])],
        "companies" => &[("companies_by_tenant", &["tenant_id"])],
        "subscriptions" => &[("subscriptions_by_tenant", &["tenant_id", "created"])],
        "campaigns" => &[("campaigns_by_company", &["company_id"])],
        "subscription_addons" => &[("addons_by_subscription", &["subscription_id"])],
        _ => &[],
    }
}

/// Quotes an SQLite identifier.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
