//! Stripe → the local cache: the second sync source beside the platform's databases.
//!
//! ## Tables
//! Created in the cache file by this module, all prefixed `stripe_`: customers,
//! subscriptions (+ `stripe_subscription_items`), invoices (+ `stripe_invoice_lines`),
//! charges, payment_intents, refunds, disputes, balance_transactions, payouts
//! (+ `stripe_payout_transactions`, which balance transactions each payout paid out),
//! and `stripe_sync_state` (the event cursor and `as_of`). Times are Unix seconds
//! (integers sort and index well), amounts integer minor units. Each charge carries a
//! derived `payment_status` (succeeded / failed / pending / refunded /
//! partially_refunded / disputed) so the payments list filters on an index. Tenants
//! are joined at read time through the platform's `tenant_config.stripe_customer_id`.
//!
//! ## Correctness
//! The first sync lists every resource (`limit=100`, `starting_after`; subscriptions
//! with `status=all`). Before listing, it notes the newest event; afterwards each sync
//! reads `/v1/events` created at or after the cursor and applies them oldest first
//! (each event carries the object's full state after the change, so replaying an event
//! already reflected is harmless and the last one wins). Events already applied at
//! the cursor's second are remembered by id and skipped. Stripe keeps events 30 days,
//! and balance transactions have no events: so a cursor older than 29 days means a
//! full reload, and balance transactions are listed incrementally by `created` with a
//! one-day overlap. A payout's balance transactions are listed when the payout is
//! new or changed.
//!
//! ## What a role without `pii.view` gets
//! The cache belongs to one staff member ([`Staff`]), and holds only what their role
//! may see. For a role that sees personal data masked (support), the sync writes the
//! customers' e-mail addresses and names, the charges' billing e-mail masked (the same
//! shapes as the database's masking), e-mail addresses in machine text (descriptions,
//! decline messages, invoice lines) masked, and withholds the invoices' PDF and hosted
//! links (they open the PDF, which carries the bill-to name, e-mail and address,
//! without signing in) and the refunds' notes (written by people). Postal addresses are
//! not cached for anyone. The cache remembers which of the two it holds; a sync for the
//! other kind of role wipes the Stripe tables first and reloads in full, so unmasked
//! rows never stay behind. A role without `finance.read` gets nothing.
//!
//! ## Crash safety and as_of
//! Everything fetched is applied in **one SQLite transaction** at the end, together
//! with the new cursor and `as_of` (the time the sync started reading Stripe): a
//! crash, a network failure or a cancel leaves the cache at the previous sync. The
//! fetched objects are held in memory until then (compact rows, about 300 bytes per
//! charge).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

use rusqlite::{params, Connection, OptionalExtension};

use super::client::{params as p, Param, Stripe, StripeError};
use super::types::*;
use crate::auth::{masking, permissions, AuthError, Staff};
use crate::cache::{self, CacheError};
use crate::sync::{Cancel, Progress, ProgressFn};

/// Events older than this are gone from Stripe: a cursor this old means a full reload.
pub const EVENT_RETENTION_SECS: i64 = 29 * 86_400;
/// Overlap when listing balance transactions incrementally.
const TXN_OVERLAP_SECS: i64 = 86_400;

/// Errors of a Stripe sync. The cache is unchanged whenever one is returned.
#[derive(Debug, thiserror::Error)]
pub enum StripeSyncError {
    /// Stripe failed.
    #[error(transparent)]
    Stripe(#[from] StripeError),
    /// The cache failed.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// The staff member's role may not read finance data.
    #[error(transparent)]
    Forbidden(#[from] AuthError),
    /// Cancelled; the cache keeps its previous state.
    #[error("Stripe sync cancelled; the cache keeps its previous state")]
    Cancelled,
}

/// What a Stripe sync did.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StripeSyncReport {
    /// `full` or `incremental`.
    pub mode: String,
    /// Objects written per table.
    pub written: BTreeMap<String, u32>,
    /// Events applied (incremental).
    pub events_applied: u32,
    /// The time the cache's Stripe data now reflects (UTC, RFC 3339).
    pub as_of: String,
    /// Wall time.
    pub duration_ms: u32,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS stripe_sync_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stripe_customers (id TEXT PRIMARY KEY, email TEXT, name TEXT, currency TEXT,
    delinquent INTEGER, deleted INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS stripe_subscriptions (id TEXT PRIMARY KEY, customer TEXT NOT NULL, status TEXT NOT NULL,
    created INTEGER NOT NULL, current_period_start INTEGER, current_period_end INTEGER,
    cancel_at_period_end INTEGER NOT NULL, canceled_at INTEGER, ended_at INTEGER, trial_end INTEGER,
    pause_behavior TEXT, pause_resumes_at INTEGER, coupon_id TEXT, coupon_percent_off_bp INTEGER,
    coupon_amount_off INTEGER, coupon_currency TEXT, coupon_duration TEXT, discount_end INTEGER);
CREATE INDEX IF NOT EXISTS stripe_subscriptions_customer ON stripe_subscriptions (customer);
CREATE TABLE IF NOT EXISTS stripe_subscription_items (id TEXT PRIMARY KEY, subscription TEXT NOT NULL,
    price_id TEXT NOT NULL, product TEXT, nickname TEXT, unit_amount INTEGER, currency TEXT NOT NULL,
    interval TEXT, interval_count INTEGER, quantity INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS stripe_subscription_items_sub ON stripe_subscription_items (subscription);
CREATE TABLE IF NOT EXISTS stripe_invoices (id TEXT PRIMARY KEY, number TEXT, customer TEXT NOT NULL,
    subscription TEXT, status TEXT, currency TEXT NOT NULL, subtotal INTEGER NOT NULL, tax INTEGER,
    discount INTEGER NOT NULL, total INTEGER NOT NULL, amount_due INTEGER NOT NULL, amount_paid INTEGER NOT NULL,
    amount_remaining INTEGER NOT NULL, attempt_count INTEGER NOT NULL, next_payment_attempt INTEGER,
    due_date INTEGER, created INTEGER NOT NULL, period_start INTEGER, period_end INTEGER, paid_at INTEGER,
    charge TEXT, payment_intent TEXT, collection_method TEXT, invoice_pdf TEXT, hosted_invoice_url TEXT);
CREATE INDEX IF NOT EXISTS stripe_invoices_customer ON stripe_invoices (customer, created);
CREATE INDEX IF NOT EXISTS stripe_invoices_number ON stripe_invoices (number);
CREATE INDEX IF NOT EXISTS stripe_invoices_created ON stripe_invoices (created);
CREATE TABLE IF NOT EXISTS stripe_invoice_lines (id TEXT NOT NULL, invoice TEXT NOT NULL, description TEXT,
    amount INTEGER NOT NULL, currency TEXT NOT NULL, quantity INTEGER, period_start INTEGER, period_end INTEGER,
    price_id TEXT, proration INTEGER NOT NULL, discount INTEGER NOT NULL, tax INTEGER NOT NULL,
    plan TEXT, interval TEXT, interval_count INTEGER, PRIMARY KEY (invoice, id));
CREATE INDEX IF NOT EXISTS stripe_invoice_lines_period ON stripe_invoice_lines (period_end);
CREATE TABLE IF NOT EXISTS stripe_charges (id TEXT PRIMARY KEY, customer TEXT, invoice TEXT, payment_intent TEXT,
    amount INTEGER NOT NULL, amount_refunded INTEGER NOT NULL, currency TEXT NOT NULL, status TEXT NOT NULL,
    payment_status TEXT NOT NULL, refunded INTEGER NOT NULL, disputed INTEGER NOT NULL, failure_code TEXT,
    failure_message TEXT, card_brand TEXT, card_last4 TEXT, balance_transaction TEXT, billing_email TEXT,
    description TEXT, created INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS stripe_charges_created ON stripe_charges (created, id);
CREATE INDEX IF NOT EXISTS stripe_charges_status ON stripe_charges (payment_status, created, id);
CREATE INDEX IF NOT EXISTS stripe_charges_customer ON stripe_charges (customer, created, id);
CREATE INDEX IF NOT EXISTS stripe_charges_amount ON stripe_charges (amount, created, id);
CREATE INDEX IF NOT EXISTS stripe_charges_invoice ON stripe_charges (invoice);
CREATE INDEX IF NOT EXISTS stripe_charges_pi ON stripe_charges (payment_intent);
CREATE TABLE IF NOT EXISTS stripe_payment_intents (id TEXT PRIMARY KEY, customer TEXT, invoice TEXT,
    amount INTEGER NOT NULL, currency TEXT NOT NULL, status TEXT NOT NULL, latest_charge TEXT,
    last_error_code TEXT, last_error_message TEXT, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS stripe_refunds (id TEXT PRIMARY KEY, charge TEXT, payment_intent TEXT,
    amount INTEGER NOT NULL, currency TEXT NOT NULL, status TEXT, reason TEXT, note TEXT, balance_transaction TEXT,
    created INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS stripe_refunds_charge ON stripe_refunds (charge);
CREATE INDEX IF NOT EXISTS stripe_refunds_created ON stripe_refunds (created);
CREATE TABLE IF NOT EXISTS stripe_disputes (id TEXT PRIMARY KEY, charge TEXT NOT NULL, amount INTEGER NOT NULL,
    currency TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, created INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS stripe_disputes_charge ON stripe_disputes (charge);
CREATE TABLE IF NOT EXISTS stripe_balance_transactions (id TEXT PRIMARY KEY, type TEXT NOT NULL, source TEXT,
    amount INTEGER NOT NULL, fee INTEGER NOT NULL, net INTEGER NOT NULL, currency TEXT NOT NULL, status TEXT,
    available_on INTEGER, created INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS stripe_balance_transactions_source ON stripe_balance_transactions (source);
CREATE INDEX IF NOT EXISTS stripe_balance_transactions_created ON stripe_balance_transactions (created);
CREATE TABLE IF NOT EXISTS stripe_payouts (id TEXT PRIMARY KEY, amount INTEGER NOT NULL, currency TEXT NOT NULL,
    status TEXT NOT NULL, arrival_date INTEGER, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS stripe_payout_transactions (payout TEXT NOT NULL, balance_transaction TEXT NOT NULL,
    PRIMARY KEY (payout, balance_transaction));
";

/// Data tables, cleared by a full reload.
const TABLES: &[&str] = &[
    "stripe_customers",
    "stripe_subscriptions",
    "stripe_subscription_items",
    "stripe_invoices",
    "stripe_invoice_lines",
    "stripe_charges",
    "stripe_payment_intents",
    "stripe_refunds",
    "stripe_disputes",
    "stripe_balance_transactions",
    "stripe_payouts",
    "stripe_payout_transactions",
];

/// Version of the `stripe_*` tables' shape; a cache written with another one drops
/// them and reloads in full (they are a copy of Stripe, nothing is lost). 2: masked for
/// roles without `pii.view` (a version-1 cache may hold unmasked data: it is dropped).
pub const SCHEMA_VERSION: &str = "2";

/// What the Stripe tables of a cache hold: personal data as it is, or masked.
fn pii_mode(staff: &Staff) -> &'static str {
    if staff.masked() {
        "masked"
    } else {
        "full"
    }
}

/// Empties the Stripe tables and forgets the cursor when they were written for the
/// other kind of role (masked / unmasked), so the next sync reloads them in full.
fn match_pii_mode(conn: &mut Connection, mode: &str) -> Result<(), CacheError> {
    let stored: Option<String> = conn
        .query_row("SELECT value FROM stripe_sync_state WHERE key = 'pii'", [], |r| r.get(0))
        .optional()
        .map_err(CacheError::sql("reading the Stripe tables' masking"))?;
    if stored.as_deref() == Some(mode) {
        return Ok(());
    }
    let tx = conn.transaction().map_err(CacheError::sql("clearing the Stripe tables"))?;
    for t in TABLES {
        tx.execute(&format!("DELETE FROM {t}"), []).map_err(CacheError::sql("clearing the Stripe tables"))?;
    }
    tx.execute("DELETE FROM stripe_sync_state WHERE key IN ('cursor', 'as_of', 'mode')", [])
        .map_err(CacheError::sql("clearing the Stripe tables"))?;
    tx.execute("INSERT OR REPLACE INTO stripe_sync_state (key, value) VALUES ('pii', ?1)", [mode])
        .map_err(CacheError::sql("clearing the Stripe tables"))?;
    tx.commit().map_err(CacheError::sql("clearing the Stripe tables"))
}

/// How personal values are written: as they are, or masked / withheld.
#[derive(Clone, Copy)]
struct Pii {
    masked: bool,
}

impl Pii {
    fn email(self, v: &Option<String>) -> Option<String> {
        if self.masked {
            v.as_deref().map(masking::email)
        } else {
            v.clone()
        }
    }
    fn name(self, v: &Option<String>) -> Option<String> {
        if self.masked {
            v.as_deref().map(masking::name)
        } else {
            v.clone()
        }
    }
    fn text(self, v: &Option<String>) -> Option<String> {
        if self.masked {
            v.as_deref().map(masking::text)
        } else {
            v.clone()
        }
    }
    fn withheld(self, v: &Option<String>) -> Option<String> {
        if self.masked {
            None
        } else {
            v.clone()
        }
    }
}

/// Creates the Stripe tables if missing, replacing those of another shape version.
pub fn ensure_schema(conn: &Connection) -> Result<(), CacheError> {
    let e = CacheError::sql("creating the Stripe tables");
    let exists: bool = conn
        .query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'stripe_sync_state')", [], |r| r.get(0))
        .map_err(CacheError::sql("reading the schema"))?;
    let version: Option<String> = if exists {
        conn.query_row("SELECT value FROM stripe_sync_state WHERE key = 'schema'", [], |r| r.get(0))
            .optional()
            .map_err(CacheError::sql("reading the Stripe schema version"))?
    } else {
        None
    };
    if exists && version.as_deref() != Some(SCHEMA_VERSION) {
        let mut drop = String::from("DROP TABLE IF EXISTS stripe_sync_state;");
        for t in TABLES {
            drop.push_str(&format!("DROP TABLE IF EXISTS {t};"));
        }
        conn.execute_batch(&drop).map_err(CacheError::sql("replacing the Stripe tables"))?;
    }
    conn.execute_batch(SCHEMA).map_err(e)?;
    conn.execute("INSERT OR REPLACE INTO stripe_sync_state (key, value) VALUES ('schema', ?1)", [SCHEMA_VERSION])
        .map_err(CacheError::sql("writing the Stripe schema version"))?;
    Ok(())
}

/// Everything fetched by one sync, applied in one transaction.
#[derive(Default)]
struct Batch {
    customers: Vec<Customer>,
    subscriptions: Vec<Subscription>,
    invoices: Vec<Invoice>,
    charges: Vec<Charge>,
    payment_intents: Vec<PaymentIntent>,
    refunds: Vec<Refund>,
    disputes: Vec<Dispute>,
    balance_transactions: Vec<BalanceTransaction>,
    payouts: Vec<Payout>,
    payout_transactions: Vec<(String, Vec<String>)>,
    /// Draft invoices deleted in Stripe (`invoice.deleted`).
    deleted_invoices: Vec<String>,
}

/// The sync cursor: the newest event applied and the ids applied at its second.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct Cursor {
    /// `created` of the newest event applied (0: none seen yet, list them all).
    created: i64,
    ids: BTreeSet<String>,
    /// Newest balance transaction seen.
    txn_created: i64,
    /// Local time of the sync that wrote this cursor: events after it are still in
    /// Stripe while it is younger than [`EVENT_RETENTION_SECS`].
    synced_at: i64,
}

fn read_cursor(conn: &Connection) -> Result<Option<Cursor>, CacheError> {
    let v: Option<String> = conn
        .query_row("SELECT value FROM stripe_sync_state WHERE key = 'cursor'", [], |r| r.get(0))
        .optional()
        .map_err(CacheError::sql("reading the Stripe cursor"))?;
    Ok(v.and_then(|s| serde_json::from_str(&s).ok()))
}

/// Makes the next sync a full reload (for a Stripe account that knows nothing of the
/// cache's event cursor, such as a freshly started fake). The data stays until then.
pub fn forget_cursor(conn: &Connection) -> Result<(), CacheError> {
    ensure_schema(conn)?;
    conn.execute("DELETE FROM stripe_sync_state WHERE key = 'cursor'", [])
        .map_err(CacheError::sql("resetting the Stripe cursor"))?;
    Ok(())
}

/// When the cache's Stripe data was last synced (UTC, RFC 3339), `None` if never.
pub fn as_of(conn: &Connection) -> Result<Option<String>, CacheError> {
    let exists: bool = conn
        .query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'stripe_sync_state')", [], |r| r.get(0))
        .map_err(CacheError::sql("reading the schema"))?;
    if !exists {
        return Ok(None);
    }
    conn.query_row("SELECT value FROM stripe_sync_state WHERE key = 'as_of'", [], |r| r.get(0))
        .optional()
        .map_err(CacheError::sql("reading the Stripe as_of"))
}

struct Run<'a> {
    stripe: &'a Stripe,
    progress: Option<ProgressFn>,
    cancel: &'a Cancel,
    done: u64,
}

impl Run<'_> {
    async fn all<T: serde::de::DeserializeOwned>(
        &mut self,
        table: &str,
        path: &str,
        filters: &[Param],
        id_of: impl Fn(&T) -> &str,
    ) -> Result<Vec<T>, StripeSyncError> {
        let cancel = self.cancel.clone();
        let progress = self.progress.clone();
        let mut done = self.done;
        let out = self
            .stripe
            .list_all(path, filters, id_of, |page| {
                done += page.len() as u64;
                if let Some(f) = &progress {
                    // Stripe gives no counts: `total` 0 means unknown.
                    f(&Progress { table: table.into(), done, total: 0 });
                }
                !cancel.is_cancelled()
            })
            .await?;
        self.done = done;
        out.ok_or(StripeSyncError::Cancelled)
    }
}

/// Syncs Stripe into the cache at `cache_path`, the cache of `staff` (the signed-in
/// staff member: `session.staff()`), with personal data masked when their role sees it
/// masked: a full load the first time (or when the event cursor is older than Stripe
/// keeps events, or the cache was written for the other kind of role), events since
/// the cursor after. Needs `finance.read`.
pub async fn sync(
    stripe: &Stripe,
    staff: &Staff,
    cache_path: &Path,
    progress: Option<ProgressFn>,
    cancel: &Cancel,
) -> Result<StripeSyncReport, StripeSyncError> {
    staff.require(permissions::FINANCE_READ)?;
    let started = Instant::now();
    let as_of = chrono::Utc::now();
    let mode = pii_mode(staff);
    let cursor = {
        let mut conn = cache::open_write(cache_path)?;
        ensure_schema(&conn)?;
        match_pii_mode(&mut conn, mode)?;
        read_cursor(&conn)?
    };
    let mut run = Run { stripe, progress, cancel, done: 0 };
    let mut batch = Batch::default();
    let (full, new_cursor, events_applied) = match cursor {
        Some(c) if as_of.timestamp() - c.synced_at < EVENT_RETENTION_SECS => {
            let (cur, n) = incremental(&mut run, &mut batch, c).await?;
            (false, cur, n)
        }
        _ => (true, full_load(&mut run, &mut batch).await?, 0),
    };
    if cancel.is_cancelled() {
        return Err(StripeSyncError::Cancelled);
    }
    let mut conn = cache::open_write(cache_path)?;
    let new_cursor = Cursor { synced_at: as_of.timestamp(), ..new_cursor };
    let written = apply(&mut conn, &batch, full, &new_cursor, &as_of.to_rfc3339(), mode)?;
    Ok(StripeSyncReport {
        mode: if full { "full" } else { "incremental" }.into(),
        written,
        events_applied,
        as_of: as_of.to_rfc3339(),
        duration_ms: started.elapsed().as_millis().min(u32::MAX as u128) as u32,
    })
}

async fn newest_event(stripe: &Stripe) -> Result<Option<Event>, StripeError> {
    let page: List<Event> = stripe.get("/v1/events", &p([("limit", "1")])).await?;
    Ok(page.data.into_iter().next())
}

async fn full_load(run: &mut Run<'_>, b: &mut Batch) -> Result<Cursor, StripeSyncError> {
    // Events from here on are replayed next time: whatever changes while we list is caught.
    let created = newest_event(run.stripe).await?.map(|e| e.created).unwrap_or(0);
    let none: Vec<Param> = Vec::new();
    b.customers = run.all("stripe_customers", "/v1/customers", &none, |c: &Customer| &c.id).await?;
    b.subscriptions =
        run.all("stripe_subscriptions", "/v1/subscriptions", &p([("status", "all")]), |s: &Subscription| &s.id).await?;
    b.invoices = run.all("stripe_invoices", "/v1/invoices", &none, |i: &Invoice| &i.id).await?;
    b.charges = run.all("stripe_charges", "/v1/charges", &none, |c: &Charge| &c.id).await?;
    b.payment_intents =
        run.all("stripe_payment_intents", "/v1/payment_intents", &none, |c: &PaymentIntent| &c.id).await?;
    b.refunds = run.all("stripe_refunds", "/v1/refunds", &none, |c: &Refund| &c.id).await?;
    b.disputes = run.all("stripe_disputes", "/v1/disputes", &none, |c: &Dispute| &c.id).await?;
    b.balance_transactions = run
        .all("stripe_balance_transactions", "/v1/balance_transactions", &none, |c: &BalanceTransaction| &c.id)
        .await?;
    b.payouts = run.all("stripe_payouts", "/v1/payouts", &none, |c: &Payout| &c.id).await?;
    complete_invoice_lines(run, b).await?;
    payout_links(run, b).await?;
    let txn_created = b.balance_transactions.iter().map(|t| t.created).max().unwrap_or(0);
    Ok(Cursor { created, ids: BTreeSet::new(), txn_created, synced_at: 0 })
}

async fn incremental(run: &mut Run<'_>, b: &mut Batch, cursor: Cursor) -> Result<(Cursor, u32), StripeSyncError> {
    let mut events: Vec<Event> = run
        .all("stripe_events", "/v1/events", &p([("created[gte]", cursor.created.to_string())]), |e: &Event| &e.id)
        .await?;
    events.reverse(); // oldest first
    let mut next = cursor.clone();
    let mut applied = 0;
    for e in events {
        if e.created == cursor.created && cursor.ids.contains(&e.id) {
            continue;
        }
        if e.created > next.created {
            next.created = e.created;
            next.ids.clear();
        }
        next.ids.insert(e.id.clone());
        applied += 1;
        let obj = e.data.object;
        let kind = obj.get("object").and_then(|v| v.as_str()).unwrap_or_default().to_string();
        let decode_err = |reason: serde_json::Error| StripeError::Decode {
            path: format!("event {}", e.id),
            reason: reason.to_string(),
        };
        if e.kind == "invoice.deleted" {
            if let Some(id) = obj.get("id").and_then(|v| v.as_str()) {
                b.invoices.retain(|i| i.id != id);
                b.deleted_invoices.push(id.to_string());
            }
            continue;
        }
        match kind.as_str() {
            "customer" => {
                let mut c: Customer = serde_json::from_value(obj).map_err(decode_err)?;
                c.deleted |= e.kind == "customer.deleted";
                b.customers.push(c);
            }
            "subscription" => b.subscriptions.push(serde_json::from_value(obj).map_err(decode_err)?),
            "invoice" => b.invoices.push(serde_json::from_value(obj).map_err(decode_err)?),
            "charge" => b.charges.push(serde_json::from_value(obj).map_err(decode_err)?),
            "payment_intent" => b.payment_intents.push(serde_json::from_value(obj).map_err(decode_err)?),
            "refund" => b.refunds.push(serde_json::from_value(obj).map_err(decode_err)?),
            "dispute" => b.disputes.push(serde_json::from_value(obj).map_err(decode_err)?),
            "payout" => b.payouts.push(serde_json::from_value(obj).map_err(decode_err)?),
            _ => {} // events about objects the console does not cache
        }
    }
    let since = (cursor.txn_created - TXN_OVERLAP_SECS).max(0);
    b.balance_transactions = run
        .all(
            "stripe_balance_transactions",
            "/v1/balance_transactions",
            &p([("created[gte]", since.to_string())]),
            |c: &BalanceTransaction| &c.id,
        )
        .await?;
    next.txn_created =
        b.balance_transactions.iter().map(|t| t.created).max().unwrap_or(cursor.txn_created).max(cursor.txn_created);
    complete_invoice_lines(run, b).await?;
    payout_links(run, b).await?;
    Ok((next, applied))
}

/// Invoices whose embedded lines were cut (`has_more`) get the rest from `/lines`.
async fn complete_invoice_lines(run: &mut Run<'_>, b: &mut Batch) -> Result<(), StripeSyncError> {
    for inv in b.invoices.iter_mut().filter(|i| i.lines.has_more) {
        let path = format!("/v1/invoices/{}/lines", inv.id);
        inv.lines.data = run.all("stripe_invoice_lines", &path, &[], |l: &InvoiceLine| &l.id).await?;
        inv.lines.has_more = false;
    }
    Ok(())
}

async fn payout_links(run: &mut Run<'_>, b: &mut Batch) -> Result<(), StripeSyncError> {
    let ids: BTreeSet<String> = b.payouts.iter().map(|p| p.id.clone()).collect();
    for id in ids {
        let txns = run
            .all(
                "stripe_payout_transactions",
                "/v1/balance_transactions",
                &p([("payout", id.as_str())]),
                |c: &BalanceTransaction| &c.id,
            )
            .await?;
        b.payout_transactions.push((id, txns.into_iter().map(|t| t.id).collect()));
    }
    Ok(())
}

/// The payments list's status of a charge.
pub fn payment_status(c: &Charge) -> &'static str {
    if c.disputed {
        "disputed"
    } else if c.status == "failed" {
        "failed"
    } else if c.status == "pending" {
        "pending"
    } else if c.amount_refunded >= c.amount && c.amount > 0 {
        "refunded"
    } else if c.amount_refunded > 0 {
        "partially_refunded"
    } else {
        "succeeded"
    }
}

fn sum(v: &[AmountOnly]) -> i64 {
    v.iter().map(|a| a.amount).sum()
}

fn apply(
    conn: &mut Connection,
    b: &Batch,
    full: bool,
    cursor: &Cursor,
    as_of: &str,
    mode: &str,
) -> Result<BTreeMap<String, u32>, CacheError> {
    let pii = Pii { masked: mode == "masked" };
    let tx = conn.transaction().map_err(CacheError::sql("starting the Stripe write"))?;
    let e = |what: &'static str| CacheError::sql(format!("writing {what}"));
    if full {
        for t in TABLES {
            tx.execute(&format!("DELETE FROM {t}"), []).map_err(e("a full reload"))?;
        }
    }
    let mut written = BTreeMap::new();
    for id in &b.deleted_invoices {
        tx.execute("DELETE FROM stripe_invoice_lines WHERE invoice = ?1", [id]).map_err(e("deleted invoices"))?;
        tx.execute("DELETE FROM stripe_invoices WHERE id = ?1", [id]).map_err(e("deleted invoices"))?;
    }
    {
        let mut st = tx
            .prepare("INSERT OR REPLACE INTO stripe_customers VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
            .map_err(e("customers"))?;
        for c in &b.customers {
            st.execute(params![
                c.id,
                pii.email(&c.email),
                pii.name(&c.name),
                c.currency,
                c.delinquent,
                c.deleted,
                c.created
            ])
            .map_err(e("customers"))?;
        }
        written.insert("stripe_customers".into(), b.customers.len() as u32);

        let mut st = tx
            .prepare("INSERT OR REPLACE INTO stripe_subscriptions VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18)")
            .map_err(e("subscriptions"))?;
        let mut del_items = tx
            .prepare("DELETE FROM stripe_subscription_items WHERE subscription = ?1")
            .map_err(e("subscription items"))?;
        let mut item = tx
            .prepare("INSERT OR REPLACE INTO stripe_subscription_items VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)")
            .map_err(e("subscription items"))?;
        for s in &b.subscriptions {
            let coupon = s.discount.as_ref().map(|d| &d.coupon);
            st.execute(params![
                s.id,
                s.customer,
                s.status,
                s.created,
                s.current_period_start,
                s.current_period_end,
                s.cancel_at_period_end,
                s.canceled_at,
                s.ended_at,
                s.trial_end,
                s.pause_collection.as_ref().map(|p| p.behavior.clone()),
                s.pause_collection.as_ref().and_then(|p| p.resumes_at),
                coupon.map(|c| c.id.clone()),
                // Percentages in basis points: 12.5 % → 1250, no floats stored.
                coupon.and_then(|c| c.percent_off).map(|p| (p * 100.0).round() as i64),
                coupon.and_then(|c| c.amount_off),
                coupon.and_then(|c| c.currency.clone()),
                coupon.and_then(|c| c.duration.clone()),
                s.discount.as_ref().and_then(|d| d.end),
            ])
            .map_err(e("subscriptions"))?;
            del_items.execute([&s.id]).map_err(e("subscription items"))?;
            for i in &s.items.data {
                let rec = i.price.recurring.as_ref();
                item.execute(params![
                    i.id,
                    s.id,
                    i.price.id,
                    i.price.product,
                    i.price.nickname,
                    i.price.unit_amount,
                    i.price.currency,
                    rec.map(|r| r.interval.clone()),
                    rec.map(|r| r.interval_count),
                    i.quantity.unwrap_or(1),
                ])
                .map_err(e("subscription items"))?;
            }
        }
        written.insert("stripe_subscriptions".into(), b.subscriptions.len() as u32);

        let mut st = tx
            .prepare("INSERT OR REPLACE INTO stripe_invoices VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25)")
            .map_err(e("invoices"))?;
        let mut del_lines =
            tx.prepare("DELETE FROM stripe_invoice_lines WHERE invoice = ?1").map_err(e("invoice lines"))?;
        let mut line = tx
            .prepare("INSERT OR REPLACE INTO stripe_invoice_lines VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)")
            .map_err(e("invoice lines"))?;
        for i in &b.invoices {
            st.execute(params![
                i.id,
                i.number,
                i.customer,
                i.subscription,
                i.status,
                i.currency,
                i.subtotal,
                i.tax,
                sum(&i.total_discount_amounts),
                i.total,
                i.amount_due,
                i.amount_paid,
                i.amount_remaining,
                i.attempt_count,
                i.next_payment_attempt,
                i.due_date,
                i.created,
                i.period_start,
                i.period_end,
                i.status_transitions.paid_at,
                i.charge,
                i.payment_intent,
                i.collection_method,
                pii.withheld(&i.invoice_pdf),
                pii.withheld(&i.hosted_invoice_url),
            ])
            .map_err(e("invoices"))?;
            del_lines.execute([&i.id]).map_err(e("invoice lines"))?;
            for l in &i.lines.data {
                line.execute(params![
                    l.id,
                    i.id,
                    pii.text(&l.description),
                    l.amount,
                    l.currency,
                    l.quantity,
                    l.period.start,
                    l.period.end,
                    l.price.as_ref().map(|p| p.id.clone()),
                    l.proration,
                    sum(&l.discount_amounts),
                    sum(&l.tax_amounts),
                    l.price.as_ref().and_then(|p| p.nickname.clone().or_else(|| p.product.clone())),
                    l.price.as_ref().and_then(|p| p.recurring.as_ref().map(|r| r.interval.clone())),
                    l.price.as_ref().and_then(|p| p.recurring.as_ref().map(|r| r.interval_count)),
                ])
                .map_err(e("invoice lines"))?;
            }
        }
        written.insert("stripe_invoices".into(), b.invoices.len() as u32);

        let mut st = tx
            .prepare("INSERT OR REPLACE INTO stripe_charges VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19)")
            .map_err(e("charges"))?;
        for c in &b.charges {
            let card = c.payment_method_details.as_ref().and_then(|d| d.card.clone()).unwrap_or_default();
            st.execute(params![
                c.id,
                c.customer,
                c.invoice,
                c.payment_intent,
                c.amount,
                c.amount_refunded,
                c.currency,
                c.status,
                payment_status(c),
                c.refunded,
                c.disputed,
                c.failure_code,
                pii.text(&c.failure_message),
                card.brand,
                card.last4,
                c.balance_transaction,
                pii.email(&c.billing_details.email),
                pii.text(&c.description),
                c.created,
            ])
            .map_err(e("charges"))?;
        }
        written.insert("stripe_charges".into(), b.charges.len() as u32);

        let mut st = tx
            .prepare("INSERT OR REPLACE INTO stripe_payment_intents VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)")
            .map_err(e("payment intents"))?;
        for x in &b.payment_intents {
            let err = x.last_payment_error.clone().unwrap_or_default();
            st.execute(params![
                x.id,
                x.customer,
                x.invoice,
                x.amount,
                x.currency,
                x.status,
                x.latest_charge,
                err.code,
                pii.text(&err.message),
                x.created
            ])
            .map_err(e("payment intents"))?;
        }
        written.insert("stripe_payment_intents".into(), b.payment_intents.len() as u32);

        let mut st = tx
            .prepare("INSERT OR REPLACE INTO stripe_refunds VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)")
            .map_err(e("refunds"))?;
        for r in &b.refunds {
            st.execute(params![
                r.id,
                r.charge,
                r.payment_intent,
                r.amount,
                r.currency,
                r.status,
                r.reason,
                pii.withheld(&r.metadata.get("reason").cloned()),
                r.balance_transaction,
                r.created
            ])
            .map_err(e("refunds"))?;
        }
        written.insert("stripe_refunds".into(), b.refunds.len() as u32);

        let mut st = tx
            .prepare("INSERT OR REPLACE INTO stripe_disputes VALUES (?1,?2,?3,?4,?5,?6,?7)")
            .map_err(e("disputes"))?;
        for d in &b.disputes {
            st.execute(params![d.id, d.charge, d.amount, d.currency, d.status, d.reason, d.created])
                .map_err(e("disputes"))?;
        }
        written.insert("stripe_disputes".into(), b.disputes.len() as u32);

        let mut st = tx
            .prepare("INSERT OR REPLACE INTO stripe_balance_transactions VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)")
            .map_err(e("balance transactions"))?;
        for t in &b.balance_transactions {
            st.execute(params![
                t.id,
                t.kind,
                t.source,
                t.amount,
                t.fee,
                t.net,
                t.currency,
                t.status,
                t.available_on,
                t.created
            ])
            .map_err(e("balance transactions"))?;
        }
        written.insert("stripe_balance_transactions".into(), b.balance_transactions.len() as u32);

        let mut st =
            tx.prepare("INSERT OR REPLACE INTO stripe_payouts VALUES (?1,?2,?3,?4,?5,?6)").map_err(e("payouts"))?;
        for x in &b.payouts {
            st.execute(params![x.id, x.amount, x.currency, x.status, x.arrival_date, x.created])
                .map_err(e("payouts"))?;
        }
        written.insert("stripe_payouts".into(), b.payouts.len() as u32);

        let mut del =
            tx.prepare("DELETE FROM stripe_payout_transactions WHERE payout = ?1").map_err(e("payout transactions"))?;
        let mut st = tx
            .prepare("INSERT OR REPLACE INTO stripe_payout_transactions VALUES (?1, ?2)")
            .map_err(e("payout transactions"))?;
        for (po, txns) in &b.payout_transactions {
            del.execute([po]).map_err(e("payout transactions"))?;
            for t in txns {
                st.execute([po, t]).map_err(e("payout transactions"))?;
            }
        }
        let cursor_json = serde_json::to_string(cursor).unwrap_or_default();
        let mut st = tx
            .prepare("INSERT OR REPLACE INTO stripe_sync_state (key, value) VALUES (?1, ?2)")
            .map_err(e("the Stripe cursor"))?;
        st.execute(["cursor", cursor_json.as_str()]).map_err(e("the Stripe cursor"))?;
        st.execute(["as_of", as_of]).map_err(e("the Stripe cursor"))?;
        st.execute(["mode", if full { "full" } else { "incremental" }]).map_err(e("the Stripe cursor"))?;
        st.execute(["pii", mode]).map_err(e("the Stripe cursor"))?;
    }
    tx.commit().map_err(CacheError::sql("committing the Stripe sync"))?;
    Ok(written)
}
