//! Money actions: refunds, payment retries, invoice resends and subscription changes,
//! each permission-checked, validated against the cache and Stripe's live state, sent
//! to Stripe with an idempotency key, and audited before and after.
//!
//! ## Never a change without its entry
//! The change happens in Stripe, where no database transaction reaches. So, in order:
//! 1. the database's `penguin_console_api.finance_journal` (through the staff member's
//!    [`Session`]) checks the permission the kind of action needs and the tenant's scope,
//!    writes the action to `penguin_console.money_actions` (state `pending`, the exact
//!    request, the actor taken from the verified session) with a `….requested` audit
//!    entry, and returns the action's id; nothing has been sent yet;
//! 2. the request goes to Stripe with `Idempotency-Key` = the action's id;
//! 3. `penguin_console_api.finance_complete` marks the action `succeeded` (or `failed`
//!    when Stripe refused it, which means it had no effect) with a second audit entry
//!    holding the before/after; only the staff member who started it may, or (a resume)
//!    someone holding the same permission. Then the entries are relayed
//!    ([`after_action`]).
//!
//! The desktop login cannot write the journal or the audit outbox itself: the
//! database is the check, the library's own checks only give clear messages first.
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
use crate::audit::after_action;
use crate::auth::{permissions, Session, Staff};
use crate::cache::{self, CacheError};
use crate::central::DbKind;
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
    Database(sqlx::Error),
}

impl From<sqlx::Error> for ActionError {
    /// A refusal of the journal's functions reaches the user as such, with its message.
    fn from(e: sqlx::Error) -> Self {
        use crate::auth::{refusal, rule_violation};
        if let Some(refused) = refusal(&e) {
            return ActionError::Refused(FinanceError::Forbidden(refused));
        }
        match rule_violation(&e) {
            Some((_, m)) => ActionError::Refused(FinanceError::BadInput(m)),
            None => ActionError::Database(e),
        }
    }
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

/// What every action needs: the staff member's session, Stripe and the cache.
#[derive(Clone, Copy)]
pub struct ActionContext<'a> {
    /// The signed-in staff member (the journal's functions take the identity from it).
    pub session: &'a Session,
    /// The Stripe client.
    pub stripe: &'a Stripe,
    /// The local cache (validation reads).
    pub cache_path: &'a Path,
}

impl ActionContext<'_> {
    /// Who acts, as the database described them at sign-in (messages, previews).
    fn staff(&self) -> &Staff {
        self.session.staff()
    }
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

/// What to send and journal (the database derives the audit action, the resource type
/// and the permission from `kind`, and checks `method` and `path` against it).
#[derive(Debug, Clone)]
pub(super) struct Planned {
    pub(super) kind: String,
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
    let (stripe, staff) = (cx.stripe, cx.staff());
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
        ("metadata[requested_by]", staff.email().to_string()),
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
            kind: "refund".into(),
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
    cx.staff().require(permissions::SUBSCRIPTIONS_MANAGE)?;
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
    let (kind, method, form): (&'static str, &'static str, Vec<Param>) = match change {
        SubscriptionChange::CancelNow => ("cancel_subscription", "DELETE", vec![]),
        SubscriptionChange::CancelAtPeriodEnd => {
            ("cancel_subscription_at_period_end", "POST", params([("cancel_at_period_end", "true")]))
        }
        SubscriptionChange::Pause { behavior } => {
            if !matches!(behavior.as_str(), "keep_as_draft" | "mark_uncollectible" | "void") {
                return Err(refuse("pause behaviour is keep_as_draft, mark_uncollectible or void"));
            }
            ("pause_subscription", "POST", params([("pause_collection[behavior]", behavior.as_str())]))
        }
        SubscriptionChange::ApplyCoupon { coupon } if !coupon.trim().is_empty() => {
            ("apply_coupon", "POST", params([("coupon", coupon.trim())]))
        }
        SubscriptionChange::ApplyCoupon { .. } => return Err(refuse("which coupon?")),
        SubscriptionChange::ChangePlan { price } => {
            let Some(item) = item else { return Err(refuse("the subscription has no item to change")) };
            (
                "change_plan",
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
            kind: kind.into(),
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
    cx.staff().require(permissions::PAYMENTS_REFUND)?;
    invoice_action(cx, invoice_id, "retry_payment", "pay").await
}

/// Sends an open invoice to the customer again (`POST /v1/invoices/{id}/send`). Needs
/// `invoices.manage`.
pub async fn resend_invoice(cx: ActionContext<'_>, invoice_id: &str) -> Result<ActionOutcome, ActionError> {
    cx.staff().require(permissions::INVOICES_MANAGE)?;
    invoice_action(cx, invoice_id, "resend_invoice", "send").await
}

async fn invoice_action(
    cx: ActionContext<'_>,
    invoice_id: &str,
    kind: &'static str,
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
            kind: kind.into(),
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

/// Journals, sends and completes one money action; then relays its audit entries.
pub(super) async fn execute(cx: ActionContext<'_>, p: Planned) -> Result<ActionOutcome, ActionError> {
    let id = journal(cx.session, &p).await?;
    let answer = send(cx.stripe, p.method, &p.path, &p.form, &id.to_string()).await;
    let outcome = complete(cx.session, id, &p, answer).await;
    after_action(cx.session).await;
    outcome
}

/// Step 1: the pending journal entry and its "requested" audit entry, in one
/// transaction of the database's function; the action's id (the Idempotency-Key).
async fn journal(session: &Session, p: &Planned) -> Result<uuid::Uuid, ActionError> {
    let mut tx = session.begin(DbKind::Oltp).await?;
    let id: uuid::Uuid =
        sqlx::query_scalar("SELECT penguin_console_api.finance_journal($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&p.kind)
            .bind(&p.target)
            .bind(&p.tenant_id)
            .bind(p.method)
            .bind(&p.path)
            .bind(form_json(&p.form))
            .bind(&p.reason)
            .bind(&p.before)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(id)
}

async fn send(stripe: &Stripe, method: &str, path: &str, form: &[Param], key: &str) -> Result<Value, StripeError> {
    if method == "DELETE" {
        stripe.delete(path, form, key).await
    } else {
        stripe.post(path, form, key).await
    }
}

/// Step 3: records Stripe's answer with its "done" entry.
async fn complete(
    session: &Session,
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
            return Err(ActionError::Unconfirmed { kind: p.kind.clone(), action_id: id, source: Box::new(source) })
        }
    };
    let (result, error) = match &answer {
        Ok(v) => (Some(summary(v)), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let mut tx = session.begin(DbKind::Oltp).await?;
    let recorded = sqlx::query("SELECT penguin_console_api.finance_complete($1, $2, $3, $4)")
        .bind(id)
        .bind(answer.is_ok())
        .bind(&result)
        .bind(&error)
        .execute(&mut *tx)
        .await;
    match recorded {
        Ok(_) => tx.commit().await?,
        // Completed meanwhile by a resume that replayed the same request (same key, same
        // answer from Stripe): the journal and the audit log already say what happened.
        Err(e) if matches!(crate::auth::rule_violation(&e), Some((crate::auth::RuleKind::Conflict, _))) => {
            tracing::info!(action = %id, "the money action was completed by a resume meanwhile");
        }
        Err(e) => return Err(e.into()),
    }
    match answer {
        Ok(v) => Ok(ActionOutcome {
            action_id: id.to_string(),
            kind: p.kind.clone(),
            target: p.target.clone(),
            result_id: v.get("id").and_then(|i| i.as_str()).map(str::to_string),
        }),
        Err(source) => Err(ActionError::Stripe { kind: p.kind.clone(), source: Box::new(source) }),
    }
}

/// A money action left pending (its answer lost, the process killed), as the journal
/// holds it.
#[derive(Debug, Clone)]
pub struct PendingAction {
    /// The action's id (and idempotency key).
    pub id: uuid::Uuid,
    /// refund / retry_payment / …
    pub kind: String,
    /// The Stripe object acted on.
    pub target: String,
    /// Tenant, if linked.
    pub tenant_id: Option<String>,
    /// The reason given.
    pub reason: Option<String>,
    /// When it was journaled.
    pub created: chrono::DateTime<chrono::Utc>,
    /// Who started it (attribution only: it carries no permission).
    pub requested_by: Staff,
    planned: Planned,
}

/// The pending money actions this staff member may complete: their own, and those of
/// kinds whose permission their role holds (read through `finance_pending`).
pub async fn pending(session: &Session) -> Result<Vec<PendingAction>, ActionError> {
    let mut tx = session.begin(DbKind::Oltp).await?;
    let rows = sqlx::query(
        "SELECT id, kind, target, tenant_id, method, path, form, reason, before, actor_id, actor_email, actor_role,
                created FROM penguin_console_api.finance_pending()",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    use sqlx::Row;
    Ok(rows
        .into_iter()
        .map(|r| {
            let (kind, target, tenant_id, reason): (String, String, Option<String>, Option<String>) =
                (r.get("kind"), r.get("target"), r.get("tenant_id"), r.get("reason"));
            let method: String = r.get("method");
            let actor_id: String = r.get("actor_id");
            PendingAction {
                id: r.get("id"),
                created: r.get("created"),
                requested_by: Staff::recorded(
                    uuid::Uuid::parse_str(&actor_id).ok(),
                    r.get("actor_email"),
                    r.get("actor_role"),
                ),
                planned: Planned {
                    kind: kind.clone(),
                    target: target.clone(),
                    tenant_id: tenant_id.clone(),
                    method: if method == "DELETE" { "DELETE" } else { "POST" },
                    path: r.get("path"),
                    form: form_from_json(&r.get::<Value, _>("form")),
                    reason: reason.clone(),
                    before: r.get::<Option<Value>, _>("before").unwrap_or(Value::Null),
                },
                kind,
                target,
                tenant_id,
                reason,
            }
        })
        .collect())
}

/// Completes every action left `pending` that this staff member may complete (see
/// [`pending`]) by replaying its exact request with its idempotency key: Stripe returns
/// the saved result and does not act again. The "done" entry names the staff member
/// who completes it (and, in it, who started it). Returns what completed.
pub async fn resume_pending(session: &Session, stripe: &Stripe) -> Result<Vec<ActionOutcome>, ActionError> {
    let mut done = Vec::new();
    let mut result = Ok(());
    for action in pending(session).await? {
        let p = &action.planned;
        let answer = send(stripe, p.method, &p.path, &p.form, &action.id.to_string()).await;
        match complete(session, action.id, p, answer).await {
            Ok(o) => done.push(o),
            Err(ActionError::Stripe { .. }) => {} // completed as failed: Stripe refused, nothing changed
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    after_action(session).await;
    result.map(|_| done)
}
