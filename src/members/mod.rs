//! Member and user actions: tenant role changes, suspension, unlocking, password
//! resets, invitations, session revocation, member removal and GDPR deletion; workspace
//! membership; the bulk import ([`import`]).
//!
//! Each action is one database function of `penguin_console_api` (see
//! `src/central/sql/api/members.sql`) called through the staff member's [`Session`]: the
//! function checks the permission and the tenant scope with the verified identity,
//! applies the business rules under row locks, queues its e-mail
//! (`penguin_console.notify`) and writes its audit entry, all in one transaction. The
//! library keeps its own checks and messages (clear errors before asking) and, after
//! commit, relays the audit entry and notifications ([`after_action`]). The caller then
//! re-syncs.
//!
//! ## Invariants (enforced by the functions)
//! - A tenant always keeps at least one owner: role changes, removals, imports and GDPR
//!   deletions lock the tenant's `tenant_users` rows (`FOR UPDATE`) and refuse to take
//!   away the last active owner, so two concurrent demotions cannot both pass.
//! - A role change, a suspension and a removal revoke the user's sessions in the same
//!   transaction, so the change applies at the user's next request. Nile's sessions
//!   are per user, not per tenant: the user is signed out everywhere.
//! - Staff accounts are not managed here (a staff member is refused as a target).
//!
//! ## What the platform's schema lacks, and where it lives
//! - Workspace membership: `penguin_console.workspace_members` (see the migration).
//! - Suspension: Nile has no status column, so suspending soft-deletes the user's
//!   `auth.credentials` (the platform's sign-in then refuses them) and revokes their
//!   sessions; `penguin_console.user_suspensions` remembers which credentials, so
//!   reactivating restores exactly those.
//! - Lockouts: the platform records them only as `admin_system_events`
//!   (`login_lockout`) in the notifications database; unlocking resolves them there
//!   (`members_unlock` on that database, audited there).
//! - Ownership of campaigns, leads and workspaces: the schema guide gives them no
//!   owner column. Removal reassigns workspace memberships, and any owner column the
//!   platform's real tables do have (`owner_id`, `user_id`, `created_by`,
//!   `assigned_to`, `owner_user_id`, of type uuid), found in the catalog at the time.

pub mod import;
mod removal;
mod sessions;
mod workspace_members;

pub use removal::{gdpr_delete, remove_member, GdprReport, Reassigned, RemovalReport, RemovalRequest};
pub use sessions::{revoke_all_sessions, revoke_session, Revocation, RevokedSession};
pub use workspace_members::{remove_workspace_member, set_workspace_member};

use crate::audit::{after_action, AuditError};
use crate::auth::{permissions, AuthError, Session};
use crate::central::DbKind;

/// Action errors.
#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    /// The viewer's role does not allow it.
    #[error(transparent)]
    Forbidden(#[from] AuthError),
    /// The database failed.
    #[error("the member action failed: {0}")]
    Database(sqlx::Error),
    /// Writing the audit entry failed (nothing was changed).
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// No such member / user / session / workspace.
    #[error("{0}")]
    NotFound(String),
    /// The typed confirmation does not match.
    #[error("the confirmation does not match: type {0} exactly")]
    Confirmation(String),
    /// The change would leave the tenant without an owner.
    #[error("this would leave the tenant without an owner; make another member owner first")]
    LastOwner,
    /// Input is malformed.
    #[error("{0}")]
    BadInput(String),
    /// The target is not in a state the action applies to.
    #[error("{0}")]
    Conflict(String),
}

/// A tenant role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum TenantRole {
    /// Full control, billing included.
    Owner,
    /// Team and workspace management, no billing.
    Admin,
    /// Campaign work.
    Member,
}

impl TenantRole {
    /// The value stored in `tenant_users.roles`.
    pub fn as_str(self) -> &'static str {
        match self {
            TenantRole::Owner => "owner",
            TenantRole::Admin => "admin",
            TenantRole::Member => "member",
        }
    }

    /// Parses `owner` / `admin` / `member` (any case).
    pub fn parse(s: &str) -> Option<TenantRole> {
        match s.trim().to_ascii_lowercase().as_str() {
            "owner" => Some(TenantRole::Owner),
            "admin" => Some(TenantRole::Admin),
            "member" => Some(TenantRole::Member),
            _ => None,
        }
    }
}

/// A workspace role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum WorkspaceRole {
    /// Read only.
    Viewer,
    /// Works on campaigns and leads.
    Member,
    /// Manages the workspace.
    Admin,
}

impl WorkspaceRole {
    /// The value stored in `workspace_members.role`.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkspaceRole::Admin => "admin",
            WorkspaceRole::Member => "member",
            WorkspaceRole::Viewer => "viewer",
        }
    }

    /// Parses `admin` / `member` / `viewer` (any case).
    pub fn parse(s: &str) -> Option<WorkspaceRole> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Some(WorkspaceRole::Admin),
            "member" => Some(WorkspaceRole::Member),
            "viewer" => Some(WorkspaceRole::Viewer),
            _ => None,
        }
    }
}

impl From<sqlx::Error> for MemberError {
    /// A refusal of a console function reaches the user as such, with its message.
    fn from(e: sqlx::Error) -> Self {
        use crate::auth::{refusal, rule_violation, RuleKind};
        if let Some(refused) = refusal(&e) {
            return MemberError::Forbidden(refused);
        }
        if let sqlx::Error::Database(d) = &e {
            match d.code().as_deref() {
                Some("PM422") => return MemberError::LastOwner,
                // The typed confirmation does not match (the functions re-check it).
                Some("PM412") => {
                    let m = d.message();
                    let what = m
                        .strip_prefix("the confirmation does not match: type ")
                        .and_then(|w| w.strip_suffix(" exactly"))
                        .unwrap_or(m);
                    return MemberError::Confirmation(what.to_string());
                }
                _ => {}
            }
        }
        match rule_violation(&e) {
            Some((RuleKind::BadInput, m)) => MemberError::BadInput(m),
            Some((RuleKind::NotFound, m)) => MemberError::NotFound(m),
            Some((RuleKind::Conflict, m)) => MemberError::Conflict(m),
            None => MemberError::Database(e),
        }
    }
}

pub(crate) fn parse_id(value: &str, what: &str) -> Result<uuid::Uuid, MemberError> {
    uuid::Uuid::parse_str(value.trim())
        .map_err(|_| MemberError::BadInput(format!("`{value}` is not a valid {what} id")))
}

/// Outcome of a role change.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RoleChange {
    /// Roles before.
    pub old_roles: Vec<String>,
    /// Roles now.
    pub new_roles: Vec<String>,
    /// Sessions revoked so the new role applies at once.
    pub revocation: Revocation,
}

/// Changes a member's tenant role through `members_change_role`, which keeps an owner
/// and revokes the member's sessions in the same transaction.
pub async fn change_role(
    session: &Session,
    tenant_id: &str,
    user_id: &str,
    role: TenantRole,
) -> Result<RoleChange, MemberError> {
    session.staff().require(permissions::MEMBERS_MANAGE)?;
    let (tenant, user) = (parse_id(tenant_id, "tenant")?, parse_id(user_id, "user")?);
    let mut tx = session.begin(DbKind::Oltp).await?;
    let done: serde_json::Value = sqlx::query_scalar("SELECT penguin_console_api.members_change_role($1, $2, $3)")
        .bind(tenant)
        .bind(user)
        .bind(role.as_str())
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    after_action(session).await;
    let roles = |k: &str| -> Vec<String> {
        done.get(k).and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default()
    };
    Ok(RoleChange {
        old_roles: roles("old_roles"),
        new_roles: roles("new_roles"),
        revocation: Revocation::from_json(done.get("sessions").unwrap_or(&serde_json::Value::Null)),
    })
}

/// Runs `query` (a call of one console function returning one value) on `db` in its own
/// transaction as the session's staff member, commits, then relays the audit entry and
/// notifications it wrote.
async fn act<T>(
    session: &Session,
    db: DbKind,
    query: sqlx::query::QueryScalar<'_, sqlx::Postgres, T, sqlx::postgres::PgArguments>,
) -> Result<T, MemberError>
where
    T: Send + Unpin,
    (T,): for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    let mut tx = session.begin(db).await?;
    let out = query.fetch_one(&mut *tx).await?;
    tx.commit().await?;
    after_action(session).await;
    Ok(out)
}

/// Outcome of a suspension.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Suspension {
    /// Credentials disabled.
    pub credentials_disabled: u32,
    /// Sessions revoked.
    pub revocation: Revocation,
}

/// Suspends an account through `members_suspend`: its credentials are disabled and its
/// sessions revoked.
pub async fn suspend(session: &Session, user_id: &str, reason: &str) -> Result<Suspension, MemberError> {
    session.staff().require(permissions::MEMBERS_MANAGE)?;
    let user = parse_id(user_id, "user")?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(MemberError::BadInput("give a reason for the suspension (it goes into the audit log)".into()));
    }
    let done: serde_json::Value = act(
        session,
        DbKind::Oltp,
        sqlx::query_scalar("SELECT penguin_console_api.members_suspend($1, $2)").bind(user).bind(reason),
    )
    .await?;
    Ok(Suspension {
        credentials_disabled: done.get("credentials_disabled").and_then(|v| v.as_u64()).unwrap_or(0) as u32,
        revocation: Revocation::from_json(done.get("sessions").unwrap_or(&serde_json::Value::Null)),
    })
}

/// Reactivates a suspended account through `members_reactivate`: restores the
/// credentials the suspension disabled. Returns how many.
pub async fn reactivate(session: &Session, user_id: &str) -> Result<u32, MemberError> {
    session.staff().require(permissions::MEMBERS_MANAGE)?;
    let user = parse_id(user_id, "user")?;
    let restored: i32 =
        act(session, DbKind::Oltp, sqlx::query_scalar("SELECT penguin_console_api.members_reactivate($1)").bind(user))
            .await?;
    Ok(restored.max(0) as u32)
}

/// Unlocks a locked account through `members_unlock` on the notifications database
/// (where the platform records lockouts; audited there). Returns how many lockouts
/// were resolved.
pub async fn unlock(session: &Session, user_id: &str) -> Result<u32, MemberError> {
    session.staff().require(permissions::MEMBERS_MANAGE)?;
    let user = parse_id(user_id, "user")?;
    let resolved: i32 = act(
        session,
        DbKind::Notifications,
        sqlx::query_scalar("SELECT penguin_console_api.members_unlock($1)").bind(user),
    )
    .await?;
    Ok(resolved.max(0) as u32)
}

/// Sends a password reset email (queued for the notifications service in the action's
/// transaction by `members_send_password_reset`). Returns the notification id.
pub async fn send_password_reset(session: &Session, tenant_id: &str, user_id: &str) -> Result<uuid::Uuid, MemberError> {
    email_action(session, tenant_id, user_id, "members_send_password_reset").await
}

/// Sends a pending invitation again (`members_resend_invitation`). Returns the
/// notification id.
pub async fn resend_invitation(session: &Session, tenant_id: &str, user_id: &str) -> Result<uuid::Uuid, MemberError> {
    email_action(session, tenant_id, user_id, "members_resend_invitation").await
}

async fn email_action(
    session: &Session,
    tenant_id: &str,
    user_id: &str,
    function: &'static str,
) -> Result<uuid::Uuid, MemberError> {
    session.staff().require(permissions::MEMBERS_MANAGE)?;
    let (tenant, user) = (parse_id(tenant_id, "tenant")?, parse_id(user_id, "user")?);
    let sql = format!("SELECT penguin_console_api.{function}($1, $2)");
    act(session, DbKind::Oltp, sqlx::query_scalar(&sql).bind(tenant).bind(user)).await
}

/// Revokes a pending invitation through `members_revoke_invitation`: the membership is
/// soft-deleted and its workspace memberships in the tenant dropped. Returns the
/// workspace memberships dropped.
pub async fn revoke_invitation(session: &Session, tenant_id: &str, user_id: &str) -> Result<u32, MemberError> {
    session.staff().require(permissions::MEMBERS_MANAGE)?;
    let (tenant, user) = (parse_id(tenant_id, "tenant")?, parse_id(user_id, "user")?);
    let dropped: i32 = act(
        session,
        DbKind::Oltp,
        sqlx::query_scalar("SELECT penguin_console_api.members_revoke_invitation($1, $2)").bind(tenant).bind(user),
    )
    .await?;
    Ok(dropped.max(0) as u32)
}
