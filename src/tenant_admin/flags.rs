//! Feature flags per tenant. The platform's `feature_flags` holds each flag's global
//! state; a row of `penguin_console.tenant_feature_flags` turns one flag on or off for
//! one tenant and records who did it, when and why. Effective value: the tenant's
//! setting if there is one, else the platform's `is_enabled` (a partial rollout
//! percentage is the platform's to evaluate per request, so it is shown, not applied).
//!
//! Changing one needs `tenants.manage` and is audited with the value before and after.

use rusqlite::Connection;

use super::{has_table, reason, require_read, tenant_uuid, TenantAdminError};
use crate::audit::after_action;
use crate::auth::{permissions, Session, Staff};
use crate::cache::CacheError;
use crate::central::DbKind;

/// A feature flag as it applies to one tenant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TenantFlag {
    /// Flag key.
    pub key: String,
    /// What it does.
    pub description: Option<String>,
    /// Platform-wide state.
    pub platform_enabled: bool,
    /// Platform rollout percentage.
    pub rollout_percentage: i64,
    /// This tenant's setting, if staff set one.
    pub tenant_setting: Option<bool>,
    /// What applies to the tenant.
    pub enabled: bool,
    /// Who set the tenant's setting (staff email).
    pub changed_by: Option<String>,
    /// When (UTC).
    pub changed_at: Option<String>,
    /// Why.
    pub reason: Option<String>,
}

/// The tenant's flags, every platform flag listed, by key.
pub fn flags(conn: &Connection, staff: &Staff, tenant_id: &str) -> Result<Vec<TenantFlag>, TenantAdminError> {
    require_read(conn, staff, tenant_id)?;
    if !has_table(conn, "feature_flags")? {
        return Ok(Vec::new());
    }
    // Without the console's table (not synced yet) every flag shows the platform's value.
    let (cols, join) = if has_table(conn, "console_tenant_feature_flags")? {
        (
            "t.enabled, t.changed_by_email, t.changed, t.reason",
            "LEFT JOIN console_tenant_feature_flags t ON t.flag_key = f.key AND t.tenant_id = ?1",
        )
    } else {
        ("NULL, NULL, NULL, NULL", "WHERE ?1 IS NOT NULL")
    };
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT f.key, f.description, COALESCE(f.is_enabled, 0), COALESCE(f.rollout_percentage, 0), {cols}
             FROM feature_flags f {join} ORDER BY f.key"
        ))
        .map_err(CacheError::sql("reading feature flags"))?;
    let rows = stmt
        .query_map([tenant_id], |r| {
            let platform = r.get::<_, i64>(2)? != 0;
            let setting = r.get::<_, Option<i64>>(4)?.map(|v| v != 0);
            Ok(TenantFlag {
                key: r.get(0)?,
                description: r.get(1)?,
                platform_enabled: platform,
                rollout_percentage: r.get(3)?,
                tenant_setting: setting,
                enabled: setting.unwrap_or(platform),
                changed_by: r.get(5)?,
                changed_at: r.get(6)?,
                reason: r.get(7)?,
            })
        })
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(CacheError::sql("reading feature flags"))?;
    Ok(rows)
}

/// What [`set_flag`] changed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FlagChange {
    /// Tenant.
    pub tenant_id: String,
    /// Flag key.
    pub key: String,
    /// The tenant's setting before (`None`: the platform's value applied).
    pub before: Option<bool>,
    /// After.
    pub after: Option<bool>,
    /// Effective value now.
    pub enabled: bool,
    /// Who (staff email).
    pub changed_by: String,
    /// When (UTC, RFC 3339).
    pub changed_at: String,
}

/// Turns `key` on (`Some(true)`) or off (`Some(false)`) for one tenant, or back to the
/// platform's value (`None`), through `tenant_admin_set_flag`. Needs `tenants.manage`;
/// audited as `tenant.feature_flag.set` with the value before and after.
pub async fn set_flag(
    session: &Session,
    tenant_id: &str,
    key: &str,
    enabled: Option<bool>,
    why: &str,
) -> Result<FlagChange, TenantAdminError> {
    session.staff().require(permissions::TENANTS_MANAGE)?;
    let tenant = tenant_uuid(tenant_id)?;
    let why = reason(why)?;
    let mut tx = session.begin(DbKind::Oltp).await?;
    let done: serde_json::Value =
        sqlx::query_scalar("SELECT penguin_console_api.tenant_admin_set_flag($1, $2, $3, $4)")
            .bind(tenant)
            .bind(key.trim())
            .bind(enabled)
            .bind(&why)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    after_action(session).await;
    serde_json::from_value(done)
        .map_err(|e| TenantAdminError::Database(sqlx::Error::Protocol(format!("unreadable flag change: {e}"))))
}
