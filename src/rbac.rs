//! The platform's tenant RBAC: what each tenant role × workspace role may do, as the
//! docs define it (`seeds/team-workspace-roadmap.md` §4, `features/infrastructure/
//! multi-tenant-architecture.md`): owner = everything including billing; admin = team
//! and workspace management, no billing; member = campaign work, and inside a
//! workspace what the workspace role allows (admin: full control of the workspace;
//! member: campaigns, leads, templates; viewer: read only; none: no access).
//!
//! [`allows`] is the single rule. The matrix the screen shows ([`matrix`]) and the
//! access explanation support uses for "why can't Alice see this workspace?"
//! ([`explain`]) are both generated from it, so they cannot disagree.

use rusqlite::{Connection, OptionalExtension};

use crate::auth::{permissions, Staff};
use crate::cache::CacheError;
use crate::members::{TenantRole, WorkspaceRole};
use crate::users::{has_table, UserError};

/// A feature of the platform's tenant app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum Feature {
    /// Billing, plans and invoices (tenant-wide).
    ManageBilling,
    /// Invite, remove and change the role of team members (tenant-wide).
    ManageTeam,
    /// Create and delete workspaces (tenant-wide).
    ManageWorkspaces,
    /// Tenant settings and branding (tenant-wide).
    TenantSettings,
    /// See the workspace's campaigns, leads and analytics.
    ViewWorkspace,
    /// Create and edit campaigns.
    EditCampaigns,
    /// Import and edit leads (contacts).
    ManageLeads,
    /// Create and edit templates.
    ManageTemplates,
    /// Domains and email accounts of the workspace.
    ManageDomains,
    /// Add and remove workspace members, workspace settings.
    ManageWorkspaceMembers,
}

impl Feature {
    /// Every feature, in display order.
    pub const ALL: [Feature; 10] = [
        Feature::ManageBilling,
        Feature::ManageTeam,
        Feature::ManageWorkspaces,
        Feature::TenantSettings,
        Feature::ViewWorkspace,
        Feature::EditCampaigns,
        Feature::ManageLeads,
        Feature::ManageTemplates,
        Feature::ManageDomains,
        Feature::ManageWorkspaceMembers,
    ];

    /// Whether the feature is tenant-wide rather than inside one workspace.
    pub fn tenant_wide(self) -> bool {
        matches!(
            self,
            Feature::ManageBilling | Feature::ManageTeam | Feature::ManageWorkspaces | Feature::TenantSettings
        )
    }
}

/// Whether a member with `tenant` role and `workspace` role (in the workspace
/// concerned; `None` = not a member of it) may use `feature`.
pub fn allows(tenant: TenantRole, workspace: Option<WorkspaceRole>, feature: Feature) -> bool {
    match tenant {
        TenantRole::Owner => true,
        TenantRole::Admin => feature != Feature::ManageBilling,
        TenantRole::Member => match (workspace, feature) {
            (_, f) if f.tenant_wide() => false,
            (None, _) => false,
            (Some(WorkspaceRole::Admin), _) => true,
            (Some(WorkspaceRole::Member), f) => {
                matches!(
                    f,
                    Feature::ViewWorkspace | Feature::EditCampaigns | Feature::ManageLeads | Feature::ManageTemplates
                )
            }
            (Some(WorkspaceRole::Viewer), f) => f == Feature::ViewWorkspace,
        },
    }
}

/// One column of the matrix: a tenant role with a workspace role.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RoleColumn {
    /// Tenant role.
    pub tenant_role: TenantRole,
    /// Workspace role (`None`: not a member of the workspace).
    pub workspace_role: Option<WorkspaceRole>,
}

/// One row of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MatrixRow {
    /// The feature.
    pub feature: Feature,
    /// Tenant-wide or per workspace.
    pub tenant_wide: bool,
    /// Allowed, one per column.
    pub allowed: Vec<bool>,
}

/// The RBAC matrix: features × (tenant role, workspace role).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Matrix {
    /// Columns. Owners and admins act the same in every workspace, so they get one
    /// column each; members get one per workspace role and one for "no role".
    pub columns: Vec<RoleColumn>,
    /// Rows.
    pub rows: Vec<MatrixRow>,
}

/// The matrix, generated from [`allows`].
pub fn matrix() -> Matrix {
    let columns: Vec<RoleColumn> = [
        (TenantRole::Owner, None),
        (TenantRole::Admin, None),
        (TenantRole::Member, Some(WorkspaceRole::Admin)),
        (TenantRole::Member, Some(WorkspaceRole::Member)),
        (TenantRole::Member, Some(WorkspaceRole::Viewer)),
        (TenantRole::Member, None),
    ]
    .into_iter()
    .map(|(tenant_role, workspace_role)| RoleColumn { tenant_role, workspace_role })
    .collect();
    let rows = Feature::ALL
        .iter()
        .map(|f| MatrixRow {
            feature: *f,
            tenant_wide: f.tenant_wide(),
            allowed: columns.iter().map(|c| allows(c.tenant_role, c.workspace_role, *f)).collect(),
        })
        .collect();
    Matrix { columns, rows }
}

/// Why a user can or cannot use a workspace.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AccessExplanation {
    /// The user (masked for support).
    pub user: Option<String>,
    /// The workspace's name.
    pub workspace: String,
    /// Tenant role, if a current member of the workspace's tenant.
    pub tenant_role: Option<TenantRole>,
    /// Workspace role, if any.
    pub workspace_role: Option<WorkspaceRole>,
    /// Workspace features the user may use.
    pub allowed: Vec<Feature>,
    /// The answer in one sentence.
    pub reason: String,
}

/// Explains a user's access to a workspace from the cache (tenant role, workspace role,
/// account status), with the rule above.
pub fn explain(
    conn: &Connection,
    staff: &Staff,
    user_id: &str,
    workspace_id: &str,
) -> Result<AccessExplanation, UserError> {
    staff.require_any(&[permissions::TENANTS_READ, permissions::TENANTS_READ_SANDBOX])?;
    let ws: Option<(String, String)> = conn
        .query_row("SELECT name, tenant_id FROM companies WHERE id = ?1", [workspace_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
        .map_err(CacheError::sql("reading a workspace"))?;
    let Some((workspace, tenant)) = ws else { return Err(UserError::NotFound(format!("workspace {workspace_id}"))) };
    let detail = crate::users::detail(conn, staff, user_id)?;
    let membership = detail.tenants.iter().find(|t| t.tenant_id == tenant);
    let tenant_role = membership
        .filter(|m| m.status != crate::users::UserStatus::Removed)
        .and_then(|m| m.roles.iter().filter_map(|r| TenantRole::parse(r)).min_by_key(|r| *r as u8));
    let workspace_role = if has_table(conn, "console_workspace_members")? {
        conn.query_row(
            "SELECT role FROM console_workspace_members WHERE company_id = ?1 AND user_id = ?2",
            [workspace_id, user_id],
            |r| r.get::<_, String>(0),
        )
        .optional()
        .map_err(CacheError::sql("reading a workspace role"))?
        .and_then(|r| WorkspaceRole::parse(&r))
    } else {
        None
    };
    use crate::users::UserStatus as S;
    let blocked = match detail.profile.status {
        S::Suspended => Some("the account is suspended"),
        S::Locked => Some("the account is locked after too many failed sign-ins"),
        S::Deleted => Some("the account is deleted"),
        S::Invited => Some("the invitation has not been accepted yet"),
        _ => None,
    };
    let allowed: Vec<Feature> = match (tenant_role, blocked) {
        (Some(t), None) => {
            Feature::ALL.iter().copied().filter(|f| !f.tenant_wide() && allows(t, workspace_role, *f)).collect()
        }
        _ => Vec::new(),
    };
    let reason = match (tenant_role, blocked, workspace_role) {
        (None, _, _) if membership.is_some() => "they were removed from the workspace's tenant".to_string(),
        (None, _, _) => "they are not a member of the workspace's tenant".to_string(),
        (Some(_), Some(b), _) => b.to_string(),
        (Some(TenantRole::Member), None, None) => {
            "they are a tenant member without a role in this workspace; add them to it".to_string()
        }
        (Some(t), None, w) => format!(
            "tenant {} with workspace role {}: may {}",
            t.as_str(),
            w.map(|w| w.as_str()).unwrap_or("none (tenant role applies)"),
            if allowed.contains(&Feature::EditCampaigns) { "work in it" } else { "view it only" }
        ),
    };
    Ok(AccessExplanation {
        // Already masked by `users::detail` for viewers without pii.view.
        user: detail.profile.email.or(detail.profile.name),
        workspace,
        tenant_role,
        workspace_role,
        allowed,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_follows_the_documented_roles() {
        let m = matrix();
        let row = |f: Feature| m.rows.iter().find(|r| r.feature == f).map(|r| r.allowed.clone()).unwrap_or_default();
        // Columns: owner, admin, member+ws admin, member+ws member, member+viewer, member+none.
        assert_eq!(row(Feature::ManageBilling), [true, false, false, false, false, false]);
        assert_eq!(row(Feature::ManageTeam), [true, true, false, false, false, false]);
        assert_eq!(row(Feature::ViewWorkspace), [true, true, true, true, true, false]);
        assert_eq!(row(Feature::EditCampaigns), [true, true, true, true, false, false]);
        assert_eq!(row(Feature::ManageDomains), [true, true, true, false, false, false]);
        assert_eq!(m.rows.len(), Feature::ALL.len());
    }
}
