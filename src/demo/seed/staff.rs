//! Platform staff and platform-wide settings: the six standard staff roles with their
//! default permissions, one demo account per role (bcrypt hash of
//! [`super::DEMO_PASSWORD`] as Nile stores it, `$2b$`, cost 10, salt drawn from the seed
//! so the hash is reproducible; the OLTP sign-in function verifies it with pgcrypto),
//! `system_config` and `feature_flags`.

use rand::Rng as _;
use serde_json::json;
use sqlx::postgres::PgConnection;

use super::copy::Copier;
use super::random::{alnum, between, days, hours, stream, time_between, uuid, Rng};
use super::world::{streams, Staff, World};
use super::{Ctx, SeedError, DEMO_PASSWORD};
use crate::auth::permissions::{ALL, STANDARD_ROLES};

/// Display names of the demo staff, by role.
const STAFF_NAMES: &[(&str, &str, &str)] = &[
    ("super_admin", "Maya", "Lindqvist"),
    ("admin", "Daniel", "Okafor"),
    ("finance", "Priya", "Raman"),
    ("ops", "Tom", "Becker"),
    ("support", "Aisha", "Khalil"),
    ("qa", "Kenji", "Sato"),
];

/// Creates the staff accounts (ids, names, password hashes).
pub(super) fn build(world: &mut World, rng: &mut Rng) -> Result<(), SeedError> {
    for (i, (role, _, _)) in STANDARD_ROLES.iter().enumerate() {
        let (given, family) =
            STAFF_NAMES.iter().find(|(r, _, _)| r == role).map_or(("Staff", "Member"), |(_, g, f)| (*g, *f));
        let email = format!("{role}@penguinmails.demo");
        let salt_bytes: [u8; 16] = rng.random();
        let crypt = bcrypt::hash_with_salt(DEMO_PASSWORD, 10, salt_bytes)
            .map(|h| h.format_for_version(bcrypt::Version::TwoB))
            .map_err(|e| SeedError::PasswordHash { email: email.clone(), reason: e.to_string() })?;
        let created = world.now - days(between(rng, 400, 700));
        world.staff.push(Staff {
            user_id: uuid(rng),
            role_id: i as i64 + 1,
            role,
            given,
            family,
            email,
            created,
            credential_id: uuid(rng),
            crypt,
        });
    }
    Ok(())
}

/// Writes roles, permissions, grants, staff members and their credentials.
pub(super) async fn write_staff(conn: &mut PgConnection, world: &World, ctx: &mut Ctx<'_>) -> Result<(), SeedError> {
    let epoch = world.staff.iter().map(|s| s.created).min().unwrap_or(world.now) - days(30);

    let mut c = Copier::start(
        conn,
        ctx.progress,
        "oltp.staff_roles",
        "id, name, description, created",
        STANDARD_ROLES.len() as u64,
    )
    .await?;
    for (i, (name, description, _)) in STANDARD_ROLES.iter().enumerate() {
        c.int(i as i64 + 1).text(name).text(description).ts(epoch);
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;

    let mut c = Copier::start(
        conn,
        ctx.progress,
        "oltp.permissions",
        "id, name, description, category, created",
        ALL.len() as u64,
    )
    .await?;
    for (i, p) in ALL.iter().enumerate() {
        c.int(i as i64 + 1).text(p.name).text(p.description).text(p.category).ts(epoch);
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;

    let members = world.staff.len() as u64;
    let mut c =
        Copier::start(conn, ctx.progress, "oltp.staff_members", "user_id, role_id, notes, created, updated", members)
            .await?;
    for s in &world.staff {
        let notes = format!("Demo {} account", s.role);
        c.uuid(s.user_id).int(s.role_id).text(&notes).ts(s.created).ts(s.created);
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;

    let grants: u64 = STANDARD_ROLES.iter().map(|(_, _, p)| p.len() as u64).sum();
    let mut c =
        Copier::start(conn, ctx.progress, "oltp.staff_role_permissions", "role_id, permission_id, created", grants)
            .await?;
    for (i, (_, _, perms)) in STANDARD_ROLES.iter().enumerate() {
        for p in perms.iter() {
            let Some(pid) = ALL.iter().position(|q| q.name == p.name) else { continue };
            c.int(i as i64 + 1).int(pid as i64 + 1).ts(epoch);
            c.end().await?;
        }
    }
    c.finish(&mut ctx.rows).await?;

    let mut c = Copier::start(
        conn,
        ctx.progress,
        "oltp.auth.credentials",
        "id, user_id, method, provider, payload, created, updated",
        members,
    )
    .await?;
    for s in &world.staff {
        c.uuid(s.credential_id).uuid(s.user_id).text("EMAIL_PASSWORD").text("nile");
        c.json(&json!({ "crypt": s.crypt })).ts(s.created).ts(s.created);
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;
    Ok(())
}

/// Writes `system_config` and `feature_flags`.
pub(super) async fn write_platform_config(
    conn: &mut PgConnection,
    world: &World,
    ctx: &mut Ctx<'_>,
) -> Result<(), SeedError> {
    let rng = &mut stream(world.seed, streams::PLATFORM_CONFIG);
    let admin = world.staff_with_role("super_admin").user_id;
    let ops = world.staff_with_role("ops").user_id;
    let account = format!("acct_{}", alnum(rng, 16));
    let config = [
        ("stripe_account_id", json!(account), "Stripe account the platform charges through", "billing", admin),
        ("default_timezone", json!("UTC"), "Timezone for new tenants", "general", admin),
        ("support_email", json!("support@penguinmails.com"), "Reply-to address of platform emails", "general", admin),
        ("queue_backlog_alert_threshold", json!(10_000), "Queued jobs before a backlog alert fires", "monitoring", ops),
        ("stuck_job_threshold_minutes", json!(60), "A running job older than this is stuck", "monitoring", ops),
        ("max_daily_sends_per_mailbox", json!(50), "Default daily sending cap per mailbox", "sending", admin),
        ("warmup_default_duration_days", json!(21), "Length of a new mailbox's warmup", "sending", admin),
        ("maintenance_mode", json!(false), "Show the maintenance banner to tenants", "general", ops),
    ];
    let mut c = Copier::start(
        conn,
        ctx.progress,
        "oltp.system_config",
        "key, value, description, category, is_sensitive, updated_by, updated",
        config.len() as u64,
    )
    .await?;
    for (key, value, description, category, by) in &config {
        let updated = time_between(rng, world.now - days(200), world.now - hours(2));
        c.text(key).json(value).text(description).text(category).bool(false).uuid(*by).ts(updated);
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;

    let flags: [(&str, &str, bool, i64); 8] = [
        ("ai_subject_lines", "AI-suggested subject lines in the campaign editor", true, 25),
        ("new_editor", "Block-based email editor", true, 100),
        ("smart_send_windows", "Send in each lead's local business hours", true, 50),
        ("warmup_v2", "Second-generation warmup scheduler", false, 0),
        ("bulk_lead_import_v2", "Streaming CSV lead import", true, 75),
        ("reply_classifier", "Classify replies as interested / not now / unsubscribe", true, 10),
        ("inbox_rotation", "Rotate sending across a workspace's mailboxes", true, 100),
        ("deliverability_dashboard", "Per-domain deliverability dashboard", false, 0),
    ];
    let mut c = Copier::start(
        conn,
        ctx.progress,
        "oltp.feature_flags",
        "id, key, description, is_enabled, rollout_percentage, updated_by, updated",
        flags.len() as u64,
    )
    .await?;
    for (key, description, enabled, rollout) in flags {
        let updated = time_between(rng, world.now - days(120), world.now - hours(1));
        c.uuid(uuid(rng)).text(key).text(description).bool(enabled).int(rollout).uuid(admin).ts(updated);
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;
    Ok(())
}
