//! The OLAP database: monthly `billing_analytics` per tenant, daily
//! `campaign_analytics` for the last 14 days (declining workspaces show bounces and
//! complaints rising and opens falling), `mailbox_analytics` per mailbox,
//! `warmup_analytics` per warming mailbox, and the staff's `admin_audit_log` history.
//! `lead_analytics` and `sequence_step_analytics` stay empty.

use chrono::{Datelike, Months, TimeZone, Utc};
use serde_json::{json, Value};
use sqlx::postgres::PgConnection;

use super::copy::Copier;
use super::payments::PaymentFacts;
use super::queue::{QueueFacts, PAUSED_HOURS, PAUSED_QUEUE};
use super::random::{
    alnum, between, chance, days, hours, minutes, pick, real, seconds, stream, time_between, weighted, Rng, Ts,
};
use super::workspaces::workspace_accounts;
use super::world::{streams, Role, World};
use super::{Ctx, SeedError};

/// Writes the OLAP database.
pub(super) async fn write(
    conn: &mut PgConnection,
    world: &World,
    ctx: &mut Ctx<'_>,
    payments: &PaymentFacts,
    jobs: &QueueFacts,
) -> Result<(), SeedError> {
    let rng = &mut stream(world.seed, streams::OLAP);
    write_billing(conn, world, ctx, rng).await?;
    write_campaigns(conn, world, ctx, rng).await?;
    write_mailboxes(conn, world, ctx, rng).await?;
    write_audit(conn, world, ctx, payments, jobs).await
}

/// Rounds `x` up or down at random in proportion to its fraction, so small expected
/// counts (0.3 complaints a day) still add up right over many rows.
fn round_random(rng: &mut Rng, x: f64) -> i64 {
    let floor = x.floor();
    floor as i64 + i64::from(real(rng, 0.0, 1.0) < x - floor)
}

fn month_start(now: Ts, back: u32) -> Ts {
    let first = Utc
        .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .expect("the first of a month at midnight UTC exists");
    first.checked_sub_months(Months::new(back)).expect("within chrono's range")
}

async fn write_billing(
    conn: &mut PgConnection,
    world: &World,
    ctx: &mut Ctx<'_>,
    rng: &mut Rng,
) -> Result<(), SeedError> {
    let now = world.now;
    // Per-tenant usage totals.
    let mut usage = vec![[0i64; 5]; world.tenants.len()]; // mailboxes, domains, campaigns, leads, warmups
    for a in &world.accounts {
        usage[a.tenant][0] += 1;
        usage[a.tenant][4] += i64::from(a.status == "warming");
    }
    for d in &world.domains {
        usage[d.tenant][1] += 1;
    }
    for c in &world.campaigns {
        usage[c.tenant][2] += 1;
    }
    for l in &world.leads {
        usage[l.tenant][3] += 1;
    }
    let months: Vec<(Ts, Ts)> =
        (0..12).rev().map(|b| (month_start(now, b), month_start(now, b) + Months::new(1))).collect();
    let rows: u64 = world
        .tenants
        .iter()
        .map(|t| months.iter().filter(|(s, e)| t.created < *e && t.deleted.is_none_or(|d| d > *s)).count() as u64)
        .sum();
    let cols = "tenant_id, subscription_id, emails_sent, mailboxes_used, domains_used, campaigns_used, leads_used, \
                warmups_active, period_start, period_end, updated";
    let mut c = Copier::start(conn, ctx.progress, "olap.billing_analytics", cols, rows).await?;
    for (ti, t) in world.tenants.iter().enumerate() {
        let per_mailbox_day = if t.plan == 0 { 5.0 } else { real(rng, 15.0, 40.0) };
        for (m, &(start, end)) in months.iter().enumerate() {
            if !(t.created < end && t.deleted.is_none_or(|d| d > start)) {
                continue;
            }
            let growth = 0.6 + 0.4 * (m as f64 + 1.0) / 12.0;
            let span_end = end.min(now).min(t.deleted.unwrap_or(end));
            let active_days = (span_end - start.max(t.created)).num_seconds().max(0) as f64 / 86_400.0;
            let u = usage[ti];
            let scaled = |v: i64| ((v as f64 * growth).round() as i64).max(i64::from(v > 0));
            let sent = (u[0] as f64 * growth * per_mailbox_day * active_days * real(rng, 0.85, 1.15)).round() as i64;
            let sub = t
                .subscriptions
                .clone()
                .rev()
                .map(|si| &world.subscriptions[si])
                .find(|s| s.created() < end && s.until.is_none_or(|u| u > start));
            let updated = if end > now { now - minutes(between(rng, 5, 120)) } else { end + hours(2) };
            c.text(&t.id.to_string()).opt_text(sub.map(|s| s.id.to_string()).as_deref()).int(sent);
            c.int(scaled(u[0])).int(scaled(u[1])).int(scaled(u[2])).int(scaled(u[3])).int(scaled(u[4]));
            c.ts(start).ts(end).ts(updated);
            c.end().await?;
        }
    }
    c.finish(&mut ctx.rows).await?;
    Ok(())
}

/// Daily engagement rates of a campaign.
struct Rates {
    bounce: f64,
    complaint: f64,
    open: f64,
    click: f64,
    reply: f64,
    unsub: f64,
}

fn rates(rng: &mut Rng, declining: bool, progress: f64) -> Rates {
    if declining {
        Rates {
            bounce: 0.02 + 0.10 * progress + real(rng, -0.004, 0.004),
            complaint: 0.0005 + 0.006 * progress,
            open: (0.45 - 0.30 * progress + real(rng, -0.02, 0.02)).max(0.05),
            click: real(rng, 0.05, 0.10),
            reply: (0.03 - 0.02 * progress).max(0.002),
            unsub: 0.005 + 0.01 * progress,
        }
    } else {
        Rates {
            bounce: real(rng, 0.008, 0.03),
            complaint: real(rng, 0.0001, 0.0008),
            open: real(rng, 0.35, 0.55),
            click: real(rng, 0.06, 0.12),
            reply: real(rng, 0.01, 0.05),
            unsub: real(rng, 0.002, 0.01),
        }
    }
}

/// Engagement counts for `sent` emails: delivered ≤ sent, opened ≤ delivered, clicked ≤ opened.
struct Counts {
    sent: i64,
    delivered: i64,
    opened: i64,
    clicked: i64,
    replied: i64,
    bounced: i64,
    unsubscribed: i64,
    complaints: i64,
}

fn counts(rng: &mut Rng, sent: i64, r: &Rates) -> Counts {
    let bounced = round_random(rng, sent as f64 * r.bounce).clamp(0, sent);
    let delivered = sent - bounced;
    let opened = round_random(rng, delivered as f64 * r.open).clamp(0, delivered);
    let clicked = round_random(rng, opened as f64 * r.click).clamp(0, opened);
    let replied = round_random(rng, delivered as f64 * r.reply).clamp(0, delivered);
    let unsubscribed = round_random(rng, delivered as f64 * r.unsub).clamp(0, delivered);
    let complaints = round_random(rng, delivered as f64 * r.complaint).clamp(0, delivered);
    Counts { sent, delivered, opened, clicked, replied, bounced, unsubscribed, complaints }
}

fn push_counts(c: &mut Copier<'_>, k: &Counts) {
    c.int(k.sent)
        .int(k.delivered)
        .int(k.opened)
        .int(k.clicked)
        .int(k.replied)
        .int(k.bounced)
        .int(k.unsubscribed)
        .int(k.complaints);
}

async fn write_campaigns(
    conn: &mut PgConnection,
    world: &World,
    ctx: &mut Ctx<'_>,
    rng: &mut Rng,
) -> Result<(), SeedError> {
    let now = world.now;
    let today =
        Utc.with_ymd_and_hms(now.year(), now.month(), now.day(), 0, 0, 0).single().expect("midnight UTC exists");
    let day_starts: Vec<Ts> = (0..14).map(|i| today - days(13 - i)).collect();
    let active_days = |k: &super::world::Campaign| {
        let (Some(s), true) = (k.scheduled, matches!(k.status, "sending" | "completed")) else { return 0..0 };
        let first = day_starts.iter().position(|d| *d + days(1) > s).unwrap_or(14);
        let last = k.completed.map_or(14, |c| day_starts.iter().position(|d| *d > c).unwrap_or(14));
        first..last.max(first)
    };
    let rows: u64 = world.campaigns.iter().map(|k| active_days(k).len() as u64).sum();
    let cols = "campaign_id, company_id, sent, delivered, opened_tracked, clicked_tracked, replied, bounced, \
                unsubscribed, spam_complaints, status, completed_leads, updated";
    let mut c = Copier::start(conn, ctx.progress, "olap.campaign_analytics", cols, rows).await?;
    for k in &world.campaigns {
        let range = active_days(k);
        if range.is_empty() {
            continue;
        }
        let w = &world.workspaces[k.workspace];
        let mailboxes = workspace_accounts(world, k.workspace).len().max(1) as i64;
        let base = between(rng, 20, 60) * mailboxes.min(20);
        let (campaign_id, company_id) = (k.id.to_string(), w.id.to_string());
        for i in range {
            let day = day_starts[i];
            let weekend = matches!(day.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun);
            let mut sent = (base as f64 * real(rng, 0.8, 1.2) * if weekend { 0.35 } else { 1.0 }).round() as i64;
            if day + days(1) > now {
                // Today so far.
                sent = (sent as f64 * (now - day).num_seconds() as f64 / 86_400.0).round() as i64;
            }
            let r = rates(rng, w.declining, i as f64 / 13.0);
            let n = counts(rng, sent, &r);
            c.text(&campaign_id).text(&company_id);
            push_counts(&mut c, &n);
            let updated = (day + days(1) - seconds(1)).min(now);
            c.text(k.status).int(round_random(rng, n.delivered as f64 * 0.04)).ts(updated);
            c.end().await?;
        }
    }
    c.finish(&mut ctx.rows).await?;
    Ok(())
}

async fn write_mailboxes(
    conn: &mut PgConnection,
    world: &World,
    ctx: &mut Ctx<'_>,
    rng: &mut Rng,
) -> Result<(), SeedError> {
    let now = world.now;
    let sending: Vec<bool> = world
        .workspaces
        .iter()
        .map(|w| world.campaigns[w.campaigns.clone()].iter().any(|k| k.status == "sending"))
        .collect();
    let cols =
        "mailbox_id, company_id, sent, delivered, opened_tracked, clicked_tracked, replied, bounced, unsubscribed, \
                spam_complaints, warmup_status, health_score, current_volume, campaign_status, updated";
    let mut c = Copier::start(conn, ctx.progress, "olap.mailbox_analytics", cols, world.accounts.len() as u64).await?;
    for a in &world.accounts {
        let w = &world.workspaces[a.workspace];
        let sent = (a.daily_count as f64 * 30.0 * real(rng, 0.7, 1.1)).round() as i64;
        let r = rates(rng, w.declining, 0.8);
        let n = counts(rng, sent, &r);
        let warmup = match a.status {
            "warming" => "warming",
            "active" => "warmed",
            "error" => "error",
            _ => "paused",
        };
        let health = match (a.status, w.declining) {
            ("error", _) => between(rng, 10, 40),
            (_, true) => between(rng, 25, 55),
            ("warming", _) => between(rng, 50, 80),
            ("paused", _) => between(rng, 60, 90),
            _ => between(rng, 72, 98),
        };
        c.text(&a.id.to_string()).text(&w.id.to_string());
        push_counts(&mut c, &n);
        c.text(warmup).int(health).int(a.daily_count).text(if sending[a.workspace] { "active" } else { "idle" });
        c.ts(now - minutes(between(rng, 5, 360)));
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;

    let warming: Vec<_> = world.accounts.iter().filter(|a| a.status == "warming").collect();
    let cols =
        "mailbox_id, company_id, sent, delivered, opened_tracked, clicked_tracked, replied, bounced, unsubscribed, \
                spam_complaints, health_score, progress_percentage, updated";
    let mut c = Copier::start(conn, ctx.progress, "olap.warmup_analytics", cols, warming.len() as u64).await?;
    for a in warming {
        let w = &world.workspaces[a.workspace];
        let day = between(rng, 1, 21);
        let sent: i64 = (1..=day).map(|d| 2 + d * 2).sum();
        let r = Rates {
            bounce: 0.002,
            complaint: 0.0,
            open: real(rng, 0.6, 0.9),
            click: 0.05,
            reply: real(rng, 0.2, 0.4),
            unsub: 0.0,
        };
        let n = counts(rng, sent, &r);
        c.text(&a.id.to_string()).text(&w.id.to_string());
        push_counts(&mut c, &n);
        c.int(between(rng, 45, 90).min(40 + day * 3))
            .int((day * 100 / 21).min(100))
            .ts(now - minutes(between(rng, 5, 360)));
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;
    Ok(())
}

/// One audit entry before it is written.
struct Entry {
    at: Ts,
    staff: usize,
    action: &'static str,
    resource_type: &'static str,
    resource_id: String,
    tenant: String,
    old: Option<Value>,
    new: Option<Value>,
    notes: Option<String>,
    classification: &'static str,
    retention: &'static str,
}

/// `tenant_id` of platform-wide actions (the column is NOT NULL).
const PLATFORM: &str = "platform";

async fn write_audit(
    conn: &mut PgConnection,
    world: &World,
    ctx: &mut Ctx<'_>,
    payments: &PaymentFacts,
    jobs: &QueueFacts,
) -> Result<(), SeedError> {
    let rng = &mut stream(world.seed, streams::AUDIT);
    let entries = audit_entries(world, rng, payments, jobs);
    let user_agents = [
        "PenguinMails Admin Console/0.1.0 (Macintosh; macOS 14.6)",
        "PenguinMails Admin Console/0.1.0 (Windows NT 10.0; x64)",
        "PenguinMails Admin Console/0.1.0 (X11; Linux x86_64)",
        "penguin-admin/0.1.0 (cli; Linux x86_64)",
    ];
    let cols = "creation_time, admin_user_id, action, resource_type, resource_id, tenant_id, old_values, new_values, \
                ip_address, user_agent, notes, metadata, data_classification, retention_category";
    let mut c = Copier::start(conn, ctx.progress, "olap.admin_audit_log", cols, entries.len() as u64).await?;
    for e in &entries {
        let s = &world.staff[e.staff];
        let ip = format!("198.51.100.{}", 200 + e.staff);
        let metadata = json!({ "source": "admin-console", "request_id": format!("req_{}", alnum(rng, 16)) });
        c.ts(e.at)
            .text(&s.user_id.to_string())
            .text(e.action)
            .text(e.resource_type)
            .text(&e.resource_id)
            .text(&e.tenant);
        c.opt_json(e.old.as_ref()).opt_json(e.new.as_ref()).text(&ip).text(user_agents[e.staff % user_agents.len()]);
        c.opt_text(e.notes.as_deref()).json(&metadata).text(e.classification).text(e.retention);
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;
    Ok(())
}

/// `300 × scale` entries over the last 90 days, in time order: refunds and job retries
/// taken from what was actually written, the pause of the paused queue, and a mix of
/// member, subscription, support-access and infrastructure actions.
fn audit_entries(world: &World, rng: &mut Rng, payments: &PaymentFacts, jobs: &QueueFacts) -> Vec<Entry> {
    let now = world.now;
    let total = world.per_scale(300) as usize;
    let staff = |role: &str| world.staff.iter().position(|s| s.role == role).unwrap_or(0);
    let (admin, finance, ops, support, qa, root) =
        (staff("admin"), staff("finance"), staff("ops"), staff("support"), staff("qa"), staff("super_admin"));
    let mut out: Vec<Entry> = Vec::with_capacity(total);
    let base = |at, staff, action, resource_type, resource_id: String, tenant: String| Entry {
        at,
        staff,
        action,
        resource_type,
        resource_id,
        tenant,
        old: None,
        new: None,
        notes: None,
        classification: "internal",
        retention: "standard",
    };

    out.push(Entry {
        old: Some(json!({ "is_active": true })),
        new: Some(json!({ "is_active": false })),
        notes: Some("Paused while investigating a Spamhaus listing on low-priority IPs".into()),
        ..base(now - hours(PAUSED_HOURS), ops, "queue.paused", "job_queue", PAUSED_QUEUE.into(), PLATFORM.into())
    });
    for f in payments.refunds.iter().filter(|f| f.created < now - hours(2)).take(total / 10) {
        let at = time_between(rng, f.created + hours(1), (f.created + days(3)).min(now - minutes(10)));
        let amount = format!("{}.{:02}", f.cents / 100, f.cents % 100);
        out.push(Entry {
            old: Some(json!({ "status": "succeeded" })),
            new: Some(json!({ "status": "refunded", "amount": amount, "currency": f.currency })),
            notes: chance(rng, 0.5)
                .then(|| format!("Customer request, support ticket #{}", between(rng, 40_000, 99_999))),
            classification: "confidential",
            retention: "financial",
            ..base(at, finance, "payment.refunded", "payment", f.id.to_string(), world.tenants[f.tenant].id.to_string())
        });
    }
    for j in jobs.retried.iter().take(total * 8 / 100) {
        let at = j.at - minutes(between(rng, 1, 30));
        let tenant = j.tenant.map_or_else(|| PLATFORM.to_string(), |t| world.tenants[t].id.to_string());
        out.push(Entry {
            old: Some(json!({ "status": "failed", "last_error_message": j.error })),
            new: Some(json!({ "status": "queued" })),
            ..base(at, ops, "queue.job.retried", "job", j.id.to_string(), tenant)
        });
    }

    let active_members: Vec<usize> = (0..world.memberships.len())
        .filter(|&m| world.memberships[m].deleted.is_none() && world.memberships[m].role != Role::Owner)
        .collect();
    let history: Vec<usize> =
        world.tenants.iter().filter(|t| t.subscriptions.len() > 1).map(|t| t.subscriptions.end - 1).collect();
    let canceled: Vec<usize> =
        (0..world.subscriptions.len()).filter(|&s| world.subscriptions[s].status == "canceled").collect();
    let suspended: Vec<usize> =
        (0..world.workspaces.len()).filter(|&w| world.workspaces[w].status == "suspended").collect();
    let quarantined: Vec<usize> = (0..world.ips.len()).filter(|&i| world.ips[i].status == "quarantined").collect();
    let sandboxes: Vec<usize> = (0..world.tenants.len()).filter(|&t| world.tenants[t].sandbox).collect();
    let flags = ["ai_subject_lines", "smart_send_windows", "bulk_lead_import_v2", "reply_classifier"];

    while out.len() < total {
        let at = time_between(rng, now - days(90), now - minutes(10));
        let pick_of = |rng: &mut Rng, v: &[usize]| (!v.is_empty()).then(|| *pick(rng, v));
        let any_tenant = |rng: &mut Rng| {
            (!world.tenants.is_empty()).then(|| between(rng, 0, world.tenants.len() as i64 - 1) as usize)
        };
        let kind = weighted(
            rng,
            &[
                (0, 22),
                (1, 5),
                (2, 5),
                (3, 4),
                (4, 6),
                (5, 3),
                (6, 12),
                (7, 4),
                (8, 4),
                (9, 3),
                (10, 2),
                (11, 12),
                (12, 4),
            ],
        );
        let entry = match kind {
            0..=3 => pick_of(rng, &active_members).map(|m| {
                let ms = &world.memberships[m];
                let (tenant, user) = (world.tenants[ms.tenant].id.to_string(), world.users[ms.user].id.to_string());
                let who = if chance(rng, 0.3) { root } else { admin };
                let e = base(at, who, "", "tenant_user", user, tenant);
                match kind {
                    0 => {
                        let from = ms.role.as_str();
                        let to = if ms.role == Role::Admin { "member" } else { "admin" };
                        Entry {
                            action: "tenant.member.role_changed",
                            old: Some(json!({"roles": [from]})),
                            new: Some(json!({"roles": [to]})),
                            ..e
                        }
                    }
                    1 => Entry {
                        action: "tenant.member.removed",
                        old: Some(json!({"roles": [ms.role.as_str()]})),
                        classification: "confidential",
                        ..e
                    },
                    2 => Entry {
                        action: "tenant.member.unlocked",
                        old: Some(json!({"failed_attempts": 5, "locked_until": (at + minutes(15)).to_rfc3339()})),
                        new: Some(json!({"failed_attempts": 0, "locked_until": null})),
                        retention: "security",
                        ..e
                    },
                    _ => Entry {
                        action: "user.sessions.revoked",
                        resource_type: "user",
                        new: Some(json!({"revoked_sessions": between(rng, 1, 4)})),
                        retention: "security",
                        ..e
                    },
                }
            }),
            4 => any_tenant(rng).map(|t| {
                let (field, old, new) =
                    if chance(rng, 0.5) { ("max_login_attempts", 5, 3) } else { ("session_timeout_hours", 8, 12) };
                Entry {
                    old: Some(json!({ field: old })),
                    new: Some(json!({ field: new })),
                    ..base(
                        at,
                        admin,
                        "tenant.settings.updated",
                        "tenant",
                        world.tenants[t].id.to_string(),
                        world.tenants[t].id.to_string(),
                    )
                }
            }),
            5 => pick_of(rng, &suspended).map(|w| {
                let ws = &world.workspaces[w];
                Entry {
                    old: Some(json!({"status": "active"})),
                    new: Some(json!({"status": "suspended"})),
                    notes: Some("Suspended after repeated spam complaints".into()),
                    ..base(
                        at,
                        admin,
                        "workspace.suspended",
                        "company",
                        ws.id.to_string(),
                        world.tenants[ws.tenant].id.to_string(),
                    )
                }
            }),
            6 => pick_of(rng, &history).map(|s| {
                let sub = &world.subscriptions[s];
                let prev = &world.subscriptions[s - 1];
                Entry {
                    old: Some(json!({"plan": world.plans[prev.plan].spec.slug})),
                    new: Some(json!({"plan": world.plans[sub.plan].spec.slug})),
                    classification: "confidential",
                    retention: "financial",
                    ..base(
                        at,
                        finance,
                        "subscription.plan_changed",
                        "subscription",
                        sub.id.to_string(),
                        world.tenants[sub.tenant].id.to_string(),
                    )
                }
            }),
            7 => pick_of(rng, &canceled).map(|s| {
                let sub = &world.subscriptions[s];
                Entry {
                    old: Some(json!({"status": "active"})),
                    new: Some(json!({"status": "canceled", "cancel_reason": sub.cancel_reason})),
                    classification: "confidential",
                    retention: "financial",
                    ..base(
                        at,
                        finance,
                        "subscription.canceled",
                        "subscription",
                        sub.id.to_string(),
                        world.tenants[sub.tenant].id.to_string(),
                    )
                }
            }),
            8 => pick_of(rng, &history).map(|s| {
                let t = &world.tenants[world.subscriptions[s].tenant];
                Entry {
                    new: Some(json!({"sent_to": format!("billing@{}", t.domain)})),
                    retention: "financial",
                    ..base(at, finance, "invoice.resent", "invoice", format!("in_{}", alnum(rng, 24)), t.id.to_string())
                }
            }),
            9 => pick_of(rng, &quarantined).map(|i| Entry {
                old: Some(json!({"status": "degraded"})),
                new: Some(json!({"status": "quarantined"})),
                ..base(at, ops, "smtp_ip.quarantined", "smtp_ip_address", world.ips[i].id.to_string(), PLATFORM.into())
            }),
            10 => {
                let flag = *pick(rng, &flags);
                let from = between(rng, 0, 5) * 10;
                Some(Entry {
                    old: Some(json!({"rollout_percentage": from})),
                    new: Some(json!({"rollout_percentage": from + 15})),
                    ..base(at, root, "feature_flag.updated", "feature_flag", flag.into(), PLATFORM.into())
                })
            }
            11 => any_tenant(rng).map(|t| {
                let id = world.tenants[t].id.to_string();
                Entry {
                    new: Some(json!({"mode": "read_only", "duration_minutes": 30})),
                    notes: Some(format!("Support ticket #{}", between(rng, 40_000, 99_999))),
                    ..base(at, support, "tenant.viewed_as", "tenant", id.clone(), id)
                }
            }),
            _ => pick_of(rng, &sandboxes).map(|t| {
                let id = world.tenants[t].id.to_string();
                Entry {
                    new: Some(json!({"reset": ["campaigns", "leads", "analytics"]})),
                    ..base(at, qa, "sandbox.reset", "tenant", id.clone(), id)
                }
            }),
        };
        if let Some(e) = entry {
            out.push(e);
        }
    }
    out.truncate(total);
    out.sort_by_key(|e| e.at);
    out
}
