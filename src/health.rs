//! Workspace health: a 0–100 score per workspace and day, its history, and the
//! findings the alerting wires up (a drop of 15 points or more within 7 days, or a
//! crossing into red).
//!
//! ## The score
//! Computed for day D over the 7 days ending D (D−6 … D, UTC), from the platform's
//! OLAP `campaign_analytics` summed per workspace (`company_id`): a single day is too
//! noisy (weekends send a third as much). Five factors, each 0–100, clamped:
//!
//! | factor         | rate                                   | factor score                         | weight |
//! |----------------|----------------------------------------|--------------------------------------|--------|
//! | deliverability | delivered ÷ sent                       | (rate − 85 %) ÷ (98 % − 85 %) × 100   | 30     |
//! | engagement     | (opened + replied) ÷ delivered          | rate ÷ 30 % × 100                    | 20     |
//! | bounce         | bounced ÷ sent                         | (1 − rate ÷ 5 %) × 100               | 20     |
//! | complaint      | spam complaints ÷ delivered            | (1 − rate ÷ 0.3 %) × 100             | 20     |
//! | volume         | sent in the 7 days                     | sent ÷ 350 × 100                     | 10     |
//!
//! score = round(Σ weight × factor ÷ 100). The thresholds are the usual deliverability
//! lines: 98 % delivered is excellent and below 85 % is failing; 5 % bounces and 0.3 %
//! complaints (Google's and Yahoo's bulk-sender limit) score zero. Volume measures
//! confidence, not size: under 50 emails a day the rates say little, so a small sender
//! cannot score full marks. A workspace that sent nothing in the window gets no score
//! (no row), rather than a misleading one.
//!
//! Colour: green 80–100, yellow 60–79, red 0–59.
//!
//! History lives in the console's own schema on OLAP (`penguin_console.workspace_health`,
//! migration 0007), synced to the cache as `console_workspace_health`. Computing is
//! idempotent (a day is recomputed in place) and is not audited: it derives numbers and
//! changes no customer data.

use chrono::{Duration, NaiveDate};
use rusqlite::Connection;
use sqlx::Row;

use crate::auth::{permissions, AuthError, Staff};
use crate::cache::CacheError;
use crate::central::Central;

/// Factor weights, in percent: deliverability, engagement, bounce, complaint, volume.
pub const WEIGHTS: Weights = Weights { deliverability: 30, engagement: 20, bounce: 20, complaint: 20, volume: 10 };
/// Days in the scoring window.
pub const WINDOW_DAYS: i64 = 7;
/// Points lost within [`WINDOW_DAYS`] that make a finding.
pub const DROP_POINTS: i32 = 15;
/// Emails in the window for a full volume score.
pub const FULL_VOLUME: f64 = 350.0;

/// Factor weights in percent (they sum to 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Weights {
    /// Deliverability.
    pub deliverability: u32,
    /// Engagement.
    pub engagement: u32,
    /// Bounce.
    pub bounce: u32,
    /// Complaint.
    pub complaint: u32,
    /// Volume.
    pub volume: u32,
}

/// Health errors.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// The viewer's role does not allow it.
    #[error(transparent)]
    Forbidden(#[from] AuthError),
    /// A database failed.
    #[error("workspace health: {0}")]
    Database(#[from] sqlx::Error),
    /// The cache failed.
    #[error(transparent)]
    Cache(#[from] CacheError),
}

/// Score colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum Colour {
    /// 80–100.
    Green,
    /// 60–79.
    Yellow,
    /// 0–59.
    Red,
}

impl Colour {
    /// The colour of a score.
    pub fn of(score: i32) -> Colour {
        match score {
            80.. => Colour::Green,
            60..=79 => Colour::Yellow,
            _ => Colour::Red,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Colour::Green => "green",
            Colour::Yellow => "yellow",
            Colour::Red => "red",
        }
    }
}

/// Sending counts of a workspace over the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Sent.
    pub sent: i64,
    /// Delivered.
    pub delivered: i64,
    /// Opened (tracked).
    pub opened: i64,
    /// Replied.
    pub replied: i64,
    /// Bounced.
    pub bounced: i64,
    /// Spam complaints.
    pub complaints: i64,
}

/// A score with its factors (each 0–100).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Score {
    /// 0–100.
    pub score: i32,
    /// Colour.
    pub colour: Colour,
    /// Deliverability factor.
    pub deliverability: f64,
    /// Engagement factor.
    pub engagement: f64,
    /// Bounce factor.
    pub bounce: f64,
    /// Complaint factor.
    pub complaint: f64,
    /// Volume factor.
    pub volume: f64,
}

fn ratio(a: i64, b: i64) -> f64 {
    if b <= 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn pct(x: f64) -> f64 {
    (x * 100.0).clamp(0.0, 100.0)
}

/// The score of `c`, or `None` when nothing was sent.
pub fn score(c: &Counts) -> Option<Score> {
    if c.sent <= 0 {
        return None;
    }
    let deliverability = pct((ratio(c.delivered, c.sent) - 0.85) / (0.98 - 0.85));
    let engagement = pct(ratio(c.opened + c.replied, c.delivered) / 0.30);
    let bounce = pct(1.0 - ratio(c.bounced, c.sent) / 0.05);
    let complaint = pct(1.0 - ratio(c.complaints, c.delivered) / 0.003);
    let volume = pct(c.sent as f64 / FULL_VOLUME);
    let w = WEIGHTS;
    let total = (w.deliverability as f64 * deliverability
        + w.engagement as f64 * engagement
        + w.bounce as f64 * bounce
        + w.complaint as f64 * complaint
        + w.volume as f64 * volume)
        / 100.0;
    let score = total.round().clamp(0.0, 100.0) as i32;
    Some(Score { score, colour: Colour::of(score), deliverability, engagement, bounce, complaint, volume })
}

/// What the alerting should hear about.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum Finding {
    /// Lost [`DROP_POINTS`] or more against its best score of the previous 7 days.
    Drop {
        /// Workspace id.
        workspace_id: String,
        /// Workspace name, if known.
        workspace_name: Option<String>,
        /// Tenant id, if known.
        tenant_id: Option<String>,
        /// The earlier (best) score.
        from: i32,
        /// Its day.
        from_day: String,
        /// The score now.
        to: i32,
    },
    /// Was 60 or more on its previous scored day, is red now.
    IntoRed {
        /// Workspace id.
        workspace_id: String,
        /// Workspace name, if known.
        workspace_name: Option<String>,
        /// Tenant id, if known.
        tenant_id: Option<String>,
        /// The previous score.
        from: i32,
        /// The score now.
        to: i32,
    },
}

/// What one computation did.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HealthRun {
    /// The day scored.
    pub day: String,
    /// Workspaces scored.
    pub scored: u32,
    /// How many were green, yellow, red.
    pub green: u32,
    /// Yellow.
    pub yellow: u32,
    /// Red.
    pub red: u32,
    /// Drops and crossings into red.
    pub findings: Vec<Finding>,
}

/// Computes and stores the scores of `day` for every workspace that sent in its window,
/// then compares with the 7 days before. Run daily by the headless watcher.
pub async fn compute(central: &Central, staff: &Staff, day: NaiveDate) -> Result<HealthRun, HealthError> {
    staff.require(permissions::SYNC_RUN)?;
    let start = day - Duration::days(WINDOW_DAYS - 1);
    let end = day + Duration::days(1);
    let rows = sqlx::query(
        "SELECT company_id, sum(sent)::int8 AS sent, sum(delivered)::int8 AS delivered, sum(opened_tracked)::int8 AS opened,
                sum(replied)::int8 AS replied, sum(bounced)::int8 AS bounced, sum(spam_complaints)::int8 AS complaints
         FROM campaign_analytics
         WHERE updated >= $1::date AT TIME ZONE 'UTC' AND updated < $2::date AT TIME ZONE 'UTC'
         GROUP BY company_id ORDER BY company_id",
    )
    .bind(start)
    .bind(end)
    .fetch_all(&central.olap)
    .await?;
    let mut tx = central.olap.begin().await?;
    let mut run = HealthRun { day: day.to_string(), scored: 0, green: 0, yellow: 0, red: 0, findings: Vec::new() };
    let mut scored: Vec<(String, i32)> = Vec::new();
    for r in &rows {
        let c = Counts {
            sent: r.get::<Option<i64>, _>("sent").unwrap_or(0),
            delivered: r.get::<Option<i64>, _>("delivered").unwrap_or(0),
            opened: r.get::<Option<i64>, _>("opened").unwrap_or(0),
            replied: r.get::<Option<i64>, _>("replied").unwrap_or(0),
            bounced: r.get::<Option<i64>, _>("bounced").unwrap_or(0),
            complaints: r.get::<Option<i64>, _>("complaints").unwrap_or(0),
        };
        let Some(s) = score(&c) else { continue };
        let id: String = r.get("company_id");
        sqlx::query(
            "INSERT INTO penguin_console.workspace_health
                 (company_id, day, score, colour, deliverability, engagement, bounce, complaint, volume, sent)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (company_id, day) DO UPDATE SET score = EXCLUDED.score, colour = EXCLUDED.colour,
                 deliverability = EXCLUDED.deliverability, engagement = EXCLUDED.engagement, bounce = EXCLUDED.bounce,
                 complaint = EXCLUDED.complaint, volume = EXCLUDED.volume, sent = EXCLUDED.sent, computed = now()",
        )
        .bind(&id)
        .bind(day)
        .bind(s.score)
        .bind(s.colour.as_str())
        .bind(s.deliverability)
        .bind(s.engagement)
        .bind(s.bounce)
        .bind(s.complaint)
        .bind(s.volume)
        .bind(c.sent)
        .execute(&mut *tx)
        .await?;
        run.scored += 1;
        match s.colour {
            Colour::Green => run.green += 1,
            Colour::Yellow => run.yellow += 1,
            Colour::Red => run.red += 1,
        }
        scored.push((id, s.score));
    }
    let ids: Vec<String> = scored.iter().map(|(id, _)| id.clone()).collect();
    let history = sqlx::query(
        "SELECT company_id, day::text AS day, score FROM penguin_console.workspace_health
         WHERE company_id = ANY($1) AND day >= $2 AND day < $3 ORDER BY company_id, day",
    )
    .bind(&ids)
    .bind(day - Duration::days(WINDOW_DAYS))
    .bind(day)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;

    let names =
        sqlx::query("SELECT id::text AS id, name, tenant_id::text AS tenant FROM companies WHERE id::text = ANY($1)")
            .bind(&ids)
            .fetch_all(&central.oltp)
            .await?;
    let name_of = |id: &str| {
        names
            .iter()
            .find(|n| n.get::<String, _>("id") == id)
            .map(|n| (n.get::<Option<String>, _>("name"), n.get::<Option<String>, _>("tenant")))
            .unwrap_or((None, None))
    };
    for (id, now) in &scored {
        let earlier: Vec<(String, i32)> = history
            .iter()
            .filter(|h| h.get::<String, _>("company_id") == *id)
            .map(|h| (h.get::<String, _>("day"), h.get::<i32, _>("score")))
            .collect();
        let (name, tenant) = name_of(id);
        // Best earlier score (the earliest day on ties): a drop is measured from the top.
        if let Some((from_day, from)) = earlier.iter().fold(None::<&(String, i32)>, |best, e| match best {
            Some(b) if b.1 >= e.1 => Some(b),
            _ => Some(e),
        }) {
            if from - now >= DROP_POINTS {
                run.findings.push(Finding::Drop {
                    workspace_id: id.clone(),
                    workspace_name: name.clone(),
                    tenant_id: tenant.clone(),
                    from: *from,
                    from_day: from_day.clone(),
                    to: *now,
                });
            }
        }
        if let Some((_, prev)) = earlier.last() {
            if *prev >= 60 && *now < 60 {
                run.findings.push(Finding::IntoRed {
                    workspace_id: id.clone(),
                    workspace_name: name,
                    tenant_id: tenant,
                    from: *prev,
                    to: *now,
                });
            }
        }
    }
    Ok(run)
}

/// One day of a workspace's health history.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HealthPoint {
    /// Day (UTC, `YYYY-MM-DD`).
    pub day: String,
    /// Score.
    pub score: i32,
    /// Colour.
    pub colour: Colour,
    /// Emails sent in the window.
    pub sent: i64,
}

/// A workspace's scores, oldest first, from the cache (at most `days` days).
pub fn history(
    conn: &Connection,
    staff: &Staff,
    workspace_id: &str,
    days: u32,
) -> Result<Vec<HealthPoint>, HealthError> {
    staff.require_any(&[permissions::TENANTS_READ, permissions::TENANTS_READ_SANDBOX])?;
    if !crate::users::has_table(conn, "console_workspace_health")? {
        return Ok(Vec::new());
    }
    if staff.sandbox_only() && !in_sandbox(conn, workspace_id)? {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare_cached(
            "SELECT day, score, sent FROM (SELECT day, score, sent FROM console_workspace_health WHERE company_id = ?1
             ORDER BY day DESC LIMIT ?2) ORDER BY day",
        )
        .map_err(CacheError::sql("reading health history"))?;
    let rows = stmt
        .query_map(rusqlite::params![workspace_id, days.clamp(1, 3650)], |r| {
            let score: i32 = r.get(1)?;
            Ok(HealthPoint { day: r.get(0)?, score, colour: Colour::of(score), sent: r.get(2)? })
        })
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(CacheError::sql("reading health history"))?;
    Ok(rows)
}

fn in_sandbox(conn: &Connection, workspace_id: &str) -> Result<bool, CacheError> {
    if !crate::users::has_table(conn, "console_sandbox_tenants")? {
        return Ok(false);
    }
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM companies c JOIN console_sandbox_tenants s ON s.tenant_id = c.tenant_id WHERE c.id = ?1)",
        [workspace_id],
        |r| r.get(0),
    )
    .map_err(CacheError::sql("reading sandbox tenants"))
}

/// A workspace in the workspace list.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WorkspaceHealthRow {
    /// `companies.id`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Tenant name.
    pub tenant_name: Option<String>,
    /// Workspace status.
    pub status: Option<String>,
    /// Latest score, if any.
    pub score: Option<i32>,
    /// Its colour.
    pub colour: Option<Colour>,
    /// Day of the latest score.
    pub scored_on: Option<String>,
    /// Workspace members.
    pub members: i64,
    /// Campaigns.
    pub campaigns: i64,
    /// Emails sent in the latest score's window.
    pub sending_volume: i64,
}

/// Workspaces of one tenant (or all tenants) with their latest health score, worst first.
pub fn workspaces(
    conn: &Connection,
    staff: &Staff,
    tenant_id: Option<&str>,
) -> Result<Vec<WorkspaceHealthRow>, HealthError> {
    staff.require_any(&[permissions::TENANTS_READ, permissions::TENANTS_READ_SANDBOX])?;
    let has = |t: &str| crate::users::has_table(conn, t);
    let latest = if has("console_workspace_health")? {
        "(SELECT h.score || '|' || h.day || '|' || h.sent FROM console_workspace_health h WHERE h.company_id = c.id
          ORDER BY h.day DESC LIMIT 1)"
    } else {
        "NULL"
    };
    let members = if has("console_workspace_members")? {
        "(SELECT count(*) FROM console_workspace_members m WHERE m.company_id = c.id)"
    } else {
        "0"
    };
    let sandbox = if staff.sandbox_only() {
        if has("console_sandbox_tenants")? {
            "AND c.tenant_id IN (SELECT tenant_id FROM console_sandbox_tenants)"
        } else {
            "AND 0"
        }
    } else {
        ""
    };
    let sql = format!(
        "SELECT c.id, c.name, c.tenant_id, t.name, c.status, {latest}, {members},
                (SELECT count(*) FROM campaigns k WHERE k.company_id = c.id)
         FROM companies c LEFT JOIN tenants t ON t.id = c.tenant_id
         WHERE (?1 IS NULL OR c.tenant_id = ?1) {sandbox}
         ORDER BY c.name COLLATE NOCASE, c.id"
    );
    let mut stmt = conn.prepare(&sql).map_err(CacheError::sql("listing workspaces"))?;
    let mut rows = stmt
        .query_map([tenant_id], |r| {
            let latest: Option<String> = r.get(5)?;
            let mut parts = latest.as_deref().unwrap_or("").split('|');
            let score = parts.next().and_then(|s| s.parse::<i32>().ok());
            let day = parts.next().map(String::from).filter(|d| !d.is_empty());
            let sent = parts.next().and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
            Ok(WorkspaceHealthRow {
                id: r.get(0)?,
                name: r.get(1)?,
                tenant_id: r.get(2)?,
                tenant_name: r.get(3)?,
                status: r.get(4)?,
                score,
                colour: score.map(Colour::of),
                scored_on: day,
                members: r.get(6)?,
                campaigns: r.get(7)?,
                sending_volume: sent,
            })
        })
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(CacheError::sql("listing workspaces"))?;
    // Worst first; unscored workspaces last (stable: by name within each).
    rows.sort_by_key(|w| w.score.unwrap_or(i32::MAX));
    Ok(rows)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn scores_the_worked_example() {
        // Worked by hand in the module docs' terms:
        // deliverability 970/1000 = 97 %  → (0.97 − 0.85) / 0.13 = 92.3077
        // engagement (200 + 40)/970 = 24.74 % → 0.247423 / 0.30 = 82.4742
        // bounce 20/1000 = 2 %            → 1 − 0.4 = 60
        // complaint 1/970 = 0.1031 %       → 1 − 0.343643 = 65.6357
        // volume 1000 ≥ 350               → 100
        // 0.3 × 92.3077 + 0.2 × 82.4742 + 0.2 × 60 + 0.2 × 65.6357 + 0.1 × 100 = 79.31 → 79, yellow.
        let c = Counts { sent: 1000, delivered: 970, opened: 200, replied: 40, bounced: 20, complaints: 1 };
        let s = score(&c).unwrap();
        assert_eq!((s.score, s.colour), (79, Colour::Yellow));
        assert!((s.deliverability - 92.3077).abs() < 1e-3);
        assert!((s.complaint - 65.6357).abs() < 1e-3);
        assert_eq!(score(&Counts::default()), None);
        assert_eq!(
            (Colour::of(80), Colour::of(79), Colour::of(60), Colour::of(59)),
            (Colour::Green, Colour::Yellow, Colour::Yellow, Colour::Red)
        );
        let w = WEIGHTS;
        assert_eq!(w.deliverability + w.engagement + w.bounce + w.complaint + w.volume, 100);
    }
}
