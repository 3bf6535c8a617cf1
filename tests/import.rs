//! Bulk team import (every row validated first, preview, all-or-nothing apply) and the
//! team export, through the library and the `penguin-admin members` commands.
//! Fixture: tests/team/mod.rs.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
mod team;

use std::process::Command;

use common::Platform;
use penguin_admin::cache;
use penguin_admin::central::{Central, DbKind};
use penguin_admin::members::import::{self, RowAction};
use penguin_admin::members::MemberError;
use team::*;

const GOOD: &str = "email,name,tenant role,workspaces
alice@acme.test,Alice Moreau,owner,Acme EU:member
bob@acme.test,Bob Stone,admin,Acme US:member
frank@acme.test,Frank New,member,acme-us:viewer;Acme EU:member
";

const BAD: &str = "Email,Name,Tenant Role,Workspaces
alice@acme.test,Alice,member,
bad-email,X,member,
gina@acme.test,,member,
hank@acme.test,Hank,admin,Nowhere:admin
ivy@acme.test,Ivy,admin,Acme EU:owner
";

async fn platform() -> Platform {
    let p = Platform::installed().await;
    team_fixture(&p.central).await;
    p
}

/// Row counts that any write would change.
async fn footprint(c: &Central) -> (i64, i64, i64, i64) {
    let n = |sql: &'static str| async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&c.oltp).await.unwrap() };
    (
        n("SELECT count(*) FROM users").await,
        n("SELECT count(*) FROM tenant_users WHERE deleted IS NULL").await,
        n("SELECT count(*) FROM penguin_console.workspace_members").await,
        n("SELECT count(*) FROM auth.sessions WHERE deleted_at IS NULL").await,
    )
}

async fn audit_entries(c: &Central) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM admin_audit_log").fetch_one(&c.olap).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_row_is_validated_and_nothing_is_written_on_any_error() {
    let p = platform().await;
    let c = &p.central;
    let admin = p.session("admin").await;
    let before = footprint(c).await;
    let r = import::import(&admin, ACME, BAD, false).await.unwrap();
    let got: Vec<(u64, &str)> = r.errors.iter().map(|e| (e.line, e.message.as_str())).collect();
    assert_eq!(got.len(), 5, "{got:?}");
    assert_eq!(got.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [2, 3, 4, 5, 6]);
    assert!(got[0].1.contains("without an owner"), "{}", got[0].1);
    assert!(got[1].1.contains("not a valid email"));
    assert!(got[2].1.contains("give a name"));
    assert!(got[3].1.contains("no workspace named `Nowhere`"));
    assert!(got[4].1.contains("not admin, member or viewer"));
    assert!(!r.applied && r.plan.is_empty());
    assert_eq!(footprint(c).await, before);
    assert_eq!(audit_entries(c).await, 0);

    // Support and finance may not import at all.
    for role in ["support", "finance"] {
        let err = import::import(&p.session(role).await, ACME, GOOD, true).await.unwrap_err();
        assert!(matches!(err, MemberError::Forbidden(_)), "{role}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_files_are_refused_with_what_to_do_and_nothing_is_written() {
    let p = platform().await;
    let c = &p.central;
    let admin_session = p.session("admin").await;
    let admin = &admin_session;
    let before = footprint(c).await;
    let errors = |text: String| async move {
        let r = import::import(admin, ACME, &text, false).await.unwrap();
        assert!(!r.applied && r.plan.is_empty());
        r.errors.into_iter().map(|e| (e.line, e.message)).collect::<Vec<_>>()
    };

    // A wrong header: said on line 1, no row looked at.
    let got = errors("mail,full name,role\nzed@acme.test,Zed,member\n".into()).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, 1);
    assert!(got[0].1.contains("email, name, tenant role"), "{}", got[0].1);

    // An unknown tenant role, a duplicate, another organization's account (Carol is Globex's
    // owner and was never in Acme): each on its line, the good rows are not written either.
    let got = errors(
        "email,name,tenant role\nzed@acme.test,Zed,boss\nyan@acme.test,Yan,member\nYAN@acme.test,Yan,admin\n\
         carol@globex.test,Carol,member\n"
            .into(),
    )
    .await;
    assert_eq!(got.iter().map(|e| e.0).collect::<Vec<_>>(), [2, 4, 5], "{got:?}");
    assert!(got[0].1.contains("`boss`") && got[0].1.contains("owner, admin or member"), "{}", got[0].1);
    assert!(got[1].1.contains("already on line 3"), "{}", got[1].1);
    assert!(got[2].1.contains("another organization"), "{}", got[2].1);

    // 100,000 rows: refused past the limit, with the line where it stopped.
    let mut big = String::from("email,name,tenant role\n");
    for i in 0..100_000 {
        big.push_str(&format!("user{i}@acme.test,User {i},member\n"));
    }
    let got = errors(big).await;
    assert_eq!(got.len(), 1, "{:?}", &got[..got.len().min(3)]);
    assert_eq!(got[0].0, import::MAX_ROWS as u64 + 2);
    assert!(got[0].1.contains("split the file"));

    // Invalid UTF-8 (Latin-1 "José" on line 3): refused before parsing, with the line.
    let file = p.dir.path().join("latin1.csv");
    std::fs::write(&file, b"email,name,tenant role\nann@acme.test,Ann,member\njose@acme.test,Jos\xe9,member\n")
        .unwrap();
    let err = import::read_file(&file).unwrap_err();
    assert!(matches!(err, MemberError::BadInput(_)));
    assert!(err.to_string().starts_with("line 3 of") && err.to_string().contains("UTF-8"), "{err}");

    assert_eq!(footprint(c).await, before);
    assert_eq!(audit_entries(c).await, 0);
    // The same rows without the bad ones go through: the refusals were about those rows.
    let ok = import::import(admin, ACME, "email,name,tenant role\nyan@acme.test,Yan,member\n", false).await.unwrap();
    assert!(ok.applied && ok.errors.is_empty(), "{:?}", ok.errors);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_then_apply_all_or_nothing() {
    let p = platform().await;
    let c = &p.central;
    let admin = p.session("admin").await;
    let before = footprint(c).await;
    let preview = import::import(&admin, ACME, GOOD, true).await.unwrap();
    assert!(preview.errors.is_empty(), "{:?}", preview.errors);
    let actions: Vec<(u64, RowAction)> = preview.plan.iter().map(|p| (p.line, p.action)).collect();
    assert_eq!(actions, [(2, RowAction::Unchanged), (3, RowAction::Update), (4, RowAction::Invite)]);
    let bob = &preview.plan[1];
    assert_eq!((bob.old_role.as_deref(), bob.new_role.as_str()), (Some("member"), "admin"));
    assert_eq!(bob.workspaces.len(), 1);
    assert_eq!(
        (bob.workspaces[0].old_role.as_deref(), bob.workspaces[0].new_role.as_str()),
        (Some("viewer"), "member")
    );
    assert_eq!(preview.plan[2].workspaces.len(), 2, "Frank gets two workspaces, one named by its workspace_name");
    assert!(!preview.applied);
    assert_eq!(footprint(c).await, before, "a dry run writes nothing");

    let done = import::import(&admin, ACME, GOOD, false).await.unwrap();
    assert!(done.applied);
    assert_eq!(done.plan, preview.plan, "what was previewed is what was applied");
    let (users, members, ws, live) = footprint(c).await;
    // +1 account (Frank), +1 Acme membership (Frank), +2 workspace rows for Frank (Bob's
    // US row changes role in place), Bob's 2 live sessions revoked.
    assert_eq!((users, members, ws, live), (before.0 + 1, before.1 + 1, before.2 + 2, before.3 - 2));
    let frank_verified: Option<bool> =
        sqlx::query_scalar("SELECT email_verified IS NOT NULL FROM users WHERE email = 'frank@acme.test'")
            .fetch_optional(&c.oltp)
            .await
            .unwrap();
    assert_eq!(frank_verified, Some(false), "a new account is invited");
    let invites: i64 = sqlx::query_scalar("SELECT count(*) FROM notifications WHERE type = 'invitation'")
        .fetch_one(&c.notifications)
        .await
        .unwrap();
    assert_eq!(invites, 1);
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM admin_audit_log").fetch_all(&c.olap).await.unwrap();
    assert_eq!(actions, ["tenant.members.imported"]);
    // One entry, with the verified identity and every change (worked out from GOOD and
    // the fixture: Bob member -> admin and Acme US viewer -> member; Frank invited as a
    // member with Acme US viewer and Acme EU member; Alice unchanged, not listed).
    let (actor, role, old, new): (String, Option<String>, serde_json::Value, serde_json::Value) =
        sqlx::query_as("SELECT admin_user_id, metadata->>'actor_role', old_values, new_values FROM admin_audit_log")
            .fetch_one(&c.olap)
            .await
            .unwrap();
    assert_eq!((actor, role.as_deref()), (admin.staff().user_id().unwrap().to_string(), Some("admin")));
    assert_eq!(
        old,
        serde_json::json!([
            { "email": "bob@acme.test", "role": "member", "workspaces": { "Acme US": "viewer" } },
            { "email": "frank@acme.test", "role": null, "workspaces": { "Acme US": null, "Acme EU": null } },
        ])
    );
    assert_eq!(
        new,
        serde_json::json!({
            "rows": [
                { "email": "bob@acme.test", "action": "update", "role": "admin", "workspaces": { "Acme US": "member" } },
                { "email": "frank@acme.test", "action": "invite", "role": "member",
                  "workspaces": { "Acme US": "viewer", "Acme EU": "member" } },
            ],
            "revoked_sessions": 2,
        })
    );

    // Importing the same file again changes nothing and writes nothing.
    let again = import::import(&admin, ACME, GOOD, false).await.unwrap();
    assert!(again.plan.iter().all(|p| p.action == RowAction::Unchanged), "{:?}", again.plan);
    assert_eq!(audit_entries(c).await, 1);
}

/// Calls `members_import_apply` for Acme with `plan` as a desktop could with `psql`;
/// returns the refusal's SQLSTATE and message (the transaction is rolled back).
async fn apply_directly(s: &penguin_admin::auth::Session, plan: serde_json::Value) -> (String, String) {
    let mut tx = s.begin(DbKind::Oltp).await.unwrap();
    let out = sqlx::query("SELECT penguin_console_api.members_import_apply($1, $2)")
        .bind(uuid::Uuid::parse_str(ACME).unwrap())
        .bind(plan)
        .execute(&mut *tx)
        .await;
    tx.rollback().await.unwrap();
    match out {
        Ok(_) => ("ok".into(), String::new()),
        Err(e) => {
            let d = e.as_database_error().unwrap();
            (d.code().unwrap_or_default().to_string(), d.message().to_string())
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apply_function_checks_every_row_again() {
    let p = platform().await;
    let c = &p.central;
    let admin = p.session("admin").await;
    common::staff_account(c, "ops", "ops@penguin.test", common::STAFF_PASSWORD).await;
    let (support, qa) = (p.session("support").await, p.session("qa").await);
    let before = footprint(c).await;
    let row = |line: u64, email: &str, action: &str, role: &str, ws: serde_json::Value| serde_json::json!({ "line": line, "email": email, "name": "Someone", "action": action, "role": role, "workspaces": ws });
    let none = serde_json::json!([]);
    // Each plan is what a desktop that skipped the library's checks could send.
    let cases = [
        (vec![row(2, "zed@acme.test", "invite", "boss", none.clone())], "PM400", "line 2: tenant role `boss`"),
        (
            vec![row(3, "zed@acme", "invite", "member", none.clone())],
            "PM400",
            "line 3: `zed@acme` is not a valid email",
        ),
        (
            vec![row(4, "zed@acme.test", "invite", "member", serde_json::json!([{ "id": ACME_EU, "role": "owner" }]))],
            "PM400",
            "line 4: workspace role `owner`",
        ),
        // Another tenant's workspace.
        (
            vec![row(
                5,
                "bob@acme.test",
                "update",
                "member",
                serde_json::json!([{ "id": GLOBEX_WS, "role": "admin" }]),
            )],
            "PM400",
            "line 5: workspace 00000000-0000-0000-0000-0000000000d3 is not a workspace of this tenant",
        ),
        // Another organization's account (Carol, Globex's owner, never in Acme).
        (
            vec![row(6, "carol@globex.test", "add", "member", none.clone())],
            "PM400",
            "line 6: carol@globex.test is an account of another organization",
        ),
        (
            vec![row(7, "ops@penguin.test", "add", "member", none.clone())],
            "PM400",
            "line 7: ops@penguin.test is platform staff",
        ),
        (
            vec![
                row(8, "yan@acme.test", "invite", "member", none.clone()),
                row(9, "YAN@acme.test", "invite", "admin", none.clone()),
            ],
            "PM400",
            "line 9: yan@acme.test is already on line 8",
        ),
        // A plan that says Bob is unchanged when the row changes his role.
        (
            vec![row(10, "bob@acme.test", "unchanged", "admin", none.clone())],
            "PM409",
            "line 10: the team changed since the preview",
        ),
        // Alice is Acme's only owner.
        (vec![row(11, "alice@acme.test", "update", "member", none.clone())], "PM422", "without an owner"),
        // A good row before a bad one: nothing is written either.
        (
            vec![
                row(12, "yan@acme.test", "invite", "member", none.clone()),
                row(13, "carol@globex.test", "add", "admin", none.clone()),
            ],
            "PM400",
            "line 13:",
        ),
    ];
    for (plan, code, message) in cases {
        let (got, text) = apply_directly(&admin, serde_json::Value::Array(plan)).await;
        assert_eq!(got, code, "{text}");
        assert!(text.starts_with(message) || text.contains(message), "{text}");
    }
    // The row limit holds there too.
    let big: Vec<serde_json::Value> =
        (0..10_001).map(|i| row(i + 2, &format!("user{i}@acme.test"), "invite", "member", none.clone())).collect();
    let (got, text) = apply_directly(&admin, serde_json::Value::Array(big)).await;
    assert_eq!((got.as_str(), text.as_str()), ("PM400", "more than 10000 rows; split the file"));
    // Support and qa are refused by the database, whatever the plan.
    for (role, s) in [("support", &support), ("qa", &qa)] {
        let (got, text) =
            apply_directly(s, serde_json::json!([row(2, "zed@acme.test", "invite", "member", none.clone())])).await;
        assert_eq!(got, "42501", "{role}: {text}");
        assert!(text.contains("tenants.members.import"), "{text}");
    }
    assert_eq!(footprint(c).await, before);
    assert_eq!(audit_entries(c).await, 0);
}

fn cli() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_penguin-admin"));
    c.env("XDG_CONFIG_HOME", std::env::temp_dir().join("penguin-cli-test-config"));
    c.env_remove("DBUS_SESSION_BUS_ADDRESS");
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_round_trips_masks_for_support_and_works_from_the_cli() {
    let p = platform().await;
    let c = &p.central;
    staff_account(c, "admin", "admin@staff.test", "correct horse").await;
    staff_account(c, "support", "support@staff.test", "correct horse").await;
    let admin = p.session("admin").await;
    p.sync_as(&admin, &p.cache_path()).await;
    let conn = cache::open_read(&p.cache_path()).unwrap();

    let mut out = Vec::new();
    assert_eq!(import::export(&conn, admin.staff(), ACME, &mut out).unwrap(), 5);
    let text = String::from_utf8(out).unwrap();
    // Owner first, then members by name; the last-login column varies, so compare the rest.
    let without_login: Vec<String> =
        text.lines().map(|l| l.rsplit_once(',').map(|(head, _)| head.to_string()).unwrap()).collect();
    assert_eq!(
        without_login,
        [
            "email,name,tenant role,workspaces,status",
            "alice@acme.test,Alice Moreau,owner,Acme EU:member,active",
            "ana@acme.test,Ana Carter,member,,active",
            "bob@acme.test,Bob Stone,member,Acme EU:admin;Acme US:viewer,locked",
            "dave@acme.test,Dave Invited,member,,invited",
            "erin@acme.test,Erin Walsh,member,,active",
        ]
    );
    // The export imports back as "nothing to change".
    let back = import::import(&admin, ACME, &text, true).await.unwrap();
    assert!(back.errors.is_empty(), "{:?}", back.errors);
    assert!(back.plan.iter().all(|p| p.action == RowAction::Unchanged), "{:?}", back.plan);

    // Support, with a "view as tenant" grant for Acme, gets the same file masked, from
    // its own cache (masked by the database's views).
    let support = p.session("support").await;
    sqlx::query(
        "INSERT INTO penguin_console.support_access_grants (id, tenant_id, staff_id, staff_email, reason, ticket, expires)
         VALUES (gen_random_uuid(), $1, $2, 'support@penguin.test', 'ticket work', 'SUP-1', now() + interval '1 hour')",
    )
    .bind(uuid::Uuid::parse_str(ACME).unwrap())
    .bind(support.staff().user_id().unwrap().to_string())
    .execute(&c.oltp)
    .await
    .unwrap();
    let support_cache = p.dir.path().join("support.sqlite");
    p.sync_as(&support, &support_cache).await;
    let support_conn = cache::open_read(&support_cache).unwrap();
    let mut out = Vec::new();
    assert_eq!(import::export(&support_conn, support.staff(), ACME, &mut out).unwrap(), 5);
    let masked = String::from_utf8(out).unwrap();
    assert!(masked.lines().nth(1).unwrap().starts_with("a•••@•••.test,A. M.,owner,"), "{masked}");
    assert!(!masked.contains("alice@") && !masked.contains("Moreau"));

    // CLI: a dry run as an admin, JSON out, nothing written.
    let file = p.dir.path().join("team.csv");
    std::fs::write(&file, GOOD).unwrap();
    let profile = p.profile_path().to_string_lossy().to_string();
    let before = footprint(c).await;
    let args = |who: &str| {
        let mut v: Vec<String> = ["members", "import", "--profile", &profile, "--tenant", ACME, "--file"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend([file.to_string_lossy().to_string(), "--dry-run".into(), "--json".into(), "--as".into(), who.into()]);
        v
    };
    let o = cli().args(args("admin@staff.test")).env("PENGUIN_ADMIN_PASSWORD", "correct horse").output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["applied"], false);
    assert_eq!(report["plan"].as_array().unwrap().len(), 3);
    assert_eq!(report["plan"][2]["action"], "invite");
    assert_eq!(footprint(c).await, before);
    // As support: refused, with the permission named.
    let o = cli().args(args("support@staff.test")).env("PENGUIN_ADMIN_PASSWORD", "correct horse").output().unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("tenants.members.import"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Export as support from the CLI: masked.
    let cache_path = support_cache.to_string_lossy().to_string();
    let o = cli()
        .args([
            "members",
            "export",
            "--profile",
            &profile,
            "--tenant",
            ACME,
            "--cache",
            &cache_path,
            "--as",
            "support@staff.test",
        ])
        .env("PENGUIN_ADMIN_PASSWORD", "correct horse")
        .env("PENGUIN_ADMIN_CACHE_KEY", common::CACHE_KEY)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = String::from_utf8(o.stdout).unwrap();
    assert_eq!(csv.lines().count(), 6);
    assert!(csv.contains("b•••@•••.test,B. S.,member,Acme EU:admin;Acme US:viewer,locked"), "{csv}");
}
