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
//! Every step is a database function (`src/central/sql/api/workspaces.sql`) called as
//! the signed-in staff member ([`Session`]): it checks `workspaces.delete` and the
//! tenant scope, re-checks the rules under row locks, and writes its audit entry in the
//! same transaction. The soft delete signs its `workspace_deletions` row with the
//! database's key; restore and purge refuse a row the console did not sign (inserted
//! or edited by hand), and leave the workspace intact. The watcher's daily purge
//! ([`purge_due_service`], server side with the owner's rights) goes through the same
//! SQL, and [`deletion_problems`] lists such rows for its alert.
//!
//! [`export`] writes the workspace (JSON and one CSV per part) from the cache first, so
//! the danger zone can offer it before anything is deleted.

use chrono::{DateTime, Duration, Utc};
use sqlx::Row;

use crate::audit::after_action;
use crate::auth::{permissions, ClientInfo, Session, Staff};
use crate::central::{Central, DbKind};
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

/// A refusal of a workspace function: the typed name not matching (PM412) is a
/// confirmation error; the rest as for every member action.
fn refused(e: sqlx::Error) -> MemberError {
    if let sqlx::Error::Database(d) = &e {
        if d.code().as_deref() == Some("PM412") {
            return MemberError::Confirmation("the workspace's name".into());
        }
    }
    MemberError::from(e)
}

fn int(v: &serde_json::Value, k: &str) -> i64 {
    v.get(k).and_then(serde_json::Value::as_i64).unwrap_or(0)
}

fn text(v: &serde_json::Value, k: &str) -> Option<String> {
    v.get(k).and_then(serde_json::Value::as_str).map(str::to_string)
}

fn limit(v: &serde_json::Value, k: &str) -> Option<i32> {
    v.get(k).and_then(serde_json::Value::as_i64).and_then(|n| i32::try_from(n).ok())
}

/// Calls `penguin_console_api.<function>($1, …)` in one transaction as the session's
/// staff member, commits, and relays the audit entry.
async fn call(session: &Session, sql: &str, ws: uuid::Uuid, more: &[&str]) -> Result<serde_json::Value, MemberError> {
    let mut tx = session.begin(DbKind::Oltp).await?;
    let mut q = sqlx::query_scalar::<_, serde_json::Value>(sql).bind(ws);
    for m in more {
        q = q.bind(*m);
    }
    let out = q.fetch_one(&mut *tx).await.map_err(refused)?;
    tx.commit().await?;
    after_action(session).await;
    Ok(out)
}

/// What deleting `workspace_id` would affect, as central sees it now.
pub async fn preview(session: &Session, workspace_id_: &str) -> Result<DeletionPreview, MemberError> {
    session.staff().require(permissions::WORKSPACES_DELETE)?;
    let ws = workspace_id(workspace_id_)?;
    let mut tx = session.begin(DbKind::Oltp).await?;
    let v: serde_json::Value = sqlx::query_scalar("SELECT penguin_console_api.workspaces_preview($1)")
        .bind(ws)
        .fetch_one(&mut *tx)
        .await
        .map_err(refused)?;
    tx.commit().await?;
    let (domains, accounts) = (int(&v, "domains"), int(&v, "email_accounts"));
    let (domains_used, accounts_used) = (int(&v, "domains_used"), int(&v, "email_accounts_used"));
    let billing = BillingEffect {
        plan: text(&v, "plan"),
        domains_used,
        domains_after: domains_used - domains,
        max_domains: limit(&v, "max_domains"),
        email_accounts_used: accounts_used,
        email_accounts_after: accounts_used - accounts,
        max_email_accounts: limit(&v, "max_email_accounts"),
        note: format!(
            "The subscription is per tenant, so its price does not change; the purge frees {domains} domain(s) and \
             {accounts} email account(s) under the plan's limits. Add-ons bought for them are not cancelled automatically."
        ),
    };
    Ok(DeletionPreview {
        workspace_id: ws.to_string(),
        name: text(&v, "name").unwrap_or_default(),
        tenant_id: text(&v, "tenant_id").unwrap_or_default(),
        campaigns: int(&v, "campaigns"),
        active_campaigns: int(&v, "active_campaigns"),
        domains,
        email_accounts: accounts,
        members: int(&v, "members"),
        purge_after: text(&v, "purge_after").unwrap_or_else(|| (Utc::now() + Duration::days(GRACE_DAYS)).to_rfc3339()),
        billing,
    })
}

/// Soft-deletes a workspace after its name was typed to confirm
/// (`workspaces_soft_delete`, which re-checks the name under a row lock and signs the
/// deletion record).
pub async fn soft_delete(
    session: &Session,
    workspace_id_: &str,
    confirm_name: &str,
    reason: &str,
) -> Result<SoftDeleted, MemberError> {
    session.staff().require(permissions::WORKSPACES_DELETE)?;
    let ws = workspace_id(workspace_id_)?;
    if confirm_name.trim().is_empty() {
        return Err(MemberError::Confirmation("the workspace's name".into()));
    }
    let v = call(session, "SELECT penguin_console_api.workspaces_soft_delete($1, $2, $3)", ws, &[confirm_name, reason])
        .await?;
    Ok(SoftDeleted {
        campaigns_paused: u32::try_from(int(&v, "campaigns_paused")).unwrap_or(0),
        purge_after: text(&v, "purge_after").unwrap_or_default(),
    })
}

/// Restores a soft-deleted workspace within its grace period. Returns the campaigns
/// resumed.
pub async fn restore(session: &Session, workspace_id_: &str) -> Result<u32, MemberError> {
    session.staff().require(permissions::WORKSPACES_DELETE)?;
    let ws = workspace_id(workspace_id_)?;
    let v = call(session, "SELECT penguin_console_api.workspaces_restore($1)", ws, &[]).await?;
    Ok(u32::try_from(int(&v, "resumed_campaigns")).unwrap_or(0))
}

fn report(v: &serde_json::Value) -> PurgeReport {
    PurgeReport {
        workspace_id: text(v, "workspace_id").unwrap_or_default(),
        name: text(v, "name").unwrap_or_default(),
        campaigns: int(v, "campaigns"),
        sequence_steps: int(v, "sequence_steps"),
        domains: int(v, "domains"),
        email_accounts: int(v, "email_accounts"),
        members: int(v, "members"),
    }
}

/// Purges one soft-deleted workspace whose grace period is over. Refused, and nothing
/// deleted, when its deletion record was not made by the console.
pub async fn purge(session: &Session, workspace_id_: &str) -> Result<PurgeReport, MemberError> {
    session.staff().require(permissions::WORKSPACES_DELETE)?;
    let ws = workspace_id(workspace_id_)?;
    let v = call(session, "SELECT penguin_console_api.workspaces_purge($1)", ws, &[]).await?;
    Ok(report(&v))
}

/// Purges every soft-deleted workspace (within the staff member's scope) whose grace
/// period is over, each in its own transaction (one failure does not undo the others'
/// purges). Deletion records the console did not make are not purged (the watcher
/// raises an alert for them).
pub async fn purge_due(session: &Session) -> Result<Vec<PurgeReport>, MemberError> {
    session.staff().require(permissions::WORKSPACES_DELETE)?;
    let mut tx = session.begin(DbKind::Oltp).await?;
    let due: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT penguin_console_api.workspaces_due()").fetch_all(&mut *tx).await.map_err(refused)?;
    tx.commit().await?;
    let mut out = Vec::new();
    for ws in due {
        let mut tx = session.begin(DbKind::Oltp).await?;
        let v: serde_json::Value = sqlx::query_scalar("SELECT penguin_console_api.workspaces_purge($1)")
            .bind(ws)
            .fetch_one(&mut *tx)
            .await
            .map_err(refused)?;
        tx.commit().await?;
        out.push(report(&v));
    }
    after_action(session).await;
    Ok(out)
}

/// A deletion record the console must not act on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeletionProblem {
    /// The workspace (`companies.id`).
    pub workspace_id: String,
    /// Its tenant, as the record says.
    pub tenant_id: String,
    /// Its name.
    pub name: String,
    /// The workspace's status now (`None`: the workspace is gone).
    pub workspace_status: Option<String>,
    /// The purge date the record asks for (UTC, RFC 3339).
    pub purge_after: String,
    /// `unsigned`: not written by the console (inserted or edited by hand);
    /// `not_deleted`: the workspace is not in the deleted state.
    pub problem: String,
}

/// The deletion records the console refuses to act on (server side, with the owner's
/// rights: the watcher).
pub async fn deletion_problems(central: &Central) -> Result<Vec<DeletionProblem>, MemberError> {
    let rows = sqlx::query(
        "SELECT company_id, tenant_id, name, workspace_status, purge_after, problem FROM penguin_console.deletion_problems()",
    )
    .fetch_all(&central.oltp)
    .await?;
    Ok(rows
        .iter()
        .map(|r| DeletionProblem {
            workspace_id: r.get::<uuid::Uuid, _>("company_id").to_string(),
            tenant_id: r.get::<uuid::Uuid, _>("tenant_id").to_string(),
            name: r.get("name"),
            workspace_status: r.get("workspace_status"),
            purge_after: r.get::<DateTime<Utc>, _>("purge_after").to_rfc3339(),
            problem: r.get("problem"),
        })
        .collect())
}

/// What the server-side daily purge did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ServicePurge {
    /// Workspaces purged.
    pub purged: Vec<PurgeReport>,
    /// Due workspaces refused (their deletion record is not the console's, or the
    /// workspace is not deleted), with why; each is left intact.
    pub refused: Vec<(String, String)>,
}

/// The watcher's daily purge, with the owner's rights as `staff` (the profile's service
/// identity): every soft-deleted workspace whose grace period is over goes through
/// `penguin_console.workspace_purge`, each in its own transaction, audited as `staff`.
/// A refusal (a deletion record the console did not sign) leaves that workspace intact
/// and is reported; the others are still purged.
pub async fn purge_due_service(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
) -> Result<ServicePurge, MemberError> {
    staff.require(permissions::WORKSPACES_DELETE)?;
    let due: Vec<uuid::Uuid> = sqlx::query_scalar(
        "SELECT company_id FROM penguin_console.workspace_deletions WHERE purge_after <= now() ORDER BY purge_after, company_id",
    )
    .fetch_all(&central.oltp)
    .await?;
    let perms: Vec<String> = staff.permissions().iter().cloned().collect();
    let mut out = ServicePurge::default();
    for ws in due {
        let mut tx = central.oltp.begin().await?;
        let done: Result<serde_json::Value, sqlx::Error> = sqlx::query_scalar(
            "SELECT penguin_console.workspace_purge(penguin_console.service_ctx($1, $2, $3, $4), $5)",
        )
        .bind(staff.audit_id())
        .bind(staff.role())
        .bind(&perms)
        .bind(&client.user_agent)
        .bind(ws)
        .fetch_one(&mut *tx)
        .await;
        match done {
            Ok(v) => {
                tx.commit().await?;
                out.purged.push(report(&v));
            }
            Err(e) => match crate::auth::rule_violation(&e) {
                Some((_, why)) => {
                    tracing::error!(workspace = %ws, "purge refused: {why}");
                    out.refused.push((ws.to_string(), why));
                }
                None => return Err(e.into()),
            },
        }
    }
    if let Err(e) = crate::audit::deliver(central).await {
        tracing::warn!("audit delivery deferred: {e}");
    }
    Ok(out)
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
