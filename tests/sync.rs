//! Sync correctness against a real throwaway PostgreSQL and a real SQLite file.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{assert_cache_matches, small_fixture, Platform};
use penguin_admin::auth::Session;
use penguin_admin::sync::{self, Cancel, Mode};

async fn run_sync(p: &Platform, s: &Session) -> sync::SyncReport {
    sync::sync(s, &p.cache_path(), None, &Cancel::default(), true).await.expect("sync")
}

fn mode_of(report: &sync::SyncReport, table: &str) -> Mode {
    report.tables.iter().find(|t| t.table == table).map(|t| t.mode).unwrap_or_else(|| panic!("{table} not synced"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_then_incremental_sync_follows_inserts_updates_and_deletes() {
    let p = Platform::installed().await;
    small_fixture(&p.central).await;
    let s = p.session("admin").await;

    let first = run_sync(&p, &s).await;
    assert_eq!(mode_of(&first, "payments"), Mode::Full);
    assert_eq!(first.tables.iter().find(|t| t.table == "payments").unwrap().rows_in_cache, 50);
    assert_cache_matches(&s, &p.cache_path()).await;

    sqlx::raw_sql(
        "UPDATE tenants SET name = 'Acme Outreach GmbH' WHERE name = 'Acme Outreach';
         DELETE FROM payments WHERE stripe_payment_intent_id IN ('pi_1', 'pi_2', 'pi_3');
         UPDATE payments SET status = 'refunded' WHERE stripe_payment_intent_id = 'pi_4';
         INSERT INTO payments (amount, status) VALUES (1.00, 'succeeded'), (2.00, 'succeeded');
         INSERT INTO users (id, name, email) VALUES ('00000000-0000-0000-0000-0000000000c9', 'Dan Roe', 'dan@acme.test');
         DELETE FROM tenant_users WHERE user_id = '00000000-0000-0000-0000-0000000000c2';",
    )
    .execute(&p.central.oltp)
    .await
    .unwrap();

    let second = run_sync(&p, &s).await;
    assert_eq!(mode_of(&second, "tenants"), Mode::Incremental);
    assert_eq!(mode_of(&second, "plans"), Mode::Unchanged);
    let payments = second.tables.iter().find(|t| t.table == "payments").unwrap();
    // 50 - 3 deleted + 2 inserted (the updated one is not counted twice).
    assert_eq!(
        (payments.mode, payments.rows_written, payments.rows_deleted, payments.rows_in_cache),
        (Mode::Incremental, 3, 3, 49)
    );
    assert_cache_matches(&s, &p.cache_path()).await;

    // A composite primary key and a cascade: deleting a tenant removes its memberships.
    sqlx::query("DELETE FROM tenants WHERE id = '00000000-0000-0000-0000-0000000000b2'")
        .execute(&p.central.oltp)
        .await
        .unwrap();
    let third = run_sync(&p, &s).await;
    assert_eq!(third.tables.iter().find(|t| t.table == "tenant_users").unwrap().rows_deleted, 1);
    assert_cache_matches(&s, &p.cache_path()).await;

    // TRUNCATE reloads the table.
    sqlx::query("TRUNCATE payments").execute(&p.central.oltp).await.unwrap();
    let fourth = run_sync(&p, &s).await;
    assert_eq!(mode_of(&fourth, "payments"), Mode::Full);
    assert_cache_matches(&s, &p.cache_path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_that_commits_after_a_sync_is_not_lost() {
    let p = Platform::installed().await;
    small_fixture(&p.central).await;
    let s = p.session("admin").await;
    run_sync(&p, &s).await;

    // Starts before the sync, writes, and commits after it: an `updated > last_sync`
    // scheme would miss this row because its timestamp is older than the sync.
    let mut long = p.central.oltp.begin().await.unwrap();
    sqlx::query("INSERT INTO tenants (id, name, created) VALUES ('00000000-0000-0000-0000-0000000000f1', 'Late Co', now() - interval '1 hour')")
        .execute(&mut *long)
        .await
        .unwrap();
    let during = run_sync(&p, &s).await;
    assert_eq!(mode_of(&during, "tenants"), Mode::Unchanged, "uncommitted rows are invisible");
    long.commit().await.unwrap();

    let after = run_sync(&p, &s).await;
    assert_eq!(after.tables.iter().find(|t| t.table == "tenants").unwrap().rows_written, 1);
    assert_cache_matches(&s, &p.cache_path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_and_long_transactions_end_identical_row_for_row() {
    let p = Platform::installed().await;
    small_fixture(&p.central).await;
    let s = p.session("admin").await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();

    // Short transactions: tenants and users created, renamed and deleted.
    for w in 0..2u32 {
        let pool = p.central.oltp.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..120u32 {
                let mut tx = pool.begin().await.unwrap();
                let tenant = uuid::Uuid::new_v4();
                let user = uuid::Uuid::new_v4();
                sqlx::query("INSERT INTO tenants (id, name) VALUES ($1, $2)").bind(tenant).bind(format!("W{w} tenant {i}")).execute(&mut *tx).await.unwrap();
                sqlx::query("INSERT INTO users (id, name, email) VALUES ($1, $2, $3)").bind(user).bind(format!("User {w}-{i}")).bind(format!("u{w}-{i}@t.test")).execute(&mut *tx).await.unwrap();
                sqlx::query("INSERT INTO tenant_users (tenant_id, user_id, roles) VALUES ($1, $2, '{owner}')").bind(tenant).bind(user).execute(&mut *tx).await.unwrap();
                if i % 3 == 0 {
                    sqlx::query("UPDATE tenants SET name = name || ' (renamed)', updated = now() WHERE id IN (SELECT id FROM tenants ORDER BY random() LIMIT 2)").execute(&mut *tx).await.unwrap();
                }
                if i % 5 == 0 {
                    sqlx::query("DELETE FROM tenants WHERE id IN (SELECT id FROM tenants WHERE name LIKE 'W%' ORDER BY random() LIMIT 1)").execute(&mut *tx).await.unwrap();
                }
                tx.commit().await.unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }
    // Long transactions that span several syncs, on two databases.
    for (w, pool) in [p.central.oltp.clone(), p.central.queue.clone()].into_iter().enumerate() {
        let stop = stop.clone();
        writers.push(tokio::spawn(async move {
            let mut round = 0;
            while !stop.load(Ordering::SeqCst) && round < 6 {
                round += 1;
                let mut tx = pool.begin().await.unwrap();
                if w == 0 {
                    sqlx::query("INSERT INTO payments (amount, status, description, created) SELECT 10.50, 'succeeded', 'long tx', now() - interval '2 hours' FROM generate_series(1, 200)").execute(&mut *tx).await.unwrap();
                    sqlx::query("UPDATE payments SET status = 'refunded' WHERE id IN (SELECT id FROM payments ORDER BY random() LIMIT 20)").execute(&mut *tx).await.unwrap();
                } else {
                    sqlx::query("INSERT INTO job_queues (name) VALUES ('q') ON CONFLICT DO NOTHING").execute(&mut *tx).await.unwrap();
                    sqlx::query("INSERT INTO jobs (queue_name, status, payload) SELECT 'q', 'queued', jsonb_build_object('n', g) FROM generate_series(1, 100) g").execute(&mut *tx).await.unwrap();
                    sqlx::query("DELETE FROM jobs WHERE id IN (SELECT id FROM jobs ORDER BY random() LIMIT 30)").execute(&mut *tx).await.unwrap();
                }
                tokio::time::sleep(Duration::from_millis(700)).await;
                tx.commit().await.unwrap();
            }
        }));
    }

    let mut syncs = 0;
    while writers.iter().any(|w| !w.is_finished()) {
        run_sync(&p, &s).await;
        syncs += 1;
        tokio::time::sleep(Duration::from_millis(150)).await;
        if syncs > 200 {
            stop.store(true, Ordering::SeqCst);
        }
    }
    for w in writers {
        w.await.unwrap();
    }
    run_sync(&p, &s).await;
    let compared = assert_cache_matches(&s, &p.cache_path()).await;
    assert!(syncs >= 5, "syncs interleaved with the writers: {syncs}");
    assert!(compared > 1000, "compared {compared} rows");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_sync_leaves_the_previous_state() {
    let p = Platform::installed().await;
    small_fixture(&p.central).await;
    let s = p.session("admin").await;
    run_sync(&p, &s).await;
    sqlx::query("INSERT INTO payments (amount, status) SELECT 1.00, 'succeeded' FROM generate_series(1, 50000)")
        .execute(&p.central.oltp)
        .await
        .unwrap();
    let cancel = Cancel::default();
    cancel.cancel();
    let err = sync::sync(&s, &p.cache_path(), None, &cancel, true).await.expect_err("cancelled");
    assert!(matches!(err, sync::SyncError::Cancelled), "{err}");
    let conn = penguin_admin::cache::open_read(&p.cache_path()).unwrap();
    let n: i64 = conn.query_row("SELECT count(*) FROM payments", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 50, "the cache keeps its previous state");
    drop(conn);
    run_sync(&p, &s).await;
    assert_cache_matches(&s, &p.cache_path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_reports_rows_done_against_total() {
    let p = Platform::installed().await;
    small_fixture(&p.central).await;
    let s = p.session("admin").await;
    sqlx::query("INSERT INTO payments (amount, status) SELECT 1.00, 'succeeded' FROM generate_series(1, 60000)")
        .execute(&p.central.oltp)
        .await
        .unwrap();
    sqlx::query("ANALYZE payments").execute(&p.central.oltp).await.unwrap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let into = seen.clone();
    let progress: sync::ProgressFn = Arc::new(move |p: &sync::Progress| into.lock().unwrap().push((p.done, p.total)));
    sync::sync(&s, &p.cache_path(), Some(progress), &Cancel::default(), true).await.unwrap();
    let seen = seen.lock().unwrap();
    assert!(seen.len() >= 3, "several progress reports: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "done never goes backwards");
    let (done, total) = *seen.last().unwrap();
    assert!(done >= 60_050 && total >= done, "last report {done}/{total}");
}

/// The snapshot this cache has registered on OLTP, read as the owner.
async fn registered(p: &Platform, client_id: &str) -> Option<String> {
    sqlx::query_scalar("SELECT snapshot::text FROM penguin_console.sync_clients WHERE client_id = $1::uuid")
        .bind(client_id)
        .fetch_optional(&p.central.oltp)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_registers_its_snapshot_under_its_own_id_and_the_change_log_is_pruned_below_it() {
    let p = Platform::installed().await;
    small_fixture(&p.central).await;
    let s = p.session("admin").await;
    run_sync(&p, &s).await;

    // The id the databases know this cache by is the one the cache keeps.
    let client_id: String = penguin_admin::cache::open_read(&p.cache_path())
        .unwrap()
        .query_row("SELECT value FROM _sync_meta WHERE key = 'client_id'", [], |r| r.get(0))
        .unwrap();
    let clients: i64 = sqlx::query_scalar("SELECT count(*) FROM penguin_console.sync_clients")
        .fetch_one(&p.central.oltp)
        .await
        .unwrap();
    assert_eq!(clients, 1, "one cache, one registration");
    let first = registered(&p, &client_id).await.expect("the first sync registers the cache's snapshot");

    // A sync minutes later registers nothing new (an older registered snapshot only keeps
    // more of the change log), and still applies the change.
    sqlx::query("UPDATE payments SET status = 'refunded' WHERE stripe_payment_intent_id = 'pi_4'")
        .execute(&p.central.oltp)
        .await
        .unwrap();
    let second = run_sync(&p, &s).await;
    assert_eq!(mode_of(&second, "payments"), Mode::Incremental);
    assert_eq!(registered(&p, &client_id).await.as_deref(), Some(first.as_str()));
    let logged: i64 =
        sqlx::query_scalar("SELECT count(*) FROM penguin_console.sync_changes WHERE tbl = 'public.payments'")
            .fetch_one(&p.central.oltp)
            .await
            .unwrap();
    assert!(logged >= 1, "the change stays in the log while the registered snapshot is older");

    // A full reload registers at once, and the log is pruned below the new snapshot.
    sqlx::query("TRUNCATE payments").execute(&p.central.oltp).await.unwrap();
    let third = run_sync(&p, &s).await;
    assert_eq!(mode_of(&third, "payments"), Mode::Full);
    let now = registered(&p, &client_id).await.unwrap();
    assert_ne!(now, first, "a full reload registers the new snapshot");
    let below: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM penguin_console.sync_changes WHERE xid < pg_snapshot_xmin($1::pg_snapshot)",
    )
    .bind(&now)
    .fetch_one(&p.central.oltp)
    .await
    .unwrap();
    assert_eq!(below, 0, "nothing older than the registered snapshot is kept");
    assert_cache_matches(&s, &p.cache_path()).await;
}
