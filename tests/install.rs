//! `install` against platform databases the console did not create: the tables come
//! straight from the schema guides' own DDL (extracted from the docs at test time),
//! not from the project's migrations.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::path::PathBuf;

use common::{assert_cache_matches, Platform};
use penguin_admin::central::DbKind;
use penguin_admin::sync::{self, Cancel};

/// The schema guides: a copy of `penguinmails-docs/implementation-technical/
/// database-infrastructure` in `tests/fixtures/schema-guides`, so a clone anywhere can
/// run this; `PENGUIN_DOCS` points at a newer copy of the docs to check against it.
fn docs_dir() -> PathBuf {
    std::env::var_os("PENGUIN_DOCS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-guides"))
}

/// The ```sql blocks of a schema guide that create something.
fn ddl_blocks(guide: &str) -> Vec<String> {
    let path = docs_dir().join(guide);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e} (set PENGUIN_DOCS)", path.display()));
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        match (&mut current, trimmed) {
            (None, "```sql") => current = Some(String::new()),
            (Some(block), "```") => {
                if block.contains("CREATE ") || block.contains("ALTER TABLE") {
                    blocks.push(std::mem::take(block));
                }
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

/// Applies blocks in dependency order by retrying the ones that fail.
async fn apply(pool: &sqlx::PgPool, mut blocks: Vec<String>) {
    for _round in 0..5 {
        let mut failed = Vec::new();
        let mut last_err = String::new();
        for block in blocks {
            if let Err(e) = sqlx::raw_sql(&block).execute(pool).await {
                last_err = e.to_string();
                failed.push(block);
            }
        }
        if failed.is_empty() {
            return;
        }
        blocks = failed;
        if _round == 4 {
            panic!("could not apply {} blocks; last error: {last_err}\n{}", blocks.len(), blocks[0]);
        }
    }
}

async fn create_from_guides(p: &Platform) {
    let oltp: Vec<String> = ddl_blocks("oltp-database/schema-guide.md")
        .into_iter()
        // The guide's tenant_users DDL carries a quoted comment PostgreSQL rejects.
        .map(|b| b.replace(" \"NileDB-managed ARRAY - mandatory for authentication\"", ""))
        .collect();
    assert!(oltp.iter().any(|b| b.contains("CREATE TABLE payments")), "the guide's payments DDL was found");
    apply(&p.central.oltp, oltp).await;
    apply(&p.central.olap, ddl_blocks("olap-database/schema-guide.md")).await;
    apply(&p.central.notifications, ddl_blocks("notifications-database/schema-guide.md")).await;
    // The queue guide gives pseudo-DDL only; written out here from its field lists.
    sqlx::raw_sql(
        "CREATE TABLE job_queues (name VARCHAR(100) PRIMARY KEY, default_priority INTEGER, is_active BOOLEAN, created TIMESTAMPTZ);
         CREATE TABLE jobs (id UUID PRIMARY KEY, queue_name VARCHAR(100) REFERENCES job_queues(name), status VARCHAR(50),
             priority INTEGER, payload JSONB, attempt_count INTEGER, max_attempts INTEGER, run_at TIMESTAMPTZ,
             started TIMESTAMPTZ, completed TIMESTAMPTZ, failed TIMESTAMPTZ, last_error_message TEXT,
             created TIMESTAMPTZ, updated TIMESTAMPTZ);
         CREATE TABLE job_logs (id UUID PRIMARY KEY, job_id UUID REFERENCES jobs(id), status VARCHAR(50), log_message TEXT,
             attempt_number INTEGER, started TIMESTAMPTZ, finished TIMESTAMPTZ, duration INTERVAL, created TIMESTAMPTZ);",
    )
    .execute(&p.central.queue)
    .await
    .unwrap();
}

async fn platform_catalog(p: &Platform, kind: DbKind) -> Vec<String> {
    // Columns, types, defaults and constraints of the platform's own schemas.
    sqlx::query_scalar(
        "SELECT table_schema || '.' || table_name || '.' || column_name || ':' || data_type || ':' ||
                COALESCE(column_default, '') || ':' || is_nullable
         FROM information_schema.columns WHERE table_schema NOT IN ('penguin_console', 'penguin_console_api', 'pg_catalog', 'information_schema')
         UNION ALL
         SELECT conrelid::regclass::text || ':' || conname || ':' || pg_get_constraintdef(oid) FROM pg_constraint
         WHERE connamespace::regnamespace::text NOT IN ('penguin_console', 'penguin_console_api', 'pg_catalog')
         ORDER BY 1",
    )
    .fetch_all(p.central.pool(kind))
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_on_tables_made_from_the_schema_guides_then_sync() {
    let p = Platform::empty().await;
    create_from_guides(&p).await;
    let mut before = Vec::new();
    for kind in DbKind::ALL {
        before.push(platform_catalog(&p, kind).await);
    }

    let first = p.install().await;
    assert!(first.triggers_added.iter().any(|t| t == "oltp: public.payments"), "{:?}", first.triggers_added);
    assert_eq!(
        first.tables_missing,
        vec!["oltp: public.webhook_events".to_string(), "oltp: auth.sessions".to_string()],
        "Nile's sessions are not in the guide, nor the webhook log (the finance docs call it optional)"
    );
    // The guide's schema has no staff roles seeded: permissions are added, no grants.
    assert!(first.permissions_added.contains(&"payments.refund".to_string()));

    // Idempotent.
    let second = p.install().await;
    assert!(
        second.migrations_applied.is_empty() && second.triggers_added.is_empty() && second.permissions_added.is_empty()
    );

    // Nothing of the platform's tables changed (triggers aside).
    for (i, kind) in DbKind::ALL.into_iter().enumerate() {
        assert_eq!(platform_catalog(&p, kind).await, before[i], "{kind} tables altered by install");
    }

    sqlx::raw_sql(
        "INSERT INTO tenants (id, name) VALUES ('00000000-0000-0000-0000-000000000001', 'Guide Tenant');
         INSERT INTO plans (name, slug, price_monthly) VALUES ('Pro', 'pro', 9900);
         INSERT INTO payments (amount, status) VALUES (99.00, 'succeeded'), (29.00, 'failed');",
    )
    .execute(&p.central.oltp)
    .await
    .unwrap();
    sqlx::raw_sql(
        "INSERT INTO job_queues (name) VALUES ('email-sending');
         INSERT INTO jobs (id, queue_name, status, payload) VALUES (gen_random_uuid(), 'email-sending', 'queued', '{\"a\":1}');",
    )
    .execute(&p.central.queue)
    .await
    .unwrap();
    sqlx::query("INSERT INTO admin_audit_log (admin_user_id, action, resource_type, resource_id, tenant_id) VALUES ('u', 'a', 'r', '1', 't')")
        .execute(&p.central.olap)
        .await
        .unwrap();

    // The guide's schema has no Nile credentials table: sign-in needs one.
    sqlx::raw_sql(
        "CREATE SCHEMA IF NOT EXISTS auth;
         CREATE TABLE IF NOT EXISTS auth.credentials (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), user_id uuid NOT NULL,
             method text NOT NULL, provider text NOT NULL DEFAULT 'nile', payload jsonb, created timestamptz DEFAULT now(),
             updated timestamptz DEFAULT now(), deleted timestamptz);",
    )
    .execute(&p.central.oltp)
    .await
    .unwrap();
    let admin = p.session("admin").await;
    let report = sync::sync(&admin, &p.cache_path(), None, &Cancel::default(), true).await.unwrap();
    assert_eq!(report.missing, vec!["public.webhook_events".to_string(), "auth.sessions".to_string()]);
    sqlx::query("UPDATE payments SET status = 'refunded' WHERE status = 'succeeded'")
        .execute(&p.central.oltp)
        .await
        .unwrap();
    sync::sync(&admin, &p.cache_path(), None, &Cancel::default(), true).await.unwrap();
    let compared = assert_cache_matches(&admin, &p.cache_path()).await;
    assert!(compared >= 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_before_install_says_to_install() {
    let p = Platform::empty().await;
    p.central.create_platform_schema().await.unwrap();
    // No desktop login yet: the connection itself is refused, and the message says why.
    let err = penguin_admin::central::Central::connect(&p.targets(), 1).await.expect_err("not installed");
    assert!(err.to_string().contains("penguin-admin install"), "{err}");
    assert!(!p.cache_path().exists());
}
