//! Revenue analytics: MRR (by plan), its monthly movements, churn, ARPA, LTV and the
//! payment success rate, from the Stripe data in the cache.
//!
//! ## How MRR is counted here
//! MRR at the end of a month is the sum, over every subscription invoice line whose
//! service period covers the month's last second, of the line normalised to a month:
//! - **Normalisation**: a line's amount after its discounts (coupons are applied,
//!   percentage or fixed, as Stripe applied them on the invoice), divided by the
//!   months its price's interval covers: yearly ÷ 12, `interval_count` respected,
//!   weekly × 52 ÷ 12, daily × 365 ÷ 12. Taxes are excluded. Each line is rounded half
//!   away from zero to a minor unit, then summed: integers only.
//! - **Only recurring revenue**: lines of a recurring price on a subscription invoice;
//!   prorations, one-off items and manual invoices are not MRR.
//! - **Trials excluded**: a trial bills 0.00, so it adds nothing and does not make a
//!   customer "paying".
//! - **Unpaid excluded**: lines count when their invoice is `paid`, or `open` while its
//!   subscription is `active` or `past_due` (still being collected, as Stripe counts
//!   past-due subscriptions). `uncollectible`, `void` and `draft` invoices, and open
//!   invoices of `unpaid`, `paused` or `canceled` subscriptions, do not count; nor does
//!   an invoice whose payment was refunded in full (the money went back). A partial
//!   refund leaves MRR alone: it is a one-off credit, not a change of the recurring
//!   price.
//! - **Per currency**: no exchange rates are applied; each currency is reported apart.
//!
//! Stripe's own Billing analytics compute MRR from each subscription's current state
//! (its items' prices and discount) rather than from invoices. The results agree for
//! a subscription that renews and pays; they differ in time: a plan change counts
//! here from the invoice that bills it (prorations ignored), in Stripe from the
//! change; a subscription whose invoice becomes uncollectible leaves MRR here at once,
//! in Stripe when the subscription is canceled; a cancellation at period end leaves
//! MRR here when the last paid period ends. Counting from invoices is what lets this
//! module show any past month, not only today.
//!
//! ## Movements (per customer, month M against M−1)
//! new (0 before, never paying before), reactivation (0 before, paying in an earlier
//! month), expansion / contraction (more / less than before), churned (paying before,
//! 0 now). `MRR(M) = MRR(M−1) + new + reactivation + expansion − contraction − churned`.
//!
//! ## Ratios (basis points: 10000 = 100 %)
//! - customer churn = customers churned in M ÷ paying customers at the end of M−1;
//! - revenue churn (gross) = (churned + contraction) ÷ MRR at the end of M−1;
//! - ARPA = MRR ÷ paying customers; LTV = ARPA ÷ this month's customer churn
//!   (undefined when nobody churned);
//! - payment success = charges created in M that succeeded (refunded and disputed
//!   ones included: they were paid) ÷ those plus the failed ones; pending ones wait.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{Datelike, NaiveDate};
use rusqlite::Connection;

use super::{require_synced, sandbox_customers, tenant_links, FinanceError};
use crate::auth::{permissions, Staff};
use crate::cache::CacheError;

/// MRR of one plan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PlanMrr {
    /// Plan (the price's nickname, else its product id).
    pub plan: String,
    /// MRR, minor units.
    pub mrr: i64,
    /// Paying customers on it.
    pub customers: i64,
}

/// MRR movements of a month, minor units (all positive).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Movements {
    /// From customers never paying before.
    pub new: i64,
    /// From customers paying more.
    pub expansion: i64,
    /// From customers paying less.
    pub contraction: i64,
    /// From customers who stopped paying.
    pub churned: i64,
    /// From customers paying again.
    pub reactivation: i64,
}

/// One currency's revenue figures for a month.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CurrencyRevenue {
    /// Lowercase ISO code.
    pub currency: String,
    /// MRR at the end of the month.
    pub mrr: i64,
    /// MRR at the end of the month before.
    pub mrr_previous: i64,
    /// Customers paying at the end of the month.
    pub paying_customers: i64,
    /// Customers paying at the end of the month before.
    pub paying_customers_previous: i64,
    /// Customers who churned this month.
    pub churned_customers: i64,
    /// By plan, largest first.
    pub by_plan: Vec<PlanMrr>,
    /// Movements against the month before.
    pub movements: Movements,
    /// Customer churn, basis points.
    pub customer_churn_bp: Option<i64>,
    /// Gross revenue churn, basis points.
    pub revenue_churn_bp: Option<i64>,
    /// Average revenue per paying account, minor units.
    pub arpa: Option<i64>,
    /// Lifetime value (ARPA ÷ customer churn), minor units.
    pub ltv: Option<i64>,
}

/// The revenue report of a month.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RevenueReport {
    /// `YYYY-MM`.
    pub month: String,
    /// Per currency, by currency code.
    pub currencies: Vec<CurrencyRevenue>,
    /// Charges created this month that were paid.
    pub payments_succeeded: i64,
    /// Charges created this month that failed.
    pub payments_failed: i64,
    /// Success rate, basis points (None without attempts).
    pub payment_success_bp: Option<i64>,
    /// When Stripe was last synced (UTC).
    pub as_of: String,
}

/// One month of MRR history (for charts).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MrrPoint {
    /// `YYYY-MM`.
    pub month: String,
    /// Currency.
    pub currency: String,
    /// MRR at the month's end.
    pub mrr: i64,
    /// Movements in the month.
    pub movements: Movements,
}

/// `num / den` rounded half away from zero (`den` > 0).
pub fn div_round(num: i128, den: i128) -> i64 {
    let q = (2 * num.abs() + den) / (2 * den);
    (if num < 0 { -q } else { q }) as i64
}

/// A line's monthly amount: `amount` for `interval_count` × `interval`.
pub fn monthly(amount: i64, interval: &str, interval_count: i64) -> i64 {
    let count = interval_count.max(1) as i128;
    let a = amount as i128;
    match interval {
        "year" => div_round(a, 12 * count),
        "week" => div_round(a * 52, 12 * count),
        "day" => div_round(a * 365, 12 * count),
        _ => div_round(a, count),
    }
}

struct Line {
    invoice: String,
    customer: String,
    currency: String,
    plan: String,
    monthly: i64,
    start: i64,
    end: i64,
}

fn parse_month(month: &str) -> Result<NaiveDate, FinanceError> {
    NaiveDate::parse_from_str(&format!("{}-01", month.trim()), "%Y-%m-%d")
        .map_err(|_| FinanceError::BadInput(format!("`{month}` is not a month (YYYY-MM)")))
}

fn next_month(d: NaiveDate) -> NaiveDate {
    d.checked_add_months(chrono::Months::new(1)).unwrap_or(d)
}

/// The last second of the month starting at `d`.
fn month_end(d: NaiveDate) -> i64 {
    next_month(d).and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp()).unwrap_or_default() - 1
}

/// A customer's MRR per currency at instant `t`, optionally as if the invoice
/// `without` no longer counted (the impact of refunding it in full).
pub(crate) fn customer_mrr_at(
    conn: &Connection,
    staff: &Staff,
    customer: &str,
    t: i64,
    without: Option<&str>,
) -> Result<BTreeMap<String, i64>, FinanceError> {
    let mut out: BTreeMap<String, i64> = BTreeMap::new();
    for l in load_lines(conn, staff)?
        .iter()
        .filter(|l| l.customer == customer && l.start <= t && t < l.end && without != Some(l.invoice.as_str()))
    {
        *out.entry(l.currency.clone()).or_default() += l.monthly;
    }
    Ok(out)
}

fn load_lines(conn: &Connection, staff: &Staff) -> Result<Vec<Line>, FinanceError> {
    let allowed: Option<HashSet<String>> = if staff.sandbox_only() {
        let links = tenant_links(conn)?;
        Some(sandbox_customers(conn, &links)?)
    } else {
        None
    };
    let mut st = conn
        .prepare(
            "SELECT i.customer, l.currency, COALESCE(l.plan, l.price_id, l.description, '?'), l.amount - l.discount,
                    l.interval, COALESCE(l.interval_count, 1), l.period_start, l.period_end, i.id
             FROM stripe_invoice_lines l
             JOIN stripe_invoices i ON i.id = l.invoice
             LEFT JOIN stripe_subscriptions s ON s.id = i.subscription
             WHERE i.subscription IS NOT NULL AND l.proration = 0 AND l.interval IS NOT NULL
               AND l.period_start IS NOT NULL AND l.period_end > l.period_start
               AND (i.status = 'paid' OR (i.status = 'open' AND s.status IN ('active', 'past_due')))
               AND NOT EXISTS (SELECT 1 FROM stripe_charges c WHERE c.id = i.charge AND c.payment_status = 'refunded')",
        )
        .map_err(CacheError::sql("reading subscription lines"))?;
    let rows = st
        .query_map([], |r| {
            let interval: String = r.get(4)?;
            Ok(Line {
                invoice: r.get(8)?,
                customer: r.get(0)?,
                currency: r.get(1)?,
                plan: r.get(2)?,
                monthly: monthly(r.get(3)?, &interval, r.get(5)?),
                start: r.get(6)?,
                end: r.get(7)?,
            })
        })
        .map_err(CacheError::sql("reading subscription lines"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(CacheError::sql("reading subscription lines"))?;
    Ok(rows.into_iter().filter(|l| allowed.as_ref().is_none_or(|a| a.contains(&l.customer))).collect())
}

/// (currency, customer) → MRR at instant `t`; zero-MRR customers are absent.
fn mrr_at(lines: &[Line], t: i64) -> BTreeMap<(String, String), i64> {
    let mut out: BTreeMap<(String, String), i64> = BTreeMap::new();
    for l in lines.iter().filter(|l| l.start <= t && t < l.end) {
        *out.entry((l.currency.clone(), l.customer.clone())).or_default() += l.monthly;
    }
    out.retain(|_, v| *v > 0);
    out
}

struct MonthFigures {
    movements: BTreeMap<String, Movements>,
    churned_customers: BTreeMap<String, i64>,
}

/// Movements between `prev` and `cur`; `ever` holds (currency, customer) paying in
/// any month before `prev`.
fn movements(
    prev: &BTreeMap<(String, String), i64>,
    cur: &BTreeMap<(String, String), i64>,
    ever: &BTreeSet<(String, String)>,
) -> MonthFigures {
    let mut m: BTreeMap<String, Movements> = BTreeMap::new();
    let mut churned_customers: BTreeMap<String, i64> = BTreeMap::new();
    let keys: BTreeSet<&(String, String)> = prev.keys().chain(cur.keys()).collect();
    for key in keys {
        let p = prev.get(key).copied().unwrap_or(0);
        let c = cur.get(key).copied().unwrap_or(0);
        let e = m.entry(key.0.clone()).or_default();
        match (p, c) {
            (0, c) if ever.contains(key) => e.reactivation += c,
            (0, c) => e.new += c,
            (p, 0) => {
                e.churned += p;
                *churned_customers.entry(key.0.clone()).or_default() += 1;
            }
            (p, c) if c > p => e.expansion += c - p,
            (p, c) => e.contraction += p - c,
        }
    }
    MonthFigures { movements: m, churned_customers }
}

/// Walks the months from the first billed one to `until` (inclusive), returning each
/// month's MRR map and movements.
#[allow(clippy::type_complexity)]
fn walk(lines: &[Line], until: NaiveDate) -> Vec<(NaiveDate, BTreeMap<(String, String), i64>, MonthFigures)> {
    let first = lines
        .iter()
        .map(|l| l.start)
        .min()
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|d| NaiveDate::from_ymd_opt(d.year(), d.month(), 1).unwrap_or(until))
        .unwrap_or(until)
        .min(until);
    let mut out = Vec::new();
    let mut ever: BTreeSet<(String, String)> = BTreeSet::new();
    let mut prev: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut older: BTreeSet<(String, String)> = BTreeSet::new(); // paying in a month before `prev`
    let mut month = first;
    while month <= until {
        let cur = mrr_at(lines, month_end(month));
        let figures = movements(&prev, &cur, &older);
        ever.extend(prev.keys().cloned());
        older = ever.clone();
        out.push((month, cur.clone(), figures));
        prev = cur;
        month = next_month(month);
    }
    out
}

fn bp(num: i64, den: i64) -> Option<i64> {
    (den > 0).then(|| div_round(num as i128 * 10_000, den as i128))
}

/// The revenue report of `month` (`YYYY-MM`). Needs `finance.read`.
pub fn report(conn: &Connection, staff: &Staff, month: &str) -> Result<RevenueReport, FinanceError> {
    staff.require(permissions::FINANCE_READ)?;
    let as_of = require_synced(conn)?;
    let m = parse_month(month)?;
    let lines = load_lines(conn, staff)?;
    let months = walk(&lines, m);
    let empty = BTreeMap::new();
    let (cur, figures) = match months.last() {
        Some((_, cur, f)) => (cur, Some(f)),
        None => (&empty, None),
    };
    let prev = if months.len() >= 2 { &months[months.len() - 2].1 } else { &empty };
    let t = month_end(m);
    let currencies: BTreeSet<String> = cur.keys().chain(prev.keys()).map(|(c, _)| c.clone()).collect();
    let mut out = Vec::new();
    for currency in currencies {
        let of = |map: &BTreeMap<(String, String), i64>| -> (i64, i64) {
            let vals: Vec<i64> = map.iter().filter(|((c, _), _)| *c == currency).map(|(_, v)| *v).collect();
            (vals.iter().sum(), vals.len() as i64)
        };
        let (mrr, paying) = of(cur);
        let (mrr_previous, paying_previous) = of(prev);
        let movements = figures.and_then(|f| f.movements.get(&currency).cloned()).unwrap_or_default();
        let churned_customers = figures.and_then(|f| f.churned_customers.get(&currency).copied()).unwrap_or(0);
        let mut plans: BTreeMap<String, (i64, BTreeSet<String>)> = BTreeMap::new();
        for l in lines.iter().filter(|l| l.currency == currency && l.start <= t && t < l.end && l.monthly > 0) {
            let e = plans.entry(l.plan.clone()).or_default();
            e.0 += l.monthly;
            e.1.insert(l.customer.clone());
        }
        let mut by_plan: Vec<PlanMrr> =
            plans.into_iter().map(|(plan, (mrr, cs))| PlanMrr { plan, mrr, customers: cs.len() as i64 }).collect();
        by_plan.sort_by(|a, b| b.mrr.cmp(&a.mrr).then(a.plan.cmp(&b.plan)));
        let customer_churn_bp = bp(churned_customers, paying_previous);
        let arpa = (paying > 0).then(|| div_round(mrr as i128, paying as i128));
        let ltv = match (arpa, customer_churn_bp) {
            (Some(a), Some(c)) if c > 0 => Some(div_round(a as i128 * 10_000, c as i128)),
            _ => None,
        };
        out.push(CurrencyRevenue {
            currency,
            mrr,
            mrr_previous,
            paying_customers: paying,
            paying_customers_previous: paying_previous,
            churned_customers,
            by_plan,
            revenue_churn_bp: bp(movements.churned + movements.contraction, mrr_previous),
            movements,
            customer_churn_bp,
            arpa,
            ltv,
        });
    }
    let start = m.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp()).unwrap_or_default();
    let (succeeded, failed): (i64, i64) = conn
        .query_row(
            "SELECT COALESCE(sum(payment_status IN ('succeeded', 'refunded', 'partially_refunded', 'disputed')), 0),
                    COALESCE(sum(payment_status = 'failed'), 0)
             FROM stripe_charges WHERE created >= ?1 AND created <= ?2",
            [start, t],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(CacheError::sql("counting payments"))?;
    Ok(RevenueReport {
        month: m.format("%Y-%m").to_string(),
        currencies: out,
        payments_succeeded: succeeded,
        payments_failed: failed,
        payment_success_bp: bp(succeeded, succeeded + failed),
        as_of,
    })
}

/// MRR and movements for every month from `from` to `to` (`YYYY-MM`, inclusive), per
/// currency: the data behind the revenue charts. Needs `finance.read`.
pub fn history(conn: &Connection, staff: &Staff, from: &str, to: &str) -> Result<Vec<MrrPoint>, FinanceError> {
    staff.require(permissions::FINANCE_READ)?;
    require_synced(conn)?;
    let (from, to) = (parse_month(from)?, parse_month(to)?);
    if from > to {
        return Err(FinanceError::BadInput("the first month is after the last".into()));
    }
    let lines = load_lines(conn, staff)?;
    let currencies: BTreeSet<String> = lines.iter().map(|l| l.currency.clone()).collect();
    let mut out = Vec::new();
    for (month, cur, figures) in walk(&lines, to).into_iter().filter(|(m, _, _)| *m >= from) {
        for currency in &currencies {
            out.push(MrrPoint {
                month: month.format("%Y-%m").to_string(),
                currency: currency.clone(),
                mrr: cur.iter().filter(|((c, _), _)| c == currency).map(|(_, v)| *v).sum(),
                movements: figures.movements.get(currency).cloned().unwrap_or_default(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_intervals_with_integer_rounding() {
        assert_eq!(monthly(499_000, "year", 1), 41_583); // 41,583.33
        assert_eq!(monthly(29_900, "month", 3), 9_967); // 9,966.67
        assert_eq!(monthly(1_000, "week", 1), 4_333); // 4,333.33
        assert_eq!(monthly(100, "day", 1), 3_042); // 3,041.67
        assert_eq!(monthly(6, "year", 1), 1); // 0.5 rounds away from zero
        assert_eq!(div_round(-5, 2), -3);
    }
}

/// Buckets of the collected-revenue trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum Period {
    /// UTC days.
    Day,
    /// Weeks starting on Monday (UTC).
    Week,
    /// Calendar months (UTC).
    Month,
}

/// Money collected in one period and currency.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CollectedPoint {
    /// First day of the period (`YYYY-MM-DD`).
    pub period: String,
    /// Currency.
    pub currency: String,
    /// Succeeded charges, minor units (refunds not deducted).
    pub gross: i64,
    /// Refunded of those charges so far.
    pub refunded: i64,
    /// Charges that succeeded.
    pub succeeded: i64,
    /// Charges that failed.
    pub failed: i64,
}

/// Charges per period from `from` (inclusive) to `to` (exclusive): what was collected,
/// what of it was refunded since, and how many payments succeeded and failed. Unlike
/// MRR this is cash, by the charge's date. Needs `finance.read`.
pub fn collected(
    conn: &Connection,
    staff: &Staff,
    period: Period,
    from: &str,
    to: &str,
) -> Result<Vec<CollectedPoint>, FinanceError> {
    staff.require(permissions::FINANCE_READ)?;
    require_synced(conn)?;
    let (from, to) = (super::parse_time(from)?, super::parse_time(to)?);
    if from >= to {
        return Err(FinanceError::BadInput("the period is empty: `from` must be before `to`".into()));
    }
    let bucket = match period {
        Period::Day => "date(created, 'unixepoch')",
        Period::Week => "date(created, 'unixepoch', '-6 days', 'weekday 1')",
        Period::Month => "strftime('%Y-%m-01', created, 'unixepoch')",
    };
    let mut st = conn
        .prepare(&format!(
            "SELECT {bucket} AS p, currency,
                    sum(CASE WHEN status = 'succeeded' THEN amount ELSE 0 END),
                    sum(CASE WHEN status = 'succeeded' THEN amount_refunded ELSE 0 END),
                    sum(status = 'succeeded'), sum(status = 'failed')
             FROM stripe_charges WHERE created >= ?1 AND created < ?2 GROUP BY p, currency ORDER BY p, currency"
        ))
        .map_err(CacheError::sql("summing charges"))?;
    let rows = st
        .query_map([from, to], |r| {
            Ok(CollectedPoint {
                period: r.get(0)?,
                currency: r.get(1)?,
                gross: r.get(2)?,
                refunded: r.get(3)?,
                succeeded: r.get(4)?,
                failed: r.get(5)?,
            })
        })
        .map_err(CacheError::sql("summing charges"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(CacheError::sql("summing charges"))?;
    Ok(rows)
}
