//! Sending infrastructure: VPS instances in three regions, their SMTP IPs (about 10 %
//! in blacklist trouble: poor/critical reputation, degraded/burned/quarantined, listed
//! on Spamhaus or Barracuda) and the domain ↔ IP assignments. Addresses come from the
//! documentation ranges (203.0.113.0/24, 198.51.100.0/24, 192.0.2.0/24), then from the
//! benchmarking range 198.18.0.0/15 at large scales.

use serde_json::{Map, Value};
use sqlx::postgres::PgConnection;

use super::copy::Copier;
use super::random::{between, chance, days, hours, minutes, pick, stream, time_between, uuid, weighted, Rng};
use super::world::{Assignment, SmtpIp, Vps, World};
use super::{Ctx, SeedError};

const REGIONS: &[&str] = &["us-east", "us-west", "eu-central"];

/// Blocklists whose status every IP records.
pub(super) const BLOCKLISTS: &[&str] =
    &["zen.spamhaus.org", "b.barracudacentral.org", "bl.spamcop.net", "dnsbl.sorbs.net"];

/// The `index`-th address of the demo pool.
fn pool_ip(index: usize) -> String {
    const DOC: [&str; 3] = ["203.0.113", "198.51.100", "192.0.2"];
    const HOSTS: usize = 241; // .10 to .250
    if index < DOC.len() * HOSTS {
        format!("{}.{}", DOC[index / HOSTS], 10 + index % HOSTS)
    } else {
        let k = index - DOC.len() * HOSTS;
        format!("198.{}.{}.{}", 18 + k / 62_500, (k / 250) % 250, 1 + k % 250)
    }
}

/// Builds VPS instances, SMTP IPs and assignments (and each domain's IP list).
pub(super) fn build(world: &mut World, rng: &mut Rng) {
    let now = world.now;
    let n_vps = 4 + world.scale as usize;
    let mut next_ip = 0;
    for i in 0..n_vps {
        let status = if i < 4 {
            "active"
        } else {
            weighted(rng, &[("active", 80), ("provisioning", 8), ("scheduled_decommission", 8), ("decommissioned", 4)])
        };
        let created =
            if status == "provisioning" { now - hours(between(rng, 1, 20)) } else { now - days(between(rng, 60, 900)) };
        world.vps.push(Vps {
            id: uuid(rng),
            instance_id: format!("hw-{}", 5_000_000 + i * 1_117 + between(rng, 0, 1_000) as usize),
            ip: pool_ip(next_ip),
            region: REGIONS[i % REGIONS.len()],
            status,
            monthly_cents: *pick(rng, &[2_499, 3_999, 5_999, 8_999]),
            billing_day: between(rng, 1, 28) as u32,
            created,
            decommission: (status == "scheduled_decommission").then(|| now + days(between(rng, 3, 20))),
        });
        next_ip += 1;
        for _ in 0..between(rng, 4, 8) {
            let usable = matches!(status, "active" | "scheduled_decommission");
            let (ip_status, reputation) = if usable {
                let s = weighted(rng, &[("assigned", 50), ("warmed", 17), ("warming", 17), ("available", 16)]);
                (s, if chance(rng, 0.8) { "good" } else { "fair" })
            } else {
                ("available", "good")
            };
            world.ips.push(SmtpIp {
                id: uuid(rng),
                vps: i,
                ip: pool_ip(next_ip),
                status: ip_status,
                reputation,
                cost_cents: *pick(rng, &[300, 400, 500]),
                last_check: now - minutes(between(rng, 5, 360)),
                assigned_count: 0,
                listed_on: Vec::new(),
                created: time_between(rng, created, (created + days(30)).min(now - hours(1))),
            });
            next_ip += 1;
        }
    }
    // About 10 % of usable IPs are in blacklist trouble (at least one).
    let usable: Vec<usize> = (0..world.ips.len()).filter(|&i| world.ips[i].status != "available").collect();
    let troubled = ((usable.len() as f64 * 0.1).round() as usize).max(1).min(usable.len());
    for k in rand::seq::index::sample(rng, usable.len(), troubled) {
        let ip = &mut world.ips[usable[k]];
        ip.status = weighted(rng, &[("degraded", 50), ("burned", 25), ("quarantined", 25)]);
        ip.reputation = if ip.status == "degraded" { "poor" } else { "critical" };
        ip.listed_on.push(BLOCKLISTS[0]);
        if chance(rng, 0.5) {
            ip.listed_on.push(BLOCKLISTS[1 + between(rng, 0, 2) as usize]);
        }
    }
    build_assignments(world, rng, &usable);
}

fn build_assignments(world: &mut World, rng: &mut Rng, usable: &[usize]) {
    let now = world.now;
    if usable.is_empty() {
        return;
    }
    for d in 0..world.domains.len() {
        let n = if chance(rng, 0.07) { 2 } else { 1 };
        for _ in 0..n {
            let ip = *pick(rng, usable);
            if world.domains[d].ips.contains(&ip) {
                continue;
            }
            let domain = &world.domains[d];
            let (status, warmup) = if domain.status != "verified" {
                ("scheduled", "unwarmed")
            } else if world.ips[ip].status == "burned" {
                ("expired", "warmed")
            } else {
                weighted(rng, &[(("active", "warmed"), 78), (("warming", "warming"), 14), (("expired", "warmed"), 8)])
            };
            let assigned = time_between(rng, domain.created, (domain.created + days(2)).min(now - minutes(30)));
            let expires = match status {
                "expired" => Some(time_between(rng, assigned, now - hours(1))),
                "active" if chance(rng, 0.3) => Some(now + days(between(rng, 30, 365))),
                _ => None,
            };
            let last_sent = matches!(status, "active" | "warming").then(|| now - minutes(between(rng, 1, 360)));
            world.assignments.push(Assignment {
                id: uuid(rng),
                domain: d,
                ip,
                status,
                assigned,
                expires,
                warmup_state: warmup,
                last_sent,
            });
            if status != "expired" {
                world.ips[ip].assigned_count += 1;
            }
            world.domains[d].ips.push(ip);
        }
    }
}

/// Writes `vps_instances`, `smtp_ip_addresses` and `domain_ip_assignments`.
pub(super) async fn write(conn: &mut PgConnection, world: &World, ctx: &mut Ctx<'_>) -> Result<(), SeedError> {
    let rng = &mut stream(world.seed, super::world::streams::INFRA.wrapping_add(100));
    let now = world.now;
    let cols = "id, hostwinds_instance_id, ip_address, region, status, monthly_cost, approximate_cost, \
                hostwinds_billing_day, current_billing_period_start, current_billing_period_end, \
                decommission_scheduled_for, created, updated";
    let mut c = Copier::start(conn, ctx.progress, "oltp.vps_instances", cols, world.vps.len() as u64).await?;
    for (i, v) in world.vps.iter().enumerate() {
        let ip_costs: i64 = world.ips.iter().filter(|ip| ip.vps == i).map(|ip| ip.cost_cents).sum();
        let (start, end) = billing_period(now, v.billing_day);
        c.uuid(v.id).text(&v.instance_id).text(&v.ip).text(v.region).text(v.status).cents(v.monthly_cents);
        c.cents(v.monthly_cents + ip_costs).int(i64::from(v.billing_day)).ts(start).ts(end).opt_ts(v.decommission);
        c.ts(v.created).ts(time_between(rng, v.created, now));
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;

    let cols = "id, vps_instance_id, ip_address, status, reputation_state, approximate_cost, last_reputation_check, \
                assigned_count, provider_blacklist_status, created, updated";
    let mut c = Copier::start(conn, ctx.progress, "oltp.smtp_ip_addresses", cols, world.ips.len() as u64).await?;
    for ip in &world.ips {
        let mut lists = Map::new();
        for bl in BLOCKLISTS {
            let state = if ip.listed_on.contains(bl) { "listed" } else { "clean" };
            lists.insert((*bl).to_string(), Value::from(state));
        }
        c.uuid(ip.id).uuid(world.vps[ip.vps].id).text(&ip.ip).text(ip.status).text(ip.reputation).cents(ip.cost_cents);
        c.ts(ip.last_check).int(ip.assigned_count).json(&Value::Object(lists)).ts(ip.created).ts(ip.last_check);
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;

    let cols =
        "id, domain_id, smtp_ip_address_id, status, assigned, expires, warmup_state, last_sent, created, updated";
    let mut c =
        Copier::start(conn, ctx.progress, "oltp.domain_ip_assignments", cols, world.assignments.len() as u64).await?;
    for a in &world.assignments {
        c.uuid(a.id).uuid(world.domains[a.domain].id).uuid(world.ips[a.ip].id).text(a.status).ts(a.assigned);
        c.opt_ts(a.expires)
            .text(a.warmup_state)
            .opt_ts(a.last_sent)
            .ts(a.assigned)
            .ts(a.last_sent.unwrap_or(a.assigned));
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;
    Ok(())
}

/// The Hostwinds billing period containing `now` for a billing day of the month.
fn billing_period(now: super::random::Ts, day: u32) -> (super::random::Ts, super::random::Ts) {
    use chrono::{Datelike, Months, TimeZone, Utc};
    let this_month = Utc
        .with_ymd_and_hms(now.year(), now.month(), day.clamp(1, 28), 0, 0, 0)
        .single()
        .expect("day 1..=28 exists in every month");
    let start =
        if this_month <= now { this_month } else { this_month.checked_sub_months(Months::new(1)).expect("in range") };
    (start, start.checked_add_months(Months::new(1)).expect("in range"))
}
