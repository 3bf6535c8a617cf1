//! The tenant list over a synced cache, with expected numbers worked out by hand from
//! the small fixture (see `common::small_fixture`).
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::{small_fixture, Platform};
use penguin_admin::cache;
use penguin_admin::sync::{self, Cancel};
use penguin_admin::tenants::{self, TenantQuery, TenantSort};

async fn synced() -> (Platform, rusqlite::Connection) {
    let p = Platform::installed().await;
    small_fixture(&p.central).await;
    let admin = p.session("admin").await;
    sync::sync(&admin, &p.cache_path(), None, &Cancel::default(), true).await.unwrap();
    let conn = cache::open_read(&p.cache_path()).unwrap();
    (p, conn)
}

fn search(conn: &rusqlite::Connection, text: &str) -> Vec<String> {
    tenants::list(conn, &TenantQuery { search: Some(text.into()), ..Default::default() })
        .unwrap()
        .rows
        .into_iter()
        .map(|r| r.name)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_tenants_with_plan_members_workspaces_and_mrr() {
    let (_p, conn) = synced().await;
    let page =
        tenants::list(&conn, &TenantQuery { sort: TenantSort::Mrr, descending: true, ..Default::default() }).unwrap();
    assert_eq!(page.total, 2);
    assert!(page.as_of.is_some());
    let globex = &page.rows[0];
    // Enterprise billed yearly at $4,990.00: 499000 / 12 = 41583 cents a month.
    assert_eq!(
        (globex.name.as_str(), globex.plan.as_deref(), globex.mrr_cents),
        ("Globex Growth", Some("Enterprise"), 41583)
    );
    assert_eq!((globex.members, globex.workspaces, globex.status.as_str()), (1, 1, "active"));
    let acme = &page.rows[1];
    // Pro monthly at $99.00; two members, two workspaces.
    assert_eq!((acme.name.as_str(), acme.mrr_cents, acme.members, acme.workspaces), ("Acme Outreach", 9900, 2, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_names_ids_and_member_emails_by_substring() {
    let (p, conn) = synced().await;
    assert_eq!(search(&conn, "bob@acme"), vec!["Acme Outreach"], "a member's email");
    assert_eq!(search(&conn, "GLOBEX"), vec!["Globex Growth"], "case-insensitive");
    assert_eq!(search(&conn, "utrea"), vec!["Acme Outreach"], "inside a word");
    assert_eq!(search(&conn, "Carol Di"), vec!["Globex Growth"], "a member's name");
    assert_eq!(search(&conn, "0000000000b2"), vec!["Globex Growth"], "the tenant id");
    assert_eq!(search(&conn, "Ac"), vec!["Acme Outreach"], "two characters: a name prefix");
    assert!(search(&conn, "nobody-here").is_empty());

    // Hostile input: SQL and FTS syntax are plain text, long input is accepted.
    assert!(search(&conn, "'; DROP TABLE tenants; --").is_empty());
    assert!(search(&conn, "\" OR * NEAR(").is_empty());
    assert!(search(&conn, "%").is_empty() && search(&conn, "_").is_empty());
    assert!(search(&conn, &"x".repeat(10_000)).is_empty());
    let n: i64 = conn.query_row("SELECT count(*) FROM tenants", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 2);

    // A rename reaches the search index after the next sync.
    sqlx::query("UPDATE tenants SET name = 'Initech' WHERE name = 'Acme Outreach'")
        .execute(&p.central.oltp)
        .await
        .unwrap();
    let admin = p.session("admin").await;
    sync::sync(&admin, &p.cache_path(), None, &Cancel::default(), true).await.unwrap();
    let conn = cache::open_read(&p.cache_path()).unwrap();
    assert_eq!(search(&conn, "initech"), vec!["Initech"]);
    assert!(search(&conn, "Outreach").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_sorts_in_sql() {
    let (_p, conn) = synced().await;
    let q = |offset, descending| TenantQuery { limit: Some(1), offset: Some(offset), descending, ..Default::default() };
    assert_eq!(tenants::list(&conn, &q(0, false)).unwrap().rows[0].name, "Acme Outreach");
    assert_eq!(tenants::list(&conn, &q(1, false)).unwrap().rows[0].name, "Globex Growth");
    assert_eq!(tenants::list(&conn, &q(0, true)).unwrap().rows[0].name, "Globex Growth");
    assert_eq!(tenants::list(&conn, &q(0, false)).unwrap().total, 2);
}
