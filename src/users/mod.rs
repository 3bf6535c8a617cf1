//! Platform users across all tenants, read from the cache: the global user search and
//! the user detail (profile, tenants, workspaces, sessions, sign-ins, audit trail).
//!
//! ## Status
//! A user's status is derived, first match wins: `deleted` (`users.deleted`),
//! `suspended` (a row in the console's `user_suspensions`, see [`crate::members`]),
//! `locked` (an unresolved `login_lockout` event still inside its lock window, see
//! [`sessions`]), `invited` (email never verified), `removed` (member of no tenant any
//! more), else `active`. A membership's status is `removed` when its `tenant_users` row
//! is soft-deleted, else the user's.
//!
//! Every function takes the signed-in [`Staff`]: support sees names, emails and IPs
//! masked; qa sees only users of sandbox tenants, and only those tenants.
//! Tables the platform may lack (suspensions, system events, the audit log) are
//! optional: without them the parts they feed are empty.

pub mod sessions;

use rusqlite::{params_from_iter, Connection, OptionalExtension};

use crate::auth::{masking, permissions, AuthError, Staff};
use crate::cache::CacheError;

/// User read errors.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// The viewer's role does not allow it.
    #[error(transparent)]
    Forbidden(#[from] AuthError),
    /// The cache failed.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// No such user in the cache (or not visible to a sandbox-only viewer).
    #[error("no user {0} in the cache; sync, or check the id")]
    NotFound(String),
    /// A filter value is not one of the allowed ones.
    #[error("{0}")]
    BadInput(String),
}

/// Lock length when a lockout event does not say (the platform's default, 15 minutes).
pub const DEFAULT_LOCK_MINUTES: i64 = 15;

/// A user's (or a membership's) status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum UserStatus {
    /// Can sign in.
    Active,
    /// Invited, email not verified yet.
    Invited,
    /// Locked after too many failed sign-ins.
    Locked,
    /// Suspended by staff.
    Suspended,
    /// No longer a member (of this tenant, or of any tenant).
    Removed,
    /// The account is deleted.
    Deleted,
}

impl UserStatus {
    fn parse(s: &str) -> UserStatus {
        match s {
            "invited" => UserStatus::Invited,
            "locked" => UserStatus::Locked,
            "suspended" => UserStatus::Suspended,
            "removed" => UserStatus::Removed,
            "deleted" => UserStatus::Deleted,
            _ => UserStatus::Active,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Invited => "invited",
            UserStatus::Locked => "locked",
            UserStatus::Suspended => "suspended",
            UserStatus::Removed => "removed",
            UserStatus::Deleted => "deleted",
        }
    }
}

/// The tenant roles of the platform (Nile's `tenant_users.roles`).
pub const TENANT_ROLES: &[&str] = &["owner", "admin", "member"];

/// A user search request.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UserQuery {
    /// Email, name or id: 1–2 characters match a prefix, 3 or more a substring.
    pub search: Option<String>,
    /// Only users holding this tenant role (owner / admin / member) in some tenant
    /// (in `tenant_id` when that is given too).
    pub tenant_role: Option<String>,
    /// Only users with this status.
    pub status: Option<UserStatus>,
    /// Only members of tenants on this plan (name or slug, any case).
    pub plan: Option<String>,
    /// Only members (current or removed) of this tenant.
    pub tenant_id: Option<String>,
    /// Page size (1–500, default 50).
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u32>,
}

/// A tenant a user belongs to, as the search row shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UserTenant {
    /// Tenant id.
    pub tenant_id: String,
    /// Tenant name.
    pub tenant_name: Option<String>,
    /// Tenant roles (owner / admin / member).
    pub roles: Vec<String>,
    /// The tenant's current plan.
    pub plan: Option<String>,
    /// Status of this membership.
    pub status: UserStatus,
    /// When the membership was created (UTC).
    pub joined: Option<String>,
    /// Whether the tenant is a QA sandbox.
    pub sandbox: bool,
}

/// One row of the user search.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UserRow {
    /// `users.id`.
    pub id: String,
    /// Name (masked for support).
    pub name: Option<String>,
    /// Email (masked for support).
    pub email: Option<String>,
    /// Status.
    pub status: UserStatus,
    /// Account creation (UTC).
    pub created: Option<String>,
    /// Start of the most recent session (UTC).
    pub last_login: Option<String>,
    /// Tenants, current memberships first.
    pub tenants: Vec<UserTenant>,
}

/// A page of users.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UserPage {
    /// Rows of this page.
    pub rows: Vec<UserRow>,
    /// Users matching in all.
    pub total: i64,
    /// When the user data was last synced (UTC).
    pub as_of: Option<String>,
}

pub(crate) fn has_table(conn: &Connection, name: &str) -> Result<bool, CacheError> {
    conn.query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = ?1)", [name], |r| r.get(0))
        .map_err(CacheError::sql("reading the cache's tables"))
}

pub(crate) fn has_column(conn: &Connection, table: &str, column: &str) -> Result<bool, CacheError> {
    conn.query_row("SELECT EXISTS (SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2)", [table, column], |r| r.get(0))
        .map_err(CacheError::sql("reading the cache's columns"))
}

/// SQL expressions over the optional tables, for a user aliased `u`.
struct Exprs {
    suspended: &'static str,
    locked: String,
    last_login: &'static str,
    sandbox: &'static str,
}

impl Exprs {
    fn new(conn: &Connection) -> Result<Exprs, CacheError> {
        let suspended = if has_table(conn, "console_user_suspensions")? {
            "EXISTS (SELECT 1 FROM console_user_suspensions s WHERE s.user_id = u.id)"
        } else {
            "0"
        };
        let locked = if has_table(conn, "admin_system_events")? {
            format!(
                "EXISTS (SELECT 1 FROM admin_system_events e WHERE e.user_id = u.id AND e.event_type = 'login_lockout'
                   AND COALESCE(e.is_resolved, 0) = 0
                   AND julianday(e.created_at) + COALESCE(json_extract(e.details, '$.lock_minutes'), {DEFAULT_LOCK_MINUTES}) / 1440.0
                       > julianday('now'))"
            )
        } else {
            "0".into()
        };
        let last_login = if has_table(conn, "auth_sessions")? {
            "(SELECT max(s.created_at) FROM auth_sessions s WHERE s.user_id = u.id)"
        } else {
            "NULL"
        };
        let sandbox = if has_table(conn, "console_sandbox_tenants")? {
            "EXISTS (SELECT 1 FROM console_sandbox_tenants x WHERE x.tenant_id = tu.tenant_id)"
        } else {
            "0"
        };
        Ok(Exprs { suspended, locked, last_login, sandbox })
    }

    fn user_status(&self) -> String {
        format!(
            "CASE WHEN u.deleted IS NOT NULL THEN 'deleted'
                  WHEN {} THEN 'suspended'
                  WHEN {} THEN 'locked'
                  WHEN u.email_verified IS NULL THEN 'invited'
                  WHEN EXISTS (SELECT 1 FROM tenant_users m WHERE m.user_id = u.id)
                   AND NOT EXISTS (SELECT 1 FROM tenant_users m WHERE m.user_id = u.id AND m.deleted IS NULL) THEN 'removed'
                  ELSE 'active' END",
            self.suspended, self.locked
        )
    }
}

pub(crate) fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Searches users across all tenants, filtered and paged in SQL.
pub fn search(conn: &Connection, staff: &Staff, q: &UserQuery) -> Result<UserPage, UserError> {
    staff.require_any(&[permissions::TENANTS_READ, permissions::TENANTS_READ_SANDBOX])?;
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let offset = q.offset.unwrap_or(0);
    let x = Exprs::new(conn)?;
    let mut filters: Vec<String> = Vec::new();
    // Positional `?` bind in text order: the ranking expression (select list) comes
    // before the filters (WHERE), so each keeps its own argument list.
    let mut args: Vec<String> = Vec::new();
    let mut rank_args: Vec<String> = Vec::new();
    let mut rank = "0".to_string();
    let text: String =
        q.search.as_deref().unwrap_or("").trim().chars().take(crate::tenants::MAX_SEARCH_CHARS).collect();
    if !text.is_empty() {
        let prefix = format!("{}%", escape_like(&text));
        let starts = "(u.email LIKE ? ESCAPE '\\' OR u.name LIKE ? ESCAPE '\\' OR u.id LIKE ? ESCAPE '\\')";
        if text.chars().count() >= 3 && has_table(conn, "palette_search")? {
            // A quoted FTS5 phrase: the trigram tokenizer makes it a substring match.
            filters
                .push("u.id IN (SELECT id FROM palette_search WHERE palette_search MATCH ? AND kind = 'user')".into());
            args.push(format!("\"{}\"", text.replace('"', "\"\"")));
        } else {
            filters.push(starts.into());
            args.extend([prefix.clone(), prefix.clone(), prefix.clone()]);
        }
        // Autocomplete: what starts with the text comes before what merely contains it.
        rank = format!("CASE WHEN {starts} THEN 0 ELSE 1 END");
        rank_args.extend([prefix.clone(), prefix.clone(), prefix]);
    }
    let mut member: Vec<String> = Vec::new();
    if let Some(role) = q.tenant_role.as_deref().filter(|r| !r.is_empty()) {
        if !TENANT_ROLES.contains(&role) {
            return Err(UserError::BadInput(format!("unknown tenant role `{role}`; use owner, admin or member")));
        }
        member.push("tu.deleted IS NULL AND EXISTS (SELECT 1 FROM json_each(tu.roles) r WHERE r.value = ?)".into());
        args.push(role.to_string());
    }
    if let Some(plan) = q.plan.as_deref().filter(|p| !p.is_empty()) {
        member.push(
            "tu.tenant_id IN (SELECT o.tenant_id FROM tenant_overview o LEFT JOIN plans p ON p.name = o.plan
                              WHERE lower(o.plan) = lower(?) OR lower(p.slug) = lower(?))"
                .into(),
        );
        args.extend([plan.to_string(), plan.to_string()]);
    }
    if let Some(t) = q.tenant_id.as_deref().filter(|t| !t.is_empty()) {
        member.push("tu.tenant_id = ?".into());
        args.push(t.to_string());
    }
    if staff.sandbox_only() {
        member.push(x.sandbox.to_string());
    }
    if !member.is_empty() {
        filters.push(format!(
            "EXISTS (SELECT 1 FROM tenant_users tu WHERE tu.user_id = u.id AND {})",
            member.join(" AND ")
        ));
    }
    let where_sql = if filters.is_empty() { String::new() } else { format!("WHERE {}", filters.join(" AND ")) };
    let status_filter = match q.status {
        Some(s) => format!("WHERE x.status = '{}'", s.as_str()),
        None => String::new(),
    };
    let inner = |rank: &str| {
        format!(
            "SELECT u.id, u.name, u.email, {} AS status, u.created, {} AS last_login, {rank} AS rank
             FROM users u {where_sql}",
            x.user_status(),
            x.last_login
        )
    };
    let total: i64 = conn
        .prepare(&format!("SELECT count(*) FROM ({}) x {status_filter}", inner("0")))
        .and_then(|mut s| s.query_row(params_from_iter(args.iter()), |r| r.get(0)))
        .map_err(CacheError::sql("counting users"))?;
    let sql = format!(
        "SELECT x.id, x.name, x.email, x.status, x.created, x.last_login FROM ({}) x {status_filter}
         ORDER BY x.rank, lower(COALESCE(x.email, '')), x.id LIMIT {limit} OFFSET {offset}",
        inner(&rank)
    );
    let args: Vec<String> = rank_args.into_iter().chain(args).collect();
    let mut stmt = conn.prepare(&sql).map_err(CacheError::sql("searching users"))?;
    let mut rows: Vec<UserRow> = stmt
        .query_map(params_from_iter(args.iter()), |r| {
            Ok(UserRow {
                id: r.get(0)?,
                name: r.get(1)?,
                email: r.get(2)?,
                status: UserStatus::parse(&r.get::<_, String>(3)?),
                created: r.get(4)?,
                last_login: r.get(5)?,
                tenants: Vec::new(),
            })
        })
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(CacheError::sql("searching users"))?;
    for row in &mut rows {
        row.tenants = memberships(conn, &x, &row.id, staff.sandbox_only())?;
        if staff.masked() {
            row.name = row.name.as_deref().map(masking::name);
            row.email = row.email.as_deref().map(masking::email);
        }
    }
    let as_of = crate::cache::table_as_of(conn, "users")?;
    Ok(UserPage { rows, total, as_of })
}

fn memberships(conn: &Connection, x: &Exprs, user_id: &str, sandbox_only: bool) -> Result<Vec<UserTenant>, CacheError> {
    let sandbox_filter = if sandbox_only { format!("AND {}", x.sandbox) } else { String::new() };
    let sql = format!(
        "SELECT tu.tenant_id, t.name, tu.roles,
                (SELECT o.plan FROM tenant_overview o WHERE o.tenant_id = tu.tenant_id),
                CASE WHEN tu.deleted IS NOT NULL THEN 'removed' ELSE {} END, tu.created, {}
         FROM tenant_users tu JOIN users u ON u.id = tu.user_id LEFT JOIN tenants t ON t.id = tu.tenant_id
         WHERE tu.user_id = ?1 {sandbox_filter}
         ORDER BY tu.deleted IS NOT NULL, t.name COLLATE NOCASE",
        x.user_status(),
        x.sandbox
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(CacheError::sql("reading memberships"))?;
    let rows = stmt
        .query_map([user_id], |r| {
            let roles: Option<String> = r.get(2)?;
            Ok(UserTenant {
                tenant_id: r.get(0)?,
                tenant_name: r.get(1)?,
                roles: roles.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default(),
                plan: r.get(3)?,
                status: UserStatus::parse(&r.get::<_, String>(4)?),
                joined: r.get(5)?,
                sandbox: r.get::<_, i64>(6)? != 0,
            })
        })
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(CacheError::sql("reading memberships"))?;
    Ok(rows)
}

/// A user's profile.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UserProfile {
    /// `users.id`.
    pub id: String,
    /// Name (masked for support).
    pub name: Option<String>,
    /// Given name (hidden for support).
    pub given_name: Option<String>,
    /// Family name (hidden for support).
    pub family_name: Option<String>,
    /// Email (masked for support).
    pub email: Option<String>,
    /// When the email was verified (UTC); `None` = invitation not accepted.
    pub email_verified: Option<String>,
    /// Account creation (UTC).
    pub created: Option<String>,
    /// Status.
    pub status: UserStatus,
    /// Whether the user is also platform staff (staff accounts are not managed here).
    pub is_staff: bool,
}

/// A workspace the user belongs to.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UserWorkspace {
    /// `companies.id`.
    pub workspace_id: String,
    /// Workspace name.
    pub name: String,
    /// Its tenant.
    pub tenant_id: String,
    /// Workspace role (admin / member / viewer).
    pub role: String,
    /// Workspace status.
    pub status: Option<String>,
}

/// An audit entry about the user.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UserAuditRow {
    /// `admin_audit_log.id`.
    pub id: i64,
    /// When (UTC).
    pub at: Option<String>,
    /// Staff id who acted.
    pub actor: String,
    /// Action name.
    pub action: String,
    /// Tenant concerned.
    pub tenant_id: String,
    /// Values before, as JSON text (emails masked for support).
    pub old_values: Option<String>,
    /// Values after, as JSON text (emails masked for support).
    pub new_values: Option<String>,
    /// Notes (emails masked for support).
    pub notes: Option<String>,
}

/// Everything the user detail page shows.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UserDetail {
    /// Profile.
    pub profile: UserProfile,
    /// Tenants with roles.
    pub tenants: Vec<UserTenant>,
    /// Workspaces with roles.
    pub workspaces: Vec<UserWorkspace>,
    /// Sessions (active ones, with what can be revoked).
    pub sessions: sessions::UserSessions,
    /// Sign-in activity and lockout state.
    pub sign_ins: sessions::SignInActivity,
    /// Audit entries about the user, newest first (at most 100).
    pub audit: Vec<UserAuditRow>,
    /// When the user data was last synced (UTC).
    pub as_of: Option<String>,
}

/// Most audit entries the detail shows.
pub const AUDIT_LIMIT: i64 = 100;

/// The detail of one user.
pub fn detail(conn: &Connection, staff: &Staff, user_id: &str) -> Result<UserDetail, UserError> {
    staff.require_any(&[permissions::TENANTS_READ, permissions::TENANTS_READ_SANDBOX])?;
    let x = Exprs::new(conn)?;
    let staff_expr = if has_table(conn, "staff_members")? {
        "EXISTS (SELECT 1 FROM staff_members sm WHERE sm.user_id = u.id)"
    } else {
        "0"
    };
    let profile = conn
        .query_row(
            &format!(
                "SELECT u.id, u.name, u.given_name, u.family_name, u.email, u.email_verified, u.created, {}, {staff_expr}
                 FROM users u WHERE u.id = ?1",
                x.user_status()
            ),
            [user_id],
            |r| {
                Ok(UserProfile {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    given_name: r.get(2)?,
                    family_name: r.get(3)?,
                    email: r.get(4)?,
                    email_verified: r.get(5)?,
                    created: r.get(6)?,
                    status: UserStatus::parse(&r.get::<_, String>(7)?),
                    is_staff: r.get::<_, i64>(8)? != 0,
                })
            },
        )
        .optional()
        .map_err(CacheError::sql("reading a user"))?;
    let Some(mut profile) = profile else { return Err(UserError::NotFound(user_id.to_string())) };
    let tenants = memberships(conn, &x, user_id, staff.sandbox_only())?;
    if staff.sandbox_only() && tenants.is_empty() {
        return Err(UserError::NotFound(user_id.to_string()));
    }
    let visible: Vec<String> = tenants.iter().map(|t| t.tenant_id.clone()).collect();
    let workspaces = workspaces_of(conn, user_id)?
        .into_iter()
        .filter(|w| !staff.sandbox_only() || visible.contains(&w.tenant_id))
        .collect();
    let sessions = sessions::read_sessions(conn, user_id, staff.masked())?;
    let sign_ins = sessions::read_sign_ins(conn, user_id, &visible, staff.masked())?;
    let audit = audit_about(conn, user_id, staff)?;
    if staff.masked() {
        profile.name = profile.name.as_deref().map(masking::name);
        profile.email = profile.email.as_deref().map(masking::email);
        profile.given_name = None;
        profile.family_name = None;
    }
    let as_of = crate::cache::table_as_of(conn, "users")?;
    Ok(UserDetail { profile, tenants, workspaces, sessions, sign_ins, audit, as_of })
}

fn workspaces_of(conn: &Connection, user_id: &str) -> Result<Vec<UserWorkspace>, CacheError> {
    if !has_table(conn, "console_workspace_members")? {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare_cached(
            "SELECT c.id, c.name, c.tenant_id, wm.role, c.status
             FROM console_workspace_members wm JOIN companies c ON c.id = wm.company_id
             WHERE wm.user_id = ?1 ORDER BY c.name COLLATE NOCASE",
        )
        .map_err(CacheError::sql("reading workspaces"))?;
    let rows = stmt
        .query_map([user_id], |r| {
            Ok(UserWorkspace {
                workspace_id: r.get(0)?,
                name: r.get(1)?,
                tenant_id: r.get(2)?,
                role: r.get(3)?,
                status: r.get(4)?,
            })
        })
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(CacheError::sql("reading workspaces"))?;
    Ok(rows)
}

fn audit_about(conn: &Connection, user_id: &str, staff: &Staff) -> Result<Vec<UserAuditRow>, CacheError> {
    if !has_table(conn, "admin_audit_log")?
        || !staff.can(permissions::AUDIT_READ) && !staff.can(permissions::TENANTS_READ)
    {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, creation_time, admin_user_id, action, tenant_id, old_values, new_values, notes
             FROM admin_audit_log WHERE resource_id = ?1 ORDER BY creation_time DESC, id DESC LIMIT ?2",
        )
        .map_err(CacheError::sql("reading the audit trail"))?;
    let mut rows = stmt
        .query_map(rusqlite::params![user_id, AUDIT_LIMIT], |r| {
            Ok(UserAuditRow {
                id: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                tenant_id: r.get(4)?,
                old_values: r.get(5)?,
                new_values: r.get(6)?,
                notes: r.get(7)?,
            })
        })
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(CacheError::sql("reading the audit trail"))?;
    if staff.masked() {
        for row in &mut rows {
            row.old_values = row.old_values.as_deref().map(masking::text);
            row.new_values = row.new_values.as_deref().map(masking::text);
            row.notes = row.notes.as_deref().map(masking::text);
        }
    }
    Ok(rows)
}

/// A workspace role held by a team member.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WorkspaceRoleRef {
    /// `companies.id`.
    pub workspace_id: String,
    /// Workspace name.
    pub name: String,
    /// admin / member / viewer.
    pub role: String,
}

/// A member of a tenant's team.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TeamMember {
    /// `users.id`.
    pub user_id: String,
    /// Name (masked for support).
    pub name: Option<String>,
    /// Email (masked for support).
    pub email: Option<String>,
    /// Tenant roles.
    pub roles: Vec<String>,
    /// Membership status.
    pub status: UserStatus,
    /// Start of the most recent session (UTC).
    pub last_login: Option<String>,
    /// Workspaces of this tenant with the member's role.
    pub workspaces: Vec<WorkspaceRoleRef>,
}

/// The team of a tenant: members (owners first, then admins, then by name) with status,
/// last login and workspace roles.
pub fn team(conn: &Connection, staff: &Staff, tenant_id: &str) -> Result<Vec<TeamMember>, UserError> {
    staff.require_any(&[permissions::TENANTS_READ, permissions::TENANTS_READ_SANDBOX])?;
    let x = Exprs::new(conn)?;
    if staff.sandbox_only() {
        let sandbox: bool = conn
            .query_row(&format!("SELECT {} FROM (SELECT ?1 AS tenant_id) tu", x.sandbox), [tenant_id], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(CacheError::sql("reading sandbox tenants"))?
            != 0;
        if !sandbox {
            return Err(UserError::NotFound(format!("tenant {tenant_id}")));
        }
    }
    let sql = format!(
        "SELECT u.id, u.name, COALESCE(u.email, tu.email), tu.roles,
                CASE WHEN tu.deleted IS NOT NULL THEN 'removed' ELSE {} END, {}
         FROM tenant_users tu JOIN users u ON u.id = tu.user_id WHERE tu.tenant_id = ?1
         ORDER BY tu.deleted IS NOT NULL, (tu.roles NOT LIKE '%owner%'), (tu.roles NOT LIKE '%admin%'),
                  u.name COLLATE NOCASE, u.id",
        x.user_status(),
        x.last_login
    );
    let mut stmt = conn.prepare(&sql).map_err(CacheError::sql("reading the team"))?;
    let mut rows = stmt
        .query_map([tenant_id], |r| {
            let roles: Option<String> = r.get(3)?;
            Ok(TeamMember {
                user_id: r.get(0)?,
                name: r.get(1)?,
                email: r.get(2)?,
                roles: roles.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default(),
                status: UserStatus::parse(&r.get::<_, String>(4)?),
                last_login: r.get(5)?,
                workspaces: Vec::new(),
            })
        })
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(CacheError::sql("reading the team"))?;
    for m in &mut rows {
        m.workspaces = workspaces_of(conn, &m.user_id)?
            .into_iter()
            .filter(|w| w.tenant_id == tenant_id)
            .map(|w| WorkspaceRoleRef { workspace_id: w.workspace_id, name: w.name, role: w.role })
            .collect();
        if staff.masked() {
            m.name = m.name.as_deref().map(masking::name);
            m.email = m.email.as_deref().map(masking::email);
        }
    }
    Ok(rows)
}
