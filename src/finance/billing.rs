//! Invoices, failed payments and subscriptions over the cached Stripe tables.
//!
//! Stripe has no "overdue" status: an invoice is overdue here when it is `open` and its
//! `due_date` has passed. A failed payment is an invoice still `open` after at least one
//! collection attempt whose latest charge failed; "customer notified" means the
//! platform's notifications database holds a `payment_failed` notification for the
//! tenant at or after the first failure (Stripe's own dunning emails are not visible
//! through its API).

use rusqlite::{params, Connection, OptionalExtension};

use super::{email_for, iso, require_synced, sandbox_customers, tenant_links, FinanceError, TenantLink};
use crate::auth::{permissions, Staff};
use crate::cache::CacheError;

/// Invoice states for the filter; `Overdue` is derived (open and past due).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum InvoiceState {
    /// Being edited.
    Draft,
    /// Awaiting payment, not yet due.
    Open,
    /// Open and past its due date.
    Overdue,
    /// Paid.
    Paid,
    /// Cancelled.
    Void,
    /// Written off.
    Uncollectible,
}

impl InvoiceState {
    fn of(status: &str, due_date: Option<i64>, now: i64) -> InvoiceState {
        match status {
            "draft" => InvoiceState::Draft,
            "paid" => InvoiceState::Paid,
            "void" => InvoiceState::Void,
            "uncollectible" => InvoiceState::Uncollectible,
            _ if due_date.is_some_and(|d| d < now) => InvoiceState::Overdue,
            _ => InvoiceState::Open,
        }
    }

    fn sql(self) -> &'static str {
        match self {
            InvoiceState::Draft => "x.status = 'draft'",
            InvoiceState::Open => "(x.status = 'open' AND (x.due_date IS NULL OR x.due_date >= ?now))",
            InvoiceState::Overdue => "(x.status = 'open' AND x.due_date < ?now)",
            InvoiceState::Paid => "x.status = 'paid'",
            InvoiceState::Void => "x.status = 'void'",
            InvoiceState::Uncollectible => "x.status = 'uncollectible'",
        }
    }
}

/// An invoice list request.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct InvoiceQuery {
    /// Any of these states (empty = all).
    pub states: Vec<InvoiceState>,
    /// Only this tenant's invoices.
    pub tenant_id: Option<String>,
    /// Invoice number, invoice id, customer id or customer email (substring).
    pub search: Option<String>,
    /// Page size (1–500, default 50).
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u32>,
}

/// One invoice in the list.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct InvoiceRow {
    /// `in_…`.
    pub id: String,
    /// Invoice number.
    pub number: Option<String>,
    /// Derived state.
    pub state: InvoiceState,
    /// Created (RFC 3339).
    pub created: String,
    /// Due date (RFC 3339).
    pub due_date: Option<String>,
    /// Total, minor units.
    pub total: i64,
    /// Still to pay, minor units.
    pub amount_remaining: i64,
    /// Currency.
    pub currency: String,
    /// Tenant.
    pub tenant_id: Option<String>,
    /// Tenant name.
    pub tenant_name: Option<String>,
    /// Stripe customer.
    pub customer_id: String,
    /// Customer email (masked for support).
    pub customer_email: Option<String>,
    /// Collection attempts so far.
    pub attempt_count: i64,
}

/// A page of invoices.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct InvoicePage {
    /// This page.
    pub rows: Vec<InvoiceRow>,
    /// Matching invoices in all.
    pub total: i64,
    /// When Stripe was last synced.
    pub as_of: String,
}

/// A line of an invoice.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct InvoiceLine {
    /// What was billed.
    pub description: Option<String>,
    /// Quantity.
    pub quantity: Option<i64>,
    /// Amount before discounts and taxes, minor units.
    pub amount: i64,
    /// Discounts on this line.
    pub discount: i64,
    /// Tax on this line.
    pub tax: i64,
    /// Billing period (RFC 3339).
    pub period_start: Option<String>,
    /// Billing period end.
    pub period_end: Option<String>,
    /// A proration.
    pub proration: bool,
}

/// A refund shown with its invoice.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RefundRow {
    /// `re_…`.
    pub id: String,
    /// The charge refunded.
    pub charge_id: Option<String>,
    /// Amount, minor units.
    pub amount: i64,
    /// Currency.
    pub currency: String,
    /// Stripe's status.
    pub status: Option<String>,
    /// Stripe's reason code.
    pub reason: Option<String>,
    /// When.
    pub created: String,
}

/// An invoice with its lines, payments and refunds.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct InvoiceDetail {
    /// The list row.
    pub invoice: InvoiceRow,
    /// Subtotal, minor units.
    pub subtotal: i64,
    /// Tax.
    pub tax: i64,
    /// Discount.
    pub discount: i64,
    /// Paid so far.
    pub amount_paid: i64,
    /// Paid at.
    pub paid_at: Option<String>,
    /// Next automatic collection attempt.
    pub next_payment_attempt: Option<String>,
    /// The subscription it bills.
    pub subscription_id: Option<String>,
    /// Stripe's PDF link (`None` for roles without `pii.view`).
    pub invoice_pdf: Option<String>,
    /// Lines.
    pub lines: Vec<InvoiceLine>,
    /// Charges that tried to pay it (newest first).
    pub payments: Vec<super::payments::PaymentRow>,
    /// Refunds of those charges.
    pub refunds: Vec<RefundRow>,
}

/// A payment that failed and is still owed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FailedPayment {
    /// The open invoice.
    pub invoice: InvoiceRow,
    /// The latest failed charge.
    pub charge_id: Option<String>,
    /// Decline code of the latest attempt.
    pub failure_code: Option<String>,
    /// Decline message.
    pub failure_message: Option<String>,
    /// When the latest attempt failed.
    pub failed_at: Option<String>,
    /// Next automatic retry (Stripe's Smart Retries), if scheduled.
    pub next_retry: Option<String>,
    /// Whether the platform notified the customer (a `payment_failed` notification).
    pub customer_notified: bool,
}

/// A subscription.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SubscriptionRow {
    /// `sub_…`.
    pub id: String,
    /// Stripe status (active, trialing, past_due, canceled, paused…).
    pub status: String,
    /// Plan names of its items.
    pub plan: String,
    /// The first item's price.
    pub price_id: Option<String>,
    /// `month` / `year`.
    pub interval: Option<String>,
    /// Price per interval, minor units (sum of items × quantity).
    pub amount: i64,
    /// Currency.
    pub currency: Option<String>,
    /// Next renewal (period end) unless it cancels then.
    pub renews_at: Option<String>,
    /// Cancels at the period end.
    pub cancel_at_period_end: bool,
    /// Collection paused (`keep_as_draft` / `mark_uncollectible` / `void`).
    pub paused: Option<String>,
    /// Discount, for people: "20% off (repeating)", "10.00 off".
    pub discount: Option<String>,
    /// Tenant.
    pub tenant_id: Option<String>,
    /// Tenant name.
    pub tenant_name: Option<String>,
    /// Customer.
    pub customer_id: String,
    /// Customer email (masked for support).
    pub customer_email: Option<String>,
}

struct Scope {
    links: std::collections::HashMap<String, TenantLink>,
    filters: Vec<String>,
    args: Vec<rusqlite::types::Value>,
}

/// Tenant, sandbox and search filters shared by invoices and subscriptions (aliased
/// `x`); `by_number` also matches the search text as an invoice number.
fn scope(
    conn: &Connection,
    staff: &Staff,
    tenant: Option<&str>,
    search: Option<&str>,
    by_number: bool,
) -> Result<Scope, FinanceError> {
    use rusqlite::types::Value;
    let links = tenant_links(conn)?;
    let mut filters = Vec::new();
    let mut args = Vec::new();
    let only_customers = |list: Vec<String>, filters: &mut Vec<String>, args: &mut Vec<Value>| {
        filters.push(if list.is_empty() {
            "0".into()
        } else {
            format!("x.customer IN ({})", vec!["?"; list.len()].join(", "))
        });
        args.extend(list.into_iter().map(Value::Text));
    };
    if staff.sandbox_only() {
        only_customers(sandbox_customers(conn, &links)?.into_iter().collect(), &mut filters, &mut args);
    }
    if let Some(t) = tenant.filter(|t| !t.is_empty()) {
        let list = links.iter().filter(|(_, l)| l.tenant_id == t).map(|(c, _)| c.clone()).collect();
        only_customers(list, &mut filters, &mut args);
    }
    let search: String = search.unwrap_or("").trim().chars().take(super::payments::MAX_SEARCH_CHARS).collect();
    if !search.is_empty() {
        let needle = search.to_lowercase();
        let like = format!("%{}%", needle.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let mut terms = vec![
            "x.id = ?".to_string(),
            "x.customer = ?".into(),
            "x.customer IN (SELECT id FROM stripe_customers
                            WHERE lower(email) LIKE ? ESCAPE '\\' OR lower(name) LIKE ? ESCAPE '\\')"
                .into(),
        ];
        args.extend([
            Value::Text(search.clone()),
            Value::Text(search.clone()),
            Value::Text(like.clone()),
            Value::Text(like),
        ]);
        if by_number {
            terms.push("upper(x.number) = ?".into());
            args.push(Value::Text(search.to_uppercase()));
        }
        let by_tenant: Vec<String> = links
            .iter()
            .filter(|(_, l)| l.name.as_deref().is_some_and(|n| n.to_lowercase().contains(&needle)))
            .map(|(c, _)| c.clone())
            .collect();
        if !by_tenant.is_empty() {
            terms.push(format!("x.customer IN ({})", vec!["?"; by_tenant.len()].join(", ")));
            args.extend(by_tenant.into_iter().map(Value::Text));
        }
        filters.push(format!("({})", terms.join(" OR ")));
    }
    Ok(Scope { links, filters, args })
}

fn where_clause(filters: &[String]) -> String {
    if filters.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", filters.join(" AND "))
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

const INVOICE_COLUMNS: &str = "x.id, x.number, x.status, x.due_date, x.created, x.total, x.amount_remaining,
    x.currency, x.customer, (SELECT cu.email FROM stripe_customers cu WHERE cu.id = x.customer), x.attempt_count";

fn invoice_row(staff: &Staff, scope: &Scope, now: i64, r: &rusqlite::Row<'_>) -> rusqlite::Result<InvoiceRow> {
    let status: Option<String> = r.get(2)?;
    let due: Option<i64> = r.get(3)?;
    let customer: String = r.get(8)?;
    let link = scope.links.get(&customer);
    Ok(InvoiceRow {
        id: r.get(0)?,
        number: r.get(1)?,
        state: InvoiceState::of(status.as_deref().unwrap_or("draft"), due, now),
        created: iso(r.get(4)?),
        due_date: due.map(iso),
        total: r.get(5)?,
        amount_remaining: r.get(6)?,
        currency: r.get(7)?,
        tenant_id: link.map(|l| l.tenant_id.clone()),
        tenant_name: link.and_then(|l| l.name.clone()),
        customer_email: email_for(staff, r.get(9)?),
        customer_id: customer,
        attempt_count: r.get(10)?,
    })
}

/// Lists invoices, newest first. Needs `finance.read`.
pub fn invoices(conn: &Connection, staff: &Staff, q: &InvoiceQuery) -> Result<InvoicePage, FinanceError> {
    staff.require(permissions::FINANCE_READ)?;
    let as_of = require_synced(conn)?;
    let now = now();
    let mut s = scope(conn, staff, q.tenant_id.as_deref(), q.search.as_deref(), true)?;
    if !q.states.is_empty() {
        let states: Vec<String> = q.states.iter().map(|st| st.sql().replace("?now", &now.to_string())).collect();
        s.filters.push(format!("({})", states.join(" OR ")));
    }
    let where_sql = where_clause(&s.filters);
    let args = s.args.clone();
    let total: i64 = conn
        .query_row(
            &format!("SELECT count(*) FROM stripe_invoices x {where_sql}"),
            rusqlite::params_from_iter(&args),
            |r| r.get(0),
        )
        .map_err(CacheError::sql("counting invoices"))?;
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let offset = q.offset.unwrap_or(0);
    let mut st = conn
        .prepare(&format!(
            "SELECT {INVOICE_COLUMNS} FROM stripe_invoices x {where_sql}
             ORDER BY x.created DESC, x.id DESC LIMIT {limit} OFFSET {offset}"
        ))
        .map_err(CacheError::sql("listing invoices"))?;
    let rows = st
        .query_map(rusqlite::params_from_iter(&args), |r| invoice_row(staff, &s, now, r))
        .map_err(CacheError::sql("listing invoices"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(CacheError::sql("listing invoices"))?;
    Ok(InvoicePage { rows, total, as_of })
}

/// One invoice with lines, payments and refunds. Needs `finance.read`.
pub fn invoice(conn: &Connection, staff: &Staff, id: &str) -> Result<Option<InvoiceDetail>, FinanceError> {
    staff.require(permissions::FINANCE_READ)?;
    require_synced(conn)?;
    let now = now();
    let s = scope(conn, staff, None, None, false)?;
    let sandbox_filter = if s.filters.is_empty() { String::new() } else { format!("AND {}", s.filters.join(" AND ")) };
    let mut args = vec![rusqlite::types::Value::Text(id.to_string())];
    args.extend(s.args.iter().cloned());
    let head = conn
        .query_row(
            &format!(
                "SELECT {INVOICE_COLUMNS}, x.subtotal, x.tax, x.discount, x.amount_paid, x.paid_at,
                        x.next_payment_attempt, x.subscription, x.invoice_pdf
                 FROM stripe_invoices x WHERE x.id = ? {sandbox_filter}"
            ),
            rusqlite::params_from_iter(&args),
            |r| {
                Ok((
                    invoice_row(staff, &s, now, r)?,
                    (r.get::<_, i64>(11)?, r.get::<_, Option<i64>>(12)?, r.get::<_, i64>(13)?, r.get::<_, i64>(14)?),
                    (r.get::<_, Option<i64>>(15)?, r.get::<_, Option<i64>>(16)?),
                    (r.get::<_, Option<String>>(17)?, r.get::<_, Option<String>>(18)?),
                ))
            },
        )
        .optional()
        .map_err(CacheError::sql("reading an invoice"))?;
    let Some((row, (subtotal, tax, discount, amount_paid), (paid_at, next_attempt), (subscription, pdf))) = head else {
        return Ok(None);
    };
    let mut st = conn
        .prepare(
            "SELECT description, quantity, amount, discount, tax, period_start, period_end, proration
             FROM stripe_invoice_lines WHERE invoice = ?1 ORDER BY rowid",
        )
        .map_err(CacheError::sql("reading invoice lines"))?;
    let lines = st
        .query_map([id], |r| {
            Ok(InvoiceLine {
                description: r.get(0)?,
                quantity: r.get(1)?,
                amount: r.get(2)?,
                discount: r.get(3)?,
                tax: r.get(4)?,
                period_start: r.get::<_, Option<i64>>(5)?.map(iso),
                period_end: r.get::<_, Option<i64>>(6)?.map(iso),
                proration: r.get::<_, i64>(7)? != 0,
            })
        })
        .map_err(CacheError::sql("reading invoice lines"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(CacheError::sql("reading invoice lines"))?;
    let payments = super::payments::list(
        conn,
        staff,
        &super::payments::PaymentQuery {
            search: Some(id.to_string()),
            descending: true,
            limit: Some(100),
            ..Default::default()
        },
    )?
    .rows;
    let mut st = conn
        .prepare(
            "SELECT r.id, r.charge, r.amount, r.currency, r.status, r.reason, r.created FROM stripe_refunds r
             JOIN stripe_charges c ON c.id = r.charge WHERE c.invoice = ?1 ORDER BY r.created DESC",
        )
        .map_err(CacheError::sql("reading refunds"))?;
    let refunds = st
        .query_map([id], |r| {
            Ok(RefundRow {
                id: r.get(0)?,
                charge_id: r.get(1)?,
                amount: r.get(2)?,
                currency: r.get(3)?,
                status: r.get(4)?,
                reason: r.get(5)?,
                created: iso(r.get(6)?),
            })
        })
        .map_err(CacheError::sql("reading refunds"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(CacheError::sql("reading refunds"))?;
    Ok(Some(InvoiceDetail {
        invoice: row,
        subtotal,
        tax: tax.unwrap_or(0),
        discount,
        amount_paid,
        paid_at: paid_at.map(iso),
        next_payment_attempt: next_attempt.map(iso),
        subscription_id: subscription,
        // Never to a role that sees personal data masked (the PDF names the customer).
        invoice_pdf: pdf.filter(|_| !staff.masked()),
        lines,
        payments,
        refunds,
    }))
}

/// Open invoices whose latest collection attempt failed, newest failure first.
/// Needs `finance.read`.
pub fn failed_payments(
    conn: &Connection,
    staff: &Staff,
    tenant: Option<&str>,
) -> Result<Vec<FailedPayment>, FinanceError> {
    staff.require(permissions::FINANCE_READ)?;
    require_synced(conn)?;
    let now = now();
    let s = scope(conn, staff, tenant, None, false)?;
    let extra = if s.filters.is_empty() { String::new() } else { format!("AND {}", s.filters.join(" AND ")) };
    let have_notifications: bool = conn
        .query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'notifications')", [], |r| r.get(0))
        .map_err(CacheError::sql("reading the schema"))?;
    let mut st = conn
        .prepare(&format!(
            "SELECT {INVOICE_COLUMNS}, c.id, c.failure_code, c.failure_message, c.created, x.next_payment_attempt
             FROM stripe_invoices x
             JOIN stripe_charges c ON c.id = (SELECT id FROM stripe_charges WHERE invoice = x.id
                                              ORDER BY created DESC, id DESC LIMIT 1)
             WHERE x.status = 'open' AND x.attempt_count > 0 AND c.payment_status = 'failed' {extra}
             ORDER BY c.created DESC, x.id"
        ))
        .map_err(CacheError::sql("listing failed payments"))?;
    let mut rows = st
        .query_map(rusqlite::params_from_iter(&s.args), |r| {
            Ok((
                invoice_row(staff, &s, now, r)?,
                r.get::<_, Option<String>>(11)?,
                r.get::<_, Option<String>>(12)?,
                r.get::<_, Option<String>>(13)?,
                r.get::<_, Option<i64>>(14)?,
                r.get::<_, Option<i64>>(15)?,
            ))
        })
        .map_err(CacheError::sql("listing failed payments"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(CacheError::sql("listing failed payments"))?;
    let mut out = Vec::with_capacity(rows.len());
    for (invoice, charge_id, failure_code, failure_message, failed_at, next) in rows.drain(..) {
        let customer_notified = match (&invoice.tenant_id, have_notifications) {
            (Some(tenant), true) => notified(conn, tenant, first_failure(conn, &invoice.id)?.or(failed_at))?,
            _ => false,
        };
        out.push(FailedPayment {
            invoice,
            charge_id,
            failure_code,
            failure_message,
            failed_at: failed_at.map(iso),
            next_retry: next.map(iso),
            customer_notified,
        });
    }
    Ok(out)
}

fn first_failure(conn: &Connection, invoice: &str) -> Result<Option<i64>, CacheError> {
    conn.query_row(
        "SELECT min(created) FROM stripe_charges WHERE invoice = ?1 AND payment_status = 'failed'",
        [invoice],
        |r| r.get(0),
    )
    .map_err(CacheError::sql("reading failed charges"))
}

fn notified(conn: &Connection, tenant: &str, since: Option<i64>) -> Result<bool, CacheError> {
    let since = since.map(iso).unwrap_or_default();
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM notifications WHERE tenant_id = ?1 AND type = 'payment_failed'
                        AND created_at >= ?2)",
        params![tenant, since],
        |r| r.get(0),
    )
    .map_err(CacheError::sql("reading notifications"))
}

/// Subscriptions, filtered by status, tenant and search; newest first (at most 500).
/// Needs `finance.read`.
pub fn subscriptions(
    conn: &Connection,
    staff: &Staff,
    status: Option<&str>,
    tenant: Option<&str>,
    search: Option<&str>,
) -> Result<Vec<SubscriptionRow>, FinanceError> {
    staff.require(permissions::FINANCE_READ)?;
    require_synced(conn)?;
    let mut s = scope(conn, staff, tenant, search, false)?;
    if let Some(st) = status.filter(|s| !s.is_empty()) {
        s.filters.push("x.status = ?".into());
        s.args.push(rusqlite::types::Value::Text(st.to_string()));
    }
    let where_sql = where_clause(&s.filters);
    let mut st = conn
        .prepare(&format!(
            "SELECT x.id, x.status, x.customer, (SELECT email FROM stripe_customers cu WHERE cu.id = x.customer),
                    x.current_period_end, x.cancel_at_period_end, x.pause_behavior, x.coupon_percent_off_bp,
                    x.coupon_amount_off, x.coupon_duration,
                    (SELECT group_concat(coalesce(nickname, price_id), ', ') FROM stripe_subscription_items
                     WHERE subscription = x.id),
                    (SELECT price_id FROM stripe_subscription_items WHERE subscription = x.id ORDER BY id LIMIT 1),
                    (SELECT interval FROM stripe_subscription_items WHERE subscription = x.id ORDER BY id LIMIT 1),
                    (SELECT sum(coalesce(unit_amount, 0) * quantity) FROM stripe_subscription_items
                     WHERE subscription = x.id),
                    (SELECT currency FROM stripe_subscription_items WHERE subscription = x.id ORDER BY id LIMIT 1),
                    x.ended_at
             FROM stripe_subscriptions x {where_sql} ORDER BY x.created DESC, x.id LIMIT 500"
        ))
        .map_err(CacheError::sql("listing subscriptions"))?;
    let rows = st
        .query_map(rusqlite::params_from_iter(&s.args), |r| {
            let customer: String = r.get(2)?;
            let link = s.links.get(&customer);
            let currency: Option<String> = r.get(14)?;
            let discount = match (r.get::<_, Option<i64>>(7)?, r.get::<_, Option<i64>>(8)?) {
                (Some(bp), _) => Some(format!("{}% off", bp as f64 / 100.0)),
                (None, Some(off)) => {
                    Some(format!("{} off", super::major_units(off, currency.as_deref().unwrap_or("usd"))))
                }
                _ => None,
            }
            .map(|d| match r.get::<_, Option<String>>(9).ok().flatten() {
                Some(duration) => format!("{d} ({duration})"),
                None => d,
            });
            let status: String = r.get(1)?;
            let ended: Option<i64> = r.get(15)?;
            let cancel_at_end = r.get::<_, i64>(5)? != 0;
            Ok(SubscriptionRow {
                id: r.get(0)?,
                renews_at: if ended.is_some() || cancel_at_end || status == "canceled" {
                    None
                } else {
                    r.get::<_, Option<i64>>(4)?.map(iso)
                },
                status,
                plan: r.get::<_, Option<String>>(10)?.unwrap_or_default(),
                price_id: r.get(11)?,
                interval: r.get(12)?,
                amount: r.get::<_, Option<i64>>(13)?.unwrap_or(0),
                currency,
                cancel_at_period_end: cancel_at_end,
                paused: r.get(6)?,
                discount,
                tenant_id: link.map(|l| l.tenant_id.clone()),
                tenant_name: link.and_then(|l| l.name.clone()),
                customer_email: email_for(staff, r.get(3)?),
                customer_id: customer,
            })
        })
        .map_err(CacheError::sql("listing subscriptions"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(CacheError::sql("listing subscriptions"))?;
    Ok(rows)
}

/// A Stripe customer, for pickers.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CustomerOption {
    /// `cus_…`.
    pub id: String,
    /// Email (masked for support).
    pub email: Option<String>,
    /// The tenant it belongs to.
    pub tenant_name: Option<String>,
    /// Default currency.
    pub currency: Option<String>,
}

/// Up to 20 customers matching an email, name, tenant or id. Needs `finance.read`.
pub fn customers(conn: &Connection, staff: &Staff, search: &str) -> Result<Vec<CustomerOption>, FinanceError> {
    staff.require(permissions::FINANCE_READ)?;
    require_synced(conn)?;
    let s = scope(conn, staff, None, Some(search), false)?;
    let mut st = conn
        .prepare(&format!(
            "SELECT x.id, x.email, x.currency FROM (SELECT id, id AS customer, email, name, currency, created
                 FROM stripe_customers WHERE deleted = 0) x {} ORDER BY x.created DESC LIMIT 20",
            where_clause(&s.filters)
        ))
        .map_err(CacheError::sql("searching customers"))?;
    let rows = st
        .query_map(rusqlite::params_from_iter(&s.args), |r| {
            let id: String = r.get(0)?;
            Ok(CustomerOption {
                tenant_name: s.links.get(&id).and_then(|l| l.name.clone()),
                email: email_for(staff, r.get(1)?),
                currency: r.get(2)?,
                id,
            })
        })
        .map_err(CacheError::sql("searching customers"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(CacheError::sql("searching customers"))?;
    Ok(rows)
}
