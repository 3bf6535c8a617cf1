//! Email sending: emails sent and failed per hour and per day, overall, per sending IP and per
//! SMTP server, from the email-sending queues' jobs (queue database: a `completed` job is an
//! email sent, a `failed` one a delivery given up; the IP is the payload's `smtp_ip`), and
//! delivered / bounced from the OLAP campaign and mailbox analytics.
//!
//! Series are returned as data for the screen to draw: the last 24 hours by hour and the last
//! 30 days by day (UTC), zero-filled. The SMTP server of an IP is its `vps_instances` row
//! (OLTP `smtp_ip_addresses.vps_instance_id`). Sending IPs are the platform's own
//! infrastructure, not personal data, so they are not masked.
//!
//! Condition: `sending:overall:failure_rate` (warning) when more than
//! [`Thresholds::failure_percent`] of at least [`MIN_ATTEMPTS`] attempts in 24 hours failed.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{condition, AreaOutcome, MonitorError, Reader, Status, Thresholds};
use crate::alerts::{Severity, Subject};
use crate::auth::permissions;
use crate::central::DbKind;

/// Fewer attempts than this in 24 hours never raise the failure-rate condition.
pub const MIN_ATTEMPTS: i64 = 20;

/// One bucket of a series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SendPoint {
    /// Start of the hour or day (UTC).
    pub at: DateTime<Utc>,
    /// Emails sent (jobs completed).
    pub sent: i64,
    /// Deliveries given up (jobs failed).
    pub failed: i64,
}

/// Sending from one IP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct IpSending {
    /// The sending IP (the job payload's `smtp_ip`; empty when the payload names none).
    pub ip: String,
    /// The SMTP server (VPS address) it belongs to, when known.
    pub server: Option<String>,
    /// Sent in the last hour.
    pub sent_last_hour: i64,
    /// Sent in the last 24 hours.
    pub sent_last_24h: i64,
    /// Failed in the last 24 hours.
    pub failed_last_24h: i64,
    /// `failed / (sent + failed)` over 24 hours, percent.
    pub failure_percent: Option<f64>,
}

/// Sending from one SMTP server (all its IPs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ServerSending {
    /// The VPS address (`vps_instances.ip_address`), or `unknown`.
    pub server: String,
    /// Its region.
    pub region: Option<String>,
    /// Sent in the last hour.
    pub sent_last_hour: i64,
    /// Sent in the last 24 hours.
    pub sent_last_24h: i64,
    /// Failed in the last 24 hours.
    pub failed_last_24h: i64,
    /// `failed / (sent + failed)` over 24 hours, percent.
    pub failure_percent: Option<f64>,
}

/// Analytics totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AnalyticsTotals {
    /// Sent.
    pub sent: i64,
    /// Delivered.
    pub delivered: i64,
    /// Bounced.
    pub bounced: i64,
    /// `bounced / sent`, percent.
    pub bounce_percent: Option<f64>,
}

/// One day of campaign analytics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AnalyticsDay {
    /// The day (UTC).
    pub day: NaiveDate,
    /// Sent.
    pub sent: i64,
    /// Delivered.
    pub delivered: i64,
    /// Bounced.
    pub bounced: i64,
}

/// Sending figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SendingStats {
    /// Sent in the last 60 minutes.
    pub sent_last_hour: i64,
    /// Failed in the last 60 minutes.
    pub failed_last_hour: i64,
    /// Sent in the last 24 hours.
    pub sent_last_24h: i64,
    /// Failed in the last 24 hours.
    pub failed_last_24h: i64,
    /// `failed / (sent + failed)` over 24 hours, percent.
    pub failure_percent_24h: Option<f64>,
    /// The last 24 hours by hour (24 buckets, the current hour last).
    pub hourly: Vec<SendPoint>,
    /// The last 30 days by day (30 buckets, today last).
    pub daily: Vec<SendPoint>,
    /// Per sending IP, busiest first.
    pub per_ip: Vec<IpSending>,
    /// Per SMTP server, busiest first.
    pub per_server: Vec<ServerSending>,
    /// Campaign analytics of the last 30 days by day (30 buckets).
    pub campaign_daily: Vec<AnalyticsDay>,
    /// Campaign analytics totals over 30 days.
    pub campaigns_30d: AnalyticsTotals,
    /// Mailbox analytics totals of rows updated in the last 30 days.
    pub mailboxes_30d: AnalyticsTotals,
}

fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| 100.0 * part as f64 / whole as f64)
}

async fn series(
    tx: &mut sqlx::PgConnection,
    reader: Reader<'_>,
    unit: &str,
    buckets: i32,
) -> Result<Vec<SendPoint>, MonitorError> {
    let rows = sqlx::query(&format!("SELECT * FROM {}", reader.call("send_series", "$1, $2")))
        .bind(unit)
        .bind(buckets)
        .fetch_all(tx)
        .await
        .map_err(MonitorError::sql(format!("reading sends per {unit}")))?;
    Ok(rows.iter().map(|r| SendPoint { at: r.get("bucket"), sent: r.get("sent"), failed: r.get("failed") }).collect())
}

/// Sending figures (for qa, of its sandbox tenants' jobs and workspaces only). Needs
/// `monitoring.read`.
pub async fn stats(reader: Reader<'_>) -> Result<SendingStats, MonitorError> {
    reader.staff().require(permissions::MONITORING_READ)?;
    let mut queue = reader.begin(DbKind::Queue).await?;
    let hourly = series(&mut queue, reader, "hour", 24).await?;
    let daily = series(&mut queue, reader, "day", 30).await?;
    let ip_rows = sqlx::query(&format!("SELECT * FROM {}", reader.call("send_per_ip", "")))
        .fetch_all(&mut *queue)
        .await
        .map_err(MonitorError::sql("reading sends per IP"))?;
    drop(queue);
    let mut oltp = reader.begin(DbKind::Oltp).await?;
    let servers: BTreeMap<String, (String, Option<String>)> =
        sqlx::query(&format!("SELECT ip_address, server, region FROM {}", reader.call("smtp_ips", "")))
            .fetch_all(&mut *oltp)
            .await
            .map_err(MonitorError::sql("reading the SMTP servers of the sending IPs"))?
            .iter()
            .filter_map(|r| {
                let server: Option<String> = r.get("server");
                Some((r.get::<String, _>("ip_address"), (server?, r.get("region"))))
            })
            .collect();
    drop(oltp);

    let (mut sent_1h, mut failed_1h, mut sent_24h, mut failed_24h) = (0, 0, 0, 0);
    let mut per_ip = Vec::new();
    let mut per_server: BTreeMap<String, ServerSending> = BTreeMap::new();
    for r in &ip_rows {
        let ip: String = r.get("ip");
        let (s1, f1, s24, f24): (i64, i64, i64, i64) =
            (r.get("sent_1h"), r.get("failed_1h"), r.get("sent_24h"), r.get("failed_24h"));
        sent_1h += s1;
        failed_1h += f1;
        sent_24h += s24;
        failed_24h += f24;
        let server = servers.get(&ip).cloned();
        let key = server.as_ref().map_or_else(|| "unknown".to_string(), |s| s.0.clone());
        let e = per_server.entry(key.clone()).or_insert(ServerSending {
            server: key,
            region: server.as_ref().and_then(|s| s.1.clone()),
            sent_last_hour: 0,
            sent_last_24h: 0,
            failed_last_24h: 0,
            failure_percent: None,
        });
        e.sent_last_hour += s1;
        e.sent_last_24h += s24;
        e.failed_last_24h += f24;
        per_ip.push(IpSending {
            ip,
            server: server.map(|s| s.0),
            sent_last_hour: s1,
            sent_last_24h: s24,
            failed_last_24h: f24,
            failure_percent: percent(f24, s24 + f24),
        });
    }
    per_ip.sort_by(|a, b| b.sent_last_24h.cmp(&a.sent_last_24h).then(a.ip.cmp(&b.ip)));
    let mut per_server: Vec<ServerSending> = per_server
        .into_values()
        .map(|mut s| {
            s.failure_percent = percent(s.failed_last_24h, s.sent_last_24h + s.failed_last_24h);
            s
        })
        .collect();
    per_server.sort_by(|a, b| b.sent_last_24h.cmp(&a.sent_last_24h).then(a.server.cmp(&b.server)));

    let mut olap = reader.begin(DbKind::Olap).await?;
    let campaign_daily: Vec<AnalyticsDay> = sqlx::query(&format!("SELECT * FROM {}", reader.call("campaign_days", "")))
        .fetch_all(&mut *olap)
        .await
        .map_err(MonitorError::sql("reading campaign analytics"))?
        .iter()
        .map(|r| AnalyticsDay {
            day: r.get("day"),
            sent: r.get("sent"),
            delivered: r.get("delivered"),
            bounced: r.get("bounced"),
        })
        .collect();
    let totals = |sent: i64, delivered: i64, bounced: i64| AnalyticsTotals {
        sent,
        delivered,
        bounced,
        bounce_percent: percent(bounced, sent),
    };
    let campaigns_30d = totals(
        campaign_daily.iter().map(|d| d.sent).sum(),
        campaign_daily.iter().map(|d| d.delivered).sum(),
        campaign_daily.iter().map(|d| d.bounced).sum(),
    );
    let m = sqlx::query(&format!("SELECT * FROM {}", reader.call("mailbox_totals", "")))
        .fetch_one(&mut *olap)
        .await
        .map_err(MonitorError::sql("reading mailbox analytics"))?;
    let mailboxes_30d = totals(m.get("sent"), m.get("delivered"), m.get("bounced"));

    Ok(SendingStats {
        sent_last_hour: sent_1h,
        failed_last_hour: failed_1h,
        sent_last_24h: sent_24h,
        failed_last_24h: failed_24h,
        failure_percent_24h: percent(failed_24h, sent_24h + failed_24h),
        hourly,
        daily,
        per_ip,
        per_server,
        campaign_daily,
        campaigns_30d,
        mailboxes_30d,
    })
}

/// The sending area.
pub(crate) async fn check(reader: Reader<'_>, th: &Thresholds) -> Result<AreaOutcome<SendingStats>, MonitorError> {
    let data = stats(reader).await?;
    let attempts = data.sent_last_24h + data.failed_last_24h;
    let mut conditions = Vec::new();
    let mut status = Status::Green;
    if let Some(p) = data.failure_percent_24h.filter(|p| *p > th.failure_percent && attempts >= MIN_ATTEMPTS) {
        status = Status::Yellow;
        conditions.push(condition(
            "sending",
            Subject::Other("sending".into()),
            "overall",
            "failure_rate",
            Severity::Warning,
            format!(
                "{p:.1} % of {attempts} sending attempts failed in 24 hours (warning above {:.0} %)",
                th.failure_percent
            ),
            &[("failed", data.failed_last_24h.to_string()), ("sent", data.sent_last_24h.to_string())],
        ));
    }
    Ok(AreaOutcome { status, data, conditions })
}
