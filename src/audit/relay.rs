//! Delivery of audit entries and notifications by a signed-in staff member's desktop,
//! through the database functions of `sql/api/relay.sql`: each entry was signed by the
//! function that wrote it, the receiving database verifies it and answers with a signed
//! receipt, and only that receipt removes entries from the outbox. A desktop can delay a
//! delivery (the next action, sync or the watcher retries) but cannot forge, alter or
//! drop an entry.

use sqlx::Row;

use super::AuditError;
use crate::auth::Session;
use crate::central::DbKind;

/// After a database function's action: relays its audit entry and notifications. A
/// failure is retried by the next action, sync or the watcher, so it is logged, not
/// returned (the action did happen).
pub async fn after_action(session: &Session) {
    if let Err(e) = relay(session).await {
        tracing::warn!("audit relay deferred: {e}");
    }
}

/// Relays the audit entries of every database that this staff member may relay (their
/// own), then the notifications they queued. Returns how many audit entries moved.
pub async fn relay(session: &Session) -> Result<u64, AuditError> {
    let mut moved = 0;
    for db in DbKind::ALL {
        moved += relay_kind(session, db, DbKind::Olap, Kind::Audit).await?;
    }
    relay_kind(session, DbKind::Oltp, DbKind::Notifications, Kind::Notification).await?;
    Ok(moved)
}

#[derive(Clone, Copy)]
enum Kind {
    Audit,
    Notification,
}

async fn relay_kind(session: &Session, from: DbKind, to: DbKind, kind: Kind) -> Result<u64, AuditError> {
    let (pending_sql, field) = match kind {
        Kind::Audit => ("SELECT id, entry, sig FROM penguin_console_api.audit_pending(500)", "entry"),
        Kind::Notification => {
            ("SELECT id, notification, sig FROM penguin_console_api.notifications_pending(500)", "notification")
        }
    };
    let mut tx = session.begin(from).await?;
    let rows = sqlx::query(pending_sql).fetch_all(&mut *tx).await.map_err(access)?;
    tx.commit().await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let entries: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.get::<uuid::Uuid, _>(0),
                field: r.get::<String, _>(1),
                "sig": r.get::<Option<String>, _>(2),
            })
        })
        .collect();
    let mut tx = session.begin(to).await?;
    let receipt: serde_json::Value = match kind {
        Kind::Audit => sqlx::query_scalar("SELECT penguin_console_api.audit_deliver($1, $2)")
            .bind(from.key())
            .bind(serde_json::Value::Array(entries)),
        Kind::Notification => sqlx::query_scalar("SELECT penguin_console_api.notifications_deliver($1)")
            .bind(serde_json::Value::Array(entries)),
    }
    .fetch_one(&mut *tx)
    .await
    .map_err(access)?;
    tx.commit().await?;
    let mut tx = session.begin(from).await?;
    let removed: i32 = sqlx::query_scalar("SELECT penguin_console_api.relay_ack($1)")
        .bind(receipt)
        .fetch_one(&mut *tx)
        .await
        .map_err(access)?;
    tx.commit().await?;
    Ok(removed.max(0) as u64)
}

fn access(e: sqlx::Error) -> AuditError {
    match crate::auth::refusal(&e) {
        Some(refused) => AuditError::Forbidden(refused),
        None => AuditError::Database(e),
    }
}

/// Records an event the desktop did on its own (an export written) through
/// `record_event`, which audits it with the verified identity, then relays it.
pub async fn record_event(
    session: &Session,
    action: &str,
    resource_type: &str,
    resource_id: &str,
    tenant_id: Option<&str>,
    details: &serde_json::Value,
) -> Result<(), AuditError> {
    let mut tx = session.begin(DbKind::Oltp).await?;
    sqlx::query("SELECT penguin_console_api.record_event($1, $2, $3, $4, $5)")
        .bind(action)
        .bind(resource_type)
        .bind(resource_id)
        .bind(tenant_id)
        .bind(details)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    after_action(session).await;
    Ok(())
}
