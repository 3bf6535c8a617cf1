//! Session revocation: one session or all of a user's (`members_revoke_sessions`), and
//! the plain-words summary of the sessions any action revoked. A JWT session's row is
//! revoked too, but the token stays valid until it expires; every result says so.

use super::{parse_id, MemberError};
use crate::audit::after_action;
use crate::auth::{permissions, Session};
use crate::central::DbKind;
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

impl Revocation {
    /// The revocation of `sessions`, with its plain summary.
    pub(crate) fn of(sessions: Vec<RevokedSession>) -> Revocation {
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
        Revocation { sessions, ended_now: ended, valid_until_expiry: jwt, message }
    }

    /// The revocation a database function reported: `[{id, jwt, valid_until}]`.
    pub(crate) fn from_json(sessions: &serde_json::Value) -> Revocation {
        let sessions = sessions
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|s| {
                        let jwt = s.get("jwt").and_then(|v| v.as_bool()).unwrap_or(false);
                        RevokedSession {
                            id: s.get("id").and_then(|v| v.as_str()).unwrap_or_default().to_string(),
                            kind: if jwt { SessionKind::Jwt } else { SessionKind::Database },
                            valid_until: s.get("valid_until").and_then(|v| v.as_str()).map(str::to_owned),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        Revocation::of(sessions)
    }
}

/// Revokes one session of a user.
pub async fn revoke_session(session: &Session, user_id: &str, session_id: &str) -> Result<Revocation, MemberError> {
    revoke(session, user_id, Some(session_id)).await
}

/// Revokes every live session of a user.
pub async fn revoke_all_sessions(session: &Session, user_id: &str) -> Result<Revocation, MemberError> {
    revoke(session, user_id, None).await
}

/// Through `members_revoke_sessions`, which checks the permission and the user's tenant
/// against the staff member's scope and writes the audit entry in its transaction.
async fn revoke(session: &Session, user_id: &str, session_id: Option<&str>) -> Result<Revocation, MemberError> {
    session.staff().require(permissions::USERS_SESSIONS_REVOKE)?;
    let user = parse_id(user_id, "user")?;
    let only = session_id.map(|s| parse_id(s, "session")).transpose()?;
    let mut tx = session.begin(DbKind::Oltp).await?;
    let revoked: serde_json::Value = sqlx::query_scalar("SELECT penguin_console_api.members_revoke_sessions($1, $2)")
        .bind(user)
        .bind(only)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    after_action(session).await;
    Ok(Revocation::from_json(&revoked))
}
