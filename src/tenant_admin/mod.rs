//! Tenant administration: what platform staff change or inspect about one tenant.
//!
//! - [`settings`]: the organization's settings as the tenant sees them (branding,
//!   regional settings, billing contact, security policies), from the cache.
//! - [`flags`]: feature flags per tenant, on or off, with who changed them and when.
//! - [`overrides`]: plan overrides (custom price, limits, expiry) and billing overrides
//!   (comps, extended trials); the effective plan is the plan plus what has not expired.
//! - [`provision`]: test tenants for QA (a sandbox tenant, its owner, a workspace and a
//!   plan, in one transaction).
//! - [`support`]: "view as tenant", a reasoned, ticketed, time-limited grant under which
//!   support reads one tenant's data; opening it and every view are audited.
//!
//! ## Where the data lives
//! The platform's OLTP schema guide has no per-tenant flags (its `feature_flags` is
//! platform-wide), no override table (the route spec names a `tenant_overrides` table
//! that the guide does not define) and no trial state (`subscriptions.status` has no
//! `trialing`). These live in the console's schema (migration 0011:
//! `penguin_console.tenant_feature_flags`, `tenant_overrides`, `support_access_grants`),
//! synced to the cache like the other console tables. Each action is a database
//! function (`src/central/sql/api/tenant_admin.sql`) called as the signed-in staff
//! member ([`crate::auth::Session`]): it checks the permission and scope, re-checks the
//! rules, changes the data and writes its audit entry in one transaction; the entry is
//! then relayed ([`crate::audit::after_action`]) and the caller re-syncs.

pub mod flags;
pub mod overrides;
pub mod provision;
pub mod settings;
pub mod support;

use crate::audit::AuditError;
use crate::auth::{permissions, AuthError, Staff};
use crate::cache::CacheError;

/// Tenant administration errors.
#[derive(Debug, thiserror::Error)]
pub enum TenantAdminError {
    /// The viewer's role does not allow it.
    #[error(transparent)]
    Forbidden(#[from] AuthError),
    /// The central database failed.
    #[error("the tenant action failed: {0}")]
    Database(sqlx::Error),
    /// Writing the audit entry failed (nothing was changed).
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The cache failed.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// No such tenant, flag, plan, override or grant.
    #[error("{0}")]
    NotFound(String),
    /// Input is malformed or out of range.
    #[error("{0}")]
    BadInput(String),
    /// A support-access grant is missing, someone else's, closed or expired.
    #[error("{0}")]
    SupportAccess(String),
}

impl From<sqlx::Error> for TenantAdminError {
    /// A refusal of a console function reaches the user as such, with its message:
    /// 42501 / PM401 as [`TenantAdminError::Forbidden`], PM400 bad input, PM404 not
    /// found, PM403 a support-access grant that does not allow it.
    fn from(e: sqlx::Error) -> Self {
        use crate::auth::{refusal, rule_violation, RuleKind};
        if let Some(refused) = refusal(&e) {
            return TenantAdminError::Forbidden(refused);
        }
        if let sqlx::Error::Database(d) = &e {
            if d.code().as_deref() == Some("PM403") {
                return TenantAdminError::SupportAccess(d.message().to_string());
            }
        }
        match rule_violation(&e) {
            Some((RuleKind::BadInput | RuleKind::Conflict, m)) => TenantAdminError::BadInput(m),
            Some((RuleKind::NotFound, m)) => TenantAdminError::NotFound(m),
            None => TenantAdminError::Database(e),
        }
    }
}

/// Parses a tenant id.
pub(crate) fn tenant_uuid(value: &str) -> Result<uuid::Uuid, TenantAdminError> {
    uuid::Uuid::parse_str(value.trim())
        .map_err(|_| TenantAdminError::BadInput(format!("`{value}` is not a valid tenant id")))
}

/// A reason is required for every change here: it goes into the audit entry.
pub(crate) fn reason(value: &str) -> Result<String, TenantAdminError> {
    let r = value.trim();
    if r.is_empty() {
        return Err(TenantAdminError::BadInput("give a reason; it is recorded in the audit log".into()));
    }
    Ok(r.chars().take(1000).collect())
}

/// Whether the cache holds table `name`.
pub(crate) fn has_table(conn: &rusqlite::Connection, name: &str) -> Result<bool, CacheError> {
    conn.query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)", [name], |r| {
        r.get(0)
    })
    .map_err(CacheError::sql("reading the schema"))
}

/// Refuses readers without tenant access, and qa for a tenant that is not a sandbox.
pub(crate) fn require_read(
    conn: &rusqlite::Connection,
    staff: &Staff,
    tenant_id: &str,
) -> Result<(), TenantAdminError> {
    staff.require_any(&[permissions::TENANTS_READ, permissions::TENANTS_READ_SANDBOX])?;
    if staff.sandbox_only() && !crate::tenants::sandbox_ids(conn)?.contains(tenant_id) {
        return Err(TenantAdminError::Forbidden(AuthError::Forbidden {
            permission: permissions::TENANTS_READ.name,
            role: staff.role().to_string(),
        }));
    }
    Ok(())
}
