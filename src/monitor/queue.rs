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

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;
use uuid::Uuid;

use super::redis::{RedisConn, RedisTarget};
use super::{condition, thousands, AreaOutcome, MonitorError, Status, Thresholds};
use crate::alerts::{Condition, Severity, Subject};
use crate::audit::{self, AuditEntry};
use crate::auth::{masking, permissions, ClientInfo, Staff};
use crate::central::Central;

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

/// Per-queue figures from the queue database and (when given) Redis. Needs `monitoring.read`.
pub async fn overview(
    central: &Central,
    staff: &Staff,
    redis: Option<&RedisTarget>,
    th: &Thresholds,
) -> Result<QueueOverview, MonitorError> {
    staff.require(permissions::MONITORING_READ)?;
    let rows = sqlx::query(
        "SELECT q.name, q.is_active,
                count(j.id) FILTER (WHERE j.status = 'running') AS active,
                count(j.id) FILTER (WHERE j.status = 'queued') AS queued,
                count(j.id) FILTER (WHERE j.status = 'migrated_to_redis') AS migrated,
                count(j.id) FILTER (WHERE j.status = 'completed' AND j.completed >= now() - interval '1 hour') AS done_1h,
                count(j.id) FILTER (WHERE j.status = 'completed' AND j.completed >= now() - interval '24 hours')
                    AS done_24h,
                count(j.id) FILTER (WHERE j.status = 'failed') AS failed,
                count(j.id) FILTER (WHERE j.status = 'running' AND j.started < now() - make_interval(mins => $1))
                    AS stuck
           FROM job_queues q LEFT JOIN jobs j ON j.queue_name = q.name
          GROUP BY q.name, q.is_active
          ORDER BY q.name",
    )
    .bind(th.stuck_after_minutes as i32)
    .fetch_all(&central.queue)
    .await
    .map_err(MonitorError::sql("reading the queues"))?;

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
    central: &Central,
    staff: &Staff,
    redis: Option<&RedisTarget>,
    th: &Thresholds,
) -> Result<AreaOutcome<QueueOverview>, MonitorError> {
    let data = overview(central, staff, redis, th).await?;
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

/// The columns of a [`JobRow`]; `minutes` is the parameter holding the stuck threshold.
fn job_columns(minutes: &str) -> String {
    format!(
        "j.id, j.queue_name, j.status, j.priority, j.payload, j.attempt_count, j.max_attempts, j.created, \
         j.started, j.completed, j.failed, j.last_error_message, \
         (j.status = 'running' AND j.started < now() - make_interval(mins => {minutes})) AS stuck"
    )
}

/// The WHERE clause of a filter: `$1` queue, `$2` state, `$3` search pattern, `$4` stuck minutes.
const FILTER_SQL: &str = "($1::text IS NULL OR j.queue_name = $1)
     AND ($2::text IS NULL
          OR ($2 = 'stuck' AND j.status = 'running' AND j.started < now() - make_interval(mins => $4))
          OR ($2 <> 'stuck' AND j.status = $2))
     AND ($3::text IS NULL OR j.payload::text ILIKE $3 OR j.last_error_message ILIKE $3)";

/// The bound values of a filter.
struct Bound {
    queue: Option<String>,
    state: Option<&'static str>,
    pattern: Option<String>,
    stuck_minutes: i32,
}

fn bind(staff: &Staff, f: &JobFilter, stuck_after_minutes: i64) -> Result<Bound, MonitorError> {
    let queue = f.queue.as_deref().map(|q| q.trim().trim_start_matches("queue:").to_string()).filter(|q| !q.is_empty());
    let search = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if let Some(s) = search {
        if staff.masked() && s.contains('@') {
            return Err(MonitorError::BadInput(
                "searching by email address needs the pii.view permission; search by campaign, tenant or error text"
                    .into(),
            ));
        }
    }
    let pattern = search.map(|s| {
        let escaped = s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        format!("%{escaped}%")
    });
    if stuck_after_minutes < 1 {
        return Err(MonitorError::BadInput("the stuck threshold must be at least one minute".into()));
    }
    Ok(Bound { queue, state: f.state.map(JobState::key), pattern, stuck_minutes: stuck_after_minutes as i32 })
}

fn mask_json(v: serde_json::Value) -> serde_json::Value {
    let text = masking::text(&v.to_string());
    serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
}

fn job_row(r: &sqlx::postgres::PgRow, masked: bool) -> JobRow {
    let payload: Option<serde_json::Value> = r.get("payload");
    let error: Option<String> = r.get("last_error_message");
    JobRow {
        id: r.get("id"),
        queue_name: r.get("queue_name"),
        status: r.get("status"),
        stuck: r.get::<Option<bool>, _>("stuck").unwrap_or(false),
        priority: r.get("priority"),
        payload: if masked { payload.map(mask_json) } else { payload },
        attempt_count: r.get("attempt_count"),
        max_attempts: r.get("max_attempts"),
        created: r.get("created"),
        started: r.get("started"),
        completed: r.get("completed"),
        failed: r.get("failed"),
        last_error_message: if masked { error.map(|e| masking::text(&e)) } else { error },
    }
}

/// Jobs matching `filter`, newest first. Needs `monitoring.read`.
pub async fn jobs(
    central: &Central,
    staff: &Staff,
    filter: &JobFilter,
    stuck_after_minutes: i64,
    limit: i64,
    offset: i64,
) -> Result<JobPage, MonitorError> {
    staff.require(permissions::MONITORING_READ)?;
    let b = bind(staff, filter, stuck_after_minutes)?;
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM jobs j WHERE {FILTER_SQL}"))
        .bind(&b.queue)
        .bind(b.state)
        .bind(&b.pattern)
        .bind(b.stuck_minutes)
        .fetch_one(&central.queue)
        .await
        .map_err(MonitorError::sql("counting jobs"))?;
    let rows = sqlx::query(&format!(
        "SELECT {} FROM jobs j WHERE {FILTER_SQL}
          ORDER BY coalesce(j.failed, j.started, j.created) DESC NULLS LAST, j.id LIMIT $5 OFFSET $6",
        job_columns("$4")
    ))
    .bind(&b.queue)
    .bind(b.state)
    .bind(&b.pattern)
    .bind(b.stuck_minutes)
    .bind(limit.clamp(1, 10_000))
    .bind(offset.max(0))
    .fetch_all(&central.queue)
    .await
    .map_err(MonitorError::sql("listing jobs"))?;
    let masked = staff.masked();
    Ok(JobPage { total, rows: rows.iter().map(|r| job_row(r, masked)).collect() })
}

/// One job with its `job_logs` history. Needs `monitoring.read`.
pub async fn job_detail(
    central: &Central,
    staff: &Staff,
    id: Uuid,
    stuck_after_minutes: i64,
) -> Result<JobDetail, MonitorError> {
    staff.require(permissions::MONITORING_READ)?;
    let masked = staff.masked();
    let row = sqlx::query(&format!("SELECT {} FROM jobs j WHERE j.id = $1", job_columns("$2")))
        .bind(id)
        .bind(stuck_after_minutes as i32)
        .fetch_optional(&central.queue)
        .await
        .map_err(MonitorError::sql("reading the job"))?
        .ok_or_else(|| MonitorError::NotFound(format!("no job {id} in the queue database")))?;
    let logs = sqlx::query(
        "SELECT status, attempt_number, log_message, started, finished,
                (extract(epoch FROM duration) * 1000)::float8 AS duration_ms
           FROM job_logs WHERE job_id = $1
          ORDER BY attempt_number NULLS LAST, coalesce(started, created), id",
    )
    .bind(id)
    .fetch_all(&central.queue)
    .await
    .map_err(MonitorError::sql("reading the job's logs"))?
    .iter()
    .map(|r| {
        let msg: Option<String> = r.get("log_message");
        JobLog {
            status: r.get("status"),
            attempt_number: r.get("attempt_number"),
            log_message: if masked { msg.map(|m| masking::text(&m)) } else { msg },
            started: r.get("started"),
            finished: r.get("finished"),
            duration_ms: r.get("duration_ms"),
        }
    })
    .collect();
    Ok(JobDetail { job: job_row(&row, masked), logs })
}

/// Pauses (`active = false`) or resumes a queue. Returns whether it changed (no audit entry
/// when it was already so). Needs `queue.manage`.
pub async fn set_queue_active(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    queue: &str,
    active: bool,
    reason: Option<&str>,
) -> Result<bool, MonitorError> {
    staff.require(permissions::QUEUE_MANAGE)?;
    let name = queue.trim().trim_start_matches("queue:");
    let mut tx = central.queue.begin().await.map_err(MonitorError::sql("starting the transaction"))?;
    let was: bool = sqlx::query_scalar("SELECT is_active FROM job_queues WHERE name = $1 FOR UPDATE")
        .bind(name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(MonitorError::sql("reading the queue"))?
        .ok_or_else(|| MonitorError::NotFound(format!("no queue {name:?} in job_queues")))?;
    if was == active {
        return Ok(false);
    }
    sqlx::query("UPDATE job_queues SET is_active = $2 WHERE name = $1")
        .bind(name)
        .bind(active)
        .execute(&mut *tx)
        .await
        .map_err(MonitorError::sql("changing the queue"))?;
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: if active { "queue.resumed" } else { "queue.paused" }.into(),
            resource_type: "queue".into(),
            resource_id: name.into(),
            tenant_id: None,
            old_values: Some(serde_json::json!({ "is_active": was })),
            new_values: Some(serde_json::json!({ "is_active": active })),
            notes: reason.map(str::to_string),
        },
    )
    .await?;
    tx.commit().await.map_err(MonitorError::sql("committing"))?;
    audit::deliver(central).await?;
    Ok(true)
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

/// Which jobs an action may touch, on top of the filter; `minutes` holds the stuck threshold.
fn eligible_sql(action: JobAction, minutes: &str) -> String {
    let stuck = format!("(j.status = 'running' AND j.started < now() - make_interval(mins => {minutes}))");
    match action {
        JobAction::Retry => format!("(j.status = 'failed' OR {stuck})"),
        JobAction::Delete => format!("(j.status IN ('queued', 'completed', 'failed') OR {stuck})"),
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

fn digest(ids: &[Uuid]) -> String {
    let mut h = Sha256::new();
    for id in ids {
        h.update(id.as_bytes());
    }
    hex::encode(h.finalize())
}

async fn matching_ids(
    conn: &mut sqlx::PgConnection,
    b: &Bound,
    action: JobAction,
    lock: bool,
) -> Result<Vec<Uuid>, MonitorError> {
    let sql = format!(
        "SELECT j.id FROM jobs j WHERE {FILTER_SQL} AND {} ORDER BY j.id{}",
        eligible_sql(action, "$4"),
        if lock { " FOR UPDATE" } else { "" }
    );
    sqlx::query_scalar(&sql)
        .bind(&b.queue)
        .bind(b.state)
        .bind(&b.pattern)
        .bind(b.stuck_minutes)
        .fetch_all(conn)
        .await
        .map_err(MonitorError::sql("selecting the jobs"))
}

/// How many jobs `action` would touch under `filter` (only eligible jobs: failed or stuck for
/// a retry). Needs `queue.manage`.
pub async fn bulk_preview(
    central: &Central,
    staff: &Staff,
    filter: &JobFilter,
    action: JobAction,
    stuck_after_minutes: i64,
) -> Result<BulkPreview, MonitorError> {
    staff.require(permissions::QUEUE_MANAGE)?;
    let b = bind(staff, filter, stuck_after_minutes)?;
    let mut conn = central.queue.acquire().await.map_err(MonitorError::sql("connecting to the queue database"))?;
    let ids = matching_ids(&mut conn, &b, action, false).await?;
    Ok(BulkPreview { action, count: ids.len() as i64, digest: digest(&ids) })
}

/// Applies a previewed bulk action. Refuses (changing nothing) when the filter no longer
/// matches exactly the previewed jobs. One audit entry lists the jobs. Returns how many
/// jobs were touched. Needs `queue.manage`.
pub async fn bulk_apply(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    filter: &JobFilter,
    expected: &BulkPreview,
    stuck_after_minutes: i64,
    reason: Option<&str>,
) -> Result<i64, MonitorError> {
    staff.require(permissions::QUEUE_MANAGE)?;
    let b = bind(staff, filter, stuck_after_minutes)?;
    let mut tx = central.queue.begin().await.map_err(MonitorError::sql("starting the transaction"))?;
    let ids = matching_ids(&mut tx, &b, expected.action, true).await?;
    if ids.len() as i64 != expected.count || digest(&ids) != expected.digest {
        return Err(MonitorError::Conflict(format!(
            "the filter now matches {} jobs, not the {} previewed (or different ones); preview again",
            ids.len(),
            expected.count
        )));
    }
    let touched = apply(&mut tx, expected.action, &ids).await?;
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: match expected.action {
                JobAction::Retry => "queue.jobs.bulk_retried",
                JobAction::Delete => "queue.jobs.bulk_deleted",
            }
            .into(),
            resource_type: "job".into(),
            resource_id: format!("bulk:{}", expected.digest),
            tenant_id: None,
            old_values: Some(serde_json::json!({ "filter": filter, "count": ids.len() })),
            new_values: Some(serde_json::json!({ "job_ids": ids })),
            notes: reason.map(str::to_string),
        },
    )
    .await?;
    tx.commit().await.map_err(MonitorError::sql("committing"))?;
    audit::deliver(central).await?;
    Ok(touched)
}

async fn apply(conn: &mut sqlx::PgConnection, action: JobAction, ids: &[Uuid]) -> Result<i64, MonitorError> {
    let sql = match action {
        JobAction::Retry => {
            "UPDATE jobs SET status = 'queued', attempt_count = 0, run_at = now(), started = NULL,
                    completed = NULL, failed = NULL, updated = now()
              WHERE id = ANY($1)"
        }
        JobAction::Delete => "DELETE FROM jobs WHERE id = ANY($1)",
    };
    let done = sqlx::query(sql).bind(ids).execute(conn).await.map_err(MonitorError::sql("changing the jobs"))?;
    Ok(done.rows_affected() as i64)
}

/// Retries or deletes one job (retry: failed or stuck only; delete: not a job a worker holds).
/// Needs `queue.manage`; audited.
pub async fn job_action(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    id: Uuid,
    action: JobAction,
    stuck_after_minutes: i64,
    reason: Option<&str>,
) -> Result<(), MonitorError> {
    staff.require(permissions::QUEUE_MANAGE)?;
    let mut tx = central.queue.begin().await.map_err(MonitorError::sql("starting the transaction"))?;
    let row = sqlx::query(&format!(
        "SELECT j.status, j.queue_name, j.attempt_count, j.last_error_message, j.payload->>'tenant_id' AS tenant_id,
                {} AS eligible
           FROM jobs j WHERE j.id = $1 FOR UPDATE",
        eligible_sql(action, "$2")
    ))
    .bind(id)
    .bind(stuck_after_minutes as i32)
    .fetch_optional(&mut *tx)
    .await
    .map_err(MonitorError::sql("reading the job"))?
    .ok_or_else(|| MonitorError::NotFound(format!("no job {id} in the queue database")))?;
    let status: String = row.get("status");
    if !row.get::<Option<bool>, _>("eligible").unwrap_or(false) {
        return Err(MonitorError::Conflict(match action {
            JobAction::Retry => format!("job {id} is {status}: only failed or stuck jobs can be retried"),
            JobAction::Delete => format!(
                "job {id} is {status} and a worker holds it; delete it once it failed or is stuck (running over \
                 {stuck_after_minutes} minutes)"
            ),
        }));
    }
    apply(&mut tx, action, &[id]).await?;
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: match action {
                JobAction::Retry => "queue.job.retried",
                JobAction::Delete => "queue.job.deleted",
            }
            .into(),
            resource_type: "job".into(),
            resource_id: id.to_string(),
            tenant_id: row.get("tenant_id"),
            old_values: Some(serde_json::json!({
                "status": status,
                "queue": row.get::<String, _>("queue_name"),
                "attempt_count": row.get::<i32, _>("attempt_count"),
                "last_error_message": row.get::<Option<String>, _>("last_error_message"),
            })),
            new_values: Some(match action {
                JobAction::Retry => serde_json::json!({ "status": "queued", "attempt_count": 0 }),
                JobAction::Delete => serde_json::json!({ "deleted": true }),
            }),
            notes: reason.map(str::to_string),
        },
    )
    .await?;
    tx.commit().await.map_err(MonitorError::sql("committing"))?;
    audit::deliver(central).await?;
    Ok(())
}
