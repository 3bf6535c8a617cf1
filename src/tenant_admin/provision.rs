//! Test tenant provisioning: a tenant with an owner, one workspace and a subscription to
//! a plan, created in one transaction with its audit entry, and listed in
//! `penguin_console.sandbox_tenants` so the qa role sees it.
//!
//! The qa role (`tenants.provision_sandbox`) creates sandbox tenants only; a non-sandbox
//! test tenant (a sales demo that should look like a customer) needs `tenants.manage`.
//! The owner is always a new user: attaching an existing person's account to a test
//! tenant would put real people in test data.

use chrono::{DateTime, Months, Utc};

use super::{has_table, TenantAdminError};
use crate::audit::{self, AuditEntry};
use crate::auth::{permissions, AuthError, ClientInfo, Staff};
use crate::cache::CacheError;
use crate::central::Central;

/// What to create.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ProvisionRequest {
    /// Tenant (organization) name.
    pub tenant_name: String,
    /// The owner's email (must not belong to an existing user).
    pub owner_email: String,
    /// The owner's name.
    pub owner_name: String,
    /// The workspace's name.
    pub workspace_name: String,
    /// Plan slug (`starter`, `pro`, `enterprise`…).
    pub plan_slug: String,
    /// A sandbox (QA) tenant; `false` needs `tenants.manage`.
    pub sandbox: bool,
}

/// What was created.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Provisioned {
    /// The new tenant.
    pub tenant_id: String,
    /// Its owner.
    pub owner_user_id: String,
    /// Its workspace (`companies.id`).
    pub workspace_id: String,
    /// Its workspace slug (`companies.workspace_name`).
    pub workspace_slug: String,
    /// Its subscription.
    pub subscription_id: String,
    /// The plan's name.
    pub plan: String,
    /// Whether it is a sandbox.
    pub sandbox: bool,
    /// End of the first (monthly) period (UTC, RFC 3339).
    pub current_period_end: String,
}

/// A plan a test tenant can subscribe to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PlanChoice {
    /// Slug, for [`ProvisionRequest::plan_slug`].
    pub slug: String,
    /// Name.
    pub name: String,
    /// List price per month, cents.
    pub price_monthly_cents: Option<i64>,
}

/// The active plans, cheapest first, from the cache: what [`provision`] accepts, so a form
/// can offer a choice rather than a free-text slug.
pub fn plans(conn: &rusqlite::Connection, staff: &Staff) -> Result<Vec<PlanChoice>, TenantAdminError> {
    staff.require_any(&[permissions::TENANTS_PROVISION_SANDBOX, permissions::TENANTS_MANAGE])?;
    if !has_table(conn, "plans")? {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare_cached(
            "SELECT slug, name, price_monthly FROM plans WHERE COALESCE(is_active, 1)
             ORDER BY COALESCE(price_monthly, 0), name",
        )
        .map_err(CacheError::sql("reading plans"))?;
    let rows = stmt
        .query_map([], |r| Ok(PlanChoice { slug: r.get(0)?, name: r.get(1)?, price_monthly_cents: r.get(2)? }))
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(CacheError::sql("reading plans"))?;
    Ok(rows)
}

fn field(what: &str, value: &str, max: usize) -> Result<String, TenantAdminError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(TenantAdminError::BadInput(format!("the {what} is empty")));
    }
    if v.chars().count() > max {
        return Err(TenantAdminError::BadInput(format!("the {what} is longer than {max} characters")));
    }
    Ok(v.to_string())
}

/// `Acme QA #1` → `acme-qa-1`.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(60).collect()
}

/// Creates a test tenant (see the module docs). The caller re-syncs afterwards.
pub async fn provision(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    req: &ProvisionRequest,
) -> Result<Provisioned, TenantAdminError> {
    if req.sandbox {
        staff.require_any(&[permissions::TENANTS_PROVISION_SANDBOX, permissions::TENANTS_MANAGE])?;
    } else if !staff.can(permissions::TENANTS_MANAGE) {
        return Err(TenantAdminError::Forbidden(AuthError::Forbidden {
            permission: permissions::TENANTS_MANAGE.name,
            role: staff.role.clone(),
        }));
    }
    let tenant_name = field("tenant name", &req.tenant_name, 200)?;
    let owner_name = field("owner's name", &req.owner_name, 200)?;
    let workspace_name = field("workspace name", &req.workspace_name, 100)?;
    let email = field("owner's email", &req.owner_email, 320)?.to_lowercase();
    let well_formed = email
        .split_once('@')
        .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.'));
    if !well_formed || email.contains(char::is_whitespace) {
        return Err(TenantAdminError::BadInput(format!("`{email}` is not an email address")));
    }
    let plan_slug = req.plan_slug.trim().to_lowercase();

    let mut tx = central.oltp.begin().await?;
    let plan: Option<(uuid::Uuid, String)> =
        sqlx::query_as("SELECT id, name FROM plans WHERE slug = $1 AND COALESCE(is_active, true)")
            .bind(&plan_slug)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((plan_id, plan_name)) = plan else {
        return Err(TenantAdminError::NotFound(format!("no active plan with slug `{plan_slug}`")));
    };
    let taken: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) = $1 AND deleted IS NULL)")
            .bind(&email)
            .fetch_one(&mut *tx)
            .await?;
    if taken {
        return Err(TenantAdminError::BadInput(format!(
            "a user with the email {email} already exists; give the test tenant's owner a new address"
        )));
    }
    let (tenant, owner, workspace, subscription) =
        (uuid::Uuid::new_v4(), uuid::Uuid::new_v4(), uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let workspace_slug =
        format!("{}-{}", slug(&workspace_name), &tenant.simple().to_string()[..8]).trim_start_matches('-').to_string();
    let now: DateTime<Utc> = sqlx::query_scalar("SELECT now()").fetch_one(&mut *tx).await?;
    let period_end = now.checked_add_months(Months::new(1)).unwrap_or(now);
    sqlx::query("INSERT INTO tenants (id, name) VALUES ($1, $2)")
        .bind(tenant)
        .bind(&tenant_name)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO users (id, name, email, email_verified) VALUES ($1, $2, $3, now())")
        .bind(owner)
        .bind(&owner_name)
        .bind(&email)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO tenant_users (tenant_id, user_id, roles, email) VALUES ($1, $2, '{owner}', $3)")
        .bind(tenant)
        .bind(owner)
        .bind(&email)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO companies (id, tenant_id, name, workspace_name) VALUES ($1, $2, $3, $4)")
        .bind(workspace)
        .bind(tenant)
        .bind(&workspace_name)
        .bind(&workspace_slug)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO subscriptions (id, tenant_id, plan_id, status, current_period_start, current_period_end,
             billing_contact_user_id)
         VALUES ($1, $2, $3, 'active', $4, $5, $6)",
    )
    .bind(subscription)
    .bind(tenant)
    .bind(plan_id)
    .bind(now)
    .bind(period_end)
    .bind(owner)
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO tenant_config (tenant_id, billing_email) VALUES ($1, $2)")
        .bind(tenant)
        .bind(&email)
        .execute(&mut *tx)
        .await?;
    if req.sandbox {
        sqlx::query("INSERT INTO penguin_console.sandbox_tenants (tenant_id, created_by) VALUES ($1, $2)")
            .bind(tenant)
            .bind(staff.user_id)
            .execute(&mut *tx)
            .await?;
    }
    let out = Provisioned {
        tenant_id: tenant.to_string(),
        owner_user_id: owner.to_string(),
        workspace_id: workspace.to_string(),
        workspace_slug,
        subscription_id: subscription.to_string(),
        plan: plan_name,
        sandbox: req.sandbox,
        current_period_end: period_end.to_rfc3339(),
    };
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: "tenant.provisioned".into(),
            resource_type: "tenant".into(),
            resource_id: tenant.to_string(),
            tenant_id: Some(tenant.to_string()),
            old_values: None,
            new_values: Some(serde_json::json!({
                "tenant_name": tenant_name, "owner_email": email, "workspace_name": workspace_name,
                "plan": plan_slug, "created": out,
            })),
            notes: Some(if req.sandbox { "sandbox test tenant" } else { "test tenant (not a sandbox)" }.into()),
        },
    )
    .await?;
    tx.commit().await?;
    audit::deliver(central).await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs() {
        assert_eq!(super::slug("  Acme QA #1 "), "acme-qa-1");
        assert_eq!(super::slug("Été"), "t");
    }
}
