//! Session revocation: one session or all of a user's, and the shared helper the
//! role change, suspension and removal use inside their own transactions. A JWT
//! session's row is revoked too, but the token stays valid until it expires; every
//! result says so in plain words.

use sqlx::{PgConnection, Row};

use super::{after_commit, home_tenant, parse_id, MemberError};
use crate::audit::{self, AuditEntry};
use crate::auth::{permissions, ClientInfo, Staff};
use crate::central::Central;
use crate::users::sessions::SessionKind;

/// A session the action revoked.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RevokedSession {
    /// `auth.sessions.id`.
    pub id: String,
    /// Database or JWT.
    pub kind: SessionKind,
    /// For a JWT: it stays valid until then (UTC); `None` = ended now.
    pub valid_until: Option<String>,
}

/// What a revocation did, in plain words for the screen.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Revocation {
    /// Sessions revoked.
    pub sessions: Vec<RevokedSession>,
    /// Sessions that ended now.
    pub ended_now: u32,
    /// JWT sessions that stay valid until their expiry.
    pub valid_until_expiry: u32,
    /// Plain summary ("2 sessions ended now; 1 JWT session stays valid until …").
    pub message: String,
}

/// Revokes the user's live sessions (all, or the one `only`) inside `tx`.
pub(crate) async fn revoke_in(
    tx: &mut PgConnection,
    user: uuid::Uuid,
    only: Option<uuid::Uuid>,
) -> Result<Revocation, sqlx::Error> {
    let rows = sqlx::query(
        "UPDATE auth.sessions SET deleted_at = now(), updated_at = now()
         WHERE user_id = $1 AND ($2::uuid IS NULL OR id = $2) AND deleted_at IS NULL AND expires_at > now()
         RETURNING id, session_token LIKE 'eyJ%.%.%' AS jwt,
                   to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS expires",
    )
    .bind(user)
    .bind(only)
    .fetch_all(&mut *tx)
    .await?;
    let sessions: Vec<RevokedSession> = rows
        .iter()
        .map(|r| {
            let jwt: bool = r.get("jwt");
            RevokedSession {
                id: r.get::<uuid::Uuid, _>("id").to_string(),
                kind: if jwt { SessionKind::Jwt } else { SessionKind::Database },
                valid_until: if jwt { r.get("expires") } else { None },
            }
        })
        .collect();
    let jwt = sessions.iter().filter(|s| s.kind == SessionKind::Jwt).count() as u32;
    let ended = sessions.len() as u32 - jwt;
    let mut message = format!("{ended} session{} ended now", if ended == 1 { "" } else { "s" });
    if jwt > 0 {
        let last = sessions.iter().filter_map(|s| s.valid_until.clone()).max().unwrap_or_default();
        message.push_str(&format!(
            "; {jwt} JWT session{} cannot be revoked before expiry and stay{} valid until {last} at the latest",
            if jwt == 1 { "" } else { "s" },
            if jwt == 1 { "s" } else { "" }
        ));
    }
    Ok(Revocation { sessions, ended_now: ended, valid_until_expiry: jwt, message })
}

/// Revokes one session of a user.
pub async fn revoke_session(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    user_id: &str,
    session_id: &str,
) -> Result<Revocation, MemberError> {
    revoke(central, staff, client, user_id, Some(session_id)).await
}

/// Revokes every live session of a user.
pub async fn revoke_all_sessions(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    user_id: &str,
) -> Result<Revocation, MemberError> {
    revoke(central, staff, client, user_id, None).await
}

async fn revoke(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    user_id: &str,
    session_id: Option<&str>,
) -> Result<Revocation, MemberError> {
    staff.require(permissions::USERS_SESSIONS_REVOKE)?;
    let user = parse_id(user_id, "user")?;
    let only = session_id.map(|s| parse_id(s, "session")).transpose()?;
    let mut tx = central.oltp.begin().await?;
    let r = revoke_in(&mut tx, user, only).await?;
    if r.sessions.is_empty() {
        return Err(MemberError::NotFound(match only {
            Some(s) => format!("session {s} of user {user} is not active (already revoked or expired)"),
            None => format!("user {user} has no active session"),
        }));
    }
    let tenant = home_tenant(&mut tx, user).await?;
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: "user.sessions.revoked".into(),
            resource_type: "user".into(),
            resource_id: user.to_string(),
            tenant_id: tenant,
            old_values: None,
            new_values: Some(serde_json::json!({
                "revoked_sessions": r.sessions.iter().map(|s| &s.id).collect::<Vec<_>>(),
                "jwt_valid_until_expiry": r.valid_until_expiry,
            })),
            notes: None,
        },
    )
    .await?;
    tx.commit().await?;
    after_commit(central).await;
    Ok(r)
}
