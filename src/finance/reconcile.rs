//! Month-end reconciliation: the platform's own `payments` and `subscriptions` (as
//! cached from OLTP) against Stripe's charges, refunds, invoices, balance transactions
//! and payouts (as cached from Stripe), for a period `[from, to)`.
//!
//! Every discrepancy is listed, one row each:
//! - `missing_in_stripe`: a platform payment whose `stripe_payment_intent_id` matches
//!   no Stripe charge;
//! - `missing_in_platform`: a settled Stripe charge (not pending) with no platform
//!   payment for its payment intent;
//! - `amount_mismatch`, `currency_mismatch`: matched, but the amounts (minor units) or
//!   currencies differ;
//! - `status_mismatch`: matched, but the platform says succeeded / refunded / failed
//!   and Stripe says otherwise (a partly refunded or disputed charge was paid, so it
//!   matches `succeeded`);
//! - `paid_invoice_without_payment`: an invoice paid in Stripe with an amount, and no
//!   succeeded charge for it;
//! - `payout_mismatch`: a payout whose amount differs from the net of the balance
//!   transactions it paid out;
//! - `subscription_status_mismatch`: a platform subscription whose Stripe subscription
//!   has another status (`trialing` counts as `active`).
//!
//! Platform amounts are `DECIMAL(10,2)` in major units, cached as REAL; they are turned
//! into minor units by rounding `amount × 10^exponent`, exact for two-decimal values
//! far beyond any real payment. A payment belongs to the period by `processed`, or
//! `created` when it never processed (failed ones); Stripe objects by `created`.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use rusqlite::Connection;

use super::{exponent, iso, major_units, parse_time, require_synced, tenant_links, FinanceError};
use crate::auth::{permissions, Staff};
use crate::cache::CacheError;

/// What kind of discrepancy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum DiscrepancyKind {
    /// A platform payment Stripe does not know.
    MissingInStripe,
    /// A Stripe charge the platform does not know.
    MissingInPlatform,
    /// Amounts differ.
    AmountMismatch,
    /// Currencies differ.
    CurrencyMismatch,
    /// Statuses differ.
    StatusMismatch,
    /// A paid invoice with no payment.
    PaidInvoiceWithoutPayment,
    /// A payout that does not add up.
    PayoutMismatch,
    /// Subscription statuses differ.
    SubscriptionStatusMismatch,
}

impl DiscrepancyKind {
    /// The stable name used in JSON and CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            DiscrepancyKind::MissingInStripe => "missing_in_stripe",
            DiscrepancyKind::MissingInPlatform => "missing_in_platform",
            DiscrepancyKind::AmountMismatch => "amount_mismatch",
            DiscrepancyKind::CurrencyMismatch => "currency_mismatch",
            DiscrepancyKind::StatusMismatch => "status_mismatch",
            DiscrepancyKind::PaidInvoiceWithoutPayment => "paid_invoice_without_payment",
            DiscrepancyKind::PayoutMismatch => "payout_mismatch",
            DiscrepancyKind::SubscriptionStatusMismatch => "subscription_status_mismatch",
        }
    }
}

/// One discrepancy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Discrepancy {
    /// Kind.
    pub kind: DiscrepancyKind,
    /// When (UTC).
    pub date: String,
    /// The platform row (`payments.id`, `subscriptions.id`), if any.
    pub platform_id: Option<String>,
    /// The Stripe object (`ch_…`, `in_…`, `po_…`, `sub_…`), if any.
    pub stripe_id: Option<String>,
    /// Tenant, where known.
    pub tenant_id: Option<String>,
    /// Currency (lowercase).
    pub currency: Option<String>,
    /// Platform amount, minor units.
    pub platform_amount: Option<i64>,
    /// Stripe amount, minor units.
    pub stripe_amount: Option<i64>,
    /// Platform value compared (status, currency).
    pub platform_value: Option<String>,
    /// Stripe value compared.
    pub stripe_value: Option<String>,
}

/// Totals of one currency over the period, minor units.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CurrencyTotals {
    /// Currency.
    pub currency: String,
    /// Platform payments collected (not failed or pending), refunded ones included.
    pub platform_collected: i64,
    /// Stripe charges collected (succeeded, refunded or disputed later included).
    pub stripe_charged: i64,
    /// Stripe refunds created in the period.
    pub stripe_refunded: i64,
    /// Charged − refunded.
    pub stripe_net: i64,
    /// Payouts created in the period.
    pub payouts: i64,
}

/// The reconciliation of a period.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Reconciliation {
    /// Period start (UTC).
    pub from: String,
    /// Period end, exclusive (UTC).
    pub to: String,
    /// Every discrepancy, by kind then date.
    pub discrepancies: Vec<Discrepancy>,
    /// Count per kind.
    pub counts: BTreeMap<String, u32>,
    /// Totals per currency.
    pub totals: Vec<CurrencyTotals>,
    /// When Stripe was last synced.
    pub stripe_as_of: String,
    /// When the platform's payments were last synced.
    pub platform_as_of: Option<String>,
}

struct PlatformPayment {
    id: String,
    minor: i64,
    currency: String,
    status: String,
    at: String,
    pi: Option<String>,
    tenant: Option<String>,
}

struct StripeCharge {
    id: String,
    amount: i64,
    currency: String,
    status: String,
    created: i64,
    customer: Option<String>,
}

fn has_table(conn: &Connection, name: &str) -> Result<bool, CacheError> {
    conn.query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = ?1)", [name], |r| r.get(0))
        .map_err(CacheError::sql("reading the schema"))
}

/// Whether a platform payment status agrees with a Stripe charge's payment status.
fn statuses_agree(platform: &str, stripe: &str) -> bool {
    match platform.to_ascii_lowercase().as_str() {
        "succeeded" | "paid" | "completed" => matches!(stripe, "succeeded" | "partially_refunded" | "disputed"),
        "refunded" => matches!(stripe, "refunded" | "partially_refunded"),
        "failed" => stripe == "failed",
        "pending" | "processing" => stripe == "pending",
        _ => false,
    }
}

fn rfc3339_secs(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.timestamp())
}

/// Reconciles `[from, to)` (`YYYY-MM-DD` or RFC 3339). Needs `finance.reconcile`.
pub fn reconcile(conn: &Connection, staff: &Staff, from: &str, to: &str) -> Result<Reconciliation, FinanceError> {
    staff.require(permissions::FINANCE_RECONCILE)?;
    let stripe_as_of = require_synced(conn)?;
    let (from_ts, to_ts) = (parse_time(from)?, parse_time(to)?);
    if from_ts >= to_ts {
        return Err(FinanceError::BadInput("the period is empty: `from` must be before `to`".into()));
    }
    let links = tenant_links(conn)?;
    let sql = |what: &'static str| CacheError::sql(format!("reconciling: {what}"));
    let mut out: Vec<Discrepancy> = Vec::new();
    let mut totals: BTreeMap<String, CurrencyTotals> = BTreeMap::new();
    let blank = |kind| Discrepancy {
        kind,
        date: String::new(),
        platform_id: None,
        stripe_id: None,
        tenant_id: None,
        currency: None,
        platform_amount: None,
        stripe_amount: None,
        platform_value: None,
        stripe_value: None,
    };

    // Stripe charges by payment intent (all of them: a platform payment in the period
    // may match a charge created just before it).
    let mut charges: HashMap<String, StripeCharge> = HashMap::new();
    let mut in_period: Vec<String> = Vec::new();
    {
        let mut st = conn
            .prepare(
                "SELECT id, amount, currency, payment_status, created, customer, payment_intent FROM stripe_charges",
            )
            .map_err(sql("charges"))?;
        let mut rows = st.query([]).map_err(sql("charges"))?;
        while let Some(r) = rows.next().map_err(sql("charges"))? {
            let c = StripeCharge {
                id: r.get(0).map_err(sql("charges"))?,
                amount: r.get(1).map_err(sql("charges"))?,
                currency: r.get(2).map_err(sql("charges"))?,
                status: r.get(3).map_err(sql("charges"))?,
                created: r.get(4).map_err(sql("charges"))?,
                customer: r.get(5).map_err(sql("charges"))?,
            };
            let pi: Option<String> = r.get(6).map_err(sql("charges"))?;
            if c.created >= from_ts && c.created < to_ts {
                if c.status != "failed" && c.status != "pending" {
                    let t = totals.entry(c.currency.clone()).or_default();
                    t.stripe_charged += c.amount;
                }
                in_period.push(pi.clone().unwrap_or_else(|| c.id.clone()));
            }
            // A payment intent with several attempts: keep the latest one.
            let key = pi.unwrap_or_else(|| c.id.clone());
            match charges.get(&key) {
                Some(old) if old.created > c.created => {}
                _ => {
                    charges.insert(key, c);
                }
            }
        }
    }

    // Platform payments.
    let mut platform: Vec<PlatformPayment> = Vec::new();
    let platform_as_of = crate::cache::table_as_of(conn, "payments")?;
    if has_table(conn, "payments")? {
        let tenant_sql = if has_table(conn, "subscriptions")? {
            "(SELECT s.tenant_id FROM subscriptions s WHERE s.id = p.subscription_id)"
        } else {
            "NULL"
        };
        let mut st = conn
            .prepare(&format!(
                "SELECT p.id, p.amount, COALESCE(p.currency, 'USD'), p.status, COALESCE(p.processed, p.created),
                        p.stripe_payment_intent_id, {tenant_sql}
                 FROM payments p"
            ))
            .map_err(sql("platform payments"))?;
        let mut rows = st.query([]).map_err(sql("platform payments"))?;
        while let Some(r) = rows.next().map_err(sql("platform payments"))? {
            let at: Option<String> = r.get(4).map_err(sql("platform payments"))?;
            let Some(at_ts) = at.as_deref().and_then(rfc3339_secs) else { continue };
            if at_ts < from_ts || at_ts >= to_ts {
                continue;
            }
            let currency: String = r.get::<_, String>(2).map_err(sql("platform payments"))?.to_ascii_lowercase();
            let amount: f64 = r.get(1).map_err(sql("platform payments"))?;
            let minor = (amount * 10f64.powi(exponent(&currency) as i32)).round() as i64;
            platform.push(PlatformPayment {
                id: r.get(0).map_err(sql("platform payments"))?,
                minor,
                currency,
                status: r.get(3).map_err(sql("platform payments"))?,
                at: iso(at_ts),
                pi: r.get(5).map_err(sql("platform payments"))?,
                tenant: r.get(6).map_err(sql("platform payments"))?,
            });
        }
    }
    let mut matched_pis: std::collections::HashSet<String> = std::collections::HashSet::new();
    for p in &platform {
        if !matches!(p.status.as_str(), "failed" | "pending") {
            totals.entry(p.currency.clone()).or_default().platform_collected += p.minor;
        }
        let base = |kind| Discrepancy {
            date: p.at.clone(),
            platform_id: Some(p.id.clone()),
            tenant_id: p.tenant.clone(),
            currency: Some(p.currency.clone()),
            platform_amount: Some(p.minor),
            ..blank(kind)
        };
        let Some(c) = p.pi.as_ref().and_then(|pi| charges.get(pi)) else {
            out.push(Discrepancy { stripe_id: p.pi.clone(), ..base(DiscrepancyKind::MissingInStripe) });
            continue;
        };
        if let Some(pi) = &p.pi {
            matched_pis.insert(pi.clone());
        }
        let with_charge =
            |kind| Discrepancy { stripe_id: Some(c.id.clone()), stripe_amount: Some(c.amount), ..base(kind) };
        if c.currency != p.currency {
            out.push(Discrepancy {
                platform_value: Some(p.currency.clone()),
                stripe_value: Some(c.currency.clone()),
                ..with_charge(DiscrepancyKind::CurrencyMismatch)
            });
        } else if c.amount != p.minor {
            out.push(with_charge(DiscrepancyKind::AmountMismatch));
        }
        if !statuses_agree(&p.status, &c.status) {
            out.push(Discrepancy {
                platform_value: Some(p.status.clone()),
                stripe_value: Some(c.status.clone()),
                ..with_charge(DiscrepancyKind::StatusMismatch)
            });
        }
    }
    for key in &in_period {
        let Some(c) = charges.get(key) else { continue };
        if c.status == "pending" || matched_pis.contains(key) {
            continue;
        }
        out.push(Discrepancy {
            date: iso(c.created),
            stripe_id: Some(c.id.clone()),
            tenant_id: c.customer.as_ref().and_then(|cu| links.get(cu)).map(|l| l.tenant_id.clone()),
            currency: Some(c.currency.clone()),
            stripe_amount: Some(c.amount),
            stripe_value: Some(c.status.clone()),
            ..blank(DiscrepancyKind::MissingInPlatform)
        });
        matched_pis.insert(key.clone()); // a failed and a later attempt: list once
    }

    // Paid invoices without a succeeded charge.
    {
        let mut st = conn
            .prepare(
                "SELECT i.id, i.customer, i.currency, i.amount_paid, i.created FROM stripe_invoices i
                 WHERE i.status = 'paid' AND i.amount_paid > 0 AND i.created >= ?1 AND i.created < ?2
                   AND NOT EXISTS (SELECT 1 FROM stripe_charges c WHERE (c.invoice = i.id OR c.id = i.charge)
                                   AND c.status = 'succeeded')
                 ORDER BY i.created, i.id",
            )
            .map_err(sql("invoices"))?;
        let rows = st
            .query_map([from_ts, to_ts], |r| {
                let customer: String = r.get(1)?;
                Ok(Discrepancy {
                    date: iso(r.get(4)?),
                    stripe_id: Some(r.get(0)?),
                    tenant_id: links.get(&customer).map(|l| l.tenant_id.clone()),
                    currency: Some(r.get(2)?),
                    stripe_amount: Some(r.get(3)?),
                    stripe_value: Some("paid".into()),
                    ..blank(DiscrepancyKind::PaidInvoiceWithoutPayment)
                })
            })
            .map_err(sql("invoices"))?;
        for d in rows {
            out.push(d.map_err(sql("invoices"))?);
        }
    }

    // Refunds and payouts in the period.
    {
        let mut st = conn
            .prepare("SELECT currency, sum(amount) FROM stripe_refunds WHERE created >= ?1 AND created < ?2 AND COALESCE(status, 'succeeded') NOT IN ('failed', 'canceled') GROUP BY currency")
            .map_err(sql("refunds"))?;
        let rows = st
            .query_map([from_ts, to_ts], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(sql("refunds"))?;
        for row in rows {
            let (cur, sum) = row.map_err(sql("refunds"))?;
            totals.entry(cur).or_default().stripe_refunded += sum;
        }
        let mut st = conn
            .prepare(
                "SELECT p.id, p.amount, p.currency, p.created,
                        (SELECT count(*) FROM stripe_payout_transactions x WHERE x.payout = p.id),
                        (SELECT COALESCE(sum(t.net), 0) FROM stripe_payout_transactions x
                         JOIN stripe_balance_transactions t ON t.id = x.balance_transaction
                         WHERE x.payout = p.id AND t.type <> 'payout')
                 FROM stripe_payouts p WHERE p.created >= ?1 AND p.created < ?2 AND p.status NOT IN ('canceled', 'failed')
                 ORDER BY p.created, p.id",
            )
            .map_err(sql("payouts"))?;
        let rows = st
            .query_map([from_ts, to_ts], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })
            .map_err(sql("payouts"))?;
        for row in rows {
            let (id, amount, currency, created, linked, net) = row.map_err(sql("payouts"))?;
            totals.entry(currency.clone()).or_default().payouts += amount;
            if linked > 0 && net != amount {
                out.push(Discrepancy {
                    date: iso(created),
                    stripe_id: Some(id),
                    currency: Some(currency),
                    platform_amount: Some(net),
                    stripe_amount: Some(amount),
                    platform_value: Some("sum of its balance transactions".into()),
                    stripe_value: Some("payout amount".into()),
                    ..blank(DiscrepancyKind::PayoutMismatch)
                });
            }
        }
    }

    // Subscriptions linked both ways.
    if has_table(conn, "subscriptions")? {
        let mut st = conn
            .prepare(
                "SELECT s.id, s.tenant_id, s.status, x.id, x.status, x.created FROM subscriptions s
                 JOIN stripe_subscriptions x ON x.id = s.stripe_subscription_id ORDER BY s.id",
            )
            .map_err(sql("subscriptions"))?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })
            .map_err(sql("subscriptions"))?;
        for row in rows {
            let (id, tenant, status, sid, sstatus, created) = row.map_err(sql("subscriptions"))?;
            let stripe_norm = if sstatus == "trialing" { "active" } else { sstatus.as_str() };
            if status.as_deref() != Some(stripe_norm) {
                out.push(Discrepancy {
                    date: iso(created),
                    platform_id: Some(id),
                    stripe_id: Some(sid),
                    tenant_id: tenant,
                    platform_value: status,
                    stripe_value: Some(sstatus),
                    ..blank(DiscrepancyKind::SubscriptionStatusMismatch)
                });
            }
        }
    }

    out.sort_by(|a, b| {
        (a.kind, &a.date, &a.stripe_id, &a.platform_id).cmp(&(b.kind, &b.date, &b.stripe_id, &b.platform_id))
    });
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for d in &out {
        *counts.entry(d.kind.as_str().into()).or_default() += 1;
    }
    let totals = totals
        .into_iter()
        .map(|(currency, mut t)| {
            t.stripe_net = t.stripe_charged - t.stripe_refunded;
            CurrencyTotals { currency, ..t }
        })
        .collect();
    Ok(Reconciliation {
        from: iso(from_ts),
        to: iso(to_ts),
        discrepancies: out,
        counts,
        totals,
        stripe_as_of,
        platform_as_of,
    })
}

/// The CSV export's columns, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "kind",
    "date_utc",
    "platform_id",
    "stripe_id",
    "tenant_id",
    "currency",
    "platform_amount",
    "stripe_amount",
    "difference",
    "platform_value",
    "stripe_value",
];

/// Writes a reconciliation's discrepancies as CSV (amounts in major units).
pub fn export_csv(r: &Reconciliation, out: impl Write) -> Result<u64, FinanceError> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_COLUMNS)?;
    for d in &r.discrepancies {
        let cur = d.currency.clone().unwrap_or_else(|| "usd".into());
        let money = |v: Option<i64>| v.map(|v| major_units(v, &cur)).unwrap_or_default();
        let diff = match (d.platform_amount, d.stripe_amount) {
            (Some(p), Some(s)) => Some(s - p),
            (None, Some(s)) => Some(s),
            (Some(p), None) => Some(-p),
            (None, None) => None,
        };
        w.write_record([
            d.kind.as_str().to_string(),
            d.date.clone(),
            d.platform_id.clone().unwrap_or_default(),
            d.stripe_id.clone().unwrap_or_default(),
            d.tenant_id.clone().unwrap_or_default(),
            d.currency.clone().map(|c| c.to_ascii_uppercase()).unwrap_or_default(),
            money(d.platform_amount),
            money(d.stripe_amount),
            money(diff),
            d.platform_value.clone().unwrap_or_default(),
            d.stripe_value.clone().unwrap_or_default(),
        ])?;
    }
    w.flush()?;
    Ok(r.discrepancies.len() as u64)
}
