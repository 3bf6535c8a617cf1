//! Workspace deletion (typed-name confirmation, 30-day grace, restore, purge with its
//! cascade) and the RBAC access explanation. Fixture: tests/team/mod.rs plus the
//! workspace contents below.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
mod team;

use common::Platform;
use penguin_admin::auth::ClientInfo;
use penguin_admin::central::Central;
use penguin_admin::members::{MemberError, TenantRole, WorkspaceRole};
use penguin_admin::rbac::{self, Feature};
use penguin_admin::sync::{self, Cancel};
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

fn client() -> ClientInfo {
    ClientInfo::default()
}

async fn n(c: &Central, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&c.oltp).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soft_delete_restore_and_purge_after_the_grace_period() {
    let p = platform().await;
    let c = &p.central;
    let admin = staff("admin");
    let pv = workspaces::preview(c, &admin, ACME_US).await.unwrap();
    assert_eq!(
        (pv.name.as_str(), pv.campaigns, pv.active_campaigns, pv.domains, pv.email_accounts, pv.members),
        ("Acme US", 2, 1, 1, 2, 1)
    );
    let b = &pv.billing;
    assert_eq!(b.plan.as_deref(), Some("Pro"));
    assert_eq!((b.domains_used, b.domains_after, b.max_domains), (2, 1, Some(5)));
    assert_eq!((b.email_accounts_used, b.email_accounts_after, b.max_email_accounts), (3, 1, Some(10)));

    for role in ["support", "finance"] {
        let err = workspaces::soft_delete(c, &staff(role), &client(), ACME_US, "Acme US", "x").await.unwrap_err();
        assert!(matches!(err, MemberError::Forbidden(_)), "{role}");
    }
    let err = workspaces::soft_delete(c, &admin, &client(), ACME_US, "acme us", "").await.unwrap_err();
    assert!(matches!(err, MemberError::Confirmation(_)), "the name must match exactly: {err}");
    let status = "SELECT status FROM companies WHERE id = '00000000-0000-0000-0000-0000000000d2'";
    let s: String = sqlx::query_scalar(status).fetch_one(&c.oltp).await.unwrap();
    assert_eq!(s, "active");

    let d = workspaces::soft_delete(c, &admin, &client(), ACME_US, "Acme US", "Client left").await.unwrap();
    assert_eq!(d.campaigns_paused, 1);
    let s: String = sqlx::query_scalar(status).fetch_one(&c.oltp).await.unwrap();
    assert_eq!(s, "deleted");
    assert_eq!(
        n(c, "SELECT count(*) FROM campaigns WHERE status = 'sending'").await,
        0,
        "a deleted workspace stops sending"
    );
    assert!(matches!(
        workspaces::soft_delete(c, &admin, &client(), ACME_US, "Acme US", "").await,
        Err(MemberError::Conflict(_))
    ));
    let err = workspaces::purge(c, &admin, &client(), ACME_US).await.unwrap_err();
    assert!(err.to_string().contains("grace period runs until"), "{err}");

    // Restore within the grace period: status back, the paused campaign sends again.
    assert_eq!(workspaces::restore(c, &admin, &client(), ACME_US).await.unwrap(), 1);
    let s: String = sqlx::query_scalar(status).fetch_one(&c.oltp).await.unwrap();
    assert_eq!(s, "active");
    assert_eq!(n(c, "SELECT count(*) FROM campaigns WHERE status = 'sending'").await, 1);

    // Delete again and let 30 days pass.
    workspaces::soft_delete(c, &admin, &client(), ACME_US, "Acme US", "").await.unwrap();
    sqlx::query(
        "UPDATE penguin_console.workspace_deletions SET deleted_at = now() - interval '31 days', purge_after = now() - interval '1 day'",
    )
    .execute(&c.oltp)
    .await
    .unwrap();
    let err = workspaces::restore(c, &admin, &client(), ACME_US).await.unwrap_err();
    assert!(err.to_string().contains("grace period ended"), "{err}");
    let purged = workspaces::purge_due(c, &admin, &client()).await.unwrap();
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
    assert!(workspaces::purge_due(c, &admin, &client()).await.unwrap().is_empty());
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM admin_audit_log ORDER BY id").fetch_all(&c.olap).await.unwrap();
    assert_eq!(actions, ["workspace.deleted", "workspace.restored", "workspace.deleted", "workspace.purged"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explains_why_a_user_can_or_cannot_use_a_workspace() {
    let p = platform().await;
    // Ana gets viewer access to Acme US (Bob stays locked, Dave invited).
    penguin_admin::members::set_workspace_member(
        &p.central,
        &staff("admin"),
        &client(),
        ACME_US,
        ANA,
        WorkspaceRole::Viewer,
    )
    .await
    .unwrap();
    sync::sync(&p.targets(), &p.cache_path(), None, &Cancel::default()).await.unwrap();
    let conn = cache::open_read(&p.cache_path()).unwrap();
    let admin = staff("admin");
    let why = |user: &str, ws: &str| rbac::explain(&conn, &admin, user, ws).unwrap();

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
    // Support gets the same answer about a masked user.
    let masked = rbac::explain(&conn, &staff("support"), ANA, ACME_US).unwrap();
    assert_eq!((masked.user.as_deref(), masked.allowed.len()), (Some("a•••@•••.test"), 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_a_workspace_as_json_and_csv_before_deletion() {
    let p = platform().await;
    sync::sync(&p.targets(), &p.cache_path(), None, &Cancel::default()).await.unwrap();
    let conn = cache::open_read(&p.cache_path()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let files = workspaces::export(&conn, &staff("admin"), ACME_US, out.path()).unwrap();
    // workspace, campaigns, domains, email_accounts, members.
    assert_eq!(files.rows, [1, 2, 1, 2, 1]);
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&files.json).unwrap()).unwrap();
    assert_eq!(doc["workspace"][0]["name"], "Acme US");
    assert_eq!(doc["members"][0]["email"], "bob@acme.test");
    assert_eq!(doc["members"][0]["role"], "viewer");
    let campaigns = std::fs::read_to_string(&files.csv[1]).unwrap();
    assert_eq!(campaigns.lines().count(), 3, "header and two campaigns");
    assert!(campaigns.contains("US launch") && campaigns.contains("US draft"));

    // Support: the same export with people masked.
    let masked_dir = tempfile::tempdir().unwrap();
    let files = workspaces::export(&conn, &staff("support"), ACME_US, masked_dir.path()).unwrap();
    let members = std::fs::read_to_string(&files.csv[4]).unwrap();
    assert!(members.contains(",B. S.,b•••@•••.test,viewer"), "{members}");
    assert!(!members.contains("bob@") && !members.contains("Stone"));
    let accounts = std::fs::read_to_string(&files.csv[3]).unwrap();
    assert!(!accounts.contains("a@us.acme.test"));
    // qa: Acme is not a sandbox tenant.
    assert!(workspaces::export(&conn, &staff("qa"), ACME_US, out.path()).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_purges_once_the_grace_period_is_over_and_not_before() {
    use penguin_admin::alerts::watch::{CheckSource, PurgeSource};
    let p = platform().await;
    let c = &p.central;
    workspaces::soft_delete(c, &staff("admin"), &client(), ACME_US, "Acme US", "client left").await.unwrap();
    let source = PurgeSource::new("test");
    let now = chrono::Utc::now();
    // Within the grace period: the daily run purges nothing.
    let run = source.run(c, now).await.unwrap();
    assert_eq!(run.sources, ["purge"]);
    assert_eq!(n(c, "SELECT count(*) FROM companies WHERE id = '00000000-0000-0000-0000-0000000000d2'").await, 1);
    // 31 days later (the next day's run): purged, audited as the service identity.
    sqlx::query("UPDATE penguin_console.workspace_deletions SET purge_after = now() - interval '1 day'")
        .execute(&c.oltp)
        .await
        .unwrap();
    source.run(c, now + chrono::Duration::days(1)).await.unwrap();
    assert_eq!(n(c, "SELECT count(*) FROM companies WHERE id = '00000000-0000-0000-0000-0000000000d2'").await, 0);
    assert_eq!(n(c, "SELECT count(*) FROM campaigns").await, 0);
    let who: Vec<(String, String)> =
        sqlx::query_as("SELECT action, admin_user_id FROM admin_audit_log WHERE action = 'workspace.purged'")
            .fetch_all(&c.olap)
            .await
            .unwrap();
    assert_eq!(who, [("workspace.purged".to_string(), "service:test".to_string())]);
}
