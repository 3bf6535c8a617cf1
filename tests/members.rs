//! Member actions against a real throwaway PostgreSQL: each one permission-checked,
//! audited in its transaction, and leaving the invariants (an owner remains) intact.
//! Fixture and expectations: tests/team/mod.rs.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
mod team;

use common::{as_desktop, Platform};
use penguin_admin::auth::Session;
use penguin_admin::cache;
use penguin_admin::central::{Central, DbKind};
use penguin_admin::members::{self, MemberError, RemovalRequest, TenantRole, WorkspaceRole};
use penguin_admin::users::{self, sessions::SessionKind};
use sqlx::Row;
use team::*;

async fn platform() -> Platform {
    let p = Platform::installed().await;
    team_fixture(&p.central).await;
    p
}

/// Who the audit log says did `action`: (admin_user_id, actor role, ip address).
async fn actors(c: &Central, action: &str) -> Vec<(String, Option<String>, Option<String>)> {
    sqlx::query_as(
        "SELECT admin_user_id, metadata->>'actor_role', ip_address::text FROM admin_audit_log WHERE action = $1 ORDER BY id",
    )
    .bind(action)
    .fetch_all(&c.olap)
    .await
    .unwrap()
}

/// The verified identity of `session` as the audit log records it.
fn identity(session: &Session) -> (String, Option<String>, Option<String>) {
    (
        session.staff().user_id().unwrap().to_string(),
        Some(session.staff().role().to_string()),
        Some(common::test_client().ip.unwrap()),
    )
}

fn uid(s: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(s).unwrap()
}

async fn roles(c: &Central, tenant: &str, user: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT roles FROM tenant_users WHERE tenant_id = $1 AND user_id = $2")
        .bind(uid(tenant))
        .bind(uid(user))
        .fetch_one(&c.oltp)
        .await
        .unwrap()
}

async fn live_sessions(c: &Central, user: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM auth.sessions WHERE user_id = $1 AND deleted_at IS NULL AND expires_at > now()",
    )
    .bind(uid(user))
    .fetch_one(&c.oltp)
    .await
    .unwrap()
}

/// Audit entries delivered to the OLAP log for `action`: (resource_id, old, new, notes).
async fn audited(c: &Central, action: &str) -> Vec<(String, Option<serde_json::Value>, Option<serde_json::Value>)> {
    sqlx::query("SELECT resource_id, old_values, new_values FROM admin_audit_log WHERE action = $1 ORDER BY id")
        .bind(action)
        .fetch_all(&c.olap)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

async fn audit_count(c: &Central) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM admin_audit_log").fetch_one(&c.olap).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_change_revokes_sessions_and_keeps_an_owner() {
    let p = platform().await;
    let c = &p.central;
    let admin = p.session("admin").await;
    let out = members::change_role(&admin, ACME, BOB, TenantRole::Admin).await.unwrap();
    assert_eq!((out.old_roles, out.new_roles), (vec!["member".to_string()], vec!["admin".to_string()]));
    assert_eq!(roles(c, ACME, BOB).await, ["admin"]);
    // Both live sessions revoked in the same transaction; the JWT one says it outlives that.
    assert_eq!(live_sessions(c, BOB).await, 0);
    assert_eq!((out.revocation.ended_now, out.revocation.valid_until_expiry), (1, 1));
    assert!(out.revocation.message.contains("cannot be revoked before expiry"), "{}", out.revocation.message);
    let jwt = out.revocation.sessions.iter().find(|s| s.kind == SessionKind::Jwt).unwrap();
    assert_eq!(jwt.id, BOB_JWT_SESSION);
    assert!(jwt.valid_until.is_some());
    let entries = audited(c, "tenant.member.role_changed").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0, BOB);
    assert_eq!(entries[0].1.as_ref().unwrap()["roles"], serde_json::json!(["member"]));
    assert_eq!(entries[0].2.as_ref().unwrap()["roles"], serde_json::json!(["admin"]));
    assert_eq!(entries[0].2.as_ref().unwrap()["revoked_sessions"].as_array().unwrap().len(), 2);

    // Alice is Acme's only owner: demoting her is refused and changes nothing.
    let before = audit_count(c).await;
    let err = members::change_role(&admin, ACME, ALICE, TenantRole::Member).await.unwrap_err();
    assert!(matches!(err, MemberError::LastOwner), "{err}");
    assert_eq!(roles(c, ACME, ALICE).await, ["owner"]);
    assert_eq!(live_sessions(c, ALICE).await, 1);
    assert_eq!(audit_count(c).await, before);

    // Two owners demoted concurrently: the row locks let exactly one through.
    members::change_role(&admin, ACME, BOB, TenantRole::Owner).await.unwrap();
    let (a, b) = tokio::join!(
        members::change_role(&admin, ACME, ALICE, TenantRole::Member),
        members::change_role(&admin, ACME, BOB, TenantRole::Member),
    );
    assert_eq!([a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(), 1, "{a:?} {b:?}");
    let owners: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tenant_users WHERE tenant_id = $1 AND 'owner' = ANY(roles) AND deleted IS NULL",
    )
    .bind(uid(ACME))
    .fetch_one(&c.oltp)
    .await
    .unwrap();
    assert_eq!(owners, 1);
}

/// Every team action's function, called with arguments that would otherwise succeed
/// (the database of each, and the statement).
fn team_functions() -> Vec<(DbKind, String)> {
    vec![
        (DbKind::Oltp, format!("SELECT penguin_console_api.members_suspend('{BOB}', 'test')")),
        (DbKind::Oltp, format!("SELECT penguin_console_api.members_reactivate('{BOB}')")),
        (DbKind::Notifications, format!("SELECT penguin_console_api.members_unlock('{BOB}')")),
        (DbKind::Oltp, format!("SELECT penguin_console_api.members_send_password_reset('{ACME}', '{BOB}')")),
        (DbKind::Oltp, format!("SELECT penguin_console_api.members_resend_invitation('{ACME}', '{DAVE}')")),
        (DbKind::Oltp, format!("SELECT penguin_console_api.members_revoke_invitation('{ACME}', '{DAVE}')")),
        (DbKind::Oltp, format!("SELECT penguin_console_api.members_remove('{ACME}', '{BOB}', 'bob@acme.test', '{ALICE}')")),
        (DbKind::Oltp, format!("SELECT penguin_console_api.members_gdpr_delete('{ERIN}', 'erin@acme.test')")),
        (DbKind::Oltp, format!("SELECT penguin_console_api.members_set_workspace_member('{ACME_US}', '{ALICE}', 'viewer')")),
        (DbKind::Oltp, format!("SELECT penguin_console_api.members_remove_workspace_member('{ACME_EU}', '{BOB}')")),
        (DbKind::Oltp, format!("SELECT penguin_console_api.members_import_state('{ACME}', ARRAY['bob@acme.test'])")),
        (
            DbKind::Oltp,
            format!(
                "SELECT penguin_console_api.members_import_apply('{ACME}', \
                 '[{{\"line\": 2, \"email\": \"bob@acme.test\", \"name\": \"Bob\", \"action\": \"update\", \"role\": \"admin\", \"workspaces\": []}}]')"
            ),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_finance_and_qa_cannot_act() {
    let p = platform().await;
    let c = &p.central;
    for role in ["support", "finance", "qa", "ops"] {
        let s = p.session(role).await;
        let forbidden = |r: Result<_, MemberError>| matches!(r, Err(MemberError::Forbidden(_)));
        assert!(forbidden(members::change_role(&s, ACME, BOB, TenantRole::Admin).await.map(|_| ())));
        assert!(forbidden(members::suspend(&s, BOB, "test").await.map(|_| ())));
        assert!(forbidden(members::unlock(&s, BOB).await.map(|_| ())));
        assert!(forbidden(members::send_password_reset(&s, ACME, BOB).await.map(|_| ())));
        assert!(forbidden(members::revoke_all_sessions(&s, BOB).await.map(|_| ())));
        let req = RemovalRequest {
            tenant_id: ACME.into(),
            user_id: BOB.into(),
            confirm_email: "bob@acme.test".into(),
            reassign_to: ALICE.into(),
        };
        assert!(forbidden(members::remove_member(&s, &req).await.map(|_| ())));
        assert!(forbidden(members::gdpr_delete(&s, ERIN, "erin@acme.test").await.map(|_| ())));
        assert!(forbidden(members::set_workspace_member(&s, ACME_US, ALICE, WorkspaceRole::Viewer).await.map(|_| ())));
        // The library refuses before asking; the database refuses on its own too, for
        // whatever client holds this desktop's credentials and token.
        for (db, sql) in team_functions() {
            assert_eq!(as_desktop(&s, db, &sql).await, "42501", "{role}: {sql}");
        }
    }
    // Admins may remove members but not erase them (GDPR is super_admin only).
    let admin = p.session("admin").await;
    let err = members::gdpr_delete(&admin, ERIN, "erin@acme.test").await.unwrap_err();
    assert!(err.to_string().contains("users.gdpr_delete"), "{err}");
    let mut tx = admin.begin(DbKind::Oltp).await.unwrap();
    let err = sqlx::query("SELECT penguin_console_api.members_gdpr_delete($1, 'erin@acme.test')")
        .bind(uid(ERIN))
        .execute(&mut *tx)
        .await
        .unwrap_err();
    let d = err.as_database_error().unwrap();
    assert_eq!(d.code().as_deref(), Some("42501"));
    assert!(d.message().contains("users.gdpr_delete"), "{}", d.message());
    drop(tx);
    assert_eq!(roles(c, ACME, BOB).await, ["member"]);
    assert_eq!(live_sessions(c, BOB).await, 2);
    assert_eq!(audit_count(c).await, 0);
    let outbox: i64 = sqlx::query_scalar("SELECT count(*) FROM penguin_console.notification_outbox")
        .fetch_one(&c.oltp)
        .await
        .unwrap();
    assert_eq!(outbox, 0, "no e-mail queued by a refused action");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desktop_login_cannot_write_what_the_team_actions_change() {
    let p = platform().await;
    let c = &p.central;
    // Even an admin's (and a super_admin's) desktop, token set, can only call the functions.
    for role in ["admin", "super_admin"] {
        let s = p.session(role).await;
        for (db, sql) in [
            (DbKind::Oltp, format!("UPDATE tenant_users SET deleted = now() WHERE user_id = '{BOB}'")),
            (DbKind::Oltp, format!("UPDATE tenant_users SET roles = '{{owner}}' WHERE user_id = '{BOB}'")),
            (DbKind::Oltp, format!("INSERT INTO tenant_users (tenant_id, user_id, roles) VALUES ('{ACME}', '{CAROL}', '{{member}}')")),
            (DbKind::Oltp, "INSERT INTO users (id, name, email) VALUES (gen_random_uuid(), 'X', 'x@acme.test')".to_string()),
            (DbKind::Oltp, format!("DELETE FROM users WHERE id = '{ERIN}'")),
            (DbKind::Oltp, format!("UPDATE auth.credentials SET deleted = now() WHERE user_id = '{BOB}'")),
            (DbKind::Oltp, format!("UPDATE auth.sessions SET deleted_at = now() WHERE user_id = '{BOB}'")),
            (DbKind::Oltp, format!("INSERT INTO penguin_console.workspace_members (company_id, user_id, tenant_id, role) VALUES ('{GLOBEX_WS}', '{BOB}', '{GLOBEX}', 'admin')")),
            (DbKind::Oltp, format!("DELETE FROM penguin_console.workspace_members WHERE user_id = '{BOB}'")),
            (DbKind::Oltp, format!("INSERT INTO penguin_console.user_suspensions (user_id, suspended_by) VALUES ('{BOB}', 'me')")),
            (DbKind::Oltp, "INSERT INTO penguin_console.notification_outbox (id, notification) VALUES (gen_random_uuid(), '{}')".to_string()),
            (DbKind::Oltp, "DELETE FROM penguin_console.audit_outbox".to_string()),
            (DbKind::Oltp, format!("UPDATE campaigns SET tenant_id = '{GLOBEX}' WHERE false")),
            (DbKind::Notifications, format!("UPDATE admin_system_events SET is_resolved = true WHERE user_id = '{BOB}'")),
            (DbKind::Notifications, format!("DELETE FROM notifications WHERE user_id = '{ERIN}'")),
            (DbKind::Notifications, format!("INSERT INTO notifications (user_id, tenant_id, type, title, message, channel) VALUES ('{BOB}', '{ACME}', 'invitation', 't', 'm', 'email')")),
        ] {
            assert_eq!(as_desktop(&s, db, &sql).await, "42501", "{role}: {sql}");
        }
        // Nor can it mint the erasure grant the notifications database accepts, nor
        // reuse something else as one.
        let forged = format!(
            "SELECT penguin_console_api.members_gdpr_erase('{}')",
            "eyJrIjoiZ2Rwcl9lcmFzZSJ9.0000000000000000000000000000000000000000000000000000000000000000"
        );
        let expected = if role == "super_admin" { "PM400" } else { "42501" };
        assert_eq!(as_desktop(&s, DbKind::Notifications, &forged).await, expected, "{role}");
    }
    // Nothing changed.
    assert_eq!(roles(c, ACME, BOB).await, ["member"]);
    assert_eq!(live_sessions(c, BOB).await, 2);
    let open: i64 = sqlx::query_scalar("SELECT count(*) FROM admin_system_events WHERE NOT is_resolved")
        .fetch_one(&c.notifications)
        .await
        .unwrap();
    assert_eq!(open, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_reactivate_unlock_and_emails() {
    let p = platform().await;
    let c = &p.central;
    let admin = p.session("admin").await;
    assert!(matches!(members::suspend(&admin, BOB, "  ").await, Err(MemberError::BadInput(_))));
    let s = members::suspend(&admin, BOB, "Compromised laptop, ticket #4242").await.unwrap();
    // One live credential disabled (the other was already deleted 90 days ago), sessions gone.
    assert_eq!(s.credentials_disabled, 1);
    assert_eq!(live_sessions(c, BOB).await, 0);
    assert_eq!(s.revocation.sessions.len(), 2);
    let live_creds = "SELECT count(*) FROM auth.credentials WHERE user_id = $1 AND deleted IS NULL";
    let creds = || sqlx::query_scalar::<_, i64>(live_creds).bind(uid(BOB)).fetch_one(&c.oltp);
    assert_eq!(creds().await.unwrap(), 0);
    assert!(matches!(members::suspend(&admin, BOB, "again").await, Err(MemberError::Conflict(_))));
    // Reactivation restores exactly the one it disabled, not the old one.
    assert_eq!(members::reactivate(&admin, BOB).await.unwrap(), 1);
    assert_eq!(creds().await.unwrap(), 1);
    let old_one: Option<bool> = sqlx::query_scalar(
        "SELECT deleted IS NOT NULL FROM auth.credentials WHERE id = '00000000-0000-0000-0000-0000000000a8'",
    )
    .fetch_optional(&c.oltp)
    .await
    .unwrap();
    assert_eq!(old_one, Some(true), "the credential deleted 90 days ago stays deleted");
    assert!(matches!(members::reactivate(&admin, BOB).await, Err(MemberError::Conflict(_))));
    let e = audited(c, "user.suspended").await;
    assert_eq!(e[0].2.as_ref().unwrap()["credentials_disabled"], 1);
    let notes: Option<String> = sqlx::query_scalar("SELECT notes FROM admin_audit_log WHERE action = 'user.suspended'")
        .fetch_one(&c.olap)
        .await
        .unwrap();
    assert_eq!(notes.as_deref(), Some("Compromised laptop, ticket #4242"));
    // A staff account is not a member to suspend.
    let staff_id = common::staff_account(c, "support", "support@penguin.test", common::STAFF_PASSWORD).await;
    let err = members::suspend(&admin, &staff_id.to_string(), "no").await.unwrap_err();
    assert!(matches!(err, MemberError::Conflict(_)), "{err}");

    // Unlock resolves Bob's open lockout, audited from the notifications database.
    assert_eq!(members::unlock(&admin, BOB).await.unwrap(), 1);
    let (open, by): (i64, Option<uuid::Uuid>) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE NOT is_resolved), max(resolved_by::text)::uuid FROM admin_system_events
         WHERE user_id = $1 AND event_type = 'login_lockout'",
    )
    .bind(uid(BOB))
    .fetch_one(&c.notifications)
    .await
    .unwrap();
    assert_eq!(open, 0);
    assert_eq!(by, admin.staff().user_id(), "resolved by the verified staff member");
    assert!(matches!(members::unlock(&admin, BOB).await, Err(MemberError::Conflict(_))));
    let e = audited(c, "tenant.member.unlocked").await;
    assert_eq!((e.len(), e[0].1.as_ref().unwrap()["failed_attempts"].clone()), (1, serde_json::json!(5)));

    // Emails go to the notifications database through the outbox.
    let reset = members::send_password_reset(&admin, ACME, BOB).await.unwrap();
    let row = sqlx::query("SELECT user_id, tenant_id, type, channel FROM notifications WHERE id = $1")
        .bind(reset)
        .fetch_one(&c.notifications)
        .await
        .unwrap();
    assert_eq!(row.get::<uuid::Uuid, _>(0), uid(BOB));
    assert_eq!(
        (row.get::<String, _>(2), row.get::<Option<String>, _>(3)),
        ("password_reset".into(), Some("email".into()))
    );
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM penguin_console.notification_outbox")
        .fetch_one(&c.oltp)
        .await
        .unwrap();
    assert_eq!(pending, 0, "delivered and cleared");
    // Dave has not accepted his invitation: no reset, but the invitation can be resent or revoked.
    assert!(matches!(members::send_password_reset(&admin, ACME, DAVE).await, Err(MemberError::Conflict(_))));
    assert!(matches!(members::resend_invitation(&admin, ACME, BOB).await, Err(MemberError::Conflict(_))));
    let inv = members::resend_invitation(&admin, ACME, DAVE).await.unwrap();
    let kind: String = sqlx::query_scalar("SELECT type FROM notifications WHERE id = $1")
        .bind(inv)
        .fetch_one(&c.notifications)
        .await
        .unwrap();
    assert_eq!(kind, "invitation");
    // Dave was a member of no workspace: nothing to drop.
    assert_eq!(members::revoke_invitation(&admin, ACME, DAVE).await.unwrap(), 0);
    let gone: bool =
        sqlx::query_scalar("SELECT deleted IS NOT NULL FROM tenant_users WHERE tenant_id = $1 AND user_id = $2")
            .bind(uid(ACME))
            .bind(uid(DAVE))
            .fetch_one(&c.oltp)
            .await
            .unwrap();
    assert!(gone);
    assert!(matches!(members::revoke_invitation(&admin, ACME, DAVE).await, Err(MemberError::Conflict(_))));

    // Every entry carries the verified identity of the staff member who acted, whichever
    // database wrote it: suspended, reactivated (OLTP), unlocked (notifications), reset
    // and invitation sent, invitation revoked (OLTP).
    let me = identity(&admin);
    for action in [
        "user.suspended",
        "user.reactivated",
        "tenant.member.unlocked",
        "user.password_reset_sent",
        "tenant.member.invitation_resent",
        "tenant.member.invitation_revoked",
    ] {
        assert_eq!(actors(c, action).await, std::slice::from_ref(&me), "{action}");
    }
    assert_eq!(audit_count(c).await, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_revoke_one_or_all_and_say_when_a_jwt_outlives_it() {
    let p = platform().await;
    let c = &p.central;
    let admin = p.session("admin").await;
    let r = members::revoke_session(&admin, BOB, BOB_DB_SESSION).await.unwrap();
    assert_eq!((r.ended_now, r.valid_until_expiry), (1, 0));
    assert_eq!(live_sessions(c, BOB).await, 1);
    let again = members::revoke_session(&admin, BOB, BOB_DB_SESSION).await.unwrap_err();
    assert!(matches!(again, MemberError::NotFound(_)), "{again}");
    let r = members::revoke_all_sessions(&admin, BOB).await.unwrap();
    assert_eq!((r.ended_now, r.valid_until_expiry, r.sessions.len()), (0, 1, 1));
    assert!(
        r.message.starts_with("0 sessions ended now; 1 JWT session cannot be revoked before expiry"),
        "{}",
        r.message
    );
    assert_eq!(live_sessions(c, BOB).await, 0);
    assert_eq!(audited(c, "user.sessions.revoked").await.len(), 2);
    // The user detail keeps showing the revoked JWT, because it is still usable.
    p.sync_as(&admin, &p.cache_path()).await;
    let conn = cache::open_read(&p.cache_path()).unwrap();
    let d = users::detail(&conn, admin.staff(), BOB).unwrap();
    let s = &d.sessions.active;
    assert_eq!(s.len(), 1);
    assert_eq!((s[0].id.as_str(), s[0].kind, s[0].revoked), (BOB_JWT_SESSION, SessionKind::Jwt, true));
    assert!(s[0].note.as_deref().unwrap().starts_with("Revoked, but still usable."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removal_confirms_revokes_reassigns_notifies_and_audits_once() {
    let p = platform().await;
    let c = &p.central;
    // The platform's real campaigns table has an owner column (the guide's has none).
    sqlx::raw_sql(&format!(
        "ALTER TABLE campaigns ADD COLUMN created_by uuid;
         INSERT INTO campaigns (tenant_id, company_id, name, status, created_by) VALUES
           ('{ACME}', '{ACME_EU}', 'Q1 EU outreach', 'sending', '{BOB}'),
           ('{ACME}', '{ACME_US}', 'US follow-up', 'draft', '{BOB}'),
           ('{ACME}', '{ACME_US}', 'Alice own', 'draft', '{ALICE}'),
           ('{GLOBEX}', '{GLOBEX_WS}', 'Other tenant', 'draft', '{BOB}');"
    ))
    .execute(&c.oltp)
    .await
    .unwrap();
    let admin = p.session("admin").await;
    let req = |email: &str, heir: &str| RemovalRequest {
        tenant_id: ACME.into(),
        user_id: BOB.into(),
        confirm_email: email.into(),
        reassign_to: heir.into(),
    };
    let err = members::remove_member(&admin, &req("bob@acme.tes", ALICE)).await.unwrap_err();
    assert!(matches!(err, MemberError::Confirmation(_)), "{err}");
    let err = members::remove_member(&admin, &req("bob@acme.test", CAROL)).await.unwrap_err();
    assert!(matches!(err, MemberError::BadInput(_)), "another tenant's user cannot take over: {err}");
    let err = members::remove_member(&admin, &req("bob@acme.test", DAVE)).await.unwrap_err();
    assert!(matches!(err, MemberError::BadInput(_)), "an invited member cannot take over: {err}");
    assert_eq!(live_sessions(c, BOB).await, 2, "nothing happened yet");
    assert_eq!(audit_count(c).await, 0);

    let report = members::remove_member(&admin, &req("  BOB@acme.test ", ALICE)).await.unwrap();
    let removed: bool =
        sqlx::query_scalar("SELECT deleted IS NOT NULL FROM tenant_users WHERE tenant_id = $1 AND user_id = $2")
            .bind(uid(ACME))
            .bind(uid(BOB))
            .fetch_one(&c.oltp)
            .await
            .unwrap();
    assert!(removed);
    assert_eq!(live_sessions(c, BOB).await, 0);
    assert_eq!(report.revocation.sessions.len(), 2);
    // Workspaces: Bob was admin of EU and viewer of US; Alice was member of EU. Alice
    // keeps the higher role: admin of EU, and gets viewer of US.
    let ws: Vec<(String, String)> = sqlx::query(
        "SELECT c.name, w.role FROM penguin_console.workspace_members w JOIN companies c ON c.id = w.company_id
         WHERE w.tenant_id = $1 ORDER BY c.name, w.user_id",
    )
    .bind(uid(ACME))
    .fetch_all(&c.oltp)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    assert_eq!(ws, [("Acme EU".to_string(), "admin".to_string()), ("Acme US".to_string(), "viewer".to_string())]);
    // Campaigns: Bob's two Acme campaigns now Alice's; the Globex one is untouched.
    let owners: Vec<(String, String)> = sqlx::query("SELECT name, created_by::text FROM campaigns ORDER BY name")
        .fetch_all(&c.oltp)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        owners,
        [
            ("Alice own".to_string(), ALICE.to_string()),
            ("Other tenant".to_string(), BOB.to_string()),
            ("Q1 EU outreach".to_string(), ALICE.to_string()),
            ("US follow-up".to_string(), ALICE.to_string()),
        ]
    );
    let got: Vec<(String, u64)> = report.reassigned.iter().map(|r| (r.what.clone(), r.rows)).collect();
    assert_eq!(got, [("workspace_members".to_string(), 2), ("campaigns.created_by".to_string(), 2)]);
    assert_eq!(report.unowned, ["leads", "companies"]);
    let kind: String = sqlx::query_scalar("SELECT type FROM notifications WHERE id = $1::uuid")
        .bind(&report.notification_id)
        .fetch_one(&c.notifications)
        .await
        .unwrap();
    assert_eq!(kind, "member_removed");
    // Exactly one audit entry, with the old and new values of everything that changed.
    assert_eq!(audit_count(c).await, 1);
    let e = audited(c, "tenant.member.removed").await;
    let (old, new) = (e[0].1.clone().unwrap(), e[0].2.clone().unwrap());
    assert_eq!(old["roles"], serde_json::json!(["member"]));
    assert_eq!(old["workspaces"].as_array().unwrap().len(), 2);
    assert_eq!(old["heir_workspaces"], serde_json::json!([{ "workspace_id": ACME_EU, "role": "member" }]));
    assert_eq!(new["reassigned_to"], ALICE);
    assert_eq!(new["heir_workspaces"].as_array().unwrap().len(), 2);
    assert_eq!(new["revoked_sessions"].as_array().unwrap().len(), 2);
    assert_eq!(new["notification_id"], report.notification_id.as_str());
    assert_eq!(actors(c, "tenant.member.removed").await, [identity(&admin)], "the verified identity");

    // Removed twice: refused. The last owner cannot be removed.
    let again = members::remove_member(&admin, &req("bob@acme.test", ALICE)).await.unwrap_err();
    assert!(matches!(again, MemberError::Conflict(_)));
    let alice = RemovalRequest {
        tenant_id: ACME.into(),
        user_id: ALICE.into(),
        confirm_email: "alice@acme.test".into(),
        reassign_to: ANA.into(),
    };
    assert!(matches!(members::remove_member(&admin, &alice).await, Err(MemberError::LastOwner)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gdpr_delete_erases_the_user_and_leaves_an_entry_without_personal_data() {
    let p = platform().await;
    let c = &p.central;
    sqlx::query("UPDATE payments SET initiated_by_user_id = $1 WHERE stripe_payment_intent_id = 'pi_1'")
        .bind(uid(ERIN))
        .execute(&c.oltp)
        .await
        .unwrap();
    sqlx::query("INSERT INTO notifications (user_id, tenant_id, type, title, message, channel) VALUES ($1, $2, 'digest', 'Hi Erin', 'Weekly digest for erin@acme.test', 'email')")
        .bind(uid(ERIN))
        .bind(uid(ACME))
        .execute(&c.notifications)
        .await
        .unwrap();
    let root = p.session("super_admin").await;
    let err = members::gdpr_delete(&root, ERIN, "erin@acme.com").await.unwrap_err();
    assert!(matches!(err, MemberError::Confirmation(_)));
    // Carol is Globex's only owner.
    assert!(matches!(members::gdpr_delete(&root, CAROL, "carol@globex.test").await, Err(MemberError::LastOwner)));

    let r = members::gdpr_delete(&root, ERIN, "erin@acme.test").await.unwrap();
    // Erin: two memberships, one (expired) session, no credentials, no workspaces;
    // one payment pointed at her; her two failed sign-in events are scrubbed.
    assert_eq!((r.memberships, r.sessions, r.credentials, r.workspace_memberships), (2, 1, 0, 0));
    assert_eq!(
        r.references_cleared.iter().map(|x| (x.what.as_str(), x.rows)).collect::<Vec<_>>(),
        [("payments.initiated_by_user_id", 1)]
    );
    assert_eq!((r.notifications_deleted, r.events_scrubbed), (1, 2));
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE id = $1")
        .bind(uid(ERIN))
        .fetch_one(&c.oltp)
        .await
        .unwrap();
    assert_eq!(left, 0);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM tenant_users WHERE user_id = $1")
        .bind(uid(ERIN))
        .fetch_one(&c.oltp)
        .await
        .unwrap();
    assert_eq!(left, 0);
    // The audit entry says what was erased but holds nothing personal.
    let row: String = sqlx::query_scalar(
        "SELECT concat_ws('|', resource_id, old_values::text, new_values::text, notes) FROM admin_audit_log WHERE action = 'user.gdpr_deleted'",
    )
    .fetch_one(&c.olap)
    .await
    .unwrap();
    assert!(row.starts_with(ERIN), "{row}");
    let lower = row.to_lowercase();
    assert!(!lower.contains("erin") && !lower.contains("walsh") && !lower.contains('@'), "{row}");
    // The notifications database audits its part the same way; nothing else was written.
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, concat_ws('|', admin_user_id, resource_id, tenant_id, old_values::text, new_values::text, notes, ip_address, user_agent)
         FROM admin_audit_log ORDER BY action",
    )
    .fetch_all(&c.olap)
    .await
    .unwrap();
    assert_eq!(
        rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["user.gdpr_deleted", "user.gdpr_notifications_erased"]
    );
    for (_, row) in &rows {
        let lower = row.to_lowercase();
        assert!(!lower.contains("erin") && !lower.contains("walsh") && !lower.contains('@'), "{row}");
    }
    assert_eq!(actors(c, "user.gdpr_deleted").await, [identity(&root)]);
    assert_eq!(actors(c, "user.gdpr_notifications_erased").await, [identity(&root)]);
    let e = audited(c, "user.gdpr_notifications_erased").await;
    assert_eq!(e[0].2, Some(serde_json::json!({ "notifications_deleted": 1, "events_scrubbed": 2 })));
    // Her events are still there, scrubbed: no user, no address, no IP.
    let left: Vec<String> = sqlx::query_scalar(
        "SELECT concat_ws('|', user_id, description, details::text) FROM admin_system_events WHERE event_type = 'login_failed'",
    )
    .fetch_all(&c.notifications)
    .await
    .unwrap();
    assert_eq!(left, ["login_failed (personal data erased)|{}", "login_failed (personal data erased)|{}"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspace_members_come_from_the_same_tenant_only() {
    let p = platform().await;
    let c = &p.central;
    let admin = p.session("admin").await;
    let err = members::set_workspace_member(&admin, ACME_EU, CAROL, WorkspaceRole::Member).await.unwrap_err();
    assert!(matches!(err, MemberError::Conflict(_)), "{err}");
    assert_eq!(members::set_workspace_member(&admin, ACME_US, ALICE, WorkspaceRole::Viewer).await.unwrap(), None);
    assert_eq!(
        members::set_workspace_member(&admin, ACME_US, ALICE, WorkspaceRole::Admin).await.unwrap(),
        Some(WorkspaceRole::Viewer)
    );
    assert_eq!(members::remove_workspace_member(&admin, ACME_US, ALICE).await.unwrap(), WorkspaceRole::Admin);
    assert!(matches!(members::remove_workspace_member(&admin, ACME_US, ALICE).await, Err(MemberError::NotFound(_))));
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM admin_audit_log ORDER BY id").fetch_all(&c.olap).await.unwrap();
    assert_eq!(actions, ["workspace.member.added", "workspace.member.role_changed", "workspace.member.removed"]);
}

/// Everything the removal of Bob would change, read back from the databases: his live
/// sessions, whether his membership is deleted, Acme's workspace memberships, campaign
/// owners, pending audit and notification outbox rows, delivered notifications and
/// audit entries.
async fn removal_state(c: &Central) -> (i64, bool, Vec<(String, String, String)>, Vec<(String, String)>, [i64; 4]) {
    let removed: bool =
        sqlx::query_scalar("SELECT deleted IS NOT NULL FROM tenant_users WHERE tenant_id = $1 AND user_id = $2")
            .bind(uid(ACME))
            .bind(uid(BOB))
            .fetch_one(&c.oltp)
            .await
            .unwrap();
    let ws: Vec<(String, String, String)> = sqlx::query(
        "SELECT company_id::text, user_id::text, role FROM penguin_console.workspace_members
         WHERE tenant_id = $1 ORDER BY 1, 2",
    )
    .bind(uid(ACME))
    .fetch_all(&c.oltp)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect();
    let owners: Vec<(String, String)> = sqlx::query("SELECT name, created_by::text FROM campaigns ORDER BY name")
        .fetch_all(&c.oltp)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let count = |pool: &sqlx::PgPool, sql: &'static str| {
        let pool = pool.clone();
        async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.unwrap() }
    };
    let pending = [
        count(&c.oltp, "SELECT count(*) FROM penguin_console.audit_outbox").await,
        count(&c.oltp, "SELECT count(*) FROM penguin_console.notification_outbox").await,
        count(&c.notifications, "SELECT count(*) FROM notifications WHERE type = 'member_removed'").await,
        audit_count(c).await,
    ];
    (live_sessions(c, BOB).await, removed, ws, owners, pending)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removal_killed_mid_way_leaves_nothing_half_done() {
    let p = platform().await;
    let c = &p.central;
    sqlx::raw_sql(&format!(
        "ALTER TABLE campaigns ADD COLUMN created_by uuid;
         INSERT INTO campaigns (tenant_id, company_id, name, status, created_by) VALUES
           ('{ACME}', '{ACME_EU}', 'Q1 EU outreach', 'sending', '{BOB}'),
           ('{ACME}', '{ACME_US}', 'US follow-up', 'draft', '{BOB}');"
    ))
    .execute(&c.oltp)
    .await
    .unwrap();
    let before = removal_state(c).await;
    // Written by hand from tests/team: Bob has 2 live sessions, is an Acme member, is admin
    // of EU and viewer of US (Alice member of EU), owns both campaigns; nothing pending.
    assert_eq!(before.0, 2);
    assert!(!before.1);
    assert_eq!(
        before.2,
        [
            (ACME_EU.to_string(), ALICE.to_string(), "member".to_string()),
            (ACME_EU.to_string(), BOB.to_string(), "admin".to_string()),
            (ACME_US.to_string(), BOB.to_string(), "viewer".to_string()),
        ]
    );
    assert_eq!(
        before.3,
        [("Q1 EU outreach".to_string(), BOB.to_string()), ("US follow-up".to_string(), BOB.to_string())]
    );
    assert_eq!(before.4, [0, 0, 0, 0]);

    // The removal queues its notification after it has revoked, moved and repointed
    // everything: a transaction holding the outbox in EXCLUSIVE mode (reads allowed,
    // inserts wait) stops it exactly there.
    let mut blocker = c.oltp.begin().await.unwrap();
    sqlx::query("LOCK TABLE penguin_console.notification_outbox IN EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let admin = p.session("admin").await;
    let req = RemovalRequest {
        tenant_id: ACME.into(),
        user_id: BOB.into(),
        confirm_email: "bob@acme.test".into(),
        reassign_to: ALICE.into(),
    };
    let removal = {
        let (admin, req) = (admin.clone(), req.clone());
        tokio::spawn(async move { members::remove_member(&admin, &req).await })
    };
    // Its backend, waiting on that lock, having already written its earlier changes.
    let mut pid = None;
    for _ in 0..400 {
        pid = sqlx::query_scalar::<_, i32>(
            "SELECT pid FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%members_remove%'",
        )
        .fetch_optional(&c.oltp)
        .await
        .unwrap();
        if pid.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let pid = pid.expect("the removal never reached the notification outbox");
    // Mid-way indeed: it already holds the write locks of its earlier statements.
    let written: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT c.relname::text FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
         WHERE l.pid = $1 AND l.granted AND l.mode = 'RowExclusiveLock' AND c.relkind = 'r' ORDER BY 1",
    )
    .bind(pid)
    .fetch_all(&c.oltp)
    .await
    .unwrap();
    for table in ["tenant_users", "sessions", "workspace_members", "campaigns"] {
        assert!(written.iter().any(|w| w == table), "the removal had not written {table} yet: {written:?}");
    }
    let killed: bool =
        sqlx::query_scalar("SELECT pg_terminate_backend($1)").bind(pid).fetch_one(&c.oltp).await.unwrap();
    assert!(killed);
    let out = removal.await.unwrap();
    assert!(matches!(out, Err(MemberError::Database(_))), "the killed removal must fail: {out:?}");
    blocker.rollback().await.unwrap();

    // Nothing half-done: every row as before, no audit entry, no notification.
    assert_eq!(removal_state(c).await, before);

    // The same removal then goes through, and changes what it had reached before the kill.
    members::remove_member(&admin, &req).await.unwrap();
    let after = removal_state(c).await;
    assert_eq!(after.0, 0);
    assert!(after.1);
    assert_eq!(
        after.2,
        [
            (ACME_EU.to_string(), ALICE.to_string(), "admin".to_string()),
            (ACME_US.to_string(), ALICE.to_string(), "viewer".to_string()),
        ]
    );
    assert_eq!(
        after.3,
        [("Q1 EU outreach".to_string(), ALICE.to_string()), ("US follow-up".to_string(), ALICE.to_string())]
    );
    assert_eq!(after.4, [0, 0, 1, 1], "delivered after commit: outboxes empty, one notification, one entry");
}
