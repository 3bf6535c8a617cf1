//! Workspace membership (the console's `workspace_members`, see the module above):
//! add a member of the workspace's own tenant, change their role, remove them, through
//! `members_set_workspace_member` and `members_remove_workspace_member`.

use super::{after_action, parse_id, MemberError, WorkspaceRole};
use crate::auth::{permissions, Session};
use crate::central::DbKind;

/// Adds a member of the workspace's tenant to the workspace, or changes their role.
/// Returns the role they had.
pub async fn set_workspace_member(
    session: &Session,
    workspace_id: &str,
    user_id: &str,
    role: WorkspaceRole,
) -> Result<Option<WorkspaceRole>, MemberError> {
    session.staff().require(permissions::WORKSPACES_MANAGE)?;
    let (ws, user) = (parse_id(workspace_id, "workspace")?, parse_id(user_id, "user")?);
    let mut tx = session.begin(DbKind::Oltp).await?;
    let old: Option<String> = sqlx::query_scalar("SELECT penguin_console_api.members_set_workspace_member($1, $2, $3)")
        .bind(ws)
        .bind(user)
        .bind(role.as_str())
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    after_action(session).await;
    Ok(old.as_deref().and_then(WorkspaceRole::parse))
}

/// Removes a user from a workspace. Returns the role they had.
pub async fn remove_workspace_member(
    session: &Session,
    workspace_id: &str,
    user_id: &str,
) -> Result<WorkspaceRole, MemberError> {
    session.staff().require(permissions::WORKSPACES_MANAGE)?;
    let (ws, user) = (parse_id(workspace_id, "workspace")?, parse_id(user_id, "user")?);
    let mut tx = session.begin(DbKind::Oltp).await?;
    let role: String = sqlx::query_scalar("SELECT penguin_console_api.members_remove_workspace_member($1, $2)")
        .bind(ws)
        .bind(user)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    after_action(session).await;
    WorkspaceRole::parse(&role).ok_or_else(|| MemberError::Conflict(format!("unknown workspace role `{role}`")))
}
