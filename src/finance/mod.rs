//! Finance over the local cache: payments, revenue (MRR) and reconciliation.
//!
//! Everything here reads the `stripe_*` tables written by [`crate::stripe::sync`] and
//! the platform tables written by [`crate::sync`], joined to tenants through
//! `tenant_config.stripe_customer_id`. Every entry point takes the signed-in
//! [`Staff`] and checks its permission first; support (no `pii.view`) gets customer
//! emails and names masked, exports included. Money is integer minor units plus a
//! currency code everywhere; [`major_units`] formats it for people and CSV.

pub mod actions;
pub mod bench;
pub mod billing;
pub mod invoicing;
pub mod payments;
pub mod reconcile;
pub mod revenue;
pub mod webhooks;

use std::collections::{HashMap, HashSet};

use rusqlite::Connection;

use crate::auth::{AuthError, Staff};
use crate::cache::CacheError;

/// Finance errors.
#[derive(Debug, thiserror::Error)]
pub enum FinanceError {
    /// The viewer's role does not allow it.
    #[error(transparent)]
    Forbidden(#[from] AuthError),
    /// The cache failed.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// Stripe has not been synced into this cache yet.
    #[error(
        "this cache holds no Stripe data yet; run `penguin-admin finance sync` (or sync Stripe from the app) first"
    )]
    NotSynced,
    /// A filter or argument is malformed.
    #[error("{0}")]
    BadInput(String),
    /// Writing an export failed.
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
    /// Writing CSV failed.
    #[error("writing the export: {0}")]
    Csv(#[from] csv::Error),
    /// Cancelled by the caller.
    #[error("cancelled")]
    Cancelled,
}

/// Currencies without minor units (Stripe's list of zero-decimal currencies).
const ZERO_DECIMAL: &[&str] =
    &["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"];
/// Currencies with three decimals.
const THREE_DECIMAL: &[&str] = &["bhd", "jod", "kwd", "omr", "tnd"];

/// Decimal places of a currency's minor unit.
pub fn exponent(currency: &str) -> u32 {
    let c = currency.to_ascii_lowercase();
    if ZERO_DECIMAL.contains(&c.as_str()) {
        0
    } else if THREE_DECIMAL.contains(&c.as_str()) {
        3
    } else {
        2
    }
}

/// `12345, "usd"` → `"123.45"`; `-500, "usd"` → `"-5.00"`; `1200, "jpy"` → `"1200"`.
/// Integer arithmetic only: no float ever touches money.
pub fn major_units(minor: i64, currency: &str) -> String {
    let exp = exponent(currency);
    if exp == 0 {
        return minor.to_string();
    }
    let unit = 10i64.pow(exp);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:0width$}", abs / unit as u64, abs % unit as u64, width = exp as usize)
}

/// Unix seconds → `2026-11-30T13:45:00Z`.
pub fn iso(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0).map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_default()
}

/// Parses `YYYY-MM-DD` (midnight UTC) or an RFC 3339 time into Unix seconds.
pub fn parse_time(s: &str) -> Result<i64, FinanceError> {
    let s = s.trim();
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp()).unwrap_or_default());
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp())
        .map_err(|_| FinanceError::BadInput(format!("`{s}` is not a date (YYYY-MM-DD) or an RFC 3339 time")))
}

/// The tenant a Stripe customer belongs to.
#[derive(Debug, Clone)]
pub(crate) struct TenantLink {
    pub tenant_id: String,
    pub name: Option<String>,
}

/// Stripe customer id → tenant, from the platform's `tenant_config` (empty when the
/// platform tables are not cached yet). Small (one row per tenant), read per call.
pub(crate) fn tenant_links(conn: &Connection) -> Result<HashMap<String, TenantLink>, CacheError> {
    let have = |t: &str| -> Result<bool, CacheError> {
        conn.query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = ?1)", [t], |r| r.get(0))
            .map_err(CacheError::sql("reading the schema"))
    };
    if !have("tenant_config")? {
        return Ok(HashMap::new());
    }
    let name = if have("tenants")? { "(SELECT t.name FROM tenants t WHERE t.id = c.tenant_id)" } else { "NULL" };
    let mut st = conn
        .prepare(&format!(
            "SELECT c.stripe_customer_id, c.tenant_id, {name} FROM tenant_config c WHERE c.stripe_customer_id IS NOT NULL"
        ))
        .map_err(CacheError::sql("reading tenant links"))?;
    let rows = st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, TenantLink { tenant_id: r.get(1)?, name: r.get(2)? })))
        .map_err(CacheError::sql("reading tenant links"))?;
    rows.collect::<Result<_, _>>().map_err(CacheError::sql("reading tenant links"))
}

/// Customers of sandbox tenants, for viewers limited to sandboxes.
pub(crate) fn sandbox_customers(
    conn: &Connection,
    links: &HashMap<String, TenantLink>,
) -> Result<HashSet<String>, CacheError> {
    let has_overview: bool = conn
        .query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'tenant_overview')", [], |r| r.get(0))
        .map_err(CacheError::sql("reading the schema"))?;
    let sandbox = if has_overview { crate::tenants::sandbox_ids(conn)? } else { HashSet::new() };
    Ok(links.iter().filter(|(_, l)| sandbox.contains(&l.tenant_id)).map(|(c, _)| c.clone()).collect())
}

/// Refuses unless Stripe data has been synced into this cache.
pub(crate) fn require_synced(conn: &Connection) -> Result<String, FinanceError> {
    crate::stripe::sync::as_of(conn)?.ok_or(FinanceError::NotSynced)
}

/// Masks an email for viewers without `pii.view`.
pub(crate) fn email_for(staff: &Staff, email: Option<String>) -> Option<String> {
    if staff.masked() {
        email.map(|e| crate::auth::masking::email(&e))
    } else {
        email
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_minor_units_without_floats() {
        assert_eq!(major_units(12345, "usd"), "123.45");
        assert_eq!(major_units(5, "EUR"), "0.05");
        assert_eq!(major_units(-500, "usd"), "-5.00");
        assert_eq!(major_units(1200, "jpy"), "1200");
        assert_eq!(major_units(1234, "kwd"), "1.234");
        assert_eq!(major_units(i64::MIN, "usd"), "-92233720368547758.08");
    }

    #[test]
    fn parses_dates_and_times() {
        assert_eq!(parse_time("2026-11-01").ok(), Some(1_793_491_200));
        assert_eq!(parse_time("2026-11-01T01:00:00Z").ok(), Some(1_793_494_800));
        assert!(parse_time("yesterday").is_err());
    }
}
