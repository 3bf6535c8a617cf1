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

use std::collections::HashMap;

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

/// The rows [`compute`] writes, column by column (bound as arrays).
#[derive(Default)]
struct ScoreColumns {
    ids: Vec<String>,
    scores: Vec<i32>,
    colours: Vec<&'static str>,
    deliverability: Vec<f64>,
    engagement: Vec<f64>,
    bounce: Vec<f64>,
    complaint: Vec<f64>,
    volume: Vec<f64>,
    sent: Vec<i64>,
}

impl ScoreColumns {
    fn push(&mut self, id: &str, s: &Score, sent: i64) {
        self.ids.push(id.to_string());
        self.scores.push(s.score);
        self.colours.push(s.colour.as_str());
        self.deliverability.push(s.deliverability);
        self.engagement.push(s.engagement);
        self.bounce.push(s.bounce);
        self.complaint.push(s.complaint);
        self.volume.push(s.volume);
        self.sent.push(sent);
    }
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
    let mut run = HealthRun { day: day.to_string(), scored: 0, green: 0, yellow: 0, red: 0, findings: Vec::new() };
    let mut scored: Vec<(String, i32)> = Vec::with_capacity(rows.len());
    let mut cols = ScoreColumns::default();
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
        cols.push(&id, &s, c.sent);
        run.scored += 1;
        match s.colour {
            Colour::Green => run.green += 1,
            Colour::Yellow => run.yellow += 1,
            Colour::Red => run.red += 1,
        }
        scored.push((id, s.score));
    }
    // One statement for every workspace (arrays, not a round trip per row): at demo
    // scale 10 that is ~2,000 rows written in milliseconds.
    let mut tx = central.olap.begin().await?;
    sqlx::query(
        "INSERT INTO penguin_console.workspace_health
             (company_id, day, score, colour, deliverability, engagement, bounce, complaint, volume, sent)
         SELECT u.company_id, $1, u.score, u.colour, u.deliverability, u.engagement, u.bounce, u.complaint, u.volume,
                u.sent
         FROM unnest($2::text[], $3::int4[], $4::text[], $5::float8[], $6::float8[], $7::float8[], $8::float8[],
                     $9::float8[], $10::int8[])
              AS u(company_id, score, colour, deliverability, engagement, bounce, complaint, volume, sent)
         ON CONFLICT (company_id, day) DO UPDATE SET score = EXCLUDED.score, colour = EXCLUDED.colour,
             deliverability = EXCLUDED.deliverability, engagement = EXCLUDED.engagement, bounce = EXCLUDED.bounce,
             complaint = EXCLUDED.complaint, volume = EXCLUDED.volume, sent = EXCLUDED.sent, computed = now()",
    )
    .bind(day)
    .bind(&cols.ids)
    .bind(&cols.scores)
    .bind(&cols.colours)
    .bind(&cols.deliverability)
    .bind(&cols.engagement)
    .bind(&cols.bounce)
    .bind(&cols.complaint)
    .bind(&cols.volume)
    .bind(&cols.sent)
    .execute(&mut *tx)
    .await?;
    let history = sqlx::query(
        "SELECT company_id, day::text AS day, score FROM penguin_console.workspace_health
         WHERE company_id = ANY($1) AND day >= $2 AND day < $3 ORDER BY company_id, day",
    )
    .bind(&cols.ids)
    .bind(day - Duration::days(WINDOW_DAYS))
    .bind(day)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;

    // Earlier scores per workspace, oldest first (the query's order).
    let mut earlier_of: HashMap<String, Vec<(String, i32)>> = HashMap::new();
    for h in &history {
        earlier_of.entry(h.get("company_id")).or_default().push((h.get("day"), h.get("score")));
    }
    let names =
        sqlx::query("SELECT id::text AS id, name, tenant_id::text AS tenant FROM companies WHERE id::text = ANY($1)")
            .bind(&cols.ids)
            .fetch_all(&central.oltp)
            .await?;
    let names: HashMap<String, (Option<String>, Option<String>)> =
        names.iter().map(|n| (n.get("id"), (n.get("name"), n.get("tenant")))).collect();
    for (id, now) in &scored {
        let earlier = earlier_of.get(id).map(Vec::as_slice).unwrap_or_default();
        let (name, tenant) = names.get(id).cloned().unwrap_or((None, None));
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

/// Default rows per page of [`workspace_page`].
pub const DEFAULT_PAGE: u32 = 50;
/// Most rows per page of [`workspace_page`].
pub const MAX_PAGE: u32 = 500;

/// Which workspaces the list shows, and which page of them.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WorkspaceQuery {
    /// Only this tenant's workspaces.
    pub tenant_id: Option<String>,
    /// Substring (ASCII case-insensitive) of the workspace's or its tenant's name, or a
    /// workspace id.
    pub search: Option<String>,
    /// Page size (1–500, default 50).
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u32>,
}

/// One page of the workspace list.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WorkspacePage {
    /// Rows of this page, worst health first.
    pub rows: Vec<WorkspaceHealthRow>,
    /// Workspaces matching in all.
    pub total: i64,
    /// When the workspaces were last synced (UTC); the shape the UI's shared pager reads.
    pub as_of: Option<String>,
}

/// Workspaces of one tenant (or all tenants) with their latest health score, worst first,
/// all of them. [`workspace_page`] is the paged form for large platforms.
pub fn workspaces(
    conn: &Connection,
    staff: &Staff,
    tenant_id: Option<&str>,
) -> Result<Vec<WorkspaceHealthRow>, HealthError> {
    let q = WorkspaceQuery { tenant_id: tenant_id.map(String::from), ..Default::default() };
    Ok(list(conn, staff, &q, None)?.rows)
}

/// A page of the workspace list, worst health first (unscored last; by name, then id,
/// within a score), with the number of matching workspaces.
///
/// Paged in SQL so the first page stays fast however many workspaces there are: the sort
/// needs only each workspace's latest score (one index seek each on
/// `console_workspace_health`'s primary key), and members and campaigns — the costly
/// counts, ~500,000 workspace memberships at demo scale 10 — are counted for the rows of
/// the page only.
pub fn workspace_page(conn: &Connection, staff: &Staff, q: &WorkspaceQuery) -> Result<WorkspacePage, HealthError> {
    let limit = q.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    list(conn, staff, q, Some((limit, q.offset.unwrap_or(0))))
}

fn list(
    conn: &Connection,
    staff: &Staff,
    q: &WorkspaceQuery,
    page: Option<(u32, u32)>,
) -> Result<WorkspacePage, HealthError> {
    staff.require_any(&[permissions::TENANTS_READ, permissions::TENANTS_READ_SANDBOX])?;
    let has = |t: &str| crate::users::has_table(conn, t);
    let (latest_cols, latest_join) = if has("console_workspace_health")? {
        (
            "h.score, h.day, h.sent",
            "LEFT JOIN console_workspace_health h ON h.company_id = c.id
               AND h.day = (SELECT max(x.day) FROM console_workspace_health x WHERE x.company_id = c.id)",
        )
    } else {
        ("NULL AS score, NULL AS day, NULL AS sent", "")
    };
    let members = if has("console_workspace_members")? {
        "(SELECT count(*) FROM console_workspace_members m WHERE m.company_id = p.id)"
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
    let search: String =
        q.search.as_deref().unwrap_or("").trim().chars().take(crate::tenants::MAX_SEARCH_CHARS).collect();
    let (pattern, exact) = if search.is_empty() {
        (None, None)
    } else {
        (Some(format!("%{}%", crate::users::escape_like(&search))), Some(search.to_lowercase()))
    };
    let filters = format!(
        "(?1 IS NULL OR c.tenant_id = ?1)
         AND (?2 IS NULL OR c.name LIKE ?2 ESCAPE '\\' OR c.id = ?3
              OR c.tenant_id IN (SELECT t.id FROM tenants t WHERE t.name LIKE ?2 ESCAPE '\\'))
         {sandbox}"
    );
    let (limit, offset) = page.map(|(l, o)| (i64::from(l), i64::from(o))).unwrap_or((-1, 0));
    let sql = format!(
        "WITH p AS (
             SELECT c.id, c.name, c.tenant_id, c.status, {latest_cols}
             FROM companies c {latest_join}
             WHERE {filters}
             ORDER BY score IS NULL, score, c.name COLLATE NOCASE, c.id
             LIMIT ?4 OFFSET ?5
         )
         SELECT p.id, p.name, p.tenant_id, t.name, p.status, p.score, p.day, p.sent, {members},
                (SELECT count(*) FROM campaigns k WHERE k.company_id = p.id)
         FROM p LEFT JOIN tenants t ON t.id = p.tenant_id
         ORDER BY p.score IS NULL, p.score, p.name COLLATE NOCASE, p.id"
    );
    let tenant_id = q.tenant_id.as_deref();
    let mut stmt = conn.prepare_cached(&sql).map_err(CacheError::sql("listing workspaces"))?;
    let rows = stmt
        .query_map(rusqlite::params![tenant_id, pattern, exact, limit, offset], |r| {
            let score: Option<i32> = r.get(5)?;
            Ok(WorkspaceHealthRow {
                id: r.get(0)?,
                name: r.get(1)?,
                tenant_id: r.get(2)?,
                tenant_name: r.get(3)?,
                status: r.get(4)?,
                score,
                colour: score.map(Colour::of),
                scored_on: r.get(6)?,
                members: r.get(8)?,
                campaigns: r.get(9)?,
                sending_volume: r.get::<_, Option<i64>>(7)?.unwrap_or(0),
            })
        })
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(CacheError::sql("listing workspaces"))?;
    let total = if page.is_none() {
        rows.len() as i64
    } else {
        conn.prepare_cached(&format!("SELECT count(*) FROM companies c WHERE {filters}"))
            .and_then(|mut s| s.query_row(rusqlite::params![tenant_id, pattern, exact], |r| r.get(0)))
            .map_err(CacheError::sql("counting workspaces"))?
    };
    let as_of = crate::cache::table_as_of(conn, "companies")?;
    Ok(WorkspacePage { rows, total, as_of })
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
