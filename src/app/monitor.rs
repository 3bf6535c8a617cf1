//! The Monitoring screen's operations: live checks, the queue's jobs and actions, and the
//! alert feed with its actions. Everything that touches the platform goes through the
//! signed-in staff member's session: the database's monitoring functions decide what the
//! role sees (qa: its sandbox tenants' jobs; masked for roles without `pii.view`) and the
//! action functions check the permission and audit. Opening Monitoring as a role without
//! `alerts.manage` (support, qa) writes nothing: blocklist results are shown, not stored.
//!
//! Checks are live (they need the platform). The app keeps the last report in memory,
//! merged area by area, so the screen can refresh the cheap areas every few seconds and
//! the blocklists every few minutes and still show every tile; offline, it gets that last
//! report back marked stale. The alert feed reads the synced cache, so it works offline.

use chrono::Utc;
use uuid::Uuid;

use super::{App, AppError, ErrorCode};
use crate::alerts::{self, AlertDetail, AlertError, AlertRow, FeedFilter, NewSilence, SilenceRow};
use crate::monitor::queue::{self, BulkPreview, JobAction, JobDetail, JobFilter, JobPage};
use crate::monitor::{self, Area, MonitorError, MonitorReport, MonitorSecrets, MonitorSettings, Reader};

/// What the Monitoring overview shows: the last report, live or kept from before.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MonitorSnapshot {
    /// Every area checked so far in this session, each with its latest result.
    pub report: MonitorReport,
    /// Set when the platform could not be reached and `report` is the one kept from before.
    pub stale_reason: Option<String>,
    /// Whether the profile has a `[monitor]` section at all.
    pub configured: bool,
}

impl From<MonitorError> for AppError {
    fn from(e: MonitorError) -> Self {
        let code = match &e {
            MonitorError::Database { source, .. } => db_code(source),
            MonitorError::Config(_) | MonitorError::BadInput(_) => ErrorCode::BadInput,
            MonitorError::NotFound(_) => ErrorCode::NotFound,
            MonitorError::Conflict(_) => ErrorCode::Conflict,
            MonitorError::Keyring(_) => ErrorCode::KeyringUnavailable,
            MonitorError::Forbidden(_)
            | MonitorError::Audit(_)
            | MonitorError::Redis(_)
            | MonitorError::Prometheus(_)
            | MonitorError::Dns(_) => ErrorCode::Internal,
        };
        match e {
            MonitorError::Forbidden(a) => a.into(),
            MonitorError::Audit(a) => a.into(),
            other => AppError::new(code, other.to_string()),
        }
    }
}

impl From<AlertError> for AppError {
    fn from(e: AlertError) -> Self {
        match e {
            AlertError::Forbidden(a) => a.into(),
            AlertError::Cache(c) => c.into(),
            AlertError::Audit(a) => a.into(),
            AlertError::Database(ref s) => AppError::new(db_code(s), e.to_string()),
            AlertError::NotFound(_) | AlertError::Config(_) => AppError::new(ErrorCode::NotFound, e.to_string()),
            AlertError::Conflict(_) => AppError::new(ErrorCode::Conflict, e.to_string()),
            AlertError::BadInput(m) => AppError::bad_input(m),
            AlertError::NotInstalled => AppError::new(ErrorCode::Internal, e.to_string()),
        }
    }
}

/// A lost connection is "offline" (the UI says so); anything else is internal.
fn db_code(e: &sqlx::Error) -> ErrorCode {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => {
            ErrorCode::Offline
        }
        _ => ErrorCode::Internal,
    }
}

/// Replaces the areas of `fresh` in `kept` (tiles and data), keeping the others.
fn merge(kept: Option<MonitorReport>, fresh: MonitorReport) -> MonitorReport {
    let Some(mut out) = kept else { return fresh };
    for tile in &fresh.areas {
        match out.areas.iter_mut().find(|a| a.area == tile.area) {
            Some(slot) => *slot = tile.clone(),
            None => out.areas.push(tile.clone()),
        }
        match tile.area {
            Area::Queue => out.queue = fresh.queue.clone(),
            Area::Sending => out.sending = fresh.sending.clone(),
            Area::Smtp => out.smtp = fresh.smtp.clone(),
            Area::Dnsbl => out.dnsbl = fresh.dnsbl.clone(),
            Area::Postgres => out.postgres = fresh.postgres.clone(),
            Area::Redis => out.redis = fresh.redis.clone(),
            Area::Hosts => out.hosts = fresh.hosts.clone(),
        }
    }
    out.areas.sort_by_key(|a| Area::ALL.iter().position(|x| *x == a.area));
    out.run = fresh.run;
    out
}

fn reason_required(reason: &str) -> Result<&str, AppError> {
    let r = reason.trim();
    if r.is_empty() {
        return Err(AppError::bad_input("give a reason: it goes into the audit log"));
    }
    Ok(r)
}

fn parse_id(id: &str, what: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id.trim()).map_err(|_| AppError::bad_input(format!("{id:?} is not a valid {what} id")))
}

impl App {
    /// The profile's `[monitor]` section (defaults when absent: every optional source grey).
    fn monitor_settings(&self) -> Result<(MonitorSettings, bool), AppError> {
        let profile = self.selected()?;
        let configured = profile.monitor.is_some();
        Ok((profile.monitor.unwrap_or_default(), configured))
    }

    /// Runs the checks of `only` (every area when empty) and returns every area checked so
    /// far this session. Offline: the report kept from before, marked stale, or `Offline`.
    pub async fn monitor_report(&self, only: Vec<Area>) -> Result<MonitorSnapshot, AppError> {
        let profile = self.selected()?;
        let (settings, configured) = self.monitor_settings()?;
        let online = async {
            let session = self.session()?;
            self.desktop().await?;
            Ok::<_, AppError>(session)
        };
        let session = match online.await {
            Ok(s) => s,
            Err(e) if e.code == ErrorCode::Offline => {
                let kept = self.state().last_monitor.clone();
                return match kept {
                    Some(report) => Ok(MonitorSnapshot { report, stale_reason: Some(e.message), configured }),
                    None => Err(e),
                };
            }
            Err(e) => return Err(e),
        };
        let secrets = monitor::secrets(&profile).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "monitoring secrets unavailable; checking without them");
            MonitorSecrets::default()
        });
        let only = if only.is_empty() { Area::ALL.to_vec() } else { only };
        let fresh = monitor::check_areas(Reader::Staff(&session), &settings, &secrets, &only).await?;
        let report = {
            let mut st = self.state();
            let merged = merge(st.last_monitor.take(), fresh);
            st.last_monitor = Some(merged.clone());
            merged
        };
        Ok(MonitorSnapshot { report, stale_reason: None, configured })
    }

    /// Jobs matching `filter`, newest first.
    pub async fn queue_jobs(&self, filter: JobFilter, limit: i64, offset: i64) -> Result<JobPage, AppError> {
        let session = self.session()?;
        let (settings, _) = self.monitor_settings()?;
        let stuck = settings.thresholds.stuck_after_minutes;
        Ok(queue::jobs(Reader::Staff(&session), &filter, stuck, limit, offset).await?)
    }

    /// One job with its attempt history.
    pub async fn queue_job(&self, id: &str) -> Result<JobDetail, AppError> {
        let session = self.session()?;
        let id = parse_id(id, "job")?;
        let (settings, _) = self.monitor_settings()?;
        Ok(queue::job_detail(Reader::Staff(&session), id, settings.thresholds.stuck_after_minutes).await?)
    }

    /// Pauses or resumes a queue, with a reason for the audit log. Returns whether it changed.
    pub async fn set_queue_active(&self, queue_name: &str, active: bool, reason: &str) -> Result<bool, AppError> {
        let session = self.session()?;
        let reason = reason_required(reason)?;
        Ok(queue::set_queue_active(&session, queue_name, active, Some(reason)).await?)
    }

    /// Retries or deletes one job, with a reason for the audit log.
    pub async fn queue_job_action(&self, id: &str, action: JobAction, reason: &str) -> Result<(), AppError> {
        let session = self.session()?;
        let id = parse_id(id, "job")?;
        let reason = reason_required(reason)?;
        let (settings, _) = self.monitor_settings()?;
        let stuck = settings.thresholds.stuck_after_minutes;
        Ok(queue::job_action(&session, id, action, stuck, Some(reason)).await?)
    }

    /// How many jobs `action` would touch under `filter`: shown before [`Self::queue_bulk_apply`].
    pub async fn queue_bulk_preview(&self, filter: JobFilter, action: JobAction) -> Result<BulkPreview, AppError> {
        let session = self.session()?;
        let (settings, _) = self.monitor_settings()?;
        Ok(queue::bulk_preview(&session, &filter, action, settings.thresholds.stuck_after_minutes).await?)
    }

    /// Applies a previewed bulk action (refused when the filter now matches other jobs).
    pub async fn queue_bulk_apply(
        &self,
        filter: JobFilter,
        preview: BulkPreview,
        reason: &str,
    ) -> Result<i64, AppError> {
        let session = self.session()?;
        let reason = reason_required(reason)?;
        let (settings, _) = self.monitor_settings()?;
        let stuck = settings.thresholds.stuck_after_minutes;
        Ok(queue::bulk_apply(&session, &filter, &preview, stuck, Some(reason)).await?)
    }

    /// The alert feed from the cache (default: the last 24 hours plus every open alert).
    pub fn alert_feed(&self, filter: FeedFilter) -> Result<Vec<AlertRow>, AppError> {
        let staff = self.staff()?;
        Ok(alerts::feed(&self.read_cache()?, &staff, &filter)?)
    }

    /// One alert with its notes and notifications.
    pub fn alert_detail(&self, id: &str) -> Result<AlertDetail, AppError> {
        let staff = self.staff()?;
        alerts::detail(&self.read_cache()?, &staff, id)?
            .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("no alert {id} in the cache; sync and retry")))
    }

    /// Every silence, active ones flagged.
    pub fn alert_silences(&self) -> Result<Vec<SilenceRow>, AppError> {
        let staff = self.staff()?;
        Ok(alerts::silences(&self.read_cache()?, &staff, Utc::now())?)
    }

    /// Acknowledges a firing alert, then syncs.
    pub async fn acknowledge_alert(&self, id: &str) -> Result<(), AppError> {
        let session = self.session()?;
        let id = parse_id(id, "alert")?;
        alerts::acknowledge(&session, id).await?;
        self.sync_after_action().await;
        Ok(())
    }

    /// Resolves an alert by hand, then syncs.
    pub async fn resolve_alert(&self, id: &str, reason: Option<String>) -> Result<(), AppError> {
        let session = self.session()?;
        let id = parse_id(id, "alert")?;
        let reason = reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
        alerts::resolve(&session, id, reason).await?;
        self.sync_after_action().await;
        Ok(())
    }

    /// Adds a note to an alert, then syncs.
    pub async fn add_alert_note(&self, id: &str, body: &str) -> Result<(), AppError> {
        let session = self.session()?;
        let id = parse_id(id, "alert")?;
        alerts::add_note(&session, id, body).await?;
        self.sync_after_action().await;
        Ok(())
    }

    /// Creates a silence, then syncs. Returns its id.
    pub async fn create_silence(&self, silence: NewSilence) -> Result<String, AppError> {
        let session = self.session()?;
        let id = alerts::create_silence(&session, &silence).await?;
        self.sync_after_action().await;
        Ok(id.to_string())
    }

    /// Ends a silence now, then syncs.
    pub async fn expire_silence(&self, id: &str) -> Result<(), AppError> {
        let session = self.session()?;
        let id = parse_id(id, "silence")?;
        alerts::expire_silence(&session, id).await?;
        self.sync_after_action().await;
        Ok(())
    }
}
