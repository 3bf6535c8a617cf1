//! Workspace membership (the console's `workspace_members`, see the module above):
//! add a member of the workspace's own tenant, change their role, remove them.

use sqlx::Row;

use super::{after_commit, lock_member, parse_id, MemberError, WorkspaceRole};
use crate::audit::{self, AuditEntry};
use crate::auth::{permissions, ClientInfo, Staff};
use crate::central::Central;

/// Adds a member of the workspace's tenant to the workspace, or changes their role.
pub async fn set_workspace_member(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    workspace_id: &str,
    user_id: &str,
    role: WorkspaceRole,
) -> Result<Option<WorkspaceRole>, MemberError> {
    staff.require(permissions::WORKSPACES_MANAGE)?;
    let (ws, user) = (parse_id(workspace_id, "workspace")?, parse_id(user_id, "user")?);
    let mut tx = central.oltp.begin().await?;
    let tenant: uuid::Uuid = sqlx::query_scalar("SELECT tenant_id FROM companies WHERE id = $1 FOR SHARE")
        .bind(ws)
        .fetch_optional(&mut *tx)
        .await?
        .flatten()
        .ok_or_else(|| MemberError::NotFound(format!("no workspace {ws}")))?;
    let m = lock_member(&mut tx, tenant, user).await.map_err(|e| match e {
        MemberError::NotFound(_) => MemberError::Conflict(
            "only members of the workspace's own tenant can be added to it; invite them to the tenant first".into(),
        ),
        e => e,
    })?;
    if m.removed {
        return Err(MemberError::Conflict("this member was removed from the tenant".into()));
    }
    let old: Option<String> =
        sqlx::query_scalar("SELECT role FROM penguin_console.workspace_members WHERE company_id = $1 AND user_id = $2")
            .bind(ws)
            .bind(user)
            .fetch_optional(&mut *tx)
            .await?;
    sqlx::query(
        "INSERT INTO penguin_console.workspace_members (company_id, user_id, tenant_id, role) VALUES ($1, $2, $3, $4)
         ON CONFLICT (company_id, user_id) DO UPDATE SET role = EXCLUDED.role",
    )
    .bind(ws)
    .bind(user)
    .bind(tenant)
    .bind(role.as_str())
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: if old.is_some() { "workspace.member.role_changed" } else { "workspace.member.added" }.into(),
            resource_type: "workspace".into(),
            resource_id: ws.to_string(),
            tenant_id: Some(tenant.to_string()),
            old_values: old.as_ref().map(|r| serde_json::json!({ "user_id": user, "role": r })),
            new_values: Some(serde_json::json!({ "user_id": user, "role": role.as_str() })),
            notes: None,
        },
    )
    .await?;
    tx.commit().await?;
    after_commit(central).await;
    Ok(old.as_deref().and_then(WorkspaceRole::parse))
}

/// Removes a user from a workspace. Returns the role they had.
pub async fn remove_workspace_member(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    workspace_id: &str,
    user_id: &str,
) -> Result<WorkspaceRole, MemberError> {
    staff.require(permissions::WORKSPACES_MANAGE)?;
    let (ws, user) = (parse_id(workspace_id, "workspace")?, parse_id(user_id, "user")?);
    let mut tx = central.oltp.begin().await?;
    let row = sqlx::query(
        "DELETE FROM penguin_console.workspace_members WHERE company_id = $1 AND user_id = $2 RETURNING role, tenant_id",
    )
    .bind(ws)
    .bind(user)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| MemberError::NotFound(format!("user {user} is not a member of workspace {ws}")))?;
    let role: String = row.get("role");
    let tenant: uuid::Uuid = row.get("tenant_id");
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: "workspace.member.removed".into(),
            resource_type: "workspace".into(),
            resource_id: ws.to_string(),
            tenant_id: Some(tenant.to_string()),
            old_values: Some(serde_json::json!({ "user_id": user, "role": role })),
            new_values: None,
            notes: None,
        },
    )
    .await?;
    tx.commit().await?;
    after_commit(central).await;
    WorkspaceRole::parse(&role).ok_or_else(|| MemberError::Conflict(format!("unknown workspace role `{role}`")))
}
