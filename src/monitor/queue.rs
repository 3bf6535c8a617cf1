//! The hybrid PostgreSQL + Redis job queue (queue database `job_queues`, `jobs`, `job_logs`;
//! Redis lists `queue:{name}`): per-queue figures with the docs' colours, failed and stuck
//! jobs, and the operators' actions (pause/resume, retry, delete, bulk by filter).
//!
//! Colours (features/admin/system-monitoring/queue-monitoring.md): green below
//! [`Thresholds::queue_warning_waiting`] waiting, yellow up to
//! [`Thresholds::queue_critical_waiting`], red above it or above
//! [`Thresholds::queue_critical_failed`] failed jobs. Conditions: a backlog above
//! [`Thresholds::queue_backlog_alert`] is critical (`queue:queue:{name}:backlog`); stuck jobs
//! (`…:stuck`) and too many failed jobs (`…:failed`) are warnings.
//!
//! "Waiting" is `queued` in PostgreSQL plus the Redis list's length (jobs the migrator moved
//! to Redis). When Redis is not configured or cannot be read, PostgreSQL's count of jobs in
//! `migrated_to_redis` stands in for the list, and `waiting_redis` is `None`.
//!
//! Reads go through a [`Reader`] (the database's `monitoring_*` functions for a staff
//! member: qa sees its sandbox tenants' jobs only, payloads, errors and log lines are masked
//! for roles without `pii.view`). The actions are the queue database's functions
//! (`src/central/sql/api/queue.sql`): each checks `queue.manage`, locks what it changes and
//! writes its audit entry in the same transaction; a bulk apply re-selects the jobs under
//! row locks and refuses when they are not exactly the previewed ones.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use uuid::Uuid;

use super::redis::{RedisConn, RedisTarget};
use super::{condition, thousands, AreaOutcome, MonitorError, Reader, Status, Thresholds};
use crate::alerts::{Condition, Severity, Subject};
use crate::audit::after_action;
use crate::auth::{permissions, Session, Staff};
use crate::central::DbKind;

/// Figures of one queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct QueueStats {
    /// `job_queues.name` (`email-sending:high`).
    pub name: String,
    /// The Redis list (`queue:email-sending:high`); also the alert subject.
    pub redis_key: String,
    /// `job_queues.is_active` (false: paused).
    pub is_active: bool,
    /// Jobs running now.
    pub active: i64,
    /// Jobs `queued` in PostgreSQL.
    pub waiting_postgres: i64,
    /// Length of the Redis list; `None` when Redis is not configured or not readable.
    pub waiting_redis: Option<i64>,
    /// Jobs PostgreSQL marks `migrated_to_redis`.
    pub migrated_to_redis: i64,
    /// Waiting in all: PostgreSQL plus Redis (or plus `migrated_to_redis` without Redis).
    pub waiting: i64,
    /// Jobs completed in the last hour.
    pub completed_last_hour: i64,
    /// Jobs in `failed`.
    pub failed: i64,
    /// Jobs running for longer than the stuck threshold.
    pub stuck: i64,
    /// Completed jobs per minute over the last hour.
    pub rate_per_minute_1h: f64,
    /// Completed jobs per minute over the last 24 hours.
    pub rate_per_minute_24h: f64,
    /// Green, yellow or red by the docs' rule.
    pub colour: Status,
}

/// Every queue's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct QueueOverview {
    /// One per `job_queues` row, by name.
    pub queues: Vec<QueueStats>,
    /// Why the Redis lengths are missing, when Redis is configured but failed.
    pub redis_error: Option<String>,
    /// When measured.
    pub at: DateTime<Utc>,
}

/// The docs' colour of a queue.
pub fn colour(waiting: i64, failed: i64, th: &Thresholds) -> Status {
    if waiting > th.queue_critical_waiting || failed > th.queue_critical_failed {
        Status::Red
    } else if waiting >= th.queue_warning_waiting {
        Status::Yellow
    } else {
        Status::Green
    }
}

/// Per-queue figures from the queue database (for qa, counting its sandbox tenants' jobs
/// only) and (when given) Redis. Needs `monitoring.read`.
pub async fn overview(
    reader: Reader<'_>,
    redis: Option<&RedisTarget>,
    th: &Thresholds,
) -> Result<QueueOverview, MonitorError> {
    reader.staff().require(permissions::MONITORING_READ)?;
    let mut tx = reader.begin(DbKind::Queue).await?;
    let rows = sqlx::query(&format!("SELECT * FROM {}", reader.call("queue_overview", "$1")))
        .bind(th.stuck_after_minutes as i32)
        .fetch_all(&mut *tx)
        .await
        .map_err(MonitorError::sql("reading the queues"))?;
    drop(tx);

    let mut redis_error = None;
    let mut lengths: Vec<Option<i64>> = vec![None; rows.len()];
    if let Some(t) = redis {
        let names: Vec<String> = rows.iter().map(|r| r.get::<String, _>("name")).collect();
        match redis_lengths(t, &names).await {
            Ok(l) => lengths = l.into_iter().map(Some).collect(),
            Err(e) => redis_error = Some(e.to_string()),
        }
    }
    let queues = rows
        .iter()
        .zip(lengths)
        .map(|(r, in_redis)| {
            let name: String = r.get("name");
            let queued: i64 = r.get("queued");
            let migrated: i64 = r.get("migrated");
            let failed: i64 = r.get("failed");
            let done_1h: i64 = r.get("done_1h");
            let done_24h: i64 = r.get("done_24h");
            let waiting = queued + in_redis.unwrap_or(migrated);
            QueueStats {
                redis_key: redis_key(&name),
                name,
                is_active: r.get("is_active"),
                active: r.get("active"),
                waiting_postgres: queued,
                waiting_redis: in_redis,
                migrated_to_redis: migrated,
                waiting,
                completed_last_hour: done_1h,
                failed,
                stuck: r.get("stuck"),
                rate_per_minute_1h: done_1h as f64 / 60.0,
                rate_per_minute_24h: done_24h as f64 / 1440.0,
                colour: colour(waiting, failed, th),
            }
        })
        .collect();
    Ok(QueueOverview { queues, redis_error, at: Utc::now() })
}

/// The Redis list of a queue.
pub fn redis_key(name: &str) -> String {
    format!("queue:{name}")
}

async fn redis_lengths(t: &RedisTarget, names: &[String]) -> Result<Vec<i64>, MonitorError> {
    let mut conn = RedisConn::open(t).await?;
    let mut out = Vec::with_capacity(names.len());
    for n in names {
        out.push(conn.llen(&redis_key(n)).await?);
    }
    Ok(out)
}

/// The queue area: figures, the worst colour, and the conditions.
pub(crate) async fn check(
    reader: Reader<'_>,
    redis: Option<&RedisTarget>,
    th: &Thresholds,
) -> Result<AreaOutcome<QueueOverview>, MonitorError> {
    let data = overview(reader, redis, th).await?;
    let status = data.queues.iter().fold(Status::Green, |s, q| s.worst(q.colour));
    let conditions = conditions(&data, th);
    Ok(AreaOutcome { status, data, conditions })
}

/// The conditions of an overview (see the module docs).
pub fn conditions(data: &QueueOverview, th: &Thresholds) -> Vec<Condition> {
    let mut out = Vec::new();
    for q in &data.queues {
        let subject = || Subject::Queue(q.redis_key.clone());
        let details = [
            ("waiting", q.waiting.to_string()),
            ("failed", q.failed.to_string()),
            ("stuck", q.stuck.to_string()),
            ("active", q.active.to_string()),
        ];
        if q.waiting > th.queue_backlog_alert {
            out.push(condition(
                "queue",
                subject(),
                &q.redis_key,
                "backlog",
                Severity::Critical,
                format!(
                    "{} has {} waiting jobs (alert above {})",
                    q.redis_key,
                    thousands(q.waiting),
                    thousands(th.queue_backlog_alert)
                ),
                &details,
            ));
        }
        if q.stuck > 0 {
            out.push(condition(
                "queue",
                subject(),
                &q.redis_key,
                "stuck",
                Severity::Warning,
                format!(
                    "{} has {} jobs running for more than {} minutes",
                    q.redis_key,
                    thousands(q.stuck),
                    th.stuck_after_minutes
                ),
                &details,
            ));
        }
        if q.failed > th.queue_critical_failed {
            out.push(condition(
                "queue",
                subject(),
                &q.redis_key,
                "failed",
                Severity::Warning,
                format!(
                    "{} has {} failed jobs (more than {})",
                    q.redis_key,
                    thousands(q.failed),
                    thousands(th.queue_critical_failed)
                ),
                &details,
            ));
        }
    }
    out
}

/// A job state to filter by; `stuck` is `running` for longer than the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting in PostgreSQL.
    Queued,
    /// Handed to Redis.
    MigratedToRedis,
    /// Running (stuck ones included).
    Running,
    /// Running for longer than the stuck threshold.
    Stuck,
    /// Done.
    Completed,
    /// Failed for good (attempts exhausted).
    Failed,
}

impl JobState {
    fn key(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::MigratedToRedis => "migrated_to_redis",
            JobState::Running => "running",
            JobState::Stuck => "stuck",
            JobState::Completed => "completed",
            JobState::Failed => "failed",
        }
    }

    /// Parses `queued`, `migrated_to_redis`, `running`, `stuck`, `completed`, `failed`.
    pub fn parse(s: &str) -> Result<JobState, MonitorError> {
        Ok(match s {
            "queued" => JobState::Queued,
            "migrated_to_redis" => JobState::MigratedToRedis,
            "running" => JobState::Running,
            "stuck" => JobState::Stuck,
            "completed" => JobState::Completed,
            "failed" => JobState::Failed,
            other => {
                return Err(MonitorError::BadInput(format!(
                    "unknown job state {other:?}: use queued, migrated_to_redis, running, stuck, completed or failed"
                )))
            }
        })
    }
}

/// Which jobs: the screen's current filter, also the selection of a bulk action.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct JobFilter {
    /// Only this queue (`job_queues.name`, with or without the `queue:` prefix).
    pub queue: Option<String>,
    /// Only jobs in this state.
    pub state: Option<JobState>,
    /// Text the payload (as JSON) or the last error contains, case-insensitive.
    pub search: Option<String>,
}

/// One job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct JobRow {
    /// `jobs.id`.
    pub id: Uuid,
    /// Queue name.
    pub queue_name: String,
    /// `jobs.status`.
    pub status: String,
    /// Running for longer than the stuck threshold.
    pub stuck: bool,
    /// Priority (lower runs first).
    pub priority: Option<i32>,
    /// The payload (emails masked for viewers without `pii.view`).
    pub payload: Option<serde_json::Value>,
    /// Attempts made.
    pub attempt_count: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// Created.
    pub created: Option<DateTime<Utc>>,
    /// Started (the current or last attempt).
    pub started: Option<DateTime<Utc>>,
    /// Completed.
    pub completed: Option<DateTime<Utc>>,
    /// Failed for good.
    pub failed: Option<DateTime<Utc>>,
    /// The last error (emails masked for viewers without `pii.view`).
    pub last_error_message: Option<String>,
}

/// A page of jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct JobPage {
    /// How many match in all.
    pub total: i64,
    /// This page, newest first.
    pub rows: Vec<JobRow>,
}

/// One attempt of a job (`job_logs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct JobLog {
    /// `attempting`, `success`, `retry`, `failed`.
    pub status: String,
    /// Attempt number.
    pub attempt_number: Option<i32>,
    /// The log line (emails masked for viewers without `pii.view`).
    pub log_message: Option<String>,
    /// Started.
    pub started: Option<DateTime<Utc>>,
    /// Finished.
    pub finished: Option<DateTime<Utc>>,
    /// Duration in milliseconds.
    pub duration_ms: Option<f64>,
}

/// A job with its attempt history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct JobDetail {
    /// The job.
    pub job: JobRow,
    /// Its `job_logs`, oldest first.
    pub logs: Vec<JobLog>,
}

/// A filter as the database functions take it: queue, state, search text, stuck minutes.
struct Bound {
    queue: Option<String>,
    state: Option<&'static str>,
    search: Option<String>,
    stuck_minutes: i32,
}

/// Checks and normalises a filter (the database functions check it again).
fn bind(staff: &Staff, f: &JobFilter, stuck_after_minutes: i64) -> Result<Bound, MonitorError> {
    let queue = f.queue.as_deref().map(|q| q.trim().trim_start_matches("queue:").to_string()).filter(|q| !q.is_empty());
    let search = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    if let Some(s) = &search {
        if staff.masked() && s.contains('@') {
            return Err(MonitorError::BadInput(
                "searching by email address needs the pii.view permission; search by campaign, tenant or error text"
                    .into(),
            ));
        }
    }
    if !(1..=i32::MAX as i64).contains(&stuck_after_minutes) {
        return Err(MonitorError::BadInput("the stuck threshold must be at least one minute".into()));
    }
    Ok(Bound { queue, state: f.state.map(JobState::key), search, stuck_minutes: stuck_after_minutes as i32 })
}

fn job_row(r: &sqlx::postgres::PgRow) -> JobRow {
    JobRow {
        id: r.get("id"),
        queue_name: r.get("queue_name"),
        status: r.get("status"),
        stuck: r.get::<Option<bool>, _>("stuck").unwrap_or(false),
        priority: r.get("priority"),
        payload: r.get("payload"),
        attempt_count: r.get("attempt_count"),
        max_attempts: r.get("max_attempts"),
        created: r.get("created"),
        started: r.get("started"),
        completed: r.get("completed"),
        failed: r.get("failed"),
        last_error_message: r.get("last_error_message"),
    }
}

/// Jobs matching `filter`, newest first: for qa its sandbox tenants' jobs only, payloads
/// and errors masked for roles without `pii.view` (searches match what the role sees).
/// Needs `monitoring.read`.
pub async fn jobs(
    reader: Reader<'_>,
    filter: &JobFilter,
    stuck_after_minutes: i64,
    limit: i64,
    offset: i64,
) -> Result<JobPage, MonitorError> {
    let staff = reader.staff();
    staff.require(permissions::MONITORING_READ)?;
    let b = bind(staff, filter, stuck_after_minutes)?;
    let mut tx = reader.begin(DbKind::Queue).await?;
    let total: i64 = sqlx::query_scalar(&format!("SELECT {}", reader.call("jobs_count", "$1, $2, $3, $4")))
        .bind(&b.queue)
        .bind(b.state)
        .bind(&b.search)
        .bind(b.stuck_minutes)
        .fetch_one(&mut *tx)
        .await
        .map_err(MonitorError::sql("counting jobs"))?;
    let rows = sqlx::query(&format!("SELECT * FROM {}", reader.call("jobs", "$1, $2, $3, $4, $5, $6, NULL::uuid")))
        .bind(&b.queue)
        .bind(b.state)
        .bind(&b.search)
        .bind(b.stuck_minutes)
        .bind(limit.clamp(1, 10_000))
        .bind(offset.max(0))
        .fetch_all(&mut *tx)
        .await
        .map_err(MonitorError::sql("listing jobs"))?;
    Ok(JobPage { total, rows: rows.iter().map(job_row).collect() })
}

/// One job with its `job_logs` history (masked and scoped as [`jobs`]). Needs
/// `monitoring.read`.
pub async fn job_detail(reader: Reader<'_>, id: Uuid, stuck_after_minutes: i64) -> Result<JobDetail, MonitorError> {
    reader.staff().require(permissions::MONITORING_READ)?;
    let b = bind(reader.staff(), &JobFilter::default(), stuck_after_minutes)?;
    let mut tx = reader.begin(DbKind::Queue).await?;
    let row = sqlx::query(&format!(
        "SELECT * FROM {}",
        reader.call("jobs", "NULL::text, NULL::text, NULL::text, $1, 1::int8, 0::int8, $2")
    ))
    .bind(b.stuck_minutes)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(MonitorError::sql("reading the job"))?
    .ok_or_else(|| MonitorError::NotFound(format!("no job {id} in the queue database")))?;
    let logs = sqlx::query(&format!("SELECT * FROM {}", reader.call("job_logs", "$1")))
        .bind(id)
        .fetch_all(&mut *tx)
        .await
        .map_err(MonitorError::sql("reading the job's logs"))?
        .iter()
        .map(|r| JobLog {
            status: r.get("status"),
            attempt_number: r.get("attempt_number"),
            log_message: r.get("log_message"),
            started: r.get("started"),
            finished: r.get("finished"),
            duration_ms: r.get("duration_ms"),
        })
        .collect();
    Ok(JobDetail { job: job_row(&row), logs })
}

/// Pauses (`active = false`) or resumes a queue through `queue_set_active`, which checks
/// `queue.manage`, locks the queue and writes the audit entry. Returns whether it changed
/// (no audit entry when it was already so).
pub async fn set_queue_active(
    session: &Session,
    queue: &str,
    active: bool,
    reason: Option<&str>,
) -> Result<bool, MonitorError> {
    session.staff().require(permissions::QUEUE_MANAGE)?;
    let name = queue.trim().trim_start_matches("queue:");
    if name.is_empty() {
        return Err(MonitorError::BadInput("name the queue".into()));
    }
    let mut tx = session.begin(DbKind::Queue).await?;
    let changed: bool = sqlx::query_scalar("SELECT penguin_console_api.queue_set_active($1, $2, $3)")
        .bind(name)
        .bind(active)
        .bind(reason)
        .fetch_one(&mut *tx)
        .await
        .map_err(MonitorError::sql("changing the queue"))?;
    tx.commit().await.map_err(MonitorError::sql("committing"))?;
    if changed {
        after_action(session).await;
    }
    Ok(changed)
}

/// A bulk (or single-job) action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum JobAction {
    /// Back to `queued` with the attempt counter reset (failed or stuck jobs only).
    Retry,
    /// Permanent removal with its logs (not a job a worker holds: in Redis or running and not stuck).
    Delete,
}

impl JobAction {
    fn key(self) -> &'static str {
        match self {
            JobAction::Retry => "retry",
            JobAction::Delete => "delete",
        }
    }
}

/// What a bulk action would touch: shown before it is applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BulkPreview {
    /// The action.
    pub action: JobAction,
    /// How many jobs it would touch.
    pub count: i64,
    /// SHA-256 of the sorted job ids: the apply refuses if the set is no longer this one.
    pub digest: String,
}

/// How many jobs `action` would touch under `filter` (only eligible jobs: failed or stuck for
/// a retry), computed by `queue_bulk_preview`. Needs `queue.manage`.
pub async fn bulk_preview(
    session: &Session,
    filter: &JobFilter,
    action: JobAction,
    stuck_after_minutes: i64,
) -> Result<BulkPreview, MonitorError> {
    session.staff().require(permissions::QUEUE_MANAGE)?;
    let b = bind(session.staff(), filter, stuck_after_minutes)?;
    let mut tx = session.begin(DbKind::Queue).await?;
    let p: serde_json::Value = sqlx::query_scalar("SELECT penguin_console_api.queue_bulk_preview($1, $2, $3, $4, $5)")
        .bind(&b.queue)
        .bind(b.state)
        .bind(&b.search)
        .bind(action.key())
        .bind(b.stuck_minutes)
        .fetch_one(&mut *tx)
        .await
        .map_err(MonitorError::sql("selecting the jobs"))?;
    Ok(BulkPreview {
        action,
        count: p.get("count").and_then(|v| v.as_i64()).unwrap_or_default(),
        digest: p.get("digest").and_then(|v| v.as_str()).unwrap_or_default().to_string(),
    })
}

/// Applies a previewed bulk action through `queue_bulk_apply`, which re-selects the jobs
/// under row locks and refuses (changing nothing) when the filter no longer matches exactly
/// the previewed jobs. One audit entry lists the jobs. Returns how many jobs were touched.
/// Needs `queue.manage`.
pub async fn bulk_apply(
    session: &Session,
    filter: &JobFilter,
    expected: &BulkPreview,
    stuck_after_minutes: i64,
    reason: Option<&str>,
) -> Result<i64, MonitorError> {
    session.staff().require(permissions::QUEUE_MANAGE)?;
    let b = bind(session.staff(), filter, stuck_after_minutes)?;
    let mut tx = session.begin(DbKind::Queue).await?;
    let touched: i64 =
        sqlx::query_scalar("SELECT penguin_console_api.queue_bulk_apply($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&b.queue)
            .bind(b.state)
            .bind(&b.search)
            .bind(expected.action.key())
            .bind(b.stuck_minutes)
            .bind(expected.count)
            .bind(&expected.digest)
            .bind(reason)
            .fetch_one(&mut *tx)
            .await
            .map_err(MonitorError::sql("changing the jobs"))?;
    tx.commit().await.map_err(MonitorError::sql("committing"))?;
    after_action(session).await;
    Ok(touched)
}

/// Retries or deletes one job (retry: failed or stuck only; delete: not a job a worker
/// holds) through `queue_job_action`, which checks `queue.manage` and the job's tenant
/// against the staff member's scope and writes the audit entry.
pub async fn job_action(
    session: &Session,
    id: Uuid,
    action: JobAction,
    stuck_after_minutes: i64,
    reason: Option<&str>,
) -> Result<(), MonitorError> {
    session.staff().require(permissions::QUEUE_MANAGE)?;
    let b = bind(session.staff(), &JobFilter::default(), stuck_after_minutes)?;
    let mut tx = session.begin(DbKind::Queue).await?;
    sqlx::query("SELECT penguin_console_api.queue_job_action($1, $2, $3, $4)")
        .bind(id)
        .bind(action.key())
        .bind(b.stuck_minutes)
        .bind(reason)
        .execute(&mut *tx)
        .await
        .map_err(MonitorError::sql("changing the job"))?;
    tx.commit().await.map_err(MonitorError::sql("committing"))?;
    after_action(session).await;
    Ok(())
}
