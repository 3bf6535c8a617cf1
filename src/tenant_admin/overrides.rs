//! Plan overrides (custom monthly price, custom limits, optional expiry) and billing
//! overrides (comps: free until a date; extended trials: trial until a date), kept in
//! `penguin_console.tenant_overrides`.
//!
//! ## The effective plan
//! Start from the plan of the tenant's current subscription (its list price and the
//! limits the `plans` row carries). An override is *in effect* at time `at` when it
//! started at or before `at`, has not expired (`expires` > `at`, or no expiry for a plan
//! override) and was not revoked before `at`. Of each kind, the newest override in effect
//! applies: a plan override replaces the price and each limit it sets (limits it leaves
//! empty keep the plan's); a comp makes the price 0; a trial sets the trial end. An
//! expired override stops applying by itself; nothing has to run at expiry.
//!
//! Overrides change what the console shows and what the platform's billing logic should
//! enforce ("checked before billing", per the route spec); they do not touch Stripe.
//! Prices are integer cents per month. Adding or revoking needs `tenants.manage` and is
//! audited with the effect before and after.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension};

use super::{has_table, reason, require_read, tenant_uuid, TenantAdminError};
use crate::audit::after_action;
use crate::auth::{permissions, Session, Staff};
use crate::cache::CacheError;
use crate::central::DbKind;

/// What an override changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum OverrideKind {
    /// Custom price and/or limits.
    Plan,
    /// Free service until the expiry.
    Comp,
    /// Trial extended until the expiry.
    Trial,
}

impl OverrideKind {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            OverrideKind::Plan => "plan",
            OverrideKind::Comp => "comp",
            OverrideKind::Trial => "trial",
        }
    }

    /// Parses `plan` / `comp` / `trial`.
    pub fn parse(s: &str) -> Option<OverrideKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "plan" => Some(OverrideKind::Plan),
            "comp" => Some(OverrideKind::Comp),
            "trial" => Some(OverrideKind::Trial),
            _ => None,
        }
    }
}

/// Plan limits, as the platform's `plans` table carries them (`None`: unlimited on a
/// plan, or "the plan's value" on an override).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PlanLimits {
    /// Users per tenant.
    pub max_users: Option<i64>,
    /// Sending domains.
    pub max_domains: Option<i64>,
    /// Campaigns per month.
    pub max_campaigns_per_month: Option<i64>,
    /// Email accounts (mailboxes).
    pub max_email_accounts: Option<i64>,
    /// Emails per month.
    pub max_emails_per_month: Option<i64>,
    /// Contacts.
    pub max_contacts: Option<i64>,
    /// Storage in GB.
    pub max_storage_gb: Option<i64>,
}

/// The limit columns, in the order of [`PlanLimits`].
const LIMIT_COLUMNS: [&str; 7] = [
    "max_users",
    "max_domains",
    "max_campaigns_per_month",
    "max_email_accounts",
    "max_emails_per_month",
    "max_contacts",
    "max_storage_gb",
];

impl PlanLimits {
    fn as_array(&self) -> [Option<i64>; 7] {
        [
            self.max_users,
            self.max_domains,
            self.max_campaigns_per_month,
            self.max_email_accounts,
            self.max_emails_per_month,
            self.max_contacts,
            self.max_storage_gb,
        ]
    }

    fn from_array(a: [Option<i64>; 7]) -> PlanLimits {
        PlanLimits {
            max_users: a[0],
            max_domains: a[1],
            max_campaigns_per_month: a[2],
            max_email_accounts: a[3],
            max_emails_per_month: a[4],
            max_contacts: a[5],
            max_storage_gb: a[6],
        }
    }

    /// `self` with every limit `over` sets replaced.
    fn overlay(&self, over: &PlanLimits) -> PlanLimits {
        let (a, b) = (self.as_array(), over.as_array());
        PlanLimits::from_array(std::array::from_fn(|i| b[i].or(a[i])))
    }
}

/// One override.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Override {
    /// Id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Kind.
    pub kind: OverrideKind,
    /// Custom monthly price in cents (plan overrides).
    pub price_monthly_cents: Option<i64>,
    /// Custom limits (plan overrides).
    pub limits: PlanLimits,
    /// In effect from (UTC, RFC 3339).
    pub starts: String,
    /// Until (UTC, RFC 3339); required for comps and trials.
    pub expires: Option<String>,
    /// Why (a contract, a partnership, a POC).
    pub reason: String,
    /// Who added it (staff email).
    pub created_by: String,
    /// When.
    pub created: String,
    /// When it was revoked, if it was.
    pub revoked: Option<String>,
}

fn ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

impl Override {
    /// Whether it applies at `at`.
    pub fn in_effect(&self, at: DateTime<Utc>) -> bool {
        let started = ts(&self.starts).is_some_and(|s| s <= at);
        let not_expired = self.expires.as_deref().map(|e| ts(e).is_some_and(|e| e > at)).unwrap_or(true);
        let not_revoked = self.revoked.as_deref().map(|r| ts(r).is_some_and(|r| r > at)).unwrap_or(true);
        started && not_expired && not_revoked
    }
}

/// The plan a tenant subscribes to, before overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BasePlan {
    /// `plans.id`.
    pub plan_id: Option<String>,
    /// Plan name.
    pub name: Option<String>,
    /// List price per month, cents.
    pub price_monthly_cents: Option<i64>,
    /// The plan's limits.
    pub limits: PlanLimits,
}

/// The plan as it applies at one moment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EffectivePlan {
    /// Tenant.
    pub tenant_id: String,
    /// The subscribed plan, before overrides.
    pub base: BasePlan,
    /// Monthly price in cents after overrides (0 while comped).
    pub price_monthly_cents: Option<i64>,
    /// Limits after overrides.
    pub limits: PlanLimits,
    /// Comped until (UTC, RFC 3339).
    pub comped_until: Option<String>,
    /// Trial until (UTC, RFC 3339).
    pub trial_until: Option<String>,
    /// The overrides that apply, newest first.
    pub applied: Vec<Override>,
    /// The moment this was computed for (UTC, RFC 3339).
    pub at: String,
}

/// Applies the overrides in effect at `at` to `base` (see the module docs).
pub fn effective(tenant_id: &str, base: &BasePlan, overrides: &[Override], at: DateTime<Utc>) -> EffectivePlan {
    let newest = |kind: OverrideKind| {
        overrides.iter().filter(|o| o.kind == kind && o.in_effect(at)).max_by_key(|o| (ts(&o.created), o.id.clone()))
    };
    let plan = newest(OverrideKind::Plan);
    let comp = newest(OverrideKind::Comp);
    let trial = newest(OverrideKind::Trial);
    let mut price = base.price_monthly_cents;
    let mut limits = base.limits.clone();
    if let Some(p) = plan {
        price = p.price_monthly_cents.or(price);
        limits = limits.overlay(&p.limits);
    }
    if comp.is_some() {
        price = Some(0);
    }
    let mut applied: Vec<Override> = [plan, comp, trial].into_iter().flatten().cloned().collect();
    applied.sort_by(|a, b| b.created.cmp(&a.created));
    EffectivePlan {
        tenant_id: tenant_id.to_string(),
        base: base.clone(),
        price_monthly_cents: price,
        limits,
        comped_until: comp.and_then(|c| c.expires.clone()),
        trial_until: trial.and_then(|t| t.expires.clone()),
        applied,
        at: at.to_rfc3339(),
    }
}

const OVERRIDE_COLUMNS: &str = "id, tenant_id, kind, price_monthly, max_users, max_domains, max_campaigns_per_month,
     max_email_accounts, max_emails_per_month, max_contacts, max_storage_gb, starts, expires, reason, created_by_email,
     created, revoked";

fn override_from_cache(r: &rusqlite::Row<'_>) -> rusqlite::Result<Override> {
    let kind: String = r.get(2)?;
    Ok(Override {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        kind: OverrideKind::parse(&kind).unwrap_or(OverrideKind::Plan),
        price_monthly_cents: r.get(3)?,
        limits: PlanLimits::from_array([r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?]),
        starts: r.get(11)?,
        expires: r.get(12)?,
        // Withheld (NULL) in the cache of a role without pii.view.
        reason: r.get::<_, Option<String>>(13)?.unwrap_or_default(),
        created_by: r.get::<_, Option<String>>(14)?.unwrap_or_default(),
        created: r.get(15)?,
        revoked: r.get(16)?,
    })
}

/// Every override of a tenant (the history), newest first, from the cache.
pub fn list(conn: &Connection, staff: &Staff, tenant_id: &str) -> Result<Vec<Override>, TenantAdminError> {
    require_read(conn, staff, tenant_id)?;
    if !has_table(conn, "console_tenant_overrides")? {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {OVERRIDE_COLUMNS} FROM console_tenant_overrides WHERE tenant_id = ?1 ORDER BY created DESC, id"
        ))
        .map_err(CacheError::sql("reading overrides"))?;
    let rows = stmt
        .query_map([tenant_id], override_from_cache)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(CacheError::sql("reading overrides"))?;
    Ok(rows)
}

/// The tenant's effective plan at `at` (usually now), from the cache.
pub fn effective_plan(
    conn: &Connection,
    staff: &Staff,
    tenant_id: &str,
    at: DateTime<Utc>,
) -> Result<EffectivePlan, TenantAdminError> {
    let overrides = list(conn, staff, tenant_id)?;
    if !has_table(conn, "subscriptions")? || !has_table(conn, "plans")? {
        return Ok(effective(tenant_id, &BasePlan::default(), &overrides, at));
    }
    let base = conn
        .query_row(
            &format!(
                "SELECT p.id, p.name, p.price_monthly, {} FROM subscriptions s JOIN plans p ON p.id = s.plan_id
                 WHERE s.tenant_id = ?1 ORDER BY s.created DESC, s.id LIMIT 1",
                LIMIT_COLUMNS.map(|c| format!("p.{c}")).join(", ")
            ),
            [tenant_id],
            |r| {
                Ok(BasePlan {
                    plan_id: r.get(0)?,
                    name: r.get(1)?,
                    price_monthly_cents: r.get(2)?,
                    limits: PlanLimits::from_array([
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                        r.get(9)?,
                    ]),
                })
            },
        )
        .optional()
        .map_err(CacheError::sql("reading the tenant's plan"))?
        .unwrap_or_default();
    Ok(effective(tenant_id, &base, &overrides, at))
}

/// A new override.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OverrideInput {
    /// Kind.
    pub kind: OverrideKind,
    /// Custom monthly price in cents (plan overrides only).
    pub price_monthly_cents: Option<i64>,
    /// Custom limits (plan overrides only).
    pub limits: PlanLimits,
    /// Expiry: `YYYY-MM-DD` (the end of that day, UTC) or RFC 3339. Required for comps
    /// and trials; optional for plan overrides.
    pub expires: Option<String>,
    /// Why; recorded with the override and in the audit log.
    pub reason: String,
}

/// Parses an expiry: a day means up to the end of that day (UTC).
pub fn parse_expiry(value: &str) -> Result<DateTime<Utc>, TenantAdminError> {
    let v = value.trim();
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        if let Some(next) = d.succ_opt() {
            return Ok(next.and_time(chrono::NaiveTime::MIN).and_utc());
        }
    }
    DateTime::parse_from_rfc3339(v).map(|t| t.with_timezone(&Utc)).map_err(|_| {
        TenantAdminError::BadInput(format!("`{value}` is not a date (YYYY-MM-DD) or a date-time (RFC 3339)"))
    })
}

fn from_json(v: serde_json::Value) -> Result<Override, TenantAdminError> {
    serde_json::from_value(v)
        .map_err(|e| TenantAdminError::Database(sqlx::Error::Protocol(format!("unreadable override: {e}"))))
}

/// Adds an override through `tenant_admin_add_override`, which re-checks these rules
/// and writes the effect before and after in the audit entry. Needs `tenants.manage`;
/// audited as `tenant.override.added`.
pub async fn add(session: &Session, tenant_id: &str, input: &OverrideInput) -> Result<Override, TenantAdminError> {
    session.staff().require(permissions::TENANTS_MANAGE)?;
    let tenant = tenant_uuid(tenant_id)?;
    let why = reason(&input.reason)?;
    let expires = input.expires.as_deref().map(parse_expiry).transpose()?;
    let limits = input.limits.as_array();
    let price = input.price_monthly_cents;
    match input.kind {
        OverrideKind::Plan => {
            if price.is_none() && limits.iter().all(Option::is_none) {
                return Err(TenantAdminError::BadInput(
                    "a plan override needs a custom price or at least one custom limit".into(),
                ));
            }
        }
        OverrideKind::Comp | OverrideKind::Trial => {
            if expires.is_none() {
                return Err(TenantAdminError::BadInput(format!(
                    "a {} needs an end date (YYYY-MM-DD)",
                    if input.kind == OverrideKind::Comp { "comp" } else { "trial extension" }
                )));
            }
            if price.is_some() || limits.iter().any(Option::is_some) {
                return Err(TenantAdminError::BadInput(
                    "comps and trials carry no price or limits; add a plan override for those".into(),
                ));
            }
        }
    }
    if price.is_some_and(|p| !(0..=i64::from(i32::MAX)).contains(&p))
        || limits.iter().flatten().any(|l| !(0..=i64::from(i32::MAX)).contains(l))
    {
        return Err(TenantAdminError::BadInput("prices and limits must be between 0 and 2147483647".into()));
    }
    // The end date is checked against central's clock by the function.
    let mut tx = session.begin(DbKind::Oltp).await?;
    let created: serde_json::Value =
        sqlx::query_scalar("SELECT penguin_console_api.tenant_admin_add_override($1, $2, $3, $4, $5, $6)")
            .bind(tenant)
            .bind(input.kind.as_str())
            .bind(price)
            .bind(limits.to_vec())
            .bind(expires)
            .bind(&why)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    after_action(session).await;
    from_json(created)
}

/// Revokes an override from now on through `tenant_admin_revoke_override`. Needs
/// `tenants.manage`; audited as `tenant.override.revoked`.
pub async fn revoke(session: &Session, override_id: &str, why: &str) -> Result<Override, TenantAdminError> {
    session.staff().require(permissions::TENANTS_MANAGE)?;
    let id = uuid::Uuid::parse_str(override_id.trim())
        .map_err(|_| TenantAdminError::BadInput(format!("`{override_id}` is not a valid override id")))?;
    let why = reason(why)?;
    let mut tx = session.begin(DbKind::Oltp).await?;
    let revoked: serde_json::Value =
        sqlx::query_scalar("SELECT penguin_console_api.tenant_admin_revoke_override($1, $2)")
            .bind(id)
            .bind(&why)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    after_action(session).await;
    from_json(revoked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        ts(s).unwrap_or_default()
    }

    fn ov(kind: OverrideKind, price: Option<i64>, starts: &str, expires: Option<&str>, created: &str) -> Override {
        Override {
            id: created.into(),
            tenant_id: "t".into(),
            kind,
            price_monthly_cents: price,
            limits: PlanLimits { max_domains: price.map(|_| 20), ..PlanLimits::default() },
            starts: starts.into(),
            expires: expires.map(str::to_string),
            reason: "r".into(),
            created_by: "s".into(),
            created: created.into(),
            revoked: None,
        }
    }

    #[test]
    fn the_newest_override_in_effect_wins_and_expired_ones_stop() {
        let base = BasePlan {
            plan_id: Some("p".into()),
            name: Some("Pro".into()),
            price_monthly_cents: Some(9900),
            limits: PlanLimits { max_domains: Some(5), max_users: Some(3), ..PlanLimits::default() },
        };
        let a = ov(
            OverrideKind::Plan,
            Some(4900),
            "2026-01-01T00:00:00Z",
            Some("2026-02-01T00:00:00Z"),
            "2026-01-01T00:00:00Z",
        );
        let b = ov(OverrideKind::Plan, Some(7900), "2026-01-10T00:00:00Z", None, "2026-01-10T00:00:00Z");
        let comp =
            ov(OverrideKind::Comp, None, "2026-03-01T00:00:00Z", Some("2026-03-08T00:00:00Z"), "2026-03-01T00:00:00Z");
        let all = [a, b, comp];
        // Before anything: the list price and the plan's limits.
        let e = effective("t", &base, &all, at("2025-12-31T23:59:59Z"));
        assert_eq!((e.price_monthly_cents, e.limits.max_domains), (Some(9900), Some(5)));
        // Only a: 49.00, 20 domains, users still the plan's 3.
        let e = effective("t", &base, &all, at("2026-01-05T00:00:00Z"));
        assert_eq!((e.price_monthly_cents, e.limits.max_domains, e.limits.max_users), (Some(4900), Some(20), Some(3)));
        // a and b both in effect: b is newer.
        assert_eq!(effective("t", &base, &all, at("2026-01-15T00:00:00Z")).price_monthly_cents, Some(7900));
        // The expiry instant itself is no longer covered.
        assert_eq!(effective("t", &base, &all[..1], at("2026-02-01T00:00:00Z")).price_monthly_cents, Some(9900));
        // Comped for a week, then b again.
        let e = effective("t", &base, &all, at("2026-03-02T00:00:00Z"));
        assert_eq!((e.price_monthly_cents, e.comped_until.as_deref()), (Some(0), Some("2026-03-08T00:00:00Z")));
        assert_eq!(effective("t", &base, &all, at("2026-03-08T00:00:00Z")).price_monthly_cents, Some(7900));
        // Revoked: stops from the revocation on.
        let mut revoked = all.clone();
        revoked[1].revoked = Some("2026-01-20T00:00:00Z".into());
        assert_eq!(effective("t", &base, &revoked, at("2026-01-19T00:00:00Z")).price_monthly_cents, Some(7900));
        assert_eq!(effective("t", &base, &revoked, at("2026-01-21T00:00:00Z")).price_monthly_cents, Some(4900));
    }

    #[test]
    fn expiry_dates_cover_the_whole_day() {
        assert_eq!(parse_expiry("2026-12-31").ok(), Some(at("2027-01-01T00:00:00Z")));
        assert_eq!(parse_expiry("2026-12-31T18:00:00+02:00").ok(), Some(at("2026-12-31T16:00:00Z")));
        assert!(parse_expiry("next week").is_err());
    }
}
