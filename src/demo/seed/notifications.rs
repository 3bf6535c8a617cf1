//! The notifications database: `1,000 × scale` tenant-facing `notifications` (campaign,
//! billing, domain, warmup, team and quota messages) and `100 × scale`
//! `admin_system_events` drawn from what the other databases contain — failed and
//! stuck jobs, blacklisted IPs, failed payments, declining workspaces, the paused
//! queue's backlog — most older ones resolved by the ops staff account.

use serde_json::json;
use sqlx::postgres::PgConnection;

use super::copy::Copier;
use super::payments::PaymentFacts;
use super::queue::{QueueFacts, PAUSED_HOURS, PAUSED_QUEUE};
use super::random::{between, chance, days, hours, minutes, pick, stream, time_between, uuid, weighted, Rng, Ts};
use super::world::{streams, World};
use super::{Ctx, SeedError};

/// Writes the notifications database.
pub(super) async fn write(
    conn: &mut PgConnection,
    world: &World,
    ctx: &mut Ctx<'_>,
    payments: &PaymentFacts,
    jobs: &QueueFacts,
) -> Result<(), SeedError> {
    write_notifications(conn, world, ctx).await?;
    write_events(conn, world, ctx, payments, jobs).await
}

async fn write_notifications(conn: &mut PgConnection, world: &World, ctx: &mut Ctx<'_>) -> Result<(), SeedError> {
    let rng = &mut stream(world.seed, streams::NOTIFICATIONS);
    let now = world.now;
    let live: Vec<usize> = (0..world.memberships.len())
        .filter(|&m| {
            world.memberships[m].deleted.is_none() && world.tenants[world.memberships[m].tenant].deleted.is_none()
        })
        .collect();
    let n = if live.is_empty() { 0 } else { world.per_scale(1_000) };
    let cols =
        "id, user_id, tenant_id, type, title, message, channel, is_read, created_at, read_at, expires_at, deleted_at";
    let mut c = Copier::start(conn, ctx.progress, "notifications.notifications", cols, n).await?;
    for _ in 0..n {
        let m = &world.memberships[*pick(rng, &live)];
        let t = &world.tenants[m.tenant];
        let user = (!chance(rng, 0.05)).then(|| world.users[m.user].id);
        let created = time_between(rng, (now - days(60)).max(m.created), now - minutes(1));
        let (kind, title, message) = notification_text(world, rng, m.tenant);
        let channel = weighted(rng, &[("in_app", 60), ("email", 30), ("push", 10)]);
        let read = chance(rng, 0.65);
        let read_at = read.then(|| time_between(rng, created, (created + days(3)).min(now)));
        let expires = chance(rng, 0.5).then(|| created + days(90));
        let deleted = chance(rng, 0.03).then(|| time_between(rng, created, now));
        c.uuid(uuid(rng)).opt_uuid(user).uuid(t.id).text(kind).text(&title).text(&message).text(channel).bool(read);
        c.ts(created).opt_ts(read_at).opt_ts(expires).opt_ts(deleted);
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;
    Ok(())
}

fn notification_text(world: &World, rng: &mut Rng, ti: usize) -> (&'static str, String, String) {
    let t = &world.tenants[ti];
    let ws = &world.workspaces[t.workspaces.start + between(rng, 0, t.workspaces.len() as i64 - 1).max(0) as usize];
    let campaign = world.campaigns.get(ws.campaigns.start).map_or("your campaign", |c| c.name.as_str());
    let domain = world.domains.get(ws.domains.start).map_or(t.domain.as_str(), |d| d.name.as_str());
    let mailbox = world
        .domains
        .get(ws.domains.start)
        .and_then(|d| world.accounts.get(d.accounts.start))
        .map_or("a mailbox", |a| a.email.as_str());
    match between(rng, 0, 7) {
        0 => (
            "campaign.completed",
            "Campaign completed".into(),
            format!("“{campaign}” finished sending to {} leads.", between(rng, 20, 900)),
        ),
        1 => (
            "billing.payment_failed",
            "Payment failed".into(),
            "We couldn't charge your card. Update your payment method to avoid interruption.".into(),
        ),
        2 => (
            "domain.verification_failed",
            "Domain verification failed".into(),
            format!("{domain}: the DKIM record does not match. Check your DNS settings."),
        ),
        3 => {
            ("mailbox.warmup_completed", "Warmup complete".into(), format!("{mailbox} is warmed up and ready to send."))
        }
        4 => {
            let given = world.users[world.memberships[t.members.start].user].given;
            (
                "team.member_joined",
                "New team member".into(),
                format!("A new member joined {} (invited by {given})", t.name),
            )
        }
        5 => (
            "quota.warning",
            "Approaching your email limit".into(),
            format!("You've used {}% of this month's sends.", between(rng, 80, 99)),
        ),
        6 => (
            "campaign.high_bounce_rate",
            "High bounce rate".into(),
            format!("“{campaign}” has a bounce rate of {}.{}%.", between(rng, 6, 14), between(rng, 0, 9)),
        ),
        _ => (
            "security.new_login",
            "New sign-in".into(),
            format!(
                "New sign-in from {}.",
                pick(rng, &["Chrome on macOS", "Firefox on Windows", "Safari on iPhone", "Edge on Windows"])
            ),
        ),
    }
}

/// One system event before it is written.
struct Event {
    at: Ts,
    kind: &'static str,
    severity: &'static str,
    description: String,
    details: serde_json::Value,
    tenant: Option<uuid::Uuid>,
    user: Option<uuid::Uuid>,
    /// Open forever (stuck jobs, the paused queue) regardless of age.
    sticky: bool,
}

async fn write_events(
    conn: &mut PgConnection,
    world: &World,
    ctx: &mut Ctx<'_>,
    payments: &PaymentFacts,
    jobs: &QueueFacts,
) -> Result<(), SeedError> {
    let rng = &mut stream(world.seed, streams::SYSTEM_EVENTS);
    let now = world.now;
    let total = world.per_scale(100) as usize;
    let tenant_id = |t: Option<usize>| t.map(|t| world.tenants[t].id);
    let mut events: Vec<Event> = Vec::with_capacity(total);

    for j in jobs.stuck.iter().take(total / 4) {
        events.push(Event {
            at: j.at + minutes(60),
            kind: "stuck_job",
            severity: "high",
            description: format!("Job {} in {} has been running for more than 60 minutes", j.id, j.queue),
            details: json!({ "job_id": j.id, "queue": j.queue, "threshold_minutes": 60 }),
            tenant: tenant_id(j.tenant),
            user: None,
            sticky: true,
        });
    }
    events.push(Event {
        at: now - hours(PAUSED_HOURS) + minutes(30),
        kind: "queue_backlog",
        severity: "high",
        description: format!("Queue {PAUSED_QUEUE} is paused and its backlog keeps growing"),
        details: json!({ "queue": PAUSED_QUEUE, "paused": true }),
        tenant: None,
        user: None,
        sticky: true,
    });

    let listed: Vec<usize> = (0..world.ips.len()).filter(|&i| !world.ips[i].listed_on.is_empty()).collect();
    let declining: Vec<usize> = (0..world.workspaces.len()).filter(|&w| world.workspaces[w].declining).collect();
    let failed_domains: Vec<usize> =
        (0..world.domains.len()).filter(|&d| world.domains[d].status == "failed").collect();
    while events.len() < total {
        let at = time_between(rng, now - days(30), now - minutes(2));
        let kind = weighted(rng, &[(0, 25), (1, 12), (2, 8), (3, 15), (4, 10), (5, 8), (6, 10), (7, 7), (8, 5)]);
        let event = match kind {
            0 if !jobs.failed.is_empty() => {
                let j = pick(rng, &jobs.failed);
                Some(Event {
                    at: j.at.max(now - days(7)),
                    kind: "job_failure",
                    severity: if j.queue.starts_with("email") { "medium" } else { "high" },
                    description: format!(
                        "Job {} in {} failed after all retries: {}",
                        j.id,
                        j.queue,
                        j.error.as_deref().unwrap_or("unknown error")
                    ),
                    details: json!({ "job_id": j.id, "queue": j.queue, "error": j.error }),
                    tenant: tenant_id(j.tenant),
                    user: None,
                    sticky: false,
                })
            }
            1 if !world.tenants.is_empty() => {
                let t = pick(rng, &world.tenants);
                let pct = if chance(rng, 0.5) { 100 } else { 90 };
                Some(Event {
                    at,
                    kind: "quota_reached",
                    severity: if pct == 100 { "medium" } else { "low" },
                    description: format!("{} reached {pct}% of its monthly email quota", t.name),
                    details: json!({ "quota": "max_emails_per_month", "percent": pct }),
                    tenant: Some(t.id),
                    user: None,
                    sticky: false,
                })
            }
            2 if !listed.is_empty() => {
                let ip = &world.ips[*pick(rng, &listed)];
                Some(Event {
                    at,
                    kind: "ip_blacklisted",
                    severity: if ip.reputation == "critical" { "critical" } else { "high" },
                    description: format!("SMTP IP {} is listed on {}", ip.ip, ip.listed_on.join(", ")),
                    details: json!({ "ip": ip.ip, "lists": ip.listed_on, "vps": world.vps[ip.vps].instance_id, "status": ip.status }),
                    tenant: None,
                    user: None,
                    sticky: false,
                })
            }
            3 if !payments.failures.is_empty() => {
                let f = pick(rng, &payments.failures);
                let t = &world.tenants[f.tenant];
                Some(Event {
                    at: (f.created + minutes(1)).min(now),
                    kind: "payment_failed",
                    severity: "medium",
                    description: format!(
                        "Payment of {}.{:02} {} failed for {}: {}",
                        f.cents / 100,
                        f.cents % 100,
                        f.currency,
                        t.name,
                        f.decline.unwrap_or("card_declined")
                    ),
                    details: json!({ "payment_id": f.id, "decline_code": f.decline, "amount_cents": f.cents, "currency": f.currency }),
                    tenant: Some(t.id),
                    user: None,
                    sticky: false,
                })
            }
            4 if !declining.is_empty() => {
                let w = &world.workspaces[*pick(rng, &declining)];
                let rate = between(rng, 60, 140) as f64 / 10.0;
                Some(Event {
                    at: at.max(now - days(5)),
                    kind: "high_bounce_rate",
                    severity: "high",
                    description: format!("Workspace {} bounce rate {rate:.1}% (threshold 5%)", w.name),
                    details: json!({ "company_id": w.id, "bounce_rate": rate, "threshold": 5.0 }),
                    tenant: Some(world.tenants[w.tenant].id),
                    user: None,
                    sticky: false,
                })
            }
            5 if !failed_domains.is_empty() => {
                let d = &world.domains[*pick(rng, &failed_domains)];
                Some(Event {
                    at,
                    kind: "dns_verification_failed",
                    severity: "low",
                    description: format!("DNS verification failed for {}", d.name),
                    details: json!({ "domain_id": d.id, "domain": d.name }),
                    tenant: Some(world.tenants[d.tenant].id),
                    user: None,
                    sticky: false,
                })
            }
            6 if !world.vps.is_empty() => {
                let v = pick(rng, &world.vps);
                let (metric, lo, hi, threshold) =
                    *pick(rng, &[("cpu", 91, 99, 90), ("memory", 86, 97, 85), ("disk", 81, 95, 80)]);
                let value = between(rng, lo, hi);
                Some(Event {
                    at,
                    kind: "vps_resource_high",
                    severity: if value >= 95 { "critical" } else { "high" },
                    description: format!("{metric} at {value}% on {} ({})", v.instance_id, v.region),
                    details: json!({ "vps": v.instance_id, "metric": metric, "value": value, "threshold": threshold }),
                    tenant: None,
                    user: None,
                    sticky: false,
                })
            }
            7 if !world.memberships.is_empty() => {
                let m = pick(rng, &world.memberships);
                let u = &world.users[m.user];
                Some(Event {
                    at,
                    kind: "login_lockout",
                    severity: "medium",
                    description: format!("Account locked for 15 minutes after 5 failed sign-ins ({})", u.email),
                    details: json!({ "failed_attempts": 5, "lock_minutes": 15 }),
                    tenant: Some(world.tenants[m.tenant].id),
                    user: Some(u.id),
                    sticky: false,
                })
            }
            _ => Some(Event {
                at,
                kind: "sync_lag",
                severity: "low",
                description: "Analytics rollup finished later than its 02:00 UTC window".into(),
                details: json!({ "job": "analytics:daily-aggregate", "delay_minutes": between(rng, 15, 90) }),
                tenant: None,
                user: None,
                sticky: false,
            }),
        };
        if let Some(e) = event {
            events.push(e);
        }
    }
    events.truncate(total);
    events.sort_by_key(|e| e.at);

    let resolver = world.staff_with_role("ops").user_id;
    let cols = "created_at, event_type, severity, description, details, tenant_id, user_id, is_resolved, resolved_at, resolved_by";
    let mut c =
        Copier::start(conn, ctx.progress, "notifications.admin_system_events", cols, events.len() as u64).await?;
    for e in &events {
        let resolved = !e.sticky && chance(rng, if now - e.at > days(2) { 0.75 } else { 0.2 });
        let resolved_at = resolved.then(|| time_between(rng, e.at + minutes(10), (e.at + days(1)).min(now)).min(now));
        c.ts(e.at)
            .text(e.kind)
            .text(e.severity)
            .text(&e.description)
            .json(&e.details)
            .opt_uuid(e.tenant)
            .opt_uuid(e.user);
        c.bool(resolved).opt_ts(resolved_at).opt_uuid(resolved.then_some(resolver));
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;
    Ok(())
}
