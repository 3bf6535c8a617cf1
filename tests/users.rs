//! Global user search and the user detail over a synced cache, with expectations
//! worked out by hand from the team fixture (tests/team/mod.rs).
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
mod team;

use common::Platform;
use penguin_admin::auth::{Session, Staff};
use penguin_admin::cache;
use penguin_admin::users::sessions::{SessionKind, SignInOutcome};
use penguin_admin::users::{self, UserError, UserQuery, UserStatus};
use team::*;

/// The team fixture, an audit entry about Bob, and admin's synced cache.
async fn synced() -> (Platform, Session, rusqlite::Connection) {
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
    // The platform added the sessions' client columns after the console was installed:
    // installing again gives the views the new columns (as the DBA does after a
    // platform migration).
    p.install().await;
    let admin = p.session("admin").await;
    p.sync_as(&admin, &p.cache_path()).await;
    let conn = cache::open_read(&p.cache_path()).unwrap();
    (p, admin, conn)
}

/// `role`'s own session and cache, as that role's desktop syncs it.
async fn cache_of(p: &Platform, role: &str) -> (Session, rusqlite::Connection) {
    let s = p.session(role).await;
    let path = p.dir.path().join(format!("{role}.sqlite"));
    p.sync_as(&s, &path).await;
    (s, cache::open_read(&path).unwrap())
}

fn emails(conn: &rusqlite::Connection, staff: &Staff, q: UserQuery) -> Vec<String> {
    users::search(conn, staff, &q).unwrap().rows.into_iter().map(|r| r.email.unwrap_or_default()).collect()
}

fn text(s: &str) -> UserQuery {
    UserQuery { search: Some(s.into()), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_users_across_tenants_with_filters() {
    let (_p, admin, conn) = synced().await;
    let admin = admin.staff();
    // Six users and the staff account signed in for the test (a platform user too, of
    // no tenant), ordered by email.
    assert_eq!(
        emails(&conn, admin, UserQuery::default()),
        [
            "admin@penguin.test",
            "alice@acme.test",
            "ana@acme.test",
            "bob@acme.test",
            "carol@globex.test",
            "dave@acme.test",
            "erin@acme.test"
        ]
    );
    // One or two characters: a prefix of the email, name or id.
    assert_eq!(emails(&conn, admin, text("bo")), ["bob@acme.test"]);
    assert_eq!(emails(&conn, admin, text("Er")), ["erin@acme.test"]);
    // Three or more: a substring anywhere, prefix matches first. "car" starts Carol's
    // email and name but is inside Ana Carter's name, and "ana" sorts before "carol".
    assert_eq!(emails(&conn, admin, text("car")), ["carol@globex.test", "ana@acme.test"]);
    assert_eq!(emails(&conn, admin, text("globex.TEST")), ["carol@globex.test"]);
    assert_eq!(emails(&conn, admin, text("0000000000c5")), ["erin@acme.test"], "by id");
    assert!(emails(&conn, admin, text("'; DROP TABLE users; --")).is_empty());

    let role = |r: &str| UserQuery { tenant_role: Some(r.into()), ..Default::default() };
    assert_eq!(emails(&conn, admin, role("owner")), ["alice@acme.test", "carol@globex.test"]);
    assert_eq!(emails(&conn, admin, role("admin")), ["erin@acme.test"], "admin in Globex");
    assert!(matches!(users::search(&conn, admin, &role("boss")), Err(UserError::BadInput(_))));
    // Role within a given tenant: Erin is admin in Globex, not in Acme.
    let q = UserQuery { tenant_role: Some("admin".into()), tenant_id: Some(ACME.into()), ..Default::default() };
    assert!(emails(&conn, admin, q).is_empty());

    let plan = |p: &str| UserQuery { plan: Some(p.into()), ..Default::default() };
    assert_eq!(emails(&conn, admin, plan("enterprise")), ["carol@globex.test", "erin@acme.test"], "by slug");
    assert_eq!(emails(&conn, admin, plan("Pro")).len(), 5, "Acme's five members");

    let status = |s: UserStatus| UserQuery { status: Some(s), ..Default::default() };
    assert_eq!(emails(&conn, admin, status(UserStatus::Invited)), ["dave@acme.test"]);
    assert_eq!(emails(&conn, admin, status(UserStatus::Locked)), ["bob@acme.test"]);
    let page = users::search(&conn, admin, &status(UserStatus::Active)).unwrap();
    assert_eq!(page.total, 5, "Alice, Ana, Carol, Erin, and the staff account");

    let tenant = UserQuery { tenant_id: Some(GLOBEX.into()), ..Default::default() };
    let page = users::search(&conn, admin, &tenant).unwrap();
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
    let page = users::search(&conn, admin, &q).unwrap();
    assert_eq!((page.total, page.rows.len()), (7, 2));
    assert_eq!(page.rows[0].email.as_deref(), Some("ana@acme.test"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_sees_masked_data_and_qa_only_sandbox_users() {
    let (p, _admin, _conn) = synced().await;
    // Without a "view as tenant" grant, support's cache holds no tenant's members.
    let (support, conn) = cache_of(&p, "support").await;
    assert!(emails(&conn, support.staff(), UserQuery::default()).is_empty());
    // With a grant for Acme (ticket work), Acme's five members, masked by the database.
    sqlx::query(
        "INSERT INTO penguin_console.support_access_grants (id, tenant_id, staff_id, staff_email, reason, ticket, expires)
         VALUES (gen_random_uuid(), $1, $2, 'support@penguin.test', 'ticket work', 'SUP-1', now() + interval '1 hour')",
    )
    .bind(uuid::Uuid::parse_str(ACME).unwrap())
    .bind(support.staff().user_id().unwrap().to_string())
    .execute(&p.central.oltp)
    .await
    .unwrap();
    let (support, conn) = cache_of(&p, "support").await;
    let support = support.staff();
    assert_eq!(
        emails(&conn, support, UserQuery::default()),
        ["a•••@•••.test", "a•••@•••.test", "b•••@•••.test", "d•••@•••.test", "e•••@•••.test"]
    );
    // What was typed is matched only against what support may see: an address finds
    // nothing (the cache holds none), the id finds Bob, masked.
    assert!(users::search(&conn, support, &text("bob@acme")).unwrap().rows.is_empty());
    let page = users::search(&conn, support, &text("0000000000c2")).unwrap();
    assert_eq!(page.rows.len(), 1);
    assert_eq!((page.rows[0].name.as_deref(), page.rows[0].email.as_deref()), (Some("B. S."), Some("b•••@•••.test")));
    let d = users::detail(&conn, support, BOB).unwrap();
    assert_eq!(d.profile.email.as_deref(), Some("b•••@•••.test"));
    assert_eq!(d.profile.given_name, None);
    // Both live sessions are listed; their client IPs, columns the platform added after
    // the console's policy was written, are withheld from support altogether (stricter
    // than masked), and sign-ins show masked IPs at most.
    assert_eq!(d.sessions.active.len(), 2);
    assert!(d.sessions.active.iter().all(|s| s.ip.is_none()), "{:?}", d.sessions.active);
    assert!(d.sign_ins.recent.iter().all(|s| s.ip.as_deref().is_none_or(|ip| ip.ends_with('•'))));
    // Support has no audit.read: the audit trail is not in its cache.
    assert!(d.audit.is_empty(), "{:?}", d.audit);

    // qa: only users of the sandbox tenant (Globex), and only that tenant of Erin's;
    // qa has no pii.view either, so they are masked too.
    let (qa, conn) = cache_of(&p, "qa").await;
    let qa = qa.staff();
    assert_eq!(emails(&conn, qa, UserQuery::default()), ["c•••@•••.test", "e•••@•••.test"]);
    let erin = users::detail(&conn, qa, ERIN).unwrap();
    assert_eq!(erin.tenants.iter().map(|t| t.tenant_id.as_str()).collect::<Vec<_>>(), [GLOBEX]);
    assert_eq!(erin.sign_ins.lockouts.len(), 1);
    assert!(matches!(users::detail(&conn, qa, BOB), Err(UserError::NotFound(_))));

    // A role without tenant reads is refused (a staff member whose role has no permission).
    common::staff_account(&p.central, "qa", "nobody@penguin.test", common::STAFF_PASSWORD).await;
    sqlx::raw_sql(
        "INSERT INTO staff_roles (id, name) SELECT max(id) + 1, 'nobody' FROM staff_roles;
         UPDATE staff_members SET role_id = (SELECT id FROM staff_roles WHERE name = 'nobody')
         WHERE user_id = (SELECT id FROM users WHERE email = 'nobody@penguin.test');",
    )
    .execute(&p.central.oltp)
    .await
    .unwrap();
    let nobody =
        Session::sign_in(p.desktop().await, "nobody@penguin.test", common::STAFF_PASSWORD, &common::test_client())
            .await
            .unwrap();
    let nobody = nobody.staff();
    assert!(nobody.permissions().is_empty());
    assert!(matches!(users::search(&conn, nobody, &UserQuery::default()), Err(UserError::Forbidden(_))));
    assert!(matches!(users::detail(&conn, nobody, BOB), Err(UserError::Forbidden(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_detail_shows_tenants_workspaces_sessions_sign_ins_and_audit() {
    let (_p, admin, conn) = synced().await;
    let admin = admin.staff();
    let d = users::detail(&conn, admin, BOB).unwrap();
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
    let e = users::detail(&conn, admin, ERIN).unwrap();
    assert!(e.sessions.active.is_empty(), "her only session expired");
    let by_tenant = |t: &str| e.sign_ins.lockouts.iter().find(|l| l.tenant_id == t).unwrap().clone();
    let g = by_tenant(GLOBEX);
    assert_eq!((g.max_login_attempts, g.failed_attempts, g.attempts_left, g.locked), (3, 2, 1, false));
    let a = by_tenant(ACME);
    assert_eq!((a.max_login_attempts, a.failed_attempts, a.attempts_left), (5, 0, 5));
    let outcomes: Vec<_> = e.sign_ins.recent.iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, [Failed, Failed, Succeeded]);

    assert!(matches!(users::detail(&conn, admin, "no-such-user"), Err(UserError::NotFound(_))));
}
