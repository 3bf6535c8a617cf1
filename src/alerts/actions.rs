//! Staff actions on alerts: acknowledge, resolve by hand, notes, silences. Each is a
//! function of the notifications database (`src/central/sql/api/alerts.sql`) that checks
//! `alerts.manage`, locks the alert or silence, records the staff member from the verified
//! session, queues the follow-up notifications and writes its audit entry in the same
//! transaction; after commit the audit entry is relayed to OLAP.

use chrono::{DateTime, Utc};

use super::AlertError;
use crate::audit::after_action;
use crate::auth::{permissions, Session};
use crate::central::DbKind;

type Tx = sqlx::Transaction<'static, sqlx::Postgres>;

/// A transaction on the notifications database for an action (`alerts.manage` checked
/// here for a clear message; the function checks it again).
async fn begin(session: &Session) -> Result<Tx, AlertError> {
    session.staff().require(permissions::ALERTS_MANAGE)?;
    Ok(session.begin(DbKind::Notifications).await?)
}

/// Commits, then relays the audit entry (a failed relay is retried by the next action).
async fn finish(session: &Session, tx: Tx) -> Result<(), AlertError> {
    tx.commit().await?;
    after_action(session).await;
    Ok(())
}

/// Acknowledges a firing alert: someone is on it. Queues a PagerDuty acknowledge (same
/// dedup key) if the alert paged.
pub async fn acknowledge(session: &Session, alert_id: uuid::Uuid) -> Result<(), AlertError> {
    let mut tx = begin(session).await?;
    sqlx::query("SELECT penguin_console_api.alerts_acknowledge($1)").bind(alert_id).execute(&mut *tx).await?;
    finish(session, tx).await
}

/// Resolves an alert by hand (the condition may still be there: if a check reports it
/// again, it is a new alert). Queues resolve notifications on the channels it paged on.
pub async fn resolve(session: &Session, alert_id: uuid::Uuid, reason: Option<&str>) -> Result<(), AlertError> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.chars().count() > 4000) {
        return Err(AlertError::BadInput("a note is at most 4,000 characters".into()));
    }
    let mut tx = begin(session).await?;
    sqlx::query("SELECT penguin_console_api.alerts_resolve($1, $2)")
        .bind(alert_id)
        .bind(reason)
        .execute(&mut *tx)
        .await?;
    finish(session, tx).await
}

/// Adds a note to an alert (any state). Returns the note's id.
pub async fn add_note(session: &Session, alert_id: uuid::Uuid, body: &str) -> Result<uuid::Uuid, AlertError> {
    let body = body.trim();
    if body.is_empty() {
        return Err(AlertError::BadInput("the note is empty".into()));
    }
    if body.chars().count() > 4000 {
        return Err(AlertError::BadInput("a note is at most 4,000 characters".into()));
    }
    let mut tx = begin(session).await?;
    let id: uuid::Uuid = sqlx::query_scalar("SELECT penguin_console_api.alerts_add_note($1, $2)")
        .bind(alert_id)
        .bind(body)
        .fetch_one(&mut *tx)
        .await?;
    finish(session, tx).await?;
    Ok(id)
}

/// A silence to create: matchers (globs with `*` and `?`, at least one), a window and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewSilence {
    /// Glob on the alert's source (`dnsbl`).
    pub source: Option<String>,
    /// Glob on the fingerprint.
    pub fingerprint: Option<String>,
    /// Glob on the subject id (`203.0.113.*`, `queue:email-sending*`).
    pub subject: Option<String>,
    /// Start of the window.
    pub starts_at: DateTime<Utc>,
    /// End of the window.
    pub ends_at: DateTime<Utc>,
    /// Why (planned maintenance, ticket).
    pub reason: String,
}

/// Creates a silence: critical alerts it matches during its window do not page. Returns its id.
pub async fn create_silence(session: &Session, silence: &NewSilence) -> Result<uuid::Uuid, AlertError> {
    let clean = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let (source, fingerprint, subject) = (clean(&silence.source), clean(&silence.fingerprint), clean(&silence.subject));
    if source.is_none() && fingerprint.is_none() && subject.is_none() {
        return Err(AlertError::BadInput(
            "a silence needs at least one matcher (source, fingerprint or subject); use `*` to match anything".into(),
        ));
    }
    if silence.ends_at <= silence.starts_at {
        return Err(AlertError::BadInput("the silence must end after it starts".into()));
    }
    let reason = silence.reason.trim();
    if reason.is_empty() {
        return Err(AlertError::BadInput("give a reason for the silence (maintenance, ticket…)".into()));
    }
    let mut tx = begin(session).await?;
    let id: uuid::Uuid = sqlx::query_scalar("SELECT penguin_console_api.alerts_create_silence($1, $2, $3, $4, $5, $6)")
        .bind(&source)
        .bind(&fingerprint)
        .bind(&subject)
        .bind(silence.starts_at)
        .bind(silence.ends_at)
        .bind(reason)
        .fetch_one(&mut *tx)
        .await?;
    finish(session, tx).await?;
    Ok(id)
}

/// Ends a silence now (alerts it covered page on the next reconcile if still critical).
pub async fn expire_silence(session: &Session, silence_id: uuid::Uuid) -> Result<(), AlertError> {
    let mut tx = begin(session).await?;
    sqlx::query("SELECT penguin_console_api.alerts_expire_silence($1)").bind(silence_id).execute(&mut *tx).await?;
    finish(session, tx).await
}
