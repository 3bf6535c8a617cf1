//! Stripe webhook health, from the platform's webhook log (`webhook_events`, as
//! `features/admin/finance/stripe-webhook-status.md` defines it), as cached.
//!
//! Status, per that page: **healthy** when the last successfully processed webhook is
//! less than 10 minutes old, **delayed** at 10–60 minutes, **error** beyond 60 minutes
//! or when a webhook failed in the last 60 minutes; **unknown** when the log is empty
//! or not cached (a platform without the optional table). Ages are measured at the
//! time the cache's copy of the log was taken (`as_of`), not at the viewer's clock:
//! an old cache must not make a healthy platform look broken. `processed_at` is a
//! `TIMESTAMP` without zone in the docs' schema; it is read as UTC.

use rusqlite::{Connection, OptionalExtension};

use super::FinanceError;
use crate::auth::{permissions, Staff};
use crate::cache::CacheError;

/// Healthy below this age, minutes.
pub const HEALTHY_MINUTES: i64 = 10;
/// Delayed up to this age; error beyond, minutes.
pub const DELAYED_MINUTES: i64 = 60;
/// Failed events listed at most.
pub const FAILED_LISTED: u32 = 50;

/// The health verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum WebhookStatus {
    /// Last webhook < 10 min ago and no recent failure.
    Healthy,
    /// Last webhook 10–60 min ago.
    Delayed,
    /// Last webhook > 60 min ago, or a failure in the last hour.
    Error,
    /// No webhook log to judge from.
    Unknown,
}

/// A webhook that was not processed successfully.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FailedEvent {
    /// `evt_…`.
    pub stripe_event_id: Option<String>,
    /// Event type.
    pub event_type: Option<String>,
    /// When it was processed (UTC).
    pub processed_at: Option<String>,
    /// failed / retrying.
    pub status: String,
    /// The error.
    pub error_message: Option<String>,
}

/// The webhook panel.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WebhookHealth {
    /// Verdict.
    pub status: WebhookStatus,
    /// Last successfully processed webhook (UTC).
    pub last_success_at: Option<String>,
    /// Its event type.
    pub last_event_type: Option<String>,
    /// Its age in minutes at `as_of`.
    pub minutes_since_last: Option<i64>,
    /// Webhooks failed in the 24 hours before `as_of`.
    pub failed_last_24h: i64,
    /// Webhooks waiting for a retry.
    pub retrying: i64,
    /// The most recent failed or retrying webhooks, newest first.
    pub failed_events: Vec<FailedEvent>,
    /// Subscriptions `past_due` on the platform (the page's "failed payments count").
    pub past_due_subscriptions: i64,
    /// When the cached log was taken (UTC).
    pub as_of: Option<String>,
}

fn secs(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text).map(|t| t.timestamp()).ok().or_else(|| {
        chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|t| t.and_utc().timestamp())
    })
}

/// The webhook health panel. Needs `finance.read`.
pub fn health(conn: &Connection, staff: &Staff) -> Result<WebhookHealth, FinanceError> {
    staff.require(permissions::FINANCE_READ)?;
    let has = |t: &str| -> Result<bool, CacheError> {
        conn.query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = ?1)", [t], |r| r.get(0))
            .map_err(CacheError::sql("reading the schema"))
    };
    let past_due_subscriptions: i64 = if has("subscriptions")? {
        conn.query_row("SELECT count(*) FROM subscriptions WHERE status = 'past_due'", [], |r| r.get(0))
            .map_err(CacheError::sql("counting past-due subscriptions"))?
    } else {
        0
    };
    let as_of = crate::cache::table_as_of(conn, "webhook_events")?;
    let unknown = WebhookHealth {
        status: WebhookStatus::Unknown,
        last_success_at: None,
        last_event_type: None,
        minutes_since_last: None,
        failed_last_24h: 0,
        retrying: 0,
        failed_events: Vec::new(),
        past_due_subscriptions,
        as_of: as_of.clone(),
    };
    let Some(now) = as_of.as_deref().and_then(secs) else { return Ok(unknown) };
    if !has("webhook_events")? {
        return Ok(unknown);
    }
    let last: Option<(String, Option<String>)> = conn
        .query_row(
            "SELECT processed_at, event_type FROM webhook_events WHERE status = 'success' AND processed_at IS NOT NULL
             ORDER BY processed_at DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(CacheError::sql("reading the webhook log"))?;
    let mut failed_events = Vec::new();
    let (mut failed_24h, mut failed_hour, mut retrying) = (0, 0, 0);
    let mut st = conn
        .prepare(
            "SELECT stripe_event_id, event_type, processed_at, status, error_message FROM webhook_events
             WHERE status IN ('failed', 'retrying') ORDER BY processed_at DESC",
        )
        .map_err(CacheError::sql("reading failed webhooks"))?;
    let rows = st
        .query_map([], |r| {
            Ok(FailedEvent {
                stripe_event_id: r.get(0)?,
                event_type: r.get(1)?,
                processed_at: r.get(2)?,
                status: r.get(3)?,
                error_message: r.get(4)?,
            })
        })
        .map_err(CacheError::sql("reading failed webhooks"))?;
    for row in rows {
        let mut e = row.map_err(CacheError::sql("reading failed webhooks"))?;
        let at = e.processed_at.as_deref().and_then(secs);
        e.processed_at = at.map(super::iso);
        let age = at.map(|t| now - t);
        if e.status == "retrying" {
            retrying += 1;
        } else {
            if age.is_some_and(|a| a <= 86_400) {
                failed_24h += 1;
            }
            if age.is_some_and(|a| a <= DELAYED_MINUTES * 60) {
                failed_hour += 1;
            }
        }
        if (failed_events.len() as u32) < FAILED_LISTED {
            failed_events.push(e);
        }
    }
    let last_at = last.as_ref().and_then(|(t, _)| secs(t));
    let minutes = last_at.map(|t| (now - t).max(0) / 60);
    let status = match minutes {
        None if failed_events.is_empty() => WebhookStatus::Unknown,
        None => WebhookStatus::Error,
        Some(_) if failed_hour > 0 => WebhookStatus::Error,
        Some(m) if m < HEALTHY_MINUTES => WebhookStatus::Healthy,
        Some(m) if m <= DELAYED_MINUTES => WebhookStatus::Delayed,
        Some(_) => WebhookStatus::Error,
    };
    Ok(WebhookHealth {
        status,
        last_success_at: last_at.map(super::iso),
        last_event_type: last.and_then(|(_, t)| t),
        minutes_since_last: minutes,
        failed_last_24h: failed_24h,
        retrying,
        failed_events,
        past_due_subscriptions,
        as_of,
    })
}
