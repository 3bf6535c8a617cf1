//! Shared test harness: a throwaway PostgreSQL cluster per test with the platform's
//! tables and the console's schema, and a row-for-row comparison of central and cache.
#![allow(dead_code, missing_docs, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use penguin_admin::central::{install, Central, DbKind, DbTarget};
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
        let central = Central::connect(&profile.targets().unwrap(), 8).await.unwrap();
        Platform { guard: ClusterGuard(cluster), central, profile, dir }
    }

    /// The platform's tables (project migrations) and the console's schema installed.
    pub async fn installed() -> Platform {
        let p = Platform::empty().await;
        p.central.create_platform_schema().await.unwrap();
        install::install(&p.central).await.unwrap();
        p
    }

    pub fn targets(&self) -> [DbTarget; 4] {
        self.profile.targets().unwrap()
    }

    pub fn cache_path(&self) -> PathBuf {
        self.dir.path().join("cache.sqlite")
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

/// Compares every cached table of every database with the cache, row for row.
/// Returns the number of rows compared.
pub async fn assert_cache_matches(central: &Central, cache: &Path) -> usize {
    let sqlite = rusqlite::Connection::open(cache).unwrap();
    let mut compared = 0;
    for kind in DbKind::ALL {
        let mut conn = central.pool(kind).acquire().await.unwrap();
        for (source, shape) in tables::shapes(&mut conn, kind).await.unwrap() {
            let storages: Vec<Storage> = shape.columns.iter().map(|c| c.storage).collect();
            let exprs: Vec<String> = shape.columns.iter().map(|c| tables::select_expr("t", c)).collect();
            let sql = format!("SELECT {} FROM \"{}\".\"{}\" t", exprs.join(", "), source.schema, source.name);
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
