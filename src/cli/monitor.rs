//! `penguin-admin monitor …`: one check cycle, the queue figures and the queue actions from
//! the command line, each a thin wrapper over `penguin_admin::monitor`.
//!
//! `check` and `queue list` run as the profile's service identity over the owner's
//! connection (a server-side tool, like the watcher: figures, personal data masked);
//! `queue jobs` too, unless `--as EMAIL` signs a staff member in, when the database shows
//! what that role may see. Actions always need `--as`: they are the database's functions,
//! which check `queue.manage` and audit under that person.

use anyhow::{bail, Result};
use clap::Subcommand;

use penguin_admin::auth::{Session, Staff};
use penguin_admin::central::Central;
use penguin_admin::monitor::queue::{self, BulkPreview, JobAction, JobFilter, JobState};
use penguin_admin::monitor::{self, MonitorReport, MonitorSettings, Reader, Status};
use penguin_admin::profiles::Profile;

#[derive(Subcommand)]
pub enum MonitorAction {
    /// Run every configured check once and print the results (exit status 0 even when red).
    Check {
        /// Profile name or path; its `[monitor]` section names the sources.
        #[arg(long)]
        profile: String,
        /// Print the whole report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Store the Redis password of the profile in the OS keyring (read from the terminal or standard input).
    SetRedisPassword {
        /// Profile name or path.
        #[arg(long)]
        profile: String,
    },
    /// The job queues: figures, jobs and actions.
    Queue {
        #[command(subcommand)]
        action: QueueAction,
    },
}

/// The job filter of `jobs` and `bulk`.
#[derive(clap::Args, Clone)]
pub struct FilterArgs {
    /// Only this queue (`email-sending` or `queue:email-sending`).
    #[arg(long)]
    queue: Option<String>,
    /// queued, migrated_to_redis, running, stuck, completed or failed.
    #[arg(long, value_parser = parse_state)]
    state: Option<JobState>,
    /// Text the payload or the last error contains.
    #[arg(long)]
    search: Option<String>,
}

impl FilterArgs {
    fn filter(&self) -> JobFilter {
        JobFilter { queue: self.queue.clone(), state: self.state, search: self.search.clone() }
    }
}

fn parse_state(s: &str) -> Result<JobState, String> {
    JobState::parse(s).map_err(|e| e.to_string())
}

fn parse_action(s: &str) -> Result<JobAction, String> {
    match s {
        "retry" => Ok(JobAction::Retry),
        "delete" => Ok(JobAction::Delete),
        _ => Err(format!("{s:?}: use retry or delete")),
    }
}

#[derive(Subcommand)]
pub enum QueueAction {
    /// Per-queue figures (active, waiting in PostgreSQL and Redis, completed, failed, stuck, rates).
    List {
        /// Profile name or path.
        #[arg(long)]
        profile: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Jobs matching a filter, newest first.
    Jobs {
        /// Profile name or path.
        #[arg(long)]
        profile: String,
        #[command(flatten)]
        filter: FilterArgs,
        /// Page size.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Sign in as this staff member (unmasked data with pii.view).
        #[arg(long = "as")]
        as_staff: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Pause a queue (workers stop taking its jobs).
    Pause(QueueArgs),
    /// Resume a paused queue.
    Resume(QueueArgs),
    /// Retry a failed or stuck job, or delete a job.
    Job {
        /// Profile name or path.
        #[arg(long)]
        profile: String,
        /// The job id.
        id: uuid::Uuid,
        /// retry or delete.
        #[arg(long, value_parser = parse_action)]
        action: JobAction,
        /// Staff member acting (needs queue.manage).
        #[arg(long = "as")]
        as_staff: String,
        /// Why (goes into the audit log).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Retry or delete every job matching a filter: without --expect, shows how many it would
    /// touch; with --expect COUNT:DIGEST (printed by the preview) applies it, refusing if the
    /// matching jobs changed since.
    Bulk {
        /// Profile name or path.
        #[arg(long)]
        profile: String,
        #[command(flatten)]
        filter: FilterArgs,
        /// retry or delete.
        #[arg(long, value_parser = parse_action)]
        action: JobAction,
        /// Staff member acting (needs queue.manage).
        #[arg(long = "as")]
        as_staff: String,
        /// COUNT:DIGEST from the preview.
        #[arg(long)]
        expect: Option<String>,
        /// Why (goes into the audit log).
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(clap::Args)]
pub struct QueueArgs {
    /// Profile name or path.
    #[arg(long)]
    profile: String,
    /// The queue (`email-sending:low`).
    queue: String,
    /// Staff member acting (needs queue.manage).
    #[arg(long = "as")]
    as_staff: String,
    /// Why (goes into the audit log).
    #[arg(long)]
    reason: Option<String>,
}

fn settings(profile: &Profile) -> MonitorSettings {
    profile.monitor.clone().unwrap_or_default()
}

async fn connect(profile: &Profile) -> Result<Central> {
    Ok(Central::connect(&profile.owner_targets()?, 4).await?)
}

/// Signs `email` in for an action (the password from PENGUIN_ADMIN_PASSWORD or the terminal).
async fn acting(profile: &Profile, email: &str) -> Result<Session> {
    super::sign_in_as(profile, email).await
}

pub async fn run(action: MonitorAction) -> Result<()> {
    match action {
        MonitorAction::Check { profile, json } => {
            let profile = Profile::load(&profile)?;
            let central = connect(&profile).await?;
            let secrets = monitor::secrets(&profile)?;
            let service = Staff::service(&profile.name);
            let report = monitor::check_all(Reader::Service(&central, &service), &settings(&profile), &secrets).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_report(&report);
            }
            Ok(())
        }
        MonitorAction::SetRedisPassword { profile } => {
            let profile = Profile::load(&profile)?;
            let password = super::read_secret(&format!("Redis password for profile {}: ", profile.name))?;
            monitor::set_redis_password(&profile, &password)?;
            println!("stored in the OS keyring as {}/{}", profile.name, monitor::REDIS_ACCOUNT);
            Ok(())
        }
        MonitorAction::Queue { action } => queue_command(action).await,
    }
}

async fn queue_command(action: QueueAction) -> Result<()> {
    match action {
        QueueAction::List { profile, json } => {
            let profile = Profile::load(&profile)?;
            let central = connect(&profile).await?;
            let s = settings(&profile);
            let redis = match &s.redis_url {
                Some(u) => Some(monitor::redis::RedisTarget::parse(u, monitor::secrets(&profile)?.redis_password)?),
                None => None,
            };
            let service = Staff::service(&profile.name);
            let o = queue::overview(Reader::Service(&central, &service), redis.as_ref(), &s.thresholds).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&o)?);
                return Ok(());
            }
            println!(
                "{:<32} {:>6} {:>8} {:>8} {:>8} {:>9} {:>7} {:>6} {:>8}  status",
                "queue", "active", "waiting", "pg", "redis", "done 1h", "failed", "stuck", "jobs/min"
            );
            for q in &o.queues {
                println!(
                    "{:<32} {:>6} {:>8} {:>8} {:>8} {:>9} {:>7} {:>6} {:>8.2}  {}{}",
                    q.redis_key,
                    q.active,
                    q.waiting,
                    q.waiting_postgres,
                    q.waiting_redis.map_or("-".to_string(), |n| n.to_string()),
                    q.completed_last_hour,
                    q.failed,
                    q.stuck,
                    q.rate_per_minute_1h,
                    status_word(q.colour),
                    if q.is_active { "" } else { " (paused)" }
                );
            }
            if let Some(e) = &o.redis_error {
                println!("Redis lengths unavailable: {e}");
            }
            Ok(())
        }
        QueueAction::Jobs { profile, filter, limit, as_staff, json } => {
            let profile = Profile::load(&profile)?;
            let stuck = settings(&profile).thresholds.stuck_after_minutes;
            let page = match as_staff.as_deref() {
                Some(email) => {
                    let session = acting(&profile, email).await?;
                    queue::jobs(Reader::Staff(&session), &filter.filter(), stuck, limit, 0).await?
                }
                None => {
                    let central = connect(&profile).await?;
                    let service = Staff::service(&profile.name);
                    queue::jobs(Reader::Service(&central, &service), &filter.filter(), stuck, limit, 0).await?
                }
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&page)?);
                return Ok(());
            }
            for j in &page.rows {
                println!(
                    "{}  {:<26} {:<18} {}/{}  {}",
                    j.id,
                    j.queue_name,
                    if j.stuck { "running (stuck)" } else { &j.status },
                    j.attempt_count,
                    j.max_attempts,
                    j.last_error_message.as_deref().unwrap_or("")
                );
            }
            println!("{} of {} matching jobs", page.rows.len(), page.total);
            Ok(())
        }
        QueueAction::Pause(a) => pause(a, false).await,
        QueueAction::Resume(a) => pause(a, true).await,
        QueueAction::Job { profile, id, action, as_staff, reason } => {
            let profile = Profile::load(&profile)?;
            let session = acting(&profile, &as_staff).await?;
            let stuck = settings(&profile).thresholds.stuck_after_minutes;
            queue::job_action(&session, id, action, stuck, reason.as_deref()).await?;
            println!("job {id}: {}", if action == JobAction::Retry { "queued again" } else { "deleted" });
            Ok(())
        }
        QueueAction::Bulk { profile, filter, action, as_staff, expect, reason } => {
            let profile = Profile::load(&profile)?;
            let session = acting(&profile, &as_staff).await?;
            let stuck = settings(&profile).thresholds.stuck_after_minutes;
            let f = filter.filter();
            match expect {
                None => {
                    let p = queue::bulk_preview(&session, &f, action, stuck).await?;
                    println!(
                        "{} would touch {} jobs; apply with --expect {}:{}",
                        if action == JobAction::Retry { "retry" } else { "delete" },
                        p.count,
                        p.count,
                        p.digest
                    );
                }
                Some(e) => {
                    let Some((count, digest)) = e.split_once(':') else { bail!("--expect takes COUNT:DIGEST") };
                    let expected = BulkPreview { action, count: count.parse()?, digest: digest.to_string() };
                    let n = queue::bulk_apply(&session, &f, &expected, stuck, reason.as_deref()).await?;
                    println!("{n} jobs {}", if action == JobAction::Retry { "queued again" } else { "deleted" });
                }
            }
            Ok(())
        }
    }
}

async fn pause(a: QueueArgs, active: bool) -> Result<()> {
    let profile = Profile::load(&a.profile)?;
    let session = acting(&profile, &a.as_staff).await?;
    let changed = queue::set_queue_active(&session, &a.queue, active, a.reason.as_deref()).await?;
    let word = if active { "resumed" } else { "paused" };
    if changed {
        println!("{} {word}", a.queue);
    } else {
        println!("{} was already {word}", a.queue);
    }
    Ok(())
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Green => "green",
        Status::Yellow => "yellow",
        Status::Red => "red",
        Status::NotConfigured => "not configured",
        Status::Error => "error",
    }
}

fn print_report(r: &MonitorReport) {
    println!("{:<10} {:<15} {:>8}  detail", "area", "status", "ms");
    for a in &r.areas {
        let area = serde_json::to_value(a.area).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        println!(
            "{:<10} {:<15} {:>8}  {}",
            area,
            status_word(a.status),
            a.elapsed_ms,
            a.reason.as_deref().unwrap_or("")
        );
    }
    if r.run.conditions.is_empty() {
        println!("\nno conditions");
    } else {
        println!("\nconditions:");
        for c in &r.run.conditions {
            let sev = serde_json::to_value(c.severity).ok().and_then(|v| v.as_str().map(str::to_string));
            println!("  {:<8} {}  ({})", sev.unwrap_or_default(), c.summary, c.fingerprint);
        }
    }
}
