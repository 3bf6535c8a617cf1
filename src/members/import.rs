//! Bulk team changes from CSV, and the team export.
//!
//! ## Import
//! Columns (header required, any case, spaces or underscores): `email`, `name`,
//! `tenant role` (owner / admin / member), `workspaces` (`Name:role;Name:role`, role
//! admin / member / viewer, a workspace named by its name or `workspace_name`). Other
//! columns (the export's `status`, `last login`) are ignored, so an export can be edited
//! and imported back.
//!
//! Every row is validated before anything is written, and the plan is made inside the
//! transaction that applies it, with the tenant's membership rows locked
//! (`members_import_state`), so the preview is exactly what is applied. Any error
//! (reported with its line number, the header being line 1) and nothing is written; a
//! dry run rolls back after planning. Applying (`members_import_apply`, which checks
//! every row again) is all-or-nothing in one transaction with one audit entry.
//!
//! What a row does: an unknown email creates an invited user (`email_verified` NULL)
//! and membership, with an invitation email queued; a known user who is not a member
//! (or was removed) becomes one again, invited — unless the account belongs to another
//! organization and never to this one (refused: joining another organization is the
//! account holder's decision, made by accepting an invitation); a member whose role differs gets the
//! new role and, as with any role change, loses their sessions; listed workspaces get
//! the given role (workspaces not listed are left alone). A name only names new users:
//! an existing account's name belongs to its owner. The import may not leave the
//! tenant without an owner.

use std::collections::{BTreeMap, HashMap, HashSet};

use rusqlite::Connection;

use super::{after_action, parse_id, MemberError, TenantRole, WorkspaceRole};
use crate::auth::{permissions, Session, Staff};
use crate::central::DbKind;
use crate::users::{self, UserError};

/// Most rows one import accepts.
pub const MAX_ROWS: usize = 10_000;

/// Largest import file read. The row limit refuses big files with a clearer message
/// well before this; the byte limit only keeps a wrong file (a video, a dump) out of memory.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// Reads an import file as UTF-8 text, or says what is wrong with it and what to do.
pub fn read_file(path: &std::path::Path) -> Result<String, MemberError> {
    let unreadable = |e: std::io::Error| MemberError::BadInput(format!("cannot read {}: {e}", path.display()));
    let size = std::fs::metadata(path).map_err(unreadable)?.len();
    check_size(size, &path.display().to_string())?;
    decode(std::fs::read(path).map_err(unreadable)?, &path.display().to_string())
}

/// Decodes an import file's bytes (`name` names it in errors) as UTF-8 text.
pub fn decode(bytes: Vec<u8>, name: &str) -> Result<String, MemberError> {
    check_size(bytes.len() as u64, name)?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        MemberError::BadInput(format!(
            "line {line} of {name} is not UTF-8 text; save the file as \"CSV UTF-8\" and import it again"
        ))
    })
}

fn check_size(size: u64, name: &str) -> Result<(), MemberError> {
    if size > MAX_FILE_BYTES {
        return Err(MemberError::BadInput(format!(
            "{name} is {} MB, too large for a team import (at most {MAX_ROWS} rows); split the file",
            size / (1024 * 1024)
        )));
    }
    Ok(())
}

/// An error on one line of the file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LineError {
    /// Line number in the file (the header is line 1).
    pub line: u64,
    /// What is wrong and what to do.
    pub message: String,
}

/// What the import does to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum RowAction {
    /// New account, invited.
    Invite,
    /// Existing account added (or re-added) to the tenant, invited.
    Add,
    /// Existing member changed (role or workspaces).
    Update,
    /// Nothing to change.
    Unchanged,
}

/// A workspace role change of one row.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WorkspaceChange {
    /// Workspace name.
    pub workspace: String,
    /// Role before (`None`: not a member).
    pub old_role: Option<String>,
    /// Role after.
    pub new_role: String,
}

/// The plan for one row.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PlannedRow {
    /// Line number.
    pub line: u64,
    /// Email.
    pub email: String,
    /// What happens.
    pub action: RowAction,
    /// Tenant role before (`None`: not a member).
    pub old_role: Option<String>,
    /// Tenant role after.
    pub new_role: String,
    /// Workspace changes.
    pub workspaces: Vec<WorkspaceChange>,
}

/// Preview and outcome of an import.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImportReport {
    /// Data rows read.
    pub rows: u32,
    /// The plan, one entry per row (empty when there are errors).
    pub plan: Vec<PlannedRow>,
    /// Every error found, by line.
    pub errors: Vec<LineError>,
    /// Whether the plan was written (false for a dry run or when there are errors).
    pub applied: bool,
}

impl ImportReport {
    /// Rows with the given action.
    pub fn count(&self, action: RowAction) -> usize {
        self.plan.iter().filter(|p| p.action == action).count()
    }
}

struct Row0 {
    line: u64,
    email: String,
    name: String,
    role: TenantRole,
    workspaces: Vec<(String, WorkspaceRole)>,
}

fn header_key(h: &str) -> String {
    h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase().replace([' ', '-'], "_")
}

fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else { return false };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.chars().any(|c| c.is_whitespace() || c == ',' || c == ';' || c == '<' || c == '>')
        && e.len() <= 254
}

/// The physical line (1-based) of the record starting at a byte offset. The csv crate
/// counts lines without the blank lines it skips, and its offset points before them, so
/// both would name the wrong line.
fn line_of(text: &str, byte: u64) -> u64 {
    let bytes = text.as_bytes();
    let mut end = (byte as usize).min(bytes.len());
    while end < bytes.len() && (bytes[end] == b'\n' || bytes[end] == b'\r') {
        end += 1;
    }
    bytes[..end].iter().filter(|b| **b == b'\n').count() as u64 + 1
}

/// Parses and checks every row on its own (syntax, duplicates); returns rows and errors.
fn parse(text: &str) -> (Vec<Row0>, Vec<LineError>) {
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    let mut rdr = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers: Vec<String> = match rdr.headers() {
        Ok(h) => h.iter().map(header_key).collect(),
        Err(e) => {
            errors.push(LineError { line: 1, message: format!("cannot read the header: {e}") });
            return (rows, errors);
        }
    };
    let col = |names: &[&str]| headers.iter().position(|h| names.contains(&h.as_str()));
    let (Some(ce), Some(cn), Some(cr)) = (col(&["email"]), col(&["name"]), col(&["tenant_role", "role"])) else {
        errors.push(LineError {
            line: 1,
            message: "the header must name the columns email, name, tenant role and (optionally) workspaces".into(),
        });
        return (rows, errors);
    };
    let cw = col(&["workspaces", "workspace_roles"]);
    let mut seen: HashMap<String, u64> = HashMap::new();
    for record in rdr.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| line_of(text, p.byte())).unwrap_or(0);
                errors.push(LineError { line, message: format!("unreadable CSV: {e}") });
                continue;
            }
        };
        let line = record.position().map(|p| line_of(text, p.byte())).unwrap_or(0);
        if record.iter().all(|f| f.is_empty()) {
            continue;
        }
        if rows.len() + errors.len() >= MAX_ROWS {
            errors.push(LineError { line, message: format!("more than {MAX_ROWS} rows; split the file") });
            break;
        }
        let get = |i: usize| record.get(i).unwrap_or("").to_string();
        let email = get(ce).to_ascii_lowercase();
        let mut bad = |m: String| errors.push(LineError { line, message: m });
        let mut ok = true;
        if !valid_email(&email) {
            bad(format!("`{email}` is not a valid email address"));
            ok = false;
        } else if let Some(first) = seen.get(&email) {
            bad(format!("{email} is already on line {first}; list each person once"));
            ok = false;
        } else {
            seen.insert(email.clone(), line);
        }
        let role = TenantRole::parse(&get(cr));
        if role.is_none() {
            bad(format!("tenant role `{}` is not owner, admin or member", get(cr)));
            ok = false;
        }
        let mut workspaces: Vec<(String, WorkspaceRole)> = Vec::new();
        for part in cw.map(get).unwrap_or_default().split(';').map(str::trim).filter(|p| !p.is_empty()) {
            match part.rsplit_once(':') {
                Some((ws, r)) if !ws.trim().is_empty() => match WorkspaceRole::parse(r) {
                    Some(_) if workspaces.iter().any(|(w, _)| w.eq_ignore_ascii_case(ws.trim())) => {
                        bad(format!("workspace `{}` is listed twice", ws.trim()));
                        ok = false;
                    }
                    Some(r) => workspaces.push((ws.trim().to_string(), r)),
                    None => {
                        bad(format!(
                            "workspace role `{}` (for `{}`) is not admin, member or viewer",
                            r.trim(),
                            ws.trim()
                        ));
                        ok = false;
                    }
                },
                _ => {
                    bad(format!("`{part}` is not `Workspace name:role`"));
                    ok = false;
                }
            }
        }
        if let (true, Some(role)) = (ok, role) {
            rows.push(Row0 { line, email, name: get(cn), role, workspaces });
        }
    }
    (rows, errors)
}

/// What `members_import_state` says of the tenant and of the accounts a file names,
/// read with the tenant's memberships locked.
#[derive(Debug, serde::Deserialize)]
struct State {
    workspaces: Vec<StateWorkspace>,
    /// By lower-cased email.
    accounts: HashMap<String, Existing>,
    /// Lower-cased emails of the tenant's active owners.
    owners: Vec<String>,
}

#[derive(Debug, serde::Deserialize)]
struct StateWorkspace {
    id: uuid::Uuid,
    name: String,
    workspace_name: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
struct Existing {
    staff: bool,
    /// Has a membership row in this tenant (possibly removed).
    member: bool,
    roles: Vec<String>,
    removed: bool,
    /// A live member of some other tenant.
    elsewhere: bool,
    /// Workspace id -> role, in this tenant's workspaces.
    workspaces: HashMap<String, String>,
}

/// Plans `rows` against the locked state of the tenant; adds errors for what the
/// database contradicts. Returns the plan and the workspaces by lower-cased name.
fn plan(state: &State, rows: &[Row0], errors: &mut Vec<LineError>) -> (Vec<PlannedRow>, HashMap<String, uuid::Uuid>) {
    let mut workspaces: HashMap<String, uuid::Uuid> = HashMap::new();
    for w in &state.workspaces {
        workspaces.insert(w.name.to_lowercase(), w.id);
    }
    for w in &state.workspaces {
        if let Some(n) = &w.workspace_name {
            workspaces.entry(n.to_lowercase()).or_insert(w.id);
        }
    }
    let mut planned = Vec::new();
    for row in rows {
        let ex = state.accounts.get(&row.email);
        if ex.is_some_and(|e| e.staff) {
            errors.push(LineError {
                line: row.line,
                message: format!("{} is platform staff, not a tenant member", row.email),
            });
            continue;
        }
        if ex.is_some_and(|e| !e.member && e.elsewhere) {
            errors.push(LineError {
                line: row.line,
                message: format!(
                    "{} is an account of another organization; a bulk import cannot add it — \
                     invite them from the product so they accept, or remove the line",
                    row.email
                ),
            });
            continue;
        }
        if ex.is_none() && row.name.trim().is_empty() {
            errors.push(LineError { line: row.line, message: format!("{} is a new account: give a name", row.email) });
            continue;
        }
        let member = ex.filter(|e| e.member && !e.removed);
        let old_role = member.map(|e| e.roles.join(","));
        let mut changes = Vec::new();
        let mut bad = false;
        for (name, role) in &row.workspaces {
            let Some(ws) = workspaces.get(&name.to_lowercase()) else {
                errors
                    .push(LineError { line: row.line, message: format!("no workspace named `{name}` in this tenant") });
                bad = true;
                continue;
            };
            let old = ex.and_then(|e| e.workspaces.get(&ws.to_string())).cloned();
            if old.as_deref() != Some(role.as_str()) {
                changes.push(WorkspaceChange {
                    workspace: name.clone(),
                    old_role: old,
                    new_role: role.as_str().into(),
                });
            }
        }
        if bad {
            continue;
        }
        let action = match (ex, member) {
            (None, _) => RowAction::Invite,
            (Some(_), None) => RowAction::Add,
            (Some(_), Some(_)) if old_role.as_deref() != Some(row.role.as_str()) || !changes.is_empty() => {
                RowAction::Update
            }
            _ => RowAction::Unchanged,
        };
        planned.push(PlannedRow {
            line: row.line,
            email: row.email.clone(),
            action,
            old_role,
            new_role: row.role.as_str().into(),
            workspaces: changes,
        });
    }
    // The tenant keeps an owner: current owners not demoted by the file, plus owners in it.
    let owners = &state.owners;
    let in_file: HashMap<&str, &Row0> = rows.iter().map(|r| (r.email.as_str(), r)).collect();
    let kept = owners.iter().filter(|o| in_file.get(o.as_str()).is_none_or(|r| r.role == TenantRole::Owner)).count();
    let added = rows.iter().filter(|r| r.role == TenantRole::Owner && !owners.contains(&r.email)).count();
    if kept + added == 0 {
        let line = rows.iter().find(|r| owners.contains(&r.email)).map(|r| r.line).unwrap_or(1);
        errors.push(LineError {
            line,
            message: "this import would leave the tenant without an owner; keep or name one owner".into(),
        });
    }
    (planned, workspaces)
}

/// Validates, previews and (unless `dry_run`) applies a team import for `tenant_id`.
///
/// The file is parsed and checked here; `members_import_state` then reads, with the
/// tenant's memberships locked, what the plan needs, and in the same transaction
/// `members_import_apply` applies the planned changes all-or-nothing (re-checking every
/// row) with one audit entry. A dry run rolls back after planning.
pub async fn import(
    session: &Session,
    tenant_id: &str,
    csv_text: &str,
    dry_run: bool,
) -> Result<ImportReport, MemberError> {
    session.staff().require(permissions::MEMBERS_IMPORT)?;
    let tenant = parse_id(tenant_id, "tenant")?;
    let (rows, mut errors) = parse(csv_text);
    let emails: Vec<String> = rows.iter().map(|r| r.email.clone()).collect();
    let mut tx = session.begin(DbKind::Oltp).await?;
    let state: serde_json::Value = sqlx::query_scalar("SELECT penguin_console_api.members_import_state($1, $2)")
        .bind(tenant)
        .bind(&emails)
        .fetch_one(&mut *tx)
        .await?;
    let state: State = serde_json::from_value(state)
        .map_err(|e| MemberError::Database(sqlx::Error::Protocol(format!("unreadable import state: {e}"))))?;
    let (planned, workspaces) = plan(&state, &rows, &mut errors);
    errors.sort_by_key(|e| e.line);
    let count = rows.len() as u32 + errors.iter().map(|e| e.line).collect::<HashSet<_>>().len() as u32;
    if !errors.is_empty() {
        return Ok(ImportReport { rows: count, plan: Vec::new(), errors, applied: false });
    }
    if dry_run || planned.iter().all(|p| p.action == RowAction::Unchanged) {
        return Ok(ImportReport { rows: count, plan: planned, errors, applied: false });
    }
    let by_line: BTreeMap<u64, &Row0> = rows.iter().map(|r| (r.line, r)).collect();
    let changes: Vec<serde_json::Value> = planned
        .iter()
        .filter(|p| p.action != RowAction::Unchanged)
        .filter_map(|p| {
            let row = by_line.get(&p.line)?;
            Some(serde_json::json!({
                "line": p.line,
                "email": p.email,
                "name": row.name.trim(),
                "action": p.action,
                "role": row.role.as_str(),
                "workspaces": row.workspaces.iter()
                    .filter_map(|(name, role)| workspaces.get(&name.to_lowercase())
                        .map(|id| serde_json::json!({ "id": id, "role": role.as_str() })))
                    .collect::<Vec<_>>(),
            }))
        })
        .collect();
    let _: serde_json::Value = sqlx::query_scalar("SELECT penguin_console_api.members_import_apply($1, $2)")
        .bind(tenant)
        .bind(serde_json::Value::Array(changes))
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    after_action(session).await;
    Ok(ImportReport { rows: count, plan: planned, errors, applied: true })
}

/// Writes a tenant's team as CSV (the import's columns plus status and last login),
/// masked for viewers without `pii.view`. Returns the rows written.
pub fn export(conn: &Connection, staff: &Staff, tenant_id: &str, out: impl std::io::Write) -> Result<u64, ExportError> {
    let team = users::team(conn, staff, tenant_id)?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["email", "name", "tenant role", "workspaces", "status", "last login"])?;
    for m in &team {
        let workspaces = m.workspaces.iter().map(|ws| format!("{}:{}", ws.name, ws.role)).collect::<Vec<_>>().join(";");
        let status = serde_json::to_value(m.status).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        w.write_record([
            m.email.as_deref().unwrap_or(""),
            m.name.as_deref().unwrap_or(""),
            &m.roles.join(","),
            &workspaces,
            &status,
            m.last_login.as_deref().unwrap_or(""),
        ])?;
    }
    w.flush()?;
    Ok(team.len() as u64)
}

/// Team export errors.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading failed or was refused.
    #[error(transparent)]
    Read(#[from] UserError),
    /// Writing failed.
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
    /// Writing CSV failed.
    #[error("writing the export: {0}")]
    Csv(#[from] csv::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_checked_and_errors_carry_line_numbers() {
        let text = "Email,Name,Tenant Role,Workspaces\n\
                    ann@x.test,Ann,admin,Sales:admin;Ops:viewer\n\
                    not-an-email,Bad,member,\n\
                    ann@x.test,Ann again,member,\n\
                    bo@x.test,Bo,boss,Sales:chief\n\
                    \n\
                    cy@x.test,Cy,member,Sales\n";
        let (rows, errors) = parse(text);
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows[0].workspaces,
            vec![("Sales".to_string(), WorkspaceRole::Admin), ("Ops".into(), WorkspaceRole::Viewer)]
        );
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 5, 5, 7], "{errors:?}");
        assert!(errors[1].message.contains("already on line 2"));
    }
}
