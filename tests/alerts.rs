//! Alerts against real peers: the throwaway PostgreSQL (`Platform::installed()`), the fake
//! PagerDuty over real HTTP, aiosmtpd as the SMTP relay, and a synced SQLite cache.
//! Expected numbers are worked out by hand from the fixtures written here.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
#[path = "common/mail.rs"]
mod mail;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::{as_desktop, small_fixture, Platform};
use penguin_admin::alerts::pagerduty_fake::FakePagerDuty;
use penguin_admin::alerts::watch::{CheckSource, HealthSource, SourceFuture, Watcher};
use penguin_admin::alerts::{
    self, AlertError, AlertSettings, Channel, Channels, CheckRun, Condition, EmailSettings, FeedFilter, NewSilence,
    PagerDutySettings, RetryPolicy, Secrets, Severity, Subject,
};
use penguin_admin::central::{Central, DbKind};
use sqlx::Row;

// small_fixture's tenants and workspaces (tests/common/mod.rs).
const ACME: &str = "00000000-0000-0000-0000-0000000000b1";
const GLOBEX: &str = "00000000-0000-0000-0000-0000000000b2";
const ACME_EU: &str = "00000000-0000-0000-0000-0000000000d1";
const ACME_US: &str = "00000000-0000-0000-0000-0000000000d2";
const GLOBEX_WS: &str = "00000000-0000-0000-0000-0000000000d3";

const KEY: &str = "0123456789abcdef0123456789abcdef";
const IP: &str = "203.0.113.7";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap()
}

fn condition(fp: &str, source: &str, severity: Severity, subject: Subject, summary: &str) -> Condition {
    Condition {
        fingerprint: fp.into(),
        source: source.into(),
        severity,
        subject,
        summary: summary.into(),
        details: BTreeMap::from([("waiting".to_string(), "12400".to_string())]),
    }
}

fn backlog() -> Condition {
    condition(
        "queue:queue:email-sending:backlog",
        "queue",
        Severity::Critical,
        Subject::Queue("queue:email-sending".into()),
        "queue:email-sending has 12,400 waiting jobs (alert above 10,000)",
    )
}

fn run(at: DateTime<Utc>, sources: &[&str], conditions: Vec<Condition>) -> CheckRun {
    CheckRun { at, sources: sources.iter().map(|s| s.to_string()).collect(), conditions }
}

fn settings(pd: Option<&FakePagerDuty>, sink: Option<&mail::SmtpSink>) -> AlertSettings {
    AlertSettings {
        pagerduty: pd.map(|f| PagerDutySettings { api_base: f.api_base() }),
        email: sink.map(|s| EmailSettings {
            on_call: vec!["oncall@penguin.test".into(), "backup@penguin.test".into()],
            smtp_host: "127.0.0.1".into(),
            smtp_port: s.port,
            from: "alerts@penguin.test".into(),
            starttls: false,
            username: None,
        }),
        retry: RetryPolicy { max_attempts: 5, first_backoff_secs: 30, max_backoff_secs: 3600 },
    }
}

fn channels(pd: Option<&FakePagerDuty>, sink: Option<&mail::SmtpSink>) -> Channels {
    let secrets = Secrets { pagerduty_routing_key: Some(KEY.into()), smtp_password: None };
    Channels::new(&settings(pd, sink), &secrets).unwrap()
}

/// (state, resolved_by, paged) of every alert, by fingerprint.
async fn alerts_by_fp(central: &Central) -> Vec<(String, String, Option<String>, bool)> {
    sqlx::query_as(
        "SELECT fingerprint, state, resolved_by, paged FROM penguin_console.alerts ORDER BY first_seen, fingerprint",
    )
    .fetch_all(&central.notifications)
    .await
    .unwrap()
}

/// (channel, event, status, attempts, last_error) of every notification.
async fn notifications(central: &Central) -> Vec<(String, String, String, i32, Option<String>)> {
    sqlx::query_as(
        "SELECT channel, event, status, attempts, last_error FROM penguin_console.alert_notifications
         ORDER BY created, array_position(ARRAY['trigger','acknowledge','resolve'], event), channel",
    )
    .fetch_all(&central.notifications)
    .await
    .unwrap()
}

fn actions(fake: &FakePagerDuty) -> Vec<(String, String)> {
    fake.events().into_iter().map(|e| (e.event_action, e.dedup_key)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persisting_condition_is_one_alert_and_one_page_and_one_resolve() {
    let p = Platform::installed().await;
    let fake = FakePagerDuty::start().await.unwrap();
    let ch = channels(Some(&fake), None);
    let fp = backlog().fingerprint;
    for i in 0..3 {
        let r = alerts::reconcile(
            &p.central,
            &run(t0() + Duration::minutes(i), &["queue"], vec![backlog()]),
            &ch.enabled(),
        )
        .await
        .unwrap();
        assert_eq!(r.raised.len(), usize::from(i == 0), "run {i}: {r:?}");
        alerts::deliver_pending(&p.central, &ch, t0() + Duration::minutes(i)).await.unwrap();
    }
    assert_eq!(alerts_by_fp(&p.central).await, [(fp.clone(), "firing".into(), None, true)]);
    assert_eq!(actions(&fake), [("trigger".to_string(), fp.clone())]);
    let trigger = &fake.events()[0].body;
    assert_eq!(trigger["routing_key"], KEY);
    assert_eq!(trigger["payload"]["summary"], "queue:email-sending has 12,400 waiting jobs (alert above 10,000)");
    assert_eq!(trigger["payload"]["severity"], "critical");
    assert_eq!(trigger["payload"]["source"], "queue:email-sending");
    assert_eq!(trigger["payload"]["custom_details"]["details"]["waiting"], "12400");
    let last_seen: DateTime<Utc> = sqlx::query_scalar("SELECT last_seen FROM penguin_console.alerts")
        .fetch_one(&p.central.notifications)
        .await
        .unwrap();
    assert_eq!(last_seen, t0() + Duration::minutes(2));

    // A run in which the queue check did not complete says nothing: the alert stays open.
    alerts::reconcile(&p.central, &run(t0() + Duration::minutes(3), &["redis"], vec![]), &ch.enabled()).await.unwrap();
    assert_eq!(alerts_by_fp(&p.central).await[0].1, "firing");

    // The queue check ran and the backlog is gone: resolved automatically, one resolve event.
    let r = alerts::reconcile(&p.central, &run(t0() + Duration::minutes(4), &["queue"], vec![]), &ch.enabled())
        .await
        .unwrap();
    assert_eq!(r.resolved, std::slice::from_ref(&fp));
    alerts::deliver_pending(&p.central, &ch, t0() + Duration::minutes(4)).await.unwrap();
    alerts::deliver_pending(&p.central, &ch, t0() + Duration::minutes(5)).await.unwrap();
    assert_eq!(alerts_by_fp(&p.central).await, [(fp.clone(), "resolved".into(), None, true)]);
    assert_eq!(actions(&fake), [("trigger".to_string(), fp.clone()), ("resolve".to_string(), fp.clone())]);

    // The same problem coming back is a new alert, paged again.
    alerts::reconcile(&p.central, &run(t0() + Duration::minutes(6), &["queue"], vec![backlog()]), &ch.enabled())
        .await
        .unwrap();
    alerts::deliver_pending(&p.central, &ch, t0() + Duration::minutes(6)).await.unwrap();
    assert_eq!(alerts_by_fp(&p.central).await.len(), 2);
    assert_eq!(fake.events().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warnings_are_recorded_but_never_page() {
    let p = Platform::installed().await;
    let fake = FakePagerDuty::start().await.unwrap();
    let ch = channels(Some(&fake), None);
    let warn = condition("redis:memory", "redis", Severity::Warning, Subject::Redis, "Redis memory at 82 %");
    alerts::reconcile(&p.central, &run(t0(), &["redis"], vec![warn]), &ch.enabled()).await.unwrap();
    alerts::deliver_pending(&p.central, &ch, t0()).await.unwrap();
    assert_eq!(alerts_by_fp(&p.central).await, [("redis:memory".into(), "firing".into(), None, false)]);
    assert!(fake.events().is_empty());
    // Escalated to critical while still open: now it pages, once.
    let crit = condition("redis:memory", "redis", Severity::Critical, Subject::Redis, "Redis memory at 97 %");
    for i in 1..3 {
        alerts::reconcile(&p.central, &run(t0() + Duration::minutes(i), &["redis"], vec![crit.clone()]), &ch.enabled())
            .await
            .unwrap();
        alerts::deliver_pending(&p.central, &ch, t0() + Duration::minutes(i)).await.unwrap();
    }
    assert_eq!(actions(&fake), [("trigger".to_string(), "redis:memory".to_string())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silence_keeps_a_critical_alert_from_paging_until_it_ends() {
    let p = Platform::installed().await;
    let fake = FakePagerDuty::start().await.unwrap();
    let ch = channels(Some(&fake), None);
    let ops = p.session("ops").await;
    let listed = condition(
        &format!("dnsbl:{IP}:zen.spamhaus.org"),
        "dnsbl",
        Severity::Critical,
        Subject::Ip(IP.into()),
        "203.0.113.7 is listed on zen.spamhaus.org",
    );
    let now = Utc::now();
    let silence = alerts::create_silence(
        &ops,
        &NewSilence {
            source: Some("dnsbl".into()),
            fingerprint: None,
            subject: Some("203.0.113.*".into()),
            starts_at: now - Duration::minutes(5),
            ends_at: now + Duration::hours(2),
            reason: "IP block migration, ticket OPS-42".into(),
        },
    )
    .await
    .unwrap();
    let r = alerts::reconcile(&p.central, &run(now, &["dnsbl"], vec![listed.clone()]), &ch.enabled()).await.unwrap();
    assert_eq!((r.paged.len(), r.silenced.len()), (0, 1));
    alerts::deliver_pending(&p.central, &ch, now).await.unwrap();
    assert!(fake.events().is_empty());
    assert!(notifications(&p.central).await.is_empty());
    let silenced_by: Option<uuid::Uuid> = sqlx::query_scalar("SELECT silenced_by FROM penguin_console.alerts")
        .fetch_one(&p.central.notifications)
        .await
        .unwrap();
    assert_eq!(silenced_by, Some(silence));

    // A silence on other subjects does not cover it, and bad silences are refused.
    let err = alerts::create_silence(
        &ops,
        &NewSilence {
            source: None,
            fingerprint: None,
            subject: None,
            starts_at: now,
            ends_at: now + Duration::hours(1),
            reason: "x".into(),
        },
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("at least one matcher"), "{err}");
    let support = p.session("support").await;
    assert!(matches!(alerts::expire_silence(&support, silence).await, Err(AlertError::Forbidden(_))));
    // The database refuses support too, and nobody writes the silences directly.
    assert_eq!(
        as_desktop(
            &support,
            DbKind::Notifications,
            &format!("SELECT penguin_console_api.alerts_expire_silence('{silence}')")
        )
        .await,
        "42501"
    );
    for sql in [
        "UPDATE penguin_console.alert_silences SET ends_at = now()",
        "DELETE FROM penguin_console.alert_silences",
        "UPDATE penguin_console.alerts SET state = 'resolved'",
    ] {
        assert_eq!(as_desktop(&ops, DbKind::Notifications, sql).await, "42501", "{sql}");
    }

    // Ended early: the still-critical alert pages on the next reconcile.
    alerts::expire_silence(&ops, silence).await.unwrap();
    let again = alerts::expire_silence(&ops, silence).await.unwrap_err();
    assert!(matches!(again, AlertError::Conflict(_)) && again.to_string().contains("already ended"), "{again}");
    let later = Utc::now() + Duration::seconds(1);
    let r = alerts::reconcile(&p.central, &run(later, &["dnsbl"], vec![listed.clone()]), &ch.enabled()).await.unwrap();
    assert_eq!(r.paged, std::slice::from_ref(&listed.fingerprint));
    alerts::deliver_pending(&p.central, &ch, later).await.unwrap();
    assert_eq!(actions(&fake), [("trigger".to_string(), listed.fingerprint.clone())]);
    let audited: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, admin_user_id FROM admin_audit_log WHERE resource_type = 'alert_silence' ORDER BY id",
    )
    .fetch_all(&p.central.olap)
    .await
    .unwrap();
    let by_ops = |a: &str| (a.to_string(), ops.staff().user_id().unwrap().to_string());
    assert_eq!(audited, [by_ops("alert.silence_created"), by_ops("alert.silence_expired")]);
    let created_by: String = sqlx::query_scalar("SELECT created_by FROM penguin_console.alert_silences")
        .fetch_one(&p.central.notifications)
        .await
        .unwrap();
    assert_eq!(created_by, "ops@penguin.test");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledge_resolve_and_notes_are_staff_actions_with_audit_and_pagerduty_events() {
    let p = Platform::installed().await;
    let fake = FakePagerDuty::start().await.unwrap();
    let ch = channels(Some(&fake), None);
    let fp = backlog().fingerprint;
    alerts::reconcile(&p.central, &run(t0(), &["queue"], vec![backlog()]), &ch.enabled()).await.unwrap();
    alerts::deliver_pending(&p.central, &ch, t0()).await.unwrap();
    let id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM penguin_console.alerts").fetch_one(&p.central.notifications).await.unwrap();

    // Support may look, not act: refused here and by the database; and no desktop login
    // changes an alert directly.
    let support = p.session("support").await;
    assert!(matches!(alerts::acknowledge(&support, id).await, Err(AlertError::Forbidden(_))));
    for sql in [
        format!("SELECT penguin_console_api.alerts_acknowledge('{id}')"),
        format!("SELECT penguin_console_api.alerts_add_note('{id}', 'x')"),
        format!("SELECT penguin_console_api.alerts_resolve('{id}', NULL)"),
    ] {
        assert_eq!(as_desktop(&support, DbKind::Notifications, &sql).await, "42501", "{sql}");
    }
    let ops = p.session("ops").await;
    for sql in [
        format!("UPDATE penguin_console.alerts SET state = 'acknowledged', acknowledged_by = 'me' WHERE id = '{id}'"),
        format!("INSERT INTO penguin_console.alert_notes (id, alert_id, author, body) VALUES (gen_random_uuid(), '{id}', 'me', 'x')"),
    ] {
        assert_eq!(as_desktop(&ops, DbKind::Notifications, &sql).await, "42501", "{sql}");
    }
    let missing = alerts::acknowledge(&ops, uuid::Uuid::nil()).await.unwrap_err();
    assert!(matches!(missing, AlertError::NotFound(_)), "{missing}");

    alerts::acknowledge(&ops, id).await.unwrap();
    let again = alerts::acknowledge(&ops, id).await.unwrap_err();
    assert!(again.to_string().contains("already acknowledged by ops@penguin.test"), "{again}");
    alerts::deliver_pending(&p.central, &ch, Utc::now()).await.unwrap();
    assert_eq!(actions(&fake), [("trigger".to_string(), fp.clone()), ("acknowledge".to_string(), fp.clone())]);
    let row = sqlx::query("SELECT state, acknowledged_by FROM penguin_console.alerts WHERE id = $1")
        .bind(id)
        .fetch_one(&p.central.notifications)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("state"), "acknowledged");
    assert_eq!(row.get::<Option<String>, _>("acknowledged_by").as_deref(), Some("ops@penguin.test"));

    // Still there on the next run: stays acknowledged, no new page.
    alerts::reconcile(&p.central, &run(t0() + Duration::minutes(1), &["queue"], vec![backlog()]), &ch.enabled())
        .await
        .unwrap();
    assert_eq!(alerts_by_fp(&p.central).await[0].1, "acknowledged");

    alerts::add_note(&ops, id, "Scaling the senders, see OPS-77").await.unwrap();
    alerts::resolve(&ops, id, Some("Workers restarted")).await.unwrap();
    alerts::deliver_pending(&p.central, &ch, Utc::now()).await.unwrap();
    assert_eq!(
        actions(&fake),
        [
            ("trigger".to_string(), fp.clone()),
            ("acknowledge".to_string(), fp.clone()),
            ("resolve".to_string(), fp.clone())
        ]
    );
    assert_eq!(
        alerts_by_fp(&p.central).await,
        [(fp.clone(), "resolved".into(), Some("ops@penguin.test".into()), true)]
    );
    let notes: Vec<String> = sqlx::query_scalar("SELECT body FROM penguin_console.alert_notes ORDER BY created, body")
        .fetch_all(&p.central.notifications)
        .await
        .unwrap();
    assert_eq!(notes.len(), 2);
    assert!(
        notes.contains(&"Workers restarted".to_string())
            && notes.contains(&"Scaling the senders, see OPS-77".to_string())
    );

    let audit = sqlx::query(
        "SELECT action, resource_id, admin_user_id, ip_address FROM admin_audit_log WHERE resource_type = 'alert' ORDER BY id",
    )
    .fetch_all(&p.central.olap)
    .await
    .unwrap();
    let got: Vec<(String, String, String)> =
        audit.iter().map(|r| (r.get("action"), r.get("resource_id"), r.get("admin_user_id"))).collect();
    // The verified identity: ops' users.id, and the address ops signed in from (test_client()).
    let ops_id = ops.staff().user_id().unwrap().to_string();
    let expect = |a: &str| (a.to_string(), id.to_string(), ops_id.clone());
    assert_eq!(got, [expect("alert.acknowledged"), expect("alert.note_added"), expect("alert.resolved")]);
    assert_eq!(audit[0].get::<Option<String>, _>("ip_address").as_deref(), Some("192.0.2.10"));
}

/// A source that always reports the same conditions for `sources`.
struct Fixed(CheckRun);

impl CheckSource for Fixed {
    fn name(&self) -> &str {
        "fixed"
    }
    fn run<'a>(&'a self, _central: &'a Central, now: DateTime<Utc>) -> SourceFuture<'a> {
        let mut r = self.0.clone();
        r.at = now;
        Box::pin(async move { Ok(r) })
    }
}

/// A source that never answers (a hung peer).
struct Hung;

impl CheckSource for Hung {
    fn name(&self) -> &str {
        "hung"
    }
    fn run<'a>(&'a self, _central: &'a Central, _now: DateTime<Utc>) -> SourceFuture<'a> {
        Box::pin(std::future::pending())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_watchers_page_once() {
    let p = Platform::installed().await;
    let fake = FakePagerDuty::start().await.unwrap();
    // A slow PagerDuty, so that the two watchers' sends overlap.
    fake.set_delay(std::time::Duration::from_millis(300));
    let source = Arc::new(Fixed(run(t0(), &["queue"], vec![backlog()])));
    // Two watchers, each with its own connection pools, as two servers would have (the
    // watcher runs server-side with the platform owner's credentials).
    let owner = p.profile.owner_targets().unwrap();
    let w1 = Watcher::new(Central::connect(&owner, 4).await.unwrap(), channels(Some(&fake), None))
        .with_source(source.clone());
    let w2 = Watcher::new(Central::connect(&owner, 4).await.unwrap(), channels(Some(&fake), None))
        .with_source(source.clone())
        .with_source(Arc::new(Hung))
        .with_source_budget(std::time::Duration::from_millis(300));
    for i in 0..5 {
        let now = t0() + Duration::minutes(i);
        let (a, b) = tokio::join!(w1.tick(now), w2.tick(now));
        let (a, b) = (a.unwrap(), b.unwrap());
        if i == 0 {
            assert_eq!(a.reconcile.raised.len() + b.reconcile.raised.len(), 1, "{a:?} {b:?}");
        }
        assert_eq!(b.failed_sources.len(), 1, "the hung source is reported, not waited for");
    }
    assert_eq!(alerts_by_fp(&p.central).await.len(), 1);
    assert_eq!(actions(&fake), [("trigger".to_string(), backlog().fingerprint)]);

    // Two delivery passes racing over the same pending resolve send it once.
    alerts::reconcile(&p.central, &run(t0() + Duration::minutes(9), &["queue"], vec![]), &[Channel::Pagerduty])
        .await
        .unwrap();
    let (c1, c2) = (channels(Some(&fake), None), channels(Some(&fake), None));
    let at = t0() + Duration::minutes(9);
    let other = Central::connect(&owner, 2).await.unwrap();
    let (a, b) = tokio::join!(alerts::deliver_pending(&other, &c1, at), alerts::deliver_pending(&p.central, &c2, at));
    assert_eq!(a.unwrap().sent + b.unwrap().sent, 1);
    assert_eq!(fake.events().iter().filter(|e| e.event_action == "resolve").count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagerduty_errors_are_retried_with_backoff_or_recorded_as_failures() {
    let p = Platform::installed().await;
    let fake = FakePagerDuty::start().await.unwrap();
    let ch = channels(Some(&fake), None);
    fake.fail_next(500, 2);
    alerts::reconcile(&p.central, &run(t0(), &["queue"], vec![backlog()]), &ch.enabled()).await.unwrap();
    let r = alerts::deliver_pending(&p.central, &ch, t0()).await.unwrap();
    assert_eq!((r.sent, r.retrying, r.failed), (0, 1, 0));
    // Not due again before its backoff (30 s after the first failure).
    alerts::deliver_pending(&p.central, &ch, t0() + Duration::seconds(29)).await.unwrap();
    assert_eq!(notifications(&p.central).await[0].3, 1);
    // Second attempt at +30 s fails too; the next is 60 s later.
    alerts::deliver_pending(&p.central, &ch, t0() + Duration::seconds(30)).await.unwrap();
    let next: DateTime<Utc> = sqlx::query_scalar("SELECT next_attempt_at FROM penguin_console.alert_notifications")
        .fetch_one(&p.central.notifications)
        .await
        .unwrap();
    assert_eq!(next, t0() + Duration::seconds(90));
    let r = alerts::deliver_pending(&p.central, &ch, t0() + Duration::seconds(90)).await.unwrap();
    assert_eq!(r.sent, 1);
    assert_eq!(notifications(&p.central).await, [("pagerduty".into(), "trigger".into(), "sent".into(), 3, None)]);
    assert_eq!(fake.requests(), 3);
    assert_eq!(fake.events().len(), 1);

    // An event PagerDuty refuses (400, here a blank summary) fails for good, with the reason.
    let blank = condition("api:latency", "api", Severity::Critical, Subject::Other("api".into()), "");
    alerts::reconcile(&p.central, &run(t0(), &["api"], vec![blank]), &ch.enabled()).await.unwrap();
    let r = alerts::deliver_pending(&p.central, &ch, t0() + Duration::seconds(91)).await.unwrap();
    assert_eq!((r.sent, r.retrying, r.failed), (0, 0, 1));
    let failed = notifications(&p.central).await.pop().unwrap();
    assert_eq!((failed.2.as_str(), failed.3), ("failed", 1));
    let error = failed.4.unwrap();
    assert!(error.contains("HTTP 400") && error.contains("'payload.summary' is missing or blank"), "{error}");
    // Never retried.
    alerts::deliver_pending(&p.central, &ch, t0() + Duration::hours(5)).await.unwrap();
    assert_eq!(fake.requests(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_on_call_list_gets_the_alert_and_its_resolution_by_email() {
    let p = Platform::installed().await;
    let sink = mail::SmtpSink::start();
    let ch = channels(None, Some(&sink));
    assert_eq!(ch.enabled(), [Channel::Email]);
    alerts::reconcile(&p.central, &run(t0(), &["queue"], vec![backlog()]), &ch.enabled()).await.unwrap();
    let r = alerts::deliver_pending(&p.central, &ch, t0()).await.unwrap();
    assert_eq!(r.sent, 1, "{:?}", notifications(&p.central).await);
    alerts::reconcile(&p.central, &run(t0() + Duration::minutes(1), &["queue"], vec![]), &ch.enabled()).await.unwrap();
    alerts::deliver_pending(&p.central, &ch, t0() + Duration::minutes(1)).await.unwrap();
    // Long headers are folded onto continuation lines: unfold them.
    let messages: Vec<String> =
        sink.messages().into_iter().map(|m| m.replace("\r\n", "\n").replace("\n ", " ")).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    let first = &messages[0];
    assert!(
        first.contains("Subject: [CRITICAL] queue:email-sending has 12,400 waiting jobs (alert above 10,000)"),
        "{first}"
    );
    assert!(first.contains("oncall@penguin.test") && first.contains("backup@penguin.test"), "{first}");
    assert!(first.contains("From: alerts@penguin.test"), "{first}");
    assert!(first.contains("queue:queue:email-sending:backlog"), "the fingerprint is in the body: {first}");
    assert!(!first.contains("At risk"), "nothing waits in this empty queue, so no at-risk section: {first}");
    assert!(messages[1].contains("Subject: [RESOLVED] queue:email-sending has 12,400"), "{}", messages[1]);

    // A relay that is down: retried, not lost.
    drop(sink);
    alerts::reconcile(
        &p.central,
        &run(
            t0() + Duration::minutes(2),
            &["redis"],
            vec![condition("redis:down", "redis", Severity::Critical, Subject::Redis, "Redis is down")],
        ),
        &ch.enabled(),
    )
    .await
    .unwrap();
    let r = alerts::deliver_pending(&p.central, &ch, t0() + Duration::minutes(2)).await.unwrap();
    assert_eq!((r.sent, r.retrying), (0, 1));
    let last = notifications(&p.central).await.pop().unwrap();
    assert_eq!((last.2.as_str(), last.3), ("pending", 1));
    assert!(last.4.unwrap().contains("SMTP relay"));
}

/// The sending IP 203.0.113.7 carries Acme EU's domain (active) and Globex's (warming);
/// Acme US's domain was on it but that assignment expired; Acme US sends from another IP.
///
/// MRR by the Tenants list's rule:
/// - Acme: Pro, monthly period (Nov 1 → Dec 1, 30 days ≤ 40) → 9,900 + an active add-on of
///   $15.50 → 1,550; an inactive $99 add-on does not count → 11,450 cents.
/// - Globex: Enterprise, annual period (365 days > 40) → 499,000 / 12 = 41,583.33 →
///   41,583 cents (integer division, as the cache does).
/// - Total 53,033 cents.
const AT_RISK_SQL: &str = "
    INSERT INTO subscription_addons (id, subscription_id, addon_type, quantity, price_monthly, is_active) VALUES
      ('ad1', '00000000-0000-0000-0000-0000000000e1', 'extra_ips', 1, 15.50, true),
      ('ad2', '00000000-0000-0000-0000-0000000000e1', 'old', 1, 99.00, false);
    INSERT INTO smtp_ip_addresses (id, ip_address, status) VALUES
      ('00000000-0000-0000-0000-000000000701', '203.0.113.7', 'assigned'),
      ('00000000-0000-0000-0000-000000000702', '203.0.113.8', 'assigned');
    INSERT INTO domains (id, tenant_id, company_id, domain) VALUES
      ('00000000-0000-0000-0000-000000000801', '00000000-0000-0000-0000-0000000000b1', '00000000-0000-0000-0000-0000000000d1', 'mail.acme-eu.test'),
      ('00000000-0000-0000-0000-000000000802', '00000000-0000-0000-0000-0000000000b1', '00000000-0000-0000-0000-0000000000d2', 'mail.acme-us.test'),
      ('00000000-0000-0000-0000-000000000803', '00000000-0000-0000-0000-0000000000b2', '00000000-0000-0000-0000-0000000000d3', 'mail.globex.test');
    INSERT INTO domain_ip_assignments (domain_id, smtp_ip_address_id, status) VALUES
      ('00000000-0000-0000-0000-000000000801', '00000000-0000-0000-0000-000000000701', 'active'),
      ('00000000-0000-0000-0000-000000000803', '00000000-0000-0000-0000-000000000701', 'warming'),
      ('00000000-0000-0000-0000-000000000802', '00000000-0000-0000-0000-000000000701', 'expired'),
      ('00000000-0000-0000-0000-000000000802', '00000000-0000-0000-0000-000000000702', 'active');";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ip_alert_names_the_tenants_and_workspaces_at_risk_with_their_mrr() {
    let p = Platform::installed().await;
    small_fixture(&p.central).await;
    sqlx::raw_sql(AT_RISK_SQL).execute(&p.central.oltp).await.unwrap();
    let listed = condition(
        &format!("dnsbl:{IP}:zen.spamhaus.org"),
        "dnsbl",
        Severity::Critical,
        Subject::Ip(IP.into()),
        "203.0.113.7 is listed on zen.spamhaus.org",
    );
    alerts::reconcile(&p.central, &run(Utc::now(), &["dnsbl"], vec![listed]), &[]).await.unwrap();
    let stored: serde_json::Value = sqlx::query_scalar("SELECT at_risk FROM penguin_console.alerts")
        .fetch_one(&p.central.notifications)
        .await
        .unwrap();
    let risk: alerts::AtRisk = serde_json::from_value(stored).unwrap();
    let summary: Vec<(String, i64, Vec<String>)> = risk
        .tenants
        .iter()
        .map(|t| (t.name.clone(), t.mrr_cents, t.workspaces.iter().map(|w| w.name.clone()).collect()))
        .collect();
    assert_eq!(
        summary,
        [
            ("Acme Outreach".to_string(), 11_450, vec!["Acme EU".to_string()]),
            ("Globex Growth".to_string(), 41_583, vec!["Globex".to_string()]),
        ]
    );
    assert_eq!((risk.tenants[0].id.as_str(), risk.tenants[1].id.as_str()), (ACME, GLOBEX));
    assert_eq!(
        (risk.tenants[0].workspaces[0].id.as_str(), risk.tenants[1].workspaces[0].id.as_str()),
        (ACME_EU, GLOBEX_WS)
    );
    assert_eq!(risk.total_mrr_cents, 53_033);

    // The same MRR as the Tenants list computes in the cache.
    let ops = p.session("ops").await;
    p.sync_as(&ops, &p.cache_path()).await;
    let conn = penguin_admin::cache::open_read(&p.cache_path()).unwrap();
    for t in &risk.tenants {
        let listed = penguin_admin::tenants::detail(&conn, &t.id).unwrap().unwrap();
        assert_eq!(listed.tenant.mrr_cents, t.mrr_cents, "{}", t.name);
    }
    // And the feed carries it.
    let feed = alerts::feed(&conn, ops.staff(), &FeedFilter::default()).unwrap();
    assert_eq!(feed[0].at_risk.as_ref().unwrap().total_mrr_cents, 53_033);
    // Not to qa, who sees sandbox tenants only (Globex here): the alert, without what it
    // puts at risk.
    sqlx::query("INSERT INTO penguin_console.sandbox_tenants (tenant_id) VALUES ($1)")
        .bind(uuid::Uuid::parse_str(GLOBEX).unwrap())
        .execute(&p.central.oltp)
        .await
        .unwrap();
    let qa = p.session("qa").await;
    let qa_cache = p.dir.path().join("qa.sqlite");
    p.sync_as(&qa, &qa_cache).await;
    let conn = penguin_admin::cache::open_read(&qa_cache).unwrap();
    let feed = alerts::feed(&conn, qa.staff(), &FeedFilter::default()).unwrap();
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0].at_risk, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_email_queue_names_the_campaigns_waiting() {
    let p = Platform::installed().await;
    small_fixture(&p.central).await;
    sqlx::raw_sql(&format!(
        "INSERT INTO campaigns (id, tenant_id, company_id, name, status) VALUES
           ('00000000-0000-0000-0000-000000000901', '{ACME}', '{ACME_EU}', 'EU Black Friday', 'sending'),
           ('00000000-0000-0000-0000-000000000902', '{GLOBEX}', '{GLOBEX_WS}', 'Globex Q4 outreach', 'sending'),
           ('00000000-0000-0000-0000-000000000903', '{ACME}', '{ACME_US}', 'US done', 'completed');"
    ))
    .execute(&p.central.oltp)
    .await
    .unwrap();
    // Waiting: 3 jobs of 901 (queued), 1 of 902 (moved to Redis). Not waiting: a completed
    // job of 903, a failed one of 902, and a job of another queue.
    sqlx::raw_sql(
        "INSERT INTO job_queues (name) VALUES ('queue:email-sending'), ('queue:analytics:daily-aggregate');
         INSERT INTO jobs (queue_name, status, payload) VALUES
           ('queue:email-sending', 'queued', '{\"campaign_id\": \"00000000-0000-0000-0000-000000000901\"}'),
           ('queue:email-sending', 'queued', '{\"campaign_id\": \"00000000-0000-0000-0000-000000000901\"}'),
           ('queue:email-sending', 'queued', '{\"campaign_id\": \"00000000-0000-0000-0000-000000000901\"}'),
           ('queue:email-sending', 'migrated_to_redis', '{\"campaign_id\": \"00000000-0000-0000-0000-000000000902\"}'),
           ('queue:email-sending', 'completed', '{\"campaign_id\": \"00000000-0000-0000-0000-000000000903\"}'),
           ('queue:email-sending', 'failed', '{\"campaign_id\": \"00000000-0000-0000-0000-000000000902\"}'),
           ('queue:analytics:daily-aggregate', 'queued', '{\"campaign_id\": \"00000000-0000-0000-0000-000000000903\"}');",
    )
    .execute(&p.central.queue)
    .await
    .unwrap();
    let risk = alerts::at_risk(&p.central, &Subject::Queue("queue:email-sending".into())).await.unwrap().unwrap();
    let campaigns: Vec<(Option<String>, i64)> =
        risk.campaigns.iter().map(|c| (c.name.clone(), c.waiting_jobs)).collect();
    assert_eq!(campaigns, [(Some("EU Black Friday".to_string()), 3), (Some("Globex Q4 outreach".to_string()), 1)]);
    assert_eq!(risk.total_mrr_cents, 9_900 + 41_583);
    // Other queues put no campaign at risk; other subjects name nothing.
    assert!(alerts::at_risk(&p.central, &Subject::Queue("queue:analytics:daily-aggregate".into()))
        .await
        .unwrap()
        .is_none());
    assert!(alerts::at_risk(&p.central, &Subject::Redis).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_lists_the_last_day_filters_and_masks_for_support() {
    let p = Platform::installed().await;
    let ops = p.session("ops").await;
    let now = Utc::now();
    // Resolved 26 hours ago: out of the 24-hour feed.
    let old = condition("smtp:mx1:down", "smtp", Severity::Critical, Subject::SmtpServer("mx1:25".into()), "mx1 down");
    alerts::reconcile(&p.central, &run(now - Duration::hours(30), &["smtp"], vec![old]), &[]).await.unwrap();
    alerts::reconcile(&p.central, &run(now - Duration::hours(26), &["smtp"], vec![]), &[]).await.unwrap();
    let warn = condition(
        "postgres:oltp:connections",
        "postgres",
        Severity::Warning,
        Subject::Database("oltp".into()),
        "OLTP connections at 85 % (reported by dba@penguin.test)",
    );
    alerts::reconcile(
        &p.central,
        &run(now - Duration::minutes(10), &["queue", "postgres"], vec![backlog(), warn]),
        &[],
    )
    .await
    .unwrap();
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM penguin_console.alerts WHERE source = 'queue'")
        .fetch_one(&p.central.notifications)
        .await
        .unwrap();
    alerts::acknowledge(&ops, id).await.unwrap();
    alerts::add_note(&ops, id, "Paged alice@penguin.test").await.unwrap();
    alerts::create_silence(
        &ops,
        &NewSilence {
            source: Some("smtp".into()),
            fingerprint: None,
            subject: None,
            starts_at: now,
            ends_at: now + Duration::hours(1),
            reason: "mx1 maintenance".into(),
        },
    )
    .await
    .unwrap();
    // Each staff member syncs their own cache.
    let support = p.session("support").await;
    let support_cache = p.dir.path().join("support.sqlite");
    p.sync_as(&ops, &p.cache_path()).await;
    p.sync_as(&support, &support_cache).await;
    let conn = penguin_admin::cache::open_read(&p.cache_path()).unwrap();
    let support_conn = penguin_admin::cache::open_read(&support_cache).unwrap();

    let fps = |f: &FeedFilter, who: &str| -> Vec<String> {
        let (conn, staff) = if who == "ops" { (&conn, ops.staff()) } else { (&support_conn, support.staff()) };
        alerts::feed(conn, staff, f).unwrap().into_iter().map(|a| a.fingerprint).collect()
    };
    // Newest first: the warning and the backlog were seen at the same time; ids break ties,
    // so compare as a set here and check the order-independent filters below.
    let mut all = fps(&FeedFilter::default(), "ops");
    all.sort();
    assert_eq!(all, ["postgres:oltp:connections", "queue:queue:email-sending:backlog"]);
    assert_eq!(
        fps(&FeedFilter { severity: Some(Severity::Critical), ..Default::default() }, "ops"),
        ["queue:queue:email-sending:backlog"]
    );
    assert_eq!(
        fps(&FeedFilter { state: Some("acknowledged".into()), ..Default::default() }, "ops"),
        [backlog().fingerprint]
    );
    assert_eq!(
        fps(&FeedFilter { source: Some("postgres".into()), ..Default::default() }, "ops"),
        ["postgres:oltp:connections"]
    );
    assert_eq!(
        fps(&FeedFilter { text: Some("CONNECTIONS at".into()), ..Default::default() }, "ops"),
        ["postgres:oltp:connections"]
    );
    assert_eq!(
        fps(&FeedFilter { since: Some(now - Duration::hours(48)), ..Default::default() }, "ops").len(),
        3,
        "a wider window shows the old one"
    );
    assert!(matches!(
        alerts::feed(&support_conn, support.staff(), &FeedFilter { state: Some("open".into()), ..Default::default() }),
        Err(AlertError::BadInput(_))
    ));
    assert_eq!(fps(&FeedFilter::default(), "support").len(), 2, "support's feed lists the same two");

    // Support reads it masked; ops in clear.
    let as_ops =
        alerts::feed(&conn, ops.staff(), &FeedFilter { source: Some("postgres".into()), ..Default::default() })
            .unwrap();
    assert_eq!(as_ops[0].summary, "OLTP connections at 85 % (reported by dba@penguin.test)");
    let masked = alerts::feed(
        &support_conn,
        support.staff(),
        &FeedFilter { source: Some("postgres".into()), ..Default::default() },
    )
    .unwrap();
    assert_eq!(masked[0].summary, "OLTP connections at 85 % (reported by d•••@•••.test)");
    let detail = alerts::detail(&support_conn, support.staff(), &id.to_string()).unwrap().unwrap();
    assert_eq!(detail.alert.acknowledged_by.as_deref(), Some("o•••@•••.test"));
    assert_eq!(detail.notes.len(), 1);
    assert_eq!(
        (detail.notes[0].author.as_str(), detail.notes[0].body.as_str()),
        ("o•••@•••.test", "Paged a•••@•••.test")
    );
    let clear = alerts::detail(&conn, ops.staff(), &id.to_string()).unwrap().unwrap();
    assert_eq!(clear.alert.acknowledged_by.as_deref(), Some("ops@penguin.test"));
    assert_eq!(clear.alert.state, "acknowledged");

    let silences = alerts::silences(&support_conn, support.staff(), Utc::now()).unwrap();
    assert_eq!(silences.len(), 1);
    assert!(silences[0].active);
    assert_eq!((silences[0].source.as_deref(), silences[0].created_by.as_str()), (Some("smtp"), "o•••@•••.test"));

    // Without monitoring.read (finance), nothing.
    let finance = p.session("finance").await;
    assert!(matches!(alerts::feed(&conn, finance.staff(), &FeedFilter::default()), Err(AlertError::Forbidden(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchers_health_source_raises_workspace_warnings_from_the_daily_scores() {
    let p = Platform::installed().await;
    small_fixture(&p.central).await;
    // Acme US: 98 on 11-16, 25 on 11-20 (worked out in tests/health.rs): a drop of 73 and a
    // crossing into red. Acme EU: 75 → 79, nothing.
    sqlx::raw_sql(&format!(
        "INSERT INTO campaign_analytics (campaign_id, company_id, sent, delivered, opened_tracked, replied, bounced, spam_complaints, updated) VALUES
           ('k1', '{ACME_EU}', 100, 95, 20, 5, 2, 0, '2026-11-13T23:59:59Z'),
           ('k1', '{ACME_EU}', 1000, 970, 200, 40, 20, 1, '2026-11-20T23:59:59Z'),
           ('k2', '{ACME_US}', 1000, 990, 300, 0, 5, 0, '2026-11-13T23:59:59Z'),
           ('k2', '{ACME_US}', 1000, 900, 50, 0, 80, 3, '2026-11-20T23:59:59Z');"
    ))
    .execute(&p.central.olap)
    .await
    .unwrap();
    let fake = FakePagerDuty::start().await.unwrap();
    let watcher =
        Watcher::new(p.central.clone(), channels(Some(&fake), None)).with_source(Arc::new(HealthSource::new("test")));
    let day16 = Utc.with_ymd_and_hms(2026, 11, 16, 9, 0, 0).unwrap();
    let r = watcher.tick(day16).await.unwrap();
    assert_eq!((r.sources.as_slice(), r.conditions), (["health".to_string()].as_slice(), 0));
    let day20 = Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap();
    let r = watcher.tick(day20).await.unwrap();
    assert_eq!(r.reconcile.raised, [format!("health:{ACME_US}:drop"), format!("health:{ACME_US}:into_red")]);
    // The same day again: the findings hold, no second computation needed, no new alert.
    let r = watcher.tick(day20 + Duration::hours(1)).await.unwrap();
    assert_eq!((r.reconcile.raised.len(), r.reconcile.refreshed), (0, 2));
    let row = sqlx::query(
        "SELECT severity, subject_kind, subject, summary, state FROM penguin_console.alerts WHERE fingerprint = $1",
    )
    .bind(format!("health:{ACME_US}:drop"))
    .fetch_one(&p.central.notifications)
    .await
    .unwrap();
    assert_eq!(row.get::<String, _>("severity"), "warning");
    assert_eq!(
        (row.get::<String, _>("subject_kind"), row.get::<String, _>("subject")),
        ("workspace".into(), ACME_US.into())
    );
    assert_eq!(
        row.get::<String, _>("summary"),
        "Workspace Acme US: health dropped 73 points in 7 days (98 on 2026-11-16 → 25)"
    );
    // Warnings do not page.
    assert!(fake.events().is_empty());
}

fn cli() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_penguin-admin"));
    // Keep the tests away from the user's real profiles and keyring.
    c.env("XDG_CONFIG_HOME", std::env::temp_dir().join("penguin-alerts-test-config"));
    c.env_remove("DBUS_SESSION_BUS_ADDRESS");
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watch_command_runs_once_refuses_bad_config_and_stops_on_sigterm() {
    let p = Platform::installed().await;
    let fake = FakePagerDuty::start().await.unwrap();
    let profile = p.profile_path().display().to_string();
    let dir = tempfile::tempdir().unwrap();

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[alerts]\n[alerts.retry]\nmax_attempts = \"ten\"\n").unwrap();
    let out = cli().args(["watch", "--profile", &profile, "--config"]).arg(&bad).arg("--once").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("bad.toml line 3"), "{err}");

    let good = dir.path().join("watch.toml");
    std::fs::write(&good, format!("[alerts.pagerduty]\napi_base = \"{}\"\n", fake.api_base())).unwrap();
    // PagerDuty configured without a routing key: refused, saying where the key goes.
    let out = cli()
        .args(["watch", "--profile", &profile, "--config"])
        .arg(&good)
        .arg("--once")
        .env_remove(alerts::PAGERDUTY_KEY_ENV)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains(alerts::PAGERDUTY_KEY_ENV), "{err}");

    // A backlog of 10,001 waiting email jobs: the monitoring checks run in the watcher too.
    sqlx::raw_sql(
        "INSERT INTO job_queues (name) VALUES ('email-sending');
         INSERT INTO jobs (queue_name, status, payload)
         SELECT 'email-sending', 'queued', jsonb_build_object('n', g) FROM generate_series(1, 10001) g;",
    )
    .execute(&p.central.queue)
    .await
    .unwrap();
    let out = cli()
        .args(["watch", "--profile", &profile, "--config"])
        .arg(&good)
        .arg("--once")
        .env(alerts::PAGERDUTY_KEY_ENV, KEY)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sources: Vec<&str> = report["sources"].as_array().unwrap().iter().filter_map(|s| s.as_str()).collect();
    for expected in ["health", "queue", "sending", "postgres"] {
        assert!(sources.contains(&expected), "{expected} ran: {sources:?}");
    }
    assert!(!sources.contains(&"redis"), "Redis is not configured: {sources:?}");
    let open: Vec<String> = sqlx::query_scalar("SELECT fingerprint FROM penguin_console.alerts WHERE state = 'firing'")
        .fetch_all(&p.central.notifications)
        .await
        .unwrap();
    assert!(open.contains(&"queue:queue:email-sending:backlog".to_string()), "{open:?}");
    let pages = fake.events();
    let backlog = pages.iter().filter(|e| e.dedup_key == "queue:queue:email-sending:backlog").count();
    assert_eq!(backlog, 1, "the critical backlog paged once");

    // Running: stops cleanly on SIGTERM (what systemd sends).
    let mut child = cli()
        .args(["watch", "--profile", &profile, "--interval", "5"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    // Warnings (no channel configured here) come first; wait for the loop to start.
    let started = lines.by_ref().map(|l| l.unwrap()).find(|l| l.starts_with("watching "));
    assert_eq!(started.as_deref(), Some("watching test every 5 s (Ctrl-C to stop)"));
    let killed = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
}
