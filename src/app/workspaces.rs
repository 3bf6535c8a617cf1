//! The Workspaces screen: the list with health scores, a workspace's health trend (a
//! plotters chart), the RBAC matrix, and the danger zone (soft delete with a 30-day
//! grace period, restore).

use super::{App, AppError, ErrorCode};
use crate::charts;
use crate::health::{self, HealthError, HealthPoint, WorkspaceHealthRow, WorkspacePage, WorkspaceQuery};
use crate::rbac::{self, Matrix};
use crate::workspaces::{self, DeletionPreview, SoftDeleted};

/// Days of health history the trend shows.
const TREND_DAYS: u32 = 90;

/// A workspace's health history and its trend chart.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WorkspaceHealth {
    /// Daily scores, oldest first.
    pub history: Vec<HealthPoint>,
    /// The trend as SVG (0–100 with the green / yellow / red bands).
    pub chart_svg: String,
}

impl From<HealthError> for AppError {
    fn from(e: HealthError) -> Self {
        match e {
            HealthError::Forbidden(a) => a.into(),
            HealthError::Cache(c) => c.into(),
            HealthError::Database(d) => AppError::new(ErrorCode::Offline, d.to_string()),
        }
    }
}

impl From<charts::ChartError> for AppError {
    fn from(e: charts::ChartError) -> Self {
        AppError::new(ErrorCode::Internal, e.to_string())
    }
}

impl App {
    /// Workspaces of a tenant (or all), worst health first.
    pub fn workspaces(&self, tenant_id: Option<String>) -> Result<Vec<WorkspaceHealthRow>, AppError> {
        let staff = self.staff()?;
        Ok(health::workspaces(&self.read_cache()?, &staff, tenant_id.as_deref())?)
    }

    /// One page of the workspace list (filtered by tenant and search), worst health first.
    pub fn workspace_page(&self, query: &WorkspaceQuery) -> Result<WorkspacePage, AppError> {
        let staff = self.staff()?;
        Ok(health::workspace_page(&self.read_cache()?, &staff, query)?)
    }

    /// A workspace's daily health scores and their trend chart.
    pub fn workspace_health(&self, workspace_id: &str, name: &str) -> Result<WorkspaceHealth, AppError> {
        let staff = self.staff()?;
        let history = health::history(&self.read_cache()?, &staff, workspace_id, TREND_DAYS)?;
        let chart_svg = charts::to_svg(&charts::health_trend(name, &history))?;
        Ok(WorkspaceHealth { history, chart_svg })
    }

    /// The tenant role × workspace role × feature matrix the platform enforces.
    pub fn rbac_matrix(&self) -> Result<Matrix, AppError> {
        self.staff()?;
        Ok(rbac::matrix())
    }

    /// What deleting a workspace would do (counts, billing effect, purge date).
    pub async fn workspace_deletion_preview(&self, workspace_id: &str) -> Result<DeletionPreview, AppError> {
        Ok(workspaces::preview(&self.session()?, workspace_id).await?)
    }

    /// Soft-deletes a workspace (its name typed to confirm), then syncs.
    pub async fn delete_workspace(
        &self,
        workspace_id: &str,
        confirm_name: &str,
        reason: &str,
    ) -> Result<SoftDeleted, AppError> {
        let done = workspaces::soft_delete(&self.session()?, workspace_id, confirm_name, reason).await?;
        self.sync_after_action().await;
        Ok(done)
    }

    /// Restores a soft-deleted workspace within its grace period, then syncs; returns the
    /// campaigns resumed.
    pub async fn restore_workspace(&self, workspace_id: &str) -> Result<u32, AppError> {
        let resumed = workspaces::restore(&self.session()?, workspace_id).await?;
        self.sync_after_action().await;
        Ok(resumed)
    }
}
