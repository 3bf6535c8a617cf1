//! The desktop app's tenant-admin operations on a seeded throwaway demo: plan overrides
//! change the effective plan until revoked, support access ("view as tenant") shows the
//! tenant masked for support and is refused once closed, and qa provisions sandbox
//! tenants that the list then shows.
#![allow(clippy::unwrap_used, missing_docs)]

mod demo_app;

use demo_app::demo_app;
use penguin_admin::app::{App, ErrorCode};
use penguin_admin::tenant_admin::overrides::{OverrideInput, OverrideKind, PlanLimits};
use penguin_admin::tenant_admin::provision::ProvisionRequest;
use penguin_admin::tenants::TenantQuery;

/// A customer tenant with members and a priced plan.
fn paying_tenant(app: &App) -> String {
    let page = app.tenants(TenantQuery { search: Some("Labs".into()), ..Default::default() }).unwrap();
    page.rows
        .iter()
        .find(|r| !r.name.starts_with("QA Sandbox") && r.members > 1 && r.plan.as_deref().is_some_and(|p| p != "Free"))
        .expect("a paying tenant with members")
        .id
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_override_changes_the_effective_plan_until_it_is_revoked() {
    let d = demo_app().await;
    d.sign_in_as("admin").await;
    let tenant = paying_tenant(&d.app);
    let before = d.app.tenant_admin(&tenant).unwrap().plan;
    let list_price = before.base.price_monthly_cents.expect("a priced plan");
    assert_eq!(before.price_monthly_cents, Some(list_price), "no override yet");
    assert!(d.app.tenant_overrides(&tenant).unwrap().is_empty());

    // Rules the form mirrors: a plan override needs a price or a limit; a comp an end date.
    let empty = OverrideInput {
        kind: OverrideKind::Plan,
        price_monthly_cents: None,
        limits: PlanLimits::default(),
        expires: None,
        reason: "contract".into(),
    };
    assert_eq!(d.app.add_tenant_override(&tenant, &empty).await.unwrap_err().code, ErrorCode::BadInput);
    let open_comp = OverrideInput { kind: OverrideKind::Comp, ..empty.clone() };
    assert_eq!(d.app.add_tenant_override(&tenant, &open_comp).await.unwrap_err().code, ErrorCode::BadInput);

    let deal = OverrideInput {
        price_monthly_cents: Some(12_345),
        limits: PlanLimits { max_domains: Some(77), ..PlanLimits::default() },
        reason: "Annual contract ACME-2027, 77 domains".into(),
        ..empty.clone()
    };
    let added = d.app.add_tenant_override(&tenant, &deal).await.unwrap();
    assert_eq!(added.created_by, "admin@penguinmails.demo");
    // The action synced: the cache shows the new price and limit, other limits stay the plan's.
    let plan = d.app.tenant_admin(&tenant).unwrap().plan;
    assert_eq!(plan.price_monthly_cents, Some(12_345));
    assert_eq!(plan.limits.max_domains, Some(77));
    assert_eq!(plan.limits.max_users, before.limits.max_users);
    assert_eq!(plan.applied.len(), 1);

    // Support reads the overrides (under a grant for the tenant: without one its cache
    // holds none of the tenant's details), the reasons withheld, but may not add one.
    d.sign_in_as("support").await;
    assert!(d.app.tenant_overrides(&tenant).unwrap().is_empty(), "no grant, no details");
    d.app.open_support_access(&tenant, "Customer asks about its contract price", "SUP-5", None).await.unwrap();
    let seen = d.app.tenant_overrides(&tenant).unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].price_monthly_cents, seen[0].reason.as_str()), (Some(12_345), ""));
    assert_eq!(d.app.add_tenant_override(&tenant, &deal).await.unwrap_err().code, ErrorCode::Forbidden);

    d.sign_in_as("admin").await;
    assert_eq!(d.app.revoke_tenant_override(&added.id, " ").await.unwrap_err().code, ErrorCode::BadInput);
    let revoked = d.app.revoke_tenant_override(&added.id, "Contract cancelled").await.unwrap();
    assert!(revoked.revoked.is_some());
    let after = d.app.tenant_admin(&tenant).unwrap().plan;
    assert_eq!(after.price_monthly_cents, Some(list_price));
    assert_eq!(after.limits.max_domains, before.limits.max_domains);
    assert!(after.applied.is_empty());
    // The history keeps it, marked revoked; revoking twice is refused.
    let history = d.app.tenant_overrides(&tenant).unwrap();
    assert_eq!(history.len(), 1);
    assert!(history[0].revoked.is_some());
    assert_eq!(d.app.revoke_tenant_override(&added.id, "again").await.unwrap_err().code, ErrorCode::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_views_a_tenant_masked_under_a_grant_until_it_is_closed() {
    let d = demo_app().await;
    d.sign_in_as("admin").await;
    let tenant = paying_tenant(&d.app);
    let clear = d.app.tenant_detail(&tenant).unwrap();

    d.sign_in_as("support").await;
    let bad_ticket = d.app.open_support_access(&tenant, "Customer cannot see its campaigns", "ticket", None).await;
    assert_eq!(bad_ticket.unwrap_err().code, ErrorCode::BadInput);
    let short_reason = d.app.open_support_access(&tenant, "debug", "SUP-1", None).await;
    assert_eq!(short_reason.unwrap_err().code, ErrorCode::BadInput);
    let too_long = d.app.open_support_access(&tenant, "Customer cannot see its campaigns", "SUP-1", Some(481)).await;
    assert_eq!(too_long.unwrap_err().code, ErrorCode::BadInput);

    let grant = d.app.open_support_access(&tenant, "Customer cannot see its campaigns", "sup-42", None).await.unwrap();
    assert_eq!(grant.ticket, "SUP-42");
    let minutes = chrono::DateTime::parse_from_rfc3339(&grant.expires).unwrap()
        - chrono::DateTime::parse_from_rfc3339(&grant.opened).unwrap();
    assert_eq!(minutes.num_minutes(), 60, "the default length");
    // The grant is listed among the viewer's own, after the sync that followed opening it.
    let mine = d.app.my_support_grants(Some(&tenant)).unwrap();
    assert_eq!(mine.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(), [grant.id.as_str()]);

    let view = d.app.view_as_tenant(&grant.id).await.unwrap();
    assert_eq!(view.detail.tenant.id, tenant);
    assert_eq!(view.grant.views, 1);
    assert_eq!(view.detail.members.len(), clear.members.len());
    for (c, m) in clear.members.iter().zip(&view.detail.members) {
        let (ce, me) = (c.email.clone().unwrap(), m.email.clone().unwrap());
        assert!(me.contains('•') && !me.contains(ce.split('@').next().unwrap()), "{me} hides {ce}");
    }
    assert_eq!(d.app.view_as_tenant(&grant.id).await.unwrap().grant.views, 2);

    // Someone else's grant is not a way in, even for an admin.
    d.sign_in_as("admin").await;
    assert_eq!(d.app.view_as_tenant(&grant.id).await.unwrap_err().code, ErrorCode::Forbidden);
    assert!(d.app.my_support_grants(Some(&tenant)).unwrap().is_empty(), "admin opened none");

    d.sign_in_as("support").await;
    let closed = d.app.close_support_access(&grant.id).await.unwrap();
    assert!(closed.closed.is_some());
    assert_eq!(closed.views, 2);
    let refused = d.app.view_as_tenant(&grant.id).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::Forbidden);
    assert!(refused.message.contains("closed"), "{}", refused.message);
    assert_eq!(d.app.my_support_grants(Some(&tenant)).unwrap()[0].closed, closed.closed);

    // qa has no support access.
    d.sign_in_as("qa").await;
    let qa = d.app.open_support_access(&tenant, "Customer cannot see its campaigns", "SUP-42", None).await;
    assert_eq!(qa.unwrap_err().code, ErrorCode::Forbidden);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qa_provisions_a_sandbox_tenant_that_the_list_then_shows() {
    let d = demo_app().await;
    d.sign_in_as("qa").await;
    let plans = d.app.provision_plans().unwrap();
    // The demo's four public plans, cheapest first; the grandfathered one is not offered.
    assert_eq!(plans.iter().map(|p| p.slug.as_str()).collect::<Vec<_>>(), ["free", "starter", "pro", "enterprise"]);
    let request = ProvisionRequest {
        tenant_name: "QA Sandbox Checkout".into(),
        owner_email: "owner+checkout@qa.example".into(),
        owner_name: "Quinn Ames".into(),
        workspace_name: "Checkout tests".into(),
        plan_slug: "pro".into(),
        sandbox: true,
    };
    let made = d.app.provision_tenant(&request).await.unwrap();
    assert_eq!(made.plan, "Pro");
    // Synced: qa's list shows it, and its detail opens as a sandbox with its one owner.
    let page = d.app.tenants(TenantQuery { search: Some("Checkout".into()), ..Default::default() }).unwrap();
    assert_eq!(page.rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [made.tenant_id.as_str()]);
    let detail = d.app.tenant_detail(&made.tenant_id).unwrap();
    assert!(detail.sandbox);
    assert_eq!(detail.members.len(), 1);
    assert_eq!(detail.workspaces.len(), 1);
    // A non-sandbox test tenant needs tenants.manage; the same owner email is taken now.
    let real = ProvisionRequest { sandbox: false, owner_email: "other@qa.example".into(), ..request.clone() };
    assert_eq!(d.app.provision_tenant(&real).await.unwrap_err().code, ErrorCode::Forbidden);
    assert_eq!(d.app.provision_tenant(&request).await.unwrap_err().code, ErrorCode::BadInput);

    // Support may not provision, nor list the plans to.
    d.sign_in_as("support").await;
    assert_eq!(d.app.provision_plans().unwrap_err().code, ErrorCode::Forbidden);
    assert_eq!(d.app.provision_tenant(&request).await.unwrap_err().code, ErrorCode::Forbidden);
}
