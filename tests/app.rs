//! The desktop app's operations (the library behind every Tauri command) on a seeded
//! throwaway demo: sign-in and lockout, the permission matrix of every command against
//! every standard role, masking for support, sandbox-only for qa, and the audit chain.
#![allow(clippy::unwrap_used, missing_docs)]

mod demo_app;

use std::process::Command;

use demo_app::{demo_app, PW};
use penguin_admin::app::{App, ErrorCode};
use penguin_admin::audit::{AuditFilter, ExportFormat};
use penguin_admin::demo;
use penguin_admin::tenants::TenantQuery;

fn first_regular_tenant(app: &App) -> String {
    let page = app.tenants(TenantQuery { search: Some("Labs".into()), ..Default::default() }).unwrap();
    page.rows
        .iter()
        .find(|r| !r.name.starts_with("QA Sandbox") && r.members > 1)
        .expect("a tenant with members")
        .id
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_passwords_lock_the_account_for_fifteen_minutes() {
    let d = demo_app().await;
    for attempt in 1..=4 {
        let err = d.app.sign_in("finance@penguinmails.demo", "wrong").await.unwrap_err();
        assert_eq!(err.code, ErrorCode::BadCredentials, "attempt {attempt}");
        // No count of attempts left: that would tell a staff email from an unknown one.
        assert_eq!(err.message, "wrong email or password");
    }
    let err = d.app.sign_in("finance@penguinmails.demo", "wrong").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Locked);
    // Even the right password is refused while locked, and the message says until when.
    let err = d.app.sign_in("finance@penguinmails.demo", PW).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Locked, "{}", err.message);
    assert!(err.message.contains("until 20"), "{}", err.message);
    // Other accounts are unaffected; unknown emails get the same answer as bad passwords.
    assert!(d.app.sign_in("admin@penguinmails.demo", PW).await.is_ok());
    assert_eq!(d.app.sign_in("nobody@penguinmails.demo", PW).await.unwrap_err().code, ErrorCode::BadCredentials);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_against_every_role() {
    let d = demo_app().await;
    let tmp = d.dir.path().join("export.csv");
    // Worked out from the admin docs' role descriptions, not from the code (each role
    // syncs its own cache first: every standard role may):
    //                       tenants detail palette audit export sync
    let expected: &[(&str, [bool; 6])] = &[
        ("super_admin", [true, true, true, true, true, true]),
        ("admin", [true, true, true, true, true, true]),
        ("finance", [true, true, true, true, true, true]),
        ("ops", [true, true, true, false, false, true]),
        ("support", [true, true, true, false, false, true]),
        ("qa", [true, false, true, false, false, true]),
    ];
    d.app.sign_in("super_admin@penguinmails.demo", PW).await.unwrap();
    let tenant = first_regular_tenant(&d.app);
    d.app.sign_out().await;
    for (role, allowed) in expected {
        d.app.select_profile("demo").await.unwrap();
        d.app.sign_in(&format!("{role}@penguinmails.demo"), PW).await.unwrap();
        let synced = d.app.sync(|_| {}).await.map(|_| ());
        let results = [
            d.app.tenants(TenantQuery::default()).map(|_| ()),
            d.app.tenant_detail(&tenant).map(|_| ()),
            d.app.palette("Labs").map(|_| ()),
            d.app.audit(AuditFilter::default()).map(|_| ()),
            d.app.export_audit(AuditFilter::default(), ExportFormat::Csv, tmp.clone()).await.map(|_| ()),
            synced,
        ];
        for (i, (result, allow)) in results.iter().zip(allowed).enumerate() {
            match result {
                Ok(()) => assert!(allow, "{role} was allowed command #{i}"),
                Err(e) => {
                    assert!(!allow, "{role} was refused command #{i}: {}", e.message);
                    assert_eq!(e.code, ErrorCode::Forbidden, "{role} command #{i}: {}", e.message);
                }
            }
        }
        d.app.sign_out().await;
        // Signed out, nothing is readable.
        assert_eq!(d.app.tenants(TenantQuery::default()).unwrap_err().code, ErrorCode::NotSignedIn);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_sees_masked_members_and_qa_sees_sandbox_tenants_only() {
    let d = demo_app().await;
    d.sign_in_as("admin").await;
    let tenant = first_regular_tenant(&d.app);
    let clear = d.app.tenant_detail(&tenant).unwrap();
    d.app.sign_out().await;

    d.app.select_profile("demo").await.unwrap();
    d.app.sign_in("support@penguinmails.demo", PW).await.unwrap();
    d.app.sync(|_| {}).await.unwrap();
    // Without support access, support sees the tenant and its counts, not its members.
    let outside = d.app.tenant_detail(&tenant).unwrap();
    assert!(outside.members.is_empty(), "no member without a grant");
    let listed = d.app.tenants(TenantQuery::default()).unwrap();
    let row = listed.rows.iter().find(|r| r.id == tenant).expect("listed");
    assert_eq!(row.members as usize, clear.members.iter().filter(|m| m.status != "removed").count());
    d.app.open_support_access(&tenant, "customer asked about their team", "SUP-42", Some(30)).await.unwrap();
    let masked = d.app.tenant_detail(&tenant).unwrap();
    assert_eq!(clear.members.len(), masked.members.len());
    for (c, m) in clear.members.iter().zip(&masked.members) {
        let (ce, me) = (c.email.clone().unwrap(), m.email.clone().unwrap());
        assert_ne!(ce, me);
        assert!(me.contains('•') && !me.contains(ce.split('@').next().unwrap()), "{me} hides {ce}");
        assert!(m.name.as_deref().unwrap_or("").len() <= 8, "name masked: {:?}", m.name);
    }
    let hits = d.app.palette(&clear.members[0].email.clone().unwrap()).unwrap();
    assert!(hits.iter().all(|h| !h.label.contains(clear.members[0].email.as_deref().unwrap())));
    d.app.sign_out().await;

    d.app.select_profile("demo").await.unwrap();
    d.app.sign_in("qa@penguinmails.demo", PW).await.unwrap();
    d.app.sync(|_| {}).await.unwrap();
    let page = d.app.tenants(TenantQuery::default()).unwrap();
    assert!(page.total >= 2, "the demo has sandbox tenants");
    assert!(
        page.rows.iter().all(|r| r.name.starts_with("QA Sandbox")),
        "{:?}",
        page.rows.iter().map(|r| &r.name).collect::<Vec<_>>()
    );
    let err = d.app.tenant_detail(&tenant).unwrap_err();
    assert!(matches!(err.code, ErrorCode::Forbidden | ErrorCode::NotFound), "{err:?}");
    assert!(d.app.tenant_detail(&page.rows[0].id).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_are_audited_and_the_chain_detects_tampering() {
    let d = demo_app().await;
    d.sign_in_as("admin").await;
    let out = d.dir.path().join("audit.json");
    let n = d
        .app
        .export_audit(
            AuditFilter { action: Some("tenant".into()), ..Default::default() },
            ExportFormat::Json,
            out.clone(),
        )
        .await
        .unwrap();
    let exported: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(exported.as_array().unwrap().len() as u64, n);
    assert!(exported.as_array().unwrap().iter().all(|e| e["action"].as_str().unwrap().starts_with("tenant")));
    // A bad filter writes nothing.
    let bad = d.dir.path().join("bad.csv");
    let err = d
        .app
        .export_audit(
            AuditFilter { from: Some("2026-12-01".into()), to: Some("2026-01-01".into()), ..Default::default() },
            ExportFormat::Csv,
            bad.clone(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::BadInput);
    assert!(!bad.exists());

    let profile = d.dir.path().join("config/profiles/demo.toml");
    let verify = || {
        Command::new(env!("CARGO_BIN_EXE_penguin-admin"))
            .args(["audit", "verify", "--profile"])
            .arg(&profile)
            .output()
            .unwrap()
    };
    let ok = verify();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("intact"));

    // The export itself is in the log, by the admin.
    d.app.sync(|_| {}).await.unwrap();
    let page = d.app.audit(AuditFilter { action: Some("audit.exported".into()), ..Default::default() }).unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.rows[0].actor_email.as_deref(), Some("admin@penguinmails.demo"));

    // Tamper with an old entry directly in the database (with the owner's rights: the
    // desktop login cannot).
    let owner = penguin_admin::profiles::Profile::load(&profile.to_string_lossy()).unwrap().owner_targets().unwrap();
    let pool = sqlx::PgPool::connect_with(owner[2].options.clone()).await.unwrap();
    sqlx::query("UPDATE admin_audit_log SET notes = 'nothing to see' WHERE id = 10").execute(&pool).await.unwrap();
    let broken = verify();
    assert!(!broken.status.success());
    let msg = String::from_utf8_lossy(&broken.stderr);
    assert!(msg.contains("broken at entry 10") && msg.contains("changed"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_the_cache_stays_readable_and_actions_say_why_not() {
    let d = demo_app().await;
    let profile = d.dir.path().join("config/profiles/demo.toml");
    let port = std::fs::read_to_string(&profile)
        .unwrap()
        .lines()
        .find(|l| l.starts_with("port"))
        .unwrap()
        .split('=')
        .nth(1)
        .unwrap()
        .trim()
        .to_string();
    demo::down(&profile).unwrap();
    // The profile file went with the demo; keep one pointing at the dead port.
    let url = |db: &str| format!("postgres://postgres@127.0.0.1:{port}/{db}");
    std::fs::write(
        &profile,
        format!(
            "[databases]\noltp = '{}'\nqueue = '{}'\nolap = '{}'\nnotifications = '{}'\n",
            url("oltp"),
            url("queue"),
            url("olap"),
            url("notifications")
        ),
    )
    .unwrap();

    let status = d.app.select_profile("demo").await.unwrap();
    assert!(!status.online);
    assert!(status.offline_reason.as_deref().unwrap_or("").contains(&port), "{status:?}");

    // super_admin signed in online during setup, so can sign in offline; others cannot.
    assert_eq!(
        d.app.sign_in("super_admin@penguinmails.demo", "wrong").await.unwrap_err().code,
        ErrorCode::BadCredentials
    );
    let err = d.app.sign_in("finance@penguinmails.demo", PW).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Offline, "{}", err.message);
    d.app.sign_in("super_admin@penguinmails.demo", PW).await.unwrap();
    assert!(d.app.status().data_as_of.is_some(), "the data's age is known");
    assert!(d.app.tenants(TenantQuery::default()).unwrap().total >= 200);
    let err = d.app.sync(|_| {}).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Offline);
    assert!(err.message.contains("Cached data stays available"), "{}", err.message);
}
