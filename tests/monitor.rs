//! Monitoring checks against real peers: the throwaway PostgreSQL with queue fixtures, a
//! redis-server, dnsmasq answering blocklist queries, Prometheus scraping a /metrics endpoint
//! with known node_exporter values, aiosmtpd (plain and STARTTLS), and in-test peers that
//! hang or answer garbage. Every expected number is worked out by hand in the comments.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
#[path = "common/peers.rs"]
mod peers;

use std::time::{Duration, Instant};

use common::{as_desktop, small_fixture, staff_account, Platform};
use penguin_admin::alerts::{Condition, Severity};
use penguin_admin::auth::{AuthError, Session, Staff};
use penguin_admin::central::{Central, DbKind};
use penguin_admin::monitor::dnsbl::{self, Listing};
use penguin_admin::monitor::queue::{self, JobAction, JobFilter, JobState};
use penguin_admin::monitor::redis::RedisTarget;
use penguin_admin::monitor::smtp::{self, SmtpState};
use penguin_admin::monitor::{
    self, sending, server, Area, MonitorError, MonitorSecrets, MonitorSettings, Reader, Status, Thresholds,
};

/// The staff member's `users.id`, as the audit log records it.
fn id_of(session: &Session) -> String {
    session.staff().user_id().unwrap().to_string()
}

fn fingerprints(c: &[Condition]) -> Vec<String> {
    let mut f: Vec<String> = c.iter().map(|c| c.fingerprint.clone()).collect();
    f.sort();
    f
}

async fn q(c: &Central, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&c.queue).await.unwrap()
}

const STUCK: &str = "00000000-0000-0000-0000-00000000a002";
const RUNNING: &str = "00000000-0000-0000-0000-00000000a001";
const FAILED_WITH_LOGS: &str = "00000000-0000-0000-0000-00000000f001";

/// Queue fixture, by queue:
/// - `email-sending`: 3 queued, 4 migrated_to_redis (Redis holds 2), 2 running (one for 10
///   minutes, one for 90: stuck), 13 completed (6 in the last hour: 4 from .7 and 2 from .9;
///   3 from .7 at the start of the hour three hours back + 10 min; 1 from .7 20 h ago; 2 from
///   .9 10 h ago; 1 from .7 30 h ago), 3 failed (2 from .7 two hours ago, 1 from .9 30 min ago)
///   about campaign camp-42 for zoe@example.test.
/// - `email-sending:low`: 150 queued.
/// - `analytics:daily-aggregate`: 11 failed (4 "Division by zero in MRR calculation", 7 timeouts).
/// - `warmup:process`: 10,001 queued.
async fn queue_fixture(c: &Central) {
    sqlx::raw_sql(&format!(
        "INSERT INTO job_queues (name, default_priority) VALUES
           ('email-sending', 50), ('email-sending:low', 100), ('analytics:daily-aggregate', 200),
           ('warmup:process', 150);
         INSERT INTO jobs (queue_name, status, payload)
           SELECT 'email-sending', 'queued', '{{\"campaign_id\": \"camp-7\"}}' FROM generate_series(1, 3);
         INSERT INTO jobs (queue_name, status, payload)
           SELECT 'email-sending', 'migrated_to_redis', '{{}}' FROM generate_series(1, 4);
         INSERT INTO jobs (id, queue_name, status, started, attempt_count) VALUES
           ('{RUNNING}', 'email-sending', 'running', now() - interval '10 minutes', 1),
           ('{STUCK}', 'email-sending', 'running', now() - interval '90 minutes', 2);
         INSERT INTO jobs (queue_name, status, payload, completed)
           SELECT 'email-sending', 'completed', jsonb_build_object('smtp_ip', ip), at
             FROM (VALUES
               ('203.0.113.7', now() - interval '5 minutes'), ('203.0.113.7', now() - interval '5 minutes'),
               ('203.0.113.7', now() - interval '5 minutes'), ('203.0.113.7', now() - interval '5 minutes'),
               ('198.51.100.9', now() - interval '5 minutes'), ('198.51.100.9', now() - interval '5 minutes'),
               ('203.0.113.7', date_trunc('hour', now()) - interval '3 hours' + interval '10 minutes'),
               ('203.0.113.7', date_trunc('hour', now()) - interval '3 hours' + interval '10 minutes'),
               ('203.0.113.7', date_trunc('hour', now()) - interval '3 hours' + interval '10 minutes'),
               ('203.0.113.7', now() - interval '20 hours'),
               ('198.51.100.9', now() - interval '10 hours'), ('198.51.100.9', now() - interval '10 hours'),
               ('203.0.113.7', now() - interval '30 hours')) AS v(ip, at);
         INSERT INTO jobs (id, queue_name, status, payload, failed, attempt_count, last_error_message) VALUES
           ('{FAILED_WITH_LOGS}', 'email-sending', 'failed',
            '{{\"campaign_id\": \"camp-42\", \"recipient_email\": \"zoe@example.test\", \"smtp_ip\": \"203.0.113.7\"}}',
            now() - interval '2 hours', 3, 'SMTP 550 5.1.1 <zoe@example.test>: mailbox unavailable'),
           (gen_random_uuid(), 'email-sending', 'failed',
            '{{\"campaign_id\": \"camp-42\", \"recipient_email\": \"yan@example.test\", \"smtp_ip\": \"203.0.113.7\"}}',
            now() - interval '2 hours', 3, 'SMTP 421 4.7.0 Try again later'),
           (gen_random_uuid(), 'email-sending', 'failed',
            '{{\"campaign_id\": \"camp-42\", \"recipient_email\": \"xia@example.test\", \"smtp_ip\": \"198.51.100.9\"}}',
            now() - interval '30 minutes', 3, 'Connection timed out to 198.51.100.9:587');
         INSERT INTO job_logs (job_id, status, log_message, attempt_number, started, finished, duration) VALUES
           ('{FAILED_WITH_LOGS}', 'retry', 'SMTP 421 for zoe@example.test', 1, now() - interval '4 hours',
            now() - interval '4 hours' + interval '2 seconds', interval '2 seconds'),
           ('{FAILED_WITH_LOGS}', 'retry', 'SMTP 421 again', 2, now() - interval '3 hours',
            now() - interval '3 hours' + interval '1 second', interval '1 second'),
           ('{FAILED_WITH_LOGS}', 'failed', 'SMTP 550 5.1.1 mailbox unavailable', 3, now() - interval '2 hours',
            now() - interval '2 hours' + interval '500 milliseconds', interval '500 milliseconds');
         INSERT INTO jobs (queue_name, status) SELECT 'email-sending:low', 'queued' FROM generate_series(1, 150);
         INSERT INTO jobs (queue_name, status, payload, failed, attempt_count, last_error_message)
           SELECT 'analytics:daily-aggregate', 'failed', jsonb_build_object('date', '2026-11-29', 'n', n),
                  now() - interval '1 hour', 3, 'Division by zero in MRR calculation'
             FROM generate_series(1, 4) n;
         INSERT INTO jobs (queue_name, status, payload, failed, attempt_count, last_error_message)
           SELECT 'analytics:daily-aggregate', 'failed', jsonb_build_object('date', '2026-11-28', 'n', n),
                  now() - interval '1 hour', 3, 'connection timeout to olap'
             FROM generate_series(1, 7) n;
         INSERT INTO jobs (queue_name, status) SELECT 'warmup:process', 'queued' FROM generate_series(1, 10001);"
    ))
    .execute(&c.queue)
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_figures_colours_conditions_and_actions() {
    let p = Platform::installed().await;
    let c = &p.central;
    queue_fixture(c).await;
    let redis = peers::redis();
    for job in ["{\"id\":\"r1\"}", "{\"id\":\"r2\"}"] {
        assert!(peers::redis_cmd(redis.port, &["LPUSH", "queue:email-sending", job]).starts_with(':'));
    }
    let target = RedisTarget::parse(&format!("redis://{}", redis.addr()), None).unwrap();
    let th = Thresholds::default();
    let ops = p.session("ops").await;
    let support = p.session("support").await;
    let (ops_r, support_r) = (Reader::Staff(&ops), Reader::Staff(&support));

    let o = queue::overview(support_r, Some(&target), &th).await.unwrap();
    assert_eq!(o.redis_error, None);
    let names: Vec<&str> = o.queues.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(names, ["analytics:daily-aggregate", "email-sending", "email-sending:low", "warmup:process"]);
    let es = &o.queues[1];
    assert_eq!(es.redis_key, "queue:email-sending");
    // 3 queued in PostgreSQL + 2 in the Redis list = 5 waiting (not the 4 PostgreSQL marks migrated).
    assert_eq!((es.waiting_postgres, es.waiting_redis, es.migrated_to_redis, es.waiting), (3, Some(2), 4, 5));
    assert_eq!((es.active, es.stuck, es.failed, es.completed_last_hour), (2, 1, 3, 6));
    // 6 completed in the last hour / 60 min; 12 in 24 h (the 30 h one excluded) / 1440 min.
    assert!((es.rate_per_minute_1h - 0.1).abs() < 1e-9);
    assert!((es.rate_per_minute_24h - 12.0 / 1440.0).abs() < 1e-9);
    assert_eq!(es.colour, Status::Green);
    assert_eq!((o.queues[2].waiting, o.queues[2].colour), (150, Status::Yellow)); // 100 ≤ 150 ≤ 1,000
    assert_eq!((o.queues[0].failed, o.queues[0].colour), (11, Status::Red)); // 11 failed > 10
    assert_eq!((o.queues[3].waiting, o.queues[3].colour), (10_001, Status::Red)); // > 1,000

    // Without Redis, PostgreSQL's 4 migrated jobs stand in: 3 + 4 = 7.
    let no_redis = queue::overview(support_r, None, &th).await.unwrap();
    assert_eq!((no_redis.queues[1].waiting_redis, no_redis.queues[1].waiting), (None, 7));

    // Conditions: the 10,001 backlog (critical), the stuck job and the 11 failures (warnings).
    let conds = queue::conditions(&o, &th);
    assert_eq!(
        fingerprints(&conds),
        [
            "queue:queue:analytics:daily-aggregate:failed",
            "queue:queue:email-sending:stuck",
            "queue:queue:warmup:process:backlog"
        ]
    );
    let backlog = conds.iter().find(|c| c.fingerprint.ends_with(":backlog")).unwrap();
    assert_eq!(backlog.severity, Severity::Critical);
    assert_eq!(backlog.summary, "queue:warmup:process has 10,001 waiting jobs (alert above 10,000)");

    // Failed jobs searchable by payload content and by error text, case-insensitively.
    let failed = JobFilter { state: Some(JobState::Failed), ..Default::default() };
    assert_eq!(queue::jobs(ops_r, &failed, 60, 50, 0).await.unwrap().total, 14); // 3 + 11
    let camp = JobFilter { search: Some("camp-42".into()), ..failed.clone() };
    assert_eq!(queue::jobs(ops_r, &camp, 60, 50, 0).await.unwrap().total, 3);
    let division = JobFilter { search: Some("DIVISION by".into()), ..failed.clone() };
    assert_eq!(queue::jobs(ops_r, &division, 60, 50, 0).await.unwrap().total, 4);
    let stuck = JobFilter { state: Some(JobState::Stuck), ..Default::default() };
    let page = queue::jobs(ops_r, &stuck, 60, 50, 0).await.unwrap();
    assert_eq!((page.total, page.rows[0].id.to_string(), page.rows[0].stuck), (1, STUCK.to_string(), true));

    // Detail with the attempt history, in order; support sees emails masked.
    let d = queue::job_detail(support_r, FAILED_WITH_LOGS.parse().unwrap(), 60).await.unwrap();
    assert_eq!(d.logs.iter().map(|l| l.attempt_number.unwrap()).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(d.logs[2].duration_ms, Some(500.0));
    assert_eq!(d.job.payload.as_ref().unwrap()["recipient_email"], "z•••@•••.test");
    assert_eq!(d.job.last_error_message.as_deref(), Some("SMTP 550 5.1.1 <z•••@•••.test>: mailbox unavailable"));
    assert_eq!(d.logs[0].log_message.as_deref(), Some("SMTP 421 for z•••@•••.test"));
    let d = queue::job_detail(ops_r, FAILED_WITH_LOGS.parse().unwrap(), 60).await.unwrap();
    assert_eq!(d.job.payload.as_ref().unwrap()["recipient_email"], "zoe@example.test");
    // The service identity (the CLI without --as, over the owner's connection) reads every
    // job through the same SQL, masked.
    let service = Staff::service("test");
    let d = queue::job_detail(Reader::Service(c, &service), FAILED_WITH_LOGS.parse().unwrap(), 60).await.unwrap();
    assert_eq!(d.job.payload.as_ref().unwrap()["recipient_email"], "z•••@•••.test");
    assert_eq!((d.logs.len(), d.logs[0].log_message.as_deref()), (3, Some("SMTP 421 for z•••@•••.test")));
    assert_eq!(queue::jobs(Reader::Service(c, &service), &camp, 60, 50, 0).await.unwrap().total, 3);
    let by_email = JobFilter { search: Some("zoe@example.test".into()), ..Default::default() };
    assert!(matches!(queue::jobs(support_r, &by_email, 60, 50, 0).await, Err(MonitorError::BadInput(_))));
    assert_eq!(queue::jobs(ops_r, &by_email, 60, 50, 0).await.unwrap().total, 1);

    // Pause / resume: support may not, and the database refuses it too; ops may, audited
    // once with the verified identity; pausing twice changes nothing.
    assert!(matches!(
        queue::set_queue_active(&support, "email-sending:low", false, None).await,
        Err(MonitorError::Forbidden(_))
    ));
    for sql in [
        "SELECT penguin_console_api.queue_set_active('email-sending:low', false, 'x')",
        "SELECT penguin_console_api.queue_job_action('00000000-0000-0000-0000-00000000a002', 'retry', 60)",
        "SELECT penguin_console_api.queue_bulk_preview(NULL, 'failed', NULL, 'retry', 60)",
    ] {
        assert_eq!(as_desktop(&support, DbKind::Queue, sql).await, "42501", "support: {sql}");
    }
    // No desktop login, ops' included, writes the queue's tables directly.
    for sql in [
        "UPDATE job_queues SET is_active = false",
        "UPDATE jobs SET status = 'queued' WHERE status = 'failed'",
        "DELETE FROM jobs",
        "SELECT * FROM jobs",
        "DELETE FROM job_logs",
    ] {
        assert_eq!(as_desktop(&ops, DbKind::Queue, sql).await, "42501", "ops: {sql}");
    }
    assert!(queue::set_queue_active(&ops, "queue:email-sending:low", false, Some("Black Friday")).await.unwrap());
    assert!(!queue::set_queue_active(&ops, "email-sending:low", false, None).await.unwrap());
    assert_eq!(q(c, "SELECT count(*) FROM job_queues WHERE name = 'email-sending:low' AND NOT is_active").await, 1);
    let audited: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT admin_user_id, metadata->>'actor_role', ip_address::text FROM admin_audit_log
          WHERE action = 'queue.paused' AND resource_id = 'email-sending:low' AND notes = 'Black Friday'",
    )
    .fetch_all(&c.olap)
    .await
    .unwrap();
    // One entry: ops' users.id, role and the address ops signed in from (test_client()).
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].0, id_of(&ops));
    assert_eq!(audited[0].1.as_deref(), Some("ops"));
    assert!(audited[0].2.as_deref().is_some_and(|ip| ip.starts_with("192.0.2.10")), "{audited:?}");
    assert!(queue::set_queue_active(&ops, "email-sending:low", true, None).await.unwrap());

    // Single-job actions: the stuck job is retried (queued, attempts reset); the job running for
    // 10 minutes can be neither retried nor deleted; a failed job is deleted with its logs.
    queue::job_action(&ops, STUCK.parse().unwrap(), JobAction::Retry, 60, None).await.unwrap();
    assert_eq!(
        q(c, &format!("SELECT count(*) FROM jobs WHERE id = '{STUCK}' AND status = 'queued' AND attempt_count = 0"))
            .await,
        1
    );
    for action in [JobAction::Retry, JobAction::Delete] {
        let err = queue::job_action(&ops, RUNNING.parse().unwrap(), action, 60, None).await.unwrap_err();
        assert!(matches!(err, MonitorError::Conflict(_)), "{err}");
    }
    queue::job_action(&ops, FAILED_WITH_LOGS.parse().unwrap(), JobAction::Delete, 60, None).await.unwrap();
    assert_eq!(q(c, &format!("SELECT count(*) FROM job_logs WHERE job_id = '{FAILED_WITH_LOGS}'")).await, 0);
    assert_eq!(q(c, &format!("SELECT count(*) FROM jobs WHERE id = '{FAILED_WITH_LOGS}'")).await, 0);

    // Bulk retry of every failed "Division by zero" job of the analytics queue: preview 4; a 5th
    // matching job appears; the apply refuses and changes nothing; preview again, 5 retried.
    let filter = JobFilter {
        queue: Some("queue:analytics:daily-aggregate".into()),
        state: Some(JobState::Failed),
        search: Some("Division by zero".into()),
    };
    assert!(matches!(
        queue::bulk_preview(&support, &filter, JobAction::Retry, 60).await,
        Err(MonitorError::Forbidden(_))
    ));
    let preview = queue::bulk_preview(&ops, &filter, JobAction::Retry, 60).await.unwrap();
    assert_eq!(preview.count, 4);
    sqlx::query(
        "INSERT INTO jobs (queue_name, status, failed, attempt_count, last_error_message)
         VALUES ('analytics:daily-aggregate', 'failed', now(), 3, 'Division by zero in MRR calculation')",
    )
    .execute(&c.queue)
    .await
    .unwrap();
    let err = queue::bulk_apply(&ops, &filter, &preview, 60, None).await.unwrap_err();
    assert!(matches!(err, MonitorError::Conflict(_)), "{err}");
    assert!(err.to_string().contains("5 jobs, not the 4 previewed"), "{err}");
    assert_eq!(
        q(c, "SELECT count(*) FROM jobs WHERE status = 'failed' AND last_error_message LIKE 'Division%'").await,
        5
    );
    let preview = queue::bulk_preview(&ops, &filter, JobAction::Retry, 60).await.unwrap();
    assert_eq!(preview.count, 5);
    assert_eq!(queue::bulk_apply(&ops, &filter, &preview, 60, Some("fix deployed")).await.unwrap(), 5);
    assert_eq!(
        q(c, "SELECT count(*) FROM jobs WHERE status = 'queued' AND attempt_count = 0 AND last_error_message LIKE 'Division%'")
            .await,
        5
    );
    assert_eq!(
        q(c, "SELECT count(*) FROM jobs WHERE status = 'failed' AND queue_name = 'analytics:daily-aggregate'").await,
        7
    );
    let (bulk_audit, by): (serde_json::Value, String) = sqlx::query_as(
        "SELECT new_values, admin_user_id FROM admin_audit_log WHERE action = 'queue.jobs.bulk_retried'",
    )
    .fetch_one(&c.olap)
    .await
    .unwrap();
    assert_eq!(bulk_audit["job_ids"].as_array().unwrap().len(), 5);
    assert_eq!(by, id_of(&ops));

    // A bulk delete over all of email-sending touches only what no worker holds: now 4 queued
    // (3 + the retried stuck one) + 13 completed + 2 failed = 19; not the 4 in Redis nor the
    // one running for 10 minutes.
    let all_es = JobFilter { queue: Some("email-sending".into()), ..Default::default() };
    assert_eq!(queue::bulk_preview(&ops, &all_es, JobAction::Delete, 60).await.unwrap().count, 19);
}

const GLOBEX_FAILED_1: &str = "00000000-0000-0000-0000-00000000e001";
const ACME_FAILED_1: &str = "00000000-0000-0000-0000-00000000a101";

/// Jobs of two tenants (small_fixture's Acme, b1, and Globex, b2, made a sandbox tenant)
/// and one of no tenant, all in email-sending:
/// - Globex: e001 failed 1 h ago ("SMTP 550 … quinn@globex.test … 203.0.113.7", one log
///   line naming quinn), e002 failed 1 h ago ("SMTP 421 try later"), e003 queued;
/// - Acme: a101 failed 1 h ago ("SMTP 550 … alice@acme.test", one log line), a102 failed
///   1 h ago ("SMTP 550 … bob@acme.test");
/// - no tenant: one failed 1 h ago ("SMTP 550 mailbox full").
async fn tenant_jobs_fixture(c: &Central) {
    small_fixture(c).await;
    sqlx::query(
        "INSERT INTO penguin_console.sandbox_tenants (tenant_id) VALUES ('00000000-0000-0000-0000-0000000000b2')",
    )
    .execute(&c.oltp)
    .await
    .unwrap();
    sqlx::raw_sql(&format!(
        "INSERT INTO job_queues (name) VALUES ('email-sending');
         INSERT INTO jobs (id, queue_name, status, payload, failed, attempt_count, last_error_message) VALUES
           ('{GLOBEX_FAILED_1}', 'email-sending', 'failed',
            '{{\"tenant_id\": \"00000000-0000-0000-0000-0000000000b2\", \"recipient_email\": \"quinn@globex.test\", \"smtp_ip\": \"203.0.113.7\"}}',
            now() - interval '1 hour', 3, 'SMTP 550 <quinn@globex.test> unknown user (via 203.0.113.7)'),
           ('00000000-0000-0000-0000-00000000e002', 'email-sending', 'failed',
            '{{\"tenant_id\": \"00000000-0000-0000-0000-0000000000b2\", \"recipient_email\": \"rita@globex.test\"}}',
            now() - interval '1 hour', 3, 'SMTP 421 try later'),
           ('00000000-0000-0000-0000-00000000e003', 'email-sending', 'queued',
            '{{\"tenant_id\": \"00000000-0000-0000-0000-0000000000b2\"}}', NULL, 0, NULL),
           ('{ACME_FAILED_1}', 'email-sending', 'failed',
            '{{\"tenant_id\": \"00000000-0000-0000-0000-0000000000b1\", \"recipient_email\": \"alice@acme.test\"}}',
            now() - interval '1 hour', 3, 'SMTP 550 <alice@acme.test> unknown user'),
           ('00000000-0000-0000-0000-00000000a102', 'email-sending', 'failed',
            '{{\"tenant_id\": \"00000000-0000-0000-0000-0000000000b1\", \"recipient_email\": \"bob@acme.test\"}}',
            now() - interval '1 hour', 3, 'SMTP 550 <bob@acme.test> unknown user'),
           (gen_random_uuid(), 'email-sending', 'failed', '{{\"n\": 1}}', now() - interval '1 hour', 3, 'SMTP 550 mailbox full');
         INSERT INTO job_logs (job_id, status, log_message, attempt_number) VALUES
           ('{GLOBEX_FAILED_1}', 'failed', 'bounce for quinn@globex.test from 203.0.113.7', 1),
           ('{ACME_FAILED_1}', 'failed', 'bounce for alice@acme.test', 1);"
    ))
    .execute(&c.queue)
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qa_sees_sandbox_jobs_only_and_support_reads_jobs_and_queries_masked() {
    let p = Platform::installed().await;
    let c = &p.central;
    tenant_jobs_fixture(c).await;
    let (ops, support, qa) = (p.session("ops").await, p.session("support").await, p.session("qa").await);
    let (ops_r, support_r, qa_r) = (Reader::Staff(&ops), Reader::Staff(&support), Reader::Staff(&qa));
    let failed = JobFilter { state: Some(JobState::Failed), ..Default::default() };
    let ids = |page: &queue::JobPage| {
        let mut v: Vec<String> = page.rows.iter().map(|r| r.id.to_string()).collect();
        v.sort();
        v
    };

    // qa: Globex's jobs only (2 failed, 3 in all), in the list, the counts and the figures.
    let page = queue::jobs(qa_r, &failed, 60, 50, 0).await.unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(ids(&page), [GLOBEX_FAILED_1, "00000000-0000-0000-0000-00000000e002"]);
    assert_eq!(queue::jobs(qa_r, &JobFilter::default(), 60, 50, 0).await.unwrap().total, 3);
    let o = queue::overview(qa_r, None, &Thresholds::default()).await.unwrap();
    assert_eq!((o.queues[0].failed, o.queues[0].waiting), (2, 1));
    assert_eq!(sending::stats(qa_r).await.unwrap().failed_last_24h, 2);
    // ops: every job: 2 + 2 + the one of no tenant = 5 failed.
    assert_eq!(queue::jobs(ops_r, &failed, 60, 50, 0).await.unwrap().total, 5);
    assert_eq!(queue::overview(ops_r, None, &Thresholds::default()).await.unwrap().queues[0].failed, 5);
    assert_eq!(sending::stats(ops_r).await.unwrap().failed_last_24h, 5);
    // A search matches within that: "SMTP 550" is e001 for qa; e001, a101, a102 and the
    // tenantless one for ops.
    let smtp550 = JobFilter { search: Some("SMTP 550".into()), ..failed.clone() };
    assert_eq!(queue::jobs(qa_r, &smtp550, 60, 50, 0).await.unwrap().total, 1);
    assert_eq!(queue::jobs(ops_r, &smtp550, 60, 50, 0).await.unwrap().total, 4);
    // An Acme job is not there for qa, nor its logs.
    let err = queue::job_detail(qa_r, ACME_FAILED_1.parse().unwrap(), 60).await.unwrap_err();
    assert!(matches!(err, MonitorError::NotFound(_)), "{err}");
    // qa's own job, masked (qa has no pii.view): address and IP host hidden.
    let d = queue::job_detail(qa_r, GLOBEX_FAILED_1.parse().unwrap(), 60).await.unwrap();
    assert_eq!(d.job.payload.as_ref().unwrap()["recipient_email"], "q•••@•••.test");
    assert_eq!(d.job.payload.as_ref().unwrap()["smtp_ip"], "203.0.113.•");
    assert_eq!(d.logs[0].log_message.as_deref(), Some("bounce for q•••@•••.test from 203.0.113.•"));
    // Nor may qa read the tables or act.
    assert_eq!(as_desktop(&qa, DbKind::Queue, "SELECT * FROM jobs").await, "42501");
    assert_eq!(
        as_desktop(
            &qa,
            DbKind::Queue,
            &format!("SELECT penguin_console_api.queue_job_action('{GLOBEX_FAILED_1}', 'retry', 60)")
        )
        .await,
        "42501"
    );

    // support sees every tenant's jobs, with no full e-mail address anywhere.
    let page = queue::jobs(support_r, &failed, 60, 50, 0).await.unwrap();
    assert_eq!(page.total, 5);
    let text = serde_json::to_string(&page).unwrap();
    for address in ["quinn@globex.test", "rita@globex.test", "alice@acme.test", "bob@acme.test"] {
        assert!(!text.contains(address), "{address} in {text}");
    }
    assert!(text.contains("q•••@•••.test") && text.contains("SMTP 550 <a•••@•••.test> unknown user"), "{text}");
    let d = queue::job_detail(support_r, ACME_FAILED_1.parse().unwrap(), 60).await.unwrap();
    assert_eq!(d.logs[0].log_message.as_deref(), Some("bounce for a•••@•••.test"));
    // Searches match what the role sees: a name inside an address finds nothing for support.
    let quinn = JobFilter { search: Some("quinn".into()), ..Default::default() };
    assert_eq!(queue::jobs(support_r, &quinn, 60, 50, 0).await.unwrap().total, 0);
    assert_eq!(queue::jobs(ops_r, &quinn, 60, 50, 0).await.unwrap().total, 1);
    let d = queue::job_detail(ops_r, GLOBEX_FAILED_1.parse().unwrap(), 60).await.unwrap();
    assert_eq!(d.job.payload.as_ref().unwrap()["recipient_email"], "quinn@globex.test");

    // Slow-query text: a query naming an address runs 4 s against a 1 s threshold.
    let pool = c.oltp.clone();
    let sleeper =
        tokio::spawn(async move { sqlx::query("SELECT pg_sleep(4), 'zoe@example.test'::text").execute(&pool).await });
    tokio::time::sleep(Duration::from_millis(1800)).await;
    let th = Thresholds { slow_query_seconds: 1.0, ..Default::default() };
    let slow = |h: Vec<server::PgHealth>| h.into_iter().find(|h| h.database == "oltp").unwrap().slow_queries;
    let masked = slow(server::postgres_health(support_r, &th).await.unwrap());
    assert!(masked.iter().any(|q| q.query.contains("pg_sleep(4), 'z•••@•••.test'")), "{masked:?}");
    assert!(masked.iter().all(|q| !q.query.contains("zoe@example.test")), "{masked:?}");
    let clear = slow(server::postgres_health(ops_r, &th).await.unwrap());
    assert!(clear.iter().any(|q| q.query.contains("zoe@example.test")), "{clear:?}");
    sleeper.await.unwrap().unwrap();
    // A session that ended is refused as such, not reported as a database down.
    sqlx::query("UPDATE penguin_console.staff_sessions SET revoked = now(), revoked_why = 'test'")
        .execute(&c.oltp)
        .await
        .unwrap();
    let err = server::postgres_health(support_r, &th).await.unwrap_err();
    assert!(matches!(err, MonitorError::Forbidden(AuthError::SessionEnded(_))), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sending_per_hour_day_ip_and_server() {
    let p = Platform::installed().await;
    let c = &p.central;
    queue_fixture(c).await;
    sqlx::raw_sql(
        "INSERT INTO vps_instances (id, ip_address, region, status) VALUES
           ('00000000-0000-0000-0000-0000000000e1', '192.0.2.10', 'us-east', 'active');
         INSERT INTO smtp_ip_addresses (ip_address, vps_instance_id, status) VALUES
           ('203.0.113.7', '00000000-0000-0000-0000-0000000000e1', 'assigned'),
           ('198.51.100.9', '00000000-0000-0000-0000-0000000000e1', 'assigned');",
    )
    .execute(&c.oltp)
    .await
    .unwrap();
    sqlx::raw_sql(
        "INSERT INTO campaign_analytics (campaign_id, company_id, sent, delivered, bounced, updated) VALUES
           ('c1', 'w1', 100, 95, 3, now()), ('c2', 'w1', 50, 48, 2, now()),
           ('c3', 'w1', 1000, 0, 500, now() - interval '40 days');
         INSERT INTO mailbox_analytics (mailbox_id, company_id, sent, delivered, bounced, updated) VALUES
           ('m1', 'w1', 80, 76, 4, now()), ('m2', 'w1', 999, 0, 999, now() - interval '40 days');",
    )
    .execute(&c.olap)
    .await
    .unwrap();
    let support = p.session("support").await;
    let s = sending::stats(Reader::Staff(&support)).await.unwrap();
    // Sent: 6 in the last hour, 12 in 24 h; failed: 1 in the last hour (.9, 30 min), 3 in 24 h.
    assert_eq!((s.sent_last_hour, s.failed_last_hour, s.sent_last_24h, s.failed_last_24h), (6, 1, 12, 3));
    assert_eq!(s.failure_percent_24h, Some(20.0)); // 3 / (12 + 3)
    assert_eq!(s.hourly.len(), 24);
    assert_eq!(s.hourly.iter().map(|p| p.sent).sum::<i64>(), 12);
    assert_eq!(s.hourly.iter().map(|p| p.failed).sum::<i64>(), 3);
    // The three sent at the start of the hour three hours back are bucket 20 of 0..=23; the two
    // failed two hours ago are bucket 21.
    assert_eq!((s.hourly[20].sent, s.hourly[20].failed), (3, 0));
    assert_eq!(s.hourly[21].failed, 2);
    assert_eq!(s.daily.len(), 30);
    assert_eq!(s.daily.iter().map(|p| p.sent).sum::<i64>(), 13); // + the one 30 h ago
                                                                 // Per IP: .7 sent 4 in the hour, 8 in 24 h, failed 2 → 20 %; .9 sent 2, 4, failed 1 → 20 %.
    let ips: Vec<(&str, i64, i64, i64)> =
        s.per_ip.iter().map(|i| (i.ip.as_str(), i.sent_last_hour, i.sent_last_24h, i.failed_last_24h)).collect();
    assert_eq!(ips, [("203.0.113.7", 4, 8, 2), ("198.51.100.9", 2, 4, 1)]);
    assert_eq!(s.per_ip[0].server.as_deref(), Some("192.0.2.10"));
    assert_eq!(s.per_server.len(), 1);
    assert_eq!((s.per_server[0].sent_last_24h, s.per_server[0].failed_last_24h), (12, 3));
    assert_eq!(s.per_server[0].region.as_deref(), Some("us-east"));
    // Campaign analytics of 30 days: 150 sent, 143 delivered, 5 bounced (3.33 %); the row from
    // 40 days ago is outside. Mailboxes: 4 of 80 bounced = 5 %.
    assert_eq!((s.campaigns_30d.sent, s.campaigns_30d.delivered, s.campaigns_30d.bounced), (150, 143, 5));
    assert!((s.campaigns_30d.bounce_percent.unwrap() - 100.0 * 5.0 / 150.0).abs() < 1e-9);
    assert_eq!(s.campaign_daily.len(), 30);
    assert_eq!(s.campaign_daily[29].sent, 150);
    assert_eq!(s.mailboxes_30d.bounce_percent, Some(5.0));
    // 15 attempts are fewer than 20: no failure-rate condition despite 20 %.
    let settings = MonitorSettings::default();
    let ops = p.session("ops").await;
    let report = monitor::check_all(Reader::Staff(&ops), &settings, &MonitorSecrets::default()).await.unwrap();
    assert_eq!(report.area(Area::Sending).unwrap().status, Status::Green);
    assert!(report.run.conditions.iter().all(|c| c.source != "sending"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dnsbl_listings_refusals_recording_and_delisting() {
    assert_eq!(dnsbl::query_name("203.0.113.7", "zen.spamhaus.org").unwrap(), "7.113.0.203.zen.spamhaus.org.");
    assert_eq!(
        dnsbl::query_name("2001:db8::1", "zen.spamhaus.org").unwrap(),
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.spamhaus.org."
    );
    assert!(matches!(dnsbl::query_name("203.0.113", "x"), Err(MonitorError::BadInput(_))));
    assert!(dnsbl::parse_resolver("not-an-address").unwrap_err().to_string().contains("is not an address"));

    let p = Platform::installed().await;
    let c = &p.central;
    sqlx::raw_sql(
        "INSERT INTO smtp_ip_addresses (ip_address, status, reputation_state, provider_blacklist_status) VALUES
           ('203.0.113.7', 'assigned', NULL, '{\"gmail\": {\"status\": \"ok\"}}'),
           ('198.51.100.9', 'assigned', NULL, NULL),
           ('192.0.2.1', 'warmed', 'fair', NULL),
           ('192.0.2.2', 'warming', NULL, NULL),
           ('not-an-ip', 'available', NULL, NULL);",
    )
    .execute(&c.oltp)
    .await
    .unwrap();
    let zones: Vec<String> = ["zen.spamhaus.org", "b.barracudacentral.org", "bl.example.test"].map(String::from).into();
    let zone_refs = ["zen.spamhaus.org", "b.barracudacentral.org", "bl.example.test"];
    let ops = p.session("ops").await;
    let support = p.session("support").await;
    let service = Staff::service("test");
    let budget = Duration::from_secs(3);
    let recorded_runs = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM admin_audit_log WHERE action = 'ip.reputation_recorded' AND admin_user_id = $1",
        )
        .bind(id_of(&ops))
        .fetch_one(&c.olap)
        .await
        .unwrap()
    };
    let table = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT string_agg(row_to_json(t)::text, ' | ' ORDER BY t.ip_address) FROM smtp_ip_addresses t",
        )
        .fetch_one(&c.oltp)
        .await
        .unwrap()
    };

    // Run 1: .7 XBL (127.0.0.4); .9 refused by Spamhaus (127.255.255.254) but in Barracuda;
    // 192.0.2.2 in PBL (127.0.0.10) and in the extra zone; 192.0.2.1 clean everywhere.
    let dns = peers::dnsmasq(
        &zone_refs,
        &[
            ("7.113.0.203.zen.spamhaus.org", "127.0.0.4"),
            ("9.100.51.198.zen.spamhaus.org", "127.255.255.254"),
            ("9.100.51.198.b.barracudacentral.org", "127.0.0.2"),
            ("2.2.0.192.zen.spamhaus.org", "127.0.0.10"),
            ("2.2.0.192.bl.example.test", "127.0.0.2"),
        ],
    );
    // Opened as support (the Monitoring screen's DNSBL refresh): the listings are shown, the
    // stored states with them, and nothing is written to smtp_ip_addresses.
    let before = table().await;
    let settings = MonitorSettings { dns_resolver: Some(dns.addr()), dnsbl_zones: zones.clone(), ..Default::default() };
    let seen = monitor::check_areas(Reader::Staff(&support), &settings, &MonitorSecrets::default(), &[Area::Dnsbl])
        .await
        .unwrap();
    assert_eq!(seen.area(Area::Dnsbl).unwrap().status, Status::Red, "{:?}", seen.areas);
    assert_eq!(fingerprints(&seen.run.conditions).len(), 4);
    let shown = seen.dnsbl.unwrap();
    let state_of = |a: &str| shown.ips.iter().find(|i| i.ip == a).unwrap().reputation_state.clone();
    assert_eq!((state_of("192.0.2.1").as_deref(), state_of("203.0.113.7")), (Some("fair"), None));
    assert_eq!(table().await, before, "support's check wrote nothing");
    assert_eq!(
        as_desktop(&support, DbKind::Oltp, "UPDATE smtp_ip_addresses SET reputation_state = 'good'").await,
        "42501"
    );
    assert_eq!(
        as_desktop(
            &support,
            DbKind::Oltp,
            "SELECT penguin_console_api.monitoring_dnsbl_record('{\"zones\": [], \"ips\": []}')"
        )
        .await,
        "42501"
    );
    assert_eq!(as_desktop(&ops, DbKind::Oltp, "UPDATE smtp_ip_addresses SET reputation_state = 'good'").await, "42501");

    // As ops (alerts.manage): recorded through the audited function.
    let (report, conds) = dnsbl::run(Reader::Staff(&ops), &dns.addr(), &zones, budget).await.unwrap();
    assert_eq!(
        fingerprints(&conds),
        [
            "dnsbl:192.0.2.2:bl.example.test",
            "dnsbl:192.0.2.2:zen.spamhaus.org",
            "dnsbl:198.51.100.9:b.barracudacentral.org",
            "dnsbl:203.0.113.7:zen.spamhaus.org",
        ]
    );
    let sev = |f: &str| conds.iter().find(|c| c.fingerprint == f).unwrap().severity;
    assert_eq!(sev("dnsbl:203.0.113.7:zen.spamhaus.org"), Severity::Critical); // XBL
    assert_eq!(sev("dnsbl:198.51.100.9:b.barracudacentral.org"), Severity::Critical);
    assert_eq!(sev("dnsbl:192.0.2.2:zen.spamhaus.org"), Severity::Warning); // PBL
    assert_eq!(sev("dnsbl:192.0.2.2:bl.example.test"), Severity::Warning); // extra zone
    let ip = |a: &str| report.ips.iter().find(|i| i.ip == a).unwrap();
    let seven = &ip("203.0.113.7").zones;
    assert_eq!((seven[0].status, seven[0].meanings.clone()), (Listing::Listed, vec!["XBL".to_string()]));
    assert_eq!((seven[1].status, seven[2].status), (Listing::Clean, Listing::Clean));
    let nine_zen = &ip("198.51.100.9").zones[0];
    assert_eq!(nine_zen.status, Listing::Error); // a refusal, not a listing
    assert!(nine_zen.error.as_deref().unwrap().contains("public or open resolver"));
    assert_eq!(ip("192.0.2.2").zones[0].meanings, ["PBL"]);
    assert!(ip("not-an-ip").zones.iter().all(|z| z.status == Listing::Error));
    assert!(ip("not-an-ip").zones[0].error.as_deref().unwrap().contains("is not an IP address"));

    // Recorded per zone, other keys kept; reputation derived; a state set by someone else
    // (192.0.2.1 "fair") is not overwritten by a clean result; the refusal is not recorded.
    let row = |a: &'static str| async move {
        sqlx::query_as::<_, (Option<String>, Option<serde_json::Value>, bool)>(
            "SELECT reputation_state, provider_blacklist_status, last_reputation_check IS NOT NULL
               FROM smtp_ip_addresses WHERE ip_address = $1",
        )
        .bind(a)
        .fetch_one(&c.oltp)
        .await
        .unwrap()
    };
    let (state, status, checked) = row("203.0.113.7").await;
    let status = status.unwrap();
    assert_eq!((state.as_deref(), checked), (Some("critical"), true));
    assert_eq!(status["gmail"]["status"], "ok");
    assert_eq!(status["zen.spamhaus.org"]["status"], "listed");
    assert_eq!(status["zen.spamhaus.org"]["codes"][0], "127.0.0.4");
    assert_eq!(status["b.barracudacentral.org"]["status"], "clean");
    let (state, status, _) = row("198.51.100.9").await;
    assert_eq!(state.as_deref(), Some("critical"));
    assert!(status.unwrap().get("zen.spamhaus.org").is_none());
    assert_eq!(row("192.0.2.1").await.0.as_deref(), Some("fair"));
    assert_eq!(row("192.0.2.2").await.0.as_deref(), Some("poor"));
    let (state, _, checked) = row("not-an-ip").await;
    assert_eq!((state, checked), (None, false));
    assert_eq!(ip("203.0.113.7").reputation_state.as_deref(), Some("critical"), "the report shows the new state");
    // One audit entry for the run, by ops, naming the four IPs that had a definitive answer.
    assert_eq!(recorded_runs().await, 1);
    let entry: serde_json::Value =
        sqlx::query_scalar("SELECT new_values FROM admin_audit_log WHERE action = 'ip.reputation_recorded'")
            .fetch_one(&c.olap)
            .await
            .unwrap();
    assert_eq!(entry["ips"].as_array().unwrap().len(), 4, "{entry}");
    drop(dns);

    // Run 2: Spamhaus now refuses .7's lookup; everything else clean. The stored XBL listing
    // still stands (a DNS hiccup resolves nothing); .9 and 192.0.2.2 are delisted.
    let dns = peers::dnsmasq(&zone_refs, &[("7.113.0.203.zen.spamhaus.org", "127.255.255.254")]);
    // This run is the watcher's (the service identity over the owner's connection): recorded,
    // as an automated check without an audit entry.
    let (report, conds) = dnsbl::run(Reader::Service(c, &service), &dns.addr(), &zones, budget).await.unwrap();
    assert_eq!(recorded_runs().await, 1);
    assert_eq!(fingerprints(&conds), ["dnsbl:203.0.113.7:zen.spamhaus.org"]);
    assert!(conds[0].details["lookup_error"].contains("refused by Spamhaus"));
    let seven = &report.ips.iter().find(|i| i.ip == "203.0.113.7").unwrap().zones[0];
    assert_eq!((seven.status, seven.previous), (Listing::Error, Some(Listing::Listed)));
    assert_eq!(row("198.51.100.9").await.0.as_deref(), Some("good"));
    assert_eq!(row("192.0.2.2").await.0.as_deref(), Some("good"));
    assert_eq!(row("203.0.113.7").await.0.as_deref(), Some("critical"));
    drop(dns);

    // Run 3: all clean: no condition, .7 back to good, its zen record clean.
    let dns = peers::dnsmasq(&zone_refs, &[]);
    let (_, conds) = dnsbl::run(Reader::Staff(&ops), &dns.addr(), &zones, budget).await.unwrap();
    assert_eq!(recorded_runs().await, 2);
    assert!(conds.is_empty(), "{conds:?}");
    let (state, status, _) = row("203.0.113.7").await;
    assert_eq!(state.as_deref(), Some("good"));
    assert_eq!(status.unwrap()["zen.spamhaus.org"]["status"], "clean");
    assert_eq!(row("192.0.2.1").await.0.as_deref(), Some("fair"));

    // A resolver that refuses everything (zones it does not know): the area is an error.
    let settings = MonitorSettings {
        dns_resolver: Some(dns.addr()),
        dnsbl_zones: vec!["unknown.example".into()],
        ..Default::default()
    };
    let report = monitor::check_all(Reader::Staff(&ops), &settings, &MonitorSecrets::default()).await.unwrap();
    let tile = report.area(Area::Dnsbl).unwrap();
    assert_eq!(tile.status, Status::Error);
    assert!(tile.reason.as_deref().unwrap().contains("every lookup"), "{tile:?}");
    assert!(!report.run.sources.contains(&"dnsbl".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_probe_plain_starttls_and_faults() {
    let th = Thresholds { smtp_slow_ms: 10_000, ..Default::default() };
    let budget = Duration::from_secs(2);
    let plain = peers::aiosmtpd();
    let tls = peers::aiosmtpd_starttls();
    let hang = peers::fake_tcp(peers::hang);
    let garbage = peers::fake_tcp(peers::garbage);
    let closed = peers::closed_port();

    let p = smtp::probe(&plain.addr(), &th, budget).await;
    assert_eq!(p.state, SmtpState::Running, "{p:?}");
    assert!(p.banner.as_deref().unwrap().starts_with("220 "), "{p:?}");
    assert!(p.ehlo_ok && !p.starttls_offered && p.tls.is_none());

    let p = smtp::probe(&format!("localhost:{}", tls.port), &th, budget).await;
    assert_eq!(p.state, SmtpState::Running, "{p:?}");
    assert!(p.starttls_offered);
    let t = p.tls.unwrap();
    assert!(t.handshake, "{t:?}");
    assert!(!t.verified, "a self-signed certificate must not count as verified");
    assert!(t.error.unwrap().contains("certificate not verified"));

    let p = smtp::probe(&format!("127.0.0.1:{closed}"), &th, budget).await;
    assert_eq!(p.state, SmtpState::Down);
    assert!(p.problems[0].contains("cannot connect"), "{p:?}");

    let start = Instant::now();
    let p = smtp::probe(&format!("127.0.0.1:{}", hang.port), &th, budget).await;
    assert_eq!(p.state, SmtpState::Down);
    assert!(p.problems[0].contains("no complete answer within 2.0 s"), "{p:?}");
    assert!(start.elapsed() < Duration::from_secs(10), "the probe of a hung server must give up");

    let p = smtp::probe(&format!("127.0.0.1:{}", garbage.port), &th, budget).await;
    assert_eq!(p.state, SmtpState::Down);
    assert!(p.problems[0].contains("not an SMTP reply"), "{p:?}");

    // Slower than the threshold (0 ms): degraded, though everything answered.
    let strict = Thresholds { smtp_slow_ms: 0, ..Default::default() };
    let p = smtp::probe(&plain.addr(), &strict, budget).await;
    assert_eq!(p.state, SmtpState::Degraded);
    assert!(p.problems[0].starts_with("slow:"), "{p:?}");

    assert!(smtp::split_host_port("smtp.example.com").unwrap_err().to_string().contains("is not host:port"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_and_prometheus_health() {
    let th = Thresholds::default();
    let redis = peers::redis();
    // One hit-producing key read twice and one missing key: 2 hits, 1 miss = 66.7 %.
    peers::redis_cmd(redis.port, &["SET", "k", "v"]);
    peers::redis_cmd(redis.port, &["GET", "k"]);
    peers::redis_cmd(redis.port, &["GET", "k"]);
    peers::redis_cmd(redis.port, &["GET", "missing"]);
    peers::redis_cmd(redis.port, &["CONFIG", "SET", "maxmemory", "104857600"]);
    let h = server::read_redis(&RedisTarget::parse(&format!("redis://{}", redis.addr()), None).unwrap()).await;
    assert_eq!(h.error, None);
    assert!((h.hit_rate_percent.unwrap() - 200.0 / 3.0).abs() < 1e-9, "{h:?}");
    assert_eq!(h.max_memory, Some(104_857_600));
    let used = h.used_memory.unwrap();
    assert!((h.memory_percent.unwrap() - 100.0 * used as f64 / 104_857_600.0).abs() < 1e-9);
    assert!(h.connected_clients.unwrap() >= 1);

    let down =
        server::read_redis(&RedisTarget::parse(&format!("redis://127.0.0.1:{}", peers::closed_port()), None).unwrap())
            .await;
    assert!(down.error.unwrap().contains("cannot connect"));
    let garbage = peers::fake_tcp(peers::garbage);
    let g =
        server::read_redis(&RedisTarget::parse(&format!("redis://127.0.0.1:{}", garbage.port), None).unwrap()).await;
    assert!(g.error.unwrap().contains("not Redis"));
    assert!(RedisTarget::parse("redis://:secret@10.0.0.5:6379", None).unwrap_err().to_string().contains("password"));

    // node_exporter values: "/" 150 of 1,000 bytes free → 85 % (the fullest real filesystem;
    // "/data" is at 40 %, the full tmpfs does not count); memory 200 of 1,000 available → 80 %;
    // each CPU idles 0.05 s per second → 95 % busy.
    let started = Instant::now();
    let metrics = peers::http_server(move || {
        let t = started.elapsed().as_secs_f64() + 1000.0;
        format!(
            "node_filesystem_size_bytes{{fstype=\"ext4\",mountpoint=\"/\"}} 1000\n\
             node_filesystem_avail_bytes{{fstype=\"ext4\",mountpoint=\"/\"}} 150\n\
             node_filesystem_size_bytes{{fstype=\"ext4\",mountpoint=\"/data\"}} 1000\n\
             node_filesystem_avail_bytes{{fstype=\"ext4\",mountpoint=\"/data\"}} 600\n\
             node_filesystem_size_bytes{{fstype=\"tmpfs\",mountpoint=\"/run\"}} 100\n\
             node_filesystem_avail_bytes{{fstype=\"tmpfs\",mountpoint=\"/run\"}} 0\n\
             node_memory_MemTotal_bytes 1000\nnode_memory_MemAvailable_bytes 200\n\
             node_cpu_seconds_total{{cpu=\"0\",mode=\"idle\"}} {idle}\n\
             node_cpu_seconds_total{{cpu=\"1\",mode=\"idle\"}} {idle}\n\
             node_cpu_seconds_total{{cpu=\"0\",mode=\"user\"}} {busy}\n",
            idle = 0.05 * t,
            busy = 0.95 * t
        )
    });
    let node = format!("127.0.0.1:{}", metrics.port);
    let gone = format!("127.0.0.1:{}", peers::closed_port());
    let prom = peers::prometheus(&[node.clone(), gone.clone()]);
    let ready = Instant::now();
    let url = format!("http://{}", prom.addr());
    // The CPU is averaged over 5 s here (5 min by default): Prometheus divides an increase by
    // the whole window, so a window longer than the history would understate it. Wait until
    // the window has been full of 1 s scrapes for a while.
    let deadline = Instant::now() + Duration::from_secs(30);
    let report = loop {
        let r = server::read_hosts(&url, &th, "5s", Duration::from_secs(3)).await.unwrap();
        if r.hosts.iter().any(|h| h.cpu_percent.is_some()) && r.targets.len() == 2 && ready.elapsed().as_secs() >= 10 {
            break r;
        }
        assert!(Instant::now() < deadline, "Prometheus never had two scrapes: {r:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(report.hosts.len(), 1, "{report:?}");
    let h = &report.hosts[0];
    assert_eq!(h.instance, node);
    assert!((h.disk_percent.unwrap() - 85.0).abs() < 1e-9, "{h:?}");
    assert!((h.memory_percent.unwrap() - 80.0).abs() < 1e-9, "{h:?}");
    assert!((h.cpu_percent.unwrap() - 95.0).abs() < 1.0, "{h:?}");
    assert_eq!(h.status, Status::Red); // disk 85 % > 80 %
    let up: Vec<(String, bool)> = report.targets.iter().map(|t| (t.instance.clone(), t.up)).collect();
    assert!(up.contains(&(node.clone(), true)) && up.contains(&(gone.clone(), false)), "{up:?}");
    assert!(report.api.is_empty(), "no API histogram is exported, so none is reported");

    let settings = MonitorSettings {
        prometheus_url: Some(url.clone()),
        redis_url: Some(format!("redis://{}", redis.addr())),
        cpu_rate_window: "5s".into(),
        ..Default::default()
    };
    let p = Platform::installed().await;
    let support = p.session("support").await;
    let r = monitor::check_all(Reader::Staff(&support), &settings, &MonitorSecrets::default()).await.unwrap();
    let hosts: Vec<Condition> = r.run.conditions.iter().filter(|c| c.source == "host").cloned().collect();
    // Disk (critical) and CPU (warning) of the node; memory 80 % is under 85 %; the dead target.
    let mut expected = vec![format!("host:{gone}:down"), format!("host:{node}:cpu"), format!("host:{node}:disk")];
    expected.sort();
    assert_eq!(fingerprints(&hosts), expected);
    assert_eq!(hosts.iter().find(|c| c.fingerprint.ends_with(":disk")).unwrap().severity, Severity::Critical);
    assert_eq!(hosts.iter().find(|c| c.fingerprint.ends_with(":cpu")).unwrap().severity, Severity::Warning);
    assert_eq!(r.area(Area::Hosts).unwrap().status, Status::Red);
    assert_eq!(r.area(Area::Redis).unwrap().status, Status::Green);
    assert!(r.run.sources.contains(&"host".to_string()) && r.run.sources.contains(&"redis".to_string()));

    // Unreachable and garbage Prometheus: clear errors.
    let e =
        server::read_hosts(&format!("http://127.0.0.1:{}", peers::closed_port()), &th, "5m", Duration::from_secs(2))
            .await
            .unwrap_err();
    assert!(e.to_string().contains("cannot reach"), "{e}");
    let junk = peers::http_server(|| "hello".to_string());
    let e = server::read_hosts(&format!("http://127.0.0.1:{}", junk.port), &th, "5m", Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not Prometheus JSON"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_all_tiles_sources_and_a_hung_peer() {
    let p = Platform::installed().await;
    let c = &p.central;
    let support = p.session("support").await;
    let support = Reader::Staff(&support);

    // Nothing named: grey tiles for what the profile does not name, never a made-up value.
    let r = monitor::check_all(support, &MonitorSettings::default(), &MonitorSecrets::default()).await.unwrap();
    let tiles: Vec<(Area, Status)> = r.areas.iter().map(|a| (a.area, a.status)).collect();
    assert_eq!(
        tiles,
        [
            (Area::Queue, Status::Green),
            (Area::Sending, Status::Green),
            (Area::Smtp, Status::NotConfigured),
            (Area::Dnsbl, Status::NotConfigured),
            (Area::Postgres, Status::Green),
            (Area::Redis, Status::NotConfigured),
            (Area::Hosts, Status::NotConfigured),
        ]
    );
    assert!(r.smtp.is_none() && r.redis.is_none() && r.hosts.is_none() && r.dnsbl.is_none());
    assert_eq!(r.run.sources, ["queue", "sending", "postgres"]);
    assert_eq!(r.postgres.as_ref().unwrap().len(), 4);
    let oltp = &r.postgres.as_ref().unwrap()[0];
    assert_eq!(oltp.database, "oltp");
    assert!(oltp.max_connections.unwrap() > 0 && oltp.connections.unwrap() >= 1);
    assert!(oltp.cache_hit_percent.is_some_and(|p| p > 0.0 && p <= 100.0));

    // Everything named; one SMTP server hangs, Prometheus is unreachable, a query runs for 6 s
    // against a 1 s threshold. The cycle still ends, each area within its 2 s budget.
    let smtp_ok = peers::aiosmtpd();
    let hang = peers::fake_tcp(peers::hang);
    let redis = peers::redis();
    let dns = peers::dnsmasq(&["zen.spamhaus.org", "b.barracudacentral.org"], &[]);
    let hung = format!("127.0.0.1:{}", hang.port);
    let settings = MonitorSettings {
        redis_url: Some(format!("redis://{}", redis.addr())),
        prometheus_url: Some(format!("http://127.0.0.1:{}", peers::closed_port())),
        smtp_servers: vec![smtp_ok.addr(), hung.clone()],
        dns_resolver: Some(dns.addr()),
        check_timeout_secs: 2.0,
        thresholds: Thresholds { slow_query_seconds: 1.0, ..Default::default() },
        ..Default::default()
    };
    let pool = c.oltp.clone();
    let sleeper = tokio::spawn(async move { sqlx::query("SELECT pg_sleep(6)").execute(&pool).await });
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let r = tokio::time::timeout(
        Duration::from_secs(15),
        monitor::check_all(support, &settings, &MonitorSecrets::default()),
    )
    .await
    .expect("a hung peer must not hang the cycle")
    .unwrap();
    let tile = |a: Area| r.area(a).unwrap().clone();
    assert_eq!(tile(Area::Smtp).status, Status::Red);
    assert_eq!(tile(Area::Dnsbl).status, Status::Green); // no sending IPs: nothing listed
    assert_eq!(tile(Area::Redis).status, Status::Green);
    assert_eq!(tile(Area::Hosts).status, Status::Error);
    assert!(tile(Area::Hosts).reason.unwrap().contains("cannot reach"));
    assert_eq!(tile(Area::Postgres).status, Status::Yellow);
    let probes = r.smtp.as_ref().unwrap();
    assert_eq!(probes.iter().map(|p| p.state).collect::<Vec<_>>(), [SmtpState::Running, SmtpState::Down]);
    let f = fingerprints(&r.run.conditions);
    assert!(f.contains(&format!("smtp:{hung}:down")), "{f:?}");
    assert!(f.contains(&"postgres:oltp:slow_queries".to_string()), "{f:?}");
    let slow = &r.postgres.as_ref().unwrap()[0].slow_queries;
    assert!(slow.iter().any(|q| q.query.contains("pg_sleep(6)")), "{slow:?}");
    // Hosts errored: "host" and "api" are not among the completed sources.
    assert_eq!(r.run.sources, ["queue", "sending", "smtp", "dnsbl", "postgres", "redis"]);
    sleeper.await.unwrap().unwrap();

    // Some areas only: the others are absent, not "not configured".
    let r = monitor::check_areas(support, &settings, &MonitorSecrets::default(), &[Area::Redis, Area::Queue])
        .await
        .unwrap();
    assert_eq!(r.areas.iter().map(|a| a.area).collect::<Vec<_>>(), [Area::Queue, Area::Redis]);
    assert_eq!(r.run.sources, ["queue", "redis"]);
    assert!(r.dnsbl.is_none() && r.smtp.is_none() && r.queue.is_some());

    // Settings errors are clear.
    let bad = MonitorSettings { smtp_servers: vec!["nocolon".into()], ..Default::default() };
    let e = monitor::check_all(support, &bad, &MonitorSecrets::default()).await.unwrap_err();
    assert!(e.to_string().contains("is not host:port"), "{e}");
    let bad =
        MonitorSettings { thresholds: Thresholds { disk_percent: 180.0, ..Default::default() }, ..Default::default() };
    let e = monitor::check_all(support, &bad, &MonitorSecrets::default()).await.unwrap_err();
    assert!(e.to_string().contains("disk_percent must be a percentage"), "{e}");
    // Without monitoring.read (finance): refused, and by the database too.
    let finance = p.session("finance").await;
    assert!(matches!(
        monitor::check_all(Reader::Staff(&finance), &MonitorSettings::default(), &MonitorSecrets::default()).await,
        Err(MonitorError::Forbidden(_))
    ));
    for (db, sql) in [
        (DbKind::Queue, "SELECT * FROM penguin_console_api.monitoring_queue_overview(60)"),
        (DbKind::Queue, "SELECT * FROM penguin_console_api.monitoring_jobs(NULL, NULL, NULL, 60, 50, 0)"),
        (DbKind::Oltp, "SELECT penguin_console_api.monitoring_pg_health(30)"),
        (DbKind::Oltp, "SELECT * FROM penguin_console_api.monitoring_smtp_ips()"),
        (DbKind::Olap, "SELECT * FROM penguin_console_api.monitoring_campaign_days()"),
    ] {
        assert_eq!(as_desktop(&finance, db, sql).await, "42501", "finance: {sql}");
    }
}

#[test]
fn monitor_section_of_a_profile_defaults_and_errors() {
    let base = "[databases]\noltp = \"postgres://c@db/oltp\"\nqueue = \"postgres://c@db/queue\"\n\
                olap = \"postgres://c@db/olap\"\nnotifications = \"postgres://c@db/notifications\"\n";
    let text = format!(
        "{base}[monitor]\nredis_url = \"redis://10.0.0.5:6379/2\"\nsmtp_servers = [\"smtp1.example.com:587\"]\n\
         dns_resolver = \"127.0.0.1:5353\"\nextra_dnsbl_zones = [\"bl.spamcop.net\", \"ZEN.spamhaus.org.\"]\n\
         [monitor.thresholds]\ndisk_percent = 75\n"
    );
    let p = penguin_admin::profiles::Profile::parse(&text, std::path::Path::new("prod.toml")).unwrap();
    let m = p.monitor.unwrap();
    m.validate().unwrap();
    // Defaults: Spamhaus ZEN and Barracuda, then the extras (the repeated ZEN only once).
    assert_eq!(m.zones(), ["zen.spamhaus.org", "b.barracudacentral.org", "bl.spamcop.net"]);
    assert_eq!(m.thresholds.disk_percent, 75.0);
    let d = Thresholds::default();
    assert_eq!(
        (d.queue_warning_waiting, d.queue_critical_waiting, d.queue_critical_failed, d.queue_backlog_alert),
        (100, 1_000, 10, 10_000)
    );
    assert_eq!((d.stuck_after_minutes, d.disk_percent, d.cpu_percent, d.memory_percent), (60, 80.0, 90.0, 85.0));
    assert_eq!(RedisTarget::parse(m.redis_url.as_deref().unwrap(), None).unwrap().db, 2);

    // A malformed threshold: the error names the line.
    let text = format!("{base}[monitor]\n[monitor.thresholds]\ncpu_percent = \"ninety\"\n");
    let err = penguin_admin::profiles::Profile::parse(&text, std::path::Path::new("p.toml")).unwrap_err().to_string();
    assert!(err.contains("line 8"), "{err}");
    let text = format!("{base}[monitor]\nsmtp_server = [\"typo:25\"]\n");
    let err = penguin_admin::profiles::Profile::parse(&text, std::path::Path::new("p.toml")).unwrap_err().to_string();
    assert!(err.contains("smtp_server"), "{err}");
    let bad = MonitorSettings { cpu_rate_window: "5 minutes".into(), ..Default::default() };
    assert!(bad.validate().unwrap_err().to_string().contains("cpu_rate_window"));
}

fn cli() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_penguin-admin"));
    // Keep the tests away from the user's real profiles and keyring.
    c.env("XDG_CONFIG_HOME", std::env::temp_dir().join("penguin-cli-test-config"));
    c.env_remove("DBUS_SESSION_BUS_ADDRESS");
    c.env("PENGUIN_ADMIN_PASSWORD", "correct horse battery");
    c
}

fn run_ok(args: &[&str]) -> String {
    let o = cli().args(args).output().unwrap();
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_monitor_check_and_queue_actions() {
    let p = Platform::installed().await;
    let c = &p.central;
    queue_fixture(c).await;
    staff_account(c, "ops", "ops@penguinmails.test", "correct horse battery").await;
    staff_account(c, "support", "support@penguinmails.test", "correct horse battery").await;
    let redis = peers::redis();
    let mut toml = std::fs::read_to_string(p.profile_path()).unwrap();
    toml.push_str(&format!("\n[monitor]\nredis_url = \"redis://{}\"\n", redis.addr()));
    std::fs::write(p.profile_path(), toml).unwrap();
    let profile = p.profile_path().display().to_string();

    // One cycle as JSON: the tiles, the queue figures and the run for the alerts.
    let out = run_ok(&["monitor", "check", "--profile", &profile, "--json"]);
    let r: monitor::MonitorReport = serde_json::from_str(&out).unwrap();
    assert_eq!(r.area(Area::Queue).unwrap().status, Status::Red);
    assert_eq!(r.area(Area::Redis).unwrap().status, Status::Green);
    assert_eq!(r.area(Area::Smtp).unwrap().status, Status::NotConfigured);
    assert!(r.run.conditions.iter().any(|c| c.fingerprint == "queue:queue:warmup:process:backlog"));
    let human = run_ok(&["monitor", "check", "--profile", &profile]);
    assert!(
        human.contains("not configured") && human.contains("queue:warmup:process has 10,001 waiting jobs"),
        "{human}"
    );

    // Pause as ops; support is refused with a clear message and nothing changes.
    let o = cli()
        .args([
            "monitor",
            "queue",
            "pause",
            "email-sending",
            "--profile",
            &profile,
            "--as",
            "support@penguinmails.test",
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("queue.manage"), "{}", String::from_utf8_lossy(&o.stderr));
    let out =
        run_ok(&["monitor", "queue", "pause", "email-sending", "--profile", &profile, "--as", "ops@penguinmails.test"]);
    assert_eq!(out.trim(), "email-sending paused");
    assert_eq!(q(c, "SELECT count(*) FROM job_queues WHERE name = 'email-sending' AND NOT is_active").await, 1);

    // Bulk retry: preview prints COUNT:DIGEST; a stale expectation is refused; the right one applies.
    let filter = ["--queue", "analytics:daily-aggregate", "--state", "failed", "--search", "timeout"];
    let mut args = vec!["monitor", "queue", "bulk", "--profile", &profile, "--as", "ops@penguinmails.test"];
    args.extend(filter);
    args.extend(["--action", "retry"]);
    let out = run_ok(&args);
    assert!(out.starts_with("retry would touch 7 jobs; apply with --expect 7:"), "{out}");
    let expect = out.trim().rsplit(' ').next().unwrap().to_string();
    let mut stale = args.clone();
    stale.extend(["--expect", "6:0000"]);
    assert!(!cli().args(&stale).output().unwrap().status.success());
    let mut apply = args.clone();
    apply.extend(["--expect", &expect]);
    assert_eq!(run_ok(&apply).trim(), "7 jobs queued again");
    assert_eq!(
        q(c, "SELECT count(*) FROM jobs WHERE status = 'failed' AND queue_name = 'analytics:daily-aggregate'").await,
        4
    );
}
