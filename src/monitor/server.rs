//! Server health: the four PostgreSQL databases (pg_stat views), Redis (`INFO`) and hosts
//! and the API from Prometheus' HTTP API.
//!
//! Prometheus expressions (node_exporter metric names; one series per `instance`):
//! - disk: [`DISK_QUERY`], the fullest real filesystem of each host, in percent;
//! - CPU: [`cpu_query`], busy share over `cpu_rate_window` (5 minutes) from
//!   `node_cpu_seconds_total{mode="idle"}`;
//! - memory: [`MEMORY_QUERY`], `1 - MemAvailable / MemTotal`;
//! - targets: `up` (1/0 per scrape target) and [`UPTIME_QUERY`] (share of successful scrapes
//!   over 24 hours, in percent);
//! - API latency: [`API_P95_QUERY`], p95 of `http_request_duration_seconds` over 5 minutes,
//!   when the API exports that histogram (otherwise the list is empty, never invented).
//!
//! Conditions: `postgres:{db}:down` (critical), `postgres:{db}:connections` and
//! `postgres:{db}:slow_queries` (warning); `redis:redis:down` (critical), `redis:redis:memory`
//! (warning); `host:{instance}:disk` (critical), `host:{instance}:cpu` and
//! `host:{instance}:memory` (warning), `host:{instance}:down` (critical, a scrape target with
//! `up == 0`); `api:{instance}:latency` (warning, p95 above [`API_P95_SECONDS`]).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::redis::{RedisConn, RedisTarget};
use super::{condition, AreaOutcome, MonitorError, Reader, Status, Thresholds};
use crate::alerts::{Severity, Subject};
use crate::auth::{permissions, AuthError};
use crate::central::DbKind;

/// A query running longer than the threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SlowQuery {
    /// Backend pid.
    pub pid: i32,
    /// Role running it.
    pub user: Option<String>,
    /// `active`, `idle in transaction`, …
    pub state: Option<String>,
    /// Seconds since the query started.
    pub seconds: f64,
    /// The first 200 characters (e-mail addresses, IPs, phone numbers and long tokens
    /// masked for viewers without `pii.view`).
    pub query: String,
}

/// A replica seen from its primary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Replica {
    /// `application_name`.
    pub name: String,
    /// `client_addr`.
    pub address: Option<String>,
    /// `streaming`, …
    pub state: Option<String>,
    /// `replay_lag` in seconds.
    pub replay_lag_seconds: Option<f64>,
}

/// One platform database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PgHealth {
    /// `oltp`, `queue`, `olap`, `notifications`.
    pub database: String,
    /// Red when unreachable, yellow past a threshold.
    pub status: Status,
    /// Why it could not be read.
    pub error: Option<String>,
    /// Client connections to the whole server.
    pub connections: Option<i64>,
    /// Client connections to this database.
    pub connections_this_db: Option<i64>,
    /// `max_connections`.
    pub max_connections: Option<i64>,
    /// `connections / max_connections`, percent.
    pub connections_percent: Option<f64>,
    /// Queries running longer than the threshold.
    pub slow_queries: Vec<SlowQuery>,
    /// `blks_hit / (blks_hit + blks_read)` of this database, percent (`None` before any read).
    pub cache_hit_percent: Option<f64>,
    /// Replicas streaming from this server.
    pub replicas: Vec<Replica>,
    /// When this server is itself a replica: seconds since the last replayed transaction.
    pub replica_lag_seconds: Option<f64>,
}

/// What `monitoring_pg_health` answers (see `src/central/sql/api/monitoring.sql`).
#[derive(Deserialize)]
struct PgAnswer {
    connections: i64,
    connections_this_db: Option<i64>,
    max_connections: i64,
    blks_hit: Option<i64>,
    blks_read: Option<i64>,
    replica_lag_seconds: Option<f64>,
    slow_queries: Vec<SlowQuery>,
    replicas: Vec<Replica>,
}

/// One database's figures; `Err(Ok(refusal))` when the database refused the staff member
/// (an ended session, a missing permission), `Err(Err(e))` when it could not be read.
async fn pg_one(reader: Reader<'_>, db: DbKind, slow_seconds: f64) -> Result<PgHealth, Result<MonitorError, String>> {
    let mut tx = match reader.begin(db).await {
        Ok(tx) => tx,
        Err(e @ MonitorError::Forbidden(AuthError::SessionEnded(_) | AuthError::Denied(_))) => return Err(Ok(e)),
        Err(e) => return Err(Err(e.to_string())),
    };
    let answer: serde_json::Value = sqlx::query_scalar(&format!("SELECT {}", reader.call("pg_health", "$1")))
        .bind(slow_seconds)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match MonitorError::from(e) {
            refused @ (MonitorError::Forbidden(_) | MonitorError::BadInput(_)) => Ok(refused),
            MonitorError::Database { source, .. } => Err(source.to_string()),
            other => Err(other.to_string()),
        })?;
    let a: PgAnswer = serde_json::from_value(answer).map_err(|e| Err(format!("unreadable health figures: {e}")))?;
    let cache_hit_percent = match (a.blks_hit, a.blks_read) {
        (Some(h), Some(rd)) if h + rd > 0 => Some(100.0 * h as f64 / (h + rd) as f64),
        _ => None,
    };
    Ok(PgHealth {
        database: db.key().to_string(),
        status: Status::Green,
        error: None,
        connections: Some(a.connections),
        connections_this_db: a.connections_this_db,
        max_connections: Some(a.max_connections),
        connections_percent: (a.max_connections > 0).then(|| 100.0 * a.connections as f64 / a.max_connections as f64),
        slow_queries: a.slow_queries,
        cache_hit_percent,
        replicas: a.replicas,
        replica_lag_seconds: a.replica_lag_seconds,
    })
}

/// Health of the four databases (slow-query text masked for roles without `pii.view`).
/// Needs `monitoring.read`. A database that cannot be read is red with the reason; a
/// refusal (session ended, permission withdrawn) fails the whole check.
pub async fn postgres_health(reader: Reader<'_>, th: &Thresholds) -> Result<Vec<PgHealth>, MonitorError> {
    reader.staff().require(permissions::MONITORING_READ)?;
    let results =
        futures_util::future::join_all(DbKind::ALL.iter().map(|k| pg_one(reader, *k, th.slow_query_seconds))).await;
    let mut out = Vec::new();
    for (kind, r) in DbKind::ALL.iter().zip(results) {
        out.push(match r {
            Ok(mut h) => {
                let busy = h.connections_percent.is_some_and(|p| p > th.connections_percent);
                h.status = if busy || !h.slow_queries.is_empty() { Status::Yellow } else { Status::Green };
                h
            }
            Err(Ok(refused)) => return Err(refused),
            Err(Err(e)) => PgHealth {
                database: kind.key().to_string(),
                status: Status::Red,
                error: Some(e),
                connections: None,
                connections_this_db: None,
                max_connections: None,
                connections_percent: None,
                slow_queries: vec![],
                cache_hit_percent: None,
                replicas: vec![],
                replica_lag_seconds: None,
            },
        });
    }
    Ok(out)
}

/// The PostgreSQL area.
pub(crate) async fn postgres(reader: Reader<'_>, th: &Thresholds) -> Result<AreaOutcome<Vec<PgHealth>>, MonitorError> {
    let data = postgres_health(reader, th).await?;
    let mut conditions = Vec::new();
    for h in &data {
        let db = &h.database;
        let subject = || Subject::Database(db.clone());
        if let Some(e) = &h.error {
            conditions.push(condition(
                "postgres",
                subject(),
                db,
                "down",
                Severity::Critical,
                format!("the {db} database cannot be read: {e}"),
                &[("error", e.clone())],
            ));
            continue;
        }
        if let (Some(p), true) =
            (h.connections_percent, h.connections_percent.is_some_and(|p| p > th.connections_percent))
        {
            conditions.push(condition(
                "postgres",
                subject(),
                db,
                "connections",
                Severity::Warning,
                format!(
                    "the {db} database server uses {p:.0} % of its connections (warning above {:.0} %)",
                    th.connections_percent
                ),
                &[
                    ("connections", h.connections.unwrap_or_default().to_string()),
                    ("max_connections", h.max_connections.unwrap_or_default().to_string()),
                ],
            ));
        }
        if !h.slow_queries.is_empty() {
            let longest = h.slow_queries.iter().map(|q| q.seconds).fold(0.0, f64::max);
            conditions.push(condition(
                "postgres",
                subject(),
                db,
                "slow_queries",
                Severity::Warning,
                format!(
                    "the {db} database has {} queries running longer than {} s (longest {longest:.0} s)",
                    h.slow_queries.len(),
                    th.slow_query_seconds
                ),
                &[("count", h.slow_queries.len().to_string()), ("longest_seconds", format!("{longest:.0}"))],
            ));
        }
    }
    let status = data.iter().fold(Status::Green, |s, h| s.worst(h.status));
    Ok(AreaOutcome { status, data, conditions })
}

/// Redis figures from `INFO`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RedisHealth {
    /// `host:port`.
    pub address: String,
    /// Why it could not be read (then it is down).
    pub error: Option<String>,
    /// `redis_version`.
    pub version: Option<String>,
    /// `uptime_in_seconds`.
    pub uptime_seconds: Option<i64>,
    /// `used_memory`, bytes.
    pub used_memory: Option<i64>,
    /// `maxmemory`, bytes (`None` when 0: unlimited).
    pub max_memory: Option<i64>,
    /// `used_memory / maxmemory`, percent.
    pub memory_percent: Option<f64>,
    /// `keyspace_hits / (hits + misses)`, percent (`None` before any lookup).
    pub hit_rate_percent: Option<f64>,
    /// `connected_clients`.
    pub connected_clients: Option<i64>,
}

/// Reads Redis' `INFO`; an unreachable or garbled Redis is reported with its error.
pub async fn read_redis(t: &RedisTarget) -> RedisHealth {
    let mut h = RedisHealth {
        address: t.address(),
        error: None,
        version: None,
        uptime_seconds: None,
        used_memory: None,
        max_memory: None,
        memory_percent: None,
        hit_rate_percent: None,
        connected_clients: None,
    };
    let info = match RedisConn::open(t).await {
        Ok(mut c) => c.info().await,
        Err(e) => Err(e),
    };
    let info = match info {
        Ok(i) => i,
        Err(e) => {
            h.error = Some(e.to_string());
            return h;
        }
    };
    let num = |k: &str| info.get(k).and_then(|v| v.parse::<i64>().ok());
    if num("used_memory").is_none() {
        h.error = Some(format!("{}: INFO lacks used_memory (not Redis?)", t.address()));
        return h;
    }
    h.version = info.get("redis_version").cloned();
    h.uptime_seconds = num("uptime_in_seconds");
    h.used_memory = num("used_memory");
    h.max_memory = num("maxmemory").filter(|m| *m > 0);
    h.memory_percent = match (h.used_memory, h.max_memory) {
        (Some(u), Some(m)) => Some(100.0 * u as f64 / m as f64),
        _ => None,
    };
    h.hit_rate_percent = match (num("keyspace_hits"), num("keyspace_misses")) {
        (Some(hit), Some(miss)) if hit + miss > 0 => Some(100.0 * hit as f64 / (hit + miss) as f64),
        _ => None,
    };
    h.connected_clients = num("connected_clients");
    h
}

/// The Redis area.
pub(crate) async fn redis_health(t: &RedisTarget, th: &Thresholds) -> Result<AreaOutcome<RedisHealth>, MonitorError> {
    let data = read_redis(t).await;
    let mut conditions = Vec::new();
    let status = if let Some(e) = &data.error {
        conditions.push(condition(
            "redis",
            Subject::Redis,
            "redis",
            "down",
            Severity::Critical,
            format!("Redis at {} cannot be read: {e}", data.address),
            &[("error", e.clone())],
        ));
        Status::Red
    } else if let Some(p) = data.memory_percent.filter(|p| *p > th.redis_memory_percent) {
        conditions.push(condition(
            "redis",
            Subject::Redis,
            "redis",
            "memory",
            Severity::Warning,
            format!("Redis uses {p:.0} % of its maxmemory (warning above {:.0} %)", th.redis_memory_percent),
            &[
                ("used_memory", data.used_memory.unwrap_or_default().to_string()),
                ("maxmemory", data.max_memory.unwrap_or_default().to_string()),
            ],
        ));
        Status::Yellow
    } else {
        Status::Green
    };
    Ok(AreaOutcome { status, data, conditions })
}

/// Disk use per host: the fullest real filesystem, percent.
pub const DISK_QUERY: &str = "max by (instance) (100 * (1 - node_filesystem_avail_bytes{fstype!~\"tmpfs|ramfs|overlay|squashfs|devtmpfs\"} / node_filesystem_size_bytes{fstype!~\"tmpfs|ramfs|overlay|squashfs|devtmpfs\"}))";
/// CPU use per host over `window` (a Prometheus duration, `5m` by default), percent.
pub fn cpu_query(window: &str) -> String {
    format!("100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{{mode=\"idle\"}}[{window}])))")
}
/// Memory use per host, percent.
pub const MEMORY_QUERY: &str = "100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)";
/// Share of successful scrapes per target over 24 hours, percent.
pub const UPTIME_QUERY: &str = "100 * avg_over_time(up[24h])";
/// p95 API latency per instance, seconds.
pub const API_P95_QUERY: &str =
    "histogram_quantile(0.95, sum by (le, instance) (rate(http_request_duration_seconds_bucket[5m])))";
/// An API p95 above this many seconds raises `api:{instance}:latency`.
pub const API_P95_SECONDS: f64 = 1.0;

/// One host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HostMetrics {
    /// The `instance` label.
    pub instance: String,
    /// Disk use, percent (fullest filesystem).
    pub disk_percent: Option<f64>,
    /// CPU use, percent.
    pub cpu_percent: Option<f64>,
    /// Memory use, percent.
    pub memory_percent: Option<f64>,
    /// Its colour.
    pub status: Status,
}

/// One scrape target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Target {
    /// `job` label.
    pub job: String,
    /// `instance` label.
    pub instance: String,
    /// `up` now.
    pub up: bool,
    /// Share of successful scrapes over 24 hours, percent.
    pub uptime_24h_percent: Option<f64>,
}

/// API latency of one instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ApiLatency {
    /// `instance` label.
    pub instance: String,
    /// p95 over 5 minutes, milliseconds.
    pub p95_ms: f64,
}

/// What Prometheus knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HostsReport {
    /// The Prometheus base URL.
    pub prometheus: String,
    /// Hosts with node_exporter metrics, by instance.
    pub hosts: Vec<HostMetrics>,
    /// Every scrape target.
    pub targets: Vec<Target>,
    /// API latency, when exported.
    pub api: Vec<ApiLatency>,
}

/// One sample of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its value (NaN samples are dropped).
    pub value: f64,
}

/// Runs an instant query against `base`'s `/api/v1/query`.
pub async fn prom_query(client: &reqwest::Client, base: &str, query: &str) -> Result<Vec<Sample>, MonitorError> {
    let url = format!("{}/api/v1/query", base.trim_end_matches('/'));
    let resp = client
        .get(&url)
        .query(&[("query", query)])
        .send()
        .await
        .map_err(|e| MonitorError::Prometheus(format!("cannot reach {base}: {e}")))?;
    let status = resp.status();
    let body = resp.text().await.map_err(|e| MonitorError::Prometheus(format!("reading {url}: {e}")))?;
    let json: serde_json::Value = serde_json::from_str(&body).map_err(|_| {
        MonitorError::Prometheus(format!(
            "{url} answered {status} with something that is not Prometheus JSON: {:.80?}",
            body
        ))
    })?;
    if json["status"] != "success" {
        return Err(MonitorError::Prometheus(format!(
            "query {query:?} failed ({status}): {}",
            json["error"].as_str().unwrap_or("no reason given")
        )));
    }
    let result = json["data"]["result"]
        .as_array()
        .ok_or_else(|| MonitorError::Prometheus(format!("query {query:?}: the answer has no data.result")))?;
    Ok(result
        .iter()
        .filter_map(|s| {
            let labels = s["metric"]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string())).collect())
                .unwrap_or_default();
            let value = s["value"][1].as_str()?.parse::<f64>().ok().filter(|v| v.is_finite())?;
            Some(Sample { labels, value })
        })
        .collect())
}

/// Host, target and API figures from Prometheus.
pub async fn read_hosts(
    base: &str,
    th: &Thresholds,
    cpu_window: &str,
    timeout: Duration,
) -> Result<HostsReport, MonitorError> {
    url::Url::parse(base).map_err(|e| MonitorError::Config(format!("[monitor] prometheus_url {base:?}: {e}")))?;
    let client =
        reqwest::Client::builder().timeout(timeout).build().map_err(|e| MonitorError::Prometheus(e.to_string()))?;
    let cpu_expr = cpu_query(cpu_window);
    let (disk, cpu, mem, up, uptime, api) = tokio::try_join!(
        prom_query(&client, base, DISK_QUERY),
        prom_query(&client, base, &cpu_expr),
        prom_query(&client, base, MEMORY_QUERY),
        prom_query(&client, base, "up"),
        prom_query(&client, base, UPTIME_QUERY),
        prom_query(&client, base, API_P95_QUERY),
    )?;
    let inst = |s: &Sample| s.labels.get("instance").cloned().unwrap_or_default();
    let mut hosts: BTreeMap<String, HostMetrics> = BTreeMap::new();
    let mut set = |samples: &[Sample], f: fn(&mut HostMetrics, f64)| {
        for s in samples {
            let h = hosts.entry(inst(s)).or_insert_with(|| HostMetrics {
                instance: inst(s),
                disk_percent: None,
                cpu_percent: None,
                memory_percent: None,
                status: Status::Green,
            });
            f(h, s.value);
        }
    };
    set(&disk, |h, v| h.disk_percent = Some(v));
    set(&cpu, |h, v| h.cpu_percent = Some(v));
    set(&mem, |h, v| h.memory_percent = Some(v));
    for h in hosts.values_mut() {
        let over = |v: Option<f64>, limit: f64| v.is_some_and(|v| v > limit);
        h.status = if over(h.disk_percent, th.disk_percent) {
            Status::Red
        } else if over(h.cpu_percent, th.cpu_percent) || over(h.memory_percent, th.memory_percent) {
            Status::Yellow
        } else {
            Status::Green
        };
    }
    let uptimes: BTreeMap<(String, String), f64> =
        uptime.iter().map(|s| ((s.labels.get("job").cloned().unwrap_or_default(), inst(s)), s.value)).collect();
    let mut targets: Vec<Target> = up
        .iter()
        .map(|s| {
            let job = s.labels.get("job").cloned().unwrap_or_default();
            let instance = inst(s);
            Target {
                uptime_24h_percent: uptimes.get(&(job.clone(), instance.clone())).copied(),
                job,
                instance,
                up: s.value >= 1.0,
            }
        })
        .collect();
    targets.sort_by(|a, b| (&a.job, &a.instance).cmp(&(&b.job, &b.instance)));
    let mut api: Vec<ApiLatency> =
        api.iter().map(|s| ApiLatency { instance: inst(s), p95_ms: s.value * 1000.0 }).collect();
    api.sort_by(|a, b| a.instance.cmp(&b.instance));
    Ok(HostsReport { prometheus: base.to_string(), hosts: hosts.into_values().collect(), targets, api })
}

/// The hosts area.
pub(crate) async fn hosts(
    base: &str,
    th: &Thresholds,
    cpu_window: &str,
    budget: Duration,
) -> Result<AreaOutcome<HostsReport>, MonitorError> {
    let data = read_hosts(base, th, cpu_window, budget.mul_f64(0.9)).await?;
    let mut conditions = Vec::new();
    let mut status = Status::Green;
    for h in &data.hosts {
        status = status.worst(h.status);
        let i = &h.instance;
        let checks = [
            ("disk", h.disk_percent, th.disk_percent, Severity::Critical),
            ("cpu", h.cpu_percent, th.cpu_percent, Severity::Warning),
            ("memory", h.memory_percent, th.memory_percent, Severity::Warning),
        ];
        for (kind, value, limit, severity) in checks {
            if let Some(v) = value.filter(|v| *v > limit) {
                conditions.push(condition(
                    "host",
                    Subject::Host(i.clone()),
                    i,
                    kind,
                    severity,
                    format!("{i}: {kind} at {v:.1} % (alert above {limit:.0} %)"),
                    &[(kind, format!("{v:.1}")), ("threshold", format!("{limit}"))],
                ));
            }
        }
    }
    for t in data.targets.iter().filter(|t| !t.up) {
        status = status.worst(Status::Red);
        conditions.push(condition(
            "host",
            Subject::Host(t.instance.clone()),
            &t.instance,
            "down",
            Severity::Critical,
            format!("{} ({}) is down: Prometheus cannot scrape it", t.instance, t.job),
            &[("job", t.job.clone())],
        ));
    }
    for a in data.api.iter().filter(|a| a.p95_ms > API_P95_SECONDS * 1000.0) {
        status = status.worst(Status::Yellow);
        conditions.push(condition(
            "api",
            Subject::Host(a.instance.clone()),
            &a.instance,
            "latency",
            Severity::Warning,
            format!("API on {}: p95 {:.0} ms (warning above {:.0} ms)", a.instance, a.p95_ms, API_P95_SECONDS * 1000.0),
            &[("p95_ms", format!("{:.0}", a.p95_ms))],
        ));
    }
    Ok(AreaOutcome { status, data, conditions })
}
