//! `penguin-admin bench workspaces`: the bar of the Workspaces screen. It prints figures
//! and ratios against baselines measured in the same run; it asserts nothing.
//!
//! 1. A throwaway demo is brought up at the given scale exactly as `penguin-admin demo up`
//!    does it (seed, console schema, workspace roles, 14 days of health history), then
//!    synced into a fresh cache as the app syncs it.
//! 2. **Workspace list**, all tenants, first page of [`PAGE`] rows, worst health first
//!    ([`health::workspace_page`], what the Workspaces screen calls), p50 / p95 over
//!    [`RUNS`] runs. Baseline: the whole list of every workspace with its aggregates,
//!    fetched and sorted to show the same first rows ([`health::workspaces`], unpaged).
//! 3. **Health computation** of today for every workspace ([`health::compute`], which
//!    writes to central PostgreSQL), median of [`COMPUTE_RUNS`] runs (a day is recomputed
//!    in place). Baseline: the same scores computed one workspace at a time — a query for
//!    its sums, an upsert, a query for its history and one for its name per workspace —
//!    the shape a straightforward loop over the workspaces would have.

use std::time::Instant;

use anyhow::{bail, Result};
use chrono::{Duration, NaiveDate};
use sqlx::Row;

use crate::auth::Staff;
use crate::central::Central;
use crate::demo::cluster::ClusterGuard;
use crate::demo::seed::SeedOptions;
use crate::health::{self, Counts, WorkspaceQuery};
use crate::{cache, demo, sync};

/// Rows on the first page (the screen's page size).
pub const PAGE: u32 = 50;
/// Timed runs of each list query.
pub const RUNS: usize = 30;
/// Timed runs of each health computation.
pub const COMPUTE_RUNS: usize = 5;

/// What the benchmark measured.
#[derive(Debug, serde::Serialize)]
pub struct WorkspaceFigures {
    /// Demo scale.
    pub scale: u32,
    /// Workspaces (`companies` rows) in the cache.
    pub workspaces: i64,
    /// Health rows (workspace × day) in the cache.
    pub health_rows: i64,
    /// Rows on the first page.
    pub page_rows: usize,
    /// First page, median, milliseconds.
    pub page_p50_ms: f64,
    /// First page, 95th percentile, milliseconds.
    pub page_p95_ms: f64,
    /// Baseline (the whole list), median, milliseconds.
    pub full_list_p50_ms: f64,
    /// Baseline, 95th percentile, milliseconds.
    pub full_list_p95_ms: f64,
    /// Baseline median / first page median.
    pub list_speedup: f64,
    /// Workspaces scored for today.
    pub scored: u32,
    /// `health::compute` for today, median, seconds.
    pub compute_s: f64,
    /// Per workspace scored, milliseconds.
    pub compute_ms_per_workspace: f64,
    /// Baseline (one workspace at a time), median, seconds.
    pub one_at_a_time_s: f64,
    /// Baseline / `health::compute`.
    pub compute_speedup: f64,
}

/// Runs the benchmark at `scale`, printing progress lines through `say`.
pub async fn workspaces(scale: u32, say: &(dyn Fn(&str) + Sync)) -> Result<WorkspaceFigures> {
    let work = std::env::temp_dir().join(format!("penguin-bench-ws-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let profile_path = work.join("bench.toml");
    say(&format!("bringing up a demo at scale {scale} (seed, install, workspace roles, 14 days of health)"));
    let t = Instant::now();
    let now = chrono::Utc::now();
    let (profile, _) = demo::up(&profile_path, &SeedOptions { scale, seed: 7, now }, true, &|_| {}).await?;
    let Some(cluster) = profile.demo.clone() else { bail!("the demo profile names no cluster") };
    let guard = ClusterGuard(cluster);
    say(&format!("demo up in {:.1} s", t.elapsed().as_secs_f64()));

    let cache_path = work.join("cache.sqlite");
    let t = Instant::now();
    let session = demo::staff_session(&profile, "admin").await?;
    sync::sync(&session, &cache_path, None, &sync::Cancel::default(), false).await?;
    say(&format!("synced in {:.1} s", t.elapsed().as_secs_f64()));

    let admin = session.staff().clone();
    let conn = cache::open_read(&cache_path)?;
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
    let workspaces = count("SELECT count(*) FROM companies")?;
    let health_rows = count("SELECT count(*) FROM console_workspace_health")?;
    say(&format!("{workspaces} workspaces, {health_rows} health rows in the cache"));

    let query = WorkspaceQuery { limit: Some(PAGE), ..Default::default() };
    let first = health::workspace_page(&conn, &admin, &query)?;
    let full = health::workspaces(&conn, &admin, None)?;
    // Same rows in the same order, or the comparison would mean nothing.
    if first.rows.as_slice() != &full[..first.rows.len().min(full.len())] || first.total != full.len() as i64 {
        bail!("the first page differs from the start of the full list");
    }
    let (page_p50_ms, page_p95_ms) = latency(|| Ok(health::workspace_page(&conn, &admin, &query)?.rows.len()))?;
    let (full_list_p50_ms, full_list_p95_ms) = latency(|| {
        let all = health::workspaces(&conn, &admin, None)?;
        Ok(all.into_iter().take(PAGE as usize).count())
    })?;
    say(&format!("first page p50 {page_p50_ms:.2} ms, whole list p50 {full_list_p50_ms:.2} ms"));

    let central = Central::connect(&profile.owner_targets()?, 4).await?;
    let service = Staff::service("bench");
    let today = now.date_naive();
    let mut scored = 0;
    let mut times = Vec::new();
    for _ in 0..COMPUTE_RUNS {
        let t = Instant::now();
        scored = health::compute(&central, &service, today).await?.scored;
        times.push(t.elapsed().as_secs_f64());
    }
    let compute_s = median(&mut times);
    let mut times = Vec::new();
    for _ in 0..COMPUTE_RUNS {
        let t = Instant::now();
        let n = one_at_a_time(&central, today).await?;
        times.push(t.elapsed().as_secs_f64());
        if n != scored {
            bail!("the baseline scored {n} workspaces, health::compute {scored}");
        }
    }
    let one_at_a_time_s = median(&mut times);
    say(&format!("compute {compute_s:.3} s, one at a time {one_at_a_time_s:.3} s ({scored} workspaces)"));

    central.oltp.close().await;
    central.olap.close().await;
    drop(guard);
    let _ = std::fs::remove_dir_all(&work);
    Ok(WorkspaceFigures {
        scale,
        workspaces,
        health_rows,
        page_rows: first.rows.len(),
        page_p50_ms,
        page_p95_ms,
        full_list_p50_ms,
        full_list_p95_ms,
        list_speedup: full_list_p50_ms / page_p50_ms,
        scored,
        compute_s,
        compute_ms_per_workspace: compute_s * 1000.0 / f64::from(scored.max(1)),
        one_at_a_time_s,
        compute_speedup: one_at_a_time_s / compute_s,
    })
}

/// The figures as a table (the README's style).
pub fn table(f: &WorkspaceFigures) -> String {
    let mut out = format!(
        "Workspaces at scale {}: {} workspaces, {} health rows; {} scored today\n\n",
        f.scale, f.workspaces, f.health_rows, f.scored
    );
    out.push_str("| measure | this code | baseline | ratio |\n|---|---:|---:|---:|\n");
    let page = format!("workspace list, all tenants, first {} rows", f.page_rows);
    out.push_str(&format!(
        "| {page}, p50 | {:.2} ms | {:.2} ms | {:.1}× |\n",
        f.page_p50_ms, f.full_list_p50_ms, f.list_speedup
    ));
    out.push_str(&format!(
        "| {page}, p95 | {:.2} ms | {:.2} ms | {:.1}× |\n",
        f.page_p95_ms,
        f.full_list_p95_ms,
        f.full_list_p95_ms / f.page_p95_ms
    ));
    out.push_str(&format!(
        "| health computation, one day, {} workspaces (median of {COMPUTE_RUNS}) | {:.3} s | {:.3} s | {:.1}× |\n",
        f.scored, f.compute_s, f.one_at_a_time_s, f.compute_speedup
    ));
    out.push_str(&format!(
        "| per workspace scored | {:.3} ms | {:.3} ms | |\n",
        f.compute_ms_per_workspace,
        f.one_at_a_time_s * 1000.0 / f64::from(f.scored.max(1))
    ));
    out
}

/// p50 and p95 of [`RUNS`] runs of `f`, in milliseconds (after one warm-up run).
fn latency(mut f: impl FnMut() -> Result<usize>) -> Result<(f64, f64)> {
    f()?;
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        std::hint::black_box(f()?);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let p = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    Ok((p(0.5), p(0.95)))
}

fn median(times: &mut [f64]) -> f64 {
    times.sort_by(|a, b| a.total_cmp(b));
    times[times.len() / 2]
}

/// The baseline: today's scores computed and stored one workspace at a time, in one
/// transaction, with the same formula ([`health::score`]) and the same upsert. Returns
/// the workspaces scored.
async fn one_at_a_time(central: &Central, day: NaiveDate) -> Result<u32> {
    let start = day - Duration::days(health::WINDOW_DAYS - 1);
    let end = day + Duration::days(1);
    let window = "updated >= $2::date AT TIME ZONE 'UTC' AND updated < $3::date AT TIME ZONE 'UTC'";
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT company_id FROM campaign_analytics
         WHERE updated >= $1::date AT TIME ZONE 'UTC' AND updated < $2::date AT TIME ZONE 'UTC' ORDER BY 1",
    )
    .bind(start)
    .bind(end)
    .fetch_all(&central.olap)
    .await?;
    let mut tx = central.olap.begin().await?;
    let mut scored = 0;
    for id in &ids {
        let r = sqlx::query(&format!(
            "SELECT sum(sent)::int8, sum(delivered)::int8, sum(opened_tracked)::int8, sum(replied)::int8,
                    sum(bounced)::int8, sum(spam_complaints)::int8
             FROM campaign_analytics WHERE company_id = $1 AND {window}"
        ))
        .bind(id)
        .bind(start)
        .bind(end)
        .fetch_one(&mut *tx)
        .await?;
        let n = |i: usize| r.get::<Option<i64>, _>(i).unwrap_or(0);
        let c = Counts { sent: n(0), delivered: n(1), opened: n(2), replied: n(3), bounced: n(4), complaints: n(5) };
        let Some(s) = health::score(&c) else { continue };
        sqlx::query(
            "INSERT INTO penguin_console.workspace_health
                 (company_id, day, score, colour, deliverability, engagement, bounce, complaint, volume, sent)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (company_id, day) DO UPDATE SET score = EXCLUDED.score, colour = EXCLUDED.colour,
                 deliverability = EXCLUDED.deliverability, engagement = EXCLUDED.engagement, bounce = EXCLUDED.bounce,
                 complaint = EXCLUDED.complaint, volume = EXCLUDED.volume, sent = EXCLUDED.sent, computed = now()",
        )
        .bind(id)
        .bind(day)
        .bind(s.score)
        .bind(serde_json::to_value(s.colour)?.as_str().unwrap_or_default())
        .bind(s.deliverability)
        .bind(s.engagement)
        .bind(s.bounce)
        .bind(s.complaint)
        .bind(s.volume)
        .bind(c.sent)
        .execute(&mut *tx)
        .await?;
        let history: Vec<i32> = sqlx::query_scalar(
            "SELECT score FROM penguin_console.workspace_health WHERE company_id = $1 AND day >= $2 AND day < $3
             ORDER BY day",
        )
        .bind(id)
        .bind(day - Duration::days(health::WINDOW_DAYS))
        .bind(day)
        .fetch_all(&mut *tx)
        .await?;
        std::hint::black_box(history);
        let name: Option<String> = sqlx::query_scalar("SELECT name FROM companies WHERE id = $1::uuid")
            .bind(id)
            .fetch_optional(&central.oltp)
            .await?;
        std::hint::black_box(name);
        scored += 1;
    }
    tx.commit().await?;
    Ok(scored)
}
