//! Monitoring checks against real peers: the throwaway PostgreSQL with queue fixtures, a
//! redis-server, dnsmasq answering blocklist queries, Prometheus scraping a /metrics endpoint
//! with known node_exporter values, aiosmtpd (plain and STARTTLS), and in-test peers that
//! hang or answer garbage. Every expected number is worked out by hand in the comments.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
#[path = "common/peers.rs"]
mod peers;
mod team;

use std::time::{Duration, Instant};

use common::Platform;
use penguin_admin::alerts::{Condition, Severity};
use penguin_admin::auth::{permissions, ClientInfo, Staff};
use penguin_admin::central::Central;
use penguin_admin::monitor::dnsbl::{self, Listing};
use penguin_admin::monitor::queue::{self, JobAction, JobFilter, JobState};
use penguin_admin::monitor::redis::RedisTarget;
use penguin_admin::monitor::smtp::{self, SmtpState};
use penguin_admin::monitor::{
    self, sending, server, Area, MonitorError, MonitorSecrets, MonitorSettings, Status, Thresholds,
};
use uuid::Uuid;

fn staff(role: &str) -> Staff {
    Staff {
        user_id: Some(Uuid::new_v4()),
        email: format!("{role}@penguinmails.test"),
        name: Some(format!("{role} staff")),
        role: role.into(),
        permissions: permissions::defaults_for(role).unwrap().iter().map(|p| p.name.to_string()).collect(),
    }
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
    let ops = staff("ops");
    let support = staff("support");

    let o = queue::overview(c, &support, Some(&target), &th).await.unwrap();
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
    let no_redis = queue::overview(c, &support, None, &th).await.unwrap();
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
    assert_eq!(queue::jobs(c, &ops, &failed, 60, 50, 0).await.unwrap().total, 14); // 3 + 11
    let camp = JobFilter { search: Some("camp-42".into()), ..failed.clone() };
    assert_eq!(queue::jobs(c, &ops, &camp, 60, 50, 0).await.unwrap().total, 3);
    let division = JobFilter { search: Some("DIVISION by".into()), ..failed.clone() };
    assert_eq!(queue::jobs(c, &ops, &division, 60, 50, 0).await.unwrap().total, 4);
    let stuck = JobFilter { state: Some(JobState::Stuck), ..Default::default() };
    let page = queue::jobs(c, &ops, &stuck, 60, 50, 0).await.unwrap();
    assert_eq!((page.total, page.rows[0].id.to_string(), page.rows[0].stuck), (1, STUCK.to_string(), true));

    // Detail with the attempt history, in order; support sees emails masked.
    let d = queue::job_detail(c, &support, FAILED_WITH_LOGS.parse().unwrap(), 60).await.unwrap();
    assert_eq!(d.logs.iter().map(|l| l.attempt_number.unwrap()).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(d.logs[2].duration_ms, Some(500.0));
    assert_eq!(d.job.payload.as_ref().unwrap()["recipient_email"], "z•••@•••.test");
    assert_eq!(d.job.last_error_message.as_deref(), Some("SMTP 550 5.1.1 <z•••@•••.test>: mailbox unavailable"));
    assert_eq!(d.logs[0].log_message.as_deref(), Some("SMTP 421 for z•••@•••.test"));
    let d = queue::job_detail(c, &ops, FAILED_WITH_LOGS.parse().unwrap(), 60).await.unwrap();
    assert_eq!(d.job.payload.as_ref().unwrap()["recipient_email"], "zoe@example.test");
    let by_email = JobFilter { search: Some("zoe@example.test".into()), ..Default::default() };
    assert!(matches!(queue::jobs(c, &support, &by_email, 60, 50, 0).await, Err(MonitorError::BadInput(_))));
    assert_eq!(queue::jobs(c, &ops, &by_email, 60, 50, 0).await.unwrap().total, 1);

    // Pause / resume: support may not; ops may, audited once; pausing twice changes nothing.
    let client = ClientInfo::default();
    assert!(matches!(
        queue::set_queue_active(c, &support, &client, "email-sending:low", false, None).await,
        Err(MonitorError::Forbidden(_))
    ));
    assert!(queue::set_queue_active(c, &ops, &client, "queue:email-sending:low", false, Some("Black Friday"))
        .await
        .unwrap());
    assert!(!queue::set_queue_active(c, &ops, &client, "email-sending:low", false, None).await.unwrap());
    assert_eq!(q(c, "SELECT count(*) FROM job_queues WHERE name = 'email-sending:low' AND NOT is_active").await, 1);
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM admin_audit_log WHERE action = 'queue.paused' AND resource_id = 'email-sending:low'
            AND notes = 'Black Friday'",
    )
    .fetch_one(&c.olap)
    .await
    .unwrap();
    assert_eq!(audited, 1);
    assert!(queue::set_queue_active(c, &ops, &client, "email-sending:low", true, None).await.unwrap());

    // Single-job actions: the stuck job is retried (queued, attempts reset); the job running for
    // 10 minutes can be neither retried nor deleted; a failed job is deleted with its logs.
    queue::job_action(c, &ops, &client, STUCK.parse().unwrap(), JobAction::Retry, 60, None).await.unwrap();
    assert_eq!(
        q(c, &format!("SELECT count(*) FROM jobs WHERE id = '{STUCK}' AND status = 'queued' AND attempt_count = 0"))
            .await,
        1
    );
    for action in [JobAction::Retry, JobAction::Delete] {
        let err = queue::job_action(c, &ops, &client, RUNNING.parse().unwrap(), action, 60, None).await.unwrap_err();
        assert!(matches!(err, MonitorError::Conflict(_)), "{err}");
    }
    queue::job_action(c, &ops, &client, FAILED_WITH_LOGS.parse().unwrap(), JobAction::Delete, 60, None).await.unwrap();
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
        queue::bulk_preview(c, &support, &filter, JobAction::Retry, 60).await,
        Err(MonitorError::Forbidden(_))
    ));
    let preview = queue::bulk_preview(c, &ops, &filter, JobAction::Retry, 60).await.unwrap();
    assert_eq!(preview.count, 4);
    sqlx::query(
        "INSERT INTO jobs (queue_name, status, failed, attempt_count, last_error_message)
         VALUES ('analytics:daily-aggregate', 'failed', now(), 3, 'Division by zero in MRR calculation')",
    )
    .execute(&c.queue)
    .await
    .unwrap();
    let err = queue::bulk_apply(c, &ops, &client, &filter, &preview, 60, None).await.unwrap_err();
    assert!(matches!(err, MonitorError::Conflict(_)), "{err}");
    assert!(err.to_string().contains("5 jobs, not the 4 previewed"), "{err}");
    assert_eq!(
        q(c, "SELECT count(*) FROM jobs WHERE status = 'failed' AND last_error_message LIKE 'Division%'").await,
        5
    );
    let preview = queue::bulk_preview(c, &ops, &filter, JobAction::Retry, 60).await.unwrap();
    assert_eq!(preview.count, 5);
    assert_eq!(queue::bulk_apply(c, &ops, &client, &filter, &preview, 60, Some("fix deployed")).await.unwrap(), 5);
    assert_eq!(
        q(c, "SELECT count(*) FROM jobs WHERE status = 'queued' AND attempt_count = 0 AND last_error_message LIKE 'Division%'")
            .await,
        5
    );
    assert_eq!(
        q(c, "SELECT count(*) FROM jobs WHERE status = 'failed' AND queue_name = 'analytics:daily-aggregate'").await,
        7
    );
    let bulk_audit: serde_json::Value =
        sqlx::query_scalar("SELECT new_values FROM admin_audit_log WHERE action = 'queue.jobs.bulk_retried'")
            .fetch_one(&c.olap)
            .await
            .unwrap();
    assert_eq!(bulk_audit["job_ids"].as_array().unwrap().len(), 5);

    // A bulk delete over all of email-sending touches only what no worker holds: now 4 queued
    // (3 + the retried stuck one) + 13 completed + 2 failed = 19; not the 4 in Redis nor the
    // one running for 10 minutes.
    let all_es = JobFilter { queue: Some("email-sending".into()), ..Default::default() };
    assert_eq!(queue::bulk_preview(c, &ops, &all_es, JobAction::Delete, 60).await.unwrap().count, 19);
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
    let s = sending::stats(c, &staff("support")).await.unwrap();
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
    let report = monitor::check_all(c, &staff("ops"), &settings, &MonitorSecrets::default()).await.unwrap();
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
    let ops = staff("ops");
    let budget = Duration::from_secs(3);

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
    let (report, conds) = dnsbl::run(c, &ops, &dns.addr(), &zones, budget).await.unwrap();
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
    drop(dns);

    // Run 2: Spamhaus now refuses .7's lookup; everything else clean. The stored XBL listing
    // still stands (a DNS hiccup resolves nothing); .9 and 192.0.2.2 are delisted.
    let dns = peers::dnsmasq(&zone_refs, &[("7.113.0.203.zen.spamhaus.org", "127.255.255.254")]);
    let (report, conds) = dnsbl::run(c, &ops, &dns.addr(), &zones, budget).await.unwrap();
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
    let (_, conds) = dnsbl::run(c, &ops, &dns.addr(), &zones, budget).await.unwrap();
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
    let report = monitor::check_all(c, &ops, &settings, &MonitorSecrets::default()).await.unwrap();
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
    let r = monitor::check_all(&p.central, &staff("support"), &settings, &MonitorSecrets::default()).await.unwrap();
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
    let support = staff("support");

    // Nothing named: grey tiles for what the profile does not name, never a made-up value.
    let r = monitor::check_all(c, &support, &MonitorSettings::default(), &MonitorSecrets::default()).await.unwrap();
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
        monitor::check_all(c, &support, &settings, &MonitorSecrets::default()),
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
    let r = monitor::check_areas(c, &support, &settings, &MonitorSecrets::default(), &[Area::Redis, Area::Queue])
        .await
        .unwrap();
    assert_eq!(r.areas.iter().map(|a| a.area).collect::<Vec<_>>(), [Area::Queue, Area::Redis]);
    assert_eq!(r.run.sources, ["queue", "redis"]);
    assert!(r.dnsbl.is_none() && r.smtp.is_none() && r.queue.is_some());

    // Settings errors are clear.
    let bad = MonitorSettings { smtp_servers: vec!["nocolon".into()], ..Default::default() };
    let e = monitor::check_all(c, &support, &bad, &MonitorSecrets::default()).await.unwrap_err();
    assert!(e.to_string().contains("is not host:port"), "{e}");
    let bad =
        MonitorSettings { thresholds: Thresholds { disk_percent: 180.0, ..Default::default() }, ..Default::default() };
    let e = monitor::check_all(c, &support, &bad, &MonitorSecrets::default()).await.unwrap_err();
    assert!(e.to_string().contains("disk_percent must be a percentage"), "{e}");
    // Without monitoring.read: refused.
    let mut nobody = staff("support");
    nobody.permissions.clear();
    assert!(matches!(
        monitor::check_all(c, &nobody, &MonitorSettings::default(), &MonitorSecrets::default()).await,
        Err(MonitorError::Forbidden(_))
    ));
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
    team::staff_account(c, "ops", "ops@penguinmails.test", "correct horse battery").await;
    team::staff_account(c, "support", "support@penguinmails.test", "correct horse battery").await;
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
