//! The organization's settings as the tenant sees them, from the cache: branding and
//! regional settings (`tenant_config`), the billing contact (`tenant_config` and the
//! current subscription's `billing_contact_user_id`) and security policies
//! (`tenant_policies`). A tenant without a `tenant_policies` row runs on the column
//! defaults of the platform's schema, shown as such ([`SecurityPolicies::defaults`]).
//!
//! For viewers without `pii.view` (support) the billing email, contact name and email
//! are masked and the postal address is reduced to its country.

use rusqlite::{Connection, OptionalExtension};

use super::{has_table, require_read, TenantAdminError};
use crate::auth::{masking, Staff};
use crate::cache::CacheError;

/// Branding.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Branding {
    /// Primary colour, `#rrggbb`.
    pub primary_color: Option<String>,
    /// Logo URL.
    pub logo_url: Option<String>,
    /// Favicon URL.
    pub favicon_url: Option<String>,
    /// Whether the sidebar starts collapsed.
    pub sidebar_default_collapsed: bool,
}

/// Regional settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Regional {
    /// IANA time zone.
    pub timezone: Option<String>,
    /// Date format, e.g. `DD/MM/YYYY`.
    pub date_format: Option<String>,
}

/// Billing contact and notification choices.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BillingContact {
    /// Billing email (masked for support).
    pub billing_email: Option<String>,
    /// Postal address on one line (support: the country only).
    pub billing_address: Option<String>,
    /// The subscription's billing contact: name (masked for support).
    pub contact_name: Option<String>,
    /// Their email (masked for support).
    pub contact_email: Option<String>,
    /// Stripe customer id.
    pub stripe_customer_id: Option<String>,
    /// Emails on billing changes.
    pub notify_on_billing_changes: bool,
    /// Emails on system updates.
    pub notify_on_system_updates: bool,
    /// Emails on security alerts.
    pub notify_on_security_alerts: bool,
}

/// Security policies.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SecurityPolicies {
    /// True when the tenant has no `tenant_policies` row: these are the schema's defaults.
    pub defaults: bool,
    /// Minimum password length.
    pub password_min_length: i64,
    /// Passwords need an uppercase letter.
    pub password_require_uppercase: bool,
    /// Passwords need a digit.
    pub password_require_numbers: bool,
    /// Passwords need a symbol.
    pub password_require_symbols: bool,
    /// Session lifetime in hours.
    pub session_timeout_hours: i64,
    /// Failed sign-ins before a lockout.
    pub max_login_attempts: i64,
    /// Two-factor authentication required.
    pub two_factor_required: bool,
    /// Status of new workspaces.
    pub company_default_status: String,
    /// Members may invite others.
    pub company_allow_member_invites: bool,
    /// New members are approved automatically.
    pub company_auto_approve_members: bool,
    /// New members must verify their email.
    pub company_require_email_verification: bool,
}

/// The platform schema's column defaults of `tenant_policies`.
impl Default for SecurityPolicies {
    fn default() -> Self {
        SecurityPolicies {
            defaults: true,
            password_min_length: 8,
            password_require_uppercase: false,
            password_require_numbers: false,
            password_require_symbols: false,
            session_timeout_hours: 8,
            max_login_attempts: 5,
            two_factor_required: false,
            company_default_status: "active".into(),
            company_allow_member_invites: true,
            company_auto_approve_members: false,
            company_require_email_verification: true,
        }
    }
}

/// A tenant's settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TenantSettings {
    /// Tenant id.
    pub tenant_id: String,
    /// Tenant name.
    pub name: String,
    /// Branding.
    pub branding: Branding,
    /// Regional settings.
    pub regional: Regional,
    /// Billing contact.
    pub billing: BillingContact,
    /// Security policies.
    pub security: SecurityPolicies,
    /// When `tenant_config` was last synced (UTC).
    pub as_of: Option<String>,
}

/// One line from a Stripe-style address object (`line1`, `line2`, `postal_code`, `city`,
/// `state`, `country`), or the text as stored when it is not an object.
fn address_line(json: &str, country_only: bool) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let obj = match v.as_object() {
        Some(o) => o,
        None if country_only => return Some("•••".into()),
        None => return v.as_str().map(str::to_string),
    };
    let get = |k: &str| obj.get(k).and_then(|x| x.as_str()).map(str::trim).filter(|s| !s.is_empty());
    if country_only {
        return Some(match get("country") {
            Some(c) => format!("•••, {c}"),
            None => "•••".into(),
        });
    }
    let parts: Vec<&str> =
        ["line1", "line2", "postal_code", "city", "state", "country"].iter().filter_map(|k| get(k)).collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// The settings of `tenant_id`, or `None` when the cache does not know the tenant.
pub fn settings(conn: &Connection, staff: &Staff, tenant_id: &str) -> Result<Option<TenantSettings>, TenantAdminError> {
    require_read(conn, staff, tenant_id)?;
    Ok(read(conn, tenant_id, staff.masked())?)
}

/// The settings without a permission check (callers check: [`settings`], support access).
pub(crate) fn read(conn: &Connection, tenant_id: &str, masked: bool) -> Result<Option<TenantSettings>, CacheError> {
    if !has_table(conn, "tenants")? {
        return Ok(None);
    }
    let name: Option<String> = conn
        .query_row("SELECT COALESCE(name, '') FROM tenants WHERE id = ?1", [tenant_id], |r| r.get(0))
        .optional()
        .map_err(CacheError::sql("reading a tenant"))?;
    let Some(name) = name else { return Ok(None) };
    let mut branding = Branding::default();
    let mut regional = Regional::default();
    let mut billing = BillingContact::default();
    if has_table(conn, "tenant_config")? {
        conn.query_row(
            "SELECT theme_primary_color, theme_logo_url, theme_favicon_url, COALESCE(ui_sidebar_default_collapsed, 0),
                    ui_timezone, ui_date_format, billing_email, billing_address, stripe_customer_id,
                    COALESCE(notify_on_billing_changes, 0), COALESCE(notify_on_system_updates, 0),
                    COALESCE(notify_on_security_alerts, 0)
             FROM tenant_config WHERE tenant_id = ?1",
            [tenant_id],
            |r| {
                branding = Branding {
                    primary_color: r.get(0)?,
                    logo_url: r.get(1)?,
                    favicon_url: r.get(2)?,
                    sidebar_default_collapsed: r.get::<_, i64>(3)? != 0,
                };
                regional = Regional { timezone: r.get(4)?, date_format: r.get(5)? };
                let email: Option<String> = r.get(6)?;
                let address: Option<String> = r.get(7)?;
                billing.billing_email = if masked { email.as_deref().map(masking::email) } else { email };
                billing.billing_address = address.as_deref().and_then(|a| address_line(a, masked));
                billing.stripe_customer_id = r.get(8)?;
                billing.notify_on_billing_changes = r.get::<_, i64>(9)? != 0;
                billing.notify_on_system_updates = r.get::<_, i64>(10)? != 0;
                billing.notify_on_security_alerts = r.get::<_, i64>(11)? != 0;
                Ok(())
            },
        )
        .optional()
        .map_err(CacheError::sql("reading tenant_config"))?;
    }
    let contact: Option<(Option<String>, Option<String>)> = if !has_table(conn, "subscriptions")? {
        None
    } else {
        conn.query_row(
            "SELECT u.name, u.email FROM subscriptions s JOIN users u ON u.id = s.billing_contact_user_id
             WHERE s.tenant_id = ?1 ORDER BY s.created DESC, s.id LIMIT 1",
            [tenant_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(CacheError::sql("reading the billing contact"))?
    };
    if let Some((n, e)) = contact {
        billing.contact_name = if masked { n.as_deref().map(masking::name) } else { n };
        billing.contact_email = if masked { e.as_deref().map(masking::email) } else { e };
    }
    let mut security = SecurityPolicies::default();
    if has_table(conn, "tenant_policies")? {
        let d = SecurityPolicies::default();
        let row = conn
            .query_row(
                "SELECT password_min_length, password_require_uppercase, password_require_numbers,
                        password_require_symbols, session_timeout_hours, max_login_attempts, two_factor_required,
                        company_default_status, company_allow_member_invites, company_auto_approve_members,
                        company_require_email_verification
                 FROM tenant_policies WHERE tenant_id = ?1",
                [tenant_id],
                |r| {
                    let b = |i: usize, dflt: bool| -> rusqlite::Result<bool> {
                        Ok(r.get::<_, Option<i64>>(i)?.map(|v| v != 0).unwrap_or(dflt))
                    };
                    Ok(SecurityPolicies {
                        defaults: false,
                        password_min_length: r.get::<_, Option<i64>>(0)?.unwrap_or(d.password_min_length),
                        password_require_uppercase: b(1, d.password_require_uppercase)?,
                        password_require_numbers: b(2, d.password_require_numbers)?,
                        password_require_symbols: b(3, d.password_require_symbols)?,
                        session_timeout_hours: r.get::<_, Option<i64>>(4)?.unwrap_or(d.session_timeout_hours),
                        max_login_attempts: r.get::<_, Option<i64>>(5)?.unwrap_or(d.max_login_attempts),
                        two_factor_required: b(6, d.two_factor_required)?,
                        company_default_status: r
                            .get::<_, Option<String>>(7)?
                            .unwrap_or_else(|| d.company_default_status.clone()),
                        company_allow_member_invites: b(8, d.company_allow_member_invites)?,
                        company_auto_approve_members: b(9, d.company_auto_approve_members)?,
                        company_require_email_verification: b(10, d.company_require_email_verification)?,
                    })
                },
            )
            .optional()
            .map_err(CacheError::sql("reading tenant_policies"))?;
        if let Some(p) = row {
            security = p;
        }
    }
    let as_of = crate::cache::table_as_of(conn, "tenant_config")?;
    Ok(Some(TenantSettings { tenant_id: tenant_id.to_string(), name, branding, regional, billing, security, as_of }))
}
