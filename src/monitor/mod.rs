//! Infrastructure monitoring: the checks behind the operators' screen and the watcher.
//!
//! Each area owns its protocol and SQL: [`queue`] (the hybrid PostgreSQL + Redis job
//! queue, with its actions), [`sending`] (emails sent, bounces, failures), [`smtp`] (a live
//! SMTP probe), [`dnsbl`] (IP blocklists), [`server`] (PostgreSQL, Redis and host metrics
//! from Prometheus). [`check_all`] runs every configured area concurrently, each within its
//! own time budget, and reports a status per area plus the [`CheckRun`] the alerts consume.
//!
//! Monitoring is live data: reads go to central PostgreSQL (and the peers), never to the
//! local cache. Who reads is a [`Reader`]: a signed-in staff member, through the
//! database's monitoring functions (`src/central/sql/api/queue.sql`, `monitoring.sql`),
//! which check `monitoring.read`, show qa only its sandbox tenants' jobs and mask personal
//! data for roles without `pii.view`; or the profile's service identity over the owner's
//! connection (the watcher, `penguin-admin monitor check`), which runs the same SQL for
//! every tenant, masked.

pub mod dnsbl;
pub mod queue;
pub mod redis;
pub mod sending;
pub mod server;
pub mod smtp;
pub mod source;

use std::future::Future;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use sqlx::{Postgres, Transaction};

use crate::alerts::{CheckRun, Condition};
use crate::auth::{permissions, AuthError, Session, Staff};
use crate::central::{Central, DbKind};
use crate::profiles::{Profile, KEYRING_SERVICE};

/// The profile's `[monitor]` section: which sources to check and the thresholds.
/// A source the profile does not name is "not configured", never a made-up value.
///
/// ```toml
/// [monitor]
/// redis_url = "redis://10.0.0.5:6379"          # password: keyring account PROFILE/redis
/// prometheus_url = "http://10.0.0.9:9090"
/// smtp_servers = ["smtp1.penguinmails.com:587", "smtp2.penguinmails.com:25"]
/// dns_resolver = "10.0.0.53:53"                # or "system" (/etc/resolv.conf)
/// extra_dnsbl_zones = ["bl.spamcop.net"]
/// [monitor.thresholds]
/// disk_percent = 75
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MonitorSettings {
    /// `redis://host:port[/db]`; no password in the URL (it lives in the keyring).
    #[serde(default)]
    pub redis_url: Option<String>,
    /// Base URL of a Prometheus server (its `/api/v1/query` is used).
    #[serde(default)]
    pub prometheus_url: Option<String>,
    /// SMTP servers to probe, `host:port` each.
    #[serde(default)]
    pub smtp_servers: Vec<String>,
    /// Nameserver for the blocklist lookups, `ip:port` (or `ip`, port 53), or `system` for
    /// the first nameserver of /etc/resolv.conf. Unset: the DNSBL check is not configured.
    /// Spamhaus refuses queries through large public resolvers, so name your own.
    #[serde(default)]
    pub dns_resolver: Option<String>,
    /// Blocklist zones; default Spamhaus ZEN and Barracuda.
    #[serde(default = "default_zones")]
    pub dnsbl_zones: Vec<String>,
    /// Zones checked in addition to [`Self::dnsbl_zones`].
    #[serde(default)]
    pub extra_dnsbl_zones: Vec<String>,
    /// The window CPU use is averaged over, a Prometheus duration (default `5m`).
    #[serde(default = "default_cpu_window")]
    pub cpu_rate_window: String,
    /// Time budget of each area in one check cycle, in seconds (default 4).
    #[serde(default = "default_timeout")]
    pub check_timeout_secs: f64,
    /// When the checks raise conditions.
    #[serde(default)]
    pub thresholds: Thresholds,
}

impl Default for MonitorSettings {
    fn default() -> Self {
        MonitorSettings {
            redis_url: None,
            prometheus_url: None,
            smtp_servers: Vec::new(),
            dns_resolver: None,
            dnsbl_zones: default_zones(),
            extra_dnsbl_zones: Vec::new(),
            cpu_rate_window: default_cpu_window(),
            check_timeout_secs: default_timeout(),
            thresholds: Thresholds::default(),
        }
    }
}

fn default_zones() -> Vec<String> {
    vec![dnsbl::SPAMHAUS_ZEN.to_string(), dnsbl::BARRACUDA.to_string()]
}

fn default_cpu_window() -> String {
    "5m".into()
}

fn default_timeout() -> f64 {
    4.0
}

impl MonitorSettings {
    /// Every zone to check, defaults and extras, without duplicates.
    pub fn zones(&self) -> Vec<String> {
        let mut zones: Vec<String> = Vec::new();
        for z in self.dnsbl_zones.iter().chain(&self.extra_dnsbl_zones) {
            let z = z.trim().trim_end_matches('.').to_ascii_lowercase();
            if !z.is_empty() && !zones.contains(&z) {
                zones.push(z);
            }
        }
        zones
    }

    /// The per-area time budget.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.check_timeout_secs.clamp(0.1, 600.0))
    }

    /// Refuses values that cannot work, naming the setting.
    pub fn validate(&self) -> Result<(), MonitorError> {
        let bad = |what: &str| Err(MonitorError::Config(what.to_string()));
        if !(self.check_timeout_secs > 0.0 && self.check_timeout_secs.is_finite()) {
            return bad("[monitor] check_timeout_secs must be a positive number of seconds");
        }
        let w = self.cpu_rate_window.trim();
        let digits = w.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let unit = &w[digits.len()..];
        if digits.is_empty()
            || !digits.chars().all(|c| c.is_ascii_digit())
            || !["ms", "s", "m", "h", "d", "w"].contains(&unit)
        {
            return bad("[monitor] cpu_rate_window must be a Prometheus duration such as 5m, 90s or 1h");
        }
        for s in &self.smtp_servers {
            smtp::split_host_port(s)?;
        }
        if let Some(r) = &self.dns_resolver {
            dnsbl::parse_resolver(r)?;
        }
        if let Some(u) = &self.redis_url {
            redis::RedisTarget::parse(u, None)?;
        }
        if let Some(u) = &self.prometheus_url {
            url::Url::parse(u).map_err(|e| MonitorError::Config(format!("[monitor] prometheus_url {u:?}: {e}")))?;
        }
        self.thresholds.validate()
    }
}

/// The thresholds; every one has the issue's default.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// A queue is yellow from this many waiting jobs (100).
    pub queue_warning_waiting: i64,
    /// A queue is red above this many waiting jobs (1,000).
    pub queue_critical_waiting: i64,
    /// A queue is red above this many failed jobs (10).
    pub queue_critical_failed: i64,
    /// A queue backlog above this raises a critical condition (10,000).
    pub queue_backlog_alert: i64,
    /// A running job is stuck after this many minutes (60).
    pub stuck_after_minutes: i64,
    /// Disk use above this percentage (80).
    pub disk_percent: f64,
    /// CPU use above this percentage (90).
    pub cpu_percent: f64,
    /// Memory use above this percentage (85).
    pub memory_percent: f64,
    /// A query running longer than this many seconds is slow (30).
    pub slow_query_seconds: f64,
    /// Database connections in use above this percentage of max_connections (80).
    pub connections_percent: f64,
    /// Redis memory use above this percentage of maxmemory (90).
    pub redis_memory_percent: f64,
    /// An SMTP probe slower than this many milliseconds is degraded (2,000).
    pub smtp_slow_ms: u64,
    /// Sending failures above this percentage of attempts (5).
    pub failure_percent: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            queue_warning_waiting: 100,
            queue_critical_waiting: 1_000,
            queue_critical_failed: 10,
            queue_backlog_alert: 10_000,
            stuck_after_minutes: 60,
            disk_percent: 80.0,
            cpu_percent: 90.0,
            memory_percent: 85.0,
            slow_query_seconds: 30.0,
            connections_percent: 80.0,
            redis_memory_percent: 90.0,
            smtp_slow_ms: 2_000,
            failure_percent: 5.0,
        }
    }
}

impl Thresholds {
    fn validate(&self) -> Result<(), MonitorError> {
        let bad = |what: &str| Err(MonitorError::Config(format!("[monitor.thresholds] {what}")));
        if self.queue_warning_waiting < 0 || self.queue_critical_waiting < self.queue_warning_waiting {
            return bad("queue_critical_waiting must be at least queue_warning_waiting, both non-negative");
        }
        if self.queue_critical_failed < 0 || self.queue_backlog_alert < 0 {
            return bad("queue_critical_failed and queue_backlog_alert must not be negative");
        }
        if self.stuck_after_minutes < 1 {
            return bad("stuck_after_minutes must be at least 1");
        }
        for (name, v) in [
            ("disk_percent", self.disk_percent),
            ("cpu_percent", self.cpu_percent),
            ("memory_percent", self.memory_percent),
            ("connections_percent", self.connections_percent),
            ("redis_memory_percent", self.redis_memory_percent),
            ("failure_percent", self.failure_percent),
        ] {
            if !(0.0..=100.0).contains(&v) {
                return bad(&format!("{name} must be a percentage between 0 and 100, not {v}"));
            }
        }
        if self.slow_query_seconds.is_nan() || self.slow_query_seconds <= 0.0 {
            return bad("slow_query_seconds must be positive");
        }
        Ok(())
    }
}

/// Monitoring errors.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The viewer's role does not allow it.
    #[error(transparent)]
    Forbidden(#[from] AuthError),
    /// A query failed.
    #[error("{context}: {source}")]
    Database {
        /// What was being done.
        context: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// Redis could not be reached or answered something unexpected.
    #[error("redis: {0}")]
    Redis(String),
    /// Prometheus could not be reached or answered something unexpected.
    #[error("prometheus: {0}")]
    Prometheus(String),
    /// DNS could not be used.
    #[error("dns: {0}")]
    Dns(String),
    /// The `[monitor]` section is wrong.
    #[error("{0}")]
    Config(String),
    /// An argument is malformed.
    #[error("{0}")]
    BadInput(String),
    /// The thing acted on does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The action does not apply to the thing's current state, or the state changed.
    #[error("{0}")]
    Conflict(String),
    /// Writing the audit entry failed.
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    /// The keyring could not be read.
    #[error("{0}")]
    Keyring(String),
}

impl MonitorError {
    /// `map_err` helper naming what the query was doing. A refusal of a console function
    /// (an ended session, a missing permission, bad input, not found, a conflict) reaches
    /// the user as such, with the function's message.
    pub fn sql(context: impl Into<String>) -> impl FnOnce(sqlx::Error) -> Self {
        let context = context.into();
        move |source| MonitorError::from_db(context, source)
    }

    fn from_db(context: String, source: sqlx::Error) -> Self {
        use crate::auth::{refusal, rule_violation, RuleKind};
        if let Some(refused) = refusal(&source) {
            return MonitorError::Forbidden(refused);
        }
        match rule_violation(&source) {
            Some((RuleKind::BadInput, m)) => MonitorError::BadInput(m),
            Some((RuleKind::NotFound, m)) => MonitorError::NotFound(m),
            Some((RuleKind::Conflict, m)) => MonitorError::Conflict(m),
            None => MonitorError::Database { context, source },
        }
    }
}

impl From<sqlx::Error> for MonitorError {
    /// A refusal of a console function reaches the user as such, with its message.
    fn from(e: sqlx::Error) -> Self {
        MonitorError::from_db("the monitoring query failed".into(), e)
    }
}

/// Who reads the platform for a check.
#[derive(Debug, Clone, Copy)]
pub enum Reader<'a> {
    /// A signed-in staff member: every read goes through the database's
    /// `penguin_console_api.monitoring_*` functions, which check `monitoring.read`, show
    /// qa only its sandbox tenants' jobs and mask personal data for roles without
    /// `pii.view`; blocklist results are recorded only for roles with `alerts.manage`.
    Staff(&'a Session),
    /// The profile's service identity over the owner's connection (the watcher,
    /// `monitor check`): the same SQL (`penguin_console.monitor_*`) for every tenant,
    /// personal data masked; blocklist results are recorded.
    Service(&'a Central, &'a Staff),
}

impl<'a> Reader<'a> {
    /// The staff member (or the service identity) reading, for messages and previews.
    pub fn staff(&self) -> &'a Staff {
        match *self {
            Reader::Staff(s) => s.staff(),
            Reader::Service(_, staff) => staff,
        }
    }

    /// A transaction on `db`: authorised as the staff member, or the owner's.
    pub(crate) async fn begin(&self, db: DbKind) -> Result<Transaction<'static, Postgres>, MonitorError> {
        match *self {
            Reader::Staff(s) => Ok(s.begin(db).await?),
            Reader::Service(c, _) => {
                c.pool(db).begin().await.map_err(MonitorError::sql(format!("connecting to the {db} database")))
            }
        }
    }

    /// The call of the read `name` with `args`: `penguin_console_api.monitoring_NAME(args)`
    /// for a staff member (the function applies their scope and masking), or the internal
    /// `penguin_console.monitor_NAME(args, NULL, masked)` for the service (every tenant).
    pub(crate) fn call(&self, name: &str, args: &str) -> String {
        match *self {
            Reader::Staff(_) => format!("penguin_console_api.monitoring_{name}({args})"),
            Reader::Service(_, staff) => {
                let sep = if args.is_empty() { "" } else { ", " };
                format!("penguin_console.monitor_{name}({args}{sep}NULL, {})", staff.masked())
            }
        }
    }
}

/// Status of an area, as the overview tile shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Everything within thresholds.
    Green,
    /// Something past a warning threshold.
    Yellow,
    /// Something past a critical threshold, or down.
    Red,
    /// The profile does not name this source (grey tile).
    NotConfigured,
    /// The check could not run (the reason is given).
    Error,
}

impl Status {
    /// The worse of two colours (green < yellow < red); only for green/yellow/red.
    pub fn worst(self, other: Status) -> Status {
        self.max(other)
    }
}

/// The areas of the overview, one tile each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Area {
    /// The job queue ([`queue`]).
    Queue,
    /// Sending volume and failures ([`sending`]).
    Sending,
    /// The SMTP probe ([`smtp`]).
    Smtp,
    /// IP blocklists ([`dnsbl`]).
    Dnsbl,
    /// The four PostgreSQL databases ([`server::postgres`]).
    Postgres,
    /// Redis ([`server::redis_health`]).
    Redis,
    /// Hosts and API from Prometheus ([`server::hosts`]).
    Hosts,
}

impl Area {
    /// Every area, in the overview's order.
    pub const ALL: [Area; 7] =
        [Area::Queue, Area::Sending, Area::Smtp, Area::Dnsbl, Area::Postgres, Area::Redis, Area::Hosts];

    /// The condition sources this area reports for (see [`Condition::source`]).
    pub fn sources(self) -> &'static [&'static str] {
        match self {
            Area::Queue => &["queue"],
            Area::Sending => &["sending"],
            Area::Smtp => &["smtp"],
            Area::Dnsbl => &["dnsbl"],
            Area::Postgres => &["postgres"],
            Area::Redis => &["redis"],
            Area::Hosts => &["host", "api"],
        }
    }
}

/// One tile: an area's status and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AreaStatus {
    /// Which area.
    pub area: Area,
    /// Its colour.
    pub status: Status,
    /// For `not_configured` and `error`: what is missing or what failed.
    pub reason: Option<String>,
    /// How long the check took, in milliseconds.
    pub elapsed_ms: u64,
}

/// One check cycle: a tile per area, each area's data when it ran, and the run for the alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MonitorReport {
    /// One entry per area checked, in the order of [`Area::ALL`].
    pub areas: Vec<AreaStatus>,
    /// Queue figures, when the queue check ran.
    pub queue: Option<queue::QueueOverview>,
    /// Sending figures, when that check ran.
    pub sending: Option<sending::SendingStats>,
    /// One probe per configured SMTP server.
    pub smtp: Option<Vec<smtp::SmtpProbe>>,
    /// Blocklist results per IP and zone.
    pub dnsbl: Option<dnsbl::DnsblReport>,
    /// One entry per platform database.
    pub postgres: Option<Vec<server::PgHealth>>,
    /// Redis figures.
    pub redis: Option<server::RedisHealth>,
    /// Host and API figures from Prometheus.
    pub hosts: Option<server::HostsReport>,
    /// Conditions found and the sources that completed.
    pub run: CheckRun,
}

impl MonitorReport {
    /// The tile of `area`.
    pub fn area(&self, area: Area) -> Option<&AreaStatus> {
        self.areas.iter().find(|a| a.area == area)
    }
}

/// What an area's check returns: its colour, data and conditions.
pub(crate) struct AreaOutcome<T> {
    status: Status,
    data: T,
    conditions: Vec<Condition>,
}

/// Secrets the checks need, read from the keyring (or given by tests).
#[derive(Debug, Clone, Default)]
pub struct MonitorSecrets {
    /// Redis password (`AUTH`), if any.
    pub redis_password: Option<String>,
}

/// The keyring account suffix of the Redis password.
pub const REDIS_ACCOUNT: &str = "redis";

/// Reads the monitoring secrets of `profile` from the OS keyring (none when the keyring is
/// unavailable or holds nothing).
pub fn secrets(profile: &Profile) -> Result<MonitorSecrets, MonitorError> {
    let entry = keyring::Entry::new(KEYRING_SERVICE, &format!("{}/{REDIS_ACCOUNT}", profile.name))
        .map_err(|e| MonitorError::Keyring(format!("the keyring: {e}")))?;
    let redis_password = match entry.get_password() {
        Ok(p) => Some(p),
        Err(keyring::Error::NoEntry)
        | Err(keyring::Error::PlatformFailure(_))
        | Err(keyring::Error::NoStorageAccess(_)) => None,
        Err(e) => return Err(MonitorError::Keyring(format!("reading the Redis password from the keyring: {e}"))),
    };
    Ok(MonitorSecrets { redis_password })
}

/// Stores the Redis password of `profile` in the OS keyring.
pub fn set_redis_password(profile: &Profile, password: &str) -> Result<(), MonitorError> {
    keyring::Entry::new(KEYRING_SERVICE, &format!("{}/{REDIS_ACCOUNT}", profile.name))
        .and_then(|e| e.set_password(password))
        .map_err(|e| MonitorError::Keyring(format!("storing the Redis password in the keyring: {e}")))
}

/// Runs `fut` within `budget`; a timeout or an error becomes the area's `error` tile.
async fn timed<T>(
    area: Area,
    budget: Duration,
    fut: impl Future<Output = Result<AreaOutcome<T>, MonitorError>>,
) -> (AreaStatus, Option<T>, Vec<Condition>, bool) {
    let start = Instant::now();
    let result = tokio::time::timeout(budget, fut).await;
    let elapsed_ms = start.elapsed().as_millis() as u64;
    match result {
        Ok(Ok(o)) => {
            (AreaStatus { area, status: o.status, reason: None, elapsed_ms }, Some(o.data), o.conditions, true)
        }
        Ok(Err(e)) => {
            (AreaStatus { area, status: Status::Error, reason: Some(e.to_string()), elapsed_ms }, None, vec![], false)
        }
        Err(_) => (
            AreaStatus {
                area,
                status: Status::Error,
                reason: Some(format!("did not finish within its budget of {:.1} s", budget.as_secs_f64())),
                elapsed_ms,
            },
            None,
            vec![],
            false,
        ),
    }
}

fn not_configured<T>(area: Area, reason: &str) -> (AreaStatus, Option<T>, Vec<Condition>, bool) {
    (
        AreaStatus { area, status: Status::NotConfigured, reason: Some(reason.into()), elapsed_ms: 0 },
        None,
        vec![],
        false,
    )
}

/// Runs every configured area once, concurrently, each within `settings.timeout()`.
///
/// Needs `monitoring.read`. The DNSBL check records its results in `smtp_ip_addresses`
/// when the reader is the service (an automated check: not audited) or a staff member with
/// `alerts.manage` (through an audited function); for other roles it only shows them.
/// Areas the profile does not name are `not_configured`; an area that failed or overran its
/// budget is `error` with the reason, and its sources are left out of [`CheckRun::sources`]
/// so the alerts keep their state.
pub async fn check_all(
    reader: Reader<'_>,
    settings: &MonitorSettings,
    secrets: &MonitorSecrets,
) -> Result<MonitorReport, MonitorError> {
    check_areas(reader, settings, secrets, &Area::ALL).await
}

/// [`check_all`] for some areas only: the others are left out of the report (no tile, no
/// data, no sources). For the screen's 5-second refresh, leave [`Area::Dnsbl`] out and run
/// it every few minutes: blocklists rate-limit (Spamhaus answers 127.255.255.255) and a
/// run may write the IPs' reputation fields.
pub async fn check_areas(
    reader: Reader<'_>,
    settings: &MonitorSettings,
    secrets: &MonitorSecrets,
    only: &[Area],
) -> Result<MonitorReport, MonitorError> {
    reader.staff().require(permissions::MONITORING_READ)?;
    settings.validate()?;
    let budget = settings.timeout();
    let th = &settings.thresholds;
    let redis_target = match &settings.redis_url {
        Some(u) => Some(redis::RedisTarget::parse(u, secrets.redis_password.clone())?),
        None => None,
    };
    let want = |a: Area| only.contains(&a);

    let queue_fut = async {
        if !want(Area::Queue) {
            return None;
        }
        Some(timed(Area::Queue, budget, queue::check(reader, redis_target.as_ref(), th)).await)
    };
    let sending_fut = async {
        if !want(Area::Sending) {
            return None;
        }
        Some(timed(Area::Sending, budget, sending::check(reader, th)).await)
    };
    let smtp_fut = async {
        if !want(Area::Smtp) {
            return None;
        }
        Some(if settings.smtp_servers.is_empty() {
            not_configured(Area::Smtp, "no smtp_servers in the profile's [monitor] section")
        } else {
            timed(Area::Smtp, budget, smtp::check(&settings.smtp_servers, th, budget)).await
        })
    };
    let dnsbl_fut = async {
        if !want(Area::Dnsbl) {
            return None;
        }
        Some(match &settings.dns_resolver {
            None => not_configured(Area::Dnsbl, "no dns_resolver in the profile's [monitor] section"),
            Some(r) => timed(Area::Dnsbl, budget, dnsbl::check(reader, r, &settings.zones(), budget)).await,
        })
    };
    let pg_fut = async {
        if !want(Area::Postgres) {
            return None;
        }
        Some(timed(Area::Postgres, budget, server::postgres(reader, th)).await)
    };
    let redis_fut = async {
        if !want(Area::Redis) {
            return None;
        }
        Some(match &redis_target {
            None => not_configured(Area::Redis, "no redis_url in the profile's [monitor] section"),
            Some(t) => timed(Area::Redis, budget, server::redis_health(t, th)).await,
        })
    };
    let hosts_fut = async {
        if !want(Area::Hosts) {
            return None;
        }
        Some(match &settings.prometheus_url {
            None => not_configured(Area::Hosts, "no prometheus_url in the profile's [monitor] section"),
            Some(u) => timed(Area::Hosts, budget, server::hosts(u, th, &settings.cpu_rate_window, budget)).await,
        })
    };
    let (q, se, sm, dn, pg, rd, ho) =
        tokio::join!(queue_fut, sending_fut, smtp_fut, dnsbl_fut, pg_fut, redis_fut, hosts_fut);

    let mut areas = Vec::new();
    let mut conditions = Vec::new();
    let mut sources = Vec::new();
    let mut take = |area: Area, status: AreaStatus, conds: Vec<Condition>, completed: bool| {
        if completed {
            sources.extend(area.sources().iter().map(|s| s.to_string()));
        }
        conditions.extend(conds);
        areas.push(status);
    };
    macro_rules! take {
        ($area:expr, $r:expr) => {
            match $r {
                Some((status, data, conds, completed)) => {
                    take($area, status, conds, completed);
                    data
                }
                None => None,
            }
        };
    }
    let queue = take!(Area::Queue, q);
    let sending = take!(Area::Sending, se);
    let smtp = take!(Area::Smtp, sm);
    let dnsbl = take!(Area::Dnsbl, dn);
    let postgres = take!(Area::Postgres, pg);
    let redis = take!(Area::Redis, rd);
    let hosts = take!(Area::Hosts, ho);
    Ok(MonitorReport {
        areas,
        queue,
        sending,
        smtp,
        dnsbl,
        postgres,
        redis,
        hosts,
        run: CheckRun { at: Utc::now(), sources, conditions },
    })
}

/// A condition with its fingerprint built as `source:subject:kind`.
pub(crate) fn condition(
    source: &str,
    subject: crate::alerts::Subject,
    subject_id: &str,
    kind: &str,
    severity: crate::alerts::Severity,
    summary: String,
    details: &[(&str, String)],
) -> Condition {
    Condition {
        fingerprint: format!("{source}:{subject_id}:{kind}"),
        source: source.into(),
        severity,
        subject,
        summary,
        details: details.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
    }
}

/// `1234567` → `1,234,567`, for summaries.
pub(crate) fn thousands(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}
