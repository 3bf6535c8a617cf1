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
//! every screen; sync before opening for the freshest view.

use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;
use sqlx::Row;

use super::settings::{self, TenantSettings};
use super::{has_table, tenant_uuid, TenantAdminError};
use crate::audit::{self, AuditEntry};
use crate::auth::{masking, permissions, ClientInfo, Staff};
use crate::cache::CacheError;
use crate::central::Central;
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

fn grant_from_pg(r: &sqlx::postgres::PgRow) -> SupportGrant {
    let t = |c: &str| r.get::<DateTime<Utc>, _>(c).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    SupportGrant {
        id: r.get::<uuid::Uuid, _>("id").to_string(),
        tenant_id: r.get::<uuid::Uuid, _>("tenant_id").to_string(),
        staff_email: r.get("staff_email"),
        reason: r.get("reason"),
        ticket: r.get("ticket"),
        opened: t("opened"),
        expires: t("expires"),
        closed: r
            .get::<Option<DateTime<Utc>>, _>("closed")
            .map(|c| c.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        views: i64::from(r.get::<i32, _>("views")),
    }
}

const GRANT_COLUMNS: &str = "id, tenant_id, staff_email, reason, ticket, opened, expires, closed, views";

/// Opens support access to `tenant_id` for `minutes` (default 60, at most 480).
/// Needs `tenants.view_as`; audited as `tenant.support_access.opened`.
pub async fn open(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    tenant_id: &str,
    reason: &str,
    ticket: &str,
    minutes: Option<u32>,
) -> Result<SupportGrant, TenantAdminError> {
    staff.require(permissions::TENANTS_VIEW_AS)?;
    let tenant = tenant_uuid(tenant_id)?;
    let ticket = validate_ticket(ticket)?;
    let reason = validate_reason(reason)?;
    let minutes = minutes.unwrap_or(DEFAULT_MINUTES);
    if !(1..=MAX_MINUTES).contains(&minutes) {
        return Err(TenantAdminError::BadInput(format!(
            "support access lasts 1 to {MAX_MINUTES} minutes (8 hours); {minutes} was asked"
        )));
    }
    let mut tx = central.oltp.begin().await?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1 AND deleted IS NULL)")
        .bind(tenant)
        .fetch_one(&mut *tx)
        .await?;
    if !exists {
        return Err(TenantAdminError::NotFound(format!("no tenant {tenant}")));
    }
    let row = sqlx::query(&format!(
        "INSERT INTO penguin_console.support_access_grants (id, tenant_id, staff_id, staff_email, reason, ticket, expires)
         VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(mins => $7)) RETURNING {GRANT_COLUMNS}"
    ))
    .bind(uuid::Uuid::new_v4())
    .bind(tenant)
    .bind(staff.audit_id())
    .bind(&staff.email)
    .bind(&reason)
    .bind(&ticket)
    .bind(minutes as i32)
    .fetch_one(&mut *tx)
    .await?;
    let grant = grant_from_pg(&row);
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: "tenant.support_access.opened".into(),
            resource_type: "tenant".into(),
            resource_id: tenant.to_string(),
            tenant_id: Some(tenant.to_string()),
            old_values: None,
            new_values: Some(serde_json::json!({
                "grant_id": grant.id, "ticket": grant.ticket, "expires": grant.expires, "minutes": minutes,
            })),
            notes: Some(format!("{} — {}", grant.ticket, grant.reason)),
        },
    )
    .await?;
    tx.commit().await?;
    audit::deliver(central).await?;
    Ok(grant)
}

/// Locks the grant and checks it lets `staff` view now; returns it and central's now.
async fn valid_grant(
    tx: &mut sqlx::PgConnection,
    staff: &Staff,
    grant_id: &str,
) -> Result<(SupportGrant, DateTime<Utc>), TenantAdminError> {
    let id = uuid::Uuid::parse_str(grant_id.trim()).map_err(|_| {
        TenantAdminError::SupportAccess(format!(
            "`{grant_id}` is not a support-access grant; open one with a reason and ticket"
        ))
    })?;
    let row = sqlx::query(&format!(
        "SELECT {GRANT_COLUMNS}, staff_id, now() AS now FROM penguin_console.support_access_grants WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| {
        TenantAdminError::SupportAccess("no such support-access grant; open one with a reason and ticket".into())
    })?;
    let now: DateTime<Utc> = row.get("now");
    let owner: String = row.get("staff_id");
    let expires: DateTime<Utc> = row.get("expires");
    let closed: Option<DateTime<Utc>> = row.get("closed");
    if owner != staff.audit_id() {
        return Err(TenantAdminError::SupportAccess(
            "this support-access grant was opened by someone else; open your own with a reason and ticket".into(),
        ));
    }
    if let Some(c) = closed {
        return Err(TenantAdminError::SupportAccess(format!(
            "support access was closed at {} UTC; open a new one with a reason and ticket",
            c.format("%H:%M")
        )));
    }
    if expires <= now {
        return Err(TenantAdminError::SupportAccess(format!(
            "support access expired at {} UTC; open a new one with a reason and ticket",
            expires.format("%H:%M")
        )));
    }
    Ok((grant_from_pg(&row), now))
}

/// The tenant's data, read-only, under a valid grant of `staff`. Each call is audited as
/// `tenant.support_access.viewed`; refused once the grant expired or was closed.
pub async fn view_as(
    central: &Central,
    conn: &Connection,
    staff: &Staff,
    client: &ClientInfo,
    grant_id: &str,
) -> Result<TenantView, TenantAdminError> {
    staff.require(permissions::TENANTS_VIEW_AS)?;
    let mut tx = central.oltp.begin().await?;
    let (grant, _) = valid_grant(&mut tx, staff, grant_id).await?;
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
    let row = sqlx::query(&format!(
        "UPDATE penguin_console.support_access_grants SET views = views + 1 WHERE id = $1::uuid RETURNING {GRANT_COLUMNS}"
    ))
    .bind(&grant.id)
    .fetch_one(&mut *tx)
    .await?;
    let grant = grant_from_pg(&row);
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: "tenant.support_access.viewed".into(),
            resource_type: "tenant".into(),
            resource_id: grant.tenant_id.clone(),
            tenant_id: Some(grant.tenant_id.clone()),
            old_values: None,
            new_values: Some(serde_json::json!({"grant_id": grant.id, "ticket": grant.ticket, "view": grant.views})),
            notes: Some(format!("{} — {}", grant.ticket, grant.reason)),
        },
    )
    .await?;
    tx.commit().await?;
    audit::deliver(central).await?;
    Ok(TenantView { grant, detail, settings })
}

/// Closes a grant before it expires. Audited as `tenant.support_access.closed`.
pub async fn close(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    grant_id: &str,
) -> Result<SupportGrant, TenantAdminError> {
    staff.require(permissions::TENANTS_VIEW_AS)?;
    let mut tx = central.oltp.begin().await?;
    let (grant, _) = valid_grant(&mut tx, staff, grant_id).await?;
    let row = sqlx::query(&format!(
        "UPDATE penguin_console.support_access_grants SET closed = now() WHERE id = $1::uuid RETURNING {GRANT_COLUMNS}"
    ))
    .bind(&grant.id)
    .fetch_one(&mut *tx)
    .await?;
    let closed = grant_from_pg(&row);
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: "tenant.support_access.closed".into(),
            resource_type: "tenant".into(),
            resource_id: closed.tenant_id.clone(),
            tenant_id: Some(closed.tenant_id.clone()),
            old_values: Some(serde_json::json!({"grant_id": grant.id, "expires": grant.expires})),
            new_values: Some(
                serde_json::json!({"grant_id": closed.id, "closed": closed.closed, "views": closed.views}),
            ),
            notes: Some(closed.ticket.clone()),
        },
    )
    .await?;
    tx.commit().await?;
    audit::deliver(central).await?;
    Ok(closed)
}

/// Grants of one tenant (or all), newest first, from the cache; for `tenants.view_as`
/// or `audit.read`. Shows when each expires and how many views it recorded.
pub fn grants(
    conn: &Connection,
    staff: &Staff,
    tenant_id: Option<&str>,
) -> Result<Vec<SupportGrant>, TenantAdminError> {
    staff.require_any(&[permissions::TENANTS_VIEW_AS, permissions::AUDIT_READ])?;
    if !has_table(conn, "console_support_access_grants")? {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {GRANT_COLUMNS} FROM console_support_access_grants WHERE ?1 IS NULL OR tenant_id = ?1
             ORDER BY opened DESC, id LIMIT 500"
        ))
        .map_err(CacheError::sql("reading support-access grants"))?;
    let rows = stmt
        .query_map([tenant_id], |r| {
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
