//! Keys and indexes set aside during a bulk load.
//!
//! Checking foreign keys row by row costs more than the `COPY` itself, and inserting
//! random UUIDs into a primary-key index row by row is much slower than building the
//! index once by sorting. So, inside the load's transaction, the big tables lose their
//! foreign keys, their primary key (unless another table references it) and their
//! non-unique indexes; afterwards each is recreated under the same name from the
//! definition PostgreSQL reported, which also validates every loaded row in one pass.
//! Unique constraints stay. Tables the current user does not own are left alone (the
//! load is then merely slower). Nothing is visible to other sessions: the transaction
//! either commits with the schema as it was or rolls back.

use sqlx::postgres::PgConnection;

use super::copy::db_err;
use super::SeedError;

/// What was dropped from one table.
struct TableKeys {
    table: &'static str,
    /// `db.table`, for errors.
    step: String,
    /// (name, definition): the primary key first, then foreign keys.
    constraints: Vec<(String, String)>,
    /// (name, CREATE INDEX statement).
    indexes: Vec<(String, String)>,
}

/// Keys and indexes dropped for a load, to be put back by [`SuspendedKeys::restore`].
pub(super) struct SuspendedKeys {
    tables: Vec<TableKeys>,
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl SuspendedKeys {
    /// Drops the foreign keys, unreferenced primary keys and non-unique indexes of
    /// `tables` (names as in SQL, e.g. `auth.sessions`) in database `db`.
    pub(super) async fn suspend(conn: &mut PgConnection, db: &str, tables: &[&'static str]) -> Result<Self, SeedError> {
        let mut out = SuspendedKeys { tables: Vec::with_capacity(tables.len()) };
        for &table in tables {
            out.tables.push(suspend_table(conn, table, format!("{db}.{table}")).await?);
        }
        Ok(out)
    }

    /// Recreates everything [`SuspendedKeys::suspend`] dropped.
    pub(super) async fn restore(self, conn: &mut PgConnection) -> Result<(), SeedError> {
        for t in &self.tables {
            for (_, def) in &t.indexes {
                sqlx::raw_sql(def).execute(&mut *conn).await.map_err(db_err(&t.step))?;
            }
            if !t.constraints.is_empty() {
                let adds: Vec<String> =
                    t.constraints.iter().map(|(n, def)| format!("ADD CONSTRAINT {} {def}", quote_ident(n))).collect();
                sqlx::raw_sql(&format!("ALTER TABLE {} {}", t.table, adds.join(", ")))
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err(&t.step))?;
            }
        }
        Ok(())
    }
}

async fn suspend_table(conn: &mut PgConnection, table: &'static str, step: String) -> Result<TableKeys, SeedError> {
    let mut keys = TableKeys { table, step, constraints: Vec::new(), indexes: Vec::new() };
    let owned: bool =
        sqlx::query_scalar("SELECT pg_has_role(relowner, 'USAGE') FROM pg_class WHERE oid = $1::text::regclass")
            .bind(table)
            .fetch_one(&mut *conn)
            .await
            .map_err(db_err(&keys.step))?;
    if !owned {
        return Ok(keys);
    }
    keys.constraints = sqlx::query_as(
        "SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint \
         WHERE conrelid = $1::text::regclass AND (contype = 'f' OR (contype = 'p' AND NOT EXISTS \
         (SELECT 1 FROM pg_constraint r WHERE r.confrelid = pg_constraint.conrelid AND r.contype = 'f'))) \
         ORDER BY contype DESC, conname",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err(&keys.step))?;
    keys.indexes = sqlx::query_as(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i \
         WHERE i.indrelid = $1::text::regclass AND NOT i.indisunique AND NOT i.indisprimary \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err(&keys.step))?;
    if !keys.constraints.is_empty() {
        let drops: Vec<String> =
            keys.constraints.iter().map(|(n, _)| format!("DROP CONSTRAINT {}", quote_ident(n))).collect();
        sqlx::raw_sql(&format!("ALTER TABLE {table} {}", drops.join(", ")))
            .execute(&mut *conn)
            .await
            .map_err(db_err(&keys.step))?;
    }
    for (name, _) in &keys.indexes {
        // `name` is regclass text: schema-qualified and quoted where needed.
        sqlx::raw_sql(&format!("DROP INDEX {name}")).execute(&mut *conn).await.map_err(db_err(&keys.step))?;
    }
    Ok(keys)
}
