//! Workspace deletion (typed-name confirmation, 30-day grace, restore, purge with its
//! cascade) through the database functions, signed deletion records (a record inserted
//! or edited by hand purges nothing and raises an alert), and the RBAC access
//! explanation. Fixture: tests/team/mod.rs plus the workspace contents below.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
mod team;

use common::{as_desktop, Platform};
use penguin_admin::auth::AuthError;
use penguin_admin::central::{Central, DbKind};
use penguin_admin::members::{MemberError, TenantRole};
use penguin_admin::rbac::{self, Feature};
use penguin_admin::tenant_admin::support;
use penguin_admin::{cache, workspaces};
use team::*;

/// Acme US: campaigns "US launch" (sending, 1 step) and "US draft" (draft, 1 step),
/// domain us.acme.test with 2 email accounts; Bob is its viewer. Acme EU: domain
/// eu.acme.test with 1 account. One Acme lead. Pro allows 5 domains, 10 accounts.
async fn platform() -> Platform {
    let p = Platform::installed().await;
    team_fixture(&p.central).await;
    sqlx::raw_sql(&format!(
        "UPDATE plans SET max_domains = 5, max_email_accounts = 10 WHERE slug = 'pro';
         INSERT INTO campaigns (id, tenant_id, company_id, name, status) VALUES
           ('00000000-0000-0000-0000-000000000101', '{ACME}', '{ACME_US}', 'US launch', 'sending'),
           ('00000000-0000-0000-0000-000000000102', '{ACME}', '{ACME_US}', 'US draft', 'draft');
         INSERT INTO campaign_sequence_steps (campaign_id, step_order, step_type) VALUES
           ('00000000-0000-0000-0000-000000000101', 1, 'email'), ('00000000-0000-0000-0000-000000000102', 1, 'email');
         INSERT INTO domains (id, tenant_id, company_id, domain) VALUES
           ('00000000-0000-0000-0000-000000000201', '{ACME}', '{ACME_US}', 'us.acme.test'),
           ('00000000-0000-0000-0000-000000000202', '{ACME}', '{ACME_EU}', 'eu.acme.test');
         INSERT INTO email_accounts (tenant_id, domain_id, email) VALUES
           ('{ACME}', '00000000-0000-0000-0000-000000000201', 'a@us.acme.test'),
           ('{ACME}', '00000000-0000-0000-0000-000000000201', 'b@us.acme.test'),
           ('{ACME}', '00000000-0000-0000-0000-000000000202', 'c@eu.acme.test');
         INSERT INTO leads (tenant_id, email) VALUES ('{ACME}', 'lead@prospect.test');"
    ))
    .execute(&p.central.oltp)
    .await
    .unwrap();
    p
}

async fn n(c: &Central, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&c.oltp).await.unwrap()
}

/// Thirty-one days pass for every soft-deleted workspace: its record dated back as the
/// console would have written it then (and signed again, as the console did then).
async fn grace_over(c: &Central) {
    sqlx::raw_sql(
        "UPDATE penguin_console.workspace_deletions SET deleted_at = now() - interval '31 days', purge_after = now() - interval '1 day';
         UPDATE penguin_console.workspace_deletions SET sig = penguin_console.deletion_sig(company_id, deleted_at, purge_after);",
    )
    .execute(&c.oltp)
    .await
    .unwrap();
}

fn cache_of(p: &Platform, role: &str) -> std::path::PathBuf {
    p.dir.path().join(format!("{role}.sqlite"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soft_delete_restore_and_purge_after_the_grace_period() {
    let p = platform().await;
    let c = &p.central;
    let admin = p.session("admin").await;
    let pv = workspaces::preview(&admin, ACME_US).await.unwrap();
    assert_eq!(
        (pv.name.as_str(), pv.campaigns, pv.active_campaigns, pv.domains, pv.email_accounts, pv.members),
        ("Acme US", 2, 1, 1, 2, 1)
    );
    let b = &pv.billing;
    assert_eq!(b.plan.as_deref(), Some("Pro"));
    assert_eq!((b.domains_used, b.domains_after, b.max_domains), (2, 1, Some(5)));
    assert_eq!((b.email_accounts_used, b.email_accounts_after, b.max_email_accounts), (3, 1, Some(10)));

    for role in ["support", "finance"] {
        let err = workspaces::soft_delete(&p.session(role).await, ACME_US, "Acme US", "x").await.unwrap_err();
        assert!(matches!(err, MemberError::Forbidden(_)), "{role}");
    }
    let err = workspaces::soft_delete(&admin, ACME_US, "acme us", "").await.unwrap_err();
    assert!(matches!(err, MemberError::Confirmation(_)), "the name must match exactly: {err}");
    let status = "SELECT status FROM companies WHERE id = '00000000-0000-0000-0000-0000000000d2'";
    let s: String = sqlx::query_scalar(status).fetch_one(&c.oltp).await.unwrap();
    assert_eq!(s, "active");

    let d = workspaces::soft_delete(&admin, ACME_US, "Acme US", "Client left").await.unwrap();
    assert_eq!(d.campaigns_paused, 1);
    let s: String = sqlx::query_scalar(status).fetch_one(&c.oltp).await.unwrap();
    assert_eq!(s, "deleted");
    assert_eq!(
        n(c, "SELECT count(*) FROM campaigns WHERE status = 'sending'").await,
        0,
        "a deleted workspace stops sending"
    );
    // The record is signed: its signature is the HMAC of company|deleted_at|purge_after.
    let signed: bool = sqlx::query_scalar(
        "SELECT sig = penguin_console.sign('deletion', company_id::text || '|' || (deleted_at AT TIME ZONE 'UTC')::text
                     || '+00|' || (purge_after AT TIME ZONE 'UTC')::text || '+00')
                AND purge_after - deleted_at = interval '720 hours'
         FROM penguin_console.workspace_deletions",
    )
    .fetch_one(&c.oltp)
    .await
    .unwrap();
    assert!(signed);
    assert!(matches!(workspaces::soft_delete(&admin, ACME_US, "Acme US", "").await, Err(MemberError::Conflict(_))));
    let err = workspaces::purge(&admin, ACME_US).await.unwrap_err();
    assert!(err.to_string().contains("grace period runs until"), "{err}");

    // Restore within the grace period: status back, the paused campaign sends again.
    assert_eq!(workspaces::restore(&admin, ACME_US).await.unwrap(), 1);
    let s: String = sqlx::query_scalar(status).fetch_one(&c.oltp).await.unwrap();
    assert_eq!(s, "active");
    assert_eq!(n(c, "SELECT count(*) FROM campaigns WHERE status = 'sending'").await, 1);

    // Delete again and let 30 days pass.
    workspaces::soft_delete(&admin, ACME_US, "Acme US", "").await.unwrap();
    grace_over(c).await;
    let err = workspaces::restore(&admin, ACME_US).await.unwrap_err();
    assert!(err.to_string().contains("grace period ended"), "{err}");
    let purged = workspaces::purge_due(&admin).await.unwrap();
    assert_eq!(purged.len(), 1);
    let r = &purged[0];
    assert_eq!((r.campaigns, r.sequence_steps, r.domains, r.email_accounts, r.members), (2, 2, 1, 2, 1));
    // The cascade: Acme US and everything in it gone; Acme EU and the tenant's lead stay.
    assert_eq!(
        n(c, "SELECT count(*) FROM companies WHERE tenant_id = '00000000-0000-0000-0000-0000000000b1'").await,
        1
    );
    assert_eq!(n(c, "SELECT count(*) FROM campaigns").await, 0);
    assert_eq!(n(c, "SELECT count(*) FROM campaign_sequence_steps").await, 0);
    assert_eq!(n(c, "SELECT count(*) FROM domains").await, 1);
    assert_eq!(n(c, "SELECT count(*) FROM email_accounts").await, 1);
    assert_eq!(n(c, "SELECT count(*) FROM leads").await, 1);
    assert_eq!(n(c, "SELECT count(*) FROM penguin_console.workspace_members WHERE company_id = '00000000-0000-0000-0000-0000000000d2'").await, 0);
    assert!(workspaces::purge_due(&admin).await.unwrap().is_empty());
    // Each step audited with the identity the database verified (the admin's user id
    // and role), not one the client gave.
    let entries: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT action, admin_user_id, metadata->>'actor_role' FROM admin_audit_log ORDER BY id")
            .fetch_all(&c.olap)
            .await
            .unwrap();
    let admin_id = admin.staff().user_id().unwrap().to_string();
    assert_eq!(
        entries,
        ["workspace.deleted", "workspace.restored", "workspace.deleted", "workspace.purged"].map(|a| (
            a.to_string(),
            admin_id.clone(),
            Some("admin".to_string())
        ))
    );
    let (ip, agent): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT ip_address, user_agent FROM admin_audit_log WHERE action = 'workspace.purged'")
            .fetch_one(&c.olap)
            .await
            .unwrap();
    assert_eq!((ip.as_deref(), agent.as_deref()), (Some("192.0.2.10"), Some("penguin-admin-tests")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_refuses_deletion_without_the_permission_and_direct_writes() {
    let p = platform().await;
    let c = &p.central;
    let support = p.session("support").await;
    let qa = p.session("qa").await;
    let admin = p.session("admin").await;
    // The functions themselves refuse roles without workspaces.delete (whatever the
    // library would have said).
    for who in [&support, &qa] {
        for sql in [
            format!("SELECT penguin_console_api.workspaces_soft_delete('{ACME_US}', 'Acme US', 'x')"),
            format!("SELECT penguin_console_api.workspaces_restore('{ACME_US}')"),
            format!("SELECT penguin_console_api.workspaces_purge('{ACME_US}')"),
            format!("SELECT penguin_console_api.workspaces_preview('{ACME_US}')"),
            "SELECT penguin_console_api.workspaces_due()".to_string(),
        ] {
            assert_eq!(as_desktop(who, DbKind::Oltp, &sql).await, "42501", "{}: {sql}", who.staff().role());
        }
    }
    // The typed name is re-checked by the function, not only by the library.
    assert_eq!(
        as_desktop(
            &admin,
            DbKind::Oltp,
            &format!("SELECT penguin_console_api.workspaces_soft_delete('{ACME_US}', 'Acme', 'x')")
        )
        .await,
        "PM412"
    );
    // No desktop, admin included, writes the tables directly.
    for who in [&support, &admin] {
        for sql in [
            format!("UPDATE companies SET status = 'deleted' WHERE id = '{ACME_US}'"),
            format!("DELETE FROM companies WHERE id = '{ACME_US}'"),
            format!("UPDATE campaigns SET status = 'paused' WHERE company_id = '{ACME_US}'"),
            format!(
                "INSERT INTO penguin_console.workspace_deletions (company_id, tenant_id, name, purge_after, deleted_by)
                 VALUES ('{ACME_US}', '{ACME}', 'Acme US', now() - interval '1 day', 'me')"
            ),
            "UPDATE penguin_console.workspace_deletions SET purge_after = now()".to_string(),
            "SELECT penguin_console.workspace_purge(NULL, gen_random_uuid())".to_string(),
            "SELECT penguin_console.deletion_sig(gen_random_uuid(), now(), now())".to_string(),
        ] {
            assert_eq!(as_desktop(who, DbKind::Oltp, &sql).await, "42501", "{}: {sql}", who.staff().role());
        }
    }
    assert_eq!(n(c, "SELECT count(*) FROM penguin_console.workspace_deletions").await, 0);
    assert_eq!(n(c, &format!("SELECT count(*) FROM companies WHERE id = '{ACME_US}' AND status = 'active'")).await, 1);
    // An expired session is refused by the function too.
    sqlx::query("UPDATE penguin_console.staff_sessions SET revoked = now(), revoked_why = 'test'")
        .execute(&c.oltp)
        .await
        .unwrap();
    let err = workspaces::soft_delete(&admin, ACME_US, "Acme US", "").await.unwrap_err();
    assert!(matches!(err, MemberError::Forbidden(AuthError::SessionEnded(_))), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_record_the_console_did_not_make_deletes_nothing() {
    let p = platform().await;
    let c = &p.central;
    let admin = p.session("admin").await;
    // Someone with the platform's credentials inserts a record for active Acme US, due
    // already, and one with a made-up signature for Acme EU.
    sqlx::raw_sql(&format!(
        "INSERT INTO penguin_console.workspace_deletions (company_id, tenant_id, name, purge_after, deleted_by) VALUES
           ('{ACME_US}', '{ACME}', 'Acme US', now() - interval '1 day', 'intruder');
         INSERT INTO penguin_console.workspace_deletions (company_id, tenant_id, name, deleted_at, purge_after, deleted_by, sig) VALUES
           ('{ACME_EU}', '{ACME}', 'Acme EU', now() - interval '31 days', now() - interval '1 day', 'intruder', repeat('ab', 32));"
    ))
    .execute(&c.oltp)
    .await
    .unwrap();
    for ws in [ACME_US, ACME_EU] {
        let err = workspaces::purge(&admin, ws).await.unwrap_err();
        assert!(matches!(err, MemberError::Conflict(_)), "{err}");
        assert!(err.to_string().contains("not made by the console"), "{err}");
        let err = workspaces::restore(&admin, ws).await.unwrap_err();
        assert!(err.to_string().contains("not made by the console"), "{err}");
    }
    assert!(workspaces::purge_due(&admin).await.unwrap().is_empty(), "the forged records are not due for the console");
    // A real deletion whose purge date is moved forward by hand is refused the same way.
    workspaces::soft_delete(&admin, GLOBEX_WS, "Globex", "test").await.unwrap();
    sqlx::query(&format!(
        "UPDATE penguin_console.workspace_deletions SET purge_after = now() - interval '1 day' WHERE company_id = '{GLOBEX_WS}'"
    ))
    .execute(&c.oltp)
    .await
    .unwrap();
    let err = workspaces::purge(&admin, GLOBEX_WS).await.unwrap_err();
    assert!(err.to_string().contains("not made by the console"), "{err}");
    // Everything is still there.
    assert_eq!(n(c, "SELECT count(*) FROM companies").await, 3);
    assert_eq!(n(c, "SELECT count(*) FROM campaigns").await, 2);
    assert_eq!(n(c, "SELECT count(*) FROM email_accounts").await, 3);
    assert_eq!(n(c, &format!("SELECT count(*) FROM companies WHERE id = '{ACME_US}' AND status = 'active'")).await, 1);
    let purged: i64 = sqlx::query_scalar("SELECT count(*) FROM admin_audit_log WHERE action = 'workspace.purged'")
        .fetch_one(&c.olap)
        .await
        .unwrap();
    assert_eq!(purged, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explains_why_a_user_can_or_cannot_use_a_workspace() {
    let p = platform().await;
    // Ana has viewer access to Acme US (Bob stays locked, Dave invited).
    sqlx::query(
        "INSERT INTO penguin_console.workspace_members (company_id, user_id, tenant_id, role) VALUES ($1::uuid, $2::uuid, $3::uuid, 'viewer')",
    )
    .bind(ACME_US)
    .bind(ANA)
    .bind(ACME)
    .execute(&p.central.oltp)
    .await
    .unwrap();
    let admin = p.session("admin").await;
    p.sync_as(&admin, &p.cache_path()).await;
    let conn = cache::open_read(&p.cache_path()).unwrap();
    let why = |user: &str, ws: &str| rbac::explain(&conn, admin.staff(), user, ws).unwrap();

    let ana_eu = why(ANA, ACME_EU);
    assert_eq!((ana_eu.tenant_role, ana_eu.workspace_role), (Some(TenantRole::Member), None));
    assert!(ana_eu.allowed.is_empty());
    assert!(ana_eu.reason.contains("add them to it"), "{}", ana_eu.reason);
    let ana_us = why(ANA, ACME_US);
    assert_eq!(ana_us.allowed, [Feature::ViewWorkspace]);
    assert!(ana_us.reason.contains("view it only"), "{}", ana_us.reason);
    let alice = why(ALICE, ACME_US);
    assert_eq!(alice.allowed.len(), 6, "an owner may use every workspace feature");
    let bob = why(BOB, ACME_EU);
    assert!(bob.allowed.is_empty() && bob.reason.contains("locked"), "{}", bob.reason);
    let carol = why(CAROL, ACME_EU);
    assert!(carol.reason.contains("not a member of the workspace's tenant"), "{}", carol.reason);
    let dave = why(DAVE, ACME_EU);
    assert!(dave.reason.contains("invitation"), "{}", dave.reason);
    // Support, under a grant for Acme, gets the same answer about a masked user from its
    // own cache.
    let support = p.session("support").await;
    support::open(&support, ACME, "Customer asks why Ana cannot edit", "SUP-7", None).await.unwrap();
    p.sync_as(&support, &cache_of(&p, "support")).await;
    let sconn = cache::open_read(&cache_of(&p, "support")).unwrap();
    let masked = rbac::explain(&sconn, support.staff(), ANA, ACME_US).unwrap();
    assert_eq!((masked.user.as_deref(), masked.allowed.len()), (Some("a•••@•••.test"), 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_a_workspace_as_json_and_csv_before_deletion() {
    let p = platform().await;
    let admin = p.session("admin").await;
    p.sync_as(&admin, &p.cache_path()).await;
    let conn = cache::open_read(&p.cache_path()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let files = workspaces::export(&conn, admin.staff(), ACME_US, out.path()).unwrap();
    // workspace, campaigns, domains, email_accounts, members.
    assert_eq!(files.rows, [1, 2, 1, 2, 1]);
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&files.json).unwrap()).unwrap();
    assert_eq!(doc["workspace"][0]["name"], "Acme US");
    assert_eq!(doc["members"][0]["email"], "bob@acme.test");
    assert_eq!(doc["members"][0]["role"], "viewer");
    let campaigns = std::fs::read_to_string(&files.csv[1]).unwrap();
    assert_eq!(campaigns.lines().count(), 3, "header and two campaigns");
    assert!(campaigns.contains("US launch") && campaigns.contains("US draft"));

    // Support, under a grant for Acme: the same export from its own cache, people masked.
    let support = p.session("support").await;
    support::open(&support, ACME, "Customer wants its workspace export", "SUP-8", None).await.unwrap();
    p.sync_as(&support, &cache_of(&p, "support")).await;
    let sconn = cache::open_read(&cache_of(&p, "support")).unwrap();
    let masked_dir = tempfile::tempdir().unwrap();
    let files = workspaces::export(&sconn, support.staff(), ACME_US, masked_dir.path()).unwrap();
    assert_eq!(files.rows, [1, 2, 1, 2, 1]);
    let members = std::fs::read_to_string(&files.csv[4]).unwrap();
    assert!(members.contains(",B. S.,b•••@•••.test,viewer"), "{members}");
    assert!(!members.contains("bob@") && !members.contains("Stone"));
    let accounts = std::fs::read_to_string(&files.csv[3]).unwrap();
    assert!(!accounts.contains("a@us.acme.test"));
    // qa: Acme is not a sandbox tenant.
    let qa = p.session("qa").await;
    assert!(workspaces::export(&conn, qa.staff(), ACME_US, out.path()).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_purges_once_the_grace_period_is_over_and_not_before() {
    use penguin_admin::alerts::watch::{CheckSource, PurgeSource};
    let p = platform().await;
    let c = &p.central;
    workspaces::soft_delete(&p.session("admin").await, ACME_US, "Acme US", "client left").await.unwrap();
    let source = PurgeSource::new("test");
    let now = chrono::Utc::now();
    // Within the grace period: the daily run purges nothing (and finds nothing wrong).
    let run = source.run(c, now).await.unwrap();
    assert_eq!(run.sources, ["purge"]);
    assert!(run.conditions.is_empty(), "{:?}", run.conditions);
    assert_eq!(n(c, "SELECT count(*) FROM companies WHERE id = '00000000-0000-0000-0000-0000000000d2'").await, 1);
    // 31 days later (the next day's run): purged, audited as the service identity.
    grace_over(c).await;
    let run = source.run(c, now + chrono::Duration::days(1)).await.unwrap();
    assert!(run.conditions.is_empty(), "{:?}", run.conditions);
    assert_eq!(n(c, "SELECT count(*) FROM companies WHERE id = '00000000-0000-0000-0000-0000000000d2'").await, 0);
    assert_eq!(n(c, "SELECT count(*) FROM campaigns").await, 0);
    let who: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT action, admin_user_id, metadata->>'actor_role' FROM admin_audit_log WHERE action = 'workspace.purged'",
    )
    .fetch_all(&c.olap)
    .await
    .unwrap();
    assert_eq!(who, [("workspace.purged".to_string(), "service:test".to_string(), Some("service".to_string()))]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_leaves_a_hand_inserted_deletion_intact_and_raises_an_alert() {
    use penguin_admin::alerts::watch::{PurgeSource, Watcher};
    use penguin_admin::alerts::Channels;
    let p = platform().await;
    let c = &p.central;
    // A real deletion of Globex, past its grace period: the watcher purges it.
    workspaces::soft_delete(&p.session("admin").await, GLOBEX_WS, "Globex", "client left").await.unwrap();
    grace_over(c).await;
    // A record inserted by hand for active Acme US, due already (what a stolen desktop
    // password once allowed): nothing signed it.
    sqlx::query(
        "INSERT INTO penguin_console.workspace_deletions (company_id, tenant_id, name, deleted_at, purge_after, deleted_by)
         VALUES ($1::uuid, $2::uuid, 'Acme US', now() - interval '31 days', now() - interval '1 day', 'intruder')",
    )
    .bind(ACME_US)
    .bind(ACME)
    .execute(&c.oltp)
    .await
    .unwrap();

    let watcher =
        Watcher::new(c.clone(), Channels::default()).with_source(std::sync::Arc::new(PurgeSource::new("test")));
    let now = chrono::Utc::now();
    let tick = watcher.tick(now).await.unwrap();
    assert_eq!(tick.sources, ["purge"]);
    let fingerprint = format!("purge:{ACME_US}:unsigned");
    assert_eq!(tick.reconcile.raised, std::slice::from_ref(&fingerprint));
    // Globex purged, Acme US intact with everything in it, its record kept for the DBA.
    assert_eq!(n(c, &format!("SELECT count(*) FROM companies WHERE id = '{GLOBEX_WS}'")).await, 0);
    assert_eq!(n(c, &format!("SELECT count(*) FROM companies WHERE id = '{ACME_US}' AND status = 'active'")).await, 1);
    assert_eq!(n(c, &format!("SELECT count(*) FROM campaigns WHERE company_id = '{ACME_US}'")).await, 2);
    assert_eq!(n(c, &format!("SELECT count(*) FROM domains WHERE company_id = '{ACME_US}'")).await, 1);
    assert_eq!(n(c, "SELECT count(*) FROM email_accounts").await, 3);
    assert_eq!(n(c, "SELECT count(*) FROM penguin_console.workspace_deletions").await, 1);
    // The alert: critical, about the workspace, firing.
    let alert: (String, String, String, String, String) = sqlx::query_as(
        "SELECT source, severity, subject_kind, subject, state FROM penguin_console.alerts WHERE fingerprint = $1",
    )
    .bind(&fingerprint)
    .fetch_one(&c.notifications)
    .await
    .unwrap();
    assert_eq!(alert, ("purge".into(), "critical".into(), "workspace".into(), ACME_US.to_string(), "firing".into()));
    // The next tick (same day, no purge run) keeps it open.
    let tick = watcher.tick(now + chrono::Duration::minutes(1)).await.unwrap();
    assert!(tick.reconcile.resolved.is_empty() && tick.reconcile.refreshed == 1, "{:?}", tick.reconcile);
    // Once the record is dealt with, the alert resolves by itself.
    sqlx::query("DELETE FROM penguin_console.workspace_deletions").execute(&c.oltp).await.unwrap();
    let tick = watcher.tick(now + chrono::Duration::minutes(2)).await.unwrap();
    assert_eq!(tick.reconcile.resolved, [fingerprint]);
}
