//! Member removal (the ex-employee workflow) and GDPR deletion.
//!
//! Removal, in one OLTP transaction (`members_remove`): the typed email must match the
//! member's; the membership is soft-deleted (`tenant_users.deleted`, so the history
//! stays); all the user's sessions are revoked; their workspace memberships in the
//! tenant pass to the chosen member (who keeps the higher of the two roles) and any
//! owner column of `campaigns`, `leads` or `companies` pointing at them is repointed; a
//! removal notice is queued for the transactional-email service; one audit entry
//! records every change with old and new values.
//!
//! GDPR deletion (super_admin): the account row is deleted (Nile's memberships,
//! sessions and credentials cascade) and references to it elsewhere are cleared
//! (`members_gdpr_delete` on OLTP), its notifications are deleted and its system events
//! scrubbed (`members_gdpr_erase` on the notifications database, with a grant the OLTP
//! function gives after its checks). Each part is audited in its own database with the
//! (now meaningless) id and counts only, no name, email or address. The notifications
//! part commits first, while the OLTP part waits uncommitted: if the OLTP commit then
//! failed, a retry finds the account still there and finishes. Entries already in the
//! audit log stay as they are: they are retained for compliance (the docs keep the
//! audit log 7 years).

use super::{after_action, parse_id, MemberError, Revocation};
use crate::auth::{permissions, Session};
use crate::central::DbKind;

/// A removal request, as the confirmation dialog fills it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RemovalRequest {
    /// Tenant.
    pub tenant_id: String,
    /// Member to remove.
    pub user_id: String,
    /// The member's email, typed by the staff member as confirmation.
    pub confirm_email: String,
    /// Member of the same tenant who takes over their campaigns, leads and workspaces.
    pub reassign_to: String,
}

/// Rows reassigned in one place.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Reassigned {
    /// `workspace_members`, or `table.column`.
    pub what: String,
    /// Rows changed.
    pub rows: u64,
}

/// What a removal did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RemovalReport {
    /// Sessions revoked.
    pub revocation: Revocation,
    /// Reassignments made.
    pub reassigned: Vec<Reassigned>,
    /// Of campaigns, leads and workspaces, those with no owner column in the platform's
    /// schema: they belong to the workspace, not to a person, and needed no change.
    pub unowned: Vec<String>,
    /// The queued removal notice.
    pub notification_id: String,
}

/// The typed confirmation, before asking the database (which compares it with the
/// member's address itself).
fn typed_email(typed: &str, what: &str) -> Result<(), MemberError> {
    let t = typed.trim();
    match t.split_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() => Ok(()),
        _ => Err(MemberError::Confirmation(what.into())),
    }
}

/// Removes a member from a tenant (see the module docs).
pub async fn remove_member(session: &Session, req: &RemovalRequest) -> Result<RemovalReport, MemberError> {
    session.staff().require(permissions::MEMBERS_REMOVE)?;
    let tenant = parse_id(&req.tenant_id, "tenant")?;
    let user = parse_id(&req.user_id, "user")?;
    let target = parse_id(&req.reassign_to, "user")?;
    if target == user {
        return Err(MemberError::BadInput("choose another member to take over; not the one being removed".into()));
    }
    typed_email(&req.confirm_email, "the member's email address")?;
    let mut tx = session.begin(DbKind::Oltp).await?;
    let done: serde_json::Value = sqlx::query_scalar("SELECT penguin_console_api.members_remove($1, $2, $3, $4)")
        .bind(tenant)
        .bind(user)
        .bind(req.confirm_email.trim())
        .bind(target)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    after_action(session).await;
    let get = |k: &str| done.get(k).cloned().unwrap_or(serde_json::Value::Null);
    Ok(RemovalReport {
        revocation: Revocation::from_json(&get("sessions")),
        reassigned: serde_json::from_value(get("reassigned")).unwrap_or_default(),
        unowned: serde_json::from_value(get("unowned")).unwrap_or_default(),
        notification_id: get("notification_id").as_str().unwrap_or_default().to_string(),
    })
}

/// What a GDPR deletion erased (counts only).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct GdprReport {
    /// Tenant memberships deleted.
    pub memberships: u64,
    /// Sessions deleted.
    pub sessions: u64,
    /// Credentials deleted.
    pub credentials: u64,
    /// Workspace memberships deleted.
    pub workspace_memberships: u64,
    /// References from other rows cleared (set to NULL), as `table.column`.
    pub references_cleared: Vec<Reassigned>,
    /// Notifications deleted.
    pub notifications_deleted: u64,
    /// System events scrubbed of personal data.
    pub events_scrubbed: u64,
}

/// Permanently deletes a user's personal data after the typed email confirms it (see
/// the module docs for the two databases' parts).
pub async fn gdpr_delete(session: &Session, user_id: &str, confirm_email: &str) -> Result<GdprReport, MemberError> {
    session.staff().require(permissions::USERS_GDPR_DELETE)?;
    let user = parse_id(user_id, "user")?;
    typed_email(confirm_email, "the user's email address")?;
    // The notifications database's transaction is opened first: its ticket is fetched
    // from OLTP before the OLTP transaction below holds the session's row.
    let mut ntx = session.begin(DbKind::Notifications).await?;
    let mut tx = session.begin(DbKind::Oltp).await?;
    let oltp: serde_json::Value = sqlx::query_scalar("SELECT penguin_console_api.members_gdpr_delete($1, $2)")
        .bind(user)
        .bind(confirm_email.trim())
        .fetch_one(&mut *tx)
        .await?;
    let grant = oltp.get("erase_grant").and_then(|g| g.as_str()).unwrap_or_default();
    let erased: serde_json::Value = sqlx::query_scalar("SELECT penguin_console_api.members_gdpr_erase($1)")
        .bind(grant)
        .fetch_one(&mut *ntx)
        .await?;
    ntx.commit().await?;
    tx.commit().await?;
    after_action(session).await;
    let count = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_u64()).unwrap_or(0);
    Ok(GdprReport {
        memberships: count(&oltp, "memberships"),
        sessions: count(&oltp, "sessions"),
        credentials: count(&oltp, "credentials"),
        workspace_memberships: count(&oltp, "workspace_memberships"),
        references_cleared: oltp
            .get("references_cleared")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default(),
        notifications_deleted: count(&erased, "notifications_deleted"),
        events_scrubbed: count(&erased, "events_scrubbed"),
    })
}
