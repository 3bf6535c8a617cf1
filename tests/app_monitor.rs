//! The Monitoring screen's operations through the app on a seeded throwaway demo: the
//! live report (grey areas the demo cannot start, merged partial refreshes), the queue
//! actions with their required reason, the bulk preview guarding its apply, the alert
//! feed from the cache, and support's read-only access.
#![allow(clippy::unwrap_used, missing_docs)]

mod demo_app;
#[path = "common/peers.rs"]
mod peers;

use demo_app::demo_app;
use penguin_admin::app::ErrorCode;
use penguin_admin::central::Central;
use penguin_admin::monitor::queue::{JobAction, JobFilter, JobState};
use penguin_admin::monitor::{Area, Status};
use penguin_admin::profiles::Profile;

/// Every row of smtp_ip_addresses, as text, through the platform owner's connection.
async fn ip_table(owner: &Central) -> String {
    sqlx::query_scalar("SELECT string_agg(row_to_json(t)::text, ' | ' ORDER BY t.id) FROM smtp_ip_addresses t")
        .fetch_one(&owner.oltp)
        .await
        .unwrap()
}

fn redis_installed() -> bool {
    ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].iter().any(|p| std::path::Path::new(p).exists())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_monitors_and_acts_on_the_queue() {
    let d = demo_app().await;
    d.sign_in_as("ops").await;
    let snap = d.app.monitor_report(vec![]).await.unwrap();
    assert!(snap.stale_reason.is_none());
    let status = |s: &penguin_admin::app::MonitorSnapshot, a: Area| s.report.area(a).unwrap().status;
    assert_eq!(snap.report.areas.len(), 7, "a tile per area");
    // Nothing the demo cannot start is made up: these stay grey with the key to add.
    for (area, key) in [(Area::Smtp, "smtp_servers"), (Area::Dnsbl, "dns_resolver"), (Area::Hosts, "prometheus_url")] {
        let tile = snap.report.area(area).unwrap();
        assert_eq!(tile.status, Status::NotConfigured, "{area:?}");
        assert!(tile.reason.as_deref().unwrap().contains(key), "{:?}", tile.reason);
    }
    // The demo's own PostgreSQL (200 connections allowed, a handful used) is healthy.
    assert_eq!(status(&snap, Area::Postgres), Status::Green);
    // The seed fails about 4 % of the ~2,400 email-sending jobs: far above 10 failed, red.
    assert_eq!(status(&snap, Area::Queue), Status::Red);
    let queue = snap.report.queue.clone().unwrap();
    if redis_installed() {
        // The demo's Redis holds exactly the jobs PostgreSQL marks as handed to it.
        assert_eq!(status(&snap, Area::Redis), Status::Green);
        for q in &queue.queues {
            assert_eq!(q.waiting_redis, Some(q.migrated_to_redis), "{}", q.name);
        }
    } else {
        assert_eq!(status(&snap, Area::Redis), Status::NotConfigured);
    }

    // A refresh of the queue alone keeps every other tile from the last full run.
    let partial = d.app.monitor_report(vec![Area::Queue]).await.unwrap();
    assert_eq!(partial.report.areas.len(), 7);
    assert!(partial.report.postgres.is_some(), "postgres figures kept from the full run");
    assert!(partial.report.run.at >= snap.report.run.at);

    // Failed jobs; an action needs a reason.
    let failed = JobFilter { state: Some(JobState::Failed), ..Default::default() };
    let page = d.app.queue_jobs(failed.clone(), 5, 0).await.unwrap();
    let all_failed: i64 = queue.queues.iter().map(|q| q.failed).sum();
    assert_eq!(page.total, all_failed, "the failed filter lists every failed job");
    let preview = d.app.queue_bulk_preview(failed.clone(), JobAction::Retry).await.unwrap();
    assert_eq!(preview.count, all_failed, "every failed job can be retried");

    let job = page.rows[0].id.to_string();
    let err = d.app.queue_job_action(&job, JobAction::Retry, "  ").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::BadInput, "{}", err.message);
    d.app.queue_job_action(&job, JobAction::Retry, "relay fixed, OPS-7").await.unwrap();
    let detail = d.app.queue_job(&job).await.unwrap();
    assert_eq!((detail.job.status.as_str(), detail.job.attempt_count), ("queued", 0));

    // The preview no longer matches (one job left the set): the apply changes nothing.
    let err = d.app.queue_bulk_apply(failed.clone(), preview, "retry all").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict, "{}", err.message);
    assert_eq!(d.app.queue_jobs(failed, 1, 0).await.unwrap().total, all_failed - 1);

    // The alert feed reads the synced cache: the demo raises none.
    assert!(d.app.alert_feed(Default::default()).unwrap().is_empty());
    assert_eq!(d.app.alert_detail("nope").unwrap_err().code, ErrorCode::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_sees_monitoring_but_cannot_act() {
    let d = demo_app().await;
    d.sign_in_as("support").await;
    assert!(d.app.monitor_report(vec![Area::Queue, Area::Postgres]).await.is_ok());
    let page = d.app.queue_jobs(JobFilter { state: Some(JobState::Failed), ..Default::default() }, 1, 0).await.unwrap();
    let job = page.rows[0].id.to_string();
    let err = d.app.queue_job_action(&job, JobAction::Delete, "cleanup").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Forbidden, "{}", err.message);
    let err = d.app.set_queue_active("email-sending", false, "maintenance").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Forbidden, "{}", err.message);
    assert!(d.app.queue_job(&job).await.is_ok(), "the job still exists");
    // Support's payloads and errors carry no full e-mail address.
    let page =
        d.app.queue_jobs(JobFilter { state: Some(JobState::Failed), ..Default::default() }, 50, 0).await.unwrap();
    let text = serde_json::to_string(&page).unwrap();
    assert!(
        !text.split(|c: char| !(c.is_ascii_alphanumeric() || "@._-".contains(c))).any(|w| {
            let (local, domain) = w.split_once('@').unwrap_or(("", ""));
            !local.is_empty() && domain.contains('.')
        }),
        "{text}"
    );

    // With blocklists configured, opening Monitoring as support shows the results and
    // writes nothing to smtp_ip_addresses; as ops (alerts.manage) they are recorded, audited.
    let path = d.dir.path().join("config/profiles/demo.toml");
    let mut profile = Profile::load(path.to_str().unwrap()).unwrap();
    let owner = Central::connect(&profile.owner_targets().unwrap(), 2).await.unwrap();
    let dns = peers::dnsmasq(&["zen.spamhaus.org", "b.barracudacentral.org"], &[]);
    let mut monitor = profile.monitor.clone().unwrap_or_default();
    monitor.dns_resolver = Some(dns.addr());
    profile.monitor = Some(monitor);
    profile.save(&path).unwrap();
    d.sign_in_as("support").await;
    let before = ip_table(&owner).await;
    let snap = d.app.monitor_report(vec![Area::Dnsbl]).await.unwrap();
    assert_eq!(snap.report.area(Area::Dnsbl).unwrap().status, Status::Green, "{:?}", snap.report.areas);
    let ips = snap.report.dnsbl.as_ref().unwrap().ips.len();
    assert!(ips > 0, "the demo has sending IPs");
    assert_eq!(ip_table(&owner).await, before, "support's Monitoring wrote nothing");
    d.sign_in_as("ops").await;
    d.app.monitor_report(vec![Area::Dnsbl]).await.unwrap();
    let checked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM smtp_ip_addresses WHERE last_reputation_check > now() - interval '5 minutes'",
    )
    .fetch_one(&owner.oltp)
    .await
    .unwrap();
    assert_eq!(checked as usize, ips, "every IP recorded by ops' check");
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM admin_audit_log WHERE action = 'ip.reputation_recorded' AND metadata->>'actor_role' = 'ops'",
    )
    .fetch_one(&owner.olap)
    .await
    .unwrap();
    assert_eq!(audited, 1);
}
