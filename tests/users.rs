//! Global user search and the user detail over a synced cache, with expectations
//! worked out by hand from the team fixture (tests/team/mod.rs).
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
mod team;

use common::Platform;
use penguin_admin::auth::Staff;
use penguin_admin::cache;
use penguin_admin::sync::{self, Cancel};
use penguin_admin::users::sessions::{SessionKind, SignInOutcome};
use penguin_admin::users::{self, UserError, UserQuery, UserStatus};
use team::*;

async fn synced() -> (Platform, rusqlite::Connection) {
    let p = Platform::installed().await;
    team_fixture(&p.central).await;
    sqlx::query(
        "INSERT INTO admin_audit_log (admin_user_id, action, resource_type, resource_id, tenant_id, old_values, new_values)
         VALUES ('root', 'tenant.member.role_changed', 'tenant_user', $1, $2, '{\"email\": \"bob@acme.test\"}', '{\"roles\": [\"member\"]}')",
    )
    .bind(BOB)
    .bind(ACME)
    .execute(&p.central.olap)
    .await
    .unwrap();
    sync::sync(&p.targets(), &p.cache_path(), None, &Cancel::default()).await.unwrap();
    let conn = cache::open_read(&p.cache_path()).unwrap();
    (p, conn)
}

fn emails(conn: &rusqlite::Connection, staff: &Staff, q: UserQuery) -> Vec<String> {
    users::search(conn, staff, &q).unwrap().rows.into_iter().map(|r| r.email.unwrap_or_default()).collect()
}

fn text(s: &str) -> UserQuery {
    UserQuery { search: Some(s.into()), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_users_across_tenants_with_filters() {
    let (_p, conn) = synced().await;
    let admin = staff("admin");
    // Six users, ordered by email.
    assert_eq!(
        emails(&conn, &admin, UserQuery::default()),
        ["alice@acme.test", "ana@acme.test", "bob@acme.test", "carol@globex.test", "dave@acme.test", "erin@acme.test"]
    );
    // One or two characters: a prefix of the email, name or id.
    assert_eq!(emails(&conn, &admin, text("bo")), ["bob@acme.test"]);
    assert_eq!(emails(&conn, &admin, text("Er")), ["erin@acme.test"]);
    // Three or more: a substring anywhere, prefix matches first. "car" starts Carol's
    // email and name but is inside Ana Carter's name, and "ana" sorts before "carol".
    assert_eq!(emails(&conn, &admin, text("car")), ["carol@globex.test", "ana@acme.test"]);
    assert_eq!(emails(&conn, &admin, text("globex.TEST")), ["carol@globex.test"]);
    assert_eq!(emails(&conn, &admin, text("0000000000c5")), ["erin@acme.test"], "by id");
    assert!(emails(&conn, &admin, text("'; DROP TABLE users; --")).is_empty());

    let role = |r: &str| UserQuery { tenant_role: Some(r.into()), ..Default::default() };
    assert_eq!(emails(&conn, &admin, role("owner")), ["alice@acme.test", "carol@globex.test"]);
    assert_eq!(emails(&conn, &admin, role("admin")), ["erin@acme.test"], "admin in Globex");
    assert!(matches!(users::search(&conn, &admin, &role("boss")), Err(UserError::BadInput(_))));
    // Role within a given tenant: Erin is admin in Globex, not in Acme.
    let q = UserQuery { tenant_role: Some("admin".into()), tenant_id: Some(ACME.into()), ..Default::default() };
    assert!(emails(&conn, &admin, q).is_empty());

    let plan = |p: &str| UserQuery { plan: Some(p.into()), ..Default::default() };
    assert_eq!(emails(&conn, &admin, plan("enterprise")), ["carol@globex.test", "erin@acme.test"], "by slug");
    assert_eq!(emails(&conn, &admin, plan("Pro")).len(), 5, "Acme's five members");

    let status = |s: UserStatus| UserQuery { status: Some(s), ..Default::default() };
    assert_eq!(emails(&conn, &admin, status(UserStatus::Invited)), ["dave@acme.test"]);
    assert_eq!(emails(&conn, &admin, status(UserStatus::Locked)), ["bob@acme.test"]);
    let page = users::search(&conn, &admin, &status(UserStatus::Active)).unwrap();
    assert_eq!(page.total, 4, "Alice, Ana, Carol, Erin");

    let tenant = UserQuery { tenant_id: Some(GLOBEX.into()), ..Default::default() };
    let page = users::search(&conn, &admin, &tenant).unwrap();
    assert_eq!(
        page.rows.iter().map(|r| r.email.clone().unwrap()).collect::<Vec<_>>(),
        ["carol@globex.test", "erin@acme.test"]
    );
    let erin = &page.rows[1];
    assert_eq!(erin.tenants.len(), 2);
    assert_eq!(
        (erin.tenants[0].tenant_name.as_deref(), erin.tenants[0].roles.clone()),
        (Some("Acme Outreach"), vec!["member".to_string()])
    );
    assert_eq!((erin.tenants[1].plan.as_deref(), erin.tenants[1].sandbox), (Some("Enterprise"), true));

    // Paging keeps the total.
    let q = UserQuery { limit: Some(2), offset: Some(2), ..Default::default() };
    let page = users::search(&conn, &admin, &q).unwrap();
    assert_eq!((page.total, page.rows.len()), (6, 2));
    assert_eq!(page.rows[0].email.as_deref(), Some("bob@acme.test"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_sees_masked_data_and_qa_only_sandbox_users() {
    let (_p, conn) = synced().await;
    let support = staff("support");
    // Support finds Bob by what was typed, but sees him masked.
    let page = users::search(&conn, &support, &text("bob@acme")).unwrap();
    assert_eq!(page.rows.len(), 1);
    assert_eq!((page.rows[0].name.as_deref(), page.rows[0].email.as_deref()), (Some("B. S."), Some("b•••@•••.test")));
    let d = users::detail(&conn, &support, BOB).unwrap();
    assert_eq!(d.profile.email.as_deref(), Some("b•••@•••.test"));
    assert_eq!(d.profile.given_name, None);
    let ips: Vec<_> = d.sessions.active.iter().map(|s| s.ip.clone().unwrap()).collect();
    assert_eq!(ips, ["198.51.100.•", "203.0.113.•"]);
    assert!(d.sign_ins.recent.iter().all(|s| s.ip.as_deref().is_none_or(|ip| ip.ends_with('•'))));
    assert_eq!(d.audit.len(), 1);
    assert_eq!(d.audit[0].old_values.as_deref(), Some(r#"{"email": "b•••@•••.test"}"#));

    // qa: only users of the sandbox tenant (Globex), and only that tenant of Erin's;
    // qa has no pii.view either, so they are masked too.
    let qa = staff("qa");
    assert_eq!(emails(&conn, &qa, UserQuery::default()), ["c•••@•••.test", "e•••@•••.test"]);
    let erin = users::detail(&conn, &qa, ERIN).unwrap();
    assert_eq!(erin.tenants.iter().map(|t| t.tenant_id.as_str()).collect::<Vec<_>>(), [GLOBEX]);
    assert_eq!(erin.sign_ins.lockouts.len(), 1);
    assert!(matches!(users::detail(&conn, &qa, BOB), Err(UserError::NotFound(_))));

    // A role without tenant reads is refused.
    let mut nobody = staff("qa");
    nobody.permissions.clear();
    assert!(matches!(users::search(&conn, &nobody, &UserQuery::default()), Err(UserError::Forbidden(_))));
    assert!(matches!(users::detail(&conn, &nobody, BOB), Err(UserError::Forbidden(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_detail_shows_tenants_workspaces_sessions_sign_ins_and_audit() {
    let (_p, conn) = synced().await;
    let d = users::detail(&conn, &staff("admin"), BOB).unwrap();
    assert_eq!((d.profile.name.as_deref(), d.profile.status), (Some("Bob Stone"), UserStatus::Locked));
    assert_eq!(d.tenants.len(), 1);
    assert_eq!((d.tenants[0].tenant_id.as_str(), d.tenants[0].status), (ACME, UserStatus::Locked));
    let ws: Vec<_> = d.workspaces.iter().map(|w| (w.name.as_str(), w.role.as_str())).collect();
    assert_eq!(ws, [("Acme EU", "admin"), ("Acme US", "viewer")]);

    // Live sessions: s2 (JWT, 1 h ago) then s1 (DB, 2 h ago); s3 expired, s4 revoked.
    assert!(d.sessions.device_info_recorded);
    let s = &d.sessions.active;
    assert_eq!(s.len(), 2);
    assert_eq!(
        (s[0].id.as_str(), s[0].kind, s[0].revocable_before_expiry, s[0].revoked),
        (BOB_JWT_SESSION, SessionKind::Jwt, false, false)
    );
    assert!(s[0].note.as_deref().unwrap().contains("cannot end it before it expires"));
    assert_eq!((s[0].device.as_deref(), s[0].browser.as_deref()), (Some("iPhone"), Some("Safari")));
    assert_eq!(
        (s[1].id.as_str(), s[1].kind, s[1].revocable_before_expiry),
        (BOB_DB_SESSION, SessionKind::Database, true)
    );
    assert_eq!(
        (s[1].device.as_deref(), s[1].browser.as_deref(), s[1].ip.as_deref()),
        (Some("Windows"), Some("Chrome"), Some("203.0.113.45"))
    );

    // Sign-ins, newest first: the lockout (5 min ago), s2, s1, s4 (3 days), s3 (40 days).
    let outcomes: Vec<_> = d.sign_ins.recent.iter().map(|r| r.outcome).collect();
    use SignInOutcome::*;
    assert_eq!(outcomes, [Locked, Succeeded, Succeeded, Succeeded, Succeeded]);
    assert_eq!(d.sign_ins.recent[0].ip.as_deref(), Some("203.0.113.99"));
    let l = &d.sign_ins.lockouts[0];
    assert_eq!((l.max_login_attempts, l.failed_attempts, l.attempts_left, l.locked), (5, 5, 0, true));
    assert!(l.locked_until.is_some());
    assert_eq!(d.audit.len(), 1);
    assert_eq!(d.audit[0].action, "tenant.member.role_changed");

    // Erin: two failures in Globex (policy 3) after her last sign-in, none in Acme (policy 5).
    let e = users::detail(&conn, &staff("admin"), ERIN).unwrap();
    assert!(e.sessions.active.is_empty(), "her only session expired");
    let by_tenant = |t: &str| e.sign_ins.lockouts.iter().find(|l| l.tenant_id == t).unwrap().clone();
    let g = by_tenant(GLOBEX);
    assert_eq!((g.max_login_attempts, g.failed_attempts, g.attempts_left, g.locked), (3, 2, 1, false));
    let a = by_tenant(ACME);
    assert_eq!((a.max_login_attempts, a.failed_attempts, a.attempts_left), (5, 0, 5));
    let outcomes: Vec<_> = e.sign_ins.recent.iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, [Failed, Failed, Succeeded]);

    assert!(matches!(users::detail(&conn, &staff("admin"), "no-such-user"), Err(UserError::NotFound(_))));
}
