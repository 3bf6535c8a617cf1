//! The deterministic demo data generator.
//!
//! [`seed`] fills the platform's four empty databases (OLTP, queue, OLAP,
//! notifications) with a plausible PenguinMails platform, so the console, its tests and
//! its benchmarks run on data shaped like production rather than on a handful of
//! hand-written rows:
//!
//! - **Tenants** (`200 × scale`) with heavy-tailed sizes (most have 1–5 members, a few
//!   have hundreds), ~10 % of users in two tenants, invited, removed and soft-deleted
//!   people, ~2 % soft-deleted tenants, and QA sandbox tenants named `QA Sandbox NN`
//!   (~2 %, at least two) — the only tenants the `qa` staff role may see.
//! - **Workspaces** with sending domains (SPF/DKIM/DMARC/MX records, some failing),
//!   mailboxes, leads, templates and campaigns with sequence steps; ~10 % of workspaces
//!   are *declining* (bounces and complaints rising, opens falling over 14 days).
//! - **Billing**: five plans (one grandfathered), subscriptions with upgrade/downgrade
//!   history, dunning and cancellations, add-ons, and exactly `100,000 × scale`
//!   payments over the past year with real Stripe decline codes and seasonality.
//! - **Infrastructure**: VPS instances, SMTP IPs (some blacklisted) and assignments.
//! - **Queue**: jobs in every state, failures with real SMTP errors, stuck jobs, a
//!   paused queue with a backlog.
//! - **Analytics, audit and events**: usage, campaign and mailbox metrics, a 90-day
//!   staff audit history and system events that point at the rows above.
//! - **Staff**: one account per standard role, `<role>@penguinmails.demo` with the
//!   password [`DEMO_PASSWORD`] (bcrypt, as Nile stores it), returned in [`SeedReport::credentials`].
//!
//! Output is a pure function of `(seed, now)`: every value (UUIDs and bcrypt salts
//! included) comes from ChaCha8 streams seeded with `seed`, one stream per table group,
//! and every timestamp is relative to `now`. An in-memory plan of the entities other
//! rows point at is built first (`world`); rows are then bulk-loaded with `COPY` in
//! ~1 MiB chunks while they are generated (payments are never all in memory), one
//! transaction per database, followed by `ANALYZE`. The big tables' foreign keys and
//! indexes are set aside during the load and rebuilt in the same transaction (`keys`),
//! which roughly halves the load time at scale 10.
//!
//! Everything except payments adds up to roughly 40 % of the payment count at every
//! scale, so a sync of the demo is dominated by the table that matters for finance.
//!
//! Where the platform schema leaves a choice open: `subscription_addons.price_monthly`
//! is the line's monthly total (unit price × quantity); `admin_audit_log.tenant_id` is
//! `platform` for platform-wide actions; `lead_analytics` and
//! `sequence_step_analytics` stay empty.

mod analytics;
mod billing;
mod campaigns;
mod copy;
mod infra;
mod keys;
mod notifications;
mod payments;
mod queue;
mod random;
mod staff;
mod tenants;
mod words;
mod workspaces;
mod world;

use std::time::Instant;

use sqlx::postgres::PgPool;

use crate::central::Central;
use copy::{db_err, ProgressFn};
use keys::SuspendedKeys;
use world::World;

/// The password of every demo staff account.
pub const DEMO_PASSWORD: &str = "penguin-demo-2026";

/// What to generate.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// Size multiplier (≥ 1): 200 tenants and 100,000 payments per unit.
    pub scale: u32,
    /// RNG seed; the same `(seed, now)` always produces the same rows.
    pub seed: u64,
    /// The moment the demo is "now": every timestamp is relative to it.
    pub now: chrono::DateTime<chrono::Utc>,
}

/// Progress of a running seed.
#[derive(Debug, Clone, Copy)]
pub struct SeedProgress {
    /// The table being filled, as `db.table` (e.g. `oltp.payments`).
    pub step: &'static str,
    /// Rows written to that table so far.
    pub done: u64,
    /// Rows that table will have.
    pub total: u64,
}

/// Sign-in details of a demo staff account.
#[derive(Debug, Clone)]
pub struct StaffCredential {
    /// Standard role name (`super_admin`, `admin`, `finance`, `ops`, `support`, `qa`).
    pub role: String,
    /// Sign-in email, `<role>@penguinmails.demo`.
    pub email: String,
    /// Plain-text password ([`DEMO_PASSWORD`]).
    pub password: String,
}

/// What [`seed`] wrote.
#[derive(Debug, Clone, Default)]
pub struct SeedReport {
    /// Rows per table, as (`db.table`, count), in load order.
    pub rows: Vec<(String, u64)>,
    /// The demo staff accounts, one per standard role.
    pub credentials: Vec<StaffCredential>,
}

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The scale was zero.
    #[error("the demo scale must be at least 1 (got {0})")]
    InvalidScale(u32),
    /// A statement or bulk load failed.
    #[error("seeding {table} failed: {source}")]
    Database {
        /// The table (`db.table`) or step that failed.
        table: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// Hashing a staff password failed.
    #[error("hashing the demo password for {email} failed: {reason}")]
    PasswordHash {
        /// The staff account.
        email: String,
        /// The hasher's message.
        reason: String,
    },
    /// The generator could not satisfy its own constraints.
    #[error("generating {table} failed: {reason}")]
    Generate {
        /// The table being generated.
        table: &'static str,
        /// What went wrong.
        reason: String,
    },
}

/// Shared by the table writers: the progress callback and the row counts so far.
struct Ctx<'a> {
    progress: &'a ProgressFn<'a>,
    rows: Vec<(String, u64)>,
}

/// Fills the four (empty) platform databases with the demo data set.
///
/// `progress` is called when each table starts, every 10,000 rows, and when it ends.
/// Each database is loaded in one transaction, so dropping the future (to cancel)
/// leaves the database being loaded empty; databases already finished keep their rows.
pub async fn seed(
    central: &Central,
    opts: &SeedOptions,
    progress: &(dyn Fn(SeedProgress) + Send + Sync),
) -> Result<SeedReport, SeedError> {
    if opts.scale == 0 {
        return Err(SeedError::InvalidScale(opts.scale));
    }
    let started = Instant::now();
    // Building the plan is a few hundred milliseconds of CPU at scale 10: keep it off the
    // async workers.
    let plan_opts = opts.clone();
    let world = tokio::task::spawn_blocking(move || World::build(&plan_opts))
        .await
        .map_err(|e| SeedError::Generate { table: "demo plan", reason: e.to_string() })??;
    tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, "demo plan built");
    let mut ctx = Ctx { progress, rows: Vec::new() };

    let payments = in_transaction(&central.oltp, "oltp", async |conn| load_oltp(conn, &world, &mut ctx).await).await?;
    let jobs = in_transaction(&central.queue, "queue", async |conn| queue::write(conn, &world, &mut ctx).await).await?;
    in_transaction(&central.olap, "olap", async |conn| {
        analytics::write(conn, &world, &mut ctx, &payments, &jobs).await
    })
    .await?;
    in_transaction(&central.notifications, "notifications", async |conn| {
        notifications::write(conn, &world, &mut ctx, &payments, &jobs).await
    })
    .await?;

    // Fresh statistics so the console's first queries get good plans; the four
    // databases are analysed concurrently (one server process each).
    let analyze = async |name: &str, pool: &PgPool| {
        sqlx::query("ANALYZE").execute(pool).await.map_err(db_err(&format!("{name} (ANALYZE)")))
    };
    tokio::try_join!(
        analyze("oltp", &central.oltp),
        analyze("queue", &central.queue),
        analyze("olap", &central.olap),
        analyze("notifications", &central.notifications),
    )?;
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, scale = opts.scale, "demo data seeded");

    let credentials = world
        .staff
        .iter()
        .map(|s| StaffCredential {
            role: s.role.to_string(),
            email: s.email.clone(),
            password: DEMO_PASSWORD.to_string(),
        })
        .collect();
    Ok(SeedReport { rows: ctx.rows, credentials })
}

/// Runs `body` on one connection inside a transaction, committing on success.
async fn in_transaction<T>(
    pool: &PgPool,
    db: &str,
    body: impl AsyncFnOnce(&mut sqlx::PgConnection) -> Result<T, SeedError>,
) -> Result<T, SeedError> {
    let mut tx = pool.begin().await.map_err(db_err(&format!("{db} (begin transaction)")))?;
    let out = body(&mut tx).await?;
    tx.commit().await.map_err(db_err(&format!("{db} (commit)")))?;
    Ok(out)
}

/// OLTP tables whose keys and indexes are rebuilt after the load rather than
/// maintained row by row (see `keys`).
const OLTP_BULK_TABLES: &[&str] = &[
    "tenant_users",
    "companies",
    "domains",
    "email_accounts",
    "leads",
    "templates",
    "campaigns",
    "campaign_sequence_steps",
    "subscriptions",
    "payments",
    "domain_ip_assignments",
    "auth.sessions",
];

/// The OLTP database, in foreign-key order.
async fn load_oltp(
    conn: &mut sqlx::PgConnection,
    world: &World,
    ctx: &mut Ctx<'_>,
) -> Result<payments::PaymentFacts, SeedError> {
    let keys = SuspendedKeys::suspend(conn, "oltp", OLTP_BULK_TABLES).await?;
    tenants::write_users(conn, world, ctx).await?;
    tenants::write_tenants(conn, world, ctx).await?;
    tenants::write_settings(conn, world, ctx).await?;
    workspaces::write(conn, world, ctx).await?;
    billing::write_catalogue(conn, world, ctx).await?;
    let facts = payments::write_payments(conn, world, ctx).await?;
    infra::write(conn, world, ctx).await?;
    staff::write_staff(conn, world, ctx).await?;
    staff::write_platform_config(conn, world, ctx).await?;
    tenants::write_sessions(conn, world, ctx).await?;
    keys.restore(conn).await?;
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn options(scale: u32) -> SeedOptions {
        let now = chrono::Utc.with_ymd_and_hms(2026, 3, 15, 12, 0, 0).single().expect("valid date");
        SeedOptions { scale, seed: 42, now }
    }

    fn lazy_central() -> Central {
        let pool = || PgPool::connect_lazy("postgres://nobody@127.0.0.1:1/none").expect("a valid URL");
        Central { oltp: pool(), queue: pool(), olap: pool(), notifications: pool() }
    }

    #[tokio::test]
    async fn rejects_scale_zero() {
        let err = seed(&lazy_central(), &options(0), &|_| {}).await.expect_err("scale 0 is invalid");
        assert!(matches!(err, SeedError::InvalidScale(0)), "{err}");
        assert!(err.to_string().contains("at least 1"));
    }

    #[test]
    fn plan_is_deterministic_and_consistent() {
        let a = World::build(&options(1)).expect("plan builds");
        let b = World::build(&options(1)).expect("plan builds");
        assert_eq!(a.tenants.len(), 200);
        let ids = |w: &World| w.users.iter().map(|u| u.id).collect::<Vec<_>>();
        assert_eq!(ids(&a), ids(&b));
        assert_eq!(
            a.staff.iter().map(|s| &s.crypt).collect::<Vec<_>>(),
            b.staff.iter().map(|s| &s.crypt).collect::<Vec<_>>()
        );
        assert!(a.tenants.iter().filter(|t| t.sandbox).count() >= 2);
        assert!(a.tenants.iter().any(|t| t.size >= 100), "a few tenants have 100+ members");
        for (ti, t) in a.tenants.iter().enumerate() {
            assert!(!t.members.is_empty() && !t.workspaces.is_empty(), "tenant {ti} has members and workspaces");
            let first = &a.memberships[t.members.start];
            assert_eq!(first.role, world::Role::Owner);
            assert!(first.deleted.is_none());
        }
        let members: usize = a.memberships.len();
        assert!((1_900..=2_500).contains(&members), "{members} memberships");
        assert!(a.ips.iter().any(|ip| !ip.listed_on.is_empty()));
    }

    /// Seeds twice into fresh databases and compares fingerprints. Needs a PostgreSQL
    /// superuser URL without a database name in `PENGUIN_SEED_TEST_PG` (e.g.
    /// `postgres://postgres@127.0.0.1:5433`); `PENGUIN_SEED_TEST_SCALE` sets the scale.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs a PostgreSQL server (PENGUIN_SEED_TEST_PG)"]
    async fn seeds_real_databases_deterministically() {
        let Ok(base) = std::env::var("PENGUIN_SEED_TEST_PG") else {
            eprintln!("PENGUIN_SEED_TEST_PG not set; skipping");
            return;
        };
        let scale = std::env::var("PENGUIN_SEED_TEST_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
        let opts = options(scale);
        let built = Instant::now();
        let plan = World::build(&opts).expect("plan builds");
        eprintln!(
            "plan: {} tenants, {} users built in {:.2} s",
            plan.tenants.len(),
            plan.users.len(),
            built.elapsed().as_secs_f64()
        );
        let mut fingerprints = Vec::new();
        for run in ["a", "b"] {
            let central = fresh_central(&base, &format!("seedtest_{run}")).await;
            let started = Instant::now();
            // Per table: when it started (since the seed began) and how long it took.
            let steps = std::sync::Mutex::new((Vec::<&str>::new(), Instant::now()));
            let log_steps = |p: SeedProgress| {
                let Ok(mut steps) = steps.lock() else { return };
                if p.done == 0 && !steps.0.contains(&p.step) {
                    steps.0.push(p.step);
                    steps.1 = Instant::now();
                    eprint!("  {:<40} at {:>6.2} s", p.step, started.elapsed().as_secs_f64());
                } else if p.done == p.total && steps.0.last() == Some(&p.step) {
                    steps.0.push("");
                    eprintln!(" {:>9} rows in {:>6.2} s", p.done, steps.1.elapsed().as_secs_f64());
                }
            };
            let report = seed(&central, &opts, &log_steps).await.expect("seed succeeds");
            eprintln!("run {run}: scale {scale} seeded in {:.2} s", started.elapsed().as_secs_f64());
            if run == "a" {
                check_invariants(&central, &report, scale, opts.now).await;
            }
            fingerprints.push(fingerprint(&central).await);
        }
        assert_eq!(fingerprints[0], fingerprints[1], "same (seed, now) gives identical data");
    }

    async fn fresh_central(base: &str, prefix: &str) -> Central {
        let admin = PgPool::connect(&format!("{base}/postgres")).await.expect("connect to the server");
        let mut pools = Vec::new();
        for db in ["oltp", "queue", "olap", "notifications"] {
            let name = format!("{prefix}_{db}");
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&admin).await.expect("drop");
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.expect("create");
            pools.push(PgPool::connect(&format!("{base}/{name}")).await.expect("connect"));
        }
        let [oltp, queue, olap, notifications]: [PgPool; 4] = pools.try_into().expect("four pools");
        let central = Central { oltp, queue, olap, notifications };
        central.create_platform_schema().await.expect("platform schema");
        central
    }

    async fn scalar(pool: &PgPool, sql: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await.expect(sql)
    }

    async fn check_invariants(c: &Central, report: &SeedReport, scale: u32, now: chrono::DateTime<chrono::Utc>) {
        let rows = |t: &str| report.rows.iter().find(|(n, _)| n == t).map_or(0, |(_, n)| *n);
        let payments = rows("oltp.payments");
        assert_eq!(payments, 100_000 * u64::from(scale));
        let others: u64 = report.rows.iter().filter(|(n, _)| n != "oltp.payments").map(|(_, n)| n).sum();
        eprintln!("  non-payment rows: {others} ({:.1} % of payments)", others as f64 * 100.0 / payments as f64);
        assert_eq!(report.credentials.len(), 6);
        assert_eq!(scalar(&c.oltp, "SELECT count(*) FROM tenants t WHERE NOT EXISTS (SELECT 1 FROM tenant_users tu WHERE tu.tenant_id = t.id AND tu.roles = '{owner}' AND tu.deleted IS NULL)").await, 0);
        let stuck: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM jobs WHERE status = 'running' AND started < $1 - interval '1 hour'",
        )
        .bind(now)
        .fetch_one(&c.queue)
        .await
        .expect("stuck jobs");
        assert!(stuck >= 8, "{stuck} stuck jobs");
        let past_due_failures: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM subscriptions s WHERE s.status = 'past_due' AND NOT EXISTS (SELECT 1 FROM payments p \
             WHERE p.subscription_id = s.id AND p.status = 'failed' AND p.created > $1 - interval '30 days')",
        )
        .bind(now)
        .fetch_one(&c.oltp)
        .await
        .expect("past-due failures");
        assert_eq!(past_due_failures, 0, "every past-due subscription has a recent failed payment");
        assert_eq!(
            scalar(&c.oltp, "SELECT count(*) FROM payments WHERE status = 'failed' AND processed IS NOT NULL").await,
            0
        );
        assert!(scalar(&c.oltp, "SELECT count(*) FROM tenants WHERE name LIKE 'QA Sandbox %'").await >= 2);
        assert_eq!(scalar(&c.olap, "SELECT count(*) FROM campaign_analytics WHERE delivered > sent OR opened_tracked > delivered OR clicked_tracked > opened_tracked").await, 0);
        let crypt: String = sqlx::query_scalar("SELECT payload->>'crypt' FROM auth.credentials c JOIN users u ON u.id = c.user_id WHERE u.email = 'finance@penguinmails.demo'")
            .fetch_one(&c.oltp)
            .await
            .expect("finance credential");
        assert!(crypt.starts_with("$2b$10$"), "a bcrypt hash as Nile writes it: {crypt}");
        assert!(bcrypt::verify(DEMO_PASSWORD, &crypt).expect("a bcrypt hash"), "password verifies");
        let statuses: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, count(*) FROM payments GROUP BY 1 ORDER BY 1")
                .fetch_all(&c.oltp)
                .await
                .expect("statuses");
        eprintln!("  payment statuses: {statuses:?}");
    }

    async fn fingerprint(c: &Central) -> Vec<String> {
        let checks: [(&PgPool, &str); 6] = [
            (&c.oltp, "SELECT md5(string_agg(p::text, '|' ORDER BY id)) FROM payments p"),
            (&c.oltp, "SELECT md5(string_agg(u::text, '|' ORDER BY id)) FROM users u"),
            (&c.oltp, "SELECT md5(string_agg(x::text, '|' ORDER BY id)) FROM auth.credentials x"),
            (&c.queue, "SELECT md5(string_agg(j::text, '|' ORDER BY id)) FROM jobs j"),
            (&c.olap, "SELECT md5(string_agg(a::text, '|' ORDER BY id)) FROM admin_audit_log a"),
            (&c.notifications, "SELECT md5(string_agg(e::text, '|' ORDER BY id)) FROM admin_system_events e"),
        ];
        let mut out = Vec::new();
        for (pool, sql) in checks {
            out.push(sqlx::query_scalar::<_, String>(sql).fetch_one(pool).await.expect(sql));
        }
        out
    }
}
