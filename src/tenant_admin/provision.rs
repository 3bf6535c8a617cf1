//! Test tenant provisioning: a tenant with an owner, one workspace and a subscription to
//! a plan, created in one transaction with its audit entry, and listed in
//! `penguin_console.sandbox_tenants` so the qa role sees it.
//!
//! The qa role (`tenants.provision_sandbox`) creates sandbox tenants only; a non-sandbox
//! test tenant (a sales demo that should look like a customer) needs `tenants.manage`.
//! The owner is always a new user: attaching an existing person's account to a test
//! tenant would put real people in test data.

use super::{has_table, TenantAdminError};
use crate::audit::after_action;
use crate::auth::{permissions, AuthError, Session, Staff};
use crate::cache::CacheError;
use crate::central::DbKind;

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

/// `Acme QA #1` → `acme-qa-1` (the database function makes the same slug).
#[cfg(test)]
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

/// Whether an address is on a domain reserved for tests and documentation (RFC 2606 /
/// RFC 6761): `.test`, `.example`, `.invalid`, `.localhost`, `example.com/net/org`.
pub fn reserved_email(email: &str) -> bool {
    let email = email.trim().to_ascii_lowercase();
    let Some((_, domain)) = email.rsplit_once('@') else { return false };
    let labels: Vec<&str> = domain.split('.').collect();
    let last = labels.last().copied().unwrap_or("");
    matches!(last, "test" | "example" | "invalid" | "localhost")
        || (labels.len() >= 2 && labels[labels.len() - 2] == "example" && matches!(last, "com" | "net" | "org"))
}

/// Creates a test tenant (see the module docs) through `tenant_admin_provision`, which
/// re-checks everything. The caller re-syncs afterwards.
pub async fn provision(session: &Session, req: &ProvisionRequest) -> Result<Provisioned, TenantAdminError> {
    let staff = session.staff();
    if req.sandbox {
        staff.require_any(&[permissions::TENANTS_PROVISION_SANDBOX, permissions::TENANTS_MANAGE])?;
    } else if !staff.can(permissions::TENANTS_MANAGE) {
        return Err(TenantAdminError::Forbidden(AuthError::Forbidden {
            permission: permissions::TENANTS_MANAGE.name,
            role: staff.role().to_string(),
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
    // Without pii.view, a test tenant's owner is on a test domain: the form must not be
    // a way to learn whether a real person's address belongs to a platform user.
    if staff.masked() && !reserved_email(&email) {
        return Err(TenantAdminError::BadInput(
            "give the test tenant's owner an address on a test domain (such as name@qa.example or name@example.test)"
                .into(),
        ));
    }
    let plan_slug = req.plan_slug.trim().to_lowercase();

    let mut tx = session.begin(DbKind::Oltp).await?;
    let made: serde_json::Value =
        sqlx::query_scalar("SELECT penguin_console_api.tenant_admin_provision($1, $2, $3, $4, $5, $6)")
            .bind(&tenant_name)
            .bind(&email)
            .bind(&owner_name)
            .bind(&workspace_name)
            .bind(&plan_slug)
            .bind(req.sandbox)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    after_action(session).await;
    serde_json::from_value(made)
        .map_err(|e| TenantAdminError::Database(sqlx::Error::Protocol(format!("unreadable provisioning answer: {e}"))))
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs() {
        assert_eq!(super::slug("  Acme QA #1 "), "acme-qa-1");
        assert_eq!(super::slug("Été"), "t");
    }

    #[test]
    fn reserved_test_domains() {
        for ok in ["a@qa.example", "a@example.test", "A@EXAMPLE.COM", "a@x.example.org", "a@host.localhost"] {
            assert!(super::reserved_email(ok), "{ok}");
        }
        for real in ["a@acme.com", "a@example.co", "a@test.com", "a@notexample.com", "example.test", "a@testing"] {
            assert!(!super::reserved_email(real), "{real}");
        }
    }
}
