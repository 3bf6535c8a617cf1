//! Bulk team import (every row validated first, preview, all-or-nothing apply) and the
//! team export, through the library and the `penguin-admin members` commands.
//! Fixture: tests/team/mod.rs.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
mod team;

use std::process::Command;

use common::Platform;
use penguin_admin::auth::ClientInfo;
use penguin_admin::cache;
use penguin_admin::central::Central;
use penguin_admin::members::import::{self, RowAction};
use penguin_admin::members::MemberError;
use penguin_admin::sync::{self, Cancel};
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

fn client() -> ClientInfo {
    ClientInfo::default()
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
    let before = footprint(c).await;
    let r = import::import(c, &staff("admin"), &client(), ACME, BAD, false).await.unwrap();
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
        let err = import::import(c, &staff(role), &client(), ACME, GOOD, true).await.unwrap_err();
        assert!(matches!(err, MemberError::Forbidden(_)), "{role}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_files_are_refused_with_what_to_do_and_nothing_is_written() {
    let p = platform().await;
    let c = &p.central;
    let admin = staff("admin");
    let before = footprint(c).await;
    let errors = |text: String| async move {
        let r = import::import(c, &staff("admin"), &client(), ACME, &text, false).await.unwrap();
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
    let ok = import::import(c, &admin, &client(), ACME, "email,name,tenant role\nyan@acme.test,Yan,member\n", false)
        .await
        .unwrap();
    assert!(ok.applied && ok.errors.is_empty(), "{:?}", ok.errors);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_then_apply_all_or_nothing() {
    let p = platform().await;
    let c = &p.central;
    let admin = staff("admin");
    let before = footprint(c).await;
    let preview = import::import(c, &admin, &client(), ACME, GOOD, true).await.unwrap();
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

    let done = import::import(c, &admin, &client(), ACME, GOOD, false).await.unwrap();
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

    // Importing the same file again changes nothing and writes nothing.
    let again = import::import(c, &admin, &client(), ACME, GOOD, false).await.unwrap();
    assert!(again.plan.iter().all(|p| p.action == RowAction::Unchanged), "{:?}", again.plan);
    assert_eq!(audit_entries(c).await, 1);
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
    sync::sync(&p.targets(), &p.cache_path(), None, &Cancel::default()).await.unwrap();
    let conn = cache::open_read(&p.cache_path()).unwrap();

    let mut out = Vec::new();
    assert_eq!(import::export(&conn, &staff("admin"), ACME, &mut out).unwrap(), 5);
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
    let back = import::import(c, &staff("admin"), &client(), ACME, &text, true).await.unwrap();
    assert!(back.errors.is_empty(), "{:?}", back.errors);
    assert!(back.plan.iter().all(|p| p.action == RowAction::Unchanged), "{:?}", back.plan);

    // Support gets the same file masked.
    let mut out = Vec::new();
    import::export(&conn, &staff("support"), ACME, &mut out).unwrap();
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
    let cache_path = p.cache_path().to_string_lossy().to_string();
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
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = String::from_utf8(o.stdout).unwrap();
    assert_eq!(csv.lines().count(), 6);
    assert!(csv.contains("b•••@•••.test,B. S.,member,Acme EU:admin;Acme US:viewer,locked"), "{csv}");
}
