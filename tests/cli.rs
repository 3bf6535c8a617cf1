//! The `penguin-admin` binary: crash safety (kill mid-sync), offline behaviour and bad
//! input, each checked for a clear message, a non-zero exit and nothing changed.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{assert_cache_matches, small_fixture, staff_account, Platform, CACHE_KEY, STAFF_PASSWORD};

const ADMIN: &str = "admin@penguin.test";

fn cli() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_penguin-admin"));
    // Keep the tests away from the user's real profiles and keyring.
    c.env("XDG_CONFIG_HOME", std::env::temp_dir().join("penguin-cli-test-config"));
    c.env("XDG_DATA_HOME", std::env::temp_dir().join("penguin-cli-test-data"));
    c.env_remove("DBUS_SESSION_BUS_ADDRESS");
    c.env("PENGUIN_ADMIN_CACHE_KEY", CACHE_KEY);
    c.env("PENGUIN_ADMIN_PASSWORD", STAFF_PASSWORD);
    c
}

/// The cache at `path`, opened with the tests' key as SQLCipher's own tools would.
fn open_cache(path: &str) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "key", CACHE_KEY).unwrap();
    conn
}

async fn admin_account(p: &Platform) {
    staff_account(&p.central, "admin", ADMIN, STAFF_PASSWORD).await;
}

fn run(args: &[&str]) -> Output {
    cli().args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn file_digest(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

fn sync_args<'a>(profile: &'a str, cache: &'a str) -> Vec<&'a str> {
    vec!["sync", "--profile", profile, "--as", ADMIN, "--cache", cache, "--json"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_sync_midway_keeps_the_last_consistent_state_and_the_next_sync_completes() {
    let p = Platform::installed().await;
    small_fixture(&p.central).await;
    admin_account(&p).await;
    let profile = p.profile_path().to_string_lossy().to_string();
    let cache = p.cache_path().to_string_lossy().to_string();
    let out = run(&sync_args(&profile, &cache));
    assert!(out.status.success(), "{}", stderr(&out));

    // Enough change that the next sync takes well over a second.
    sqlx::query("INSERT INTO payments (amount, status, description) SELECT 5.00, 'succeeded', repeat('x', 200) FROM generate_series(1, 400000)")
        .execute(&p.central.oltp)
        .await
        .unwrap();
    let mut child = cli().args(sync_args(&profile, &cache)).spawn().unwrap();
    let started = Instant::now();
    // Kill once the writer is busy (the WAL grows), long before it can finish.
    let wal = format!("{cache}-wal");
    while std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) < 4 << 20 && started.elapsed() < Duration::from_secs(20)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(child.try_wait().unwrap().is_none(), "the sync must still be running when killed");
    child.kill().unwrap();
    child.wait().unwrap();

    let conn = open_cache(&cache);
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    let n: i64 = conn.query_row("SELECT count(*) FROM payments", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 50, "the cache still holds the previous sync's rows, none of the half-written ones");
    drop(conn);

    let out = run(&sync_args(&profile, &cache));
    assert!(out.status.success(), "{}", stderr(&out));
    penguin_admin::cache::unlock(&p.cache_path(), penguin_admin::auth::Secret::new(CACHE_KEY));
    assert_cache_matches(&p.session("admin").await, &p.cache_path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_sync_names_the_host_exits_non_zero_and_leaves_the_cache_untouched() {
    let p = Platform::installed().await;
    small_fixture(&p.central).await;
    admin_account(&p).await;
    let profile = p.profile_path().to_string_lossy().to_string();
    let cache = p.cache_path().to_string_lossy().to_string();
    assert!(run(&sync_args(&profile, &cache)).status.success());
    let before = file_digest(&p.cache_path());

    p.guard.0.stop().unwrap();
    let out = run(&sync_args(&profile, &cache));
    assert!(!out.status.success());
    let msg = stderr(&out);
    assert!(msg.contains(&format!("127.0.0.1:{}", p.guard.0.port)), "names the host: {msg}");
    assert!(msg.contains("connection refused"), "names the cause: {msg}");
    assert!(file_digest(&p.cache_path()) == before, "cache file unchanged");

    // Reads keep working from the cache, after an offline sign-in against the verifier
    // the online sign-in left in it; a wrong password is refused offline too.
    let out = run(&["tenants", "--profile", &profile, "--as", ADMIN, "--cache", &cache, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("offline"), "{}", stderr(&out));
    let page: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(page["total"], 2);
    let out = cli()
        .env("PENGUIN_ADMIN_PASSWORD", "not-the-password")
        .args(["tenants", "--profile", &profile, "--as", ADMIN, "--cache", &cache])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("wrong email or password"), "{}", stderr(&out));
    // Without the key the cache cannot be read at all.
    let out = cli()
        .env("PENGUIN_ADMIN_CACHE_KEY", "another-key")
        .args(["tenants", "--profile", &profile, "--as", ADMIN, "--cache", &cache])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("cannot be decrypted"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_reported_as_such() {
    let p = Platform::installed().await;
    p.guard.0.require_password("right-password").unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A non-demo profile: the password would come from the keyring, which has none here.
    let text = std::fs::read_to_string(p.profile_path()).unwrap();
    let text = text.split("[demo]").next().unwrap().to_string();
    let profile = dir.path().join("prod.toml");
    std::fs::write(&profile, text).unwrap();
    let cache = dir.path().join("c.sqlite");
    let out = run(&sync_args(profile.to_str().unwrap(), cache.to_str().unwrap()));
    assert!(!out.status.success());
    let msg = stderr(&out);
    assert!(msg.contains("password authentication failed"), "{msg}");
    assert!(!cache.exists(), "no cache file is created when the sync cannot start");
}

#[test]
fn bad_profiles_and_urls_are_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("c.sqlite");
    let cache = cache.to_str().unwrap();

    let out = run(&sync_args("no-such-profile", cache));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("profile `no-such-profile` not found"), "{}", stderr(&out));

    let malformed = dir.path().join("bad.toml");
    std::fs::write(&malformed, "[databases]\noltp = 'postgres://x@h/oltp'\nqueue = \n").unwrap();
    let out = run(&sync_args(malformed.to_str().unwrap(), cache));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("malformed") && stderr(&out).contains("line 3"), "{}", stderr(&out));

    let wrong_url = dir.path().join("url.toml");
    std::fs::write(
        &wrong_url,
        "[databases]\noltp = 'http://h/oltp'\nqueue = 'postgres://x@h/q'\nolap = 'postgres://x@h/o'\nnotifications = 'postgres://x@h/n'\n",
    )
    .unwrap();
    let out = run(&sync_args(wrong_url.to_str().unwrap(), cache));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("OLTP database URL is invalid"), "{}", stderr(&out));
    assert!(!Path::new(cache).exists(), "nothing written");

    // An unreachable host: a port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let down = dir.path().join("down.toml");
    let url = |db: &str| format!("postgres://x@127.0.0.1:{port}/{db}");
    std::fs::write(
        &down,
        format!(
            "[databases]\noltp = '{}'\nqueue = '{}'\nolap = '{}'\nnotifications = '{}'\n",
            url("a"),
            url("b"),
            url("c"),
            url("d")
        ),
    )
    .unwrap();
    let out = run(&sync_args(down.to_str().unwrap(), cache));
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&format!("127.0.0.1:{port}")), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_cache_files_are_refused_untouched() {
    let p = Platform::installed().await;
    admin_account(&p).await;
    let profile = p.profile_path().to_string_lossy().to_string();
    let run = |args: &[&str]| {
        let mut all = vec!["tenants", "--profile", &profile, "--as", ADMIN];
        all.extend_from_slice(&args[1..]);
        cli().args(all).output().unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let not_sqlite = dir.path().join("notes.sqlite");
    std::fs::write(&not_sqlite, "these are my notes, not a database ".repeat(100)).unwrap();
    let before = file_digest(&not_sqlite);
    let out = run(&["tenants", "--cache", not_sqlite.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("is not a SQLite database"), "{}", stderr(&out));
    assert!(file_digest(&not_sqlite) == before);

    let newer = dir.path().join("newer.sqlite");
    let conn = rusqlite::Connection::open(&newer).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA application_id = {}; PRAGMA user_version = 99; CREATE TABLE _sync_tables (x);",
        penguin_admin::cache::APPLICATION_ID
    ))
    .unwrap();
    drop(conn);
    let before = file_digest(&newer);
    let out = run(&["tenants", "--cache", newer.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("newer version of the console"), "{}", stderr(&out));
    assert!(file_digest(&newer) == before);

    let foreign = dir.path().join("foreign.sqlite");
    rusqlite::Connection::open(&foreign).unwrap().execute_batch("CREATE TABLE recipes (name TEXT)").unwrap();
    let out = run(&["tenants", "--cache", foreign.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("another application"), "{}", stderr(&out));
}

#[test]
fn a_scale_of_zero_or_below_is_refused() {
    for scale in ["0", "-1", "ten"] {
        let out = run(&["demo", "up", "--scale", scale, "--profile", "/nonexistent/dir/p.toml"]);
        assert!(!out.status.success(), "scale {scale}");
        assert!(stderr(&out).contains("scale must be"), "scale {scale}: {}", stderr(&out));
    }
}

/// A CLI run keeps its console session in the encrypted cache: the next run resumes it
/// without the password; `sign-out` ends it on the platform, and a session the platform
/// ended (or a suspended staff member's) is refused, so the password is asked again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_resumes_its_kept_session_until_it_ends() {
    let p = Platform::installed().await;
    small_fixture(&p.central).await;
    admin_account(&p).await;
    let profile = p.profile_path().to_string_lossy().to_string();
    let cache = p.cache_path().to_string_lossy().to_string();
    let without_password = |args: &[&str]| {
        cli().env_remove("PENGUIN_ADMIN_PASSWORD").stdin(std::process::Stdio::null()).args(args).output().unwrap()
    };
    let live_sessions = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM penguin_console.staff_sessions WHERE revoked IS NULL AND expires > now()",
        )
        .fetch_one(&p.central.oltp)
        .await
        .unwrap()
    };

    // No kept session yet: the password is needed (stdin is empty: no password given).
    let out = without_password(&sync_args(&profile, &cache));
    assert!(!out.status.success(), "a first run needs the password");
    assert!(run(&sync_args(&profile, &cache)).status.success());
    assert_eq!(live_sessions().await, 1);

    // The next runs resume it: no password, no new session.
    let out = without_password(&sync_args(&profile, &cache));
    assert!(out.status.success(), "{}", stderr(&out));
    let out = without_password(&["tenants", "--profile", &profile, "--as", ADMIN, "--cache", &cache, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(live_sessions().await, 1, "resumed, not signed in again");
    // The token is in the cache, which only its key opens.
    let kept: String = open_cache(&cache)
        .query_row("SELECT value FROM _sync_meta WHERE key = 'cli_session'", [], |r| r.get(0))
        .unwrap();
    assert!(!kept.is_empty());

    // sign-out ends it on the platform and in the cache.
    let out = without_password(&["sign-out", "--profile", &profile, "--as", ADMIN, "--cache", &cache]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("signed out"));
    assert_eq!(live_sessions().await, 0);
    assert!(!without_password(&sync_args(&profile, &cache)).status.success(), "the password is asked again");

    // A session the platform refuses (the staff member was removed) is not resumed.
    assert!(run(&sync_args(&profile, &cache)).status.success());
    sqlx::query("DELETE FROM staff_members WHERE user_id = (SELECT id FROM users WHERE email = $1)")
        .bind(ADMIN)
        .execute(&p.central.oltp)
        .await
        .unwrap();
    let out = without_password(&sync_args(&profile, &cache));
    assert!(!out.status.success(), "a removed staff member's kept session is refused");
    let kept: Option<String> =
        open_cache(&cache).query_row("SELECT value FROM _sync_meta WHERE key = 'cli_session'", [], |r| r.get(0)).ok();
    assert_eq!(kept, None, "the refused session is forgotten");
}
