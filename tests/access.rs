//! Access enforced by the platform's PostgreSQL: what a desktop can do with exactly the
//! credentials it holds (the desktop login's password and a staff member's token),
//! whatever client it uses. Every statement here is what `psql` would send.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::{small_fixture, staff_account, test_client, Platform, STAFF_PASSWORD};
use penguin_admin::auth::{AuthError, Session};
use penguin_admin::central::{Central, DbKind};
use penguin_admin::members::{self, MemberError, TenantRole};
use sqlx::Connection;

const ACME: &str = "00000000-0000-0000-0000-0000000000b1";
const ALICE: &str = "00000000-0000-0000-0000-0000000000c1";
const BOB: &str = "00000000-0000-0000-0000-0000000000c2";

async fn platform() -> Platform {
    let p = Platform::installed().await;
    small_fixture(&p.central).await;
    p
}

/// A raw connection of the desktop login to `db` (no pool, no library in between).
async fn psql(p: &Platform, db: DbKind) -> sqlx::PgConnection {
    let targets = p.targets();
    let target = targets.iter().find(|t| t.kind == db).unwrap();
    sqlx::PgConnection::connect_with(&target.options).await.unwrap()
}

fn sqlstate(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => d.code().map(|c| c.to_string()).unwrap_or_default(),
        other => panic!("not a database error: {other}"),
    }
}

/// Runs `sql` as the desktop login with `token` set (or none), in a transaction that is
/// rolled back; returns the SQLSTATE of its failure, or "ok:N" with the rows returned.
async fn attempt(conn: &mut sqlx::PgConnection, token: Option<&str>, sql: &str) -> String {
    let mut tx = conn.begin().await.unwrap();
    if let Some(t) = token {
        sqlx::query("SELECT set_config('penguin_console.token', $1, true)").bind(t).execute(&mut *tx).await.unwrap();
    }
    let out = match sqlx::query(sql).fetch_all(&mut *tx).await {
        Ok(rows) => format!("ok:{}", rows.len()),
        Err(e) => sqlstate(&e),
    };
    let _ = tx.rollback().await;
    out
}

/// The token a session holds for OLTP, read back as a desktop would have it in memory.
async fn token_of(p: &Platform, role: &str) -> String {
    let email = format!("{role}@penguin.test");
    staff_account(&p.central, role, &email, STAFF_PASSWORD).await;
    let mut c = psql(p, DbKind::Oltp).await;
    let answer: serde_json::Value = sqlx::query_scalar("SELECT penguin_console_api.sign_in($1, $2, 'psql', 'psql')")
        .bind(&email)
        .bind(STAFF_PASSWORD)
        .fetch_one(&mut c)
        .await
        .unwrap();
    answer["token"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desktop_login_reaches_nothing_but_the_console_api() {
    let p = platform().await;
    for role in ["support", "admin"] {
        let token = token_of(&p, role).await;
        let mut oltp = psql(&p, DbKind::Oltp).await;
        let mut olap = psql(&p, DbKind::Olap).await;
        for t in [None, Some(token.as_str())] {
            for sql in [
                "SELECT session_token FROM auth.sessions",
                "SELECT * FROM auth.credentials",
                "SELECT * FROM users",
                "UPDATE tenant_users SET roles = '{owner}' WHERE false",
                "INSERT INTO tenants (id, name) VALUES (gen_random_uuid(), 'x')",
                "DELETE FROM payments WHERE false",
                "INSERT INTO penguin_console.workspace_deletions (company_id, tenant_id, name, purge_after, deleted_by)
                 VALUES (gen_random_uuid(), gen_random_uuid(), 'x', now(), 'me')",
                "SELECT * FROM penguin_console.staff_sessions",
                "SELECT key FROM penguin_console.access_keys",
                "SELECT penguin_console.audit(NULL, 'x', 'x', 'x', NULL, NULL, NULL)",
            ] {
                assert_eq!(attempt(&mut oltp, t, sql).await, "42501", "{role} {:?}: {sql}", t.is_some());
            }
            for sql in [
                "DELETE FROM admin_audit_log",
                "INSERT INTO admin_audit_log (admin_user_id, action, resource_type, resource_id, tenant_id) VALUES ('x','x','x','x','x')",
                "UPDATE penguin_console.audit_chain SET hash = 'x'",
                "SELECT * FROM admin_audit_log",
            ] {
                assert_eq!(attempt(&mut olap, t, sql).await, "42501", "{role}: {sql}");
            }
        }
        // The views exist, but say nothing without a token, and no view carries a secret.
        assert_eq!(attempt(&mut oltp, None, "SELECT * FROM penguin_console_api.users").await, "PM401");
        assert_eq!(
            attempt(&mut oltp, Some(&token), "SELECT session_token FROM penguin_console_api.auth_sessions").await,
            "42703"
        );
        assert_eq!(
            attempt(&mut oltp, Some(&token), "SELECT vault_key_path FROM penguin_console_api.email_accounts").await,
            "42703"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_reads_masked_values_and_no_member_without_a_grant() {
    let p = platform().await;
    sqlx::query("INSERT INTO system_config (key, value, is_sensitive) VALUES ('smtp.password', '\"hunter2\"', true), ('ui.theme', '\"dark\"', false)")
        .execute(&p.central.oltp)
        .await
        .unwrap();
    let support = token_of(&p, "support").await;
    let admin = token_of(&p, "admin").await;
    let mut oltp = psql(&p, DbKind::Oltp).await;
    // Tenants are listed for support, their members are not.
    assert_eq!(attempt(&mut oltp, Some(&support), "SELECT * FROM penguin_console_api.tenants").await, "ok:2");
    assert_eq!(attempt(&mut oltp, Some(&support), "SELECT * FROM penguin_console_api.tenant_users").await, "ok:0");
    assert_eq!(attempt(&mut oltp, Some(&support), "SELECT * FROM penguin_console_api.users").await, "ok:0");
    assert_eq!(attempt(&mut oltp, Some(&admin), "SELECT * FROM penguin_console_api.tenant_users").await, "ok:3");
    // Nobody reads a sensitive setting.
    for t in [&support, &admin] {
        assert_eq!(
            attempt(&mut oltp, Some(t), "SELECT 1 FROM penguin_console_api.system_config WHERE key = 'smtp.password'")
                .await,
            "ok:0"
        );
        assert_eq!(
            attempt(&mut oltp, Some(t), "SELECT 1 FROM penguin_console_api.system_config WHERE key = 'ui.theme'").await,
            "ok:1"
        );
    }

    // With a grant for Acme, support reads Acme's members, masked; a search for a
    // member's real email finds nothing.
    let support_id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = 'support@penguin.test'")
        .fetch_one(&p.central.oltp)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO penguin_console.support_access_grants (id, tenant_id, staff_id, staff_email, reason, ticket, expires)
         VALUES (gen_random_uuid(), $1, $2, 'support@penguin.test', 'ticket work', 'SUP-1', now() + interval '1 hour')",
    )
    .bind(uuid::Uuid::parse_str(ACME).unwrap())
    .bind(support_id.to_string())
    .execute(&p.central.oltp)
    .await
    .unwrap();
    let mut tx = oltp.begin().await.unwrap();
    sqlx::query("SELECT set_config('penguin_console.token', $1, true)").bind(&support).execute(&mut *tx).await.unwrap();
    let emails: Vec<String> = sqlx::query_scalar("SELECT email FROM penguin_console_api.tenant_users ORDER BY email")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(emails, ["a•••@•••.test", "b•••@•••.test"], "Acme's two members, masked");
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM penguin_console_api.users ORDER BY name")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(names, ["A. M.", "B. S."]);
    let found: i64 =
        sqlx::query_scalar("SELECT count(*) FROM penguin_console_api.users WHERE email LIKE '%alice@acme.test%'")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(found, 0, "searches match only what the role sees");
    tx.rollback().await.unwrap();

    // The grant expires: the members are gone again.
    sqlx::query("UPDATE penguin_console.support_access_grants SET opened = now() - interval '2 hours', expires = now() - interval '1 minute'")
        .execute(&p.central.oltp)
        .await
        .unwrap();
    assert_eq!(attempt(&mut oltp, Some(&support), "SELECT * FROM penguin_console_api.tenant_users").await, "ok:0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_email_and_wrong_password_get_the_same_answer_and_lock_alike() {
    let p = platform().await;
    staff_account(&p.central, "admin", "admin@penguin.test", STAFF_PASSWORD).await;
    let desktop = p.desktop().await;
    let mut messages = Vec::new();
    for email in ["nobody@penguin.test", "admin@penguin.test"] {
        for _ in 0..2 {
            let err = Session::sign_in(desktop.clone(), email, "wrong-password", &test_client()).await.unwrap_err();
            assert!(matches!(err, AuthError::BadCredentials), "{err}");
            messages.push(err.to_string());
        }
    }
    assert!(messages.windows(2).all(|w| w[0] == w[1]), "byte-identical: {messages:?}");
    assert_eq!(messages[0], "wrong email or password");
    // Three more failures lock both, unknown or not.
    for email in ["nobody@penguin.test", "admin@penguin.test"] {
        let mut last = None;
        for _ in 0..3 {
            last = Some(Session::sign_in(desktop.clone(), email, "wrong-password", &test_client()).await.unwrap_err());
        }
        assert!(matches!(last, Some(AuthError::Locked { .. })), "{email}: {last:?}");
    }
    // Locked means locked, even with the right password.
    let err = Session::sign_in(desktop, "admin@penguin.test", STAFF_PASSWORD, &test_client()).await.unwrap_err();
    assert!(matches!(err, AuthError::Locked { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspending_removing_or_demoting_a_staff_member_ends_their_session_at_once() {
    let p = platform().await;
    for change in [
        "INSERT INTO penguin_console.user_suspensions (user_id, suspended_by, reason) SELECT id, 'test', 'left' FROM users WHERE email = 'admin@penguin.test'",
        "DELETE FROM staff_members WHERE user_id = (SELECT id FROM users WHERE email = 'admin@penguin.test')",
        "UPDATE staff_members SET role_id = (SELECT id FROM staff_roles WHERE name = 'support') WHERE user_id = (SELECT id FROM users WHERE email = 'admin@penguin.test')",
    ] {
        sqlx::raw_sql(
            "DELETE FROM penguin_console.user_suspensions; DELETE FROM penguin_console.staff_sessions;
             DELETE FROM staff_members WHERE user_id IN (SELECT id FROM users WHERE email LIKE '%@penguin.test');
             DELETE FROM auth.credentials WHERE user_id IN (SELECT id FROM users WHERE email LIKE '%@penguin.test');
             DELETE FROM users WHERE email LIKE '%@penguin.test';
             UPDATE tenant_users SET roles = '{member}' WHERE user_id = '00000000-0000-0000-0000-0000000000c2';",
        )
        .execute(&p.central.oltp)
        .await
        .unwrap();
        p.session("support").await; // the support role exists for the demotion
        let admin = p.session("admin").await;
        members::change_role(&admin, ACME, BOB, TenantRole::Admin).await.unwrap();
        sqlx::raw_sql(change).execute(&p.central.oltp).await.unwrap();
        let err = members::change_role(&admin, ACME, BOB, TenantRole::Member).await.unwrap_err();
        assert!(matches!(err, MemberError::Forbidden(AuthError::SessionEnded(_))), "{change}: {err}");
        assert!(err.to_string().contains("sign in again"), "{err}");
        // The other databases refuse it too (a new ticket is refused by OLTP).
        assert!(matches!(admin.check(true).await, Err(AuthError::SessionEnded(_))));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_expired_foreign_and_orphaned_tokens_are_refused() {
    let p = platform().await;
    let token = token_of(&p, "admin").await;
    let mut oltp = psql(&p, DbKind::Oltp).await;
    let mut olap = psql(&p, DbKind::Olap).await;
    let probe = "SELECT * FROM penguin_console_api.tenants";
    assert_eq!(attempt(&mut oltp, Some(&token), probe).await, "ok:2");

    // Forged: a payload changed (another session id) keeps the old signature.
    let (body, sig) = token.rsplit_once('.').unwrap();
    let forged_body = body.chars().rev().collect::<String>();
    for bad in [format!("{forged_body}.{sig}"), format!("{body}.{}", "0".repeat(64)), "garbage".to_string()] {
        assert_eq!(attempt(&mut oltp, Some(&bad), probe).await, "PM401", "{bad}");
    }
    // A token of the OLTP database presented to OLAP (signed with another key).
    assert_eq!(
        attempt(&mut olap, Some(&token), "SELECT * FROM penguin_console_api.console_workspace_health").await,
        "PM401"
    );

    // Expired: the session's absolute expiry passed.
    sqlx::query("UPDATE penguin_console.staff_sessions SET created = now() - interval '13 hours', expires = now() - interval '1 hour'")
        .execute(&p.central.oltp)
        .await
        .unwrap();
    assert_eq!(attempt(&mut oltp, Some(&token), probe).await, "PM401");
    // Idle: unused for longer than the idle timeout.
    let fresh = token_of(&p, "admin").await;
    sqlx::query("UPDATE penguin_console.staff_sessions SET last_used = now() - interval '31 minutes' WHERE revoked IS NULL AND expires > now()")
        .execute(&p.central.oltp)
        .await
        .unwrap();
    let mut tx = oltp.begin().await.unwrap();
    sqlx::query("SELECT set_config('penguin_console.token', $1, true)").bind(&fresh).execute(&mut *tx).await.unwrap();
    let err = sqlx::query(probe).fetch_all(&mut *tx).await.unwrap_err();
    assert!(err.to_string().contains("without activity"), "{err}");
    tx.rollback().await.unwrap();

    // A deleted staff member's token.
    let third = token_of(&p, "finance").await;
    sqlx::raw_sql(
        "DELETE FROM staff_members WHERE user_id = (SELECT id FROM users WHERE email = 'finance@penguin.test');
         UPDATE users SET deleted = now() WHERE email = 'finance@penguin.test';",
    )
    .execute(&p.central.oltp)
    .await
    .unwrap();
    assert_eq!(attempt(&mut oltp, Some(&third), probe).await, "PM401");
    // Nothing above changed anything.
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants").fetch_one(&p.central.oltp).await.unwrap();
    assert_eq!(n, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_change_through_the_function_is_audited_with_the_verified_identity() {
    let p = platform().await;
    let admin = p.session("admin").await;
    let support = p.session("support").await;
    let err = members::change_role(&support, ACME, BOB, TenantRole::Admin).await.unwrap_err();
    assert!(matches!(err, MemberError::Forbidden(_)), "{err}");
    let change = members::change_role(&admin, ACME, BOB, TenantRole::Admin).await.unwrap();
    assert_eq!(change.new_roles, ["admin"]);
    let err = members::change_role(&admin, ACME, ALICE, TenantRole::Member).await.unwrap_err();
    assert!(matches!(err, MemberError::LastOwner), "{err}");
    // The entry reached the audit log through the relay, with the staff member's id.
    let (actor, role): (String, Option<String>) = sqlx::query_as(
        "SELECT admin_user_id, metadata->>'actor_role' FROM admin_audit_log WHERE action = 'tenant.member.role_changed'",
    )
    .fetch_one(&p.central.olap)
    .await
    .unwrap();
    assert_eq!(actor, admin.staff().user_id().unwrap().to_string());
    assert_eq!(role.as_deref(), Some("admin"));
    let chained: i64 = sqlx::query_scalar("SELECT count(*) FROM penguin_console.audit_chain")
        .fetch_one(&p.central.olap)
        .await
        .unwrap();
    assert_eq!(chained, 1);
    let outbox: i64 = sqlx::query_scalar("SELECT count(*) FROM penguin_console.audit_outbox")
        .fetch_one(&p.central.oltp)
        .await
        .unwrap();
    assert_eq!(outbox, 0, "the receipt removed it from the outbox");
    let _: Central = p.desktop().await;
}
