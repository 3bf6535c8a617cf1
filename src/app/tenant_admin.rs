//! The tenant drawer's admin tabs: the organization's settings as the tenant sees them,
//! the effective plan after overrides, and per-tenant feature flags.

use super::{App, AppError, ErrorCode};
use crate::tenant_admin::flags::{self, FlagChange, TenantFlag};
use crate::tenant_admin::overrides::{self, EffectivePlan};
use crate::tenant_admin::settings::{self, TenantSettings};
use crate::tenant_admin::TenantAdminError;

/// A tenant's settings and the plan that applies to it now.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TenantAdminView {
    /// Branding, regional settings, billing contact, security policies.
    pub settings: Option<TenantSettings>,
    /// The subscribed plan with the overrides in effect applied.
    pub plan: EffectivePlan,
}

impl From<TenantAdminError> for AppError {
    fn from(e: TenantAdminError) -> Self {
        match e {
            TenantAdminError::Forbidden(a) => a.into(),
            TenantAdminError::Cache(c) => c.into(),
            TenantAdminError::NotFound(m) => AppError::new(ErrorCode::NotFound, m),
            TenantAdminError::BadInput(m) => AppError::bad_input(m),
            TenantAdminError::SupportAccess(m) => AppError::new(ErrorCode::Forbidden, m),
            other => AppError::new(ErrorCode::Internal, other.to_string()),
        }
    }
}

impl App {
    /// A tenant's settings and effective plan (masked for support).
    pub fn tenant_admin(&self, tenant_id: &str) -> Result<TenantAdminView, AppError> {
        let staff = self.staff()?;
        let conn = self.read_cache()?;
        Ok(TenantAdminView {
            settings: settings::settings(&conn, &staff, tenant_id)?,
            plan: overrides::effective_plan(&conn, &staff, tenant_id, chrono::Utc::now())?,
        })
    }

    /// Every platform flag as it applies to the tenant, with who set it and why.
    pub fn tenant_flags(&self, tenant_id: &str) -> Result<Vec<TenantFlag>, AppError> {
        let staff = self.staff()?;
        Ok(flags::flags(&self.read_cache()?, &staff, tenant_id)?)
    }

    /// Turns a flag on or off for one tenant (or back to the platform's value), then syncs.
    pub async fn set_tenant_flag(
        &self,
        tenant_id: &str,
        key: &str,
        enabled: Option<bool>,
        reason: &str,
    ) -> Result<FlagChange, AppError> {
        let staff = self.staff()?;
        let central = self.central().await?;
        let change = flags::set_flag(&central, &staff, &self.client, tenant_id, key, enabled, reason).await?;
        self.sync_after_action().await;
        Ok(change)
    }
}
