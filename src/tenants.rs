//! Tenant reads over the cache: the Tenants screen and `penguin-admin tenants`.
//!
//! After each sync that touched their sources, two derived tables are rebuilt in the
//! same transaction: `tenant_overview` (one row per tenant with plan, status, member
//! and workspace counts and MRR) and `tenant_search`, an FTS5 trigram index over each
//! tenant's name, id, billing email and its members' names and emails, so substring
//! search never scans.
//!
//! MRR on this list is the current subscription's plan price normalised to a month
//! (an annual price divided by 12; a subscription period longer than 40 days is taken
//! as annual, since the platform stores no interval) plus its active add-ons (an
//! add-on's `price_monthly` is the line's monthly amount, its quantity included), counted
//! for `active` and `past_due` subscriptions (Stripe keeps past-due subscriptions in
//! MRR until they are canceled) and zero otherwise. Amounts are integer cents.

use rusqlite::{params_from_iter, Connection, Transaction};

use crate::cache::CacheError;

/// Tables whose change requires rebuilding the derived tenant tables.
const SOURCES: &[&str] = &[
    "tenants",
    "tenant_stats",
    "tenant_users",
    "users",
    "companies",
    "subscriptions",
    "plans",
    "subscription_addons",
    "tenant_config",
    "console_sandbox_tenants",
];

/// Rebuilds `tenant_overview` and `tenant_search` if any of their sources changed or
/// they do not exist yet. Called by the sync inside its transaction.
pub fn refresh_derived(tx: &Transaction<'_>, changed: &[&str]) -> Result<(), CacheError> {
    let exists: bool = tx
        .query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'tenant_overview')", [], |r| r.get(0))
        .map_err(CacheError::sql("checking derived tables"))?;
    if exists && !changed.iter().any(|t| SOURCES.contains(t)) {
        return Ok(());
    }
    let have = |name: &str| -> Result<bool, CacheError> {
        tx.query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)", [name], |r| {
            r.get(0)
        })
        .map_err(CacheError::sql("checking tables"))
    };
    for required in ["tenants", "tenant_users", "users", "companies", "subscriptions", "plans"] {
        if !have(required)? {
            return Ok(()); // a platform without these has no tenant list to show
        }
    }
    let addons = if have("subscription_addons")? {
        "COALESCE((SELECT SUM(CAST(ROUND(a.price_monthly * 100) AS INTEGER))
                   FROM subscription_addons a WHERE a.subscription_id = cs.id AND a.is_active = 1), 0)"
    } else {
        "0"
    };
    let billing_email = if have("tenant_config")? {
        "(SELECT billing_email FROM tenant_config c WHERE c.tenant_id = t.id)"
    } else {
        "NULL"
    };
    // Counts from the server's aggregate where it is synced: a role that sees only some
    // tenants' members (support) still sees every tenant's counts.
    let (members, workspaces) = if have("tenant_stats")? {
        (
            "COALESCE((SELECT s.members FROM tenant_stats s WHERE s.tenant_id = t.id), 0)",
            "COALESCE((SELECT s.workspaces FROM tenant_stats s WHERE s.tenant_id = t.id), 0)",
        )
    } else {
        (
            "(SELECT count(*) FROM tenant_users tu WHERE tu.tenant_id = t.id AND tu.deleted IS NULL)",
            "(SELECT count(*) FROM companies c WHERE c.tenant_id = t.id)",
        )
    };
    let sandbox = if have("console_sandbox_tenants")? {
        "EXISTS (SELECT 1 FROM console_sandbox_tenants x WHERE x.tenant_id = t.id)"
    } else {
        "0"
    };
    tx.execute_batch(&format!(
        "DROP TABLE IF EXISTS tenant_overview;
         CREATE TABLE tenant_overview AS
         WITH cs AS (
             SELECT s.*, ROW_NUMBER() OVER (PARTITION BY s.tenant_id ORDER BY s.created DESC, s.id) AS rn
             FROM subscriptions s
         ), current AS (SELECT * FROM cs WHERE rn = 1)
         SELECT t.id AS tenant_id, t.name AS name, t.created AS created, t.deleted AS deleted,
                p.name AS plan,
                CASE WHEN t.deleted IS NOT NULL THEN 'deleted'
                     WHEN cs.status IS NULL THEN 'no_subscription'
                     ELSE cs.status END AS status,
                {members} AS members,
                {workspaces} AS workspaces,
                CASE WHEN cs.status IN ('active', 'past_due') THEN
                    CASE WHEN julianday(cs.current_period_end) - julianday(cs.current_period_start) > 40
                         THEN COALESCE(p.price_yearly, 0) / 12 ELSE COALESCE(p.price_monthly, 0) END + {addons}
                ELSE 0 END AS mrr_cents,
                {billing_email} AS billing_email,
                {sandbox} AS sandbox
         FROM tenants t
         LEFT JOIN current cs ON cs.tenant_id = t.id
         LEFT JOIN plans p ON p.id = cs.plan_id;
         CREATE UNIQUE INDEX tenant_overview_id ON tenant_overview (tenant_id);
         CREATE INDEX tenant_overview_name ON tenant_overview (name COLLATE NOCASE);
         CREATE INDEX tenant_overview_mrr ON tenant_overview (mrr_cents);
         CREATE INDEX tenant_overview_created ON tenant_overview (created);
         CREATE INDEX tenant_overview_members ON tenant_overview (members);
         DROP TABLE IF EXISTS tenant_search;
         CREATE VIRTUAL TABLE tenant_search USING fts5(tenant_id UNINDEXED, body, tokenize = 'trigram');
         INSERT INTO tenant_search (tenant_id, body)
         SELECT o.tenant_id,
                o.tenant_id || ' ' || COALESCE(o.name, '') || ' ' || COALESCE(o.billing_email, '') || ' ' ||
                COALESCE((SELECT group_concat(COALESCE(u.email, '') || ' ' || COALESCE(u.name, ''), ' ')
                          FROM tenant_users tu JOIN users u ON u.id = tu.user_id WHERE tu.tenant_id = o.tenant_id), '')
         FROM tenant_overview o;
         DROP TABLE IF EXISTS palette_search;
         CREATE VIRTUAL TABLE palette_search USING fts5(kind UNINDEXED, id UNINDEXED, tenant_id UNINDEXED, body, tokenize = 'trigram');
         INSERT INTO palette_search (kind, id, tenant_id, body)
             SELECT 'tenant', tenant_id, tenant_id, tenant_id || ' ' || COALESCE(name, '') FROM tenant_overview;
         INSERT INTO palette_search (kind, id, tenant_id, body)
             SELECT 'user', u.id, (SELECT tu.tenant_id FROM tenant_users tu WHERE tu.user_id = u.id ORDER BY tu.created LIMIT 1),
                    u.id || ' ' || COALESCE(u.email, '') || ' ' || COALESCE(u.name, '') FROM users u;
         INSERT INTO palette_search (kind, id, tenant_id, body)
             SELECT 'workspace', c.id, c.tenant_id, c.id || ' ' || COALESCE(c.name, '') || ' ' || COALESCE(c.workspace_name, '')
             FROM companies c;"
    ))
    .map_err(CacheError::sql("rebuilding the tenant list"))
}

/// Sortable columns of the tenant list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum TenantSort {
    /// By name (default).
    #[default]
    Name,
    /// By plan name.
    Plan,
    /// By status.
    Status,
    /// By member count.
    Members,
    /// By workspace count.
    Workspaces,
    /// By MRR.
    Mrr,
    /// By creation time.
    Created,
}

impl TenantSort {
    fn column(self) -> &'static str {
        match self {
            TenantSort::Name => "o.name COLLATE NOCASE",
            TenantSort::Plan => "o.plan",
            TenantSort::Status => "o.status",
            TenantSort::Members => "o.members",
            TenantSort::Workspaces => "o.workspaces",
            TenantSort::Mrr => "o.mrr_cents",
            TenantSort::Created => "o.created",
        }
    }
}

/// A tenant list request.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TenantQuery {
    /// Substring of the name, id, billing email or a member's name or email.
    pub search: Option<String>,
    /// Sort column.
    pub sort: TenantSort,
    /// Descending order.
    pub descending: bool,
    /// Page size (1–500, default 50).
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u32>,
    /// Only sandbox tenants (the qa role).
    pub sandbox_only: bool,
}

/// One row of the tenant list.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TenantRow {
    /// Tenant id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Current plan name, if subscribed.
    pub plan: Option<String>,
    /// active / past_due / canceled / unpaid / no_subscription / deleted.
    pub status: String,
    /// Active members.
    pub members: i64,
    /// Workspaces.
    pub workspaces: i64,
    /// Monthly recurring revenue in cents.
    pub mrr_cents: i64,
    /// Creation time (UTC, ISO-8601).
    pub created: Option<String>,
}

/// A page of tenants.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TenantPage {
    /// Rows of this page.
    pub rows: Vec<TenantRow>,
    /// Rows matching in all.
    pub total: i64,
    /// When the tenant data was last synced (UTC).
    pub as_of: Option<String>,
}

/// Longest search text accepted; longer input is cut (a search box, not a document).
pub const MAX_SEARCH_CHARS: usize = 200;

/// A [`TenantRow`] from `tenant_id, name, plan, status, members, workspaces, mrr_cents, created`.
fn tenant_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TenantRow> {
    Ok(TenantRow {
        id: r.get(0)?,
        name: r.get(1)?,
        plan: r.get(2)?,
        status: r.get(3)?,
        members: r.get(4)?,
        workspaces: r.get(5)?,
        mrr_cents: r.get(6)?,
        created: r.get(7)?,
    })
}

/// Lists tenants, filtered, sorted and paged in SQL.
pub fn list(conn: &Connection, q: &TenantQuery) -> Result<TenantPage, CacheError> {
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let offset = q.offset.unwrap_or(0);
    let mut filters: Vec<String> = Vec::new();
    let mut args: Vec<String> = Vec::new();
    let search: String = q.search.as_deref().unwrap_or("").trim().chars().take(MAX_SEARCH_CHARS).collect();
    if !search.is_empty() {
        if search.chars().count() >= 3 {
            // A quoted FTS5 phrase: the trigram tokenizer turns it into a substring match.
            filters.push("o.tenant_id IN (SELECT tenant_id FROM tenant_search WHERE tenant_search MATCH ?)".into());
            args.push(format!("\"{}\"", search.replace('"', "\"\"")));
        } else {
            // Trigrams need three characters; one or two match name prefixes.
            filters.push("o.name LIKE ? ESCAPE '\\' COLLATE NOCASE".into());
            args.push(format!("{}%", search.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
        }
    }
    if q.sandbox_only {
        filters.push("o.sandbox = 1".into());
    }
    let where_sql = if filters.is_empty() { String::new() } else { format!("WHERE {}", filters.join(" AND ")) };
    let order = format!("{} {}, o.tenant_id", q.sort.column(), if q.descending { "DESC" } else { "ASC" });
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM tenant_overview o {where_sql}"))
        .and_then(|mut s| s.query_row(params_from_iter(args.iter()), |r| r.get(0)))
        .map_err(CacheError::sql("counting tenants"))?;
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT o.tenant_id, COALESCE(o.name, ''), o.plan, o.status, o.members, o.workspaces, o.mrr_cents, o.created
             FROM tenant_overview o {where_sql} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
        ))
        .map_err(CacheError::sql("listing tenants"))?;
    let rows = stmt
        .query_map(params_from_iter(args.iter()), tenant_row)
        .map_err(CacheError::sql("listing tenants"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(CacheError::sql("listing tenants"))?;
    let as_of = crate::cache::table_as_of(conn, "tenants")?;
    Ok(TenantPage { rows, total, as_of })
}

/// A member of a tenant, as the detail view shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MemberRow {
    /// `users.id`.
    pub user_id: String,
    /// Name.
    pub name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Tenant roles (owner / admin / member).
    pub roles: Vec<String>,
    /// active / invited / removed.
    pub status: String,
    /// Start of the most recent session (UTC), if any.
    pub last_login: Option<String>,
}

/// A workspace of a tenant.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WorkspaceRow {
    /// `companies.id`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Status.
    pub status: Option<String>,
    /// Campaigns.
    pub campaigns: i64,
    /// Sending domains.
    pub domains: i64,
}

/// The tenant's current subscription.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SubscriptionInfo {
    /// Plan name.
    pub plan: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// monthly / annual (from the period length).
    pub interval: String,
    /// Current period end (UTC).
    pub current_period_end: Option<String>,
    /// Cancels at period end.
    pub cancel_at_period_end: bool,
    /// Stripe subscription id.
    pub stripe_subscription_id: Option<String>,
}

/// A feature flag as it applies to the tenant.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FlagRow {
    /// Flag key.
    pub key: String,
    /// Enabled platform-wide.
    pub enabled: bool,
    /// Rollout percentage.
    pub rollout_percentage: i64,
}

/// Everything the tenant detail view shows.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TenantDetail {
    /// The list row.
    pub tenant: TenantRow,
    /// Members, owners first.
    pub members: Vec<MemberRow>,
    /// Workspaces.
    pub workspaces: Vec<WorkspaceRow>,
    /// Current subscription.
    pub subscription: Option<SubscriptionInfo>,
    /// Feature flags.
    pub feature_flags: Vec<FlagRow>,
    /// Whether the tenant is a QA sandbox.
    pub sandbox: bool,
}

fn collect<T>(
    rows: rusqlite::Result<rusqlite::MappedRows<'_, impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>>>,
    what: &str,
) -> Result<Vec<T>, CacheError> {
    rows.map_err(CacheError::sql(what.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(CacheError::sql(what.to_string()))
}

/// The detail of one tenant, or `None` if the cache does not know it.
pub fn detail(conn: &Connection, id: &str) -> Result<Option<TenantDetail>, CacheError> {
    let head = conn.query_row(
        "SELECT tenant_id, COALESCE(name, ''), plan, status, members, workspaces, mrr_cents, created, sandbox
         FROM tenant_overview WHERE tenant_id = ?1",
        [id],
        |r| Ok((tenant_row(r)?, r.get::<_, i64>(8)? != 0)),
    );
    let (tenant, sandbox) = match head {
        Ok(v) => v,
        Err(rusqlite::Error::QueryReturnedNoRows) => return Ok(None),
        Err(e) => return Err(CacheError::sql("reading a tenant")(e)),
    };
    let has_sessions: bool = conn
        .query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'auth_sessions')", [], |r| r.get(0))
        .map_err(CacheError::sql("reading the schema"))?;
    let last_login =
        if has_sessions { "(SELECT max(s.created_at) FROM auth_sessions s WHERE s.user_id = u.id)" } else { "NULL" };
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT u.id, u.name, COALESCE(u.email, tu.email), tu.roles,
                    CASE WHEN tu.deleted IS NOT NULL OR u.deleted IS NOT NULL THEN 'removed'
                         WHEN u.email_verified IS NULL THEN 'invited' ELSE 'active' END,
                    {last_login}
             FROM tenant_users tu JOIN users u ON u.id = tu.user_id WHERE tu.tenant_id = ?1
             ORDER BY (tu.roles NOT LIKE '%owner%'), (tu.roles NOT LIKE '%admin%'), u.name COLLATE NOCASE"
        ))
        .map_err(CacheError::sql("reading members"))?;
    let members = collect(
        stmt.query_map([id], |r| {
            let roles: Option<String> = r.get(3)?;
            Ok(MemberRow {
                user_id: r.get(0)?,
                name: r.get(1)?,
                email: r.get(2)?,
                roles: roles.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default(),
                status: r.get(4)?,
                last_login: r.get(5)?,
            })
        }),
        "reading members",
    )?;
    let mut stmt = conn
        .prepare_cached(
            "SELECT c.id, c.name, c.status,
                    (SELECT count(*) FROM campaigns k WHERE k.company_id = c.id),
                    (SELECT count(*) FROM domains d WHERE d.company_id = c.id)
             FROM companies c WHERE c.tenant_id = ?1 ORDER BY c.name COLLATE NOCASE",
        )
        .map_err(CacheError::sql("reading workspaces"))?;
    let workspaces = collect(
        stmt.query_map([id], |r| {
            Ok(WorkspaceRow {
                id: r.get(0)?,
                name: r.get(1)?,
                status: r.get(2)?,
                campaigns: r.get(3)?,
                domains: r.get(4)?,
            })
        }),
        "reading workspaces",
    )?;
    let subscription = conn
        .query_row(
            "SELECT p.name, s.status,
                    CASE WHEN julianday(s.current_period_end) - julianday(s.current_period_start) > 40 THEN 'annual' ELSE 'monthly' END,
                    s.current_period_end, COALESCE(s.cancel_at_period_end, 0), s.stripe_subscription_id
             FROM subscriptions s LEFT JOIN plans p ON p.id = s.plan_id
             WHERE s.tenant_id = ?1 ORDER BY s.created DESC, s.id LIMIT 1",
            [id],
            |r| {
                Ok(SubscriptionInfo {
                    plan: r.get(0)?,
                    status: r.get(1)?,
                    interval: r.get(2)?,
                    current_period_end: r.get(3)?,
                    cancel_at_period_end: r.get::<_, i64>(4)? != 0,
                    stripe_subscription_id: r.get(5)?,
                })
            },
        )
        .map(Some)
        .or_else(|e| if matches!(e, rusqlite::Error::QueryReturnedNoRows) { Ok(None) } else { Err(e) })
        .map_err(CacheError::sql("reading the subscription"))?;
    let mut stmt = conn
        .prepare_cached(
            "SELECT key, COALESCE(is_enabled, 0), COALESCE(rollout_percentage, 0) FROM feature_flags ORDER BY key",
        )
        .map_err(CacheError::sql("reading feature flags"))?;
    let feature_flags = collect(
        stmt.query_map([], |r| {
            Ok(FlagRow { key: r.get(0)?, enabled: r.get::<_, i64>(1)? != 0, rollout_percentage: r.get(2)? })
        }),
        "reading feature flags",
    )?;
    Ok(Some(TenantDetail { tenant, members, workspaces, subscription, feature_flags, sandbox }))
}

/// A command-palette hit.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PaletteHit {
    /// tenant / user / workspace.
    pub kind: String,
    /// Its id.
    pub id: String,
    /// The tenant to open for it.
    pub tenant_id: Option<String>,
    /// What was matched (name, email…), for display.
    pub label: String,
}

/// Jumps to any tenant, user or workspace by name, email or id (3+ characters).
pub fn palette(conn: &Connection, text: &str, limit: u32) -> Result<Vec<PaletteHit>, CacheError> {
    let text: String = text.trim().chars().take(MAX_SEARCH_CHARS).collect();
    if text.chars().count() < 3 {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare_cached(
            "SELECT kind, id, tenant_id, body FROM palette_search WHERE palette_search MATCH ?1
             ORDER BY CASE kind WHEN 'tenant' THEN 0 WHEN 'workspace' THEN 1 ELSE 2 END, rank LIMIT ?2",
        )
        .map_err(CacheError::sql("searching"))?;
    collect(
        stmt.query_map(rusqlite::params![format!("\"{}\"", text.replace('"', "\"\"")), limit.clamp(1, 100)], |r| {
            let id: String = r.get(1)?;
            let body: String = r.get(3)?;
            // The body starts with the id; the rest is the human label.
            let label = body.strip_prefix(&id).unwrap_or(&body).trim().to_string();
            Ok(PaletteHit { kind: r.get(0)?, id, tenant_id: r.get(2)?, label })
        }),
        "searching",
    )
}

/// Ids of the sandbox (QA) tenants.
pub fn sandbox_ids(conn: &Connection) -> Result<std::collections::HashSet<String>, CacheError> {
    let mut stmt = conn
        .prepare_cached("SELECT tenant_id FROM tenant_overview WHERE sandbox = 1")
        .map_err(CacheError::sql("reading sandbox tenants"))?;
    collect(stmt.query_map([], |r| r.get(0)), "reading sandbox tenants").map(|v| v.into_iter().collect())
}
