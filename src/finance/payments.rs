//! The payments list: every Stripe charge (succeeded, failed, pending, refunded,
//! partially refunded, disputed) with its tenant, customer, invoice and card brand +
//! last four digits (nothing more of the card is ever stored), filtered, sorted and
//! paged in SQL; and its CSV export.
//!
//! Fast at a million charges: filters hit the indexes the Stripe sync creates
//! (`created`, `payment_status, created`, `customer, created`, `amount`); a tenant
//! becomes its Stripe customer ids (from `tenant_config`) so the tenant filter is an
//! index lookup too. Free text is matched where an index or a small table makes it
//! cheap: a Stripe id by its prefix (`ch_`, `pi_`, `in_`, `cus_`), an invoice number
//! exactly, customer emails and names and tenant names by substring (one row per
//! customer, not per payment).

use std::io::Write;

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};

use super::{email_for, iso, major_units, require_synced, sandbox_customers, tenant_links, FinanceError, TenantLink};
use crate::auth::{permissions, Staff};
use crate::cache::CacheError;

/// Status of a payment in the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum PaymentStatus {
    /// Paid, nothing refunded.
    Succeeded,
    /// Declined or errored.
    Failed,
    /// Not settled yet.
    Pending,
    /// Refunded in full.
    Refunded,
    /// Partly refunded.
    PartiallyRefunded,
    /// Under (or lost) dispute.
    Disputed,
}

impl PaymentStatus {
    fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Pending => "pending",
            PaymentStatus::Refunded => "refunded",
            PaymentStatus::PartiallyRefunded => "partially_refunded",
            PaymentStatus::Disputed => "disputed",
        }
    }
}

/// Sortable columns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum PaymentSort {
    /// By date (default, newest first when descending).
    #[default]
    Created,
    /// By amount.
    Amount,
    /// By status.
    Status,
}

/// A payments list request. Dates are `YYYY-MM-DD` or RFC 3339; `to` is exclusive.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PaymentQuery {
    /// Only this tenant's payments.
    pub tenant_id: Option<String>,
    /// From (inclusive).
    pub from: Option<String>,
    /// To (exclusive).
    pub to: Option<String>,
    /// Any of these statuses (empty = all).
    pub statuses: Vec<PaymentStatus>,
    /// Minimum amount, minor units.
    pub min_amount: Option<i64>,
    /// Maximum amount, minor units (inclusive).
    pub max_amount: Option<i64>,
    /// ISO currency code.
    pub currency: Option<String>,
    /// Decline code (`insufficient_funds`…).
    pub failure_code: Option<String>,
    /// Customer email or name, tenant name, invoice number or a Stripe id.
    pub search: Option<String>,
    /// Sort column.
    pub sort: PaymentSort,
    /// Descending (newest / largest first).
    pub descending: bool,
    /// Page size (1–500, default 50).
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u32>,
}

/// One payment.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PaymentRow {
    /// Stripe charge id.
    pub id: String,
    /// When (UTC, RFC 3339).
    pub created: String,
    /// Amount, minor units.
    pub amount: i64,
    /// Refunded so far, minor units.
    pub amount_refunded: i64,
    /// Currency (lowercase ISO, as Stripe sends it).
    pub currency: String,
    /// succeeded / failed / pending / refunded / partially_refunded / disputed.
    pub status: String,
    /// Tenant, when the customer is linked to one.
    pub tenant_id: Option<String>,
    /// Tenant name.
    pub tenant_name: Option<String>,
    /// Stripe customer id.
    pub customer_id: Option<String>,
    /// Customer email (masked for support).
    pub customer_email: Option<String>,
    /// Invoice id.
    pub invoice_id: Option<String>,
    /// Invoice number.
    pub invoice_number: Option<String>,
    /// Payment intent id.
    pub payment_intent_id: Option<String>,
    /// Card brand.
    pub card_brand: Option<String>,
    /// Card last four digits.
    pub card_last4: Option<String>,
    /// Decline code.
    pub failure_code: Option<String>,
    /// Decline message.
    pub failure_message: Option<String>,
}

/// A page of payments.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PaymentPage {
    /// This page.
    pub rows: Vec<PaymentRow>,
    /// Matching payments in all.
    pub total: i64,
    /// When Stripe was last synced (UTC).
    pub as_of: String,
}

/// Longest search text accepted.
pub const MAX_SEARCH_CHARS: usize = 200;
/// Matching customers bound as a list; more are joined in SQL instead.
const MAX_LISTED_CUSTOMERS: usize = 5_000;

struct Built {
    where_sql: String,
    args: Vec<Value>,
    order: String,
    links: std::collections::HashMap<String, TenantLink>,
}

fn in_list(column: &str, values: impl IntoIterator<Item = String>, args: &mut Vec<Value>) -> String {
    let values: Vec<String> = values.into_iter().collect();
    if values.is_empty() {
        return "0".into();
    }
    let marks = vec!["?"; values.len()].join(", ");
    args.extend(values.into_iter().map(Value::Text));
    format!("{column} IN ({marks})")
}

fn build(conn: &Connection, staff: &Staff, q: &PaymentQuery) -> Result<Built, FinanceError> {
    let links = tenant_links(conn)?;
    let mut filters: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if staff.sandbox_only() {
        let allowed = sandbox_customers(conn, &links)?;
        filters.push(in_list("c.customer", allowed, &mut args));
    }
    if let Some(t) = q.tenant_id.as_deref().filter(|t| !t.is_empty()) {
        let customers = links.iter().filter(|(_, l)| l.tenant_id == t).map(|(c, _)| c.clone());
        filters.push(in_list("c.customer", customers, &mut args));
    }
    if let Some(from) = q.from.as_deref().filter(|s| !s.is_empty()) {
        filters.push("c.created >= ?".into());
        args.push(Value::Integer(super::parse_time(from)?));
    }
    if let Some(to) = q.to.as_deref().filter(|s| !s.is_empty()) {
        filters.push("c.created < ?".into());
        args.push(Value::Integer(super::parse_time(to)?));
    }
    if !q.statuses.is_empty() {
        filters.push(in_list("c.payment_status", q.statuses.iter().map(|s| s.as_str().to_string()), &mut args));
    }
    if let Some(min) = q.min_amount {
        filters.push("c.amount >= ?".into());
        args.push(Value::Integer(min));
    }
    if let Some(max) = q.max_amount {
        filters.push("c.amount <= ?".into());
        args.push(Value::Integer(max));
    }
    if let Some(cur) = q.currency.as_deref().filter(|s| !s.is_empty()) {
        filters.push("c.currency = ?".into());
        args.push(Value::Text(cur.trim().to_ascii_lowercase()));
    }
    if let Some(code) = q.failure_code.as_deref().filter(|s| !s.is_empty()) {
        filters.push("c.failure_code = ?".into());
        args.push(Value::Text(code.trim().to_string()));
    }
    let search: String = q.search.as_deref().unwrap_or("").trim().chars().take(MAX_SEARCH_CHARS).collect();
    if !search.is_empty() {
        let id_column = [
            ("ch_", "c.id"),
            ("py_", "c.id"),
            ("pi_", "c.payment_intent"),
            ("in_", "c.invoice"),
            ("cus_", "c.customer"),
        ]
        .iter()
        .find(|(prefix, _)| search.starts_with(prefix))
        .map(|(_, col)| *col);
        match id_column {
            Some(col) => {
                filters.push(format!("{col} = ?"));
                args.push(Value::Text(search));
            }
            None => {
                // Resolved here, over the small tables (customers, invoices by number),
                // so the charges are reached through their customer and invoice indexes.
                let needle = search.to_lowercase();
                let mut customers: std::collections::BTreeSet<String> = links
                    .iter()
                    .filter(|(_, l)| l.name.as_deref().is_some_and(|n| n.to_lowercase().contains(&needle)))
                    .map(|(c, _)| c.clone())
                    .collect();
                let like = format!("%{}%", needle.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
                let mut st = conn
                    .prepare_cached(
                        "SELECT id FROM stripe_customers
                         WHERE lower(email) LIKE ?1 ESCAPE '\\' OR lower(name) LIKE ?1 ESCAPE '\\'",
                    )
                    .map_err(CacheError::sql("searching customers"))?;
                let found = st
                    .query_map([&like], |r| r.get::<_, String>(0))
                    .map_err(CacheError::sql("searching customers"))?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(CacheError::sql("searching customers"))?;
                let many = found.len() > MAX_LISTED_CUSTOMERS;
                if !many {
                    customers.extend(found);
                }
                let mut st = conn
                    .prepare_cached("SELECT id FROM stripe_invoices WHERE number = ?1 OR number = ?2")
                    .map_err(CacheError::sql("searching invoices"))?;
                let invoices = st
                    .query_map([search.clone(), search.to_uppercase()], |r| r.get::<_, String>(0))
                    .map_err(CacheError::sql("searching invoices"))?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(CacheError::sql("searching invoices"))?;
                let mut terms = Vec::new();
                if many {
                    // A very broad search: let SQLite join instead of binding a huge list.
                    terms.push(
                        "c.customer IN (SELECT id FROM stripe_customers
                                        WHERE lower(email) LIKE ? ESCAPE '\\' OR lower(name) LIKE ? ESCAPE '\\')"
                            .to_string(),
                    );
                    args.push(Value::Text(like.clone()));
                    args.push(Value::Text(like.clone()));
                }
                if !customers.is_empty() {
                    terms.push(in_list("c.customer", customers, &mut args));
                }
                if !invoices.is_empty() {
                    terms.push(in_list("c.invoice", invoices, &mut args));
                }
                filters.push(if terms.is_empty() { "0".into() } else { format!("({})", terms.join(" OR ")) });
            }
        }
    }
    let where_sql = if filters.is_empty() { String::new() } else { format!("WHERE {}", filters.join(" AND ")) };
    let dir = if q.descending { "DESC" } else { "ASC" };
    let order = match q.sort {
        // Every key in one direction, so each sort is one index walked forwards or backwards.
        PaymentSort::Created => format!("c.created {dir}, c.id {dir}"),
        PaymentSort::Amount => format!("c.amount {dir}, c.created {dir}, c.id {dir}"),
        PaymentSort::Status => format!("c.payment_status {dir}, c.created {dir}, c.id {dir}"),
    };
    Ok(Built { where_sql, args, order, links })
}

const COLUMNS: &str = "c.id, c.created, c.amount, c.amount_refunded, c.currency, c.payment_status, c.customer,
    (SELECT cu.email FROM stripe_customers cu WHERE cu.id = c.customer),
    c.invoice, (SELECT i.number FROM stripe_invoices i WHERE i.id = c.invoice),
    c.payment_intent, c.card_brand, c.card_last4, c.failure_code, c.failure_message";

fn row(
    staff: &Staff,
    links: &std::collections::HashMap<String, TenantLink>,
    r: &rusqlite::Row<'_>,
) -> rusqlite::Result<PaymentRow> {
    let customer: Option<String> = r.get(6)?;
    let link = customer.as_ref().and_then(|c| links.get(c));
    Ok(PaymentRow {
        id: r.get(0)?,
        created: iso(r.get(1)?),
        amount: r.get(2)?,
        amount_refunded: r.get(3)?,
        currency: r.get(4)?,
        status: r.get(5)?,
        tenant_id: link.map(|l| l.tenant_id.clone()),
        tenant_name: link.and_then(|l| l.name.clone()),
        customer_email: email_for(staff, r.get(7)?),
        customer_id: customer,
        invoice_id: r.get(8)?,
        invoice_number: r.get(9)?,
        payment_intent_id: r.get(10)?,
        card_brand: r.get(11)?,
        card_last4: r.get(12)?,
        failure_code: r.get(13)?,
        failure_message: r.get(14)?,
    })
}

/// Lists payments, filtered, sorted and paged in SQL. Needs `finance.read`.
pub fn list(conn: &Connection, staff: &Staff, q: &PaymentQuery) -> Result<PaymentPage, FinanceError> {
    staff.require(permissions::FINANCE_READ)?;
    let as_of = require_synced(conn)?;
    let b = build(conn, staff, q)?;
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let offset = q.offset.unwrap_or(0);
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM stripe_charges c {}", b.where_sql))
        .and_then(|mut s| s.query_row(params_from_iter(b.args.iter()), |r| r.get(0)))
        .map_err(CacheError::sql("counting payments"))?;
    let mut st = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM stripe_charges c {} ORDER BY {} LIMIT {limit} OFFSET {offset}",
            b.where_sql, b.order
        ))
        .map_err(CacheError::sql("listing payments"))?;
    let rows = st
        .query_map(params_from_iter(b.args.iter()), |r| row(staff, &b.links, r))
        .map_err(CacheError::sql("listing payments"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(CacheError::sql("listing payments"))?;
    Ok(PaymentPage { rows, total, as_of })
}

/// The CSV export's columns, in this order (stable: scripts may rely on it). Dates are
/// UTC ISO-8601, amounts in major units (`123.45`) with the currency in its own column.
pub const CSV_COLUMNS: &[&str] = &[
    "charge_id",
    "created_utc",
    "status",
    "amount",
    "amount_refunded",
    "currency",
    "tenant_id",
    "tenant_name",
    "customer_id",
    "customer_email",
    "invoice_id",
    "invoice_number",
    "payment_intent_id",
    "card_brand",
    "card_last4",
    "failure_code",
    "failure_message",
];

/// Writes exactly the payments `q` matches (all pages, the query's order) as CSV, one
/// row per payment. `progress(done, total)` is called every 5,000 rows and at the end;
/// returning `false` from it cancels. Needs `finance.read`; emails masked for support.
pub fn export_csv(
    conn: &Connection,
    staff: &Staff,
    q: &PaymentQuery,
    out: impl Write,
    mut progress: impl FnMut(u64, u64) -> bool,
) -> Result<u64, FinanceError> {
    staff.require(permissions::FINANCE_READ)?;
    require_synced(conn)?;
    let b = build(conn, staff, q)?;
    let total: i64 = conn
        .prepare(&format!("SELECT count(*) FROM stripe_charges c {}", b.where_sql))
        .and_then(|mut s| s.query_row(params_from_iter(b.args.iter()), |r| r.get(0)))
        .map_err(CacheError::sql("counting payments"))?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_COLUMNS)?;
    let mut st = conn
        .prepare(&format!("SELECT {COLUMNS} FROM stripe_charges c {} ORDER BY {}", b.where_sql, b.order))
        .map_err(CacheError::sql("exporting payments"))?;
    let mut rows = st.query(params_from_iter(b.args.iter())).map_err(CacheError::sql("exporting payments"))?;
    let mut done = 0u64;
    while let Some(r) = rows.next().map_err(CacheError::sql("exporting payments"))? {
        let p = row(staff, &b.links, r).map_err(CacheError::sql("exporting payments"))?;
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        w.write_record([
            p.id.clone(),
            p.created.clone(),
            p.status.clone(),
            major_units(p.amount, &p.currency),
            major_units(p.amount_refunded, &p.currency),
            p.currency.to_ascii_uppercase(),
            o(&p.tenant_id),
            o(&p.tenant_name),
            o(&p.customer_id),
            o(&p.customer_email),
            o(&p.invoice_id),
            o(&p.invoice_number),
            o(&p.payment_intent_id),
            o(&p.card_brand),
            o(&p.card_last4),
            o(&p.failure_code),
            o(&p.failure_message),
        ])?;
        done += 1;
        if done % 5000 == 0 && !progress(done, total as u64) {
            return Err(FinanceError::Cancelled);
        }
    }
    w.flush()?;
    progress(done, total as u64);
    Ok(done)
}
