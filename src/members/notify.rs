//! Notifications for the transactional-email service (password resets, invitations,
//! removal notices).
//!
//! The platform's `notifications` table lives in the notifications database, while the
//! actions that cause them change OLTP, and PostgreSQL has no transaction across
//! databases. So [`queue`] writes the notification to `penguin_console.notification_outbox`
//! on OLTP **in the action's transaction**, and [`deliver`] copies pending ones into
//! `notifications` (channel `email`) after commit, reusing the outbox id as
//! `notifications.id` so a retried delivery inserts nothing twice. It runs after every
//! member action and can be run again at any time (e.g. after a crash).

use sqlx::{PgConnection, Row};

use crate::central::Central;

/// A notification to send.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Notification {
    /// Recipient (`users.id`).
    pub user_id: uuid::Uuid,
    /// Tenant concerned.
    pub tenant_id: uuid::Uuid,
    /// `password_reset`, `invitation`, `member_removed`, `member_invited`.
    pub kind: String,
    /// Title.
    pub title: String,
    /// Body.
    pub message: String,
}

/// Queues `n` inside the caller's OLTP transaction. Returns its id.
pub async fn queue(conn: &mut PgConnection, n: &Notification) -> Result<uuid::Uuid, sqlx::Error> {
    let id = uuid::Uuid::new_v4();
    let body = serde_json::to_value(n).unwrap_or_default();
    sqlx::query("INSERT INTO penguin_console.notification_outbox (id, notification) VALUES ($1, $2)")
        .bind(id)
        .bind(body)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

/// Delivers pending notifications to the notifications database. Returns how many
/// were inserted now.
pub async fn deliver(central: &Central) -> Result<u64, sqlx::Error> {
    let pending =
        sqlx::query("SELECT id, notification FROM penguin_console.notification_outbox ORDER BY created, id LIMIT 1000")
            .fetch_all(&central.oltp)
            .await?;
    let mut delivered = 0;
    for row in pending {
        let id: uuid::Uuid = row.get("id");
        let n: serde_json::Value = row.get("notification");
        let done = sqlx::query(
            "INSERT INTO notifications (id, user_id, tenant_id, type, title, message, channel)
             SELECT $1, (n->>'user_id')::uuid, (n->>'tenant_id')::uuid, n->>'kind', n->>'title', n->>'message', 'email'
             FROM (SELECT $2::jsonb AS n) x
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(&n)
        .execute(&central.notifications)
        .await?;
        delivered += done.rows_affected();
        sqlx::query("DELETE FROM penguin_console.notification_outbox WHERE id = $1")
            .bind(id)
            .execute(&central.oltp)
            .await?;
    }
    Ok(delivered)
}
