//! The IPC commands: each is a one-line adapter from the UI to
//! [`penguin_admin::app::App`], which checks the signed-in staff member's permissions,
//! masks what the role may not see and writes the audit log. Nothing here decides
//! anything; errors cross the boundary as the library's serialisable [`AppError`].
//!
//! Long work (demo start, sync) streams [`Progress`] through a Tauri [`Channel`].
//! Commands that touch the cache, the keyring or the disk are `command(async)`: Tauri
//! runs plain commands on the main thread, where a slow query would freeze the window.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use penguin_admin::alerts::{AlertDetail, AlertRow, FeedFilter, NewSilence, SilenceRow};
use penguin_admin::app::{App, AppError, AppStatus, ErrorCode, NewProfile, ProfileSummary, StaffInfo, SyncSummary};
use penguin_admin::app::{FinanceStatus, MonitorSnapshot, TenantAdminView, TrendChart, WorkspaceHealth};
use penguin_admin::audit::{AuditFilter, AuditPage, ExportFormat};
use penguin_admin::finance::actions::{ActionOutcome, RefundPreview, RefundRequest, SubscriptionChange};
use penguin_admin::finance::billing::{
    CustomerOption, FailedPayment, InvoiceDetail, InvoicePage, InvoiceQuery, SubscriptionRow,
};
use penguin_admin::finance::invoicing::ManualInvoice;
use penguin_admin::finance::payments::{PaymentPage, PaymentQuery};
use penguin_admin::finance::reconcile::Reconciliation;
use penguin_admin::finance::revenue::{CollectedPoint, MrrPoint, Period, RevenueReport};
use penguin_admin::finance::webhooks::WebhookHealth;
use penguin_admin::health::{WorkspacePage, WorkspaceQuery};
use penguin_admin::members::{Revocation, RoleChange, TenantRole};
use penguin_admin::monitor::queue::{BulkPreview, JobAction, JobDetail, JobFilter, JobPage};
use penguin_admin::monitor::Area;
use penguin_admin::rbac::Matrix;
use penguin_admin::stripe::sync::StripeSyncReport;
use penguin_admin::sync::Progress;
use penguin_admin::tenant_admin::flags::{FlagChange, TenantFlag};
use penguin_admin::tenant_admin::overrides::{Override, OverrideInput};
use penguin_admin::tenant_admin::provision::{PlanChoice, ProvisionRequest, Provisioned};
use penguin_admin::tenant_admin::support::{SupportGrant, TenantView};
use penguin_admin::tenants::{PaletteHit, TenantDetail, TenantPage, TenantQuery};
use penguin_admin::users::{UserDetail, UserPage, UserQuery};
use penguin_admin::workspaces::{DeletionPreview, SoftDeleted};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};

use crate::exports::{self, ExportedFile};

/// What every command returns: the library's value or its `{ code, message }` error.
pub(crate) type Reply<T> = Result<T, AppError>;

/// The connection profiles on this machine.
#[tauri::command(async)]
#[specta::specta]
pub fn profiles(app: State<'_, App>) -> Reply<Vec<ProfileSummary>> {
    app.profiles()
}

/// Saves a new connection profile (secrets go to the OS keyring, or stay in memory
/// for this session when `session_only_secrets` is set).
#[tauri::command(async)]
#[specta::specta]
pub fn create_profile(app: State<'_, App>, input: NewProfile) -> Reply<ProfileSummary> {
    app.create_profile(input)
}

/// Starts the throwaway demo cluster on this machine, seeded at `scale`.
#[tauri::command]
#[specta::specta]
pub async fn start_demo(handle: AppHandle, scale: u32, on_progress: Channel<Progress>) -> Reply<ProfileSummary> {
    on_worker(handle, move |app| Box::pin(app.start_demo(scale, move |p| send(&on_progress, p)))).await
}

/// Opens a profile's cache and checks whether its central databases are reachable.
#[tauri::command]
#[specta::specta]
pub async fn select_profile(app: State<'_, App>, name: String) -> Reply<AppStatus> {
    app.select_profile(&name).await
}

/// Signs a staff member in on the selected profile.
#[tauri::command]
#[specta::specta]
pub async fn sign_in(app: State<'_, App>, email: String, password: String) -> Reply<StaffInfo> {
    app.sign_in(&email, &password).await
}

/// Ends the console session on the server and forgets everything sensitive held in memory.
#[tauri::command]
#[specta::specta]
pub async fn sign_out(handle: AppHandle) -> Reply<()> {
    on_worker(handle, move |app| {
        Box::pin(async move {
            app.sign_out().await;
            Ok(())
        })
    })
    .await
}

/// Profile, signed-in staff member, connectivity and sync state.
#[tauri::command(async)]
#[specta::specta]
pub fn status(app: State<'_, App>) -> AppStatus {
    app.status()
}

/// Synchronises the selected profile's cache, streaming progress per table.
#[tauri::command]
#[specta::specta]
pub async fn sync(handle: AppHandle, on_progress: Channel<Progress>) -> Reply<SyncSummary> {
    on_worker(handle, move |app| Box::pin(app.sync(move |p| send(&on_progress, p)))).await
}

/// Asks a running sync to stop; the cache keeps its last consistent state.
#[tauri::command]
#[specta::specta]
pub fn cancel_sync(app: State<'_, App>) {
    app.cancel_sync()
}

/// One page of the tenant list, searched and sorted in SQL.
#[tauri::command(async)]
#[specta::specta]
pub fn tenants(app: State<'_, App>, query: TenantQuery) -> Reply<TenantPage> {
    app.tenants(query)
}

/// A tenant's members, workspaces, subscription and feature flags.
#[tauri::command(async)]
#[specta::specta]
pub fn tenant_detail(app: State<'_, App>, id: String) -> Reply<TenantDetail> {
    app.tenant_detail(&id)
}

/// Tenants, users and workspaces matching a name, email or id (the Ctrl+K palette).
#[tauri::command(async)]
#[specta::specta]
pub fn palette(app: State<'_, App>, text: String) -> Reply<Vec<PaletteHit>> {
    app.palette(&text)
}

/// One page of the users across all tenants, searched and filtered in SQL.
#[tauri::command(async)]
#[specta::specta]
pub fn users(app: State<'_, App>, query: UserQuery) -> Reply<UserPage> {
    app.users(query)
}

/// A user's profile, tenants, workspaces, sessions, sign-ins and audit trail.
#[tauri::command(async)]
#[specta::specta]
pub fn user_detail(app: State<'_, App>, id: String) -> Reply<UserDetail> {
    app.user_detail(&id)
}

/// Revokes one session of a user (or all when `session_id` is null), then syncs.
#[tauri::command]
#[specta::specta]
pub async fn revoke_sessions(handle: AppHandle, user_id: String, session_id: Option<String>) -> Reply<Revocation> {
    on_worker(handle, move |app| Box::pin(async move { app.revoke_sessions(&user_id, session_id.as_deref()).await }))
        .await
}

/// Changes a member's tenant role (never leaving the tenant without an owner), then syncs.
#[tauri::command]
#[specta::specta]
pub async fn change_member_role(
    handle: AppHandle,
    tenant_id: String,
    user_id: String,
    role: TenantRole,
) -> Reply<RoleChange> {
    on_worker(handle, move |app| Box::pin(async move { app.change_member_role(&tenant_id, &user_id, role).await }))
        .await
}

/// One page of the audit log, filtered.
#[tauri::command(async)]
#[specta::specta]
pub fn audit(app: State<'_, App>, filter: AuditFilter) -> Reply<AuditPage> {
    app.audit(filter)
}

/// Exports the filtered audit log to a new file in the user's Downloads folder.
#[tauri::command]
#[specta::specta]
pub async fn export_audit(app: State<'_, App>, filter: AuditFilter, format: ExportFormat) -> Reply<ExportedFile> {
    let path: PathBuf = exports::new_file_path("penguin-audit", format)?;
    let rows = app.export_audit(filter, format, path.clone()).await?;
    Ok(ExportedFile { path: path.display().to_string(), rows })
}

/// Whether the profile has Stripe and when it was last synced.
#[tauri::command(async)]
#[specta::specta]
pub fn finance_status(app: State<'_, App>) -> Reply<FinanceStatus> {
    app.finance_status()
}

/// Syncs Stripe into the cache, streaming progress (cancel with `cancel_sync`).
#[tauri::command]
#[specta::specta]
pub async fn sync_stripe(handle: AppHandle, on_progress: Channel<Progress>) -> Reply<StripeSyncReport> {
    on_worker(handle, move |app| Box::pin(app.sync_stripe(move |p| send(&on_progress, p)))).await
}

/// One page of payments, filtered and sorted in SQL.
#[tauri::command(async)]
#[specta::specta]
pub fn payments(app: State<'_, App>, query: PaymentQuery) -> Reply<PaymentPage> {
    app.payments(query)
}

/// Exports exactly the filtered payments to a new CSV file in Downloads, with progress.
#[tauri::command(async)]
#[specta::specta]
pub fn export_payments(
    app: State<'_, App>,
    query: PaymentQuery,
    on_progress: Channel<Progress>,
) -> Reply<ExportedFile> {
    let path = exports::new_file_path("penguin-payments", ExportFormat::Csv)?;
    let rows = app.export_payments(query, path.clone(), |p| send(&on_progress, p))?;
    Ok(ExportedFile { path: path.display().to_string(), rows })
}

/// One page of invoices.
#[tauri::command(async)]
#[specta::specta]
pub fn invoices(app: State<'_, App>, query: InvoiceQuery) -> Reply<InvoicePage> {
    app.invoices(query)
}

/// An invoice with its lines, payments and refunds.
#[tauri::command(async)]
#[specta::specta]
pub fn invoice(app: State<'_, App>, id: String) -> Reply<InvoiceDetail> {
    app.invoice(&id)
}

/// Open invoices whose latest payment attempt failed.
#[tauri::command(async)]
#[specta::specta]
pub fn failed_payments(app: State<'_, App>, tenant_id: Option<String>) -> Reply<Vec<FailedPayment>> {
    app.failed_payments(tenant_id)
}

/// Stripe customers matching an email, name, tenant or id (for the manual invoice form).
#[tauri::command(async)]
#[specta::specta]
pub fn customers(app: State<'_, App>, search: String) -> Reply<Vec<CustomerOption>> {
    app.customers(&search)
}

/// Subscriptions, by status, tenant and search text.
#[tauri::command(async)]
#[specta::specta]
pub fn subscriptions(
    app: State<'_, App>,
    status: Option<String>,
    tenant_id: Option<String>,
    search: Option<String>,
) -> Reply<Vec<SubscriptionRow>> {
    app.subscriptions(status, tenant_id, search)
}

/// A month's MRR, movements, churn, ARPA, LTV and payment success (`YYYY-MM`).
#[tauri::command(async)]
#[specta::specta]
pub fn revenue(app: State<'_, App>, month: String) -> Reply<RevenueReport> {
    app.revenue(&month)
}

/// Month-end MRR per currency from `from` to `to` (`YYYY-MM`).
#[tauri::command(async)]
#[specta::specta]
pub fn mrr_history(app: State<'_, App>, from: String, to: String) -> Reply<Vec<MrrPoint>> {
    app.mrr_history(&from, &to)
}

/// Month-end MRR charts (SVG), one per currency, from `from` to `to` (`YYYY-MM`).
#[tauri::command(async)]
#[specta::specta]
pub fn mrr_charts(app: State<'_, App>, from: String, to: String) -> Reply<Vec<TrendChart>> {
    app.mrr_charts(&from, &to)
}

/// Money collected per day, week or month (`to` exclusive), with a bar chart per currency.
#[tauri::command(async)]
#[specta::specta]
pub fn collected(
    app: State<'_, App>,
    period: Period,
    from: String,
    to: String,
) -> Reply<(Vec<CollectedPoint>, Vec<TrendChart>)> {
    app.collected(period, &from, &to)
}

/// Saves one currency's MRR trend as a PNG in Downloads; returns the file's path.
#[tauri::command(async)]
#[specta::specta]
pub fn export_mrr_chart(app: State<'_, App>, from: String, to: String, currency: String) -> Reply<String> {
    let path = exports::download_dir()?.join(format!("penguin-mrr-{currency}-{from}-{to}.png"));
    app.export_mrr_chart(&from, &to, &currency, path.clone())?;
    Ok(path.display().to_string())
}

/// The platform's payments against Stripe for a period: every discrepancy, with totals.
#[tauri::command(async)]
#[specta::specta]
pub fn reconcile(app: State<'_, App>, from: String, to: String) -> Reply<Reconciliation> {
    app.reconcile(&from, &to)
}

/// Exports a period's discrepancies to a new CSV file in Downloads.
#[tauri::command(async)]
#[specta::specta]
pub fn export_reconciliation(app: State<'_, App>, from: String, to: String) -> Reply<ExportedFile> {
    let path = exports::new_file_path("penguin-reconciliation", ExportFormat::Csv)?;
    let rows = app.export_reconciliation(&from, &to, path.clone())?;
    Ok(ExportedFile { path: path.display().to_string(), rows })
}

/// Stripe webhook health from the platform's webhook log.
#[tauri::command(async)]
#[specta::specta]
pub fn webhook_health(app: State<'_, App>) -> Reply<WebhookHealth> {
    app.webhook_health()
}

/// What a refund would do, including its MRR impact; refused when it cannot be done.
#[tauri::command(async)]
#[specta::specta]
pub fn preview_refund(app: State<'_, App>, request: RefundRequest) -> Reply<RefundPreview> {
    app.preview_refund(request)
}

/// Refunds a charge in Stripe (idempotent), audits it, then syncs Stripe.
#[tauri::command]
#[specta::specta]
pub async fn refund(handle: AppHandle, request: RefundRequest) -> Reply<ActionOutcome> {
    on_worker(handle, move |app| Box::pin(async move { app.refund(request).await })).await
}

/// Retries a failed invoice payment now, then syncs Stripe.
#[tauri::command]
#[specta::specta]
pub async fn retry_payment(handle: AppHandle, invoice_id: String) -> Reply<ActionOutcome> {
    on_worker(handle, move |app| Box::pin(async move { app.retry_payment(&invoice_id).await })).await
}

/// Sends an open invoice to the customer again, then syncs Stripe.
#[tauri::command]
#[specta::specta]
pub async fn resend_invoice(handle: AppHandle, invoice_id: String) -> Reply<ActionOutcome> {
    on_worker(handle, move |app| Box::pin(async move { app.resend_invoice(&invoice_id).await })).await
}

/// Creates, fills and finalises a manual invoice in Stripe, then syncs Stripe.
#[tauri::command]
#[specta::specta]
pub async fn create_invoice(handle: AppHandle, invoice: ManualInvoice) -> Reply<ActionOutcome> {
    on_worker(handle, move |app| Box::pin(async move { app.create_invoice(invoice).await })).await
}

/// Downloads an invoice's PDF into the Downloads folder; returns the file's path.
#[tauri::command]
#[specta::specta]
pub async fn download_invoice_pdf(handle: AppHandle, invoice_id: String) -> Reply<String> {
    let dir = exports::download_dir()?;
    on_worker(handle, move |app| {
        Box::pin(async move { app.download_invoice_pdf(&invoice_id, dir).await.map(|p| p.display().to_string()) })
    })
    .await
}

/// Cancels, pauses, discounts or re-plans a subscription with a reason, then syncs Stripe.
#[tauri::command]
#[specta::specta]
pub async fn change_subscription(
    handle: AppHandle,
    subscription_id: String,
    change: SubscriptionChange,
    reason: String,
) -> Reply<ActionOutcome> {
    on_worker(handle, move |app| {
        Box::pin(async move { app.change_subscription(&subscription_id, change, &reason).await })
    })
    .await
}

/// One page of the workspace list (by tenant and search), worst health first.
#[tauri::command(async)]
#[specta::specta]
pub fn workspace_page(app: State<'_, App>, query: WorkspaceQuery) -> Reply<WorkspacePage> {
    app.workspace_page(&query)
}

/// A workspace's health history and its trend chart (SVG).
#[tauri::command(async)]
#[specta::specta]
pub fn workspace_health(app: State<'_, App>, workspace_id: String, name: String) -> Reply<WorkspaceHealth> {
    app.workspace_health(&workspace_id, &name)
}

/// The tenant role × workspace role × feature matrix the platform enforces.
#[tauri::command(async)]
#[specta::specta]
pub fn rbac_matrix(app: State<'_, App>) -> Reply<Matrix> {
    app.rbac_matrix()
}

/// What deleting a workspace would do: counts, billing effect, purge date.
#[tauri::command]
#[specta::specta]
pub async fn workspace_deletion_preview(handle: AppHandle, workspace_id: String) -> Reply<DeletionPreview> {
    on_worker(handle, move |app| Box::pin(async move { app.workspace_deletion_preview(&workspace_id).await })).await
}

/// Soft-deletes a workspace after its name was typed to confirm, then syncs.
#[tauri::command]
#[specta::specta]
pub async fn delete_workspace(
    handle: AppHandle,
    workspace_id: String,
    confirm_name: String,
    reason: String,
) -> Reply<SoftDeleted> {
    on_worker(handle, move |app| {
        Box::pin(async move { app.delete_workspace(&workspace_id, &confirm_name, &reason).await })
    })
    .await
}

/// Restores a soft-deleted workspace within its grace period, then syncs.
#[tauri::command]
#[specta::specta]
pub async fn restore_workspace(handle: AppHandle, workspace_id: String) -> Reply<u32> {
    on_worker(handle, move |app| Box::pin(async move { app.restore_workspace(&workspace_id).await })).await
}

/// A tenant's settings (branding, regional, billing contact, security) and effective plan.
#[tauri::command(async)]
#[specta::specta]
pub fn tenant_admin(app: State<'_, App>, tenant_id: String) -> Reply<TenantAdminView> {
    app.tenant_admin(&tenant_id)
}

/// Every platform flag as it applies to the tenant.
#[tauri::command(async)]
#[specta::specta]
pub fn tenant_flags(app: State<'_, App>, tenant_id: String) -> Reply<Vec<TenantFlag>> {
    app.tenant_flags(&tenant_id)
}

/// Sets a flag for one tenant (null: back to the platform's value), with a reason; then syncs.
#[tauri::command]
#[specta::specta]
pub async fn set_tenant_flag(
    handle: AppHandle,
    tenant_id: String,
    key: String,
    enabled: Option<bool>,
    reason: String,
) -> Reply<FlagChange> {
    on_worker(handle, move |app| Box::pin(async move { app.set_tenant_flag(&tenant_id, &key, enabled, &reason).await }))
        .await
}

/// Every plan override, comp and trial extension of a tenant (history included), newest first.
#[tauri::command(async)]
#[specta::specta]
pub fn tenant_overrides(app: State<'_, App>, tenant_id: String) -> Reply<Vec<Override>> {
    app.tenant_overrides(&tenant_id)
}

/// Adds an override to a tenant (reason required); then syncs.
#[tauri::command]
#[specta::specta]
pub async fn add_tenant_override(handle: AppHandle, tenant_id: String, input: OverrideInput) -> Reply<Override> {
    on_worker(handle, move |app| Box::pin(async move { app.add_tenant_override(&tenant_id, &input).await })).await
}

/// Revokes an override from now on (reason required); then syncs.
#[tauri::command]
#[specta::specta]
pub async fn revoke_tenant_override(handle: AppHandle, override_id: String, reason: String) -> Reply<Override> {
    on_worker(handle, move |app| Box::pin(async move { app.revoke_tenant_override(&override_id, &reason).await })).await
}

/// The active plans a test tenant can subscribe to, cheapest first.
#[tauri::command(async)]
#[specta::specta]
pub fn provision_plans(app: State<'_, App>) -> Reply<Vec<PlanChoice>> {
    app.provision_plans()
}

/// Creates a test tenant (owner, workspace, subscription); then syncs.
#[tauri::command]
#[specta::specta]
pub async fn provision_tenant(handle: AppHandle, request: ProvisionRequest) -> Reply<Provisioned> {
    on_worker(handle, move |app| Box::pin(async move { app.provision_tenant(&request).await })).await
}

/// Opens support access to a tenant (reason, ticket, minutes; null: 60); then syncs.
#[tauri::command]
#[specta::specta]
pub async fn open_support_access(
    handle: AppHandle,
    tenant_id: String,
    reason: String,
    ticket: String,
    minutes: Option<u32>,
) -> Reply<SupportGrant> {
    on_worker(handle, move |app| {
        Box::pin(async move { app.open_support_access(&tenant_id, &reason, &ticket, minutes).await })
    })
    .await
}

/// The tenant's data, read-only, under the viewer's valid grant (each view is audited).
#[tauri::command]
#[specta::specta]
pub async fn view_as_tenant(handle: AppHandle, grant_id: String) -> Reply<TenantView> {
    on_worker(handle, move |app| Box::pin(async move { app.view_as_tenant(&grant_id).await })).await
}

/// Closes a support-access grant before it expires; then syncs.
#[tauri::command]
#[specta::specta]
pub async fn close_support_access(handle: AppHandle, grant_id: String) -> Reply<SupportGrant> {
    on_worker(handle, move |app| Box::pin(async move { app.close_support_access(&grant_id).await })).await
}

/// The signed-in staff member's support-access grants (of one tenant, or all), newest first.
#[tauri::command(async)]
#[specta::specta]
pub fn my_support_grants(app: State<'_, App>, tenant_id: Option<String>) -> Reply<Vec<SupportGrant>> {
    app.my_support_grants(tenant_id.as_deref())
}

/// Runs the monitoring checks of `only` (every area when empty) and returns every area
/// checked so far this session (offline: the last report, marked stale).
#[tauri::command]
#[specta::specta]
pub async fn monitor_report(handle: AppHandle, only: Vec<Area>) -> Reply<MonitorSnapshot> {
    on_worker(handle, move |app| Box::pin(app.monitor_report(only))).await
}

/// Queue jobs matching a filter, newest first.
#[tauri::command]
#[specta::specta]
pub async fn queue_jobs(handle: AppHandle, filter: JobFilter, limit: i64, offset: i64) -> Reply<JobPage> {
    on_worker(handle, move |app| Box::pin(app.queue_jobs(filter, limit, offset))).await
}

/// One job with its attempt history.
#[tauri::command]
#[specta::specta]
pub async fn queue_job(handle: AppHandle, id: String) -> Reply<JobDetail> {
    on_worker(handle, move |app| Box::pin(async move { app.queue_job(&id).await })).await
}

/// Pauses (`active` false) or resumes a queue, with a reason; returns whether it changed.
#[tauri::command]
#[specta::specta]
pub async fn set_queue_active(handle: AppHandle, queue: String, active: bool, reason: String) -> Reply<bool> {
    on_worker(handle, move |app| Box::pin(async move { app.set_queue_active(&queue, active, &reason).await })).await
}

/// Retries or deletes one job, with a reason.
#[tauri::command]
#[specta::specta]
pub async fn queue_job_action(handle: AppHandle, id: String, action: JobAction, reason: String) -> Reply<()> {
    on_worker(handle, move |app| Box::pin(async move { app.queue_job_action(&id, action, &reason).await })).await
}

/// How many jobs a bulk retry or delete would touch under the filter.
#[tauri::command]
#[specta::specta]
pub async fn queue_bulk_preview(handle: AppHandle, filter: JobFilter, action: JobAction) -> Reply<BulkPreview> {
    on_worker(handle, move |app| Box::pin(app.queue_bulk_preview(filter, action))).await
}

/// Applies a previewed bulk action, with a reason; returns how many jobs it touched.
#[tauri::command]
#[specta::specta]
pub async fn queue_bulk_apply(
    handle: AppHandle,
    filter: JobFilter,
    preview: BulkPreview,
    reason: String,
) -> Reply<i64> {
    on_worker(handle, move |app| Box::pin(async move { app.queue_bulk_apply(filter, preview, &reason).await })).await
}

/// The alert feed from the cache.
#[tauri::command(async)]
#[specta::specta]
pub fn alert_feed(app: State<'_, App>, filter: FeedFilter) -> Reply<Vec<AlertRow>> {
    app.alert_feed(filter)
}

/// One alert with its notes and notifications.
#[tauri::command(async)]
#[specta::specta]
pub fn alert_detail(app: State<'_, App>, id: String) -> Reply<AlertDetail> {
    app.alert_detail(&id)
}

/// Every silence.
#[tauri::command(async)]
#[specta::specta]
pub fn alert_silences(app: State<'_, App>) -> Reply<Vec<SilenceRow>> {
    app.alert_silences()
}

/// Acknowledges a firing alert, then syncs.
#[tauri::command]
#[specta::specta]
pub async fn acknowledge_alert(handle: AppHandle, id: String) -> Reply<()> {
    on_worker(handle, move |app| Box::pin(async move { app.acknowledge_alert(&id).await })).await
}

/// Resolves an alert by hand, then syncs.
#[tauri::command]
#[specta::specta]
pub async fn resolve_alert(handle: AppHandle, id: String, reason: Option<String>) -> Reply<()> {
    on_worker(handle, move |app| Box::pin(async move { app.resolve_alert(&id, reason).await })).await
}

/// Adds a note to an alert, then syncs.
#[tauri::command]
#[specta::specta]
pub async fn add_alert_note(handle: AppHandle, id: String, body: String) -> Reply<()> {
    on_worker(handle, move |app| Box::pin(async move { app.add_alert_note(&id, &body).await })).await
}

/// Creates a silence, then syncs; returns its id.
#[tauri::command]
#[specta::specta]
pub async fn create_silence(handle: AppHandle, silence: NewSilence) -> Reply<String> {
    on_worker(handle, move |app| Box::pin(app.create_silence(silence))).await
}

/// Ends a silence now, then syncs.
#[tauri::command]
#[specta::specta]
pub async fn expire_silence(handle: AppHandle, id: String) -> Reply<()> {
    on_worker(handle, move |app| Box::pin(async move { app.expire_silence(&id).await })).await
}

/// A library future that is polled on a worker thread of its own.
pub(crate) type WorkerFuture<'a, T> = Pin<Box<dyn Future<Output = Reply<T>> + 'a>>;

/// Runs a library call on a blocking worker thread and waits for it there.
///
/// Why: the demo start and the sync hold sqlx borrows across awaits that rustc cannot
/// prove `Send` for every lifetime ("implementation of `Send` is not general enough"),
/// and Tauri polls async commands on its multi-threaded runtime, which needs `Send`.
/// A future driven to completion on one thread needs no `Send`. The worker reaches
/// the [`App`] through the app handle, as a command's `State` cannot leave the command.
pub(crate) async fn on_worker<T, F>(handle: AppHandle, call: F) -> Reply<T>
where
    T: Send + 'static,
    F: for<'a> FnOnce(&'a App) -> WorkerFuture<'a, T> + Send + 'static,
{
    let worker = tauri::async_runtime::spawn_blocking(move || {
        let app = handle.state::<App>();
        tauri::async_runtime::block_on(call(app.inner()))
    });
    match worker.await {
        Ok(reply) => reply,
        Err(error) => {
            tracing::error!(%error, "a worker thread failed");
            Err(AppError::new(ErrorCode::Internal, "the operation stopped unexpectedly; details are in the log file"))
        }
    }
}

/// Sends one progress report; a closed window simply stops listening.
fn send(channel: &Channel<Progress>, progress: Progress) {
    if let Err(error) = channel.send(progress) {
        tracing::debug!(%error, "progress channel closed");
    }
}
