//! The local SQLite cache: one file per staff member and profile holding what that
//! staff member's role may see of the platform (the sync reads the database's
//! role-scoped views), the sync bookkeeping and derived read tables.
//!
//! ## Protection
//! - **Encrypted at rest** with SQLCipher 4 (its default settings; the key is the
//!   `PRAGMA key` value, so an auditor can open the file with SQLCipher's own tools).
//!   The key of each cache comes from [`key`]: generated per cache and kept in the OS
//!   keyring, or `PENGUIN_ADMIN_CACHE_KEY` where there is no keyring, or for the session
//!   only (the cache is then deleted when the app exits). A generated key is a random
//!   256-bit key in SQLCipher's raw-key form (`x'…'`): it is not a password, so it needs
//!   no stretching and opening the cache costs no key derivation. A passphrase (any
//!   other value of `PENGUIN_ADMIN_CACHE_KEY`) is stretched with SQLCipher 4's
//!   PBKDF2 defaults. A process registers the key of a cache it opens with [`unlock`];
//!   every open applies it.
//! - Files are `0600` (SQLite gives the `-wal` and `-shm` files the database's mode) in a
//!   `0700` directory.
//! - The cache records its owner (`_sync_meta`: `owner`, `role_digest`); a cache of
//!   another staff member is never opened ([`claim`]), and a role change wipes it.
//!
//! Bookkeeping tables start with `_sync_`: `_sync_meta` (this cache's client id),
//! `_sync_tables` (per cached table: source, column shape, snapshot, `as_of`, rows).
//! The file is marked with `PRAGMA application_id` and versioned with
//! `PRAGMA user_version`; a file that is not SQLite, belongs to another application or
//! to a newer console is refused without being touched.

pub mod key;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::auth::Secret;

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
    /// The file is encrypted and this process has no key for it.
    #[error("{0} is encrypted and its key is not available here; sign in as its owner on this computer")]
    Locked(String),
    /// The key does not open the file.
    #[error("{0} cannot be decrypted with the key of this staff member (it belongs to someone else, or its key was lost); it is left untouched — sign in online to build a new cache")]
    WrongKey(String),
    /// A console cache written before caches were encrypted.
    #[error("{0} is an unencrypted cache of an older console; delete it, the next sync writes an encrypted one")]
    Unencrypted(String),
    /// No key for this staff member's cache is available (offline sign-in).
    #[error("the key of {0}'s cache is not in this computer's OS keyring (nor in PENGUIN_ADMIN_CACHE_KEY); the cache cannot be read — sign in online to build a new one")]
    KeyMissing(String),
    /// The cache belongs to another staff member.
    #[error("{path} is the cache of another staff member ({owner}); it is never opened for you")]
    NotYours {
        /// The file.
        path: String,
        /// Its owner's e-mail.
        owner: String,
    },
    /// File system trouble.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
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

/// The directory of the console's caches (`~/.local/share/penguin-admin`).
pub fn data_dir() -> PathBuf {
    dirs::data_dir().unwrap_or_else(std::env::temp_dir).join("penguin-admin")
}

/// The cache of one staff member for one profile, under `base`:
/// `BASE/PROFILE/<digest of the e-mail>.sqlite` (the e-mail itself is not in the name).
pub fn staff_path(base: &Path, profile_name: &str, email: &str) -> PathBuf {
    use sha2::{Digest, Sha256};
    let digest = hex::encode(Sha256::digest(email.trim().to_lowercase().as_bytes()));
    base.join(profile_name).join(format!("{}.sqlite", &digest[..24]))
}

/// The default cache of a staff member for a profile, in [`data_dir`].
pub fn default_path(profile_name: &str, email: &str) -> PathBuf {
    staff_path(&data_dir(), profile_name, email)
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

/// A registered key: the passphrase, and once known the key SQLCipher derives from it
/// for the file's salt (hex), which opens the file without the 256,000-round derivation.
#[derive(Clone)]
struct Unlocked {
    passphrase: Secret,
    derived: Option<([u8; 16], Secret)>,
}

fn keys() -> &'static Mutex<HashMap<PathBuf, Unlocked>> {
    static KEYS: OnceLock<Mutex<HashMap<PathBuf, Unlocked>>> = OnceLock::new();
    KEYS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Registers the key of the cache at `path` for this process: every later open of
/// that file applies it.
pub fn unlock(path: &Path, key: Secret) {
    keys()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(path.to_path_buf(), Unlocked { passphrase: key, derived: None });
}

/// The first 16 bytes of an encrypted file: SQLCipher's salt.
fn file_salt(path: &Path) -> Option<[u8; 16]> {
    use std::io::Read;
    let mut salt = [0u8; 16];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut salt)).ok()?;
    (&salt != b"SQLite format 3\0").then_some(salt)
}

/// SQLCipher 4's key derivation: PBKDF2-HMAC-SHA512, 256,000 rounds, 32 bytes.
fn derive(passphrase: &str, salt: &[u8; 16]) -> Secret {
    let mut key = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha512>(passphrase.as_bytes(), salt, 256_000, &mut key);
    Secret::new(hex::encode(key))
}

/// Forgets the key of the cache at `path` (sign-out).
pub fn lock(path: &Path) {
    keys().lock().unwrap_or_else(|e| e.into_inner()).remove(path);
}

fn key_of(path: &Path) -> Option<Secret> {
    keys().lock().unwrap_or_else(|e| e.into_inner()).get(path).map(|u| u.passphrase.clone())
}

/// Whether the file at `path` is a plain (unencrypted) SQLite database.
fn is_plain_sqlite(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 16];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok() && &head == b"SQLite format 3\0"
}

/// Whether `key` is in SQLCipher's raw-key form: `x'` 64 hex digits `'`.
fn is_raw_key(key: &str) -> bool {
    key.len() == 67 && key.starts_with("x'") && key.ends_with('\'') && key[2..66].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Applies the registered key (the first statement on a connection, as SQLCipher needs).
/// A raw key is given as it is. For a passphrase, an existing file gets the raw key
/// derived from the passphrase and the file's salt exactly as SQLCipher 4 would (derived
/// once per process and remembered), so SQLCipher never runs its own 256,000-round
/// derivation on every connection; a new file gets the passphrase.
fn apply_key(conn: &Connection, path: &Path) -> Result<(), CacheError> {
    let Some(unlocked) = keys().lock().unwrap_or_else(|e| e.into_inner()).get(path).cloned() else { return Ok(()) };
    if is_plain_sqlite(path) {
        return Ok(()); // read as it is: validation then says what it is ([`claim`] refuses it)
    }
    if is_raw_key(unlocked.passphrase.expose()) {
        return conn
            .execute_batch(&format!("PRAGMA key = \"{}\"", unlocked.passphrase.expose()))
            .map_err(CacheError::sql("applying the cache key"));
    }
    let Some(salt) = file_salt(path) else {
        return conn
            .pragma_update(None, "key", unlocked.passphrase.expose())
            .map_err(CacheError::sql("applying the cache key"));
    };
    let raw = match &unlocked.derived {
        Some((known, raw)) if *known == salt => raw.clone(),
        _ => {
            let raw = derive(unlocked.passphrase.expose(), &salt);
            if let Some(u) = keys().lock().unwrap_or_else(|e| e.into_inner()).get_mut(path) {
                u.derived = Some((salt, raw.clone()));
            }
            raw
        }
    };
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\"", raw.expose()))
        .map_err(CacheError::sql("applying the cache key"))
}

/// "Not a database" on a file: the wrong key, no key for an encrypted file, or not SQLite.
fn not_a_database(path: &Path) -> CacheError {
    // An encrypted database is whole pages of random bytes; anything else is not one.
    let pages = path.metadata().map(|m| m.len() > 0 && m.len() % 512 == 0).unwrap_or(false);
    if is_plain_sqlite(path) || !pages {
        CacheError::NotSqlite(display(path))
    } else if key_of(path).is_some() {
        CacheError::WrongKey(display(path))
    } else if path.metadata().map(|m| m.len() > 0).unwrap_or(false) {
        CacheError::Locked(display(path))
    } else {
        CacheError::NotSqlite(display(path))
    }
}

/// Deletes a cache and its `-wal` / `-shm` files.
pub fn delete(path: &Path) -> Result<(), CacheError> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(CacheError::Io { context: format!("deleting {}", file.display()), source: e }),
        }
    }
    Ok(())
}

/// Makes `dir` (the app's own cache directory) private, creating it if needed.
pub fn protect_dir(dir: &Path) -> Result<(), CacheError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)
        .and_then(|_| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)))
        .map_err(|source| CacheError::Io { context: format!("protecting {}", dir.display()), source })
}

/// Creates the cache's directory `0700` and the empty file `0600` when missing, and
/// tightens both when they exist.
fn prepare_files(path: &Path) -> Result<(), CacheError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let io = |what: String| move |source| CacheError::Io { context: what, source };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty() && !p.exists()) {
        // A directory made for the cache is private; an existing one named with --cache
        // is left as it is.
        std::fs::create_dir_all(parent).map_err(io(format!("creating {}", parent.display())))?;
        std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o700))
            .map_err(io(format!("protecting {}", parent.display())))?;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(io(format!("creating {}", path.display())))?;
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                .map_err(io(format!("protecting {}", file.display())))?;
        }
    }
    Ok(())
}

/// Checks an existing file without writing to it.
fn validate(conn: &Connection, path: &Path) -> Result<(), CacheError> {
    let app_id: i64 = match conn.query_row("PRAGMA application_id", [], |r| r.get(0)) {
        Ok(v) => v,
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::NotADatabase => {
            return Err(not_a_database(path))
        }
        Err(e) => return Err(CacheError::sql(format!("reading {}", display(path)))(e)),
    };
    let version: i64 =
        conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(CacheError::sql("reading the version"))?;
    let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => not_a_database(path),
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
    if !path.exists() || path.metadata().map(|m| m.len() == 0).unwrap_or(false) {
        return Ok(());
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => not_a_database(path),
            other => CacheError::sql(format!("opening {}", display(path)))(other),
        })?;
    apply_key(&conn, path)?;
    validate(&conn, path)
}

/// Opens (creating if needed) the cache for writing.
pub fn open_write(path: &Path) -> Result<Connection, CacheError> {
    let open = || -> Result<Connection, CacheError> {
        let conn = Connection::open(path).map_err(CacheError::sql(format!("opening {}", display(path))))?;
        apply_key(&conn, path)?;
        validate(&conn, path)?;
        Ok(conn)
    };
    // An existing file is validated (which only reads it) before anything touches it, so
    // a foreign file is refused as it is.
    let existing = path.exists() && path.metadata().map(|m| m.len() > 0).unwrap_or(false);
    let validated = if existing { Some(open()?) } else { None };
    prepare_files(path)?;
    let conn = match validated {
        Some(conn) => conn,
        None => open()?,
    };
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
    if !path.exists() || path.metadata().map(|m| m.len() == 0).unwrap_or(true) {
        return Err(CacheError::Empty(display(path)));
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(CacheError::sql(format!("opening {}", display(path))))?;
    apply_key(&conn, path)?;
    validate(&conn, path)?;
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

/// What [`claim`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// A new cache.
    Fresh,
    /// The staff member's cache, as they left it.
    Kept,
    /// Their previous cache was deleted (their role changed, or it could not be
    /// decrypted with their key): it is rebuilt by the next sync.
    Wiped(String),
}

/// Binds the cache at `path` (its key registered with [`unlock`]) to the staff member
/// `email` whose role and permissions digest to `role_digest`: a cache of someone else
/// is refused; a cache made under another role is deleted and started afresh
/// (everything in it can be synced again), and so is one the key does not open when
/// `replaceable` (the staff member's own cache path; a file named by hand is left alone).
pub fn claim(path: &Path, email: &str, role_digest: &str, replaceable: bool) -> Result<Claim, CacheError> {
    let email = email.trim().to_lowercase();
    let mut outcome = Claim::Fresh;
    let mut kept = None;
    if is_plain_sqlite(path) {
        check(path)?; // another application's file or a newer console's: refused as such
        if !replaceable {
            return Err(CacheError::Unencrypted(display(path)));
        }
        delete(path)?;
        outcome = Claim::Wiped("the previous cache was not encrypted; it was deleted and is synced again".into());
    }
    if path.exists() && path.metadata().map(|m| m.len() > 0).unwrap_or(false) {
        match open_write(path) {
            Ok(conn) => {
                let meta = |k: &str| -> Option<String> {
                    conn.query_row("SELECT value FROM _sync_meta WHERE key = ?1", [k], |r| r.get(0)).ok()
                };
                match (meta("owner"), meta("role_digest")) {
                    (Some(owner), _) if owner != email => {
                        return Err(CacheError::NotYours { path: display(path), owner })
                    }
                    (Some(_), Some(d)) if d != role_digest => {
                        drop(conn);
                        delete(path)?;
                        outcome = Claim::Wiped(
                            "your role or permissions changed since the last sign-in, so the cached data was deleted and is synced again".into(),
                        );
                    }
                    _ => {
                        outcome = Claim::Kept;
                        kept = Some(conn);
                    }
                }
            }
            Err(CacheError::WrongKey(_)) | Err(CacheError::Locked(_)) if replaceable => {
                delete(path)?;
                outcome = Claim::Wiped(
                    "the previous cache could not be decrypted with your key; it was deleted and is synced again"
                        .into(),
                );
            }
            Err(e) => return Err(e),
        }
    }
    let conn = match kept {
        Some(conn) => conn,
        None => open_write(path)?,
    };
    conn.execute(
        "INSERT INTO _sync_meta (key, value) VALUES ('owner', ?1), ('role_digest', ?2), ('last_online', ?3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        rusqlite::params![email, role_digest, chrono::Utc::now().to_rfc3339()],
    )
    .map_err(CacheError::sql("recording the cache's owner"))?;
    Ok(outcome)
}

/// Checks, offline, that the cache at `path` belongs to `email`.
pub fn owned_by(conn: &Connection, path: &Path, email: &str) -> Result<(), CacheError> {
    let owner: Option<String> = conn
        .query_row("SELECT value FROM _sync_meta WHERE key = 'owner'", [], |r| r.get(0))
        .optional()
        .map_err(CacheError::sql("reading the cache's owner"))?;
    match owner {
        Some(o) if o != email.trim().to_lowercase() => Err(CacheError::NotYours { path: display(path), owner: o }),
        _ => Ok(()),
    }
}

/// Deletes the caches in `dir` not written for more than `max_age` (a laptop that
/// stayed offline); returns the files deleted.
pub fn expire_stale(dir: &Path, max_age: std::time::Duration) -> Vec<PathBuf> {
    let mut gone = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return gone };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "sqlite") {
            continue;
        }
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > max_age);
        if stale && delete(&path).is_ok() {
            gone.push(path);
        }
    }
    gone
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_files_are_private_and_unreadable_without_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("private").join("c.sqlite");
        unlock(&path, Secret::new("correct horse"));
        let conn = open_write(&path).unwrap();
        conn.execute_batch("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('alice@acme.test');").unwrap();
        drop(conn);
        // Reopened with the passphrase, then with the key derived from it.
        for _ in 0..2 {
            let again = open_write(&path).unwrap();
            let v: String = again.query_row("SELECT x FROM t", [], |r| r.get(0)).unwrap();
            assert_eq!(v, "alice@acme.test");
        }
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        let bytes = std::fs::read(&path).unwrap();
        assert!(!bytes.windows(5).any(|w| w == b"alice"), "no plaintext on disk");
        assert!(!is_plain_sqlite(&path));
        lock(&path);
        assert!(matches!(open_write(&path), Err(CacheError::Locked(_))));
        unlock(&path, Secret::new("wrong"));
        assert!(matches!(open_write(&path), Err(CacheError::WrongKey(_))));
    }
}
