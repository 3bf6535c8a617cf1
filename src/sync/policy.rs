//! What each role may read of each cached table: the role-scoped views `install`
//! generates in the `penguin_console_api` schema, one per cached table, named like the
//! cache table. The sync reads these views, never the tables, so the cache of a staff
//! member holds only what their role may see.
//!
//! A view keeps the table's columns (so every role's cache has the same shape) and
//! decides, in SQL on the server:
//! - **which rows**: [`Rows`] — a permission, the tenant list scope (every tenant, or
//!   qa's sandbox tenants), or the tenant *detail* scope (every tenant for roles with
//!   `tenants.details`; for support only the tenants of an open "view as tenant" grant;
//!   for qa the sandbox tenants);
//! - **which values**: [`Col`] — for roles without `pii.view`, e-mail addresses, names
//!   and client IP addresses are masked, free text written by people is withheld and
//!   machine text (errors, logs, payloads) is pattern-masked; secrets are not in the
//!   view at all, for anyone.
//!
//! Tables marked `personal` hide, from roles without `pii.view`, every text or JSON
//! column this policy does not name, so a column the platform adds later is withheld
//! until someone decides it is safe. A view is evaluated with its owner's rights (the
//! installer's), so the desktop login needs no privilege on the tables themselves.

use super::tables::SourceTable;
use crate::central::DbKind;

/// How a column appears to a role without `pii.view` (everyone else sees it as is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    /// An e-mail address: `a•••@•••.test`.
    Email,
    /// A person's name: initials.
    Name,
    /// A client IP address: the host part hidden.
    Ip,
    /// Machine-written text: e-mails, IPs, phone numbers and long tokens masked.
    Text,
    /// Machine-written JSON: the same masking applied to its string values.
    Json,
    /// Written by people or otherwise personal: withheld (NULL).
    Hide,
    /// Safe as it is.
    Keep,
    /// A secret: not in the view at all, for anyone.
    Drop,
}

/// Which rows a role sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// Every row (to anyone who may sync).
    All,
    /// Rows of tenants in the tenant list (tenant id column).
    List(&'static str),
    /// Rows of tenants whose details are visible (tenant id column).
    Detail(&'static str),
    /// Rows of workspaces whose details are visible (workspace id column, text in OLAP).
    Company(&'static str),
    /// A condition of its own (`t` is the table); may use the scope placeholders below.
    Sql(&'static str),
}

/// One cached table's policy.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// The table.
    pub table: SourceTable,
    /// A permission needed to see any row, besides `sync.run`.
    pub perm: Option<&'static str>,
    /// Which rows.
    pub rows: Rows,
    /// Column treatments for roles without `pii.view`; unnamed columns are kept, or
    /// hidden when they are text or JSON and the table is `personal`.
    pub cols: &'static [(&'static str, Col)],
    /// Computed columns added to the view: (name, SQL over `t`).
    pub extra: &'static [(&'static str, &'static str)],
    /// Holds personal data: unnamed text columns are hidden from masked roles.
    pub personal: bool,
}

// Scope placeholders a `Rows::Sql` condition may use; each becomes a scalar sub-select
// that PostgreSQL evaluates once per query. The cast keeps `x = ANY(…)` reading it as
// an array, not as a sub-query of arrays.
const LIST: &str = "((SELECT penguin_console_api.list_scope())::uuid[])";
const DETAIL: &str = "((SELECT penguin_console_api.detail_scope())::uuid[])";
const COMPANY: &str = "((SELECT penguin_console_api.company_scope())::uuid[])";
const PII: &str = "(SELECT penguin_console_api.pii())";

const fn p(
    db: DbKind,
    schema: &'static str,
    name: &'static str,
    perm: Option<&'static str>,
    rows: Rows,
    cols: &'static [(&'static str, Col)],
) -> Policy {
    Policy { table: SourceTable { db, schema, name }, perm, rows, cols, extra: &[], personal: false }
}

const fn personal(mut policy: Policy) -> Policy {
    policy.personal = true;
    policy
}

const fn with(mut policy: Policy, extra: &'static [(&'static str, &'static str)]) -> Policy {
    policy.extra = extra;
    policy
}

use Col::*;
use DbKind::{Notifications, Olap, Oltp, Queue};

const MONITOR: Option<&str> = Some("monitoring.read");
const FINANCE: Option<&str> = Some("finance.read");

/// Users who are members of a tenant in the detail scope.
const MEMBER_OF_DETAIL: &str = "({DETAIL} IS NULL OR EXISTS (SELECT 1 FROM public.tenant_users tu \
     WHERE tu.user_id = t.{col} AND tu.tenant_id = ANY({DETAIL})))";

/// Every cached table's policy, in the order of [`super::tables::SYNCED`].
pub const POLICIES: &[Policy] = &[
    personal(p(
        Oltp,
        "public",
        "users",
        None,
        Rows::Sql("users"),
        &[("email", Email), ("name", Name), ("given_name", Name), ("family_name", Name), ("picture", Hide)],
    )),
    p(Oltp, "public", "tenants", None, Rows::List("id"), &[("name", Keep)]),
    personal(p(Oltp, "public", "tenant_users", None, Rows::Detail("tenant_id"), &[("email", Email), ("roles", Keep)])),
    p(Oltp, "public", "companies", None, Rows::Detail("tenant_id"), &[]),
    p(Oltp, "public", "domains", None, Rows::Detail("tenant_id"), &[("dns_verification_error", Text)]),
    p(
        Oltp,
        "public",
        "email_accounts",
        None,
        Rows::Detail("tenant_id"),
        &[("email", Email), ("vault_key_path", Drop), ("imap_settings", Hide), ("smtp_settings", Hide)],
    ),
    personal(p(
        Oltp,
        "public",
        "leads",
        None,
        Rows::Detail("tenant_id"),
        &[("email", Hide), ("name", Hide), ("company", Hide), ("status", Keep)],
    )),
    p(Oltp, "public", "templates", None, Rows::Detail("tenant_id"), &[("subject", Hide), ("content", Hide)]),
    p(Oltp, "public", "campaigns", None, Rows::Detail("tenant_id"), &[("description", Hide)]),
    p(
        Oltp,
        "public",
        "campaign_sequence_steps",
        None,
        Rows::Sql("campaign_steps"),
        &[("subject_override", Hide), ("from_name_override", Hide), ("send_condition", Text)],
    ),
    p(Oltp, "public", "plans", None, Rows::All, &[]),
    p(Oltp, "public", "subscriptions", None, Rows::List("tenant_id"), &[("cancel_reason", Hide)]),
    p(Oltp, "public", "subscription_addons", None, Rows::Sql("addons"), &[]),
    p(Oltp, "public", "payments", FINANCE, Rows::Sql("payments"), &[("description", Text)]),
    p(Oltp, "public", "vps_instances", MONITOR, Rows::Sql("vps"), &[]),
    p(Oltp, "public", "smtp_ip_addresses", MONITOR, Rows::Sql("smtp_ips"), &[]),
    p(Oltp, "public", "domain_ip_assignments", MONITOR, Rows::Sql("domain_ips"), &[]),
    p(Oltp, "public", "staff_roles", None, Rows::All, &[]),
    p(Oltp, "public", "permissions", None, Rows::All, &[]),
    p(Oltp, "public", "staff_members", None, Rows::All, &[("notes", Hide)]),
    p(Oltp, "public", "staff_role_permissions", None, Rows::All, &[]),
    p(Oltp, "public", "system_config", None, Rows::Sql("config"), &[]),
    p(Oltp, "public", "feature_flags", None, Rows::All, &[]),
    personal(p(
        Oltp,
        "public",
        "tenant_config",
        None,
        Rows::Detail("tenant_id"),
        &[
            ("stripe_customer_id", Keep),
            ("billing_email", Email),
            ("billing_address", Hide),
            ("theme_primary_color", Keep),
            ("theme_logo_url", Keep),
            ("theme_favicon_url", Keep),
            ("ui_date_format", Keep),
            ("ui_timezone", Keep),
        ],
    )),
    p(Oltp, "public", "tenant_policies", None, Rows::Detail("tenant_id"), &[]),
    p(Oltp, "public", "webhook_events", FINANCE, Rows::All, &[("error_message", Text)]),
    with(
        personal(p(Oltp, "auth", "sessions", None, Rows::Sql("sessions"), &[("session_token", Drop)])),
        &[("token_kind", "CASE WHEN t.session_token LIKE 'eyJ%.%.%' THEN 'jwt' ELSE 'opaque' END")],
    ),
    p(Oltp, "penguin_console", "sandbox_tenants", None, Rows::All, &[]),
    p(Oltp, "penguin_console", "workspace_members", None, Rows::Detail("tenant_id"), &[]),
    p(Oltp, "penguin_console", "user_suspensions", None, Rows::Sql("suspensions"), &[("reason", Hide)]),
    p(
        Oltp,
        "penguin_console",
        "workspace_deletions",
        None,
        Rows::Detail("tenant_id"),
        &[("reason", Hide), ("sig", Drop)],
    ),
    p(
        Oltp,
        "penguin_console",
        "tenant_feature_flags",
        None,
        Rows::Detail("tenant_id"),
        &[("changed_by_email", Email), ("reason", Hide)],
    ),
    p(
        Oltp,
        "penguin_console",
        "tenant_overrides",
        None,
        Rows::Detail("tenant_id"),
        &[("created_by_email", Email), ("reason", Hide)],
    ),
    p(
        Oltp,
        "penguin_console",
        "support_access_grants",
        None,
        Rows::Sql("grants"),
        &[("staff_email", Email), ("reason", Text), ("ticket", Keep)],
    ),
    p(Queue, "public", "job_queues", MONITOR, Rows::All, &[]),
    p(Queue, "public", "jobs", MONITOR, Rows::Sql("jobs"), &[("payload", Json), ("last_error_message", Text)]),
    p(Queue, "public", "job_logs", MONITOR, Rows::Sql("job_logs"), &[("log_message", Text)]),
    p(Olap, "public", "billing_analytics", FINANCE, Rows::Sql("billing_analytics"), &[]),
    p(Olap, "public", "campaign_analytics", None, Rows::Company("company_id"), &[]),
    p(Olap, "public", "mailbox_analytics", None, Rows::Company("company_id"), &[]),
    p(Olap, "public", "warmup_analytics", None, Rows::Company("company_id"), &[]),
    personal(p(
        Olap,
        "public",
        "admin_audit_log",
        Some("audit.read"),
        Rows::All,
        &[
            ("admin_user_id", Keep),
            ("action", Keep),
            ("resource_type", Keep),
            ("resource_id", Keep),
            ("tenant_id", Keep),
            ("old_values", Json),
            ("new_values", Json),
            ("ip_address", Ip),
            ("user_agent", Keep),
            ("notes", Hide),
            ("metadata", Keep),
            ("data_classification", Keep),
            ("retention_category", Keep),
        ],
    )),
    p(Olap, "penguin_console", "workspace_health", None, Rows::Company("company_id"), &[]),
    personal(p(
        Notifications,
        "public",
        "notifications",
        None,
        Rows::Detail("tenant_id"),
        &[("type", Keep), ("channel", Keep), ("title", Text), ("message", Hide)],
    )),
    p(
        Notifications,
        "public",
        "admin_system_events",
        None,
        Rows::Sql("system_events"),
        &[("description", Text), ("details", Json)],
    ),
    p(Notifications, "penguin_console", "alerts", MONITOR, Rows::All, &[("summary", Text), ("details", Json)]),
    p(Notifications, "penguin_console", "alert_notes", MONITOR, Rows::All, &[("body", Text)]),
    p(Notifications, "penguin_console", "alert_silences", MONITOR, Rows::All, &[("reason", Text)]),
    p(Notifications, "penguin_console", "alert_notifications", MONITOR, Rows::All, &[("last_error", Text)]),
];

/// Columns of `console_alerts` that only roles seeing every tenant read: what an alert
/// puts at risk names production tenants and their revenue.
const LIST_ALL_ONLY: &[(&str, &str)] = &[("alerts", "at_risk")];

/// The row condition of a [`Rows::Sql`] policy, by its key.
fn custom_rows(key: &str) -> String {
    let sql = match key {
        "users" => MEMBER_OF_DETAIL.replace("{col}", "id"),
        "sessions" | "suspensions" => MEMBER_OF_DETAIL.replace("{col}", "user_id"),
        "campaign_steps" => "({DETAIL} IS NULL OR EXISTS (SELECT 1 FROM public.campaigns c \
             WHERE c.id = t.campaign_id AND c.tenant_id = ANY({DETAIL})))"
            .into(),
        "addons" => "({LIST} IS NULL OR EXISTS (SELECT 1 FROM public.subscriptions s \
             WHERE s.id = t.subscription_id AND s.tenant_id = ANY({LIST})))"
            .into(),
        "payments" => "({LIST} IS NULL OR EXISTS (SELECT 1 FROM public.subscriptions s \
             WHERE s.id = t.subscription_id AND s.tenant_id = ANY({LIST})))"
            .into(),
        // Servers and addresses: qa sees those that send for its sandbox tenants.
        "vps" => "({LIST} IS NULL OR EXISTS (SELECT 1 FROM public.smtp_ip_addresses i \
             JOIN public.domain_ip_assignments a ON a.smtp_ip_address_id = i.id \
             JOIN public.domains d ON d.id = a.domain_id WHERE i.vps_instance_id = t.id AND d.tenant_id = ANY({LIST})))"
            .into(),
        "smtp_ips" => "({LIST} IS NULL OR EXISTS (SELECT 1 FROM public.domain_ip_assignments a \
             JOIN public.domains d ON d.id = a.domain_id WHERE a.smtp_ip_address_id = t.id AND d.tenant_id = ANY({LIST})))"
            .into(),
        "domain_ips" => "({DETAIL} IS NULL OR EXISTS (SELECT 1 FROM public.domains d \
             WHERE d.id = t.domain_id AND d.tenant_id = ANY({DETAIL})))"
            .into(),
        "config" => "NOT COALESCE(t.is_sensitive, false)".into(),
        "grants" => "(t.staff_id = (SELECT (penguin_console_api.ctx()).user_id::text) \
             OR (SELECT penguin_console_api.can('audit.read')))"
            .into(),
        "jobs" => "({LIST} IS NULL OR (t.payload->>'tenant_id') = ANY({LIST}::text[]))".into(),
        "job_logs" => "({LIST} IS NULL OR EXISTS (SELECT 1 FROM public.jobs j \
             WHERE j.id = t.job_id AND (j.payload->>'tenant_id') = ANY({LIST}::text[])))"
            .into(),
        "billing_analytics" => "({LIST} IS NULL OR t.tenant_id = ANY({LIST}::text[]))".into(),
        // Platform-wide events only for roles that see every tenant.
        "system_events" => "({DETAIL} IS NULL OR t.tenant_id = ANY({DETAIL}))".into(),
        other => panic!("no row condition named {other}"),
    };
    sql.replace("{LIST}", LIST).replace("{DETAIL}", DETAIL).replace("{COMPANY}", COMPANY)
}

/// The policy of a cached table.
pub fn policy(table: &SourceTable) -> Option<&'static Policy> {
    POLICIES.iter().find(|p| p.table == *table)
}

/// A column of the table as the catalog gives it.
#[derive(Debug, Clone)]
pub struct TableColumn {
    /// Name.
    pub name: String,
    /// `format_type` of its type.
    pub pg_type: String,
}

fn quote(name: &str) -> String {
    crate::central::install::quote_ident(name)
}

fn is_textual(pg_type: &str) -> bool {
    pg_type == "text"
        || pg_type.starts_with("character")
        || pg_type == "json"
        || pg_type == "jsonb"
        || pg_type.ends_with("[]")
}

/// The expression a masked role sees for one column (`None` = dropped from the view).
fn column_expr(policy: &Policy, col: &TableColumn) -> Option<String> {
    let c = format!("t.{}", quote(&col.name));
    let named = policy.cols.iter().find(|(n, _)| *n == col.name).map(|(_, t)| *t);
    let treatment = named.unwrap_or(if policy.personal && is_textual(&col.pg_type) { Hide } else { Keep });
    let masked = match treatment {
        Drop => return None,
        Keep => return Some(format!("{c} AS {}", quote(&col.name))),
        Email => format!("penguin_console_api.mask_email({c})"),
        Name => format!("penguin_console_api.mask_name({c})"),
        Ip => format!("penguin_console_api.mask_ip({c})"),
        Text if col.pg_type == "jsonb" || col.pg_type == "json" => format!("penguin_console_api.mask_json({c}::jsonb)"),
        Text => format!("penguin_console_api.mask_text({c})"),
        Json => format!("penguin_console_api.mask_json({c}::jsonb)"),
        Hide => "NULL".to_string(),
    };
    // The masked branch is cast to the column's own type so both branches agree.
    Some(format!("CASE WHEN {PII} THEN {c} ELSE ({masked})::{} END AS {}", col.pg_type, quote(&col.name)))
}

/// The `CREATE VIEW` statement of one table, given its columns; `None` when the table
/// has no policy (it is then not readable at all).
pub fn view_sql(table: &SourceTable, columns: &[TableColumn]) -> Option<String> {
    let policy = policy(table)?;
    let select: Vec<String> = columns
        .iter()
        .filter_map(|col| {
            let expr = column_expr(policy, col)?;
            Some(if LIST_ALL_ONLY.iter().any(|(t, c)| *t == table.name && *c == col.name) {
                format!("CASE WHEN {LIST} IS NULL THEN t.{0} END AS {0}", quote(&col.name))
            } else {
                expr
            })
        })
        .chain(policy.extra.iter().map(|(name, sql)| format!("{sql} AS {}", quote(name))))
        .collect();
    let mut conditions = vec!["(SELECT penguin_console_api.can('sync.run'))".to_string()];
    if let Some(perm) = policy.perm {
        conditions.push(format!("(SELECT penguin_console_api.can('{perm}'))"));
    }
    match policy.rows {
        Rows::All => {}
        Rows::List(col) => conditions.push(format!("({LIST} IS NULL OR t.{0} = ANY({LIST}))", quote(col))),
        Rows::Detail(col) => conditions.push(format!("({DETAIL} IS NULL OR t.{0} = ANY({DETAIL}))", quote(col))),
        Rows::Company(col) => {
            conditions.push(format!("({COMPANY} IS NULL OR t.{0}::text = ANY({COMPANY}::text[]))", quote(col)))
        }
        Rows::Sql(key) => conditions.push(custom_rows(key)),
    }
    Some(format!(
        "CREATE VIEW penguin_console_api.{} AS SELECT {} FROM {}.{} t WHERE {}",
        quote(&table.cache_name()),
        select.join(", "),
        quote(table.schema),
        quote(table.name),
        conditions.join(" AND ")
    ))
}
