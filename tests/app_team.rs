//! The team commands of the desktop app (tenant drawer and workspace drawer) on a seeded
//! throwaway demo: the CSV import from a picked file's bytes (bad bytes refused, preview
//! writes nothing, apply shows in the team), the exports, removal refused on a wrong
//! email, workspace membership limited to the tenant, and support's masked, action-less view.
#![allow(clippy::unwrap_used, missing_docs)]

mod demo_app;

use demo_app::demo_app;
use penguin_admin::app::{App, ErrorCode};
use penguin_admin::members::import::RowAction;
use penguin_admin::members::{RemovalRequest, TenantRole, WorkspaceRole};
use penguin_admin::tenants::TenantQuery;
use penguin_admin::users::UserStatus;

/// Two regular tenants with at least two active members and a workspace each.
fn two_tenants(app: &App) -> (String, String) {
    let page = app.tenants(TenantQuery { limit: Some(200), ..Default::default() }).unwrap();
    let mut found = page.rows.iter().filter(|r| {
        !r.name.starts_with("QA Sandbox")
            && r.status != "deleted"
            && r.workspaces > 0
            && app.team(&r.id).unwrap().iter().filter(|m| m.status == UserStatus::Active).count() >= 2
    });
    (found.next().unwrap().id.clone(), found.next().unwrap().id.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_export_removal_and_workspace_membership_through_the_app() {
    let d = demo_app().await;
    d.sign_in_as("admin").await;
    let app = &d.app;
    let (tenant, other) = two_tenants(app);
    let before = app.team(&tenant).unwrap();

    // Bytes that are not UTF-8 (Latin-1 "é" on line 2): refused with the line, nothing read further.
    let err =
        app.import_members(&tenant, "team.csv", b"email,name,tenant role\nj@x.test,Jos\xe9,member\n".to_vec(), true);
    let err = err.await.unwrap_err();
    assert_eq!(err.code, ErrorCode::BadInput);
    assert!(err.message.starts_with("line 2 of team.csv is not UTF-8"), "{}", err.message);

    // A preview writes nothing; the apply adds the invited account to the team.
    let csv = "email,name,tenant role\nnew.hire@example.org,New Hire,member\n";
    let preview = app.import_members(&tenant, "team.csv", csv.as_bytes().to_vec(), true).await.unwrap();
    assert!(preview.errors.is_empty() && !preview.applied, "{:?}", preview.errors);
    assert_eq!(preview.plan.iter().map(|p| p.action).collect::<Vec<_>>(), [RowAction::Invite]);
    assert_eq!(app.team(&tenant).unwrap().len(), before.len());
    let done = app.import_members(&tenant, "team.csv", csv.as_bytes().to_vec(), false).await.unwrap();
    assert!(done.applied);
    let team = app.team(&tenant).unwrap();
    assert_eq!(team.len(), before.len() + 1);
    let hire = team.iter().find(|m| m.email.as_deref() == Some("new.hire@example.org")).unwrap();
    assert_eq!(hire.status, UserStatus::Invited);

    // The export has every member, the new one included, unmasked for admin.
    let out = d.dir.path().join("team.csv");
    assert_eq!(app.export_members(&tenant, out.clone()).unwrap(), team.len() as u64);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("new.hire@example.org,New Hire,member"), "{text}");

    // Removal: a wrong email is refused and nothing changes; the heir must be of this tenant.
    let active: Vec<_> = team.iter().filter(|m| m.status == UserStatus::Active).collect();
    let (leaver, heir) = (active.last().unwrap(), active[0]);
    let outsider = app.team(&other).unwrap().into_iter().find(|m| m.status == UserStatus::Active).unwrap();
    let request = |email: &str, to: &str| RemovalRequest {
        tenant_id: tenant.clone(),
        user_id: leaver.user_id.clone(),
        confirm_email: email.into(),
        reassign_to: to.into(),
    };
    let err = app.remove_member(request("not-them@example.org", &heir.user_id)).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::BadInput, "{}", err.message);
    let err = app.remove_member(request(leaver.email.as_deref().unwrap(), &outsider.user_id)).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::BadInput, "{}", err.message);
    assert_eq!(app.team(&tenant).unwrap(), team, "nothing changed");

    // Workspace membership: someone of another tenant is refused; the tenant's own member is added.
    let ws = app.workspaces(Some(tenant.clone())).unwrap().into_iter().find(|w| w.status.as_deref() != Some("deleted"));
    let ws = ws.unwrap();
    let err = app.set_workspace_member(&ws.id, &outsider.user_id, WorkspaceRole::Viewer).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict, "{}", err.message);
    let member =
        team.iter().find(|m| m.status == UserStatus::Active && !m.workspaces.iter().any(|w| w.workspace_id == ws.id));
    if let Some(member) = member {
        assert_eq!(app.set_workspace_member(&ws.id, &member.user_id, WorkspaceRole::Viewer).await.unwrap(), None);
        let now = app.team(&tenant).unwrap();
        let m = now.iter().find(|m| m.user_id == member.user_id).unwrap();
        assert!(m.workspaces.iter().any(|w| w.workspace_id == ws.id && w.role == "viewer"), "{:?}", m.workspaces);
        assert_eq!(app.remove_workspace_member(&ws.id, &member.user_id).await.unwrap(), WorkspaceRole::Viewer);
    }

    // The workspace export writes the JSON and one CSV per part.
    let files = app.export_workspace(&ws.id, &d.dir.path().join("ws-export")).unwrap();
    assert!(std::path::Path::new(&files.json).exists());
    assert_eq!(files.csv.len(), files.rows.len());

    // The removal itself: sessions revoked and the member listed as removed.
    let report = app.remove_member(request(leaver.email.as_deref().unwrap(), &heir.user_id)).await.unwrap();
    assert_eq!(
        report.revocation.ended_now + report.revocation.valid_until_expiry,
        report.revocation.sessions.len() as u32
    );
    let after = app.team(&tenant).unwrap();
    assert_eq!(after.iter().find(|m| m.user_id == leaver.user_id).unwrap().status, UserStatus::Removed);

    // Support: no team without a support grant for the tenant; with one, the same team
    // masked, and every team action refused.
    d.sign_in_as("support").await;
    assert!(app.team(&tenant).unwrap().is_empty(), "no grant, no members");
    app.open_support_access(&tenant, "Member cannot see their workspace", "SUP-9", None).await.unwrap();
    let masked = app.team(&tenant).unwrap();
    assert_eq!(masked.len(), after.len());
    assert!(masked.iter().all(|m| m.email.as_deref().is_none_or(|e| e.contains('•'))));
    let refused = [
        app.import_members(&tenant, "t.csv", csv.as_bytes().to_vec(), true).await.err(),
        app.suspend_member(&heir.user_id, "checking").await.err(),
        app.unlock_member(&heir.user_id).await.err(),
        app.set_workspace_member(&ws.id, &heir.user_id, WorkspaceRole::Admin).await.err(),
        app.gdpr_delete_user(&heir.user_id, heir.email.as_deref().unwrap()).await.err(),
    ];
    for (i, e) in refused.into_iter().enumerate() {
        assert_eq!(e.map(|e| e.code), Some(ErrorCode::Forbidden), "action {i}");
    }
    let out = d.dir.path().join("masked.csv");
    app.export_members(&tenant, out.clone()).unwrap();
    assert!(!std::fs::read_to_string(&out).unwrap().contains("new.hire@example.org"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_taken_while_a_sync_runs_is_on_screen_when_it_returns() {
    let d = demo_app().await;
    d.sign_in_as("admin").await;
    let app = &d.app;
    let (tenant, _) = two_tenants(app);
    let member = app
        .team(&tenant)
        .unwrap()
        .into_iter()
        .find(|m| m.status == UserStatus::Active && !m.roles.iter().any(|r| r == "owner"))
        .expect("an active member who is not an owner");
    let (target, name) = if member.roles.iter().any(|r| r == "admin") {
        (TenantRole::Member, "member")
    } else {
        (TenantRole::Admin, "admin")
    };

    // A fresh cache, so the sync after sign-in is a long initial one (seconds).
    app.sign_out().await;
    for entry in std::fs::read_dir(d.dir.path().join("data/demo")).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains(".sqlite") {
            std::fs::remove_file(path).unwrap();
        }
    }
    app.select_profile("demo").await.unwrap();
    app.sign_in("admin@penguinmails.demo", demo_app::PW).await.unwrap();

    // The role changes while that sync runs, after its snapshot was taken.
    let (first, change) = tokio::join!(app.sync(|_| {}), async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        app.change_member_role(&tenant, &member.user_id, target).await
    });
    first.unwrap();
    assert_eq!(change.unwrap().new_roles, [name]);
    let now = app.team(&tenant).unwrap().into_iter().find(|m| m.user_id == member.user_id).unwrap();
    assert_eq!(now.roles, [name], "the change is in the cache when the action returns");
}
