//! Member and user actions against the central OLTP database: tenant role changes,
//! suspension, unlocking, password resets, invitations, session revocation, member
//! removal and GDPR deletion; workspace membership.
//!
//! Each action checks its permission first, runs in one transaction with its audit
//! entry (`audit::record` into the outbox of the database it changes) and, where an
//! email must go out, with its notification ([`notify`]); after commit it delivers
//! both. The caller then re-syncs.
//!
//! ## Invariants
//! - A tenant always keeps at least one owner: role changes, removals and GDPR
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
//!   (`login_lockout`) in the notifications database; unlocking resolves them there,
//!   with the audit entry in that database's outbox.
//! - Ownership of campaigns, leads and workspaces: the schema guide gives them no
//!   owner column. Removal reassigns workspace memberships, and any owner column the
//!   platform's real tables do have (`owner_id`, `user_id`, `created_by`,
//!   `assigned_to`, `owner_user_id`, of type uuid), found in the catalog at the time.

pub mod import;
pub mod notify;
mod removal;
mod sessions;
mod workspace_members;

pub use removal::{gdpr_delete, remove_member, GdprReport, Reassigned, RemovalReport, RemovalRequest};
pub(crate) use sessions::revoke_in;
pub use sessions::{revoke_all_sessions, revoke_session, Revocation, RevokedSession};
pub use workspace_members::{remove_workspace_member, set_workspace_member};

use sqlx::{PgConnection, Row};

use crate::audit::{self, AuditEntry, AuditError};
use crate::auth::{permissions, AuthError, ClientInfo, Staff};
use crate::central::Central;

/// Action errors.
#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    /// The viewer's role does not allow it.
    #[error(transparent)]
    Forbidden(#[from] AuthError),
    /// The database failed.
    #[error("the member action failed: {0}")]
    Database(#[from] sqlx::Error),
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

pub(crate) fn parse_id(value: &str, what: &str) -> Result<uuid::Uuid, MemberError> {
    uuid::Uuid::parse_str(value.trim())
        .map_err(|_| MemberError::BadInput(format!("`{value}` is not a valid {what} id")))
}

/// After commit: deliver audit entries and notifications. A failure here is retried by
/// the next action or sync, so it is logged, not returned (the action did happen).
pub(crate) async fn after_commit(central: &Central) {
    if let Err(e) = audit::deliver(central).await {
        tracing::warn!("audit delivery deferred: {e}");
    }
    if let Err(e) = notify::deliver(central).await {
        tracing::warn!("notification delivery deferred: {e}");
    }
}

/// A member row, locked.
pub(crate) struct Member {
    pub email: Option<String>,
    pub name: Option<String>,
    pub roles: Vec<String>,
    pub removed: bool,
    pub verified: bool,
    pub is_staff: bool,
}

/// Locks every membership row of `tenant` (serialising owner checks) and returns the
/// one of `user`.
pub(crate) async fn lock_member(
    tx: &mut PgConnection,
    tenant: uuid::Uuid,
    user: uuid::Uuid,
) -> Result<Member, MemberError> {
    sqlx::query("SELECT 1 FROM tenant_users WHERE tenant_id = $1 FOR UPDATE").bind(tenant).execute(&mut *tx).await?;
    let row = sqlx::query(
        "SELECT u.id, COALESCE(u.email, tu.email) AS email, u.name, COALESCE(tu.roles, '{}') AS roles,
                (tu.deleted IS NOT NULL OR u.deleted IS NOT NULL) AS removed, u.email_verified IS NOT NULL AS verified,
                EXISTS (SELECT 1 FROM staff_members s WHERE s.user_id = u.id) AS is_staff
         FROM tenant_users tu JOIN users u ON u.id = tu.user_id WHERE tu.tenant_id = $1 AND tu.user_id = $2",
    )
    .bind(tenant)
    .bind(user)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| MemberError::NotFound(format!("user {user} is not a member of tenant {tenant}")))?;
    let m = Member {
        email: row.get("email"),
        name: row.get("name"),
        roles: row.get("roles"),
        removed: row.get("removed"),
        verified: row.get("verified"),
        is_staff: row.get("is_staff"),
    };
    if m.is_staff {
        return Err(MemberError::Conflict(
            "this user is platform staff; staff accounts are managed with the staff tools, not as tenant members"
                .into(),
        ));
    }
    Ok(m)
}

/// Active owners of `tenant` other than `except`.
pub(crate) async fn other_owners(
    tx: &mut PgConnection,
    tenant: uuid::Uuid,
    except: uuid::Uuid,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM tenant_users tu JOIN users u ON u.id = tu.user_id
         WHERE tu.tenant_id = $1 AND tu.user_id <> $2 AND tu.deleted IS NULL AND u.deleted IS NULL
           AND 'owner' = ANY(tu.roles)",
    )
    .bind(tenant)
    .bind(except)
    .fetch_one(&mut *tx)
    .await
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

/// Changes a member's tenant role; revokes their sessions in the same transaction.
pub async fn change_role(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    tenant_id: &str,
    user_id: &str,
    role: TenantRole,
) -> Result<RoleChange, MemberError> {
    staff.require(permissions::MEMBERS_MANAGE)?;
    let (tenant, user) = (parse_id(tenant_id, "tenant")?, parse_id(user_id, "user")?);
    let mut tx = central.oltp.begin().await?;
    let m = lock_member(&mut tx, tenant, user).await?;
    if m.removed {
        return Err(MemberError::Conflict("this member was removed; invite them again instead".into()));
    }
    let new_roles = vec![role.as_str().to_string()];
    if m.roles == new_roles {
        return Err(MemberError::Conflict(format!("this member is already {}", role.as_str())));
    }
    if m.roles.iter().any(|r| r == "owner")
        && role != TenantRole::Owner
        && other_owners(&mut tx, tenant, user).await? == 0
    {
        return Err(MemberError::LastOwner);
    }
    sqlx::query("UPDATE tenant_users SET roles = $3, updated = now() WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant)
        .bind(user)
        .bind(&new_roles)
        .execute(&mut *tx)
        .await?;
    let revocation = revoke_in(&mut tx, user, None).await?;
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: "tenant.member.role_changed".into(),
            resource_type: "tenant_user".into(),
            resource_id: user.to_string(),
            tenant_id: Some(tenant.to_string()),
            old_values: Some(serde_json::json!({ "roles": m.roles })),
            new_values: Some(serde_json::json!({
                "roles": new_roles,
                "revoked_sessions": revocation.sessions.iter().map(|s| &s.id).collect::<Vec<_>>(),
            })),
            notes: None,
        },
    )
    .await?;
    tx.commit().await?;
    after_commit(central).await;
    Ok(RoleChange { old_roles: m.roles, new_roles, revocation })
}

/// The first active tenant of a user, for the audit entry of an account-wide action.
pub(crate) async fn home_tenant(tx: &mut PgConnection, user: uuid::Uuid) -> Result<Option<String>, sqlx::Error> {
    let t: Option<uuid::Uuid> = sqlx::query_scalar(
        "SELECT tenant_id FROM tenant_users WHERE user_id = $1 AND deleted IS NULL ORDER BY created, tenant_id LIMIT 1",
    )
    .bind(user)
    .fetch_optional(&mut *tx)
    .await?;
    Ok(t.map(|t| t.to_string()))
}

async fn lock_user(tx: &mut PgConnection, user: uuid::Uuid) -> Result<(), MemberError> {
    let row = sqlx::query(
        "SELECT u.deleted IS NOT NULL AS deleted, EXISTS (SELECT 1 FROM staff_members s WHERE s.user_id = u.id) AS staff
         FROM users u WHERE u.id = $1 FOR UPDATE",
    )
    .bind(user)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| MemberError::NotFound(format!("no user {user}")))?;
    if row.get::<bool, _>("staff") {
        return Err(MemberError::Conflict(
            "this user is platform staff; staff accounts are managed with the staff tools".into(),
        ));
    }
    if row.get::<bool, _>("deleted") {
        return Err(MemberError::Conflict("this account is deleted".into()));
    }
    Ok(())
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

/// Suspends an account: disables its credentials and revokes its sessions.
pub async fn suspend(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    user_id: &str,
    reason: &str,
) -> Result<Suspension, MemberError> {
    staff.require(permissions::MEMBERS_MANAGE)?;
    let user = parse_id(user_id, "user")?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(MemberError::BadInput("give a reason for the suspension (it goes into the audit log)".into()));
    }
    let mut tx = central.oltp.begin().await?;
    lock_user(&mut tx, user).await?;
    let already: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM penguin_console.user_suspensions WHERE user_id = $1)")
            .bind(user)
            .fetch_one(&mut *tx)
            .await?;
    if already {
        return Err(MemberError::Conflict("this account is already suspended".into()));
    }
    let creds: Vec<uuid::Uuid> = sqlx::query_scalar(
        "UPDATE auth.credentials SET deleted = now(), updated = now() WHERE user_id = $1 AND deleted IS NULL RETURNING id",
    )
    .bind(user)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO penguin_console.user_suspensions (user_id, suspended_by, reason, credential_ids) VALUES ($1, $2, $3, $4)",
    )
    .bind(user)
    .bind(staff.audit_id())
    .bind(reason)
    .bind(&creds)
    .execute(&mut *tx)
    .await?;
    let revocation = revoke_in(&mut tx, user, None).await?;
    let tenant = home_tenant(&mut tx, user).await?;
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: "user.suspended".into(),
            resource_type: "user".into(),
            resource_id: user.to_string(),
            tenant_id: tenant,
            old_values: Some(serde_json::json!({ "status": "active" })),
            new_values: Some(serde_json::json!({
                "status": "suspended",
                "credentials_disabled": creds.len(),
                "revoked_sessions": revocation.sessions.iter().map(|s| &s.id).collect::<Vec<_>>(),
            })),
            notes: Some(reason.to_string()),
        },
    )
    .await?;
    tx.commit().await?;
    after_commit(central).await;
    Ok(Suspension { credentials_disabled: creds.len() as u32, revocation })
}

/// Reactivates a suspended account: restores the credentials the suspension disabled.
pub async fn reactivate(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    user_id: &str,
) -> Result<u32, MemberError> {
    staff.require(permissions::MEMBERS_MANAGE)?;
    let user = parse_id(user_id, "user")?;
    let mut tx = central.oltp.begin().await?;
    lock_user(&mut tx, user).await?;
    let creds: Option<Vec<uuid::Uuid>> =
        sqlx::query_scalar("DELETE FROM penguin_console.user_suspensions WHERE user_id = $1 RETURNING credential_ids")
            .bind(user)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(creds) = creds else {
        return Err(MemberError::Conflict("this account is not suspended".into()));
    };
    let restored =
        sqlx::query("UPDATE auth.credentials SET deleted = NULL, updated = now() WHERE user_id = $1 AND id = ANY($2)")
            .bind(user)
            .bind(&creds)
            .execute(&mut *tx)
            .await?
            .rows_affected() as u32;
    let tenant = home_tenant(&mut tx, user).await?;
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: "user.reactivated".into(),
            resource_type: "user".into(),
            resource_id: user.to_string(),
            tenant_id: tenant,
            old_values: Some(serde_json::json!({ "status": "suspended" })),
            new_values: Some(serde_json::json!({ "status": "active", "credentials_restored": restored })),
            notes: None,
        },
    )
    .await?;
    tx.commit().await?;
    after_commit(central).await;
    Ok(restored)
}

/// Unlocks a locked account: resolves its open `login_lockout` events (notifications
/// database, audited there). Returns how many lockouts were resolved.
pub async fn unlock(central: &Central, staff: &Staff, client: &ClientInfo, user_id: &str) -> Result<u32, MemberError> {
    staff.require(permissions::MEMBERS_MANAGE)?;
    let user = parse_id(user_id, "user")?;
    let mut tx = central.notifications.begin().await?;
    let rows = sqlx::query(
        "UPDATE admin_system_events SET is_resolved = true, resolved_at = now(), resolved_by = $2
         WHERE user_id = $1 AND event_type = 'login_lockout' AND NOT COALESCE(is_resolved, false)
         RETURNING id, tenant_id, details",
    )
    .bind(user)
    .bind(staff.user_id)
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Err(MemberError::Conflict("this account has no open lockout".into()));
    }
    let tenant: Option<uuid::Uuid> = rows[0].get("tenant_id");
    let failed: Option<serde_json::Value> = rows[0].get::<Option<serde_json::Value>, _>("details");
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: "tenant.member.unlocked".into(),
            resource_type: "tenant_user".into(),
            resource_id: user.to_string(),
            tenant_id: tenant.map(|t| t.to_string()),
            old_values: Some(serde_json::json!({
                "locked": true,
                "failed_attempts": failed.and_then(|d| d.get("failed_attempts").cloned()),
            })),
            new_values: Some(serde_json::json!({
                "locked": false,
                "resolved_events": rows.iter().map(|r| r.get::<i64, _>("id")).collect::<Vec<_>>(),
            })),
            notes: None,
        },
    )
    .await?;
    tx.commit().await?;
    after_commit(central).await;
    Ok(rows.len() as u32)
}

async fn email_action(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    tenant_id: &str,
    user_id: &str,
    invitation: bool,
) -> Result<uuid::Uuid, MemberError> {
    staff.require(permissions::MEMBERS_MANAGE)?;
    let (tenant, user) = (parse_id(tenant_id, "tenant")?, parse_id(user_id, "user")?);
    let mut tx = central.oltp.begin().await?;
    let m = lock_member(&mut tx, tenant, user).await?;
    if m.removed {
        return Err(MemberError::Conflict("this member was removed from the tenant".into()));
    }
    if invitation && m.verified {
        return Err(MemberError::Conflict("this member has already accepted the invitation".into()));
    }
    if !invitation && !m.verified {
        return Err(MemberError::Conflict(
            "this member has not accepted the invitation yet; resend the invitation instead".into(),
        ));
    }
    let name = m.name.clone().unwrap_or_default();
    let (kind, title, message, action) = if invitation {
        (
            "invitation",
            "You're invited to PenguinMails",
            format!(
                "Hello {name}, you have been invited to join a team on PenguinMails. Accept the invitation to sign in."
            ),
            "tenant.member.invitation_resent",
        )
    } else {
        (
            "password_reset",
            "Reset your PenguinMails password",
            format!("Hello {name}, a password reset was requested for your account by PenguinMails support."),
            "user.password_reset_sent",
        )
    };
    let id = notify::queue(
        &mut tx,
        &notify::Notification { user_id: user, tenant_id: tenant, kind: kind.into(), title: title.into(), message },
    )
    .await?;
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: action.into(),
            resource_type: "tenant_user".into(),
            resource_id: user.to_string(),
            tenant_id: Some(tenant.to_string()),
            old_values: None,
            new_values: Some(serde_json::json!({ "notification_id": id, "sent_to": m.email })),
            notes: None,
        },
    )
    .await?;
    tx.commit().await?;
    after_commit(central).await;
    Ok(id)
}

/// Sends a password reset email (through the notifications service). Returns the
/// notification id.
pub async fn send_password_reset(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    tenant_id: &str,
    user_id: &str,
) -> Result<uuid::Uuid, MemberError> {
    email_action(central, staff, client, tenant_id, user_id, false).await
}

/// Sends a pending invitation again. Returns the notification id.
pub async fn resend_invitation(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    tenant_id: &str,
    user_id: &str,
) -> Result<uuid::Uuid, MemberError> {
    email_action(central, staff, client, tenant_id, user_id, true).await
}

/// Revokes a pending invitation: the membership is soft-deleted and its workspace
/// memberships in the tenant dropped. Returns the workspace memberships dropped.
pub async fn revoke_invitation(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    tenant_id: &str,
    user_id: &str,
) -> Result<u32, MemberError> {
    staff.require(permissions::MEMBERS_MANAGE)?;
    let (tenant, user) = (parse_id(tenant_id, "tenant")?, parse_id(user_id, "user")?);
    let mut tx = central.oltp.begin().await?;
    let m = lock_member(&mut tx, tenant, user).await?;
    if m.removed || m.verified {
        return Err(MemberError::Conflict(
            "there is no pending invitation (the member accepted it or was removed); use removal instead".into(),
        ));
    }
    sqlx::query("UPDATE tenant_users SET deleted = now(), updated = now() WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant)
        .bind(user)
        .execute(&mut *tx)
        .await?;
    let dropped = sqlx::query("DELETE FROM penguin_console.workspace_members WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant)
        .bind(user)
        .execute(&mut *tx)
        .await?
        .rows_affected() as u32;
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: "tenant.member.invitation_revoked".into(),
            resource_type: "tenant_user".into(),
            resource_id: user.to_string(),
            tenant_id: Some(tenant.to_string()),
            old_values: Some(serde_json::json!({ "status": "invited", "roles": m.roles })),
            new_values: Some(serde_json::json!({ "status": "removed", "workspace_memberships_dropped": dropped })),
            notes: None,
        },
    )
    .await?;
    tx.commit().await?;
    after_commit(central).await;
    Ok(dropped)
}
