//! `penguin-admin bench sync`: the sync benchmark. It prints figures and ratios
//! against a floor measured in the same run; it asserts nothing.
//!
//! 1. A throwaway cluster is seeded at the given scale (scale 10 = 1,000,000 payments).
//! 2. **Initial sync** of the whole demo (every cached table of the four databases,
//!    derived tables included) into a fresh cache, timed.
//! 3. **Floor**: `psql \copy payments TO csv` plus `sqlite3 .import` of that CSV into
//!    the same table shape inside one transaction, followed by the same indexes the
//!    cache builds on `payments` — the least any tool could do to move that table.
//! 4. **Incremental**: 1,000 payments change, then a sync in the signed-in session (what
//!    the desktop does on every scheduled sync) is timed; the same with nothing changed;
//!    then 1,000 more change and the whole `penguin-admin sync --as` process is timed
//!    (start-up, sign-in — a bcrypt check in the database —, the cache key's derivation,
//!    connections and all).
//! 5. **Tenant search**: substring searches over the synced cache, p50 / p95.
//!
//! `penguin-admin bench workspaces` is in [`workspaces`].

pub mod workspaces;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::central::{Central, DbKind};
use crate::demo::cluster::{Cluster, ClusterGuard};
use crate::demo::seed::{self, SeedOptions};
use crate::profiles::Profile;
use crate::tenants::{self, TenantQuery};
use crate::{cache, sync};

/// What the benchmark measured.
#[derive(Debug, serde::Serialize)]
pub struct SyncFigures {
    /// Payments in the demo.
    pub payments: i64,
    /// Rows synced in the initial sync, all tables.
    pub rows_synced: u64,
    /// Initial sync of everything, seconds.
    pub initial_sync_s: f64,
    /// `psql \copy` of payments to CSV, seconds.
    pub floor_copy_s: f64,
    /// `sqlite3 .import` + indexes, seconds.
    pub floor_import_s: f64,
    /// Initial sync time / floor time.
    pub ratio_to_floor: f64,
    /// Sync in the signed-in session after 1,000 changed payments, milliseconds.
    pub incremental_session_ms: f64,
    /// Sync in the signed-in session with nothing changed, milliseconds.
    pub unchanged_session_ms: f64,
    /// Whole `penguin-admin sync --as` process after 1,000 changed payments, milliseconds.
    pub incremental_process_ms: f64,
    /// Tenant search, median per query, milliseconds.
    pub search_p50_ms: f64,
    /// Tenant search, 95th percentile, milliseconds.
    pub search_p95_ms: f64,
}

/// Runs the benchmark at `scale`, printing progress lines through `say`.
pub async fn sync_vs_floor(scale: u32, say: &(dyn Fn(&str) + Sync)) -> Result<SyncFigures> {
    let work = std::env::temp_dir().join(format!("penguin-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    say("starting a throwaway cluster");
    let guard = ClusterGuard(tokio::task::spawn_blocking(Cluster::start).await??);
    let cluster = &guard.0;
    let profile_path = work.join("bench.toml");
    let profile = Profile::for_demo(cluster, &profile_path);
    profile.save(&profile_path)?;
    let central = Central::connect(&profile.owner_targets()?, 4).await?;
    central.create_platform_schema().await?;
    say(&format!("seeding scale {scale}"));
    let t = Instant::now();
    seed::seed(&central, &SeedOptions { scale, seed: 7, now: chrono::Utc::now() }, &|_| {}).await?;
    crate::demo::install_console(cluster, &central).await?;
    say(&format!("seeded in {:.1} s", t.elapsed().as_secs_f64()));
    let payments: i64 = sqlx::query_scalar("SELECT count(*) FROM payments").fetch_one(&central.oltp).await?;

    say("initial sync");
    let cache_path = work.join("cache.sqlite");
    // The cache is encrypted as every staff cache is; its key is given to the CLI run too.
    let cache_key = cache::key::random_key();
    cache::unlock(&cache_path, crate::auth::Secret::new(cache_key.clone()));
    let t = Instant::now();
    // As a desktop does: the desktop login, an admin's session, the role-scoped views.
    let session = crate::demo::staff_session(&profile, "admin").await?;
    let report = sync::sync(&session, &cache_path, None, &sync::Cancel::default(), false).await?;
    let initial_sync_s = t.elapsed().as_secs_f64();
    let rows_synced = report.tables.iter().map(|t| t.rows_written).sum();
    say(&format!("initial sync: {rows_synced} rows in {initial_sync_s:.2} s"));

    say("floor: psql \\copy + sqlite3 .import");
    let (floor_copy_s, floor_import_s) = floor(cluster, &cache_path, &work)?;
    let floor_s = floor_copy_s + floor_import_s;
    say(&format!("floor: copy {floor_copy_s:.2} s + import {floor_import_s:.2} s = {floor_s:.2} s"));

    let change_1000 = || {
        sqlx::query(
            "UPDATE payments SET status = 'refunded', description = description || ' (refunded)'
             WHERE id IN (SELECT id FROM payments ORDER BY id LIMIT 1000)",
        )
        .execute(&central.oltp)
    };
    say("incremental: 1,000 payments change, synced in the session");
    change_1000().await?;
    let t = Instant::now();
    sync::sync(&session, &cache_path, None, &sync::Cancel::default(), false).await?;
    let incremental_session_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    sync::sync(&session, &cache_path, None, &sync::Cancel::default(), false).await?;
    let unchanged_session_ms = t.elapsed().as_secs_f64() * 1000.0;

    say("incremental: 1,000 payments change, a whole `penguin-admin sync --as` process");
    change_1000().await?;
    let exe = std::env::current_exe()?;
    let t = Instant::now();
    let out = Command::new(exe)
        .args(["sync", "--as", "admin@penguinmails.demo", "--profile"])
        .arg(&profile_path)
        .arg("--cache")
        .arg(&cache_path)
        .arg("--json")
        .env("PENGUIN_ADMIN_PASSWORD", seed::DEMO_PASSWORD)
        .env(cache::key::ENV_KEY, &cache_key)
        .output()?;
    let incremental_process_ms = t.elapsed().as_secs_f64() * 1000.0;
    if !out.status.success() {
        bail!("incremental sync failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    let (search_p50_ms, search_p95_ms) = search_latency(&cache_path)?;
    drop(guard);
    let _ = std::fs::remove_dir_all(&work);
    Ok(SyncFigures {
        payments,
        rows_synced,
        initial_sync_s,
        floor_copy_s,
        floor_import_s,
        ratio_to_floor: initial_sync_s / floor_s,
        incremental_session_ms,
        unchanged_session_ms,
        incremental_process_ms,
        search_p50_ms,
        search_p95_ms,
    })
}

/// Times `psql \copy` of payments and `sqlite3 .import` into the cache's shape.
fn floor(cluster: &Cluster, cache_path: &Path, work: &Path) -> Result<(f64, f64)> {
    let csv = work.join("payments.csv");
    let t = Instant::now();
    let status = Command::new("psql")
        .arg(cluster.url(DbKind::Oltp))
        .arg("-qc")
        .arg(format!("\\copy payments TO '{}' WITH (FORMAT csv)", csv.display()))
        .status()
        .context("running psql")?;
    let copy_s = t.elapsed().as_secs_f64();
    if !status.success() {
        bail!("psql \\copy failed");
    }
    // Same declared columns and indexes as the cache's payments table.
    let conn = cache::open_read(cache_path)?;
    let create: String =
        conn.query_row("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'payments'", [], |r| r.get(0))?;
    let mut stmt = conn
        .prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'payments' AND sql IS NOT NULL")?;
    let indexes: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    let script = format!(
        "PRAGMA synchronous=NORMAL;\nPRAGMA cache_size=-131072;\n{create};\nBEGIN;\n.mode csv\n.import '{}' payments\n{};\nCOMMIT;\n",
        csv.display(),
        indexes.join(";\n")
    );
    let db = work.join("floor.sqlite");
    let t = Instant::now();
    let mut child =
        Command::new("sqlite3").arg(&db).stdin(std::process::Stdio::piped()).spawn().context("running sqlite3")?;
    {
        use std::io::Write;
        let stdin = child.stdin.as_mut().context("sqlite3 stdin")?;
        stdin.write_all(script.as_bytes())?;
    }
    let status = child.wait()?;
    let import_s = t.elapsed().as_secs_f64();
    if !status.success() {
        bail!("sqlite3 .import failed");
    }
    Ok((copy_s, import_s))
}

fn search_latency(cache_path: &Path) -> Result<(f64, f64)> {
    let conn = cache::open_read(cache_path)?;
    let terms = ["and", "Labs", "son", "ventures", "gmail", "ria", "tech", "@", "zzzz-no-match", "Group"];
    let mut times = Vec::new();
    for round in 0..20 {
        for term in terms {
            let t = Instant::now();
            let page = tenants::list(&conn, &TenantQuery { search: Some(term.to_string()), ..Default::default() })?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            if round == 0 && page.total < 0 {
                bail!("impossible");
            }
        }
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let p = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    Ok((p(0.5), p(0.95)))
}
