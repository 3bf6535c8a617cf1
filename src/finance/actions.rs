//! Money actions: refunds, payment retries, invoice resends and subscription changes,
//! each permission-checked, validated against the cache and Stripe's live state, sent
//! to Stripe with an idempotency key, and audited before and after.
//!
//! ## Never a change without its entry
//! The change happens in Stripe, where no database transaction reaches. So, in order:
//! 1. one OLTP transaction writes the action to `penguin_console.money_actions`
//!    (state `pending`, the exact request) together with a `….requested` audit entry
//!    (outbox, [`audit::record`]); nothing has been sent yet;
//! 2. the request goes to Stripe with `Idempotency-Key` = the action's id;
//! 3. one OLTP transaction marks the action `succeeded` (or `failed` when Stripe
//!    refused it, which means it had no effect) with a second audit entry holding the
//!    before/after; then [`audit::deliver`].
//!
//! If the process dies or the network drops between 2 and 3, the action stays
//! `pending` with its `requested` entry: the audit log already says a change may have
//! been made. [`resume_pending`] (run it at start-up and before each sync) replays the
//! very same request with the same key; Stripe answers with its saved result without
//! acting again (idempotency keys last 24 hours), and step 3 completes the record.
//! So a change is never without an entry, and a retried refund never pays twice.
//!
//! After an action the caller re-syncs Stripe ([`crate::stripe::sync::sync`]) so the
//! cache shows the change.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};
use serde_json::{json, Value};

use super::{revenue, FinanceError};
use crate::audit::{self, AuditEntry, AuditError};
use crate::auth::{permissions, ClientInfo, Staff};
use crate::cache::{self, CacheError};
use crate::central::Central;
use crate::stripe::client::{params, Param};
use crate::stripe::types::Charge;
use crate::stripe::{Stripe, StripeError};

/// Errors of a money action.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// Refused before anything was sent (permission, validation, state).
    #[error(transparent)]
    Refused(#[from] FinanceError),
    /// Stripe refused the request: nothing changed in Stripe. Recorded as failed.
    #[error("Stripe refused the {kind}: {source}")]
    Stripe {
        /// What was attempted.
        kind: String,
        /// Stripe's answer.
        #[source]
        source: Box<StripeError>,
    },
    /// Stripe could not be reached or did not answer: the outcome is unknown. The action
    /// stays pending and [`resume_pending`] completes it with the same idempotency key.
    #[error("Stripe did not confirm the {kind} (action {action_id}): {source}. It is recorded as pending and will be completed (never repeated) on the next resume")]
    Unconfirmed {
        /// What was attempted.
        kind: String,
        /// The action (and idempotency key).
        action_id: uuid::Uuid,
        /// Why.
        #[source]
        source: Box<StripeError>,
    },
    /// The central database failed (before sending: nothing was sent).
    #[error("recording the action: {0}")]
    Database(#[from] sqlx::Error),
    /// The audit log failed.
    #[error(transparent)]
    Audit(#[from] AuditError),
}

impl From<CacheError> for ActionError {
    fn from(e: CacheError) -> Self {
        ActionError::Refused(FinanceError::Cache(e))
    }
}

impl From<crate::auth::AuthError> for ActionError {
    fn from(e: crate::auth::AuthError) -> Self {
        ActionError::Refused(FinanceError::Forbidden(e))
    }
}

pub(super) fn refuse(msg: impl Into<String>) -> ActionError {
    ActionError::Refused(FinanceError::BadInput(msg.into()))
}

/// What every action needs: the databases, Stripe, the cache, who acts and from where.
#[derive(Clone, Copy)]
pub struct ActionContext<'a> {
    /// The central databases (the journal and the audit outbox live in OLTP).
    pub central: &'a Central,
    /// The Stripe client.
    pub stripe: &'a Stripe,
    /// The local cache (validation reads).
    pub cache_path: &'a Path,
    /// Who acts.
    pub staff: &'a Staff,
    /// From where.
    pub client: &'a ClientInfo,
}

/// The outcome of an action.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ActionOutcome {
    /// The action's id (and its idempotency key).
    pub action_id: String,
    /// refund / retry_payment / resend_invoice / cancel_subscription / …
    pub kind: String,
    /// The Stripe object acted on.
    pub target: String,
    /// The id of the object Stripe returned (the refund, the invoice, the subscription).
    pub result_id: Option<String>,
}

/// A refund request.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RefundRequest {
    /// The charge (`ch_…`).
    pub charge_id: String,
    /// Minor units; `None` refunds everything still refundable.
    pub amount: Option<i64>,
    /// Why (required; stored in the audit log and in the refund's `metadata[reason]`).
    pub reason: String,
    /// Stripe's reason code: duplicate / fraudulent / requested_by_customer.
    pub stripe_reason: Option<String>,
}

/// What a refund would do, for the confirmation dialog.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RefundPreview {
    /// The charge.
    pub charge_id: String,
    /// Currency.
    pub currency: String,
    /// The charge's amount.
    pub charge_amount: i64,
    /// Refunded already.
    pub already_refunded: i64,
    /// Still refundable.
    pub refundable: i64,
    /// What this refund would return.
    pub refund_amount: i64,
    /// Whether it refunds the charge in full.
    pub full: bool,
    /// Tenant, if linked.
    pub tenant_id: Option<String>,
    /// The invoice the charge paid.
    pub invoice_id: Option<String>,
    /// The customer's MRR now, in the charge's currency.
    pub customer_mrr: i64,
    /// Change of MRR (≤ 0): a full refund of a subscription invoice takes the period it
    /// paid for out of MRR; a partial refund leaves MRR alone (see [`revenue`]).
    pub mrr_impact: i64,
}

/// Computes what a refund would do and refuses it (before anything is sent) when the
/// reason is missing or the amount exceeds what is still refundable per the cache.
/// `at` is "now" for the MRR figures (Unix seconds; `None` = the clock). Needs
/// `payments.refund`.
pub fn preview_refund(
    conn: &Connection,
    staff: &Staff,
    req: &RefundRequest,
    at: Option<i64>,
) -> Result<RefundPreview, ActionError> {
    staff.require(permissions::PAYMENTS_REFUND)?;
    super::require_synced(conn)?;
    if req.reason.trim().is_empty() {
        return Err(refuse("a refund needs a reason (it goes into the audit log)"));
    }
    let row = conn
        .query_row(
            "SELECT amount, amount_refunded, currency, status, customer, invoice FROM stripe_charges WHERE id = ?1",
            [&req.charge_id],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            },
        )
        .optional()
        .map_err(CacheError::sql("reading the charge"))?;
    let Some((amount, refunded, currency, status, customer, invoice)) = row else {
        return Err(refuse(format!("no charge {} in the cache; sync Stripe and try again", req.charge_id)));
    };
    if status != "succeeded" {
        return Err(refuse(format!("charge {} is {status}: only succeeded charges can be refunded", req.charge_id)));
    }
    let refundable = amount - refunded;
    let refund_amount = req.amount.unwrap_or(refundable);
    if refund_amount <= 0 {
        return Err(refuse(if refundable <= 0 {
            format!("charge {} is already refunded in full", req.charge_id)
        } else {
            "the refund amount must be positive".to_string()
        }));
    }
    if refund_amount > refundable {
        return Err(refuse(format!(
            "cannot refund {} {cur}: only {} {cur} of charge {} is still refundable",
            super::major_units(refund_amount, &currency),
            super::major_units(refundable, &currency),
            req.charge_id,
            cur = currency.to_uppercase()
        )));
    }
    let full = refund_amount == refundable;
    let at = at.unwrap_or_else(|| chrono::Utc::now().timestamp());
    let (customer_mrr, mrr_impact) = match &customer {
        Some(c) => {
            let now = revenue::customer_mrr_at(conn, staff, c, at, None)?.get(&currency).copied().unwrap_or(0);
            let after = if full {
                revenue::customer_mrr_at(conn, staff, c, at, invoice.as_deref())?.get(&currency).copied().unwrap_or(0)
            } else {
                now
            };
            (now, after - now)
        }
        None => (0, 0),
    };
    let links = super::tenant_links(conn)?;
    Ok(RefundPreview {
        charge_id: req.charge_id.clone(),
        tenant_id: customer.as_ref().and_then(|c| links.get(c)).map(|l| l.tenant_id.clone()),
        currency,
        charge_amount: amount,
        already_refunded: refunded,
        refundable,
        refund_amount,
        full,
        invoice_id: invoice,
        customer_mrr,
        mrr_impact,
    })
}

/// What to send and how to audit it.
pub(super) struct Planned {
    pub(super) kind: &'static str,
    pub(super) audit_action: &'static str,
    pub(super) resource_type: &'static str,
    pub(super) target: String,
    pub(super) tenant_id: Option<String>,
    pub(super) method: &'static str,
    pub(super) path: String,
    pub(super) form: Vec<Param>,
    pub(super) reason: Option<String>,
    pub(super) before: Value,
}

/// Refunds a charge in full or in part. Refused before anything is sent when the
/// amount exceeds what is refundable — per the cache and per Stripe's live charge.
pub async fn refund(cx: ActionContext<'_>, req: &RefundRequest) -> Result<ActionOutcome, ActionError> {
    let (stripe, staff) = (cx.stripe, cx.staff);
    let preview = {
        let conn = cache::open_read(cx.cache_path)?;
        preview_refund(&conn, staff, req, None)?
    };
    // The cache may be minutes old: check Stripe's own state before sending.
    let live: Charge = stripe
        .get(&format!("/v1/charges/{}", req.charge_id), &[])
        .await
        .map_err(|source| ActionError::Stripe { kind: "refund".into(), source: Box::new(source) })?;
    let live_refundable = live.amount - live.amount_refunded;
    if preview.refund_amount > live_refundable {
        return Err(refuse(format!(
            "cannot refund {}: Stripe says only {} {} is still refundable (the cache was behind; sync and retry)",
            super::major_units(preview.refund_amount, &live.currency),
            super::major_units(live_refundable, &live.currency),
            live.currency.to_uppercase()
        )));
    }
    let mut form = params([
        ("charge", req.charge_id.clone()),
        ("amount", preview.refund_amount.to_string()),
        ("metadata[reason]", req.reason.trim().to_string()),
        ("metadata[requested_by]", staff.email.clone()),
    ]);
    if let Some(code) = req.stripe_reason.as_deref().filter(|c| !c.is_empty()) {
        if !matches!(code, "duplicate" | "fraudulent" | "requested_by_customer") {
            return Err(refuse("Stripe's refund reason is duplicate, fraudulent or requested_by_customer"));
        }
        form.push(("reason".into(), code.into()));
    }
    execute(
        cx,
        Planned {
            kind: "refund",
            audit_action: "payment.refunded",
            resource_type: "payment",
            target: req.charge_id.clone(),
            tenant_id: preview.tenant_id.clone(),
            method: "POST",
            path: "/v1/refunds".into(),
            form,
            reason: Some(req.reason.trim().to_string()),
            before: json!({"amount_refunded": live.amount_refunded, "refund_amount": preview.refund_amount,
                           "currency": live.currency, "mrr_impact": preview.mrr_impact}),
        },
    )
    .await
}

/// A subscription change.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum SubscriptionChange {
    /// Cancel now.
    CancelNow,
    /// Cancel when the current period ends.
    CancelAtPeriodEnd,
    /// Pause collection (`keep_as_draft`, `mark_uncollectible` or `void`).
    Pause {
        /// Stripe's pause behaviour.
        behavior: String,
    },
    /// Apply a coupon.
    ApplyCoupon {
        /// Coupon id.
        coupon: String,
    },
    /// Move an item to another price (plan), prorated.
    ChangePlan {
        /// The new price id.
        price: String,
    },
}

/// Changes a subscription in Stripe. Needs `subscriptions.manage`; `reason` is required.
pub async fn change_subscription(
    cx: ActionContext<'_>,
    subscription_id: &str,
    change: &SubscriptionChange,
    reason: &str,
) -> Result<ActionOutcome, ActionError> {
    cx.staff.require(permissions::SUBSCRIPTIONS_MANAGE)?;
    if reason.trim().is_empty() {
        return Err(refuse("a subscription change needs a reason (it goes into the audit log)"));
    }
    let (before, tenant_id, item) = {
        let conn = cache::open_read(cx.cache_path)?;
        super::require_synced(&conn)?;
        let row = conn
            .query_row(
                "SELECT s.status, s.cancel_at_period_end, s.pause_behavior, s.coupon_id, s.customer,
                        (SELECT i.id FROM stripe_subscription_items i WHERE i.subscription = s.id ORDER BY i.id LIMIT 1),
                        (SELECT i.price_id FROM stripe_subscription_items i WHERE i.subscription = s.id ORDER BY i.id LIMIT 1)
                 FROM stripe_subscriptions s WHERE s.id = ?1",
                [subscription_id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, bool>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, Option<String>>(5)?,
                        r.get::<_, Option<String>>(6)?,
                    ))
                },
            )
            .optional()
            .map_err(CacheError::sql("reading the subscription"))?;
        let Some((status, at_end, pause, coupon, customer, item, price)) = row else {
            return Err(refuse(format!("no subscription {subscription_id} in the cache; sync Stripe and try again")));
        };
        if status == "canceled" {
            return Err(refuse(format!("subscription {subscription_id} is already canceled")));
        }
        let links = super::tenant_links(&conn)?;
        (
            json!({"status": status, "cancel_at_period_end": at_end, "pause_behavior": pause, "coupon": coupon,
                   "price": price}),
            links.get(&customer).map(|l| l.tenant_id.clone()),
            item,
        )
    };
    let path = format!("/v1/subscriptions/{subscription_id}");
    let (kind, audit_action, method, form): (&'static str, &'static str, &'static str, Vec<Param>) = match change {
        SubscriptionChange::CancelNow => ("cancel_subscription", "subscription.canceled", "DELETE", vec![]),
        SubscriptionChange::CancelAtPeriodEnd => (
            "cancel_subscription_at_period_end",
            "subscription.cancel_scheduled",
            "POST",
            params([("cancel_at_period_end", "true")]),
        ),
        SubscriptionChange::Pause { behavior } => {
            if !matches!(behavior.as_str(), "keep_as_draft" | "mark_uncollectible" | "void") {
                return Err(refuse("pause behaviour is keep_as_draft, mark_uncollectible or void"));
            }
            (
                "pause_subscription",
                "subscription.paused",
                "POST",
                params([("pause_collection[behavior]", behavior.as_str())]),
            )
        }
        SubscriptionChange::ApplyCoupon { coupon } if !coupon.trim().is_empty() => {
            ("apply_coupon", "subscription.coupon_applied", "POST", params([("coupon", coupon.trim())]))
        }
        SubscriptionChange::ApplyCoupon { .. } => return Err(refuse("which coupon?")),
        SubscriptionChange::ChangePlan { price } => {
            let Some(item) = item else { return Err(refuse("the subscription has no item to change")) };
            (
                "change_plan",
                "subscription.plan_changed",
                "POST",
                params([
                    ("items[0][id]", item.as_str()),
                    ("items[0][price]", price.as_str()),
                    ("proration_behavior", "create_prorations"),
                ]),
            )
        }
    };
    execute(
        cx,
        Planned {
            kind,
            audit_action,
            resource_type: "subscription",
            target: subscription_id.into(),
            tenant_id,
            method,
            path,
            form,
            reason: Some(reason.trim().into()),
            before,
        },
    )
    .await
}

/// Retries a failed invoice payment now (`POST /v1/invoices/{id}/pay`). Needs
/// `payments.refund` (the permission covering refunds and retries).
pub async fn retry_payment(cx: ActionContext<'_>, invoice_id: &str) -> Result<ActionOutcome, ActionError> {
    cx.staff.require(permissions::PAYMENTS_REFUND)?;
    invoice_action(cx, invoice_id, "retry_payment", "invoice.payment_retried", "pay").await
}

/// Sends an open invoice to the customer again (`POST /v1/invoices/{id}/send`). Needs
/// `invoices.manage`.
pub async fn resend_invoice(cx: ActionContext<'_>, invoice_id: &str) -> Result<ActionOutcome, ActionError> {
    cx.staff.require(permissions::INVOICES_MANAGE)?;
    invoice_action(cx, invoice_id, "resend_invoice", "invoice.resent", "send").await
}

async fn invoice_action(
    cx: ActionContext<'_>,
    invoice_id: &str,
    kind: &'static str,
    audit_action: &'static str,
    verb: &str,
) -> Result<ActionOutcome, ActionError> {
    let (before, tenant_id) = {
        let conn = cache::open_read(cx.cache_path)?;
        super::require_synced(&conn)?;
        let row = conn
            .query_row(
                "SELECT status, amount_remaining, attempt_count, customer FROM stripe_invoices WHERE id = ?1",
                [invoice_id],
                |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                },
            )
            .optional()
            .map_err(CacheError::sql("reading the invoice"))?;
        let Some((status, remaining, attempts, customer)) = row else {
            return Err(refuse(format!("no invoice {invoice_id} in the cache; sync Stripe and try again")));
        };
        if status.as_deref() != Some("open") {
            return Err(refuse(format!(
                "invoice {invoice_id} is {}: only open invoices can be paid or resent",
                status.as_deref().unwrap_or("a draft")
            )));
        }
        let links = super::tenant_links(&conn)?;
        (
            json!({"status": status, "amount_remaining": remaining, "attempt_count": attempts}),
            links.get(&customer).map(|l| l.tenant_id.clone()),
        )
    };
    execute(
        cx,
        Planned {
            kind,
            audit_action,
            resource_type: "invoice",
            target: invoice_id.into(),
            tenant_id,
            method: "POST",
            path: format!("/v1/invoices/{invoice_id}/{verb}"),
            form: vec![],
            reason: None,
            before,
        },
    )
    .await
}

fn form_json(form: &[Param]) -> Value {
    Value::Array(form.iter().map(|(k, v)| json!([k, v])).collect())
}

fn form_from_json(v: &Value) -> Vec<Param> {
    v.as_array()
        .map(|a| {
            a.iter().filter_map(|p| Some((p.get(0)?.as_str()?.to_string(), p.get(1)?.as_str()?.to_string()))).collect()
        })
        .unwrap_or_default()
}

/// What Stripe's answer says changed, for the audit entry's "after".
fn summary(v: &Value) -> Value {
    let keep = [
        "id",
        "object",
        "amount",
        "currency",
        "status",
        "charge",
        "amount_paid",
        "amount_remaining",
        "attempt_count",
        "cancel_at_period_end",
        "canceled_at",
        "pause_collection",
        "discount",
    ];
    Value::Object(
        v.as_object()
            .map(|o| {
                o.iter().filter(|(k, _)| keep.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
            })
            .unwrap_or_default(),
    )
}

pub(super) async fn execute(cx: ActionContext<'_>, p: Planned) -> Result<ActionOutcome, ActionError> {
    let (central, staff, client) = (cx.central, cx.staff, cx.client);
    let id = uuid::Uuid::new_v4();
    let mut tx = central.oltp.begin().await?;
    sqlx::query(
        "INSERT INTO penguin_console.money_actions
           (id, kind, target, tenant_id, method, path, form, actor_id, actor_email, actor_role, reason, before, state)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending')",
    )
    .bind(id)
    .bind(p.kind)
    .bind(&p.target)
    .bind(&p.tenant_id)
    .bind(p.method)
    .bind(&p.path)
    .bind(form_json(&p.form))
    .bind(staff.audit_id())
    .bind(&staff.email)
    .bind(&staff.role)
    .bind(&p.reason)
    .bind(&p.before)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: format!("{}.requested", p.audit_action),
            resource_type: p.resource_type.into(),
            resource_id: p.target.clone(),
            tenant_id: p.tenant_id.clone(),
            old_values: Some(p.before.clone()),
            new_values: Some(json!({"state": "pending", "action_id": id.to_string(), "request": form_json(&p.form)})),
            notes: p.reason.clone(),
        },
    )
    .await?;
    tx.commit().await?;
    let answer = send(cx.stripe, p.method, &p.path, &p.form, &id.to_string()).await;
    complete(central, staff, client, id, &p, answer).await
}

async fn send(stripe: &Stripe, method: &str, path: &str, form: &[Param], key: &str) -> Result<Value, StripeError> {
    if method == "DELETE" {
        stripe.delete(path, form, key).await
    } else {
        stripe.post(path, form, key).await
    }
}

async fn complete(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    id: uuid::Uuid,
    p: &Planned,
    answer: Result<Value, StripeError>,
) -> Result<ActionOutcome, ActionError> {
    // Only an answer from Stripe settles the outcome: success, or a refusal (which
    // changed nothing). Anything else leaves the action pending for `resume_pending`.
    let answer = match answer {
        Ok(v) => Ok(v),
        Err(e @ StripeError::Api { .. }) => Err(e),
        Err(source) => {
            return Err(ActionError::Unconfirmed { kind: p.kind.into(), action_id: id, source: Box::new(source) })
        }
    };
    let (state, result, error) = match &answer {
        Ok(v) => ("succeeded", Some(summary(v)), None),
        Err(e) => ("failed", None, Some(e.to_string())),
    };
    let mut tx = central.oltp.begin().await?;
    sqlx::query(
        "UPDATE penguin_console.money_actions SET state = $2, result = $3, error = $4, completed = now()
         WHERE id = $1 AND state = 'pending'",
    )
    .bind(id)
    .bind(state)
    .bind(&result)
    .bind(&error)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: if state == "succeeded" {
                p.audit_action.to_string()
            } else {
                format!("{}.failed", p.audit_action)
            },
            resource_type: p.resource_type.into(),
            resource_id: p.target.clone(),
            tenant_id: p.tenant_id.clone(),
            old_values: Some(p.before.clone()),
            new_values: Some(json!({"state": state, "action_id": id.to_string(), "stripe": result, "error": error})),
            notes: p.reason.clone(),
        },
    )
    .await?;
    tx.commit().await?;
    audit::deliver(central).await?;
    match answer {
        Ok(v) => Ok(ActionOutcome {
            action_id: id.to_string(),
            kind: p.kind.into(),
            target: p.target.clone(),
            result_id: v.get("id").and_then(|i| i.as_str()).map(str::to_string),
        }),
        Err(source) => Err(ActionError::Stripe { kind: p.kind.into(), source: Box::new(source) }),
    }
}

/// Completes every action left `pending` (answer lost, process killed) by replaying
/// its exact request with its idempotency key: Stripe returns the saved result and
/// does not act again. Audited as the staff member who asked. Returns what completed.
pub async fn resume_pending(
    central: &Central,
    stripe: &Stripe,
    client: &ClientInfo,
) -> Result<Vec<ActionOutcome>, ActionError> {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        uuid::Uuid,
        String,
        String,
        Option<String>,
        String,
        String,
        Value,
        String,
        String,
        String,
        Option<String>,
        Option<Value>,
    )> = sqlx::query_as(
        "SELECT id, kind, target, tenant_id, method, path, form, actor_id, actor_email, actor_role, reason, before
             FROM penguin_console.money_actions WHERE state = 'pending' ORDER BY created",
    )
    .fetch_all(&central.oltp)
    .await?;
    let mut done = Vec::new();
    for (id, kind, target, tenant_id, method, path, form, actor_id, email, role, reason, before) in rows {
        let actor = Staff {
            user_id: uuid::Uuid::parse_str(&actor_id).ok(),
            email,
            name: None,
            role,
            permissions: Default::default(),
        };
        let known = [
            ("refund", "payment.refunded", "payment"),
            ("retry_payment", "invoice.payment_retried", "invoice"),
            ("resend_invoice", "invoice.resent", "invoice"),
            ("cancel_subscription", "subscription.canceled", "subscription"),
            ("cancel_subscription_at_period_end", "subscription.cancel_scheduled", "subscription"),
            ("pause_subscription", "subscription.paused", "subscription"),
            ("apply_coupon", "subscription.coupon_applied", "subscription"),
            ("change_plan", "subscription.plan_changed", "subscription"),
        ];
        let Some((k, audit_action, resource_type)) = known.iter().find(|(k, _, _)| *k == kind) else { continue };
        let p = Planned {
            kind: k,
            audit_action,
            resource_type,
            target,
            tenant_id,
            method: if method == "DELETE" { "DELETE" } else { "POST" },
            path,
            form: form_from_json(&form),
            reason,
            before: before.unwrap_or(Value::Null),
        };
        let answer = send(stripe, p.method, &p.path, &p.form, &id.to_string()).await;
        match complete(central, &actor, client, id, &p, answer).await {
            Ok(o) => done.push(o),
            Err(ActionError::Stripe { .. }) => {} // completed as failed: Stripe refused, nothing changed
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}
