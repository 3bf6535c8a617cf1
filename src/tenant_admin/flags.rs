//! Feature flags per tenant. The platform's `feature_flags` holds each flag's global
//! state; a row of `penguin_console.tenant_feature_flags` turns one flag on or off for
//! one tenant and records who did it, when and why. Effective value: the tenant's
//! setting if there is one, else the platform's `is_enabled` (a partial rollout
//! percentage is the platform's to evaluate per request, so it is shown, not applied).
//!
//! Changing one needs `tenants.manage` and is audited with the value before and after.

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use sqlx::Row;

use super::{has_table, reason, require_read, tenant_uuid, TenantAdminError};
use crate::audit::{self, AuditEntry};
use crate::auth::{permissions, ClientInfo, Staff};
use crate::cache::CacheError;
use crate::central::Central;

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
/// platform's value (`None`). Needs `tenants.manage`; audited as `tenant.feature_flag.set`.
pub async fn set_flag(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    tenant_id: &str,
    key: &str,
    enabled: Option<bool>,
    why: &str,
) -> Result<FlagChange, TenantAdminError> {
    staff.require(permissions::TENANTS_MANAGE)?;
    let tenant = tenant_uuid(tenant_id)?;
    let why = reason(why)?;
    let key = key.trim();
    let mut tx = central.oltp.begin().await?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1)")
        .bind(tenant)
        .fetch_one(&mut *tx)
        .await?;
    if !exists {
        return Err(TenantAdminError::NotFound(format!("no tenant {tenant}")));
    }
    let platform: Option<bool> =
        sqlx::query_scalar("SELECT COALESCE(is_enabled, false) FROM feature_flags WHERE key = $1")
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(platform) = platform else {
        return Err(TenantAdminError::NotFound(format!(
            "no feature flag `{key}` on the platform; `penguin-admin tenant flags --tenant ID` lists them"
        )));
    };
    let before: Option<bool> = sqlx::query_scalar(
        "SELECT enabled FROM penguin_console.tenant_feature_flags WHERE tenant_id = $1 AND flag_key = $2 FOR UPDATE",
    )
    .bind(tenant)
    .bind(key)
    .fetch_optional(&mut *tx)
    .await?;
    let changed_at: DateTime<Utc> = match enabled {
        Some(on) => sqlx::query(
            "INSERT INTO penguin_console.tenant_feature_flags (tenant_id, flag_key, enabled, changed_by, changed_by_email, reason)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (tenant_id, flag_key) DO UPDATE SET enabled = EXCLUDED.enabled, changed_by = EXCLUDED.changed_by,
                 changed_by_email = EXCLUDED.changed_by_email, reason = EXCLUDED.reason, changed = now()
             RETURNING changed",
        )
        .bind(tenant)
        .bind(key)
        .bind(on)
        .bind(staff.audit_id())
        .bind(&staff.email)
        .bind(&why)
        .fetch_one(&mut *tx)
        .await?
        .get("changed"),
        None => {
            sqlx::query("DELETE FROM penguin_console.tenant_feature_flags WHERE tenant_id = $1 AND flag_key = $2")
                .bind(tenant)
                .bind(key)
                .execute(&mut *tx)
                .await?;
            sqlx::query_scalar("SELECT now()").fetch_one(&mut *tx).await?
        }
    };
    let effective = |s: Option<bool>| s.unwrap_or(platform);
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: "tenant.feature_flag.set".into(),
            resource_type: "tenant".into(),
            resource_id: tenant.to_string(),
            tenant_id: Some(tenant.to_string()),
            old_values: Some(serde_json::json!({"flag": key, "tenant_setting": before, "enabled": effective(before)})),
            new_values: Some(
                serde_json::json!({"flag": key, "tenant_setting": enabled, "enabled": effective(enabled)}),
            ),
            notes: Some(why),
        },
    )
    .await?;
    tx.commit().await?;
    audit::deliver(central).await?;
    Ok(FlagChange {
        tenant_id: tenant.to_string(),
        key: key.to_string(),
        before,
        after: enabled,
        enabled: effective(enabled),
        changed_by: staff.email.clone(),
        changed_at: changed_at.to_rfc3339(),
    })
}
