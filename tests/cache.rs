//! The cache holds only what its staff member may see, encrypted, in private files:
//! checked on the seeded demo, synced through the role-scoped views as support and qa.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::HashSet;
use std::path::Path;

use penguin_admin::auth::Secret;
use penguin_admin::central::Central;
use penguin_admin::demo::{self, seed::SeedOptions};
use penguin_admin::{cache, sync};

struct Demo {
    dir: tempfile::TempDir,
    profile: penguin_admin::profiles::Profile,
    owner: Central,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = demo::down(&self.dir.path().join("demo.toml"));
    }
}

async fn demo_up() -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.toml");
    let options = SeedOptions { scale: 1, seed: 42, now: chrono::Utc::now() };
    let (profile, _) = demo::up(&path, &options, true, &|_| {}).await.unwrap();
    let owner = Central::connect(&profile.owner_targets().unwrap(), 2).await.unwrap();
    Demo { dir, profile, owner }
}

/// Syncs `role`'s encrypted cache; returns its path.
async fn sync_as(d: &Demo, role: &str) -> std::path::PathBuf {
    let session = demo::staff_session(&d.profile, role).await.unwrap();
    let path = cache::staff_path(&d.dir.path().join("data"), "demo", session.staff().email());
    cache::unlock(&path, Secret::new(format!("key of {role}")));
    cache::claim(&path, session.staff().email(), &session.staff().digest(), true).unwrap();
    sync::sync(&session, &path, None, &sync::Cancel::default(), true).await.unwrap();
    path
}

/// What identifies a customer of the platform: e-mail addresses, full names, client IP
/// addresses and session tokens (staff accounts excluded: a cache holds its owner).
struct Needles {
    emails: HashSet<String>,
    names: HashSet<String>,
    ips: HashSet<String>,
    tokens: HashSet<String>,
}

async fn needles(owner: &Central) -> Needles {
    let strings = |sql: &'static str, pool: &sqlx::PgPool| {
        let pool = pool.clone();
        async move { sqlx::query_scalar::<_, String>(sql).fetch_all(&pool).await.unwrap() }
    };
    let customers = "FROM users u WHERE NOT EXISTS (SELECT 1 FROM staff_members s WHERE s.user_id = u.id)";
    let mut emails: HashSet<String> = strings(
        Box::leak(format!("SELECT lower(email) {customers} AND email IS NOT NULL").into_boxed_str()),
        &owner.oltp,
    )
    .await
    .into_iter()
    .collect();
    emails.extend(strings("SELECT lower(email) FROM leads", &owner.oltp).await);
    emails.extend(
        strings("SELECT lower(billing_email) FROM tenant_config WHERE billing_email IS NOT NULL", &owner.oltp).await,
    );
    let names: HashSet<String> =
        strings(Box::leak(format!("SELECT lower(name) {customers} AND name LIKE '% %'").into_boxed_str()), &owner.oltp)
            .await
            .into_iter()
            .collect();
    let mut ips: HashSet<String> =
        strings("SELECT DISTINCT ip_address FROM admin_audit_log WHERE ip_address IS NOT NULL", &owner.olap)
            .await
            .into_iter()
            .collect();
    ips.extend(
        strings(
            "SELECT DISTINCT details->>'ip_address' FROM admin_system_events WHERE details ? 'ip_address'",
            &owner.notifications,
        )
        .await,
    );
    let tokens: HashSet<String> =
        strings("SELECT session_token FROM auth.sessions", &owner.oltp).await.into_iter().collect();
    assert!(emails.len() > 1000 && names.len() > 500 && !tokens.is_empty(), "the demo has customers to look for");
    Needles { emails, names, ips, tokens }
}

/// Every text value of every table of the cache, scanned for the needles; returns the
/// findings (table, column, what).
fn scan(conn: &rusqlite::Connection, n: &Needles) -> Vec<String> {
    let mut found = Vec::new();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%search%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    for table in tables {
        let cols: Vec<String> = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        for col in cols {
            let mut stmt =
                conn.prepare(&format!("SELECT \"{col}\" FROM \"{table}\" WHERE typeof(\"{col}\") = 'text'")).unwrap();
            let values = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
            for v in values {
                let v = v.unwrap().to_lowercase();
                let words: Vec<&str> = v
                    .split(|c: char| c.is_whitespace() || "\"',<>()[]{};:".contains(c))
                    .filter(|w| !w.is_empty())
                    .collect();
                for w in &words {
                    let w = w.trim_matches(|c: char| c == '.' || c == '/');
                    if n.emails.contains(w) || n.tokens.contains(w) || n.ips.contains(w) {
                        found.push(format!("{table}.{col}: {w}"));
                    }
                }
                for pair in words.windows(2) {
                    let name = format!("{} {}", pair[0], pair[1]);
                    if n.names.contains(&name) {
                        found.push(format!("{table}.{col}: {name}"));
                    }
                }
            }
        }
    }
    found
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_and_qa_caches_hold_no_customer_identity_and_are_unreadable_without_the_key() {
    let d = demo_up().await;
    let n = needles(&d.owner).await;

    let support = sync_as(&d, "support").await;
    let conn = cache::open_read(&support).unwrap();
    let found = scan(&conn, &n);
    assert!(found.is_empty(), "support's cache holds personal data: {:?}", &found[..found.len().min(10)]);
    // Counts are there all the same (the aggregate), and the tenant list.
    let (tenants, members): (i64, i64) = conn
        .query_row("SELECT count(*), sum(members) FROM tenant_overview", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    let expected: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM tenants), (SELECT count(*) FROM tenant_users WHERE deleted IS NULL)",
    )
    .fetch_one(&d.owner.oltp)
    .await
    .unwrap();
    assert_eq!((tenants, members), expected);
    drop(conn);

    // The same scan finds plenty in an admin's cache: the scan works.
    let admin = sync_as(&d, "admin").await;
    assert!(scan(&cache::open_read(&admin).unwrap(), &n).len() > 1000, "the scan finds what is there");

    // qa: sandbox tenants only.
    let qa = sync_as(&d, "qa").await;
    let conn = cache::open_read(&qa).unwrap();
    let in_cache: i64 = conn.query_row("SELECT count(*) FROM tenants", [], |r| r.get(0)).unwrap();
    let sandbox: i64 = sqlx::query_scalar("SELECT count(*) FROM penguin_console.sandbox_tenants")
        .fetch_one(&d.owner.oltp)
        .await
        .unwrap();
    assert!(sandbox >= 2);
    assert_eq!(in_cache, sandbox);
    let foreign: i64 = conn
        .query_row(
            "SELECT count(*) FROM tenant_users WHERE tenant_id NOT IN (SELECT tenant_id FROM console_sandbox_tenants)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(foreign, 0);
    assert!(scan(&conn, &n).is_empty(), "qa sees sandbox members masked");
    drop(conn);

    // Private files, unreadable without the key (by this library and by sqlite3).
    for path in [&support, &admin, &qa] {
        assert_eq!(mode(path), 0o600, "{}", path.display());
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        for suffix in ["-wal", "-shm"] {
            let side = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            if side.exists() {
                assert_eq!(mode(&side), 0o600, "{}", side.display());
            }
        }
        cache::lock(path);
        assert!(matches!(cache::open_read(path), Err(cache::CacheError::Locked(_))));
        let plain = rusqlite::Connection::open(path).unwrap();
        assert!(plain.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)).is_err());
        let out = std::process::Command::new("sqlite3").arg(path).arg("SELECT count(*) FROM users;").output().unwrap();
        assert!(!out.status.success(), "sqlite3 reads it: {}", String::from_utf8_lossy(&out.stdout));
    }
}

/// A generated key is a raw 256-bit SQLCipher key: the file opens with SQLCipher's own
/// `PRAGMA key = "x'…'"` (no derivation), and not with the same digits as a passphrase.
#[test]
fn a_generated_key_is_a_raw_sqlcipher_key_an_auditor_can_use() {
    let dir = tempfile::tempdir().unwrap();
    let path = cache::staff_path(dir.path(), "demo", "auditor@example.com");
    let key = cache::key::random_key();
    assert!(key.starts_with("x'") && key.ends_with('\'') && key.len() == 67, "{key}");
    cache::unlock(&path, Secret::new(key.clone()));
    cache::open_write(&path)
        .unwrap()
        .execute_batch("CREATE TABLE probe (v TEXT); INSERT INTO probe VALUES ('kept');")
        .unwrap();
    cache::lock(&path);

    let read_with = |pragma_value: &str| -> Result<String, rusqlite::Error> {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(&format!("PRAGMA key = \"{pragma_value}\""))?;
        conn.query_row("SELECT v FROM probe", [], |r| r.get(0))
    };
    assert_eq!(read_with(&key).unwrap(), "kept");
    assert!(read_with(&key[2..66]).is_err(), "the hex digits as a passphrase must not open it");
    // The library opens it again with the key registered.
    cache::unlock(&path, Secret::new(key));
    let conn = cache::open_read(&path).unwrap();
    assert_eq!(conn.query_row("SELECT v FROM probe", [], |r| r.get::<_, String>(0)).unwrap(), "kept");
}
