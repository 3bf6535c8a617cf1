//! The queue database: six `job_queues` (the low-priority email queue is paused and
//! backing up), `5,000 × scale` `jobs` in every status — about 4 % failed with real SMTP
//! and DNS errors, and at least eight `running` jobs started over an hour ago (stuck) —
//! one `job_logs` row per attempt, and a few hundred `analytics_jobs`.

use chrono::TimeDelta;
use serde_json::json;
use sqlx::postgres::PgConnection;
use uuid::Uuid;

use super::copy::Copier;
use super::keys::SuspendedKeys;
use super::random::{between, chance, days, minutes, pick, seconds, stream, uuid, weighted, Rng, Ts};
use super::workspaces::workspace_accounts;
use super::world::{streams, World};
use super::{Ctx, SeedError};

/// A queue: name, default priority (lower runs first), active, share of jobs, max attempts.
struct QueueSpec {
    name: &'static str,
    priority: i64,
    active: bool,
    weight: u32,
    max_attempts: i64,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Email,
    Analytics,
    Warmup,
    Dns,
}

pub(super) const PAUSED_QUEUE: &str = "email-sending:low";

const QUEUES: &[QueueSpec] = &[
    QueueSpec {
        name: "email-sending:high",
        priority: 10,
        active: true,
        weight: 10,
        max_attempts: 3,
        kind: Kind::Email,
    },
    QueueSpec { name: "email-sending", priority: 50, active: true, weight: 48, max_attempts: 3, kind: Kind::Email },
    QueueSpec {
        name: "email-sending:low",
        priority: 100,
        active: false,
        weight: 14,
        max_attempts: 3,
        kind: Kind::Email,
    },
    QueueSpec {
        name: "analytics:daily-aggregate",
        priority: 200,
        active: true,
        weight: 6,
        max_attempts: 3,
        kind: Kind::Analytics,
    },
    QueueSpec { name: "warmup:process", priority: 150, active: true, weight: 16, max_attempts: 3, kind: Kind::Warmup },
    QueueSpec { name: "dns:verify", priority: 120, active: true, weight: 6, max_attempts: 5, kind: Kind::Dns },
];

/// How long ago the paused queue was paused.
pub(super) const PAUSED_HOURS: i64 = 5;

/// One attempt of a job.
struct Attempt {
    start: Ts,
    /// `None` while running.
    duration_ms: Option<u64>,
    /// Error of a failed attempt.
    error: Option<String>,
}

/// A job and its attempts.
struct Job {
    id: Uuid,
    queue: usize,
    status: &'static str,
    priority: i64,
    payload: serde_json::Value,
    max_attempts: i64,
    created: Ts,
    run_at: Ts,
    attempts: Vec<Attempt>,
    tenant: Option<usize>,
}

/// A job other databases mention (audit entries, system events).
pub(super) struct JobFact {
    pub id: Uuid,
    pub queue: &'static str,
    pub tenant: Option<usize>,
    pub at: Ts,
    pub error: Option<String>,
}

/// Jobs retried after failures and jobs that failed for good.
#[derive(Default)]
pub(super) struct QueueFacts {
    pub retried: Vec<JobFact>,
    pub failed: Vec<JobFact>,
    pub stuck: Vec<JobFact>,
}

/// What a job is about, for its payload and its error messages.
struct Target {
    payload: serde_json::Value,
    tenant: Option<usize>,
    smtp_ip: String,
    domain: String,
}

fn target(world: &World, rng: &mut Rng, kind: Kind, sending: &[usize], warming: &[usize], day: Ts) -> Target {
    let fallback_ip = world.vps.first().map_or_else(|| "203.0.113.10".to_string(), |v| v.ip.clone());
    match kind {
        Kind::Email if !world.campaigns.is_empty() => {
            let ci = if sending.is_empty() {
                between(rng, 0, world.campaigns.len() as i64 - 1) as usize
            } else {
                *pick(rng, sending)
            };
            let c = &world.campaigns[ci];
            let accounts = workspace_accounts(world, c.workspace);
            let leads = world.workspaces[c.workspace].leads.clone();
            let a = &world.accounts[between(rng, accounts.start as i64, accounts.end as i64 - 1) as usize];
            let lead = &world.leads[between(rng, leads.start as i64, leads.end as i64 - 1) as usize];
            let d = &world.domains[a.domain];
            let smtp_ip = d.ips.first().map_or(fallback_ip, |&i| world.ips[i].ip.clone());
            Target {
                payload: json!({
                    "campaign_id": c.id, "tenant_id": world.tenants[c.tenant].id, "email_account_id": a.id,
                    "recipient_email": lead.email, "smtp_ip": smtp_ip, "sequence_step": between(rng, 1, 3),
                }),
                tenant: Some(c.tenant),
                smtp_ip,
                domain: d.name.clone(),
            }
        }
        Kind::Warmup if !world.accounts.is_empty() => {
            let ai = if warming.is_empty() {
                between(rng, 0, world.accounts.len() as i64 - 1) as usize
            } else {
                *pick(rng, warming)
            };
            let a = &world.accounts[ai];
            let d = &world.domains[a.domain];
            let smtp_ip = d.ips.first().map_or(fallback_ip, |&i| world.ips[i].ip.clone());
            Target {
                payload: json!({
                    "email_account_id": a.id, "tenant_id": world.tenants[a.tenant].id, "mailbox": a.email,
                    "target_volume": between(rng, 5, 40), "smtp_ip": smtp_ip,
                }),
                tenant: Some(a.tenant),
                smtp_ip,
                domain: d.name.clone(),
            }
        }
        Kind::Dns if !world.domains.is_empty() => {
            let d = pick(rng, &world.domains);
            Target {
                payload: json!({
                    "domain_id": d.id, "domain": d.name, "tenant_id": world.tenants[d.tenant].id,
                    "checks": ["SPF", "DKIM", "DMARC", "MX"],
                }),
                tenant: Some(d.tenant),
                smtp_ip: fallback_ip,
                domain: d.name.clone(),
            }
        }
        _ => {
            let ti = between(rng, 0, world.tenants.len() as i64 - 1) as usize;
            Target {
                payload: json!({
                    "date": (day - days(1)).format("%Y-%m-%d").to_string(),
                    "tenant_id": world.tenants.get(ti).map(|t| t.id),
                    "tables": ["campaign_analytics", "mailbox_analytics", "billing_analytics"],
                }),
                tenant: world.tenants.get(ti).map(|_| ti),
                smtp_ip: fallback_ip,
                domain: String::new(),
            }
        }
    }
}

fn error_message(rng: &mut Rng, kind: Kind, t: &Target, last: bool) -> String {
    match kind {
        Kind::Email | Kind::Warmup => {
            let ip = &t.smtp_ip;
            let transient: [String; 5] = [
                "SMTP 421 4.7.0 Try again later".into(),
                "SMTP 450 4.2.1 Mailbox temporarily unavailable, try again later".into(),
                format!("Connection timed out to {ip}:587"),
                "SMTP 451 4.7.1 Greylisted, please retry in 5 minutes".into(),
                "SMTP 454 4.7.0 TLS not available due to local problem".into(),
            ];
            if last && kind == Kind::Warmup && chance(rng, 0.5) {
                "IMAP login failed: [AUTHENTICATIONFAILED] Invalid credentials".to_string()
            } else if last && chance(rng, 0.5) {
                let permanent = [
                    "SMTP 550 5.1.1 The email account that you tried to reach does not exist".to_string(),
                    format!("SMTP 554 5.7.1 Service unavailable; Client host [{ip}] blocked using zen.spamhaus.org"),
                    "SMTP 552 5.2.2 Mailbox full".to_string(),
                ];
                pick(rng, &permanent).clone()
            } else {
                pick(rng, &transient).clone()
            }
        }
        Kind::Dns => {
            let d = &t.domain;
            let options = [
                format!("DNS lookup failed: SERVFAIL for _dmarc.{d}"),
                format!("DKIM record mismatch for default._domainkey.{d}"),
                "DNS query timed out after 5000 ms".to_string(),
            ];
            pick(rng, &options).clone()
        }
        Kind::Analytics => pick(
            rng,
            &[
                "canceling statement due to statement timeout",
                "could not serialize access due to concurrent update",
                "server closed the connection unexpectedly",
            ],
        )
        .to_string(),
    }
}

fn duration_ms(rng: &mut Rng, kind: Kind) -> u64 {
    (match kind {
        Kind::Email => between(rng, 150, 3_000),
        Kind::Warmup => between(rng, 1_000, 8_000),
        Kind::Dns => between(rng, 200, 2_000),
        Kind::Analytics => between(rng, 5_000, 180_000),
    }) as u64
}

/// Builds the jobs (kept in memory: both `jobs` and `job_logs` are written from them).
fn build_jobs(world: &World) -> Vec<Job> {
    let rng = &mut stream(world.seed, streams::JOBS);
    let now = world.now;
    let sending: Vec<usize> = (0..world.campaigns.len()).filter(|&i| world.campaigns[i].status == "sending").collect();
    let warming: Vec<usize> = (0..world.accounts.len()).filter(|&i| world.accounts[i].status == "warming").collect();
    let queue_weights: Vec<(usize, u32)> = QUEUES.iter().enumerate().map(|(i, q)| (i, q.weight)).collect();
    let n = world.per_scale(5_000) as usize;
    let paused_at = now - super::random::hours(PAUSED_HOURS);
    let mut jobs = Vec::with_capacity(n);
    for _ in 0..n {
        let qi = weighted(rng, &queue_weights);
        let q = &QUEUES[qi];
        let mut created = now - seconds(between(rng, 1, 7 * 86_400));
        let status = if !q.active && created > paused_at {
            "queued"
        } else if !q.active {
            weighted(rng, &[("completed", 95), ("failed", 5)])
        } else {
            weighted(
                rng,
                &[("completed", 840), ("failed", 40), ("queued", 70), ("migrated_to_redis", 30), ("running", 6)],
            )
        };
        let n_attempts = match status {
            "completed" => weighted(rng, &[(1, 90), (2, 8), (3, 2)]),
            "failed" => q.max_attempts as usize,
            "running" => weighted(rng, &[(1, 85), (2, 15)]),
            "queued" if q.active && chance(rng, 0.15) => 1,
            _ => 0,
        };
        match status {
            "queued" if q.active => created = now - seconds(between(rng, 5, 1_800)),
            "migrated_to_redis" => created = now - seconds(between(rng, 1, 600)),
            "running" => created = now - seconds(between(rng, 30, 900)),
            _ => {}
        }
        let t = target(world, rng, q.kind, &sending, &warming, created);
        let mut run_at =
            created + if status == "queued" && chance(rng, 0.2) { minutes(between(rng, 1, 120)) } else { seconds(0) };
        // Attempts, laid out from `run_at` with exponential back-off between them.
        let mut attempts = Vec::with_capacity(n_attempts);
        let mut at = run_at + TimeDelta::milliseconds(between(rng, 20, 2_000));
        for k in 0..n_attempts {
            let is_last = k + 1 == n_attempts;
            let current_running = status == "running" && is_last;
            let succeeded = status == "completed" && is_last;
            let ms = duration_ms(rng, q.kind);
            let error =
                (!current_running && !succeeded).then(|| error_message(rng, q.kind, &t, is_last && status == "failed"));
            let ms = if error.as_deref().is_some_and(|e| e.contains("timed out")) { 30_000 } else { ms };
            attempts.push(Attempt { start: at, duration_ms: (!current_running).then_some(ms), error });
            at = at + TimeDelta::milliseconds(ms as i64) + seconds(30 * (1 << k) + between(rng, 0, 20));
        }
        // Keep everything in the past (except a retry's next run).
        let end = attempts.last().map(|a| a.start + TimeDelta::milliseconds(a.duration_ms.unwrap_or(0) as i64));
        if let Some(end) = end {
            let latest = if status == "running" { now - seconds(1) } else { now - seconds(between(rng, 1, 60)) };
            if end > latest {
                let shift = end - latest;
                created -= shift;
                run_at -= shift;
                for a in &mut attempts {
                    a.start -= shift;
                }
            }
        }
        if status == "queued" && !attempts.is_empty() {
            run_at = at;
        }
        let priority = if chance(rng, 0.1) { q.priority - 5 } else { q.priority };
        jobs.push(Job {
            id: uuid(rng),
            queue: qi,
            status,
            priority,
            payload: t.payload,
            max_attempts: q.max_attempts,
            created,
            run_at,
            attempts,
            tenant: t.tenant,
        });
    }
    make_stuck(world, rng, &mut jobs);
    jobs
}

/// Turns `8 + scale / 2` jobs into running jobs started more than an hour ago.
fn make_stuck(world: &World, rng: &mut Rng, jobs: &mut [Job]) {
    let now = world.now;
    let candidates: Vec<usize> = (0..jobs.len()).filter(|&i| QUEUES[jobs[i].queue].active).collect();
    let n = (8 + world.scale as usize / 2).min(candidates.len());
    for k in rand::seq::index::sample(rng, candidates.len(), n) {
        let job = &mut jobs[candidates[k]];
        let started = now - minutes(between(rng, 65, 8 * 60));
        job.status = "running";
        job.created = started - seconds(between(rng, 1, 600));
        job.run_at = job.created;
        job.attempts = vec![Attempt { start: started, duration_ms: None, error: None }];
    }
}

/// Writes the queue database; returns the jobs other databases mention.
pub(super) async fn write(conn: &mut PgConnection, world: &World, ctx: &mut Ctx<'_>) -> Result<QueueFacts, SeedError> {
    let now = world.now;
    let mut c = Copier::start(
        conn,
        ctx.progress,
        "queue.job_queues",
        "name, default_priority, is_active, created",
        QUEUES.len() as u64,
    )
    .await?;
    for q in QUEUES {
        c.text(q.name).int(q.priority).bool(q.active).ts(now - days(700));
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;

    let jobs = build_jobs(world);
    let keys = SuspendedKeys::suspend(conn, "queue", &["jobs", "job_logs"]).await?;
    let mut facts = QueueFacts::default();
    let cols = "id, queue_name, status, priority, payload, attempt_count, max_attempts, run_at, started, completed, \
                failed, last_error_message, created, updated";
    let mut c = Copier::start(conn, ctx.progress, "queue.jobs", cols, jobs.len() as u64).await?;
    for j in &jobs {
        let last = j.attempts.last();
        let last_end = last.and_then(|a| a.duration_ms.map(|ms| a.start + TimeDelta::milliseconds(ms as i64)));
        let started = if j.status == "queued" { None } else { last.map(|a| a.start) };
        let completed = if j.status == "completed" { last_end } else { None };
        let failed = if j.status == "failed" { last_end } else { None };
        let error = j.attempts.iter().rev().find_map(|a| a.error.as_deref());
        let updated = last_end.or(started).unwrap_or(j.created).max(j.created);
        c.uuid(j.id).text(QUEUES[j.queue].name).text(j.status).int(j.priority).json(&j.payload);
        c.int(j.attempts.len() as i64)
            .int(j.max_attempts)
            .ts(j.run_at)
            .opt_ts(started)
            .opt_ts(completed)
            .opt_ts(failed);
        c.opt_text(error).ts(j.created).ts(updated);
        c.end().await?;
        let fact = || JobFact {
            id: j.id,
            queue: QUEUES[j.queue].name,
            tenant: j.tenant,
            at: updated,
            error: error.map(str::to_string),
        };
        match j.status {
            "completed" if j.attempts.len() > 1 && facts.retried.len() < 5_000 => facts.retried.push(fact()),
            "failed" => facts.failed.push(fact()),
            "running" if now - updated > minutes(60) => facts.stuck.push(fact()),
            _ => {}
        }
    }
    c.finish(&mut ctx.rows).await?;

    write_logs(conn, world, ctx, &jobs).await?;
    keys.restore(conn).await?;
    write_analytics_jobs(conn, world, ctx).await?;
    Ok(facts)
}

async fn write_logs(conn: &mut PgConnection, world: &World, ctx: &mut Ctx<'_>, jobs: &[Job]) -> Result<(), SeedError> {
    let rng = &mut stream(world.seed, streams::JOB_LOGS);
    let total: u64 = jobs.iter().map(|j| j.attempts.len() as u64).sum();
    let cols = "id, job_id, status, log_message, attempt_number, started, finished, duration, created";
    let mut c = Copier::start(conn, ctx.progress, "queue.job_logs", cols, total).await?;
    for j in jobs {
        let kind = QUEUES[j.queue].kind;
        for (k, a) in j.attempts.iter().enumerate() {
            let is_last = k + 1 == j.attempts.len();
            let status = match (a.duration_ms, &a.error) {
                (None, _) => "attempting",
                (Some(_), None) => "success",
                (Some(_), Some(_)) if is_last && j.status == "failed" => "failed",
                _ => "retry",
            };
            let message = match (status, &a.error) {
                ("attempting", _) => format!("Attempt {} started on worker-{}", k + 1, between(rng, 1, 12)),
                (_, Some(e)) => e.clone(),
                _ => match kind {
                    Kind::Email => format!("250 2.0.0 OK queued as {:X}", between(rng, 0x1000_0000, 0xFFFF_FFFF)),
                    Kind::Warmup => "Warmup batch sent and engaged".to_string(),
                    Kind::Dns => "All DNS records verified".to_string(),
                    Kind::Analytics => format!("Aggregated {} rows", between(rng, 200, 90_000)),
                },
            };
            let finished = a.duration_ms.map(|ms| a.start + TimeDelta::milliseconds(ms as i64));
            c.uuid(uuid(rng)).uuid(j.id).text(status).text(&message).int(k as i64 + 1).ts(a.start).opt_ts(finished);
            match a.duration_ms {
                Some(ms) => c.interval_ms(ms),
                None => c.null(),
            };
            c.ts(finished.unwrap_or(a.start));
            c.end().await?;
        }
    }
    c.finish(&mut ctx.rows).await?;
    Ok(())
}

async fn write_analytics_jobs(conn: &mut PgConnection, world: &World, ctx: &mut Ctx<'_>) -> Result<(), SeedError> {
    let rng = &mut stream(world.seed, streams::ANALYTICS_JOBS);
    let now = world.now;
    let n = 200 + 20 * u64::from(world.scale);
    let cols = "id, job_type, status, payload, priority, queued, processed, error_message, created";
    let mut c = Copier::start(conn, ctx.progress, "queue.analytics_jobs", cols, n).await?;
    let types = ["daily_rollup", "campaign_metrics", "mailbox_health", "billing_usage", "warmup_scores"];
    for _ in 0..n {
        let job_type = *pick(rng, &types);
        let status = weighted(rng, &[("completed", 85), ("pending", 6), ("processing", 4), ("failed", 5)]);
        let queued = match status {
            "pending" | "processing" => now - seconds(between(rng, 10, 1_800)),
            _ => now - seconds(between(rng, 600, 14 * 86_400)),
        };
        let processed = matches!(status, "completed" | "failed").then(|| queued + seconds(between(rng, 5, 1_200)));
        let error = (status == "failed").then(|| {
            pick(
                rng,
                &[
                    "canceling statement due to statement timeout",
                    "out of memory for query result",
                    "deadlock detected",
                ],
            )
            .to_string()
        });
        let tenant = (!world.tenants.is_empty() && chance(rng, 0.6)).then(|| pick(rng, &world.tenants).id);
        let payload = json!({ "date": (queued - days(1)).format("%Y-%m-%d").to_string(), "tenant_id": tenant });
        c.uuid(uuid(rng)).text(job_type).text(status).json(&payload).int(*pick(rng, &[100, 100, 200])).ts(queued);
        c.opt_ts(processed).opt_text(error.as_deref()).ts(queued);
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;
    Ok(())
}
