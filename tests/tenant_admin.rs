//! Tenant admin: settings as the tenant sees them (masked for support), per-tenant
//! feature flags, plan and billing overrides with expiry, sandbox provisioning for QA,
//! and support access ("view as tenant"), each action through its database function as
//! a signed-in staff member. Fixture: tests/team/mod.rs (Acme on Pro at 99.00/month;
//! Globex on Enterprise, the QA sandbox) plus what each test adds.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
mod team;

use chrono::{Duration, Utc};
use common::{as_desktop, staff_account, test_client, Platform, STAFF_PASSWORD};
use penguin_admin::auth::{AuthError, Session};
use penguin_admin::central::{Central, DbKind};
use penguin_admin::tenant_admin::overrides::{self, OverrideInput, OverrideKind, PlanLimits};
use penguin_admin::tenant_admin::provision::{self, ProvisionRequest};
use penguin_admin::tenant_admin::{flags, settings, support, TenantAdminError};
use penguin_admin::{cache, tenants};
use team::{team_fixture, ACME, ALICE, GLOBEX};

async fn platform() -> Platform {
    let p = Platform::installed().await;
    team_fixture(&p.central).await;
    sqlx::raw_sql(&format!(
        "INSERT INTO feature_flags (key, description, is_enabled, rollout_percentage) VALUES
           ('advanced_analytics', 'Advanced analytics dashboards', false, 0),
           ('ai_copywriter', 'AI copy suggestions', true, 100);
         UPDATE plans SET max_domains = 5, max_email_accounts = 10, max_emails_per_month = 50000 WHERE slug = 'pro';
         INSERT INTO tenant_config (tenant_id, billing_email, billing_address, theme_primary_color, ui_timezone,
                                    ui_date_format, stripe_customer_id, notify_on_billing_changes)
         VALUES ('{ACME}', 'billing@acme.test',
                 '{{\"line1\": \"12 rue de la Paix\", \"postal_code\": \"75002\", \"city\": \"Paris\", \"country\": \"FR\"}}',
                 '#FF6600', 'Europe/Paris', 'DD/MM/YYYY', 'cus_acme', true);
         UPDATE subscriptions SET billing_contact_user_id = '{ALICE}' WHERE tenant_id = '{ACME}';"
    ))
    .execute(&p.central.oltp)
    .await
    .unwrap();
    p
}

/// Syncs `session`'s own cache (one per staff member) and opens it.
async fn sync(p: &Platform, session: &Session) -> rusqlite::Connection {
    let path = p.dir.path().join(format!("{}.sqlite", session.staff().email()));
    p.sync_as(session, &path).await;
    cache::open_read(&path).unwrap()
}

/// A second staff account of `role`, signed in.
async fn another(p: &Platform, role: &str) -> Session {
    let email = format!("{role}2@penguin.test");
    staff_account(&p.central, role, &email, STAFF_PASSWORD).await;
    Session::sign_in(p.desktop().await, &email, STAFF_PASSWORD, &test_client()).await.unwrap()
}

/// The audit entries of `action`: who (as the database verified it), their role, and
/// where from.
async fn audited_as(c: &Central, action: &str) -> Vec<(String, Option<String>, Option<String>)> {
    sqlx::query_as(
        "SELECT admin_user_id, metadata->>'actor_role', ip_address FROM admin_audit_log WHERE action = $1 ORDER BY id",
    )
    .bind(action)
    .fetch_all(&c.olap)
    .await
    .unwrap()
}

async fn audit_rows(c: &Central, action: &str) -> Vec<(String, serde_json::Value, serde_json::Value, String)> {
    sqlx::query_as(
        "SELECT admin_user_id, COALESCE(old_values, 'null'), COALESCE(new_values, 'null'), COALESCE(notes, '')
         FROM admin_audit_log WHERE action = $1 ORDER BY id",
    )
    .bind(action)
    .fetch_all(&c.olap)
    .await
    .unwrap()
}

async fn n(c: &Central, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&c.oltp).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_as_the_tenant_sees_them_masked_for_support() {
    let p = platform().await;
    let admin = p.session("admin").await;
    let conn = sync(&p, &admin).await;
    let s = settings::settings(&conn, admin.staff(), ACME).unwrap().unwrap();
    assert_eq!(s.name, "Acme Outreach");
    assert_eq!(s.branding.primary_color.as_deref(), Some("#FF6600"));
    assert_eq!(
        (s.regional.timezone.as_deref(), s.regional.date_format.as_deref()),
        (Some("Europe/Paris"), Some("DD/MM/YYYY"))
    );
    assert_eq!(s.billing.billing_email.as_deref(), Some("billing@acme.test"));
    assert_eq!(s.billing.billing_address.as_deref(), Some("12 rue de la Paix, 75002, Paris, FR"));
    assert_eq!(
        (s.billing.contact_name.as_deref(), s.billing.contact_email.as_deref()),
        (Some("Alice Moreau"), Some("alice@acme.test"))
    );
    assert!(s.billing.notify_on_billing_changes && !s.billing.notify_on_security_alerts);
    // Acme has no tenant_policies row: the schema's defaults, said so.
    assert!(s.security.defaults);
    assert_eq!(
        (s.security.max_login_attempts, s.security.session_timeout_hours, s.security.password_min_length),
        (5, 8, 8)
    );

    // Support reads a tenant's settings only under a grant, masked in the database: the
    // postal address (free text) is withheld altogether.
    let support = p.session("support").await;
    let before = settings::settings(&sync(&p, &support).await, support.staff(), ACME).unwrap().unwrap();
    assert_eq!((before.billing.billing_email, before.branding.primary_color), (None, None), "nothing without a grant");
    support::open(&support, ACME, "Customer asks about its invoices", "SUP-3", None).await.unwrap();
    let sconn = sync(&p, &support).await;
    let m = settings::settings(&sconn, support.staff(), ACME).unwrap().unwrap();
    assert_eq!(m.billing.billing_email.as_deref(), Some("b•••@•••.test"));
    assert_eq!(m.billing.billing_address, None);
    assert_eq!(
        (m.billing.contact_name.as_deref(), m.billing.contact_email.as_deref()),
        (Some("A. M."), Some("a•••@•••.test"))
    );
    assert_eq!(m.branding, s.branding, "branding is not personal data");

    // Globex has its own policies (max 3 attempts); qa may read it (sandbox) but not Acme.
    let qa = p.session("qa").await;
    let qconn = sync(&p, &qa).await;
    let g = settings::settings(&qconn, qa.staff(), GLOBEX).unwrap().unwrap();
    assert!(!g.security.defaults);
    assert_eq!(g.security.max_login_attempts, 3);
    assert!(matches!(settings::settings(&qconn, qa.staff(), ACME), Err(TenantAdminError::Forbidden(_))));
    assert!(settings::settings(&conn, admin.staff(), "00000000-0000-0000-0000-00000000ffff").unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flag_flip_shows_who_and_when_and_is_audited_with_before_and_after() {
    let p = platform().await;
    let c = &p.central;
    let admin = p.session("admin").await;
    let support = p.session("support").await;

    let err = flags::set_flag(&support, ACME, "advanced_analytics", Some(true), "beta").await.unwrap_err();
    assert!(
        matches!(err, TenantAdminError::Forbidden(AuthError::Forbidden { permission: "tenants.manage", .. })),
        "{err}"
    );
    // The database refuses it too, whatever the client says.
    let sql = format!("SELECT penguin_console_api.tenant_admin_set_flag('{ACME}', 'advanced_analytics', true, 'beta')");
    assert_eq!(as_desktop(&support, DbKind::Oltp, &sql).await, "42501");
    assert_eq!(n(c, "SELECT count(*) FROM penguin_console.tenant_feature_flags").await, 0);
    let err = flags::set_flag(&admin, ACME, "no_such_flag", Some(true), "beta").await.unwrap_err();
    assert!(matches!(err, TenantAdminError::NotFound(_)), "{err}");
    let err = flags::set_flag(&admin, ACME, "advanced_analytics", Some(true), "  ").await.unwrap_err();
    assert!(matches!(err, TenantAdminError::BadInput(_)), "a reason is required: {err}");
    let sql = format!("SELECT penguin_console_api.tenant_admin_set_flag('{ACME}', 'advanced_analytics', true, ' ')");
    assert_eq!(as_desktop(&admin, DbKind::Oltp, &sql).await, "PM400", "the function wants a reason too");

    let change =
        flags::set_flag(&admin, ACME, "advanced_analytics", Some(true), "Beta customer, ticket SUP-12").await.unwrap();
    assert_eq!((change.before, change.after, change.enabled), (None, Some(true), true));
    assert_eq!(change.changed_by, "admin@penguin.test");
    // ai_copywriter is on platform-wide; Acme opts out.
    flags::set_flag(&admin, ACME, "ai_copywriter", Some(false), "Customer asked to disable AI").await.unwrap();

    let conn = sync(&p, &admin).await;
    let acme = flags::flags(&conn, admin.staff(), ACME).unwrap();
    let aa = acme.iter().find(|f| f.key == "advanced_analytics").unwrap();
    assert!(!aa.platform_enabled && aa.tenant_setting == Some(true) && aa.enabled);
    assert_eq!(aa.changed_by.as_deref(), Some("admin@penguin.test"));
    let at = chrono::DateTime::parse_from_rfc3339(aa.changed_at.as_deref().unwrap()).unwrap();
    assert!((Utc::now() - at.with_timezone(&Utc)).num_minutes().abs() < 5, "changed just now: {at}");
    assert_eq!(aa.reason.as_deref(), Some("Beta customer, ticket SUP-12"));
    let ai = acme.iter().find(|f| f.key == "ai_copywriter").unwrap();
    assert!(ai.platform_enabled && !ai.enabled);
    // Globex is untouched: platform values, no history.
    let globex = flags::flags(&conn, admin.staff(), GLOBEX).unwrap();
    assert_eq!(
        globex.iter().map(|f| (f.key.as_str(), f.enabled, f.changed_by.is_some())).collect::<Vec<_>>(),
        vec![("advanced_analytics", false, false), ("ai_copywriter", true, false)]
    );

    let entries = audit_rows(c, "tenant.feature_flag.set").await;
    assert_eq!(entries.len(), 2);
    let (who, old, new, notes) = &entries[0];
    assert_eq!(who, &admin.staff().audit_id());
    assert_eq!(old, &serde_json::json!({"flag": "advanced_analytics", "tenant_setting": null, "enabled": false}));
    assert_eq!(new, &serde_json::json!({"flag": "advanced_analytics", "tenant_setting": true, "enabled": true}));
    assert_eq!(notes, "Beta customer, ticket SUP-12");
    let admin_id = admin.staff().user_id().unwrap().to_string();
    assert_eq!(
        audited_as(c, "tenant.feature_flag.set").await,
        vec![(admin_id.clone(), Some("admin".to_string()), Some("192.0.2.10".to_string())); 2],
        "the identity the database verified, and where the session signed in from"
    );

    // Back to the platform's value.
    let back = flags::set_flag(&admin, ACME, "advanced_analytics", None, "Beta over").await.unwrap();
    assert_eq!((back.before, back.after, back.enabled), (Some(true), None, false));
    let conn = sync(&p, &admin).await;
    let aa =
        flags::flags(&conn, admin.staff(), ACME).unwrap().into_iter().find(|f| f.key == "advanced_analytics").unwrap();
    assert_eq!((aa.tenant_setting, aa.enabled, aa.changed_by), (None, false, None));
    // No desktop writes the table directly, admin included.
    for sql in [
        format!(
            "INSERT INTO penguin_console.tenant_feature_flags (tenant_id, flag_key, enabled, changed_by, changed_by_email)
             VALUES ('{ACME}', 'ai_copywriter', true, 'me', 'me')"
        ),
        "DELETE FROM penguin_console.tenant_feature_flags".to_string(),
        "UPDATE feature_flags SET is_enabled = true".to_string(),
    ] {
        assert_eq!(as_desktop(&admin, DbKind::Oltp, &sql).await, "42501", "{sql}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overrides_apply_until_they_expire() {
    let p = platform().await;
    let c = &p.central;
    let admin = p.session("admin").await;
    let now = Utc::now();

    // An override that expired yesterday (written as it would have been 10 days ago).
    sqlx::query(
        "INSERT INTO penguin_console.tenant_overrides (id, tenant_id, kind, price_monthly, reason, created_by,
             created_by_email, starts, expires, created)
         VALUES (gen_random_uuid(), $1::uuid, 'plan', 4900, 'Q3 promotion', 'x', 'sales@penguinmails.test',
                 now() - interval '10 days', now() - interval '1 day', now() - interval '10 days')",
    )
    .bind(ACME)
    .execute(&c.oltp)
    .await
    .unwrap();
    let conn = sync(&p, &admin).await;
    let e = overrides::effective_plan(&conn, admin.staff(), ACME, now).unwrap();
    assert_eq!(e.base.name.as_deref(), Some("Pro"));
    assert_eq!((e.base.price_monthly_cents, e.price_monthly_cents), (Some(9900), Some(9900)), "expired: list price");
    assert!(e.applied.is_empty());
    // Five days ago the same override applied.
    let then = overrides::effective_plan(&conn, admin.staff(), ACME, now - Duration::days(5)).unwrap();
    assert_eq!(then.price_monthly_cents, Some(4900));

    // Refusals: wrong role, a past end date, an override that changes nothing, a comp without an end.
    let future = (now + Duration::days(2)).to_rfc3339();
    let input = |kind, price, limits, expires: Option<String>| OverrideInput {
        kind,
        price_monthly_cents: price,
        limits,
        expires,
        reason: "Enterprise deal, contract C-77".into(),
    };
    let deal = input(
        OverrideKind::Plan,
        Some(4900),
        PlanLimits { max_emails_per_month: Some(100_000), ..PlanLimits::default() },
        Some(future.clone()),
    );
    let finance = p.session("finance").await;
    let err = overrides::add(&finance, ACME, &deal).await.unwrap_err();
    assert!(matches!(err, TenantAdminError::Forbidden(_)), "{err}");
    let sql = format!(
        "SELECT penguin_console_api.tenant_admin_add_override('{ACME}', 'plan', 4900, NULL, now() + interval '1 day', 'deal')"
    );
    assert_eq!(as_desktop(&finance, DbKind::Oltp, &sql).await, "42501", "refused by the database too");
    let past = input(OverrideKind::Plan, Some(4900), PlanLimits::default(), Some("2020-01-01".into()));
    assert!(matches!(overrides::add(&admin, ACME, &past).await, Err(TenantAdminError::BadInput(_))));
    let nothing = input(OverrideKind::Plan, None, PlanLimits::default(), None);
    assert!(matches!(overrides::add(&admin, ACME, &nothing).await, Err(TenantAdminError::BadInput(_))));
    let open_comp = input(OverrideKind::Comp, None, PlanLimits::default(), None);
    assert!(matches!(overrides::add(&admin, ACME, &open_comp).await, Err(TenantAdminError::BadInput(_))));
    // The function re-checks what the library checked.
    for (kind, price, limits, expires) in [
        ("plan", "NULL", "NULL", "NULL"),
        ("comp", "NULL", "NULL", "NULL"),
        ("comp", "100", "NULL", "now() + interval '1 day'"),
        ("plan", "-1", "NULL", "NULL"),
        ("plan", "NULL", "ARRAY[NULL, 3000000000]::bigint[]", "NULL"),
        ("free", "100", "NULL", "NULL"),
    ] {
        let sql = format!(
            "SELECT penguin_console_api.tenant_admin_add_override('{ACME}', '{kind}', {price}, {limits}, {expires}, 'deal')"
        );
        assert_eq!(as_desktop(&admin, DbKind::Oltp, &sql).await, "PM400", "{sql}");
    }
    assert_eq!(n(c, "SELECT count(*) FROM penguin_console.tenant_overrides").await, 1);

    // 49.00 and 100k emails for two days; the other limits stay the plan's.
    let added = overrides::add(&admin, ACME, &deal).await.unwrap();
    assert_eq!((added.price_monthly_cents, added.created_by.as_str()), (Some(4900), "admin@penguin.test"));
    let conn = sync(&p, &admin).await;
    let e = overrides::effective_plan(&conn, admin.staff(), ACME, Utc::now()).unwrap();
    assert_eq!(e.price_monthly_cents, Some(4900));
    assert_eq!(
        (e.limits.max_emails_per_month, e.limits.max_domains, e.limits.max_email_accounts),
        (Some(100_000), Some(5), Some(10))
    );
    assert_eq!(e.applied.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), vec![added.id.as_str()]);
    assert_eq!(e.applied[0], added, "the function's answer is the row as synced");
    // Three days from now it has expired: back to 99.00 and 50k.
    let later = overrides::effective_plan(&conn, admin.staff(), ACME, now + Duration::days(3)).unwrap();
    assert_eq!((later.price_monthly_cents, later.limits.max_emails_per_month), (Some(9900), Some(50_000)));

    // A comp until a day makes it free through that day; a trial extension sets the trial end.
    let comp_day = (now + Duration::days(10)).date_naive();
    overrides::add(&admin, ACME, &input(OverrideKind::Comp, None, PlanLimits::default(), Some(comp_day.to_string())))
        .await
        .unwrap();
    overrides::add(
        &admin,
        ACME,
        &input(OverrideKind::Trial, None, PlanLimits::default(), Some((now + Duration::days(14)).to_rfc3339())),
    )
    .await
    .unwrap();
    let conn = sync(&p, &admin).await;
    let e = overrides::effective_plan(&conn, admin.staff(), ACME, Utc::now()).unwrap();
    assert_eq!(e.price_monthly_cents, Some(0), "comped");
    assert_eq!(e.limits.max_emails_per_month, Some(100_000), "a comp keeps the custom limits");
    let comped_until = chrono::DateTime::parse_from_rfc3339(e.comped_until.as_deref().unwrap()).unwrap();
    assert_eq!(comped_until.with_timezone(&Utc), comp_day.succ_opt().unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc());
    assert!(e.trial_until.is_some());
    let day_after_comp = comp_day.succ_opt().unwrap().and_hms_opt(12, 0, 0).unwrap().and_utc();
    let after = overrides::effective_plan(&conn, admin.staff(), ACME, day_after_comp).unwrap();
    assert_eq!((after.price_monthly_cents, after.comped_until), (Some(9900), None));

    // Revoking the deal ends it now: the comp still applies, the limits go back.
    overrides::revoke(&admin, &added.id, "Contract cancelled").await.unwrap();
    let conn = sync(&p, &admin).await;
    let e = overrides::effective_plan(&conn, admin.staff(), ACME, Utc::now()).unwrap();
    assert_eq!((e.price_monthly_cents, e.limits.max_emails_per_month), (Some(0), Some(50_000)));
    assert_eq!(overrides::list(&conn, admin.staff(), ACME).unwrap().len(), 4, "the history keeps everything");
    // Support sees the history too, under a grant, the reasons withheld.
    let support = p.session("support").await;
    support::open(&support, ACME, "Customer disputes its invoice", "SUP-9", None).await.unwrap();
    let history = overrides::list(&sync(&p, &support).await, support.staff(), ACME).unwrap();
    assert_eq!(history.len(), 4);
    assert!(history.iter().all(|o| o.reason.is_empty() && o.created_by.contains('•')), "{history:?}");

    let added_entries = audit_rows(c, "tenant.override.added").await;
    assert_eq!(added_entries.len(), 3);
    assert_eq!(
        added_entries[0].1["overrides_in_effect"],
        serde_json::json!([]),
        "before: the expired one is not in effect"
    );
    assert_eq!(added_entries[0].2["effect"]["price_override_cents"], serde_json::json!(4900));
    assert_eq!(added_entries[0].2["effect"]["overrides_in_effect"], serde_json::json!([added.id]));
    assert_eq!(added_entries[0].2["effect"]["limits_override"]["max_emails_per_month"], serde_json::json!(100_000));
    // The comp, added while the deal was in effect: both in effect after it, newest first.
    assert_eq!(added_entries[1].2["effect"]["overrides_in_effect"][1], serde_json::json!(added.id));
    assert_eq!(added_entries[1].2["effect"]["price_override_cents"], serde_json::json!(4900));
    assert!(added_entries[1].2["effect"]["comped_until"].as_str().unwrap().ends_with("T00:00:00.000000Z"));
    let revoked = audit_rows(c, "tenant.override.revoked").await;
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].3, "Contract cancelled");
    assert_eq!(revoked[0].2["effect"]["price_override_cents"], serde_json::Value::Null, "the deal no longer applies");
    let admin_id = admin.staff().user_id().unwrap().to_string();
    assert!(audited_as(c, "tenant.override.added")
        .await
        .iter()
        .all(|(who, role, _)| who == &admin_id && role.as_deref() == Some("admin")));
    // Revoking twice is refused; nothing is written directly.
    assert!(matches!(overrides::revoke(&admin, &added.id, "again").await, Err(TenantAdminError::NotFound(_))));
    for sql in
        ["UPDATE penguin_console.tenant_overrides SET revoked = NULL", "DELETE FROM penguin_console.tenant_overrides"]
    {
        assert_eq!(as_desktop(&admin, DbKind::Oltp, sql).await, "42501", "{sql}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qa_provisions_sandbox_tenants_only() {
    let p = platform().await;
    let c = &p.central;
    let qa = p.session("qa").await;
    let req = ProvisionRequest {
        tenant_name: "QA Checkout Flow".into(),
        owner_email: "qa.owner+1@example.test".into(),
        owner_name: "Quinn Owner".into(),
        workspace_name: "Checkout QA".into(),
        plan_slug: "starter".into(),
        sandbox: true,
    };
    let tenants_before = n(c, "SELECT count(*) FROM tenants").await;

    let not_sandbox = ProvisionRequest { sandbox: false, ..req.clone() };
    let err = provision::provision(&qa, &not_sandbox).await.unwrap_err();
    assert!(matches!(err, TenantAdminError::Forbidden(_)), "{err}");
    let support = p.session("support").await;
    let err = provision::provision(&support, &req).await.unwrap_err();
    assert!(matches!(err, TenantAdminError::Forbidden(_)), "{err}");
    // The database refuses both too.
    let call = |sandbox: bool| {
        format!(
            "SELECT penguin_console_api.tenant_admin_provision('X', 'x@example.test', 'X', 'X', 'starter', {sandbox})"
        )
    };
    assert_eq!(as_desktop(&qa, DbKind::Oltp, &call(false)).await, "42501");
    assert_eq!(as_desktop(&support, DbKind::Oltp, &call(true)).await, "42501");
    let taken = ProvisionRequest { owner_email: "ALICE@acme.test".into(), ..req.clone() };
    assert!(matches!(provision::provision(&qa, &taken).await, Err(TenantAdminError::BadInput(_))));
    let no_plan = ProvisionRequest { plan_slug: "platinum".into(), ..req.clone() };
    assert!(matches!(provision::provision(&qa, &no_plan).await, Err(TenantAdminError::NotFound(_))));
    // Without pii.view the owner is on a test domain: the form tells qa nothing about
    // whether a real address is a platform user (the function checks it too).
    let real = ProvisionRequest { owner_email: "someone@gmail.com".into(), ..req.clone() };
    let err = provision::provision(&qa, &real).await.unwrap_err();
    assert!(matches!(err, TenantAdminError::BadInput(_)) && err.to_string().contains("test domain"), "{err}");
    let sql = "SELECT penguin_console_api.tenant_admin_provision('X', 'someone@gmail.com', 'X', 'X', 'starter', true)";
    assert_eq!(as_desktop(&qa, DbKind::Oltp, sql).await, "PM400");
    assert_eq!(n(c, "SELECT count(*) FROM tenants").await, tenants_before, "refusals write nothing");
    assert_eq!(n(c, "SELECT count(*) FROM users WHERE email = 'qa.owner+1@example.test'").await, 0);

    let made = provision::provision(&qa, &req).await.unwrap();
    assert!(made.sandbox);
    assert_eq!(made.plan, "Starter");
    assert!(made.workspace_slug.starts_with("checkout-qa-"), "{}", made.workspace_slug);
    assert_eq!(made.workspace_slug, format!("checkout-qa-{}", &made.tenant_id.replace('-', "")[..8]));
    let t = &made.tenant_id;
    assert_eq!(n(c, &format!("SELECT count(*) FROM penguin_console.sandbox_tenants WHERE tenant_id = '{t}'")).await, 1);
    assert_eq!(
        n(
            c,
            &format!(
                "SELECT count(*) FROM tenant_users WHERE tenant_id = '{t}' AND roles = '{{owner}}' AND user_id = '{}'",
                made.owner_user_id
            )
        )
        .await,
        1
    );
    let conn = sync(&p, &qa).await;
    // qa sees it (a sandbox) with its owner, workspace and plan.
    let page = tenants::list(&conn, &tenants::TenantQuery { sandbox_only: true, ..Default::default() }).unwrap();
    assert!(page
        .rows
        .iter()
        .any(|r| &r.id == t && r.plan.as_deref() == Some("Starter") && r.members == 1 && r.workspaces == 1));
    let s = settings::settings(&conn, qa.staff(), t).unwrap().unwrap();
    assert_eq!(s.billing.billing_email.as_deref(), Some("q•••@•••.test"), "qa has no pii.view");
    let d = tenants::detail(&conn, t).unwrap().unwrap();
    assert!(d.sandbox);
    assert_eq!(d.members[0].roles, vec!["owner".to_string()]);
    assert_eq!(d.subscription.unwrap().status.as_deref(), Some("active"));

    let entries = audit_rows(c, "tenant.provisioned").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0, qa.staff().audit_id());
    assert_eq!(entries[0].2["created"]["tenant_id"], serde_json::json!(t));
    assert_eq!(
        audited_as(c, "tenant.provisioned").await,
        [(qa.staff().user_id().unwrap().to_string(), Some("qa".to_string()), Some("192.0.2.10".to_string()))]
    );

    // An admin may create a non-sandbox test tenant (a sales demo), with any address.
    let admin = p.session("admin").await;
    let demo = ProvisionRequest { owner_email: "demo.owner@penguinmails-demo.com".into(), ..not_sandbox };
    let made = provision::provision(&admin, &demo).await.unwrap();
    assert_eq!(
        n(c, &format!("SELECT count(*) FROM penguin_console.sandbox_tenants WHERE tenant_id = '{}'", made.tenant_id))
            .await,
        0
    );
    // Nobody writes the tables directly.
    for sql in [
        "INSERT INTO tenants (id, name) VALUES (gen_random_uuid(), 'x')",
        "INSERT INTO penguin_console.sandbox_tenants (tenant_id) VALUES (gen_random_uuid())",
    ] {
        assert_eq!(as_desktop(&qa, DbKind::Oltp, sql).await, "42501", "{sql}");
        assert_eq!(as_desktop(&admin, DbKind::Oltp, sql).await, "42501", "{sql}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn view_as_needs_a_reason_and_ticket_expires_and_audits_every_view() {
    let p = platform().await;
    let c = &p.central;
    let support = p.session("support").await;
    let reason = "Customer cannot see the EU workspace";

    for (why, ticket, minutes) in [
        (reason, "", None),
        (reason, "please", None),
        ("debug", "SUP-123", None),
        (reason, "SUP-123", Some(9 * 60)),
        (reason, "SUP-123", Some(0)),
    ] {
        let err = support::open(&support, ACME, why, ticket, minutes).await.unwrap_err();
        assert!(matches!(err, TenantAdminError::BadInput(_)), "{why:?} {ticket:?} {minutes:?}: {err}");
    }
    // The function checks the same rules.
    for (why, ticket, minutes) in
        [(reason, "please", 60), ("debug", "SUP-123", 60), (reason, "SUP-123", 481), (reason, "SUP-123", 0)]
    {
        let sql =
            format!("SELECT penguin_console_api.tenant_admin_open_support('{ACME}', '{why}', '{ticket}', {minutes})");
        assert_eq!(as_desktop(&support, DbKind::Oltp, &sql).await, "PM400", "{sql}");
    }
    let qa = p.session("qa").await;
    let err = support::open(&qa, GLOBEX, reason, "SUP-1", None).await.unwrap_err();
    assert!(matches!(err, TenantAdminError::Forbidden(_)));
    let sql = format!("SELECT penguin_console_api.tenant_admin_open_support('{GLOBEX}', '{reason}', 'SUP-1', 60)");
    assert_eq!(as_desktop(&qa, DbKind::Oltp, &sql).await, "42501", "qa has no support access, whatever the client");
    assert_eq!(n(c, "SELECT count(*) FROM penguin_console.support_access_grants").await, 0);
    // A grant cannot be written, extended or reopened directly.
    for sql in [
        format!(
            "INSERT INTO penguin_console.support_access_grants (id, tenant_id, staff_id, staff_email, reason, ticket, expires)
             VALUES (gen_random_uuid(), '{ACME}', 'me', 'me', 'xxxxxxxxxxxx', 'SUP-1', now() + interval '1 hour')"
        ),
        "UPDATE penguin_console.support_access_grants SET expires = now() + interval '1 day'".to_string(),
    ] {
        assert_eq!(as_desktop(&support, DbKind::Oltp, &sql).await, "42501", "{sql}");
    }

    let grant = support::open(&support, ACME, reason, " sup-123 ", None).await.unwrap();
    assert_eq!(grant.ticket, "SUP-123");
    assert_eq!(grant.staff_email, "support@penguin.test");
    let opened = chrono::DateTime::parse_from_rfc3339(&grant.opened).unwrap();
    let expires = chrono::DateTime::parse_from_rfc3339(&grant.expires).unwrap();
    assert_eq!(expires - opened, Duration::minutes(60), "default 60 minutes");

    let conn = sync(&p, &support).await;
    let v1 = support::view_as(&support, &conn, &grant.id).await.unwrap();
    let v2 = support::view_as(&support, &conn, &grant.id).await.unwrap();
    assert_eq!((v1.grant.views, v2.grant.views), (1, 2));
    assert_eq!(v2.detail.tenant.name, "Acme Outreach");
    assert_eq!(v2.detail.workspaces.len(), 2);
    let alice = v2.detail.members.iter().find(|m| m.user_id == ALICE).unwrap();
    assert_eq!(
        (alice.name.as_deref(), alice.email.as_deref()),
        (Some("A. M."), Some("a•••@•••.test")),
        "support stays masked"
    );
    assert_eq!(v2.settings.unwrap().billing.billing_email.as_deref(), Some("b•••@•••.test"));

    // The grant is personal.
    let other = another(&p, "support").await;
    let err = support::view_as(&other, &conn, &grant.id).await.unwrap_err();
    assert!(matches!(err, TenantAdminError::SupportAccess(_)), "{err}");
    assert!(err.to_string().contains("someone else"), "{err}");
    assert!(matches!(support::close(&other, &grant.id).await, Err(TenantAdminError::SupportAccess(_))));

    // Time passes: the grant has expired.
    let expired_at: chrono::DateTime<Utc> = sqlx::query_scalar(
        "UPDATE penguin_console.support_access_grants SET expires = now() - interval '1 minute', opened = now() - interval '61 minutes'
         WHERE id = $1::uuid RETURNING expires",
    )
    .bind(&grant.id)
    .fetch_one(&c.oltp)
    .await
    .unwrap();
    let err = support::view_as(&support, &conn, &grant.id).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "support access expired at {} UTC; open a new one with a reason and ticket",
            expired_at.format("%H:%M")
        )
    );

    let opened_entries = audit_rows(c, "tenant.support_access.opened").await;
    assert_eq!(opened_entries.len(), 1);
    assert_eq!(opened_entries[0].3, format!("SUP-123 — {reason}"));
    let views = audit_rows(c, "tenant.support_access.viewed").await;
    assert_eq!(views.len(), 2, "each view, and only the granted ones");
    assert_eq!(views.iter().map(|v| v.2["view"].as_i64().unwrap()).collect::<Vec<_>>(), vec![1, 2]);
    assert!(views.iter().all(|v| v.0 == support.staff().audit_id()));
    let support_id = support.staff().user_id().unwrap().to_string();
    assert_eq!(
        audited_as(c, "tenant.support_access.viewed").await,
        vec![(support_id, Some("support".to_string()), Some("192.0.2.10".to_string())); 2]
    );

    // Closing early ends a fresh grant at once.
    let g2 = support::open(&support, ACME, reason, "#4521", Some(30)).await.unwrap();
    support::close(&support, &g2.id).await.unwrap();
    let err = support::view_as(&support, &conn, &g2.id).await.unwrap_err();
    assert!(err.to_string().starts_with("support access was closed at"), "{err}");
    let conn = sync(&p, &support).await;
    let listed = support::grants(&conn, support.staff(), Some(ACME)).unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed.iter().find(|g| g.id == grant.id).unwrap().views, 2);
}

/// Acme's members in a cache: (tenant_users rows, users rows with an Acme address in
/// any form, rows showing a real address or name).
fn acme_members(conn: &rusqlite::Connection) -> (i64, i64, i64) {
    let count = |sql: &str| conn.query_row(sql, [ACME], |r| r.get::<_, i64>(0)).unwrap();
    (
        count("SELECT count(*) FROM tenant_users WHERE tenant_id = ?1"),
        count(
            "SELECT count(*) FROM users u WHERE EXISTS (SELECT 1 FROM tenant_users t WHERE t.user_id = u.id AND t.tenant_id = ?1)",
        ),
        count(
            "SELECT count(*) FROM tenant_users t LEFT JOIN users u ON u.id = t.user_id
             WHERE t.tenant_id = ?1 AND (t.email NOT LIKE '%•%' OR u.email NOT LIKE '%•%' OR u.name NOT LIKE '%.')",
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_syncs_a_tenants_members_masked_only_while_its_grant_is_open() {
    let p = platform().await;
    let c = &p.central;
    let support = p.session("support").await;
    let path = p.dir.path().join("support.sqlite");
    let acme_companies = |conn: &rusqlite::Connection| {
        conn.query_row("SELECT count(*) FROM companies WHERE tenant_id = ?1", [ACME], |r| r.get::<_, i64>(0)).unwrap()
    };
    // Before: the tenant is listed, its members and workspaces are not.
    p.sync_as(&support, &path).await;
    let conn = cache::open_read(&path).unwrap();
    let listed: i64 = conn.query_row("SELECT count(*) FROM tenants WHERE id = ?1", [ACME], |r| r.get(0)).unwrap();
    assert_eq!(listed, 1);
    assert_eq!(acme_members(&conn), (0, 0, 0));
    assert_eq!(acme_companies(&conn), 0);

    // While a grant is open: Acme's five members (Alice, Bob, Dave, Erin, Ana), masked;
    // Globex (no grant) still shows none.
    let grant = support::open(&support, ACME, "Customer cannot invite a colleague", "SUP-77", None).await.unwrap();
    p.sync_as(&support, &path).await;
    let conn = cache::open_read(&path).unwrap();
    assert_eq!(acme_members(&conn), (5, 5, 0));
    assert_eq!(acme_companies(&conn), 2);
    let emails: Vec<String> = conn
        .prepare("SELECT email FROM tenant_users WHERE tenant_id = ?1 ORDER BY email")
        .unwrap()
        .query_map([ACME], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(emails, ["a•••@•••.test", "a•••@•••.test", "b•••@•••.test", "d•••@•••.test", "e•••@•••.test"]);
    let globex: i64 =
        conn.query_row("SELECT count(*) FROM tenant_users WHERE tenant_id = ?1", [GLOBEX], |r| r.get(0)).unwrap();
    assert_eq!(globex, 0);

    // Closed: gone at the next sync.
    support::close(&support, &grant.id).await.unwrap();
    p.sync_as(&support, &path).await;
    let conn = cache::open_read(&path).unwrap();
    assert_eq!(acme_members(&conn), (0, 0, 0));
    assert_eq!(acme_companies(&conn), 0);

    // Another grant, left to expire: gone at the next sync too.
    let grant = support::open(&support, ACME, "Customer cannot invite a colleague", "SUP-78", Some(5)).await.unwrap();
    p.sync_as(&support, &path).await;
    assert_eq!(acme_members(&cache::open_read(&path).unwrap()), (5, 5, 0));
    sqlx::query(
        "UPDATE penguin_console.support_access_grants SET opened = now() - interval '10 minutes', expires = now() - interval '5 minutes'
         WHERE id = $1::uuid",
    )
    .bind(&grant.id)
    .execute(&c.oltp)
    .await
    .unwrap();
    p.sync_as(&support, &path).await;
    let conn = cache::open_read(&path).unwrap();
    assert_eq!(acme_members(&conn), (0, 0, 0));
    assert_eq!(acme_companies(&conn), 0);
}

fn cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_penguin-admin"))
        .env("XDG_CONFIG_HOME", std::env::temp_dir().join("penguin-cli-test-config"))
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("PENGUIN_ADMIN_PASSWORD", "correct horse")
        .env("PENGUIN_ADMIN_CACHE_KEY", "tenant-admin-cli-test-key")
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_provisions_flips_flags_and_overrides_plans() {
    let p = platform().await;
    let c = &p.central;
    staff_account(c, "qa", "qa@staff.test", "correct horse").await;
    staff_account(c, "admin", "admin@staff.test", "correct horse").await;
    let profile = p.profile_path().to_string_lossy().to_string();
    // One cache per staff member.
    let cache = |email: &str| p.dir.path().join(format!("{email}.sqlite")).to_string_lossy().to_string();
    let who = |email: &'static str| {
        ["--profile", profile.as_str(), "--cache", &cache(email), "--as", email, "--json"].map(String::from)
    };

    let mut args: Vec<String> = vec!["tenant".into(), "provision".into()];
    args.extend(who("qa@staff.test"));
    args.extend(
        ["--name", "QA Sandbox", "--owner-email", "qa.cli@example.test", "--owner-name", "Q A", "--workspace", "QA WS"]
            .map(String::from),
    );
    let o = cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let made: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((made["plan"].as_str(), made["sandbox"].as_bool()), (Some("Starter"), Some(true)));
    // qa asking for a non-sandbox tenant: refused, the permission named.
    args.push("--not-sandbox".into());
    let o = cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("tenants.manage"), "{}", String::from_utf8_lossy(&o.stderr));

    let mut args: Vec<String> = vec!["tenant".into(), "flags".into()];
    args.extend(who("admin@staff.test"));
    args.extend(["--tenant", ACME, "--key", "advanced_analytics", "--on", "--reason", "Beta"].map(String::from));
    let o = cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut args: Vec<String> = vec!["tenant".into(), "flags".into()];
    args.extend(who("admin@staff.test"));
    args.extend(["--tenant", ACME].map(String::from));
    let o = cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let listed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(listed[0]["key"], "advanced_analytics");
    assert_eq!(
        (listed[0]["enabled"].as_bool(), listed[0]["changed_by"].as_str()),
        (Some(true), Some("admin@staff.test"))
    );

    let mut args: Vec<String> = vec!["tenant".into(), "override".into()];
    args.extend(who("admin@staff.test"));
    let expires = (Utc::now() + Duration::days(30)).date_naive().to_string();
    args.extend(
        ["--tenant", ACME, "--kind", "plan", "--price-cents", "4900", "--expires", &expires, "--reason", "Deal C-1"]
            .map(String::from),
    );
    let o = cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let e: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (e["price_monthly_cents"].as_i64(), e["base"]["price_monthly_cents"].as_i64()),
        (Some(4900), Some(9900))
    );
}
