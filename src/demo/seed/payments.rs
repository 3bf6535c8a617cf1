//! The payments ledger: exactly `100,000 × scale` rows over the 12 months before
//! `now`, streamed to the server.
//!
//! Every subscription period produces a renewal charge and every add-on a monthly
//! charge; the rest are metered usage charges (overage and credit top-ups) shared out
//! by tenant size × plan, so large tenants pay far more often. Usage charges follow a
//! mild seasonality (busier in January and September). About 6 % fail with a real
//! Stripe decline code in the description and 2 % are refunded; past-due and unpaid
//! subscriptions end with failed renewal attempts.

use std::fmt::Write as _;

use chrono::{Datelike, Months};
use sqlx::postgres::PgConnection;
use uuid::Uuid;

use super::billing::{ENTERPRISE, PLAN_SPECS};
use super::copy::Copier;
use super::random::{
    allocate, between, chance, days, minutes, pick, push_alnum, real, seconds, stream, time_between, uuid, weighted,
    Rng, Ts,
};
use super::world::{streams, Role, Subscription, World};
use super::{Ctx, SeedError};

/// Real Stripe decline codes with their customer-facing messages and weights.
const DECLINES: &[(&str, &str, u32)] = &[
    ("card_declined", "Your card was declined.", 30),
    ("insufficient_funds", "Your card has insufficient funds.", 25),
    ("expired_card", "Your card has expired.", 10),
    ("incorrect_cvc", "Your card's security code is incorrect.", 5),
    ("processing_error", "An error occurred while processing your card. Try again in a little bit.", 8),
    ("do_not_honor", "Your card was declined.", 12),
    ("lost_card", "Your card was declined.", 3),
    ("authentication_required", "Your card was declined. This transaction requires authentication.", 7),
];

/// What kind of charge a payment row is.
#[derive(Clone, Copy)]
enum Charge {
    Renewal,
    Addon(usize),
    Usage,
}

/// A payment fixed by the billing calendar (renewals, add-ons, dunning retries).
struct Scheduled {
    sub: usize,
    charge: Charge,
    created: Ts,
    /// `Some(code index)` when this attempt is forced to fail.
    forced_failure: Option<usize>,
    /// Whether random failure/refund rolls apply.
    roll: bool,
}

/// A payment the audit log and system events refer to.
pub(super) struct PaymentFact {
    pub id: Uuid,
    pub tenant: usize,
    pub cents: i64,
    pub currency: &'static str,
    pub created: Ts,
    pub decline: Option<&'static str>,
}

/// Refunds (last 90 days) and failures (last 30 days) seen while writing payments.
#[derive(Default)]
pub(super) struct PaymentFacts {
    pub refunds: Vec<PaymentFact>,
    pub failures: Vec<PaymentFact>,
}

/// Writes exactly `100,000 × scale` payments, streaming.
pub(super) async fn write_payments(
    conn: &mut PgConnection,
    world: &World,
    ctx: &mut Ctx<'_>,
) -> Result<PaymentFacts, SeedError> {
    let rng = &mut stream(world.seed, streams::PAYMENTS);
    let now = world.now;
    let year_ago = now - days(365);
    let total = world.per_scale(100_000);

    // Pass 1: the billing calendar and each tenant's usage window.
    let mut scheduled: Vec<Vec<Scheduled>> = Vec::with_capacity(world.tenants.len());
    let mut weights = Vec::with_capacity(world.tenants.len());
    for t in &world.tenants {
        let mut fixed = Vec::new();
        let mut window_days = 0.0;
        for si in t.subscriptions.clone() {
            let s = &world.subscriptions[si];
            calendar(world, rng, si, s, year_ago, &mut fixed);
            let (from, to) = usage_window(s, year_ago, now);
            window_days += (to - from).num_seconds().max(0) as f64 / 86_400.0;
        }
        let factor = PLAN_SPECS[t.plan].usage_factor;
        weights.push(f64::from(t.size) * factor * window_days / 365.0);
        scheduled.push(fixed);
    }
    let fixed_total: u64 = scheduled.iter().map(|v| v.len() as u64).sum();
    let Some(usage_total) = total.checked_sub(fixed_total) else {
        return Err(SeedError::Generate {
            table: "oltp.payments",
            reason: format!("{fixed_total} scheduled charges exceed the {total} payments requested"),
        });
    };
    if usage_total > 0 && weights.iter().all(|w| *w <= 0.0) {
        return Err(SeedError::Generate {
            table: "oltp.payments",
            reason: "no tenant has a billable subscription".into(),
        });
    }
    let usage = allocate(usage_total, &weights);

    // Pass 2: stream the rows.
    let cols = "id, subscription_id, initiated_by_user_id, amount, currency, status, processed, description, \
                stripe_payment_intent_id, billing_period_start, billing_period_end, created";
    let mut c = Copier::start(conn, ctx.progress, "oltp.payments", cols, total).await?;
    let mut facts = PaymentFacts::default();
    let mut w = PaymentWriter { rng, pi: String::with_capacity(32), desc: String::with_capacity(128) };
    for (ti, t) in world.tenants.iter().enumerate() {
        for p in &scheduled[ti] {
            w.write(&mut c, world, ti, p, &mut facts).await?;
        }
        if usage[ti] == 0 {
            continue;
        }
        let subs: Vec<usize> = t.subscriptions.clone().collect();
        let lens: Vec<f64> = subs
            .iter()
            .map(|&si| {
                let (from, to) = usage_window(&world.subscriptions[si], year_ago, now);
                (to - from).num_seconds().max(0) as f64
            })
            .collect();
        for (k, n) in allocate(usage[ti], &lens).into_iter().enumerate() {
            let si = subs[k];
            let (from, to) = usage_window(&world.subscriptions[si], year_ago, now);
            for _ in 0..n {
                let created = seasonal_time(w.rng, from, to);
                let p = Scheduled { sub: si, charge: Charge::Usage, created, forced_failure: None, roll: true };
                w.write(&mut c, world, ti, &p, &mut facts).await?;
            }
        }
    }
    c.finish(&mut ctx.rows).await?;
    Ok(facts)
}

/// When a subscription could incur usage charges within the last year.
fn usage_window(s: &Subscription, year_ago: Ts, now: Ts) -> (Ts, Ts) {
    let from = s.created().max(year_ago);
    let to = s.until.unwrap_or(now).min(now);
    (from, to.max(from))
}

/// Renewal and add-on charges of one subscription within the last year.
fn calendar(world: &World, rng: &mut Rng, si: usize, s: &Subscription, year_ago: Ts, out: &mut Vec<Scheduled>) {
    let now = world.now;
    let end = s.until.unwrap_or(now).min(now);
    for k in s.k_min..=s.k_max {
        let start = s.period_start(k);
        if start < year_ago || start > end || (s.until.is_some() && start >= end) {
            continue;
        }
        // Stripe finalises the renewal invoice a little after the period starts.
        let created = start + minutes(between(rng, 5, 90));
        if created > now {
            continue;
        }
        if k == s.k_max && s.failed_renewals > 0 {
            // Dunning: the renewal and its automatic retries all failed.
            let code = weighted_decline(rng);
            for (attempt, offset) in [0, 3, 5, 7, 9].into_iter().take(s.failed_renewals as usize + 1).enumerate() {
                let at = created + days(offset) + minutes(between(rng, 0, 120));
                if attempt > 0 && at > now {
                    break;
                }
                out.push(Scheduled {
                    sub: si,
                    charge: Charge::Renewal,
                    created: at.min(now),
                    forced_failure: Some(code),
                    roll: false,
                });
            }
            continue;
        }
        if chance(rng, 0.04) {
            // A declined renewal recovered by a retry a few days later.
            let retry = created + days(between(rng, 1, 4));
            if retry < now {
                let code = weighted_decline(rng);
                out.push(Scheduled {
                    sub: si,
                    charge: Charge::Renewal,
                    created,
                    forced_failure: Some(code),
                    roll: false,
                });
                out.push(Scheduled {
                    sub: si,
                    charge: Charge::Renewal,
                    created: retry,
                    forced_failure: None,
                    roll: false,
                });
                continue;
            }
        }
        out.push(Scheduled { sub: si, charge: Charge::Renewal, created, forced_failure: None, roll: true });
    }
    for (ai, a) in world.addons.iter().enumerate().filter(|(_, a)| a.subscription == si) {
        let stop = a.ended.unwrap_or(end).min(end);
        let mut k = 0;
        while let Some(at) = a.created.checked_add_months(Months::new(k)) {
            if at > stop {
                break;
            }
            let charged = at + minutes(between(rng, 5, 90));
            if at >= year_ago && charged <= now {
                out.push(Scheduled {
                    sub: si,
                    charge: Charge::Addon(ai),
                    created: charged,
                    forced_failure: None,
                    roll: true,
                });
            }
            k += 1;
        }
    }
}

fn weighted_decline(rng: &mut Rng) -> usize {
    let items: Vec<(usize, u32)> = DECLINES.iter().enumerate().map(|(i, d)| (i, d.2)).collect();
    weighted(rng, &items)
}

/// A time in `[from, to]`, busier in January and September, quieter in summer and December.
fn seasonal_time(rng: &mut Rng, from: Ts, to: Ts) -> Ts {
    for _ in 0..16 {
        let t = time_between(rng, from, to);
        let w = match t.month() {
            1 => 1.25,
            9 => 1.2,
            2 | 10 => 1.05,
            7 | 8 => 0.92,
            _ => 1.0,
        };
        if real(rng, 0.0, 1.25) < w {
            return t;
        }
    }
    time_between(rng, from, to)
}

/// `12500` → `"12,500"`.
fn thousands(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Per-row state of the payments stream.
struct PaymentWriter<'r> {
    rng: &'r mut Rng,
    pi: String,
    desc: String,
}

impl PaymentWriter<'_> {
    async fn write(
        &mut self,
        c: &mut Copier<'_>,
        world: &World,
        ti: usize,
        p: &Scheduled,
        facts: &mut PaymentFacts,
    ) -> Result<(), SeedError> {
        let rng = &mut *self.rng;
        let s = &world.subscriptions[p.sub];
        let t = &world.tenants[ti];
        let spec = &PLAN_SPECS[s.plan];
        self.desc.clear();
        let (cents, initiator, period) = match p.charge {
            Charge::Renewal => {
                self.desc.push_str(spec.name);
                self.desc.push_str(if s.annual { " Plan - Annual" } else { " Plan - Monthly" });
                (s.price(&world.plans), Some(s.contact), s.period_of(p.created))
            }
            Charge::Addon(ai) => {
                let a = &world.addons[ai];
                let label = match a.kind {
                    "dedicated_ip" => "Dedicated IP",
                    "extra_mailboxes" => "Extra mailboxes",
                    _ => "Extra warmups",
                };
                let _ = write!(self.desc, "Add-on: {label} x{} - Monthly", a.quantity);
                let start = p.created;
                let end = start.checked_add_months(Months::new(1)).unwrap_or(start + days(30));
                (a.monthly_cents, Some(s.contact), (start, end))
            }
            Charge::Usage => {
                let rate = spec.usage_cents_per_1k;
                let period = s.period_of(p.created);
                if chance(rng, 0.6) {
                    let unit = if s.plan == ENTERPRISE { 10_000 } else { 2_500 };
                    let emails = between(rng, 1, 20) * unit;
                    let _ = write!(self.desc, "Usage overage — {} emails", thousands(emails));
                    ((emails * rate / 1000).max(50), None, period)
                } else {
                    let pack = *pick(rng, &[5_000, 10_000, 25_000, 50_000, 100_000]);
                    let _ = write!(self.desc, "Email credits top-up — {} sends", thousands(pack));
                    let buyer = world.memberships[t.members.clone()]
                        .iter()
                        .filter(|m| m.deleted.is_none() && m.role != Role::Member)
                        .map(|m| m.user)
                        .nth(between(rng, 0, 2) as usize)
                        .unwrap_or(s.contact);
                    ((pack * rate / 1000).max(100), Some(buyer), period)
                }
            }
        };
        let (status, decline) = match p.forced_failure {
            Some(code) => ("failed", Some(code)),
            None if p.roll => {
                let roll = real(rng, 0.0, 1.0);
                if roll < 0.06 {
                    ("failed", Some(weighted_decline(rng)))
                } else if roll < 0.08 {
                    ("refunded", None)
                } else {
                    ("succeeded", None)
                }
            }
            None => ("succeeded", None),
        };
        if let Some(d) = decline {
            let (code, message, _) = DECLINES[d];
            self.desc.push_str(" — ");
            self.desc.push_str(code);
            self.desc.push_str(": ");
            self.desc.push_str(message);
        }
        self.pi.clear();
        self.pi.push_str("pi_");
        push_alnum(rng, &mut self.pi, 24);
        let id = uuid(rng);
        let processed = (status != "failed").then(|| (p.created + seconds(between(rng, 2, 40))).min(world.now));
        c.uuid(id).uuid(s.id).opt_uuid(initiator.map(|u| world.users[u].id)).cents(cents).text(t.currency).text(status);
        c.opt_ts(processed).text(&self.desc).text(&self.pi).ts(period.0).ts(period.1).ts(p.created);
        c.end().await?;

        let recent = |days_back: i64| p.created >= world.now - days(days_back);
        if status == "refunded" && recent(90) {
            facts.refunds.push(PaymentFact {
                id,
                tenant: ti,
                cents,
                currency: t.currency,
                created: p.created,
                decline: None,
            });
        } else if status == "failed" && recent(30) && facts.failures.len() < 20_000 {
            let code = decline.map(|d| DECLINES[d].0);
            facts.failures.push(PaymentFact {
                id,
                tenant: ti,
                cents,
                currency: t.currency,
                created: p.created,
                decline: code,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_thousands() {
        assert_eq!(thousands(12_500), "12,500");
        assert_eq!(thousands(100), "100");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }
}
