//! `penguin-admin bench payments`: the payments list and its CSV export at scale. It
//! prints figures and ratios; it asserts nothing.
//!
//! A cache file is filled with `rows` synthetic Stripe charges (deterministic: 2,000
//! customers linked to tenants, skewed so a few large tenants hold many payments, 6 %
//! failed, some refunded and disputed, a year of dates, invoices for a third). The
//! same screen queries run first on the bare table (**baseline**: what SQLite does
//! without the indexes the Stripe sync creates), then with them; then the CSV export
//! of every row.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use rand::{Rng, SeedableRng};
use rusqlite::params;

use super::payments::{self, PaymentQuery, PaymentSort, PaymentStatus};
use crate::auth::{permissions, Staff};
use crate::cache;
use crate::stripe::sync::ensure_schema;

/// One query's timings, milliseconds.
#[derive(Debug, serde::Serialize)]
pub struct QueryFigures {
    /// What was asked.
    pub query: String,
    /// Rows matching.
    pub total: i64,
    /// Without the indexes, median.
    pub baseline_p50_ms: f64,
    /// With them, median.
    pub indexed_p50_ms: f64,
    /// With them, 95th percentile.
    pub indexed_p95_ms: f64,
    /// baseline / indexed (medians).
    pub speedup: f64,
}

/// What the benchmark measured.
#[derive(Debug, serde::Serialize)]
pub struct PaymentFigures {
    /// Charges in the table.
    pub rows: u64,
    /// Loading them (one transaction), seconds.
    pub load_s: f64,
    /// Building the indexes afterwards, seconds.
    pub index_s: f64,
    /// Per query.
    pub queries: Vec<QueryFigures>,
    /// CSV export of every row, seconds.
    pub export_s: f64,
    /// CSV export throughput, rows per second.
    pub export_rows_per_s: f64,
}

const CHARGE_INDEXES: &[&str] = &[
    "stripe_charges_created",
    "stripe_charges_status",
    "stripe_charges_customer",
    "stripe_charges_amount",
    "stripe_charges_invoice",
    "stripe_charges_pi",
];

fn fill(path: &Path, rows: u64) -> Result<f64> {
    let mut conn = cache::open_write(path)?;
    ensure_schema(&conn)?;
    for ix in CHARGE_INDEXES {
        conn.execute_batch(&format!("DROP INDEX IF EXISTS {ix}"))?;
    }
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS tenants (id TEXT PRIMARY KEY, name TEXT);
         CREATE TABLE IF NOT EXISTS tenant_config (tenant_id TEXT PRIMARY KEY, stripe_customer_id TEXT);
         INSERT OR REPLACE INTO stripe_sync_state VALUES ('as_of', '2026-11-30T00:00:00+00:00');",
    )?;
    let started = Instant::now();
    let tx = conn.transaction()?;
    {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut tenant = tx.prepare("INSERT INTO tenants VALUES (?1, ?2)")?;
        let mut link = tx.prepare("INSERT INTO tenant_config VALUES (?1, ?2)")?;
        let mut customer = tx.prepare("INSERT INTO stripe_customers VALUES (?1, ?2, ?3, 'usd', 0, 0, 0)")?;
        for c in 0..2000 {
            let tid = format!("00000000-0000-0000-0000-{c:012}");
            tenant.execute(params![tid, format!("Tenant {c}")])?;
            link.execute(params![tid, format!("cus_{c:06}")])?;
            customer.execute(params![
                format!("cus_{c:06}"),
                format!("billing{c}@tenant{c}.test"),
                format!("Billing {c}")
            ])?;
        }
        let mut charge = tx.prepare(
            "INSERT INTO stripe_charges VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'usd', ?7, ?8, ?9, ?10, ?11, ?12, 'visa', '4242',
                                                NULL, NULL, NULL, ?13)",
        )?;
        let mut invoice = tx.prepare(
            "INSERT INTO stripe_invoices (id, number, customer, status, currency, subtotal, discount, total, amount_due,
                                          amount_paid, amount_remaining, attempt_count, created)
             VALUES (?1, ?2, ?3, 'paid', 'usd', ?4, 0, ?4, ?4, ?4, 0, 1, ?5)",
        )?;
        let start = 1_764_547_200; // 2025-12-01
        for i in 0..rows {
            // Skewed: the square of a uniform number puts most payments on low customer ids.
            let u: f64 = rng.random();
            let c = ((u * u) * 2000.0) as u64;
            let amount: i64 = [2900, 9900, 49900, 1500, 4900, 12000][rng.random_range(0..6)];
            let created = start + (i as i64 * 31_536_000) / rows.max(1) as i64;
            let roll: u32 = rng.random_range(0..1000);
            let (status, pstatus, refunded, disputed, code) = match roll {
                0..60 => ("failed", "failed", 0, false, Some("card_declined")),
                60..80 => ("succeeded", "refunded", amount, false, None),
                80..90 => ("succeeded", "partially_refunded", amount / 2, false, None),
                90..93 => ("succeeded", "disputed", 0, true, None),
                _ => ("succeeded", "succeeded", 0, false, None),
            };
            let inv = (i % 3 == 0).then(|| format!("in_{i:08}"));
            if let Some(inv) = &inv {
                invoice.execute(params![inv, format!("INV-{i:08}"), format!("cus_{c:06}"), amount, created])?;
            }
            charge.execute(params![
                format!("ch_{i:08}"),
                format!("cus_{c:06}"),
                inv,
                format!("pi_{i:08}"),
                amount,
                refunded,
                status,
                pstatus,
                refunded == amount,
                disputed,
                code,
                code.map(|_| "Your card was declined."),
                created
            ])?;
        }
    }
    tx.commit()?;
    Ok(started.elapsed().as_secs_f64())
}

fn timings(conn: &rusqlite::Connection, q: &PaymentQuery, reps: usize) -> Result<(i64, Vec<f64>)> {
    let staff = bench_staff();
    let mut ms = Vec::new();
    let mut total = 0;
    for _ in 0..reps {
        let t = Instant::now();
        total = payments::list(conn, &staff, q)?.total;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    Ok((total, ms))
}

fn pct(ms: &[f64], p: f64) -> f64 {
    ms.get(((ms.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0.0)
}

fn bench_staff() -> Staff {
    Staff::service_with("bench", &[permissions::FINANCE_READ, permissions::PII_VIEW])
}

/// Runs the benchmark on `rows` charges, printing progress through `say`.
pub fn payments_at_scale(rows: u64, say: &dyn Fn(&str)) -> Result<PaymentFigures> {
    let dir = std::env::temp_dir().join(format!("penguin-bench-payments-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("cache.sqlite");
    let _ = std::fs::remove_file(&path);
    say(&format!("loading {rows} charges"));
    let load_s = fill(&path, rows)?;
    let queries: Vec<(&str, PaymentQuery)> = vec![
        ("newest 50, no filter", PaymentQuery { descending: true, ..Default::default() }),
        (
            "largest tenant, newest 50",
            PaymentQuery {
                tenant_id: Some("00000000-0000-0000-0000-000000000000".into()),
                descending: true,
                ..Default::default()
            },
        ),
        (
            "small tenant, newest 50",
            PaymentQuery {
                tenant_id: Some("00000000-0000-0000-0000-000000001900".into()),
                descending: true,
                ..Default::default()
            },
        ),
        (
            "failed in November",
            PaymentQuery {
                statuses: vec![PaymentStatus::Failed],
                from: Some("2026-11-01".into()),
                to: Some("2026-12-01".into()),
                descending: true,
                ..Default::default()
            },
        ),
        ("largest amounts", PaymentQuery { sort: PaymentSort::Amount, descending: true, ..Default::default() }),
        (
            "search: customer email",
            PaymentQuery { search: Some("billing1234@".into()), descending: true, ..Default::default() },
        ),
        ("search: invoice number", PaymentQuery { search: Some("INV-00500001".into()), ..Default::default() }),
        ("search: charge id", PaymentQuery { search: Some("ch_00700001".into()), ..Default::default() }),
    ];
    let conn = cache::open_read(&path)?;
    let mut baseline = Vec::new();
    for (name, q) in &queries {
        say(&format!("baseline: {name}"));
        baseline.push(timings(&conn, q, 3)?);
    }
    drop(conn);
    say("building indexes");
    let t = Instant::now();
    {
        let conn = cache::open_write(&path)?;
        ensure_schema(&conn)?;
    }
    let index_s = t.elapsed().as_secs_f64();
    let conn = cache::open_read(&path)?;
    let mut out = Vec::new();
    for ((name, q), (total, base)) in queries.iter().zip(baseline) {
        let (_, ms) = timings(&conn, q, 30)?;
        let (b, i) = (pct(&base, 0.5), pct(&ms, 0.5));
        out.push(QueryFigures {
            query: name.to_string(),
            total,
            baseline_p50_ms: b,
            indexed_p50_ms: i,
            indexed_p95_ms: pct(&ms, 0.95),
            speedup: if i > 0.0 { b / i } else { 0.0 },
        });
        say(&format!(
            "{name:<28} {total:>9} rows  baseline {b:>9.2} ms  indexed p50 {i:>7.2} ms  p95 {:>7.2} ms",
            pct(&ms, 0.95)
        ));
    }
    say("exporting every row as CSV");
    let t = Instant::now();
    let file = std::io::BufWriter::new(std::fs::File::create(dir.join("payments.csv"))?);
    let n = payments::export_csv(&conn, &bench_staff(), &PaymentQuery::default(), file, |_, _| true)?;
    let export_s = t.elapsed().as_secs_f64();
    drop(conn);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(PaymentFigures { rows, load_s, index_s, queries: out, export_s, export_rows_per_s: n as f64 / export_s })
}
