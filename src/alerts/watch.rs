//! The headless watcher: on every tick, run the check sources concurrently (each with a
//! time budget), merge their partial check runs, [`reconcile`](super::reconcile) and
//! [`deliver_pending`](super::deliver_pending).
//!
//! Sources are pluggable: anything implementing [`CheckSource`]. A source that fails or
//! runs out of time is left out of the merged run's `sources`, so its open alerts stay
//! as they are (a check that could not run says nothing about whether problems are gone).

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{deliver_pending, reconcile, AlertError, AlertSettings, Channels, CheckRun, Condition, DeliveryReport};
use super::{ReconcileReport, Severity, Subject};
use crate::auth::Staff;
use crate::central::Central;
use crate::health::{self, Finding};

/// What a source's run returns: its partial check run, or why it could not run.
pub type SourceFuture<'a> = Pin<Box<dyn Future<Output = Result<CheckRun, String>> + Send + 'a>>;

/// A check source the watcher runs on every tick.
pub trait CheckSource: Send + Sync {
    /// Its name, for logs (and usually its `Condition::source`).
    fn name(&self) -> &str;
    /// Runs the checks. The returned run lists in `sources` the sources it completed.
    fn run<'a>(&'a self, central: &'a Central, now: DateTime<Utc>) -> SourceFuture<'a>;
}

/// Merges partial runs: the union of their sources and conditions, at `at`.
pub fn merge(at: DateTime<Utc>, runs: Vec<CheckRun>) -> CheckRun {
    let mut merged = CheckRun { at, sources: Vec::new(), conditions: Vec::new() };
    for r in runs {
        for s in r.sources {
            if !merged.sources.contains(&s) {
                merged.sources.push(s);
            }
        }
        merged.conditions.extend(r.conditions);
    }
    merged
}

/// What one tick did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TickReport {
    /// Sources that completed.
    pub sources: Vec<String>,
    /// Sources that failed or timed out, with why.
    pub failed_sources: Vec<(String, String)>,
    /// Conditions found.
    pub conditions: usize,
    /// The reconcile.
    pub reconcile: ReconcileReport,
    /// The delivery pass.
    pub delivery: DeliveryReport,
}

/// The watcher: sources, where to reconcile, how to notify.
pub struct Watcher {
    central: Central,
    channels: Channels,
    sources: Vec<Arc<dyn CheckSource>>,
    source_budget: Duration,
}

impl Watcher {
    /// A watcher with no sources yet.
    pub fn new(central: Central, channels: Channels) -> Watcher {
        Watcher { central, channels, sources: Vec::new(), source_budget: Duration::from_secs(60) }
    }

    /// Adds a check source.
    pub fn with_source(mut self, source: Arc<dyn CheckSource>) -> Watcher {
        self.sources.push(source);
        self
    }

    /// How long one source may take per tick (default 60 s).
    pub fn with_source_budget(mut self, budget: Duration) -> Watcher {
        self.source_budget = budget;
        self
    }

    /// One tick: sources (concurrently), reconcile, deliver.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<TickReport, AlertError> {
        let futures = self.sources.iter().map(|s| {
            let s = s.clone();
            let central = &self.central;
            let budget = self.source_budget;
            async move {
                let name = s.name().to_string();
                let result = match tokio::time::timeout(budget, s.run(central, now)).await {
                    Ok(r) => r,
                    Err(_) => Err(format!("did not finish within {} s", budget.as_secs())),
                };
                (name, result)
            }
        });
        let results = futures_util::future::join_all(futures).await;
        let mut report = TickReport::default();
        let mut runs = Vec::new();
        for (name, result) in results {
            match result {
                Ok(run) => runs.push(run),
                Err(e) => {
                    tracing::warn!(source = %name, "check source failed: {e}");
                    report.failed_sources.push((name, e));
                }
            }
        }
        let run = merge(now, runs);
        report.sources = run.sources.clone();
        report.conditions = run.conditions.len();
        report.reconcile = reconcile(&self.central, &run, &self.channels.enabled()).await?;
        report.delivery = deliver_pending(&self.central, &self.channels, Utc::now().max(now)).await?;
        tracing::info!(
            sources = report.sources.len(),
            conditions = report.conditions,
            raised = report.reconcile.raised.len(),
            resolved = report.reconcile.resolved.len(),
            paged = report.reconcile.paged.len(),
            sent = report.delivery.sent,
            "tick"
        );
        Ok(report)
    }

    /// Ticks every `interval` until `shutdown` completes. A failed tick is logged and the
    /// loop goes on (the database may be back next time).
    pub async fn run(&self, interval: Duration, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut timer = tokio::time::interval(interval);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = timer.tick() => {
                    tokio::select! {
                        _ = &mut shutdown => break,
                        r = self.tick(Utc::now()) => if let Err(e) = r {
                            tracing::error!("tick failed: {e}");
                        },
                    }
                }
            }
        }
        tracing::info!("watcher stopped");
    }
}

/// Workspace health as a check source: computes the scores once a day (as
/// `penguin-admin health compute` does) and reports each finding as a warning: a drop of
/// 15 points or more in 7 days, or a crossing into red. Between computations it repeats
/// the day's findings, so their alerts stay open until the next day's scores clear them.
pub struct HealthSource {
    staff: Staff,
    state: tokio::sync::Mutex<Option<(NaiveDate, Vec<Condition>)>>,
}

impl HealthSource {
    /// The source, computing as the profile's service identity.
    pub fn new(profile_name: &str) -> HealthSource {
        HealthSource { staff: Staff::service(profile_name), state: tokio::sync::Mutex::new(None) }
    }
}

/// A health finding as a condition.
pub fn health_condition(f: &Finding) -> Condition {
    let mut details = std::collections::BTreeMap::new();
    let (id, name, tenant, kind, summary) = match f {
        Finding::Drop { workspace_id, workspace_name, tenant_id, from, from_day, to } => {
            details.insert("from".into(), from.to_string());
            details.insert("from_day".into(), from_day.clone());
            details.insert("to".into(), to.to_string());
            let shown = workspace_name.clone().unwrap_or_else(|| workspace_id.clone());
            (
                workspace_id,
                workspace_name,
                tenant_id,
                "drop",
                format!(
                    "Workspace {shown}: health dropped {} points in 7 days ({from} on {from_day} → {to})",
                    from - to
                ),
            )
        }
        Finding::IntoRed { workspace_id, workspace_name, tenant_id, from, to } => {
            details.insert("from".into(), from.to_string());
            details.insert("to".into(), to.to_string());
            let shown = workspace_name.clone().unwrap_or_else(|| workspace_id.clone());
            (
                workspace_id,
                workspace_name,
                tenant_id,
                "into_red",
                format!("Workspace {shown}: health turned red ({from} → {to})"),
            )
        }
    };
    if let Some(n) = name {
        details.insert("workspace".into(), n.clone());
    }
    if let Some(t) = tenant {
        details.insert("tenant_id".into(), t.clone());
    }
    Condition {
        fingerprint: format!("health:{id}:{kind}"),
        source: "health".into(),
        severity: Severity::Warning,
        subject: Subject::Workspace(id.clone()),
        summary,
        details,
    }
}

impl CheckSource for HealthSource {
    fn name(&self) -> &str {
        "health"
    }

    fn run<'a>(&'a self, central: &'a Central, now: DateTime<Utc>) -> SourceFuture<'a> {
        Box::pin(async move {
            let today = now.date_naive();
            let mut state = self.state.lock().await;
            let fresh = matches!(&*state, Some((day, _)) if *day == today);
            if !fresh {
                let run = health::compute(central, &self.staff, today).await.map_err(|e| e.to_string())?;
                tracing::info!(day = %run.day, scored = run.scored, findings = run.findings.len(), "health computed");
                *state = Some((today, run.findings.iter().map(health_condition).collect()));
            }
            let conditions = state.as_ref().map(|(_, c)| c.clone()).unwrap_or_default();
            Ok(CheckRun { at: now, sources: vec!["health".into()], conditions })
        })
    }
}

/// Purges the workspaces whose 30-day grace period is over, once a day, as the
/// profile's service identity given `workspaces.delete` for this alone. Each purge is its
/// own audited transaction; a failure leaves the day undone, so the next tick retries.
///
/// On every tick it also reports, as a critical condition per workspace, each deletion
/// record the console refuses to act on ([`crate::workspaces::deletion_problems`]): one
/// it did not sign (inserted or edited by hand, for instance to have an active workspace
/// purged) or for a workspace that is not deleted. The purge leaves those workspaces
/// intact; the alert stays open until the record is dealt with.
pub struct PurgeSource {
    staff: Staff,
    done: tokio::sync::Mutex<Option<chrono::NaiveDate>>,
}

impl PurgeSource {
    /// The source, purging as the profile's service identity.
    pub fn new(profile_name: &str) -> PurgeSource {
        let staff = Staff::service_with(profile_name, &[crate::auth::permissions::WORKSPACES_DELETE]);
        PurgeSource { staff, done: tokio::sync::Mutex::new(None) }
    }
}

/// A deletion record the purge refuses, as a condition.
pub fn deletion_condition(p: &crate::workspaces::DeletionProblem) -> Condition {
    let mut details = std::collections::BTreeMap::new();
    details.insert("workspace".into(), p.name.clone());
    details.insert("tenant_id".into(), p.tenant_id.clone());
    details.insert("workspace_status".into(), p.workspace_status.clone().unwrap_or_else(|| "gone".into()));
    details.insert("purge_after".into(), p.purge_after.clone());
    details.insert("problem".into(), p.problem.clone());
    let summary = if p.problem == "unsigned" {
        format!(
            "Workspace {}: a deletion record the console did not make (unsigned, inserted or edited by hand) asks \
             for its purge; the purge is refused and the workspace left intact. Investigate, then remove the record",
            p.name
        )
    } else {
        format!(
            "Workspace {}: its deletion record is kept but the workspace is {} (not deleted); the purge is refused",
            p.name,
            p.workspace_status.as_deref().unwrap_or("gone")
        )
    };
    Condition {
        fingerprint: format!("purge:{}:{}", p.workspace_id, p.problem),
        source: "purge".into(),
        severity: Severity::Critical,
        subject: Subject::Workspace(p.workspace_id.clone()),
        summary,
        details,
    }
}

impl CheckSource for PurgeSource {
    fn name(&self) -> &str {
        "purge"
    }

    fn run<'a>(&'a self, central: &'a Central, now: DateTime<Utc>) -> SourceFuture<'a> {
        Box::pin(async move {
            let today = now.date_naive();
            let mut done = self.done.lock().await;
            if *done != Some(today) {
                let client = crate::auth::ClientInfo { ip: None, user_agent: Some("penguin-admin watch".into()) };
                let run = crate::workspaces::purge_due_service(central, &self.staff, &client)
                    .await
                    .map_err(|e| e.to_string())?;
                for p in &run.purged {
                    tracing::info!(workspace = %p.workspace_id, campaigns = p.campaigns, "workspace purged after its grace period");
                }
                *done = Some(today);
            }
            let problems = crate::workspaces::deletion_problems(central).await.map_err(|e| e.to_string())?;
            let conditions = problems.iter().map(deletion_condition).collect();
            Ok(CheckRun { at: now, sources: vec!["purge".into()], conditions })
        })
    }
}

/// A `--config FILE` for the watcher: `[monitor]` and `[alerts]` sections that replace
/// the profile's.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchConfig {
    /// Replaces the profile's `[monitor]`.
    #[serde(default)]
    pub monitor: Option<crate::monitor::MonitorSettings>,
    /// Replaces the profile's `[alerts]`.
    #[serde(default)]
    pub alerts: Option<AlertSettings>,
}

impl WatchConfig {
    /// Parses the file's text; errors name the file and the line.
    pub fn parse(text: &str, path: &Path) -> Result<WatchConfig, AlertError> {
        toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            AlertError::Config(match line {
                Some(l) => format!("{} line {l}: {}", path.display(), e.message()),
                None => format!("{}: {}", path.display(), e.message()),
            })
        })
    }

    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<WatchConfig, AlertError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| AlertError::Config(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_unions_sources_and_conditions() {
        let at = Utc::now();
        let c = |fp: &str, src: &str| Condition {
            fingerprint: fp.into(),
            source: src.into(),
            severity: Severity::Critical,
            subject: Subject::Redis,
            summary: fp.into(),
            details: Default::default(),
        };
        let merged = merge(
            at,
            vec![
                CheckRun { at, sources: vec!["redis".into()], conditions: vec![c("a", "redis")] },
                CheckRun { at, sources: vec!["queue".into(), "redis".into()], conditions: vec![c("b", "queue")] },
            ],
        );
        assert_eq!(merged.sources, vec!["redis".to_string(), "queue".to_string()]);
        assert_eq!(merged.conditions.len(), 2);
    }

    #[test]
    fn a_bad_config_names_its_line() {
        let err = WatchConfig::parse("[alerts]\n[alerts.retry]\nmax_attempts = \"ten\"\n", Path::new("w.toml"))
            .expect_err("bad")
            .to_string();
        assert!(err.contains("w.toml line 3"), "{err}");
    }

    #[test]
    fn a_drop_becomes_a_workspace_warning() {
        let c = health_condition(&Finding::Drop {
            workspace_id: "w1".into(),
            workspace_name: Some("Acme EU".into()),
            tenant_id: Some("t1".into()),
            from: 90,
            from_day: "2026-11-24".into(),
            to: 70,
        });
        assert_eq!(c.fingerprint, "health:w1:drop");
        assert_eq!(c.severity, Severity::Warning);
        assert_eq!(c.subject, Subject::Workspace("w1".into()));
        assert!(c.summary.contains("dropped 20 points"), "{}", c.summary);
    }
}
