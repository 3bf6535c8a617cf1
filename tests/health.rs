//! Workspace health: scores computed by hand from fixture analytics (formula in
//! src/health.rs), the 7-day window, history, the drop / into-red findings, the list
//! over the cache and the CLI.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
mod team;

use chrono::NaiveDate;
use common::{small_fixture, staff_account, test_client, Platform, STAFF_PASSWORD};
use penguin_admin::auth::{Session, Staff};
use penguin_admin::cache;
use penguin_admin::health::{self, Colour, Finding, WorkspaceQuery};
use team::{ACME, ACME_EU, ACME_US, GLOBEX, GLOBEX_WS};

/// Daily analytics rows (the demo writes one per campaign and day, stamped 23:59:59).
///
/// Acme EU (d1):
/// - 11-13: sent 100, delivered 95, opened 20, replied 5, bounced 2, complaints 0.
///   Scored on 11-16 (window 11-10…11-16): deliverability (0.95−0.85)/0.13 = 76.923,
///   engagement 25/95/0.30 = 87.719, bounce 1−0.02/0.05 = 60, complaint 100,
///   volume 100/350 = 28.571 → 23.077 + 17.544 + 12 + 20 + 2.857 = 75.48 → 75 yellow.
/// - 11-20: the worked example of the module docs: sent 1000, delivered 970, opened
///   200, replied 40, bounced 20, complaints 1 → 79.31 → 79 yellow on 11-20 (the 11-13
///   row is outside that window, and the 11-21 row after it: neither may count).
/// - 11-21: sent 500, delivered 100 (terrible, and after the day scored).
///
/// Acme US (d2):
/// - 11-13: sent 1000, delivered 990, opened 300, replied 0, bounced 5, complaints 0 →
///   deliverability 100 (clamped), engagement 100 (clamped), bounce 90, complaint 100,
///   volume 100 → 30 + 20 + 18 + 20 + 10 = 98 green on 11-16.
/// - 11-20: sent 1000, delivered 900, opened 50, replied 0, bounced 80, complaints 3 →
///   deliverability 38.462, engagement 50/900/0.30 = 18.519, bounce 0 (8 % > 5 %),
///   complaint 0 (0.33 % > 0.3 %), volume 100 → 11.538 + 3.704 + 0 + 0 + 10 = 25.24 →
///   25 red on 11-20: a drop of 73 from 98 (11-16) and a crossing into red.
///
/// Globex (d3) sends nothing: no score.
async fn fixture(p: &Platform) {
    small_fixture(&p.central).await;
    sqlx::raw_sql(&format!(
        "INSERT INTO campaign_analytics (campaign_id, company_id, sent, delivered, opened_tracked, replied, bounced, spam_complaints, updated) VALUES
           ('k1', '{ACME_EU}', 100, 95, 20, 5, 2, 0, '2026-11-13T23:59:59Z'),
           ('k1', '{ACME_EU}', 1000, 970, 200, 40, 20, 1, '2026-11-20T23:59:59Z'),
           ('k1', '{ACME_EU}', 500, 100, 0, 0, 400, 50, '2026-11-21T23:59:59Z'),
           ('k2', '{ACME_US}', 1000, 990, 300, 0, 5, 0, '2026-11-13T23:59:59Z'),
           ('k2', '{ACME_US}', 1000, 900, 50, 0, 80, 3, '2026-11-20T23:59:59Z');"
    ))
    .execute(&p.central.olap)
    .await
    .unwrap();
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

async fn stored(p: &Platform) -> Vec<(String, String, i32, String)> {
    sqlx::query_as(
        "SELECT company_id, day::text, score, colour FROM penguin_console.workspace_health ORDER BY day, company_id",
    )
    .fetch_all(&p.central.olap)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn computes_daily_scores_history_and_findings() {
    let p = Platform::installed().await;
    fixture(&p).await;
    let service = Staff::service("test");
    let first = health::compute(&p.central, &service, day("2026-11-16")).await.unwrap();
    assert_eq!((first.scored, first.green, first.yellow, first.red), (2, 1, 1, 0));
    assert!(first.findings.is_empty(), "{:?}", first.findings);

    let run = health::compute(&p.central, &service, day("2026-11-20")).await.unwrap();
    assert_eq!((run.scored, run.green, run.yellow, run.red), (2, 0, 1, 1));
    assert_eq!(
        run.findings,
        [
            Finding::Drop {
                workspace_id: ACME_US.into(),
                workspace_name: Some("Acme US".into()),
                tenant_id: Some(ACME.into()),
                from: 98,
                from_day: "2026-11-16".into(),
                to: 25,
            },
            Finding::IntoRed {
                workspace_id: ACME_US.into(),
                workspace_name: Some("Acme US".into()),
                tenant_id: Some(ACME.into()),
                from: 98,
                to: 25,
            },
        ]
    );
    // Recomputing a day replaces it; the history keeps one row per workspace and day.
    health::compute(&p.central, &service, day("2026-11-20")).await.unwrap();
    let rows = stored(&p).await;
    let expect = |w: &str, d: &str, s: i32, c: &str| (w.to_string(), d.to_string(), s, c.to_string());
    assert_eq!(
        rows,
        [
            expect(ACME_EU, "2026-11-16", 75, "yellow"),
            expect(ACME_US, "2026-11-16", 98, "green"),
            expect(ACME_EU, "2026-11-20", 79, "yellow"),
            expect(ACME_US, "2026-11-20", 25, "red"),
        ]
    );

    // Without the permission (a role that cannot even sync), nothing is computed: a qa
    // account whose role was stripped of every permission before signing in.
    staff_account(&p.central, "qa", "nobody@penguin.test", STAFF_PASSWORD).await;
    sqlx::query("DELETE FROM staff_role_permissions WHERE role_id = (SELECT id FROM staff_roles WHERE name = 'qa')")
        .execute(&p.central.oltp)
        .await
        .unwrap();
    let nobody =
        Session::sign_in(p.desktop().await, "nobody@penguin.test", STAFF_PASSWORD, &test_client()).await.unwrap();
    assert!(nobody.staff().permissions().is_empty());
    assert!(matches!(
        health::compute(&p.central, nobody.staff(), day("2026-11-21")).await,
        Err(health::HealthError::Forbidden(_))
    ));
    assert_eq!(stored(&p).await.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspace_list_and_history_read_from_the_cache() {
    let p = Platform::installed().await;
    fixture(&p).await;
    let service = Staff::service("test");
    health::compute(&p.central, &service, day("2026-11-16")).await.unwrap();
    health::compute(&p.central, &service, day("2026-11-20")).await.unwrap();
    sqlx::query("INSERT INTO penguin_console.sandbox_tenants (tenant_id) VALUES ($1::uuid)")
        .bind(GLOBEX)
        .execute(&p.central.oltp)
        .await
        .unwrap();
    let admin_session = p.session("admin").await;
    p.sync_as(&admin_session, &p.cache_path()).await;
    let conn = cache::open_read(&p.cache_path()).unwrap();
    let admin = admin_session.staff();

    let acme = health::workspaces(&conn, admin, Some(ACME)).unwrap();
    let got: Vec<_> = acme.iter().map(|w| (w.name.as_str(), w.score, w.colour, w.sending_volume)).collect();
    assert_eq!(
        got,
        [("Acme US", Some(25), Some(Colour::Red), 1000), ("Acme EU", Some(79), Some(Colour::Yellow), 1000)]
    );
    assert_eq!(acme[0].scored_on.as_deref(), Some("2026-11-20"));
    let all = health::workspaces(&conn, admin, None).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!((all[2].id.as_str(), all[2].score), (GLOBEX_WS, None), "unscored last");

    // Paged in SQL, in the same order: US (25), EU (79), Globex (unscored).
    let page = |q: WorkspaceQuery| {
        let p = health::workspace_page(&conn, admin, &q).unwrap();
        (p.rows.into_iter().map(|w| w.name).collect::<Vec<_>>(), p.total)
    };
    let q = |search: Option<&str>, limit: u32, offset: u32| WorkspaceQuery {
        search: search.map(String::from),
        limit: Some(limit),
        offset: Some(offset),
        ..Default::default()
    };
    assert_eq!(page(q(None, 2, 0)), (vec!["Acme US".to_string(), "Acme EU".to_string()], 3));
    assert_eq!(page(q(None, 2, 2)), (vec!["Globex".to_string()], 3));
    let first = health::workspace_page(&conn, admin, &q(None, 1, 0)).unwrap();
    assert_eq!(first.rows[..], all[..1], "a page row is the full list's row");
    assert!(first.as_of.is_some(), "the page says when the workspaces were synced");
    // Search: workspace name (any case), tenant name, exact id; LIKE wildcards are literal.
    assert_eq!(page(q(Some(" eu "), 50, 0)), (vec!["Acme EU".to_string()], 1));
    assert_eq!(page(q(Some("GROWTH"), 50, 0)), (vec!["Globex".to_string()], 1));
    assert_eq!(page(q(Some(ACME_US), 50, 0)), (vec!["Acme US".to_string()], 1));
    assert_eq!(page(q(Some("%"), 50, 0)), (vec![], 0));
    let acme_only = WorkspaceQuery { tenant_id: Some(ACME.into()), search: Some("acme".into()), ..Default::default() };
    assert_eq!(page(acme_only), (vec!["Acme US".to_string(), "Acme EU".to_string()], 2));

    let h = health::history(&conn, admin, ACME_US, 30).unwrap();
    let got: Vec<_> = h.iter().map(|x| (x.day.as_str(), x.score, x.colour)).collect();
    assert_eq!(got, [("2026-11-16", 98, Colour::Green), ("2026-11-20", 25, Colour::Red)]);
    assert_eq!(health::history(&conn, admin, ACME_US, 1).unwrap().len(), 1);

    // qa sees the sandbox tenant's workspaces only.
    let qa_session = p.session("qa").await;
    let qa = qa_session.staff();
    let seen: Vec<_> = health::workspaces(&conn, qa, None).unwrap().into_iter().map(|w| w.id).collect();
    assert_eq!(seen, [GLOBEX_WS]);
    let qa_page =
        health::workspace_page(&conn, qa, &WorkspaceQuery { search: Some("acme".into()), ..Default::default() });
    assert_eq!(qa_page.unwrap().total, 0, "qa's search does not reach other tenants");
    assert!(health::history(&conn, qa, ACME_US, 30).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_computes_a_day_as_the_service_identity() {
    let p = Platform::installed().await;
    fixture(&p).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_penguin-admin"))
        .env("XDG_CONFIG_HOME", std::env::temp_dir().join("penguin-cli-test-config"))
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .args(["health", "compute", "--profile", &p.profile_path().to_string_lossy(), "--date", "2026-11-20"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (run["day"].as_str(), run["scored"].as_u64(), run["red"].as_u64()),
        (Some("2026-11-20"), Some(2), Some(1))
    );
    // No earlier history here, so no findings yet.
    assert_eq!(run["findings"], serde_json::json!([]));
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_penguin-admin"))
        .args(["health", "compute", "--profile", &p.profile_path().to_string_lossy(), "--date", "20/11/2026"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("YYYY-MM-DD"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_comes_with_health_history_and_workspace_roles() {
    use penguin_admin::demo::{self, seed::SeedOptions};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.toml");
    let now = chrono::Utc::now();
    let (profile, _) = demo::up(&path, &SeedOptions { scale: 1, seed: 42, now }, false, &|_| {}).await.unwrap();
    // Health compute is a server-side tool: the owner's connection, not the desktop login.
    let central = penguin_admin::central::Central::connect(&profile.owner_targets().unwrap(), 2).await.unwrap();
    let days: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT day::text FROM penguin_console.workspace_health ORDER BY 1")
            .fetch_all(&central.olap)
            .await
            .unwrap();
    assert_eq!(days.len(), 14, "{days:?}");
    assert_eq!(days.last().cloned(), Some(now.date_naive().to_string()));
    let run = health::compute(&central, &Staff::service("demo"), now.date_naive()).await.unwrap();
    assert!(run.scored > 0 && run.green + run.yellow + run.red == run.scored);
    eprintln!(
        "demo health today: {} green, {} yellow, {} red, {} findings",
        run.green,
        run.yellow,
        run.red,
        run.findings.len()
    );
    let (roles, admins): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE role = 'admin') FROM penguin_console.workspace_members",
    )
    .fetch_one(&central.oltp)
    .await
    .unwrap();
    assert!(roles > admins && admins > 0, "{roles} roles, {admins} admins");
    // Every workspace role belongs to a member of the workspace's own tenant.
    let strays: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM penguin_console.workspace_members w JOIN companies c ON c.id = w.company_id
         WHERE NOT EXISTS (SELECT 1 FROM tenant_users tu WHERE tu.tenant_id = c.tenant_id AND tu.user_id = w.user_id)",
    )
    .fetch_one(&central.oltp)
    .await
    .unwrap();
    assert_eq!(strays, 0);
    central.oltp.close().await;
    demo::down(&path).unwrap();
}
