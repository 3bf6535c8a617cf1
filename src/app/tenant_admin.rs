//! The tenant drawer's admin tabs: the organization's settings as the tenant sees them,
//! the effective plan after overrides, per-tenant feature flags and plan overrides;
//! support access ("view as tenant"); and sandbox tenants for QA.

use super::{App, AppError, ErrorCode};
use crate::tenant_admin::flags::{self, FlagChange, TenantFlag};
use crate::tenant_admin::overrides::{self, EffectivePlan, Override, OverrideInput};
use crate::tenant_admin::provision::{self, PlanChoice, ProvisionRequest, Provisioned};
use crate::tenant_admin::settings::{self, TenantSettings};
use crate::tenant_admin::support::{self, SupportGrant, TenantView};
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
        let change = flags::set_flag(&self.session()?, tenant_id, key, enabled, reason).await?;
        self.sync_after_action().await;
        Ok(change)
    }

    /// Every override of a tenant (in effect, expired and revoked), newest first.
    pub fn tenant_overrides(&self, tenant_id: &str) -> Result<Vec<Override>, AppError> {
        let staff = self.staff()?;
        Ok(overrides::list(&self.read_cache()?, &staff, tenant_id)?)
    }

    /// Adds a plan override, comp or trial extension (reason required), then syncs.
    pub async fn add_tenant_override(&self, tenant_id: &str, input: &OverrideInput) -> Result<Override, AppError> {
        let added = overrides::add(&self.session()?, tenant_id, input).await?;
        self.sync_after_action().await;
        Ok(added)
    }

    /// Revokes an override from now on (reason required), then syncs.
    pub async fn revoke_tenant_override(&self, override_id: &str, reason: &str) -> Result<Override, AppError> {
        let revoked = overrides::revoke(&self.session()?, override_id, reason).await?;
        self.sync_after_action().await;
        Ok(revoked)
    }

    /// The active plans a test tenant can subscribe to, cheapest first.
    pub fn provision_plans(&self) -> Result<Vec<PlanChoice>, AppError> {
        let staff = self.staff()?;
        Ok(provision::plans(&self.read_cache()?, &staff)?)
    }

    /// Creates a test tenant (owner, workspace, subscription), then syncs so it is listed.
    pub async fn provision_tenant(&self, request: &ProvisionRequest) -> Result<Provisioned, AppError> {
        let made = provision::provision(&self.session()?, request).await?;
        self.sync_after_action().await;
        Ok(made)
    }

    /// Opens support access to a tenant (reason, ticket, minutes: default 60, at most 480),
    /// then syncs so the grant is listed and the tenant's details (masked) reach the cache.
    pub async fn open_support_access(
        &self,
        tenant_id: &str,
        reason: &str,
        ticket: &str,
        minutes: Option<u32>,
    ) -> Result<SupportGrant, AppError> {
        let grant = support::open(&self.session()?, tenant_id, reason, ticket, minutes).await?;
        self.sync_after_action().await;
        Ok(grant)
    }

    /// The tenant's data, read-only, under one of the viewer's valid grants; each view is
    /// audited. No sync: a view changes nothing but the grant's view count.
    pub async fn view_as_tenant(&self, grant_id: &str) -> Result<TenantView, AppError> {
        let session = self.session()?;
        let conn = self.read_cache()?;
        Ok(support::view_as(&session, &conn, grant_id).await?)
    }

    /// Closes a grant before it expires, then syncs (the tenant's details leave the cache).
    pub async fn close_support_access(&self, grant_id: &str) -> Result<SupportGrant, AppError> {
        let closed = support::close(&self.session()?, grant_id).await?;
        self.sync_after_action().await;
        Ok(closed)
    }

    /// The signed-in staff member's own grants (of one tenant, or all), newest first.
    pub fn my_support_grants(&self, tenant_id: Option<&str>) -> Result<Vec<SupportGrant>, AppError> {
        let staff = self.staff()?;
        Ok(support::own_grants(&self.read_cache()?, &staff, tenant_id)?)
    }
}
