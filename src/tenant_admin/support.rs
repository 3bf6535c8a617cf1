//! Support access, "view as tenant": a staff member with `tenants.view_as` opens a grant
//! for one tenant with a reason and a ticket reference; while it is valid,
//! [`view_as`] returns that tenant's data read-only (the same reads as the tenant detail
//! screen, [`crate::tenants::detail`], and its settings), masked as the viewer's role
//! requires. Opening, each view and closing are audited; the grant expires by itself.
//!
//! Rules:
//! - reason: at least [`MIN_REASON_CHARS`] characters (a sentence, not "debug");
//! - ticket: a tracker key such as `ABC-123` (2–10 letters or digits starting with a
//!   letter, a dash, digits) or a number such as `#123`;
//! - duration: [`DEFAULT_MINUTES`] unless given, at most [`MAX_MINUTES`] (8 h);
//! - a grant is personal: only the staff member who opened it can view under it.
//!
//! Validity is checked against central's clock inside the transaction that records the
//! view, so a view is either audited or refused. The cache supplies the data, as for
//! every screen: without a grant, support's cache holds no tenant's members,
//! workspaces, sessions or settings (the role-scoped views show them only for the
//! tenants of the staff member's open grants), so sync after opening a grant.

use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;

use super::settings::{self, TenantSettings};
use super::{has_table, tenant_uuid, TenantAdminError};
use crate::audit::after_action;
use crate::auth::{masking, permissions, Session, Staff};
use crate::cache::CacheError;
use crate::central::DbKind;
use crate::tenants::{self, TenantDetail};

/// Default length of a grant.
pub const DEFAULT_MINUTES: u32 = 60;
/// Longest grant.
pub const MAX_MINUTES: u32 = 8 * 60;
/// Shortest acceptable reason.
pub const MIN_REASON_CHARS: usize = 10;

/// A support-access grant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SupportGrant {
    /// Grant id (pass it to [`view_as`]).
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Who opened it.
    pub staff_email: String,
    /// Why.
    pub reason: String,
    /// Ticket reference, normalised (`ABC-123`, `#123`).
    pub ticket: String,
    /// Opened (UTC, RFC 3339).
    pub opened: String,
    /// Expires (UTC, RFC 3339).
    pub expires: String,
    /// Closed early, if it was.
    pub closed: Option<String>,
    /// Views recorded under it.
    pub views: i64,
}

/// A tenant's data, read-only, under a grant.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TenantView {
    /// The grant, with this view counted.
    pub grant: SupportGrant,
    /// The tenant detail (members, workspaces, subscription, flags).
    pub detail: TenantDetail,
    /// Its settings.
    pub settings: Option<TenantSettings>,
}

/// Normalises a ticket reference or says what is accepted.
pub fn validate_ticket(value: &str) -> Result<String, TenantAdminError> {
    let t = value.trim().to_ascii_uppercase();
    let digits = |s: &str| !s.is_empty() && s.len() <= 12 && s.chars().all(|c| c.is_ascii_digit());
    let ok = if let Some(n) = t.strip_prefix('#') {
        digits(n)
    } else if let Some((key, n)) = t.split_once('-') {
        (2..=10).contains(&key.len())
            && key.starts_with(|c: char| c.is_ascii_alphabetic())
            && key.chars().all(|c| c.is_ascii_alphanumeric())
            && digits(n)
    } else {
        false
    };
    if ok {
        Ok(t)
    } else {
        Err(TenantAdminError::BadInput(format!(
            "`{}` is not a ticket reference; give the ticket as PROJECT-123 or #123",
            value.trim()
        )))
    }
}

fn validate_reason(value: &str) -> Result<String, TenantAdminError> {
    let r = value.trim();
    if r.chars().count() < MIN_REASON_CHARS {
        return Err(TenantAdminError::BadInput(format!(
            "give a reason of at least {MIN_REASON_CHARS} characters (what the customer asked, what you will check)"
        )));
    }
    Ok(r.chars().take(1000).collect())
}

const GRANT_COLUMNS: &str = "id, tenant_id, staff_email, reason, ticket, opened, expires, closed, views";

fn grant_from_json(v: serde_json::Value) -> Result<SupportGrant, TenantAdminError> {
    serde_json::from_value(v)
        .map_err(|e| TenantAdminError::Database(sqlx::Error::Protocol(format!("unreadable grant: {e}"))))
}

fn grant_uuid(grant_id: &str) -> Result<uuid::Uuid, TenantAdminError> {
    uuid::Uuid::parse_str(grant_id.trim()).map_err(|_| {
        TenantAdminError::SupportAccess(format!(
            "`{grant_id}` is not a support-access grant; open one with a reason and ticket"
        ))
    })
}

/// Opens support access to `tenant_id` for `minutes` (default 60, at most 480) through
/// `tenant_admin_open_support`. Needs `tenants.view_as`; audited as
/// `tenant.support_access.opened`. While the grant is open, the tenant's details
/// (masked) are in the staff member's scope: the next sync brings them to the cache.
pub async fn open(
    session: &Session,
    tenant_id: &str,
    reason: &str,
    ticket: &str,
    minutes: Option<u32>,
) -> Result<SupportGrant, TenantAdminError> {
    session.staff().require(permissions::TENANTS_VIEW_AS)?;
    let tenant = tenant_uuid(tenant_id)?;
    let ticket = validate_ticket(ticket)?;
    let reason = validate_reason(reason)?;
    let minutes = minutes.unwrap_or(DEFAULT_MINUTES);
    if !(1..=MAX_MINUTES).contains(&minutes) {
        return Err(TenantAdminError::BadInput(format!(
            "support access lasts 1 to {MAX_MINUTES} minutes (8 hours); {minutes} was asked"
        )));
    }
    let mut tx = session.begin(DbKind::Oltp).await?;
    let grant: serde_json::Value =
        sqlx::query_scalar("SELECT penguin_console_api.tenant_admin_open_support($1, $2, $3, $4)")
            .bind(tenant)
            .bind(&reason)
            .bind(&ticket)
            .bind(minutes as i32)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    after_action(session).await;
    grant_from_json(grant)
}

/// The tenant's data, read-only, under a valid grant of the session's staff member:
/// `tenant_admin_support_view` checks the grant (theirs, open, not expired) and records
/// the view (audited as `tenant.support_access.viewed`); the data comes from the cache,
/// which holds the tenant's details (masked) while the grant is open. A view is either
/// recorded or refused: when the cache lacks the tenant, nothing is recorded.
pub async fn view_as(session: &Session, conn: &Connection, grant_id: &str) -> Result<TenantView, TenantAdminError> {
    let staff = session.staff();
    staff.require(permissions::TENANTS_VIEW_AS)?;
    let id = grant_uuid(grant_id)?;
    let mut tx = session.begin(DbKind::Oltp).await?;
    let grant: serde_json::Value = sqlx::query_scalar("SELECT penguin_console_api.tenant_admin_support_view($1)")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    let grant = grant_from_json(grant)?;
    let masked = staff.masked();
    let mut detail = tenants::detail(conn, &grant.tenant_id)?.ok_or_else(|| {
        TenantAdminError::NotFound(format!("tenant {} is not in the local cache yet; sync first", grant.tenant_id))
    })?;
    if masked {
        for m in &mut detail.members {
            m.name = m.name.as_deref().map(masking::name);
            m.email = m.email.as_deref().map(masking::email);
        }
    }
    let settings = settings::read(conn, &grant.tenant_id, masked)?;
    tx.commit().await?;
    after_action(session).await;
    Ok(TenantView { grant, detail, settings })
}

/// Closes a grant before it expires through `tenant_admin_close_support`. Audited as
/// `tenant.support_access.closed`; the tenant's details leave the cache at the next sync.
pub async fn close(session: &Session, grant_id: &str) -> Result<SupportGrant, TenantAdminError> {
    session.staff().require(permissions::TENANTS_VIEW_AS)?;
    let id = grant_uuid(grant_id)?;
    let mut tx = session.begin(DbKind::Oltp).await?;
    let grant: serde_json::Value = sqlx::query_scalar("SELECT penguin_console_api.tenant_admin_close_support($1)")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    after_action(session).await;
    grant_from_json(grant)
}

/// Grants of one tenant (or all), newest first, from the cache; for `tenants.view_as`
/// or `audit.read`. Shows when each expires and how many views it recorded. (The cache
/// of a role without `audit.read` holds its own grants only.)
pub fn grants(
    conn: &Connection,
    staff: &Staff,
    tenant_id: Option<&str>,
) -> Result<Vec<SupportGrant>, TenantAdminError> {
    staff.require_any(&[permissions::TENANTS_VIEW_AS, permissions::AUDIT_READ])?;
    read_grants(conn, tenant_id, None)
}

/// The viewer's own grants (of one tenant, or all), newest first, from the cache: by
/// staff id, as the database recorded who opened each (the e-mail may be masked).
pub fn own_grants(
    conn: &Connection,
    staff: &Staff,
    tenant_id: Option<&str>,
) -> Result<Vec<SupportGrant>, TenantAdminError> {
    staff.require_any(&[permissions::TENANTS_VIEW_AS, permissions::AUDIT_READ])?;
    read_grants(conn, tenant_id, Some(&staff.audit_id()))
}

fn read_grants(
    conn: &Connection,
    tenant_id: Option<&str>,
    staff_id: Option<&str>,
) -> Result<Vec<SupportGrant>, TenantAdminError> {
    if !has_table(conn, "console_support_access_grants")? {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {GRANT_COLUMNS} FROM console_support_access_grants
             WHERE (?1 IS NULL OR tenant_id = ?1) AND (?2 IS NULL OR staff_id = ?2)
             ORDER BY opened DESC, id LIMIT 500"
        ))
        .map_err(CacheError::sql("reading support-access grants"))?;
    let rows = stmt
        .query_map([tenant_id, staff_id], |r| {
            Ok(SupportGrant {
                id: r.get(0)?,
                tenant_id: r.get(1)?,
                staff_email: r.get(2)?,
                reason: r.get(3)?,
                ticket: r.get(4)?,
                opened: r.get(5)?,
                expires: r.get(6)?,
                closed: r.get(7)?,
                views: r.get(8)?,
            })
        })
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(CacheError::sql("reading support-access grants"))?;
    Ok(rows)
}

/// How long is left on a grant at `now`, in whole minutes (0 once expired).
pub fn minutes_left(grant: &SupportGrant, now: DateTime<Utc>) -> i64 {
    DateTime::parse_from_rfc3339(&grant.expires)
        .map(|e| (e.with_timezone(&Utc) - now).max(Duration::zero()).num_minutes())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets() {
        assert_eq!(validate_ticket(" abc-123 ").unwrap_or_default(), "ABC-123");
        assert_eq!(validate_ticket("#42").unwrap_or_default(), "#42");
        assert_eq!(validate_ticket("SUP2-7").unwrap_or_default(), "SUP2-7");
        for bad in ["", "123", "#", "#12a", "A-1", "ABC-", "-123", "ABC 123", "2AB-5", "ABCDEFGHIJK-1"] {
            assert!(validate_ticket(bad).is_err(), "{bad:?}");
        }
    }
}
