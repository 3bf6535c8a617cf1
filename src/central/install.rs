//! `penguin-admin install`: the console's own schema on the platform's databases.
//!
//! What it creates, on each database, and nothing else:
//! - the `penguin_console` schema with the console's tables (migrations in
//!   `sql/console/`, tracked in `penguin_console.schema_migrations`);
//! - on each platform table the console caches, four statement-level triggers
//!   (`penguin_console_sync_ins/_upd/_del/_trunc`) that record changed keys for
//!   incremental sync (see [`crate::sync`]);
//! - on OLTP, the rows of `permissions` the console checks where they are missing,
//!   granted to the standard staff roles that exist (only for permissions this run
//!   added, so a grant an administrator removed is not brought back).
//!
//! It never creates, drops or alters a platform table. It is idempotent, serialised by
//! an advisory lock, and needs no superuser: the role must be allowed to create a
//! schema in the database and to create triggers on the platform's tables.

use sqlx::{PgConnection, Row};

use super::{Central, CentralError, DbKind};
use crate::auth::permissions::{self, STANDARD_ROLES};
use crate::sync::tables::{self, SourceTable};

/// The console's migrations: version, the databases it applies to, SQL.
const MIGRATIONS: &[(&str, &[DbKind], &str)] = &[
    ("0001_sync", &DbKind::ALL, include_str!("sql/console/0001_sync.sql")),
    ("0002_oltp", &[DbKind::Oltp], include_str!("sql/console/0002_oltp.sql")),
    ("0003_auth", &[DbKind::Oltp], include_str!("sql/console/0003_auth_audit.sql")),
    ("0004_audit_outbox", &DbKind::ALL, include_str!("sql/console/0004_audit_outbox.sql")),
    ("0005_audit_chain", &[DbKind::Olap], include_str!("sql/console/0005_audit_chain.sql")),
    ("0006_members", &[DbKind::Oltp], include_str!("sql/console/0006_members.sql")),
    ("0007_health", &[DbKind::Olap], include_str!("sql/console/0007_health.sql")),
    ("0008_workspace_deletions", &[DbKind::Oltp], include_str!("sql/console/0008_workspace_deletions.sql")),
    ("0009_money_actions", &[DbKind::Oltp], include_str!("sql/console/0009_money_actions.sql")),
    ("0010_alerts", &[DbKind::Notifications], include_str!("sql/console/0010_alerts.sql")),
    ("0011_tenant_admin", &[DbKind::Oltp], include_str!("sql/console/0011_tenant_admin.sql")),
];

/// Advisory lock key shared by every console install ("PENGUIN" in ASCII).
const INSTALL_LOCK: i64 = 0x50_45_4E_47_55_49_4E;

/// What an install did, per database.
#[derive(Debug, Default, serde::Serialize)]
pub struct InstallReport {
    /// Migrations applied now, as "db: version".
    pub migrations_applied: Vec<String>,
    /// Tables that got the sync triggers now, as "db: schema.table".
    pub triggers_added: Vec<String>,
    /// Cached tables the platform does not have (they are skipped by sync).
    pub tables_missing: Vec<String>,
    /// Permissions added to `permissions`.
    pub permissions_added: Vec<String>,
}

/// Installs or upgrades the console's schema on all four databases.
pub async fn install(central: &Central) -> Result<InstallReport, CentralError> {
    let mut report = InstallReport::default();
    for kind in DbKind::ALL {
        let mut tx =
            central.pool(kind).begin().await.map_err(CentralError::sql(format!("opening the {kind} database")))?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(INSTALL_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(CentralError::sql("waiting for another install to finish"))?;
        apply_migrations(&mut tx, kind, &mut report).await?;
        add_triggers(&mut tx, kind, &mut report).await?;
        if kind == DbKind::Oltp {
            add_permissions(&mut tx, &mut report).await?;
        }
        tx.commit().await.map_err(CentralError::sql(format!("committing the install on {kind}")))?;
    }
    Ok(report)
}

async fn apply_migrations(
    conn: &mut PgConnection,
    kind: DbKind,
    report: &mut InstallReport,
) -> Result<(), CentralError> {
    sqlx::raw_sql(
        "CREATE SCHEMA IF NOT EXISTS penguin_console;
         CREATE TABLE IF NOT EXISTS penguin_console.schema_migrations (
             version text PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now());",
    )
    .execute(&mut *conn)
    .await
    .map_err(CentralError::sql(format!(
        "creating the penguin_console schema on {kind} (does the role have CREATE on the database?)"
    )))?;
    for (version, dbs, sql) in MIGRATIONS {
        if !dbs.contains(&kind) {
            continue;
        }
        let done: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM penguin_console.schema_migrations WHERE version = $1)")
                .bind(version)
                .fetch_one(&mut *conn)
                .await
                .map_err(CentralError::sql("reading the console's migrations"))?;
        if done {
            continue;
        }
        sqlx::raw_sql(sql)
            .execute(&mut *conn)
            .await
            .map_err(CentralError::sql(format!("applying console migration {version} on {kind}")))?;
        sqlx::query("INSERT INTO penguin_console.schema_migrations (version) VALUES ($1)")
            .bind(version)
            .execute(&mut *conn)
            .await
            .map_err(CentralError::sql("recording a console migration"))?;
        report.migrations_applied.push(format!("{}: {version}", kind.key()));
    }
    Ok(())
}

/// Quotes an SQL identifier.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

async fn add_triggers(conn: &mut PgConnection, kind: DbKind, report: &mut InstallReport) -> Result<(), CentralError> {
    for table in tables::SYNCED.iter().filter(|t| t.db == kind) {
        let Some(pk) = tables::primary_key(&mut *conn, table).await? else {
            report.tables_missing.push(format!("{}: {}.{}", kind.key(), table.schema, table.name));
            continue;
        };
        if has_sync_trigger(conn, table).await? {
            continue;
        }
        let keys: Vec<String> = pk.iter().map(|c| quote_ident(c)).collect();
        // The argument is a literal list of quoted identifiers, interpolated by format() in log_changes().
        let arg = keys.join(",").replace('\'', "''");
        let target = format!("{}.{}", quote_ident(table.schema), quote_ident(table.name));
        let ddl = format!(
            "CREATE TRIGGER penguin_console_sync_ins AFTER INSERT ON {target}
                 REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION penguin_console.log_changes('{arg}');
             CREATE TRIGGER penguin_console_sync_upd AFTER UPDATE ON {target}
                 REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION penguin_console.log_changes('{arg}');
             CREATE TRIGGER penguin_console_sync_del AFTER DELETE ON {target}
                 REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION penguin_console.log_changes('{arg}');
             CREATE TRIGGER penguin_console_sync_trunc AFTER TRUNCATE ON {target}
                 FOR EACH STATEMENT EXECUTE FUNCTION penguin_console.log_changes('{arg}');"
        );
        sqlx::raw_sql(&ddl).execute(&mut *conn).await.map_err(CentralError::sql(format!(
            "adding the sync triggers to {}.{} on {kind} (the role needs the TRIGGER privilege on it)",
            table.schema, table.name
        )))?;
        report.triggers_added.push(format!("{}: {}.{}", kind.key(), table.schema, table.name));
    }
    Ok(())
}

async fn has_sync_trigger(conn: &mut PgConnection, table: &SourceTable) -> Result<bool, CentralError> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                        JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE n.nspname = $1 AND c.relname = $2 AND t.tgname = 'penguin_console_sync_ins')",
    )
    .bind(table.schema)
    .bind(table.name)
    .fetch_one(&mut *conn)
    .await
    .map_err(CentralError::sql("reading existing triggers"))
}

async fn add_permissions(conn: &mut PgConnection, report: &mut InstallReport) -> Result<(), CentralError> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('public.permissions') IS NOT NULL AND to_regclass('public.staff_role_permissions') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await
        .map_err(CentralError::sql("looking for the permissions table"))?;
    if !exists {
        return Ok(());
    }
    for perm in permissions::ALL {
        let present: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM permissions WHERE name = $1)")
            .bind(perm.name)
            .fetch_one(&mut *conn)
            .await
            .map_err(CentralError::sql("reading permissions"))?;
        if present {
            continue;
        }
        // permissions.id has no default on the platform: take the next free id.
        let row = sqlx::query(
            "INSERT INTO permissions (id, name, description, category)
             SELECT COALESCE(MAX(id), 0) + 1, $1, $2, $3 FROM permissions RETURNING id",
        )
        .bind(perm.name)
        .bind(perm.description)
        .bind(perm.category)
        .fetch_one(&mut *conn)
        .await
        .map_err(CentralError::sql(format!("adding permission {}", perm.name)))?;
        let id: i32 = row.get(0);
        for (role, _, grants) in STANDARD_ROLES {
            if grants.contains(perm) {
                sqlx::query(
                    "INSERT INTO staff_role_permissions (role_id, permission_id)
                     SELECT id, $2 FROM staff_roles WHERE name = $1 ON CONFLICT DO NOTHING",
                )
                .bind(role)
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(CentralError::sql("granting a permission"))?;
            }
        }
        report.permissions_added.push(perm.name.to_string());
    }
    Ok(())
}
