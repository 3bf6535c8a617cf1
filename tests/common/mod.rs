//! Shared test harness: a throwaway PostgreSQL cluster per test with the platform's
//! tables and the console's schema, and a row-for-row comparison of central and cache.
#![allow(dead_code, missing_docs, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use penguin_admin::auth::{permissions, ClientInfo, Session};
use penguin_admin::central::{Central, DbKind, DbTarget};
use penguin_admin::demo::cluster::{Cluster, ClusterGuard};
use penguin_admin::profiles::Profile;
use penguin_admin::sync::tables::{self, Storage};
use sqlx::Row;

pub struct Platform {
    pub guard: ClusterGuard,
    pub central: Central,
    pub profile: Profile,
    pub dir: tempfile::TempDir,
}

impl Platform {
    /// A cluster with the four databases, nothing created in them.
    pub async fn empty() -> Platform {
        let cluster = tokio::task::spawn_blocking(Cluster::start).await.unwrap().expect("starting a throwaway cluster");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.toml");
        let profile = Profile::for_demo(&cluster, &path);
        profile.save(&path).unwrap();
        // The platform's owner (the superuser over the cluster's private socket).
        let central = Central::connect(&profile.owner_targets().unwrap(), 8).await.unwrap();
        Platform { guard: ClusterGuard(cluster), central, profile, dir }
    }

    /// The platform's tables (project migrations) and the console's schema installed.
    pub async fn installed() -> Platform {
        let p = Platform::empty().await;
        p.central.create_platform_schema().await.unwrap();
        p.install().await;
        p
    }

    /// (Re)installs the console, with the desktop login's password.
    pub async fn install(&self) -> penguin_admin::central::install::InstallReport {
        penguin_admin::demo::install_console(&self.guard.0, &self.central).await.unwrap()
    }

    /// The desktop login's targets (what a desktop's profile names).
    pub fn targets(&self) -> [DbTarget; 4] {
        self.profile.targets().unwrap()
    }

    /// The desktop login's pools.
    pub async fn desktop(&self) -> Central {
        Central::connect(&self.targets(), 4).await.unwrap()
    }

    /// Signs in `ROLE@penguin.test` (created with the standard role's permissions on
    /// first use) through the desktop login, as a desktop does.
    pub async fn session(&self, role: &str) -> Session {
        let email = format!("{role}@penguin.test");
        staff_account(&self.central, role, &email, STAFF_PASSWORD).await;
        Session::sign_in(self.desktop().await, &email, STAFF_PASSWORD, &test_client()).await.unwrap()
    }

    /// Syncs the cache at `path` as `session` sees the platform.
    pub async fn sync_as(&self, session: &Session, path: &Path) -> penguin_admin::sync::SyncReport {
        penguin_admin::cache::unlock(path, penguin_admin::auth::Secret::new(CACHE_KEY));
        penguin_admin::sync::sync(session, path, None, &penguin_admin::sync::Cancel::default(), true).await.unwrap()
    }

    /// The test's cache, encrypted with [`CACHE_KEY`] (registered for this process;
    /// the CLI gets it through PENGUIN_ADMIN_CACHE_KEY).
    pub fn cache_path(&self) -> PathBuf {
        let path = self.dir.path().join("cache.sqlite");
        penguin_admin::cache::unlock(&path, penguin_admin::auth::Secret::new(CACHE_KEY));
        path
    }

    pub fn profile_path(&self) -> PathBuf {
        self.profile.path.clone()
    }
}

fn render_pg(row: &sqlx::postgres::PgRow, storages: &[Storage]) -> String {
    storages
        .iter()
        .enumerate()
        .map(|(i, s)| match s {
            Storage::Integer => row.get::<Option<i64>, _>(i).map(|v| v.to_string()),
            Storage::Real => row.get::<Option<f64>, _>(i).map(|v| format!("{v:.6}")),
            Storage::Text => row.get::<Option<String>, _>(i),
        })
        .map(|v| v.unwrap_or_else(|| "NULL".into()))
        .collect::<Vec<_>>()
        .join("|")
}

fn render_sqlite(row: &rusqlite::Row<'_>, storages: &[Storage]) -> String {
    storages
        .iter()
        .enumerate()
        .map(|(i, s)| match s {
            Storage::Integer => row.get::<_, Option<i64>>(i).unwrap().map(|v| v.to_string()),
            Storage::Real => row.get::<_, Option<f64>>(i).unwrap().map(|v| format!("{v:.6}")),
            Storage::Text => row.get::<_, Option<String>>(i).unwrap(),
        })
        .map(|v| v.unwrap_or_else(|| "NULL".into()))
        .collect::<Vec<_>>()
        .join("|")
}

/// The key of every test cache.
pub const CACHE_KEY: &str = "test-cache-key";

/// The password of every staff account the tests create.
pub const STAFF_PASSWORD: &str = "test-password-123";

/// Runs `sql` on `db` as `psql` with a desktop's credentials would: the desktop login
/// with `session`'s token or ticket set, in a transaction rolled back after. Returns
/// "ok" or the SQLSTATE of the refusal.
pub async fn as_desktop(session: &Session, db: DbKind, sql: &str) -> String {
    let mut tx = session.begin(db).await.unwrap();
    let out = match sqlx::query(sql).fetch_all(&mut *tx).await {
        Ok(_) => "ok".to_string(),
        Err(sqlx::Error::Database(d)) => d.code().map(|c| c.to_string()).unwrap_or_default(),
        Err(e) => panic!("{sql}: {e}"),
    };
    let _ = tx.rollback().await;
    out
}

pub fn test_client() -> ClientInfo {
    ClientInfo { ip: Some("192.0.2.10".into()), user_agent: Some("penguin-admin-tests".into()) }
}

/// A staff account `email` that signs in with `password` (bcrypt, as Nile stores it),
/// with the standard role's default permissions; nothing happens if it exists.
pub async fn staff_account(central: &Central, role: &str, email: &str, password: &str) -> uuid::Uuid {
    if let Some(id) = sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM users WHERE lower(email) = lower($1)")
        .bind(email)
        .fetch_optional(&central.oltp)
        .await
        .unwrap()
    {
        return id;
    }
    let crypt = bcrypt::hash(password, 4).unwrap();
    let names: Vec<String> = permissions::defaults_for(role).unwrap().iter().map(|p| p.name.to_string()).collect();
    let user = uuid::Uuid::new_v4();
    let mut tx = central.oltp.begin().await.unwrap();
    let role_id: i32 = sqlx::query_scalar(
        "INSERT INTO staff_roles (id, name) SELECT COALESCE(max(id), 0) + 1, $1 FROM staff_roles
         ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
    )
    .bind(role)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO staff_role_permissions (role_id, permission_id) SELECT $1, id FROM permissions WHERE name = ANY($2)
         ON CONFLICT DO NOTHING",
    )
    .bind(role_id)
    .bind(&names)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query("INSERT INTO users (id, name, email, email_verified) VALUES ($1, $2, $3, now())")
        .bind(user)
        .bind(format!("{role} staff"))
        .bind(email)
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("INSERT INTO staff_members (user_id, role_id) VALUES ($1, $2)")
        .bind(user)
        .bind(role_id)
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("INSERT INTO auth.credentials (user_id, method, payload) VALUES ($1, 'EMAIL_PASSWORD', $2)")
        .bind(user)
        .bind(serde_json::json!({ "crypt": crypt }))
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    user
}

/// Compares every cached table of every database with what `session`'s role-scoped
/// views show, row for row. Returns the number of rows compared.
pub async fn assert_cache_matches(session: &Session, cache: &Path) -> usize {
    let sqlite = penguin_admin::cache::open_read(cache).unwrap();
    let mut compared = 0;
    for kind in DbKind::ALL {
        let mut conn = session.begin(kind).await.unwrap();
        for (source, shape) in tables::shapes(&mut conn, kind, "").await.unwrap() {
            let storages: Vec<Storage> = shape.columns.iter().map(|c| c.storage).collect();
            let exprs: Vec<String> = shape.columns.iter().map(|c| tables::select_expr("t", c)).collect();
            let sql = format!("SELECT {} FROM penguin_console_api.\"{}\" t", exprs.join(", "), source.cache_name());
            let mut central_rows: Vec<String> = sqlx::query(&sql)
                .fetch_all(&mut *conn)
                .await
                .unwrap()
                .iter()
                .map(|r| render_pg(r, &storages))
                .collect();
            let cols: Vec<String> = shape.columns.iter().map(|c| format!("\"{}\"", c.name)).collect();
            let mut stmt =
                sqlite.prepare(&format!("SELECT {} FROM \"{}\"", cols.join(", "), source.cache_name())).unwrap();
            let mut cache_rows: Vec<String> =
                stmt.query_map([], |r| Ok(render_sqlite(r, &storages))).unwrap().map(|r| r.unwrap()).collect();
            central_rows.sort();
            cache_rows.sort();
            assert_eq!(
                central_rows.len(),
                cache_rows.len(),
                "row count of {} differs: central {} cache {}",
                source.qualified(),
                central_rows.len(),
                cache_rows.len()
            );
            if central_rows != cache_rows {
                let missing: Vec<_> = central_rows.iter().filter(|r| !cache_rows.contains(r)).take(3).collect();
                let extra: Vec<_> = cache_rows.iter().filter(|r| !central_rows.contains(r)).take(3).collect();
                panic!("{} differs: missing in cache {missing:?}, extra in cache {extra:?}", source.qualified());
            }
            compared += central_rows.len();
        }
    }
    compared
}

/// A small, hand-written platform: 3 plans, 2 tenants with members, workspaces,
/// subscriptions and payments.
pub async fn small_fixture(central: &Central) {
    sqlx::raw_sql(
        "INSERT INTO plans (id, name, slug, price_monthly, price_yearly) VALUES
           ('00000000-0000-0000-0000-0000000000a1', 'Starter', 'starter', 2900, 29000),
           ('00000000-0000-0000-0000-0000000000a2', 'Pro', 'pro', 9900, 99000),
           ('00000000-0000-0000-0000-0000000000a3', 'Enterprise', 'enterprise', 49900, 499000);
         INSERT INTO tenants (id, name) VALUES
           ('00000000-0000-0000-0000-0000000000b1', 'Acme Outreach'),
           ('00000000-0000-0000-0000-0000000000b2', 'Globex Growth');
         INSERT INTO users (id, name, email) VALUES
           ('00000000-0000-0000-0000-0000000000c1', 'Alice Moreau', 'alice@acme.test'),
           ('00000000-0000-0000-0000-0000000000c2', 'Bob Stone', 'bob@acme.test'),
           ('00000000-0000-0000-0000-0000000000c3', 'Carol Diaz', 'carol@globex.test');
         INSERT INTO tenant_users (tenant_id, user_id, roles, email) VALUES
           ('00000000-0000-0000-0000-0000000000b1', '00000000-0000-0000-0000-0000000000c1', '{owner}', 'alice@acme.test'),
           ('00000000-0000-0000-0000-0000000000b1', '00000000-0000-0000-0000-0000000000c2', '{member}', 'bob@acme.test'),
           ('00000000-0000-0000-0000-0000000000b2', '00000000-0000-0000-0000-0000000000c3', '{owner}', 'carol@globex.test');
         INSERT INTO companies (id, tenant_id, name, workspace_name) VALUES
           ('00000000-0000-0000-0000-0000000000d1', '00000000-0000-0000-0000-0000000000b1', 'Acme EU', 'acme-eu'),
           ('00000000-0000-0000-0000-0000000000d2', '00000000-0000-0000-0000-0000000000b1', 'Acme US', 'acme-us'),
           ('00000000-0000-0000-0000-0000000000d3', '00000000-0000-0000-0000-0000000000b2', 'Globex', 'globex');
         INSERT INTO subscriptions (id, tenant_id, plan_id, status, current_period_start, current_period_end) VALUES
           ('00000000-0000-0000-0000-0000000000e1', '00000000-0000-0000-0000-0000000000b1', '00000000-0000-0000-0000-0000000000a2',
            'active', '2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z'),
           ('00000000-0000-0000-0000-0000000000e2', '00000000-0000-0000-0000-0000000000b2', '00000000-0000-0000-0000-0000000000a3',
            'active', '2026-03-01T00:00:00Z', '2027-03-01T00:00:00Z');
         INSERT INTO payments (subscription_id, amount, currency, status, processed, description, stripe_payment_intent_id)
         SELECT '00000000-0000-0000-0000-0000000000e1', 99.00, 'USD', 'succeeded', now() - (g || ' days')::interval,
                'Pro Plan - Monthly', 'pi_' || g FROM generate_series(1, 50) g;",
    )
    .execute(&central.oltp)
    .await
    .unwrap();
}
