//! Reading the audit log from the cache: the Audit screen and its exports.

use std::io::Write;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params_from_iter, Connection};

use super::AuditError;
use crate::auth::{masking, permissions, Staff};
use crate::cache::CacheError;

/// Filters of the Audit screen. Every field is optional.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AuditFilter {
    /// Who: part of the staff member's email or id.
    pub actor: Option<String>,
    /// Action prefix, e.g. `tenant.member`.
    pub action: Option<String>,
    /// Target: part of the resource type, resource id or tenant id.
    pub target: Option<String>,
    /// From this time (RFC 3339) or date (YYYY-MM-DD), inclusive.
    pub from: Option<String>,
    /// Up to this time, or to the end of this date.
    pub to: Option<String>,
    /// Free text anywhere in the entry.
    pub text: Option<String>,
    /// Page size (default 100, at most 1,000).
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u32>,
}

/// One entry as shown.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AuditRow {
    /// `admin_audit_log.id`.
    pub id: i64,
    /// When (UTC).
    pub at: Option<String>,
    /// `admin_user_id`.
    pub actor_id: String,
    /// The actor's email, when the actor is a platform user.
    pub actor_email: Option<String>,
    /// Action.
    pub action: String,
    /// Resource type.
    pub resource_type: String,
    /// Resource id.
    pub resource_id: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Before (JSON text).
    pub old_values: Option<String>,
    /// After (JSON text).
    pub new_values: Option<String>,
    /// Client IP.
    pub ip_address: Option<String>,
    /// Client.
    pub user_agent: Option<String>,
    /// Notes.
    pub notes: Option<String>,
}

/// A page of entries.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AuditPage {
    /// Entries, newest first.
    pub rows: Vec<AuditRow>,
    /// Matching entries in all.
    pub total: i64,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// One row per entry, header first.
    Csv,
    /// A JSON array.
    Json,
}

fn parse_bound(value: &str, end: bool) -> Result<String, AuditError> {
    let value = value.trim();
    let at: DateTime<Utc> = if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        t.with_timezone(&Utc)
    } else if let Ok(d) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        let d = if end { d.succ_opt().unwrap_or(d) } else { d };
        d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default()
    } else {
        return Err(AuditError::BadInput(format!("`{value}` is not a date (YYYY-MM-DD) or time (RFC 3339)")));
    };
    Ok(at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
}

fn like(value: &str) -> String {
    let v: String = value.chars().take(200).collect();
    format!("%{}%", v.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

/// Builds the WHERE clause and its arguments.
fn conditions(f: &AuditFilter) -> Result<(String, Vec<String>), AuditError> {
    let mut sql = Vec::new();
    let mut args = Vec::new();
    if let Some(v) = f.actor.as_deref().filter(|v| !v.trim().is_empty()) {
        sql.push("(a.admin_user_id LIKE ? ESCAPE '\\' OR u.email LIKE ? ESCAPE '\\')".to_string());
        args.extend([like(v.trim()), like(v.trim())]);
    }
    if let Some(v) = f.action.as_deref().filter(|v| !v.trim().is_empty()) {
        sql.push("a.action LIKE ? ESCAPE '\\'".into());
        let v: String = v.trim().chars().take(200).collect();
        args.push(format!("{}%", v.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
    }
    if let Some(v) = f.target.as_deref().filter(|v| !v.trim().is_empty()) {
        sql.push("(a.resource_type LIKE ? ESCAPE '\\' OR a.resource_id LIKE ? ESCAPE '\\' OR a.tenant_id LIKE ? ESCAPE '\\')".into());
        args.extend([like(v.trim()), like(v.trim()), like(v.trim())]);
    }
    let from = f.from.as_deref().filter(|v| !v.trim().is_empty()).map(|v| parse_bound(v, false)).transpose()?;
    let to = f.to.as_deref().filter(|v| !v.trim().is_empty()).map(|v| parse_bound(v, true)).transpose()?;
    if let (Some(a), Some(b)) = (&from, &to) {
        if a > b {
            return Err(AuditError::BadInput("the start of the time range is after its end".into()));
        }
    }
    if let Some(a) = from {
        sql.push("a.creation_time >= ?".into());
        args.push(a);
    }
    if let Some(b) = to {
        sql.push("a.creation_time < ?".into());
        args.push(b);
    }
    if let Some(v) = f.text.as_deref().filter(|v| !v.trim().is_empty()) {
        sql.push(
            "(a.action || ' ' || a.resource_type || ' ' || a.resource_id || ' ' || COALESCE(a.notes, '') || ' ' ||
              COALESCE(a.old_values, '') || ' ' || COALESCE(a.new_values, '')) LIKE ? ESCAPE '\\'"
                .into(),
        );
        args.push(like(v.trim()));
    }
    let where_sql = if sql.is_empty() { String::new() } else { format!("WHERE {}", sql.join(" AND ")) };
    Ok((where_sql, args))
}

const SELECT: &str = "SELECT a.id, a.creation_time, a.admin_user_id, u.email, a.action, a.resource_type, a.resource_id,
        a.tenant_id, a.old_values, a.new_values, a.ip_address, a.user_agent, a.notes
     FROM admin_audit_log a LEFT JOIN users u ON u.id = a.admin_user_id";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        id: r.get(0)?,
        at: r.get(1)?,
        actor_id: r.get(2)?,
        actor_email: r.get(3)?,
        action: r.get(4)?,
        resource_type: r.get(5)?,
        resource_id: r.get(6)?,
        tenant_id: r.get(7)?,
        old_values: r.get(8)?,
        new_values: r.get(9)?,
        ip_address: r.get(10)?,
        user_agent: r.get(11)?,
        notes: r.get(12)?,
    })
}

fn mask(mut r: AuditRow) -> AuditRow {
    r.actor_email = r.actor_email.map(|e| masking::email(&e));
    r.ip_address = r.ip_address.map(|ip| masking::ip(&ip));
    r.old_values = r.old_values.map(|v| masking::text(&v));
    r.new_values = r.new_values.map(|v| masking::text(&v));
    r.notes = r.notes.map(|v| masking::text(&v));
    r
}

/// Lists entries, newest first, filtered and paged in SQL.
pub fn list(conn: &Connection, staff: &Staff, f: &AuditFilter) -> Result<AuditPage, AuditError> {
    staff.require(permissions::AUDIT_READ)?;
    let (where_sql, args) = conditions(f)?;
    let limit = f.limit.unwrap_or(100).clamp(1, 1000);
    let offset = f.offset.unwrap_or(0);
    let total: i64 = conn
        .query_row(
            &format!("SELECT count(*) FROM admin_audit_log a LEFT JOIN users u ON u.id = a.admin_user_id {where_sql}"),
            params_from_iter(args.iter()),
            |r| r.get(0),
        )
        .map_err(CacheError::sql("counting audit entries"))?;
    let mut stmt = conn
        .prepare(&format!("{SELECT} {where_sql} ORDER BY a.id DESC LIMIT {limit} OFFSET {offset}"))
        .map_err(CacheError::sql("listing audit entries"))?;
    let masked = staff.masked();
    let rows = stmt
        .query_map(params_from_iter(args.iter()), row)
        .map_err(CacheError::sql("listing audit entries"))?
        .map(|r| r.map(|r| if masked { mask(r) } else { r }))
        .collect::<Result<Vec<_>, _>>()
        .map_err(CacheError::sql("listing audit entries"))?;
    Ok(AuditPage { rows, total })
}

/// Writes every entry matching `f` (ignoring paging) to `out`. Returns the count.
pub fn export(
    conn: &Connection,
    staff: &Staff,
    f: &AuditFilter,
    format: ExportFormat,
    out: impl Write,
) -> Result<u64, AuditError> {
    staff.require(permissions::AUDIT_READ)?;
    let (where_sql, args) = conditions(f)?;
    let mut stmt = conn
        .prepare(&format!("{SELECT} {where_sql} ORDER BY a.id"))
        .map_err(CacheError::sql("exporting audit entries"))?;
    let masked = staff.masked();
    let rows = stmt
        .query_map(params_from_iter(args.iter()), row)
        .map_err(CacheError::sql("exporting audit entries"))?
        .map(|r| r.map(|r| if masked { mask(r) } else { r }));
    let mut count = 0u64;
    match format {
        ExportFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            for r in rows {
                w.serialize(r.map_err(CacheError::sql("exporting audit entries"))?)?;
                count += 1;
            }
            w.flush()?;
        }
        ExportFormat::Json => {
            let mut out = std::io::BufWriter::new(out);
            out.write_all(b"[")?;
            for r in rows {
                let r = r.map_err(CacheError::sql("exporting audit entries"))?;
                if count > 0 {
                    out.write_all(b",\n")?;
                }
                serde_json::to_writer(&mut out, &r).map_err(std::io::Error::other)?;
                count += 1;
            }
            out.write_all(b"]\n")?;
            out.flush()?;
        }
    }
    Ok(count)
}
