//! Check run → alerts: raise, refresh, auto-resolve, and queue the pages.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row};

use super::{at_risk, AlertError, CheckRun, Severity, Subject};
use crate::central::Central;

/// Advisory lock serialising reconciles of every watcher ("ALERTS").
const RECONCILE_LOCK: i64 = 0x41_4C_45_52_54_53;

/// A notification channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// PagerDuty Events API v2.
    Pagerduty,
    /// Mail to the on-call list.
    Email,
}

impl Channel {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Pagerduty => "pagerduty",
            Channel::Email => "email",
        }
    }
}

/// What one reconcile did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReconcileReport {
    /// Alerts raised now (fingerprints).
    pub raised: Vec<String>,
    /// Open alerts seen again.
    pub refreshed: u32,
    /// Alerts resolved because their condition is gone (fingerprints).
    pub resolved: Vec<String>,
    /// Critical alerts whose page was queued now (fingerprints).
    pub paged: Vec<String>,
    /// Critical alerts not paged because a silence covers them (fingerprints).
    pub silenced: Vec<String>,
}

pub(crate) fn severity_str(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Critical => "critical",
    }
}

/// `(kind, id)` of a subject as stored: `("ip", "203.0.113.7")`, `("redis", "redis")`.
pub(crate) fn subject_parts(s: &Subject) -> (&'static str, String) {
    match s {
        Subject::Queue(q) => ("queue", q.clone()),
        Subject::Ip(ip) => ("ip", ip.clone()),
        Subject::SmtpServer(h) => ("smtp_server", h.clone()),
        Subject::Database(d) => ("database", d.clone()),
        Subject::Redis => ("redis", "redis".into()),
        Subject::Host(h) => ("host", h.clone()),
        Subject::Workspace(w) => ("workspace", w.clone()),
        Subject::Other(o) => ("other", o.clone()),
    }
}

/// Glob match with `*` (any run) and `?` (one character); everything else literal.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0usize, 0usize, None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether a silence's matchers (each `None` = any) cover an alert. Each matcher is a glob
/// on the alert's source, fingerprint, or subject id (`203.0.113.*`, `queue:email-sending*`).
pub fn silence_matches(
    source: Option<&str>,
    fingerprint: Option<&str>,
    subject: Option<&str>,
    alert: (&str, &str, &str),
) -> bool {
    let (a_source, a_fingerprint, a_subject) = alert;
    source.is_none_or(|g| glob(g, a_source))
        && fingerprint.is_none_or(|g| glob(g, a_fingerprint))
        && subject.is_none_or(|g| glob(g, a_subject))
}

/// Turns a check run into alerts: a new condition raises a firing alert (with what it
/// puts at risk); one seen again refreshes `last_seen`, severity, summary and details
/// (no new page); an open alert of a source in `run.sources` whose condition is absent is
/// resolved automatically. Critical firing alerts not paged yet and not silenced get a
/// trigger notification per channel of `channels`; resolved alerts that paged get a
/// resolve notification per channel they paged on. Notifications are sent by
/// [`super::deliver_pending`].
///
/// Safe to run from several watchers at once (advisory lock + unique open fingerprint).
pub async fn reconcile(central: &Central, run: &CheckRun, channels: &[Channel]) -> Result<ReconcileReport, AlertError> {
    let mut report = ReconcileReport::default();
    // The last condition of a fingerprint wins if a run reports one twice.
    let mut by_fp = BTreeMap::new();
    for c in &run.conditions {
        by_fp.insert(c.fingerprint.clone(), c);
    }
    let mut tx = central.notifications.begin().await.map_err(AlertError::from_sqlx)?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(RECONCILE_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(AlertError::from_sqlx)?;
    for (fp, c) in &by_fp {
        let (kind, subject) = subject_parts(&c.subject);
        let details = serde_json::to_value(&c.details).unwrap_or_default();
        let row = sqlx::query(
            "INSERT INTO penguin_console.alerts
                 (id, fingerprint, source, severity, subject_kind, subject, summary, details, first_seen, last_seen)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
             ON CONFLICT (fingerprint) WHERE state <> 'resolved' DO UPDATE SET
                 last_seen = GREATEST(alerts.last_seen, EXCLUDED.last_seen), severity = EXCLUDED.severity,
                 summary = EXCLUDED.summary, details = EXCLUDED.details, updated = now()
             RETURNING id, (xmax = 0) AS inserted",
        )
        .bind(uuid::Uuid::new_v4())
        .bind(fp)
        .bind(&c.source)
        .bind(severity_str(c.severity))
        .bind(kind)
        .bind(&subject)
        .bind(&c.summary)
        .bind(&details)
        .bind(run.at)
        .fetch_one(&mut *tx)
        .await
        .map_err(AlertError::from_sqlx)?;
        let id: uuid::Uuid = row.get("id");
        if row.get::<bool, _>("inserted") {
            report.raised.push(fp.clone());
            // What it puts at risk, as of when it was raised. A failed lookup must not
            // stop the alert: it is logged and the alert carries no at-risk list.
            match at_risk::at_risk(central, &c.subject).await {
                Ok(Some(risk)) => {
                    sqlx::query("UPDATE penguin_console.alerts SET at_risk = $2 WHERE id = $1")
                        .bind(id)
                        .bind(serde_json::to_value(&risk).unwrap_or_default())
                        .execute(&mut *tx)
                        .await
                        .map_err(AlertError::from_sqlx)?;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(fingerprint = %fp, "could not work out what the alert puts at risk: {e}"),
            }
        } else {
            report.refreshed += 1;
        }
    }

    let seen: Vec<String> = by_fp.keys().cloned().collect();
    let resolved = sqlx::query(
        "UPDATE penguin_console.alerts SET state = 'resolved', resolved_at = $3, resolved_by = NULL, updated = now()
         WHERE state <> 'resolved' AND source = ANY($1) AND NOT (fingerprint = ANY($2))
         RETURNING id, fingerprint",
    )
    .bind(&run.sources)
    .bind(&seen)
    .bind(run.at)
    .fetch_all(&mut *tx)
    .await
    .map_err(AlertError::from_sqlx)?;
    let resolved_ids: Vec<uuid::Uuid> = resolved.iter().map(|r| r.get("id")).collect();
    report.resolved = resolved.iter().map(|r| r.get("fingerprint")).collect();
    queue_follow_up(&mut tx, &resolved_ids, "resolve", run.at).await?;

    if !channels.is_empty() {
        page_due(&mut tx, channels, run.at, &mut report).await?;
    }
    tx.commit().await.map_err(AlertError::from_sqlx)?;
    Ok(report)
}

/// Queues `event` (acknowledge / resolve) for each channel a trigger was queued on.
pub(crate) async fn queue_follow_up(
    conn: &mut PgConnection,
    alert_ids: &[uuid::Uuid],
    event: &str,
    at: DateTime<Utc>,
) -> Result<(), AlertError> {
    if alert_ids.is_empty() {
        return Ok(());
    }
    // Email has no acknowledge: the on-call list hears of the trigger and the resolve.
    sqlx::query(
        "INSERT INTO penguin_console.alert_notifications (id, alert_id, channel, event, next_attempt_at)
         SELECT gen_random_uuid(), n.alert_id, n.channel, $2, $3
         FROM penguin_console.alert_notifications n
         WHERE n.alert_id = ANY($1) AND n.event = 'trigger' AND ($2 <> 'acknowledge' OR n.channel = 'pagerduty')
         ON CONFLICT (alert_id, channel, event) DO NOTHING",
    )
    .bind(alert_ids)
    .bind(event)
    .bind(at)
    .execute(&mut *conn)
    .await
    .map_err(AlertError::from_sqlx)?;
    Ok(())
}

/// Queues triggers for critical firing alerts not paged yet that no active silence covers.
async fn page_due(
    conn: &mut PgConnection,
    channels: &[Channel],
    at: DateTime<Utc>,
    report: &mut ReconcileReport,
) -> Result<(), AlertError> {
    let due = sqlx::query(
        "SELECT id, fingerprint, source, subject FROM penguin_console.alerts
         WHERE state = 'firing' AND severity = 'critical' AND NOT paged ORDER BY first_seen, fingerprint",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(AlertError::from_sqlx)?;
    if due.is_empty() {
        return Ok(());
    }
    let silences = sqlx::query(
        "SELECT id, source, fingerprint, subject FROM penguin_console.alert_silences
         WHERE starts_at <= $1 AND ends_at > $1 ORDER BY created",
    )
    .bind(at)
    .fetch_all(&mut *conn)
    .await
    .map_err(AlertError::from_sqlx)?;
    for a in due {
        let id: uuid::Uuid = a.get("id");
        let fp: String = a.get("fingerprint");
        let source: String = a.get("source");
        let subject: String = a.get("subject");
        let silence = silences.iter().find(|s| {
            silence_matches(
                s.get::<Option<String>, _>("source").as_deref(),
                s.get::<Option<String>, _>("fingerprint").as_deref(),
                s.get::<Option<String>, _>("subject").as_deref(),
                (&source, &fp, &subject),
            )
        });
        if let Some(s) = silence {
            sqlx::query(
                "UPDATE penguin_console.alerts SET silenced_by = $2 WHERE id = $1 AND silenced_by IS DISTINCT FROM $2",
            )
            .bind(id)
            .bind(s.get::<uuid::Uuid, _>("id"))
            .execute(&mut *conn)
            .await
            .map_err(AlertError::from_sqlx)?;
            report.silenced.push(fp);
            continue;
        }
        for ch in channels {
            sqlx::query(
                "INSERT INTO penguin_console.alert_notifications (id, alert_id, channel, event, next_attempt_at)
                 VALUES ($1, $2, $3, 'trigger', $4) ON CONFLICT (alert_id, channel, event) DO NOTHING",
            )
            .bind(uuid::Uuid::new_v4())
            .bind(id)
            .bind(ch.as_str())
            .bind(at)
            .execute(&mut *conn)
            .await
            .map_err(AlertError::from_sqlx)?;
        }
        sqlx::query(
            "UPDATE penguin_console.alerts SET paged = true, silenced_by = NULL, updated = now() WHERE id = $1",
        )
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(AlertError::from_sqlx)?;
        report.paged.push(fp);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_shell_patterns() {
        assert!(glob("203.0.113.*", "203.0.113.7"));
        assert!(!glob("203.0.113.*", "203.0.114.7"));
        assert!(glob("queue:email-sending*", "queue:email-sending:high"));
        assert!(glob("dnsbl:?.?.?.?:*", "dnsbl:1.2.3.4:zen.spamhaus.org"));
        assert!(!glob("redis", "redis2"));
        assert!(glob("*", ""));
    }

    #[test]
    fn a_silence_needs_every_matcher_it_sets() {
        let alert = ("dnsbl", "dnsbl:203.0.113.7:zen", "203.0.113.7");
        assert!(silence_matches(Some("dnsbl"), None, None, alert));
        assert!(silence_matches(Some("dnsbl"), None, Some("203.0.113.*"), alert));
        assert!(!silence_matches(Some("dnsbl"), None, Some("198.51.100.*"), alert));
        assert!(!silence_matches(Some("queue"), None, None, alert));
    }
}
