//! Which platform tables the cache holds, and how their columns map to SQLite.
//!
//! Cached tables keep the platform's table and column names so anyone can inspect the
//! cache with `sqlite3`. A table outside the `public` schema is prefixed with its
//! schema (`auth.sessions` → `auth_sessions`); a name used in two databases would be
//! prefixed with the database key (none clash today).
//!
//! Columns are read from the PostgreSQL catalog at every sync, so the cache follows the
//! platform's real schema (extra columns included); a change of columns reloads the
//! table. Values are converted in PostgreSQL to one of three SQLite storage classes:
//! integers (and booleans as 0/1), reals (floats, NUMERIC, intervals in seconds), or
//! text (timestamps as ISO-8601 UTC `YYYY-MM-DDTHH:MM:SS.ffffffZ`, so they sort as text;
//! JSON and arrays as JSON text; UUIDs in canonical form).

use std::collections::HashMap;

use sqlx::{PgConnection, Row};

use crate::central::{CentralError, DbKind};

/// A platform table the cache holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceTable {
    /// Which database holds it.
    pub db: DbKind,
    /// Its schema.
    pub schema: &'static str,
    /// Its name.
    pub name: &'static str,
}

const fn t(db: DbKind, schema: &'static str, name: &'static str) -> SourceTable {
    SourceTable { db, schema, name }
}

/// Every cached table, in sync order.
pub const SYNCED: &[SourceTable] = &[
    t(DbKind::Oltp, "public", "users"),
    t(DbKind::Oltp, "public", "tenants"),
    t(DbKind::Oltp, "public", "tenant_users"),
    t(DbKind::Oltp, "public", "companies"),
    t(DbKind::Oltp, "public", "domains"),
    t(DbKind::Oltp, "public", "email_accounts"),
    t(DbKind::Oltp, "public", "leads"),
    t(DbKind::Oltp, "public", "templates"),
    t(DbKind::Oltp, "public", "campaigns"),
    t(DbKind::Oltp, "public", "campaign_sequence_steps"),
    t(DbKind::Oltp, "public", "plans"),
    t(DbKind::Oltp, "public", "subscriptions"),
    t(DbKind::Oltp, "public", "subscription_addons"),
    t(DbKind::Oltp, "public", "payments"),
    t(DbKind::Oltp, "public", "vps_instances"),
    t(DbKind::Oltp, "public", "smtp_ip_addresses"),
    t(DbKind::Oltp, "public", "domain_ip_assignments"),
    t(DbKind::Oltp, "public", "staff_roles"),
    t(DbKind::Oltp, "public", "permissions"),
    t(DbKind::Oltp, "public", "staff_members"),
    t(DbKind::Oltp, "public", "staff_role_permissions"),
    t(DbKind::Oltp, "public", "system_config"),
    t(DbKind::Oltp, "public", "feature_flags"),
    t(DbKind::Oltp, "public", "tenant_config"),
    t(DbKind::Oltp, "public", "tenant_policies"),
    t(DbKind::Oltp, "public", "webhook_events"),
    t(DbKind::Oltp, "auth", "sessions"),
    t(DbKind::Oltp, "penguin_console", "sandbox_tenants"),
    t(DbKind::Oltp, "penguin_console", "workspace_members"),
    t(DbKind::Oltp, "penguin_console", "user_suspensions"),
    t(DbKind::Oltp, "penguin_console", "workspace_deletions"),
    t(DbKind::Oltp, "penguin_console", "tenant_feature_flags"),
    t(DbKind::Oltp, "penguin_console", "tenant_overrides"),
    t(DbKind::Oltp, "penguin_console", "support_access_grants"),
    t(DbKind::Queue, "public", "job_queues"),
    t(DbKind::Queue, "public", "jobs"),
    t(DbKind::Queue, "public", "job_logs"),
    t(DbKind::Olap, "public", "billing_analytics"),
    t(DbKind::Olap, "public", "campaign_analytics"),
    t(DbKind::Olap, "public", "mailbox_analytics"),
    t(DbKind::Olap, "public", "warmup_analytics"),
    t(DbKind::Olap, "public", "admin_audit_log"),
    t(DbKind::Olap, "penguin_console", "workspace_health"),
    t(DbKind::Notifications, "public", "notifications"),
    t(DbKind::Notifications, "public", "admin_system_events"),
    t(DbKind::Notifications, "penguin_console", "alerts"),
    t(DbKind::Notifications, "penguin_console", "alert_notes"),
    t(DbKind::Notifications, "penguin_console", "alert_silences"),
    t(DbKind::Notifications, "penguin_console", "alert_notifications"),
];

/// A table the server computes (one row per key) rather than a platform table: its view
/// aggregates tables the role may not read row by row (support sees how many members a
/// tenant has without seeing them). It has no change log of its own: it is reloaded
/// whenever one of `deps` changed (or the scope did).
#[derive(Debug, Clone, Copy)]
pub struct Aggregate {
    /// The view (schema `penguin_console_api`); its name is the cache table's.
    pub table: SourceTable,
    /// Its key column.
    pub key: &'static str,
    /// The platform tables (`schema.table`) it is computed from.
    pub deps: &'static [&'static str],
}

/// Every aggregate the cache holds (views in `sql/api/aggregates.sql`).
pub const AGGREGATES: &[Aggregate] = &[Aggregate {
    table: t(DbKind::Oltp, "penguin_console_api", "tenant_stats"),
    key: "tenant_id",
    deps: &["public.tenants", "public.tenant_users", "public.companies", "public.leads", "public.campaigns"],
}];

impl Aggregate {
    /// The aggregate whose view is `table`.
    pub fn of(table: &SourceTable) -> Option<&'static Aggregate> {
        AGGREGATES.iter().find(|a| a.table == *table)
    }
}

impl SourceTable {
    /// `schema.name` as the change log records it.
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    /// The table's name in the cache.
    pub fn cache_name(&self) -> String {
        let base = match self.schema {
            "public" | "penguin_console_api" => self.name.to_string(),
            "penguin_console" => format!("console_{}", self.name),
            schema => format!("{schema}_{}", self.name),
        };
        let clashes = SYNCED.iter().any(|o| o.db != self.db && o.name == self.name && o.schema == self.schema);
        if clashes {
            format!("{}_{base}", self.db.key())
        } else {
            base
        }
    }

    /// The cached table with this cache name.
    pub fn by_cache_name(name: &str) -> Option<SourceTable> {
        SYNCED.iter().copied().find(|t| t.cache_name() == name)
    }
}

/// How a column is stored in the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Storage {
    /// 64-bit integer (also booleans as 0/1).
    Integer,
    /// 64-bit float.
    Real,
    /// UTF-8 text.
    Text,
}

impl Storage {
    /// The SQLite declared type.
    pub fn sqlite_type(self) -> &'static str {
        match self {
            Storage::Integer => "INTEGER",
            Storage::Real => "REAL",
            Storage::Text => "TEXT",
        }
    }
}

/// One column of a source table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// PostgreSQL type as `format_type` prints it.
    pub pg_type: String,
    /// Cache storage class.
    pub storage: Storage,
}

/// A source table's shape as read from the catalog, with the scope it was read under.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shape {
    /// Columns in order.
    pub columns: Vec<Column>,
    /// Primary-key column names.
    pub pk: Vec<String>,
    /// A digest of what the reading staff member may see (role, permissions, tenants):
    /// when it changes, the table is reloaded. Empty in caches older than this field.
    #[serde(default)]
    pub scope: String,
}

impl Shape {
    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

fn storage_for(typname: &str, category: &str) -> Storage {
    match typname {
        "int2" | "int4" | "int8" | "oid" | "bool" => Storage::Integer,
        "float4" | "float8" | "numeric" | "money" | "interval" => Storage::Real,
        _ if category == "N" => Storage::Real,
        _ => Storage::Text,
    }
}

/// How a column travels in binary COPY: either PostgreSQL's own binary form of a
/// simple type, decoded in Rust (much cheaper for the server than formatting text), or
/// a value cast in SQL to `int8`, `float8` or `text`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// `smallint`.
    Int2,
    /// `integer`.
    Int4,
    /// `bigint` (and SQL casts to it).
    Int8,
    /// `boolean`, stored as 0/1.
    Bool,
    /// `real`.
    Float4,
    /// `double precision` (and SQL casts to it).
    Float8,
    /// `uuid`: 16 bytes, stored in canonical text form.
    Uuid,
    /// `timestamp with time zone`: microseconds since 2000-01-01 UTC, stored as ISO-8601 `…Z`.
    Timestamptz,
    /// `timestamp without time zone`, stored as ISO-8601 without zone.
    Timestamp,
    /// `date`: days since 2000-01-01.
    Date,
    /// `jsonb`: a version byte, then JSON text.
    Jsonb,
    /// UTF-8 text (and SQL casts to it).
    Text,
}

/// The expression COPY selects for `col` and how it arrives.
pub fn wire(alias: &str, col: &Column) -> (String, Wire) {
    let c = format!("{alias}.{}", crate::central::install::quote_ident(&col.name));
    let raw = match col.pg_type.as_str() {
        "smallint" => Some(Wire::Int2),
        "integer" => Some(Wire::Int4),
        "bigint" => Some(Wire::Int8),
        "boolean" => Some(Wire::Bool),
        "real" => Some(Wire::Float4),
        "double precision" => Some(Wire::Float8),
        "uuid" => Some(Wire::Uuid),
        "timestamp with time zone" => Some(Wire::Timestamptz),
        "timestamp without time zone" => Some(Wire::Timestamp),
        "date" => Some(Wire::Date),
        "jsonb" => Some(Wire::Jsonb),
        "text" | "json" => Some(Wire::Text),
        t if t.starts_with("character varying") => Some(Wire::Text),
        _ => None,
    };
    match raw {
        Some(w) => (c, w),
        None => {
            let w = match col.storage {
                Storage::Integer => Wire::Int8,
                Storage::Real => Wire::Float8,
                Storage::Text => Wire::Text,
            };
            (select_expr(alias, col), w)
        }
    }
}

/// The SQL expression that converts column `col` (of alias `alias`) to its storage
/// class in PostgreSQL. This is the definition of the cache's format: values decoded
/// from [`wire`] must equal what this expression gives (the tests check it).
pub fn select_expr(alias: &str, col: &Column) -> String {
    let c = format!("{alias}.{}", crate::central::install::quote_ident(&col.name));
    let ty = col.pg_type.as_str();
    match col.storage {
        Storage::Integer if ty == "boolean" => format!("({c})::int::int8"),
        Storage::Integer => format!("({c})::int8"),
        Storage::Real if ty == "interval" => format!("extract(epoch FROM {c})::float8"),
        Storage::Real => format!("({c})::float8"),
        Storage::Text => {
            if ty == "timestamp with time zone" {
                format!("to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
            } else if ty == "timestamp without time zone" {
                format!("to_char({c}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US')")
            } else if ty == "date" {
                format!("to_char({c}, 'YYYY-MM-DD')")
            } else if ty.ends_with("[]") {
                format!("to_jsonb({c})::text")
            } else {
                format!("({c})::text")
            }
        }
    }
}

/// Reads the shapes of all cached tables of one database: the columns of each table's
/// role-scoped view, the table's primary key, and `scope` (what the reading staff member
/// may see). Tables without a view (the platform lacks them, or they have no primary
/// key) are absent from the result.
pub async fn shapes(
    conn: &mut PgConnection,
    db: DbKind,
    scope: &str,
) -> Result<Vec<(SourceTable, Shape)>, CentralError> {
    Ok(shapes_and_rows(conn, db, scope).await?.0)
}

/// [`shapes`], with the planner's row estimate of each platform table (by
/// `schema.name`; -1 when never analysed), read in the same catalog round trip.
pub async fn shapes_and_rows(
    conn: &mut PgConnection,
    db: DbKind,
    scope: &str,
) -> Result<(Vec<(SourceTable, Shape)>, HashMap<String, i64>), CentralError> {
    let all = || SYNCED.iter().chain(AGGREGATES.iter().map(|a| &a.table));
    let wanted: Vec<String> = all().filter(|t| t.db == db).map(|t| t.cache_name()).collect();
    let rows = sqlx::query(
        "SELECT c.relname::text AS view, a.attname::text AS attname, format_type(a.atttypid, a.atttypmod) AS fmt,
                ty.typname::text AS typname, ty.typcategory::text AS cat
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'penguin_console_api'
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         JOIN pg_type ty ON ty.oid = a.atttypid
         WHERE c.relkind = 'v' AND c.relname = ANY($1)
         ORDER BY 1, a.attnum",
    )
    .bind(&wanted)
    .fetch_all(&mut *conn)
    .await
    .map_err(CentralError::sql(format!("reading the {db} catalog")))?;
    let mut out: Vec<(SourceTable, Shape)> = Vec::new();
    for row in rows {
        let view: String = row.get("view");
        let name: String = row.get("attname");
        let pg_type: String = row.get("fmt");
        let typname: String = row.get("typname");
        let cat: String = row.get("cat");
        let Some(source) = all().copied().find(|t| t.db == db && t.cache_name() == view) else { continue };
        if out.last().map(|(s, _)| *s) != Some(source) {
            out.push((source, Shape { columns: Vec::new(), pk: Vec::new(), scope: scope.to_string() }));
        }
        let (_, shape) = out.last_mut().expect("pushed above");
        let storage = if cat == "A" { Storage::Text } else { storage_for(&typname, &cat) };
        shape.columns.push(Column { name, pg_type, storage });
    }
    let tables: Vec<SourceTable> = out.iter().map(|(s, _)| *s).collect();
    let mut facts = table_facts(&mut *conn, &tables).await?;
    let mut rows = HashMap::new();
    for (source, shape) in out.iter_mut() {
        let (pk, estimate) = facts.remove(&source.qualified()).unwrap_or((Vec::new(), -1));
        rows.insert(source.qualified(), estimate);
        shape.pk = match Aggregate::of(source) {
            Some(a) => vec![a.key.to_string()],
            None => pk,
        };
    }
    out.retain(|(_, s)| !s.pk.is_empty() && s.pk.iter().all(|k| s.column(k).is_some()));
    // Keep the catalogue's order (aggregates last).
    out.sort_by_key(|(t, _)| all().position(|s| s == t));
    Ok((out, rows))
}

/// The primary key of one table, or `None` when the table does not exist (or has none).
pub async fn primary_key(conn: &mut PgConnection, table: &SourceTable) -> Result<Option<Vec<String>>, CentralError> {
    Ok(table_facts(conn, std::slice::from_ref(table))
        .await?
        .remove(&table.qualified())
        .map(|(pk, _)| pk)
        .filter(|pk| !pk.is_empty()))
}

/// The primary key and the planner's row estimate of each of `tables` (by
/// `schema.name`), in one catalog read: a sync needs them on every run, and one round
/// trip per table was most of a sync's fixed cost. Tables that do not exist are absent;
/// a table without a primary key has an empty key.
pub async fn table_facts(
    conn: &mut PgConnection,
    tables: &[SourceTable],
) -> Result<HashMap<String, (Vec<String>, i64)>, CentralError> {
    let names: Vec<String> = tables.iter().map(|t| t.qualified()).collect();
    // Looked up by name in the catalog (readable by any login), not with to_regclass,
    // which needs USAGE on the table's schema.
    let rows: Vec<(String, Vec<String>, i64)> = sqlx::query_as(
        "SELECT n.nspname || '.' || c.relname,
                COALESCE((SELECT array_agg(a.attname::text ORDER BY array_position(i.indkey::int2[], a.attnum))
                          FROM pg_index i
                          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey::int2[])
                          WHERE i.indrelid = c.oid AND i.indisprimary), '{}'),
                c.reltuples::int8
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p') AND n.nspname || '.' || c.relname = ANY($1)",
    )
    .bind(&names)
    .fetch_all(&mut *conn)
    .await
    .map_err(CentralError::sql("reading primary keys"))?;
    Ok(rows.into_iter().map(|(name, pk, estimate)| (name, (pk, estimate))).collect())
}
