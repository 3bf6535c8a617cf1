//! What a monitoring check reports: the interface between the checks and the alerts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How bad a condition is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// For the record; never pages.
    Info,
    /// Needs attention during working hours.
    Warning,
    /// Pages the on-call.
    Critical,
}

/// What a condition is about, so the alert can name what it puts at risk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Subject {
    /// A queue, by name (`queue:email-sending`).
    Queue(String),
    /// A sending IP address (`203.0.113.7`).
    Ip(String),
    /// An SMTP server, `host:port`.
    SmtpServer(String),
    /// One of the platform's databases (`oltp`, `queue`, …).
    Database(String),
    /// The Redis server.
    Redis,
    /// A host as Prometheus names it (its `instance` label).
    Host(String),
    /// A workspace (a `companies` row), by id.
    Workspace(String),
    /// Anything else, by name.
    Other(String),
}

/// One problem found by a check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Condition {
    /// Stable identity of the problem: `source:subject:kind`, e.g.
    /// `dnsbl:203.0.113.7:zen.spamhaus.org`. The same problem seen again has the same
    /// fingerprint; a different problem never does.
    pub fingerprint: String,
    /// The check that found it: `queue`, `smtp`, `dnsbl`, `postgres`, `redis`, `host`,
    /// `api`, `health`.
    pub source: String,
    /// How bad it is.
    pub severity: Severity,
    /// What it is about.
    pub subject: Subject,
    /// One line for people: "queue:email-sending has 12,400 waiting jobs (alert above 10,000)".
    pub summary: String,
    /// The measured values behind it (`waiting` → `12400`), shown in the detail.
    pub details: BTreeMap<String, String>,
}

/// The outcome of one run of the checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CheckRun {
    /// When the run finished.
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub at: DateTime<Utc>,
    /// The sources that ran to completion. Only alerts of these sources are resolved when
    /// their condition is absent: a source that was not configured or could not run says
    /// nothing about whether its problems are gone.
    pub sources: Vec<String>,
    /// Everything found.
    pub conditions: Vec<Condition>,
}
