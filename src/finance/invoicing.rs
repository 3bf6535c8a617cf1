//! Manual invoices for custom deals, and invoice PDFs.
//!
//! A manual invoice is three kinds of Stripe request: a draft invoice
//! (`POST /v1/invoices`, emailed to the customer with a due date), one invoice item per
//! line (`POST /v1/invoiceitems` with `invoice`), and the finalisation that gives it its
//! number (`POST /v1/invoices/{id}/finalize`). Each is a journaled, audited money action
//! with its own idempotency key. Everything is validated before the first request; if
//! Stripe refuses a later step, the draft is deleted (drafts are never sent or charged)
//! so no half-made invoice is left behind.

use rusqlite::OptionalExtension;
use serde_json::json;

use super::actions::{execute, refuse, ActionContext, ActionError, ActionOutcome, Planned};
use super::{major_units, FinanceError};
use crate::auth::{permissions, AuthError, Staff};
use crate::cache::{self, CacheError};
use crate::stripe::client::params;
use crate::stripe::Stripe;

/// Most lines a manual invoice may have.
pub const MAX_LINES: usize = 50;
/// Largest amount of one line (unit × quantity), minor units: 1,000,000.00.
pub const MAX_LINE_AMOUNT: i64 = 100_000_000;

/// One line of a manual invoice.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ManualLine {
    /// What is billed.
    pub description: String,
    /// How many.
    pub quantity: i64,
    /// Price of one, minor units.
    pub unit_amount: i64,
}

/// A manual invoice for a custom deal.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ManualInvoice {
    /// The Stripe customer billed (`cus_…`).
    pub customer_id: String,
    /// ISO currency code.
    pub currency: String,
    /// Due date, `YYYY-MM-DD` (UTC, end of day), today or later and within a year.
    pub due_date: String,
    /// The lines.
    pub lines: Vec<ManualLine>,
    /// Shown on the invoice (optional).
    pub memo: Option<String>,
    /// Why (required; goes into the audit log).
    pub reason: String,
}

/// Validates a manual invoice against the cache; returns its total and the tenant.
fn validate(
    conn: &rusqlite::Connection,
    inv: &ManualInvoice,
    today: chrono::NaiveDate,
) -> Result<(i64, i64, Option<String>), ActionError> {
    super::require_synced(conn)?;
    if inv.reason.trim().is_empty() {
        return Err(refuse("a manual invoice needs a reason (it goes into the audit log)"));
    }
    let currency = inv.currency.trim().to_ascii_lowercase();
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_lowercase()) {
        return Err(refuse(format!("`{}` is not a currency code; use three letters such as USD", inv.currency)));
    }
    let known: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM stripe_customers WHERE id = ?1 AND deleted = 0)",
            [&inv.customer_id],
            |r| r.get(0),
        )
        .map_err(CacheError::sql("reading the customer"))?;
    if !known {
        return Err(refuse(format!(
            "no Stripe customer {} in the cache; pick the tenant's customer (sync Stripe if it is new)",
            inv.customer_id
        )));
    }
    let due = chrono::NaiveDate::parse_from_str(inv.due_date.trim(), "%Y-%m-%d")
        .map_err(|_| refuse(format!("`{}` is not a date; use YYYY-MM-DD", inv.due_date)))?;
    if due < today || due > today + chrono::Days::new(366) {
        return Err(refuse(format!("the due date {due} must be between today ({today}) and a year from now")));
    }
    if inv.lines.is_empty() || inv.lines.len() > MAX_LINES {
        return Err(refuse(format!("a manual invoice has 1 to {MAX_LINES} lines")));
    }
    let mut total: i64 = 0;
    for (i, l) in inv.lines.iter().enumerate() {
        let n = i + 1;
        if l.description.trim().is_empty() || l.description.chars().count() > 500 {
            return Err(refuse(format!("line {n}: the description must be 1 to 500 characters")));
        }
        if !(1..=100_000).contains(&l.quantity) {
            return Err(refuse(format!("line {n}: the quantity must be between 1 and 100,000")));
        }
        let amount = l.unit_amount.checked_mul(l.quantity).filter(|a| l.unit_amount > 0 && *a <= MAX_LINE_AMOUNT);
        let Some(amount) = amount else {
            return Err(refuse(format!(
                "line {n}: the amount must be positive and at most {} per line",
                major_units(MAX_LINE_AMOUNT, &currency)
            )));
        };
        total += amount;
    }
    let due_ts = due.and_hms_opt(23, 59, 59).map(|t| t.and_utc().timestamp()).unwrap_or_default();
    let links = super::tenant_links(conn)?;
    Ok((total, due_ts, links.get(&inv.customer_id).map(|l| l.tenant_id.clone())))
}

/// Creates, fills and finalises a manual invoice in Stripe (emailed to the customer,
/// payable by the due date). Needs `invoices.manage`. Returns the finalisation, whose
/// `result_id` is the invoice.
pub async fn create_invoice(cx: ActionContext<'_>, inv: &ManualInvoice) -> Result<ActionOutcome, ActionError> {
    cx.session.staff().require(permissions::INVOICES_MANAGE)?;
    let (total, due_ts, tenant_id) = {
        let conn = cache::open_read(cx.cache_path)?;
        validate(&conn, inv, chrono::Utc::now().date_naive())?
    };
    let currency = inv.currency.trim().to_ascii_lowercase();
    let reason = Some(inv.reason.trim().to_string());
    let before = json!({"customer": inv.customer_id, "currency": currency, "total": total,
                        "lines": inv.lines, "due_date": inv.due_date});
    let mut form = params([
        ("customer", inv.customer_id.clone()),
        ("currency", currency.clone()),
        ("collection_method", "send_invoice".into()),
        ("due_date", due_ts.to_string()),
        ("auto_advance", "false".into()),
        ("pending_invoice_items_behavior", "exclude".into()),
        ("metadata[reason]", inv.reason.trim().to_string()),
    ]);
    if let Some(memo) = inv.memo.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        form.push(("description".into(), memo.to_string()));
    }
    let draft = execute(
        cx,
        Planned {
            kind: "create_invoice".into(),
            target: inv.customer_id.clone(),
            tenant_id: tenant_id.clone(),
            method: "POST",
            path: "/v1/invoices".into(),
            form,
            reason: reason.clone(),
            before: before.clone(),
        },
    )
    .await?;
    let Some(invoice_id) = draft.result_id.clone() else {
        return Err(refuse("Stripe created the invoice but did not return its id; look for a draft in Stripe"));
    };
    let mut steps = inv.lines.iter().map(|l| Planned {
        kind: "add_invoice_item".into(),
        target: invoice_id.clone(),
        tenant_id: tenant_id.clone(),
        method: "POST",
        path: "/v1/invoiceitems".into(),
        form: params([
            ("customer", inv.customer_id.clone()),
            ("invoice", invoice_id.clone()),
            ("currency", currency.clone()),
            ("description", l.description.trim().to_string()),
            ("quantity", l.quantity.to_string()),
            ("unit_amount", l.unit_amount.to_string()),
        ]),
        reason: reason.clone(),
        before: json!({"invoice": invoice_id, "status": "draft"}),
    });
    let finalize = Planned {
        kind: "finalize_invoice".into(),
        target: invoice_id.clone(),
        tenant_id: tenant_id.clone(),
        method: "POST",
        path: format!("/v1/invoices/{invoice_id}/finalize"),
        form: vec![],
        reason: reason.clone(),
        before: json!({"invoice": invoice_id, "status": "draft", "total": total}),
    };
    let mut outcome = Ok(draft);
    for step in steps.by_ref().chain(std::iter::once(finalize)) {
        outcome = execute(cx, step).await;
        if outcome.is_err() {
            break;
        }
    }
    match outcome {
        Ok(done) => Ok(ActionOutcome { result_id: Some(invoice_id), ..done }),
        // A refusal changed nothing in Stripe: discard the draft so nothing half-made remains.
        Err(e @ ActionError::Stripe { .. }) => {
            let discard = Planned {
                kind: "discard_invoice".into(),
                target: invoice_id.clone(),
                tenant_id,
                method: "DELETE",
                path: format!("/v1/invoices/{invoice_id}"),
                form: vec![],
                reason: Some(format!("a step of the manual invoice failed: {e}")),
                before: json!({"invoice": invoice_id, "status": "draft"}),
            };
            if let Err(d) = execute(cx, discard).await {
                tracing::warn!(invoice = %invoice_id, error = %d, "could not delete the unfinished draft invoice");
            }
            Err(e)
        }
        // The outcome is unknown (pending): the journal completes it on the next resume.
        Err(e) => Err(e),
    }
}

/// The PDF link of an invoice in the cache. Needs `finance.read` and `pii.view`: the
/// PDF carries the bill-to name, e-mail and address, so it (and its link, which opens
/// it without signing in) is never served to a role that sees personal data masked;
/// such a role's cache does not hold the link either (see [`crate::stripe::sync`]).
pub fn pdf_link(
    conn: &rusqlite::Connection,
    staff: &Staff,
    invoice_id: &str,
) -> Result<(String, String), FinanceError> {
    staff.require(permissions::FINANCE_READ)?;
    if staff.masked() {
        return Err(FinanceError::Forbidden(AuthError::Denied(format!(
            "your role ({}) sees personal data masked, and an invoice PDF carries the customer's name, e-mail and \
             address: ask someone with the `pii.view` permission, or open the invoice in Stripe",
            staff.role()
        ))));
    }
    super::require_synced(conn)?;
    let row: Option<(Option<String>, Option<String>)> = conn
        .query_row("SELECT invoice_pdf, number FROM stripe_invoices WHERE id = ?1", [invoice_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
        .map_err(CacheError::sql("reading the invoice"))?;
    match row {
        None => Err(FinanceError::BadInput(format!("no invoice {invoice_id} in the cache"))),
        Some((None, _)) => {
            Err(FinanceError::BadInput(format!("invoice {invoice_id} has no PDF yet (drafts get one when finalised)")))
        }
        Some((Some(url), number)) => Ok((url, number.unwrap_or_else(|| invoice_id.to_string()))),
    }
}

/// Downloads an invoice's PDF from Stripe; refuses an answer that is not a PDF.
pub async fn download_pdf(stripe: &Stripe, url: &str) -> Result<Vec<u8>, FinanceError> {
    let bytes = stripe.download(url).await.map_err(|e| FinanceError::BadInput(format!("downloading the PDF: {e}")))?;
    if !bytes.starts_with(b"%PDF-") {
        return Err(FinanceError::BadInput(
            "Stripe's answer for the invoice PDF is not a PDF; try again later or open the invoice in Stripe".into(),
        ));
    }
    Ok(bytes)
}
