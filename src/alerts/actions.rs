//! Staff actions on alerts: acknowledge, resolve by hand, notes, silences. Each needs
//! `alerts.manage`, changes the notifications database and writes its audit entry in the
//! same transaction, then delivers the audit outbox.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row};

use super::reconcile::queue_follow_up;
use super::AlertError;
use crate::audit::{self, AuditEntry};
use crate::auth::{permissions, ClientInfo, Staff};
use crate::central::Central;

struct Locked {
    state: String,
    fingerprint: String,
    acknowledged_by: Option<String>,
}

async fn lock_alert(conn: &mut PgConnection, id: uuid::Uuid) -> Result<Locked, AlertError> {
    let row =
        sqlx::query("SELECT state, fingerprint, acknowledged_by FROM penguin_console.alerts WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(AlertError::from_sqlx)?
            .ok_or_else(|| AlertError::NotFound(format!("alert {id}")))?;
    Ok(Locked {
        state: row.get("state"),
        fingerprint: row.get("fingerprint"),
        acknowledged_by: row.get("acknowledged_by"),
    })
}

async fn finish(central: &Central, tx: sqlx::Transaction<'_, sqlx::Postgres>) -> Result<(), AlertError> {
    tx.commit().await.map_err(AlertError::from_sqlx)?;
    // The entry is safe in the outbox; a failed delivery is retried on the next action or sync.
    if let Err(e) = audit::deliver(central).await {
        tracing::warn!("audit delivery postponed: {e}");
    }
    Ok(())
}

/// Acknowledges a firing alert: someone is on it. Queues a PagerDuty acknowledge (same
/// dedup key) if the alert paged.
pub async fn acknowledge(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    alert_id: uuid::Uuid,
) -> Result<(), AlertError> {
    staff.require(permissions::ALERTS_MANAGE)?;
    let mut tx = central.notifications.begin().await.map_err(AlertError::from_sqlx)?;
    let a = lock_alert(&mut tx, alert_id).await?;
    match a.state.as_str() {
        "firing" => {}
        "acknowledged" => {
            return Err(AlertError::Conflict(format!(
                "the alert is already acknowledged by {}",
                a.acknowledged_by.unwrap_or_default()
            )))
        }
        _ => return Err(AlertError::Conflict("the alert is resolved; there is nothing to acknowledge".into())),
    }
    let now: DateTime<Utc> = sqlx::query_scalar(
        "UPDATE penguin_console.alerts SET state = 'acknowledged', acknowledged_by = $2, acknowledged_at = now(),
             updated = now() WHERE id = $1 RETURNING acknowledged_at",
    )
    .bind(alert_id)
    .bind(&staff.email)
    .fetch_one(&mut *tx)
    .await
    .map_err(AlertError::from_sqlx)?;
    queue_follow_up(&mut tx, &[alert_id], "acknowledge", now).await?;
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: "alert.acknowledged".into(),
            resource_type: "alert".into(),
            resource_id: alert_id.to_string(),
            old_values: Some(serde_json::json!({"state": "firing"})),
            new_values: Some(serde_json::json!({"state": "acknowledged", "fingerprint": a.fingerprint})),
            ..Default::default()
        },
    )
    .await?;
    finish(central, tx).await
}

/// Resolves an alert by hand (the condition may still be there: if a check reports it
/// again, it is a new alert). Queues resolve notifications on the channels it paged on.
pub async fn resolve(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    alert_id: uuid::Uuid,
    reason: Option<&str>,
) -> Result<(), AlertError> {
    staff.require(permissions::ALERTS_MANAGE)?;
    let mut tx = central.notifications.begin().await.map_err(AlertError::from_sqlx)?;
    let a = lock_alert(&mut tx, alert_id).await?;
    if a.state == "resolved" {
        return Err(AlertError::Conflict("the alert is already resolved".into()));
    }
    let now: DateTime<Utc> = sqlx::query_scalar(
        "UPDATE penguin_console.alerts SET state = 'resolved', resolved_by = $2, resolved_at = now(), updated = now()
         WHERE id = $1 RETURNING resolved_at",
    )
    .bind(alert_id)
    .bind(&staff.email)
    .fetch_one(&mut *tx)
    .await
    .map_err(AlertError::from_sqlx)?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if let Some(r) = reason {
        insert_note(&mut tx, alert_id, &staff.email, r).await?;
    }
    queue_follow_up(&mut tx, &[alert_id], "resolve", now).await?;
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: "alert.resolved".into(),
            resource_type: "alert".into(),
            resource_id: alert_id.to_string(),
            old_values: Some(serde_json::json!({"state": a.state})),
            new_values: Some(serde_json::json!({"state": "resolved", "fingerprint": a.fingerprint})),
            notes: reason.map(str::to_owned),
            ..Default::default()
        },
    )
    .await?;
    finish(central, tx).await
}

async fn insert_note(
    conn: &mut PgConnection,
    alert_id: uuid::Uuid,
    author: &str,
    body: &str,
) -> Result<uuid::Uuid, AlertError> {
    if body.chars().count() > 4000 {
        return Err(AlertError::BadInput("a note is at most 4,000 characters".into()));
    }
    let id = uuid::Uuid::new_v4();
    sqlx::query("INSERT INTO penguin_console.alert_notes (id, alert_id, author, body) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(alert_id)
        .bind(author)
        .bind(body)
        .execute(&mut *conn)
        .await
        .map_err(AlertError::from_sqlx)?;
    Ok(id)
}

/// Adds a note to an alert (any state). Returns the note's id.
pub async fn add_note(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    alert_id: uuid::Uuid,
    body: &str,
) -> Result<uuid::Uuid, AlertError> {
    staff.require(permissions::ALERTS_MANAGE)?;
    let body = body.trim();
    if body.is_empty() {
        return Err(AlertError::BadInput("the note is empty".into()));
    }
    let mut tx = central.notifications.begin().await.map_err(AlertError::from_sqlx)?;
    lock_alert(&mut tx, alert_id).await?;
    let id = insert_note(&mut tx, alert_id, &staff.email, body).await?;
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: "alert.note_added".into(),
            resource_type: "alert".into(),
            resource_id: alert_id.to_string(),
            new_values: Some(serde_json::json!({"note_id": id})),
            notes: Some(body.to_string()),
            ..Default::default()
        },
    )
    .await?;
    finish(central, tx).await?;
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
pub async fn create_silence(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    silence: &NewSilence,
) -> Result<uuid::Uuid, AlertError> {
    staff.require(permissions::ALERTS_MANAGE)?;
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
    let id = uuid::Uuid::new_v4();
    let mut tx = central.notifications.begin().await.map_err(AlertError::from_sqlx)?;
    sqlx::query(
        "INSERT INTO penguin_console.alert_silences (id, source, fingerprint, subject, starts_at, ends_at, reason, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(&source)
    .bind(&fingerprint)
    .bind(&subject)
    .bind(silence.starts_at)
    .bind(silence.ends_at)
    .bind(reason)
    .bind(&staff.email)
    .execute(&mut *tx)
    .await
    .map_err(AlertError::from_sqlx)?;
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: "alert.silence_created".into(),
            resource_type: "alert_silence".into(),
            resource_id: id.to_string(),
            new_values: Some(serde_json::json!({"source": source, "fingerprint": fingerprint, "subject": subject,
                "starts_at": silence.starts_at, "ends_at": silence.ends_at})),
            notes: Some(reason.to_string()),
            ..Default::default()
        },
    )
    .await?;
    finish(central, tx).await?;
    Ok(id)
}

/// Ends a silence now (alerts it covered page on the next reconcile if still critical).
pub async fn expire_silence(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    silence_id: uuid::Uuid,
) -> Result<(), AlertError> {
    staff.require(permissions::ALERTS_MANAGE)?;
    let mut tx = central.notifications.begin().await.map_err(AlertError::from_sqlx)?;
    let row = sqlx::query("SELECT ends_at, now() AS now FROM penguin_console.alert_silences WHERE id = $1 FOR UPDATE")
        .bind(silence_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(AlertError::from_sqlx)?
        .ok_or_else(|| AlertError::NotFound(format!("silence {silence_id}")))?;
    let ends_at: DateTime<Utc> = row.get("ends_at");
    let now: DateTime<Utc> = row.get("now");
    if ends_at <= now {
        return Err(AlertError::Conflict(format!("the silence already ended at {ends_at}")));
    }
    sqlx::query(
        "UPDATE penguin_console.alert_silences SET ends_at = GREATEST(now(), starts_at + interval '1 microsecond'),
             expired_by = $2 WHERE id = $1",
    )
    .bind(silence_id)
    .bind(&staff.email)
    .execute(&mut *tx)
    .await
    .map_err(AlertError::from_sqlx)?;
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: "alert.silence_expired".into(),
            resource_type: "alert_silence".into(),
            resource_id: silence_id.to_string(),
            old_values: Some(serde_json::json!({"ends_at": ends_at})),
            new_values: Some(serde_json::json!({"ends_at": now})),
            ..Default::default()
        },
    )
    .await?;
    finish(central, tx).await
}
