//! Tauri commands of the team actions (tenant drawer) and workspace membership and
//! export (workspace drawer): one-line adapters over [`App`]. Files the user exports go
//! to Downloads, never overwriting anything.

use penguin_admin::app::{App, MemberEmail};
use penguin_admin::audit::ExportFormat;
use penguin_admin::members::import::ImportReport;
use penguin_admin::members::{GdprReport, RemovalReport, RemovalRequest, Suspension, WorkspaceRole};
use penguin_admin::users::TeamMember;
use penguin_admin::workspaces::ExportFiles;
use tauri::{AppHandle, State};

use crate::commands::{on_worker, Reply};
use crate::exports::{self, ExportedFile};

/// A tenant's team with workspace roles.
#[tauri::command(async)]
#[specta::specta]
pub fn team(app: State<'_, App>, tenant_id: String) -> Reply<Vec<TeamMember>> {
    app.team(&tenant_id)
}

/// Suspends an account (credentials disabled, sessions revoked).
#[tauri::command]
#[specta::specta]
pub async fn suspend_member(handle: AppHandle, user_id: String, reason: String) -> Reply<Suspension> {
    on_worker(handle, move |app| Box::pin(async move { app.suspend_member(&user_id, &reason).await })).await
}

/// Reactivates a suspended account.
#[tauri::command]
#[specta::specta]
pub async fn reactivate_member(handle: AppHandle, user_id: String) -> Reply<u32> {
    on_worker(handle, move |app| Box::pin(async move { app.reactivate_member(&user_id).await })).await
}

/// Unlocks an account locked after failed sign-ins.
#[tauri::command]
#[specta::specta]
pub async fn unlock_member(handle: AppHandle, user_id: String) -> Reply<u32> {
    on_worker(handle, move |app| Box::pin(async move { app.unlock_member(&user_id).await })).await
}

/// Sends a password reset or the pending invitation again.
#[tauri::command]
#[specta::specta]
pub async fn send_member_email(
    handle: AppHandle,
    tenant_id: String,
    user_id: String,
    email: MemberEmail,
) -> Reply<String> {
    on_worker(handle, move |app| Box::pin(async move { app.send_member_email(&tenant_id, &user_id, email).await }))
        .await
}

/// Revokes a pending invitation.
#[tauri::command]
#[specta::specta]
pub async fn revoke_invitation(handle: AppHandle, tenant_id: String, user_id: String) -> Reply<u32> {
    on_worker(handle, move |app| Box::pin(async move { app.revoke_invitation(&tenant_id, &user_id).await })).await
}

/// Removes a member: typed email, sessions revoked, everything reassigned, one audit entry.
#[tauri::command]
#[specta::specta]
pub async fn remove_member(handle: AppHandle, request: RemovalRequest) -> Reply<RemovalReport> {
    on_worker(handle, move |app| Box::pin(async move { app.remove_member(request).await })).await
}

/// Erases a user's personal data (super_admin).
#[tauri::command]
#[specta::specta]
pub async fn gdpr_delete_user(handle: AppHandle, user_id: String, confirm_email: String) -> Reply<GdprReport> {
    on_worker(handle, move |app| Box::pin(async move { app.gdpr_delete_user(&user_id, &confirm_email).await })).await
}

/// Adds a tenant member to a workspace or changes their role there.
#[tauri::command]
#[specta::specta]
pub async fn set_workspace_member(
    handle: AppHandle,
    workspace_id: String,
    user_id: String,
    role: WorkspaceRole,
) -> Reply<Option<WorkspaceRole>> {
    on_worker(handle, move |app| Box::pin(async move { app.set_workspace_member(&workspace_id, &user_id, role).await }))
        .await
}

/// Removes a user from a workspace.
#[tauri::command]
#[specta::specta]
pub async fn remove_workspace_member(handle: AppHandle, workspace_id: String, user_id: String) -> Reply<WorkspaceRole> {
    on_worker(handle, move |app| Box::pin(async move { app.remove_workspace_member(&workspace_id, &user_id).await }))
        .await
}

/// Previews (`dry_run`) or applies a team CSV the user picked.
#[tauri::command]
#[specta::specta]
pub async fn import_members(
    handle: AppHandle,
    tenant_id: String,
    file_name: String,
    bytes: Vec<u8>,
    dry_run: bool,
) -> Reply<ImportReport> {
    on_worker(handle, move |app| {
        Box::pin(async move { app.import_members(&tenant_id, &file_name, bytes, dry_run).await })
    })
    .await
}

/// Exports a tenant's team to a new CSV in Downloads.
#[tauri::command(async)]
#[specta::specta]
pub fn export_members(app: State<'_, App>, tenant_id: String) -> Reply<ExportedFile> {
    let path = exports::new_file_path("penguin-team", ExportFormat::Csv)?;
    let rows = app.export_members(&tenant_id, path.clone())?;
    Ok(ExportedFile { path: path.display().to_string(), rows })
}

/// Exports a workspace (JSON + CSVs) into a new folder in Downloads.
#[tauri::command(async)]
#[specta::specta]
pub fn export_workspace(app: State<'_, App>, workspace_id: String) -> Reply<ExportFiles> {
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let dir = exports::download_dir()?.join(format!("penguin-workspace-{stamp}"));
    app.export_workspace(&workspace_id, &dir)
}
