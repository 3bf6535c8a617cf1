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
//! - enforced access (see `docs/ARCHITECTURE.md`): the `pgcrypto` extension, one HMAC
//!   key per database (each database holds all four), the `penguin_console_api` schema
//!   with the sign-in and action functions (`sql/api/`) and one role-scoped view per
//!   cached table ([`crate::sync::policy`]), and the **desktop login**: a role that owns
//!   nothing and may only use that schema (USAGE, SELECT on its views, EXECUTE on its
//!   functions) — never a platform table, `auth.*`, the audit log or the console's own
//!   tables. Function bodies and views are re-created on every install.
//!
//! It never creates, drops or alters a platform table. It is idempotent, serialised by
//! an advisory lock, and needs no superuser: the role must be allowed to create a
//! schema and the `pgcrypto` extension (a trusted extension) in the database, to create
//! triggers on the platform's tables, and CREATEROLE to create the desktop login.

use std::collections::BTreeMap;

use sqlx::{PgConnection, Row};

use super::{Central, CentralError, DbKind};
use crate::auth::permissions::{self, STANDARD_ROLES};
use crate::sync::policy::{self, TableColumn};
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
    ("0012_access", &DbKind::ALL, include_str!("sql/console/0012_access.sql")),
    ("0013_staff_sessions", &[DbKind::Oltp], include_str!("sql/console/0013_staff_sessions.sql")),
    ("0014_relays", &DbKind::ALL, include_str!("sql/console/0014_relays.sql")),
    ("0018_finance_access", &[DbKind::Oltp], include_str!("sql/console/0018_finance_access.sql")),
];

/// The API's functions, re-created on every install, in order: the databases each
/// applies to and its SQL (`{crypto}` = pgcrypto's schema).
const API: &[(&[DbKind], &str)] = &[
    (&DbKind::ALL, include_str!("sql/api/access.sql")),
    (&[DbKind::Oltp], include_str!("sql/api/signin.sql")),
    (&DbKind::ALL, include_str!("sql/api/sync.sql")),
    (&DbKind::ALL, include_str!("sql/api/relay.sql")),
    (&[DbKind::Olap], include_str!("sql/api/audit.sql")),
    (&[DbKind::Oltp, DbKind::Notifications], include_str!("sql/api/notify.sql")),
    (&[DbKind::Oltp], include_str!("sql/api/members.sql")),
    (&[DbKind::Notifications], include_str!("sql/api/members.sql")),
    (&[DbKind::Queue], include_str!("sql/api/queue.sql")),
    (&[DbKind::Notifications], include_str!("sql/api/alerts.sql")),
    (&DbKind::ALL, include_str!("sql/api/monitoring.sql")),
    (&[DbKind::Oltp], include_str!("sql/api/finance.sql")),
    (&[DbKind::Oltp], include_str!("sql/api/workspaces.sql")),
    (&[DbKind::Oltp], include_str!("sql/api/tenant_admin.sql")),
];

/// The desktop login's default name.
pub const DESKTOP_ROLE: &str = "penguin_console_desktop";

/// What `install` is asked to do besides the schema.
#[derive(Clone, Default)]
pub struct InstallOptions {
    /// The desktop login's name ([`DESKTOP_ROLE`] when empty).
    pub desktop_role: String,
    /// Its password, set when given (created without one, so it cannot log in, when
    /// the role is new and none is given).
    pub desktop_password: Option<String>,
}

impl std::fmt::Debug for InstallOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstallOptions")
            .field("desktop_role", &self.role())
            .field("desktop_password", &self.desktop_password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl InstallOptions {
    fn role(&self) -> &str {
        if self.desktop_role.is_empty() {
            DESKTOP_ROLE
        } else {
            &self.desktop_role
        }
    }
}

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
    /// Role-scoped views created, as "db: view".
    pub views: Vec<String>,
    /// Whether the desktop login was created now.
    pub desktop_role_created: bool,
    /// Tables the desktop login can reach directly (granted to PUBLIC by the platform,
    /// for instance): each is a hole in the enforced access to close by hand.
    pub warnings: Vec<String>,
}

/// Installs or upgrades the console's schema on all four databases, with the default
/// desktop login (its password unchanged).
pub async fn install(central: &Central) -> Result<InstallReport, CentralError> {
    install_with(central, &InstallOptions::default()).await
}

/// Installs or upgrades the console's schema and enforced access on all four databases.
pub async fn install_with(central: &Central, options: &InstallOptions) -> Result<InstallReport, CentralError> {
    let role = options.role();
    if role.is_empty() || role.len() > 63 || !role.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(CentralError::Sql {
            context: format!("the desktop login name `{role}` must be 1–63 letters, digits or '_'"),
            source: sqlx::Error::Protocol("bad role name".into()),
        });
    }
    let mut report = InstallReport::default();
    for kind in DbKind::ALL {
        let mut tx = begin_locked(central, kind).await?;
        apply_migrations(&mut tx, kind, &mut report).await?;
        add_triggers(&mut tx, kind, &mut report).await?;
        if kind == DbKind::Oltp {
            add_permissions(&mut tx, &mut report).await?;
        }
        tx.commit().await.map_err(CentralError::sql(format!("committing the install on {kind}")))?;
    }
    share_keys(central).await?;
    for kind in DbKind::ALL {
        let mut tx = begin_locked(central, kind).await?;
        install_access(&mut tx, kind, options, &mut report).await?;
        tx.commit().await.map_err(CentralError::sql(format!("committing the access install on {kind}")))?;
    }
    Ok(report)
}

/// A transaction on `kind` holding the install lock, so two installs never interleave.
async fn begin_locked(
    central: &Central,
    kind: DbKind,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, CentralError> {
    let mut tx = central.pool(kind).begin().await.map_err(CentralError::sql(format!("opening the {kind} database")))?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(INSTALL_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(CentralError::sql("waiting for another install to finish"))?;
    Ok(tx)
}

/// Each database's key stays where it is; the others' keys are copied to it, and a
/// database without one gets a new random key.
async fn share_keys(central: &Central) -> Result<(), CentralError> {
    let mut own: BTreeMap<DbKind, Vec<u8>> = BTreeMap::new();
    for kind in DbKind::ALL {
        let key: Option<Vec<u8>> = sqlx::query_scalar("SELECT key FROM penguin_console.access_keys WHERE db = $1")
            .bind(kind.key())
            .fetch_optional(central.pool(kind))
            .await
            .map_err(CentralError::sql(format!("reading the {kind} database's key")))?;
        let key = match key {
            Some(k) => k,
            None => {
                use argon2::password_hash::rand_core::{OsRng, RngCore};
                let mut k = vec![0u8; 32];
                OsRng.fill_bytes(&mut k);
                k
            }
        };
        own.insert(kind, key);
    }
    for kind in DbKind::ALL {
        for (db, key) in &own {
            sqlx::query(
                "INSERT INTO penguin_console.access_keys (db, key) VALUES ($1, $2)
                 ON CONFLICT (db) DO UPDATE SET key = EXCLUDED.key WHERE access_keys.key <> EXCLUDED.key",
            )
            .bind(db.key())
            .bind(key)
            .execute(central.pool(kind))
            .await
            .map_err(CentralError::sql(format!("storing the keys on the {kind} database")))?;
        }
    }
    Ok(())
}

/// pgcrypto, the desktop login, the API's functions and views, and the grants.
async fn install_access(
    conn: &mut PgConnection,
    kind: DbKind,
    options: &InstallOptions,
    report: &mut InstallReport,
) -> Result<(), CentralError> {
    let role = options.role();
    sqlx::raw_sql("CREATE EXTENSION IF NOT EXISTS pgcrypto")
        .execute(&mut *conn)
        .await
        .map_err(CentralError::sql(format!("creating the pgcrypto extension on {kind}")))?;
    let crypto: String = sqlx::query_scalar(
        "SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pgcrypto'",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(CentralError::sql("finding pgcrypto"))?;
    sqlx::query(
        "INSERT INTO penguin_console.access_settings (name, value) VALUES ('db', $1)
         ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
    )
    .bind(kind.key())
    .execute(&mut *conn)
    .await
    .map_err(CentralError::sql("recording the database's name"))?;

    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
        .bind(role)
        .fetch_one(&mut *conn)
        .await
        .map_err(CentralError::sql("looking for the desktop login"))?;
    if !exists {
        sqlx::raw_sql(&format!(
            "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS",
            quote_ident(role)
        ))
        .execute(&mut *conn)
        .await
        .map_err(CentralError::sql(format!(
            "creating the desktop login `{role}` (the installing role needs CREATEROLE)"
        )))?;
        report.desktop_role_created = true;
    }
    if let Some(password) = &options.desktop_password {
        // The password is sent as a literal (ALTER ROLE takes no parameters); it never
        // reaches a log because statement logging of this connection is off by default.
        sqlx::raw_sql(&format!("ALTER ROLE {} PASSWORD {}", quote_ident(role), quote_literal(password)))
            .execute(&mut *conn)
            .await
            .map_err(|_| CentralError::Sql {
                context: format!("setting the desktop login's password on {kind}"),
                source: sqlx::Error::Protocol("ALTER ROLE refused".into()),
            })?;
    }

    // Function bodies are checked when first called, not now: a platform may lack a
    // table some function touches (Nile's auth.sessions in the schema guides).
    sqlx::raw_sql("SET LOCAL check_function_bodies = off")
        .execute(&mut *conn)
        .await
        .map_err(CentralError::sql("preparing the API install"))?;
    // Everything the API offers is dropped and made again, so a removed view or an
    // older function signature does not linger.
    sqlx::raw_sql("DROP SCHEMA IF EXISTS penguin_console_api CASCADE")
        .execute(&mut *conn)
        .await
        .map_err(CentralError::sql(format!("replacing the console's API on {kind}")))?;
    for (dbs, sql) in API {
        if dbs.contains(&kind) {
            sqlx::raw_sql(&sql.replace("{crypto}", &quote_ident(&crypto)))
                .execute(&mut *conn)
                .await
                .map_err(CentralError::sql(format!("creating the console's API functions on {kind}")))?;
        }
    }
    if kind == DbKind::Oltp {
        sqlx::raw_sql(&format!(
            "INSERT INTO penguin_console.access_settings (name, value)
             VALUES ('dummy_hash', {0}.crypt(encode({0}.gen_random_bytes(24), 'hex'), {0}.gen_salt('bf', 10)))
             ON CONFLICT (name) DO NOTHING",
            quote_ident(&crypto)
        ))
        .execute(&mut *conn)
        .await
        .map_err(CentralError::sql("preparing sign-in"))?;
    }
    for table in tables::SYNCED.iter().filter(|t| t.db == kind) {
        let columns: Vec<TableColumn> = sqlx::query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
             WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        )
        .bind(format!("{}.{}", quote_ident(table.schema), quote_ident(table.name)))
        .fetch_all(&mut *conn)
        .await
        .map_err(CentralError::sql("reading a table's columns"))?
        .into_iter()
        .map(|r| TableColumn { name: r.get(0), pg_type: r.get(1) })
        .collect();
        if columns.is_empty() {
            continue; // the platform lacks it (reported by add_triggers)
        }
        let Some(sql) = policy::view_sql(table, &columns) else { continue };
        sqlx::raw_sql(&sql).execute(&mut *conn).await.map_err(CentralError::sql(format!(
            "creating the role-scoped view of {}.{} on {kind}",
            table.schema, table.name
        )))?;
        report.views.push(format!("{}: {}", kind.key(), table.cache_name()));
    }

    if kind == DbKind::Oltp {
        sqlx::raw_sql(include_str!("sql/api/aggregates.sql"))
            .execute(&mut *conn)
            .await
            .map_err(CentralError::sql("creating the console's aggregate views on OLTP"))?;
    }

    let r = quote_ident(role);
    sqlx::raw_sql(&format!(
        "REVOKE ALL ON SCHEMA penguin_console FROM PUBLIC;
         REVOKE ALL ON ALL TABLES IN SCHEMA penguin_console FROM PUBLIC;
         REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA penguin_console FROM PUBLIC;
         REVOKE ALL ON SCHEMA penguin_console FROM {r};
         GRANT USAGE ON SCHEMA penguin_console_api TO {r};
         GRANT SELECT ON ALL TABLES IN SCHEMA penguin_console_api TO {r};
         GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA penguin_console_api TO {r};"
    ))
    .execute(&mut *conn)
    .await
    .map_err(CentralError::sql(format!("granting the desktop login its access on {kind}")))?;

    // Anything else the login can reach (the platform granting a table to PUBLIC) is a
    // hole in the enforced access: report it rather than silently accept it.
    let holes: Vec<String> = sqlx::query_scalar(
        "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p', 'v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'penguin_console_api')
           AND (has_table_privilege($1, c.oid, 'SELECT') OR has_table_privilege($1, c.oid, 'INSERT')
                OR has_table_privilege($1, c.oid, 'UPDATE') OR has_table_privilege($1, c.oid, 'DELETE'))
         ORDER BY 1",
    )
    .bind(role)
    .fetch_all(&mut *conn)
    .await
    .map_err(CentralError::sql("checking what the desktop login can reach"))?;
    for hole in holes {
        report.warnings.push(format!(
            "{}: the desktop login `{role}` can reach {hole} directly; revoke it (REVOKE ALL ON {hole} FROM PUBLIC)",
            kind.key()
        ));
    }
    Ok(())
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

/// Quotes an SQL string literal (standard_conforming_strings is on since PostgreSQL 9.1).
fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
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
