//! Team actions from the tenant drawer and the workspace drawer: the team with workspace
//! roles, account actions (suspend, reactivate, unlock, password reset, invitations),
//! member removal with reassignment, GDPR deletion, workspace membership, and the CSV
//! import (preview, then apply) and exports. Each is one library call; actions sync after.

use std::path::{Path, PathBuf};

use super::{App, AppError, ErrorCode};
use crate::members::import::{self, ExportError, ImportReport};
use crate::members::{self, GdprReport, RemovalReport, RemovalRequest, Suspension, WorkspaceRole};
use crate::users::{self, TeamMember};
use crate::workspaces::{self, ExportFiles};

/// An email the platform sends to a member on staff's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum MemberEmail {
    /// A password reset link.
    PasswordReset,
    /// The pending invitation, again.
    Invitation,
}

impl From<ExportError> for AppError {
    fn from(e: ExportError) -> Self {
        match e {
            ExportError::Read(r) => r.into(),
            other => AppError::new(ErrorCode::Internal, other.to_string()),
        }
    }
}

impl From<workspaces::ExportError> for AppError {
    fn from(e: workspaces::ExportError) -> Self {
        match e {
            workspaces::ExportError::Read(r) => r.into(),
            other => AppError::new(ErrorCode::Internal, other.to_string()),
        }
    }
}

impl App {
    /// A tenant's team: members with status, last login and workspace roles.
    pub fn team(&self, tenant_id: &str) -> Result<Vec<TeamMember>, AppError> {
        let staff = self.staff()?;
        Ok(users::team(&self.read_cache()?, &staff, tenant_id)?)
    }

    /// Suspends an account (credentials disabled, sessions revoked), then syncs.
    pub async fn suspend_member(&self, user_id: &str, reason: &str) -> Result<Suspension, AppError> {
        let done = members::suspend(&self.session()?, user_id, reason).await?;
        self.sync_after_action().await;
        Ok(done)
    }

    /// Reactivates a suspended account, then syncs; returns the credentials restored.
    pub async fn reactivate_member(&self, user_id: &str) -> Result<u32, AppError> {
        let restored = members::reactivate(&self.session()?, user_id).await?;
        self.sync_after_action().await;
        Ok(restored)
    }

    /// Unlocks a locked account, then syncs; returns the lockouts resolved.
    pub async fn unlock_member(&self, user_id: &str) -> Result<u32, AppError> {
        let resolved = members::unlock(&self.session()?, user_id).await?;
        self.sync_after_action().await;
        Ok(resolved)
    }

    /// Queues a password reset or the invitation again; returns the notification id.
    pub async fn send_member_email(
        &self,
        tenant_id: &str,
        user_id: &str,
        email: MemberEmail,
    ) -> Result<String, AppError> {
        let session = self.session()?;
        let id = match email {
            MemberEmail::PasswordReset => members::send_password_reset(&session, tenant_id, user_id).await?,
            MemberEmail::Invitation => members::resend_invitation(&session, tenant_id, user_id).await?,
        };
        Ok(id.to_string())
    }

    /// Revokes a pending invitation, then syncs; returns the workspace memberships dropped.
    pub async fn revoke_invitation(&self, tenant_id: &str, user_id: &str) -> Result<u32, AppError> {
        let dropped = members::revoke_invitation(&self.session()?, tenant_id, user_id).await?;
        self.sync_after_action().await;
        Ok(dropped)
    }

    /// Removes a member (typed email, sessions revoked, everything reassigned), then syncs.
    pub async fn remove_member(&self, request: RemovalRequest) -> Result<RemovalReport, AppError> {
        let report = members::remove_member(&self.session()?, &request).await?;
        self.sync_after_action().await;
        Ok(report)
    }

    /// Erases a user's personal data for good (super_admin, typed email), then syncs.
    pub async fn gdpr_delete_user(&self, user_id: &str, confirm_email: &str) -> Result<GdprReport, AppError> {
        let report = members::gdpr_delete(&self.session()?, user_id, confirm_email).await?;
        self.sync_after_action().await;
        Ok(report)
    }

    /// Adds a member of the workspace's tenant to it, or changes their role, then syncs;
    /// returns the role they had.
    pub async fn set_workspace_member(
        &self,
        workspace_id: &str,
        user_id: &str,
        role: WorkspaceRole,
    ) -> Result<Option<WorkspaceRole>, AppError> {
        let old = members::set_workspace_member(&self.session()?, workspace_id, user_id, role).await?;
        self.sync_after_action().await;
        Ok(old)
    }

    /// Removes a user from a workspace, then syncs; returns the role they had.
    pub async fn remove_workspace_member(&self, workspace_id: &str, user_id: &str) -> Result<WorkspaceRole, AppError> {
        let old = members::remove_workspace_member(&self.session()?, workspace_id, user_id).await?;
        self.sync_after_action().await;
        Ok(old)
    }

    /// Validates a team CSV (`file_name` names it in errors) and previews it, or with
    /// `dry_run` false applies it all-or-nothing; syncs after an applied import.
    pub async fn import_members(
        &self,
        tenant_id: &str,
        file_name: &str,
        bytes: Vec<u8>,
        dry_run: bool,
    ) -> Result<ImportReport, AppError> {
        let session = self.session()?;
        let text = import::decode(bytes, file_name)?;
        let report = import::import(&session, tenant_id, &text, dry_run).await?;
        if report.applied {
            self.sync_after_action().await;
        }
        Ok(report)
    }

    /// Writes a tenant's team to `path` as CSV (masked for support); returns the rows.
    pub fn export_members(&self, tenant_id: &str, path: PathBuf) -> Result<u64, AppError> {
        let staff = self.staff()?;
        let conn = self.read_cache()?;
        super::write_atomically(&path, |file| import::export(&conn, &staff, tenant_id, file).map_err(AppError::from))
    }

    /// Exports a workspace (JSON and one CSV per part) into `dir`, before a deletion.
    pub fn export_workspace(&self, workspace_id: &str, dir: &Path) -> Result<ExportFiles, AppError> {
        let staff = self.staff()?;
        std::fs::create_dir_all(dir)
            .map_err(|e| AppError::new(ErrorCode::Internal, format!("cannot create {}: {e}", dir.display())))?;
        Ok(workspaces::export(&self.read_cache()?, &staff, workspace_id, dir)?)
    }
}
