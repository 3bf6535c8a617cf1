//! What an alert puts at risk: the tenants and workspaces sending from a listed IP, with
//! their MRR; the campaigns waiting in a stuck email-sending queue.
//!
//! MRR follows the Tenants list's rule ([`crate::tenants`], `tenant_overview.mrr_cents`):
//! the tenant's current (newest) subscription's plan price normalised to a month (an annual
//! price divided by 12 when the period is longer than 40 days) plus its active add-ons,
//! counted for `active` and `past_due` subscriptions, integer cents. It is evaluated here
//! in PostgreSQL because the watcher has no cache; the tests pin both to the same numbers.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{AlertError, Subject};
use crate::central::Central;

/// A workspace (`companies` row) at risk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WorkspaceAtRisk {
    /// `companies.id`.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// A tenant at risk, with the workspaces concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TenantAtRisk {
    /// `tenants.id`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its MRR in cents (the Tenants list's rule).
    pub mrr_cents: i64,
    /// Its workspaces concerned.
    pub workspaces: Vec<WorkspaceAtRisk>,
}

/// A campaign with jobs waiting in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CampaignAtRisk {
    /// `campaigns.id` (from the jobs' payload `campaign_id`).
    pub id: String,
    /// Its name, if the campaign exists.
    pub name: Option<String>,
    /// Its tenant.
    pub tenant_id: Option<String>,
    /// Its workspace.
    pub workspace_id: Option<String>,
    /// Jobs of it waiting (queued or moved to Redis).
    pub waiting_jobs: i64,
}

/// What an alert puts at risk, as of when it was raised.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AtRisk {
    /// Tenants (by name) and their workspaces.
    pub tenants: Vec<TenantAtRisk>,
    /// Campaigns waiting, most jobs first.
    pub campaigns: Vec<CampaignAtRisk>,
    /// Sum of the tenants' MRR, cents.
    pub total_mrr_cents: i64,
}

/// What a condition on `subject` puts at risk; `None` for subjects that name nothing
/// (a database, Redis, a host) and for queues that do not send email.
pub async fn at_risk(central: &Central, subject: &Subject) -> Result<Option<AtRisk>, AlertError> {
    match subject {
        Subject::Ip(ip) => ip_at_risk(central, ip).await.map(Some),
        Subject::Queue(q) if q.starts_with("queue:email-sending") => queue_at_risk(central, q).await.map(Some),
        _ => Ok(None),
    }
}

async fn ip_at_risk(central: &Central, ip: &str) -> Result<AtRisk, AlertError> {
    let rows = sqlx::query(
        "SELECT DISTINCT d.tenant_id::text AS tenant_id, c.id::text AS company_id, c.name AS company_name
         FROM smtp_ip_addresses i
         JOIN domain_ip_assignments a ON a.smtp_ip_address_id = i.id
         JOIN domains d ON d.id = a.domain_id
         LEFT JOIN companies c ON c.id = d.company_id
         WHERE i.ip_address = $1 AND COALESCE(a.status, 'active') IN ('active', 'warming')
           AND (a.expires IS NULL OR a.expires > now())",
    )
    .bind(ip.trim())
    .fetch_all(&central.oltp)
    .await
    .map_err(AlertError::from_sqlx)?;
    let mut workspaces: Vec<(String, WorkspaceAtRisk)> = Vec::new();
    let mut tenant_ids: Vec<String> = Vec::new();
    for r in rows {
        let tenant: String = r.get("tenant_id");
        if !tenant_ids.contains(&tenant) {
            tenant_ids.push(tenant.clone());
        }
        if let Some(id) = r.get::<Option<String>, _>("company_id") {
            let name = r.get::<Option<String>, _>("company_name").unwrap_or_default();
            workspaces.push((tenant, WorkspaceAtRisk { id, name }));
        }
    }
    let mut risk = AtRisk { tenants: tenants_with_mrr(central, &tenant_ids).await?, ..Default::default() };
    for t in &mut risk.tenants {
        t.workspaces = workspaces.iter().filter(|(tid, _)| *tid == t.id).map(|(_, w)| w.clone()).collect();
        t.workspaces.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    }
    risk.total_mrr_cents = risk.tenants.iter().map(|t| t.mrr_cents).sum();
    Ok(risk)
}

/// Tenants by id with their names and MRR, sorted by name.
async fn tenants_with_mrr(central: &Central, ids: &[String]) -> Result<Vec<TenantAtRisk>, AlertError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "WITH cs AS (
             SELECT DISTINCT ON (s.tenant_id) s.* FROM subscriptions s
             WHERE s.tenant_id::text = ANY($1) ORDER BY s.tenant_id, s.created DESC NULLS LAST, s.id::text
         )
         SELECT t.id::text AS id, COALESCE(t.name, '') AS name,
                CASE WHEN cs.status IN ('active', 'past_due') THEN
                    CASE WHEN extract(epoch FROM cs.current_period_end - cs.current_period_start) / 86400 > 40
                         THEN COALESCE(p.price_yearly, 0) / 12 ELSE COALESCE(p.price_monthly, 0) END
                    + COALESCE((SELECT sum(round(a.price_monthly * 100))::int8 FROM subscription_addons a
                                WHERE a.subscription_id = cs.id AND a.is_active), 0)
                ELSE 0 END::int8 AS mrr_cents
         FROM tenants t LEFT JOIN cs ON cs.tenant_id = t.id LEFT JOIN plans p ON p.id = cs.plan_id
         WHERE t.id::text = ANY($1) ORDER BY 2, 1",
    )
    .bind(ids)
    .fetch_all(&central.oltp)
    .await
    .map_err(AlertError::from_sqlx)?;
    Ok(rows
        .into_iter()
        .map(|r| TenantAtRisk {
            id: r.get("id"),
            name: r.get("name"),
            mrr_cents: r.get("mrr_cents"),
            workspaces: Vec::new(),
        })
        .collect())
}

async fn queue_at_risk(central: &Central, queue: &str) -> Result<AtRisk, AlertError> {
    let waiting = sqlx::query(
        "SELECT payload->>'campaign_id' AS campaign_id, count(*)::int8 AS jobs FROM jobs
         WHERE queue_name = $1 AND status IN ('queued', 'migrated_to_redis') AND payload ? 'campaign_id'
         GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 200",
    )
    .bind(queue)
    .fetch_all(&central.queue)
    .await
    .map_err(AlertError::from_sqlx)?;
    let ids: Vec<String> = waiting.iter().filter_map(|r| r.get::<Option<String>, _>("campaign_id")).collect();
    let campaigns = sqlx::query(
        "SELECT id::text AS id, name, tenant_id::text AS tenant_id, company_id::text AS company_id
         FROM campaigns WHERE id::text = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(&central.oltp)
    .await
    .map_err(AlertError::from_sqlx)?;
    let mut risk = AtRisk::default();
    for w in &waiting {
        let Some(id) = w.get::<Option<String>, _>("campaign_id") else { continue };
        let known = campaigns.iter().find(|c| c.get::<String, _>("id") == id);
        risk.campaigns.push(CampaignAtRisk {
            name: known.map(|c| c.get("name")),
            tenant_id: known.map(|c| c.get("tenant_id")),
            workspace_id: known.and_then(|c| c.get("company_id")),
            waiting_jobs: w.get("jobs"),
            id,
        });
    }
    let mut tenant_ids: Vec<String> = risk.campaigns.iter().filter_map(|c| c.tenant_id.clone()).collect();
    tenant_ids.sort();
    tenant_ids.dedup();
    risk.tenants = tenants_with_mrr(central, &tenant_ids).await?;
    risk.total_mrr_cents = risk.tenants.iter().map(|t| t.mrr_cents).sum();
    Ok(risk)
}
