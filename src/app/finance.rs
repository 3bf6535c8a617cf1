//! The Finance screens' operations: reads over the cached Stripe tables, exports, and
//! money actions against Stripe (each followed by a sync of what it touched).
//!
//! Stripe is reached through the profile's `[stripe]` section and the key in the OS
//! keyring. The demo profile has no real Stripe: the app starts a fake Stripe (real
//! HTTP, [`crate::stripe::fake`]) built from the demo database the first time it is
//! needed in a run. That fake lives as long as the app, so the cache reloads Stripe in
//! full from it once per run; actions taken against it last until the app closes.
//!
//! Money actions go through the signed-in staff member's session: the database's
//! journal functions check the permission and write the journal and its audit entries
//! with the verified identity. The Stripe sync writes the cache of that staff member,
//! masked when their role sees personal data masked.

use std::path::PathBuf;
use std::sync::Arc;

use super::{App, AppError, ErrorCode};
use crate::finance::actions::{
    self, ActionContext, ActionError, ActionOutcome, RefundPreview, RefundRequest, SubscriptionChange,
};
use crate::finance::billing::{
    self, CustomerOption, FailedPayment, InvoiceDetail, InvoicePage, InvoiceQuery, SubscriptionRow,
};
use crate::finance::invoicing::{self, ManualInvoice};
use crate::finance::payments::{self, PaymentPage, PaymentQuery};
use crate::finance::reconcile::{self, Reconciliation};
use crate::finance::revenue::{self, CollectedPoint, MrrPoint, Period, RevenueReport};
use crate::finance::webhooks::{self, WebhookHealth};
use crate::finance::FinanceError;
use crate::stripe::fake::{Dataset, FakeOptions, FakeStripe};
use crate::stripe::sync::{self as stripe_sync, StripeSyncError};
use crate::stripe::{Stripe, StripeConfig};
use crate::sync::{Cancel, Progress};
use crate::{cache, sync};

/// Recent platform payments the demo's fake Stripe mirrors as charges.
const DEMO_STRIPE_PAYMENTS: i64 = 5_000;

/// A trend chart for one currency.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TrendChart {
    /// The currency charted.
    pub currency: String,
    /// The chart as SVG.
    pub svg: String,
}

/// What the Finance screens need to know before showing anything.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FinanceStatus {
    /// The profile names a Stripe account (or is the demo, which has a fake one).
    pub configured: bool,
    /// When Stripe was last synced into the cache (UTC), `None` if never.
    pub as_of: Option<String>,
}

impl From<FinanceError> for AppError {
    fn from(e: FinanceError) -> Self {
        match e {
            FinanceError::Forbidden(a) => a.into(),
            FinanceError::Cache(c) => c.into(),
            FinanceError::NotSynced => AppError::new(ErrorCode::NotFound, e.to_string()),
            FinanceError::BadInput(m) => AppError::bad_input(m),
            FinanceError::Cancelled => AppError::new(ErrorCode::Cancelled, e.to_string()),
            other => AppError::new(ErrorCode::Internal, other.to_string()),
        }
    }
}

impl From<ActionError> for AppError {
    fn from(e: ActionError) -> Self {
        match e {
            ActionError::Refused(f) => f.into(),
            ActionError::Stripe { .. } => AppError::new(ErrorCode::Conflict, e.to_string()),
            ActionError::Unconfirmed { .. } => AppError::new(ErrorCode::Offline, e.to_string()),
            other => AppError::new(ErrorCode::Internal, other.to_string()),
        }
    }
}

impl From<StripeSyncError> for AppError {
    fn from(e: StripeSyncError) -> Self {
        match e {
            StripeSyncError::Cache(c) => c.into(),
            StripeSyncError::Cancelled => AppError::new(ErrorCode::Cancelled, e.to_string()),
            StripeSyncError::Forbidden(a) => a.into(),
            StripeSyncError::Stripe(s) => AppError::new(ErrorCode::Offline, format!("Stripe: {s}")),
        }
    }
}

impl App {
    fn finance_cache(&self) -> Result<(rusqlite::Connection, crate::auth::Staff), AppError> {
        Ok((self.read_cache()?, self.staff()?))
    }

    /// Whether Stripe is configured and when it was last synced.
    pub fn finance_status(&self) -> Result<FinanceStatus, AppError> {
        let profile = self.selected()?;
        let as_of = match cache::open_read(&self.cache_path(&profile.name)) {
            Ok(conn) => stripe_sync::as_of(&conn)?,
            Err(_) => None,
        };
        Ok(FinanceStatus { configured: profile.stripe.is_some() || profile.demo.is_some(), as_of })
    }

    /// The Stripe client of the selected profile (the demo's fake, started on first use).
    async fn stripe(&self) -> Result<Stripe, AppError> {
        let profile = self.selected()?;
        if profile.demo.is_some() {
            let existing = self.state().demo_stripe.clone();
            let fake = match existing {
                Some(f) => f,
                None => {
                    // Demo seeding: the fake Stripe is made from the demo's own platform
                    // data, read with the demo cluster's owner login (never a staff
                    // member's). The sync then masks what the staff member may not see.
                    let owner = crate::central::Central::connect(&profile.owner_targets()?, 1).await?;
                    let data = Dataset::from_platform(&owner.oltp, DEMO_STRIPE_PAYMENTS)
                        .await
                        .map_err(|e| AppError::new(ErrorCode::Internal, format!("building the demo's Stripe: {e}")))?;
                    let fake =
                        Arc::new(FakeStripe::start(data, FakeOptions::default()).await.map_err(|e| {
                            AppError::new(ErrorCode::Internal, format!("starting the demo's Stripe: {e}"))
                        })?);
                    // A new fake knows nothing of the cache's event cursor: reload in full.
                    if let Ok(conn) = cache::open_write(&self.cache_path(&profile.name)) {
                        stripe_sync::forget_cursor(&conn)?;
                    }
                    self.state().demo_stripe = Some(fake.clone());
                    fake
                }
            };
            return Stripe::new(StripeConfig::new(fake.api_base(), fake.secret_key()))
                .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()));
        }
        let Some(settings) = &profile.stripe else {
            return Err(AppError::new(
                ErrorCode::NotFound,
                format!(
                    "profile {} names no Stripe account; add `[stripe] api_base = \"https://api.stripe.com\"` to {} \
                     and store the key with `penguin-admin finance set-key`",
                    profile.name,
                    profile.path.display()
                ),
            ));
        };
        let key = profile.stripe_key()?.ok_or_else(|| {
            AppError::new(
                ErrorCode::KeyringUnavailable,
                format!(
                    "no Stripe key is stored for profile {}; run `penguin-admin finance set-key --profile {}`",
                    profile.name, profile.name
                ),
            )
        })?;
        Stripe::new(StripeConfig::new(settings.api_base.clone(), key))
            .map_err(|e| AppError::new(ErrorCode::BadInput, e.to_string()))
    }

    /// Syncs Stripe into the cache (full the first time, events after), with progress;
    /// `cancel_sync` stops it and the cache keeps its previous state.
    pub async fn sync_stripe(
        &self,
        progress: impl Fn(Progress) + Send + Sync + 'static,
    ) -> Result<stripe_sync::StripeSyncReport, AppError> {
        let session = self.session()?;
        let staff = session.staff();
        staff.require(crate::auth::permissions::SYNC_RUN)?;
        staff.require(crate::auth::permissions::FINANCE_READ)?;
        let profile = self.selected()?;
        let stripe = self.stripe().await?;
        let cancel = Cancel::default();
        {
            let mut st = self.state();
            if st.cancel.is_some() {
                return Err(AppError::new(ErrorCode::Conflict, "a sync is already running"));
            }
            st.cancel = Some(cancel.clone());
        }
        let progress: sync::ProgressFn = Arc::new(move |p: &Progress| progress(p.clone()));
        let result = stripe_sync::sync(&stripe, staff, &self.cache_path(&profile.name), Some(progress), &cancel).await;
        self.state().cancel = None;
        Ok(result?)
    }

    /// Payments, filtered, sorted and paged.
    pub fn payments(&self, q: PaymentQuery) -> Result<PaymentPage, AppError> {
        let (conn, staff) = self.finance_cache()?;
        Ok(payments::list(&conn, &staff, &q)?)
    }

    /// Writes exactly the payments `q` matches to `path` as CSV, reporting progress.
    pub fn export_payments(
        &self,
        q: PaymentQuery,
        path: PathBuf,
        progress: impl Fn(Progress),
    ) -> Result<u64, AppError> {
        let (conn, staff) = self.finance_cache()?;
        super::write_atomically(&path, |file| {
            payments::export_csv(&conn, &staff, &q, file, |done, total| {
                progress(Progress { table: "payments".into(), done, total });
                true
            })
            .map_err(AppError::from)
        })
    }

    /// Invoices, filtered and paged.
    pub fn invoices(&self, q: InvoiceQuery) -> Result<InvoicePage, AppError> {
        let (conn, staff) = self.finance_cache()?;
        Ok(billing::invoices(&conn, &staff, &q)?)
    }

    /// One invoice with lines, payments and refunds.
    pub fn invoice(&self, id: &str) -> Result<InvoiceDetail, AppError> {
        let (conn, staff) = self.finance_cache()?;
        billing::invoice(&conn, &staff, id)?
            .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("no invoice {id} in the cache")))
    }

    /// Open invoices whose latest payment attempt failed.
    pub fn failed_payments(&self, tenant_id: Option<String>) -> Result<Vec<FailedPayment>, AppError> {
        let (conn, staff) = self.finance_cache()?;
        Ok(billing::failed_payments(&conn, &staff, tenant_id.as_deref())?)
    }

    /// Stripe customers matching a search, for the manual invoice form.
    pub fn customers(&self, search: &str) -> Result<Vec<CustomerOption>, AppError> {
        let (conn, staff) = self.finance_cache()?;
        Ok(billing::customers(&conn, &staff, search)?)
    }

    /// Subscriptions.
    pub fn subscriptions(
        &self,
        status: Option<String>,
        tenant_id: Option<String>,
        search: Option<String>,
    ) -> Result<Vec<SubscriptionRow>, AppError> {
        let (conn, staff) = self.finance_cache()?;
        Ok(billing::subscriptions(&conn, &staff, status.as_deref(), tenant_id.as_deref(), search.as_deref())?)
    }

    /// MRR, its movement, churn, ARPA, LTV and payment success for a month (`YYYY-MM`).
    pub fn revenue(&self, month: &str) -> Result<RevenueReport, AppError> {
        let (conn, staff) = self.finance_cache()?;
        Ok(revenue::report(&conn, &staff, month)?)
    }

    /// Month-end MRR from `from` to `to` (`YYYY-MM`), per currency.
    pub fn mrr_history(&self, from: &str, to: &str) -> Result<Vec<MrrPoint>, AppError> {
        let (conn, staff) = self.finance_cache()?;
        Ok(revenue::history(&conn, &staff, from, to)?)
    }

    /// Month-end MRR from `from` to `to`, one chart per currency (plotters, SVG).
    pub fn mrr_charts(&self, from: &str, to: &str) -> Result<Vec<TrendChart>, AppError> {
        let history = self.mrr_history(from, to)?;
        let currencies: std::collections::BTreeSet<String> = history.iter().map(|p| p.currency.clone()).collect();
        currencies
            .into_iter()
            .map(|currency| {
                let svg = crate::charts::to_svg(&crate::charts::mrr_trend(&history, &currency))?;
                Ok(TrendChart { currency, svg })
            })
            .collect()
    }

    /// Money collected per day, week or month from `from` to `to` (dates, `to` exclusive),
    /// with one bar chart per currency.
    pub fn collected(
        &self,
        period: Period,
        from: &str,
        to: &str,
    ) -> Result<(Vec<CollectedPoint>, Vec<TrendChart>), AppError> {
        let (conn, staff) = self.finance_cache()?;
        let points = revenue::collected(&conn, &staff, period, from, to)?;
        let per = match period {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        };
        let currencies: std::collections::BTreeSet<String> = points.iter().map(|p| p.currency.clone()).collect();
        let charts = currencies
            .into_iter()
            .map(|currency| {
                let svg = crate::charts::to_svg(&crate::charts::collected_trend(&points, &currency, per))?;
                Ok(TrendChart { currency, svg })
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        Ok((points, charts))
    }

    /// Writes the MRR trend of one currency to `path` as a PNG (for reports and decks).
    pub fn export_mrr_chart(&self, from: &str, to: &str, currency: &str, path: PathBuf) -> Result<(), AppError> {
        let history = self.mrr_history(from, to)?;
        let png = crate::charts::to_png(&crate::charts::mrr_trend(&history, currency))?;
        super::write_atomically(&path, |file| {
            use std::io::Write;
            file.write_all(&png).map_err(|e| AppError::bad_input(format!("cannot write {}: {e}", path.display())))
        })
    }

    /// Reconciles the platform's payments with Stripe for a period.
    pub fn reconcile(&self, from: &str, to: &str) -> Result<Reconciliation, AppError> {
        let (conn, staff) = self.finance_cache()?;
        Ok(reconcile::reconcile(&conn, &staff, from, to)?)
    }

    /// Writes the period's discrepancies to `path` as CSV.
    pub fn export_reconciliation(&self, from: &str, to: &str, path: PathBuf) -> Result<u64, AppError> {
        let report = self.reconcile(from, to)?;
        super::write_atomically(&path, |file| reconcile::export_csv(&report, file).map_err(AppError::from))
    }

    /// Stripe webhook health from the platform's webhook log.
    pub fn webhook_health(&self) -> Result<WebhookHealth, AppError> {
        let (conn, staff) = self.finance_cache()?;
        Ok(webhooks::health(&conn, &staff)?)
    }

    /// What a refund would do (refused before anything is sent when it cannot be done).
    pub fn preview_refund(&self, req: RefundRequest) -> Result<RefundPreview, AppError> {
        let (conn, staff) = self.finance_cache()?;
        Ok(actions::preview_refund(&conn, &staff, &req, None)?)
    }

    /// What a money action needs, gathered once (an online session; Stripe reachable).
    async fn money_parts(&self) -> Result<MoneyParts, AppError> {
        let session = self.session()?;
        let profile = self.selected()?;
        Ok(MoneyParts { session, stripe: self.stripe().await?, cache_path: self.cache_path(&profile.name) })
    }

    fn action_context<'a>(&'a self, p: &'a MoneyParts) -> ActionContext<'a> {
        ActionContext { session: &p.session, stripe: &p.stripe, cache_path: &p.cache_path }
    }

    /// Syncs Stripe after a money action so every screen shows it; best effort, as the
    /// action stands anyway and the next sync picks it up.
    async fn sync_stripe_after_action(&self) {
        if let Err(e) = self.sync_stripe(|_| {}).await {
            tracing::warn!(error = %e, "the Stripe sync after a money action failed; the next sync will show it");
        }
    }

    /// Refunds a charge (full or partial) with a reason.
    pub async fn refund(&self, req: RefundRequest) -> Result<ActionOutcome, AppError> {
        let parts = self.money_parts().await?;
        let outcome = actions::refund(self.action_context(&parts), &req).await?;
        self.sync_stripe_after_action().await;
        Ok(outcome)
    }

    /// Retries a failed invoice payment now.
    pub async fn retry_payment(&self, invoice_id: &str) -> Result<ActionOutcome, AppError> {
        let parts = self.money_parts().await?;
        let outcome = actions::retry_payment(self.action_context(&parts), invoice_id).await?;
        self.sync_stripe_after_action().await;
        Ok(outcome)
    }

    /// Sends an open invoice to the customer again.
    pub async fn resend_invoice(&self, invoice_id: &str) -> Result<ActionOutcome, AppError> {
        let parts = self.money_parts().await?;
        let outcome = actions::resend_invoice(self.action_context(&parts), invoice_id).await?;
        self.sync_stripe_after_action().await;
        Ok(outcome)
    }

    /// Creates, fills and finalises a manual invoice for a custom deal.
    pub async fn create_invoice(&self, invoice: ManualInvoice) -> Result<ActionOutcome, AppError> {
        let parts = self.money_parts().await?;
        let outcome = invoicing::create_invoice(self.action_context(&parts), &invoice).await?;
        self.sync_stripe_after_action().await;
        Ok(outcome)
    }

    /// Downloads an invoice's PDF from Stripe into `dir` (a new file); returns its path.
    pub async fn download_invoice_pdf(&self, invoice_id: &str, dir: PathBuf) -> Result<PathBuf, AppError> {
        let (url, number) = {
            let (conn, staff) = self.finance_cache()?;
            invoicing::pdf_link(&conn, &staff, invoice_id)?
        };
        let bytes = invoicing::download_pdf(&self.stripe().await?, &url).await?;
        let safe: String =
            number.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
        let mut path = dir.join(format!("invoice-{safe}.pdf"));
        let mut n = 2;
        while path.exists() {
            path = dir.join(format!("invoice-{safe}-{n}.pdf"));
            n += 1;
        }
        super::write_atomically(&path, |file| {
            use std::io::Write;
            file.write_all(&bytes).map_err(|e| AppError::bad_input(format!("cannot write {}: {e}", path.display())))
        })?;
        Ok(path)
    }

    /// Cancels, pauses, discounts or re-plans a subscription, with a reason.
    pub async fn change_subscription(
        &self,
        subscription_id: &str,
        change: SubscriptionChange,
        reason: &str,
    ) -> Result<ActionOutcome, AppError> {
        let parts = self.money_parts().await?;
        let outcome =
            actions::change_subscription(self.action_context(&parts), subscription_id, &change, reason).await?;
        self.sync_stripe_after_action().await;
        Ok(outcome)
    }
}

struct MoneyParts {
    session: crate::auth::Session,
    stripe: Stripe,
    cache_path: PathBuf,
}
