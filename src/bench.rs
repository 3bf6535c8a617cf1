//! `penguin-admin bench sync`: the sync benchmark. It prints figures and ratios
//! against a floor measured in the same run; it asserts nothing.
//!
//! 1. A throwaway cluster is seeded at the given scale (scale 10 = 1,000,000 payments).
//! 2. **Initial sync** of the whole demo (every cached table of the four databases,
//!    derived tables included) into a fresh cache, timed.
//! 3. **Floor** over the same tables: `psql \copy` of each table the sync wrote to CSV
//!    plus `sqlite3 .import` of those CSVs into the same table shapes inside one
//!    transaction, followed by the same indexes the cache builds — the least any tool
//!    could do to move those tables.
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
    /// Whole `penguin-admin sync --as` process after 1,000 changed payments (median of 5), milliseconds.
    pub incremental_process_ms: f64,
    /// The same with nothing changed (median of 5), milliseconds.
    pub unchanged_process_ms: f64,
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

    say("floor: psql \\copy + sqlite3 .import of the same tables");
    let mut platform_columns = PlatformColumns::new();
    for t in sync::tables::SYNCED {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2",
        )
        .bind(t.schema)
        .bind(t.name)
        .fetch_all(central.pool(t.db))
        .await?;
        platform_columns.insert(t.cache_name(), names.into_iter().collect());
    }
    let (floor_copy_s, floor_import_s) = floor(cluster, &cache_path, &platform_columns, &work)?;
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

    say("incremental: 1,000 payments change, a whole `penguin-admin sync --as` process (5 runs; then 5 with nothing changed)");
    let exe = std::env::current_exe()?;
    let process = || -> Result<f64> {
        let t = Instant::now();
        let out = Command::new(&exe)
            .args(["sync", "--as", "admin@penguinmails.demo", "--profile"])
            .arg(&profile_path)
            .arg("--cache")
            .arg(&cache_path)
            .arg("--json")
            .env("PENGUIN_ADMIN_PASSWORD", seed::DEMO_PASSWORD)
            .env(cache::key::ENV_KEY, &cache_key)
            .output()?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        if !out.status.success() {
            bail!("the sync process failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(ms)
    };
    let mut changed = Vec::new();
    for _ in 0..5 {
        change_1000().await?;
        changed.push(process()?);
    }
    let mut unchanged = Vec::new();
    for _ in 0..5 {
        unchanged.push(process()?);
    }
    let incremental_process_ms = median(&mut changed);
    let unchanged_process_ms = median(&mut unchanged);

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
        unchanged_process_ms,
        search_p50_ms,
        search_p95_ms,
    })
}

/// Each cached table's columns on the platform, by cache name.
type PlatformColumns = std::collections::HashMap<String, std::collections::HashSet<String>>;

/// Times the floor over the same tables the initial sync wrote: one `psql` per database
/// running `\copy (SELECT <the cache's columns> FROM <table>) TO csv` for each, then one
/// `sqlite3` run that creates every table in the cache's shape, `.import`s every CSV
/// inside one transaction and builds the same indexes, into a plain file. Tables the
/// cache fills from the console's aggregate views (no platform table of their own) and
/// the derived read tables are left out, so the floor moves slightly less than the sync.
fn floor(cluster: &Cluster, cache_path: &Path, platform: &PlatformColumns, work: &Path) -> Result<(f64, f64)> {
    let conn = cache::open_read(cache_path)?;
    let names: Vec<String> = conn
        .prepare("SELECT cache_table FROM _sync_tables WHERE rows > 0 ORDER BY cache_table")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut copies: std::collections::BTreeMap<DbKind, String> = Default::default();
    let mut creates = String::new();
    let mut imports = String::new();
    let mut indexes = String::new();
    for name in names {
        let Some(source) = sync::tables::SourceTable::by_cache_name(&name) else { continue };
        if source.schema == "penguin_console_api" {
            continue;
        }
        let mut cols = conn.prepare(&format!("SELECT name FROM pragma_table_info('{name}') ORDER BY cid"))?;
        let columns: Vec<String> = cols.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<_, _>>()?;
        // A column the view computes (not in the table) travels as NULL, so the CSV keeps the cache's shape.
        let has = |c: &String| platform.get(&name).is_some_and(|p| p.contains(c));
        let list = columns
            .iter()
            .map(|c| if has(c) { format!("\"{c}\"") } else { format!("NULL AS \"{c}\"") })
            .collect::<Vec<_>>()
            .join(", ");
        let csv = work.join(format!("{name}.csv"));
        copies.entry(source.db).or_default().push_str(&format!(
            "\\copy (SELECT {list} FROM {}.\"{}\") TO '{}' WITH (FORMAT csv)\n",
            source.schema,
            source.name,
            csv.display()
        ));
        let create: String =
            conn.query_row("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1", [&name], |r| r.get(0))?;
        creates.push_str(&format!("{create};\n"));
        imports.push_str(&format!(".import '{}' {name}\n", csv.display()));
        let mut ix =
            conn.prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL")?;
        for sql in ix.query_map([&name], |r| r.get::<_, String>(0))? {
            indexes.push_str(&format!("{};\n", sql?));
        }
    }
    drop(conn);

    let t = Instant::now();
    for (db, script) in &copies {
        let mut child = Command::new("psql")
            .arg(cluster.url(*db))
            .args(["-q", "-v", "ON_ERROR_STOP=1", "-f", "-"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .context("running psql")?;
        {
            use std::io::Write;
            child.stdin.take().context("psql stdin")?.write_all(script.as_bytes())?;
        }
        if !child.wait()?.success() {
            bail!("psql \\copy failed on the {} database", db.key());
        }
    }
    let copy_s = t.elapsed().as_secs_f64();

    let script = format!(
        "PRAGMA synchronous=NORMAL;\nPRAGMA cache_size=-131072;\n{creates}BEGIN;\n.mode csv\n{imports}{indexes}COMMIT;\n"
    );
    let db = work.join("floor.sqlite");
    let t = Instant::now();
    let mut child =
        Command::new("sqlite3").arg(&db).stdin(std::process::Stdio::piped()).spawn().context("running sqlite3")?;
    {
        use std::io::Write;
        child.stdin.take().context("sqlite3 stdin")?.write_all(script.as_bytes())?;
    }
    let status = child.wait()?;
    let import_s = t.elapsed().as_secs_f64();
    if !status.success() {
        bail!("sqlite3 .import failed");
    }
    Ok((copy_s, import_s))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
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
