//! The alert feed, an alert's detail and the silences, read from the synced cache
//! (`console_alerts`, `console_alert_notes`, `console_alert_silences`,
//! `console_alert_notifications`). Needs `monitoring.read`; staff emails and email-like
//! words in summaries, details and notes are masked for viewers without `pii.view`.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rusqlite::{params_from_iter, Connection, OptionalExtension};

use super::{AlertError, AtRisk, Severity};
use crate::auth::{masking, permissions, Staff};
use crate::cache::CacheError;

/// Feed filters; everything optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FeedFilter {
    /// Only this severity.
    pub severity: Option<Severity>,
    /// Only this state: `firing`, `acknowledged` or `resolved`.
    pub state: Option<String>,
    /// Only this source (`queue`, `dnsbl`, `health`, …).
    pub source: Option<String>,
    /// Substring of the summary, fingerprint or subject (case-insensitive).
    pub text: Option<String>,
    /// Alerts seen since (default: 24 hours before now). Open alerts are always listed.
    pub since: Option<DateTime<Utc>>,
    /// At most this many (default 500).
    pub limit: Option<u32>,
}

/// One alert of the feed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AlertRow {
    /// Alert id (uuid).
    pub id: String,
    /// The condition's fingerprint (also PagerDuty's dedup key).
    pub fingerprint: String,
    /// The check that found it.
    pub source: String,
    /// How bad.
    pub severity: Severity,
    /// `queue`, `ip`, `smtp_server`, `database`, `redis`, `host`, `workspace`, `other`.
    pub subject_kind: String,
    /// The subject's id.
    pub subject: String,
    /// One line.
    pub summary: String,
    /// Measured values.
    pub details: BTreeMap<String, String>,
    /// `firing`, `acknowledged` or `resolved`.
    pub state: String,
    /// When first seen (RFC 3339 UTC).
    pub first_seen: String,
    /// When last seen.
    pub last_seen: String,
    /// When resolved.
    pub resolved_at: Option<String>,
    /// Who acknowledged (masked for support).
    pub acknowledged_by: Option<String>,
    /// When.
    pub acknowledged_at: Option<String>,
    /// Who resolved it by hand; `None` with `resolved_at` set = resolved automatically.
    pub resolved_by: Option<String>,
    /// Whether it paged (a trigger was queued).
    pub paged: bool,
    /// The silence that kept it from paging, if any.
    pub silenced_by: Option<String>,
    /// What it puts at risk, as of when it was raised.
    pub at_risk: Option<AtRisk>,
}

/// A note on an alert.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NoteRow {
    /// Note id.
    pub id: String,
    /// Staff email (masked for support).
    pub author: String,
    /// The text.
    pub body: String,
    /// When.
    pub created: String,
}

/// A notification of an alert and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NotificationRow {
    /// `pagerduty` or `email`.
    pub channel: String,
    /// `trigger`, `acknowledge` or `resolve`.
    pub event: String,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// Next attempt (pending only).
    pub next_attempt_at: Option<String>,
    /// The last failure.
    pub last_error: Option<String>,
    /// When sent.
    pub sent_at: Option<String>,
}

/// An alert with its notes and notifications.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AlertDetail {
    /// The alert.
    pub alert: AlertRow,
    /// Notes, oldest first.
    pub notes: Vec<NoteRow>,
    /// Notifications, in order.
    pub notifications: Vec<NotificationRow>,
}

/// A silence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SilenceRow {
    /// Silence id.
    pub id: String,
    /// Glob on the source.
    pub source: Option<String>,
    /// Glob on the fingerprint.
    pub fingerprint: Option<String>,
    /// Glob on the subject id.
    pub subject: Option<String>,
    /// Window start.
    pub starts_at: String,
    /// Window end.
    pub ends_at: String,
    /// Why.
    pub reason: String,
    /// Who created it (masked for support).
    pub created_by: String,
    /// Who ended it early (masked for support).
    pub expired_by: Option<String>,
    /// Whether the window covers now.
    pub active: bool,
}

const COLUMNS: &str = "id, fingerprint, source, severity, subject_kind, subject, summary, details, state, first_seen,
     last_seen, resolved_at, acknowledged_by, acknowledged_at, resolved_by, paged, silenced_by, at_risk";

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn require_tables(conn: &Connection, tables: &[&str]) -> Result<(), AlertError> {
    for t in tables {
        let present: bool = conn
            .query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)", [t], |r| {
                r.get(0)
            })
            .map_err(CacheError::sql("checking the alert tables"))?;
        if !present {
            return Err(AlertError::Config(format!(
                "the cache has no `{t}` table yet: run `penguin-admin install` (for the alert tables) and sync"
            )));
        }
    }
    Ok(())
}

fn severity_of(s: &str) -> Severity {
    match s {
        "critical" => Severity::Critical,
        "warning" => Severity::Warning,
        _ => Severity::Info,
    }
}

fn row_of(r: &rusqlite::Row<'_>, masked: bool) -> rusqlite::Result<AlertRow> {
    let details: Option<String> = r.get(7)?;
    let mut details: BTreeMap<String, String> = details.and_then(|d| serde_json::from_str(&d).ok()).unwrap_or_default();
    let at_risk: Option<String> = r.get(17)?;
    let mask_email = |v: Option<String>| if masked { v.map(|e| masking::email(&e)) } else { v };
    let mut summary: String = r.get(6)?;
    if masked {
        summary = masking::text(&summary);
        for v in details.values_mut() {
            *v = masking::text(v);
        }
    }
    Ok(AlertRow {
        id: r.get(0)?,
        fingerprint: r.get(1)?,
        source: r.get(2)?,
        severity: severity_of(&r.get::<_, String>(3)?),
        subject_kind: r.get(4)?,
        subject: r.get(5)?,
        summary,
        details,
        state: r.get(8)?,
        first_seen: r.get(9)?,
        last_seen: r.get(10)?,
        resolved_at: r.get(11)?,
        acknowledged_by: mask_email(r.get(12)?),
        acknowledged_at: r.get(13)?,
        resolved_by: mask_email(r.get(14)?),
        paged: r.get::<_, Option<i64>>(15)?.unwrap_or(0) != 0,
        silenced_by: r.get(16)?,
        at_risk: at_risk.and_then(|a| serde_json::from_str(&a).ok()),
    })
}

/// The alert feed: alerts seen in the last 24 hours (or since `filter.since`) plus every
/// open alert, newest first, filtered.
pub fn feed(cache: &Connection, staff: &Staff, filter: &FeedFilter) -> Result<Vec<AlertRow>, AlertError> {
    staff.require(permissions::MONITORING_READ)?;
    require_tables(cache, &["console_alerts"])?;
    let since = filter.since.unwrap_or_else(|| Utc::now() - Duration::hours(24));
    let mut sql = format!("SELECT {COLUMNS} FROM console_alerts WHERE (last_seen >= ?1 OR state <> 'resolved')");
    let mut params: Vec<String> = vec![iso(since)];
    if let Some(s) = filter.severity {
        params.push(super::reconcile::severity_str(s).into());
        sql.push_str(&format!(" AND severity = ?{}", params.len()));
    }
    if let Some(s) = filter.state.as_deref().filter(|s| !s.is_empty()) {
        if !matches!(s, "firing" | "acknowledged" | "resolved") {
            return Err(AlertError::BadInput(format!("unknown state `{s}`; use firing, acknowledged or resolved")));
        }
        params.push(s.into());
        sql.push_str(&format!(" AND state = ?{}", params.len()));
    }
    if let Some(s) = filter.source.as_deref().filter(|s| !s.is_empty()) {
        params.push(s.into());
        sql.push_str(&format!(" AND source = ?{}", params.len()));
    }
    if let Some(t) = filter.text.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let escaped = t.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        params.push(format!("%{escaped}%"));
        let n = params.len();
        sql.push_str(&format!(
            " AND (summary LIKE ?{n} ESCAPE '\\' OR fingerprint LIKE ?{n} ESCAPE '\\' OR subject LIKE ?{n} ESCAPE '\\')"
        ));
    }
    sql.push_str(&format!(" ORDER BY last_seen DESC, id LIMIT {}", filter.limit.unwrap_or(500).min(5000)));
    let masked = staff.masked();
    let mut stmt = cache.prepare(&sql).map_err(CacheError::sql("reading the alert feed"))?;
    let rows = stmt
        .query_map(params_from_iter(params.iter()), |r| row_of(r, masked))
        .map_err(CacheError::sql("reading the alert feed"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(CacheError::sql("reading the alert feed"))?;
    Ok(rows)
}

/// One alert with its notes and notifications; `None` if the cache does not have it.
pub fn detail(cache: &Connection, staff: &Staff, alert_id: &str) -> Result<Option<AlertDetail>, AlertError> {
    staff.require(permissions::MONITORING_READ)?;
    require_tables(cache, &["console_alerts", "console_alert_notes", "console_alert_notifications"])?;
    let masked = staff.masked();
    let alert = cache
        .query_row(&format!("SELECT {COLUMNS} FROM console_alerts WHERE id = ?1"), [alert_id], |r| row_of(r, masked))
        .optional()
        .map_err(CacheError::sql("reading an alert"))?;
    let Some(alert) = alert else { return Ok(None) };
    let mut stmt = cache
        .prepare("SELECT id, author, body, created FROM console_alert_notes WHERE alert_id = ?1 ORDER BY created, id")
        .map_err(CacheError::sql("reading alert notes"))?;
    let notes = stmt
        .query_map([alert_id], |r| {
            let author: String = r.get(1)?;
            let body: String = r.get(2)?;
            Ok(NoteRow {
                id: r.get(0)?,
                author: if masked { masking::email(&author) } else { author },
                body: if masked { masking::text(&body) } else { body },
                created: r.get(3)?,
            })
        })
        .map_err(CacheError::sql("reading alert notes"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(CacheError::sql("reading alert notes"))?;
    let mut stmt = cache
        .prepare(
            "SELECT channel, event, status, attempts, CASE WHEN status = 'pending' THEN next_attempt_at END, last_error,
                    sent_at FROM console_alert_notifications WHERE alert_id = ?1
             ORDER BY CASE event WHEN 'trigger' THEN 0 WHEN 'acknowledge' THEN 1 ELSE 2 END, channel",
        )
        .map_err(CacheError::sql("reading alert notifications"))?;
    let notifications = stmt
        .query_map([alert_id], |r| {
            Ok(NotificationRow {
                channel: r.get(0)?,
                event: r.get(1)?,
                status: r.get(2)?,
                attempts: r.get(3)?,
                next_attempt_at: r.get(4)?,
                last_error: r.get(5)?,
                sent_at: r.get(6)?,
            })
        })
        .map_err(CacheError::sql("reading alert notifications"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(CacheError::sql("reading alert notifications"))?;
    Ok(Some(AlertDetail { alert, notes, notifications }))
}

/// Silences active now or ending in the last 24 hours or later, soonest end first.
pub fn silences(cache: &Connection, staff: &Staff, now: DateTime<Utc>) -> Result<Vec<SilenceRow>, AlertError> {
    staff.require(permissions::MONITORING_READ)?;
    require_tables(cache, &["console_alert_silences"])?;
    let masked = staff.masked();
    let now_s = iso(now);
    let mut stmt = cache
        .prepare(
            "SELECT id, source, fingerprint, subject, starts_at, ends_at, reason, created_by, expired_by,
                    (starts_at <= ?1 AND ends_at > ?1) FROM console_alert_silences
             WHERE ends_at >= ?2 ORDER BY ends_at, id",
        )
        .map_err(CacheError::sql("reading silences"))?;
    let rows = stmt
        .query_map([&now_s, &iso(now - Duration::hours(24))], |r| {
            let by: String = r.get(7)?;
            let expired: Option<String> = r.get(8)?;
            Ok(SilenceRow {
                id: r.get(0)?,
                source: r.get(1)?,
                fingerprint: r.get(2)?,
                subject: r.get(3)?,
                starts_at: r.get(4)?,
                ends_at: r.get(5)?,
                reason: if masked { masking::text(&r.get::<_, String>(6)?) } else { r.get(6)? },
                created_by: if masked { masking::email(&by) } else { by },
                expired_by: if masked { expired.map(|e| masking::email(&e)) } else { expired },
                active: r.get::<_, i64>(9)? != 0,
            })
        })
        .map_err(CacheError::sql("reading silences"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(CacheError::sql("reading silences"))?;
    Ok(rows)
}
