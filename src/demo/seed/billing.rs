//! Plans, subscriptions (with upgrade/downgrade history, dunning and cancellations)
//! and add-ons. Every paying tenant has a current subscription; some have an older,
//! canceled one they upgraded or downgraded from; ~5 % have a downgrade scheduled
//! (`pending_plan_id`). The payments ledger built on them is in `payments`.

use chrono::Months;
use sqlx::postgres::PgConnection;

use super::copy::Copier;
use super::random::{alnum, between, chance, days, hours, minutes, pick, time_between, uuid, weighted, Rng, Ts};
use super::tenants::owner_of;
use super::world::{Addon, Plan, Subscription, World};
use super::{Ctx, SeedError};

/// A plan of the catalogue. Prices are integer cents.
pub(super) struct PlanSpec {
    pub name: &'static str,
    pub slug: &'static str,
    pub description: &'static str,
    pub monthly_cents: i64,
    pub yearly_cents: i64,
    /// max_users, max_domains, max_campaigns_per_month, api_rate_limit, max_email_accounts,
    /// max_emails_per_month, max_warmups, max_contacts, max_storage_gb (None = unlimited).
    pub limits: [Option<i64>; 9],
    /// api_access, priority_support, advanced_analytics, white_label.
    pub features: [bool; 4],
    pub notes: Option<&'static str>,
    pub active: bool,
    /// Metered price per 1,000 emails beyond the allowance, in cents.
    pub usage_cents_per_1k: i64,
    /// Relative payment frequency of a tenant on this plan.
    pub usage_factor: f64,
}

const FREE: usize = 0;
const STARTER: usize = 1;
const PRO: usize = 2;
pub(super) const ENTERPRISE: usize = 3;
const FOUNDER: usize = 4;

/// The catalogue: four public plans and one grandfathered, inactive one.
pub(super) static PLAN_SPECS: [PlanSpec; 5] = [
    PlanSpec {
        name: "Free",
        slug: "free",
        description: "Try PenguinMails with one mailbox",
        monthly_cents: 0,
        yearly_cents: 0,
        limits: [Some(1), Some(1), Some(2), Some(60), Some(2), Some(500), Some(1), Some(250), Some(1)],
        features: [false, false, false, false],
        notes: None,
        active: true,
        usage_cents_per_1k: 0,
        usage_factor: 0.0,
    },
    PlanSpec {
        name: "Starter",
        slug: "starter",
        description: "For founders and small sales teams",
        monthly_cents: 2_900,
        yearly_cents: 29_000,
        limits: [Some(3), Some(3), Some(20), Some(300), Some(10), Some(10_000), Some(5), Some(5_000), Some(5)],
        features: [false, false, false, false],
        notes: None,
        active: true,
        usage_cents_per_1k: 150,
        usage_factor: 1.0,
    },
    PlanSpec {
        name: "Pro",
        slug: "pro",
        description: "For growing outbound teams",
        monthly_cents: 9_900,
        yearly_cents: 99_000,
        limits: [Some(15), Some(15), Some(100), Some(1_000), Some(50), Some(100_000), Some(25), Some(50_000), Some(25)],
        features: [true, true, true, false],
        notes: None,
        active: true,
        usage_cents_per_1k: 100,
        usage_factor: 2.0,
    },
    PlanSpec {
        name: "Enterprise",
        slug: "enterprise",
        description: "For agencies and large sales organisations",
        monthly_cents: 49_900,
        yearly_cents: 499_000,
        limits: [None, Some(100), None, Some(5_000), Some(500), Some(1_000_000), Some(250), Some(1_000_000), Some(250)],
        features: [true, true, true, true],
        notes: Some("Custom limits negotiated per contract"),
        active: true,
        usage_cents_per_1k: 70,
        usage_factor: 3.5,
    },
    PlanSpec {
        name: "Founder",
        slug: "founder-2023",
        description: "Early-adopter plan (no longer sold)",
        monthly_cents: 4_900,
        yearly_cents: 49_000,
        limits: [Some(5), Some(10), Some(50), Some(600), Some(25), Some(50_000), Some(10), Some(25_000), Some(10)],
        features: [true, false, true, false],
        notes: Some("Grandfathered 2023 launch pricing; not offered to new customers"),
        active: false,
        usage_cents_per_1k: 120,
        usage_factor: 1.5,
    },
];

const CANCEL_REASONS: &[&str] = &[
    "Too expensive",
    "Switched to a competitor",
    "Project ended",
    "Missing features we need",
    "Company closed",
    "Deliverability below expectations",
    "Moving sending in-house",
    "Budget cuts",
];

/// Builds the plan catalogue.
pub(super) fn build_plans(world: &mut World, rng: &mut Rng) {
    for spec in &PLAN_SPECS {
        world.plans.push(Plan { id: uuid(rng), spec, stripe_product: format!("prod_{}", alnum(rng, 14)) });
    }
}

fn choose_plan(rng: &mut Rng, size: u32) -> usize {
    match size {
        0..=1 => weighted(rng, &[(FREE, 45), (STARTER, 45), (PRO, 10)]),
        2..=9 => weighted(rng, &[(FREE, 15), (STARTER, 50), (PRO, 25), (FOUNDER, 10)]),
        10..=49 => weighted(rng, &[(STARTER, 25), (PRO, 55), (ENTERPRISE, 10), (FOUNDER, 10)]),
        _ => weighted(rng, &[(PRO, 35), (ENTERPRISE, 65)]),
    }
}

fn step_months(annual: bool) -> u32 {
    if annual {
        12
    } else {
        1
    }
}

/// Largest `k` such that `anchor - k periods >= earliest`.
fn periods_back(anchor: Ts, earliest: Ts, annual: bool) -> i32 {
    let mut k = 0;
    while let Some(t) = anchor.checked_sub_months(Months::new(step_months(annual) * (k + 1))) {
        if t < earliest {
            break;
        }
        k += 1;
    }
    k as i32
}

/// Largest `k` such that `anchor + k periods <= t`.
fn periods_forward(anchor: Ts, t: Ts, annual: bool) -> i32 {
    let mut k = 0;
    while let Some(next) = anchor.checked_add_months(Months::new(step_months(annual) * (k + 1))) {
        if next > t {
            break;
        }
        k += 1;
    }
    k as i32
}

/// Builds subscriptions and add-ons for every paying tenant.
pub(super) fn build_subscriptions(world: &mut World, rng: &mut Rng) {
    let now = world.now;
    for ti in 0..world.tenants.len() {
        let (size, sandbox, created, deleted) = {
            let t = &world.tenants[ti];
            (t.size, t.sandbox, t.created, t.deleted)
        };
        let plan = if sandbox { FREE } else { choose_plan(rng, size) };
        world.tenants[ti].plan = plan;
        let start = world.subscriptions.len();
        if plan == FREE {
            world.tenants[ti].subscriptions = start..start;
            continue;
        }
        let contact = owner_of(world, ti);
        let annual = plan != FOUNDER && chance(rng, 0.25);
        let earliest = created + days(between(rng, 0, 14)) + minutes(between(rng, 0, 600));
        let status = if deleted.is_some() {
            "canceled"
        } else {
            weighted(rng, &[("active", 80), ("past_due", 7), ("canceled", 10), ("unpaid", 3)])
        };
        let period_days = if annual { 365 } else { 30 };
        let mut sub = Subscription {
            id: uuid(rng),
            tenant: ti,
            plan,
            pending_plan: None,
            status,
            annual,
            anchor: now,
            k_min: 0,
            k_max: 0,
            until: None,
            cancel_at_period_end: false,
            cancel_reason: None,
            cancel_date: None,
            contact,
            stripe_id: format!("sub_{}", alnum(rng, 24)),
            failed_renewals: 0,
        };
        // Earlier plans: Pro and Enterprise tenants mostly upgraded, Starter ones downgraded.
        let history_chance = match plan {
            STARTER => 0.12,
            PRO | ENTERPRISE => 0.3,
            _ => 0.0,
        };
        let history = status == "active" && now - earliest > days(120) && chance(rng, history_chance);
        if history {
            let upgrade = plan != STARTER && (plan == ENTERPRISE || chance(rng, 0.8));
            let prev_plan = if upgrade { plan - 1 } else { plan + 1 };
            let mut prev = Subscription {
                id: uuid(rng),
                plan: prev_plan,
                annual: false,
                anchor: earliest,
                stripe_id: format!("sub_{}", alnum(rng, 24)),
                status: "canceled",
                ..sub.clone_shape()
            };
            let target = time_between(rng, earliest + days(45), now - days(20));
            prev.k_max = periods_forward(earliest, target, false);
            let period_end = prev.period_start(prev.k_max + 1);
            let switch = if upgrade || period_end > now - days(1) { target } else { period_end };
            prev.until = Some(switch);
            prev.cancel_at_period_end = !upgrade && switch == period_end;
            prev.cancel_date =
                Some(if prev.cancel_at_period_end { switch - days(between(rng, 1, 20)) } else { switch });
            prev.cancel_reason =
                Some(format!("{} to {} plan", if upgrade { "Upgraded" } else { "Downgraded" }, PLAN_SPECS[plan].name));
            world.subscriptions.push(prev);
            sub.anchor = switch;
            sub.k_min = 0;
            sub.k_max = periods_forward(switch, now, annual);
        } else if status == "canceled" {
            let cape = deleted.is_none() && chance(rng, 0.4);
            let end = match deleted {
                Some(d) => d - days(between(rng, 0, 3)),
                None => now - days(between(rng, 1, 150)) - minutes(between(rng, 0, 1439)),
            }
            .max(earliest + days(2))
            .min(now - hours(1));
            let cps = if cape {
                end.checked_sub_months(Months::new(step_months(annual))).unwrap_or(end).max(earliest)
            } else {
                (end - days(between(rng, 0, period_days - 1))).max(earliest)
            };
            sub.anchor = cps;
            sub.k_min = -periods_back(cps, earliest, annual);
            sub.until = Some(end);
            sub.cancel_at_period_end = cape;
            sub.cancel_date = Some(if cape { time_between(rng, cps, end - days(1)) } else { end });
            sub.cancel_reason = Some(pick(rng, CANCEL_REASONS).to_string());
        } else {
            let offset = match status {
                "past_due" => days(between(rng, 3, 15)),
                "unpaid" => days(between(rng, 16, 28)),
                _ => days(between(rng, 0, period_days - 1)),
            } + minutes(between(rng, 0, 1439));
            let cps = (now - offset).max(earliest);
            sub.anchor = cps;
            sub.k_min = -periods_back(cps, earliest, annual);
            sub.failed_renewals = match status {
                "past_due" => between(rng, 1, 2) as u32,
                "unpaid" => 4,
                _ => 0,
            };
        }
        if status == "active" && (plan == PRO || plan == ENTERPRISE) && chance(rng, 0.12) {
            sub.pending_plan = Some(plan - 1);
        }
        let si = world.subscriptions.len();
        if matches!(status, "active" | "past_due") && sub.created() < now - days(10) && chance(rng, 0.17) {
            build_addons(world, rng, si, &sub);
        }
        world.subscriptions.push(sub);
        world.tenants[ti].subscriptions = start..world.subscriptions.len();
    }
}

impl Subscription {
    /// A copy of the fields that a predecessor subscription shares with this one.
    fn clone_shape(&self) -> Subscription {
        Subscription {
            id: self.id,
            tenant: self.tenant,
            plan: self.plan,
            pending_plan: None,
            status: self.status,
            annual: self.annual,
            anchor: self.anchor,
            k_min: 0,
            k_max: 0,
            until: None,
            cancel_at_period_end: false,
            cancel_reason: None,
            cancel_date: None,
            contact: self.contact,
            stripe_id: String::new(),
            failed_renewals: 0,
        }
    }
}

fn build_addons(world: &mut World, rng: &mut Rng, si: usize, sub: &Subscription) {
    let now = world.now;
    let n = if chance(rng, 0.25) { 2 } else { 1 };
    let kinds = rand::seq::index::sample(rng, 3, n);
    for k in kinds {
        let (kind, unit, quantity) = match k {
            0 => ("dedicated_ip", 3_900, between(rng, 1, 3)),
            1 => ("extra_mailboxes", 500, between(rng, 1, 10) * 5),
            _ => ("extra_warmups", 300, between(rng, 1, 4) * 5),
        };
        let created = time_between(rng, sub.created() + days(7), now - days(2));
        let active = chance(rng, 0.9);
        let ended = (!active).then(|| (created + days(between(rng, 35, 120))).min(now - days(1)));
        world.addons.push(Addon {
            id: format!("si_{}", alnum(rng, 14)),
            subscription: si,
            kind,
            quantity,
            monthly_cents: unit * quantity,
            stripe_price: format!("price_{}", alnum(rng, 24)),
            active,
            created,
            ended,
        });
    }
}

/// Writes `plans`, `subscriptions` and `subscription_addons`.
pub(super) async fn write_catalogue(
    conn: &mut PgConnection,
    world: &World,
    ctx: &mut Ctx<'_>,
) -> Result<(), SeedError> {
    let now = world.now;
    let launched = now - days(1200);
    let cols = "id, name, slug, description, max_users, max_domains, max_campaigns_per_month, api_rate_limit, \
                max_email_accounts, max_emails_per_month, max_warmups, max_contacts, max_storage_gb, api_access, \
                priority_support, advanced_analytics, white_label, price_monthly, price_yearly, notes, is_active, \
                stripe_product_id, created, updated";
    let mut c = Copier::start(conn, ctx.progress, "oltp.plans", cols, world.plans.len() as u64).await?;
    for p in &world.plans {
        let s = p.spec;
        c.uuid(p.id).text(s.name).text(s.slug).text(s.description);
        for l in s.limits {
            c.opt_int(l);
        }
        for f in s.features {
            c.bool(f);
        }
        c.int(s.monthly_cents).int(s.yearly_cents).opt_text(s.notes).bool(s.active).text(&p.stripe_product);
        c.ts(launched).ts(if s.active { launched + days(400) } else { launched + days(500) });
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;

    let cols = "id, tenant_id, plan_id, pending_plan_id, status, current_period_start, current_period_end, \
                cancel_at_period_end, cancel_reason, cancel_date, billing_contact_user_id, stripe_subscription_id, \
                created, updated";
    let mut c = Copier::start(conn, ctx.progress, "oltp.subscriptions", cols, world.subscriptions.len() as u64).await?;
    for s in &world.subscriptions {
        let (start, end) = s.current_period();
        let updated = s.cancel_date.unwrap_or(start).max(start).min(now);
        c.uuid(s.id).uuid(world.tenants[s.tenant].id).uuid(world.plans[s.plan].id);
        c.opt_uuid(s.pending_plan.map(|p| world.plans[p].id)).text(s.status).ts(start).ts(end);
        c.bool(s.cancel_at_period_end).opt_text(s.cancel_reason.as_deref()).opt_ts(s.cancel_date);
        c.uuid(world.users[s.contact].id).text(&s.stripe_id).ts(s.created()).ts(updated);
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;

    let cols = "id, subscription_id, addon_type, quantity, price_monthly, stripe_price_id, is_active, created, updated";
    let mut c = Copier::start(conn, ctx.progress, "oltp.subscription_addons", cols, world.addons.len() as u64).await?;
    for a in &world.addons {
        c.text(&a.id).uuid(world.subscriptions[a.subscription].id).text(a.kind).int(a.quantity).cents(a.monthly_cents);
        c.text(&a.stripe_price).bool(a.active).ts(a.created).ts(a.ended.unwrap_or(a.created));
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;
    Ok(())
}
