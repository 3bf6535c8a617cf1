//! Workspace deletion: the danger-zone flow against central OLTP.
//!
//! 1. [`preview`]: what would go (campaigns, domains, email accounts, members) and the
//!    billing effect (plan limits freed), read fresh from central.
//! 2. [`soft_delete`]: confirmed by typing the workspace's name exactly. The workspace's
//!    `companies.status` becomes `deleted`, its sending and scheduled campaigns are
//!    paused (a deleted workspace must not keep sending), and
//!    `penguin_console.workspace_deletions` records the grace period (30 days) and
//!    what restoring needs.
//! 3. [`restore`]: within the grace period, puts the status back and resumes exactly
//!    the campaigns the deletion paused.
//! 4. [`purge`] / [`purge_due`]: after the grace period, deletes the workspace row; the
//!    platform's foreign keys cascade to its campaigns (and their sequence steps) and
//!    domains (and their email accounts). Leads belong to the tenant, not to a
//!    workspace, in the platform's schema (no `company_id`), so they stay.
//!
//! Every step needs `workspaces.delete`, runs in one transaction with its audit entry.
//! [`export`] writes the workspace (JSON and one CSV per part) from the cache first, so
//! the danger zone can offer it before anything is deleted.

use chrono::{DateTime, Duration, Utc};
use sqlx::{PgConnection, Row};

use crate::audit::{self, AuditEntry};
use crate::auth::{permissions, ClientInfo, Staff};
use crate::central::Central;
use crate::members::MemberError;

/// Days between a soft delete and the purge.
pub const GRACE_DAYS: i64 = 30;

/// Plan limits freed by the deletion. Subscriptions are per tenant, so the price does
/// not change; what changes is the room left under the plan's limits.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BillingEffect {
    /// The tenant's current plan.
    pub plan: Option<String>,
    /// Domains the tenant uses now.
    pub domains_used: i64,
    /// After the purge.
    pub domains_after: i64,
    /// Plan limit, if any.
    pub max_domains: Option<i32>,
    /// Email accounts the tenant uses now.
    pub email_accounts_used: i64,
    /// After the purge.
    pub email_accounts_after: i64,
    /// Plan limit, if any.
    pub max_email_accounts: Option<i32>,
    /// In words.
    pub note: String,
}

/// What deleting a workspace affects.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DeletionPreview {
    /// `companies.id`.
    pub workspace_id: String,
    /// The name to type to confirm.
    pub name: String,
    /// Tenant.
    pub tenant_id: String,
    /// Campaigns (deleted by the purge).
    pub campaigns: i64,
    /// Campaigns sending or scheduled now (paused by the soft delete).
    pub active_campaigns: i64,
    /// Domains (deleted by the purge).
    pub domains: i64,
    /// Email accounts on those domains (deleted by the purge).
    pub email_accounts: i64,
    /// Workspace members (their workspace access ends).
    pub members: i64,
    /// When a deletion made now could be purged (UTC, RFC 3339).
    pub purge_after: String,
    /// Billing effect.
    pub billing: BillingEffect,
}

/// State of a soft-deleted workspace.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SoftDeleted {
    /// Campaigns paused.
    pub campaigns_paused: u32,
    /// When it can be purged (UTC, RFC 3339); until then it can be restored.
    pub purge_after: String,
}

/// What a purge deleted.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PurgeReport {
    /// The workspace.
    pub workspace_id: String,
    /// Its name.
    pub name: String,
    /// Campaigns deleted.
    pub campaigns: i64,
    /// Sequence steps deleted.
    pub sequence_steps: i64,
    /// Domains deleted.
    pub domains: i64,
    /// Email accounts deleted.
    pub email_accounts: i64,
    /// Workspace memberships deleted.
    pub members: i64,
}

fn workspace_id(value: &str) -> Result<uuid::Uuid, MemberError> {
    uuid::Uuid::parse_str(value.trim())
        .map_err(|_| MemberError::BadInput(format!("`{value}` is not a valid workspace id")))
}

async fn counts(conn: &mut PgConnection, ws: uuid::Uuid) -> Result<(i64, i64, i64, i64, i64, i64), sqlx::Error> {
    let r = sqlx::query(
        "SELECT (SELECT count(*) FROM campaigns WHERE company_id = $1) AS campaigns,
                (SELECT count(*) FROM campaigns WHERE company_id = $1 AND status IN ('sending', 'scheduled')) AS active,
                (SELECT count(*) FROM campaign_sequence_steps s JOIN campaigns k ON k.id = s.campaign_id
                  WHERE k.company_id = $1) AS steps,
                (SELECT count(*) FROM domains WHERE company_id = $1) AS domains,
                (SELECT count(*) FROM email_accounts e JOIN domains d ON d.id = e.domain_id WHERE d.company_id = $1) AS accounts,
                (SELECT count(*) FROM penguin_console.workspace_members WHERE company_id = $1) AS members",
    )
    .bind(ws)
    .fetch_one(&mut *conn)
    .await?;
    Ok((r.get("campaigns"), r.get("active"), r.get("steps"), r.get("domains"), r.get("accounts"), r.get("members")))
}

/// What deleting `workspace_id` would affect.
pub async fn preview(central: &Central, staff: &Staff, workspace_id_: &str) -> Result<DeletionPreview, MemberError> {
    staff.require(permissions::WORKSPACES_DELETE)?;
    let ws = workspace_id(workspace_id_)?;
    let mut conn = central.oltp.acquire().await?;
    preview_in(&mut conn, ws, Utc::now()).await
}

async fn preview_in(
    conn: &mut PgConnection,
    ws: uuid::Uuid,
    now: DateTime<Utc>,
) -> Result<DeletionPreview, MemberError> {
    let head = sqlx::query("SELECT name, tenant_id FROM companies WHERE id = $1")
        .bind(ws)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| MemberError::NotFound(format!("no workspace {ws}")))?;
    let name: String = head.get("name");
    let tenant: uuid::Uuid = head.get("tenant_id");
    let (campaigns, active, _, domains, accounts, members) = counts(conn, ws).await?;
    let b = sqlx::query(
        "SELECT p.name, p.max_domains, p.max_email_accounts,
                (SELECT count(*) FROM domains WHERE tenant_id = $1) AS domains,
                (SELECT count(*) FROM email_accounts WHERE tenant_id = $1) AS accounts
         FROM (SELECT 1) one
         LEFT JOIN LATERAL (SELECT plan_id FROM subscriptions WHERE tenant_id = $1 ORDER BY created DESC, id LIMIT 1) s ON true
         LEFT JOIN plans p ON p.id = s.plan_id",
    )
    .bind(tenant)
    .fetch_one(&mut *conn)
    .await?;
    let (domains_used, accounts_used): (i64, i64) = (b.get("domains"), b.get("accounts"));
    let billing = BillingEffect {
        plan: b.get("name"),
        domains_used,
        domains_after: domains_used - domains,
        max_domains: b.get("max_domains"),
        email_accounts_used: accounts_used,
        email_accounts_after: accounts_used - accounts,
        max_email_accounts: b.get("max_email_accounts"),
        note: format!(
            "The subscription is per tenant, so its price does not change; the purge frees {domains} domain(s) and \
             {accounts} email account(s) under the plan's limits. Add-ons bought for them are not cancelled automatically."
        ),
    };
    Ok(DeletionPreview {
        workspace_id: ws.to_string(),
        name,
        tenant_id: tenant.to_string(),
        campaigns,
        active_campaigns: active,
        domains,
        email_accounts: accounts,
        members,
        purge_after: (now + Duration::days(GRACE_DAYS)).to_rfc3339(),
        billing,
    })
}

/// Soft-deletes a workspace after its name was typed to confirm.
pub async fn soft_delete(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    workspace_id_: &str,
    confirm_name: &str,
    reason: &str,
) -> Result<SoftDeleted, MemberError> {
    staff.require(permissions::WORKSPACES_DELETE)?;
    let ws = workspace_id(workspace_id_)?;
    let mut tx = central.oltp.begin().await?;
    let row = sqlx::query("SELECT name, tenant_id, status, now() AS now FROM companies WHERE id = $1 FOR UPDATE")
        .bind(ws)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| MemberError::NotFound(format!("no workspace {ws}")))?;
    let name: String = row.get("name");
    let status: Option<String> = row.get("status");
    let now: DateTime<Utc> = row.get("now");
    if status.as_deref() == Some("deleted") {
        return Err(MemberError::Conflict("this workspace is already deleted; restore or purge it".into()));
    }
    if confirm_name.trim() != name.trim() {
        return Err(MemberError::Confirmation("the workspace's name".into()));
    }
    let preview = preview_in(&mut tx, ws, now).await?;
    let paused: Vec<uuid::Uuid> = sqlx::query_scalar(
        "UPDATE campaigns SET status = 'paused', updated = now()
         WHERE company_id = $1 AND status IN ('sending', 'scheduled') RETURNING id",
    )
    .bind(ws)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query("UPDATE companies SET status = 'deleted', updated = now() WHERE id = $1")
        .bind(ws)
        .execute(&mut *tx)
        .await?;
    let purge_after = now + Duration::days(GRACE_DAYS);
    sqlx::query(
        "INSERT INTO penguin_console.workspace_deletions
             (company_id, tenant_id, name, previous_status, paused_campaigns, deleted_at, purge_after, deleted_by, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(ws)
    .bind(row.get::<uuid::Uuid, _>("tenant_id"))
    .bind(&name)
    .bind(&status)
    .bind(&paused)
    .bind(now)
    .bind(purge_after)
    .bind(staff.audit_id())
    .bind(reason.trim())
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: "workspace.deleted".into(),
            resource_type: "workspace".into(),
            resource_id: ws.to_string(),
            tenant_id: Some(preview.tenant_id.clone()),
            old_values: Some(serde_json::json!({ "status": status, "name": name })),
            new_values: Some(serde_json::json!({
                "status": "deleted",
                "purge_after": purge_after.to_rfc3339(),
                "paused_campaigns": paused,
                "campaigns": preview.campaigns,
                "domains": preview.domains,
                "email_accounts": preview.email_accounts,
            })),
            notes: Some(reason.trim().to_string()).filter(|r| !r.is_empty()),
        },
    )
    .await?;
    tx.commit().await?;
    crate::members::after_commit(central).await;
    Ok(SoftDeleted { campaigns_paused: paused.len() as u32, purge_after: purge_after.to_rfc3339() })
}

/// Restores a soft-deleted workspace within its grace period. Returns the campaigns
/// resumed.
pub async fn restore(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    workspace_id_: &str,
) -> Result<u32, MemberError> {
    staff.require(permissions::WORKSPACES_DELETE)?;
    let ws = workspace_id(workspace_id_)?;
    let mut tx = central.oltp.begin().await?;
    let d = sqlx::query(
        "SELECT tenant_id, previous_status, paused_campaigns, purge_after, purge_after <= now() AS expired
         FROM penguin_console.workspace_deletions WHERE company_id = $1 FOR UPDATE",
    )
    .bind(ws)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| MemberError::Conflict("this workspace is not deleted".into()))?;
    if d.get::<bool, _>("expired") {
        return Err(MemberError::Conflict(format!(
            "the {GRACE_DAYS}-day grace period ended on {}; the workspace can only be purged now",
            d.get::<DateTime<Utc>, _>("purge_after").to_rfc3339()
        )));
    }
    let previous: Option<String> = d.get("previous_status");
    let paused: Vec<uuid::Uuid> = d.get("paused_campaigns");
    sqlx::query("UPDATE companies SET status = $2, updated = now() WHERE id = $1")
        .bind(ws)
        .bind(previous.as_deref().unwrap_or("active"))
        .execute(&mut *tx)
        .await?;
    // Resume only what the deletion paused and nobody changed since.
    let resumed = sqlx::query(
        "UPDATE campaigns SET status = 'sending', updated = now() WHERE id = ANY($1) AND company_id = $2 AND status = 'paused'",
    )
    .bind(&paused)
    .bind(ws)
    .execute(&mut *tx)
    .await?
    .rows_affected() as u32;
    sqlx::query("DELETE FROM penguin_console.workspace_deletions WHERE company_id = $1")
        .bind(ws)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: "workspace.restored".into(),
            resource_type: "workspace".into(),
            resource_id: ws.to_string(),
            tenant_id: Some(d.get::<uuid::Uuid, _>("tenant_id").to_string()),
            old_values: Some(serde_json::json!({ "status": "deleted" })),
            new_values: Some(serde_json::json!({ "status": previous, "resumed_campaigns": resumed })),
            notes: None,
        },
    )
    .await?;
    tx.commit().await?;
    crate::members::after_commit(central).await;
    Ok(resumed)
}

/// Purges one soft-deleted workspace whose grace period is over.
pub async fn purge(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    workspace_id_: &str,
) -> Result<PurgeReport, MemberError> {
    staff.require(permissions::WORKSPACES_DELETE)?;
    let ws = workspace_id(workspace_id_)?;
    let mut tx = central.oltp.begin().await?;
    let report = purge_in(&mut tx, staff, client, ws).await?;
    tx.commit().await?;
    crate::members::after_commit(central).await;
    Ok(report)
}

/// Purges every soft-deleted workspace whose grace period is over, each in its own
/// transaction (one failure does not undo the others' purges).
pub async fn purge_due(central: &Central, staff: &Staff, client: &ClientInfo) -> Result<Vec<PurgeReport>, MemberError> {
    staff.require(permissions::WORKSPACES_DELETE)?;
    let due: Vec<uuid::Uuid> = sqlx::query_scalar(
        "SELECT company_id FROM penguin_console.workspace_deletions WHERE purge_after <= now() ORDER BY purge_after",
    )
    .fetch_all(&central.oltp)
    .await?;
    let mut out = Vec::new();
    for ws in due {
        let mut tx = central.oltp.begin().await?;
        out.push(purge_in(&mut tx, staff, client, ws).await?);
        tx.commit().await?;
    }
    crate::members::after_commit(central).await;
    Ok(out)
}

async fn purge_in(
    tx: &mut PgConnection,
    staff: &Staff,
    client: &ClientInfo,
    ws: uuid::Uuid,
) -> Result<PurgeReport, MemberError> {
    let d = sqlx::query(
        "SELECT tenant_id, name, purge_after, purge_after <= now() AS due
         FROM penguin_console.workspace_deletions WHERE company_id = $1 FOR UPDATE",
    )
    .bind(ws)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| MemberError::Conflict("only a soft-deleted workspace can be purged; delete it first".into()))?;
    if !d.get::<bool, _>("due") {
        return Err(MemberError::Conflict(format!(
            "the grace period runs until {}; restore it or wait",
            d.get::<DateTime<Utc>, _>("purge_after").to_rfc3339()
        )));
    }
    let (campaigns, _, steps, domains, accounts, members) = counts(tx, ws).await?;
    sqlx::query("DELETE FROM penguin_console.workspace_members WHERE company_id = $1")
        .bind(ws)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM penguin_console.workspace_deletions WHERE company_id = $1")
        .bind(ws)
        .execute(&mut *tx)
        .await?;
    // The platform's foreign keys cascade: campaigns → sequence steps, domains → email accounts.
    sqlx::query("DELETE FROM companies WHERE id = $1").bind(ws).execute(&mut *tx).await?;
    let name: String = d.get("name");
    let report = PurgeReport {
        workspace_id: ws.to_string(),
        name: name.clone(),
        campaigns,
        sequence_steps: steps,
        domains,
        email_accounts: accounts,
        members,
    };
    audit::record(
        &mut *tx,
        staff,
        client,
        &AuditEntry {
            action: "workspace.purged".into(),
            resource_type: "workspace".into(),
            resource_id: ws.to_string(),
            tenant_id: Some(d.get::<uuid::Uuid, _>("tenant_id").to_string()),
            old_values: Some(serde_json::json!({ "name": name, "status": "deleted" })),
            new_values: Some(serde_json::to_value(&report).unwrap_or_default()),
            notes: None,
        },
    )
    .await?;
    Ok(report)
}

/// Files written by [`export`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ExportFiles {
    /// The JSON document with everything.
    pub json: String,
    /// One CSV per part: workspace, campaigns, domains, email_accounts, members.
    pub csv: Vec<String>,
    /// Rows per part, in the same order.
    pub rows: Vec<u32>,
}

/// Errors of [`export`].
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading failed or was refused.
    #[error(transparent)]
    Read(#[from] crate::users::UserError),
    /// Writing failed.
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
    /// Writing CSV failed.
    #[error("writing the export: {0}")]
    Csv(#[from] csv::Error),
}

/// Exports a workspace from the cache before deletion: `workspace-ID.json` and one
/// `workspace-ID-PART.csv` per part into `dir`. Emails and names are masked for viewers
/// without `pii.view`.
pub fn export(
    conn: &rusqlite::Connection,
    staff: &Staff,
    workspace_id: &str,
    dir: &std::path::Path,
) -> Result<ExportFiles, ExportError> {
    use crate::cache::CacheError;
    use crate::users::{has_table, UserError};
    staff.require_any(&[permissions::TENANTS_READ, permissions::TENANTS_READ_SANDBOX]).map_err(UserError::from)?;
    let tenant: Option<String> = conn
        .query_row("SELECT tenant_id FROM companies WHERE id = ?1", [workspace_id], |r| r.get(0))
        .map(Some)
        .or_else(|e| if matches!(e, rusqlite::Error::QueryReturnedNoRows) { Ok(None) } else { Err(e) })
        .map_err(|e| UserError::from(CacheError::sql("reading a workspace")(e)))?;
    let Some(tenant) = tenant else { return Err(UserError::NotFound(format!("workspace {workspace_id}")).into()) };
    if staff.sandbox_only() {
        // The team read refuses tenants outside the sandbox.
        crate::users::team(conn, staff, &tenant)?;
    }
    let members = if has_table(conn, "console_workspace_members").map_err(UserError::from)? {
        "SELECT u.id AS user_id, u.name, u.email, w.role FROM console_workspace_members w JOIN users u ON u.id = w.user_id
         WHERE w.company_id = ?1 ORDER BY u.email"
    } else {
        "SELECT NULL AS user_id, NULL AS name, NULL AS email, NULL AS role WHERE ?1 IS NULL"
    };
    let parts: [(&str, &str); 5] = [
        ("workspace", "SELECT * FROM companies WHERE id = ?1"),
        ("campaigns", "SELECT * FROM campaigns WHERE company_id = ?1 ORDER BY created, id"),
        ("domains", "SELECT * FROM domains WHERE company_id = ?1 ORDER BY domain"),
        (
            "email_accounts",
            "SELECT e.* FROM email_accounts e JOIN domains d ON d.id = e.domain_id WHERE d.company_id = ?1 ORDER BY e.email",
        ),
        ("members", members),
    ];
    let masked = staff.masked();
    let mut doc = serde_json::Map::new();
    let mut files = ExportFiles { json: String::new(), csv: Vec::new(), rows: Vec::new() };
    for (part, sql) in parts {
        let mut stmt = conn.prepare(sql).map_err(|e| UserError::from(CacheError::sql("exporting a workspace")(e)))?;
        let cols: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
        let rows: Vec<Vec<serde_json::Value>> = stmt
            .query_map([workspace_id], |r| {
                (0..cols.len())
                    .map(|i| {
                        Ok(match r.get_ref(i)? {
                            rusqlite::types::ValueRef::Null => serde_json::Value::Null,
                            rusqlite::types::ValueRef::Integer(v) => v.into(),
                            rusqlite::types::ValueRef::Real(v) => v.into(),
                            rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                                String::from_utf8_lossy(t).into_owned().into()
                            }
                        })
                    })
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| UserError::from(CacheError::sql("exporting a workspace")(e)))?;
        let rows: Vec<Vec<serde_json::Value>> = rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .zip(&cols)
                    .map(|(v, c)| match (&v, c.as_str(), masked) {
                        (serde_json::Value::String(s), "email", true) => crate::auth::masking::email(s).into(),
                        (serde_json::Value::String(s), "name", true) if part == "members" => {
                            crate::auth::masking::name(s).into()
                        }
                        _ => v,
                    })
                    .collect()
            })
            .collect();
        let path = dir.join(format!("workspace-{workspace_id}-{part}.csv"));
        let mut w = csv::Writer::from_path(&path)?;
        w.write_record(&cols)?;
        for row in &rows {
            w.write_record(row.iter().map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            }))?;
        }
        w.flush()?;
        files.csv.push(path.display().to_string());
        files.rows.push(rows.len() as u32);
        let objects: Vec<serde_json::Value> =
            rows.into_iter().map(|row| serde_json::Value::Object(cols.iter().cloned().zip(row).collect())).collect();
        doc.insert(part.to_string(), objects.into());
    }
    let json_path = dir.join(format!("workspace-{workspace_id}.json"));
    std::fs::write(&json_path, serde_json::to_vec_pretty(&serde_json::Value::Object(doc)).unwrap_or_default())?;
    files.json = json_path.display().to_string();
    Ok(files)
}
